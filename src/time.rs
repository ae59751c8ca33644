//! Caller-supplied time: a monotonic millisecond clock the core never reads by itself.

/// A point on the caller's monotonic millisecond clock.
//
// Comparisons and `saturating_add` are out of line: a 64-bit compare or add is several
// instructions on the 32-bit box, and LTO inlined ~200 of them (~4 KB). The per-call clock
// update on the hot path uses the inline [`Instant::advance_to`] instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Instant(u64);

/// A span of time in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Duration(u64);

impl Instant {
    /// Return the clock's origin.
    pub const ZERO: Instant = Instant(0);

    /// Make an instant from milliseconds since the caller's clock origin.
    pub const fn from_millis(ms: u64) -> Self {
        Instant(ms)
    }

    /// Return the milliseconds since the caller's clock origin.
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// Return this instant moved later by `d`, saturating at the end of time.
    #[inline(never)]
    pub const fn saturating_add(self, d: Duration) -> Self {
        Instant(self.0.saturating_add(d.0))
    }

    /// Return the time elapsed from `earlier` to `self`, or zero if `earlier` is later.
    #[inline(never)]
    pub const fn saturating_since(self, earlier: Instant) -> Duration {
        Duration(self.0.saturating_sub(earlier.0))
    }
}

impl Instant {
    /// Move this instant to `now` if `now` is later (a monotonic clock update; inline, as it
    /// runs on every call into the core).
    #[inline(always)]
    pub fn advance_to(&mut self, now: Instant) {
        if now.0 > self.0 {
            self.0 = now.0;
        }
    }
}

impl Duration {
    /// Return the empty duration.
    pub const ZERO: Duration = Duration(0);

    /// Make a duration from milliseconds.
    pub const fn from_millis(ms: u64) -> Self {
        Duration(ms)
    }

    /// Make a duration from whole seconds.
    pub const fn from_secs(s: u64) -> Self {
        Duration(s.saturating_mul(1000))
    }

    /// Return the duration in milliseconds.
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// Return this duration multiplied by `n`, saturating.
    pub const fn saturating_mul(self, n: u64) -> Self {
        Duration(self.0.saturating_mul(n))
    }
}

impl core::ops::Add<Duration> for Instant {
    type Output = Instant;
    fn add(self, d: Duration) -> Instant {
        self.saturating_add(d)
    }
}

impl PartialOrd for Instant {
    #[inline]
    fn partial_cmp(&self, other: &Self) -> Option<core::cmp::Ordering> {
        Some(self.cmp(other))
    }
    #[inline]
    fn lt(&self, other: &Self) -> bool {
        !other.le(self)
    }
    #[inline(never)]
    fn le(&self, other: &Self) -> bool {
        self.0 <= other.0
    }
    #[inline]
    fn gt(&self, other: &Self) -> bool {
        !self.le(other)
    }
    #[inline]
    fn ge(&self, other: &Self) -> bool {
        other.le(self)
    }
}

impl Ord for Instant {
    #[inline(never)]
    fn cmp(&self, other: &Self) -> core::cmp::Ordering {
        self.0.cmp(&other.0)
    }
}
