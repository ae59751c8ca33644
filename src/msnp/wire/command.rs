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
use super::scan::{scan, server_verb, Sv};
use super::server_error::ServerErrorCode;
use super::trid::TrId;
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
    pub fn from_token(t: &[u8]) -> Option<Self> {
        match t {
            b"FL" => Some(ListKind::Forward),
            b"AL" => Some(ListKind::Allow),
            b"BL" => Some(ListKind::Block),
            b"RL" => Some(ListKind::Reverse),
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
    pub fn from_token(t: &[u8]) -> Option<Self> {
        Some(match t {
            b"NLN" => Status::Online,
            b"BSY" => Status::Busy,
            b"IDL" => Status::Idle,
            b"BRB" => Status::BeRightBack,
            b"AWY" => Status::Away,
            b"PHN" => Status::OnPhone,
            b"LUN" => Status::OutToLunch,
            b"HDN" => Status::Hidden,
            b"FLN" => Status::Offline,
            [a, b, c] if [a, b, c].iter().all(|x| x.is_ascii_alphanumeric()) => {
                Status::Other([*a, *b, *c])
            }
            _ => return None,
        })
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
    let trimmed = bytes
        .iter()
        .rposition(|&b| b != b' ')
        .map_or(&[][..], |e| bytes.get(..=e).unwrap_or(&[]));
    let start = trimmed
        .iter()
        .rposition(|&b| b == b' ')
        .map_or(0, |s| s.saturating_add(1));
    let len = trimmed.get(start..).unwrap_or(&[]);
    if len.is_empty() {
        return Err(WireError::BadLength);
    }
    Ok((Args::new(trimmed.get(..start).unwrap_or(&[])), len))
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
    ///
    /// Each verb's fixed fields are read by [`scan`] from a shape string (one kind letter per
    /// field, see [`super::scan::kind`]); the arms below only pick the shape and name the fields.
    pub fn parse_parts(line: &'a [u8], payload: Option<&'a [u8]>) -> Result<Self, WireError> {
        use ServerCommand as S;
        let line = Line::parse(line)?;
        let args = line.args();
        let Some(sv) = server_verb(verb_key(line.verb())) else {
            return Ok(match line.error_code() {
                Some(code) => {
                    let mut rest = args;
                    let trid = rest.get(0).and_then(TrId::parse);
                    if trid.is_some() {
                        rest.next();
                    }
                    S::Error {
                        code: ServerErrorCode(code),
                        trid,
                        rest,
                    }
                }
                None => S::Unknown {
                    verb: line.verb(),
                    args,
                },
            });
        };
        let cmd = match sv {
            Sv::VER => {
                let f = scan(args, b"T")?;
                S::Ver {
                    trid: f.t(0),
                    dialects: f.rest,
                }
            }
            Sv::INF => {
                let f = scan(args, b"T")?;
                S::Inf {
                    trid: f.t(0),
                    packages: f.rest,
                }
            }
            Sv::CVR => {
                let f = scan(args, b"TSOOOO")?;
                S::Cvr {
                    trid: f.t(0),
                    recommended: f.s(1),
                    recommended_again: f.o(2),
                    minimum: f.o(3),
                    download_url: f.o(4),
                    info_url: f.o(5),
                    rest: f.rest,
                }
            }
            Sv::USR => {
                if args.get(1) == Some(b"OK") {
                    let f = scan(args, b"TSSSFO")?;
                    S::UsrOk {
                        trid: f.t(0),
                        handle: f.s(2),
                        friendly: f.s(3),
                        verified: f.on(4).map(|v| v != 0),
                        flag: f.o(5),
                        rest: f.rest,
                    }
                } else {
                    let f = scan(args, b"TSSO")?;
                    S::UsrAuth {
                        trid: f.t(0),
                        package: f.s(1),
                        stage: f.s(2),
                        value: f.o(3),
                        rest: f.rest,
                    }
                }
            }
            Sv::XFR => match args.get(1) {
                Some(b"SB") => {
                    let f = scan(args, b"TSSSS")?;
                    S::XfrSb {
                        trid: f.t(0),
                        address: f.s(2),
                        auth: f.s(3),
                        cookie: f.s(4),
                        rest: f.rest,
                    }
                }
                Some(b"NS") => {
                    let f = scan(args, b"ZSS")?;
                    S::XfrNs {
                        trid: f.z(0),
                        address: f.s(2),
                        rest: f.rest,
                    }
                }
                _ => {
                    scan(args, b"ZS")?;
                    return Err(WireError::BadArg);
                }
            },
            Sv::OUT => {
                let f = scan(args, b"O")?;
                S::Out {
                    reason: f.o(0),
                    rest: f.rest,
                }
            }
            Sv::SYN => {
                let f = scan(args, b"TNPN")?;
                S::Syn {
                    trid: f.t(0),
                    version: f.n(1),
                    contacts: f.on(2),
                    groups: f.on(3),
                    rest: f.rest,
                }
            }
            Sv::LST => {
                let mut p = args;
                let first = p.next().and_then(parse_u32);
                let list = p.next().and_then(ListKind::from_token);
                if first.is_some() && list.is_some() {
                    let f = scan(args, b"ZLNNNOSO")?;
                    S::Lst {
                        trid: f.z(0),
                        list: f.list,
                        version: f.n(2),
                        index: f.n(3),
                        total: f.n(4),
                        handle: f.o(5),
                        nickname: f.o(6),
                        groups: f.o(7),
                        rest: f.rest,
                    }
                } else {
                    let f = scan(args, b"SSNO")?;
                    S::LstContact {
                        handle: f.s(0),
                        nickname: f.s(1),
                        lists: u8::try_from(f.n(2)).map_err(|_| WireError::BadArg)?,
                        groups: f.o(3),
                        rest: f.rest,
                    }
                }
            }
            Sv::LSG => {
                if args.skip(5).next().is_some() {
                    let f = scan(args, b"ZNNNNS")?;
                    S::Lsg {
                        trid: f.z(0),
                        version: f.n(1),
                        index: f.n(2),
                        total: f.n(3),
                        group_id: f.n(4),
                        name: f.s(5),
                        rest: f.rest,
                    }
                } else {
                    let f = scan(args, b"NS")?;
                    S::LsgGroup {
                        group_id: f.n(0),
                        name: f.s(1),
                        rest: f.rest,
                    }
                }
            }
            Sv::GTC | Sv::BLP => {
                let stamped = args.get(0).and_then(parse_u32).is_some();
                let f = scan(args, if stamped { &b"NNS"[..] } else { b"S" })?;
                let (stamp, value) = if stamped {
                    (Some((f.n(0), f.n(1))), f.s(2))
                } else {
                    (None, f.s(0))
                };
                let rest = f.rest;
                if sv == Sv::GTC {
                    S::Gtc { stamp, value, rest }
                } else {
                    S::Blp { stamp, value, rest }
                }
            }
            Sv::PRP => {
                let f = scan(args, b"QQSO")?;
                let (trid, version) = match f.on(1) {
                    Some(v) => (f.on(0), Some(v)),
                    None => (None, f.on(0)),
                };
                S::Prp {
                    trid,
                    version,
                    property: f.s(2),
                    value: f.o(3),
                    rest: f.rest,
                }
            }
            Sv::BPR => {
                let f = scan(args, b"QHSO")?;
                S::Bpr {
                    version: f.on(0),
                    handle: f.o(1),
                    property: f.s(2),
                    value: f.o(3),
                    rest: f.rest,
                }
            }
            Sv::ADD => {
                let f = scan(args, b"ZLNSSP")?;
                S::Add {
                    trid: f.z(0),
                    list: f.list,
                    version: f.n(2),
                    handle: f.s(3),
                    nickname: f.s(4),
                    group: f.on(5),
                    rest: f.rest,
                }
            }
            Sv::REM => {
                let f = scan(args, b"ZLNSP")?;
                S::Rem {
                    trid: f.z(0),
                    list: f.list,
                    version: f.n(2),
                    handle: f.s(3),
                    group: f.on(4),
                    rest: f.rest,
                }
            }
            Sv::ADG => {
                let f = scan(args, b"TNSN")?;
                S::Adg {
                    trid: f.t(0),
                    version: f.n(1),
                    name: f.s(2),
                    group_id: f.n(3),
                    rest: f.rest,
                }
            }
            Sv::RMG => {
                let f = scan(args, b"TNN")?;
                S::Rmg {
                    trid: f.t(0),
                    version: f.n(1),
                    group_id: f.n(2),
                    rest: f.rest,
                }
            }
            Sv::REG => {
                let f = scan(args, b"TNNS")?;
                S::Reg {
                    trid: f.t(0),
                    version: f.n(1),
                    group_id: f.n(2),
                    name: f.s(3),
                    rest: f.rest,
                }
            }
            Sv::REA => {
                let f = scan(args, b"TNSS")?;
                S::Rea {
                    trid: f.t(0),
                    version: f.n(1),
                    handle: f.s(2),
                    name: f.s(3),
                    rest: f.rest,
                }
            }
            Sv::CHG => {
                let f = scan(args, b"ZAP")?;
                S::Chg {
                    trid: f.z(0),
                    status: f.status,
                    client_id: f.on(2),
                    rest: f.rest,
                }
            }
            Sv::ILN => {
                let f = scan(args, b"ZASSP")?;
                S::Iln {
                    trid: f.z(0),
                    status: f.status,
                    handle: f.s(2),
                    name: f.s(3),
                    client_id: f.on(4),
                    rest: f.rest,
                }
            }
            Sv::NLN => {
                let f = scan(args, b"ASSP")?;
                S::Nln {
                    status: f.status,
                    handle: f.s(1),
                    name: f.s(2),
                    client_id: f.on(3),
                    rest: f.rest,
                }
            }
            Sv::FLN => {
                let f = scan(args, b"S")?;
                S::Fln {
                    handle: f.s(0),
                    rest: f.rest,
                }
            }
            Sv::QNG => S::Qng { rest: args },
            Sv::CHL => {
                let f = scan(args, b"ZS")?;
                S::Chl {
                    trid: f.z(0),
                    challenge: f.s(1),
                    rest: f.rest,
                }
            }
            Sv::QRY => {
                let f = scan(args, b"T")?;
                S::Qry {
                    trid: f.t(0),
                    rest: f.rest,
                }
            }
            Sv::IMS => {
                let f = scan(args, b"TNS")?;
                S::Ims {
                    trid: f.t(0),
                    number: f.n(1),
                    mode: f.s(2),
                    rest: f.rest,
                }
            }
            Sv::URL => {
                let f = scan(args, b"TSSO")?;
                S::Url {
                    trid: f.t(0),
                    redirect: f.s(1),
                    login_url: f.s(2),
                    site_id: f.o(3),
                    rest: f.rest,
                }
            }
            Sv::SND | Sv::SDC | Sv::ANS => {
                let f = scan(args, b"TS")?;
                let (trid, result, rest) = (f.t(0), f.s(1), f.rest);
                match sv {
                    Sv::SND => S::Snd { trid, result, rest },
                    Sv::SDC => S::Sdc { trid, result, rest },
                    _ => S::Ans { trid, result, rest },
                }
            }
            Sv::FND | Sv::ACK | Sv::NAK => {
                let f = scan(args, b"T")?;
                let (trid, rest) = (f.t(0), f.rest);
                match sv {
                    Sv::FND => S::Fnd { trid, rest },
                    Sv::ACK => S::Ack { trid, rest },
                    _ => S::Nak { trid, rest },
                }
            }
            Sv::NOT | Sv::IPG | Sv::MSG => {
                let (before, len) = split_len(args)?;
                let payload = payload_of(len, payload)?;
                match sv {
                    Sv::MSG => {
                        let f = scan(before, b"SSO")?;
                        if f.o(2).is_some() {
                            return Err(WireError::BadArg);
                        }
                        S::Msg {
                            sender: f.s(0),
                            name: f.s(1),
                            payload,
                        }
                    }
                    _ if !before.is_empty() => return Err(WireError::BadArg),
                    Sv::NOT => S::Not { payload },
                    _ => S::Ipg { payload },
                }
            }
            Sv::RNG => {
                let f = scan(args, b"SSSSSS")?;
                S::Rng {
                    session: f.s(0),
                    address: f.s(1),
                    auth: f.s(2),
                    cookie: f.s(3),
                    handle: f.s(4),
                    name: f.s(5),
                    rest: f.rest,
                }
            }
            Sv::CAL => {
                let f = scan(args, b"TSO")?;
                S::Cal {
                    trid: f.t(0),
                    result: f.s(1),
                    session: f.o(2),
                    rest: f.rest,
                }
            }
            Sv::JOI => {
                let f = scan(args, b"SS")?;
                S::Joi {
                    handle: f.s(0),
                    name: f.s(1),
                    rest: f.rest,
                }
            }
            Sv::IRO => {
                let f = scan(args, b"TNNSS")?;
                S::Iro {
                    trid: f.t(0),
                    index: f.n(1),
                    total: f.n(2),
                    handle: f.s(3),
                    name: f.s(4),
                    rest: f.rest,
                }
            }
            Sv::BYE => {
                let f = scan(args, b"S")?;
                S::Bye {
                    handle: f.s(0),
                    rest: f.rest,
                }
            }
        };
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
#[allow(missing_docs)] // Fields are the wire fields named in each variant's doc line, in order.
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
        let cmd = match verb_key(line.verb()) {
            verb::VER => {
                let f = scan(args, b"T")?;
                C::Ver {
                    trid: f.t(0),
                    dialects: f.rest,
                }
            }
            verb::INF | verb::LSG | verb::FND => {
                let f = scan(args, b"T")?;
                let (trid, rest) = (f.t(0), f.rest);
                match verb_key(line.verb()) {
                    verb::INF => C::Inf { trid, rest },
                    verb::LSG => C::Lsg { trid, rest },
                    _ => C::Fnd { trid, rest },
                }
            }
            verb::CVR => {
                let f = scan(args, b"TSSSSSSOO")?;
                C::Cvr {
                    trid: f.t(0),
                    locale: f.s(1),
                    os_type: f.s(2),
                    os_version: f.s(3),
                    arch: f.s(4),
                    client_name: f.s(5),
                    client_version: f.s(6),
                    code_base: f.o(7),
                    handle: f.o(8),
                    rest: f.rest,
                }
            }
            verb::USR => {
                if args.get(1).is_some_and(is_auth_package) {
                    let f = scan(args, b"TSSS")?;
                    C::UsrAuth {
                        trid: f.t(0),
                        package: f.s(1),
                        stage: f.s(2),
                        value: f.s(3),
                        rest: f.rest,
                    }
                } else {
                    let f = scan(args, b"TSS")?;
                    C::UsrSb {
                        trid: f.t(0),
                        handle: f.s(1),
                        cookie: f.s(2),
                        rest: f.rest,
                    }
                }
            }
            verb::XFR => {
                let f = scan(args, b"TS")?;
                C::Xfr {
                    trid: f.t(0),
                    kind: f.s(1),
                    rest: f.rest,
                }
            }
            verb::OUT => C::Out { rest: args },
            verb::PNG => C::Png { rest: args },
            verb::SYN | verb::RMG => {
                let f = scan(args, b"TN")?;
                let (trid, rest) = (f.t(0), f.rest);
                if verb_key(line.verb()) == verb::SYN {
                    C::Syn {
                        trid,
                        version: f.n(1),
                        rest,
                    }
                } else {
                    C::Rmg {
                        trid,
                        group_id: f.n(1),
                        rest,
                    }
                }
            }
            verb::LST => {
                let f = scan(args, b"TL")?;
                C::Lst {
                    trid: f.t(0),
                    list: f.list,
                    rest: f.rest,
                }
            }
            verb::GTC | verb::BLP | verb::ADG | verb::IMS | verb::SND | verb::CAL => {
                let f = scan(args, b"TS")?;
                let (trid, v, rest) = (f.t(0), f.s(1), f.rest);
                match verb_key(line.verb()) {
                    verb::GTC => C::Gtc {
                        trid,
                        value: v,
                        rest,
                    },
                    verb::BLP => C::Blp {
                        trid,
                        value: v,
                        rest,
                    },
                    verb::ADG => C::Adg {
                        trid,
                        name: v,
                        rest,
                    },
                    verb::IMS => C::Ims {
                        trid,
                        mode: v,
                        rest,
                    },
                    verb::SND => C::Snd {
                        trid,
                        email: v,
                        rest,
                    },
                    _ => C::Cal {
                        trid,
                        handle: v,
                        rest,
                    },
                }
            }
            verb::PRP | verb::URL => {
                let f = scan(args, b"TSO")?;
                let (trid, s, o, rest) = (f.t(0), f.s(1), f.o(2), f.rest);
                if verb_key(line.verb()) == verb::PRP {
                    C::Prp {
                        trid,
                        property: s,
                        value: o,
                        rest,
                    }
                } else {
                    C::Url {
                        trid,
                        service: s,
                        parameter: o,
                        rest,
                    }
                }
            }
            verb::ADD => {
                let f = scan(args, b"TLSOP")?;
                C::Add {
                    trid: f.t(0),
                    list: f.list,
                    handle: f.s(2),
                    nickname: f.o(3),
                    group: f.on(4),
                    rest: f.rest,
                }
            }
            verb::REM => {
                let f = scan(args, b"TLSP")?;
                C::Rem {
                    trid: f.t(0),
                    list: f.list,
                    handle: f.s(2),
                    group: f.on(3),
                    rest: f.rest,
                }
            }
            verb::REG => {
                let f = scan(args, b"TNS")?;
                C::Reg {
                    trid: f.t(0),
                    group_id: f.n(1),
                    name: f.s(2),
                    rest: f.rest,
                }
            }
            verb::REA => {
                let f = scan(args, b"TSS")?;
                C::Rea {
                    trid: f.t(0),
                    handle: f.s(1),
                    name: f.s(2),
                    rest: f.rest,
                }
            }
            verb::CHG => {
                let f = scan(args, b"TAP")?;
                C::Chg {
                    trid: f.t(0),
                    status: f.status,
                    client_id: f.on(2),
                    rest: f.rest,
                }
            }
            verb::ANS => {
                let f = scan(args, b"TSSS")?;
                C::Ans {
                    trid: f.t(0),
                    handle: f.s(1),
                    cookie: f.s(2),
                    session: f.s(3),
                    rest: f.rest,
                }
            }
            verb @ (verb::QRY | verb::SDC | verb::PAG | verb::MSG) => {
                let (before, len) = split_len(args)?;
                let payload = payload_of(len, payload)?;
                let f = scan(before, if verb == verb::SDC { &b"TS"[..] } else { b"TSO" })?;
                let (trid, s) = (f.t(0), f.s(1));
                if verb == verb::SDC {
                    return Ok(C::Sdc {
                        trid,
                        email: s,
                        fields: f.rest,
                        payload,
                    });
                }
                if f.o(2).is_some() {
                    return Err(WireError::BadArg);
                }
                match verb {
                    verb::QRY => C::Qry {
                        trid,
                        product_id: s,
                        payload,
                    },
                    verb::PAG => C::Pag {
                        trid,
                        handle: s,
                        payload,
                    },
                    _ => C::Msg {
                        trid,
                        ack: AckMode::from_token(s).ok_or(WireError::BadArg)?,
                        payload,
                    },
                }
            }
            _ => C::Unknown {
                verb: line.verb(),
                args,
            },
        };
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

    fn write(&self, w: &mut Writer<'_>) {
        use ClientCommand as C;
        match *self {
            C::Ver { trid, dialects } => w.tok(b"VER").trid(trid).args(dialects),
            C::Inf { trid, rest } => w.tok(b"INF").trid(trid).args(rest),
            C::Cvr {
                trid,
                locale,
                os_type,
                os_version,
                arch,
                client_name,
                client_version,
                code_base,
                handle,
                rest,
            } => w
                .tok(b"CVR")
                .trid(trid)
                .tok(locale)
                .tok(os_type)
                .tok(os_version)
                .tok(arch)
                .tok(client_name)
                .tok(client_version)
                .opt(code_base)
                .opt(handle)
                .args(rest),
            C::UsrAuth {
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
                .tok(value)
                .args(rest),
            C::UsrSb {
                trid,
                handle,
                cookie,
                rest,
            } => w.tok(b"USR").trid(trid).tok(handle).tok(cookie).args(rest),
            C::Xfr { trid, kind, rest } => w.tok(b"XFR").trid(trid).tok(kind).args(rest),
            C::Out { rest } => w.tok(b"OUT").args(rest),
            C::Syn {
                trid,
                version,
                rest,
            } => w.tok(b"SYN").trid(trid).num(version).args(rest),
            C::Lst { trid, list, rest } => w.tok(b"LST").trid(trid).tok(list.token()).args(rest),
            C::Lsg { trid, rest } => w.tok(b"LSG").trid(trid).args(rest),
            C::Gtc { trid, value, rest } => w.tok(b"GTC").trid(trid).tok(value).args(rest),
            C::Blp { trid, value, rest } => w.tok(b"BLP").trid(trid).tok(value).args(rest),
            C::Prp {
                trid,
                property,
                value,
                rest,
            } => w.tok(b"PRP").trid(trid).tok(property).opt(value).args(rest),
            C::Add {
                trid,
                list,
                handle,
                nickname,
                group,
                rest,
            } => w
                .tok(b"ADD")
                .trid(trid)
                .tok(list.token())
                .tok(handle)
                .opt(nickname)
                .opt_num(group)
                .args(rest),
            C::Rem {
                trid,
                list,
                handle,
                group,
                rest,
            } => w
                .tok(b"REM")
                .trid(trid)
                .tok(list.token())
                .tok(handle)
                .opt_num(group)
                .args(rest),
            C::Adg { trid, name, rest } => w.tok(b"ADG").trid(trid).tok(name).args(rest),
            C::Rmg {
                trid,
                group_id,
                rest,
            } => w.tok(b"RMG").trid(trid).num(group_id).args(rest),
            C::Reg {
                trid,
                group_id,
                name,
                rest,
            } => w.tok(b"REG").trid(trid).num(group_id).tok(name).args(rest),
            C::Rea {
                trid,
                handle,
                name,
                rest,
            } => w.tok(b"REA").trid(trid).tok(handle).tok(name).args(rest),
            C::Chg {
                trid,
                status,
                client_id,
                rest,
            } => w
                .tok(b"CHG")
                .trid(trid)
                .tok(status.token())
                .opt_num(client_id)
                .args(rest),
            C::Png { rest } => w.tok(b"PNG").args(rest),
            C::Qry {
                trid,
                product_id,
                payload,
            } => w
                .tok(b"QRY")
                .trid(trid)
                .tok(product_id)
                .num(len_u32(payload)),
            C::Ims { trid, mode, rest } => w.tok(b"IMS").trid(trid).tok(mode).args(rest),
            C::Url {
                trid,
                service,
                parameter,
                rest,
            } => w
                .tok(b"URL")
                .trid(trid)
                .tok(service)
                .opt(parameter)
                .args(rest),
            C::Snd { trid, email, rest } => w.tok(b"SND").trid(trid).tok(email).args(rest),
            C::Sdc {
                trid,
                email,
                fields,
                payload,
            } => w
                .tok(b"SDC")
                .trid(trid)
                .tok(email)
                .args(fields)
                .num(len_u32(payload)),
            C::Fnd { trid, rest } => w.tok(b"FND").trid(trid).args(rest),
            C::Pag {
                trid,
                handle,
                payload,
            } => w.tok(b"PAG").trid(trid).tok(handle).num(len_u32(payload)),
            C::Msg { trid, ack, payload } => w
                .tok(b"MSG")
                .trid(trid)
                .tok(ack.token())
                .num(len_u32(payload)),
            C::Cal { trid, handle, rest } => w.tok(b"CAL").trid(trid).tok(handle).args(rest),
            C::Ans {
                trid,
                handle,
                cookie,
                session,
                rest,
            } => w
                .tok(b"ANS")
                .trid(trid)
                .tok(handle)
                .tok(cookie)
                .tok(session)
                .args(rest),
            C::Unknown { verb, args } => w.tok(verb).args(args),
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
