//! The C ABI for the box's UI layer (`include/msntv_messenger.h`): the only module that may
//! use `unsafe`. Thin by design: no protocol logic lives here.
#![allow(unsafe_code)]

/// Version of the C ABI; bumped on any incompatible change to `include/msntv_messenger.h`.
pub const MSGR_ABI_VERSION: u32 = 1;

/// Return the version of the C ABI this library implements.
#[no_mangle]
pub extern "C" fn msgr_abi_version() -> u32 {
    MSGR_ABI_VERSION
}
