//! Generate the guest's vector tables from ../shared and pass the linker scripts.
use std::path::PathBuf;

#[path = "build/c_abi.rs"]
mod c_abi;

fn main() {
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR"));
    let src = msntv_testdata::codegen::generate();
    std::fs::write(out.join("vectors.rs"), src).expect("write vectors.rs");

    let root =
        PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("manifest dir")).join("../..");
    let ld = root.join("linker/qemu-malta.ld");
    println!("cargo:rustc-link-arg=-T{}", ld.display());
    println!("cargo:rustc-link-arg=-Tdefmt.x");
    println!("cargo:rustc-link-arg=--gc-sections");
    println!("cargo:rerun-if-changed={}", ld.display());
    println!("cargo:rerun-if-changed=src/crt0.S");
    c_abi::build(&root, &out);
    for var in [
        "MSNTV_SHARED",
        "MSNTV_ESCARGOT_DIR",
        "MSNTV_WTVP_VECTORS_DIR",
        "MSNTV_WTVP_TRANSCRIPTS_DIR",
    ] {
        println!("cargo:rerun-if-env-changed={var}");
    }
    for dir in [
        msntv_testdata::escargot_dir(),
        msntv_testdata::wtvp_vectors_dir(),
        msntv_testdata::wtvp_transcripts_dir(),
    ] {
        if dir.exists() {
            println!("cargo:rerun-if-changed={}", dir.display());
        }
    }
}
