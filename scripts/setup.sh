#!/usr/bin/env bash
# One-step set-up on a fresh machine: system packages, npm dependencies,
# libquiche (cargo, from crates.io), the native quiche bench harness (the
# bench tests and benchmarks compare against it), the interop peers, and a
# build of every package. Safe to re-run: each step skips what is already in
# place.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-system-deps.sh
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
lib=packages/libquiche-linux-x64-gnu/libquiche.so
if [ ! -f "$lib" ] || [ vendor/quiche/Cargo.lock -nt "$lib" ]; then
  bash scripts/build-libquiche.sh
fi
# cargo rebuilds only what changed (about a second when nothing did).
bash scripts/build-bench-native.sh
bash scripts/install-interop-peers.sh
npx turbo run build --output-logs=errors-only
