//! Drive the built-in WTVP client (`WtvpClient` in the facade's form: a buffer of `WTVP_BUF`
//! bytes lent for each step and taken back after it, as the facade lends the shared
//! large-frame buffer) through sign-ins with server bytes, connection closes, refused
//! connects, clock jumps and requests chosen by the input. Connection requests are answered
//! at once (or refused, when the input asked for it); pending bytes are taken after every
//! operation in pieces of an input-chosen size.
//!
//! Input: byte 0 is the box's first incarnation (so the recorded SECURE responses decrypt),
//! byte 1 the transmit piece size (x16, 0 = all at once), then records `op [len] [bytes]`:
//! `0` server bytes (u16 LE length), `1` server close, `2` refuse the next connect, `3` clock
//! jump (u16 LE seconds) and timer call, `4` `request_answer` (u16 LE length, challenge),
//! `5` `fetch` (u16 LE length, URL), `6` `sign_in`, `7` server bytes (u8 length); the high bit
//! of `op` withholds the buffer from the next operation on (or gives it again), as a buffer
//! held by a switchboard would be.
//!
//! Asserted: no panic; a sign-in terminal event (`SignedIn`/`SignInFailed`) only ends an
//! attempt that `sign_in` started, so at most one per attempt; while an attempt, a fetch or a
//! login answer is under way a timer is pending, and none is once it has ended; an early timer
//! call changes nothing; the pending transmit bytes fit `WTVP_TX` (the largest request), a
//! fetched body the buffer, a `Connect` host its cap; nothing is pending while the client has
//! no buffer; the buffer comes back, wiped, whenever the client no longer needs it.
#![no_main]
use libfuzzer_sys::fuzz_target;
use msntv_messenger::client::{WTVP_BUF, WTVP_TX};
use msntv_messenger::wtvp::client::{BoxIdentity, WtvpClient, WtvpEvent, SERVICE_HOST_CAP};
use msntv_messenger::wtvp::login::LoginTransport;
use msntv_messenger::{Duration, Instant};

const HEADERS: &[(&str, &str)] = &[
    ("wtv-system-version", "7253"),
    ("wtv-capability-flags", "f1d9bdfefef"),
    ("wtv-client-bootrom-version", "2243"),
    ("User-Agent", "Mozilla/4.0 WebTV/2.2.6.1 (compatible; MSIE 4.0)"),
];

/// What the harness expects to end next.
#[derive(Default)]
struct Open {
    /// A sign-in attempt started and has not reported its end.
    attempt: bool,
    /// A fetch started and has not reported `Fetched`.
    fetch: bool,
    /// A login answer was requested and not yet taken.
    answer: bool,
}

/// An event copied out of the client (events borrow it).
enum Ev {
    Connect,
    /// `SignedIn` (true) or `SignInFailed` (false).
    Terminal(bool),
    Fetched,
    Other,
}

struct Harness<'a> {
    c: Box<WtvpClient<'a, &'a mut [u8]>>,
    /// The buffer while the client does not hold it.
    spare: Option<&'a mut [u8]>,
    /// The buffer is not lent (held elsewhere).
    withheld: bool,
    /// The challenge of the last `request_answer` (asked again once the buffer is lent).
    challenge: Vec<u8>,
    now: Instant,
    refuse_connect: bool,
    piece: usize,
    open: Open,
}

impl Harness<'_> {
    /// Lend the buffer if it is not withheld and the client does not hold it; a login answer
    /// that waited for it goes on.
    fn lend(&mut self) {
        if self.withheld || self.c.has_buffer() {
            return;
        }
        if let Some(buf) = self.spare.take() {
            assert!(self.c.lend_buffer(buf).is_ok(), "refused with no buffer held");
        }
        if self.c.answer_awaits_buffer() && self.c.request_answer(self.now, &self.challenge).is_err()
        {
            // Refused when it went on (no login service, a URL too long): no answer follows.
            self.open.answer = false;
        }
    }

    /// Take the buffer back once the client no longer needs it; it comes back wiped.
    fn take_back(&mut self) {
        if self.c.needs_buffer() {
            return;
        }
        if let Some(buf) = self.c.take_back_buffer() {
            assert!(buf.iter().all(|&b| b == 0), "a buffer given back unwiped");
            self.spare = Some(buf);
        }
        assert!(!self.c.has_buffer(), "kept a buffer it does not need");
    }

    /// Take every event, answer connects, write pending bytes; check the invariants.
    fn settle(&mut self) {
        if self.c.needs_buffer() {
            self.lend();
        }
        // Each round either takes an event or writes bytes; the client cannot produce more
        // than a handful of either per operation.
        for _ in 0..64 {
            let ev = match self.c.poll_event() {
                Some(WtvpEvent::Connect { host, .. }) => {
                    assert!(host.len() <= SERVICE_HOST_CAP, "connect host of {} bytes", host.len());
                    Some(Ev::Connect)
                }
                Some(WtvpEvent::SignedIn) => Some(Ev::Terminal(true)),
                Some(WtvpEvent::SignInFailed(_)) => Some(Ev::Terminal(false)),
                Some(WtvpEvent::Fetched(_)) => Some(Ev::Fetched),
                Some(WtvpEvent::Disconnect) => Some(Ev::Other),
                None => None,
            };
            match ev {
                Some(Ev::Connect) => {
                    if core::mem::take(&mut self.refuse_connect) {
                        self.c.handle_connect_failed(self.now);
                    } else {
                        let _ = self.c.handle_connected(self.now);
                    }
                }
                Some(Ev::Terminal(ok)) => {
                    assert!(self.open.attempt, "a sign-in end without an attempt (or a second one)");
                    self.open.attempt = false;
                    assert_eq!(self.c.is_signed_in(), ok);
                    assert!(!ok || self.c.config().is_some(), "signed in without a configuration");
                }
                Some(Ev::Fetched) => {
                    assert!(self.open.fetch, "Fetched without a fetch (or a second one)");
                    self.open.fetch = false;
                    assert!(self.c.fetched_body().len() <= WTVP_BUF);
                }
                Some(Ev::Other) => {}
                None => {
                    let held = self.c.has_buffer();
                    let pending = self.c.transmit_bytes().len();
                    assert!(pending <= WTVP_TX, "{pending} bytes pending");
                    assert!(held || pending == 0, "bytes pending without a buffer");
                    if pending == 0 {
                        // Writing may have failed the step: its event comes next.
                        if self.c.peek_event().is_none() {
                            break;
                        }
                        continue;
                    }
                    self.c.advance_transmit(self.piece.min(pending));
                }
            }
        }
        if self.c.poll_answer().is_some() {
            assert!(self.open.answer, "a login answer without a request (or a second one)");
            self.open.answer = false;
        }
        self.take_back();
        let busy = self.open.attempt || self.open.fetch || self.open.answer;
        assert_eq!(
            self.c.poll_timeout().is_some(),
            busy,
            "timer pending: {:?}, attempt {}, fetch {}, answer {}",
            self.c.poll_timeout(),
            self.open.attempt,
            self.open.fetch,
            self.open.answer
        );
    }
}

fn take<'a>(data: &mut &'a [u8], n: usize) -> &'a [u8] {
    let (a, b) = data.split_at(n.min(data.len()));
    *data = b;
    a
}

fn u16_le(data: &mut &[u8]) -> usize {
    match take(data, 2) {
        [a, b] => usize::from(u16::from_le_bytes([*a, *b])),
        [a] => usize::from(*a),
        _ => 0,
    }
}

fuzz_target!(|data: &[u8]| {
    let mut data = data;
    let head = take(&mut data, 2);
    let (inc, piece) = match head {
        [i, p] => (u32::from(*i), usize::from(*p) * 16),
        _ => return,
    };
    let id = BoxIdentity {
        ssid: "81C0FFEE10B00254",
        accept_language: "en-US,en",
        headers: HEADERS,
        preregister_headers: &[("wtv-script-id", "0")],
        first_incarnation: inc,
    };
    let mut storage = vec![0u8; WTVP_BUF];
    let mut h = Harness {
        c: Box::new(WtvpClient::borrowing(id)),
        spare: Some(&mut storage),
        withheld: false,
        challenge: Vec::new(),
        now: Instant::from_millis(1000),
        refuse_connect: false,
        piece: if piece == 0 { usize::MAX } else { piece },
        open: Open::default(),
    };
    if h.c.sign_in(h.now, "127.0.0.1", 1615).is_ok() {
        h.open.attempt = true;
    }
    h.settle();
    let mut ops = 0;
    while let Some((&op, rest)) = data.split_first() {
        data = rest;
        ops += 1;
        if ops > 400 {
            break;
        }
        if op & 0x80 != 0 {
            h.withheld = !h.withheld;
        }
        match op % 8 {
            0 | 7 => {
                let n = if op % 8 == 0 {
                    u16_le(&mut data)
                } else {
                    usize::from(take(&mut data, 1).first().copied().unwrap_or(0))
                };
                let bytes = take(&mut data, n);
                if let Ok(k) = h.c.handle_input(h.now, bytes) {
                    assert_eq!(k, bytes.len());
                }
            }
            1 => h.c.handle_closed(h.now),
            2 => h.refuse_connect = true,
            3 => {
                // An early timer call changes nothing.
                let before = h.c.poll_timeout();
                h.c.handle_timeout(h.now);
                if before.is_some_and(|d| d > h.now) {
                    assert_eq!(h.c.poll_timeout(), before, "early timer call");
                }
                let secs = u16_le(&mut data) as u64;
                h.now = h.now + Duration::from_secs(secs);
                h.c.handle_timeout(h.now);
            }
            4 => {
                let n = u16_le(&mut data);
                let challenge = take(&mut data, n);
                if h.c.answer_awaits_buffer() {
                    // Asked again while it waits for the buffer: nothing changes.
                    let timer = h.c.poll_timeout();
                    assert_eq!(h.c.request_answer(h.now, challenge), Ok(()));
                    assert_eq!(h.c.poll_timeout(), timer);
                } else if h.c.request_answer(h.now, challenge).is_ok() {
                    assert!(!(h.open.attempt || h.open.fetch || h.open.answer));
                    h.open.answer = true;
                    h.challenge = challenge.to_vec();
                }
            }
            5 => {
                let n = u16_le(&mut data);
                let url = take(&mut data, n);
                // A fetch needs the buffer when it starts.
                h.lend();
                if h.c.fetch(h.now, url).is_ok() {
                    assert!(!(h.open.attempt || h.open.fetch || h.open.answer));
                    h.open.fetch = true;
                }
            }
            _ => {
                if h.c.sign_in(h.now, "127.0.0.1", 1615).is_ok() {
                    assert!(!(h.open.attempt || h.open.fetch || h.open.answer));
                    h.open.attempt = true;
                }
            }
        }
        h.settle();
    }
});
