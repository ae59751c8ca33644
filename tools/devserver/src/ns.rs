//! Notification-server commands (MSNP2–MSNP8), following Escargot's observed behaviour except
//! where the crate docs list a deliberate difference.

use crate::auth::{md5_login_answer, qry_answer, TWN_POLICY};
use crate::codec::{pct_decode, pct_encode, Frame};
use crate::hub::{ConnId, Hub, PendingAuth, XfrCookie, STATUSES};
use crate::store::{Blp, Contact, ListKind, MAX_GROUP_ID, MAX_GROUP_NAME, MAX_LIST_LEN};
use std::collections::HashSet;
use std::time::{Duration, Instant};

/// Highest dialect this server speaks.
pub const MAX_DIALECT: u8 = 8;
/// Lowest dialect this server speaks.
pub const MIN_DIALECT: u8 = 2;
/// Longest phone number accepted in `PRP` (Escargot closes the connection beyond).
const MAX_PHONE_LEN: usize = 95;
/// Longest encoded friendly name accepted in `REA` (reference §2.4).
const MAX_NAME_LEN: usize = 387;
/// `PRP` keys listed in `SYN`, in Escargot's order.
const PRP_KEYS: &[&str] = &["PHH", "PHW", "PHM", "MOB", "MBE"];
/// `BPR` keys sent for a contact, in Escargot's order.
const BPR_KEYS: &[&str] = &["PHH", "PHW", "PHM", "MOB"];

/// Commands that need a signed-in session.
const AFTER_LOGIN: &[&str] = &[
    "SYN", "CHG", "ADD", "REM", "ADG", "RMG", "REG", "REA", "BLP", "GTC", "PRP", "XFR", "IMS",
    "URL", "SND", "SDC", "QRY",
];

impl Hub {
    /// Handle one frame on an NS connection.
    pub(crate) fn ns_frame(&mut self, c: ConnId, f: Frame, now: Instant) {
        let Some(s) = self.ns.get(&c) else { return };
        let logged_in = s.user.is_some();
        match f.verb.as_str() {
            "OUT" => {
                self.ns_logout(c);
                self.close(c);
                return;
            }
            "PNG" => {
                if logged_in {
                    self.send(c, "QNG");
                } else {
                    self.close(c);
                }
                return;
            }
            "VER" | "CVR" | "INF" | "USR" => {}
            v if AFTER_LOGIN.contains(&v) => {
                if !logged_in {
                    self.close(c);
                    return;
                }
            }
            // Unknown commands (FND, PAG, LST, LSG, …): no reply, keep the connection.
            _ => return,
        }
        let Some(trid) = f.trid() else {
            // A missing or non-numeric TrID on a known command.
            if f.args.is_empty() {
                return;
            }
            self.close(c);
            return;
        };
        match f.verb.as_str() {
            "VER" => self.ns_ver(c, trid, &f),
            "CVR" => self.ns_cvr(c, trid, &f),
            "INF" => {
                if self.dialect(c) >= 8 {
                    self.close(c);
                } else {
                    self.send(c, format!("INF {trid} MD5"));
                }
            }
            "USR" => self.ns_usr(c, trid, &f),
            "SYN" => self.ns_syn(c, trid, &f),
            "CHG" => self.ns_chg(c, trid, &f, now),
            "ADD" => self.ns_add(c, trid, &f),
            "REM" => self.ns_rem(c, trid, &f),
            "ADG" | "RMG" | "REG" => {
                if self.dialect(c) >= 7 {
                    self.ns_groups(c, trid, &f);
                }
            }
            "REA" => self.ns_rea(c, trid, &f),
            "BLP" | "GTC" => self.ns_privacy(c, trid, &f),
            "PRP" => {
                if self.dialect(c) >= 5 {
                    self.ns_prp(c, trid, &f);
                }
            }
            "XFR" => self.ns_xfr(c, trid, &f, now),
            "IMS" => match f.arg(1) {
                Some(v @ ("ON" | "OFF")) => {
                    if let Some(s) = self.ns.get_mut(&c) {
                        s.ims_off = v == "OFF";
                    }
                    self.send(c, format!("IMS {trid} 0 {v}"));
                }
                Some(_) => self.send(c, format!("715 {trid}")),
                None => {}
            },
            "URL" => self.send(c, format!("URL {trid} /unused1 /unused2 1")),
            "SND" => self.send(c, format!("SND {trid} OK")),
            "SDC" => {
                if self.dialect(c) < 5 {
                    self.close(c);
                } else {
                    self.send(c, format!("SDC {trid} OK"));
                }
            }
            "QRY" => self.ns_qry(c, trid, &f),
            _ => {}
        }
    }

    fn user(&self, c: ConnId) -> Option<String> {
        self.ns.get(&c).and_then(|s| s.user.clone())
    }

    fn ns_ver(&mut self, c: ConnId, trid: u32, f: &Frame) {
        let Some(s) = self.ns.get_mut(&c) else { return };
        if s.ver_done {
            self.send(c, format!("715 {trid}"));
            self.close(c);
            return;
        }
        let best = f
            .args
            .iter()
            .skip(1)
            .filter_map(|t| {
                t.to_ascii_uppercase()
                    .strip_prefix("MSNP")
                    .and_then(|n| n.parse::<u8>().ok())
            })
            .filter(|n| (MIN_DIALECT..=MAX_DIALECT).contains(n))
            .max();
        match best {
            Some(n) => {
                s.dialect = n;
                s.ver_done = true;
                self.send(c, format!("VER {trid} MSNP{n}"));
            }
            None => {
                self.send(c, format!("VER {trid} 0"));
                self.close(c);
            }
        }
    }

    fn ns_cvr(&mut self, c: ConnId, trid: u32, f: &Frame) {
        // locale os-type os-version arch client-name client-version [codebase [handle]]
        let Some(version) = f.arg(6) else { return };
        let url = &self.settings.cvr_url;
        self.send(
            c,
            format!("CVR {trid} {version} {version} {version} {url} {url}"),
        );
    }

    fn ns_usr(&mut self, c: ConnId, trid: u32, f: &Frame) {
        let Some(s) = self.ns.get(&c) else { return };
        if s.user.is_some() {
            self.send(c, format!("207 {trid}"));
            return;
        }
        let dialect = s.dialect;
        let (Some(pkg), Some(stage), Some(data)) = (f.arg(1), f.arg(2), f.arg(3)) else {
            return;
        };
        match (pkg.to_ascii_uppercase().as_str(), stage) {
            ("MD5", _) | ("TWN", _) if (pkg.eq_ignore_ascii_case("MD5")) == (dialect >= 8) => {
                self.close(c)
            }
            ("MD5", "I") | ("TWN", "I") => {
                let email = data.to_ascii_lowercase();
                if !email.contains('@') {
                    self.send(c, format!("911 {trid}"));
                    self.close(c);
                    return;
                }
                let pending = if pkg.eq_ignore_ascii_case("MD5") {
                    let salt = match self.store.get(&email) {
                        Some(a) => a.salt.clone(),
                        None => {
                            let t = std::time::SystemTime::now()
                                .duration_since(std::time::UNIX_EPOCH)
                                .unwrap_or_default();
                            format!("{}.{}", t.as_secs(), t.subsec_micros())
                        }
                    };
                    self.send(c, format!("USR {trid} MD5 S {salt}"));
                    PendingAuth::Md5 { email, salt }
                } else {
                    self.send(c, format!("USR {trid} TWN S {TWN_POLICY}"));
                    PendingAuth::Twn { email }
                };
                if let Some(s) = self.ns.get_mut(&c) {
                    s.pending = Some(pending);
                }
            }
            ("MD5", "S") | ("TWN", "S") => {
                let Some(pending) = self.ns.get(&c).and_then(|s| s.pending.clone()) else {
                    return;
                };
                let ok_email = match pending {
                    PendingAuth::Md5 { email, salt } => self
                        .store
                        .get(&email)
                        .filter(|a| md5_login_answer(&salt, &a.password).eq_ignore_ascii_case(data))
                        .map(|a| a.email.clone()),
                    PendingAuth::Twn { email } => self
                        .store
                        .get(&email)
                        .filter(|a| self.verifier.verify(&a.email, data))
                        .map(|a| a.email.clone()),
                };
                match ok_email {
                    Some(email) => self.login_ok(c, trid, &email),
                    None => {
                        self.send(c, format!("911 {trid}"));
                        self.close(c);
                    }
                }
            }
            _ => {}
        }
    }

    fn login_ok(&mut self, c: ConnId, trid: u32, email: &str) {
        if let Some(&old) = self.online.get(email) {
            if old != c {
                self.ns_logout(old);
                self.send(old, "OUT OTH");
                self.close(old);
            }
        }
        let Some(s) = self.ns.get_mut(&c) else { return };
        s.user = Some(email.to_string());
        s.pending = None;
        let dialect = s.dialect;
        let peer = s.peer;
        self.online.insert(email.to_string(), c);
        let name = self.name_enc(email);
        let tail = match dialect {
            6 | 7 => " 1",
            8 => " 1 0",
            _ => "",
        };
        self.send(c, format!("USR {trid} OK {email} {name}{tail}"));
        let profile = self.profile(email, peer);
        let mut bytes = format!("MSG Hotmail Hotmail {}\r\n", profile.len()).into_bytes();
        bytes.extend_from_slice(profile.as_bytes());
        self.send_raw(c, bytes);
    }

    /// Return the `text/x-msmsgsprofile` payload sent after login (Escargot sends the MSNP8
    /// field set in every dialect; so do we).
    fn profile(&self, email: &str, peer: std::net::SocketAddr) -> String {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let id = crate::auth::md5_hex(email.as_bytes());
        let high = u32::from_str_radix(id.get(..7).unwrap_or("0"), 16).unwrap_or(0);
        let low = u32::from_str_radix(id.get(7..11).unwrap_or("0"), 16).unwrap_or(0);
        let port = peer.port();
        let swapped = port.rotate_left(8);
        let auth =
            crate::auth::md5_hex(format!("{}{email}{now}", self.settings.ticket_secret).as_bytes());
        format!(
            "MIME-Version: 1.0\r\nContent-Type: text/x-msmsgsprofile; charset=UTF-8\r\nLoginTime: {now}\r\n\
             EmailEnabled: 0\r\nMemberIdHigh: {high}\r\nMemberIdLow: {low}\r\nlang_preference: 1033\r\n\
             preferredEmail:\r\ncountry:\r\nPostalCode:\r\nGender:\r\nKid: 0\r\nAge:\r\nBDayPre:\r\n\
             Birthday:\r\nWallet:\r\nFlags: 536872513\r\nsid: 507\r\nMSPAuth: {auth}&p=\r\n\
             ClientIP: {}\r\nClientPort: {swapped}\r\n\r\n",
            peer.ip()
        )
    }

    /// Sign the user of connection `c` out (presence `FLN` to watchers); the socket stays.
    pub(crate) fn ns_logout(&mut self, c: ConnId) {
        let Some(email) = self.user(c) else { return };
        let before = self.visible_set(&email);
        if let Some(s) = self.ns.get_mut(&c) {
            s.user = None;
            s.status = None;
            s.chl = None;
        }
        if self.online.get(&email) == Some(&c) {
            self.online.remove(&email);
        }
        self.notify_presence(&email, &before);
    }

    fn ns_syn(&mut self, c: ConnId, trid: u32, f: &Frame) {
        let Some(client_ver) = f.arg(1).and_then(|v| v.parse::<u32>().ok()) else {
            return;
        };
        let Some(me) = self.user(c) else { return };
        let dialect = self.dialect(c);
        let Some(acct) = self.store.get(&me) else {
            return;
        };
        let v = acct.version;
        if client_ver == v {
            self.send(c, format!("SYN {trid} {v}"));
            return;
        }
        // Every contact: stored entries plus reverse-list-only ones, sorted by address.
        let rl: HashSet<String> = self.store.reverse_list(&me).into_iter().collect();
        let mut emails: Vec<String> = acct
            .contacts
            .keys()
            .cloned()
            .chain(rl.iter().cloned())
            .collect();
        emails.sort();
        emails.dedup();
        let empty = Contact::default();
        let entry = |e: &str| acct.contacts.get(e).unwrap_or(&empty);
        let nick = |e: &str| -> String {
            match acct.contacts.get(e) {
                Some(ct) => pct_encode(&ct.nickname),
                None => self.name_enc(e),
            }
        };
        let groups_field = |ct: &Contact| -> String {
            if ct.groups.is_empty() {
                "0".into()
            } else {
                ct.groups
                    .iter()
                    .map(u32::to_string)
                    .collect::<Vec<_>>()
                    .join(",")
            }
        };
        let bpr = |e: &str, with_ver: bool| -> Vec<String> {
            let Some(other) = self.store.get(e) else {
                return Vec::new();
            };
            BPR_KEYS
                .iter()
                .filter_map(|k| other.props.get(*k).map(|val| (k, val)))
                .map(|(k, val)| {
                    if with_ver {
                        format!("BPR {v} {k} {}", pct_encode(val))
                    } else {
                        format!("BPR {k} {}", pct_encode(val))
                    }
                })
                .collect()
        };
        let mut lines = Vec::new();
        let groups: Vec<(u32, String)> = std::iter::once((0, "Other Contacts".to_string()))
            .chain(acct.groups.iter().map(|(id, n)| (*id, n.clone())))
            .collect();
        if dialect >= 8 {
            lines.push(format!("SYN {trid} {v} {} {}", emails.len(), groups.len()));
            lines.push(format!("GTC {}", acct.gtc));
            lines.push(format!("BLP {}", acct.blp.token()));
            for k in PRP_KEYS {
                if let Some(val) = acct.props.get(*k) {
                    lines.push(format!("PRP {k} {}", pct_encode(val)));
                }
            }
            for (id, name) in &groups {
                lines.push(format!("LSG {id} {} 0", pct_encode(name)));
            }
            for e in &emails {
                let ct = entry(e);
                let bits = u8::from(ct.fl)
                    | (u8::from(ct.al) << 1)
                    | (u8::from(ct.bl) << 2)
                    | (u8::from(rl.contains(e)) << 3);
                lines.push(format!("LST {e} {} {bits} {}", nick(e), groups_field(ct)));
                lines.extend(bpr(e, false));
            }
        } else {
            lines.push(format!("SYN {trid} {v}"));
            lines.push(format!("GTC {trid} {v} {}", acct.gtc));
            lines.push(format!("BLP {trid} {v} {}", acct.blp.token()));
            if dialect >= 5 {
                for k in PRP_KEYS {
                    if let Some(val) = acct.props.get(*k) {
                        lines.push(format!("PRP {v} {k} {}", pct_encode(val)));
                    }
                }
            }
            if dialect >= 7 {
                let n = groups.len();
                for (i, (id, name)) in groups.iter().enumerate() {
                    lines.push(format!(
                        "LSG {trid} {v} {} {n} {id} {} 0",
                        i + 1,
                        pct_encode(name)
                    ));
                }
            }
            for list in ["FL", "AL", "BL", "RL"] {
                let members: Vec<&String> = emails
                    .iter()
                    .filter(|e| match list {
                        "FL" => entry(e).fl,
                        "AL" => entry(e).al,
                        "BL" => entry(e).bl,
                        _ => rl.contains(*e),
                    })
                    .collect();
                if members.is_empty() {
                    lines.push(format!("LST {trid} {list} {v} 0 0"));
                }
                let n = members.len();
                for (i, e) in members.iter().enumerate() {
                    let name = if list == "RL" {
                        self.name_enc(e)
                    } else {
                        nick(e)
                    };
                    let mut line = format!("LST {trid} {list} {v} {} {n} {e} {name}", i + 1);
                    if list == "FL" && dialect >= 7 {
                        line.push(' ');
                        line.push_str(&groups_field(entry(e)));
                    }
                    lines.push(line);
                    if dialect >= 5 {
                        lines.extend(bpr(e, true));
                    }
                }
            }
        }
        for l in lines {
            self.send(c, l);
        }
    }

    fn ns_chg(&mut self, c: ConnId, trid: u32, f: &Frame, now: Instant) {
        let Some(status) = f.arg(1).map(str::to_ascii_uppercase) else {
            return;
        };
        let Some(me) = self.user(c) else { return };
        let dialect = self.dialect(c);
        let capab = if dialect >= 8 {
            match f.arg(2).and_then(|v| v.parse::<u32>().ok()) {
                Some(v) => Some(v),
                None => return, // Escargot silently ignores MSNP8 CHG without a numeric client id.
            }
        } else {
            None
        };
        if status == "FLN" {
            self.send(c, format!("201 {trid}"));
            return;
        }
        if !STATUSES.contains(&status.as_str()) {
            self.close(c);
            return;
        }
        let before = self.visible_set(&me);
        let Some(s) = self.ns.get_mut(&c) else { return };
        let first = s.status.is_none();
        s.status = Some(status.clone());
        s.capab = capab.unwrap_or(0);
        match capab {
            Some(cap) => self.send(c, format!("CHG {trid} {status} {cap}")),
            None => self.send(c, format!("CHG {trid} {status}")),
        }
        if first {
            let fl: Vec<String> = self
                .store
                .get(&me)
                .map(|a| {
                    a.contacts
                        .iter()
                        .filter(|(_, ct)| ct.fl)
                        .map(|(e, _)| e.clone())
                        .collect()
                })
                .unwrap_or_default();
            for e in fl {
                if self.can_see(&me, &e) {
                    if let Some(line) = self.presence_line(&format!("ILN {trid}"), c, &e) {
                        self.send(c, line);
                    }
                }
            }
        }
        self.notify_presence(&me, &before);
        if first && dialect >= 6 && self.settings.send_chl {
            let chl = self.challenge();
            let deadline = now + Duration::from_secs(self.settings.chl_timeout_secs);
            self.send(c, format!("CHL 0 {chl}"));
            if let Some(s) = self.ns.get_mut(&c) {
                s.chl = Some((chl, deadline));
            }
        }
    }

    /// Send the reverse-list notification (`ADD 0 RL` / `REM 0 RL`) to `other` if online.
    fn notify_rl(&mut self, other: &str, me: &str, added: bool) {
        let Some(acct) = self.store.get_mut(other) else {
            return;
        };
        let v = acct.bump();
        let Some(&oc) = self.online.get(other) else {
            return;
        };
        if added {
            let name = self.name_enc(me);
            self.send(oc, format!("ADD 0 RL {v} {me} {name}"));
        } else {
            self.send(oc, format!("REM 0 RL {v} {me}"));
        }
        if self.dialect(oc) >= 8 {
            let body = abch_notification(other);
            let mut b = format!("NOT {}\r\n", body.len()).into_bytes();
            b.extend_from_slice(body.as_bytes());
            self.send_raw(oc, b);
        }
    }

    fn ns_add(&mut self, c: ConnId, trid: u32, f: &Frame) {
        let Some(list) = f.arg(1) else { return };
        if list == "RL" {
            self.close(c);
            return;
        }
        let Some(list) = ListKind::parse(list) else {
            return;
        };
        let Some(target) = f.arg(2).map(str::to_ascii_lowercase) else {
            return;
        };
        let Some(me) = self.user(c) else { return };
        let dialect = self.dialect(c);
        if !target.contains('@') || target == me {
            self.send(c, format!("201 {trid}"));
            return;
        }
        let nick_raw = f.arg(3).unwrap_or(&target).to_string();
        let nick = pct_decode(&nick_raw);
        let group = if list == ListKind::Fl && dialect >= 7 {
            f.arg(4).and_then(|g| g.parse::<u32>().ok())
        } else {
            None
        };
        if self.store.get(&target).is_none() {
            self.send(c, format!("205 {trid}"));
            return;
        }
        let Some(acct) = self.store.get(&me) else {
            return;
        };
        if let Some(g) = group {
            if g != 0 && !acct.groups.contains_key(&g) {
                self.send(c, format!("224 {trid}"));
                return;
            }
        }
        let existing = acct.contact(&target).cloned();
        let on_list = acct.has(list, &target);
        let list_len = acct.contacts.values().filter(|ct| ct.fl).count();
        match (list, group) {
            (ListKind::Fl, Some(g)) if on_list => {
                let in_group = if g == 0 {
                    true
                } else {
                    existing.as_ref().is_some_and(|ct| ct.groups.contains(&g))
                };
                if in_group {
                    self.send(c, format!("215 {trid}"));
                    return;
                }
            }
            (ListKind::Fl, None) if on_list => {}
            (_, _) if on_list => {
                self.send(c, format!("215 {trid}"));
                return;
            }
            (ListKind::Fl, _) if list_len >= MAX_LIST_LEN => {
                self.send(c, format!("210 {trid}"));
                return;
            }
            _ => {}
        }
        let before = self.visible_set(&me);
        let Some(acct) = self.store.get_mut(&me) else {
            return;
        };
        let entry = acct
            .contacts
            .entry(target.clone())
            .or_insert_with(|| Contact {
                nickname: nick.clone(),
                ..Contact::default()
            });
        let newly_fl = list == ListKind::Fl && !entry.fl;
        match list {
            ListKind::Fl => {
                entry.fl = true;
                if let Some(g) = group.filter(|g| *g != 0) {
                    entry.groups.insert(g);
                }
            }
            ListKind::Al => entry.al = true,
            ListKind::Bl => entry.bl = true,
        }
        let v = acct.bump();
        self.mark_dirty();
        let nick_out = pct_encode(&nick);
        match group {
            Some(g) => self.send(c, format!("ADD {trid} FL {v} {target} {nick_out} {g}")),
            None => self.send(
                c,
                format!("ADD {trid} {} {v} {target} {nick_out}", list.token()),
            ),
        }
        if newly_fl {
            self.notify_rl(&target, &me, true);
            let me_active = self.ns.get(&c).is_some_and(|s| s.status.is_some());
            if me_active && self.can_see(&me, &target) {
                if dialect >= 5 {
                    let props = self
                        .store
                        .get(&target)
                        .map(|a| a.props.clone())
                        .unwrap_or_default();
                    for k in BPR_KEYS {
                        let val = props.get(*k).map(|x| pct_encode(x)).unwrap_or_else(|| {
                            if *k == "MOB" {
                                "N".into()
                            } else {
                                String::new()
                            }
                        });
                        let line = if val.is_empty() {
                            format!("BPR {v} {target} {k}")
                        } else {
                            format!("BPR {v} {target} {k} {val}")
                        };
                        self.send(c, line);
                    }
                }
                if let Some(line) = self.presence_line(&format!("ILN {trid}"), c, &target) {
                    self.send(c, line);
                }
            }
        }
        if list != ListKind::Fl {
            self.notify_presence_to(&me, &before, Some(&target));
        }
    }

    fn ns_rem(&mut self, c: ConnId, trid: u32, f: &Frame) {
        let Some(list) = f.arg(1) else { return };
        if list == "RL" {
            self.close(c);
            return;
        }
        let Some(list) = ListKind::parse(list) else {
            return;
        };
        let Some(target) = f.arg(2).map(str::to_ascii_lowercase) else {
            return;
        };
        let Some(me) = self.user(c) else { return };
        let dialect = self.dialect(c);
        if !target.contains('@') {
            self.send(c, format!("201 {trid}"));
            return;
        }
        if self.store.get(&target).is_none() {
            self.send(c, format!("205 {trid}"));
            return;
        }
        let group = if list == ListKind::Fl && dialect >= 7 {
            f.arg(3).and_then(|g| g.parse::<u32>().ok())
        } else {
            None
        };
        let Some(acct) = self.store.get(&me) else {
            return;
        };
        if !acct.has(list, &target) {
            self.send(c, format!("216 {trid}"));
            return;
        }
        if let Some(g) = group.filter(|g| *g != 0) {
            if !acct.groups.contains_key(&g) {
                self.send(c, format!("224 {trid}"));
                return;
            }
            if !acct
                .contact(&target)
                .is_some_and(|ct| ct.groups.contains(&g))
            {
                self.send(c, format!("225 {trid}"));
                return;
            }
            let Some(acct) = self.store.get_mut(&me) else {
                return;
            };
            if let Some(ct) = acct.contacts.get_mut(&target) {
                ct.groups.remove(&g);
            }
            let v = acct.bump();
            self.mark_dirty();
            self.send(c, format!("REM {trid} FL {v} {target} {g}"));
            return;
        }
        let before = self.visible_set(&me);
        let Some(acct) = self.store.get_mut(&me) else {
            return;
        };
        if let Some(ct) = acct.contacts.get_mut(&target) {
            match list {
                ListKind::Fl => {
                    ct.fl = false;
                    ct.groups.clear();
                }
                ListKind::Al => ct.al = false,
                ListKind::Bl => ct.bl = false,
            }
            if ct.is_empty() {
                acct.contacts.remove(&target);
            }
        }
        let v = acct.bump();
        self.mark_dirty();
        match group {
            Some(g) => self.send(c, format!("REM {trid} FL {v} {target} {g}")),
            None => self.send(c, format!("REM {trid} {} {v} {target}", list.token())),
        }
        if list == ListKind::Fl {
            self.notify_rl(&target, &me, false);
        } else {
            self.notify_presence_to(&me, &before, Some(&target));
        }
    }

    fn ns_groups(&mut self, c: ConnId, trid: u32, f: &Frame) {
        let Some(me) = self.user(c) else { return };
        let Some(acct) = self.store.get(&me) else {
            return;
        };
        let name_ok = |raw: &str| raw.len() <= MAX_GROUP_NAME;
        match f.verb.as_str() {
            "ADG" => {
                let Some(raw) = f.arg(1) else { return };
                let name = pct_decode(raw);
                if !name_ok(raw) {
                    self.send(c, format!("229 {trid}"));
                    return;
                }
                if name == "Other Contacts" || acct.groups.values().any(|n| *n == name) {
                    self.send(c, format!("228 {trid}"));
                    return;
                }
                let Some(id) = (1..=MAX_GROUP_ID).find(|id| !acct.groups.contains_key(id)) else {
                    self.send(c, format!("223 {trid}"));
                    return;
                };
                let Some(acct) = self.store.get_mut(&me) else {
                    return;
                };
                acct.groups.insert(id, name.clone());
                let v = acct.bump();
                self.mark_dirty();
                self.send(c, format!("ADG {trid} {v} {} {id} 0", pct_encode(&name)));
            }
            "RMG" => {
                let Some(id) = f.arg(1).and_then(|g| g.parse::<u32>().ok()) else {
                    return;
                };
                // Escargot answers 224 for group 0 too (the reference lists 230).
                if !acct.groups.contains_key(&id) {
                    self.send(c, format!("224 {trid}"));
                    return;
                }
                let Some(acct) = self.store.get_mut(&me) else {
                    return;
                };
                acct.groups.remove(&id);
                for ct in acct.contacts.values_mut() {
                    ct.groups.remove(&id);
                }
                let v = acct.bump();
                self.mark_dirty();
                self.send(c, format!("RMG {trid} {v} {id}"));
            }
            _ => {
                let (Some(id), Some(raw)) =
                    (f.arg(1).and_then(|g| g.parse::<u32>().ok()), f.arg(2))
                else {
                    return;
                };
                let name = pct_decode(raw);
                if !acct.groups.contains_key(&id) {
                    self.send(c, format!("224 {trid}"));
                    return;
                }
                if !name_ok(raw) {
                    self.send(c, format!("229 {trid}"));
                    return;
                }
                if acct.groups.iter().any(|(gid, n)| *gid != id && *n == name) {
                    self.send(c, format!("228 {trid}"));
                    return;
                }
                let Some(acct) = self.store.get_mut(&me) else {
                    return;
                };
                acct.groups.insert(id, name.clone());
                let v = acct.bump();
                self.mark_dirty();
                self.send(c, format!("REG {trid} {v} {id} {} 0", pct_encode(&name)));
            }
        }
    }

    fn ns_rea(&mut self, c: ConnId, trid: u32, f: &Frame) {
        let (Some(target), Some(raw)) = (f.arg(1).map(str::to_ascii_lowercase), f.arg(2)) else {
            return;
        };
        let Some(me) = self.user(c) else { return };
        let name = pct_decode(raw);
        if pct_encode(&name).len() > MAX_NAME_LEN {
            self.send(c, format!("209 {trid}"));
            return;
        }
        let Some(acct) = self.store.get_mut(&me) else {
            return;
        };
        if target == me {
            acct.friendly_name = name.clone();
        } else if let Some(ct) = acct.contacts.get_mut(&target) {
            ct.nickname = name.clone();
        }
        let v = acct.bump();
        self.mark_dirty();
        self.send(c, format!("REA {trid} {v} {target} {}", pct_encode(&name)));
        if target == me {
            let seen = self.visible_set(&me);
            self.notify_presence(&me, &seen);
        }
    }

    fn ns_privacy(&mut self, c: ConnId, trid: u32, f: &Frame) {
        let Some(value) = f.arg(1) else { return };
        let Some(me) = self.user(c) else { return };
        let is_blp = f.verb == "BLP";
        let valid = if is_blp {
            Blp::parse(value).is_some()
        } else {
            value == "A" || value == "N"
        };
        if !valid {
            self.close(c);
            return;
        }
        let before = self.visible_set(&me);
        let Some(acct) = self.store.get_mut(&me) else {
            return;
        };
        let same = if is_blp {
            acct.blp.token() == value
        } else {
            acct.gtc == value
        };
        if same {
            self.send(c, format!("218 {trid}"));
            return;
        }
        if is_blp {
            acct.blp = Blp::parse(value).unwrap_or(Blp::AllowAll);
        } else {
            acct.gtc = value.to_string();
        }
        let v = acct.bump();
        self.mark_dirty();
        self.send(c, format!("{} {trid} {v} {value}", f.verb));
        if is_blp {
            self.notify_presence(&me, &before);
        }
    }

    fn ns_prp(&mut self, c: ConnId, trid: u32, f: &Frame) {
        let Some(key) = f.arg(1).map(str::to_ascii_uppercase) else {
            return;
        };
        let Some(me) = self.user(c) else { return };
        if key == "PH" {
            self.send(c, format!("715 {trid}"));
            return;
        }
        if key.starts_with("PH") && !["PHH", "PHW", "PHM"].contains(&key.as_str()) {
            self.close(c);
            return;
        }
        let value = f.arg(2).map(pct_decode);
        if value.as_ref().is_some_and(|v| v.len() > MAX_PHONE_LEN) {
            self.close(c);
            return;
        }
        let Some(acct) = self.store.get_mut(&me) else {
            return;
        };
        match &value {
            Some(v) => {
                acct.props.insert(key.clone(), v.clone());
            }
            None => {
                acct.props.remove(&key);
            }
        }
        let v = acct.bump();
        self.mark_dirty();
        match &value {
            Some(val) => {
                let enc = pct_encode(val);
                self.send(c, format!("PRP {trid} {v} {key} {enc}"));
                if !PRP_KEYS.contains(&key.as_str()) {
                    return;
                }
                for (wc, viewer) in self.watchers(&me) {
                    if self.dialect(wc) >= 5 && self.can_see(&viewer, &me) {
                        let vv = self.store.get(&viewer).map_or(0, |a| a.version);
                        self.send(wc, format!("BPR {vv} {me} {key} {enc}"));
                    }
                }
            }
            None => self.send(c, format!("PRP {trid} {v} {key}")),
        }
    }

    fn ns_xfr(&mut self, c: ConnId, trid: u32, f: &Frame, now: Instant) {
        let Some(kind) = f.arg(1) else { return };
        if kind != "SB" {
            self.send(c, format!("201 {trid}"));
            return;
        }
        let Some(s) = self.ns.get(&c) else { return };
        let Some(email) = s.user.clone() else { return };
        if s.status.as_deref().is_none_or(|st| st == "HDN") {
            self.send(c, format!("913 {trid}"));
            return;
        }
        let cookie = self.token(20);
        let expires = now + self.cookie_lifetime();
        self.xfr_cookies
            .insert(cookie.clone(), XfrCookie { email, expires });
        let addr = self.sb_addr.clone();
        self.send(c, format!("XFR {trid} SB {addr} CKI {cookie}"));
    }

    fn ns_qry(&mut self, c: ConnId, trid: u32, f: &Frame) {
        let Some(id) = f.arg(1) else { return };
        let payload = f.payload.clone().unwrap_or_default();
        let Some((chl, _)) = self.ns.get(&c).and_then(|s| s.chl.clone()) else {
            // No challenge outstanding: ignored, as Escargot does.
            return;
        };
        let ok =
            qry_answer(&chl, id).is_some_and(|want| want.as_bytes().eq_ignore_ascii_case(&payload));
        if ok {
            if let Some(s) = self.ns.get_mut(&c) {
                s.chl = None;
            }
            self.send(c, format!("QRY {trid}"));
        } else {
            self.send(c, format!("540 {trid}"));
            self.ns_logout(c);
            self.close(c);
        }
    }
}

/// Return the address-book `NOT` payload Escargot sends to MSNP8 clients after RL changes.
fn abch_notification(email: &str) -> String {
    let id = crate::auth::md5_hex(email.as_bytes());
    let cid = i64::from_str_radix(id.get(..15).unwrap_or("0"), 16).unwrap_or(0);
    format!(
        "<NOTIFICATION id=\"0\" siteid=\"45705\" siteurl=\"http://contacts.msn.com\">\r\n\
         \t<TO pid=\"0x{}:0x{}\" name=\"{email}\">\r\n\t\t<VIA agent=\"messenger\" />\r\n\t</TO>\r\n\
         \t<MSG id=\"0\">\r\n\t\t<SUBSCR url=\"s.htm\" />\r\n\t\t<ACTION url=\"a.htm\" />\r\n\t\t<BODY>\r\n\
         \t\t\t&lt;NotificationData xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"&gt;\r\n\
         \t\t\t\t&lt;Service&gt;ABCHInternal&lt;/Service&gt;\r\n\t\t\t\t&lt;CID&gt;{cid}&lt;/CID&gt;\r\n\
         \t\t\t\t&lt;HasNewItem&gt;false&lt;/HasNewItem&gt;\r\n\t\t\t&lt;/NotificationData&gt;\r\n\
         \t\t</BODY>\r\n\t</MSG>\r\n</NOTIFICATION>",
        id.get(..8).unwrap_or("0"),
        id.get(8..16).unwrap_or("0"),
    )
}
