//! Wire-layer checks over recorded Escargot sessions (host and guest run the same code).
//!
//! For every MSNP connection of every transcript (expectations come from the recording itself):
//!
//! - `s2c`: the server stream, framed in its recorded chunks, gives no framing error; every frame
//!   parses as a [`ServerCommand`] (possibly `Unknown`) and re-emits byte for byte.
//! - `s2c-split`: framing the same stream in pieces of 1, 2, 3, 7, 64 and 1000 bytes gives the same
//!   frame sequence (compared by count and an FNV-1a digest, so no allocation is needed).
//! - `c2s`: the client stream, framed as client→server. Every frame that parses as a
//!   [`ClientCommand`] re-emits exactly its canonical form (the input itself when the input is
//!   canonical: single spaces, CRLF). A frame may fail to parse only if the server did not accept
//!   it: no non-error server line of that connection carries its TrID (Escargot answers nothing,
//!   or an error code, to malformed commands), and a fatal
//!   framing error (non-numeric payload length) may only occur in the connection's last client
//!   chunk (the server drops the connection).

use super::transcript::{Dir, Transcript};
use super::{check, Failure, Reporter};
use crate::limits::DEFAULT_RX_BUFFER;
use crate::msnp::wire::{ClientCommand, Direction, Frame, FrameError, FrameReader, ServerCommand};

/// Chunk sizes for the split-invariance check.
const SPLITS: &[usize] = &[1, 2, 3, 7, 64, 1000];
/// Largest encoded frame we check; Escargot's profile message is about 1.5 KB.
const OUT_BUF: usize = DEFAULT_RX_BUFFER;

/// Feed `chunks` (each optionally re-split into `piece`-byte parts) and call `f` on each frame.
fn for_each_frame<'t, I, F>(
    dir: Direction,
    chunks: I,
    piece: usize,
    mut f: F,
) -> Result<(), Failure>
where
    I: Iterator<Item = (bool, &'t [u8])>,
    F: FnMut(Result<Frame<'_>, FrameError>, bool) -> Result<(), Failure>,
{
    let mut r = FrameReader::<DEFAULT_RX_BUFFER>::new(dir);
    for (last, chunk) in chunks {
        let mut parts = chunk.chunks(if piece == 0 {
            chunk.len().max(1)
        } else {
            piece
        });
        for mut part in parts.by_ref() {
            loop {
                let n = r.push(part);
                part = part.get(n..).unwrap_or(&[]);
                while let Some(frame) = r.next_frame() {
                    let fatal = matches!(frame, Err(FrameError::BadPayloadLength));
                    f(frame, last)?;
                    if fatal {
                        return Ok(());
                    }
                }
                if part.is_empty() {
                    break;
                }
                check(n > 0, "reader accepts bytes after draining")?;
            }
        }
    }
    check(r.buffered() == 0, "stream ends on a frame boundary")
}

/// Fold bytes into an FNV-1a digest.
fn fnv(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn frame_digest(h: u64, f: &Frame<'_>) -> u64 {
    let h = fnv(h, f.line);
    let h = fnv(h, if f.bare_lf { b"\n" } else { b"\r\n" });
    match f.payload {
        Some(p) => fnv(fnv(h, b"P"), p),
        None => fnv(h, b"L"),
    }
}

/// Query whether `out` is the canonical encoding of `frame`: its tokens joined by single
/// spaces, CRLF, then the payload.
fn is_canonical_encoding(out: &[u8], frame: &Frame<'_>) -> bool {
    if frame.is_canonical() {
        let line_len = frame.line.len();
        return out.get(..line_len) == Some(frame.line)
            && out.get(line_len..line_len.saturating_add(2)) == Some(b"\r\n")
            && out.get(line_len.saturating_add(2)..) == Some(frame.payload.unwrap_or(&[]));
    }
    let mut pos = 0usize;
    for (i, tok) in crate::msnp::wire::Args::new(frame.line).enumerate() {
        if i > 0 {
            if out.get(pos) != Some(&b' ') {
                return false;
            }
            pos = pos.saturating_add(1);
        }
        let end = pos.saturating_add(tok.len());
        if out.get(pos..end) != Some(tok) {
            return false;
        }
        pos = end;
    }
    out.get(pos..pos.saturating_add(2)) == Some(b"\r\n")
        && out.get(pos.saturating_add(2)..) == Some(frame.payload.unwrap_or(&[]))
}

/// TrIDs 1..=1023 the server used on one connection (a fixed bitmap; larger ones are not tracked).
struct TrIdSet([u64; 16]);

impl TrIdSet {
    fn insert(&mut self, t: u32) {
        let i = usize::try_from(t / 64).unwrap_or(usize::MAX);
        if let Some(w) = self.0.get_mut(i) {
            *w |= 1u64 << (t % 64);
        }
    }
    fn contains(&self, t: u32) -> bool {
        let i = usize::try_from(t / 64).unwrap_or(usize::MAX);
        self.0.get(i).is_some_and(|w| w & (1u64 << (t % 64)) != 0)
    }
}

fn check_server(
    t: &Transcript<'_>,
    conn: &str,
    replied: &mut TrIdSet,
    out: &mut [u8],
) -> Result<(u32, u64), Failure> {
    let mut count = 0u32;
    let mut digest = 0xcbf2_9ce4_8422_2325u64;
    let chunks = t.chunks_of(conn, Dir::S2c).map(|c| (false, c));
    for_each_frame(Direction::ServerToClient, chunks, 0, |frame, _| {
        let frame = frame.map_err(|_| Failure::new("server stream frames without error"))?;
        let cmd = ServerCommand::parse(&frame).map_err(|_| Failure::new("server frame parses"))?;
        match (cmd, cmd.trid()) {
            (ServerCommand::Error { .. }, _) | (_, None) => {}
            (_, Some(trid)) => replied.insert(trid.get()),
        }
        let n = cmd
            .emit(out)
            .map_err(|_| Failure::new("server command emits"))?;
        check(n == cmd.buffer_len(), "buffer_len matches emit")?;
        check(
            is_canonical_encoding(out.get(..n).unwrap_or(&[]), &frame),
            "server frame re-emits byte-exact",
        )?;
        count = count.saturating_add(1);
        digest = frame_digest(digest, &frame);
        Ok(())
    })?;
    Ok((count, digest))
}

fn check_split(t: &Transcript<'_>, conn: &str, want: (u32, u64)) -> Result<(), Failure> {
    for &piece in SPLITS {
        let mut count = 0u32;
        let mut digest = 0xcbf2_9ce4_8422_2325u64;
        let chunks = t.chunks_of(conn, Dir::S2c).map(|c| (false, c));
        for_each_frame(Direction::ServerToClient, chunks, piece, |frame, _| {
            let frame = frame.map_err(|_| Failure::new("split stream frames without error"))?;
            count = count.saturating_add(1);
            digest = frame_digest(digest, &frame);
            Ok(())
        })?;
        check((count, digest) == want, "every split gives the same frames")?;
    }
    Ok(())
}

fn check_client(
    t: &Transcript<'_>,
    conn: &str,
    replied: &TrIdSet,
    out: &mut [u8],
) -> Result<u32, Failure> {
    let total = t.chunks_of(conn, Dir::C2s).count();
    let chunks = t
        .chunks_of(conn, Dir::C2s)
        .enumerate()
        .map(|(i, c)| (i.saturating_add(1) == total, c));
    let mut typed = 0u32;
    for_each_frame(Direction::ClientToServer, chunks, 0, |frame, last| {
        let frame = match frame {
            Ok(f) => f,
            Err(FrameError::BadPayloadLength) => {
                return check(last, "fatal framing error only at the end")
            }
            Err(_) => return Err(Failure::new("client stream frames without error")),
        };
        match ClientCommand::parse(&frame) {
            Ok(cmd) => {
                let n = cmd
                    .emit(out)
                    .map_err(|_| Failure::new("client command emits"))?;
                check(n == cmd.buffer_len(), "buffer_len matches emit")?;
                check(
                    is_canonical_encoding(out.get(..n).unwrap_or(&[]), &frame),
                    "client frame re-emits canonically",
                )?;
                typed = typed.saturating_add(1);
                Ok(())
            }
            Err(_) => {
                let trid = crate::msnp::wire::Args::new(frame.line)
                    .nth(1)
                    .and_then(crate::msnp::wire::TrId::parse);
                check(
                    !trid.is_some_and(|t| replied.contains(t.get())),
                    "unparsed client line got no reply",
                )
            }
        }
    })?;
    Ok(typed)
}

/// Write `parts` into `buf` and return the text (truncated if it does not fit).
fn case_name<'b>(buf: &'b mut [u8; 96], parts: &[&str]) -> &'b str {
    let mut n = 0usize;
    for p in parts {
        for &b in p.as_bytes() {
            if let Some(slot) = buf.get_mut(n) {
                *slot = b;
                n = n.saturating_add(1);
            }
        }
    }
    let bytes = buf.get(..n).unwrap_or(&[]);
    match core::str::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => core::str::from_utf8(bytes.get(..e.valid_up_to()).unwrap_or(&[])).unwrap_or(""),
    }
}

/// Run the wire checks over every MSNP connection of every transcript.
pub fn run(transcripts: &[Transcript<'_>], r: &mut impl Reporter) {
    let mut out = [0u8; OUT_BUF];
    for t in transcripts {
        for &(conn, _) in t.connections {
            if !t.is_msnp(conn) {
                continue;
            }
            let mut name = [0u8; 96];
            let mut replied = TrIdSet([0; 16]);
            let server = check_server(t, conn, &mut replied, &mut out);
            let frames_seen = server.map(|(n, _)| n).unwrap_or(0);
            r.case(
                "wire",
                case_name(&mut name, &[t.name, "/", conn, "/s2c"]),
                server.map(|_| ()),
            );
            let split = server.and_then(|want| check_split(t, conn, want));
            r.case(
                "wire",
                case_name(&mut name, &[t.name, "/", conn, "/s2c-split"]),
                split,
            );
            let client = check_client(t, conn, &replied, &mut out);
            let nonempty = client
                .and_then(|typed| check(typed > 0 || frames_seen > 0, "connection has traffic"));
            r.case(
                "wire",
                case_name(&mut name, &[t.name, "/", conn, "/c2s"]),
                nonempty,
            );
        }
    }
}
