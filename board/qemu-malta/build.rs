//! Generate the guest's vector tables from ../shared, pass the linker scripts, and compile the
//! C box UI (`ui/`) for the `box-ui` firmware with the libwtv SDK's flags.
use std::path::{Path, PathBuf};
use std::process::Command;

/// The libwtv SDK's compile flags (linker/README.md), plus strict C99 warnings.
const SDK_CFLAGS: &[&str] = &[
    "-EB",
    "-march=4650",
    "-mno-abicalls",
    "-fno-pic",
    "-mxgot",
    "-ffreestanding",
    "-nostdlib",
    "-ffunction-sections",
    "-fdata-sections",
    "-std=c99",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-pedantic",
    "-Os",
];

/// Run a build tool, failing the build with its name if it does not succeed.
fn run(cmd: &mut Command) {
    let status = cmd
        .status()
        .unwrap_or_else(|e| panic!("cannot run {:?}: {e}", cmd.get_program()));
    assert!(status.success(), "{cmd:?} failed");
}

/// Compile the C box UI with the MIPS cross compiler and link it into the `box-ui` binary only.
fn build_box_ui(root: &Path, out: &Path) {
    let ui = root.join("board/qemu-malta/ui");
    let obj = out.join("box_ui.o");
    let cc = std::env::var("MIPS_CC").unwrap_or_else(|_| "mips-linux-gnu-gcc".into());
    let objcopy = std::env::var("MIPS_OBJCOPY").unwrap_or_else(|_| "mips-linux-gnu-objcopy".into());
    run(Command::new(&cc)
        .args(SDK_CFLAGS)
        .arg("-I")
        .arg(root.join("include"))
        .arg("-I")
        .arg(&ui)
        .arg("-c")
        .arg(ui.join("box_ui.c"))
        .arg("-o")
        .arg(&obj));
    // gcc tags the object hard-float and rustc's soft-float: the UI has no floating point (the
    // firmware's ISA audit proves it), so drop the tags as the homebrew recipe does.
    run(Command::new(&objcopy)
        .arg("--remove-section=.gnu.attributes")
        .arg("--remove-section=.MIPS.abiflags")
        .arg(&obj));
    println!("cargo:rustc-link-arg-bin=box-ui={}", obj.display());
    for f in ["box_ui.c", "box_ui.h", "box_platform.h"] {
        println!("cargo:rerun-if-changed={}", ui.join(f).display());
    }
    println!(
        "cargo:rerun-if-changed={}",
        root.join("include/msntv_messenger.h").display()
    );
    println!("cargo:rerun-if-env-changed=MIPS_CC");
    println!("cargo:rerun-if-env-changed=MIPS_OBJCOPY");
}

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
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("mips") {
        build_box_ui(&root, &out);
    }
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
