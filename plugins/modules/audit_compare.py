# -*- coding: utf-8 -*-
# Copyright (c) 2025 fleetclock maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: audit_compare
short_description: Compare a before and an after clock audit and a rollout's per-host outcomes
version_added: 1.1.0
description:
  - "Runs on the controller (use it with C(run_once: true) and C(delegate_to: localhost)); it is an action plugin,
    this file only documents it."
  - Reads two audit JSON reports written by M(fleetclock.timesync.clock_report) (schema v1), joins them per host with
    the rollout's outcomes and writes C(remediate-compare.txt) and C(remediate-compare.json) atomically.
  - Per host it shows the offset and chrony state before and after, the rollout outcome, and what changed
    (from two snapshots of the host's time daemons); for the fleet the skew and the recommended JWT leeway before and after.
  - Status in RV(status) - CRITICAL (2) when any host failed its health gate (the rollout stopped), else the after
    audit's own status (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN), as its C(fail_on_*) switches made it.
    The task fails on 2 and 3 unless O(fail_task=false).
  - The files are written in check mode too; they change no host.
author:
  - fleetclock maintainers (@fleetclock)
options:
  before:
    description: Path of the audit JSON report (C(clock-audit.json)) taken before the rollout, or of the directory that holds it.
    type: path
    required: true
  after:
    description: Path of the audit JSON report (C(clock-audit.json)) taken after the rollout, or of the directory that holds it.
    type: path
    required: true
  rollout:
    description:
      - "Per-host outcome of the rollout, C({host: {outcome, reason, needs_step, batch, snapshot_before, snapshot_after}})."
      - C(outcome) is one of V(unchanged), V(changed), V(rolled_back), V(rollback_failed), V(not_attempted),
        V(check_mode), V(failed) (a host that recorded no outcome - lost, or failed where no rescue runs - state
        unknown). Hosts of the reports that are missing here count as V(not_attempted).
      - "A snapshot is C({chrony_installed: bool, config_checksum: str or null, services: {name: {state, enabled}}})."
    type: dict
    default: {}
  output_dir:
    description: Directory for the two files; created when missing. Relative to the working directory of C(ansible-playbook).
    type: path
    default: reports/remediate
extends_documentation_fragment:
  - fleetclock.timesync.options.fail_task
  - fleetclock.timesync.options.show_table
  - ansible.builtin.action_common_attributes
  - fleetclock.timesync.attributes.controller_report
seealso:
  - module: fleetclock.timesync.clock_report
"""

EXAMPLES = r"""
- name: Compare the audits around a rollout
  fleetclock.timesync.audit_compare:
    before: reports/remediate/before/clock-audit.json
    after: reports/remediate/after/clock-audit.json
    rollout:
      web1: {outcome: changed, batch: 1}
      web2: {outcome: rolled_back, batch: 2, reason: not synchronised within 120 s}
    output_dir: reports/remediate
    fail_task: false
  run_once: true
  delegate_to: localhost
  register: comparison
"""

RETURN = r"""
table:
  description: The comparison as a terminal table.
  returned: always
  type: str
comparison:
  description: The comparison dict written as C(remediate-compare.json) (keys hosts, fleet, jwt, rollout, status, label, reasons).
  returned: always
  type: dict
files:
  description: Absolute paths of the files written.
  returned: always
  type: list
  elements: str
status:
  description: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
  returned: always
  type: int
  sample: 0
status_label:
  description: OK, WARNING, CRITICAL or UNKNOWN.
  returned: always
  type: str
  sample: OK
reasons:
  description: Why the status is not OK.
  returned: always
  type: list
  elements: str
"""
