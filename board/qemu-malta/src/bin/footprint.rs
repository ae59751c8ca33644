//! Measure the arena the C ABI uses for the reference box scenario: 150 contacts in 30 groups,
//! 4 conversations with 10 queued messages each, built-in WTVP login. Nothing is allocated
//! after `msgr_client_init`, so its high-water mark is the arena's peak. Prints
//! `footprint arena_need=N arena_high_water=N` for `ci/footprint`.
#![no_std]
#![no_main]

use core::ffi::c_void;
use msntv_board_malta::{exit, println};
use msntv_messenger::ffi::client::*;
use msntv_messenger::ffi::MsgrResult;

const ARENA_LEN: usize = 512 * 1024;

#[repr(align(16))]
struct Arena([u8; ARENA_LEN]);

static mut ARENA: Arena = Arena([0; ARENA_LEN]);

unsafe extern "C" fn open(
    _: *mut c_void,
    _: u32,
    _: *const core::ffi::c_char,
    _: usize,
    _: u16,
) -> i32 {
    -1
}
unsafe extern "C" fn send(_: *mut c_void, _: u32, _: *const u8, len: usize) -> i32 {
    i32::try_from(len).unwrap_or(i32::MAX)
}
unsafe extern "C" fn close(_: *mut c_void, _: u32) {}

#[no_mangle]
extern "C" fn board_main() -> ! {
    let limits = msgr_limits {
        contacts: 150,
        groups: 30,
        conversations: 4,
        queued_messages: 40,
        message_bytes: 0,
        contact_bytes: 0,
    };
    // SAFETY: `limits` is a readable msgr_limits.
    let need = unsafe { msgr_client_arena_size(&limits) };
    let passport = "tvuser@example.com";
    let host = "10.0.2.2";
    let ssid = "81C0FFEE10B00254";
    let cfg = msgr_config {
        passport: passport.as_ptr().cast(),
        passport_len: passport.len(),
        password: core::ptr::null(),
        password_len: 0,
        server_host: core::ptr::null(),
        server_host_len: 0,
        server_port: 0,
        msnp_versions: 0,
        login_mode: MsgrLoginMode::Wtvp as u32,
        wtvp_host: host.as_ptr().cast(),
        wtvp_host_len: host.len(),
        wtvp_port: 1615,
        ssid: ssid.as_ptr().cast(),
        ssid_len: ssid.len(),
        headwaiter: core::ptr::null(),
        headwaiter_len: 0,
        idle_off_ms: 600_000,
        limits,
    };
    let transport = msgr_transport {
        userdata: core::ptr::null_mut(),
        open: Some(open),
        send: Some(send),
        close: Some(close),
    };
    let mut client: *mut msgr_client = core::ptr::null_mut();
    // SAFETY: the static arena is used by this one client only; single-threaded firmware.
    #[allow(static_mut_refs)]
    let r = unsafe {
        msgr_client_init(
            ARENA.0.as_mut_ptr().cast(),
            ARENA_LEN,
            &cfg,
            &transport,
            &mut client,
        )
    };
    if r != MsgrResult::Ok {
        println!("footprint: msgr_client_init failed: {}", r as u32);
        println!("RESULT: FAILED (init)");
        exit::exit(exit::ExitCode::Failed)
    }
    // SAFETY: `client` came from msgr_client_init.
    let hw = unsafe { msgr_client_arena_high_water(client) };
    println!("footprint arena_need={need} arena_high_water={hw}");
    println!("RESULT: PASSED");
    exit::exit(exit::ExitCode::Passed)
}
