//! Generate the guest's vector tables from ../shared, pass the linker scripts, and compile the
//! C box UI (`ui/`) and the shared C ABI test (`tests/c/`) with the libwtv SDK's flags.
use std::path::{Path, PathBuf};
use std::process::Command;

/// The libwtv SDK's compile flags (linker/README.md) for the R4640-class box, plus strict C99;
/// the optimisation level is the caller's.
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
];

/// Run a build tool, failing the build with its name if it does not succeed.
fn run(cmd: &mut Command) {
    let status = cmd
        .status()
        .unwrap_or_else(|e| panic!("cannot run {:?}: {e}", cmd.get_program()));
    assert!(status.success(), "{cmd:?} failed");
}

/// Compile one C file with the MIPS cross compiler and the SDK flags (headers from `include/`
/// and `includes`), and link the object into firmware `bin` only. Rebuilds when `src`, the
/// files in `deps`, the core's header or the tool variables change.
fn compile_c_into(
    root: &Path,
    out: &Path,
    src: &Path,
    includes: &[&Path],
    deps: &[PathBuf],
    opt: &str,
    bin: &str,
) {
    let stem = src.file_stem().and_then(|s| s.to_str()).unwrap_or("c");
    let obj = out.join(format!("{stem}.o"));
    let cc = std::env::var("MIPS_CC").unwrap_or_else(|_| "mips-linux-gnu-gcc".into());
    let objcopy = std::env::var("MIPS_OBJCOPY").unwrap_or_else(|_| "mips-linux-gnu-objcopy".into());
    let mut gcc = Command::new(&cc);
    gcc.args(SDK_CFLAGS)
        .arg(opt)
        .arg("-I")
        .arg(root.join("include"));
    for dir in includes {
        gcc.arg("-I").arg(dir);
    }
    run(gcc.arg("-c").arg(src).arg("-o").arg(&obj));
    // gcc tags the object hard-float and rustc's soft-float: the C code passes no floating
    // point (the firmware's ISA audit proves it), so drop the tags as the homebrew recipe does.
    run(Command::new(&objcopy)
        .arg("--remove-section=.gnu.attributes")
        .arg("--remove-section=.MIPS.abiflags")
        .arg(&obj));
    println!("cargo:rustc-link-arg-bin={bin}={}", obj.display());
    println!("cargo:rerun-if-changed={}", src.display());
    for f in deps {
        println!("cargo:rerun-if-changed={}", f.display());
    }
    println!(
        "cargo:rerun-if-changed={}",
        root.join("include/msntv_messenger.h").display()
    );
    println!("cargo:rerun-if-env-changed=MIPS_CC");
    println!("cargo:rerun-if-env-changed=MIPS_OBJCOPY");
}

/// Compile the C box UI (`ui/`) into the `box-ui` firmware.
fn build_box_ui(root: &Path, out: &Path) {
    let ui = root.join("board/qemu-malta/ui");
    let deps = [ui.join("box_ui.h"), ui.join("box_platform.h")];
    compile_c_into(
        root,
        out,
        &ui.join("box_ui.c"),
        &[&ui],
        &deps,
        "-Os",
        "box-ui",
    );
}

/// Compile the shared C ABI test (`tests/c/abi_test.c`) into the `c-abi-test` firmware.
fn build_c_abi_test(root: &Path, out: &Path) {
    let dir = root.join("tests/c");
    let deps = [dir.join("abi_test.h")];
    compile_c_into(
        root,
        out,
        &dir.join("abi_test.c"),
        &[&dir],
        &deps,
        "-O2",
        "c-abi-test",
    );
}

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
    build_c_abi_test(&root, &out);
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
