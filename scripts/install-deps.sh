#!/usr/bin/env bash
# Installs what the project needs on a fresh Debian/Ubuntu machine, and nothing
# that is already there. Safe to run again and again (make deps does).
#
# Usage: scripts/install-deps.sh [postgres] [chromium] [npm] [all]   (default: all)
#   postgres  Debian package `postgresql`, unless PostgreSQL server binaries
#             (initdb) are found: on PATH, in `pg_config --bindir`, or in
#             /usr/lib/postgresql/*/bin. assistd and the tests run their own
#             cluster from these binaries (as the `postgres` user when root).
#   chromium  Debian package `chromium`, unless /usr/bin/chromium exists
#             (browser tests drive it with playwright-core).
#   npm       `npm ci` at the repo root (buf, protoc-gen-es, TypeScript deps),
#             unless node_modules was installed from the current package-lock.json.
#
# Needs root for apt-get: uses sudo when not root (and sudo is there).
set -euo pipefail

cd "$(dirname "$0")/.."

log() { printf 'deps: %s\n' "$*"; }
die() { printf 'deps: error: %s\n' "$*" >&2; exit 1; }

# Run a command as root: directly when root, else through sudo.
as_root() {
  if [[ "$(id -u)" -eq 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    die "need root to run: $* (not root, and no sudo)"
  fi
}

apt_updated=0
apt_install() {
  command -v apt-get >/dev/null 2>&1 || die "apt-get not found: install $* by hand"
  if [[ "$apt_updated" -eq 0 ]]; then
    log "running: apt-get update"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update
    apt_updated=1
  fi
  log "running: apt-get install -y --no-install-recommends $*"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@"
}

# Prints the directory holding initdb, or nothing.
find_pg_bindir() {
  local p d
  if p="$(command -v initdb 2>/dev/null)" && [[ -n "$p" ]]; then
    dirname "$p"; return
  fi
  if command -v pg_config >/dev/null 2>&1; then
    d="$(pg_config --bindir 2>/dev/null || true)"
    if [[ -n "$d" && -x "$d/initdb" ]]; then
      echo "$d"; return
    fi
  fi
  # Highest version first.
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -V -r); do
    if [[ -x "$d/initdb" ]]; then
      echo "$d"; return
    fi
  done
}

deps_postgres() {
  local d
  d="$(find_pg_bindir)"
  if [[ -n "$d" ]]; then
    log "postgres: server binaries found in $d ($("$d/postgres" --version 2>/dev/null || echo 'version unknown'))"
    return
  fi
  log "postgres: no initdb found (PATH, pg_config --bindir, /usr/lib/postgresql/*/bin): installing Debian package postgresql"
  apt_install postgresql
  d="$(find_pg_bindir)"
  [[ -n "$d" ]] || die "postgres: installed postgresql but still no initdb found"
  log "postgres: server binaries now in $d"
}

deps_chromium() {
  if [[ -x /usr/bin/chromium ]]; then
    log "chromium: /usr/bin/chromium found ($(/usr/bin/chromium --version 2>/dev/null || echo 'version unknown'))"
    return
  fi
  log "chromium: /usr/bin/chromium missing: installing Debian package chromium"
  apt_install chromium
  [[ -x /usr/bin/chromium ]] || die "chromium: installed but /usr/bin/chromium is still missing"
}

# node_modules is current when it was installed by `npm ci` from the current
# package-lock.json: we keep the lock's hash in a stamp file inside it.
deps_npm() {
  command -v npm >/dev/null 2>&1 || die "npm not found: install Node.js 20+ and npm"
  [[ -f package-lock.json ]] || die "package-lock.json missing at the repo root"
  local stamp=node_modules/.assist-npm-ci.sha256 want have=""
  want="$(cat package.json package-lock.json | sha256sum | cut -d' ' -f1)"
  [[ -f "$stamp" ]] && have="$(cat "$stamp")"
  if [[ -d node_modules && "$have" == "$want" ]]; then
    log "npm: node_modules is up to date with package-lock.json"
    return
  fi
  if [[ -d node_modules ]]; then
    log "npm: node_modules is stale (package.json/package-lock.json changed): running npm ci"
  else
    log "npm: node_modules missing: running npm ci"
  fi
  npm ci --no-audit --no-fund
  echo "$want" >"$stamp"
}

targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(all)
for t in "${targets[@]}"; do
  case "$t" in
    postgres) deps_postgres ;;
    chromium) deps_chromium ;;
    npm) deps_npm ;;
    all) deps_postgres; deps_chromium; deps_npm ;;
    *) die "unknown target '$t' (want: postgres chromium npm all)" ;;
  esac
done
