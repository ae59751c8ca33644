//! End-to-end tests over 127.0.0.1: raw MSNP scripts against a server seeded with the escargot
//! transcript accounts (alice, bob, carol, dave).

mod common;

use common::{escargot_db, start, Client};
use msntv_devserver::auth::{md5_login_answer, qry_answer};
use msntv_devserver::expected_ticket_token;
use std::net::SocketAddr;

const SECRET: &str = "msntv-devserver-secret";

async fn alice(addr: SocketAddr, ver: u8) -> Client {
    Client::login_md5(
        addr,
        ver,
        "alice@example.com",
        "alice123",
        "a11ce5a17a11ce5",
    )
    .await
}
async fn bob(addr: SocketAddr, ver: u8) -> Client {
    Client::login_md5(addr, ver, "bob@example.com", "bob123", "b0b5a17b0b5a17b").await
}
async fn carol(addr: SocketAddr, ver: u8) -> Client {
    Client::login_md5(
        addr,
        ver,
        "carol@example.com",
        "carol123",
        "ca20105a17ca201",
    )
    .await
}
async fn dave(addr: SocketAddr, ver: u8) -> Client {
    Client::login_md5(addr, ver, "dave@example.com", "dave123", "da7e5a17da7e5a1").await
}

/// Log in, SYN and go online with a first CHG; return the client.
async fn online(mut c: Client, dialect: u8) -> Client {
    c.syn(dialect).await;
    let t = c.t();
    if dialect >= 8 {
        c.send(&format!("CHG {t} NLN 0")).await;
        c.expect(&format!("CHG {t} NLN 0")).await;
    } else {
        c.send(&format!("CHG {t} NLN")).await;
        c.expect(&format!("CHG {t} NLN")).await;
    }
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn md5_sign_in_every_dialect_2_to_7() {
    let srv = start(escargot_db(false), None).await;
    for ver in 2..=7u8 {
        let mut c = Client::connect(srv.ns).await;
        c.send(&format!("VER 1 MSNP{ver} CVR0")).await;
        c.expect(&format!("VER 1 MSNP{ver}")).await;
        c.send("CVR 2 0x0409 webtv 2.8 MIPS msntvim 2.8 msntv")
            .await;
        c.expect(
            "CVR 2 2.8 2.8 2.8 http://127.0.0.1/msntv-devserver http://127.0.0.1/msntv-devserver",
        )
        .await;
        c.send("INF 3").await;
        c.expect("INF 3 MD5").await;
        c.send("USR 4 MD5 I alice@example.com").await;
        c.expect("USR 4 MD5 S a11ce5a17a11ce5").await;
        c.send("USR 5 MD5 S 09737575b514aacd386bf2db61d46607").await;
        let ok = match ver {
            2..=5 => "USR 5 OK alice@example.com Alice".to_string(),
            _ => "USR 5 OK alice@example.com Alice 1".to_string(),
        };
        c.expect(&ok).await;
        c.expect_prefix("MSG Hotmail Hotmail ").await;
        let profile = String::from_utf8(c.payload.clone()).expect("utf8");
        assert!(profile.starts_with(
            "MIME-Version: 1.0\r\nContent-Type: text/x-msmsgsprofile; charset=UTF-8\r\n"
        ));
        assert!(profile.ends_with("\r\n\r\n"));
        c.send("USR 6 MD5 I alice@example.com").await;
        c.expect("207 6").await;
        c.send("OUT").await;
        c.closed().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twn_sign_in_msnp8_and_failures() {
    let srv = start(escargot_db(false), None).await;
    let mut c = Client::login_twn(srv.ns, "alice@example.com", SECRET).await;
    c.send("PNG").await;
    c.expect("QNG").await;

    // The bare token is accepted too.
    let mut c = Client::connect(srv.ns).await;
    c.send("VER 1 MSNP8 CVR0").await;
    c.expect("VER 1 MSNP8").await;
    c.send("USR 2 TWN I bob@example.com").await;
    c.expect_prefix("USR 2 TWN S ").await;
    c.send(&format!(
        "USR 3 TWN S {}",
        expected_ticket_token(SECRET, "bob@example.com")
    ))
    .await;
    c.expect("USR 3 OK bob@example.com Bob%20Builder 1 0").await;

    // Another account's ticket: 911 and close.
    let mut c = Client::connect(srv.ns).await;
    c.send("VER 1 MSNP8 CVR0").await;
    c.expect("VER 1 MSNP8").await;
    c.send("USR 2 TWN I carol@example.com").await;
    c.expect_prefix("USR 2 TWN S ").await;
    c.send(&format!(
        "USR 3 TWN S t={}&p=",
        expected_ticket_token(SECRET, "dave@example.com")
    ))
    .await;
    c.expect("911 3").await;
    c.closed().await;

    // MD5 on MSNP8 and INF on MSNP8 close the connection.
    for cmd in ["USR 2 MD5 I alice@example.com", "INF 2"] {
        let mut c = Client::connect(srv.ns).await;
        c.send("VER 1 MSNP8 CVR0").await;
        c.expect("VER 1 MSNP8").await;
        c.send(cmd).await;
        c.closed().await;
    }
    // TWN below MSNP8 closes.
    let mut c = Client::connect(srv.ns).await;
    c.send("VER 1 MSNP7").await;
    c.expect("VER 1 MSNP7").await;
    c.send("USR 2 TWN I alice@example.com").await;
    c.closed().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn md5_failures_and_version_negotiation() {
    let srv = start(escargot_db(false), None).await;
    let mut c = Client::connect(srv.ns).await;
    c.send("VER 1 MSNP2 MSNP8 MSNP9 CVR0").await;
    c.expect("VER 1 MSNP8").await;
    c.send("VER 2 MSNP8").await;
    c.expect("715 2").await;
    c.closed().await;

    let mut c = Client::connect(srv.ns).await;
    c.send("VER 1 msnp5 cvr0").await;
    c.expect("VER 1 MSNP5").await;

    for bad in ["VER 1 MSNP1 CVR0", "VER 1 CVR0", "VER 1 MSNP22 MSNP99"] {
        let mut c = Client::connect(srv.ns).await;
        c.send(bad).await;
        c.expect("VER 1 0").await;
        c.closed().await;
    }

    // Wrong password.
    let mut c = Client::connect(srv.ns).await;
    c.send("VER 1 MSNP2 CVR0").await;
    c.expect("VER 1 MSNP2").await;
    c.send("USR 2 MD5 I alice@example.com").await;
    c.expect("USR 2 MD5 S a11ce5a17a11ce5").await;
    c.send(&format!(
        "USR 3 MD5 S {}",
        md5_login_answer("a11ce5a17a11ce5", "wrongpw")
    ))
    .await;
    c.expect("911 3").await;
    c.closed().await;

    // Unknown account: a time-based salt, then 911.
    let mut c = Client::connect(srv.ns).await;
    c.send("USR 1 MD5 I nobody@example.com").await;
    let salt = c.expect_prefix("USR 1 MD5 S ").await;
    assert!(salt.rsplit(' ').next().is_some_and(|s| s.contains('.')));
    c.send("USR 2 MD5 S 3233351a90d337572d011b42170a15ec").await;
    c.expect("911 2").await;
    c.closed().await;

    // No '@': 911 at stage I. S before I: no reply; PNG before login: close.
    let mut c = Client::connect(srv.ns).await;
    c.send("USR 1 MD5 I alice").await;
    c.expect("911 1").await;
    c.closed().await;
    let mut c = Client::connect(srv.ns).await;
    c.send("USR 1 MD5 S 00000000000000000000000000000000").await;
    c.silent(300).await;
    c.send("PNG").await;
    c.closed().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn syn_formats_per_dialect() {
    let srv = start(escargot_db(false), None).await;
    // MSNP2: identical to the escargot capture.
    let mut b = bob(srv.ns, 2).await;
    assert_eq!(
        b.syn(2).await,
        vec![
            "SYN 5 1",
            "GTC 5 1 A",
            "BLP 5 1 AL",
            "LST 5 FL 1 1 2 alice@example.com Alice",
            "LST 5 FL 1 2 2 carol@example.com Carol",
            "LST 5 AL 1 1 2 alice@example.com Alice",
            "LST 5 AL 1 2 2 carol@example.com Carol",
            "LST 5 BL 1 0 0",
            "LST 5 RL 1 1 2 alice@example.com Alice",
            "LST 5 RL 1 2 2 carol@example.com Carol",
        ]
    );
    // Same version again: only the SYN line.
    b.send("SYN 6 1").await;
    b.expect("SYN 6 1").await;
    b.send("PNG").await;
    b.expect("QNG").await;

    // MSNP7: groups and the group field on FL entries; carol's BL.
    let mut a = alice(srv.ns, 7).await;
    let lines = a.syn(7).await;
    assert_eq!(
        lines,
        vec![
            "SYN 5 1",
            "GTC 5 1 A",
            "BLP 5 1 AL",
            "LSG 5 1 1 2 0 Other%20Contacts 0",
            "LSG 5 1 2 2 1 Friends 0",
            "LST 5 FL 1 1 2 bob@example.com Bob%20Builder 1",
            "LST 5 FL 1 2 2 carol@example.com Carol 0",
            "LST 5 AL 1 1 2 bob@example.com Bob%20Builder",
            "LST 5 AL 1 2 2 carol@example.com Carol",
            "LST 5 BL 1 0 0",
            "LST 5 RL 1 1 2 bob@example.com Bob%20Builder",
            "LST 5 RL 1 2 2 carol@example.com Carol",
        ]
    );
    let mut c = carol(srv.ns, 7).await;
    let lines = c.syn(7).await;
    assert!(
        lines.contains(&"LST 5 BL 1 1 1 dave@example.com Dave".to_string()),
        "{lines:?}"
    );

    // MSNP8: per-contact LST with list bits, no TrIDs.
    let mut a8 = Client::login_twn(srv.ns, "alice@example.com", SECRET).await;
    let lines = a8.syn(8).await;
    assert_eq!(
        lines,
        vec![
            "SYN 5 1 2 2",
            "GTC A",
            "BLP AL",
            "LSG 0 Other%20Contacts 0",
            "LSG 1 Friends 0",
            "LST bob@example.com Bob%20Builder 11 1",
            "LST carol@example.com Carol 11 0",
        ]
    );
    let mut c8 = Client::login_twn(srv.ns, "carol@example.com", SECRET).await;
    let lines = c8.syn(8).await;
    assert!(
        lines.contains(&"LST dave@example.com Dave 4 0".to_string()),
        "{lines:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_fan_out_statuses_and_capabilities() {
    let srv = start(escargot_db(false), None).await;
    let mut b = online(bob(srv.ns, 2).await, 2).await;
    let mut a = Client::login_twn(srv.ns, "alice@example.com", SECRET).await;
    a.syn(8).await;
    b.silent(200).await;
    a.send("CHG 9 NLN 268435456").await;
    a.expect("CHG 9 NLN 268435456").await;
    a.expect("ILN 9 NLN bob@example.com Bob%20Builder 0").await;
    b.expect("NLN NLN alice@example.com Alice").await;
    for st in ["BSY", "IDL", "BRB", "AWY", "PHN", "LUN"] {
        a.send(&format!("CHG 10 {st} 0")).await;
        a.expect(&format!("CHG 10 {st} 0")).await;
        b.expect(&format!("NLN {st} alice@example.com Alice")).await;
    }
    a.send("CHG 11 HDN 0").await;
    a.expect("CHG 11 HDN 0").await;
    b.expect("FLN alice@example.com").await;
    a.send("XFR 12 SB").await;
    a.expect("913 12").await;
    a.send("CHG 13 NLN 0").await;
    a.expect("CHG 13 NLN 0").await;
    b.expect("NLN NLN alice@example.com Alice").await;
    // MSNP8 CHG without capabilities is ignored; FLN is 201; an unknown status closes.
    a.send("CHG 14 BSY").await;
    a.send("CHG 15 FLN 0").await;
    a.expect("201 15").await;
    // Bob (MSNP2) sees alice's name change.
    a.send("REA 16 alice@example.com Alice%20Eight").await;
    a.expect_prefix("REA 16 ").await;
    b.expect("NLN NLN alice@example.com Alice%20Eight").await;
    // Bob changes status: alice (MSNP8) gets his capabilities.
    b.send("CHG 20 AWY").await;
    b.expect("CHG 20 AWY").await;
    a.expect("NLN AWY bob@example.com Bob%20Builder 0").await;
    // BLP BL hides alice from bob (not on... bob is on alice's AL, so he still sees her).
    a.send("BLP 17 BL").await;
    a.expect_prefix("BLP 17 ").await;
    b.expect("NLN NLN alice@example.com Alice%20Eight").await;
    a.send("BLP 18 BL").await;
    a.expect("218 18").await;
    // Removing bob from AL under BLP BL hides alice.
    a.send("REM 19 AL bob@example.com").await;
    a.expect_prefix("REM 19 AL ").await;
    b.expect("FLN alice@example.com").await;
    a.send("CHG 21 XYZ 0").await;
    a.closed().await;
    b.silent(300).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_rem_reverse_list_notifications_and_errors() {
    let srv = start(escargot_db(false), None).await;
    let mut d = online(dave(srv.ns, 3).await, 3).await;
    let mut a = online(alice(srv.ns, 3).await, 3).await;
    a.send("ADD 8 FL dave@example.com Dave").await;
    a.expect("ADD 8 FL 2 dave@example.com Dave").await;
    a.expect("ILN 8 NLN dave@example.com Dave").await;
    d.expect("ADD 0 RL 2 alice@example.com Alice").await;
    a.send("ADD 9 AL dave@example.com Dave").await;
    a.expect("ADD 9 AL 3 dave@example.com Dave").await;
    d.send("ADD 8 FL alice@example.com Alice").await;
    d.expect("ADD 8 FL 3 alice@example.com Alice").await;
    d.expect("ILN 8 NLN alice@example.com Alice").await;
    a.expect("ADD 0 RL 4 dave@example.com Dave").await;
    a.send("ADD 10 BL dave@example.com Dave").await;
    a.expect("ADD 10 BL 5 dave@example.com Dave").await;
    d.expect("FLN alice@example.com").await;
    a.send("REM 11 BL dave@example.com").await;
    a.expect("REM 11 BL 6 dave@example.com").await;
    d.expect("NLN NLN alice@example.com Alice").await;
    a.send("REM 12 FL dave@example.com").await;
    a.expect("REM 12 FL 7 dave@example.com").await;
    d.expect("REM 0 RL 4 alice@example.com").await;
    // Errors.
    a.send("ADD 14 FL nobody@example.com Nobody").await;
    a.expect("205 14").await;
    a.send("ADD 15 FL bob@example.com Bob%20Builder").await;
    a.expect("ADD 15 FL 8 bob@example.com Bob%20Builder").await;
    a.send("ADD 16 AL bob@example.com Bob").await;
    a.expect("215 16").await;
    a.send("REM 17 FL dave@example.com").await;
    a.expect("216 17").await;
    a.send("ADD 18 FL not-an-email Foo").await;
    a.expect("201 18").await;
    a.send("ADD 19 XL bob@example.com Bob").await;
    a.send("ADD 20 FL").await;
    a.send("PNG").await;
    a.expect("QNG").await;
    a.send("ADD 21 RL bob@example.com Bob").await;
    a.closed().await;
    d.expect("FLN alice@example.com").await;

    // MSNP8: the RL notification is followed by an ABCH NOT payload.
    let mut d8 = online(
        Client::login_twn(srv.ns, "dave@example.com", SECRET).await,
        8,
    )
    .await;
    let mut a8 = online(
        Client::login_twn(srv.ns, "alice@example.com", SECRET).await,
        8,
    )
    .await;
    d8.expect("NLN NLN alice@example.com Alice 0").await;
    a8.send("ADD 30 FL dave@example.com Dave 1").await;
    a8.expect_prefix("ADD 30 FL ").await;
    for k in ["PHH", "PHW", "PHM"] {
        a8.expect_prefix("BPR ")
            .await
            .ends_with(k)
            .then_some(())
            .expect("BPR key");
    }
    assert!(a8.expect_prefix("BPR ").await.ends_with("MOB N"));
    a8.expect("ILN 30 NLN dave@example.com Dave 0").await;
    d8.expect_prefix("ADD 0 RL ").await;
    let not = d8.expect_prefix("NOT ").await;
    assert!(not.len() > 4);
    assert!(String::from_utf8_lossy(&d8.payload).contains("ABCHInternal"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_commands_and_errors() {
    let srv = start(escargot_db(false), None).await;
    let mut a = online(alice(srv.ns, 7).await, 7).await;
    a.send("ADG 8 Work 0").await;
    a.expect("ADG 8 2 Work 2 0").await;
    a.send("ADG 9 Family%20%26%20Co 0").await;
    a.expect("ADG 9 3 Family%20&%20Co 3 0").await;
    a.send("ADG 10 Work 0").await;
    a.expect("228 10").await;
    a.send(&format!("ADG 11 {} 0", "x".repeat(62))).await;
    a.expect("229 11").await;
    a.send("REG 12 2 Office 0").await;
    a.expect("REG 12 4 2 Office 0").await;
    a.send("REG 13 99 Nothing 0").await;
    a.expect("224 13").await;
    a.send("ADD 14 FL carol@example.com Carol 2").await;
    a.expect("ADD 14 FL 5 carol@example.com Carol 2").await;
    a.send("ADD 15 FL carol@example.com Carol 2").await;
    a.expect("215 15").await;
    a.send("ADD 16 FL carol@example.com Carol 42").await;
    a.expect("224 16").await;
    a.send("REM 17 FL carol@example.com 2").await;
    a.expect("REM 17 FL 6 carol@example.com 2").await;
    a.send("REM 18 FL carol@example.com 2").await;
    a.expect("225 18").await;
    a.send("RMG 19 0").await;
    a.expect("224 19").await;
    a.send("RMG 20 3").await;
    a.expect("RMG 20 7 3").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ims_off_refuses_calls_with_217() {
    let srv = start(escargot_db(false), None).await;
    let mut a = online(alice(srv.ns, 6).await, 6).await;
    let mut b = online(bob(srv.ns, 6).await, 6).await;
    a.expect("NLN NLN bob@example.com Bob%20Builder").await;
    b.expect("ILN 6 NLN alice@example.com Alice").await;
    b.send("IMS 9 OFF").await;
    b.expect("IMS 9 0 OFF").await;
    b.send("IMS 10 MAYBE").await;
    b.expect("715 10").await;
    a.send("XFR 9 SB").await;
    let xfr = a.expect_prefix("XFR 9 SB ").await;
    let f: Vec<&str> = xfr.split(' ').collect();
    assert_eq!(f[3], srv.sb.to_string());
    assert_eq!(f[4], "CKI");
    let mut s = Client::connect(srv.sb).await;
    s.send(&format!("USR 1 alice@example.com {}", f[5])).await;
    s.expect("USR 1 OK alice@example.com Alice").await;
    s.send("CAL 2 bob@example.com").await;
    s.expect("217 2").await;
    // bob can still open his own switchboard.
    b.send("XFR 11 SB").await;
    b.expect_prefix("XFR 11 SB ").await;
    b.send("IMS 12 ON").await;
    b.expect("IMS 12 0 ON").await;
    s.send("CAL 3 bob@example.com").await;
    let rng = b.expect_prefix("RNG ").await;
    s.expect_prefix("CAL 3 RINGING ").await;
    assert!(rng.ends_with(" alice@example.com Alice"));
    // Other CAL errors.
    s.send("CAL 4 alice@example.com").await;
    s.expect("215 4").await;
    s.send("CAL 5 nobody").await;
    s.expect("208 5").await;
    s.send("CAL 6 dave@example.com").await;
    s.expect("217 6").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switchboard_conversation_ack_nak_bye() {
    let srv = start(escargot_db(false), None).await;
    let mut a = online(alice(srv.ns, 5).await, 5).await;
    let mut b = online(
        Client::login_twn(srv.ns, "bob@example.com", SECRET).await,
        8,
    )
    .await;
    b.expect("ILN 6 NLN alice@example.com Alice 0").await;
    a.expect("NLN NLN bob@example.com Bob%20Builder").await;
    a.send("XFR 8 SB").await;
    let xfr = a.expect_prefix("XFR 8 SB ").await;
    let cookie = xfr.rsplit(' ').next().expect("cookie").to_string();
    let mut asb = Client::connect(srv.sb).await;
    // A bad cookie is refused and closes.
    let mut bad = Client::connect(srv.sb).await;
    bad.send("USR 1 alice@example.com 0000").await;
    bad.expect("911 1").await;
    bad.closed().await;
    asb.send(&format!("USR 1 alice@example.com {cookie}")).await;
    asb.expect("USR 1 OK alice@example.com Alice").await;
    // Alone: A gets NAK.
    asb.send_payload(
        "MSG 2 A",
        b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nanyone?",
    )
    .await;
    asb.expect("NAK 2").await;
    asb.send("CAL 3 bob@example.com").await;
    let rng = b.expect_prefix("RNG ").await;
    let ringing = asb.expect_prefix("CAL 3 RINGING ").await;
    let f: Vec<&str> = rng.split(' ').collect();
    let session = f[1];
    assert_eq!(session.len(), 31);
    assert_eq!(ringing, format!("CAL 3 RINGING {session}"));
    assert_eq!(f[2], srv.sb.to_string());
    let mut bsb = Client::connect(srv.sb).await;
    bsb.send(&format!("ANS 1 bob@example.com {} {session}", f[4]))
        .await;
    bsb.expect("IRO 1 1 1 alice@example.com Alice").await;
    bsb.expect("ANS 1 OK").await;
    asb.expect("JOI bob@example.com Bob%20Builder").await;
    let typing = b"MIME-Version: 1.0\r\nContent-Type: text/x-msmsgscontrol\r\nTypingUser: alice@example.com\r\n\r\n\r\n";
    asb.send_payload("MSG 4 U", typing).await;
    bsb.expect(&format!("MSG alice@example.com Alice {}", typing.len()))
        .await;
    assert_eq!(bsb.payload, typing);
    let text =
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\ncaf\u{e9} \u{2713}"
            .as_bytes();
    for (t, mode) in [(5, "U"), (6, "N"), (7, "A"), (8, "D")] {
        asb.send_payload(&format!("MSG {t} {mode}"), text).await;
        bsb.expect(&format!("MSG alice@example.com Alice {}", text.len()))
            .await;
        assert_eq!(bsb.payload, text);
        if mode == "A" || mode == "D" {
            asb.expect(&format!("ACK {t}")).await;
        }
    }
    bsb.send_payload("MSG 2 A", text).await;
    asb.expect(&format!("MSG bob@example.com Bob%20Builder {}", text.len()))
        .await;
    bsb.expect("ACK 2").await;
    asb.silent(200).await;
    // Bob leaves: alice gets BYE, then her A/N messages get NAK, U nothing.
    bsb.send("OUT").await;
    bsb.closed().await;
    asb.expect("BYE bob@example.com").await;
    asb.send_payload("MSG 9 A", text).await;
    asb.expect("NAK 9").await;
    asb.send_payload("MSG 10 N", text).await;
    asb.expect("NAK 10").await;
    asb.send_payload("MSG 11 U", text).await;
    asb.silent(200).await;
    // Over 1664 bytes: closed.
    asb.send_payload("MSG 12 N", &vec![b'x'; 1665]).await;
    asb.closed().await;
    // A bad ack letter closes too.
    a.send("XFR 9 SB").await;
    let cookie = a
        .expect_prefix("XFR 9 SB ")
        .await
        .rsplit(' ')
        .next()
        .expect("cookie")
        .to_string();
    let mut s2 = Client::connect(srv.sb).await;
    s2.send(&format!("USR 1 alice@example.com {cookie}")).await;
    s2.expect_prefix("USR 1 OK").await;
    s2.send_payload("MSG 2 Z", b"x").await;
    s2.closed().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_login_kicks_old_session() {
    let srv = start(escargot_db(false), None).await;
    let mut b = online(bob(srv.ns, 4).await, 4).await;
    let mut a1 = online(alice(srv.ns, 4).await, 4).await;
    b.expect("NLN NLN alice@example.com Alice").await;
    a1.expect("ILN 6 NLN bob@example.com Bob%20Builder").await;
    let _a2 = alice(srv.ns, 4).await;
    a1.expect("OUT OTH").await;
    a1.closed().await;
    b.expect("FLN alice@example.com").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chl_qry_pass_fail_and_timeout() {
    let mut db = escargot_db(true);
    db.settings.chl_timeout_secs = 1;
    let srv = start(db, None).await;
    // MSNP5 gets no CHL.
    let mut c5 = online(carol(srv.ns, 5).await, 5).await;
    c5.silent(300).await;
    // Correct answer.
    let mut a = bob(srv.ns, 6).await;
    a.syn(6).await;
    a.send("CHG 7 NLN").await;
    a.expect("CHG 7 NLN").await;
    a.expect("ILN 7 NLN carol@example.com Carol").await;
    let chl = a.expect_prefix("CHL 0 ").await;
    let challenge = chl.rsplit(' ').next().expect("challenge").to_string();
    assert_eq!(challenge.len(), 20);
    let answer = qry_answer(&challenge, "msmsgs@msnmsgr.com").expect("known id");
    a.send_payload("QRY 8 msmsgs@msnmsgr.com", answer.as_bytes())
        .await;
    a.expect("QRY 8").await;
    c5.expect("NLN NLN bob@example.com Bob%20Builder").await;
    // Wrong answer: 540 and close.
    let mut d = Client::login_twn(srv.ns, "dave@example.com", SECRET).await;
    d.syn(8).await;
    d.send("CHG 6 NLN 0").await;
    d.expect("CHG 6 NLN 0").await;
    d.expect_prefix("CHL 0 ").await;
    d.send_payload("QRY 7 msmsgs@msnmsgr.com", &[b'0'; 32])
        .await;
    d.expect("540 7").await;
    d.closed().await;
    // No answer: closed after the timeout.
    let mut al = alice(srv.ns, 7).await;
    al.syn(7).await;
    al.send("CHG 7 NLN").await;
    al.expect("CHG 7 NLN").await;
    loop {
        let l = al.line().await;
        if l.starts_with("CHL 0 ") {
            break;
        }
    }
    al.closed().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn misc_commands_and_malformed_input() {
    let srv = start(escargot_db(false), None).await;
    let mut a = online(alice(srv.ns, 5).await, 5).await;
    a.send("URL 8 INBOX").await;
    a.expect("URL 8 /unused1 /unused2 1").await;
    a.send("SND 9 friend@example.org 0x0409").await;
    a.expect("SND 9 OK").await;
    a.send("GTC 10 N").await;
    a.expect("GTC 10 2 N").await;
    a.send("GTC 11 N").await;
    a.expect("218 11").await;
    a.send("PRP 12 PHH 555%200100").await;
    a.expect("PRP 12 3 PHH 555%200100").await;
    a.send("PRP 13 PH 1").await;
    a.expect("715 13").await;
    a.send("PRP 14 PHH").await;
    a.expect("PRP 14 4 PHH").await;
    a.send("XFR 15 NS").await;
    a.expect("201 15").await;
    // Unknown commands, missing arguments, blank and short lines: no reply, still alive.
    a.send_raw(b"FND 16 fname=Bob\r\nZZZ 17 foo\r\nREM 18\r\n\r\nX\r\npng\nurl 19 INBOX\r\nOU")
        .await;
    a.expect("QNG").await;
    a.expect("URL 19 /unused1 /unused2 1").await;
    a.send_raw(b"T\r\n").await;
    a.closed().await;
    // Non-numeric payload length closes.
    let mut b = online(bob(srv.ns, 6).await, 6).await;
    b.send("QRY 9 msmsgs@msnmsgr.com abc").await;
    b.closed().await;
    // Invalid UTF-8 closes.
    let mut c = Client::connect(srv.ns).await;
    c.send_raw(b"VER 1 MSNP8 \xff\r\n").await;
    c.closed().await;
    // GTC with an invalid value closes.
    let mut c = online(carol(srv.ns, 3).await, 3).await;
    c.send("GTC 9 X").await;
    c.closed().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_persist_across_restart() {
    let dir = std::env::temp_dir().join(format!("msntv-devserver-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let state = dir.join("state.json");
    let _ = std::fs::remove_file(&state);
    {
        let srv = start(escargot_db(false), Some(state.clone())).await;
        let mut d = online(dave(srv.ns, 7).await, 7).await;
        d.send("ADD 8 FL alice@example.com Alice").await;
        d.expect("ADD 8 FL 2 alice@example.com Alice").await;
        d.send("ADG 9 Pals 0").await;
        d.expect("ADG 9 3 Pals 1 0").await;
        d.send("REA 10 dave@example.com Dave%20D").await;
        d.expect("REA 10 4 dave@example.com Dave%20D").await;
        d.send("OUT").await;
        d.closed().await;
    }
    assert!(state.exists());
    // A second server started from the state file (the config's lists are ignored now).
    let srv = start(escargot_db(false), Some(state.clone())).await;
    let mut d = dave(srv.ns, 7).await;
    let lines = d.syn(7).await;
    assert_eq!(lines[0], "SYN 5 4");
    assert!(
        lines.contains(&"LSG 5 4 2 2 1 Pals 0".to_string()),
        "{lines:?}"
    );
    assert!(
        lines.contains(&"LST 5 FL 4 1 1 alice@example.com Alice 0".to_string()),
        "{lines:?}"
    );
    let mut a = alice(srv.ns, 2).await;
    let lines = a.syn(2).await;
    assert!(
        lines.contains(&"LST 5 RL 2 3 3 dave@example.com Dave%20D".to_string()),
        "{lines:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
