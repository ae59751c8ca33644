//! The shared server state: connections, presence, switchboard sessions and cookies.
//!
//! The hub is synchronous: the I/O layer ([`crate::server`]) locks it, feeds one decoded frame at
//! a time, and every reply or notification is queued on the target connection's channel as
//! [`Out`] items, in order. NS commands live in [`crate::ns`], SB commands in [`crate::sb`].

use crate::auth::{md5_hex, TicketVerifier};
use crate::codec::{pct_encode, CodecError, Frame};
use crate::store::{Settings, Store};
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc::UnboundedSender;

/// Identifies one TCP connection (NS or SB).
pub type ConnId = u64;

/// What a connection task must do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Out {
    /// Write these bytes.
    Data(Vec<u8>),
    /// Flush and close the connection.
    Close,
}

/// Which listener a connection came in on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Notification server.
    Ns,
    /// Switchboard.
    Sb,
}

/// The statuses a client may set with `CHG`.
pub const STATUSES: &[&str] = &["NLN", "BSY", "IDL", "BRB", "AWY", "PHN", "LUN", "HDN"];

pub(crate) struct Conn {
    tx: UnboundedSender<Out>,
    closing: bool,
}

/// Login in progress on an NS connection.
#[derive(Debug, Clone)]
pub(crate) enum PendingAuth {
    Md5 { email: String, salt: String },
    Twn { email: String },
}

/// Per-connection notification-server state.
pub(crate) struct NsConn {
    pub peer: SocketAddr,
    pub dialect: u8,
    pub ver_done: bool,
    pub pending: Option<PendingAuth>,
    pub user: Option<String>,
    pub status: Option<String>,
    pub capab: u32,
    pub ims_off: bool,
    pub chl: Option<(String, Instant)>,
}

/// Per-connection switchboard state.
#[derive(Default)]
pub(crate) struct SbConn {
    pub user: Option<String>,
    pub chat: Option<String>,
}

/// One member of a switchboard session.
pub(crate) struct Member {
    pub conn: ConnId,
    pub email: String,
    pub name: String,
}

/// One switchboard session.
pub(crate) struct Chat {
    pub members: Vec<Member>,
}

pub(crate) struct XfrCookie {
    pub email: String,
    pub expires: Instant,
}

pub(crate) struct Invite {
    pub email: String,
    pub chat: String,
    pub expires: Instant,
}

/// The whole server state behind one lock.
pub struct Hub {
    pub(crate) store: Store,
    pub(crate) settings: Settings,
    pub(crate) verifier: Arc<dyn TicketVerifier>,
    pub(crate) conns: HashMap<ConnId, Conn>,
    pub(crate) ns: HashMap<ConnId, NsConn>,
    pub(crate) online: HashMap<String, ConnId>,
    pub(crate) sb: HashMap<ConnId, SbConn>,
    pub(crate) chats: HashMap<String, Chat>,
    pub(crate) xfr_cookies: HashMap<String, XfrCookie>,
    pub(crate) invites: HashMap<String, Invite>,
    pub(crate) sb_addr: String,
    seq: u64,
    state_path: Option<PathBuf>,
    dirty: bool,
}

impl Hub {
    /// Create a hub over `store`; `sb_addr` is the `host:port` announced in `XFR`/`RNG`.
    pub fn new(
        store: Store,
        settings: Settings,
        verifier: Arc<dyn TicketVerifier>,
        sb_addr: String,
        state_path: Option<PathBuf>,
    ) -> Self {
        Self {
            store,
            settings,
            verifier,
            conns: HashMap::new(),
            ns: HashMap::new(),
            online: HashMap::new(),
            sb: HashMap::new(),
            chats: HashMap::new(),
            xfr_cookies: HashMap::new(),
            invites: HashMap::new(),
            sb_addr,
            seq: 0,
            state_path,
            dirty: false,
        }
    }

    /// Return the account store (read-only).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Register a new connection and its output channel.
    pub fn open(&mut self, id: ConnId, role: Role, tx: UnboundedSender<Out>, peer: SocketAddr) {
        self.conns.insert(id, Conn { tx, closing: false });
        match role {
            Role::Ns => {
                self.ns.insert(
                    id,
                    NsConn {
                        peer,
                        dialect: 2,
                        ver_done: false,
                        pending: None,
                        user: None,
                        status: None,
                        capab: 0,
                        ims_off: false,
                        chl: None,
                    },
                );
            }
            Role::Sb => {
                self.sb.insert(id, SbConn::default());
            }
        }
    }

    /// Handle one decoded frame from connection `id`.
    pub fn frame(&mut self, id: ConnId, role: Role, f: Frame, now: Instant) {
        if self.is_closing(id) {
            return;
        }
        match role {
            Role::Ns => self.ns_frame(id, f, now),
            Role::Sb => self.sb_frame(id, f, now),
        }
    }

    /// Handle a framing error: the connection is closed without a reply.
    pub fn codec_error(&mut self, id: ConnId, _err: CodecError) {
        self.close(id);
    }

    /// Forget connection `id` after its socket is gone (sign-out, `BYE` to switchboard peers).
    pub fn closed(&mut self, id: ConnId, role: Role) {
        match role {
            Role::Ns => {
                self.ns_logout(id);
                self.ns.remove(&id);
            }
            Role::Sb => self.sb_leave(id),
        }
        self.conns.remove(&id);
    }

    /// Query whether connection `id` is being closed (further input is ignored).
    pub fn is_closing(&self, id: ConnId) -> bool {
        self.conns.get(&id).is_none_or(|c| c.closing)
    }

    /// Run timers: unanswered `CHL`s close their connection, stale cookies are dropped.
    pub fn tick(&mut self, now: Instant) {
        let late: Vec<ConnId> = self
            .ns
            .iter()
            .filter(|(_, s)| s.chl.as_ref().is_some_and(|(_, deadline)| now >= *deadline))
            .map(|(id, _)| *id)
            .collect();
        for id in late {
            self.ns_logout(id);
            self.close(id);
        }
        self.xfr_cookies.retain(|_, c| c.expires > now);
        self.invites.retain(|_, c| c.expires > now);
    }

    /// Write the state file if anything changed since the last save.
    pub fn save_if_dirty(&mut self) {
        if !self.dirty {
            return;
        }
        self.dirty = false;
        if let Some(path) = &self.state_path {
            if let Err(e) = self.store.save(path) {
                eprintln!("msntv-devserver: cannot save state: {e}");
            }
        }
    }

    pub(crate) fn mark_dirty(&mut self) {
        self.dirty = true;
    }

    /// Queue raw bytes for connection `id`.
    pub(crate) fn send_raw(&self, id: ConnId, bytes: Vec<u8>) {
        if let Some(c) = self.conns.get(&id) {
            if !c.closing {
                // A closed receiver means the task is already gone; nothing to do.
                let _ = c.tx.send(Out::Data(bytes));
            }
        }
    }

    /// Queue one command line (CR LF is appended) for connection `id`.
    pub(crate) fn send(&self, id: ConnId, line: impl AsRef<str>) {
        let mut b = line.as_ref().as_bytes().to_vec();
        b.extend_from_slice(b"\r\n");
        self.send_raw(id, b);
    }

    /// Close connection `id` after its queued output.
    pub(crate) fn close(&mut self, id: ConnId) {
        if let Some(c) = self.conns.get_mut(&id) {
            if !c.closing {
                c.closing = true;
                let _ = c.tx.send(Out::Close);
            }
        }
    }

    /// Return a fresh lower-case hex token of `len` characters (cookies, session ids).
    pub(crate) fn token(&mut self, len: usize) -> String {
        let mut s = String::new();
        while s.len() < len {
            self.seq = self.seq.wrapping_add(1);
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            s.push_str(&md5_hex(
                format!("{}:{}:{nanos}", self.settings.ticket_secret, self.seq).as_bytes(),
            ));
        }
        s.truncate(len);
        s
    }

    /// Return a fresh 20-digit decimal `CHL` challenge.
    pub(crate) fn challenge(&mut self) -> String {
        let hex = self.token(32);
        let n = u128::from_str_radix(&hex, 16).unwrap_or(0) % 100_000_000_000_000_000_000u128;
        format!("{n:020}")
    }

    /// Return the lifetime of `XFR`/`RNG` cookies.
    pub(crate) fn cookie_lifetime(&self) -> Duration {
        Duration::from_secs(self.settings.cookie_lifetime_secs)
    }

    // ----- presence -------------------------------------------------------------------------

    /// Return `(status, capabilities)` of `email` if they are signed in, past their first `CHG`
    /// and not hidden.
    pub(crate) fn presence(&self, email: &str) -> Option<(String, u32)> {
        let c = self.online.get(email)?;
        let s = self.ns.get(c)?;
        let st = s.status.as_ref()?;
        (st != "HDN").then(|| (st.clone(), s.capab))
    }

    /// Return the NS connections (with their users) that watch `target`: signed in, past their
    /// first `CHG`, with `target` on their FL.
    pub(crate) fn watchers(&self, target: &str) -> Vec<(ConnId, String)> {
        self.store
            .reverse_list(target)
            .into_iter()
            .filter_map(|viewer| {
                let c = *self.online.get(&viewer)?;
                self.ns.get(&c)?.status.as_ref()?;
                Some((c, viewer))
            })
            .collect()
    }

    /// Query whether `viewer` currently sees `target` online.
    pub(crate) fn can_see(&self, viewer: &str, target: &str) -> bool {
        self.presence(target).is_some() && self.store.allows(target, viewer)
    }

    /// Return the watcher connections that currently see `target` online.
    pub(crate) fn visible_set(&self, target: &str) -> HashSet<ConnId> {
        self.watchers(target)
            .into_iter()
            .filter(|(_, v)| self.can_see(v, target))
            .map(|(c, _)| c)
            .collect()
    }

    /// Return the friendly name of `email`, `%`-encoded.
    pub(crate) fn name_enc(&self, email: &str) -> String {
        self.store
            .get(email)
            .map_or_else(|| pct_encode(email), |a| pct_encode(&a.friendly_name))
    }

    /// Return the dialect of NS connection `id` (2 if unknown).
    pub(crate) fn dialect(&self, id: ConnId) -> u8 {
        self.ns.get(&id).map_or(2, |s| s.dialect)
    }

    /// Return an `ILN`/`NLN` line body for `target` as seen on connection `viewer_conn`.
    pub(crate) fn presence_line(
        &self,
        prefix: &str,
        viewer_conn: ConnId,
        target: &str,
    ) -> Option<String> {
        let (status, capab) = self.presence(target)?;
        let mut line = format!("{prefix} {status} {target} {}", self.name_enc(target));
        if self.dialect(viewer_conn) >= 8 {
            line.push_str(&format!(" {capab}"));
        }
        Some(line)
    }

    /// Tell `target`'s watchers about its presence after a change: `NLN` to everyone who sees it
    /// now, `FLN` to those in `before` who no longer do.
    pub(crate) fn notify_presence(&self, target: &str, before: &HashSet<ConnId>) {
        self.notify_presence_to(target, before, None);
    }

    /// Tell one watcher (`only`) about `target` after a list change, but only if what they see
    /// changed (Escargot sends nothing when an AL/BL change leaves the contact's view as it was).
    pub(crate) fn notify_presence_to(
        &self,
        target: &str,
        before: &HashSet<ConnId>,
        only: Option<&str>,
    ) {
        for (c, viewer) in self.watchers(target) {
            if only.is_some_and(|o| o != viewer) {
                continue;
            }
            if only.is_some() && self.can_see(&viewer, target) == before.contains(&c) {
                continue;
            }
            if self.can_see(&viewer, target) {
                if let Some(line) = self.presence_line("NLN", c, target) {
                    self.send(c, line);
                }
            } else if before.contains(&c) {
                self.send(c, format!("FLN {target}"));
            }
        }
    }
}
