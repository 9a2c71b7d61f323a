#!/usr/bin/env bash
# The local demo fleet that `make audit` audits when no INVENTORY is given: five containers on an
# internal Docker network (nothing leaves the machine), one serving time, three clients synced to
# it with clock offsets injected by libfaketime (+120 s as in the JWT incident), one without chrony.
#   scripts/demo-fleet.sh up     start it, or reuse it when it is already running
#   scripts/demo-fleet.sh down   remove it
source "$(dirname "$0")/lib.sh"
NET=fc-demo-net
IMAGE=fleetclock-test/debian:12
LIBFT=/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1
# name  offset(s)  role
FLEET="demo-ntp 0 server
demo-web1 +120 client
demo-web2 -3 client
demo-api +0.4 client
demo-db -0.8 none"
key="$(hash_of "$0")"

down() {
  local ids
  ids="$(docker ps -aq --filter label=fleetclock.demo)"
  [ -n "$ids" ] && printf "%s\n" "$ids" | xargs docker rm -f >/dev/null
  docker network rm "$NET" >/dev/null 2>&1 || true
  log "demo fleet removed"
}

running_ok() {
  local n
  n="$(docker ps -q --filter "label=fleetclock.demo=$key" | wc -l)"
  [ "$n" = "$(printf '%s\n' "$FLEET" | wc -l)" ]
}

start_one() {
  local name="$1" offset="$2" role="$3" env=()
  [ "$offset" != 0 ] && env=(-e "LD_PRELOAD=$LIBFT" -e "FAKETIME=$offset" -e FAKETIME_DONT_FAKE_MONOTONIC=1)
  docker run -d --name "$name" --hostname "$name" --network "$NET" --label "fleetclock.demo=$key" \
    "${env[@]}" "$IMAGE" sleep infinity >/dev/null
  [ "$role" = none ] && return 0
  local conf
  if [ "$role" = server ]; then
    conf="local stratum 8\nallow $SUBNET\n"
  else
    conf="server demo-ntp iburst minpoll -2 maxpoll 2\nmakestep 1 3\n"
  fi
  # install from the image's apt cache without starting the daemon, then run chronyd -x ourselves
  docker exec "$name" sh -ec "printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q chrony >/dev/null 2>&1; rm -f /usr/sbin/policy-rc.d
    printf '${conf}driftfile /var/lib/chrony/chrony.drift\nbindcmdaddress 127.0.0.1\n' > /etc/chrony/chrony.conf
    chronyd -x -f /etc/chrony/chrony.conf"
}

up() {
  if running_ok; then log "demo fleet already running: reusing it"; return 0; fi
  down >/dev/null
  docker image inspect "$IMAGE" >/dev/null 2>&1 || bash "$FC_ROOT/scripts/build-images.sh"
  # Docker picks a free subnet: a fixed one could collide with the host's own network
  docker network create --internal "$NET" >/dev/null
  SUBNET="$(docker network inspect -f '{{ (index .IPAM.Config 0).Subnet }}' "$NET")"
  log "starting the demo fleet (5 containers on internal network $NET)"
  local pids=() name offset role
  while read -r name offset role; do start_one "$name" "$offset" "$role" & pids+=($!); done <<<"$FLEET"
  for p in "${pids[@]}"; do wait "$p"; done
  log "waiting for the clients to sync to demo-ntp"
  for _ in $(seq 1 30); do
    docker exec demo-web2 chronyc -n -c tracking 2>/dev/null | grep -q ',Normal$' && break
    sleep 1
  done
  log "demo fleet up: demo-ntp (serves time), demo-web1 (+120 s), demo-web2 (-3 s), demo-api (+0.4 s), demo-db (-0.8 s, no chrony)"
}

case "${1:-up}" in
  up) up ;;
  down) down ;;
  *) die "usage: $0 up|down" ;;
esac
