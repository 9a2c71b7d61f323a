#!/usr/bin/env bash
# Create .venv with the pinned tooling (ansible-core, molecule, testinfra, linters, pytest, ansible-builder,
# antsibull-changelog, antsibull-docs) on the Python its ansible-core wants: the Pythons of the matrix row
# (tests/matrix/releases.txt) whose pin is requirements-lock.txt's ansible-core, preferred first; found on PATH or
# in pyenv, else installed with pyenv (scripts/lib.sh find_python).
# Re-runs are no-ops until requirements-dev.txt / requirements-lock.txt / the matrix row change. (Not
# requirements.txt: that name at a collection's root is its runtime Python dependencies for ansible-builder; the
# runtime ones are in meta/execution-environment.yml.)
source "$(dirname "$0")/lib.sh"
pin="$(main_core_pin)"
row="$(matrix_rows | awk -v p="$pin" '$2 == p')"
[ -n "$row" ] || die "the main venv's ansible-core $pin (requirements-lock.txt) is not a row of tests/matrix/releases.txt"
pythons="$(awk '{ print $3 }' <<< "$row")"
stamp="$FC_VENV/.fleetclock-$(printf '%s\n' "$row" | cat - "$FC_ROOT/requirements-dev.txt" "$FC_ROOT/requirements-lock.txt" | sha256sum | cut -c1-16)"
if [ -e "$stamp" ]; then log "venv up to date ($FC_VENV)"; exit 0; fi
py="$(find_python "$pythons")" || die "ansible-core $pin needs Python ${pythons//,/ or }: none found (PATH, pyenv) or installable; install one (e.g. pyenv install ${pythons%%,*}) and re-run"
log "creating $FC_VENV on $("$py" -V 2>&1) ($py)"
rm -rf "$FC_VENV"
"$py" -m venv "$FC_VENV"
log "installing pinned tooling into $FC_VENV"
"$FC_VENV/bin/pip" install -q --disable-pip-version-check \
  -r "$FC_ROOT/requirements-dev.txt" -c "$FC_ROOT/requirements-lock.txt"
touch "$stamp"
log "venv ready: $("$FC_VENV/bin/ansible" --version | sed -n 1p) on $("$FC_VENV/bin/python" -V 2>&1)"  # sed reads it all: no broken pipe
