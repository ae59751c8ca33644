//! The box UI's platform (`board/qemu-malta/ui/box_platform.h`) on QEMU malta: the C UI's
//! `plat_*` calls over [`console`], [`clock`] and [`net`].
//!
//! Connection numbers are the core's (0 = NS, 1 = WTVP, 2 + n = switchboard of conversation
//! slot n) and map onto the board's six TCP slots: NS → [`ConnId::NS`], WTVP → [`ConnId::WTVP`],
//! switchboard n → [`ConnId::switchboard`]`(n)` (n < 4). Hosts must be dotted IPv4 (the guest
//! has no DNS); a loopback address (127.x.x.x, or `localhost`) means the QEMU host, 10.0.2.2,
//! because a dev server on the host announces its switchboard as 127.0.0.1.
//!
//! The firmware hands its [`Net`] over with [`install`] before it runs the C UI; everything
//! here runs on the one thread of the firmware, never from an exception.

use core::cell::UnsafeCell;
use core::ffi::{c_char, c_int, CStr};

use crate::net::{ConnId, ConnState, Net, QEMU_HOST};
use crate::{clock, console};

/// The network, once installed (single-threaded firmware: see [`with_net`]).
struct NetCell(UnsafeCell<Option<Net>>);

// SAFETY: the firmware has one thread and no interrupt handlers touch the network, so the cell
// is never reached from two places at once; `with_net` hands out one borrow at a time.
unsafe impl Sync for NetCell {}

static NET: NetCell = NetCell(UnsafeCell::new(None));

/// Hand the network to the platform functions (call once, before the C UI runs).
pub fn install(net: Net) {
    // SAFETY: single-threaded, and no `with_net` borrow is live while the firmware installs.
    unsafe { *NET.0.get() = Some(net) };
}

/// Run `f` on the installed network, or return `default` if there is none.
fn with_net<R>(default: R, f: impl FnOnce(&mut Net) -> R) -> R {
    // SAFETY: single-threaded; the `plat_*` functions never call each other while borrowing,
    // so this is the only live reference.
    let net = unsafe { &mut *NET.0.get() };
    match net.as_mut() {
        Some(n) => f(n),
        None => default,
    }
}

/// Map the core's connection number onto a board slot.
fn slot(conn: u32) -> Option<ConnId> {
    match conn {
        0 => Some(ConnId::NS),
        1 => Some(ConnId::WTVP),
        n => ConnId::switchboard(usize::try_from(n.checked_sub(2)?).ok()?),
    }
}

/// Parse a dotted IPv4 host; loopback names and addresses become the QEMU host.
fn parse_host(host: &[u8]) -> Option<[u8; 4]> {
    if host.eq_ignore_ascii_case(b"localhost") {
        return Some(QEMU_HOST);
    }
    let s = core::str::from_utf8(host).ok()?;
    let mut ip = [0u8; 4];
    let mut parts = s.split('.');
    for b in ip.iter_mut() {
        let p = parts.next()?;
        if p.is_empty() || p.len() > 3 || !p.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        *b = p.parse().ok()?;
    }
    if parts.next().is_some() {
        return None;
    }
    Some(if ip[0] == 127 { QEMU_HOST } else { ip })
}

/// Return milliseconds since boot.
#[no_mangle]
pub extern "C" fn plat_now_ms() -> u64 {
    clock::now_ms()
}

/// Return the next console byte, or -1 if none is waiting.
#[no_mangle]
pub extern "C" fn plat_getc() -> c_int {
    console::try_read_byte().map_or(-1, c_int::from)
}

/// Write one byte to the console.
#[no_mangle]
pub extern "C" fn plat_putc(c: c_char) {
    console::write_bytes(&[c as u8]);
}

/// Write a NUL-terminated string to the console.
///
/// # Safety
/// `s` must be NULL or a readable NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn plat_puts(s: *const c_char) {
    if s.is_null() {
        return;
    }
    // SAFETY: a NUL-terminated string per the contract.
    let s = unsafe { CStr::from_ptr(s) };
    console::write_bytes(s.to_bytes());
}

/// Start opening `conn` to `host:port`; 0 if started.
///
/// # Safety
/// `host` must be `host_len` readable bytes (or NULL with 0).
#[no_mangle]
pub unsafe extern "C" fn plat_open(
    conn: u32,
    host: *const c_char,
    host_len: usize,
    port: u16,
) -> c_int {
    if host.is_null() || host_len == 0 || port == 0 {
        return -1;
    }
    // SAFETY: readable per the contract.
    let host = unsafe { core::slice::from_raw_parts(host.cast::<u8>(), host_len) };
    let (Some(id), Some(ip)) = (slot(conn), parse_host(host)) else {
        return -1;
    };
    with_net(-1, |net| {
        if net.open(id, ip, port).is_ok() {
            return 0;
        }
        // The slot is still closing from its last use: cut that off and start again.
        net.abort(id);
        net.poll(clock::now());
        match net.open(id, ip, port) {
            Ok(()) => 0,
            Err(_) => -1,
        }
    })
}

/// Write up to `len` bytes on `conn`; how many were taken, or -1.
///
/// # Safety
/// `buf` must be `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn plat_send(conn: u32, buf: *const u8, len: usize) -> c_int {
    let Some(id) = slot(conn) else {
        return -1;
    };
    if len == 0 {
        return 0;
    }
    if buf.is_null() {
        return -1;
    }
    let len = len.min(i32::MAX as usize);
    // SAFETY: readable per the contract.
    let data = unsafe { core::slice::from_raw_parts(buf, len) };
    with_net(-1, |net| match net.send(id, data) {
        Ok(n) => {
            net.poll(clock::now());
            c_int::try_from(n).unwrap_or(c_int::MAX)
        }
        Err(_) => -1,
    })
}

/// Read up to `len` bytes from `conn`; how many (0: none yet), or -1 once closed.
///
/// # Safety
/// `buf` must be `len` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn plat_recv(conn: u32, buf: *mut u8, len: usize) -> c_int {
    let Some(id) = slot(conn) else {
        return -1;
    };
    if buf.is_null() || len == 0 {
        return 0;
    }
    let len = len.min(i32::MAX as usize);
    // SAFETY: writable per the contract.
    let out = unsafe { core::slice::from_raw_parts_mut(buf, len) };
    with_net(-1, |net| match net.recv(id, out) {
        Ok(n) => c_int::try_from(n).unwrap_or(c_int::MAX),
        Err(_) => -1,
    })
}

/// Release `conn`, closing it gracefully if open.
#[no_mangle]
pub extern "C" fn plat_close(conn: u32) {
    if let Some(id) = slot(conn) {
        with_net((), |net| net.close(id));
    }
}

/// Return the state of `conn` (`enum plat_conn_state`).
#[no_mangle]
pub extern "C" fn plat_poll_state(conn: u32) -> c_int {
    const CONNECTING: c_int = 1;
    const OPEN: c_int = 2;
    const CLOSED: c_int = 3;
    let Some(id) = slot(conn) else {
        return CLOSED;
    };
    with_net(CLOSED, |net| match net.state(id) {
        ConnState::Connecting => CONNECTING,
        // Bytes may remain after the peer's FIN: plat_recv reports the end.
        ConnState::Established | ConnState::PeerClosed => OPEN,
        ConnState::Closing | ConnState::Closed | ConnState::Failed => CLOSED,
    })
}

/// Move network frames (the guest has nothing to sleep on: one poll per call).
#[no_mangle]
pub extern "C" fn plat_wait(_max_ms: u32) {
    with_net((), |net| {
        net.poll(clock::now());
    });
}
