//! Notification-session replays over every Escargot recording in `$MSNTV_ESCARGOT_DIR` (default
//! `../shared/transcripts/escargot`): the shared `selftest::ns` suite, plus random split points.
mod common;

use common::{borrowed, Collect};
use msntv_messenger::selftest::ns;
use proptest::prelude::*;

#[test]
fn ns_suite_over_every_transcript() {
    let mut log = Collect::default();
    ns::run(borrowed(), &mut log);
    assert!(
        log.failed.is_empty(),
        "failures:\n{}",
        log.failed.join("\n")
    );
    assert!(log.passed > 0, "no NS connection found");
}

#[test]
fn replays_reproduce_most_client_commands() {
    let mut exact = 0;
    let mut refused = 0;
    for t in borrowed() {
        for (conn, desc) in t.connections {
            if !desc.starts_with("Notification Server") {
                continue;
            }
            let s = ns::replay(t, conn, 0).expect("replay");
            eprintln!(
                "{}/{}: exact {} equivalent {} refused {} robust {}",
                t.name, conn, s.exact, s.equivalent, s.refused, s.robust
            );
            exact += s.exact + s.equivalent;
            refused += s.refused;
        }
    }
    assert!(exact > 5 * refused, "exact {exact} refused {refused}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn random_piece_sizes_give_the_same_session(idx in 0usize..64, piece in 2usize..40) {
        let ts = borrowed();
        let t = &ts[idx % ts.len()];
        for (conn, desc) in t.connections {
            if !desc.starts_with("Notification Server") {
                continue;
            }
            let a = ns::replay(t, conn, 0).expect("replay");
            let b = ns::replay(t, conn, piece).expect("replay");
            prop_assert_eq!(a.out_digest, b.out_digest);
            prop_assert_eq!(a.ev_digest, b.ev_digest);
        }
    }
}
