#!/usr/bin/env bash
# The README's main command (`make audit`): audit INVENTORY, or, without one, a local demo fleet
# that this starts (or reuses) first. Extra ansible-playbook arguments go in ARGS.
source "$(dirname "$0")/lib.sh"
cd "$FC_ROOT" || exit
bash scripts/setup.sh venv collections
export ANSIBLE_CONFIG="$FC_ROOT/ansible.cfg"
inventory="${INVENTORY:-}"
if [ -z "$inventory" ]; then
  bash scripts/setup.sh docker images
  bash scripts/demo-fleet.sh up
  inventory="$FC_ROOT/inventory/demo.yml"
  log "no INVENTORY given: auditing the local demo fleet (remove it with: make demo-down)"
fi
rc=0
# shellcheck disable=SC2086 # ARGS is a list of extra arguments, split on purpose
"$(venv_bin ansible-playbook)" fleetclock.timesync.audit -i "$inventory" ${ARGS:-} || rc=$?
out="$FC_ROOT/reports"  # the playbook writes to ./reports unless fleetclock_audit_output_dir says otherwise
log "reports: $(find "$out" -maxdepth 1 -type f 2>/dev/null | sort | tr '\n' ' ')"
case "$rc" in
  0) log "audit status: OK or WARNING (exit 0)" ;;
  *) log "audit status: CRITICAL/UNKNOWN (exit $rc): see the reasons above and the reports" ;;
esac
exit "$rc"
