//! Events, errors and small value types of the notification session.

use crate::msnp::wire::{ListKind, ServerErrorCode, Status, TrId};
use crate::wtvp::login::AnswerMode;
use crate::ErrorKind;

/// Why the caller's command was refused before anything was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LocalError {
    /// The session is not signed in (or not in the state the command needs).
    WrongState,
    /// The negotiated dialect has no such command (or the server is known not to handle it).
    Unsupported,
    /// An argument is invalid (bad passport, list not allowed for this command, group id).
    BadArgument,
    /// A name or text is too long once encoded.
    TooLong,
    /// Too many requests are waiting for replies.
    TooManyPending,
    /// The transmit buffer is full; drain `poll_transmit` and retry.
    TransmitFull,
}

impl LocalError {
    /// Classify the error for callers that only switch on the broad cause.
    pub const fn kind(self) -> ErrorKind {
        match self {
            LocalError::TooManyPending | LocalError::TransmitFull => ErrorKind::Capacity,
            _ => ErrorKind::Local,
        }
    }
}

/// Why the session stopped or a sign-in failed (peer, server, time or link).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NsError {
    /// The server accepts none of the offered dialects (`VER trid 0` or a dialect not offered).
    VersionRefused,
    /// The server offers no authentication package this client speaks.
    NoAuthPackage,
    /// The server refused the login (911 wrong password or ticket, or another login error).
    AuthFailed(ServerErrorCode),
    /// The login answer could not be obtained (the shim failed).
    LoginAnswerFailed,
    /// The server answered a login step with a numeric error.
    Server(ServerErrorCode),
    /// A login step got no reply in time.
    Timeout,
    /// No `QNG` (nor anything else) arrived after a `PNG`.
    PingTimeout,
    /// The server sent bytes that break the protocol (lost framing, oversized line).
    Malformed,
    /// Too many `XFR NS` redirects.
    RedirectLoop,
    /// `OUT OTH`: the account signed in elsewhere (do not reconnect automatically).
    SignedInElsewhere,
    /// `OUT SSD`: the server is going down.
    ServerShutdown,
    /// The server closed the connection.
    Closed,
    /// The caller signed out.
    SignedOut,
}

impl NsError {
    /// Classify the error for callers that only switch on the broad cause.
    pub const fn kind(self) -> ErrorKind {
        match self {
            NsError::VersionRefused | NsError::NoAuthPackage => ErrorKind::Unexpected,
            NsError::AuthFailed(_) | NsError::LoginAnswerFailed => ErrorKind::Auth,
            NsError::Server(_) => ErrorKind::Server,
            NsError::Timeout | NsError::PingTimeout => ErrorKind::Timeout,
            NsError::Malformed => ErrorKind::Malformed,
            NsError::RedirectLoop => ErrorKind::Unexpected,
            NsError::SignedInElsewhere
            | NsError::ServerShutdown
            | NsError::Closed
            | NsError::SignedOut => ErrorKind::Closed,
        }
    }
}

/// Name a three-letter command verb (for request events).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Verb(pub [u8; 3]);

impl Verb {
    /// Return the verb as text.
    pub fn as_str(&self) -> &str {
        core::str::from_utf8(&self.0).unwrap_or("???")
    }
}

impl core::fmt::Debug for Verb {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Classify a message the notification server sent (`MSG Hotmail Hotmail`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NsMessageKind {
    /// `text/x-msmsgsprofile`: the login profile.
    Profile,
    /// The initial mailbox state.
    InitialEmail {
        /// `Inbox-Unread`.
        inbox_unread: u32,
        /// `Folders-Unread`.
        folders_unread: u32,
    },
    /// A new mail arrived.
    NewEmail,
    /// Mail was moved or read elsewhere; `delta` is `Message-Delta`.
    ActiveEmail {
        /// The change in the unread count.
        delta: u32,
    },
    /// `application/x-msmsgssystemmessage` (`Type`, `Arg1` minutes for a shutdown).
    System {
        /// The `Type` field (1 = maintenance shutdown).
        kind: u32,
        /// The `Arg1` field.
        minutes: u32,
    },
    /// Any other content type, passed through.
    Other,
}

/// A change to the lists confirmed by the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListChange {
    /// Added to a list (and group).
    Added,
    /// Removed from a list (or group).
    Removed,
}

/// What a notification session reports; borrowed data lives until the next `poll_event`.
///
/// Names (`friendly`, group names, texts) are as on the wire, %-encoded; decode them with
/// [`crate::msnp::wire::escape`] or read the decoded copy from the contact list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NsEvent<'a> {
    /// Open a TCP connection to `host:port`, then call `handle_connected` or `handle_closed`.
    Connect {
        /// Host name or address.
        host: &'a str,
        /// Port.
        port: u16,
    },
    /// The server chose `version`.
    VersionNegotiated {
        /// The dialect in use on this connection.
        version: u8,
    },
    /// Obtain the login answer for `challenge` (the messengerlogin shim), then call
    /// `provide_login_answer` or `login_answer_failed`.
    LoginAnswerNeeded {
        /// The `USR … S` challenge (MD5 salt, or the MSNP8 TWN policy string).
        challenge: &'a [u8],
        /// Which answer is expected.
        mode: AnswerMode,
    },
    /// Signed in (`USR … OK`).
    SignedIn {
        /// Own passport.
        passport: &'a [u8],
        /// Own friendly name (encoded).
        friendly: &'a [u8],
        /// The verified flag (MSNP6+).
        verified: Option<bool>,
    },
    /// The sign-in failed; the connection is being given up (close it). The connection's only
    /// terminal event: no `ConnectionLost` follows.
    LoginFailed {
        /// Why.
        reason: NsError,
    },
    /// The lists are in sync (downloaded now, or unchanged since the cached version).
    ListsSynced {
        /// The list version now stored.
        version: u32,
        /// Whether the cached lists were kept (no download).
        from_cache: bool,
    },
    /// A contact or group did not fit the caller's storage (no free record, or no name-pool
    /// room for its passport) and was dropped.
    ListOverflow {
        /// The passport that was dropped (empty for a group).
        passport: &'a [u8],
    },
    /// A friendly name, phone number or group name did not fit the caller's name pool: the
    /// contact or group is kept with that text empty (and its name marked truncated).
    TextDropped {
        /// The contact (empty for a group).
        passport: &'a [u8],
        /// The group id, for a group name.
        group: Option<u32>,
    },
    /// A server frame too big for the receive buffer was skipped whole (its payload bytes
    /// discarded as they arrived); the session goes on.
    FrameSkipped {
        /// The announced payload length.
        len: u32,
    },
    /// A message from the notification server.
    ServerMessage {
        /// What it is.
        kind: NsMessageKind,
        /// The whole MIME payload.
        payload: &'a [u8],
    },
    /// Own status confirmed (`CHG` reply).
    StatusChanged {
        /// The status now set.
        status: Status,
    },
    /// A contact's presence (`ILN` or `NLN`).
    Presence {
        /// Contact passport.
        passport: &'a [u8],
        /// The exact status.
        status: Status,
        /// The WebTV online/offline view of it.
        online_for_webtv: bool,
        /// Friendly name (encoded).
        friendly: &'a [u8],
        /// MSNP8 client capability number.
        client_id: Option<u32>,
    },
    /// A contact went offline or hid (`FLN`).
    ContactOffline {
        /// Contact passport.
        passport: &'a [u8],
    },
    /// A contact's phone or mobile setting (`BPR`).
    ContactPhone {
        /// Contact passport.
        passport: &'a [u8],
        /// `PHH`, `PHW`, `PHM`, `MOB`, `MBE`.
        property: &'a [u8],
        /// The value (encoded), empty when cleared.
        value: &'a [u8],
    },
    /// Someone added you to their forward list (`ADD 0 RL`): answer with `allow_adder` or
    /// `block_adder`.
    AddedBy {
        /// Their passport.
        passport: &'a [u8],
        /// Their friendly name (encoded).
        friendly: &'a [u8],
    },
    /// Someone removed you from their forward list (`REM 0 RL`).
    RemovedBy {
        /// Their passport.
        passport: &'a [u8],
    },
    /// The server confirmed a list change (`ADD`/`REM` reply).
    ListChanged {
        /// The request.
        trid: TrId,
        /// Added or removed.
        change: ListChange,
        /// Which list.
        list: ListKind,
        /// Contact passport.
        passport: &'a [u8],
        /// Group (FL, MSNP7+).
        group: Option<u32>,
    },
    /// The server confirmed a group change (`ADG`/`REG`: name set; `RMG`: name `None`).
    GroupChanged {
        /// The request.
        trid: TrId,
        /// The group id.
        id: u32,
        /// The new name (encoded), `None` when removed.
        name: Option<&'a [u8]>,
    },
    /// The server confirmed a rename (`REA`).
    Renamed {
        /// The request.
        trid: TrId,
        /// Whose name.
        passport: &'a [u8],
        /// The new name (encoded).
        friendly: &'a [u8],
    },
    /// The server confirmed a privacy setting (`GTC`/`BLP` reply); `value` is `A`/`N`/`AL`/`BL`.
    PrivacyChanged {
        /// The request.
        trid: TrId,
        /// `GTC` or `BLP`.
        verb: Verb,
        /// The new value.
        value: &'a [u8],
    },
    /// The server confirmed an own phone setting (`PRP` reply).
    PhoneChanged {
        /// The request.
        trid: TrId,
        /// The property.
        property: &'a [u8],
        /// The value (encoded), empty when cleared.
        value: &'a [u8],
    },
    /// A switchboard is ready for you (`XFR SB` reply).
    SwitchboardReady {
        /// The request.
        trid: TrId,
        /// Switchboard host.
        host: &'a str,
        /// Switchboard port.
        port: u16,
        /// The `CKI` cookie for `USR`.
        cookie: &'a [u8],
    },
    /// Someone invites you to a switchboard (`RNG`).
    Invitation {
        /// Session id for `ANS`.
        session_id: &'a [u8],
        /// Switchboard host.
        host: &'a str,
        /// Switchboard port.
        port: u16,
        /// The cookie for `ANS`.
        cookie: &'a [u8],
        /// Inviter passport.
        inviter: &'a [u8],
        /// Inviter friendly name (encoded).
        inviter_name: &'a [u8],
    },
    /// A `URL` reply.
    Url {
        /// The request.
        trid: TrId,
        /// Redirect path or URL.
        redirect: &'a [u8],
        /// Passport login URL.
        login_url: &'a [u8],
        /// Site id, when sent.
        site_id: Option<&'a [u8]>,
    },
    /// An `SND`/`SDC` e-mail invitation was accepted.
    EmailInviteSent {
        /// The request.
        trid: TrId,
    },
    /// The `IMS` setting was confirmed.
    ImsChanged {
        /// The request.
        trid: TrId,
        /// Whether instant messages are on.
        on: bool,
    },
    /// An MSN Alert (`NOT`), fields extracted from the XML (entity-encoded as sent).
    Alert {
        /// The notification id.
        id: &'a [u8],
        /// The `siteurl` attribute.
        site_url: &'a [u8],
        /// The `<TEXT>` content.
        text: &'a [u8],
        /// The `ACTION url` attribute.
        action_url: &'a [u8],
    },
    /// A page from a mobile device (`IPG`).
    PageReceived {
        /// The sender (`FROM name`).
        from: &'a [u8],
        /// The `<TEXT>` content.
        text: &'a [u8],
    },
    /// A request failed with a numeric error (`FND` gets 502 from Microsoft's servers).
    RequestFailed {
        /// The request.
        trid: TrId,
        /// Its verb.
        verb: Verb,
        /// The error code.
        code: ServerErrorCode,
    },
    /// A request got no reply in time (Escargot leaves `FND`, `PAG`, `QRY` unanswered), or
    /// no usable one (an `XFR SB` naming an address that cannot be connected to).
    RequestTimedOut {
        /// The request.
        trid: TrId,
        /// Its verb.
        verb: Verb,
    },
    /// The connection is gone; call `reconnect` to sign in again with the same account.
    ConnectionLost {
        /// Why.
        reason: NsError,
    },
}
