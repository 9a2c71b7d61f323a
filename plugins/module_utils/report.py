# -*- coding: utf-8 -*-
# Copyright (c) 2025 fleetclock maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Renderers of the audit report dict (built by fleet.aggregate) and an atomic file writer.

Each render_* function takes the report dict and returns text.  Reports carry
host names and measured values only, never inventory variables.  Every renderer
first sanitises every string of the report (hostout.clean: no lone surrogates,
controls, bidi overrides or line separators reach a file or the terminal), and
write_reports writes each format on its own: one that fails is reported, the
others are still written.  Files are created with the process umask.  Pure
functions except write_atomic(); no Ansible imports; Python 3.8+.
"""

from __future__ import annotations

import functools
import html
import json
import os
import re
import secrets
import xml.etree.ElementTree as ET

from ansible_collections.fleetclock.timesync.plugins.module_utils.hostout import clean
from ansible_collections.fleetclock.timesync.plugins.module_utils.textfmt import fmt_seconds, printable, text_table

SEVERITY_CODE = {"ok": 0, "warning": 1, "critical": 2, "unknown": 3}
_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


# ---------------------------------------------------------------- files

class ReportWriteError(OSError):
    """Some report formats could not be written (the others were); the message names each and why."""

    def __init__(self, failures, files):
        self.failures, self.files = failures, files
        super(ReportWriteError, self).__init__("could not write %s; %s" % (
            "; ".join(failures), "written: %s" % ", ".join(files) if files else "no file written"))


def _create_temp(directory, base):
    """An open (fd, path) of a new temp file in ``directory``, mode 0666 minus the process umask."""
    for _attempt in range(100):
        tmp = os.path.join(directory, ".%s.%s.tmp" % (base, secrets.token_hex(4)))
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError("no free temporary file name in %s" % directory)


def write_atomic(path, text, mode=None):
    """Write ``text`` to ``path`` atomically: temp file in the same directory, fsync, os.replace.

    Readers (the Prometheus textfile collector, CI) see the old file or the new one, never half.
    The file gets 0666 minus the process umask (as any file the user creates), or ``mode`` when given.
    Creates the parent directory if needed.  Returns the absolute path.
    """
    path = os.path.abspath(path)
    directory = os.path.dirname(path)
    os.makedirs(directory, exist_ok=True)
    fd, tmp = _create_temp(directory, os.path.basename(path))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def _sanitised(render):
    """Renderers see the report with every string sanitised (hostout.clean)."""
    @functools.wraps(render)
    def wrapper(report):
        return render(clean(report))
    return wrapper


# ---------------------------------------------------------------- table

def _sort_by_offset(hosts):
    """Measured hosts by |offset| descending, then the unmeasured ones by name."""
    measured = sorted((h for h in hosts if h["measured"]), key=lambda h: (-abs(h["offset"]), h["host"]))
    return measured + sorted((h for h in hosts if not h["measured"]), key=lambda h: h["host"])


def _chrony_cell(host):
    if host["chrony_offset"] is None:
        return "-"
    return "%s +/- %s" % (fmt_seconds(host["chrony_offset"], True), fmt_seconds(host["chrony_error_bound"]))


def _summary_lines(report):
    fleet, jwt, ctrl = report["fleet"], report["jwt"], report["controller"]
    th = report["thresholds"]
    lines = ["Fleet: %d host(s), %d measured" % (fleet["hosts_total"], fleet["hosts_measured"])]
    if fleet["skew"] is not None:
        lines.append("  skew (max - min offset): %s +/- %s  (%s ahead of %s; worst case %s)" % (
            fmt_seconds(fleet["skew"]), fmt_seconds(fleet["skew_bound"]), fleet["skew_max_host"],
            fleet["skew_min_host"], fmt_seconds(fleet["skew_upper"])))
        lines.append("  median offset: %s" % fmt_seconds(fleet["median_offset"], True))
    lines.append("  thresholds: warn_offset %g s, crit_offset %g s, warn_skew %g s, crit_skew %g s" % (
        th["warn_offset"], th["crit_offset"], th["warn_skew"], th["crit_skew"]))
    for key, label in (("over_warn", "over warn_offset"), ("over_crit", "over crit_offset"),
                       ("unreachable", "unreachable"), ("failed", "failed / no result"),
                       ("unsynchronised", "chrony unsynchronised / not running"),
                       ("chrony_unknown", "chrony state unknown")):
        if fleet[key]:
            lines.append("  %s: %s" % (label, ", ".join(fleet[key])))
    lines.append("Controller: " + (ctrl["warning"] and "WARNING " + ctrl["warning"] or ctrl["note"]))
    lines.append("")
    lines.append("JWT leeway (current %g s):" % jwt["current_leeway"])
    if jwt["recommended_leeway"] is None:
        lines.append("  no host measured: no recommendation")
    else:
        lines.append("  recommended leeway: %d s = ceil(worst pair spread %s + margin %g s)" % (
            jwt["recommended_leeway"], fmt_seconds(jwt["worst_pair_spread"]), jwt["margin"]))
        lines.append("  set it as: " + "; ".join("%s %s (default %s s)" % (
            s["library"], s["setting"], s["default"]) for s in jwt["settings"]))
        nbf = jwt["nbf_rejected"]
        if nbf["total"]:
            lines.append("  %d ordered pair(s) issuer -> verifier where the issuer is ahead by more than the "
                         "leeway (fresh tokens rejected: 'The token is not yet valid (nbf)'; expired tokens "
                         "accepted late)%s:" % (nbf["total"], ", top %d" % nbf["shown"] if nbf["shown"] < nbf["total"] else ""))
            for pair in nbf["pairs"]:
                lines.append("    %s -> %s: ahead %s +/- %s, rejected for %s, exp accepted %s late%s" % (
                    pair["issuer"], pair["verifier"], fmt_seconds(pair["ahead"]), fmt_seconds(pair["bound"]),
                    fmt_seconds(pair["rejected_for"]), fmt_seconds(pair["ahead"] + jwt["current_leeway"]),
                    "" if pair["certain"] else " (within error bound)"))
        else:
            lines.append("  no pair of hosts is apart by more than the current leeway")
    return lines


@_sanitised
def render_table(report):
    """Readable terminal table (|offset| descending), then the fleet summary and JWT guidance."""
    header = ["host", "offset", "+/-bound", "rtt", "chrony", "stratum", "reference", "chrony offset", "leap", "severity"]
    rows = []
    for host in _sort_by_offset(report["hosts"]):
        rows.append([
            host["host"], fmt_seconds(host["offset"], True), fmt_seconds(host["bound"]), fmt_seconds(host["rtt"]),
            host["chrony_state"] or "-", "-" if host["stratum"] is None else host["stratum"],
            host["reference"] or "-", _chrony_cell(host), host["leap_status"] or "-",
            host["severity"] if host["measured"] else "%s (%s)" % (host["severity"], host["status"]),
        ])
    lines = ["Clock audit %s: offsets of host clocks from the controller (positive = host ahead)" %
             report["generated_at_iso"], ""]
    lines += text_table(header, rows) if rows else ["(no hosts)"]
    lines.append("")
    lines += [printable(line) for line in _summary_lines(report)]
    evaluation = report.get("evaluation")
    if evaluation:
        lines.append("")
        lines.append("Status: %s" % evaluation["label"])
        lines += ["  " + printable(reason) for reason in evaluation["reasons"]]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- JSON

def _public(report):
    """The report without the internal per-check structure (kept: reasons)."""
    out = dict(report)
    out["hosts"] = [{k: v for k, v in host.items() if k != "checks"} for host in report["hosts"]]
    out["fleet"] = dict(report["fleet"])
    out["fleet"]["reasons"] = [item["message"] for item in report["fleet"]["checks"]]
    del out["fleet"]["checks"]
    return out


@_sanitised
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


@_sanitised
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


@_sanitised
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


# ---------------------------------------------------------------- HTML

_COLOURS = {"ok": "#2e7d32", "warning": "#b26a00", "critical": "#c62828", "unknown": "#616161"}


def _svg_chart(report):
    """Inline SVG: one row per measured host, offset dot with error bar, threshold bands."""
    th = report["thresholds"]
    hosts = _sort_by_offset([h for h in report["hosts"] if h["measured"]])
    extent = max([abs(h["offset"]) + h["bound"] for h in hosts] + [0.0])
    span = max(extent * 1.15, th["warn_offset"] * 1.1, 1e-3)
    left, width, row, top = 200, 560, 22, 24
    height = top + row * max(len(hosts), 1) + 30

    def x(value):
        value = max(-span, min(span, value))
        return left + (value + span) / (2 * span) * width

    parts = ['<svg role="img" aria-label="Clock offsets per host" width="%d" height="%d" viewBox="0 0 %d %d">'
             % (left + width + 20, height, left + width + 20, height)]
    bottom = height - 30
    for lo, hi, colour in ((th["crit_offset"], span, "#fde0e0"), (th["warn_offset"], th["crit_offset"], "#fff3d6")):
        if lo < span:
            for a, b in ((x(lo), x(hi)), (x(-hi), x(-lo))):
                parts.append('<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s"/>'
                             % (a, top - 6, max(b - a, 0), bottom - top + 6, colour))
    parts.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#999"/>' % (x(0), top - 6, x(0), bottom))
    for tick in (-span, -span / 2, 0.0, span / 2, span):
        parts.append('<text x="%.1f" y="%d" font-size="10" text-anchor="middle">%s</text>'
                     % (x(tick), bottom + 14, html.escape(fmt_seconds(tick, True) if tick else "0 s")))
    for index, host in enumerate(hosts):
        y = top + index * row + row // 2
        colour = _COLOURS[host["severity"]]
        lo, hi = x(host["offset"] - host["bound"]), x(host["offset"] + host["bound"])
        parts.append('<text x="%d" y="%d" font-size="12" text-anchor="end">%s</text>'
                     % (left - 8, y + 4, html.escape(host["host"])))
        parts.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s" stroke-width="2"/>' % (lo, y, hi, y, colour))
        for end in (lo, hi):
            parts.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s"/>' % (end, y - 4, end, y + 4, colour))
        parts.append('<circle cx="%.1f" cy="%d" r="4" fill="%s"><title>%s %s +/- %s</title></circle>' % (
            x(host["offset"]), y, colour, html.escape(host["host"]), html.escape(fmt_seconds(host["offset"], True)),
            html.escape(fmt_seconds(host["bound"]))))
    if not hosts:
        parts.append('<text x="%d" y="%d" font-size="12">no host measured</text>' % (left, top + 12))
    parts.append("</svg>")
    return "\n".join(parts)


@_sanitised
def render_html(report):
    """One self-contained HTML page (inline CSS and SVG, no scripts, no external assets)."""
    esc = html.escape
    evaluation = report.get("evaluation") or {"label": "-", "reasons": []}
    rows = []
    for host in _sort_by_offset(report["hosts"]):
        rows.append("<tr class=\"%s\"><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td>"
                    "<td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>" % (
                        host["severity"], esc(host["host"]), esc(fmt_seconds(host["offset"], True)),
                        esc(fmt_seconds(host["bound"])), esc(fmt_seconds(host["rtt"])), esc(host["chrony_state"] or "-"),
                        "-" if host["stratum"] is None else host["stratum"], esc(host["reference"] or "-"),
                        esc(_chrony_cell(host)), esc(host["leap_status"] or "-"), esc(host["severity"]),
                        esc("; ".join(host["reasons"]))))
    return """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>fleetclock clock audit %(when)s</title>
<style>
body { font-family: sans-serif; margin: 1.5em; }
table { border-collapse: collapse; font-size: 13px; }
td, th { border: 1px solid #ccc; padding: 3px 6px; text-align: left; }
tr.warning td { background: #fff3d6; } tr.critical td { background: #fde0e0; } tr.unknown td { background: #eee; }
.status { font-weight: bold; } pre { background: #f6f6f6; padding: 0.8em; }
</style>
</head>
<body>
<h1>Clock audit</h1>
<p>Generated %(when)s. Offsets are host clock minus controller clock (positive = host ahead); bars show the error bound;
bands show warn (%(warn)s) and crit (%(crit)s) offsets.</p>
<p class="status">Status: %(label)s</p>
<ul>%(reasons)s</ul>
%(svg)s
<table>
<tr><th>host</th><th>offset</th><th>+/-bound</th><th>rtt</th><th>chrony</th><th>stratum</th><th>reference</th>
<th>chrony offset</th><th>leap</th><th>severity</th><th>reasons</th></tr>
%(rows)s
</table>
<h2>Fleet summary and JWT guidance</h2>
<pre>%(summary)s</pre>
</body>
</html>
""" % {
        "when": esc(report["generated_at_iso"]),
        "warn": esc(fmt_seconds(report["thresholds"]["warn_offset"])),
        "crit": esc(fmt_seconds(report["thresholds"]["crit_offset"])),
        "label": esc(evaluation["label"]),
        "reasons": "".join("<li>%s</li>" % esc(reason) for reason in evaluation["reasons"]),
        "svg": _svg_chart(report),
        "rows": "\n".join(rows),
        "summary": esc("\n".join(_summary_lines(report))),
    }


RENDERERS = {"table": render_table, "json": render_json, "prometheus": render_prometheus,
             "junit": render_junit, "html": render_html}
FILE_NAMES = {"table": "clock-audit.txt", "json": "clock-audit.json", "prometheus": "clock-audit.prom",
              "junit": "clock-audit.junit.xml", "html": "clock-audit.html"}


def write_reports(report, formats, output_dir, prometheus_path=None):
    """Write ``report`` in each of ``formats`` to output_dir (the Prometheus textfile to prometheus_path when
    given), each file atomically and on its own; return the absolute paths in the order of ``formats``.

    A format that cannot be rendered or written does not stop the others: after trying every one,
    ReportWriteError (an OSError) names each failed format, its path and why, and the files written.
    """
    files, failures = [], []
    for fmt in formats:
        path = prometheus_path if fmt == "prometheus" and prometheus_path else os.path.join(output_dir, FILE_NAMES[fmt])
        try:
            files.append(write_atomic(path, RENDERERS[fmt](report)))
        except Exception as exc:  # any failure of this format only: report it, write the others
            failures.append("%s (%s): %s: %s" % (fmt, os.path.abspath(path), type(exc).__name__, exc))
    if failures:
        raise ReportWriteError(failures, files)
    return files
