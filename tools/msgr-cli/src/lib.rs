//! `msgr-cli`: a scriptable host MSN Messenger client on the msntv-messenger core.
//!
//! [`Runner`] owns a [`Client`] and its std sockets (nonblocking, one per [`ConnId`]), prints
//! every client event as one JSON line, runs script commands ([`script::Cmd`]) and checks
//! expectations against what it has seen, each with a time limit. The JSON event names are
//! documented in the README ("CLI") and are kept stable: tests and users script them.
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod script;

use msntv_messenger::client::{Client, ClientEvent, ClientFailure, ConnId};
use msntv_messenger::msnp::ns::{ListChange, NsEvent};
use msntv_messenger::msnp::sb::{CloseReason, ConversationId, FailReason, Outcome, SbEvent};
use msntv_messenger::msnp::wire::{escape, ListKind};
use msntv_messenger::Instant;
use script::Cmd;
use serde_json::{json, Value};
use std::collections::{HashMap, VecDeque};
use std::io::{ErrorKind, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant as StdInstant};

/// Longest sleep between two rounds of the socket loop.
const MAX_NAP: Duration = Duration::from_millis(5);
/// Most reads from one socket in one round (keeps one busy socket from starving the rest).
const READS_PER_ROUND: usize = 16;

/// Return the text of wire bytes (lossy).
fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Return the decoded text of a %-encoded friendly name (lossy).
fn friendly(b: &[u8]) -> String {
    let v: Vec<u8> = escape::decoded(b).collect();
    String::from_utf8_lossy(&v).into_owned()
}

fn list_name(l: ListKind) -> String {
    text(l.token())
}

/// Name a message failure reason (stable names, see the README).
pub fn fail_reason(r: FailReason) -> String {
    match r {
        FailReason::Nak => "nak".into(),
        FailReason::Timeout => "timeout".into(),
        FailReason::ContactOffline => "contact-offline".into(),
        FailReason::InviteRefused(c) => format!("invite-refused-{}", c.0),
        FailReason::Server(c) => format!("server-error-{}", c.0),
        FailReason::SetupFailed => "setup-failed".into(),
        FailReason::SwitchboardClosed => "switchboard-closed".into(),
        FailReason::ConnectionLost => "connection-lost".into(),
        FailReason::Cancelled => "cancelled".into(),
    }
}

fn close_reason(r: CloseReason) -> String {
    match r {
        CloseReason::Left => "left".into(),
        CloseReason::Empty => "empty".into(),
        CloseReason::ConnectionLost => "connection-lost".into(),
        CloseReason::Timeout(_) => "timeout".into(),
        CloseReason::SetupFailed(_) => "setup-failed".into(),
        CloseReason::Refused(c) => format!("refused-{}", c.0),
        CloseReason::Protocol => "protocol".into(),
        CloseReason::ImsOff => "ims-off".into(),
    }
}

/// One socket and the bytes still waiting to be written to it.
struct Sock {
    stream: TcpStream,
    outbox: Vec<u8>,
    /// Received bytes the client has not taken yet (a switchboard connection pauses while
    /// another conversation holds the shared large-frame buffer); nothing more is read meanwhile.
    inbox: Vec<u8>,
    /// The peer closed: report it once the inbox is taken.
    eof: bool,
}

/// What the runner has seen, for expectations.
#[derive(Default)]
struct Seen {
    me: String,
    fatal: Option<String>,
    /// Presence changes per contact (true = online), and how far expectations have read.
    presence: HashMap<String, (Vec<bool>, usize)>,
    added_by: Vec<String>,
    messages: Vec<(String, String)>,
    typing: Vec<String>,
    outcomes: VecDeque<Outcome>,
    ims: VecDeque<bool>,
    convs: HashMap<String, ConversationId>,
}

impl Seen {
    fn saw_presence(&mut self, passport: &[u8], online: bool) {
        let e = self.presence.entry(text(passport).to_ascii_lowercase());
        e.or_default().0.push(online);
    }

    /// Record what an event means for expectations and render it (None: not printed).
    fn observe(&mut self, ev: &ClientEvent<'_>) -> Option<Value> {
        Some(match *ev {
            ClientEvent::Connect { conn, host, port } => {
                json!({"event":"connect","conn":conn_name(conn),"host":host,"port":port})
            }
            ClientEvent::Disconnect { conn } => {
                json!({"event":"disconnect","conn":conn_name(conn)})
            }
            ClientEvent::LoginRequest(_) => json!({"event":"login-request"}),
            ClientEvent::Failed(f) => {
                let reason = match f {
                    ClientFailure::Refused(r) => format!("refused: {r:?}"),
                    other => format!("{other:?}"),
                };
                self.fatal = Some(reason.clone());
                json!({"event":"failed","reason":reason})
            }
            ClientEvent::Ims { on } => {
                self.ims.push_back(on);
                json!({"event":"ims","on":on,"by":"idle-timer"})
            }
            ClientEvent::Reconnecting { at, attempt } => {
                json!({"event":"reconnecting","attempt":attempt,"at_ms":at.as_millis()})
            }
            ClientEvent::PendingAdd { passport, friendly } => {
                self.added_by.push(text(passport).to_ascii_lowercase());
                json!({"event":"added-by","passport":text(passport),"friendly":friendly,"pending":true})
            }
            ClientEvent::InvitationIgnored { inviter, reason } => {
                json!({"event":"invitation-ignored","from":text(inviter),"reason":format!("{reason:?}")})
            }
            ClientEvent::Ns(ref ns) => return self.observe_ns(ns),
            ClientEvent::Sb(ref sb) => return self.observe_sb(sb),
            _ => json!({"event":"other","debug":format!("{ev:?}")}),
        })
    }

    fn observe_ns(&mut self, ev: &NsEvent<'_>) -> Option<Value> {
        Some(match *ev {
            NsEvent::VersionNegotiated { version } => {
                json!({"event":"version","version":version})
            }
            NsEvent::SignedIn {
                passport,
                friendly: f,
                ..
            } => {
                // A reconnect after a failed attempt may still succeed.
                self.fatal = None;
                json!({"event":"signed-in","passport":text(passport),"friendly":friendly(f)})
            }
            NsEvent::LoginFailed { reason } => {
                self.fatal = Some(format!("login failed: {reason:?}"));
                json!({"event":"login-failed","reason":format!("{reason:?}")})
            }
            NsEvent::ListsSynced {
                version,
                from_cache,
            } => {
                json!({"event":"lists-synced","version":version,"from_cache":from_cache})
            }
            NsEvent::StatusChanged { status } => {
                json!({"event":"status","status":text(status.token())})
            }
            NsEvent::Presence {
                passport,
                status,
                online_for_webtv,
                friendly: f,
                ..
            } => {
                self.saw_presence(passport, online_for_webtv);
                let name = if online_for_webtv {
                    "online"
                } else {
                    "offline"
                };
                json!({"event":name,"passport":text(passport),"status":text(status.token()),"friendly":friendly(f)})
            }
            NsEvent::ContactOffline { passport } => {
                self.saw_presence(passport, false);
                json!({"event":"offline","passport":text(passport),"status":"FLN"})
            }
            NsEvent::AddedBy {
                passport,
                friendly: f,
            } => {
                self.added_by.push(text(passport).to_ascii_lowercase());
                json!({"event":"added-by","passport":text(passport),"friendly":friendly(f)})
            }
            NsEvent::RemovedBy { passport } => {
                json!({"event":"removed-by","passport":text(passport)})
            }
            NsEvent::ListChanged {
                change,
                list,
                passport,
                ..
            } => {
                let c = match change {
                    ListChange::Added => "added",
                    ListChange::Removed => "removed",
                };
                json!({"event":"list-changed","change":c,"list":list_name(list),"passport":text(passport)})
            }
            NsEvent::Renamed {
                passport,
                friendly: f,
                ..
            } => json!({"event":"renamed","passport":text(passport),"friendly":friendly(f)}),
            NsEvent::ImsChanged { on, .. } => {
                json!({"event":"ims","on":on,"by":"server"})
            }
            NsEvent::RequestFailed { verb, code, .. } => {
                json!({"event":"request-failed","verb":text(&verb.0),"code":code.0})
            }
            NsEvent::RequestTimedOut { verb, .. } => {
                json!({"event":"request-timed-out","verb":text(&verb.0)})
            }
            NsEvent::ConnectionLost { reason } => {
                json!({"event":"connection-lost","reason":format!("{reason:?}")})
            }
            NsEvent::ServerMessage { kind, .. } => {
                json!({"event":"server-message","kind":format!("{kind:?}")})
            }
            NsEvent::ListOverflow { passport } => {
                json!({"event":"list-overflow","passport":text(passport)})
            }
            NsEvent::TextDropped { passport, group } => {
                json!({"event":"text-dropped","passport":text(passport),"group":group})
            }
            NsEvent::FrameSkipped { len } => json!({"event":"frame-skipped","len":len}),
            NsEvent::GroupChanged { id, name, .. } => {
                json!({"event":"group-changed","id":id,"name":name.map(friendly)})
            }
            NsEvent::PrivacyChanged { verb, value, .. } => {
                json!({"event":"privacy-changed","verb":text(&verb.0),"value":text(value)})
            }
            NsEvent::Alert { text: t, .. } => json!({"event":"alert","text":text(t)}),
            NsEvent::PageReceived { from, text: t } => {
                json!({"event":"page","from":text(from),"text":text(t)})
            }
            // Phone data, URL replies and the rest are not part of the CLI contract.
            _ => return None,
        })
    }

    fn observe_sb(&mut self, ev: &SbEvent<'_>) -> Option<Value> {
        Some(match *ev {
            SbEvent::Ready { conversation } => {
                json!({"event":"conversation-ready","conversation":conversation.index()})
            }
            SbEvent::Joined {
                conversation,
                handle,
                name,
            } => {
                let who = text(handle).to_ascii_lowercase();
                if who != self.me {
                    // Closed conversations are dropped from the map, so an entry is live.
                    self.convs.entry(who).or_insert(conversation);
                }
                json!({"event":"joined","conversation":conversation.index(),"passport":text(handle),"friendly":friendly(name)})
            }
            SbEvent::Left {
                conversation,
                handle,
                idle,
            } => {
                json!({"event":"left","conversation":conversation.index(),"passport":text(handle),"idle":idle})
            }
            SbEvent::Message {
                conversation,
                sender,
                text: t,
                utf8,
                ..
            } => {
                let body = if utf8 {
                    text(t)
                } else {
                    t.iter().map(|&b| char::from(b)).collect()
                };
                let from = text(sender).to_ascii_lowercase();
                self.messages.push((from, body.clone()));
                json!({"event":"message","conversation":conversation.index(),"from":text(sender),"text":body})
            }
            SbEvent::Typing {
                conversation,
                handle,
            } => {
                self.typing.push(text(handle).to_ascii_lowercase());
                json!({"event":"typing","conversation":conversation.index(),"from":text(handle)})
            }
            SbEvent::Outcome {
                conversation,
                message,
                outcome,
            } => {
                self.outcomes.push_back(outcome);
                let (o, reason) = match outcome {
                    Outcome::Delivered => ("delivered", None),
                    Outcome::Sent => ("sent", None),
                    Outcome::Failed(r) => ("failed", Some(fail_reason(r))),
                };
                json!({"event":"outcome","conversation":conversation.index(),"message":message.0,"outcome":o,"reason":reason})
            }
            SbEvent::InviteFailed {
                conversation,
                handle,
                reason,
                ..
            } => {
                json!({"event":"invite-failed","conversation":conversation.index(),"passport":text(handle),"reason":format!("{reason:?}")})
            }
            SbEvent::UnsupportedContent {
                conversation,
                sender,
                content_type,
                ..
            } => {
                json!({"event":"unsupported-content","conversation":conversation.index(),"from":text(sender),"content_type":text(content_type)})
            }
            SbEvent::Timeout {
                conversation, verb, ..
            } => {
                json!({"event":"conversation-timeout","conversation":conversation.index(),"verb":verb})
            }
            SbEvent::Closed {
                conversation,
                reason,
            } => {
                self.convs.retain(|_, c| *c != conversation);
                json!({"event":"conversation-closed","conversation":conversation.index(),"reason":close_reason(reason)})
            }
            _ => return None,
        })
    }
}

/// Drives a [`Client`] over std sockets and checks script expectations.
pub struct Runner<'s, W: Write> {
    client: Client<'s>,
    socks: HashMap<u32, Sock>,
    epoch: StdInstant,
    out: W,
    /// Time limit of each expectation.
    pub timeout: Duration,
    failures: u32,
    seen: Seen,
    friendly_name: Option<String>,
    renamed: bool,
    signed_out: bool,
}

impl<'s, W: Write> Runner<'s, W> {
    /// Wrap a client; `me` is its passport; events go to `out` as JSON lines.
    pub fn new(client: Client<'s>, me: &str, out: W, timeout: Duration) -> Self {
        Runner {
            client,
            socks: HashMap::new(),
            epoch: StdInstant::now(),
            out,
            timeout,
            failures: 0,
            seen: Seen {
                me: me.to_ascii_lowercase(),
                ..Seen::default()
            },
            friendly_name: None,
            renamed: false,
            signed_out: false,
        }
    }

    /// Set the own friendly name once signed in (`REA`).
    pub fn set_friendly_name(&mut self, name: &str) {
        self.friendly_name = Some(name.to_string());
    }

    /// Return how many expectations or commands failed.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// Count a failure found outside the runner (a script line that does not parse).
    pub fn count_failure(&mut self) {
        self.failures = self.failures.saturating_add(1);
    }

    /// Return the client (for inspection).
    pub fn client(&self) -> &Client<'s> {
        &self.client
    }

    fn now(&self) -> Instant {
        Instant::from_millis(u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX))
    }

    /// Print one JSON event line.
    pub fn emit(&mut self, v: Value) {
        let _ = writeln!(self.out, "{v}");
        let _ = self.out.flush();
    }

    /// Start signing in.
    pub fn sign_in(&mut self) {
        let now = self.now();
        if let Err(e) = self.client.sign_in(now) {
            self.failures = self.failures.saturating_add(1);
            self.emit(json!({"event":"error","command":"sign-in","error":format!("{e:?}")}));
        }
        self.drain();
    }

    /// One round: timers, reads, writes, events.
    pub fn step(&mut self) {
        let now = self.now();
        self.client.handle_timeout(now);
        self.drain();
        let ids: Vec<u32> = self.socks.keys().copied().collect();
        for raw in ids {
            let Some(conn) = self.client.conn_from_raw(raw) else {
                self.socks.remove(&raw);
                continue;
            };
            // Bytes left over from an earlier round first: a paused connection resumes here,
            // even when nothing new arrives on it.
            self.feed(conn, raw, &[]);
            for _ in 0..READS_PER_ROUND {
                let mut buf = [0u8; 4096];
                let r = match self.socks.get_mut(&raw) {
                    // Back-pressure: read nothing more until the client took what is held.
                    Some(s) if !s.inbox.is_empty() || s.eof => break,
                    Some(s) => s.stream.read(&mut buf),
                    None => break,
                };
                match r {
                    Ok(0) => {
                        if let Some(s) = self.socks.get_mut(&raw) {
                            s.eof = true;
                        }
                        self.feed(conn, raw, &[]);
                        break;
                    }
                    Ok(n) => {
                        self.feed(conn, raw, buf.get(..n).unwrap_or_default());
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(_) => {
                        self.socks.remove(&raw);
                        self.client.handle_closed(self.now(), conn);
                        self.drain();
                        break;
                    }
                }
            }
        }
        self.drain();
    }

    /// Offer the held bytes of `raw` and then `bytes` to the client; what it does not take
    /// stays held while the connection is paused (see `Client::input_paused`). A connection
    /// whose peer closed is reported closed once nothing is held.
    fn feed(&mut self, conn: ConnId, raw: u32, bytes: &[u8]) {
        let Some(s) = self.socks.get_mut(&raw) else {
            return;
        };
        s.inbox.extend_from_slice(bytes);
        let mut rest = std::mem::take(&mut s.inbox);
        let mut at = 0;
        let mut stalls = 0;
        while at < rest.len() {
            let now = self.now();
            match self.client.handle_input(now, conn, &rest[at..]) {
                Ok(k) => {
                    at += k;
                    stalls = if k == 0 { stalls + 1 } else { 0 };
                }
                Err(e) => {
                    self.emit(json!({"event":"error","command":"input","conn":raw,"error":format!("{e:?}")}));
                    self.socks.remove(&raw);
                    self.client.handle_closed(now, conn);
                    self.drain();
                    return;
                }
            }
            self.drain();
            if stalls > 1 {
                if !self.client.input_paused(conn) {
                    // Not paused and taking nothing: a stuck stream; drop what is held.
                    at = rest.len();
                }
                break;
            }
        }
        rest.drain(..at);
        let eof = match self.socks.get_mut(&raw) {
            Some(s) => {
                s.inbox = rest;
                s.eof && s.inbox.is_empty()
            }
            None => false,
        };
        if eof {
            self.socks.remove(&raw);
            self.client.handle_closed(self.now(), conn);
            self.drain();
        }
    }

    /// Move bytes and events until nothing moves.
    fn drain(&mut self) {
        loop {
            let mut progressed = false;
            let mut out = [0u8; 4096];
            while let Some((conn, n)) = self.client.poll_transmit(&mut out) {
                progressed = true;
                if let Some(s) = self.socks.get_mut(&conn.to_raw()) {
                    s.outbox.extend_from_slice(out.get(..n).unwrap_or_default());
                }
            }
            let mut connects = Vec::new();
            while let Some(ev) = self.client.poll_event() {
                progressed = true;
                if let Some(conn) = ev.closes_connection() {
                    // Flush what was queued (OUT, BYE) before closing.
                    if let Some(mut s) = self.socks.remove(&conn.to_raw()) {
                        let _ = s.stream.set_nonblocking(false);
                        let _ = s.stream.set_write_timeout(Some(Duration::from_secs(1)));
                        let _ = s.stream.write_all(&s.outbox);
                    }
                }
                if let ClientEvent::Connect { conn, host, port } = ev {
                    connects.push((conn, host.to_string(), port));
                }
                let v = self.seen.observe(&ev);
                if let Some(v) = v {
                    let _ = writeln!(self.out, "{v}");
                }
            }
            let _ = self.out.flush();
            for (conn, host, port) in connects {
                let now = self.now();
                match connect(&host, port) {
                    Ok(stream) => {
                        self.socks.insert(
                            conn.to_raw(),
                            Sock {
                                stream,
                                outbox: Vec::new(),
                                inbox: Vec::new(),
                                eof: false,
                            },
                        );
                        if let Err(e) = self.client.handle_connected(now, conn) {
                            let _ = writeln!(
                                self.out,
                                "{}",
                                json!({"event":"error","command":"connect","error":format!("{e:?}")})
                            );
                        }
                    }
                    Err(e) => {
                        let _ = writeln!(
                            self.out,
                            "{}",
                            json!({"event":"connect-failed","host":host,"port":port,"error":e.to_string()})
                        );
                        self.client.handle_closed(now, conn);
                    }
                }
                progressed = true;
            }
            if !progressed {
                break;
            }
        }
        self.flush_sockets();
        self.after_events();
    }

    fn flush_sockets(&mut self) {
        let mut dead = Vec::new();
        for (raw, s) in self.socks.iter_mut() {
            while !s.outbox.is_empty() {
                match s.stream.write(&s.outbox) {
                    Ok(0) => {
                        dead.push(*raw);
                        break;
                    }
                    Ok(n) => {
                        s.outbox.drain(..n.min(s.outbox.len()));
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(_) => {
                        dead.push(*raw);
                        break;
                    }
                }
            }
        }
        for raw in dead {
            self.socks.remove(&raw);
            if let Some(conn) = self.client.conn_from_raw(raw) {
                let now = self.now();
                self.client.handle_closed(now, conn);
            }
        }
    }

    /// Work that needs the client's lists: pending "added you" after a list sync (contacts on
    /// RL but on neither AL nor BL, as the official client finds them at sign-in) and the own
    /// friendly name once online.
    fn after_events(&mut self) {
        if self.renamed || !self.client.is_online() {
            return;
        }
        self.renamed = true;
        if let Some(name) = self.friendly_name.clone() {
            let now = self.now();
            if let Err(e) = self.client.ns_mut().rename_self(now, &name) {
                self.failures = self.failures.saturating_add(1);
                self.emit(json!({"event":"error","command":"friendly","error":format!("{e:?}")}));
            }
            self.drain();
        }
    }

    /// Keep running until `deadline`, or until `done` holds (checked after every round).
    fn run_until(&mut self, deadline: StdInstant, mut done: impl FnMut(&mut Self) -> bool) -> bool {
        loop {
            self.step();
            if done(self) {
                return true;
            }
            let now_std = StdInstant::now();
            if now_std >= deadline {
                return false;
            }
            let mut nap = MAX_NAP.min(deadline - now_std);
            if let Some(t) = self.client.poll_timeout() {
                let ms = t.as_millis().saturating_sub(self.now().as_millis());
                nap = nap.min(Duration::from_millis(ms));
            }
            std::thread::sleep(nap);
        }
    }

    /// Keep the client running for `d`.
    pub fn run_for(&mut self, d: Duration) {
        let end = StdInstant::now() + d;
        self.run_until(end, |_| false);
    }

    /// Keep the client running until `stop` says a new line is there (or for at most `d`).
    pub fn run_while(&mut self, d: Duration, stop: impl FnMut(&mut Self) -> bool) -> bool {
        let end = StdInstant::now() + d;
        self.run_until(end, stop)
    }

    fn conversation_with(&mut self, email: &str) -> Result<ConversationId, String> {
        if let Some(c) = self.seen.convs.get(email) {
            if self.client.conversations().is_open(*c).is_ok() {
                return Ok(*c);
            }
        }
        let now = self.now();
        let c = self
            .client
            .open_conversation(now, email)
            .map_err(|e| format!("{e:?}"))?;
        self.seen.convs.insert(email.to_string(), c);
        Ok(c)
    }

    /// Run one script command; `line` is its number for the report. Returns whether it held.
    pub fn run_cmd(&mut self, line: usize, src: &str, cmd: &Cmd) -> bool {
        if cmd.is_expect() {
            let deadline = StdInstant::now() + self.timeout;
            let mut failed_early = None;
            let ok = self.run_until(deadline, |r| match r.check(cmd) {
                Check::Held => true,
                Check::Wait => match &r.seen.fatal {
                    Some(f) => {
                        failed_early = Some(f.clone());
                        true
                    }
                    None => false,
                },
                Check::Broken(why) => {
                    failed_early = Some(why);
                    true
                }
            });
            let held = ok && failed_early.is_none();
            if held {
                self.emit(json!({"event":"expect-ok","line":line,"expect":src}));
            } else {
                self.failures = self.failures.saturating_add(1);
                let reason = failed_early.unwrap_or_else(|| "timeout".into());
                self.emit(
                    json!({"event":"expect-failed","line":line,"expect":src,"reason":reason}),
                );
            }
            return held;
        }
        let r = self.exec(cmd);
        self.drain();
        match r {
            Ok(()) => true,
            Err(e) => {
                self.failures = self.failures.saturating_add(1);
                self.emit(json!({"event":"error","line":line,"command":src,"error":e}));
                false
            }
        }
    }

    fn exec(&mut self, cmd: &Cmd) -> Result<(), String> {
        let now = self.now();
        let dbg = |e: &dyn std::fmt::Debug| format!("{e:?}");
        match cmd {
            Cmd::List => {
                let mut rows = Vec::new();
                for c in self.client.ns().lists().contacts() {
                    if c.passport().is_empty() {
                        continue;
                    }
                    let lists: Vec<String> = [
                        ListKind::Forward,
                        ListKind::Allow,
                        ListKind::Block,
                        ListKind::Reverse,
                    ]
                    .into_iter()
                    .filter(|l| c.is_on(*l))
                    .map(list_name)
                    .collect();
                    rows.push(json!({"event":"contact","passport":text(c.passport()),
                        "friendly":c.friendly(),"lists":lists,
                        "status":text(c.status().token())}));
                }
                let n = rows.len();
                for r in rows {
                    self.emit(r);
                }
                self.emit(json!({"event":"list-end","count":n}));
                Ok(())
            }
            Cmd::Status(s) => self
                .client
                .set_status(now, *s)
                .map(drop)
                .map_err(|e| dbg(&e)),
            Cmd::Add(l, e) => {
                self.client.user_activity(now);
                self.client
                    .ns_mut()
                    .add_contact(now, *l, e, e, None)
                    .map(drop)
                    .map_err(|e| dbg(&e))
            }
            Cmd::Remove(l, e) => {
                self.client.user_activity(now);
                self.client
                    .ns_mut()
                    .remove_contact(now, *l, e, None)
                    .map(drop)
                    .map_err(|e| dbg(&e))
            }
            Cmd::Block(e) => {
                self.client.user_activity(now);
                self.client
                    .ns_mut()
                    .block(now, e)
                    .map(drop)
                    .map_err(|e| dbg(&e))
            }
            Cmd::Allow(e) => {
                self.client.user_activity(now);
                self.client
                    .ns_mut()
                    .unblock(now, e)
                    .map(drop)
                    .map_err(|e| dbg(&e))
            }
            Cmd::Open(e) => self.conversation_with(e).map(drop),
            Cmd::Send(e, t) => {
                let c = self.conversation_with(e)?;
                self.client
                    .send_message(now, c, t)
                    .map(drop)
                    .map_err(|e| dbg(&e))
            }
            Cmd::Typing(e) => {
                let c = self.conversation_with(e)?;
                self.client
                    .send_typing(now, c)
                    .map(drop)
                    .map_err(|e| dbg(&e))
            }
            Cmd::Leave(e) => {
                let c = self
                    .seen
                    .convs
                    .remove(e)
                    .ok_or_else(|| format!("no conversation with {e}"))?;
                self.client.leave(now, c).map_err(|e| dbg(&e))
            }
            Cmd::Ims(on) => {
                self.client.user_activity(now);
                self.client.set_ims(now, *on).map(drop).map_err(|e| dbg(&e))
            }
            Cmd::Wait(ms) => {
                self.run_for(Duration::from_millis(*ms));
                Ok(())
            }
            Cmd::Signout => self.sign_out(),
            _ => Ok(()),
        }
    }

    /// Sign out and wait (bounded by the timeout) for the NS connection to close.
    pub fn sign_out(&mut self) -> Result<(), String> {
        if self.signed_out {
            return Ok(());
        }
        self.signed_out = true;
        let now = self.now();
        let r = self.client.sign_out(now).map_err(|e| format!("{e:?}"));
        self.drain();
        let deadline = StdInstant::now() + self.timeout;
        let closed = self.run_until(deadline, |r| !r.socks.contains_key(&ConnId::Ns.to_raw()));
        self.emit(json!({"event":"signed-out","clean":closed && r.is_ok()}));
        r
    }

    /// Sign out at the end of a script unless the script did.
    pub fn finish(&mut self) -> u32 {
        if !self.signed_out && self.socks.contains_key(&ConnId::Ns.to_raw()) {
            let _ = self.sign_out();
        }
        let f = self.failures;
        self.emit(json!({"event":"done","failures":f}));
        f
    }

    fn check(&mut self, cmd: &Cmd) -> Check {
        match cmd {
            Cmd::ExpectSignedIn => held(self.client.is_online()),
            Cmd::ExpectOnline(e) => self.check_presence(e, true),
            Cmd::ExpectOffline(e) => self.check_presence(e, false),
            Cmd::ExpectAddedBy(e) => held(take_first(&mut self.seen.added_by, |x| x == e)),
            Cmd::ExpectMessage(e, t) => held(take_first(&mut self.seen.messages, |(f, m)| {
                f == e && m == t
            })),
            Cmd::ExpectTyping(e) => held(take_first(&mut self.seen.typing, |x| x == e)),
            Cmd::ExpectIms(on) => match self.seen.ims.iter().position(|x| x == on) {
                // The idle timer's switch and the server's confirmation both count: take
                // everything up to the first match.
                Some(i) => {
                    self.seen.ims.drain(..=i);
                    Check::Held
                }
                None => Check::Wait,
            },
            Cmd::ExpectDelivered | Cmd::ExpectFailed => match self.seen.outcomes.pop_front() {
                None => Check::Wait,
                Some(o) => {
                    let want_failed = *cmd == Cmd::ExpectFailed;
                    match (o, want_failed) {
                        (Outcome::Delivered, false) | (Outcome::Failed(_), true) => Check::Held,
                        (Outcome::Failed(r), false) => {
                            Check::Broken(format!("message failed: {}", fail_reason(r)))
                        }
                        (o, _) => Check::Broken(format!("outcome was {o:?}")),
                    }
                }
            },
            _ => Check::Held,
        }
    }

    /// Presence expectations read the contact's changes in order; with none unread, the
    /// contact list's current status decides.
    fn check_presence(&mut self, email: &str, online: bool) -> Check {
        if let Some((changes, read)) = self.seen.presence.get_mut(email) {
            if let Some(i) = changes
                .get(*read..)
                .and_then(|rest| rest.iter().position(|x| *x == online))
            {
                *read = read.saturating_add(i).saturating_add(1);
                return Check::Held;
            }
            if *read < changes.len() {
                return Check::Wait;
            }
        }
        let now_online = self
            .client
            .ns()
            .lists()
            .get(email.as_bytes())
            .is_some_and(|c| c.status().is_online_for_webtv());
        held(self.client.is_online() && now_online == online)
    }
}

enum Check {
    Held,
    Wait,
    Broken(String),
}

fn held(b: bool) -> Check {
    if b {
        Check::Held
    } else {
        Check::Wait
    }
}

fn take_first<T>(v: &mut Vec<T>, f: impl Fn(&T) -> bool) -> bool {
    match v.iter().position(f) {
        Some(i) => {
            v.remove(i);
            true
        }
        None => false,
    }
}

fn conn_name(c: ConnId) -> String {
    match c {
        ConnId::Ns => "ns".into(),
        ConnId::Wtvp => "wtvp".into(),
        ConnId::Sb(c) => format!("sb{}", c.index()),
    }
}

/// Open a nonblocking TCP connection (the connect itself waits up to 10 s).
fn connect(host: &str, port: u16) -> std::io::Result<TcpStream> {
    let mut last = None;
    for addr in (host, port).to_socket_addrs()? {
        match TcpStream::connect_timeout(&addr, Duration::from_secs(10)) {
            Ok(s) => {
                s.set_nonblocking(true)?;
                let _ = s.set_nodelay(true);
                return Ok(s);
            }
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::new(ErrorKind::NotFound, "no address")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use msntv_messenger::client::{ClientConfig, ClientStorage, LoginMode};
    use msntv_messenger::msnp::ns::{Contact, Group, NsConfig};
    use msntv_messenger::msnp::sb::{ConversationSlot, MessageSlot};

    /// Run `f` on a runner whose client never connects (expectations are fed by hand).
    fn with_runner(f: impl FnOnce(&mut Runner<'_, Vec<u8>>)) {
        let mut contacts = vec![Contact::EMPTY; 4];
        let mut groups = vec![Group::EMPTY; 2];
        let mut names = vec![0u8; 512];
        let mut convs: Vec<ConversationSlot> =
            (0..2).map(|_| ConversationSlot::default()).collect();
        let mut msgs: Vec<MessageSlot> = (0..2).map(|_| MessageSlot::default()).collect();
        let mut pool = vec![0u8; 4096];
        let mut large = vec![0u8; msntv_messenger::msnp::sb::session::RX_CAP];
        let ns = NsConfig::new("127.0.0.1", 1, "me@example.com");
        let client = Client::new(
            ClientConfig::new(ns, LoginMode::Password(b"pw")),
            ClientStorage {
                contacts: &mut contacts,
                groups: &mut groups,
                names: &mut names,
                conversations: &mut convs,
                messages: &mut msgs,
                message_bytes: &mut pool,
                large_frame: &mut large,
            },
            Instant::ZERO,
        )
        .expect("client");
        let mut r = Runner::new(
            client,
            "me@example.com",
            Vec::new(),
            Duration::from_millis(1),
        );
        f(&mut r);
    }

    fn held(c: Check) -> bool {
        matches!(c, Check::Held)
    }

    #[test]
    fn test_presence_changes_are_read_in_order_once() {
        with_runner(|r| {
            let bob = "bob@example.com".to_string();
            r.seen.saw_presence(b"Bob@Example.com", true);
            r.seen.saw_presence(b"bob@example.com", false);
            r.seen.saw_presence(b"bob@example.com", true);
            assert!(held(r.check(&Cmd::ExpectOffline(bob.clone()))));
            assert!(held(r.check(&Cmd::ExpectOnline(bob.clone()))));
            // Nothing unread and not signed in: wait.
            assert!(!held(r.check(&Cmd::ExpectOffline(bob.clone()))));
            assert!(!held(
                r.check(&Cmd::ExpectOnline("carol@example.com".into()))
            ));
        });
    }

    #[test]
    fn test_messages_typing_and_added_by_match_once() {
        with_runner(|r| {
            let a = "a@b.c".to_string();
            r.seen.messages.push((a.clone(), "one".into()));
            r.seen.messages.push((a.clone(), "two".into()));
            r.seen.typing.push(a.clone());
            r.seen.added_by.push(a.clone());
            assert!(held(r.check(&Cmd::ExpectMessage(a.clone(), "two".into()))));
            assert!(!held(r.check(&Cmd::ExpectMessage(a.clone(), "two".into()))));
            assert!(held(r.check(&Cmd::ExpectMessage(a.clone(), "one".into()))));
            assert!(held(r.check(&Cmd::ExpectTyping(a.clone()))));
            assert!(!held(r.check(&Cmd::ExpectTyping(a.clone()))));
            assert!(held(r.check(&Cmd::ExpectAddedBy(a.clone()))));
            assert!(!held(r.check(&Cmd::ExpectAddedBy(a))));
        });
    }

    #[test]
    fn test_outcomes_are_taken_in_order_and_must_match() {
        with_runner(|r| {
            r.seen.outcomes.push_back(Outcome::Delivered);
            r.seen
                .outcomes
                .push_back(Outcome::Failed(FailReason::ContactOffline));
            r.seen.outcomes.push_back(Outcome::Delivered);
            assert!(held(r.check(&Cmd::ExpectDelivered)));
            assert!(held(r.check(&Cmd::ExpectFailed)));
            assert!(matches!(r.check(&Cmd::ExpectFailed), Check::Broken(_)));
            assert!(matches!(r.check(&Cmd::ExpectDelivered), Check::Wait));
        });
    }

    #[test]
    fn test_ims_expectations_skip_to_the_first_match() {
        with_runner(|r| {
            r.seen.ims.extend([false, false, true]);
            assert!(held(r.check(&Cmd::ExpectIms(false))));
            assert!(held(r.check(&Cmd::ExpectIms(true))));
            assert!(!held(r.check(&Cmd::ExpectIms(true))));
        });
    }

    #[test]
    fn test_failed_expectation_is_reported_and_counted() {
        with_runner(|r| {
            assert!(!r.run_cmd(3, "expect typing a@b.c", &Cmd::ExpectTyping("a@b.c".into())));
            assert!(r.run_cmd(4, "wait 1", &Cmd::Wait(1)));
            assert_eq!(r.failures(), 1);
            let out = String::from_utf8(r.out.clone()).expect("utf8");
            let last: Value =
                serde_json::from_str(out.lines().last().expect("line")).expect("json");
            assert_eq!(last["event"], "expect-failed");
            assert_eq!(last["line"], 3);
            assert_eq!(last["reason"], "timeout");
        });
    }

    #[test]
    fn test_commands_before_sign_in_are_errors() {
        with_runner(|r| {
            assert!(!r.run_cmd(1, "send a@b.c hi", &Cmd::Send("a@b.c".into(), "hi".into())));
            assert!(!r.run_cmd(2, "block a@b.c", &Cmd::Block("a@b.c".into())));
            assert_eq!(r.failures(), 2);
            let out = String::from_utf8(r.out.clone()).expect("utf8");
            assert!(
                out.lines().all(|l| l.starts_with("{\"event\":\"error\"")),
                "{out}"
            );
        });
    }

    #[test]
    fn test_reason_names_are_stable() {
        assert_eq!(fail_reason(FailReason::ContactOffline), "contact-offline");
        assert_eq!(
            fail_reason(FailReason::InviteRefused(
                msntv_messenger::msnp::wire::ServerErrorCode(217)
            )),
            "invite-refused-217"
        );
        assert_eq!(close_reason(CloseReason::ImsOff), "ims-off");
    }
}
