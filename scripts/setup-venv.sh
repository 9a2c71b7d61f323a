#!/usr/bin/env bash
# Create .venv with the pinned tooling (ansible-core, molecule, testinfra, linters, pytest, ansible-builder,
# antsibull-changelog, antsibull-docs).
# Re-runs are no-ops until requirements-dev.txt / requirements-lock.txt change. (Not requirements.txt: that name at
# a collection's root is its runtime Python dependencies for ansible-builder; the runtime ones are in
# meta/execution-environment.yml.)
source "$(dirname "$0")/lib.sh"
stamp="$FC_VENV/.fleetclock-$(hash_of "$FC_ROOT/requirements-dev.txt" "$FC_ROOT/requirements-lock.txt")"
if [ -e "$stamp" ]; then log "venv up to date ($FC_VENV)"; exit 0; fi
command -v python3 >/dev/null || die "python3 not found: install Python 3.11+"
python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' || die "Python 3.11+ required (ansible-core 2.19)"
python3 -m venv "$FC_VENV" 2>/dev/null || { apt_install python3-venv; python3 -m venv "$FC_VENV"; }
log "installing pinned tooling into $FC_VENV"
"$FC_VENV/bin/pip" install -q --disable-pip-version-check \
  -r "$FC_ROOT/requirements-dev.txt" -c "$FC_ROOT/requirements-lock.txt"
rm -f "$FC_VENV"/.fleetclock-*
touch "$stamp"
log "venv ready: $("$FC_VENV/bin/ansible" --version | sed -n 1p)"  # sed reads it all: no broken pipe
