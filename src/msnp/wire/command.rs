//! Typed views of MSNP2–MSNP8 commands in both directions, with `parse`, `buffer_len` and `emit`.
//!
//! [`ServerCommand`] is what a server sends (the client core parses it; the dev server emits it);
//! [`ClientCommand`] is what a client sends (the core emits it; the dev server parses it). Fields
//! borrow from the line; names and other free text stay %-encoded exactly as on the wire (see
//! [`super::escape`]).
//!
//! # Dialects
//!
//! The MSNP2–7 and MSNP8 shapes of `SYN`, `LST`, `LSG`, `GTC`, `BLP`, `PRP` and `BPR` are told
//! apart by their form (field count, and which fields are numbers), not by the negotiated version:
//! Escargot sends MSNP8-style `PRP`/`BPR` lines in every dialect, and a connection's dialect is not
//! always known when a line arrives. Optional trailing fields (`USR … OK` verified flag and MSNP8
//! flag, `CVR` code base and handle, client ids on `CHG`/`ILN`/`NLN`, group ids) are `Option`s.
//!
//! # Leniency and byte exactness
//!
//! Every variant keeps the parameters it does not name in `rest`, and emitting writes them back, so
//! `emit(parse(line))` reproduces any canonical line (single spaces, CRLF) byte for byte. A verb
//! that is not a command of this direction, including a lower-case spelling of a known one,
//! parses as `Unknown` with all its arguments. A known verb with a missing or malformed required
//! field is an error ([`WireError`]); the session skips such a line.

use super::frame::Frame;
use super::line::{parse_field_u32 as parse_u32, Args, Line};
use super::server_error::ServerErrorCode;
use super::trid::TrId;
use super::verbs::{server_verb, Sv};
use super::writer::{len_u32, Writer};
use super::WireError;

/// Name one of the four contact lists (reference §5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ListKind {
    /// `FL`: the contacts whose presence you follow.
    Forward,
    /// `AL`: people allowed to see you.
    Allow,
    /// `BL`: people blocked.
    Block,
    /// `RL`: people who have you on their forward list.
    Reverse,
}

impl ListKind {
    /// Parse `FL`, `AL`, `BL` or `RL`.
    #[cfg_attr(not(target_os = "none"), inline(always))]
    pub fn from_token(t: &[u8]) -> Option<Self> {
        let &[k, b'L'] = t else {
            return None;
        };
        match k {
            b'F' => Some(ListKind::Forward),
            b'A' => Some(ListKind::Allow),
            b'B' => Some(ListKind::Block),
            b'R' => Some(ListKind::Reverse),
            _ => None,
        }
    }

    /// Return the wire token.
    pub const fn token(self) -> &'static [u8] {
        match self {
            ListKind::Forward => b"FL",
            ListKind::Allow => b"AL",
            ListKind::Block => b"BL",
            ListKind::Reverse => b"RL",
        }
    }

    /// Return the MSNP8 list bit (FL 1, AL 2, BL 4, RL 8).
    pub const fn bit(self) -> u8 {
        match self {
            ListKind::Forward => 1,
            ListKind::Allow => 2,
            ListKind::Block => 4,
            ListKind::Reverse => 8,
        }
    }
}

/// Name a presence status (reference §6.1); unknown three-letter codes are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Status {
    /// `NLN`: online.
    Online,
    /// `BSY`: busy.
    Busy,
    /// `IDL`: idle.
    Idle,
    /// `BRB`: be right back.
    BeRightBack,
    /// `AWY`: away.
    Away,
    /// `PHN`: on the phone.
    OnPhone,
    /// `LUN`: out to lunch.
    OutToLunch,
    /// `HDN`: hidden (appear offline).
    Hidden,
    /// `FLN`: offline.
    Offline,
    /// Another three-letter code, kept as sent.
    Other([u8; 3]),
}

impl Status {
    /// Parse a status token; any three ASCII letters or digits are accepted.
    #[cfg_attr(not(target_os = "none"), inline(always))]
    pub fn from_token(t: &[u8]) -> Option<Self> {
        let &[a, b, c] = t else {
            return None;
        };
        if !t.iter().all(u8::is_ascii_alphanumeric) {
            return None;
        }
        // One packed-key table instead of nine byte-string comparisons.
        let key = verb_key(t);
        for (&k, &named) in STATUS_KEYS.iter().zip(STATUS_NAMED.iter()) {
            if k == key {
                return Some(named);
            }
        }
        Some(Status::Other([a, b, c]))
    }

    /// Return the wire token.
    pub fn token(&self) -> &[u8] {
        match self {
            Status::Online => b"NLN",
            Status::Busy => b"BSY",
            Status::Idle => b"IDL",
            Status::BeRightBack => b"BRB",
            Status::Away => b"AWY",
            Status::OnPhone => b"PHN",
            Status::OutToLunch => b"LUN",
            Status::Hidden => b"HDN",
            Status::Offline => b"FLN",
            Status::Other(t) => t,
        }
    }

    /// Query whether a WebTV-style online/offline client shows this status as online.
    ///
    /// Everything but `FLN` and `HDN` counts as online, including unknown codes (reference §6.4).
    pub fn is_online_for_webtv(&self) -> bool {
        !matches!(self, Status::Offline | Status::Hidden)
    }
}

/// The named statuses and their packed tokens, in the same order.
const STATUS_NAMED: [Status; 9] = [
    Status::Online,
    Status::Busy,
    Status::Idle,
    Status::BeRightBack,
    Status::Away,
    Status::OnPhone,
    Status::OutToLunch,
    Status::Hidden,
    Status::Offline,
];
const STATUS_KEYS: [u32; 9] = [
    verb_key(b"NLN"),
    verb_key(b"BSY"),
    verb_key(b"IDL"),
    verb_key(b"BRB"),
    verb_key(b"AWY"),
    verb_key(b"PHN"),
    verb_key(b"LUN"),
    verb_key(b"HDN"),
    verb_key(b"FLN"),
];

/// Name the acknowledgement mode of a switchboard `MSG` from the client (reference §10.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum AckMode {
    /// `U`: never acknowledged (typing notifications).
    Unacknowledged,
    /// `N`: `NAK` only on failure.
    NakOnly,
    /// `A`: `ACK` or `NAK`.
    Acknowledged,
    /// `D`: MSNP9+ data message (accepted by Escargot, not to be sent in MSNP2–8).
    Data,
}

impl AckMode {
    /// Parse `U`, `N`, `A` or `D` (case-sensitive).
    pub fn from_token(t: &[u8]) -> Option<Self> {
        match t {
            b"U" => Some(AckMode::Unacknowledged),
            b"N" => Some(AckMode::NakOnly),
            b"A" => Some(AckMode::Acknowledged),
            b"D" => Some(AckMode::Data),
            _ => None,
        }
    }

    /// Return the wire token.
    pub const fn token(self) -> &'static [u8] {
        match self {
            AckMode::Unacknowledged => b"U",
            AckMode::NakOnly => b"N",
            AckMode::Acknowledged => b"A",
            AckMode::Data => b"D",
        }
    }
}

/// Pack a three-byte verb into a number, so dispatch is one integer match instead of a chain
/// of byte-string comparisons (smaller on MIPS and faster everywhere). Other lengths map to 0,
/// which no verb uses.
pub const fn verb_key(verb: &[u8]) -> u32 {
    match verb {
        [a, b, c] => ((*a as u32) << 16) | ((*b as u32) << 8) | (*c as u32),
        _ => 0,
    }
}

/// The packed keys of the verbs the parsers know.
#[allow(missing_docs)]
pub mod verb {
    pub const PAG: u32 = super::verb_key(b"PAG");
    pub const ACK: u32 = super::verb_key(b"ACK");
    pub const ADD: u32 = super::verb_key(b"ADD");
    pub const ADG: u32 = super::verb_key(b"ADG");
    pub const ANS: u32 = super::verb_key(b"ANS");
    pub const BLP: u32 = super::verb_key(b"BLP");
    pub const BPR: u32 = super::verb_key(b"BPR");
    pub const BYE: u32 = super::verb_key(b"BYE");
    pub const CAL: u32 = super::verb_key(b"CAL");
    pub const CHG: u32 = super::verb_key(b"CHG");
    pub const CHL: u32 = super::verb_key(b"CHL");
    pub const CVR: u32 = super::verb_key(b"CVR");
    pub const FLN: u32 = super::verb_key(b"FLN");
    pub const FND: u32 = super::verb_key(b"FND");
    pub const GTC: u32 = super::verb_key(b"GTC");
    pub const ILN: u32 = super::verb_key(b"ILN");
    pub const IMS: u32 = super::verb_key(b"IMS");
    pub const INF: u32 = super::verb_key(b"INF");
    pub const IPG: u32 = super::verb_key(b"IPG");
    pub const IRO: u32 = super::verb_key(b"IRO");
    pub const JOI: u32 = super::verb_key(b"JOI");
    pub const LSG: u32 = super::verb_key(b"LSG");
    pub const LST: u32 = super::verb_key(b"LST");
    pub const MSG: u32 = super::verb_key(b"MSG");
    pub const NAK: u32 = super::verb_key(b"NAK");
    pub const NLN: u32 = super::verb_key(b"NLN");
    pub const NOT: u32 = super::verb_key(b"NOT");
    pub const OUT: u32 = super::verb_key(b"OUT");
    pub const PNG: u32 = super::verb_key(b"PNG");
    pub const PRP: u32 = super::verb_key(b"PRP");
    pub const QNG: u32 = super::verb_key(b"QNG");
    pub const QRY: u32 = super::verb_key(b"QRY");
    pub const REA: u32 = super::verb_key(b"REA");
    pub const REG: u32 = super::verb_key(b"REG");
    pub const REM: u32 = super::verb_key(b"REM");
    pub const RMG: u32 = super::verb_key(b"RMG");
    pub const RNG: u32 = super::verb_key(b"RNG");
    pub const SDC: u32 = super::verb_key(b"SDC");
    pub const SND: u32 = super::verb_key(b"SND");
    pub const SYN: u32 = super::verb_key(b"SYN");
    pub const URL: u32 = super::verb_key(b"URL");
    pub const USR: u32 = super::verb_key(b"USR");
    pub const VER: u32 = super::verb_key(b"VER");
    pub const XFR: u32 = super::verb_key(b"XFR");
}

/// Read fields left to right, remembering the first error instead of returning it.
///
/// Every reader returns a plain value (a placeholder after an error) and the parser checks
/// [`Cur::check`] once, after building the variant: on the box this keeps each field to one
/// out-of-line call with its result in registers and no per-field error branch. The readers are
/// forced inline on the host, where the parser's speed is measured against a memchr line scan
/// (`ci/bench`). The first error wins, as if each read had returned early.
struct Cur<'a> {
    args: Args<'a>,
    err: Option<WireError>,
}

impl<'a> Cur<'a> {
    #[cfg_attr(not(target_os = "none"), inline(always))]
    fn new(args: Args<'a>) -> Self {
        Cur { args, err: None }
    }
    #[cfg_attr(not(target_os = "none"), inline(always))]
    fn fail(&mut self, e: WireError) {
        if self.err.is_none() {
            self.err = Some(e);
        }
    }
    /// A required token (missing: `MissingArg`).
    #[cfg_attr(not(target_os = "none"), inline(always))]
    fn req(&mut self) -> &'a [u8] {
        match self.args.next() {
            Some(t) => t,
            None => {
                self.fail(WireError::MissingArg);
                &[]
            }
        }
    }
    #[cfg_attr(not(target_os = "none"), inline(always))]
    fn opt(&mut self) -> Option<&'a [u8]> {
        self.args.next()
    }
    #[cfg_attr(not(target_os = "none"), inline(always))]
    fn peek(&self) -> Option<&'a [u8]> {
        self.args.get(0)
    }
    /// A required number parsed by `parse` (bad: `bad`).
    #[cfg_attr(not(target_os = "none"), inline(always))]
    fn number(&mut self, bad: WireError) -> u32 {
        let t = self.req();
        match parse_u32(t) {
            Some(n) => n,
            None => {
                self.fail(bad);
                0
            }
        }
    }
    /// A non-zero TrID (missing: `MissingArg`; 0 or not a number: `BadTrId`).
    #[cfg_attr(not(target_os = "none"), inline(always))]
    fn trid(&mut self) -> TrId {
        match TrId::new(self.number(WireError::BadTrId)) {
            Some(t) => t,
            None => {
                self.fail(WireError::BadTrId);
                TrId::ONE
            }
        }
    }
    /// A TrID field where the server may write 0 (`None`).
    #[cfg_attr(not(target_os = "none"), inline(always))]
    fn trid0(&mut self) -> Option<TrId> {
        TrId::new(self.number(WireError::BadTrId))
    }
    #[cfg_attr(not(target_os = "none"), inline(always))]
    fn num(&mut self) -> u32 {
        self.number(WireError::BadArg)
    }
    #[cfg_attr(not(target_os = "none"), inline(always))]
    fn opt_num(&mut self) -> Option<u32> {
        let t = self.opt()?;
        match parse_u32(t) {
            Some(n) => Some(n),
            None => {
                self.fail(WireError::BadArg);
                None
            }
        }
    }
    /// Take the next field only if it is a number.
    #[cfg_attr(not(target_os = "none"), inline(always))]
    fn num_if(&mut self) -> Option<u32> {
        let mut ahead = self.args;
        let n = parse_u32(ahead.next()?)?;
        self.args = ahead;
        Some(n)
    }
    #[cfg_attr(not(target_os = "none"), inline(always))]
    fn list(&mut self) -> ListKind {
        let t = self.req();
        ListKind::from_token(t).unwrap_or_else(|| {
            self.fail(WireError::BadArg);
            ListKind::Forward
        })
    }
    #[cfg_attr(not(target_os = "none"), inline(always))]
    fn status(&mut self) -> Status {
        let t = self.req();
        Status::from_token(t).unwrap_or_else(|| {
            self.fail(WireError::BadArg);
            Status::Offline
        })
    }
    #[cfg_attr(not(target_os = "none"), inline(always))]
    fn flag(&mut self) -> Option<bool> {
        match self.opt()? {
            b"1" => Some(true),
            b"0" => Some(false),
            _ => {
                self.fail(WireError::BadArg);
                None
            }
        }
    }
    /// Return the arguments not read yet.
    #[cfg_attr(not(target_os = "none"), inline(always))]
    fn rest(&self) -> Args<'a> {
        self.args
    }
    /// Return the first error, if a read failed.
    #[cfg_attr(not(target_os = "none"), inline(always))]
    fn check(&self) -> Result<(), WireError> {
        match self.err {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// Check a payload command's length field against its payload and return the payload.
fn payload_of<'a>(len: &[u8], payload: Option<&'a [u8]>) -> Result<&'a [u8], WireError> {
    let p = payload.ok_or(WireError::BadLength)?;
    match parse_u32(len) {
        Some(n) if usize::try_from(n).ok() == Some(p.len()) => Ok(p),
        _ => Err(WireError::BadLength),
    }
}

/// Split the arguments of a payload line into the ones before the length and the length.
fn split_len(args: Args<'_>) -> Result<(Args<'_>, &[u8]), WireError> {
    let bytes = args.as_bytes();
    let (before, len) = super::line::split_last_token(bytes);
    if len.is_empty() {
        return Err(WireError::BadLength);
    }
    Ok((Args::new(before), len))
}

/// A command the server sends (NS or SB), as a typed view over the received frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
#[allow(missing_docs)] // Fields are the wire fields named in each variant's doc line, in order.
pub enum ServerCommand<'a> {
    /// `VER trid dialect…` (or `VER trid 0`: nothing acceptable).
    Ver { trid: TrId, dialects: Args<'a> },
    /// `INF trid packages…` (MSNP2–7).
    Inf { trid: TrId, packages: Args<'a> },
    /// `CVR trid recommended [again minimum download-url info-url]`.
    Cvr {
        trid: TrId,
        recommended: &'a [u8],
        recommended_again: Option<&'a [u8]>,
        minimum: Option<&'a [u8]>,
        download_url: Option<&'a [u8]>,
        info_url: Option<&'a [u8]>,
        rest: Args<'a>,
    },
    /// `USR trid MD5|TWN|CTP S [challenge-or-policy]`.
    UsrAuth {
        trid: TrId,
        package: &'a [u8],
        stage: &'a [u8],
        value: Option<&'a [u8]>,
        rest: Args<'a>,
    },
    /// `USR trid OK handle friendly [verified [flag]]` (NS: 2–5 none, 6–7 verified, 8 both; SB none).
    UsrOk {
        trid: TrId,
        handle: &'a [u8],
        friendly: &'a [u8],
        verified: Option<bool>,
        flag: Option<&'a [u8]>,
        rest: Args<'a>,
    },
    /// `XFR trid NS host:port [0 [current]]`; TrID `None` is the asynchronous `XFR 0 NS`.
    XfrNs {
        trid: Option<TrId>,
        address: &'a [u8],
        rest: Args<'a>,
    },
    /// `XFR trid SB host:port CKI cookie`.
    XfrSb {
        trid: TrId,
        address: &'a [u8],
        auth: &'a [u8],
        cookie: &'a [u8],
        rest: Args<'a>,
    },
    /// `OUT [OTH|SSD]`.
    Out {
        reason: Option<&'a [u8]>,
        rest: Args<'a>,
    },
    /// `SYN trid version [contacts groups]` (the counts are MSNP8).
    Syn {
        trid: TrId,
        version: u32,
        contacts: Option<u32>,
        groups: Option<u32>,
        rest: Args<'a>,
    },
    /// MSNP2–7 `LST trid list version index total [handle nickname [groups]]`.
    Lst {
        trid: Option<TrId>,
        list: ListKind,
        version: u32,
        index: u32,
        total: u32,
        handle: Option<&'a [u8]>,
        nickname: Option<&'a [u8]>,
        groups: Option<&'a [u8]>,
        rest: Args<'a>,
    },
    /// MSNP8 `LST handle nickname list-bits [groups]` (no TrID).
    LstContact {
        handle: &'a [u8],
        nickname: &'a [u8],
        lists: u8,
        groups: Option<&'a [u8]>,
        rest: Args<'a>,
    },
    /// MSNP7 `LSG trid version index total group-id name …`.
    Lsg {
        trid: Option<TrId>,
        version: u32,
        index: u32,
        total: u32,
        group_id: u32,
        name: &'a [u8],
        rest: Args<'a>,
    },
    /// MSNP8 `LSG group-id name …` (no TrID).
    LsgGroup {
        group_id: u32,
        name: &'a [u8],
        rest: Args<'a>,
    },
    /// `GTC [trid version] A|N` (the bare form inside an MSNP8 `SYN`).
    Gtc {
        stamp: Option<(u32, u32)>,
        value: &'a [u8],
        rest: Args<'a>,
    },
    /// `BLP [trid version] AL|BL`.
    Blp {
        stamp: Option<(u32, u32)>,
        value: &'a [u8],
        rest: Args<'a>,
    },
    /// `PRP [[trid] version] property [value]`.
    Prp {
        trid: Option<u32>,
        version: Option<u32>,
        property: &'a [u8],
        value: Option<&'a [u8]>,
        rest: Args<'a>,
    },
    /// `BPR [version] [handle] property [value]`.
    Bpr {
        version: Option<u32>,
        handle: Option<&'a [u8]>,
        property: &'a [u8],
        value: Option<&'a [u8]>,
        rest: Args<'a>,
    },
    /// `ADD trid list version handle nickname [group]`; TrID `None` is the server's own `ADD 0`.
    Add {
        trid: Option<TrId>,
        list: ListKind,
        version: u32,
        handle: &'a [u8],
        nickname: &'a [u8],
        group: Option<u32>,
        rest: Args<'a>,
    },
    /// `REM trid list version handle [group]`; TrID `None` is the server's own `REM 0`.
    Rem {
        trid: Option<TrId>,
        list: ListKind,
        version: u32,
        handle: &'a [u8],
        group: Option<u32>,
        rest: Args<'a>,
    },
    /// `ADG trid version name group-id …`.
    Adg {
        trid: TrId,
        version: u32,
        name: &'a [u8],
        group_id: u32,
        rest: Args<'a>,
    },
    /// `RMG trid version group-id`.
    Rmg {
        trid: TrId,
        version: u32,
        group_id: u32,
        rest: Args<'a>,
    },
    /// `REG trid version group-id name …`.
    Reg {
        trid: TrId,
        version: u32,
        group_id: u32,
        name: &'a [u8],
        rest: Args<'a>,
    },
    /// `REA trid version handle name`.
    Rea {
        trid: TrId,
        version: u32,
        handle: &'a [u8],
        name: &'a [u8],
        rest: Args<'a>,
    },
    /// `CHG trid status [client-id]`; TrID `None` is the server's own `CHG 0`.
    Chg {
        trid: Option<TrId>,
        status: Status,
        client_id: Option<u32>,
        rest: Args<'a>,
    },
    /// `ILN trid status handle name [client-id]`.
    Iln {
        trid: Option<TrId>,
        status: Status,
        handle: &'a [u8],
        name: &'a [u8],
        client_id: Option<u32>,
        rest: Args<'a>,
    },
    /// `NLN status handle name [client-id]`.
    Nln {
        status: Status,
        handle: &'a [u8],
        name: &'a [u8],
        client_id: Option<u32>,
        rest: Args<'a>,
    },
    /// `FLN handle`.
    Fln { handle: &'a [u8], rest: Args<'a> },
    /// `QNG` (MSNP9+ adds a number, kept in `rest`).
    Qng { rest: Args<'a> },
    /// `CHL 0 challenge`.
    Chl {
        trid: Option<TrId>,
        challenge: &'a [u8],
        rest: Args<'a>,
    },
    /// `QRY trid` (no payload from the server).
    Qry { trid: TrId, rest: Args<'a> },
    /// `IMS trid 0 ON|OFF`.
    Ims {
        trid: TrId,
        number: u32,
        mode: &'a [u8],
        rest: Args<'a>,
    },
    /// `URL trid redirect login-url [site-id]`.
    Url {
        trid: TrId,
        redirect: &'a [u8],
        login_url: &'a [u8],
        site_id: Option<&'a [u8]>,
        rest: Args<'a>,
    },
    /// `SND trid OK`.
    Snd {
        trid: TrId,
        result: &'a [u8],
        rest: Args<'a>,
    },
    /// `SDC trid OK`.
    Sdc {
        trid: TrId,
        result: &'a [u8],
        rest: Args<'a>,
    },
    /// `FND trid …` (historic search results).
    Fnd { trid: TrId, rest: Args<'a> },
    /// `NOT len` + XML payload (MSN Alerts, Escargot's address-book notices).
    Not { payload: &'a [u8] },
    /// `IPG len` + XML payload (incoming page).
    Ipg { payload: &'a [u8] },
    /// `MSG sender name len` + MIME payload (NS: from `Hotmail`; SB: from a participant).
    Msg {
        sender: &'a [u8],
        name: &'a [u8],
        payload: &'a [u8],
    },
    /// `RNG session host:port CKI cookie inviter name`.
    Rng {
        session: &'a [u8],
        address: &'a [u8],
        auth: &'a [u8],
        cookie: &'a [u8],
        handle: &'a [u8],
        name: &'a [u8],
        rest: Args<'a>,
    },
    /// `CAL trid RINGING session`.
    Cal {
        trid: TrId,
        result: &'a [u8],
        session: Option<&'a [u8]>,
        rest: Args<'a>,
    },
    /// `ANS trid OK`.
    Ans {
        trid: TrId,
        result: &'a [u8],
        rest: Args<'a>,
    },
    /// `JOI handle name`.
    Joi {
        handle: &'a [u8],
        name: &'a [u8],
        rest: Args<'a>,
    },
    /// `IRO trid index total handle name`.
    Iro {
        trid: TrId,
        index: u32,
        total: u32,
        handle: &'a [u8],
        name: &'a [u8],
        rest: Args<'a>,
    },
    /// `ACK trid`.
    Ack { trid: TrId, rest: Args<'a> },
    /// `NAK trid`.
    Nak { trid: TrId, rest: Args<'a> },
    /// `BYE handle [1]`.
    Bye { handle: &'a [u8], rest: Args<'a> },
    /// `NNN [trid] …`: a numeric error; `trid` is `None` when absent or 0 (then kept in `rest`).
    Error {
        code: ServerErrorCode,
        trid: Option<TrId>,
        rest: Args<'a>,
    },
    /// Any other verb, with all its arguments (and payload, never framed for unknown verbs).
    Unknown { verb: &'a [u8], args: Args<'a> },
}

impl<'a> ServerCommand<'a> {
    /// Parse a frame read with [`super::Direction::ServerToClient`].
    pub fn parse(frame: &Frame<'a>) -> Result<Self, WireError> {
        Self::parse_parts(frame.line, frame.payload)
    }

    /// Parse a line (without line end) and the payload that followed it, if any.
    pub fn parse_parts(line: &'a [u8], payload: Option<&'a [u8]>) -> Result<Self, WireError> {
        use ServerCommand as S;
        let line = Line::parse(line)?;
        let args = line.args();
        let Some(sv) = server_verb(verb_key(line.verb())) else {
            return Ok(match line.error_code() {
                Some(code) => {
                    let mut rest = args;
                    let trid = rest.next().and_then(TrId::parse);
                    S::Error {
                        code: ServerErrorCode(code),
                        trid,
                        rest: if trid.is_some() { rest } else { args },
                    }
                }
                None => S::Unknown {
                    verb: line.verb(),
                    args,
                },
            });
        };
        let mut c = Cur::new(args);
        let cmd = match sv {
            Sv::CVR => S::Cvr {
                trid: c.trid(),
                recommended: c.req(),
                recommended_again: c.opt(),
                minimum: c.opt(),
                download_url: c.opt(),
                info_url: c.opt(),
                rest: c.rest(),
            },
            Sv::USR => {
                let trid = c.trid();
                let what = c.req();
                if what == b"OK" {
                    S::UsrOk {
                        trid,
                        handle: c.req(),
                        friendly: c.req(),
                        verified: c.flag(),
                        flag: c.opt(),
                        rest: c.rest(),
                    }
                } else {
                    S::UsrAuth {
                        trid,
                        package: what,
                        stage: c.req(),
                        value: c.opt(),
                        rest: c.rest(),
                    }
                }
            }
            Sv::XFR => {
                let trid = c.trid0();
                match c.req() {
                    b"NS" => S::XfrNs {
                        trid,
                        address: c.req(),
                        rest: c.rest(),
                    },
                    b"SB" => {
                        if trid.is_none() {
                            c.fail(WireError::BadTrId);
                        }
                        S::XfrSb {
                            trid: trid.unwrap_or(TrId::ONE),
                            address: c.req(),
                            auth: c.req(),
                            cookie: c.req(),
                            rest: c.rest(),
                        }
                    }
                    _ => {
                        c.check()?;
                        return Err(WireError::BadArg);
                    }
                }
            }
            Sv::OUT => S::Out {
                reason: c.opt(),
                rest: c.rest(),
            },
            Sv::SYN => {
                let trid = c.trid();
                let version = c.num();
                let contacts = c.opt_num();
                S::Syn {
                    trid,
                    version,
                    contacts,
                    groups: contacts.map(|_| c.num()),
                    rest: c.rest(),
                }
            }
            Sv::LST => {
                let first = c.req();
                // Look at the second field only when the first is a number: MSNP8 contact
                // lines (the bulk of a sync) start with a handle and never pay for the peek.
                let old_form = match parse_u32(first) {
                    Some(t) => c.peek().and_then(ListKind::from_token).map(|l| (t, l)),
                    None => None,
                };
                match old_form {
                    Some((t, list)) => {
                        c.opt();
                        let version = c.num();
                        let index = c.num();
                        let total = c.num();
                        let handle = c.opt();
                        S::Lst {
                            trid: TrId::new(t),
                            list,
                            version,
                            index,
                            total,
                            handle,
                            nickname: handle.map(|_| c.req()),
                            groups: c.opt(),
                            rest: c.rest(),
                        }
                    }
                    None => S::LstContact {
                        handle: first,
                        nickname: c.req(),
                        lists: {
                            let n = c.num();
                            u8::try_from(n).unwrap_or_else(|_| {
                                c.fail(WireError::BadArg);
                                0
                            })
                        },
                        groups: c.opt(),
                        rest: c.rest(),
                    },
                }
            }
            Sv::LSG => {
                if args.get(5).is_some() {
                    S::Lsg {
                        trid: c.trid0(),
                        version: c.num(),
                        index: c.num(),
                        total: c.num(),
                        group_id: c.num(),
                        name: c.req(),
                        rest: c.rest(),
                    }
                } else {
                    S::LsgGroup {
                        group_id: c.num(),
                        name: c.req(),
                        rest: c.rest(),
                    }
                }
            }
            Sv::GTC | Sv::BLP => {
                let stamp = c.num_if().map(|t| (t, c.num()));
                let value = c.req();
                let rest = c.rest();
                if sv == Sv::GTC {
                    S::Gtc { stamp, value, rest }
                } else {
                    S::Blp { stamp, value, rest }
                }
            }
            Sv::PRP => {
                let first = c.num_if();
                let (trid, version) = match first.and_then(|_| c.num_if()) {
                    Some(v) => (first, Some(v)),
                    None => (None, first),
                };
                S::Prp {
                    trid,
                    version,
                    property: c.req(),
                    value: c.opt(),
                    rest: c.rest(),
                }
            }
            Sv::BPR => S::Bpr {
                version: c.num_if(),
                handle: {
                    let mut ahead = c.args;
                    match ahead.next() {
                        Some(h) if h.contains(&b'@') => {
                            c.args = ahead;
                            Some(h)
                        }
                        _ => None,
                    }
                },
                property: c.req(),
                value: c.opt(),
                rest: c.rest(),
            },
            Sv::ADD => S::Add {
                trid: c.trid0(),
                list: c.list(),
                version: c.num(),
                handle: c.req(),
                nickname: c.req(),
                group: c.opt_num(),
                rest: c.rest(),
            },
            Sv::REM => S::Rem {
                trid: c.trid0(),
                list: c.list(),
                version: c.num(),
                handle: c.req(),
                group: c.opt_num(),
                rest: c.rest(),
            },
            Sv::ADG => S::Adg {
                trid: c.trid(),
                version: c.num(),
                name: c.req(),
                group_id: c.num(),
                rest: c.rest(),
            },
            Sv::RMG => S::Rmg {
                trid: c.trid(),
                version: c.num(),
                group_id: c.num(),
                rest: c.rest(),
            },
            Sv::REG => S::Reg {
                trid: c.trid(),
                version: c.num(),
                group_id: c.num(),
                name: c.req(),
                rest: c.rest(),
            },
            Sv::REA => S::Rea {
                trid: c.trid(),
                version: c.num(),
                handle: c.req(),
                name: c.req(),
                rest: c.rest(),
            },
            Sv::CHG => S::Chg {
                trid: c.trid0(),
                status: c.status(),
                client_id: c.opt_num(),
                rest: c.rest(),
            },
            Sv::ILN => S::Iln {
                trid: c.trid0(),
                status: c.status(),
                handle: c.req(),
                name: c.req(),
                client_id: c.opt_num(),
                rest: c.rest(),
            },
            Sv::NLN => S::Nln {
                status: c.status(),
                handle: c.req(),
                name: c.req(),
                client_id: c.opt_num(),
                rest: c.rest(),
            },
            Sv::FLN | Sv::BYE => {
                let handle = c.req();
                let rest = c.rest();
                if sv == Sv::FLN {
                    S::Fln { handle, rest }
                } else {
                    S::Bye { handle, rest }
                }
            }
            Sv::QNG => S::Qng { rest: c.rest() },
            Sv::CHL => S::Chl {
                trid: c.trid0(),
                challenge: c.req(),
                rest: c.rest(),
            },
            Sv::IMS => S::Ims {
                trid: c.trid(),
                number: c.num(),
                mode: c.req(),
                rest: c.rest(),
            },
            Sv::URL => S::Url {
                trid: c.trid(),
                redirect: c.req(),
                login_url: c.req(),
                site_id: c.opt(),
                rest: c.rest(),
            },
            Sv::SND | Sv::SDC | Sv::ANS => {
                let (trid, result) = (c.trid(), c.req());
                let rest = c.rest();
                match sv {
                    Sv::SND => S::Snd { trid, result, rest },
                    Sv::SDC => S::Sdc { trid, result, rest },
                    _ => S::Ans { trid, result, rest },
                }
            }
            Sv::VER | Sv::INF | Sv::QRY | Sv::FND | Sv::ACK | Sv::NAK => {
                let trid = c.trid();
                let rest = c.rest();
                match sv {
                    Sv::VER => S::Ver {
                        trid,
                        dialects: rest,
                    },
                    Sv::INF => S::Inf {
                        trid,
                        packages: rest,
                    },
                    Sv::QRY => S::Qry { trid, rest },
                    Sv::FND => S::Fnd { trid, rest },
                    Sv::ACK => S::Ack { trid, rest },
                    _ => S::Nak { trid, rest },
                }
            }
            Sv::NOT | Sv::IPG | Sv::MSG => {
                let (before, len) = split_len(args)?;
                let mut b = Cur::new(before);
                let (sender, name) = if sv == Sv::MSG {
                    (b.req(), b.req())
                } else {
                    (&[][..], &[][..])
                };
                b.check()?;
                if b.opt().is_some() {
                    return Err(WireError::BadArg);
                }
                let payload = payload_of(len, payload)?;
                match sv {
                    Sv::MSG => S::Msg {
                        sender,
                        name,
                        payload,
                    },
                    Sv::NOT => S::Not { payload },
                    _ => S::Ipg { payload },
                }
            }
            Sv::RNG => S::Rng {
                session: c.req(),
                address: c.req(),
                auth: c.req(),
                cookie: c.req(),
                handle: c.req(),
                name: c.req(),
                rest: c.rest(),
            },
            Sv::CAL => S::Cal {
                trid: c.trid(),
                result: c.req(),
                session: c.opt(),
                rest: c.rest(),
            },
            Sv::JOI => S::Joi {
                handle: c.req(),
                name: c.req(),
                rest: c.rest(),
            },
            Sv::IRO => S::Iro {
                trid: c.trid(),
                index: c.num(),
                total: c.num(),
                handle: c.req(),
                name: c.req(),
                rest: c.rest(),
            },
        };
        c.check()?;
        Ok(cmd)
    }

    /// Return the TrID the line carries, if it carries a non-zero one.
    pub fn trid(&self) -> Option<TrId> {
        use ServerCommand as S;
        match *self {
            S::Ver { trid, .. }
            | S::Inf { trid, .. }
            | S::Cvr { trid, .. }
            | S::UsrAuth { trid, .. }
            | S::UsrOk { trid, .. }
            | S::XfrSb { trid, .. }
            | S::Syn { trid, .. }
            | S::Adg { trid, .. }
            | S::Rmg { trid, .. }
            | S::Reg { trid, .. }
            | S::Rea { trid, .. }
            | S::Qry { trid, .. }
            | S::Ims { trid, .. }
            | S::Url { trid, .. }
            | S::Snd { trid, .. }
            | S::Sdc { trid, .. }
            | S::Fnd { trid, .. }
            | S::Cal { trid, .. }
            | S::Ans { trid, .. }
            | S::Iro { trid, .. }
            | S::Ack { trid, .. }
            | S::Nak { trid, .. } => Some(trid),
            S::XfrNs { trid, .. }
            | S::Lst { trid, .. }
            | S::Lsg { trid, .. }
            | S::Add { trid, .. }
            | S::Rem { trid, .. }
            | S::Chg { trid, .. }
            | S::Iln { trid, .. }
            | S::Chl { trid, .. }
            | S::Error { trid, .. } => trid,
            S::Gtc { stamp, .. } | S::Blp { stamp, .. } => stamp.and_then(|(t, _)| TrId::new(t)),
            S::Prp { trid, .. } => trid.and_then(TrId::new),
            _ => None,
        }
    }

    /// Return the payload of a payload command.
    pub fn payload(&self) -> Option<&'a [u8]> {
        match *self {
            ServerCommand::Not { payload }
            | ServerCommand::Ipg { payload }
            | ServerCommand::Msg { payload, .. } => Some(payload),
            _ => None,
        }
    }

    fn write(&self, w: &mut Writer<'_>) {
        use ServerCommand as S;
        match *self {
            S::Ver { trid, dialects } => w.tok(b"VER").trid(trid).args(dialects),
            S::Inf { trid, packages } => w.tok(b"INF").trid(trid).args(packages),
            S::Cvr {
                trid,
                recommended,
                recommended_again,
                minimum,
                download_url,
                info_url,
                rest,
            } => w
                .tok(b"CVR")
                .trid(trid)
                .tok(recommended)
                .opt(recommended_again)
                .opt(minimum)
                .opt(download_url)
                .opt(info_url)
                .args(rest),
            S::UsrAuth {
                trid,
                package,
                stage,
                value,
                rest,
            } => w
                .tok(b"USR")
                .trid(trid)
                .tok(package)
                .tok(stage)
                .opt(value)
                .args(rest),
            S::UsrOk {
                trid,
                handle,
                friendly,
                verified,
                flag,
                rest,
            } => w
                .tok(b"USR")
                .trid(trid)
                .tok(b"OK")
                .tok(handle)
                .tok(friendly)
                .opt(verified.map(|v| if v { &b"1"[..] } else { b"0" }))
                .opt(flag)
                .args(rest),
            S::XfrNs {
                trid,
                address,
                rest,
            } => w.tok(b"XFR").trid0(trid).tok(b"NS").tok(address).args(rest),
            S::XfrSb {
                trid,
                address,
                auth,
                cookie,
                rest,
            } => w
                .tok(b"XFR")
                .trid(trid)
                .tok(b"SB")
                .tok(address)
                .tok(auth)
                .tok(cookie)
                .args(rest),
            S::Out { reason, rest } => w.tok(b"OUT").opt(reason).args(rest),
            S::Syn {
                trid,
                version,
                contacts,
                groups,
                rest,
            } => w
                .tok(b"SYN")
                .trid(trid)
                .num(version)
                .opt_num(contacts)
                .opt_num(groups)
                .args(rest),
            S::Lst {
                trid,
                list,
                version,
                index,
                total,
                handle,
                nickname,
                groups,
                rest,
            } => w
                .tok(b"LST")
                .trid0(trid)
                .tok(list.token())
                .num(version)
                .num(index)
                .num(total)
                .opt(handle)
                .opt(nickname)
                .opt(groups)
                .args(rest),
            S::LstContact {
                handle,
                nickname,
                lists,
                groups,
                rest,
            } => w
                .tok(b"LST")
                .tok(handle)
                .tok(nickname)
                .num(u32::from(lists))
                .opt(groups)
                .args(rest),
            S::Lsg {
                trid,
                version,
                index,
                total,
                group_id,
                name,
                rest,
            } => w
                .tok(b"LSG")
                .trid0(trid)
                .num(version)
                .num(index)
                .num(total)
                .num(group_id)
                .tok(name)
                .args(rest),
            S::LsgGroup {
                group_id,
                name,
                rest,
            } => w.tok(b"LSG").num(group_id).tok(name).args(rest),
            S::Gtc { stamp, value, rest } => write_stamped(w, b"GTC", stamp, value, rest),
            S::Blp { stamp, value, rest } => write_stamped(w, b"BLP", stamp, value, rest),
            S::Prp {
                trid,
                version,
                property,
                value,
                rest,
            } => w
                .tok(b"PRP")
                .opt_num(trid)
                .opt_num(version)
                .tok(property)
                .opt(value)
                .args(rest),
            S::Bpr {
                version,
                handle,
                property,
                value,
                rest,
            } => w
                .tok(b"BPR")
                .opt_num(version)
                .opt(handle)
                .tok(property)
                .opt(value)
                .args(rest),
            S::Add {
                trid,
                list,
                version,
                handle,
                nickname,
                group,
                rest,
            } => w
                .tok(b"ADD")
                .trid0(trid)
                .tok(list.token())
                .num(version)
                .tok(handle)
                .tok(nickname)
                .opt_num(group)
                .args(rest),
            S::Rem {
                trid,
                list,
                version,
                handle,
                group,
                rest,
            } => w
                .tok(b"REM")
                .trid0(trid)
                .tok(list.token())
                .num(version)
                .tok(handle)
                .opt_num(group)
                .args(rest),
            S::Adg {
                trid,
                version,
                name,
                group_id,
                rest,
            } => w
                .tok(b"ADG")
                .trid(trid)
                .num(version)
                .tok(name)
                .num(group_id)
                .args(rest),
            S::Rmg {
                trid,
                version,
                group_id,
                rest,
            } => w
                .tok(b"RMG")
                .trid(trid)
                .num(version)
                .num(group_id)
                .args(rest),
            S::Reg {
                trid,
                version,
                group_id,
                name,
                rest,
            } => w
                .tok(b"REG")
                .trid(trid)
                .num(version)
                .num(group_id)
                .tok(name)
                .args(rest),
            S::Rea {
                trid,
                version,
                handle,
                name,
                rest,
            } => w
                .tok(b"REA")
                .trid(trid)
                .num(version)
                .tok(handle)
                .tok(name)
                .args(rest),
            S::Chg {
                trid,
                status,
                client_id,
                rest,
            } => w
                .tok(b"CHG")
                .trid0(trid)
                .tok(status.token())
                .opt_num(client_id)
                .args(rest),
            S::Iln {
                trid,
                status,
                handle,
                name,
                client_id,
                rest,
            } => w
                .tok(b"ILN")
                .trid0(trid)
                .tok(status.token())
                .tok(handle)
                .tok(name)
                .opt_num(client_id)
                .args(rest),
            S::Nln {
                status,
                handle,
                name,
                client_id,
                rest,
            } => w
                .tok(b"NLN")
                .tok(status.token())
                .tok(handle)
                .tok(name)
                .opt_num(client_id)
                .args(rest),
            S::Fln { handle, rest } => w.tok(b"FLN").tok(handle).args(rest),
            S::Qng { rest } => w.tok(b"QNG").args(rest),
            S::Chl {
                trid,
                challenge,
                rest,
            } => w.tok(b"CHL").trid0(trid).tok(challenge).args(rest),
            S::Qry { trid, rest } => w.tok(b"QRY").trid(trid).args(rest),
            S::Ims {
                trid,
                number,
                mode,
                rest,
            } => w.tok(b"IMS").trid(trid).num(number).tok(mode).args(rest),
            S::Url {
                trid,
                redirect,
                login_url,
                site_id,
                rest,
            } => w
                .tok(b"URL")
                .trid(trid)
                .tok(redirect)
                .tok(login_url)
                .opt(site_id)
                .args(rest),
            S::Snd { trid, result, rest } => w.tok(b"SND").trid(trid).tok(result).args(rest),
            S::Sdc { trid, result, rest } => w.tok(b"SDC").trid(trid).tok(result).args(rest),
            S::Fnd { trid, rest } => w.tok(b"FND").trid(trid).args(rest),
            S::Not { payload } => w.tok(b"NOT").num(len_u32(payload)),
            S::Ipg { payload } => w.tok(b"IPG").num(len_u32(payload)),
            S::Msg {
                sender,
                name,
                payload,
            } => w.tok(b"MSG").tok(sender).tok(name).num(len_u32(payload)),
            S::Rng {
                session,
                address,
                auth,
                cookie,
                handle,
                name,
                rest,
            } => w
                .tok(b"RNG")
                .tok(session)
                .tok(address)
                .tok(auth)
                .tok(cookie)
                .tok(handle)
                .tok(name)
                .args(rest),
            S::Cal {
                trid,
                result,
                session,
                rest,
            } => w.tok(b"CAL").trid(trid).tok(result).opt(session).args(rest),
            S::Ans { trid, result, rest } => w.tok(b"ANS").trid(trid).tok(result).args(rest),
            S::Joi { handle, name, rest } => w.tok(b"JOI").tok(handle).tok(name).args(rest),
            S::Iro {
                trid,
                index,
                total,
                handle,
                name,
                rest,
            } => w
                .tok(b"IRO")
                .trid(trid)
                .num(index)
                .num(total)
                .tok(handle)
                .tok(name)
                .args(rest),
            S::Ack { trid, rest } => w.tok(b"ACK").trid(trid).args(rest),
            S::Nak { trid, rest } => w.tok(b"NAK").trid(trid).args(rest),
            S::Bye { handle, rest } => w.tok(b"BYE").tok(handle).args(rest),
            S::Error { code, trid, rest } => {
                // Three digits, zero-padded (`007`); a code above 999 cannot be parsed anyway.
                let c = code.0;
                let digit = |n: u16| b'0'.wrapping_add(u8::try_from(n % 10).unwrap_or(0));
                w.tok(&[digit(c / 100), digit(c / 10), digit(c)]);
                if let Some(t) = trid {
                    w.trid(t);
                }
                w.args(rest)
            }
            S::Unknown { verb, args } => w.tok(verb).args(args),
        };
    }

    /// Return the number of bytes [`emit`](Self::emit) writes (line, CRLF and payload).
    pub fn buffer_len(&self) -> usize {
        let mut w = Writer::counter();
        self.write(&mut w);
        w.finish(self.payload()).unwrap_or(usize::MAX)
    }

    /// Write the command (line, CRLF, payload) into `out`; return the bytes written.
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, WireError> {
        let mut w = Writer::new(out);
        self.write(&mut w);
        w.finish(self.payload())
    }
}

fn write_stamped<'w, 'b>(
    w: &'w mut Writer<'b>,
    verb: &[u8],
    stamp: Option<(u32, u32)>,
    value: &[u8],
    rest: Args<'_>,
) -> &'w mut Writer<'b> {
    w.tok(verb);
    if let Some((t, v)) = stamp {
        w.num(t).num(v);
    }
    w.tok(value).args(rest)
}

/// A command a client sends (NS or SB), as a typed view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
#[allow(missing_docs)]
// Fields are the wire fields named in each variant's doc line, in order.
// Declared layout (tag, then the fields in order): the TrID, first in every variant that has
// one, sits at one offset, and the tag indexes the verb table, so `write` reads both without a
// per-variant branch (smaller on the box).
#[repr(C, u8)]
pub enum ClientCommand<'a> {
    /// `VER trid dialect… [CVR0]`.
    Ver { trid: TrId, dialects: Args<'a> },
    /// `INF trid` (MSNP2–7).
    Inf { trid: TrId, rest: Args<'a> },
    /// `CVR trid locale os-type os-version arch client-name client-version [code-base [handle]]`
    /// (6 fields in MSNP2–3, 7 in MSNP4–7, 8 in MSNP8).
    Cvr {
        trid: TrId,
        locale: &'a [u8],
        os_type: &'a [u8],
        os_version: &'a [u8],
        arch: &'a [u8],
        client_name: &'a [u8],
        client_version: &'a [u8],
        code_base: Option<&'a [u8]>,
        handle: Option<&'a [u8]>,
        rest: Args<'a>,
    },
    /// NS `USR trid MD5|TWN|CTP I|S value` (handle, MD5 answer or ticket).
    UsrAuth {
        trid: TrId,
        package: &'a [u8],
        stage: &'a [u8],
        value: &'a [u8],
        rest: Args<'a>,
    },
    /// SB `USR trid handle cookie`.
    UsrSb {
        trid: TrId,
        handle: &'a [u8],
        cookie: &'a [u8],
        rest: Args<'a>,
    },
    /// `XFR trid SB` (or `NS`).
    Xfr {
        trid: TrId,
        kind: &'a [u8],
        rest: Args<'a>,
    },
    /// `OUT`.
    Out { rest: Args<'a> },
    /// `SYN trid version`.
    Syn {
        trid: TrId,
        version: u32,
        rest: Args<'a>,
    },
    /// `LST trid list` (MSNP2–7 list request).
    Lst {
        trid: TrId,
        list: ListKind,
        rest: Args<'a>,
    },
    /// `LSG trid` (MSNP7 group request).
    Lsg { trid: TrId, rest: Args<'a> },
    /// `GTC trid A|N`.
    Gtc {
        trid: TrId,
        value: &'a [u8],
        rest: Args<'a>,
    },
    /// `BLP trid AL|BL`.
    Blp {
        trid: TrId,
        value: &'a [u8],
        rest: Args<'a>,
    },
    /// `PRP trid property [value]`.
    Prp {
        trid: TrId,
        property: &'a [u8],
        value: Option<&'a [u8]>,
        rest: Args<'a>,
    },
    /// `ADD trid list handle [nickname [group]]` (Escargot answers a missing nickname with 201).
    Add {
        trid: TrId,
        list: ListKind,
        handle: &'a [u8],
        nickname: Option<&'a [u8]>,
        group: Option<u32>,
        rest: Args<'a>,
    },
    /// `REM trid list handle [group]`.
    Rem {
        trid: TrId,
        list: ListKind,
        handle: &'a [u8],
        group: Option<u32>,
        rest: Args<'a>,
    },
    /// `ADG trid name 0`.
    Adg {
        trid: TrId,
        name: &'a [u8],
        rest: Args<'a>,
    },
    /// `RMG trid group-id`.
    Rmg {
        trid: TrId,
        group_id: u32,
        rest: Args<'a>,
    },
    /// `REG trid group-id name 0`.
    Reg {
        trid: TrId,
        group_id: u32,
        name: &'a [u8],
        rest: Args<'a>,
    },
    /// `REA trid handle name`.
    Rea {
        trid: TrId,
        handle: &'a [u8],
        name: &'a [u8],
        rest: Args<'a>,
    },
    /// `CHG trid status [client-id]` (the client id is MSNP8).
    Chg {
        trid: TrId,
        status: Status,
        client_id: Option<u32>,
        rest: Args<'a>,
    },
    /// `PNG`.
    Png { rest: Args<'a> },
    /// `QRY trid product-id 32` + 32-byte answer.
    Qry {
        trid: TrId,
        product_id: &'a [u8],
        payload: &'a [u8],
    },
    /// `IMS trid ON|OFF`.
    Ims {
        trid: TrId,
        mode: &'a [u8],
        rest: Args<'a>,
    },
    /// `URL trid service [parameter]`.
    Url {
        trid: TrId,
        service: &'a [u8],
        parameter: Option<&'a [u8]>,
        rest: Args<'a>,
    },
    /// `SND trid e-mail [lcid [library [code-base]]]`.
    Snd {
        trid: TrId,
        email: &'a [u8],
        rest: Args<'a>,
    },
    /// `SDC trid e-mail lcid library code-base X X name len` + note.
    Sdc {
        trid: TrId,
        email: &'a [u8],
        fields: Args<'a>,
        payload: &'a [u8],
    },
    /// `FND trid fname=… lname=… …`.
    Fnd { trid: TrId, rest: Args<'a> },
    /// `PAG trid handle len` + XML page.
    Pag {
        trid: TrId,
        handle: &'a [u8],
        payload: &'a [u8],
    },
    /// SB `MSG trid U|N|A|D len` + MIME payload.
    Msg {
        trid: TrId,
        ack: AckMode,
        payload: &'a [u8],
    },
    /// SB `CAL trid handle`.
    Cal {
        trid: TrId,
        handle: &'a [u8],
        rest: Args<'a>,
    },
    /// SB `ANS trid handle cookie session`.
    Ans {
        trid: TrId,
        handle: &'a [u8],
        cookie: &'a [u8],
        session: &'a [u8],
        rest: Args<'a>,
    },
    /// Any other verb, with all its arguments.
    Unknown { verb: &'a [u8], args: Args<'a> },
}

/// Query whether a `USR` second field names an NS authentication package.
fn is_auth_package(t: &[u8]) -> bool {
    matches!(t, b"MD5" | b"TWN" | b"CTP" | b"SSO")
}

/// The verbs of [`ClientCommand`], in the order of its variants (of its `verb` method).
const CLIENT_VERBS: [[u8; 3]; 31] = [
    *b"VER", *b"INF", *b"CVR", *b"USR", *b"USR", *b"XFR", *b"OUT", *b"SYN", *b"LST", *b"LSG",
    *b"GTC", *b"BLP", *b"PRP", *b"ADD", *b"REM", *b"ADG", *b"RMG", *b"REG", *b"REA", *b"CHG",
    *b"PNG", *b"QRY", *b"IMS", *b"URL", *b"SND", *b"SDC", *b"FND", *b"PAG", *b"MSG", *b"CAL",
    *b"ANS",
];

impl<'a> ClientCommand<'a> {
    /// Parse a frame read with [`super::Direction::ClientToServer`].
    pub fn parse(frame: &Frame<'a>) -> Result<Self, WireError> {
        Self::parse_parts(frame.line, frame.payload)
    }

    /// Parse a line (without line end) and the payload that followed it, if any.
    pub fn parse_parts(line: &'a [u8], payload: Option<&'a [u8]>) -> Result<Self, WireError> {
        use ClientCommand as C;
        let line = Line::parse(line)?;
        let args = line.args();
        let mut c = Cur::new(args);
        let cmd = match verb_key(line.verb()) {
            verb::VER => C::Ver {
                trid: c.trid(),
                dialects: c.rest(),
            },
            verb::INF => C::Inf {
                trid: c.trid(),
                rest: c.rest(),
            },
            verb::CVR => C::Cvr {
                trid: c.trid(),
                locale: c.req(),
                os_type: c.req(),
                os_version: c.req(),
                arch: c.req(),
                client_name: c.req(),
                client_version: c.req(),
                code_base: c.opt(),
                handle: c.opt(),
                rest: c.rest(),
            },
            verb::USR => {
                let trid = c.trid();
                let first = c.req();
                if is_auth_package(first) {
                    C::UsrAuth {
                        trid,
                        package: first,
                        stage: c.req(),
                        value: c.req(),
                        rest: c.rest(),
                    }
                } else {
                    C::UsrSb {
                        trid,
                        handle: first,
                        cookie: c.req(),
                        rest: c.rest(),
                    }
                }
            }
            verb::XFR => C::Xfr {
                trid: c.trid(),
                kind: c.req(),
                rest: c.rest(),
            },
            verb::OUT => C::Out { rest: c.rest() },
            verb::SYN => C::Syn {
                trid: c.trid(),
                version: c.num(),
                rest: c.rest(),
            },
            verb::LST => C::Lst {
                trid: c.trid(),
                list: c.list(),
                rest: c.rest(),
            },
            verb::LSG => C::Lsg {
                trid: c.trid(),
                rest: c.rest(),
            },
            verb::GTC => C::Gtc {
                trid: c.trid(),
                value: c.req(),
                rest: c.rest(),
            },
            verb::BLP => C::Blp {
                trid: c.trid(),
                value: c.req(),
                rest: c.rest(),
            },
            verb::PRP => C::Prp {
                trid: c.trid(),
                property: c.req(),
                value: c.opt(),
                rest: c.rest(),
            },
            verb::ADD => {
                let trid = c.trid();
                let list = c.list();
                let handle = c.req();
                let nickname = c.opt();
                C::Add {
                    trid,
                    list,
                    handle,
                    nickname,
                    group: nickname.and_then(|_| c.opt_num()),
                    rest: c.rest(),
                }
            }
            verb::REM => C::Rem {
                trid: c.trid(),
                list: c.list(),
                handle: c.req(),
                group: c.opt_num(),
                rest: c.rest(),
            },
            verb::ADG => C::Adg {
                trid: c.trid(),
                name: c.req(),
                rest: c.rest(),
            },
            verb::RMG => C::Rmg {
                trid: c.trid(),
                group_id: c.num(),
                rest: c.rest(),
            },
            verb::REG => C::Reg {
                trid: c.trid(),
                group_id: c.num(),
                name: c.req(),
                rest: c.rest(),
            },
            verb::REA => C::Rea {
                trid: c.trid(),
                handle: c.req(),
                name: c.req(),
                rest: c.rest(),
            },
            verb::CHG => C::Chg {
                trid: c.trid(),
                status: c.status(),
                client_id: c.opt_num(),
                rest: c.rest(),
            },
            verb::PNG => C::Png { rest: c.rest() },
            verb::IMS => C::Ims {
                trid: c.trid(),
                mode: c.req(),
                rest: c.rest(),
            },
            verb::URL => C::Url {
                trid: c.trid(),
                service: c.req(),
                parameter: c.opt(),
                rest: c.rest(),
            },
            verb::SND => C::Snd {
                trid: c.trid(),
                email: c.req(),
                rest: c.rest(),
            },
            verb::FND => C::Fnd {
                trid: c.trid(),
                rest: c.rest(),
            },
            verb::CAL => C::Cal {
                trid: c.trid(),
                handle: c.req(),
                rest: c.rest(),
            },
            verb::ANS => C::Ans {
                trid: c.trid(),
                handle: c.req(),
                cookie: c.req(),
                session: c.req(),
                rest: c.rest(),
            },
            verb @ (verb::QRY | verb::SDC | verb::PAG | verb::MSG) => {
                let (before, len) = split_len(args)?;
                let payload = payload_of(len, payload)?;
                let mut b = Cur::new(before);
                let trid = b.trid();
                let second = b.req();
                b.check()?;
                let cmd = match verb {
                    verb::QRY => C::Qry {
                        trid,
                        product_id: second,
                        payload,
                    },
                    verb::PAG => C::Pag {
                        trid,
                        handle: second,
                        payload,
                    },
                    verb::MSG => C::Msg {
                        trid,
                        ack: AckMode::from_token(second).ok_or(WireError::BadArg)?,
                        payload,
                    },
                    _ => {
                        return Ok(C::Sdc {
                            trid,
                            email: second,
                            fields: b.rest(),
                            payload,
                        })
                    }
                };
                if b.opt().is_some() {
                    return Err(WireError::BadArg);
                }
                cmd
            }
            _ => C::Unknown {
                verb: line.verb(),
                args,
            },
        };
        c.check()?;
        Ok(cmd)
    }

    /// Return the TrID, for commands that carry one.
    pub fn trid(&self) -> Option<TrId> {
        use ClientCommand as C;
        match *self {
            C::Ver { trid, .. }
            | C::Inf { trid, .. }
            | C::Cvr { trid, .. }
            | C::UsrAuth { trid, .. }
            | C::UsrSb { trid, .. }
            | C::Xfr { trid, .. }
            | C::Syn { trid, .. }
            | C::Lst { trid, .. }
            | C::Lsg { trid, .. }
            | C::Gtc { trid, .. }
            | C::Blp { trid, .. }
            | C::Prp { trid, .. }
            | C::Add { trid, .. }
            | C::Rem { trid, .. }
            | C::Adg { trid, .. }
            | C::Rmg { trid, .. }
            | C::Reg { trid, .. }
            | C::Rea { trid, .. }
            | C::Chg { trid, .. }
            | C::Qry { trid, .. }
            | C::Ims { trid, .. }
            | C::Url { trid, .. }
            | C::Snd { trid, .. }
            | C::Sdc { trid, .. }
            | C::Fnd { trid, .. }
            | C::Pag { trid, .. }
            | C::Msg { trid, .. }
            | C::Cal { trid, .. }
            | C::Ans { trid, .. } => Some(trid),
            C::Out { .. } | C::Png { .. } | C::Unknown { .. } => None,
        }
    }

    /// Return the payload of a payload command.
    pub fn payload(&self) -> Option<&'a [u8]> {
        use ClientCommand as C;
        match *self {
            C::Qry { payload, .. }
            | C::Sdc { payload, .. }
            | C::Pag { payload, .. }
            | C::Msg { payload, .. } => Some(payload),
            _ => None,
        }
    }

    /// Return the verb.
    fn verb(&self) -> &'a [u8] {
        use ClientCommand as C;
        // An index into one table in variant order (the match reduces to the tag) rather than
        // a pointer per arm.
        if let C::Unknown { verb, .. } = *self {
            return verb;
        }
        let i = match *self {
            C::Ver { .. } => 0,
            C::Inf { .. } => 1,
            C::Cvr { .. } => 2,
            C::UsrAuth { .. } => 3,
            C::UsrSb { .. } => 4,
            C::Xfr { .. } => 5,
            C::Out { .. } => 6,
            C::Syn { .. } => 7,
            C::Lst { .. } => 8,
            C::Lsg { .. } => 9,
            C::Gtc { .. } => 10,
            C::Blp { .. } => 11,
            C::Prp { .. } => 12,
            C::Add { .. } => 13,
            C::Rem { .. } => 14,
            C::Adg { .. } => 15,
            C::Rmg { .. } => 16,
            C::Reg { .. } => 17,
            C::Rea { .. } => 18,
            C::Chg { .. } => 19,
            C::Png { .. } => 20,
            C::Qry { .. } => 21,
            C::Ims { .. } => 22,
            C::Url { .. } => 23,
            C::Snd { .. } => 24,
            C::Sdc { .. } => 25,
            C::Fnd { .. } => 26,
            C::Pag { .. } => 27,
            C::Msg { .. } => 28,
            C::Cal { .. } => 29,
            C::Ans { .. } => 30,
            C::Unknown { .. } => 31,
        };
        CLIENT_VERBS.get(i).map_or(&[][..], |v| &v[..])
    }

    /// Write the line: verb and TrID, the variant's own fields, then its trailing arguments or
    /// payload length (shared code, so each variant only adds the fields in between).
    fn write(&self, w: &mut Writer<'_>) -> Result<usize, WireError> {
        use ClientCommand as C;
        w.tok(self.verb());
        if let Some(t) = self.trid() {
            w.trid(t);
        }
        let (tail, payload) = match *self {
            C::Ver { dialects: rest, .. }
            | C::Inf { rest, .. }
            | C::Out { rest }
            | C::Lsg { rest, .. }
            | C::Png { rest }
            | C::Fnd { rest, .. }
            | C::Unknown { args: rest, .. } => (rest, None),
            C::Cvr {
                locale,
                os_type,
                os_version,
                arch,
                client_name,
                client_version,
                code_base,
                handle,
                rest,
                ..
            } => {
                w.tok(locale)
                    .tok(os_type)
                    .tok(os_version)
                    .tok(arch)
                    .tok(client_name)
                    .tok(client_version)
                    .opt(code_base)
                    .opt(handle);
                (rest, None)
            }
            C::UsrAuth {
                package,
                stage,
                value,
                rest,
                ..
            } => {
                w.tok(package).tok(stage).tok(value);
                (rest, None)
            }
            C::UsrSb {
                handle,
                cookie,
                rest,
                ..
            } => {
                w.tok(handle).tok(cookie);
                (rest, None)
            }
            C::Syn {
                version: n, rest, ..
            }
            | C::Rmg {
                group_id: n, rest, ..
            } => {
                w.num(n);
                (rest, None)
            }
            C::Lst { list, rest, .. } => {
                w.tok(list.token());
                (rest, None)
            }
            C::Xfr { kind: t, rest, .. }
            | C::Gtc { value: t, rest, .. }
            | C::Blp { value: t, rest, .. }
            | C::Adg { name: t, rest, .. }
            | C::Ims { mode: t, rest, .. }
            | C::Snd { email: t, rest, .. }
            | C::Cal {
                handle: t, rest, ..
            } => {
                w.tok(t);
                (rest, None)
            }
            C::Prp {
                property: t,
                value: o,
                rest,
                ..
            }
            | C::Url {
                service: t,
                parameter: o,
                rest,
                ..
            } => {
                w.tok(t).opt(o);
                (rest, None)
            }
            C::Add {
                list,
                handle,
                nickname,
                group,
                rest,
                ..
            } => {
                w.tok(list.token()).tok(handle).opt(nickname).opt_num(group);
                (rest, None)
            }
            C::Rem {
                list,
                handle,
                group,
                rest,
                ..
            } => {
                w.tok(list.token()).tok(handle).opt_num(group);
                (rest, None)
            }
            C::Reg {
                group_id,
                name,
                rest,
                ..
            } => {
                w.num(group_id).tok(name);
                (rest, None)
            }
            C::Rea {
                handle, name, rest, ..
            } => {
                w.tok(handle).tok(name);
                (rest, None)
            }
            C::Chg {
                status,
                client_id,
                rest,
                ..
            } => {
                w.tok(status.token()).opt_num(client_id);
                (rest, None)
            }
            C::Qry {
                product_id: t,
                payload,
                ..
            }
            | C::Pag {
                handle: t, payload, ..
            } => {
                w.tok(t);
                (Args::empty(), Some(payload))
            }
            C::Msg { ack, payload, .. } => {
                w.tok(ack.token());
                (Args::empty(), Some(payload))
            }
            C::Sdc {
                email,
                fields,
                payload,
                ..
            } => {
                w.tok(email);
                (fields, Some(payload))
            }
            C::Ans {
                handle,
                cookie,
                session,
                rest,
                ..
            } => {
                w.tok(handle).tok(cookie).tok(session);
                (rest, None)
            }
        };
        w.args(tail);
        if let Some(p) = payload {
            w.num(len_u32(p));
        }
        w.finish(payload)
    }

    /// Return the number of bytes [`emit`](Self::emit) writes (line, CRLF and payload).
    pub fn buffer_len(&self) -> usize {
        self.write(&mut Writer::counter()).unwrap_or(usize::MAX)
    }

    /// Write the command (line, CRLF, payload) into `out`; return the bytes written.
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, WireError> {
        self.write(&mut Writer::new(out))
    }
}
