//! Switchboard conversations over every Escargot recording in `$MSNTV_ESCARGOT_DIR` (default
//! `../shared/transcripts/escargot`): the shared `selftest::sb` replay (whole chunks and byte by
//! byte), the simulated-clock scenarios, and host-only property tests (random splits, random
//! user actions with a connection drop at a random point).
mod common;

use common::{borrowed, Collect};
use msntv_messenger::msnp::sb::{
    ConversationSlot, Conversations, MessageId, MessageSlot, Outcome, SbConfig, SbEvent,
};
use msntv_messenger::msnp::wire::AckMode;
use msntv_messenger::selftest::sb::{self, Harness, Split};
use msntv_messenger::selftest::transcript::{Chunk, Dir, Transcript};
use msntv_messenger::Instant;
use proptest::prelude::*;

/// Every switchboard connection of every recording (found by its description).
fn switchboards() -> Vec<(&'static Transcript<'static>, &'static str)> {
    borrowed()
        .iter()
        .flat_map(|t| {
            t.connections
                .iter()
                .filter(|(n, _)| t.is_switchboard(n))
                .map(move |(n, _)| (t, *n))
        })
        .collect()
}

#[test]
fn every_escargot_switchboard_replays_byte_exact() {
    let ts = borrowed();
    assert!(
        !switchboards().is_empty(),
        "no switchboard recordings found"
    );
    let mut r = Collect::default();
    sb::run(ts, &mut r);
    assert!(
        r.failed.is_empty(),
        "{} failures:\n{}",
        r.failed.len(),
        r.failed.join("\n")
    );
    assert_eq!(r.passed as usize, switchboards().len() * 2);
}

#[test]
fn replays_see_messages_acks_typing_and_joins() {
    let mut total = sb::Counts::default();
    for (t, conn) in switchboards() {
        let k = sb::replay(t, conn, Split::Whole)
            .unwrap_or_else(|f| panic!("{}/{conn}: {}", t.name, f.what));
        total.messages += k.messages;
        total.delivered += k.delivered;
        total.typing += k.typing;
        total.joined += k.joined;
        total.left += k.left;
        total.invite_failed += k.invite_failed;
    }
    assert!(total.messages > 0 && total.delivered > 0 && total.typing > 0);
    assert!(total.joined > 0 && total.left > 0 && total.invite_failed > 0);
}

#[test]
fn simulated_clock_scenarios_pass() {
    let mut r = Collect::default();
    sb::run_scenarios(&mut r);
    assert!(
        r.failed.is_empty(),
        "{} failures:\n{}",
        r.failed.len(),
        r.failed.join("\n")
    );
    assert!(r.passed >= 20);
}

/// Replay a transcript with its server chunks re-cut at random points.
fn resplit(t: &Transcript<'static>, conn: &str, cuts: &[usize]) -> Transcript<'static> {
    let mut chunks = Vec::new();
    for c in t.chunks {
        if c.conn == conn && c.dir == Dir::S2c && c.bytes.len() > 1 {
            let mut rest = c.bytes;
            for &k in cuts {
                if rest.len() <= 1 {
                    break;
                }
                let k = 1 + k % (rest.len() - 1);
                let (a, b) = rest.split_at(k);
                chunks.push(Chunk { bytes: a, ..*c });
                rest = b;
            }
            chunks.push(Chunk { bytes: rest, ..*c });
        } else {
            chunks.push(*c);
        }
    }
    Transcript {
        chunks: Box::leak(chunks.into_boxed_slice()),
        ..*t
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn random_splits_give_the_same_result(which in 0usize..64, cuts in proptest::collection::vec(0usize..4096, 1..6)) {
        let sbs = switchboards();
        let (t, conn) = sbs[which % sbs.len()];
        let base = sb::replay(t, conn, Split::Whole).map_err(|f| TestCaseError::fail(f.what))?;
        let cut = resplit(t, conn, &cuts);
        let got = sb::replay(&cut, conn, Split::Whole).map_err(|f| TestCaseError::fail(f.what))?;
        prop_assert_eq!(base, got);
    }

    /// Random user actions and server lines, then a drop: every message has exactly one outcome.
    #[test]
    fn every_message_gets_exactly_one_outcome(ops in proptest::collection::vec(0u8..10, 0..40)) {
        let mut slots = [ConversationSlot::EMPTY, ConversationSlot::EMPTY];
        let mut msgs: Vec<MessageSlot> = (0..12).map(|_| MessageSlot::EMPTY).collect();
        let mut pool = [0u8; 8192];
        let mut large = vec![0u8; msntv_messenger::msnp::sb::session::RX_CAP];
        let mut h = Harness::new(SbConfig::default(), &mut slots, &mut msgs, &mut pool, &mut large).map_err(|f| TestCaseError::fail(f.what))?;
        let conv = h.c.open(h.now, Some(b"bob@example.com")).unwrap();
        h.pump();
        let mut ids: Vec<MessageId> = Vec::new();
        let mut phase = 0u8;
        let mut trid_seen = 2u32;
        for op in ops {
            match op {
                0..=2 => {
                    let mode = [AckMode::Acknowledged, AckMode::NakOnly, AckMode::Unacknowledged][op as usize];
                    if let Ok(id) = h.c.send_message_with(h.now, conv, "x".repeat(1 + op as usize * 900).as_bytes(), mode, None) {
                        ids.push(id);
                    }
                }
                3 => { let _ = h.c.send_typing(h.now, conv); }
                4 => {
                    // Advance setup one step.
                    let _ = match phase {
                        0 => h.c.switchboard_ready(h.now, conv, b"127.0.0.1:1864", b"k").map(|_| ()),
                        1 => h.c.handle_connected(h.now, conv),
                        2 => h.c.handle_input(h.now, conv, b"USR 1 OK tv@example.com TV\r\n").map(|_| ()),
                        3 => h.c.handle_input(h.now, conv, b"JOI bob@example.com Bob\r\n").map(|_| ()),
                        _ => Ok(()),
                    };
                    phase = phase.saturating_add(1);
                }
                5 => { trid_seen += 1; let _ = h.c.handle_input(h.now, conv, format!("ACK {trid_seen}\r\n").as_bytes()); }
                6 => { let _ = h.c.handle_input(h.now, conv, format!("NAK {trid_seen}\r\n").as_bytes()); }
                7 => { let t = h.now.as_millis() + 7_000; h.advance_to(t); }
                8 => { let _ = h.c.handle_input(h.now, conv, b"BYE bob@example.com\r\n"); }
                _ => { let _ = h.c.leave(h.now, conv); }
            }
            h.pump();
        }
        let _ = h.c.handle_closed(h.now, conv);
        h.pump();
        let t = h.now.as_millis() + 300_000;
        h.advance_to(t);
        prop_assert_eq!(h.closed_count, 1);
        for id in ids {
            prop_assert_eq!(h.outcome(id).0, 1, "message {:?}", id);
        }
        prop_assert!(h.c.poll_timeout().is_none());
        prop_assert_eq!(h.c.active(), 0);
    }

    /// Arbitrary server bytes never panic and never break the one-outcome rule.
    #[test]
    fn arbitrary_server_bytes_are_survived(data in proptest::collection::vec(any::<u8>(), 0..600)) {
        let mut slots = [ConversationSlot::EMPTY];
        let mut msgs: Vec<MessageSlot> = (0..4).map(|_| MessageSlot::EMPTY).collect();
        let mut pool = [0u8; 4096];
        let mut large = vec![0u8; msntv_messenger::msnp::sb::session::RX_CAP];
        let mut c = Conversations::new(SbConfig::default(), b"tv@example.com", &mut slots, &mut msgs, &mut pool, &mut large).unwrap();
        let now = Instant::ZERO;
        let conv = c.accept_invitation(now, b"s", b"127.0.0.1:1864", b"k").unwrap();
        let id = c.send_message(now, conv, "hello").unwrap();
        c.handle_connected(now, conv).unwrap();
        let _ = c.handle_input(now, conv, b"ANS 1 OK\r\n");
        let mut rest = &data[..];
        while !rest.is_empty() {
            match c.handle_input(now, conv, rest) {
                Ok(n) => rest = &rest[n..],
                Err(_) => break,
            }
            let mut out = [0u8; 256];
            while c.poll_transmit(&mut out).is_some() {}
            while c.poll_event().is_some() {}
        }
        let _ = c.handle_closed(now, conv);
        let mut outcomes = 0;
        let mut out = [0u8; 256];
        while c.poll_transmit(&mut out).is_some() {}
        while let Some(ev) = c.poll_event() {
            if let SbEvent::Outcome { message, .. } = ev { prop_assert_eq!(message, id); outcomes += 1; }
        }
        let _ = Outcome::Sent;
        prop_assert!(outcomes <= 1);
    }
}
