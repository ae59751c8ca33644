//! The contact model: contacts and groups in caller-provided slices, plus a compact,
//! checksummed binary image for NVRAM so a box can skip the full list download (`SYN` with the
//! cached version).
//!
//! Names are stored decoded (UTF-8, bounded; a longer name is cut at a character boundary and
//! marked truncated). Nothing here allocates; a full table reports [`ListError::Full`] and leaves
//! the stored entries untouched.

use crate::limits::{MAX_GROUP_ID, MAX_PASSPORT_LEN};
use crate::msnp::wire::{escape, ListKind, Status};

/// Longest friendly name kept per contact, in decoded UTF-8 bytes.
pub const MAX_FRIENDLY_LEN: usize = 129;
/// Longest group name kept, in decoded UTF-8 bytes.
pub const MAX_GROUP_NAME_LEN: usize = 61;
/// Longest phone number (`PHH`/`PHW`/`PHM`) kept, in decoded bytes.
pub const MAX_PHONE_LEN: usize = 32;

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
    /// The contact or group table is full.
    Full,
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
            ListError::Full | ListError::BufferTooSmall => crate::ErrorKind::Capacity,
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
        let mut n = 0usize;
        let mut truncated = false;
        for b in escape::decoded(wire) {
            match self.buf.get_mut(n) {
                Some(d) => {
                    *d = b;
                    n += 1;
                }
                None => {
                    truncated = true;
                    break;
                }
            }
        }
        let bytes = self.buf.get_mut(..n).unwrap_or(&mut []);
        // Keep the longest valid UTF-8 prefix, then replace any further bad bytes.
        let mut valid = match core::str::from_utf8(bytes) {
            Ok(_) => n,
            Err(e) if e.error_len().is_none() => {
                truncated = true;
                e.valid_up_to()
            }
            Err(_) => {
                for b in bytes.iter_mut() {
                    if !b.is_ascii() {
                        *b = b'?';
                    }
                }
                n
            }
        };
        valid = valid.min(n);
        self.len = u16::try_from(valid).unwrap_or(0);
        self.truncated = truncated;
    }
}

impl<const N: usize> Default for InlineStr<N> {
    fn default() -> Self {
        Self::new()
    }
}

/// One contact: passport, friendly name, list membership, groups, presence and phone data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Contact {
    passport: [u8; MAX_PASSPORT_LEN],
    passport_len: u8,
    /// The friendly name, decoded.
    pub friendly: InlineStr<MAX_FRIENDLY_LEN>,
    /// List membership bits ([`ListKind::bit`]: FL 1, AL 2, BL 4, RL 8).
    pub lists: u8,
    /// Group membership: bit `n` set means group id `n` (MSNP7+).
    pub groups: u32,
    /// The last status seen (`Offline` until presence arrives).
    pub status: Status,
    /// The MSNP8 client capability number last seen.
    pub client_id: u32,
    /// Phone numbers: home, work, mobile.
    pub phones: [InlineStr<MAX_PHONE_LEN>; 3],
    /// `MOB Y`: the contact accepts pages.
    pub mobile: bool,
    /// `MBE Y`: the contact has MSN Mobile enabled.
    pub mobile_enabled: bool,
}

impl Contact {
    /// Return an unused slot value, for initialising caller storage.
    pub const EMPTY: Contact = Contact {
        passport: [0; MAX_PASSPORT_LEN],
        passport_len: 0,
        friendly: InlineStr::new(),
        lists: 0,
        groups: 0,
        status: Status::Offline,
        client_id: 0,
        phones: [InlineStr::new(), InlineStr::new(), InlineStr::new()],
        mobile: false,
        mobile_enabled: false,
    };

    /// Return the passport (account name).
    pub fn passport(&self) -> &[u8] {
        self.passport
            .get(..usize::from(self.passport_len))
            .unwrap_or(&[])
    }

    /// Query whether the contact is on `list`.
    pub const fn is_on(&self, list: ListKind) -> bool {
        self.lists & list.bit() != 0
    }

    /// Query whether the contact is in group `id`.
    pub fn in_group(&self, id: u32) -> bool {
        id <= MAX_GROUP_ID && self.groups & (1u32 << id) != 0
    }

    /// Return a stored phone number.
    pub fn phone(&self, which: Phone) -> &str {
        self.phones
            .get(which as usize)
            .map(InlineStr::as_str)
            .unwrap_or("")
    }
}

/// One contact group (MSNP7+).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Group {
    /// The group id (0..=29).
    pub id: u8,
    /// The group name, decoded.
    pub name: InlineStr<MAX_GROUP_NAME_LEN>,
}

impl Group {
    /// Return an unused slot value, for initialising caller storage.
    pub const EMPTY: Group = Group {
        id: 0,
        name: InlineStr::new(),
    };
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
    (3..=MAX_PASSPORT_LEN).contains(&p.len())
        && p.iter().filter(|&&b| b == b'@').count() == 1
        && p.iter().all(|&b| b > 0x20 && b != 0x7f && b != b'%')
}

/// The contact and group tables over caller-provided storage, plus the list version and privacy.
#[derive(Debug)]
pub struct ContactList<'s> {
    contacts: &'s mut [Contact],
    len: usize,
    groups: &'s mut [Group],
    group_len: usize,
    /// The list version from the last `SYN` or list change (0: nothing cached).
    pub version: u32,
    /// The `GTC` setting, once known.
    pub gtc: Option<Gtc>,
    /// The `BLP` setting, once known.
    pub blp: Option<Blp>,
}

impl<'s> ContactList<'s> {
    /// Make an empty list over the caller's storage (its contents are ignored).
    pub fn new(contacts: &'s mut [Contact], groups: &'s mut [Group]) -> Self {
        ContactList {
            contacts,
            len: 0,
            groups,
            group_len: 0,
            version: 0,
            gtc: None,
            blp: None,
        }
    }

    /// Drop every contact and group and forget the version and privacy settings.
    pub fn clear(&mut self) {
        self.len = 0;
        self.group_len = 0;
        self.version = 0;
        self.gtc = None;
        self.blp = None;
    }

    /// Return the contact capacity.
    pub fn capacity(&self) -> usize {
        self.contacts.len()
    }

    /// Return the stored contacts.
    pub fn contacts(&self) -> &[Contact] {
        self.contacts.get(..self.len).unwrap_or(&[])
    }

    /// Return the stored groups.
    pub fn groups(&self) -> &[Group] {
        self.groups.get(..self.group_len).unwrap_or(&[])
    }

    /// Return the index of a contact by passport (case-insensitive).
    pub fn position(&self, passport: &[u8]) -> Option<usize> {
        self.contacts()
            .iter()
            .position(|c| c.passport().eq_ignore_ascii_case(passport))
    }

    /// Return a contact by passport.
    pub fn get(&self, passport: &[u8]) -> Option<&Contact> {
        self.position(passport).and_then(|i| self.contacts.get(i))
    }

    /// Return a contact by passport, mutably.
    pub fn get_mut(&mut self, passport: &[u8]) -> Option<&mut Contact> {
        let i = self.position(passport)?;
        self.contacts.get_mut(i)
    }

    /// Return the contact at `index` mutably.
    pub fn at_mut(&mut self, index: usize) -> Option<&mut Contact> {
        if index < self.len {
            self.contacts.get_mut(index)
        } else {
            None
        }
    }

    /// Return the contact for `passport`, creating it (on no list yet) if needed.
    pub fn upsert(&mut self, passport: &[u8]) -> Result<&mut Contact, ListError> {
        if !valid_passport(passport) {
            return Err(ListError::BadPassport);
        }
        let i = match self.position(passport) {
            Some(i) => i,
            None => {
                let slot = self.contacts.get_mut(self.len).ok_or(ListError::Full)?;
                *slot = Contact::EMPTY;
                if let Some(dst) = slot.passport.get_mut(..passport.len()) {
                    dst.copy_from_slice(passport);
                }
                slot.passport_len = u8::try_from(passport.len()).unwrap_or(0);
                self.len += 1;
                self.len - 1
            }
        };
        self.contacts.get_mut(i).ok_or(ListError::Full)
    }

    /// Put `passport` on `list` (creating the contact), storing the encoded `friendly` name.
    pub fn add_to(
        &mut self,
        passport: &[u8],
        list: ListKind,
        friendly: Option<&[u8]>,
    ) -> Result<(), ListError> {
        let c = self.upsert(passport)?;
        c.lists |= list.bit();
        if let Some(f) = friendly {
            c.friendly.set_encoded(f);
        }
        Ok(())
    }

    /// Take `passport` off `list` (or out of one group when `group` is given for FL); a contact
    /// left on no list is dropped.
    pub fn remove_from(&mut self, passport: &[u8], list: ListKind, group: Option<u32>) {
        let Some(i) = self.position(passport) else {
            return;
        };
        if let Some(c) = self.contacts.get_mut(i) {
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
    }

    fn remove_index(&mut self, i: usize) {
        if i < self.len {
            if let Some(tail) = self.contacts.get_mut(i..self.len) {
                tail.rotate_left(1);
            }
            self.len -= 1;
        }
    }

    /// Set the groups of a contact from a comma-separated id list (`0,3`).
    pub fn set_groups(&mut self, passport: &[u8], ids: &[u8]) {
        let mut bits = 0u32;
        for id in ids.split(|&b| b == b',') {
            if let Some(n) = crate::msnp::wire::line::parse_u32(id) {
                if n <= MAX_GROUP_ID {
                    bits |= 1 << n;
                }
            }
        }
        if let Some(c) = self.get_mut(passport) {
            c.groups = bits;
        }
    }

    /// Add or rename group `id` (encoded name).
    pub fn set_group(&mut self, id: u32, name: &[u8]) -> Result<(), ListError> {
        let id8 = u8::try_from(id)
            .ok()
            .filter(|&i| u32::from(i) <= MAX_GROUP_ID)
            .ok_or(ListError::BadGroup)?;
        if let Some(g) = self
            .groups
            .get_mut(..self.group_len)
            .and_then(|gs| gs.iter_mut().find(|g| g.id == id8))
        {
            g.name.set_encoded(name);
            return Ok(());
        }
        let slot = self.groups.get_mut(self.group_len).ok_or(ListError::Full)?;
        slot.id = id8;
        slot.name.set_encoded(name);
        self.group_len += 1;
        Ok(())
    }

    /// Remove group `id` and take every contact out of it.
    pub fn remove_group(&mut self, id: u32) {
        if let Some(pos) = self.groups().iter().position(|g| u32::from(g.id) == id) {
            if let Some(tail) = self.groups.get_mut(pos..self.group_len) {
                tail.rotate_left(1);
            }
            self.group_len -= 1;
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

    /// Return the exact size of the image [`serialize`](Self::serialize) writes.
    pub fn serialized_len(&self) -> usize {
        let groups: usize = self
            .groups()
            .iter()
            .map(|g| 2 + g.name.as_str().len())
            .sum();
        let contacts: usize = self
            .contacts()
            .iter()
            .map(|c| {
                1 + c.passport().len()
                    + 1
                    + c.friendly.as_str().len()
                    + 1
                    + 4
                    + c.phones.iter().map(|p| 1 + p.as_str().len()).sum::<usize>()
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
            w.put(&[g.id])?;
            w.put_str(g.name.as_str())?;
        }
        for c in self.contacts() {
            w.put_bytes(c.passport())?;
            w.put_str(c.friendly.as_str())?;
            w.put(&[c.lists])?;
            w.put(&c.groups.to_be_bytes())?;
            for p in &c.phones {
                w.put_str(p.as_str())?;
            }
            w.put(&[u8::from(c.mobile) | (u8::from(c.mobile_enabled) << 1)])?;
        }
        let sum = fnv32(w.buf.get(..w.pos).unwrap_or(&[]));
        w.put(&sum.to_be_bytes())?;
        Ok(w.pos)
    }

    /// Replace the lists with an image written by [`serialize`](Self::serialize).
    ///
    /// The image is validated completely before anything changes; on error the lists are as
    /// before.
    pub fn restore(&mut self, image: &[u8]) -> Result<(), ListError> {
        validate(image, self.contacts.len(), self.groups.len())?;
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
            let slot = self.groups.get_mut(self.group_len).ok_or(ListError::Full)?;
            slot.id = id;
            slot.name.set(name);
            self.group_len += 1;
        }
        for _ in 0..nc {
            let passport = r.bytes()?;
            let friendly = r.str()?;
            let lists = r.u8()?;
            let groups = r.u32()?;
            let c = self.upsert(passport)?;
            c.friendly.set(friendly);
            c.lists = lists;
            c.groups = groups;
            for p in c.phones.iter_mut() {
                p.set(r.str()?);
            }
            let flags = r.u8()?;
            c.mobile = flags & 1 != 0;
            c.mobile_enabled = flags & 2 != 0;
        }
        Ok(())
    }
}

const MAGIC: &[u8] = b"MSNL";
const FORMAT: u8 = 1;
const HEADER_LEN: usize = 4 + 1 + 4 + 1 + 1 + 2 + 2;

/// Check an image completely without changing anything.
fn validate(image: &[u8], max_contacts: usize, max_groups: usize) -> Result<(), ListError> {
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
    for _ in 0..ng {
        let id = u32::from(r.u8()?);
        if id > MAX_GROUP_ID || seen_groups & (1 << id) != 0 {
            return Err(ListError::Invalid);
        }
        seen_groups |= 1 << id;
        if r.str()?.len() > MAX_GROUP_NAME_LEN {
            return Err(ListError::Invalid);
        }
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
        if r.str()?.len() > MAX_FRIENDLY_LEN {
            return Err(ListError::Invalid);
        }
        let lists = r.u8()?;
        let groups = r.u32()?;
        if lists & 0xf0 != 0 || groups >> (MAX_GROUP_ID + 1) != 0 {
            return Err(ListError::Invalid);
        }
        for _ in 0..3 {
            if r.str()?.len() > MAX_PHONE_LEN {
                return Err(ListError::Invalid);
            }
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
    Ok(())
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

    fn sample<'s>(c: &'s mut [Contact], g: &'s mut [Group]) -> ContactList<'s> {
        let mut l = ContactList::new(c, g);
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
        l.add_to(b"bob@example.com", ListKind::Allow, None).unwrap();
        l.set_groups(b"bob@example.com", b"0,1");
        l.add_to(
            b"caf\xc3\xa9@example.com",
            ListKind::Reverse,
            Some(b"Caf\xc3\xa9"),
        )
        .unwrap();
        l.get_mut(b"bob@example.com").unwrap().phones[0].set("555 1234");
        l
    }

    #[test]
    fn test_serialize_restore_round_trip() {
        let (mut c, mut g) = ([Contact::EMPTY; 4], [Group::EMPTY; 3]);
        let l = sample(&mut c, &mut g);
        let mut img = [0u8; 512];
        let n = l.serialize(&mut img).unwrap();
        assert_eq!(n, l.serialized_len());
        let (mut c2, mut g2) = ([Contact::EMPTY; 4], [Group::EMPTY; 3]);
        let mut r = ContactList::new(&mut c2, &mut g2);
        r.restore(&img[..n]).unwrap();
        assert_eq!(r.version, 42);
        assert_eq!(r.contacts(), l.contacts());
        assert_eq!(r.groups(), l.groups());
        let bob = r.get(b"BOB@example.com").unwrap();
        assert_eq!(bob.friendly.as_str(), "Bob Builder");
        assert!(bob.in_group(1) && bob.is_on(ListKind::Allow));
        assert_eq!(bob.phone(Phone::Home), "555 1234");
    }

    #[test]
    fn test_restore_rejects_every_corruption() {
        let (mut c, mut g) = ([Contact::EMPTY; 4], [Group::EMPTY; 3]);
        let l = sample(&mut c, &mut g);
        let mut img = [0u8; 512];
        let n = l.serialize(&mut img).unwrap();
        let (mut c2, mut g2) = ([Contact::EMPTY; 4], [Group::EMPTY; 3]);
        let mut r = ContactList::new(&mut c2, &mut g2);
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
        assert_eq!(r.contacts().len(), 0);
        let (mut c3, mut g3) = ([Contact::EMPTY; 1], [Group::EMPTY; 3]);
        let mut small = ContactList::new(&mut c3, &mut g3);
        assert_eq!(small.restore(&img[..n]), Err(ListError::Full));
        assert_eq!(l.serialize(&mut [0u8; 10]), Err(ListError::BufferTooSmall));
    }

    #[test]
    fn test_full_table_keeps_entries() {
        let (mut c, mut g) = ([Contact::EMPTY; 1], [Group::EMPTY; 1]);
        let mut l = ContactList::new(&mut c, &mut g);
        l.add_to(b"a@b.c", ListKind::Forward, Some(b"A")).unwrap();
        assert_eq!(
            l.add_to(b"x@y.z", ListKind::Forward, None),
            Err(ListError::Full)
        );
        assert_eq!(l.contacts()[0].passport(), b"a@b.c");
        assert_eq!(l.set_group(30, b"x"), Err(ListError::BadGroup));
        l.set_group(3, b"x").unwrap();
        assert_eq!(l.set_group(4, b"y"), Err(ListError::Full));
        l.remove_from(b"a@b.c", ListKind::Forward, None);
        assert!(l.contacts().is_empty());
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
    }
}
