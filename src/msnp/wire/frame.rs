//! Framing: byte chunks in, complete command lines (plus payloads) out, in a fixed buffer.
//!
//! # Policy
//!
//! - **Line end.** A line ends at LF. One CR before the LF is stripped; a frame whose line ended
//!   in a bare LF says so ([`Frame::bare_lf`]). Servers always send CRLF; Escargot (and the
//!   historical server) accept a bare LF from clients, so the same reader works both ways.
//! - **Payloads.** A line whose verb is a payload verb *for the reader's direction* is followed by
//!   exactly as many payload bytes as its last argument says (decimal, no sign; 0 allowed):
//!   server→client `MSG`, `NOT`, `IPG`; client→server `MSG`, `QRY`, `SDC`, and `PAG` when its last
//!   argument is a number (reference §2.5, §15.1). The server's `QRY trid` and `SDC trid OK`
//!   replies carry no payload. Escargot does not know `PAG` and reads `PAG trid handle` as a plain
//!   line, so a client→server `PAG` without a numeric last argument is framed as a line too.
//!   Verbs are matched exactly (upper case), as servers send them.
//! - **Unknown verbs** are framed as plain lines, even when their last argument is a number: no
//!   MSNP2–8 server sends a payload command outside the list above, and guessing would swallow the
//!   following lines when the guess is wrong. (The command parser turns them into `Unknown`.)
//! - **Empty lines** are returned as frames with an empty line; the command parser rejects them.
//! - **Line longer than the buffer** (capacity bytes with no LF): [`FrameError::LineTooLong`] is
//!   reported once, the rest of that line is discarded up to and including the next LF, and
//!   framing resumes there (resynchronise). If the lost line announced a payload, the payload will
//!   be read as lines; sessions should treat this error as fatal to the link unless they can
//!   afford to guess.
//! - **Payload longer than the buffer** (line, LF and payload together exceed the capacity): the
//!   line is dropped, [`FrameError::PayloadTooLong`] is reported once, exactly `len` payload bytes
//!   are discarded as they arrive, and framing continues after them (reference §2.5 advice).
//! - **Non-numeric payload length** (or none): [`FrameError::BadPayloadLength`] is fatal to the
//!   session: frame boundaries are lost. The reader stays failed (every call repeats the error and
//!   further input is dropped) until [`FrameReader::reset`].
//!
//! - **Frame longer than the buffer but within `room`** ([`FrameCore`] only): a reader whose
//!   storage can be swapped is told how large a buffer a payload frame would fit
//!   ([`FrameCore::next_frame`]'s `room`). When the frame fits `room` but not the buffer it is
//!   in, `next_frame` returns `None` and [`FrameCore::needed`] gives the frame's length; the
//!   owner moves the buffered bytes to a larger buffer ([`FrameCore::move_to`]) and goes on
//!   there, or waits. [`FrameReader`] passes its own capacity as `room`, so it never waits.
//!
//! Memory is bounded by the capacity `N` (or by the buffers a [`FrameCore`] is given); nothing
//! grows.

/// Which way the bytes flow, which decides the payload verbs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Direction {
    /// Bytes from the server (what the client core reads).
    ServerToClient,
    /// Bytes from a client (what a server, such as the dev server, reads).
    ClientToServer,
}

impl Direction {
    /// Query whether `verb` carries a length-counted payload in this direction.
    pub fn is_payload_verb(self, verb: &[u8]) -> bool {
        match self {
            Direction::ServerToClient => matches!(
                super::command::verb_key(verb),
                super::command::verb::MSG | super::command::verb::NOT | super::command::verb::IPG
            ),
            Direction::ClientToServer => matches!(
                super::command::verb_key(verb),
                super::command::verb::MSG
                    | super::command::verb::QRY
                    | super::command::verb::PAG
                    | super::command::verb::SDC
            ),
        }
    }
}

/// One complete frame: a command line and, for payload commands, its payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    /// The line without its line end.
    pub line: &'a [u8],
    /// The payload of a payload command (possibly empty), else `None`.
    pub payload: Option<&'a [u8]>,
    /// Whether the line ended in a bare LF instead of CRLF.
    pub bare_lf: bool,
}

impl Frame<'_> {
    /// Query whether the frame is byte-for-byte what an encoder would write for its tokens.
    pub fn is_canonical(&self) -> bool {
        !self.bare_lf && super::line::is_canonical(self.line)
    }
}

/// Describe a framing failure; see the module doc for the recovery of each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum FrameError {
    /// A line filled the buffer without an LF; it is skipped up to the next LF.
    LineTooLong,
    /// A payload does not fit the buffer; its `len` bytes are skipped.
    PayloadTooLong {
        /// The announced payload length.
        len: u32,
    },
    /// A payload command had no decimal length: fatal until [`FrameReader::reset`].
    BadPayloadLength,
}

impl FrameError {
    /// Query whether framing can continue after this error.
    pub const fn is_recoverable(self) -> bool {
        !matches!(self, FrameError::BadPayloadLength)
    }

    /// Classify the error for callers that only switch on the broad cause.
    pub const fn kind(self) -> crate::ErrorKind {
        match self {
            FrameError::BadPayloadLength => crate::ErrorKind::Malformed,
            _ => crate::ErrorKind::Capacity,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Normal,
    SkipLine,
    SkipPayload(u32),
    Failed,
}

/// Hold a frame reader's state apart from its buffer: the logic exists once for every
/// capacity, and a reader whose storage changes (a switchboard session that moves one large
/// frame to a shared buffer) passes the buffer in at every call.
///
/// Every call must get the buffer the bytes are in: the one given to the last
/// [`push`](Self::push), or the one they were moved to with [`move_to`](Self::move_to).
/// [`FrameReader`] is this plus an owned buffer.
#[derive(Debug, Clone, Copy)]
pub struct FrameCore {
    start: usize,
    end: usize,
    /// Bytes of the frame handed out last time, dropped on the next call.
    consumed: usize,
    /// Length of the head frame when it waits for a larger buffer (0: none).
    need: usize,
    state: State,
    dir: Direction,
}

impl FrameCore {
    /// Make an empty reader state for bytes flowing in `dir`.
    pub const fn new(dir: Direction) -> Self {
        FrameCore {
            start: 0,
            end: 0,
            consumed: 0,
            need: 0,
            state: State::Normal,
            dir,
        }
    }

    /// Return how many bytes are buffered and not yet returned as frames.
    pub fn buffered(&self) -> usize {
        self.end
            .saturating_sub(self.start)
            .saturating_sub(self.consumed)
    }

    /// Return the length (line, line end, payload) of the head frame when the last
    /// [`next_frame`](Self::next_frame) returned `None` because the frame fits `room` but not
    /// the buffer; 0 otherwise.
    pub fn needed(&self) -> usize {
        self.need
    }

    /// Move the buffered bytes from `from` to the start of `to` (dropping the frame handed out
    /// last); false, and nothing moved, when they do not fit `to`. Later calls take `to`.
    pub fn move_to(&mut self, from: &[u8], to: &mut [u8]) -> bool {
        self.release();
        let src = from.get(self.start..self.end).unwrap_or(&[]);
        let Some(dst) = to.get_mut(..src.len()) else {
            return false;
        };
        dst.copy_from_slice(src);
        self.end = src.len();
        self.start = 0;
        true
    }

    /// Query whether a fatal framing error has stopped the reader.
    pub fn is_failed(&self) -> bool {
        self.state == State::Failed
    }

    fn release(&mut self) {
        self.start = self.start.saturating_add(self.consumed).min(self.end);
        self.consumed = 0;
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// Copy as much of `bytes` as fits `buf`; return how many were taken (all, once the
    /// reader failed). See [`FrameReader::push`].
    pub fn push(&mut self, buf: &mut [u8], bytes: &[u8]) -> usize {
        self.release();
        if self.state == State::Failed {
            return bytes.len();
        }
        // Bytes being discarded (an oversized line or payload) are copied like any others and
        // dropped by `next`: one code path, and `next` skips a whole buffer at a time.
        if self.start > 0 && self.end.saturating_add(bytes.len()) > buf.len() {
            buf.copy_within(self.start..self.end, 0);
            self.end = self.end.saturating_sub(self.start);
            self.start = 0;
        }
        let room = buf.len().saturating_sub(self.end);
        let k = room.min(bytes.len());
        let dst_end = self.end.saturating_add(k);
        if let (Some(dst), Some(src)) = (buf.get_mut(self.end..dst_end), bytes.get(..k)) {
            dst.copy_from_slice(src);
            self.end = dst_end;
        }
        k
    }

    /// Query whether `line` announces a payload in this direction.
    fn is_payload_line(&self, line: &[u8]) -> bool {
        use super::command::verb;
        // Servers put the verb first: only a line with leading spaces needs the tokenizer.
        let first = match (line.get(..3), line.get(3)) {
            (Some(v), None | Some(b' ')) => v,
            _ => super::line::Args::new(line).next().unwrap_or(&[]),
        };
        match (self.dir, super::command::verb_key(first)) {
            (Direction::ServerToClient, verb::MSG | verb::NOT | verb::IPG)
            | (Direction::ClientToServer, verb::MSG | verb::QRY | verb::SDC) => true,
            (Direction::ClientToServer, verb::PAG) => {
                super::line::parse_u32(super::line::last_token(line)).is_some()
            }
            _ => false,
        }
    }

    /// Return the frame handed out last, if its bytes are still in `buf`.
    pub fn current_frame<'a>(&self, buf: &'a [u8]) -> Option<Frame<'a>> {
        if self.consumed == 0 {
            return None;
        }
        let data = buf.get(self.start..self.start.checked_add(self.consumed)?)?;
        let lf = memchr::memchr(b'\n', data)?;
        let Some((raw, [_, after @ ..])) = data.split_at_checked(lf) else {
            return None;
        };
        let (line, bare_lf) = match raw {
            [line @ .., b'\r'] => (line, false),
            _ => (raw, true),
        };
        Some(Frame {
            line,
            payload: self.is_payload_line(line).then_some(after),
            bare_lf,
        })
    }

    /// Return the raw bytes (line, line end, payload) of the frame handed out last, while
    /// they are still in `buf` (empty otherwise).
    pub fn current_bytes<'a>(&self, buf: &'a [u8]) -> &'a [u8] {
        if self.consumed == 0 {
            return &[];
        }
        buf.get(self.start..self.start.saturating_add(self.consumed))
            .unwrap_or(&[])
    }

    /// Return the next complete frame in `buf`, a framing error, or `None` when more bytes
    /// (or, see [`needed`](Self::needed), a buffer of up to `room` bytes) are needed. A
    /// payload frame longer than both `buf` and `room` is skipped
    /// ([`FrameError::PayloadTooLong`]).
    pub fn next_frame<'a>(
        &mut self,
        buf: &'a [u8],
        room: usize,
    ) -> Option<Result<Frame<'a>, FrameError>> {
        self.release();
        self.need = 0;
        loop {
            match self.state {
                State::Normal => break,
                State::Failed => return Some(Err(FrameError::BadPayloadLength)),
                State::SkipPayload(rem) => {
                    let avail = self.end.saturating_sub(self.start);
                    let k = usize::try_from(rem).unwrap_or(usize::MAX).min(avail);
                    self.start = self.start.saturating_add(k);
                    // k <= rem, so it fits a u32 and the difference cannot wrap.
                    let left = rem.wrapping_sub(k as u32);
                    if left > 0 {
                        self.state = State::SkipPayload(left);
                        self.release();
                        return None;
                    }
                    self.state = State::Normal;
                }
                State::SkipLine => {
                    let data = buf.get(self.start..self.end).unwrap_or(&[]);
                    match memchr::memchr(b'\n', data) {
                        Some(lf) => {
                            // lf < data.len(): no overflow.
                            self.start = self.start.wrapping_add(lf).wrapping_add(1);
                            self.state = State::Normal;
                        }
                        None => {
                            self.start = self.end;
                            self.release();
                            return None;
                        }
                    }
                }
            }
        }
        let data = buf.get(self.start..self.end).unwrap_or(&[]);
        let split = memchr::memchr(b'\n', data).and_then(|lf| data.split_at_checked(lf));
        let Some((raw, [_, after @ ..])) = split else {
            if data.len() >= buf.len() {
                self.state = State::SkipLine;
                self.start = self.end;
                self.release();
                return Some(Err(FrameError::LineTooLong));
            }
            return None;
        };
        let (line, bare_lf) = match raw {
            [line @ .., b'\r'] => (line, false),
            _ => (raw, true),
        };
        // The line and its LF: shorter than the buffer, no overflow.
        let line_len = raw.len().wrapping_add(1);
        if !self.is_payload_line(line) {
            self.consumed = line_len;
            return Some(Ok(Frame {
                line,
                payload: None,
                bare_lf,
            }));
        }
        // The last token of the line; the verb itself when there is no argument, which is no
        // number either.
        let Some(len) = super::line::parse_u32(super::line::last_token(line)) else {
            self.state = State::Failed;
            return Some(Err(FrameError::BadPayloadLength));
        };
        // Line, LF and payload must fit the buffer (line_len <= data.len() <= buf.len()).
        let n = usize::try_from(len).unwrap_or(usize::MAX);
        if n > buf.len().wrapping_sub(line_len) {
            if n <= room.saturating_sub(line_len) {
                // n + line_len <= room: no overflow.
                self.need = n.wrapping_add(line_len);
                return None;
            }
            self.start = self.start.wrapping_add(line_len);
            self.state = State::SkipPayload(len);
            return Some(Err(FrameError::PayloadTooLong { len }));
        }
        let payload = after.get(..n)?;
        self.consumed = line_len.wrapping_add(n);
        Some(Ok(Frame {
            line,
            payload: Some(payload),
            bare_lf,
        }))
    }
}

/// Frame an MSNP byte stream in a receive buffer of `N` bytes (no heap).
///
/// Use: [`push`](Self::push) a chunk (it copies what fits and returns how many bytes it took),
/// then call [`next_frame`](Self::next_frame) until it returns `None`, then push the rest of
/// the chunk. A frame borrows the buffer until the next call. `N` bounds one frame: a line plus
/// LF plus payload must fit.
#[derive(Debug, Clone)]
pub struct FrameReader<const N: usize> {
    buf: [u8; N],
    core: FrameCore,
}

impl<const N: usize> FrameReader<N> {
    /// Make an empty reader for bytes flowing in `dir`.
    pub const fn new(dir: Direction) -> Self {
        FrameReader {
            buf: [0; N],
            core: FrameCore::new(dir),
        }
    }

    /// Return the direction this reader frames.
    pub const fn direction(&self) -> Direction {
        self.core.dir
    }

    /// Copy as much of `bytes` as fits; return how many were taken (all, once the reader failed).
    ///
    /// Returns less than `bytes.len()` only when the buffer is full of unread frames; drain
    /// [`next_frame`](Self::next_frame) and push the rest.
    pub fn push(&mut self, bytes: &[u8]) -> usize {
        self.core.push(&mut self.buf, bytes)
    }

    /// Return the next complete frame, a framing error, or `None` when more bytes are needed.
    pub fn next_frame(&mut self) -> Option<Result<Frame<'_>, FrameError>> {
        self.core.next_frame(&self.buf, N)
    }

    /// Return the frame returned by the last [`next_frame`](Self::next_frame) call again.
    ///
    /// The bytes stay in the buffer until the next `push` or `next_frame`, so a session can keep
    /// borrowing a frame's fields (for events) without copying them. `None` when that call
    /// returned no frame.
    pub fn current_frame(&self) -> Option<Frame<'_>> {
        self.core.current_frame(&self.buf)
    }

    /// Return the raw bytes (line, line end, payload) of the frame the last
    /// [`next_frame`](Self::next_frame) returned, while they are still buffered (empty
    /// otherwise): a cheaper way than [`current_frame`](Self::current_frame) to reach fields
    /// remembered by their offset from the start of the line.
    pub fn current_bytes(&self) -> &[u8] {
        self.core.current_bytes(&self.buf)
    }

    /// Return how many bytes are buffered and not yet returned as frames.
    pub fn buffered(&self) -> usize {
        self.core.buffered()
    }

    /// Query whether a fatal framing error has stopped the reader.
    pub fn is_failed(&self) -> bool {
        self.core.is_failed()
    }

    /// Drop all buffered bytes and any failure (a new connection).
    pub fn reset(&mut self) {
        self.core = FrameCore::new(self.core.dir);
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use super::*;

    type Out = Vec<Result<(Vec<u8>, Option<Vec<u8>>), FrameError>>;

    fn frames<const N: usize>(r: &mut FrameReader<N>, input: &[u8], chunk: usize) -> Out {
        let mut out = Vec::new();
        for mut c in input.chunks(chunk.max(1)) {
            loop {
                let k = r.push(c);
                c = &c[k..];
                while let Some(f) = r.next_frame() {
                    let fatal = matches!(f, Err(FrameError::BadPayloadLength));
                    out.push(f.map(|f| (f.line.to_vec(), f.payload.map(<[u8]>::to_vec))));
                    if fatal {
                        return out;
                    }
                }
                if c.is_empty() {
                    break;
                }
            }
        }
        out
    }

    fn ok(l: &[u8], p: Option<&[u8]>) -> Result<(Vec<u8>, Option<Vec<u8>>), FrameError> {
        Ok((l.to_vec(), p.map(<[u8]>::to_vec)))
    }

    const S2C: &[u8] = b"VER 1 MSNP8\r\nMSG Hotmail Hotmail 5\r\nhi\r\n!QRY 7\r\nNOT 0\r\nQNG\r\n";

    #[test]
    fn test_current_frame_repeats_last_frame() {
        let mut r = FrameReader::<64>::new(Direction::ServerToClient);
        assert!(r.current_frame().is_none());
        r.push(b"MSG Hotmail Hotmail 2\r\nhiCHG 1 NLN\n");
        let first = r
            .next_frame()
            .and_then(|f| f.ok())
            .map(|f| (f.line.to_vec(), f.payload.map(<[u8]>::to_vec)));
        let again = r
            .current_frame()
            .map(|f| (f.line.to_vec(), f.payload.map(<[u8]>::to_vec)));
        assert_eq!(first, again);
        assert_eq!(
            again,
            Some((b"MSG Hotmail Hotmail 2".to_vec(), Some(b"hi".to_vec())))
        );
        assert_eq!(r.current_bytes(), b"MSG Hotmail Hotmail 2\r\nhi");
        let second = r.next_frame().and_then(|f| f.ok()).map(|f| f.bare_lf);
        assert_eq!(second, Some(true));
        assert_eq!(r.current_frame().map(|f| f.line), Some(&b"CHG 1 NLN"[..]));
        assert!(r.next_frame().is_none());
        assert!(r.current_frame().is_none());
        assert!(r.current_bytes().is_empty());
    }

    #[test]
    fn test_frames_lines_and_payloads_at_every_chunk_size() {
        let want = vec![
            ok(b"VER 1 MSNP8", None),
            ok(b"MSG Hotmail Hotmail 5", Some(b"hi\r\n!")),
            ok(b"QRY 7", None),
            ok(b"NOT 0", Some(b"")),
            ok(b"QNG", None),
        ];
        for chunk in 1..=S2C.len() {
            let mut r = FrameReader::<64>::new(Direction::ServerToClient);
            assert_eq!(frames(&mut r, S2C, chunk), want, "chunk {chunk}");
            assert_eq!(r.buffered(), 0);
        }
    }

    #[test]
    fn test_every_proper_prefix_is_partial() {
        let one = b"MSG a b 3\r\nxyz";
        for n in 0..one.len() {
            let mut r = FrameReader::<64>::new(Direction::ServerToClient);
            r.push(&one[..n]);
            assert!(r.next_frame().is_none(), "prefix {n}");
        }
    }

    #[test]
    fn test_bare_lf_is_a_line_end() {
        let mut r = FrameReader::<64>::new(Direction::ClientToServer);
        r.push(b"VER 1 MSNP8 CVR0\nPNG\r\n");
        let f = r.next_frame().unwrap().unwrap();
        assert_eq!(
            (f.line, f.bare_lf, f.is_canonical()),
            (&b"VER 1 MSNP8 CVR0"[..], true, false)
        );
        let f = r.next_frame().unwrap().unwrap();
        assert_eq!(
            (f.line, f.bare_lf, f.is_canonical()),
            (&b"PNG"[..], false, true)
        );
    }

    #[test]
    fn test_direction_decides_payload_verbs() {
        let input = b"QRY 7 msmsgs@msnmsgr.com 2\r\nab";
        let mut c2s = FrameReader::<64>::new(Direction::ClientToServer);
        assert_eq!(
            frames(&mut c2s, input, 100),
            vec![ok(b"QRY 7 msmsgs@msnmsgr.com 2", Some(b"ab"))]
        );
        let mut s2c = FrameReader::<64>::new(Direction::ServerToClient);
        assert_eq!(
            frames(&mut s2c, input, 100),
            vec![ok(b"QRY 7 msmsgs@msnmsgr.com 2", None)]
        );
    }

    #[test]
    fn test_client_pag_without_length_is_a_line() {
        let mut r = FrameReader::<64>::new(Direction::ClientToServer);
        let got = frames(
            &mut r,
            b"PAG 23 bob@example.com\r\nPAG 24 b@x 2\r\nhiPNG\r\n",
            3,
        );
        assert_eq!(
            got,
            vec![
                ok(b"PAG 23 bob@example.com", None),
                ok(b"PAG 24 b@x 2", Some(b"hi")),
                ok(b"PNG", None)
            ]
        );
    }

    #[test]
    fn test_unknown_verb_with_numeric_last_arg_is_a_line() {
        let mut r = FrameReader::<64>::new(Direction::ServerToClient);
        assert_eq!(
            frames(&mut r, b"UBX a 3\r\nQNG\r\n", 100),
            vec![ok(b"UBX a 3", None), ok(b"QNG", None)]
        );
    }

    #[test]
    fn test_line_too_long_resynchronises_at_next_lf() {
        let mut input = b"NLN NLN a@b ".to_vec();
        input.extend(std::iter::repeat_n(b'x', 100));
        input.extend_from_slice(b"\r\nQNG\r\n");
        for chunk in [1, 7, 1000] {
            let mut r = FrameReader::<32>::new(Direction::ServerToClient);
            assert_eq!(
                frames(&mut r, &input, chunk),
                vec![Err(FrameError::LineTooLong), ok(b"QNG", None)]
            );
        }
    }

    #[test]
    fn test_payload_too_long_is_discarded_by_count() {
        let mut input = b"MSG a b 100\r\n".to_vec();
        input.extend(std::iter::repeat_n(b'\n', 100));
        input.extend_from_slice(b"QNG\r\n");
        for chunk in [1, 5, 32, 1000] {
            let mut r = FrameReader::<32>::new(Direction::ServerToClient);
            let got = frames(&mut r, &input, chunk);
            assert_eq!(
                got,
                vec![
                    Err(FrameError::PayloadTooLong { len: 100 }),
                    ok(b"QNG", None)
                ],
                "chunk {chunk}"
            );
        }
    }

    #[test]
    fn test_payload_that_exactly_fits() {
        let input = b"MSG a b 3\r\nxyz";
        let mut r = FrameReader::<14>::new(Direction::ServerToClient);
        assert_eq!(
            frames(&mut r, input, 1),
            vec![ok(b"MSG a b 3", Some(b"xyz"))]
        );
        let mut r = FrameReader::<13>::new(Direction::ServerToClient);
        assert_eq!(
            frames(&mut r, input, 1),
            vec![Err(FrameError::PayloadTooLong { len: 3 })]
        );
    }

    #[test]
    fn test_bad_payload_length_is_sticky_until_reset() {
        let mut r = FrameReader::<64>::new(Direction::ClientToServer);
        r.push(b"QRY 9 msmsgs@msnmsgr.com abc\r\nPNG\r\n");
        assert_eq!(r.next_frame(), Some(Err(FrameError::BadPayloadLength)));
        assert_eq!(r.next_frame(), Some(Err(FrameError::BadPayloadLength)));
        assert!(r.is_failed());
        assert_eq!(r.push(b"more"), 4);
        r.reset();
        r.push(b"PNG\r\n");
        assert_eq!(r.next_frame().unwrap().unwrap().line, b"PNG");
        for bad in [
            &b"MSG\r\n"[..],
            b"NOT -1\r\n",
            b"MSG a b +5\r\n",
            b"IPG 99999999999\r\n",
        ] {
            let mut r = FrameReader::<64>::new(Direction::ServerToClient);
            r.push(bad);
            assert_eq!(r.next_frame(), Some(Err(FrameError::BadPayloadLength)));
        }
    }

    #[test]
    fn test_empty_line_is_a_frame() {
        let mut r = FrameReader::<16>::new(Direction::ClientToServer);
        assert_eq!(
            frames(&mut r, b"\r\n\nPNG\r\n", 1),
            vec![ok(b"", None), ok(b"", None), ok(b"PNG", None)]
        );
    }

    #[test]
    fn test_frame_core_waits_for_room_then_moves() {
        let input = b"MSG a b 20\r\n0123456789abcdefghijQNG\r\n";
        let mut small = [0u8; 16];
        let mut big = [0u8; 40];
        let mut r = FrameCore::new(Direction::ServerToClient);
        assert_eq!(r.push(&mut small, input), 16);
        // The frame (32 bytes) fits a 40-byte buffer but not this one: wait, do not skip.
        assert!(r.next_frame(&small, big.len()).is_none());
        assert_eq!(r.needed(), 32);
        assert!(r.move_to(&small, &mut big));
        assert!(r.next_frame(&big, big.len()).is_none());
        assert_eq!(r.needed(), 0);
        assert_eq!(r.push(&mut big, &input[16..32]), 16);
        let f = r.next_frame(&big, big.len()).unwrap().unwrap();
        assert_eq!(
            (f.line, f.payload),
            (&b"MSG a b 20"[..], Some(&b"0123456789abcdefghij"[..]))
        );
        assert_eq!(r.current_bytes(&big), &input[..32]);
        // Nothing else buffered: back to the small buffer.
        assert!(r.move_to(&big, &mut small));
        assert_eq!(r.buffered(), 0);
        assert_eq!(r.push(&mut small, &input[32..]), 5);
        let f = r.next_frame(&small, big.len()).unwrap().unwrap();
        assert_eq!(f.line, b"QNG");
    }

    #[test]
    fn test_frame_core_skips_a_frame_longer_than_room() {
        let mut small = [0u8; 16];
        let mut r = FrameCore::new(Direction::ServerToClient);
        r.push(&mut small, b"MSG a b 50\r\n");
        assert_eq!(
            r.next_frame(&small, 40),
            Some(Err(FrameError::PayloadTooLong { len: 50 }))
        );
        assert_eq!(r.needed(), 0);
        // A buffer too small for the bytes it should take refuses them.
        let mut r = FrameCore::new(Direction::ServerToClient);
        r.push(&mut small, b"MSG a b 20\r\n0123");
        assert!(r.next_frame(&small, 40).is_none());
        assert!(!r.move_to(&small, &mut [0u8; 8]));
        assert_eq!(r.buffered(), 16);
    }

    #[test]
    fn test_push_reports_what_fits() {
        let mut r = FrameReader::<8>::new(Direction::ServerToClient);
        let input = b"QNG\r\nQNG\r\nQNG\r\n";
        assert_eq!(r.push(input), 8);
        assert_eq!(r.next_frame().unwrap().unwrap().line, b"QNG");
        assert!(r.next_frame().is_none());
        assert_eq!(r.push(&input[8..]), 5);
        let mut r = FrameReader::<8>::new(Direction::ServerToClient);
        assert_eq!(
            frames(&mut r, input, 100),
            vec![ok(b"QNG", None), ok(b"QNG", None), ok(b"QNG", None)]
        );
    }
}
