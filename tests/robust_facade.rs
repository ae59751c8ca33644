//! Fault injection over the scripted facade scenarios (sign-in, sync, presence, a conversation
//! with queued messages in each ack mode, sign-out): the servers' combined output is closed,
//! stalled or duplicated at every byte offset (a stride when `ROBUST_STRIDE` says so), and
//! every run must keep the invariants of `robust_common::World::finish`.
mod robust_common;

use msntv_messenger::msnp::sb::Outcome;
use msntv_messenger::msnp::wire::AckMode;
use robust_common::{offsets, Fault, Plan};

const MODES: [AckMode; 3] = [
    AckMode::Acknowledged,
    AckMode::NakOnly,
    AckMode::Unacknowledged,
];

/// The byte stride of the sweeps: 1 (every offset) unless `ROBUST_STRIDE` is set.
fn stride() -> usize {
    std::env::var("ROBUST_STRIDE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1)
}

fn baseline(ack: AckMode) -> usize {
    world!(w, Plan::conversation(ack), Fault::None);
    w.run();
    w.finish("baseline");
    assert_eq!(w.seen.signed_in, 1, "{:?}", w.seen);
    assert_eq!(w.seen.synced, 1);
    assert!(w.seen.presence >= 3, "{:?}", w.seen);
    assert_eq!(w.seen.sb_ready, 1);
    assert!(
        w.seen.lost.iter().all(|(_, r)| r == "SignedOut"),
        "{:?}",
        w.seen.lost
    );
    assert_eq!(w.sent.len(), 6);
    let want = match ack {
        AckMode::Acknowledged => Outcome::Delivered,
        _ => Outcome::Sent,
    };
    for id in &w.sent {
        assert_eq!(w.seen.outcomes[id], vec![want], "{ack:?}");
    }
    w.server_bytes()
}

#[test]
fn scripted_scenarios_run_clean_without_faults() {
    for ack in MODES {
        assert!(baseline(ack) > 500);
    }
}

fn sweep(kind: fn(usize) -> Fault) {
    let mut runs = 0;
    let (mut failed, mut reconnected, mut sb_faults) = (0, 0, 0);
    for ack in MODES {
        let total = baseline(ack);
        for k in offsets(total, stride()) {
            let fault = kind(k);
            world!(w, Plan::conversation(ack), fault);
            w.run();
            w.finish(&format!("{ack:?} {fault:?}"));
            assert!(
                w.fault_hit().is_some(),
                "{ack:?} {fault:?}: fault never struck"
            );
            runs += 1;
            failed += w
                .seen
                .outcomes
                .values()
                .filter(|o| matches!(o[0], Outcome::Failed(_)))
                .count();
            reconnected += usize::from(w.seen.signed_in > 1);
            sb_faults += usize::from(matches!(
                w.fault_hit(),
                Some((_, msntv_messenger::client::ConnId::Sb(_), _))
            ));
        }
    }
    eprintln!(
        "{runs} runs: {failed} failed messages, {reconnected} runs signed in again, {sb_faults} switchboard faults"
    );
    assert!(runs > 0);
}

#[test]
fn server_closes_at_every_byte_offset() {
    sweep(Fault::Close);
}

#[test]
fn server_stalls_at_every_byte_offset() {
    sweep(Fault::Stall);
}

#[test]
fn server_duplicates_from_every_byte_offset() {
    sweep(Fault::Dup);
}
