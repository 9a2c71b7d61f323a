#!/usr/bin/env bash
# The README's test command: set-up, lint, sanity, unit, integration, build+install, molecule.
# Every step runs even when an earlier one failed; the summary lists each step's result, wall time and the CPU
# time of its processes (children of this script; not the work dockerd does for containers),
# and the exit status is non-zero when any step failed.
# Select steps: FC_STEPS="unit molecule-default" make test
source "$(dirname "$0")/lib.sh"
cd "$FC_ROOT" || exit
export PATH="$FC_VENV/bin:$PATH" ANSIBLE_CONFIG="$FC_ROOT/ansible.cfg" PY_COLORS=0 ANSIBLE_NOCOLOR=1
all_steps="setup lint sanity unit integration build molecule-default molecule-cloud molecule-audit molecule-airgap molecule-remediate lab"
steps="${FC_STEPS:-$all_steps}"
mkdir -p "$FC_ROOT/tests/output"
results=() failed=0 passed=0

step_setup()       { bash scripts/setup.sh; }
step_lint()        { bash scripts/lint.sh; }
step_sanity()      { bash scripts/sanity.sh; }
step_unit()        { pytest -q -p no:cacheprovider tests/unit; }
step_integration() { pytest -q -p no:cacheprovider tests/integration; }
step_build()       { bash scripts/test-build.sh; }
# The skew lab (VMs with their own clocks, docs/lab.md): at most FCLAB_TIMEOUT s (30 min), the lab is
# always stopped afterwards, and its evidence (tests/output/lab-*.txt) is printed.
step_lab() {
  local rc=0 f
  rm -f tests/output/lab-*
  timeout --kill-after=30 "${FCLAB_TIMEOUT:-1800}" pytest -q -p no:cacheprovider tests/lab || rc=$?
  bash scripts/lab.sh down >/dev/null 2>&1 || true
  for f in tests/output/lab-*; do [ -e "$f" ] && { log "$f"; cat "$f"; }; done
  return "$rc"
}
# A scenario may leave evidence in tests/output/molecule-<scenario>-* (e.g. the audit table): printed here.
molecule_scenario() {
  local rc=0 f
  rm -f tests/output/molecule-"$1"-*
  molecule test -s "$1" || rc=$?
  for f in tests/output/molecule-"$1"-*; do
    [ -e "$f" ] && { log "$f"; cat "$f"; [ -z "$(tail -c 1 "$f")" ] || echo; }
  done
  return "$rc"
}

# CPU seconds (user + system) of every finished child of this shell so far, from `times` (run in this shell: in a
# $(...) subshell it would count only the subshell's children) into CPU_NOW. Work that dockerd does for
# containers is not a child of this shell and is not counted.
cpu_file="$FC_ROOT/tests/output/.test-cpu"
cpu_now() {
  times > "$cpu_file"
  CPU_NOW=$(awk 'NR == 2 { for (i = 1; i <= 2; i++) { split($i, p, /[ms]/); t += p[1] * 60 + p[2] } }
                 END { printf "%.0f", t }' "$cpu_file")
}

for s in $steps; do
  log "=== step $s ==="
  start=$(date +%s)
  cpu_now; cpu0=$CPU_NOW
  rc=0
  case "$s" in
    molecule-*) molecule_scenario "${s#molecule-}" || rc=$? ;;
    *) "step_$s" || rc=$? ;;
  esac
  secs=$(( $(date +%s) - start ))
  cpu_now; cpu=$(( CPU_NOW - cpu0 ))
  if [ "$rc" = 0 ]; then passed=$((passed + 1)); results+=("PASS  $s  ${secs}s wall, ${cpu}s cpu"); else
    failed=$((failed + 1)); results+=("FAIL  $s  ${secs}s wall, ${cpu}s cpu (exit $rc)"); fi
  # set-up is a prerequisite for everything else
  if [ "$s" = setup ] && [ "$rc" != 0 ]; then log "set-up failed: stopping"; break; fi
done
printf '\n%s\n' "=== fleetclock test summary ==="
printf '%s\n' "${results[@]}"
echo "fleetclock: $passed passed, $failed failed"
[ "$failed" = 0 ]
