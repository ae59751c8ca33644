//! The 16550 UARTs on malta's ISA bus, polled, no interrupts.

const COM1: usize = 0xB800_03F8;
const COM2: usize = 0xB800_02F8;
const THR: usize = 0;
const LSR: usize = 5;
const LSR_THRE: u8 = 0x20;
const LSR_DR: u8 = 0x01;

/// Write one byte to the UART at `base`, waiting for the transmitter.
fn put(base: usize, b: u8) {
    // SAFETY: fixed MMIO addresses of the malta ISA UARTs, valid in KSEG1 on this machine.
    unsafe {
        while core::ptr::read_volatile((base + LSR) as *const u8) & LSR_THRE == 0 {}
        core::ptr::write_volatile((base + THR) as *mut u8, b);
    }
}

/// Write bytes to the console UART (COM1).
pub fn write_bytes(bytes: &[u8]) {
    for &b in bytes {
        put(COM1, b);
    }
}

/// Read one byte from the console UART if one has arrived.
pub fn try_read_byte() -> Option<u8> {
    // SAFETY: fixed MMIO addresses of the malta ISA UARTs.
    unsafe {
        if core::ptr::read_volatile((COM1 + LSR) as *const u8) & LSR_DR != 0 {
            Some(core::ptr::read_volatile((COM1 + THR) as *const u8))
        } else {
            None
        }
    }
}

/// Write raw bytes to the log UART (COM2), where `defmt` frames go.
pub fn write_log_bytes(bytes: &[u8]) {
    for &b in bytes {
        put(COM2, b);
    }
}

/// The console as a `core::fmt::Write` sink.
pub struct Console;

impl core::fmt::Write for Console {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        write_bytes(s.as_bytes());
        Ok(())
    }
}

/// Print formatted text on the console.
#[macro_export]
macro_rules! print {
    ($($t:tt)*) => {{
        use core::fmt::Write as _;
        let _ = write!($crate::console::Console, $($t)*);
    }};
}

/// Print formatted text and CRLF on the console.
#[macro_export]
macro_rules! println {
    ($($t:tt)*) => {{
        use core::fmt::Write as _;
        let _ = write!($crate::console::Console, $($t)*);
        $crate::console::write_bytes(b"\r\n");
    }};
}
