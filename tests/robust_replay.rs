//! Fault injection over every recorded Escargot scenario in `$MSNTV_ESCARGOT_DIR` (default
//! `../shared/transcripts/escargot`): each notification-server connection is replayed through an
//! `NsSession` and each switchboard connection through `Conversations`, as the shared replays do
//! (recorded server bytes at the recorded times, the recorded client's commands turned back
//! into user actions), with the server's stream closed, stalled or duplicated at a byte offset.
//!
//! Switchboard streams are swept at every byte offset. Notification-server streams (about
//! 100 KB in all) are swept with a stride of `ROBUST_NS_STRIDE` bytes (default 3, so
//! every position within a line is hit across lines; `ci/test` sets 1 for every offset, about
//! 25 s on two cores). Invariants after each run: no panic, bounded events, one terminal event
//! (`ConnectionLost` and/or `LoginFailed`, each at most once; `Closed` for a conversation) and a closed phase once the
//! clock has run past every timeout, no timer left, and exactly one outcome per message.
mod robust_common;

use msntv_messenger::msnp::ns::{
    version_range, Contact, Group, NsConfig, NsEvent, NsSession, Phase,
};
use msntv_messenger::msnp::sb::message::{classify, Incoming};
use msntv_messenger::msnp::sb::{
    ConversationSlot, Conversations, MessageId, MessageSlot, SbConfig, SbEvent,
};
use msntv_messenger::msnp::wire::{AckMode, Status};
use msntv_messenger::wtvp::login::LoginAnswer;
use msntv_messenger::{Duration, Instant};
use msntv_testdata::escargot::{self, Dir, Transcript};
use robust_common::{take_command, Fault};
use std::collections::HashMap;
use std::sync::OnceLock;

const MAX_EVENTS: usize = 64;

fn loaded() -> &'static [Transcript] {
    static T: OnceLock<Vec<Transcript>> = OnceLock::new();
    T.get_or_init(escargot::load)
}

fn conns(sb: bool) -> Vec<(&'static Transcript, &'static str)> {
    loaded()
        .iter()
        .flat_map(|t| {
            t.connections.iter().filter_map(move |(n, d)| {
                let is_sb = t.is_switchboard(n);
                let is_ns = d.starts_with("Notification Server");
                ((sb && is_sb) || (!sb && is_ns)).then_some((t, n.as_str()))
            })
        })
        .collect()
}

fn env_stride(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
        .max(1)
}

/// Client commands of one recorded chunk, as text fields plus payload.
fn commands(bytes: &[u8], carry: &mut Vec<u8>) -> Vec<(Vec<String>, Vec<u8>)> {
    carry.extend_from_slice(bytes);
    let mut out = Vec::new();
    while let Some((f, p, used)) = take_command(carry) {
        carry.drain(..used);
        out.push((f, p));
    }
    out
}

/// Where the fault cuts one server chunk, given the stream offset of its first byte.
fn cut(fault: Fault, start: usize, len: usize) -> Option<usize> {
    match fault {
        Fault::Close(k) | Fault::Stall(k) | Fault::Dup(k) if (start..start + len).contains(&k) => {
            Some(k - start)
        }
        _ => None,
    }
}

#[derive(Default, Debug)]
struct NsSeen {
    login_failed: u32,
    lost: u32,
    events: u64,
}

fn ns_drain(s: &mut NsSession<'_>, seen: &mut NsSeen, now: Instant, ticket: bool) {
    loop {
        let mut out = [0u8; 4096];
        while s.poll_transmit(&mut out) > 0 {}
        let mut n = 0;
        let mut need_answer = false;
        while let Some(ev) = s.poll_event() {
            n += 1;
            seen.events += 1;
            assert!(n <= MAX_EVENTS, "unbounded NS events");
            match ev {
                NsEvent::ConnectionLost { .. } => seen.lost += 1,
                NsEvent::LoginFailed { .. } => seen.login_failed += 1,
                NsEvent::LoginAnswerNeeded { .. } => need_answer = true,
                _ => {}
            }
        }
        if !need_answer {
            break;
        }
        let _ = if ticket {
            s.provide_login_answer(now, LoginAnswer::Ticket(b"t=0123456789abcdef0123&p="))
        } else {
            s.provide_login_answer(now, LoginAnswer::Md5([b'0'; 32]))
        };
    }
}

fn ns_feed(s: &mut NsSession<'_>, seen: &mut NsSeen, now: Instant, bytes: &[u8], ticket: bool) {
    let mut rest = bytes;
    let mut stuck = 0;
    while !rest.is_empty() {
        match s.handle_input(now, rest) {
            Ok(n) => {
                rest = &rest[n..];
                stuck = if n == 0 { stuck + 1 } else { 0 };
                assert!(stuck < 1000, "NS input never consumed");
            }
            Err(_) => break,
        }
        ns_drain(s, seen, now, ticket);
    }
    // Frames still buffered behind an event are processed on the next call.
    for _ in 0..1000 {
        if s.peek_event().is_none() && s.handle_input(now, &[]).is_err() {
            break;
        }
        if s.peek_event().is_none() {
            break;
        }
        ns_drain(s, seen, now, ticket);
    }
    ns_drain(s, seen, now, ticket);
}

/// Replay one NS connection with `fault`; returns the server stream's length.
fn ns_run(t: &Transcript, conn: &str, fault: Fault) -> usize {
    let what = format!("{}/{conn} {fault:?}", t.name);
    let c2s = t.stream(conn, Dir::C2s);
    let mut carry = Vec::new();
    let first = commands(&c2s, &mut carry);
    let passport = first
        .iter()
        .find(|(f, _)| f[0] == "USR" && f.get(3).map(String::as_str) == Some("I"))
        .and_then(|(f, _)| f.get(4).cloned())
        .unwrap_or_else(|| "alice@example.com".into());
    let mut versions = 0u16;
    if let Some((f, _)) = first.iter().find(|(f, _)| f[0] == "VER") {
        for v in &f[2..] {
            if let Some(n) = v.strip_prefix("MSNP").and_then(|n| n.parse::<u8>().ok()) {
                if (2..=8).contains(&n) {
                    versions |= 1 << n;
                }
            }
        }
    }
    if versions == 0 {
        versions = version_range(2, 8);
    }
    let ticket = versions & (1 << 8) != 0;
    let mut cfg = NsConfig::new("127.0.0.1", 1863, &passport);
    cfg.versions = versions;
    let mut contacts = [Contact::EMPTY; 16];
    let mut groups = [Group::EMPTY; 8];
    let mut names = [0u8; 8192];
    let mut s: NsSession<'_> = NsSession::new(cfg, &mut contacts, &mut groups, &mut names);
    let mut seen = NsSeen::default();
    let t0 = t
        .chunks
        .iter()
        .find(|c| c.conn == conn)
        .map_or(0, |c| (c.t * 1000.0) as u64);
    let mut now = Instant::from_millis(t0);
    s.start(now).expect("start");
    ns_drain(&mut s, &mut seen, now, ticket);
    s.handle_connected(now);
    ns_drain(&mut s, &mut seen, now, ticket);
    let mut off = 0usize;
    let (mut closed, mut stalled) = (false, false);
    let mut carry = Vec::new();
    for ch in t.chunks.iter().filter(|c| c.conn == conn) {
        let at = Instant::from_millis((ch.t * 1000.0) as u64);
        if at > now {
            now = at;
            s.handle_timeout(now);
            ns_drain(&mut s, &mut seen, now, ticket);
        }
        match ch.dir {
            Dir::C2s => {
                for (f, _) in commands(&ch.bytes, &mut carry) {
                    let _ = match f[0].as_str() {
                        "CHG" => f
                            .get(2)
                            .and_then(|v| Status::from_token(v.as_bytes()))
                            .map_or(Ok(()), |st| s.set_status(now, st).map(|_| ())),
                        "PNG" => s.ping(now),
                        "OUT" => s.sign_out(now),
                        _ => Ok(()),
                    };
                    ns_drain(&mut s, &mut seen, now, ticket);
                }
            }
            Dir::S2c if closed || stalled => off += ch.bytes.len(),
            Dir::S2c => {
                let b = &ch.bytes[..];
                match cut(fault, off, b.len()) {
                    None => ns_feed(&mut s, &mut seen, now, b, ticket),
                    Some(k) => match fault {
                        Fault::Close(_) => {
                            ns_feed(&mut s, &mut seen, now, &b[..k], ticket);
                            s.handle_closed(now);
                            closed = true;
                        }
                        Fault::Stall(_) => {
                            ns_feed(&mut s, &mut seen, now, &b[..k], ticket);
                            stalled = true;
                        }
                        _ => {
                            ns_feed(&mut s, &mut seen, now, b, ticket);
                            ns_feed(&mut s, &mut seen, now, &b[k..], ticket);
                        }
                    },
                }
                off += b.len();
                ns_drain(&mut s, &mut seen, now, ticket);
            }
        }
    }
    if !stalled {
        // Every recording ends with the connection closed.
        s.handle_closed(now);
        ns_drain(&mut s, &mut seen, now, ticket);
    }
    // Let the clock run past every timeout (a stalled server never answers again).
    let end = now + Duration::from_secs(7200);
    let mut steps = 0;
    while let Some(t) = s.poll_timeout() {
        if t > end {
            break;
        }
        now = now.max(t);
        s.handle_timeout(now);
        ns_drain(&mut s, &mut seen, now, ticket);
        steps += 1;
        assert!(steps < 10_000, "{what}: timer livelock");
    }
    assert_eq!(s.phase(), Phase::Closed, "{what}: phase");
    // The connection ends with exactly one terminal event: `LoginFailed` if the sign-in never
    // finished, else `ConnectionLost`.
    assert!(
        seen.lost + seen.login_failed == 1,
        "{what}: terminal events {seen:?}"
    );
    assert_eq!(s.poll_timeout(), None, "{what}: timers left");
    assert!(s.lists().len() <= 16);
    off
}

fn ns_sweep(kind: fn(usize) -> Fault) {
    let stride = env_stride("ROBUST_NS_STRIDE", 3);
    let mut runs = 0;
    let all = conns(false);
    assert!(!all.is_empty(), "no NS recordings found");
    for (t, conn) in all {
        let total = ns_run(t, conn, Fault::None);
        for k in (0..total).step_by(stride) {
            ns_run(t, conn, kind(k));
            runs += 1;
        }
    }
    eprintln!("{runs} NS runs");
    assert!(runs > 1000);
}

#[test]
fn ns_replays_closed_at_byte_offsets() {
    ns_sweep(Fault::Close);
}

#[test]
fn ns_replays_stalled_at_byte_offsets() {
    ns_sweep(Fault::Stall);
}

#[test]
fn ns_replays_duplicated_at_byte_offsets() {
    ns_sweep(Fault::Dup);
}

#[derive(Default, Debug)]
struct SbSeen {
    closed: u32,
    outcomes: HashMap<MessageId, u32>,
    connect: bool,
}

fn sb_drain(c: &mut Conversations<'_>, seen: &mut SbSeen) {
    let mut out = [0u8; 2048];
    while c.poll_transmit(&mut out).is_some() {}
    let mut n = 0;
    while let Some(ev) = c.poll_event() {
        n += 1;
        assert!(n <= MAX_EVENTS, "unbounded SB events");
        match ev {
            SbEvent::Closed { .. } => seen.closed += 1,
            SbEvent::Connect { .. } => seen.connect = true,
            SbEvent::Outcome { message, .. } => {
                let e = seen.outcomes.entry(message).or_insert(0);
                *e += 1;
                assert_eq!(*e, 1, "second outcome for {message:?}");
            }
            _ => {}
        }
    }
}

/// Replay one switchboard connection with `fault`; returns the server stream's length.
fn sb_run(t: &Transcript, conn: &str, fault: Fault) -> usize {
    let what = format!("{}/{conn} {fault:?}", t.name);
    let c2s = t.stream(conn, Dir::C2s);
    let mut carry = Vec::new();
    let all = commands(&c2s, &mut carry);
    let (f0, _) = all.first().expect("a first command");
    let caller = f0[0] == "USR";
    let me = f0[2].clone();
    let cookie = f0[3].clone();
    let session = if caller { String::new() } else { f0[4].clone() };
    let first_cal = all
        .get(1)
        .filter(|(f, _)| caller && f[0] == "CAL")
        .map(|(f, _)| f[2].clone());
    let mut slots = [ConversationSlot::EMPTY];
    let mut msgs: Vec<MessageSlot> = (0..6).map(|_| MessageSlot::EMPTY).collect();
    let mut pool = [0u8; 8192];
    let mut large = vec![0u8; msntv_messenger::msnp::sb::session::RX_CAP];
    let mut c = Conversations::new(
        SbConfig::default(),
        me.as_bytes(),
        &mut slots,
        &mut msgs,
        &mut pool,
        &mut large,
    )
    .unwrap();
    let mut seen = SbSeen::default();
    let t0 = t
        .chunks
        .iter()
        .find(|ch| ch.conn == conn)
        .map_or(0, |ch| (ch.t * 1000.0) as u64);
    let mut now = Instant::from_millis(t0);
    let conv = if caller {
        let conv = c
            .open(now, first_cal.as_deref().map(str::as_bytes))
            .unwrap();
        while c.take_switchboard_request().is_some() {}
        c.switchboard_ready(now, conv, b"127.0.0.1:1864", cookie.as_bytes())
            .unwrap();
        conv
    } else {
        c.accept_invitation(
            now,
            session.as_bytes(),
            b"127.0.0.1:1864",
            cookie.as_bytes(),
        )
        .unwrap()
    };
    sb_drain(&mut c, &mut seen);
    assert!(seen.connect, "{what}: no Connect");
    c.handle_connected(now, conv).unwrap();
    sb_drain(&mut c, &mut seen);
    let mut sent = Vec::new();
    let mut skip = if first_cal.is_some() { 2 } else { 1 };
    let (mut closed, mut stalled) = (false, false);
    let mut off = 0usize;
    let mut carry = Vec::new();
    for ch in t.chunks.iter().filter(|ch| ch.conn == conn) {
        let at = Instant::from_millis((ch.t * 1000.0) as u64);
        if at > now {
            now = at;
            c.handle_timeout(now);
            sb_drain(&mut c, &mut seen);
        }
        match ch.dir {
            Dir::C2s => {
                for (f, payload) in commands(&ch.bytes, &mut carry) {
                    if skip > 0 {
                        skip -= 1;
                        continue;
                    }
                    match f[0].as_str() {
                        "CAL" => {
                            let _ = c.invite(now, conv, f[2].as_bytes());
                        }
                        "OUT" => {
                            let _ = c.leave(now, conv);
                        }
                        "MSG" => {
                            let ack = AckMode::from_token(f[2].as_bytes()).unwrap();
                            match classify(&payload) {
                                Incoming::Typing { .. } => {
                                    let _ = c.send_typing_with(now, conv, ack);
                                }
                                Incoming::Text { body, .. } => {
                                    if let Ok(id) = c.send_message_with(now, conv, body, ack, None)
                                    {
                                        sent.push(id);
                                    }
                                }
                                _ => {}
                            }
                        }
                        _ => {}
                    }
                    sb_drain(&mut c, &mut seen);
                }
            }
            Dir::S2c if closed || stalled => off += ch.bytes.len(),
            Dir::S2c => {
                let b = &ch.bytes[..];
                let mut feed = |c: &mut Conversations<'_>, bytes: &[u8]| {
                    let mut rest = bytes;
                    let mut stuck = 0;
                    while !rest.is_empty() {
                        match c.handle_input(now, conv, rest) {
                            Ok(n) => {
                                rest = &rest[n..];
                                stuck = if n == 0 { stuck + 1 } else { 0 };
                                assert!(stuck < 1000, "SB input never consumed");
                            }
                            Err(_) => break,
                        }
                        sb_drain(c, &mut seen);
                    }
                    sb_drain(c, &mut seen);
                };
                match cut(fault, off, b.len()) {
                    None => feed(&mut c, b),
                    Some(k) => match fault {
                        Fault::Close(_) => {
                            feed(&mut c, &b[..k]);
                            let _ = c.handle_closed(now, conv);
                            closed = true;
                        }
                        Fault::Stall(_) => {
                            feed(&mut c, &b[..k]);
                            stalled = true;
                        }
                        _ => {
                            feed(&mut c, b);
                            feed(&mut c, &b[k..]);
                        }
                    },
                }
                off += b.len();
                sb_drain(&mut c, &mut seen);
            }
        }
    }
    // Let the clock run past every timeout, with the connection still open when stalled.
    let end = now + Duration::from_secs(3600);
    let mut steps = 0;
    while let Some(t) = c.poll_timeout() {
        if t > end {
            break;
        }
        now = now.max(t);
        c.handle_timeout(now);
        sb_drain(&mut c, &mut seen);
        steps += 1;
        assert!(steps < 10_000, "{what}: timer livelock");
    }
    for id in &sent {
        assert_eq!(
            seen.outcomes.get(id).copied(),
            Some(1),
            "{what}: message {id:?} without an outcome after every timeout"
        );
    }
    // The TCP connection ends at last.
    let _ = c.handle_closed(now, conv);
    sb_drain(&mut c, &mut seen);
    assert_eq!(seen.closed, 1, "{what}: Closed events");
    assert_eq!(c.active(), 0, "{what}: conversations left");
    assert_eq!(c.poll_timeout(), None, "{what}: timers left");
    off
}

fn sb_sweep(kind: fn(usize) -> Fault) {
    let stride = env_stride("ROBUST_SB_STRIDE", 1);
    let mut runs = 0;
    let all = conns(true);
    assert!(!all.is_empty(), "no switchboard recordings found");
    for (t, conn) in all {
        let total = sb_run(t, conn, Fault::None);
        for k in (0..total).step_by(stride) {
            sb_run(t, conn, kind(k));
            runs += 1;
        }
    }
    eprintln!("{runs} SB runs");
    assert!(runs > 1000);
}

#[test]
fn sb_replays_closed_at_every_byte_offset() {
    sb_sweep(Fault::Close);
}

#[test]
fn sb_replays_stalled_at_every_byte_offset() {
    sb_sweep(Fault::Stall);
}

#[test]
fn sb_replays_duplicated_at_every_byte_offset() {
    sb_sweep(Fault::Dup);
}
