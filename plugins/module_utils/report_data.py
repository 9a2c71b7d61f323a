# -*- coding: utf-8 -*-
# Copyright (c) 2025 fleetclock maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The audit report for machines: versioned JSON, Prometheus text exposition and JUnit XML.

Each render_* function takes the report dict (fleet.py) and returns text, every string of the report
sanitised first (textfmt.sanitised).  Pure functions; no Ansible imports; Python 3.8+.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

from ansible_collections.fleetclock.timesync.plugins.module_utils.report_text import daemon_cell, render_table
from ansible_collections.fleetclock.timesync.plugins.module_utils.textfmt import sanitised

SEVERITY_CODE = {"ok": 0, "warning": 1, "critical": 2, "unknown": 3}
_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


# ---------------------------------------------------------------- JSON

def _public(report):
    """The report without the internal per-check structure (kept: reasons) and without the HTML's history (the
    earlier reports it was read from are the record)."""
    out = {key: value for key, value in report.items() if key != "history"}
    out["hosts"] = [{k: v for k, v in host.items() if k != "checks"} for host in report["hosts"]]
    out["fleet"] = dict(report["fleet"])
    out["fleet"]["reasons"] = [item["message"] for item in report["fleet"]["checks"]]
    del out["fleet"]["checks"]
    return out


@sanitised
def render_json(report):
    """Versioned JSON (schema_version 1, schemas/audit-report-v1.schema.json)."""
    return json.dumps(_public(report), indent=2, sort_keys=True, allow_nan=False) + "\n"


# ---------------------------------------------------------------- Prometheus

def _label(value):
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _value(value):
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    return repr(float(value))


@sanitised
def render_prometheus(report):
    """Prometheus text exposition (textfile collector): HELP/TYPE lines, base units, no timestamps."""
    families = []

    def family(name, help_text, samples):
        lines = ["# HELP %s %s" % (name, help_text), "# TYPE %s gauge" % name]
        for labels, value in samples:
            if value is None:
                continue
            text = ",".join('%s="%s"' % (key, _label(val)) for key, val in labels)
            lines.append("%s%s %s" % (name, "{%s}" % text if text else "", _value(value)))
        families.append("\n".join(lines))

    hosts = report["hosts"]
    fleet, jwt, ctrl = report["fleet"], report["jwt"], report["controller"]

    def per_host(key, only_measured=True):
        return [((("host", h["host"]),), h[key]) for h in hosts if h["measured"] or not only_measured]

    family("fleetclock_clock_offset_seconds",
           "Host clock minus controller clock (positive = host ahead), best sample.", per_host("offset"))
    family("fleetclock_clock_offset_error_seconds",
           "Bound on the absolute error of fleetclock_clock_offset_seconds.", per_host("bound"))
    family("fleetclock_clock_rtt_seconds", "Round trip of the best clock sample.", per_host("rtt"))
    family("fleetclock_clock_samples", "Clock samples taken on the host.", per_host("samples"))
    family("fleetclock_host_up", "1 when the host was visited and its clock measured, else 0.",
           [((("host", h["host"]),), h["measured"]) for h in hosts])
    family("fleetclock_host_severity", "Host verdict: 0 ok, 1 warning, 2 critical, 3 unknown.",
           [((("host", h["host"]),), SEVERITY_CODE[h["severity"]]) for h in hosts])
    with_chrony = [h for h in hosts if h["chrony_state"] is not None and h["status"] == "ok"]
    family("fleetclock_chrony_synchronized", "1 when chrony on the host is synchronised to a reference, else 0.",
           [((("host", h["host"]),), h["chrony_state"] == "synchronised") for h in with_chrony])
    family("fleetclock_chrony_state", "chrony state of the host (1 for the current state).",
           [((("host", h["host"]), ("state", h["chrony_state"])), 1) for h in with_chrony])
    family("fleetclock_chrony_offset_seconds",
           "chrony's own estimate of the host clock minus true time (positive = ahead).",
           per_host("chrony_offset", False))
    family("fleetclock_chrony_error_bound_seconds",
           "chrony's bound on the host clock error (|system time| + root dispersion + root delay / 2).",
           per_host("chrony_error_bound", False))
    family("fleetclock_chrony_stratum", "chrony stratum of the host.", per_host("stratum", False))
    with_daemon = [h for h in hosts if h.get("daemon") and h["status"] == "ok"]
    family("fleetclock_time_daemon_info",
           "The host's time daemon (first running of chrony, systemd-timesyncd, ntpd/ntpsec, openntpd; none), its "
           "state and the kernel's timex verdict (container: the container host's kernel); always 1.",
           [((("host", h["host"]), ("daemon", h["daemon"]["daemon"] or "none"), ("state", h["daemon"]["state"]),
              ("kernel", h["daemon"]["kernel_state"] or "unknown"),
              ("active", ",".join(h["daemon"]["active"] or []))), 1) for h in with_daemon])
    family("fleetclock_fleet_skew_seconds", "Largest minus smallest host offset among measured hosts.",
           [((), fleet["skew"])])
    family("fleetclock_fleet_skew_error_seconds", "Bound on the error of fleetclock_fleet_skew_seconds.",
           [((), fleet["skew_bound"])])
    family("fleetclock_fleet_median_offset_seconds", "Median host offset from the controller.",
           [((), fleet["median_offset"])])
    family("fleetclock_fleet_hosts", "Hosts in the audit by category.",
           [((("category", "total"),), fleet["hosts_total"]), ((("category", "measured"),), fleet["hosts_measured"])]
           + [((("category", key),), len(fleet[key]))
              for key in ("unreachable", "failed", "unsynchronised", "chrony_unknown", "over_warn", "over_crit")])
    family("fleetclock_controller_chrony_synchronized",
           "1 when the controller's chrony is synchronised, else 0 (absent when the controller was not probed).",
           [((), ctrl["synchronised"])])
    family("fleetclock_threshold_seconds", "Audit thresholds in use.",
           [((("threshold", key),), value) for key, value in sorted(report["thresholds"].items())])
    family("fleetclock_jwt_recommended_leeway_seconds", "Recommended JWT leeway for this fleet (whole seconds).",
           [((), jwt["recommended_leeway"])])
    family("fleetclock_jwt_current_leeway_seconds", "JWT leeway the audit was told is in use.",
           [((), jwt["current_leeway"])])
    family("fleetclock_jwt_rejected_pairs", "Ordered host pairs whose fresh tokens fail nbf at the current leeway.",
           [((), jwt["nbf_rejected"]["total"])])
    if report.get("evaluation"):
        family("fleetclock_audit_status", "Audit status: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.",
               [((), report["evaluation"]["status"])])
    family("fleetclock_audit_timestamp_seconds", "When the audit report was generated (Unix time).",
           [((), report["generated_at"])])
    return "\n".join(families) + "\n"


# ---------------------------------------------------------------- JUnit

def _xml_text(text):
    return _XML_BAD.sub("?", str(text))


@sanitised
def render_junit(report):
    """JUnit XML: one testsuite; one testcase per host plus one for the fleet skew.

    critical -> <failure>, unknown (not measured) -> <error>, warning -> <skipped>
    (visible, not failing), ok -> passed.
    """
    cases, counts = [], {"failures": 0, "errors": 0, "skipped": 0}

    def case(classname, name, severity, reasons):
        element = ET.Element("testcase", {"classname": classname, "name": _xml_text(name), "time": "0"})
        message = _xml_text("; ".join(reasons) or severity)
        if severity == "critical":
            ET.SubElement(element, "failure", {"type": "critical", "message": message}).text = message
            counts["failures"] += 1
        elif severity == "unknown":
            ET.SubElement(element, "error", {"type": "unknown", "message": message}).text = message
            counts["errors"] += 1
        elif severity == "warning":
            ET.SubElement(element, "skipped", {"message": "WARNING: " + message})
            counts["skipped"] += 1
        elif reasons:
            ET.SubElement(element, "system-out").text = message
        cases.append(element)

    for host in report["hosts"]:
        case("fleetclock.clock.host", host["host"], host["severity"], host["reasons"])
        if host.get("daemon"):  # the host's time daemon, first in the testcase (JUnit's order)
            props = ET.Element("properties")
            ET.SubElement(props, "property", {"name": "daemon", "value": _xml_text(daemon_cell(host))})
            cases[-1].insert(0, props)
    fleet = report["fleet"]
    case("fleetclock.clock.fleet", "fleet skew", fleet["skew_severity"],
         [item["message"] for item in fleet["checks"] if item["kind"] == "skew"]
         or (["no host measured"] if fleet["skew"] is None else []))

    suites = ET.Element("testsuites")
    suite = ET.SubElement(suites, "testsuite", {
        "name": "fleetclock clock audit", "tests": str(len(cases)), "failures": str(counts["failures"]),
        "errors": str(counts["errors"]), "skipped": str(counts["skipped"]), "time": "0",
        "timestamp": report["generated_at_iso"].rstrip("Z"),
    })
    props = ET.SubElement(suite, "properties")
    for key in ("skew", "skew_bound", "median_offset", "hosts_total", "hosts_measured"):
        ET.SubElement(props, "property", {"name": "fleet." + key, "value": str(fleet[key])})
    ET.SubElement(props, "property", {"name": "jwt.recommended_leeway", "value": str(report["jwt"]["recommended_leeway"])})
    if report.get("evaluation"):
        ET.SubElement(props, "property", {"name": "status", "value": report["evaluation"]["label"]})
    suite.extend(cases)
    ET.SubElement(suite, "system-out").text = _xml_text(render_table(report))
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
