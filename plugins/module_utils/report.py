# -*- coding: utf-8 -*-
# Copyright (c) 2025 fleetclock maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Writing the audit report: every format (report_text.py for people, report_data.py for machines), each
file atomically and on its own.

Reports carry host names and measured values only, never inventory variables.  Every renderer first
sanitises every string of the report (hostout.clean: no lone surrogates, controls, bidi overrides or
line separators reach a file or the terminal), and write_reports writes each format on its own: one
that fails is reported, the others are still written.  Files are created with the process umask.
No Ansible imports; Python 3.8+.
"""

from __future__ import annotations

import os
import secrets

from ansible_collections.fleetclock.timesync.plugins.module_utils.report_data import (
    render_json,
    render_junit,
    render_prometheus,
)
from ansible_collections.fleetclock.timesync.plugins.module_utils.report_text import render_html, render_table


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
