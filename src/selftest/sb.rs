//! Switchboard suites shared by the host tests and the MIPS guest.
//!
//! - [`run`] replays every switchboard connection of the given escargot transcripts through
//!   [`Conversations`]: the user actions are read from the recorded client bytes (`CAL`, `MSG`,
//!   `OUT`; `USR`/`ANS` give the cookie and session id, the documented variables), the recorded
//!   server bytes are fed in (whole chunks, and one byte at a time), and the session's own output
//!   must equal the recorded client stream byte for byte. Event counts must match what the
//!   recorded server lines imply, and every message must end with exactly one outcome.
//! - [`run_scenarios`] drives built-in scripts on a simulated clock: every timeout, the NAK
//!   window, queue limits, splitting, declines, and a connection drop at every step.

use super::transcript::{Dir, Transcript};
use super::{check, Failure, Reporter};
use crate::msnp::sb::session::RX_CAP;
use crate::msnp::sb::{
    message, CloseReason, ConversationId, ConversationSlot, Conversations, FailReason,
    InviteFailure, MessageId, MessageSlot, Outcome, SbConfig, SbError, SbEvent, TextFormat,
    TimeoutKind,
};
use crate::msnp::wire::{AckMode, ClientCommand, Direction, FrameReader, Line, ServerCommand};
use crate::time::Instant;

const SUITE: &str = "sb";
/// Largest recorded stream of one switchboard connection and direction the replay holds.
const STREAM_CAP: usize = 8192;
const TRACKED: usize = 16;
/// Message pool of the replays and scenarios: room for a split long message.
pub const POOL_BYTES: usize = 8192;

/// How the recorded server chunks are fed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// Each recorded chunk in one call.
    Whole,
    /// One byte per call.
    Bytes,
}

/// Counts of what a replay saw.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// `Ready` events.
    pub ready: u32,
    /// `Joined` events.
    pub joined: u32,
    /// `Left` events.
    pub left: u32,
    /// Text `Message` events.
    pub messages: u32,
    /// `Typing` events.
    pub typing: u32,
    /// `UnsupportedContent` events.
    pub unsupported: u32,
    /// `InviteFailed` events.
    pub invite_failed: u32,
    /// `Delivered` outcomes.
    pub delivered: u32,
}

struct Stream {
    buf: [u8; STREAM_CAP],
    len: usize,
}

impl Stream {
    fn of(t: &Transcript<'_>, conn: &str, dir: Dir) -> Result<Self, Failure> {
        let mut s = Stream {
            buf: [0; STREAM_CAP],
            len: 0,
        };
        for c in t.chunks_of(conn, dir) {
            let end = s
                .len
                .checked_add(c.len())
                .ok_or(Failure::new("stream too long"))?;
            s.buf
                .get_mut(s.len..end)
                .ok_or(Failure::new("stream too long for the replay buffer"))?
                .copy_from_slice(c);
            s.len = end;
        }
        Ok(s)
    }
    fn bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or(&[])
    }
}

/// A recorded client command: line, payload, total length.
type ClientAt<'a> = (&'a [u8], Option<&'a [u8]>, usize);

/// Return the next client command at `pos`: (line, payload, total length).
fn client_at(s: &[u8], pos: usize) -> Option<ClientAt<'_>> {
    let rest = s.get(pos..)?;
    let lf = rest.iter().position(|&b| b == b'\n')?;
    let line = rest.get(..lf)?;
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let mut end = lf.checked_add(1)?;
    let parsed = Line::parse(line).ok()?;
    if parsed.verb() == b"MSG" {
        let n = crate::msnp::wire::line::parse_u32(parsed.args().last()?)?;
        let n = usize::try_from(n).ok()?;
        let p = rest.get(end..end.checked_add(n)?)?;
        end = end.checked_add(n)?;
        return Some((line, Some(p), end));
    }
    Some((line, None, end))
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || hay.windows(needle.len()).any(|w| w == needle)
}

#[derive(Clone, Copy)]
struct Tracked {
    id: MessageId,
    ack: AckMode,
    outcomes: u32,
    last: Option<Outcome>,
}

struct Ctx<'e> {
    expected: &'e [u8],
    inbound: &'e [u8],
    verified: usize,
    address: &'e [u8],
    cookie: &'e [u8],
    counts: Counts,
    tracked: [Option<Tracked>; TRACKED],
    closed: Option<CloseReason>,
    conv: Option<ConversationId>,
}

impl Ctx<'_> {
    fn track(&mut self, id: MessageId, ack: AckMode) -> Result<(), Failure> {
        let slot = self
            .tracked
            .iter_mut()
            .find(|t| t.is_none())
            .ok_or(Failure::new("too many messages to track"))?;
        *slot = Some(Tracked {
            id,
            ack,
            outcomes: 0,
            last: None,
        });
        Ok(())
    }
}

/// Drain transmit (comparing with the recording) and events (answering setup requests).
fn pump(c: &mut Conversations<'_>, now: Instant, x: &mut Ctx<'_>) -> Result<(), Failure> {
    for _ in 0..64 {
        let mut progressed = false;
        let mut out = [0u8; 512];
        while let Some(t) = c.poll_transmit(&mut out) {
            progressed = true;
            let got = out.get(..t.len).unwrap_or(&[]);
            let end = x.verified.saturating_add(got.len());
            let want = x
                .expected
                .get(x.verified..end)
                .ok_or(Failure::new("client sent more than the recording"))?;
            check(want == got, "client bytes differ from the recording")?;
            x.verified = end;
        }
        let mut setup: Option<(ConversationId, bool)> = None;
        while let Some(ev) = c.poll_event() {
            progressed = true;
            match ev {
                SbEvent::NeedSwitchboard { conversation } => {
                    setup = Some((conversation, true));
                    break;
                }
                SbEvent::Connect {
                    conversation,
                    host,
                    port,
                } => {
                    check(
                        x.address.starts_with(host.as_bytes()),
                        "connect host differs from the recording",
                    )?;
                    check(port != 0, "connect port")?;
                    setup = Some((conversation, false));
                    break;
                }
                SbEvent::Ready { .. } => x.counts.ready += 1,
                SbEvent::Joined { .. } => x.counts.joined += 1,
                SbEvent::Left { .. } => x.counts.left += 1,
                SbEvent::Message { text, sender, .. } => {
                    check(
                        contains(x.inbound, text),
                        "message text not in the recording",
                    )?;
                    check(contains(x.inbound, sender), "sender not in the recording")?;
                    x.counts.messages += 1;
                }
                SbEvent::Typing { .. } => x.counts.typing += 1,
                SbEvent::UnsupportedContent { .. } => x.counts.unsupported += 1,
                SbEvent::InviteFailed { .. } => x.counts.invite_failed += 1,
                SbEvent::Timeout { .. } => return Err(Failure::new("unexpected timeout")),
                SbEvent::MessageSkipped { .. } => {
                    return Err(Failure::new("a recorded MSG was skipped"))
                }
                SbEvent::Outcome {
                    message, outcome, ..
                } => {
                    let t = x
                        .tracked
                        .iter_mut()
                        .flatten()
                        .find(|t| t.id == message)
                        .ok_or(Failure::new("outcome for an unknown message"))?;
                    t.outcomes += 1;
                    t.last = Some(outcome);
                    if outcome == Outcome::Delivered {
                        x.counts.delivered += 1;
                    }
                }
                SbEvent::Closed { reason, .. } => {
                    check(x.closed.is_none(), "closed twice")?;
                    x.closed = Some(reason);
                }
            }
        }
        match setup {
            Some((conv, true)) => {
                c.switchboard_ready(now, conv, x.address, x.cookie)
                    .map_err(|_| Failure::new("switchboard_ready refused"))?;
            }
            Some((conv, false)) => {
                c.handle_connected(now, conv)
                    .map_err(|_| Failure::new("handle_connected refused"))?;
            }
            None if !progressed => return Ok(()),
            None => {}
        }
    }
    Err(Failure::new("pump does not settle"))
}

/// Count what the recorded server stream should produce.
fn expected_counts(inbound: &[u8], me: &[u8]) -> Counts {
    let mut k = Counts::default();
    let mut r = FrameReader::<RX_CAP>::new(Direction::ServerToClient);
    let mut rest = inbound;
    loop {
        let n = r.push(rest);
        rest = rest.get(n..).unwrap_or(&[]);
        while let Some(f) = r.next_frame() {
            let Ok(f) = f else { continue };
            let Ok(cmd) = ServerCommand::parse(&f) else {
                continue;
            };
            match cmd {
                ServerCommand::UsrOk { .. } => k.ready += 1,
                ServerCommand::Ans { .. } => k.ready += 1,
                ServerCommand::Iro { .. } => k.joined += 1,
                ServerCommand::Joi { handle, .. } if !handle.eq_ignore_ascii_case(me) => {
                    k.joined += 1
                }
                ServerCommand::Bye { .. } => k.left += 1,
                ServerCommand::Error { .. } => k.invite_failed += 1,
                ServerCommand::Msg { payload, .. } => match message::classify(payload) {
                    message::Incoming::Text { .. } => k.messages += 1,
                    message::Incoming::Typing { .. } => k.typing += 1,
                    _ => k.unsupported += 1,
                },
                _ => {}
            }
        }
        if n == 0 || rest.is_empty() {
            break;
        }
    }
    k
}

fn address_of(description: &str) -> &[u8] {
    let d = description.strip_prefix("Switchboard ").unwrap_or("");
    let end = d.find(',').unwrap_or(d.len());
    d.get(..end).unwrap_or("").as_bytes()
}

/// Replay one switchboard connection of a transcript; return what it saw.
pub fn replay(t: &Transcript<'_>, conn: &str, split: Split) -> Result<Counts, Failure> {
    let out = Stream::of(t, conn, Dir::C2s)?;
    let inb = Stream::of(t, conn, Dir::S2c)?;
    let expected = out.bytes();
    let (line, _, _) = client_at(expected, 0).ok_or(Failure::new("no first client line"))?;
    let first = ClientCommand::parse_parts(line, None)
        .map_err(|_| Failure::new("first client line unparsable"))?;
    let (me, cookie, session, caller) = match first {
        ClientCommand::UsrSb { handle, cookie, .. } => (handle, cookie, &b""[..], true),
        ClientCommand::Ans {
            handle,
            cookie,
            session,
            ..
        } => (handle, cookie, session, false),
        _ => return Err(Failure::new("switchboard does not start with USR or ANS")),
    };
    // The first CAL right after USR is the conversation's first invitee.
    let mut first_invitee = None;
    if caller {
        let (_, _, l) = client_at(expected, 0).ok_or(Failure::new("USR"))?;
        if let Some((line, _, _)) = client_at(expected, l) {
            if let Ok(ClientCommand::Cal { handle, .. }) = ClientCommand::parse_parts(line, None) {
                first_invitee = Some(handle);
            }
        }
    }
    let address = address_of(t.description(conn).unwrap_or(""));
    let mut slots = [ConversationSlot::EMPTY];
    let mut msgs = [
        MessageSlot::EMPTY,
        MessageSlot::EMPTY,
        MessageSlot::EMPTY,
        MessageSlot::EMPTY,
        MessageSlot::EMPTY,
        MessageSlot::EMPTY,
    ];
    let mut pool = [0u8; POOL_BYTES];
    let mut large = [0u8; RX_CAP];
    let mut c = Conversations::new(
        SbConfig::default(),
        me,
        &mut slots,
        &mut msgs,
        &mut pool,
        &mut large,
    )
    .map_err(|_| Failure::new("cannot make the machine"))?;
    let mut x = Ctx {
        expected,
        inbound: inb.bytes(),
        verified: 0,
        address,
        cookie,
        counts: Counts::default(),
        tracked: [None; TRACKED],
        closed: None,
        conv: None,
    };
    let start = t
        .chunks
        .iter()
        .find(|ch| ch.conn == conn)
        .map_or(0, |ch| ch.t_ms);
    let mut now = Instant::from_millis(start);
    let conv = if caller {
        c.open(now, first_invitee)
    } else {
        c.accept_invitation(now, session, address, cookie)
    }
    .map_err(|_| Failure::new("cannot start the conversation"))?;
    x.conv = Some(conv);
    pump(&mut c, now, &mut x)?;
    let mut c2s_end = 0usize;
    for ch in t.chunks.iter().filter(|ch| ch.conn == conn) {
        let at = Instant::from_millis(ch.t_ms);
        if at > now {
            now = at;
        }
        if c.poll_timeout().is_some_and(|d| d <= now) {
            c.handle_timeout(now);
            pump(&mut c, now, &mut x)?;
        }
        match ch.dir {
            Dir::S2c => {
                let pieces = match split {
                    Split::Whole => ch.bytes.len().max(1),
                    Split::Bytes => 1,
                };
                for piece in ch.bytes.chunks(pieces) {
                    let mut rest = piece;
                    let mut guard = 0;
                    while !rest.is_empty() {
                        let n = c
                            .handle_input(now, conv, rest)
                            .map_err(|_| Failure::new("handle_input refused"))?;
                        rest = rest.get(n..).unwrap_or(&[]);
                        pump(&mut c, now, &mut x)?;
                        guard += 1;
                        check(guard < 1000, "input never consumed")?;
                    }
                }
            }
            Dir::C2s => {
                c2s_end = c2s_end.saturating_add(ch.bytes.len());
                while x.verified < c2s_end {
                    let before = x.verified;
                    let (line, payload, _) = client_at(expected, x.verified)
                        .ok_or(Failure::new("recorded client command unreadable"))?;
                    let cmd = ClientCommand::parse_parts(line, payload)
                        .map_err(|_| Failure::new("recorded client command unparsable"))?;
                    act(&mut c, now, conv, cmd, &mut x)?;
                    pump(&mut c, now, &mut x)?;
                    check(
                        x.verified > before,
                        "client did not produce the recorded command",
                    )?;
                }
            }
        }
    }
    // Every switchboard recording ends with the server closing the connection.
    if x.closed.is_none() {
        c.handle_closed(now, conv)
            .map_err(|_| Failure::new("handle_closed refused"))?;
        pump(&mut c, now, &mut x)?;
    }
    check(
        x.verified == expected.len(),
        "client sent less than the recording",
    )?;
    check(
        matches!(x.closed, Some(CloseReason::Left | CloseReason::Empty)),
        "conversation did not close in order",
    )?;
    for tr in x.tracked.iter().flatten() {
        check(tr.outcomes == 1, "a message has not exactly one outcome")?;
        let want = match tr.ack {
            AckMode::Acknowledged | AckMode::Data => Outcome::Delivered,
            _ => Outcome::Sent,
        };
        check(tr.last == Some(want), "wrong outcome")?;
    }
    let mut want = expected_counts(inb.bytes(), me);
    want.delivered = x
        .tracked
        .iter()
        .flatten()
        .filter(|t| matches!(t.ack, AckMode::Acknowledged | AckMode::Data))
        .count() as u32; // at most TRACKED: fits.
    check(x.counts == want, "event counts differ from the recording")?;
    Ok(x.counts)
}

fn act(
    c: &mut Conversations<'_>,
    now: Instant,
    conv: ConversationId,
    cmd: ClientCommand<'_>,
    x: &mut Ctx<'_>,
) -> Result<(), Failure> {
    match cmd {
        ClientCommand::Cal { handle, .. } => {
            c.invite(now, conv, handle)
                .map_err(|_| Failure::new("invite refused"))?;
        }
        ClientCommand::Out { .. } => {
            c.leave(now, conv)
                .map_err(|_| Failure::new("leave refused"))?;
        }
        ClientCommand::Msg { ack, payload, .. } => match message::classify(payload) {
            message::Incoming::Typing { .. } => {
                let sent = c
                    .send_typing_with(now, conv, ack)
                    .map_err(|_| Failure::new("typing refused"))?;
                check(sent, "typing not sent")?;
            }
            message::Incoming::Text { body, format, .. } => {
                let f = match format {
                    Some(v) => Some(TextFormat::parse(v).ok_or(Failure::new("bad format"))?),
                    None => None,
                };
                let id = c
                    .send_message_with(now, conv, body, ack, f.as_ref())
                    .map_err(|_| Failure::new("send_message refused"))?;
                x.track(id, ack)?;
            }
            _ => return Err(Failure::new("recorded MSG of an unsupported type")),
        },
        _ => return Err(Failure::new("recorded client command has no user action")),
    }
    Ok(())
}

/// Replay every switchboard connection of `ts`, whole and byte by byte.
pub fn run(ts: &[Transcript<'_>], r: &mut impl Reporter) {
    for t in ts {
        for (conn, _) in t.connections {
            if !t.is_switchboard(conn) {
                continue;
            }
            for (label, split) in [("whole", Split::Whole), ("bytes", Split::Bytes)] {
                let mut name = Name::new();
                name.push(t.name);
                name.push("/");
                name.push(conn);
                name.push("/");
                name.push(label);
                r.case(SUITE, name.as_str(), replay(t, conn, split).map(|_| ()));
            }
        }
    }
}

/// A case name in a fixed buffer.
struct Name {
    buf: [u8; 96],
    len: usize,
}

impl Name {
    fn new() -> Self {
        Name {
            buf: [0; 96],
            len: 0,
        }
    }
    fn push(&mut self, s: &str) {
        for &b in s.as_bytes() {
            if let Some(d) = self.buf.get_mut(self.len) {
                *d = b;
                self.len += 1;
            }
        }
    }
    fn as_str(&self) -> &str {
        core::str::from_utf8(self.buf.get(..self.len).unwrap_or(&[])).unwrap_or("?")
    }
}

// ---------------------------------------------------------------------------------------------
// Simulated-clock scenarios.

const ME: &[u8] = b"tv@example.com";
const BOB: &[u8] = b"bob@example.com";
const MSG_SLOTS: usize = 12;

/// A test harness: one machine, a fake clock, captured output and events.
pub struct Harness<'s> {
    /// The machine under test.
    pub c: Conversations<'s>,
    /// The fake clock.
    pub now: Instant,
    /// Bytes written since the last [`Harness::take_tx`].
    pub tx: [u8; 4096],
    /// Length of `tx`.
    pub tx_len: usize,
    /// Outcomes seen, by message: `(id, outcome, count)`.
    pub outcomes: [Option<(MessageId, Outcome, u32)>; 32],
    /// Close reason seen.
    pub closed: Option<CloseReason>,
    /// Number of `Closed` events.
    pub closed_count: u32,
    /// Timeouts seen: (verb, had trid).
    pub timeouts: u32,
    /// Invite failures seen (last reason).
    pub invite_failed: Option<InviteFailure>,
    /// Unsupported contents seen and whether declined.
    pub unsupported: Option<bool>,
    /// Typing events seen.
    pub typing: u32,
    /// Text messages seen.
    pub messages: u32,
    /// Oversized `MSG`s reported skipped.
    pub skipped: u32,
    /// Text messages seen when the conversation closed.
    pub messages_at_close: Option<u32>,
    /// The conversation waiting for a switchboard, if reported.
    pub need_sb: Option<ConversationId>,
    /// The conversation asking for a connection, if reported.
    pub connect: Option<ConversationId>,
}

impl<'s> Harness<'s> {
    /// Make a harness over caller storage with `cfg`.
    pub fn new(
        cfg: SbConfig,
        slots: &'s mut [ConversationSlot],
        msgs: &'s mut [MessageSlot],
        pool: &'s mut [u8],
        large: &'s mut [u8],
    ) -> Result<Self, Failure> {
        Ok(Harness {
            c: Conversations::new(cfg, ME, slots, msgs, pool, large)
                .map_err(|_| Failure::new("cannot make machine"))?,
            now: Instant::ZERO,
            tx: [0; 4096],
            tx_len: 0,
            outcomes: [None; 32],
            closed: None,
            closed_count: 0,
            timeouts: 0,
            invite_failed: None,
            unsupported: None,
            typing: 0,
            messages: 0,
            skipped: 0,
            messages_at_close: None,
            need_sb: None,
            connect: None,
        })
    }

    /// Drain transmit and events.
    pub fn pump(&mut self) {
        loop {
            let mut any = false;
            let mut out = [0u8; 700];
            while let Some(t) = self.c.poll_transmit(&mut out) {
                any = true;
                for &b in out.get(..t.len).unwrap_or(&[]) {
                    if let Some(d) = self.tx.get_mut(self.tx_len) {
                        *d = b;
                        self.tx_len += 1;
                    }
                }
            }
            while let Some(ev) = self.c.poll_event() {
                any = true;
                match ev {
                    SbEvent::NeedSwitchboard { conversation } => self.need_sb = Some(conversation),
                    SbEvent::Connect { conversation, .. } => self.connect = Some(conversation),
                    SbEvent::Outcome {
                        message, outcome, ..
                    } => {
                        if let Some(e) = self
                            .outcomes
                            .iter_mut()
                            .flatten()
                            .find(|(m, _, _)| *m == message)
                        {
                            e.2 += 1;
                            e.1 = outcome;
                        } else if let Some(e) = self.outcomes.iter_mut().find(|e| e.is_none()) {
                            *e = Some((message, outcome, 1));
                        }
                    }
                    SbEvent::Closed { reason, .. } => {
                        self.closed = Some(reason);
                        self.closed_count += 1;
                        self.messages_at_close = Some(self.messages);
                    }
                    SbEvent::MessageSkipped { .. } => self.skipped += 1,
                    SbEvent::Timeout { .. } => self.timeouts += 1,
                    SbEvent::InviteFailed { reason, .. } => self.invite_failed = Some(reason),
                    SbEvent::UnsupportedContent { declined, .. } => {
                        self.unsupported = Some(declined)
                    }
                    SbEvent::Typing { .. } => self.typing += 1,
                    SbEvent::Message { .. } => self.messages += 1,
                    _ => {}
                }
            }
            if !any {
                break;
            }
        }
    }

    /// Return and forget the bytes written so far.
    pub fn take_tx(&mut self) -> ([u8; 4096], usize) {
        let r = (self.tx, self.tx_len);
        self.tx_len = 0;
        r
    }

    /// Query whether the bytes written so far contain `needle`.
    pub fn sent(&self, needle: &[u8]) -> bool {
        contains(self.tx.get(..self.tx_len).unwrap_or(&[]), needle)
    }

    /// Move the clock to `ms` and fire timers (repeatedly, as a caller would).
    pub fn advance_to(&mut self, ms: u64) {
        let target = Instant::from_millis(ms);
        while let Some(d) = self.c.poll_timeout() {
            if d > target {
                break;
            }
            self.now = d.max(self.now);
            self.c.handle_timeout(self.now);
            self.pump();
        }
        self.now = target;
        self.c.handle_timeout(target);
        self.pump();
    }

    /// Feed server bytes.
    pub fn feed(&mut self, conv: ConversationId, bytes: &[u8]) -> Result<(), Failure> {
        let mut rest = bytes;
        while !rest.is_empty() {
            let n = self
                .c
                .handle_input(self.now, conv, rest)
                .map_err(|_| Failure::new("input refused"))?;
            rest = rest.get(n..).unwrap_or(&[]);
            self.pump();
        }
        self.pump();
        Ok(())
    }

    /// Open a conversation with bob up to the `JOI` (if `join`), on the fake clock.
    pub fn open_to_bob(&mut self, join: bool) -> Result<ConversationId, Failure> {
        let conv = self
            .c
            .open(self.now, Some(BOB))
            .map_err(|_| Failure::new("open"))?;
        self.pump();
        check(self.need_sb == Some(conv), "NeedSwitchboard")?;
        self.c
            .switchboard_ready(self.now, conv, b"127.0.0.1:1864", b"c00k1e")
            .map_err(|_| Failure::new("ready"))?;
        self.pump();
        check(self.connect == Some(conv), "Connect")?;
        self.c
            .handle_connected(self.now, conv)
            .map_err(|_| Failure::new("connected"))?;
        self.pump();
        check(self.sent(b"USR 1 tv@example.com c00k1e\r\n"), "USR")?;
        self.feed(conv, b"USR 1 OK tv@example.com TV\r\n")?;
        check(self.sent(b"CAL 2 bob@example.com\r\n"), "CAL")?;
        self.feed(conv, b"CAL 2 RINGING 123\r\n")?;
        if join {
            self.feed(conv, b"JOI bob@example.com Bob\r\n")?;
        }
        Ok(conv)
    }

    /// Return the outcome count and last outcome of `id`.
    pub fn outcome(&self, id: MessageId) -> (u32, Option<Outcome>) {
        self.outcomes
            .iter()
            .flatten()
            .find(|(m, _, _)| *m == id)
            .map_or((0, None), |(_, o, n)| (*n, Some(*o)))
    }
}

fn storage() -> (
    [ConversationSlot; 2],
    [MessageSlot; MSG_SLOTS],
    [u8; POOL_BYTES],
    [u8; RX_CAP],
) {
    (
        [ConversationSlot::EMPTY, ConversationSlot::EMPTY],
        [
            MessageSlot::EMPTY,
            MessageSlot::EMPTY,
            MessageSlot::EMPTY,
            MessageSlot::EMPTY,
            MessageSlot::EMPTY,
            MessageSlot::EMPTY,
            MessageSlot::EMPTY,
            MessageSlot::EMPTY,
            MessageSlot::EMPTY,
            MessageSlot::EMPTY,
            MessageSlot::EMPTY,
            MessageSlot::EMPTY,
        ],
        [0; POOL_BYTES],
        [0; RX_CAP],
    )
}

type Scenario = fn(&mut Harness<'_>) -> Result<(), Failure>;

fn sc_open_timeout(h: &mut Harness<'_>) -> Result<(), Failure> {
    let conv =
        h.c.open(h.now, Some(BOB))
            .map_err(|_| Failure::new("open"))?;
    let m =
        h.c.send_message(h.now, conv, "queued")
            .map_err(|_| Failure::new("queue"))?;
    h.pump();
    h.advance_to(239_999);
    check(
        h.closed.is_none(),
        "closed before the open-conversation timeout",
    )?;
    h.advance_to(240_000);
    check(
        h.closed == Some(CloseReason::Timeout(TimeoutKind::OpenConversation)),
        "open-conversation timeout",
    )?;
    check(
        h.outcome(m) == (1, Some(Outcome::Failed(FailReason::Timeout))),
        "queued message timed out",
    )
}

fn sc_connect_timeout(h: &mut Harness<'_>) -> Result<(), Failure> {
    let conv =
        h.c.open(h.now, Some(BOB))
            .map_err(|_| Failure::new("open"))?;
    h.pump();
    h.c.switchboard_ready(h.now, conv, b"127.0.0.1:1864", b"k")
        .map_err(|_| Failure::new("ready"))?;
    h.pump();
    h.advance_to(29_999);
    check(h.closed.is_none(), "early connect timeout")?;
    h.advance_to(30_000);
    check(h.timeouts == 1, "Timeout event")?;
    check(
        h.closed == Some(CloseReason::Timeout(TimeoutKind::Connect)),
        "connect timeout",
    )
}

fn sc_usr_timeout(h: &mut Harness<'_>) -> Result<(), Failure> {
    let conv =
        h.c.open(h.now, Some(BOB))
            .map_err(|_| Failure::new("open"))?;
    h.pump();
    h.c.switchboard_ready(h.now, conv, b"127.0.0.1:1864", b"k")
        .map_err(|_| Failure::new("ready"))?;
    h.c.handle_connected(h.now, conv)
        .map_err(|_| Failure::new("conn"))?;
    h.pump();
    h.advance_to(30_000);
    check(
        h.timeouts == 1 && h.closed == Some(CloseReason::Timeout(TimeoutKind::Connect)),
        "USR timeout",
    )
}

fn sc_invite_timeout(h: &mut Harness<'_>) -> Result<(), Failure> {
    let conv = h.open_to_bob(false)?;
    let m =
        h.c.send_message(h.now, conv, "hi")
            .map_err(|_| Failure::new("queue"))?;
    h.pump();
    h.advance_to(59_999);
    check(h.invite_failed.is_none(), "early invite timeout")?;
    h.advance_to(60_000);
    check(
        h.invite_failed == Some(InviteFailure::Timeout),
        "invite timeout",
    )?;
    check(h.sent(b"OUT\r\n"), "OUT after the invite timeout")?;
    check(
        h.outcome(m) == (1, Some(Outcome::Failed(FailReason::Timeout))),
        "queued failed",
    )?;
    h.c.handle_closed(h.now, conv)
        .map_err(|_| Failure::new("closed"))?;
    h.pump();
    check(
        h.closed == Some(CloseReason::Timeout(TimeoutKind::Invite)),
        "closed for invite timeout",
    )
}

fn sc_queue_then_flush_and_ack(h: &mut Harness<'_>) -> Result<(), Failure> {
    let conv = h.open_to_bob(false)?;
    let a =
        h.c.send_message(h.now, conv, "one")
            .map_err(|_| Failure::new("q1"))?;
    let b =
        h.c.send_message(h.now, conv, "two")
            .map_err(|_| Failure::new("q2"))?;
    h.pump();
    check(!h.sent(b"MSG"), "sent before JOI")?;
    h.feed(conv, b"JOI bob@example.com Bob\r\n")?;
    check(
        h.sent(b"MSG 3 A 116\r\n") && h.sent(b"MSG 4 A 116\r\n"),
        "flushed after JOI in order",
    )?;
    h.feed(conv, b"ACK 3\r\nNAK 4\r\n")?;
    check(
        h.outcome(a) == (1, Some(Outcome::Delivered)),
        "ACK → Delivered",
    )?;
    check(
        h.outcome(b) == (1, Some(Outcome::Failed(FailReason::Nak))),
        "NAK → Failed",
    )?;
    h.feed(conv, b"ACK 3\r\n")?;
    check(h.outcome(a).0 == 1, "a second ACK is ignored")
}

fn sc_ack_timeout_and_nak_window(h: &mut Harness<'_>) -> Result<(), Failure> {
    let conv = h.open_to_bob(true)?;
    let a =
        h.c.send_message_with(h.now, conv, b"a", AckMode::Acknowledged, None)
            .map_err(|_| Failure::new("a"))?;
    let n =
        h.c.send_message_with(h.now, conv, b"n", AckMode::NakOnly, None)
            .map_err(|_| Failure::new("n"))?;
    let u =
        h.c.send_message_with(h.now, conv, b"u", AckMode::Unacknowledged, None)
            .map_err(|_| Failure::new("u"))?;
    h.pump();
    check(
        h.outcome(u) == (1, Some(Outcome::Sent)),
        "U is Sent at once",
    )?;
    h.advance_to(9_999);
    check(h.outcome(n).0 == 0, "N settled early")?;
    h.advance_to(10_000);
    check(
        h.outcome(n) == (1, Some(Outcome::Sent)),
        "N Sent after the window",
    )?;
    h.advance_to(30_000);
    check(
        h.outcome(a) == (1, Some(Outcome::Failed(FailReason::Timeout))),
        "A timed out",
    )
}

fn sc_cal_217_fails_queue(h: &mut Harness<'_>) -> Result<(), Failure> {
    let conv =
        h.c.open(h.now, Some(BOB))
            .map_err(|_| Failure::new("open"))?;
    let m =
        h.c.send_message(h.now, conv, "hello?")
            .map_err(|_| Failure::new("q"))?;
    h.pump();
    h.c.switchboard_ready(h.now, conv, b"127.0.0.1:1864", b"k")
        .map_err(|_| Failure::new("ready"))?;
    h.c.handle_connected(h.now, conv)
        .map_err(|_| Failure::new("conn"))?;
    h.pump();
    h.feed(conv, b"USR 1 OK tv@example.com TV\r\n217 2\r\n")?;
    check(
        h.invite_failed
            == Some(InviteFailure::Server(crate::msnp::wire::ServerErrorCode(
                217,
            ))),
        "InviteFailed 217",
    )?;
    check(
        h.outcome(m) == (1, Some(Outcome::Failed(FailReason::ContactOffline))),
        "ContactOffline",
    )?;
    check(
        h.c.send_message(h.now, conv, "x") == Err(SbError::NoParticipants),
        "nobody to send to",
    )
}

fn sc_typing_rate_limit(h: &mut Harness<'_>) -> Result<(), Failure> {
    let conv = h.open_to_bob(true)?;
    check(h.c.send_typing(h.now, conv) == Ok(true), "first typing")?;
    h.advance_to(4_999);
    check(h.c.send_typing(h.now, conv) == Ok(false), "rate limited")?;
    h.advance_to(5_000);
    check(
        h.c.send_typing(h.now, conv) == Ok(true),
        "after the interval",
    )?;
    h.pump();
    h.feed(conv, b"MSG bob@example.com Bob 88\r\nMIME-Version: 1.0\r\nContent-Type: text/x-msmsgscontrol\r\nTypingUser: bob@example.com\r\n\r\n\r\n")?;
    check(h.typing == 1, "typing received")
}

fn sc_limits(h: &mut Harness<'_>) -> Result<(), Failure> {
    let conv =
        h.c.open(h.now, Some(BOB))
            .map_err(|_| Failure::new("open"))?;
    for _ in 0..10 {
        h.c.send_message(h.now, conv, "x")
            .map_err(|_| Failure::new("q"))?;
    }
    check(
        h.c.send_message(h.now, conv, "x") == Err(SbError::QueueFull),
        "QueueFull",
    )?;
    h.c.open(h.now, None).map_err(|_| Failure::new("second"))?;
    check(
        h.c.open(h.now, None) == Err(SbError::TooManyConversations),
        "TooManyConversations",
    )?;
    h.c.leave(h.now, conv).map_err(|_| Failure::new("leave"))?;
    h.pump();
    let cancelled = h
        .outcomes
        .iter()
        .flatten()
        .filter(|(_, o, n)| *o == Outcome::Failed(FailReason::Cancelled) && *n == 1)
        .count();
    check(
        cancelled == 10 && h.closed == Some(CloseReason::Left),
        "leave cancels the queue",
    )?;
    check(
        h.c.send_message(h.now, conv, "x") == Err(SbError::UnknownConversation),
        "stale id",
    )
}

fn sc_split_long_message(h: &mut Harness<'_>) -> Result<(), Failure> {
    let conv = h.open_to_bob(true)?;
    h.take_tx();
    // 1500 two-byte characters: 3000 bytes, three parts.
    let mut text = [0u8; 3000];
    for ch in text.chunks_mut(2) {
        ch.copy_from_slice("é".as_bytes());
    }
    let s = core::str::from_utf8(&text).map_err(|_| Failure::new("utf8"))?;
    let m =
        h.c.send_message(h.now, conv, s)
            .map_err(|_| Failure::new("send"))?;
    h.pump();
    check(
        h.sent(b"MSG 3 A ") && h.sent(b"MSG 4 A ") && !h.sent(b"MSG 5 A "),
        "two parts",
    )?;
    // Every part is at most 1664 bytes and ends on a character boundary.
    let (tx, len) = h.take_tx();
    let bytes = tx.get(..len).unwrap_or(&[]);
    let mut pos = 0;
    let mut parts = 0;
    while let Some((line, Some(p), l)) = client_at(bytes, pos) {
        check(line.starts_with(b"MSG"), "MSG")?;
        check(p.len() <= 1664, "part over 1664 bytes")?;
        let body = crate::msnp::wire::mime::MimeMessage::parse(p).body();
        check(
            core::str::from_utf8(body).is_ok(),
            "part splits a character",
        )?;
        parts += 1;
        pos += l;
    }
    check(parts == 2, "two MSG parts")?;
    h.feed(conv, b"ACK 3\r\n")?;
    check(h.outcome(m).0 == 0, "outcome after one part")?;
    h.feed(conv, b"ACK 4\r\n")?;
    check(
        h.outcome(m) == (1, Some(Outcome::Delivered)),
        "one combined outcome",
    )
}

fn sc_pool_full(h: &mut Harness<'_>) -> Result<(), Failure> {
    // Not joined yet: every part waits in the pool.
    let conv = h.open_to_bob(false)?;
    let mut text = [0u8; 3000];
    for ch in text.chunks_mut(2) {
        ch.copy_from_slice("é".as_bytes());
    }
    let s = core::str::from_utf8(&text).map_err(|_| Failure::new("utf8"))?;
    let a =
        h.c.send_message(h.now, conv, s)
            .map_err(|_| Failure::new("first"))?;
    let b =
        h.c.send_message(h.now, conv, s)
            .map_err(|_| Failure::new("second"))?;
    // Two messages of two parts (about 3.2 KiB each) leave too little of the 8 KiB pool.
    check(
        h.c.send_message(h.now, conv, s) == Err(SbError::PoolFull),
        "third refused with PoolFull",
    )?;
    h.feed(conv, b"JOI bob@example.com Bob\r\n")?;
    // Written to the switchboard: their pool bytes are free again.
    let c =
        h.c.send_message(h.now, conv, s)
            .map_err(|_| Failure::new("third after the pool drained"))?;
    h.pump();
    for trid in 3..9u32 {
        let mut line = [0u8; 16];
        let mut w = TestLine(&mut line, 0);
        w.put(b"ACK ");
        w.num(trid);
        w.put(b"\r\n");
        let n = w.1;
        h.feed(conv, line.get(..n).unwrap_or(&[]))?;
    }
    for m in [a, b, c] {
        check(
            h.outcome(m) == (1, Some(Outcome::Delivered)),
            "each message delivered once",
        )?;
    }
    Ok(())
}

/// A tiny writer for test lines.
struct TestLine<'b>(&'b mut [u8], usize);

impl TestLine<'_> {
    fn put(&mut self, b: &[u8]) {
        for &c in b {
            if let Some(d) = self.0.get_mut(self.1) {
                *d = c;
                self.1 += 1;
            }
        }
    }
    fn num(&mut self, v: u32) {
        let mut digits = [0u8; 10];
        let mut n = 0;
        let mut v = v;
        loop {
            if let Some(d) = digits.get_mut(n) {
                *d = b'0' + (v % 10) as u8; // a decimal digit
            }
            n += 1;
            v /= 10;
            if v == 0 || n == digits.len() {
                break;
            }
        }
        for i in (0..n).rev() {
            let c = digits.get(i).copied().unwrap_or(b'0');
            self.put(&[c]);
        }
    }
}

fn sc_oversized_msg(h: &mut Harness<'_>) -> Result<(), Failure> {
    let conv = h.open_to_bob(true)?;
    h.feed(conv, b"MSG bob@example.com Bob 3000\r\n")?;
    let filler = [b'x'; 1000];
    for _ in 0..3 {
        h.feed(conv, &filler)?;
    }
    h.feed(
        conv,
        b"MSG bob@example.com Bob 67\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nafter",
    )?;
    check(h.skipped == 1, "the oversized MSG is reported")?;
    check(h.messages == 1, "the next message still arrives")?;
    check(h.closed.is_none(), "the conversation goes on")?;
    check(
        h.c.is_open(conv).unwrap_or(false),
        "still open after the skip",
    )
}

fn sc_close_after_buffered(h: &mut Harness<'_>) -> Result<(), Failure> {
    let conv = h.open_to_bob(true)?;
    let one = b"MSG bob@example.com Bob 67\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nhello";
    let mut two = [0u8; 2 * 98];
    let (a, b) = two.split_at_mut(one.len());
    a.copy_from_slice(one);
    b.get_mut(..one.len())
        .ok_or(Failure::new("buffer"))?
        .copy_from_slice(one);
    let both = two.get(..2 * one.len()).unwrap_or(&[]);
    // Both frames are taken (one event waits, the other frame stays buffered), then the
    // connection drops before anything was polled.
    let n =
        h.c.handle_input(h.now, conv, both)
            .map_err(|_| Failure::new("input"))?;
    check(n == both.len(), "both frames buffered")?;
    h.c.handle_closed(h.now, conv)
        .map_err(|_| Failure::new("closed"))?;
    h.pump();
    check(h.messages == 2, "both messages reported")?;
    check(
        h.messages_at_close == Some(2) && h.closed == Some(CloseReason::ConnectionLost),
        "closed after the buffered messages",
    )
}

fn sc_decline_invitation(h: &mut Harness<'_>) -> Result<(), Failure> {
    let conv = h.open_to_bob(true)?;
    let p = b"MIME-Version: 1.0\r\nContent-Type: text/x-msmsgsinvite; charset=UTF-8\r\n\r\nApplication-Name: File Transfer\r\nInvitation-Command: INVITE\r\nInvitation-Cookie: 77\r\n\r\n";
    let cmd = ServerCommand::Msg {
        sender: BOB,
        name: b"Bob",
        payload: p,
    };
    let mut full = [0u8; 512];
    let k = cmd.emit(&mut full).map_err(|_| Failure::new("emit"))?;
    h.feed(conv, full.get(..k).unwrap_or(&[]))?;
    check(h.unsupported == Some(true), "UnsupportedContent declined")?;
    check(
        h.sent(b"Invitation-Command: CANCEL\r\nInvitation-Cookie: 77\r\n"),
        "decline sent",
    )?;
    h.feed(
        conv,
        b"MSG bob@example.com Bob 45\r\nMIME-Version: 1.0\r\nContent-Type: image/gif\r\n\r\n",
    )?;
    check(h.unsupported == Some(false), "other content reported")?;
    check(h.c.is_open(conv) == Ok(true), "conversation survives")
}

fn sc_answer_side(h: &mut Harness<'_>) -> Result<(), Failure> {
    let conv =
        h.c.accept_invitation(h.now, b"s1d", b"127.0.0.1:1864", b"ck")
            .map_err(|_| Failure::new("accept"))?;
    let m =
        h.c.send_message(h.now, conv, "early")
            .map_err(|_| Failure::new("q"))?;
    h.pump();
    check(h.connect == Some(conv), "Connect")?;
    h.c.handle_connected(h.now, conv)
        .map_err(|_| Failure::new("conn"))?;
    h.pump();
    check(h.sent(b"ANS 1 tv@example.com ck s1d\r\n"), "ANS")?;
    h.feed(
        conv,
        b"IRO 1 1 2 bob@example.com Bob\r\nIRO 1 2 2 carol@example.com Carol\r\n",
    )?;
    check(!h.sent(b"MSG"), "no MSG before ANS OK")?;
    h.feed(conv, b"ANS 1 OK\r\n")?;
    check(h.sent(b"MSG 2 A "), "flushed after ANS OK")?;
    h.feed(conv, b"BYE bob@example.com\r\n")?;
    check(h.c.participants(conv) == Ok(1), "carol remains")?;
    check(!h.sent(b"OUT"), "conversation continues")?;
    h.feed(conv, b"ACK 2\r\nBYE carol@example.com 1\r\n")?;
    check(h.outcome(m) == (1, Some(Outcome::Delivered)), "delivered")?;
    check(h.sent(b"OUT\r\n"), "OUT when everyone left")?;
    h.c.handle_closed(h.now, conv)
        .map_err(|_| Failure::new("closed"))?;
    h.pump();
    check(h.closed == Some(CloseReason::Empty), "closed empty")?;
    h.c.set_ims_off(true);
    check(
        h.c.accept_invitation(h.now, b"s", b"127.0.0.1:1864", b"c") == Err(SbError::ImsOff),
        "refused while IMS off",
    )
}

/// Drop the connection after `step` server lines of a scripted conversation, with messages
/// sent at several points; every message must end with exactly one outcome.
pub fn drop_at(step: usize, h: &mut Harness<'_>) -> Result<(), Failure> {
    const SCRIPT: [&[u8]; 6] = [
        b"USR 1 OK tv@example.com TV\r\n",
        b"CAL 2 RINGING 9\r\n",
        b"JOI bob@example.com Bob\r\n",
        b"ACK 4\r\n",
        b"MSG bob@example.com Bob 70\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nyo",
        b"ACK 6\r\n",
    ];
    let mut ids = [None; 8];
    let mut k = 0usize;
    let mut send = |h: &mut Harness<'_>, conv, mode| -> Result<(), Failure> {
        if let Ok(id) = h.c.send_message_with(h.now, conv, b"m", mode, None) {
            if let Some(s) = ids.get_mut(k) {
                *s = Some(id);
                k += 1;
            }
        }
        Ok(())
    };
    let conv =
        h.c.open(h.now, Some(BOB))
            .map_err(|_| Failure::new("open"))?;
    send(h, conv, AckMode::Acknowledged)?;
    h.pump();
    if step == 0 {
        h.c.switchboard_failed(h.now, conv, None)
            .map_err(|_| Failure::new("failed"))?;
    } else {
        h.c.switchboard_ready(h.now, conv, b"127.0.0.1:1864", b"k")
            .map_err(|_| Failure::new("ready"))?;
        h.pump();
        if step > 1 {
            h.c.handle_connected(h.now, conv)
                .map_err(|_| Failure::new("conn"))?;
            h.pump();
        }
        for (i, line) in SCRIPT.iter().enumerate() {
            if i.saturating_add(2) > step {
                break;
            }
            h.feed(conv, line)?;
            send(
                h,
                conv,
                if i % 2 == 0 {
                    AckMode::Acknowledged
                } else {
                    AckMode::NakOnly
                },
            )?;
            h.pump();
        }
        h.c.handle_closed(h.now, conv)
            .map_err(|_| Failure::new("closed"))?;
    }
    h.pump();
    h.advance_to(h.now.as_millis().saturating_add(120_000));
    check(h.closed_count == 1, "exactly one Closed")?;
    for id in ids.iter().flatten() {
        check(h.outcome(*id).0 == 1, "message without exactly one outcome")?;
    }
    Ok(())
}

/// Run the simulated-clock scenarios and the connection-drop sweep.
pub fn run_scenarios(r: &mut impl Reporter) {
    const SCENARIOS: &[(&str, Scenario)] = &[
        ("open_conversation_timeout_fails_queue", sc_open_timeout),
        ("connect_timeout_closes", sc_connect_timeout),
        ("usr_timeout_closes", sc_usr_timeout),
        ("invite_timeout_leaves", sc_invite_timeout),
        ("queued_until_joi_then_ack_nak", sc_queue_then_flush_and_ack),
        ("ack_timeout_and_nak_window", sc_ack_timeout_and_nak_window),
        (
            "cal_217_fails_queue_contact_offline",
            sc_cal_217_fails_queue,
        ),
        ("typing_rate_limited", sc_typing_rate_limit),
        ("queue_and_conversation_limits", sc_limits),
        ("long_message_split_one_outcome", sc_split_long_message),
        (
            "invitation_declined_unsupported_reported",
            sc_decline_invitation,
        ),
        ("answer_side_iro_ans_bye", sc_answer_side),
        ("message_pool_full_refused_then_reused", sc_pool_full),
        ("oversized_msg_skipped_and_reported", sc_oversized_msg),
        (
            "close_reports_buffered_frames_first",
            sc_close_after_buffered,
        ),
    ];
    for (name, f) in SCENARIOS {
        let (mut slots, mut msgs, mut pool, mut large) = storage();
        let res = Harness::new(
            SbConfig::default(),
            &mut slots,
            &mut msgs,
            &mut pool,
            &mut large,
        )
        .and_then(|mut h| f(&mut h));
        r.case(SUITE, name, res);
    }
    for step in 0..9 {
        let (mut slots, mut msgs, mut pool, mut large) = storage();
        let res = Harness::new(
            SbConfig::default(),
            &mut slots,
            &mut msgs,
            &mut pool,
            &mut large,
        )
        .and_then(|mut h| drop_at(step, &mut h));
        let mut name = Name::new();
        name.push("drop_at_step_");
        name.push(match step {
            0 => "0",
            1 => "1",
            2 => "2",
            3 => "3",
            4 => "4",
            5 => "5",
            6 => "6",
            7 => "7",
            _ => "8",
        });
        r.case(SUITE, name.as_str(), res);
    }
}
