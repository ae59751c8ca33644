//! `msntv-bench rx N`: receive N plain-text messages on an open switchboard through the C ABI
//! (the box's path), with a scripted in-memory server. Run under `valgrind --tool=callgrind`
//! for N and for 0: the difference divided by N is the instructions per received message.

use crate::abi::Bench;
use msntv_messenger::ffi::client::*;

const RX_MSG: &[u8] = b"MSG bob@example.com Bob%20Builder 132\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\nX-MMS-IM-Format: FN=Arial; EF=; CO=0; CS=0; PF=22\r\n\r\nhello from the box!";

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
    let bench = Bench::new(&cfg);
    let c = bench.c;
    let mut messages = 0u32;
    let on = &mut |k| messages += u32::from(k == MsgrEventKind::Message as u32);
    // SAFETY: `c` is a live handle (below too).
    unsafe { msgr_client_sign_in(c, 1) };
    bench.drain(on);
    // SAFETY: live handle.
    unsafe { msgr_client_connected(c, 1, 0) };
    bench.drain(on);
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
        bench.feed(0, line, on);
    }
    // SAFETY: live handle.
    unsafe { msgr_client_connected(c, 1, 2) };
    bench.drain(on);
    bench.feed(
        2,
        b"IRO 1 1 1 bob@example.com Bob%20Builder\r\nANS 1 OK\r\n",
        on,
    );
    for _ in 0..n {
        bench.feed(2, RX_MSG, on);
    }
    assert_eq!(messages, n, "every message arrives as an event");
    println!("rx: {messages} messages received");
}
