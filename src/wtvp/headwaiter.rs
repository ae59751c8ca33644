//! The Messenger configuration the head-waiter sends at sign-in (`/login-stage-two` headers).
//!
//! Parsed headers and their defaults when missing or invalid (each fallback adds a
//! [`ConfigWarning`]):
//!
//! | header | type | default |
//! |---|---|---|
//! | `wtv-messenger-authorized` | `0`/`1` (also `true`/`false`) | `false` (refuse) |
//! | `wtv-messenger-enable` | `0`/`1` | `false` (refuse) |
//! | `wtv-messenger-server` | `host` or `host:port` | `msnmsgr.escargot.chat:1863` |
//! | `wtv-user-name` | text, `null` = absent | absent (refuse: no account linked) |
//! | `wtv-domain` / `passport-domain` | text, `null` = absent | absent |
//! | `wtv-messenger-login-url` | WTVP URL | `wtv-passport:/messengerlogin` |
//! | `wtv-messenger-connect-timeout` | seconds | 240 |
//! | `wtv-messenger-retry-interval` | seconds | 20 |
//! | `wtv-messenger-passportd-timeout` | seconds | 240 |
//! | `wtv-messenger-open-conversation-timeout` | seconds | 240 |
//! | `wtv-messenger-invite-timeout` | seconds | 60 |
//! | `wtv-messenger-address-validate-timeout` | seconds | 60 |
//!
//! Units are not documented anywhere; seconds follows `wtv-ssl-timeout: 240` and
//! `wtv-login-timeout: 7200` in the same block (protocol note §8). A value of 0 or above one day
//! is treated as invalid. The four defaults of 240/20 s are the values a minisrv-derived service
//! sends; the invite and address-validate defaults are ours.

use super::message::{parse_decimal, Headers};
use crate::time::Duration;

/// Default MSNP port when `wtv-messenger-server` has none.
pub const DEFAULT_MSNP_PORT: u16 = 1863;
/// Default Messenger server host.
pub const DEFAULT_SERVER_HOST: &str = "msnmsgr.escargot.chat";
/// Default login URL.
pub const DEFAULT_LOGIN_URL: &str = "wtv-passport:/messengerlogin";
/// Longest timeout accepted, in seconds (one day).
pub const MAX_TIMEOUT_SECS: u64 = 86_400;
/// Capacity of host names.
pub const HOST_CAP: usize = 64;
/// Capacity of user names and domains.
pub const NAME_CAP: usize = 64;
/// Capacity of the login URL.
pub const URL_CAP: usize = 128;
/// Capacity of the warning list.
pub const MAX_WARNINGS: usize = 14;

/// Hold short text in a fixed buffer.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Text<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> core::fmt::Debug for Text<N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

impl<const N: usize> Text<N> {
    /// Return the empty text.
    pub const fn empty() -> Self {
        Text {
            buf: [0; N],
            len: 0,
        }
    }

    /// Copy `s` if it fits and is printable ASCII.
    pub fn new(s: &[u8]) -> Option<Self> {
        if s.len() > N || !super::message::field_ok(s) {
            return None;
        }
        let mut buf = [0u8; N];
        buf.get_mut(..s.len())?.copy_from_slice(s);
        Some(Text { buf, len: s.len() })
    }

    /// Return the bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or(&[])
    }

    /// Return the text (always ASCII).
    pub fn as_str(&self) -> &str {
        core::str::from_utf8(self.as_bytes()).unwrap_or("")
    }
}

/// Name one of the parsed headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigHeader {
    /// `wtv-messenger-authorized`.
    Authorized,
    /// `wtv-messenger-enable`.
    Enable,
    /// `wtv-messenger-server`.
    Server,
    /// `wtv-user-name`.
    UserName,
    /// `wtv-domain` or `passport-domain`.
    Domain,
    /// `wtv-messenger-login-url`.
    LoginUrl,
    /// `wtv-messenger-connect-timeout`.
    ConnectTimeout,
    /// `wtv-messenger-retry-interval`.
    RetryInterval,
    /// `wtv-messenger-passportd-timeout`.
    PassportdTimeout,
    /// `wtv-messenger-open-conversation-timeout`.
    OpenConversationTimeout,
    /// `wtv-messenger-invite-timeout`.
    InviteTimeout,
    /// `wtv-messenger-address-validate-timeout`.
    AddressValidateTimeout,
}

impl ConfigHeader {
    /// Return the header's wire name (for `Domain`, the first of its two names).
    pub fn name(self) -> &'static str {
        header_names()
            .iter()
            .find(|(_, h)| *h == self)
            .map(|(n, _)| *n)
            .unwrap_or("")
    }
}

/// Say why a default was used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WarningReason {
    /// The header was absent.
    Missing,
    /// The header was present but its value could not be used.
    Invalid,
}

/// Record one fallback to a default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConfigWarning {
    /// Which header.
    pub header: ConfigHeader,
    /// Why.
    pub reason: WarningReason,
}

/// Say why the core refuses to sign in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RefusalReason {
    /// `wtv-messenger-authorized` is not 1: the service does not allow Messenger for this user.
    NotAuthorized,
    /// `wtv-messenger-enable` is not 1: the user has Messenger switched off.
    Disabled,
    /// No `wtv-user-name`: no Messenger account is linked.
    NoAccount,
}

impl RefusalReason {
    /// Return an English explanation for the UI.
    pub const fn as_str(self) -> &'static str {
        match self {
            RefusalReason::NotAuthorized => "Messenger is not authorized for this account",
            RefusalReason::Disabled => "Messenger is switched off for this account",
            RefusalReason::NoAccount => "no Messenger account is linked to this box",
        }
    }
}

/// Hold the typed Messenger configuration from the head-waiter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessengerConfig {
    /// Messenger allowed for this user.
    pub authorized: bool,
    /// Messenger switched on by the user.
    pub enabled: bool,
    /// MSNP server host.
    pub server_host: Text<HOST_CAP>,
    /// MSNP server port.
    pub server_port: u16,
    /// Passport sign-in name (local part), if an account is linked.
    pub user_name: Option<Text<NAME_CAP>>,
    /// Passport domain, if sent.
    pub domain: Option<Text<NAME_CAP>>,
    /// Where to send the USR challenge.
    pub login_url: Text<URL_CAP>,
    /// Limit for connecting and signing in to the MSNP server.
    pub connect_timeout: Duration,
    /// Wait before reconnecting.
    pub retry_interval: Duration,
    /// Limit for the messengerlogin answer.
    pub passportd_timeout: Duration,
    /// Limit for opening a switchboard conversation.
    pub open_conversation_timeout: Duration,
    /// Limit for an invitation to be answered.
    pub invite_timeout: Duration,
    /// Limit for an address lookup.
    pub address_validate_timeout: Duration,
    warnings: [Option<ConfigWarning>; MAX_WARNINGS],
}

impl Default for MessengerConfig {
    fn default() -> Self {
        MessengerConfig {
            authorized: false,
            enabled: false,
            server_host: Text::new(DEFAULT_SERVER_HOST.as_bytes()).unwrap_or(Text::empty()),
            server_port: DEFAULT_MSNP_PORT,
            user_name: None,
            domain: None,
            login_url: Text::new(DEFAULT_LOGIN_URL.as_bytes()).unwrap_or(Text::empty()),
            connect_timeout: Duration::from_secs(240),
            retry_interval: Duration::from_secs(20),
            passportd_timeout: Duration::from_secs(240),
            open_conversation_timeout: Duration::from_secs(240),
            invite_timeout: Duration::from_secs(60),
            address_validate_timeout: Duration::from_secs(60),
            warnings: [None; MAX_WARNINGS],
        }
    }
}

fn parse_flag(v: &[u8]) -> Option<bool> {
    match v {
        b"1" => Some(true),
        b"0" => Some(false),
        _ if v.eq_ignore_ascii_case(b"true") => Some(true),
        _ if v.eq_ignore_ascii_case(b"false") => Some(false),
        _ => None,
    }
}

fn parse_secs(v: &[u8]) -> Option<Duration> {
    let s = parse_decimal(v)? as u64;
    (s > 0 && s <= MAX_TIMEOUT_SECS).then(|| Duration::from_secs(s))
}

fn parse_server(v: &[u8]) -> Option<(Text<HOST_CAP>, u16)> {
    let (host, port) = match v.iter().rposition(|&c| c == b':') {
        Some(i) => {
            let p = parse_decimal(v.get(i + 1..)?)?;
            (v.get(..i)?, u16::try_from(p).ok().filter(|&p| p != 0)?)
        }
        None => (v, DEFAULT_MSNP_PORT),
    };
    let ok = !host.is_empty()
        && host
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || c == b'.' || c == b'-');
    ok.then_some(())?;
    Some((Text::new(host)?, port))
}

fn optional_name(v: &[u8]) -> Option<Option<Text<NAME_CAP>>> {
    if v.is_empty() || v == b"null" {
        return Some(None);
    }
    Text::new(v).map(Some)
}

impl MessengerConfig {
    /// Parse the Messenger headers of a raw header block (LF or CRLF lines; other headers ignored).
    pub fn parse(headers_raw: &[u8]) -> Self {
        let mut c = MessengerConfig::default();
        let mut seen = 0;
        for (name, value) in Headers::new(headers_raw) {
            c.take_header(&mut seen, name, value);
        }
        c.finish(seen);
        c
    }

    /// Take one header into a configuration being built from [`Default`] (the first value of
    /// each header counts); `seen` records the headers taken, for [`MessengerConfig::finish`].
    pub fn take_header(&mut self, seen: &mut u16, name: &[u8], value: &[u8]) {
        let Some(h) = header_id(name) else { return };
        let bit = 1u16 << (h as u32);
        if *seen & bit != 0 {
            return;
        }
        *seen |= bit;
        let c = self;
        let ok = match h {
            ConfigHeader::Authorized => parse_flag(value).map(|v| c.authorized = v).is_some(),
            ConfigHeader::Enable => parse_flag(value).map(|v| c.enabled = v).is_some(),
            ConfigHeader::Server => parse_server(value)
                .map(|(h, p)| (c.server_host, c.server_port) = (h, p))
                .is_some(),
            ConfigHeader::UserName => optional_name(value).map(|v| c.user_name = v).is_some(),
            ConfigHeader::Domain => optional_name(value).map(|v| c.domain = v).is_some(),
            ConfigHeader::LoginUrl => Text::new(value)
                .filter(|_| value.contains(&b':') && !value.contains(&b'?'))
                .map(|v| c.login_url = v)
                .is_some(),
            ConfigHeader::ConnectTimeout => {
                parse_secs(value).map(|d| c.connect_timeout = d).is_some()
            }
            ConfigHeader::RetryInterval => {
                parse_secs(value).map(|d| c.retry_interval = d).is_some()
            }
            ConfigHeader::PassportdTimeout => {
                parse_secs(value).map(|d| c.passportd_timeout = d).is_some()
            }
            ConfigHeader::OpenConversationTimeout => parse_secs(value)
                .map(|d| c.open_conversation_timeout = d)
                .is_some(),
            ConfigHeader::InviteTimeout => {
                parse_secs(value).map(|d| c.invite_timeout = d).is_some()
            }
            ConfigHeader::AddressValidateTimeout => parse_secs(value)
                .map(|d| c.address_validate_timeout = d)
                .is_some(),
        };
        if !ok {
            c.warn(h, WarningReason::Invalid);
            msgr_warn!(
                "headwaiter: invalid value for {}, using the default",
                h.name()
            );
        }
    }

    /// Finish a configuration built with [`MessengerConfig::take_header`]: note each header
    /// never seen as missing.
    pub fn finish(&mut self, seen: u16) {
        for h in ALL_HEADERS {
            if seen & (1u16 << (*h as u32)) == 0 {
                self.warn(*h, WarningReason::Missing);
                msgr_debug!("headwaiter: {} missing, using the default", h.name());
            }
        }
    }

    fn warn(&mut self, header: ConfigHeader, reason: WarningReason) {
        if let Some(slot) = self.warnings.iter_mut().find(|w| w.is_none()) {
            *slot = Some(ConfigWarning { header, reason });
        }
    }

    /// Iterate over the fallbacks taken while parsing.
    pub fn warnings(&self) -> impl Iterator<Item = ConfigWarning> + '_ {
        self.warnings.iter().flatten().copied()
    }

    /// Say whether the core may sign in, or why not.
    pub fn check_sign_in_allowed(&self) -> Result<(), RefusalReason> {
        if !self.authorized {
            return Err(RefusalReason::NotAuthorized);
        }
        if !self.enabled {
            return Err(RefusalReason::Disabled);
        }
        if self.user_name.is_none() {
            return Err(RefusalReason::NoAccount);
        }
        Ok(())
    }
}

const ALL_HEADERS: &[ConfigHeader] = &[
    ConfigHeader::Authorized,
    ConfigHeader::Enable,
    ConfigHeader::Server,
    ConfigHeader::UserName,
    ConfigHeader::Domain,
    ConfigHeader::LoginUrl,
    ConfigHeader::ConnectTimeout,
    ConfigHeader::RetryInterval,
    ConfigHeader::PassportdTimeout,
    ConfigHeader::OpenConversationTimeout,
    ConfigHeader::InviteTimeout,
    ConfigHeader::AddressValidateTimeout,
];

fn header_names() -> &'static [(&'static str, ConfigHeader)] {
    NAMES
}

fn header_id(name: &[u8]) -> Option<ConfigHeader> {
    NAMES
        .iter()
        .find(|(n, _)| name.eq_ignore_ascii_case(n.as_bytes()))
        .map(|(_, h)| *h)
}

const NAMES: &[(&str, ConfigHeader)] = &[
    ("wtv-messenger-authorized", ConfigHeader::Authorized),
    ("wtv-messenger-enable", ConfigHeader::Enable),
    ("wtv-messenger-server", ConfigHeader::Server),
    ("wtv-user-name", ConfigHeader::UserName),
    ("wtv-domain", ConfigHeader::Domain),
    ("passport-domain", ConfigHeader::Domain),
    ("wtv-messenger-login-url", ConfigHeader::LoginUrl),
    (
        "wtv-messenger-connect-timeout",
        ConfigHeader::ConnectTimeout,
    ),
    ("wtv-messenger-retry-interval", ConfigHeader::RetryInterval),
    (
        "wtv-messenger-passportd-timeout",
        ConfigHeader::PassportdTimeout,
    ),
    (
        "wtv-messenger-open-conversation-timeout",
        ConfigHeader::OpenConversationTimeout,
    ),
    ("wtv-messenger-invite-timeout", ConfigHeader::InviteTimeout),
    (
        "wtv-messenger-address-validate-timeout",
        ConfigHeader::AddressValidateTimeout,
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linked_account_with_timeouts_is_allowed() {
        let c = MessengerConfig::parse(
            b"wtv-messenger-authorized: 1\nwtv-messenger-enable: 1\nwtv-messenger-server: msn.example:1864\n\
wtv-user-name: rigcharlie\nwtv-messenger-login-url: wtv-passport:/messengerlogin\nwtv-domain: hotmail.com\n\
wtv-messenger-connect-timeout: 30\nwtv-messenger-retry-interval: 5\nwtv-messenger-passportd-timeout: 10\n\
wtv-messenger-open-conversation-timeout: 11\nwtv-messenger-invite-timeout: 12\nwtv-messenger-address-validate-timeout: 13\n\n",
        );
        assert_eq!(c.check_sign_in_allowed(), Ok(()));
        assert_eq!(
            (c.server_host.as_str(), c.server_port),
            ("msn.example", 1864)
        );
        assert_eq!(c.passportd_timeout, Duration::from_secs(10));
        assert_eq!(c.address_validate_timeout, Duration::from_secs(13));
        assert_eq!(c.warnings().count(), 0);
    }

    #[test]
    fn null_user_name_refuses_with_no_account() {
        let c = MessengerConfig::parse(
            b"wtv-messenger-authorized: 1\nwtv-messenger-enable: 1\nwtv-user-name: null\n",
        );
        assert_eq!(c.check_sign_in_allowed(), Err(RefusalReason::NoAccount));
    }

    #[test]
    fn invalid_timeout_falls_back_with_warning() {
        let c = MessengerConfig::parse(
            b"wtv-messenger-passportd-timeout: soon\nwtv-messenger-authorized: 0\n",
        );
        assert_eq!(c.passportd_timeout, Duration::from_secs(240));
        assert!(c.warnings().any(|w| w
            == ConfigWarning {
                header: ConfigHeader::PassportdTimeout,
                reason: WarningReason::Invalid
            }));
        assert_eq!(c.check_sign_in_allowed(), Err(RefusalReason::NotAuthorized));
    }

    #[test]
    fn missing_enable_refuses_as_disabled() {
        let c = MessengerConfig::parse(b"wtv-messenger-authorized: 1\nwtv-user-name: a\n");
        assert_eq!(c.check_sign_in_allowed(), Err(RefusalReason::Disabled));
        assert!(c
            .warnings()
            .any(|w| w.header == ConfigHeader::Enable && w.reason == WarningReason::Missing));
    }
}
