//! Fixed-buffer MSNP framing and typed commands.
//!
//! Layers, bottom up:
//!
//! - [`frame`]: [`FrameReader`] turns byte chunks of any size into complete frames (a command
//!   line plus, for payload commands, exactly the announced number of payload bytes) inside a
//!   receive buffer whose size the caller chooses. The framing policy (bare LF, unknown verbs,
//!   oversized lines and payloads) is documented there.
//! - [`line`]: [`Line`], a view over one command line: verb and space-separated arguments.
//! - [`command`]: [`ServerCommand`] and [`ClientCommand`], typed borrowed views of every command of
//!   MSNP2–MSNP8 in each direction, with `parse`, `buffer_len` and `emit` (smoltcp `Repr` style).
//! - [`trid`], [`server_error`], [`escape`], [`mime`]: transaction ids, the numeric error table,
//!   %-encoding of names, and a view over `MSG` payloads.
//!
//! Contract: no input makes any function here panic or allocate. After [`Line::parse`] succeeds
//! no getter fails, and `emit` either writes the whole command or reports
//! [`WireError::BufferTooSmall`] (a buffer of exactly `buffer_len()` bytes always suffices).
#![forbid(unsafe_code)]
#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

pub mod command;
pub mod escape;
pub mod frame;
pub mod line;
pub mod mime;
pub mod server_error;
pub mod trid;
mod verbs;
mod writer;

pub use command::{AckMode, ClientCommand, ListKind, ServerCommand, Status};
pub use frame::{Direction, Frame, FrameCore, FrameError, FrameReader};
pub use line::{Args, Line};
pub use server_error::ServerErrorCode;
pub use trid::{TrId, TrIdAllocator};

use crate::error::ErrorKind;

/// Describe why a line could not be read as a command or a command could not be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum WireError {
    /// The verb is not three letters or digits (empty line, `X`, stray bytes).
    BadVerb,
    /// A field that must be a transaction id is missing, not decimal, zero or too large.
    BadTrId,
    /// A required argument is missing.
    MissingArg,
    /// An argument does not have the form its position requires (number, list, status, mode).
    BadArg,
    /// A payload length does not match the payload, or a payload command has no length.
    BadLength,
    /// The output buffer is too small for the encoded command.
    BufferTooSmall,
    /// A name is longer than the protocol allows once %-encoded.
    NameTooLong,
    /// A value to encode contains a byte that cannot travel in an argument (space, CR, LF).
    BadValue,
}

impl WireError {
    /// Return a short English description of the error.
    pub const fn as_str(self) -> &'static str {
        match self {
            WireError::BadVerb => "bad verb",
            WireError::BadTrId => "bad transaction id",
            WireError::MissingArg => "missing argument",
            WireError::BadArg => "bad argument",
            WireError::BadLength => "bad payload length",
            WireError::BufferTooSmall => "output buffer too small",
            WireError::NameTooLong => "name too long",
            WireError::BadValue => "value cannot be sent as an argument",
        }
    }

    /// Classify the error for callers that only switch on the broad cause.
    pub const fn kind(self) -> ErrorKind {
        match self {
            WireError::BufferTooSmall => ErrorKind::Capacity,
            WireError::NameTooLong | WireError::BadValue => ErrorKind::Local,
            _ => ErrorKind::Malformed,
        }
    }
}

impl core::fmt::Display for WireError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Name a negotiated protocol dialect, `MSNP2` through `MSNP8`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ProtocolVersion(u8);

impl ProtocolVersion {
    /// Return the lowest supported dialect, MSNP2.
    pub const MIN: ProtocolVersion = ProtocolVersion(2);
    /// Return the highest supported dialect, MSNP8.
    pub const MAX: ProtocolVersion = ProtocolVersion(8);

    /// Make a version from its number, if it is in 2..=8.
    pub const fn new(n: u8) -> Option<Self> {
        if n >= 2 && n <= 8 {
            Some(ProtocolVersion(n))
        } else {
            None
        }
    }

    /// Parse a dialect token such as `MSNP8` (case-insensitive), if it names 2..=8.
    pub fn from_token(t: &[u8]) -> Option<Self> {
        match t {
            [m, s, n, p, d]
                if [*m, *s, *n, *p].eq_ignore_ascii_case(b"MSNP") && d.is_ascii_digit() =>
            {
                Self::new(d.wrapping_sub(b'0'))
            }
            _ => None,
        }
    }

    /// Return the dialect number.
    pub const fn number(self) -> u8 {
        self.0
    }

    /// Return the dialect token, `MSNP2` … `MSNP8`.
    pub const fn token(self) -> [u8; 5] {
        [b'M', b'S', b'N', b'P', b'0'.wrapping_add(self.0)]
    }

    /// Query whether the dialect uses `INF` (MSNP2–7).
    pub const fn sends_inf(self) -> bool {
        self.0 <= 7
    }

    /// Return how many parameters follow the TrID in our `CVR` (6, 7 or 8).
    pub const fn cvr_fields(self) -> usize {
        match self.0 {
            2 | 3 => 6,
            4..=7 => 7,
            _ => 8,
        }
    }

    /// Return how many fields follow handle and name in `USR … OK` (0, 1 or 2).
    pub const fn usr_ok_extra_fields(self) -> usize {
        match self.0 {
            2..=5 => 0,
            6 | 7 => 1,
            _ => 2,
        }
    }

    /// Query whether the dialect has `PRP`, `BPR`, `NOT`, `PAG` and `SDC` (MSNP5+).
    pub const fn has_prp_bpr_not_pag(self) -> bool {
        self.0 >= 5
    }

    /// Query whether the dialect has `CHL`/`QRY` (MSNP6+).
    pub const fn has_chl(self) -> bool {
        self.0 >= 6
    }

    /// Query whether the dialect has groups (MSNP7+).
    pub const fn has_groups(self) -> bool {
        self.0 >= 7
    }

    /// Query whether sync replies are per contact without TrIDs (MSNP8).
    pub const fn per_contact_sync(self) -> bool {
        self.0 >= 8
    }

    /// Query whether `CHG`, `ILN` and `NLN` carry the client capability number (MSNP8).
    pub const fn presence_has_client_id(self) -> bool {
        self.0 >= 8
    }
}
