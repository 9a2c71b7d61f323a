#!/usr/bin/env bash
# The README's test command: set-up, lint, sanity, unit, integration, build+install, molecule.
# Every step runs even when an earlier one failed; the summary lists each step's result, wall time and the CPU
# time of its processes (children of this script; not the work dockerd does for containers),
# and the exit status is non-zero when any step failed.
# Select steps: FC_STEPS="unit molecule-airgap" make test
# The ansible-core matrix (tests/matrix/releases.txt): one step per release, matrix-<release>, in that release's venv
# (scripts/setup-matrix.sh). They need only the controller (and docker for the newest), so they run one after
# another in the background, alongside the container-bound molecule and lab steps, and so do the molecule cloud
# scenario and the guard step, which mostly wait (cloud: for chronyd in six containers without network, 387 s wall
# of which 204 s CPU; guard: for its timer and Prometheus, 176 s wall, 47 s CPU; 2026-12-04: cloud beside airgap
# took 406 and 607 s where one after the other they took 387 + 442 s) (FC_MATRIX_SERIAL=1: all in line); their logs
# are tests/output/<step>.log, a background scenario's evidence is printed at the end. With CI=true a step or test that would skip (a missing
# interpreter, venv or binary) fails instead.
source "$(dirname "$0")/lib.sh"
cd "$FC_ROOT" || exit
export PATH="$FC_VENV/bin:$PATH" ANSIBLE_CONFIG="$FC_ROOT/ansible.cfg" PY_COLORS=0 ANSIBLE_NOCOLOR=1
matrix_file="$FC_ROOT/tests/matrix/releases.txt"
matrix_steps="$(awk '!/^#/ && NF { printf "matrix-%s ", $1 }' "$matrix_file")"
all_steps="setup lint sanity unit integration build molecule-cloud guard $matrix_steps molecule-audit molecule-airgap molecule-remediate lab"
steps="${FC_STEPS:-$all_steps}"
mkdir -p "$FC_ROOT/tests/output"

step_setup()       { bash scripts/setup.sh; }
step_lint()        { bash scripts/lint.sh; }
step_unit()        { pytest -q -p no:cacheprovider tests/unit; }
# The docker transport runs on the newest release only (its matrix step).
step_integration() { pytest -q -p no:cacheprovider tests/integration --ignore=tests/integration/test_probe_docker.py; }
# matrix_row RELEASE -> "release pin pythons steps" of tests/matrix/releases.txt
matrix_row() { awk -v r="$1" '!/^#/ && $1 == r' "$matrix_file"; }
# missing WHAT: a prerequisite is absent: a failure in CI, a skip (exit 77, SKIP in the summary) elsewhere.
missing() {
  if [ "${CI:-}" = true ]; then log "FAIL (CI=true): $*"; return 1; fi
  log "SKIP: $*"; return 77
}
# ansible-test sanity with the ansible-test of the matrix's releases marked "sanity" (the lowest and the newest).
step_sanity() {
  local release venv rc=0
  while read -r release; do
    venv="$FC_MATRIX_CACHE/ansible-core-$release"
    [ -x "$venv/bin/ansible-test" ] || { missing "no venv for ansible-core $release ($venv): bash scripts/setup.sh matrix" || rc=$?; continue; }
    log "sanity with ansible-core $release"
    FC_VENV="$venv" FC_SANITY_PYTHON="$("$venv/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')" \
      bash scripts/sanity.sh < /dev/null || rc=1
  done < <(awk '!/^#/ && NF && $4 ~ /(^|,)sanity(,|$)/ { print $1 }' "$matrix_file")
  return "$rc"
}
# One release's steps: unit (tests/unit), smoke (tests/smoke: localhost playbooks), docker (the docker transport).
step_matrix() {
  local release="$1" venv rc=0 what
  venv="$FC_MATRIX_CACHE/ansible-core-$release"
  [ -n "$(matrix_row "$release")" ] || { log "no release $release in $matrix_file"; return 1; }
  [ -x "$venv/bin/ansible-playbook" ] || { missing "no venv for ansible-core $release ($venv): bash scripts/setup.sh matrix"; return; }
  log "ansible-core $release: $("$venv/bin/python" -c 'import ansible.release as r, sys; print(r.__version__, "on Python", sys.version.split()[0])')"
  for what in $(matrix_row "$release" | awk '{ gsub(",", " ", $4); print $4 }'); do
    case "$what" in
      unit) PATH="$venv/bin:$PATH" "$venv/bin/python" -m pytest -q -p no:cacheprovider tests/unit || rc=1 ;;
      smoke) PATH="$venv/bin:$PATH" "$venv/bin/python" -m pytest -q -p no:cacheprovider tests/smoke || rc=1 ;;
      docker) PATH="$venv/bin:$PATH" "$venv/bin/python" -m pytest -q -p no:cacheprovider \
                tests/integration/test_probe_docker.py || rc=1 ;;
      sanity) ;;  # the sanity step
      *) log "unknown matrix step '$what' for $release"; rc=1 ;;
    esac
  done
  return "$rc"
}
step_build()       { bash scripts/test-build.sh; }
# The guard end to end (tests/guard): the role audit_schedule on a container, its timer auditing two containers,
# node_exporter and Prometheus on loopback with the shipped rules, the dashboard's queries; the timeline it saw
# is printed.
step_guard() {
  local rc=0
  rm -f tests/output/guard-timeline.txt
  pytest -q -p no:cacheprovider tests/guard || rc=$?
  [ -e tests/output/guard-timeline.txt ] && { log "tests/output/guard-timeline.txt"; cat tests/output/guard-timeline.txt; }
  return "$rc"
}
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
# There is no `default` scenario (folded into airgap): molecule 26 then logs "CRITICAL 'molecule/default/molecule.yml'
# glob failed. Exiting." and "default scenario not found, disabling shared state.", and goes on: noise, not a failure.
# evidence SCENARIO: prints tests/output/molecule-SCENARIO-*, each file whole (a missing last newline added)
evidence() {
  local f
  for f in tests/output/molecule-"$1"-*; do
    [ -e "$f" ] && { log "$f"; cat "$f"; [ -z "$(tail -c 1 "$f")" ] || echo; }
  done
  return 0
}
molecule_scenario() {
  local rc=0
  rm -f tests/output/molecule-"$1"-*
  molecule test -s "$1" || rc=$?
  evidence "$1"
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

# run_step STEP: runs it, appends its summary line to $results_file
run_step() {
  local s="$1" note="${2:-}" start secs cpu0 cpu rc=0
  log "=== step $s ==="
  start=$(date +%s)
  cpu_now; cpu0=$CPU_NOW
  case "$s" in
    molecule-*) molecule_scenario "${s#molecule-}" || rc=$? ;;
    matrix-*) step_matrix "${s#matrix-}" || rc=$? ;;
    *) "step_$s" || rc=$? ;;
  esac
  secs=$(( $(date +%s) - start ))
  cpu_now; cpu=$(( CPU_NOW - cpu0 ))
  if [ "$rc" = 0 ]; then echo "PASS  $s  ${secs}s wall, ${cpu}s cpu$note" >> "$results_file"
  elif [ "$rc" = 77 ]; then echo "SKIP  $s  ${secs}s wall, ${cpu}s cpu$note (a prerequisite is missing)" >> "$results_file"
  else echo "FAIL  $s  ${secs}s wall, ${cpu}s cpu$note (exit $rc)" >> "$results_file"; fi
  return "$rc"
}

results_file="$FC_ROOT/tests/output/.test-results.$$"  # this run's summary lines (background steps append too)
: > "$results_file"
# background STEP: true when the step runs in the background group (see the header)
background() { [ "${FC_MATRIX_SERIAL:-0}" != 1 ] && [[ "$1" == matrix-* || "$1" == guard || "$1" == molecule-cloud ]]; }
bg_pid=""
for s in $steps; do
  if background "$s"; then
    if [ -z "$bg_pid" ]; then
      bg=() ; for m in $steps; do background "$m" && bg+=("$m"); done
      log "steps in the background, one after another (${bg[*]}): logs in tests/output/<step>.log"
      (
        cpu_file="$FC_ROOT/tests/output/.test-cpu-matrix"
        for m in "${bg[@]}"; do run_step "$m" " (background)" > "$FC_ROOT/tests/output/$m.log" 2>&1 || true; done
      ) &
      bg_pid=$!
    fi
    continue
  fi
  rc=0
  run_step "$s" || rc=$?
  # set-up is a prerequisite for everything else
  if [ "$s" = setup ] && [ "$rc" != 0 ]; then log "set-up failed: stopping"; break; fi
done
if [ -n "$bg_pid" ]; then
  log "waiting for the background steps"
  wait "$bg_pid" || true
  for m in $steps; do
    if ! background "$m" || [ ! -e "tests/output/$m.log" ]; then continue; fi
    # the guard's log ends with the timeline it saw; a scenario's evidence files are printed whole
    log "tests/output/$m.log (last lines)"; tail -n "$([ "$m" = guard ] && echo 60 || echo 15)" "tests/output/$m.log"
    if [[ "$m" == molecule-* ]]; then evidence "${m#molecule-}"; fi
  done
fi
printf '\n%s\n' "=== fleetclock test summary ==="
cat "$results_file"
passed=$(grep -c '^PASS' "$results_file" || true) failed=$(grep -c '^FAIL' "$results_file" || true)
skipped=$(grep -c '^SKIP' "$results_file" || true)
echo "fleetclock: $passed passed, $failed failed, $skipped skipped"
rm -f "$results_file"
[ "$failed" = 0 ]
