//! Server-side MSNP line codec: splits the client byte stream into command frames (a line plus,
//! for payload verbs, a length-counted body) and renders the `%`-escaping used on the wire.
//!
//! Reading follows Escargot's tolerance: a line ends at `\n` (a preceding `\r` is dropped),
//! parameters are split on any run of whitespace, verbs are case-insensitive. Unlike Escargot an
//! empty or one-character line is skipped instead of wedging the parser.

/// Longest command line accepted from a client, in bytes (a `USR … TWN S` ticket fits easily).
pub const MAX_LINE_LEN: usize = 4096;
/// Largest payload accepted on any payload verb; larger announcements close the connection.
pub const MAX_PAYLOAD_LEN: usize = 65_536;

/// One client command: upper-cased verb, raw (still `%`-encoded) parameters, optional payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Command token, upper-cased.
    pub verb: String,
    /// Parameters after the verb, as sent.
    pub args: Vec<String>,
    /// Payload bytes for `MSG`, `QRY`, `SDC` and numeric-length `PAG`.
    pub payload: Option<Vec<u8>>,
}

impl Frame {
    /// Return parameter `i` (0 is the TrID for most commands).
    pub fn arg(&self, i: usize) -> Option<&str> {
        self.args.get(i).map(String::as_str)
    }

    /// Return the TrID (parameter 0) parsed as a decimal `u32`.
    pub fn trid(&self) -> Option<u32> {
        self.arg(0).and_then(|s| s.parse().ok())
    }
}

/// Why the codec gave up on a stream; every variant means "close the connection".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodecError {
    /// A line longer than [`MAX_LINE_LEN`] without a terminator.
    LineTooLong,
    /// A command line that is not valid UTF-8.
    InvalidUtf8,
    /// A payload verb whose last parameter is not a decimal length.
    BadLength,
    /// A payload length above [`MAX_PAYLOAD_LEN`].
    PayloadTooLarge,
}

/// Incremental frame reader over the bytes of one connection.
#[derive(Debug, Default)]
pub struct FrameReader {
    buf: Vec<u8>,
}

/// Query whether a client verb carries a payload, given its parameters.
fn payload_len(verb: &str, args: &[String]) -> Result<Option<usize>, CodecError> {
    let last = args.last().map(String::as_str);
    match verb {
        "MSG" | "QRY" | "SDC" => {
            let n: usize = last
                .and_then(|s| s.parse().ok())
                .ok_or(CodecError::BadLength)?;
            Ok(Some(n))
        }
        // Escargot does not know PAG; the protocol gives it a payload. Treat it as a payload verb
        // only when its last parameter is a number, so both forms seen in the wild survive.
        "PAG" if args.len() >= 3 => Ok(last.and_then(|s| s.parse().ok())),
        _ => Ok(None),
    }
}

impl FrameReader {
    /// Create an empty reader.
    pub fn new() -> Self {
        Self::default()
    }

    /// Append bytes received from the socket.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Return the next complete frame, `Ok(None)` when more bytes are needed.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, CodecError> {
        loop {
            let Some(nl) = self.buf.iter().position(|&b| b == b'\n') else {
                if self.buf.len() > MAX_LINE_LEN {
                    return Err(CodecError::LineTooLong);
                }
                return Ok(None);
            };
            if nl > MAX_LINE_LEN {
                return Err(CodecError::LineTooLong);
            }
            let line = std::str::from_utf8(self.buf.get(..nl).unwrap_or_default())
                .map_err(|_| CodecError::InvalidUtf8)?;
            let mut parts = line.split_whitespace();
            let Some(verb) = parts.next() else {
                self.buf.drain(..=nl);
                continue;
            };
            if line.trim().len() <= 1 {
                self.buf.drain(..=nl);
                continue;
            }
            let verb = verb.to_ascii_uppercase();
            let args: Vec<String> = parts.map(str::to_owned).collect();
            let payload = match payload_len(&verb, &args)? {
                Some(n) if n > MAX_PAYLOAD_LEN => return Err(CodecError::PayloadTooLarge),
                Some(n) => {
                    let end = nl + 1 + n;
                    if self.buf.len() < end {
                        return Ok(None);
                    }
                    Some(self.buf.get(nl + 1..end).unwrap_or_default().to_vec())
                }
                None => None,
            };
            let consumed = nl + 1 + payload.as_ref().map_or(0, Vec::len);
            self.buf.drain(..consumed);
            return Ok(Some(Frame {
                verb,
                args,
                payload,
            }));
        }
    }
}

/// Encode text for the wire the way Escargot does: only `%`, space, CR and LF are escaped.
pub fn pct_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '%' => out.push_str("%25"),
            ' ' => out.push_str("%20"),
            '\r' => out.push_str("%0D"),
            '\n' => out.push_str("%0A"),
            _ => out.push(c),
        }
    }
    out
}

/// Decode `%XX` escapes leniently (a stray `%` stays literal; invalid UTF-8 is replaced).
pub fn pct_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b'%' {
            let hex = b
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok());
            if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(input: &[u8]) -> Vec<Frame> {
        let mut r = FrameReader::new();
        r.push(input);
        let mut out = Vec::new();
        while let Some(f) = r.next_frame().expect("valid stream") {
            out.push(f);
        }
        out
    }

    #[test]
    fn test_parse_lines_and_payload() {
        let f = frames(b"png\r\nMSG 3 A 5\r\nhelloVER 4 MSNP8\n");
        assert_eq!(f.len(), 3);
        assert_eq!(f[0].verb, "PNG");
        assert_eq!(f[1].payload.as_deref(), Some(&b"hello"[..]));
        assert_eq!(f[1].trid(), Some(3));
        assert_eq!(f[2].args, vec!["4", "MSNP8"]);
    }

    #[test]
    fn test_parse_split_at_every_byte() {
        let input = b"USR 1 MD5 I a@b.c\r\nMSG 2 N 3\r\nabcOUT\r\n";
        for cut in 0..input.len() {
            let mut r = FrameReader::new();
            let mut got = Vec::new();
            r.push(&input[..cut]);
            while let Some(f) = r.next_frame().expect("valid") {
                got.push(f);
            }
            r.push(&input[cut..]);
            while let Some(f) = r.next_frame().expect("valid") {
                got.push(f);
            }
            assert_eq!(got, frames(input), "cut at {cut}");
        }
    }

    #[test]
    fn test_parse_skips_empty_and_short_lines() {
        let f = frames(b"\r\nX\r\n  \r\nPNG\r\n");
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].verb, "PNG");
    }

    #[test]
    fn test_parse_bad_length() {
        let mut r = FrameReader::new();
        r.push(b"QRY 9 msmsgs@msnmsgr.com abc\r\n");
        assert_eq!(r.next_frame(), Err(CodecError::BadLength));
    }

    #[test]
    fn test_parse_invalid_utf8() {
        let mut r = FrameReader::new();
        r.push(b"REA 1 a@b.c \xff\xfe\r\n");
        assert_eq!(r.next_frame(), Err(CodecError::InvalidUtf8));
    }

    #[test]
    fn test_parse_too_long() {
        let mut r = FrameReader::new();
        r.push(&vec![b'A'; MAX_LINE_LEN + 1]);
        assert_eq!(r.next_frame(), Err(CodecError::LineTooLong));
        let mut r = FrameReader::new();
        r.push(format!("MSG 1 N {}\r\n", MAX_PAYLOAD_LEN + 1).as_bytes());
        assert_eq!(r.next_frame(), Err(CodecError::PayloadTooLarge));
    }

    #[test]
    fn test_pag_forms() {
        let f = frames(b"PAG 20 bob@example.com Hello\r\nPAG 21 bob@example.com 2\r\nhi");
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].payload, None);
        assert_eq!(f[1].payload.as_deref(), Some(&b"hi"[..]));
    }

    #[test]
    fn test_pct_roundtrip() {
        assert_eq!(pct_decode("Family%20%26%20Co"), "Family & Co");
        assert_eq!(pct_encode("Family & Co"), "Family%20&%20Co");
        assert_eq!(pct_decode("100%"), "100%");
        assert_eq!(pct_decode("%zz%4"), "%zz%4");
        assert_eq!(pct_encode("a%b\r\n"), "a%25b%0D%0A");
    }
}
