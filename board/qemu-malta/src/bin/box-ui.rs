//! The box UI firmware: the C UI (`board/qemu-malta/ui/box_ui.c`, built by build.rs with the
//! libwtv SDK's flags) on the serial console, over the core's C ABI, with the NE2000 network.
//!
//! Configuration comes from QEMU's `-append` (space-separated `key=value`):
//!
//! | key | meaning |
//! |---|---|
//! | `server=IP:PORT` | MSNP server (10.0.2.2 is the host's 127.0.0.1); may be left out in WTVP mode |
//! | `user=PASSPORT` | the account |
//! | `password=TEXT` | password login (MSNP2–MSNP7, `USR MD5`) |
//! | `wtvp=IP:PORT`, `ssid=HEX16` | WTVP login through the WebTV service instead of a password |
//! | `msnp=6,7` | dialects to offer (default: every one the login mode allows) |
//! | `idle=MS` | switch messaging off after this many ms without a key (default 0: never) |
//!
//! The core's arena is a static buffer; the UI prints how much of it the core used. When the UI
//! returns (`/quit`), the firmware prints `RESULT: PASSED` (or `FAILED`) and exits QEMU.
#![no_std]
#![no_main]

use core::cell::UnsafeCell;
use core::ffi::{c_char, c_int, c_void};

use msntv_board_malta::net::{Net, NetConfig};
use msntv_board_malta::{bootargs, box_platform, clock, exit, ne2000, println};

/// Bytes of the core's arena (the UI asks for four conversations and default capacities).
const ARENA_LEN: usize = 160 * 1024;

/// `box_ui_config` from `ui/box_ui.h`.
#[repr(C)]
struct BoxUiConfig {
    passport: *const c_char,
    passport_len: usize,
    password: *const c_char,
    password_len: usize,
    server_host: *const c_char,
    server_host_len: usize,
    server_port: u16,
    login_mode: u32,
    wtvp_host: *const c_char,
    wtvp_host_len: usize,
    wtvp_port: u16,
    ssid: *const c_char,
    ssid_len: usize,
    msnp_versions: u32,
    idle_off_ms: u32,
    arena: *mut c_void,
    arena_len: usize,
}

extern "C" {
    fn box_ui_main(cfg: *const BoxUiConfig) -> c_int;
}

/// The arena handed to the core (8-byte aligned; the core aligns inside it anyway).
#[repr(C, align(8))]
struct Arena(UnsafeCell<[u8; ARENA_LEN]>);

// SAFETY: the firmware is single-threaded and only the core (through the C UI) touches it.
unsafe impl Sync for Arena {}

static ARENA: Arena = Arena(UnsafeCell::new([0; ARENA_LEN]));

/// `msgr_login_mode` values.
const LOGIN_PASSWORD: u32 = 0;
const LOGIN_WTVP: u32 = 2;

fn fail(why: &str) -> ! {
    println!("box-ui: {why}");
    println!("RESULT: FAILED");
    exit::exit(exit::ExitCode::Failed)
}

/// Split `HOST:PORT`.
fn host_port(v: &str) -> Option<(&str, u16)> {
    let (h, p) = v.rsplit_once(':')?;
    Some((h, p.parse().ok()?))
}

/// Parse `6,7` into the ABI's version bits.
fn versions(v: &str) -> Option<u32> {
    let mut bits = 0u32;
    for n in v.split(',') {
        let n: u32 = n.parse().ok()?;
        if !(2..=8).contains(&n) {
            return None;
        }
        bits |= 1 << n;
    }
    Some(bits)
}

fn ptr(s: &str) -> (*const c_char, usize) {
    (s.as_ptr().cast(), s.len())
}

#[no_mangle]
extern "C" fn board_main() -> ! {
    println!(
        "msntv-messenger box UI on {}",
        clock::cpu_name(clock::prid())
    );
    let Some(user) = bootargs::get("user") else {
        fail("need -append \"user=PASSPORT password=... server=10.0.2.2:PORT\"")
    };
    let password = bootargs::get("password").unwrap_or("");
    let (server, server_port) = match bootargs::get("server") {
        Some(v) => host_port(v).unwrap_or_else(|| fail("server must be IP:PORT")),
        None => ("", 0),
    };
    let (wtvp, wtvp_port) = match bootargs::get("wtvp") {
        Some(v) => host_port(v).unwrap_or_else(|| fail("wtvp must be IP:PORT")),
        None => ("", 0),
    };
    let ssid = bootargs::get("ssid").unwrap_or("");
    let msnp = match bootargs::get("msnp") {
        Some(v) => versions(v).unwrap_or_else(|| fail("msnp must list versions 2-8, e.g. 6,7")),
        None => 0,
    };
    let idle = match bootargs::get("idle") {
        Some(v) => v
            .parse()
            .unwrap_or_else(|_| fail("idle must be milliseconds")),
        None => 0,
    };

    let nic = ne2000::Ne2000::malta().unwrap_or_else(|e| {
        println!("NE2000: {e}");
        fail("no network card (pass -device ne2k_isa,netdev=n0,iobase=0x300,irq=9)")
    });
    let net =
        Net::new(nic, NetConfig::QEMU_USER, clock::count(), clock::now()).unwrap_or_else(|e| {
            println!("net: {e}");
            fail("network bring-up failed")
        });
    box_platform::install(net);
    println!("network up: 10.0.2.15/24 via 10.0.2.2");

    let (passport, passport_len) = ptr(user);
    let (password, password_len) = ptr(password);
    let (server_host, server_host_len) = ptr(server);
    let (wtvp_host, wtvp_host_len) = ptr(wtvp);
    let (ssid, ssid_len) = ptr(ssid);
    let cfg = BoxUiConfig {
        passport,
        passport_len,
        password,
        password_len,
        server_host,
        server_host_len,
        server_port,
        login_mode: if wtvp_host_len > 0 {
            LOGIN_WTVP
        } else {
            LOGIN_PASSWORD
        },
        wtvp_host,
        wtvp_host_len,
        wtvp_port,
        ssid,
        ssid_len,
        msnp_versions: msnp,
        idle_off_ms: idle,
        arena: ARENA.0.get().cast(),
        arena_len: ARENA_LEN,
    };
    // SAFETY: `cfg` and every string it points to (the static command line) outlive the call;
    // the arena is a static buffer nothing else uses.
    let rc = unsafe { box_ui_main(&cfg) };
    println!("box-ui: box_ui_main returned {rc}");
    if rc == 0 {
        println!("RESULT: PASSED");
        exit::exit(exit::ExitCode::Passed)
    } else {
        println!("RESULT: FAILED");
        exit::exit(exit::ExitCode::Failed)
    }
}
