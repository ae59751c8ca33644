//! End to end: `msgr-cli` processes talk to each other through the combined dev service
//! (in-process, 127.0.0.1, ports picked by the OS, no state file).
//!
//! Three clients run scripts at once: alice and bob see each other online (bob adds alice, she
//! gets `added-by` and allows him), chat both ways with `delivered` outcomes, exchange typing
//! notifications, alice blocks bob (he sees her offline and cannot reach her) and allows him
//! again; carol's IMS idle timer switches messaging off, so alice's new conversation with her
//! fails; alice signs out and the others see her offline. In the WTVP run carol gives no
//! `--server`: her client takes the NS from the head-waiter's `wtv-messenger-server`. Once with MSNP8 through the built-in
//! WTVP messengerlogin (TWN tickets), once with MSNP6 and MD5. Every client is a child process
//! stopped by PID if it outlives the test's time limit.
use msntv_devservice::{parse_config, start, DevService, Ports};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

const ACCOUNTS: &str = r#"{
  "settings": { "ticket_secret": "e2e-secret" },
  "accounts": [
    { "email": "alice@example.com", "password": "alice123", "friendly_name": "Alice",
      "contacts": [ { "email": "bob@example.com", "lists": ["FL"] },
                    { "email": "carol@example.com", "lists": ["FL", "AL"] } ] },
    { "email": "bob@example.com", "password": "bob123", "friendly_name": "Bob",
      "contacts": [ { "email": "alice@example.com", "lists": ["AL"] } ] },
    { "email": "carol@example.com", "password": "carol123", "friendly_name": "Carol",
      "contacts": [ { "email": "alice@example.com", "lists": ["FL", "AL"] } ] }
  ],
  "boxes": [
    { "ssid": "81BEEF0110B00270", "passport": "alice@example.com" },
    { "ssid": "81BEEF0110B00271", "passport": "bob@example.com" },
    { "ssid": "81BEEF0110B00272", "passport": "carol@example.com" }
  ]
}"#;

const ALICE: &str = "
expect signed-in
expect online bob@example.com
expect online carol@example.com
# bob adds alice: answer 'added you' by allowing him
expect added-by bob@example.com
allow bob@example.com
list
send bob@example.com hello bob, from alice
expect delivered
expect message bob@example.com hi alice, from bob
typing bob@example.com
expect typing bob@example.com
# block bob: he sees alice offline and cannot open a conversation; then allow him again
block bob@example.com
wait 2000
allow bob@example.com
# carol has been idle for longer than her --idle period: IMS is off, so this fails
wait 1000
send carol@example.com are you there?
expect failed
signout
";

const BOB: &str = "
expect signed-in
add FL alice@example.com
expect online alice@example.com
expect message alice@example.com hello bob, from alice
send alice@example.com hi alice, from bob
expect delivered
expect typing alice@example.com
typing alice@example.com
wait 300
leave alice@example.com
expect offline alice@example.com
send alice@example.com let me in
expect failed
expect online alice@example.com
expect offline alice@example.com
";

const CAROL: &str = "
expect signed-in
expect online alice@example.com
expect ims off
expect offline alice@example.com
";

fn service() -> (tokio::runtime::Runtime, DevService) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let cfg = parse_config(ACCOUNTS).expect("accounts");
    let svc = rt
        .block_on(start(
            cfg,
            Ports {
                ns: 0,
                sb: 0,
                wtvp: 0,
            },
            None,
        ))
        .expect("service");
    (rt, svc)
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("msgr-cli-e2e-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).expect("scratch dir");
    d
}

/// One client to run: its name (for files), arguments and script.
struct Spec {
    name: &'static str,
    args: Vec<String>,
    script: &'static str,
}

struct Done {
    name: &'static str,
    status: Option<ExitStatus>,
    stdout: String,
}

/// Run every client at once; children still running after `limit` are killed by PID.
fn run_all(dir: &Path, specs: Vec<Spec>, limit: Duration) -> Vec<Done> {
    let mut running: Vec<(&'static str, Child, PathBuf)> = Vec::new();
    for s in specs {
        let script = dir.join(format!("{}.txt", s.name));
        std::fs::write(&script, s.script).expect("script");
        let out = dir.join(format!("{}.jsonl", s.name));
        let child = Command::new(env!("CARGO_BIN_EXE_msgr-cli"))
            .args(&s.args)
            .arg("--script")
            .arg(&script)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out).expect("out"))
            .spawn()
            .expect("spawn msgr-cli");
        running.push((s.name, child, out));
    }
    let end = Instant::now() + limit;
    let mut statuses: Vec<Option<ExitStatus>> = vec![None; running.len()];
    while Instant::now() < end && statuses.iter().any(Option::is_none) {
        for (i, (_, child, _)) in running.iter_mut().enumerate() {
            if statuses[i].is_none() {
                statuses[i] = child.try_wait().expect("try_wait");
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    running
        .into_iter()
        .zip(statuses)
        .map(|((name, mut child, out), status)| {
            if status.is_none() {
                let _ = child.kill();
                let _ = child.wait();
            }
            Done {
                name,
                status,
                stdout: std::fs::read_to_string(out).unwrap_or_default(),
            }
        })
        .collect()
}

fn events(out: &str) -> Vec<serde_json::Value> {
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l:?}: {e}")))
        .collect()
}

fn has(evs: &[serde_json::Value], want: &[(&str, &str)]) -> bool {
    evs.iter().any(|e| {
        want.iter()
            .all(|(k, v)| e.get(*k).and_then(|x| x.as_str()) == Some(*v))
    })
}

fn check_run(done: &[Done], version: u64, ns_port: u16) {
    let report: String = done
        .iter()
        .map(|d| format!("--- {} ({:?})\n{}", d.name, d.status, d.stdout))
        .collect();
    for d in done {
        assert!(
            d.status.is_some_and(|s| s.success()),
            "{} did not succeed\n{report}",
            d.name
        );
        let evs = events(&d.stdout);
        let ok = evs.iter().filter(|e| e["event"] == "expect-ok").count();
        assert!(ok >= 4, "{}: only {ok} expectations\n{report}", d.name);
        assert!(
            !evs.iter().any(|e| e["event"] == "expect-failed"),
            "{report}"
        );
        assert!(
            evs.iter()
                .any(|e| e["event"] == "version" && e["version"] == version),
            "{}: MSNP{version} not negotiated\n{report}",
            d.name
        );
        assert_eq!(evs.last().map(|e| e["event"].clone()), Some("done".into()));
        assert!(
            evs.iter()
                .any(|e| e["event"] == "connect" && e["conn"] == "ns" && e["port"] == ns_port),
            "{}: never connected to the service's NS\n{report}",
            d.name
        );
    }
    let alice = events(&done[0].stdout);
    let bob = events(&done[1].stdout);
    let carol = events(&done[2].stdout);
    assert!(has(
        &alice,
        &[("event", "added-by"), ("passport", "bob@example.com")]
    ));
    assert!(has(
        &alice,
        &[("event", "contact"), ("passport", "bob@example.com")]
    ));
    assert!(has(
        &bob,
        &[("event", "message"), ("text", "hello bob, from alice")]
    ));
    assert!(has(
        &alice,
        &[
            ("event", "outcome"),
            ("outcome", "failed"),
            ("reason", "contact-offline")
        ]
    ));
    assert!(has(&bob, &[("event", "outcome"), ("outcome", "failed")]));
    assert!(has(&carol, &[("event", "ims"), ("by", "idle-timer")]));
    assert!(has(&alice, &[("event", "signed-out")]));
}

fn specs(version: &str, wtvp: Option<&str>, ns: &str) -> Vec<Spec> {
    let who = [
        ("alice", "alice123", "81BEEF0110B00270", ALICE, None),
        ("bob", "bob123", "81BEEF0110B00271", BOB, None),
        ("carol", "carol123", "81BEEF0110B00272", CAROL, Some("1500")),
    ];
    who.into_iter()
        .map(|(name, pw, ssid, script, idle)| {
            let mut args: Vec<String> = Vec::new();
            // Carol's WTVP login leaves out --server: the head-waiter names the NS.
            if wtvp.is_none() || name != "carol" {
                args.extend(["--server".into(), ns.into()]);
            }
            args.extend([
                "--user".into(),
                format!("{name}@example.com"),
                "--msnp".into(),
                version.into(),
                "--timeout".into(),
                "15000".into(),
            ]);
            match wtvp {
                Some(w) => args.extend(["--wtvp".into(), w.into(), "--ssid".into(), ssid.into()]),
                None => args.extend(["--password".into(), pw.into()]),
            }
            if let Some(ms) = idle {
                args.extend(["--idle".into(), ms.into()]);
            }
            Spec { name, args, script }
        })
        .collect()
}

#[test]
fn msnp8_through_wtvp_messengerlogin() {
    let (_rt, svc) = service();
    let dir = scratch("msnp8");
    let done = run_all(
        &dir,
        specs("8", Some(&svc.wtvp.to_string()), &svc.ns.to_string()),
        Duration::from_secs(90),
    );
    check_run(&done, 8, svc.ns.port());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn msnp6_with_md5() {
    let (_rt, svc) = service();
    let dir = scratch("msnp6");
    let done = run_all(
        &dir,
        specs("6", None, &svc.ns.to_string()),
        Duration::from_secs(90),
    );
    check_run(&done, 6, svc.ns.port());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn failed_expectation_gives_nonzero_exit() {
    let (_rt, svc) = service();
    let dir = scratch("fail");
    let spec = Spec {
        name: "bob",
        args: vec![
            "--server".into(),
            svc.ns.to_string(),
            "--user".into(),
            "bob@example.com".into(),
            "--password".into(),
            "bob123".into(),
            "--timeout".into(),
            "800".into(),
        ],
        script: "expect signed-in\nexpect message alice@example.com never sent\n",
    };
    let done = run_all(&dir, vec![spec], Duration::from_secs(30));
    let d = &done[0];
    assert_eq!(d.status.and_then(|s| s.code()), Some(1), "{}", d.stdout);
    let evs = events(&d.stdout);
    assert!(has(
        &evs,
        &[("event", "expect-ok"), ("expect", "expect signed-in")]
    ));
    assert!(
        has(&evs, &[("event", "expect-failed"), ("reason", "timeout")]),
        "{}",
        d.stdout
    );
    assert!(evs
        .iter()
        .any(|e| e["event"] == "done" && e["failures"] == 1));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn wrong_password_and_bad_lines_fail() {
    let (_rt, svc) = service();
    let dir = scratch("badpw");
    let base = |pw: &str| {
        vec![
            "--server".into(),
            svc.ns.to_string(),
            "--user".into(),
            "carol@example.com".into(),
            "--password".into(),
            pw.to_string(),
            "--msnp".into(),
            "7".into(),
        ]
    };
    let done = run_all(
        &dir,
        vec![
            Spec {
                name: "wrongpw",
                args: base("not-her-password"),
                script: "expect signed-in\n",
            },
            Spec {
                name: "badline",
                args: base("carol123"),
                script: "expect signed-in\nfly to the moon\n",
            },
        ],
        Duration::from_secs(30),
    );
    for d in &done {
        assert_eq!(d.status.and_then(|s| s.code()), Some(1), "{}", d.stdout);
    }
    let wrong = events(&done[0].stdout);
    assert!(
        has(&wrong, &[("event", "login-failed")]),
        "{}",
        done[0].stdout
    );
    assert!(has(&wrong, &[("event", "expect-failed")]));
    let bad = events(&done[1].stdout);
    assert!(has(
        &bad,
        &[("event", "error"), ("command", "fly to the moon")]
    ));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        vec!["--user", "a@b.c"],
        vec!["--server", "127.0.0.1:1", "--user", "a@b.c"],
        vec![
            "--server",
            "127.0.0.1:1",
            "--user",
            "a@b.c",
            "--password",
            "x",
            "--msnp",
            "9",
        ],
        vec![
            "--server",
            "127.0.0.1:1",
            "--user",
            "a@b.c",
            "--password",
            "x",
            "--msnp",
            "7,8",
        ],
        vec!["--server", "nowhere", "--user", "a@b.c", "--password", "x"],
        vec![
            "--server",
            "127.0.0.1:1",
            "--user",
            "a@b.c",
            "--wtvp",
            "127.0.0.1:2",
        ],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_msgr-cli"))
            .args(&args)
            .stdin(Stdio::null())
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
}
