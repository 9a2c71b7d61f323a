#!/usr/bin/env bash
# Build the test images locally (no registry): mmdebstrap rootfs | docker import.
# Images: fleetclock-test/debian:12 (bookworm) and, when the mirror serves it, :13 (trixie).
# Cached by a hash of the recipe and this script (image label fleetclock.recipe).
source "$(dirname "$0")/lib.sh"
recipe="$FC_ROOT/images/debian.recipe"
key="$(hash_of "$recipe" "$0")"
include="$(sed -n 's/^include=//p' "$recipe")"
download="$(sed -n 's/^download=//p' "$recipe")"
hooks=()
# one download per package: chrony and systemd-timesyncd conflict, so they can't share a transaction
for pkg in ${download//,/ }; do hooks+=("--customize-hook=chroot \"\$1\" apt-get install --download-only -y -q $pkg"); done
command -v mmdebstrap >/dev/null || apt_install mmdebstrap
want="${FC_IMAGES:-12:bookworm 13:trixie}"
for spec in $want; do
  tag="fleetclock-test/debian:${spec%%:*}" suite="${spec#*:}"
  have="$(docker image inspect -f '{{ index .Config.Labels "fleetclock.recipe" }}' "$tag" 2>/dev/null || true)"
  if [ "$have" = "$key" ]; then log "image $tag up to date"; continue; fi
  log "building $tag from Debian $suite (mmdebstrap, ~40 s)"
  # shellcheck disable=SC2016 # "$1" is expanded by mmdebstrap's hook shell, not here
  if ! mmdebstrap --quiet --variant=minbase --include="$include" \
      --skip=cleanup/apt/lists --skip=cleanup/apt/cache \
      "${hooks[@]}" \
      --customize-hook='rm -f "$1"/etc/machine-id; : > "$1"/etc/machine-id' \
      --customize-hook='chroot "$1" systemctl mask getty@.service console-getty.service serial-getty@.service systemd-logind.service >/dev/null 2>&1 || true' \
      "$suite" - 2>"$FC_CACHE/mmdebstrap-$suite.log" \
    | docker import -c 'CMD ["/lib/systemd/systemd"]' -c "LABEL fleetclock.recipe=$key" -c "ENV container=docker" - "$tag" >/dev/null; then
    if [ "${spec%%:*}" = 12 ]; then tail -n 20 "$FC_CACHE/mmdebstrap-$suite.log" >&2; die "building $tag failed"; fi
    log "WARNING: could not build $tag (mirror may not serve $suite); see $FC_CACHE/mmdebstrap-$suite.log"
    continue
  fi
  log "built $tag"
done
