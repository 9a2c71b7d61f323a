"""Verify the audit scenario: run the audit playbook against the fleet molecule built and check
what it measured against the offsets the scenario injected (the ground truth), the chrony states,
the exit status, and that every output parses in a real consumer."""
import json
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET

import jsonschema
import pytest

ROOT = os.environ["MOLECULE_PROJECT_DIRECTORY"]
INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
SCHEMA = os.path.join(ROOT, "schemas", "audit-report-v1.schema.json")

# injected offset (s) and the chrony state the audit must see
TRUTH = {
    "fc-audit-server": (0.0, "local"),
    "fc-audit-m300": (-300.0, "synchronised"),
    "fc-audit-m5": (-5.0, "synchronised"),
    "fc-audit-zero": (0.0, "synchronised"),
    "fc-audit-p05": (0.5, "synchronised"),
    "fc-audit-p120": (120.0, "synchronised"),
    "fc-audit-nochrony": (2.0, "missing"),
    "fc-audit-stopped": (-1.0, "not_running"),
}


def run_audit(tmp_path, *extra):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
               ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, "collections"))
    cmd = ["ansible-playbook", "-i", INVENTORY, "fleetclock.timesync.audit",
           "-e", "fleetclock_audit_output_dir=%s" % tmp_path] + list(extra)
    proc = subprocess.run(cmd, cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=300, check=False)
    report = json.loads((tmp_path / "clock-audit.json").read_text())
    return proc, report


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    return run_audit(tmp_path_factory.mktemp("audit-default"))


def hosts_of(report):
    return {h["host"]: h for h in report["hosts"]}


def test_every_injected_offset_lies_inside_its_bound(default_run):
    report = default_run[1]
    hosts = hosts_of(report)
    assert set(TRUTH) <= set(hosts)
    misses = []
    for name, (injected, dummy) in TRUTH.items():
        h = hosts[name]
        assert h["measured"], h
        # 0.05 s: the controller itself runs on real time, the containers' fake time is exact
        if abs(h["offset"] - injected) > h["bound"]:
            misses.append((name, injected, h["offset"], h["bound"]))
    assert not misses, misses
    bounds = sorted(h["bound"] for h in hosts.values())
    assert bounds[len(bounds) // 2] < 0.5


def test_chrony_states(default_run):
    report = default_run[1]
    hosts = hosts_of(report)
    for name, (dummy, state) in TRUTH.items():
        assert hosts[name]["chrony_state"] == state, hosts[name]
    # chrony on the +120 s host knows its clock is ~120 s fast (it can't step: -x in a container)
    assert hosts["fc-audit-p120"]["chrony_offset"] == pytest.approx(120.0, abs=1.0)
    assert hosts["fc-audit-server"]["stratum"] == 8
    assert hosts["fc-audit-zero"]["stratum"] == 9


def test_fleet_skew_and_default_exit(default_run):
    proc, report = default_run
    fleet = report["fleet"]
    assert fleet["skew"] == pytest.approx(420.0, abs=fleet["skew_bound"] + 0.01)
    assert {fleet["skew_max_host"], fleet["skew_min_host"]} == {"fc-audit-p120", "fc-audit-m300"}
    assert report["evaluation"]["status"] == 2
    assert proc.returncode != 0, proc.stdout[-3000:]
    assert report["jwt"]["recommended_leeway"] >= 421
    rejected = {(p["issuer"], p["verifier"]) for p in report["jwt"]["nbf_rejected"]["pairs"]}
    assert ("fc-audit-p120", "fc-audit-m300") in rejected


def test_exit_zero_when_thresholds_allow(tmp_path):
    proc, report = run_audit(
        tmp_path, "-e", "fleetclock_audit_warn_offset=1000", "-e", "fleetclock_audit_crit_offset=1000",
        "-e", "fleetclock_audit_fail_on_unsynchronised=false")
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert report["evaluation"]["status"] in (0, 1)


def test_output_files(tmp_path):
    proc, report = run_audit(tmp_path)
    jsonschema.validate(report, json.load(open(SCHEMA)))
    prom = tmp_path / "clock-audit.prom"
    promtool = shutil.which("promtool")
    assert promtool, "promtool (Debian package prometheus) is required"
    check = subprocess.run([promtool, "check", "metrics"], input=prom.read_text(),
                           capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stdout + check.stderr
    assert 'fleetclock_clock_offset_seconds{host="fc-audit-p120"}' in prom.read_text()
    suite = ET.parse(str(tmp_path / "clock-audit.junit.xml")).getroot()
    cases = suite.iter("testcase")
    names = {c.get("name") for c in cases}
    assert set(TRUTH) <= names
    assert "<svg" in (tmp_path / "clock-audit.html").read_text()
    assert "fc-audit-p120" in (tmp_path / "clock-audit.txt").read_text()
