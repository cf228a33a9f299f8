#!/usr/bin/env bash
# Runs the Rust tests of quichex's libquiche glue (vendor/quiche/src) and
# writes a JSON report of each test's outcome where QUICHEX_GLUE_JSON points
# (for scripts/count-tests.mjs). Uses the release profile so that the
# dependencies built for libquiche.so (BoringSSL above all) are reused.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
target_dir=${QUICHEX_TARGET_DIR:-$root/vendor/quiche/target}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
rc=0
cargo test --release --locked --lib --manifest-path "$root/vendor/quiche/Cargo.toml" \
  --target-dir "$target_dir" 2>&1 | tee "$log" || rc=$?
if [ -n "${QUICHEX_GLUE_JSON:-}" ]; then
  node -e '
    const lines = require("fs").readFileSync(process.argv[1], "utf8").split("\n");
    const tests = lines
      .map((l) => /^test (\S+) \.\.\. (ok|FAILED|ignored)$/.exec(l))
      .filter(Boolean)
      .map(([, name, status]) => ({ name, status: status === "ok" ? "pass" : status === "FAILED" ? "fail" : "skip" }));
    require("fs").writeFileSync(process.argv[2], JSON.stringify({ tests }));
  ' "$log" "$QUICHEX_GLUE_JSON"
fi
exit "$rc"
