//! Compile the shared C ABI test (`tests/c/abi_test.c`) for the guest with `mips-linux-gnu-gcc`
//! and the libwtv SDK's flags, and link it into the `c-abi-test` firmware only.

use std::path::Path;
use std::process::Command;

/// The SDK's compile flags (linker/README.md) for the R4640-class box, plus strict C99.
const CFLAGS: &[&str] = &[
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
    "-O2",
];

/// Compile the C test into `out/abi_test.o` and pass it to the `c-abi-test` link.
pub fn build(root: &Path, out: &Path) {
    let src = root.join("tests/c/abi_test.c");
    println!("cargo:rerun-if-changed={}", src.display());
    println!(
        "cargo:rerun-if-changed={}",
        root.join("tests/c/abi_test.h").display()
    );
    println!(
        "cargo:rerun-if-changed={}",
        root.join("include/msntv_messenger.h").display()
    );
    println!("cargo:rerun-if-env-changed=MIPS_CC");
    let cc = std::env::var("MIPS_CC").unwrap_or_else(|_| "mips-linux-gnu-gcc".into());
    let obj = out.join("abi_test.o");
    let status = Command::new(&cc)
        .args(CFLAGS)
        .arg("-I")
        .arg(root.join("include"))
        .arg("-I")
        .arg(root.join("tests/c"))
        .arg("-c")
        .arg(&src)
        .arg("-o")
        .arg(&obj)
        .status()
        .unwrap_or_else(|e| panic!("cannot run {cc} (install gcc-mips-linux-gnu): {e}"));
    assert!(status.success(), "{cc} failed on {}", src.display());
    // gcc tags the object hard-float and rustc's soft-float; the test passes no float, so drop
    // the tags as the homebrew archive does (ci/lib/common.sh fp_neutral_archive).
    let objcopy = cc.replace("gcc", "objcopy");
    let status = Command::new(&objcopy)
        .args([
            "--remove-section=.gnu.attributes",
            "--remove-section=.MIPS.abiflags",
        ])
        .arg(&obj)
        .status()
        .unwrap_or_else(|e| panic!("cannot run {objcopy}: {e}"));
    assert!(status.success(), "{objcopy} failed");
    println!("cargo:rustc-link-arg-bin=c-abi-test={}", obj.display());
}
