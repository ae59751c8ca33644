//! The built-in WTVP client borrows the shared large-frame buffer for each step, in the same
//! queue as the switchboards and the NS, over real 127.0.0.1 TCP against the combined dev
//! service (MSNP8 with the built-in WTVP `messengerlogin`): alice signs in through the service,
//! bob with a password (MSNP7), they chat, then alice's NS connection drops and the reconnect
//! asks the WTVP client for a new login answer while a long switchboard message is half
//! received (the WTVP step waits, the message finishes, the step goes on), or the long message
//! arrives while the WTVP step holds the buffer (the message waits, then arrives whole). The
//! buffer is back after a completed sign-in, a failed one, and a sign-out in the middle of a
//! step.
use msntv_devservice::{parse_config, start, Ports};
use msntv_messenger::client::{
    Client, ClientConfig, ClientEvent, ClientFailure, ClientStorage, ConnId, LoginMode,
};
use msntv_messenger::msnp::ns::{version_range, Contact, Group, NsConfig, NsEvent, Phase};
use msntv_messenger::msnp::sb::{ConversationId, ConversationSlot, MessageSlot, SbEvent};
use msntv_messenger::wtvp::client::BoxIdentity;
use msntv_messenger::Instant;
use std::collections::{HashMap, HashSet};
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration as StdDuration, Instant as StdInstant};

const ACCOUNTS: &str = r#"{
  "settings": { "ticket_secret": "shared-rx-secret" },
  "accounts": [
    { "email": "alice@example.com", "password": "alice123", "friendly_name": "Alice",
      "contacts": [ { "email": "bob@example.com", "lists": ["FL", "AL"] } ] },
    { "email": "bob@example.com", "password": "bob123", "friendly_name": "Bob",
      "contacts": [ { "email": "alice@example.com", "lists": ["FL", "AL"] } ] }
  ],
  "boxes": [ { "ssid": "81BEEF0110B00270", "passport": "alice@example.com" } ]
}"#;

const HEADERS: &[(&str, &str)] = &[
    ("wtv-system-version", "7253"),
    ("wtv-capability-flags", "f1d9bdfefef"),
    ("wtv-client-bootrom-version", "2243"),
];

/// A long message: more than a conversation's own buffer holds, so it needs the shared one.
fn long_text() -> String {
    (0..1400).map(|i| (b'a' + (i % 26) as u8) as char).collect()
}

/// Owns the sockets of one client, moves bytes and events; input of a held connection is read
/// and kept, not fed.
struct Driver {
    client: Client<'static>,
    socks: HashMap<u32, TcpStream>,
    /// Bytes read and not yet taken by the client, by connection.
    pending: HashMap<u32, Vec<u8>>,
    held: HashSet<u32>,
    epoch: StdInstant,
    /// Added to the real time (to reach the NS reconnect without waiting for it).
    skew_ms: u64,
    synced: usize,
    /// Bytes written to the WTVP connection.
    wtvp_sent: usize,
    messages: Vec<String>,
    failures: Vec<String>,
    retry_at: Option<Instant>,
    ready: Option<ConversationId>,
}

impl Driver {
    fn new(client: Client<'static>, epoch: StdInstant) -> Driver {
        Driver {
            client,
            socks: HashMap::new(),
            pending: HashMap::new(),
            held: HashSet::new(),
            epoch,
            skew_ms: 0,
            synced: 0,
            wtvp_sent: 0,
            messages: Vec::new(),
            failures: Vec::new(),
            retry_at: None,
            ready: None,
        }
    }

    fn now(&self) -> Instant {
        Instant::from_millis(self.epoch.elapsed().as_millis() as u64 + self.skew_ms)
    }

    /// One round: timers, reads, feeding what is not held, writes, events.
    fn step(&mut self) {
        let now = self.now();
        if self.client.poll_timeout().is_some_and(|t| t <= now) {
            self.client.handle_timeout(now);
        }
        let ids: Vec<u32> = self.socks.keys().copied().collect();
        for raw in ids {
            let Some(conn) = self.client.conn_from_raw(raw) else {
                continue;
            };
            let mut buf = [0u8; 4096];
            let r = self.socks.get_mut(&raw).map(|s| s.read(&mut buf));
            match r {
                Some(Ok(0)) => {
                    self.socks.remove(&raw);
                    self.pending.remove(&raw);
                    self.client.handle_closed(now, conn);
                }
                Some(Ok(n)) => self.pending.entry(raw).or_default().extend(&buf[..n]),
                Some(Err(e)) if e.kind() == ErrorKind::WouldBlock => {}
                Some(Err(_)) => {
                    self.socks.remove(&raw);
                    self.pending.remove(&raw);
                    self.client.handle_closed(now, conn);
                }
                None => {}
            }
        }
        self.drain();
        self.feed();
    }

    /// Offer every connection that is not held its pending bytes (again, even with nothing
    /// new: the caller contract for paused connections).
    fn feed(&mut self) {
        let raws: Vec<u32> = self.pending.keys().copied().collect();
        for raw in raws {
            if self.held.contains(&raw) {
                continue;
            }
            self.feed_upto(raw, usize::MAX);
        }
    }

    /// Offer at most `limit` pending bytes of `raw`; returns how many were taken.
    fn feed_upto(&mut self, raw: u32, limit: usize) -> usize {
        let Some(conn) = self.client.conn_from_raw(raw) else {
            return 0;
        };
        let mut taken = 0;
        loop {
            let now = self.now();
            let Some(p) = self.pending.get_mut(&raw) else {
                return taken;
            };
            let n = p.len().min(limit - taken);
            if n == 0 {
                return taken;
            }
            let chunk = p[..n].to_vec();
            let k = self.client.handle_input(now, conn, &chunk).expect("input");
            if let Some(p) = self.pending.get_mut(&raw) {
                p.drain(..k);
            }
            taken += k;
            self.drain();
            if k == 0 {
                return taken;
            }
        }
    }

    fn drain(&mut self) {
        loop {
            let mut out = [0u8; 4096];
            let mut progressed = false;
            while let Some((conn, n)) = self.client.poll_transmit(&mut out) {
                progressed = true;
                if conn == ConnId::Wtvp {
                    self.wtvp_sent += n;
                }
                let s = self
                    .socks
                    .get_mut(&conn.to_raw())
                    .expect("socket for transmit");
                s.set_nonblocking(false).expect("blocking");
                s.write_all(&out[..n]).expect("write");
                s.set_nonblocking(true).expect("nonblocking");
            }
            let now = self.now();
            let mut connects = Vec::new();
            while let Some(ev) = self.client.poll_event() {
                progressed = true;
                if std::env::var_os("DEBUG_EVENTS").is_some() {
                    eprintln!("{ev:?}");
                }
                if let Some(conn) = ev.closes_connection() {
                    self.socks.remove(&conn.to_raw());
                    self.pending.remove(&conn.to_raw());
                }
                match ev {
                    ClientEvent::Connect { conn, host, port } => {
                        connects.push((conn, format!("{host}:{port}")))
                    }
                    ClientEvent::Ns(NsEvent::ListsSynced { .. }) => self.synced += 1,
                    ClientEvent::Sb(SbEvent::Message { text, .. }) => {
                        self.messages.push(String::from_utf8_lossy(text).into())
                    }
                    ClientEvent::Sb(SbEvent::Ready { conversation }) => {
                        self.ready = Some(conversation)
                    }
                    ClientEvent::Reconnecting { at, .. } => self.retry_at = Some(at),
                    ClientEvent::Failed(f) => self.failures.push(format!("{f:?}")),
                    _ => {}
                }
            }
            for (conn, addr) in connects {
                match TcpStream::connect(&addr) {
                    Ok(s) => {
                        s.set_nonblocking(true).expect("nonblocking");
                        self.socks.insert(conn.to_raw(), s);
                        self.client.handle_connected(now, conn).expect("connected");
                    }
                    Err(_) => self.client.handle_closed(now, conn),
                }
                progressed = true;
            }
            if !progressed {
                break;
            }
        }
    }
}

fn run_until(a: &mut Driver, b: &mut Driver, what: &str, done: impl Fn(&Driver, &Driver) -> bool) {
    let end = StdInstant::now() + StdDuration::from_secs(15);
    while !done(a, b) {
        assert!(
            StdInstant::now() < end,
            "timed out waiting for {what}: alice {:?} {:?}, bob {:?}",
            a.failures,
            a.messages,
            b.failures
        );
        a.step();
        b.step();
        std::thread::sleep(StdDuration::from_millis(2));
    }
}

/// Run both for a while (nothing is expected to finish).
fn run_for(a: &mut Driver, b: &mut Driver, ms: u64) {
    let end = StdInstant::now() + StdDuration::from_millis(ms);
    while StdInstant::now() < end {
        a.step();
        b.step();
        std::thread::sleep(StdDuration::from_millis(2));
    }
}

fn storage() -> ClientStorage<'static> {
    ClientStorage {
        contacts: Box::leak(vec![Contact::EMPTY; 16].into_boxed_slice()),
        groups: Box::leak(vec![Group::EMPTY; 4].into_boxed_slice()),
        names: Box::leak(vec![0u8; 2048].into_boxed_slice()),
        conversations: Box::leak((0..2).map(|_| ConversationSlot::default()).collect()),
        messages: Box::leak((0..6).map(|_| MessageSlot::default()).collect()),
        message_bytes: Box::leak(Box::new([0u8; 4096])),
        large_frame: Box::leak(
            vec![0u8; msntv_messenger::msnp::sb::session::RX_CAP].into_boxed_slice(),
        ),
    }
}

/// Start the service, sign alice (WTVP) and bob (password) in, and open a conversation from
/// bob to alice that both have joined.
fn chatting(rt: &tokio::runtime::Runtime) -> (Driver, Driver) {
    let svc = rt
        .block_on(start(
            parse_config(ACCOUNTS).expect("accounts"),
            Ports {
                ns: 0,
                sb: 0,
                wtvp: 0,
            },
            None,
        ))
        .expect("dev service");
    let wtvp_port = svc.wtvp.port();
    let mut alice_ns = NsConfig::new("127.0.0.1", 1863, "alice@example.com");
    alice_ns.versions = version_range(8, 8);
    let identity = BoxIdentity {
        ssid: "81BEEF0110B00270",
        accept_language: "en-US,en",
        headers: HEADERS,
        preregister_headers: &[],
        first_incarnation: 1,
    };
    let login = LoginMode::Wtvp {
        host: "127.0.0.1",
        port: wtvp_port,
        identity,
        use_service_server: true,
    };
    let alice =
        Client::new(ClientConfig::new(alice_ns, login), storage(), Instant::ZERO).expect("alice");
    let host: &'static str = Box::leak(svc.ns.ip().to_string().into_boxed_str());
    let mut bob_ns = NsConfig::new(host, svc.ns.port(), "bob@example.com");
    bob_ns.versions = version_range(2, 7);
    let bob = Client::new(
        ClientConfig::new(bob_ns, LoginMode::Password(b"bob123")),
        storage(),
        Instant::ZERO,
    )
    .expect("bob");
    let epoch = StdInstant::now();
    let (mut a, mut b) = (Driver::new(alice, epoch), Driver::new(bob, epoch));
    let now = a.now();
    a.client.sign_in(now).expect("alice signs in");
    b.client.sign_in(now).expect("bob signs in");
    run_until(&mut a, &mut b, "both signed in", |a, b| {
        a.synced > 0 && b.synced > 0
    });
    assert_eq!(
        a.client.large_frame_holder(),
        None,
        "the buffer is back after the WTVP sign-in and the messengerlogin step"
    );
    let now = b.now();
    let conv = b
        .client
        .open_conversation(now, "alice@example.com")
        .expect("open");
    b.client.send_message(now, conv, "hi").expect("send hi");
    run_until(&mut a, &mut b, "the first message", |a, b| {
        a.messages.iter().any(|m| m == "hi") && b.ready.is_some()
    });
    (a, b)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime")
}

/// Drop alice's NS connection and move her clock to the reconnect.
fn drop_alice_ns(a: &mut Driver, b: &mut Driver) {
    let ns = ConnId::Ns.to_raw();
    a.socks.remove(&ns);
    a.pending.remove(&ns);
    let now = a.now();
    a.client.handle_closed(now, ConnId::Ns);
    a.drain();
    run_until(a, b, "the reconnect to be scheduled", |a, _| {
        a.retry_at.is_some()
    });
    let at = a.retry_at.take().expect("retry");
    let now = a.now();
    a.skew_ms += at.as_millis().saturating_sub(now.as_millis());
}

fn sb_raw(a: &Driver) -> u32 {
    let conv = (0..a.client.conversations().capacity())
        .find_map(|i| a.client.conversations().id_at(i))
        .expect("alice's conversation");
    ConnId::Sb(conv).to_raw()
}

#[test]
fn a_login_answer_waits_for_a_switchboard_holding_the_buffer_then_signs_in() {
    let rt = runtime();
    let (mut a, mut b) = chatting(&rt);
    let sb = sb_raw(&a);
    let conv = b.ready.expect("bob's conversation");
    // Bob's long message reaches alice's socket; she takes the first half.
    a.held.insert(sb);
    let text = long_text();
    let now = b.now();
    b.client.send_message(now, conv, &text).expect("send long");
    run_until(&mut a, &mut b, "the long message on the socket", |a, _| {
        a.pending.get(&sb).is_some_and(|p| p.len() > 1400)
    });
    run_for(&mut a, &mut b, 100);
    let half = a.pending[&sb].len() / 2;
    assert_eq!(a.feed_upto(sb, half), half);
    let sb_conn = a.client.conn_from_raw(sb).expect("sb");
    assert_eq!(a.client.large_frame_holder(), Some(sb_conn));

    // The NS reconnects and asks the WTVP client for a login answer: it waits.
    let sent = a.wtvp_sent;
    drop_alice_ns(&mut a, &mut b);
    run_until(&mut a, &mut b, "the NS to wait for its answer", |a, _| {
        a.client.ns().phase() == Phase::AwaitAnswer
    });
    run_for(&mut a, &mut b, 300);
    assert_eq!(a.wtvp_sent, sent, "nothing sent while the buffer is out");
    assert_eq!(a.client.ns().phase(), Phase::AwaitAnswer);
    assert_eq!(a.client.large_frame_holder(), Some(sb_conn));
    assert!(a.client.poll_timeout().is_some(), "the step timer runs");

    // The rest of the message arrives: it is whole, then the WTVP step goes on.
    a.held.remove(&sb);
    run_until(&mut a, &mut b, "the message and the new sign-in", |a, _| {
        a.synced > 1 && a.messages.len() > 1
    });
    assert_eq!(
        a.messages.last(),
        Some(&text),
        "the long message arrives whole"
    );
    assert!(a.wtvp_sent > sent, "the messengerlogin request went out");
    assert!(a.failures.is_empty(), "{:?}", a.failures);
    assert_eq!(a.client.large_frame_holder(), None);
}

#[test]
fn a_long_message_waits_for_a_login_answer_step_then_arrives_whole() {
    let rt = runtime();
    let (mut a, mut b) = chatting(&rt);
    let sb = sb_raw(&a);
    let conv = b.ready.expect("bob's conversation");
    let wtvp = ConnId::Wtvp.to_raw();
    // The login answer step starts and holds the buffer: its response is held back.
    a.held.insert(wtvp);
    let sent = a.wtvp_sent;
    drop_alice_ns(&mut a, &mut b);
    run_until(
        &mut a,
        &mut b,
        "the WTVP step's answer on the socket",
        |a, _| a.wtvp_sent > sent && a.pending.get(&wtvp).is_some_and(|p| !p.is_empty()),
    );
    run_for(&mut a, &mut b, 100);
    assert_eq!(a.client.large_frame_holder(), Some(ConnId::Wtvp));

    // Bob's long message arrives: alice's switchboard waits for the buffer.
    let text = long_text();
    let now = b.now();
    b.client.send_message(now, conv, &text).expect("send long");
    run_until(&mut a, &mut b, "the switchboard to wait", |a, _| {
        a.client
            .conn_from_raw(sb)
            .is_some_and(|c| a.client.input_paused(c))
    });
    run_for(&mut a, &mut b, 100);
    assert_eq!(a.messages.len(), 1, "the long message waits");
    assert_eq!(a.client.large_frame_holder(), Some(ConnId::Wtvp));

    // The answer arrives: the NS signs in, and the message follows, whole.
    a.held.remove(&wtvp);
    run_until(&mut a, &mut b, "the new sign-in and the message", |a, _| {
        a.synced > 1 && a.messages.len() > 1
    });
    assert_eq!(
        a.messages.last(),
        Some(&text),
        "the long message arrives whole"
    );
    assert!(a.failures.is_empty(), "{:?}", a.failures);
    assert_eq!(a.client.large_frame_holder(), None);
}

/// A client in WTVP login mode whose service is never reached (the test answers for it).
fn offline_client() -> Client<'static> {
    let identity = BoxIdentity {
        ssid: "81C0FFEE10B00254",
        accept_language: "en-US,en",
        headers: HEADERS,
        preregister_headers: &[],
        first_incarnation: 1,
    };
    let login = LoginMode::Wtvp {
        host: "10.0.0.1",
        port: 1615,
        identity,
        use_service_server: false,
    };
    let cfg = ClientConfig::new(NsConfig::new("127.0.0.1", 1863, "alice@example.com"), login);
    Client::new(cfg, storage(), Instant::ZERO).expect("client")
}

fn events(c: &mut Client<'_>) -> Vec<String> {
    let mut out = [0u8; 4096];
    while c.poll_transmit(&mut out).is_some() {}
    let mut seen = Vec::new();
    while let Some(e) = c.poll_event() {
        seen.push(match e {
            ClientEvent::Failed(ClientFailure::Wtvp(e)) => format!("Failed {:?}", e.kind()),
            other => format!("{other:?}"),
        });
    }
    seen
}

#[test]
fn the_buffer_is_back_after_a_failed_sign_in_and_after_sign_out_mid_step() {
    let mut c = offline_client();
    let t = Instant::ZERO;
    assert_eq!(c.large_frame_holder(), None);
    c.sign_in(t).expect("sign in");
    assert_eq!(
        c.large_frame_holder(),
        Some(ConnId::Wtvp),
        "lent for the step"
    );
    events(&mut c);
    c.handle_connected(t, ConnId::Wtvp).expect("connected");
    events(&mut c);
    let refusal = b"500 Nope\n\n";
    assert_eq!(c.handle_input(t, ConnId::Wtvp, refusal), Ok(refusal.len()));
    assert_eq!(
        events(&mut c),
        ["Failed Server", "Disconnect { conn: Wtvp }"]
    );
    assert_eq!(c.large_frame_holder(), None, "back after a failed sign-in");

    // Signing out in the middle of a step (connected, request written, no answer yet).
    c.sign_in(t).expect("sign in again");
    events(&mut c);
    c.handle_connected(t, ConnId::Wtvp).expect("connected");
    events(&mut c);
    assert_eq!(c.large_frame_holder(), Some(ConnId::Wtvp));
    c.sign_out(t).expect("sign out");
    assert_eq!(c.large_frame_holder(), None, "back after sign_out mid-step");
    assert!(events(&mut c).contains(&"Disconnect { conn: Wtvp }".to_string()));

    // Signing out while the connection is still being opened.
    c.sign_in(t).expect("sign in once more");
    assert_eq!(c.large_frame_holder(), Some(ConnId::Wtvp));
    c.sign_out(t).expect("sign out");
    assert_eq!(
        c.large_frame_holder(),
        None,
        "back after sign_out while connecting"
    );
    assert!(events(&mut c).contains(&"Disconnect { conn: Wtvp }".to_string()));
    assert_eq!(c.sign_in(t), Ok(()), "the box can sign in again");
}

#[test]
fn a_timed_out_step_gives_the_buffer_back() {
    let mut c = offline_client();
    let t = Instant::ZERO;
    c.sign_in(t).expect("sign in");
    events(&mut c);
    let deadline = c.poll_timeout().expect("step timer");
    c.handle_timeout(deadline);
    assert_eq!(c.large_frame_holder(), None);
    assert!(events(&mut c).iter().any(|e| e == "Failed Timeout"));
}
