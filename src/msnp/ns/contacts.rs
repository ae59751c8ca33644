//! The contact model: contacts and groups in caller-provided storage, plus a compact,
//! checksummed binary image for NVRAM so a box can skip the full list download (`SYN` with the
//! cached version).
//!
//! Storage is three caller-sized pieces: small fixed records ([`Contact`], [`Group`]) and one
//! byte pool holding every variable-length string (passports, decoded friendly names, phone
//! numbers, group names), so memory follows the real lengths instead of the protocol maxima.
//! A passport-to-contact hash index makes every lookup O(1) on average.
//!
//! Names are stored decoded (UTF-8, bounded; a longer name is cut at a character boundary and
//! marked truncated; a friendly name equal to the passport costs no bytes). Nothing here
//! allocates. A full table (or a pool with no room for a new passport) reports
//! [`ListError::Full`] and leaves the stored entries untouched; a name or phone number that does
//! not fit the pool is stored empty and reported as [`ListError::TextDropped`]. Deleting or
//! shortening anything frees its bytes (the pool is compacted when it runs out).

use crate::limits::{MAX_GROUP_ID, MAX_PASSPORT_LEN};
use crate::msnp::wire::{escape, ListKind, Status};

/// Longest friendly name kept per contact, in decoded UTF-8 bytes.
pub const MAX_FRIENDLY_LEN: usize = 129;
/// Longest group name kept, in decoded UTF-8 bytes.
pub const MAX_GROUP_NAME_LEN: usize = 61;
/// Longest phone number (`PHH`/`PHW`/`PHM`) kept, in decoded bytes.
pub const MAX_PHONE_LEN: usize = 32;
/// Largest name pool used: offsets are 16-bit, bytes past this are left alone.
pub const MAX_NAME_POOL: usize = 0xFFFF;
/// Bytes of name pool each stored contact or group costs besides its strings.
pub const NAME_POOL_OVERHEAD: usize = HEADER;

/// Block header in the pool: owner (u16) and capacity (u16), big-endian.
const HEADER: usize = 4;
/// Owner value of a freed block.
const DEAD: u16 = 0xFFFF;
/// Owner bit marking a group's block (the low bits are its index).
const GROUP_OWNER: u16 = 0x8000;
/// End of a hash chain.
const NIL: u16 = 0xFFFF;
/// Hash buckets of the passport index (a power of two).
const BUCKETS: usize = 64;
/// Most contacts a list indexes (owners and chain links are 15-bit).
const MAX_RECORDS: usize = 0x7FFF;

/// Field numbers within a contact's pool block.
const F_PASSPORT: usize = 0;
const F_NAME: usize = 1;
const F_PHONE: usize = 2;

/// Contact flag bits.
const FLAG_MOBILE: u8 = 1;
const FLAG_MOBILE_ENABLED: u8 = 2;
const FLAG_NAME_CUT: u8 = 4;
const FLAG_NAME_IS_PASSPORT: u8 = 8;

/// Name one of a contact's phone properties.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phone {
    /// `PHH`: home.
    Home = 0,
    /// `PHW`: work.
    Work = 1,
    /// `PHM`: mobile.
    Mobile = 2,
}

impl Phone {
    /// Parse a `PRP`/`BPR` property token naming a phone number.
    pub fn from_token(t: &[u8]) -> Option<Self> {
        match t {
            b"PHH" => Some(Phone::Home),
            b"PHW" => Some(Phone::Work),
            b"PHM" => Some(Phone::Mobile),
            _ => None,
        }
    }
}

/// Why a list operation or a restore failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ListError {
    /// Nothing was stored: the contact or group table is full, or the name pool has no room
    /// for the new entry's passport.
    Full,
    /// The entry is stored, but a name or phone number did not fit the name pool and was left
    /// empty (marked truncated).
    TextDropped,
    /// The passport is empty, too long or not an account name.
    BadPassport,
    /// The group id is over 29.
    BadGroup,
    /// The image is shorter than its contents say.
    Truncated,
    /// The image does not start with the magic bytes.
    BadMagic,
    /// The image has a format version this code does not read.
    UnsupportedFormat,
    /// The checksum does not match.
    Checksum,
    /// A field holds a value no valid list has (bad UTF-8, duplicate passport, length over bound).
    Invalid,
    /// The output buffer is too small for the image.
    BufferTooSmall,
}

impl ListError {
    /// Classify the error for callers that only switch on the broad cause.
    pub const fn kind(self) -> crate::ErrorKind {
        match self {
            ListError::Full | ListError::TextDropped | ListError::BufferTooSmall => {
                crate::ErrorKind::Capacity
            }
            ListError::BadPassport | ListError::BadGroup => crate::ErrorKind::Local,
            _ => crate::ErrorKind::Malformed,
        }
    }
}

/// Keep a bounded UTF-8 string inline.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct InlineStr<const N: usize> {
    buf: [u8; N],
    len: u16,
    truncated: bool,
}

impl<const N: usize> core::fmt::Debug for InlineStr<N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl<const N: usize> InlineStr<N> {
    /// Make an empty string.
    pub const fn new() -> Self {
        InlineStr {
            buf: [0; N],
            len: 0,
            truncated: false,
        }
    }

    /// Return the text.
    pub fn as_str(&self) -> &str {
        let b = self.buf.get(..usize::from(self.len)).unwrap_or(&[]);
        core::str::from_utf8(b).unwrap_or("")
    }

    /// Return the text's bytes (valid UTF-8).
    pub fn as_bytes(&self) -> &[u8] {
        self.buf.get(..usize::from(self.len)).unwrap_or(&[])
    }

    /// Query whether the stored text was cut to fit.
    pub const fn is_truncated(&self) -> bool {
        self.truncated
    }

    /// Store `s`, cutting it at a character boundary if it is longer than `N` bytes.
    pub fn set(&mut self, s: &str) {
        let mut n = s.len().min(N);
        while n > 0 && !s.is_char_boundary(n) {
            n -= 1;
        }
        let src = s.as_bytes().get(..n).unwrap_or(&[]);
        if let Some(dst) = self.buf.get_mut(..n) {
            dst.copy_from_slice(src);
        }
        self.len = u16::try_from(n).unwrap_or(0);
        self.truncated = n < s.len();
    }

    /// Store a %-encoded wire argument decoded; invalid UTF-8 is replaced by `?` bytes.
    pub fn set_encoded(&mut self, wire: &[u8]) {
        let (n, all) = escape::decode_prefix(wire, &mut self.buf);
        let (valid, truncated) = fix_utf8(self.buf.get_mut(..n).unwrap_or(&mut []), !all);
        self.len = u16::try_from(valid).unwrap_or(0);
        self.truncated = truncated;
    }
}

/// Make decoded bytes text: an incomplete character at the end is cut, other invalid UTF-8
/// bytes are replaced by `?`. Return the length kept and whether anything was cut (`cut`
/// says the bytes were already cut short).
fn fix_utf8(bytes: &mut [u8], cut: bool) -> (usize, bool) {
    if bytes.is_ascii() {
        return (bytes.len(), cut);
    }
    match core::str::from_utf8(bytes) {
        Ok(_) => (bytes.len(), cut),
        Err(e) if e.error_len().is_none() => (e.valid_up_to().min(bytes.len()), true),
        Err(_) => {
            for b in bytes.iter_mut() {
                if !b.is_ascii() {
                    *b = b'?';
                }
            }
            (bytes.len(), cut)
        }
    }
}

impl<const N: usize> Default for InlineStr<N> {
    fn default() -> Self {
        Self::new()
    }
}

/// One contact's fixed record (24 bytes); its strings live in the list's name pool. Read it
/// through [`ContactRef`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Contact {
    groups: u32,
    client_id: u32,
    status: Status,
    /// Offset of the block's data in the pool.
    off: u16,
    /// Next contact in the same hash bucket.
    next: u16,
    /// String lengths: passport, friendly name, home, work and mobile phone.
    lens: [u8; 5],
    lists: u8,
    flags: u8,
    /// More bits of the passport's hash, to skip most chain entries without comparing.
    tag: u8,
}

impl Contact {
    /// Return an unused slot value, for initialising caller storage.
    pub const EMPTY: Contact = Contact {
        groups: 0,
        client_id: 0,
        status: Status::Offline,
        off: 0,
        next: NIL,
        lens: [0; 5],
        lists: 0,
        flags: 0,
        tag: 0,
    };
}

/// One stored contact, read through its list: passport, friendly name, list membership,
/// groups, presence and phone data.
#[derive(Clone, Copy)]
pub struct ContactRef<'a> {
    rec: &'a Contact,
    pool: &'a [u8],
}

impl<'a> ContactRef<'a> {
    fn field(&self, k: usize) -> &'a [u8] {
        field(self.pool, self.rec.off, &self.rec.lens, k)
    }

    /// Return the passport (account name).
    pub fn passport(&self) -> &'a [u8] {
        self.field(F_PASSPORT)
    }

    /// Return the friendly name, decoded.
    pub fn friendly(&self) -> &'a str {
        core::str::from_utf8(self.friendly_bytes()).unwrap_or("")
    }

    fn friendly_bytes(&self) -> &'a [u8] {
        self.field(if self.rec.flags & FLAG_NAME_IS_PASSPORT != 0 {
            F_PASSPORT
        } else {
            F_NAME
        })
    }

    /// Query whether the stored friendly name is shorter than the one the server sent (cut to
    /// [`MAX_FRIENDLY_LEN`], or dropped because the name pool was full).
    pub fn friendly_truncated(&self) -> bool {
        self.rec.flags & FLAG_NAME_CUT != 0
    }

    /// Return the list membership bits ([`ListKind::bit`]: FL 1, AL 2, BL 4, RL 8).
    pub fn lists(&self) -> u8 {
        self.rec.lists
    }

    /// Query whether the contact is on `list`.
    pub fn is_on(&self, list: ListKind) -> bool {
        self.rec.lists & list.bit() != 0
    }

    /// Return the group membership: bit `n` set means group id `n` (MSNP7+).
    pub fn groups(&self) -> u32 {
        self.rec.groups
    }

    /// Query whether the contact is in group `id`.
    pub fn in_group(&self, id: u32) -> bool {
        id <= MAX_GROUP_ID && self.rec.groups & (1u32 << id) != 0
    }

    /// Return the last status seen (`Offline` until presence arrives).
    pub fn status(&self) -> Status {
        self.rec.status
    }

    /// Return the MSNP8 client capability number last seen.
    pub fn client_id(&self) -> u32 {
        self.rec.client_id
    }

    /// Return a stored phone number (empty when unknown).
    pub fn phone(&self, which: Phone) -> &'a str {
        core::str::from_utf8(self.field(F_PHONE + which as usize)).unwrap_or("")
    }

    /// Query `MOB Y`: the contact accepts pages.
    pub fn mobile(&self) -> bool {
        self.rec.flags & FLAG_MOBILE != 0
    }

    /// Query `MBE Y`: the contact has MSN Mobile enabled.
    pub fn mobile_enabled(&self) -> bool {
        self.rec.flags & FLAG_MOBILE_ENABLED != 0
    }
}

impl PartialEq for ContactRef<'_> {
    fn eq(&self, o: &Self) -> bool {
        self.passport() == o.passport()
            && self.friendly() == o.friendly()
            && self.rec.lists == o.rec.lists
            && self.rec.groups == o.rec.groups
            && self.rec.status == o.rec.status
            && self.rec.client_id == o.rec.client_id
            && (0..3).all(|k| self.field(F_PHONE + k) == o.field(F_PHONE + k))
            && (self.rec.flags & 3) == (o.rec.flags & 3)
    }
}

impl core::fmt::Debug for ContactRef<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Contact")
            .field("passport", &self.passport())
            .field("friendly", &self.friendly())
            .field("lists", &self.rec.lists)
            .field("groups", &self.rec.groups)
            .field("status", &self.rec.status)
            .finish()
    }
}

/// One contact group's fixed record (4 bytes); its name lives in the list's name pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Group {
    off: u16,
    id: u8,
    len: [u8; 1],
}

impl Group {
    /// Return an unused slot value, for initialising caller storage.
    pub const EMPTY: Group = Group {
        off: 0,
        id: 0,
        len: [0],
    };
}

/// One stored contact group (MSNP7+), read through its list.
#[derive(Clone, Copy)]
pub struct GroupRef<'a> {
    rec: &'a Group,
    pool: &'a [u8],
}

impl<'a> GroupRef<'a> {
    /// Return the group id (0..=29).
    pub fn id(&self) -> u8 {
        self.rec.id
    }

    /// Return the group name, decoded.
    pub fn name(&self) -> &'a str {
        core::str::from_utf8(field(self.pool, self.rec.off, &self.rec.len, 0)).unwrap_or("")
    }
}

impl PartialEq for GroupRef<'_> {
    fn eq(&self, o: &Self) -> bool {
        self.id() == o.id() && self.name() == o.name()
    }
}

impl core::fmt::Debug for GroupRef<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Group")
            .field("id", &self.rec.id)
            .field("name", &self.name())
            .finish()
    }
}

/// Return field `k` of the block at `off` whose field lengths are `lens`.
fn field<'a>(pool: &'a [u8], off: u16, lens: &[u8], k: usize) -> &'a [u8] {
    let start = usize::from(off) + lens.iter().take(k).map(|&l| usize::from(l)).sum::<usize>();
    let len = lens.get(k).map_or(0, |&l| usize::from(l));
    pool.get(start..start + len).unwrap_or(&[])
}

fn rd16(pool: &[u8], at: usize) -> u16 {
    match pool.get(at..at + 2) {
        Some(&[a, b]) => u16::from_be_bytes([a, b]),
        _ => DEAD,
    }
}

fn wr16(pool: &mut [u8], at: usize, v: u16) {
    if let Some(d) = pool.get_mut(at..at + 2) {
        d.copy_from_slice(&v.to_be_bytes());
    }
}

/// Move `len` bytes at `src` to `dst` within `pool` (nothing when out of range).
fn move_bytes(pool: &mut [u8], src: usize, len: usize, dst: usize) {
    if src.max(dst).saturating_add(len) <= pool.len() && src != dst && len > 0 {
        pool.copy_within(src..src + len, dst);
    }
}

/// Hash a passport for the case-insensitive index (`| 0x20` folds ASCII case; the few other
/// bytes it folds together only share a hash): the bucket and a tag byte.
fn hash(passport: &[u8]) -> (usize, u8) {
    let h = passport
        .iter()
        .fold(0u32, |h, &b| h.wrapping_mul(33) ^ u32::from(b | 0x20));
    let h = h ^ (h >> 6) ^ (h >> 12);
    (h as usize & (BUCKETS - 1), (h >> 16) as u8)
}

/// Hash a passport as [`hash`] does and check it as [`valid_passport`] does, in one pass.
fn hash_checked(passport: &[u8]) -> (usize, u8, bool) {
    let (mut h, mut ats, mut bad) = (0u32, 0usize, false);
    for &b in passport {
        h = h.wrapping_mul(33) ^ u32::from(b | 0x20);
        ats += usize::from(b == b'@');
        bad |= b <= 0x20 || b == 0x7f || b == b'%';
    }
    let h = h ^ (h >> 6) ^ (h >> 12);
    let valid = !bad && ats == 1 && (3..=MAX_PASSPORT_LEN).contains(&passport.len());
    (h as usize & (BUCKETS - 1), (h >> 16) as u8, valid)
}

/// Compare two passports ignoring ASCII case (most bytes are equal as they are).
fn eq_passport(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(&x, &y)| x == y || ((x | 0x20) == (y | 0x20) && (x | 0x20).is_ascii_lowercase()))
}

/// Return the length of `wire` once %-decoded (as [`escape::decoded`] does), at most `max`.
fn decoded_len(wire: &[u8], max: usize) -> usize {
    let hex = |b: Option<&u8>| b.is_some_and(u8::is_ascii_hexdigit);
    let (mut i, mut n) = (0usize, 0usize);
    while i < wire.len() && n < max {
        i += if wire.get(i) == Some(&b'%') && hex(wire.get(i + 1)) && hex(wire.get(i + 2)) {
            3
        } else {
            1
        };
        n += 1;
    }
    n
}

/// Query whether %-decoding `wire` (as [`escape::decoded`] does) gives exactly `stored`.
fn decodes_to(wire: &[u8], stored: &[u8]) -> bool {
    let hex = |b: u8| match b {
        b'0'..=b'9' => Some(b - b'0'),
        _ => match b | 0x20 {
            c @ b'a'..=b'f' => Some(c - b'a' + 10),
            _ => None,
        },
    };
    let mut want = stored.iter();
    let mut rest = wire;
    while let Some((&b, tail)) = rest.split_first() {
        let mut d = b;
        rest = tail;
        if b == b'%' {
            if let [h, l, more @ ..] = tail {
                if let (Some(h), Some(l)) = (hex(*h), hex(*l)) {
                    d = (h << 4) | l;
                    rest = more;
                }
            }
        }
        if want.next() != Some(&d) {
            return false;
        }
    }
    want.next().is_none()
}

/// Name the `GTC` setting: what happens when someone adds you.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gtc {
    /// `A`: ask (notify) the user.
    Ask,
    /// `N`: do not ask.
    NoAsk,
}

impl Gtc {
    /// Parse `A` or `N`.
    pub fn from_token(t: &[u8]) -> Option<Self> {
        match t {
            b"A" => Some(Gtc::Ask),
            b"N" => Some(Gtc::NoAsk),
            _ => None,
        }
    }

    /// Return the wire token.
    pub const fn token(self) -> &'static [u8] {
        match self {
            Gtc::Ask => b"A",
            Gtc::NoAsk => b"N",
        }
    }
}

/// Name the `BLP` setting: who may see you and talk to you when on neither AL nor BL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blp {
    /// `AL`: everyone not blocked.
    AllowAll,
    /// `BL`: only people on the allow list.
    BlockAll,
}

impl Blp {
    /// Parse `AL` or `BL`.
    pub fn from_token(t: &[u8]) -> Option<Self> {
        match t {
            b"AL" => Some(Blp::AllowAll),
            b"BL" => Some(Blp::BlockAll),
            _ => None,
        }
    }

    /// Return the wire token.
    pub const fn token(self) -> &'static [u8] {
        match self {
            Blp::AllowAll => b"AL",
            Blp::BlockAll => b"BL",
        }
    }
}

/// Check that `p` looks like an account name: 3..=129 bytes, one `@`, no spaces or controls.
pub fn valid_passport(p: &[u8]) -> bool {
    let mut ats = 0usize;
    for &b in p {
        if b <= 0x20 || b == 0x7f || b == b'%' {
            return false;
        }
        ats += usize::from(b == b'@');
    }
    ats == 1 && (3..=MAX_PASSPORT_LEN).contains(&p.len())
}

/// The contact and group tables over caller-provided storage, plus the list version and privacy.
#[derive(Debug)]
pub struct ContactList<'s> {
    contacts: &'s mut [Contact],
    len: usize,
    groups: &'s mut [Group],
    group_len: usize,
    pool: &'s mut [u8],
    /// Pool bytes in blocks (live or freed); the rest is free.
    used: usize,
    heads: [u16; BUCKETS],
    /// The list version from the last `SYN` or list change (0: nothing cached).
    pub version: u32,
    /// The `GTC` setting, once known.
    pub gtc: Option<Gtc>,
    /// The `BLP` setting, once known.
    pub blp: Option<Blp>,
}

/// Return the name-pool size that keeps every string of `contacts` contacts and `groups`
/// groups whose strings add up to `string_bytes` (what the caller plans for).
pub const fn name_pool_size(contacts: usize, groups: usize, string_bytes: usize) -> usize {
    (contacts + groups) * NAME_POOL_OVERHEAD + string_bytes
}

impl<'s> ContactList<'s> {
    /// Make an empty list over the caller's storage (its contents are ignored): contact and
    /// group records, and the pool for their strings (see [`name_pool_size`]).
    pub fn new(contacts: &'s mut [Contact], groups: &'s mut [Group], names: &'s mut [u8]) -> Self {
        let nc = contacts.len().min(MAX_RECORDS);
        let ng = groups.len().min(MAX_RECORDS);
        let np = names.len().min(MAX_NAME_POOL);
        ContactList {
            contacts: contacts.get_mut(..nc).unwrap_or(&mut []),
            len: 0,
            groups: groups.get_mut(..ng).unwrap_or(&mut []),
            group_len: 0,
            pool: names.get_mut(..np).unwrap_or(&mut []),
            used: 0,
            heads: [NIL; BUCKETS],
            version: 0,
            gtc: None,
            blp: None,
        }
    }

    /// Drop every contact and group and forget the version and privacy settings.
    pub fn clear(&mut self) {
        self.len = 0;
        self.group_len = 0;
        self.used = 0;
        self.heads = [NIL; BUCKETS];
        self.version = 0;
        self.gtc = None;
        self.blp = None;
    }

    /// Return the contact capacity.
    pub fn capacity(&self) -> usize {
        self.contacts.len()
    }

    /// Return the size of the name pool in bytes.
    pub fn name_capacity(&self) -> usize {
        self.pool.len()
    }

    /// Return how many contacts are stored.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Query whether no contact is stored.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Return the contact at `index` (insertion order).
    pub fn contact(&self, index: usize) -> Option<ContactRef<'_>> {
        let rec = self.contacts.get(..self.len)?.get(index)?;
        Some(ContactRef {
            rec,
            pool: self.pool,
        })
    }

    /// Iterate over the stored contacts in insertion order.
    pub fn contacts(
        &self,
    ) -> impl ExactSizeIterator<Item = ContactRef<'_>> + DoubleEndedIterator + Clone + '_ {
        let pool: &[u8] = self.pool;
        self.contacts
            .get(..self.len)
            .unwrap_or(&[])
            .iter()
            .map(move |rec| ContactRef { rec, pool })
    }

    /// Iterate over the stored groups in insertion order.
    pub fn groups(
        &self,
    ) -> impl ExactSizeIterator<Item = GroupRef<'_>> + DoubleEndedIterator + Clone + '_ {
        let pool: &[u8] = self.pool;
        self.groups
            .get(..self.group_len)
            .unwrap_or(&[])
            .iter()
            .map(move |rec| GroupRef { rec, pool })
    }

    /// Return the group with id `id`.
    pub fn group(&self, id: u32) -> Option<GroupRef<'_>> {
        self.groups().find(|g| u32::from(g.id()) == id)
    }

    fn group_index(&self, id: u32) -> Option<usize> {
        self.groups
            .get(..self.group_len)?
            .iter()
            .position(|g| u32::from(g.id) == id)
    }

    /// Return the index of a contact by passport (case-insensitive).
    pub fn position(&self, passport: &[u8]) -> Option<usize> {
        self.position_in(passport, hash(passport))
    }

    fn position_in(&self, passport: &[u8], (bucket, tag): (usize, u8)) -> Option<usize> {
        let mut i = *self.heads.get(bucket)?;
        // A chain visits each contact at most once; the bound only guards a broken link.
        for _ in 0..self.len {
            let c = self.contacts.get(usize::from(i))?;
            if c.tag == tag
                && usize::from(c.lens[F_PASSPORT]) == passport.len()
                && eq_passport(field(self.pool, c.off, &c.lens, F_PASSPORT), passport)
            {
                return Some(usize::from(i));
            }
            i = c.next;
        }
        None
    }

    /// Return a contact by passport.
    pub fn get(&self, passport: &[u8]) -> Option<ContactRef<'_>> {
        self.position(passport).and_then(|i| self.contact(i))
    }

    fn rec_mut(&mut self, index: usize) -> Option<&mut Contact> {
        self.contacts.get_mut(..self.len)?.get_mut(index)
    }

    /// Return the index of the contact for `passport`, creating it (on no list yet) if needed.
    pub fn upsert(&mut self, passport: &[u8]) -> Result<usize, ListError> {
        let (b, tag, valid) = hash_checked(passport);
        // Only valid passports are ever stored, so a match needs no check.
        if let Some(i) = self.position_in(passport, (b, tag)) {
            return Ok(i);
        }
        if !valid {
            return Err(ListError::BadPassport);
        }
        let i = self.len;
        if i >= self.contacts.len() {
            return Err(ListError::Full);
        }
        let off = self
            .alloc(i as u16, passport.len())
            .ok_or(ListError::Full)?;
        if let Some(d) = self
            .pool
            .get_mut(usize::from(off)..usize::from(off) + passport.len())
        {
            d.copy_from_slice(passport);
        }
        let head = self.heads.get(b).copied().unwrap_or(NIL);
        let slot = self.contacts.get_mut(i).ok_or(ListError::Full)?;
        *slot = Contact {
            off,
            next: head,
            lens: [passport.len() as u8, 0, 0, 0, 0],
            tag,
            ..Contact::EMPTY
        };
        if let Some(h) = self.heads.get_mut(b) {
            *h = i as u16;
        }
        self.len += 1;
        Ok(i)
    }

    /// Put `passport` on `list` (creating the contact), storing the encoded `friendly` name;
    /// returns the contact's index. [`ListError::TextDropped`]: stored, but without its name.
    pub fn add_to(
        &mut self,
        passport: &[u8],
        list: ListKind,
        friendly: Option<&[u8]>,
    ) -> Result<usize, ListError> {
        let i = self.upsert(passport)?;
        if let Some(c) = self.rec_mut(i) {
            c.lists |= list.bit();
        }
        match friendly {
            Some(f) => self.set_friendly_encoded(i, f).map(|()| i),
            None => Ok(i),
        }
    }

    /// Set the list bits of contact `index`.
    pub fn set_lists(&mut self, index: usize, lists: u8) {
        if let Some(c) = self.rec_mut(index) {
            c.lists = lists;
        }
    }

    /// Set the presence of contact `index` (status and MSNP8 client id).
    pub fn set_presence(&mut self, index: usize, status: Status, client_id: u32) {
        if let Some(c) = self.rec_mut(index) {
            c.status = status;
            c.client_id = client_id;
        }
    }

    /// Set the status of contact `index`.
    pub fn set_status(&mut self, index: usize, status: Status) {
        if let Some(c) = self.rec_mut(index) {
            c.status = status;
        }
    }

    /// Add contact `index` to group `id`.
    pub fn add_group_bit(&mut self, index: usize, id: u32) {
        if let Some(c) = self.rec_mut(index).filter(|_| id <= MAX_GROUP_ID) {
            c.groups |= 1 << id;
        }
    }

    /// Set the `MOB`/`MBE` flags of contact `index` (`enabled`: `MBE`, else `MOB`).
    pub fn set_mobile_flag(&mut self, index: usize, enabled: bool, on: bool) {
        let bit = if enabled {
            FLAG_MOBILE_ENABLED
        } else {
            FLAG_MOBILE
        };
        if let Some(c) = self.rec_mut(index) {
            if on {
                c.flags |= bit;
            } else {
                c.flags &= !bit;
            }
        }
    }

    /// Store the %-encoded wire `name` as contact `index`'s friendly name (decoded, bounded).
    /// [`ListError::TextDropped`]: the pool had no room; the name is left empty.
    pub fn set_friendly_encoded(&mut self, index: usize, wire: &[u8]) -> Result<(), ListError> {
        let Some(c) = self.contact(index) else {
            return Ok(());
        };
        // Presence lines repeat the stored name: compare before decoding anything.
        if c.rec.flags & FLAG_NAME_CUT == 0 && decodes_to(wire, c.friendly_bytes()) {
            return Ok(());
        }
        let owner = index as u16;
        if decodes_to(wire, c.passport()) {
            // The name is the passport (the MSN default): store nothing.
            let _ = self.resize_field(owner, F_NAME, 0);
            self.set_flag(index, FLAG_NAME_IS_PASSPORT, true);
            self.set_flag(index, FLAG_NAME_CUT, false);
            return Ok(());
        }
        // Decode straight into the pool, sized to the decoded length.
        let len = decoded_len(wire, MAX_FRIENDLY_LEN);
        let start = match self.resize_field(owner, F_NAME, len) {
            Ok(start) => start,
            Err(e) => {
                let _ = self.resize_field(owner, F_NAME, 0);
                self.set_flag(index, FLAG_NAME_IS_PASSPORT, false);
                self.set_flag(index, FLAG_NAME_CUT, true);
                return Err(e);
            }
        };
        let region = self.pool.get_mut(start..start + len).unwrap_or(&mut []);
        let (n, all) = escape::decode_prefix(wire, region);
        let (valid, cut) = fix_utf8(region.get_mut(..n).unwrap_or(&mut []), !all);
        if valid < len {
            // Shrinking stays in place and cannot fail.
            let _ = self.resize_field(owner, F_NAME, valid);
        }
        // A name that became the passport only once repaired is stored as it is.
        self.set_flag(index, FLAG_NAME_IS_PASSPORT, false);
        self.set_flag(index, FLAG_NAME_CUT, cut);
        Ok(())
    }

    /// Store `name` as contact `index`'s friendly name (`cut`: it was shortened on the way).
    /// [`ListError::TextDropped`]: the pool had no room; the name is left empty.
    pub fn set_friendly(&mut self, index: usize, name: &str, cut: bool) -> Result<(), ListError> {
        let kept = name
            .get(..floor_char_boundary(name, MAX_FRIENDLY_LEN))
            .unwrap_or("");
        self.set_friendly_bytes(index, kept.as_bytes(), cut || kept.len() < name.len())
    }

    /// Store `name` (valid UTF-8 of at most [`MAX_FRIENDLY_LEN`] bytes) as a friendly name.
    fn set_friendly_bytes(
        &mut self,
        index: usize,
        name: &[u8],
        cut: bool,
    ) -> Result<(), ListError> {
        let Some(c) = self.contact(index) else {
            return Ok(());
        };
        let same_as_passport = name == c.passport();
        if c.friendly_bytes() == name
            && same_as_passport == (c.rec.flags & FLAG_NAME_IS_PASSPORT != 0)
        {
            self.set_flag(index, FLAG_NAME_CUT, cut);
            return Ok(());
        }
        let stored: &[u8] = if same_as_passport { b"" } else { name };
        let r = self.set_field(index as u16, F_NAME, stored);
        if r.is_err() {
            let _ = self.set_field(index as u16, F_NAME, b"");
        }
        self.set_flag(index, FLAG_NAME_IS_PASSPORT, same_as_passport && r.is_ok());
        self.set_flag(index, FLAG_NAME_CUT, cut || r.is_err());
        r
    }

    /// Store a %-encoded phone number of contact `index` (empty clears it).
    /// [`ListError::TextDropped`]: the pool had no room; the number is left empty.
    pub fn set_phone_encoded(
        &mut self,
        index: usize,
        which: Phone,
        wire: &[u8],
    ) -> Result<(), ListError> {
        let mut s = InlineStr::<MAX_PHONE_LEN>::new();
        s.set_encoded(wire);
        let k = F_PHONE + which as usize;
        let r = self.set_field(index as u16, k, s.as_str().as_bytes());
        if r.is_err() {
            let _ = self.set_field(index as u16, k, b"");
        }
        r
    }

    fn set_flag(&mut self, index: usize, bit: u8, on: bool) {
        if let Some(c) = self.rec_mut(index) {
            if on {
                c.flags |= bit;
            } else {
                c.flags &= !bit;
            }
        }
    }

    /// Take `passport` off `list` (or out of one group when `group` is given for FL); a contact
    /// left on no list is dropped.
    pub fn remove_from(&mut self, passport: &[u8], list: ListKind, group: Option<u32>) {
        let Some(i) = self.position(passport) else {
            return;
        };
        let Some(c) = self.rec_mut(i) else {
            return;
        };
        match group {
            Some(g) if list == ListKind::Forward => {
                if g <= MAX_GROUP_ID {
                    c.groups &= !(1u32 << g);
                }
            }
            _ => {
                c.lists &= !list.bit();
                if list == ListKind::Forward {
                    c.groups = 0;
                }
            }
        }
        if c.lists == 0 {
            self.remove_index(i);
        }
    }

    /// Drop contact `index`: its pool bytes are freed and later contacts move up one place.
    pub fn remove_index(&mut self, index: usize) {
        let Some(c) = self.contact(index).map(|c| *c.rec) else {
            return;
        };
        self.free(c.off);
        if let Some(tail) = self.contacts.get_mut(index..self.len) {
            tail.rotate_left(1);
        }
        self.len -= 1;
        for j in index..self.len {
            if let Some(off) = self.contacts.get(j).map(|c| usize::from(c.off)) {
                wr16(self.pool, off.wrapping_sub(HEADER), j as u16);
            }
        }
        self.rebuild_index();
    }

    fn rebuild_index(&mut self) {
        self.heads = [NIL; BUCKETS];
        for j in 0..self.len {
            let Some(c) = self.contacts.get(j) else {
                break;
            };
            let (b, tag) = hash(field(self.pool, c.off, &c.lens, F_PASSPORT));
            if let (Some(h), Some(c)) = (self.heads.get_mut(b), self.contacts.get_mut(j)) {
                c.next = *h;
                c.tag = tag;
                *h = j as u16;
            }
        }
    }

    /// Set the groups of contact `index` from a comma-separated id list (`0,3`).
    pub fn set_groups(&mut self, index: usize, ids: &[u8]) {
        let mut bits = 0u32;
        for id in ids.split(|&b| b == b',') {
            if let Some(n) = crate::msnp::wire::line::parse_u32(id) {
                if n <= MAX_GROUP_ID {
                    bits |= 1 << n;
                }
            }
        }
        if let Some(c) = self.rec_mut(index) {
            c.groups = bits;
        }
    }

    /// Add or rename group `id` (encoded name). [`ListError::TextDropped`]: the group is
    /// stored, but its name did not fit the pool and is left empty.
    pub fn set_group(&mut self, id: u32, name: &[u8]) -> Result<(), ListError> {
        let mut s = InlineStr::<MAX_GROUP_NAME_LEN>::new();
        s.set_encoded(name);
        self.set_group_decoded(id, s.as_str())
    }

    fn set_group_decoded(&mut self, id: u32, name: &str) -> Result<(), ListError> {
        let id8 = u8::try_from(id)
            .ok()
            .filter(|&i| u32::from(i) <= MAX_GROUP_ID)
            .ok_or(ListError::BadGroup)?;
        let gi = match self.group_index(u32::from(id8)) {
            Some(gi) => gi,
            None => {
                let gi = self.group_len;
                if gi >= self.groups.len() {
                    return Err(ListError::Full);
                }
                let owner = GROUP_OWNER | gi as u16;
                let off = self.alloc(owner, 0).ok_or(ListError::Full)?;
                let slot = self.groups.get_mut(gi).ok_or(ListError::Full)?;
                *slot = Group {
                    off,
                    id: id8,
                    len: [0],
                };
                self.group_len += 1;
                gi
            }
        };
        let name = name
            .get(..floor_char_boundary(name, MAX_GROUP_NAME_LEN))
            .unwrap_or("");
        let owner = GROUP_OWNER | gi as u16;
        let r = self.set_field(owner, 0, name.as_bytes());
        if r.is_err() {
            let _ = self.set_field(owner, 0, b"");
        }
        r
    }

    /// Remove group `id` and take every contact out of it.
    pub fn remove_group(&mut self, id: u32) {
        if let Some(pos) = self.group_index(id) {
            if let Some(off) = self.groups.get(pos).map(|g| g.off) {
                self.free(off);
            }
            if let Some(tail) = self.groups.get_mut(pos..self.group_len) {
                tail.rotate_left(1);
            }
            self.group_len -= 1;
            for j in pos..self.group_len {
                if let Some(off) = self.groups.get(j).map(|g| usize::from(g.off)) {
                    wr16(self.pool, off.wrapping_sub(HEADER), GROUP_OWNER | j as u16);
                }
            }
        }
        if id <= MAX_GROUP_ID {
            for c in self.contacts.iter_mut().take(self.len) {
                c.groups &= !(1u32 << id);
            }
        }
    }

    /// Mark every contact offline (at sign-out or connection loss).
    pub fn all_offline(&mut self) {
        for c in self.contacts.iter_mut().take(self.len) {
            c.status = Status::Offline;
        }
    }

    // ----- the name pool -----
    //
    // The pool is a sequence of blocks `[owner u16][capacity u16][data]`; a contact's data is
    // its strings back to back (passport, name, three phones), a group's its name. A record
    // holds the offset of its block's data and the string lengths. A string that grows past
    // its block's capacity moves the block to the end (the old one is marked free); when the
    // end is reached the pool is compacted, which also trims every block to its content.

    /// Return the offset, string lengths and field count of `owner`'s record.
    fn rec(&self, owner: u16) -> Option<(u16, [u8; 5], usize)> {
        if owner & GROUP_OWNER != 0 {
            let g = self
                .groups
                .get(..self.group_len)?
                .get(usize::from(owner & !GROUP_OWNER))?;
            Some((g.off, [g.len[0], 0, 0, 0, 0], 1))
        } else {
            let c = self.contacts.get(..self.len)?.get(usize::from(owner))?;
            Some((c.off, c.lens, 5))
        }
    }

    fn set_rec(&mut self, owner: u16, off: u16, lens: [u8; 5]) {
        if owner & GROUP_OWNER != 0 {
            let i = usize::from(owner & !GROUP_OWNER);
            if let Some(g) = self
                .groups
                .get_mut(..self.group_len)
                .and_then(|g| g.get_mut(i))
            {
                g.off = off;
                g.len = [lens[0]];
            }
        } else if let Some(c) = self.rec_mut(usize::from(owner)) {
            c.off = off;
            c.lens = lens;
        }
    }

    /// Make a block of `size` bytes at the end for `owner` (compacting first if needed).
    fn alloc(&mut self, owner: u16, size: usize) -> Option<u16> {
        if self.used + HEADER + size > self.pool.len() {
            self.compact(None);
        }
        if self.used + HEADER + size > self.pool.len() {
            return None;
        }
        let at = self.used;
        let off = u16::try_from(at + HEADER).ok()?;
        wr16(self.pool, at, owner);
        wr16(self.pool, at + 2, size as u16);
        self.used = at + HEADER + size;
        Some(off)
    }

    /// Free the block whose data starts at `off`.
    fn free(&mut self, off: u16) {
        let at = usize::from(off).wrapping_sub(HEADER);
        let cap = usize::from(rd16(self.pool, at + 2));
        if at + HEADER + cap == self.used {
            self.used = at;
        } else {
            wr16(self.pool, at, DEAD);
        }
    }

    /// Replace string `k` of `owner`'s block with `value`; on error nothing changed.
    fn set_field(&mut self, owner: u16, k: usize, value: &[u8]) -> Result<(), ListError> {
        let start = self.resize_field(owner, k, value.len())?;
        if let Some(d) = self.pool.get_mut(start..start + value.len()) {
            d.copy_from_slice(value);
        }
        Ok(())
    }

    /// Make string `k` of `owner`'s block `n` bytes long, keeping the other strings (the
    /// string's own bytes are left unspecified); return where it starts. On error nothing
    /// changed.
    fn resize_field(&mut self, owner: u16, k: usize, n: usize) -> Result<usize, ListError> {
        let (mut off, mut lens, nf) = self.rec(owner).ok_or(ListError::Invalid)?;
        let new_len = u8::try_from(n).map_err(|_| ListError::Invalid)?;
        let lens_n = lens.get(..nf).unwrap_or(&[]);
        let old_total: usize = lens_n.iter().map(|&l| usize::from(l)).sum();
        let pre: usize = lens_n.iter().take(k).map(|&l| usize::from(l)).sum();
        let old_k = usize::from(*lens.get(k).ok_or(ListError::Invalid)?);
        let new_total = old_total - old_k + n;
        let cap = usize::from(rd16(self.pool, usize::from(off).wrapping_sub(HEADER) + 2));
        let at_end = usize::from(off) + cap == self.used;
        if new_total > cap {
            if !(at_end && usize::from(off) + new_total <= self.pool.len()) {
                if self.used + HEADER + new_total > self.pool.len() {
                    // Compact with this block last, then grow it there if the room allows.
                    self.compact(Some(owner));
                    off = self.rec(owner).ok_or(ListError::Invalid)?.0;
                    if usize::from(off) + new_total > self.pool.len() {
                        return Err(ListError::TextDropped);
                    }
                } else {
                    let at = self.used;
                    move_bytes(self.pool, usize::from(off), old_total, at + HEADER);
                    wr16(self.pool, at, owner);
                    self.free(off);
                    off = u16::try_from(at + HEADER).map_err(|_| ListError::Invalid)?;
                }
            }
            wr16(self.pool, usize::from(off) - 2, new_total as u16);
            self.used = usize::from(off) + new_total;
        }
        let base = usize::from(off) + pre;
        move_bytes(self.pool, base + old_k, old_total - pre - old_k, base + n);
        if new_total < cap && at_end {
            // The last block gives its slack back at once.
            wr16(self.pool, usize::from(off) - 2, new_total as u16);
            self.used = usize::from(off) + new_total;
        }
        if let Some(l) = lens.get_mut(k) {
            *l = new_len;
        }
        self.set_rec(owner, off, lens);
        Ok(base)
    }

    /// Squeeze out freed blocks and slack (and move `last`'s block to the end), then point
    /// every record at its block again.
    fn compact(&mut self, last: Option<u16>) {
        let (mut src, mut dst) = (0usize, 0usize);
        let mut moved: Option<(usize, usize)> = None;
        while src + HEADER <= self.used {
            let owner = rd16(self.pool, src);
            let cap = usize::from(rd16(self.pool, src + 2));
            let next = src + HEADER + cap;
            if let Some((_, lens, nf)) = self.rec(owner).filter(|_| owner != DEAD) {
                let content = lens
                    .iter()
                    .take(nf)
                    .map(|&l| usize::from(l))
                    .sum::<usize>()
                    .min(cap);
                move_bytes(self.pool, src, HEADER + content, dst);
                wr16(self.pool, dst + 2, content as u16);
                if last == Some(owner) {
                    moved = Some((dst, HEADER + content));
                }
                dst += HEADER + content;
            }
            src = next;
        }
        self.used = dst;
        if let Some((at, size)) = moved {
            if let Some(region) = self.pool.get_mut(at..dst) {
                region.rotate_left(size);
            }
        }
        let mut at = 0usize;
        while at + HEADER <= self.used {
            let owner = rd16(self.pool, at);
            let cap = usize::from(rd16(self.pool, at + 2));
            if let Some((_, lens, _)) = self.rec(owner) {
                self.set_rec(owner, (at + HEADER) as u16, lens);
            }
            at += HEADER + cap;
        }
    }

    // ----- the NVRAM image -----

    /// Return the exact size of the image [`serialize`](Self::serialize) writes.
    pub fn serialized_len(&self) -> usize {
        let groups: usize = self.groups().map(|g| 2 + g.name().len()).sum();
        let contacts: usize = self
            .contacts()
            .map(|c| {
                1 + c.passport().len()
                    + 1
                    + c.friendly().len()
                    + 1
                    + 4
                    + (0..3)
                        .map(|k| 1 + c.field(F_PHONE + k).len())
                        .sum::<usize>()
                    + 1
            })
            .sum();
        HEADER_LEN + groups + contacts + 4
    }

    /// Write the lists, list version and privacy settings into `out`; return the bytes written.
    ///
    /// Format (all integers big-endian): `MSNL`, format 1, list version u32, GTC, BLP, group
    /// count u16, contact count u16; per group id u8, name (u8 length + UTF-8); per contact
    /// passport, friendly name, list bits u8, group bits u32, three phones, flags u8; then the
    /// FNV-1a 32 checksum of everything before it. Presence is not kept.
    pub fn serialize(&self, out: &mut [u8]) -> Result<usize, ListError> {
        let need = self.serialized_len();
        let out = out.get_mut(..need).ok_or(ListError::BufferTooSmall)?;
        let mut w = Cursor { buf: out, pos: 0 };
        w.put(MAGIC)?;
        w.put(&[FORMAT])?;
        w.put(&self.version.to_be_bytes())?;
        w.put(&[match self.gtc {
            None => 0,
            Some(Gtc::Ask) => 1,
            Some(Gtc::NoAsk) => 2,
        }])?;
        w.put(&[match self.blp {
            None => 0,
            Some(Blp::AllowAll) => 1,
            Some(Blp::BlockAll) => 2,
        }])?;
        w.put(&u16::try_from(self.group_len).unwrap_or(0).to_be_bytes())?;
        w.put(&u16::try_from(self.len).unwrap_or(0).to_be_bytes())?;
        for g in self.groups() {
            w.put(&[g.id()])?;
            w.put_str(g.name())?;
        }
        for c in self.contacts() {
            w.put_bytes(c.passport())?;
            w.put_str(c.friendly())?;
            w.put(&[c.lists()])?;
            w.put(&c.groups().to_be_bytes())?;
            for k in 0..3 {
                w.put_bytes(c.field(F_PHONE + k))?;
            }
            w.put(&[c.rec.flags & (FLAG_MOBILE | FLAG_MOBILE_ENABLED)])?;
        }
        let sum = fnv32(w.buf.get(..w.pos).unwrap_or(&[]));
        w.put(&sum.to_be_bytes())?;
        Ok(w.pos)
    }

    /// Replace the lists with an image written by [`serialize`](Self::serialize).
    ///
    /// The image is validated completely (including that it fits the tables and the name
    /// pool) before anything changes; on error the lists are as before.
    pub fn restore(&mut self, image: &[u8]) -> Result<(), ListError> {
        let need = validate(image, self.contacts.len(), self.groups.len())?;
        if need > self.pool.len() {
            return Err(ListError::Full);
        }
        self.clear();
        let mut r = Reader { buf: image, pos: 0 };
        r.take(MAGIC.len() + 1)?;
        self.version = r.u32()?;
        self.gtc = match r.u8()? {
            1 => Some(Gtc::Ask),
            2 => Some(Gtc::NoAsk),
            _ => None,
        };
        self.blp = match r.u8()? {
            1 => Some(Blp::AllowAll),
            2 => Some(Blp::BlockAll),
            _ => None,
        };
        let ng = r.u16()?;
        let nc = r.u16()?;
        for _ in 0..ng {
            let id = r.u8()?;
            let name = r.str()?;
            self.set_group_decoded(u32::from(id), name)?;
        }
        for _ in 0..nc {
            let i = self.upsert(r.bytes()?)?;
            self.set_friendly(i, r.str()?, false)?;
            let lists = r.u8()?;
            let groups = r.u32()?;
            for k in 0..3 {
                self.set_field(i as u16, F_PHONE + k, r.str()?.as_bytes())?;
            }
            let flags = r.u8()?;
            if let Some(c) = self.rec_mut(i) {
                c.lists = lists;
                c.groups = groups;
                c.flags |= flags & (FLAG_MOBILE | FLAG_MOBILE_ENABLED);
            }
        }
        Ok(())
    }
}

/// Return the longest prefix length of `s` of at most `max` bytes ending on a char boundary.
fn floor_char_boundary(s: &str, max: usize) -> usize {
    let mut n = s.len().min(max);
    while n > 0 && !s.is_char_boundary(n) {
        n -= 1;
    }
    n
}

const MAGIC: &[u8] = b"MSNL";
const FORMAT: u8 = 1;
const HEADER_LEN: usize = 4 + 1 + 4 + 1 + 1 + 2 + 2;

/// Check an image completely without changing anything; return the name-pool bytes it needs.
fn validate(image: &[u8], max_contacts: usize, max_groups: usize) -> Result<usize, ListError> {
    if image.len() < HEADER_LEN + 4 {
        return Err(if image.starts_with(MAGIC) || image.len() < MAGIC.len() {
            ListError::Truncated
        } else {
            ListError::BadMagic
        });
    }
    if !image.starts_with(MAGIC) {
        return Err(ListError::BadMagic);
    }
    if image.get(MAGIC.len()) != Some(&FORMAT) {
        return Err(ListError::UnsupportedFormat);
    }
    let mut r = Reader { buf: image, pos: 0 };
    r.take(MAGIC.len() + 1)?;
    let _version = r.u32()?;
    if r.u8()? > 2 || r.u8()? > 2 {
        return Err(ListError::Invalid);
    }
    let ng = usize::from(r.u16()?);
    let nc = usize::from(r.u16()?);
    if ng > max_groups || nc > max_contacts {
        return Err(ListError::Full);
    }
    let mut seen_groups = 0u32;
    let mut need = (ng + nc) * HEADER;
    for _ in 0..ng {
        let id = u32::from(r.u8()?);
        if id > MAX_GROUP_ID || seen_groups & (1 << id) != 0 {
            return Err(ListError::Invalid);
        }
        seen_groups |= 1 << id;
        let name = r.str()?;
        if name.len() > MAX_GROUP_NAME_LEN {
            return Err(ListError::Invalid);
        }
        need += name.len();
    }
    let contacts_start = r.pos;
    for i in 0..nc {
        let p = r.bytes()?;
        if !valid_passport(p) {
            return Err(ListError::Invalid);
        }
        // Duplicate check against earlier entries (quadratic, bounded by the capacity).
        let mut earlier = Reader {
            buf: image,
            pos: contacts_start,
        };
        for _ in 0..i {
            let q = earlier.bytes()?;
            if q.eq_ignore_ascii_case(p) {
                return Err(ListError::Invalid);
            }
            earlier.skip_contact_rest()?;
        }
        let name = r.str()?;
        if name.len() > MAX_FRIENDLY_LEN {
            return Err(ListError::Invalid);
        }
        need += p.len() + if name.as_bytes() == p { 0 } else { name.len() };
        let lists = r.u8()?;
        let groups = r.u32()?;
        if lists & 0xf0 != 0 || groups >> (MAX_GROUP_ID + 1) != 0 {
            return Err(ListError::Invalid);
        }
        for _ in 0..3 {
            let phone = r.str()?;
            if phone.len() > MAX_PHONE_LEN {
                return Err(ListError::Invalid);
            }
            need += phone.len();
        }
        if r.u8()? > 3 {
            return Err(ListError::Invalid);
        }
    }
    let body_end = r.pos;
    let sum = r.u32()?;
    if r.pos != image.len() {
        return Err(ListError::Invalid);
    }
    if fnv32(image.get(..body_end).unwrap_or(&[])) != sum {
        return Err(ListError::Checksum);
    }
    Ok(need)
}

fn fnv32(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5u32, |h, &b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

struct Cursor<'b> {
    buf: &'b mut [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn put(&mut self, b: &[u8]) -> Result<(), ListError> {
        let end = self
            .pos
            .checked_add(b.len())
            .ok_or(ListError::BufferTooSmall)?;
        self.buf
            .get_mut(self.pos..end)
            .ok_or(ListError::BufferTooSmall)?
            .copy_from_slice(b);
        self.pos = end;
        Ok(())
    }

    fn put_bytes(&mut self, b: &[u8]) -> Result<(), ListError> {
        self.put(&[u8::try_from(b.len()).map_err(|_| ListError::Invalid)?])?;
        self.put(b)
    }

    fn put_str(&mut self, s: &str) -> Result<(), ListError> {
        self.put_bytes(s.as_bytes())
    }
}

struct Reader<'b> {
    buf: &'b [u8],
    pos: usize,
}

impl<'b> Reader<'b> {
    fn take(&mut self, n: usize) -> Result<&'b [u8], ListError> {
        let end = self.pos.checked_add(n).ok_or(ListError::Truncated)?;
        let s = self.buf.get(self.pos..end).ok_or(ListError::Truncated)?;
        self.pos = end;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, ListError> {
        self.take(1)?.first().copied().ok_or(ListError::Truncated)
    }

    fn u16(&mut self) -> Result<u16, ListError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([
            *b.first().ok_or(ListError::Truncated)?,
            *b.get(1).ok_or(ListError::Truncated)?,
        ]))
    }

    fn u32(&mut self) -> Result<u32, ListError> {
        let b: [u8; 4] = self.take(4)?.try_into().map_err(|_| ListError::Truncated)?;
        Ok(u32::from_be_bytes(b))
    }

    fn bytes(&mut self) -> Result<&'b [u8], ListError> {
        let n = usize::from(self.u8()?);
        self.take(n)
    }

    fn str(&mut self) -> Result<&'b str, ListError> {
        core::str::from_utf8(self.bytes()?).map_err(|_| ListError::Invalid)
    }

    fn skip_contact_rest(&mut self) -> Result<(), ListError> {
        self.bytes()?;
        self.take(5)?;
        for _ in 0..3 {
            self.bytes()?;
        }
        self.take(1)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample<'s>(c: &'s mut [Contact], g: &'s mut [Group], n: &'s mut [u8]) -> ContactList<'s> {
        let mut l = ContactList::new(c, g, n);
        l.version = 42;
        l.gtc = Some(Gtc::Ask);
        l.blp = Some(Blp::AllowAll);
        l.set_group(0, b"Other%20Contacts").unwrap();
        l.set_group(1, b"Friends").unwrap();
        l.add_to(
            b"bob@example.com",
            ListKind::Forward,
            Some(b"Bob%20Builder"),
        )
        .unwrap();
        let bob = l.add_to(b"bob@example.com", ListKind::Allow, None).unwrap();
        l.set_groups(bob, b"0,1");
        l.add_to(
            b"caf\xc3\xa9@example.com",
            ListKind::Reverse,
            Some(b"Caf\xc3\xa9"),
        )
        .unwrap();
        l.set_phone_encoded(bob, Phone::Home, b"555%201234")
            .unwrap();
        l.set_mobile_flag(bob, true, true);
        l
    }

    #[test]
    fn test_serialize_restore_round_trip() {
        let (mut c, mut g, mut n) = ([Contact::EMPTY; 4], [Group::EMPTY; 3], [0u8; 256]);
        let l = sample(&mut c, &mut g, &mut n);
        let mut img = [0u8; 512];
        let n = l.serialize(&mut img).unwrap();
        assert_eq!(n, l.serialized_len());
        let (mut c2, mut g2, mut n2) = ([Contact::EMPTY; 4], [Group::EMPTY; 3], [0u8; 256]);
        let mut r = ContactList::new(&mut c2, &mut g2, &mut n2);
        r.restore(&img[..n]).unwrap();
        assert_eq!(r.version, 42);
        assert!(r.contacts().eq(l.contacts()));
        assert!(r.groups().eq(l.groups()));
        let bob = r.get(b"BOB@example.com").unwrap();
        assert_eq!(bob.friendly(), "Bob Builder");
        assert!(bob.in_group(1) && bob.is_on(ListKind::Allow));
        assert_eq!(bob.phone(Phone::Home), "555 1234");
        assert!(bob.mobile_enabled() && !bob.mobile());
        assert_eq!(r.group(0).unwrap().name(), "Other Contacts");
    }

    #[test]
    fn test_restore_rejects_every_corruption() {
        let (mut c, mut g, mut n) = ([Contact::EMPTY; 4], [Group::EMPTY; 3], [0u8; 256]);
        let l = sample(&mut c, &mut g, &mut n);
        let mut img = [0u8; 512];
        let n = l.serialize(&mut img).unwrap();
        let (mut c2, mut g2, mut n2) = ([Contact::EMPTY; 4], [Group::EMPTY; 3], [0u8; 256]);
        let mut r = ContactList::new(&mut c2, &mut g2, &mut n2);
        for cut in 0..n {
            assert!(r.restore(&img[..cut]).is_err(), "cut at {cut}");
        }
        for i in 0..n {
            let mut bad = img;
            bad[i] ^= 0x41;
            assert!(r.restore(&bad[..n]).is_err(), "flip at {i}");
        }
        assert_eq!(
            r.restore(b"XXXXXXXXXXXXXXXXXXXXXXXX"),
            Err(ListError::BadMagic)
        );
        assert_eq!(r.len(), 0);
        let (mut c3, mut g3, mut n3) = ([Contact::EMPTY; 1], [Group::EMPTY; 3], [0u8; 256]);
        let mut small = ContactList::new(&mut c3, &mut g3, &mut n3);
        assert_eq!(small.restore(&img[..n]), Err(ListError::Full));
        // A pool one byte short of the image's strings is refused before anything changes.
        let need = 4 * HEADER
            + "Other Contacts".len()
            + "Friends".len()
            + "bob@example.com".len()
            + "Bob Builder".len()
            + "555 1234".len()
            + "caf\u{e9}@example.com".len()
            + "Caf\u{e9}".len();
        let (mut c4, mut g4) = ([Contact::EMPTY; 4], [Group::EMPTY; 3]);
        let mut n4 = vec![0u8; need - 1];
        let mut tight = ContactList::new(&mut c4, &mut g4, &mut n4);
        tight.add_to(b"x@y.z", ListKind::Forward, None).unwrap();
        assert_eq!(tight.restore(&img[..n]), Err(ListError::Full));
        assert!(tight.get(b"x@y.z").is_some());
        let (mut c5, mut g5) = ([Contact::EMPTY; 4], [Group::EMPTY; 3]);
        let mut n5 = vec![0u8; need];
        let mut exact = ContactList::new(&mut c5, &mut g5, &mut n5);
        exact.restore(&img[..n]).unwrap();
        assert!(exact.contacts().eq(l.contacts()));
        assert_eq!(l.serialize(&mut [0u8; 10]), Err(ListError::BufferTooSmall));
    }

    #[test]
    fn test_full_table_keeps_entries() {
        let (mut c, mut g, mut n) = ([Contact::EMPTY; 1], [Group::EMPTY; 1], [0u8; 64]);
        let mut l = ContactList::new(&mut c, &mut g, &mut n);
        l.add_to(b"a@b.c", ListKind::Forward, Some(b"A")).unwrap();
        assert_eq!(
            l.add_to(b"x@y.z", ListKind::Forward, None),
            Err(ListError::Full)
        );
        assert_eq!(l.contact(0).unwrap().passport(), b"a@b.c");
        assert_eq!(l.set_group(30, b"x"), Err(ListError::BadGroup));
        l.set_group(3, b"x").unwrap();
        assert_eq!(l.set_group(4, b"y"), Err(ListError::Full));
        l.remove_from(b"a@b.c", ListKind::Forward, None);
        assert!(l.is_empty());
    }

    #[test]
    fn test_names_are_decoded_and_bounded() {
        let mut s = InlineStr::<4>::new();
        s.set_encoded(b"ab%20c");
        assert_eq!(s.as_str(), "ab c");
        s.set_encoded(b"abc\xc3\xa9");
        assert_eq!(s.as_str(), "abc");
        assert!(s.is_truncated());
        s.set_encoded(b"a\xffb");
        assert_eq!(s.as_str(), "a?b");
        let (mut c, mut g, mut n) = ([Contact::EMPTY; 2], [Group::EMPTY; 1], [0u8; 512]);
        let mut l = ContactList::new(&mut c, &mut g, &mut n);
        let i = l.upsert(b"a@b.c").unwrap();
        l.set_friendly_encoded(i, &[b'x'; 200]).unwrap();
        let a = l.contact(i).unwrap();
        assert_eq!(a.friendly().len(), MAX_FRIENDLY_LEN);
        assert!(a.friendly_truncated());
        l.set_friendly_encoded(i, b"short").unwrap();
        assert!(!l.contact(i).unwrap().friendly_truncated());
    }

    #[test]
    fn test_fast_decoders_agree_with_the_wire_decoder() {
        let inputs: [&[u8]; 9] = [
            b"",
            b"plain",
            b"a%20b",
            b"%",
            b"%2",
            b"%zz%41",
            b"100%%2541",
            b"%E2%82%AC end",
            b"\xc3\xa9%C3%A9",
        ];
        for w in inputs {
            let d: Vec<u8> = escape::decoded(w).collect();
            assert!(decodes_to(w, &d), "{w:?}");
            assert!(!decodes_to(w, &[d.as_slice(), b"x"].concat()), "{w:?}");
            if let Some((_, shorter)) = d.split_last() {
                assert!(!decodes_to(w, shorter), "{w:?}");
            }
            assert_eq!(decoded_len(w, 129), d.len(), "{w:?}");
            assert_eq!(decoded_len(w, 2), d.len().min(2), "{w:?}");
        }
    }

    #[test]
    fn test_name_equal_to_passport_costs_no_bytes() {
        let (mut c, mut g, mut n) = ([Contact::EMPTY; 2], [Group::EMPTY; 1], [0u8; 13]);
        let mut l = ContactList::new(&mut c, &mut g, &mut n);
        // 4 header bytes + 9 passport bytes: exactly full.
        let i = l
            .add_to(b"ann@b.cd", ListKind::Forward, Some(b"ann@b.cd"))
            .unwrap();
        assert_eq!(l.contact(i).unwrap().friendly(), "ann@b.cd");
        assert_eq!(
            l.set_friendly_encoded(i, b"Ann"),
            Err(ListError::TextDropped)
        );
        let a = l.contact(i).unwrap();
        assert_eq!((a.friendly(), a.friendly_truncated()), ("", true));
        l.set_friendly_encoded(i, b"ann@b.cd").unwrap();
        assert_eq!(l.contact(i).unwrap().friendly(), "ann@b.cd");
    }

    #[test]
    fn test_pool_exhaustion_is_typed_and_deletes_reclaim() {
        // Room for four 16-byte blocks.
        let (mut c, mut g, mut n) = ([Contact::EMPTY; 8], [Group::EMPTY; 2], [0u8; 64]);
        let mut l = ContactList::new(&mut c, &mut g, &mut n);
        for k in 0..4u8 {
            let p = [
                b'u',
                b'0' + k,
                b'@',
                b'e',
                b'x',
                b'a',
                b'm',
                b'p',
                b'l',
                b'e',
                b'.',
                b'c',
            ];
            l.add_to(&p, ListKind::Forward, None).unwrap();
        }
        assert_eq!(
            l.add_to(b"u4@example.c", ListKind::Forward, None),
            Err(ListError::Full)
        );
        let i = l.position(b"u1@example.c").unwrap();
        assert_eq!(
            l.set_friendly_encoded(i, b"One"),
            Err(ListError::TextDropped)
        );
        assert_eq!(l.set_group(0, b"G"), Err(ListError::Full));
        // Deleting two contacts frees their bytes for a new contact with a name, and a group.
        l.remove_from(b"u0@example.c", ListKind::Forward, None);
        l.remove_from(b"u2@example.c", ListKind::Forward, None);
        let j = l
            .add_to(b"u5@example.c", ListKind::Forward, Some(b"Five"))
            .unwrap();
        l.set_group(0, b"G").unwrap();
        assert_eq!(l.contact(j).unwrap().friendly(), "Five");
        assert_eq!(l.group(0).unwrap().name(), "G");
        let names: Vec<_> = l.contacts().map(|c| c.passport().to_vec()).collect();
        assert_eq!(
            names,
            [&b"u1@example.c"[..], b"u3@example.c", b"u5@example.c"]
        );
        for p in [&b"u1@example.c"[..], b"u3@example.c", b"u5@example.c"] {
            assert_eq!(l.get(p).unwrap().passport(), p);
        }
    }

    #[test]
    fn test_renames_keep_every_string_through_moves_and_compaction() {
        let (mut c, mut g, mut n) = ([Contact::EMPTY; 8], [Group::EMPTY; 4], [0u8; 200]);
        let mut l = ContactList::new(&mut c, &mut g, &mut n);
        let passports: Vec<Vec<u8>> = (0..6).map(|k| format!("p{k}@x.yz").into_bytes()).collect();
        for p in &passports {
            l.add_to(p, ListKind::Forward, Some(b"n")).unwrap();
        }
        l.set_group(2, b"two").unwrap();
        let mut want: Vec<String> = vec!["n".into(); 6];
        // Grow and shrink names in turn: blocks move to the end, the pool compacts.
        for round in 0..40usize {
            let k = (round * 7) % 6;
            let name = "m".repeat(1 + (round * 5) % 17);
            let i = l.position(&passports[k]).unwrap();
            match l.set_friendly_encoded(i, name.as_bytes()) {
                Ok(()) => want[k] = name,
                Err(ListError::TextDropped) => want[k] = String::new(),
                Err(e) => panic!("{e:?}"),
            }
            if round % 3 == 0 {
                let _ = l.set_phone_encoded(i, Phone::Work, b"12");
            }
            for (p, w) in passports.iter().zip(&want) {
                let c = l.get(p).unwrap();
                assert_eq!(c.passport(), &p[..]);
                assert_eq!(c.friendly(), w, "round {round}");
            }
            assert_eq!(l.group(2).unwrap().name(), "two");
        }
    }
}
