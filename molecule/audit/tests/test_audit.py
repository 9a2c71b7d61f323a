"""Verify the audit scenario: run the audit playbook against the fleet molecule built and check
what it measured against the offsets the scenario injected (the ground truth), the chrony states,
the exit status, and that every output parses in a real consumer."""
import json
import os
import re
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
    "fc-audit-timesyncd": (0.0, "missing"),
    "fc-audit-ntpsec": (0.0, "missing"),
    "fc-audit-openntpd": (0.0, "missing"),
    "fc-audit-two": (0.0, "synchronised"),
}

# the daemon the report names, its state, what its reference must contain (None: no reference), the running
# daemons and the host's severity (docs/report-schema.md): another daemon synchronised is ok (the container
# host's kernel disagreeing is an info), unsynchronised a warning, several daemons at once a warning.
# openntpd cannot get past "clock unsynced" without clock control (no CAP_SYS_TIME in a container): its peer is
# valid (converge waited for that) but it truly reports unsynchronised.
DAEMONS = {
    "fc-audit-timesyncd": ("systemd-timesyncd", "synchronised", "fc-audit-server", ["systemd-timesyncd"], "ok"),
    "fc-audit-ntpsec": ("ntpsec", "synchronised", ".", ["ntpsec"], "ok"),
    "fc-audit-openntpd": ("openntpd", "unsynchronised", None, ["openntpd"], "warning"),
    "fc-audit-two": ("chrony", "synchronised", ".", ["chrony", "systemd-timesyncd"], "warning"),
    "fc-audit-zero": ("chrony", "synchronised", ".", ["chrony"], "ok"),
    # no chrony; a timesyncd whose server is an address with nothing listening (fc-audit-stopped)
    "fc-audit-nochrony": ("systemd-timesyncd", "unsynchronised", "fc-audit-stopped", ["systemd-timesyncd"],
                          "warning"),
}


def run_audit(tmp_path, *extra):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
               ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, "collections"))
    cmd = ["ansible-playbook", "-i", INVENTORY, "fleetclock.timesync.audit",
           "-e", "fleetclock_audit_output_dir=%s" % tmp_path] + list(extra)
    proc = subprocess.run(cmd, cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=300, check=False)
    report = json.loads((tmp_path / "clock-audit.json").read_text())
    return proc, report


def keep_evidence(tmp_path, report):
    """Copy the table and a truth-vs-measurement list to tests/output/ (CI logs print them)."""
    out = os.path.join(ROOT, "tests", "output")
    os.makedirs(out, exist_ok=True)
    shutil.copy(str(tmp_path / "clock-audit.txt"), os.path.join(out, "molecule-audit-table.txt"))
    lines = ["host                 injected   measured        bound      |error|   inside"]
    for h in report["hosts"]:
        injected = TRUTH.get(h["host"], (None,))[0]
        if injected is None or not h.get("measured"):
            continue
        err = abs(h["offset"] - injected)
        lines.append("%-20s %+9.3f  %+12.6f  %9.6f  %9.6f   %s" % (
            h["host"], injected, h["offset"], h["bound"], err, "yes" if err <= h["bound"] else "NO"))
    with open(os.path.join(out, "molecule-audit-truth.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("audit-default")
    proc, report = run_audit(tmp_path)
    keep_evidence(tmp_path, report)
    return proc, report


def hosts_of(report):
    return {h["host"]: h for h in report["hosts"]}


def test_every_injected_offset_lies_inside_its_bound(default_run):
    report = default_run[1]
    hosts = hosts_of(report)
    assert set(TRUTH) <= set(hosts)
    misses = []
    for name, (injected, _state) in TRUTH.items():
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
    for name, (_injected, state) in TRUTH.items():
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


def test_each_daemon_state_and_severity(default_run):
    """The JSON report names each host's daemon, its state, reference, the running daemons and the severity."""
    hosts = hosts_of(default_run[1])
    seen = {}
    for name, (daemon, state, reference, active, severity) in DAEMONS.items():
        h = hosts[name]
        got = h["daemon"]
        seen[name] = (got["daemon"], got["state"], got["reference"], got["active"], h["severity"], h["reasons"])
        assert (got["daemon"], got["state"], got["active"], h["severity"]) == (daemon, state, active, severity), h
        if reference is None:
            assert got["reference"] is None, got
        else:
            assert reference in (got["reference"] or ""), got
    # the reasons say why, in words
    assert any("several time daemons run at once" in r and "systemd-timesyncd" in r
               for r in hosts["fc-audit-two"]["reasons"]), seen["fc-audit-two"]
    assert any("systemd-timesyncd is not synchronised" in r for r in hosts["fc-audit-nochrony"]["reasons"])
    assert any("openntpd is not synchronised" in r and "clock unsynced" in r
               for r in hosts["fc-audit-openntpd"]["reasons"])
    assert hosts["fc-audit-ntpsec"]["daemon"]["stratum"] == 9
    assert hosts["fc-audit-timesyncd"]["daemon"]["stratum"] == 8  # timesyncd shows its server's stratum
    assert hosts["fc-audit-timesyncd"]["daemon"]["error_bound"] is not None
    # the kernel's verdict in a container is the container host's, an info (not a warning)
    for name in ("fc-audit-timesyncd", "fc-audit-ntpsec"):
        assert hosts[name]["daemon"]["container"] is True
        assert hosts[name]["severity"] == "ok"
        assert any("the kernel's timex status says" in r and "its host's kernel" in r
                   for r in hosts[name]["reasons"]), hosts[name]["reasons"]
    with open(os.path.join(ROOT, "tests", "output", "molecule-audit-daemons.txt"), "w") as f:
        f.write("\n".join("%-20s %r" % item for item in sorted(seen.items())) + "\n")


def test_daemon_metric(tmp_path):
    """fleetclock_time_daemon_info carries each host's daemon, state and running daemons (promtool-checked)."""
    run_audit(tmp_path)
    text = (tmp_path / "clock-audit.prom").read_text()
    check = subprocess.run([shutil.which("promtool") or "promtool", "check", "metrics"], input=text,
                           capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stdout + check.stderr
    series = {}
    for line in text.splitlines():
        match = re.match(r"^fleetclock_time_daemon_info\{(.*)\} 1$", line)
        if match:
            labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match.group(1)))
            series[labels["host"]] = labels
    for name, (daemon, state, _reference, active, _severity) in DAEMONS.items():
        assert series[name]["daemon"] == (daemon or "none"), series.get(name)
        assert series[name]["state"] == state, series[name]
        assert series[name]["active"] == ",".join(active), series[name]
