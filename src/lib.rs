//! msntv-messenger: a `no_std` MSN Messenger (MSNP2–MSNP8) core for WebTV / MSN TV boxes.
//!
//! Layering (dependencies point down only):
//!
//! ```text
//!   ffi            C ABI for the box's UI layer (the only module allowed `unsafe`)
//!   msnp::ns  msnp::sb  ims      sans-I/O sessions and the idle timer
//!   auth      wtvp               login answers: MD5, CHL/QRY, WTVP SECURE messengerlogin
//!   msnp::wire                   fixed-buffer framing and typed commands
//!   time  error  limits  log     shared vocabulary
//! ```
//!
//! Contract: no input can panic the core or grow its memory beyond the capacities the caller
//! chose. The core never reads a clock and never touches a socket: the caller feeds bytes and the
//! current [`time::Instant`], and drains bytes to send, connection requests and events.
#![cfg_attr(target_os = "none", no_std)]
#![deny(unsafe_code)]
#![warn(missing_docs)]

#[cfg(any(feature = "alloc", not(target_os = "none")))]
extern crate alloc;

#[macro_use]
pub mod log;

pub mod auth;
pub mod client;
pub mod error;
pub mod ffi;
pub mod ims;
pub mod limits;
pub mod msnp;
pub mod time;
pub mod wtvp;

#[cfg(any(feature = "selftest", not(target_os = "none")))]
pub mod selftest;

pub use error::ErrorKind;
pub use time::{Duration, Instant};

/// Hand a panic to the platform in bare-metal builds: the box firmware (or the QEMU board)
/// defines `msgr_platform_panic`, reports the location and restarts the IM subsystem.
///
/// The core cannot unwind on the target (`panic = abort`); this hook is the documented abort.
#[cfg(target_os = "none")]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    extern "C" {
        fn msgr_platform_panic(file: *const u8, file_len: usize, line: u32, column: u32) -> !;
    }
    let (file, line, column) = match info.location() {
        Some(l) => (l.file(), l.line(), l.column()),
        None => ("<unknown>", 0, 0),
    };
    #[allow(unsafe_code)]
    // SAFETY: the platform contract (README, include/) requires the symbol; the pointer and
    // length describe a `'static` string.
    unsafe {
        msgr_platform_panic(file.as_ptr(), file.len(), line, column)
    }
}
