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

import json
import os

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.fleetclock.timesync.plugins.module_utils.fleet import FORMATS, OptionError, check_output_dir
from ansible_collections.fleetclock.timesync.plugins.module_utils.merge import MODES, MergeError, merge_reports
from ansible_collections.fleetclock.timesync.plugins.module_utils.report import (
    FILE_NAMES,
    RENDERERS,
    render_json,
    write_atomic,
)

ARGUMENT_SPEC = {
    "slices": {"type": "list", "elements": "path", "required": True},
    "mode": {"type": "str", "choices": list(MODES), "default": "require"},
    "output_dir": {"type": "path", "default": "reports"},
    "formats": {"type": "list", "elements": "str", "choices": list(FORMATS), "default": list(FORMATS)},
    "prometheus_path": {"type": "path"},
    "fail_task": {"type": "bool", "default": True},
}


def read_slice(path):
    """The parsed report at ``path`` (a clock-audit.json file, or a directory holding one)."""
    if os.path.isdir(path):
        path = os.path.join(path, FILE_NAMES["json"])
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except OSError as exc:
        raise MergeError("slice %s: cannot read it (%s)" % (path, exc.strerror or exc))
    except ValueError as exc:
        raise MergeError("slice %s: not valid JSON (%s)" % (path, exc))


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(ARGUMENT_SPEC)
    _supports_check_mode = True
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        dummy, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        name = "fleetclock.timesync.report_merge"
        if args["prometheus_path"] and not args["prometheus_path"].endswith(".prom"):
            raise AnsibleActionFail("%s: prometheus_path must end in .prom, got %s" % (name, args["prometheus_path"]))
        try:
            check_output_dir(args["output_dir"])
            reports = [read_slice(path) for path in args["slices"]]
            report = merge_reports(reports, names=args["slices"], mode=args["mode"])
        except (MergeError, OptionError) as exc:
            raise AnsibleActionFail("%s: %s" % (name, exc))

        files = []
        try:
            for fmt in args["formats"]:
                path = args["prometheus_path"] if fmt == "prometheus" and args["prometheus_path"] else \
                    os.path.join(args["output_dir"], FILE_NAMES[fmt])
                files.append(write_atomic(path, RENDERERS[fmt](report)))
        except OSError as exc:
            raise AnsibleActionFail("%s: cannot write the report (%s); check output_dir / prometheus_path" % (name, exc))

        evaluation = report["evaluation"]
        table = RENDERERS["table"](report)
        shown = evaluation["reasons"][:10]
        summary = "%s: %s%s" % (evaluation["label"], "; ".join(shown) or "all checks passed",
                                " (and %d more, see the report)" % (len(evaluation["reasons"]) - 10)
                                if len(evaluation["reasons"]) > 10 else "")
        result.update(
            changed=False, table=table, report=json.loads(render_json(report)), files=files,
            corrected=report["merge"]["corrected"], status=evaluation["status"],
            status_label=evaluation["label"], reasons=evaluation["reasons"], summary=summary,
            msg=summary + "\n\n" + table,
        )
        if evaluation["status"] >= 2 and args["fail_task"]:
            result["failed"] = True
        return result
