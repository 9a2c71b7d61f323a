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
# check_execution_environment TARBALL WORKDIR COLLECTIONS_PATH: `ansible-builder create` on the example execution
# environment (examples/execution-environment/, the tarball beside it under its fixed name) writes a build context
# whose Containerfile installs the collection from that tarball and, besides it, only ansible-core and
# ansible-runner; the context's own introspection script (the one the image build runs on the installed
# collections) finds no Python or system dependency. No image is built: its base image is on a registry this
# machine cannot reach.
check_execution_environment() {
  local tarball="$1" dir="$2" coll="$3" ctx="$2/context"
  mkdir -p "$dir"
  cp "$FC_ROOT/examples/execution-environment/execution-environment.yml" "$dir/"
  cp "$tarball" "$dir/fleetclock-timesync.tar.gz"
  ansible-builder create -f "$dir/execution-environment.yml" --context "$ctx" --output-filename Containerfile \
    || die "ansible-builder create failed on examples/execution-environment/execution-environment.yml"
  local cf="$ctx/Containerfile"
  cmp -s "$tarball" "$ctx/_build/collections/fleetclock-timesync.tar.gz" \
    || die "the build context lacks the built tarball (_build/collections/fleetclock-timesync.tar.gz)"
  grep -qx -- '- name: /build/collections/fleetclock-timesync.tar.gz' "$ctx/_build/requirements.yml" \
    || die "_build/requirements.yml does not install the collection from its tarball"
  grep -q '^RUN .*ansible-galaxy collection install .*-r requirements.yml' "$cf" \
    || die "the Containerfile does not install the galaxy requirements (the collection)"
  grep -qx 'ARG ANSIBLE_INSTALL_REFS="ansible-core>=2.16,<2.22 ansible-runner"' "$cf" \
    || die "the Containerfile's pip installs are not exactly ansible-core and ansible-runner: $(grep ANSIBLE_INSTALL_REFS= "$cf")"
  local extra
  extra="$(ls "$ctx/_build/requirements.txt" "$ctx/_build/bindep.txt" 2>/dev/null || true)"
  [ -z "$extra" ] || die "the build context carries user Python/system requirements: $extra"
  if grep -q -- '--user-pip\|--user-bindep' "$cf"; then die "the Containerfile adds user requirements to the introspection"; fi
  python3 "$ctx/_build/scripts/introspect.py" introspect "$coll" \
    --write-pip "$dir/requirements.txt" --write-bindep "$dir/bindep.txt" >/dev/null
  if [ -s "$dir/requirements.txt" ] || [ -s "$dir/bindep.txt" ]; then
    die "the image build would install dependencies for the collection: $(cat "$dir/requirements.txt" "$dir/bindep.txt")"
  fi
  log "ansible-builder create: $(basename "$cf") + _build/ (no image built); installs the collection's tarball," \
    "pip: ansible-core, ansible-runner; the build's introspection adds nothing"
}

ansible-galaxy collection build --force --output-path "$work/dist" >/dev/null
tarball="$(ls "$work"/dist/fleetclock-timesync-*.tar.gz)"
log "built $(basename "$tarball") ($(du -k "$tarball" | cut -f1) KiB)"
# Only what users run or read (galaxy.yml build_ignore keeps the rest out): anything else fails the build step.
allowed='^(MANIFEST\.json|FILES\.json|README\.md|CHANGELOG\.md|LICENSE|meta/|meta/runtime\.yml|meta/execution-environment\.yml'
allowed+='|changelogs/|changelogs/changelog\.yaml|changelogs/config\.yaml'
allowed+='|extras/|extras/prometheus/|extras/prometheus/fleetclock\.rules\.yml|extras/grafana/|extras/grafana/[^/]+\.json'
allowed+='|inventory/|inventory/airgap-example\.yml|(plugins|roles|playbooks|schemas|docs)/.*)$'
unexpected="$(tar -tzf "$tarball" | grep -Ev "$allowed" || true)"
pycache="$(tar -tzf "$tarball" | grep -E '(__pycache__|\.pyc$)' || true)"
if [ -n "$unexpected$pycache" ]; then die "the tarball holds files outside its allow-list:"$'\n'"$unexpected$pycache"; fi
log "tarball: $(tar -tzf "$tarball" | grep -vc '/$') files, all inside the allow-list"
listing="$(tar -tzf "$tarball")"
for shipped in extras/prometheus/fleetclock.rules.yml extras/grafana/fleetclock-dashboard.json; do
  grep -qx "$shipped" <<<"$listing" || die "the tarball lacks $shipped (galaxy.yml build_ignore)"
done
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
# What ansible-builder would add to an execution environment for this collection: nothing (see
# meta/execution-environment.yml); a root requirements.txt / bindep.txt would leak in here.
if command -v ansible-builder >/dev/null; then
  [ -e "$work/coll/ansible_collections/fleetclock/timesync/MANIFEST.json" ] || die "installed collection not found for introspection"
  introspect="$(ansible-builder introspect --sanitize "$work/coll")"
  printf '%s\n' "$introspect"
  printf '%s\n' "$introspect" | python3 -c '
import sys, yaml
data = yaml.safe_load(sys.stdin) or {}
extra = {k: v for k, v in data.items() if v}
sys.exit("ansible-builder would install runtime dependencies for the collection: %r" % extra if extra else 0)' \
    || die "ansible-builder introspect: the collection declares runtime dependencies (meta/execution-environment.yml)"
  log "ansible-builder introspect --sanitize: no Python or system dependencies"
  check_execution_environment "$tarball" "$work/ee" "$work/coll"
elif [ "${CI:-}" = true ]; then die "ansible-builder not installed (requirements-dev.txt): bash scripts/setup.sh venv"
else log "SKIP ansible-builder introspect: not installed (bash scripts/setup.sh venv)"; fi
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
