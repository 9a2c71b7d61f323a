"""clock_probe_batch for real (ansible-playbook, run_once): the same hosts as test_probe_local.py, visited
from one process. Each host's entry must be what the per-host clock_probe reports for it."""
import json
import shutil
import subprocess
import time

import pytest
from conftest import ansible_playbook

from test_probe_local import LOCAL, check_trouble, host, run_play, trouble_hosts, wrapper

pytestmark = pytest.mark.integration

PLAY = """
- name: Probe
  hosts: all
  gather_facts: false
  tasks:
    - name: Probe every clock from one process
      fleetclock.timesync.clock_probe_batch: %s
      run_once: true
      delegate_to: localhost
      register: fleetclock_probe
    - name: Every host sees the batch result
      ansible.builtin.assert:
        that: fleetclock_probe.fleetclock_batch == 1
      when: inventory_hostname != 'undefined'  # its connection cannot even be templated
"""
CONTRACT = {"status", "error", "clock", "chrony", "daemons"}  # probe_result.KEYS


def run_batch(tmp_path, hosts, args=None, extra=()):
    """hosts: {name: hostvars}; returns ({host: contract result}, batch task result, CompletedProcess)."""
    report, proc = run_play(tmp_path, hosts, PLAY % json.dumps(args or {}), extra)
    tasks = report["plays"][0]["tasks"]
    batch = list(tasks[0]["hosts"].values())[0]
    if not batch.get("failed"):
        assert all(not r.get("failed") for r in tasks[1]["hosts"].values()), tasks[1]
    return batch.get("hosts"), batch, proc


def test_local_hosts(tmp_path):
    results, batch, proc = run_batch(tmp_path, {"a": host(), "b": host()})
    assert batch["fleetclock_batch"] == 1 and batch["changed"] is False
    assert "2 ok" in batch["msg"]
    for result in results.values():
        assert set(result) == CONTRACT
        assert result["status"] == "ok" and result["error"] is None
        clock = result["clock"]
        assert abs(clock["offset"]) <= clock["bound"] < 0.5
        assert clock["resolution"] == pytest.approx(1e-9)
        # one command per host (the clock read before and after chronyc), as in the per-host probe
        assert clock["samples"] == clock["execs"] == 1 and clock["method"] == "four_timestamps"


@pytest.mark.skipif(not shutil.which("faketime"), reason="faketime not installed")
def test_each_host_keeps_its_own_connection_settings(tmp_path):
    """Per-host variables (here ansible_shell_executable) reach each host's visit, not the first host's."""
    hosts = {}
    for shift in (120, -3600, 7):
        shell = wrapper(tmp_path, "fake%d.sh" % shift, 'FAKETIME_DONT_FAKE_MONOTONIC=1 exec faketime -f "%+ds" /bin/sh "$@"' % shift)
        hosts["fake%d" % shift] = host(ansible_shell_executable=shell)
    hosts["plain"] = host()
    results, batch, proc = run_batch(tmp_path, hosts, {"workers": 2})
    for name, shift in (("fake120", 120), ("fake-3600", -3600), ("fake7", 7), ("plain", 0)):
        clock = results[name]["clock"]
        assert results[name]["status"] == "ok", results[name]
        assert abs(clock["offset"] - shift) <= clock["bound"] < 0.5, (name, clock)


def test_garbage_hang_refused_undefined(tmp_path):
    hosts = dict(trouble_hosts(tmp_path), undefined=dict(LOCAL, ansible_connection="{{ no_such_variable }}"))
    started = time.monotonic()
    results, batch, proc = run_batch(tmp_path, hosts, {"timeout": 3})
    assert time.monotonic() - started < 60
    check_trouble(results, 3)
    assert results["undefined"]["status"] == "error" and "no_such_variable" in results["undefined"]["error"]
    assert all(set(r) == CONTRACT for r in results.values())


def test_hang_returns_promptly(tmp_path):
    hang = wrapper(tmp_path, "hang2.sh", "exec sleep 30")
    started = time.monotonic()
    results, batch, proc = run_batch(tmp_path, {"hang": host(ansible_shell_executable=hang), "fine": host()},
                                     {"timeout": 1.5})
    assert results["hang"]["status"] == "timeout" and results["fine"]["status"] == "ok"
    assert time.monotonic() - started < 15


def test_check_mode_and_no_chrony(tmp_path):
    results, batch, proc = run_batch(tmp_path, {"plain": host()}, {"collect_chrony": False, "max_samples": 3},
                                     ["--check"])
    result = results["plain"]
    assert result["status"] == "ok" and result["clock"]["samples"] <= 3
    assert result["chrony"]["state"] == "unknown" and "collect_chrony" in result["chrony"]["error"]


def test_limit_and_explicit_hosts(tmp_path):
    results, batch, proc = run_batch(tmp_path, {"a": host(), "b": host(), "c": host()}, extra=["--limit", "a,c"])
    assert sorted(results) == ["a", "c"]
    results, batch, proc = run_batch(tmp_path, {"a": host(), "b": host()}, {"hosts": ["b"]})
    assert sorted(results) == ["b"]


def test_play_keywords_reach_the_visits(tmp_path):
    """The play's connection keyword (no ansible_connection variable) applies to every visit, as per host."""
    inventory = tmp_path / "inventory.json"
    inventory.write_text(json.dumps({"all": {"hosts": {"a": {}, "b": {}}}}))
    playbook = tmp_path / "batch.yml"
    playbook.write_text("- hosts: all\n  gather_facts: false\n  connection: local\n  tasks:\n"
                        "    - fleetclock.timesync.clock_probe_batch: {}\n      run_once: true\n      register: probe\n")
    proc = ansible_playbook("-i", inventory, playbook, env={"ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.json"})
    batch = list(json.loads(proc.stdout)["plays"][0]["tasks"][0]["hosts"].values())[0]
    assert {h: r["status"] for h, r in batch["hosts"].items()} == {"a": "ok", "b": "ok"}, batch


def test_without_run_once_it_refuses_to_visit_every_host_from_every_host(tmp_path):
    inventory = tmp_path / "inventory.json"
    inventory.write_text(json.dumps({"all": {"hosts": {"a": host(), "b": host()}}}))
    playbook = tmp_path / "batch.yml"
    playbook.write_text("- hosts: all\n  gather_facts: false\n  tasks:\n"
                        "    - fleetclock.timesync.clock_probe_batch: {}\n")
    proc = ansible_playbook("-i", inventory, playbook, stderr=subprocess.STDOUT)
    assert proc.returncode != 0 and "use run_once: true" in proc.stdout


@pytest.mark.parametrize("args, message", [
    ({"workers": 0}, "workers must be at least 1"),
    ({"timeout": 0}, "timeout must be between 0 and 3600"),
    ({"samples": 3}, "samples"),
    # the probe's own options are checked once, before any host is visited (audit_options.probe_option_errors)
    ({"min_samples": 4, "max_samples": 3}, "max_samples (3) must be at least min_samples (4)"),
])
def test_bad_batch_options_fail(tmp_path, args, message):
    results, batch, proc = run_batch(tmp_path, {"plain": host()}, args)
    assert batch["failed"] is True and message in batch["msg"]
