#!/usr/bin/env bash
# The collection also works when built and installed from the tarball: build it, install it into
# an empty collections path, and use it from a directory that has neither the checkout nor its
# ansible.cfg: ansible-doc for every plugin, the audit playbook on localhost, the role's render.
source "$(dirname "$0")/lib.sh"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export PATH="$FC_VENV/bin:$PATH"
unset ANSIBLE_CONFIG ANSIBLE_COLLECTIONS_PATH ANSIBLE_COLLECTIONS_PATHS ANSIBLE_ROLES_PATH
cd "$FC_ROOT" || exit
ansible-galaxy collection build --force --output-path "$work/dist" >/dev/null
tarball="$(ls "$work"/dist/fleetclock-timesync-*.tar.gz)"
log "built $(basename "$tarball") ($(du -k "$tarball" | cut -f1) KiB)"
if tar -tzf "$tarball" | grep -Eq '^(\.venv|\.cache|collections|molecule|scripts)/'; then
  die "the tarball contains development files"
fi
ANSIBLE_COLLECTIONS_PATH="$work/coll" ansible-galaxy collection install --offline -p "$work/coll" "$tarball" >/dev/null
cd "$work" || exit
printf '[defaults]\n' > "$work/empty.cfg"  # no ansible.cfg of the checkout
export ANSIBLE_COLLECTIONS_PATH="$work/coll" ANSIBLE_CONFIG="$work/empty.cfg"
for p in $(ansible-doc -l fleetclock.timesync 2>/dev/null | awk '{print $1}'); do
  ansible-doc "$p" >/dev/null || die "ansible-doc $p failed for the installed collection"
done
for p in $(ansible-doc -t filter -l fleetclock.timesync 2>/dev/null | awk '{print $1}'); do
  ansible-doc -t filter "$p" >/dev/null || die "ansible-doc -t filter $p failed"
done
ansible-doc -t role fleetclock.timesync.chrony >/dev/null || die "role docs do not render"
log "ansible-doc renders every module, filter and the role"
cat > inv.yml <<'YAML'
all:
  hosts:
    installed-local:
      ansible_connection: local
      ansible_python_interpreter: "{{ ansible_playbook_python }}"
YAML
ansible-playbook -i inv.yml fleetclock.timesync.audit \
  -e fleetclock_audit_output_dir="$work/reports" -e fleetclock_audit_fail_on_unsynchronised=false
test -s "$work/reports/clock-audit.json" || die "audit wrote no JSON report"
cat > render.yml <<'YAML'
- name: Render chrony.conf with the installed collection
  hosts: installed-local
  gather_facts: false
  vars:
    ansible_facts: {os_family: Debian, distribution: Debian, distribution_major_version: "12"}
    chrony_cloud: aws
    chrony_render_dest: "{{ playbook_dir }}/chrony.conf"
  tasks:
    - name: Render
      ansible.builtin.include_role:
        name: fleetclock.timesync.chrony
        tasks_from: render
YAML
ansible-playbook -i inv.yml render.yml >/dev/null || die "role render failed from the installed collection"
grep -q '^server 169.254.169.123 prefer iburst minpoll 4 maxpoll 4' chrony.conf || die "rendered file lacks the AWS source"
/usr/sbin/chronyd -p -f chrony.conf >/dev/null || die "chronyd -p rejects the rendered file"
log "installed collection: audit and role render work"
