//! Table-driven field reading for the command parsers.
//!
//! A command's fixed fields are described by a *shape*: one byte per field naming its kind
//! ([`kind`]). [`scan`] reads the fields of a shape left to right into a [`Fields`] record,
//! validating each one, and the parser then builds the typed variant from that record with
//! infallible accessors. On the box (`target_os = "none"`) `scan` is one small out-of-line
//! loop shared by every verb, which keeps the wire layer small; on the host it is forced
//! inline, so each call with a constant shape unrolls into straight-line code (the parser's
//! speed is measured against a memchr line scan by `ci/bench`).
//!
//! Verbs are found with [`server_verb`]: a perfect hash of the packed three-byte verb (the
//! multiplier is searched at compile time) into a 128-slot table, then one key comparison.

use super::command::{verb_key, ListKind, Status};
use super::line::{parse_field_u32, Args};
use super::trid::TrId;
use super::WireError;

/// The field kinds of a shape.
pub(crate) mod kind {
    /// A non-zero transaction id (missing: `MissingArg`; bad: `BadTrId`).
    pub const TRID: u8 = b'T';
    /// A server transaction id where `0` means none (bad: `BadTrId`).
    pub const TRID0: u8 = b'Z';
    /// A decimal number without leading zeros (bad: `BadArg`); `scan`'s default kind.
    #[allow(dead_code)] // written as `N` in shapes
    pub const NUM: u8 = b'N';
    /// Any token.
    pub const TOK: u8 = b'S';
    /// An optional token; when it is missing the argument list has ended.
    pub const OPT: u8 = b'O';
    /// An optional number (present but not a number: `BadArg`).
    pub const OPT_NUM: u8 = b'P';
    /// An optional `0`/`1` flag (anything else: `BadArg`).
    pub const FLAG: u8 = b'F';
    /// A number taken only if the next token is one (never an error, never ends the list).
    pub const NUM_IF: u8 = b'Q';
    /// A token taken only if it contains `@` (a handle).
    pub const HANDLE_IF: u8 = b'H';
    /// A list name `FL`/`AL`/`BL`/`RL`, kept in [`super::Fields::list`].
    pub const LIST: u8 = b'L';
    /// A presence status, kept in [`super::Fields::status`].
    pub const STATUS: u8 = b'A';
}

/// The most fields a shape has.
pub(crate) const MAX_FIELDS: usize = 9;

/// The fields read for one shape: tokens (empty when absent), their numeric values, the list
/// and status fields, and the arguments after the shape.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fields<'a> {
    tok: [&'a [u8]; MAX_FIELDS],
    num: [u32; MAX_FIELDS],
    /// The `LIST` field's value, if the shape has one.
    pub list: ListKind,
    /// The `STATUS` field's value, if the shape has one.
    pub status: Status,
    /// The arguments after the shape's fields.
    pub rest: Args<'a>,
}

impl<'a> Fields<'a> {
    /// Return field `i` as a token (empty when absent).
    #[inline(always)]
    pub fn s(&self, i: usize) -> &'a [u8] {
        self.tok.get(i).copied().unwrap_or(&[])
    }

    /// Return field `i` as an optional token.
    #[inline(always)]
    pub fn o(&self, i: usize) -> Option<&'a [u8]> {
        let t = self.s(i);
        if t.is_empty() {
            None
        } else {
            Some(t)
        }
    }

    /// Return field `i` as a number (0 when absent).
    #[inline(always)]
    pub fn n(&self, i: usize) -> u32 {
        self.num.get(i).copied().unwrap_or(0)
    }

    /// Return field `i` as an optional number.
    #[inline(always)]
    pub fn on(&self, i: usize) -> Option<u32> {
        if self.s(i).is_empty() {
            None
        } else {
            Some(self.n(i))
        }
    }

    /// Return field `i` as a transaction id (validated non-zero by `scan`).
    #[inline(always)]
    pub fn t(&self, i: usize) -> TrId {
        TrId::new(self.n(i)).unwrap_or(TrId::ONE)
    }

    /// Return field `i` as a server transaction id (`None` for 0).
    #[inline(always)]
    pub fn z(&self, i: usize) -> Option<TrId> {
        TrId::new(self.n(i))
    }
}

/// Read the fields of `shape` from `args` (see [`kind`]).
///
/// A required field that is missing is `MissingArg`, unless an optional field before it was
/// already missing (the list ended there): then it is absent too, which is how `LST … handle
/// nickname` and `SYN … contacts groups` make a group of fields optional together.
#[cfg_attr(not(target_os = "none"), inline(always))]
pub(crate) fn scan<'a>(mut args: Args<'a>, shape: &[u8]) -> Result<Fields<'a>, WireError> {
    let mut f = Fields {
        tok: [&[]; MAX_FIELDS],
        num: [0; MAX_FIELDS],
        list: ListKind::Forward,
        status: Status::Online,
        rest: Args::empty(),
    };
    let mut ended = false;
    for (i, &k) in shape.iter().enumerate() {
        let peek = args;
        let Some(t) = args.next() else {
            match k {
                kind::OPT | kind::OPT_NUM | kind::FLAG => ended = true,
                kind::NUM_IF | kind::HANDLE_IF => {}
                _ if ended => {}
                _ => return Err(WireError::MissingArg),
            }
            continue;
        };
        let num = match k {
            kind::TOK | kind::OPT => 0,
            kind::HANDLE_IF => {
                if !t.contains(&b'@') {
                    args = peek;
                    continue;
                }
                0
            }
            kind::LIST => {
                f.list = ListKind::from_token(t).ok_or(WireError::BadArg)?;
                0
            }
            kind::STATUS => {
                f.status = Status::from_token(t).ok_or(WireError::BadArg)?;
                0
            }
            kind::FLAG => match t {
                b"1" => 1,
                b"0" => 0,
                _ => return Err(WireError::BadArg),
            },
            _ => match parse_field_u32(t) {
                Some(n) if n != 0 || k != kind::TRID => n,
                _ => match k {
                    kind::NUM_IF => {
                        args = peek;
                        continue;
                    }
                    kind::TRID | kind::TRID0 => return Err(WireError::BadTrId),
                    _ => return Err(WireError::BadArg),
                },
            },
        };
        if let (Some(dt), Some(dn)) = (f.tok.get_mut(i), f.num.get_mut(i)) {
            *dt = t;
            *dn = num;
        }
    }
    f.rest = args;
    Ok(f)
}

macro_rules! server_verbs {
    ($($id:ident),* $(,)?) => {
        /// The verbs a server sends, in the order of [`SV_KEYS`].
        #[allow(clippy::upper_case_acronyms)]
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub(crate) enum Sv { $($id),* }
        const SV_ALL: &[Sv] = &[$(Sv::$id),*];
        /// The packed keys of the server verbs.
        pub(crate) const SV_KEYS: &[u32] = &[$(verb_key(stringify!($id).as_bytes())),*];
    };
}

server_verbs!(
    VER, INF, CVR, USR, XFR, OUT, SYN, LST, LSG, GTC, BLP, PRP, BPR, ADD, REM, ADG, RMG, REG, REA,
    CHG, ILN, NLN, FLN, QNG, CHL, QRY, IMS, URL, SND, SDC, FND, NOT, IPG, MSG, RNG, CAL, ANS, JOI,
    IRO, ACK, NAK, BYE,
);

const HASH_BITS: u32 = 7;

/// Find a multiplier that hashes every key to its own slot.
#[allow(clippy::indexing_slicing, clippy::panic)] // compile time only
const fn find_multiplier(keys: &[u32]) -> u32 {
    let mut m: u32 = 0x9E37_79B1;
    let mut tries = 0;
    while tries < 100_000 {
        let mut seen = [false; 1 << HASH_BITS];
        let mut i = 0;
        let mut ok = true;
        while i < keys.len() {
            let h = (keys[i].wrapping_mul(m) >> (32 - HASH_BITS)) as usize;
            if seen[h] {
                ok = false;
                break;
            }
            seen[h] = true;
            i += 1;
        }
        if ok {
            return m;
        }
        m = m.wrapping_add(2);
        tries += 1;
    }
    panic!("no perfect hash for the verb table")
}

const MULT: u32 = find_multiplier(SV_KEYS);

/// Slot → 1 + index into [`SV_KEYS`], 0 for an empty slot.
#[allow(clippy::indexing_slicing, clippy::cast_possible_truncation)] // compile time only
const SLOTS: [u8; 1 << HASH_BITS] = {
    let mut s = [0u8; 1 << HASH_BITS];
    let mut i = 0;
    while i < SV_KEYS.len() {
        s[(SV_KEYS[i].wrapping_mul(MULT) >> (32 - HASH_BITS)) as usize] = (i + 1) as u8;
        i += 1;
    }
    s
};

/// Look up a server verb by its packed key (exact, upper case).
#[inline]
pub(crate) fn server_verb(key: u32) -> Option<Sv> {
    let slot = usize::try_from(key.wrapping_mul(MULT) >> (32 - HASH_BITS)).unwrap_or(0);
    let i = usize::from(SLOTS.get(slot).copied().unwrap_or(0)).checked_sub(1)?;
    if SV_KEYS.get(i).copied() == Some(key) {
        SV_ALL.get(i).copied()
    } else {
        None
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn test_every_server_verb_is_found_and_others_are_not() {
        for (i, &k) in SV_KEYS.iter().enumerate() {
            assert_eq!(server_verb(k), Some(SV_ALL[i]));
        }
        for v in [&b"ver"[..], b"UBX", b"911", b"XXX", b"MSH", b"", b"MSGS"] {
            assert_eq!(server_verb(verb_key(v)), None, "{v:?}");
        }
    }

    #[test]
    fn test_scan_kinds() {
        let f = scan(Args::new(b"5 0 FL 12 x@y Name 1 rest"), b"TZLNHSF").unwrap();
        assert_eq!(
            (f.t(0).get(), f.z(1), f.list, f.n(3), f.s(4), f.s(5)),
            (5, None, ListKind::Forward, 12, &b"x@y"[..], &b"Name"[..])
        );
        assert_eq!(f.on(6), Some(1));
        assert_eq!(f.rest.collect::<Vec<_>>(), vec![&b"rest"[..]]);
        assert_eq!(scan(Args::new(b"0"), b"T").err(), Some(WireError::BadTrId));
        assert_eq!(scan(Args::new(b""), b"T").err(), Some(WireError::MissingArg));
        assert_eq!(scan(Args::new(b"01"), b"N").err(), Some(WireError::BadArg));
        assert_eq!(scan(Args::new(b"2"), b"F").err(), Some(WireError::BadArg));
        // A required field after a missing optional one is absent, not an error.
        let f = scan(Args::new(b"1"), b"NOS").unwrap();
        assert_eq!((f.o(1), f.o(2)), (None, None));
        // Conditional kinds leave a non-matching token for the next field.
        let f = scan(Args::new(b"MFN Bob"), b"QHSO").unwrap();
        assert_eq!((f.on(0), f.o(1), f.s(2), f.s(3)), (None, None, &b"MFN"[..], &b"Bob"[..]));
        assert_eq!(scan(Args::new(b""), b"QS").err(), Some(WireError::MissingArg));
    }
}
