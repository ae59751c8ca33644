//! The built-in WTVP client against the test service on 127.0.0.1: MD5 answers, tickets (LZPF),
//! the 500 path, the unlinked-account refusal and the passportd timeout.
use msntv_messenger::wtvp::client::{BoxIdentity, WtvpClient, WtvpEvent};
use msntv_messenger::wtvp::headwaiter::RefusalReason;
use msntv_messenger::wtvp::login::{LoginAnswer, LoginError, LoginTransport};
use msntv_messenger::{Duration, Instant};
use msntv_wtvp_service::{issue_ticket, serve, verify_ticket, Account, AccountMode, ServiceConfig};
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Instant as StdInstant;

const HEADERS: &[(&str, &str)] = &[
    ("wtv-system-version", "7181"),
    ("wtv-client-rom-type", "US-LC2-disk-0MB-8MB"),
];

fn start(mode: AccountMode, extra: Vec<(String, String)>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let cfg = ServiceConfig {
        accounts: vec![Account {
            ssid: None,
            email: "rigcharlie".into(),
            domain: "hotmail.com".into(),
            password: "hunter22".into(),
            mode,
        }],
        stage_two_extra: extra,
        ..ServiceConfig::default()
    };
    std::thread::spawn(move || serve(listener, Arc::new(cfg)));
    addr
}

type Client = WtvpClient<'static, [u8; 16384]>;

struct Driver {
    client: Box<Client>,
    sock: Option<TcpStream>,
    t0: StdInstant,
}

impl Driver {
    fn now(&self) -> Instant {
        Instant::from_millis(self.t0.elapsed().as_millis() as u64)
    }

    /// Pump I/O until `done` says stop or `limit` passes.
    fn run(&mut self, limit: std::time::Duration, mut done: impl FnMut(&mut Client) -> bool) {
        let start = StdInstant::now();
        while start.elapsed() < limit {
            let now = self.now();
            while let Some(e) = self.client.poll_event() {
                let stop = match e {
                    WtvpEvent::Connect { host, port } => {
                        let s = TcpStream::connect((host, port)).expect("connect");
                        s.set_read_timeout(Some(std::time::Duration::from_millis(20)))
                            .expect("timeout");
                        self.sock = Some(s);
                        self.client.handle_connected(now).expect("connected");
                        false
                    }
                    WtvpEvent::Disconnect => {
                        self.sock = None;
                        false
                    }
                    WtvpEvent::SignInFailed(e) => panic!("sign-in failed: {e:?}"),
                    _ => false,
                };
                if stop {
                    return;
                }
            }
            let mut buf = [0u8; 4096];
            let n = self.client.poll_transmit(&mut buf);
            if let (true, Some(s)) = (n > 0, self.sock.as_mut()) {
                s.write_all(&buf[..n]).expect("write");
            }
            if let Some(s) = self.sock.as_mut() {
                match s.read(&mut buf) {
                    Ok(0) => {
                        self.sock = None;
                        self.client.handle_closed(now);
                    }
                    Ok(k) => {
                        let _ = self.client.handle_input(now, &buf[..k]);
                    }
                    Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                    Err(e) => panic!("read: {e}"),
                }
            } else {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            if self.client.poll_timeout().is_some_and(|d| d <= self.now()) {
                let now = self.now();
                self.client.handle_timeout(now);
            }
            if done(&mut self.client) {
                return;
            }
        }
        panic!("driver limit reached");
    }
}

fn signed_in_driver(addr: SocketAddr) -> Driver {
    let id = BoxIdentity {
        ssid: "81BEEF0110B00270",
        accept_language: "en-US,en",
        headers: HEADERS,
        preregister_headers: &[("wtv-script-id", "0")],
        first_incarnation: 1,
    };
    let mut d = Driver {
        client: Box::new(WtvpClient::new(id)),
        sock: None,
        t0: StdInstant::now(),
    };
    let now = d.now();
    // The client borrows the first address for its life (the driver's client is 'static).
    let host: &'static str = Box::leak(addr.ip().to_string().into_boxed_str());
    d.client.sign_in(now, host, addr.port()).expect("sign_in");
    d.run(std::time::Duration::from_secs(10), |c| c.is_signed_in());
    d
}

fn answer(d: &mut Driver, challenge: &[u8], limit_s: u64) -> Result<Vec<u8>, LoginError> {
    let now = d.now();
    d.client.request_answer(now, challenge).expect("request");
    let mut out = None;
    d.run(std::time::Duration::from_secs(limit_s), |c| {
        match c.poll_answer() {
            Some(r) => {
                out = Some(r.map(|a| match a {
                    LoginAnswer::Md5(m) => m.to_vec(),
                    LoginAnswer::Ticket(t) => t.to_vec(),
                }));
                true
            }
            None => false,
        }
    });
    out.expect("answer")
}

#[test]
fn md5_answer_over_secure_on() {
    let addr = start(AccountMode::Normal, vec![]);
    let mut d = signed_in_driver(addr);
    let cfg = d.client.config().expect("config").clone();
    assert_eq!(cfg.check_sign_in_allowed(), Ok(()));
    assert_eq!(
        cfg.user_name.map(|u| u.as_str().to_string()),
        Some("rigcharlie".to_string())
    );
    let a = answer(&mut d, b"1013928519.693957190", 10).expect("md5");
    assert_eq!(
        a,
        msntv_messenger::auth::md5_login_response(b"1013928519.693957190", b"hunter22").to_vec()
    );
    // A second request reuses the open SECURE connection (RC4 streams run on).
    let b = answer(&mut d, b"1111111111.222222222", 10).expect("md5 again");
    assert_eq!(
        b,
        msntv_messenger::auth::md5_login_response(b"1111111111.222222222", b"hunter22").to_vec()
    );
}

#[test]
fn ticket_answer_is_accepted_by_verify_ticket() {
    let addr = start(AccountMode::Normal, vec![]);
    let mut d = signed_in_driver(addr);
    let t = answer(&mut d, b"ct=1062764231,rver=5.5.4177.0,lc=1033,id=507", 10).expect("ticket");
    let t = String::from_utf8(t).expect("ascii");
    assert_eq!(
        t,
        issue_ticket("rigcharlie@hotmail.com", b"msntv-dev-secret")
    );
    assert!(verify_ticket(
        &t,
        "rigcharlie@hotmail.com",
        b"msntv-dev-secret"
    ));
}

#[test]
fn server_500_is_a_typed_error_with_the_message() {
    let addr = start(AccountMode::Fail500, vec![]);
    let mut d = signed_in_driver(addr);
    match answer(&mut d, b"1013928519.693957190", 10) {
        Err(LoginError::Server {
            status: 500,
            message,
        }) => {
            assert_eq!(
                message.as_str(),
                "MSN TV ran into a technical problem. Please try again."
            )
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn unlinked_account_is_refused_and_200_ok_body_is_no_answer() {
    let addr = start(AccountMode::Unlinked, vec![]);
    let mut d = signed_in_driver(addr);
    assert_eq!(
        d.client.config().map(|c| c.check_sign_in_allowed()),
        Some(Err(RefusalReason::NotAuthorized))
    );
    assert_eq!(
        answer(&mut d, b"1013928519.693957190", 10),
        Err(LoginError::NoAnswer)
    );
}

#[test]
fn silent_server_ends_with_the_passportd_timeout() {
    let extra = vec![(
        "wtv-messenger-passportd-timeout".to_string(),
        "1".to_string(),
    )];
    let addr = start(AccountMode::Silent, extra);
    let mut d = signed_in_driver(addr);
    assert_eq!(
        d.client.config().map(|c| c.passportd_timeout),
        Some(Duration::from_secs(1))
    );
    assert_eq!(
        answer(&mut d, b"ct=1,lc=1033", 10),
        Err(LoginError::Timeout)
    );
}
