//! A message-part record is 32 bytes (its timer deadline kept as two 32-bit halves, its part
//! index and ack mode in one 16-bit word), and keeps the same deadlines, ack modes and part
//! order as before.

use msntv_messenger::msnp::sb::session::RX_CAP;
use msntv_messenger::msnp::sb::{
    ConversationSlot, Conversations, FailReason, MessageSlot, Outcome, SbConfig, SbEvent,
};
use msntv_messenger::msnp::wire::AckMode;
use msntv_messenger::{Duration, Instant};

#[test]
fn a_message_slot_is_32_bytes() {
    assert_eq!(core::mem::size_of::<MessageSlot>(), 32);
    assert!(core::mem::align_of::<MessageSlot>() <= 4);
}

/// One answered conversation with bob in it, at `now`.
fn ready(
    now: Instant,
) -> (
    Conversations<'static>,
    msntv_messenger::msnp::sb::ConversationId,
) {
    let slots: &'static mut [ConversationSlot] = Box::leak(vec![ConversationSlot::new()].into());
    let msgs: &'static mut [MessageSlot] = Box::leak((0..8).map(|_| MessageSlot::new()).collect());
    let mut c = Conversations::new(
        SbConfig::default(),
        b"tv@example.com",
        slots,
        msgs,
        Box::leak(vec![0u8; 8192].into_boxed_slice()),
        Box::leak(vec![0u8; RX_CAP].into_boxed_slice()),
    )
    .expect("storage");
    let conv = c
        .accept_invitation(now, b"s1", b"127.0.0.1:1864", b"k")
        .expect("accept");
    c.handle_connected(now, conv).expect("connected");
    let mut rest: &[u8] = b"IRO 1 1 1 bob@example.com Bob\r\nANS 1 OK\r\n";
    while !rest.is_empty() {
        let k = c.handle_input(now, conv, rest).expect("roster");
        rest = &rest[k..];
        while c.poll_event().is_some() {}
    }
    written(&mut c);
    (c, conv)
}

fn written(c: &mut Conversations<'_>) -> Vec<u8> {
    let mut out = [0u8; 4096];
    let mut all = Vec::new();
    while let Some(t) = c.poll_transmit(&mut out) {
        all.extend_from_slice(&out[..t.len]);
    }
    all
}

#[test]
fn ack_deadlines_beyond_32_bits_of_milliseconds_fire_on_time() {
    // Past 2^32 ms (49.7 days) of uptime: the high half of the deadline matters.
    let start = Instant::from_millis((1u64 << 32) - 10_000);
    let (mut c, conv) = ready(start);
    let timeout = c.config().ack_timeout;
    let id = c
        .send_message_with(start, conv, b"hello", AckMode::Acknowledged, None)
        .expect("send");
    let wire = written(&mut c);
    assert!(
        wire.starts_with(b"MSG 2 A "),
        "{:?}",
        String::from_utf8_lossy(&wire)
    );
    let due = start + timeout;
    assert!(due.as_millis() > u64::from(u32::MAX));
    assert_eq!(c.poll_timeout(), Some(due));
    c.handle_timeout(Instant::from_millis(due.as_millis() - 1));
    assert!(c.poll_event().is_none(), "not before its deadline");
    c.handle_timeout(due);
    match c.poll_event() {
        Some(SbEvent::Outcome {
            message, outcome, ..
        }) => {
            assert_eq!(message, id);
            assert_eq!(outcome, Outcome::Failed(FailReason::Timeout));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn parts_keep_their_order_and_ack_mode() {
    let now = Instant::ZERO;
    let (mut c, conv) = ready(now);
    // Three parts in mode N: each `MSG` says `N`, in order, and the NAK window ends them.
    let text = "x".repeat(1500) + &"y".repeat(1500) + &"z".repeat(1000);
    c.send_message_with(now, conv, text.as_bytes(), AckMode::NakOnly, None)
        .expect("send");
    // Each part goes out in turn; the clock moves past each NAK window.
    let mut wire = Vec::new();
    let mut outcomes = Vec::new();
    let mut t = now;
    for _ in 0..10 {
        wire.extend(written(&mut c));
        t = t + c.config().nak_window + Duration::from_millis(1);
        c.handle_timeout(t);
        while let Some(ev) = c.poll_event() {
            if let SbEvent::Outcome { outcome, .. } = ev {
                outcomes.push(outcome);
            }
        }
    }
    let wire = String::from_utf8(wire).expect("utf-8");
    // A part's body ends without a line end: split at each `MSG ` head.
    let heads: Vec<&str> = wire.split("MSG ").skip(1).collect();
    assert_eq!(heads.len(), 3, "{heads:?}");
    assert!(heads.iter().all(|h| h.split(' ').nth(1) == Some("N")));
    let (x, y, z) = (
        wire.find("xxxx").unwrap(),
        wire.find("yyyy").unwrap(),
        wire.find("zzzz").unwrap(),
    );
    assert!(x < y && y < z);
    assert_eq!(outcomes, vec![Outcome::Sent]);
}
