//! Verb lookup for the server command parser.
//!
//! [`server_verb`] maps the packed three-byte verb ([`verb_key`]) to a small enum with a perfect
//! hash (the multiplier is searched at compile time) into a 128-slot table and one key
//! comparison, so the parser dispatches through one jump table instead of a chain of 42
//! comparisons: smaller on the box and no slower on the host.

use super::command::verb_key;

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
#[allow(clippy::indexing_slicing)]
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
    fn test_status_and_list_tokens_round_trip() {
        use super::super::command::{ListKind, Status};
        for s in [
            Status::Online,
            Status::Busy,
            Status::Idle,
            Status::BeRightBack,
            Status::Away,
            Status::OnPhone,
            Status::OutToLunch,
            Status::Hidden,
            Status::Offline,
            Status::Other(*b"XY1"),
        ] {
            assert_eq!(Status::from_token(s.token()), Some(s));
        }
        assert_eq!(Status::from_token(b"nln"), Some(Status::Other(*b"nln")));
        assert_eq!(Status::from_token(b"NL"), None);
        assert_eq!(Status::from_token(b"N-N"), None);
        for l in [
            ListKind::Forward,
            ListKind::Allow,
            ListKind::Block,
            ListKind::Reverse,
        ] {
            assert_eq!(ListKind::from_token(l.token()), Some(l));
        }
        assert_eq!(ListKind::from_token(b"fl"), None);
        assert_eq!(ListKind::from_token(b"FLL"), None);
    }
}
