# -*- coding: utf-8 -*-
# Copyright (c) 2025 fleetclock maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin fleetclock.timesync.audit_compare: compare a before and an after audit.

Reads two audit JSON reports (schema v1) on the controller, joins them with the rollout's
per-host outcomes (module_utils/compare.py) and writes remediate-compare.{txt,json}
atomically.  Options and return values are documented in plugins/modules/audit_compare.py.
"""

from __future__ import annotations

import os

from ansible.errors import AnsibleActionFail

from ansible_collections.fleetclock.timesync.plugins.module_utils.compare import (
    CompareError,
    compare,
    render_json,
    render_table,
)
from ansible_collections.fleetclock.timesync.plugins.module_utils.report import write_atomic
from ansible_collections.fleetclock.timesync.plugins.plugin_utils.controller_action import ControllerAction, read_report

ARGUMENT_SPEC = {
    "before": {"type": "path", "required": True},
    "after": {"type": "path", "required": True},
    "rollout": {"type": "dict", "default": {}},
    "output_dir": {"type": "path", "default": "reports/remediate"},
    "fail_task": {"type": "bool", "default": True},
    "show_table": {"type": "bool", "default": False},
}
FILE_NAMES = {"table": "remediate-compare.txt", "json": "remediate-compare.json"}


def _load(path, what):
    try:
        return read_report(path)
    except ValueError as exc:
        raise AnsibleActionFail("fleetclock.timesync.audit_compare: the %s report %s; "
                                "run the audit with formats including json first" % (what, exc)) from None


class ActionModule(ControllerAction):
    ARGUMENT_SPEC = ARGUMENT_SPEC

    def run(self, tmp=None, task_vars=None):
        result, args = self.start(tmp, task_vars)
        before = _load(args["before"], "before")
        after = _load(args["after"], "after")
        try:
            comparison = compare(before, after, args["rollout"])
        except CompareError as exc:
            raise AnsibleActionFail("fleetclock.timesync.audit_compare: %s" % exc)
        table = render_table(comparison)
        self.show(table, args)
        try:
            files = [write_atomic(os.path.join(args["output_dir"], FILE_NAMES["table"]), table),
                     write_atomic(os.path.join(args["output_dir"], FILE_NAMES["json"]), render_json(comparison))]
        except OSError as exc:
            raise AnsibleActionFail("fleetclock.timesync.audit_compare: cannot write the comparison (%s); "
                                    "check output_dir" % exc)
        result.update(changed=False, table=table, comparison=comparison, files=files,
                      status=comparison["status"], status_label=comparison["label"], reasons=comparison["reasons"])
        result["msg"] = "%s%s" % (comparison["label"], (": " + "; ".join(comparison["reasons"])) if comparison["reasons"] else "")
        if comparison["status"] >= 2 and args["fail_task"]:
            result["failed"] = True
        return result
