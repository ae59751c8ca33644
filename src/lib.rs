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
pub mod error;
pub mod ims;
pub mod limits;
pub mod msnp;
pub mod time;
pub mod wtvp;

#[cfg(any(feature = "selftest", not(target_os = "none")))]
pub mod selftest;

pub use error::ErrorKind;
pub use time::{Duration, Instant};

/// Stop the core on a panic in bare-metal builds that have no platform handler of their own.
///
/// The board firmware and box builds that want their own handler enable `platform-panic`.
#[cfg(all(target_os = "none", not(feature = "platform-panic")))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo<'_>) -> ! {
    extern "C" {
        /// Provided by the box firmware: report the failure and restart the IM subsystem.
        fn msgr_platform_abort() -> !;
    }
    #[allow(unsafe_code)]
    // SAFETY: the symbol is part of the documented platform contract (README, include/).
    unsafe {
        msgr_platform_abort()
    }
}
