//! What a notification session is told at start: server, account, versions, identity, timers.

use crate::auth::{DEFAULT_QRY_CLIENT_ID, DEFAULT_QRY_CLIENT_KEY};
use crate::msnp::wire::{ProtocolVersion, Status};
use crate::time::Duration;

/// The `CVR` fields after the TrID (the MSNP8 passport is appended by the session).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CvrIdentity<'c> {
    /// Locale id, `0x0409`.
    pub locale: &'c str,
    /// Operating system type, `webtv`.
    pub os_type: &'c str,
    /// Operating system version, `2.8`.
    pub os_version: &'c str,
    /// Architecture, `MIPS`.
    pub arch: &'c str,
    /// Client library name, `msntvim`.
    pub client_name: &'c str,
    /// Client version, `2.8`.
    pub client_version: &'c str,
    /// Client code base, `msntv`.
    pub code_base: &'c str,
}

impl CvrIdentity<'static> {
    /// Return the identity MSN TV 2.8 sent: `0x0409 webtv 2.8 MIPS msntvim 2.8 msntv`.
    pub const WEBTV: CvrIdentity<'static> = CvrIdentity {
        locale: "0x0409",
        os_type: "webtv",
        os_version: "2.8",
        arch: "MIPS",
        client_name: "msntvim",
        client_version: "2.8",
        code_base: "msntv",
    };
}

/// Say when to send `CVR`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CvrPolicy {
    /// Send `CVR` right after `VER` in every dialect (what the recordings and WebTV do).
    Always,
    /// Send `CVR` only where it is mandatory (MSNP8).
    WhenRequired,
}

/// Configure a notification session.
#[derive(Debug, Clone, Copy)]
pub struct NsConfig<'c> {
    /// Host of the first server (dispatch or notification server).
    pub host: &'c str,
    /// Port of the first server (1863).
    pub port: u16,
    /// The account name.
    pub passport: &'c str,
    /// Bit set of offered dialects: bit `n` offers `MSNPn` (2..=8). Default: all of 2..=8.
    pub versions: u16,
    /// Offer `CVR0` in `VER` (as the WebTV firmware did).
    pub offer_cvr0: bool,
    /// The identity sent in `CVR`; `None` never sends `CVR` (then MSNP8 cannot be offered).
    pub identity: Option<CvrIdentity<'c>>,
    /// When to send `CVR`.
    pub cvr_policy: CvrPolicy,
    /// The `QRY` product id.
    pub qry_client_id: &'c str,
    /// The `QRY` product key.
    pub qry_client_key: &'c str,
    /// The MSNP8 client capability number sent with `CHG` (Escargot ignores a `CHG` without one).
    pub client_id: u32,
    /// Status to set right after the list sync; `None` waits for the caller.
    pub initial_status: Option<Status>,
    /// Whether the server is known to handle `PAG` (Escargot does not; default off).
    pub server_supports_pager: bool,
    /// Longest wait for any login step or request reply.
    pub request_timeout: Duration,
    /// Quiet time on the link after which a `PNG` is sent.
    pub ping_interval: Duration,
    /// Wait for `QNG` after a `PNG` before the link is declared lost.
    pub ping_timeout: Duration,
    /// Most `XFR NS` redirects followed in one sign-in.
    pub max_redirects: u8,
}

/// Return the bit set offering every dialect from `lo` to `hi`.
pub const fn version_range(lo: u8, hi: u8) -> u16 {
    let mut set = 0u16;
    let mut v = lo;
    while v <= hi && v < 16 {
        set |= 1 << v;
        v += 1;
    }
    set
}

impl<'c> NsConfig<'c> {
    /// Make the WebTV default configuration for `passport` at `host:port`.
    pub const fn new(host: &'c str, port: u16, passport: &'c str) -> Self {
        NsConfig {
            host,
            port,
            passport,
            versions: version_range(2, 8),
            offer_cvr0: true,
            identity: Some(CvrIdentity::WEBTV),
            cvr_policy: CvrPolicy::Always,
            qry_client_id: DEFAULT_QRY_CLIENT_ID,
            qry_client_key: DEFAULT_QRY_CLIENT_KEY,
            client_id: 0,
            initial_status: Some(Status::Online),
            server_supports_pager: false,
            request_timeout: Duration::from_secs(30),
            ping_interval: Duration::from_secs(50),
            ping_timeout: Duration::from_secs(30),
            max_redirects: 3,
        }
    }

    /// Query whether dialect `v` is offered.
    pub const fn offers(&self, v: ProtocolVersion) -> bool {
        self.versions & (1 << v.number()) != 0
    }
}
