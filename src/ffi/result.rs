//! `msgr_result`: every C entry point's return code, and `msgr_strerror`.

use crate::error::ErrorKind;
use core::ffi::c_char;

/// The result of a C ABI call. Values live in their own range (7000–7999) so they cannot be
/// mistaken for MSNP's three-digit server codes; retired numbers are never reused.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MsgrResult {
    /// The call succeeded.
    Ok = 0,
    /// A required pointer was NULL.
    NullParameter = 7001,
    /// An argument was out of range (unknown enum value, zero where not allowed).
    InvalidParameter = 7002,
    /// A string argument was not valid UTF-8.
    NotUtf8 = 7003,
    /// A string or buffer argument was longer than the protocol allows.
    TooLong = 7004,
    /// A string argument was empty where text is required.
    Empty = 7005,
    /// The call was made from inside a hook, where it is not allowed.
    Reentrant = 7006,
    /// The call does not fit the current state (for example sending before sign-in).
    WrongState = 7007,
    /// The memory arena is too small for the requested configuration.
    ArenaTooSmall = 7008,
    /// The memory arena is not aligned for the core's structures.
    ArenaMisaligned = 7009,
    /// The core panicked (host builds only; on the box a panic aborts).
    Panic = 7010,
    /// An output buffer was too small; nothing was written.
    BufferTooSmall = 7011,
    /// The peer sent bytes that do not follow the protocol.
    Malformed = 7101,
    /// The peer sent something valid that does not fit the current state.
    Unexpected = 7102,
    /// A fixed capacity chosen at initialisation is exhausted.
    Capacity = 7103,
    /// Authentication failed.
    Auth = 7104,
    /// The server reported an error.
    Server = 7105,
    /// A deadline passed without an answer.
    Timeout = 7106,
    /// The connection is closed or was lost.
    Closed = 7107,
    /// Messenger is not authorised or not enabled for this account by the service.
    NotAuthorized = 7108,
}

impl MsgrResult {
    /// Convert a raw code from C; an unknown value becomes [`MsgrResult::InvalidParameter`].
    pub const fn from_u32(v: u32) -> MsgrResult {
        use MsgrResult::*;
        match v {
            0 => Ok,
            7001 => NullParameter,
            7002 => InvalidParameter,
            7003 => NotUtf8,
            7004 => TooLong,
            7005 => Empty,
            7006 => Reentrant,
            7007 => WrongState,
            7008 => ArenaTooSmall,
            7009 => ArenaMisaligned,
            7010 => Panic,
            7011 => BufferTooSmall,
            7101 => Malformed,
            7102 => Unexpected,
            7103 => Capacity,
            7104 => Auth,
            7105 => Server,
            7106 => Timeout,
            7107 => Closed,
            7108 => NotAuthorized,
            _ => InvalidParameter,
        }
    }

    /// Return a NUL-terminated English description of this code.
    pub const fn message(self) -> &'static [u8] {
        use MsgrResult::*;
        match self {
            Ok => b"success\0",
            NullParameter => b"a required pointer was NULL\0",
            InvalidParameter => b"an argument was out of range\0",
            NotUtf8 => b"a string argument was not valid UTF-8\0",
            TooLong => b"an argument was longer than the protocol allows\0",
            Empty => b"a string argument was empty\0",
            Reentrant => b"call not allowed from inside a hook\0",
            WrongState => b"call does not fit the current state\0",
            ArenaTooSmall => b"memory arena too small\0",
            ArenaMisaligned => b"memory arena misaligned\0",
            Panic => b"the core panicked\0",
            BufferTooSmall => b"output buffer too small\0",
            Malformed => b"malformed input from the server\0",
            Unexpected => b"unexpected input from the server\0",
            Capacity => b"capacity exhausted\0",
            Auth => b"authentication failed\0",
            Server => b"the server reported an error\0",
            Timeout => b"timed out\0",
            Closed => b"connection closed\0",
            NotAuthorized => b"Messenger is not enabled for this account\0",
        }
    }
}

impl From<ErrorKind> for MsgrResult {
    fn from(k: ErrorKind) -> Self {
        match k {
            ErrorKind::Malformed => MsgrResult::Malformed,
            ErrorKind::Unexpected => MsgrResult::Unexpected,
            ErrorKind::Capacity => MsgrResult::Capacity,
            ErrorKind::Auth => MsgrResult::Auth,
            ErrorKind::Server => MsgrResult::Server,
            ErrorKind::Timeout => MsgrResult::Timeout,
            ErrorKind::Closed => MsgrResult::Closed,
            ErrorKind::Local => MsgrResult::WrongState,
        }
    }
}

/// Return a static NUL-terminated description of `code` (any value, known or not).
#[no_mangle]
pub extern "C" fn msgr_strerror(code: u32) -> *const c_char {
    let known = MsgrResult::from_u32(code);
    let msg: &'static [u8] = if known as u32 == code {
        known.message()
    } else {
        b"unknown result code\0"
    };
    msg.as_ptr().cast()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips_and_has_a_nul_terminated_message() {
        for v in 0..8000u32 {
            let r = MsgrResult::from_u32(v);
            if r as u32 == v {
                let m = r.message();
                assert_eq!(m.last(), Some(&0), "{v}");
                assert_eq!(m.iter().filter(|&&b| b == 0).count(), 1, "{v}");
            }
        }
        assert_eq!(MsgrResult::from_u32(12345), MsgrResult::InvalidParameter);
    }

    #[test]
    fn strerror_of_unknown_code_is_generic() {
        // SAFETY: msgr_strerror returns a static NUL-terminated string.
        let s = unsafe { core::ffi::CStr::from_ptr(msgr_strerror(4242)) };
        assert_eq!(s.to_str(), Ok("unknown result code"));
        let s = unsafe { core::ffi::CStr::from_ptr(msgr_strerror(7006)) };
        assert_eq!(s.to_str(), Ok("call not allowed from inside a hook"));
    }
}
