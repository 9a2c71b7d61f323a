# -*- coding: utf-8 -*-
# Copyright (c) 2025 fleetclock maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The audit's history: earlier JSON reports of this collection (clock_report's ``history_dir``) read back as runs
for the HTML report's history section (fleet skew and each host's offset over the runs).

An earlier report is a file someone else could have written: every value is checked (values.py) and a file that
is not a schema_version 1 report with finite numbers is skipped with a warning naming it and why; it never stops
the report.  read_history() reads the directory (the newest files first, at most ``limit``); everything else is
pure.  No Ansible imports; Python 3.8+.
"""

from __future__ import annotations

import json
import os
import time

from ansible_collections.fleetclock.timesync.plugins.module_utils.textfmt import printable
from ansible_collections.fleetclock.timesync.plugins.module_utils.values import as_float

SCHEMA_VERSION = 1
# A history file larger than this is skipped unread (a report of 10,000 hosts is about 15 MB).
MAX_FILE_BYTES = 64 * 1024 * 1024
# generated_at from 1970 to the end of year 9999: what a report can have been written at, and what gmtime formats.
LATEST = 253402300799.0


class HistoryError(ValueError):
    """An earlier report cannot be read as a run; the message names the file and what is wrong."""


def _refuse_constant(token):
    raise ValueError("%s is not a JSON number" % token)


def _seconds(value, what, name, signed=False):
    number = as_float(value, strings=False)
    if number is None or (number < 0 and not signed):
        raise HistoryError("%s: %s is not a finite number%s (got %s)" % (
            name, what, "" if signed else " >= 0", printable(repr(value))[:80]))
    return number


def history_point(report, name):
    """One run from a parsed earlier ``report`` (file ``name``): when it was generated, the fleet skew and its
    bound (None when no host was measured), and each measured host's offset and bound.  Raises HistoryError."""
    version = report.get("schema_version") if isinstance(report, dict) else None
    if isinstance(version, bool) or version != SCHEMA_VERSION:
        raise HistoryError("%s: not a schema_version %d audit report of fleetclock.timesync" % (name, SCHEMA_VERSION))
    at = _seconds(report.get("generated_at"), "generated_at", name)
    if at > LATEST:
        raise HistoryError("%s: generated_at %r is after the year 9999" % (name, at))
    fleet, hosts = report.get("fleet"), report.get("hosts")
    if not isinstance(fleet, dict) or not isinstance(hosts, list):
        raise HistoryError("%s: no 'fleet' object or 'hosts' list" % name)
    skew = None if fleet.get("skew") is None else _seconds(fleet.get("skew"), "fleet.skew", name)
    bound = None if skew is None else _seconds(fleet.get("skew_bound"), "fleet.skew_bound", name)
    measured = {}
    for index, host in enumerate(hosts):
        where = "hosts[%d]" % index
        if not isinstance(host, dict) or not isinstance(host.get("host"), str) or not host["host"]:
            raise HistoryError("%s: %s has no host name" % (name, where))
        if host.get("measured") is not True:
            continue
        if host["host"] in measured:
            raise HistoryError("%s: host %s appears twice" % (name, printable(host["host"])[:80]))
        measured[host["host"]] = (_seconds(host.get("offset"), where + ".offset", name, signed=True),
                                  _seconds(host.get("bound"), where + ".bound", name))
    return {"at": at, "iso": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at)), "skew": skew, "skew_bound": bound,
            "hosts": measured}


def parse_history_file(text, name):
    """history_point() of the JSON ``text`` of file ``name``; raises HistoryError (never another exception)."""
    try:
        report = json.loads(text, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:
        raise HistoryError("%s: not valid JSON (%s)" % (name, printable(str(exc))[:200])) from None
    return history_point(report, name)


def build_history(files, current, limit, source=None):
    """The history section of the report ``current``: ``files`` ((name, text) of earlier reports) read as runs,
    the newest ``limit`` kept (one per generated_at; none at or after the current report's), then the current
    run.  Returns (history, warnings): a file that cannot be read as a run is skipped with a warning."""
    runs, warnings = {}, []
    for name, text in files:
        try:
            point = parse_history_file(text, name)
        except HistoryError as exc:
            warnings.append("history_dir: skipped %s" % exc)
            continue
        if point["at"] >= current["generated_at"]:
            warnings.append("history_dir: skipped %s: generated at %s, not before the current report (%s)" % (
                name, point["iso"], history_point(current, "the current report")["iso"]))
            continue
        runs.setdefault(point["at"], point)
    kept = [runs[at] for at in sorted(runs)[-limit:]] if limit > 0 else []
    now = history_point(current, "the current report")
    return {"source": source, "skipped": len(warnings), "runs": kept + [dict(now, current=True)]}, warnings


def read_history(directory, limit, max_bytes=MAX_FILE_BYTES):
    """(name, text) of the newest ``limit`` ``*.json`` files directly in ``directory`` (by modification time, then
    name), and warnings for a directory or file that cannot be read (a missing directory: no history yet)."""
    what = "history_dir %s" % printable(directory)
    try:
        with os.scandir(directory) as entries:
            found = []
            for entry in entries:
                try:
                    if entry.name.endswith(".json") and entry.is_file():
                        stat = entry.stat()
                        found.append((-stat.st_mtime, entry.name, entry.path, stat.st_size))
                except OSError:
                    continue  # removed while listed
    except FileNotFoundError:
        return [], ["%s does not exist (yet): the report has no history" % what]
    except OSError as exc:
        return [], ["%s cannot be listed (%s): the report has no history" % (what, exc.strerror or exc)]
    files, warnings = [], []
    for _mtime, name, path, size in sorted(found)[:max(limit, 0)]:
        shown = printable(name)
        if size > max_bytes:
            warnings.append("history_dir: skipped %s: %d bytes, more than %d" % (shown, size, max_bytes))
            continue
        try:
            with open(path, "rb") as handle:
                files.append((shown, handle.read(max_bytes + 1).decode("utf-8")))
        except UnicodeDecodeError:
            warnings.append("history_dir: skipped %s: not UTF-8" % shown)
        except OSError as exc:
            warnings.append("history_dir: skipped %s: cannot read it (%s)" % (shown, exc.strerror or exc))
    return files, warnings
