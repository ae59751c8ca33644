//! `msntv-devservice`: the embedded default service the demo and the end-to-end tests run
//! against. One process serves, on 127.0.0.1 only:
//!
//! - the MSNP2–MSNP8 notification server and switchboard (`msntv-devserver`),
//! - the WTVP service (`msntv-wtvp-service`): box login, SECURE, the head-waiter's Messenger
//!   headers (`wtv-messenger-server` names this process's NS) and
//!   `wtv-passport:/messengerlogin` (MD5 answers and TWN tickets).
//!
//! Both read ONE accounts file: the dev server's JSON format (`settings`, `accounts`) plus a
//! `boxes` array that links a box SSID to a Messenger account, and optional `stage_two_headers`
//! added to the head-waiter's answer. Tickets the WTVP service issues
//! ([`msntv_wtvp_service::issue_ticket`] with the `ticket_secret`) are accepted by the NS, and so
//! are the dev server's own token tickets.
#![deny(unsafe_code)]
#![warn(missing_docs)]

use msntv_devserver::{DbFile, SecretTicketVerifier, Server, ServerConfig, TicketVerifier};
use msntv_wtvp_service::{verify_ticket, Account, AccountMode, ServiceConfig};
use serde::Deserialize;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// How the WTVP service treats a box's Messenger account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessengerFlag {
    /// Messenger authorized and enabled; messengerlogin answers.
    #[default]
    Enabled,
    /// No Messenger account linked (`wtv-messenger-authorized: 0`, messengerlogin `200: OK`).
    Unlinked,
    /// messengerlogin answers `500`.
    Fail500,
    /// messengerlogin never answers.
    Silent,
}

/// One box: its SSID and the Messenger account it signs in as.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoxEntry {
    /// The box's SSID (`wtv-client-serial-number`), as the box sends it.
    pub ssid: String,
    /// The Messenger passport (an account in `accounts`).
    pub passport: String,
    /// The head-waiter's Messenger flags for this box.
    #[serde(default)]
    pub messenger: MessengerFlag,
}

/// The whole accounts file.
#[derive(Debug, Clone, Default)]
pub struct DevServiceConfig {
    /// The MSNP side: settings and accounts with their lists.
    pub db: DbFile,
    /// Boxes allowed on the WTVP side.
    pub boxes: Vec<BoxEntry>,
    /// Extra head-waiter headers (`wtv-messenger-*` timeouts and the like).
    pub stage_two_headers: Vec<(String, String)>,
}

/// Parse an accounts file's text.
pub fn parse_config(text: &str) -> Result<DevServiceConfig, String> {
    let mut v: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("accounts file: {e}"))?;
    let obj = v
        .as_object_mut()
        .ok_or_else(|| "accounts file: not a JSON object".to_string())?;
    let boxes = match obj.remove("boxes") {
        Some(b) => serde_json::from_value(b).map_err(|e| format!("boxes: {e}"))?,
        None => Vec::new(),
    };
    let stage_two_headers = match obj.remove("stage_two_headers") {
        Some(h) => serde_json::from_value(h).map_err(|e| format!("stage_two_headers: {e}"))?,
        None => Vec::new(),
    };
    let db: DbFile = serde_json::from_value(v).map_err(|e| format!("accounts file: {e}"))?;
    let cfg = DevServiceConfig {
        db,
        boxes,
        stage_two_headers,
    };
    cfg.check()?;
    Ok(cfg)
}

/// Read and parse an accounts file.
pub fn read_config(path: &Path) -> Result<DevServiceConfig, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    parse_config(&text)
}

impl DevServiceConfig {
    /// Check that every box names a configured account.
    pub fn check(&self) -> Result<(), String> {
        for b in &self.boxes {
            if self.password_of(&b.passport).is_none() {
                return Err(format!(
                    "box {} names {}, which is not an account",
                    b.ssid, b.passport
                ));
            }
            if !b.passport.contains('@') {
                return Err(format!("box {}: passport {} has no @", b.ssid, b.passport));
            }
        }
        Ok(())
    }

    fn password_of(&self, passport: &str) -> Option<&str> {
        self.db
            .accounts
            .iter()
            .find(|a| a.email.eq_ignore_ascii_case(passport))
            .map(|a| a.password.as_str())
    }

    /// Build the WTVP service's configuration, pointing the head-waiter at `ns`.
    pub fn wtvp_config(&self, ns: SocketAddr) -> ServiceConfig {
        let accounts = self
            .boxes
            .iter()
            .filter_map(|b| {
                let passport = b.passport.to_ascii_lowercase();
                let (email, domain) = passport.split_once('@')?;
                Some(Account {
                    ssid: Some(b.ssid.clone()),
                    email: email.to_string(),
                    domain: domain.to_string(),
                    password: self.password_of(&b.passport)?.to_string(),
                    mode: match b.messenger {
                        MessengerFlag::Enabled => AccountMode::Normal,
                        MessengerFlag::Unlinked => AccountMode::Unlinked,
                        MessengerFlag::Fail500 => AccountMode::Fail500,
                        MessengerFlag::Silent => AccountMode::Silent,
                    },
                })
            })
            .collect();
        ServiceConfig {
            accounts,
            ticket_secret: self.db.settings.ticket_secret.as_bytes().to_vec(),
            messenger_server: ns.to_string(),
            stage_two_extra: self.stage_two_headers.clone(),
        }
    }

    /// Return the NS ticket check: WTVP-issued tickets and the dev server's token tickets.
    pub fn verifier(&self) -> Arc<dyn TicketVerifier> {
        let secret = self.db.settings.ticket_secret.clone();
        let token = SecretTicketVerifier::new(secret.clone());
        Arc::new(move |passport: &str, ticket: &str| {
            verify_ticket(ticket, &passport.to_ascii_lowercase(), secret.as_bytes())
                || token.verify(passport, ticket)
        })
    }
}

/// Ports to bind on 127.0.0.1 (0 picks a free port).
#[derive(Debug, Clone, Copy)]
pub struct Ports {
    /// Notification server.
    pub ns: u16,
    /// Switchboard.
    pub sb: u16,
    /// WTVP service (`wtv-1800` and every other service name).
    pub wtvp: u16,
}

/// A running dev service.
#[derive(Debug, Clone, Copy)]
pub struct DevService {
    /// The NS address.
    pub ns: SocketAddr,
    /// The SB address.
    pub sb: SocketAddr,
    /// The WTVP service address.
    pub wtvp: SocketAddr,
}

impl DevService {
    /// Return the first stdout line of the binary: `listening ns=… sb=… wtvp=…`.
    pub fn banner(&self) -> String {
        format!("listening ns={} sb={} wtvp={}", self.ns, self.sb, self.wtvp)
    }
}

/// Bind everything and start serving: the MSNP server as tasks on the current tokio runtime,
/// the WTVP service on its own thread. Runs until the runtime (or process) ends.
pub async fn start(
    cfg: DevServiceConfig,
    ports: Ports,
    state: Option<PathBuf>,
) -> Result<DevService, String> {
    let verifier = cfg.verifier();
    let wtvp = TcpListener::bind((Ipv4Addr::LOCALHOST, ports.wtvp))
        .map_err(|e| format!("cannot bind the WTVP port: {e}"))?;
    let server = Server::bind(ServerConfig {
        db: cfg.db.clone(),
        ns_port: ports.ns,
        sb_port: ports.sb,
        state_path: state,
        verifier: Some(verifier),
    })
    .await
    .map_err(|e| e.to_string())?;
    let (ns, sb) = (server.ns_addr(), server.sb_addr());
    let wtvp_addr = wtvp
        .local_addr()
        .map_err(|e| format!("cannot bind the WTVP port: {e}"))?;
    let service = Arc::new(cfg.wtvp_config(ns));
    std::thread::Builder::new()
        .name("wtvp-service".into())
        .spawn(move || {
            if let Err(e) = msntv_wtvp_service::serve(wtvp, service) {
                eprintln!("msntv-devservice: WTVP service stopped: {e}");
            }
        })
        .map_err(|e| format!("cannot start the WTVP thread: {e}"))?;
    tokio::spawn(server.run());
    Ok(DevService {
        ns,
        sb,
        wtvp: wtvp_addr,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use msntv_wtvp_service::issue_ticket;

    const EXAMPLE: &str = include_str!("../examples/accounts.json");

    #[test]
    fn test_example_config_parses_and_links_boxes() {
        let cfg = parse_config(EXAMPLE).expect("example");
        assert_eq!(cfg.db.accounts.len(), 4);
        assert_eq!(cfg.boxes.len(), 4);
        let w = cfg.wtvp_config("127.0.0.1:4000".parse().expect("addr"));
        assert_eq!(w.messenger_server, "127.0.0.1:4000");
        let alice = &w.accounts[0];
        assert_eq!(
            (alice.email.as_str(), alice.domain.as_str()),
            ("alice", "example.com")
        );
        assert_eq!(alice.password, "alice123");
        assert_eq!(alice.mode, AccountMode::Normal);
        assert_eq!(w.accounts[3].mode, AccountMode::Unlinked);
    }

    #[test]
    fn test_wtvp_tickets_pass_the_ns_verifier() {
        let cfg = parse_config(EXAMPLE).expect("example");
        let v = cfg.verifier();
        let t = issue_ticket(
            "alice@example.com",
            cfg.db.settings.ticket_secret.as_bytes(),
        );
        assert!(v.verify("alice@example.com", &t));
        assert!(v.verify("Alice@Example.com", &t));
        assert!(!v.verify("bob@example.com", &t));
        let wrong = issue_ticket("alice@example.com", b"another secret");
        assert!(!v.verify("alice@example.com", &wrong));
        let token = msntv_devserver::expected_ticket_token(
            &cfg.db.settings.ticket_secret,
            "bob@example.com",
        );
        assert!(v.verify("bob@example.com", &token));
    }

    #[test]
    fn test_bad_configs_are_refused() {
        assert!(parse_config("[]").is_err());
        assert!(parse_config("{\"boxes\": [{\"ssid\": \"1\", \"passport\": \"x@y\"}]}").is_err());
        assert!(parse_config("{\"boxes\": [{\"ssid\": \"1\"}]}").is_err());
        assert!(parse_config("{\"nonsense\": 1}").is_err());
        let ok = parse_config(
            "{\"accounts\": [{\"email\": \"x@y\", \"password\": \"p\", \"friendly_name\": \"X\"}],\
             \"boxes\": [{\"ssid\": \"1\", \"passport\": \"x@y\", \"messenger\": \"fail500\"}],\
             \"stage_two_headers\": [[\"wtv-messenger-connect-timeout\", \"30\"]]}",
        )
        .expect("minimal");
        assert_eq!(ok.boxes[0].messenger, MessengerFlag::Fail500);
        assert_eq!(ok.stage_two_headers.len(), 1);
    }
}
