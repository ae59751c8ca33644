//! The messengerlogin shim contract: turn an MSNP `USR` challenge into a login answer through
//! `GET <login-url>?<challenge>` on a SECURE WTVP connection.
//!
//! Both transports satisfy [`LoginTransport`]: the NS session asks for an answer with
//! [`LoginTransport::request_answer`] and collects it with [`LoginTransport::poll_answer`],
//! without knowing who performs the request:
//! - [`DelegateLogin`]: the box firmware performs the SECURE request on its own WTVP connection.
//!   It takes the request with [`DelegateLogin::poll_request`] and reports back with
//!   [`DelegateLogin::complete`] or [`DelegateLogin::fail`];
//! - [`super::client::WtvpClient`]: the built-in no_std WTVP client.
//!
//! Reply rules (protocol note §7): only `200` counts; in MD5 mode (MSNP2–7) the body must be
//! exactly 32 lower-case hex digits (minisrv answers `200: OK` when no Messenger account is
//! linked — reported as [`LoginError::NoAnswer`]); in ticket mode (MSNP8, challenge starting with
//! `ct=`) the body must start with `t=`. A server that never answers is ended by the passportd
//! timeout. Answers are wiped when the shim is dropped or reused and are never logged.

use super::lzpf::{self, LzpfError};
use super::message::{field_ok, MessageError, Writer};
use crate::auth::{is_md5_hex, wipe, MD5_HEX_LEN};
use crate::time::{Duration, Instant};

/// Longest challenge accepted from the MSNP server.
pub const MAX_CHALLENGE_LEN: usize = 512;
/// Longest server message kept in an error.
pub const MAX_MESSAGE_LEN: usize = 96;

/// Say which kind of answer the challenge calls for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerMode {
    /// MSNP2–7: 32 lower-case hex digits of MD5(challenge ‖ password).
    Md5,
    /// MSNP8: a Passport ticket string `t=…&p=…`.
    Ticket,
}

/// Return the answer mode minisrv chooses: ticket only when the challenge begins with `ct=`.
pub fn answer_mode(challenge: &[u8]) -> AnswerMode {
    if challenge.starts_with(b"ct=") {
        AnswerMode::Ticket
    } else {
        AnswerMode::Md5
    }
}

/// Carry a login answer; borrows the shim's buffer for tickets.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum LoginAnswer<'a> {
    /// The MSNP2–7 answer: 32 lower-case hex digits.
    Md5([u8; MD5_HEX_LEN]),
    /// The MSNP8 Passport ticket string.
    Ticket(&'a [u8]),
}

impl core::fmt::Debug for LoginAnswer<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            LoginAnswer::Md5(_) => f.write_str("Md5(<redacted>)"),
            LoginAnswer::Ticket(t) => write!(f, "Ticket(<{} bytes redacted>)", t.len()),
        }
    }
}

/// Keep a server's status message without allocating.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ServerMessage {
    buf: [u8; MAX_MESSAGE_LEN],
    len: usize,
}

impl ServerMessage {
    /// Copy up to [`MAX_MESSAGE_LEN`] printable bytes of `msg`.
    pub fn new(msg: &[u8]) -> Self {
        let mut buf = [0u8; MAX_MESSAGE_LEN];
        let mut len = 0;
        for (slot, &c) in buf
            .iter_mut()
            .zip(msg.iter().filter(|c| (0x20..0x7f).contains(*c)))
        {
            *slot = c;
            len += 1;
        }
        ServerMessage { buf, len }
    }

    /// Return the message text.
    pub fn as_str(&self) -> &str {
        core::str::from_utf8(self.buf.get(..self.len).unwrap_or(&[])).unwrap_or("")
    }
}

impl core::fmt::Debug for ServerMessage {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

/// Say why no login answer was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LoginError {
    /// The service answered with a status other than 200; carries the status and its message.
    Server {
        /// The status code (300, 400, 500, …).
        status: u16,
        /// The reason text of the status line.
        message: ServerMessage,
    },
    /// A 200 whose body is not an answer of the expected kind (minisrv's `200: OK` when no
    /// Messenger account is linked, or a malformed answer): authentication failed.
    NoAnswer,
    /// The response could not be parsed.
    Malformed(MessageError),
    /// The LZPF body could not be decoded.
    Lzpf(LzpfError),
    /// The body uses `Content-Encoding: deflate`, which this core does not decode.
    UnsupportedEncoding,
    /// The body is longer than the answer buffer.
    TooLarge,
    /// The passportd timeout passed without an answer.
    Timeout,
    /// The connection closed or could not be opened.
    Closed,
    /// The challenge is empty, too long or contains bytes that cannot go on a request line.
    BadChallenge,
    /// A request is already pending or none is pending (caller misuse).
    State,
    /// The box login to the service failed (built-in client).
    ServiceLogin,
}

impl LoginError {
    /// Return the crate-wide classification of this error.
    pub const fn kind(self) -> crate::ErrorKind {
        use crate::ErrorKind as K;
        match self {
            LoginError::Server { .. } => K::Server,
            LoginError::NoAnswer | LoginError::ServiceLogin => K::Auth,
            LoginError::Malformed(e) => e.kind(),
            LoginError::Lzpf(e) => e.kind(),
            LoginError::UnsupportedEncoding => K::Unexpected,
            LoginError::TooLarge => K::Capacity,
            LoginError::Timeout => K::Timeout,
            LoginError::Closed => K::Closed,
            LoginError::BadChallenge | LoginError::State => K::Local,
        }
    }
}

/// Check a challenge and return its mode.
pub fn check_challenge(challenge: &[u8]) -> Result<AnswerMode, LoginError> {
    if challenge.is_empty()
        || challenge.len() > MAX_CHALLENGE_LEN
        || !field_ok(challenge)
        || challenge.iter().any(|&c| c == b' ' || c == b'#')
    {
        return Err(LoginError::BadChallenge);
    }
    Ok(answer_mode(challenge))
}

/// Write the request `GET <login-url>?<challenge>` + `wtv-request-type: primary` (CRLF, empty
/// line) into `out`; this is the part that travels RC4-encrypted after SECURE ON.
pub fn write_request(
    login_url: &[u8],
    challenge: &[u8],
    out: &mut [u8],
) -> Result<usize, LoginError> {
    check_challenge(challenge)?;
    let mut w = Writer::new(out);
    let r = (|| {
        w.put(b"GET ")?;
        w.put_field(login_url)?;
        w.put(b"?")?;
        w.put_field(challenge)?;
        w.put(b"\r\n")?;
        w.header(b"wtv-request-type", b"primary")?;
        w.put(b"\r\n")
    })();
    r.map_err(LoginError::Malformed)?;
    Ok(w.len())
}

/// Undo LZPF if the response used it: return the plain body inside `buf`.
///
/// `body` is the body as received after RC4; `content_length` the header value.
pub fn plain_body<'b>(
    body: &[u8],
    lzpf_used: bool,
    content_length: Option<usize>,
    buf: &'b mut [u8],
) -> Result<&'b [u8], LoginError> {
    if lzpf_used {
        let len = content_length.ok_or(LoginError::Malformed(MessageError::ContentLength))?;
        if len > buf.len() {
            return Err(LoginError::TooLarge);
        }
        let d = lzpf::decompress(body, len, buf).map_err(LoginError::Lzpf)?;
        buf.get(..d.out_len).ok_or(LoginError::TooLarge)
    } else {
        let out = buf.get_mut(..body.len()).ok_or(LoginError::TooLarge)?;
        out.copy_from_slice(body);
        Ok(out)
    }
}

/// Interpret a messengerlogin reply whose body is already plain (after RC4 and LZPF).
pub fn interpret<'b>(
    mode: AnswerMode,
    status: u16,
    reason: &[u8],
    body: &'b [u8],
) -> Result<LoginAnswer<'b>, LoginError> {
    if status != 200 {
        return Err(LoginError::Server {
            status,
            message: ServerMessage::new(reason),
        });
    }
    match mode {
        AnswerMode::Md5 => {
            if !is_md5_hex(body) {
                return Err(LoginError::NoAnswer);
            }
            let mut a = [0u8; MD5_HEX_LEN];
            a.copy_from_slice(body);
            Ok(LoginAnswer::Md5(a))
        }
        AnswerMode::Ticket => {
            if body.starts_with(b"t=") && field_ok(body) && !body.contains(&b' ') {
                Ok(LoginAnswer::Ticket(body))
            } else {
                Err(LoginError::NoAnswer)
            }
        }
    }
}

/// Ask for login answers without caring which transport performs the WTVP request.
pub trait LoginTransport {
    /// Start obtaining the answer to `challenge`; the answer arrives through `poll_answer`.
    fn request_answer(&mut self, now: Instant, challenge: &[u8]) -> Result<(), LoginError>;
    /// Take the finished answer or error, once.
    fn poll_answer(&mut self) -> Option<Result<LoginAnswer<'_>, LoginError>>;
    /// Report that time has passed (enforces the passportd timeout).
    fn handle_timeout(&mut self, now: Instant);
    /// Return when `handle_timeout` should be called next.
    fn poll_timeout(&self) -> Option<Instant>;
}

/// Describe the request the firmware must perform for the delegate transport.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct LoginRequest<'a> {
    /// The login URL from the head-waiter (`wtv-passport:/messengerlogin`).
    pub login_url: &'a str,
    /// The challenge, appended after `?` as is.
    pub challenge: &'a [u8],
    /// The answer kind expected.
    pub mode: AnswerMode,
}

impl core::fmt::Debug for LoginRequest<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "LoginRequest {{ login_url: {:?}, mode: {:?} }}",
            self.login_url, self.mode
        )
    }
}

impl LoginRequest<'_> {
    /// Write the request line and headers (`GET <url>?<challenge>` …) into `out`.
    pub fn write(&self, out: &mut [u8]) -> Result<usize, LoginError> {
        write_request(self.login_url.as_bytes(), self.challenge, out)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DState {
    Idle,
    Pending {
        mode: AnswerMode,
        deadline: Instant,
        taken: bool,
    },
    Answered {
        mode: AnswerMode,
        len: usize,
    },
    Failed(LoginError),
}

/// The delegate transport: the box firmware performs the SECURE request on its own connection.
///
/// `N` is the capacity of the answer buffer (a ticket is usually a few hundred bytes).
pub struct DelegateLogin<'u, const N: usize> {
    login_url: &'u str,
    timeout: Duration,
    challenge: [u8; MAX_CHALLENGE_LEN],
    challenge_len: usize,
    state: DState,
    body: [u8; N],
}

impl<'u, const N: usize> DelegateLogin<'u, N> {
    /// Make a delegate transport for `login_url` with the passportd timeout.
    pub fn new(login_url: &'u str, passportd_timeout: Duration) -> Self {
        DelegateLogin {
            login_url,
            timeout: passportd_timeout,
            challenge: [0; MAX_CHALLENGE_LEN],
            challenge_len: 0,
            state: DState::Idle,
            body: [0; N],
        }
    }

    /// Query whether a request waits to be taken with [`poll_request`](Self::poll_request).
    pub fn has_request(&self) -> bool {
        matches!(self.state, DState::Pending { taken: false, .. })
    }

    /// Take the pending request the firmware must perform (returned once per request).
    pub fn poll_request(&mut self) -> Option<LoginRequest<'_>> {
        if let DState::Pending {
            mode,
            taken: taken @ false,
            ..
        } = &mut self.state
        {
            *taken = true;
            let mode = *mode;
            return Some(LoginRequest {
                login_url: self.login_url,
                challenge: self.challenge.get(..self.challenge_len).unwrap_or(&[]),
                mode,
            });
        }
        None
    }

    /// Report the firmware's reply: status, reason text, raw header lines and the body after RC4.
    ///
    /// If `headers_raw` contains `wtv-lzpf`, the body is decompressed using `Content-length`.
    pub fn complete(
        &mut self,
        status: u16,
        reason: &[u8],
        headers_raw: &[u8],
        body: &[u8],
    ) -> Result<(), LoginError> {
        let DState::Pending { mode, .. } = self.state else {
            return Err(LoginError::State);
        };
        let mut head_lzpf = false;
        let mut clen = None;
        let mut deflate = false;
        for (n, v) in super::message::Headers::new(headers_raw) {
            if n.eq_ignore_ascii_case(b"wtv-lzpf") {
                head_lzpf = true;
            } else if n.eq_ignore_ascii_case(b"content-length") {
                clen = super::message::parse_decimal(v);
            } else if n.eq_ignore_ascii_case(b"content-encoding")
                && v.eq_ignore_ascii_case(b"deflate")
            {
                deflate = true;
            }
        }
        let result = if deflate && status == 200 {
            Err(LoginError::UnsupportedEncoding)
        } else {
            plain_body(body, head_lzpf, clen, &mut self.body)
                .and_then(|b| interpret(mode, status, reason, b).map(|_| b.len()))
        };
        self.state = match result {
            Ok(len) => DState::Answered { mode, len },
            Err(e) => {
                wipe(&mut self.body);
                DState::Failed(e)
            }
        };
        result.map(|_| ())
    }

    /// Report that the firmware could not perform the request.
    pub fn fail(&mut self, reason: LoginError) {
        if matches!(self.state, DState::Pending { .. }) {
            self.state = DState::Failed(reason);
        }
    }
}

impl<const N: usize> Drop for DelegateLogin<'_, N> {
    fn drop(&mut self) {
        wipe(&mut self.body);
    }
}

impl<const N: usize> LoginTransport for DelegateLogin<'_, N> {
    fn request_answer(&mut self, now: Instant, challenge: &[u8]) -> Result<(), LoginError> {
        if matches!(self.state, DState::Pending { .. }) {
            return Err(LoginError::State);
        }
        let mode = check_challenge(challenge)?;
        wipe(&mut self.body);
        self.challenge
            .get_mut(..challenge.len())
            .ok_or(LoginError::BadChallenge)?
            .copy_from_slice(challenge);
        self.challenge_len = challenge.len();
        self.state = DState::Pending {
            mode,
            deadline: now + self.timeout,
            taken: false,
        };
        msgr_debug!("wtvp: login answer requested (delegate)");
        Ok(())
    }

    fn poll_answer(&mut self) -> Option<Result<LoginAnswer<'_>, LoginError>> {
        match self.state {
            DState::Answered { mode, len } => {
                self.state = DState::Idle;
                let body = self.body.get(..len)?;
                Some(interpret(mode, 200, b"", body))
            }
            DState::Failed(e) => {
                self.state = DState::Idle;
                Some(Err(e))
            }
            _ => None,
        }
    }

    fn handle_timeout(&mut self, now: Instant) {
        if let DState::Pending { deadline, .. } = self.state {
            if now >= deadline {
                msgr_warn!("wtvp: passportd timeout, no messengerlogin answer");
                self.state = DState::Failed(LoginError::Timeout);
            }
        }
    }

    fn poll_timeout(&self) -> Option<Instant> {
        match self.state {
            DState::Pending { deadline, .. } => Some(deadline),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ct_prefix_selects_ticket_mode() {
        assert_eq!(answer_mode(b"ct=1,rver=5"), AnswerMode::Ticket);
        assert_eq!(answer_mode(b"lc=1033,id=507"), AnswerMode::Md5);
        assert_eq!(answer_mode(b"1013928519.693957190"), AnswerMode::Md5);
    }

    #[test]
    fn md5_mode_200_ok_body_is_no_answer() {
        assert_eq!(
            interpret(AnswerMode::Md5, 200, b"OK", b"200: OK"),
            Err(LoginError::NoAnswer)
        );
    }

    #[test]
    fn non_200_carries_the_server_message() {
        let e = interpret(
            AnswerMode::Md5,
            500,
            b"MSN TV ran into a technical problem. Please try again.",
            b"",
        );
        let Err(LoginError::Server {
            status: 500,
            message,
        }) = e
        else {
            panic!("{e:?}")
        };
        assert_eq!(
            message.as_str(),
            "MSN TV ran into a technical problem. Please try again."
        );
    }

    #[test]
    fn request_bytes_match_the_note() {
        let mut out = [0u8; 128];
        let n = write_request(
            b"wtv-passport:/messengerlogin",
            b"1013928519.693957190",
            &mut out,
        )
        .unwrap_or(0);
        assert_eq!(&out[..n], b"GET wtv-passport:/messengerlogin?1013928519.693957190\r\nwtv-request-type: primary\r\n\r\n");
        assert_eq!(
            write_request(b"x:/y", b"a\r\nb", &mut out),
            Err(LoginError::BadChallenge)
        );
    }

    #[test]
    fn delegate_times_out_after_passportd_timeout() {
        let mut d: DelegateLogin<'_, 64> =
            DelegateLogin::new("wtv-passport:/messengerlogin", Duration::from_secs(240));
        assert_eq!(
            d.request_answer(Instant::from_millis(1000), b"ct=1"),
            Ok(())
        );
        assert_eq!(d.poll_request().map(|r| r.mode), Some(AnswerMode::Ticket));
        assert!(d.poll_request().is_none());
        assert_eq!(d.poll_timeout(), Some(Instant::from_millis(241_000)));
        d.handle_timeout(Instant::from_millis(240_999));
        assert!(d.poll_answer().is_none());
        d.handle_timeout(Instant::from_millis(241_000));
        assert_eq!(d.poll_answer(), Some(Err(LoginError::Timeout)));
    }

    #[test]
    fn delegate_completes_with_md5_answer() {
        let mut d: DelegateLogin<'_, 64> =
            DelegateLogin::new("wtv-passport:/messengerlogin", Duration::from_secs(240));
        assert_eq!(
            d.request_answer(Instant::ZERO, b"1013928519.693957190"),
            Ok(())
        );
        let body = b"7f919fab309532df353c901430df36fa";
        assert_eq!(
            d.complete(200, b"OK", b"Content-length: 32\n", body),
            Ok(())
        );
        assert_eq!(d.poll_answer(), Some(Ok(LoginAnswer::Md5(*body))));
        assert_eq!(d.poll_timeout(), None);
    }
}
