# -*- coding: utf-8 -*-
# Copyright (c) 2025 fleetclock maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The audit report for people: the terminal table (with the fleet summary and JWT guidance) and the HTML page.

Each render_* function takes the report dict (fleet.py) and returns text, every string of the report
sanitised first (textfmt.sanitised).  Pure functions; no Ansible imports; Python 3.8+.
"""

from __future__ import annotations

import html

from ansible_collections.fleetclock.timesync.plugins.module_utils.textfmt import (
    fmt_seconds,
    printable,
    sanitised,
    text_table,
)


# ---------------------------------------------------------------- table

def _sort_by_offset(hosts):
    """Measured hosts by |offset| descending, then the unmeasured ones by name."""
    measured = sorted((h for h in hosts if h["measured"]), key=lambda h: (-abs(h["offset"]), h["host"]))
    return measured + sorted((h for h in hosts if not h["measured"]), key=lambda h: h["host"])


def _chrony_cell(host):
    if host["chrony_offset"] is None:
        return "-"
    return "%s +/- %s" % (fmt_seconds(host["chrony_offset"], True), fmt_seconds(host["chrony_error_bound"]))


def daemon_cell(host):
    """The host's time daemon in one cell: name, state, reference, stratum, its offset +/- error estimate, and the
    kernel's verdict ("container host" when that kernel is the container host's); "-" when not read."""
    daemon = host.get("daemon")
    if not daemon:
        return "-"
    parts = [daemon["daemon"] or "none", daemon["state"]]
    if daemon["reference"]:
        parts.append(daemon["reference"])
    if daemon["stratum"] is not None:
        parts.append("stratum %s" % daemon["stratum"])
    if daemon["offset"] is not None:
        parts.append(fmt_seconds(daemon["offset"], True) + (
            " +/- %s" % fmt_seconds(daemon["error_bound"]) if daemon["error_bound"] is not None else ""))
    if daemon["kernel_state"] and daemon["kernel_state"] != "unknown":
        parts.append("kernel %s%s" % (daemon["kernel_state"], " (container host)" if daemon["container"] else ""))
    return " ".join(str(part) for part in parts)


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


@sanitised
def render_table(report):
    """Readable terminal table (|offset| descending), then the fleet summary and JWT guidance."""
    header = ["host", "offset", "+/-bound", "rtt", "chrony", "stratum", "reference", "chrony offset", "leap", "daemon",
              "severity"]
    rows = []
    for host in _sort_by_offset(report["hosts"]):
        rows.append([
            host["host"], fmt_seconds(host["offset"], True), fmt_seconds(host["bound"]), fmt_seconds(host["rtt"]),
            host["chrony_state"] or "-", "-" if host["stratum"] is None else host["stratum"],
            host["reference"] or "-", _chrony_cell(host), host["leap_status"] or "-", daemon_cell(host),
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


@sanitised
def render_html(report):
    """One self-contained HTML page (inline CSS and SVG, no scripts, no external assets)."""
    esc = html.escape
    evaluation = report.get("evaluation") or {"label": "-", "reasons": []}
    rows = []
    for host in _sort_by_offset(report["hosts"]):
        rows.append("<tr class=\"%s\"><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td>"
                    "<td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>" % (
                        host["severity"], esc(host["host"]), esc(fmt_seconds(host["offset"], True)),
                        esc(fmt_seconds(host["bound"])), esc(fmt_seconds(host["rtt"])), esc(host["chrony_state"] or "-"),
                        "-" if host["stratum"] is None else host["stratum"], esc(host["reference"] or "-"),
                        esc(_chrony_cell(host)), esc(host["leap_status"] or "-"), esc(daemon_cell(host)),
                        esc(host["severity"]),
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
<th>chrony offset</th><th>leap</th><th>daemon</th><th>severity</th><th>reasons</th></tr>
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
