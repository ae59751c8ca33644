//! The script language: one command per line, `#` comments and blank lines ignored.

use msntv_messenger::msnp::wire::{ListKind, Status};

/// One script command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cmd {
    /// `expect signed-in`: signed in and the lists are in sync.
    ExpectSignedIn,
    /// `list`: print every contact as a `contact` event.
    List,
    /// `expect online EMAIL`: the contact is (or came) online since the last presence check.
    ExpectOnline(String),
    /// `expect offline EMAIL`: the contact is (or went) offline since the last presence check.
    ExpectOffline(String),
    /// `status NLN|BSY|IDL|BRB|AWY|PHN|LUN|HDN`: set the own status.
    Status(Status),
    /// `add FL|AL|BL EMAIL`.
    Add(ListKind, String),
    /// `remove FL|AL|BL EMAIL`.
    Remove(ListKind, String),
    /// `block EMAIL`: `REM AL` (when on it) then `ADD BL`.
    Block(String),
    /// `allow EMAIL`: `REM BL` (when on it) then `ADD AL`; also answers "added you".
    Allow(String),
    /// `expect added-by EMAIL`.
    ExpectAddedBy(String),
    /// `open EMAIL`: open a conversation.
    Open(String),
    /// `send EMAIL TEXT`: send over the conversation with EMAIL, opening one if needed.
    Send(String, String),
    /// `expect message EMAIL TEXT`.
    ExpectMessage(String, String),
    /// `expect delivered`: the next message outcome is `delivered`.
    ExpectDelivered,
    /// `expect failed`: the next message outcome is `failed`.
    ExpectFailed,
    /// `typing EMAIL`: send a typing notification.
    Typing(String),
    /// `expect typing EMAIL`.
    ExpectTyping(String),
    /// `ims off|on`: switch instant messaging by hand.
    Ims(bool),
    /// `expect ims off|on`: the idle timer (or the server) switched messaging off or on.
    ExpectIms(bool),
    /// `leave EMAIL`: leave the conversation with EMAIL.
    Leave(String),
    /// `wait MS`: keep running for MS milliseconds.
    Wait(u64),
    /// `signout`.
    Signout,
}

impl Cmd {
    /// Query whether this is an expectation (it can fail).
    pub fn is_expect(&self) -> bool {
        matches!(
            self,
            Cmd::ExpectSignedIn
                | Cmd::ExpectOnline(_)
                | Cmd::ExpectOffline(_)
                | Cmd::ExpectAddedBy(_)
                | Cmd::ExpectMessage(..)
                | Cmd::ExpectDelivered
                | Cmd::ExpectFailed
                | Cmd::ExpectTyping(_)
                | Cmd::ExpectIms(_)
        )
    }
}

fn email(s: Option<&str>) -> Result<String, String> {
    match s {
        Some(e) if e.contains('@') && !e.contains(char::is_whitespace) => {
            Ok(e.to_ascii_lowercase())
        }
        Some(e) => Err(format!("not an e-mail address: {e}")),
        None => Err("missing e-mail address".into()),
    }
}

fn list(s: Option<&str>) -> Result<ListKind, String> {
    match s {
        Some("FL") => Ok(ListKind::Forward),
        Some("AL") => Ok(ListKind::Allow),
        Some("BL") => Ok(ListKind::Block),
        Some(o) => Err(format!("list must be FL, AL or BL, not {o}")),
        None => Err("missing list (FL, AL or BL)".into()),
    }
}

fn on_off(s: Option<&str>) -> Result<bool, String> {
    match s {
        Some("on") => Ok(true),
        Some("off") => Ok(false),
        _ => Err("expected on or off".into()),
    }
}

/// Split off the first word; the rest has its leading spaces removed.
fn word(s: &str) -> (&str, &str) {
    let s = s.trim_start();
    match s.find(char::is_whitespace) {
        Some(i) => (&s[..i], s[i..].trim_start()),
        None => (s, ""),
    }
}

/// Parse one script line; `Ok(None)` for a blank line or a comment.
pub fn parse_line(line: &str) -> Result<Option<Cmd>, String> {
    let line = line.trim_end_matches(['\r', '\n']);
    let trimmed = line.trim();
    if trimmed.is_empty() || trimmed.starts_with('#') {
        return Ok(None);
    }
    let (verb, rest) = word(trimmed);
    let (a, tail) = word(rest);
    let arg = (!a.is_empty()).then_some(a);
    let no_more = |t: &str| {
        if t.is_empty() {
            Ok(())
        } else {
            Err(format!("unexpected text: {t}"))
        }
    };
    let cmd = match verb {
        "list" => {
            no_more(rest)?;
            Cmd::List
        }
        "status" => {
            no_more(tail)?;
            let s = arg.ok_or("missing status")?;
            let st = match s {
                "NLN" | "BSY" | "IDL" | "BRB" | "AWY" | "PHN" | "LUN" | "HDN" => {
                    Status::from_token(s.as_bytes())
                }
                _ => None,
            };
            Cmd::Status(st.ok_or_else(|| format!("unknown status {s}"))?)
        }
        "add" | "remove" => {
            let l = list(arg)?;
            let (e, more) = word(tail);
            no_more(more)?;
            let e = email((!e.is_empty()).then_some(e))?;
            if verb == "add" {
                Cmd::Add(l, e)
            } else {
                Cmd::Remove(l, e)
            }
        }
        "block" | "allow" | "open" | "typing" | "leave" => {
            no_more(tail)?;
            let e = email(arg)?;
            match verb {
                "block" => Cmd::Block(e),
                "allow" => Cmd::Allow(e),
                "open" => Cmd::Open(e),
                "typing" => Cmd::Typing(e),
                _ => Cmd::Leave(e),
            }
        }
        "send" => {
            let e = email(arg)?;
            if tail.is_empty() {
                return Err("send needs a text".into());
            }
            Cmd::Send(e, tail.to_string())
        }
        "ims" => {
            no_more(tail)?;
            Cmd::Ims(on_off(arg)?)
        }
        "wait" => {
            no_more(tail)?;
            let ms = arg
                .and_then(|a| a.parse::<u64>().ok())
                .ok_or("wait needs milliseconds")?;
            Cmd::Wait(ms)
        }
        "signout" => {
            no_more(rest)?;
            Cmd::Signout
        }
        "expect" => {
            let (b, tail2) = word(tail);
            match arg {
                Some("signed-in") => {
                    no_more(tail)?;
                    Cmd::ExpectSignedIn
                }
                Some("online") | Some("offline") | Some("added-by") | Some("typing") => {
                    no_more(tail2)?;
                    let e = email((!b.is_empty()).then_some(b))?;
                    match arg {
                        Some("online") => Cmd::ExpectOnline(e),
                        Some("offline") => Cmd::ExpectOffline(e),
                        Some("added-by") => Cmd::ExpectAddedBy(e),
                        _ => Cmd::ExpectTyping(e),
                    }
                }
                Some("message") => {
                    let e = email((!b.is_empty()).then_some(b))?;
                    if tail2.is_empty() {
                        return Err("expect message needs a text".into());
                    }
                    Cmd::ExpectMessage(e, tail2.to_string())
                }
                Some("delivered") => {
                    no_more(tail)?;
                    Cmd::ExpectDelivered
                }
                Some("failed") => {
                    no_more(tail)?;
                    Cmd::ExpectFailed
                }
                Some("ims") => {
                    no_more(tail2)?;
                    Cmd::ExpectIms(on_off((!b.is_empty()).then_some(b))?)
                }
                Some(o) => return Err(format!("unknown expectation {o}")),
                None => return Err("expect what?".into()),
            }
        }
        other => return Err(format!("unknown command {other}")),
    };
    Ok(Some(cmd))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_every_contract_line_parses() {
        let cases: &[(&str, Cmd)] = &[
            ("expect signed-in", Cmd::ExpectSignedIn),
            ("list", Cmd::List),
            (
                "expect online Bob@Example.com",
                Cmd::ExpectOnline("bob@example.com".into()),
            ),
            ("expect offline a@b.c", Cmd::ExpectOffline("a@b.c".into())),
            ("status BSY", Cmd::Status(Status::Busy)),
            ("status HDN", Cmd::Status(Status::Hidden)),
            ("add FL a@b.c", Cmd::Add(ListKind::Forward, "a@b.c".into())),
            (
                "remove BL a@b.c",
                Cmd::Remove(ListKind::Block, "a@b.c".into()),
            ),
            ("block a@b.c", Cmd::Block("a@b.c".into())),
            ("allow a@b.c", Cmd::Allow("a@b.c".into())),
            ("expect added-by a@b.c", Cmd::ExpectAddedBy("a@b.c".into())),
            ("open a@b.c", Cmd::Open("a@b.c".into())),
            (
                "send a@b.c  hello  there ",
                Cmd::Send("a@b.c".into(), "hello  there".into()),
            ),
            (
                "expect message a@b.c hi you",
                Cmd::ExpectMessage("a@b.c".into(), "hi you".into()),
            ),
            ("expect delivered", Cmd::ExpectDelivered),
            ("expect failed", Cmd::ExpectFailed),
            ("typing a@b.c", Cmd::Typing("a@b.c".into())),
            ("expect typing a@b.c", Cmd::ExpectTyping("a@b.c".into())),
            ("ims off", Cmd::Ims(false)),
            ("ims on", Cmd::Ims(true)),
            ("expect ims off", Cmd::ExpectIms(false)),
            ("leave a@b.c", Cmd::Leave("a@b.c".into())),
            ("wait 250", Cmd::Wait(250)),
            ("signout\r\n", Cmd::Signout),
        ];
        for (line, want) in cases {
            assert_eq!(parse_line(line).as_ref(), Ok(&Some(want.clone())), "{line}");
        }
        assert!(Cmd::ExpectFailed.is_expect());
        assert!(!Cmd::List.is_expect());
    }

    #[test]
    fn test_comments_and_blank_lines_are_skipped() {
        for line in ["", "   ", "# comment", "  # indented comment", "\r\n"] {
            assert_eq!(parse_line(line), Ok(None), "{line:?}");
        }
    }

    #[test]
    fn test_bad_lines_are_refused() {
        for line in [
            "fly away",
            "status XYZ",
            "status",
            "add RL a@b.c",
            "add FL",
            "add FL nobody",
            "send a@b.c",
            "send",
            "expect",
            "expect soon",
            "expect message a@b.c",
            "expect online",
            "ims maybe",
            "wait soon",
            "wait -1",
            "list extra",
            "signout now",
            "block a@b.c b@c.d",
        ] {
            assert!(parse_line(line).is_err(), "{line:?}");
        }
    }
}
