//! Ending a run: SOFTRES resets the board, and QEMU started with `-no-reboot` then exits.
//!
//! QEMU's exit status is 0 either way, so the outcome travels on the console: the last line is
//! `RESULT: PASSED` or `RESULT: FAILED (...)`, which `ci/qemu-test` reads.

const SOFTRES: usize = 0xBF00_0500;
const SOFTRES_MAGIC: u32 = 0x42;

/// How the run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// Every check held.
    Passed,
    /// Something failed; the console says what.
    Failed,
}

/// Reset the board through SOFTRES; never returns.
pub fn exit(code: ExitCode) -> ! {
    let _ = code;
    // SAFETY: SOFTRES is malta's FPGA soft-reset register; writing the magic resets the machine.
    unsafe { core::ptr::write_volatile(SOFTRES as *mut u32, SOFTRES_MAGIC) };
    loop {
        core::hint::spin_loop();
    }
}
