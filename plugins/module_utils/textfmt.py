# -*- coding: utf-8 -*-
# Copyright (c) 2025 fleetclock maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How the collection writes durations and terminal tables (the audit report and the rollout comparison).

Pure functions; no Ansible imports; Python 3.8+.
"""

from __future__ import annotations

import functools

from ansible_collections.fleetclock.timesync.plugins.module_utils.hostout import clean, sanitise
from ansible_collections.fleetclock.timesync.plugins.module_utils.values import is_number


def fmt_seconds(value, signed=False):
    """Readable duration: ``+1.234 s``, ``-12.3 ms``, ``450 us``; ``-`` for None (anything else not a number, as text)."""
    if value is None:
        return "-"
    if not is_number(value):
        return str(value)
    sign = "+" if signed else ""
    size = abs(value)
    if size >= 1.0:
        return ("%" + sign + ".3f s") % value
    if size >= 1e-3:
        return ("%" + sign + ".1f ms") % (value * 1e3)
    return ("%" + sign + ".0f us") % (value * 1e6)


def printable(text):
    """One terminal line: controls, bidi overrides and line breaks shown escaped, so no text can break a table."""
    return sanitise(str(text), newlines=False)


def text_table(header, rows):
    """The lines of a fixed-width table: the header, a rule, one line per row (cells made printable)."""
    rows = [[printable(cell) for cell in row] for row in rows]
    widths = [max(len(str(row[i])) for row in [header] + rows) for i in range(len(header))]
    lines = ["  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip() for row in [header] + rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return lines


def terminal_block(text):
    """``text`` as one block for the terminal, line for line: each line printable (no control or bidi character
    can move the cursor or reorder a row), trailing blanks and the final newline dropped (the display adds one)."""
    return "\n".join(printable(line).rstrip() for line in str(text).rstrip("\n").split("\n"))


def sanitised(render):
    """A renderer sees the report with every string sanitised (hostout.clean)."""
    @functools.wraps(render)
    def wrapper(report):
        return render(clean(report))
    return wrapper
