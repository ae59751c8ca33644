//! [`Conversations`]: the bounded set of switchboard conversations, the outgoing message queue
//! and outcome tracking, over storage the caller provides.
//!
//! # Driving it (sans-I/O)
//!
//! - Inputs: [`handle_connected`](Conversations::handle_connected),
//!   [`handle_input`](Conversations::handle_input), [`handle_closed`](Conversations::handle_closed)
//!   per conversation, and [`handle_timeout`](Conversations::handle_timeout).
//! - Commands: [`open`](Conversations::open), [`switchboard_ready`](Conversations::switchboard_ready),
//!   [`switchboard_failed`](Conversations::switchboard_failed),
//!   [`accept_invitation`](Conversations::accept_invitation), [`invite`](Conversations::invite),
//!   [`send_message`](Conversations::send_message), [`send_typing`](Conversations::send_typing),
//!   [`leave`](Conversations::leave).
//! - Outputs: after every input or command, drain [`poll_transmit`](Conversations::poll_transmit)
//!   until it returns `None` (write each chunk to the named conversation's socket), then
//!   [`poll_event`](Conversations::poll_event) until `None`, then re-read
//!   [`poll_timeout`](Conversations::poll_timeout) and call `handle_timeout` at that time (early or
//!   repeated calls are harmless). Times must not go backwards.
//!
//! # Storage
//!
//! `ConversationSlot`s (one per concurrent conversation: a small receive buffer for command
//! lines and short messages, a small command buffer and the participants), `MessageSlot`s (a
//! few words each; one per queued or unconfirmed message part), a message pool (bytes; the
//! payloads of parts not yet written to their switchboard, each record as long as its payload)
//! and one large-frame buffer (bytes; [`RX_CAP`](super::session::RX_CAP) hold the largest `MSG`
//! a switchboard relays) are borrowed from the caller, so one compiled machine serves every
//! capacity.
//!
//! # The shared large-frame buffer (cross-conversation back-pressure)
//!
//! A received `MSG` longer than a conversation's own buffer is finished in the large-frame
//! buffer, which all conversations share: one at a time. The conversation holding it takes
//! exactly the rest of that frame, and gives the buffer back at the first call after the
//! frame's event was handed out by [`poll_event`](Conversations::poll_event) (or when it
//! closes). Meanwhile another conversation whose next frame also needs the buffer takes no
//! more input: [`handle_input`](Conversations::handle_input) returns fewer bytes than offered
//! (possibly 0) and [`input_paused`](Conversations::input_paused) says why. The caller keeps
//! those bytes, keeps the connection open, and offers them again after draining events, at
//! the latest on its next pass over its connections, even when nothing new arrived on that
//! connection; it must keep feeding the other connections meanwhile. Then nothing is lost and
//! nothing deadlocks: the holder needs only its own bytes. The coupling is real, though: while
//! one conversation's large message arrives slowly (or its server stalls in the middle of
//! one), a large message on another conversation, and everything behind it there, waits. The
//! buffer is lent in turn: conversations refused it get it in the order they were first
//! refused, so one receiving large message after large message cannot keep it from the
//! others, whatever order the caller feeds them in. Small frames of the other conversations
//! are not held up unless they queue behind a waiting large one.
//!
//! Two borrowers outside the conversations take part in the same queue ([`Outside`]): the
//! [`Client`](crate::client::Client) lends the buffer to its notification session for the
//! NS's long frames (the login profile `MSG`, mail notices), and to its built-in WTVP client
//! for each step (a request and its response), through crate-internal calls; while one of them
//! holds it, [`large_frame_holder`](Conversations::large_frame_holder) is `None` and
//! conversations that need it wait as they would for one of their own.

use super::message::{self, TextFormat};
use super::session::{
    self, invite_failure, message_deadline, message_timeouts, Ctx, FrameEvent, Lender, Phase,
    Session, WaitQueue,
};
use super::{
    CloseReason, ConversationId, FailReason, MessageId, Outcome, SbConfig, SbError, SbEvent,
};
use crate::limits::MAX_OUTGOING_MSG_PAYLOAD;
use crate::msnp::wire::{AckMode, ServerErrorCode, TrId};
use crate::time::Instant;
pub use session::PART_HEAD_CAP as TRANSMIT_SCRATCH;

/// A borrower of the shared large-frame buffer outside the conversations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outside {
    /// The notification session, for its long frames.
    Ns = 0,
    /// The built-in WTVP client, for one step at a time.
    Wtvp = 1,
}

impl Outside {
    /// The holder value of this borrower: `u16::MAX` and `u16::MAX - 1`, which a slot index
    /// never reaches (there are fewer than [`FIRST_OUTSIDE`] slots).
    #[inline(always)]
    const fn holder(self) -> u16 {
        u16::MAX - self as u16
    }
}

/// The lowest holder value of an outside borrower (see [`Outside::holder`]).
const FIRST_OUTSIDE: u16 = Outside::Wtvp.holder();

/// Longest `X-MMS-IM-Format` value: `FN=` and a 32-byte font name %-encoded (96), then the
/// effects, colour, charset and pitch fields.
pub(crate) const FORMAT_VALUE_CAP: usize = 160;

/// Hold one conversation (its switchboard connection and buffers); the caller provides these.
pub struct ConversationSlot {
    session: Option<Session>,
    generation: u16,
}

impl ConversationSlot {
    /// Return an empty slot (for array initialisers: `[ConversationSlot::EMPTY; 4]`).
    #[allow(clippy::declare_interior_mutable_const)]
    pub const EMPTY: ConversationSlot = ConversationSlot {
        session: None,
        generation: 0,
    };

    /// Make an empty slot (built field by field: going through `EMPTY` would put a copy of
    /// the whole slot in .rodata and memcpy it).
    pub const fn new() -> Self {
        ConversationSlot {
            session: None,
            generation: 0,
        }
    }
}

impl Default for ConversationSlot {
    fn default() -> Self {
        Self::new()
    }
}

/// Where one part of an outgoing message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PartState {
    Free,
    Queued,
    InTx(TrId),
    AwaitAck(TrId, Deadline),
    NakWindow(TrId, Deadline),
    Done(Outcome),
    Report(Outcome),
    /// Settled through another part while scheduled for writing: freed once written (or at
    /// once if none of it was).
    Dropped,
}

/// A timer's deadline kept as the two 32-bit halves of its [`Instant`]: the same value, but
/// 4-byte aligned, so a [`MessageSlot`] packs into 32 bytes on the box (an 8-aligned `u64`
/// made it 40).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Deadline {
    hi: u32,
    lo: u32,
}

impl Deadline {
    /// Keep `at`.
    pub(crate) const fn new(at: Instant) -> Self {
        let ms = at.as_millis();
        // The high and the low half: nothing is lost.
        Deadline {
            hi: (ms >> 32) as u32,
            lo: ms as u32,
        }
    }

    /// Return the instant kept.
    pub(crate) const fn get(self) -> Instant {
        Instant::from_millis(((self.hi as u64) << 32) | self.lo as u64)
    }
}

/// Most parts of one message: a part's index shares 16 bits with its message's ack mode.
pub(crate) const MAX_PARTS: u16 = 1 << PART_BITS;
const PART_BITS: u32 = 14;

/// Hold one part of an outgoing message until its outcome is reported; the caller provides these.
///
/// The part's payload waits in the shared message pool (see [`Conversations::new`]) from
/// [`Conversations::send_message`] until it is written to the switchboard; the slot itself is
/// a few words.
pub struct MessageSlot {
    pub(crate) state: PartState,
    pub(crate) conv: ConversationId,
    pub(crate) id: MessageId,
    /// The part's index in its message (the low [`PART_BITS`] bits) and the message's ack
    /// mode (the two bits above).
    part_ack: u16,
    /// Payload bytes held in the pool (0 once written to the switchboard).
    pub(crate) len: u16,
    /// Where the payload starts in the pool.
    pub(crate) off: u32,
}

impl MessageSlot {
    /// Query whether the part's payload is still in the pool.
    fn holds_bytes(&self) -> bool {
        self.len > 0
            && matches!(
                self.state,
                PartState::Queued | PartState::InTx(_) | PartState::Dropped
            )
    }

    /// Return an empty slot (for array initialisers: `[MessageSlot::EMPTY; 40]`).
    #[allow(clippy::declare_interior_mutable_const)]
    pub const EMPTY: MessageSlot = MessageSlot {
        state: PartState::Free,
        conv: ConversationId::new(u16::MAX, u16::MAX),
        id: MessageId(0),
        part_ack: 0,
        len: 0,
        off: 0,
    };

    /// Make an empty slot (built field by field: going through `EMPTY` would put a copy of
    /// the whole slot in .rodata and memcpy it).
    pub const fn new() -> Self {
        MessageSlot {
            state: PartState::Free,
            conv: ConversationId::new(u16::MAX, u16::MAX),
            id: MessageId(0),
            part_ack: 0,
            len: 0,
            off: 0,
        }
    }

    /// Return the part's index in its message.
    pub(crate) fn part(&self) -> u16 {
        self.part_ack & (MAX_PARTS - 1)
    }

    /// Return the message's ack mode.
    pub(crate) fn ack(&self) -> AckMode {
        match self.part_ack >> PART_BITS {
            0 => AckMode::Unacknowledged,
            1 => AckMode::NakOnly,
            2 => AckMode::Acknowledged,
            _ => AckMode::Data,
        }
    }

    /// Set the part's index (below [`MAX_PARTS`]) and its message's ack mode.
    fn set_part(&mut self, part: u16, ack: AckMode) {
        let mode: u16 = match ack {
            AckMode::Unacknowledged => 0,
            AckMode::NakOnly => 1,
            AckMode::Acknowledged => 2,
            AckMode::Data => 3,
        };
        self.part_ack = (mode << PART_BITS) | (part & (MAX_PARTS - 1));
    }
}

// 32 bytes on the box and on the host alike (no field is wider than 4-byte aligned).
const _: () = assert!(core::mem::size_of::<MessageSlot>() <= 32);

impl Default for MessageSlot {
    fn default() -> Self {
        Self::new()
    }
}

/// The message-part slots, with a count of those in [`PartState::Report`] kept where parts
/// enter that state ([`MsgSlots::report`]) and leave it (`take_event`), so that `is_last` does
/// not scan every slot on every poll. Reads and other state changes go through the slice.
pub(crate) struct MsgSlots<'a> {
    slots: &'a mut [MessageSlot],
    reports: &'a mut usize,
}

impl<'a> MsgSlots<'a> {
    /// Borrow `slots` and their report count.
    pub(crate) fn new(slots: &'a mut [MessageSlot], reports: &'a mut usize) -> Self {
        MsgSlots { slots, reports }
    }

    /// Put part `i` in `PartState::Report(outcome)`, counting it.
    #[inline]
    pub(crate) fn report(&mut self, i: usize, outcome: Outcome) {
        if let Some(s) = self.slots.get_mut(i) {
            if !matches!(s.state, PartState::Report(_)) {
                // At most one per slot: cannot overflow.
                *self.reports = self.reports.wrapping_add(1);
            }
            s.state = PartState::Report(outcome);
        }
    }
}

impl core::ops::Deref for MsgSlots<'_> {
    type Target = [MessageSlot];
    fn deref(&self) -> &[MessageSlot] {
        self.slots
    }
}

impl core::ops::DerefMut for MsgSlots<'_> {
    fn deref_mut(&mut self) -> &mut [MessageSlot] {
        self.slots
    }
}

/// Say which conversation the bytes written by [`Conversations::poll_transmit`] belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub struct Transmit {
    /// The conversation whose socket gets the bytes.
    pub conversation: ConversationId,
    /// How many bytes were written to the caller's buffer.
    pub len: usize,
}

/// The switchboard side of Messenger: a bounded set of conversations (see the module doc).
pub struct Conversations<'s> {
    cfg: SbConfig,
    me: session::Handle,
    slots: &'s mut [ConversationSlot],
    msgs: &'s mut [MessageSlot],
    pool: &'s mut [u8],
    /// The large-frame buffer lent to one session at a time (see the module doc).
    large: &'s mut [u8],
    /// The size of `large` (which is empty while lent outside, see
    /// [`lend_large_frame`](Self::lend_large_frame)).
    large_cap: usize,
    /// The slot of the session holding `large` (from [`FIRST_OUTSIDE`]: lent outside, see
    /// [`Outside::holder`]).
    holder: Option<u16>,
    /// The order in which sessions refused `large` get it.
    queue: WaitQueue,
    /// The ticket of each outside borrower while refused `large` (0: it does not wait), by
    /// [`Outside`].
    outside_ticket: [u32; 2],
    /// End of the last payload written to the pool (compacted when a new one does not fit).
    pool_top: usize,
    /// A conversation may wait for `take_switchboard_request` (cleared when none does).
    sb_requests: bool,
    /// The last text format sent, its `X-MMS-IM-Format` value and the value's length.
    fmt_cache: (Option<TextFormat>, [u8; FORMAT_VALUE_CAP], usize),
    /// How many message slots are in `PartState::Report` (see [`MsgSlots`]).
    reports: usize,
    /// `poll_event` processed buffered frames (which may have written replies) since the last
    /// `take_processed`.
    processed: bool,
    next_message: u32,
    now: Instant,
    ims_off: bool,
}

impl<'s> Conversations<'s> {
    /// Make the machine for the account `own_handle` over the caller's storage: conversation
    /// slots, message-part slots, the message pool that holds the payloads of queued parts
    /// (a part takes its payload's length, at most 1664 bytes; [`send_message`] refuses with
    /// [`SbError::PoolFull`] what does not fit), and the large-frame buffer shared by the
    /// conversations for received messages longer than their own buffers ([`RX_CAP`] bytes
    /// take the largest a switchboard relays; a received `MSG` that does not fit is skipped and
    /// reported as [`SbEvent::MessageSkipped`]; see the module doc).
    ///
    /// [`send_message`]: Self::send_message
    /// [`RX_CAP`]: super::session::RX_CAP
    pub fn new(
        cfg: SbConfig,
        own_handle: &[u8],
        slots: &'s mut [ConversationSlot],
        msgs: &'s mut [MessageSlot],
        pool: &'s mut [u8],
        large_frame: &'s mut [u8],
    ) -> Result<Self, SbError> {
        let me = session::handle(own_handle).ok_or(SbError::BadArgument)?;
        if slots.is_empty()
            || slots.len() > usize::from(FIRST_OUTSIDE)
            || msgs.is_empty()
            || pool.is_empty()
            || u32::try_from(pool.len()).is_err()
        {
            return Err(SbError::BadStorage);
        }
        for s in slots.iter_mut() {
            s.session = None;
        }
        for m in msgs.iter_mut() {
            m.state = PartState::Free;
        }
        Ok(Conversations {
            cfg,
            me,
            slots,
            msgs,
            pool,
            large_cap: large_frame.len(),
            large: large_frame,
            holder: None,
            queue: WaitQueue { last: 0, turn: 0 },
            outside_ticket: [0; 2],
            pool_top: 0,
            sb_requests: false,
            fmt_cache: (None, [0; FORMAT_VALUE_CAP], 0),
            reports: 0,
            processed: false,
            next_message: 1,
            now: Instant::ZERO,
            ims_off: false,
        })
    }

    /// Return the configuration.
    pub fn config(&self) -> &SbConfig {
        &self.cfg
    }

    /// Replace the configuration (applies to timers armed from now on).
    pub fn set_config(&mut self, cfg: SbConfig) {
        self.cfg = cfg;
    }

    /// Tell the machine that the NS switched messaging off (`IMS OFF`) or on for idleness;
    /// while off, [`accept_invitation`](Self::accept_invitation) refuses, as WebTV did.
    pub fn set_ims_off(&mut self, off: bool) {
        self.ims_off = off;
    }

    /// Return the number of conversation slots (the most that can be open at once).
    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// Return the live conversation in slot `index`, if any.
    pub fn id_at(&self, index: usize) -> Option<ConversationId> {
        let slot = self.slots.get(index)?;
        let s = slot.session.as_ref()?;
        Some(s.st.id)
    }

    /// Query whether [`take_switchboard_request`](Self::take_switchboard_request) may return
    /// a conversation (`false`: it would return `None` at once).
    #[inline(always)]
    pub fn may_request_switchboard(&self) -> bool {
        self.sb_requests
    }

    /// Take one conversation that waits for a switchboard address (`XFR SB` on the NS): the
    /// caller asks the NS and answers with `switchboard_ready` or `switchboard_failed`. The
    /// same request is also reported once as [`SbEvent::NeedSwitchboard`] to callers that
    /// poll events instead.
    pub fn take_switchboard_request(&mut self) -> Option<ConversationId> {
        if !self.sb_requests {
            return None;
        }
        for slot in self.slots.iter_mut() {
            if let Some(s) = slot.session.as_mut() {
                if s.st.report_need_sb {
                    s.st.report_need_sb = false;
                    return Some(s.st.id);
                }
            }
        }
        self.sb_requests = false;
        None
    }

    /// Return how many conversations are live.
    pub fn active(&self) -> usize {
        self.slots.iter().filter(|s| s.session.is_some()).count()
    }

    /// Return how many other participants a conversation has.
    pub fn participants(&self, conv: ConversationId) -> Result<usize, SbError> {
        Ok(self.get(conv)?.st.roster_count())
    }

    /// Query whether a conversation can carry messages right now (open, someone else present).
    pub fn is_open(&self, conv: ConversationId) -> Result<bool, SbError> {
        Ok(self.get(conv)?.st.usable())
    }

    // Out of line: every conversation entry point calls it (ROM).
    #[inline(never)]
    fn tick(&mut self, now: Instant) {
        self.now.advance_to(now);
    }

    fn get(&self, conv: ConversationId) -> Result<&Session, SbError> {
        let slot = self
            .slots
            .get(conv.index())
            .ok_or(SbError::UnknownConversation)?;
        match &slot.session {
            Some(s) if slot.generation == conv.generation() => Ok(s),
            _ => Err(SbError::UnknownConversation),
        }
    }

    // Inlined: returned through memory, the session and context cost a slow unaligned copy
    // on the box at every call.
    #[inline(always)]
    fn parts(&mut self, conv: ConversationId) -> Result<Parts<'_>, SbError> {
        session_parts(
            self.slots,
            self.msgs,
            &mut self.reports,
            self.pool,
            &self.cfg,
            &self.me,
            self.now,
            conv,
        )
    }

    /// Return the parts of a live session, and the shared large-frame buffer (given back
    /// first by its holder if nothing borrows it any more).
    #[inline(always)]
    fn parts_rx(&mut self, conv: ConversationId) -> Result<(Parts<'_>, Lender<'_>), SbError> {
        self.settle_shared();
        let parts = session_parts(
            self.slots,
            self.msgs,
            &mut self.reports,
            self.pool,
            &self.cfg,
            &self.me,
            self.now,
            conv,
        )?;
        Ok((
            parts,
            Lender {
                buf: &mut *self.large,
                room: self.large_cap,
                holder: &mut self.holder,
                queue: &mut self.queue,
            },
        ))
    }

    /// Take the shared large-frame buffer back from its holder once nothing borrows it (the
    /// frame was handled and its event handed out, or the conversation closed): called on
    /// entry to the calls that read input, when no event of an earlier call can be alive.
    /// The queue's turn is re-read from the waiting sessions whenever someone may be waiting.
    // The common case (nobody holds or waits for the buffer) is one test, inlined into the
    // receive path; the rest stays out of line.
    #[inline(always)]
    fn settle_shared(&mut self) {
        if self.queue.turn != 0 || self.holder.is_some() {
            self.settle_shared_slow();
        }
    }

    #[inline(never)]
    fn settle_shared_slow(&mut self) {
        if self.queue.turn != 0 {
            // The lowest ticket still waiting, the outside borrowers' included (0: none).
            let inside = self
                .slots
                .iter()
                .filter_map(|s| s.session.as_ref())
                .map(Session::wait_ticket)
                .filter(|&t| t != 0)
                .min()
                .unwrap_or(0);
            self.queue.turn = self.outside_ticket.iter().fold(inside, |t, &o| {
                if t == 0 || (o != 0 && o < t) {
                    o
                } else {
                    t
                }
            });
        }
        let Some(h) = self.holder else { return };
        if h >= FIRST_OUTSIDE {
            // Only its borrower gives it back (`return_large_frame`).
            return;
        }
        let mut l = Lender {
            buf: &mut *self.large,
            room: self.large_cap,
            holder: &mut self.holder,
            queue: &mut self.queue,
        };
        match self
            .slots
            .get_mut(usize::from(h))
            .and_then(|s| s.session.as_mut())
        {
            Some(s) if s.is_lent() => {
                if !s.needs_shared() {
                    s.give_back(&mut l);
                }
            }
            _ => *l.holder = None,
        }
    }

    /// Lend the shared large-frame buffer to a borrower outside the conversations (the
    /// notification session for its long frames, the WTVP client for a step), if nobody holds
    /// it and nobody refused it earlier waits for it. Refused, the borrower gets a place in the
    /// same queue as the conversations: ask again (at the latest when its connection is next
    /// fed) until it is lent, or [`withdraw_large_frame_wait`](Self::withdraw_large_frame_wait).
    /// While it is out, conversations that need it wait;
    /// [`return_large_frame`](Self::return_large_frame) gives it back.
    pub(crate) fn lend_large_frame(&mut self, who: Outside) -> Option<&'s mut [u8]> {
        self.settle_shared();
        let q = &mut self.queue;
        let ticket = self.outside_ticket.get_mut(who as usize)?;
        if self.holder.is_some() || (q.turn != 0 && *ticket != q.turn) {
            if *ticket == 0 {
                // Wrapping as in `Session::borrow`: briefly unfair, never stuck.
                q.last = q.last.wrapping_add(1).max(1);
                *ticket = q.last;
                if q.turn == 0 {
                    q.turn = *ticket;
                }
            }
            return None;
        }
        if *ticket != 0 {
            *ticket = 0;
            // The next in line is found at the next reader call.
            q.turn = u32::MAX;
        }
        self.holder = Some(who.holder());
        Some(core::mem::take(&mut self.large))
    }

    /// Take the shared large-frame buffer back from the outside borrower `who` (the buffer
    /// [`lend_large_frame`](Self::lend_large_frame) gave it; anything else is ignored).
    pub(crate) fn return_large_frame(&mut self, who: Outside, buf: &'s mut [u8]) {
        if self.holder == Some(who.holder()) && buf.len() == self.large_cap {
            self.large = buf;
            self.holder = None;
        }
    }

    /// Forget the place of the outside borrower `who` in the queue (it no longer waits: its
    /// connection closed or was reset, or its step ended).
    #[inline(always)]
    pub(crate) fn withdraw_large_frame_wait(&mut self, who: Outside) {
        // The queue's turn is re-read from the waiting sessions at the next reader call.
        if let Some(t) = self.outside_ticket.get_mut(who as usize) {
            *t = 0;
        }
    }

    /// Query whether an outside borrower waits for the shared large-frame buffer.
    #[inline(always)]
    pub(crate) fn outside_waits(&self) -> bool {
        let [ns, wtvp] = self.outside_ticket;
        ns | wtvp != 0
    }

    /// Query whether the outside borrower `who` holds the shared large-frame buffer.
    pub(crate) fn lent_to(&self, who: Outside) -> bool {
        self.holder == Some(who.holder())
    }

    /// Return the size of the shared large-frame buffer.
    pub(crate) fn large_frame_capacity(&self) -> usize {
        self.large_cap
    }

    /// Query whether `conv` refuses input for now: its next frame needs the shared
    /// large-frame buffer, which another conversation held (or was owed first) at the last try
    /// (see the module doc). Keep its unread bytes and the connection, and offer them again after draining
    /// events. `false` for an unknown conversation.
    pub fn input_paused(&self, conv: ConversationId) -> bool {
        self.get(conv).is_ok_and(Session::is_waiting)
    }

    /// Return the conversation that needs the shared large-frame buffer now (a frame of it is
    /// being received there, or an event not yet handed out borrows it), if any. A holder
    /// that no longer needs it gives it back at the next call that reads input.
    pub fn large_frame_holder(&self) -> Option<ConversationId> {
        let h = usize::from(self.holder?);
        let s = self.slots.get(h)?.session.as_ref()?;
        s.needs_shared().then_some(s.st.id)
    }

    fn alloc(&mut self) -> Result<ConversationId, SbError> {
        let (i, slot) = self
            .slots
            .iter_mut()
            .enumerate()
            .find(|(_, s)| s.session.is_none())
            .ok_or(SbError::TooManyConversations)?;
        slot.generation = slot.generation.wrapping_add(1);
        let index = u16::try_from(i).map_err(|_| SbError::BadStorage)?;
        Ok(ConversationId::new(index, slot.generation))
    }

    fn install(&mut self, id: ConversationId, s: Session) {
        if let Some(slot) = self.slots.get_mut(id.index()) {
            slot.session = Some(s);
        }
    }

    /// Start a conversation with `contact` (or with nobody yet, to invite later); reports
    /// [`SbEvent::NeedSwitchboard`].
    pub fn open(
        &mut self,
        now: Instant,
        contact: Option<&[u8]>,
    ) -> Result<ConversationId, SbError> {
        self.tick(now);
        let who = match contact {
            Some(c) => Some(session::handle(c).ok_or(SbError::BadArgument)?),
            None => None,
        };
        let id = self.alloc()?;
        let s = Session::new_caller(id, now, &self.cfg, who);
        self.install(id, s);
        self.sb_requests = true;
        Ok(id)
    }

    /// Hand over the NS reply `XFR trid SB host:port CKI cookie`; reports [`SbEvent::Connect`].
    pub fn switchboard_ready(
        &mut self,
        now: Instant,
        conv: ConversationId,
        address: &[u8],
        cookie: &[u8],
    ) -> Result<(), SbError> {
        self.tick(now);
        let (host, port) = session::parse_address(address).ok_or(SbError::BadArgument)?;
        let cookie = session::token(cookie).ok_or(SbError::BadArgument)?;
        let (s, cx) = self.parts(conv)?;
        if s.st.phase != Phase::AwaitSwitchboard {
            return Err(SbError::WrongState);
        }
        if !s.set_switchboard(host.as_bytes(), port, cookie.as_bytes()) {
            return Err(SbError::BadArgument);
        }
        s.st.phase = Phase::Connecting;
        s.st.report_connect = true;
        s.set_connect_deadline(now + cx.cfg.connect_timeout);
        Ok(())
    }

    /// Report that the NS could not provide a switchboard (`913`, a timeout, a lost NS).
    pub fn switchboard_failed(
        &mut self,
        now: Instant,
        conv: ConversationId,
        code: Option<ServerErrorCode>,
    ) -> Result<(), SbError> {
        self.tick(now);
        let (s, cx) = self.parts(conv)?;
        if s.st.phase != Phase::AwaitSwitchboard {
            return Err(SbError::WrongState);
        }
        // Only the slots, not the whole context, go through memory.
        let mut msgs = cx.msgs;
        s.st.finish(CloseReason::SetupFailed(code), &mut msgs);
        Ok(())
    }

    /// Answer an NS `RNG session host:port CKI cookie inviter name`; reports
    /// [`SbEvent::Connect`]. Refused while IMS is off or every slot is in use.
    pub fn accept_invitation(
        &mut self,
        now: Instant,
        session_id: &[u8],
        address: &[u8],
        cookie: &[u8],
    ) -> Result<ConversationId, SbError> {
        self.tick(now);
        if self.ims_off {
            return Err(SbError::ImsOff);
        }
        let (host, port) = session::parse_address(address).ok_or(SbError::BadArgument)?;
        let cookie = session::token(cookie).ok_or(SbError::BadArgument)?;
        let sid = session::token(session_id).ok_or(SbError::BadArgument)?;
        let id = self.alloc()?;
        let s = Session::new_answerer(id, now, &self.cfg, host, port, cookie, sid);
        self.install(id, s);
        Ok(id)
    }

    /// Invite another contact into an open conversation (`CAL`); returns the `CAL` TrID.
    pub fn invite(
        &mut self,
        now: Instant,
        conv: ConversationId,
        contact: &[u8],
    ) -> Result<TrId, SbError> {
        self.tick(now);
        let who = session::handle(contact).ok_or(SbError::BadArgument)?;
        let (s, cx) = self.parts(conv)?;
        if s.st.phase != Phase::Open {
            return Err(
                if s.st.closed.is_some() || matches!(s.st.phase, Phase::Leaving(_)) {
                    SbError::Closed
                } else {
                    SbError::WrongState
                },
            );
        }
        s.st.invite(now, who.as_bytes(), cx.cfg)
    }

    /// Send `text` (UTF-8; lone LF or CR become CRLF) with the configured ack mode and format.
    pub fn send_message(
        &mut self,
        now: Instant,
        conv: ConversationId,
        text: &str,
    ) -> Result<MessageId, SbError> {
        let (ack, format) = (self.cfg.ack_mode, self.cfg.format);
        self.send_message_with(now, conv, text.as_bytes(), ack, format.as_ref())
    }

    /// Send `text` with an explicit ack mode and format header (`None` omits it).
    ///
    /// The text must be UTF-8. It is split into as many `MSG`s as needed; all parts are queued
    /// at once or the call fails: [`SbError::QueueFull`] when the conversation's queue or the
    /// part slots are full, [`SbError::PoolFull`] when the message pool cannot hold the
    /// payloads. Mode `D` is MSNP9+ (Escargot accepts and acknowledges it); do not use it
    /// towards other servers.
    pub fn send_message_with(
        &mut self,
        now: Instant,
        conv: ConversationId,
        text: &[u8],
        ack: AckMode,
        format: Option<&TextFormat>,
    ) -> Result<MessageId, SbError> {
        self.tick(now);
        if text.is_empty() || core::str::from_utf8(text).is_err() {
            return Err(SbError::BadArgument);
        }
        let limit = self.cfg.max_queued_per_conversation;
        // Each part's pool record: the format value (length-prefixed), then the body. The
        // value of the last format used is kept (formatting it is slow on the box).
        let (fmt_len, fmt_head) = match format {
            Some(f) => {
                if self.fmt_cache.0 != Some(*f) {
                    let n = message::write_format_value(f, &mut self.fmt_cache.1)
                        .map_err(|_| SbError::BadArgument)?;
                    self.fmt_cache.0 = Some(*f);
                    self.fmt_cache.2 = n;
                }
                let n = self.fmt_cache.2;
                // `X-MMS-IM-Format: ` value CRLF
                (
                    n,
                    message::FORMAT_HEADER
                        .len()
                        .saturating_add(n)
                        .saturating_add(2),
                )
            }
            None => (0, 0),
        };
        let fmt = self.fmt_cache.1;
        // The payload's headers: the fixed prefix, the format line, the empty line.
        let headers = message::TEXT_PREFIX
            .len()
            .saturating_add(fmt_head)
            .saturating_add(2);
        let max_body = MAX_OUTGOING_MSG_PAYLOAD.saturating_sub(headers);
        let head = fmt_len.saturating_add(1);
        if u8::try_from(fmt_len).is_err() {
            return Err(SbError::BadArgument);
        }
        let (s, _) = self.parts(conv)?;
        if s.st.closed.is_some() || matches!(s.st.phase, Phase::Leaving(_)) {
            return Err(SbError::Closed);
        }
        if s.st.phase == Phase::Open && s.st.roster_count() == 0 && s.st.invites_pending() == 0 {
            return Err(SbError::NoParticipants);
        }
        // Count the parts and their payload bytes by walking the source in chunks that
        // normalise to at most max_body.
        let mut need = 0usize;
        let mut bytes = 0usize;
        let mut rest = text;
        while !rest.is_empty() {
            let (take, out) = source_prefix(rest, max_body);
            if take == 0 {
                return Err(SbError::BadArgument);
            }
            need = need.saturating_add(1);
            bytes = bytes.saturating_add(head).saturating_add(out);
            rest = rest.get(take..).unwrap_or(&[]);
        }
        if need > usize::from(MAX_PARTS) {
            // A part's index has 14 bits (about 27 MB of text).
            return Err(SbError::QueueFull);
        }
        let used = self
            .msgs
            .iter()
            .filter(|m| {
                m.conv == conv
                    && !matches!(
                        m.state,
                        PartState::Free | PartState::Report(_) | PartState::Dropped
                    )
            })
            .count();
        let free = self
            .msgs
            .iter()
            .filter(|m| m.state == PartState::Free)
            .count();
        if used.saturating_add(need) > limit || need > free || need > usize::from(u16::MAX) {
            return Err(SbError::QueueFull);
        }
        let at = self.pool_reserve(bytes).ok_or(SbError::PoolFull)?;
        let id = MessageId(self.next_message);
        let fmt = fmt.get(..fmt_len).unwrap_or(&[]);
        if let Err(e) = self.queue_parts(conv, id, text, at, (fmt, max_body), ack) {
            // Not reachable (everything was counted above), but never leave parts of a
            // message whose id the caller does not get.
            for m in self.msgs.iter_mut() {
                if m.conv == conv && m.id == id && m.state == PartState::Queued {
                    m.state = PartState::Free;
                    m.len = 0;
                }
            }
            return Err(e);
        }
        self.next_message = self.next_message.checked_add(1).unwrap_or(1);
        let (s, cx) = self.parts(conv)?;
        s.st.maybe_queued = true;
        s.st.flush(cx.msgs.slots);
        Ok(id)
    }

    /// Write the parts of `text` into the pool from `at` and queue them as message `id`: each
    /// record is the format value `fmt` (length-prefixed) and the part's body.
    fn queue_parts(
        &mut self,
        conv: ConversationId,
        id: MessageId,
        text: &[u8],
        mut at: usize,
        (fmt, max_body): (&[u8], usize),
        ack: AckMode,
    ) -> Result<(), SbError> {
        let head = fmt.len().saturating_add(1);
        let mut rest = text;
        let mut part = 0u16;
        while !rest.is_empty() {
            if part >= MAX_PARTS {
                return Err(SbError::QueueFull);
            }
            let (take, out) = source_prefix(rest, max_body);
            let src = rest.get(..take).unwrap_or(&[]);
            rest = rest.get(take..).unwrap_or(&[]);
            let len = head.saturating_add(out);
            let dst = self
                .pool
                .get_mut(at..at.saturating_add(len))
                .ok_or(SbError::PoolFull)?;
            let (l, rec) = dst.split_first_mut().ok_or(SbError::PoolFull)?;
            *l = u8::try_from(fmt.len()).map_err(|_| SbError::BadArgument)?;
            let (f, b) = rec
                .split_at_mut_checked(fmt.len())
                .ok_or(SbError::PoolFull)?;
            f.copy_from_slice(fmt);
            let n = message::normalize_line_breaks(src, b).map_err(|_| SbError::BadArgument)?;
            let h = head;
            let Some(slot) = self.msgs.iter_mut().find(|m| m.state == PartState::Free) else {
                return Err(SbError::QueueFull);
            };
            slot.len = u16::try_from(h.saturating_add(n)).map_err(|_| SbError::BadArgument)?;
            slot.off = u32::try_from(at).map_err(|_| SbError::PoolFull)?;
            slot.conv = conv;
            slot.id = id;
            slot.set_part(part, ack);
            slot.state = PartState::Queued;
            part = part.saturating_add(1);
            at = at.saturating_add(len);
            self.pool_top = at;
        }
        Ok(())
    }

    /// Return where `bytes` contiguous pool bytes start, compacting the pool if needed.
    fn pool_reserve(&mut self, bytes: usize) -> Option<usize> {
        if self.pool_top.saturating_add(bytes) <= self.pool.len() {
            return Some(self.pool_top);
        }
        // Slide the payloads still waiting down to the start, in pool order.
        let mut top = 0usize;
        let mut floor = 0usize;
        loop {
            let next = self
                .msgs
                .iter()
                .enumerate()
                .filter(|(_, m)| m.holds_bytes() && usize::try_from(m.off).unwrap_or(0) >= floor)
                .min_by_key(|(_, m)| m.off)
                .map(|(i, _)| i);
            let Some(i) = next else { break };
            let Some(m) = self.msgs.get_mut(i) else { break };
            let off = usize::try_from(m.off).unwrap_or(0);
            let len = usize::from(m.len);
            self.pool
                .copy_within(off..off.saturating_add(len).min(self.pool.len()), top);
            m.off = u32::try_from(top).unwrap_or(0);
            floor = off.saturating_add(1);
            top = top.saturating_add(len);
        }
        self.pool_top = top;
        (top.saturating_add(bytes) <= self.pool.len()).then_some(top)
    }

    /// Send a typing notification (mode `U`) unless one went out within the typing interval;
    /// returns whether it was sent. Nothing is queued: typing is dropped while not open.
    pub fn send_typing(&mut self, now: Instant, conv: ConversationId) -> Result<bool, SbError> {
        self.send_typing_with(now, conv, AckMode::Unacknowledged)
    }

    /// Send a typing notification with an explicit ack mode (no outcome is tracked).
    pub fn send_typing_with(
        &mut self,
        now: Instant,
        conv: ConversationId,
        ack: AckMode,
    ) -> Result<bool, SbError> {
        self.tick(now);
        let (s, cx) = self.parts(conv)?;
        if s.st.closed.is_some() {
            return Err(SbError::Closed);
        }
        Ok(s.st.typing(now, cx.me, ack, cx.cfg))
    }

    /// Leave a conversation (`OUT`); queued messages end `Failed(Cancelled)`.
    pub fn leave(&mut self, now: Instant, conv: ConversationId) -> Result<(), SbError> {
        self.tick(now);
        let (s, cx) = self.parts(conv)?;
        if s.st.closed.is_some() || matches!(s.st.phase, Phase::Leaving(_)) {
            return Err(SbError::Closed);
        }
        let mut msgs = cx.msgs;
        s.st.leave(
            now,
            CloseReason::Left,
            FailReason::Cancelled,
            &mut msgs,
            cx.cfg,
        );
        Ok(())
    }

    /// Leave every conversation (for example when signing out).
    pub fn leave_all(&mut self, now: Instant) {
        for i in 0..self.slots.len() {
            let id = match self.slots.get(i) {
                Some(ConversationSlot {
                    session: Some(s), ..
                }) => s.st.id,
                _ => continue,
            };
            let _ = self.leave(now, id);
        }
    }

    /// Report that the conversation's TCP connection is up; `USR` or `ANS` goes out.
    pub fn handle_connected(&mut self, now: Instant, conv: ConversationId) -> Result<(), SbError> {
        self.tick(now);
        let (s, cx) = self.parts(conv)?;
        s.st.connected(cx.me)
    }

    /// Feed bytes received on the conversation's socket; returns how many were taken.
    ///
    /// Fewer than `bytes.len()` means events are waiting (an event that carries received text
    /// keeps its frame in the receive buffer until it is handed out), or the next frame waits
    /// for the shared large-frame buffer ([`input_paused`](Self::input_paused); see the module
    /// doc): drain [`poll_event`](Self::poll_event) and call again with the rest, even if no
    /// new bytes arrive on this connection. Bytes that arrive after the conversation closed
    /// are dropped.
    pub fn handle_input(
        &mut self,
        now: Instant,
        conv: ConversationId,
        bytes: &[u8],
    ) -> Result<usize, SbError> {
        self.tick(now);
        let ((s, mut cx), mut l) = self.parts_rx(conv)?;
        if !s.st.is_connected() && s.st.closed.is_none() {
            return Err(SbError::WrongState);
        }
        Ok(s.handle_input(bytes, &mut cx, &mut l))
    }

    /// Report that the conversation's connection closed (by the peer, an error, or a failed
    /// connect). Frames already received are still reported (drain
    /// [`poll_event`](Self::poll_event)) before [`SbEvent::Closed`].
    pub fn handle_closed(&mut self, now: Instant, conv: ConversationId) -> Result<(), SbError> {
        self.tick(now);
        let ((s, mut cx), mut l) = self.parts_rx(conv)?;
        let reason = match s.st.phase {
            Phase::Leaving(r) => r,
            _ => CloseReason::ConnectionLost,
        };
        if s.st.is_connected() {
            s.handle_closed(reason, &mut cx, &mut l);
        } else {
            s.st.finish(reason, &mut cx.msgs);
        }
        Ok(())
    }

    /// Fire every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.tick(now);
        let mut msgs = MsgSlots::new(&mut *self.msgs, &mut self.reports);
        message_timeouts(&mut msgs, now);
        for slot in self.slots.iter_mut() {
            if let Some(s) = slot.session.as_mut() {
                s.st.handle_timeout(now, &mut msgs, &self.cfg);
            }
        }
    }

    /// Return when [`handle_timeout`](Self::handle_timeout) should next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.slots
            .iter()
            .filter_map(|s| s.session.as_ref().and_then(|s| s.st.next_deadline()))
            .chain(message_deadline(self.msgs))
            .min()
    }

    /// Copy bytes to send into `out`; returns which conversation they are for, or `None`.
    pub fn poll_transmit(&mut self, out: &mut [u8]) -> Option<Transmit> {
        if out.is_empty() {
            return None;
        }
        let mut cx = Ctx {
            now: self.now,
            msgs: MsgSlots::new(&mut *self.msgs, &mut self.reports),
            pool: &*self.pool,
            cfg: &self.cfg,
            me: self.me.as_bytes(),
        };
        for slot in self.slots.iter_mut() {
            let Some(s) = slot.session.as_mut() else {
                continue;
            };
            s.st.flush(&mut cx.msgs);
            if !s.st.has_tx() {
                continue;
            }
            let n = s.st.emit(out, &mut cx);
            if n == 0 {
                continue;
            }
            return Some(Transmit {
                conversation: s.st.id,
                len: n,
            });
        }
        None
    }

    /// Return the next bytes to write, in place, and the conversation whose socket gets them
    /// (`None`: nothing to send): commands from a conversation's command buffer, a message
    /// part's head (its `MSG` line and text headers, assembled in `scratch`) or its body (in
    /// the message pool). A scratch of [`TRANSMIT_SCRATCH`] bytes takes the longest head in
    /// one piece (a shorter one hands it out in several; an empty one sends no parts). Report
    /// how many were written with [`advance_transmit`](Self::advance_transmit) before anything
    /// else is called; the rest is offered again.
    pub fn transmit_bytes<'a>(
        &'a mut self,
        scratch: &'a mut [u8],
    ) -> Option<(ConversationId, &'a [u8])> {
        let msgs = &mut *self.msgs;
        let i = self.slots.iter_mut().position(|slot| {
            slot.session.as_mut().is_some_and(|s| {
                s.st.flush(msgs);
                s.st.prepare_tx(msgs)
            })
        })?;
        let s = self.slots.get(i)?.session.as_ref()?;
        let bytes = s.st.lend_tx(scratch, self.msgs, self.pool);
        (!bytes.is_empty()).then_some((s.st.id, bytes))
    }

    /// Drop the command bytes waiting for `conv` (its connection is gone); a part being
    /// written is settled when the conversation closes.
    pub fn discard_transmit(&mut self, conv: ConversationId) {
        if let Ok((s, _)) = self.parts(conv) {
            s.st.discard_tx();
        }
    }

    /// Record that the first `n` bytes [`transmit_bytes`](Self::transmit_bytes) gave for
    /// `conv` were written (a part written whole in mode U has its outcome now).
    pub fn advance_transmit(&mut self, conv: ConversationId, n: usize) {
        if let Ok((s, mut cx)) = self.parts(conv) {
            s.st.advance_tx(n, &mut cx);
        }
    }

    /// Return the next event, or `None` when there is nothing to report.
    pub fn poll_event(&mut self) -> Option<SbEvent<'_>> {
        let found = self.find_event()?;
        self.take_event(found)
    }

    /// Query whether any conversation has bytes waiting for
    /// [`poll_transmit`](Self::poll_transmit) (commands, or a part scheduled or queued to go).
    pub fn has_transmit(&self) -> bool {
        self.slots.iter().any(|s| {
            s.session
                .as_ref()
                .is_some_and(|s| s.st.has_tx() || (s.st.maybe_queued && s.st.usable()))
        })
    }

    /// Query (and forget) whether polling processed buffered frames since the last call: they
    /// may have written bytes to send (a decline, a queued part now that someone joined).
    pub fn take_processed(&mut self) -> bool {
        core::mem::take(&mut self.processed)
    }

    /// Find what [`poll_event`](Self::poll_event) would report (processing buffered frames as
    /// needed), without borrowing it.
    pub(crate) fn find_event(&mut self) -> Option<Found> {
        self.settle_shared();
        let mut found = None;
        let mut l = Lender {
            buf: &mut *self.large,
            room: self.large_cap,
            holder: &mut self.holder,
            queue: &mut self.queue,
        };
        let mut cx = Ctx {
            now: self.now,
            msgs: MsgSlots::new(&mut *self.msgs, &mut self.reports),
            pool: &*self.pool,
            cfg: &self.cfg,
            me: self.me.as_bytes(),
        };
        for (i, slot) in self.slots.iter_mut().enumerate() {
            let Some(s) = slot.session.as_mut() else {
                continue;
            };
            if !s.st.has_event() && s.wants_processing() {
                s.process(&mut cx, &mut l);
                self.processed = true;
            }
            let id = s.st.id;
            if s.st.has_event() {
                found = Some((i, Kind::Session));
                break;
            }
            // The slots are searched only while some part waits to be reported.
            if let Some(m) = (*cx.msgs.reports > 0)
                .then(|| report_of(&cx.msgs, id))
                .flatten()
            {
                found = Some((i, Kind::Message(m)));
                break;
            }
            if s.st.closed.is_some() {
                found = Some((i, Kind::Closed));
                break;
            }
        }
        found.map(|(i, kind)| Found(i, kind))
    }

    /// Query whether, once the session event `found` is handed out, nothing else would be
    /// reported until the next input, command or timer call (the next poll can be skipped).
    /// `false` when unsure.
    pub(crate) fn is_last(&self, found: Found) -> bool {
        let Found(at, Kind::Session) = found else {
            return false;
        };
        debug_assert_eq!(
            self.reports,
            self.msgs
                .iter()
                .filter(|m| matches!(m.state, PartState::Report(_)))
                .count()
        );
        if self.reports > 0 {
            return false;
        }
        self.slots.iter().enumerate().all(|(i, slot)| {
            slot.session.as_ref().is_none_or(|s| {
                let own = usize::from(i == at);
                s.st.closed.is_none() && !s.has_more_input() && s.st.event_count() <= own
            })
        })
    }

    /// Hand out the event found by [`find_event`](Self::find_event).
    // Inlined (with the two helpers below) so the event is built where the caller wants it
    // instead of being copied through memory on the box.
    #[inline(always)]
    pub(crate) fn take_event(&mut self, found: Found) -> Option<SbEvent<'_>> {
        let Found(i, kind) = found;
        match kind {
            Kind::Message(m) => {
                let slot = self.msgs.get_mut(m)?;
                let PartState::Report(outcome) = slot.state else {
                    return None;
                };
                slot.state = PartState::Free;
                slot.len = 0;
                self.reports = self.reports.saturating_sub(1);
                Some(SbEvent::Outcome {
                    conversation: slot.conv,
                    message: slot.id,
                    outcome,
                })
            }
            Kind::Closed => {
                let slot = self.slots.get_mut(i)?;
                let s = slot.session.take()?;
                if self.holder.is_some_and(|h| usize::from(h) == i) {
                    // Nothing borrows it: a closed session's last event is out.
                    self.holder = None;
                }
                Some(SbEvent::Closed {
                    conversation: s.st.id,
                    reason: s.st.closed.unwrap_or(CloseReason::ConnectionLost),
                })
            }
            Kind::Session => {
                let s = self.slots.get_mut(i)?.session.as_mut()?;
                session_event(s, &*self.large)
            }
        }
    }
}

/// Take the next event of session `s` (one of its report flags or its pending frame event).
#[inline(always)]
fn session_event<'a>(s: &'a mut Session, shared: &'a [u8]) -> Option<SbEvent<'a>> {
    let st = &mut s.st;
    let conversation = st.id;
    if st.report_need_sb {
        st.report_need_sb = false;
        return Some(SbEvent::NeedSwitchboard { conversation });
    }
    if st.report_connect {
        st.report_connect = false;
        let port = st.port;
        return Some(SbEvent::Connect {
            conversation,
            host: s.host(),
            port,
        });
    }
    if st.report_ready {
        st.report_ready = false;
        return Some(SbEvent::Ready { conversation });
    }
    if let Some((trid, code, tag)) = st.take_invite_failure() {
        // The handle stays in the names buffer until the next call on this session.
        st.drop_name_later(tag);
        return Some(match TrId::new(trid) {
            Some(trid) => SbEvent::InviteFailed {
                conversation,
                trid,
                handle: s.st.name_of(tag),
                reason: invite_failure(code),
            },
            None => SbEvent::Timeout {
                conversation,
                trid: None,
                verb: "CAL",
            },
        });
    }
    if let Some((trid, verb)) = st.report_timeout.take() {
        return Some(SbEvent::Timeout {
            conversation,
            trid: TrId::new(trid),
            verb: match verb {
                1 => "USR",
                2 => "ANS",
                _ => "connect",
            },
        });
    }
    if let Some(length) = st.report_skipped.take() {
        return Some(SbEvent::MessageSkipped {
            conversation,
            length,
        });
    }
    let ev = st.pending.take()?;
    Some(frame_event(conversation, ev, s.current_bytes(shared)))
}

/// Turn a frame event into the caller's event, borrowing the frame's bytes.
#[inline(always)]
fn frame_event(conversation: ConversationId, ev: FrameEvent, f: &[u8]) -> SbEvent<'_> {
    match ev {
        FrameEvent::Joined { handle, name } => SbEvent::Joined {
            conversation,
            handle: handle.get(f),
            name: name.get(f),
        },
        FrameEvent::Left { handle, idle } => SbEvent::Left {
            conversation,
            handle: handle.get(f),
            idle,
        },
        FrameEvent::Message {
            sender,
            name,
            text,
            format,
            utf8,
        } => SbEvent::Message {
            conversation,
            sender: sender.get(f),
            name: name.get(f),
            text: text.get(f),
            utf8,
            format: format.map(|s| s.get(f)),
        },
        FrameEvent::Typing { handle } => SbEvent::Typing {
            conversation,
            handle: handle.get(f),
        },
        FrameEvent::Unsupported {
            sender,
            content_type,
            declined,
        } => SbEvent::UnsupportedContent {
            conversation,
            sender: sender.get(f),
            content_type: content_type.map_or(&b"text/x-msmsgsinvite"[..], |c| c.get(f)),
            declined,
        },
    }
}

/// A live session with what its machinery needs.
type Parts<'a> = (&'a mut Session, Ctx<'a>);

/// Borrow the live session `conv` names and the context its calls need, from the fields of
/// [`Conversations`] (so a caller may borrow the others, such as the shared buffer, too).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn session_parts<'a>(
    slots: &'a mut [ConversationSlot],
    msgs: &'a mut [MessageSlot],
    reports: &'a mut usize,
    pool: &'a [u8],
    cfg: &'a SbConfig,
    me: &'a session::Handle,
    now: Instant,
    conv: ConversationId,
) -> Result<Parts<'a>, SbError> {
    let slot = slots
        .get_mut(conv.index())
        .ok_or(SbError::UnknownConversation)?;
    match &mut slot.session {
        Some(s) if slot.generation == conv.generation() => Ok((
            s,
            Ctx {
                now,
                msgs: MsgSlots::new(msgs, reports),
                pool,
                cfg,
                me: me.as_bytes(),
            },
        )),
        _ => Err(SbError::UnknownConversation),
    }
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Session,
    Message(usize),
    Closed,
}

/// An event located by [`Conversations::find_event`]: the slot and what to report.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Found(usize, Kind);

/// Return the slot of the lowest message id of `conv` waiting to be reported.
fn report_of(msgs: &[MessageSlot], conv: ConversationId) -> Option<usize> {
    msgs.iter()
        .enumerate()
        .filter(|(_, m)| m.conv == conv && matches!(m.state, PartState::Report(_)))
        .min_by_key(|(_, m)| m.id)
        .map(|(i, _)| i)
}

/// Return how many source bytes of `text` normalise (line breaks) to at most `max` bytes,
/// ending on a UTF-8 boundary and not between CR and LF, and how long they are normalised.
fn source_prefix(text: &[u8], max: usize) -> (usize, usize) {
    // The usual case: a short text without line breaks is one part, as it is.
    if text.len() <= max && !text.iter().any(|&c| c == b'\r' || c == b'\n') {
        return (text.len(), text.len());
    }
    let mut out = 0usize;
    let mut i = 0usize;
    let mut best = (0usize, 0usize);
    while i < text.len() {
        let c = text.get(i).copied().unwrap_or(0);
        let (src, dst) = match c {
            b'\r' if text.get(i.saturating_add(1)) == Some(&b'\n') => (2, 2),
            b'\r' | b'\n' => (1, 2),
            _ => {
                let w = match c {
                    0xF0..=0xF7 => 4,
                    0xE0..=0xEF => 3,
                    0xC0..=0xDF => 2,
                    _ => 1,
                };
                (w, w)
            }
        };
        let next_out = out.saturating_add(dst);
        if next_out > max {
            break;
        }
        out = next_out;
        i = i.saturating_add(src).min(text.len());
        best = (i, out);
    }
    best
}
