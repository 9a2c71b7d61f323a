# shellcheck shell=bash
# Shared helpers for the fleetclock set-up and test scripts. Source it; don't run it.
set -euo pipefail
FC_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FC_CACHE="${FC_CACHE:-$FC_ROOT/.cache}"
FC_VENV="${FC_VENV:-$FC_ROOT/.venv}"
# What takes long to make and does not depend on the clone (the matrix's per-release venvs, the lab's guest image
# and key, downloaded wheels): outside the clone, shared by every clone on this machine, each keyed by its recipe.
FC_SHARED_CACHE="${FC_SHARED_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/fleetclock}"
FC_MATRIX_CACHE="${FC_MATRIX_CACHE:-$FC_SHARED_CACHE/matrix}"
export FC_ROOT FC_CACHE FC_VENV FC_SHARED_CACHE FC_MATRIX_CACHE
mkdir -p "$FC_CACHE" "$FC_SHARED_CACHE"

log()  { printf '\033[1m[fleetclock]\033[0m %s\n' "$*" >&2; }
die()  { printf '[fleetclock] ERROR: %s\n' "$*" >&2; exit 1; }
is_root() { [ "$(id -u)" = 0 ]; }

# hash_of FILE... -> one sha256 over the files' contents (a recipe's cache key)
hash_of() { cat "$@" | sha256sum | cut -c1-16; }

# apt_install PKG... : install Debian packages as root, never starting their daemons
# (chrony's postinst would otherwise start chronyd with Debian's public pool).
apt_install() {
  is_root || die "need root to install $*: run 'sudo apt-get install $*' and try again"
  local missing=() p
  for p in "$@"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p"); done
  [ "${#missing[@]}" -eq 0 ] && return 0
  log "apt-get install ${missing[*]}"
  local guard=/usr/sbin/policy-rc.d had_guard=0
  [ -e "$guard" ] && had_guard=1
  if [ "$had_guard" = 0 ]; then printf '#!/bin/sh\nexit 101\n' > "$guard"; chmod 755 "$guard"; fi
  local rc=0
  { [ -n "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mmin -1440 2>/dev/null | head -n1)" ] \
      || apt-get update -q; } >&2 || rc=$?
  [ "$rc" = 0 ] && { DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1 apt-get install -y -q --no-install-recommends "${missing[@]}" >&2 || rc=$?; }
  [ "$had_guard" = 0 ] && rm -f "$guard"
  return "$rc"
}

venv_bin() { printf '%s/bin/%s' "$FC_VENV" "$1"; }

# The ansible-core matrix (tests/matrix/releases.txt): its rows without comments.
matrix_rows() { grep -v '^#' "$FC_ROOT/tests/matrix/releases.txt" | awk 'NF' ; }
# find_python "3.12,3.13" -> path of the first Python of one of those versions: PATH, then pyenv, then pyenv install
find_python() {
  local v p root
  root="$(pyenv root 2>/dev/null || echo "${PYENV_ROOT:-$HOME/.pyenv}")"
  for v in ${1//,/ }; do
    for p in "$(command -v "python$v" 2>/dev/null)" "$root"/versions/"$v"*/bin/python"$v"; do
      [ -x "$p" ] && "$p" -c 'import venv, ensurepip' 2>/dev/null && { printf '%s\n' "$p"; return 0; }
    done
  done
  if command -v pyenv >/dev/null; then
    for v in ${1//,/ }; do
      log "no Python $v found: pyenv install $v (compiles; several minutes)"
      pyenv install -s "$v" >&2 || continue
      for p in "$root"/versions/"$v"*/bin/python"$v"; do [ -x "$p" ] && { printf '%s\n' "$p"; return 0; }; done
    done
  fi
  return 1
}
# main_core_pin -> the main venv's exact ansible-core (requirements-lock.txt)
main_core_pin() {
  sed -n 's/^ansible-core==//p' "$FC_ROOT/requirements-lock.txt" | grep . || die "no ansible-core==<version> line in requirements-lock.txt"
}
