//! `msntv-devserver --config FILE [--ns-port 1863] [--sb-port 1864] [--state FILE]`
//!
//! Binds 127.0.0.1 only and prints `listening ns=127.0.0.1:PORT sb=127.0.0.1:PORT` as its first
//! line (ports 0 pick free ports). Without `--state` the state lives next to the config file as
//! `<config stem>.state.json`.

use msntv_devserver::{store, Server, ServerConfig};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str =
    "usage: msntv-devserver --config FILE [--ns-port 1863] [--sb-port 1864] [--state FILE]";

struct Args {
    config: PathBuf,
    ns_port: u16,
    sb_port: u16,
    state: Option<PathBuf>,
}

fn parse_args() -> Result<Args, String> {
    let mut config = None;
    let mut ns_port = 1863;
    let mut sb_port = 1864;
    let mut state = None;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut val = || it.next().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--config" => config = Some(PathBuf::from(val()?)),
            "--state" => state = Some(PathBuf::from(val()?)),
            "--ns-port" => ns_port = val()?.parse().map_err(|e| format!("--ns-port: {e}"))?,
            "--sb-port" => sb_port = val()?.parse().map_err(|e| format!("--sb-port: {e}"))?,
            "--bind" | "--host" => {
                let v = val()?;
                if v != "127.0.0.1" && v != "localhost" {
                    return Err(format!(
                        "refusing to bind {v}: the dev server listens on 127.0.0.1 only"
                    ));
                }
            }
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    let config = config.ok_or_else(|| USAGE.to_string())?;
    Ok(Args {
        config,
        ns_port,
        sb_port,
        state,
    })
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let db = match store::read_db(&args.config) {
        Ok(db) => db,
        Err(e) => {
            eprintln!("msntv-devserver: {e}");
            return ExitCode::from(1);
        }
    };
    let state = args.state.unwrap_or_else(|| {
        let stem = args
            .config
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("devserver");
        args.config.with_file_name(format!("{stem}.state.json"))
    });
    let cfg = ServerConfig {
        db,
        ns_port: args.ns_port,
        sb_port: args.sb_port,
        state_path: Some(state),
        verifier: None,
    };
    let server = match Server::bind(cfg).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("msntv-devserver: {e}");
            return ExitCode::from(1);
        }
    };
    println!("listening ns={} sb={}", server.ns_addr(), server.sb_addr());
    let _ = std::io::stdout().flush();
    server.run().await;
    ExitCode::SUCCESS
}
