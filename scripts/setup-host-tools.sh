#!/usr/bin/env bash
# Controller-side tools the tests use: chronyd (to validate rendered configs with `chronyd -p`,
# it is never started), promtool (to check the Prometheus textfile), faketime,
# and ShellCheck (ansible-test sanity checks the scripts with it).
source "$(dirname "$0")/lib.sh"
need=()
command -v chronyd >/dev/null || [ -x /usr/sbin/chronyd ] || need+=(chrony)
command -v promtool >/dev/null || need+=(prometheus)
command -v faketime >/dev/null || need+=(faketime)
command -v make >/dev/null || need+=(make)
command -v shellcheck >/dev/null || need+=(shellcheck)
[ "${#need[@]}" -eq 0 ] && { log "host tools present"; exit 0; }
apt_install "${need[@]}"
