//! A borrowed view over an `MSG` payload: MIME-style header lines, an empty line, a body
//! (reference §11.1).
//!
//! Headers end at the first empty line, whether lines end in CRLF or a bare LF. Without an empty
//! line the whole payload is headers and the body is empty. Header names compare
//! case-insensitively; values are trimmed of surrounding spaces and tabs.

/// View an `MSG` payload as headers and body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MimeMessage<'a> {
    headers: &'a [u8],
    body: &'a [u8],
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

/// Split a header value at its first `;`: the part before and the parameters after it.
fn split_param(v: &[u8]) -> (&[u8], &[u8]) {
    match v.iter().position(|&b| b == b';') {
        Some(i) => (
            v.get(..i).unwrap_or(&[]),
            v.get(i.saturating_add(1)..).unwrap_or(&[]),
        ),
        None => (v, &[]),
    }
}

impl<'a> MimeMessage<'a> {
    /// Split a payload into its header block and body.
    pub fn parse(payload: &'a [u8]) -> Self {
        Self::parse_with(payload, &[], &mut [])
    }

    /// Split a payload like [`parse`](Self::parse) and, in the same single pass, record in
    /// `values[i]` the first value of the header called `names[i]` (case-insensitive; `None`
    /// when absent). Cheaper than [`header`](Self::header) per name, which re-scans the block.
    pub fn parse_with(payload: &'a [u8], names: &[&[u8]], values: &mut [Option<&'a [u8]>]) -> Self {
        for v in values.iter_mut() {
            *v = None;
        }
        let mut rest = payload;
        while let Some(lf) = memchr::memchr(b'\n', rest) {
            let (raw, after) = match rest.split_at_checked(lf) {
                Some((raw, [_, after @ ..])) => (raw, after),
                _ => break,
            };
            let line = match raw {
                [line @ .., b'\r'] => line,
                _ => raw,
            };
            if line.is_empty() {
                let head = payload.len().saturating_sub(rest.len());
                return MimeMessage {
                    headers: payload.get(..head).unwrap_or(&[]),
                    body: after,
                };
            }
            record(line, names, values);
            rest = after;
        }
        let line = match rest {
            [line @ .., b'\r'] => line,
            _ => rest,
        };
        record(line, names, values);
        MimeMessage {
            headers: payload,
            body: &[],
        }
    }

    /// Iterate over `(name, value)` header pairs in order; lines without a colon are skipped.
    pub fn headers(&self) -> Headers<'a> {
        Headers { rest: self.headers }
    }

    /// Return the value of the first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&'a [u8]> {
        let mut v = [None];
        Self::parse_with(self.headers, &[name.as_bytes()], &mut v);
        let [value] = v;
        value
    }

    /// Return the media type of `Content-Type`, without parameters (`text/plain`).
    pub fn content_type(&self) -> Option<&'a [u8]> {
        let v = self.header("Content-Type")?;
        Some(trim(split_param(v).0))
    }

    /// Query whether the media type equals `media` (case-insensitive).
    pub fn is_content_type(&self, media: &str) -> bool {
        self.content_type()
            .is_some_and(|t| t.eq_ignore_ascii_case(media.as_bytes()))
    }

    /// Return the `charset=` parameter of `Content-Type`, if any.
    pub fn charset(&self) -> Option<&'a [u8]> {
        charset_of(self.header("Content-Type")?)
    }

    /// Return the body: everything after the first empty line.
    pub fn body(&self) -> &'a [u8] {
        self.body
    }
}

/// Note the value of header `line` in `values` if its name is one of `names` and not seen yet.
fn record<'a>(line: &'a [u8], names: &[&[u8]], values: &mut [Option<&'a [u8]>]) {
    // Most lines are rejected by their first letter before any search for the colon.
    match line.first() {
        None => return,
        Some(b' ' | b'\t') => {}
        Some(&c) => {
            let c = c | 0x20;
            if !names
                .iter()
                .any(|n| n.first().is_some_and(|&f| f | 0x20 == c))
            {
                return;
            }
        }
    }
    let Some(colon) = line.iter().position(|&b| b == b':') else {
        return;
    };
    let (name, value) = line.split_at(colon);
    let name = trim(name);
    for (want, slot) in names.iter().zip(values.iter_mut()) {
        if slot.is_none() && same_name(want, name) {
            *slot = Some(trim(value.get(1..).unwrap_or(&[])));
            return;
        }
    }
}

/// Compare ASCII names case-insensitively (a plain loop: the library's compare is several times
/// slower on the box's size-optimised build).
pub fn same_name(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x == y || (x ^ y == 0x20 && (x | 0x20).is_ascii_lowercase()))
}

/// Return the media type of a `Content-Type` value, without parameters (`text/plain`).
pub fn media_type(content_type: &[u8]) -> &[u8] {
    trim(split_param(content_type).0)
}

/// Return the `charset=` parameter of a `Content-Type` value, if any.
pub fn charset_of(content_type: &[u8]) -> Option<&[u8]> {
    let mut params = split_param(content_type).1;
    while !params.is_empty() {
        let (p, more) = split_param(params);
        params = more;
        let p = trim(p);
        if let Some(eq) = p.iter().position(|&b| b == b'=') {
            if p.get(..eq).is_some_and(|k| same_name(k, b"charset")) {
                return Some(trim(p.get(eq.saturating_add(1)..).unwrap_or(&[])));
            }
        }
    }
    None
}

/// Iterate over the header lines of a [`MimeMessage`].
#[derive(Debug, Clone)]
pub struct Headers<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Headers<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.rest.is_empty() {
                return None;
            }
            let lf = memchr::memchr(b'\n', self.rest).unwrap_or(self.rest.len());
            let line = self.rest.get(..lf).unwrap_or(&[]);
            self.rest = self.rest.get(lf.saturating_add(1)..).unwrap_or(&[]);
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if let Some(colon) = line.iter().position(|&b| b == b':') {
                let (name, value) = line.split_at(colon);
                return Some((trim(name), trim(value.get(1..).unwrap_or(&[]))));
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn test_parse_text_message() {
        let p = b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\nX-MMS-IM-Format: FN=Arial; EF=; CO=0\r\n\r\nHello\r\nthere";
        let m = MimeMessage::parse(p);
        assert_eq!(m.content_type(), Some(&b"text/plain"[..]));
        assert!(m.is_content_type("TEXT/PLAIN"));
        assert_eq!(m.charset(), Some(&b"UTF-8"[..]));
        assert_eq!(m.header("mime-version"), Some(&b"1.0"[..]));
        assert_eq!(m.body(), b"Hello\r\nthere");
        assert_eq!(m.headers().count(), 3);
    }

    #[test]
    fn test_parse_lf_only_and_no_space() {
        let m = MimeMessage::parse(b"Content-Type:text/x-msmsgscontrol\nTypingUser:bob@x\n\n\r\n");
        assert_eq!(m.content_type(), Some(&b"text/x-msmsgscontrol"[..]));
        assert_eq!(m.header("TypingUser"), Some(&b"bob@x"[..]));
        assert_eq!(m.charset(), None);
        assert_eq!(m.body(), b"\r\n");
    }

    #[test]
    fn test_parse_with_matches_header_lookups() {
        let payloads: [&[u8]; 9] = [
            b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\nX-MMS-IM-Format: FN=Arial\r\n\r\nhi",
            b"content-type:text/x-msmsgscontrol\nTypingUser:bob@x\n\n\r\n",
            b"Content-Type: a\r\nContent-Type: b\r\nKid: 0",
            b"",
            b"\r\nKid: 1",
            b"Kid: 2\r",
            b"no colon\r\n Kid :\t3 \r\nTypingUser: a:b\r\n\r\n",
            b"Kid: 4\r\r\n\r\n",
            b"\r\r\nKid: 5\n",
        ];
        let names: [&[u8]; 3] = [b"Content-Type", b"TypingUser", b"Kid"];
        for p in payloads {
            let mut v = [None; 3];
            let m = MimeMessage::parse_with(p, &names, &mut v);
            assert_eq!(m, MimeMessage::parse(p));
            assert_eq!(v[0], m.header("Content-Type"));
            assert_eq!(v[1], m.header("TypingUser"));
            assert_eq!(v[2], m.header("Kid"));
            assert_eq!(v[0].map(media_type), m.content_type());
            assert_eq!(v[0].and_then(charset_of), m.charset());
        }
    }

    #[test]
    fn test_parse_headers_only() {
        let m = MimeMessage::parse(
            b"MIME-Version: 1.0\r\nContent-Type: text/x-msmsgsprofile;charset=UTF-8\r\nKid: 0",
        );
        assert_eq!(m.header("Kid"), Some(&b"0"[..]));
        assert_eq!(m.charset(), Some(&b"UTF-8"[..]));
        assert_eq!(m.body(), b"");
        assert_eq!(MimeMessage::parse(b"").headers().count(), 0);
    }
}
