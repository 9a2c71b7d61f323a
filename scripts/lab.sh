#!/usr/bin/env bash
# fleetclock skew lab: small VMs with clocks of their own (containers share the host's clock).
#   scripts/lab.sh up       build the image if needed (scripts/lab-image.sh), boot the guests of lab/guests,
#                           step each clock to its offset, write the inventory and the measured truth
#   scripts/lab.sh truth    measure every guest's offset from this host again (JSON on stdout)
#   scripts/lab.sh ssh NAME [CMD...]   a shell (or a command) on a guest
#   scripts/lab.sh status | down
# Nothing leaves the machine: every qemu runs inside the network namespace the lab creates (FCLAB_NETNS,
# default fclab). A guest's eth0 is QEMU user-mode networking with restrict=on and one port forward, SSH on
# the namespace's 127.0.0.1, reached from here through `ip netns exec NS nc` (the ProxyCommand of the
# lab's one ssh_config, $FC_CACHE/lab/run/ssh_config, which lab.sh, lab_clock.py and the inventory use).
# eth1 is a private L2 the guests share: a QEMU multicast socket on the namespace's loopback, addresses
# from 192.0.2.0/24 (TEST-NET-1) that exist only inside the guests.
# Acceleration: FCLAB_ACCEL=auto (default: KVM when /dev/kvm boots a guest within FCLAB_KVM_TIMEOUT s,
# else TCG), kvm or tcg. State, logs, inventory and truth: $FC_CACHE/lab/run (in the clone); the image and the
# lab key: $FC_SHARED_CACHE/lab (~/.cache/fleetclock/lab, shared by the clones on this machine).
source "$(dirname "$0")/lib.sh"
lab="$FC_SHARED_CACHE/lab" run="$FC_CACHE/lab/run" img="$FC_SHARED_CACHE/lab/image"
ns="${FCLAB_NETNS:-fclab}"
port_base="${FCLAB_PORT_BASE:-2210}"
mem="${FCLAB_MEM:-256}"
boot_timeout="${FCLAB_BOOT_TIMEOUT:-600}"
mapfile -t guests < <(grep -v '^#' "$FC_ROOT/lab/guests" | awk 'NF >= 4 {print $1, $2, $3, $4}')

ssh_config="$run/ssh_config"
write_ssh_config() { # how to reach every guest: its forwarded port in the namespace, the lab's key, no host keys kept
  local g name i=0
  {
    echo "# written by scripts/lab.sh up: SSH to the skew lab's guests (ssh -F this-file NAME)"
    for g in "${guests[@]}"; do name="${g%% *}"; printf 'Host %s\n  Port %s\n' "$name" $((port_base + i)); i=$((i + 1)); done
    echo "Host *"
    echo "  User root"
    echo "  IdentityFile $lab/id_ed25519"
    echo "  IdentitiesOnly yes"
    echo "  StrictHostKeyChecking no"
    echo "  UserKnownHostsFile /dev/null"
    echo "  LogLevel ERROR"
    echo "  BatchMode yes"
    echo "  ConnectTimeout 20"
    echo "  ServerAliveInterval 15"
    echo "  ProxyCommand ip netns exec $ns nc 127.0.0.1 %p"
  } > "$ssh_config"
}
# shellcheck disable=SC2029 # the command runs on the guest, as ssh joins it: that is the point
lab_ssh() {
  [ -f "$ssh_config" ] || die "the lab is not up ($ssh_config is missing): scripts/lab.sh up"
  grep -qx "Host $1" "$ssh_config" || die "no guest '$1' in lab/guests"
  ssh -F "$ssh_config" "$@"
}
ready() { lab_ssh "$1" true </dev/null >/dev/null 2>&1; }

qemu_cmd() { # name addr index accel
  local name="$1" addr="$2" i="$3" accel="$4" port=$((port_base + $3)) mac
  mac="$(printf '52:54:00:fc:%02x' "$i")"
  printf '%s\n' qemu-system-x86_64 -name "$name" -nodefaults -no-user-config -display none \
    -accel "$accel" -cpu qemu64 -m "$mem" -smp 1 \
    -kernel "$img/vmlinuz" -initrd "$img/initrd.img" \
    -append "root=/dev/vda rw console=ttyS0 net.ifnames=0 quiet systemd.hostname=$name fclab.addr=$addr/24" \
    -drive "file=$run/$name.qcow2,if=virtio,format=qcow2" \
    -netdev "user,id=ctl,restrict=on,hostfwd=tcp:127.0.0.1:$port-:22" -device "virtio-net-pci,netdev=ctl,mac=$mac:01" \
    -netdev "socket,id=lab,mcast=239.255.70.67:${FCLAB_MCAST_PORT:-7067},localaddr=127.0.0.1" \
    -device "virtio-net-pci,netdev=lab,mac=$mac:02" \
    -serial "file:$run/$name.console" -pidfile "$run/$name.pid" -daemonize
}

start_guest() { # name addr index accel
  qemu-img create -q -f qcow2 -b "$img/base.qcow2" -F qcow2 "$run/$1.qcow2"
  local -a cmd; mapfile -t cmd < <(qemu_cmd "$@")
  ip netns exec "$ns" "${cmd[@]}" || die "qemu for $1 did not start (console: $run/$1.console)"
}

stop_guest() { # name: stop the qemu by its recorded PID
  local pidf="$run/$1.pid" pid
  [ -f "$pidf" ] || return 0
  pid="$(cat "$pidf")"
  if kill -0 "$pid" 2>/dev/null && grep -q qemu "/proc/$pid/comm" 2>/dev/null; then
    kill "$pid"; for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$pidf"
}

wait_ready() { # timeout name...
  local deadline=$(( $(date +%s) + $1 )) g; shift
  for g in "$@"; do
    until ready "$g"; do
      [ "$(date +%s)" -lt "$deadline" ] || return 1
      sleep 3
    done
  done
}

pick_accel() {
  local want="${FCLAB_ACCEL:-auto}"
  case "$want" in tcg) echo "tcg,tb-size=64"; return ;; kvm) echo kvm; return ;; auto) ;; *) die "FCLAB_ACCEL: auto, kvm or tcg" ;; esac
  # KVM needs the CPU's virtualization extensions: without the vmx/svm flag (a VM without nested virtualization)
  # /dev/kvm may exist but boots no guest, and trying costs FCLAB_KVM_TIMEOUT
  if ! grep -qw -e vmx -e svm /proc/cpuinfo; then
    log "no vmx/svm flag in /proc/cpuinfo: KVM cannot run guests here, TCG (software emulation)"
  elif [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
    local name addr _
    read -r name addr _ <<<"${guests[0]}"
    log "trying KVM: $name must answer SSH within ${FCLAB_KVM_TIMEOUT:-45} s"
    start_guest "$name" "$addr" 0 kvm
    if wait_ready "${FCLAB_KVM_TIMEOUT:-45}" "$name"; then echo kvm; return; fi
    log "KVM did not boot a guest here: TCG (software emulation)"
    stop_guest "$name"; rm -f "$run/$name.qcow2"
  fi
  echo "tcg,tb-size=64"
}

write_inventory() {
  local g name addr offset role i=0
  {
    echo "# written by scripts/lab.sh up: the fleetclock skew lab (one air-gapped site)"
    echo "all:"
    echo "  vars:"
    echo "    ansible_ssh_common_args: -F $ssh_config"
    echo "    ansible_python_interpreter: /usr/bin/python3"
    echo "    chrony_package_update_cache: false"
    echo "    chrony_airgap: true"
    echo "    chrony_airgap_client_networks: [192.0.2.0/24]"
    echo "  children:"
    echo "    time_masters:"
    echo "      hosts:"
    for g in "${guests[@]}"; do read -r name addr offset role <<<"$g"
      [ "$role" = master ] && printf '        %s: {chrony_airgap_address: %s}\n' "$name" "$addr"; done
    echo "    lab_clients:"
    echo "      hosts:"
    for g in "${guests[@]}"; do read -r name addr offset role <<<"$g"
      [ "$role" = master ] || printf '        %s: {chrony_airgap_address: %s}\n' "$name" "$addr"; done
  } > "$run/inventory.yml"
}

clock_tool() { python3 "$FC_ROOT/scripts/lab_clock.py" --ssh-config "$ssh_config" "$@"; }
clock_args() { local g name addr offset role; for g in "${guests[@]}"; do read -r name addr offset role <<<"$g"
  echo "$name:$offset"; done; }

cmd_up() {
  is_root || die "the lab needs root (network namespace, qemu)"
  apt_install qemu-system-x86 qemu-utils netcat-openbsd iproute2 openssh-client
  cmd_down 2>/dev/null || true  # a lab left over from an earlier run goes first (its overlays use the image)
  bash "$FC_ROOT/scripts/lab-image.sh"
  mkdir -p "$run"
  write_ssh_config
  ip netns add "$ns"
  ip -n "$ns" link set lo multicast on
  ip -n "$ns" link set lo up
  local t0 accel g name addr offset role i=0
  t0=$(date +%s)
  accel="$(pick_accel)"
  log "booting ${#guests[@]} guests ($accel, $mem MiB each)"
  for g in "${guests[@]}"; do read -r name addr offset role <<<"$g"
    [ -f "$run/$name.pid" ] || start_guest "$name" "$addr" "$i" "$accel"
    i=$((i + 1)); done
  local names=(); for g in "${guests[@]}"; do names+=("${g%% *}"); done
  wait_ready "$boot_timeout" "${names[@]}" || { tail -n 30 "$run"/*.console >&2; die "guests not SSH-ready after ${boot_timeout}s"; }
  log "guests SSH-ready after $(( $(date +%s) - t0 )) s; stepping clocks"
  mapfile -t args < <(clock_args)
  clock_tool step "${args[@]}" > "$run/truth.json"
  echo "$accel" > "$run/accel"
  write_inventory
  log "lab up: inventory $run/inventory.yml, truth $run/truth.json"
  python3 -c 'import json,sys; [print("  %-14s target %+8.3f s  measured %+10.4f s +/- %.4f s" % (g["name"], g["target"], g["offset"], g["bound"])) for g in json.load(open(sys.argv[1]))["guests"]]' "$run/truth.json" >&2
}

cmd_truth() { mapfile -t args < <(clock_args); clock_tool measure "${args[@]}"; }

cmd_down() {
  local g
  for g in "${guests[@]}"; do stop_guest "${g%% *}"; done
  # qemus whose PID file is gone but still run in the namespace (a crashed 'up')
  if ip netns pids "$ns" >/dev/null 2>&1; then
    local p; for p in $(ip netns pids "$ns" 2>/dev/null); do grep -q qemu "/proc/$p/comm" 2>/dev/null && kill -9 "$p" 2>/dev/null; done
    ip netns del "$ns" 2>/dev/null || true
  fi
  rm -f "$run"/*.qcow2 "$ssh_config"
  log "lab down"
}

cmd_status() {
  local g name
  for g in "${guests[@]}"; do name="${g%% *}"
    if [ -f "$run/$name.pid" ] && kill -0 "$(cat "$run/$name.pid")" 2>/dev/null; then
      if ready "$name"; then echo "$name running, SSH ready"; else echo "$name running, no SSH yet"; fi
    else echo "$name stopped"; fi
  done
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  truth) cmd_truth ;;
  status) cmd_status ;;
  ssh) shift; [ $# -ge 1 ] || die "usage: lab.sh ssh NAME [CMD...]"; lab_ssh "$@" ;;
  *) die "usage: scripts/lab.sh up|truth|status|ssh NAME [CMD]|down" ;;
esac
