# -*- coding: utf-8 -*-
# Copyright (c) 2025 fleetclock maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin fleetclock.timesync.report_merge: merge slice audit reports into one fleet report.

Reads the slices' clock-audit.json files on the controller, merges them
(module_utils/merge.py), writes the fleet report like clock_report does and
returns its status.  Options and return values are documented in
plugins/modules/report_merge.py.
"""

from __future__ import annotations

from ansible.errors import AnsibleActionFail

from ansible_collections.fleetclock.timesync.plugins.module_utils.audit_options import (
    FORMATS,
    OptionError,
    check_output_dir,
    check_prometheus_path,
)
from ansible_collections.fleetclock.timesync.plugins.module_utils.merge import MODES, MergeError, merge_reports
from ansible_collections.fleetclock.timesync.plugins.plugin_utils.controller_action import ControllerAction, read_report

ARGUMENT_SPEC = {
    "slices": {"type": "list", "elements": "path", "required": True},
    "mode": {"type": "str", "choices": list(MODES), "default": "require"},
    "output_dir": {"type": "path", "default": "reports"},
    "formats": {"type": "list", "elements": "str", "choices": list(FORMATS), "default": list(FORMATS)},
    "prometheus_path": {"type": "path"},
    "fail_task": {"type": "bool", "default": True},
    "show_table": {"type": "bool", "default": False},
}


def _read_slice(path):
    try:
        return read_report(path)
    except ValueError as exc:
        raise MergeError("slice %s" % exc) from None


class ActionModule(ControllerAction):
    ARGUMENT_SPEC = ARGUMENT_SPEC

    def run(self, tmp=None, task_vars=None):
        result, args = self.start(tmp, task_vars)
        try:
            check_output_dir(args["output_dir"])
            if args["prometheus_path"]:
                check_prometheus_path(args["prometheus_path"])
            reports = [_read_slice(path) for path in args["slices"]]
            report = merge_reports(reports, names=args["slices"], mode=args["mode"])
        except (MergeError, OptionError) as exc:
            raise AnsibleActionFail("%s: %s" % (self.NAME, exc))

        result["corrected"] = report["merge"]["corrected"]
        return self.write_report(result, report, args)
