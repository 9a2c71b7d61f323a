"""Tests for plugins/modules/chrony_status.py: pure helpers on real fixtures, and real runs on this host."""
import json
import os
import subprocess
import sys

import pytest

from ansible_collections.fleetclock.timesync.plugins.module_utils.chronyc import chrony_result, parse_chrony_probe
from ansible_collections.fleetclock.timesync.plugins.modules.chrony_status import describe, unmet

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
FIXTURES = os.path.join(ROOT, "tests", "unit", "fixtures", "chronyc")
ANSIBLE = os.path.join(os.path.dirname(sys.executable), "ansible")


def probe(name):
    with open(os.path.join(FIXTURES, "probe_%s.txt" % name)) as handle:
        return parse_chrony_probe(handle.read(), 0)


@pytest.mark.parametrize("name, require, max_offset, ok", [
    ("synced_client", "synchronised", None, True),
    ("synced_client", "synchronised_or_local", 0.001, True),
    ("synced_client", "local", None, False),
    ("local_server", "local", None, True),
    ("local_server", "synchronised_or_local", None, True),
    ("local_server", "synchronised", None, False),
    ("unsynchronised", "synchronised_or_local", None, False),
    ("unsynchronised", None, 1.0, False),
    ("not_running", "synchronised", None, False),
    ("missing", None, None, True),
    ("faketime_plus120_slew", "synchronised", None, True),
    ("faketime_plus120_slew", "synchronised", 0.5, False),
    ("faketime_plus120_slew", None, 121.0, True),
])
def test_unmet(name, require, max_offset, ok):
    assert (unmet(probe(name), require, max_offset) is None) is ok


def test_unmet_messages():
    assert unmet(probe("local_server"), "synchronised", None) == "state is local, required synchronised"
    assert "max_offset 0.5" in unmet(probe("faketime_plus120_slew"), None, 0.5)
    assert "no reference" in unmet(probe("unsynchronised"), None, 0.5)


def test_describe():
    text = describe(probe("faketime_plus120_slew"))
    assert text == "seen: state synchronised, ref 7F000001 (127.0.0.1), leap status Normal, offset +119.999992 s"
    text = describe(probe("not_running"))
    assert "state not_running, ref n/a" in text and "506 Cannot talk to daemon" in text
    assert "offset n/a" in describe(chrony_result("unsynchronised"))


def run_module(args):
    """Run the module for real on localhost (the host has chronyc but no chronyd)."""
    proc = subprocess.run(
        [ANSIBLE, "localhost", "-m", "fleetclock.timesync.chrony_status"] + (["-a", json.dumps(args)] if args else []),
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=120, check=False,
        env=dict(os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.builtin.minimal", ANSIBLE_CALLBACK_RESULT_FORMAT="json"),
    )
    head, dummy, body = proc.stdout.partition(" => ")
    return head, json.loads(body) if body else {}, proc


needs_idle_chronyc = pytest.mark.skipif(
    not os.path.exists("/usr/bin/chronyc") or os.path.exists("/run/chrony/chronyd.sock") or not os.path.exists(ANSIBLE),
    reason="needs chronyc installed, no chronyd running, and ansible next to this python",
)


@needs_idle_chronyc
def test_module_reports_not_running():
    head, result, proc = run_module({})
    assert "SUCCESS" in head, proc.stdout + proc.stderr
    assert result["state"] == "not_running" and result["changed"] is False
    assert result["tracking"] is None and result["sources"] == []


@needs_idle_chronyc
def test_module_wait_fails_with_what_it_saw():
    head, result, proc = run_module({"wait": True, "timeout": 2, "require": "synchronised"})
    assert "FAILED" in head, proc.stdout + proc.stderr
    assert result["state"] == "not_running"
    assert result["waited"] >= 1.0
    assert "state is not_running, required synchronised" in result["msg"]
    assert "systemctl status chrony" in result["msg"]


@needs_idle_chronyc
def test_module_wait_needs_a_requirement():
    head, result, proc = run_module({"wait": True})
    assert "FAILED" in head
    assert "require" in result["msg"] and "max_offset" in result["msg"]
