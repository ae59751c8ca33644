//! `msgr_client`: the whole Messenger client behind an opaque handle, for the box's C UI.
//!
//! # Memory
//! The caller hands [`msgr_client_init`] one arena (any alignment; the core aligns inside it).
//! A `linked_list_allocator` heap placed in the arena provides every structure the client
//! needs, sized by [`msgr_limits`]; [`msgr_client_arena_size`] says how big the arena must be
//! and [`msgr_client_arena_high_water`] how much of it was used. Nothing is allocated after
//! initialisation, and nothing outside the arena.
//!
//! # Calls, hooks and events
//! The box owns the sockets and the clock. Transport hooks ([`msgr_transport`]) are called
//! *from inside* `msgr_client_*` calls: `open` when the client wants a connection, `send` to
//! write bytes, `close` when it is done with one. The box reports back with
//! [`msgr_client_connected`], [`msgr_client_received`] and [`msgr_client_closed`], and lets time
//! pass with [`msgr_client_tick`].
//!
//! Events are **polled** from a bounded queue ([`msgr_client_poll_event`]) rather than pushed
//! through callbacks: a box UI is one single-threaded loop that already polls its keyboard and
//! sockets, polling keeps every UI action outside any core call (so the UI may call back into
//! the client freely while handling an event), and the event's strings stay valid in place
//! until the next call without copying. After every call into the client, drain
//! `msgr_client_poll_event` until it reports `MSGR_EVENT_KIND_NONE`: connection requests are acted on
//! (through the hooks) while events are drained.
//!
//! # Rules
//! - Strings are UTF-8 pointer + length pairs (`msgr_str` on the way out, not NUL-terminated,
//!   valid until the next call that takes the same handle).
//! - Hooks must not call any `msgr_client_*` function on the same handle: such calls return
//!   `MSGR_RESULT_REENTRANT` and change nothing.
//! - On the host a panic inside the core returns `MSGR_RESULT_PANIC` and poisons the handle
//!   (every later call returns it too); on the box the core cannot unwind and calls
//!   `msgr_platform_panic` instead.

use core::cell::{Cell, UnsafeCell};
use core::ffi::{c_char, c_void};
use core::ptr::NonNull;

use super::result::MsgrResult;
use crate::client::{
    Client, ClientConfig, ClientEvent, ClientFailure, ClientStorage, ConnId, LoginMode,
};
use crate::msnp::ns::{
    version_range, Blp, Contact, Group, Gtc, ListError, NsConfig, NsError, NsEvent, NsMessageKind,
    Phase,
};
use crate::msnp::sb::session::RX_CAP;
use crate::msnp::sb::{
    CloseReason, ConversationId, ConversationSlot, FailReason, InviteFailure, MessageSlot, Outcome,
    SbEvent, TRANSMIT_SCRATCH,
};
use crate::msnp::wire::{escape, ListKind, Status};
use crate::time::{Duration, Instant};
use crate::wtvp::client::BoxIdentity;
use crate::wtvp::headwaiter::MessengerConfig;
use crate::wtvp::login::LoginError;

/// Default contact capacity when `msgr_limits.contacts` is 0.
const DEFAULT_CONTACTS: u32 = 150;
/// Default group capacity.
const DEFAULT_GROUPS: u32 = 30;
/// Default conversation capacity.
const DEFAULT_CONVERSATIONS: u32 = 4;
/// Default queued-message capacity (message parts in flight across conversations).
const DEFAULT_QUEUED: u32 = 10;
/// Default message pool (bytes): payloads of parts not yet written to their switchboard.
const DEFAULT_MESSAGE_BYTES: u32 = 2048;
/// Largest message pool accepted.
const MAX_MESSAGE_BYTES: u32 = 1 << 20;
/// Largest capacities accepted (a guard against absurd arena requests).
const MAX_LIMIT: u32 = 4096;
/// Bytes reserved for the allocator's own bookkeeping and alignment slack.
const ARENA_SLACK: usize = 512;
/// Bytes of `Inner::name`: a decoded friendly name or a message part's head, whichever is longer.
const SCRATCH: usize = if crate::limits::MAX_FRIENDLY_NAME_ENCODED > TRANSMIT_SCRATCH {
    crate::limits::MAX_FRIENDLY_NAME_ENCODED
} else {
    TRANSMIT_SCRATCH
};
/// Longest configuration string kept (server names, SSID, login URL).
const MAX_CONFIG_STR: usize = 256;

/// An opaque client handle (lives inside the caller's arena).
#[repr(C)]
pub struct msgr_client {
    _private: [u8; 0],
}

/// A UTF-8 string handed to C: pointer and length, not NUL-terminated.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct msgr_str {
    /// First byte (NULL when `len` is 0).
    pub ptr: *const c_char,
    /// Length in bytes.
    pub len: usize,
}

impl msgr_str {
    const EMPTY: msgr_str = msgr_str {
        ptr: core::ptr::null(),
        len: 0,
    };

    fn of(b: &[u8]) -> msgr_str {
        if b.is_empty() {
            msgr_str::EMPTY
        } else {
            msgr_str {
                ptr: b.as_ptr().cast(),
                len: b.len(),
            }
        }
    }
}

/// Capacities chosen by the caller; 0 picks the box default.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct msgr_limits {
    /// Contacts kept (default 150).
    pub contacts: u32,
    /// Groups kept (default 30).
    pub groups: u32,
    /// Conversations open at once (default 4).
    pub conversations: u32,
    /// Outgoing message parts queued or awaiting their outcome, across conversations (default 10).
    pub queued_messages: u32,
    /// Bytes for the contacts' and groups' strings: passports, friendly names, phone numbers,
    /// group names (default 48 per contact plus 16 per group; at most 65535). A name that
    /// does not fit is dropped and reported (`MSGR_EVENT_KIND_LIST_FULL`).
    pub contact_bytes: u32,
    /// Bytes of the message pool, which holds the text of message parts not yet written to
    /// their switchboard (a part takes its text plus about 35 bytes for its format, at most
    /// 1664); default 2048. A message that does not fit is refused when it is sent.
    pub message_bytes: u32,
}

/// How login answers are obtained (`msgr_config.login_mode`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MsgrLoginMode {
    /// `USR MD5` answers computed from `msgr_config.password` (MSNP2–MSNP7).
    Password = 0,
    /// The firmware performs the SECURE `messengerlogin` request: `MSGR_EVENT_KIND_LOGIN_REQUEST`,
    /// answered with `msgr_client_login_reply`.
    Delegate = 1,
    /// The built-in WTVP client signs in to the WebTV service at `wtvp_host:wtvp_port`.
    Wtvp = 2,
}

/// Everything the client needs before signing in. Strings are copied into the arena.
#[repr(C)]
pub struct msgr_config {
    /// The account (passport), e.g. `tvuser@example.com`.
    pub passport: *const c_char,
    /// Its length.
    pub passport_len: usize,
    /// The password (password login mode only); the core keeps one copy inside its NS
    /// session for reconnects and wipes it at deinit.
    pub password: *const c_char,
    /// Its length.
    pub password_len: usize,
    /// MSNP server host (may be empty in WTVP mode: the head-waiter names it).
    pub server_host: *const c_char,
    /// Its length.
    pub server_host_len: usize,
    /// MSNP server port (0: 1863).
    pub server_port: u16,
    /// Offered dialects: bit n = MSNPn (0: MSNP2–MSNP8).
    pub msnp_versions: u32,
    /// A `msgr_login_mode` value.
    pub login_mode: u32,
    /// WebTV service host (WTVP login mode).
    pub wtvp_host: *const c_char,
    /// Its length.
    pub wtvp_host_len: usize,
    /// WebTV service port (WTVP login mode).
    pub wtvp_port: u16,
    /// The box's SSID (WTVP login mode), 16 hex digits.
    pub ssid: *const c_char,
    /// Its length.
    pub ssid_len: usize,
    /// Optional raw head-waiter header block (`wtv-messenger-*` lines): timeouts, server and
    /// login URL are taken from it; NULL/0 for the built-in defaults.
    pub headwaiter: *const c_char,
    /// Its length.
    pub headwaiter_len: usize,
    /// Switch messaging off (`IMS OFF`) after this many ms without user activity (0: never).
    pub idle_off_ms: u32,
    /// Capacities.
    pub limits: msgr_limits,
}

/// The box's socket hooks, called from inside `msgr_client_*` calls.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct msgr_transport {
    /// Passed as the first argument of every hook.
    pub userdata: *mut c_void,
    /// Start opening connection `conn` to `host:port`; return 0 if the attempt started (then
    /// report `msgr_client_connected` or `msgr_client_closed`), non-zero if it cannot start.
    pub open: Option<
        unsafe extern "C" fn(
            userdata: *mut c_void,
            conn: u32,
            host: *const c_char,
            host_len: usize,
            port: u16,
        ) -> i32,
    >,
    /// Write bytes on `conn`; return how many were taken (0..=len), or a negative value if the
    /// connection failed. Bytes not taken are offered again later.
    pub send: Option<
        unsafe extern "C" fn(userdata: *mut c_void, conn: u32, buf: *const u8, len: usize) -> i32,
    >,
    /// Close `conn` (the client is done with it); no `msgr_client_closed` is needed after.
    /// Called once for each connection `open` started, and not for one the box already
    /// reported with `msgr_client_closed`.
    pub close: Option<unsafe extern "C" fn(userdata: *mut c_void, conn: u32)>,
}

/// What an event is (`msgr_event.kind`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MsgrEventKind {
    /// No event waiting.
    None = 0,
    /// Signed in: `name` is the own friendly name.
    SignedIn = 1,
    /// Sign-in failed or the NS connection ended: `code` is a `msgr_result`, `text` says why.
    SignedOut = 2,
    /// The contact list is in sync (`code`: list version).
    ListsSynced = 3,
    /// A contact's presence: `passport`, `name`, `status` (`msgr_status`), `online`.
    Presence = 4,
    /// `passport` went offline.
    ContactOffline = 5,
    /// `passport` (`name`) added you to their list: answer with `msgr_client_answer_added`.
    /// `code` 0: just now; 1: while you were away (found at the list sync after sign-in).
    AddedBy = 6,
    /// `passport` removed you from their list.
    RemovedBy = 7,
    /// A list change was confirmed: `passport`, `code` = list (`msgr_list`), `online` = added.
    ListChanged = 8,
    /// The own status was confirmed (`status`).
    StatusChanged = 9,
    /// Conversation `conversation` is ready for messages.
    ConversationReady = 10,
    /// `passport` (`name`) joined conversation `conversation`.
    Joined = 11,
    /// `passport` left conversation `conversation`.
    Left = 12,
    /// A message in `conversation` from `passport` (`name`): `text`.
    Message = 13,
    /// `passport` is typing in `conversation`.
    Typing = 14,
    /// Message `message` reached its final outcome: `code` is a `msgr_outcome`.
    Outcome = 15,
    /// Conversation `conversation` ended (`code`: a `msgr_close_reason`).
    ConversationClosed = 16,
    /// Messaging was switched off for idleness or back on (`online`: on).
    Ims = 17,
    /// Perform the SECURE request `text` (URL with `?challenge`) and answer with
    /// `msgr_client_login_reply` (delegate login mode).
    LoginRequest = 18,
    /// Reconnecting to the NS later (`code`: attempt number).
    Reconnecting = 19,
    /// An MSN Alert: `text` is its text, `name` its action URL.
    Alert = 20,
    /// A mobile page from `passport`: `text`.
    Page = 21,
    /// A `URL` reply: `text` is the redirect, `name` the login URL.
    Url = 22,
    /// E-mail notification: `code` unread messages in the inbox.
    Email = 23,
    /// A request failed: `code` is the MSNP error number, `text` its verb. An invitation into
    /// `conversation` (`text` "CAL", `passport` the invitee) that went unanswered has `code`
    /// `MSGR_RESULT_TIMEOUT`.
    RequestFailed = 24,
    /// A message of an unsupported kind arrived in `conversation` (`text`: its content type).
    UnsupportedContent = 25,
    /// An invitation from `passport` was not taken up (`code`: `msgr_result`).
    InvitationIgnored = 26,
    /// Anything else the NS reported that a box UI may ignore.
    Other = 27,
    /// Contact storage is full (`msgr_limits.contacts`/`groups`/`contact_bytes`): `code` 0 =
    /// contact `passport` (or a group, `passport` empty) was dropped; 1 = it is kept but a name
    /// or phone number was left empty (`passport` empty and `status` the group id for a
    /// group's name).
    ListFull = 28,
    /// The server sent a frame too big for the receive buffers (the large-frame buffer the NS
    /// and the conversations share: 2,192 bytes, the longest `MSG` line plus the 1,664-byte
    /// payload limit); it was skipped (`code`: its payload length) and the session goes on
    /// (`conversation` set when it was a switchboard's `MSG`).
    FrameSkipped = 29,
}

/// One event; strings and pointers stay valid until the next call on the handle.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct msgr_event {
    /// A `msgr_event_kind` value.
    pub kind: u32,
    /// The conversation the event is about (0 if none).
    pub conversation: u32,
    /// The message id (`MSGR_EVENT_KIND_OUTCOME`).
    pub message: u32,
    /// A `msgr_status` value (presence and own status).
    pub status: u32,
    /// Kind-specific number (see `msgr_event_kind`).
    pub code: u32,
    /// Kind-specific flag: the WebTV online view for presence.
    pub online: bool,
    /// A contact's passport.
    pub passport: msgr_str,
    /// A friendly name (decoded UTF-8) or second text.
    pub name: msgr_str,
    /// Message text or other text.
    pub text: msgr_str,
}

impl msgr_event {
    const NONE: msgr_event = msgr_event {
        kind: MsgrEventKind::None as u32,
        conversation: 0,
        message: 0,
        status: 0,
        code: 0,
        online: false,
        passport: msgr_str::EMPTY,
        name: msgr_str::EMPTY,
        text: msgr_str::EMPTY,
    };
}

/// A presence status (`msgr_event.status`, `msgr_client_set_status`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MsgrStatus {
    /// `FLN` offline.
    Offline = 0,
    /// `NLN` online.
    Online = 1,
    /// `BSY` busy.
    Busy = 2,
    /// `IDL` idle.
    Idle = 3,
    /// `BRB` be right back.
    BeRightBack = 4,
    /// `AWY` away.
    Away = 5,
    /// `PHN` on the phone.
    OnPhone = 6,
    /// `LUN` out to lunch.
    OutToLunch = 7,
    /// `HDN` appear offline.
    Hidden = 8,
    /// A status code this core does not know.
    Unknown = 9,
}

/// A contact list (`msgr_client_add_contact`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MsgrList {
    /// `FL`: contacts you follow.
    Forward = 0,
    /// `AL`: allowed to see you.
    Allow = 1,
    /// `BL`: blocked.
    Block = 2,
    /// `RL`: have you on their list (read only).
    Reverse = 3,
}

/// A message's final outcome (`MSGR_EVENT_KIND_OUTCOME` `code`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MsgrOutcome {
    /// Acknowledged by the switchboard (`ACK`).
    Delivered = 0,
    /// Handed over with no failure reported (no acknowledgement asked for).
    Sent = 1,
    /// `NAK`.
    FailedNak = 2,
    /// No answer in time.
    FailedTimeout = 3,
    /// The contact is offline, hidden, blocking you, or has messaging off (`217`).
    FailedContactOffline = 4,
    /// The invitation was refused with another error.
    FailedRefused = 5,
    /// The switchboard returned an error for the message.
    FailedServer = 6,
    /// The conversation could not be set up.
    FailedSetup = 7,
    /// The conversation ended first.
    FailedClosed = 8,
    /// The connection dropped before delivery was confirmed.
    FailedConnectionLost = 9,
    /// You left the conversation first.
    FailedCancelled = 10,
}

/// Why a conversation ended (`MSGR_EVENT_KIND_CONVERSATION_CLOSED` `code`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MsgrCloseReason {
    /// You left it.
    Left = 0,
    /// Everybody else left.
    Empty = 1,
    /// Its switchboard connection dropped.
    ConnectionLost = 2,
    /// A setup or answer timer of the service configuration expired.
    Timeout = 3,
    /// The switchboard could not be set up (no `XFR`, connect or `USR`/`ANS` failed).
    SetupFailed = 4,
    /// The first invitation was refused (the contact is offline, for example).
    Refused = 5,
    /// The switchboard broke the protocol.
    Protocol = 6,
    /// Messaging was switched off (IMS idle).
    ImsOff = 7,
}

/// A contact as the UI lists it (`msgr_client_contact_at`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct msgr_contact {
    /// Passport.
    pub passport: msgr_str,
    /// Friendly name (decoded UTF-8).
    pub name: msgr_str,
    /// A `msgr_status`.
    pub status: u32,
    /// The WebTV view: online for every status except offline and hidden.
    pub online: bool,
    /// List bits: FL 1, AL 2, BL 4, RL 8.
    pub lists: u32,
    /// Group bits (bit n: group id n).
    pub groups: u32,
}

struct Inner {
    client: Client<'static>,
    transport: msgr_transport,
    /// Which connections (by raw number) the open hook started and nobody closed yet.
    open: &'static mut [bool],
    /// Scratch for a decoded friendly name handed out with an event, and for the head of a
    /// message part while the send hook takes it: never both at once (events are converted
    /// after flushing, and an event's strings are only valid until the next call).
    name: [u8; SCRATCH],
    now: Instant,
    high_water: usize,
}

/// The object behind `msgr_client *`.
struct Handle {
    busy: Cell<bool>,
    poisoned: Cell<bool>,
    inner: UnsafeCell<Inner>,
}

// ----- the boundary -------------------------------------------------------------------------

/// Run `f` on the handle's state unless it is NULL, busy (a hook re-entering) or poisoned;
/// panics become `MSGR_RESULT_PANIC` on the host. The checks and the bookkeeping are the
/// shared, non-generic [`begin`] and [`end`]; only the call of `f` is per entry point.
fn enter(c: *mut msgr_client, mut f: impl FnMut(&mut Inner) -> MsgrResult) -> MsgrResult {
    let h = match begin(c) {
        Ok(h) => h,
        Err(e) => return e,
    };
    // SAFETY: `begin` set `busy`, so no other reference to the inner state is live until
    // `end` clears it.
    let inner = unsafe { &mut *h.inner.get() };
    end(h, guard(|| f(inner)))
}

/// Check the handle (NULL, poisoned, busy) and mark it busy.
#[inline(never)]
fn begin<'h>(c: *mut msgr_client) -> Result<&'h Handle, MsgrResult> {
    let Some(h) = NonNull::new(c.cast::<Handle>()) else {
        return Err(MsgrResult::NullParameter);
    };
    // SAFETY: a non-NULL handle comes from `msgr_client_init` and lives until deinit; only
    // shared references to `Handle` are made, and the `busy` flag ensures at most one
    // `&mut Inner` exists at a time (a hook re-entering sees `busy` and leaves).
    let h = unsafe { h.as_ref() };
    if h.poisoned.get() {
        return Err(MsgrResult::Panic);
    }
    if h.busy.replace(true) {
        return Err(MsgrResult::Reentrant);
    }
    Ok(h)
}

/// Clear `busy`; a panic (`None`) poisons the handle.
#[inline(never)]
fn end(h: &Handle, r: Option<MsgrResult>) -> MsgrResult {
    h.busy.set(false);
    match r {
        Some(r) => r,
        None => {
            h.poisoned.set(true);
            MsgrResult::Panic
        }
    }
}

#[cfg(not(target_os = "none"))]
fn guard<R>(f: impl FnOnce() -> R) -> Option<R> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).ok()
}

#[cfg(target_os = "none")]
fn guard<R>(f: impl FnOnce() -> R) -> Option<R> {
    Some(f())
}

/// Borrow a C string argument: NULL with a non-zero length, or non-UTF-8 bytes, are refused.
fn str_arg<'a>(ptr: *const c_char, len: usize) -> Result<&'a str, MsgrResult> {
    if len == 0 {
        return Ok("");
    }
    if ptr.is_null() {
        return Err(MsgrResult::NullParameter);
    }
    if len > isize::MAX as usize {
        return Err(MsgrResult::TooLong);
    }
    // SAFETY: the caller promises `len` readable bytes at `ptr` for the duration of the call.
    let b = unsafe { core::slice::from_raw_parts(ptr.cast::<u8>(), len) };
    core::str::from_utf8(b).map_err(|_| MsgrResult::NotUtf8)
}

/// Like [`str_arg`], refusing the empty string and anything longer than `max`.
fn text_arg<'a>(ptr: *const c_char, len: usize, max: usize) -> Result<&'a str, MsgrResult> {
    if len == 0 {
        return Err(MsgrResult::Empty);
    }
    if len > max {
        return Err(MsgrResult::TooLong);
    }
    str_arg(ptr, len)
}

/// Borrow a byte buffer argument.
fn bytes_arg<'a>(ptr: *const u8, len: usize) -> Result<&'a [u8], MsgrResult> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(MsgrResult::NullParameter);
    }
    if len > isize::MAX as usize {
        return Err(MsgrResult::TooLong);
    }
    // SAFETY: the caller promises `len` readable bytes at `ptr` for the duration of the call.
    Ok(unsafe { core::slice::from_raw_parts(ptr, len) })
}

fn out_ptr<T>(p: *mut T) -> Result<NonNull<T>, MsgrResult> {
    NonNull::new(p).ok_or(MsgrResult::NullParameter)
}

macro_rules! tri {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => return e,
        }
    };
}

fn limits_or_default(l: &msgr_limits) -> Result<[u32; 5], MsgrResult> {
    let pick = |v: u32, d: u32| if v == 0 { d } else { v };
    let l = [
        pick(l.contacts, DEFAULT_CONTACTS),
        pick(l.groups, DEFAULT_GROUPS),
        pick(l.conversations, DEFAULT_CONVERSATIONS),
        pick(l.queued_messages, DEFAULT_QUEUED),
        pick(l.message_bytes, DEFAULT_MESSAGE_BYTES),
    ];
    if l[..4].iter().any(|&v| v > MAX_LIMIT) || l[1] > 30 || l[4] > MAX_MESSAGE_BYTES {
        return Err(MsgrResult::InvalidParameter);
    }
    Ok(l)
}

/// Return the contact name pool's size: `msgr_limits.contact_bytes`, or the box default for
/// `contacts` contacts and `groups` groups (the capacities `limits_or_default` chose).
fn contact_bytes_or_default(
    l: &msgr_limits,
    contacts: u32,
    groups: u32,
) -> Result<usize, MsgrResult> {
    use crate::limits::{DEFAULT_NAME_BYTES_PER_CONTACT, DEFAULT_NAME_BYTES_PER_GROUP};
    use crate::msnp::ns::contacts::MAX_NAME_POOL;
    match l.contact_bytes as usize {
        0 => Ok((contacts as usize * DEFAULT_NAME_BYTES_PER_CONTACT
            + groups as usize * DEFAULT_NAME_BYTES_PER_GROUP)
            .min(MAX_NAME_POOL)),
        n if n > MAX_NAME_POOL => Err(MsgrResult::InvalidParameter),
        n => Ok(n),
    }
}

/// Bytes of arena needed, before the strings and the name pool: the handle, the four tables,
/// the message pool and the conversations' shared large-frame buffer.
fn arena_need(l: [u32; 5]) -> usize {
    use core::mem::{align_of, size_of};
    let n = |v: u32| v as usize;
    let parts = [
        size_of::<Handle>() + align_of::<Handle>(),
        n(l[0]) * size_of::<Contact>() + align_of::<Contact>(),
        n(l[1]) * size_of::<Group>() + align_of::<Group>(),
        n(l[2]) * size_of::<ConversationSlot>() + align_of::<ConversationSlot>(),
        n(l[3]) * size_of::<MessageSlot>() + align_of::<MessageSlot>(),
        n(l[4]),
        RX_CAP,
        n(l[2]) + 2,
        6 * (MAX_CONFIG_STR + 8),
        ARENA_SLACK,
    ];
    parts.iter().fold(0usize, |a, b| a.saturating_add(*b))
}

/// Return how many arena bytes `msgr_client_init` needs for these limits (NULL: defaults);
/// 0 if the limits are invalid.
///
/// # Safety
/// `limits` must be NULL or point to a readable `msgr_limits`.
#[no_mangle]
pub unsafe extern "C" fn msgr_client_arena_size(limits: *const msgr_limits) -> usize {
    let l = match NonNull::new(limits.cast_mut()) {
        // SAFETY: a non-NULL pointer to a readable msgr_limits, per the contract.
        Some(p) => unsafe { *p.as_ptr() },
        None => msgr_limits {
            contacts: 0,
            groups: 0,
            conversations: 0,
            queued_messages: 0,
            contact_bytes: 0,
            message_bytes: 0,
        },
    };
    match limits_or_default(&l) {
        Ok(lim) => match contact_bytes_or_default(&l, lim[0], lim[1]) {
            Ok(names) => arena_need(lim).saturating_add(names),
            Err(_) => 0,
        },
        Err(_) => 0,
    }
}

/// A bump of allocations out of the arena's heap, all freed together at deinit.
struct Arena {
    heap: linked_list_allocator::Heap,
}

impl Arena {
    fn alloc_slice<T>(
        &mut self,
        n: usize,
        fill: impl Fn() -> T,
    ) -> Result<&'static mut [T], MsgrResult> {
        let layout =
            core::alloc::Layout::array::<T>(n.max(1)).map_err(|_| MsgrResult::ArenaTooSmall)?;
        let p = self
            .heap
            .allocate_first_fit(layout)
            .map_err(|_| MsgrResult::ArenaTooSmall)?;
        let p = p.as_ptr().cast::<T>();
        for i in 0..n {
            // SAFETY: `p` points to `n` properly aligned, uninitialised `T`s owned by us.
            unsafe { p.add(i).write(fill()) };
        }
        // SAFETY: every element was initialised; the memory lives until msgr_client_deinit.
        Ok(unsafe { core::slice::from_raw_parts_mut(p, n) })
    }

    fn alloc_str(&mut self, s: &str) -> Result<&'static str, MsgrResult> {
        if s.len() > MAX_CONFIG_STR {
            return Err(MsgrResult::TooLong);
        }
        let b = self.alloc_slice(s.len(), || 0u8)?;
        b.copy_from_slice(s.as_bytes());
        core::str::from_utf8(b).map_err(|_| MsgrResult::NotUtf8)
    }
}

/// Identity headers the built-in WTVP client sends, in order: the WebTV Plus (LC2, RM5230)
/// profile used in the recorded minisrv sessions (`../shared/transcripts/wtvp`).
pub(crate) const WTVP_HEADERS: &[(&str, &str)] = &[
    ("wtv-system-version", "7253"),
    ("wtv-capability-flags", "f1d9bdfefef"),
    ("wtv-client-bootrom-version", "2243"),
    (
        "wtv-client-rom-type",
        "US-LC2-disk-0MB-8MB-softmodem-CPU5230",
    ),
    ("wtv-system-chipversion", "53608448"),
    (
        "User-Agent",
        "Mozilla/4.0 WebTV/2.2.6.1 (compatible; MSIE 4.0)",
    ),
    ("wtv-system-sysconfig", "3115520"),
    ("wtv-disk-size", "8006"),
];

/// Headers sent only with `preregister`.
pub(crate) const WTVP_PREREGISTER_HEADERS: &[(&str, &str)] =
    &[("wtv-script-id", "0"), ("wtv-script-mod", "0")];

/// Make a client in `arena` (`arena_len` bytes, see `msgr_client_arena_size`) from `config`,
/// with the box's socket hooks; on success `*out` is the handle.
///
/// # Safety
/// `arena` must be `arena_len` writable bytes that outlive the handle; `config` and
/// `transport` must be readable; every string in `config` must be readable for its length.
#[no_mangle]
pub unsafe extern "C" fn msgr_client_init(
    arena: *mut c_void,
    arena_len: usize,
    config: *const msgr_config,
    transport: *const msgr_transport,
    out: *mut *mut msgr_client,
) -> MsgrResult {
    let r = guard(|| {
        // SAFETY: forwarded from this function's contract.
        unsafe { init(arena, arena_len, config, transport, out) }
    });
    r.unwrap_or(MsgrResult::Panic)
}

unsafe fn init(
    arena: *mut c_void,
    arena_len: usize,
    config: *const msgr_config,
    transport: *const msgr_transport,
    out: *mut *mut msgr_client,
) -> MsgrResult {
    let out = tri!(out_ptr(out));
    let cfg_ptr = tri!(out_ptr(config.cast_mut()));
    let tr_ptr = tri!(out_ptr(transport.cast_mut()));
    if arena.is_null() {
        return MsgrResult::NullParameter;
    }
    // SAFETY: readable per the contract.
    let (cfg, transport) = unsafe { (&*cfg_ptr.as_ptr(), *tr_ptr.as_ptr()) };
    if transport.open.is_none() || transport.send.is_none() || transport.close.is_none() {
        return MsgrResult::NullParameter;
    }
    let limits = tri!(limits_or_default(&cfg.limits));
    let contact_bytes = tri!(contact_bytes_or_default(&cfg.limits, limits[0], limits[1]));
    if arena_len < arena_need(limits).saturating_add(contact_bytes) {
        return MsgrResult::ArenaTooSmall;
    }
    let passport = tri!(text_arg(
        cfg.passport,
        cfg.passport_len,
        crate::limits::MAX_PASSPORT_LEN
    ));
    if !passport.contains('@') {
        return MsgrResult::InvalidParameter;
    }
    let password = tri!(str_arg(cfg.password, cfg.password_len));
    let server = tri!(str_arg(cfg.server_host, cfg.server_host_len));
    let wtvp_host = tri!(str_arg(cfg.wtvp_host, cfg.wtvp_host_len));
    let ssid = tri!(str_arg(cfg.ssid, cfg.ssid_len));
    let headwaiter = tri!(bytes_arg(cfg.headwaiter.cast(), cfg.headwaiter_len));
    let mode = match cfg.login_mode {
        0 => MsgrLoginMode::Password,
        1 => MsgrLoginMode::Delegate,
        2 => MsgrLoginMode::Wtvp,
        _ => return MsgrResult::InvalidParameter,
    };
    let versions = match cfg.msnp_versions {
        0 => version_range(2, 8),
        v if v & !0x1fc != 0 => return MsgrResult::InvalidParameter,
        // Only bits 2..=8 are set, so the value fits in 16 bits.
        v => v as u16,
    };

    // The heap goes at the start of the arena, aligned; the rest is its memory.
    let mut arena_heap = Arena {
        heap: linked_list_allocator::Heap::empty(),
    };
    // SAFETY: `arena` is `arena_len` writable bytes owned by the handle from now on.
    unsafe { arena_heap.heap.init(arena.cast::<u8>(), arena_len) };

    let headwaiter_cfg = (!headwaiter.is_empty()).then(|| MessengerConfig::parse(headwaiter));
    if let Some(h) = &headwaiter_cfg {
        if h.check_sign_in_allowed().is_err() {
            return MsgrResult::NotAuthorized;
        }
    }
    let server = match (&headwaiter_cfg, server.is_empty()) {
        (Some(h), true) => h.server_host.as_str(),
        _ => server,
    };
    let server = if server.is_empty() {
        "127.0.0.1"
    } else {
        server
    };
    if server.len() > crate::wtvp::headwaiter::HOST_CAP {
        return MsgrResult::TooLong;
    }
    let port = match (cfg.server_port, &headwaiter_cfg) {
        (0, Some(h)) => h.server_port,
        (0, None) => 1863,
        (p, _) => p,
    };
    let passport = tri!(arena_heap.alloc_str(passport));
    let server = tri!(arena_heap.alloc_str(server));
    let login_url = match &headwaiter_cfg {
        Some(h) => tri!(arena_heap.alloc_str(h.login_url.as_str())),
        None => "wtv-passport:/messengerlogin",
    };
    let mut password_copy: Option<(*mut u8, usize)> = None;
    let login = match mode {
        MsgrLoginMode::Password => {
            if password.is_empty() {
                return MsgrResult::Empty;
            }
            // The client copies the password into its NS session; the arena copy made here is
            // wiped right after `Client::new` (below), through this raw pointer.
            let copy = tri!(arena_heap.alloc_slice(password.len(), || 0u8));
            copy.copy_from_slice(password.as_bytes());
            let raw = copy.as_mut_ptr();
            password_copy = Some((raw, password.len()));
            // SAFETY: `raw` points to `password.len()` initialised bytes in the arena.
            LoginMode::Password(unsafe { core::slice::from_raw_parts(raw, password.len()) })
        }
        MsgrLoginMode::Delegate => LoginMode::Delegate {
            login_url,
            passportd_timeout: headwaiter_cfg
                .as_ref()
                .map_or(Duration::from_secs(240), |h| h.passportd_timeout),
        },
        MsgrLoginMode::Wtvp => {
            if wtvp_host.is_empty() || cfg.wtvp_port == 0 {
                return MsgrResult::Empty;
            }
            if ssid.len() != 16 || !ssid.bytes().all(|b| b.is_ascii_hexdigit()) {
                return MsgrResult::InvalidParameter;
            }
            LoginMode::Wtvp {
                host: tri!(arena_heap.alloc_str(wtvp_host)),
                port: cfg.wtvp_port,
                identity: BoxIdentity {
                    ssid: tri!(arena_heap.alloc_str(ssid)),
                    accept_language: "en-US,en",
                    headers: WTVP_HEADERS,
                    preregister_headers: WTVP_PREREGISTER_HEADERS,
                    first_incarnation: 1,
                },
                use_service_server: cfg.server_host_len == 0,
            }
        }
    };
    let mut ns = NsConfig::new(server, port, passport);
    ns.versions = versions;
    if matches!(mode, MsgrLoginMode::Password) {
        // MD5 answers exist only up to MSNP7; MSNP8 needs a Passport ticket.
        ns.versions &= version_range(2, 7);
        if ns.versions == 0 {
            return MsgrResult::InvalidParameter;
        }
    }
    let mut client_cfg = ClientConfig::new(ns, login);
    if let Some(h) = &headwaiter_cfg {
        client_cfg.apply_messenger(h);
    }
    client_cfg.idle_after =
        (cfg.idle_off_ms != 0).then(|| Duration::from_millis(u64::from(cfg.idle_off_ms)));

    let storage = ClientStorage {
        contacts: tri!(arena_heap.alloc_slice(limits[0] as usize, || Contact::EMPTY)),
        groups: tri!(arena_heap.alloc_slice(limits[1] as usize, || Group::EMPTY)),
        names: tri!(arena_heap.alloc_slice(contact_bytes, || 0u8)),
        conversations: tri!(arena_heap.alloc_slice(limits[2] as usize, ConversationSlot::default)),
        messages: tri!(arena_heap.alloc_slice(limits[3] as usize, MessageSlot::default)),
        message_bytes: tri!(arena_heap.alloc_slice(limits[4] as usize, || 0u8)),
        large_frame: tri!(arena_heap.alloc_slice(RX_CAP, || 0u8)),
    };
    let open = tri!(arena_heap.alloc_slice(limits[2] as usize + 2, || false));
    let client = Client::new(client_cfg, storage, Instant::ZERO);
    if let Some((raw, len)) = password_copy {
        // SAFETY: the client did not keep the slice (see `Client::new`); wipe it in place.
        let p = unsafe { core::slice::from_raw_parts_mut(raw, len) };
        crate::auth::wipe(p);
    }
    // Borrowed, not moved out of the `Result`: the client (~22 KB) is copied once, straight
    // into the handle (a move would put a second copy on the stack).
    let Ok(client_ref) = client.as_ref() else {
        return MsgrResult::InvalidParameter;
    };
    let layout = core::alloc::Layout::new::<Handle>();
    let Ok(p) = arena_heap.heap.allocate_first_fit(layout) else {
        return MsgrResult::ArenaTooSmall;
    };
    let high_water = arena_heap.heap.used();
    let handle = p.as_ptr().cast::<Handle>();
    // Written field by field, so that no `Handle` (~25 KB) is assembled on the stack first.
    // SAFETY: `handle` is an aligned, unused block of the right size inside the arena; every
    // field is written once before the handle is handed out.
    unsafe {
        core::ptr::addr_of_mut!((*handle).busy).write(Cell::new(false));
        core::ptr::addr_of_mut!((*handle).poisoned).write(Cell::new(false));
        let inner = UnsafeCell::raw_get(core::ptr::addr_of!((*handle).inner));
        core::ptr::copy_nonoverlapping(client_ref, core::ptr::addr_of_mut!((*inner).client), 1);
        // The bits now live in the handle: the original must not be dropped (it would wipe).
        core::mem::forget(client);
        core::ptr::addr_of_mut!((*inner).transport).write(transport);
        core::ptr::addr_of_mut!((*inner).open).write(open);
        core::ptr::addr_of_mut!((*inner).name).write_bytes(0, 1);
        core::ptr::addr_of_mut!((*inner).now).write(Instant::ZERO);
        core::ptr::addr_of_mut!((*inner).high_water).write(high_water);
        *out.as_ptr() = handle.cast::<msgr_client>();
    }
    MsgrResult::Ok
}

/// End a client: wipes its state (password, tickets) and releases the arena to the caller.
/// Does not call the hooks; close the sockets yourself. NULL is ignored.
///
/// # Safety
/// `client` must come from `msgr_client_init` and not be used afterwards.
#[no_mangle]
pub unsafe extern "C" fn msgr_client_deinit(client: *mut msgr_client) {
    let Some(h) = NonNull::new(client.cast::<Handle>()) else {
        return;
    };
    // SAFETY: per the contract the handle is valid and no other call is running on it.
    let h = unsafe { h.as_ref() };
    if h.busy.get() {
        return;
    }
    h.busy.set(true);
    let _ = guard(|| {
        // SAFETY: not busy, so this is the only reference; drop runs the sessions' wipes.
        unsafe { core::ptr::drop_in_place(h.inner.get()) };
    });
    h.poisoned.set(true);
}

/// Return the arena bytes in use (the high-water mark: nothing is allocated after init).
///
/// # Safety
/// `client` must be a handle from `msgr_client_init` (or NULL, which gives 0).
#[no_mangle]
pub unsafe extern "C" fn msgr_client_arena_high_water(client: *mut msgr_client) -> usize {
    let mut v = 0;
    let _ = enter(client, |i| {
        v = i.high_water;
        MsgrResult::Ok
    });
    v
}

// ----- transport and time -------------------------------------------------------------------

fn conn_arg(i: &Inner, conn: u32) -> Result<ConnId, MsgrResult> {
    i.client
        .conn_from_raw(conn)
        .ok_or(MsgrResult::InvalidParameter)
}

/// Report that connection `conn` opened.
///
/// # Safety
/// `client` must be NULL or a handle from `msgr_client_init` that was not deinitialised.
#[no_mangle]
pub unsafe extern "C" fn msgr_client_connected(
    client: *mut msgr_client,
    now_ms: u64,
    conn: u32,
) -> MsgrResult {
    enter(client, |i| {
        i.tick(now_ms);
        let c = tri!(conn_arg(i, conn));
        let r = i.client.handle_connected(i.now, c);
        i.flush();
        r.map_or(MsgrResult::InvalidParameter, |_| MsgrResult::Ok)
    })
}

/// Feed `len` bytes received on `conn`; `*consumed` says how many were taken (offer the rest
/// again after draining events, on the next pass at the latest, even when nothing new arrived
/// on `conn`). The NS or a switchboard connection may take fewer bytes, even 0, while its next
/// frame waits for the large-frame buffer the NS and the conversations share (another of them
/// is receiving a long frame): `msgr_client_input_paused` then says so. Keep such a connection
/// open and its bytes buffered, and keep servicing the other connections; it resumes once the
/// other connection's frame is in and its event polled.
///
/// # Safety
/// `buf` must be `len` readable bytes; `consumed` must be writable.
#[no_mangle]
pub unsafe extern "C" fn msgr_client_received(
    client: *mut msgr_client,
    now_ms: u64,
    conn: u32,
    buf: *const u8,
    len: usize,
    consumed: *mut usize,
) -> MsgrResult {
    enter(client, |i| {
        let out = tri!(out_ptr(consumed));
        let bytes = tri!(bytes_arg(buf, len));
        i.tick(now_ms);
        let c = tri!(conn_arg(i, conn));
        let r = i.client.handle_input(i.now, c, bytes);
        i.flush_inline();
        match r {
            Ok(n) => {
                // SAFETY: writable per the contract.
                unsafe { *out.as_ptr() = n };
                MsgrResult::Ok
            }
            Err(_) => MsgrResult::InvalidParameter,
        }
    })
}

/// Query whether `conn` (the NS or a switchboard) refuses input for now because its next frame
/// waits for the shared large-frame buffer (see `msgr_client_received`): do not treat the bytes
/// it did not take as a stuck connection. False for every other connection, an unknown one,
/// and NULL.
///
/// # Safety
/// `client` must be NULL or a handle from `msgr_client_init` that was not deinitialised.
#[no_mangle]
pub unsafe extern "C" fn msgr_client_input_paused(client: *mut msgr_client, conn: u32) -> bool {
    let mut paused = false;
    let _ = enter(client, |i| {
        let c = tri!(conn_arg(i, conn));
        paused = i.client.input_paused(c);
        MsgrResult::Ok
    });
    paused
}

/// Report that `conn` closed or could not be opened.
///
/// # Safety
/// `client` must be NULL or a handle from `msgr_client_init` that was not deinitialised.
#[no_mangle]
pub unsafe extern "C" fn msgr_client_closed(
    client: *mut msgr_client,
    now_ms: u64,
    conn: u32,
) -> MsgrResult {
    enter(client, |i| {
        i.tick(now_ms);
        let c = tri!(conn_arg(i, conn));
        i.client.discard_transmit(c);
        i.set_open(c, false);
        i.client.handle_closed(i.now, c);
        i.flush();
        MsgrResult::Ok
    })
}

/// Let time pass (call at least by the time `msgr_client_next_timeout` gives).
///
/// # Safety
/// `client` must be NULL or a handle from `msgr_client_init` that was not deinitialised.
#[no_mangle]
pub unsafe extern "C" fn msgr_client_tick(client: *mut msgr_client, now_ms: u64) -> MsgrResult {
    enter(client, |i| {
        i.tick(now_ms);
        i.client.handle_timeout(i.now);
        i.flush();
        MsgrResult::Ok
    })
}

/// Write the time (ms) by which `msgr_client_tick` must be called, or `UINT64_MAX` if none.
///
/// # Safety
/// `out_ms` must be writable.
#[no_mangle]
pub unsafe extern "C" fn msgr_client_next_timeout(
    client: *mut msgr_client,
    out_ms: *mut u64,
) -> MsgrResult {
    enter(client, |i| {
        let out = tri!(out_ptr(out_ms));
        let t = i.client.poll_timeout().map_or(u64::MAX, Instant::as_millis);
        // SAFETY: writable per the contract.
        unsafe { *out.as_ptr() = t };
        MsgrResult::Ok
    })
}

/// Take the next event into `*out` (`kind` is `MSGR_EVENT_KIND_NONE` when there is none). Connection
/// requests are carried out through the hooks while draining.
///
/// # Safety
/// `out` must be writable.
#[no_mangle]
pub unsafe extern "C" fn msgr_client_poll_event(
    client: *mut msgr_client,
    out: *mut msgr_event,
) -> MsgrResult {
    enter(client, |i| {
        let out = tri!(out_ptr(out));
        let ev = i.next_event();
        // SAFETY: writable per the contract.
        unsafe { *out.as_ptr() = ev };
        MsgrResult::Ok
    })
}

/// Report the firmware's reply to `MSGR_EVENT_KIND_LOGIN_REQUEST`: status, reason, raw header lines
/// and the body after RC4 (LZPF is undone here when the headers say so).
///
/// # Safety
/// Each buffer must be readable for its length.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn msgr_client_login_reply(
    client: *mut msgr_client,
    now_ms: u64,
    status: u16,
    reason: *const u8,
    reason_len: usize,
    headers: *const u8,
    headers_len: usize,
    body: *const u8,
    body_len: usize,
) -> MsgrResult {
    enter(client, |i| {
        let reason = tri!(bytes_arg(reason, reason_len));
        let headers = tri!(bytes_arg(headers, headers_len));
        let body = tri!(bytes_arg(body, body_len));
        i.tick(now_ms);
        let r = i
            .client
            .complete_login(i.now, status, reason, headers, body);
        i.flush();
        result_of(r)
    })
}

/// Report that the firmware could not perform the login request.
///
/// # Safety
/// `client` must be NULL or a handle from `msgr_client_init` that was not deinitialised.
#[no_mangle]
pub unsafe extern "C" fn msgr_client_login_failed(
    client: *mut msgr_client,
    now_ms: u64,
) -> MsgrResult {
    enter(client, |i| {
        i.tick(now_ms);
        let r = i.client.fail_login(i.now, LoginError::ServiceLogin);
        i.flush();
        result_of(r)
    })
}

fn result_of<T>(r: Result<T, crate::client::ClientError>) -> MsgrResult {
    result_of_unit(r.map(drop))
}

/// The one body of [`result_of`].
#[inline(never)]
fn result_of_unit(r: Result<(), crate::client::ClientError>) -> MsgrResult {
    match r {
        Ok(_) => MsgrResult::Ok,
        Err(crate::client::ClientError::WrongState) => MsgrResult::WrongState,
        Err(crate::client::ClientError::BadArgument) => MsgrResult::InvalidParameter,
        Err(crate::client::ClientError::UnknownConnection) => MsgrResult::InvalidParameter,
        Err(crate::client::ClientError::Sb(
            crate::msnp::sb::SbError::UnknownConversation | crate::msnp::sb::SbError::BadArgument,
        )) => MsgrResult::InvalidParameter,
        Err(e) => match e.kind() {
            crate::ErrorKind::Local => MsgrResult::WrongState,
            k => MsgrResult::from(k),
        },
    }
}

// ----- actions ------------------------------------------------------------------------------

/// Start signing in.
///
/// # Safety
/// `client` must be NULL or a handle from `msgr_client_init` that was not deinitialised.
#[no_mangle]
pub unsafe extern "C" fn msgr_client_sign_in(client: *mut msgr_client, now_ms: u64) -> MsgrResult {
    action(client, now_ms, |c, now| c.sign_in(now))
}

/// Sign out (leaves every conversation).
///
/// # Safety
/// `client` must be NULL or a handle from `msgr_client_init` that was not deinitialised.
#[no_mangle]
pub unsafe extern "C" fn msgr_client_sign_out(client: *mut msgr_client, now_ms: u64) -> MsgrResult {
    action(client, now_ms, |c, now| c.sign_out(now))
}

/// Record a key press or other user activity (ends IMS idleness).
///
/// # Safety
/// `client` must be NULL or a handle from `msgr_client_init` that was not deinitialised.
#[no_mangle]
pub unsafe extern "C" fn msgr_client_user_activity(
    client: *mut msgr_client,
    now_ms: u64,
) -> MsgrResult {
    action(client, now_ms, |c, now| {
        c.user_activity(now);
        Ok(())
    })
}

/// Set the own status (a `msgr_status`; `MSGR_STATUS_OFFLINE` is refused: sign out instead).
///
/// # Safety
/// `client` must be NULL or a handle from `msgr_client_init` that was not deinitialised.
#[no_mangle]
pub unsafe extern "C" fn msgr_client_set_status(
    client: *mut msgr_client,
    now_ms: u64,
    status: u32,
) -> MsgrResult {
    let Some(s) = status_from_u32(status) else {
        return MsgrResult::InvalidParameter;
    };
    action(client, now_ms, |c, now| c.set_status(now, s))
}

/// Switch instant messaging on or off by hand (`IMS`).
///
/// # Safety
/// `client` must be NULL or a handle from `msgr_client_init` that was not deinitialised.
#[no_mangle]
pub unsafe extern "C" fn msgr_client_set_ims(
    client: *mut msgr_client,
    now_ms: u64,
    on: bool,
) -> MsgrResult {
    action(client, now_ms, |c, now| c.set_ims(now, on))
}

fn list_from_u32(v: u32) -> Option<ListKind> {
    Some(match v {
        0 => ListKind::Forward,
        1 => ListKind::Allow,
        2 => ListKind::Block,
        _ => return None,
    })
}

/// Add `passport` to a list (`msgr_list`: FL, AL or BL) with a display name (may be empty).
///
/// # Safety
/// Each string must be readable for its length.
#[no_mangle]
pub unsafe extern "C" fn msgr_client_add_contact(
    client: *mut msgr_client,
    now_ms: u64,
    list: u32,
    passport: *const c_char,
    passport_len: usize,
    name: *const c_char,
    name_len: usize,
) -> MsgrResult {
    let Some(list) = list_from_u32(list) else {
        return MsgrResult::InvalidParameter;
    };
    let p = tri!(text_arg(
        passport,
        passport_len,
        crate::limits::MAX_PASSPORT_LEN
    ));
    let n = tri!(str_arg(name, name_len));
    let n = if n.is_empty() { p } else { n };
    action(client, now_ms, |c, now| {
        c.ns_mut()
            .add_contact(now, list, p, n, None)
            .map_err(Into::into)
    })
}

/// Remove `passport` from a list (`msgr_list`: FL, AL or BL).
///
/// # Safety
/// The string must be readable for its length.
#[no_mangle]
pub unsafe extern "C" fn msgr_client_remove_contact(
    client: *mut msgr_client,
    now_ms: u64,
    list: u32,
    passport: *const c_char,
    passport_len: usize,
) -> MsgrResult {
    let Some(list) = list_from_u32(list) else {
        return MsgrResult::InvalidParameter;
    };
    let p = tri!(text_arg(
        passport,
        passport_len,
        crate::limits::MAX_PASSPORT_LEN
    ));
    action(client, now_ms, |c, now| {
        c.ns_mut()
            .remove_contact(now, list, p, None)
            .map_err(Into::into)
    })
}

/// Block `passport` as the official client did (AL → BL).
///
/// # Safety
/// The string must be readable for its length.
#[no_mangle]
pub unsafe extern "C" fn msgr_client_block(
    client: *mut msgr_client,
    now_ms: u64,
    passport: *const c_char,
    passport_len: usize,
) -> MsgrResult {
    let p = tri!(text_arg(
        passport,
        passport_len,
        crate::limits::MAX_PASSPORT_LEN
    ));
    action(client, now_ms, |c, now| {
        c.ns_mut().block(now, p).map_err(Into::into)
    })
}

/// Unblock `passport` (BL → AL).
///
/// # Safety
/// The string must be readable for its length.
#[no_mangle]
pub unsafe extern "C" fn msgr_client_allow(
    client: *mut msgr_client,
    now_ms: u64,
    passport: *const c_char,
    passport_len: usize,
) -> MsgrResult {
    let p = tri!(text_arg(
        passport,
        passport_len,
        crate::limits::MAX_PASSPORT_LEN
    ));
    action(client, now_ms, |c, now| {
        c.ns_mut().unblock(now, p).map_err(Into::into)
    })
}

/// Answer "`passport` added you": allow (and add them to your list too) or block.
///
/// # Safety
/// The string must be readable for its length.
#[no_mangle]
pub unsafe extern "C" fn msgr_client_answer_added(
    client: *mut msgr_client,
    now_ms: u64,
    passport: *const c_char,
    passport_len: usize,
    allow: bool,
) -> MsgrResult {
    let p = tri!(text_arg(
        passport,
        passport_len,
        crate::limits::MAX_PASSPORT_LEN
    ));
    action(client, now_ms, |c, now| {
        let r = if allow {
            c.ns_mut().allow_adder(now, p, p, true)
        } else {
            c.ns_mut().block_adder(now, p, p)
        };
        r.map_err(Into::into)
    })
}

/// Rename yourself (`REA`).
///
/// # Safety
/// The string must be readable for its length.
#[no_mangle]
pub unsafe extern "C" fn msgr_client_rename_self(
    client: *mut msgr_client,
    now_ms: u64,
    name: *const c_char,
    name_len: usize,
) -> MsgrResult {
    let n = tri!(text_arg(
        name,
        name_len,
        crate::limits::MAX_FRIENDLY_NAME_ENCODED
    ));
    action(client, now_ms, |c, now| {
        c.ns_mut().rename_self(now, n).map_err(Into::into)
    })
}

/// Rename a contact (`REA`, MSNP2–MSNP8).
///
/// # Safety
/// Each string must be readable for its length.
#[no_mangle]
pub unsafe extern "C" fn msgr_client_rename_contact(
    client: *mut msgr_client,
    now_ms: u64,
    passport: *const c_char,
    passport_len: usize,
    name: *const c_char,
    name_len: usize,
) -> MsgrResult {
    let p = tri!(text_arg(
        passport,
        passport_len,
        crate::limits::MAX_PASSPORT_LEN
    ));
    let n = tri!(text_arg(
        name,
        name_len,
        crate::limits::MAX_FRIENDLY_NAME_ENCODED
    ));
    action(client, now_ms, |c, now| {
        c.ns_mut().rename_contact(now, p, n).map_err(Into::into)
    })
}

/// Add a group (MSNP7+).
///
/// # Safety
/// The string must be readable for its length.
#[no_mangle]
pub unsafe extern "C" fn msgr_client_add_group(
    client: *mut msgr_client,
    now_ms: u64,
    name: *const c_char,
    name_len: usize,
) -> MsgrResult {
    let n = tri!(text_arg(
        name,
        name_len,
        crate::limits::MAX_GROUP_NAME_ENCODED
    ));
    action(client, now_ms, |c, now| {
        c.ns_mut().add_group(now, n).map_err(Into::into)
    })
}

/// Remove group `id` (MSNP7+).
///
/// # Safety
/// `client` must be NULL or a handle from `msgr_client_init` that was not deinitialised.
#[no_mangle]
pub unsafe extern "C" fn msgr_client_remove_group(
    client: *mut msgr_client,
    now_ms: u64,
    id: u32,
) -> MsgrResult {
    action(client, now_ms, |c, now| {
        c.ns_mut().remove_group(now, id).map_err(Into::into)
    })
}

/// Rename group `id` (MSNP7+).
///
/// # Safety
/// The string must be readable for its length.
#[no_mangle]
pub unsafe extern "C" fn msgr_client_rename_group(
    client: *mut msgr_client,
    now_ms: u64,
    id: u32,
    name: *const c_char,
    name_len: usize,
) -> MsgrResult {
    let n = tri!(text_arg(
        name,
        name_len,
        crate::limits::MAX_GROUP_NAME_ENCODED
    ));
    action(client, now_ms, |c, now| {
        c.ns_mut().rename_group(now, id, n).map_err(Into::into)
    })
}

/// Set the privacy settings: `ask_when_added` (GTC A/N) and `allow_all` (BLP AL/BL).
///
/// # Safety
/// `client` must be NULL or a handle from `msgr_client_init` that was not deinitialised.
#[no_mangle]
pub unsafe extern "C" fn msgr_client_set_privacy(
    client: *mut msgr_client,
    now_ms: u64,
    ask_when_added: bool,
    allow_all: bool,
) -> MsgrResult {
    action(client, now_ms, |c, now| {
        let gtc = if ask_when_added { Gtc::Ask } else { Gtc::NoAsk };
        let blp = if allow_all {
            Blp::AllowAll
        } else {
            Blp::BlockAll
        };
        let ns = c.ns_mut();
        ns.set_gtc(now, gtc)?;
        ns.set_blp(now, blp)?;
        Ok(())
    })
}

/// Ask for a Passport web link (`URL`): `service` such as `INBOX`, `COMPOSE`, `PROFILE`.
///
/// # Safety
/// The string must be readable for its length.
#[no_mangle]
pub unsafe extern "C" fn msgr_client_request_url(
    client: *mut msgr_client,
    now_ms: u64,
    service: *const c_char,
    service_len: usize,
) -> MsgrResult {
    let s = tri!(text_arg(service, service_len, 32));
    action(client, now_ms, |c, now| {
        c.ns_mut().request_url(now, s, None).map_err(Into::into)
    })
}

/// Invite someone to Messenger by e-mail (`SND`).
///
/// # Safety
/// The string must be readable for its length.
#[no_mangle]
pub unsafe extern "C" fn msgr_client_send_email_invite(
    client: *mut msgr_client,
    now_ms: u64,
    email: *const c_char,
    email_len: usize,
) -> MsgrResult {
    let e = tri!(text_arg(email, email_len, crate::limits::MAX_PASSPORT_LEN));
    action(client, now_ms, |c, now| {
        c.ns_mut().send_email_invite(now, e).map_err(Into::into)
    })
}

/// Page a contact's mobile device (`PAG`, at most 113 characters; only on servers with pager
/// support).
///
/// # Safety
/// Each string must be readable for its length.
#[no_mangle]
pub unsafe extern "C" fn msgr_client_page(
    client: *mut msgr_client,
    now_ms: u64,
    passport: *const c_char,
    passport_len: usize,
    text: *const c_char,
    text_len: usize,
) -> MsgrResult {
    let p = tri!(text_arg(
        passport,
        passport_len,
        crate::limits::MAX_PASSPORT_LEN
    ));
    let t = tri!(text_arg(
        text,
        text_len,
        4 * crate::limits::MAX_PAGE_TEXT_CHARS
    ));
    if t.chars().count() > crate::limits::MAX_PAGE_TEXT_CHARS {
        return MsgrResult::TooLong;
    }
    action(client, now_ms, |c, now| {
        c.ns_mut().page(now, p, t).map_err(Into::into)
    })
}

/// Open a conversation with `passport`; `*conversation` names it.
///
/// # Safety
/// The string must be readable for its length; `conversation` writable.
#[no_mangle]
pub unsafe extern "C" fn msgr_client_open_conversation(
    client: *mut msgr_client,
    now_ms: u64,
    passport: *const c_char,
    passport_len: usize,
    conversation: *mut u32,
) -> MsgrResult {
    let out = tri!(out_ptr(conversation));
    let p = tri!(text_arg(
        passport,
        passport_len,
        crate::limits::MAX_PASSPORT_LEN
    ));
    action(client, now_ms, |c, now| {
        let id = c.open_conversation(now, p)?;
        // SAFETY: writable per the contract.
        unsafe { *out.as_ptr() = id.to_raw() };
        Ok(())
    })
}

/// Invite `passport` into conversation `conversation`.
///
/// # Safety
/// The string must be readable for its length.
#[no_mangle]
pub unsafe extern "C" fn msgr_client_invite(
    client: *mut msgr_client,
    now_ms: u64,
    conversation: u32,
    passport: *const c_char,
    passport_len: usize,
) -> MsgrResult {
    let p = tri!(text_arg(
        passport,
        passport_len,
        crate::limits::MAX_PASSPORT_LEN
    ));
    action(client, now_ms, |c, now| {
        c.invite(now, ConversationId::from_raw(conversation), p)
    })
}

/// Send UTF-8 `text` in a conversation; `*message` names it until its `MSGR_EVENT_KIND_OUTCOME`.
///
/// # Safety
/// The string must be readable for its length; `message` writable.
#[no_mangle]
pub unsafe extern "C" fn msgr_client_send_message(
    client: *mut msgr_client,
    now_ms: u64,
    conversation: u32,
    text: *const c_char,
    text_len: usize,
    message: *mut u32,
) -> MsgrResult {
    let out = tri!(out_ptr(message));
    let t = tri!(text_arg(
        text,
        text_len,
        16 * crate::limits::MAX_OUTGOING_MSG_PAYLOAD
    ));
    action(client, now_ms, |c, now| {
        let id = c.send_message(now, ConversationId::from_raw(conversation), t)?;
        // SAFETY: writable per the contract.
        unsafe { *out.as_ptr() = id.0 };
        Ok(())
    })
}

/// Tell the conversation you are typing (rate-limited by the core).
///
/// # Safety
/// `client` must be NULL or a handle from `msgr_client_init` that was not deinitialised.
#[no_mangle]
pub unsafe extern "C" fn msgr_client_send_typing(
    client: *mut msgr_client,
    now_ms: u64,
    conversation: u32,
) -> MsgrResult {
    action(client, now_ms, |c, now| {
        c.send_typing(now, ConversationId::from_raw(conversation))
    })
}

/// Leave a conversation.
///
/// # Safety
/// `client` must be NULL or a handle from `msgr_client_init` that was not deinitialised.
#[no_mangle]
pub unsafe extern "C" fn msgr_client_leave(
    client: *mut msgr_client,
    now_ms: u64,
    conversation: u32,
) -> MsgrResult {
    action(client, now_ms, |c, now| {
        c.leave(now, ConversationId::from_raw(conversation))
    })
}

// ----- contact list -------------------------------------------------------------------------

/// Return how many contacts are stored (any list).
///
/// # Safety
/// `client` must be NULL or a handle from `msgr_client_init` that was not deinitialised.
#[no_mangle]
pub unsafe extern "C" fn msgr_client_contact_count(client: *mut msgr_client) -> u32 {
    let mut n = 0u32;
    let _ = enter(client, |i| {
        n = u32::try_from(i.client.ns().lists().len()).unwrap_or(u32::MAX);
        MsgrResult::Ok
    });
    n
}

/// Describe contact number `index` (0-based) in `*out`.
///
/// # Safety
/// `out` must be writable.
#[no_mangle]
pub unsafe extern "C" fn msgr_client_contact_at(
    client: *mut msgr_client,
    index: u32,
    out: *mut msgr_contact,
) -> MsgrResult {
    enter(client, |i| {
        let out = tri!(out_ptr(out));
        let Some(c) = usize::try_from(index)
            .ok()
            .and_then(|k| i.client.ns().lists().contact(k))
        else {
            return MsgrResult::InvalidParameter;
        };
        let v = msgr_contact {
            passport: msgr_str::of(c.passport()),
            name: msgr_str::of(c.friendly().as_bytes()),
            status: status_to_u32(c.status()) as u32,
            online: c.status().is_online_for_webtv(),
            lists: u32::from(c.lists()),
            groups: c.groups(),
        };
        // SAFETY: writable per the contract.
        unsafe { *out.as_ptr() = v };
        MsgrResult::Ok
    })
}

/// Save the contact lists and their version into `buf` (for NVRAM); `*written` is the size.
///
/// # Safety
/// `buf` must be `len` writable bytes; `written` writable.
#[no_mangle]
pub unsafe extern "C" fn msgr_client_save_lists(
    client: *mut msgr_client,
    buf: *mut u8,
    len: usize,
    written: *mut usize,
) -> MsgrResult {
    enter(client, |i| {
        let w = tri!(out_ptr(written));
        if buf.is_null() {
            return MsgrResult::NullParameter;
        }
        // SAFETY: `len` writable bytes per the contract.
        let b = unsafe { core::slice::from_raw_parts_mut(buf, len) };
        match i.client.ns().lists().serialize(b) {
            Ok(n) => {
                // SAFETY: writable per the contract.
                unsafe { *w.as_ptr() = n };
                MsgrResult::Ok
            }
            Err(_) => MsgrResult::BufferTooSmall,
        }
    })
}

/// Restore lists saved by `msgr_client_save_lists` (before signing in, or after signing out;
/// `MSGR_RESULT_WRONG_STATE` otherwise): the next sign-in asks only for changes since the saved
/// version. `MSGR_RESULT_CAPACITY`: the lists do not fit this client's limits (nothing changed);
/// `MSGR_RESULT_MALFORMED`: not a saved image of a supported format.
///
/// # Safety
/// `buf` must be `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn msgr_client_restore_lists(
    client: *mut msgr_client,
    buf: *const u8,
    len: usize,
) -> MsgrResult {
    enter(client, |i| {
        let b = tri!(bytes_arg(buf, len));
        if !matches!(i.client.ns().phase(), Phase::Idle | Phase::Closed) {
            return MsgrResult::WrongState;
        }
        match i.client.ns_mut().lists_mut().restore(b) {
            Ok(()) => MsgrResult::Ok,
            Err(ListError::Full) => MsgrResult::Capacity,
            Err(_) => MsgrResult::Malformed,
        }
    })
}

// ----- internals ----------------------------------------------------------------------------

fn action<T>(
    client: *mut msgr_client,
    now_ms: u64,
    mut f: impl FnMut(&mut Client<'static>, Instant) -> Result<T, crate::client::ClientError>,
) -> MsgrResult {
    enter(client, |i| {
        i.tick(now_ms);
        let r = f(&mut i.client, i.now);
        i.flush();
        result_of(r)
    })
}

fn status_from_u32(v: u32) -> Option<Status> {
    Some(match v {
        1 => Status::Online,
        2 => Status::Busy,
        3 => Status::Idle,
        4 => Status::BeRightBack,
        5 => Status::Away,
        6 => Status::OnPhone,
        7 => Status::OutToLunch,
        8 => Status::Hidden,
        _ => return None,
    })
}

fn status_to_u32(s: Status) -> MsgrStatus {
    match s {
        Status::Offline => MsgrStatus::Offline,
        Status::Online => MsgrStatus::Online,
        Status::Busy => MsgrStatus::Busy,
        Status::Idle => MsgrStatus::Idle,
        Status::BeRightBack => MsgrStatus::BeRightBack,
        Status::Away => MsgrStatus::Away,
        Status::OnPhone => MsgrStatus::OnPhone,
        Status::OutToLunch => MsgrStatus::OutToLunch,
        Status::Hidden => MsgrStatus::Hidden,
        _ => MsgrStatus::Unknown,
    }
}

fn outcome_code(o: Outcome) -> MsgrOutcome {
    match o {
        Outcome::Delivered => MsgrOutcome::Delivered,
        Outcome::Sent => MsgrOutcome::Sent,
        Outcome::Failed(r) => match r {
            FailReason::Nak => MsgrOutcome::FailedNak,
            FailReason::Timeout => MsgrOutcome::FailedTimeout,
            FailReason::ContactOffline => MsgrOutcome::FailedContactOffline,
            FailReason::InviteRefused(_) => MsgrOutcome::FailedRefused,
            FailReason::Server(_) => MsgrOutcome::FailedServer,
            FailReason::SetupFailed => MsgrOutcome::FailedSetup,
            FailReason::SwitchboardClosed => MsgrOutcome::FailedClosed,
            FailReason::ConnectionLost => MsgrOutcome::FailedConnectionLost,
            FailReason::Cancelled => MsgrOutcome::FailedCancelled,
        },
    }
}

fn close_code(r: CloseReason) -> u32 {
    (match r {
        CloseReason::Left => MsgrCloseReason::Left,
        CloseReason::Empty => MsgrCloseReason::Empty,
        CloseReason::ConnectionLost => MsgrCloseReason::ConnectionLost,
        CloseReason::Timeout(_) => MsgrCloseReason::Timeout,
        CloseReason::SetupFailed(_) => MsgrCloseReason::SetupFailed,
        CloseReason::Refused(_) => MsgrCloseReason::Refused,
        CloseReason::Protocol => MsgrCloseReason::Protocol,
        CloseReason::ImsOff => MsgrCloseReason::ImsOff,
    }) as u32
}

fn ns_error_result(e: NsError) -> MsgrResult {
    match e {
        NsError::SignedOut => MsgrResult::Ok,
        NsError::AuthFailed(_) | NsError::LoginAnswerFailed => MsgrResult::Auth,
        e => MsgrResult::from(e.kind()),
    }
}

impl Inner {
    /// Advance the clock (out of line: every entry point calls it).
    #[inline(never)]
    fn tick(&mut self, now_ms: u64) {
        self.now.advance_to(Instant::from_millis(now_ms));
    }

    /// Record whether `conn` is open as far as the hooks go; returns whether it was.
    fn set_open(&mut self, conn: ConnId, open: bool) -> bool {
        let slot = usize::try_from(conn.to_raw())
            .ok()
            .and_then(|k| self.open.get_mut(k));
        match slot {
            Some(s) => core::mem::replace(s, open),
            None => false,
        }
    }

    fn hook_close(&mut self, conn: ConnId) {
        self.client.discard_transmit(conn);
        // The NS reports a failed sign-in and then the lost connection: close the socket once.
        if !self.set_open(conn, false) {
            return;
        }
        if let Some(close) = self.transport.close {
            // SAFETY: a hook from the caller's msgr_transport, called with its own userdata.
            unsafe { close(self.transport.userdata, conn.to_raw()) };
        }
    }

    /// Write out everything the client wants to send; stops at the first partial write.
    // Out of line for the many command entry points (ROM); the sending loop sets up a lot, so
    // the common case (nothing to send) is checked before it.
    #[inline(never)]
    fn flush(&mut self) {
        self.flush_inline();
    }

    /// [`flush`](Self::flush) with its check inlined, for the per-message paths (input and
    /// event polling).
    #[inline(always)]
    fn flush_inline(&mut self) {
        if !self.client.is_tx_idle() {
            self.flush_queued();
        }
    }

    /// The body of [`flush`](Self::flush), once something may be waiting: the send hook gets
    /// the bytes in place (the sessions' buffers and the message pool; a message part's head
    /// is assembled in the `name` scratch), and bytes it does not take stay where they are and
    /// are offered again by the next flush.
    #[inline(never)]
    fn flush_queued(&mut self) {
        let Some(send) = self.transport.send else {
            return;
        };
        loop {
            let userdata = self.transport.userdata;
            let Some((conn, chunk)) = self.client.transmit_bytes(&mut self.name) else {
                return;
            };
            let len = chunk.len();
            // SAFETY: a hook from the caller's msgr_transport; the buffer is valid for the call.
            let n = unsafe { send(userdata, conn.to_raw(), chunk.as_ptr(), len) };
            match usize::try_from(n) {
                Ok(n) => {
                    self.client.advance_transmit(conn, n.min(len));
                    if n < len {
                        return;
                    }
                }
                Err(_) => {
                    // The connection failed under us.
                    self.client.discard_transmit(conn);
                    self.client.handle_closed(self.now, conn);
                    self.hook_close(conn);
                    return;
                }
            }
        }
    }

    /// Open a connection through the hook; a refusal is reported back as closed.
    fn hook_open(&mut self, conn: ConnId, host: &[u8; 64], host_len: usize, port: u16) {
        let ok = match self.transport.open {
            Some(open) => {
                let h = host.get(..host_len).unwrap_or(&[]);
                // SAFETY: a hook from the caller's msgr_transport; the host is valid for the call.
                unsafe {
                    open(
                        self.transport.userdata,
                        conn.to_raw(),
                        h.as_ptr().cast(),
                        h.len(),
                        port,
                    ) == 0
                }
            }
            None => false,
        };
        if ok {
            self.set_open(conn, true);
        } else {
            self.client.handle_closed(self.now, conn);
        }
    }

    /// Decode a %-encoded name into the scratch buffer.
    fn decode_name(name_buf: &mut [u8], wire: &[u8]) -> msgr_str {
        match escape::decode(wire, name_buf) {
            Ok(n) => msgr_str::of(name_buf.get(..n).unwrap_or(&[])),
            Err(_) => msgr_str::of(wire),
        }
    }

    /// Take events, acting on connection requests, until one is for the UI.
    fn next_event(&mut self) -> msgr_event {
        if self.client.is_tx_idle() && self.client.is_quiet() {
            // Nothing happened since the last empty poll, which flushed before returning.
            return msgr_event::NONE;
        }
        loop {
            self.flush_inline();
            let mut open: Option<(ConnId, [u8; 64], usize, u16)> = None;
            let mut close: Option<ConnId> = None;
            let ev = 'poll: {
                let Inner { client, name, .. } = self;
                let Some(ev) = client.poll_event() else {
                    break 'poll None;
                };
                close = ev.closes_connection();
                Some(match ev {
                    ClientEvent::Connect { conn, host, port } => {
                        let mut h = [0u8; 64];
                        let n = host.len().min(h.len());
                        if let (Some(d), Some(s)) = (h.get_mut(..n), host.as_bytes().get(..n)) {
                            d.copy_from_slice(s);
                        }
                        open = Some((conn, h, n, port));
                        None
                    }
                    ClientEvent::Disconnect { .. } => None,
                    ev => convert(ev, name),
                })
            };
            let Some(ev) = ev else {
                // Polling moves the sessions on (buffered frames, a finished WTVP sign-in
                // starting the NS): what that queued goes out now, as the caller may wait for
                // input next. Safe here: no event points into the client's buffers.
                self.flush_inline();
                return msgr_event::NONE;
            };
            if let Some(c) = close {
                self.hook_close(c);
            }
            if let Some((conn, h, n, port)) = open {
                self.hook_open(conn, &h, n, port);
            }
            if let Some(e) = ev {
                return e;
            }
        }
    }
}

/// Turn a UI event into its C form (strings point into the client or `name`).
fn convert(ev: ClientEvent<'_>, name: &mut [u8]) -> Option<msgr_event> {
    let mut e = msgr_event::NONE;
    let set = |e: &mut msgr_event, k: MsgrEventKind| e.kind = k as u32;
    match ev {
        ClientEvent::Connect { .. } | ClientEvent::Disconnect { .. } => return None,
        ClientEvent::LoginRequest(req) => {
            set(&mut e, MsgrEventKind::LoginRequest);
            e.text = msgr_str::of(req.login_url.as_bytes());
            e.name = msgr_str::of(req.challenge);
        }
        ClientEvent::Failed(f) => {
            set(&mut e, MsgrEventKind::SignedOut);
            e.code = match f {
                ClientFailure::Refused(_) => MsgrResult::NotAuthorized,
                f => MsgrResult::from(f.kind()),
            } as u32;
            e.text = msgr_str::of(failure_text(f));
        }
        ClientEvent::Ims { on } => {
            set(&mut e, MsgrEventKind::Ims);
            e.online = on;
        }
        ClientEvent::Reconnecting { attempt, .. } => {
            set(&mut e, MsgrEventKind::Reconnecting);
            e.code = attempt;
        }
        ClientEvent::PendingAdd { passport, friendly } => {
            set(&mut e, MsgrEventKind::AddedBy);
            e.passport = msgr_str::of(passport);
            e.name = msgr_str::of(friendly.as_bytes());
            e.code = 1;
        }
        ClientEvent::InvitationIgnored { inviter, reason } => {
            set(&mut e, MsgrEventKind::InvitationIgnored);
            e.passport = msgr_str::of(inviter);
            e.code = MsgrResult::from(reason.kind()) as u32;
        }
        ClientEvent::Ns(ns) => convert_ns(ns, &mut e, name),
        ClientEvent::Sb(sb) => convert_sb(sb, &mut e, name),
    }
    Some(e)
}

fn convert_ns(ev: NsEvent<'_>, e: &mut msgr_event, name: &mut [u8]) {
    let kind = match ev {
        NsEvent::SignedIn { friendly, .. } => {
            e.name = Inner::decode_name(name, friendly);
            MsgrEventKind::SignedIn
        }
        NsEvent::LoginFailed { reason } | NsEvent::ConnectionLost { reason } => {
            e.code = ns_error_result(reason) as u32;
            e.text = msgr_str::of(ns_error_text(reason));
            MsgrEventKind::SignedOut
        }
        NsEvent::ListsSynced { version, .. } => {
            e.code = version;
            MsgrEventKind::ListsSynced
        }
        NsEvent::Presence {
            passport,
            status,
            online_for_webtv,
            friendly,
            ..
        } => {
            e.passport = msgr_str::of(passport);
            e.name = Inner::decode_name(name, friendly);
            e.status = status_to_u32(status) as u32;
            e.online = online_for_webtv;
            MsgrEventKind::Presence
        }
        NsEvent::ContactOffline { passport } => {
            e.passport = msgr_str::of(passport);
            MsgrEventKind::ContactOffline
        }
        NsEvent::AddedBy { passport, friendly } => {
            e.passport = msgr_str::of(passport);
            e.name = Inner::decode_name(name, friendly);
            MsgrEventKind::AddedBy
        }
        NsEvent::RemovedBy { passport } => {
            e.passport = msgr_str::of(passport);
            MsgrEventKind::RemovedBy
        }
        NsEvent::ListChanged {
            change,
            list,
            passport,
            ..
        } => {
            e.passport = msgr_str::of(passport);
            e.code = match list {
                ListKind::Forward => 0,
                ListKind::Allow => 1,
                ListKind::Block => 2,
                ListKind::Reverse => 3,
            };
            e.online = matches!(change, crate::msnp::ns::ListChange::Added);
            MsgrEventKind::ListChanged
        }
        NsEvent::StatusChanged { status } => {
            e.status = status_to_u32(status) as u32;
            MsgrEventKind::StatusChanged
        }
        NsEvent::Alert {
            text, action_url, ..
        } => {
            e.text = msgr_str::of(text);
            e.name = msgr_str::of(action_url);
            MsgrEventKind::Alert
        }
        NsEvent::PageReceived { from, text } => {
            e.passport = msgr_str::of(from);
            e.text = msgr_str::of(text);
            MsgrEventKind::Page
        }
        NsEvent::Url {
            redirect,
            login_url,
            ..
        } => {
            e.text = msgr_str::of(redirect);
            e.name = msgr_str::of(login_url);
            MsgrEventKind::Url
        }
        NsEvent::ServerMessage {
            kind: NsMessageKind::InitialEmail { inbox_unread, .. },
            ..
        } => {
            e.code = inbox_unread;
            MsgrEventKind::Email
        }
        NsEvent::ListOverflow { passport } => {
            e.passport = msgr_str::of(passport);
            e.code = 0;
            MsgrEventKind::ListFull
        }
        NsEvent::TextDropped { passport, group } => {
            e.passport = msgr_str::of(passport);
            e.code = 1;
            e.status = group.unwrap_or(0);
            MsgrEventKind::ListFull
        }
        NsEvent::FrameSkipped { len } => {
            e.code = len;
            MsgrEventKind::FrameSkipped
        }
        NsEvent::RequestFailed { verb, code, .. } => {
            e.code = u32::from(code.0);
            // The verb is a value in the event: its text lives in the name scratch buffer.
            e.text = match name.get_mut(..verb.0.len()) {
                Some(d) => {
                    d.copy_from_slice(&verb.0);
                    msgr_str::of(d)
                }
                None => msgr_str::of(&[]),
            };
            MsgrEventKind::RequestFailed
        }
        _ => MsgrEventKind::Other,
    };
    e.kind = kind as u32;
}

/// Say why the client stopped. Out of line, like [`ns_error_text`]: inlined into the event
/// loop, its texts' addresses were set up on every poll, even one with no event.
#[inline(never)]
fn failure_text(f: ClientFailure) -> &'static [u8] {
    match f {
        ClientFailure::Refused(r) => r.as_str().as_bytes(),
        ClientFailure::Wtvp(_) => b"the WebTV service sign-in failed",
        ClientFailure::Login(_) => b"the login answer could not be obtained",
        ClientFailure::ConnectTimeout => b"the Messenger server did not answer in time",
    }
}

/// Say why the NS session ended.
#[inline(never)]
fn ns_error_text(e: NsError) -> &'static [u8] {
    match e {
        NsError::VersionRefused => b"the server refused every offered protocol version",
        NsError::NoAuthPackage => b"the server offers no usable login method",
        NsError::AuthFailed(_) => b"wrong account name or password",
        NsError::LoginAnswerFailed => b"the login answer could not be obtained",
        NsError::Server(_) => b"the server reported an error",
        NsError::Timeout => b"the server did not answer in time",
        NsError::PingTimeout => b"the connection stopped answering",
        NsError::Malformed => b"the server sent malformed data",
        NsError::RedirectLoop => b"too many server redirects",
        NsError::SignedInElsewhere => b"signed in from another place",
        NsError::ServerShutdown => b"the server is going down",
        NsError::Closed => b"the connection was closed",
        NsError::SignedOut => b"signed out",
    }
}

fn convert_sb(ev: SbEvent<'_>, e: &mut msgr_event, name: &mut [u8]) {
    let kind = match ev {
        SbEvent::Ready { conversation } => {
            e.conversation = conversation.to_raw();
            MsgrEventKind::ConversationReady
        }
        SbEvent::Joined {
            conversation,
            handle,
            name: n,
        } => {
            e.conversation = conversation.to_raw();
            e.passport = msgr_str::of(handle);
            e.name = Inner::decode_name(name, n);
            MsgrEventKind::Joined
        }
        SbEvent::Left {
            conversation,
            handle,
            ..
        } => {
            e.conversation = conversation.to_raw();
            e.passport = msgr_str::of(handle);
            MsgrEventKind::Left
        }
        SbEvent::Message {
            conversation,
            sender,
            name: n,
            text,
            ..
        } => {
            e.conversation = conversation.to_raw();
            e.passport = msgr_str::of(sender);
            e.name = Inner::decode_name(name, n);
            e.text = msgr_str::of(text);
            MsgrEventKind::Message
        }
        SbEvent::Typing {
            conversation,
            handle,
        } => {
            e.conversation = conversation.to_raw();
            e.passport = msgr_str::of(handle);
            MsgrEventKind::Typing
        }
        SbEvent::Outcome {
            conversation,
            message,
            outcome,
        } => {
            e.conversation = conversation.to_raw();
            e.message = message.0;
            e.code = outcome_code(outcome) as u32;
            MsgrEventKind::Outcome
        }
        SbEvent::Closed {
            conversation,
            reason,
        } => {
            e.conversation = conversation.to_raw();
            e.code = close_code(reason);
            MsgrEventKind::ConversationClosed
        }
        SbEvent::UnsupportedContent {
            conversation,
            sender,
            content_type,
            ..
        } => {
            e.conversation = conversation.to_raw();
            e.passport = msgr_str::of(sender);
            e.text = msgr_str::of(content_type);
            MsgrEventKind::UnsupportedContent
        }
        SbEvent::MessageSkipped {
            conversation,
            length,
        } => {
            e.conversation = conversation.to_raw();
            e.code = length;
            MsgrEventKind::FrameSkipped
        }
        SbEvent::InviteFailed {
            conversation,
            handle,
            reason,
            ..
        } => {
            e.conversation = conversation.to_raw();
            e.passport = msgr_str::of(handle);
            e.text = msgr_str::of(b"CAL");
            e.code = match reason {
                InviteFailure::Server(code) => u32::from(code.code()),
                InviteFailure::Timeout => MsgrResult::Timeout as u32,
            };
            MsgrEventKind::RequestFailed
        }
        _ => MsgrEventKind::Other,
    };
    e.kind = kind as u32;
}

/// Panic inside the core on purpose, to test the boundary (feature `test-hooks` only): the
/// host returns `MSGR_RESULT_PANIC` and poisons the handle; the box calls
/// `msgr_platform_panic`.
///
/// # Safety
/// `client` must be NULL or a handle from `msgr_client_init` that was not deinitialised.
#[cfg(feature = "test-hooks")]
#[no_mangle]
pub unsafe extern "C" fn msgr_test_force_panic(client: *mut msgr_client) -> MsgrResult {
    enter(client, |_| panic!("forced panic (msgr_test_force_panic)"))
}
