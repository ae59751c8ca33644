//! Replay every recorded WTVP session (`$MSNTV_WTVP_TRANSCRIPTS_DIR`, default
//! `../shared/transcripts/wtvp`) through the built-in client.
//!
//! The client is configured with the recorded box identity; the harness feeds the recorded server
//! bytes and checks that the client writes exactly the recorded client bytes and extracts the
//! recorded answers. Documented variables:
//! - a deliberately wrong challenge response in the recording (`derived.bad_first_attempt`) is
//!   compared against the correct response the recording lists beside it;
//! - connections the built-in client never makes are skipped: plain requests to services other
//!   than wtv-1800 and the head-waiter (pre-login probes, an unencrypted messengerlogin) and
//!   SECURE requests that carry their own inner `wtv-incarnation` (the re-key experiment);
//! - a connection the recording opened anew is reported to the client as closed first.
use msntv_messenger::wtvp::client::{BoxIdentity, WtvpClient, WtvpEvent};
use msntv_messenger::wtvp::login::{LoginAnswer, LoginError, LoginTransport};
use msntv_messenger::Instant;
use msntv_testdata::wtvp::{load_sessions, Session, SessionConn};

// The production buffer size: every recorded sign-in must fit it.
type Client<'a> = WtvpClient<'a, [u8; msntv_messenger::client::WTVP_BUF]>;

#[derive(Default)]
struct Seen {
    connect: Option<(String, u16)>,
    signed_in: bool,
    sign_in_failed: bool,
    fetched: Option<u16>,
}

fn drain_events(c: &mut Client<'_>, seen: &mut Seen) {
    while let Some(e) = c.poll_event() {
        match e {
            WtvpEvent::Connect { host, port } => seen.connect = Some((host.to_string(), port)),
            WtvpEvent::Disconnect => {}
            WtvpEvent::SignedIn => seen.signed_in = true,
            WtvpEvent::SignInFailed(_) => seen.sign_in_failed = true,
            WtvpEvent::Fetched(s) => seen.fetched = Some(s),
        }
    }
}

fn request_url(req: &[u8]) -> Vec<u8> {
    let line_end = req
        .windows(2)
        .position(|w| w == b"\r\n")
        .expect("request line");
    req[4..line_end].to_vec()
}

fn driven_by_client(conn: &SessionConn) -> bool {
    let p = &conn.purpose;
    !conn.secure
        && (p.starts_with("wtv-1800:/preregister") || p.starts_with("wtv-head-waiter:/login"))
}

fn secure_replayable(conn: &SessionConn) -> bool {
    conn.secure
        && conn
            .messages
            .iter()
            .filter_map(|m| m.decrypted.as_ref())
            .all(|d| {
                !String::from_utf8_lossy(d)
                    .to_ascii_lowercase()
                    .contains("\r\nwtv-incarnation:")
            })
        && !conn.purpose.starts_with("wtv-head-waiter:/login-stage-two")
}

/// Replay one session; returns the number of checks made.
fn replay(s: &Session) -> usize {
    let headers: Vec<(&str, &str)> = s
        .box_headers
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let pre: Vec<(&str, &str)> = s
        .preregister_headers
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let id = BoxIdentity {
        ssid: &s.ssid,
        accept_language: &s.accept_language,
        headers: &headers,
        preregister_headers: &pre,
        first_incarnation: s.first_incarnation,
    };
    let mut c: Box<Client<'_>> = Box::new(WtvpClient::new(id));
    let now = Instant::from_millis(1000);
    let mut seen = Seen::default();
    let mut checks = 0;
    let first = &s.connections[0];
    c.sign_in(now, &first.host, first.port).expect("sign_in");
    drain_events(&mut c, &mut seen);
    let stage_two_done =
        |conn: &SessionConn| conn.purpose.starts_with("wtv-head-waiter:/login-stage-two");
    for (ci, conn) in s.connections.iter().enumerate() {
        let label = format!("{} conn {}", s.name, ci + 1);
        let is_stage_two = stage_two_done(conn);
        if !(driven_by_client(conn) || is_stage_two || secure_replayable(conn)) {
            eprintln!("{label}: skipped ({})", conn.purpose);
            continue;
        }
        if secure_replayable(conn) {
            c.handle_closed(now);
            drain_events(&mut c, &mut seen);
        }
        if driven_by_client(conn) && seen.connect.is_none() && seen.sign_in_failed {
            // After a refused attempt the box signs in again (straight to the head-waiter).
            seen.sign_in_failed = false;
            c.sign_in(now, &conn.host, conn.port)
                .expect("sign_in again");
            drain_events(&mut c, &mut seen);
        }
        let mut sent: Vec<u8> = Vec::new();
        let mut expected: Vec<u8> = Vec::new();
        let mut requests = 0;
        let mut connected = false;
        let issue = |c: &mut Client<'_>, dec: &[u8], seen: &mut Seen| {
            let url = request_url(dec);
            let q = url
                .iter()
                .position(|&b| b == b'?')
                .filter(|_| url.starts_with(b"wtv-passport:/messengerlogin"));
            if let Some(q) = q {
                c.request_answer(now, &url[q + 1..])
                    .expect("request_answer");
            } else {
                c.fetch(now, &url).expect("fetch");
            }
            drain_events(c, seen);
        };
        let mut first_request_done = false;
        if !is_stage_two {
            if let Some(dec) = conn.messages.iter().find_map(|m| m.decrypted.as_ref()) {
                issue(&mut c, dec, &mut seen);
                first_request_done = true;
            }
        }
        for m in &conn.messages {
            if m.c2s {
                if let Some(dec) = m.decrypted.as_ref().filter(|_| !is_stage_two) {
                    if first_request_done {
                        first_request_done = false;
                    } else {
                        issue(&mut c, dec, &mut seen);
                    }
                    requests += 1;
                }
                if !connected {
                    let target = seen
                        .connect
                        .take()
                        .unwrap_or_else(|| panic!("{label}: client did not connect"));
                    assert_eq!(
                        target,
                        (conn.host.clone(), conn.port),
                        "{label}: connect target"
                    );
                    c.handle_connected(now).expect("handle_connected");
                    connected = true;
                    checks += 1;
                }
                let mut wire = m.wire.clone();
                if let Some((bad, good)) = &s.bad_response {
                    if let Ok(text) = std::str::from_utf8(&wire) {
                        wire = text.replace(bad.as_str(), good.as_str()).into_bytes();
                    }
                }
                expected.extend_from_slice(&wire);
                let mut buf = vec![0u8; 8192];
                loop {
                    let n = c.poll_transmit(&mut buf);
                    if n == 0 {
                        break;
                    }
                    sent.extend_from_slice(&buf[..n]);
                }
                // Segmentation may differ (one write or two): compare as streams.
                assert!(
                    sent.starts_with(&expected),
                    "{label}: client bytes differ:\n{}\nvs\n{}",
                    String::from_utf8_lossy(&sent),
                    String::from_utf8_lossy(&expected)
                );
                checks += 1;
            } else {
                assert_eq!(
                    sent, expected,
                    "{label}: client stream before a server message"
                );
                // Feed the server bytes in two pieces to exercise partial input.
                let mid = m.wire.len() / 2;
                let r1 = c.handle_input(now, &m.wire[..mid]);
                let r2 = r1.and_then(|_| c.handle_input(now, &m.wire[mid..]));
                drain_events(&mut c, &mut seen);
                if let Some(dec) = expected_request(conn, m) {
                    let url = request_url(&dec);
                    let q = url
                        .iter()
                        .position(|&b| b == b'?')
                        .map(|q| url[q + 1..].to_vec());
                    if let Some(q) = q.filter(|_| url.starts_with(b"wtv-passport:/messengerlogin"))
                    {
                        let ans = c
                            .poll_answer()
                            .unwrap_or_else(|| panic!("{label}: no answer"));
                        check_answer(&label, &q, ans, &m.body_plain, &m.wire);
                        checks += 1;
                    } else {
                        assert!(r2.is_ok(), "{label}: fetch input");
                        let st: u16 = String::from_utf8_lossy(&m.wire[..3]).parse().unwrap_or(0);
                        assert_eq!(seen.fetched.take(), Some(st), "{label}: fetch status");
                        assert_eq!(c.fetched_body(), &m.body_plain[..], "{label}: fetched body");
                        checks += 1;
                    }
                }
            }
        }
        let _ = requests;
        if is_stage_two {
            assert!(seen.signed_in, "{label}: signed in after stage two");
            checks += 1;
        }
        if conn.server_closed {
            c.handle_closed(now);
            drain_events(&mut c, &mut seen);
        }
    }
    assert!(seen.signed_in, "{}: never signed in", s.name);
    checks
}

/// Return the decrypted request a server message answers (the last client request before it).
fn expected_request(
    conn: &SessionConn,
    msg: &msntv_testdata::wtvp::SessionMessage,
) -> Option<Vec<u8>> {
    if conn.purpose.starts_with("wtv-head-waiter:/login-stage-two") {
        return None;
    }
    let idx = conn.messages.iter().position(|m| std::ptr::eq(m, msg))?;
    conn.messages[..idx]
        .iter()
        .rev()
        .find(|m| m.c2s)
        .and_then(|m| m.decrypted.clone())
}

fn check_answer(
    label: &str,
    challenge: &[u8],
    ans: Result<LoginAnswer<'_>, LoginError>,
    body: &[u8],
    wire: &[u8],
) {
    let status: u16 = String::from_utf8_lossy(&wire[..3]).parse().unwrap_or(0);
    match ans {
        Ok(LoginAnswer::Md5(a)) => {
            assert!(
                !challenge.starts_with(b"ct="),
                "{label}: md5 for a ct= challenge"
            );
            assert_eq!(&a[..], body, "{label}: md5 answer");
        }
        Ok(LoginAnswer::Ticket(t)) => {
            assert!(
                challenge.starts_with(b"ct="),
                "{label}: ticket for a plain challenge"
            );
            assert_eq!(t, body, "{label}: ticket");
        }
        Err(LoginError::NoAnswer) => assert_eq!(status, 200, "{label}: NoAnswer on a 200 only"),
        Err(LoginError::Server { status: s, .. }) => {
            assert_eq!(s, status, "{label}: server status")
        }
        Err(e) => panic!("{label}: unexpected error {e:?}"),
    }
}

#[test]
fn every_recorded_session_replays_through_the_built_in_client() {
    let sessions = load_sessions(&msntv_testdata::wtvp_transcripts_dir());
    assert!(!sessions.is_empty(), "no sessions");
    let mut total = 0;
    for s in &sessions {
        msntv_messenger::log::capture_start();
        let n = replay(s);
        let log = msntv_messenger::log::capture_take();
        scan_log_for_secrets(s, &log);
        eprintln!("{}: {n} checks", s.name);
        assert!(n > 5, "{}: too few checks", s.name);
        total += n;
    }
    assert!(total > 0);
}

/// Check that no secret of the session appears in the client's log output.
fn scan_log_for_secrets(s: &Session, log: &str) {
    assert!(
        !log.is_empty(),
        "{}: the client logged nothing, the scan would be vacuous",
        s.name
    );
    let mut secrets: Vec<String> = Vec::new();
    for conn in &s.connections {
        for m in &conn.messages {
            let text = String::from_utf8_lossy(&m.wire).to_string();
            for line in text.lines() {
                for name in [
                    "wtv-ticket: ",
                    "wtv-challenge-response: ",
                    "wtv-challenge: ",
                    "wtv-initial-key: ",
                ] {
                    if let Some(v) = line.strip_prefix(name) {
                        secrets.push(v.trim().to_string());
                    }
                }
            }
            if !m.c2s && conn.purpose.contains("messengerlogin") && m.body_plain.len() >= 8 {
                secrets.push(String::from_utf8_lossy(&m.body_plain).to_string());
            }
        }
    }
    assert!(!secrets.is_empty());
    for secret in &secrets {
        // Any 12-character window of a secret is enough to count as a leak.
        let b = secret.as_bytes();
        for w in b.windows(12.min(b.len())) {
            let w = String::from_utf8_lossy(w);
            assert!(
                !log.contains(w.as_ref()),
                "{}: secret fragment {w:?} in the log",
                s.name
            );
        }
    }
}

/// Longest login ticket the production receive buffer is sized for, in bytes: the recorded
/// MSNP8 ticket (`session-E`, 355 bytes) with 44% to spare; a Passport ticket is a few hundred
/// bytes (the delegate transport takes answers of up to 1 KiB).
const TICKET_TARGET: usize = 512;

/// Size `WTVP_RX` from the recordings: the receive buffer holds one partial head line, then
/// one body, so it must take (a) the longest header line the client must accept — a
/// `wtv-ticket` at its cap — and every recorded one, and (b) every body the client keeps
/// (login answers and fetched bodies: the wire form plus, under LZPF, the expanded body after
/// it), including a `TICKET_TARGET`-byte ticket in the recorded ticket's alphabet sent
/// LZPF-compressed with literals only (as the dev service sends it). Bodies of the sign-in
/// steps are skipped, not kept.
#[test]
fn receive_buffer_holds_the_longest_line_and_every_kept_body() {
    use msntv_messenger::client::WTVP_RX;
    use msntv_messenger::wtvp::{client::TICKET_CAP, lzpf};
    let legal_line = "wtv-ticket: \r\n".len() + TICKET_CAP;
    assert!(legal_line <= WTVP_RX, "ticket line of {legal_line} bytes");
    let (mut line, mut body, mut ticket) = (0, 0, Vec::new());
    for s in load_sessions(&msntv_testdata::wtvp_transcripts_dir()) {
        for conn in &s.connections {
            let kept = conn.secure && !conn.purpose.starts_with("wtv-head-waiter:/login-stage-two");
            for m in conn.messages.iter().filter(|m| !m.c2s) {
                let end = m.wire.windows(2).position(|w| w == b"\n\n").expect("head") + 2;
                let head = &m.wire[..end];
                line = line.max(
                    head.split(|&c| c == b'\n')
                        .map(<[u8]>::len)
                        .max()
                        .unwrap_or(0)
                        + 1,
                );
                if kept {
                    let lz = String::from_utf8_lossy(head).contains("\nwtv-lzpf:");
                    let wire = m.wire.len() - end;
                    body = body.max(wire + if lz { m.body_plain.len() } else { 0 });
                }
                if m.body_plain.starts_with(b"t=") && m.body_plain.len() > ticket.len() {
                    ticket = m.body_plain.clone();
                }
            }
        }
    }
    assert!(
        line > 0 && body > 0 && !ticket.is_empty(),
        "nothing measured"
    );
    let target: Vec<u8> = ticket.iter().cycle().take(TICKET_TARGET).copied().collect();
    let mut z = vec![0u8; TICKET_TARGET * 17 / 8 + 6];
    let wire = lzpf::encode_literals(&target, &mut z).expect("encode");
    let target_need = wire + TICKET_TARGET;
    eprintln!(
        "WTVP_RX {WTVP_RX}: longest recorded line {line}, legal ticket line {legal_line}, \
         largest recorded kept body {body} (recorded ticket {} bytes), \
         {TICKET_TARGET}-byte ticket under LZPF {target_need}",
        ticket.len()
    );
    assert!(line <= WTVP_RX && body <= WTVP_RX && target_need <= WTVP_RX);
}
