//! WTVP message framing: request emission into a caller buffer and an incremental response-head
//! parser (status line, headers, `Content-length`, `wtv-lzpf`, `Connection`).
//!
//! Requests use CRLF and carry no `HTTP/` token. Responses may end lines with LF or CRLF; header
//! names match case-insensitively; unknown headers are ignored. Parsing follows httparse:
//! [`parse_head`] returns [`Status::Partial`] until the empty line has arrived.

/// Longest response header block accepted (the stage-two answer is a few KiB).
pub const MAX_HEAD_LEN: usize = 16 * 1024;

/// Say whether parsing finished or needs more bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status<T> {
    /// Valid so far; feed more bytes.
    Partial,
    /// Parsing finished.
    Complete(T),
}

/// Say what is wrong with a WTVP message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MessageError {
    /// The status line is not `NNN reason`.
    StatusLine,
    /// A header line has no `:`.
    HeaderLine,
    /// `Content-length` is not a decimal number.
    ContentLength,
    /// The header block exceeds [`MAX_HEAD_LEN`] or the caller's buffer.
    HeadTooLong,
    /// The body exceeds the caller's buffer.
    BodyTooLong,
    /// The output buffer for a request is too small.
    BufferTooSmall,
    /// A request field contains bytes that would break the framing (CR, LF, NUL, non-ASCII).
    BadField,
    /// The server sent bytes before the request they would answer had been written.
    Unsolicited,
}

impl MessageError {
    /// Return the crate-wide classification of this error.
    pub const fn kind(self) -> crate::ErrorKind {
        match self {
            MessageError::BufferTooSmall
            | MessageError::BodyTooLong
            | MessageError::HeadTooLong => crate::ErrorKind::Capacity,
            MessageError::BadField => crate::ErrorKind::Local,
            MessageError::Unsolicited => crate::ErrorKind::Unexpected,
            _ => crate::ErrorKind::Malformed,
        }
    }
}

/// Append bytes to a caller buffer, failing without a partial write.
#[derive(Debug)]
pub struct Writer<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl<'a> Writer<'a> {
    /// Start writing at the beginning of `buf`.
    pub fn new(buf: &'a mut [u8]) -> Self {
        Writer { buf, pos: 0 }
    }

    /// Append `data` or fail with [`MessageError::BufferTooSmall`].
    pub fn put(&mut self, data: &[u8]) -> Result<(), MessageError> {
        let end = self
            .pos
            .checked_add(data.len())
            .ok_or(MessageError::BufferTooSmall)?;
        self.buf
            .get_mut(self.pos..end)
            .ok_or(MessageError::BufferTooSmall)?
            .copy_from_slice(data);
        self.pos = end;
        Ok(())
    }

    /// Append a field value after checking it cannot break the framing.
    pub fn put_field(&mut self, data: &[u8]) -> Result<(), MessageError> {
        if !field_ok(data) {
            return Err(MessageError::BadField);
        }
        self.put(data)
    }

    /// Append a decimal number.
    pub fn put_u32(&mut self, mut v: u32) -> Result<(), MessageError> {
        let mut digits = [0u8; 10];
        let mut i = digits.len();
        loop {
            i -= 1;
            if let Some(d) = digits.get_mut(i) {
                *d = b'0' + (v % 10) as u8;
            }
            v /= 10;
            if v == 0 || i == 0 {
                break;
            }
        }
        self.put(digits.get(i..).unwrap_or(&[]))
    }

    /// Append one `Name: value` header line with CRLF.
    pub fn header(&mut self, name: &[u8], value: &[u8]) -> Result<(), MessageError> {
        if !field_ok(name) || !field_ok(value) {
            return Err(MessageError::BadField);
        }
        self.put_field(name)?;
        self.put(b": ")?;
        self.put_field(value)?;
        self.put(b"\r\n")
    }

    /// Return the number of bytes written so far.
    pub fn len(&self) -> usize {
        self.pos
    }

    /// Query whether nothing has been written.
    pub fn is_empty(&self) -> bool {
        self.pos == 0
    }

    /// Return the bytes written so far.
    pub fn written(&self) -> &[u8] {
        self.buf.get(..self.pos).unwrap_or(&[])
    }
}

/// Query whether a request field is printable ASCII without CR/LF (safe on one line).
pub fn field_ok(data: &[u8]) -> bool {
    data.iter().all(|&c| (0x20..0x7f).contains(&c))
}

/// Describe a parsed response head; all slices borrow the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponseHead<'a> {
    /// The three-digit status code.
    pub status: u16,
    /// The text after the status code (the server's message).
    pub reason: &'a [u8],
    /// The header lines after the status line, raw (LF or CRLF line ends).
    pub headers_raw: &'a [u8],
    /// Length of the whole head including the empty line.
    pub head_len: usize,
    /// `Content-length` (or `Content-Length`), if present.
    pub content_length: Option<usize>,
    /// Whether `wtv-lzpf: 0` is present (Content-length is then the uncompressed size).
    pub lzpf: bool,
    /// Whether `Content-Encoding: deflate` is present (not supported by this core).
    pub deflate: bool,
    /// Whether `Connection: close` is present.
    pub close: bool,
}

/// Iterate over `(name, value)` pairs of a raw header block.
#[derive(Debug, Clone)]
pub struct Headers<'a> {
    rest: &'a [u8],
}

impl<'a> Headers<'a> {
    /// Iterate over the header lines of `raw` (LF or CRLF ends; stops at the first empty line).
    pub fn new(raw: &'a [u8]) -> Self {
        Headers { rest: raw }
    }
}

fn trim(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', r @ ..] = s {
        s = r;
    }
    while let [r @ .., b' ' | b'\t' | b'\r'] = s {
        s = r;
    }
    s
}

fn split_line(buf: &[u8]) -> Option<(&[u8], &[u8])> {
    let i = buf.iter().position(|&c| c == b'\n')?;
    let line = buf.get(..i)?;
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    Some((line, buf.get(i + 1..)?))
}

impl<'a> Iterator for Headers<'a> {
    type Item = (&'a [u8], &'a [u8]);
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let (line, rest) = split_line(self.rest)?;
            self.rest = rest;
            if line.is_empty() {
                self.rest = &[];
                return None;
            }
            if let Some(c) = line.iter().position(|&b| b == b':') {
                return Some((trim(line.get(..c)?), trim(line.get(c + 1..)?)));
            }
        }
    }
}

impl<'a> ResponseHead<'a> {
    /// Return the first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&'a [u8]> {
        Headers::new(self.headers_raw)
            .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| v)
    }

    /// Iterate over every value of header `name` (case-insensitive), in order.
    pub fn headers_named<'n>(&self, name: &'n str) -> impl Iterator<Item = &'a [u8]> + 'n
    where
        'a: 'n,
    {
        Headers::new(self.headers_raw)
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| v)
    }

    /// Iterate over all headers.
    pub fn headers(&self) -> Headers<'a> {
        Headers::new(self.headers_raw)
    }
}

/// Parse a decimal `usize` with no sign or spaces.
pub fn parse_decimal(s: &[u8]) -> Option<usize> {
    if s.is_empty() || s.len() > 9 {
        return None;
    }
    let mut v: usize = 0;
    for &c in s {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(usize::from(c - b'0'))?;
    }
    Some(v)
}

/// One complete line of a response head, as [`HeadReader::line`] classifies it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Line<'a> {
    /// The status line: the code and the server's message.
    Status(u16, &'a [u8]),
    /// A header line: its name and value, trimmed.
    Header(&'a [u8], &'a [u8]),
    /// The empty line that ends the head.
    End,
}

/// Read a response head one complete line at a time, keeping only the framing values.
///
/// Feed each line without its LF (a trailing CR is dropped); the first line is the status line.
/// Lines longer than the caller's buffer are the caller's to refuse; the whole head is limited
/// to [`MAX_HEAD_LEN`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HeadReader {
    /// The status code, once the status line has been read.
    pub status: Option<u16>,
    /// `Content-length` (or `Content-Length`), if present (the last one counts).
    pub content_length: Option<usize>,
    /// Whether `wtv-lzpf` is present (Content-length is then the uncompressed size).
    pub lzpf: bool,
    /// Whether `Content-Encoding: deflate` is present (not supported by this core).
    pub deflate: bool,
    /// Whether `Connection: close` is present.
    pub close: bool,
    /// Bytes of head read so far, line ends included.
    pub len: usize,
}

impl HeadReader {
    /// Start reading a new head.
    pub const fn new() -> Self {
        HeadReader {
            status: None,
            content_length: None,
            lzpf: false,
            deflate: false,
            close: false,
            len: 0,
        }
    }

    /// Take one complete line (without its LF) and say what it is.
    pub fn line<'a>(&mut self, line: &'a [u8]) -> Result<Line<'a>, MessageError> {
        self.len = self.len.saturating_add(line.len()).saturating_add(1);
        if self.len > MAX_HEAD_LEN {
            return Err(MessageError::HeadTooLong);
        }
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if self.status.is_none() {
            let (status, reason) = parse_status(line)?;
            self.status = Some(status);
            return Ok(Line::Status(status, reason));
        }
        if line.is_empty() {
            return Ok(Line::End);
        }
        let c = line
            .iter()
            .position(|&b| b == b':')
            .ok_or(MessageError::HeaderLine)?;
        let (name, value) = (
            trim(line.get(..c).unwrap_or(&[])),
            trim(line.get(c + 1..).unwrap_or(&[])),
        );
        if name.eq_ignore_ascii_case(b"content-length") {
            self.content_length = Some(parse_decimal(value).ok_or(MessageError::ContentLength)?);
        } else if name.eq_ignore_ascii_case(b"wtv-lzpf") {
            self.lzpf = true;
        } else if name.eq_ignore_ascii_case(b"content-encoding") {
            self.deflate = value.eq_ignore_ascii_case(b"deflate");
        } else if name.eq_ignore_ascii_case(b"connection") {
            self.close = value.eq_ignore_ascii_case(b"close");
        }
        Ok(Line::Header(name, value))
    }
}

/// Parse a response head from the start of `buf` (the whole head at once; the built-in client
/// reads heads line by line with [`HeadReader`]).
pub fn parse_head(buf: &[u8]) -> Result<Status<ResponseHead<'_>>, MessageError> {
    // Find the end of the head: an empty line (LF LF, or LF CR LF).
    let mut pos = 0;
    let mut end = None;
    let mut first_line_end = None;
    while let Some(off) = buf
        .get(pos..)
        .and_then(|r| r.iter().position(|&c| c == b'\n'))
    {
        let line_end = pos + off;
        let line = buf.get(pos..line_end).unwrap_or(&[]);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if first_line_end.is_none() {
            first_line_end = Some(line_end);
        } else if line.is_empty() {
            end = Some(line_end + 1);
            break;
        }
        pos = line_end + 1;
    }
    let Some(head_len) = end else {
        if buf.len() >= MAX_HEAD_LEN {
            return Err(MessageError::HeadTooLong);
        }
        // Reject a bad status line early, once it is complete.
        if let Some(fe) = first_line_end {
            parse_status(buf.get(..fe).unwrap_or(&[]))?;
        }
        return Ok(Status::Partial);
    };
    let fe = first_line_end.ok_or(MessageError::StatusLine)?;
    let mut r = HeadReader::new();
    let mut reason = &[][..];
    for line in buf
        .get(..head_len - 1)
        .unwrap_or(&[])
        .split(|&c| c == b'\n')
    {
        if let Line::Status(_, m) = r.line(line)? {
            reason = m;
        }
    }
    Ok(Status::Complete(ResponseHead {
        status: r.status.ok_or(MessageError::StatusLine)?,
        reason,
        headers_raw: buf.get(fe + 1..head_len).unwrap_or(&[]),
        head_len,
        content_length: r.content_length,
        lzpf: r.lzpf,
        deflate: r.deflate,
        close: r.close,
    }))
}

fn parse_status(line: &[u8]) -> Result<(u16, &[u8]), MessageError> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let code = line.get(..3).ok_or(MessageError::StatusLine)?;
    if !code.iter().all(u8::is_ascii_digit) {
        return Err(MessageError::StatusLine);
    }
    let status = code.iter().fold(0u16, |a, &c| a * 10 + u16::from(c - b'0'));
    let reason = match line.get(3..) {
        None | Some([]) => &[][..],
        Some([b' ', r @ ..]) => r,
        Some(_) => return Err(MessageError::StatusLine),
    };
    Ok((status, reason))
}

#[cfg(test)]
mod tests {
    use super::*;

    const RESP: &[u8] = b"200 OK\nConnection: Keep-Alive\nwtv-lzpf: 0\nContent-length: 32\n\nBODY";

    #[test]
    fn parse_lf_head() {
        let Ok(Status::Complete(h)) = parse_head(RESP) else {
            panic!("not complete")
        };
        assert_eq!(
            (h.status, h.reason, h.content_length, h.lzpf, h.close),
            (200, &b"OK"[..], Some(32), true, false)
        );
        assert_eq!(&RESP[h.head_len..], b"BODY");
        assert_eq!(h.header("CONNECTION"), Some(&b"Keep-Alive"[..]));
    }

    #[test]
    fn every_prefix_of_a_head_is_partial() {
        let head_len = RESP.len() - 4;
        for cut in 0..head_len {
            assert_eq!(parse_head(&RESP[..cut]), Ok(Status::Partial), "cut {cut}");
        }
    }

    #[test]
    fn parse_crlf_head_with_message() {
        let r = b"500 Invalid challenge response received\r\nContent-Length: 0\r\n\r\n";
        let Ok(Status::Complete(h)) = parse_head(r) else {
            panic!("not complete")
        };
        assert_eq!(
            (h.status, h.reason, h.content_length),
            (500, &b"Invalid challenge response received"[..], Some(0))
        );
    }

    #[test]
    fn parse_bad_status_line_is_rejected() {
        assert_eq!(
            parse_head(b"HTTP/1.0 200 OK\n\n"),
            Err(MessageError::StatusLine)
        );
        assert_eq!(parse_head(b"2x0 OK\n"), Err(MessageError::StatusLine));
    }

    #[test]
    fn parse_bad_content_length_is_rejected() {
        assert_eq!(
            parse_head(b"200 OK\nContent-length: -1\n\n"),
            Err(MessageError::ContentLength)
        );
    }

    #[test]
    fn writer_refuses_crlf_in_fields_and_overflow() {
        let mut b = [0u8; 8];
        let mut w = Writer::new(&mut b);
        assert_eq!(w.header(b"a", b"x\r\n"), Err(MessageError::BadField));
        assert_eq!(w.put(b"123456789"), Err(MessageError::BufferTooSmall));
        assert_eq!(w.len(), 0);
    }
}
