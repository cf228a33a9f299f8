#!/usr/bin/env bash
# Publish-and-install check: what a user gets from the registry, proven
# before anything is published for real.
#
# 1. Packs every public package at the workspace version (the platform
#    package with the libquiche.so built here, and its generated licences).
# 2. Starts a throwaway local registry (verdaccio, from the npm registry,
#    installed once into a cache outside the repository), whose only uplink is
#    the registry npm is configured with at run time, and publishes the
#    tarballs to it. quichex's own package names are never proxied, so only
#    the tarballs of this run can be installed under them.
# 3. In a fresh temporary directory, with cargo and rustc off the PATH,
#    `npm install quichex @quichex/cli`, then checks: exactly one libquiche in
#    node_modules, byte for byte the published one, and the one that loads;
#    licences shipped; an ESM and a CommonJS client/server echo;
#    `npx quichex --help` and `npx quichex demo`.
#
#   scripts/release-check.sh
#   QUICHEX_RELEASE_JSON=file scripts/release-check.sh   # also write each check's result (CI counts them)
#   QUICHEX_KEEP=1 scripts/release-check.sh              # keep the temporary directory to look around
#
# Needs: a built libquiche (scripts/build-libquiche.sh), node, npm, and cargo
# the first time (scripts/third-party-licenses.sh installs cargo-about).
# Exit status: 0 when every check passed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

started=$(date +%s)
say() { printf 'release-check: %s\n' "$*"; }

verdaccio_version=6.8.0
tools=${QUICHEX_TOOLS_DIR:-$HOME/.cache/quichex/tools}
platform_pkg=@quichex/libquiche-linux-x64-gnu
platform_dir=packages/libquiche-linux-x64-gnu
public=("$platform_pkg" @quichex/ffi quichex @quichex/h3 @quichex/cli)

work=$(mktemp -d "${TMPDIR:-/tmp}/quichex-release.XXXXXX")
registry_pid=
cleanup() {
  if [ -n "$registry_pid" ]; then kill "$registry_pid" 2>/dev/null || true; fi
  if [ -n "${QUICHEX_KEEP:-}" ]; then say "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

# ---------------------------------------------------------------- results
results=()
failures=0
# record NAME pass|fail [DETAIL]
record() {
  local detail=${3:-}
  results+=("$(node -e 'console.log(JSON.stringify({ name: process.argv[1], status: process.argv[2], detail: process.argv[3] }))' "$1" "$2" "$detail")")
  if [ "$2" = pass ]; then say "PASS $1${detail:+ ($detail)}"; else say "FAIL $1${detail:+: $detail}"; failures=$((failures + 1)); fi
  write_results
}
write_results() {
  [ -n "${QUICHEX_RELEASE_JSON:-}" ] || return 0
  local IFS=,
  printf '{"checks":[%s]}\n' "${results[*]}" >"$QUICHEX_RELEASE_JSON"
}
# check NAME COMMAND...: runs the command with its output in $work/logs/NAME.log.
# (set -e is off inside a command run as an if condition: the check
# functions below return 1 explicitly on every failure.)
check() {
  local name=$1
  shift
  local log="$work/logs/${name//[^a-zA-Z0-9]/-}.log"
  if "$@" >"$log" 2>&1; then
    record "$name" pass "$(tail -n 1 "$log")"
  else
    record "$name" fail "$(tail -n 5 "$log" | tr '\n' ' ')"
  fi
}
mkdir -p "$work/logs"
write_results

# ------------------------------------------------------------- pack
if [ ! -f "$platform_dir/libquiche.so" ]; then
  record "pack" fail "no $platform_dir/libquiche.so: run scripts/build-libquiche.sh first"
  exit 1
fi
version=$(node -p "require('./packages/quichex/package.json').version")
for name in "${public[@]}"; do
  v=$(npm pkg get version -w "$name" | node -e 'let s="";process.stdin.on("data",(d)=>(s+=d)).on("end",()=>console.log(Object.values(JSON.parse(s))[0]))')
  if [ "$v" != "$version" ]; then
    record "pack" fail "$name is at $v, quichex at $version: the public packages are released together"
    exit 1
  fi
done
npx turbo run build --output-logs=errors-only >"$work/logs/build.log" 2>&1 || {
  record "pack" fail "build failed: $(tail -n 5 "$work/logs/build.log" | tr '\n' ' ')"
  exit 1
}
mkdir -p "$work/tarballs"
say "packing ${public[*]} at $version (a first run also installs cargo-about: minutes)"
# npm pack runs the platform package's prepack, which writes its THIRD-PARTY-LICENSES.txt.
if ! npm pack --json --pack-destination "$work/tarballs" "${public[@]/#/-w=}" >"$work/pack.json" 2>"$work/logs/pack.log"; then
  record "pack" fail "$(tail -n 5 "$work/logs/pack.log" | tr '\n' ' ')"
  exit 1
fi
# One line per package: name, packed and unpacked size, file count; and
# anything that should not ship (tests, source maps, TypeScript sources).
node - "$work/pack.json" >"$work/logs/pack-contents.log" <<'EOF' && pack_ok=1 || pack_ok=0
const packs = JSON.parse(require('node:fs').readFileSync(process.argv[2], 'utf8'));
const kb = (n) => `${(n / 1024).toFixed(1)} kB`;
let bad = 0;
for (const p of packs) {
  console.log(`${p.name}@${p.version}: ${kb(p.size)} packed, ${kb(p.unpackedSize)} unpacked, ${p.entryCount} files`);
  const stray = p.files.map((f) => f.path).filter((f) => /\.map$|(^|\/)tests?\/|\.test\.|(?<!\.d)\.ts$/.test(f));
  const missing = ['LICENSE', 'README.md', 'CHANGELOG.md', 'package.json'].filter((f) => !p.files.some((x) => x.path === f));
  if (p.name.includes('libquiche-') && !p.files.some((x) => x.path === 'THIRD-PARTY-LICENSES.txt')) missing.push('THIRD-PARTY-LICENSES.txt');
  if (stray.length) console.log(`  should not ship: ${stray.join(' ')}`);
  if (missing.length) console.log(`  missing: ${missing.join(' ')}`);
  bad += stray.length + missing.length;
}
console.log(`${packs.length} tarballs, ${kb(packs.reduce((n, p) => n + p.size, 0))} in all`);
process.exit(bad ? 1 : 0);
EOF
sed 's/^/  /' "$work/logs/pack-contents.log"
if (( pack_ok )); then
  record "tarball contents" pass "$(tail -n 1 "$work/logs/pack-contents.log")"
else
  record "tarball contents" fail "see the list above"
fi
platform_tarball=$(ls "$work"/tarballs/quichex-libquiche-*.tgz)
published_sha=$(tar -xzOf "$platform_tarball" package/libquiche.so | sha256sum | cut -d' ' -f1)
built_sha=$(sha256sum "$platform_dir/libquiche.so" | cut -d' ' -f1)
if [ "$published_sha" = "$built_sha" ]; then
  record "packed libquiche.so is the one built" pass "sha256 ${built_sha:0:16}…"
else
  record "packed libquiche.so is the one built" fail "packed $published_sha, built $built_sha"
fi

# --------------------------------------------------- local registry
upstream=$(npm config get registry)
verdaccio="$tools/verdaccio-$verdaccio_version/node_modules/.bin/verdaccio"
if [ ! -x "$verdaccio" ]; then
  say "installing verdaccio $verdaccio_version into $tools (once)"
  mkdir -p "$tools/verdaccio-$verdaccio_version"
  npm install --prefix "$tools/verdaccio-$verdaccio_version" --no-audit --no-fund --no-save --loglevel=error \
    "verdaccio@$verdaccio_version" >"$work/logs/verdaccio-install.log" 2>&1 || {
    record "local registry" fail "could not install verdaccio: $(tail -n 5 "$work/logs/verdaccio-install.log" | tr '\n' ' ')"
    exit 1
  }
fi
port=$(node -e 'const s=require("node:net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
registry="http://127.0.0.1:$port/"
mkdir -p "$work/registry"
cat >"$work/registry/config.yaml" <<EOF
storage: ./storage
auth:
  htpasswd:
    file: ./htpasswd
    max_users: 1
uplinks:
  upstream:
    url: $upstream
packages:
  'quichex':
    access: \$all
    publish: \$authenticated
  '@quichex/*':
    access: \$all
    publish: \$authenticated
  '**':
    access: \$all
    proxy: upstream
log: { type: stdout, format: pretty, level: warn }
EOF
"$verdaccio" --config "$work/registry/config.yaml" --listen "127.0.0.1:$port" >"$work/logs/verdaccio.log" 2>&1 &
registry_pid=$!
# http METHOD URL [JSON]: prints the response body; fails on a non-2xx status.
http() {
  node -e 'fetch(process.argv[2], { method: process.argv[1], headers: { "content-type": "application/json" }, body: process.argv[3] })
    .then(async (r) => { process.stdout.write(await r.text()); process.exitCode = r.ok ? 0 : 1; }, () => { process.exitCode = 1; })' "$@"
}
for _ in $(seq 1 100); do
  http GET "${registry}-/ping" >/dev/null 2>&1 && break
  kill -0 "$registry_pid" 2>/dev/null || break
  sleep 0.2
done
if ! http GET "${registry}-/ping" >/dev/null 2>&1; then
  record "local registry" fail "verdaccio did not start: $(tail -n 5 "$work/logs/verdaccio.log" | tr '\n' ' ')"
  exit 1
fi
token=$(http PUT "${registry}-/user/org.couchdb.user:quichex-release-check" \
  '{"name":"quichex-release-check","password":"release-check"}' |
  node -e 'let s="";process.stdin.on("data",(d)=>(s+=d)).on("end",()=>console.log(JSON.parse(s).token))')
# Every npm command below sees only this configuration: the local registry and its token.
cat >"$work/npmrc" <<EOF
registry=$registry
//127.0.0.1:$port/:_authToken=$token
EOF
export NPM_CONFIG_USERCONFIG="$work/npmrc" npm_config_registry="$registry"
say "local registry $registry (verdaccio $verdaccio_version, uplink $upstream)"

publish_all() {
  local t
  for t in "$work"/tarballs/*.tgz; do npm publish "$t" --registry "$registry" --loglevel=warn || return 1; done
  echo "published ${#public[@]} packages at $version"
}
check "publish to the local registry" publish_all
if (( failures )); then exit 1; fi

# ------------------------------------------------ install as a user
# PATH without any directory that holds cargo or rustc: no Rust toolchain.
clean_path=
IFS=: read -r -a dirs <<<"$PATH"
for d in "${dirs[@]}"; do
  [ -n "$d" ] || continue
  if [ -x "$d/cargo" ] || [ -x "$d/rustc" ]; then continue; fi
  clean_path=${clean_path:+$clean_path:}$d
done
app="$work/app"
mkdir -p "$app"
# as_user COMMAND...: in the app directory, no Rust on the PATH, nothing
# pointing at a libquiche elsewhere.
as_user() {
  (cd "$app" && env -u QUICHE_LIB -u LD_LIBRARY_PATH PATH="$clean_path" "$@")
}
no_rust() {
  if as_user sh -c 'command -v cargo || command -v rustc'; then echo "Rust is still on the PATH"; return 1; fi
  echo "neither cargo nor rustc on the PATH"
}
check "no Rust toolchain" no_rust

user_install() {
  as_user npm init -y >/dev/null || return 1
  as_user npm install --no-audit --no-fund --prefer-online quichex @quichex/cli 2>&1 | tee "$work/logs/npm-install.log" ||
    return 1
  local installed
  installed="quichex@$(as_user node -p "require('quichex/package.json').version") and @quichex/cli" || return 1
  # Newer npm runs no install script that was not approved: koffi's is not
  # needed (its binaries come in per-platform packages), which the checks
  # below prove by running without it.
  if grep -q 'install-scripts.*koffi' "$work/logs/npm-install.log"; then
    installed="$installed; koffi's install script was not run (npm's install-scripts gate)"
  fi
  echo "installed $installed"
}
check "npm install quichex @quichex/cli" user_install

one_libquiche() {
  local found
  found=$(cd "$app" && find node_modules -name 'libquiche*' -type f)
  echo "found: ${found:-nothing}"
  [ "$(grep -c . <<<"$found")" = 1 ] || { echo "expected exactly one libquiche"; return 1; }
  local sha
  sha=$(sha256sum "$app/$found" | cut -d' ' -f1)
  [ "$sha" = "$published_sha" ] || { echo "sha256 $sha is not the published $published_sha"; return 1; }
  echo "${found} (sha256 ${sha:0:16}…)"
}
check "exactly one libquiche, the published one" one_libquiche

cat >"$app/loaded.mjs" <<'EOF'
// Which libquiche @quichex/ffi (a dependency of quichex) loaded.
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
const ffi = createRequire(fileURLToPath(import.meta.resolve('quichex'))).resolve('@quichex/ffi');
const { library } = await import(pathToFileURL(ffi).href);
const manifest = createRequire(ffi).resolve('@quichex/libquiche-linux-x64-gnu/package.json');
const expected = manifest.replace(/package\.json$/, 'libquiche.so');
if (library.source !== 'prebuilt' || library.path !== expected) {
  console.log(`loaded ${library.path} (${library.source}), expected ${expected}`);
  process.exit(1);
}
console.log(`@quichex/ffi loaded the prebuilt package's libquiche (quiche ${library.version})`);
EOF
check "the prebuilt libquiche is the one loaded" as_user node loaded.mjs

licences_shipped() {
  local m="$app/node_modules" p
  for p in quichex @quichex/ffi @quichex/h3 @quichex/cli "$platform_pkg"; do
    [ -f "$m/$p/LICENSE" ] || { echo "$p has no LICENSE"; return 1; }
  done
  local third="$m/$platform_pkg/THIRD-PARTY-LICENSES.txt"
  [ -f "$third" ] || { echo "$platform_pkg has no THIRD-PARTY-LICENSES.txt"; return 1; }
  grep -q '^  quiche ' "$third" || { echo "quiche's licence is not listed"; return 1; }
  grep -q '^BoringSSL' "$third" || { echo "BoringSSL's licence is not included"; return 1; }
  echo "LICENSE in every package; $(grep -c ' crate(s)$' "$third") licences for the statically linked crates, and BoringSSL's"
}
check "licences shipped" licences_shipped

# The same client/server echo from ESM (import) and from CommonJS (require:
# Node >= 20.19 loads the ES modules); three streams echoed concurrently.
echo_program() {
  cat <<'EOF'
setTimeout(() => {
  console.log('timed out');
  process.exit(1);
}, 30_000).unref();

async function main() {
  const { cert, key } = await generateLocalCertificate();
  const server = await listen({ host: '127.0.0.1', port: 0, config: new Config({ alpn: ['echo'], cert, key }) });
  server.on('connection', (conn) => {
    conn.on('stream', async (stream) => {
      for await (const chunk of stream) await stream.write(chunk);
      await stream.end();
    });
  });
  const conn = await connect({ host: 'localhost', port: server.address().port, config: new Config({ alpn: ['echo'], ca: cert }) });
  const messages = ['hello', 'from', MODULES];
  const replies = await Promise.all(
    messages.map(async (m) => {
      const stream = await conn.openStream();
      await stream.end(m);
      return (await stream.readAll()).toString();
    }),
  );
  await conn.close();
  await server.close();
  if (replies.join(' ') !== messages.join(' ')) throw new Error(`echo mismatch: ${replies.join(' ')}`);
  console.log(`${MODULES} echo: "${replies.join(' ')}" over quiche ${quicheVersion()}`);
}
main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
EOF
}
{
  echo "import { generateLocalCertificate } from '@quichex/cli';"
  echo "import { Config, connect, listen, quicheVersion } from 'quichex';"
  echo "const MODULES = 'ESM';"
  echo_program
} >"$app/echo.mjs"
{
  echo "const { generateLocalCertificate } = require('@quichex/cli');"
  echo "const { Config, connect, listen, quicheVersion } = require('quichex');"
  echo "const MODULES = 'CommonJS';"
  echo_program
} >"$app/echo.cjs"
check "ESM client/server echo" as_user node echo.mjs
check "CommonJS client/server echo" as_user node echo.cjs

# HTTP/3 from the installed @quichex/h3 (a dependency of @quichex/cli):
# serve() with a fetch-style handler, fetch() through an Agent.
cat >"$app/h3.mjs" <<'EOF'
import { generateLocalCertificate } from '@quichex/cli';
import { Agent, fetch, serve } from '@quichex/h3';
setTimeout(() => {
  console.log('timed out');
  process.exit(1);
}, 30_000).unref();
const { cert, key } = await generateLocalCertificate();
const server = await serve({ host: '127.0.0.1', port: 0, cert, key, handler: (req) => new Response(`${req.method} over HTTP/3`) });
const agent = new Agent({ ca: cert });
const res = await fetch(`https://localhost:${server.address().port}/`, { agent });
const text = await res.text();
await agent.close();
await server.close();
if (text !== 'GET over HTTP/3') throw new Error(`unexpected answer: ${text}`);
console.log(`@quichex/h3: ${res.status} "${text}"`);
EOF
check "HTTP/3 fetch against serve (@quichex/h3)" as_user node h3.mjs

cli_help() {
  local out
  out=$(as_user npx --no-install quichex --help) || { echo "$out"; return 1; }
  grep -q '^Usage: quichex <command>' <<<"$out" || { echo "$out"; return 1; }
  echo "npx quichex --help: $(grep -c '^  [a-z]' <<<"$out") commands listed"
}
check "npx quichex --help" cli_help

cli_demo() {
  as_user npx --no-install quichex demo
}
check "npx quichex demo" cli_demo

say "$(( ${#results[@]} - failures )) of ${#results[@]} checks passed in $(( $(date +%s) - started ))s"
(( failures == 0 ))
