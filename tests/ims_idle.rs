//! IMS idle-timer scenarios on the host (the same table the guest runs).
use msntv_messenger::selftest::{ims, Tally};

#[test]
fn ims_idle_scenarios_pass_on_host() {
    let mut t = Tally::default();
    ims::run(ims::SCENARIOS, &mut t);
    assert_eq!((t.passed as usize, t.failed), (ims::SCENARIOS.len(), 0));
}
