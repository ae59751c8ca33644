//! One switchboard connection: setup (`USR`/`CAL`/`JOI` or `ANS`/`IRO`), the roster, the
//! outstanding invitations, the transmit side and the events waiting for the caller.
//!
//! Used by [`super::Conversations`], which owns the sessions in caller slots and passes in the
//! shared message slots and pool; nothing here is public API beyond the constants.
//!
//! # Events without copies
//!
//! An event that carries received text (a message, a join, a leave, typing, unsupported content)
//! is not copied anywhere: it names byte ranges of the frame it came from, and that frame stays
//! in the receive buffer until the event has been handed out. Frames behind it wait in the
//! buffer and are processed by the next [`super::Conversations::poll_event`] or `handle_input`,
//! so at most one such event is pending per conversation. Events that carry no received text
//! (ready, invitation failures, timeouts, a skipped oversized `MSG`) are flags and small
//! records.
//!
//! # Receive buffers
//!
//! Each session frames its input in a small buffer of its own ([`SESSION_RX_CAP`] bytes: any
//! switchboard command line, and the usual short `MSG`). A `MSG` whose declared length makes
//! the frame longer than that is finished in the one large-frame buffer its
//! [`super::Conversations`] shares between all sessions ([`Lender`]): the session moves its
//! buffered bytes there, takes exactly the rest of that frame, and gives the buffer back once
//! the frame has been handled and the event borrowing it handed out. While another session
//! (or the notification session it is lent to outside the conversations) holds the buffer, a
//! session whose next frame needs it takes no more input (back-pressure) until the holder
//! gives it back; the holder only needs its own bytes to finish.
//!
//! # Transmit
//!
//! Short commands (`USR`, `ANS`, `CAL`, `OUT`, typing, invitation declines) are written to a
//! small command buffer. Message parts are not copied there: at most one part at a time is
//! *scheduled* (it gets its TrID and a place among the commands) and its `MSG` line and payload
//! are written straight from the message pool into the caller's transmit buffer.

use super::conversations::{Deadline, MessageSlot, MsgSlots, PartState};
use super::message::{self, Incoming};
use super::{
    CloseReason, ConversationId, FailReason, InviteFailure, Outcome, SbConfig, SbError, TimeoutKind,
};
use crate::limits::{MAX_FRIENDLY_NAME_ENCODED, MAX_OUTGOING_MSG_PAYLOAD, MAX_PASSPORT_LEN};
use crate::msnp::wire::{
    AckMode, Args, ClientCommand, Direction, Frame, FrameCore, FrameError, ServerCommand,
    ServerErrorCode, TrId, TrIdAllocator,
};
use crate::time::Instant;
use crate::wtvp::headwaiter::{Text, HOST_CAP};

/// Longest server `MSG` line: `MSG`, a 129-byte handle, a 387-byte encoded name, a 4-digit
/// length, separators and CRLF.
pub const MAX_MSG_LINE: usize =
    3 + 1 + MAX_PASSPORT_LEN + 1 + MAX_FRIENDLY_NAME_ENCODED + 1 + 4 + 2;
/// Longest switchboard command line: `IRO trid index count handle name` with a 10-digit TrID,
/// 5-digit counts, a 129-byte handle, a 387-byte encoded name and CRLF (a `JOI` or `MSG` line
/// is shorter).
pub const MAX_SB_LINE: usize =
    4 + 10 + 1 + 5 + 1 + 5 + 1 + MAX_PASSPORT_LEN + 1 + MAX_FRIENDLY_NAME_ENCODED + 2;
/// Receive buffer of each switchboard session: any command line, and a `MSG` whose line and
/// payload fit (a short text from a contact with a short name). Longer frames borrow the
/// shared large-frame buffer (see the module doc).
pub const SESSION_RX_CAP: usize = 640;
const _: () = assert!(SESSION_RX_CAP >= MAX_SB_LINE && MAX_MSG_LINE <= MAX_SB_LINE);
/// Size of the shared large-frame buffer that holds the largest `MSG` a switchboard relays:
/// the longest server `MSG` line plus a 1664-byte payload. A `MSG` longer than the shared
/// buffer a [`super::Conversations`] was given is skipped unread and reported as
/// [`super::SbEvent::MessageSkipped`]; the conversation goes on.
pub const RX_CAP: usize = MAX_MSG_LINE + MAX_OUTGOING_MSG_PAYLOAD;
/// Scratch a caller lends for writing: the longest head of a message part (its `MSG` line,
/// at most 32 bytes, and the text headers with the longest format value), assembled there.
pub const PART_HEAD_CAP: usize = 32
    + message::TEXT_PREFIX.len()
    + message::FORMAT_HEADER.len()
    + super::conversations::FORMAT_VALUE_CAP
    + 4;
/// Command buffer of one switchboard connection (`USR`/`ANS`, `CAL`, `OUT`, a typing
/// notification or an invitation decline; message parts are written from the pool).
pub const TX_CAP: usize = 512;
/// Command-buffer bytes kept for `OUT`, so leaving never fails for want of room.
const OUT_RESERVE: usize = 8;
/// Bytes for the names of one conversation: the participants and invitees (and, before the
/// connection is up, the switchboard host, cookie, session id and first invitee).
pub const NAMES_CAP: usize = 384;
/// Participants remembered by handle per conversation (more are counted, not named; so are
/// those whose handle no longer fits the names buffer).
pub const MAX_ROSTER: usize = 8;
/// Invitations outstanding at once per conversation.
pub const MAX_INVITES: usize = 4;
/// Longest cookie or session id accepted.
pub const TOKEN_CAP: usize = 64;

pub(crate) type Handle = Text<MAX_PASSPORT_LEN>;
pub(crate) type Token = Text<TOKEN_CAP>;

/// Query whether `s` can travel as one argument: non-empty printable ASCII without spaces.
pub(crate) fn token_ok(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&c| (0x21..0x7f).contains(&c))
}

pub(crate) fn handle(s: &[u8]) -> Option<Handle> {
    token_ok(s).then(|| Text::new(s)).flatten()
}

pub(crate) fn token(s: &[u8]) -> Option<Token> {
    token_ok(s).then(|| Text::new(s)).flatten()
}

/// Split `host:port`.
pub(crate) fn parse_address(a: &[u8]) -> Option<(Text<HOST_CAP>, u16)> {
    let colon = a.iter().rposition(|&c| c == b':')?;
    let host = a.get(..colon)?;
    let port = crate::msnp::wire::line::parse_u32(a.get(colon.checked_add(1)?..)?)?;
    let port = u16::try_from(port).ok().filter(|&p| p != 0)?;
    if !token_ok(host) {
        return None;
    }
    Some((Text::new(host)?, port))
}

// Tags of the names buffer.
const TAG_ROSTER: u8 = 0;
const TAG_INVITE: u8 = 1; // 1..=MAX_INVITES: the invitation in that slot.
const TAG_FIRST: u8 = 16;
const TAG_HOST: u8 = 17;
const TAG_COOKIE: u8 = 18;
const TAG_SESSION: u8 = 19;

/// Short byte strings of one conversation, packed as `tag, len, bytes` entries.
pub(crate) struct Names {
    buf: [u8; NAMES_CAP],
    len: u16,
}

impl Names {
    const fn new() -> Self {
        Names {
            buf: [0; NAMES_CAP],
            len: 0,
        }
    }

    /// Iterate `(position, tag, bytes)` over the entries.
    fn entries(&self) -> NameIter<'_> {
        NameIter {
            buf: self.buf.get(..usize::from(self.len)).unwrap_or(&[]),
            pos: 0,
        }
    }

    fn get(&self, tag: u8) -> Option<&[u8]> {
        self.entries().find(|e| e.1 == tag).map(|e| e.2)
    }

    fn find(&self, tag: u8, h: &[u8]) -> Option<usize> {
        self.entries()
            .find(|e| e.1 == tag && e.2.eq_ignore_ascii_case(h))
            .map(|e| e.0)
    }

    /// Append an entry; false when it does not fit (or is longer than 255 bytes).
    fn add(&mut self, tag: u8, s: &[u8]) -> bool {
        let Ok(l) = u8::try_from(s.len()) else {
            return false;
        };
        let at = usize::from(self.len);
        let end = at.saturating_add(2).saturating_add(s.len());
        let Some(dst) = self.buf.get_mut(at..end) else {
            return false;
        };
        if let Some((head, body)) = dst.split_first_chunk_mut::<2>() {
            *head = [tag, l];
            body.copy_from_slice(s);
        }
        self.len = u16::try_from(end).unwrap_or(self.len);
        true
    }

    fn remove_at(&mut self, pos: usize) {
        let l = usize::from(self.buf.get(pos.saturating_add(1)).copied().unwrap_or(0));
        let next = pos.saturating_add(2).saturating_add(l);
        let len = usize::from(self.len);
        if next > len {
            return;
        }
        self.buf.copy_within(next..len, pos);
        self.len = u16::try_from(len.saturating_sub(next.saturating_sub(pos))).unwrap_or(0);
    }

    fn remove_tag(&mut self, tag: u8) {
        if let Some(pos) = self.entries().find(|e| e.1 == tag).map(|e| e.0) {
            self.remove_at(pos);
        }
    }
}

struct NameIter<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for NameIter<'a> {
    type Item = (usize, u8, &'a [u8]);
    fn next(&mut self) -> Option<Self::Item> {
        let at = self.pos;
        let tag = *self.buf.get(at)?;
        let l = usize::from(*self.buf.get(at.checked_add(1)?)?);
        let start = at.checked_add(2)?;
        let end = start.checked_add(l)?;
        let s = self.buf.get(start..end)?;
        self.pos = end;
        Some((at, tag, s))
    }
}

/// A byte range of the current frame, by its offset from the start of the frame's line.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Span {
    off: u16,
    len: u16,
}

impl Span {
    /// Locate `s`, a sub-slice of the line or payload of `frame` (an empty span otherwise).
    fn of(frame: &Frame<'_>, s: &[u8]) -> Span {
        FrameBounds::of(frame).span(s)
    }

    /// Return the bytes of this range in `raw`, the frame's bytes from the start of its line.
    pub(crate) fn get(self, raw: &[u8]) -> &[u8] {
        let off = usize::from(self.off);
        raw.get(off..off.saturating_add(usize::from(self.len)))
            .unwrap_or(&[])
    }
}

/// Where a frame's bytes lie (its line's address and its length with the payload), worked
/// out once for the several spans of one event.
#[derive(Clone, Copy)]
struct FrameBounds {
    base: usize,
    end: usize,
}

impl FrameBounds {
    fn of(frame: &Frame<'_>) -> FrameBounds {
        let base = frame.line.as_ptr() as usize;
        let end = frame.payload.map_or(frame.line.len(), |p| {
            (p.as_ptr() as usize)
                .saturating_sub(base)
                .saturating_add(p.len())
        });
        FrameBounds { base, end }
    }

    /// Locate `s`, a sub-slice of the frame (an empty span otherwise).
    #[inline(always)]
    fn span(self, s: &[u8]) -> Span {
        let off = (s.as_ptr() as usize).wrapping_sub(self.base);
        match (u16::try_from(off), u16::try_from(s.len())) {
            (Ok(o), Ok(l)) if off.saturating_add(s.len()) <= self.end => Span { off: o, len: l },
            _ => Span::default(),
        }
    }
}

/// An event that borrows the current frame of the receive buffer.
#[derive(Debug, Clone, Copy)]
pub(crate) enum FrameEvent {
    Joined {
        handle: Span,
        name: Span,
    },
    Left {
        handle: Span,
        idle: bool,
    },
    Message {
        sender: Span,
        name: Span,
        text: Span,
        format: Option<Span>,
        utf8: bool,
    },
    Typing {
        handle: Span,
    },
    Unsupported {
        sender: Span,
        /// `None`: an application invitation (`text/x-msmsgsinvite`).
        content_type: Option<Span>,
        declined: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Caller,
    Answerer,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    AwaitSwitchboard,
    Connecting,
    Authenticating(TrId),
    Answering(TrId),
    Open,
    Leaving(CloseReason),
    Closed,
}

/// One invitation; the invitee's handle is in the names buffer under `TAG_INVITE + slot`.
#[derive(Clone, Copy)]
pub(crate) struct Invite {
    trid: TrId,
    deadline: Instant,
    /// Set once it failed: the error code (0: no `JOI` in time), until reported.
    failed: Option<u16>,
}

/// The message part being written: its slot, TrID, how many command bytes go before it, and
/// how many of its bytes (line and payload) were handed out.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scheduled {
    slot: u16,
    trid: TrId,
    at: u16,
    sent: u16,
}

/// Everything of one conversation except its receive buffer.
pub(crate) struct State {
    pub id: ConversationId,
    pub role: Role,
    pub phase: Phase,
    pub port: u16,
    trids: TrIdAllocator,
    tx: [u8; TX_CAP],
    tx_start: u16,
    tx_end: u16,
    scheduled: Option<Scheduled>,
    /// A part may be queued for this conversation (cleared when a scan finds none).
    pub maybe_queued: bool,
    names: Names,
    roster_len: u8,
    roster_extra: u16,
    invites: [Option<Invite>; MAX_INVITES],
    /// How many invitations failed and wait to be reported.
    invites_failed: u8,
    open_deadline: Option<Instant>,
    connect_deadline: Option<Instant>,
    leave_deadline: Option<Instant>,
    last_typing: Option<Instant>,
    pub report_need_sb: bool,
    pub report_connect: bool,
    pub report_ready: bool,
    /// A timeout event: the TrID (0: none) and the verb code (1 `USR`, 2 `ANS`, else connect).
    pub report_timeout: Option<(u32, u32)>,
    /// A `MSG` too large for the receive buffer was skipped: its announced length.
    pub report_skipped: Option<u32>,
    /// An event borrowing the current frame.
    pub pending: Option<FrameEvent>,
    /// A name handed out with an event, dropped at the next call on this session.
    drop_tag: Option<u8>,
    /// The connection closed while frames were still buffered: close once they are processed.
    eof: Option<CloseReason>,
    pub closed: Option<CloseReason>,
}

/// One switchboard connection: its receive buffer and its state.
pub(crate) struct Session {
    rx: FrameCore,
    /// The session's own receive buffer (the bytes are here unless `lent` is set).
    small: [u8; SESSION_RX_CAP],
    /// Length of the frame being finished in the shared large-frame buffer, which then holds
    /// this session's bytes (0: they are in `small`).
    lent: usize,
    /// Place in the queue for the shared buffer while refused it (0: not queued).
    ticket: u32,
    pub st: State,
}

/// The large-frame buffer shared by all sessions, the slot of the session holding it, and
/// the queue of sessions refused it.
pub(crate) struct Lender<'a> {
    /// The buffer (empty while it is lent outside the conversations).
    pub buf: &'a mut [u8],
    /// Its size: the longest frame that waits for it instead of being skipped.
    pub room: usize,
    pub holder: &'a mut Option<u16>,
    pub queue: &'a mut WaitQueue,
}

/// Sessions refused the shared buffer are served in the order they were first refused: each
/// gets a ticket, and the buffer goes only to the lowest ticket still waiting.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct WaitQueue {
    /// The last ticket handed out.
    pub last: u32,
    /// The lowest ticket of a session still waiting (0: nobody waits), kept by
    /// [`super::Conversations`].
    pub turn: u32,
}

/// What `process` needs besides the session: the shared outgoing messages and the setup.
pub(crate) struct Ctx<'a> {
    pub now: Instant,
    pub msgs: MsgSlots<'a>,
    pub pool: &'a [u8],
    pub cfg: &'a SbConfig,
    pub me: &'a [u8],
}

impl Session {
    fn blank(id: ConversationId, role: Role) -> Self {
        Session {
            rx: FrameCore::new(Direction::ServerToClient),
            small: [0; SESSION_RX_CAP],
            lent: 0,
            ticket: 0,
            st: State {
                id,
                role,
                phase: Phase::AwaitSwitchboard,
                port: 0,
                trids: TrIdAllocator::new(),
                tx: [0; TX_CAP],
                tx_start: 0,
                tx_end: 0,
                scheduled: None,
                maybe_queued: false,
                names: Names::new(),
                roster_len: 0,
                roster_extra: 0,
                invites: [None; MAX_INVITES],
                invites_failed: 0,
                open_deadline: None,
                connect_deadline: None,
                leave_deadline: None,
                last_typing: None,
                report_need_sb: false,
                report_connect: false,
                report_ready: false,
                report_timeout: None,
                report_skipped: None,
                pending: None,
                drop_tag: None,
                eof: None,
                closed: None,
            },
        }
    }

    /// Start a conversation we open: wait for the NS to provide a switchboard.
    pub(crate) fn new_caller(
        id: ConversationId,
        now: Instant,
        cfg: &SbConfig,
        first_invitee: Option<Handle>,
    ) -> Self {
        let mut s = Self::blank(id, Role::Caller);
        if let Some(h) = first_invitee {
            // An empty buffer holds any handle.
            s.st.names.add(TAG_FIRST, h.as_bytes());
        }
        s.st.open_deadline = Some(now + cfg.open_conversation_timeout);
        s.st.report_need_sb = true;
        s
    }

    /// Start answering an invitation: ask for a connection right away.
    pub(crate) fn new_answerer(
        id: ConversationId,
        now: Instant,
        cfg: &SbConfig,
        host: Text<HOST_CAP>,
        port: u16,
        cookie: Token,
        session_id: Token,
    ) -> Self {
        let mut s = Self::blank(id, Role::Answerer);
        // An empty buffer holds all three (64 bytes at most each).
        s.st.names.add(TAG_HOST, host.as_bytes());
        s.st.names.add(TAG_COOKIE, cookie.as_bytes());
        s.st.names.add(TAG_SESSION, session_id.as_bytes());
        s.st.port = port;
        s.st.phase = Phase::Connecting;
        s.st.connect_deadline = Some(now + cfg.connect_timeout);
        s.st.report_connect = true;
        s
    }

    /// Take the switchboard address and cookie of an `XFR` reply; false if they do not fit.
    pub(crate) fn set_switchboard(&mut self, host: &[u8], port: u16, cookie: &[u8]) -> bool {
        let n = &mut self.st.names;
        n.remove_tag(TAG_HOST);
        n.remove_tag(TAG_COOKIE);
        if !(n.add(TAG_HOST, host) && n.add(TAG_COOKIE, cookie)) {
            n.remove_tag(TAG_HOST);
            n.remove_tag(TAG_COOKIE);
            return false;
        }
        self.st.port = port;
        true
    }

    pub(crate) fn set_connect_deadline(&mut self, at: Instant) {
        self.st.connect_deadline = Some(at);
    }

    /// Return the switchboard host (for the connection request).
    pub(crate) fn host(&self) -> &str {
        core::str::from_utf8(self.st.names.get(TAG_HOST).unwrap_or(&[])).unwrap_or("")
    }

    /// Feed received bytes; return how many were taken (see [`super::Conversations::handle_input`]).
    pub(crate) fn handle_input(
        &mut self,
        bytes: &[u8],
        cx: &mut Ctx<'_>,
        l: &mut Lender<'_>,
    ) -> usize {
        let mut consumed = 0usize;
        loop {
            if self.wants_processing() {
                self.process(cx, l);
            }
            if self.st.closed.is_some() || self.st.eof.is_some() {
                // Nothing more will be read on this connection.
                return bytes.len();
            }
            let rest = bytes.get(consumed..).unwrap_or(&[]);
            if rest.is_empty() || self.st.blocked() || self.is_waiting() {
                return consumed;
            }
            let n = if self.lent > 0 {
                // Only the rest of the frame being finished: once it is out, the shared
                // buffer holds nothing else and goes back.
                let k = self.lent.saturating_sub(self.rx.buffered()).min(rest.len());
                self.rx.push(l.buf, rest.get(..k).unwrap_or(&[]))
            } else {
                self.rx.push(&mut self.small, rest)
            };
            if n == 0 {
                return consumed;
            }
            consumed = consumed.saturating_add(n);
        }
    }

    /// Report that the connection closed: buffered frames are still processed (their events
    /// reported) before the conversation ends with `reason`.
    pub(crate) fn handle_closed(
        &mut self,
        reason: CloseReason,
        cx: &mut Ctx<'_>,
        l: &mut Lender<'_>,
    ) {
        if self.st.closed.is_some() {
            return;
        }
        self.st.eof = Some(reason);
        self.process(cx, l);
    }

    /// Query whether `process` has work: buffered bytes or a close to carry out, and no event
    /// holding the current frame.
    #[inline(always)]
    pub(crate) fn wants_processing(&self) -> bool {
        self.st.closed.is_none()
            && !self.st.blocked()
            && (self.st.eof.is_some() || self.rx.buffered() > 0)
    }

    /// Query whether received input waits to be processed (buffered bytes or a close), whether
    /// or not an event holds the current frame.
    pub(crate) fn has_more_input(&self) -> bool {
        self.st.closed.is_none() && (self.st.eof.is_some() || self.rx.buffered() > 0)
    }

    /// Query whether the next frame waits for the shared large-frame buffer, which another
    /// session held when this one last tried: no input is taken meanwhile.
    pub(crate) fn is_waiting(&self) -> bool {
        self.lent == 0 && self.rx.needed() > 0 && self.st.closed.is_none()
    }

    /// Return this session's place in the queue for the shared buffer while it waits (0: not
    /// queued).
    pub(crate) fn wait_ticket(&self) -> u32 {
        if self.is_waiting() {
            self.ticket
        } else {
            0
        }
    }

    /// Query whether this session's bytes are in the shared large-frame buffer.
    pub(crate) fn is_lent(&self) -> bool {
        self.lent > 0
    }

    /// Query whether the shared buffer must stay with this session: a frame is being
    /// finished there, or an event not yet handed out borrows it.
    pub(crate) fn needs_shared(&self) -> bool {
        self.lent > 0
            && (self.st.pending.is_some() || (self.st.closed.is_none() && self.rx.buffered() > 0))
    }

    /// Move the head frame's buffered bytes to the shared buffer if it needs it and nobody
    /// holds it; return whether it did.
    ///
    /// Fair between sessions: one refused gets a ticket, and the buffer goes to the lowest
    /// ticket still waiting, so a session receiving large message after large message cannot
    /// keep it from the others, whatever order the caller feeds them in.
    fn borrow(&mut self, l: &mut Lender<'_>) -> bool {
        let need = self.rx.needed();
        if need == 0 || self.lent > 0 {
            return false;
        }
        if l.holder.is_some() || (l.queue.turn != 0 && self.ticket != l.queue.turn) {
            if self.ticket == 0 {
                // 2^32 refusals wrap the counter (years of large messages); order is then
                // briefly unfair, never stuck: `turn` is re-read from the waiting sessions.
                l.queue.last = l.queue.last.wrapping_add(1).max(1);
                self.ticket = l.queue.last;
                if l.queue.turn == 0 {
                    l.queue.turn = self.ticket;
                }
            }
            return false;
        }
        let Ok(me) = u16::try_from(self.st.id.index()) else {
            return false;
        };
        if !self.rx.move_to(&self.small, l.buf) {
            return false;
        }
        msgr_debug!("sb: {}-byte frame moves to the shared buffer", need);
        self.lent = need;
        *l.holder = Some(me);
        if self.ticket != 0 {
            self.ticket = 0;
            // The next in line is found at the next reader call (none waits before then:
            // the buffer is held).
            l.queue.turn = u32::MAX;
        }
        true
    }

    /// Give the shared buffer back (when [`needs_shared`](Self::needs_shared) is false):
    /// later input goes to the session's own buffer again.
    pub(crate) fn give_back(&mut self, l: &mut Lender<'_>) {
        if self.lent == 0 {
            return;
        }
        // Nothing is left to move: the holder took no byte beyond its frame, and that frame is
        // handed out (released by the next reader call) unless the session closed, when the
        // rest is dropped.
        if self.st.closed.is_some() {
            self.rx = FrameCore::new(Direction::ServerToClient);
        }
        self.lent = 0;
        *l.holder = None;
    }

    /// Return the bytes of the frame handed out last (events borrow their text from them).
    pub(crate) fn current_bytes<'b>(&'b self, shared: &'b [u8]) -> &'b [u8] {
        let buf = if self.lent > 0 {
            shared
        } else {
            &self.small[..]
        };
        self.rx.current_bytes(buf)
    }

    /// Handle buffered frames until one makes an event that borrows it (or none is left).
    pub(crate) fn process(&mut self, cx: &mut Ctx<'_>, l: &mut Lender<'_>) {
        self.st.settle_names();
        while self.st.closed.is_none() && !self.st.blocked() {
            let Session {
                rx,
                small,
                lent,
                st,
                ..
            } = &mut *self;
            let buf: &[u8] = if *lent > 0 { &*l.buf } else { &small[..] };
            match rx.next_frame(buf, l.room) {
                None => {}
                // Bound by reference: a frame moved out of the returned value is copied whole
                // (a `memcpy` call on the box).
                Some(Ok(ref frame)) => {
                    match msg_parts(frame) {
                        // The common frame, split without the general parser.
                        Some((sender, name, payload)) => {
                            st.on_msg(frame, sender, name, payload, cx.cfg)
                        }
                        None => match ServerCommand::parse(frame) {
                            Ok(cmd) => st.on_command(frame, cmd, cx),
                            Err(_) => msgr_debug!("sb: unparsable line skipped"),
                        },
                    }
                    continue;
                }
                Some(Err(FrameError::BadPayloadLength)) => {
                    msgr_warn!("sb: payload length unreadable, closing");
                    st.eof = None;
                    st.finish(CloseReason::Protocol, &mut cx.msgs);
                    continue;
                }
                Some(Err(FrameError::PayloadTooLong { len })) => {
                    msgr_warn!("sb: MSG of {} bytes skipped", len);
                    st.report_skipped = Some(len);
                    continue;
                }
                Some(Err(FrameError::LineTooLong)) => {
                    msgr_warn!("sb: oversized line skipped");
                    continue;
                }
            }
            // No complete frame: the head frame may go on in the shared buffer, else more
            // input (or the shared buffer) is needed, or the input ended.
            if self.st.eof.is_none() && self.rx.needed() > 0 && self.borrow(l) {
                continue;
            }
            if let Some(reason) = self.st.eof.take() {
                self.st.finish(reason, &mut cx.msgs);
            }
            break;
        }
        if self.lent > 0 && !self.needs_shared() {
            self.give_back(l);
        }
    }
}

impl State {
    /// Query whether an event holds the current frame (no frame may be read until it is out).
    pub(crate) fn blocked(&self) -> bool {
        self.pending.is_some() || self.report_skipped.is_some()
    }

    /// Query whether an event of this session (not counting message outcomes) is waiting.
    #[inline(always)]
    pub(crate) fn has_event(&self) -> bool {
        self.report_need_sb
            || self.report_connect
            || self.report_ready
            || self.report_timeout.is_some()
            || self.report_skipped.is_some()
            || self.pending.is_some()
            || self.invites_failed > 0
    }

    /// Count the events of this session waiting to be reported (message outcomes aside).
    pub(crate) fn event_count(&self) -> usize {
        // Added as numbers: no array of flags built and walked (this runs on every poll
        // that hands out a message).
        let flags = u8::from(self.report_need_sb)
            + u8::from(self.report_connect)
            + u8::from(self.report_ready)
            + u8::from(self.report_timeout.is_some())
            + u8::from(self.report_skipped.is_some())
            + u8::from(self.pending.is_some());
        usize::from(flags).saturating_add(usize::from(self.invites_failed))
    }

    /// Take the oldest failed invitation: TrID, code (0: timeout); its handle is returned by
    /// [`failed_invitee`](Self::failed_invitee) until the next call.
    pub(crate) fn take_invite_failure(&mut self) -> Option<(u32, u16, u8)> {
        let (i, inv) = self
            .invites
            .iter_mut()
            .enumerate()
            .find(|(_, i)| i.is_some_and(|i| i.failed.is_some()))?;
        let v = (*inv)?;
        *inv = None;
        self.invites_failed = self.invites_failed.saturating_sub(1);
        let tag = TAG_INVITE.saturating_add(u8::try_from(i).unwrap_or(0));
        Some((v.trid.get(), v.failed.unwrap_or(0), tag))
    }

    /// Return the handle stored under `tag` (a failed invitee until it is dropped).
    pub(crate) fn name_of(&self, tag: u8) -> &[u8] {
        self.names.get(tag).unwrap_or(&[])
    }

    /// Drop the name stored under `tag` at the next call on this session (an event borrows
    /// it until then).
    pub(crate) fn drop_name_later(&mut self, tag: u8) {
        self.settle_names();
        self.drop_tag = Some(tag);
    }

    /// Drop the name handed out with the last event, if any.
    pub(crate) fn settle_names(&mut self) {
        if let Some(tag) = self.drop_tag.take() {
            self.names.remove_tag(tag);
        }
    }

    /// Query whether messages can be sent now (open with at least one other participant).
    pub(crate) fn usable(&self) -> bool {
        self.phase == Phase::Open && self.roster_count() > 0
    }

    pub(crate) fn roster_count(&self) -> usize {
        usize::from(self.roster_len).saturating_add(usize::from(self.roster_extra))
    }

    pub(crate) fn invites_pending(&self) -> usize {
        self.invites
            .iter()
            .flatten()
            .filter(|i| i.failed.is_none())
            .count()
    }

    pub(crate) fn is_connected(&self) -> bool {
        matches!(
            self.phase,
            Phase::Authenticating(_) | Phase::Answering(_) | Phase::Open | Phase::Leaving(_)
        )
    }

    fn tx_len(&self) -> usize {
        usize::from(self.tx_end.saturating_sub(self.tx_start))
    }

    fn tx_room(&mut self, need: usize) -> bool {
        let (start, end) = (usize::from(self.tx_start), usize::from(self.tx_end));
        if end.saturating_add(need) > TX_CAP && start > 0 {
            self.tx.copy_within(start..end, 0);
            self.tx_end = self.tx_end.saturating_sub(self.tx_start);
            self.tx_start = 0;
        }
        usize::from(self.tx_end).saturating_add(need) <= TX_CAP
    }

    /// Append a command to the command buffer; false when it does not fit (`OUT` always
    /// fits: the others leave room for it).
    pub(crate) fn send(&mut self, cmd: &ClientCommand<'_>) -> bool {
        let reserve = if matches!(cmd, ClientCommand::Out { .. }) {
            0
        } else {
            OUT_RESERVE
        };
        let need = cmd.buffer_len();
        if !self.tx_room(need.saturating_add(reserve)) {
            return false;
        }
        let at = usize::from(self.tx_end);
        let end = at.saturating_add(need);
        match self.tx.get_mut(at..end).map(|out| cmd.emit(out)) {
            Some(Ok(n)) => {
                self.tx_end = u16::try_from(at.saturating_add(n)).unwrap_or(self.tx_end);
                true
            }
            _ => false,
        }
    }

    fn next_trid(&mut self) -> TrId {
        self.trids.next_trid()
    }

    /// Send `MSG trid mode len` with `payload` through the command buffer; return the TrID, or
    /// `None` when it does not fit.
    pub(crate) fn send_msg(&mut self, ack: AckMode, payload: &[u8]) -> Option<TrId> {
        let trid = self.trids.peek();
        let cmd = ClientCommand::Msg { trid, ack, payload };
        if self.send(&cmd) {
            Some(self.next_trid())
        } else {
            None
        }
    }

    /// Query whether bytes are waiting to be written (commands or a scheduled part).
    pub(crate) fn has_tx(&self) -> bool {
        self.tx_end > self.tx_start || self.scheduled.is_some()
    }

    /// Write waiting bytes into `out`: commands queued before the scheduled part, the part's
    /// `MSG` line and payload (from the pool), then later commands; each call stops after one
    /// of these three. Returns the bytes written. A part whose bytes are all out starts its
    /// delivery timer.
    pub(crate) fn emit(&mut self, out: &mut [u8], cx: &mut Ctx<'_>) -> usize {
        let mut scratch = [0u8; PART_HEAD_CAP];
        let mut n = 0usize;
        while self.prepare_tx(&mut cx.msgs) {
            let part = self.part_next();
            let src = self.lend_tx(&mut scratch, &cx.msgs, cx.pool);
            let dst = out.get_mut(n..).unwrap_or(&mut []);
            let k = src.len().min(dst.len());
            if let (Some(d), Some(s)) = (dst.get_mut(..k), src.get(..k)) {
                d.copy_from_slice(s);
            }
            let whole = k == src.len() && k > 0;
            self.advance_tx(k, cx);
            n = n.saturating_add(k);
            // A part's head and body go out together; commands go alone.
            if !part || !whole || self.scheduled.is_none() {
                break;
            }
        }
        n
    }

    /// Command bytes to write before anything else (those queued ahead of the scheduled part,
    /// or all of them when no part is being written).
    fn commands_first(&self) -> usize {
        match self.scheduled {
            Some(p) if p.sent == 0 => usize::from(p.at),
            Some(_) => 0,
            None => self.tx_len(),
        }
    }

    /// Query whether the next bytes [`lend_tx`](Self::lend_tx) gives are the scheduled part's.
    fn part_next(&self) -> bool {
        self.scheduled.is_some() && self.commands_first() == 0
    }

    /// Get ready to write: drop a scheduled part that was settled before any of it went out
    /// (freeing its slot); returns whether bytes are waiting.
    pub(crate) fn prepare_tx(&mut self, msgs: &mut [MessageSlot]) -> bool {
        while let Some(p) = self.scheduled {
            if self.commands_first() > 0 {
                return true;
            }
            let i = usize::from(p.slot);
            let state = msgs.get(i).filter(|s| s.conv == self.id).map(|s| s.state);
            let live = match state {
                Some(PartState::InTx(t)) => t == p.trid,
                Some(PartState::Dropped) => true,
                _ => false,
            };
            let unsent_drop = p.sent == 0 && state == Some(PartState::Dropped);
            if live && !unsent_drop {
                return true;
            }
            // Settled before any byte went out: never sent.
            if live {
                if let Some(s) = msgs.get_mut(i) {
                    s.state = PartState::Free;
                    s.len = 0;
                }
            }
            self.scheduled = None;
        }
        self.tx_end > self.tx_start
    }

    /// Return the next bytes to write (call [`prepare_tx`](Self::prepare_tx) first): commands
    /// from the command buffer, the scheduled part's head (its `MSG` line and text headers,
    /// assembled in `scratch`) or its body (in the pool). Report what was written with
    /// [`advance_tx`](Self::advance_tx).
    pub(crate) fn lend_tx<'a>(
        &'a self,
        scratch: &'a mut [u8],
        msgs: &[MessageSlot],
        pool: &'a [u8],
    ) -> &'a [u8] {
        let ctl = self.commands_first();
        if ctl > 0 {
            let start = usize::from(self.tx_start);
            return self.tx.get(start..start.saturating_add(ctl)).unwrap_or(&[]);
        }
        let Some(p) = self.scheduled else {
            return &[];
        };
        let (fmt, body, ack, plen) = part_record(p, msgs, pool);
        let mut line = [0u8; 32];
        let ll = msg_line(&mut line, p.trid, ack, plen);
        let (fh, fe): (&[u8], &[u8]) = if fmt.is_empty() {
            (&[], &[])
        } else {
            (message::FORMAT_HEADER, b"\r\n")
        };
        let head = line.get(..ll).unwrap_or(&[]);
        let segs = [head, message::TEXT_PREFIX, fh, fmt, fe, b"\r\n", body];
        let from = usize::from(p.sent);
        let head_len = ll.saturating_add(plen).saturating_sub(body.len());
        if from < head_len {
            // The head, and as much of the body as fits behind it: a short message goes out
            // in one piece.
            let n = copy_from(&segs, from, scratch);
            return scratch.get(..n).unwrap_or(&[]);
        }
        body.get(from.saturating_sub(head_len)..).unwrap_or(&[])
    }

    /// Forget the command bytes not yet written (the connection is gone).
    pub(crate) fn discard_tx(&mut self) {
        self.tx_start = 0;
        self.tx_end = 0;
        if let Some(p) = self.scheduled.as_mut() {
            p.at = 0;
        }
    }

    /// Record that the first `n` bytes [`lend_tx`](Self::lend_tx) gave were written. A part
    /// whose bytes are all out starts its delivery timer.
    pub(crate) fn advance_tx(&mut self, n: usize, cx: &mut Ctx<'_>) {
        if n == 0 {
            return;
        }
        let ctl = self.commands_first();
        if ctl > 0 {
            let n16 = u16::try_from(n.min(ctl)).unwrap_or(0);
            self.tx_start = self.tx_start.saturating_add(n16).min(self.tx_end);
            if self.tx_start == self.tx_end {
                self.tx_start = 0;
                self.tx_end = 0;
            }
            if let Some(p) = self.scheduled.as_mut() {
                p.at = p.at.saturating_sub(n16);
            }
            return;
        }
        let Some(p) = self.scheduled else {
            return;
        };
        let (_, _, ack, plen) = part_record(p, &cx.msgs, cx.pool);
        // The `MSG` line: "MSG", the TrID, the mode, the length, separators and CRLF.
        let line = 4 + digits(p.trid.get() as usize) + 1 + ack.token().len() + 1 + digits(plen) + 2;
        let total = line.saturating_add(plen);
        let sent = usize::from(p.sent).saturating_add(n);
        if sent < total {
            if let Some(s) = self.scheduled.as_mut() {
                s.sent = u16::try_from(sent).unwrap_or(u16::MAX);
            }
            return;
        }
        self.scheduled = None;
        part_written(&mut cx.msgs, usize::from(p.slot), cx.now, cx.cfg);
    }

    /// Handle the TCP connection coming up: send `USR` or `ANS`.
    pub(crate) fn connected(&mut self, me: &[u8]) -> Result<(), SbError> {
        if self.phase != Phase::Connecting {
            return Err(SbError::WrongState);
        }
        let trid = self.trids.peek();
        let mut cookie = [0u8; TOKEN_CAP];
        let mut session = [0u8; TOKEN_CAP];
        let c = copy_name(&self.names, TAG_COOKIE, &mut cookie);
        let sid = copy_name(&self.names, TAG_SESSION, &mut session);
        let ok = match self.role {
            Role::Caller => self.send(&ClientCommand::UsrSb {
                trid,
                handle: me,
                cookie: c,
                rest: Args::empty(),
            }),
            Role::Answerer => self.send(&ClientCommand::Ans {
                trid,
                handle: me,
                cookie: c,
                session: sid,
                rest: Args::empty(),
            }),
        };
        if !ok {
            return Err(SbError::BadArgument);
        }
        for tag in [TAG_HOST, TAG_COOKIE, TAG_SESSION] {
            self.names.remove_tag(tag);
        }
        let trid = self.next_trid();
        self.phase = match self.role {
            Role::Caller => Phase::Authenticating(trid),
            Role::Answerer => Phase::Answering(trid),
        };
        Ok(())
    }

    /// Send `CAL trid handle` and remember the invitation.
    pub(crate) fn invite(
        &mut self,
        now: Instant,
        who: &[u8],
        cfg: &SbConfig,
    ) -> Result<TrId, SbError> {
        self.settle_names();
        let slot = self
            .invites
            .iter()
            .position(Option::is_none)
            .ok_or(SbError::TooManyInvites)?;
        let tag =
            TAG_INVITE.saturating_add(u8::try_from(slot).map_err(|_| SbError::TooManyInvites)?);
        if !self.names.add(tag, who) {
            return Err(SbError::TooManyInvites);
        }
        let trid = self.trids.peek();
        let ok = self.send(&ClientCommand::Cal {
            trid,
            handle: who,
            rest: Args::empty(),
        });
        if !ok {
            self.names.remove_tag(tag);
            return Err(SbError::QueueFull);
        }
        let trid = self.next_trid();
        if let Some(s) = self.invites.get_mut(slot) {
            *s = Some(Invite {
                trid,
                deadline: now + cfg.invite_timeout,
                failed: None,
            });
        }
        Ok(trid)
    }

    /// Forget the invitations still outstanding (failed ones wait to be reported).
    fn drop_invites(&mut self) {
        for i in 0..MAX_INVITES {
            let outstanding = self
                .invites
                .get(i)
                .is_some_and(|v| v.is_some_and(|v| v.failed.is_none()));
            if outstanding {
                if let Some(v) = self.invites.get_mut(i) {
                    *v = None;
                }
                self.names
                    .remove_tag(TAG_INVITE.saturating_add(u8::try_from(i).unwrap_or(0)));
            }
        }
    }

    /// Mark invitation `i` failed with `code` (0: timeout), to be reported.
    fn fail_invite(&mut self, i: usize, code: u16) {
        if let Some(Some(v)) = self.invites.get_mut(i) {
            if v.failed.is_none() {
                self.invites_failed = self.invites_failed.saturating_add(1);
            }
            v.failed = Some(code);
        }
    }

    /// Send `OUT` and wait for the server to close; queued parts are dropped with `why`.
    pub(crate) fn leave(
        &mut self,
        now: Instant,
        reason: CloseReason,
        queued: FailReason,
        msgs: &mut MsgSlots<'_>,
        cfg: &SbConfig,
    ) {
        fail_where(msgs, self.id, queued, |s| s == PartState::Queued);
        if self.is_connected() && !matches!(self.phase, Phase::Leaving(_)) {
            self.send(&ClientCommand::Out {
                rest: Args::empty(),
            });
            self.phase = Phase::Leaving(reason);
            self.drop_invites();
            self.open_deadline = None;
            self.connect_deadline = None;
            self.leave_deadline = Some(now + cfg.leave_timeout);
        } else if !matches!(self.phase, Phase::Leaving(_)) {
            self.finish(reason, msgs);
        }
    }

    /// End the conversation and settle every message that has no outcome yet.
    pub(crate) fn finish(&mut self, reason: CloseReason, msgs: &mut MsgSlots<'_>) {
        if self.closed.is_some() {
            return;
        }
        msgr_info!("sb: conversation {} closed", self.id.index());
        let orderly = matches!(reason, CloseReason::Left | CloseReason::Empty);
        let unsent = match reason {
            CloseReason::Left | CloseReason::ImsOff => FailReason::Cancelled,
            CloseReason::Empty => FailReason::SwitchboardClosed,
            CloseReason::ConnectionLost | CloseReason::Protocol => FailReason::ConnectionLost,
            CloseReason::Timeout(_) => FailReason::Timeout,
            CloseReason::SetupFailed(_) | CloseReason::Refused(_) => FailReason::SetupFailed,
        };
        let id = self.id;
        // The scheduled part is settled below; nothing more of it is written.
        self.scheduled = None;
        for i in 0..msgs.len() {
            let Some(slot) = msgs.get(i) else { break };
            if slot.conv != id {
                continue;
            }
            let outcome = match slot.state {
                PartState::Queued | PartState::InTx(_) => Outcome::Failed(unsent),
                PartState::AwaitAck(..) => Outcome::Failed(match reason {
                    CloseReason::ConnectionLost | CloseReason::Protocol => {
                        FailReason::ConnectionLost
                    }
                    CloseReason::Timeout(_) => FailReason::Timeout,
                    _ => FailReason::SwitchboardClosed,
                }),
                PartState::NakWindow(..) if orderly => Outcome::Sent,
                PartState::NakWindow(..) => Outcome::Failed(FailReason::ConnectionLost),
                PartState::Dropped => {
                    if let Some(s) = msgs.get_mut(i) {
                        s.state = PartState::Free;
                        s.len = 0;
                    }
                    continue;
                }
                _ => continue,
            };
            resolve(msgs, i, outcome);
        }
        self.phase = Phase::Closed;
        self.closed = Some(reason);
        self.eof = None;
        self.drop_invites();
        self.open_deadline = None;
        self.connect_deadline = None;
        self.leave_deadline = None;
        self.report_need_sb = false;
        self.report_connect = false;
    }

    /// Schedule the next queued part for writing while the conversation is usable and no part
    /// is being written.
    pub(crate) fn flush(&mut self, msgs: &mut [MessageSlot]) {
        if !self.maybe_queued || self.scheduled.is_some() || !self.usable() {
            return;
        }
        let next = msgs
            .iter()
            .enumerate()
            .filter(|(_, s)| s.conv == self.id && s.state == PartState::Queued)
            .min_by_key(|(_, s)| (s.id, s.part()))
            .map(|(i, _)| i);
        let (Some(i), Ok(slot)) = (
            next,
            next.map_or(Err(()), |i| u16::try_from(i).map_err(|_| ())),
        ) else {
            self.maybe_queued = false;
            return;
        };
        let Some(m) = msgs.get_mut(i) else { return };
        let trid = self.next_trid();
        m.state = PartState::InTx(trid);
        self.scheduled = Some(Scheduled {
            slot,
            trid,
            at: self.tx_end.saturating_sub(self.tx_start),
            sent: 0,
        });
    }

    /// Return the earliest deadline of this conversation.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        [
            self.open_deadline,
            self.connect_deadline,
            self.leave_deadline,
        ]
        .into_iter()
        .chain(
            self.invites
                .iter()
                .map(|i| i.filter(|i| i.failed.is_none()).map(|i| i.deadline)),
        )
        .flatten()
        .min()
    }

    /// Fire every expired timer of this conversation.
    pub(crate) fn handle_timeout(&mut self, now: Instant, msgs: &mut MsgSlots<'_>, cfg: &SbConfig) {
        if self.closed.is_some() {
            return;
        }
        if self.leave_deadline.is_some_and(|d| d <= now) {
            let reason = match self.phase {
                Phase::Leaving(r) => r,
                _ => CloseReason::Left,
            };
            self.finish(reason, msgs);
            return;
        }
        if self.connect_deadline.is_some_and(|d| d <= now) {
            let (trid, verb) = match self.phase {
                Phase::Authenticating(t) => (t.get(), 1),
                Phase::Answering(t) => (t.get(), 2),
                _ => (0, 0),
            };
            self.report_timeout = Some((trid, verb));
            self.finish(CloseReason::Timeout(TimeoutKind::Connect), msgs);
            return;
        }
        if self.open_deadline.is_some_and(|d| d <= now) {
            fail_where(msgs, self.id, FailReason::Timeout, |s| {
                s == PartState::Queued
            });
            self.leave(
                now,
                CloseReason::Timeout(TimeoutKind::OpenConversation),
                FailReason::Timeout,
                msgs,
                cfg,
            );
            if self.is_connected() {
                // Do not wait for the server: the conversation is over for the user.
                self.finish(CloseReason::Timeout(TimeoutKind::OpenConversation), msgs);
            }
            return;
        }
        let mut expired = false;
        for i in 0..MAX_INVITES {
            let Some(Some(inv)) = self.invites.get(i).copied() else {
                continue;
            };
            if inv.failed.is_none() && inv.deadline <= now {
                self.fail_invite(i, 0);
                expired = true;
            }
        }
        if expired && self.roster_count() == 0 && self.invites_pending() == 0 {
            self.leave(
                now,
                CloseReason::Timeout(TimeoutKind::Invite),
                FailReason::Timeout,
                msgs,
                cfg,
            );
        }
    }

    fn roster_add(&mut self, h: &[u8]) {
        if self.names.find(TAG_ROSTER, h).is_some() {
            return;
        }
        if usize::from(self.roster_len) < MAX_ROSTER && token_ok(h) && self.names.add(TAG_ROSTER, h)
        {
            self.roster_len = self.roster_len.saturating_add(1);
        } else {
            self.roster_extra = self.roster_extra.saturating_add(1);
        }
    }

    fn roster_remove(&mut self, h: &[u8]) {
        match self.names.find(TAG_ROSTER, h) {
            Some(p) => {
                self.names.remove_at(p);
                self.roster_len = self.roster_len.saturating_sub(1);
            }
            None => self.roster_extra = self.roster_extra.saturating_sub(1),
        }
    }

    /// Find the outstanding invitation of `handle`.
    fn invite_of(&self, handle: &[u8]) -> Option<usize> {
        (0..MAX_INVITES).find(|&i| {
            self.invites
                .get(i)
                .is_some_and(|v| v.is_some_and(|v| v.failed.is_none()))
                && self
                    .names
                    .find(
                        TAG_INVITE.saturating_add(u8::try_from(i).unwrap_or(0)),
                        handle,
                    )
                    .is_some()
        })
    }

    fn on_command(&mut self, frame: &Frame<'_>, cmd: ServerCommand<'_>, cx: &mut Ctx<'_>) {
        use ServerCommand as S;
        let now = cx.now;
        match cmd {
            S::UsrOk { trid, .. } if self.phase == Phase::Authenticating(trid) => {
                self.phase = Phase::Open;
                self.connect_deadline = None;
                self.report_ready = true;
                let mut who = [0u8; MAX_PASSPORT_LEN];
                let who = copy_name(&self.names, TAG_FIRST, &mut who);
                if !who.is_empty() {
                    let mut h = [0u8; MAX_PASSPORT_LEN];
                    let n = who.len().min(h.len());
                    if let (Some(d), Some(s)) = (h.get_mut(..n), who.get(..n)) {
                        d.copy_from_slice(s);
                    }
                    self.names.remove_tag(TAG_FIRST);
                    if self.invite(now, h.get(..n).unwrap_or(&[]), cx.cfg).is_err() {
                        msgr_warn!("sb: first CAL not sent");
                    }
                }
            }
            S::Iro {
                trid, handle, name, ..
            } if self.phase == Phase::Answering(trid) => {
                self.roster_add(handle);
                self.pending = Some(FrameEvent::Joined {
                    handle: Span::of(frame, handle),
                    name: Span::of(frame, name),
                });
            }
            S::Ans { trid, .. } if self.phase == Phase::Answering(trid) => {
                self.phase = Phase::Open;
                self.connect_deadline = None;
                self.open_deadline = None;
                self.report_ready = true;
                self.flush(&mut cx.msgs);
            }
            S::Cal { .. } => {
                msgr_debug!("sb: CAL ringing");
            }
            S::Joi { handle, name, .. } => {
                if handle.eq_ignore_ascii_case(cx.me) {
                    return;
                }
                if let Some(i) = self.invite_of(handle) {
                    if let Some(v) = self.invites.get_mut(i) {
                        *v = None;
                    }
                    self.names
                        .remove_tag(TAG_INVITE.saturating_add(u8::try_from(i).unwrap_or(0)));
                }
                self.roster_add(handle);
                self.open_deadline = None;
                self.pending = Some(FrameEvent::Joined {
                    handle: Span::of(frame, handle),
                    name: Span::of(frame, name),
                });
                self.flush(&mut cx.msgs);
            }
            S::Bye { handle, rest } => {
                let was = self.roster_count();
                self.roster_remove(handle);
                let idle = rest.get(0) == Some(b"1");
                self.pending = Some(FrameEvent::Left {
                    handle: Span::of(frame, handle),
                    idle,
                });
                if was > 0 && self.roster_count() == 0 && self.phase == Phase::Open {
                    self.leave(
                        now,
                        CloseReason::Empty,
                        FailReason::SwitchboardClosed,
                        &mut cx.msgs,
                        cx.cfg,
                    );
                }
            }
            S::Msg {
                sender,
                name,
                payload,
            } => self.on_msg(frame, sender, name, payload, cx.cfg),
            S::Ack { trid, .. } => on_ack(&mut cx.msgs, self.id, trid),
            S::Nak { trid, .. } => {
                on_fail(&mut cx.msgs, self.id, trid, FailReason::Nak);
            }
            S::Error {
                code,
                trid: Some(trid),
                ..
            } => self.on_error(code, trid, &mut cx.msgs),
            S::Out { .. } => self.finish(CloseReason::ConnectionLost, &mut cx.msgs),
            _ => msgr_debug!("sb: line ignored"),
        }
    }

    fn on_error(&mut self, code: ServerErrorCode, trid: TrId, msgs: &mut MsgSlots<'_>) {
        if matches!(self.phase, Phase::Authenticating(t) | Phase::Answering(t) if t == trid) {
            msgr_warn!("sb: switchboard refused us ({})", code.code());
            self.finish(CloseReason::Refused(code), msgs);
            return;
        }
        let inv = (0..MAX_INVITES).find(|&i| {
            self.invites
                .get(i)
                .is_some_and(|v| v.is_some_and(|v| v.failed.is_none() && v.trid == trid))
        });
        if let Some(i) = inv {
            self.fail_invite(i, code.code());
            if self.roster_count() == 0 && self.invites_pending() == 0 {
                let why = match code.code() {
                    216 | 217 => FailReason::ContactOffline,
                    _ => FailReason::InviteRefused(code),
                };
                fail_where(msgs, self.id, why, |s| s == PartState::Queued);
            }
            return;
        }
        if !on_fail(msgs, self.id, trid, FailReason::Server(code)) {
            msgr_debug!("sb: error {} for unknown TrID", code.code());
        }
    }

    fn on_msg(
        &mut self,
        frame: &Frame<'_>,
        sender: &[u8],
        name: &[u8],
        payload: &[u8],
        cfg: &SbConfig,
    ) {
        let bounds = FrameBounds::of(frame);
        self.pending = Some(match message::classify(payload) {
            Incoming::Text { body, format, utf8 } => FrameEvent::Message {
                sender: bounds.span(sender),
                name: bounds.span(name),
                text: bounds.span(body),
                format: format.map(|f| bounds.span(f)),
                utf8,
            },
            Incoming::Typing { .. } => FrameEvent::Typing {
                handle: bounds.span(sender),
            },
            Incoming::Invitation { cookie, .. } => {
                let mut declined = false;
                if cfg.decline_invitations && self.usable() {
                    let mut buf = [0u8; 256];
                    if let Ok(n) = message::write_invite_decline(cookie, &mut buf) {
                        declined = self
                            .send_msg(AckMode::Unacknowledged, buf.get(..n).unwrap_or(&[]))
                            .is_some();
                    }
                }
                FrameEvent::Unsupported {
                    sender: bounds.span(sender),
                    content_type: None,
                    declined,
                }
            }
            Incoming::Other { content_type } => FrameEvent::Unsupported {
                sender: bounds.span(sender),
                content_type: Some(bounds.span(content_type)),
                declined: false,
            },
        });
    }

    /// Send a typing notification if the rate limit allows; return whether it was written.
    pub(crate) fn typing(&mut self, now: Instant, me: &[u8], ack: AckMode, cfg: &SbConfig) -> bool {
        if !self.usable() {
            return false;
        }
        if let Some(last) = self.last_typing {
            if now < last + cfg.typing_interval {
                return false;
            }
        }
        let mut buf = [0u8; MAX_PASSPORT_LEN + 96];
        let Ok(n) = message::write_typing(me, &mut buf) else {
            return false;
        };
        if self.send_msg(ack, buf.get(..n).unwrap_or(&[])).is_some() {
            self.last_typing = Some(now);
            true
        } else {
            false
        }
    }
}

/// Split a `MSG sender name len` frame of the usual shape (single spaces, the length matching
/// the payload) as [`ServerCommand::parse`] would; `None` for anything else, which then goes
/// through the parser.
fn msg_parts<'a>(frame: &Frame<'a>) -> Option<(&'a [u8], &'a [u8], &'a [u8])> {
    let payload = frame.payload?;
    // Matched as bytes: `strip_prefix` is a slice comparison call on the box.
    let [b'M', b'S', b'G', b' ', rest @ ..] = frame.line else {
        return None;
    };
    let a = memchr::memchr(b' ', rest)?;
    let (sender, rest) = (rest.get(..a)?, rest.get(a.checked_add(1)?..)?);
    let b = memchr::memchr(b' ', rest)?;
    let (name, len) = (rest.get(..b)?, rest.get(b.checked_add(1)?..)?);
    if sender.is_empty() || name.is_empty() {
        return None;
    }
    // Digits only: a further space in `len` fails here.
    let n = crate::msnp::wire::line::parse_u32(len)?;
    (usize::try_from(n).ok()? == payload.len()).then_some((sender, name, payload))
}

/// Copy the name stored under `tag` into `buf`; return it (empty when absent).
fn copy_name<'b>(names: &Names, tag: u8, buf: &'b mut [u8]) -> &'b [u8] {
    let s = names.get(tag).unwrap_or(&[]);
    let n = s.len().min(buf.len());
    if let (Some(d), Some(s)) = (buf.get_mut(..n), s.get(..n)) {
        d.copy_from_slice(s);
    }
    buf.get(..n).unwrap_or(&[])
}

/// Write `MSG trid mode len\r\n` into `out` (32 bytes hold the longest); return its length.
fn msg_line(out: &mut [u8; 32], trid: TrId, ack: AckMode, len: usize) -> usize {
    let mut n = 0usize;
    let mut put = |b: &[u8]| {
        let end = n.saturating_add(b.len());
        if let Some(d) = out.get_mut(n..end) {
            d.copy_from_slice(b);
            n = end;
        }
    };
    put(b"MSG ");
    let mut digits = [0u8; 10];
    put(decimal(trid.get(), &mut digits));
    put(b" ");
    put(ack.token());
    put(b" ");
    put(decimal(u32::try_from(len).unwrap_or(u32::MAX), &mut digits));
    put(b"\r\n");
    n
}

/// Format `v` in decimal into `buf`; return the digits.
fn decimal(mut v: u32, buf: &mut [u8; 10]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i = i.saturating_sub(1);
        if let Some(d) = buf.get_mut(i) {
            *d = b'0' + (v % 10) as u8; // a decimal digit
        }
        v /= 10;
        if v == 0 || i == 0 {
            break;
        }
    }
    buf.get(i..).unwrap_or(&[])
}

/// The scheduled part's record: its format value and body (a pool record is the format value,
/// length-prefixed, then the body), its ack mode, and its payload length (the fixed text
/// headers around them).
fn part_record<'p>(
    p: Scheduled,
    msgs: &[MessageSlot],
    pool: &'p [u8],
) -> (&'p [u8], &'p [u8], AckMode, usize) {
    let (record, ack) = match msgs.get(usize::from(p.slot)) {
        Some(slot) => {
            let off = usize::try_from(slot.off).unwrap_or(usize::MAX);
            let r = pool
                .get(off..off.saturating_add(usize::from(slot.len)))
                .unwrap_or(&[]);
            (r, slot.ack())
        }
        None => (&[][..], AckMode::Unacknowledged),
    };
    let (fmt, body) = match record.split_first() {
        Some((&l, rest)) => rest.split_at_checked(usize::from(l)).unwrap_or((&[], rest)),
        None => (&[][..], &[][..]),
    };
    let fmt_lines = if fmt.is_empty() {
        0
    } else {
        message::FORMAT_HEADER.len() + fmt.len() + 2
    };
    let plen = message::TEXT_PREFIX.len() + fmt_lines + 2 + body.len();
    (fmt, body, ack, plen)
}

/// Return the number of decimal digits of `v`.
fn digits(mut v: usize) -> usize {
    let mut n = 1;
    while v >= 10 {
        v /= 10;
        n += 1;
    }
    n
}

/// Copy the concatenation of `segs`, from byte `from` on, into `out`; return the bytes copied.
fn copy_from(segs: &[&[u8]], from: usize, out: &mut [u8]) -> usize {
    let mut skip = from;
    let mut n = 0usize;
    for seg in segs {
        if skip >= seg.len() {
            skip = skip.saturating_sub(seg.len());
            continue;
        }
        let src = seg.get(skip..).unwrap_or(&[]);
        skip = 0;
        let k = src.len().min(out.len().saturating_sub(n));
        if let (Some(d), Some(s)) = (out.get_mut(n..n.saturating_add(k)), src.get(..k)) {
            d.copy_from_slice(s);
        }
        n = n.saturating_add(k);
        if n >= out.len() {
            break;
        }
    }
    n
}

/// Settle part `i` with `outcome`, combining it with the other parts of the same message.
///
/// A failure settles the whole message at once (its other parts are dropped: a part being
/// written is finished first, so the stream stays framed); a success settles it when no other
/// part is still under way.
pub(crate) fn resolve(msgs: &mut MsgSlots<'_>, i: usize, outcome: Outcome) {
    let Some(slot) = msgs.get(i) else { return };
    let (conv, id) = (slot.conv, slot.id);
    let siblings = |s: &MessageSlot| {
        s.conv == conv
            && s.id == id
            && !matches!(
                s.state,
                PartState::Free | PartState::Report(_) | PartState::Dropped
            )
    };
    let drop = |s: &mut MessageSlot| {
        if matches!(s.state, PartState::InTx(_)) {
            s.state = PartState::Dropped;
        } else {
            s.state = PartState::Free;
            s.len = 0;
        }
    };
    match outcome {
        Outcome::Failed(_) => {
            for (j, s) in msgs.iter_mut().enumerate() {
                if j != i && siblings(s) {
                    drop(s);
                }
            }
            msgs.report(i, outcome);
            if let Some(s) = msgs.get_mut(i) {
                s.len = 0;
            }
        }
        _ => {
            if let Some(s) = msgs.get_mut(i) {
                s.state = PartState::Done(outcome);
            }
            let open = msgs
                .iter()
                .any(|s| siblings(s) && !matches!(s.state, PartState::Done(_)));
            if !open {
                for (j, s) in msgs.iter_mut().enumerate() {
                    if j != i && siblings(s) {
                        drop(s);
                    }
                }
                msgs.report(i, outcome);
            }
        }
    }
}

fn find_trid(msgs: &[MessageSlot], conv: ConversationId, trid: TrId) -> Option<usize> {
    msgs.iter().position(|s| {
        s.conv == conv
            && matches!(s.state,
                PartState::InTx(t) | PartState::AwaitAck(t, _) | PartState::NakWindow(t, _) if t == trid)
    })
}

fn on_ack(msgs: &mut MsgSlots<'_>, conv: ConversationId, trid: TrId) {
    if let Some(i) = find_trid(msgs, conv, trid) {
        resolve(msgs, i, Outcome::Delivered);
    }
}

/// Fail the part sent with `trid`; return whether there was one.
fn on_fail(msgs: &mut MsgSlots<'_>, conv: ConversationId, trid: TrId, why: FailReason) -> bool {
    match find_trid(msgs, conv, trid) {
        Some(i) => {
            resolve(msgs, i, Outcome::Failed(why));
            true
        }
        None => false,
    }
}

/// Fail every part of `conv` whose state matches.
pub(crate) fn fail_where(
    msgs: &mut MsgSlots<'_>,
    conv: ConversationId,
    why: FailReason,
    pred: impl Fn(PartState) -> bool,
) {
    for i in 0..msgs.len() {
        if msgs.get(i).is_some_and(|s| s.conv == conv && pred(s.state)) {
            resolve(msgs, i, Outcome::Failed(why));
        }
    }
}

/// Start the delivery timer of part `i`, whose bytes were all just handed out; its payload
/// leaves the pool.
fn part_written(msgs: &mut MsgSlots<'_>, i: usize, now: Instant, cfg: &SbConfig) {
    let Some(s) = msgs.get_mut(i) else { return };
    s.len = 0;
    match s.state {
        PartState::InTx(t) => match s.ack() {
            AckMode::Unacknowledged => resolve(msgs, i, Outcome::Sent),
            AckMode::NakOnly => {
                s.state = PartState::NakWindow(t, Deadline::new(now + cfg.nak_window))
            }
            AckMode::Acknowledged | AckMode::Data => {
                s.state = PartState::AwaitAck(t, Deadline::new(now + cfg.ack_timeout))
            }
        },
        PartState::Dropped => s.state = PartState::Free,
        _ => {}
    }
}

/// Settle parts whose ack timeout or NAK window has passed.
pub(crate) fn message_timeouts(msgs: &mut MsgSlots<'_>, now: Instant) {
    for i in 0..msgs.len() {
        match msgs.get(i).map(|s| s.state) {
            Some(PartState::AwaitAck(_, d)) if d.get() <= now => {
                resolve(msgs, i, Outcome::Failed(FailReason::Timeout))
            }
            Some(PartState::NakWindow(_, d)) if d.get() <= now => resolve(msgs, i, Outcome::Sent),
            _ => {}
        }
    }
}

/// Return the earliest message deadline.
pub(crate) fn message_deadline(msgs: &[MessageSlot]) -> Option<Instant> {
    msgs.iter()
        .filter_map(|s| match s.state {
            PartState::AwaitAck(_, d) | PartState::NakWindow(_, d) => Some(d.get()),
            _ => None,
        })
        .min()
}

/// Turn an invite-failure code back into its reason.
pub(crate) fn invite_failure(code: u16) -> InviteFailure {
    match code {
        0 => InviteFailure::Timeout,
        c => InviteFailure::Server(ServerErrorCode(c)),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn test_msg_parts_agrees_with_the_parser() {
        let cases: [(&[u8], &[u8]); 8] = [
            (b"MSG bob@x Bob%20B 2", b"hi"),
            (b"MSG bob@x Bob 3", b"hi"),
            (b"MSG  bob@x Bob 2", b"hi"),
            (b"MSG bob@x  Bob 2", b"hi"),
            (b"MSG bob@x Bob 2 ", b"hi"),
            (b"MSG bob@x Bob extra 2", b"hi"),
            (b"MSG bob@x 2", b"hi"),
            (b"MSG bob@x Bob +2", b"hi"),
        ];
        for (line, payload) in cases {
            let frame = Frame {
                line,
                payload: Some(payload),
                bare_lf: false,
            };
            let parsed = match ServerCommand::parse(&frame) {
                Ok(ServerCommand::Msg {
                    sender,
                    name,
                    payload,
                }) => Some((sender, name, payload)),
                _ => None,
            };
            // The fast path may decline; the parser then decides.
            if let Some(fast) = msg_parts(&frame) {
                assert_eq!(Some(fast), parsed, "{line:?}");
            }
        }
        let good = Frame {
            line: b"MSG bob@x Bob 2",
            payload: Some(b"hi"),
            bare_lf: false,
        };
        assert!(msg_parts(&good).is_some());
    }
}
