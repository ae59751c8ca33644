//! Simulated-clock scenarios for the IMS idle timer, run on the host and on the guest.

use super::{check, Failure, Reporter};
use crate::ims::{IdleTimer, ImsAction};
use crate::time::{Duration, Instant};

/// One step of a scenario: the caller's input and the action it must produce.
#[derive(Debug, Clone, Copy)]
pub enum Step {
    /// The clock ticked to this millisecond; expect this action.
    Tick(u64, Option<ImsAction>),
    /// The user pressed a key at this millisecond; expect this action.
    Activity(u64, Option<ImsAction>),
    /// `poll_timeout` must return this deadline.
    Deadline(Option<u64>),
}

/// One scenario: an idle period and steps.
#[derive(Debug, Clone, Copy)]
pub struct Scenario {
    /// Name of the case.
    pub name: &'static str,
    /// Idle period in ms, `None` to disable.
    pub idle_ms: Option<u64>,
    /// Steps in order, starting at time 0.
    pub steps: &'static [Step],
}

use ImsAction::{Off, On};
use Step::{Activity, Deadline, Tick};

/// Built-in scenarios (WebTV's idle behaviour).
pub const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "off-after-idle-then-on-at-activity",
        idle_ms: Some(600_000),
        steps: &[
            Deadline(Some(600_000)),
            Tick(599_999, None),
            Tick(600_000, Some(Off)),
            Deadline(None),
            Tick(900_000, None),
            Activity(900_001, Some(On)),
            Deadline(Some(1_500_001)),
        ],
    },
    Scenario {
        name: "activity-postpones-off",
        idle_ms: Some(10_000),
        steps: &[
            Activity(9_000, None),
            Tick(10_000, None),
            Tick(18_999, None),
            Tick(19_000, Some(Off)),
        ],
    },
    Scenario {
        name: "disabled-never-fires",
        idle_ms: None,
        steps: &[Deadline(None), Tick(u64::MAX, None), Activity(5, None)],
    },
    Scenario {
        name: "clock-jump-fires-once",
        idle_ms: Some(1_000),
        steps: &[
            Tick(1_000_000_000, Some(Off)),
            Tick(2_000_000_000, None),
            Activity(2_000_000_001, Some(On)),
            Activity(2_000_000_002, None),
        ],
    },
];

fn run_one(s: &Scenario) -> Result<(), Failure> {
    let mut t = IdleTimer::new(s.idle_ms.map(Duration::from_millis), Instant::ZERO);
    for step in s.steps {
        match *step {
            Tick(at, want) => check(
                t.handle_timeout(Instant::from_millis(at)) == want,
                "tick action",
            )?,
            Activity(at, want) => check(
                t.user_activity(Instant::from_millis(at)) == want,
                "activity action",
            )?,
            Deadline(want) => check(
                t.poll_timeout() == want.map(Instant::from_millis),
                "poll_timeout deadline",
            )?,
        }
    }
    Ok(())
}

/// Run every scenario.
pub fn run(scenarios: &[Scenario], r: &mut impl Reporter) {
    for s in scenarios {
        r.case("ims", s.name, run_one(s));
    }
}
