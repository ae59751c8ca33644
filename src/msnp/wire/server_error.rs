//! Numeric MSNP error replies, `NNN trid` (reference §3).

/// Hold a three-digit MSNP error code as the server sent it; unknown codes are kept as numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ServerErrorCode(pub u16);

/// `(code, name, description)`, sorted by code. Names follow the 1999 draft where it has one.
const TABLE: &[(u16, &str, &str)] = &[
    (200, "ERR_SYNTAX_ERROR", "invalid syntax"),
    (201, "ERR_INVALID_PARAMETER", "invalid parameter"),
    (204, "ERR_INVALID_NETWORK", "invalid network id"),
    (205, "ERR_INVALID_USER", "invalid user"),
    (206, "ERR_FQDN_MISSING", "domain name missing"),
    (207, "ERR_ALREADY_LOGIN", "already logged in"),
    (208, "ERR_INVALID_USERNAME", "invalid user name"),
    (209, "ERR_INVALID_FRIENDLY_NAME", "nickname change illegal"),
    (210, "ERR_LIST_FULL", "list full"),
    (211, "ERR_211", "unknown (MSNP2)"),
    (212, "ERR_212", "unknown (MSNP3)"),
    (213, "ERR_INVALID_RENAME", "invalid rename request"),
    (215, "ERR_ALREADY_THERE", "already on list"),
    (216, "ERR_NOT_ON_LIST", "not on list"),
    (217, "ERR_NOT_ONLINE", "principal not online"),
    (218, "ERR_ALREADY_IN_THE_MODE", "already in mode"),
    (
        219,
        "ERR_ALREADY_IN_OPPOSITE_LIST",
        "already in opposite list",
    ),
    (220, "ERR_NOT_IN_OTHER_LISTS", "page not allowed"),
    (223, "ERR_TOO_MANY_GROUPS", "too many groups"),
    (224, "ERR_INVALID_GROUP", "invalid group"),
    (225, "ERR_NOT_IN_GROUP", "principal not in group"),
    (227, "ERR_GROUP_NOT_EMPTY", "group not empty"),
    (228, "ERR_GROUP_EXISTS", "group already exists"),
    (229, "ERR_GROUP_NAME_TOO_LONG", "group name too long"),
    (230, "ERR_CANNOT_REMOVE_GROUP_ZERO", "cannot remove group 0"),
    (231, "ERR_INVALID_GROUP_2", "invalid group"),
    (240, "ERR_XML_240", "invalid XML payload"),
    (241, "ERR_XML_241", "invalid XML payload"),
    (280, "ERR_SWITCHBOARD_FAILED", "switchboard failed"),
    (
        281,
        "ERR_NOTIFY_XFR_FAILED",
        "transfer to switchboard failed",
    ),
    (282, "ERR_P2P", "malformed P2P message"),
    (
        300,
        "ERR_REQUIRED_FIELDS_MISSING",
        "required fields missing",
    ),
    (301, "ERR_TOO_MANY_HITS", "too many FND results"),
    (302, "ERR_NOT_LOGGED_IN", "not logged in"),
    (402, "ERR_CONTACT_LIST_402", "contact list service error"),
    (403, "ERR_CONTACT_LIST_403", "contact list service error"),
    (420, "ERR_CONTACT_LIST_420", "contact list service error"),
    (500, "ERR_INTERNAL_SERVER", "internal server error"),
    (501, "ERR_DB_SERVER", "database server error"),
    (502, "ERR_COMMAND_DISABLED", "command disabled"),
    (503, "ERR_503", "bad SND parameters"),
    (510, "ERR_FILE_OPERATION", "file operation failed"),
    (511, "ERR_BANNED", "banned"),
    (520, "ERR_MEMORY_ALLOC", "memory allocation failed"),
    (540, "ERR_CHALLENGE_FAILED", "challenge response failed"),
    (600, "ERR_SERVER_BUSY", "server busy"),
    (601, "ERR_SERVER_UNAVAILABLE", "server unavailable"),
    (602, "ERR_PEER_NS_DOWN", "peer notification server down"),
    (603, "ERR_DB_CONNECT", "database connect failed"),
    (604, "ERR_SERVER_GOING_DOWN", "server going down"),
    (605, "ERR_SERVER_UNAVAILABLE_2", "server unavailable"),
    (707, "ERR_CREATE_CONNECTION", "could not create connection"),
    (710, "ERR_BAD_CVR", "bad CVR parameters"),
    (711, "ERR_BLOCKING_WRITE", "write is blocking"),
    (712, "ERR_SESSION_OVERLOAD", "session overload"),
    (713, "ERR_USER_TOO_ACTIVE", "calling too rapidly"),
    (714, "ERR_TOO_MANY_SESSIONS", "too many sessions"),
    (715, "ERR_NOT_EXPECTED", "not expected"),
    (716, "ERR_716", "unknown (MSNP3)"),
    (717, "ERR_BAD_FRIEND_FILE", "bad friend file"),
    (731, "ERR_NOT_EXPECTED_2", "not expected"),
    (800, "ERR_CHANGING_TOO_RAPIDLY", "changing too rapidly"),
    (910, "ERR_SERVER_TOO_BUSY_910", "server too busy"),
    (911, "ERR_AUTHENTICATION_FAILED", "authentication failed"),
    (912, "ERR_SERVER_TOO_BUSY_912", "server too busy"),
    (
        913,
        "ERR_NOT_ALLOWED_WHEN_OFFLINE",
        "not allowed when offline",
    ),
    (914, "ERR_SERVER_UNAVAILABLE_914", "server unavailable"),
    (915, "ERR_SERVER_UNAVAILABLE_915", "server unavailable"),
    (916, "ERR_SERVER_UNAVAILABLE_916", "server unavailable"),
    (
        917,
        "ERR_AUTHENTICATION_FAILED_917",
        "authentication failed",
    ),
    (918, "ERR_SERVER_TOO_BUSY_918", "server too busy"),
    (919, "ERR_SERVER_TOO_BUSY_919", "server too busy"),
    (
        920,
        "ERR_NOT_ACCEPTING_NEW_USERS",
        "not accepting new users",
    ),
    (921, "ERR_SERVER_TOO_BUSY_921", "server too busy"),
    (922, "ERR_SERVER_TOO_BUSY_922", "server too busy"),
    (
        923,
        "ERR_KIDS_WITHOUT_CONSENT",
        "Kids Passport without parental consent",
    ),
    (
        924,
        "ERR_PASSPORT_NOT_VERIFIED",
        "Passport account not yet verified",
    ),
    (928, "ERR_BAD_TICKET", "bad ticket"),
    (
        931,
        "ERR_ACCOUNT_NOT_ON_SERVER",
        "account not on this server",
    ),
];

impl ServerErrorCode {
    fn entry(self) -> Option<&'static (u16, &'static str, &'static str)> {
        TABLE
            .binary_search_by_key(&self.0, |e| e.0)
            .ok()
            .and_then(|i| TABLE.get(i))
    }

    /// Return the code number.
    pub const fn code(self) -> u16 {
        self.0
    }

    /// Return the symbolic name of a documented code (`ERR_AUTHENTICATION_FAILED`).
    pub fn name(self) -> Option<&'static str> {
        self.entry().map(|e| e.1)
    }

    /// Return a short English description; unknown codes get a generic text.
    pub fn description(self) -> &'static str {
        self.entry()
            .map_or("request refused by the server", |e| e.2)
    }

    /// Query whether the code is in the documented table.
    pub fn is_known(self) -> bool {
        self.entry().is_some()
    }

    /// Query whether the code means wrong credentials or a stale ticket (911, 917, 928).
    pub const fn is_auth_failure(self) -> bool {
        matches!(self.0, 911 | 917 | 928)
    }

    /// Query whether the code means server trouble worth retrying later (500, 6xx, 910–922).
    pub const fn is_server_trouble(self) -> bool {
        matches!(self.0, 500 | 600..=699 | 910 | 912 | 914..=916 | 918..=922)
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_unique() {
        assert!(TABLE.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(TABLE.iter().all(|e| (200..=999).contains(&e.0)));
    }

    #[test]
    fn known_and_unknown_codes() {
        assert_eq!(
            ServerErrorCode(911).name(),
            Some("ERR_AUTHENTICATION_FAILED")
        );
        assert!(ServerErrorCode(911).is_auth_failure());
        assert_eq!(ServerErrorCode(217).description(), "principal not online");
        assert_eq!(ServerErrorCode(999).name(), None);
        assert_eq!(ServerErrorCode(999).code(), 999);
        assert!(!ServerErrorCode(999).is_known());
        assert!(ServerErrorCode(604).is_server_trouble());
    }
}
