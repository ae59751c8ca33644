//! Host-side loaders for the shared test data (`../shared`), used by the host integration tests
//! and by the QEMU board's build script, which turns the same data into static tables for the
//! guest. Every loader discovers the files in its directory, so new recordings of the same format
//! run without code changes.
//!
//! Directories come from environment variables, with defaults relative to the repository:
//!
//! | variable | default |
//! |---|---|
//! | `MSNTV_SHARED` | `<repo>/../shared` |
//! | `MSNTV_ESCARGOT_DIR` | `$MSNTV_SHARED/transcripts/escargot` |
//! | `MSNTV_WTVP_VECTORS_DIR` | `$MSNTV_SHARED/vectors/wtvp` |
//! | `MSNTV_WTVP_TRANSCRIPTS_DIR` | `$MSNTV_SHARED/transcripts/wtvp` |

pub mod codegen;
pub mod escargot;

use std::path::{Path, PathBuf};

/// Return the repository root (the parent of `tools/testdata`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Return the shared data root: `$MSNTV_SHARED` or `<repo>/../shared`.
pub fn shared_dir() -> PathBuf {
    match std::env::var_os("MSNTV_SHARED") {
        Some(p) => PathBuf::from(p),
        None => repo_root().join("../shared"),
    }
}

/// Return a data directory: the variable `var` if set, else `shared_dir()/default_rel`.
pub fn data_dir(var: &str, default_rel: &str) -> PathBuf {
    match std::env::var_os(var) {
        Some(p) => PathBuf::from(p),
        None => shared_dir().join(default_rel),
    }
}

/// Return the escargot transcript directory.
pub fn escargot_dir() -> PathBuf {
    data_dir("MSNTV_ESCARGOT_DIR", "transcripts/escargot")
}

/// Return the WTVP vector directory.
pub fn wtvp_vectors_dir() -> PathBuf {
    data_dir("MSNTV_WTVP_VECTORS_DIR", "vectors/wtvp")
}

/// Return the WTVP transcript directory.
pub fn wtvp_transcripts_dir() -> PathBuf {
    data_dir("MSNTV_WTVP_TRANSCRIPTS_DIR", "transcripts/wtvp")
}

/// List the files in `dir` whose names end with `suffix`, sorted by name.
pub fn files_with_suffix(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.ends_with(suffix))
            })
            .collect(),
        Err(e) => panic!("cannot read test data directory {}: {e}", dir.display()),
    };
    out.sort();
    out
}

/// Decode a lower-case or upper-case hex string.
pub fn unhex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd hex length");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex digit"))
        .collect()
}
