//! URL-style %-encoding of friendly names, group names and other free text (reference §2.4).
//!
//! Encoding (strict): `%`, space, every byte below `0x21` and `0x7F` become `%XX` (upper-case hex);
//! everything else, including UTF-8 bytes `>= 0x80`, travels raw (what Escargot and the 2003
//! official client send, and the shortest form). Decoding (lenient): every `%XX` with two hex
//! digits becomes that byte; a `%` not followed by two hex digits is kept literally.

use super::WireError;
use crate::limits::{MAX_FRIENDLY_NAME_ENCODED, MAX_GROUP_NAME_ENCODED};

const HEX: &[u8; 16] = b"0123456789ABCDEF";

fn needs_escape(b: u8) -> bool {
    b < 0x21 || b == b'%' || b == 0x7f
}

/// Return the length of `input` once %-encoded.
pub fn encoded_len(input: &str) -> usize {
    input.bytes().fold(0usize, |n, b| {
        n.saturating_add(if needs_escape(b) { 3 } else { 1 })
    })
}

/// %-encode `input` into `out`, returning the bytes written.
#[cfg_attr(target_os = "none", inline(never))]
pub fn encode(input: &str, out: &mut [u8]) -> Result<usize, WireError> {
    let mut n = 0usize;
    for b in input.bytes() {
        let hex = |d: u8| HEX.get(usize::from(d & 0xf)).copied().unwrap_or(b'0');
        // n <= out.len(): the sums cannot overflow.
        if needs_escape(b) {
            let Some([p, h, l]) = out.get_mut(n..n.wrapping_add(3)) else {
                return Err(WireError::BufferTooSmall);
            };
            (*p, *h, *l) = (b'%', hex(b >> 4), hex(b));
            n = n.wrapping_add(3);
        } else {
            *out.get_mut(n).ok_or(WireError::BufferTooSmall)? = b;
            n = n.wrapping_add(1);
        }
    }
    Ok(n)
}

/// %-encode a friendly name, refusing one longer than 387 encoded bytes.
pub fn encode_friendly_name(name: &str, out: &mut [u8]) -> Result<usize, WireError> {
    encode_limited(name, out, MAX_FRIENDLY_NAME_ENCODED)
}

/// %-encode a group name, refusing one longer than 61 encoded bytes.
pub fn encode_group_name(name: &str, out: &mut [u8]) -> Result<usize, WireError> {
    encode_limited(name, out, MAX_GROUP_NAME_ENCODED)
}

fn encode_limited(name: &str, out: &mut [u8], max: usize) -> Result<usize, WireError> {
    if encoded_len(name) > max {
        return Err(WireError::NameTooLong);
    }
    encode(name, out)
}

#[inline(always)]
fn hex_val(b: u8) -> Option<u8> {
    let digit = b.wrapping_sub(b'0');
    let letter = (b | 0x20).wrapping_sub(b'a');
    if digit < 10 {
        Some(digit)
    } else if letter < 6 {
        Some(letter.wrapping_add(10))
    } else {
        None
    }
}

/// Iterate over the decoded bytes of a %-encoded argument.
#[derive(Debug, Clone)]
pub struct Decoded<'a> {
    rest: &'a [u8],
}

impl Iterator for Decoded<'_> {
    type Item = u8;

    fn next(&mut self) -> Option<u8> {
        let (&b, tail) = self.rest.split_first()?;
        if b == b'%' {
            if let [h, l, more @ ..] = tail {
                if let (Some(h), Some(l)) = (hex_val(*h), hex_val(*l)) {
                    self.rest = more;
                    return Some((h << 4) | l);
                }
            }
        }
        self.rest = tail;
        Some(b)
    }
}

/// Decode lazily, without a buffer.
pub fn decoded(input: &[u8]) -> Decoded<'_> {
    Decoded { rest: input }
}

/// Return the length of `input` once decoded.
pub fn decoded_len(input: &[u8]) -> usize {
    decoded(input).count()
}

/// Decode `input` into `out`, returning the bytes written (not checked to be UTF-8).
pub fn decode(input: &[u8], out: &mut [u8]) -> Result<usize, WireError> {
    match decode_prefix(input, out) {
        (n, true) => Ok(n),
        (_, false) => Err(WireError::BufferTooSmall),
    }
}

/// Decode as much of `input` as fits `out` (same rules as [`decoded`]); return the bytes
/// written and whether all of `input` was decoded. One pass, no per-byte call: names are
/// decoded on every presence line.
pub fn decode_prefix(input: &[u8], out: &mut [u8]) -> (usize, bool) {
    // One walk over the output with the input as an iterator: no index checks per byte.
    let mut src = input.iter();
    let mut n = 0usize;
    for d in out.iter_mut() {
        let Some(&b) = src.next() else {
            return (n, true);
        };
        *d = b;
        if b == b'%' {
            if let [h, l, ..] = src.as_slice() {
                if let (Some(h), Some(l)) = (hex_val(*h), hex_val(*l)) {
                    *d = (h << 4) | l;
                    src.nth(1);
                }
            }
        }
        n += 1;
    }
    (n, src.as_slice().is_empty())
}

/// Decode `input` into `out` and return it as text, replacing nothing: invalid UTF-8 is an error.
pub fn decode_str<'o>(input: &[u8], out: &'o mut [u8]) -> Result<&'o str, WireError> {
    let n = decode(input, out)?;
    core::str::from_utf8(out.get(..n).unwrap_or(&[])).map_err(|_| WireError::BadValue)
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use super::*;

    fn enc(s: &str) -> Vec<u8> {
        let mut out = vec![0u8; encoded_len(s)];
        let n = encode(s, &mut out).unwrap();
        out.truncate(n);
        out
    }

    fn dec(s: &[u8]) -> Vec<u8> {
        let mut out = vec![0u8; decoded_len(s)];
        let n = decode(s, &mut out).unwrap();
        out.truncate(n);
        out
    }

    #[test]
    fn encode_escapes_only_space_percent_and_controls() {
        assert_eq!(enc("Bob Builder"), b"Bob%20Builder");
        assert_eq!(enc("100% (WebTV)\r\n\x7f"), b"100%25%20(WebTV)%0D%0A%7F");
        assert_eq!(enc("Zoë"), "Zoë".as_bytes());
    }

    #[test]
    fn decode_is_lenient_about_stray_percent() {
        assert_eq!(dec(b"Family%20&%20Co"), b"Family & Co");
        assert_eq!(dec(b"100%"), b"100%");
        assert_eq!(dec(b"%zz%4"), b"%zz%4");
        assert_eq!(dec(b"%c3%ab"), "ë".as_bytes());
    }

    #[test]
    fn round_trip_any_text() {
        for s in ["", "a", "a b", "%%%", "\u{1F600} x", "tab\tnul\0"] {
            assert_eq!(dec(&enc(s)), s.as_bytes());
        }
    }

    #[test]
    fn limits_are_enforced_on_the_way_out() {
        let mut out = [0u8; 512];
        let ok = "a".repeat(387);
        assert_eq!(encode_friendly_name(&ok, &mut out), Ok(387));
        assert_eq!(
            encode_friendly_name(&"a".repeat(388), &mut out),
            Err(WireError::NameTooLong)
        );
        // 129 spaces encode to 387 bytes; one more is too long.
        assert_eq!(encode_friendly_name(&" ".repeat(129), &mut out), Ok(387));
        assert_eq!(
            encode_friendly_name(&" ".repeat(130), &mut out),
            Err(WireError::NameTooLong)
        );
        assert_eq!(encode_group_name(&"g".repeat(61), &mut out), Ok(61));
        assert_eq!(
            encode_group_name(&"g".repeat(62), &mut out),
            Err(WireError::NameTooLong)
        );
        assert_eq!(encode("abc", &mut out[..2]), Err(WireError::BufferTooSmall));
    }
}
