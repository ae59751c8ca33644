//! Notification-session replays of recorded Escargot sessions (host and guest run the same code).
//!
//! For every notification-server connection of every transcript, an [`NsSession`] is driven with
//! the recorded server bytes (at the recorded times) and with the user actions the recorded client
//! took, derived from the recorded client commands themselves (`CHG` → `set_status`, `ADD` →
//! `add_contact`, `PNG` → `ping`, …). Login steps (`VER`, `CVR`, `INF`, `USR`) and the first `SYN`
//! are not actions: the session must produce them by itself. Login answers are taken from the
//! recorded `USR … S` line and handed in through `provide_login_answer` (the shim path).
//!
//! Checks per connection (`<transcript>/<connection>/<check>`):
//!
//! - `client-bytes`: every recorded client command our client would send comes out of the session
//!   byte for byte, in order, with the same TrIDs (or, for names, the same tokens once %-decoded:
//!   the recording escapes more characters than we do). Commands our client never sends — lower-case
//!   verbs, unknown verbs, blank lines, `ADD RL`, `CHG FLN`, invalid `GTC`/`BLP` values, `PAG` to
//!   a server without paging, an MSNP8 `CHG` without the client id, names over the limit — must be
//!   refused by the matching API call (or have none); TrIDs are then realigned.
//! - `events`: the session reports one `Presence` per `ILN`/`NLN`, one `ContactOffline` per `FLN`,
//!   one `AddedBy` per `ADD 0 RL`, `SignedIn` when the server sent `USR … OK`, and `LoginFailed`
//!   with `VersionRefused` / `AuthFailed` when the server refused the version or the login.
//! - `timeouts`: after the recording, every request still waiting times out into an event, and only
//!   requests the server never answered do (Escargot leaves `FND`, `PAG`, `QRY` unanswered).
//! - `split`: feeding the server bytes one at a time gives the same output and events.
//!
//! Connections whose recorded `VER` offers something our client never offers (`MSNP9`, `MSNP1`,
//! lower case, garbage) are replayed with the default configuration instead and only the
//! `events` check applies (the server's refusal must come out as `VersionRefused`).

use super::transcript::{Dir, Transcript};
use super::{check, Failure, Reporter};
use crate::auth::MD5_HEX_LEN;
use crate::msnp::ns::{
    version_range, Blp, Contact, Group, Gtc, NsConfig, NsError, NsEvent, NsSession, Phase, Phone,
};
use crate::msnp::wire::{
    escape, ClientCommand, Direction, Frame, FrameReader, ListKind, ProtocolVersion, ServerCommand,
    TrId,
};
use crate::time::{Duration, Instant};
use crate::wtvp::login::LoginAnswer;
use core::fmt::Write as _;

const SUITE: &str = "ns";
const OUT: usize = 8192;
const CONTACTS: usize = 16;
const GROUPS: usize = 8;
const NAMES: usize = crate::msnp::ns::contacts::name_pool_size(
    CONTACTS,
    GROUPS,
    CONTACTS * (129 + 129 + 3 * 32) + GROUPS * 61,
);

/// Fold text into an FNV-1a digest (for comparing event sequences without allocating).
struct Fnv(u64);

impl core::fmt::Write for Fnv {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        for &b in s.as_bytes() {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        Ok(())
    }
}

/// What one replay produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// Digest of the session's transmitted bytes.
    pub out_digest: u64,
    /// Digest of the events.
    pub ev_digest: u64,
    /// Recorded commands reproduced byte for byte.
    pub exact: u32,
    /// Recorded commands reproduced with the same tokens after %-decoding.
    pub equivalent: u32,
    /// Recorded commands our client refused (or has no API for).
    pub refused: u32,
    /// First mismatch, if any.
    pub mismatch: Option<&'static str>,
    /// Presence events / ILN+NLN frames seen.
    pub presence: (u32, u32),
    /// ContactOffline events / FLN frames.
    pub offline: (u32, u32),
    /// AddedBy events / `ADD 0 RL` frames.
    pub added_by: (u32, u32),
    /// SignedIn events / `USR … OK` frames.
    pub signed_in: (u32, u32),
    /// Whether the server refused the version / the login, and whether the session said so.
    pub refusal: (bool, bool),
    /// Whether the session ended up closed before the recording ended.
    pub closed: bool,
    /// Whether the default configuration was used (the recording's `VER` is not ours).
    pub robust: bool,
    /// Requests that timed out after the recording, and how many of them the server had answered.
    pub timed_out: (u32, u32),
}

/// Run the replays over every notification-server connection in `transcripts`.
pub fn run(transcripts: &[Transcript<'_>], r: &mut impl Reporter) {
    for t in transcripts {
        for &(conn, desc) in t.connections {
            if !desc.starts_with("Notification Server") {
                continue;
            }
            let whole = replay(t, conn, 0);
            let case = |what: &str, buf: &mut [u8; 96]| -> usize {
                let mut w = Cursor { buf, len: 0 };
                let _ = write!(w, "{}/{}/{}", t.name, conn, what);
                w.len
            };
            let mut name = [0u8; 96];
            let n = case("client-bytes", &mut name);
            report(
                r,
                &name,
                n,
                whole.and_then(|s| {
                    if s.robust {
                        return Ok(());
                    }
                    check(s.mismatch.is_none(), s.mismatch.unwrap_or(""))?;
                    check(
                        s.exact + s.equivalent > 0,
                        "at least one command reproduced",
                    )
                }),
            );
            let n = case("events", &mut name);
            report(r, &name, n, whole.and_then(|s| check_events(&s)));
            let n = case("timeouts", &mut name);
            report(
                r,
                &name,
                n,
                whole.and_then(|s| check(s.timed_out.1 == 0, "only unanswered requests time out")),
            );
            let n = case("split", &mut name);
            let split = replay(t, conn, 1);
            report(
                r,
                &name,
                n,
                match (whole, split) {
                    (Ok(a), Ok(b)) => check(
                        a.out_digest == b.out_digest && a.ev_digest == b.ev_digest,
                        "byte-at-a-time input gives the same output and events",
                    ),
                    (Err(e), _) | (_, Err(e)) => Err(e),
                },
            );
        }
    }
}

fn report(r: &mut impl Reporter, name: &[u8], n: usize, res: Result<(), Failure>) {
    let s = core::str::from_utf8(name.get(..n).unwrap_or(&[])).unwrap_or("ns");
    r.case(SUITE, s, res);
}

fn check_events(s: &Summary) -> Result<(), Failure> {
    if s.closed {
        check(s.presence.0 <= s.presence.1, "no extra presence events")?;
        check(s.offline.0 <= s.offline.1, "no extra offline events")?;
        check(s.added_by.0 <= s.added_by.1, "no extra added-by events")?;
    } else {
        check(
            s.presence.0 == s.presence.1,
            "one presence event per ILN/NLN",
        )?;
        check(s.offline.0 == s.offline.1, "one offline event per FLN")?;
        check(
            s.added_by.0 == s.added_by.1,
            "one added-by event per ADD 0 RL",
        )?;
    }
    if !s.robust {
        check(s.signed_in.0 == s.signed_in.1, "SignedIn iff USR OK")?;
    }
    check(
        !s.refusal.0 || s.refusal.1,
        "server refusal reported as LoginFailed",
    )
}

struct Cursor<'b> {
    buf: &'b mut [u8],
    len: usize,
}

impl core::fmt::Write for Cursor<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        for &b in s.as_bytes() {
            if let Some(d) = self.buf.get_mut(self.len) {
                *d = b;
                self.len += 1;
            }
        }
        Ok(())
    }
}

/// The login answer the recorded client sent (`USR t MD5|TWN S value`).
struct Answer {
    buf: [u8; 256],
    len: usize,
}

/// Replay one connection; `piece` 0 feeds recorded chunks, otherwise pieces of that size.
pub fn replay(t: &Transcript<'_>, conn: &str, piece: usize) -> Result<Summary, Failure> {
    // Pre-scan the client stream: offered versions, passport, CVR, client id, login answer.
    let mut versions = 0u16;
    let mut robust = false;
    let mut cvr0 = false;
    let mut cvr_sent = false;
    let mut passport_buf = [0u8; 129];
    let mut passport_len = 0usize;
    let mut client_id = 0u32;
    let mut answer = Answer {
        buf: [0; 256],
        len: 0,
    };
    let mut first = true;
    for_each_frame(t, conn, Dir::C2s, |f| {
        let Ok(cmd) = ClientCommand::parse(&f) else {
            if first {
                robust = true;
            }
            first = false;
            return;
        };
        match cmd {
            ClientCommand::Ver { dialects, .. } if first => {
                for d in dialects {
                    match ProtocolVersion::from_token(d) {
                        Some(v) if d.starts_with(b"MSNP") => versions |= 1 << v.number(),
                        _ if d == b"CVR0" => cvr0 = true,
                        _ => robust = true,
                    }
                }
            }
            ClientCommand::Cvr { .. } => cvr_sent = true,
            ClientCommand::UsrAuth {
                stage: b"I", value, ..
            } if passport_len == 0 => {
                let n = value.len().min(passport_buf.len());
                if let (Some(d), Some(s)) = (passport_buf.get_mut(..n), value.get(..n)) {
                    d.copy_from_slice(s);
                }
                passport_len = n;
            }
            ClientCommand::UsrAuth {
                stage: b"S", value, ..
            } if answer.len == 0 => {
                let n = value.len().min(answer.buf.len());
                if let (Some(d), Some(s)) = (answer.buf.get_mut(..n), value.get(..n)) {
                    d.copy_from_slice(s);
                }
                answer.len = n;
            }
            ClientCommand::Chg {
                client_id: Some(id),
                ..
            } if client_id == 0 => client_id = id,
            _ => {}
        }
        if first && !matches!(cmd, ClientCommand::Ver { .. }) {
            robust = true;
        }
        first = false;
    });
    if versions == 0 {
        robust = true;
    }
    let passport = core::str::from_utf8(passport_buf.get(..passport_len).unwrap_or(&[]))
        .ok()
        .filter(|p| !p.is_empty())
        .unwrap_or("nobody@example.com");
    let mut cfg = NsConfig::new("127.0.0.1", 1863, passport);
    cfg.initial_status = None;
    cfg.client_id = client_id;
    cfg.ping_interval = Duration::from_secs(600);
    if !robust {
        cfg.versions = versions;
        cfg.offer_cvr0 = cvr0;
        if !cvr_sent && versions & (1 << 8) == 0 {
            cfg.identity = None;
        }
    } else {
        cfg.versions = version_range(2, 8);
    }
    let mut contacts = [Contact::EMPTY; CONTACTS];
    let mut groups = [Group::EMPTY; GROUPS];
    // Room for every contact's longest strings: vectors must never hit the name pool's limit.
    let mut names = [0u8; NAMES];
    let mut s: NsSession<'_, 4096, 4096> =
        NsSession::new(cfg, &mut contacts, &mut groups, &mut names);
    let mut st = State {
        out: [0; OUT],
        out_len: 0,
        sum: Summary {
            out_digest: 0xcbf2_9ce4_8422_2325,
            ev_digest: 0xcbf2_9ce4_8422_2325,
            exact: 0,
            equivalent: 0,
            refused: 0,
            mismatch: None,
            presence: (0, 0),
            offline: (0, 0),
            added_by: (0, 0),
            signed_in: (0, 0),
            refusal: (false, false),
            closed: false,
            robust,
            timed_out: (0, 0),
        },
        answered: [0; 64],
        answered_len: 0,
        answer,
        connected: false,
        now: Instant::ZERO,
    };
    check(s.start(Instant::ZERO).is_ok(), "session starts")?;
    st.drain(&mut s);
    let mut creader = FrameReader::<4096>::new(Direction::ClientToServer);
    let mut sreader = FrameReader::<4096>::new(Direction::ServerToClient);
    for c in t.chunks.iter().filter(|c| c.conn == conn) {
        st.now = Instant::from_millis(c.t_ms);
        match c.dir {
            Dir::S2c => {
                // Count what the server sent, independently of the session.
                let mut rest = c.bytes;
                while !rest.is_empty() {
                    let n = sreader.push(rest);
                    rest = rest.get(n..).unwrap_or(&[]);
                    while let Some(f) = sreader.next_frame() {
                        match f {
                            Ok(f) => st.count_server(&f),
                            Err(e) if !e.is_recoverable() => break,
                            Err(_) => {}
                        }
                    }
                    if n == 0 || sreader.is_failed() {
                        break;
                    }
                }
                let step = if piece == 0 {
                    c.bytes.len().max(1)
                } else {
                    piece
                };
                for part in c.bytes.chunks(step) {
                    st.feed(&mut s, part);
                }
            }
            Dir::C2s => {
                if robust {
                    continue;
                }
                let mut rest = c.bytes;
                while !rest.is_empty() {
                    let n = creader.push(rest);
                    rest = rest.get(n..).unwrap_or(&[]);
                    while let Some(f) = creader.next_frame() {
                        match f {
                            Ok(f) => st.client_frame(&mut s, &f),
                            Err(e) => {
                                st.sum.refused += 1;
                                if !e.is_recoverable() {
                                    break;
                                }
                            }
                        }
                    }
                    if n == 0 || creader.is_failed() {
                        break;
                    }
                }
            }
        }
    }
    st.sum.closed = s.phase() == Phase::Closed;
    // Let every pending request expire.
    st.now = st.now + Duration::from_secs(31);
    for _ in 0..20 {
        s.handle_timeout(st.now);
        if !st.drain(&mut s) {
            break;
        }
    }
    Ok(st.sum)
}

struct State {
    out: [u8; OUT],
    out_len: usize,
    sum: Summary,
    answered: [u32; 64],
    answered_len: usize,
    answer: Answer,
    connected: bool,
    now: Instant,
}

fn for_each_frame(t: &Transcript<'_>, conn: &str, dir: Dir, mut f: impl FnMut(Frame<'_>)) {
    let d = match dir {
        Dir::C2s => Direction::ClientToServer,
        Dir::S2c => Direction::ServerToClient,
    };
    let mut r = FrameReader::<4096>::new(d);
    for mut chunk in t.chunks_of(conn, dir) {
        while !chunk.is_empty() {
            let n = r.push(chunk);
            chunk = chunk.get(n..).unwrap_or(&[]);
            while let Some(fr) = r.next_frame() {
                match fr {
                    Ok(fr) => f(fr),
                    Err(e) if !e.is_recoverable() => return,
                    Err(_) => {}
                }
            }
            if n == 0 {
                break;
            }
        }
    }
}

/// Decode a %-encoded wire name into `buf` as text.
fn decoded<'b>(wire: &[u8], buf: &'b mut [u8; 512]) -> Option<&'b str> {
    escape::decode_str(wire, buf).ok()
}

impl State {
    fn count_server(&mut self, f: &Frame<'_>) {
        let Ok(cmd) = ServerCommand::parse(f) else {
            return;
        };
        if let Some(t) = cmd.trid() {
            if !matches!(cmd, ServerCommand::Error { .. }) {
                if let Some(slot) = self.answered.get_mut(self.answered_len) {
                    *slot = t.get();
                    self.answered_len += 1;
                }
            }
        }
        match cmd {
            ServerCommand::Iln { .. } | ServerCommand::Nln { .. } => self.sum.presence.1 += 1,
            ServerCommand::Fln { .. } => self.sum.offline.1 += 1,
            ServerCommand::Add {
                trid: None,
                list: ListKind::Reverse,
                ..
            } => self.sum.added_by.1 += 1,
            ServerCommand::UsrOk { .. } => self.sum.signed_in.1 += 1,
            ServerCommand::Ver { dialects, .. } => {
                if dialects.clone().next() == Some(b"0") {
                    self.sum.refusal.0 = true;
                }
            }
            ServerCommand::Error { code, .. } if code.0 == 911 => self.sum.refusal.0 = true,
            _ => {}
        }
    }

    /// Feed server bytes, draining after every call. Returns when all bytes are taken.
    fn feed(&mut self, s: &mut NsSession<'_, 4096, 4096>, mut bytes: &[u8]) {
        let mut guard = 0u32;
        while !bytes.is_empty() && guard < 100_000 {
            guard += 1;
            let n = s.handle_input(self.now, bytes).unwrap_or(bytes.len());
            bytes = bytes.get(n..).unwrap_or(&[]);
            let had = self.drain(s);
            if n == 0 && !had {
                break;
            }
        }
        self.drain(s);
    }

    /// Drain transmit and events; answer `Connect` and `LoginAnswerNeeded`. True if anything came.
    fn drain(&mut self, s: &mut NsSession<'_, 4096, 4096>) -> bool {
        let mut any = false;
        loop {
            let room = self.out.get_mut(self.out_len..).unwrap_or(&mut []);
            let n = s.poll_transmit(room);
            if n == 0 {
                break;
            }
            any = true;
            if let Some(b) = self.out.get(self.out_len..self.out_len + n) {
                let mut h = Fnv(self.sum.out_digest);
                for &x in b {
                    h.0 = (h.0 ^ u64::from(x)).wrapping_mul(0x0100_0000_01b3);
                }
                self.sum.out_digest = h.0;
            }
            self.out_len += n;
        }
        enum Then {
            Nothing,
            Connect,
            Answer(bool),
        }
        loop {
            let then;
            {
                let Some(ev) = s.poll_event() else { break };
                any = true;
                let mut h = Fnv(self.sum.ev_digest);
                let _ = write!(h, "{ev:?}");
                self.sum.ev_digest = h.0;
                then = match ev {
                    NsEvent::Connect { .. } => Then::Connect,
                    NsEvent::LoginAnswerNeeded { mode, .. } => {
                        Then::Answer(mode == crate::wtvp::login::AnswerMode::Ticket)
                    }
                    NsEvent::Presence { .. } => {
                        self.sum.presence.0 += 1;
                        Then::Nothing
                    }
                    NsEvent::ContactOffline { .. } => {
                        self.sum.offline.0 += 1;
                        Then::Nothing
                    }
                    NsEvent::AddedBy { .. } => {
                        self.sum.added_by.0 += 1;
                        Then::Nothing
                    }
                    NsEvent::SignedIn { .. } => {
                        self.sum.signed_in.0 += 1;
                        Then::Nothing
                    }
                    NsEvent::LoginFailed {
                        reason: NsError::VersionRefused | NsError::AuthFailed(_),
                    } => {
                        self.sum.refusal.1 = true;
                        Then::Nothing
                    }
                    NsEvent::RequestTimedOut { trid, .. } => {
                        self.sum.timed_out.0 += 1;
                        if self
                            .answered
                            .get(..self.answered_len)
                            .unwrap_or(&[])
                            .contains(&trid.get())
                        {
                            self.sum.timed_out.1 += 1;
                        }
                        Then::Nothing
                    }
                    _ => Then::Nothing,
                };
            }
            match then {
                Then::Nothing => {}
                Then::Connect => {
                    if !self.connected {
                        self.connected = true;
                        s.handle_connected(self.now);
                    }
                }
                Then::Answer(ticket) => {
                    let a = self.answer.buf.get(..self.answer.len).unwrap_or(&[]);
                    let res = if ticket {
                        s.provide_login_answer(self.now, LoginAnswer::Ticket(a))
                    } else {
                        match <[u8; MD5_HEX_LEN]>::try_from(a) {
                            Ok(md5) => s.provide_login_answer(self.now, LoginAnswer::Md5(md5)),
                            Err(_) => Err(crate::msnp::ns::LocalError::BadArgument),
                        }
                    };
                    if res.is_err() {
                        s.login_answer_failed(self.now);
                    }
                }
            }
            // Transmit produced by answers goes to the output too.
            loop {
                let room = self.out.get_mut(self.out_len..).unwrap_or(&mut []);
                let n = s.poll_transmit(room);
                if n == 0 {
                    break;
                }
                if let Some(b) = self.out.get(self.out_len..self.out_len + n) {
                    for &x in b {
                        self.sum.out_digest =
                            (self.sum.out_digest ^ u64::from(x)).wrapping_mul(0x0100_0000_01b3);
                    }
                }
                self.out_len += n;
            }
        }
        any
    }

    /// Take `len` bytes off the front of the output.
    fn consume(&mut self, len: usize) {
        let len = len.min(self.out_len);
        self.out.copy_within(len..self.out_len, 0);
        self.out_len -= len;
    }

    fn mismatch(&mut self, what: &'static str) {
        if self.sum.mismatch.is_none() {
            self.sum.mismatch = Some(what);
        }
    }

    /// Compare one recorded client frame with the front of the session's output.
    fn expect(&mut self, f: &Frame<'_>) {
        let line_end: &[u8] = if f.bare_lf { b"\n" } else { b"\r\n" };
        let payload = f.payload.unwrap_or(&[]);
        let total = f.line.len() + line_end.len() + payload.len();
        let front = self.out.get(..self.out_len).unwrap_or(&[]);
        let exact = front.len() >= total
            && front.get(..f.line.len()) == Some(f.line)
            && front.get(f.line.len()..f.line.len() + line_end.len()) == Some(line_end)
            && front.get(f.line.len() + line_end.len()..total) == Some(payload);
        if exact {
            self.sum.exact += 1;
            self.consume(total);
            return;
        }
        // Same tokens once %-decoded (we escape fewer characters than the recording's driver).
        let Some(lf) = front.iter().position(|&b| b == b'\n') else {
            self.mismatch("the session did not send the recorded command");
            return;
        };
        let ours = front.get(..lf).unwrap_or(&[]);
        let ours = ours.strip_suffix(b"\r").unwrap_or(ours);
        let same = ours
            .split(|&b| b == b' ')
            .map(escape::decoded)
            .zip(f.line.split(|&b| b == b' ').map(escape::decoded))
            .all(|(a, b)| a.eq(b))
            && ours.split(|&b| b == b' ').count() == f.line.split(|&b| b == b' ').count()
            && f.payload.is_none();
        if same {
            self.sum.equivalent += 1;
            self.consume(lf + 1);
        } else {
            self.mismatch("the session sent different bytes than the recorded client");
            self.consume(lf + 1);
        }
    }

    /// The recorded client did something our client does not do: align TrIDs and move on.
    fn refuse(&mut self, s: &mut NsSession<'_, 4096, 4096>, trid: Option<TrId>) {
        self.sum.refused += 1;
        if let Some(t) = trid.and_then(|t| TrId::new(t.get().saturating_add(1))) {
            s.skip_trids_to(t);
        }
    }

    fn client_frame(&mut self, s: &mut NsSession<'_, 4096, 4096>, f: &Frame<'_>) {
        self.drain(s);
        let Ok(cmd) = ClientCommand::parse(f) else {
            self.refuse(s, None);
            return;
        };
        let phase = s.phase();
        let login = !matches!(phase, Phase::Syncing | Phase::Online);
        let trid = cmd.trid();
        // Login steps and the first SYN come from the session itself.
        let auto = match cmd {
            ClientCommand::Ver { .. }
            | ClientCommand::Cvr { .. }
            | ClientCommand::Inf { .. }
            | ClientCommand::UsrAuth { .. } => login && phase != Phase::Closed,
            ClientCommand::Syn { .. } => {
                phase == Phase::Syncing && self.sum.exact + self.sum.equivalent <= 6
            }
            _ => false,
        };
        if auto {
            // The session must already have sent it (or be about to, on USR S after an answer).
            if self.out_len == 0 {
                self.refuse(s, trid);
                return;
            }
            // A driver that left the login flow (dialects in another order, a short CVR, a second
            // VER, USR S without USR I) is not reproduced: our own login step is dropped.
            let front = self.out.get(..self.out_len).unwrap_or(&[]);
            let lf = front
                .iter()
                .position(|&b| b == b'\n')
                .unwrap_or(front.len());
            let ours = front.get(..lf).unwrap_or(&[]);
            let ours = ours.strip_suffix(b"\r").unwrap_or(ours);
            let deviates = matches!(
                cmd,
                ClientCommand::Ver { .. }
                    | ClientCommand::Cvr { .. }
                    | ClientCommand::UsrAuth { .. }
            ) && ours != f.line
                && ours.get(3) == Some(&b' ');
            if deviates {
                self.consume(lf + 1);
                self.sum.refused += 1;
                return;
            }
            self.expect(f);
            return;
        }
        if login && phase != Phase::Closed && matches!(cmd, ClientCommand::Out { .. }) {
            // The driver quit in the middle of the login: drop our further login steps.
            self.sum.refused += 1;
            self.out_len = 0;
            if s.sign_out(self.now).is_ok() {
                self.drain(s);
                self.expect(f);
            }
            return;
        }
        if phase == Phase::Closed || login {
            self.refuse(s, trid);
            return;
        }
        if !f.is_canonical() {
            self.refuse(s, trid);
            return;
        }
        if let Some(t) = trid {
            if s.next_trid() != t {
                s.skip_trids_to(t);
            }
        }
        let now = self.now;
        let mut nb = [0u8; 512];
        let res: Result<(), ()> = match cmd {
            ClientCommand::Chg {
                status, client_id, ..
            } => {
                let v8 = s.version().is_some_and(|v| v.presence_has_client_id());
                let ours = v8.then(|| s.client_id());
                if client_id != ours {
                    Err(())
                } else {
                    s.set_status(now, status).map(drop).map_err(drop)
                }
            }
            ClientCommand::Syn { version, .. } => {
                // The driver picks the cached version; behave as if that cache had been restored.
                s.lists_mut().version = version;
                s.sync(now).map(drop).map_err(drop)
            }
            ClientCommand::Add {
                list,
                handle,
                nickname: Some(nick),
                group,
                ..
            } => match (core::str::from_utf8(handle), decoded(nick, &mut nb)) {
                (Ok(h), Some(n)) => s
                    .add_contact(now, list, h, n, group)
                    .map(drop)
                    .map_err(drop),
                _ => Err(()),
            },
            ClientCommand::Rem {
                list,
                handle,
                group,
                ..
            } => match core::str::from_utf8(handle) {
                Ok(h) => s
                    .remove_contact(now, list, h, group)
                    .map(drop)
                    .map_err(drop),
                Err(_) => Err(()),
            },
            ClientCommand::Adg { name, rest, .. } if rest.as_bytes() == b"0" => {
                match decoded(name, &mut nb) {
                    Some(n) => s.add_group(now, n).map(drop).map_err(drop),
                    None => Err(()),
                }
            }
            ClientCommand::Rmg { group_id, .. } => {
                s.remove_group(now, group_id).map(drop).map_err(drop)
            }
            ClientCommand::Reg {
                group_id,
                name,
                rest,
                ..
            } if rest.as_bytes() == b"0" => match decoded(name, &mut nb) {
                Some(n) => s.rename_group(now, group_id, n).map(drop).map_err(drop),
                None => Err(()),
            },
            ClientCommand::Rea { handle, name, .. } => {
                match (core::str::from_utf8(handle), decoded(name, &mut nb)) {
                    (Ok(h), Some(n)) => s.rename_contact(now, h, n).map(drop).map_err(drop),
                    _ => Err(()),
                }
            }
            ClientCommand::Gtc { value, .. } => match Gtc::from_token(value) {
                Some(g) => s.set_gtc(now, g).map(drop).map_err(drop),
                None => Err(()),
            },
            ClientCommand::Blp { value, .. } => match Blp::from_token(value) {
                Some(b) => s.set_blp(now, b).map(drop).map_err(drop),
                None => Err(()),
            },
            ClientCommand::Prp {
                property, value, ..
            } => match (
                Phone::from_token(property),
                value.map(|v| decoded(v, &mut nb)),
            ) {
                (Some(p), None) => s.set_phone(now, p, None).map(drop).map_err(drop),
                (Some(p), Some(Some(v))) => s.set_phone(now, p, Some(v)).map(drop).map_err(drop),
                _ => Err(()),
            },
            ClientCommand::Png { .. } => s.ping(now).map_err(drop),
            ClientCommand::Ims { mode, .. } => match mode {
                b"ON" => s.set_ims(now, true).map(drop).map_err(drop),
                b"OFF" => s.set_ims(now, false).map(drop).map_err(drop),
                _ => Err(()),
            },
            ClientCommand::Url {
                service, parameter, ..
            } => match (
                core::str::from_utf8(service),
                parameter.map(core::str::from_utf8),
            ) {
                (Ok(sv), None) => s.request_url(now, sv, None).map(drop).map_err(drop),
                (Ok(sv), Some(Ok(p))) => s.request_url(now, sv, Some(p)).map(drop).map_err(drop),
                _ => Err(()),
            },
            ClientCommand::Snd { email, rest, .. } => {
                // Our SND carries exactly the dialect's fields; accept the recording only if its
                // form is the one we send.
                let ours: &[u8] = match s.version().map_or(2, |v| v.number()) {
                    2 => b"",
                    3 => b"0x0409 MSMSGS",
                    _ => b"0x0409 MSMSGS MSMSGS",
                };
                match core::str::from_utf8(email) {
                    Ok(e) if rest.as_bytes() == ours => {
                        s.send_email_invite(now, e).map(drop).map_err(drop)
                    }
                    _ => Err(()),
                }
            }
            ClientCommand::Pag { handle, .. } => match core::str::from_utf8(handle) {
                // Paging is off for Escargot: the API must refuse.
                Ok(h) => match s.page(now, h, "x") {
                    Ok(_) => {
                        self.mismatch("PAG sent to a server without paging");
                        Ok(())
                    }
                    Err(_) => Err(()),
                },
                Err(_) => Err(()),
            },
            ClientCommand::Xfr { kind: b"SB", .. } => {
                s.request_switchboard(now).map(drop).map_err(drop)
            }
            ClientCommand::Out { .. } => s.sign_out(now).map_err(drop),
            _ => Err(()),
        };
        self.drain(s);
        match res {
            Ok(()) => self.expect(f),
            Err(()) => self.refuse(s, trid),
        }
    }
}
