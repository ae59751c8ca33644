# Shared helpers for ci/ scripts. Source it: . "$(dirname "$0")/lib/common.sh"
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"
TARGET_JSON="$ROOT/.cargo/mips-unknown-none.json"
MIPS_OUT="$ROOT/target/mips-unknown-none/release"
BUILD_STD=(-Zbuild-std=core,alloc,compiler_builtins -Zbuild-std-features=compiler-builtins-mem -Zjson-target-spec --target "$TARGET_JSON")

say() { printf '\n=== %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Install Debian packages that are missing (apt-get update once, first).
need_apt() {
    local missing=()
    for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
    [ ${#missing[@]} -eq 0 ] && return 0
    say "installing ${missing[*]}"
    local sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

# Make sure the pinned toolchain and its components are there.
need_toolchain() {
    command -v rustup >/dev/null || die "rustup is required (https://rustup.rs)"
    local tc; tc=$(sed -n 's/^channel *= *"\(.*\)"/\1/p' rust-toolchain.toml)
    rustup toolchain list | grep -q "^$tc" || rustup toolchain install "$tc" --profile minimal
    rustup component add --toolchain "$tc" rust-src clippy rustfmt >/dev/null 2>&1 || true
}

# The Debian packages the MIPS side needs.
need_mips_tools() {
    need_apt qemu-system-mips gcc-mips-linux-gnu binutils-mips-linux-gnu
}

# Install a cargo tool at a pinned version if it is missing.
need_cargo_tool() {
    local bin=$1 crate=$2 version=$3
    if ! command -v "$bin" >/dev/null 2>&1; then
        say "installing $crate $version"
        cargo install "$crate" --version "$version" --locked -q
    fi
}

# Target-only flags of every MIPS build: panic locations in the firmware name the toolchain's
# and the registry's sources by short prefixes (`/rust/library/...`, `/crates/...`) instead of
# this machine's paths (reproducible images, ~0.3 KB less .rodata). Both build functions use
# the same flags so they share build artifacts. (Encoded form: paths may hold spaces.)
mips_rustflags() {
    printf -- '--remap-path-prefix=%s=/rust\x1f--remap-path-prefix=%s=/crates' \
        "$(rustc --print sysroot)/lib/rustlib/src/rust" "${CARGO_HOME:-$HOME/.cargo}/registry/src"
}

# The box archive: the staticlib alone, so that cargo applies the release profile's LTO (it
# passes no -C lto when the lib is also built as an rlib).
mips_build_core() {
    CARGO_ENCODED_RUSTFLAGS="$(mips_rustflags)" cargo rustc -p msntv-messenger --lib --crate-type staticlib --release "${BUILD_STD[@]}" "$@"
}

mips_build_board() {
    CARGO_ENCODED_RUSTFLAGS="$(mips_rustflags)" cargo build -p msntv-board-malta --release "${BUILD_STD[@]}" "$@"
}

# The libwtv SDK's compile flags (README of linker/), without -march.
SDK_CFLAGS=(-EB -mno-abicalls -fno-pic -mxgot -ffreestanding -nostdlib -ffunction-sections -fdata-sections)

# Copy a MIPS archive and drop its float-ABI tags (.gnu.attributes, .MIPS.abiflags).
# Sound because ci/isa-audit proves the code has no FPU instruction and the C ABI passes no
# float or double: the archive links into soft- and hard-float SDK builds alike.
fp_neutral_archive() {
    local in=$1 out=$2
    mips-linux-gnu-objcopy --remove-section=.gnu.attributes --remove-section=.MIPS.abiflags "$in" "$out"
}
