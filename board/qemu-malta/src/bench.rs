//! Deterministic guest instruction counts.
//!
//! Method: QEMU runs the firmware with `-icount shift=0,sleep=off`, so virtual time advances by
//! exactly 1 ns per guest instruction and never follows the host clock. CP0 Count ticks once
//! every 6 ns of virtual time (see [`crate::clock`]), so one Count tick is 6 instructions and a
//! workload's cost is `6 × ΔCount` instructions, independent of host load. [`calibrate`] checks
//! this on every run against a loop of known length.

use crate::clock;

extern "C" {
    fn board_spin(n: u32);
}

/// Guest instructions per CP0 Count tick under `-icount shift=0`.
pub const INSNS_PER_TICK: u64 = 6;

/// Run `f` and return the guest instructions it took (to within one Count tick).
pub fn measure<T>(f: impl FnOnce() -> T) -> (u64, T) {
    let start = clock::count();
    let out = f();
    let end = clock::count();
    (u64::from(end.wrapping_sub(start)) * INSNS_PER_TICK, out)
}

/// Measure a loop of exactly `3n + 4` instructions; return (expected, measured).
pub fn calibrate(n: u32) -> (u64, u64) {
    // SAFETY: board_spin only counts a register down.
    let (measured, ()) = measure(|| unsafe { board_spin(n) });
    (3 * u64::from(n) + 4, measured)
}
