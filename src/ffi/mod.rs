//! The C ABI for the box's UI layer (`include/msntv_messenger.h`): the only module that may
//! use `unsafe`. Thin by design: no protocol logic lives here.
//!
//! Conventions (after rustls-ffi): every fallible function returns a [`MsgrResult`]; the object
//! comes first, then inputs, then outputs; a byte buffer is always followed by its length;
//! outputs are written only on success; enums that C passes in travel as `uint32_t` and are
//! checked.
#![allow(unsafe_code)]

pub mod client;
pub mod result;

pub use result::{msgr_strerror, MsgrResult};

/// Version of the C ABI; bumped on any incompatible change to `include/msntv_messenger.h`.
pub const MSGR_ABI_VERSION: u32 = 2;

/// Return the version of the C ABI this library implements.
#[no_mangle]
pub extern "C" fn msgr_abi_version() -> u32 {
    MSGR_ABI_VERSION
}
