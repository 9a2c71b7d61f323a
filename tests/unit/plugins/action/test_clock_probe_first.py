"""The first command of clock_probe: the host clock read before and after chronyc, parsed from its output.

The command runs for real in tests/integration/test_probe_local.py and test_probe_docker.py; here its output
is given, so every shape a host may send (including lies) is covered.
"""
import time
import types

import pytest

from ansible_collections.fleetclock.timesync.plugins.action import clock_probe
from ansible_collections.fleetclock.timesync.plugins.action.clock_probe import CLOCK_END_MARK
from ansible_collections.fleetclock.timesync.plugins.module_utils.chronyc import MARK
from ansible_collections.fleetclock.timesync.plugins.module_utils.clock import ClockParseError, sample_estimate

R1 = "1700000000.100000000"
R2 = "1700000000.130000000"


def first_sample(stdout):
    action = object.__new__(clock_probe.ActionModule)
    action._visit, action._slots = None, 0

    def execute(cmd, sudoable):
        time.sleep(0.05)  # a round trip longer than the 30 ms between R1 and R2 (else: a stepped clock)
        return {"rc": 0, "stdout": stdout, "stderr": ""}
    action._exec = execute
    return action._sample_with_chrony()


@pytest.mark.parametrize("stdout, remote_end, method", [
    ("%s\n%s missing\n%s\n%s\n" % (R1, MARK, CLOCK_END_MARK, R2), 1700000000.13, "four_timestamps"),
    ("%s\n%s\n%s\n" % (R1, CLOCK_END_MARK, R2), 1700000000.13, "four_timestamps"),          # no chrony markers
    ("%s\n%s missing\n" % (R1, MARK), None, "cristian"),                                   # no end reading
    ("%s\n%s missing\n%s\nsh: date: not found\n" % (R1, MARK, CLOCK_END_MARK), None, "cristian"),  # garbage
    ("%s\n%s missing\n%s\n1700000000\n" % (R1, MARK, CLOCK_END_MARK), None, "cristian"),   # other resolution
    # a host that prints the marker itself: the last marker counts
    ("%s\n%s missing\n%s\n1800000000.0\n%s\n%s\n" % (R1, MARK, CLOCK_END_MARK, CLOCK_END_MARK, R2),
     1700000000.13, "four_timestamps"),
    ("%s\n%s missing\n%s\n1699999999.000000000\n" % (R1, MARK, CLOCK_END_MARK), 1699999999.0, "stepped"),  # back
])
def test_first_command_output(stdout, remote_end, method):
    chrony, sample = first_sample(stdout)
    assert not isinstance(sample, ClockParseError), sample
    assert sample.remote == pytest.approx(1700000000.1)
    assert (sample.remote_end is None) == (remote_end is None)
    if remote_end is not None:
        assert sample.remote_end == pytest.approx(remote_end)
    assert sample_estimate(sample)[2] == method
    assert chrony["state"] in ("missing", "error")


def test_first_command_reads_the_clock_first_and_last():
    command = clock_probe.ActionModule._first_command(None)
    assert command.startswith("date +%s.%N; (") and command.endswith("; echo '%s'; date +%%s.%%N" % CLOCK_END_MARK)


@pytest.mark.parametrize("load_name, become, one_off", [
    ("ansible.builtin.local", None, False),
    ("community.docker.docker", None, False),
    ("community.docker.docker_api", None, False),
    ("containers.podman.podman", None, False),
    ("community.docker.docker", object(), True),     # sudo before the first reading
    ("ansible.builtin.ssh", None, True),             # the first command opens the connection
    ("ansible.builtin.paramiko_ssh", None, True),
    ("someone.else.transport", None, True),          # unknown: may be kept, so a second sample is allowed
])
def test_one_off_costs(load_name, become, one_off):
    action = object.__new__(clock_probe.ActionModule)
    action._connection = types.SimpleNamespace(_load_name=load_name, become=become)
    assert action._one_off_costs() is one_off
