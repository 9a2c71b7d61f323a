# -*- coding: utf-8 -*-
# Copyright (c) 2025 fleetclock maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: clock_report
short_description: Aggregate a fleet clock audit and write its reports
version_added: 1.0.0
description:
  - "Runs once on the controller (use it with C(run_once: true) and C(delegate_to: localhost)) after
    M(fleetclock.timesync.clock_probe) visited every host."
  - Reads each host's registered probe result from C(hostvars[host][results_var]); a host without one
    (skipped, failed or unreachable before the probe ran) is listed as C(no_result), never dropped.
  - Computes per-host offsets from the controller with their error bounds, chrony health, the fleet skew
    (largest minus smallest offset) with its combined error bound, threshold verdicts and JWT leeway guidance.
  - Writes the reports atomically (temp file in the same directory, then rename) in the requested formats
    and returns the terminal table in RV(table) and RV(msg).
  - Monitoring-plugin status in RV(status) - 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN. The task fails on
    CRITICAL and UNKNOWN; WARNING passes.
  - The report files are written in check mode too; they are the audit's output and change no host.
  - The report JSON layout is documented in C(docs/report-schema.md) and C(schemas/audit-report-v1.schema.json).
author:
  - fleetclock maintainers (@fleetclock)
options:
  hosts:
    description:
      - Inventory host names that were meant to be audited.
      - Defaults to C(ansible_play_hosts_all), which honours C(--limit) and still contains hosts
        that failed or were unreachable earlier in the play.
    type: list
    elements: str
  results_var:
    description:
      - Name of the variable registered by the M(fleetclock.timesync.clock_probe) task on each host,
        or by a C(run_once) M(fleetclock.timesync.clock_probe_batch) task (whose result holds every host's
        own under C(hosts); each host's entry is used).
    type: str
    default: fleetclock_probe
  controller:
    description:
      - The probe result of the controller itself (a M(fleetclock.timesync.clock_probe) run delegated
        to localhost). Used for the controller's own chrony state.
      - When the controller is not synchronised the report warns that offsets from the controller
        are not offsets from true time.
    type: raw
  warn_offset:
    description:
      - A host whose |offset| from the controller exceeds this many seconds is a warning.
      - A host whose offset error bound exceeds it is a warning too (its offset cannot be judged).
    type: float
    default: 1.0
  crit_offset:
    description:
      - A host whose |offset| from the controller exceeds this many seconds is critical. Must be >= O(warn_offset).
    type: float
    default: 5.0
  warn_skew:
    description:
      - The fleet skew (largest minus smallest offset) above this many seconds is a warning.
      - Defaults to O(warn_offset).
    type: float
  crit_skew:
    description:
      - The fleet skew above this many seconds is critical. Defaults to O(crit_offset).
    type: float
  jwt_leeway:
    description:
      - The JWT leeway (seconds) your verifiers use now; the report lists the host pairs it does not cover.
    type: float
    default: 0
  jwt_margin:
    description:
      - Safety margin (seconds) added to the worst pair spread for the recommended JWT leeway.
    type: float
    default: 1.0
  jwt_max_pairs:
    description:
      - At most this many host pairs are listed (largest first); the total is always given.
    type: int
    default: 20
  fail_on_skew:
    description:
      - Offsets over O(crit_offset) and a skew over O(crit_skew) are CRITICAL; when false only WARNING.
    type: bool
    default: true
  fail_on_unsynchronised:
    description:
      - A host whose chrony is not synchronised or not running is CRITICAL; when false only WARNING.
    type: bool
    default: true
  fail_on_unreachable:
    description:
      - A host that could not be measured (unreachable, timed out, probe error, no result) is CRITICAL;
        when false only WARNING.
    type: bool
    default: true
  history_dir:
    description:
      - A directory of earlier JSON reports of this collection (C(*.json) files directly in it, such as the copies
        a scheduled audit keeps). The HTML report gains a history section - the fleet skew and each host's offset
        over those runs and this one.
      - At most O(history_limit) files are read, the newest first (by modification time). A file that is not a
        schema_version 1 report with finite numbers, or was generated at or after this report, is skipped with a
        warning naming it; a missing directory is a warning too. Neither stops the report.
      - The other formats do not change; the history is not part of the JSON report.
    type: path
  history_limit:
    description:
      - At most this many earlier reports are read from O(history_dir) (1 to 1000).
    type: int
    default: 50
  check_only:
    description:
      - Only validate the options and that the output directory can be written; read no results,
        write nothing. For a first task that fails before any host is contacted.
    type: bool
    default: false
extends_documentation_fragment:
  - fleetclock.timesync.options.report_files
  - fleetclock.timesync.options.fail_task
  - fleetclock.timesync.options.show_table
  - ansible.builtin.action_common_attributes
  - fleetclock.timesync.attributes.controller_report
notes:
  - Sign convention - offset = host clock minus controller clock; positive means the host is ahead.
  - Reports contain host names and measured values only, never other inventory variables.
seealso:
  - module: fleetclock.timesync.clock_probe
"""

EXAMPLES = r"""
- name: Validate the report options before any host is contacted
  fleetclock.timesync.clock_report:
    check_only: true
    output_dir: /var/lib/fleetclock/reports
    warn_offset: 0.5
  run_once: true
  delegate_to: localhost

- name: Report the audit of this play's hosts
  fleetclock.timesync.clock_report:
    hosts: "{{ ansible_play_hosts_all }}"
    controller: "{{ fleetclock_controller_probe }}"
    output_dir: /var/lib/fleetclock/reports
    prometheus_path: /var/lib/node_exporter/textfile/fleetclock.prom
    formats: [json, prometheus, html]
    jwt_leeway: 0
    fail_on_unreachable: false
  run_once: true
  delegate_to: localhost
  register: fleetclock_audit_report
"""

RETURN = r"""
table:
  description: The terminal table (hosts by |offset| descending, fleet summary, JWT guidance, status).
  returned: unless check_only
  type: str
msg:
  description: Status line with the reasons, then the table; with check_only, where the reports would go.
  returned: always
  type: str
report:
  description: The report dict, as in the JSON file (schema_version 1, see docs/report-schema.md).
  returned: unless check_only
  type: dict
  contains:
    schema_version:
      description: Version of the report layout.
      type: int
      sample: 1
    hosts:
      description: One entry per audited host, sorted by name.
      type: list
      elements: dict
    fleet:
      description: Fleet skew, median offset and the host lists (over_warn, over_crit, unreachable, failed, unsynchronised).
      type: dict
    jwt:
      description: Recommended leeway and the host pairs the current leeway does not cover.
      type: dict
    evaluation:
      description: Status code, label and reasons.
      type: dict
files:
  description: Absolute paths of the files written.
  returned: always
  type: list
  elements: str
  sample: [/work/reports/clock-audit.json]
status:
  description: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
  returned: unless check_only
  type: int
  sample: 0
status_label:
  description: OK, WARNING, CRITICAL or UNKNOWN.
  returned: unless check_only
  type: str
  sample: OK
reasons:
  description: Why the status is not OK (one line per finding, CRITICAL first).
  returned: unless check_only
  type: list
  elements: str
summary:
  description: One line - the status label and the first reasons.
  returned: unless check_only
  type: str
  sample: "CRITICAL: demo-web1: offset +120.044 s (+/- 63.4 ms) from the controller exceeds crit_offset 5 s"
"""
