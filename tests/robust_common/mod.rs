//! A scripted MSNP7 world for the robustness suites: a [`Client`] facade driven on a simulated
//! clock against an in-process notification server and switchboard that answer by verb, with
//! one fault (close, stall, duplicate) injected at a chosen byte offset of everything the
//! servers send, and hostile overrides for single replies.
//!
//! [`World::finish`] checks the invariants every robustness run must keep: no panic (the test
//! itself), bounded events per drain, every accepted message has exactly one outcome, every
//! conversation closes exactly once, the UI learned about every lost NS connection, and the
//! client is not online after signing out.
#![allow(dead_code)]

use msntv_messenger::client::{Client, ClientConfig, ClientEvent, ConnId, LoginMode};
use msntv_messenger::msnp::ns::{version_range, Contact, Group, NsConfig, NsEvent, Phase};
use msntv_messenger::msnp::sb::{
    ConversationId, ConversationSlot, MessageId, MessageSlot, Outcome, SbEvent,
};
use msntv_messenger::msnp::wire::AckMode;
use msntv_messenger::{Duration, Instant};
use std::collections::HashMap;

/// Which server a connection talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Ns,
    Sb,
}

/// One fault at a byte offset of the servers' combined output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    None,
    /// The server closes the connection right before this byte.
    Close(usize),
    /// The server sends nothing more on that connection from this byte on (it stays open).
    Stall(usize),
    /// The bytes from here to the end of the server's write are delivered twice.
    Dup(usize),
}

/// A reply override: given the connection kind, the client's line fields and the default
/// reply, return the server's whole reply.
pub type Override = Box<dyn FnMut(Kind, &[String], Vec<u8>) -> Vec<u8>>;

/// What the user does in a scenario.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Ack mode of every message.
    pub ack: AckMode,
    /// Messages sent right after opening the conversation (queued until it is ready).
    pub queued: usize,
    /// Messages sent this long after opening.
    pub later: (u64, usize),
    /// Open a conversation with bob once online.
    pub converse: bool,
    /// Sign out at this time (ms).
    pub sign_out_at: u64,
    /// Keep running this long after the sign-out (ms).
    pub tail: u64,
}

impl Plan {
    /// Return the reference scenario: sign-in, sync, presence, a conversation with queued
    /// messages in `ack` mode, sign-out at two minutes, an hour of clock after it.
    pub fn conversation(ack: AckMode) -> Plan {
        Plan {
            ack,
            queued: 3,
            later: (4_000, 3),
            converse: true,
            sign_out_at: 120_000,
            tail: 3_600_000,
        }
    }
}

/// A server-side connection.
struct SrvConn {
    id: ConnId,
    kind: Kind,
    inbuf: Vec<u8>,
    stalled: bool,
}

/// Owned summary of what the client reported.
#[derive(Debug, Default)]
pub struct Seen {
    pub signed_in: u32,
    pub synced: u32,
    pub lost: Vec<(u64, String)>,
    pub failed: Vec<(u64, String)>,
    pub presence: u32,
    pub overflow: u32,
    pub sb_ready: u32,
    pub sb_closed: HashMap<ConversationId, u32>,
    pub outcomes: HashMap<MessageId, Vec<Outcome>>,
    pub outcome_at: HashMap<MessageId, u64>,
    pub connects: Vec<(ConnId, String, u16)>,
    pub timeouts: u32,
    pub request_failed: u32,
    pub events: u64,
    /// Terminal reports (`Failed`, `LoginFailed`, `ConnectionLost`) per NS attempt: the first
    /// entry counts those before the first `Connect(Ns)`, each `Connect(Ns)` starts a new one.
    pub ends_per_attempt: Vec<u32>,
}

impl Seen {
    fn end_reported(&mut self) {
        match self.ends_per_attempt.last_mut() {
            Some(n) => *n += 1,
            None => self.ends_per_attempt.push(1),
        }
    }
}

/// The simulated world around one client.
pub struct World<'s> {
    pub client: Client<'s>,
    pub now: u64,
    conns: Vec<SrvConn>,
    pub fault: Fault,
    fault_hit: Option<(u64, ConnId, Fault)>,
    s2c: usize,
    pub seen: Seen,
    pub sent: Vec<MessageId>,
    pub opened: Vec<ConversationId>,
    pub over: Option<Override>,
    pub plan: Plan,
    pub ns_lines: Vec<String>,
    pub sb_lines: Vec<String>,
    pub max_events_per_drain: usize,
    later_done: bool,
    open_at: Option<u64>,
    signed_out: bool,
    /// Contacts the NS server lists in `SYN`.
    pub roster: usize,
    pub contacts_cap: usize,
    pub convs_cap: usize,
    pub msgs_cap: usize,
    /// Never answer connection requests (neither opened nor failed).
    pub hang_connects: bool,
}

/// Bound on the events one drain may yield (the client's queues are fixed-size).
pub const MAX_EVENTS_PER_DRAIN: usize = 256;

/// The storage of a world: contacts, groups, name pool, conversations, messages.
pub type Storage = (
    Vec<Contact>,
    Vec<Group>,
    Vec<u8>,
    Vec<ConversationSlot>,
    Vec<MessageSlot>,
);

/// Storage for a world; the name pool has room for every contact's longest strings.
pub fn storage(contacts: usize, groups: usize, convs: usize, msgs: usize) -> Storage {
    (
        vec![Contact::EMPTY; contacts],
        vec![Group::EMPTY; groups],
        vec![0u8; contacts * (4 + 129 + 129 + 96) + groups * (4 + 61)],
        (0..convs).map(|_| ConversationSlot::default()).collect(),
        (0..msgs).map(|_| MessageSlot::default()).collect(),
    )
}

/// Make the MSNP7 password-login configuration used by every scripted run.
pub fn config(ack: AckMode) -> ClientConfig<'static> {
    let mut ns = NsConfig::new("127.0.0.1", 1863, "alice@example.com");
    ns.versions = version_range(2, 7);
    let mut cfg = ClientConfig::new(ns, LoginMode::Password(b"alice123"));
    cfg.connect_timeout = Duration::from_secs(10);
    cfg.retry =
        msntv_messenger::ims::Backoff::new(Duration::from_secs(20), Duration::from_secs(300));
    cfg.idle_after = None;
    cfg.sb.ack_mode = ack;
    cfg
}

/// Build a world over borrowed storage.
#[macro_export]
macro_rules! world {
    ($w:ident, $plan:expr, $fault:expr) => {
        $crate::world!(
            $w,
            $plan,
            $fault,
            16,
            4,
            2,
            8,
            $crate::robust_common::config($plan.ack)
        );
    };
    ($w:ident, $plan:expr, $fault:expr, $nc:expr, $ng:expr, $nv:expr, $nm:expr, $cfg:expr) => {
        let (mut contacts, mut groups, mut names, mut convs, mut msgs) =
            $crate::robust_common::storage($nc, $ng, $nv, $nm);
        let client = msntv_messenger::client::Client::new(
            $cfg,
            msntv_messenger::client::ClientStorage {
                contacts: &mut contacts,
                groups: &mut groups,
                names: &mut names,
                conversations: &mut convs,
                messages: &mut msgs,
                message_bytes: Box::leak(Box::new([0u8; 4096])),
                large_frame: Box::leak(
                    vec![0u8; msntv_messenger::msnp::sb::session::RX_CAP].into_boxed_slice(),
                ),
            },
            msntv_messenger::Instant::from_millis(0),
        )
        .expect("client");
        let mut $w = $crate::robust_common::World::new(client, $plan, $fault);
        $w.contacts_cap = $nc;
        $w.convs_cap = $nv;
        $w.msgs_cap = $nm;
    };
}

fn at(ms: u64) -> Instant {
    Instant::from_millis(ms)
}

impl<'s> World<'s> {
    /// Wrap a client that has not started yet.
    pub fn new(client: Client<'s>, plan: Plan, fault: Fault) -> Self {
        World {
            client,
            now: 0,
            conns: Vec::new(),
            fault,
            fault_hit: None,
            s2c: 0,
            seen: Seen::default(),
            sent: Vec::new(),
            opened: Vec::new(),
            over: None,
            plan,
            ns_lines: Vec::new(),
            sb_lines: Vec::new(),
            max_events_per_drain: 0,
            later_done: false,
            open_at: None,
            signed_out: false,
            roster: 5,
            contacts_cap: 0,
            convs_cap: 0,
            msgs_cap: 0,
            hang_connects: false,
        }
    }

    /// Return the total bytes the servers have sent so far.
    pub fn server_bytes(&self) -> usize {
        self.s2c
    }

    /// Return when and where the fault struck, if it did.
    pub fn fault_hit(&self) -> Option<(u64, ConnId, Fault)> {
        self.fault_hit
    }

    /// Query whether a live server-side connection exists for `id`.
    pub fn has_conn(&self, id: ConnId) -> bool {
        self.conns.iter().any(|c| c.id == id)
    }

    /// Take every transmit and event from the client, acting on connection requests.
    pub fn drain(&mut self) {
        let mut n = 0usize;
        loop {
            let mut progressed = false;
            let mut out = [0u8; 4096];
            while let Some((conn, len)) = self.client.poll_transmit(&mut out) {
                assert!(len <= out.len());
                progressed = true;
                if let Some(c) = self.conns.iter_mut().find(|c| c.id == conn) {
                    c.inbuf.extend_from_slice(&out[..len]);
                }
            }
            let mut actions: Vec<(ConnId, bool, String, u16)> = Vec::new();
            while let Some(ev) = self.client.poll_event() {
                progressed = true;
                n += 1;
                self.seen.events += 1;
                assert!(
                    n <= MAX_EVENTS_PER_DRAIN,
                    "more than {MAX_EVENTS_PER_DRAIN} events in one drain"
                );
                if let Some(closed) = ev.closes_connection() {
                    actions.push((closed, false, String::new(), 0));
                }
                let t = self.now;
                match ev {
                    ClientEvent::Connect { conn, host, port } => {
                        if conn == ConnId::Ns {
                            self.seen.ends_per_attempt.push(0);
                        }
                        self.seen.connects.push((conn, host.to_string(), port));
                        actions.push((conn, true, host.to_string(), port));
                    }
                    ClientEvent::Failed(f) => {
                        self.seen.failed.push((t, format!("{f:?}")));
                        self.seen.end_reported();
                    }
                    ClientEvent::Ns(NsEvent::SignedIn { .. }) => self.seen.signed_in += 1,
                    ClientEvent::Ns(NsEvent::ListsSynced { .. }) => self.seen.synced += 1,
                    ClientEvent::Ns(NsEvent::Presence { .. }) => self.seen.presence += 1,
                    ClientEvent::Ns(NsEvent::ListOverflow { .. }) => self.seen.overflow += 1,
                    ClientEvent::Ns(NsEvent::RequestTimedOut { .. }) => self.seen.timeouts += 1,
                    ClientEvent::Ns(NsEvent::RequestFailed { .. }) => self.seen.request_failed += 1,
                    ClientEvent::Ns(
                        NsEvent::ConnectionLost { reason } | NsEvent::LoginFailed { reason },
                    ) => {
                        self.seen.lost.push((t, format!("{reason:?}")));
                        self.seen.end_reported();
                    }
                    ClientEvent::Sb(SbEvent::Ready { .. }) => self.seen.sb_ready += 1,
                    ClientEvent::Sb(SbEvent::Closed { conversation, .. }) => {
                        *self.seen.sb_closed.entry(conversation).or_insert(0) += 1;
                    }
                    ClientEvent::Sb(SbEvent::Outcome {
                        message, outcome, ..
                    }) => {
                        self.seen.outcomes.entry(message).or_default().push(outcome);
                        self.seen.outcome_at.insert(message, t);
                        assert_eq!(
                            self.seen.outcomes[&message].len(),
                            1,
                            "message {message:?} got a second outcome: {:?}",
                            self.seen.outcomes[&message]
                        );
                    }
                    _ => {}
                }
            }
            for (conn, open, host, port) in actions {
                if open && self.hang_connects {
                    // The connect attempt hangs: only the client's own deadline ends it.
                } else if open {
                    self.conns.retain(|c| c.id != conn);
                    if host == "127.0.0.1" && port != 0 {
                        let kind = if matches!(conn, ConnId::Sb(_)) {
                            Kind::Sb
                        } else {
                            Kind::Ns
                        };
                        self.conns.push(SrvConn {
                            id: conn,
                            kind,
                            inbuf: Vec::new(),
                            stalled: false,
                        });
                        let _ = self.client.handle_connected(at(self.now), conn);
                    } else {
                        // Nothing listens there: the connect fails.
                        self.client.handle_closed(at(self.now), conn);
                    }
                } else {
                    self.conns.retain(|c| c.id != conn);
                }
                progressed = true;
            }
            if !progressed {
                break;
            }
        }
        self.max_events_per_drain = self.max_events_per_drain.max(n);
    }

    /// Feed `bytes` from the server of `conn`, honouring the fault.
    pub fn deliver(&mut self, conn: ConnId, bytes: &[u8]) {
        let start = self.s2c;
        let end = start + bytes.len();
        self.s2c = end;
        let hit = match self.fault {
            Fault::Close(k) | Fault::Stall(k) | Fault::Dup(k)
                if self.fault_hit.is_none() && (start..end).contains(&k) =>
            {
                Some(k - start)
            }
            _ => None,
        };
        let Some(cut) = hit else {
            self.feed(conn, bytes);
            return;
        };
        self.fault_hit = Some((self.now, conn, self.fault));
        match self.fault {
            Fault::Close(_) => {
                self.feed(conn, &bytes[..cut]);
                self.server_close(conn);
            }
            Fault::Stall(_) => {
                self.feed(conn, &bytes[..cut]);
                if let Some(c) = self.conns.iter_mut().find(|c| c.id == conn) {
                    c.stalled = true;
                }
            }
            Fault::Dup(_) => {
                self.feed(conn, bytes);
                self.feed(conn, &bytes[cut..]);
            }
            Fault::None => unreachable!(),
        }
    }

    /// The server closes `conn`.
    pub fn server_close(&mut self, conn: ConnId) {
        if self.has_conn(conn) {
            self.conns.retain(|c| c.id != conn);
            self.client.handle_closed(at(self.now), conn);
            self.drain();
        }
    }

    /// Feed bytes to the client as they arrive, draining between calls.
    pub fn feed(&mut self, conn: ConnId, bytes: &[u8]) {
        let mut rest = bytes;
        let mut stuck = 0;
        while !rest.is_empty() && self.has_conn(conn) {
            match self.client.handle_input(at(self.now), conn, rest) {
                Ok(n) => {
                    rest = &rest[n..];
                    stuck = if n == 0 { stuck + 1 } else { 0 };
                    assert!(stuck < 1000, "input never consumed on {conn:?}");
                }
                Err(_) => break,
            }
            self.drain();
        }
        self.drain();
    }

    /// Let every server answer the complete lines it has; `true` when anything happened.
    fn serve(&mut self) -> bool {
        let mut any = false;
        let mut i = 0;
        while i < self.conns.len() {
            let id = self.conns[i].id;
            let kind = self.conns[i].kind;
            if self.conns[i].stalled {
                self.conns[i].inbuf.clear();
                i += 1;
                continue;
            }
            let Some((fields, payload, used)) = take_command(&self.conns[i].inbuf) else {
                i += 1;
                continue;
            };
            self.conns[i].inbuf.drain(..used);
            any = true;
            let line = fields.join(" ");
            match kind {
                Kind::Ns => self.ns_lines.push(line),
                Kind::Sb => self.sb_lines.push(line),
            }
            let default = match kind {
                Kind::Ns => self.ns_reply(&fields),
                Kind::Sb => sb_reply(&fields, &payload),
            };
            let reply = match self.over.as_mut() {
                Some(f) => f(kind, &fields, default),
                None => default,
            };
            if !reply.is_empty() {
                self.deliver(id, &reply);
            }
            let close = fields.first().map(String::as_str) == Some("OUT");
            if close {
                self.server_close(id);
            }
            // The list may have changed; restart from the first connection.
            i = 0;
        }
        any
    }

    fn ns_reply(&self, f: &[String]) -> Vec<u8> {
        let verb = f.first().map(String::as_str).unwrap_or("");
        let t = f.get(1).map(String::as_str).unwrap_or("0");
        let s = match verb {
            "VER" => format!("VER {t} MSNP7\r\n"),
            "CVR" => format!("CVR {t} 2.8 2.8 2.8 http://x http://x\r\n"),
            "INF" => format!("INF {t} MD5\r\n"),
            "USR" if f.get(3).map(String::as_str) == Some("I") => {
                format!("USR {t} MD5 S a11ce5a17a11ce5\r\n")
            }
            "USR" => format!("USR {t} OK alice@example.com Alice 1\r\n"),
            "SYN" => roster(t, self.roster),
            "CHG" => {
                let st = f.get(2).map(String::as_str).unwrap_or("NLN");
                format!(
                    "CHG {t} {st}\r\nILN {t} NLN bob@example.com Bob\r\nILN {t} AWY carol@example.com Carol\r\nNLN BSY dave@example.com Dave\r\n"
                )
            }
            "XFR" => format!("XFR {t} SB 127.0.0.1:1864 CKI 17262740.1050826919.32308\r\n"),
            "PNG" => "QNG\r\n".to_string(),
            "IMS" => format!(
                "IMS {t} 0 {}\r\n",
                f.get(2).map(String::as_str).unwrap_or("ON")
            ),
            _ => String::new(),
        };
        s.into_bytes()
    }

    /// Run the plan until `until` (ms) or the end of the plan.
    pub fn run(&mut self) {
        let end = self.plan.sign_out_at + self.plan.tail;
        self.client.sign_in(at(0)).expect("sign in");
        self.drain();
        let mut same_time = 0u32;
        loop {
            self.drain();
            if self.serve() || self.act() {
                continue;
            }
            let mut next = u64::MAX;
            if let Some(t) = self.client.poll_timeout() {
                next = next.min(t.as_millis());
            }
            if !self.signed_out {
                next = next.min(self.plan.sign_out_at);
            }
            if let (Some(o), false) = (self.open_at, self.later_done) {
                next = next.min(o + self.plan.later.0);
            }
            if next > end {
                break;
            }
            if next <= self.now {
                same_time += 1;
                assert!(
                    same_time < 10_000,
                    "timer livelock at {} ms: poll_timeout {:?}",
                    self.now,
                    self.client.poll_timeout()
                );
            } else {
                same_time = 0;
            }
            self.now = self.now.max(next);
            self.client.handle_timeout(at(self.now));
        }
    }

    /// Run the plan with every connection attempt hanging forever.
    pub fn run_connectless(&mut self) {
        self.hang_connects = true;
        self.run();
    }

    /// Perform the user's next step if it is due; `true` when something was done.
    fn act(&mut self) -> bool {
        let now = at(self.now);
        if !self.signed_out && self.now >= self.plan.sign_out_at {
            self.signed_out = true;
            let _ = self.client.sign_out(now);
            self.drain();
            return true;
        }
        if self.signed_out {
            return false;
        }
        if self.plan.converse && self.open_at.is_none() && self.client.is_online() {
            self.open_at = Some(self.now);
            if let Ok(conv) = self.client.open_conversation(now, "bob@example.com") {
                self.opened.push(conv);
                for i in 0..self.plan.queued {
                    if let Ok(id) = self.client.send_message(now, conv, &format!("queued {i}")) {
                        self.sent.push(id);
                    }
                }
            }
            self.drain();
            return true;
        }
        if let (Some(o), false) = (self.open_at, self.later_done) {
            if self.now >= o + self.plan.later.0 {
                self.later_done = true;
                if let Some(&conv) = self.opened.first() {
                    for i in 0..self.plan.later.1 {
                        if let Ok(id) = self.client.send_message(now, conv, &format!("later {i}")) {
                            self.sent.push(id);
                        }
                    }
                }
                self.drain();
                return true;
            }
        }
        false
    }

    /// Check the invariants after [`run`](Self::run); `what` names the run in messages.
    pub fn finish(&mut self, what: &str) {
        assert!(
            self.seen.ends_per_attempt.iter().all(|&n| n <= 1),
            "{what}: an NS attempt was reported ended more than once: {:?} (lost {:?}, failed {:?})",
            self.seen.ends_per_attempt,
            self.seen.lost,
            self.seen.failed
        );
        assert!(
            self.max_events_per_drain <= MAX_EVENTS_PER_DRAIN,
            "{what}: unbounded events"
        );
        for id in &self.sent {
            let n = self.seen.outcomes.get(id).map_or(0, Vec::len);
            assert_eq!(n, 1, "{what}: message {id:?} has {n} outcomes");
        }
        for (conv, n) in &self.seen.sb_closed {
            assert_eq!(*n, 1, "{what}: conversation {conv:?} closed {n} times");
        }
        for conv in &self.opened {
            assert!(
                self.seen.sb_closed.contains_key(conv),
                "{what}: conversation {conv:?} never reported closed"
            );
        }
        assert!(!self.client.is_online(), "{what}: online after sign-out");
        assert!(
            matches!(self.client.ns().phase(), Phase::Closed | Phase::Idle),
            "{what}: NS phase {:?} after sign-out",
            self.client.ns().phase()
        );
        assert_eq!(
            self.client.conversations().active(),
            0,
            "{what}: conversations left after sign-out"
        );
        assert!(
            self.client.ns().lists().contacts().len() <= self.contacts_cap,
            "{what}: contacts beyond capacity"
        );
        // The UI learned about every NS connection the fault ended before the sign-out.
        if let Some((t, ConnId::Ns, f)) = self.fault_hit {
            if matches!(f, Fault::Close(_) | Fault::Stall(_)) && t < self.plan.sign_out_at {
                assert!(
                    self.seen.lost.iter().any(|(at, _)| *at >= t)
                        || self.seen.failed.iter().any(|(at, _)| *at >= t),
                    "{what}: the NS fault at {t} ms was never reported: lost {:?} failed {:?}",
                    self.seen.lost,
                    self.seen.failed
                );
            }
        }
    }
}

/// Split one complete client command off `buf`: fields, payload, bytes used.
pub fn take_command(buf: &[u8]) -> Option<(Vec<String>, Vec<u8>, usize)> {
    let end = buf.windows(2).position(|w| w == b"\r\n")?;
    let line = String::from_utf8_lossy(&buf[..end]).to_string();
    let fields: Vec<String> = line.split(' ').map(str::to_string).collect();
    let mut used = end + 2;
    let mut payload = Vec::new();
    if matches!(fields[0].as_str(), "MSG" | "QRY") {
        let len: usize = fields.last().and_then(|l| l.parse().ok()).unwrap_or(0);
        if buf.len() < used + len {
            return None;
        }
        payload = buf[used..used + len].to_vec();
        used += len;
    }
    Some((fields, payload, used))
}

/// The MSNP7 `SYN` reply with `n` contacts in two groups.
pub fn roster(t: &str, n: usize) -> String {
    let mut s = format!(
        "SYN {t} 5\r\nGTC {t} 5 A\r\nBLP {t} 5 AL\r\nLSG {t} 5 1 2 0 Friends 0\r\nLSG {t} 5 2 2 1 Work 0\r\n"
    );
    let names: Vec<String> = ["bob", "carol", "dave", "erin", "frank"]
        .iter()
        .map(|s| s.to_string())
        .chain((5..n).map(|i| format!("user{i}")))
        .take(n)
        .collect();
    for (list, grp) in [("FL", true), ("AL", false), ("RL", false)] {
        if names.is_empty() {
            s += &format!("LST {t} {list} 5 0 0\r\n");
        }
        for (i, name) in names.iter().enumerate() {
            let g = if grp {
                format!(" {}", i % 2)
            } else {
                String::new()
            };
            s += &format!(
                "LST {t} {list} 5 {} {} {name}@example.com {name}{g}\r\n",
                i + 1,
                names.len()
            );
        }
    }
    s += &format!("LST {t} BL 5 0 0\r\n");
    s
}

/// The switchboard's default reply.
fn sb_reply(f: &[String], payload: &[u8]) -> Vec<u8> {
    let verb = f.first().map(String::as_str).unwrap_or("");
    let t = f.get(1).map(String::as_str).unwrap_or("0");
    let s = match verb {
        "USR" => format!("USR {t} OK alice@example.com Alice\r\n"),
        "ANS" => format!("IRO {t} 1 1 bob@example.com Bob\r\nANS {t} OK\r\n"),
        "CAL" => {
            let who = f.get(2).map(String::as_str).unwrap_or("bob@example.com");
            let body = "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nhello from bob";
            format!(
                "CAL {t} RINGING 11752013\r\nJOI {who} Bob\r\nMSG {who} Bob {}\r\n{body}",
                body.len()
            )
        }
        "MSG" => {
            let _ = payload;
            match f.get(2).map(String::as_str) {
                Some("A") => format!("ACK {t}\r\n"),
                _ => String::new(),
            }
        }
        _ => String::new(),
    };
    s.into_bytes()
}

/// Offsets to try for a stream of `total` bytes: every offset when `stride` is 1.
pub fn offsets(total: usize, stride: usize) -> impl Iterator<Item = usize> {
    (0..total).step_by(stride.max(1))
}
