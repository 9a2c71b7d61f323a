#!/usr/bin/env bash
# Build the skew lab's guest image from Debian packages (no registry, no Galaxy):
#   mmdebstrap rootfs (lab/guest.recipe) -> mkfs.ext4 -d -> qcow2 base, plus the kernel and a small initrd
#   (MODULES=list: virtio_pci, virtio_blk, ext4) for direct kernel boot.
# Output in $FC_SHARED_CACHE/lab/image (~/.cache/fleetclock: outside the clone, so a fresh clone on this machine
# reuses it): base.qcow2 vmlinuz initrd.img recipe.hash, and the lab's SSH key ($FC_SHARED_CACHE/lab/id_ed25519;
# its public half is root's authorized key in every guest).
# Cached by a hash of the recipe, the guest files, the key and this script (~2 min to build).
source "$(dirname "$0")/lib.sh"
is_root || die "the lab image is built as root (mmdebstrap into a directory, mkfs.ext4 -d)"
apt_install mmdebstrap qemu-utils e2fsprogs openssh-client
lab="$FC_SHARED_CACHE/lab" out="$FC_SHARED_CACHE/lab/image"
mkdir -p "$lab"
[ -f "$lab/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C fleetclock-lab -f "$lab/id_ed25519"
recipe="$FC_ROOT/lab/guest.recipe"
key="$(hash_of "$recipe" "$0" "$FC_ROOT"/lab/guest/* "$lab/id_ed25519.pub")"
if [ "$(cat "$out/recipe.hash" 2>/dev/null)" = "$key" ] && [ -f "$out/base.qcow2" ]; then
  log "lab image up to date ($out)"; exit 0
fi
suite="$(sed -n 's/^suite=//p' "$recipe")"
include="$(sed -n 's/^include=//p' "$recipe")"
size="$(sed -n 's/^size=//p' "$recipe")"
work="$lab/build.$$"
rm -rf "$out" "$lab"/build.*; mkdir -p "$work/root" "$out"
trap 'rm -rf "$work"' EXIT
log "building the lab guest image from Debian $suite (mmdebstrap, ~2 min)"
guest="$FC_ROOT/lab/guest"
# shellcheck disable=SC2016 # "$1" is expanded by mmdebstrap's hook shell, not here
mmdebstrap --quiet --variant=minbase --include="$include" \
  --customize-hook='printf "MODULES=list\nCOMPRESS=gzip\n" > "$1/etc/initramfs-tools/conf.d/fleetclock-lab"' \
  --customize-hook='printf "virtio_pci\nvirtio_blk\next4\n" >> "$1/etc/initramfs-tools/modules"' \
  --customize-hook='chroot "$1" update-initramfs -u -k all >/dev/null' \
  --customize-hook="install -D -m 0755 '$guest/fclab-identity' \"\$1/usr/local/sbin/fclab-identity\"" \
  --customize-hook="install -D -m 0644 '$guest/fclab-identity.service' \"\$1/etc/systemd/system/fclab-identity.service\"" \
  --customize-hook="install -D -m 0600 '$lab/id_ed25519.pub' \"\$1/root/.ssh/authorized_keys\"" \
  --customize-hook='chroot "$1" systemctl enable fclab-identity.service ssh.service >/dev/null 2>&1' \
  --customize-hook='chroot "$1" systemctl disable chrony.service >/dev/null 2>&1' \
  --customize-hook='chroot "$1" systemctl mask getty@.service getty-static.service serial-getty@.service apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service fstrim.timer man-db.timer systemd-timesyncd.service >/dev/null 2>&1 || true' \
  --customize-hook='printf "/dev/vda / ext4 defaults,noatime 0 1\n" > "$1/etc/fstab"' \
  --customize-hook='rm -f "$1/etc/machine-id"; : > "$1/etc/machine-id"; rm -f "$1/etc/hostname"' \
  --customize-hook="cp -L \"\$1/vmlinuz\" '$out/vmlinuz'; cp -L \"\$1/initrd.img\" '$out/initrd.img'" \
  "$suite" "$work/root" 2>"$lab/mmdebstrap.log" \
  || { tail -n 20 "$lab/mmdebstrap.log" >&2; die "mmdebstrap failed (log: $lab/mmdebstrap.log)"; }
mkfs.ext4 -q -L fclab -d "$work/root" "$work/root.raw" "$size" >/dev/null
qemu-img convert -O qcow2 "$work/root.raw" "$out/base.qcow2"
echo "$key" > "$out/recipe.hash"
log "lab image built: $(du -sh "$out/base.qcow2" | cut -f1) qcow2, initrd $(du -sh "$out/initrd.img" | cut -f1)"
