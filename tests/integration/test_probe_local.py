"""clock_probe for real over the local connection: offsets injected with faketime, broken hosts simulated
with ansible_shell_executable wrappers (the action runs `<shell> -c <command>`)."""
import json
import shutil
import socket
import stat
import time

import pytest
from conftest import ansible_playbook

pytestmark = pytest.mark.integration

PLAY = """
- name: Probe
  hosts: all
  gather_facts: false
  tasks:
    - name: Probe the clock
      fleetclock.timesync.clock_probe: %s
"""


def run_play(tmp_path, hosts, play, extra=()):
    """hosts: {name: hostvars}; play: the playbook's text; returns (the json callback's report, CompletedProcess)."""
    inventory = tmp_path / "inventory.json"
    inventory.write_text(json.dumps({"all": {"hosts": hosts}}))
    playbook = tmp_path / "play.yml"
    playbook.write_text(play)
    env = {"ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.json", "ANSIBLE_HOST_KEY_CHECKING": "False"}
    proc = ansible_playbook("-i", inventory, playbook, *extra, env=env)
    try:
        report = json.loads(proc.stdout)
    except ValueError:
        raise AssertionError("ansible-playbook output is not JSON:\n%s\n%s" % (proc.stdout, proc.stderr))
    return report, proc


def run_probe(tmp_path, hosts, args=None, extra=()):
    """hosts: {name: hostvars}; returns ({host: task result}, CompletedProcess)."""
    report, proc = run_play(tmp_path, hosts, PLAY % json.dumps(args or {}), extra)
    return report["plays"][0]["tasks"][0]["hosts"], proc


CONTRACT = {"status", "error", "clock", "chrony", "changed"}
LOCAL = {"ansible_connection": "local", "ansible_python_interpreter": "/usr/bin/false"}


def wrapper(tmp_path, name, body):
    path = tmp_path / name
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path)


def host(**extra):
    return dict(LOCAL, **extra)


def test_local_host(tmp_path):
    results, proc = run_probe(tmp_path, {"plain": host()})
    result = results["plain"]
    assert CONTRACT <= set(result), proc.stdout
    assert result["status"] == "ok" and result["error"] is None and result["changed"] is False
    clock = result["clock"]
    assert abs(clock["offset"]) <= clock["bound"]          # same clock: true offset 0
    assert clock["resolution"] == pytest.approx(1e-9)
    assert 2 <= clock["samples"] <= 5
    assert clock["bound"] <= 0.05
    assert result["chrony"]["state"] in ("missing", "not_running", "unsynchronised", "local", "synchronised")


@pytest.mark.skipif(not shutil.which("faketime"), reason="faketime not installed")
@pytest.mark.parametrize("shift", [120, -3600])
def test_faketime_offset_is_inside_the_bound(tmp_path, shift):
    shell = wrapper(tmp_path, "fake.sh", 'FAKETIME_DONT_FAKE_MONOTONIC=1 exec faketime -f "%+ds" /bin/sh "$@"' % shift)
    results, proc = run_probe(tmp_path, {"fake": host(ansible_shell_executable=shell)})
    clock = results["fake"]["clock"]
    assert results["fake"]["status"] == "ok", results["fake"]
    assert abs(clock["offset"] - shift) <= clock["bound"], clock
    assert clock["bound"] < 0.5


def test_whole_second_date(tmp_path):
    """A date without %N (busybox) prints 'S.N': resolution 1 s, reading centred, no pointless resampling."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    wrapper(bindir, "date", 'echo "$(/bin/date +%s).N"')
    shell = wrapper(tmp_path, "busybox.sh", 'PATH="%s:$PATH" exec /bin/sh "$@"' % bindir)
    results, proc = run_probe(tmp_path, {"busy": host(ansible_shell_executable=shell)})
    clock = results["busy"]["clock"]
    assert results["busy"]["status"] == "ok", results["busy"]
    assert clock["resolution"] == 1.0 and clock["samples"] == 2
    assert 0.5 < clock["bound"] < 0.6
    assert abs(clock["offset"]) <= clock["bound"]


def trouble_hosts(tmp_path):
    """A host that answers garbage, one that hangs, one whose ssh port refuses, and a fine one."""
    garbage = wrapper(tmp_path, "garbage.sh", "echo 'Segmentation fault'")
    hang = wrapper(tmp_path, "hang.sh", "exec sleep 60")
    with socket.socket() as sock:        # a loopback port with nothing listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return {
        "garbage": host(ansible_shell_executable=garbage),
        "hang": host(ansible_shell_executable=hang),
        "refused": {"ansible_connection": "ssh", "ansible_host": "127.0.0.1", "ansible_port": port},
        "fine": host(),
    }


def test_garbage_and_hang_and_refused(tmp_path):
    results, proc = run_probe(tmp_path, trouble_hosts(tmp_path), {"timeout": 3})
    assert results["garbage"]["status"] == "error"
    assert "Segmentation fault" in results["garbage"]["error"]
    assert results["garbage"]["clock"] is None
    assert results["garbage"]["chrony"]["state"] == "error"
    assert results["hang"]["status"] == "timeout"
    assert "3" in results["hang"]["error"] and results["hang"]["clock"] is None
    assert results["hang"]["chrony"]["state"] == "unknown"
    assert results["refused"]["status"] == "unreachable", results["refused"]
    assert results["refused"]["clock"] is None
    assert results["fine"]["status"] == "ok"
    for result in results.values():
        assert CONTRACT <= set(result) and not result.get("failed") and not result.get("unreachable")


def test_check_mode_and_no_chrony(tmp_path):
    results, proc = run_probe(tmp_path, {"plain": host()}, {"collect_chrony": False, "max_samples": 3}, ["--check"])
    result = results["plain"]
    assert result["status"] == "ok" and result["clock"]["samples"] <= 3
    assert result["chrony"]["state"] == "unknown"
    assert "collect_chrony" in result["chrony"]["error"]


@pytest.mark.parametrize("args, message", [
    ({"min_samples": 0}, "min_samples must be at least 1"),
    ({"min_samples": 4, "max_samples": 3}, "max_samples (3) must be at least min_samples (4)"),
    ({"timeout": 0}, "timeout must be between 0 and 3600"),
    ({"target_bound": "soon"}, "target_bound"),
    ({"samples": 3}, "samples"),
])
def test_bad_options_fail(tmp_path, args, message):
    results, proc = run_probe(tmp_path, {"plain": host()}, args)
    assert results["plain"]["failed"] is True
    assert message in results["plain"]["msg"]


def test_hang_returns_promptly(tmp_path):
    """The hanging command is not waited for: the run returns within timeout + a few seconds."""
    hang = wrapper(tmp_path, "hang2.sh", "exec sleep 30")
    started = time.monotonic()
    results, proc = run_probe(tmp_path, {"hang": host(ansible_shell_executable=hang)}, {"timeout": 1.5})
    assert results["hang"]["status"] == "timeout"
    assert time.monotonic() - started < 15
