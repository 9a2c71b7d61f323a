# -*- coding: utf-8 -*-
# Copyright (c) 2025 fleetclock maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    """Options that several of the collection's actions share (tests/unit/plugins/test_documented_options.py checks
    each action's ARGUMENT_SPEC against its documented options, fragments included). A module's own entry for an
    option replaces the fragment's."""

    # clock_probe's sampling options; clock_probe_batch passes them to every visit.
    PROBE = r"""
options:
  min_samples:
    description:
      - Clock samples always taken. The first one reads the host clock before and after chronyc, so its bound
        leaves out chronyc's time and one command per host is usually enough.
    type: int
    default: 1
  max_samples:
    description:
      - Upper limit of clock samples. Must be at least O(min_samples).
    type: int
    default: 5
  target_bound:
    description:
      - Stop sampling once the best sample's error bound is at most this many seconds.
      - A host whose C(date) has no C(%N) (busybox) has a reading error of 0.5 s, so no number of samples reaches
        a smaller target; sampling then stops after O(min_samples).
    type: float
    default: 0.05
  timeout:
    description:
      - Seconds the whole visit of one host may take (between 0 and 3600). When it passes, the visit is abandoned and
        RV(status) is C(timeout); samples already taken are still reported in RV(clock).
      - If the task keyword C(timeout) is shorter, that one applies and fails the task as usual.
    type: float
    default: 20
  collect_chrony:
    description:
      - Also collect chrony's tracking and sources. When V(false), the state of chrony in the result is C(unknown).
    type: bool
    default: true
"""

    # Where clock_report and report_merge write the audit report.
    REPORT_FILES = r"""
options:
  output_dir:
    description:
      - Directory for the report files C(clock-audit.txt), C(clock-audit.json), C(clock-audit.prom),
        C(clock-audit.junit.xml) and C(clock-audit.html). Created when missing.
      - A relative path is relative to the working directory of C(ansible-playbook), not to the
        playbook (the playbook usually lives inside an installed collection).
    type: path
    default: reports
  formats:
    description:
      - Which files to write. The table is always returned; C(table) also writes it to a file.
    type: list
    elements: str
    choices: [table, json, prometheus, junit, html]
    default: [table, json, prometheus, junit, html]
  prometheus_path:
    description:
      - Explicit path of the Prometheus file instead of C(output_dir/clock-audit.prom), for example
        in node_exporter's C(--collector.textfile.directory). Must end in C(.prom).
    type: path
"""

    # The report actions' switch between failing the task and returning the status.
    FAIL_TASK = r"""
options:
  fail_task:
    description:
      - Fail the task when the status is CRITICAL (2) or UNKNOWN (3).
      - Set it to false to show the table first and fail in a later task on RV(status) (as the
        C(fleetclock.timesync.audit) playbook does), so the failure message is the summary, not the whole result.
    type: bool
    default: true
"""

    # The report actions' terminal output.
    SHOW_TABLE = r"""
options:
  show_table:
    description:
      - Print the table once on the controller's standard output, line for line as in the C(.txt) file (fixed
        width, never wrapped or quoted), whatever the stdout callback's result format (C(yaml) or C(json)).
      - It is printed through Ansible's display, so it reaches the terminal, C(ansible-playbook)'s log and AWX's
        job output, under the task's banner. Leave it V(false) when a machine reads standard output (for example
        the C(json) stdout callback); the table is also returned as RV(table).
    type: bool
    default: false
"""
