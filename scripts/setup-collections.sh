#!/usr/bin/env bash
# community.docker and ansible.posix (molecule's docker driver needs both) without Galaxy:
# they ship inside the PyPI 'ansible' wheel; unpack just those (plus community.docker's one
# dependency) into collections/ansible_collections/, pinned and cached.
source "$(dirname "$0")/lib.sh"
ANSIBLE_WHEEL_VERSION=12.3.0
ANSIBLE_WHEEL_SHA256=cd156f82fa87f7a899212b0efa9f7ca3a24d609212de9f78428a572eb01e5414
WANT=(community/docker ansible/posix community/library_inventory_filtering_v1)
dest="$FC_ROOT/collections/ansible_collections"
stamp="$dest/.fleetclock-vendored-$ANSIBLE_WHEEL_VERSION"
if [ -e "$stamp" ]; then log "collections up to date (ansible wheel $ANSIBLE_WHEEL_VERSION)"; exit 0; fi
wheel="$FC_SHARED_CACHE/wheels/ansible-$ANSIBLE_WHEEL_VERSION-py3-none-any.whl"
if [ ! -e "$wheel" ]; then
  mkdir -p "$FC_SHARED_CACHE/wheels"
  log "downloading ansible==$ANSIBLE_WHEEL_VERSION wheel (only to unpack two collections)"
  python3 -m pip download -q --disable-pip-version-check --no-deps --only-binary=:all: \
    -d "$FC_SHARED_CACHE/wheels" "ansible==$ANSIBLE_WHEEL_VERSION"
fi
echo "$ANSIBLE_WHEEL_SHA256  $wheel" | sha256sum -c --quiet - || die "checksum mismatch for $wheel"
python3 - "$wheel" "$dest" "${WANT[@]}" <<'PY'
import json, os, shutil, sys, zipfile
wheel, dest, wanted = sys.argv[1], sys.argv[2], sys.argv[3:]
with zipfile.ZipFile(wheel) as z:
    for coll in wanted:
        prefix = "ansible_collections/%s/" % coll
        target = os.path.join(dest, coll)
        shutil.rmtree(target, ignore_errors=True)
        for name in z.namelist():
            if name.startswith(prefix) and not name.endswith("/"):
                out = os.path.join(dest, name[len("ansible_collections/"):])
                os.makedirs(os.path.dirname(out), exist_ok=True)
                with z.open(name) as src, open(out, "wb") as dst:
                    shutil.copyfileobj(src, dst)
        info = json.load(open(os.path.join(target, "MANIFEST.json")))["collection_info"]
        print("[fleetclock] unpacked %s.%s %s" % (info["namespace"], info["name"], info["version"]), file=sys.stderr)
PY
rm -f "$dest"/.fleetclock-vendored-*
touch "$stamp"
