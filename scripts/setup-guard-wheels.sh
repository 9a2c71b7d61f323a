#!/usr/bin/env bash
# The wheelhouse of the guard test (tests/guard): ansible-core (the main venv's pin, requirements-lock.txt), its
# dependencies and pip, for the Python of the test image fleetclock-test/debian:12 (3.11), so the role
# fleetclock.timesync.audit_schedule installs ansible-core in the guard container with no network.
# Also cron's .debs in its debs/ (pip's --find-links does not look into subdirectories).
# Cached outside the clone: $FC_SHARED_CACHE/wheels/guard-ansible-core-<pin>; the directory's path is printed.
source "$(dirname "$0")/lib.sh"
pin="$(sed -n 's/^ansible-core==//p' "$FC_ROOT/requirements-lock.txt")"
[ -n "$pin" ] || die "no ansible-core==<version> line in requirements-lock.txt"
dir="$FC_SHARED_CACHE/wheels/guard-ansible-core-$pin"
if [ ! -e "$dir/.complete" ]; then
  log "downloading the guard's wheelhouse (ansible-core $pin for Python 3.11) into $dir"
  rm -rf "$dir.tmp"
  "$(venv_bin pip)" download --quiet --dest "$dir.tmp" --only-binary=:all: --python-version 3.11 \
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
