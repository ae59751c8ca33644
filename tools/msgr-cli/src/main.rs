//! `msgr-cli --server HOST:PORT --user EMAIL (--password PW | --wtvp HOST:PORT --ssid SSID)
//! [--msnp 8,7,6,...] [--script FILE] [--timeout MS] [--idle MS] [--friendly NAME]`
//!
//! Signs in, runs the script (from FILE, or stdin line by line), prints every event as a JSON
//! line on stdout and exits 0 only when every expectation held (1 otherwise, 2 on bad usage).

use msgr_cli::script::parse_line;
use msgr_cli::Runner;
use msntv_messenger::client::{Client, ClientConfig, ClientStorage, LoginMode};
use msntv_messenger::msnp::ns::{version_range, Contact, Group, NsConfig};
use msntv_messenger::msnp::sb::{ConversationSlot, MessageSlot};
use msntv_messenger::wtvp::client::BoxIdentity;
use msntv_messenger::{Duration as CoreDuration, Instant};
use serde_json::json;
use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::Duration;

const USAGE: &str = "usage: msgr-cli --server HOST:PORT --user EMAIL \
(--password PW | --wtvp HOST:PORT --ssid SSID) [--msnp 8,7,6,...] [--script FILE] \
[--timeout MS] [--idle MS] [--friendly NAME]";

/// Identity headers of the built-in WTVP login (an MSN TV 2.x-era classic box).
const BOX_HEADERS: &[(&str, &str)] = &[
    ("wtv-system-version", "7181"),
    ("wtv-client-rom-type", "US-LC2-disk-0MB-8MB"),
];
const PREREGISTER_HEADERS: &[(&str, &str)] = &[("wtv-script-id", "0")];

enum Auth {
    Password(String),
    Wtvp {
        host: String,
        port: u16,
        ssid: String,
    },
}

struct Args {
    server: Option<(String, u16)>,
    user: String,
    auth: Auth,
    versions: u16,
    script: Option<PathBuf>,
    timeout: Duration,
    idle: Option<u64>,
    friendly: Option<String>,
}

fn host_port(v: &str, what: &str) -> Result<(String, u16), String> {
    let (h, p) = v
        .rsplit_once(':')
        .ok_or_else(|| format!("{what} must be HOST:PORT"))?;
    let p = p.parse().map_err(|_| format!("{what}: bad port {p}"))?;
    if h.is_empty() {
        return Err(format!("{what}: empty host"));
    }
    Ok((h.to_string(), p))
}

fn versions(v: &str) -> Result<u16, String> {
    let mut set = 0u16;
    for part in v.split(',') {
        let n: u8 = part
            .trim()
            .trim_start_matches("MSNP")
            .parse()
            .map_err(|_| format!("--msnp: bad version {part}"))?;
        if !(2..=8).contains(&n) {
            return Err(format!("--msnp: MSNP{n} is not supported (2 to 8)"));
        }
        set |= 1 << n;
    }
    Ok(set)
}

fn parse_args() -> Result<Args, String> {
    let mut server = None;
    let mut user = None;
    let mut password = None;
    let mut wtvp = None;
    let mut ssid = None;
    let mut vers = None;
    let mut script = None;
    let mut timeout = 10_000u64;
    let mut idle = None;
    let mut friendly = None;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut val = || it.next().ok_or_else(|| format!("{a} needs a value"));
        let ms = |v: String, what: &str| {
            v.parse::<u64>()
                .map_err(|_| format!("{what}: bad number {v}"))
        };
        match a.as_str() {
            "--server" => server = Some(host_port(&val()?, "--server")?),
            "--user" => user = Some(val()?),
            "--password" => password = Some(val()?),
            "--wtvp" => wtvp = Some(host_port(&val()?, "--wtvp")?),
            "--ssid" => ssid = Some(val()?),
            "--msnp" => vers = Some(versions(&val()?)?),
            "--script" => script = Some(PathBuf::from(val()?)),
            "--timeout" => timeout = ms(val()?, "--timeout")?,
            "--idle" => idle = Some(ms(val()?, "--idle")?),
            "--friendly" => friendly = Some(val()?),
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    let user = user.ok_or_else(|| format!("--user is required\n{USAGE}"))?;
    let auth = match (password, wtvp, ssid) {
        (Some(p), None, None) => Auth::Password(p),
        (None, Some((host, port)), Some(ssid)) => Auth::Wtvp { host, port, ssid },
        _ => {
            return Err(format!(
                "give either --password or both --wtvp and --ssid\n{USAGE}"
            ))
        }
    };
    let password = matches!(auth, Auth::Password(_));
    if server.is_none() && password {
        return Err(format!("--server is required with --password\n{USAGE}"));
    }
    // MSNP8 signs in with Passport tickets (TWN), which only the WTVP login can fetch.
    let msnp8 = 1u16 << 8;
    let versions = match vers {
        Some(v) if password && v & msnp8 != 0 => {
            return Err(format!(
                "--msnp 8 needs a Passport ticket: use --wtvp and --ssid (MD5 --password covers MSNP2-7)\n{USAGE}"
            ))
        }
        Some(v) => v,
        None if password => version_range(2, 7),
        None => version_range(2, 8),
    };
    Ok(Args {
        server,
        user,
        auth,
        versions,
        script,
        timeout: Duration::from_millis(timeout),
        idle,
        friendly,
    })
}

/// Feed script lines into a channel: all of a file at once, or stdin as it is typed.
fn script_lines(path: Option<PathBuf>) -> Result<mpsc::Receiver<String>, String> {
    let (tx, rx) = mpsc::channel();
    match path {
        Some(p) => {
            let text = std::fs::read_to_string(&p)
                .map_err(|e| format!("cannot read {}: {e}", p.display()))?;
            for l in text.lines() {
                let _ = tx.send(l.to_string());
            }
        }
        None => {
            std::thread::spawn(move || {
                for l in std::io::stdin().lock().lines() {
                    let Ok(l) = l else { break };
                    if tx.send(l).is_err() {
                        break;
                    }
                }
            });
        }
    }
    Ok(rx)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let lines = match script_lines(args.script.clone()) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("msgr-cli: {e}");
            return ExitCode::from(2);
        }
    };
    // With WTVP login and no --server, the head-waiter's wtv-messenger-server is used.
    let (host, port, use_service_server) = match &args.server {
        Some((h, p)) => (h.as_str(), *p, false),
        None => ("127.0.0.1", 1863, true),
    };
    let mut ns = NsConfig::new(host, port, &args.user);
    ns.versions = args.versions;
    let login = match &args.auth {
        Auth::Password(p) => LoginMode::Password(p.as_bytes()),
        Auth::Wtvp { host, port, ssid } => LoginMode::Wtvp {
            host,
            port: *port,
            identity: BoxIdentity {
                ssid,
                accept_language: "en-US,en",
                headers: BOX_HEADERS,
                preregister_headers: PREREGISTER_HEADERS,
                first_incarnation: 1,
            },
            use_service_server,
        },
    };
    let mut cfg = ClientConfig::new(ns, login);
    if let Some(ms) = args.idle {
        cfg.idle_after = Some(CoreDuration::from_millis(ms));
    }
    let mut contacts = vec![Contact::EMPTY; 150];
    let mut groups = vec![Group::EMPTY; 30];
    // Room for long names: a PC has memory to spare (the box sizes this tightly).
    let mut names = vec![0u8; 150 * 160 + 30 * 64];
    let mut convs: Vec<ConversationSlot> = (0..8).map(|_| ConversationSlot::default()).collect();
    let mut messages: Vec<MessageSlot> = (0..32).map(|_| MessageSlot::default()).collect();
    let mut message_bytes = vec![0u8; 16384];
    let mut large_frame = vec![0u8; msntv_messenger::msnp::sb::session::RX_CAP];
    let client = match Client::new(
        cfg,
        ClientStorage {
            contacts: &mut contacts,
            groups: &mut groups,
            names: &mut names,
            conversations: &mut convs,
            messages: &mut messages,
            message_bytes: &mut message_bytes,
            large_frame: &mut large_frame,
        },
        Instant::ZERO,
    ) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("msgr-cli: cannot make the client: {e:?}");
            return ExitCode::from(2);
        }
    };
    let stdout = std::io::stdout();
    let mut r = Runner::new(client, &args.user, stdout.lock(), args.timeout);
    if let Some(f) = &args.friendly {
        r.set_friendly_name(f);
    }
    r.sign_in();
    let mut n = 0usize;
    loop {
        // Keep the client running while waiting for the next line (stdin may be a person).
        let mut next = None;
        let mut closed = false;
        while next.is_none() && !closed {
            match lines.try_recv() {
                Ok(l) => next = Some(l),
                Err(mpsc::TryRecvError::Disconnected) => closed = true,
                Err(mpsc::TryRecvError::Empty) => {
                    r.run_while(Duration::from_millis(50), |_| false);
                }
            }
        }
        let Some(line) = next else { break };
        n = n.saturating_add(1);
        match parse_line(&line) {
            Ok(None) => {}
            Ok(Some(cmd)) => {
                r.run_cmd(n, line.trim(), &cmd);
            }
            Err(e) => {
                r.emit(json!({"event":"error","line":n,"command":line.trim(),"error":e}));
                r.count_failure();
            }
        }
    }
    if r.finish() == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
