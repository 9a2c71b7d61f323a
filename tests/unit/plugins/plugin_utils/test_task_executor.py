"""The batch mode's TaskExecutor adapters (plugins/plugin_utils/task_executor.py): one per constructor shape,
chosen by release and checked against the installed signature; everything else refused with one message.
The matrix (tests/matrix/releases.txt) runs this file on every tested release, so test_installed_release_has_an_adapter
proves each release's real TaskExecutor matches its adapter; the batch integration tests run it for real."""
import sys
import types

import pytest
from ansible.executor.task_executor import TaskExecutor

from ansible_collections.fleetclock.timesync.plugins.plugin_utils import task_executor as te

ENV = {"play_context": "pc", "loader": "loader", "shared_loader_obj": "slo", "variable_manager": "vm"}


def fake_executor(params, result=None):
    """A TaskExecutor stand-in whose constructor has exactly ``params`` and records its arguments."""
    calls = []

    def run(self):
        return result if result is not None else {"args": calls[-1]}

    namespace = {}
    exec("def __init__(self, %s):\n    calls.append(dict(locals()))" % ", ".join(params), {"calls": calls}, namespace)
    return type("FakeExecutor", (), {"__init__": namespace["__init__"], "run": run}), calls


def test_installed_release_has_an_adapter():
    runner, refusal = te.adapter_for(TaskExecutor)
    assert refusal is None and runner is not None, refusal


@pytest.mark.parametrize("version, params, runner", [
    ("2.16.19", te.PARAMS_2_16, te._run_with_new_stdin),
    ("2.17.0", te.PARAMS_2_16, te._run_with_new_stdin),
    ("2.18.19", te.PARAMS_2_16, te._run_with_new_stdin),
    ("2.19.14", te.PARAMS_2_19, te._run_with_task),
    ("2.20.10", te.PARAMS_2_19, te._run_with_task),
    ("2.21.5", te.PARAMS_2_21, te._run_in_task_context),
    ("2.21.0rc1", te.PARAMS_2_21, te._run_in_task_context),
])
def test_each_tested_release_gets_its_shapes_adapter(version, params, runner):
    assert te.adapter_for(fake_executor(params)[0], version) == (runner, None)


@pytest.mark.parametrize("version, params", [
    ("2.15.13", te.PARAMS_2_16),   # older than the matrix, even with a known shape
    ("2.22.0", te.PARAMS_2_21),    # newer than the matrix
    ("2.19.14", te.PARAMS_2_16),   # a tested release whose constructor is not the one tested
    ("2.21.5", te.PARAMS_2_19),
    ("2.20.1", ("host", "task")),
])
def test_everything_else_is_refused_with_one_message(version, params):
    runner, refusal = te.adapter_for(fake_executor(params)[0], version)
    assert runner is None
    assert refusal == te.unsupported(version, params)
    assert "ansible-core %s only" % te.TESTED in refusal and te.TESTED == "2.16 - 2.21"
    assert "this is ansible-core %s" % version in refusal and "without fleetclock_audit_batch" in refusal
    assert "(%s)" % ", ".join(params) in refusal


def test_2_16_adapter_passes_a_new_stdin_and_no_queue():
    cls, calls = fake_executor(te.PARAMS_2_16)
    te._run_with_new_stdin(cls, "h", "t", {"v": 1}, ENV)
    args = calls[0]
    assert (args["host"], args["task"], args["job_vars"], args["play_context"]) == ("h", "t", {"v": 1}, "pc")
    assert hasattr(args["new_stdin"], "read") and args["new_stdin"].closed  # /dev/null, closed after the run
    assert (args["loader"], args["shared_loader_obj"], args["final_q"], args["variable_manager"]) == ("loader", "slo", None, "vm")


def test_2_19_adapter():
    cls, calls = fake_executor(te.PARAMS_2_19)
    assert te._run_with_task(cls, "h", "t", {}, ENV) == {"args": calls[0]}
    assert {k: v for k, v in calls[0].items() if k != "self"} == {
        "host": "h", "task": "t", "job_vars": {}, "play_context": "pc", "loader": "loader", "shared_loader_obj": "slo",
        "final_q": None, "variable_manager": "vm"}


class FakeResult:
    def as_result_dict(self):
        return {"status": "ok"}


def test_2_21_adapter_runs_inside_a_task_context(monkeypatch):
    """2.21's executor reads the task and its variables from the ambient TaskContext and returns a result object."""
    entered = []

    class FakeContext:
        @classmethod
        def create(cls, task, task_vars, host_name):
            entered.append((task, task_vars, host_name))
            return cls()

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            entered.append("exit")

    monkeypatch.setitem(sys.modules, "ansible._internal._task", types.SimpleNamespace(TaskContext=FakeContext))
    cls, calls = fake_executor(te.PARAMS_2_21, FakeResult())
    host = types.SimpleNamespace(name="web1")
    assert te._run_in_task_context(cls, host, "t", {"v": 1}, ENV) == {"status": "ok"}
    assert entered == [("t", {"v": 1}, "web1"), "exit"]
    assert {k: v for k, v in calls[0].items() if k != "self"} == {
        "host": host, "play_context": "pc", "loader": "loader", "shared_loader_obj": "slo", "final_q": None,
        "variable_manager": "vm"}


@pytest.mark.parametrize("version, release", [("2.16.19", (2, 16)), ("2.21.0rc1", (2, 21)), ("2.9.27", (2, 9))])
def test_release_of(version, release):
    assert te.release_of(version) == release
