#!/usr/bin/env bash
# Interop peers, from the registries: aioquic (PyPI) in a virtualenv under
# the quichex cache dir. test/interop finds it at the same place (or through
# QUICHEX_AIOQUIC_PYTHON).
set -euo pipefail
cache=${QUICHEX_CACHE:-$HOME/.cache/quichex}
venv="$cache/venv-aioquic"
if ! "$venv/bin/python" -c 'import aioquic' 2>/dev/null; then
  mkdir -p "$cache"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check 'aioquic==1.7.2'
fi
echo "aioquic $("$venv/bin/python" -c 'import aioquic; print(aioquic.__version__)') at $venv"
