//! Drive two switchboard conversations with a fuzzer-chosen sequence of server bytes, user
//! commands and clock jumps. Each input byte below 0xF0 is server data; 0xF0.. are operations.
//! Chunks go to the two conversations in turn, and each keeps the bytes it did not take and
//! is offered them again (the caller contract). The machine must never panic; bytes are
//! refused only while the other conversation needs the shared large-frame buffer; and every
//! message must get at most one outcome (exactly one once the connections are closed and the
//! clock has run past every deadline).
#![no_main]
use libfuzzer_sys::fuzz_target;
use msntv_messenger::msnp::sb::{ConversationSlot, Conversations, MessageSlot, SbConfig, SbEvent};
use msntv_messenger::msnp::wire::AckMode;
use msntv_messenger::{Duration, Instant};
use std::collections::HashMap;

fn drain(c: &mut Conversations<'_>, outcomes: &mut HashMap<u32, u32>) {
    let mut out = [0u8; 300];
    while c.poll_transmit(&mut out).is_some() {}
    while let Some(ev) = c.poll_event() {
        if let SbEvent::Outcome { message, .. } = ev {
            *outcomes.entry(message.0).or_insert(0) += 1;
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut slots = [ConversationSlot::EMPTY, ConversationSlot::EMPTY];
    let mut msgs = [MessageSlot::EMPTY, MessageSlot::EMPTY, MessageSlot::EMPTY];
    let mut pool = [0u8; 4096];
    let mut large = [0u8; msntv_messenger::msnp::sb::session::RX_CAP];
    let mut c = Conversations::new(SbConfig::default(), b"tv@example.com", &mut slots, &mut msgs, &mut pool, &mut large).unwrap();
    let mut now = Instant::ZERO;
    let mut convs = Vec::new();
    for _ in 0..2 {
        let conv = c.open(now, Some(b"bob@example.com")).unwrap();
        let _ = c.switchboard_ready(now, conv, b"127.0.0.1:1864", b"k");
        let _ = c.handle_connected(now, conv);
        convs.push(conv);
    }
    let mut pending: [Vec<u8>; 2] = [Vec::new(), Vec::new()];
    let mut ids = Vec::new();
    let mut outcomes = HashMap::new();
    for (i, chunk) in data.split(|&b| b >= 0xF0).enumerate() {
        let (t, other) = (i % 2, 1 - i % 2);
        let conv = convs[t];
        pending[t].extend_from_slice(chunk);
        for _ in 0..2 {
            match c.handle_input(now, conv, &pending[t]) {
                Ok(k) => drop(pending[t].drain(..k)),
                // Closed and reported: its bytes go nowhere.
                Err(_) => pending[t].clear(),
            }
            drain(&mut c, &mut outcomes);
        }
        if !pending[t].is_empty() {
            // Refused after the events were drained: only for want of the shared buffer,
            // which the other conversation needs for a frame still arriving.
            assert!(c.input_paused(conv));
            assert_eq!(c.large_frame_holder(), Some(convs[other]));
        }
        match chunk.len() % 5 {
            0 => {
                if let Ok(id) = c.send_message_with(now, conv, b"hi", AckMode::Acknowledged, None) {
                    ids.push(id.0);
                }
            }
            1 => {
                if let Ok(id) = c.send_message_with(now, conv, b"yo", AckMode::NakOnly, None) {
                    ids.push(id.0);
                }
            }
            2 => now = now + Duration::from_secs(7),
            3 => {
                let _ = c.send_typing(now, conv);
            }
            _ => {
                let _ = c.invite(now, conv, b"carol@example.com");
            }
        }
        c.handle_timeout(now);
        drain(&mut c, &mut outcomes);
    }
    for conv in &convs {
        let _ = c.handle_closed(now, *conv);
    }
    now = now + Duration::from_secs(1000);
    c.handle_timeout(now);
    drain(&mut c, &mut outcomes);
    for id in ids {
        assert_eq!(outcomes.get(&id).copied(), Some(1), "message {id}");
    }
    assert!(c.poll_timeout().is_none());
    assert_eq!(c.large_frame_holder(), None);
});
