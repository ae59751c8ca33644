//! The switchboard sessions' shared large-frame buffer: a `MSG` longer than a session's own
//! buffer borrows it, other sessions needing it meanwhile take no input (back-pressure), and
//! it goes back once the frame's event was handed out or the holder closed.

use msntv_messenger::msnp::sb::session::{RX_CAP, SESSION_RX_CAP};
use msntv_messenger::msnp::sb::{
    CloseReason, ConversationId, ConversationSlot, Conversations, MessageSlot, SbConfig, SbEvent,
};
use msntv_messenger::Instant;
use proptest::prelude::*;

const NOW: Instant = Instant::ZERO;

/// What the caller saw: text messages per conversation, skipped lengths, closes.
#[derive(Debug, Default, PartialEq, Eq)]
struct Log {
    messages: Vec<(ConversationId, Vec<u8>)>,
    skipped: Vec<(ConversationId, u32)>,
    closed: Vec<(ConversationId, CloseReason)>,
}

impl Log {
    fn texts(&self, conv: ConversationId) -> Vec<Vec<u8>> {
        self.messages
            .iter()
            .filter(|(c, _)| *c == conv)
            .map(|(_, t)| t.clone())
            .collect()
    }
}

/// `n` answered conversations, each with one other participant, over leaked storage.
fn ready(n: usize) -> (Conversations<'static>, Vec<ConversationId>) {
    let slots: &'static mut [ConversationSlot] =
        Box::leak((0..n).map(|_| ConversationSlot::new()).collect());
    let msgs: &'static mut [MessageSlot] = Box::leak((0..8).map(|_| MessageSlot::new()).collect());
    let pool = Box::leak(vec![0u8; 4096].into_boxed_slice());
    let large = Box::leak(vec![0u8; RX_CAP].into_boxed_slice());
    let mut c = Conversations::new(
        SbConfig::default(),
        b"tv@example.com",
        slots,
        msgs,
        pool,
        large,
    )
    .expect("storage");
    let mut ids = Vec::new();
    for i in 0..n {
        let conv = c
            .accept_invitation(NOW, format!("s{i}").as_bytes(), b"127.0.0.1:1864", b"k")
            .expect("accept");
        c.handle_connected(NOW, conv).expect("connected");
        let roster = b"IRO 1 1 1 bob@example.com Bob\r\nANS 1 OK\r\n";
        let mut rest = &roster[..];
        while !rest.is_empty() {
            let k = c.handle_input(NOW, conv, rest).expect("roster");
            rest = &rest[k..];
            while c.poll_event().is_some() {}
        }
        ids.push(conv);
    }
    let mut out = [0u8; 512];
    while c.poll_transmit(&mut out).is_some() {}
    (c, ids)
}

/// The headers of a plain-text payload.
const PREFIX: &[u8] = b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n";

/// A server `MSG` frame carrying `body` as plain text.
fn msg(body: &[u8]) -> Vec<u8> {
    let mut payload = PREFIX.to_vec();
    payload.extend_from_slice(body);
    let mut f = format!("MSG bob@example.com Bob {}\r\n", payload.len()).into_bytes();
    f.extend_from_slice(&payload);
    f
}

/// A body whose frame is `frame_len` bytes long (at most; a length's digits may step).
fn body_for(frame_len: usize, fill: u8) -> Vec<u8> {
    let mut n = frame_len - msg(b"").len();
    while msg(&vec![fill; n]).len() > frame_len {
        n -= 1;
    }
    vec![fill; n]
}

/// Hand out every waiting event into `log`.
fn drain(c: &mut Conversations<'_>, log: &mut Log) {
    while let Some(ev) = c.poll_event() {
        match ev {
            SbEvent::Message {
                conversation, text, ..
            } => log.messages.push((conversation, text.to_vec())),
            SbEvent::MessageSkipped {
                conversation,
                length,
            } => log.skipped.push((conversation, length)),
            SbEvent::Closed {
                conversation,
                reason,
            } => log.closed.push((conversation, reason)),
            _ => {}
        }
    }
}

/// Offer `pending` to `conv` as a caller following the contract does: take what it takes,
/// drain events; return how many bytes were taken.
fn offer(
    c: &mut Conversations<'_>,
    conv: ConversationId,
    pending: &mut Vec<u8>,
    log: &mut Log,
) -> usize {
    let k = c.handle_input(NOW, conv, pending).expect("input");
    assert!(k <= pending.len());
    pending.drain(..k);
    drain(c, log);
    k
}

#[test]
fn the_session_buffer_holds_the_longest_line_and_the_shared_one_the_longest_msg() {
    const { assert!(SESSION_RX_CAP < RX_CAP) };
    let (mut c, ids) = ready(1);
    // A JOI with a 129-byte handle and a 387-byte name fits the session's own buffer.
    let handle = format!("{}@x.com", "h".repeat(123));
    let line = format!("JOI {handle} {}\r\n", "%20".repeat(129));
    assert!(line.len() < SESSION_RX_CAP);
    let mut log = Log::default();
    let mut pending = line.into_bytes();
    while !pending.is_empty() {
        offer(&mut c, ids[0], &mut pending, &mut log);
    }
    assert_eq!(c.large_frame_holder(), None);
    // The largest MSG a switchboard relays (1664 payload bytes) fits the shared buffer.
    let mut pending = msg(&vec![b'z'; 1664 - PREFIX.len()]);
    while !pending.is_empty() {
        assert!(offer(&mut c, ids[0], &mut pending, &mut log) > 0);
    }
    assert_eq!(log.texts(ids[0]), vec![vec![b'z'; 1664 - PREFIX.len()]]);
    assert!(log.skipped.is_empty());
}

#[test]
fn large_msg_in_one_conversation_while_another_gets_small_ones() {
    let (mut c, ids) = ready(2);
    let (a, b) = (ids[0], ids[1]);
    let mut log = Log::default();
    let big = body_for(1800, b'A');
    let mut pa = msg(&big);
    assert!(pa.len() > SESSION_RX_CAP && pa.len() <= RX_CAP);
    // A gets most of its frame; B's short messages go through meanwhile.
    let mut head: Vec<u8> = pa.drain(..1000).collect();
    assert_eq!(offer(&mut c, a, &mut head, &mut log), 1000);
    assert_eq!(c.large_frame_holder(), Some(a));
    for i in 0..5 {
        let mut pb = msg(format!("small {i}").as_bytes());
        let n = pb.len();
        assert_eq!(offer(&mut c, b, &mut pb, &mut log), n, "B is not held up");
    }
    assert_eq!(c.large_frame_holder(), Some(a));
    assert!(!c.input_paused(b));
    // A's rest arrives, with a short message behind it in the same chunk.
    pa.extend_from_slice(&msg(b"after"));
    while !pa.is_empty() {
        assert!(offer(&mut c, a, &mut pa, &mut log) > 0);
    }
    assert_eq!(log.texts(a), vec![big, b"after".to_vec()]);
    assert_eq!(
        log.texts(b),
        (0..5)
            .map(|i| format!("small {i}").into_bytes())
            .collect::<Vec<_>>()
    );
    assert_eq!(c.large_frame_holder(), None);
}

#[test]
fn shared_buffer_goes_back_once_the_event_is_polled() {
    let (mut c, ids) = ready(2);
    let (a, b) = (ids[0], ids[1]);
    let mut pa = msg(&body_for(1500, b'a'));
    let k = c.handle_input(NOW, a, &pa).expect("input");
    assert_eq!(k, pa.len(), "the whole frame is taken");
    pa.clear();
    // The event borrows the frame in the shared buffer: it is held until handed out.
    assert_eq!(c.large_frame_holder(), Some(a));
    let mut pb = msg(&body_for(1400, b'b'));
    assert_eq!(c.handle_input(NOW, b, &pb).expect("input"), SESSION_RX_CAP);
    pb.drain(..SESSION_RX_CAP);
    assert!(c.input_paused(b));
    assert_eq!(c.handle_input(NOW, b, &pb).expect("input"), 0, "B waits");
    match c.poll_event() {
        Some(SbEvent::Message {
            conversation, text, ..
        }) => {
            assert_eq!(conversation, a);
            assert_eq!(text, &body_for(1500, b'a')[..]);
        }
        other => panic!("expected A's message, got {other:?}"),
    }
    // Handed out: A needs the buffer no more, but keeps it until the next call, which gives
    // it back (B, retried there, takes it over).
    assert_eq!(c.large_frame_holder(), None);
    assert!(c.input_paused(b), "B has not been retried yet");
    assert!(c.poll_event().is_none());
    assert_eq!(c.large_frame_holder(), Some(b));
    assert!(!c.input_paused(b));
    let mut log = Log::default();
    while !pb.is_empty() {
        assert!(offer(&mut c, b, &mut pb, &mut log) > 0);
    }
    assert_eq!(log.texts(b), vec![body_for(1400, b'b')]);
    // `offer` drained the events: the last (empty) poll gave the buffer back.
    assert_eq!(c.large_frame_holder(), None);
}

#[test]
fn conversation_closed_while_holding_the_shared_buffer_releases_it() {
    let (mut c, ids) = ready(2);
    let (a, b) = (ids[0], ids[1]);
    let mut log = Log::default();
    // A holds the buffer with half a frame; B waits.
    let pa = msg(&body_for(2000, b'a'));
    assert_eq!(c.handle_input(NOW, a, &pa[..900]).expect("input"), 900);
    assert_eq!(c.large_frame_holder(), Some(a));
    let mut pb = msg(&body_for(1200, b'b'));
    offer(&mut c, b, &mut pb, &mut log);
    assert!(c.input_paused(b));
    assert_eq!(offer(&mut c, b, &mut pb, &mut log), 0);
    // A's connection drops mid-frame: its half message is lost with it, the buffer is free.
    c.handle_closed(NOW, a).expect("closed");
    assert_eq!(c.large_frame_holder(), None);
    drain(&mut c, &mut log);
    assert_eq!(log.closed, vec![(a, CloseReason::ConnectionLost)]);
    assert!(log.texts(a).is_empty());
    while !pb.is_empty() {
        assert!(offer(&mut c, b, &mut pb, &mut log) > 0);
    }
    assert_eq!(log.texts(b), vec![body_for(1200, b'b')]);
    drain(&mut c, &mut log);
    assert_eq!(c.large_frame_holder(), None);
}

#[test]
fn holder_closed_by_a_timeout_with_its_event_pending_keeps_the_buffer_until_polled() {
    let cfg = SbConfig {
        leave_timeout: msntv_messenger::Duration::from_millis(10),
        ..SbConfig::default()
    };
    let (mut c, ids) = ready(2);
    c.set_config(cfg);
    let (a, b) = (ids[0], ids[1]);
    let pa = msg(&body_for(1000, b'a'));
    assert_eq!(c.handle_input(NOW, a, &pa).expect("input"), pa.len());
    c.leave(NOW, a).expect("leave");
    c.handle_timeout(Instant::from_millis(20));
    // A is closed, but its message is still to be handed out from the shared buffer.
    let mut pb = msg(&body_for(900, b'b'));
    assert_eq!(c.handle_input(NOW, b, &pb).expect("input"), SESSION_RX_CAP);
    pb.drain(..SESSION_RX_CAP);
    assert!(c.input_paused(b));
    let mut log = Log::default();
    drain(&mut c, &mut log);
    assert_eq!(log.texts(a), vec![body_for(1000, b'a')]);
    assert_eq!(log.closed.len(), 1);
    while !pb.is_empty() {
        assert!(offer(&mut c, b, &mut pb, &mut log) > 0);
    }
    assert_eq!(log.texts(b), vec![body_for(900, b'b')]);
}

#[test]
fn msg_too_large_for_the_shared_buffer_is_skipped_and_reported() {
    let (mut c, ids) = ready(2);
    let (a, b) = (ids[0], ids[1]);
    let mut log = Log::default();
    let mut pa = msg(&vec![b'x'; RX_CAP]);
    let announced = u32::try_from(PREFIX.len() + RX_CAP).unwrap();
    pa.extend_from_slice(&msg(b"next"));
    while !pa.is_empty() {
        assert!(offer(&mut c, a, &mut pa, &mut log) > 0);
        assert_eq!(
            c.large_frame_holder(),
            None,
            "a skipped frame borrows nothing"
        );
        assert!(!c.input_paused(b));
    }
    assert_eq!(log.skipped, vec![(a, announced)]);
    assert_eq!(log.texts(a), vec![b"next".to_vec()]);
}

#[test]
fn empty_shared_buffer_skips_every_msg_longer_than_the_session_buffer() {
    let slots: &'static mut [ConversationSlot] =
        Box::leak(vec![ConversationSlot::new()].into_boxed_slice());
    let msgs: &'static mut [MessageSlot] = Box::leak((0..4).map(|_| MessageSlot::new()).collect());
    let pool = Box::leak(vec![0u8; 2048].into_boxed_slice());
    let mut c = Conversations::new(
        SbConfig::default(),
        b"tv@example.com",
        slots,
        msgs,
        pool,
        &mut [],
    )
    .expect("an empty large-frame buffer is allowed");
    let conv = c
        .accept_invitation(NOW, b"s", b"127.0.0.1:1864", b"k")
        .expect("accept");
    c.handle_connected(NOW, conv).expect("connected");
    let mut log = Log::default();
    let mut input = b"IRO 1 1 1 bob@example.com Bob\r\nANS 1 OK\r\n".to_vec();
    input.extend_from_slice(&msg(&body_for(700, b'x')));
    input.extend_from_slice(&msg(b"short"));
    while !input.is_empty() {
        assert!(offer(&mut c, conv, &mut input, &mut log) > 0);
    }
    assert_eq!(log.skipped.len(), 1);
    assert_eq!(log.texts(conv), vec![b"short".to_vec()]);
}

/// Feed every conversation's stream in chunks (rotating between conversations, each chunk
/// size taken in turn from `chunks`) the way a caller following the contract does, until all
/// is taken; return the log and whether some conversation was ever paused.
fn run(streams: Vec<Vec<u8>>, chunks: &[usize]) -> (Log, Vec<ConversationId>, bool) {
    let (mut c, ids) = ready(streams.len());
    let mut arrived: Vec<Vec<u8>> = vec![Vec::new(); streams.len()];
    let mut sent = vec![0usize; streams.len()];
    let mut log = Log::default();
    let mut paused_seen = false;
    let mut k = 0usize;
    let mut idle_passes = 0;
    loop {
        let mut progress = false;
        for i in 0..streams.len() {
            // New bytes "arrive" on this connection.
            let n = chunks[k % chunks.len()].max(1);
            k += 1;
            let end = (sent[i] + n).min(streams[i].len());
            arrived[i].extend_from_slice(&streams[i][sent[i]..end]);
            progress |= end > sent[i];
            sent[i] = end;
            if !arrived[i].is_empty() {
                progress |= offer(&mut c, ids[i], &mut arrived[i], &mut log) > 0;
                paused_seen |= c.input_paused(ids[i]);
            }
        }
        if sent.iter().zip(&streams).all(|(s, t)| *s == t.len())
            && arrived.iter().all(Vec::is_empty)
        {
            break;
        }
        idle_passes = if progress { 0 } else { idle_passes + 1 };
        assert!(
            idle_passes < 3,
            "deadlock: nothing moves (holder {:?})",
            c.large_frame_holder()
        );
    }
    drain(&mut c, &mut log);
    assert_eq!(c.large_frame_holder(), None);
    (log, ids, paused_seen)
}

#[test]
fn two_large_msgs_interleaved_byte_by_byte_are_both_delivered() {
    let ba = body_for(1700, b'a');
    let bb = body_for(1600, b'b');
    let sa = [msg(&ba), msg(b"a2"), msg(&body_for(900, b'c')), msg(b"a4")].concat();
    let sb = [msg(&bb), msg(b"b2"), msg(b"b3")].concat();
    let (log, ids, paused) = run(vec![sa, sb], &[1]);
    assert!(paused, "the second large frame waited for the first");
    assert_eq!(
        log.texts(ids[0]),
        vec![ba, b"a2".to_vec(), body_for(900, b'c'), b"a4".to_vec()]
    );
    assert_eq!(log.texts(ids[1]), vec![bb, b"b2".to_vec(), b"b3".to_vec()]);
    assert!(log.skipped.is_empty());
}

#[test]
fn the_shared_buffer_is_lent_in_the_order_conversations_were_refused_it() {
    // A and B each have three large messages, D one. The caller serves each connection for as
    // long as it takes bytes (as the box UI's `service_conn` does), in the order A, B, D.
    // Served by slot order alone, A and B would hand the buffer to each other and D would
    // wait for all six; in turn, D's comes third.
    let (mut c, ids) = ready(3);
    let (a, b, d) = (ids[0], ids[1], ids[2]);
    let la: Vec<Vec<u8>> = (0..3).map(|i| body_for(1500, b'a' + i)).collect();
    let lb: Vec<Vec<u8>> = (0..3).map(|i| body_for(1450, b'k' + i)).collect();
    let ld = body_for(1400, b'z');
    let mut pa: Vec<u8> = la.iter().flat_map(|t| msg(t)).collect();
    let mut pb: Vec<u8> = lb.iter().flat_map(|t| msg(t)).collect();
    let mut pd = msg(&ld);
    let mut log = Log::default();
    // A's first frame arrives in part: A holds the buffer when B and D are first offered.
    let rest = pa.split_off(1000);
    offer(&mut c, a, &mut pa, &mut log);
    pa = rest;
    assert_eq!(c.large_frame_holder(), Some(a));
    offer(&mut c, b, &mut pb, &mut log);
    offer(&mut c, d, &mut pd, &mut log);
    assert!(c.input_paused(b) && c.input_paused(d));
    let mut passes = 0;
    while !(pa.is_empty() && pb.is_empty() && pd.is_empty()) {
        passes += 1;
        assert!(passes < 50, "no progress");
        for (conv, p) in [(a, &mut pa), (b, &mut pb), (d, &mut pd)] {
            while !p.is_empty() && offer(&mut c, conv, p, &mut log) > 0 {}
        }
    }
    let order: Vec<ConversationId> = log.messages.iter().map(|(conv, _)| *conv).collect();
    assert_eq!(order[..3], [a, b, d], "D is served third: {order:?}");
    assert_eq!(log.texts(a), la);
    assert_eq!(log.texts(b), lb);
    assert_eq!(log.texts(d), vec![ld]);
    assert_eq!(c.large_frame_holder(), None);
}

#[test]
fn a_waiting_conversation_that_closes_gives_up_its_turn() {
    let (mut c, ids) = ready(3);
    let (a, b, d) = (ids[0], ids[1], ids[2]);
    let mut log = Log::default();
    // A holds the buffer with half a frame; B is refused first, then D.
    let mut pa = msg(&body_for(1500, b'a'));
    let mut tail = pa.split_off(1000);
    offer(&mut c, a, &mut pa, &mut log);
    assert_eq!(c.large_frame_holder(), Some(a));
    let mut pb = msg(&body_for(1400, b'b'));
    offer(&mut c, b, &mut pb, &mut log);
    let mut pd = msg(&body_for(1400, b'd'));
    offer(&mut c, d, &mut pd, &mut log);
    assert!(c.input_paused(b) && c.input_paused(d));
    // B's connection closes while it waits; A finishes; D, next in line, gets the buffer.
    c.handle_closed(NOW, b).expect("closed");
    drain(&mut c, &mut log);
    offer(&mut c, a, &mut tail, &mut log);
    assert!(tail.is_empty());
    let mut passes = 0;
    while !pd.is_empty() {
        passes += 1;
        assert!(passes < 10, "D never got the buffer");
        offer(&mut c, d, &mut pd, &mut log);
    }
    assert_eq!(log.texts(d), vec![body_for(1400, b'd')]);
    assert_eq!(log.texts(a), vec![body_for(1500, b'a')]);
    assert!(log.texts(b).is_empty());
    assert_eq!(c.large_frame_holder(), None);
}

fn stream() -> impl Strategy<Value = (Vec<u8>, Vec<Vec<u8>>)> {
    proptest::collection::vec(
        prop_oneof![
            (1usize..40).prop_map(|n| vec![b'.'; n]),
            (600usize..1900).prop_map(|n| body_for(n, b'L')),
        ],
        1..5,
    )
    .prop_map(|bodies| {
        let bytes = bodies.iter().map(|b| msg(b)).collect::<Vec<_>>().concat();
        (bytes, bodies)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any mix of short and long messages on three conversations, fed in any chunk sizes:
    /// every message arrives, in order, none is skipped, and nothing deadlocks.
    #[test]
    fn three_conversations_any_chunking_deliver_every_message(
        a in stream(),
        b in stream(),
        d in stream(),
        chunks in proptest::collection::vec(prop_oneof![1usize..8, 100usize..700, 2000usize..3000], 1..6),
    ) {
        let (log, ids, _) = run(vec![a.0, b.0, d.0], &chunks);
        prop_assert_eq!(log.texts(ids[0]), a.1);
        prop_assert_eq!(log.texts(ids[1]), b.1);
        prop_assert_eq!(log.texts(ids[2]), d.1);
        prop_assert!(log.skipped.is_empty());
    }
}
