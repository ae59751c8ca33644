//! The built-in sans-I/O WTVP client, for builds with no WTVP stack of their own.
//!
//! It signs the box in to a WebTV service (`wtv-1800:/preregister`, `wtv-head-waiter:/login`,
//! `ValidateLogin` with the DES challenge response, `login-stage-two` over SECURE ON), keeps the
//! current DES key, session keys, `wtv-ticket` and incarnation counter, and then performs
//! `GET <login-url>?<challenge>` over SECURE ON for the NS session ([`LoginTransport`]).
//!
//! The client uses at most one TCP connection at a time. After every input call, drain in this
//! order: [`WtvpClient::poll_event`] (connect/disconnect requests and progress),
//! [`WtvpClient::poll_transmit`] (bytes to write), [`WtvpClient::poll_timeout`].
//! The caller reports [`WtvpClient::handle_connected`], [`WtvpClient::handle_input`],
//! [`WtvpClient::handle_closed`] and [`WtvpClient::handle_timeout`].
//!
//! Request layout (matches the recorded sessions): plain requests carry
//! `wtv-request-type`, `wtv-client-serial-number`, `Accept-Language`, `wtv-incarnation` and the
//! box headers; the SECURE ON block carries `Accept-Language`, `wtv-ticket`,
//! `wtv-client-serial-number`, the box headers and `wtv-incarnation`; encrypted requests carry
//! only `wtv-request-type: primary`. Each new SECURE connection uses the next incarnation.

use super::headwaiter::{MessengerConfig, Text};
use super::login::{self, AnswerMode, LoginAnswer, LoginError, LoginTransport};
use super::lzpf::{self, LzpfError};
use super::message::{parse_decimal, HeadReader, Line, MessageError, Writer};
use super::sec::{self, SecureStreams};
use crate::auth::wipe;
use crate::time::{Duration, Instant};

/// Capacity of a stored ticket (base64 text).
pub const TICKET_CAP: usize = 512;
/// Bytes that hold the services remembered from `wtv-service` lines: 4 per service plus its
/// name and host. The recorded minisrv sign-ins list eleven services in 241 bytes
/// (`../shared/transcripts/wtvp`); this holds about twice that. A stock minisrv lists about
/// thirty, so room is kept for the services a sign-in uses ([`SIGN_IN_SERVICES`]) until they
/// are listed; other services beyond the pool are dropped with a warning.
pub const SERVICE_POOL: usize = 512;
/// The services a sign-in connects to (the first contact, the head-waiter, Messenger's
/// login service and the catch-all): a full pool keeps room for them, however late the
/// server lists them (minisrv sends its list sorted, `wtv-passport` after twenty others).
pub const SIGN_IN_SERVICES: [&[u8]; 4] =
    [b"wtv-1800", b"wtv-head-waiter", b"wtv-passport", b"wtv-*"];
/// Capacity of a service name.
pub const SERVICE_NAME_CAP: usize = 32;
/// Capacity of a service host.
pub const SERVICE_HOST_CAP: usize = 64;
/// Longest request URL: the longest is the messengerlogin request, a login URL at its cap,
/// `?` and a challenge at its limit (128 + 1 + 512 = 641 bytes). The URL of an encrypted
/// request waits at the end of the client's buffer until its SECURE ON block has been taken,
/// so a client whose buffer is shorter refuses longer URLs with a typed error.
pub const URL_CAP: usize = super::headwaiter::URL_CAP + 1 + login::MAX_CHALLENGE_LEN;
/// Default limit for each box-login step.
pub const DEFAULT_STEP_TIMEOUT: Duration = Duration::from_secs(60);

/// Describe the box: its SSID and the identity headers it sends.
#[derive(Debug, Clone, Copy)]
pub struct BoxIdentity<'a> {
    /// The SSID (`wtv-client-serial-number`, 16 hex digits).
    pub ssid: &'a str,
    /// `Accept-Language` value.
    pub accept_language: &'a str,
    /// Identity headers in the order the box sends them (`wtv-system-version`, …).
    pub headers: &'a [(&'a str, &'a str)],
    /// Extra headers sent only with `preregister` (`wtv-script-id`, …).
    pub preregister_headers: &'a [(&'a str, &'a str)],
    /// The incarnation used for plain requests; SECURE connections count up from it.
    pub first_incarnation: u32,
}

/// Say why the box could not sign in to the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientError {
    /// A response could not be parsed.
    Malformed(MessageError),
    /// A response did not carry what the step needs (`wtv-initial-key`, `wtv-challenge`, …).
    MissingHeader(&'static str),
    /// The challenge could not be answered.
    Challenge(sec::SecError),
    /// The service refused a step; carries the status and its message.
    Refused(u16, login::ServerMessage),
    /// The body could not be decoded.
    Lzpf(LzpfError),
    /// A fixed buffer is too small.
    Capacity,
    /// The connection closed before the step finished.
    Closed,
    /// A step took longer than its limit.
    Timeout,
    /// No address is known for the needed service.
    NoService,
    /// The call does not fit the current state.
    State,
}

impl ClientError {
    /// Return the crate-wide classification of this error.
    pub const fn kind(self) -> crate::ErrorKind {
        use crate::ErrorKind as K;
        match self {
            ClientError::Malformed(e) => e.kind(),
            ClientError::MissingHeader(_) => K::Unexpected,
            ClientError::Challenge(e) => e.kind(),
            ClientError::Refused(..) => K::Server,
            ClientError::Lzpf(e) => e.kind(),
            ClientError::Capacity => K::Capacity,
            ClientError::Closed => K::Closed,
            ClientError::Timeout => K::Timeout,
            ClientError::NoService | ClientError::State => K::Local,
        }
    }
}

/// Tell the caller what happened or what to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WtvpEvent<'a> {
    /// Open a TCP connection to `host:port`, then call `handle_connected`.
    Connect {
        /// Host (an IPv4 address in dotted form, or a name).
        host: &'a str,
        /// Port.
        port: u16,
    },
    /// Close the current connection (no further `handle_closed` call is needed).
    Disconnect,
    /// The box is signed in; [`WtvpClient::config`] holds the Messenger configuration.
    SignedIn,
    /// Signing in failed.
    SignInFailed(ClientError),
    /// A [`WtvpClient::fetch`] finished with this status.
    Fetched(u16),
}

/// One remembered service, borrowed from [`Services`].
#[derive(Debug, Clone, Copy)]
struct Service<'a> {
    name: &'a [u8],
    host: &'a [u8],
    port: u16,
}

/// The services from `wtv-service` lines, packed into one buffer in the order first learned:
/// each entry is name length, host length, port (big-endian), name, host. A service is named
/// by its position in that order, which a later line for the same name keeps.
struct Services {
    pool: [u8; SERVICE_POOL],
    used: usize,
}

const ENTRY_HEAD: usize = 4;

impl Services {
    const fn new() -> Self {
        Services {
            pool: [0; SERVICE_POOL],
            used: 0,
        }
    }

    fn clear(&mut self) {
        self.used = 0;
    }

    /// Return the entries with their byte ranges in the pool, in order.
    fn entries(&self) -> impl Iterator<Item = (core::ops::Range<usize>, Service<'_>)> + '_ {
        let mut at: usize = 0;
        core::iter::from_fn(move || {
            let pool = self.pool.get(..self.used)?;
            let h = pool.get(at..at.checked_add(ENTRY_HEAD)?)?;
            let (&[nl, hl, p0, p1], start) = (h, at) else {
                return None;
            };
            let name_at = start + ENTRY_HEAD;
            let host_at = name_at + usize::from(nl);
            let end = host_at + usize::from(hl);
            let svc = Service {
                name: pool.get(name_at..host_at)?,
                host: pool.get(host_at..end)?,
                port: u16::from_be_bytes([p0, p1]),
            };
            at = end;
            Some((start..end, svc))
        })
    }

    fn get(&self, i: usize) -> Option<Service<'_>> {
        self.entries().nth(i).map(|(_, s)| s)
    }

    fn position(&self, name: &[u8]) -> Option<usize> {
        self.entries().position(|(_, s)| s.name == name)
    }

    /// Store a service (names and hosts within their caps), replacing one of the same name
    /// in place; returns false when the pool has no room for it. A service outside
    /// [`SIGN_IN_SERVICES`] must also leave room for those not yet stored (reckoned with this
    /// line's host: a server lists its services on one host).
    fn set(&mut self, name: &[u8], host: &[u8], port: u16) -> bool {
        let (Ok(nl), Ok(hl)) = (u8::try_from(name.len()), u8::try_from(host.len())) else {
            return false;
        };
        let len = ENTRY_HEAD + name.len() + host.len();
        let old = self.entries().find(|(_, s)| s.name == name).map(|(r, _)| r);
        let (at, old_len) = old.map_or((self.used, 0), |r| (r.start, r.len()));
        let new_used = self.used - old_len + len;
        let reserve: usize = if SIGN_IN_SERVICES.contains(&name) {
            0
        } else {
            SIGN_IN_SERVICES
                .iter()
                .filter(|n| self.position(n).is_none())
                .map(|n| ENTRY_HEAD + n.len() + host.len())
                .sum()
        };
        if new_used + reserve > SERVICE_POOL {
            return false;
        }
        // Move the entries after this one to make exactly `len` bytes for it.
        self.pool.copy_within(at + old_len..self.used, at + len);
        self.used = new_used;
        let [p0, p1] = port.to_be_bytes();
        let Some(e) = self.pool.get_mut(at..at + len) else {
            return false;
        };
        let (head, rest) = e.split_at_mut(ENTRY_HEAD);
        let (n, h) = rest.split_at_mut(name.len());
        head.copy_from_slice(&[nl, hl, p0, p1]);
        n.copy_from_slice(name);
        h.copy_from_slice(host);
        true
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Idle,
    Preregister,
    Challenge,
    Validate,
    StageTwo,
    Login(AnswerMode),
    Fetch,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Conn {
    None,
    Connecting,
    Open,
}

/// A queued event; a failure's error waits in [`WtvpClient::failure`], so a queue slot stays
/// a few bytes instead of the size of a [`ClientError`] (which carries a server message).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pending {
    Connect,
    Disconnect,
    SignedIn,
    SignInFailed,
    Fetched(u16),
}

/// Where the next `Connect` goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target<'id> {
    /// The first `wtv-1800` address, borrowed from the caller of [`WtvpClient::sign_in`].
    Given(&'id str, u16),
    /// A service from the service table, by position (the table cannot change before the
    /// connection opens: it is only learned from input on an open connection).
    Service(usize),
}

/// Where the URL of the next `GET` is kept until its request is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Url {
    /// A sign-in step's fixed URL.
    Fixed(&'static [u8]),
    /// A URL of this many bytes parked at the end of `buf`: nothing is received between a
    /// request and its response, so the end of the buffer is free until the request has
    /// been written.
    Parked(usize),
}

/// Return the bytes of `url` (a parked one from the end of `buf`).
fn url_bytes(url: Url, buf: &[u8]) -> &[u8] {
    match url {
        Url::Fixed(u) => u,
        Url::Parked(n) => buf.get(buf.len().saturating_sub(n)..).unwrap_or(&[]),
    }
}

/// Park the concatenation of `parts` at the end of `buf`; `None` when it does not fit.
fn park_url(buf: &mut [u8], parts: &[&[u8]]) -> Option<Url> {
    let total = parts
        .iter()
        .try_fold(0usize, |n, p| n.checked_add(p.len()))
        .filter(|&n| n <= URL_CAP)?;
    let mut at = buf.len().checked_sub(total)?;
    for p in parts {
        let end = at.checked_add(p.len())?;
        buf.get_mut(at..end)?.copy_from_slice(p);
        at = end;
    }
    Some(Url::Parked(total))
}

/// Which part of a response is arriving.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    /// The head: `rx` holds the line received so far, taken and dropped at its LF.
    Head,
    /// A plain body with `left` bytes still to come: kept in `rx` from its start when the step
    /// uses it, else skipped (counted, not stored).
    Plain { left: usize, keep: bool },
    /// An LZPF body: its wire form is kept in `rx` and expanded into the space after it.
    Lzpf,
}

/// The secret a sign-in step takes from its response head (the first one counts).
enum Learned {
    None,
    InitialKey(Result<[u8; 8], sec::SecError>),
    /// The secrets only: the response is derived from them when the step acts (keeping it
    /// would hold 96 more bytes for the whole sign-in).
    Challenge(Result<sec::ChallengeSecrets, sec::SecError>),
}

/// What the client has taken so far from the response that is arriving.
struct Incoming {
    part: Part,
    head: HeadReader,
    reason: login::ServerMessage,
    /// A `wtv-ticket` line was taken from this response (later ones are ignored).
    ticket_seen: bool,
    /// The stage-two Messenger headers taken so far.
    config_seen: u16,
    learned: Learned,
}

impl Incoming {
    fn new() -> Self {
        Incoming {
            part: Part::Head,
            head: HeadReader::new(),
            reason: login::ServerMessage::new(b""),
            ticket_seen: false,
            config_seen: 0,
            learned: Learned::None,
        }
    }

    /// Wipe what the response taught and start over for the next one.
    fn reset(&mut self) {
        // Challenge secrets wipe themselves when dropped.
        if let Learned::InitialKey(Ok(k)) = &mut self.learned {
            wipe(k);
        }
        // The reason is replaced by the next status line before it is read.
        self.part = Part::Head;
        self.head = HeadReader::new();
        self.ticket_seen = false;
        self.config_seen = 0;
        self.learned = Learned::None;
    }
}

/// What waits to be queued once the transmit side is free and the client holds its buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Due {
    None,
    /// The connection opened before the buffer was lent: the step's first request (a plain
    /// `GET`, or the SECURE ON block and then [`Due::Request`]).
    First,
    /// The encrypted request, after its SECURE ON block has been taken.
    Request,
    /// A login-answer step started without the buffer: its URL is parked (and its connection
    /// opened) when [`LoginTransport::request_answer`] is called again with the buffer lent.
    Url,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AnswerState {
    None,
    Ready { mode: AnswerMode },
    Failed(LoginError),
}

/// The built-in WTVP client; `B` is its one buffer: its own array (`[u8; N]`, made by
/// [`WtvpClient::new`]), or a slice lent to it for each step (`&mut [u8]`, see
/// [`WtvpClient::lend_buffer`]).
///
/// WTVP is strictly request/response, so one buffer serves both ways: a request is written
/// into it and taken by the caller, then the response is received into it. It must hold the
/// largest request plus, while a new SECURE connection sends its SECURE ON block, the URL of
/// the encrypted request that follows (parked at its end), and a response's longest head line
/// or kept body (see [`Part`]). Bytes that arrive while a request is still pending answer
/// nothing and fail the step ([`MessageError::Unsolicited`]).
///
/// Between steps (idle, and a login answer taken by [`LoginTransport::poll_answer`]) nothing
/// in the buffer is needed ([`needs_buffer`](Self::needs_buffer)). A client with a lent buffer
/// starts a step without it and waits (its step timer runs, nothing is sent) until it is lent.
pub struct WtvpClient<'id, B: AsRef<[u8]> + AsMut<[u8]>> {
    id: BoxIdentity<'id>,
    services: Services,
    key: Option<[u8; 8]>,
    session_keys: Option<([u8; 16], [u8; 16])>,
    ticket: Option<Text<TICKET_CAP>>,
    incarnation: u32,
    config: Option<MessengerConfig>,
    step: Step,
    conn: Conn,
    conn_service: Option<usize>,
    secure: Option<SecureStreams>,
    target: Target<'id>,
    url: Url,
    deadline: Option<Instant>,
    /// The pending request (`tx_len` bytes from the start; a parked URL at the end), or, once
    /// it has been taken, one partial head line while a head arrives, then the body (see
    /// [`Part`]).
    buf: B,
    rx_len: usize,
    incoming: Incoming,
    tx_len: usize,
    /// What waits to be queued (see [`Due`]).
    due: Due,
    /// Where the plain body of the last response lies in `buf` (start, length): a plain body
    /// stays where it arrived (RC4 is undone in place), an LZPF body is expanded into the free
    /// space after the response. Valid until the next request; empty when there is none.
    body: (usize, usize),
    events: [Option<Pending>; 4],
    /// The error of the last failed sign-in step, reported by the queued `SignInFailed`.
    failure: ClientError,
    answer: AnswerState,
    signed_in: bool,
}

impl<B: AsRef<[u8]> + AsMut<[u8]>> Drop for WtvpClient<'_, B> {
    fn drop(&mut self) {
        self.wipe_secrets();
    }
}

impl<'id, const N: usize> WtvpClient<'id, [u8; N]> {
    /// Make a client for one box, with its own buffer of `N` bytes.
    pub fn new(id: BoxIdentity<'id>) -> Self {
        Self::with_buffer(id, [0; N])
    }
}

impl<'id> WtvpClient<'id, &'id mut [u8]> {
    /// Make a client for one box that works in a buffer lent to it for each step
    /// ([`lend_buffer`](Self::lend_buffer)).
    pub fn borrowing(id: BoxIdentity<'id>) -> Self {
        Self::with_buffer(id, &mut [])
    }

    /// Lend the client a buffer for its step; refused (handed back) while it holds one.
    pub fn lend_buffer(&mut self, buf: &'id mut [u8]) -> Result<(), &'id mut [u8]> {
        if !self.buf.is_empty() {
            return Err(buf);
        }
        self.buf = buf;
        Ok(())
    }

    /// Take the lent buffer back, wiped, once nothing in it is needed
    /// ([`needs_buffer`](Self::needs_buffer)); a fetched body is forgotten with it.
    pub fn take_back_buffer(&mut self) -> Option<&'id mut [u8]> {
        if self.buf.is_empty() || self.needs_buffer() {
            return None;
        }
        wipe(self.buf);
        self.rx_len = 0;
        self.tx_len = 0;
        self.body = (0, 0);
        self.url = Url::Fixed(b"");
        Some(core::mem::take(&mut self.buf))
    }
}

impl<'id, B: AsRef<[u8]> + AsMut<[u8]>> WtvpClient<'id, B> {
    /// Make a client for one box over `buf` (see the type documentation).
    pub fn with_buffer(id: BoxIdentity<'id>, buf: B) -> Self {
        WtvpClient {
            id,
            services: Services::new(),
            key: None,
            session_keys: None,
            ticket: None,
            incarnation: id.first_incarnation,
            config: None,
            step: Step::Idle,
            conn: Conn::None,
            conn_service: None,
            secure: None,
            target: Target::Given("", 0),
            url: Url::Fixed(b""),
            deadline: None,
            buf,
            rx_len: 0,
            incoming: Incoming::new(),
            tx_len: 0,
            due: Due::None,
            body: (0, 0),
            events: [None; 4],
            failure: ClientError::State,
            answer: AnswerState::None,
            signed_in: false,
        }
    }

    fn wipe_secrets(&mut self) {
        if let Some(k) = self.key.as_mut() {
            wipe(k);
        }
        if let Some((a, b)) = self.session_keys.as_mut() {
            wipe(a);
            wipe(b);
        }
        wipe(self.buf.as_mut());
        self.incoming.reset();
    }

    /// Query whether the client holds a buffer (its own, or one lent to it).
    pub fn has_buffer(&self) -> bool {
        !self.buf.as_ref().is_empty()
    }

    /// Query whether the client needs its buffer: a step is in progress (waiting for the
    /// buffer included), or a login answer waits to be taken.
    pub fn needs_buffer(&self) -> bool {
        self.step != Step::Idle || matches!(self.answer, AnswerState::Ready { .. })
    }

    /// Return the Messenger configuration from stage two, once signed in.
    pub fn config(&self) -> Option<&MessengerConfig> {
        // While stage two arrives the configuration is being built in place.
        self.config.as_ref().filter(|_| self.step != Step::StageTwo)
    }

    /// Query whether the box is signed in to the service.
    pub fn is_signed_in(&self) -> bool {
        self.signed_in
    }

    /// Return the incarnation the next SECURE connection will use.
    pub fn next_incarnation(&self) -> u32 {
        self.incarnation.wrapping_add(1)
    }

    /// Start signing in: `host:port` is the first `wtv-1800` address (from the box's setup).
    ///
    /// A client that already holds a DES key (after a refused attempt) goes straight to the
    /// head-waiter, whose challenge is then encrypted under the newest key.
    ///
    /// `host` must be printable text of at most [`SERVICE_HOST_CAP`] bytes; it is borrowed, not
    /// copied, and reported back in [`WtvpEvent::Connect`].
    pub fn sign_in(&mut self, now: Instant, host: &'id str, port: u16) -> Result<(), ClientError> {
        if self.step != Step::Idle {
            return Err(ClientError::State);
        }
        self.signed_in = false;
        if self.key.is_some() && self.service("wtv-head-waiter").is_some() {
            self.open_service(now, "wtv-head-waiter", Step::Challenge)
        } else {
            let h = host.as_bytes();
            if h.len() > SERVICE_HOST_CAP || !super::message::field_ok(h) {
                return Err(ClientError::NoService);
            }
            self.url = Url::Fixed(b"wtv-1800:/preregister?scriptless-visit-reason=10&0");
            self.open(now, Target::Given(host, port), Step::Preregister);
            Ok(())
        }
    }

    /// Fetch any service URL over SECURE ON (after sign-in); ends with [`WtvpEvent::Fetched`].
    ///
    /// A URL longer than [`URL_CAP`] or than the client's buffer is refused with
    /// [`ClientError::Capacity`], one with bytes a request line cannot carry (CR, LF, NUL,
    /// non-ASCII) with [`MessageError::BadField`], before anything is sent. A client with a
    /// lent buffer fetches only while it holds one.
    pub fn fetch(&mut self, now: Instant, url: &[u8]) -> Result<(), ClientError> {
        if !self.signed_in || self.step != Step::Idle {
            return Err(ClientError::State);
        }
        if !super::message::field_ok(url) {
            return Err(ClientError::Malformed(MessageError::BadField));
        }
        self.forget_body();
        self.url = park_url(self.buf.as_mut(), &[url]).ok_or(ClientError::Capacity)?;
        self.secure_request(now, Step::Fetch)
    }

    fn url(&self) -> &[u8] {
        url_bytes(self.url, self.buf.as_ref())
    }

    fn service(&self, name: &str) -> Option<usize> {
        self.services
            .position(name.as_bytes())
            .or_else(|| self.services.position(b"wtv-*"))
    }

    fn service_of_url(&self) -> Option<usize> {
        let url = self.url();
        let end = url.iter().position(|&c| c == b':')?;
        let name = core::str::from_utf8(url.get(..end)?).ok()?;
        self.service(name)
    }

    fn open_service(&mut self, now: Instant, name: &str, step: Step) -> Result<(), ClientError> {
        let i = self.service(name).ok_or(ClientError::NoService)?;
        if step == Step::Challenge {
            self.url = Url::Fixed(b"wtv-head-waiter:/login?");
        }
        self.open(now, Target::Service(i), step);
        Ok(())
    }

    fn open(&mut self, now: Instant, target: Target<'id>, step: Step) {
        if self.conn != Conn::None {
            self.push(Pending::Disconnect);
        }
        self.reset_conn();
        self.target = target;
        self.conn = Conn::Connecting;
        self.conn_service = match target {
            Target::Service(i) => Some(i),
            Target::Given(..) => None,
        };
        self.step = step;
        self.deadline = Some(now + self.step_timeout(step));
        self.push(Pending::Connect);
    }

    fn step_timeout(&self, step: Step) -> Duration {
        match (step, &self.config) {
            (Step::Login(_), Some(c)) => c.passportd_timeout,
            _ => DEFAULT_STEP_TIMEOUT,
        }
    }

    fn reset_conn(&mut self) {
        self.conn = Conn::None;
        self.conn_service = None;
        self.secure = None;
        self.reset_rx();
        self.tx_len = 0;
        self.due = Due::None;
    }

    fn push(&mut self, p: Pending) {
        if let Some(slot) = self.events.iter_mut().find(|e| e.is_none()) {
            *slot = Some(p);
        }
    }

    /// Send the request for `self.url` (parked after [`forget_body`](Self::forget_body)) over
    /// SECURE ON: on the open connection to its service, else on a new one.
    fn secure_request(&mut self, now: Instant, step: Step) -> Result<(), ClientError> {
        let svc = self.service_of_url().ok_or(ClientError::NoService)?;
        self.step = step;
        self.deadline = Some(now + self.step_timeout(step));
        if self.conn == Conn::Open && self.conn_service == Some(svc) && self.secure.is_some() {
            return self.queue_request();
        }
        self.open(now, Target::Service(svc), step);
        Ok(())
    }

    /// Report that the connection requested by [`WtvpEvent::Connect`] is open.
    pub fn handle_connected(&mut self, _now: Instant) -> Result<(), ClientError> {
        if self.conn != Conn::Connecting {
            return Err(ClientError::State);
        }
        self.conn = Conn::Open;
        if matches!(self.step, Step::Validate | Step::Idle) {
            return Err(ClientError::State);
        }
        if !self.has_buffer() {
            // Queued when the buffer is lent (`transmit_bytes`).
            self.due = Due::First;
            return Ok(());
        }
        self.queue_first()
    }

    /// Queue the first request of the step on a connection that has just opened.
    fn queue_first(&mut self) -> Result<(), ClientError> {
        match self.step {
            Step::Preregister | Step::Challenge => self.queue_plain(None),
            Step::StageTwo | Step::Login(_) | Step::Fetch => {
                // The encrypted request follows once the SECURE ON block has been taken, so
                // the transmit buffer holds only the larger of the two.
                self.queue_secure_on()?;
                self.due = Due::Request;
                Ok(())
            }
            Step::Validate | Step::Idle => Err(ClientError::State),
        }
    }

    /// Append one request to the pending bytes (in front of a parked URL); returns where it
    /// starts and its length.
    fn queue(&mut self, req: Req<'_>) -> Result<(usize, usize), ClientError> {
        let start = self.tx_len;
        let parked = match self.url {
            Url::Parked(n) => n,
            Url::Fixed(_) => 0,
        };
        let buf = self.buf.as_mut();
        let (free, parked_url) = buf.split_at_mut(buf.len().saturating_sub(parked));
        let url = match self.url {
            Url::Fixed(u) => u,
            Url::Parked(_) => &*parked_url,
        };
        let mut w = Writer::new(free.get_mut(start..).unwrap_or(&mut []));
        write_request(&mut w, &self.id, url, self.incarnation, req)
            .map_err(ClientError::Malformed)?;
        let n = w.len();
        self.tx_len += n;
        Ok((start, n))
    }

    fn queue_plain(&mut self, response_b64: Option<&[u8]>) -> Result<(), ClientError> {
        let prereg = self.step == Step::Preregister;
        self.queue(Req::Plain {
            prereg,
            response: response_b64,
        })
        .map(drop)
    }

    fn queue_secure_on(&mut self) -> Result<(), ClientError> {
        let (k1, k2) = self.session_keys.ok_or(ClientError::State)?;
        let ticket = self.ticket.ok_or(ClientError::State)?;
        self.incarnation = self.incarnation.wrapping_add(1);
        self.queue(Req::SecureOn {
            ticket: ticket.as_bytes(),
        })?;
        let inc = self.incarnation;
        self.secure = Some(SecureStreams::new(&k1, &k2, inc));
        msgr_debug!("wtvp: SECURE ON, incarnation {}", inc);
        Ok(())
    }

    fn queue_request(&mut self) -> Result<(), ClientError> {
        let (start, n) = self.queue(Req::Encrypted)?;
        // The parked URL (it may carry a password) is not needed any more.
        if let Url::Parked(len) = core::mem::replace(&mut self.url, Url::Fixed(b"")) {
            let buf = self.buf.as_mut();
            if let Some(u) = buf.get_mut(buf.len().saturating_sub(len)..) {
                wipe(u);
            }
        }
        let s = self.secure.as_mut().ok_or(ClientError::State)?;
        s.apply_c2s(
            self.buf
                .as_mut()
                .get_mut(start..start + n)
                .unwrap_or(&mut []),
        );
        self.reset_rx();
        Ok(())
    }

    /// Forget any response in progress (a stored body stays until the next request).
    fn reset_rx(&mut self) {
        self.rx_len = 0;
        self.incoming.reset();
    }

    /// Copy pending bytes to write into `out`; returns how many (0 when nothing is pending).
    #[must_use]
    pub fn poll_transmit(&mut self, out: &mut [u8]) -> usize {
        let src = self.transmit_bytes();
        let n = src.len().min(out.len());
        if let (Some(dst), Some(src)) = (out.get_mut(..n), src.get(..n)) {
            dst.copy_from_slice(src);
        }
        self.advance_transmit(n);
        n
    }

    /// Return the bytes waiting to be written, in place (empty when nothing is pending);
    /// report how many were written with [`advance_transmit`](Self::advance_transmit).
    pub fn transmit_bytes(&mut self) -> &[u8] {
        if self.tx_len == 0 && matches!(self.due, Due::First | Due::Request) && self.has_buffer() {
            let r = match core::mem::replace(&mut self.due, Due::None) {
                Due::First => self.queue_first(),
                _ => self.queue_request(),
            };
            if let Err(e) = r {
                let le = match e {
                    ClientError::Malformed(m) => LoginError::Malformed(m),
                    _ => LoginError::ServiceLogin,
                };
                self.abort(e, le);
                return &[];
            }
        }
        self.buf.as_ref().get(..self.tx_len).unwrap_or(&[])
    }

    /// Drop the first `n` bytes of [`transmit_bytes`](Self::transmit_bytes) (they were written).
    pub fn advance_transmit(&mut self, n: usize) {
        let n = n.min(self.tx_len);
        self.buf.as_mut().copy_within(n..self.tx_len, 0);
        self.tx_len -= n;
    }

    /// Take the next event.
    pub fn poll_event(&mut self) -> Option<WtvpEvent<'_>> {
        let p = self.events.first_mut()?.take()?;
        self.events.rotate_left(1);
        Some(self.event_of(p))
    }

    /// Return the next event without taking it; [`skip_event`](Self::skip_event) drops it.
    pub fn peek_event(&self) -> Option<WtvpEvent<'_>> {
        let p = (*self.events.first()?)?;
        Some(self.event_of(p))
    }

    /// Drop the event [`peek_event`](Self::peek_event) returned.
    pub fn skip_event(&mut self) {
        if let Some(first) = self.events.first_mut() {
            if first.take().is_some() {
                self.events.rotate_left(1);
            }
        }
    }

    fn event_of(&self, p: Pending) -> WtvpEvent<'_> {
        match p {
            Pending::Connect => {
                let (host, port) = match self.target {
                    Target::Given(host, port) => (host, port),
                    Target::Service(i) => self.services.get(i).map_or(("", 0), |s| {
                        // Hosts are printable ASCII (checked when learned).
                        (core::str::from_utf8(s.host).unwrap_or(""), s.port)
                    }),
                };
                WtvpEvent::Connect { host, port }
            }
            Pending::Disconnect => WtvpEvent::Disconnect,
            Pending::SignedIn => WtvpEvent::SignedIn,
            Pending::SignInFailed => WtvpEvent::SignInFailed(self.failure),
            Pending::Fetched(s) => WtvpEvent::Fetched(s),
        }
    }

    /// Return when [`WtvpClient::handle_timeout`] should be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.deadline
    }

    /// Report that time has passed; ends a step whose limit expired.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.deadline.is_some_and(|d| now >= d) {
            msgr_warn!("wtvp: step timed out");
            self.fail_step(ClientError::Timeout, LoginError::Timeout);
            if self.conn != Conn::None {
                self.push(Pending::Disconnect);
                self.reset_conn();
            }
        }
    }

    fn fail_step(&mut self, e: ClientError, le: LoginError) {
        if self.step == Step::StageTwo {
            // It may be half built from the failed answer.
            self.config = None;
        }
        match self.step {
            Step::Login(_) => self.answer = AnswerState::Failed(le),
            Step::Fetch => self.push(Pending::Fetched(0)),
            Step::Idle => {}
            _ => {
                self.failure = e;
                self.push(Pending::SignInFailed);
            }
        }
        self.step = Step::Idle;
        self.deadline = None;
        self.due = Due::None;
    }

    /// End the step in progress without reporting it (the caller gave up on it, e.g. by
    /// signing out), drop a login answer not taken yet, and forget the connection; returns
    /// whether one was open or being opened (the caller closes it).
    pub fn abandon(&mut self) -> bool {
        if self.step == Step::StageTwo {
            // It may be half built.
            self.config = None;
        }
        self.step = Step::Idle;
        self.deadline = None;
        if let AnswerState::Ready { .. } = self.answer {
            self.answer = AnswerState::None;
        }
        let had = self.conn != Conn::None;
        self.reset_conn();
        had
    }

    /// Report that the connection requested by [`WtvpEvent::Connect`] could not be opened.
    pub fn handle_connect_failed(&mut self, _now: Instant) {
        if self.conn == Conn::Connecting {
            self.reset_conn();
            self.fail_step(ClientError::Closed, LoginError::Closed);
        }
    }

    /// Report that the peer closed the open connection (or it was lost).
    ///
    /// Ignored while a new connection is being opened (the old one was already given up).
    pub fn handle_closed(&mut self, _now: Instant) {
        if self.conn != Conn::Open {
            return;
        }
        self.reset_conn();
        if self.step != Step::Idle {
            self.fail_step(ClientError::Closed, LoginError::Closed);
        }
    }

    /// Feed bytes received on the current connection; returns how many were taken (all of them).
    ///
    /// Bytes that arrive before the step's request has been taken whole (by
    /// [`poll_transmit`](Self::poll_transmit) or [`advance_transmit`](Self::advance_transmit),
    /// including the `GET` that follows a SECURE ON block) answer nothing and fail the step
    /// with [`MessageError::Unsolicited`].
    pub fn handle_input(&mut self, now: Instant, bytes: &[u8]) -> Result<usize, ClientError> {
        if self.conn != Conn::Open || self.step == Step::Idle {
            return Err(ClientError::State);
        }
        // Without a buffer nothing has been asked (the step waits for one).
        let pending = self.due != Due::None || self.tx_len > 0 || !self.has_buffer();
        let result = if pending && !bytes.is_empty() {
            let e = MessageError::Unsolicited;
            Err((ClientError::Malformed(e), LoginError::Malformed(e)))
        } else {
            self.take_input(now, bytes)
        };
        match result {
            Ok(()) => Ok(bytes.len()),
            Err((e, le)) => {
                self.abort(e, le);
                Err(e)
            }
        }
    }

    fn abort(&mut self, e: ClientError, le: LoginError) {
        self.fail_step(e, le);
        self.push(Pending::Disconnect);
        self.reset_conn();
    }

    /// Take received bytes: head lines one at a time (each is taken, then dropped from `rx`),
    /// then the body (kept, skipped or expanded, see [`Part`]); acts on a completed response.
    // No heap to box into: the pair carries the server message for both error views.
    #[allow(clippy::result_large_err)]
    fn take_input(
        &mut self,
        now: Instant,
        mut bytes: &[u8],
    ) -> Result<(), (ClientError, LoginError)> {
        let mal = |e: MessageError| (ClientError::Malformed(e), LoginError::Malformed(e));
        let too_large = (ClientError::Capacity, LoginError::TooLarge);
        let cap = self.buf.as_ref().len();
        loop {
            let clen = self.incoming.head.content_length.unwrap_or(0);
            match self.incoming.part {
                Part::Head => {
                    if bytes.is_empty() {
                        return Ok(());
                    }
                    let eol = bytes.iter().position(|&c| c == b'\n');
                    let n = eol.map_or(bytes.len(), |i| i + 1);
                    let (chunk, rest) =
                        (bytes.get(..n).unwrap_or(&[]), bytes.get(n..).unwrap_or(&[]));
                    bytes = rest;
                    let end = self.rx_len.saturating_add(n);
                    // A line longer than the buffer is refused, never cut.
                    let dst = self
                        .buf
                        .as_mut()
                        .get_mut(self.rx_len..end)
                        .ok_or(mal(MessageError::HeadTooLong))?;
                    dst.copy_from_slice(chunk);
                    self.rx_len = end;
                    if eol.is_none() {
                        if self.rx_len >= cap {
                            return Err(mal(MessageError::HeadTooLong));
                        }
                        continue;
                    }
                    let line = self.buf.as_ref().get(..end - 1).unwrap_or(&[]);
                    let ended = take_line(
                        &mut self.incoming,
                        &mut self.services,
                        &mut self.ticket,
                        &mut self.config,
                        self.step,
                        self.key,
                        line,
                    )?;
                    self.rx_len = 0;
                    if ended {
                        let h = &self.incoming.head;
                        let keep = matches!(self.step, Step::Login(_) | Step::Fetch);
                        // A kept body stays in `rx`: one the buffer cannot hold is refused,
                        // never cut short.
                        if keep && !h.lzpf && clen_of(h) > cap {
                            return Err(too_large);
                        }
                        self.incoming.part = if h.lzpf {
                            Part::Lzpf
                        } else {
                            Part::Plain {
                                left: clen_of(h),
                                keep,
                            }
                        };
                    }
                }
                part => {
                    // A kept or LZPF body is appended to `rx`; a skipped one passes through its
                    // start. The server→client RC4 stream runs over every body byte (it
                    // continues across responses).
                    let (left, keep) = match part {
                        Part::Plain { left, keep } => (left, keep),
                        _ => (usize::MAX, true),
                    };
                    let at = if keep { self.rx_len } else { 0 };
                    let n = left.min(bytes.len());
                    let n = if keep { n } else { n.min(cap) };
                    let chunk = bytes.get(..n).unwrap_or(&[]);
                    bytes = bytes.get(n..).unwrap_or(&[]);
                    let end = at.saturating_add(n);
                    let dst = self.buf.as_mut().get_mut(at..end).ok_or(too_large)?;
                    dst.copy_from_slice(chunk);
                    if let Some(s) = self.secure.as_mut() {
                        s.apply_s2c(dst);
                    }
                    if keep {
                        self.rx_len = end;
                    }
                    if part != Part::Lzpf {
                        let left = left - n;
                        self.incoming.part = Part::Plain { left, keep };
                        if left == 0 {
                            return self.complete(now, bytes, (0, if keep { end } else { 0 }));
                        }
                        if bytes.is_empty() {
                            return Ok(());
                        }
                        continue;
                    }
                    // The LZPF stream's end is found by decoding it: expand into the free space
                    // after the wire form (which stays for a retry with more bytes).
                    let (wire, free) = self.buf.as_mut().split_at_mut(end);
                    let out = free.get_mut(..clen).ok_or(too_large)?;
                    return match lzpf::decompress(wire, clen, out) {
                        Err(LzpfError::Truncated) => Ok(()),
                        Err(e) => Err((ClientError::Lzpf(e), LoginError::Lzpf(e))),
                        Ok(d) if d.consumed != end => Err(mal(MessageError::BodyTooLong)),
                        Ok(d) => self.complete(now, &[], (end, d.out_len)),
                    };
                }
            }
        }
    }

    /// Act on a completed response; `rest` are the bytes received after it (there must be none).
    // No heap to box into: the pair carries the server message for both error views.
    #[allow(clippy::result_large_err)]
    fn complete(
        &mut self,
        now: Instant,
        rest: &[u8],
        body: (usize, usize),
    ) -> Result<(), (ClientError, LoginError)> {
        if !rest.is_empty() {
            let e = MessageError::BodyTooLong;
            return Err((ClientError::Malformed(e), LoginError::Malformed(e)));
        }
        let close = self.incoming.head.close;
        let step = self.step;
        let res = self.on_response(now, step, body);
        self.reset_rx();
        if close && self.conn == Conn::Open {
            self.push(Pending::Disconnect);
            self.reset_conn();
        }
        res
    }

    // No heap to box into: the pair carries the server message for both error views.
    #[allow(clippy::result_large_err)]
    /// Act on the response taken into `incoming` (its body, if kept, at `body` in `rx`).
    fn on_response(
        &mut self,
        now: Instant,
        step: Step,
        body: (usize, usize),
    ) -> Result<(), (ClientError, LoginError)> {
        let inc = &self.incoming;
        let (status, reason) = (inc.head.status.unwrap_or(0), &inc.reason);
        if !matches!(step, Step::Login(_) | Step::Fetch) && status != 200 {
            msgr_warn!("wtvp: sign-in step refused with status {}", status);
            return Err((
                ClientError::Refused(status, *reason),
                LoginError::Server {
                    status,
                    message: *reason,
                },
            ));
        }
        let missing = |h: &'static str| (ClientError::MissingHeader(h), LoginError::ServiceLogin);
        let chal_err = |e| (ClientError::Challenge(e), LoginError::ServiceLogin);
        match step {
            Step::Preregister => {
                let Learned::InitialKey(key) = inc.learned else {
                    return Err(missing("wtv-initial-key"));
                };
                self.key = Some(key.map_err(chal_err)?);
                // The step stays until the next one opens, so a missing head-waiter fails
                // the attempt with `SignInFailed` like any other step failure.
                self.open_service(now, "wtv-head-waiter", Step::Challenge)
                    .map_err(|e| (e, LoginError::ServiceLogin))?;
            }
            Step::Challenge => {
                let Learned::Challenge(answer) = &inc.learned else {
                    return Err(missing("wtv-challenge"));
                };
                let s = answer.as_ref().map_err(|e| chal_err(*e))?;
                let mut resp = [0u8; 96];
                sec::challenge_response_b64(s, &mut resp).map_err(chal_err)?;
                // Key chaining: the next challenge is encrypted under the new key.
                self.key = Some(s.new_key);
                self.session_keys = Some((s.session_key1, s.session_key2));
                self.incoming.reset();
                self.url = Url::Fixed(b"wtv-head-waiter:/ValidateLogin?initial_login=true");
                self.step = Step::Validate;
                self.deadline = Some(now + DEFAULT_STEP_TIMEOUT);
                let r = self.queue_plain(Some(&resp));
                wipe(&mut resp);
                r.map_err(|e| (e, LoginError::ServiceLogin))?;
            }
            Step::Validate => {
                if self.ticket.is_none() {
                    return Err(missing("wtv-ticket"));
                }
                self.url = Url::Fixed(b"wtv-head-waiter:/login-stage-two?");
                // As after preregister: the step stays until stage two opens.
                self.open_service(now, "wtv-head-waiter", Step::StageTwo)
                    .map_err(|e| (e, LoginError::ServiceLogin))?;
            }
            Step::StageTwo => {
                let seen = inc.config_seen;
                if let Some(c) = self.config.as_mut() {
                    c.finish(seen);
                }
                self.signed_in = true;
                self.step = Step::Idle;
                self.deadline = None;
                msgr_info!("wtvp: signed in to the service");
                self.push(Pending::SignedIn);
            }
            Step::Login(mode) => {
                self.step = Step::Idle;
                self.deadline = None;
                self.body = body;
                let body = self.body_bytes();
                let inc = &self.incoming;
                let r = if inc.head.deflate && status == 200 {
                    Err(LoginError::UnsupportedEncoding)
                } else {
                    login::interpret(mode, status, inc.reason.as_str().as_bytes(), body).map(|_| ())
                };
                self.answer = match r {
                    Ok(()) => AnswerState::Ready { mode },
                    Err(e) => {
                        msgr_warn!("wtvp: messengerlogin gave no answer (status {})", status);
                        AnswerState::Failed(e)
                    }
                };
            }
            Step::Fetch => {
                self.step = Step::Idle;
                self.deadline = None;
                self.body = body;
                self.push(Pending::Fetched(status));
            }
            Step::Idle => return Err((ClientError::State, LoginError::State)),
        }
        Ok(())
    }

    /// Return the plain body of the last response to [`WtvpClient::fetch`].
    pub fn fetched_body(&self) -> &[u8] {
        self.body_bytes()
    }

    fn body_bytes(&self) -> &[u8] {
        let (start, len) = self.body;
        self.buf
            .as_ref()
            .get(start..start.saturating_add(len))
            .unwrap_or(&[])
    }

    /// Wipe the last response body (it may hold a login answer) and forget it.
    fn forget_body(&mut self) {
        let (start, len) = core::mem::take(&mut self.body);
        if let Some(b) = self.buf.as_mut().get_mut(start..start.saturating_add(len)) {
            wipe(b);
        }
    }
}

/// Which request [`write_request`] writes.
#[derive(Clone, Copy)]
enum Req<'a> {
    /// A plain `GET` (box login steps), with the preregister headers or a challenge response.
    Plain {
        prereg: bool,
        response: Option<&'a [u8]>,
    },
    /// The plaintext `SECURE ON` block that opens an encrypted connection.
    SecureOn { ticket: &'a [u8] },
    /// A `GET` sent encrypted after `SECURE ON` (only `wtv-request-type`).
    Encrypted,
}

/// Write one request (layouts: module documentation; they match the recorded sessions).
fn write_request(
    w: &mut Writer<'_>,
    id: &BoxIdentity<'_>,
    url: &[u8],
    incarnation: u32,
    req: Req<'_>,
) -> Result<(), MessageError> {
    let lang = id.accept_language.as_bytes();
    let ssid = id.ssid.as_bytes();
    let incarnation_line = |w: &mut Writer<'_>| {
        w.put(b"wtv-incarnation: ")?;
        w.put_u32(incarnation)?;
        w.put(b"\r\n")
    };
    match req {
        Req::SecureOn { ticket } => {
            w.put(b"SECURE ON\r\n")?;
            w.header(b"Accept-Language", lang)?;
            w.header(b"wtv-ticket", ticket)?;
            w.header(b"wtv-client-serial-number", ssid)?;
        }
        Req::Plain { .. } | Req::Encrypted => {
            w.put(b"GET ")?;
            w.put_field(url)?;
            w.put(b"\r\n")?;
            w.header(b"wtv-request-type", b"primary")?;
        }
    }
    if let Req::Plain { .. } = req {
        w.header(b"wtv-client-serial-number", ssid)?;
        w.header(b"Accept-Language", lang)?;
        incarnation_line(w)?;
    }
    if !matches!(req, Req::Encrypted) {
        for (n, v) in id.headers {
            w.header(n.as_bytes(), v.as_bytes())?;
        }
    }
    if let Req::Plain { prereg, response } = req {
        if prereg {
            for (n, v) in id.preregister_headers {
                w.header(n.as_bytes(), v.as_bytes())?;
            }
        }
        if let Some(r) = response {
            w.header(b"wtv-challenge-response", r)?;
        }
    }
    if let Req::SecureOn { .. } = req {
        incarnation_line(w)?;
    }
    w.put(b"\r\n")
}

fn clen_of(h: &HeadReader) -> usize {
    h.content_length.unwrap_or(0)
}

/// Take what the client needs from one complete head line (without its LF); returns whether
/// it was the empty line that ends the head. Services and the ticket are learned at once; the
/// step's secret and the stage-two configuration are kept for the end of the response.
// No heap to box into: the pair carries the server message for both error views.
#[allow(clippy::result_large_err)]
fn take_line(
    inc: &mut Incoming,
    services: &mut Services,
    ticket: &mut Option<Text<TICKET_CAP>>,
    config: &mut Option<MessengerConfig>,
    step: Step,
    key: Option<[u8; 8]>,
    line: &[u8],
) -> Result<bool, (ClientError, LoginError)> {
    let too_long = (ClientError::Capacity, LoginError::TooLarge);
    let line = inc
        .head
        .line(line)
        .map_err(|e| (ClientError::Malformed(e), LoginError::Malformed(e)))?;
    let (name, value) = match line {
        Line::Status(status, reason) => {
            inc.reason = login::ServerMessage::new(reason);
            if step == Step::StageTwo && status == 200 {
                *config = Some(MessengerConfig::default());
            }
            return Ok(false);
        }
        Line::End => return Ok(true),
        Line::Header(n, v) => (n, v),
    };
    let is = |h: &[u8]| name.eq_ignore_ascii_case(h);
    if is(b"wtv-service") {
        learn_service(services, value)?;
    } else if is(b"wtv-ticket") {
        if !inc.ticket_seen {
            inc.ticket_seen = true;
            *ticket = Some(Text::new(value).ok_or(too_long)?);
        }
    } else if matches!(inc.learned, Learned::None) {
        if step == Step::Preregister && is(b"wtv-initial-key") {
            inc.learned = Learned::InitialKey(sec::decode_des_key(value));
        } else if let (Step::Challenge, Some(k), true) = (step, key, is(b"wtv-challenge")) {
            inc.learned = Learned::Challenge(sec::open_challenge_b64(&k, value));
        }
    }
    if let (Step::StageTwo, Some(c)) = (step, config.as_mut()) {
        c.take_header(&mut inc.config_seen, name, value);
    }
    Ok(false)
}

/// Learn one `wtv-service` value (`reset`, or `name=… host=… port=…`).
// No heap to box into: the pair carries the server message for both error views.
#[allow(clippy::result_large_err)]
fn learn_service(services: &mut Services, v: &[u8]) -> Result<(), (ClientError, LoginError)> {
    if v == b"reset" {
        services.clear();
        return Ok(());
    }
    let (mut name, mut host, mut port) = (None, &b""[..], 0);
    for field in v.split(|&c| c == b' ') {
        if let Some(n) = field.strip_prefix(b"name=") {
            name = Some(n);
        } else if let Some(h) = field.strip_prefix(b"host=") {
            host = h;
        } else if let Some(p) = field.strip_prefix(b"port=") {
            port = parse_decimal(p)
                .and_then(|p| u16::try_from(p).ok())
                .unwrap_or(0);
        }
    }
    // The same checks the fixed-size fields made: printable text within the caps.
    let fits = |f: &[u8], cap: usize| f.len() <= cap && super::message::field_ok(f);
    if name.is_some_and(|n| !fits(n, SERVICE_NAME_CAP)) || !fits(host, SERVICE_HOST_CAP) {
        return Err((ClientError::Capacity, LoginError::TooLarge));
    }
    let Some(name) = name.filter(|_| port != 0) else {
        return Ok(());
    };
    if !services.set(name, host, port) {
        msgr_warn!("wtvp: service table full; a wtv-service line was dropped");
    }
    Ok(())
}

impl<'id, B: AsRef<[u8]> + AsMut<[u8]>> WtvpClient<'id, B> {
    /// Query whether a login-answer step waits for its buffer: call
    /// [`LoginTransport::request_answer`] again, with the same challenge, once it is lent.
    pub fn answer_awaits_buffer(&self) -> bool {
        self.due == Due::Url
    }

    /// Park the messengerlogin URL for `challenge` and send its request.
    fn start_answer(
        &mut self,
        now: Instant,
        mode: AnswerMode,
        challenge: &[u8],
    ) -> Result<(), LoginError> {
        let lu = self
            .config
            .as_ref()
            .map_or(&[][..], |c| c.login_url.as_bytes());
        // Within URL_CAP by the caps of both parts; a client buffer too short for it (never
        // the facade's) refuses it like an over-long challenge.
        self.url =
            park_url(self.buf.as_mut(), &[lu, b"?", challenge]).ok_or(LoginError::BadChallenge)?;
        self.secure_request(now, Step::Login(mode))
            .map_err(|_| LoginError::ServiceLogin)
    }
}

impl<B: AsRef<[u8]> + AsMut<[u8]>> LoginTransport for WtvpClient<'_, B> {
    /// Start the messengerlogin step. A client without its buffer (a lent one not lent yet)
    /// starts the step's timer and waits ([`WtvpClient::answer_awaits_buffer`]): call again
    /// with the same challenge once the buffer is lent (calls meanwhile change nothing).
    fn request_answer(&mut self, now: Instant, challenge: &[u8]) -> Result<(), LoginError> {
        if let (Step::Login(mode), Due::Url) = (self.step, self.due) {
            if !self.has_buffer() {
                return Ok(());
            }
            let deadline = self.deadline;
            self.due = Due::None;
            let r = self.start_answer(now, mode, challenge);
            if r.is_ok() {
                // The step's timer started with the first call.
                self.deadline = deadline;
            } else {
                self.step = Step::Idle;
                self.deadline = None;
            }
            return r;
        }
        if !self.signed_in || self.step != Step::Idle {
            return Err(LoginError::State);
        }
        let mode = login::check_challenge(challenge)?;
        if self.config.is_none() {
            return Err(LoginError::State);
        }
        self.forget_body();
        self.answer = AnswerState::None;
        msgr_debug!("wtvp: login answer requested (built-in client)");
        if !self.has_buffer() {
            let step = Step::Login(mode);
            self.step = step;
            self.deadline = Some(now + self.step_timeout(step));
            self.due = Due::Url;
            return Ok(());
        }
        self.start_answer(now, mode, challenge)
    }

    fn poll_answer(&mut self) -> Option<Result<LoginAnswer<'_>, LoginError>> {
        match core::mem::replace(&mut self.answer, AnswerState::None) {
            AnswerState::None => None,
            AnswerState::Failed(e) => Some(Err(e)),
            AnswerState::Ready { mode } => {
                Some(login::interpret(mode, 200, b"", self.body_bytes()))
            }
        }
    }

    fn handle_timeout(&mut self, now: Instant) {
        WtvpClient::handle_timeout(self, now);
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.deadline
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: BoxIdentity<'static> = BoxIdentity {
        ssid: "0123456789abcdef",
        accept_language: "en-US,en",
        headers: &[("wtv-system-version", "7253")],
        preregister_headers: &[],
        first_incarnation: 1,
    };

    /// A client with a 512-byte buffer, waiting for the preregister response.
    fn preregistering() -> WtvpClient<'static, [u8; 512]> {
        let mut c = WtvpClient::new(ID);
        assert_eq!(c.sign_in(Instant::ZERO, "10.0.0.1", 1615), Ok(()));
        assert!(matches!(
            c.poll_event(),
            Some(WtvpEvent::Connect { port: 1615, .. })
        ));
        assert_eq!(c.handle_connected(Instant::ZERO), Ok(()));
        let mut out = [0u8; 1024];
        assert!(c.poll_transmit(&mut out) > 0);
        c
    }

    fn failure(c: &mut WtvpClient<'static, [u8; 512]>) -> Option<ClientError> {
        let mut f = None;
        while let Some(e) = c.poll_event() {
            if let WtvpEvent::SignInFailed(e) = e {
                f = Some(e);
            }
        }
        f
    }

    /// A header line longer than the buffer is refused with a typed error (a
    /// capacity error), never cut short.
    #[test]
    fn header_line_longer_than_the_receive_buffer_is_refused() {
        let mut c = preregistering();
        let mut big = b"200 OK\r\nwtv-filler: ".to_vec();
        big.resize(600, b'x');
        let r = c.handle_input(Instant::ZERO, &big);
        assert_eq!(r, Err(ClientError::Malformed(MessageError::HeadTooLong)));
        assert_eq!(
            r.map_err(ClientError::kind),
            Err(crate::ErrorKind::Capacity)
        );
        assert_eq!(
            failure(&mut c),
            Some(ClientError::Malformed(MessageError::HeadTooLong))
        );
    }

    /// A partial header line that fills the buffer (no room left for its LF) is
    /// refused, also when it arrives in pieces.
    #[test]
    fn header_line_filling_the_receive_buffer_is_refused() {
        let mut c = preregistering();
        assert_eq!(c.handle_input(Instant::ZERO, b"200 OK\r\n"), Ok(8));
        let mut line = b"wtv-filler: ".to_vec();
        line.resize(512, b'x');
        assert_eq!(c.handle_input(Instant::ZERO, &line[..300]), Ok(300));
        let r = c.handle_input(Instant::ZERO, &line[300..]);
        assert_eq!(r, Err(ClientError::Malformed(MessageError::HeadTooLong)));
        assert_eq!(
            failure(&mut c),
            Some(ClientError::Malformed(MessageError::HeadTooLong))
        );
    }

    /// A head several times the buffer is taken line by line, in any segmentation;
    /// the preregister body (not used) is skipped however long it is.
    #[test]
    fn head_and_skipped_body_longer_than_the_receive_buffer_are_taken() {
        for piece in [1, 7, 100, 4096] {
            let mut c = preregistering();
            let mut resp = b"200 OK\nConnection: Keep-Alive\n".to_vec();
            for i in 0..60 {
                resp.extend_from_slice(format!("wtv-filler-{i}: {}\n", "y".repeat(40)).as_bytes());
            }
            resp.extend_from_slice(b"wtv-initial-key: AAECAwQFBgc=\n");
            resp.extend_from_slice(b"wtv-service: name=wtv-head-waiter host=10.0.0.2 port=1601\n");
            resp.extend_from_slice(b"Content-type: text/tellyscript\nContent-length: 2000\n\n");
            resp.resize(resp.len() + 2000, b'z');
            assert!(resp.len() > 5 * 512);
            for p in resp.chunks(piece) {
                assert_eq!(
                    c.handle_input(Instant::ZERO, p),
                    Ok(p.len()),
                    "piece {piece}"
                );
            }
            let mut events = Vec::new();
            while let Some(e) = c.poll_event() {
                events.push(format!("{e:?}"));
            }
            assert_eq!(
                events,
                ["Disconnect", "Connect { host: \"10.0.0.2\", port: 1601 }"],
                "piece {piece}"
            );
            assert_eq!(c.key, Some([0, 1, 2, 3, 4, 5, 6, 7]));
        }
    }

    /// A sign-in step whose response leaves no head-waiter to go on to (here a
    /// `wtv-service: reset` with nothing after it) ends the attempt with one `SignInFailed`
    /// and no timer, and the box can sign in again (found by the `wtvp_client` fuzz target:
    /// the attempt used to end silently, leaving the facade waiting for the service forever).
    #[test]
    fn step_without_a_head_waiter_to_go_on_to_fails_the_attempt() {
        // After preregister.
        let mut c = preregistering();
        let resp = b"200 OK\nwtv-initial-key: AAECAwQFBgc=\nwtv-service: reset\n\n";
        assert_eq!(
            c.handle_input(Instant::ZERO, resp),
            Err(ClientError::NoService)
        );
        assert_eq!(failure(&mut c), Some(ClientError::NoService));
        assert_eq!(c.poll_timeout(), None);
        assert_eq!(c.sign_in(Instant::ZERO, "10.0.0.1", 1615), Ok(()));
        // After ValidateLogin.
        let mut c = signed_in();
        c.signed_in = false;
        c.url = Url::Fixed(b"wtv-head-waiter:/ValidateLogin?initial_login=true");
        assert_eq!(
            c.open_service(Instant::ZERO, "wtv-head-waiter", Step::Validate),
            Ok(())
        );
        assert!(matches!(c.poll_event(), Some(WtvpEvent::Connect { .. })));
        c.conn = Conn::Open;
        let resp = b"200 OK\nwtv-ticket: VGlja2V0\nwtv-service: reset\n\n";
        assert_eq!(
            c.handle_input(Instant::ZERO, resp),
            Err(ClientError::NoService)
        );
        assert_eq!(failure_of(&mut c), Some(ClientError::NoService));
        assert_eq!(c.poll_timeout(), None);
        assert_eq!(c.sign_in(Instant::ZERO, "10.0.0.1", 1615), Ok(()));
    }

    /// Bytes after a complete response are refused (the client never pipelines).
    #[test]
    fn bytes_after_a_complete_response_are_refused() {
        let mut c = preregistering();
        let r = c.handle_input(
            Instant::ZERO,
            b"200 OK\nwtv-initial-key: AAECAwQFBgc=\nContent-length: 2\n\nab!",
        );
        assert_eq!(r, Err(ClientError::Malformed(MessageError::BodyTooLong)));
    }

    /// A client signed in to a head-waiter at 10.0.0.2 with made-up session keys.
    fn signed_in() -> WtvpClient<'static, [u8; 1024]> {
        let mut c: WtvpClient<'static, [u8; 1024]> = WtvpClient::new(ID);
        c.session_keys = Some(([1; 16], [2; 16]));
        c.ticket = Text::new(b"VGlja2V0");
        c.key = Some([3; 8]);
        assert!(c.services.set(b"wtv-head-waiter", b"10.0.0.2", 1601));
        c.signed_in = true;
        c
    }

    fn connect_and_send(c: &mut WtvpClient<'static, [u8; 1024]>) {
        assert!(matches!(
            c.poll_event(),
            Some(WtvpEvent::Connect { port: 1601, .. })
        ));
        assert_eq!(c.handle_connected(Instant::ZERO), Ok(()));
        let mut out = [0u8; 1024];
        while c.poll_transmit(&mut out) > 0 {}
    }

    /// A body the step keeps that the buffer cannot hold fails at once with a capacity error.
    #[test]
    fn kept_body_larger_than_the_receive_buffer_is_a_capacity_error() {
        let mut c = signed_in();
        assert_eq!(c.fetch(Instant::ZERO, b"wtv-head-waiter:/x"), Ok(()));
        connect_and_send(&mut c);
        let resp = b"200 OK\r\nContent-length: 1025\r\n\r\nbody";
        assert_eq!(
            c.handle_input(Instant::ZERO, resp),
            Err(ClientError::Capacity)
        );
        assert_eq!(c.poll_event(), Some(WtvpEvent::Fetched(0)));
        assert_eq!(c.poll_event(), Some(WtvpEvent::Disconnect));
        assert_eq!(c.poll_event(), None);
    }

    /// A signed-in client whose stage-two request is on the wire, its answer not yet begun.
    fn stage_two_sent() -> WtvpClient<'static, [u8; 1024]> {
        let mut c = signed_in();
        c.signed_in = false;
        c.url = Url::Fixed(b"wtv-head-waiter:/login-stage-two?");
        assert_eq!(
            c.open_service(Instant::ZERO, "wtv-head-waiter", Step::StageTwo),
            Ok(())
        );
        connect_and_send(&mut c);
        c
    }

    /// The server→client RC4 stream runs on over a skipped body: stage two's body (not kept)
    /// and then a fetched body on the same SECURE connection decrypt as one stream.
    #[test]
    fn rc4_stream_continues_across_a_skipped_body() {
        let mut c = stage_two_sent();
        let mut server = SecureStreams::new(&[1; 16], &[2; 16], c.incarnation);
        let mut skipped = [b's'; 1500];
        server.apply_s2c(&mut skipped);
        let mut resp = b"200 OK\nwtv-messenger-authorized: 1\nwtv-user-name: a\n".to_vec();
        resp.extend_from_slice(b"Content-length: 1500\n\n");
        resp.extend_from_slice(&skipped);
        for p in resp.chunks(333) {
            assert_eq!(c.handle_input(Instant::ZERO, p), Ok(p.len()));
            assert!(c.config().is_none() || c.is_signed_in());
        }
        assert_eq!(c.poll_event(), Some(WtvpEvent::SignedIn));
        let cfg = c.config().expect("config");
        assert!(cfg.authorized && cfg.user_name.is_some());
        assert_eq!(c.fetch(Instant::ZERO, b"wtv-head-waiter:/x"), Ok(()));
        let mut out = [0u8; 1024];
        assert!(
            c.poll_transmit(&mut out) > 0,
            "request on the same connection"
        );
        assert_eq!(c.poll_event(), None);
        let mut body = *b"hello";
        server.apply_s2c(&mut body);
        let mut resp = b"200 OK\nContent-length: 5\n\n".to_vec();
        resp.extend_from_slice(&body);
        assert_eq!(c.handle_input(Instant::ZERO, &resp), Ok(resp.len()));
        assert_eq!(c.poll_event(), Some(WtvpEvent::Fetched(200)));
        assert_eq!(c.fetched_body(), b"hello");
    }

    /// A stage two that fails after its head began leaves no half-built configuration.
    #[test]
    fn failed_stage_two_leaves_no_configuration() {
        let mut c = stage_two_sent();
        let head = b"200 OK\nwtv-messenger-authorized: 1\nwtv-user-name: a\n";
        assert_eq!(c.handle_input(Instant::ZERO, head), Ok(head.len()));
        assert!(c.config().is_none());
        c.handle_closed(Instant::ZERO);
        assert_eq!(
            c.poll_event(),
            Some(WtvpEvent::SignInFailed(ClientError::Closed))
        );
        assert!(c.config().is_none() && c.config.is_none());
    }

    fn failure_of(c: &mut WtvpClient<'static, [u8; 1024]>) -> Option<ClientError> {
        let mut f = None;
        while let Some(e) = c.poll_event() {
            if let WtvpEvent::SignInFailed(e) = e {
                f = Some(e);
            }
        }
        f
    }

    /// An LZPF body whose expanded form does not fit after the response is refused, not cut.
    #[test]
    fn lzpf_body_without_room_to_expand_is_a_capacity_error() {
        let mut c: WtvpClient<'static, [u8; 1024]> = WtvpClient::new(ID);
        assert_eq!(c.sign_in(Instant::ZERO, "10.0.0.1", 1615), Ok(()));
        assert_eq!(c.handle_connected(Instant::ZERO), Ok(()));
        let mut out = [0u8; 1024];
        assert!(c.poll_transmit(&mut out) > 0);
        let plain = [b'a'; 600];
        let mut z = [0u8; 1400];
        let n = lzpf::encode_literals(&plain, &mut z).expect("room for the stream");
        assert!(n < 700, "literal stream of {n} bytes");
        let mut resp = b"200 OK\r\nwtv-lzpf: 0\r\nContent-length: 600\r\n\r\n".to_vec();
        resp.extend_from_slice(&z[..n]);
        assert!(resp.len() < 1024 && resp.len() + 600 > 1024);
        assert_eq!(
            c.handle_input(Instant::ZERO, &resp),
            Err(ClientError::Capacity)
        );
        assert_eq!(failure_of(&mut c), Some(ClientError::Capacity));
    }

    /// A later line for a known service replaces it in place; a full pool refuses more.
    #[test]
    fn services_are_replaced_in_place_and_never_overflow() {
        let mut s = Services::new();
        assert!(s.set(b"wtv-1800", b"127.0.0.1", 1615));
        assert!(s.set(b"wtv-head-waiter", b"127.0.0.1", 1601));
        assert!(s.set(b"wtv-*", b"127.0.0.1", 1603));
        assert!(s.set(b"wtv-head-waiter", b"10.0.0.254", 1602));
        assert_eq!(s.position(b"wtv-head-waiter"), Some(1));
        let hw = s.get(1).map(|e| (e.host, e.port));
        assert_eq!(hw, Some((&b"10.0.0.254"[..], 1602)));
        assert_eq!(s.get(2).map(|e| e.name), Some(&b"wtv-*"[..]));
        assert!(s.set(b"wtv-passport", b"127.0.0.1", 1654));
        let mut n = 0;
        while s.set(
            &[b'a' + (n % 26) as u8, b'0' + (n / 26) as u8],
            b"192.168.100.100",
            1,
        ) {
            n += 1;
        }
        assert!(s.used <= SERVICE_POOL && SERVICE_POOL - s.used < ENTRY_HEAD + 2 + 15);
        assert_eq!(s.get(0).map(|e| e.port), Some(1615));
        s.clear();
        assert_eq!(s.position(b"wtv-1800"), None);
    }

    /// A stock minisrv lists about thirty services, sorted, on one host: the pool fills up
    /// before `wtv-passport` and `wtv-*`, and keeps room for them and the head-waiter.
    #[test]
    fn a_full_service_pool_keeps_room_for_the_sign_in_services() {
        let stock: [&[u8]; 30] = [
            b"ftp",
            b"http",
            b"https",
            b"irc",
            b"mailto",
            b"news",
            b"wtv-1800",
            b"wtv-author",
            b"wtv-chat",
            b"wtv-cookie",
            b"wtv-disk",
            b"wtv-favorite",
            b"wtv-flashrom",
            b"wtv-guide",
            b"wtv-head-waiter",
            b"wtv-home",
            b"wtv-log",
            b"wtv-mail",
            b"wtv-music",
            b"wtv-news",
            b"wtv-passport",
            b"wtv-register",
            b"wtv-setup",
            b"wtv-smartcard",
            b"wtv-star",
            b"wtv-tricks",
            b"wtv-update",
            b"wtvchat",
            b"wtv-partner",
            b"wtv-*",
        ];
        let host = b"minisrv.example.org";
        let mut s = Services::new();
        let mut dropped = 0;
        for (i, name) in stock.iter().enumerate() {
            if !s.set(name, host, 1600 + i as u16) {
                dropped += 1;
                assert!(!SIGN_IN_SERVICES.contains(name), "{name:?} was dropped");
            }
        }
        assert!(dropped > 0, "the list overflows the pool");
        assert!(s.used <= SERVICE_POOL);
        for name in SIGN_IN_SERVICES {
            let i = s.position(name).expect("a sign-in service is kept");
            let e = s.get(i).expect("entry");
            assert_eq!(e.host, &host[..]);
            let listed = stock.iter().position(|n| *n == name).expect("listed");
            assert_eq!(e.port, 1600 + listed as u16);
        }
        // Services listed first are kept while there is room beyond the reserve.
        assert_eq!(s.get(0).map(|e| e.name), Some(&b"ftp"[..]));
    }

    /// With the C ABI's identity, a ticket and a URL at their caps, every request fits the
    /// facade's transmit buffer on its own (the SECURE ON block is the largest).
    #[test]
    fn each_request_at_its_caps_fits_the_transmit_buffer() {
        let id = BoxIdentity {
            ssid: "81C0FFEE10B00254",
            accept_language: "en-US,en",
            headers: crate::ffi::client::WTVP_HEADERS,
            preregister_headers: crate::ffi::client::WTVP_PREREGISTER_HEADERS,
            first_incarnation: u32::MAX - 1,
        };
        let ticket = [b'T'; TICKET_CAP];
        let url = [b'u'; URL_CAP];
        let response = [b'r'; 128];
        let len = |url: &[u8], req: Req<'_>| {
            let mut buf = [0u8; crate::client::WTVP_TX];
            let mut w = Writer::new(&mut buf);
            write_request(&mut w, &id, url, u32::MAX, req).map(|()| w.len())
        };
        let prereg = b"wtv-1800:/preregister?scriptless-visit-reason=10&0";
        let validate = b"wtv-head-waiter:/ValidateLogin?initial_login=true";
        let plain = |prereg, response| Req::Plain { prereg, response };
        assert_eq!(len(b"", Req::SecureOn { ticket: &ticket }), Ok(942));
        assert_eq!(len(&url, Req::Encrypted), Ok(676));
        assert_eq!(len(validate, plain(false, Some(&response[..]))), Ok(641));
        assert!(len(prereg, plain(true, None)).is_ok());
    }

    /// A login URL at its cap with a challenge at its limit fits the request URL: with the C
    /// ABI's identity and a ticket at its cap it waits at the end of the smallest buffer the
    /// facade lends ([`WTVP_BUF`](crate::client::WTVP_BUF)) while
    /// SECURE ON is sent, then goes out whole in the encrypted `GET`. One byte more of
    /// challenge is refused as a bad challenge, never cut.
    #[test]
    fn longest_login_url_and_challenge_fit_the_url() {
        type Facade = WtvpClient<'static, [u8; crate::client::WTVP_BUF]>;
        let id = BoxIdentity {
            ssid: "81C0FFEE10B00254",
            accept_language: "en-US,en",
            headers: crate::ffi::client::WTVP_HEADERS,
            preregister_headers: crate::ffi::client::WTVP_PREREGISTER_HEADERS,
            first_incarnation: 1,
        };
        let mut c: Facade = WtvpClient::new(id);
        let mut url = b"wtv-passport:/".to_vec();
        url.resize(super::super::headwaiter::URL_CAP, b'l');
        let mut cfg = MessengerConfig::default();
        cfg.login_url = Text::new(&url).expect("login URL at its cap");
        c.config = Some(cfg);
        c.signed_in = true;
        c.session_keys = Some(([1; 16], [2; 16]));
        c.ticket = Text::new(&[b'T'; TICKET_CAP]);
        assert!(c.services.set(b"wtv-passport", b"10.0.0.1", 1654));
        let challenge = [b'7'; login::MAX_CHALLENGE_LEN];
        assert_eq!(c.request_answer(Instant::ZERO, &challenge), Ok(()));
        assert_eq!(c.url, Url::Parked(URL_CAP));
        assert_eq!(c.url().get(url.len() + 1..), Some(&challenge[..]));
        assert!(matches!(
            c.poll_event(),
            Some(WtvpEvent::Connect { port: 1654, .. })
        ));
        assert_eq!(c.handle_connected(Instant::ZERO), Ok(()));
        let mut sent = Vec::new();
        let mut out = [0u8; 300];
        loop {
            let n = c.poll_transmit(&mut out);
            if n == 0 {
                break;
            }
            sent.extend_from_slice(&out[..n]);
        }
        let get_at = sent
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("SECURE ON")
            + 4;
        let mut get = sent[get_at..].to_vec();
        SecureStreams::new(&[1; 16], &[2; 16], c.incarnation).apply_c2s(&mut get);
        let mut expected = b"GET ".to_vec();
        expected.extend_from_slice(&url);
        expected.push(b'?');
        expected.extend_from_slice(&challenge);
        expected.extend_from_slice(b"\r\nwtv-request-type: primary\r\n\r\n");
        assert_eq!(get, expected);
        let mut d: Facade = WtvpClient::new(id);
        d.config = c.config.clone();
        d.signed_in = true;
        let longer = [b'7'; login::MAX_CHALLENGE_LEN + 1];
        assert_eq!(
            d.request_answer(Instant::ZERO, &longer),
            Err(LoginError::BadChallenge)
        );
    }

    /// A client whose buffer cannot hold a URL refuses it with a typed error.
    #[test]
    fn url_longer_than_the_receive_buffer_is_refused() {
        let mut c: WtvpClient<'static, [u8; 64]> = WtvpClient::new(ID);
        c.signed_in = true;
        assert!(c.services.set(b"wtv-head-waiter", b"10.0.0.2", 1601));
        let mut url = b"wtv-head-waiter:/".to_vec();
        url.resize(65, b'u');
        assert_eq!(c.fetch(Instant::ZERO, &url), Err(ClientError::Capacity));
        assert_eq!(c.fetch(Instant::ZERO, &url[..64]), Ok(()));
        assert_eq!(c.url(), &url[..64]);
        let too_long = [b'u'; URL_CAP + 1];
        let mut d: WtvpClient<'static, [u8; 1024]> = WtvpClient::new(ID);
        d.signed_in = true;
        assert_eq!(
            d.fetch(Instant::ZERO, &too_long),
            Err(ClientError::Capacity)
        );
    }

    /// A URL a request line cannot carry is refused by `fetch` itself (found by the
    /// `wtvp_client` fuzz target: it used to be accepted and fail when the request was
    /// written, as a `Fetched(0)` after the connection had been opened).
    #[test]
    fn fetch_of_a_url_with_a_line_break_is_refused_at_once() {
        let mut c = signed_in();
        assert_eq!(
            c.fetch(Instant::ZERO, b"wtv-head-waiter:/x\r\nEvil: 1"),
            Err(ClientError::Malformed(MessageError::BadField))
        );
        assert_eq!(c.poll_event(), None);
        assert_eq!(c.poll_timeout(), None);
        assert_eq!(c.fetch(Instant::ZERO, b"wtv-head-waiter:/x"), Ok(()));
    }

    /// Server bytes that arrive after SECURE ON but before the encrypted request answer
    /// nothing: the step fails with a typed error and the connection is dropped.
    #[test]
    fn bytes_before_the_encrypted_request_are_refused() {
        let mut c = signed_in();
        assert_eq!(c.fetch(Instant::ZERO, b"wtv-head-waiter:/x"), Ok(()));
        assert!(matches!(
            c.poll_event(),
            Some(WtvpEvent::Connect { port: 1601, .. })
        ));
        assert_eq!(c.handle_connected(Instant::ZERO), Ok(()));
        assert_eq!(c.handle_input(Instant::ZERO, b""), Ok(0));
        let e = ClientError::Malformed(MessageError::Unsolicited);
        assert_eq!(c.handle_input(Instant::ZERO, b"200 OK\r\n"), Err(e));
        assert_eq!(e.kind(), crate::ErrorKind::Unexpected);
        assert_eq!(c.poll_event(), Some(WtvpEvent::Fetched(0)));
        assert_eq!(c.poll_event(), Some(WtvpEvent::Disconnect));
        assert_eq!(c.poll_timeout(), None);
        let mut out = [0u8; 64];
        assert_eq!(c.poll_transmit(&mut out), 0);
    }

    /// A client with a lent buffer for its login answer: signed in, configured, knowing the
    /// login service, holding no buffer.
    fn borrowing_signed_in() -> WtvpClient<'static, &'static mut [u8]> {
        let mut c = WtvpClient::borrowing(ID);
        let mut cfg = MessengerConfig::default();
        cfg.login_url = Text::new(b"wtv-passport:/messengerlogin").expect("URL");
        c.config = Some(cfg);
        c.signed_in = true;
        c.session_keys = Some(([1; 16], [2; 16]));
        c.ticket = Text::new(b"VGlja2V0");
        assert!(c.services.set(b"wtv-passport", b"10.0.0.1", 1654));
        c
    }

    /// Without its buffer a login-answer step starts its timer and waits, sending nothing;
    /// lent the buffer, the same call goes on under the first deadline, and the buffer can be
    /// taken back (wiped) only once the step has ended.
    #[test]
    fn a_login_answer_step_waits_for_its_buffer_with_its_timer_running() {
        let mut c = borrowing_signed_in();
        let challenge = b"ct=1,rver=1,wp=FS_40SEC_0_COMPACT,lc=1033,id=507";
        let t0 = Instant::from_millis(1000);
        assert!(!c.has_buffer() && !c.needs_buffer());
        assert_eq!(c.request_answer(t0, challenge), Ok(()));
        assert!(c.answer_awaits_buffer() && c.needs_buffer());
        let deadline = c.poll_timeout().expect("the step timer runs");
        assert_eq!(c.poll_event(), None, "no connection while it waits");
        assert!(c.transmit_bytes().is_empty());
        // Asked again without the buffer: nothing changes.
        let t1 = Instant::from_millis(5000);
        assert_eq!(c.request_answer(t1, challenge), Ok(()));
        assert_eq!(c.poll_timeout(), Some(deadline));
        let buf: &'static mut [u8] = Box::leak(vec![0u8; crate::client::WTVP_BUF].into());
        assert!(c.lend_buffer(buf).is_ok());
        assert!(c.take_back_buffer().is_none(), "needed by the step");
        assert_eq!(c.request_answer(t1, challenge), Ok(()));
        assert!(!c.answer_awaits_buffer());
        assert_eq!(
            c.poll_timeout(),
            Some(deadline),
            "the first call's deadline"
        );
        assert!(matches!(
            c.poll_event(),
            Some(WtvpEvent::Connect { port: 1654, .. })
        ));
        assert_eq!(c.handle_connected(t1), Ok(()));
        assert!(c.transmit_bytes().starts_with(b"SECURE ON\r\n"));
        c.handle_timeout(deadline);
        assert!(matches!(c.poll_answer(), Some(Err(LoginError::Timeout))));
        assert!(!c.needs_buffer());
        let buf = c.take_back_buffer().expect("given back after the step");
        assert!(buf.iter().all(|&b| b == 0), "wiped");
        assert!(!c.has_buffer());
    }

    /// A step that times out while it waits for its buffer fails as any step does, and a
    /// sign-in started without the buffer connects but queues its request only once lent.
    #[test]
    fn steps_without_their_buffer_time_out_or_wait_to_send() {
        let mut c = borrowing_signed_in();
        let t0 = Instant::from_millis(1000);
        assert_eq!(c.request_answer(t0, b"ct=1,rver=1"), Ok(()));
        let deadline = c.poll_timeout().expect("timer");
        c.handle_timeout(deadline);
        assert!(matches!(c.poll_answer(), Some(Err(LoginError::Timeout))));
        assert!(!c.needs_buffer() && !c.answer_awaits_buffer());

        let mut c: WtvpClient<'static, &'static mut [u8]> = WtvpClient::borrowing(ID);
        assert_eq!(c.sign_in(t0, "10.0.0.1", 1615), Ok(()));
        assert!(c.needs_buffer());
        assert!(matches!(c.poll_event(), Some(WtvpEvent::Connect { .. })));
        assert_eq!(c.handle_connected(t0), Ok(()));
        assert!(
            c.transmit_bytes().is_empty(),
            "nothing sent without the buffer"
        );
        assert_eq!(
            c.handle_input(t0, b"200 OK\n"),
            Err(ClientError::Malformed(MessageError::Unsolicited))
        );
        assert!(matches!(c.poll_event(), Some(WtvpEvent::SignInFailed(_))));
        assert!(!c.needs_buffer());

        assert_eq!(c.sign_in(t0, "10.0.0.1", 1615), Ok(()));
        while c.poll_event().is_some() {}
        assert_eq!(c.handle_connected(t0), Ok(()));
        let buf: &'static mut [u8] = Box::leak(vec![0u8; crate::client::WTVP_BUF].into());
        assert!(c.lend_buffer(buf).is_ok());
        assert!(c.transmit_bytes().starts_with(b"GET wtv-1800:/preregister"));
        assert!(c.abandon(), "a connection was open");
        assert!(!c.needs_buffer());
        assert!(c.take_back_buffer().is_some());
    }
}
