#!/usr/bin/env bash
# Make sure a Docker engine answers. As root on Debian, install docker.io and start dockerd
# ourselves when none runs (hosts without systemd, e.g. CI runners); otherwise say what to run.
source "$(dirname "$0")/lib.sh"
if docker info >/dev/null 2>&1; then log "docker engine answers"; exit 0; fi
is_root || die "no Docker engine answers. Start one (e.g. 'sudo systemctl start docker') or run this as root to let it install and start docker.io."
command -v dockerd >/dev/null || apt_install docker.io
if [ -d /run/systemd/system ] && systemctl start docker 2>/dev/null; then :; else
  log "starting dockerd (log: /var/log/fleetclock-dockerd.log)"
  nohup dockerd >/var/log/fleetclock-dockerd.log 2>&1 </dev/null &
fi
for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && { log "docker engine up"; exit 0; }; sleep 1; done
tail -n 20 /var/log/fleetclock-dockerd.log >&2 || true
die "dockerd did not come up within 60 s (see /var/log/fleetclock-dockerd.log)"
