//! Drive the whole client facade with an `Arbitrary` sequence of operations: server chunks on
//! the NS and on each switchboard (raw bytes or well-formed canned lines, so the fuzzer gets past
//! the login quickly), connection closes, clock jumps and user actions. Connection requests are
//! answered at once. Bytes a connection refuses while it is paused (its next frame waits for the
//! shared large-frame buffer) are kept and offered again after every operation, as the caller
//! contract says. Asserted inside the target: no message ever gets a second outcome, events per
//! drain stay bounded, a connection that takes nothing is paused, once nothing moves any more
//! every paused connection waits for a holder of the buffer that has no bytes of its own held
//! (no deadlock), and after the sign-out, closing every connection and two hours of clock,
//! every accepted message has exactly one outcome and the client is not online.
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
    /// The head of a long `MSG` (longer than a connection's own buffer), or 400 more bytes
    /// of payload, on the NS (0) or a switchboard: connections contend for the shared buffer.
    Long(u8, bool),
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
        Ok(match u.int_in_range(0u8..=14)? {
            14 => Op::Long(u.arbitrary()?, u.arbitrary()?),
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
    /// Bytes a paused connection did not take yet.
    held: HashMap<ConnId, Vec<u8>>,
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
                    self.held.remove(&conn);
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
                self.held.remove(&conn);
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

    /// Offer `bytes` after what `conn` holds; what a paused connection refuses stays held.
    /// Returns how many bytes were taken.
    fn feed(&mut self, conn: ConnId, bytes: &[u8]) -> usize {
        let mut rest = self.held.remove(&conn).unwrap_or_default();
        rest.extend_from_slice(bytes);
        let mut at = 0;
        let mut stuck = 0;
        while at < rest.len() && self.live.contains(&conn) {
            match self.c.handle_input(self.now, conn, &rest[at..]) {
                Ok(n) => {
                    at += n;
                    self.drain();
                    if n == 0 && self.c.input_paused(conn) {
                        if self.live.contains(&conn) {
                            self.held.insert(conn, rest[at..].to_vec());
                        }
                        break;
                    }
                    stuck = if n == 0 { stuck + 1 } else { 0 };
                    assert!(stuck < 100, "input never consumed");
                }
                Err(_) => break,
            }
        }
        self.drain();
        at
    }

    /// Offer every held byte again (the caller's next pass over its connections).
    fn pass(&mut self) -> usize {
        let conns: Vec<ConnId> = self.held.keys().copied().collect();
        conns.into_iter().map(|c| self.feed(c, &[])).sum()
    }

    /// Offer held bytes until nothing moves; then every connection still holding bytes is
    /// paused behind a holder of the shared buffer that waits for bytes the server never sent.
    fn settle(&mut self) {
        for _ in 0..64 {
            if self.pass() == 0 {
                break;
            }
        }
        if self.held.values().all(Vec::is_empty) {
            return;
        }
        let holder = self.c.large_frame_holder();
        for (conn, bytes) in &self.held {
            if bytes.is_empty() {
                continue;
            }
            assert!(self.c.input_paused(*conn), "{conn:?} holds bytes unpaused");
            let h = holder.expect("paused with nobody holding the shared buffer");
            assert!(h != *conn, "the holder is paused");
            assert!(
                self.held.get(&h).is_none_or(Vec::is_empty),
                "the holder has bytes it was not given"
            );
        }
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
        held: HashMap::new(),
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
            Op::Long(which, head) => {
                if let Some(conn) = h.conn(which) {
                    let mut bytes = if !head {
                        Vec::new()
                    } else if conn == ConnId::Ns {
                        b"MSG Hotmail Hotmail 1400\r\nMIME-Version: 1.0\r\n".to_vec()
                    } else {
                        b"MSG bob@example.com Bob 1400\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n".to_vec()
                    };
                    bytes.extend(std::iter::repeat_n(b'x', 398));
                    bytes.extend_from_slice(b"\r\n");
                    h.feed(conn, &bytes);
                }
            }
            Op::Close(which) => {
                if let Some(conn) = h.conn(which) {
                    h.live.retain(|c| *c != conn);
                    h.held.remove(&conn);
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
        h.pass();
    }
    h.settle();
    // The end: sign out, every connection closes, and the clock runs out every timer.
    h.held.clear();
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
