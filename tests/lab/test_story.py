"""The skew lab story, end to end, on VMs with clocks of their own (scripts/lab.sh; docs/lab.md).

1. Audit the lab: every injected offset lies inside its reported bound, the fleet skew is ~123 s, the run
   exits non-zero, and the JWT guidance names the +120 s guest -> master pair; the batch mode
   (fleetclock_audit_batch) measures the same.
2. The incident: a token minted on the +120 s guest is rejected by the master with leeway 0
   ('The token is not yet valid (nbf)').
3. Remediate the lab as an air-gapped site (batches [1, 100%]: the master first, then the clients).
4. Wait until each client's chronyd has settled, then audit again: every client follows the master
   (chrony's own offset within a few ms, and the lab's own measurement of client minus master), the
   master keeps its boot error, and the same JWT check passes with leeway 0.
The tests run in order and share one lab; the lab is started by the first and stopped at the end
(FCLAB_KEEP=1 keeps it up, FCLAB_REUSE=1 uses a lab that is already up and untouched).
Evidence (tables, JWT output) goes to tests/output/lab-*.txt, which `make test` prints.
"""

from __future__ import annotations

import json
import os
import subprocess
import time

import pytest
from conftest import ROOT, ansible_playbook

from ansible_collections.fleetclock.timesync.plugins.module_utils.chronyc import (
    ChronycParseError,
    chrony_error_bound,
    parse_tracking,
)

LAB = os.path.join(ROOT, "scripts", "lab.sh")
RUN = os.path.join(os.environ.get("FC_CACHE", os.path.join(ROOT, ".cache")), "lab", "run")
OUT = os.path.join(ROOT, "tests", "output")
JWT_CHECK = os.path.join(ROOT, "lab", "jwt_check.py")
MASTER, AHEAD = "fclab-master", "fclab-c1"
CLIENTS = ["fclab-c1", "fclab-c2", "fclab-c3"]
MASTER_ADDRESS = "192.0.2.10"
# how far apart two lab clocks may be after remediate, in the lab's own measurement (each reading has its
# own bound, ~15 ms under TCG; chrony keeps the clients within a few ms of the master)
FOLLOW_TOLERANCE = 0.010
# what "settled" means for a client's chronyd: its own offset (system time) and its own error bound
# (module_utils/chronyc.py chrony_error_bound: |system time| + root dispersion + root delay / 2)
SETTLED_OFFSET, SETTLED_BOUND, SETTLE_TIMEOUT = 0.005, 0.050, 300

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the lab needs root (network namespace, qemu)")


def evidence(name, text):
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "lab-%s.txt" % name), "w") as f:
        f.write(text if text.endswith("\n") else text + "\n")


def lab(*args, stdin=None, check=True):
    res = subprocess.run(["bash", LAB] + list(args), cwd=ROOT, capture_output=True, text=True,
                         stdin=stdin, check=False, timeout=1500)
    if check and res.returncode != 0:
        pytest.fail("scripts/lab.sh %s failed (%d):\n%s\n%s" % (" ".join(args), res.returncode, res.stdout, res.stderr))
    return res


def truth():
    return {g["name"]: g for g in json.loads(lab("truth").stdout)["guests"]}


def playbook(name, out_dir, *extra):
    res = ansible_playbook("fleetclock.timesync.%s" % name, "-i", os.path.join(RUN, "inventory.yml"), *extra,
                           timeout=1500)
    with open(os.path.join(out_dir, "%s.log" % name), "w") as f:
        f.write(res.stdout + res.stderr)
    return res


def audit(out_dir, **extra_vars):
    os.makedirs(out_dir, exist_ok=True)
    res = playbook("audit", out_dir, "-e", json.dumps(dict({"fleetclock_audit_output_dir": out_dir,
                                                            "fleetclock_audit_formats": ["table", "json"]}, **extra_vars)))
    with open(os.path.join(out_dir, "clock-audit.json")) as f:
        report = json.load(f)
    return res, report, {h["host"]: h for h in report["hosts"]}


def jwt_round(issuer, verifier, leeway=0):
    with open(JWT_CHECK) as f:
        token = lab("ssh", issuer, "python3", "-", "mint", stdin=f).stdout.strip()
    with open(JWT_CHECK) as f:
        res = lab("ssh", verifier, "python3", "-", "verify", token, str(leeway), stdin=f, check=False)
    return "%s mints a token; %s verifies it with leeway %s: %s" % (issuer, verifier, leeway, res.stdout.strip())


@pytest.fixture(scope="module")
def state(tmp_path_factory):
    if not os.environ.get("FCLAB_REUSE"):
        lab("up")
    with open(os.path.join(RUN, "truth.json")) as f:
        boot_truth = {g["name"]: g for g in json.load(f)["guests"]}
    yield {"boot_truth": boot_truth, "dir": tmp_path_factory.mktemp("lab")}
    if not os.environ.get("FCLAB_KEEP"):
        lab("down", check=False)


def truth_table(title, rows):
    lines = [title, "%-14s %12s %12s %12s %10s  %s" % ("host", "truth", "audit", "difference", "bound", "inside")]
    for name, t, h in rows:
        diff = h["offset"] - t["offset"]
        lines.append("%-14s %+12.4f %+12.4f %+12.4f %10.4f  %s" % (
            name, t["offset"], h["offset"], diff, h["bound"] + t["bound"],
            "yes" if abs(diff) <= h["bound"] + t["bound"] else "NO"))
    return "\n".join(lines)


def test_1_audit_finds_the_skew(state):
    before = truth()
    res, report, hosts = audit(str(state["dir"] / "before"))
    after = truth()
    with open(os.path.join(str(state["dir"] / "before"), "clock-audit.txt")) as f:
        evidence("1-audit-before", f.read() + "\n" + truth_table(
            "Truth (scripts/lab.sh truth, before and after the audit) vs the audit:",
            [(n, after[n], hosts[n]) for n in sorted(hosts)]))
    assert res.returncode != 0, "a 123 s skew must fail the audit"
    assert set(hosts) == {MASTER} | set(CLIENTS)
    for name, host in hosts.items():
        assert host["measured"], host
        # the truth moves a little between the two readings (TCG clocks drift by a few ms a minute)
        lo = min(before[name]["offset"] - before[name]["bound"], after[name]["offset"] - after[name]["bound"])
        hi = max(before[name]["offset"] + before[name]["bound"], after[name]["offset"] + after[name]["bound"])
        assert host["offset"] - host["bound"] <= hi and host["offset"] + host["bound"] >= lo, (
            "%s: audit %+.4f +/- %.4f s, truth between %+.4f and %+.4f s" % (name, host["offset"], host["bound"], lo, hi))
    fleet = report["fleet"]
    assert (fleet["skew_max_host"], fleet["skew_min_host"]) == ("fclab-c1", "fclab-c2")
    # the batch mode (one controller process, real SSH through the ProxyCommand) measures the same truth
    res_b, report_b, hosts_b = audit(str(state["dir"] / "before-batch"), fleetclock_audit_batch=True)
    assert res_b.returncode != 0 and set(hosts_b) == set(hosts)
    for name, host in hosts_b.items():
        t = after[name]
        assert abs(host["offset"] - t["offset"]) <= host["bound"] + t["bound"] + 0.01, (name, host, t)
    assert abs(report_b["fleet"]["skew"] - 123.0) < 0.5, report_b["fleet"]
    assert abs(fleet["skew"] - 123.0) < 0.5, fleet
    pairs = {(p["issuer"], p["verifier"]): p for p in report["jwt"]["nbf_rejected"]["pairs"]}
    assert (AHEAD, MASTER) in pairs and pairs[(AHEAD, MASTER)]["certain"], report["jwt"]
    assert report["jwt"]["recommended_leeway"] >= 124


def test_2_incident_token_not_yet_valid(state):
    line = jwt_round(AHEAD, MASTER)
    evidence("2-jwt-before", line)
    assert line.endswith("rejected: The token is not yet valid (nbf)"), line


def test_3_remediate_as_airgapped_site(state):
    out = str(state["dir"] / "remediate")
    os.makedirs(out, exist_ok=True)
    res = playbook("remediate", out, "-e", json.dumps({"fleetclock_remediate_serial": [1, "100%"],
                                                       "fleetclock_remediate_output_dir": out}))
    with open(os.path.join(out, "remediate-compare.txt")) as f:
        evidence("3-remediate", f.read())
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    with open(os.path.join(out, "remediate-compare.json")) as f:
        compare = json.load(f)
    rows = {h["host"]: h for h in compare["hosts"]}
    assert rows[MASTER]["batch"] == 1 and all(rows[c]["batch"] == 2 for c in CLIENTS), rows
    assert all(rows[h]["outcome"] == "changed" for h in rows), rows


def chrony_tracking(name):
    """A guest's `chronyc -c tracking`, parsed by the collection's own parser; None while it has no answer."""
    try:
        return parse_tracking(lab("ssh", name, "chronyc", "-c", "tracking", check=False).stdout)
    except ChronycParseError:
        return None


def settled(tracking):
    return (tracking is not None and abs(tracking["system_time"]) <= SETTLED_OFFSET
            and chrony_error_bound(tracking) <= SETTLED_BOUND)


def wait_settled(names):
    """Wait until every client's chronyd has settled on the master; seconds waited per client.

    The health gate lets a client through once it is synchronised within fleetclock_remediate_max_offset;
    right after its step chronyd is still slewing the rest and has no frequency estimate yet (chronyc
    tracking then shows tens of ms and a root dispersion of seconds, seen under TCG on a busy 2-core host).
    """
    start, waited, last = time.monotonic(), {}, {}
    for name in names:
        while True:
            last[name] = chrony_tracking(name)
            if settled(last[name]):
                waited[name] = time.monotonic() - start
                break
            if time.monotonic() - start > SETTLE_TIMEOUT:
                pytest.fail("chronyd on %s has not settled within %d s: last tracking %s"
                            % (name, SETTLE_TIMEOUT, last[name]))
            time.sleep(5)
    return waited


def test_4_clients_follow_the_master(state):
    waited = wait_settled(CLIENTS)
    res, report, hosts = audit(str(state["dir"] / "after"))
    now = truth()
    m = now[MASTER]
    lines = ["After remediate: offsets against the master (scripts/lab.sh truth: client - master)",
             "%-14s %12s %10s %14s %12s %8s" % ("host", "vs master", "bound", "chrony offset", "chrony bound", "ref")]
    for name in CLIENTS:
        t, h = now[name], hosts[name]
        lines.append("%-14s %+12.4f %10.4f %+14.6f %12.6f %8s" % (
            name, t["offset"] - m["offset"], t["bound"] + m["bound"], h["chrony_offset"], h["chrony_error_bound"],
            h["reference"]))
    lines.append("chronyd settled (|offset| <= %g s, bound <= %g s) after: %s" % (
        SETTLED_OFFSET, SETTLED_BOUND, ", ".join("%s %.0f s" % (n, waited[n]) for n in CLIENTS)))
    with open(os.path.join(str(state["dir"] / "after"), "clock-audit.txt")) as f:
        evidence("4-audit-after", f.read() + "\n" + "\n".join(lines))
    # OK or WARNING (the controller itself runs no chrony here, a WARNING); never CRITICAL
    assert res.returncode == 0, res.stdout[-4000:]
    assert report["fleet"]["skew"] < 1.0, report["fleet"]
    assert hosts[MASTER]["chrony_state"] == "local", hosts[MASTER]
    # the master's local reference is not corrected: it keeps the error it booted with
    boot = state["boot_truth"][MASTER]
    assert abs(m["offset"] - boot["offset"]) <= m["bound"] + boot["bound"] + 0.05, (m, boot)
    for name in CLIENTS:
        h, t = hosts[name], now[name]
        assert h["chrony_state"] == "synchronised" and h["leap_status"] == "Normal", h
        assert h["reference"] == MASTER_ADDRESS, h
        assert abs(h["chrony_offset"]) <= FOLLOW_TOLERANCE, h  # settled at <= 5 ms; a minute of TCG noise later
        assert abs(t["offset"] - m["offset"]) <= t["bound"] + m["bound"] + FOLLOW_TOLERANCE, (name, t, m)


def test_5_same_token_check_passes(state):
    line = jwt_round(AHEAD, MASTER)
    evidence("5-jwt-after", line)
    assert line.endswith(": valid"), line
