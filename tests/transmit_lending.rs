//! The in-place transmit path (`transmit_bytes` + `advance_transmit`, what the C ABI hands its
//! send hook) against the copying one (`poll_transmit`): for random commands, messages with
//! the longest format value, and a send hook that takes random amounts (often less than
//! offered, sometimes nothing), both write the same bytes and report the same outcomes once
//! everything is out. (While a hook holds bytes back, a part's text stays in the message pool
//! until it is taken, so the pool can be full sooner than with the copying path.)
use msntv_messenger::msnp::sb::{
    ConversationId, ConversationSlot, Conversations, Effects, MessageSlot, SbConfig, SbEvent,
    TextFormat, TRANSMIT_SCRATCH,
};
use msntv_messenger::msnp::wire::AckMode;
use msntv_messenger::Instant;
use proptest::prelude::*;

/// One user action, applied to both conversation sets.
#[derive(Debug, Clone)]
enum Op {
    Send(usize, u8, bool),
    Typing,
    Invite(u8),
    Ack(u32),
    Leave,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0usize..1700, 0u8..3, any::<bool>()).prop_map(|(n, m, f)| Op::Send(n, m, f)),
        Just(Op::Typing),
        (0u8..6).prop_map(Op::Invite),
        (1u32..40).prop_map(Op::Ack),
        Just(Op::Leave),
    ]
}

/// A format whose value is as long as the core allows (a 32-byte font name, all %-encoded).
fn long_format() -> TextFormat {
    let mut f = TextFormat::new(&"%".repeat(32)).unwrap_or_default();
    f.effects = Effects(15);
    f.color = 0x00ff_ffff;
    f.charset = 255;
    f.pitch_family = 255;
    f
}

fn apply(c: &mut Conversations<'_>, conv: ConversationId, op: &Op, now: Instant) -> String {
    let fmt = long_format();
    let r = match op {
        Op::Send(n, m, f) => {
            let mode = [
                AckMode::Acknowledged,
                AckMode::NakOnly,
                AckMode::Unacknowledged,
            ][usize::from(*m)];
            let text = "é".repeat(*n / 2) + &"x".repeat(*n % 2);
            format!(
                "{:?}",
                c.send_message_with(now, conv, text.as_bytes(), mode, f.then_some(&fmt))
            )
        }
        Op::Typing => format!("{:?}", c.send_typing(now, conv)),
        Op::Invite(k) => format!(
            "{:?}",
            c.invite(now, conv, format!("guest{k}@example.com").as_bytes())
        ),
        Op::Ack(t) => format!(
            "{:?}",
            c.handle_input(now, conv, format!("ACK {t}\r\n").as_bytes())
        ),
        Op::Leave => format!("{:?}", c.leave(now, conv)),
    };
    let mut evs = Vec::new();
    while let Some(e) = c.poll_event() {
        if let SbEvent::Outcome {
            message, outcome, ..
        } = e
        {
            evs.push(format!("{message:?}:{outcome:?}"));
        }
    }
    format!("{r} {evs:?}")
}

/// Drain with `poll_transmit` into a large buffer.
fn drain_copy(c: &mut Conversations<'_>, wire: &mut Vec<u8>) {
    let mut out = [0u8; 4096];
    while let Some(t) = c.poll_transmit(&mut out) {
        wire.extend_from_slice(&out[..t.len]);
    }
}

/// Drain in place, the hook taking `takes` bytes in turn (cycled; a 0 is a hook that took
/// nothing this time, after which the rest is offered again, as the C ABI does at its next
/// flush), until nothing is left.
fn drain_lend(
    c: &mut Conversations<'_>,
    wire: &mut Vec<u8>,
    takes: &[usize],
    k: &mut usize,
    scratch: &mut [u8],
) {
    for _ in 0..100_000 {
        let Some((conv, bytes)) = c.transmit_bytes(scratch) else {
            return;
        };
        assert!(!bytes.is_empty());
        let take = takes
            .get(*k % takes.len().max(1))
            .copied()
            .unwrap_or(usize::MAX)
            .max(usize::from(*k % 7 == 6))
            .min(bytes.len());
        *k += 1;
        wire.extend_from_slice(&bytes[..take]);
        c.advance_transmit(conv, take);
    }
    panic!("transmit never drained");
}

fn setup<'a>(
    slots: &'a mut [ConversationSlot],
    msgs: &'a mut [MessageSlot],
    pool: &'a mut [u8],
) -> (Conversations<'a>, ConversationId) {
    let now = Instant::ZERO;
    let large = Box::leak(vec![0u8; msntv_messenger::msnp::sb::session::RX_CAP].into_boxed_slice());
    let mut c = Conversations::new(
        SbConfig::default(),
        b"tv@example.com",
        slots,
        msgs,
        pool,
        large,
    )
    .expect("storage");
    let conv = c
        .accept_invitation(now, b"s1", b"127.0.0.1:1864", b"k1")
        .expect("accept");
    c.handle_connected(now, conv).expect("connected");
    c.handle_input(now, conv, b"IRO 1 1 1 bob@example.com Bob\r\nANS 1 OK\r\n")
        .expect("roster");
    while c.poll_event().is_some() {}
    // The ANS line is not part of what is compared.
    drain_copy(&mut c, &mut Vec::new());
    (c, conv)
}

proptest! {
    #[test]
    fn lending_writes_what_copying_writes(
        ops in proptest::collection::vec(op(), 1..30),
        takes in proptest::collection::vec(prop_oneof![0usize..3, 1usize..64, 200usize..2000], 1..8),
        scratch_len in prop_oneof![Just(TRANSMIT_SCRATCH), 1usize..40],
    ) {
        // A scratch shorter than a part's head hands the head out in several pieces.
        let mut scratch = vec![0u8; scratch_len];
        let now = Instant::ZERO;
        let (mut s1, mut m1, mut p1) = ([ConversationSlot::EMPTY], Vec::<MessageSlot>::new(), [0u8; 2048]);
        let (mut s2, mut m2, mut p2) = ([ConversationSlot::EMPTY], Vec::<MessageSlot>::new(), [0u8; 2048]);
        m1.extend((0..10).map(|_| MessageSlot::EMPTY));
        m2.extend((0..10).map(|_| MessageSlot::EMPTY));
        let (mut a, conv_a) = setup(&mut s1, &mut m1, &mut p1);
        let (mut b, conv_b) = setup(&mut s2, &mut m2, &mut p2);
        let (mut wa, mut wb) = (Vec::new(), Vec::new());
        let mut k = 0;
        for op in &ops {
            let ra = apply(&mut a, conv_a, op, now);
            let rb = apply(&mut b, conv_b, op, now);
            prop_assert_eq!(ra, rb);
            drain_copy(&mut a, &mut wa);
            drain_lend(&mut b, &mut wb, &takes, &mut k, &mut scratch);
            prop_assert_eq!(&wa, &wb);
        }
        let ra = apply(&mut a, conv_a, &Op::Ack(1), now);
        let rb = apply(&mut b, conv_b, &Op::Ack(1), now);
        prop_assert_eq!(ra, rb);
        prop_assert_eq!(wa, wb);
    }
}

/// The longest format value the core writes fits the scratch a part's head is assembled in:
/// a short part goes to the send hook in one piece (head and body), a long one in two (the
/// head with the start of the body, then the rest of the body straight from the pool).
#[test]
fn the_longest_part_head_goes_out_in_one_piece() {
    let now = Instant::ZERO;
    let (mut s, mut m, mut p) = (
        [ConversationSlot::EMPTY],
        Vec::<MessageSlot>::new(),
        [0u8; 2048],
    );
    m.extend((0..4).map(|_| MessageSlot::EMPTY));
    let (mut c, conv) = setup(&mut s, &mut m, &mut p);
    let fmt = long_format();
    let mut scratch = [0u8; TRANSMIT_SCRATCH];
    c.send_message_with(now, conv, b"hi", AckMode::Acknowledged, Some(&fmt))
        .expect("queued");
    let (_, part) = c.transmit_bytes(&mut scratch).expect("a part");
    let part = part.to_vec();
    let text = String::from_utf8_lossy(&part);
    assert!(text.starts_with("MSG 2 A "), "{text}");
    assert!(text.ends_with("\r\n\r\nhi"), "{text}");
    let fmt_line = text
        .lines()
        .find(|l| l.starts_with("X-MMS-IM-Format: "))
        .expect("format header");
    // FN= and 32 %25 escapes, then the other fields: the value is at its cap.
    assert!(
        fmt_line.len() > "X-MMS-IM-Format: FN=".len() + 96,
        "{fmt_line}"
    );
    c.advance_transmit(conv, part.len());
    assert!(c.transmit_bytes(&mut scratch).is_none());

    let long = "y".repeat(1000);
    c.send_message_with(
        now,
        conv,
        long.as_bytes(),
        AckMode::Acknowledged,
        Some(&fmt),
    )
    .expect("queued");
    let (_, first) = c.transmit_bytes(&mut scratch).expect("the head");
    let first = first.to_vec();
    assert_eq!(first.len(), TRANSMIT_SCRATCH);
    let head_end = first
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("the head ends in the first piece")
        + 4;
    c.advance_transmit(conv, first.len());
    let (_, rest) = c.transmit_bytes(&mut scratch).expect("the body");
    assert_eq!(rest.len() + (first.len() - head_end), long.len());
    assert!(rest.iter().all(|&b| b == b'y'));
}
