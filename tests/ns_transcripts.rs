//! Notification-session replays over every Escargot recording in `$MSNTV_ESCARGOT_DIR` (default
//! `../shared/transcripts/escargot`): the shared `selftest::ns` suite, plus random split points.
use msntv_messenger::selftest::transcript::{Chunk, Dir, Transcript};
use msntv_messenger::selftest::{ns, Failure, Reporter};
use msntv_testdata::escargot;
use proptest::prelude::*;
use std::sync::OnceLock;

fn loaded() -> &'static [escargot::Transcript] {
    static T: OnceLock<Vec<escargot::Transcript>> = OnceLock::new();
    T.get_or_init(escargot::load)
}

fn borrowed() -> &'static [Transcript<'static>] {
    static B: OnceLock<Vec<Transcript<'static>>> = OnceLock::new();
    B.get_or_init(|| {
        loaded()
            .iter()
            .map(|t| Transcript {
                name: t.name.as_str(),
                protocol: t.protocol.as_str(),
                connections: Box::leak(
                    t.connections
                        .iter()
                        .map(|(n, d)| (n.as_str(), d.as_str()))
                        .collect::<Vec<_>>()
                        .into_boxed_slice(),
                ),
                chunks: Box::leak(
                    t.chunks
                        .iter()
                        .map(|c| Chunk {
                            t_ms: (c.t * 1000.0).round() as u64,
                            conn: c.conn.as_str(),
                            dir: match c.dir {
                                escargot::Dir::C2s => Dir::C2s,
                                escargot::Dir::S2c => Dir::S2c,
                            },
                            bytes: c.bytes.as_slice(),
                        })
                        .collect::<Vec<_>>()
                        .into_boxed_slice(),
                ),
            })
            .collect()
    })
}

#[derive(Default)]
struct Log {
    passed: u32,
    failed: Vec<String>,
}

impl Reporter for Log {
    fn case(&mut self, _suite: &str, case: &str, result: Result<(), Failure>) {
        match result {
            Ok(()) => self.passed += 1,
            Err(f) => self.failed.push(format!("{case}: {}", f.what)),
        }
    }
}

#[test]
fn ns_suite_over_every_transcript() {
    let mut log = Log::default();
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
