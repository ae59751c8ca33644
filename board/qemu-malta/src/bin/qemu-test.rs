//! The guest test runner: runs every shared vector suite and prints `N passed, N failed`.
#![no_std]
#![no_main]

use msntv_board_malta::{clock, exit, println};
use msntv_messenger::selftest::{Failure, Reporter};

mod vectors {
    include!(concat!(env!("OUT_DIR"), "/vectors.rs"));
}

/// Print each failure as it happens and count results per suite and in total.
struct UartReporter {
    passed: u32,
    failed: u32,
}

impl Reporter for UartReporter {
    fn case(&mut self, suite: &str, case: &str, result: Result<(), Failure>) {
        match result {
            Ok(()) => self.passed += 1,
            Err(f) => {
                self.failed += 1;
                println!("FAIL {suite}/{case}: {}", f.what);
            }
        }
    }
}

#[no_mangle]
extern "C" fn board_main() -> ! {
    let prid = clock::prid();
    println!(
        "msntv-messenger qemu-test on {} (PRId 0x{prid:08x})",
        clock::cpu_name(prid)
    );
    defmt::info!("qemu-test start, PRId {=u32:#x}", prid);
    // The host times these two lines to confirm the CP0 Count rate (ci/lib/qemu_run.py).
    println!("clock-check start");
    clock::delay_ms(1000);
    println!("clock-check end");
    let start = clock::count();
    let mut r = UartReporter {
        passed: 0,
        failed: 0,
    };
    vectors::run_all(&mut r);
    let elapsed = clock::count().wrapping_sub(start);
    println!("suites done in {} CP0 Count ticks", elapsed);
    defmt::info!(
        "qemu-test done: {=u32} passed, {=u32} failed",
        r.passed,
        r.failed
    );
    println!("{} passed, {} failed", r.passed, r.failed);
    if r.failed == 0 && r.passed > 0 {
        println!("RESULT: PASSED");
        exit::exit(exit::ExitCode::Passed)
    } else {
        println!("RESULT: FAILED ({} failures)", r.failed);
        exit::exit(exit::ExitCode::Failed)
    }
}
