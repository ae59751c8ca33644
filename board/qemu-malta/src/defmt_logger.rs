//! The `defmt` global logger: frames go to COM2 and are decoded on the host with `defmt-print`.

use core::cell::UnsafeCell;

struct EncoderCell(UnsafeCell<defmt::Encoder>);

// SAFETY: the firmware is single-threaded and runs with interrupts off.
unsafe impl Sync for EncoderCell {}

static ENCODER: EncoderCell = EncoderCell(UnsafeCell::new(defmt::Encoder::new()));

#[defmt::global_logger]
struct Logger;

// SAFETY: single-threaded, no interrupts: acquire/release cannot nest across contexts.
unsafe impl defmt::Logger for Logger {
    fn acquire() {
        // SAFETY: see the impl note; only one frame is open at a time.
        unsafe { (*ENCODER.0.get()).start_frame(crate::console::write_log_bytes) }
    }

    unsafe fn flush() {}

    unsafe fn release() {
        // SAFETY: called after acquire by defmt.
        unsafe { (*ENCODER.0.get()).end_frame(crate::console::write_log_bytes) }
    }

    unsafe fn write(bytes: &[u8]) {
        // SAFETY: called between acquire and release by defmt.
        unsafe { (*ENCODER.0.get()).write(bytes, crate::console::write_log_bytes) }
    }
}

defmt::timestamp!("{=u64:ms}", crate::clock::now_ms());
