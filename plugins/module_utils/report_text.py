# -*- coding: utf-8 -*-
# Copyright (c) 2025 fleetclock maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The audit report for people: the terminal table (with the fleet summary and JWT guidance) and the HTML page.

Each render_* function takes the report dict (fleet.py) and returns text, every string of the report
sanitised first (textfmt.sanitised).  Pure functions; no Ansible imports; Python 3.8+.
"""

from __future__ import annotations

import html

from ansible_collections.fleetclock.timesync.plugins.module_utils import symlog
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
    kernel's verdict ("container host" when that kernel is the container host's), and "CONTRADICTED" when the
    measured offset contradicts the daemon's claim (records.claim_checks); "-" when not read."""
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
    if any(item["kind"] == "claim" and item["level"] == "warning" for item in host.get("checks") or []):
        parts.append("CONTRADICTED by the measured offset")
    return " ".join(str(part) for part in parts)


def _other_daemons(report):
    """{host: "DAEMON STATE"} for the hosts of fleet.chrony_unknown whose time daemon was read and is not chrony."""
    out = {}
    for host in report.get("hosts") or []:
        daemon = host.get("daemon") or {}
        if host.get("host") in report["fleet"]["chrony_unknown"] and daemon.get("daemon") not in (None, "", "chrony"):
            out[host["host"]] = "%s %s" % (daemon["daemon"], daemon.get("state") or "unknown")
    return out


def _fleet_lines(report):
    fleet, ctrl = report["fleet"], report["controller"]
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
                       ("unsynchronised", "chrony unsynchronised / not running")):
        if fleet[key]:
            lines.append("  %s: %s" % (label, ", ".join(fleet[key])))
    # a host whose chrony state is unknown because it runs another time daemon says which, and that daemon's view
    others = _other_daemons(report)
    unknown = [name for name in fleet["chrony_unknown"] if name not in others]
    if unknown:
        lines.append("  chrony state unknown: %s" % ", ".join(unknown))
    if others:
        lines.append("  no chrony, another time daemon: %s" % ", ".join(
            "%s (%s)" % (name, others[name]) for name in fleet["chrony_unknown"] if name in others))
    lines.append("Controller: " + (ctrl["warning"] and "WARNING " + ctrl["warning"] or ctrl["note"]))
    return lines


def _recommendation(jwt):
    return "recommended leeway: %d s = ceil(worst pair spread %s + margin %g s)" % (
        jwt["recommended_leeway"], fmt_seconds(jwt["worst_pair_spread"]), jwt["margin"])


def _nbf_heading(jwt):
    nbf = jwt["nbf_rejected"]
    return ("%d ordered pair(s) issuer -> verifier where the issuer is ahead by more than the leeway (fresh tokens "
            "rejected: 'The token is not yet valid (nbf)'; expired tokens accepted late)%s" % (
                nbf["total"], ", top %d" % nbf["shown"] if nbf["shown"] < nbf["total"] else ""))


def _jwt_lines(report):
    jwt = report["jwt"]
    lines = ["JWT leeway (current %g s):" % jwt["current_leeway"]]
    if jwt["recommended_leeway"] is None:
        lines.append("  no host measured: no recommendation")
    else:
        lines.append("  " + _recommendation(jwt))
        lines.append("  set it as: " + "; ".join("%s %s (default %s s)" % (
            s["library"], s["setting"], s["default"]) for s in jwt["settings"]))
        nbf = jwt["nbf_rejected"]
        if nbf["total"]:
            lines.append("  %s:" % _nbf_heading(jwt))
            for pair in nbf["pairs"]:
                lines.append("    %s -> %s: ahead %s +/- %s, rejected for %s, exp accepted %s late%s" % (
                    pair["issuer"], pair["verifier"], fmt_seconds(pair["ahead"]), fmt_seconds(pair["bound"]),
                    fmt_seconds(pair["rejected_for"]), fmt_seconds(pair["ahead"] + jwt["current_leeway"]),
                    "" if pair["certain"] else " (within error bound)"))
        else:
            lines.append("  no pair of hosts is apart by more than the current leeway")
    return lines


def _summary_lines(report):
    return _fleet_lines(report) + [""] + _jwt_lines(report)


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
# The chart's geometry in pixels: host names | axis | values; rows; the least half-length of an error bar.
_LEFT, _WIDTH, _VALUES, _ROW, _TOP, _MIN_WHISKER, _TICK_GAP, _NAME_CHARS = 190, 640, 230, 22, 24, 3, 52, 26


def _short(name, size=_NAME_CHARS):
    """A host name that fits the chart's label column (the full name is in the point's title and the table)."""
    return name if len(name) <= size else name[:size - 1] + "\u2026"


def whisker(x, offset, bound, least=_MIN_WHISKER):
    """The pixel ends of a host's error bar on the axis ``x``: offset +/- bound, at least ``least`` pixels each side
    of the point so a bound far smaller than a pixel stays visible (the value column gives the exact bound)."""
    centre = x(offset)
    return min(x(offset - bound), centre - least), max(x(offset + bound), centre + least)


def _svg_chart(report):
    """Inline SVG: one row per measured host (name, offset dot with error bar, value), a symmetric log axis
    (symlog.py) with labelled decades, threshold bands."""
    esc = html.escape
    th = report["thresholds"]
    hosts = _sort_by_offset([h for h in report["hosts"] if h["measured"]])
    span = symlog.span_for([abs(h["offset"]) + h["bound"] for h in hosts], th["crit_offset"])
    x = symlog.scale(span, _LEFT, _WIDTH)
    total = _LEFT + _WIDTH + _VALUES
    height = _TOP + _ROW * max(len(hosts), 1) + 34
    bottom = height - 34
    parts = ['<svg class="chart" role="img" aria-label="Clock offset and error bound per host, symmetric log axis" '
             'width="%d" height="%d" viewBox="0 0 %d %d">' % (total, height, total, height)]
    for lo, hi, colour in ((th["crit_offset"], span, "#fde0e0"), (th["warn_offset"], th["crit_offset"], "#fff3d6")):
        if lo < span:
            for a, b in ((x(lo), x(hi)), (x(-hi), x(-lo))):
                parts.append('<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s"/>'
                             % (a, _TOP - 6, max(b - a, 0), bottom - _TOP + 6, colour))
    for value, px in symlog.ticks(span, x, _TICK_GAP):
        parts.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s"/>'
                     % (px, _TOP - 6, px, bottom + 3, "#999" if value == 0 else "#e4e4e4"))
        parts.append('<text class="tick" x="%.1f" y="%d" font-size="10" text-anchor="middle">%s</text>'
                     % (px, bottom + 14, esc(symlog.tick_label(value))))
    parts.append('<text x="%.1f" y="%d" font-size="10" text-anchor="middle">offset (host - controller), '
                 'symmetric log scale: linear within +/- %s</text>'
                 % (x(0), bottom + 28, esc(symlog.tick_label(symlog.LINEAR_WITHIN)[1:])))
    for index, host in enumerate(hosts):
        y = _TOP + index * _ROW + _ROW // 2
        colour = _COLOURS[host["severity"]]
        lo, hi = whisker(x, host["offset"], host["bound"])
        value = "%s +/- %s" % (fmt_seconds(host["offset"], True), fmt_seconds(host["bound"]))
        parts.append('<g class="host" data-host="%s">' % esc(host["host"]))
        parts.append('<text class="name" x="%d" y="%d" font-size="12" text-anchor="end">%s</text>'
                     % (_LEFT - 8, y + 4, esc(_short(host["host"]))))
        parts.append('<line class="bar" x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s" stroke-width="2"/>'
                     % (lo, y, hi, y, colour))
        for end in (lo, hi):
            parts.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s" stroke-width="1.5"/>'
                         % (end, y - 5, end, y + 5, colour))
        parts.append('<circle cx="%.1f" cy="%d" r="3.5" fill="%s"><title>%s %s</title></circle>'
                     % (x(host["offset"]), y, colour, esc(host["host"]), esc(value)))
        parts.append('<text class="value" x="%d" y="%d" font-size="11">%s</text></g>'
                     % (_LEFT + _WIDTH + 10, y + 4, esc(value)))
    if not hosts:
        parts.append('<text x="%d" y="%d" font-size="12">no host measured</text>' % (_LEFT, _TOP + 12))
    parts.append("</svg>")
    return "\n".join(parts)


# ---------------------------------------------------------------- HTML history

# The history charts' geometry in pixels (same columns as the offset chart): the skew plot's height, a host's row,
# the plot's inner margin left and right, the least vertical gap between labelled ticks.
_HIST_PLOT, _HIST_ROW, _HIST_PAD, _HIST_TICK_GAP = 170, 30, 12, 16
_HIST_LINE = "#1565c0"


def history_columns(runs, left=_LEFT, width=_WIDTH, pad=_HIST_PAD):
    """The pixel column of a run's time: the first run at the plot's left, the last at its right (one run: the
    middle)."""
    first, last = runs[0]["at"], runs[-1]["at"]
    if last <= first:
        return lambda at: left + width / 2.0
    return lambda at: left + pad + (at - first) / (last - first) * (width - 2 * pad)


def _level(value, warn, crit):
    return "critical" if value > crit else "warning" if value > warn else "ok"


def _time_labels(runs, px, y):
    """The first and the last run's time under a history chart."""
    esc = html.escape
    if len(runs) == 1:
        return ['<text class="time" x="%.1f" y="%d" font-size="10" text-anchor="middle">%s</text>'
                % (px(runs[0]["at"]), y, esc(runs[0]["iso"]))]
    return ['<text class="time" x="%.1f" y="%d" font-size="10" text-anchor="%s">%s</text>'
            % (px(run["at"]), y, anchor, esc(run["iso"])) for run, anchor in ((runs[0], "start"), (runs[-1], "end"))]


def _polylines(points, css_class):
    """One polyline per stretch of consecutive points (a None breaks the line)."""
    lines, stretch = [], []
    for point in list(points) + [None]:
        if point is not None:
            stretch.append("%.1f,%.1f" % point)
        elif stretch:
            if len(stretch) > 1:
                lines.append('<polyline class="%s" fill="none" stroke="%s" stroke-width="1.5" points="%s"/>'
                             % (css_class, _HIST_LINE, " ".join(stretch)))
            stretch = []
    return lines


def _bands(lines, x_left, x_right):
    """Shaded rectangles between pixel rows (a, b, colour), across the plot."""
    return ['<rect x="%d" y="%.1f" width="%d" height="%.1f" fill="%s"/>' % (x_left, min(a, b), x_right - x_left,
                                                                            abs(b - a), colour)
            for a, b, colour in lines if abs(b - a) > 0]


def _svg_history_skew(report, runs, px):
    """Inline SVG: the fleet skew of each run (dot, error bar: +/- its bound) on a log axis from 0, warn/crit bands."""
    esc = html.escape
    th = report["thresholds"]
    measured = [run for run in runs if run["skew"] is not None]
    span = symlog.span_for([run["skew"] + run["skew_bound"] for run in measured], th["crit_skew"])
    top, total = 14, _LEFT + _WIDTH + _VALUES
    bottom = top + _HIST_PLOT
    y = symlog.vertical(span, bottom, _HIST_PLOT, signed=False)
    height = bottom + 40
    parts = ['<svg class="history-skew" role="img" aria-label="Fleet skew and its error bound per run, symmetric '
             'log axis" width="%d" height="%d" viewBox="0 0 %d %d">' % (total, height, total, height)]
    parts += _bands([(y(th["warn_skew"]), y(th["crit_skew"]), "#fff3d6"), (y(th["crit_skew"]), y(span), "#fde0e0")],
                    _LEFT, _LEFT + _WIDTH)
    for value, py in symlog.ticks(span, y, _HIST_TICK_GAP):
        if value >= 0:
            parts.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="%s"/>'
                         % (_LEFT, py, _LEFT + _WIDTH, py, "#999" if value == 0 else "#e4e4e4"))
            parts.append('<text class="tick" x="%d" y="%.1f" font-size="10" text-anchor="end">%s</text>'
                         % (_LEFT - 6, py + 3, esc(symlog.tick_label(value))))
    parts += _polylines([(px(run["at"]), y(run["skew"])) if run["skew"] is not None else None for run in runs],
                        "skew-line")
    for run in runs:
        x = px(run["at"])
        if run["skew"] is None:
            parts.append('<g class="run" data-at="%s"><circle cx="%.1f" cy="%.1f" r="3" fill="#fff" stroke="%s">'
                         '<title>%s: no host measured</title></circle></g>' % (esc(run["iso"]), x, y(0), _COLOURS["unknown"],
                                                                               esc(run["iso"])))
            continue
        colour = _COLOURS[_level(run["skew"], th["warn_skew"], th["crit_skew"])]
        hi, lo = y(run["skew"] + run["skew_bound"]), y(max(run["skew"] - run["skew_bound"], 0.0))
        centre = y(run["skew"])
        text = "%s: skew %s +/- %s" % (run["iso"], fmt_seconds(run["skew"]), fmt_seconds(run["skew_bound"]))
        parts.append('<g class="run" data-at="%s"><line class="bar" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" '
                     'stroke="%s" stroke-width="1.5"/><circle cx="%.1f" cy="%.1f" r="3.5" fill="%s"><title>%s</title>'
                     '</circle></g>' % (esc(run["iso"]), x, min(hi, centre - _MIN_WHISKER), x,
                                        max(lo, centre + _MIN_WHISKER), colour, x, centre, colour, esc(text)))
    last = runs[-1]
    now = "now: no host measured" if last["skew"] is None else "now: %s +/- %s" % (
        fmt_seconds(last["skew"]), fmt_seconds(last["skew_bound"]))
    parts.append('<text class="value" x="%d" y="%.1f" font-size="11">%s</text>'
                 % (_LEFT + _WIDTH + 10, y(last["skew"] or 0.0) + 4, esc(now)))
    parts += _time_labels(runs, px, bottom + 14)
    parts.append('<text x="%.1f" y="%d" font-size="10" text-anchor="middle">fleet skew (largest - smallest offset) '
                 'per run, symmetric log scale; bands: warn_skew, crit_skew</text>' % (_LEFT + _WIDTH / 2.0, bottom + 30))
    parts.append("</svg>")
    return "\n".join(parts)


def _history_hosts(report, runs):
    """The hosts of the history: measured now in the table's order, then the others (earlier runs only) by name."""
    now = runs[-1]["hosts"]
    first = [host["host"] for host in _sort_by_offset(report["hosts"]) if host["host"] in now]
    earlier = set()
    for run in runs:
        earlier.update(run["hosts"])
    return first + sorted(earlier - set(now))


def _svg_history_hosts(report, runs, px):
    """Inline SVG: one row per host, its offset in each run (dot, error bar) on one symmetric log scale shared by
    every row (0 on the row's middle line, shaded beyond +/- crit_offset), the current value beside it."""
    esc = html.escape
    th = report["thresholds"]
    hosts = _history_hosts(report, runs)
    span = symlog.span_for([abs(o) + b for run in runs for o, b in run["hosts"].values()], th["crit_offset"])
    top, total, half = 8, _LEFT + _WIDTH + _VALUES, (_HIST_ROW - 6) / 2.0
    bottom = top + _HIST_ROW * max(len(hosts), 1)
    height = bottom + 34
    parts = ['<svg class="history-hosts" role="img" aria-label="Clock offset of each host per run, symmetric log '
             'axis" width="%d" height="%d" viewBox="0 0 %d %d">' % (total, height, total, height)]
    for index, host in enumerate(hosts):
        middle = top + index * _HIST_ROW + _HIST_ROW / 2.0
        y = symlog.vertical(span, middle + half, 2 * half)
        parts.append('<g class="history-host" data-host="%s">' % esc(host))
        parts += _bands([(y(th["crit_offset"]), y(span), "#fde0e0"), (y(-th["crit_offset"]), y(-span), "#fde0e0")],
                        _LEFT, _LEFT + _WIDTH)
        parts.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#999"/>' % (_LEFT, middle, _LEFT + _WIDTH, middle))
        parts.append('<text class="name" x="%d" y="%.1f" font-size="12" text-anchor="end">%s</text>'
                     % (_LEFT - 8, middle + 4, esc(_short(host))))
        parts += _polylines([(px(run["at"]), y(run["hosts"][host][0])) if host in run["hosts"] else None
                             for run in runs], "offset-line")
        for run in runs:
            if host not in run["hosts"]:
                continue
            offset, bound = run["hosts"][host]
            x, centre = px(run["at"]), y(offset)
            colour = _COLOURS[_level(abs(offset), th["warn_offset"], th["crit_offset"])]
            text = "%s %s: %s +/- %s" % (host, run["iso"], fmt_seconds(offset, True), fmt_seconds(bound))
            parts.append('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s"/>'
                         % (x, y(offset + bound), x, y(offset - bound), colour))
            parts.append('<circle class="point" cx="%.1f" cy="%.1f" r="2.5" fill="%s"><title>%s</title></circle>'
                         % (x, centre, colour, esc(text)))
        now = runs[-1]["hosts"].get(host)
        parts.append('<text class="value" x="%d" y="%.1f" font-size="11">%s</text></g>' % (
            _LEFT + _WIDTH + 10, middle + 4, esc("not measured now" if now is None else
                                                 "%s +/- %s" % (fmt_seconds(now[0], True), fmt_seconds(now[1])))))
    if not hosts:
        parts.append('<text x="%d" y="%d" font-size="12">no host measured in any run</text>' % (_LEFT, top + 16))
    parts += _time_labels(runs, px, bottom + 14)
    parts.append('<text x="%.1f" y="%d" font-size="10" text-anchor="middle">offset (host - controller) per run, '
                 'every row on one symmetric log scale to +/- %s: 0 on the line, shaded beyond crit_offset</text>'
                 % (_LEFT + _WIDTH / 2.0, bottom + 28, esc(fmt_seconds(span))))
    parts.append("</svg>")
    return "\n".join(parts)


def _html_history(report):
    """The history section (the report's ``history``, history.build_history), or nothing without one."""
    history = report.get("history")
    if not history:
        return ""
    esc = html.escape
    runs = history["runs"]
    px = history_columns(runs)
    earlier = len(runs) - 1
    parts = ["<h2>History</h2>",
             "<p class=\"history\">%s%s</p>" % (
                 esc("%d run(s) from %s to %s: %d earlier report(s) from %s and this one." % (
                     len(runs), runs[0]["iso"], runs[-1]["iso"], earlier, history["source"] or "history_dir"))
                 if earlier else esc("No earlier report in %s yet: the history starts with this run."
                                     % (history["source"] or "history_dir")),
                 esc(" %d file(s) skipped (named in the task's warnings)." % history["skipped"])
                 if history["skipped"] else "")]
    return "\n".join(parts + [_svg_history_skew(report, runs, px), _svg_history_hosts(report, runs, px)])


def _html_table(header, rows, css_class, wrap=()):
    """A table of text cells; the columns numbered in ``wrap`` (names, free text) may wrap, the others do not."""
    esc = html.escape
    return '<table class="%s">\n<tr>%s</tr>\n%s\n</table>' % (
        css_class, "".join("<th>%s</th>" % esc(cell) for cell in header),
        "\n".join("<tr>%s</tr>" % "".join('<td%s>%s</td>' % (' class="wrap"' if index in wrap else "", esc(str(cell)))
                                          for index, cell in enumerate(row)) for row in rows))


# The failing pairs' columns: (header, cell of a pair given the current leeway), for the table and the HTML page.
PAIR_COLUMNS = (
    ("issuer", lambda pair, leeway: pair["issuer"]),
    ("verifier", lambda pair, leeway: pair["verifier"]),
    ("issuer ahead", lambda pair, leeway: fmt_seconds(pair["ahead"])),
    ("+/-bound", lambda pair, leeway: fmt_seconds(pair["bound"])),
    ("fresh tokens rejected for", lambda pair, leeway: fmt_seconds(pair["rejected_for"])),
    ("exp accepted late", lambda pair, leeway: fmt_seconds(pair["ahead"] + leeway)),
    ("certain", lambda pair, leeway: "yes" if pair["certain"] else "no (within error bound)"),
)


def _html_jwt(report):
    """The JWT guidance: the recommendation, where to set it (a table), the failing pairs (a table)."""
    esc = html.escape
    jwt = report["jwt"]
    parts = ["<p>Current leeway: %s s.</p>" % esc("%g" % jwt["current_leeway"])]
    if jwt["recommended_leeway"] is None:
        return "\n".join(parts + ["<p>No host measured: no recommendation.</p>"])
    parts.append("<p><strong>%s</strong></p>" % esc(_recommendation(jwt)[0].upper() + _recommendation(jwt)[1:]))
    parts.append(_html_table(["library", "setting", "default"], [
        [s["library"], s["setting"], "%s s" % s["default"]] for s in jwt["settings"]], "jwt-settings", wrap=(1,)))
    if jwt["nbf_rejected"]["total"]:
        parts.append("<p>%s:</p>" % esc(_nbf_heading(jwt)))
        parts.append(_html_table([header for header, _cell in PAIR_COLUMNS], [
            [cell(pair, jwt["current_leeway"]) for _header, cell in PAIR_COLUMNS]
            for pair in jwt["nbf_rejected"]["pairs"]], "jwt-pairs", wrap=(0, 1)))
    else:
        parts.append("<p>No pair of hosts is apart by more than the current leeway.</p>")
    return "\n".join(parts)


@sanitised
def render_html(report):
    """One self-contained HTML page (inline CSS and SVG, no scripts, no external assets) that fits 1280 px."""
    esc = html.escape
    evaluation = report.get("evaluation") or {"label": "-", "reasons": []}
    rows = []
    for host in _sort_by_offset(report["hosts"]):
        rows.append("<tr class=\"%s\"><td class=\"wrap\">%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td>"
                    "<td>%s</td><td>%s</td><td>%s</td><td class=\"wrap\">%s</td><td>%s</td><td class=\"wrap\">%s</td></tr>" % (
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
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>fleetclock clock audit %(when)s</title>
<style>
body { font-family: sans-serif; margin: 1.5em; max-width: 100%%; }
table { border-collapse: collapse; font-size: 13px; margin: 0.5em 0; max-width: 100%%; }
td, th { border: 1px solid #ccc; padding: 3px 6px; text-align: left; vertical-align: top; white-space: nowrap; }
td.wrap { white-space: normal; overflow-wrap: anywhere; min-width: 8em; }
tr.warning td { background: #fff3d6; } tr.critical td { background: #fde0e0; } tr.unknown td { background: #eee; }
.status { font-weight: bold; } li { overflow-wrap: anywhere; }
svg.chart, svg.history-skew, svg.history-hosts { max-width: 100%%; height: auto; }
</style>
</head>
<body>
<h1>Clock audit</h1>
<p>Generated %(when)s. Offsets are host clock minus controller clock (positive = host ahead), on a symmetric log
scale (linear within +/- %(linear)s, one step per decade beyond) so hosts seconds and milliseconds apart are all
told apart. Bars show the error bound (drawn at least %(whisker)d px each side; the exact bound is written beside
them); bands show warn (%(warn)s) and crit (%(crit)s) offsets.</p>
<p class="status">Status: %(label)s</p>
<ul>%(reasons)s</ul>
%(svg)s
<table class="hosts">
<tr><th>host</th><th>offset</th><th>+/-bound</th><th>rtt</th><th>chrony</th><th>stratum</th><th>reference</th>
<th>chrony offset</th><th>leap</th><th>daemon</th><th>severity</th><th>reasons</th></tr>
%(rows)s
</table>
<h2>Fleet summary</h2>
<ul class="fleet">%(fleet)s</ul>
<h2>JWT guidance</h2>
%(jwt)s
%(history)s
</body>
</html>
""" % {
        "when": esc(report["generated_at_iso"]),
        "linear": esc(symlog.tick_label(symlog.LINEAR_WITHIN)[1:]),
        "whisker": _MIN_WHISKER,
        "warn": esc(fmt_seconds(report["thresholds"]["warn_offset"])),
        "crit": esc(fmt_seconds(report["thresholds"]["crit_offset"])),
        "label": esc(evaluation["label"]),
        "reasons": "".join("<li>%s</li>" % esc(reason) for reason in evaluation["reasons"]),
        "svg": _svg_chart(report),
        "rows": "\n".join(rows),
        "fleet": "".join("<li>%s</li>" % esc(line.strip()) for line in _fleet_lines(report)),
        "jwt": _html_jwt(report),
        "history": _html_history(report),
    }
