//! A WTVP test service: the server half of what the built-in client needs.
//!
//! One listener serves every service name (`wtv-1800`, `wtv-head-waiter`, `wtv-passport`, …); the
//! service list it hands out points each name at the listener's own address. Implemented:
//! `wtv-1800:/preregister` (fresh `wtv-initial-key`), `wtv-head-waiter:/login` (DES challenge,
//! minisrv's 108-byte layout), `ValidateLogin` (checks the response, issues `wtv-ticket`),
//! SECURE ON (RC4 per direction, streams run on across requests, re-key on a new incarnation),
//! `login-stage-two` (service list + Messenger headers) and `wtv-passport:/messengerlogin`:
//! MD5 mode (`md5(challenge ‖ password)`), ticket mode for `ct=` challenges (a ticket from
//! [`issue_ticket`], LZPF-compressed when ≥ 256 bytes as minisrv does), `200: OK` when no account
//! is linked, a `500` for [`AccountMode::Fail500`] and silence for [`AccountMode::Silent`].
//! Responses use LF line ends like minisrv.

use base64::Engine as _;
use md5::{Digest, Md5};
use msntv_messenger::wtvp::lzpf;
use msntv_messenger::wtvp::sec::{self, ChallengeSecrets, SecureStreams};
use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// How the service answers messengerlogin for an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountMode {
    /// Answer normally.
    Normal,
    /// Answer `500 MSN TV ran into a technical problem. Please try again.`.
    Fail500,
    /// Never answer (like minisrv when its Passport step fails).
    Silent,
    /// No Messenger account linked: answer `200 OK` with the body `200: OK`.
    Unlinked,
}

/// One box account.
#[derive(Debug, Clone)]
pub struct Account {
    /// The SSID this account belongs to (`None`: any box).
    pub ssid: Option<String>,
    /// Messenger e-mail local part.
    pub email: String,
    /// Messenger domain.
    pub domain: String,
    /// Messenger password.
    pub password: String,
    /// Answer mode.
    pub mode: AccountMode,
}

/// Configuration of the test service.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// Accounts; the first matching the SSID (or with `ssid: None`) is used.
    pub accounts: Vec<Account>,
    /// Secret for [`issue_ticket`].
    pub ticket_secret: Vec<u8>,
    /// `wtv-messenger-server` value.
    pub messenger_server: String,
    /// Extra header lines appended to the stage-two answer (e.g. timeouts).
    pub stage_two_extra: Vec<(String, String)>,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        ServiceConfig {
            accounts: Vec::new(),
            ticket_secret: b"msntv-dev-secret".to_vec(),
            messenger_server: "127.0.0.1:1863".to_string(),
            stage_two_extra: Vec::new(),
        }
    }
}

/// Issue the deterministic test Passport ticket: `t=<hex md5(secret|passport)>&p=<hex md5(passport|secret)>`.
///
/// The MSNP dev server accepts it with [`verify_ticket`].
pub fn issue_ticket(passport: &str, secret: &[u8]) -> String {
    let t = hex(&Md5::new()
        .chain_update(secret)
        .chain_update(b"|")
        .chain_update(passport.as_bytes())
        .finalize());
    let p = hex(&Md5::new()
        .chain_update(passport.as_bytes())
        .chain_update(b"|")
        .chain_update(secret)
        .finalize());
    format!("t={t}&p={p}")
}

/// Check a ticket produced by [`issue_ticket`] for `passport`.
pub fn verify_ticket(ticket: &str, passport: &str, secret: &[u8]) -> bool {
    ticket == issue_ticket(passport, secret)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[derive(Default)]
struct Shared {
    /// Per SSID: the box's current DES key and the secrets of the last challenge.
    boxes: HashMap<String, ([u8; 8], Option<ChallengeSecrets>)>,
    /// Ticket text → (SSID, session key 1, session key 2).
    tickets: HashMap<String, (String, [u8; 16], [u8; 16])>,
    rng: u64,
}

impl Shared {
    fn random(&mut self, out: &mut [u8]) {
        if self.rng == 0 {
            let t = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(1);
            self.rng = (t as u64) | 1;
        }
        for b in out {
            self.rng ^= self.rng << 13;
            self.rng ^= self.rng >> 7;
            self.rng ^= self.rng << 17;
            *b = (self.rng >> 24) as u8;
        }
    }
}

/// Serve connections on `listener` forever, one thread per connection.
pub fn serve(listener: TcpListener, config: Arc<ServiceConfig>) -> io::Result<()> {
    let shared = Arc::new(Mutex::new(Shared::default()));
    let addr = listener.local_addr()?;
    for stream in listener.incoming() {
        let stream = stream?;
        let (cfg, sh) = (config.clone(), shared.clone());
        std::thread::spawn(move || {
            let _ = Conn {
                stream,
                cfg,
                shared: sh,
                addr,
                secure: None,
                ssid: String::new(),
                incarnation: 0,
            }
            .run();
        });
    }
    Ok(())
}

struct Conn {
    stream: TcpStream,
    cfg: Arc<ServiceConfig>,
    shared: Arc<Mutex<Shared>>,
    addr: SocketAddr,
    secure: Option<(SecureStreams, [u8; 16], [u8; 16])>,
    ssid: String,
    incarnation: u32,
}

struct Request {
    line: String,
    headers: Vec<(String, String)>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

impl Conn {
    fn run(&mut self) -> io::Result<()> {
        let mut buf: Vec<u8> = Vec::new();
        let mut decrypted_upto: usize = 0;
        loop {
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 4) {
                let head: Vec<u8> = buf.drain(..end).collect();
                decrypted_upto = decrypted_upto.saturating_sub(end);
                let req = parse_request(&head);
                if req.line == "SECURE ON" {
                    self.secure_on(&req);
                    // Bytes after the block are encrypted.
                    if let Some((s, _, _)) = self.secure.as_mut() {
                        s.apply_c2s(&mut buf[..]);
                    }
                    decrypted_upto = buf.len();
                    continue;
                }
                if !self.handle(&req)? {
                    return Ok(());
                }
                continue;
            }
            let mut chunk = [0u8; 4096];
            let n = self.stream.read(&mut chunk)?;
            if n == 0 {
                return Ok(());
            }
            let start = buf.len();
            buf.extend_from_slice(&chunk[..n]);
            if let Some((s, _, _)) = self.secure.as_mut() {
                s.apply_c2s(&mut buf[start.max(decrypted_upto)..]);
                decrypted_upto = buf.len();
            }
        }
    }

    fn secure_on(&mut self, req: &Request) {
        let ticket = req.header("wtv-ticket").unwrap_or_default().to_string();
        let inc: u32 = req
            .header("wtv-incarnation")
            .and_then(|v| v.parse().ok())
            .unwrap_or(1);
        let sh = self.shared.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((ssid, k1, k2)) = sh.tickets.get(&ticket).cloned() {
            self.ssid = ssid;
            self.incarnation = inc;
            self.secure = Some((SecureStreams::new(&k1, &k2, inc), k1, k2));
        }
    }

    fn respond(
        &mut self,
        status: &str,
        headers: &[(&str, String)],
        body: &[u8],
        lzpf_len: Option<usize>,
    ) -> io::Result<()> {
        let mut out = format!("{status}\nConnection: Keep-Alive\n");
        if self.secure.is_some() {
            out.push_str("wtv-encrypted: true\n");
        }
        for (n, v) in headers {
            out.push_str(&format!("{n}: {v}\n"));
        }
        if lzpf_len.is_some() {
            out.push_str("wtv-lzpf: 0\n");
        }
        out.push_str(&format!(
            "Content-type: text/plain\nContent-length: {}\n\n",
            lzpf_len.unwrap_or(body.len())
        ));
        let mut bytes = out.into_bytes();
        let mut b = body.to_vec();
        if let Some((s, _, _)) = self.secure.as_mut() {
            s.apply_s2c(&mut b);
        }
        bytes.extend_from_slice(&b);
        self.stream.write_all(&bytes)
    }

    fn service_lines(&self) -> Vec<(&'static str, String)> {
        let (h, p) = (self.addr.ip(), self.addr.port());
        let mut v = vec![("wtv-service", "reset".to_string())];
        for name in [
            "wtv-1800",
            "wtv-head-waiter",
            "wtv-passport",
            "wtv-setup",
            "wtv-*",
        ] {
            v.push(("wtv-service", format!("name={name} host={h} port={p}")));
        }
        v
    }

    fn account(&self) -> Option<Account> {
        self.cfg
            .accounts
            .iter()
            .find(|a| a.ssid.as_deref().is_none_or(|s| s == self.ssid))
            .cloned()
    }

    /// Handle one request; false ends the connection.
    fn handle(&mut self, req: &Request) -> io::Result<bool> {
        if let Some(s) = req.header("wtv-client-serial-number") {
            self.ssid = s.to_string();
        }
        if let (Some(inc), Some((_, k1, k2))) = (
            req.header("wtv-incarnation")
                .and_then(|v| v.parse::<u32>().ok()),
            self.secure.as_ref(),
        ) {
            if inc != self.incarnation {
                let (k1, k2) = (*k1, *k2);
                self.incarnation = inc;
                self.secure = Some((SecureStreams::new(&k1, &k2, inc), k1, k2));
            }
        }
        let url = req
            .line
            .strip_prefix("GET ")
            .unwrap_or_default()
            .to_string();
        let (path, query) = match url.split_once('?') {
            Some((p, q)) => (p.to_string(), Some(q.to_string())),
            None => (url.clone(), None),
        };
        match path.as_str() {
            "wtv-1800:/preregister" => {
                let mut key = [0u8; 8];
                let mut sh = self.shared.lock().unwrap_or_else(|e| e.into_inner());
                sh.random(&mut key);
                sh.boxes.insert(self.ssid.clone(), (key, None));
                drop(sh);
                let mut h = vec![(
                    "wtv-initial-key",
                    base64::engine::general_purpose::STANDARD.encode(key),
                )];
                h.extend(self.service_lines());
                h.push(("wtv-visit", "wtv-head-waiter:/login?".to_string()));
                self.respond("200 OK", &h, b"", None)?;
            }
            "wtv-head-waiter:/login" => {
                let mut sh = self.shared.lock().unwrap_or_else(|e| e.into_inner());
                let mut r = [0u8; 88];
                sh.random(&mut r);
                let mut s = ChallengeSecrets {
                    id: [0; 8],
                    echo: [0; 40],
                    session_key1: [0; 16],
                    session_key2: [0; 16],
                    new_key: [0; 8],
                };
                s.id.copy_from_slice(&r[..8]);
                s.echo.copy_from_slice(&r[8..48]);
                s.session_key1.copy_from_slice(&r[48..64]);
                s.session_key2.copy_from_slice(&r[64..80]);
                s.new_key.copy_from_slice(&r[80..88]);
                let Some(entry) = sh.boxes.get_mut(&self.ssid) else {
                    drop(sh);
                    self.respond("500 Unknown box", &[], b"", None)?;
                    return Ok(true);
                };
                let chal = sec::build_challenge(&entry.0, &s);
                entry.1 = Some(s);
                drop(sh);
                let h = vec![
                    (
                        "wtv-challenge",
                        base64::engine::general_purpose::STANDARD.encode(chal),
                    ),
                    (
                        "wtv-visit",
                        "wtv-head-waiter:/ValidateLogin?initial_login=true".to_string(),
                    ),
                ];
                self.respond("200 OK", &h, b"", None)?;
            }
            "wtv-head-waiter:/ValidateLogin" => {
                let mut sh = self.shared.lock().unwrap_or_else(|e| e.into_inner());
                let got = req
                    .header("wtv-challenge-response")
                    .unwrap_or_default()
                    .to_string();
                let ok = match sh.boxes.get_mut(&self.ssid) {
                    Some((key, Some(s))) => {
                        let expect = base64::engine::general_purpose::STANDARD
                            .encode(sec::challenge_response(s));
                        // Key chaining: the box now uses the new key whatever the outcome.
                        *key = s.new_key;
                        (expect == got).then_some((s.session_key1, s.session_key2))
                    }
                    _ => None,
                };
                match ok {
                    Some((k1, k2)) => {
                        let mut t = [0u8; 24];
                        sh.random(&mut t);
                        let ticket = base64::engine::general_purpose::STANDARD.encode(t);
                        sh.tickets
                            .insert(ticket.clone(), (self.ssid.clone(), k1, k2));
                        drop(sh);
                        let h = vec![
                            ("wtv-ticket", ticket),
                            ("wtv-visit", "wtv-head-waiter:/login-stage-two?".to_string()),
                        ];
                        self.respond("200 OK", &h, b"", None)?;
                        return Ok(false);
                    }
                    None => {
                        drop(sh);
                        self.respond(
                            "500 Invalid challenge response received",
                            &[],
                            b"Invalid challenge response received",
                            None,
                        )?;
                    }
                }
            }
            "wtv-head-waiter:/login-stage-two" if self.secure.is_some() => {
                let acct = self.account();
                let mut h = self.service_lines();
                let linked = acct
                    .as_ref()
                    .is_some_and(|a| a.mode != AccountMode::Unlinked);
                let flag = if linked { "1" } else { "0" };
                h.push(("wtv-messenger-authorized", flag.to_string()));
                h.push(("wtv-messenger-enable", flag.to_string()));
                h.push(("wtv-messenger-server", self.cfg.messenger_server.clone()));
                let (user, domain) = match &acct {
                    Some(a) if linked => (a.email.clone(), a.domain.clone()),
                    _ => ("null".to_string(), "null".to_string()),
                };
                h.push(("wtv-user-name", user));
                h.push((
                    "wtv-messenger-login-url",
                    "wtv-passport:/messengerlogin".to_string(),
                ));
                h.push(("wtv-domain", domain.clone()));
                h.push(("passport-domain", domain));
                let cfg = self.cfg.clone();
                for (n, v) in &cfg.stage_two_extra {
                    h.push((n.as_str(), v.clone()));
                }
                self.respond("200 OK", &h, b"", None)?;
            }
            "wtv-passport:/messengerlogin" if self.secure.is_some() => {
                let Some(q) = query else {
                    self.respond(
                        "400 The service ran into a technical problem. Please try again.",
                        &[],
                        b"",
                        None,
                    )?;
                    return Ok(true);
                };
                let acct = self.account();
                match acct.as_ref().map(|a| a.mode) {
                    None | Some(AccountMode::Unlinked) => {
                        self.respond("200 OK", &[], b"200: OK", None)?
                    }
                    Some(AccountMode::Fail500) => self.respond(
                        "500 MSN TV ran into a technical problem. Please try again.",
                        &[],
                        b"",
                        None,
                    )?,
                    Some(AccountMode::Silent) => {}
                    Some(AccountMode::Normal) => {
                        let a = acct.unwrap_or_else(|| unreachable!("mode came from an account"));
                        if q.starts_with("ct=") {
                            let ticket = issue_ticket(
                                &format!("{}@{}", a.email, a.domain),
                                &self.cfg.ticket_secret,
                            );
                            if ticket.len() >= 256 {
                                let mut enc = vec![0u8; ticket.len() * 17 / 8 + 8];
                                let n = lzpf::encode_literals(ticket.as_bytes(), &mut enc)
                                    .map_err(|_| io::ErrorKind::Other)?;
                                self.respond("200 OK", &[], &enc[..n], Some(ticket.len()))?;
                            } else {
                                self.respond("200 OK", &[], ticket.as_bytes(), None)?;
                            }
                        } else {
                            let d = Md5::new()
                                .chain_update(q.as_bytes())
                                .chain_update(a.password.as_bytes())
                                .finalize();
                            self.respond("200 OK", &[], hex(&d).as_bytes(), None)?;
                        }
                    }
                }
            }
            _ if self.secure.is_none()
                && (path.starts_with("wtv-passport:")
                    || path.starts_with("wtv-head-waiter:/login-stage-two")) =>
            {
                self.respond(
                    "300 Unauthorized",
                    &[("Location", "client:relogin".to_string())],
                    b"",
                    None,
                )?;
            }
            _ => self.respond("404 Not found", &[], b"", None)?,
        }
        Ok(true)
    }
}

fn parse_request(head: &[u8]) -> Request {
    let text = String::from_utf8_lossy(head);
    let mut lines = text.split("\r\n");
    let line = lines.next().unwrap_or_default().to_string();
    let headers = lines
        .filter(|l| !l.is_empty())
        .filter_map(|l| {
            l.split_once(':')
                .map(|(n, v)| (n.to_string(), v.strip_prefix(' ').unwrap_or(v).to_string()))
        })
        .collect();
    Request { line, headers }
}
