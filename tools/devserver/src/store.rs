//! Accounts and server-stored lists: the JSON config/state file format, the in-memory store and
//! its atomic persistence.
//!
//! The reverse list (RL) is never stored: `x` is on `y`'s RL exactly when `y` is on `x`'s FL.
//! `"RL"` entries in a config file are accepted and ignored for that reason.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Highest group id (ids run 0..=29; 0 is the implicit "Other Contacts").
pub const MAX_GROUP_ID: u32 = 29;
/// Longest group name accepted, in bytes after `%`-encoding (61 per the reference).
pub const MAX_GROUP_NAME: usize = 61;
/// Most entries one forward list may hold (error 210 beyond).
pub const MAX_LIST_LEN: usize = 1000;

/// Server settings read from the config file (never from the state file).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Secret mixed into TWN tickets (see [`crate::auth::expected_ticket_token`]).
    pub ticket_secret: String,
    /// Send `CHL` to MSNP6+ clients right after their first `CHG`.
    pub send_chl: bool,
    /// Seconds a client has to answer a `CHL` before the server closes the connection.
    pub chl_timeout_secs: u64,
    /// Seconds an `XFR`/`RNG` cookie stays valid.
    pub cookie_lifetime_secs: u64,
    /// URL echoed twice at the end of the `CVR` reply.
    pub cvr_url: String,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            ticket_secret: "msntv-devserver-secret".into(),
            send_chl: true,
            chl_timeout_secs: 60,
            cookie_lifetime_secs: 120,
            cvr_url: "http://127.0.0.1/msntv-devserver".into(),
        }
    }
}

/// One group as written in the file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct GroupFile {
    /// Group id, 1..=29.
    pub id: u32,
    /// Group name (plain text, not `%`-encoded).
    pub name: String,
}

/// One contact entry as written in the file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ContactFile {
    /// Contact's e-mail address.
    pub email: String,
    /// Stored nickname; defaults to the contact's friendly name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nickname: Option<String>,
    /// Lists the contact is on: any of `FL`, `AL`, `BL` (`RL` is ignored: it is derived).
    pub lists: Vec<String>,
    /// Group ids (FL only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<u32>,
}

/// One account as written in the file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AccountFile {
    /// Passport (e-mail address).
    pub email: String,
    /// Clear-text password (dev server only).
    pub password: String,
    /// Friendly (display) name, plain text.
    pub friendly_name: String,
    /// Fixed `USR MD5 S` salt; generated and persisted when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub salt: Option<String>,
    /// `GTC` setting, `A` or `N`.
    #[serde(default = "default_gtc")]
    pub gtc: String,
    /// `BLP` setting, `AL` or `BL`.
    #[serde(default = "default_blp")]
    pub blp: String,
    /// Current list version (at least 1).
    #[serde(default = "one")]
    pub list_version: u32,
    /// Groups other than group 0.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<GroupFile>,
    /// `PRP` properties (`PHH`, `PHW`, `PHM`, `MOB`, `MBE`, …), plain text.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub properties: BTreeMap<String, String>,
    /// Contact entries.
    #[serde(default)]
    pub contacts: Vec<ContactFile>,
}

fn default_gtc() -> String {
    "A".into()
}
fn default_blp() -> String {
    "AL".into()
}
fn one() -> u32 {
    1
}

/// The whole config (or state) file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DbFile {
    /// Server settings (only read from the config file).
    #[serde(default)]
    pub settings: Settings,
    /// Accounts with their lists.
    #[serde(default)]
    pub accounts: Vec<AccountFile>,
}

/// Privacy mode for people on neither AL nor BL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blp {
    /// Everyone not on BL may see you (`AL`).
    AllowAll,
    /// Only people on AL may see you (`BL`).
    BlockAll,
}

impl Blp {
    /// Return the wire token (`AL`/`BL`).
    pub fn token(self) -> &'static str {
        match self {
            Blp::AllowAll => "AL",
            Blp::BlockAll => "BL",
        }
    }

    /// Parse the wire token.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "AL" => Some(Blp::AllowAll),
            "BL" => Some(Blp::BlockAll),
            _ => None,
        }
    }
}

/// One stored contact of an account.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Contact {
    /// Nickname stored with the entry (plain text).
    pub nickname: String,
    /// On the forward list.
    pub fl: bool,
    /// On the allow list.
    pub al: bool,
    /// On the block list.
    pub bl: bool,
    /// Group memberships (FL); empty means group 0.
    pub groups: BTreeSet<u32>,
}

impl Contact {
    /// Query whether the entry is on no stored list any more.
    pub fn is_empty(&self) -> bool {
        !(self.fl || self.al || self.bl)
    }
}

/// One account in memory.
#[derive(Debug, Clone)]
pub struct Account {
    /// Passport as configured (lower-cased).
    pub email: String,
    /// Clear-text password.
    pub password: String,
    /// Friendly name (plain text).
    pub friendly_name: String,
    /// `USR MD5 S` salt.
    pub salt: String,
    /// `GTC` value (`A`/`N`).
    pub gtc: String,
    /// `BLP` value.
    pub blp: Blp,
    /// Current list version.
    pub version: u32,
    /// Groups by id (group 0 is implicit and not stored).
    pub groups: BTreeMap<u32, String>,
    /// Properties set with `PRP` (plain text).
    pub props: BTreeMap<String, String>,
    /// Contacts by lower-cased e-mail.
    pub contacts: BTreeMap<String, Contact>,
}

impl Account {
    /// Return the stored entry for `email`, if any.
    pub fn contact(&self, email: &str) -> Option<&Contact> {
        self.contacts.get(email)
    }

    /// Query whether `email` is on this account's list `list` (`FL`, `AL`, `BL`).
    pub fn has(&self, list: ListKind, email: &str) -> bool {
        self.contact(email).is_some_and(|c| match list {
            ListKind::Fl => c.fl,
            ListKind::Al => c.al,
            ListKind::Bl => c.bl,
        })
    }

    /// Bump and return the list version.
    pub fn bump(&mut self) -> u32 {
        self.version = self.version.saturating_add(1);
        self.version
    }
}

/// A client-editable list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    /// Forward list.
    Fl,
    /// Allow list.
    Al,
    /// Block list.
    Bl,
}

impl ListKind {
    /// Parse `FL`/`AL`/`BL`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "FL" => Some(ListKind::Fl),
            "AL" => Some(ListKind::Al),
            "BL" => Some(ListKind::Bl),
            _ => None,
        }
    }

    /// Return the wire token.
    pub fn token(self) -> &'static str {
        match self {
            ListKind::Fl => "FL",
            ListKind::Al => "AL",
            ListKind::Bl => "BL",
        }
    }
}

/// Error loading or saving the account database.
#[derive(Debug)]
pub enum StoreError {
    /// The file could not be read or written.
    Io(PathBuf, std::io::Error),
    /// The file is not valid JSON of the expected shape.
    Json(PathBuf, serde_json::Error),
    /// The content is inconsistent (duplicate account, unknown contact, bad value).
    Invalid(String),
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Io(p, e) => write!(f, "{}: {e}", p.display()),
            StoreError::Json(p, e) => write!(f, "{}: {e}", p.display()),
            StoreError::Invalid(m) => write!(f, "invalid account data: {m}"),
        }
    }
}

impl std::error::Error for StoreError {}

/// All accounts, keyed by lower-cased e-mail.
#[derive(Debug, Clone, Default)]
pub struct Store {
    /// Accounts by lower-cased e-mail.
    pub accounts: BTreeMap<String, Account>,
}

/// Read and parse a config or state file.
pub fn read_db(path: &Path) -> Result<DbFile, StoreError> {
    let text = std::fs::read_to_string(path).map_err(|e| StoreError::Io(path.into(), e))?;
    serde_json::from_str(&text).map_err(|e| StoreError::Json(path.into(), e))
}

/// Return a 15-character hex salt derived from the address and the clock.
fn fresh_salt(email: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let hex = crate::auth::md5_hex(format!("{email}{nanos}").as_bytes());
    hex.get(..15).unwrap_or("000000000000000").to_string()
}

impl Store {
    /// Build the store from file accounts, validating references.
    pub fn from_files(files: &[AccountFile]) -> Result<Self, StoreError> {
        let mut accounts = BTreeMap::new();
        for a in files {
            let email = a.email.to_ascii_lowercase();
            if !email.contains('@') {
                return Err(StoreError::Invalid(format!("account {email:?} has no '@'")));
            }
            let blp = Blp::parse(&a.blp)
                .ok_or_else(|| StoreError::Invalid(format!("{email}: blp must be AL or BL")))?;
            if a.gtc != "A" && a.gtc != "N" {
                return Err(StoreError::Invalid(format!("{email}: gtc must be A or N")));
            }
            let mut groups = BTreeMap::new();
            for g in &a.groups {
                if g.id == 0 || g.id > MAX_GROUP_ID {
                    return Err(StoreError::Invalid(format!(
                        "{email}: group id {} out of 1..=29",
                        g.id
                    )));
                }
                groups.insert(g.id, g.name.clone());
            }
            let acct = Account {
                email: email.clone(),
                password: a.password.clone(),
                friendly_name: a.friendly_name.clone(),
                salt: a.salt.clone().unwrap_or_else(|| fresh_salt(&email)),
                gtc: a.gtc.clone(),
                blp,
                version: a.list_version.max(1),
                groups,
                props: a.properties.clone(),
                contacts: BTreeMap::new(),
            };
            if accounts.insert(email.clone(), acct).is_some() {
                return Err(StoreError::Invalid(format!("duplicate account {email}")));
            }
        }
        for a in files {
            let owner = a.email.to_ascii_lowercase();
            let mut contacts = BTreeMap::new();
            for c in &a.contacts {
                let email = c.email.to_ascii_lowercase();
                let Some(other) = accounts.get(&email) else {
                    return Err(StoreError::Invalid(format!(
                        "{owner}: contact {email} is not an account"
                    )));
                };
                let mut entry = Contact {
                    nickname: c
                        .nickname
                        .clone()
                        .unwrap_or_else(|| other.friendly_name.clone()),
                    ..Contact::default()
                };
                for l in &c.lists {
                    match l.as_str() {
                        "FL" => entry.fl = true,
                        "AL" => entry.al = true,
                        "BL" => entry.bl = true,
                        "RL" => {}
                        x => return Err(StoreError::Invalid(format!("{owner}: unknown list {x}"))),
                    }
                }
                let owner_groups = accounts.get(&owner).map(|o| &o.groups);
                for g in &c.groups {
                    if *g != 0 && !owner_groups.is_some_and(|m| m.contains_key(g)) {
                        return Err(StoreError::Invalid(format!(
                            "{owner}: {email} in unknown group {g}"
                        )));
                    }
                    if *g != 0 {
                        entry.groups.insert(*g);
                    }
                }
                if !entry.is_empty() {
                    contacts.insert(email, entry);
                }
            }
            if let Some(acct) = accounts.get_mut(&owner) {
                acct.contacts = contacts;
            }
        }
        Ok(Self { accounts })
    }

    /// Render the store back into file accounts (the state file format).
    pub fn to_files(&self) -> Vec<AccountFile> {
        self.accounts
            .values()
            .map(|a| AccountFile {
                email: a.email.clone(),
                password: a.password.clone(),
                friendly_name: a.friendly_name.clone(),
                salt: Some(a.salt.clone()),
                gtc: a.gtc.clone(),
                blp: a.blp.token().into(),
                list_version: a.version,
                groups: a
                    .groups
                    .iter()
                    .map(|(id, name)| GroupFile {
                        id: *id,
                        name: name.clone(),
                    })
                    .collect(),
                properties: a.props.clone(),
                contacts: a
                    .contacts
                    .iter()
                    .map(|(email, c)| ContactFile {
                        email: email.clone(),
                        nickname: Some(c.nickname.clone()),
                        lists: [(c.fl, "FL"), (c.al, "AL"), (c.bl, "BL")]
                            .iter()
                            .filter(|(on, _)| *on)
                            .map(|(_, n)| (*n).to_string())
                            .collect(),
                        groups: c.groups.iter().copied().collect(),
                    })
                    .collect(),
            })
            .collect()
    }

    /// Write the accounts to `path` atomically (temporary file, then rename).
    pub fn save(&self, path: &Path) -> Result<(), StoreError> {
        let db = DbFile {
            settings: Settings::default(),
            accounts: self.to_files(),
        };
        let text = serde_json::to_string_pretty(&serde_json::json!({ "accounts": db.accounts }))
            .map_err(|e| StoreError::Json(path.into(), e))?;
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, text).map_err(|e| StoreError::Io(tmp.clone(), e))?;
        std::fs::rename(&tmp, path).map_err(|e| StoreError::Io(path.into(), e))
    }

    /// Return the account for `email` (any case).
    pub fn get(&self, email: &str) -> Option<&Account> {
        self.accounts.get(&email.to_ascii_lowercase())
    }

    /// Return the account for `email` (any case), mutably.
    pub fn get_mut(&mut self, email: &str) -> Option<&mut Account> {
        self.accounts.get_mut(&email.to_ascii_lowercase())
    }

    /// Return the accounts that have `email` on their forward list (its reverse list), sorted.
    pub fn reverse_list(&self, email: &str) -> Vec<String> {
        self.accounts
            .values()
            .filter(|a| a.has(ListKind::Fl, email))
            .map(|a| a.email.clone())
            .collect()
    }

    /// Query whether `viewer` may see `target`'s presence and invite them (privacy only).
    pub fn allows(&self, target: &str, viewer: &str) -> bool {
        let Some(t) = self.get(target) else {
            return false;
        };
        if t.has(ListKind::Bl, viewer) {
            return false;
        }
        t.blp == Blp::AllowAll || t.has(ListKind::Al, viewer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<AccountFile> {
        serde_json::from_str(
            r#"[
              {"email":"A@x.com","password":"p","friendly_name":"A","salt":"s1",
               "groups":[{"id":1,"name":"Friends"}],
               "contacts":[{"email":"b@x.com","lists":["FL","AL","RL"],"groups":[1]}]},
              {"email":"b@x.com","password":"q","friendly_name":"B B","blp":"BL",
               "contacts":[{"email":"a@x.com","lists":["AL"]}]}
            ]"#,
        )
        .expect("json")
    }

    #[test]
    fn test_load_and_roundtrip() {
        let s = Store::from_files(&sample()).expect("valid");
        let a = s.get("a@x.com").expect("a");
        assert_eq!(
            a.contact("b@x.com").map(|c| c.nickname.as_str()),
            Some("B B")
        );
        assert_eq!(s.reverse_list("b@x.com"), vec!["a@x.com".to_string()]);
        assert!(s.get("b@x.com").is_some_and(|b| b.salt.len() == 15));
        let again = Store::from_files(&s.to_files()).expect("roundtrip");
        assert_eq!(again.to_files(), s.to_files());
    }

    #[test]
    fn test_privacy() {
        let s = Store::from_files(&sample()).expect("valid");
        // b has BLP BL and a on AL: a may see b; nobody else may.
        assert!(s.allows("b@x.com", "a@x.com"));
        assert!(!s.allows("b@x.com", "c@x.com"));
        assert!(s.allows("a@x.com", "b@x.com"));
    }

    #[test]
    fn test_reject_unknown_contact() {
        let mut f = sample();
        f[1].contacts[0].email = "zz@x.com".into();
        assert!(matches!(Store::from_files(&f), Err(StoreError::Invalid(_))));
    }
}
