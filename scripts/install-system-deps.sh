#!/usr/bin/env bash
# System packages for building libquiche (cmake, C/C++ compilers and libclang
# for boring-sys/bindgen) and for the tests (openssl CLI for certificates,
# python3-venv for the aioquic interop peer, ngtcp2-client/ngtcp2-server for
# the ngtcp2 interop peer: gtlsclient and gtlsserver, ngtcp2 0.12.1 on Debian
# bookworm), iproute2 for `ss` (a test reads socket buffer sizes). Installs only
# what is missing.
set -euo pipefail
packages=(cmake make gcc g++ libclang-dev git openssl python3 python3-venv pkg-config ngtcp2-client ngtcp2-server iproute2)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=''
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
fi
command -v cargo >/dev/null || { echo "cargo (Rust >= 1.88) is required to build libquiche: https://rustup.rs" >&2; exit 1; }
echo "system packages present: ${packages[*]}"
