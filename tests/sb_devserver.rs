//! End to end over real 127.0.0.1 TCP against the dev server (`tools/devserver`, accounts from
//! `tools/devserver/examples/escargot-accounts.json`): alice calls bob with two `Conversations`
//! machines; the NS steps (VER/CVR/USR MD5/CHG/XFR SB, RNG) are a few raw lines in this test
//! because the NS session lives elsewhere. Messages go both ways in every ack mode, with typing,
//! and bob leaves (BYE), which ends alice's conversation too.
use msntv_devserver::{Server, ServerConfig};
use msntv_messenger::msnp::sb::{
    CloseReason, ConversationId, ConversationSlot, Conversations, MessageId, MessageSlot, Outcome,
    SbConfig, SbEvent,
};
use msntv_messenger::msnp::wire::AckMode;
use msntv_messenger::{Duration, Instant};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;

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

/// A raw NS connection: just enough to sign in and get a switchboard.
struct Ns {
    rd: BufReader<TcpStream>,
    wr: TcpStream,
}

impl Ns {
    fn line(&mut self) -> String {
        let mut l = String::new();
        self.rd.read_line(&mut l).expect("NS read");
        assert!(!l.is_empty(), "NS closed");
        if l.starts_with("MSG ") {
            let n: usize = l.split_whitespace().last().unwrap().parse().unwrap();
            let mut p = vec![0u8; n];
            self.rd.read_exact(&mut p).unwrap();
        }
        l.trim_end().to_string()
    }
    fn until(&mut self, prefix: &str) -> String {
        loop {
            let l = self.line();
            if l.starts_with(prefix) {
                return l;
            }
        }
    }
    fn send(&mut self, l: &str) {
        self.wr.write_all(format!("{l}\r\n").as_bytes()).unwrap();
    }
    fn login(addr: SocketAddr, who: &str, password: &str) -> Ns {
        let s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        let mut ns = Ns {
            rd: BufReader::new(s.try_clone().unwrap()),
            wr: s,
        };
        ns.send("VER 1 MSNP7 CVR0");
        ns.until("VER 1");
        ns.send(&format!(
            "CVR 2 0x0409 webtv 2.8 MIPS msntvim 2.8 msntv {who}"
        ));
        ns.until("CVR 2");
        ns.send(&format!("USR 3 MD5 I {who}"));
        let salt = ns.until("USR 3").rsplit(' ').next().unwrap().to_string();
        let answer =
            msntv_messenger::auth::md5_login_response(salt.as_bytes(), password.as_bytes());
        ns.send(&format!(
            "USR 4 MD5 S {}",
            std::str::from_utf8(&answer).unwrap()
        ));
        ns.until("USR 4 OK");
        ns.send("CHG 5 NLN");
        ns.until("CHG 5");
        ns
    }
}

/// One user's switchboard side: the machine, its sockets, and what it reported.
struct Party<'s> {
    c: Conversations<'s>,
    sock: Option<TcpStream>,
    log: Vec<String>,
    outcomes: Vec<(MessageId, Outcome)>,
    need_sb: Option<ConversationId>,
    closed: Option<CloseReason>,
}

fn now(t0: std::time::Instant) -> Instant {
    Instant::from_millis(t0.elapsed().as_millis() as u64)
}

impl Party<'_> {
    fn step(&mut self, t0: std::time::Instant) {
        let mut out = [0u8; 1024];
        while let Some(t) = self.c.poll_transmit(&mut out) {
            if let Some(s) = self.sock.as_mut() {
                s.write_all(&out[..t.len]).unwrap();
            }
            let _ = t.conversation;
        }
        if let Some((conv, addr)) = self.events() {
            let s = TcpStream::connect(addr).unwrap();
            s.set_read_timeout(Some(std::time::Duration::from_millis(10)))
                .unwrap();
            self.sock = Some(s);
            self.c.handle_connected(now(t0), conv).unwrap();
        }
        if let Some(s) = self.sock.as_mut() {
            let mut buf = [0u8; 2048];
            match s.read(&mut buf) {
                Ok(0) => {
                    self.sock = None;
                    if let Some(conv) = self.conv() {
                        let _ = self.c.handle_closed(now(t0), conv);
                    }
                }
                Ok(n) => {
                    let conv = self.conv().unwrap();
                    let mut rest = &buf[..n];
                    while !rest.is_empty() {
                        let k = self.c.handle_input(now(t0), conv, rest).unwrap();
                        rest = &rest[k..];
                        if !rest.is_empty() {
                            assert!(self.events().is_none());
                        }
                    }
                }
                Err(_) => {}
            }
        }
        self.c.handle_timeout(now(t0));
    }

    /// Record events; return a connection request if one came.
    fn events(&mut self) -> Option<(ConversationId, String)> {
        let mut connect = None;
        while let Some(ev) = self.c.poll_event() {
            match ev {
                SbEvent::NeedSwitchboard { conversation } => self.need_sb = Some(conversation),
                SbEvent::Connect {
                    conversation,
                    host,
                    port,
                } => connect = Some((conversation, format!("{host}:{port}"))),
                SbEvent::Joined { handle, .. } => self
                    .log
                    .push(format!("joined {}", String::from_utf8_lossy(handle))),
                SbEvent::Left { handle, .. } => self
                    .log
                    .push(format!("left {}", String::from_utf8_lossy(handle))),
                SbEvent::Message { text, .. } => self
                    .log
                    .push(format!("msg {}", String::from_utf8_lossy(text))),
                SbEvent::Typing { handle, .. } => self
                    .log
                    .push(format!("typing {}", String::from_utf8_lossy(handle))),
                SbEvent::Outcome {
                    message, outcome, ..
                } => self.outcomes.push((message, outcome)),
                SbEvent::Closed { reason, .. } => self.closed = Some(reason),
                _ => {}
            }
        }
        connect
    }
    fn conv(&self) -> Option<ConversationId> {
        (0..4u32)
            .map(|i| ConversationId::from_raw((1 << 16) | i))
            .find(|c| self.c.participants(*c).is_ok())
    }
}

fn run_until(
    a: &mut Party<'_>,
    b: &mut Party<'_>,
    t0: std::time::Instant,
    done: impl Fn(&Party<'_>, &Party<'_>) -> bool,
) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !done(a, b) {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out: alice {:?} bob {:?}",
            a.log,
            b.log
        );
        a.step(t0);
        b.step(t0);
    }
}

#[test]
fn alice_calls_bob_over_loopback_in_every_ack_mode() {
    let (_rt, ns_addr) = start_server();
    let t0 = std::time::Instant::now();
    let mut alice_ns = Ns::login(ns_addr, "alice@example.com", "alice123");
    let mut bob_ns = Ns::login(ns_addr, "bob@example.com", "bob123");
    let cfg = SbConfig {
        nak_window: Duration::from_millis(200),
        typing_interval: Duration::ZERO,
        ..SbConfig::default()
    };
    let (mut sa, mut ma) = (
        [ConversationSlot::EMPTY],
        [
            MessageSlot::EMPTY,
            MessageSlot::EMPTY,
            MessageSlot::EMPTY,
            MessageSlot::EMPTY,
        ],
    );
    let (mut sb, mut mb) = (
        [ConversationSlot::EMPTY],
        [
            MessageSlot::EMPTY,
            MessageSlot::EMPTY,
            MessageSlot::EMPTY,
            MessageSlot::EMPTY,
        ],
    );
    let (mut pa, mut pb) = ([0u8; 4096], [0u8; 4096]);
    let (mut la, mut lb) = (
        vec![0u8; msntv_messenger::msnp::sb::session::RX_CAP],
        vec![0u8; msntv_messenger::msnp::sb::session::RX_CAP],
    );
    let mut a = Party {
        c: Conversations::new(
            cfg,
            b"alice@example.com",
            &mut sa,
            &mut ma,
            &mut pa,
            &mut la,
        )
        .unwrap(),
        sock: None,
        log: vec![],
        outcomes: vec![],
        need_sb: None,
        closed: None,
    };
    let mut b = Party {
        c: Conversations::new(cfg, b"bob@example.com", &mut sb, &mut mb, &mut pb, &mut lb).unwrap(),
        sock: None,
        log: vec![],
        outcomes: vec![],
        need_sb: None,
        closed: None,
    };

    // alice opens a conversation and queues a message before the switchboard exists.
    let conv_a = a.c.open(now(t0), Some(b"bob@example.com")).unwrap();
    let early =
        a.c.send_message(now(t0), conv_a, "queued before JOI")
            .unwrap();
    a.step(t0);
    assert_eq!(a.need_sb, Some(conv_a));
    alice_ns.send("XFR 6 SB");
    let xfr = alice_ns.until("XFR 6 SB");
    let f: Vec<&str> = xfr.split(' ').collect();
    a.c.switchboard_ready(now(t0), conv_a, f[3].as_bytes(), f[5].as_bytes())
        .unwrap();
    // Drive alice until bob's NS rings (USR, CAL, RNG).
    bob_ns
        .rd
        .get_ref()
        .set_read_timeout(Some(std::time::Duration::from_millis(10)))
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let rng = loop {
        assert!(std::time::Instant::now() < deadline, "no RNG: {:?}", a.log);
        a.step(t0);
        let mut l = String::new();
        if bob_ns.rd.read_line(&mut l).is_ok() && l.starts_with("RNG") {
            break l.trim_end().to_string();
        }
    };
    let r: Vec<&str> = rng.split(' ').collect();
    let conv_b =
        b.c.accept_invitation(now(t0), r[1].as_bytes(), r[2].as_bytes(), r[4].as_bytes())
            .unwrap();
    run_until(&mut a, &mut b, t0, |a, b| {
        a.c.is_open(conv_a) == Ok(true)
            && b.c.is_open(conv_b) == Ok(true)
            && b.log.iter().any(|l| l.starts_with("msg"))
    });
    assert!(
        b.log.contains(&"msg queued before JOI".to_string()),
        "{:?}",
        b.log
    );

    // Every ack mode both ways, plus typing.
    let mut sent_a = vec![(early, AckMode::Acknowledged)];
    let mut sent_b = vec![];
    for mode in [
        AckMode::Acknowledged,
        AckMode::NakOnly,
        AckMode::Unacknowledged,
    ] {
        let text = format!("alice {}", std::str::from_utf8(mode.token()).unwrap());
        sent_a.push((
            a.c.send_message_with(now(t0), conv_a, text.as_bytes(), mode, None)
                .unwrap(),
            mode,
        ));
        let text = format!("bob {}", std::str::from_utf8(mode.token()).unwrap());
        sent_b.push((
            b.c.send_message_with(now(t0), conv_b, text.as_bytes(), mode, None)
                .unwrap(),
            mode,
        ));
    }
    assert_eq!(a.c.send_typing(now(t0), conv_a), Ok(true));
    assert_eq!(b.c.send_typing(now(t0), conv_b), Ok(true));
    run_until(&mut a, &mut b, t0, |a, b| {
        a.outcomes.len() == 4 && b.outcomes.len() == 3
    });
    for (party, sent) in [(&a, &sent_a), (&b, &sent_b)] {
        for (id, mode) in sent {
            let got: Vec<_> = party.outcomes.iter().filter(|(m, _)| m == id).collect();
            assert_eq!(got.len(), 1, "one outcome for {id:?}");
            let want = if *mode == AckMode::Acknowledged {
                Outcome::Delivered
            } else {
                Outcome::Sent
            };
            assert_eq!(got[0].1, want, "{mode:?}");
        }
    }
    for m in [
        "msg bob A",
        "msg bob N",
        "msg bob U",
        "typing bob@example.com",
        "joined bob@example.com",
    ] {
        assert!(
            a.log.iter().any(|l| l == m),
            "alice missing {m}: {:?}",
            a.log
        );
    }
    for m in [
        "msg alice A",
        "msg alice N",
        "msg alice U",
        "typing alice@example.com",
        "joined alice@example.com",
    ] {
        assert!(b.log.iter().any(|l| l == m), "bob missing {m}: {:?}", b.log);
    }

    // bob leaves: alice sees BYE, sends OUT herself; both conversations end in order.
    b.c.leave(now(t0), conv_b).unwrap();
    run_until(&mut a, &mut b, t0, |a, b| {
        a.closed.is_some() && b.closed.is_some()
    });
    assert_eq!(b.closed, Some(CloseReason::Left));
    assert_eq!(a.closed, Some(CloseReason::Empty));
    assert!(a.log.contains(&"left bob@example.com".to_string()));
    assert_eq!(a.c.active(), 0);
    assert_eq!(b.c.active(), 0);
}
