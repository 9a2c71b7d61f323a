# -*- coding: utf-8 -*-
# Copyright (c) 2025 fleetclock maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Running one task for one host through ansible-core's TaskExecutor, on every tested release.

TaskExecutor is private API and its constructor changed twice across the releases the collection is
tested with (tests/matrix/releases.txt); each shape was read from that release's installed source:

- 2.16 - 2.18: ``(host, task, job_vars, play_context, new_stdin, loader, shared_loader_obj, final_q,
  variable_manager)``; ``run()`` returns the result dict.
- 2.19 - 2.20: the same without ``new_stdin``.
- 2.21: ``(host, play_context, loader, shared_loader_obj, final_q, variable_manager)``: the task and its
  variables come from a ``TaskContext`` entered around the run (as the worker process does), and ``run()``
  returns a ``UnifiedTaskResult`` (``as_result_dict()`` gives the dict).

An adapter is chosen by the release (major.minor) and used only when the installed constructor has
exactly the parameters that adapter was tested with: any other release, or a patched constructor,
is refused with one message (``unsupported``).
"""

from __future__ import annotations

import inspect
import os

from ansible.release import __version__ as ANSIBLE_CORE_VERSION

PARAMS_2_16 = ("host", "task", "job_vars", "play_context", "new_stdin", "loader", "shared_loader_obj",
               "final_q", "variable_manager")
PARAMS_2_19 = ("host", "task", "job_vars", "play_context", "loader", "shared_loader_obj", "final_q",
               "variable_manager")
PARAMS_2_21 = ("host", "play_context", "loader", "shared_loader_obj", "final_q", "variable_manager")


def _run_with_new_stdin(executor_class, host, task, job_vars, env):
    with open(os.devnull) as new_stdin:  # what the worker process passes when stdin is not a terminal
        return executor_class(host, task, job_vars, env["play_context"], new_stdin, env["loader"],
                              env["shared_loader_obj"], None, env["variable_manager"]).run()


def _run_with_task(executor_class, host, task, job_vars, env):
    return executor_class(host, task, job_vars, env["play_context"], env["loader"], env["shared_loader_obj"],
                          None, env["variable_manager"]).run()


def _run_in_task_context(executor_class, host, task, job_vars, env):
    # only ansible-core 2.19+ has this module (and only 2.21 uses it here): imported when used
    from ansible._internal._task import TaskContext

    with TaskContext.create(task=task, task_vars=job_vars, host_name=host.name):
        result = executor_class(host, env["play_context"], env["loader"], env["shared_loader_obj"], None,
                                env["variable_manager"]).run()
    return result.as_result_dict() if hasattr(result, "as_result_dict") else result


# (first release, last release, constructor parameters, runner): one row per executor shape.
ADAPTERS = (
    ((2, 16), (2, 18), PARAMS_2_16, _run_with_new_stdin),
    ((2, 19), (2, 20), PARAMS_2_19, _run_with_task),
    ((2, 21), (2, 21), PARAMS_2_21, _run_in_task_context),
)
TESTED = "%d.%d - %d.%d" % (ADAPTERS[0][0] + ADAPTERS[-1][1])


def release_of(version):
    """(major, minor) of an ansible-core version string such as '2.19.14' or '2.21.0rc1'."""
    parts = version.split(".")
    return int(parts[0]), int("".join(c for c in parts[1] if c.isdigit()) or 0)


def constructor_params(executor_class):
    """The names of ``executor_class.__init__``'s parameters, without self."""
    return tuple(p for p in inspect.signature(executor_class.__init__).parameters if p != "self")


def unsupported(version, params):
    """The one refusal message: names the release, its constructor, the tested releases and the fix."""
    return ("batch mode (fleetclock_audit_batch) drives ansible-core's private TaskExecutor and is tested with "
            "ansible-core %s only; this is ansible-core %s, whose TaskExecutor takes (%s): audit without "
            "fleetclock_audit_batch (per-host mode works on every release), or use a tested ansible-core"
            % (TESTED, version, ", ".join(params)))


def adapter_for(executor_class, version=ANSIBLE_CORE_VERSION):
    """The runner for this release's TaskExecutor, or (None, refusal message)."""
    params = constructor_params(executor_class)
    release = release_of(version)
    for first, last, expected, runner in ADAPTERS:
        if first <= release <= last and params == expected:
            return runner, None
    return None, unsupported(version, params)
