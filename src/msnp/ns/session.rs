//! The notification-server session state machine (sans-I/O).

use super::config::{CvrPolicy, NsConfig};
use super::contacts::{
    Blp, Contact, ContactList, Group, Gtc, InlineStr, ListError, Phone, MAX_FRIENDLY_LEN,
};
use super::event::{ListChange, LocalError, NsError, NsEvent, NsMessageKind, Verb};
use crate::auth::{chl_response, md5_login_response, wipe, MD5_HEX_LEN};
use crate::ims::TimerTable;
use crate::limits::{
    MAX_FRIENDLY_NAME_ENCODED, MAX_GROUP_ID, MAX_PAGE_TEXT_CHARS, MAX_PASSPORT_LEN, NS_RX_BUFFER,
    NS_TX_BUFFER,
};
use crate::msnp::wire::{
    escape, line::parse_u32, mime::MimeMessage, Args, ClientCommand, Direction, Frame, FrameCore,
    FrameError, ListKind, ProtocolVersion, ServerCommand, ServerErrorCode, Status, TrId,
    TrIdAllocator,
};
use crate::time::Instant;
use crate::wtvp::login::{AnswerMode, LoginAnswer};

/// Most requests waiting for a reply at once.
pub const MAX_PENDING: usize = 16;
/// Most events queued between two `poll_event` drains.
const EVENT_QUEUE: usize = 8;
/// Longest host name kept for a (redirected) server.
pub const MAX_HOST_LEN: usize = 64;
/// Longest password kept for MD5 logins.
pub const MAX_PASSWORD_LEN: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Timer {
    Login = 0,
    Ping = 1,
    PingTimeout = 2,
}

/// Name where the session is in its life cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Not started.
    Idle,
    /// Waiting for the caller to open the connection.
    Connecting,
    /// `VER` sent.
    AwaitVer,
    /// `CVR` sent.
    AwaitCvr,
    /// `INF` sent.
    AwaitInf,
    /// `USR … I` sent.
    AwaitChallenge,
    /// Waiting for the caller's login answer.
    AwaitAnswer,
    /// `USR … S` sent.
    AwaitOk,
    /// Signed in, `SYN` running.
    Syncing,
    /// Signed in and in sync.
    Online,
    /// Connection over (signed out, lost or failed).
    Closed,
}

impl Phase {
    fn is_login(self) -> bool {
        matches!(
            self,
            Phase::AwaitVer
                | Phase::AwaitCvr
                | Phase::AwaitInf
                | Phase::AwaitChallenge
                | Phase::AwaitAnswer
                | Phase::AwaitOk
        )
    }
}

#[derive(Debug, Clone, Copy)]
struct Pending {
    trid: TrId,
    verb: Verb,
    deadline: Instant,
}

/// Internal event record; data borrowed by [`NsEvent`] is re-read from the current frame.
#[derive(Debug, Clone, Copy)]
enum Ev {
    Connect,
    VersionNegotiated(u8),
    LoginAnswerNeeded(AnswerMode),
    SignedIn,
    LoginFailed(NsError),
    ListsSynced {
        version: u32,
        from_cache: bool,
    },
    Overflow,
    /// Contact `index` lost a name or phone number to a full name pool.
    TextDropped(u16),
    /// Group `id` lost its name to a full name pool.
    GroupTextDropped(u8),
    /// A frame too big for the receive buffer was skipped.
    FrameSkipped(u32),
    ServerMessage(NsMessageKind),
    StatusChanged(Status),
    /// `ILN`/`NLN`, its fields located in the current frame's line.
    Presence {
        status: Status,
        client_id: Option<u32>,
        passport: Span,
        friendly: Span,
    },
    /// Built from the current frame by [`frame_event`]; `notice` as in
    /// [`NsSession::next_event_is_notice`].
    Frame {
        notice: bool,
    },
    EmailInviteSent(TrId),
    ImsChanged(TrId, bool),
    RequestFailed(TrId, Verb, ServerErrorCode),
    RequestTimedOut(TrId, Verb),
    ConnectionLost(NsError),
}

/// Where a field lies in the current frame's line.
#[derive(Debug, Clone, Copy)]
struct Span {
    off: u16,
    len: u16,
}

impl Span {
    fn of(self, line: &[u8]) -> Option<&[u8]> {
        let off = usize::from(self.off);
        line.get(off..off.checked_add(usize::from(self.len))?)
    }
}

/// The event queue, apart from the rest so an event can borrow the session while the queue
/// is changed.
struct EvQueue {
    events: [Option<Ev>; EVENT_QUEUE],
    head: usize,
    len: usize,
}

impl EvQueue {
    #[inline(always)]
    fn push(&mut self, ev: Ev) {
        if self.len >= EVENT_QUEUE {
            msgr_warn!("ns: event queue full, event dropped");
            return;
        }
        let i = (self.head + self.len) % EVENT_QUEUE;
        if let Some(s) = self.events.get_mut(i) {
            *s = Some(ev);
            self.len += 1;
        }
    }

    fn front(&self) -> Option<&Ev> {
        if self.len == 0 {
            return None;
        }
        self.events.get(self.head)?.as_ref()
    }

    /// Drop the front event; return its slot, which keeps the record until the next push.
    fn pop(&mut self) -> Option<usize> {
        if self.len == 0 {
            return None;
        }
        let i = self.head;
        self.head = (self.head + 1) % EVENT_QUEUE;
        self.len -= 1;
        Some(i)
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct SyncState {
    trid: Option<TrId>,
    contacts_left: u32,
    groups_left: u32,
    last_contact: Option<usize>,
}

/// Everything but the receive buffer, so frame handling can borrow both at once.
struct Core<'s, const TX: usize> {
    cfg: NsConfig<'s>,
    lists: ContactList<'s>,
    tx: [u8; TX],
    tx_len: usize,
    trids: TrIdAllocator,
    phase: Phase,
    version: Option<ProtocolVersion>,
    login_trid: Option<TrId>,
    password: [u8; MAX_PASSWORD_LEN],
    password_len: usize,
    host: [u8; MAX_HOST_LEN],
    host_len: usize,
    port: u16,
    redirects: u8,
    pending: [Option<Pending>; MAX_PENDING],
    timers: TimerTable<3>,
    queue: EvQueue,
    /// Address of the current frame's line, to record where event fields lie in it.
    line_base: usize,
    status: Status,
    own_friendly: InlineStr<MAX_FRIENDLY_LEN>,
    sync: SyncState,
}

/// A sans-I/O MSNP2–MSNP8 notification-server session over caller-provided contact storage.
///
/// Method kinds (quinn/h11 shape):
/// - inputs: [`handle_connected`](Self::handle_connected), [`handle_input`](Self::handle_input),
///   [`handle_closed`](Self::handle_closed), [`handle_timeout`](Self::handle_timeout);
/// - outputs: [`poll_transmit`](Self::poll_transmit), [`poll_event`](Self::poll_event),
///   [`poll_timeout`](Self::poll_timeout);
/// - commands: [`start`](Self::start), [`set_status`](Self::set_status),
///   [`add_contact`](Self::add_contact), … each returning the request's [`TrId`] or a
///   [`LocalError`] when nothing was sent.
///
/// After every input or command drain in this order: `poll_transmit` until it returns 0, then
/// `poll_event` until `None`, then re-read `poll_timeout`. `handle_input` stops after a frame
/// that produced events and returns how many bytes it took; feed the rest after draining the
/// events (borrowed event data lives in the receive buffer until then). `TX` is the transmit
/// buffer and `RX` the receive buffer: one line plus its payload must fit, unless a larger
/// buffer is lent. The box defaults cover the longest line an NS sends and the largest command
/// this session writes: receive 728 ([`MAX_NS_LINE`]: an `RNG` with the longest tokens, host,
/// handle and name; `LST`/`ILN`/`REA` lines top out near 640), transmit 1536 (a 113-character
/// `PAG` of non-ASCII text is about 1,330 bytes; `ADD`/`REA` with the longest name about 560).
/// Inside a [`crate::client::Client`], a payload frame longer than `RX` (the biggest recorded
/// is Escargot's 1,465-byte login profile `MSG`) is finished in the large-frame buffer the
/// client shares with the switchboards, when it is lent; until then the session takes no
/// input ([`crate::client::Client::input_paused`]). A payload frame that fits no buffer is
/// skipped whole and reported ([`NsEvent::FrameSkipped`]); a line that does not fit ends the
/// session (framing can no longer be trusted). Used on its own, pick an `RX` that holds the
/// largest frame to be read (2048 holds the recorded ones).
///
/// Secrets: the password (kept for reconnects until [`clear_password`](Self::clear_password)
/// or drop), MD5 answers and tickets are wiped after use and never logged.
pub struct NsSession<'s, const RX: usize = NS_RX_BUFFER, const TX: usize = NS_TX_BUFFER> {
    reader: Rx<'s, RX>,
    core: Core<'s, TX>,
}

/// Longest `LST` line of MSNP2–7: a 10-digit TrID and list version, 5-digit index and count,
/// the longest handle and encoded name, and all 30 group ids (`0,1,…,29`).
pub const MAX_LST_LINE: usize = 4
    + 10
    + 1
    + 2
    + 1
    + 10
    + 1
    + 5
    + 1
    + 5
    + 1
    + MAX_PASSPORT_LEN
    + 1
    + MAX_FRIENDLY_NAME_ENCODED
    + 1
    + 79
    + 2;
/// Longest notification-server line the session must read whole: an `RNG` invitation with a
/// session id and cookie at the switchboard's 64-byte token cap, a 64-byte host with its port,
/// the longest handle and the longest encoded name (longer ones could not be joined anyway).
/// Every other line is shorter: [`MAX_LST_LINE`], `ILN`/`NLN`/`ADD`/`REA` about 550 bytes,
/// `XFR` with two 64-byte hosts 163; the recorded Escargot lines are at most 101 bytes.
pub const MAX_NS_LINE: usize = 4
    + crate::msnp::sb::session::TOKEN_CAP
    + 1
    + crate::wtvp::headwaiter::HOST_CAP
    + 6
    + 1
    + 3
    + 1
    + crate::msnp::sb::session::TOKEN_CAP
    + 1
    + MAX_PASSPORT_LEN
    + 1
    + MAX_FRIENDLY_NAME_ENCODED
    + 2;
const _: () = assert!(NS_RX_BUFFER >= MAX_NS_LINE && MAX_NS_LINE >= MAX_LST_LINE);

/// The receive side: the session's own buffer, and the shared large-frame buffer while it is
/// lent to the session (by the [`crate::client::Client`] that also owns the switchboards).
struct Rx<'s, const RX: usize> {
    core: FrameCore,
    small: [u8; RX],
    /// The shared large-frame buffer while lent: the session's bytes are there.
    large: Option<&'s mut [u8]>,
    /// Length of the frame being finished in `large` (0 once it is handed out).
    lent: usize,
    /// Size of the shared buffer that may be lent (0: none; frames longer than `RX` are
    /// skipped).
    room: usize,
}

impl<const RX: usize> Rx<'_, RX> {
    fn buf(&self) -> &[u8] {
        match &self.large {
            Some(b) => b,
            None => &self.small,
        }
    }

    fn buffered(&self) -> usize {
        self.core.buffered()
    }

    /// Take what fits of `bytes`; while lent, only the rest of the frame being finished.
    fn push(&mut self, bytes: &[u8]) -> usize {
        match &mut self.large {
            Some(b) => {
                let k = self
                    .lent
                    .saturating_sub(self.core.buffered())
                    .min(bytes.len());
                self.core.push(b, bytes.get(..k).unwrap_or(&[]))
            }
            None => self.core.push(&mut self.small, bytes),
        }
    }

    fn next_frame(&mut self) -> Option<Result<Frame<'_>, FrameError>> {
        let room = self.room.max(RX);
        let Rx {
            core,
            small,
            large,
            lent,
            ..
        } = self;
        let lent_out = large.is_some();
        let buf: &[u8] = match large {
            Some(b) => b,
            None => small,
        };
        let f = core.next_frame(buf, room);
        if lent_out && matches!(f, Some(Ok(_))) {
            // The frame it was lent for is out: no more input goes to the lent buffer.
            *lent = 0;
        }
        f
    }

    fn current_frame(&self) -> Option<Frame<'_>> {
        self.core.current_frame(self.buf())
    }

    /// Query whether no input can be taken now: the head frame waits for the shared buffer,
    /// or the shared buffer holds a frame already handed out (it goes back first).
    fn waits(&self) -> bool {
        match self.large {
            Some(_) => self.lent == 0,
            None => self.core.needed() > 0,
        }
    }

    /// Drop all buffered bytes (a new connection); a lent buffer stays until it is taken back.
    fn reset(&mut self) {
        self.core = FrameCore::new(Direction::ServerToClient);
        self.lent = 0;
    }
}

impl<const RX: usize, const TX: usize> Drop for NsSession<'_, RX, TX> {
    fn drop(&mut self) {
        wipe(&mut self.core.password);
        wipe(&mut self.core.tx);
    }
}

fn verb(v: &[u8; 3]) -> Verb {
    Verb(*v)
}

impl<'s, const RX: usize, const TX: usize> NsSession<'s, RX, TX> {
    /// Make a session over the caller's contact and group records and the pool for their
    /// strings (contents ignored; see [`ContactList::new`]).
    pub fn new(
        cfg: NsConfig<'s>,
        contacts: &'s mut [Contact],
        groups: &'s mut [Group],
        names: &'s mut [u8],
    ) -> Self {
        let mut host = [0u8; MAX_HOST_LEN];
        let n = cfg.host.len().min(MAX_HOST_LEN);
        if let (Some(d), Some(s)) = (host.get_mut(..n), cfg.host.as_bytes().get(..n)) {
            d.copy_from_slice(s);
        }
        NsSession {
            reader: Rx {
                core: FrameCore::new(Direction::ServerToClient),
                small: [0; RX],
                large: None,
                lent: 0,
                room: 0,
            },
            core: Core {
                cfg,
                lists: ContactList::new(contacts, groups, names),
                tx: [0; TX],
                tx_len: 0,
                trids: TrIdAllocator::new(),
                phase: Phase::Idle,
                version: None,
                login_trid: None,
                password: [0; MAX_PASSWORD_LEN],
                password_len: 0,
                host,
                host_len: n,
                port: cfg.port,
                redirects: 0,
                pending: [None; MAX_PENDING],
                timers: TimerTable::new(),
                line_base: 0,
                queue: EvQueue {
                    events: [None; EVENT_QUEUE],
                    head: 0,
                    len: 0,
                },
                status: Status::Offline,
                own_friendly: InlineStr::new(),
                sync: SyncState::default(),
            },
        }
    }

    // ----- getters -----

    /// Return the life-cycle phase.
    pub fn phase(&self) -> Phase {
        self.core.phase
    }

    /// Return the negotiated dialect of the current connection.
    pub fn version(&self) -> Option<ProtocolVersion> {
        self.core.version
    }

    /// Return the contact list (contacts, groups, list version, privacy settings).
    pub fn lists(&self) -> &ContactList<'s> {
        &self.core.lists
    }

    /// Return the contact list mutably (for `restore` before `start`).
    pub fn lists_mut(&mut self) -> &mut ContactList<'s> {
        &mut self.core.lists
    }

    /// Return the own friendly name (decoded) from `USR … OK` or the last own `REA`.
    pub fn own_friendly(&self) -> &str {
        self.core.own_friendly.as_str()
    }

    /// Return the MSNP8 client capability number this session sends with `CHG`.
    pub fn client_id(&self) -> u32 {
        self.core.cfg.client_id
    }

    /// Return the own status confirmed by the server.
    pub fn status(&self) -> Status {
        self.core.status
    }

    /// Return the TrID the next command will use.
    pub fn next_trid(&self) -> TrId {
        self.core.trids.peek()
    }

    /// Skip TrIDs so the next command uses `trid` (replaying recordings; never goes back).
    pub fn skip_trids_to(&mut self, trid: TrId) {
        if self.core.trids.peek() < trid {
            self.core.trids = TrIdAllocator::starting_at(trid.get());
        }
    }

    // ----- the shared large-frame buffer (lent by the client facade) -----

    /// Let a payload frame of up to `room` bytes that does not fit the session's own buffer
    /// wait for the shared large-frame buffer instead of being skipped.
    pub(crate) fn set_large_frame_room(&mut self, room: usize) {
        self.reader.room = room;
    }

    /// Query whether the head frame waits for the shared large-frame buffer: no input is
    /// taken until it is lent ([`lend_large_frame`](Self::lend_large_frame)).
    #[inline(always)]
    pub(crate) fn wants_large_frame(&self) -> bool {
        self.reader.large.is_none()
            && self.reader.core.needed() > 0
            && self.core.phase != Phase::Closed
    }

    /// Finish the head frame in the shared buffer `buf`: the buffered bytes move there, and
    /// only the rest of that frame is taken into it. `buf` comes back when the session does
    /// not want it or the bytes do not fit.
    pub(crate) fn lend_large_frame(&mut self, buf: &'s mut [u8]) -> Result<(), &'s mut [u8]> {
        if !self.wants_large_frame() {
            return Err(buf);
        }
        let r = &mut self.reader;
        let need = r.core.needed();
        if !r.core.move_to(&r.small, buf) {
            return Err(buf);
        }
        msgr_debug!("ns: {}-byte frame moves to the shared buffer", need);
        r.lent = need;
        r.large = Some(buf);
        Ok(())
    }

    /// Query whether the shared large-frame buffer is lent to this session.
    #[inline(always)]
    pub(crate) fn holds_large_frame(&self) -> bool {
        self.reader.large.is_some()
    }

    /// Query whether the lent buffer must stay: a frame is being finished there, or events
    /// not yet taken may borrow the frame in it.
    pub(crate) fn needs_large_frame(&self) -> bool {
        let r = &self.reader;
        let Some(b) = &r.large else {
            return false;
        };
        (r.lent > 0 && self.core.phase != Phase::Closed)
            || (self.core.queue.len > 0 && !r.core.current_bytes(b).is_empty())
    }

    /// Give the lent buffer back once nothing needs it ([`needs_large_frame`] is false):
    /// later input goes to the session's own buffer again. A partial frame left there by a
    /// closed connection is dropped.
    ///
    /// [`needs_large_frame`]: Self::needs_large_frame
    pub(crate) fn take_back_large_frame(&mut self) -> Option<&'s mut [u8]> {
        if self.reader.large.is_none() || self.needs_large_frame() {
            return None;
        }
        let r = &mut self.reader;
        let b = r.large.take()?;
        // Nothing beyond the frame was taken into `b`: the move carries no bytes normally.
        if r.lent > 0 || !r.core.move_to(b, &mut r.small) {
            r.reset();
        }
        r.lent = 0;
        Some(b)
    }

    // ----- commands -----

    /// Store the password used to answer `USR MD5` challenges locally (MSNP2–7).
    pub fn set_password(&mut self, password: &[u8]) -> Result<(), LocalError> {
        let dst = self
            .core
            .password
            .get_mut(..password.len())
            .ok_or(LocalError::TooLong)?;
        dst.copy_from_slice(password);
        self.core.password_len = password.len();
        Ok(())
    }

    /// Wipe the stored password; later MD5 challenges go to the caller as events.
    pub fn clear_password(&mut self) {
        wipe(&mut self.core.password);
        self.core.password_len = 0;
    }

    /// Begin signing in: emits a `Connect` event for the configured server.
    pub fn start(&mut self, now: Instant) -> Result<(), LocalError> {
        let (host, port) = (self.core.cfg.host, self.core.cfg.port);
        self.start_at(now, host, port)
    }

    /// Start signing in at `host:port` instead of the configured server (the WebTV service
    /// names the Messenger server in its head-waiter headers, learned only at run time).
    pub fn start_at(&mut self, now: Instant, host: &str, port: u16) -> Result<(), LocalError> {
        let _ = now;
        if !matches!(self.core.phase, Phase::Idle | Phase::Closed) {
            return Err(LocalError::WrongState);
        }
        if host.is_empty() || host.len() > MAX_HOST_LEN || port == 0 {
            return Err(LocalError::BadArgument);
        }
        // Bytes left from an earlier connection (or a reader failed on one) must not be
        // processed while the new connection is being opened.
        self.reader.reset();
        let c = &mut self.core;
        if let Some(d) = c.host.get_mut(..host.len()) {
            d.copy_from_slice(host.as_bytes());
        }
        c.host_len = host.len();
        c.port = port;
        c.redirects = 0;
        c.phase = Phase::Connecting;
        c.push(Ev::Connect);
        Ok(())
    }

    /// Sign in again after a lost connection, keeping the lists (TrIDs restart).
    pub fn reconnect(&mut self, now: Instant) -> Result<(), LocalError> {
        self.start(now)
    }

    /// Report that the connection requested by the last `Connect` event is open.
    pub fn handle_connected(&mut self, now: Instant) {
        let c = &mut self.core;
        if c.phase != Phase::Connecting {
            return;
        }
        self.reader.reset();
        c.tx_len = 0;
        c.trids.reset();
        c.pending = [None; MAX_PENDING];
        c.timers.clear();
        c.version = None;
        c.sync = SyncState::default();
        c.send_ver(now);
    }

    /// Hand over the login answer the caller obtained for a `LoginAnswerNeeded` event.
    pub fn provide_login_answer(
        &mut self,
        now: Instant,
        answer: LoginAnswer<'_>,
    ) -> Result<(), LocalError> {
        let c = &mut self.core;
        if c.phase != Phase::AwaitAnswer {
            return Err(LocalError::WrongState);
        }
        let pkg: &[u8] = match (answer, c.version.is_some_and(|v| v.number() >= 8)) {
            (LoginAnswer::Md5(_), false) => b"MD5",
            (LoginAnswer::Ticket(_), true) => b"TWN",
            _ => return Err(LocalError::BadArgument),
        };
        let mut md5 = [0u8; MD5_HEX_LEN];
        let value: &[u8] = match answer {
            LoginAnswer::Md5(a) => {
                md5 = a;
                &md5
            }
            LoginAnswer::Ticket(t) => t,
        };
        if value.is_empty() || value.iter().any(|&b| b <= b' ') {
            wipe(&mut md5);
            return Err(LocalError::BadArgument);
        }
        let r = c.send_login(now, pkg, b"S", value);
        wipe(&mut md5);
        r.map(|_| ())
    }

    /// Report that the login answer could not be obtained: the sign-in fails.
    pub fn login_answer_failed(&mut self, now: Instant) {
        let _ = now;
        if self.core.phase == Phase::AwaitAnswer {
            self.core.fail(NsError::LoginAnswerFailed);
        }
    }

    /// Set the own status (`CHG`; MSNP8 adds the configured client id). `FLN` is refused.
    pub fn set_status(&mut self, now: Instant, status: Status) -> Result<TrId, LocalError> {
        let c = &mut self.core;
        c.signed_in()?;
        if matches!(status, Status::Offline | Status::Other(_)) {
            return Err(LocalError::BadArgument);
        }
        let trid = c.trids.peek();
        let client_id = c
            .version
            .filter(|v| v.presence_has_client_id())
            .map(|_| c.cfg.client_id);
        c.request(
            now,
            &ClientCommand::Chg {
                trid,
                status,
                client_id,
                rest: Args::empty(),
            },
        )
    }

    /// Download the lists again (`SYN` with the stored list version).
    pub fn sync(&mut self, now: Instant) -> Result<TrId, LocalError> {
        self.core.signed_in()?;
        self.core.send_syn(now)
    }

    /// Add `passport` to `list` (FL, AL or BL) with `nickname`, into `group` (FL, MSNP7+).
    pub fn add_contact(
        &mut self,
        now: Instant,
        list: ListKind,
        passport: &str,
        nickname: &str,
        group: Option<u32>,
    ) -> Result<TrId, LocalError> {
        let c = &mut self.core;
        c.signed_in()?;
        check_passport(passport)?;
        if list == ListKind::Reverse {
            return Err(LocalError::BadArgument);
        }
        if group.is_some() && (list != ListKind::Forward || !c.has_groups()) {
            return Err(LocalError::Unsupported);
        }
        if group.is_some_and(|g| g > MAX_GROUP_ID) {
            return Err(LocalError::BadArgument);
        }
        let mut nick = [0u8; crate::limits::MAX_FRIENDLY_NAME_ENCODED];
        let n =
            escape::encode_friendly_name(nickname, &mut nick).map_err(|_| LocalError::TooLong)?;
        let nick = nick.get(..n).unwrap_or(&[]);
        if nick.is_empty() {
            return Err(LocalError::BadArgument);
        }
        let trid = c.trids.peek();
        c.request(
            now,
            &ClientCommand::Add {
                trid,
                list,
                handle: passport.as_bytes(),
                nickname: Some(nick),
                group,
                rest: Args::empty(),
            },
        )
    }

    /// Remove `passport` from `list` (or only from `group` on FL, MSNP7+).
    pub fn remove_contact(
        &mut self,
        now: Instant,
        list: ListKind,
        passport: &str,
        group: Option<u32>,
    ) -> Result<TrId, LocalError> {
        let c = &mut self.core;
        c.signed_in()?;
        check_passport(passport)?;
        if list == ListKind::Reverse {
            return Err(LocalError::BadArgument);
        }
        if group.is_some() && (list != ListKind::Forward || !c.has_groups()) {
            return Err(LocalError::Unsupported);
        }
        let trid = c.trids.peek();
        c.request(
            now,
            &ClientCommand::Rem {
                trid,
                list,
                handle: passport.as_bytes(),
                group,
                rest: Args::empty(),
            },
        )
    }

    /// Block a contact as the official client did: `REM AL` (when on AL) then `ADD BL`.
    pub fn block(&mut self, now: Instant, passport: &str) -> Result<TrId, LocalError> {
        self.move_between(now, passport, ListKind::Allow, ListKind::Block)
    }

    /// Unblock a contact: `REM BL` (when on BL) then `ADD AL`.
    pub fn unblock(&mut self, now: Instant, passport: &str) -> Result<TrId, LocalError> {
        self.move_between(now, passport, ListKind::Block, ListKind::Allow)
    }

    fn move_between(
        &mut self,
        now: Instant,
        passport: &str,
        from: ListKind,
        to: ListKind,
    ) -> Result<TrId, LocalError> {
        self.core.signed_in()?;
        check_passport(passport)?;
        self.core.room_for(2, 64 + 2 * passport.len() + 400)?;
        let mut nick = InlineStr::<MAX_FRIENDLY_LEN>::new();
        let mut on_from = false;
        if let Some(c) = self.core.lists.get(passport.as_bytes()) {
            nick.set(c.friendly());
            on_from = c.is_on(from);
        }
        if on_from {
            self.remove_contact(now, from, passport, None)?;
        }
        let name = if nick.as_str().is_empty() {
            passport
        } else {
            nick.as_str()
        };
        self.add_contact(now, to, passport, name, None)
    }

    /// Answer an `AddedBy` event with allow: `ADD AL`, plus `ADD FL` when `add_to_forward`.
    pub fn allow_adder(
        &mut self,
        now: Instant,
        passport: &str,
        nickname: &str,
        add_to_forward: bool,
    ) -> Result<TrId, LocalError> {
        let t = self.add_contact(now, ListKind::Allow, passport, nickname, None)?;
        if add_to_forward {
            self.add_contact(now, ListKind::Forward, passport, nickname, None)?;
        }
        Ok(t)
    }

    /// Answer an `AddedBy` event with block: `ADD BL`.
    pub fn block_adder(
        &mut self,
        now: Instant,
        passport: &str,
        nickname: &str,
    ) -> Result<TrId, LocalError> {
        self.add_contact(now, ListKind::Block, passport, nickname, None)
    }

    /// Change the own friendly name (`REA` with the own passport).
    pub fn rename_self(&mut self, now: Instant, name: &str) -> Result<TrId, LocalError> {
        let p = self.core.cfg.passport;
        self.rename_contact(now, p, name)
    }

    /// Change a contact's stored nickname (`REA`).
    pub fn rename_contact(
        &mut self,
        now: Instant,
        passport: &str,
        name: &str,
    ) -> Result<TrId, LocalError> {
        let c = &mut self.core;
        c.signed_in()?;
        check_passport(passport)?;
        let mut enc = [0u8; crate::limits::MAX_FRIENDLY_NAME_ENCODED];
        let n = escape::encode_friendly_name(name, &mut enc).map_err(|_| LocalError::TooLong)?;
        if n == 0 {
            return Err(LocalError::BadArgument);
        }
        let trid = c.trids.peek();
        c.request(
            now,
            &ClientCommand::Rea {
                trid,
                handle: passport.as_bytes(),
                name: enc.get(..n).unwrap_or(&[]),
                rest: Args::empty(),
            },
        )
    }

    /// Create a group (`ADG name 0`, MSNP7+).
    pub fn add_group(&mut self, now: Instant, name: &str) -> Result<TrId, LocalError> {
        let c = &mut self.core;
        c.signed_in()?;
        if !c.has_groups() {
            return Err(LocalError::Unsupported);
        }
        let mut enc = [0u8; crate::limits::MAX_GROUP_NAME_ENCODED];
        let n = escape::encode_group_name(name, &mut enc).map_err(|_| LocalError::TooLong)?;
        if n == 0 {
            return Err(LocalError::BadArgument);
        }
        let trid = c.trids.peek();
        c.request(
            now,
            &ClientCommand::Adg {
                trid,
                name: enc.get(..n).unwrap_or(&[]),
                rest: Args::new(b"0"),
            },
        )
    }

    /// Delete a group (`RMG id`, MSNP7+).
    pub fn remove_group(&mut self, now: Instant, id: u32) -> Result<TrId, LocalError> {
        let c = &mut self.core;
        c.signed_in()?;
        if !c.has_groups() {
            return Err(LocalError::Unsupported);
        }
        if id > MAX_GROUP_ID {
            return Err(LocalError::BadArgument);
        }
        let trid = c.trids.peek();
        c.request(
            now,
            &ClientCommand::Rmg {
                trid,
                group_id: id,
                rest: Args::empty(),
            },
        )
    }

    /// Rename a group (`REG id name 0`, MSNP7+).
    pub fn rename_group(&mut self, now: Instant, id: u32, name: &str) -> Result<TrId, LocalError> {
        let c = &mut self.core;
        c.signed_in()?;
        if !c.has_groups() {
            return Err(LocalError::Unsupported);
        }
        if id > MAX_GROUP_ID {
            return Err(LocalError::BadArgument);
        }
        let mut enc = [0u8; crate::limits::MAX_GROUP_NAME_ENCODED];
        let n = escape::encode_group_name(name, &mut enc).map_err(|_| LocalError::TooLong)?;
        if n == 0 {
            return Err(LocalError::BadArgument);
        }
        let trid = c.trids.peek();
        c.request(
            now,
            &ClientCommand::Reg {
                trid,
                group_id: id,
                name: enc.get(..n).unwrap_or(&[]),
                rest: Args::new(b"0"),
            },
        )
    }

    /// Set the `GTC` privacy setting.
    pub fn set_gtc(&mut self, now: Instant, value: Gtc) -> Result<TrId, LocalError> {
        let c = &mut self.core;
        c.signed_in()?;
        let trid = c.trids.peek();
        c.request(
            now,
            &ClientCommand::Gtc {
                trid,
                value: value.token(),
                rest: Args::empty(),
            },
        )
    }

    /// Set the `BLP` privacy setting.
    pub fn set_blp(&mut self, now: Instant, value: Blp) -> Result<TrId, LocalError> {
        let c = &mut self.core;
        c.signed_in()?;
        let trid = c.trids.peek();
        c.request(
            now,
            &ClientCommand::Blp {
                trid,
                value: value.token(),
                rest: Args::empty(),
            },
        )
    }

    /// Set or clear (`None`) an own phone number (`PRP`, MSNP5+).
    pub fn set_phone(
        &mut self,
        now: Instant,
        which: Phone,
        number: Option<&str>,
    ) -> Result<TrId, LocalError> {
        let c = &mut self.core;
        c.signed_in()?;
        if !c.version.is_some_and(|v| v.has_prp_bpr_not_pag()) {
            return Err(LocalError::Unsupported);
        }
        let prop: &[u8] = match which {
            Phone::Home => b"PHH",
            Phone::Work => b"PHW",
            Phone::Mobile => b"PHM",
        };
        let mut enc = [0u8; 3 * super::contacts::MAX_PHONE_LEN];
        let value = match number {
            Some(s) if !s.is_empty() => {
                if s.len() > super::contacts::MAX_PHONE_LEN {
                    return Err(LocalError::TooLong);
                }
                let n = escape::encode(s, &mut enc).map_err(|_| LocalError::TooLong)?;
                Some(enc.get(..n).unwrap_or(&[]))
            }
            _ => None,
        };
        let trid = c.trids.peek();
        c.request(
            now,
            &ClientCommand::Prp {
                trid,
                property: prop,
                value,
                rest: Args::empty(),
            },
        )
    }

    /// Switch instant messages off or on (`IMS OFF|ON`, MSNP3+).
    pub fn set_ims(&mut self, now: Instant, on: bool) -> Result<TrId, LocalError> {
        let c = &mut self.core;
        c.signed_in()?;
        if !c.version.is_some_and(|v| v.number() >= 3) {
            return Err(LocalError::Unsupported);
        }
        let trid = c.trids.peek();
        c.request(
            now,
            &ClientCommand::Ims {
                trid,
                mode: if on { b"ON" } else { b"OFF" },
                rest: Args::empty(),
            },
        )
    }

    /// Ask for a service URL (`URL service [parameter]`: INBOX, FOLDERS, COMPOSE, PROFILE, …).
    pub fn request_url(
        &mut self,
        now: Instant,
        service: &str,
        parameter: Option<&str>,
    ) -> Result<TrId, LocalError> {
        let c = &mut self.core;
        c.signed_in()?;
        let tok_ok = |s: &str| !s.is_empty() && s.bytes().all(|b| b > b' ' && b != 0x7f);
        if !tok_ok(service) || !parameter.is_none_or(tok_ok) {
            return Err(LocalError::BadArgument);
        }
        let trid = c.trids.peek();
        c.request(
            now,
            &ClientCommand::Url {
                trid,
                service: service.as_bytes(),
                parameter: parameter.map(str::as_bytes),
                rest: Args::empty(),
            },
        )
    }

    /// Invite `email` to Messenger by e-mail (`SND`, in the negotiated dialect's form).
    pub fn send_email_invite(&mut self, now: Instant, email: &str) -> Result<TrId, LocalError> {
        let c = &mut self.core;
        c.signed_in()?;
        check_passport(email)?;
        let v = c.version.map_or(2, ProtocolVersion::number);
        let rest: &[u8] = match v {
            2 => b"",
            3 => b"0x0409 MSMSGS",
            _ => b"0x0409 MSMSGS MSMSGS",
        };
        let trid = c.trids.peek();
        c.request(
            now,
            &ClientCommand::Snd {
                trid,
                email: email.as_bytes(),
                rest: Args::new(rest),
            },
        )
    }

    /// Invite `email` with your name and a personal note (`SDC`, MSNP5+).
    pub fn send_email_invite_with_note(
        &mut self,
        now: Instant,
        email: &str,
        note: &str,
    ) -> Result<TrId, LocalError> {
        let c = &mut self.core;
        c.signed_in()?;
        check_passport(email)?;
        if !c.version.is_some_and(|v| v.has_prp_bpr_not_pag()) {
            return Err(LocalError::Unsupported);
        }
        let mut fields = [0u8; 64 + crate::limits::MAX_FRIENDLY_NAME_ENCODED];
        let prefix = b"0x0409 MSMSGS MSMSGS X X ";
        let p = fields.get_mut(..prefix.len()).ok_or(LocalError::TooLong)?;
        p.copy_from_slice(prefix);
        let name = c.own_friendly;
        let own = if name.as_str().is_empty() {
            c.cfg.passport
        } else {
            name.as_str()
        };
        let n = escape::encode_friendly_name(
            own,
            fields.get_mut(prefix.len()..).ok_or(LocalError::TooLong)?,
        )
        .map_err(|_| LocalError::TooLong)?;
        let trid = c.trids.peek();
        c.request(
            now,
            &ClientCommand::Sdc {
                trid,
                email: email.as_bytes(),
                fields: Args::new(fields.get(..prefix.len() + n).unwrap_or(&[])),
                payload: note.as_bytes(),
            },
        )
    }

    /// Search the member directory (`FND fname=… lname=… city=* state=* country=…`); servers
    /// answer 502 (Microsoft since 2003) or nothing (Escargot), reported as events.
    pub fn search_directory(
        &mut self,
        now: Instant,
        first: &str,
        last: &str,
        country: &str,
    ) -> Result<TrId, LocalError> {
        let c = &mut self.core;
        c.signed_in()?;
        let mut buf = [0u8; 160];
        let mut w = 0usize;
        for (key, val) in [
            ("fname=", first),
            ("lname=", last),
            ("city=", "*"),
            ("state=", "*"),
            ("country=", country),
        ] {
            if w > 0 {
                put(&mut buf, &mut w, b" ")?;
            }
            put(&mut buf, &mut w, key.as_bytes())?;
            let val = if val.is_empty() { "*" } else { val };
            let n = escape::encode(val, buf.get_mut(w..).ok_or(LocalError::TooLong)?)
                .map_err(|_| LocalError::TooLong)?;
            w += n;
        }
        let trid = c.trids.peek();
        c.request(
            now,
            &ClientCommand::Fnd {
                trid,
                rest: Args::new(buf.get(..w).unwrap_or(&[])),
            },
        )
    }

    /// Page a contact's mobile device (`PAG`, MSNP5+, only when the server supports it); the text
    /// is XML-escaped and limited to 113 characters.
    pub fn page(&mut self, now: Instant, passport: &str, text: &str) -> Result<TrId, LocalError> {
        let c = &mut self.core;
        c.signed_in()?;
        check_passport(passport)?;
        if !c.cfg.server_supports_pager || !c.version.is_some_and(|v| v.has_prp_bpr_not_pag()) {
            return Err(LocalError::Unsupported);
        }
        if text.chars().count() > MAX_PAGE_TEXT_CHARS || text.is_empty() {
            return Err(LocalError::TooLong);
        }
        let mut buf = [0u8; 64 + MAX_PAGE_TEXT_CHARS * 10];
        let mut w = 0usize;
        put(&mut buf, &mut w, b"<TEXT xml:space=\"preserve\">")?;
        let mut tmp = [0u8; 12];
        for ch in text.chars() {
            let piece: &[u8] = match ch {
                '&' => b"&#x26;",
                ';' => b"&#x3B;",
                '<' => b"&#x3C;",
                '>' => b"&#x3E;",
                '^' => b"&#x5E;",
                '"' => b"&#x22;",
                c if (' '..='~').contains(&c) => c.encode_utf8(&mut tmp).as_bytes(),
                c => {
                    let n = fmt_charref(u32::from(c), &mut tmp);
                    tmp.get(..n).unwrap_or(&[])
                }
            };
            put(&mut buf, &mut w, piece)?;
        }
        put(&mut buf, &mut w, b"</TEXT>")?;
        let trid = c.trids.peek();
        c.request(
            now,
            &ClientCommand::Pag {
                trid,
                handle: passport.as_bytes(),
                payload: buf.get(..w).unwrap_or(&[]),
            },
        )
    }

    /// Ask for a switchboard of your own (`XFR SB`); the reply is a `SwitchboardReady` event.
    pub fn request_switchboard(&mut self, now: Instant) -> Result<TrId, LocalError> {
        let c = &mut self.core;
        c.signed_in()?;
        let trid = c.trids.peek();
        c.request(
            now,
            &ClientCommand::Xfr {
                trid,
                kind: b"SB",
                rest: Args::empty(),
            },
        )
    }

    /// Send a keep-alive `PNG` now (it is also sent by itself after quiet time).
    pub fn ping(&mut self, now: Instant) -> Result<(), LocalError> {
        self.core.signed_in()?;
        self.core.send_ping(now)
    }

    /// Sign out: send `OUT`; the connection ends with `ConnectionLost { SignedOut }`.
    pub fn sign_out(&mut self, now: Instant) -> Result<(), LocalError> {
        let _ = now;
        let c = &mut self.core;
        if matches!(c.phase, Phase::Idle | Phase::Closed) {
            return Err(LocalError::WrongState);
        }
        if c.phase != Phase::Connecting {
            c.emit(&ClientCommand::Out {
                rest: Args::empty(),
            })?;
        }
        c.close(NsError::SignedOut);
        Ok(())
    }

    // ----- inputs -----

    /// Feed received bytes; returns how many were taken (less than all when events must be
    /// drained first). Errors only for a fatal framing failure, also reported as an event.
    pub fn handle_input(&mut self, now: Instant, bytes: &[u8]) -> Result<usize, NsError> {
        if bytes.is_empty() && self.reader.buffered() == 0 {
            // Nothing to do (routers call this after every event): skip the frame loop.
            return Ok(0);
        }
        self.feed(now, bytes)
    }

    fn feed(&mut self, now: Instant, mut bytes: &[u8]) -> Result<usize, NsError> {
        let mut taken = 0usize;
        loop {
            if self.core.queue.len > 0 || self.core.phase == Phase::Closed {
                if self.core.phase == Phase::Closed && self.core.queue.len == 0 {
                    // Nothing more is processed on a finished connection; swallow the rest.
                    return Ok(taken.saturating_add(bytes.len()));
                }
                return Ok(taken);
            }
            // An empty reader has no frame to give (and nothing to skip or release that the
            // next push would not release first).
            let next = if self.reader.buffered() > 0 {
                self.reader.next_frame()
            } else {
                None
            };
            match next {
                Some(Ok(frame)) => {
                    self.core.line_base = frame.line.as_ptr() as usize;
                    self.core.on_activity(now);
                    // Matched by reference: moving the command out would copy it.
                    match &ServerCommand::parse(&frame) {
                        Ok(cmd) => self.core.on_command(now, cmd),
                        Err(_) => msgr_debug!("ns: skipped a malformed line"),
                    }
                    continue;
                }
                Some(Err(FrameError::BadPayloadLength)) => {
                    self.core.close(NsError::Malformed);
                    return Err(NsError::Malformed);
                }
                Some(Err(e)) => {
                    msgr_warn!("ns: frame dropped ({})", e.kind().as_str());
                    match e {
                        FrameError::LineTooLong => {
                            self.core.close(NsError::Malformed);
                            return Err(NsError::Malformed);
                        }
                        FrameError::PayloadTooLong { len } => {
                            self.core.push(Ev::FrameSkipped(len));
                        }
                        FrameError::BadPayloadLength => {}
                    }
                    continue;
                }
                None => {}
            }
            if bytes.is_empty() || self.reader.waits() {
                // Nothing to push, or the head frame waits for the shared large-frame buffer
                // (no input is taken meanwhile), or that buffer holds a finished frame and
                // goes back before more input is taken.
                return Ok(taken);
            }
            // Push at most one line end at a time, so no complete frame is left buffered behind
            // one that produced events: every byte reported as taken has been processed.
            let upto = memchr::memchr(b'\n', bytes).map_or(bytes.len(), |i| i.saturating_add(1));
            let n = self.reader.push(bytes.get(..upto).unwrap_or(bytes));
            taken = taken.saturating_add(n);
            bytes = bytes.get(n..).unwrap_or(&[]);
            if n == 0 {
                return Ok(taken);
            }
        }
    }

    /// Report that the server closed the connection (or the connect failed).
    pub fn handle_closed(&mut self, now: Instant) {
        let _ = now;
        let c = &mut self.core;
        match c.phase {
            Phase::Idle | Phase::Closed => {}
            p if p.is_login() || p == Phase::Connecting => c.fail(NsError::Closed),
            _ => c.close(NsError::Closed),
        }
    }

    /// Report that time has passed; early or repeated calls are harmless.
    pub fn handle_timeout(&mut self, now: Instant) {
        let c = &mut self.core;
        while c.queue.len < EVENT_QUEUE - 1 {
            if let Some(slot) = c
                .pending
                .iter_mut()
                .find(|p| p.is_some_and(|p| p.deadline <= now))
            {
                if let Some(p) = slot.take() {
                    msgr_info!("ns: request {} timed out", p.trid.get());
                    if c.sync.trid == Some(p.trid) {
                        c.sync.trid = None;
                    }
                    c.push(Ev::RequestTimedOut(p.trid, p.verb));
                }
                continue;
            }
            match c.timers.expire(now) {
                Some(i) if i == Timer::Login as usize => {
                    if c.phase.is_login() {
                        c.fail(NsError::Timeout);
                    }
                }
                Some(i) if i == Timer::Ping as usize => {
                    if matches!(c.phase, Phase::Syncing | Phase::Online) {
                        let _ = c.send_ping(now);
                    }
                }
                Some(i) if i == Timer::PingTimeout as usize => {
                    if matches!(c.phase, Phase::Syncing | Phase::Online) {
                        c.close(NsError::PingTimeout);
                    }
                }
                Some(_) => {}
                None => break,
            }
        }
    }

    // ----- outputs -----

    /// Copy bytes to send into `out`; return how many (0: nothing to send).
    pub fn poll_transmit(&mut self, out: &mut [u8]) -> usize {
        let n = out.len().min(self.core.tx_len);
        if let (Some(d), Some(s)) = (out.get_mut(..n), self.core.tx.get(..n)) {
            d.copy_from_slice(s);
        }
        self.advance_transmit(n);
        n
    }

    /// Return the bytes waiting to be sent, in place (empty: nothing to send); report how
    /// many were written with [`advance_transmit`](Self::advance_transmit).
    pub fn transmit_bytes(&self) -> &[u8] {
        self.core.tx.get(..self.core.tx_len).unwrap_or(&[])
    }

    /// Drop the first `n` bytes of [`transmit_bytes`](Self::transmit_bytes) (they were sent).
    pub fn advance_transmit(&mut self, n: usize) {
        let c = &mut self.core;
        let n = n.min(c.tx_len);
        if n == 0 {
            return;
        }
        c.tx.copy_within(n..c.tx_len, 0);
        let old = c.tx_len;
        c.tx_len -= n;
        if let Some(rest) = c.tx.get_mut(c.tx_len..old) {
            wipe(rest);
        }
    }

    /// Return the earliest deadline at which `handle_timeout` must be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let c = &self.core;
        let p = c.pending.iter().flatten().map(|p| p.deadline).min();
        match (p, c.timers.next_deadline()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Return the next event without taking it (for a caller that routes some events itself
    /// and hands the rest on); [`skip_event`](Self::skip_event) then drops it.
    pub fn peek_event(&mut self) -> Option<NsEvent<'_>> {
        loop {
            let ev = self.core.queue.front()?;
            let host = self.core.host.get(..self.core.host_len).unwrap_or(&[]);
            match build(&self.reader, host, self.core.port, &self.core.lists, ev) {
                Some(e) => return Some(e),
                None => {
                    self.core.queue.pop();
                }
            }
        }
    }

    /// Query whether the session has anything for its owner: an event waiting, or received
    /// frames not processed yet (see [`handle_input`](Self::handle_input)).
    #[inline(always)]
    pub fn has_work(&self) -> bool {
        self.core.queue.len > 0 || self.reader.buffered() > 0
    }

    /// Query whether an event is waiting (without building it).
    pub fn has_event(&self) -> bool {
        self.core.queue.len > 0
    }

    /// Query whether the next event is a notice for the user interface only — presence,
    /// contact, list, group, privacy and phone changes, server messages, alerts, storage
    /// reports — as opposed to one its owner may have to act on (connections, sign-in, sync,
    /// switchboards, invitations, failed requests, `IMS`). Answered without building the
    /// event, so a router can pass notices on at the cost of one build.
    pub fn next_event_is_notice(&self) -> bool {
        matches!(
            self.core.queue.front(),
            Some(
                Ev::Frame { notice: true }
                    | Ev::Presence { .. }
                    | Ev::Overflow
                    | Ev::TextDropped(_)
                    | Ev::GroupTextDropped(_)
                    | Ev::FrameSkipped(_)
                    | Ev::ServerMessage(_)
                    | Ev::StatusChanged(_)
                    | Ev::EmailInviteSent(_)
            )
        )
    }

    /// Drop the event [`peek_event`](Self::peek_event) returned.
    pub fn skip_event(&mut self) {
        self.core.queue.pop();
    }

    /// Take the next event.
    pub fn poll_event(&mut self) -> Option<NsEvent<'_>> {
        loop {
            let i = self.core.queue.pop()?;
            let Some(Some(ev)) = self.core.queue.events.get(i) else {
                continue;
            };
            let host = self.core.host.get(..self.core.host_len).unwrap_or(&[]);
            if let Some(e) = build(&self.reader, host, self.core.port, &self.core.lists, ev) {
                return Some(e);
            }
        }
    }
}

/// Parse the frame the reader handed out last.
fn current<'a, const RX: usize>(reader: &'a Rx<'_, RX>) -> Option<ServerCommand<'a>> {
    let f = reader.current_frame()?;
    ServerCommand::parse(&f).ok()
}

/// Build the public event for a queued record from the current frame and the session's state.
fn build<'a, const RX: usize>(
    reader: &'a Rx<'_, RX>,
    host: &'a [u8],
    port: u16,
    lists: &'a ContactList<'_>,
    ev: &Ev,
) -> Option<NsEvent<'a>> {
    let current = || current(reader);
    match *ev {
        Ev::Connect => Some(NsEvent::Connect {
            host: core::str::from_utf8(host).unwrap_or(""),
            port,
        }),
        Ev::VersionNegotiated(version) => Some(NsEvent::VersionNegotiated { version }),
        Ev::LoginAnswerNeeded(mode) => match current() {
            Some(ServerCommand::UsrAuth { value, .. }) => Some(NsEvent::LoginAnswerNeeded {
                challenge: value.unwrap_or(&[]),
                mode,
            }),
            _ => None,
        },
        Ev::SignedIn => match current() {
            Some(ServerCommand::UsrOk {
                handle,
                friendly,
                verified,
                ..
            }) => Some(NsEvent::SignedIn {
                passport: handle,
                friendly,
                verified,
            }),
            _ => None,
        },
        Ev::LoginFailed(reason) => Some(NsEvent::LoginFailed { reason }),
        Ev::ListsSynced {
            version,
            from_cache,
        } => Some(NsEvent::ListsSynced {
            version,
            from_cache,
        }),
        Ev::Overflow => {
            let passport = match current() {
                Some(ServerCommand::Lst { handle, .. }) => handle.unwrap_or(&[]),
                Some(ServerCommand::LstContact { handle, .. })
                | Some(ServerCommand::Add { handle, .. }) => handle,
                _ => &[],
            };
            Some(NsEvent::ListOverflow { passport })
        }
        Ev::TextDropped(index) => Some(NsEvent::TextDropped {
            passport: lists
                .contact(usize::from(index))
                .map_or(&[][..], |c| c.passport()),
            group: None,
        }),
        Ev::GroupTextDropped(id) => Some(NsEvent::TextDropped {
            passport: &[],
            group: Some(u32::from(id)),
        }),
        Ev::FrameSkipped(len) => Some(NsEvent::FrameSkipped { len }),
        Ev::ServerMessage(kind) => match current() {
            Some(ServerCommand::Msg { payload, .. }) => {
                Some(NsEvent::ServerMessage { kind, payload })
            }
            _ => None,
        },
        Ev::StatusChanged(status) => Some(NsEvent::StatusChanged { status }),
        Ev::Presence {
            status,
            client_id,
            passport,
            friendly,
        } => {
            let line = reader.current_frame()?.line;
            Some(NsEvent::Presence {
                passport: passport.of(line)?,
                status,
                online_for_webtv: status.is_online_for_webtv(),
                friendly: friendly.of(line)?,
                client_id,
            })
        }
        Ev::Frame { .. } => current().and_then(|cmd| frame_event(&cmd)),
        Ev::EmailInviteSent(trid) => Some(NsEvent::EmailInviteSent { trid }),
        Ev::ImsChanged(trid, on) => Some(NsEvent::ImsChanged { trid, on }),
        Ev::RequestFailed(trid, verb, code) => Some(NsEvent::RequestFailed { trid, verb, code }),
        Ev::RequestTimedOut(trid, verb) => Some(NsEvent::RequestTimedOut { trid, verb }),
        Ev::ConnectionLost(reason) => Some(NsEvent::ConnectionLost { reason }),
    }
}

fn put(buf: &mut [u8], w: &mut usize, s: &[u8]) -> Result<(), LocalError> {
    let end = w.checked_add(s.len()).ok_or(LocalError::TooLong)?;
    buf.get_mut(*w..end)
        .ok_or(LocalError::TooLong)?
        .copy_from_slice(s);
    *w = end;
    Ok(())
}

fn fmt_charref(mut cp: u32, out: &mut [u8; 12]) -> usize {
    let mut digits = [0u8; 8];
    let mut n = 0usize;
    loop {
        if let Some(d) = digits.get_mut(n) {
            *d = b"0123456789ABCDEF"
                .get((cp & 0xf) as usize)
                .copied()
                .unwrap_or(b'0');
        }
        n += 1;
        cp >>= 4;
        if cp == 0 || n >= digits.len() {
            break;
        }
    }
    let mut w = 0usize;
    for b in b"&#x" {
        if let Some(o) = out.get_mut(w) {
            *o = *b;
        }
        w += 1;
    }
    for i in (0..n).rev() {
        if let (Some(o), Some(d)) = (out.get_mut(w), digits.get(i)) {
            *o = *d;
        }
        w += 1;
    }
    if let Some(o) = out.get_mut(w) {
        *o = b';';
    }
    w + 1
}

fn check_passport(p: &str) -> Result<(), LocalError> {
    if super::contacts::valid_passport(p.as_bytes()) {
        Ok(())
    } else {
        Err(LocalError::BadArgument)
    }
}

/// Query whether an `XFR SB` address can be connected to (the same rule as its event).
fn usable_address(a: &[u8]) -> bool {
    split_address(a).is_some_and(|(h, _)| core::str::from_utf8(h).is_ok())
}

/// Split `host:port` (port defaults to 1863 when absent).
fn split_address(a: &[u8]) -> Option<(&[u8], u16)> {
    match a.iter().rposition(|&b| b == b':') {
        Some(i) => {
            let host = a.get(..i)?;
            let port = u16::try_from(parse_u32(a.get(i.checked_add(1)?..)?)?).ok()?;
            (!host.is_empty() && port != 0).then_some((host, port))
        }
        None => (!a.is_empty()).then_some((a, 1863)),
    }
}

/// Return the text between `<tag` … `>` and `</tag>`, or an attribute value.
fn xml_text<'a>(doc: &'a [u8], open: &[u8], close: &[u8]) -> &'a [u8] {
    let Some(i) = find(doc, open) else {
        return &[];
    };
    let after = doc.get(i.saturating_add(open.len())..).unwrap_or(&[]);
    let Some(gt) = after.iter().position(|&b| b == b'>') else {
        return &[];
    };
    let body = after.get(gt.saturating_add(1)..).unwrap_or(&[]);
    let end = find(body, close).unwrap_or(body.len());
    body.get(..end).unwrap_or(&[])
}

fn xml_attr<'a>(doc: &'a [u8], element: &[u8], attr: &[u8]) -> &'a [u8] {
    let Some(i) = find(doc, element) else {
        return &[];
    };
    let el = doc.get(i..).unwrap_or(&[]);
    let el = el
        .get(..el.iter().position(|&b| b == b'>').unwrap_or(el.len()))
        .unwrap_or(&[]);
    let mut from = 0usize;
    while let Some(j) = el.get(from..).and_then(|s| find(s, attr)) {
        let at = from.saturating_add(j);
        let before_ok = at == 0 || el.get(at - 1).is_some_and(|b| b.is_ascii_whitespace());
        let rest = el.get(at.saturating_add(attr.len())..).unwrap_or(&[]);
        if before_ok {
            if let [b'=', q @ (b'"' | b'\''), tail @ ..] = rest {
                let end = tail.iter().position(|b| b == q).unwrap_or(tail.len());
                return tail.get(..end).unwrap_or(&[]);
            }
        }
        from = at.saturating_add(1);
    }
    &[]
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Build the public event for a frame-derived record.
fn frame_event<'a>(cmd: &ServerCommand<'a>) -> Option<NsEvent<'a>> {
    use ServerCommand as S;
    Some(match *cmd {
        S::Iln {
            status,
            handle,
            name,
            client_id,
            ..
        }
        | S::Nln {
            status,
            handle,
            name,
            client_id,
            ..
        } => NsEvent::Presence {
            passport: handle,
            status,
            online_for_webtv: status.is_online_for_webtv(),
            friendly: name,
            client_id,
        },
        S::Fln { handle, .. } => NsEvent::ContactOffline { passport: handle },
        S::Bpr {
            handle: Some(handle),
            property,
            value,
            ..
        } => NsEvent::ContactPhone {
            passport: handle,
            property,
            value: value.unwrap_or(&[]),
        },
        S::Add {
            trid: None,
            list: ListKind::Reverse,
            handle,
            nickname,
            ..
        } => NsEvent::AddedBy {
            passport: handle,
            friendly: nickname,
        },
        S::Rem {
            trid: None,
            list: ListKind::Reverse,
            handle,
            ..
        } => NsEvent::RemovedBy { passport: handle },
        S::Add {
            trid: Some(trid),
            list,
            handle,
            group,
            ..
        } => NsEvent::ListChanged {
            trid,
            change: ListChange::Added,
            list,
            passport: handle,
            group,
        },
        S::Rem {
            trid: Some(trid),
            list,
            handle,
            group,
            ..
        } => NsEvent::ListChanged {
            trid,
            change: ListChange::Removed,
            list,
            passport: handle,
            group,
        },
        S::Adg {
            trid,
            name,
            group_id,
            ..
        }
        | S::Reg {
            trid,
            group_id,
            name,
            ..
        } => NsEvent::GroupChanged {
            trid,
            id: group_id,
            name: Some(name),
        },
        S::Rmg { trid, group_id, .. } => NsEvent::GroupChanged {
            trid,
            id: group_id,
            name: None,
        },
        S::Rea {
            trid, handle, name, ..
        } => NsEvent::Renamed {
            trid,
            passport: handle,
            friendly: name,
        },
        S::Gtc {
            stamp: Some((t, _)),
            value,
            ..
        } => NsEvent::PrivacyChanged {
            trid: TrId::new(t)?,
            verb: verb(b"GTC"),
            value,
        },
        S::Blp {
            stamp: Some((t, _)),
            value,
            ..
        } => NsEvent::PrivacyChanged {
            trid: TrId::new(t)?,
            verb: verb(b"BLP"),
            value,
        },
        S::Prp {
            trid: Some(t),
            property,
            value,
            ..
        } => NsEvent::PhoneChanged {
            trid: TrId::new(t)?,
            property,
            value: value.unwrap_or(&[]),
        },
        S::XfrSb {
            trid,
            address,
            cookie,
            ..
        } => {
            let (host, port) = split_address(address)?;
            NsEvent::SwitchboardReady {
                trid,
                host: core::str::from_utf8(host).ok()?,
                port,
                cookie,
            }
        }
        S::Rng {
            session,
            address,
            cookie,
            handle,
            name,
            ..
        } => {
            let (host, port) = split_address(address)?;
            NsEvent::Invitation {
                session_id: session,
                host: core::str::from_utf8(host).ok()?,
                port,
                cookie,
                inviter: handle,
                inviter_name: name,
            }
        }
        S::Url {
            trid,
            redirect,
            login_url,
            site_id,
            ..
        } => NsEvent::Url {
            trid,
            redirect,
            login_url,
            site_id,
        },
        S::Not { payload } => NsEvent::Alert {
            id: xml_attr(payload, b"<NOTIFICATION", b"id"),
            site_url: xml_attr(payload, b"<NOTIFICATION", b"siteurl"),
            text: xml_text(payload, b"<TEXT", b"</TEXT>"),
            action_url: xml_attr(payload, b"<ACTION", b"url"),
        },
        S::Ipg { payload } => NsEvent::PageReceived {
            from: xml_attr(payload, b"<FROM", b"name"),
            text: xml_text(payload, b"<TEXT", b"</TEXT>"),
        },
        _ => return None,
    })
}

/// Classify an NS `MSG` payload.
fn classify_message(payload: &[u8]) -> NsMessageKind {
    let m = MimeMessage::parse(payload);
    let body = MimeMessage::parse(m.body());
    let num = |v: Option<&[u8]>| v.and_then(|v| parse_u32(trim(v))).unwrap_or(0);
    let ct = m.content_type().unwrap_or(&[]);
    let ct = ct.split(|&b| b == b';').next().map(trim).unwrap_or(&[]);
    let is = |t: &[u8]| ct.eq_ignore_ascii_case(t);
    if is(b"text/x-msmsgsprofile") {
        NsMessageKind::Profile
    } else if is(b"text/x-msmsgsinitialemailnotification") {
        NsMessageKind::InitialEmail {
            inbox_unread: num(body.header("Inbox-Unread")),
            folders_unread: num(body.header("Folders-Unread")),
        }
    } else if is(b"text/x-msmsgsemailnotification") || is(b"application/x-msmsgsemailnotification")
    {
        NsMessageKind::NewEmail
    } else if is(b"text/x-msmsgsactivemailnotification") {
        NsMessageKind::ActiveEmail {
            delta: num(body.header("Message-Delta")),
        }
    } else if is(b"application/x-msmsgssystemmessage") {
        NsMessageKind::System {
            kind: num(body.header("Type")),
            minutes: num(body.header("Arg1")),
        }
    } else {
        NsMessageKind::Other
    }
}

fn trim(v: &[u8]) -> &[u8] {
    let s = v
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(v.len());
    let e = v
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(s, |e| e + 1);
    v.get(s..e.max(s)).unwrap_or(&[])
}

impl<'s, const TX: usize> Core<'s, TX> {
    fn push(&mut self, ev: Ev) {
        self.queue.push(ev);
    }

    /// Queue the public event of the current frame, if it makes one (checked now, so building
    /// it later cannot fail).
    fn push_frame(&mut self, cmd: &ServerCommand<'_>) {
        if frame_event(cmd).is_some() {
            let notice = !matches!(cmd, ServerCommand::XfrSb { .. } | ServerCommand::Rng { .. });
            self.queue.push(Ev::Frame { notice });
        }
    }

    /// Return where `field` (a slice of the current frame's line) lies in that line.
    fn span(&self, field: &[u8]) -> Span {
        let off = (field.as_ptr() as usize).wrapping_sub(self.line_base);
        Span {
            off: u16::try_from(off).unwrap_or(u16::MAX),
            len: u16::try_from(field.len()).unwrap_or(0),
        }
    }

    /// Report that contact `index` lost a string to a full name pool.
    fn text_dropped(&mut self, index: usize) {
        self.push(Ev::TextDropped(u16::try_from(index).unwrap_or(u16::MAX)));
    }

    fn has_groups(&self) -> bool {
        self.version.is_some_and(|v| v.has_groups())
    }

    fn signed_in(&self) -> Result<(), LocalError> {
        if matches!(self.phase, Phase::Syncing | Phase::Online) {
            Ok(())
        } else {
            Err(LocalError::WrongState)
        }
    }

    fn room_for(&self, requests: usize, bytes: usize) -> Result<(), LocalError> {
        if self.pending.iter().filter(|p| p.is_none()).count() < requests {
            return Err(LocalError::TooManyPending);
        }
        if TX.saturating_sub(self.tx_len) < bytes {
            return Err(LocalError::TransmitFull);
        }
        Ok(())
    }

    /// Write a command into the transmit buffer.
    fn emit(&mut self, cmd: &ClientCommand<'_>) -> Result<(), LocalError> {
        let room = self.tx.get_mut(self.tx_len..).unwrap_or(&mut []);
        let n = cmd.emit(room).map_err(|_| LocalError::TransmitFull)?;
        self.tx_len = self.tx_len.saturating_add(n);
        Ok(())
    }

    /// Send a request with the next TrID (which `cmd` must carry) and track its reply.
    fn request(&mut self, now: Instant, cmd: &ClientCommand<'_>) -> Result<TrId, LocalError> {
        let slot = self
            .pending
            .iter()
            .position(Option::is_none)
            .ok_or(LocalError::TooManyPending)?;
        self.emit(cmd)?;
        let trid = self.trids.next_trid();
        let v = match cmd {
            ClientCommand::Ver { .. } => b"VER",
            ClientCommand::Chg { .. } => b"CHG",
            ClientCommand::Syn { .. } => b"SYN",
            ClientCommand::Add { .. } => b"ADD",
            ClientCommand::Rem { .. } => b"REM",
            ClientCommand::Adg { .. } => b"ADG",
            ClientCommand::Rmg { .. } => b"RMG",
            ClientCommand::Reg { .. } => b"REG",
            ClientCommand::Rea { .. } => b"REA",
            ClientCommand::Gtc { .. } => b"GTC",
            ClientCommand::Blp { .. } => b"BLP",
            ClientCommand::Prp { .. } => b"PRP",
            ClientCommand::Ims { .. } => b"IMS",
            ClientCommand::Url { .. } => b"URL",
            ClientCommand::Snd { .. } => b"SND",
            ClientCommand::Sdc { .. } => b"SDC",
            ClientCommand::Fnd { .. } => b"FND",
            ClientCommand::Pag { .. } => b"PAG",
            ClientCommand::Xfr { .. } => b"XFR",
            ClientCommand::Qry { .. } => b"QRY",
            _ => b"???",
        };
        if let Some(s) = self.pending.get_mut(slot) {
            *s = Some(Pending {
                trid,
                verb: verb(v),
                deadline: now + self.cfg.request_timeout,
            });
        }
        self.arm_ping(now);
        Ok(trid)
    }

    fn take_pending(&mut self, trid: TrId) -> Option<Pending> {
        self.pending
            .iter_mut()
            .find(|p| p.is_some_and(|p| p.trid == trid))
            .and_then(Option::take)
    }

    fn arm_ping(&mut self, now: Instant) {
        if matches!(self.phase, Phase::Syncing | Phase::Online) {
            self.timers
                .set(Timer::Ping as usize, now + self.cfg.ping_interval);
        }
    }

    fn on_activity(&mut self, now: Instant) {
        self.timers.stop(Timer::PingTimeout as usize);
        self.arm_ping(now);
    }

    fn send_ping(&mut self, now: Instant) -> Result<(), LocalError> {
        self.emit(&ClientCommand::Png {
            rest: Args::empty(),
        })?;
        self.timers
            .set(Timer::Ping as usize, now + self.cfg.ping_interval);
        if self.timers.get(Timer::PingTimeout as usize).is_none() {
            self.timers
                .set(Timer::PingTimeout as usize, now + self.cfg.ping_timeout);
        }
        Ok(())
    }

    /// Send a login step with the next TrID and arm the login timer.
    fn login_step(&mut self, now: Instant, cmd: &ClientCommand<'_>) -> Result<TrId, LocalError> {
        self.emit(cmd)?;
        let t = self.trids.next_trid();
        self.login_trid = Some(t);
        self.timers
            .set(Timer::Login as usize, now + self.cfg.request_timeout);
        Ok(t)
    }

    fn send_ver(&mut self, now: Instant) {
        let mut buf = [0u8; 64];
        let mut w = 0usize;
        for n in (2..=8u8).rev() {
            let Some(v) = ProtocolVersion::new(n) else {
                continue;
            };
            if !self.cfg.offers(v) || (n >= 8 && self.cfg.identity.is_none()) {
                continue;
            }
            if w > 0 {
                let _ = put(&mut buf, &mut w, b" ");
            }
            let _ = put(&mut buf, &mut w, &v.token());
        }
        if w == 0 {
            self.fail(NsError::VersionRefused);
            return;
        }
        if self.cfg.offer_cvr0 {
            let _ = put(&mut buf, &mut w, b" CVR0");
        }
        let trid = self.trids.peek();
        self.phase = Phase::AwaitVer;
        let cmd = ClientCommand::Ver {
            trid,
            dialects: Args::new(buf.get(..w).unwrap_or(&[])),
        };
        if self.login_step(now, &cmd).is_err() {
            self.fail(NsError::Closed);
        }
    }

    fn after_ver(&mut self, now: Instant) {
        let v8 = self.version.is_some_and(|v| v.number() >= 8);
        let send_cvr = match self.cfg.cvr_policy {
            CvrPolicy::Always => true,
            CvrPolicy::WhenRequired => v8,
        };
        match self.cfg.identity {
            Some(id) if send_cvr => {
                let trid = self.trids.peek();
                let cmd = ClientCommand::Cvr {
                    trid,
                    locale: id.locale.as_bytes(),
                    os_type: id.os_type.as_bytes(),
                    os_version: id.os_version.as_bytes(),
                    arch: id.arch.as_bytes(),
                    client_name: id.client_name.as_bytes(),
                    client_version: id.client_version.as_bytes(),
                    code_base: Some(id.code_base.as_bytes()),
                    handle: v8.then_some(self.cfg.passport.as_bytes()),
                    rest: Args::empty(),
                };
                self.phase = Phase::AwaitCvr;
                if self.login_step(now, &cmd).is_err() {
                    self.fail(NsError::Closed);
                }
            }
            _ => self.after_cvr(now),
        }
    }

    fn after_cvr(&mut self, now: Instant) {
        let v = self.version.unwrap_or(ProtocolVersion::MIN);
        if v.sends_inf() {
            let trid = self.trids.peek();
            self.phase = Phase::AwaitInf;
            if self
                .login_step(
                    now,
                    &ClientCommand::Inf {
                        trid,
                        rest: Args::empty(),
                    },
                )
                .is_err()
            {
                self.fail(NsError::Closed);
            }
        } else {
            self.send_usr_i(now, b"TWN");
        }
    }

    fn send_usr_i(&mut self, now: Instant, pkg: &[u8]) {
        self.phase = Phase::AwaitChallenge;
        let p = self.cfg.passport;
        if self.send_login(now, pkg, b"I", p.as_bytes()).is_err() {
            self.fail(NsError::Closed);
        }
    }

    fn send_login(
        &mut self,
        now: Instant,
        pkg: &[u8],
        stage: &[u8],
        value: &[u8],
    ) -> Result<TrId, LocalError> {
        let trid = self.trids.peek();
        let r = self.login_step(
            now,
            &ClientCommand::UsrAuth {
                trid,
                package: pkg,
                stage,
                value,
                rest: Args::empty(),
            },
        );
        if stage == b"S" && r.is_ok() {
            self.phase = Phase::AwaitOk;
        }
        r
    }

    fn send_syn(&mut self, now: Instant) -> Result<TrId, LocalError> {
        let trid = self.trids.peek();
        let version = self.lists.version;
        let t = self.request(
            now,
            &ClientCommand::Syn {
                trid,
                version,
                rest: Args::empty(),
            },
        )?;
        self.sync = SyncState {
            trid: Some(t),
            ..SyncState::default()
        };
        Ok(t)
    }

    /// Give up the sign-in: report `LoginFailed`, the one terminal event of this connection
    /// (it also tells the caller to close the socket; no `ConnectionLost` follows).
    fn fail(&mut self, reason: NsError) {
        msgr_info!("ns: sign-in failed ({})", reason.kind().as_str());
        self.push(Ev::LoginFailed(reason));
        self.close_quiet();
    }

    fn close(&mut self, reason: NsError) {
        if self.phase == Phase::Closed {
            return;
        }
        self.close_quiet();
        self.push(Ev::ConnectionLost(reason));
    }

    fn close_quiet(&mut self) {
        self.phase = Phase::Closed;
        self.pending = [None; MAX_PENDING];
        self.timers.clear();
        self.login_trid = None;
        self.status = Status::Offline;
        self.lists.all_offline();
        self.sync = SyncState::default();
    }

    fn finish_sync(&mut self, from_cache: bool) {
        if let Some(t) = self.sync.trid.take() {
            self.take_pending(t);
        }
        self.phase = Phase::Online;
        self.push(Ev::ListsSynced {
            version: self.lists.version,
            from_cache,
        });
    }

    fn after_list_line(&mut self, now: Instant) {
        if self.phase == Phase::Syncing
            && self.sync.trid.is_some()
            && self.sync.contacts_left == 0
            && self.sync.groups_left == 0
            && self.version.is_some_and(|v| v.per_contact_sync())
        {
            self.finish_sync(false);
            self.initial_status(now);
        }
    }

    fn initial_status(&mut self, now: Instant) {
        if let Some(s) = self.cfg.initial_status {
            if self.status == Status::Offline {
                let trid = self.trids.peek();
                let client_id = self
                    .version
                    .filter(|v| v.presence_has_client_id())
                    .map(|_| self.cfg.client_id);
                let _ = self.request(
                    now,
                    &ClientCommand::Chg {
                        trid,
                        status: s,
                        client_id,
                        rest: Args::empty(),
                    },
                );
            }
        }
    }

    /// Store a list line's contact; returns its index, or `None` when it was not stored
    /// (reported when for lack of room).
    fn store(&mut self, passport: &[u8], list: ListKind, friendly: Option<&[u8]>) -> Option<usize> {
        match self.lists.add_to(passport, list, friendly) {
            Ok(i) => Some(i),
            Err(ListError::TextDropped) => {
                let i = self.lists.position(passport);
                if let Some(i) = i {
                    self.text_dropped(i);
                }
                i
            }
            Err(ListError::Full) => {
                self.push(Ev::Overflow);
                None
            }
            Err(_) => None,
        }
    }

    /// Add or rename a group from a list line, reporting what did not fit.
    fn store_group(&mut self, id: u32, name: &[u8]) {
        match self.lists.set_group(id, name) {
            Ok(()) => {}
            Err(ListError::TextDropped) => {
                self.push(Ev::GroupTextDropped(u8::try_from(id).unwrap_or(u8::MAX)));
            }
            Err(_) => self.push(Ev::Overflow),
        }
    }

    fn redirect(&mut self, address: &[u8]) {
        self.redirects = self.redirects.saturating_add(1);
        if self.redirects > self.cfg.max_redirects {
            self.fail(NsError::RedirectLoop);
            return;
        }
        if address != b"0" {
            match split_address(address) {
                Some((host, port))
                    if host.len() <= MAX_HOST_LEN && core::str::from_utf8(host).is_ok() =>
                {
                    if let Some(d) = self.host.get_mut(..host.len()) {
                        d.copy_from_slice(host);
                    }
                    self.host_len = host.len();
                    self.port = port;
                }
                _ => {
                    self.fail(NsError::Malformed);
                    return;
                }
            }
        }
        msgr_info!("ns: redirected to another server");
        self.close_quiet();
        self.phase = Phase::Connecting;
        self.push(Ev::Connect);
    }

    fn on_command(&mut self, now: Instant, cmd: &ServerCommand<'_>) {
        use ServerCommand as S;
        let login_reply = |t: TrId| self.login_trid == Some(t);
        match *cmd {
            S::Ver { trid, dialects } if login_reply(trid) && self.phase == Phase::AwaitVer => {
                let chosen = dialects
                    .clone()
                    .next()
                    .and_then(ProtocolVersion::from_token)
                    .filter(|v| self.cfg.offers(*v));
                match chosen {
                    Some(v) => {
                        self.version = Some(v);
                        self.push(Ev::VersionNegotiated(v.number()));
                        self.after_ver(now);
                    }
                    None => self.fail(NsError::VersionRefused),
                }
            }
            S::Cvr { trid, .. } if login_reply(trid) && self.phase == Phase::AwaitCvr => {
                self.after_cvr(now);
            }
            S::Inf { trid, packages } if login_reply(trid) && self.phase == Phase::AwaitInf => {
                if packages.clone().any(|p| p == b"MD5") {
                    self.send_usr_i(now, b"MD5");
                } else {
                    self.fail(NsError::NoAuthPackage);
                }
            }
            S::UsrAuth {
                trid,
                package,
                stage: b"S",
                value,
                ..
            } if login_reply(trid) && self.phase == Phase::AwaitChallenge => {
                let challenge = value.unwrap_or(&[]);
                if package == b"MD5" && self.password_len > 0 {
                    let pw = self.password.get(..self.password_len).unwrap_or(&[]);
                    let mut answer = md5_login_response(challenge, pw);
                    if self.send_login(now, b"MD5", b"S", &answer).is_err() {
                        self.fail(NsError::Closed);
                    }
                    wipe(&mut answer);
                } else {
                    let mode = if package == b"TWN" {
                        AnswerMode::Ticket
                    } else {
                        AnswerMode::Md5
                    };
                    self.phase = Phase::AwaitAnswer;
                    self.timers
                        .set(Timer::Login as usize, now + self.cfg.request_timeout);
                    self.push(Ev::LoginAnswerNeeded(mode));
                }
            }
            S::UsrOk { trid, friendly, .. }
                if login_reply(trid) && self.phase == Phase::AwaitOk =>
            {
                self.own_friendly.set_encoded(friendly);
                self.timers.stop(Timer::Login as usize);
                self.login_trid = None;
                self.redirects = 0;
                self.phase = Phase::Syncing;
                msgr_info!("ns: signed in");
                self.push(Ev::SignedIn);
                self.arm_ping(now);
                if self.send_syn(now).is_err() {
                    self.close(NsError::Closed);
                }
            }
            S::XfrNs { address, .. } => {
                if self.phase.is_login()
                    || self.phase == Phase::Online
                    || self.phase == Phase::Syncing
                {
                    self.redirect(address);
                }
            }
            S::Error { code, trid, .. } => {
                let Some(t) = trid else { return };
                if self.phase.is_login() && login_reply(t) {
                    let reason = if code.is_auth_failure() {
                        NsError::AuthFailed(code)
                    } else {
                        NsError::Server(code)
                    };
                    self.fail(reason);
                } else if let Some(p) = self.take_pending(t) {
                    if self.sync.trid == Some(t) {
                        self.sync.trid = None;
                        self.phase = Phase::Online;
                    }
                    self.push(Ev::RequestFailed(t, p.verb, code));
                }
            }
            S::Syn {
                trid,
                version,
                contacts,
                groups,
                ..
            } if self.sync.trid == Some(trid) => {
                let cached = self.lists.version;
                let has_counts = contacts.is_some();
                if cached != 0 && version == cached && !has_counts {
                    self.finish_sync(true);
                    self.initial_status(now);
                    return;
                }
                let keep = (self.lists.gtc, self.lists.blp);
                self.lists.clear();
                (self.lists.gtc, self.lists.blp) = keep;
                self.lists.version = version;
                self.sync.contacts_left = contacts.unwrap_or(0);
                self.sync.groups_left = groups.unwrap_or(0);
                if self.version.is_some_and(|v| v.per_contact_sync()) {
                    self.after_list_line(now);
                }
            }
            S::Gtc { stamp, value, .. } => {
                if let Some(g) = Gtc::from_token(value) {
                    self.lists.gtc = Some(g);
                }
                self.list_reply(stamp, true);
            }
            S::Blp { stamp, value, .. } => {
                if let Some(b) = Blp::from_token(value) {
                    self.lists.blp = Some(b);
                }
                self.list_reply(stamp, true);
            }
            S::Prp {
                trid: Some(t),
                version: Some(v),
                ..
            } => {
                if let Some(t) = TrId::new(t) {
                    if self.sync.trid != Some(t) && self.take_pending(t).is_some() {
                        self.lists.version = v;
                        self.push_frame(cmd);
                    }
                }
            }
            S::Bpr {
                handle,
                property,
                value,
                ..
            } => {
                let idx = match handle {
                    Some(h) => self.lists.position(h),
                    None => self.sync.last_contact,
                };
                if let Some(i) = idx {
                    let value = value.unwrap_or(&[]);
                    match property {
                        b"MOB" => self.lists.set_mobile_flag(i, false, value == b"Y"),
                        b"MBE" => self.lists.set_mobile_flag(i, true, value == b"Y"),
                        p => {
                            if let Some(which) = Phone::from_token(p) {
                                if self.lists.set_phone_encoded(i, which, value).is_err() {
                                    self.text_dropped(i);
                                }
                            }
                        }
                    }
                }
                if handle.is_some() && self.phase == Phase::Online {
                    self.push_frame(cmd);
                }
            }
            S::Lst {
                trid,
                list,
                index,
                total,
                handle,
                nickname,
                groups,
                ..
            } => {
                if let Some(h) = handle {
                    if let Some(i) = self.store(h, list, nickname) {
                        self.sync.last_contact = Some(i);
                        if let (ListKind::Forward, Some(g)) = (list, groups) {
                            self.lists.set_groups(i, g);
                        }
                    }
                }
                let syncing = trid.is_some() && trid == self.sync.trid;
                if syncing && list == ListKind::Reverse && index >= total {
                    self.finish_sync(false);
                    self.initial_status(now);
                }
            }
            S::LstContact {
                handle,
                nickname,
                lists,
                groups,
                ..
            } => {
                self.sync.contacts_left = self.sync.contacts_left.saturating_sub(1);
                self.sync.last_contact = None;
                if lists & 0x0f == 0 {
                    // On no list: nothing to keep (its BPR lines, if any, are dropped too).
                    if let Some(i) = self.lists.position(handle) {
                        self.lists.remove_index(i);
                    }
                } else if let Some(i) = self.store(handle, ListKind::Forward, Some(nickname)) {
                    self.lists.set_lists(i, lists & 0x0f);
                    self.sync.last_contact = Some(i);
                    if let Some(g) = groups {
                        self.lists.set_groups(i, g);
                    }
                }
                self.after_list_line(now);
            }
            S::Lsg { group_id, name, .. } | S::LsgGroup { group_id, name, .. } => {
                self.sync.groups_left = self.sync.groups_left.saturating_sub(1);
                self.store_group(group_id, name);
                self.after_list_line(now);
            }
            S::Add {
                trid,
                list,
                version,
                handle,
                nickname,
                group,
                ..
            } => {
                self.lists.version = version;
                if let Some(t) = trid {
                    self.take_pending(t);
                }
                if let Some(i) = self.store(handle, list, Some(nickname)) {
                    if let Some(g) = group {
                        self.lists.add_group_bit(i, g);
                    }
                }
                self.push_frame(cmd);
            }
            S::Rem {
                trid,
                list,
                version,
                handle,
                group,
                ..
            } => {
                self.lists.version = version;
                if let Some(t) = trid {
                    self.take_pending(t);
                }
                self.lists.remove_from(handle, list, group);
                self.push_frame(cmd);
            }
            S::Adg {
                trid,
                version,
                name,
                group_id,
                ..
            }
            | S::Reg {
                trid,
                version,
                group_id,
                name,
                ..
            } => {
                self.take_pending(trid);
                self.lists.version = version;
                self.store_group(group_id, name);
                self.push_frame(cmd);
            }
            S::Rmg {
                trid,
                version,
                group_id,
                ..
            } => {
                self.take_pending(trid);
                self.lists.version = version;
                self.lists.remove_group(group_id);
                self.push_frame(cmd);
            }
            S::Rea {
                trid,
                version,
                handle,
                name,
                ..
            } => {
                self.take_pending(trid);
                self.lists.version = version;
                if handle.eq_ignore_ascii_case(self.cfg.passport.as_bytes()) {
                    self.own_friendly.set_encoded(name);
                } else if let Some(i) = self.lists.position(handle) {
                    if self.lists.set_friendly_encoded(i, name).is_err() {
                        self.text_dropped(i);
                    }
                }
                self.push_frame(cmd);
            }
            S::Chg { trid, status, .. } => {
                if let Some(t) = trid {
                    self.take_pending(t);
                }
                self.status = status;
                self.push(Ev::StatusChanged(status));
            }
            S::Iln {
                status,
                handle,
                name,
                client_id,
                ..
            }
            | S::Nln {
                status,
                handle,
                name,
                client_id,
                ..
            } => {
                if let Some(i) = self.lists.position(handle) {
                    self.lists.set_presence(i, status, client_id.unwrap_or(0));
                    if self.lists.set_friendly_encoded(i, name).is_err() {
                        self.text_dropped(i);
                    }
                }
                // The commonest event: keep where its fields lie, so it is built without
                // parsing the line again.
                let ev = Ev::Presence {
                    status,
                    client_id,
                    passport: self.span(handle),
                    friendly: self.span(name),
                };
                self.push(ev);
            }
            S::Fln { handle, .. } => {
                if let Some(i) = self.lists.position(handle) {
                    self.lists.set_status(i, Status::Offline);
                }
                self.push_frame(cmd);
            }
            S::Chl { challenge, .. } => {
                if self.version.is_some_and(|v| v.has_chl()) {
                    let mut answer = chl_response(challenge, self.cfg.qry_client_key.as_bytes());
                    let trid = self.trids.peek();
                    let id = self.cfg.qry_client_id;
                    let _ = self.request(
                        now,
                        &ClientCommand::Qry {
                            trid,
                            product_id: id.as_bytes(),
                            payload: &answer,
                        },
                    );
                    wipe(&mut answer);
                }
            }
            S::Qry { trid, .. } => {
                self.take_pending(trid);
            }
            S::Ims { trid, mode, .. } => {
                self.take_pending(trid);
                self.push(Ev::ImsChanged(trid, mode == b"ON"));
            }
            S::XfrSb { trid, address, .. } if !usable_address(address) => {
                // A switchboard nobody can connect to: the request failed, tell its owner now.
                if let Some(p) = self.take_pending(trid) {
                    self.push(Ev::RequestTimedOut(trid, p.verb));
                }
            }
            S::Url { trid, .. } | S::XfrSb { trid, .. } => {
                self.take_pending(trid);
                self.push_frame(cmd);
            }
            S::Snd { trid, .. } | S::Sdc { trid, .. } => {
                if self.take_pending(trid).is_some() {
                    self.push(Ev::EmailInviteSent(trid));
                }
            }
            S::Fnd { trid, .. } => {
                self.take_pending(trid);
            }
            S::Not { payload } => {
                if find(payload, b"<TEXT").is_some() {
                    self.push_frame(cmd);
                }
            }
            S::Ipg { .. } | S::Rng { .. } => self.push_frame(cmd),
            S::Msg { payload, .. } => {
                let kind = classify_message(payload);
                self.push(Ev::ServerMessage(kind));
            }
            S::Out { reason, .. } => {
                let r = match reason {
                    Some(b"OTH") => NsError::SignedInElsewhere,
                    Some(b"SSD") => NsError::ServerShutdown,
                    _ => NsError::Closed,
                };
                if self.phase.is_login() {
                    self.fail(r);
                } else {
                    self.close(r);
                }
            }
            _ => msgr_debug!("ns: ignored a command"),
        }
    }

    /// Handle a `GTC`/`BLP` line: a reply to our request carries `(trid, version)`.
    fn list_reply(&mut self, stamp: Option<(u32, u32)>, event: bool) {
        if let Some((t, v)) = stamp {
            if let Some(t) = TrId::new(t) {
                if self.sync.trid != Some(t) && self.take_pending(t).is_some() {
                    self.lists.version = v;
                    if event {
                        // The reply's event exists: its stamp carries a valid TrID.
                        self.push(Ev::Frame { notice: true });
                    }
                }
            }
        }
    }
}
