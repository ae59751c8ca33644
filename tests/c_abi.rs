//! The C ABI test (`tests/c/abi_test.c`) on the host: builds the core's static library with the
//! `test-hooks` feature (its own target directory, so it never races the outer build), compiles
//! the C test with the system `gcc` as strict C99 against `include/`, runs it, and asserts that
//! it passed. The same C file runs on the QEMU guest (`ci/qemu-test`, firmware `c-abi-test`).

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run(cmd: &mut Command, what: &str) -> std::process::Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot start: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Build `libmsntv_messenger.a` for the host with `test-hooks`; return its path.
fn host_staticlib(target_dir: &Path) -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    run(
        Command::new(cargo)
            .current_dir(root())
            .args(["build", "-q", "-p", "msntv-messenger", "--lib"])
            .args(["--features", "test-hooks", "--target-dir"])
            .arg(target_dir),
        "cargo build (host staticlib, test-hooks)",
    );
    target_dir.join("debug/libmsntv_messenger.a")
}

#[test]
fn c_abi_test_passes_on_the_host() {
    let root = root();
    let work = root.join("target/c-abi");
    std::fs::create_dir_all(&work).expect("create target/c-abi");
    let lib = host_staticlib(&work);
    let exe = work.join("abi_test");
    run(
        Command::new("gcc")
            .current_dir(&root)
            .args([
                "-std=c99",
                "-Wall",
                "-Wextra",
                "-Werror",
                "-pedantic",
                "-O1",
            ])
            .args(["-DMSGR_TEST_HOOKS", "-Iinclude", "-Itests/c"])
            .args(["tests/c/abi_test.c", "tests/c/host_main.c"])
            .arg(&lib)
            .args(["-lpthread", "-ldl", "-lm", "-o"])
            .arg(&exe),
        "gcc (C ABI test)",
    );
    // The forced panic prints Rust's panic message on stderr; the backtrace is noise.
    let out = Command::new(&exe)
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("run the C ABI test");
    let stdout = String::from_utf8_lossy(&out.stdout);
    print!("{stdout}");
    let summary = stdout
        .lines()
        .find_map(|l| l.strip_prefix("c-abi: ").filter(|s| s.ends_with(" failed")))
        .unwrap_or_else(|| {
            panic!(
                "no summary line; stderr:\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    let (passed, failed) = summary
        .split_once(" passed, ")
        .and_then(|(p, f)| {
            Some((
                p.parse::<u32>().ok()?,
                f.strip_suffix(" failed")?.parse::<u32>().ok()?,
            ))
        })
        .unwrap_or_else(|| panic!("bad summary line {summary:?}"));
    assert!(out.status.success(), "the C ABI test failed: {summary}");
    assert_eq!(failed, 0, "{summary}");
    assert!(passed > 500, "too few checks ran: {summary}");
}
