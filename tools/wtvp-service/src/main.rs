//! Run the WTVP test service: `msntv-wtvp-service [addr] [ssid email domain password]`.
use msntv_wtvp_service::{serve, Account, AccountMode, ServiceConfig};
use std::net::TcpListener;
use std::sync::Arc;

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let addr = args
        .get(1)
        .cloned()
        .unwrap_or_else(|| "127.0.0.1:1615".to_string());
    let mut cfg = ServiceConfig::default();
    if let [_, _, ssid, email, domain, password, ..] = &args[..] {
        cfg.accounts.push(Account {
            ssid: Some(ssid.clone()),
            email: email.clone(),
            domain: domain.clone(),
            password: password.clone(),
            mode: AccountMode::Normal,
        });
    }
    let listener = TcpListener::bind(&addr)?;
    eprintln!("wtvp-service listening on {}", listener.local_addr()?);
    serve(listener, Arc::new(cfg))
}
