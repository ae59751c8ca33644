//! Protocol limits and default capacities, in one place (reference §2.8).

/// Longest account name (passport) in bytes.
pub const MAX_PASSPORT_LEN: usize = 129;
/// Longest friendly name after %-encoding, in bytes.
pub const MAX_FRIENDLY_NAME_ENCODED: usize = 387;
/// Longest group name after %-encoding, in bytes.
pub const MAX_GROUP_NAME_ENCODED: usize = 61;
/// Highest group id a server hands out (ids 0..=29).
pub const MAX_GROUP_ID: u32 = 29;
/// Largest `MSG` payload a client may send on a switchboard; longer bodies are split.
pub const MAX_OUTGOING_MSG_PAYLOAD: usize = 1664;
/// Longest `PAG` text in characters.
pub const MAX_PAGE_TEXT_CHARS: usize = 113;
/// Default receive-buffer size for server lines plus payload.
pub const DEFAULT_RX_BUFFER: usize = 4096;
/// Receive buffer of a notification session on the box: its longest line
/// ([`crate::msnp::ns::session::MAX_NS_LINE`], an `RNG` of 728 bytes; checked at compile
/// time). A payload frame longer than that (Escargot's 1,465-byte login profile `MSG`, mail
/// notices, `NOT`) is finished in the large-frame buffer the client shares with the
/// switchboards (see [`crate::client::Client::input_paused`]); one longer than that buffer is
/// skipped and reported.
pub const NS_RX_BUFFER: usize = 728;
/// Transmit buffer of a notification session on the box: the largest command it writes (a
/// 113-character `PAG` of non-ASCII text, about 1,330 bytes) with room to spare.
pub const NS_TX_BUFFER: usize = 1536;
/// Default contact capacity (the WebTV profile).
pub const DEFAULT_MAX_CONTACTS: usize = 150;
/// Default group capacity.
pub const DEFAULT_MAX_GROUPS: usize = 30;
/// Default name-pool bytes per contact: a 4-byte block header, a typical 20–30-byte passport
/// and a short custom friendly name (a name equal to the passport, the default on MSN, costs
/// nothing); phone numbers are rare.
pub const DEFAULT_NAME_BYTES_PER_CONTACT: usize = 48;
/// Default name-pool bytes per group: a 4-byte header and a typical group name.
pub const DEFAULT_NAME_BYTES_PER_GROUP: usize = 16;
/// Default number of concurrent conversations.
pub const DEFAULT_MAX_CONVERSATIONS: usize = 4;
