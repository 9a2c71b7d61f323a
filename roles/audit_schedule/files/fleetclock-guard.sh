#!/usr/bin/env bash
# fleetclock-guard: one scheduled clock audit (installed by the role fleetclock.timesync.audit_schedule).
#
#   fleetclock-guard [CONFIG]     CONFIG: the role's guard.env (default /etc/fleetclock-guard/guard.env)
#
# Takes the guard's lock without waiting (a run still going means this one is skipped: runs never overlap), runs the
# audit playbook under `timeout`, appends its output to the guard's log, keeps the newest GUARD_HISTORY_KEEP JSON
# reports in GUARD_HISTORY_DIR and writes GUARD_TEXTFILE_DIR/fleetclock_guard.prom atomically (temp file + rename in
# the same directory) with:
#   fleetclock_guard_last_run_timestamp_seconds      when this run ended
#   fleetclock_guard_last_run_success                1 when ansible-playbook exited 0, else 0 (timeout: 0)
#   fleetclock_guard_last_success_timestamp_seconds  when a run last succeeded (0: never)
# Exit status: the audit's (124 on timeout), 0 when skipped because another run holds the lock.
set -uo pipefail
config="${1:-/etc/fleetclock-guard/guard.env}"
# shellcheck source=/dev/null
. "$config" || { echo "fleetclock-guard: cannot read $config" >&2; exit 2; }
: "${GUARD_VENV:?}" "${GUARD_INVENTORY:?}" "${GUARD_WORK_DIR:?}" "${GUARD_LOG:?}" "${GUARD_LOCK:?}" \
  "${GUARD_TIMEOUT:?}" "${GUARD_TEXTFILE_DIR:?}" "${GUARD_HISTORY_DIR:?}" "${GUARD_HISTORY_KEEP:?}" \
  "${GUARD_AUDIT_VARS:?}"
guard_prom="$GUARD_TEXTFILE_DIR/fleetclock_guard.prom"

say() { printf '%s fleetclock-guard: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >> "$GUARD_LOG"; }

# last_success: the previous file's last success time, 0 when there is none
last_success() {
  local value
  value="$(awk '$1 == "fleetclock_guard_last_success_timestamp_seconds" { print $2 }' "$guard_prom" 2>/dev/null)"
  case "$value" in ''|*[!0-9.]*) echo 0 ;; *) echo "$value" ;; esac
}

# write_metrics END SUCCESS LAST_SUCCESS: the guard's textfile, atomically (node_exporter reads only *.prom files,
# so the temp file's name does not end in .prom)
write_metrics() {
  local tmp
  tmp="$(mktemp "$GUARD_TEXTFILE_DIR/.fleetclock_guard.XXXXXX")" || { say "cannot write in $GUARD_TEXTFILE_DIR"; return 1; }
  {
    echo "# HELP fleetclock_guard_last_run_timestamp_seconds When the guard's last audit run ended (Unix time)."
    echo "# TYPE fleetclock_guard_last_run_timestamp_seconds gauge"
    echo "fleetclock_guard_last_run_timestamp_seconds $1"
    echo "# HELP fleetclock_guard_last_run_success 1 when the guard's last audit run exited 0, else 0."
    echo "# TYPE fleetclock_guard_last_run_success gauge"
    echo "fleetclock_guard_last_run_success $2"
    echo "# HELP fleetclock_guard_last_success_timestamp_seconds When an audit run of the guard last succeeded (0: never)."
    echo "# TYPE fleetclock_guard_last_success_timestamp_seconds gauge"
    echo "fleetclock_guard_last_success_timestamp_seconds $3"
  } > "$tmp"
  if ! { chmod 0644 "$tmp" && mv -f "$tmp" "$guard_prom"; }; then
    rm -f "$tmp"
    say "writing $guard_prom failed"
    return 1
  fi
}

# keep_history: this run's JSON report into the history, then only the newest GUARD_HISTORY_KEEP
keep_history() {
  local report="$GUARD_WORK_DIR/reports/clock-audit.json" old
  [ -s "$report" ] || return 0
  cp -p "$report" "$GUARD_HISTORY_DIR/clock-audit-$(date -u +%Y%m%dT%H%M%SZ).json.tmp" || return 1
  for old in "$GUARD_HISTORY_DIR"/clock-audit-*.json.tmp; do mv -f "$old" "${old%.tmp}"; done
  # names sort by time: drop all but the newest GUARD_HISTORY_KEEP
  find "$GUARD_HISTORY_DIR" -maxdepth 1 -name 'clock-audit-*.json' -printf '%f\n' | sort -r \
    | tail -n "+$((GUARD_HISTORY_KEEP + 1))" | while read -r old; do rm -f "$GUARD_HISTORY_DIR/$old"; done
}

exec 9>> "$GUARD_LOCK"
if ! flock -n 9; then
  say "another run holds $GUARD_LOCK: skipped"
  exit 0
fi
cd "$GUARD_WORK_DIR" || { say "no work directory $GUARD_WORK_DIR"; exit 2; }
say "audit of $GUARD_INVENTORY started"
rc=0
timeout --kill-after=30 "$GUARD_TIMEOUT" "$GUARD_VENV/bin/ansible-playbook" fleetclock.timesync.audit \
  -i "$GUARD_INVENTORY" -e "@$GUARD_AUDIT_VARS" >> "$GUARD_LOG" 2>&1 9>&- || rc=$?
end="$(date +%s)"
if [ "$rc" = 0 ]; then
  keep_history || say "keeping the report in $GUARD_HISTORY_DIR failed"
  write_metrics "$end" 1 "$end"
elif [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
  say "audit timed out after $GUARD_TIMEOUT s"
  write_metrics "$end" 0 "$(last_success)"
else
  write_metrics "$end" 0 "$(last_success)"
fi
say "audit ended: exit $rc"
exit "$rc"
