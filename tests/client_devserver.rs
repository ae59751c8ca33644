//! The whole client (`client::Client`) end to end over real 127.0.0.1 TCP against the dev
//! server: alice (MSNP6, MD5) and bob (MSNP7, MD5) sign in, see each other online, alice opens a
//! conversation and sends a message before the switchboard is ready (it is queued), bob's client
//! accepts the `RNG` by itself and receives it, bob answers, both outcomes are `Delivered`, then
//! both sign out. The driver here is the smallest correct caller of the facade.
use msntv_devserver::{Server, ServerConfig};
use msntv_messenger::client::{
    Client, ClientConfig, ClientEvent, ClientStorage, ConnId, LoginMode,
};
use msntv_messenger::msnp::ns::{version_range, Contact, Group, NsConfig, NsEvent};
use msntv_messenger::msnp::sb::{ConversationSlot, MessageSlot, Outcome, SbEvent};
use msntv_messenger::Instant;
use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::{Duration as StdDuration, Instant as StdInstant};

fn start_server() -> (tokio::runtime::Runtime, SocketAddr) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tools/devserver/examples/escargot-accounts.json");
    let db = msntv_devserver::store::read_db(&path).expect("accounts");
    let server = rt
        .block_on(Server::bind(ServerConfig {
            db,
            ns_port: 0,
            sb_port: 0,
            state_path: None,
            verifier: None,
        }))
        .expect("bind");
    let ns = server.ns_addr();
    rt.spawn(server.run());
    (rt, ns)
}

/// What the test remembers of the events (owned copies).
#[derive(Debug, Clone, PartialEq)]
enum Seen {
    SignedIn,
    Online(String),
    Message(String, String),
    Outcome(Outcome),
    Ready,
}

/// Owns the sockets of one client and moves bytes and events.
struct Driver<'s> {
    client: Client<'s>,
    socks: HashMap<u32, TcpStream>,
    seen: Vec<Seen>,
    epoch: StdInstant,
}

impl<'s> Driver<'s> {
    fn now(&self) -> Instant {
        Instant::from_millis(self.epoch.elapsed().as_millis() as u64)
    }

    /// One round: timers, reads, writes, events.
    fn step(&mut self) {
        let now = self.now();
        self.client.handle_timeout(now);
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
                    self.client.handle_closed(now, conn);
                }
                Some(Ok(n)) => {
                    if std::env::var_os("DEBUG_EVENTS").is_some() {
                        eprintln!("<< {raw}: {:?}", String::from_utf8_lossy(&buf[..n]));
                    }
                    let mut rest = &buf[..n];
                    while !rest.is_empty() {
                        let k = self.client.handle_input(now, conn, rest).expect("input");
                        rest = &rest[k..];
                        self.drain();
                    }
                }
                Some(Err(e)) if e.kind() == ErrorKind::WouldBlock => {}
                Some(Err(_)) => {
                    self.socks.remove(&raw);
                    self.client.handle_closed(now, conn);
                }
                None => {}
            }
        }
        self.drain();
    }

    fn drain(&mut self) {
        loop {
            let mut out = [0u8; 4096];
            let mut progressed = false;
            while let Some((conn, n)) = self.client.poll_transmit(&mut out) {
                progressed = true;
                let s = self
                    .socks
                    .get_mut(&conn.to_raw())
                    .expect("socket for transmit");
                s.set_nonblocking(false).unwrap();
                s.write_all(&out[..n]).expect("write");
                s.set_nonblocking(true).unwrap();
            }
            let now = self.now();
            let mut connects = Vec::new();
            while let Some(ev) = self.client.poll_event() {
                progressed = true;
                if std::env::var_os("DEBUG_EVENTS").is_some() {
                    eprintln!("{:?}", ev);
                }
                if let Some(conn) = ev.closes_connection() {
                    self.socks.remove(&conn.to_raw());
                }
                match ev {
                    ClientEvent::Connect { conn, host, port } => {
                        connects.push((conn, format!("{host}:{port}")))
                    }
                    ClientEvent::Ns(NsEvent::SignedIn { .. }) => self.seen.push(Seen::SignedIn),
                    ClientEvent::Ns(NsEvent::Presence {
                        passport,
                        online_for_webtv: true,
                        ..
                    }) => self
                        .seen
                        .push(Seen::Online(String::from_utf8_lossy(passport).into())),
                    ClientEvent::Sb(SbEvent::Message { sender, text, .. }) => {
                        self.seen.push(Seen::Message(
                            String::from_utf8_lossy(sender).into(),
                            String::from_utf8_lossy(text).into(),
                        ))
                    }
                    ClientEvent::Sb(SbEvent::Outcome { outcome, .. }) => {
                        self.seen.push(Seen::Outcome(outcome))
                    }
                    ClientEvent::Sb(SbEvent::Ready { .. }) => self.seen.push(Seen::Ready),
                    _ => {}
                }
            }
            for (conn, addr) in connects {
                match TcpStream::connect(&addr) {
                    Ok(s) => {
                        s.set_nonblocking(true).unwrap();
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

fn run_until(
    a: &mut Driver<'_>,
    b: &mut Driver<'_>,
    what: &str,
    done: impl Fn(&Driver<'_>, &Driver<'_>) -> bool,
) {
    let end = StdInstant::now() + StdDuration::from_secs(10);
    while !done(a, b) {
        assert!(
            StdInstant::now() < end,
            "timed out waiting for {what}: a={:?} b={:?}",
            a.seen,
            b.seen
        );
        a.step();
        b.step();
        std::thread::sleep(StdDuration::from_millis(2));
    }
}

macro_rules! storage {
    ($c:ident, $g:ident, $n:ident, $s:ident, $m:ident) => {
        let mut $c = vec![Contact::EMPTY; 150];
        let mut $g = vec![Group::EMPTY; 30];
        let mut $n = vec![0u8; 150 * 48 + 30 * 16];
        let mut $s: Vec<ConversationSlot> = (0..4).map(|_| ConversationSlot::default()).collect();
        let mut $m: Vec<MessageSlot> = (0..10).map(|_| MessageSlot::default()).collect();
    };
}

#[test]
fn two_clients_sign_in_chat_both_ways_and_sign_out() {
    let (_rt, ns) = start_server();
    let host = ns.ip().to_string();
    storage!(ac, ag, an, asl, am);
    storage!(bc, bg, bn, bsl, bm);
    let mut alice_ns = NsConfig::new(&host, ns.port(), "alice@example.com");
    alice_ns.versions = version_range(2, 6);
    let mut bob_ns = NsConfig::new(&host, ns.port(), "bob@example.com");
    bob_ns.versions = version_range(2, 7);
    let t0 = Instant::ZERO;
    let alice = Client::new(
        ClientConfig::new(alice_ns, LoginMode::Password(b"alice123")),
        ClientStorage {
            contacts: &mut ac,
            groups: &mut ag,
            names: &mut an,
            conversations: &mut asl,
            messages: &mut am,
            message_bytes: Box::leak(Box::new([0u8; 4096])),
            large_frame: Box::leak(
                vec![0u8; msntv_messenger::msnp::sb::session::RX_CAP].into_boxed_slice(),
            ),
        },
        t0,
    )
    .expect("alice");
    let bob = Client::new(
        ClientConfig::new(bob_ns, LoginMode::Password(b"bob123")),
        ClientStorage {
            contacts: &mut bc,
            groups: &mut bg,
            names: &mut bn,
            conversations: &mut bsl,
            messages: &mut bm,
            message_bytes: Box::leak(Box::new([0u8; 4096])),
            large_frame: Box::leak(
                vec![0u8; msntv_messenger::msnp::sb::session::RX_CAP].into_boxed_slice(),
            ),
        },
        t0,
    )
    .expect("bob");
    let epoch = StdInstant::now();
    let mut a = Driver {
        client: alice,
        socks: HashMap::new(),
        seen: Vec::new(),
        epoch,
    };
    let mut b = Driver {
        client: bob,
        socks: HashMap::new(),
        seen: Vec::new(),
        epoch,
    };
    let now = a.now();
    a.client.sign_in(now).expect("sign in");
    b.client.sign_in(now).expect("sign in");
    run_until(
        &mut a,
        &mut b,
        "both online and seeing each other",
        |a, b| {
            a.client.is_online()
                && b.client.is_online()
                && a.seen.contains(&Seen::Online("bob@example.com".into()))
                && b.seen.contains(&Seen::Online("alice@example.com".into()))
        },
    );

    let now = a.now();
    let conv = a
        .client
        .open_conversation(now, "bob@example.com")
        .expect("open");
    a.client
        .send_message(now, conv, "hello bob, from the box")
        .expect("queued before ready");
    a.drain();
    run_until(&mut a, &mut b, "bob receives alice's message", |_, b| {
        b.seen.iter().any(|s| matches!(s, Seen::Message(from, t) if from == "alice@example.com" && t == "hello bob, from the box"))
    });
    run_until(&mut a, &mut b, "alice's outcome", |a, _| {
        a.seen.iter().any(|s| matches!(s, Seen::Outcome(_)))
    });
    assert!(
        a.seen.contains(&Seen::Outcome(Outcome::Delivered)),
        "{:?}",
        a.seen
    );

    let bconv = b
        .client
        .conversations()
        .id_at(0)
        .expect("bob's conversation from RNG");
    let now = b.now();
    b.client
        .send_message(now, bconv, "hi alice")
        .expect("reply");
    b.drain();
    run_until(
        &mut a,
        &mut b,
        "alice receives the reply and bob's outcome",
        |a, b| {
            a.seen
                .iter()
                .any(|s| matches!(s, Seen::Message(_, t) if t == "hi alice"))
                && b.seen.iter().any(|s| matches!(s, Seen::Outcome(_)))
        },
    );
    assert!(
        b.seen.contains(&Seen::Outcome(Outcome::Delivered)),
        "{:?}",
        b.seen
    );
    let outcomes = a
        .seen
        .iter()
        .filter(|s| matches!(s, Seen::Outcome(_)))
        .count();
    assert_eq!(outcomes, 1, "exactly one outcome per message: {:?}", a.seen);

    let now = a.now();
    a.client.sign_out(now).expect("sign out");
    b.client.sign_out(now).expect("sign out");
    a.drain();
    b.drain();
    run_until(&mut a, &mut b, "both NS connections closed", |a, b| {
        !a.socks.contains_key(&ConnId::Ns.to_raw()) && !b.socks.contains_key(&ConnId::Ns.to_raw())
    });
}
