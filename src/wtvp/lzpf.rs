//! LZPF (`wtv-lzpf: 0`) body decompression with bounded output.
//!
//! The stream format is described in `shared/docs/wtvp-secure.md` §6: an MSB-first bit stream of
//! canonical-Huffman literals and predicted matches, then the 16-bit byte sum, zero padding to a
//! byte boundary and one `0x00` byte. The decoder needs the uncompressed length (the response's
//! `Content-length`), because bodies of 0 or 1 bytes carry no end code.
//!
//! Two entry points share one decoding loop:
//! - [`decompress`] writes into a caller slice that also serves as the history window, so it only
//!   needs the 8 KiB prediction table on the stack;
//! - [`decompress_streaming`] keeps its own 8 KiB ring in a caller-owned [`LzpfScratch`] and hands
//!   output to a sink, for bodies larger than any output buffer.

/// Size of the history ring in bytes.
pub const RING_LEN: usize = 8192;
/// Number of prediction-table entries.
pub const TABLE_LEN: usize = 4096;
/// Longest match the format can express.
pub const MAX_MATCH_LEN: usize = 297;
/// The end-of-stream symbol.
const END_SYMBOL: u16 = 256;
/// Marker for an empty prediction-table slot.
const EMPTY: u16 = u16::MAX;

/// Code length in bits of each literal symbol (bytes 0–255, then the end code 256).
///
/// This is protocol data (the alphabet of the format), checked against
/// `shared/vectors/wtvp/lzpf-huffman-table.json` by the host tests.
pub const CODE_LENGTHS: [u8; 257] = [
    16, 16, 16, 16, 16, 15, 16, 15, 15, 6, 5, 15, 16, 9, 16, 16, //
    16, 16, 16, 16, 16, 16, 16, 15, 16, 16, 16, 16, 16, 16, 16, 16, //
    4, 10, 5, 9, 14, 16, 11, 9, 11, 11, 10, 13, 7, 7, 6, 5, //
    8, 7, 8, 9, 8, 9, 9, 9, 9, 9, 8, 11, 5, 6, 5, 10, //
    14, 6, 7, 7, 7, 6, 7, 7, 7, 6, 11, 10, 7, 8, 6, 6, //
    7, 12, 6, 7, 5, 9, 9, 8, 12, 10, 9, 16, 16, 16, 16, 8, //
    16, 5, 7, 6, 6, 4, 7, 7, 6, 5, 11, 8, 6, 6, 5, 5, //
    5, 11, 5, 5, 5, 7, 8, 6, 9, 8, 10, 12, 12, 12, 12, 16, //
    16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, //
    16, 15, 15, 15, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, //
    16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, //
    16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, //
    16, 16, 16, 16, 16, 16, 16, 15, 16, 16, 16, 16, 16, 16, 16, 16, //
    16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, //
    16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, //
    16, 16, 16, 15, 16, 16, 16, 16, 16, 16, 15, 16, 16, 16, 16, 16, //
    16,
];

/// The canonical code rebuilt from [`CODE_LENGTHS`] at compile time.
struct Canon {
    /// Symbols sorted by (length, symbol).
    symbols: [u16; 257],
    /// Number of codes of each length (index = length).
    count: [u16; 17],
    /// First code value of each length.
    first: [u32; 17],
    /// Index into `symbols` of the first symbol of each length.
    offset: [u16; 17],
    /// Code value of each symbol (for the encoder).
    code: [u16; 257],
}

const fn build_canon() -> Canon {
    let mut c = Canon {
        symbols: [0; 257],
        count: [0; 17],
        first: [0; 17],
        offset: [0; 17],
        code: [0; 257],
    };
    let mut i = 0;
    while i < 257 {
        c.count[CODE_LENGTHS[i] as usize] += 1;
        i += 1;
    }
    // Offsets in ascending length order.
    let mut len = 1;
    let mut off = 0u16;
    while len <= 16 {
        c.offset[len] = off;
        off += c.count[len];
        len += 1;
    }
    let mut filled = [0u16; 17];
    i = 0;
    while i < 257 {
        let l = CODE_LENGTHS[i] as usize;
        c.symbols[(c.offset[l] + filled[l]) as usize] = i as u16;
        filled[l] += 1;
        i += 1;
    }
    // Longest codes get the smallest values; halve the next free value per shorter length.
    let mut next = 0u32;
    let mut l = 16;
    while l >= 1 {
        c.first[l] = next;
        next = (next + c.count[l] as u32) / 2;
        l -= 1;
    }
    i = 0;
    while i < 257 {
        let l = CODE_LENGTHS[i] as usize;
        let mut j = c.offset[l] as usize;
        while c.symbols[j] as usize != i {
            j += 1;
        }
        c.code[i] = (c.first[l] + (j - c.offset[l] as usize) as u32) as u16;
        i += 1;
    }
    c
}

/// The decoder's part of the canonical code (without the encoder's `code` column).
struct Decode {
    symbols: [u16; 257],
    count: [u16; 17],
    first: [u32; 17],
    offset: [u16; 17],
}

static CANON: Decode = {
    let c = build_canon();
    Decode {
        symbols: c.symbols,
        count: c.count,
        first: c.first,
        offset: c.offset,
    }
};

/// Code value of each symbol, for the encoder only: a separate table, so that a build that
/// only decodes (the box) does not carry it.
static CODES: [u16; 257] = build_canon().code;

/// Return the canonical code value and length of a symbol (0–256).
pub fn symbol_code(symbol: u16) -> Option<(u16, u8)> {
    let i = usize::from(symbol);
    Some((*CODES.get(i)?, *CODE_LENGTHS.get(i)?))
}

/// Say why an LZPF body could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LzpfError {
    /// The input ended before the stream did (on a socket: need more bytes).
    Truncated,
    /// A bit pattern is not a valid literal code.
    BadCode,
    /// The stream produces more bytes than the announced length.
    TooLong,
    /// The stream ended (end code) before the announced length.
    TooShort,
    /// The output does not fit the caller's buffer.
    Capacity,
    /// The 16-bit sum after the end code does not match the output.
    Checksum,
    /// The padding bits or the final `0x00` byte are not zero.
    Trailer,
}

impl LzpfError {
    /// Return the crate-wide classification of this error.
    pub const fn kind(self) -> crate::ErrorKind {
        match self {
            LzpfError::Capacity => crate::ErrorKind::Capacity,
            _ => crate::ErrorKind::Malformed,
        }
    }
}

/// Report a successful decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decoded {
    /// Uncompressed bytes produced.
    pub out_len: usize,
    /// Compressed bytes consumed, including the trailing `0x00`.
    pub consumed: usize,
}

struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Bits<'_> {
    fn bit(&mut self) -> Result<u32, LzpfError> {
        let byte = *self.data.get(self.pos / 8).ok_or(LzpfError::Truncated)?;
        let b = (byte >> (7 - (self.pos % 8))) & 1;
        self.pos = self.pos.saturating_add(1);
        Ok(u32::from(b))
    }

    fn bits(&mut self, n: u32) -> Result<u32, LzpfError> {
        let mut v = 0;
        for _ in 0..n {
            v = (v << 1) | self.bit()?;
        }
        Ok(v)
    }

    fn symbol(&mut self) -> Result<u16, LzpfError> {
        let mut v = 0u32;
        for len in 1..=16usize {
            v = (v << 1) | self.bit()?;
            let first = *CANON.first.get(len).ok_or(LzpfError::BadCode)?;
            let count = u32::from(*CANON.count.get(len).ok_or(LzpfError::BadCode)?);
            if v >= first && v < first.saturating_add(count) {
                let idx = usize::from(*CANON.offset.get(len).ok_or(LzpfError::BadCode)?)
                    .saturating_add((v - first) as usize);
                return CANON.symbols.get(idx).copied().ok_or(LzpfError::BadCode);
            }
            if v >= first.saturating_add(count) {
                return Err(LzpfError::BadCode);
            }
        }
        Err(LzpfError::BadCode)
    }

    fn match_len(&mut self) -> Result<usize, LzpfError> {
        Ok(match self.bits(2)? {
            0 => 1,
            1 => 2,
            2 => 3,
            _ => {
                let x = self.bits(3)?;
                if x < 7 {
                    4 + x as usize
                } else {
                    let y = self.bits(5)?;
                    if y < 31 {
                        11 + y as usize
                    } else {
                        42 + self.bits(8)? as usize
                    }
                }
            }
        })
    }
}

/// Where decoded bytes go, and where the decoder looks back for matches.
trait History {
    /// Return the byte `d` positions back (1 ..= RING_LEN); zero before the start.
    fn back(&self, d: usize) -> u8;
    /// Append one output byte.
    fn push(&mut self, b: u8) -> Result<(), LzpfError>;
}

struct SliceOut<'a> {
    buf: &'a mut [u8],
    n: usize,
}

impl History for SliceOut<'_> {
    fn back(&self, d: usize) -> u8 {
        self.n
            .checked_sub(d)
            .and_then(|i| self.buf.get(i))
            .copied()
            .unwrap_or(0)
    }
    fn push(&mut self, b: u8) -> Result<(), LzpfError> {
        let slot = self.buf.get_mut(self.n).ok_or(LzpfError::Capacity)?;
        *slot = b;
        self.n = self.n.saturating_add(1);
        Ok(())
    }
}

/// Caller-owned working memory for [`decompress_streaming`] (about 16 KiB).
pub struct LzpfScratch {
    ring: [u8; RING_LEN],
    table: [u16; TABLE_LEN],
}

impl LzpfScratch {
    /// Make empty working memory.
    pub const fn new() -> Self {
        LzpfScratch {
            ring: [0; RING_LEN],
            table: [EMPTY; TABLE_LEN],
        }
    }
}

impl Default for LzpfScratch {
    fn default() -> Self {
        Self::new()
    }
}

struct RingOut<'a, F: FnMut(&[u8])> {
    ring: &'a mut [u8; RING_LEN],
    n: usize,
    flushed: usize,
    sink: F,
}

impl<F: FnMut(&[u8])> RingOut<'_, F> {
    fn flush(&mut self) {
        let start = self.flushed % RING_LEN;
        let len = self.n.saturating_sub(self.flushed);
        if len > 0 {
            if let Some(chunk) = self.ring.get(start..start.saturating_add(len)) {
                (self.sink)(chunk);
            }
            self.flushed = self.n;
        }
    }
}

impl<F: FnMut(&[u8])> History for RingOut<'_, F> {
    fn back(&self, d: usize) -> u8 {
        if d > self.n {
            return 0;
        }
        self.ring.get((self.n - d) % RING_LEN).copied().unwrap_or(0)
    }
    fn push(&mut self, b: u8) -> Result<(), LzpfError> {
        if let Some(slot) = self.ring.get_mut(self.n % RING_LEN) {
            *slot = b;
        }
        self.n = self.n.saturating_add(1);
        if self.n.is_multiple_of(RING_LEN) {
            self.flush();
        }
        Ok(())
    }
}

fn run<H: History>(
    input: &[u8],
    expected_len: usize,
    table: &mut [u16; TABLE_LEN],
    out: &mut H,
) -> Result<Decoded, LzpfError> {
    table.fill(EMPTY);
    let mut bits = Bits {
        data: input,
        pos: 0,
    };
    let mut n: usize = 0;
    let mut w: u32 = 0;
    let mut sum: u16 = 0;
    let mut pred: Option<usize> = None;
    let emit =
        |b: u8, n: &mut usize, w: &mut u32, sum: &mut u16, out: &mut H| -> Result<(), LzpfError> {
            if *n >= expected_len {
                return Err(LzpfError::TooLong);
            }
            out.push(b)?;
            *n += 1;
            *w = (*w << 8) | u32::from(b);
            *sum = sum.wrapping_add(u16::from(b));
            Ok(())
        };
    loop {
        if n == expected_len && expected_len < 2 {
            break;
        }
        let is_match = match pred {
            Some(_) => bits.bit()? == 1,
            None => false,
        };
        if let (true, Some(p)) = (is_match, pred) {
            let len = bits.match_len()?;
            for k in 0..len {
                let src = p.wrapping_add(k) % RING_LEN;
                let mut d = (n.wrapping_sub(src)) % RING_LEN;
                if d == 0 {
                    d = RING_LEN;
                }
                let b = out.back(d);
                emit(b, &mut n, &mut w, &mut sum, out)?;
            }
        } else {
            let sym = bits.symbol()?;
            if sym == END_SYMBOL {
                if n != expected_len {
                    return Err(LzpfError::TooShort);
                }
                break;
            }
            // A symbol below 256 is a byte by construction.
            emit(sym as u8, &mut n, &mut w, &mut sum, out)?;
        }
        if n >= 3 {
            let h = (((w >> 11) ^ w) & 0xFFF) as usize;
            if let Some(slot) = table.get_mut(h) {
                pred = if *slot == EMPTY {
                    None
                } else {
                    Some(usize::from(*slot))
                };
                *slot = (n % RING_LEN) as u16;
            }
        }
    }
    let check = bits.bits(16)?;
    if check != u32::from(sum) {
        return Err(LzpfError::Checksum);
    }
    while !bits.pos.is_multiple_of(8) {
        if bits.bit()? != 0 {
            return Err(LzpfError::Trailer);
        }
    }
    let last = bits.pos / 8;
    match input.get(last) {
        None => Err(LzpfError::Truncated),
        Some(0) => Ok(Decoded {
            out_len: n,
            consumed: last + 1,
        }),
        Some(_) => Err(LzpfError::Trailer),
    }
}

/// Decode an LZPF body of `expected_len` uncompressed bytes into `out`.
///
/// `input` may extend past the end of the stream; [`Decoded::consumed`] says where it ended.
/// Returns [`LzpfError::Truncated`] when `input` ends early (wait for more bytes and retry) and
/// [`LzpfError::Capacity`] when `out` is shorter than the output.
pub fn decompress(input: &[u8], expected_len: usize, out: &mut [u8]) -> Result<Decoded, LzpfError> {
    if expected_len > out.len() {
        return Err(LzpfError::Capacity);
    }
    let mut table = [EMPTY; TABLE_LEN];
    let mut h = SliceOut { buf: out, n: 0 };
    run(input, expected_len, &mut table, &mut h)
}

/// Decode an LZPF body of any length, handing output to `sink` in chunks of up to 8 KiB.
///
/// On error, bytes already handed to the sink must be discarded by the caller.
pub fn decompress_streaming(
    scratch: &mut LzpfScratch,
    input: &[u8],
    expected_len: usize,
    sink: impl FnMut(&[u8]),
) -> Result<Decoded, LzpfError> {
    scratch.ring.fill(0);
    let LzpfScratch { ring, table } = scratch;
    let mut h = RingOut {
        ring,
        n: 0,
        flushed: 0,
        sink,
    };
    let r = run(input, expected_len, table, &mut h)?;
    h.flush();
    Ok(r)
}

/// Encode `input` as a valid LZPF stream of literals only (no matches), for test services.
///
/// Returns the stream length, or [`LzpfError::Capacity`] if `out` is too small (at most
/// `input.len() * 17 / 8 + 6` bytes are needed).
pub fn encode_literals(input: &[u8], out: &mut [u8]) -> Result<usize, LzpfError> {
    struct W<'a> {
        out: &'a mut [u8],
        pos: usize,
    }
    impl W<'_> {
        fn put(&mut self, v: u32, n: u8) -> Result<(), LzpfError> {
            for i in (0..n).rev() {
                let byte = self.out.get_mut(self.pos / 8).ok_or(LzpfError::Capacity)?;
                if self.pos.is_multiple_of(8) {
                    *byte = 0;
                }
                if (v >> i) & 1 == 1 {
                    *byte |= 0x80 >> (self.pos % 8);
                }
                self.pos += 1;
            }
            Ok(())
        }
    }
    let mut wr = W { out, pos: 0 };
    let mut table = [EMPTY; TABLE_LEN];
    let mut has_pred = false;
    let mut w: u32 = 0;
    let mut sum: u16 = 0;
    for (i, &b) in input.iter().enumerate() {
        if has_pred {
            wr.put(0, 1)?;
        }
        let (code, len) = symbol_code(u16::from(b)).ok_or(LzpfError::BadCode)?;
        wr.put(u32::from(code), len)?;
        w = (w << 8) | u32::from(b);
        sum = sum.wrapping_add(u16::from(b));
        let n = i + 1;
        if n >= 3 {
            let h = (((w >> 11) ^ w) & 0xFFF) as usize;
            if let Some(slot) = table.get_mut(h) {
                has_pred = *slot != EMPTY;
                *slot = (n % RING_LEN) as u16;
            }
        }
    }
    if input.len() >= 2 {
        if has_pred {
            wr.put(0, 1)?;
        }
        let (code, len) = symbol_code(END_SYMBOL).ok_or(LzpfError::BadCode)?;
        wr.put(u32::from(code), len)?;
    }
    wr.put(u32::from(sum), 16)?;
    while !wr.pos.is_multiple_of(8) {
        wr.put(0, 1)?;
    }
    wr.put(0, 8)?;
    Ok(wr.pos / 8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn end_code_is_0x0099_with_16_bits() {
        assert_eq!(symbol_code(256), Some((0x0099, 16)));
        assert_eq!(symbol_code(0), Some((0, 16)));
    }

    #[test]
    fn empty_body_decodes_from_three_zero_bytes() {
        let mut out = [0u8; 4];
        assert_eq!(
            decompress(&[0, 0, 0], 0, &mut out),
            Ok(Decoded {
                out_len: 0,
                consumed: 3
            })
        );
    }

    #[test]
    fn every_prefix_of_a_stream_is_truncated() {
        let mut enc = [0u8; 64];
        let n = encode_literals(b"Hello, WebTV!", &mut enc).unwrap_or(0);
        let mut out = [0u8; 13];
        for cut in 0..n {
            assert_eq!(
                decompress(&enc[..cut], 13, &mut out),
                Err(LzpfError::Truncated)
            );
        }
        assert_eq!(
            decompress(&enc[..n], 13, &mut out).map(|d| d.consumed),
            Ok(n)
        );
        assert_eq!(&out, b"Hello, WebTV!");
    }

    #[test]
    fn small_output_buffer_is_a_capacity_error() {
        let mut out = [0u8; 4];
        assert_eq!(
            decompress(&[0, 0, 0], 5, &mut out),
            Err(LzpfError::Capacity)
        );
    }

    #[test]
    fn corrupt_checksum_is_rejected() {
        let mut enc = [0u8; 64];
        let n = encode_literals(b"abcabcabc", &mut enc).unwrap_or(0);
        enc[n - 2] ^= 0x01;
        let mut out = [0u8; 9];
        assert!(decompress(&enc[..n], 9, &mut out).is_err());
    }
}
