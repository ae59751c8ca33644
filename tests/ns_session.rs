//! Scripted notification-session scenarios beyond the recordings: local MD5 answers, TWN tickets,
//! redirects, timeouts, keep-alive loss, block/unblock, local refusals, overflow and NVRAM restore.
use msntv_messenger::msnp::ns::{
    Contact, Group, LocalError, NsConfig, NsError, NsEvent, NsSession, Phase,
};
use msntv_messenger::msnp::wire::{ListKind, Status};
use msntv_messenger::wtvp::login::LoginAnswer;
use msntv_messenger::{Duration, Instant};

type S<'s> = NsSession<'s, 4096, 4096>;

fn ms(t: u64) -> Instant {
    Instant::from_millis(t)
}

/// Drain transmit and events; answer Connect; return (bytes sent, events as debug strings).
fn drain(s: &mut S<'_>, now: Instant) -> (String, Vec<String>) {
    let mut out = Vec::new();
    let mut evs = Vec::new();
    loop {
        let mut buf = [0u8; 512];
        let n = s.poll_transmit(&mut buf);
        out.extend_from_slice(&buf[..n]);
        let mut connect = false;
        while let Some(e) = s.poll_event() {
            connect |= matches!(e, NsEvent::Connect { .. });
            evs.push(format!("{e:?}"));
        }
        if connect {
            s.handle_connected(now);
            continue;
        }
        let mut buf = [0u8; 512];
        let n = s.poll_transmit(&mut buf);
        out.extend_from_slice(&buf[..n]);
        if n == 0 {
            break;
        }
    }
    (String::from_utf8_lossy(&out).into_owned(), evs)
}

fn feed(s: &mut S<'_>, now: Instant, mut b: &[u8]) -> (String, Vec<String>) {
    let mut out = String::new();
    let mut evs = Vec::new();
    while !b.is_empty() {
        let n = s.handle_input(now, b).unwrap_or(b.len());
        b = &b[n..];
        let (o, e) = drain(s, now);
        out += &o;
        evs.extend(e);
    }
    let (o, e) = drain(s, now);
    out += &o;
    evs.extend(e);
    (out, evs)
}

const PROFILE: &[u8] =
    b"MSG Hotmail Hotmail 57\r\nMIME-Version: 1.0\r\nContent-Type: text/x-msmsgsprofile\r\n\r\n";

fn signed_in_msnp2<'s>(s: &mut S<'s>) {
    s.start(ms(0)).unwrap();
    let (out, _) = drain(s, ms(0));
    assert_eq!(
        out,
        "VER 1 MSNP8 MSNP7 MSNP6 MSNP5 MSNP4 MSNP3 MSNP2 CVR0\r\n"
    );
    let (out, _) = feed(s, ms(1), b"VER 1 MSNP2\r\n");
    assert_eq!(out, "CVR 2 0x0409 webtv 2.8 MIPS msntvim 2.8 msntv\r\n");
    let (out, _) = feed(s, ms(2), b"CVR 2 2.8 2.8 2.8 a b\r\n");
    assert_eq!(out, "INF 3\r\n");
    let (out, _) = feed(s, ms(3), b"INF 3 MD5\r\n");
    assert_eq!(out, "USR 4 MD5 I alice@example.com\r\n");
    let (out, _) = feed(s, ms(4), b"USR 4 MD5 S a11ce5a17a11ce5\r\n");
    assert_eq!(out, "USR 5 MD5 S 09737575b514aacd386bf2db61d46607\r\n");
    let mut ok = b"USR 5 OK alice@example.com Alice\r\n".to_vec();
    ok.extend_from_slice(PROFILE);
    let (out, evs) = feed(s, ms(5), &ok);
    assert_eq!(out, "SYN 6 0\r\n");
    assert!(evs.iter().any(|e| e.starts_with("SignedIn")), "{evs:?}");
    assert!(evs.iter().any(|e| e.contains("Profile")), "{evs:?}");
}

const LISTS2: &[u8] = b"SYN 6 1\r\nGTC 6 1 A\r\nBLP 6 1 AL\r\nLST 6 FL 1 1 1 bob@example.com Bob%20Builder\r\nLST 6 AL 1 1 1 bob@example.com Bob%20Builder\r\nLST 6 BL 1 0 0\r\nLST 6 RL 1 1 1 bob@example.com Bob%20Builder\r\n";

#[test]
fn test_msnp2_local_md5_sync_presence_and_block() {
    let (mut c, mut g, mut n) = ([Contact::EMPTY; 8], [Group::EMPTY; 4], [0u8; 1024]);
    let mut s: S<'_> = NsSession::new(
        NsConfig::new("127.0.0.1", 1863, "alice@example.com"),
        &mut c,
        &mut g,
        &mut n,
    );
    s.set_password(b"alice123").unwrap();
    signed_in_msnp2(&mut s);
    let (out, evs) = feed(&mut s, ms(6), LISTS2);
    assert_eq!(out, "CHG 7 NLN\r\n", "initial status after sync");
    assert!(evs
        .iter()
        .any(|e| e.contains("ListsSynced { version: 1, from_cache: false }")));
    assert_eq!(
        s.lists().get(b"bob@example.com").unwrap().friendly(),
        "Bob Builder"
    );
    let (_, evs) = feed(
        &mut s,
        ms(7),
        b"CHG 7 NLN\r\nILN 7 BSY bob@example.com Bob%20Builder\r\n",
    );
    assert!(evs.iter().any(|e| e.contains("Presence")
        && e.contains("Busy")
        && e.contains("online_for_webtv: true")));
    assert_eq!(
        s.lists().get(b"bob@example.com").unwrap().status(),
        Status::Busy
    );
    s.block(ms(8), "bob@example.com").unwrap();
    let (out, _) = drain(&mut s, ms(8));
    assert_eq!(
        out,
        "REM 8 AL bob@example.com\r\nADD 9 BL bob@example.com Bob%20Builder\r\n"
    );
    // Local refusals: never CHG FLN, never ADD RL, no IMS on MSNP2, no PAG without server support.
    assert_eq!(
        s.set_status(ms(9), Status::Offline),
        Err(LocalError::BadArgument)
    );
    assert_eq!(
        s.add_contact(ms(9), ListKind::Reverse, "x@y.z", "x", None),
        Err(LocalError::BadArgument)
    );
    assert_eq!(s.set_ims(ms(9), false), Err(LocalError::Unsupported));
    assert_eq!(
        s.page(ms(9), "bob@example.com", "hi"),
        Err(LocalError::Unsupported)
    );
    assert_eq!(s.add_group(ms(9), "Work"), Err(LocalError::Unsupported));
    // FND gets no reply from Escargot: it times out into an event.
    let t = s.search_directory(ms(10), "Bob", "", "US").unwrap();
    let (out, _) = drain(&mut s, ms(10));
    assert_eq!(
        out,
        "FND 10 fname=Bob lname=* city=* state=* country=US\r\n"
    );
    s.handle_timeout(ms(10 + 30_001));
    let (_, evs) = drain(&mut s, ms(40_011));
    assert!(
        evs.iter()
            .any(|e| e.contains("RequestTimedOut") && e.contains(&format!("{}", t.get()))),
        "{evs:?}"
    );
    // The other side signs us in elsewhere.
    let (_, evs) = feed(&mut s, ms(41_000), b"OUT OTH\r\n");
    assert!(evs.iter().any(|e| e.contains("SignedInElsewhere")));
    assert_eq!(s.phase(), Phase::Closed);
}

#[test]
fn test_restore_skips_download_and_ping_timeout() {
    let (mut c, mut g, mut n) = ([Contact::EMPTY; 8], [Group::EMPTY; 4], [0u8; 1024]);
    let mut image = [0u8; 1024];
    let n = {
        let mut s: S<'_> = NsSession::new(
            NsConfig::new("h", 1863, "alice@example.com"),
            &mut c,
            &mut g,
            &mut n,
        );
        s.set_password(b"alice123").unwrap();
        signed_in_msnp2(&mut s);
        feed(&mut s, ms(6), LISTS2);
        s.lists().serialize(&mut image).unwrap()
    };
    let (mut c2, mut g2, mut n2) = ([Contact::EMPTY; 8], [Group::EMPTY; 4], [0u8; 1024]);
    let mut cfg = NsConfig::new("h", 1863, "alice@example.com");
    cfg.initial_status = None;
    let mut s: S<'_> = NsSession::new(cfg, &mut c2, &mut g2, &mut n2);
    s.lists_mut().restore(&image[..n]).unwrap();
    s.set_password(b"alice123").unwrap();
    s.start(ms(0)).unwrap();
    drain(&mut s, ms(0));
    feed(&mut s, ms(1), b"VER 1 MSNP2\r\n");
    feed(&mut s, ms(2), b"CVR 2 2.8 2.8 2.8 a b\r\n");
    feed(&mut s, ms(3), b"INF 3 MD5\r\n");
    feed(&mut s, ms(4), b"USR 4 MD5 S a11ce5a17a11ce5\r\n");
    let (out, _) = feed(&mut s, ms(5), b"USR 5 OK alice@example.com Alice\r\n");
    assert_eq!(out, "SYN 6 1\r\n", "SYN carries the cached version");
    let (_, evs) = feed(&mut s, ms(6), b"SYN 6 1\r\n");
    assert!(
        evs.iter().any(|e| e.contains("from_cache: true")),
        "{evs:?}"
    );
    assert!(s.lists().get(b"bob@example.com").is_some());
    // Keep-alive: PNG after quiet time, no QNG -> connection lost.
    let t = s.poll_timeout().unwrap();
    s.handle_timeout(t);
    let (out, _) = drain(&mut s, t);
    assert_eq!(out, "PNG\r\n");
    let t2 = s.poll_timeout().unwrap();
    assert!(t2 > t);
    s.handle_timeout(t2 + Duration::from_secs(60));
    let (_, evs) = drain(&mut s, t2);
    assert!(evs.iter().any(|e| e.contains("PingTimeout")), "{evs:?}");
}

#[test]
fn test_msnp8_twn_ticket_redirect_loop_and_overflow() {
    let (mut c, mut g, mut n) = ([Contact::EMPTY; 1], [Group::EMPTY; 2], [0u8; 1024]);
    let mut cfg = NsConfig::new("ds", 1863, "bob@example.com");
    cfg.max_redirects = 1;
    let mut s: S<'_> = NsSession::new(cfg, &mut c, &mut g, &mut n);
    s.start(ms(0)).unwrap();
    drain(&mut s, ms(0));
    let (out, _) = feed(&mut s, ms(1), b"VER 1 MSNP8\r\n");
    assert_eq!(
        out,
        "CVR 2 0x0409 webtv 2.8 MIPS msntvim 2.8 msntv bob@example.com\r\n"
    );
    let (out, _) = feed(&mut s, ms(2), b"CVR 2 2.8 2.8 2.8 a b\r\n");
    assert_eq!(out, "USR 3 TWN I bob@example.com\r\n");
    let (out, evs) = feed(&mut s, ms(3), b"XFR 3 NS 10.0.0.5:1863 0 ds:1863\r\n");
    assert!(
        evs.iter()
            .any(|e| e.contains("Connect { host: \"10.0.0.5\", port: 1863 }")),
        "{evs:?}"
    );
    assert!(out.starts_with("VER 1 "), "login restarts: {out}");
    feed(&mut s, ms(4), b"VER 1 MSNP8\r\n");
    feed(&mut s, ms(5), b"CVR 2 2.8 2.8 2.8 a b\r\n");
    let (_, evs) = feed(&mut s, ms(6), b"USR 3 TWN S ct=1,rver=1\r\n");
    assert!(
        evs.iter()
            .any(|e| e.contains("LoginAnswerNeeded") && e.contains("Ticket")),
        "{evs:?}"
    );
    s.provide_login_answer(ms(7), LoginAnswer::Ticket(b"t=abc&p="))
        .unwrap();
    let (out, _) = drain(&mut s, ms(7));
    assert_eq!(out, "USR 4 TWN S t=abc&p=\r\n");
    let (out, _) = feed(&mut s, ms(8), b"USR 4 OK bob@example.com Bob 1 0\r\n");
    assert_eq!(out, "SYN 5 0\r\n");
    let (out, evs) = feed(
        &mut s,
        ms(9),
        b"SYN 5 1 2 1\r\nGTC A\r\nBLP AL\r\nLSG 0 Other%20Contacts 0\r\nLST alice@example.com Alice 11 0\r\nLST carol@example.com Carol 11 0\r\n",
    );
    assert!(
        evs.iter()
            .any(|e| e.contains("ListOverflow") && e.contains("99, 97, 114")),
        "{evs:?}"
    );
    assert_eq!(out, "CHG 6 NLN 0\r\n");
    assert_eq!(s.lists().contacts().len(), 1);
    // A second redirect exceeds max_redirects (1 per sign-in, counter reset at login).
    let (_, evs) = feed(&mut s, ms(10), b"XFR 0 NS 10.0.0.6:1863 0 x:1\r\n");
    assert!(evs.iter().any(|e| e.contains("Connect")));
    let (_, evs) = feed(&mut s, ms(11), b"XFR 1 NS 10.0.0.7:1863 0 x:1\r\n");
    assert!(evs.iter().any(|e| e.contains("RedirectLoop")), "{evs:?}");
    let _ = NsError::Closed;
}

#[test]
fn test_wrong_password_and_refused_version() {
    let (mut c, mut g, mut n) = ([Contact::EMPTY; 1], [Group::EMPTY; 1], [0u8; 1024]);
    let mut s: S<'_> = NsSession::new(
        NsConfig::new("h", 1863, "alice@example.com"),
        &mut c,
        &mut g,
        &mut n,
    );
    s.set_password(b"wrong").unwrap();
    s.start(ms(0)).unwrap();
    drain(&mut s, ms(0));
    feed(&mut s, ms(1), b"VER 1 MSNP7\r\n");
    feed(&mut s, ms(2), b"CVR 2 2.8 2.8 2.8 a b\r\n");
    feed(&mut s, ms(3), b"INF 3 MD5\r\n");
    feed(&mut s, ms(4), b"USR 4 MD5 S a11ce5a17a11ce5\r\n");
    let (_, evs) = feed(&mut s, ms(5), b"911 5\r\n");
    assert!(
        evs.iter()
            .any(|e| e.contains("AuthFailed(ServerErrorCode(911))")),
        "{evs:?}"
    );
    s.reconnect(ms(6)).unwrap();
    drain(&mut s, ms(6));
    let (_, evs) = feed(&mut s, ms(7), b"VER 1 0\r\n");
    assert!(evs.iter().any(|e| e.contains("VersionRefused")), "{evs:?}");
}

#[test]
fn test_full_name_pool_keeps_contacts_and_reports_dropped_names() {
    // Room for three passports (4 + 15 bytes each) and Bob's name (3), not for Eve's (23).
    let (mut c, mut g, mut n) = ([Contact::EMPTY; 8], [Group::EMPTY; 4], [0u8; 60]);
    let mut s: S<'_> = NsSession::new(
        NsConfig::new("127.0.0.1", 1863, "alice@example.com"),
        &mut c,
        &mut g,
        &mut n,
    );
    s.set_password(b"alice123").unwrap();
    signed_in_msnp2(&mut s);
    let lists: &[u8] = b"SYN 6 2\r\nGTC 6 2 A\r\nBLP 6 2 AL\r\nLST 6 FL 2 1 3 bob@example.com Bob\r\nLST 6 FL 2 2 3 eve@example.com Eve%20the%20Very%20Long%20Named\r\nLST 6 FL 2 3 3 joe@example.com joe@example.com\r\nLST 6 AL 2 0 0\r\nLST 6 BL 2 0 0\r\nLST 6 RL 2 0 0\r\n";
    let (_, evs) = feed(&mut s, ms(6), lists);
    assert!(
        evs.iter()
            .any(|e| e.starts_with("TextDropped") && e.contains("101, 118, 101")),
        "{evs:?}"
    );
    assert!(evs.iter().any(|e| e.contains("ListsSynced")), "{evs:?}");
    let l = s.lists();
    assert_eq!(l.len(), 3, "every contact kept");
    assert_eq!(l.get(b"bob@example.com").unwrap().friendly(), "Bob");
    let eve = l.get(b"eve@example.com").unwrap();
    assert_eq!(eve.friendly(), "");
    assert!(eve.friendly_truncated());
    // A name equal to the passport costs no pool bytes.
    assert_eq!(
        l.get(b"joe@example.com").unwrap().friendly(),
        "joe@example.com"
    );
    // Removing a contact frees room: Eve's name fits when she renames herself.
    let t = s
        .remove_contact(ms(7), ListKind::Forward, "bob@example.com", None)
        .unwrap();
    let rem = format!("REM {} FL 3 bob@example.com\r\n", t.get());
    feed(&mut s, ms(7), rem.as_bytes());
    let t = s.rename_contact(ms(8), "eve@example.com", "Eve").unwrap();
    let rea = format!("REA {} 4 eve@example.com Eve\r\n", t.get());
    let (_, evs) = feed(&mut s, ms(8), rea.as_bytes());
    assert!(!evs.iter().any(|e| e.starts_with("TextDropped")), "{evs:?}");
    assert!(s.lists().get(b"bob@example.com").is_none());
    assert_eq!(s.lists().get(b"eve@example.com").unwrap().friendly(), "Eve");
}

#[test]
fn test_payload_bigger_than_the_buffer_is_skipped_and_reported() {
    let (mut c, mut g, mut n) = ([Contact::EMPTY; 8], [Group::EMPTY; 4], [0u8; 1024]);
    let mut s: S<'_> = NsSession::new(
        NsConfig::new("127.0.0.1", 1863, "alice@example.com"),
        &mut c,
        &mut g,
        &mut n,
    );
    s.set_password(b"alice123").unwrap();
    signed_in_msnp2(&mut s);
    feed(&mut s, ms(6), LISTS2);
    let mut big = b"MSG Hotmail Hotmail 5000\r\n".to_vec();
    big.extend(std::iter::repeat_n(b'x', 5000));
    big.extend_from_slice(b"ILN 7 BSY bob@example.com Bob%20Builder\r\n");
    let (_, evs) = feed(&mut s, ms(7), &big);
    assert!(
        evs.iter().any(|e| e == "FrameSkipped { len: 5000 }"),
        "{evs:?}"
    );
    assert!(evs.iter().any(|e| e.starts_with("Presence")), "{evs:?}");
    assert_eq!(s.phase(), Phase::Online, "the session goes on");
}
