//! Escargot transcripts: the `.json` twin of each recording holds the raw socket chunks.

use base64::Engine as _;
use std::path::Path;

/// Which way a chunk travelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    /// Client to server.
    C2s,
    /// Server to client.
    S2c,
}

/// One `send()`/`recv()` chunk of a recording.
#[derive(Debug, Clone)]
pub struct Chunk {
    /// Seconds since the start of the recording.
    pub t: f64,
    /// Connection name (`alice-ns`, `bob-sb`, …).
    pub conn: String,
    /// Direction.
    pub dir: Dir,
    /// Exact bytes.
    pub bytes: Vec<u8>,
}

/// One recorded scenario.
#[derive(Debug, Clone)]
pub struct Transcript {
    /// File stem (`msnp8_ims`).
    pub name: String,
    /// The `meta.protocol` field (`MSNP8`, or a range such as `MSNP2-9`).
    pub protocol: String,
    /// Connection names with their descriptions, in file order.
    pub connections: Vec<(String, String)>,
    /// Chunks in recording order.
    pub chunks: Vec<Chunk>,
}

impl Transcript {
    /// Return the concatenated bytes of one connection in one direction.
    pub fn stream(&self, conn: &str, dir: Dir) -> Vec<u8> {
        self.chunks
            .iter()
            .filter(|c| c.conn == conn && c.dir == dir)
            .flat_map(|c| c.bytes.iter().copied())
            .collect()
    }

    /// Query whether a connection is an MSNP connection (NS or SB), not HTTP.
    pub fn is_msnp(&self, conn: &str) -> bool {
        self.connections
            .iter()
            .find(|(n, _)| n == conn)
            .is_some_and(|(_, d)| {
                d.starts_with("Notification Server") || d.starts_with("Switchboard")
            })
    }

    /// Query whether a connection is a switchboard connection.
    pub fn is_switchboard(&self, conn: &str) -> bool {
        self.connections
            .iter()
            .any(|(n, d)| n == conn && d.starts_with("Switchboard"))
    }

    /// Return the MSNP version a connection's description names (`(MSNP8)`), if any.
    pub fn conn_version(&self, conn: &str) -> Option<u8> {
        let (_, d) = self.connections.iter().find(|(n, _)| n == conn)?;
        let i = d.find("(MSNP")?;
        let rest = &d[i + 5..];
        let end = rest.find(|c: char| !c.is_ascii_digit())?;
        rest[..end].parse().ok()
    }
}

/// Load every `*.json` transcript in `dir`, sorted by file name.
pub fn load_dir(dir: &Path) -> Vec<Transcript> {
    crate::files_with_suffix(dir, ".json")
        .iter()
        .map(|p| load_file(p))
        .collect()
}

/// Load the transcripts from the configured escargot directory.
pub fn load() -> Vec<Transcript> {
    load_dir(&crate::escargot_dir())
}

/// Load one `.json` transcript.
pub fn load_file(path: &Path) -> Transcript {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let v: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let name = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default()
        .to_string();
    let protocol = v["meta"]["protocol"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let connections = v["connections"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, d)| (k.clone(), d.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default();
    let chunks = v["chunks"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|c| Chunk {
                    t: c["t"].as_f64().unwrap_or(0.0),
                    conn: c["conn"].as_str().unwrap_or_default().to_string(),
                    dir: if c["dir"] == "c2s" {
                        Dir::C2s
                    } else {
                        Dir::S2c
                    },
                    bytes: base64::engine::general_purpose::STANDARD
                        .decode(c["b64"].as_str().unwrap_or_default())
                        .unwrap_or_else(|e| panic!("{}: bad base64: {e}", path.display())),
                })
                .collect()
        })
        .unwrap_or_default();
    Transcript {
        name,
        protocol,
        connections,
        chunks,
    }
}
