//! The IMS idle timer and the shared timer table. Time always comes from the caller.
//!
//! WebTV boxes switched instant messaging off (`IMS OFF`) after a period without user activity,
//! so that new conversations could not start while nobody was watching the screen, and back on
//! (`IMS ON`) at the next key press. [`IdleTimer`] reproduces that from the caller's clock
//! ticks alone: [`IdleTimer::handle_timeout`] says when to send `IMS OFF`,
//! [`IdleTimer::user_activity`] when to send `IMS ON`.

mod backoff;
pub use backoff::Backoff;

use crate::time::{Duration, Instant};

/// A fixed table of optional deadlines indexed by a small key type (quinn's timer table).
#[derive(Debug, Clone)]
pub struct TimerTable<const N: usize> {
    deadlines: [Option<Instant>; N],
}

impl<const N: usize> Default for TimerTable<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> TimerTable<N> {
    /// Make a table with every timer stopped.
    pub const fn new() -> Self {
        TimerTable {
            deadlines: [None; N],
        }
    }

    /// Arm timer `index` to fire at `at` (an index out of range is ignored).
    pub fn set(&mut self, index: usize, at: Instant) {
        if let Some(slot) = self.deadlines.get_mut(index) {
            *slot = Some(at);
        }
    }

    /// Stop timer `index`.
    pub fn stop(&mut self, index: usize) {
        if let Some(slot) = self.deadlines.get_mut(index) {
            *slot = None;
        }
    }

    /// Return the deadline of timer `index`, if armed.
    pub fn get(&self, index: usize) -> Option<Instant> {
        self.deadlines.get(index).copied().flatten()
    }

    /// Return the earliest armed deadline.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.deadlines.iter().flatten().min().copied()
    }

    /// Stop and return the first timer (by index) whose deadline is at or before `now`.
    pub fn expire(&mut self, now: Instant) -> Option<usize> {
        let index = self
            .deadlines
            .iter()
            .position(|d| d.is_some_and(|d| d <= now))?;
        self.stop(index);
        Some(index)
    }

    /// Stop every timer.
    pub fn clear(&mut self) {
        self.deadlines = [None; N];
    }
}

/// What the idle timer asks the session to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ImsAction {
    /// Send `IMS OFF`: the user has been idle for the configured period.
    Off,
    /// Send `IMS ON`: the user is back.
    On,
}

/// Whether instant messaging is currently switched on by the idle timer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ImsState {
    /// Messaging is on (the user was active recently).
    On,
    /// Messaging was switched off for idleness.
    Off,
}

/// The WebTV idle behaviour: `IMS OFF` after `idle_after` without activity, `IMS ON` on return.
#[derive(Debug, Clone)]
pub struct IdleTimer {
    idle_after: Option<Duration>,
    last_activity: Instant,
    state: ImsState,
}

impl IdleTimer {
    /// Make an idle timer; `idle_after = None` disables it.
    pub const fn new(idle_after: Option<Duration>, now: Instant) -> Self {
        IdleTimer {
            idle_after,
            last_activity: now,
            state: ImsState::On,
        }
    }

    /// Return the configured idle period (`None` when disabled).
    pub const fn idle_after(&self) -> Option<Duration> {
        self.idle_after
    }

    /// Change the idle period; the countdown restarts at `now`.
    pub fn set_idle_after(&mut self, idle_after: Option<Duration>, now: Instant) {
        self.idle_after = idle_after;
        self.last_activity = now;
    }

    /// Return whether messaging is on or off for idleness.
    pub const fn state(&self) -> ImsState {
        self.state
    }

    /// Return when [`IdleTimer::handle_timeout`] should next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match (self.state, self.idle_after) {
            (ImsState::On, Some(d)) => Some(self.last_activity.saturating_add(d)),
            _ => None,
        }
    }

    /// Advance the clock; returns [`ImsAction::Off`] once when the idle period has passed.
    pub fn handle_timeout(&mut self, now: Instant) -> Option<ImsAction> {
        let deadline = self.poll_timeout()?;
        if now >= deadline {
            self.state = ImsState::Off;
            Some(ImsAction::Off)
        } else {
            None
        }
    }

    /// Record user activity; returns [`ImsAction::On`] when messaging was off for idleness.
    pub fn user_activity(&mut self, now: Instant) -> Option<ImsAction> {
        if now > self.last_activity {
            self.last_activity = now;
        }
        match self.state {
            ImsState::Off => {
                self.state = ImsState::On;
                Some(ImsAction::On)
            }
            ImsState::On => None,
        }
    }

    /// Forget the idle state after a reconnect: the server starts every session with IMS on.
    pub fn reset(&mut self, now: Instant) {
        self.state = ImsState::On;
        self.last_activity = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> Instant {
        Instant::from_millis(v)
    }

    #[test]
    fn idle_timer_sends_off_once_after_idle_period() {
        let mut t = IdleTimer::new(Some(Duration::from_secs(600)), ms(0));
        assert_eq!(t.poll_timeout(), Some(ms(600_000)));
        assert_eq!(t.handle_timeout(ms(599_999)), None);
        assert_eq!(t.handle_timeout(ms(600_000)), Some(ImsAction::Off));
        assert_eq!(t.state(), ImsState::Off);
        assert_eq!(t.poll_timeout(), None);
        assert_eq!(t.handle_timeout(ms(700_000)), None, "OFF is sent only once");
    }

    #[test]
    fn activity_postpones_the_idle_deadline() {
        let mut t = IdleTimer::new(Some(Duration::from_secs(10)), ms(0));
        assert_eq!(t.user_activity(ms(5_000)), None);
        assert_eq!(t.poll_timeout(), Some(ms(15_000)));
        assert_eq!(t.handle_timeout(ms(10_000)), None);
        assert_eq!(t.handle_timeout(ms(15_000)), Some(ImsAction::Off));
    }

    #[test]
    fn activity_after_off_sends_on_and_restarts_countdown() {
        let mut t = IdleTimer::new(Some(Duration::from_secs(10)), ms(0));
        assert_eq!(t.handle_timeout(ms(10_000)), Some(ImsAction::Off));
        assert_eq!(t.user_activity(ms(12_000)), Some(ImsAction::On));
        assert_eq!(t.user_activity(ms(12_001)), None);
        assert_eq!(t.poll_timeout(), Some(ms(22_001)));
    }

    #[test]
    fn disabled_idle_timer_never_fires() {
        let mut t = IdleTimer::new(None, ms(0));
        assert_eq!(t.poll_timeout(), None);
        assert_eq!(t.handle_timeout(ms(u64::MAX)), None);
    }

    #[test]
    fn stale_clock_value_does_not_move_activity_backwards() {
        let mut t = IdleTimer::new(Some(Duration::from_secs(10)), ms(5_000));
        t.user_activity(ms(1_000));
        assert_eq!(t.poll_timeout(), Some(ms(15_000)));
    }

    #[test]
    fn timer_table_expires_in_index_order_and_reports_next_deadline() {
        let mut tt = TimerTable::<3>::new();
        tt.set(2, ms(50));
        tt.set(0, ms(100));
        tt.set(7, ms(1)); // out of range: ignored
        assert_eq!(tt.next_deadline(), Some(ms(50)));
        assert_eq!(tt.expire(ms(49)), None);
        assert_eq!(tt.expire(ms(100)), Some(0));
        assert_eq!(tt.expire(ms(100)), Some(2));
        assert_eq!(tt.expire(ms(100)), None);
        assert_eq!(tt.next_deadline(), None);
    }
}
