#!/usr/bin/env bash
# The wheelhouse of the guard test (tests/guard): ansible-core, its dependencies and pip, for the Python of the
# test image fleetclock-test/debian:12 (3.11), so the role
# fleetclock.timesync.audit_schedule installs ansible-core in the guard container with no network.
# Also cron's .debs in its debs/ (pip's --find-links does not look into subdirectories).
# Cached outside the clone: $FC_SHARED_CACHE/wheels/guard-ansible-core-<pin>; the directory's path is printed.
source "$(dirname "$0")/lib.sh"
# The image's Python runs neither 2.20 nor 2.21: the pin is that of the newest release of the matrix
# (tests/matrix/releases.txt) whose Pythons include it.
image_python=3.11
pin="$(matrix_rows | awk -v py="$image_python" 'index("," $3 ",", "," py ",") { pin = $2 } END { print pin }')"
[ -n "$pin" ] || die "no release of tests/matrix/releases.txt runs on Python $image_python (the guard image's)"
dir="$FC_SHARED_CACHE/wheels/guard-ansible-core-$pin"
if [ ! -e "$dir/.complete" ]; then
  log "downloading the guard's wheelhouse (ansible-core $pin for Python $image_python) into $dir"
  rm -rf "$dir.tmp"
  "$(venv_bin pip)" download --quiet --dest "$dir.tmp" --only-binary=:all: --python-version "$image_python" \
    "ansible-core==$pin" pip >&2
  touch "$dir.tmp/.complete"
  rm -rf "$dir"
  mv "$dir.tmp" "$dir"
fi
# cron's packages (the image has no crontab): the guard test's cron schedule. The host is Debian 12 like the image.
debs="$dir/debs"
if [ ! -e "$debs/.complete" ]; then
  log "downloading cron's packages for the guard test into $debs"
  rm -rf "$debs.tmp" && mkdir -p "$debs.tmp"
  (cd "$debs.tmp" && apt-get download cron cron-daemon-common >&2) || die "apt-get download cron failed"
  touch "$debs.tmp/.complete"
  rm -rf "$debs"
  mv "$debs.tmp" "$debs"
fi
echo "$dir"
