//! Switchboard conversations: sans-I/O sessions, the bounded set of conversations, and
//! no-loss delivery of outgoing messages (reference §10, §11).
//!
//! - [`message`]: payload builders (plain text with `X-MMS-IM-Format`, typing, invitation
//!   decline), splitting on UTF-8 boundaries, and classification of received payloads.
//! - [`session`]: one switchboard connection (private machinery used by the manager).
//! - [`conversations`]: [`Conversations`], the caller-facing machine: it owns every
//!   switchboard connection in caller-provided slots, queues outgoing messages in caller-provided
//!   message slots, and reports exactly one [`Outcome`] per message.
//!
//! # How a conversation is set up
//!
//! The manager never talks to the notification server. Outgoing: [`Conversations::open`] reports
//! [`SbEvent::NeedSwitchboard`]; the caller sends `XFR SB` on its NS session and hands back the
//! reply with [`Conversations::switchboard_ready`] (or [`Conversations::switchboard_failed`]);
//! the manager asks for a TCP connection with [`SbEvent::Connect`], then sends `USR`, `CAL`, and
//! waits for `JOI`. Incoming: the caller passes the NS `RNG` to
//! [`Conversations::accept_invitation`]; the manager asks for a connection, sends `ANS`, reads
//! the `IRO` roster and `ANS … OK`.
//!
//! # Delivery outcomes
//!
//! Every [`Conversations::send_message`] returns a [`MessageId`], and each id later gets exactly
//! one [`SbEvent::Outcome`]:
//!
//! | ack mode | outcome |
//! |---|---|
//! | `A` (default) | `Delivered` on `ACK`; `Failed(Nak)` on `NAK`; `Failed(Timeout)` after `ack_timeout` |
//! | `N` | `Sent` once `nak_window` passes without `NAK` (Escargot never sends `ACK` for `N`), or when we leave in order; `Failed(Nak)` on `NAK` |
//! | `U` | `Sent` as soon as the bytes are handed to the caller |
//!
//! Messages written while the switchboard is being set up are queued (bounded per conversation)
//! and flushed after the first `JOI` (caller side) or `ANS … OK` (answer side). A text longer
//! than one `MSG` can carry (1664 payload bytes, Escargot drops the connection above that) is
//! split on UTF-8 boundaries into several `MSG`s that share one [`MessageId`] and one combined
//! outcome: `Delivered`/`Sent` once every part has succeeded, or `Failed` at the first part that
//! fails (later parts that were not sent yet are dropped, never sent). Nothing is ever sent
//! twice: there are no retransmissions.
//!
//! Refusals at the time of the call (too many conversations, a full queue, no room in the
//! message pool) are returned as [`SbError`] and no [`MessageId`] is issued, so the caller always
//! knows the fate of each text.
//!
//! A received `MSG` larger than a switchboard relays (the longest `MSG` line plus 1664 payload
//! bytes) is skipped unread and reported as [`SbEvent::MessageSkipped`]; the conversation goes
//! on.
//!
//! An `IMS OFF` contact cannot be told apart from an offline one: Escargot answers `CAL` with
//! `217` in both cases, reported as `Failed(ContactOffline)`.

pub mod conversations;
pub mod message;
pub mod session;

pub use conversations::{ConversationSlot, Conversations, MessageSlot, Transmit, TRANSMIT_SCRATCH};
pub use message::{Effects, TextFormat};

use crate::error::ErrorKind;
use crate::msnp::wire::{AckMode, ServerErrorCode, TrId};
use crate::time::Duration;

/// Identify one conversation: a slot index plus a generation, stable while the conversation
/// lives; a stale id (the slot was reused) is refused with [`SbError::UnknownConversation`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ConversationId {
    index: u16,
    generation: u16,
}

impl ConversationId {
    pub(crate) const fn new(index: u16, generation: u16) -> Self {
        ConversationId { index, generation }
    }

    /// Return the slot index.
    pub const fn index(self) -> usize {
        self.index as usize
    }

    /// Return the generation of the slot when the conversation was made.
    pub const fn generation(self) -> u16 {
        self.generation
    }

    /// Pack the id into one number (for the C ABI): generation in the high half.
    pub const fn to_raw(self) -> u32 {
        ((self.generation as u32) << 16) | self.index as u32
    }

    /// Unpack an id made by [`ConversationId::to_raw`].
    pub const fn from_raw(raw: u32) -> Self {
        ConversationId {
            index: (raw & 0xffff) as u16,   // masked: fits.
            generation: (raw >> 16) as u16, // shifted: fits.
        }
    }
}

/// Identify one outgoing message (all of its parts) until its [`Outcome`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct MessageId(pub u32);

/// The final fate of one outgoing message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Outcome {
    /// Acknowledged with `ACK` (mode `A`; every part).
    Delivered,
    /// Handed to the switchboard with no failure reported (mode `U`; mode `N` after the NAK
    /// window or an orderly leave).
    Sent,
    /// Not delivered, or delivery could not be confirmed.
    Failed(FailReason),
}

/// Why a message failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum FailReason {
    /// The switchboard answered `NAK`.
    Nak,
    /// No `ACK` within the ack timeout, or the conversation timed out while it was queued.
    Timeout,
    /// The contact could not be invited: `217` (offline, hidden, blocking us or `IMS OFF`;
    /// Escargot does not tell these apart) or `216`.
    ContactOffline,
    /// The invitation was refused with another numeric error (`208`, `215`, `713`, …).
    InviteRefused(ServerErrorCode),
    /// The switchboard answered the `MSG` with a numeric error.
    Server(ServerErrorCode),
    /// Setting up the switchboard failed (NS `XFR` refused, `USR`/`ANS` refused).
    SetupFailed,
    /// Everyone else left, or the switchboard closed the conversation.
    SwitchboardClosed,
    /// The connection dropped before delivery was confirmed.
    ConnectionLost,
    /// The user left the conversation before the message could be sent.
    Cancelled,
}

/// Why an invitation (`CAL`) did not bring the contact in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum InviteFailure {
    /// The switchboard refused the `CAL` (`217` offline, `215` already there, …).
    Server(ServerErrorCode),
    /// No `JOI` within the invite timeout.
    Timeout,
}

/// Which timer of the service configuration expired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum TimeoutKind {
    /// The open-conversation timeout: from [`Conversations::open`] to the first `JOI`.
    OpenConversation,
    /// The connect timeout: from the connection request to `USR … OK` / `ANS … OK`.
    Connect,
    /// The invite timeout: from `CAL` to `JOI`, with nobody else in the conversation.
    Invite,
}

/// Why a conversation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum CloseReason {
    /// The user left ([`Conversations::leave`]).
    Left,
    /// Every other participant left; we sent `OUT`.
    Empty,
    /// The TCP connection dropped (or was closed by the server) unexpectedly.
    ConnectionLost,
    /// A service timeout expired.
    Timeout(TimeoutKind),
    /// The NS could not provide a switchboard (`XFR` refused or failed).
    SetupFailed(Option<ServerErrorCode>),
    /// The switchboard refused `USR`/`ANS` (usually `911`, a stale cookie).
    Refused(ServerErrorCode),
    /// The switchboard sent bytes that cannot be framed (lost frame boundaries).
    Protocol,
    /// The conversation was dropped because the configured IMS state refuses it.
    ImsOff,
}

/// Something the caller must act on or show, from [`Conversations::poll_event`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SbEvent<'a> {
    /// Ask the NS for a switchboard (`XFR trid SB`) and answer with
    /// [`Conversations::switchboard_ready`] or [`Conversations::switchboard_failed`].
    NeedSwitchboard {
        /// The conversation waiting for it.
        conversation: ConversationId,
    },
    /// Open a TCP connection, then call [`Conversations::handle_connected`] or
    /// [`Conversations::handle_closed`].
    Connect {
        /// The conversation the connection belongs to.
        conversation: ConversationId,
        /// Host name or address.
        host: &'a str,
        /// TCP port.
        port: u16,
    },
    /// The switchboard accepted us (`USR … OK` or `ANS … OK`).
    Ready {
        /// The conversation.
        conversation: ConversationId,
    },
    /// A participant is in the conversation (`JOI`, or `IRO` when answering).
    Joined {
        /// The conversation.
        conversation: ConversationId,
        /// The participant's handle.
        handle: &'a [u8],
        /// The friendly name, %-encoded as on the wire.
        name: &'a [u8],
    },
    /// A participant left (`BYE`); `idle` when the server dropped them (`BYE handle 1`).
    Left {
        /// The conversation.
        conversation: ConversationId,
        /// The participant's handle.
        handle: &'a [u8],
        /// Whether the server timed the participant out.
        idle: bool,
    },
    /// A text message arrived.
    Message {
        /// The conversation.
        conversation: ConversationId,
        /// The sender's handle.
        sender: &'a [u8],
        /// The sender's friendly name, %-encoded.
        name: &'a [u8],
        /// The body: UTF-8 when `utf8`, else Latin-1.
        text: &'a [u8],
        /// Whether the charset is UTF-8.
        utf8: bool,
        /// The raw `X-MMS-IM-Format` value, if sent (parse with [`TextFormat::parse`]).
        format: Option<&'a [u8]>,
    },
    /// A participant is typing (`text/x-msmsgscontrol`).
    Typing {
        /// The conversation.
        conversation: ConversationId,
        /// The typist (the `MSG` sender).
        handle: &'a [u8],
    },
    /// A payload this client cannot show arrived; application invitations were declined.
    UnsupportedContent {
        /// The conversation.
        conversation: ConversationId,
        /// The sender's handle.
        sender: &'a [u8],
        /// The media type (empty when absent).
        content_type: &'a [u8],
        /// Whether a decline (`Invitation-Command: CANCEL`) was sent back.
        declined: bool,
    },
    /// An invitation (`CAL`) failed.
    InviteFailed {
        /// The conversation.
        conversation: ConversationId,
        /// The TrID of the `CAL`.
        trid: TrId,
        /// The contact invited.
        handle: &'a [u8],
        /// Why.
        reason: InviteFailure,
    },
    /// A request went unanswered: `verb` is `USR`, `ANS` (with the TrID), or `connect`.
    Timeout {
        /// The conversation.
        conversation: ConversationId,
        /// The TrID of the request, if it was sent.
        trid: Option<TrId>,
        /// The request's verb.
        verb: &'static str,
    },
    /// The final fate of an outgoing message.
    Outcome {
        /// The conversation.
        conversation: ConversationId,
        /// The message.
        message: MessageId,
        /// What happened to it.
        outcome: Outcome,
    },
    /// A received `MSG` was larger than the shared large-frame buffer (given to
    /// [`Conversations::new`]; `session::RX_CAP` bytes hold the longest `MSG` line plus 1664
    /// payload bytes, the switchboard's own limit) and was skipped unread; the conversation
    /// goes on.
    MessageSkipped {
        /// The conversation.
        conversation: ConversationId,
        /// The payload length the `MSG` announced.
        length: u32,
    },
    /// The conversation is over: close its socket if it is still open. The id is now stale.
    Closed {
        /// The conversation.
        conversation: ConversationId,
        /// Why.
        reason: CloseReason,
    },
}

/// Describe a refused command or input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum SbError {
    /// The conversation id is unknown or stale.
    UnknownConversation,
    /// Every conversation slot is in use ("too many conversations").
    TooManyConversations,
    /// The conversation's queue (or the shared message slots) cannot take the message.
    QueueFull,
    /// The message pool cannot hold the message's payloads now (nothing was queued).
    PoolFull,
    /// Too many invitations are outstanding on this conversation (or no room is left in its
    /// names buffer to remember the invitee).
    TooManyInvites,
    /// The command does not fit the conversation's state (for example a second
    /// `switchboard_ready`, or input before the connection).
    WrongState,
    /// Nobody is in the conversation and nobody is being invited.
    NoParticipants,
    /// A handle, cookie, address or session id cannot be used (empty, too long, spaces).
    BadArgument,
    /// Invitations are refused while messaging is switched off for idleness.
    ImsOff,
    /// The conversation is closing or closed.
    Closed,
    /// The caller's storage is unusable (no slots, or more than 65535).
    BadStorage,
}

impl SbError {
    /// Return a short English description.
    pub const fn as_str(self) -> &'static str {
        match self {
            SbError::UnknownConversation => "unknown conversation",
            SbError::TooManyConversations => "too many conversations",
            SbError::QueueFull => "message queue full",
            SbError::PoolFull => "message pool full",
            SbError::TooManyInvites => "too many invitations outstanding",
            SbError::WrongState => "not possible in this state",
            SbError::NoParticipants => "nobody in the conversation",
            SbError::BadArgument => "bad argument",
            SbError::ImsOff => "messaging is switched off",
            SbError::Closed => "conversation closed",
            SbError::BadStorage => "unusable storage",
        }
    }

    /// Classify the error for callers that only switch on the broad cause.
    pub const fn kind(self) -> ErrorKind {
        match self {
            SbError::TooManyConversations
            | SbError::QueueFull
            | SbError::PoolFull
            | SbError::TooManyInvites => ErrorKind::Capacity,
            SbError::Closed => ErrorKind::Closed,
            _ => ErrorKind::Local,
        }
    }
}

impl core::fmt::Display for SbError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Tune the conversations: the service timeouts, delivery windows, limits and text format.
///
/// Units are milliseconds of the caller's clock ([`Duration`]). The head-waiter sends its
/// timeouts in seconds (`wtv-messenger-*-timeout`); [`SbConfig::from_messenger`] converts them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SbConfig {
    /// From [`Conversations::open`] to the first `JOI` (head-waiter
    /// `wtv-messenger-open-conversation-timeout`, default 240 s).
    pub open_conversation_timeout: Duration,
    /// From `CAL` to `JOI` (head-waiter `wtv-messenger-invite-timeout`, default 60 s).
    pub invite_timeout: Duration,
    /// From the connection request to `USR … OK` / `ANS … OK` (default 30 s; the server drops
    /// unauthenticated connections after about 60 s).
    pub connect_timeout: Duration,
    /// Wait for `ACK` of a mode-`A` message (default 30 s).
    pub ack_timeout: Duration,
    /// Wait for a possible `NAK` of a mode-`N` message before reporting `Sent` (default 10 s).
    pub nak_window: Duration,
    /// Wait for the server to close after our `OUT` (default 5 s).
    pub leave_timeout: Duration,
    /// Least time between two typing notifications (default 5 s, as the official client).
    pub typing_interval: Duration,
    /// Most message parts queued or in flight per conversation (default 10).
    pub max_queued_per_conversation: usize,
    /// Ack mode of [`Conversations::send_message`] (default `A`).
    pub ack_mode: AckMode,
    /// Format header of outgoing text (`None` omits `X-MMS-IM-Format`).
    pub format: Option<TextFormat>,
    /// Whether application invitations (`text/x-msmsgsinvite`) are declined (default) or ignored.
    pub decline_invitations: bool,
}

impl Default for SbConfig {
    fn default() -> Self {
        SbConfig {
            open_conversation_timeout: Duration::from_secs(240),
            invite_timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(30),
            ack_timeout: Duration::from_secs(30),
            nak_window: Duration::from_secs(10),
            leave_timeout: Duration::from_secs(5),
            typing_interval: Duration::from_secs(5),
            max_queued_per_conversation: 10,
            ack_mode: AckMode::Acknowledged,
            format: Some(TextFormat::ARIAL),
            decline_invitations: true,
        }
    }
}

impl SbConfig {
    /// Take the open-conversation, invite and connect timeouts from the head-waiter
    /// configuration; everything else keeps its default.
    pub fn from_messenger(cfg: &crate::wtvp::headwaiter::MessengerConfig) -> Self {
        SbConfig {
            open_conversation_timeout: cfg.open_conversation_timeout,
            invite_timeout: cfg.invite_timeout,
            connect_timeout: cfg.connect_timeout,
            ..SbConfig::default()
        }
    }
}
