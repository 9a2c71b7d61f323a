#!/usr/bin/env bash
# Controller-side tools the tests use: chronyd (to validate rendered configs with `chronyd -p`,
# it is never started), promtool (to check the Prometheus textfile), faketime,
# prometheus and prometheus-node-exporter (the guard test runs both on loopback, tests/guard),
# ShellCheck (ansible-test sanity checks the scripts with it) and chromium (the HTML report's
# layout is checked in a headless browser, tests/integration/test_html_report.py) and openssl (the NTS
# certificate of tests/integration/test_probe_docker.py).
source "$(dirname "$0")/lib.sh"
need=()
command -v chronyd >/dev/null || [ -x /usr/sbin/chronyd ] || need+=(chrony)
command -v promtool >/dev/null || need+=(prometheus)
[ -x /usr/bin/prometheus-node-exporter ] || need+=(prometheus-node-exporter)
command -v faketime >/dev/null || need+=(faketime)
command -v make >/dev/null || need+=(make)
command -v shellcheck >/dev/null || need+=(shellcheck)
command -v chromium >/dev/null || need+=(chromium)
command -v openssl >/dev/null || need+=(openssl)
[ "${#need[@]}" -eq 0 ] && { log "host tools present"; exit 0; }
apt_install "${need[@]}"
