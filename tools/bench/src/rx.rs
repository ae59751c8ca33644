//! `msntv-bench rx N`: receive N plain-text messages on an open switchboard through the C ABI
//! (the box's path), with a scripted in-memory server. Run under `valgrind --tool=callgrind`
//! for N and for 0: the difference divided by N is the instructions per received message.

use msntv_messenger::ffi::client::*;
use msntv_messenger::ffi::MsgrResult;
use std::ffi::{c_char, c_void};

unsafe extern "C" fn open(_: *mut c_void, _: u32, _: *const c_char, _: usize, _: u16) -> i32 {
    0
}
unsafe extern "C" fn send(_: *mut c_void, _: u32, _: *const u8, len: usize) -> i32 {
    i32::try_from(len).unwrap_or(i32::MAX)
}
unsafe extern "C" fn close(_: *mut c_void, _: u32) {}

const RX_MSG: &[u8] = b"MSG bob@example.com Bob%20Builder 132\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\nX-MMS-IM-Format: FN=Arial; EF=; CO=0; CS=0; PF=22\r\n\r\nhello from the box!";

fn drain(c: *mut msgr_client) -> u32 {
    let mut messages = 0;
    loop {
        let mut ev = std::mem::MaybeUninit::<msgr_event>::uninit();
        // SAFETY: live handle, writable event.
        assert_eq!(
            unsafe { msgr_client_poll_event(c, ev.as_mut_ptr()) },
            MsgrResult::Ok
        );
        // SAFETY: written on success.
        let ev = unsafe { ev.assume_init() };
        if ev.kind == MsgrEventKind::None as u32 {
            return messages;
        }
        if ev.kind == MsgrEventKind::Message as u32 {
            messages += 1;
        }
    }
}

fn feed(c: *mut msgr_client, conn: u32, mut bytes: &[u8]) -> u32 {
    let mut messages = 0;
    while !bytes.is_empty() {
        let mut n = 0usize;
        // SAFETY: readable input, writable count.
        let r = unsafe { msgr_client_received(c, 1, conn, bytes.as_ptr(), bytes.len(), &mut n) };
        assert_eq!(r, MsgrResult::Ok);
        bytes = &bytes[n..];
        messages += drain(c);
    }
    messages + drain(c)
}

/// Sign in with a scripted MSNP7 server, accept an invitation, then receive `n` messages.
pub fn run(n: u32) {
    let passport = "tvuser@example.com";
    let password = "password";
    let host = "127.0.0.1";
    let cfg = msgr_config {
        passport: passport.as_ptr().cast(),
        passport_len: passport.len(),
        password: password.as_ptr().cast(),
        password_len: password.len(),
        server_host: host.as_ptr().cast(),
        server_host_len: host.len(),
        server_port: 1863,
        msnp_versions: 1 << 7,
        login_mode: MsgrLoginMode::Password as u32,
        wtvp_host: std::ptr::null(),
        wtvp_host_len: 0,
        wtvp_port: 0,
        ssid: std::ptr::null(),
        ssid_len: 0,
        headwaiter: std::ptr::null(),
        headwaiter_len: 0,
        idle_off_ms: 0,
        limits: msgr_limits {
            contacts: 150,
            groups: 30,
            conversations: 4,
            queued_messages: 10,
            message_bytes: 0,
            contact_bytes: 0,
        },
    };
    let transport = msgr_transport {
        userdata: std::ptr::null_mut(),
        open: Some(open),
        send: Some(send),
        close: Some(close),
    };
    // SAFETY: `cfg.limits` is a readable msgr_limits.
    let len = unsafe { msgr_client_arena_size(&cfg.limits) };
    let mut arena = vec![0u64; len / 8 + 1];
    let mut c: *mut msgr_client = std::ptr::null_mut();
    // SAFETY: the arena outlives the client; config and hooks are readable.
    let r = unsafe {
        msgr_client_init(
            arena.as_mut_ptr().cast(),
            arena.len() * 8,
            &cfg,
            &transport,
            &mut c,
        )
    };
    assert_eq!(r, MsgrResult::Ok);
    // SAFETY: `c` is a live handle (below too).
    unsafe { msgr_client_sign_in(c, 1) };
    drain(c);
    // SAFETY: live handle.
    unsafe { msgr_client_connected(c, 1, 0) };
    drain(c);
    for line in [
        &b"VER 1 MSNP7\r\n"[..],
        b"CVR 2 2.8 2.8 2.8 http://x http://x\r\n",
        b"INF 3 MD5\r\n",
        b"USR 4 MD5 S 1013928519.693957190\r\n",
        b"USR 5 OK tvuser@example.com TV%20User 1\r\n",
        b"SYN 6 1\r\nGTC 6 1 A\r\nBLP 6 1 AL\r\nLST 6 FL 1 0 0\r\nLST 6 AL 1 0 0\r\nLST 6 BL 1 0 0\r\nLST 6 RL 1 0 0\r\n",
        b"CHG 7 NLN\r\n",
        b"RNG 1234567 10.0.2.2:1864 CKI 98765.4321 bob@example.com Bob%20Builder\r\n",
    ] {
        feed(c, 0, line);
    }
    // SAFETY: live handle.
    unsafe { msgr_client_connected(c, 1, 2) };
    drain(c);
    feed(
        c,
        2,
        b"IRO 1 1 1 bob@example.com Bob%20Builder\r\nANS 1 OK\r\n",
    );
    let mut got = 0;
    for _ in 0..n {
        got += feed(c, 2, RX_MSG);
    }
    assert_eq!(got, n, "every message arrives as an event");
    println!("rx: {got} messages received");
    // SAFETY: the handle is not used afterwards.
    unsafe { msgr_client_deinit(c) };
}
