//! What the host workloads share: a C ABI client with hooks that swallow what it sends, and
//! the feed/drain loop a box UI runs (every event drained after each call).

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

/// A client in its own heap arena; the arena lives as long as the handle.
pub struct Bench {
    /// The handle.
    pub c: *mut msgr_client,
    _arena: Vec<u64>,
}

impl Bench {
    /// Make a client from `cfg` with the swallowing hooks.
    pub fn new(cfg: &msgr_config) -> Self {
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
        // SAFETY: the arena outlives the client (both live in `Bench`); config and hooks are
        // readable.
        let r = unsafe {
            msgr_client_init(
                arena.as_mut_ptr().cast(),
                arena.len() * 8,
                cfg,
                &transport,
                &mut c,
            )
        };
        assert_eq!(r, MsgrResult::Ok);
        Bench { c, _arena: arena }
    }

    /// Take every waiting event, handing each kind to `on`.
    pub fn drain(&self, on: &mut impl FnMut(u32)) {
        loop {
            let mut ev = std::mem::MaybeUninit::<msgr_event>::uninit();
            // SAFETY: live handle, writable event.
            assert_eq!(
                unsafe { msgr_client_poll_event(self.c, ev.as_mut_ptr()) },
                MsgrResult::Ok
            );
            // SAFETY: written on success.
            let kind = unsafe { ev.assume_init() }.kind;
            if kind == MsgrEventKind::None as u32 {
                return;
            }
            on(kind);
        }
    }

    /// Feed server bytes on `conn`, draining after each partial take.
    pub fn feed(&self, conn: u32, mut bytes: &[u8], on: &mut impl FnMut(u32)) {
        while !bytes.is_empty() {
            let mut n = 0usize;
            // SAFETY: live handle, readable input, writable count.
            let r = unsafe {
                msgr_client_received(self.c, 1, conn, bytes.as_ptr(), bytes.len(), &mut n)
            };
            assert_eq!(r, MsgrResult::Ok);
            bytes = &bytes[n..];
            self.drain(on);
        }
        self.drain(on);
    }
}

impl Drop for Bench {
    fn drop(&mut self) {
        // SAFETY: the handle is live and not used after this.
        unsafe { msgr_client_deinit(self.c) };
    }
}
