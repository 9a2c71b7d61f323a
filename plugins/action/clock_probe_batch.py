# -*- coding: utf-8 -*-
# Copyright (c) 2025 fleetclock maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin fleetclock.timesync.clock_probe_batch: every host's audit visit from one process.

A ``run_once`` task.  For each host it builds that host's task variables (the play's variable
manager, as the strategy does) and runs the clock_probe action for it through ansible-core's own
TaskExecutor, in a thread of this one worker process: the connection (plugin, address, port,
user, ssh arguments, docker host, become...) comes from the host's variables exactly as in a
per-host task, and the probe is the same code (same sampling, bounds and chrony parsing).  What
it saves is the per-host worker process, result queue and callback round of the strategy.

Deadlines and result packing are plain functions in module_utils/batch.py.  Options and return
values are documented in plugins/modules/clock_probe_batch.py.
"""

from __future__ import annotations

import threading

from ansible import context
from ansible.errors import AnsibleActionFail
from ansible.executor.task_executor import TaskExecutor

from ansible_collections.fleetclock.timesync.plugins.action.clock_probe import ARGUMENT_SPEC as PROBE_OPTIONS
from ansible_collections.fleetclock.timesync.plugins.action.clock_probe import sample_slots
from ansible_collections.fleetclock.timesync.plugins.module_utils.audit_options import probe_option_errors
from ansible_collections.fleetclock.timesync.plugins.module_utils.batch import batch_result, current_visit, run_visits
from ansible_collections.fleetclock.timesync.plugins.plugin_utils.controller_action import ControllerAction
from ansible_collections.fleetclock.timesync.plugins.plugin_utils.task_executor import adapter_for

PROBE_ACTION = "fleetclock.timesync.clock_probe"
ARGUMENT_SPEC = dict(PROBE_OPTIONS, hosts={"type": "list", "elements": "str"}, workers={"type": "int"})
# Task keywords of the batch task that must not apply to each visit (they are about the batch task itself).
CLEARED_KEYWORDS = {
    "when": [], "loop": None, "loop_with": None, "register": None, "delegate_to": None, "delegate_facts": None,
    "run_once": False, "until": [], "retries": None, "changed_when": [], "failed_when": [], "notify": None,
    "async_val": 0, "poll": 0, "timeout": 0, "ignore_errors": False,
}
# Seconds a visit may overrun its deadline (a command already running) before it is abandoned.
GRACE = 1.0


def default_workers():
    """The run's forks (--forks / ansible.cfg), at least 1."""
    try:
        return max(1, int(context.CLIARGS.get("forks") or 5))
    except (TypeError, ValueError):
        return 5


class ActionModule(ControllerAction):
    ARGUMENT_SPEC = ARGUMENT_SPEC

    def _visit_task(self, probe_args):
        task = self._task.copy(exclude_tasks=True)  # its parents (play, block keywords), not their other tasks
        for name, value in CLEARED_KEYWORDS.items():
            if name in task.fattributes:
                setattr(task, name, value)
        # the connection a per-host task of this play has: ansible-core 2.21 leaves this run_once task's copy with
        # delegate_to localhost's (ansible.builtin.local), and its executor takes it from the task - every visit of a
        # host without ansible_connection then ran on the controller and reported the controller's clock as the host's
        task.connection = self._task.get_play().connection
        task.action = PROBE_ACTION
        if hasattr(task, "_resolved_action"):
            task._resolved_action = PROBE_ACTION
        task.args = dict(probe_args)
        return task

    def run(self, tmp=None, task_vars=None):
        result, args = self.start(tmp, task_vars)
        task_vars = task_vars or {}
        problems = probe_option_errors(args)  # before any visit: the visits would each refuse the same options
        if problems:
            raise AnsibleActionFail("%s: %s" % (self.NAME, "; ".join(problems)))
        workers = args["workers"] if args["workers"] is not None else default_workers()
        hosts = args["hosts"]
        if hosts is None:
            if not self._task.run_once:
                raise AnsibleActionFail("fleetclock.timesync.clock_probe_batch: use run_once: true (the task visits every "
                                        "host of the play itself), or give the hosts to visit in hosts")
            hosts = list(task_vars.get("ansible_play_batch") or task_vars.get("ansible_play_hosts") or [])

        variable_manager = self._task.get_variable_manager()
        run_executor, refusal = adapter_for(TaskExecutor)
        if run_executor is None:
            raise AnsibleActionFail("fleetclock.timesync.clock_probe_batch: " + refusal)
        executor_env = {"play_context": self._play_context, "loader": self._loader,
                        "shared_loader_obj": self._shared_loader_obj, "variable_manager": variable_manager}
        inventory = getattr(variable_manager, "_inventory", None)
        if inventory is None:
            raise AnsibleActionFail("fleetclock.timesync.clock_probe_batch: no inventory in this run's variable manager")
        play = self._task.get_play()
        probe_args = {name: args[name] for name in PROBE_OPTIONS}
        # One visit's set-up at a time: the variables, templating, plugin loading (ansible-core's plugin
        # loader is not thread-safe) and connection construction.  It is CPU work under the GIL anyway;
        # the lock is released when the probe starts (VisitState.started) and the probes overlap.
        setup_lock = threading.Lock()
        self._shared_loader_obj.action_loader.get(PROBE_ACTION, class_only=True, collection_list=self._task.collections)

        def visit(name):
            state = current_visit()
            setup_lock.acquire()
            state.hold(setup_lock.release)
            try:
                host = inventory.get_host(name)
                if host is None:
                    return {"failed": True, "msg": "host %s is not in the inventory" % name}
                task = self._visit_task(probe_args)
                job_vars = variable_manager.get_vars(play=play, host=host, task=task)
                return run_executor(TaskExecutor, host, task, job_vars, executor_env)
            finally:
                state.release_setup()

        results = run_visits(hosts, visit, workers, args["timeout"], grace=GRACE, sample_slots=sample_slots())
        result.update(batch_result(results))
        result["changed"] = False
        counts = {}
        for probe in results.values():
            counts[probe["status"]] = counts.get(probe["status"], 0) + 1
        result["msg"] = "%d host(s) visited from one process with %d threads: %s" % (
            len(results), min(workers, len(results)) if results else 0,
            ", ".join("%d %s" % (counts[s], s) for s in sorted(counts)) or "none")
        return result
