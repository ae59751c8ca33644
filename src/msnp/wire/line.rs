//! A view over one command line: a three-character verb and space-separated arguments.
//!
//! Arguments are split on spaces; runs of spaces and leading or trailing spaces are tolerated
//! (servers never send them). A line is *canonical* when it is exactly its tokens joined by
//! single spaces; only canonical lines re-encode byte for byte.

use super::WireError;

/// Iterate over space-separated arguments, borrowed from the line.
///
/// Two argument lists are equal when they hold the same tokens, whatever the spacing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Args<'a> {
    rest: &'a [u8],
}

impl PartialEq for Args<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.clone_iter().eq(other.clone_iter())
    }
}

impl Eq for Args<'_> {}

impl<'a> Args<'a> {
    /// Make an argument view over raw bytes (tokens separated by spaces).
    pub const fn new(bytes: &'a [u8]) -> Self {
        Args { rest: bytes }
    }

    /// Return an empty argument list.
    pub const fn empty() -> Self {
        Args { rest: &[] }
    }

    /// Return the argument at `i`, if present.
    #[cfg_attr(not(target_os = "none"), inline(always))]
    pub fn get(&self, i: usize) -> Option<&'a [u8]> {
        self.clone_iter().nth(i)
    }

    /// Return the number of arguments.
    pub fn len(&self) -> usize {
        self.clone_iter().count()
    }

    /// Query whether there are no arguments.
    pub fn is_empty(&self) -> bool {
        self.rest.iter().all(|&b| b == b' ')
    }

    /// Return the arguments after the first `n`.
    pub fn skip(&self, n: usize) -> Args<'a> {
        let mut it = self.clone_iter();
        for _ in 0..n {
            if it.next().is_none() {
                break;
            }
        }
        it
    }

    /// Return the raw bytes of the remaining arguments, separators included.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.rest
    }

    /// Return the last argument, if any.
    pub fn last(&self) -> Option<&'a [u8]> {
        self.clone_iter().last()
    }

    fn clone_iter(&self) -> Args<'a> {
        *self
    }
}

impl<'a> Iterator for Args<'a> {
    type Item = &'a [u8];

    #[cfg_attr(not(target_os = "none"), inline(always))]
    fn next(&mut self) -> Option<&'a [u8]> {
        // Servers send exactly one space between tokens, so skip one separator without a scan
        // and fall back to skipping a run only when there is more.
        let mut rest = self.rest;
        while let [b' ', tail @ ..] = rest {
            rest = tail;
        }
        if rest.is_empty() {
            self.rest = rest;
            return None;
        }
        let end = find_space(rest);
        let (tok, tail) = rest.split_at(end);
        self.rest = tail;
        Some(tok)
    }
}

/// Return the index of the first space in `s`, or its length.
///
/// On the host eight bytes are tested at a time (a SWAR zero-byte test on `s ^ 0x20…`): the
/// tokenizer is the parser's inner loop, measured by `ci/bench`. The box keeps the byte loop,
/// which is smaller and as fast on a 32-bit CPU for the short tokens of MSNP.
#[cfg(not(target_os = "none"))]
#[inline(always)]
fn find_space(s: &[u8]) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let mut chunks = s.chunks_exact(8);
    let mut base = 0usize;
    for c in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(c);
        let x = u64::from_le_bytes(word) ^ (ONES * u64::from(b' '));
        // The lowest set high bit marks the first zero byte, i.e. the first space.
        let hit = x.wrapping_sub(ONES) & !x & HIGHS;
        if hit != 0 {
            return base + (hit.trailing_zeros() / 8) as usize;
        }
        base += 8;
    }
    let tail = chunks.remainder();
    base + tail.iter().position(|&b| b == b' ').unwrap_or(tail.len())
}

/// Return the index of the first space in `s`, or its length.
#[cfg(target_os = "none")]
fn find_space(s: &[u8]) -> usize {
    s.iter().position(|&b| b == b' ').unwrap_or(s.len())
}

/// A command line split into its verb and arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line<'a> {
    verb: &'a [u8],
    args: Args<'a>,
}

impl<'a> Line<'a> {
    /// Split a line (without its line end) into verb and arguments.
    ///
    /// The verb must be exactly three ASCII letters or digits; anything else (an empty line,
    /// `X`, binary noise) is [`WireError::BadVerb`].
    pub fn parse(line: &'a [u8]) -> Result<Self, WireError> {
        // Servers put the verb first: split there without the tokenizer unless the line has
        // leading spaces.
        let (verb, args) = match (line.get(..3), line.get(3..)) {
            (Some(v), Some(rest @ ([] | [b' ', ..]))) => (v, Args::new(rest)),
            _ => {
                let mut args = Args::new(line);
                (args.next().ok_or(WireError::BadVerb)?, args)
            }
        };
        if verb.len() != 3 || !verb.iter().all(u8::is_ascii_alphanumeric) {
            return Err(WireError::BadVerb);
        }
        Ok(Line { verb, args })
    }

    /// Return the verb as sent (`MSG`, `png`, `911`).
    pub fn verb(&self) -> &'a [u8] {
        self.verb
    }

    /// Return the arguments after the verb.
    pub fn args(&self) -> Args<'a> {
        self.args
    }

    /// Return the argument at `i`, if present.
    pub fn arg(&self, i: usize) -> Option<&'a [u8]> {
        self.args.get(i)
    }

    /// Return the numeric error code if the verb is three digits.
    pub fn error_code(&self) -> Option<u16> {
        // `parse_u32` accepts digits only, and three of them fit a u16.
        parse_u32(self.verb).and_then(|n| u16::try_from(n).ok())
    }
}

/// Parse an unsigned decimal number: digits only, no sign, at most `u32::MAX`.
#[cfg_attr(not(target_os = "none"), inline(always))]
pub fn parse_u32(s: &[u8]) -> Option<u32> {
    if s.is_empty() || s.len() > 10 {
        return None;
    }
    // Nine digits cannot overflow: they are added without checked arithmetic (lengths and
    // TrIDs are short); only a tenth digit is added with checks.
    let mut n: u32 = 0;
    for &c in s.get(..9).unwrap_or(s) {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        n = n.wrapping_mul(10).wrapping_add(u32::from(d));
    }
    if let Some(&c) = s.get(9) {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u32::from(d))?;
    }
    Some(n)
}

/// Parse a number field in canonical form: like [`parse_u32`], but without leading zeros, so
/// that the number re-encodes to the same bytes.
#[cfg_attr(not(target_os = "none"), inline(always))]
pub fn parse_field_u32(s: &[u8]) -> Option<u32> {
    match s {
        [b'0', _, ..] => None,
        _ => parse_u32(s),
    }
}

/// Split `line` before its last space-separated token: the bytes before it and the token
/// (empty if the line has none). Trailing spaces belong to neither.
pub(crate) fn split_last_token(line: &[u8]) -> (&[u8], &[u8]) {
    let mut trimmed = line;
    while let [rest @ .., b' '] = trimmed {
        trimmed = rest;
    }
    // `before` keeps the separating space, like the bytes before the token on the line.
    let mut before = trimmed;
    while let [rest @ .., c] = before {
        if *c == b' ' {
            break;
        }
        before = rest;
    }
    (before, trimmed.get(before.len()..).unwrap_or(&[]))
}

/// Return the last space-separated token of `line` (empty if it has none).
#[inline(always)]
pub(crate) fn last_token(line: &[u8]) -> &[u8] {
    split_last_token(line).1
}

/// Query whether `line` is exactly its tokens joined by single spaces.
pub fn is_canonical(line: &[u8]) -> bool {
    !line.starts_with(b" ") && !line.ends_with(b" ") && !line.windows(2).any(|w| w == b"  ")
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn test_parse_splits_verb_and_args() {
        let l = Line::parse(b"USR 4 OK alice@example.com Alice 1 0").unwrap();
        assert_eq!(l.verb(), b"USR");
        assert_eq!(l.args().len(), 6);
        assert_eq!(l.arg(2), Some(&b"alice@example.com"[..]));
        assert_eq!(l.arg(6), None);
        assert_eq!(
            l.args().skip(4).collect::<Vec<_>>(),
            vec![&b"1"[..], &b"0"[..]]
        );
    }

    #[test]
    fn test_parse_tolerates_extra_spaces() {
        let l = Line::parse(b"  CHG  6   NLN 0 ").unwrap();
        assert_eq!(l.verb(), b"CHG");
        assert_eq!(l.args().collect::<Vec<_>>(), vec![&b"6"[..], b"NLN", b"0"]);
        assert!(!is_canonical(b"  CHG  6"));
        assert!(is_canonical(b"CHG 6 NLN 0"));
    }

    #[test]
    fn test_parse_bad_verb() {
        assert_eq!(Line::parse(b""), Err(WireError::BadVerb));
        assert_eq!(Line::parse(b"X"), Err(WireError::BadVerb));
        assert_eq!(Line::parse(b"ABCD 1"), Err(WireError::BadVerb));
        assert_eq!(Line::parse(b"A\xffB 1"), Err(WireError::BadVerb));
        assert_eq!(Line::parse(b"911 3").unwrap().error_code(), Some(911));
    }

    #[test]
    fn test_find_space_matches_a_byte_scan() {
        let mut lines: Vec<Vec<u8>> = vec![b"".to_vec(), b" ".to_vec(), b"abc".to_vec()];
        for len in 0..40 {
            for at in 0..=len {
                let mut v = vec![b'x'; len];
                if at < len {
                    v[at] = b' ';
                }
                // Bytes that differ from a space by one bit must not count as spaces.
                v.iter_mut().skip(at + 1).for_each(|b| *b = 0x21);
                lines.push(v);
            }
        }
        lines.push(b"\xa0\x20\x00 ".to_vec());
        for l in &lines {
            let want = l.iter().position(|&b| b == b' ').unwrap_or(l.len());
            assert_eq!(find_space(l), want, "{l:?}");
        }
    }

    #[test]
    fn test_last_token() {
        for (line, last) in [
            (&b""[..], &b""[..]),
            (b"   ", b""),
            (b"MSG", b"MSG"),
            (b"MSG a b 12", b"12"),
            (b"  NOT  7  ", b"7"),
        ] {
            assert_eq!(last_token(line), last);
            assert_eq!(Args::new(line).last().unwrap_or(&[]), last);
        }
    }

    #[test]
    fn test_parse_u32_limits() {
        assert_eq!(parse_u32(b"4294967295"), Some(u32::MAX));
        assert_eq!(parse_u32(b"4294967296"), None);
        assert_eq!(parse_u32(b"+1"), None);
        assert_eq!(parse_u32(b""), None);
        assert_eq!(parse_u32(b"0"), Some(0));
        assert_eq!(parse_u32(b"007"), Some(7));
        assert_eq!(parse_field_u32(b"007"), None);
        assert_eq!(parse_field_u32(b"0"), Some(0));
    }
}
