# -*- coding: utf-8 -*-
# Copyright (c) 2025 fleetclock maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the collection's controller-side actions share (clock_report, report_merge, audit_compare,
clock_probe_batch): no connection, check mode supported, options checked against one ARGUMENT_SPEC,
reading a clock-audit.json report, writing one and returning its status (clock_report, report_merge), and printing
a table on the controller's stdout (show_table)."""

from __future__ import annotations

import json
import os

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.fleetclock.timesync.plugins.module_utils.report import (
    FILE_NAMES,
    RENDERERS,
    render_json,
    write_reports,
)
from ansible_collections.fleetclock.timesync.plugins.module_utils.textfmt import terminal_block
from ansible_collections.fleetclock.timesync.plugins.module_utils.values import number_option_errors

display = Display()


class ControllerAction(ActionBase):
    """An action that runs on the controller only. Subclasses set ARGUMENT_SPEC (which also becomes
    _VALID_ARGS) and call start() at the top of run(); NAME (for messages) is the action's full name."""

    TRANSFERS_FILES = False
    _supports_check_mode = True
    _requires_connection = False
    ARGUMENT_SPEC: dict = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls._VALID_ARGS = frozenset(cls.ARGUMENT_SPEC)
        cls.NAME = "fleetclock.timesync." + cls.__module__.rpartition(".")[2]

    def start(self, tmp, task_vars):
        """ActionBase's result dict and the validated options."""
        result = super().run(tmp, task_vars)
        problems = number_option_errors(self.ARGUMENT_SPEC, self._task.args)  # before ansible-core's int/float checks
        if problems:
            raise AnsibleActionFail("%s: %s" % (self.NAME, "; ".join(problems)))
        dummy, args = self.validate_argument_spec(argument_spec=self.ARGUMENT_SPEC)
        return result, args

    @staticmethod
    def show(table, args):
        """Print ``table`` as it is in the .txt file when args show_table (docs/architecture.md, "Terminal output")."""
        if args.get("show_table"):
            display.display(terminal_block(table))

    def write_report(self, result, report, args):
        """Write ``report`` (args: formats, output_dir, prometheus_path) and return ``result`` with its table, the
        report as in the JSON file, the files, the status and the summary line; failed on CRITICAL or UNKNOWN
        when args fail_task."""
        try:
            files = write_reports(report, args["formats"], args["output_dir"], args["prometheus_path"])
        except OSError as exc:
            raise AnsibleActionFail("%s: cannot write the report (%s); check output_dir / prometheus_path" % (self.NAME, exc))
        evaluation = report["evaluation"]
        table = RENDERERS["table"](report)
        self.show(table, args)
        line = summary(evaluation["label"], evaluation["reasons"])
        result.update(changed=False, table=table, report=json.loads(render_json(report)), files=files,
                      status=evaluation["status"], status_label=evaluation["label"], reasons=evaluation["reasons"],
                      summary=line, msg=line + "\n\n" + table)
        if evaluation["status"] >= 2 and args["fail_task"]:
            result["failed"] = True
        return result


def read_report(path):
    """The parsed audit report at ``path`` (a clock-audit.json file, or a directory holding one).

    Raises ValueError naming the file and what is wrong with it.
    """
    if os.path.isdir(path):
        path = os.path.join(path, FILE_NAMES["json"])
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except OSError as exc:
        raise ValueError("%s: cannot read it (%s)" % (path, exc.strerror or exc)) from None
    except ValueError as exc:
        raise ValueError("%s: not valid JSON (%s)" % (path, exc)) from None


MAX_REASONS_IN_MSG = 10


def summary(label, reasons):
    """The one-line status of a report: its label and its first reasons."""
    shown = reasons[:MAX_REASONS_IN_MSG]
    more = len(reasons) - len(shown)
    return "%s: %s%s" % (label, "; ".join(shown) or "all checks passed",
                         " (and %d more, see the report)" % more if more > 0 else "")
