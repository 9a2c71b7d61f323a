#!/usr/bin/env bash
# One venv per ansible-core release of tests/matrix/releases.txt, under a cache directory outside the clone
# ($FC_MATRIX_CACHE, default ~/.cache/fleetclock/matrix) so a fresh clone on the same machine reuses them.
# Each venv gets the release's exact ansible-core plus the unit-test tools (pins from requirements-lock.txt)
# on a Python that release supports: found on PATH or in pyenv, else installed with pyenv. If none can be
# found or made, the release is left out with a warning naming it and the Pythons it needs (its matrix step
# then reports SKIP), and with CI=true set-up fails instead.
#   bash scripts/setup-matrix.sh [RELEASE...]    (default: every release)
source "$(dirname "$0")/lib.sh"
# The unit-test tools, pinned exactly as in the main venv.
tools=(pytest hypothesis jsonschema pyyaml)
tool_pins() {
  local t
  for t in "${tools[@]}"; do grep -i "^$t==" "$FC_ROOT/requirements-lock.txt" || die "no pin for $t in requirements-lock.txt"; done
}
pins="$(tool_pins)"
want=("$@")
while read -r release core pythons _steps; do
  if [ "${#want[@]}" -gt 0 ] && [[ " ${want[*]} " != *" $release "* ]]; then continue; fi
  venv="$FC_MATRIX_CACHE/ansible-core-$release"
  stamp="$venv/.fleetclock-$(printf '%s %s %s' "$core" "$pythons" "$pins" | sha256sum | cut -c1-16)"
  if [ -e "$stamp" ]; then log "matrix venv $release up to date ($venv)"; continue; fi
  if ! py="$(find_python "$pythons")"; then
    msg="ansible-core $release needs Python ${pythons//,/ or }: none was found (PATH, pyenv) or could be installed"
    msg+=" (pyenv): install one (e.g. pyenv install ${pythons%%,*}) and re-run"
    [ "${CI:-}" = true ] && die "$msg"
    log "WARNING: $msg; leaving ansible-core $release out of the matrix"; continue
  fi
  log "matrix venv $release: ansible-core $core on $("$py" -V 2>&1) ($py)"
  rm -rf "$venv"
  "$py" -m venv "$venv"
  # shellcheck disable=SC2086
  "$venv/bin/pip" install -q --disable-pip-version-check "ansible-core==$core" $pins
  touch "$stamp"
done < <(matrix_rows)
