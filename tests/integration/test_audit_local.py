"""End-to-end: run `ansible-playbook fleetclock.timesync.audit` against local hosts and check every output.

Inventory: two aliases of this machine over the local connection and one host whose
ssh address is a closed port on 127.0.0.1 (unreachable, never contacted beyond loopback).
chronyd is installed but not running here, so the local hosts are "not_running".

Run: /tmp/probe-venv/bin/pytest tests/integration/test_audit_local.py   (from the repo root)
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import xml.etree.ElementTree as ET

import jsonschema
import pytest
from conftest import JSON_RESULTS, ROOT, assert_printed, ansible_playbook

from ansible_collections.fleetclock.timesync.plugins.module_utils import fleet
from ansible_collections.fleetclock.timesync.plugins.module_utils import report as report_module

SCHEMA = os.path.join(ROOT, "schemas", "audit-report-v1.schema.json")
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"


def closed_port():
    """A loopback TCP port with nothing listening (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def inventory(tmp_path_factory):
    path = tmp_path_factory.mktemp("inv") / "hosts.yml"
    path.write_text("""
all:
  hosts:
    local-a:
      ansible_connection: local
    local-b:
      ansible_connection: local
    dead-ssh:
      ansible_connection: ssh
      ansible_host: 127.0.0.1
      ansible_port: %d
      ansible_user: nobody
  vars:
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
""" % closed_port())
    return str(path)


@pytest.fixture(params=["per-host", "batch"])
def audit(request):
    """Run the audit with the per-host visits (default) or fleetclock_audit_batch=true: same results expected."""
    batch = ["-e", "fleetclock_audit_batch=true"] if request.param == "batch" else []
    return lambda inventory, out_dir, *extra, env=None: run_audit(inventory, out_dir, *(batch + list(extra)), env=env)


def run_audit(inventory, out_dir, *extra, env=None):
    return ansible_playbook("fleetclock.timesync.audit", "-i", inventory,
                            "-e", "fleetclock_audit_output_dir=%s" % out_dir, *extra, env=env)


def check_outputs(out_dir):
    """Every output parses; returns the JSON report."""
    names = sorted(os.listdir(out_dir))
    assert names == ["clock-audit.html", "clock-audit.json", "clock-audit.junit.xml", "clock-audit.prom",
                     "clock-audit.txt"], names
    with open(SCHEMA) as handle:
        schema = json.load(handle)
    with open(os.path.join(out_dir, "clock-audit.json")) as handle:
        report = json.load(handle)
    jsonschema.Draft202012Validator(schema).validate(report)
    with open(os.path.join(out_dir, "clock-audit.prom")) as handle:
        proc = subprocess.run([PROMTOOL, "check", "metrics"], stdin=handle, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    suite = ET.parse(os.path.join(out_dir, "clock-audit.junit.xml")).getroot().find("testsuite")
    assert len(suite.findall("testcase")) == len(report["hosts"]) + 1
    with open(os.path.join(out_dir, "clock-audit.html")) as handle:
        assert "<svg" in handle.read()
    return report


def test_unreachable_host_is_listed_and_fails_the_run(audit, inventory, tmp_path):
    proc = audit(inventory, str(tmp_path))
    assert proc.returncode != 0, proc.stdout
    report = check_outputs(str(tmp_path))
    assert [h["host"] for h in report["hosts"]] == ["dead-ssh", "local-a", "local-b"]
    assert report["fleet"]["unreachable"] == ["dead-ssh"]
    assert report["fleet"]["hosts_measured"] == 2
    assert report["controller"]["probed"] is True
    local = [h for h in report["hosts"] if h["host"].startswith("local-")]
    assert all(h["measured"] and abs(h["offset"]) < 1.0 and h["bound"] < 1.0 for h in local)
    assert report["evaluation"]["status"] == 2
    assert "dead-ssh" in proc.stdout


def earlier_report(seconds_ago):
    """The JSON text of an audit report of local-a and local-b written ``seconds_ago``, for the history."""
    now = time.time() - seconds_ago
    clock = {"offset": 0.004, "bound": 0.001, "rtt": 0.002, "samples": 1, "resolution": 1e-9,
             "remote_time": now, "controller_time": now}
    probe = {"status": "ok", "error": None, "clock": clock, "chrony": None}
    return report_module.render_json(fleet.aggregate({"local-a": probe, "local-b": probe}, now=now))


def test_warnings_only_exit_zero(audit, inventory, tmp_path):
    # chronyd is not running on this machine: that is CRITICAL unless fail_on_unsynchronised is off
    history = tmp_path / "history"
    history.mkdir()
    (history / "earlier.json").write_text(earlier_report(600))
    (history / "broken.json").write_text("{")
    proc = audit(inventory, str(tmp_path / "out"), "-e", "fleetclock_audit_fail_on_unreachable=false",
                 "-e", "fleetclock_audit_fail_on_unsynchronised=false", "-e", "fleetclock_history_dir=%s" % history)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = tmp_path / "out"
    report = check_outputs(str(out))
    # the history: the earlier report and this run in the HTML report; the broken file skipped with a warning
    assert "history_dir: skipped broken.json: not valid JSON" in proc.stdout + proc.stderr
    page = (out / "clock-audit.html").read_text()
    assert "2 run(s) from" in page and page.count('<g class="run"') == 2 and "1 file(s) skipped" in page
    assert page.count('<g class="history-host"') == 2
    assert report["evaluation"]["label"] == "WARNING"
    assert report["fleet"]["unreachable"] == ["dead-ssh"]
    assert_printed(proc.stdout, out / "clock-audit.txt")  # the checkout's yaml result format
    # schema_minor 1: each visited host's time daemon (none runs here) and the kernel's verdict, read in the same visit
    assert report["schema_minor"] == 1
    local_b = next(h for h in report["hosts"] if h["host"] == "local-b")
    assert local_b["daemon"]["active"] == [] and local_b["daemon"]["state"] in ("missing", "not_running")
    assert "fleetclock_time_daemon_info{host=\"local-b\"" in open(os.path.join(str(out), "clock-audit.prom")).read()


def test_limit_audits_only_the_limited_hosts(audit, inventory, tmp_path):
    proc = audit(inventory, str(tmp_path), "--limit", "local-b", "-e", "fleetclock_audit_fail_on_unsynchronised=false",
                 env=JSON_RESULTS)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = check_outputs(str(tmp_path))
    assert [h["host"] for h in report["hosts"]] == ["local-b"]
    assert_printed(proc.stdout, tmp_path / "clock-audit.txt")  # Ansible's default (json) result format


def test_bad_options_fail_before_any_host_is_contacted(audit, inventory, tmp_path):
    proc = audit(inventory, str(tmp_path / "out"), "-e", "fleetclock_audit_warn_offset=9")
    assert proc.returncode != 0
    assert "warn_offset (9.0 s) must not be larger than crit_offset (5.0 s)" in proc.stdout
    assert "Visit every host" not in proc.stdout
    assert not (tmp_path / "out").exists()
