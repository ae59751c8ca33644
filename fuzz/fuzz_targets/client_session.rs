//! Drive the whole client facade with an `Arbitrary` sequence of operations: server chunks on
//! the NS and on each switchboard (raw bytes or well-formed canned lines, so the fuzzer gets past
//! the login quickly), connection closes, clock jumps and user actions. Connection requests are
//! answered at once. Asserted inside the target: no message ever gets a second outcome, events
//! per drain stay bounded, and after the sign-out, closing every connection and two hours of
//! clock, every accepted message has exactly one outcome and the client is not online.
#![no_main]
use libfuzzer_sys::arbitrary::{self, Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use msntv_messenger::client::{
    Client, ClientConfig, ClientEvent, ClientStorage, ConnId, LoginMode,
};
use msntv_messenger::msnp::ns::{version_range, Contact, Group, NsConfig};
use msntv_messenger::msnp::sb::{ConversationSlot, MessageSlot, SbEvent};
use msntv_messenger::msnp::wire::{AckMode, Status};
use msntv_messenger::{Duration, Instant};
use std::collections::HashMap;

/// Well-formed NS lines (`{t}` is replaced by the chosen TrID).
const NS_LINES: &[&str] = &[
    "VER {t} MSNP7\r\n",
    "CVR {t} 2.8 2.8 2.8 http://x http://x\r\n",
    "INF {t} MD5\r\n",
    "USR {t} MD5 S a11ce5a17a11ce5\r\n",
    "USR {t} OK alice@example.com Alice 1\r\n",
    "SYN {t} 5\r\nGTC {t} 5 A\r\nBLP {t} 5 AL\r\nLSG {t} 5 1 1 0 Friends 0\r\nLST {t} FL 5 1 2 bob@example.com Bob 0\r\nLST {t} FL 5 2 2 carol@example.com Carol 0\r\nLST {t} AL 5 0 0\r\nLST {t} BL 5 0 0\r\nLST {t} RL 5 0 0\r\n",
    "CHG {t} NLN\r\n",
    "ILN {t} NLN bob@example.com Bob\r\n",
    "NLN AWY carol@example.com Carol\r\n",
    "FLN bob@example.com\r\n",
    "XFR {t} SB 127.0.0.1:1864 CKI 1.2.3\r\n",
    "RNG 77{t} 127.0.0.1:1864 CKI 9.9.9 bob@example.com Bob\r\n",
    "QNG\r\n",
    "IMS {t} 0 OFF\r\n",
    "OUT OTH\r\n",
    "913 {t}\r\n",
    "MSG Hotmail Hotmail 3\r\nabc",
    "ADD 0 RL 6 dave@example.com Dave\r\n",
];

/// Well-formed switchboard lines.
const SB_LINES: &[&str] = &[
    "USR {t} OK alice@example.com Alice\r\n",
    "ANS {t} OK\r\n",
    "IRO {t} 1 1 bob@example.com Bob\r\n",
    "CAL {t} RINGING 11752013\r\n",
    "JOI bob@example.com Bob\r\n",
    "ACK {t}\r\n",
    "NAK {t}\r\n",
    "217 {t}\r\n",
    "BYE bob@example.com\r\n",
    "MSG bob@example.com Bob 69\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nhello",
];

#[derive(Debug)]
enum Op {
    /// Raw server bytes on the NS (0) or a switchboard (1..).
    Raw(u8, Vec<u8>),
    /// A canned line with a TrID on the NS (0) or a switchboard.
    Line(u8, u8, u8),
    /// The server closes a connection.
    Close(u8),
    /// Time passes (seconds).
    Advance(u16),
    Open,
    Send(u8),
    Typing(u8),
    Leave(u8),
    Status(u8),
    SignIn,
    SignOut,
    Activity,
}

impl<'a> Arbitrary<'a> for Op {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(match u.int_in_range(0u8..=13)? {
            0 | 1 => Op::Raw(u.arbitrary()?, u.arbitrary()?),
            2..=5 => Op::Line(u.arbitrary()?, u.arbitrary()?, u.int_in_range(0..=12)?),
            6 => Op::Close(u.arbitrary()?),
            7 => Op::Advance(u.arbitrary()?),
            8 => Op::Open,
            9 => Op::Send(u.arbitrary()?),
            10 => Op::Typing(u.arbitrary()?),
            11 => Op::Leave(u.arbitrary()?),
            12 => Op::Status(u.arbitrary()?),
            _ => match u.int_in_range(0u8..=2)? {
                0 => Op::SignIn,
                1 => Op::SignOut,
                _ => Op::Activity,
            },
        })
    }
}

#[derive(Debug)]
struct Input {
    ack: u8,
    ops: Vec<Op>,
}

impl<'a> Arbitrary<'a> for Input {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(Input {
            ack: u.arbitrary()?,
            ops: u
                .arbitrary_iter()?
                .take(200)
                .collect::<arbitrary::Result<_>>()?,
        })
    }
}

struct Harness<'s> {
    c: Client<'s>,
    now: Instant,
    live: Vec<ConnId>,
    outcomes: HashMap<u32, u32>,
    sent: Vec<u32>,
    convs: Vec<msntv_messenger::msnp::sb::ConversationId>,
}

impl Harness<'_> {
    fn drain(&mut self) {
        for _ in 0..64 {
            let mut progressed = false;
            let mut out = [0u8; 2048];
            while self.c.poll_transmit(&mut out).is_some() {
                progressed = true;
            }
            let mut opens = Vec::new();
            let mut n = 0;
            while let Some(ev) = self.c.poll_event() {
                progressed = true;
                n += 1;
                assert!(n <= 256, "unbounded events");
                if let Some(conn) = ev.closes_connection() {
                    self.live.retain(|c| *c != conn);
                }
                match ev {
                    ClientEvent::Connect { conn, .. } => opens.push(conn),
                    ClientEvent::Sb(SbEvent::Outcome { message, .. }) => {
                        let e = self.outcomes.entry(message.0).or_insert(0);
                        *e += 1;
                        assert_eq!(*e, 1, "second outcome for message {}", message.0);
                    }
                    ClientEvent::Sb(SbEvent::Ready { conversation }) => {
                        if !self.convs.contains(&conversation) {
                            self.convs.push(conversation);
                        }
                    }
                    _ => {}
                }
            }
            for conn in opens {
                self.live.retain(|c| *c != conn);
                self.live.push(conn);
                let _ = self.c.handle_connected(self.now, conn);
            }
            if !progressed {
                return;
            }
        }
    }

    fn conn(&self, which: u8) -> Option<ConnId> {
        if which % 4 == 0 {
            return self.live.iter().copied().find(|c| *c == ConnId::Ns);
        }
        let sbs: Vec<ConnId> = self
            .live
            .iter()
            .copied()
            .filter(|c| matches!(c, ConnId::Sb(_)))
            .collect();
        sbs.get(usize::from(which) % sbs.len().max(1)).copied()
    }

    fn feed(&mut self, conn: ConnId, bytes: &[u8]) {
        let mut rest = bytes;
        let mut stuck = 0;
        while !rest.is_empty() && self.live.contains(&conn) {
            match self.c.handle_input(self.now, conn, rest) {
                Ok(n) => {
                    rest = &rest[n..];
                    stuck = if n == 0 { stuck + 1 } else { 0 };
                    assert!(stuck < 100, "input never consumed");
                }
                Err(_) => break,
            }
            self.drain();
        }
        self.drain();
    }

    fn conv(&self, which: u8) -> Option<msntv_messenger::msnp::sb::ConversationId> {
        self.convs
            .get(usize::from(which) % self.convs.len().max(1))
            .copied()
    }
}

fuzz_target!(|input: Input| {
    let mut ns = NsConfig::new("127.0.0.1", 1863, "alice@example.com");
    ns.versions = version_range(2, 7);
    let mut cfg = ClientConfig::new(ns, LoginMode::Password(b"alice123"));
    cfg.sb.ack_mode = [
        AckMode::Acknowledged,
        AckMode::NakOnly,
        AckMode::Unacknowledged,
    ][usize::from(input.ack % 3)];
    cfg.idle_after = Some(Duration::from_secs(300));
    let mut contacts = [Contact::EMPTY; 4];
    let mut groups = [Group::EMPTY; 2];
    // A small name pool, so names are dropped and the pool compacts.
    let mut names = [0u8; 96];
    let mut slots = [ConversationSlot::EMPTY, ConversationSlot::EMPTY];
    let mut msgs = [
        MessageSlot::EMPTY,
        MessageSlot::EMPTY,
        MessageSlot::EMPTY,
        MessageSlot::EMPTY,
    ];
    let mut pool = [0u8; 4096];
    let mut large = [0u8; msntv_messenger::msnp::sb::session::RX_CAP];
    let c = Client::new(
        cfg,
        ClientStorage {
            contacts: &mut contacts,
            groups: &mut groups,
            names: &mut names,
            conversations: &mut slots,
            messages: &mut msgs,
            message_bytes: &mut pool,
            large_frame: &mut large,
        },
        Instant::ZERO,
    )
    .unwrap();
    let mut h = Harness {
        c,
        now: Instant::ZERO,
        live: Vec::new(),
        outcomes: HashMap::new(),
        sent: Vec::new(),
        convs: Vec::new(),
    };
    let _ = h.c.sign_in(h.now);
    h.drain();
    for op in input.ops {
        match op {
            Op::Raw(which, bytes) => {
                if let Some(conn) = h.conn(which) {
                    h.feed(conn, &bytes);
                }
            }
            Op::Line(which, line, trid) => {
                let table = if which % 4 == 0 { NS_LINES } else { SB_LINES };
                if let Some(conn) = h.conn(which) {
                    let text =
                        table[usize::from(line) % table.len()].replace("{t}", &trid.to_string());
                    h.feed(conn, text.as_bytes());
                }
            }
            Op::Close(which) => {
                if let Some(conn) = h.conn(which) {
                    h.live.retain(|c| *c != conn);
                    h.c.handle_closed(h.now, conn);
                }
            }
            Op::Advance(secs) => {
                h.now = h.now + Duration::from_secs(u64::from(secs % 400));
                h.c.handle_timeout(h.now);
            }
            Op::Open => {
                if let Ok(conv) = h.c.open_conversation(h.now, "bob@example.com") {
                    h.convs.push(conv);
                }
            }
            Op::Send(which) => {
                if let Some(conv) = h.conv(which) {
                    if let Ok(id) = h.c.send_message(h.now, conv, "hi") {
                        h.sent.push(id.0);
                    }
                }
            }
            Op::Typing(which) => {
                if let Some(conv) = h.conv(which) {
                    let _ = h.c.send_typing(h.now, conv);
                }
            }
            Op::Leave(which) => {
                if let Some(conv) = h.conv(which) {
                    let _ = h.c.leave(h.now, conv);
                }
            }
            Op::Status(s) => {
                let st = [Status::Online, Status::Busy, Status::Away, Status::Hidden]
                    [usize::from(s % 4)];
                let _ = h.c.set_status(h.now, st);
            }
            Op::SignIn => {
                let _ = h.c.sign_in(h.now);
            }
            Op::SignOut => {
                let _ = h.c.sign_out(h.now);
            }
            Op::Activity => h.c.user_activity(h.now),
        }
        h.drain();
    }
    // The end: sign out, every connection closes, and the clock runs out every timer.
    let _ = h.c.sign_out(h.now);
    h.drain();
    for conn in h.live.clone() {
        h.live.retain(|c| *c != conn);
        h.c.handle_closed(h.now, conn);
        h.drain();
    }
    let end = h.now + Duration::from_secs(7200);
    let mut steps = 0;
    while let Some(t) = h.c.poll_timeout() {
        if t > end {
            break;
        }
        h.now = h.now.max(t);
        h.c.handle_timeout(h.now);
        h.drain();
        for conn in h.live.clone() {
            h.live.retain(|c| *c != conn);
            h.c.handle_closed(h.now, conn);
            h.drain();
        }
        steps += 1;
        assert!(steps < 100_000, "timer livelock");
    }
    for id in &h.sent {
        assert_eq!(
            h.outcomes.get(id).copied(),
            Some(1),
            "message {id}: outcomes"
        );
    }
    assert!(!h.c.is_online());
});
