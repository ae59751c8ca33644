//! A monotonic millisecond clock from CP0 Count (166.67 MHz on QEMU malta, see the crate doc).

use core::sync::atomic::{AtomicU32, Ordering};

/// CP0 Count increments per millisecond on QEMU malta: one tick every 6 ns of virtual time.
pub const COUNT_PER_MS: u64 = 166_667;

extern "C" {
    fn board_read_count() -> u32;
    fn board_read_prid() -> u32;
}

static LAST: AtomicU32 = AtomicU32::new(0);
static WRAPS: AtomicU32 = AtomicU32::new(0);

/// Return the raw 32-bit CP0 Count register.
pub fn count() -> u32 {
    // SAFETY: reads a CP0 register, no side effects.
    unsafe { board_read_count() }
}

/// Return CP0 Count extended to 64 bits (call at least once every 26 s to catch each wrap).
pub fn ticks() -> u64 {
    let now = count();
    let last = LAST.swap(now, Ordering::Relaxed);
    let mut wraps = WRAPS.load(Ordering::Relaxed);
    if now < last {
        wraps = wraps.wrapping_add(1);
        WRAPS.store(wraps, Ordering::Relaxed);
    }
    (u64::from(wraps) << 32) | u64::from(now)
}

/// Return milliseconds since the first call's wrap epoch.
pub fn now_ms() -> u64 {
    ticks() / COUNT_PER_MS
}

/// Return the current time as the core's [`msntv_messenger::Instant`].
pub fn now() -> msntv_messenger::Instant {
    msntv_messenger::Instant::from_millis(now_ms())
}

/// Wait for `ms` milliseconds by polling the clock.
pub fn delay_ms(ms: u64) {
    let end = now_ms().saturating_add(ms);
    while now_ms() < end {}
}

/// Return the CP0 PRId register (processor implementation and revision).
pub fn prid() -> u32 {
    // SAFETY: reads a CP0 register, no side effects.
    unsafe { board_read_prid() }
}

/// Return a name for the CPU implementation in PRId.
pub fn cpu_name(prid: u32) -> &'static str {
    match (prid >> 8) & 0xff {
        0x04 => "R4000 (MIPS III)",
        0x20 if (prid >> 16) & 0xff == 0 => "R4640/R4650",
        0x80 if (prid >> 16) & 0xff == 1 => "MIPS 4Kc (MIPS32)",
        0x83 if (prid >> 16) & 0xff == 1 => "MIPS 4Km (MIPS32)",
        _ => "unknown MIPS CPU",
    }
}
