//! The client facade's own timers on a simulated clock, against a tiny scripted notification
//! server that answers by verb (MSNP7, MD5): the NS connect timeout and reconnect back-off, no
//! reconnect after `OUT OTH`, the IMS idle timer's `IMS OFF`/`IMS ON` on the wire, and the
//! passportd timeout of the delegate login transport.
use msntv_messenger::client::{
    Client, ClientConfig, ClientEvent, ClientStorage, ConnId, LoginMode,
};
use msntv_messenger::msnp::ns::{version_range, Contact, Group, NsConfig, NsEvent};
use msntv_messenger::msnp::sb::{ConversationSlot, MessageSlot};
use msntv_messenger::{Duration, Instant};

fn ms(v: u64) -> Instant {
    Instant::from_millis(v)
}

/// Owned copies of what the client reported.
#[derive(Debug, Clone, PartialEq)]
enum Seen {
    Connect(ConnId),
    Disconnect(ConnId),
    Failed(String),
    Reconnecting(u64, u32),
    SignedIn,
    Lost(String),
    Ims(bool),
    LoginRequest,
    PendingAdd(String, String),
    Other,
}

struct Harness<'s> {
    client: Client<'s>,
    sent: Vec<u8>,
    seen: Vec<Seen>,
    /// The lists the scripted server sends after `SYN` (`{T}` is the TrID); empty lists if "".
    lists: &'static str,
}

impl<'s> Harness<'s> {
    fn drain(&mut self) {
        let mut out = [0u8; 4096];
        while let Some((conn, n)) = self.client.poll_transmit(&mut out) {
            if conn == ConnId::Ns {
                self.sent.extend_from_slice(&out[..n]);
            }
        }
        while let Some(ev) = self.client.poll_event() {
            let s = match ev {
                ClientEvent::Connect { conn, .. } => Seen::Connect(conn),
                ClientEvent::Disconnect { conn } => Seen::Disconnect(conn),
                ClientEvent::Failed(f) => Seen::Failed(format!("{f:?}")),
                ClientEvent::Reconnecting { at, attempt } => {
                    Seen::Reconnecting(at.as_millis(), attempt)
                }
                ClientEvent::Ns(NsEvent::SignedIn { .. }) => Seen::SignedIn,
                ClientEvent::Ns(
                    NsEvent::ConnectionLost { reason } | NsEvent::LoginFailed { reason },
                ) => Seen::Lost(format!("{reason:?}")),
                ClientEvent::Ims { on } => Seen::Ims(on),
                ClientEvent::LoginRequest(_) => Seen::LoginRequest,
                ClientEvent::PendingAdd { passport, friendly } => Seen::PendingAdd(
                    String::from_utf8_lossy(passport).into_owned(),
                    friendly.to_string(),
                ),
                _ => Seen::Other,
            };
            self.seen.push(s);
        }
    }

    /// Answer every complete client line like a minimal MSNP7 server; returns the lines seen.
    fn serve(&mut self, now: Instant) -> Vec<String> {
        let mut lines = Vec::new();
        for _ in 0..20 {
            self.drain();
            let text = String::from_utf8_lossy(&self.sent).to_string();
            self.sent.clear();
            if text.is_empty() {
                break;
            }
            let mut reply = String::new();
            for line in text.split("\r\n").filter(|l| !l.is_empty()) {
                lines.push(line.to_string());
                let f: Vec<&str> = line.split(' ').collect();
                let trid = f.get(1).copied().unwrap_or("0");
                match f[0] {
                    "VER" => reply += &format!("VER {trid} MSNP7\r\n"),
                    "CVR" => reply += &format!("CVR {trid} 2.8 2.8 2.8 http://x http://x\r\n"),
                    "INF" => reply += &format!("INF {trid} MD5\r\n"),
                    "USR" if f.get(3) == Some(&"I") => {
                        reply += &format!("USR {trid} MD5 S 1013928519.693957190\r\n")
                    }
                    "USR" => reply += &format!("USR {trid} OK alice@example.com Alice 1\r\n"),
                    "SYN" => {
                        let lists = if self.lists.is_empty() {
                            "LST {T} FL 1 0 0\r\nLST {T} AL 1 0 0\r\nLST {T} BL 1 0 0\r\nLST {T} RL 1 0 0\r\n"
                        } else {
                            self.lists
                        };
                        reply += &format!("SYN {trid} 1\r\nGTC {trid} 1 A\r\nBLP {trid} 1 AL\r\n");
                        reply += &lists.replace("{T}", trid);
                    }
                    "CHG" => {
                        reply += &format!("CHG {trid} {}\r\n", f.get(2).copied().unwrap_or("NLN"))
                    }
                    "IMS" => {
                        reply += &format!("IMS {trid} 0 {}\r\n", f.get(2).copied().unwrap_or("ON"))
                    }
                    "PNG" => reply += "QNG\r\n",
                    _ => {}
                }
            }
            if !reply.is_empty() {
                let bytes = reply.into_bytes();
                let mut rest = &bytes[..];
                while !rest.is_empty() {
                    let n = self
                        .client
                        .handle_input(now, ConnId::Ns, rest)
                        .expect("input");
                    rest = &rest[n..];
                    self.drain();
                }
            }
        }
        self.drain();
        lines
    }

    fn connect_and_sign_in(&mut self, now: Instant) -> Vec<String> {
        self.client
            .handle_connected(now, ConnId::Ns)
            .expect("connected");
        self.serve(now)
    }
}

/// How many of the events tell the UI a sign-in attempt ended (`Failed`, `LoginFailed`,
/// `ConnectionLost`).
fn terminal_reports(seen: &[Seen]) -> usize {
    seen.iter()
        .filter(|s| matches!(s, Seen::Failed(_) | Seen::Lost(_)))
        .count()
}

macro_rules! client {
    ($h:ident, $cfg:expr) => {
        let mut contacts = vec![Contact::EMPTY; 8];
        let mut groups = vec![Group::EMPTY; 4];
        let mut names = vec![0u8; 1024];
        let mut convs: Vec<ConversationSlot> =
            (0..2).map(|_| ConversationSlot::default()).collect();
        let mut msgs: Vec<MessageSlot> = (0..4).map(|_| MessageSlot::default()).collect();
        let client = Client::new(
            $cfg,
            ClientStorage {
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
            ms(0),
        )
        .expect("client");
        let mut $h = Harness {
            client,
            sent: Vec::new(),
            seen: Vec::new(),
            lists: "",
        };
    };
}

fn config(login: LoginMode<'static>) -> ClientConfig<'static> {
    let mut ns = NsConfig::new("127.0.0.1", 1863, "alice@example.com");
    ns.versions = version_range(2, 7);
    let mut cfg = ClientConfig::new(ns, login);
    cfg.connect_timeout = Duration::from_secs(10);
    cfg.retry =
        msntv_messenger::ims::Backoff::new(Duration::from_secs(20), Duration::from_secs(300));
    cfg.idle_after = Some(Duration::from_secs(60));
    cfg
}

#[test]
fn ns_connect_timeout_closes_and_retries_with_doubling_backoff() {
    client!(h, config(LoginMode::Password(b"password")));
    h.client.sign_in(ms(0)).unwrap();
    h.drain();
    assert_eq!(h.seen, vec![Seen::Connect(ConnId::Ns)]);
    assert_eq!(
        h.client.poll_timeout(),
        Some(ms(10_000)),
        "the connect deadline is the only timer while the NS connects"
    );
    h.seen.clear();
    h.client.handle_timeout(ms(9_999));
    h.drain();
    assert!(
        h.seen.is_empty(),
        "nothing before the deadline: {:?}",
        h.seen
    );
    h.client.handle_timeout(ms(10_000));
    h.drain();
    assert!(
        h.seen.contains(&Seen::Disconnect(ConnId::Ns)),
        "{:?}",
        h.seen
    );
    assert!(
        h.seen
            .iter()
            .any(|s| matches!(s, Seen::Failed(f) if f.contains("ConnectTimeout"))),
        "{:?}",
        h.seen
    );
    assert!(
        h.seen.contains(&Seen::Reconnecting(30_000, 1)),
        "first retry after 20 s: {:?}",
        h.seen
    );
    assert_eq!(
        terminal_reports(&h.seen),
        1,
        "the timeout is reported once: {:?}",
        h.seen
    );
    h.seen.clear();
    h.client.handle_timeout(ms(30_000));
    h.drain();
    assert_eq!(h.seen, vec![Seen::Connect(ConnId::Ns)], "reconnect attempt");
    h.seen.clear();
    h.client.handle_timeout(ms(40_000));
    h.drain();
    assert!(
        h.seen.contains(&Seen::Reconnecting(80_000, 2)),
        "second retry after 40 s: {:?}",
        h.seen
    );
}

#[test]
fn signed_in_link_lost_reconnects_and_signs_in_again() {
    client!(h, config(LoginMode::Password(b"password")));
    h.client.sign_in(ms(0)).unwrap();
    h.drain();
    let lines = h.connect_and_sign_in(ms(1));
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("USR 5 MD5 S 7f919fab309532df353c901430df36fa")),
        "{lines:?}"
    );
    assert!(h.seen.contains(&Seen::SignedIn));
    assert!(h.client.is_online());
    h.seen.clear();
    h.client.handle_closed(ms(5_000), ConnId::Ns);
    h.drain();
    assert!(
        h.seen.iter().any(|s| matches!(s, Seen::Lost(_))),
        "{:?}",
        h.seen
    );
    assert!(
        h.seen.contains(&Seen::Reconnecting(25_000, 1)),
        "{:?}",
        h.seen
    );
    h.seen.clear();
    h.client.handle_timeout(ms(25_000));
    h.drain();
    assert_eq!(h.seen, vec![Seen::Connect(ConnId::Ns)]);
    h.seen.clear();
    h.connect_and_sign_in(ms(25_001));
    assert!(
        h.seen.contains(&Seen::SignedIn),
        "signed in again: {:?}",
        h.seen
    );
}

#[test]
fn signed_in_elsewhere_does_not_reconnect() {
    client!(h, config(LoginMode::Password(b"password")));
    h.client.sign_in(ms(0)).unwrap();
    h.drain();
    h.connect_and_sign_in(ms(1));
    h.seen.clear();
    h.client
        .handle_input(ms(100), ConnId::Ns, b"OUT OTH\r\n")
        .unwrap();
    h.drain();
    h.client.handle_closed(ms(101), ConnId::Ns);
    h.drain();
    assert!(
        h.seen
            .iter()
            .any(|s| matches!(s, Seen::Lost(r) if r.contains("SignedInElsewhere"))),
        "{:?}",
        h.seen
    );
    assert!(
        !h.seen.iter().any(|s| matches!(s, Seen::Reconnecting(..))),
        "{:?}",
        h.seen
    );
    h.seen.clear();
    h.client.handle_timeout(ms(10_000_000));
    h.drain();
    assert!(
        !h.seen.contains(&Seen::Connect(ConnId::Ns)),
        "no reconnect, however long we wait: {:?}",
        h.seen
    );
}

#[test]
fn idle_timer_sends_ims_off_then_on_at_activity() {
    client!(h, config(LoginMode::Password(b"password")));
    h.client.sign_in(ms(0)).unwrap();
    h.drain();
    h.connect_and_sign_in(ms(0));
    h.seen.clear();
    h.client.handle_timeout(ms(59_999));
    let lines = h.serve(ms(59_999));
    assert!(!lines.iter().any(|l| l.starts_with("IMS")), "{lines:?}");
    h.client.handle_timeout(ms(60_000));
    let lines = h.serve(ms(60_000));
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("IMS ") && l.ends_with(" OFF")),
        "{lines:?}"
    );
    assert!(h.seen.contains(&Seen::Ims(false)), "{:?}", h.seen);
    assert!(!h.client.ims_on());
    h.seen.clear();
    h.client.user_activity(ms(70_000));
    let lines = h.serve(ms(70_000));
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("IMS ") && l.ends_with(" ON")),
        "{lines:?}"
    );
    assert!(h.seen.contains(&Seen::Ims(true)), "{:?}", h.seen);
    assert!(h.client.ims_on());
}

#[test]
fn delegate_login_passportd_timeout_fails_the_sign_in() {
    client!(
        h,
        config(LoginMode::Delegate {
            login_url: "wtv-passport:/messengerlogin",
            passportd_timeout: Duration::from_secs(30)
        })
    );
    h.client.sign_in(ms(0)).unwrap();
    h.drain();
    h.connect_and_sign_in(ms(0));
    assert!(
        h.seen.contains(&Seen::LoginRequest),
        "the firmware is asked for the answer: {:?}",
        h.seen
    );
    h.seen.clear();
    h.client.handle_timeout(ms(29_999));
    h.drain();
    assert!(
        !h.seen.iter().any(|s| matches!(s, Seen::Failed(_))),
        "{:?}",
        h.seen
    );
    h.client.handle_timeout(ms(30_000));
    h.drain();
    assert!(
        h.seen
            .iter()
            .any(|s| matches!(s, Seen::Failed(f) if f.contains("Timeout"))),
        "the passportd timeout ends the wait: {:?}",
        h.seen
    );
    assert!(
        h.seen.contains(&Seen::Disconnect(ConnId::Ns)),
        "and the NS sign-in ends (its socket closed): {:?}",
        h.seen
    );
    assert_eq!(
        terminal_reports(&h.seen),
        1,
        "the UI hears of the failure once: {:?}",
        h.seen
    );
}

#[test]
fn delegate_login_answer_completes_the_sign_in() {
    client!(
        h,
        config(LoginMode::Delegate {
            login_url: "wtv-passport:/messengerlogin",
            passportd_timeout: Duration::from_secs(30)
        })
    );
    h.client.sign_in(ms(0)).unwrap();
    h.drain();
    h.connect_and_sign_in(ms(0));
    assert!(h.seen.contains(&Seen::LoginRequest));
    h.client
        .complete_login(
            ms(5),
            200,
            b"OK",
            b"Content-length: 32\n",
            b"7f919fab309532df353c901430df36fa",
        )
        .expect("reply");
    let lines = h.serve(ms(5));
    assert!(
        lines
            .iter()
            .any(|l| l == "USR 5 MD5 S 7f919fab309532df353c901430df36fa"),
        "{lines:?}"
    );
    assert!(h.seen.contains(&Seen::SignedIn), "{:?}", h.seen);
}

#[test]
fn idle_countdown_starts_at_sign_in_not_during_a_slow_sign_in() {
    let mut cfg = config(LoginMode::Password(b"password"));
    cfg.connect_timeout = Duration::from_secs(120);
    client!(h, cfg);
    h.client.sign_in(ms(0)).unwrap();
    h.drain();
    // The connection takes longer than the idle period (60 s) to open.
    h.client.handle_timeout(ms(70_000));
    h.drain();
    assert!(
        !h.seen.contains(&Seen::Ims(false)),
        "not idle before sign-in: {:?}",
        h.seen
    );
    let lines = h.connect_and_sign_in(ms(70_000));
    assert!(h.client.is_online());
    assert!(
        !lines.iter().any(|l| l.starts_with("IMS")),
        "no IMS OFF right after sign-in: {lines:?}"
    );
    // The countdown runs from the sign-in on.
    h.client.handle_timeout(ms(129_999));
    let lines = h.serve(ms(129_999));
    assert!(!lines.iter().any(|l| l.starts_with("IMS")), "{lines:?}");
    h.client.handle_timeout(ms(130_000));
    let lines = h.serve(ms(130_000));
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("IMS ") && l.ends_with(" OFF")),
        "{lines:?}"
    );
}

#[test]
fn no_timer_is_left_pending_after_signing_out_before_the_sign_in_finished() {
    client!(h, config(LoginMode::Password(b"password")));
    h.client.sign_in(ms(0)).unwrap();
    h.drain();
    h.client.sign_out(ms(1)).unwrap();
    h.drain();
    // Every deadline the client reports must be consumed by handle_timeout (no livelock).
    let mut now = ms(1);
    for _ in 0..10 {
        match h.client.poll_timeout() {
            None => return,
            Some(t) => {
                assert!(t >= now, "deadline in the past after a timeout: {t:?}");
                now = t;
                h.client.handle_timeout(now);
                h.drain();
                assert!(
                    h.client.poll_timeout() != Some(now),
                    "handle_timeout left the same deadline armed"
                );
            }
        }
    }
    panic!("timers keep firing after sign-out");
}

#[test]
fn contacts_who_added_us_while_away_are_reported_after_each_sync() {
    client!(h, config(LoginMode::Password(b"password")));
    // bob is allowed, eve blocked; carol and dave are on the reverse list only: they added
    // alice while she was away and wait for her answer.
    h.lists = "LST {T} FL 1 1 1 bob@example.com Bob 0\r\n\
               LST {T} AL 1 1 1 bob@example.com Bob\r\n\
               LST {T} BL 1 1 1 eve@example.com Eve\r\n\
               LST {T} RL 1 1 4 bob@example.com Bob\r\n\
               LST {T} RL 1 2 4 eve@example.com Eve\r\n\
               LST {T} RL 1 3 4 carol@example.com Carol%20C\r\n\
               LST {T} RL 1 4 4 dave@example.com Dave\r\n";
    h.client.sign_in(ms(0)).unwrap();
    h.drain();
    h.connect_and_sign_in(ms(10));
    let signed_in = h.seen.iter().position(|s| *s == Seen::SignedIn);
    let pending: Vec<(usize, &Seen)> = h
        .seen
        .iter()
        .enumerate()
        .filter(|(_, s)| matches!(s, Seen::PendingAdd(..)))
        .collect();
    assert_eq!(
        pending.iter().map(|p| p.1.clone()).collect::<Vec<_>>(),
        vec![
            Seen::PendingAdd("carol@example.com".into(), "Carol C".into()),
            Seen::PendingAdd("dave@example.com".into(), "Dave".into()),
        ],
        "each RL-only contact once, with the decoded name: {:?}",
        h.seen
    );
    assert!(signed_in.is_some_and(|i| pending.iter().all(|p| p.0 > i)));
    // A later reconnect syncs again: the ones still undecided are asked about again.
    h.seen.clear();
    h.client.handle_closed(ms(20), ConnId::Ns);
    h.drain();
    h.client.handle_timeout(ms(60_000));
    h.drain();
    assert!(h.seen.contains(&Seen::Connect(ConnId::Ns)), "{:?}", h.seen);
    h.seen.clear();
    h.connect_and_sign_in(ms(60_010));
    let again = h
        .seen
        .iter()
        .filter(|s| matches!(s, Seen::PendingAdd(..)))
        .count();
    assert_eq!(again, 2, "{:?}", h.seen);
}
