//! The `msntv-devservice` binary: banner line with three 127.0.0.1 ports, an NS that answers
//! `VER`, a WTVP service that answers, a state file written; stopped by PID.
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

#[test]
fn binary_prints_ports_serves_and_persists() {
    let dir = std::env::temp_dir().join(format!("msntv-devservice-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let state = dir.join("state.json");
    let _ = std::fs::remove_file(&state);
    let mut child = Command::new(env!("CARGO_BIN_EXE_msntv-devservice"))
        .args([
            "--ns-port",
            "0",
            "--sb-port",
            "0",
            "--wtvp-port",
            "0",
            "--state",
        ])
        .arg(&state)
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    let pid = child.id();
    let mut line = String::new();
    let stdout = child.stdout.take().expect("stdout");
    BufReader::new(stdout).read_line(&mut line).expect("banner");
    let addr = |key: &str| -> String {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(key))
            .unwrap_or_else(|| panic!("{key} in {line:?}"))
            .to_string()
    };
    let (ns, sb, wtvp) = (addr("ns="), addr("sb="), addr("wtvp="));
    assert!(line.starts_with("listening "), "{line:?}");
    for a in [&ns, &sb, &wtvp] {
        assert!(a.starts_with("127.0.0.1:"), "{a}");
    }

    let mut s = TcpStream::connect(&ns).expect("ns");
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    s.write_all(b"VER 1 MSNP8 CVR0\r\n").expect("write");
    let mut buf = [0u8; 64];
    let n = s.read(&mut buf).expect("read");
    assert!(buf[..n].starts_with(b"VER 1 MSNP8"), "{:?}", &buf[..n]);

    let mut w = TcpStream::connect(&wtvp).expect("wtvp");
    w.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    w.write_all(b"GET wtv-1800:/preregister\r\nwtv-client-serial-number: 81BEEF0110B00270\r\n\r\n")
        .expect("write");
    let mut got = Vec::new();
    while !got.windows(2).any(|x| x == b"\n\n") {
        let n = w.read(&mut buf).expect("read");
        assert!(n > 0, "WTVP closed early");
        got.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("200 OK"), "{text}");
    assert!(text.contains("wtv-initial-key:"), "{text}");

    assert!(state.exists(), "state file written at start");
    // Stop it by PID (SIGTERM).
    Command::new("kill")
        .arg(pid.to_string())
        .status()
        .expect("kill");
    let status = child.wait().expect("wait");
    assert!(!status.success(), "killed, not exited: {status:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
