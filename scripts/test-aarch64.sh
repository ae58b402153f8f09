#!/usr/bin/env bash
# Builds onelayer for aarch64 Linux and runs the kernel tests there under qemu's user
# emulation, so that the NEON kernels are tested on an x86-64 machine. Installs what is
# missing: the Rust target (rustup), and Debian's qemu-user, gcc-aarch64-linux-gnu and
# libc6-dev-arm64-cross (the cross C compiler builds ring's C for the download feature).
# The cross linker and runner are set here, not in .cargo/config.toml, so that nothing
# changes for native builds. Time under emulation says nothing of speed on ARM.
#
# Usage: scripts/test-aarch64.sh [--all]   (--all: also the whole-training tests in
# tests/fast_path.rs, a few minutes under emulation)
set -euo pipefail
cd "$(dirname "$0")/.."

target=aarch64-unknown-linux-gnu
sysroot=/usr/aarch64-linux-gnu

if ! rustup target list --installed | grep -qx "$target"; then
    rustup target add "$target"
fi
missing=()
command -v qemu-aarch64 >/dev/null 2>&1 || missing+=(qemu-user)
command -v aarch64-linux-gnu-gcc >/dev/null 2>&1 || missing+=(gcc-aarch64-linux-gnu)
[ -f "$sysroot/include/stdio.h" ] || missing+=(libc6-dev-arm64-cross)
if [ ${#missing[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get update
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y "${missing[@]}"
fi

export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64 -L $sysroot"
export CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc

cargo build --release --target "$target"
cargo test --release --target "$target" --lib kernels
if [ "${1:-}" = "--all" ]; then
    cargo test --release --target "$target" --test fast_path
fi
