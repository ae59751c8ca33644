//! A cursor that writes command lines into a caller buffer, or only counts their length.

use super::line::Args;
use super::trid::TrId;
use super::WireError;

/// Write tokens separated by single spaces; count only when no buffer is given.
pub(crate) struct Writer<'b> {
    buf: Option<&'b mut [u8]>,
    pos: usize,
    overflow: bool,
    invalid: bool,
    first: bool,
}

impl<'b> Writer<'b> {
    /// Make a writer over `buf`.
    pub(crate) fn new(buf: &'b mut [u8]) -> Self {
        Writer {
            buf: Some(buf),
            pos: 0,
            overflow: false,
            invalid: false,
            first: true,
        }
    }

    /// Make a writer that only counts bytes.
    pub(crate) fn counter() -> Writer<'static> {
        Writer {
            buf: None,
            pos: 0,
            overflow: false,
            invalid: false,
            first: true,
        }
    }

    /// Append raw bytes with no separator.
    pub(crate) fn raw(&mut self, b: &[u8]) -> &mut Self {
        let end = match self.pos.checked_add(b.len()) {
            Some(e) => e,
            None => {
                self.overflow = true;
                return self;
            }
        };
        if let Some(buf) = self.buf.as_deref_mut() {
            match buf.get_mut(self.pos..end) {
                Some(dst) => dst.copy_from_slice(b),
                None => {
                    self.overflow = true;
                    return self;
                }
            }
        }
        self.pos = end;
        self
    }

    /// Append one token, preceded by a space unless it starts the line.
    ///
    /// An empty token, or one holding a space or LF, would change the line's tokens: it is
    /// refused. (A CR inside a token survives: readers strip only the CR right before the LF.)
    pub(crate) fn tok(&mut self, b: &[u8]) -> &mut Self {
        if b.is_empty() || b.iter().any(|&c| matches!(c, b' ' | b'\n')) {
            self.invalid = true;
        }
        if !self.first {
            self.raw(b" ");
        }
        self.first = false;
        self.raw(b)
    }

    /// Append a token if present.
    pub(crate) fn opt(&mut self, b: Option<&[u8]>) -> &mut Self {
        if let Some(b) = b {
            self.tok(b);
        }
        self
    }

    /// Append a decimal number.
    pub(crate) fn num(&mut self, n: u32) -> &mut Self {
        let mut digits = [0u8; 10];
        let s = fmt_u32(n, &mut digits);
        self.tok(s)
    }

    /// Append a decimal number if present.
    pub(crate) fn opt_num(&mut self, n: Option<u32>) -> &mut Self {
        if let Some(n) = n {
            self.num(n);
        }
        self
    }

    /// Append a TrID.
    pub(crate) fn trid(&mut self, t: TrId) -> &mut Self {
        self.num(t.get())
    }

    /// Append a server TrID field: `0` for `None`.
    pub(crate) fn trid0(&mut self, t: Option<TrId>) -> &mut Self {
        self.num(t.map_or(0, TrId::get))
    }

    /// Append every token of `args`.
    pub(crate) fn args(&mut self, args: Args<'_>) -> &mut Self {
        for a in args {
            self.tok(a);
        }
        self
    }

    /// End the line with CRLF and append the payload, if any.
    pub(crate) fn finish(&mut self, payload: Option<&[u8]>) -> Result<usize, WireError> {
        self.raw(b"\r\n");
        if let Some(p) = payload {
            self.raw(p);
        }
        if self.invalid {
            Err(WireError::BadValue)
        } else if self.overflow {
            Err(WireError::BufferTooSmall)
        } else {
            Ok(self.pos)
        }
    }
}

/// Format `n` in decimal into `out`, returning the digits.
pub(crate) fn fmt_u32(mut n: u32, out: &mut [u8; 10]) -> &[u8] {
    let mut i = out.len();
    loop {
        i = i.saturating_sub(1);
        if let Some(d) = out.get_mut(i) {
            // n % 10 < 10, so the narrowing is exact.
            *d = b'0'.wrapping_add((n % 10) as u8);
        }
        n /= 10;
        if n == 0 || i == 0 {
            break;
        }
    }
    out.get(i..).unwrap_or(&[])
}

/// Return the payload length as a `u32` for the length field.
pub(crate) fn len_u32(p: &[u8]) -> u32 {
    u32::try_from(p.len()).unwrap_or(u32::MAX)
}
