//! A hostile server against the client facade (scripted world of `robust_common`): payload
//! lengths far beyond the buffers, 100,000 `LST` lines, deeply nested `NOT` XML, invalid UTF-8
//! and %-encoding in names, wrong and repeated TrIDs, unsolicited commands in every state, `XFR`
//! to unusable addresses, and servers that never answer. Every run keeps the invariants of
//! `World::finish` (bounded events, exactly one outcome per message, every conversation closed
//! once, the UI told about every lost connection, not online after the sign-out).
mod robust_common;

use msntv_messenger::client::ConnId;
use msntv_messenger::msnp::sb::Outcome;
use msntv_messenger::msnp::wire::AckMode;
use robust_common::{roster, Fault, Kind, Plan, World};

fn plan() -> Plan {
    Plan::conversation(AckMode::Acknowledged)
}

fn verb(f: &[String]) -> &str {
    f.first().map(String::as_str).unwrap_or("")
}

fn trid(f: &[String]) -> String {
    f.get(1).cloned().unwrap_or_default()
}

/// Run a world with one override and check the common invariants.
fn hostile(
    name: &str,
    over: impl FnMut(Kind, &[String], Vec<u8>) -> Vec<u8> + 'static,
    check: impl FnOnce(&World<'_>),
) {
    world!(w, plan(), Fault::None);
    w.over = Some(Box::new(over));
    w.run();
    w.finish(name);
    check(&w);
}

fn failed(w: &World<'_>) -> usize {
    w.seen
        .outcomes
        .values()
        .filter(|o| matches!(o[0], Outcome::Failed(_)))
        .count()
}

#[test]
fn payload_length_far_beyond_the_buffer() {
    for (kind, line) in [
        (Kind::Ns, "MSG Hotmail Hotmail 99999999\r\n"),
        (Kind::Ns, "NOT 4294967295\r\n"),
        (Kind::Ns, "MSG Hotmail Hotmail 18446744073709551617\r\n"),
        (Kind::Sb, "MSG bob@example.com Bob 99999999\r\n"),
        (Kind::Sb, "MSG bob@example.com Bob 70000\r\n"),
    ] {
        let mut first = true;
        hostile(
            line,
            move |k, f, mut d| {
                let at = match k {
                    Kind::Ns => verb(f) == "CHG",
                    Kind::Sb => verb(f) == "CAL",
                };
                if k == kind && at && first {
                    first = false;
                    d.extend_from_slice(line.as_bytes());
                    d.extend(std::iter::repeat_n(b'x', 20_000));
                }
                d
            },
            |w| {
                assert!(w.seen.signed_in >= 1);
                if kind == Kind::Ns {
                    // A length that does not parse ends the link; one that parses but does
                    // not fit is skipped byte by byte (reference 2.5), and the ping catches
                    // a server that never sends that many.
                    assert!(
                        w.seen
                            .lost
                            .iter()
                            .any(|(_, r)| r == "Malformed" || r == "PingTimeout"),
                        "{line}: {:?}",
                        w.seen.lost
                    );
                    assert!(
                        w.seen.signed_in >= 2,
                        "{line}: signed in again: {:?} {:?}",
                        w.seen,
                        w.ns_lines
                    );
                } else {
                    assert!(failed(w) > 0, "{line}: messages failed");
                }
            },
        );
    }
}

#[test]
fn a_hundred_thousand_lst_lines_overflow_without_corruption() {
    world!(w, plan(), Fault::None);
    w.roster = 100_000;
    w.run();
    w.finish("100k LST");
    // FL, AL and RL each list 100,000 contacts: the 16 slots keep the first 16, intact.
    assert!(w.seen.overflow > 0, "overflow reported");
    let lists = w.client.ns().lists();
    assert_eq!(lists.contacts().len(), 16);
    let want: Vec<String> = ["bob", "carol", "dave", "erin", "frank"]
        .iter()
        .map(|s| s.to_string())
        .chain((5..16).map(|i| format!("user{i}")))
        .collect();
    for (c, name) in lists.contacts().zip(&want) {
        assert_eq!(c.passport(), format!("{name}@example.com").as_bytes());
        assert!(c.friendly().eq_ignore_ascii_case(name));
    }
    assert!(w.seen.synced >= 1);
}

#[test]
fn deeply_nested_not_xml() {
    for depth in [10usize, 1_000, 100_000] {
        let mut xml = String::from("<NOTIFICATION id=\"1\" siteid=\"1\" siteurl=\"http://x/\">");
        for _ in 0..depth {
            xml += "<MSG><ACTION url=\"a\"/><BODY>";
        }
        xml += "<TEXT>deep</TEXT>";
        for _ in 0..depth {
            xml += "</BODY></MSG>";
        }
        xml += "</NOTIFICATION>";
        let mut once = true;
        hostile(
            "nested NOT",
            move |k, f, mut d| {
                if k == Kind::Ns && verb(f) == "CHG" && once {
                    once = false;
                    d.extend_from_slice(format!("NOT {}\r\n{xml}", xml.len()).as_bytes());
                }
                d
            },
            |w| assert!(w.seen.signed_in >= 1),
        );
    }
}

#[test]
fn invalid_utf8_and_percent_encoding_in_names() {
    let bad: [&[u8]; 7] = [
        b"%ZZ",
        b"%",
        b"abc%4",
        b"%E9t%E9",
        b"%F0%28%8C%28",
        b"\xff\xfe\xc3",
        b"%00%0D%0A",
    ];
    for name in bad {
        let n = name.to_vec();
        hostile(
            "bad names",
            move |k, f, d| {
                let t = trid(f);
                let mut d = d;
                let mut line = |s: &[u8]| {
                    d.extend_from_slice(s);
                };
                match (k, verb(f)) {
                    (Kind::Ns, "SYN") => {
                        let mut r = roster(&t, 0).into_bytes();
                        for l in ["FL", "AL"] {
                            r.extend_from_slice(
                                format!("LST {t} {l} 5 1 1 bob@example.com ").as_bytes(),
                            );
                            r.extend_from_slice(&n);
                            r.extend_from_slice(if l == "FL" { b" 0\r\n" } else { b"\r\n" });
                        }
                        return r;
                    }
                    (Kind::Ns, "CHG") => {
                        line(b"NLN NLN bob@example.com ");
                        line(&n);
                        line(b"\r\nREA 0 7 bob@example.com ");
                        line(&n);
                        line(b"\r\n");
                    }
                    (Kind::Sb, "CAL") => {
                        line(b"JOI carol@example.com ");
                        line(&n);
                        line(b"\r\n");
                        let body =
                            [&b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n"[..], &n]
                                .concat();
                        line(format!("MSG carol@example.com Carol {}\r\n", body.len()).as_bytes());
                        line(&body);
                    }
                    _ => {}
                }
                d
            },
            |w| {
                assert!(w.seen.signed_in >= 1);
                for c in w.client.ns().lists().contacts() {
                    // Stored names are valid text whatever arrived.
                    assert!(std::str::from_utf8(c.friendly().as_bytes()).is_ok());
                }
            },
        );
    }
}

#[test]
fn wrong_and_repeated_trids() {
    // NS: replies with the wrong TrID, replies twice, and XFR answered on a stale TrID first.
    hostile(
        "ns trids",
        |k, f, d| {
            let t: u32 = trid(f).parse().unwrap_or(0);
            let mut out = Vec::new();
            match (k, verb(f)) {
                (Kind::Ns, "CVR" | "INF" | "USR" | "SYN" | "CHG") => {
                    let s = String::from_utf8_lossy(&d).to_string();
                    out.extend_from_slice(s.replacen(&t.to_string(), "999", 1).as_bytes());
                    out.extend_from_slice(&d);
                    out.extend_from_slice(&d);
                }
                (Kind::Ns, "XFR") => {
                    out.extend_from_slice(
                        format!("XFR {} SB 127.0.0.1:1864 CKI 1.2.3\r\n", t + 40).as_bytes(),
                    );
                    out.extend_from_slice(&d);
                    out.extend_from_slice(&d);
                }
                (Kind::Sb, "MSG") if f.get(2).map(String::as_str) == Some("A") => {
                    out.extend_from_slice(
                        format!("ACK {}\r\nNAK {}\r\n", t + 100, t + 1).as_bytes(),
                    );
                    out.extend_from_slice(&d);
                    out.extend_from_slice(&d);
                    out.extend_from_slice(format!("NAK {t}\r\n").as_bytes());
                }
                (Kind::Sb, "USR" | "CAL") => {
                    out.extend_from_slice(&d);
                    out.extend_from_slice(&d);
                }
                _ => out = d,
            }
            out
        },
        |w| {
            assert!(w.seen.signed_in >= 1);
            assert!(w.seen.sb_ready >= 1);
            // Each message took the first terminal answer and ignored the rest.
            assert!(w.sent.len() == 6);
        },
    );
}

/// Lines a server may push at any time.
const UNSOLICITED_NS: &[&str] = &[
    "USR 0 OK alice@example.com Alice 1\r\n",
    "VER 0 MSNP7\r\n",
    "SYN 0 9\r\n",
    "LST 0 FL 9 1 1 eve@example.com Eve 0\r\n",
    "ILN 0 NLN eve@example.com Eve\r\n",
    "NLN NLN eve@example.com Eve\r\n",
    "FLN bob@example.com\r\n",
    "CHG 0 HDN\r\n",
    "ADD 0 RL 10 eve@example.com Eve\r\n",
    "REM 0 FL 10 bob@example.com\r\n",
    "XFR 0 SB 127.0.0.1:1864 CKI 1.2.3\r\n",
    "XFR 0 NS 127.0.0.1:1863 0 127.0.0.1:1863\r\n",
    "RNG 123 127.0.0.1:1864 CKI 9.9.9 eve@example.com Eve\r\n",
    "CHL 0 29409134351025259292\r\n",
    "QRY 0\r\n",
    "QNG\r\n",
    "IMS 0 0 OFF\r\n",
    "911 0\r\n",
    "500 4\r\n",
    "OUT SSD\r\n",
    "OUT OTH\r\n",
    "BYE bob@example.com\r\n",
    "MSG Hotmail Hotmail 3\r\nabc",
    "\r\n",
    "X\r\n",
];

const UNSOLICITED_SB: &[&str] = &[
    "JOI eve@example.com Eve\r\n",
    "BYE bob@example.com\r\n",
    "BYE alice@example.com 1\r\n",
    "IRO 0 1 1 eve@example.com Eve\r\n",
    "ANS 0 OK\r\n",
    "USR 0 OK alice@example.com Alice\r\n",
    "ACK 7\r\n",
    "NAK 7\r\n",
    "CAL 0 RINGING 1\r\n",
    "217 3\r\n",
    "911 1\r\n",
    "OUT\r\n",
    "MSG bob@example.com Bob 2\r\nhi",
    "\r\n",
];

#[test]
fn unsolicited_commands_in_every_state() {
    // NS states: before the VER reply, during login (after CVR, INF, USR I, USR S), while
    // syncing, online, and after the sign-out (the server writes, then closes).
    for state in ["VER", "CVR", "INF", "USR", "SYN", "CHG", "PNG", "OUT"] {
        for line in UNSOLICITED_NS {
            let mut once = true;
            hostile(
                &format!("NS {state} {line:?}"),
                move |k, f, mut d| {
                    if k == Kind::Ns && verb(f) == state && once {
                        once = false;
                        let mut v = line.as_bytes().to_vec();
                        v.append(&mut d);
                        return v;
                    }
                    d
                },
                |_| {},
            );
        }
    }
    // Switchboard states: before USR OK, ringing, joined, after our OUT.
    for state in ["USR", "CAL", "MSG", "OUT"] {
        for line in UNSOLICITED_SB {
            let mut once = true;
            hostile(
                &format!("SB {state} {line:?}"),
                move |k, f, mut d| {
                    if k == Kind::Sb && verb(f) == state && once {
                        once = false;
                        let mut v = line.as_bytes().to_vec();
                        v.append(&mut d);
                        return v;
                    }
                    d
                },
                |_| {},
            );
        }
    }
}

#[test]
fn xfr_to_an_unusable_address() {
    for addr in [
        "bad host:1864",
        ":1864",
        "127.0.0.1:0",
        "127.0.0.1:port",
        "127.0.0.1:99999",
        "127.0.0.1:",
        "[::1]:-5",
        "10.0.0.1:1864",
    ] {
        // Switchboard transfer.
        let a = addr.to_string();
        hostile(
            &format!("XFR SB {addr}"),
            move |k, f, d| match (k, verb(f)) {
                (Kind::Ns, "XFR") => format!("XFR {} SB {a} CKI 1.2.3\r\n", trid(f)).into_bytes(),
                _ => d,
            },
            |w| {
                for (conn, host, port) in &w.seen.connects {
                    assert!(
                        *port != 0 && !host.is_empty() && !host.contains(' '),
                        "{addr}: connect asked for {conn:?} {host:?}:{port}"
                    );
                }
                assert_eq!(
                    failed(w),
                    w.sent.len(),
                    "{addr}: every message fails: {:?} {:?}",
                    w.sent,
                    w.seen
                );
                // Promptly: the conversation gives up on the address, not at the sign-out.
                assert!(
                    w.seen.outcome_at.values().all(|&t| t < 60_000),
                    "{addr}: failed late: {:?} {:?}",
                    w.seen.outcome_at,
                    w.seen.outcomes
                );
            },
        );
        // Notification-server redirect during login.
        let a = addr.to_string();
        let mut n = 0;
        hostile(
            &format!("XFR NS {addr}"),
            move |k, f, d| match (k, verb(f)) {
                (Kind::Ns, "USR") if n < 3 => {
                    n += 1;
                    format!("XFR {} NS {a} 0 127.0.0.1:1863\r\n", trid(f)).into_bytes()
                }
                _ => d,
            },
            |w| {
                for (conn, host, port) in &w.seen.connects {
                    assert!(
                        *port != 0 && !host.is_empty() && !host.contains(' '),
                        "{addr}: connect asked for {conn:?} {host:?}:{port}"
                    );
                }
                assert!(!w.seen.lost.is_empty() || !w.seen.failed.is_empty());
            },
        );
    }
}

#[test]
fn a_server_that_never_answers() {
    // The NS accepts the connection and never says a word.
    hostile(
        "silent NS",
        |k, _, d| if k == Kind::Ns { Vec::new() } else { d },
        |w| {
            assert_eq!(w.seen.signed_in, 0);
            assert!(
                w.seen.lost.iter().any(|(_, r)| r == "Timeout"),
                "{:?}",
                w.seen.lost
            );
            assert!(w.seen.connects.len() >= 2, "it kept retrying");
        },
    );
    // The NS answers the login, then never again (SYN, CHG, PNG and XFR unanswered).
    hostile(
        "NS silent after login",
        |k, f, d| {
            if k == Kind::Ns && matches!(verb(f), "SYN" | "CHG" | "PNG" | "XFR") {
                Vec::new()
            } else {
                d
            }
        },
        |w| {
            assert!(w.seen.signed_in >= 1);
            assert!(
                !w.seen.lost.iter().all(|(_, r)| r == "SignedOut"),
                "{:?}",
                w.seen.lost
            );
        },
    );
    // The NS is fine; the switchboard never answers.
    hostile(
        "silent SB",
        |k, _, d| if k == Kind::Sb { Vec::new() } else { d },
        |w| {
            assert_eq!(w.seen.sb_ready, 0);
            assert_eq!(failed(w), 6);
        },
    );
    // The switchboard takes us in but never acknowledges anything.
    hostile(
        "SB never acks",
        |k, f, d| {
            if k == Kind::Sb && verb(f) == "MSG" {
                Vec::new()
            } else {
                d
            }
        },
        |w| {
            assert_eq!(w.seen.sb_ready, 1);
            assert_eq!(failed(w), 6);
        },
    );
    // And a client whose connect never completes at all.
    world!(w, plan(), Fault::None);
    w.run_connectless();
    w.finish("no connect");
    assert!(w
        .seen
        .failed
        .iter()
        .any(|(_, f)| f.contains("ConnectTimeout")));
    let _ = ConnId::Ns;
}

/// Regression: a reader failed by a non-numeric payload length on one connection made the next
/// connection fail with `Malformed` before it opened (the stale reader was polled while
/// connecting), so the client never signed in again.
#[test]
fn ns_reconnect_after_a_bad_payload_length_starts_clean() {
    use msntv_messenger::msnp::ns::{
        version_range, Contact, Group, NsConfig, NsError, NsEvent, NsSession, Phase,
    };
    use msntv_messenger::Instant;
    let mut cfg = NsConfig::new("127.0.0.1", 1863, "alice@example.com");
    cfg.versions = version_range(2, 7);
    let mut contacts = [Contact::EMPTY; 2];
    let mut groups = [Group::EMPTY; 1];
    let mut names = [0u8; 512];
    let mut s: NsSession<'_> = NsSession::new(cfg, &mut contacts, &mut groups, &mut names);
    let now = Instant::from_millis(0);
    s.start(now).unwrap();
    assert!(matches!(s.poll_event(), Some(NsEvent::Connect { .. })));
    s.handle_connected(now);
    let mut out = [0u8; 512];
    assert!(s.poll_transmit(&mut out) > 0);
    let _ = s.handle_input(now, b"MSG Hotmail Hotmail x\r\n");
    assert!(matches!(
        s.poll_event(),
        Some(
            NsEvent::ConnectionLost {
                reason: NsError::Malformed
            } | NsEvent::LoginFailed {
                reason: NsError::Malformed
            }
        )
    ));
    while s.poll_event().is_some() {}
    assert_eq!(s.phase(), Phase::Closed);
    s.reconnect(now).unwrap();
    assert!(matches!(s.poll_event(), Some(NsEvent::Connect { .. })));
    // Polling on while the connection opens must not revive the old failure.
    let _ = s.handle_input(now, &[]);
    assert!(s.poll_event().is_none());
    assert_eq!(s.phase(), Phase::Connecting);
    s.handle_connected(now);
    let n = s.poll_transmit(&mut out);
    assert!(out[..n].starts_with(b"VER 1 "), "{:?}", &out[..n]);
}

/// Regression: an `XFR SB` reply naming an unusable address (empty host, port 0, a port that is
/// not a number) was swallowed: no event, so the conversation waited its whole open timeout and
/// the facade's pending-`XFR` slot stayed taken until the NS connection ended (eight such replies
/// and no conversation could be opened). It now fails the request at once.
#[test]
fn ns_xfr_sb_to_an_unusable_address_fails_the_request_at_once() {
    use msntv_messenger::msnp::ns::{
        version_range, Contact, Group, NsConfig, NsEvent, NsSession, Phase,
    };
    use msntv_messenger::wtvp::login::LoginAnswer;
    use msntv_messenger::Instant;
    for addr in [":1864", "127.0.0.1:0", "127.0.0.1:x", "127.0.0.1:70000"] {
        let mut cfg = NsConfig::new("127.0.0.1", 1863, "alice@example.com");
        cfg.versions = version_range(7, 7);
        cfg.initial_status = None;
        let mut contacts = [Contact::EMPTY; 2];
        let mut groups = [Group::EMPTY; 1];
        let mut names = [0u8; 512];
        let mut s: NsSession<'_> = NsSession::new(cfg, &mut contacts, &mut groups, &mut names);
        let now = Instant::from_millis(0);
        s.start(now).unwrap();
        s.handle_connected(now);
        let mut out = [0u8; 1024];
        let server = [
            "VER 1 MSNP7\r\n",
            "CVR 2 2.8 2.8 2.8 http://x http://x\r\n",
            "INF 3 MD5\r\n",
            "USR 4 MD5 S a11ce5a17a11ce5\r\n",
            "USR 5 OK alice@example.com Alice 1\r\n",
            "SYN 6 1\r\nGTC 6 1 A\r\nBLP 6 1 AL\r\nLST 6 FL 1 0 0\r\nLST 6 AL 1 0 0\r\nLST 6 BL 1 0 0\r\nLST 6 RL 1 0 0\r\n",
        ];
        for line in server {
            while s.poll_transmit(&mut out) > 0 {}
            let mut rest = line.as_bytes();
            while !rest.is_empty() {
                let n = s.handle_input(now, rest).unwrap();
                rest = &rest[n..];
                while let Some(ev) = s.poll_event() {
                    if let NsEvent::LoginAnswerNeeded { .. } = ev {
                        s.provide_login_answer(now, LoginAnswer::Md5([b'0'; 32]))
                            .unwrap();
                        break;
                    }
                }
            }
            while s.poll_event().is_some() {}
        }
        assert_eq!(s.phase(), Phase::Online, "{addr}");
        let trid = s.request_switchboard(now).unwrap();
        while s.poll_transmit(&mut out) > 0 {}
        let reply = format!("XFR {} SB {addr} CKI 1.2.3\r\n", trid.get());
        s.handle_input(now, reply.as_bytes()).unwrap();
        let mut failed = false;
        while let Some(ev) = s.poll_event() {
            if let NsEvent::RequestTimedOut { trid: t, .. } = ev {
                failed |= t == trid;
            }
            assert!(!matches!(ev, NsEvent::SwitchboardReady { .. }), "{addr}");
        }
        assert!(failed, "{addr}: the XFR request is reported failed at once");
    }
}
