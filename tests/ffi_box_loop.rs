//! The C ABI driven the way the box UI drives it, over real 127.0.0.1 TCP against the combined
//! dev service: MSNP8 with the built-in WTVP `messengerlogin`. The loop calls
//! `msgr_client_tick` only when `msgr_client_next_timeout` is due (never on its own), feeds what
//! the sockets bring, and drains events until `NONE` after every call; between rounds it waits
//! for input. A byte the client queues while events are drained and that the ABI does not hand
//! to the transport before the drain ends would stall the sign-in until some timer fires: this
//! test wants the sign-in and the list sync done in a few seconds with no sign-out on the way.
use msntv_devservice::{parse_config, start, Ports};
use msntv_messenger::ffi::client::*;
use msntv_messenger::ffi::MsgrResult;
use std::collections::HashMap;
use std::ffi::c_void;
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

const ACCOUNTS: &str = r#"{
  "settings": { "ticket_secret": "box-loop-secret" },
  "accounts": [
    { "email": "alice@example.com", "password": "alice123", "friendly_name": "Alice",
      "contacts": [ { "email": "bob@example.com", "lists": ["FL", "AL"] } ] },
    { "email": "bob@example.com", "password": "bob123", "friendly_name": "Bob",
      "contacts": [ { "email": "alice@example.com", "lists": ["FL", "AL"] } ] }
  ],
  "boxes": [ { "ssid": "81BEEF0110B00270", "passport": "alice@example.com" } ]
}"#;

/// The transport's state: connection requests to carry out and open sockets.
#[derive(Default)]
struct Net {
    requested: Vec<(u32, String, u16)>,
    socks: HashMap<u32, TcpStream>,
}

unsafe extern "C" fn hook_open(
    user: *mut c_void,
    conn: u32,
    host: *const std::ffi::c_char,
    host_len: usize,
    port: u16,
) -> i32 {
    // SAFETY: `user` is the test's `Net`; the host is `host_len` readable bytes for the call.
    let (net, host) = unsafe {
        (
            &mut *user.cast::<Net>(),
            std::slice::from_raw_parts(host.cast::<u8>(), host_len),
        )
    };
    net.requested
        .push((conn, String::from_utf8_lossy(host).into_owned(), port));
    0
}

unsafe extern "C" fn hook_send(user: *mut c_void, conn: u32, buf: *const u8, len: usize) -> i32 {
    // SAFETY: as above; `buf` is `len` readable bytes for the call.
    let (net, bytes) = unsafe {
        (
            &mut *user.cast::<Net>(),
            std::slice::from_raw_parts(buf, len),
        )
    };
    match net.socks.get_mut(&conn) {
        // Localhost sockets take a sign-in's few hundred bytes at once.
        Some(s) => match s.write_all(bytes) {
            Ok(()) => i32::try_from(len).unwrap_or(i32::MAX),
            Err(_) => -1,
        },
        // Not connected yet: nothing taken, offered again later.
        None => 0,
    }
}

unsafe extern "C" fn hook_close(user: *mut c_void, conn: u32) {
    // SAFETY: as above.
    let net = unsafe { &mut *user.cast::<Net>() };
    net.socks.remove(&conn);
    net.requested.retain(|r| r.0 != conn);
}

fn text(s: msgr_str) -> String {
    if s.len == 0 {
        return String::new();
    }
    // SAFETY: event strings are readable until the next call into the client.
    String::from_utf8_lossy(unsafe { std::slice::from_raw_parts(s.ptr.cast::<u8>(), s.len) })
        .into_owned()
}

#[test]
fn wtvp_sign_in_completes_with_ticks_only_when_due() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let cfg = parse_config(ACCOUNTS).expect("accounts");
    let svc = rt
        .block_on(start(
            cfg,
            Ports {
                ns: 0,
                sb: 0,
                wtvp: 0,
            },
            None,
        ))
        .expect("dev service");

    let net: &mut Net = Box::leak(Box::default());
    let net_ptr: *mut Net = net;
    let limits = msgr_limits {
        contacts: 0,
        groups: 0,
        conversations: 0,
        queued_messages: 0,
        message_bytes: 0,
        contact_bytes: 0,
    };
    // SAFETY: `limits` is readable.
    let need = unsafe { msgr_client_arena_size(&limits) };
    let arena: &mut [u64] = Box::leak(vec![0u64; need / 8 + 16].into_boxed_slice());
    let (passport, host, ssid) = ("alice@example.com", "127.0.0.1", "81BEEF0110B00270");
    let config = msgr_config {
        passport: passport.as_ptr().cast(),
        passport_len: passport.len(),
        password: std::ptr::null(),
        password_len: 0,
        server_host: std::ptr::null(),
        server_host_len: 0,
        server_port: 0,
        msnp_versions: 1 << 8,
        login_mode: MsgrLoginMode::Wtvp as u32,
        wtvp_host: host.as_ptr().cast(),
        wtvp_host_len: host.len(),
        wtvp_port: svc.wtvp.port(),
        ssid: ssid.as_ptr().cast(),
        ssid_len: ssid.len(),
        headwaiter: std::ptr::null(),
        headwaiter_len: 0,
        idle_off_ms: 600_000,
        limits,
    };
    let transport = msgr_transport {
        userdata: net_ptr.cast(),
        open: Some(hook_open),
        send: Some(hook_send),
        close: Some(hook_close),
    };
    let mut client: *mut msgr_client = std::ptr::null_mut();
    // SAFETY: the arena is leaked (outlives the client); config, transport and out are valid.
    let r = unsafe {
        msgr_client_init(
            arena.as_mut_ptr().cast(),
            arena.len() * 8,
            &config,
            &transport,
            &mut client,
        )
    };
    assert_eq!(r, MsgrResult::Ok);

    let epoch = Instant::now();
    let now = || epoch.elapsed().as_millis() as u64;
    let mut log: Vec<String> = Vec::new();
    let mut ticks = 0u32;
    // Drain until NONE, as the box UI does after every call.
    let drain = |log: &mut Vec<String>| loop {
        // SAFETY: an all-zero msgr_event is valid (kind NONE, empty strings).
        let mut e: msgr_event = unsafe { std::mem::zeroed() };
        // SAFETY: `client` is live; `e` is writable.
        assert_eq!(
            unsafe { msgr_client_poll_event(client, &mut e) },
            MsgrResult::Ok
        );
        if e.kind == MsgrEventKind::None as u32 {
            return;
        }
        log.push(format!("{} {} {}", e.kind, text(e.passport), text(e.text)));
    };
    // SAFETY: `client` is live.
    assert_eq!(
        unsafe { msgr_client_sign_in(client, now()) },
        MsgrResult::Ok
    );
    drain(&mut log);

    let deadline = Instant::now() + Duration::from_secs(20);
    let synced = MsgrEventKind::ListsSynced as u32;
    let signed_out = MsgrEventKind::SignedOut as u32;
    while Instant::now() < deadline && !log.iter().any(|l| l.starts_with(&format!("{synced} "))) {
        // SAFETY (every call below): `client` is live, buffers are valid for their lengths.
        // carry out connection requests (a blocking connect to localhost is immediate)
        // SAFETY: `net_ptr` is the leaked `Net`; no hook runs while this borrow is alive.
        let pending: Vec<(u32, String, u16)> = unsafe { std::mem::take(&mut (*net_ptr).requested) };
        for (conn, h, port) in pending {
            match TcpStream::connect((h.as_str(), port)) {
                Ok(s) => {
                    s.set_nonblocking(true).expect("nonblocking");
                    // SAFETY: as above.
                    unsafe { (*net_ptr).socks.insert(conn, s) };
                    assert_eq!(
                        unsafe { msgr_client_connected(client, now(), conn) },
                        MsgrResult::Ok
                    );
                }
                Err(_) => {
                    assert_eq!(
                        unsafe { msgr_client_closed(client, now(), conn) },
                        MsgrResult::Ok
                    );
                }
            }
            drain(&mut log);
        }
        // feed what arrived
        let conns: Vec<u32> = unsafe { (*net_ptr).socks.keys().copied().collect() };
        let mut got_any = false;
        for conn in conns {
            let mut buf = [0u8; 4096];
            let r = unsafe { (*net_ptr).socks.get_mut(&conn).map(|s| s.read(&mut buf)) };
            match r {
                Some(Ok(0)) => {
                    unsafe { (*net_ptr).socks.remove(&conn) };
                    assert_eq!(
                        unsafe { msgr_client_closed(client, now(), conn) },
                        MsgrResult::Ok
                    );
                    drain(&mut log);
                }
                Some(Ok(n)) => {
                    got_any = true;
                    let mut off = 0;
                    while off < n {
                        let mut used = 0usize;
                        let rest = &buf[off..n];
                        let r = unsafe {
                            msgr_client_received(
                                client,
                                now(),
                                conn,
                                rest.as_ptr(),
                                rest.len(),
                                &mut used,
                            )
                        };
                        assert_eq!(r, MsgrResult::Ok);
                        drain(&mut log);
                        if used == 0 {
                            break;
                        }
                        off += used;
                    }
                    assert_eq!(off, n, "the client took every byte of a complete exchange");
                }
                Some(Err(e)) if e.kind() == ErrorKind::WouldBlock => {}
                Some(Err(_)) | None => {}
            }
        }
        // the timer, only when due
        let mut due = u64::MAX;
        assert_eq!(
            unsafe { msgr_client_next_timeout(client, &mut due) },
            MsgrResult::Ok
        );
        if due <= now() {
            ticks += 1;
            assert_eq!(unsafe { msgr_client_tick(client, now()) }, MsgrResult::Ok);
            drain(&mut log);
        }
        if !got_any {
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    let elapsed = epoch.elapsed();
    assert!(
        log.iter().any(|l| l.starts_with(&format!("{synced} "))),
        "signed in and synced within 20 s; events: {log:?}"
    );
    assert!(
        !log.iter().any(|l| l.starts_with(&format!("{signed_out} "))),
        "no sign-out on the way: {log:?}"
    );
    assert!(
        elapsed < Duration::from_secs(5),
        "the sign-in moved at network speed ({elapsed:?}, {ticks} timer calls): {log:?}"
    );
    // SAFETY: `client` is live and not used after this.
    unsafe { msgr_client_deinit(client) };
}
