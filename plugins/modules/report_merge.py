# -*- coding: utf-8 -*-
# Copyright (c) 2025 fleetclock maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: report_merge
short_description: Merge the audit reports of inventory slices into one fleet report
version_added: 1.1.0
description:
  - Runs on the controller. Reads the C(clock-audit.json) reports that several runs of
    C(fleetclock.timesync.audit) wrote for disjoint parts of the inventory (for example the slices of an
    AWX / Ansible Automation Platform sliced job, each on its own execution node) and writes one fleet report
    in the same formats as M(fleetclock.timesync.clock_report).
  - Each slice's offsets are relative to the clock of the controller that ran it. With O(mode=require) (default)
    every offset is corrected by its slice controller's own chrony offset (recorded in the slice report when the
    controller was probed and synchronised), so the merged offsets are host clock minus true time and each bound
    grows by that controller's chrony error bound. A slice that cannot be corrected fails the task before anything
    is written, naming the slice and the reason.
  - Severities, fleet skew, JWT guidance and the status are recomputed over all hosts with the slices' thresholds,
    which must be the same in every slice. A host in more than one slice is an error.
  - The merged JSON is schema_version 1 with C(generator) C(fleetclock.timesync.report_merge) and a C(merge) section
    (see C(docs/report-schema.md) and C(docs/scaling.md)).
author:
  - fleetclock maintainers (@fleetclock)
options:
  slices:
    description:
      - Paths of the slice reports (C(clock-audit.json)), or of the directories that hold them.
    type: list
    elements: path
    required: true
  mode:
    description:
      - C(require) - correct every slice by its controller's chrony offset, or fail.
      - C(auto) - correct when every slice can be corrected, otherwise merge uncorrected with a fleet warning.
      - C(none) - never correct; for slices that ran on one controller (or controllers known to agree).
    type: str
    choices: [require, auto, none]
    default: require
extends_documentation_fragment:
  - fleetclock.timesync.options.report_files
  - fleetclock.timesync.options.fail_task
  - fleetclock.timesync.options.show_table
  - ansible.builtin.action_common_attributes
  - fleetclock.timesync.attributes.controller_report
notes:
  - Offsets from different controllers are comparable only after the correction, or when the controllers agree.
seealso:
  - module: fleetclock.timesync.clock_report
"""

EXAMPLES = r"""
- name: Merge the slice reports collected from the execution nodes
  fleetclock.timesync.report_merge:
    slices:
      - /shared/fleetclock/job-4711/slice-1/clock-audit.json
      - /shared/fleetclock/job-4711/slice-2
    output_dir: /shared/fleetclock/job-4711/fleet
    formats: [json, html, prometheus]
  run_once: true
  delegate_to: localhost
  register: fleetclock_merged
"""

RETURN = r"""
table:
  description: The terminal table of the merged report.
  returned: success
  type: str
msg:
  description: Status line with the reasons, then the table.
  returned: always
  type: str
report:
  description: The merged report dict, as in the JSON file (schema_version 1 with a C(merge) section).
  returned: success
  type: dict
files:
  description: Absolute paths of the files written.
  returned: success
  type: list
  elements: str
  sample: [/shared/fleetclock/job-4711/fleet/clock-audit.json]
corrected:
  description: Whether the offsets were corrected by each slice controller's chrony offset.
  returned: success
  type: bool
  sample: true
status:
  description: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
  returned: success
  type: int
  sample: 0
status_label:
  description: OK, WARNING, CRITICAL or UNKNOWN.
  returned: success
  type: str
  sample: OK
reasons:
  description: Why the status is not OK (one line per finding, CRITICAL first).
  returned: success
  type: list
  elements: str
summary:
  description: One line - the status label and the first reasons.
  returned: success
  type: str
  sample: "OK: all checks passed"
"""
