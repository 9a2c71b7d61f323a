# -*- coding: utf-8 -*-
# Copyright (c) 2025 fleetclock maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Before/after comparison of two audit reports (schema v1) and a rollout's per-host outcomes.

Pure functions, no Ansible imports: ``snapshot_changes`` says what changed on a host between two
snapshots of its time-daemon state, ``compare`` builds the comparison dict, ``render_table`` and
``render_json`` render it.  Used by the action plugin fleetclock.timesync.audit_compare.
"""

from __future__ import annotations

import json
import time

from ansible_collections.fleetclock.timesync.plugins.module_utils.fleet import STATUS_LABELS
from ansible_collections.fleetclock.timesync.plugins.module_utils.textfmt import fmt_seconds, printable, text_table

SCHEMA_VERSION = 1
OUTCOMES = ("unchanged", "changed", "rolled_back", "rollback_failed", "not_attempted", "check_mode", "failed")
STOP_OUTCOMES = ("rolled_back", "rollback_failed", "failed")
HOST_FIELDS = ("offset", "bound", "chrony_state", "severity", "reference", "stratum", "chrony_offset", "daemon")


class CompareError(ValueError):
    """A report or rollout entry that cannot be compared; the message says what to fix."""


def _state(service):
    if not isinstance(service, dict):
        return "absent"
    return "%s/%s" % (service.get("state") or "?", service.get("enabled") or "?")


def snapshot_changes(before, after):
    """What changed between two snapshots of a host's time daemons, as short sentences.

    A snapshot is ``{"chrony_installed": bool, "config_checksum": str or None,
    "config": chrony.conf's path, "files": {path: checksum or None} (both optional; chrony.conf itself is
    reported from config_checksum),
    "services": {name: {"state": "running"|"stopped"|..., "enabled": "enabled"|"disabled"|...}}}``.
    Missing or empty snapshots give an empty list.
    """
    if not isinstance(before, dict) or not isinstance(after, dict) or not before or not after:
        return []
    changes = []
    was, now = bool(before.get("chrony_installed")), bool(after.get("chrony_installed"))
    if was != now:
        changes.append("chrony installed" if now else "chrony removed")
    old_sum, new_sum = before.get("config_checksum"), after.get("config_checksum")
    if old_sum != new_sum:
        if old_sum is None:
            changes.append("chrony.conf written")
        elif new_sum is None:
            changes.append("chrony.conf removed")
        else:
            changes.append("chrony.conf changed")
    old_files, new_files = before.get("files") or {}, after.get("files") or {}
    config = after.get("config") or before.get("config")
    for path in sorted(set(old_files) | set(new_files)):
        if path == config:
            continue
        old_file, new_file = old_files.get(path), new_files.get(path)
        if old_file != new_file:
            changes.append("%s %s" % (path, "written" if old_file is None else "removed" if new_file is None else "changed"))
    old_services = before.get("services") or {}
    new_services = after.get("services") or {}
    for name in sorted(set(old_services) | set(new_services)):
        old, new = _state(old_services.get(name)), _state(new_services.get(name))
        if old != new:
            changes.append("%s %s -> %s" % (name, old, new))
    return changes


def _check_report(report, what):
    if not isinstance(report, dict) or not isinstance(report.get("hosts"), list) or "fleet" not in report:
        raise CompareError("%s is not an audit report (schema v1 with 'hosts' and 'fleet'): write it with "
                           "fleetclock.timesync.clock_report and formats including json" % what)
    version = report.get("schema_version")
    if version != SCHEMA_VERSION:
        raise CompareError("%s has schema_version %r; this comparison reads version %d" % (what, version, SCHEMA_VERSION))


def _host_view(rec):
    if not isinstance(rec, dict):
        return None
    return {key: rec.get(key) for key in HOST_FIELDS}


def _fleet_view(report):
    fleet = report["fleet"]
    jwt = report.get("jwt") or {}
    evaluation = report.get("evaluation") or {}
    return {
        "skew": fleet.get("skew"), "skew_bound": fleet.get("skew_bound"),
        "skew_max_host": fleet.get("skew_max_host"), "skew_min_host": fleet.get("skew_min_host"),
        "hosts_measured": fleet.get("hosts_measured"), "hosts_total": fleet.get("hosts_total"),
        "unsynchronised": list(fleet.get("unsynchronised") or []),
        "recommended_leeway": jwt.get("recommended_leeway"),
        "status": evaluation.get("status"), "label": evaluation.get("label"),
        "generated_at_iso": report.get("generated_at_iso"),
    }


def compare(before, after, rollout=None, now=None):
    """Build the comparison dict.

    ``before`` / ``after``: audit report dicts (schema v1).  ``rollout``: ``{host: {"outcome": one of
    OUTCOMES, "reason": str or None, "needs_step": bool, "batch": int or None, "snapshot_before": dict,
    "snapshot_after": dict}}``; hosts missing from it count as ``not_attempted``.
    ``status`` is CRITICAL (2) when a host failed its gate (rolled back or not), else the after audit's
    own status (its ``evaluation``, made with the operator's fail_on_* switches; UNKNOWN when missing).
    """
    _check_report(before, "the before report")
    _check_report(after, "the after report")
    rollout = rollout or {}
    if not isinstance(rollout, dict):
        raise CompareError("rollout must be a dict of host -> outcome dict, got %s" % type(rollout).__name__)
    now = time.time() if now is None else now
    old = {h.get("host"): h for h in before["hosts"] if isinstance(h, dict)}
    new = {h.get("host"): h for h in after["hosts"] if isinstance(h, dict)}
    hosts = []
    for name in sorted(set(old) | set(new) | set(rollout), key=str):
        entry = rollout.get(name) or {}
        if not isinstance(entry, dict):
            raise CompareError("rollout[%r] must be a dict with 'outcome', got %r" % (name, entry))
        outcome = entry.get("outcome") or "not_attempted"
        if outcome not in OUTCOMES:
            raise CompareError("rollout[%r].outcome %r is not one of %s" % (name, outcome, ", ".join(OUTCOMES)))
        b, a = _host_view(old.get(name)), _host_view(new.get(name))
        change = None
        if b and a and b["offset"] is not None and a["offset"] is not None:
            change = a["offset"] - b["offset"]
        hosts.append({
            "host": name, "before": b, "after": a, "offset_change": change,
            "outcome": outcome, "reason": entry.get("reason"), "needs_step": bool(entry.get("needs_step")),
            "batch": entry.get("batch"),
            "changes": snapshot_changes(entry.get("snapshot_before"), entry.get("snapshot_after")),
        })

    failed = [h["host"] for h in hosts if h["outcome"] in STOP_OUTCOMES]
    batches = [h["batch"] for h in hosts if h["outcome"] in STOP_OUTCOMES and isinstance(h["batch"], int)]
    rollout_view = {
        "stopped": bool(failed),
        "stopped_at_batch": min(batches) if batches else None,
        "changed": [h["host"] for h in hosts if h["outcome"] == "changed"],
        "unchanged": [h["host"] for h in hosts if h["outcome"] == "unchanged"],
        "rolled_back": [h["host"] for h in hosts if h["outcome"] == "rolled_back"],
        "rollback_failed": [h["host"] for h in hosts if h["outcome"] == "rollback_failed"],
        "not_attempted": [h["host"] for h in hosts if h["outcome"] == "not_attempted"],
        "needs_step": [h["host"] for h in hosts if h["needs_step"]],
    }
    fleet_before, fleet_after = _fleet_view(before), _fleet_view(after)
    after_status = fleet_after["status"] if fleet_after["status"] in (0, 1, 2, 3) else 3
    after_reasons = list((after.get("evaluation") or {}).get("reasons") or [])
    fleet_after.update(status=after_status, label=STATUS_LABELS[after_status], reasons=after_reasons)
    status = 2 if failed else after_status
    reasons = []
    if failed:
        at_batch = rollout_view["stopped_at_batch"]
        why = "; ".join("%s: %s" % (h["host"], h["reason"] or "no reason recorded") for h in hosts if h["host"] in failed)
        reasons.append("rollout stopped at batch %s: %s failed (the role, the health gate or the connection; see each "
                       "host's outcome) (%s)" % ("?" if at_batch is None else at_batch, ", ".join(failed), why))
    if rollout_view["rollback_failed"]:
        reasons.append("ROLLBACK FAILED on %s: restore these hosts by hand" % ", ".join(rollout_view["rollback_failed"]))
    if rollout_view["needs_step"]:
        reasons.append("clock step needed on %s (opt-in: fleetclock_remediate_makestep=true)"
                       % ", ".join(rollout_view["needs_step"]))
    if after_status >= 1:
        reasons.append("after audit %s: %s" % (fleet_after["label"], "; ".join(after_reasons[:5]) or "-"))
    return {
        "schema_version": SCHEMA_VERSION,
        "generator": "fleetclock.timesync.audit_compare",
        "generated_at": now,
        "generated_at_iso": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
        "sign_convention": before.get("sign_convention"),
        "hosts": hosts,
        "fleet": {"before": fleet_before, "after": fleet_after},
        "jwt": {"before": fleet_before["recommended_leeway"], "after": fleet_after["recommended_leeway"]},
        "rollout": rollout_view,
        "status": status,
        "label": STATUS_LABELS[status],
        "reasons": reasons,
    }


def time_daemon(view):
    """The host's time daemon and its state as the table shows it: "systemd-timesyncd unsynchronised",
    "chrony synchronised", "none" (no daemon runs); chrony's state alone from a report without the daemon section."""
    view = view or {}
    daemon = view.get("daemon")
    if isinstance(daemon, dict):
        return "%s %s" % (daemon["daemon"], daemon.get("state") or "unknown") if daemon.get("daemon") else "none"
    return "chrony %s" % view["chrony_state"] if view.get("chrony_state") else "-"


def render_table(comparison):
    """A fixed-width terminal table of the comparison (textfmt: durations as the audit report writes them, every
    cell and line printable), then the fleet before/after and the result."""
    header = ["host", "batch", "outcome", "offset before", "offset after", "time daemon before", "time daemon after",
              "changes"]
    rows = []
    for h in comparison["hosts"]:
        b, a = h["before"] or {}, h["after"] or {}
        changes = ", ".join(h["changes"]) or "-"
        if h["needs_step"]:
            changes += " [needs step]"
        rows.append((h["host"], "-" if h["batch"] is None else str(h["batch"]), h["outcome"],
                     fmt_seconds(b.get("offset"), True), fmt_seconds(a.get("offset"), True),
                     time_daemon(b), time_daemon(a), changes))
    fb, fa = comparison["fleet"]["before"], comparison["fleet"]["after"]
    ro = comparison["rollout"]
    reasons = (": " + "; ".join(comparison["reasons"])) if comparison["reasons"] else ""
    summary = [
        "fleet skew      before %s (+/- %s)  after %s (+/- %s)" % (
            fmt_seconds(fb["skew"]), fmt_seconds(fb["skew_bound"]), fmt_seconds(fa["skew"]), fmt_seconds(fa["skew_bound"])),
        "JWT leeway      before %s  after %s (recommended)" % (
            fmt_seconds(comparison["jwt"]["before"]), fmt_seconds(comparison["jwt"]["after"])),
        "audit status    before %s  after %s" % (fb["label"] or "-", fa["label"] or "-"),
        "rollout         %s" % ("STOPPED at batch %s" % ro["stopped_at_batch"] if ro["stopped"] else "completed"),
        "result          %s%s" % (comparison["label"], reasons),
    ]
    lines = text_table(header, rows) + [""] + [printable(line) for line in summary]
    return "\n".join(lines) + "\n"


def render_json(comparison):
    """Stable, indented JSON (sorted keys) with a trailing newline."""
    return json.dumps(comparison, indent=2, sort_keys=True) + "\n"
