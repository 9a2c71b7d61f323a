# -*- coding: utf-8 -*-
# Copyright (c) 2025 fleetclock maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The audit report: judged host records -> fleet summary (skew, host lists) -> JWT guidance -> exit status.

``aggregate`` takes ``{host name: probe result (probe_result.py) or None}``; ``build_report`` takes
host records (records.py), which is how report_merge (merge.py) builds its report too.  Output: one
report dict (see docs/report-schema.md); the renderers (report_*.py) only read that dict.
Sign convention: offset = host clock minus controller clock (positive = host ahead).

Pure functions; no Ansible imports; Python 3.8+.
"""

from __future__ import annotations

import statistics
import time

from ansible_collections.fleetclock.timesync.plugins.module_utils.audit_options import FAIL_SWITCHES, validate_options
from ansible_collections.fleetclock.timesync.plugins.module_utils.jwt_guidance import jwt_guidance, worst_spread
from ansible_collections.fleetclock.timesync.plugins.module_utils.probe_result import UNKNOWN_STATES, UNSYNCHRONISED_STATES
from ansible_collections.fleetclock.timesync.plugins.module_utils.records import (
    check,
    controller_record,
    controller_trust,
    host_record,
    judge,
)
from ansible_collections.fleetclock.timesync.plugins.module_utils.textfmt import fmt_seconds

SCHEMA_VERSION = 1
# 1: hosts carry a ``daemon`` section (records.DAEMON_FIELDS); readers of 1.0 keep working (only additions).
SCHEMA_MINOR = 1
GENERATOR = "fleetclock.timesync.clock_report"
SIGN_CONVENTION = "offset = host clock - controller clock; positive = host ahead"
SEVERITIES = ("ok", "warning", "critical", "unknown")
STATUS_LABELS = ("OK", "WARNING", "CRITICAL", "UNKNOWN")

# Which fail_on_* switch turns a "critical" check of this kind into CRITICAL (else WARNING).
SWITCH_OF_KIND = {"offset": "fail_on_skew", "skew": "fail_on_skew",
                  "chrony": "fail_on_unsynchronised", "reach": "fail_on_unreachable"}


# ---------------------------------------------------------------- summary / report / evaluate

def thresholds(opts):
    """The thresholds of validated options."""
    return {key: opts[key] for key in ("warn_offset", "crit_offset", "warn_skew", "crit_skew")}


def fleet_summary(records, th):
    """The report's ``fleet`` section from judged host records: counts, skew and its check, host lists."""
    measured = [h for h in records if h["measured"]]
    fleet = {
        "hosts_total": len(records), "hosts_measured": len(measured),
        "skew": None, "skew_bound": None, "skew_upper": None, "skew_max_host": None, "skew_min_host": None,
        "max_offset": None, "min_offset": None, "median_offset": None, "skew_severity": "unknown",
        "over_warn": sorted(h["host"] for h in measured if abs(h["offset"]) > th["warn_offset"]),
        "over_crit": sorted(h["host"] for h in measured if abs(h["offset"]) > th["crit_offset"]),
        "unreachable": [h["host"] for h in records if not h["measured"] and h["status"] in ("unreachable", "timeout")],
        "failed": [h["host"] for h in records if not h["measured"] and h["status"] not in ("unreachable", "timeout")],
        "unsynchronised": [h["host"] for h in records if h["chrony_state"] in UNSYNCHRONISED_STATES],
        "chrony_unknown": [h["host"] for h in records if h["status"] == "ok" and h["chrony_state"] in UNKNOWN_STATES],
        "checks": [],
    }
    if not measured:
        return fleet
    high = max(measured, key=lambda h: (h["offset"], h["host"]))
    low = min(measured, key=lambda h: (h["offset"], h["host"]))
    skew = high["offset"] - low["offset"]
    fleet.update(
        skew=skew,
        skew_bound=0.0 if high is low else high["bound"] + low["bound"],
        skew_upper=worst_spread([(h["host"], h["offset"], h["bound"]) for h in measured]),
        skew_max_host=high["host"], skew_min_host=low["host"],
        max_offset=high["offset"], min_offset=low["offset"],
        median_offset=statistics.median(h["offset"] for h in measured),
    )
    text = "fleet skew %s (+/- %s) between %s and %s" % (
        fmt_seconds(skew), fmt_seconds(fleet["skew_bound"]), high["host"], low["host"])
    if skew > th["crit_skew"]:
        fleet["checks"].append(check("skew", "critical", "%s exceeds crit_skew %g s" % (text, th["crit_skew"])))
        fleet["skew_severity"] = "critical"
    elif skew > th["warn_skew"]:
        fleet["checks"].append(check("skew", "warning", "%s exceeds warn_skew %g s" % (text, th["warn_skew"])))
        fleet["skew_severity"] = "warning"
    else:
        fleet["skew_severity"] = "ok"
    return fleet


def build_report(records, controller, opts, now=None, generator=GENERATOR, sign_convention=SIGN_CONVENTION):
    """The report dict from judged host records (sorted by host), the ``controller`` section (records.controller_record;
    its warning becomes a fleet check) and validated options: summary, JWT guidance and one evaluation."""
    th = thresholds(opts)
    now = time.time() if now is None else now
    fleet = fleet_summary(records, th)
    if controller["warning"]:
        fleet["checks"].append(check("controller", "warning", controller["warning"]))
    report = {
        "schema_version": SCHEMA_VERSION,
        "schema_minor": SCHEMA_MINOR,
        "generator": generator,
        "generated_at": now,
        "generated_at_iso": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
        "sign_convention": sign_convention,
        "thresholds": th,
        "fail_on": {name[len("fail_on_"):]: opts[name] for name in FAIL_SWITCHES},
        "controller": controller,
        "hosts": records,
        "fleet": fleet,
        "jwt": jwt_guidance(records, opts["jwt_leeway"], opts["jwt_margin"], opts["jwt_max_pairs"]),
    }
    code, reasons = evaluate(report, **{name: opts[name] for name in FAIL_SWITCHES})
    report["evaluation"] = {"status": code, "label": STATUS_LABELS[code], "reasons": reasons}
    return report


def aggregate(results, controller=None, options=None, now=None):
    """The audit report from ``{host: probe result or None}`` (None = no result, still listed): probe results ->
    host records -> judged (with the controller's trust for the daemons' claims) -> fleet summary -> report."""
    opts = validate_options(options, check_paths=False)
    th = thresholds(opts)
    records = [host_record(str(name), (results or {})[name]) for name in sorted(results or {}, key=str)]
    ctrl = controller_record(controller)
    trust = controller_trust(ctrl, records)
    return build_report([judge(record, th, trust) for record in records], ctrl, opts, now)


def evaluate(report, fail_on_skew=True, fail_on_unsynchronised=True, fail_on_unreachable=True):
    """Monitoring-plugin status of a report: (0 OK | 1 WARNING | 2 CRITICAL | 3 UNKNOWN, reasons).

    A "critical" check counts as CRITICAL only when its fail_on_* switch is on (offset and
    skew: fail_on_skew; chrony not synchronised / not running: fail_on_unsynchronised; host
    not measured: fail_on_unreachable), otherwise as WARNING.  With no hosts, or no host
    measured and nothing critical, the status is UNKNOWN.
    """
    switches = {"fail_on_skew": fail_on_skew, "fail_on_unsynchronised": fail_on_unsynchronised,
                "fail_on_unreachable": fail_on_unreachable}
    critical, warning = [], []
    labelled = [("fleet", item) for item in report["fleet"]["checks"]]
    labelled += [(h["host"], item) for h in report["hosts"] for item in h["checks"]]
    for who, item in labelled:
        level = item["level"]
        if level == "critical" and not switches.get(SWITCH_OF_KIND.get(item["kind"]), True):
            level = "warning"
        if level in ("critical", "warning"):
            (critical if level == "critical" else warning).append("%s: %s" % (who, item["message"]))
    reasons = ["CRITICAL " + text for text in critical] + ["WARNING " + text for text in warning]
    if critical:
        return 2, reasons
    if not report["hosts"]:
        return 3, ["UNKNOWN no hosts to audit"]
    if not report["fleet"]["hosts_measured"]:
        return 3, ["UNKNOWN no host could be measured"] + reasons
    return (1 if warning else 0), reasons
