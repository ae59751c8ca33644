//! Shared helpers for the end-to-end tests: start a server on free loopback ports and drive raw
//! MSNP over TCP with bounded waits.
#![allow(dead_code)]

use msntv_devserver::auth::md5_login_answer;
use msntv_devserver::{expected_ticket_token, DbFile, Server, ServerConfig};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;

/// How long any single expected line may take.
pub const WAIT: Duration = Duration::from_secs(5);

/// Return the path of the example account file (the escargot transcript accounts).
pub fn accounts_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/escargot-accounts.json")
}

/// Load the example accounts with `send_chl` set as asked.
pub fn escargot_db(send_chl: bool) -> DbFile {
    let mut db = msntv_devserver::store::read_db(&accounts_path()).expect("example config");
    db.settings.send_chl = send_chl;
    db
}

/// A running server's addresses.
pub struct Running {
    pub ns: SocketAddr,
    pub sb: SocketAddr,
    pub task: tokio::task::JoinHandle<()>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Start a server on free ports.
pub async fn start(db: DbFile, state: Option<PathBuf>) -> Running {
    let server = Server::bind(ServerConfig {
        db,
        ns_port: 0,
        sb_port: 0,
        state_path: state,
        verifier: None,
    })
    .await
    .expect("bind");
    let ns = server.ns_addr();
    let sb = server.sb_addr();
    let task = tokio::spawn(server.run());
    Running { ns, sb, task }
}

/// A raw MSNP client connection.
pub struct Client {
    rd: BufReader<OwnedReadHalf>,
    wr: OwnedWriteHalf,
    /// Payload of the last `MSG`/`NOT` line returned by [`Client::line`].
    pub payload: Vec<u8>,
    trid: u32,
}

impl Client {
    pub async fn connect(addr: SocketAddr) -> Self {
        let s = TcpStream::connect(addr).await.expect("connect");
        let (rd, wr) = s.into_split();
        Self {
            rd: BufReader::new(rd),
            wr,
            payload: Vec::new(),
            trid: 0,
        }
    }

    /// Return a fresh TrID.
    pub fn t(&mut self) -> u32 {
        self.trid += 1;
        self.trid
    }

    pub async fn send(&mut self, line: &str) {
        self.send_raw(format!("{line}\r\n").as_bytes()).await;
    }

    pub async fn send_raw(&mut self, b: &[u8]) {
        self.wr.write_all(b).await.expect("write");
    }

    /// Send an `MSG`-style payload command: `head` gets ` <len>` appended.
    pub async fn send_payload(&mut self, head: &str, body: &[u8]) {
        let mut b = format!("{head} {}\r\n", body.len()).into_bytes();
        b.extend_from_slice(body);
        self.send_raw(&b).await;
    }

    /// Return the next line without CR LF; `MSG`/`NOT` payloads go to `self.payload`.
    pub async fn line(&mut self) -> String {
        let mut s = String::new();
        let n = tokio::time::timeout(WAIT, self.rd.read_line(&mut s))
            .await
            .expect("timed out waiting for a line")
            .expect("read");
        assert!(n > 0, "connection closed while waiting for a line");
        let line = s.trim_end_matches(['\r', '\n']).to_string();
        if line.starts_with("MSG ") || line.starts_with("NOT ") {
            let len: usize = line
                .rsplit(' ')
                .next()
                .and_then(|x| x.parse().ok())
                .expect("payload length");
            let mut p = vec![0; len];
            tokio::time::timeout(WAIT, self.rd.read_exact(&mut p))
                .await
                .expect("payload timeout")
                .expect("payload");
            self.payload = p;
        }
        line
    }

    /// Assert the next line equals `want`.
    pub async fn expect(&mut self, want: &str) {
        let got = self.line().await;
        assert_eq!(got, want);
    }

    /// Assert the next line starts with `prefix` and return it.
    pub async fn expect_prefix(&mut self, prefix: &str) -> String {
        let got = self.line().await;
        assert!(got.starts_with(prefix), "expected {prefix:?}…, got {got:?}");
        got
    }

    /// Assert nothing arrives within `ms` milliseconds.
    pub async fn silent(&mut self, ms: u64) {
        let mut s = String::new();
        if let Ok(r) =
            tokio::time::timeout(Duration::from_millis(ms), self.rd.read_line(&mut s)).await
        {
            panic!("expected silence, got {r:?}: {s:?}");
        }
    }

    /// Assert the server closes the connection (EOF) without sending more.
    pub async fn closed(&mut self) {
        let mut s = String::new();
        let n = tokio::time::timeout(WAIT, self.rd.read_line(&mut s))
            .await
            .expect("timed out waiting for close");
        match n {
            Ok(0) | Err(_) => {}
            Ok(_) => panic!("expected close, got {s:?}"),
        }
    }

    /// Log in with MD5 on dialect `ver` (2–7) and consume the profile message.
    pub async fn login_md5(
        addr: SocketAddr,
        ver: u8,
        email: &str,
        password: &str,
        salt: &str,
    ) -> Self {
        let mut c = Self::connect(addr).await;
        let t = c.t();
        c.send(&format!("VER {t} MSNP{ver} CVR0")).await;
        c.expect(&format!("VER {t} MSNP{ver}")).await;
        let t = c.t();
        c.send(&format!("INF {t}")).await;
        c.expect(&format!("INF {t} MD5")).await;
        let t = c.t();
        c.send(&format!("USR {t} MD5 I {email}")).await;
        c.expect(&format!("USR {t} MD5 S {salt}")).await;
        let t = c.t();
        c.send(&format!(
            "USR {t} MD5 S {}",
            md5_login_answer(salt, password)
        ))
        .await;
        c.expect_prefix(&format!("USR {t} OK {email} ")).await;
        c.expect_prefix("MSG Hotmail Hotmail ").await;
        c
    }

    /// Log in with TWN on MSNP8 using the default ticket scheme and consume the profile.
    pub async fn login_twn(addr: SocketAddr, email: &str, secret: &str) -> Self {
        let mut c = Self::connect(addr).await;
        let t = c.t();
        c.send(&format!("VER {t} MSNP8 CVR0")).await;
        c.expect(&format!("VER {t} MSNP8")).await;
        let t = c.t();
        c.send(&format!(
            "CVR {t} 0x0409 webtv 2.8 MIPS msntvim 2.8 msntv {email}"
        ))
        .await;
        c.expect_prefix(&format!("CVR {t} 2.8 2.8 2.8 ")).await;
        let t = c.t();
        c.send(&format!("USR {t} TWN I {email}")).await;
        c.expect(&format!(
            "USR {t} TWN S ct=1,rver=1,wp=FS_40SEC_0_COMPACT,lc=1,id=1"
        ))
        .await;
        let t = c.t();
        c.send(&format!(
            "USR {t} TWN S t={}&p=x",
            expected_ticket_token(secret, email)
        ))
        .await;
        c.expect_prefix(&format!("USR {t} OK {email} ")).await;
        c.expect_prefix("MSG Hotmail Hotmail ").await;
        c
    }

    /// Send `SYN t 0` and return every line of the burst (the count is derived from the reply).
    pub async fn syn(&mut self, dialect: u8) -> Vec<String> {
        let t = self.t();
        self.send(&format!("SYN {t} 0")).await;
        let head = self.line().await;
        let mut out = vec![head.clone()];
        if dialect >= 8 {
            let f: Vec<&str> = head.split(' ').collect();
            let contacts: usize = f.get(3).and_then(|x| x.parse().ok()).unwrap_or(0);
            let groups: usize = f.get(4).and_then(|x| x.parse().ok()).unwrap_or(0);
            if f.len() < 5 {
                return out;
            }
            let (mut lst, mut lsg, mut gtc_blp) = (0, 0, 0);
            while lst < contacts || lsg < groups || gtc_blp < 2 {
                let l = self.line().await;
                if l.starts_with("LST ") {
                    lst += 1;
                } else if l.starts_with("LSG ") {
                    lsg += 1;
                } else if l.starts_with("GTC ") || l.starts_with("BLP ") {
                    gtc_blp += 1;
                }
                out.push(l);
            }
        } else {
            loop {
                let l = self.line().await;
                let done = l.starts_with(&format!("LST {t} RL ")) && {
                    let f: Vec<&str> = l.split(' ').collect();
                    f.get(4) == f.get(5)
                };
                out.push(l);
                if done {
                    break;
                }
            }
        }
        out
    }
}
