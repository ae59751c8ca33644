//! `msntv-bench login`: the guest `login` workload on the host, for profiling under
//! `valgrind --tool=callgrind`: an MSNP8 sign-in (TWN, delegate login answer) with a
//! 150-contact, 30-group `SYN` and 150 `ILN` lines, one server line at a time, every event
//! drained through the C ABI (board/qemu-malta/src/bin/bench.rs does the same on the guest).

use crate::abi::Bench;
use msntv_messenger::ffi::client::*;
use msntv_messenger::ffi::MsgrResult;
use std::fmt::Write as _;

const CONTACTS: usize = 150;
const GROUPS: usize = 30;
const TICKET: &[u8] = b"t=53616c7465645f5f5f5f5f5f5f5f5f5f&p=6d6f636b5f7469636b6574";

#[derive(Default)]
struct Tally {
    signed_in: u32,
    synced: u32,
    presence: u32,
    login_request: u32,
}

impl Tally {
    fn see(&mut self, kind: u32) {
        match kind {
            k if k == MsgrEventKind::SignedIn as u32 => self.signed_in += 1,
            k if k == MsgrEventKind::ListsSynced as u32 => self.synced += 1,
            k if k == MsgrEventKind::Presence as u32 => self.presence += 1,
            k if k == MsgrEventKind::LoginRequest as u32 => self.login_request += 1,
            _ => {}
        }
    }
}

fn script() -> String {
    let mut w = String::new();
    w.push_str("VER 1 MSNP8\r\nCVR 2 2.8 2.8 2.8 http://x http://x\r\nUSR 3 TWN S ct=1,rver=1,wp=FS_40SEC_0_COMPACT,lc=1,id=1\r\n");
    w.push_str("USR 4 OK tvuser@example.com TV%20User 1 0\r\n");
    let _ = write!(w, "SYN 5 1 {CONTACTS} {GROUPS}\r\nGTC A\r\nBLP AL\r\n");
    for g in 0..GROUPS {
        let _ = write!(w, "LSG {g} Group%20{g} 0\r\n");
    }
    for i in 0..CONTACTS {
        let _ = write!(
            w,
            "LST user{i}@example.com User%20{i} 11 {}\r\n",
            i % GROUPS
        );
    }
    w.push_str("CHG 6 NLN 0\r\n");
    for i in 0..CONTACTS {
        let _ = write!(w, "ILN 6 NLN user{i}@example.com User%20{i} 0\r\n");
    }
    w
}

/// Sign in `rounds` times (0: only set the client up), each on a fresh client.
pub fn run(rounds: u32) {
    let script = script();
    for _ in 0..rounds.max(1) {
        let passport = "tvuser@example.com";
        let host = "10.0.2.2";
        let cfg = msgr_config {
            passport: passport.as_ptr().cast(),
            passport_len: passport.len(),
            password: std::ptr::null(),
            password_len: 0,
            server_host: host.as_ptr().cast(),
            server_host_len: host.len(),
            server_port: 1863,
            msnp_versions: 1 << 8,
            login_mode: MsgrLoginMode::Delegate as u32,
            wtvp_host: std::ptr::null(),
            wtvp_host_len: 0,
            wtvp_port: 0,
            ssid: std::ptr::null(),
            ssid_len: 0,
            headwaiter: std::ptr::null(),
            headwaiter_len: 0,
            idle_off_ms: 0,
            limits: msgr_limits {
                contacts: CONTACTS as u32,
                groups: GROUPS as u32,
                conversations: 4,
                queued_messages: 10,
                contact_bytes: 0,
                message_bytes: 0,
            },
        };
        let bench = Bench::new(&cfg);
        let c = bench.c;
        if rounds == 0 {
            return;
        }
        let mut t = Tally::default();
        let on = &mut |k| t.see(k);
        // SAFETY: live handle (below too).
        unsafe { msgr_client_sign_in(c, 1) };
        bench.drain(on);
        // SAFETY: live handle.
        unsafe { msgr_client_connected(c, 1, 0) };
        bench.drain(on);
        for line in script.split_inclusive('\n') {
            bench.feed(0, line.as_bytes(), on);
            if line.starts_with("USR ") && line.contains(" S ") {
                // SAFETY: every buffer is readable for its length.
                let r = unsafe {
                    msgr_client_login_reply(
                        c,
                        1,
                        200,
                        b"OK".as_ptr(),
                        2,
                        std::ptr::null(),
                        0,
                        TICKET.as_ptr(),
                        TICKET.len(),
                    )
                };
                assert_eq!(r, MsgrResult::Ok);
                bench.drain(on);
            }
        }
        assert_eq!(
            (t.signed_in, t.synced, t.presence, t.login_request),
            (1, 1, CONTACTS as u32, 1),
            "the sign-in completes"
        );
    }
    println!("login: {rounds} sign-ins");
}
