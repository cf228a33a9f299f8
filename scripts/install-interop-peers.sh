#!/usr/bin/env bash
# Interop peers, from the registries: aioquic (PyPI) in a virtualenv under
# the quichex cache dir. test/interop finds it at the same place (or through
# QUICHEX_AIOQUIC_PYTHON). Its HTTP/3 driver (test/interop/peers/aioquic_h3.py)
# needs nothing more: aioquic.h3 and its QPACK (pylsqpack) come with aioquic.
set -euo pipefail
cache=${QUICHEX_CACHE:-$HOME/.cache/quichex}
venv="$cache/venv-aioquic"
if ! "$venv/bin/python" -c 'import aioquic' 2>/dev/null; then
  mkdir -p "$cache"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check 'aioquic==1.7.2'
fi
echo "aioquic $("$venv/bin/python" -c 'import aioquic; print(aioquic.__version__)') at $venv"

# --- quic-go (Go module proxy): our driver test/interop/peers/quic-go, built
# into $cache/bin/quicgo-peer (hq-interop, and HTTP/3 through quic-go's http3
# package, whose QPACK module comes from the proxy too). go.sum pins quic-go;
# rebuilt only when a source file is newer than the binary.
quicgo_src="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/test/interop/peers/quic-go"
quicgo_bin="$cache/bin/quicgo-peer"
quicgo_go=$(command -v go || echo /usr/local/go/bin/go)
if [ ! -x "$quicgo_go" ]; then
  echo "install-interop-peers: Go is needed to build the quic-go peer (scripts/install-system-deps.sh)" >&2
  exit 1
fi
if [ ! -x "$quicgo_bin" ] ||
  [ -n "$(find "$quicgo_src" \( -name '*.go' -o -name go.mod -o -name go.sum \) -newer "$quicgo_bin" -print -quit)" ]; then
  mkdir -p "$cache/bin"
  (cd "$quicgo_src" && "$quicgo_go" build -trimpath -o "$quicgo_bin" .)
fi
echo "quic-go $(cd "$quicgo_src" && "$quicgo_go" list -m -f '{{.Version}}' github.com/quic-go/quic-go) at $quicgo_bin"

# --- quinn (crates.io): our driver test/interop/peers/quinn, built with cargo
# into $cache/bin/quinn-peer (hq-interop, and HTTP/3 through the h3 and h3-quinn
# crates). Cargo.lock pins quinn, h3 and h3-quinn; rebuilt only when a source
# file is newer than the binary.
quinn_src="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/test/interop/peers/quinn"
quinn_bin="$cache/bin/quinn-peer"
quinn_cargo=$(command -v cargo || echo "$HOME/.cargo/bin/cargo")
if [ ! -x "$quinn_bin" ] ||
  [ -n "$(find "$quinn_src/src" "$quinn_src/Cargo.toml" "$quinn_src/Cargo.lock" -newer "$quinn_bin" -print -quit)" ]; then
  if [ ! -x "$quinn_cargo" ]; then
    echo "install-interop-peers: cargo is needed to build the quinn peer" >&2
    exit 1
  fi
  quinn_target="${QUICHEX_TARGET_DIR:-$cache/cargo-target}"
  "$quinn_cargo" build --release --locked --manifest-path "$quinn_src/Cargo.toml" --target-dir "$quinn_target"
  mkdir -p "$cache/bin"
  cp "$quinn_target/release/quinn-peer" "$quinn_bin.tmp"
  mv "$quinn_bin.tmp" "$quinn_bin"
fi
lock_version() { awk -v n="$1" '$0 == "name = \"" n "\"" {getline; gsub(/[^0-9.]/, ""); print}' "$quinn_src/Cargo.lock"; }
echo "quinn $(lock_version quinn) (h3 $(lock_version h3), h3-quinn $(lock_version h3-quinn)) at $quinn_bin"
