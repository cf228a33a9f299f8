#!/usr/bin/env bash
# Writes THIRD-PARTY-LICENSES.txt into the prebuilt platform package: the
# licences of everything libquiche.so links statically, generated from
# vendor/quiche/Cargo.lock by cargo-about (build and dev dependencies left
# out: they run on the build machine and are not shipped), then BoringSSL's
# own LICENSE, from the copy of BoringSSL inside the boring-sys crate that
# the build compiles.
#
# Run when the package is packed or published (its `prepack` script) and by
# scripts/release-check.sh; never committed. cargo-about is installed once
# into a cache outside the repository (QUICHEX_TOOLS_DIR); the file is only
# regenerated when the lock file, the settings or this script change.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
recipe="$root/vendor/quiche"
platform="linux-$(uname -m | sed -e 's/x86_64/x64/' -e 's/aarch64/arm64/')-gnu"
out="$root/packages/libquiche-$platform/THIRD-PARTY-LICENSES.txt"
config="$root/scripts/licenses/about.toml"
template="$root/scripts/licenses/about.hbs"

about_version=0.9.3
tools=${QUICHEX_TOOLS_DIR:-$HOME/.cache/quichex/tools}
about="$tools/cargo-about-$about_version/bin/cargo-about"

fresh=1
for input in "$recipe/Cargo.lock" "$config" "$template" "$0"; do
  [ -f "$out" ] && [ "$out" -nt "$input" ] || fresh=0
done
if (( fresh )); then
  echo "third-party-licenses: ${out#$root/} is up to date" >&2
  exit 0
fi

if [ ! -x "$about" ]; then
  echo "third-party-licenses: installing cargo-about $about_version into $tools (once)" >&2
  cargo install cargo-about --version "$about_version" --features cli --locked --quiet \
    --root "$tools/cargo-about-$about_version"
fi

start=$(date +%s)
# Sources of every locked crate, so that cargo-about can read their licence
# files without going anywhere but the crate registry.
cargo fetch --locked --quiet --manifest-path "$recipe/Cargo.toml"
host=$(rustc -vV | sed -n 's/^host: //p')
boringssl=$(cargo metadata --frozen --format-version 1 --manifest-path "$recipe/Cargo.toml" \
  | node -e 'let s="";process.stdin.on("data",(d)=>(s+=d)).on("end",()=>{const p=JSON.parse(s).packages.find((p)=>p.name==="boring-sys");console.log(`${require("node:path").dirname(p.manifest_path)} ${p.version}`)})')
read -r boring_dir boring_version <<<"$boringssl"
version=$(node -p "require('$root/packages/libquiche-$platform/package.json').version")

tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
{
  cat <<HEADER
Third-party licences of libquiche.so in @quichex/libquiche-$platform $version

libquiche.so is cloudflare/quiche built with its C API by quichex's recipe
(vendor/quiche in the quichex repository; quichex's own glue is MIT, see
LICENSE). It links statically the Rust crates listed below and BoringSSL,
which the boring-sys crate compiles from the copy of its source inside that
crate. The crate list and licence texts were generated from the recipe's
Cargo.lock by cargo-about $about_version for $host; BoringSSL's own LICENSE
file follows them.

HEADER
  "$about" generate --frozen --manifest-path "$recipe/Cargo.toml" -c "$config" --target "$host" "$template"
  cat <<HEADER

================================================================================
BoringSSL, built from boring-sys $boring_version (deps/boringssl/LICENSE):
--------------------------------------------------------------------------------
HEADER
  cat "$boring_dir/deps/boringssl/LICENSE"
} >"$tmp"
# The package's `license` field must name every licence found.
expression=$(node -p "require('$root/packages/libquiche-$platform/package.json').license")
for id in $(sed -n 's/^.* (\([^()]*\)): [0-9]* crate(s)$/\1/p' "$tmp"); do
  if ! grep -qw -- "$id" <<<"$expression"; then
    echo "third-party-licenses: $id is not in the package's license field ($expression)" >&2
    exit 1
  fi
done
mv "$tmp" "$out"
trap - EXIT
echo "third-party-licenses: wrote ${out#$root/} ($(( $(date +%s) - start ))s)" >&2
