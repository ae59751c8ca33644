//! The `msntv-devserver` binary: first output line, loopback-only binding, state file.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

fn config() -> String {
    format!(
        "{}/examples/escargot-accounts.json",
        env!("CARGO_MANIFEST_DIR")
    )
}

#[test]
fn binary_prints_ports_and_serves_ns() {
    let dir = std::env::temp_dir().join(format!("msntv-devserver-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp");
    let state = dir.join("s.json");
    let mut child = Command::new(env!("CARGO_BIN_EXE_msntv-devserver"))
        .args([
            "--config",
            &config(),
            "--ns-port",
            "0",
            "--sb-port",
            "0",
            "--state",
        ])
        .arg(&state)
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut first = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut first)
        .expect("first line");
    let ns = first
        .trim()
        .strip_prefix("listening ns=")
        .and_then(|r| r.split(' ').next())
        .expect("listening line")
        .to_string();
    assert!(ns.starts_with("127.0.0.1:"), "{first}");
    assert!(first.contains(" sb=127.0.0.1:"), "{first}");
    let mut s = TcpStream::connect(&ns).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    s.write_all(b"VER 1 MSNP8 MSNP7 CVR0\r\n").expect("write");
    let mut buf = [0u8; 64];
    let n = s.read(&mut buf).expect("read");
    assert_eq!(&buf[..n], b"VER 1 MSNP8\r\n");
    assert!(state.exists(), "state file written at start");
    child.kill().expect("kill by pid");
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn binary_refuses_non_loopback_and_bad_usage() {
    let out = Command::new(env!("CARGO_BIN_EXE_msntv-devserver"))
        .args(["--config", &config(), "--bind", "0.0.0.0"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("127.0.0.1 only"));
    let out = Command::new(env!("CARGO_BIN_EXE_msntv-devserver"))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let out = Command::new(env!("CARGO_BIN_EXE_msntv-devserver"))
        .args(["--config", "/nonexistent/accounts.json"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
}
