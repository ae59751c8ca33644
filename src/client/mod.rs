//! The whole Messenger client in one sans-I/O object: the notification session, the
//! switchboard conversations, the login transport (local password, the firmware's own WTVP
//! request, or the built-in WTVP client) and the IMS idle timer, wired together.
//!
//! The caller owns the sockets and the clock. Connections are named by [`ConnId`]:
//!
//! 1. After every input (`handle_*`, a command, or time passing) drain, in this order,
//!    [`Client::poll_transmit`] (write the bytes to the named connection),
//!    [`Client::poll_event`] (open or close connections, update the UI), then read
//!    [`Client::poll_timeout`] and call [`Client::handle_timeout`] no later than that.
//! 2. [`ClientEvent::Connect`] asks for a TCP connection; answer with
//!    [`Client::handle_connected`] or [`Client::handle_closed`].
//! 3. [`ClientEvent::closes_connection`] names the connection an event ends: close that
//!    socket and deliver no more input for it.
//!
//! Routing done here, so the UI never sees it: `XFR SB` requests and replies between the
//! conversations and the NS, `RNG` invitations accepted into conversations (unless IMS is off
//! or the table is full), login answers fetched through the configured transport, `IMS OFF`
//! after the idle period and `IMS ON` at the next user activity, and reconnecting the NS with
//! back-off after a lost connection.

use crate::ims::{Backoff, IdleTimer, ImsAction};
use crate::msnp::ns::{Contact, Group, NsConfig, NsError, NsEvent, NsSession, Phase};
use crate::msnp::sb::conversations::Outside;
use crate::msnp::sb::{
    ConversationId, ConversationSlot, Conversations, MessageId, MessageSlot, SbConfig, SbError,
    SbEvent,
};
use crate::msnp::wire::{ListKind, Status, TrId};
use crate::time::{Duration, Instant};
use crate::wtvp::client::{BoxIdentity, ClientError as WtvpError, WtvpClient, WtvpEvent};
use crate::wtvp::headwaiter::{MessengerConfig, RefusalReason};
use crate::wtvp::login::{DelegateLogin, LoginError, LoginRequest, LoginTransport};
use crate::ErrorKind;

/// What the built-in WTVP client needs to receive. Response heads are read line by line, so
/// it holds one partial head line, then the one body the client keeps (a login answer or a
/// fetched body; under LZPF the wire form and the expanded body after it); bodies of the
/// sign-in steps are skipped. Sized by `tests/wtvp_replay.rs` from the recorded minisrv sessions
/// (`../shared/transcripts/wtvp`: longest head line 216 bytes, largest kept body 703 — the
/// 355-byte MSNP8 ticket under LZPF), the longest line that must be accepted (a `wtv-ticket`
/// at its 512-byte cap, 526 bytes) and a 512-byte ticket under literal-only LZPF (1,032).
/// A longer head line fails the step with `MessageError::HeadTooLong` (a capacity error), a
/// larger kept body with `ClientError::Capacity` (`LoginError::TooLarge` for a login answer).
pub const WTVP_RX: usize = 1152;
/// What the built-in WTVP client needs to transmit: one request at a time (the encrypted `GET`
/// is written after its SECURE ON block has been taken). The largest is the SECURE ON block:
/// with the C ABI's box identity (303 bytes of identity headers) and a ticket at its 512-byte
/// cap that is 942 bytes; an encrypted `GET` with a URL at its 641-byte cap is 676, the
/// `ValidateLogin` request 641 (recorded: SECURE ON blocks of 583 bytes, plain requests of at
/// most 613). A request that does not fit fails its step with a typed error.
pub const WTVP_TX: usize = 944;
/// What the built-in WTVP client's one buffer must hold (WTVP is request/response: a request
/// is taken before its response arrives, so sending and receiving share it): [`WTVP_RX`], and
/// [`WTVP_TX`] plus a request URL at its cap ([`URL_CAP`](crate::wtvp::client::URL_CAP)),
/// which waits at its end while a new SECURE connection sends its SECURE ON block. The client
/// owns no buffer: it borrows the shared large-frame buffer ([`ClientStorage::large_frame`])
/// for each step, which must be at least this long in WTVP login mode.
pub const WTVP_BUF: usize = WTVP_TX + crate::wtvp::client::URL_CAP;
const _: () = assert!(WTVP_BUF >= WTVP_RX, "the WTVP buffer must hold a response");
const _: () = assert!(
    crate::msnp::sb::session::RX_CAP >= WTVP_BUF,
    "the shared large-frame buffer must hold a WTVP step"
);
/// Answer buffer of the delegate login transport (a Passport ticket is a few hundred bytes).
pub const DELEGATE_ANSWER: usize = 1024;
/// Most `XFR SB` requests in flight at once.
pub const MAX_PENDING_XFR: usize = 8;
/// Capacity of the facade's own event queue.
pub const NOTE_QUEUE: usize = 8;

/// Name one of the client's connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConnId {
    /// The notification server.
    Ns,
    /// The WebTV service (built-in WTVP client).
    Wtvp,
    /// The switchboard of one conversation.
    Sb(ConversationId),
}

impl ConnId {
    /// Return the number the C ABI and transports use: 0 = NS, 1 = WTVP, 2 + slot = SB.
    pub fn to_raw(self) -> u32 {
        match self {
            ConnId::Ns => 0,
            ConnId::Wtvp => 1,
            // A slot index is below the conversation capacity (a u16).
            ConnId::Sb(c) => 2u32.saturating_add(c.index() as u32),
        }
    }
}

/// Where login answers come from.
#[derive(Debug, Clone, Copy)]
pub enum LoginMode<'c> {
    /// Compute `USR MD5` answers locally from this password (MSNP2–MSNP7 only).
    Password(&'c [u8]),
    /// The firmware performs the SECURE `messengerlogin` request on its own WTVP connection:
    /// it gets [`ClientEvent::LoginRequest`] and answers with [`Client::complete_login`] or
    /// [`Client::fail_login`].
    Delegate {
        /// The login URL (`wtv-passport:/messengerlogin`).
        login_url: &'c str,
        /// Limit for the answer (the head-waiter's passportd timeout).
        passportd_timeout: Duration,
    },
    /// The built-in WTVP client signs the box in to the WebTV service at `host:port`, reads
    /// the head-waiter's Messenger headers and fetches each login answer over SECURE.
    Wtvp {
        /// The service's first address (`wtv-1800`).
        host: &'c str,
        /// Its port.
        port: u16,
        /// The box's identity (SSID and headers).
        identity: BoxIdentity<'c>,
        /// Use the MSNP server the head-waiter names instead of the one in `NsConfig`.
        use_service_server: bool,
    },
}

/// Everything the client needs to know before signing in.
#[derive(Debug, Clone, Copy)]
pub struct ClientConfig<'c> {
    /// The notification session (server, passport, dialects, identity, NS timers).
    pub ns: NsConfig<'c>,
    /// The switchboard conversations (timeouts, ack mode, text format).
    pub sb: SbConfig,
    /// Where login answers come from.
    pub login: LoginMode<'c>,
    /// Send `IMS OFF` after this long without user activity (`None`: never).
    pub idle_after: Option<Duration>,
    /// Limit for the TCP connection to the NS to open.
    pub connect_timeout: Duration,
    /// Reconnect back-off after a lost or failed NS connection.
    pub retry: Backoff,
    /// Reconnect by itself after the NS connection is lost (not after `OUT OTH` or sign-out).
    pub reconnect: bool,
    /// Join the switchboards others invite us to (`RNG`) while IMS is on.
    pub accept_invitations: bool,
}

impl<'c> ClientConfig<'c> {
    /// Make the WebTV defaults around an NS configuration and a login mode.
    pub fn new(ns: NsConfig<'c>, login: LoginMode<'c>) -> Self {
        ClientConfig {
            ns,
            sb: SbConfig::default(),
            login,
            idle_after: Some(Duration::from_secs(600)),
            connect_timeout: Duration::from_secs(240),
            retry: Backoff::new(Duration::from_secs(20), Backoff::DEFAULT_MAX),
            reconnect: true,
            accept_invitations: true,
        }
    }

    /// Take the head-waiter's timeouts (units and defaults: `wtvp::headwaiter`).
    pub fn apply_messenger(&mut self, m: &MessengerConfig) {
        self.sb = SbConfig {
            ..SbConfig::from_messenger(m)
        };
        self.connect_timeout = m.connect_timeout;
        self.retry = Backoff::from_messenger(m);
        if let LoginMode::Delegate {
            passportd_timeout, ..
        } = &mut self.login
        {
            *passportd_timeout = m.passportd_timeout;
        }
    }
}

/// Caller-provided storage for a [`Client`]: its capacities are these slices' lengths.
pub struct ClientStorage<'s> {
    /// Contact slots (the box profile: 150).
    pub contacts: &'s mut [Contact],
    /// Group slots (30).
    pub groups: &'s mut [Group],
    /// The pool for the contacts' and groups' strings: passports, decoded friendly names,
    /// phone numbers, group names (box default: 48 bytes per contact plus 16 per group, see
    /// [`crate::limits::DEFAULT_NAME_BYTES_PER_CONTACT`]).
    pub names: &'s mut [u8],
    /// Conversation slots (at least 4).
    pub conversations: &'s mut [ConversationSlot],
    /// Outgoing message parts queued or awaiting an outcome.
    pub messages: &'s mut [MessageSlot],
    /// The message pool: payloads of parts not yet written to their switchboard (a part takes
    /// its payload's length, at most 1664 bytes; the box default is 2048).
    pub message_bytes: &'s mut [u8],
    /// The large-frame buffer the conversations and the notification session share for
    /// received frames longer than their own buffers ([`crate::msnp::sb::session::RX_CAP`]
    /// bytes take the largest `MSG` a switchboard relays and the NS's login profile; see
    /// [`Client::input_paused`] and [`Conversations`] on the back-pressure it implies), and
    /// the built-in WTVP client borrows for each step (at least [`WTVP_BUF`] bytes then).
    pub large_frame: &'s mut [u8],
}

/// Why the client as a whole stopped or could not act.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientFailure {
    /// The WebTV service does not allow Messenger for this account.
    Refused(RefusalReason),
    /// The built-in WTVP client could not sign in to the service.
    Wtvp(WtvpError),
    /// The login answer could not be obtained.
    Login(LoginError),
    /// The NS connection did not open in time.
    ConnectTimeout,
}

impl ClientFailure {
    /// Return the crate-wide classification.
    pub fn kind(self) -> ErrorKind {
        match self {
            ClientFailure::Refused(_) => ErrorKind::Auth,
            ClientFailure::Wtvp(e) => e.kind(),
            ClientFailure::Login(e) => e.kind(),
            ClientFailure::ConnectTimeout => ErrorKind::Timeout,
        }
    }
}

/// Caller misuse of a [`Client`] command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientError {
    /// Not possible in the current state (for example before sign-in).
    WrongState,
    /// An argument was refused.
    BadArgument,
    /// The connection id names no live connection.
    UnknownConnection,
    /// A switchboard command failed.
    Sb(SbError),
    /// A notification-session command failed.
    Ns(crate::msnp::ns::LocalError),
    /// The login transport refused.
    Login(LoginError),
    /// A fixed capacity is exhausted.
    Capacity,
}

impl ClientError {
    /// Return the crate-wide classification.
    pub fn kind(self) -> ErrorKind {
        match self {
            ClientError::Sb(e) => e.kind(),
            ClientError::Ns(e) => e.kind(),
            ClientError::Login(e) => e.kind(),
            ClientError::Capacity => ErrorKind::Capacity,
            _ => ErrorKind::Local,
        }
    }
}

impl From<SbError> for ClientError {
    fn from(e: SbError) -> Self {
        ClientError::Sb(e)
    }
}

impl From<crate::msnp::ns::LocalError> for ClientError {
    fn from(e: crate::msnp::ns::LocalError) -> Self {
        ClientError::Ns(e)
    }
}

/// What the client reports; borrowed data lives until the next call on the client.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum ClientEvent<'a> {
    /// Open a TCP connection for `conn` to `host:port`, then call `handle_connected` or
    /// `handle_closed`.
    Connect {
        /// Which connection.
        conn: ConnId,
        /// Host name or dotted address.
        host: &'a str,
        /// Port.
        port: u16,
    },
    /// Close the connection `conn` (the client is done with it).
    Disconnect {
        /// Which connection.
        conn: ConnId,
    },
    /// Perform the SECURE `messengerlogin` request (delegate login mode).
    LoginRequest(LoginRequest<'a>),
    /// The client stopped trying to sign in.
    Failed(ClientFailure),
    /// The idle timer switched messaging off (`IMS OFF` sent) or back on.
    Ims {
        /// Whether instant messaging is now on.
        on: bool,
    },
    /// The NS will be reconnected at `at` (attempt number `attempt`).
    Reconnecting {
        /// When the next attempt starts.
        at: Instant,
        /// How many attempts have been made.
        attempt: u32,
    },
    /// Found at a list sync: this contact added you while you were away (on your reverse
    /// list but neither allowed nor blocked); answer as for `NsEvent::AddedBy`.
    PendingAdd {
        /// Their passport.
        passport: &'a [u8],
        /// Their friendly name (decoded).
        friendly: &'a str,
    },
    /// An invitation (`RNG`) was not taken up.
    InvitationIgnored {
        /// Who invited.
        inviter: &'a [u8],
        /// Why: messaging is off or the conversation table is full.
        reason: SbError,
    },
    /// A notification-session event for the UI.
    Ns(NsEvent<'a>),
    /// A conversation event for the UI.
    Sb(SbEvent<'a>),
}

impl ClientEvent<'_> {
    /// Name the connection this event ends, if any: close that socket.
    pub fn closes_connection(&self) -> Option<ConnId> {
        match self {
            ClientEvent::Disconnect { conn } => Some(*conn),
            ClientEvent::Ns(NsEvent::ConnectionLost { .. } | NsEvent::LoginFailed { .. }) => {
                Some(ConnId::Ns)
            }
            ClientEvent::Sb(SbEvent::Closed { conversation, .. }) => {
                Some(ConnId::Sb(*conversation))
            }
            _ => None,
        }
    }
}

/// The facade's own notes, owned so they can wait in a queue.
#[derive(Debug, Clone, Copy)]
enum Note {
    Disconnect(ConnId),
    Failed(ClientFailure),
    Ims(bool),
    Reconnecting(Instant, u32),
}

/// Where the NS link is, as far as connecting and retrying go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Link {
    /// Not started, or stopped for good.
    Idle,
    /// Waiting for the WTVP sign-in before the NS can start.
    AwaitService,
    /// The NS asked for a connection; it must open by the deadline.
    Connecting(Instant),
    /// The connection is open (signing in or signed in).
    Up,
    /// Waiting to reconnect.
    Retry(Instant),
}

// One login mode is live for the client's whole life, and the client itself lives in the
// caller's arena (or a static); boxing the WTVP client would need a heap the core does not have.
#[allow(clippy::large_enum_variant)]
enum Login<'s> {
    Password,
    Delegate(DelegateLogin<'s, DELEGATE_ANSWER>),
    Wtvp(WtvpClient<'s, &'s mut [u8]>),
}

/// The Messenger client: see the module documentation for the calling order.
pub struct Client<'s> {
    ns: NsSession<'s>,
    convs: Conversations<'s>,
    login: Login<'s>,
    login_pending: bool,
    idle: IdleTimer,
    retry: Backoff,
    reconnect: bool,
    accept_invitations: bool,
    connect_timeout: Duration,
    service_server: bool,
    server: ([u8; 64], usize, u16),
    link: Link,
    wtvp_open: bool,
    /// The NS's `LoginAnswerNeeded` event stays queued (it holds the challenge) while the WTVP
    /// client's login-answer step waits for the shared buffer.
    answer_event_kept: bool,
    pending_xfr: [Option<(TrId, ConversationId)>; MAX_PENDING_XFR],
    notes: [Option<Note>; NOTE_QUEUE],
    invitation_note: Option<SbError>,
    /// The WebTV service address (WTVP login mode); the password is never kept here.
    service: Option<(&'s str, u16)>,
    signed_out: bool,
    /// Set by `sign_in` until the first sync: the idle countdown starts only then.
    first_sync_pending: bool,
    /// After a list sync: the next contact index to look at for a pending "added you".
    pending_adds: Option<usize>,
    /// The facade already told the UI why this NS attempt ended (a `Failed` event): the
    /// NS's own terminal event only closes the socket and drives the retry policy, so the UI
    /// hears of one failure once.
    ns_end_reported: bool,
    /// The last `poll_event` found nothing and nothing happened since: the next one returns
    /// `None` at once. Cleared by every input, command and timer call.
    quiet: bool,
    /// The last `poll_transmit` found nothing to send and nothing happened since.
    tx_idle: bool,
    now: Instant,
}

impl<'s> Client<'s> {
    /// Make a client over the caller's storage. A password (password login mode) is copied
    /// into the notification session and not kept by reference, so the caller may wipe its
    /// copy once this returns.
    #[inline(never)]
    pub fn new(
        cfg: ClientConfig<'s>,
        storage: ClientStorage<'s>,
        now: Instant,
    ) -> Result<Self, ClientError> {
        let ClientStorage {
            contacts,
            groups,
            names,
            conversations,
            messages,
            message_bytes,
            large_frame,
        } = storage;
        let convs = Conversations::new(
            cfg.sb,
            cfg.ns.passport.as_bytes(),
            conversations,
            messages,
            message_bytes,
            large_frame,
        )?;
        let mut ns = NsSession::new(cfg.ns, contacts, groups, names);
        // The NS frames long payloads (the login profile, mail notices) in the buffer the
        // conversations share.
        ns.set_large_frame_room(convs.large_frame_capacity());
        let (login, service_server) = match cfg.login {
            LoginMode::Password(pw) => {
                ns.set_password(pw)?;
                (Login::Password, false)
            }
            LoginMode::Delegate {
                login_url,
                passportd_timeout,
            } => (
                Login::Delegate(DelegateLogin::new(login_url, passportd_timeout)),
                false,
            ),
            LoginMode::Wtvp {
                identity,
                use_service_server,
                ..
            } => {
                // The client borrows the shared buffer for each step.
                if convs.large_frame_capacity() < WTVP_BUF {
                    return Err(ClientError::BadArgument);
                }
                (
                    Login::Wtvp(WtvpClient::borrowing(identity)),
                    use_service_server,
                )
            }
        };
        let mut server = ([0u8; 64], 0usize, cfg.ns.port);
        let host = cfg.ns.host.as_bytes();
        let d = server
            .0
            .get_mut(..host.len())
            .ok_or(ClientError::BadArgument)?;
        d.copy_from_slice(host);
        server.1 = host.len();
        Ok(Client {
            ns,
            convs,
            login,
            login_pending: false,
            idle: IdleTimer::new(cfg.idle_after, now),
            retry: cfg.retry,
            reconnect: cfg.reconnect,
            accept_invitations: cfg.accept_invitations,
            connect_timeout: cfg.connect_timeout,
            service_server,
            server,
            link: Link::Idle,
            wtvp_open: false,
            answer_event_kept: false,
            pending_xfr: [None; MAX_PENDING_XFR],
            notes: [None; NOTE_QUEUE],
            invitation_note: None,
            service: match cfg.login {
                LoginMode::Wtvp { host, port, .. } => Some((host, port)),
                _ => None,
            },
            signed_out: false,
            first_sync_pending: false,
            pending_adds: None,
            ns_end_reported: false,
            quiet: false,
            tx_idle: false,
            now,
        })
    }
}

impl<'s> Client<'s> {
    // ----- getters -----

    /// Return the notification session (lists, own status, phase).
    pub fn ns(&self) -> &NsSession<'s> {
        &self.ns
    }

    /// Return the notification session for commands the client does not wrap (contacts,
    /// groups, privacy, `URL`, `SND`, `PAG`, phone numbers). Call
    /// [`user_activity`](Self::user_activity) for the ones the user started.
    pub fn ns_mut(&mut self) -> &mut NsSession<'s> {
        self.quiet = false;
        self.tx_idle = false;
        &mut self.ns
    }

    /// Return the conversations.
    pub fn conversations(&self) -> &Conversations<'s> {
        &self.convs
    }

    /// Query whether the client is signed in and its lists are in sync.
    pub fn is_online(&self) -> bool {
        self.ns.phase() == Phase::Online
    }

    /// Query whether [`poll_event`](Self::poll_event) has nothing to report until the next
    /// input, command or timer call (it returned `None` and nothing happened since).
    pub fn is_quiet(&self) -> bool {
        self.quiet
    }

    /// Query whether [`poll_transmit`](Self::poll_transmit) would return `None` at once
    /// (nothing was queued since it last found nothing to send).
    #[inline(always)]
    pub fn is_tx_idle(&self) -> bool {
        self.tx_idle
    }

    /// Query whether instant messaging is on (not switched off by the idle timer).
    pub fn ims_on(&self) -> bool {
        self.idle.state() == crate::ims::ImsState::On
    }

    /// Return the WebTV service's Messenger configuration (built-in WTVP login, once signed
    /// in to the service).
    pub fn messenger_config(&self) -> Option<&MessengerConfig> {
        match &self.login {
            Login::Wtvp(w) => w.config(),
            _ => None,
        }
    }

    /// Resolve a connection number made by [`ConnId::to_raw`] (stale numbers give `None`).
    pub fn conn_from_raw(&self, raw: u32) -> Option<ConnId> {
        match raw {
            0 => Some(ConnId::Ns),
            1 => Some(ConnId::Wtvp),
            n => {
                let index = usize::try_from(n.checked_sub(2)?).ok()?;
                self.convs.id_at(index).map(ConnId::Sb)
            }
        }
    }

    // ----- commands -----

    /// Start signing in (through the WebTV service first in WTVP login mode).
    pub fn sign_in(&mut self, now: Instant) -> Result<(), ClientError> {
        self.tick(now);
        if self.link != Link::Idle {
            return Err(ClientError::WrongState);
        }
        self.signed_out = false;
        self.first_sync_pending = true;
        self.pending_adds = None;
        self.retry.reset();
        self.idle.reset(now);
        match (self.service, &mut self.login) {
            (Some((host, port)), Login::Wtvp(w)) => {
                if w.config().is_some() && w.is_signed_in() {
                    return self.start_ns(now);
                }
                w.sign_in(now, host, port)
                    .map_err(|_| ClientError::WrongState)?;
                self.link = Link::AwaitService;
                self.settle_wtvp();
                Ok(())
            }
            _ => self.start_ns(now),
        }
    }

    fn start_ns(&mut self, now: Instant) -> Result<(), ClientError> {
        let (buf, len, port) = &self.server;
        let host = core::str::from_utf8(buf.get(..*len).unwrap_or(&[]))
            .map_err(|_| ClientError::BadArgument)?;
        self.ns.start_at(now, host, *port)?;
        self.ns_end_reported = false;
        self.link = Link::Connecting(now.saturating_add(self.connect_timeout));
        Ok(())
    }

    /// Sign out: leave every conversation, send `OUT` and stop reconnecting.
    pub fn sign_out(&mut self, now: Instant) -> Result<(), ClientError> {
        self.tick(now);
        self.signed_out = true;
        self.convs.leave_all(now);
        match self.link {
            Link::Up => self.ns.sign_out(now)?,
            Link::Connecting(_) => {
                self.ns.handle_closed(now);
                self.push(Note::Disconnect(ConnId::Ns));
            }
            Link::Retry(_) | Link::AwaitService => {}
            Link::Idle => return Err(ClientError::WrongState),
        }
        let mut close_wtvp = core::mem::take(&mut self.wtvp_open);
        if let Login::Wtvp(w) = &mut self.login {
            if close_wtvp {
                w.handle_closed(now);
            }
            // A step still in progress (connecting, or waiting for the shared buffer) ends
            // here, and a login answer waiting for the buffer is not asked for any more.
            close_wtvp |= w.abandon();
        }
        self.drop_kept_answer_event();
        if close_wtvp {
            self.push(Note::Disconnect(ConnId::Wtvp));
        }
        self.settle_wtvp();
        self.link = Link::Idle;
        Ok(())
    }

    /// Record user activity: restarts the idle countdown, and sends `IMS ON` if the idle
    /// timer had switched messaging off.
    pub fn user_activity(&mut self, now: Instant) {
        self.tick(now);
        if let Some(ImsAction::On) = self.idle.user_activity(now) {
            if self.is_online() {
                let _ = self.ns.set_ims(now, true);
            }
            self.convs.set_ims_off(false);
            self.push(Note::Ims(true));
        }
    }

    /// Set the own status (`CHG`).
    pub fn set_status(&mut self, now: Instant, status: Status) -> Result<TrId, ClientError> {
        self.user_activity(now);
        Ok(self.ns.set_status(now, status)?)
    }

    /// Open a conversation with `contact`; messages sent before it is ready are queued.
    pub fn open_conversation(
        &mut self,
        now: Instant,
        contact: &str,
    ) -> Result<ConversationId, ClientError> {
        self.user_activity(now);
        if !self.is_online() {
            return Err(ClientError::WrongState);
        }
        let conv = self.convs.open(now, Some(contact.as_bytes()))?;
        self.pump(now);
        Ok(conv)
    }

    /// Invite another contact into a conversation.
    pub fn invite(
        &mut self,
        now: Instant,
        conv: ConversationId,
        contact: &str,
    ) -> Result<TrId, ClientError> {
        self.user_activity(now);
        Ok(self.convs.invite(now, conv, contact.as_bytes())?)
    }

    /// Send a plain-text message; its fate arrives as one `SbEvent::Outcome`.
    pub fn send_message(
        &mut self,
        now: Instant,
        conv: ConversationId,
        text: &str,
    ) -> Result<MessageId, ClientError> {
        self.user_activity(now);
        Ok(self.convs.send_message(now, conv, text)?)
    }

    /// Send a typing notification (rate-limited; `false` when one was sent too recently).
    pub fn send_typing(&mut self, now: Instant, conv: ConversationId) -> Result<bool, ClientError> {
        self.user_activity(now);
        Ok(self.convs.send_typing(now, conv)?)
    }

    /// Leave a conversation.
    pub fn leave(&mut self, now: Instant, conv: ConversationId) -> Result<(), ClientError> {
        self.user_activity(now);
        Ok(self.convs.leave(now, conv)?)
    }

    /// Switch instant messaging off or on by hand (`IMS OFF`/`IMS ON`).
    pub fn set_ims(&mut self, now: Instant, on: bool) -> Result<TrId, ClientError> {
        self.tick(now);
        let trid = self.ns.set_ims(now, on)?;
        self.convs.set_ims_off(!on);
        Ok(trid)
    }

    /// Report the firmware's `messengerlogin` reply (delegate login mode).
    pub fn complete_login(
        &mut self,
        now: Instant,
        status: u16,
        reason: &[u8],
        headers_raw: &[u8],
        body: &[u8],
    ) -> Result<(), ClientError> {
        self.tick(now);
        if !self.login_pending {
            return Err(ClientError::WrongState);
        }
        let Login::Delegate(d) = &mut self.login else {
            return Err(ClientError::WrongState);
        };
        d.complete(status, reason, headers_raw, body)
            .map_err(ClientError::Login)?;
        self.deliver_answer(now);
        Ok(())
    }

    /// Report that the firmware could not perform the `messengerlogin` request.
    pub fn fail_login(&mut self, now: Instant, reason: LoginError) -> Result<(), ClientError> {
        self.tick(now);
        if !self.login_pending {
            return Err(ClientError::WrongState);
        }
        let Login::Delegate(d) = &mut self.login else {
            return Err(ClientError::WrongState);
        };
        d.fail(reason);
        self.deliver_answer(now);
        Ok(())
    }

    // ----- inputs -----

    /// Report that the connection asked for by `Connect` is open.
    pub fn handle_connected(&mut self, now: Instant, conn: ConnId) -> Result<(), ClientError> {
        self.tick(now);
        match conn {
            ConnId::Ns => {
                // Only a connection the NS asked for (sign-in, reconnect or redirect) can open.
                if self.ns.phase() != Phase::Connecting {
                    return Err(ClientError::WrongState);
                }
                if matches!(self.link, Link::Connecting(_)) {
                    self.link = Link::Up;
                }
                self.ns.handle_connected(now);
            }
            ConnId::Wtvp => {
                let Login::Wtvp(w) = &mut self.login else {
                    return Err(ClientError::UnknownConnection);
                };
                self.wtvp_open = true;
                if let Err(e) = w.handle_connected(now) {
                    self.push(Note::Failed(ClientFailure::Wtvp(e)));
                    self.ns_end_reported |= self.login_pending;
                }
                self.settle_wtvp();
            }
            ConnId::Sb(c) => self
                .convs
                .handle_connected(now, c)
                .map_err(|_| ClientError::UnknownConnection)?,
        }
        self.pump(now);
        Ok(())
    }

    /// Query whether `conn` refuses input for now: the NS or a switchboard connection whose
    /// next frame waits for the shared large-frame buffer, which another connection holds (or
    /// was owed first; see [`Conversations::input_paused`]). Keep its unread bytes and the
    /// connection open, and offer them again after draining events. Never the WTVP
    /// connection: the built-in client waits for the buffer before it sends a request, so no
    /// response can arrive before it holds the buffer.
    pub fn input_paused(&self, conn: ConnId) -> bool {
        match conn {
            ConnId::Ns => self.ns.wants_large_frame(),
            ConnId::Sb(c) => self.convs.input_paused(c),
            ConnId::Wtvp => false,
        }
    }

    /// Return the connection that needs the shared large-frame buffer now (a long frame of it
    /// is being received there, an event not yet handed out borrows it, or a step of the
    /// built-in WTVP client is under way there), if any: while other connections are paused
    /// ([`input_paused`](Self::input_paused)), they wait for it.
    pub fn large_frame_holder(&self) -> Option<ConnId> {
        if self.ns.needs_large_frame() {
            return Some(ConnId::Ns);
        }
        if self.convs.lent_to(Outside::Wtvp) {
            // Lent for a step, and given back when the step ends.
            return Some(ConnId::Wtvp);
        }
        self.convs.large_frame_holder().map(ConnId::Sb)
    }

    /// Feed bytes received on `conn`; returns how many were taken (feed the rest again after
    /// draining events, even when no new bytes arrive: see [`input_paused`](Self::input_paused)).
    pub fn handle_input(
        &mut self,
        now: Instant,
        conn: ConnId,
        bytes: &[u8],
    ) -> Result<usize, ClientError> {
        let tx_idle = self.tx_idle;
        self.tick(now);
        let taken = match conn {
            ConnId::Ns => self.ns_input(now, bytes),
            ConnId::Wtvp => {
                let Login::Wtvp(w) = &mut self.login else {
                    return Err(ClientError::UnknownConnection);
                };
                let taken = match w.handle_input(now, bytes) {
                    Ok(n) => n,
                    Err(e) => {
                        // A failed sign-in step reports itself (`SignInFailed`, routed as
                        // `Failed`); reporting its error here too told the UI twice.
                        if self.link != Link::AwaitService || e == WtvpError::State {
                            self.push(Note::Failed(ClientFailure::Wtvp(e)));
                        }
                        self.ns_end_reported |= self.login_pending;
                        bytes.len()
                    }
                };
                self.deliver_answer(now);
                self.settle_wtvp();
                taken
            }
            ConnId::Sb(c) => {
                self.settle_large_frame();
                let n = self
                    .convs
                    .handle_input(now, c, bytes)
                    .map_err(|_| ClientError::UnknownConnection)?;
                // Most switchboard input (a message, an ACK) writes nothing back.
                self.tx_idle = tx_idle && !self.convs.has_transmit();
                n
            }
        };
        self.deliver_answer(now);
        // NS input changes no conversation (its events are routed when polled, and the
        // polling pumps): only the other connections can leave a switchboard request.
        if conn != ConnId::Ns {
            self.pump(now);
        }
        Ok(taken)
    }

    /// Report that `conn` closed (or could not be opened).
    pub fn handle_closed(&mut self, now: Instant, conn: ConnId) {
        self.tick(now);
        match conn {
            ConnId::Ns => {
                if !matches!(self.link, Link::Idle) {
                    self.ns.handle_closed(now);
                }
                // Holding the shared buffer or waiting for it, the NS lets it go.
                self.settle_large_frame();
            }
            ConnId::Wtvp => {
                if let Login::Wtvp(w) = &mut self.login {
                    if self.wtvp_open {
                        w.handle_closed(now);
                    } else {
                        w.handle_connect_failed(now);
                    }
                }
                self.wtvp_open = false;
                self.deliver_answer(now);
                self.settle_wtvp();
            }
            ConnId::Sb(c) => {
                self.settle_large_frame();
                let _ = self.convs.handle_closed(now, c);
            }
        }
        self.deliver_answer(now);
        self.pump(now);
    }

    /// Let time pass: timeouts, the NS connect deadline, reconnects and the idle timer.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.tick(now);
        self.ns.handle_timeout(now);
        self.convs.handle_timeout(now);
        match &mut self.login {
            Login::Password => {}
            Login::Delegate(d) => d.handle_timeout(now),
            Login::Wtvp(w) => w.handle_timeout(now),
        }
        match self.link {
            Link::Connecting(deadline) if now >= deadline => {
                // The NS's own `LoginFailed` (closed while connecting) closes the socket and
                // schedules the retry; the UI hears the timeout, once.
                self.push(Note::Failed(ClientFailure::ConnectTimeout));
                self.ns_end_reported = true;
                self.ns.handle_closed(now);
            }
            Link::Retry(at) if now >= at => {
                self.link = Link::Idle;
                if self.start_ns(now).is_err() {
                    self.schedule_retry(now);
                }
            }
            _ => {}
        }
        // The idle timer runs only while signed in (it restarts at the first sync).
        if self.is_online() && !self.first_sync_pending {
            if let Some(ImsAction::Off) = self.idle.handle_timeout(now) {
                let _ = self.ns.set_ims(now, false);
                self.convs.set_ims_off(true);
                self.push(Note::Ims(false));
            }
        }
        self.deliver_answer(now);
        if matches!(self.login, Login::Wtvp(_)) {
            self.settle_wtvp();
        }
        self.pump(now);
    }

    // ----- outputs -----

    /// Take bytes to send: fills `out` and names the connection they are for.
    pub fn poll_transmit(&mut self, out: &mut [u8]) -> Option<(ConnId, usize)> {
        if self.tx_idle {
            return None;
        }
        let now = self.now;
        self.pump(now);
        let n = self.ns.poll_transmit(out);
        if n > 0 {
            self.quiet = false;
            return Some((ConnId::Ns, n));
        }
        if let Login::Wtvp(w) = &mut self.login {
            let n = w.poll_transmit(out);
            if n > 0 {
                self.quiet = false;
                return Some((ConnId::Wtvp, n));
            }
        }
        let Some(t) = self.convs.poll_transmit(out) else {
            self.tx_idle = true;
            return None;
        };
        // A part written in mode U has its outcome now.
        self.quiet = false;
        Some((ConnId::Sb(t.conversation), t.len))
    }

    /// Return the next bytes to send, in place, and the connection they are for (`None`:
    /// nothing to send). A message part's head is assembled in `scratch` (see
    /// [`Conversations::transmit_bytes`]; [`TRANSMIT_SCRATCH`](crate::msnp::sb::TRANSMIT_SCRATCH)
    /// bytes hold the longest); everything else is lent straight from the sessions' own
    /// buffers and the message pool. Report how many
    /// were written with [`advance_transmit`](Self::advance_transmit) before any other call;
    /// the rest is offered again. An alternative to [`poll_transmit`](Self::poll_transmit)
    /// that needs no transmit buffer of the caller's.
    pub fn transmit_bytes<'a>(&'a mut self, scratch: &'a mut [u8]) -> Option<(ConnId, &'a [u8])> {
        if self.tx_idle {
            return None;
        }
        let now = self.now;
        self.pump(now);
        let b = self.ns.transmit_bytes();
        if !b.is_empty() {
            return Some((ConnId::Ns, b));
        }
        if let Login::Wtvp(w) = &mut self.login {
            let b = w.transmit_bytes();
            if !b.is_empty() {
                return Some((ConnId::Wtvp, b));
            }
        }
        if let Some((c, b)) = self.convs.transmit_bytes(scratch) {
            return Some((ConnId::Sb(c), b));
        }
        self.tx_idle = true;
        None
    }

    /// Record that the first `n` bytes [`transmit_bytes`](Self::transmit_bytes) gave for
    /// `conn` were written.
    pub fn advance_transmit(&mut self, conn: ConnId, n: usize) {
        if n == 0 {
            return;
        }
        // A part written in mode U has its outcome now.
        self.quiet = false;
        match conn {
            ConnId::Ns => self.ns.advance_transmit(n),
            ConnId::Wtvp => {
                if let Login::Wtvp(w) = &mut self.login {
                    w.advance_transmit(n);
                }
            }
            ConnId::Sb(c) => self.convs.advance_transmit(c, n),
        }
    }

    /// Drop the bytes waiting for `conn` (the connection is gone; they can no longer be sent).
    pub fn discard_transmit(&mut self, conn: ConnId) {
        match conn {
            ConnId::Ns => self.ns.advance_transmit(usize::MAX),
            ConnId::Wtvp => {
                if let Login::Wtvp(w) = &mut self.login {
                    w.advance_transmit(usize::MAX);
                }
            }
            ConnId::Sb(c) => self.convs.discard_transmit(c),
        }
    }

    /// Return when [`handle_timeout`](Self::handle_timeout) must be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let login = match &self.login {
            Login::Password => None,
            Login::Delegate(d) => d.poll_timeout(),
            Login::Wtvp(w) => w.poll_timeout(),
        };
        let link = match self.link {
            Link::Connecting(t) | Link::Retry(t) => Some(t),
            _ => None,
        };
        // The idle timer runs only while signed in (see `handle_timeout`).
        let idle = if self.is_online() && !self.first_sync_pending {
            self.idle.poll_timeout()
        } else {
            None
        };
        [
            self.ns.poll_timeout(),
            self.convs.poll_timeout(),
            login,
            link,
            idle,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Take the next event for the caller (see [`ClientEvent`]).
    pub fn poll_event(&mut self) -> Option<ClientEvent<'_>> {
        if self.quiet {
            return None;
        }
        // Routing the NS or the WTVP client below may write replies (switchboard frames
        // processed while polling are noted by `Conversations::take_processed`).
        if self.ns.has_work() || matches!(self.login, Login::Wtvp(_)) {
            self.tx_idle = false;
        }
        let now = self.now;
        if let Some(note) = self.pop_note() {
            return Some(match note {
                Note::Disconnect(conn) => ClientEvent::Disconnect { conn },
                Note::Failed(f) => ClientEvent::Failed(f),
                Note::Ims(on) => ClientEvent::Ims { on },
                Note::Reconnecting(at, attempt) => ClientEvent::Reconnecting { at, attempt },
            });
        }
        if self.route_wtvp(now) {
            if let Login::Wtvp(w) = &self.login {
                if matches!(w.peek_event(), Some(WtvpEvent::SignInFailed(_))) {
                    // Reported here: the sign-in's own failure must not be reported again.
                    self.ns_end_reported |= self.login_pending;
                }
            }
            return match &mut self.login {
                Login::Wtvp(w) => w.poll_event().and_then(|e| match e {
                    WtvpEvent::Connect { host, port } => Some(ClientEvent::Connect {
                        conn: ConnId::Wtvp,
                        host,
                        port,
                    }),
                    WtvpEvent::Disconnect => Some(ClientEvent::Disconnect { conn: ConnId::Wtvp }),
                    WtvpEvent::SignInFailed(e) => Some(ClientEvent::Failed(ClientFailure::Wtvp(e))),
                    WtvpEvent::SignedIn | WtvpEvent::Fetched(_) => None,
                }),
                _ => None,
            };
        }
        if matches!(&self.login, Login::Delegate(d) if d.has_request()) {
            return match &mut self.login {
                Login::Delegate(d) => d.poll_request().map(ClientEvent::LoginRequest),
                _ => None,
            };
        }
        if let Some(from) = self.pending_adds {
            let lists = self.ns.lists();
            let found = (from..lists.len()).find(|&i| {
                lists.contact(i).is_some_and(|c| {
                    c.is_on(ListKind::Reverse)
                        && !c.is_on(ListKind::Allow)
                        && !c.is_on(ListKind::Block)
                        && !c.passport().is_empty()
                })
            });
            self.pending_adds = found.map(|i| i + 1);
            if let Some(i) = found {
                return self.ns.lists().contact(i).map(|c| ClientEvent::PendingAdd {
                    passport: c.passport(),
                    friendly: c.friendly(),
                });
            }
        }
        // Most polls find the NS idle: look before routing (the router is big).
        if self.ns.has_work() && self.route_ns(now) {
            let ignored = self.invitation_note.take();
            return self.ns.poll_event().map(|e| match (e, ignored) {
                (NsEvent::Invitation { inviter, .. }, Some(reason)) => {
                    ClientEvent::InvitationIgnored { inviter, reason }
                }
                (NsEvent::Connect { host, port }, _) => ClientEvent::Connect {
                    conn: ConnId::Ns,
                    host,
                    port,
                },
                (e, _) => ClientEvent::Ns(e),
            });
        }
        // Routing the NS may have queued a note, a login request or a WTVP event (asking the
        // built-in client for a login answer can open a connection to another service): report
        // it now rather than at the next call (callers stop polling at the first `None`). The
        // call returns from one of the branches above, so this recurses once at most.
        if self.notes.first().is_some_and(Option::is_some)
            || matches!(&self.login, Login::Delegate(d) if d.has_request())
            || matches!(&self.login, Login::Wtvp(w) if w.peek_event().is_some())
        {
            return self.poll_event();
        }
        self.pump(now);
        self.settle_large_frame();
        let found = self.convs.find_event();
        if self.convs.take_processed() {
            self.tx_idle = false;
        }
        let Some(found) = found else {
            self.quiet = true;
            return None;
        };
        // Every other source was found empty above: if this event is the last one and nothing
        // waits to be sent, the next poll has nothing to do.
        if !self.ns.has_work() && self.tx_idle && self.convs.is_last(found) {
            self.quiet = true;
        }
        self.convs.take_event(found).map(|e| match e {
            SbEvent::Connect {
                conversation,
                host,
                port,
            } => ClientEvent::Connect {
                conn: ConnId::Sb(conversation),
                host,
                port,
            },
            e => ClientEvent::Sb(e),
        })
    }

    // ----- routing -----

    /// Feed NS bytes, lending it the shared large-frame buffer for a frame longer than its
    /// own buffer when the conversations do not hold it and nobody waits for it first (else
    /// the NS takes no more input: [`input_paused`](Self::input_paused)).
    fn ns_input(&mut self, now: Instant, bytes: &[u8]) -> usize {
        let mut taken = 0usize;
        loop {
            let held = self.settle_large_frame();
            let rest = bytes.get(taken..).unwrap_or(&[]);
            // A failed NS reports why through its events; its input is dropped.
            let n = match self.ns.handle_input(now, rest) {
                Ok(n) => n.min(rest.len()),
                Err(_) => return bytes.len(),
            };
            taken = taken.saturating_add(n);
            if self.ns.wants_large_frame() {
                if self.lend_ns_large_frame() {
                    continue;
                }
                return taken;
            }
            // The lent buffer holds a frame already handled and nothing needs it: it goes back
            // at the top of the loop, and input goes on in the NS's own buffer.
            if held && taken < bytes.len() && !self.ns.needs_large_frame() {
                continue;
            }
            return taken;
        }
    }

    /// Give the shared large-frame buffer back from the NS once nothing of it needs it, lend
    /// it to the NS when its head frame waits for it and its turn has come (as a waiting
    /// conversation gets it when polled), and withdraw the NS's place in the queue once it no
    /// longer waits; return whether the NS holds the buffer.
    // The common case (the NS neither holds nor waits for the buffer) is two inlined tests:
    // an NS that wants the buffer holds it or has a place in the queue (`ns_input` asks as
    // soon as it wants it).
    #[inline(always)]
    fn settle_large_frame(&mut self) -> bool {
        if self.ns.holds_large_frame() || self.convs.outside_waits() {
            return self.settle_large_frame_slow();
        }
        false
    }

    #[inline(never)]
    fn settle_large_frame_slow(&mut self) -> bool {
        if let Some(buf) = self.ns.take_back_large_frame() {
            self.convs.return_large_frame(Outside::Ns, buf);
        }
        if self.ns.wants_large_frame() {
            self.lend_ns_large_frame();
        } else {
            self.convs.withdraw_large_frame_wait(Outside::Ns);
        }
        self.settle_wtvp();
        self.ns.holds_large_frame()
    }

    /// Lend the built-in WTVP client the shared large-frame buffer when a step of it needs it
    /// and its turn has come (it waits in the same queue as the NS and the conversations), and
    /// take it back (and withdraw its place in the queue) once the step has ended and its
    /// result was taken.
    #[inline(never)]
    fn settle_wtvp(&mut self) {
        let Login::Wtvp(w) = &mut self.login else {
            return;
        };
        if settle_wtvp_buffer(w, &mut self.convs) {
            // A request may be due now, or a login answer can go on when next polled.
            self.quiet = false;
            self.tx_idle = false;
        }
    }

    /// Drop the NS's `LoginAnswerNeeded` event kept for a login-answer step that waited for the
    /// shared buffer, if it is still the NS's next event.
    fn drop_kept_answer_event(&mut self) {
        if core::mem::take(&mut self.answer_event_kept)
            && matches!(
                self.ns.peek_event(),
                Some(NsEvent::LoginAnswerNeeded { .. })
            )
        {
            self.ns.skip_event();
        }
    }

    /// Lend the NS the shared large-frame buffer if the conversations let it go; return
    /// whether they did (refused, the NS keeps its place in their queue).
    #[inline(never)]
    fn lend_ns_large_frame(&mut self) -> bool {
        let Some(buf) = self.convs.lend_large_frame(Outside::Ns) else {
            return false;
        };
        match self.ns.lend_large_frame(buf) {
            Ok(()) => true,
            Err(buf) => {
                self.convs.return_large_frame(Outside::Ns, buf);
                false
            }
        }
    }

    /// Handle WTVP events the caller never sees; `true` when the next one is for the caller.
    fn route_wtvp(&mut self, now: Instant) -> bool {
        loop {
            let Login::Wtvp(w) = &mut self.login else {
                return false;
            };
            match w.peek_event() {
                None => return false,
                Some(WtvpEvent::SignedIn) => {
                    w.skip_event();
                    self.settle_wtvp();
                    self.service_signed_in(now);
                }
                Some(WtvpEvent::Fetched(_)) => w.skip_event(),
                Some(WtvpEvent::Disconnect) => {
                    self.wtvp_open = false;
                    return true;
                }
                Some(WtvpEvent::SignInFailed(_)) => {
                    if self.link == Link::AwaitService {
                        self.link = Link::Idle;
                    }
                    self.settle_wtvp();
                    return true;
                }
                Some(WtvpEvent::Connect { .. }) => return true,
            }
        }
    }

    /// The built-in WTVP client signed in: apply the head-waiter's Messenger configuration.
    fn service_signed_in(&mut self, now: Instant) {
        let Login::Wtvp(w) = &self.login else {
            return;
        };
        let Some(cfg) = w.config() else {
            self.push(Note::Failed(ClientFailure::Wtvp(WtvpError::MissingHeader(
                "wtv-messenger-authorized",
            ))));
            return;
        };
        if let Err(reason) = cfg.check_sign_in_allowed() {
            self.link = Link::Idle;
            self.push(Note::Failed(ClientFailure::Refused(reason)));
            return;
        }
        let sb = SbConfig::from_messenger(cfg);
        let retry = Backoff::from_messenger(cfg);
        let connect_timeout = cfg.connect_timeout;
        let server = if self.service_server {
            let host = cfg.server_host.as_bytes();
            let mut buf = [0u8; 64];
            match buf.get_mut(..host.len()) {
                Some(d) if !host.is_empty() => {
                    d.copy_from_slice(host);
                    Some((buf, host.len(), cfg.server_port))
                }
                _ => None,
            }
        } else {
            None
        };
        let keep = self.convs.config().ack_mode;
        self.convs.set_config(SbConfig {
            ack_mode: keep,
            ..sb
        });
        self.retry = retry;
        self.connect_timeout = connect_timeout;
        if let Some(s) = server {
            self.server = s;
        }
        if self.link == Link::AwaitService {
            self.link = Link::Idle;
            if self.start_ns(now).is_err() {
                self.schedule_retry(now);
            }
        }
    }

    /// Handle NS events the caller never sees (or that need action first); `true` when the
    /// next one is for the caller.
    #[inline(never)]
    fn route_ns(&mut self, now: Instant) -> bool {
        loop {
            if !self.ns.has_event() {
                // The NS stops after each frame that makes an event; frames still in its
                // receive buffer are processed when it is fed again, even with no new bytes.
                let _ = self.ns.handle_input(now, &[]);
            }
            if self.ns.next_event_is_notice() {
                // Nothing to route: the caller gets it without building it here first.
                return true;
            }
            let stale_answer = self.answer_event_kept && self.ns.phase() != Phase::AwaitAnswer;
            let Some(ev) = self.ns.peek_event() else {
                return false;
            };
            match ev {
                NsEvent::SwitchboardReady {
                    trid,
                    host,
                    port,
                    cookie,
                } => {
                    if let Some(conv) = take_pending(&mut self.pending_xfr, trid) {
                        let mut addr = [0u8; 80];
                        let n = write_address(&mut addr, host, port);
                        let _ = self.convs.switchboard_ready(
                            now,
                            conv,
                            addr.get(..n).unwrap_or(&[]),
                            cookie,
                        );
                    }
                    self.ns.skip_event();
                }
                NsEvent::RequestFailed { trid, code, .. } => {
                    if let Some(conv) = take_pending(&mut self.pending_xfr, trid) {
                        let _ = self.convs.switchboard_failed(now, conv, Some(code));
                        self.ns.skip_event();
                    } else {
                        return true;
                    }
                }
                NsEvent::RequestTimedOut { trid, .. } => {
                    if let Some(conv) = take_pending(&mut self.pending_xfr, trid) {
                        let _ = self.convs.switchboard_failed(now, conv, None);
                        self.ns.skip_event();
                    } else {
                        return true;
                    }
                }
                NsEvent::Invitation {
                    session_id,
                    host,
                    port,
                    cookie,
                    ..
                } => {
                    let refused = if !self.accept_invitations {
                        None
                    } else if self.idle.state() != crate::ims::ImsState::On {
                        Some(SbError::ImsOff)
                    } else {
                        let mut addr = [0u8; 80];
                        let n = write_address(&mut addr, host, port);
                        self.convs
                            .accept_invitation(
                                now,
                                session_id,
                                addr.get(..n).unwrap_or(&[]),
                                cookie,
                            )
                            .err()
                    };
                    self.invitation_note = refused;
                    return true;
                }
                NsEvent::LoginAnswerNeeded { .. } if stale_answer => {
                    // The NS gave up (closed, timed out) while the answer waited for the
                    // shared buffer: so does the WTVP step, and the NS's next event follows.
                    self.drop_kept_answer_event();
                    self.login_pending = false;
                    if let Login::Wtvp(w) = &mut self.login {
                        if w.abandon() {
                            self.wtvp_open = false;
                            self.push(Note::Disconnect(ConnId::Wtvp));
                        }
                    }
                    self.settle_wtvp();
                }
                NsEvent::LoginAnswerNeeded { challenge, .. } => {
                    let r = match &mut self.login {
                        Login::Password => Err(LoginError::State),
                        Login::Delegate(d) => d.request_answer(now, challenge),
                        Login::Wtvp(w) => {
                            // Started without the shared buffer, the step waits for it with
                            // its timer running; the challenge stays in the NS's event (the NS
                            // takes no input while it is queued) for the call that goes on,
                            // here once the buffer is lent.
                            let mut r = w.request_answer(now, challenge);
                            if r.is_ok() && w.answer_awaits_buffer() {
                                if settle_wtvp_buffer(w, &mut self.convs) {
                                    self.tx_idle = false;
                                }
                                if w.has_buffer() {
                                    r = w.request_answer(now, challenge);
                                } else {
                                    self.login_pending = true;
                                    self.answer_event_kept = true;
                                    return false;
                                }
                            }
                            r
                        }
                    };
                    self.answer_event_kept = false;
                    self.ns.skip_event();
                    match r {
                        Ok(()) => self.login_pending = true,
                        Err(e) => {
                            self.push(Note::Failed(ClientFailure::Login(e)));
                            self.ns_end_reported = true;
                            self.ns.login_answer_failed(now);
                            // A WTVP step that ended gives the buffer back.
                            self.settle_wtvp();
                        }
                    }
                }
                NsEvent::SignedIn { .. } => {
                    self.retry.reset();
                    self.link = Link::Up;
                    return true;
                }
                NsEvent::ListsSynced { .. } => {
                    if self.first_sync_pending {
                        // The idle countdown starts when the user first sees the lists, not
                        // while a slow sign-in runs.
                        self.first_sync_pending = false;
                        self.idle.reset(now);
                    } else if !self.ims_on_now() {
                        // A reconnect while idle: the server starts with IMS on; switch it off.
                        let _ = self.ns.set_ims(now, false);
                    }
                    // Then report who added us while we were away (as the official client
                    // asks at sign-in), one contact per poll.
                    self.pending_adds = Some(0);
                    return true;
                }
                NsEvent::ImsChanged { on, .. } => {
                    self.convs.set_ims_off(!on);
                    return true;
                }
                NsEvent::ConnectionLost { reason } | NsEvent::LoginFailed { reason } => {
                    let reported = core::mem::take(&mut self.ns_end_reported);
                    if reported {
                        // Already reported as a `Failed` event: only close the socket.
                        self.ns.skip_event();
                        self.push(Note::Disconnect(ConnId::Ns));
                    }
                    self.link_lost(now, reason);
                    if reported {
                        continue;
                    }
                    return true;
                }
                _ => return true,
            }
        }
    }

    fn ims_on_now(&self) -> bool {
        self.idle.state() == crate::ims::ImsState::On
    }

    /// The NS link ended: reconnect later unless the reason rules it out.
    fn link_lost(&mut self, now: Instant, reason: NsError) {
        clear_pending(&mut self.pending_xfr);
        let retryable = matches!(
            reason,
            NsError::Timeout
                | NsError::PingTimeout
                | NsError::Closed
                | NsError::ServerShutdown
                | NsError::Malformed
        );
        if self.signed_out || !self.reconnect || !retryable || matches!(self.link, Link::Idle) {
            self.link = Link::Idle;
            return;
        }
        self.schedule_retry(now);
    }

    fn schedule_retry(&mut self, now: Instant) {
        let at = self.retry.next_attempt(now);
        self.link = Link::Retry(at);
        self.push(Note::Reconnecting(at, self.retry.attempts()));
    }

    /// Ask the NS for a switchboard for every conversation waiting for one.
    // Inlined for the common case (no request): the loop sets up a lot before it would find
    // that out.
    #[inline(always)]
    fn pump(&mut self, now: Instant) {
        if self.convs.may_request_switchboard() {
            self.pump_requests(now);
        }
    }

    /// The body of [`pump`](Self::pump), once a request may be waiting.
    #[inline(never)]
    fn pump_requests(&mut self, now: Instant) {
        while let Some(conv) = self.convs.take_switchboard_request() {
            self.quiet = false;
            self.tx_idle = false;
            let trid = if self.is_online() {
                self.ns.request_switchboard(now).ok()
            } else {
                None
            };
            match trid.and_then(|t| put_pending(&mut self.pending_xfr, t, conv).then_some(t)) {
                Some(_) => {}
                None => {
                    let _ = self.convs.switchboard_failed(now, conv, None);
                }
            }
        }
    }

    /// Pass a finished login answer (or its failure) to the NS.
    fn deliver_answer(&mut self, now: Instant) {
        if !self.login_pending {
            return;
        }
        let answer = match &mut self.login {
            Login::Password => None,
            Login::Delegate(d) => d.poll_answer(),
            Login::Wtvp(w) => w.poll_answer(),
        };
        let Some(answer) = answer else { return };
        self.quiet = false;
        self.tx_idle = false;
        let failure = match answer {
            Ok(a) => self.ns.provide_login_answer(now, a).err().map(|_| None),
            Err(e) => Some(Some(e)),
        };
        // The step failed while it waited for the shared buffer.
        self.drop_kept_answer_event();
        self.login_pending = false;
        if let Some(e) = failure {
            // A WTVP failure was reported where it happened; report the answer's failure
            // only if nothing was said yet.
            if let (Some(e), false) = (e, self.ns_end_reported) {
                self.push(Note::Failed(ClientFailure::Login(e)));
                self.ns_end_reported = true;
            }
            self.ns.login_answer_failed(now);
        }
    }

    #[inline(never)]
    fn tick(&mut self, now: Instant) {
        self.quiet = false;
        self.tx_idle = false;
        self.now.advance_to(now);
    }

    fn push(&mut self, note: Note) {
        if let Some(slot) = self.notes.iter_mut().find(|n| n.is_none()) {
            *slot = Some(note);
        } else {
            msgr_warn!("client: note queue full");
        }
    }

    fn pop_note(&mut self) -> Option<Note> {
        let first = self.notes.first_mut()?.take()?;
        self.notes.rotate_left(1);
        Some(first)
    }
}

/// The body of [`Client::settle_wtvp`]: lend `w` the shared buffer or take it back; return
/// whether it was lent just now.
fn settle_wtvp_buffer<'s>(
    w: &mut WtvpClient<'s, &'s mut [u8]>,
    convs: &mut Conversations<'s>,
) -> bool {
    if !w.needs_buffer() {
        if let Some(buf) = w.take_back_buffer() {
            convs.return_large_frame(Outside::Wtvp, buf);
        }
        convs.withdraw_large_frame_wait(Outside::Wtvp);
        return false;
    }
    if w.has_buffer() {
        return false;
    }
    let Some(buf) = convs.lend_large_frame(Outside::Wtvp) else {
        return false;
    };
    match w.lend_buffer(buf) {
        Ok(()) => true,
        Err(buf) => {
            convs.return_large_frame(Outside::Wtvp, buf);
            false
        }
    }
}

fn take_pending(
    table: &mut [Option<(TrId, ConversationId)>],
    trid: TrId,
) -> Option<ConversationId> {
    let slot = table
        .iter_mut()
        .find(|s| s.is_some_and(|(t, _)| t == trid))?;
    slot.take().map(|(_, c)| c)
}

fn put_pending(
    table: &mut [Option<(TrId, ConversationId)>],
    trid: TrId,
    conv: ConversationId,
) -> bool {
    match table.iter_mut().find(|s| s.is_none()) {
        Some(slot) => {
            *slot = Some((trid, conv));
            true
        }
        None => false,
    }
}

fn clear_pending(table: &mut [Option<(TrId, ConversationId)>]) {
    for s in table.iter_mut() {
        *s = None;
    }
}

/// Write `host:port` into `out`; returns the length (0 if it does not fit).
fn write_address(out: &mut [u8], host: &str, port: u16) -> usize {
    let mut digits = [0u8; 5];
    let mut n = 0;
    let mut p = port;
    loop {
        if let Some(d) = digits.get_mut(n) {
            *d = b'0' + (p % 10) as u8; // a decimal digit
        }
        n += 1;
        p /= 10;
        if p == 0 || n >= digits.len() {
            break;
        }
    }
    let total = host.len() + 1 + n;
    let Some(dst) = out.get_mut(..total) else {
        return 0;
    };
    let (h, rest) = dst.split_at_mut(host.len());
    h.copy_from_slice(host.as_bytes());
    if let Some((colon, ds)) = rest.split_first_mut() {
        *colon = b':';
        for (d, s) in ds
            .iter_mut()
            .zip(digits.get(..n).unwrap_or(&[]).iter().rev())
        {
            *d = *s;
        }
    }
    total
}
