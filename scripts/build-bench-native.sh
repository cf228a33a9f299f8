#!/usr/bin/env bash
# Build the native quiche benchmark harness (packages/bench/native), the
# ceiling that the Node benchmarks are compared against, and place the binary
# at packages/bench/native/bin/quiche-bench for the orchestrator.
#
#   scripts/build-bench-native.sh            # release build, --locked
#   QUICHEX_TARGET_DIR=/path scripts/...     # share a cargo target dir (warm caches)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
crate="$root/packages/bench/native"
target_dir=${QUICHEX_TARGET_DIR:-$crate/target}

export CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-$(nproc)}
export NUM_JOBS=$CARGO_BUILD_JOBS

start=$(date +%s)
cargo build --release --locked --manifest-path "$crate/Cargo.toml" --target-dir "$target_dir"

mkdir -p "$crate/bin"
# Copy to a temporary name and rename, so a running benchmark never sees a
# half-written binary.
cp "$target_dir/release/quiche-bench" "$crate/bin/.quiche-bench.tmp"
mv -f "$crate/bin/.quiche-bench.tmp" "$crate/bin/quiche-bench"
echo "build-bench-native: placed ${crate#$root/}/bin/quiche-bench ($(( $(date +%s) - start ))s)"
