//! Bare-metal bring-up for QEMU's MIPS malta machine: crt0, the 16550 console, a millisecond
//! clock from CP0 Count, exit through SOFTRES, a panic handler and a `defmt` logger.
//!
//! Devices (physical addresses seen through KSEG1, uncached):
//!
//! | device | address | use |
//! |---|---|---|
//! | ISA COM1 16550 | 0xB80003F8 | plain-text console (`-serial` #1) |
//! | ISA COM2 16550 | 0xB80002F8 | `defmt` frames (`-serial` #2), decoded by `defmt-print` |
//! | SOFTRES | 0xBF000500 | write 0x42 to reset; with `-no-reboot` QEMU exits |
//! | ISA NE2000 (`ne2k_isa`) | 0xB8000300 | Ethernet, polled ([`ne2000`], [`net`]; see README.md) |
//!
//! Clock: QEMU's malta machine clocks the CPU at 320 MHz and CP0 Count ticks once every two
//! cycles (nominally 160 MHz), but QEMU keeps the tick period in whole nanoseconds, so 6.25 ns
//! becomes 6 ns and Count really runs at **166.67 MHz** of QEMU virtual time (measured:
//! `ci/qemu-test` times 1000 guest ms against the host's wall clock on every run). Virtual time
//! follows the host clock, or the instruction count under `-icount`. Count is 32 bits and wraps
//! every 25.8 s; [`clock::now_ms`] extends it to 64 bits and must be called at least once per
//! wrap period.
#![no_std]
#![feature(asm_experimental_arch)]

pub mod bench;
pub mod bootargs;
pub mod box_platform;
pub mod clock;
pub mod console;
pub mod defmt_logger;
pub mod exit;
pub mod ne2000;
pub mod net;

core::arch::global_asm!(include_str!("crt0.S"));

/// Print the location of a panic in the core on the console and end the run as failed.
///
/// The core's `#[panic_handler]` calls this platform hook (it is part of the core's C contract).
///
/// # Safety
/// `file` must point to `file_len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn msgr_platform_panic(
    file: *const u8,
    file_len: usize,
    line: u32,
    column: u32,
) -> ! {
    // SAFETY: the caller (the core) passes the pointer and length of a `'static` string.
    let file = unsafe { core::slice::from_raw_parts(file, file_len) };
    let file = core::str::from_utf8(file).unwrap_or("<non-utf8 path>");
    println!("\r\nPANIC at {file}:{line}:{column}");
    println!("RESULT: FAILED (panic)");
    exit::exit(exit::ExitCode::Failed)
}

extern "C" {
    fn board_read_cause() -> u32;
    fn board_read_epc() -> u32;
    fn board_read_badvaddr() -> u32;
}

/// Report a CPU exception (entered from the exception vectors) and end the run as failed.
#[no_mangle]
pub extern "C" fn board_exception() -> ! {
    use core::fmt::Write as _;
    // SAFETY: the functions only read CP0 registers.
    let (cause, epc, bad) =
        unsafe { (board_read_cause(), board_read_epc(), board_read_badvaddr()) };
    let mut c = console::Console;
    let _ = writeln!(
        c,
        "\r\nEXCEPTION: cause=0x{cause:08x} (code {}) epc=0x{epc:08x} badvaddr=0x{bad:08x}\r",
        (cause >> 2) & 0x1f
    );
    let _ = writeln!(c, "RESULT: FAILED (exception)\r");
    exit::exit(exit::ExitCode::Failed)
}
