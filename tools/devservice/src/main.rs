//! `msntv-devservice [--config FILE] [--ns-port 1863] [--sb-port 1864] [--wtvp-port 1615]
//! [--state FILE]`
//!
//! Runs the MSNP dev server and the WTVP service in one process on 127.0.0.1 and prints
//! `listening ns=127.0.0.1:P sb=127.0.0.1:P wtvp=127.0.0.1:P` as its first stdout line (ports 0
//! pick free ports). Without `--config` it uses the built-in example accounts; without `--state`
//! the state lives next to the config as `<config stem>.state.json` (the built-in accounts keep
//! no state unless `--state` is given).

use msntv_devservice::{parse_config, read_config, start, Ports};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "usage: msntv-devservice [--config FILE] [--ns-port 1863] [--sb-port 1864] \
                     [--wtvp-port 1615] [--state FILE]";

/// The example accounts, used when no `--config` is given.
const BUILT_IN: &str = include_str!("../examples/accounts.json");

struct Args {
    config: Option<PathBuf>,
    ports: Ports,
    state: Option<PathBuf>,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        config: None,
        ports: Ports {
            ns: 1863,
            sb: 1864,
            wtvp: 1615,
        },
        state: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut val = || it.next().ok_or_else(|| format!("{arg} needs a value"));
        let port = |v: String, name: &str| v.parse::<u16>().map_err(|e| format!("{name}: {e}"));
        match arg.as_str() {
            "--config" => a.config = Some(PathBuf::from(val()?)),
            "--state" => a.state = Some(PathBuf::from(val()?)),
            "--ns-port" => a.ports.ns = port(val()?, "--ns-port")?,
            "--sb-port" => a.ports.sb = port(val()?, "--sb-port")?,
            "--wtvp-port" => a.ports.wtvp = port(val()?, "--wtvp-port")?,
            "--bind" | "--host" => {
                let v = val()?;
                if v != "127.0.0.1" && v != "localhost" {
                    return Err(format!(
                        "refusing to bind {v}: the dev service listens on 127.0.0.1 only"
                    ));
                }
            }
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    Ok(a)
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
    let cfg = match &args.config {
        Some(p) => read_config(p),
        None => parse_config(BUILT_IN),
    };
    let cfg = match cfg {
        Ok(c) => c,
        Err(e) => {
            eprintln!("msntv-devservice: {e}");
            return ExitCode::from(1);
        }
    };
    let state = args.state.or_else(|| {
        let config = args.config.as_ref()?;
        let stem = config.file_stem()?.to_str()?;
        Some(config.with_file_name(format!("{stem}.state.json")))
    });
    let svc = match start(cfg, args.ports, state).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("msntv-devservice: {e}");
            return ExitCode::from(1);
        }
    };
    println!("{}", svc.banner());
    let _ = std::io::stdout().flush();
    // Serve until killed.
    std::future::pending::<()>().await;
    ExitCode::SUCCESS
}
