//! The kernel command line QEMU's malta loader passes (`-append "..."`), read from the YAMON
//! style argument table it writes at physical 0x2000 before jumping to the kernel.
//!
//! Layout (QEMU `hw/mips/malta.c`): 16 big-endian 32-bit KSEG0 pointers at 0x80002000, then
//! 256-byte NUL-terminated strings; pointer 0 is the kernel file name, pointer 1 the command
//! line. Every pointer and length is checked against that area, so a missing or garbled table
//! gives `None`, never a fault.

/// The KSEG0 address of the argument table.
const TABLE: usize = 0x8000_2000;
/// Entries in the table.
const ENTRIES: usize = 16;
/// Bytes per string slot.
const ENTRY_SIZE: usize = 256;
/// One past the last byte of the table and its strings.
const END: usize = TABLE + ENTRIES * 4 + ENTRIES * ENTRY_SIZE;

fn read_u8(addr: usize) -> u8 {
    // SAFETY: callers only pass addresses in TABLE..END, low RAM that the image never uses
    // (the linker script places the firmware at 0x80100000), mapped through KSEG0.
    unsafe { core::ptr::read_volatile(addr as *const u8) }
}

fn entry(index: usize) -> Option<&'static str> {
    if index >= ENTRIES {
        return None;
    }
    let at = TABLE + index * 4;
    let ptr = u32::from_be_bytes([
        read_u8(at),
        read_u8(at + 1),
        read_u8(at + 2),
        read_u8(at + 3),
    ]) as usize;
    if !(TABLE + ENTRIES * 4..END).contains(&ptr) {
        return None;
    }
    let max = (END - ptr).min(ENTRY_SIZE);
    let len = (0..max).find(|&i| read_u8(ptr + i) == 0)?;
    // SAFETY: `ptr..ptr+len` lies inside the table area checked above (see `read_u8`), which
    // nothing writes after QEMU's loader.
    let bytes = unsafe { core::slice::from_raw_parts(ptr as *const u8, len) };
    core::str::from_utf8(bytes).ok()
}

/// Return the command line given with QEMU's `-append`, or `None` if there is none.
pub fn cmdline() -> Option<&'static str> {
    entry(1).filter(|s| !s.is_empty())
}

/// Return the value of `key=value` on the command line, if present.
pub fn get(key: &str) -> Option<&'static str> {
    cmdline()?.split_ascii_whitespace().find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == key).then_some(v)
    })
}
