//! Switchboard commands: `USR`/`ANS` admission, `CAL` with `RNG` to the invitee's NS, `MSG`
//! relay with `ACK`/`NAK`, `OUT`/`BYE`.

use crate::codec::{pct_encode, Frame};
use crate::hub::{Chat, ConnId, Hub, Invite, Member};
use std::time::Instant;

/// Largest `MSG` payload a client may send on a switchboard; larger closes the connection.
pub const MAX_SB_MSG: usize = 1664;

impl Hub {
    /// Handle one frame on an SB connection.
    pub(crate) fn sb_frame(&mut self, c: ConnId, f: Frame, now: Instant) {
        let Some(s) = self.sb.get(&c) else { return };
        let authed = s.user.is_some();
        if f.verb == "OUT" {
            self.close(c);
            return;
        }
        match (f.verb.as_str(), authed) {
            ("USR" | "ANS", false) => {}
            (_, false) => {
                self.close(c);
                return;
            }
            ("CAL" | "MSG", true) => {}
            // Unknown commands (and USR/ANS again): no reply, as Escargot.
            _ => return,
        }
        let Some(trid) = f.trid() else {
            self.close(c);
            return;
        };
        match f.verb.as_str() {
            "USR" => self.sb_usr(c, trid, &f),
            "ANS" => self.sb_ans(c, trid, &f),
            "CAL" => self.sb_cal(c, trid, &f, now),
            _ => self.sb_msg(c, trid, &f),
        }
    }

    fn sb_user(&self, c: ConnId) -> Option<(String, String)> {
        let s = self.sb.get(&c)?;
        Some((s.user.clone()?, s.chat.clone()?))
    }

    fn sb_usr(&mut self, c: ConnId, trid: u32, f: &Frame) {
        let (Some(email), Some(cookie)) = (f.arg(1).map(str::to_ascii_lowercase), f.arg(2)) else {
            self.close(c);
            return;
        };
        let valid = self
            .xfr_cookies
            .remove(cookie)
            .is_some_and(|k| k.email == email && k.expires > Instant::now());
        if !valid {
            self.send(c, format!("911 {trid}"));
            self.close(c);
            return;
        }
        let name = self
            .store
            .get(&email)
            .map(|a| a.friendly_name.clone())
            .unwrap_or_else(|| email.clone());
        let chat = self.token(31);
        self.chats.insert(
            chat.clone(),
            Chat {
                members: vec![Member {
                    conn: c,
                    email: email.clone(),
                    name: name.clone(),
                }],
            },
        );
        if let Some(s) = self.sb.get_mut(&c) {
            s.user = Some(email.clone());
            s.chat = Some(chat);
        }
        self.send(c, format!("USR {trid} OK {email} {}", pct_encode(&name)));
    }

    fn sb_ans(&mut self, c: ConnId, trid: u32, f: &Frame) {
        let (Some(email), Some(cookie), Some(session)) =
            (f.arg(1).map(str::to_ascii_lowercase), f.arg(2), f.arg(3))
        else {
            self.close(c);
            return;
        };
        let Some(invite) = self
            .invites
            .remove(cookie)
            .filter(|i| i.email == email && i.expires > Instant::now())
        else {
            self.send(c, format!("911 {trid}"));
            self.close(c);
            return;
        };
        if invite.chat != session || !self.chats.contains_key(session) {
            self.close(c);
            return;
        }
        let name = self
            .store
            .get(&email)
            .map(|a| a.friendly_name.clone())
            .unwrap_or_else(|| email.clone());
        let others: Vec<(ConnId, String, String)> = self
            .chats
            .get(session)
            .map(|ch| {
                ch.members
                    .iter()
                    .map(|m| (m.conn, m.email.clone(), m.name.clone()))
                    .collect()
            })
            .unwrap_or_default();
        let n = others.len();
        for (i, (_, e, nm)) in others.iter().enumerate() {
            self.send(
                c,
                format!("IRO {trid} {} {n} {e} {}", i + 1, pct_encode(nm)),
            );
        }
        self.send(c, format!("ANS {trid} OK"));
        for (oc, _, _) in &others {
            self.send(*oc, format!("JOI {email} {}", pct_encode(&name)));
        }
        if let Some(ch) = self.chats.get_mut(session) {
            ch.members.push(Member {
                conn: c,
                email: email.clone(),
                name,
            });
        }
        if let Some(s) = self.sb.get_mut(&c) {
            s.user = Some(email);
            s.chat = Some(session.to_string());
        }
    }

    fn sb_cal(&mut self, c: ConnId, trid: u32, f: &Frame, now: Instant) {
        let Some(target) = f.arg(1).map(str::to_ascii_lowercase) else {
            self.close(c);
            return;
        };
        let Some((me, chat)) = self.sb_user(c) else {
            return;
        };
        if !target.contains('@') {
            self.send(c, format!("208 {trid}"));
            return;
        }
        let in_chat = self
            .chats
            .get(&chat)
            .is_some_and(|ch| ch.members.iter().any(|m| m.email == target));
        if target == me || in_chat {
            self.send(c, format!("215 {trid}"));
            return;
        }
        let target_ns = self.online.get(&target).copied();
        let reachable = target_ns.is_some_and(|tc| self.ns.get(&tc).is_some_and(|s| !s.ims_off))
            && self.presence(&target).is_some()
            && self.store.allows(&target, &me);
        let Some(tc) = target_ns.filter(|_| reachable) else {
            self.send(c, format!("217 {trid}"));
            return;
        };
        let cookie = self.token(20);
        let expires = now + self.cookie_lifetime();
        self.invites.insert(
            cookie.clone(),
            Invite {
                email: target,
                chat: chat.clone(),
                expires,
            },
        );
        let name = self
            .chats
            .get(&chat)
            .and_then(|ch| {
                ch.members
                    .iter()
                    .find(|m| m.conn == c)
                    .map(|m| pct_encode(&m.name))
            })
            .unwrap_or_else(|| self.name_enc(&me));
        let addr = self.sb_addr.clone();
        self.send(tc, format!("RNG {chat} {addr} CKI {cookie} {me} {name}"));
        self.send(c, format!("CAL {trid} RINGING {chat}"));
    }

    fn sb_msg(&mut self, c: ConnId, trid: u32, f: &Frame) {
        let Some((me, chat)) = self.sb_user(c) else {
            return;
        };
        let mode = f.arg(1).unwrap_or_default();
        let payload = f.payload.clone().unwrap_or_default();
        if !matches!(mode, "U" | "N" | "A" | "D") || payload.len() > MAX_SB_MSG {
            self.close(c);
            return;
        }
        let Some(ch) = self.chats.get(&chat) else {
            return;
        };
        let Some(sender) = ch.members.iter().find(|m| m.conn == c) else {
            return;
        };
        let mut bytes = format!(
            "MSG {me} {} {}\r\n",
            pct_encode(&sender.name),
            payload.len()
        )
        .into_bytes();
        bytes.extend_from_slice(&payload);
        let others: Vec<ConnId> = ch
            .members
            .iter()
            .filter(|m| m.conn != c)
            .map(|m| m.conn)
            .collect();
        if others.is_empty() {
            if mode != "U" {
                self.send(c, format!("NAK {trid}"));
            }
            return;
        }
        for oc in others {
            self.send_raw(oc, bytes.clone());
        }
        if matches!(mode, "A" | "D") {
            self.send(c, format!("ACK {trid}"));
        }
    }

    /// Remove SB connection `c` from its session; the others get `BYE`.
    pub(crate) fn sb_leave(&mut self, c: ConnId) {
        let Some(s) = self.sb.remove(&c) else { return };
        let (Some(email), Some(chat)) = (s.user, s.chat) else {
            return;
        };
        let Some(ch) = self.chats.get_mut(&chat) else {
            return;
        };
        ch.members.retain(|m| m.conn != c);
        let rest: Vec<ConnId> = ch.members.iter().map(|m| m.conn).collect();
        if rest.is_empty() {
            self.chats.remove(&chat);
            self.invites.retain(|_, i| i.chat != chat);
        }
        for oc in rest {
            self.send(oc, format!("BYE {email}"));
        }
    }
}
