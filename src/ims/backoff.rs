//! Reconnect back-off: the wait before each retry, doubling from the service's retry interval
//! up to a cap. Deterministic (no jitter): the core has no random source; a caller that wants
//! jitter adds it to the returned delay.

use crate::time::{Duration, Instant};

/// Hand out reconnect delays: `initial`, `2·initial`, `4·initial`, … capped at `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    attempts: u32,
}

impl Backoff {
    /// Default cap: five minutes (reference §15.4).
    pub const DEFAULT_MAX: Duration = Duration::from_secs(300);

    /// Make a back-off starting at `initial` (at least 1 ms) and never above `max`.
    pub const fn new(initial: Duration, max: Duration) -> Self {
        let initial = if initial.as_millis() == 0 {
            Duration::from_millis(1)
        } else {
            initial
        };
        let max = if max.as_millis() < initial.as_millis() {
            initial
        } else {
            max
        };
        Backoff {
            initial,
            max,
            attempts: 0,
        }
    }

    /// Make the back-off of the head-waiter configuration: its retry interval
    /// (`wtv-messenger-retry-interval`, default 20 s), doubling up to five minutes.
    pub fn from_messenger(cfg: &crate::wtvp::headwaiter::MessengerConfig) -> Self {
        Self::new(cfg.retry_interval, Self::DEFAULT_MAX)
    }

    /// Return how many delays were handed out since the last reset.
    pub const fn attempts(&self) -> u32 {
        self.attempts
    }

    /// Return the delay the next call to [`Backoff::next_delay`] will give.
    pub fn peek(&self) -> Duration {
        let factor = 1u64.checked_shl(self.attempts.min(63)).unwrap_or(u64::MAX);
        let d = self.initial.saturating_mul(factor);
        if d > self.max {
            self.max
        } else {
            d
        }
    }

    /// Return the wait before the next attempt and count the attempt.
    pub fn next_delay(&mut self) -> Duration {
        let d = self.peek();
        self.attempts = self.attempts.saturating_add(1);
        d
    }

    /// Return when the next attempt is due if the last one failed at `now`, and count it.
    pub fn next_attempt(&mut self, now: Instant) -> Instant {
        now + self.next_delay()
    }

    /// Start again from `initial` (after a successful sign-in).
    pub fn reset(&mut self) {
        self.attempts = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: u64) -> Duration {
        Duration::from_secs(v)
    }

    #[test]
    fn backoff_doubles_from_retry_interval_and_caps() {
        let mut b = Backoff::new(s(20), s(300));
        let got: [u64; 6] = core::array::from_fn(|_| b.next_delay().as_millis() / 1000);
        assert_eq!(got, [20, 40, 80, 160, 300, 300]);
        assert_eq!(b.attempts(), 6);
    }

    #[test]
    fn backoff_reset_starts_over() {
        let mut b = Backoff::new(s(5), s(60));
        b.next_delay();
        b.next_delay();
        b.reset();
        assert_eq!(b.next_delay(), s(5));
        assert_eq!(
            b.next_attempt(Instant::from_millis(1000)),
            Instant::from_millis(11_000)
        );
    }

    #[test]
    fn backoff_never_overflows_and_fixes_bad_bounds() {
        let mut b = Backoff::new(Duration::ZERO, Duration::ZERO);
        assert_eq!(b.next_delay(), Duration::from_millis(1));
        let mut b = Backoff::new(s(1), Duration::from_millis(u64::MAX));
        for _ in 0..200 {
            b.next_delay();
        }
        assert_eq!(b.peek(), Duration::from_millis(u64::MAX));
        let d = crate::wtvp::headwaiter::MessengerConfig::default();
        assert_eq!(Backoff::from_messenger(&d).peek(), s(20));
    }
}
