//! The crate-wide error classification every layer's error maps into.

/// Classify an error for callers that only switch on the broad cause (the C UI does).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum ErrorKind {
    /// The peer sent bytes that do not follow the protocol.
    Malformed,
    /// The peer sent something valid that does not fit the current state.
    Unexpected,
    /// A fixed buffer or collection chosen by the caller is full.
    Capacity,
    /// Authentication failed (wrong password, refused ticket, bad login answer).
    Auth,
    /// The server answered with a numeric MSNP error or a WTVP error status.
    Server,
    /// A deadline passed without an answer.
    Timeout,
    /// The connection is closed or was lost.
    Closed,
    /// The caller broke an API rule (wrong state, bad argument).
    Local,
}

impl ErrorKind {
    /// Return a short English description of this kind.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Malformed => "malformed input from peer",
            ErrorKind::Unexpected => "unexpected input for the current state",
            ErrorKind::Capacity => "capacity exhausted",
            ErrorKind::Auth => "authentication failed",
            ErrorKind::Server => "server reported an error",
            ErrorKind::Timeout => "timed out",
            ErrorKind::Closed => "connection closed",
            ErrorKind::Local => "invalid use of the API",
        }
    }
}

impl core::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}
