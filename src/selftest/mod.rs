//! Test-vector suites shared by the host tests and the MIPS guest (`ci/qemu-test`).
//!
//! Each suite takes borrowed vector tables and reports one result per case through a
//! [`Reporter`]. The host integration tests build the tables from `../shared` at run time
//! (crate `tools/testdata`); the board's build script turns the same files into static tables
//! compiled into the firmware, so both sides run the same checks on the same data.

pub mod ims;
pub mod md5;
pub mod sb;
pub mod transcript;
pub mod wire;
pub mod wtvp;

/// Receive the result of each test case.
pub trait Reporter {
    /// Record the outcome of one case; `detail` explains a failure.
    fn case(&mut self, suite: &str, case: &str, result: Result<(), Failure>);
}

/// Describe why a case failed, without allocating.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failure {
    /// What was checked.
    pub what: &'static str,
}

impl Failure {
    /// Make a failure describing the check that did not hold.
    pub const fn new(what: &'static str) -> Self {
        Failure { what }
    }
}

/// Return `Ok` when `cond` holds, else a [`Failure`] naming the check.
pub fn check(cond: bool, what: &'static str) -> Result<(), Failure> {
    if cond {
        Ok(())
    } else {
        Err(Failure::new(what))
    }
}

/// Count passes and failures; the simplest [`Reporter`].
#[derive(Debug, Default, Clone, Copy)]
pub struct Tally {
    /// Cases that passed.
    pub passed: u32,
    /// Cases that failed.
    pub failed: u32,
}

impl Reporter for Tally {
    fn case(&mut self, _suite: &str, _case: &str, result: Result<(), Failure>) {
        match result {
            Ok(()) => self.passed = self.passed.saturating_add(1),
            Err(_) => self.failed = self.failed.saturating_add(1),
        }
    }
}
