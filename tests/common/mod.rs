//! Helpers shared by the replay tests: the escargot recordings loaded once, their borrowed
//! views (the form the shared `selftest` suites and the guest use), and a reporter that keeps
//! failures.
#![allow(dead_code)] // Each test file uses a different subset.

use msntv_messenger::selftest::transcript::{Chunk, Dir, Transcript};
use msntv_messenger::selftest::{Failure, Reporter};
use msntv_testdata::escargot;
use std::sync::OnceLock;

/// Return the owned transcripts from `$MSNTV_ESCARGOT_DIR`, loaded once.
pub fn loaded() -> &'static [escargot::Transcript] {
    static T: OnceLock<Vec<escargot::Transcript>> = OnceLock::new();
    T.get_or_init(escargot::load)
}

/// Return borrowed views of the loaded transcripts, as the guest sees them.
pub fn borrowed() -> &'static [Transcript<'static>] {
    static B: OnceLock<Vec<Transcript<'static>>> = OnceLock::new();
    B.get_or_init(|| loaded().iter().map(view).collect())
}

/// Make the borrowed view of one owned transcript (its tables live for the whole test run).
fn view(t: &'static escargot::Transcript) -> Transcript<'static> {
    let connections: &'static [(&'static str, &'static str)] = Box::leak(
        t.connections
            .iter()
            .map(|(n, d)| (n.as_str(), d.as_str()))
            .collect::<Vec<_>>()
            .into_boxed_slice(),
    );
    let chunks: &'static [Chunk<'static>] = Box::leak(
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
    );
    Transcript {
        name: t.name.as_str(),
        protocol: t.protocol.as_str(),
        connections,
        chunks,
    }
}

/// Count passes and keep each failure as `suite/case: what`.
#[derive(Default)]
pub struct Collect {
    /// Cases that passed.
    pub passed: u32,
    /// Failures, described.
    pub failed: Vec<String>,
}

impl Reporter for Collect {
    fn case(&mut self, suite: &str, case: &str, result: Result<(), Failure>) {
        match result {
            Ok(()) => self.passed += 1,
            Err(f) => self.failed.push(format!("{suite}/{case}: {}", f.what)),
        }
    }
}
