#!/usr/bin/env bash
# Build libquiche.so from the crates.io `quiche` crate (vendor/quiche is our
# recipe) and place it in the prebuilt platform package, where @quichex/ffi
# finds it. Maintainers and CI only: users install the prebuilt package.
#
#   scripts/build-libquiche.sh            # release build, --locked
#   QUICHEX_TARGET_DIR=/path scripts/...  # share a cargo target dir (warm caches)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
recipe="$root/vendor/quiche"
target_dir=${QUICHEX_TARGET_DIR:-$recipe/target}
platform="linux-$(uname -m | sed -e 's/x86_64/x64/' -e 's/aarch64/arm64/')-gnu"
dest="$root/packages/libquiche-$platform"

export CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-$(nproc)}
export NUM_JOBS=$CARGO_BUILD_JOBS

start=$(date +%s)
cargo build --release --locked --manifest-path "$recipe/Cargo.toml" --target-dir "$target_dir"
lib="$target_dir/release/libquiche.so"

# The exported surface must be quiche's C API plus our quichex_* glue and
# nothing else: a stray
# BoringSSL or Rust symbol could interpose with Node's own OpenSSL.
exported=$(nm -D --defined-only "$lib" | awk '$2 == "T" {print $3}')
count=$(grep -c "^quiche_" <<<"$exported" || true)
others=$(grep -vEc '^quichex?_' <<<"$exported" || true)
if [ "$others" -ne 0 ]; then
  echo "build-libquiche: libquiche.so exports non-quiche symbols:" >&2
  grep -vE '^quichex?_' <<<"$exported" | head >&2
  exit 1
fi

mkdir -p "$dest"
cp "$lib" "$dest/libquiche.so"
# Where the header of the pinned crate lives, for the coverage and layout tests.
header=$(cargo metadata --locked --format-version 1 --manifest-path "$recipe/Cargo.toml" \
  | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const p=JSON.parse(s).packages.find(p=>p.name==="quiche");console.log(require("path").join(require("path").dirname(p.manifest_path),"include","quiche.h"))})')
cp "$header" "$dest/quiche.h"
# Our glue's declarations, next to quiche's.
cp "$recipe/include/quichex.h" "$dest/quichex.h"
echo "build-libquiche: $count quiche_* and $(grep -c '^quichex_' <<<"$exported" || true) quichex_* symbols exported; placed in ${dest#$root/} ($(( $(date +%s) - start ))s)"
