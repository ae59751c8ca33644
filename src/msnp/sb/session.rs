//! One switchboard connection: setup (`USR`/`CAL`/`JOI` or `ANS`/`IRO`), the roster, the
//! outstanding invitations, the transmit buffer and the queue of events for the caller.
//!
//! Used by [`super::Conversations`], which owns the sessions in caller slots and passes in the
//! shared message slots; nothing here is public API beyond the constants.

use super::conversations::{MessageSlot, PartState};
use super::message::{self, Incoming};
use super::{
    CloseReason, ConversationId, FailReason, InviteFailure, Outcome, SbConfig, SbError, TimeoutKind,
};
use crate::limits::{MAX_OUTGOING_MSG_PAYLOAD, MAX_PASSPORT_LEN};
use crate::msnp::wire::{
    AckMode, Args, ClientCommand, Direction, FrameError, FrameReader, ServerCommand,
    ServerErrorCode, TrId, TrIdAllocator,
};
use crate::time::Instant;
use crate::wtvp::headwaiter::{Text, HOST_CAP};

/// Receive buffer of one switchboard connection: the longest server `MSG` (line with a
/// 129-byte handle and a 387-byte name, plus a 1664-byte payload) fits.
pub const RX_CAP: usize = 2304;
/// Transmit buffer of one switchboard connection: one full `MSG` plus a few short commands.
pub const TX_CAP: usize = 2048;
/// Event queue of one switchboard connection: events of a full receive buffer, twice over.
pub const EVENT_CAP: usize = 2 * RX_CAP + RESERVE;
/// Event bytes kept free for events that timers and commands produce.
const RESERVE: usize = 512;
/// Participants remembered by handle per conversation (more are counted, not named).
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

// Event record kinds.
pub(crate) const K_READY: u8 = 1;
pub(crate) const K_JOINED: u8 = 2;
pub(crate) const K_LEFT: u8 = 3;
pub(crate) const K_MESSAGE: u8 = 4;
pub(crate) const K_TYPING: u8 = 5;
pub(crate) const K_UNSUPPORTED: u8 = 6;
pub(crate) const K_INVITE_FAILED: u8 = 7;
pub(crate) const K_TIMEOUT: u8 = 8;

/// One decoded event record: kind, two numbers, up to four byte strings.
pub(crate) struct Record<'a> {
    pub kind: u8,
    pub a: u32,
    pub b: u32,
    pub s: [&'a [u8]; 4],
}

/// A byte queue of event records; a record handed out is dropped on the next access.
pub(crate) struct EventRing {
    buf: [u8; EVENT_CAP],
    head: usize,
    tail: usize,
    popped: usize,
}

impl EventRing {
    const fn new() -> Self {
        EventRing {
            buf: [0; EVENT_CAP],
            head: 0,
            tail: 0,
            popped: 0,
        }
    }

    fn settle(&mut self) {
        self.head = self.head.saturating_add(self.popped).min(self.tail);
        self.popped = 0;
        if self.head == self.tail {
            self.head = 0;
            self.tail = 0;
        }
    }

    /// Return the bytes free once the queue is compacted.
    pub(crate) fn free(&self) -> usize {
        let used = self
            .tail
            .saturating_sub(self.head)
            .saturating_sub(self.popped);
        EVENT_CAP.saturating_sub(used)
    }

    /// Query whether a record is waiting (after dropping the one handed out last).
    pub(crate) fn is_empty(&mut self) -> bool {
        self.settle();
        self.head == self.tail
    }

    /// Append a record; false (and a warning) when it does not fit.
    pub(crate) fn push(&mut self, kind: u8, a: u32, b: u32, strs: &[&[u8]]) -> bool {
        self.settle();
        let mut need = 10usize;
        for s in strs.iter().take(4) {
            need = need
                .saturating_add(2)
                .saturating_add(s.len().min(u16::MAX as usize));
        }
        if self.tail.saturating_add(need) > EVENT_CAP {
            self.buf.copy_within(self.head..self.tail, 0);
            self.tail = self.tail.saturating_sub(self.head);
            self.head = 0;
        }
        if self.tail.saturating_add(need) > EVENT_CAP {
            msgr_warn!("sb: event queue full, event {} dropped", kind);
            return false;
        }
        let mut w = self.tail;
        let mut put = |buf: &mut [u8; EVENT_CAP], bytes: &[u8]| {
            let end = w.saturating_add(bytes.len());
            if let Some(d) = buf.get_mut(w..end) {
                d.copy_from_slice(bytes);
            }
            w = end;
        };
        put(&mut self.buf, &[kind]);
        put(&mut self.buf, &a.to_be_bytes());
        put(&mut self.buf, &b.to_be_bytes());
        let n = strs.len().min(4) as u8; // at most 4: fits.
        put(&mut self.buf, &[n]);
        for s in strs.iter().take(4) {
            let s = s.get(..s.len().min(u16::MAX as usize)).unwrap_or(&[]);
            let l = s.len() as u16; // clamped above: fits.
            put(&mut self.buf, &l.to_be_bytes());
            put(&mut self.buf, s);
        }
        self.tail = w;
        true
    }

    /// Return the oldest record; it is dropped on the next access.
    pub(crate) fn front(&mut self) -> Option<Record<'_>> {
        self.settle();
        if self.head == self.tail {
            return None;
        }
        let rec = self.buf.get(self.head..self.tail)?;
        let kind = *rec.first()?;
        let a = u32::from_be_bytes(rec.get(1..5)?.try_into().ok()?);
        let b = u32::from_be_bytes(rec.get(5..9)?.try_into().ok()?);
        let n = usize::from(*rec.get(9)?);
        let mut pos = 10usize;
        let mut s: [&[u8]; 4] = [&[]; 4];
        for slot in s.iter_mut().take(n) {
            let l = usize::from(u16::from_be_bytes(
                rec.get(pos..pos.checked_add(2)?)?.try_into().ok()?,
            ));
            pos = pos.checked_add(2)?;
            *slot = rec.get(pos..pos.checked_add(l)?)?;
            pos = pos.checked_add(l)?;
        }
        self.popped = pos;
        Some(Record { kind, a, b, s })
    }
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

#[derive(Clone, Copy)]
pub(crate) struct Invite {
    handle: Handle,
    trid: TrId,
    deadline: Instant,
}

/// Everything of one conversation except its receive buffer.
pub(crate) struct State {
    pub id: ConversationId,
    pub role: Role,
    pub phase: Phase,
    first_invitee: Option<Handle>,
    pub host: Text<HOST_CAP>,
    pub port: u16,
    cookie: Token,
    session_id: Token,
    trids: TrIdAllocator,
    tx: [u8; TX_CAP],
    tx_start: usize,
    tx_end: usize,
    pub events: EventRing,
    roster: [Handle; MAX_ROSTER],
    roster_len: usize,
    roster_extra: usize,
    invites: [Option<Invite>; MAX_INVITES],
    open_deadline: Option<Instant>,
    connect_deadline: Option<Instant>,
    leave_deadline: Option<Instant>,
    last_typing: Option<Instant>,
    pub report_need_sb: bool,
    pub report_connect: bool,
    pub closed: Option<CloseReason>,
}

/// One switchboard connection: its receive buffer and its state.
pub(crate) struct Session {
    pub rx: FrameReader<RX_CAP>,
    pub st: State,
}

impl Session {
    fn blank(id: ConversationId, role: Role) -> Self {
        Session {
            rx: FrameReader::new(Direction::ServerToClient),
            st: State {
                id,
                role,
                phase: Phase::AwaitSwitchboard,
                first_invitee: None,
                host: Text::empty(),
                port: 0,
                cookie: Text::empty(),
                session_id: Text::empty(),
                trids: TrIdAllocator::new(),
                tx: [0; TX_CAP],
                tx_start: 0,
                tx_end: 0,
                events: EventRing::new(),
                roster: [Text::empty(); MAX_ROSTER],
                roster_len: 0,
                roster_extra: 0,
                invites: [None; MAX_INVITES],
                open_deadline: None,
                connect_deadline: None,
                leave_deadline: None,
                last_typing: None,
                report_need_sb: false,
                report_connect: false,
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
        s.st.first_invitee = first_invitee;
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
        s.st.host = host;
        s.st.port = port;
        s.st.cookie = cookie;
        s.st.session_id = session_id;
        s.st.phase = Phase::Connecting;
        s.st.connect_deadline = Some(now + cfg.connect_timeout);
        s.st.report_connect = true;
        s
    }

    pub(crate) fn set_cookie(&mut self, cookie: Token) {
        self.st.cookie = cookie;
    }

    pub(crate) fn set_connect_deadline(&mut self, at: Instant) {
        self.st.connect_deadline = Some(at);
    }

    /// Feed received bytes; return how many were taken (see [`super::Conversations::handle_input`]).
    pub(crate) fn handle_input(
        &mut self,
        now: Instant,
        bytes: &[u8],
        msgs: &mut [MessageSlot],
        cfg: &SbConfig,
        me: &[u8],
    ) -> usize {
        let mut consumed = 0usize;
        loop {
            self.process(now, msgs, cfg, me);
            if self.st.closed.is_some() {
                // Nothing more will be read on this connection.
                return bytes.len();
            }
            let rest = bytes.get(consumed..).unwrap_or(&[]);
            if rest.is_empty() {
                return consumed;
            }
            // Events from n buffered bytes take at most 2n bytes of the event queue.
            let budget = (self.st.events.free().saturating_sub(RESERVE) / 2)
                .saturating_sub(self.rx.buffered());
            let take = rest.len().min(budget);
            let n = self.rx.push(rest.get(..take).unwrap_or(&[]));
            if n == 0 {
                return consumed;
            }
            consumed = consumed.saturating_add(n);
        }
    }

    fn process(&mut self, now: Instant, msgs: &mut [MessageSlot], cfg: &SbConfig, me: &[u8]) {
        let Session { rx, st } = self;
        while st.closed.is_none() {
            match rx.next_frame() {
                None => break,
                Some(Ok(frame)) => match ServerCommand::parse(&frame) {
                    Ok(cmd) => st.on_command(now, cmd, msgs, cfg, me),
                    Err(_) => msgr_debug!("sb: unparsable line skipped"),
                },
                Some(Err(FrameError::BadPayloadLength)) => {
                    msgr_warn!("sb: payload length unreadable, closing");
                    st.finish(CloseReason::Protocol, msgs);
                }
                Some(Err(_)) => msgr_warn!("sb: oversized frame skipped"),
            }
        }
    }
}

impl State {
    /// Query whether messages can be sent now (open with at least one other participant).
    pub(crate) fn usable(&self) -> bool {
        self.phase == Phase::Open && self.roster_count() > 0
    }

    pub(crate) fn roster_count(&self) -> usize {
        self.roster_len.saturating_add(self.roster_extra)
    }

    pub(crate) fn invites_pending(&self) -> usize {
        self.invites.iter().flatten().count()
    }

    pub(crate) fn is_connected(&self) -> bool {
        matches!(
            self.phase,
            Phase::Authenticating(_) | Phase::Answering(_) | Phase::Open | Phase::Leaving(_)
        )
    }

    /// Return the bytes waiting to be written.
    pub(crate) fn pending_tx(&self) -> &[u8] {
        self.tx.get(self.tx_start..self.tx_end).unwrap_or(&[])
    }

    /// Mark `n` transmit bytes as handed out; return whether the buffer is now empty.
    pub(crate) fn consume_tx(&mut self, n: usize) -> bool {
        self.tx_start = self.tx_start.saturating_add(n).min(self.tx_end);
        if self.tx_start == self.tx_end {
            self.tx_start = 0;
            self.tx_end = 0;
            true
        } else {
            false
        }
    }

    fn tx_room(&mut self, need: usize) -> bool {
        if self.tx_end.saturating_add(need) > TX_CAP && self.tx_start > 0 {
            self.tx.copy_within(self.tx_start..self.tx_end, 0);
            self.tx_end = self.tx_end.saturating_sub(self.tx_start);
            self.tx_start = 0;
        }
        self.tx_end.saturating_add(need) <= TX_CAP
    }

    /// Append a command to the transmit buffer; false when it does not fit.
    pub(crate) fn send(&mut self, cmd: &ClientCommand<'_>) -> bool {
        let need = cmd.buffer_len();
        if !self.tx_room(need) {
            return false;
        }
        let end = self.tx_end.saturating_add(need);
        match self.tx.get_mut(self.tx_end..end).map(|out| cmd.emit(out)) {
            Some(Ok(n)) => {
                self.tx_end = self.tx_end.saturating_add(n);
                true
            }
            _ => false,
        }
    }

    fn next_trid(&mut self) -> TrId {
        self.trids.next_trid()
    }

    /// Send `MSG trid mode len` with `payload`; return the TrID, or `None` when it does not fit.
    pub(crate) fn send_msg(&mut self, ack: AckMode, payload: &[u8]) -> Option<TrId> {
        let trid = self.trids.peek();
        let cmd = ClientCommand::Msg { trid, ack, payload };
        if self.send(&cmd) {
            Some(self.next_trid())
        } else {
            None
        }
    }

    /// Handle the TCP connection coming up: send `USR` or `ANS`.
    pub(crate) fn connected(&mut self, me: &[u8]) -> Result<(), SbError> {
        if self.phase != Phase::Connecting {
            return Err(SbError::WrongState);
        }
        let trid = self.trids.peek();
        let cookie = self.cookie;
        let ok = match self.role {
            Role::Caller => self.send(&ClientCommand::UsrSb {
                trid,
                handle: me,
                cookie: cookie.as_bytes(),
                rest: Args::empty(),
            }),
            Role::Answerer => {
                let session = self.session_id;
                self.send(&ClientCommand::Ans {
                    trid,
                    handle: me,
                    cookie: cookie.as_bytes(),
                    session: session.as_bytes(),
                    rest: Args::empty(),
                })
            }
        };
        if !ok {
            return Err(SbError::BadArgument);
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
        who: Handle,
        cfg: &SbConfig,
    ) -> Result<TrId, SbError> {
        let slot = self
            .invites
            .iter()
            .position(Option::is_none)
            .ok_or(SbError::TooManyInvites)?;
        let trid = self.trids.peek();
        let ok = self.send(&ClientCommand::Cal {
            trid,
            handle: who.as_bytes(),
            rest: Args::empty(),
        });
        if !ok {
            return Err(SbError::QueueFull);
        }
        let trid = self.next_trid();
        if let Some(s) = self.invites.get_mut(slot) {
            *s = Some(Invite {
                handle: who,
                trid,
                deadline: now + cfg.invite_timeout,
            });
        }
        Ok(trid)
    }

    /// Send `OUT` and wait for the server to close; queued parts are dropped with `why`.
    pub(crate) fn leave(
        &mut self,
        now: Instant,
        reason: CloseReason,
        queued: FailReason,
        msgs: &mut [MessageSlot],
        cfg: &SbConfig,
    ) {
        fail_where(msgs, self.id, queued, |s| s == PartState::Queued);
        if self.is_connected() && !matches!(self.phase, Phase::Leaving(_)) {
            self.send(&ClientCommand::Out {
                rest: Args::empty(),
            });
            self.phase = Phase::Leaving(reason);
            self.invites = [None; MAX_INVITES];
            self.open_deadline = None;
            self.connect_deadline = None;
            self.leave_deadline = Some(now + cfg.leave_timeout);
        } else if !matches!(self.phase, Phase::Leaving(_)) {
            self.finish(reason, msgs);
        }
    }

    /// End the conversation and settle every message that has no outcome yet.
    pub(crate) fn finish(&mut self, reason: CloseReason, msgs: &mut [MessageSlot]) {
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
                _ => continue,
            };
            resolve(msgs, i, outcome);
        }
        self.phase = Phase::Closed;
        self.closed = Some(reason);
        self.invites = [None; MAX_INVITES];
        self.open_deadline = None;
        self.connect_deadline = None;
        self.leave_deadline = None;
        self.report_need_sb = false;
        self.report_connect = false;
    }

    /// Write queued parts into the transmit buffer while the conversation is usable.
    pub(crate) fn flush(&mut self, msgs: &mut [MessageSlot]) {
        while self.usable() {
            let next = msgs
                .iter()
                .enumerate()
                .filter(|(_, s)| s.conv == self.id && s.state == PartState::Queued)
                .min_by_key(|(_, s)| (s.id, s.part))
                .map(|(i, _)| i);
            let Some(i) = next else { break };
            let Some(slot) = msgs.get_mut(i) else { break };
            let payload = slot.payload.get(..usize::from(slot.len)).unwrap_or(&[]);
            match self.send_msg(slot.ack, payload) {
                Some(trid) => slot.state = PartState::InTx(trid),
                None => break,
            }
        }
    }

    /// Return the earliest deadline of this conversation.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        [
            self.open_deadline,
            self.connect_deadline,
            self.leave_deadline,
        ]
        .into_iter()
        .chain(self.invites.iter().map(|i| i.map(|i| i.deadline)))
        .flatten()
        .min()
    }

    /// Fire every expired timer of this conversation.
    pub(crate) fn handle_timeout(
        &mut self,
        now: Instant,
        msgs: &mut [MessageSlot],
        cfg: &SbConfig,
    ) {
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
            self.events.push(K_TIMEOUT, trid, verb, &[]);
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
            if inv.deadline <= now {
                if let Some(s) = self.invites.get_mut(i) {
                    *s = None;
                }
                self.events
                    .push(K_INVITE_FAILED, inv.trid.get(), 0, &[inv.handle.as_bytes()]);
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
        if self.roster_has(h) {
            return;
        }
        match (self.roster.get_mut(self.roster_len), handle(h)) {
            (Some(slot), Some(h)) => {
                *slot = h;
                self.roster_len = self.roster_len.saturating_add(1);
            }
            _ => self.roster_extra = self.roster_extra.saturating_add(1),
        }
    }

    fn roster_has(&self, h: &[u8]) -> bool {
        self.roster
            .iter()
            .take(self.roster_len)
            .any(|r| r.as_bytes().eq_ignore_ascii_case(h))
    }

    fn roster_remove(&mut self, h: &[u8]) {
        let pos = self
            .roster
            .iter()
            .take(self.roster_len)
            .position(|r| r.as_bytes().eq_ignore_ascii_case(h));
        match pos {
            Some(p) => {
                let last = self.roster_len.saturating_sub(1);
                self.roster.swap(p, last);
                self.roster_len = last;
            }
            None => self.roster_extra = self.roster_extra.saturating_sub(1),
        }
    }

    fn take_invite(&mut self, pred: impl Fn(&Invite) -> bool) -> Option<Invite> {
        let slot = self
            .invites
            .iter_mut()
            .find(|i| i.as_ref().is_some_and(&pred))?;
        slot.take()
    }

    fn on_command(
        &mut self,
        now: Instant,
        cmd: ServerCommand<'_>,
        msgs: &mut [MessageSlot],
        cfg: &SbConfig,
        me: &[u8],
    ) {
        use ServerCommand as S;
        match cmd {
            S::UsrOk { trid, .. } if self.phase == Phase::Authenticating(trid) => {
                self.phase = Phase::Open;
                self.connect_deadline = None;
                self.events.push(K_READY, 0, 0, &[]);
                if let Some(who) = self.first_invitee.take() {
                    if self.invite(now, who, cfg).is_err() {
                        msgr_warn!("sb: first CAL not sent");
                    }
                }
            }
            S::Iro {
                trid, handle, name, ..
            } if self.phase == Phase::Answering(trid) => {
                self.roster_add(handle);
                self.events.push(K_JOINED, 0, 0, &[handle, name]);
            }
            S::Ans { trid, .. } if self.phase == Phase::Answering(trid) => {
                self.phase = Phase::Open;
                self.connect_deadline = None;
                self.open_deadline = None;
                self.events.push(K_READY, 0, 0, &[]);
                self.flush(msgs);
            }
            S::Cal { .. } => {
                msgr_debug!("sb: CAL ringing");
            }
            S::Joi { handle, name, .. } => {
                if handle.eq_ignore_ascii_case(me) {
                    return;
                }
                self.take_invite(|i| i.handle.as_bytes().eq_ignore_ascii_case(handle));
                self.roster_add(handle);
                self.open_deadline = None;
                self.events.push(K_JOINED, 0, 0, &[handle, name]);
                self.flush(msgs);
            }
            S::Bye { handle, rest } => {
                let was = self.roster_count();
                self.roster_remove(handle);
                let idle = rest.get(0) == Some(b"1");
                self.events.push(K_LEFT, u32::from(idle), 0, &[handle]);
                if was > 0 && self.roster_count() == 0 && self.phase == Phase::Open {
                    self.leave(
                        now,
                        CloseReason::Empty,
                        FailReason::SwitchboardClosed,
                        msgs,
                        cfg,
                    );
                }
            }
            S::Msg {
                sender,
                name,
                payload,
            } => self.on_msg(sender, name, payload, cfg),
            S::Ack { trid, .. } => on_ack(msgs, self.id, trid),
            S::Nak { trid, .. } => {
                on_fail(msgs, self.id, trid, FailReason::Nak);
            }
            S::Error {
                code,
                trid: Some(trid),
                ..
            } => self.on_error(now, code, trid, msgs, cfg),
            S::Out { .. } => self.finish(CloseReason::ConnectionLost, msgs),
            _ => msgr_debug!("sb: line ignored"),
        }
    }

    fn on_error(
        &mut self,
        now: Instant,
        code: ServerErrorCode,
        trid: TrId,
        msgs: &mut [MessageSlot],
        cfg: &SbConfig,
    ) {
        if matches!(self.phase, Phase::Authenticating(t) | Phase::Answering(t) if t == trid) {
            msgr_warn!("sb: switchboard refused us ({})", code.code());
            self.finish(CloseReason::Refused(code), msgs);
            return;
        }
        if let Some(inv) = self.take_invite(|i| i.trid == trid) {
            self.events.push(
                K_INVITE_FAILED,
                trid.get(),
                u32::from(code.code()),
                &[inv.handle.as_bytes()],
            );
            if self.roster_count() == 0 && self.invites_pending() == 0 {
                let why = match code.code() {
                    216 | 217 => FailReason::ContactOffline,
                    _ => FailReason::InviteRefused(code),
                };
                fail_where(msgs, self.id, why, |s| s == PartState::Queued);
                let _ = (now, cfg);
            }
            return;
        }
        if !on_fail(msgs, self.id, trid, FailReason::Server(code)) {
            msgr_debug!("sb: error {} for unknown TrID", code.code());
        }
    }

    fn on_msg(&mut self, sender: &[u8], name: &[u8], payload: &[u8], cfg: &SbConfig) {
        match message::classify(payload) {
            Incoming::Text { body, format, utf8 } => {
                let f = format.unwrap_or(&[]);
                self.events.push(
                    K_MESSAGE,
                    u32::from(utf8),
                    u32::from(format.is_some()),
                    &[sender, name, body, f],
                );
            }
            Incoming::Typing { .. } => {
                self.events.push(K_TYPING, 0, 0, &[sender]);
            }
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
                self.events.push(
                    K_UNSUPPORTED,
                    u32::from(declined),
                    0,
                    &[sender, b"text/x-msmsgsinvite"],
                );
            }
            Incoming::Other { content_type } => {
                self.events
                    .push(K_UNSUPPORTED, 0, 0, &[sender, content_type]);
            }
        }
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

/// Settle part `i` with `outcome`, combining it with the other parts of the same message.
///
/// A failure settles the whole message at once (its other parts are dropped); a success settles
/// it when no other part is still under way.
pub(crate) fn resolve(msgs: &mut [MessageSlot], i: usize, outcome: Outcome) {
    let Some(slot) = msgs.get(i) else { return };
    let (conv, id) = (slot.conv, slot.id);
    let siblings = |s: &MessageSlot| {
        s.conv == conv && s.id == id && !matches!(s.state, PartState::Free | PartState::Report(_))
    };
    match outcome {
        Outcome::Failed(_) => {
            for (j, s) in msgs.iter_mut().enumerate() {
                if j != i && siblings(s) {
                    s.state = PartState::Free;
                }
            }
            if let Some(s) = msgs.get_mut(i) {
                s.state = PartState::Report(outcome);
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
                        s.state = PartState::Free;
                    }
                }
                if let Some(s) = msgs.get_mut(i) {
                    s.state = PartState::Report(outcome);
                }
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

fn on_ack(msgs: &mut [MessageSlot], conv: ConversationId, trid: TrId) {
    if let Some(i) = find_trid(msgs, conv, trid) {
        resolve(msgs, i, Outcome::Delivered);
    }
}

/// Fail the part sent with `trid`; return whether there was one.
fn on_fail(msgs: &mut [MessageSlot], conv: ConversationId, trid: TrId, why: FailReason) -> bool {
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
    msgs: &mut [MessageSlot],
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

/// Start the delivery timers of parts whose bytes were just handed out.
pub(crate) fn tx_drained(
    msgs: &mut [MessageSlot],
    conv: ConversationId,
    now: Instant,
    cfg: &SbConfig,
) {
    for i in 0..msgs.len() {
        let Some(s) = msgs.get_mut(i) else { break };
        if s.conv != conv {
            continue;
        }
        if let PartState::InTx(t) = s.state {
            match s.ack {
                AckMode::Unacknowledged => resolve(msgs, i, Outcome::Sent),
                AckMode::NakOnly => s.state = PartState::NakWindow(t, now + cfg.nak_window),
                AckMode::Acknowledged | AckMode::Data => {
                    s.state = PartState::AwaitAck(t, now + cfg.ack_timeout)
                }
            }
        }
    }
}

/// Settle parts whose ack timeout or NAK window has passed.
pub(crate) fn message_timeouts(msgs: &mut [MessageSlot], now: Instant) {
    for i in 0..msgs.len() {
        match msgs.get(i).map(|s| s.state) {
            Some(PartState::AwaitAck(_, d)) if d <= now => {
                resolve(msgs, i, Outcome::Failed(FailReason::Timeout))
            }
            Some(PartState::NakWindow(_, d)) if d <= now => resolve(msgs, i, Outcome::Sent),
            _ => {}
        }
    }
}

/// Return the earliest message deadline.
pub(crate) fn message_deadline(msgs: &[MessageSlot]) -> Option<Instant> {
    msgs.iter()
        .filter_map(|s| match s.state {
            PartState::AwaitAck(_, d) | PartState::NakWindow(_, d) => Some(d),
            _ => None,
        })
        .min()
}

/// Return the largest payload a part slot holds.
pub(crate) const PART_CAP: usize = MAX_OUTGOING_MSG_PAYLOAD;

/// Turn an invite-failure record back into its reason.
pub(crate) fn invite_failure(code: u32) -> InviteFailure {
    match u16::try_from(code) {
        Ok(0) | Err(_) => InviteFailure::Timeout,
        Ok(c) => InviteFailure::Server(ServerErrorCode(c)),
    }
}
