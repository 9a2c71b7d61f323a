# -*- coding: utf-8 -*-
# Copyright (c) 2025 fleetclock maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin fleetclock.timesync.clock_report: aggregate the audit once, on the controller.

Reads each audited host's registered clock_probe result from hostvars, builds
the report (module_utils/fleet.py), renders and writes it atomically
(module_utils/report.py) and turns the status into the task result: CRITICAL
and UNKNOWN fail the task, WARNING passes.  Options and return values are
documented in plugins/modules/clock_report.py.
"""

from __future__ import annotations

from ansible.errors import AnsibleActionFail

from ansible_collections.fleetclock.timesync.plugins.module_utils.batch import batch_holds, host_result, is_batch_result
from ansible_collections.fleetclock.timesync.plugins.module_utils.audit_options import (
    DEFAULTS,
    FORMATS,
    OptionError,
    validate_options,
)
from ansible_collections.fleetclock.timesync.plugins.module_utils.fleet import aggregate
from ansible_collections.fleetclock.timesync.plugins.module_utils.history import build_history, read_history
from ansible_collections.fleetclock.timesync.plugins.module_utils.probe_result import normalize
from ansible_collections.fleetclock.timesync.plugins.plugin_utils.controller_action import ControllerAction

ARGUMENT_SPEC = {
    "hosts": {"type": "list", "elements": "str"},
    "results_var": {"type": "str", "default": "fleetclock_probe"},
    "controller": {"type": "raw"},
    "output_dir": {"type": "path", "default": "reports"},
    "formats": {"type": "list", "elements": "str", "choices": list(FORMATS), "default": list(FORMATS)},
    "prometheus_path": {"type": "path"},
    "warn_offset": {"type": "float", "default": DEFAULTS["warn_offset"]},
    "crit_offset": {"type": "float", "default": DEFAULTS["crit_offset"]},
    "warn_skew": {"type": "float"},
    "crit_skew": {"type": "float"},
    "jwt_leeway": {"type": "float", "default": DEFAULTS["jwt_leeway"]},
    "jwt_margin": {"type": "float", "default": DEFAULTS["jwt_margin"]},
    "jwt_max_pairs": {"type": "int", "default": DEFAULTS["jwt_max_pairs"]},
    "fail_on_skew": {"type": "bool", "default": True},
    "fail_on_unsynchronised": {"type": "bool", "default": True},
    "fail_on_unreachable": {"type": "bool", "default": True},
    "history_dir": {"type": "path"},
    "history_limit": {"type": "int", "default": DEFAULTS["history_limit"]},
    "check_only": {"type": "bool", "default": False},
    "fail_task": {"type": "bool", "default": True},
    "show_table": {"type": "bool", "default": False},
}


class ActionModule(ControllerAction):
    ARGUMENT_SPEC = ARGUMENT_SPEC

    def run(self, tmp=None, task_vars=None):
        result, args = self.start(tmp, task_vars)
        task_vars = task_vars or {}
        try:
            opts = validate_options(args)
        except OptionError as exc:
            raise AnsibleActionFail("%s: %s" % (self.NAME, exc))
        result["changed"] = False
        if args["check_only"]:
            where = opts["output_dir"] if any(f != "prometheus" or not opts["prometheus_path"] for f in opts["formats"]) else None
            result["msg"] = "clock_report options are valid; reports go to %s%s" % (
                where or "(no file in output_dir)",
                ", Prometheus metrics to %s" % opts["prometheus_path"] if opts["prometheus_path"] else "")
            result["files"] = []
            return result

        hosts = args["hosts"]
        if hosts is None:
            hosts = list(task_vars.get("ansible_play_hosts_all") or [])
        hostvars = task_vars.get("hostvars") or {}
        results = {}
        batch = None
        for host in hosts:
            # A clock_probe_batch result (run_once: the same value registered on every host) holds every host's
            # own: once one is found it answers for the hosts it holds, without a hostvars look-up each
            # (hostvars[host] computes that host's variables: about 10 ms a host).
            registered = batch if batch_holds(batch, host) else \
                hostvars[host].get(args["results_var"]) if host in hostvars else None
            if is_batch_result(registered):
                batch = registered
            results[host] = normalize(host_result(registered, host))
        controller = normalize(args["controller"]) if args["controller"] is not None else None

        report = aggregate(results, controller=controller, options=opts)
        if opts["history_dir"]:
            files, warnings = read_history(opts["history_dir"], opts["history_limit"])
            report["history"], skipped = build_history(files, report, opts["history_limit"], opts["history_dir"])
            # a file that cannot be read is skipped with a warning naming it: it never stops the report
            result.setdefault("warnings", []).extend(warnings + skipped)
        return self.write_report(result, report, dict(args, **opts))
