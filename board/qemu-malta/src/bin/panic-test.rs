//! The panic boundary on the guest: a panic forced inside the core (`msgr_test_force_panic`,
//! feature `test-hooks`) cannot unwind on the target, so it must end in the documented abort:
//! the core's panic handler calls `msgr_platform_panic`, which prints `PANIC at file:line:col`
//! and `RESULT: FAILED (panic)`. `ci/qemu-test` runs this with `--expect-panic`, which counts
//! exactly that ending as a pass and anything else (returning, hanging) as a failure.
#![no_std]
#![no_main]

use msntv_board_malta::{clock, exit, println};
use msntv_messenger::ffi::client::{
    msgr_client, msgr_client_arena_size, msgr_client_init, msgr_config, msgr_limits,
    msgr_test_force_panic, msgr_transport,
};
use msntv_messenger::ffi::MsgrResult;

/// The client's arena (small limits keep it small).
static mut ARENA: [u64; 8192] = [0; 8192];

unsafe extern "C" fn no_open(
    _: *mut core::ffi::c_void,
    _: u32,
    _: *const core::ffi::c_char,
    _: usize,
    _: u16,
) -> i32 {
    -1
}

unsafe extern "C" fn no_send(_: *mut core::ffi::c_void, _: u32, _: *const u8, _: usize) -> i32 {
    -1
}

unsafe extern "C" fn no_close(_: *mut core::ffi::c_void, _: u32) {}

#[no_mangle]
extern "C" fn board_main() -> ! {
    let prid = clock::prid();
    println!(
        "msntv-messenger panic-test on {} (PRId 0x{prid:08x})",
        clock::cpu_name(prid)
    );
    let limits = msgr_limits {
        contacts: 4,
        groups: 2,
        conversations: 1,
        queued_messages: 2,
        message_bytes: 0,
        contact_bytes: 0,
    };
    let passport = b"alice@example.com";
    let password = b"alice123";
    let host = b"127.0.0.1";
    let cfg = msgr_config {
        passport: passport.as_ptr().cast(),
        passport_len: passport.len(),
        password: password.as_ptr().cast(),
        password_len: password.len(),
        server_host: host.as_ptr().cast(),
        server_host_len: host.len(),
        server_port: 1863,
        msnp_versions: 0,
        login_mode: 0,
        wtvp_host: core::ptr::null(),
        wtvp_host_len: 0,
        wtvp_port: 0,
        ssid: core::ptr::null(),
        ssid_len: 0,
        headwaiter: core::ptr::null(),
        headwaiter_len: 0,
        idle_off_ms: 0,
        limits,
    };
    let transport = msgr_transport {
        userdata: core::ptr::null_mut(),
        open: Some(no_open),
        send: Some(no_send),
        close: Some(no_close),
    };
    // SAFETY: `limits` is a readable msgr_limits.
    let need = unsafe { msgr_client_arena_size(&limits) };
    let arena = core::ptr::addr_of_mut!(ARENA);
    let mut client: *mut msgr_client = core::ptr::null_mut();
    // SAFETY: the arena is a static used by nothing else; the config strings outlive the call.
    let r = unsafe {
        msgr_client_init(
            arena.cast(),
            core::mem::size_of_val(&*arena),
            &cfg,
            &transport,
            &mut client,
        )
    };
    if r != MsgrResult::Ok || need > core::mem::size_of::<[u64; 8192]>() {
        println!("panic-test: msgr_client_init failed ({})", r as u32);
        println!("RESULT: FAILED (setup)");
        exit::exit(exit::ExitCode::Failed)
    }
    println!("panic-test: forcing a panic inside the core (msgr_test_force_panic)");
    // SAFETY: `client` came from msgr_client_init.
    let r = unsafe { msgr_test_force_panic(client) };
    // Reaching this line means the panic did not end in the documented abort.
    println!("panic-test: msgr_test_force_panic returned {}", r as u32);
    println!("RESULT: FAILED (the forced panic returned)");
    exit::exit(exit::ExitCode::Failed)
}
