//! Guest benchmarks: instruction counts under `qemu -icount shift=0,sleep=off` (see `bench`).
//! Prints one `bench NAME insns=N ops=M` line per workload; `ci/bench` turns them into figures.
//!
//! The workloads drive the whole client through the C ABI, as the box's UI does, with transport
//! hooks that swallow what the client sends and a scripted server whose bytes are generated
//! before each measurement (so only the client's work is counted):
//!  - `login`: MSNP8 sign-in (TWN, delegate login answer) with a 150-contact, 30-group `SYN`
//!    and 150 `ILN` presence lines, every event drained;
//!  - `rx_msg`: 1,000 received plain-text messages on an open switchboard, events drained;
//!  - `tx_msg`: 1,000 sent messages (ack mode A) each followed by its `ACK`, outcomes drained.
#![no_std]
#![no_main]

use core::ffi::{c_char, c_void};
use core::fmt::Write as _;
use msntv_board_malta::{bench, exit, println};
use msntv_messenger::ffi::client::*;
use msntv_messenger::ffi::MsgrResult;

const ARENA_LEN: usize = 512 * 1024;
const SCRIPT_LEN: usize = 64 * 1024;
const CONTACTS: usize = 150;
const GROUPS: usize = 30;
const MESSAGES: u32 = 1000;

#[repr(align(16))]
struct Arena([u8; ARENA_LEN]);

static mut ARENA: Arena = Arena([0; ARENA_LEN]);
static mut SCRIPT: [u8; SCRIPT_LEN] = [0; SCRIPT_LEN];

/// What the fake transport saw.
static mut OPENED: [bool; 8] = [false; 8];
static mut SENT_BYTES: usize = 0;

unsafe extern "C" fn open(_: *mut c_void, conn: u32, _: *const c_char, _: usize, _: u16) -> i32 {
    // SAFETY: single-threaded firmware.
    unsafe {
        if let Some(o) = (*core::ptr::addr_of_mut!(OPENED)).get_mut(conn as usize) {
            *o = true;
        }
    }
    0
}

unsafe extern "C" fn send(_: *mut c_void, _: u32, _: *const u8, len: usize) -> i32 {
    // SAFETY: single-threaded firmware.
    unsafe { *core::ptr::addr_of_mut!(SENT_BYTES) += len };
    i32::try_from(len).unwrap_or(i32::MAX)
}

unsafe extern "C" fn close(_: *mut c_void, _: u32) {}

/// A `core::fmt::Write` over a fixed buffer.
struct Buf<'a> {
    b: &'a mut [u8],
    n: usize,
}

impl core::fmt::Write for Buf<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let end = self.n + s.len();
        self.b
            .get_mut(self.n..end)
            .ok_or(core::fmt::Error)?
            .copy_from_slice(s.as_bytes());
        self.n = end;
        Ok(())
    }
}

/// Counts of the events the UI drained.
#[derive(Default, Clone, Copy)]
struct Tally {
    signed_in: u32,
    synced: u32,
    presence: u32,
    messages: u32,
    delivered: u32,
    other_outcomes: u32,
    ready: u32,
    login_request: u32,
    conversation: u32,
}

fn drain(c: *mut msgr_client, t: &mut Tally) {
    loop {
        let mut ev = core::mem::MaybeUninit::<msgr_event>::uninit();
        // SAFETY: `ev` is writable; `c` is a live handle.
        let r = unsafe { msgr_client_poll_event(c, ev.as_mut_ptr()) };
        if r != MsgrResult::Ok {
            return;
        }
        // SAFETY: written on success.
        let ev = unsafe { ev.assume_init() };
        match ev.kind {
            k if k == MsgrEventKind::None as u32 => return,
            k if k == MsgrEventKind::SignedIn as u32 => t.signed_in += 1,
            k if k == MsgrEventKind::ListsSynced as u32 => t.synced += 1,
            k if k == MsgrEventKind::Presence as u32 => t.presence += 1,
            k if k == MsgrEventKind::Message as u32 => t.messages += 1,
            k if k == MsgrEventKind::LoginRequest as u32 => t.login_request += 1,
            k if k == MsgrEventKind::ConversationReady as u32
                || k == MsgrEventKind::Joined as u32 =>
            {
                t.ready += 1;
                t.conversation = ev.conversation;
            }
            k if k == MsgrEventKind::Outcome as u32 => {
                if ev.code == MsgrOutcome::Delivered as u32 {
                    t.delivered += 1
                } else {
                    t.other_outcomes += 1
                }
            }
            _ => {}
        }
    }
}

/// Feed `bytes` on `conn` whole, draining events whenever the client takes less.
fn feed(c: *mut msgr_client, conn: u32, mut bytes: &[u8], t: &mut Tally) {
    while !bytes.is_empty() {
        let mut n = 0usize;
        // SAFETY: `bytes` is readable; `n` writable.
        let r = unsafe { msgr_client_received(c, 1, conn, bytes.as_ptr(), bytes.len(), &mut n) };
        if r != MsgrResult::Ok {
            println!("bench: received failed: {}", r as u32);
            return;
        }
        bytes = bytes.get(n..).unwrap_or(&[]);
        drain(c, t);
    }
    drain(c, t);
}

/// Feed the script one server line at a time (the login script has no payload commands), as
/// replies arrive after each request; answer the login request after `USR … S`.
fn feed_lines(
    c: *mut msgr_client,
    conn: u32,
    script: &[u8],
    t: &mut Tally,
    on_login: impl Fn(*mut msgr_client),
) {
    let mut rest = script;
    while !rest.is_empty() {
        let end = rest
            .iter()
            .position(|&b| b == b'\n')
            .map_or(rest.len(), |p| p + 1);
        let (line, tail) = rest.split_at(end);
        rest = tail;
        feed(c, conn, line, t);
        if line.starts_with(b"USR ") && line.windows(3).any(|w| w == b" S ") {
            on_login(c);
            drain(c, t);
        }
    }
}

fn login_script(buf: &mut [u8]) -> usize {
    let mut w = Buf { b: buf, n: 0 };
    let _ = write!(w, "VER 1 MSNP8\r\nCVR 2 2.8 2.8 2.8 http://x http://x\r\nUSR 3 TWN S ct=1,rver=1,wp=FS_40SEC_0_COMPACT,lc=1,id=1\r\n");
    let _ = write!(w, "USR 4 OK tvuser@example.com TV%20User 1 0\r\n");
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
    let _ = write!(w, "CHG 6 NLN 0\r\n");
    for i in 0..CONTACTS {
        let _ = write!(w, "ILN 6 NLN user{i}@example.com User%20{i} 0\r\n");
    }
    w.n
}

const TICKET: &[u8] = b"t=53616c7465645f5f5f5f5f5f5f5f5f5f&p=6d6f636b5f7469636b6574";

fn answer_login(c: *mut msgr_client) {
    // SAFETY: every buffer is readable for its length.
    let r = unsafe {
        msgr_client_login_reply(
            c,
            1,
            200,
            b"OK".as_ptr(),
            2,
            core::ptr::null(),
            0,
            TICKET.as_ptr(),
            TICKET.len(),
        )
    };
    if r != MsgrResult::Ok {
        println!("bench: login_reply failed: {}", r as u32);
    }
}

const RX_MSG: &[u8] = b"MSG bob@example.com Bob%20Builder 132\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\nX-MMS-IM-Format: FN=Arial; EF=; CO=0; CS=0; PF=22\r\n\r\nhello from the box!";

fn fail(what: &str) -> ! {
    println!("RESULT: FAILED ({what})");
    exit::exit(exit::ExitCode::Failed)
}

#[no_mangle]
extern "C" fn board_main() -> ! {
    let (expected, measured) = bench::calibrate(100_000);
    println!("bench calibrate expected={expected} measured={measured}");

    let passport = "tvuser@example.com";
    let host = "10.0.2.2";
    let cfg = msgr_config {
        passport: passport.as_ptr().cast(),
        passport_len: passport.len(),
        password: core::ptr::null(),
        password_len: 0,
        server_host: host.as_ptr().cast(),
        server_host_len: host.len(),
        server_port: 1863,
        msnp_versions: 1 << 8,
        login_mode: MsgrLoginMode::Delegate as u32,
        wtvp_host: core::ptr::null(),
        wtvp_host_len: 0,
        wtvp_port: 0,
        ssid: core::ptr::null(),
        ssid_len: 0,
        headwaiter: core::ptr::null(),
        headwaiter_len: 0,
        idle_off_ms: 0,
        limits: msgr_limits {
            contacts: CONTACTS as u32,
            groups: GROUPS as u32,
            conversations: 4,
            queued_messages: 10,
            message_bytes: 0,
            contact_bytes: 0,
        },
    };
    let transport = msgr_transport {
        userdata: core::ptr::null_mut(),
        open: Some(open),
        send: Some(send),
        close: Some(close),
    };
    let mut c: *mut msgr_client = core::ptr::null_mut();
    // SAFETY: the static arena serves this one client; single-threaded firmware.
    #[allow(static_mut_refs)]
    let r = unsafe {
        msgr_client_init(
            ARENA.0.as_mut_ptr().cast(),
            ARENA_LEN,
            &cfg,
            &transport,
            &mut c,
        )
    };
    if r != MsgrResult::Ok {
        fail("init");
    }
    #[allow(static_mut_refs)]
    // SAFETY: single-threaded firmware; the only reference to SCRIPT.
    let script = unsafe { &mut SCRIPT };
    let mut t = Tally::default();

    // ----- login ---------------------------------------------------------------------------
    let len = login_script(script);
    let login = script.get(..len).unwrap_or(&[]);
    let (insns, ()) = bench::measure(|| {
        // SAFETY: live handle (below too).
        unsafe { msgr_client_sign_in(c, 1) };
        drain(c, &mut t);
        unsafe { msgr_client_connected(c, 1, 0) };
        drain(c, &mut t);
        feed_lines(c, 0, login, &mut t, answer_login);
    });
    if t.signed_in != 1 || t.synced != 1 || t.presence != CONTACTS as u32 || t.login_request != 1 {
        println!(
            "bench: login saw signed_in={} synced={} presence={} login_request={}",
            t.signed_in, t.synced, t.presence, t.login_request
        );
        fail("login");
    }
    println!("bench login insns={insns} ops=1");

    // ----- a switchboard by invitation ---------------------------------------------------------
    feed(
        c,
        0,
        b"RNG 1234567 10.0.2.2:1864 CKI 98765.4321 bob@example.com Bob%20Builder\r\n",
        &mut t,
    );
    // SAFETY: single-threaded firmware.
    if !unsafe { (*core::ptr::addr_of!(OPENED))[2] } {
        fail("no switchboard connection requested");
    }
    // SAFETY: live handle.
    unsafe { msgr_client_connected(c, 1, 2) };
    drain(c, &mut t);
    feed(
        c,
        2,
        b"IRO 1 1 1 bob@example.com Bob%20Builder\r\nANS 1 OK\r\n",
        &mut t,
    );
    if t.ready == 0 {
        fail("conversation not ready");
    }

    // ----- rx_msg ----------------------------------------------------------------------------
    let before = t.messages;
    let (insns, ()) = bench::measure(|| {
        for _ in 0..MESSAGES {
            feed(c, 2, RX_MSG, &mut t);
        }
    });
    if t.messages - before != MESSAGES {
        println!("bench: rx saw {} messages", t.messages - before);
        fail("rx_msg");
    }
    println!("bench rx_msg insns={insns} ops={MESSAGES}");

    // ----- tx_msg ----------------------------------------------------------------------------
    let mut w = Buf { b: script, n: 0 };
    for trid in 2..2 + MESSAGES {
        let _ = write!(w, "ACK {trid}\r\n");
    }
    let acks_len = w.n;
    // SAFETY: single-threaded firmware; the only reference to SCRIPT.
    #[allow(static_mut_refs)]
    let acks = unsafe { SCRIPT.get(..acks_len).unwrap_or(&[]) };
    let conv = t.conversation;
    let text = "hello from the box, how are you?";
    let (insns, ()) = bench::measure(|| {
        let mut off = 0usize;
        for _ in 0..MESSAGES {
            let mut id = 0u32;
            // SAFETY: live handle; `text` readable; `id` writable.
            let r = unsafe {
                msgr_client_send_message(c, 1, conv, text.as_ptr().cast(), text.len(), &mut id)
            };
            if r != MsgrResult::Ok {
                println!("bench: send_message failed: {}", r as u32);
                return;
            }
            drain(c, &mut t);
            let end = acks
                .get(off..)
                .and_then(|a| a.iter().position(|&b| b == b'\n'))
                .map_or(acks.len(), |p| off + p + 1);
            feed(c, 2, acks.get(off..end).unwrap_or(&[]), &mut t);
            off = end;
        }
    });
    if t.delivered != MESSAGES || t.other_outcomes != 0 {
        println!(
            "bench: tx delivered={} other={}",
            t.delivered, t.other_outcomes
        );
        fail("tx_msg");
    }
    println!("bench tx_msg insns={insns} ops={MESSAGES}");
    // SAFETY: single-threaded firmware.
    println!("bench sent_bytes={}", unsafe {
        *core::ptr::addr_of!(SENT_BYTES)
    });
    println!("RESULT: PASSED");
    exit::exit(exit::ExitCode::Passed)
}
