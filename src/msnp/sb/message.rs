//! `MSG` payloads of the switchboard (reference §11): plain text with `X-MMS-IM-Format`, typing
//! notifications, the invitation decline, splitting long text, and classifying what arrives.
//!
//! Every builder writes into a caller buffer and reports [`MessageError::BufferTooSmall`] instead
//! of writing half a payload. Nothing here allocates or panics on any input.

use crate::limits::MAX_OUTGOING_MSG_PAYLOAD;
use crate::msnp::wire::mime::{self, MimeMessage};

/// The fixed start of every plain-text payload we send (`MIME-Version` first, then
/// `Content-Type`, as the official client did).
pub const TEXT_PREFIX: &[u8] = b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n";

/// Longest font name kept in a [`TextFormat`] (Windows `LF_FACESIZE`).
pub const MAX_FONT_NAME: usize = 32;

/// Describe why a payload could not be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum MessageError {
    /// The output buffer is too small for the payload.
    BufferTooSmall,
    /// The payload would exceed the switchboard limit of 1664 bytes.
    TooLong,
    /// A header value holds CR or LF, which would break the header block.
    BadValue,
}

impl MessageError {
    /// Classify the error for callers that only switch on the broad cause.
    pub const fn kind(self) -> crate::ErrorKind {
        match self {
            MessageError::BufferTooSmall => crate::ErrorKind::Capacity,
            MessageError::TooLong | MessageError::BadValue => crate::ErrorKind::Local,
        }
    }
}

/// Hold the `EF=` effects of a text message as bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Effects(pub u8);

impl Effects {
    /// `B`: bold.
    pub const BOLD: Effects = Effects(1);
    /// `I`: italic.
    pub const ITALIC: Effects = Effects(2);
    /// `U`: underline.
    pub const UNDERLINE: Effects = Effects(4);
    /// `S`: strike-through.
    pub const STRIKE: Effects = Effects(8);

    const LETTERS: [(u8, u8); 4] = [(1, b'B'), (2, b'I'), (4, b'U'), (8, b'S')];

    /// Parse an `EF=` value (letters in any order and case; unknown letters are ignored).
    pub fn parse(v: &[u8]) -> Self {
        let mut bits = 0u8;
        for c in v {
            for (bit, l) in Self::LETTERS {
                if c.eq_ignore_ascii_case(&l) {
                    bits |= bit;
                }
            }
        }
        Effects(bits)
    }

    /// Return the union of two effect sets.
    pub const fn with(self, other: Effects) -> Self {
        Effects(self.0 | other.0)
    }
}

/// Describe the `X-MMS-IM-Format` header of outgoing text (reference §11.2).
///
/// Emitted as `FN=<font>; EF=<BIUS>; CO=<bbggrr hex>; CS=<hex>; PF=<hex>`, font first, the key
/// order of the official client. The default is the official client's `FN=Arial; EF=; CO=0;
/// CS=0; PF=22`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextFormat {
    font: [u8; MAX_FONT_NAME],
    font_len: u8,
    /// Bold, italic, underline, strike-through.
    pub effects: Effects,
    /// Colour as `0xBBGGRR` (blue in the high byte, as the protocol writes it).
    pub color: u32,
    /// Windows character-set number (`CS=`).
    pub charset: u8,
    /// Windows pitch-and-family byte (`PF=`, written in hex: `0x22` is `22`).
    pub pitch_family: u8,
}

impl Default for TextFormat {
    fn default() -> Self {
        Self::ARIAL
    }
}

const fn arial() -> [u8; MAX_FONT_NAME] {
    let mut f = [0u8; MAX_FONT_NAME];
    f[0] = b'A';
    f[1] = b'r';
    f[2] = b'i';
    f[3] = b'a';
    f[4] = b'l';
    f
}

impl TextFormat {
    /// Return the official client's default: Arial, no effects, black, ANSI, pitch-family `22`.
    pub const ARIAL: TextFormat = TextFormat {
        font: arial(),
        font_len: 5,
        effects: Effects(0),
        color: 0,
        charset: 0,
        pitch_family: 0x22,
    };

    /// Make a format with font `name` (at most 32 bytes of printable text, no `;`).
    pub fn new(name: &str) -> Option<Self> {
        let mut f = Self::ARIAL;
        f.set_font(name.as_bytes())?;
        Some(f)
    }

    fn set_font(&mut self, name: &[u8]) -> Option<()> {
        if name.is_empty()
            || name.len() > MAX_FONT_NAME
            || name.iter().any(|&c| c < 0x20 || c == 0x7f || c == b';')
        {
            return None;
        }
        self.font = [0; MAX_FONT_NAME];
        self.font.get_mut(..name.len())?.copy_from_slice(name);
        self.font_len = u8::try_from(name.len()).ok()?;
        Some(())
    }

    /// Return the font name (decoded).
    pub fn font(&self) -> &[u8] {
        self.font.get(..usize::from(self.font_len)).unwrap_or(&[])
    }

    /// Parse a received or recorded `X-MMS-IM-Format` value; missing keys keep the defaults.
    ///
    /// Returns `None` when a present key cannot be read (bad hex, font too long).
    pub fn parse(v: &[u8]) -> Option<Self> {
        let mut f = Self::ARIAL;
        for item in v.split(|&b| b == b';') {
            let item = trim(item);
            if item.is_empty() {
                continue;
            }
            let eq = item.iter().position(|&b| b == b'=')?;
            let key = item.get(..eq)?;
            let val = item.get(eq.checked_add(1)?..)?;
            if key.eq_ignore_ascii_case(b"FN") {
                let mut buf = [0u8; MAX_FONT_NAME];
                let n = crate::msnp::wire::escape::decode(val, &mut buf).ok()?;
                f.set_font(buf.get(..n)?)?;
            } else if key.eq_ignore_ascii_case(b"EF") {
                f.effects = Effects::parse(val);
            } else if key.eq_ignore_ascii_case(b"CO") {
                f.color = parse_hex(val)?;
            } else if key.eq_ignore_ascii_case(b"CS") {
                f.charset = u8::try_from(parse_hex(val)?).ok()?;
            } else if key.eq_ignore_ascii_case(b"PF") {
                f.pitch_family = u8::try_from(parse_hex(val)?).ok()?;
            }
        }
        Some(f)
    }

    /// Write the header value (without `X-MMS-IM-Format: ` and line end); return its length.
    fn write_value(&self, w: &mut Out<'_>) {
        w.put(b"FN=");
        for &c in self.font() {
            match c {
                b' ' => w.put(b"%20"),
                b'%' => w.put(b"%25"),
                _ => w.put(&[c]),
            }
        }
        w.put(b"; EF=");
        for (bit, l) in Effects::LETTERS {
            if self.effects.0 & bit != 0 {
                w.put(&[l]);
            }
        }
        w.put(b"; CO=");
        w.hex(self.color);
        w.put(b"; CS=");
        w.hex(u32::from(self.charset));
        w.put(b"; PF=");
        w.hex(u32::from(self.pitch_family));
    }
}

fn trim(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

fn parse_hex(v: &[u8]) -> Option<u32> {
    if v.is_empty() || v.len() > 8 {
        return None;
    }
    let mut n = 0u32;
    for &c in v {
        let d = (c as char).to_digit(16)?;
        n = n.checked_mul(16)?.checked_add(d)?;
    }
    Some(n)
}

/// A bounded writer that only records overflow (counts when given no buffer).
struct Out<'b> {
    buf: Option<&'b mut [u8]>,
    pos: usize,
    overflow: bool,
}

impl<'b> Out<'b> {
    fn new(buf: &'b mut [u8]) -> Self {
        Out {
            buf: Some(buf),
            pos: 0,
            overflow: false,
        }
    }
    fn counter() -> Out<'static> {
        Out {
            buf: None,
            pos: 0,
            overflow: false,
        }
    }
    fn put(&mut self, b: &[u8]) {
        let Some(end) = self.pos.checked_add(b.len()) else {
            self.overflow = true;
            return;
        };
        if let Some(buf) = self.buf.as_deref_mut() {
            match buf.get_mut(self.pos..end) {
                Some(d) => d.copy_from_slice(b),
                None => {
                    self.overflow = true;
                    return;
                }
            }
        }
        self.pos = end;
    }
    fn hex(&mut self, v: u32) {
        let mut digits = [0u8; 8];
        let mut n = v;
        let mut i = digits.len();
        loop {
            i = i.saturating_sub(1);
            let d = (n % 16) as u8; // < 16: fits.
            if let Some(slot) = digits.get_mut(i) {
                *slot = if d < 10 { b'0' + d } else { b'a' + (d - 10) };
            }
            n /= 16;
            if n == 0 || i == 0 {
                break;
            }
        }
        let tail = digits.get(i..).unwrap_or(&[]);
        let mut tmp = [0u8; 8];
        let len = tail.len();
        if let Some(t) = tmp.get_mut(..len) {
            t.copy_from_slice(tail);
        }
        self.put(tmp.get(..len).unwrap_or(&[]));
    }
    fn finish(self) -> Result<usize, MessageError> {
        if self.overflow {
            Err(MessageError::BufferTooSmall)
        } else {
            Ok(self.pos)
        }
    }
}

fn write_text_header(format: Option<&TextFormat>, w: &mut Out<'_>) {
    w.put(TEXT_PREFIX);
    if let Some(f) = format {
        w.put(b"X-MMS-IM-Format: ");
        f.write_value(w);
        w.put(b"\r\n");
    }
    w.put(b"\r\n");
}

/// Write the `X-MMS-IM-Format` value of `format` (without the header name and line end) into
/// `out`; return its length.
pub fn write_format_value(format: &TextFormat, out: &mut [u8]) -> Result<usize, MessageError> {
    let mut w = Out::new(out);
    format.write_value(&mut w);
    w.finish()
}

/// The header name written before a format value.
pub const FORMAT_HEADER: &[u8] = b"X-MMS-IM-Format: ";

/// Return the length of the header block (up to and including the empty line) of a text payload.
pub fn text_header_len(format: Option<&TextFormat>) -> usize {
    let mut w = Out::counter();
    write_text_header(format, &mut w);
    w.pos
}

/// Return how many body bytes one `MSG` can carry with this format (1664 minus the headers).
pub fn max_text_body(format: Option<&TextFormat>) -> usize {
    MAX_OUTGOING_MSG_PAYLOAD.saturating_sub(text_header_len(format))
}

/// Write a `text/plain; charset=UTF-8` payload with `body` (already UTF-8, CRLF line breaks).
///
/// Fails with [`MessageError::TooLong`] when the payload would exceed 1664 bytes: split the text
/// with [`split_text`] first.
pub fn write_text(
    format: Option<&TextFormat>,
    body: &[u8],
    out: &mut [u8],
) -> Result<usize, MessageError> {
    if text_header_len(format).saturating_add(body.len()) > MAX_OUTGOING_MSG_PAYLOAD {
        return Err(MessageError::TooLong);
    }
    let mut w = Out::new(out);
    write_text_header(format, &mut w);
    w.put(body);
    w.finish()
}

/// Write the typing notification of `handle` (`text/x-msmsgscontrol`, body CRLF; §11.3).
pub fn write_typing(handle: &[u8], out: &mut [u8]) -> Result<usize, MessageError> {
    if handle.iter().any(|&c| c == b'\r' || c == b'\n') {
        return Err(MessageError::BadValue);
    }
    let mut w = Out::new(out);
    w.put(b"MIME-Version: 1.0\r\nContent-Type: text/x-msmsgscontrol\r\nTypingUser: ");
    w.put(handle);
    w.put(b"\r\n\r\n\r\n");
    w.finish()
}

/// Write the decline of an application invitation (`Invitation-Command: CANCEL`,
/// `Cancel-Code: REJECT_NOT_INSTALLED`; §11.5) for the invitation `cookie`.
pub fn write_invite_decline(cookie: &[u8], out: &mut [u8]) -> Result<usize, MessageError> {
    if cookie.is_empty() || cookie.iter().any(|&c| c == b'\r' || c == b'\n') {
        return Err(MessageError::BadValue);
    }
    let mut w = Out::new(out);
    w.put(b"MIME-Version: 1.0\r\nContent-Type: text/x-msmsgsinvite; charset=UTF-8\r\n\r\n");
    w.put(b"Invitation-Command: CANCEL\r\nInvitation-Cookie: ");
    w.put(cookie);
    w.put(b"\r\nCancel-Code: REJECT_NOT_INSTALLED\r\n\r\n");
    w.finish()
}

/// Return the length of the longest prefix of `text` that is at most `max` bytes, ends on a
/// UTF-8 character boundary and does not separate a CR from its LF.
///
/// Returns at least one character when `max` allows it, so splitting always advances.
pub fn split_point(text: &[u8], max: usize) -> usize {
    if text.len() <= max {
        return text.len();
    }
    let mut cut = max;
    // Back up over UTF-8 continuation bytes (at most three).
    while cut > 0 && text.get(cut).is_some_and(|&b| b & 0xC0 == 0x80) {
        cut = cut.saturating_sub(1);
    }
    // Keep CR LF together.
    if cut > 1 && text.get(cut.saturating_sub(1)) == Some(&b'\r') && text.get(cut) == Some(&b'\n') {
        cut = cut.saturating_sub(1);
    }
    cut
}

/// Iterate over the parts of `text` that each fit one `MSG` body of at most `max` bytes.
pub fn split_text(text: &[u8], max: usize) -> SplitText<'_> {
    SplitText { rest: text, max }
}

/// Iterator returned by [`split_text`].
#[derive(Debug, Clone)]
pub struct SplitText<'a> {
    rest: &'a [u8],
    max: usize,
}

impl<'a> Iterator for SplitText<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        if self.rest.is_empty() || self.max == 0 {
            return None;
        }
        let cut = split_point(self.rest, self.max);
        if cut == 0 {
            return None;
        }
        let (head, tail) = self.rest.split_at(cut);
        self.rest = tail;
        Some(head)
    }
}

/// Return the length `text` has after normalising lone LF and lone CR to CRLF.
pub fn normalized_len(text: &[u8]) -> usize {
    let mut n = 0usize;
    let mut prev = 0u8;
    for (i, &c) in text.iter().enumerate() {
        n = n.saturating_add(match c {
            b'\n' if prev != b'\r' => 2,
            b'\r' if text.get(i.saturating_add(1)) != Some(&b'\n') => 2,
            _ => 1,
        });
        prev = c;
    }
    n
}

/// Copy `text` into `out` with lone LF and lone CR turned into CRLF; return the bytes written.
pub fn normalize_line_breaks(text: &[u8], out: &mut [u8]) -> Result<usize, MessageError> {
    // Runs without line breaks are copied whole (a byte at a time is slow on the box).
    let mut n = 0usize;
    let mut rest = text;
    loop {
        let run = rest
            .iter()
            .position(|&c| c == b'\r' || c == b'\n')
            .unwrap_or(rest.len());
        let (plain, tail) = rest.split_at(run);
        let end = n.checked_add(run).ok_or(MessageError::BufferTooSmall)?;
        out.get_mut(n..end)
            .ok_or(MessageError::BufferTooSmall)?
            .copy_from_slice(plain);
        n = end;
        // A CR LF pair is kept; a lone CR or LF becomes CR LF.
        rest = match tail {
            [] => return Ok(n),
            [b'\r', b'\n', more @ ..] => more,
            [_, more @ ..] => more,
        };
        let end = n.checked_add(2).ok_or(MessageError::BufferTooSmall)?;
        out.get_mut(n..end)
            .ok_or(MessageError::BufferTooSmall)?
            .copy_from_slice(b"\r\n");
        n = end;
    }
}

/// What a received switchboard `MSG` payload is, for a plain-text client (§11.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Incoming<'a> {
    /// `text/plain`: a message to show. `utf8` is false for another or no charset (Latin-1).
    Text {
        /// The body bytes.
        body: &'a [u8],
        /// The raw `X-MMS-IM-Format` value, if any.
        format: Option<&'a [u8]>,
        /// Whether the charset is UTF-8.
        utf8: bool,
    },
    /// `text/x-msmsgscontrol` with `TypingUser`.
    Typing {
        /// The `TypingUser` header value.
        user: &'a [u8],
    },
    /// `text/x-msmsgsinvite` with `Invitation-Command: INVITE`: an application invitation.
    Invitation {
        /// The `Invitation-Cookie` to copy into the decline.
        cookie: &'a [u8],
        /// The `Application-Name`, if sent.
        application: Option<&'a [u8]>,
    },
    /// Anything else (including control messages without `TypingUser` and invitation replies).
    Other {
        /// The media type (empty when there is no `Content-Type`).
        content_type: &'a [u8],
    },
}

/// Query whether `a` and `b` are equal, comparing four bytes at a time (much cheaper on the
/// box than the byte loop a slice comparison becomes there).
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    // Fixed-size chunks: no length check or call per word, and the tails are compared byte
    // by byte in place (no slice comparison call).
    let ((wa, ta), (wb, tb)) = (a.as_chunks::<4>(), b.as_chunks::<4>());
    wa.iter()
        .zip(wb)
        .all(|(x, y)| u32::from_ne_bytes(*x) == u32::from_ne_bytes(*y))
        && ta.iter().zip(tb).all(|(x, y)| x == y)
}

/// Split `X-MMS-IM-Format: value` CRLF CRLF `body` (the usual rest of a text message's
/// headers); `None` when `rest` is anything else.
fn format_then_body(rest: &[u8]) -> Option<(&[u8], &[u8])> {
    const NAME: &[u8] = b"X-MMS-IM-Format: ";
    let (name, tail) = rest.split_at_checked(NAME.len())?;
    if !same_bytes(name, NAME) {
        return None;
    }
    let lf = memchr::memchr(b'\n', tail)?;
    let line = tail.get(..lf)?;
    let value = match line {
        [v @ .., b'\r'] => v,
        _ => line,
    };
    let body = match tail.get(lf.checked_add(1)?..)? {
        [b'\r', b'\n', body @ ..] | [b'\n', body @ ..] => body,
        _ => return None,
    };
    Some((trim(value), body))
}

/// Classify a received payload (one pass over its header block).
pub fn classify(payload: &[u8]) -> Incoming<'_> {
    // Fast path: the official clients (and this one) start every text message with exactly
    // these two lines; then only `X-MMS-IM-Format` and the end of the headers are left to find.
    if let Some((head, rest)) = payload.split_at_checked(TEXT_PREFIX.len()) {
        if same_bytes(head, TEXT_PREFIX) {
            if let Some((format, body)) = format_then_body(rest) {
                return Incoming::Text {
                    body,
                    format: Some(format),
                    utf8: true,
                };
            }
            const FORMAT: [&[u8]; 1] = [b"X-MMS-IM-Format"];
            let mut v = [None; 1];
            let m = MimeMessage::parse_with(rest, &FORMAT, &mut v);
            let [format] = v;
            return Incoming::Text {
                body: m.body(),
                format,
                utf8: true,
            };
        }
    }
    const NAMES: [&[u8]; 3] = [b"Content-Type", b"X-MMS-IM-Format", b"TypingUser"];
    let mut v = [None; 3];
    let m = MimeMessage::parse_with(payload, &NAMES, &mut v);
    let [content_type, format, typing] = v;
    let ct = content_type.map_or(&[][..], mime::media_type);
    if mime::same_name(ct, b"text/plain") {
        return Incoming::Text {
            body: m.body(),
            format,
            utf8: content_type
                .and_then(mime::charset_of)
                .is_some_and(|c| mime::same_name(c, b"UTF-8")),
        };
    }
    if mime::same_name(ct, b"text/x-msmsgscontrol") {
        if let Some(user) = typing {
            return Incoming::Typing { user };
        }
    }
    if mime::same_name(ct, b"text/x-msmsgsinvite") {
        // The invitation fields live in the body, which is itself a header block.
        const INVITE: [&[u8]; 3] = [
            b"Invitation-Command",
            b"Invitation-Cookie",
            b"Application-Name",
        ];
        let mut f = [None; 3];
        MimeMessage::parse_with(m.body(), &INVITE, &mut f);
        if let [Some(cmd), Some(cookie), application] = f {
            if cmd.eq_ignore_ascii_case(b"INVITE") && !cookie.is_empty() {
                return Incoming::Invitation {
                    cookie,
                    application,
                };
            }
        }
    }
    Incoming::Other { content_type: ct }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn test_emit_default_text_matches_escargot_recording() {
        let mut out = [0u8; 256];
        let f = TextFormat::default();
        let n = write_text(Some(&f), b"Hello Bob (U)", &mut out).unwrap();
        assert_eq!(
            &out[..n],
            &b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\nX-MMS-IM-Format: FN=Arial; EF=; CO=0; CS=0; PF=22\r\n\r\nHello Bob (U)"[..]
        );
        assert_eq!(n, 126);
    }

    #[test]
    fn test_parse_and_emit_recorded_format_round_trip() {
        let v = b"FN=MS%20Sans%20Serif; EF=B; CO=ff; CS=0; PF=0";
        let f = TextFormat::parse(v).unwrap();
        assert_eq!(f.font(), b"MS Sans Serif");
        assert_eq!(f.effects, Effects::BOLD);
        assert_eq!(f.color, 0xff);
        let mut out = [0u8; 128];
        let mut w = Out::new(&mut out);
        f.write_value(&mut w);
        let n = w.finish().unwrap();
        assert_eq!(&out[..n], &v[..]);
    }

    #[test]
    fn test_parse_format_any_order_and_case() {
        let f = TextFormat::parse(b"co=ff0000;ef=ui; FN=Courier").unwrap();
        assert_eq!(f.color, 0xff0000);
        assert_eq!(f.effects, Effects::UNDERLINE.with(Effects::ITALIC));
        assert_eq!(f.font(), b"Courier");
        assert_eq!(TextFormat::parse(b"CO=xyz"), None);
        assert_eq!(TextFormat::parse(b"FN="), None);
    }

    #[test]
    fn test_emit_typing_matches_recording() {
        let mut out = [0u8; 128];
        let n = write_typing(b"alice@example.com", &mut out).unwrap();
        assert_eq!(n, 90);
        assert!(out[..n].ends_with(b"TypingUser: alice@example.com\r\n\r\n\r\n"));
        assert_eq!(
            write_typing(b"a\r\nb", &mut out),
            Err(MessageError::BadValue)
        );
    }

    #[test]
    fn test_text_too_long_is_refused_and_split_fits() {
        let f = TextFormat::default();
        let max = max_text_body(Some(&f));
        assert_eq!(max, 1664 - 113);
        // The pool records' arithmetic (prefix, format line, empty line) agrees.
        let mut v = [0u8; 128];
        let n = write_format_value(&f, &mut v).unwrap();
        assert_eq!(TEXT_PREFIX.len() + FORMAT_HEADER.len() + n + 2 + 2, 113);
        assert_eq!(text_header_len(None), TEXT_PREFIX.len() + 2);
        let body = [b'x'; 1600];
        let mut out = [0u8; 2048];
        assert_eq!(
            write_text(Some(&f), &body, &mut out),
            Err(MessageError::TooLong)
        );
        let parts: Vec<_> = split_text(&body, max).collect();
        assert_eq!(parts.len(), 2);
        for p in parts {
            let n = write_text(Some(&f), p, &mut out).unwrap();
            assert!(n <= 1664);
        }
        let mut small = [0u8; 10];
        assert_eq!(
            write_text(Some(&f), b"x", &mut small),
            Err(MessageError::BufferTooSmall)
        );
    }

    #[test]
    fn test_split_respects_utf8_and_crlf() {
        let s = "aé✓日本".as_bytes(); // 1 + 2 + 3 + 3 + 3
        assert_eq!(split_point(s, 2), 1);
        assert_eq!(split_point(s, 3), 3);
        assert_eq!(split_point(s, 5), 3);
        assert_eq!(split_point(b"ab\r\ncd", 3), 2);
        let parts: Vec<_> = split_text(s, 4).collect();
        assert_eq!(parts.concat(), s);
        assert!(parts.iter().all(|p| core::str::from_utf8(p).is_ok()));
        assert_eq!(split_text(b"abc", 0).count(), 0);
    }

    #[test]
    fn test_normalize_line_breaks() {
        let mut out = [0u8; 32];
        let n = normalize_line_breaks(b"a\nb\r\nc\rd", &mut out).unwrap();
        assert_eq!(&out[..n], b"a\r\nb\r\nc\r\nd");
        assert_eq!(normalized_len(b"a\nb\r\nc\rd"), n);
        for t in [
            &b""[..],
            b"\r",
            b"\n",
            b"\r\r\n",
            b"\n\r",
            b"x\r\n\n\ry",
            b"plain",
        ] {
            let n = normalize_line_breaks(t, &mut out).unwrap();
            assert_eq!(n, normalized_len(t));
            let want: Vec<u8> = t
                .iter()
                .enumerate()
                .flat_map(|(i, &c)| match c {
                    b'\n' if i == 0 || t[i - 1] != b'\r' => b"\r\n".to_vec(),
                    b'\r' if t.get(i + 1) != Some(&b'\n') => b"\r\n".to_vec(),
                    _ => vec![c],
                })
                .collect();
            assert_eq!(&out[..n], &want[..]);
        }
        assert_eq!(
            normalize_line_breaks(b"ab\n", &mut out[..3]),
            Err(MessageError::BufferTooSmall)
        );
    }

    #[test]
    fn test_classify_incoming() {
        let t = classify(b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nhi");
        assert_eq!(
            t,
            Incoming::Text {
                body: b"hi",
                format: None,
                utf8: true
            }
        );
        let t = classify(
            b"MIME-Version: 1.0\r\nContent-Type: text/x-msmsgscontrol\r\nTypingUser: bob@x\r\n\r\n\r\n",
        );
        assert_eq!(t, Incoming::Typing { user: b"bob@x" });
        let inv = b"MIME-Version: 1.0\r\nContent-Type: text/x-msmsgsinvite; charset=UTF-8\r\n\r\nApplication-Name: File Transfer\r\nInvitation-Command: INVITE\r\nInvitation-Cookie: 42\r\n\r\n";
        assert_eq!(
            classify(inv),
            Incoming::Invitation {
                cookie: b"42",
                application: Some(b"File Transfer")
            }
        );
        assert_eq!(
            classify(b"Content-Type: text/x-clientcaps\r\n\r\nClient-Name: x"),
            Incoming::Other {
                content_type: b"text/x-clientcaps"
            }
        );
        assert_eq!(classify(b""), Incoming::Other { content_type: b"" });
        // The fast path for the usual prefix agrees with the general one.
        let std = b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\nX-MMS-IM-Format: FN=Arial\r\n\r\nhi";
        let other = b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nX-MMS-IM-Format: FN=Arial\r\n\r\nhi";
        assert_eq!(classify(std), classify(other));
        for tail in [
            &b"X-MMS-IM-Format: FN=Arial \r\n\r\nhi"[..],
            b"X-MMS-IM-Format: FN=Arial\n\nhi",
            b"X-MMS-IM-Format: FN=Arial\r\nX-Other: 1\r\n\r\nhi",
            b"X-MMS-IM-Format:FN=Arial\r\n\r\nhi",
            b"X-MMS-IM-Format: FN=Arial",
        ] {
            let fast = [
                &b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n"[..],
                tail,
            ]
            .concat();
            let slow = [
                &b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"[..],
                tail,
            ]
            .concat();
            assert_eq!(classify(&fast), classify(&slow));
        }
        assert_eq!(
            classify(b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n"),
            Incoming::Text {
                body: b"",
                format: None,
                utf8: true
            }
        );
        assert_eq!(
            classify(b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n"),
            Incoming::Text {
                body: b"",
                format: None,
                utf8: true
            }
        );
    }

    #[test]
    fn test_emit_invite_decline() {
        let mut out = [0u8; 256];
        let n = write_invite_decline(b"42", &mut out).unwrap();
        let m = MimeMessage::parse(&out[..n]);
        assert!(m.is_content_type("text/x-msmsgsinvite"));
        let body = MimeMessage::parse(m.body());
        assert_eq!(body.header("Invitation-Command"), Some(&b"CANCEL"[..]));
        assert_eq!(body.header("Invitation-Cookie"), Some(&b"42"[..]));
        assert_eq!(
            body.header("Cancel-Code"),
            Some(&b"REJECT_NOT_INSTALLED"[..])
        );
        assert_eq!(
            write_invite_decline(b"", &mut out),
            Err(MessageError::BadValue)
        );
    }
}
