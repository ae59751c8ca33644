//! Tokio I/O: the NS and SB listeners (127.0.0.1 only), one task per connection, and a timer task.

use crate::auth::{SecretTicketVerifier, TicketVerifier};
use crate::codec::FrameReader;
use crate::hub::{Hub, Out, Role};
use crate::store::{DbFile, Store, StoreError};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc::unbounded_channel;

/// How to start a server.
pub struct ServerConfig {
    /// Settings and accounts (the accounts are replaced by the state file's when it exists).
    pub db: DbFile,
    /// NS port on 127.0.0.1 (0 picks a free port).
    pub ns_port: u16,
    /// SB port on 127.0.0.1 (0 picks a free port).
    pub sb_port: u16,
    /// State file: loaded at start if present, rewritten atomically after every change.
    pub state_path: Option<PathBuf>,
    /// TWN ticket check; defaults to [`SecretTicketVerifier`] with the configured secret.
    pub verifier: Option<Arc<dyn TicketVerifier>>,
}

/// Error starting the server.
#[derive(Debug)]
pub enum StartError {
    /// Account data could not be loaded.
    Store(StoreError),
    /// A listener could not be bound.
    Bind(std::io::Error),
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartError::Store(e) => write!(f, "{e}"),
            StartError::Bind(e) => write!(f, "cannot bind: {e}"),
        }
    }
}

impl std::error::Error for StartError {}

/// A bound, not yet running server.
pub struct Server {
    ns: TcpListener,
    sb: TcpListener,
    hub: Arc<Mutex<Hub>>,
}

fn lock(hub: &Mutex<Hub>) -> MutexGuard<'_, Hub> {
    hub.lock().unwrap_or_else(|e| e.into_inner())
}

static NEXT_CONN: AtomicU64 = AtomicU64::new(1);

impl Server {
    /// Load the accounts (state file first, else the config) and bind both listeners.
    pub async fn bind(cfg: ServerConfig) -> Result<Self, StartError> {
        let accounts = match &cfg.state_path {
            Some(p) if p.exists() => {
                crate::store::read_db(p)
                    .map_err(StartError::Store)?
                    .accounts
            }
            _ => cfg.db.accounts.clone(),
        };
        let store = Store::from_files(&accounts).map_err(StartError::Store)?;
        let ns = TcpListener::bind((Ipv4Addr::LOCALHOST, cfg.ns_port))
            .await
            .map_err(StartError::Bind)?;
        let sb = TcpListener::bind((Ipv4Addr::LOCALHOST, cfg.sb_port))
            .await
            .map_err(StartError::Bind)?;
        let sb_addr = sb.local_addr().map_err(StartError::Bind)?;
        let verifier = cfg.verifier.unwrap_or_else(|| {
            Arc::new(SecretTicketVerifier::new(
                cfg.db.settings.ticket_secret.clone(),
            ))
        });
        let mut hub = Hub::new(
            store,
            cfg.db.settings,
            verifier,
            sb_addr.to_string(),
            cfg.state_path.clone(),
        );
        if cfg.state_path.is_some_and(|p| !p.exists()) {
            hub.mark_dirty();
            hub.save_if_dirty();
        }
        Ok(Self {
            ns,
            sb,
            hub: Arc::new(Mutex::new(hub)),
        })
    }

    /// Return the NS listening address.
    pub fn ns_addr(&self) -> SocketAddr {
        self.ns
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
    }

    /// Return the SB listening address.
    pub fn sb_addr(&self) -> SocketAddr {
        self.sb
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
    }

    /// Return a handle to the shared state (for inspection in tests).
    pub fn hub(&self) -> Arc<Mutex<Hub>> {
        self.hub.clone()
    }

    /// Accept connections until the task is dropped.
    pub async fn run(self) {
        let hub = self.hub.clone();
        tokio::spawn(async move {
            let mut iv = tokio::time::interval(Duration::from_millis(250));
            loop {
                iv.tick().await;
                let mut h = lock(&hub);
                h.tick(Instant::now());
                h.save_if_dirty();
            }
        });
        tokio::join!(
            accept_loop(self.ns, Role::Ns, self.hub.clone()),
            accept_loop(self.sb, Role::Sb, self.hub)
        );
    }
}

async fn accept_loop(listener: TcpListener, role: Role, hub: Arc<Mutex<Hub>>) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                tokio::spawn(serve(stream, peer, role, hub.clone()));
            }
            Err(e) => {
                eprintln!("msntv-devserver: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

async fn serve(stream: TcpStream, peer: SocketAddr, role: Role, hub: Arc<Mutex<Hub>>) {
    let id = NEXT_CONN.fetch_add(1, Ordering::Relaxed);
    let (tx, mut rx) = unbounded_channel();
    lock(&hub).open(id, role, tx, peer);
    let _ = stream.set_nodelay(true);
    let (mut rd, mut wr) = stream.into_split();
    let mut reader = FrameReader::new();
    let mut buf = vec![0u8; 8192];
    loop {
        tokio::select! {
            biased;
            out = rx.recv() => match out {
                Some(Out::Data(b)) => {
                    if wr.write_all(&b).await.is_err() {
                        break;
                    }
                }
                Some(Out::Close) | None => {
                    let _ = wr.shutdown().await;
                    break;
                }
            },
            n = rd.read(&mut buf) => {
                let n = match n {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                reader.push(buf.get(..n).unwrap_or_default());
                let mut h = lock(&hub);
                loop {
                    match reader.next_frame() {
                        Ok(Some(f)) => {
                            h.frame(id, role, f, Instant::now());
                            if h.is_closing(id) {
                                break;
                            }
                        }
                        Ok(None) => break,
                        Err(e) => {
                            h.codec_error(id, e);
                            break;
                        }
                    }
                }
                h.save_if_dirty();
            }
        }
    }
    let mut h = lock(&hub);
    h.closed(id, role);
    h.save_if_dirty();
}
