#!/usr/bin/env bash
# ansible-test sanity, offline. ansible-test wants a collection tree
# (ansible_collections/fleetclock/timesync) and bootstraps pip in its venvs with a get-pip script
# from the internet; a local stand-in (ensurepip + pip install from PyPI) satisfies it.
source "$(dirname "$0")/lib.sh"
py="$(venv_bin python)"
pipver="$("$py" - <<'PY'
import re, ansible_test, os
src = open(os.path.join(os.path.dirname(ansible_test.__file__), "_internal", "python_requirements.py")).read()
print(re.search(r"pip='([0-9.]+)'", src).group(1))
PY
)"
standin="$HOME/.ansible/test/cache/get_pip_${pipver//./_}.py"
if [ ! -e "$standin" ]; then
  mkdir -p "$(dirname "$standin")"
  cat > "$standin" <<'PY'
# fleetclock stand-in for get-pip.py: ensurepip, then pip install what ansible-test asked for.
import subprocess, sys
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"])
subprocess.check_call([sys.executable, "-m", "pip", "install", "--disable-pip-version-check"] + args)
PY
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
dest="$work/ansible_collections/fleetclock/timesync"
mkdir -p "$dest"
# tracked + untracked-but-not-ignored files, minus the in-checkout collection path
(cd "$FC_ROOT" && git ls-files -co --exclude-standard | grep -v '^collections/' \
  | while read -r f; do [ -e "$f" ] && printf '%s\0' "$f"; done | xargs -0 cp --parents -t "$dest")
cd "$dest" || exit
git init -q && git add -A && git -c user.name=ci -c user.email=ci@localhost commit -qm sanity
log "ansible-test sanity (python ${FC_SANITY_PYTHON:-3.11})"
PATH="$FC_VENV/bin:$PATH" ansible-test sanity --python "${FC_SANITY_PYTHON:-3.11}" --color no "$@"
