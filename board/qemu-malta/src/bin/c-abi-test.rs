//! The C ABI test (`tests/c/abi_test.c`, compiled by build.rs with mips-linux-gnu-gcc and the
//! SDK's flags) on the guest: the C code drives the core through the public header only, and
//! this firmware gives it a console and reports `RESULT: PASSED` or `RESULT: FAILED`.
#![no_std]
#![no_main]

use core::ffi::{c_char, CStr};
use msntv_board_malta::{clock, console, exit, println};

extern "C" {
    /// Run the C ABI test; returns the number of failed checks.
    fn msgr_abi_test_run() -> u32;
}

/// Write a NUL-terminated string from the C test to the console (`\n` becomes CR LF).
///
/// # Safety
/// `s` must be NULL or point to a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn board_puts(s: *const c_char) {
    if s.is_null() {
        return;
    }
    // SAFETY: the caller passes a NUL-terminated string.
    let bytes = unsafe { CStr::from_ptr(s) }.to_bytes();
    for line in bytes.split_inclusive(|&b| b == b'\n') {
        match line.strip_suffix(b"\n") {
            Some(l) => {
                console::write_bytes(l);
                console::write_bytes(b"\r\n");
            }
            None => console::write_bytes(line),
        }
    }
}

/// Write an unsigned number in decimal to the console for the C test.
#[no_mangle]
pub extern "C" fn board_put_u32(v: u32) {
    msntv_board_malta::print!("{v}");
}

#[no_mangle]
extern "C" fn board_main() -> ! {
    let prid = clock::prid();
    println!(
        "msntv-messenger c-abi-test on {} (PRId 0x{prid:08x})",
        clock::cpu_name(prid)
    );
    let start = clock::count();
    // SAFETY: the C test takes no arguments and uses only its own statics and the public ABI.
    let failed = unsafe { msgr_abi_test_run() };
    let elapsed = clock::count().wrapping_sub(start);
    println!("c-abi-test done in {} CP0 Count ticks", elapsed);
    if failed == 0 {
        println!("RESULT: PASSED");
        exit::exit(exit::ExitCode::Passed)
    } else {
        println!("RESULT: FAILED ({} failures)", failed);
        exit::exit(exit::ExitCode::Failed)
    }
}
