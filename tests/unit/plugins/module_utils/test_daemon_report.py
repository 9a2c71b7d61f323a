"""The time daemon in the report (schema_minor 1): host records, checks and every renderer, from real probe output
captured from Debian 12's systemd-timesyncd, ntpsec and openntpd (tests/unit/fixtures/timedaemons)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET

import jsonschema
import pytest

from conftest import synced_probe
from ansible_collections.fleetclock.timesync.plugins.module_utils import chronyc, fleet, report, timedaemons
from ansible_collections.fleetclock.timesync.plugins.module_utils.records import host_record, shifted

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
SCHEMA = os.path.join(ROOT, "schemas", "audit-report-v1.schema.json")
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
NOW = 1_700_000_000.0


def probe(offset, state="synchronised"):
    return synced_probe(offset, state, samples=4)


FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "timedaemons")
MISSING = chronyc.chrony_result("missing", error="chronyc is not installed (not found in PATH, /usr/sbin, /sbin)")


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return handle.read()


def daemon_probe(name, offset=0.001):
    result = probe(offset)
    result.update(chrony=MISSING, daemons=timedaemons.parse_daemons_probe(fixture(name)))
    return result


def fleet_report():
    return fleet.aggregate({"tsd": daemon_probe("probe_timesyncd_synced.txt"),
                            "ntps": daemon_probe("probe_ntpsec_synced.txt"),
                            "ontp": daemon_probe("probe_openntpd_unsynced.txt"),
                            "chrony": probe(0.002),           # an older probe: no daemons part
                            "bare": dict(probe(0.003), chrony=MISSING,
                                         daemons=timedaemons.parse_daemons_probe(
                                             "@@fleetclock-daemon@@ active\n@@fleetclock-daemon@@ container no\n"))},
                           controller=probe(0.0), now=NOW)


def by_host(rep):
    return {h["host"]: h for h in rep["hosts"]}


def test_records_carry_each_hosts_daemon():
    hosts = by_host(fleet_report())
    assert (hosts["tsd"]["daemon"]["daemon"], hosts["tsd"]["daemon"]["state"]) == ("systemd-timesyncd", "synchronised")
    assert hosts["tsd"]["daemon"]["reference"] == "172.18.0.2" and hosts["tsd"]["daemon"]["stratum"] == 8
    assert (hosts["ntps"]["daemon"]["daemon"], hosts["ntps"]["daemon"]["state"]) == ("ntpsec", "synchronised")
    assert (hosts["ontp"]["daemon"]["daemon"], hosts["ontp"]["daemon"]["state"]) == ("openntpd", "unsynchronised")
    assert hosts["chrony"]["daemon"]["daemon"] == "chrony" and hosts["chrony"]["daemon"]["active"] is None
    assert hosts["bare"]["daemon"]["state"] == "missing"
    # chrony's own fields are what they were
    assert hosts["tsd"]["chrony_state"] == "missing" and hosts["chrony"]["chrony_state"] == "synchronised"


def test_checks_name_the_daemon_and_the_kernel():
    rep = fleet_report()
    hosts = by_host(rep)
    tsd = " ".join(hosts["tsd"]["reasons"])
    assert "chronyc is not installed" not in tsd  # the host keeps time with timesyncd
    assert "kernel's timex status says unsynchronised" in tsd and "container" in tsd
    # in a container that kernel is the container host's: said, as information, not a warning on this host
    kernel = [c["level"] for c in hosts["tsd"]["checks"] if c["message"].startswith("the kernel's timex status")]
    assert kernel == ["info"] and hosts["tsd"]["daemon"]["container"] is True
    assert any("openntpd is not synchronised" in r for r in hosts["ontp"]["reasons"])
    assert hosts["ontp"]["severity"] == "warning"   # fail_on_unsynchronised judges chrony only
    assert any("chronyc is not installed" in r for r in hosts["bare"]["reasons"])
    assert rep["evaluation"]["label"] == "WARNING"


def test_json_is_schema_minor_1_and_validates():
    data = json.loads(report.render_json(fleet_report()))
    assert data["schema_version"] == 1 and data["schema_minor"] == 1
    with open(SCHEMA) as handle:
        jsonschema.Draft202012Validator(json.load(handle)).validate(data)
    # a 1.0 report (no schema_minor, no daemon sections) still validates
    for host in data["hosts"]:
        del host["daemon"]
    del data["schema_minor"]
    with open(SCHEMA) as handle:
        jsonschema.Draft202012Validator(json.load(handle)).validate(data)


def test_a_report_read_back_keeps_the_daemon():
    record = by_host(fleet_report())["tsd"]
    again = shifted(json.loads(json.dumps(record)), 0.5, 0.01)
    assert again["daemon"] == record["daemon"] and again["offset"] == pytest.approx(record["offset"] + 0.5)
    assert host_record("x", dict(probe(0.0), daemons="garbage"))["daemon"]["daemon"] == "chrony"


def test_prometheus_info_metric_and_old_series_unchanged():
    rep = fleet_report()
    text = report.render_prometheus(rep)
    assert ('fleetclock_time_daemon_info{host="tsd",daemon="systemd-timesyncd",state="synchronised",'
            'kernel="unsynchronised",active="systemd-timesyncd"} 1') in text
    assert 'fleetclock_time_daemon_info{host="bare",daemon="none",state="missing",kernel="unknown",active=""} 1' in text
    assert 'fleetclock_chrony_state{host="tsd",state="missing"} 1' in text  # existing series keep their labels
    if os.path.exists(PROMTOOL):
        proc = subprocess.run([PROMTOOL, "check", "metrics"], input=text, universal_newlines=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
        assert proc.returncode == 0, proc.stdout


def test_text_html_junit_carry_the_daemon():
    rep = fleet_report()
    table = report.render_table(rep)
    assert "systemd-timesyncd synchronised 172.18.0.2 stratum 8" in table
    assert "kernel unsynchronised (container host)" in table
    assert "<th>daemon</th>" in report.render_html(rep) and "ntpsec synchronised" in report.render_html(rep)
    suite = ET.fromstring(report.render_junit(rep))
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert cases["ontp"].find("properties/property").get("value").startswith("openntpd unsynchronised")


def test_summary_names_the_other_daemon_instead_of_chrony_unknown():
    """A host on systemd-timesyncd was listed under "chrony state unknown", as if nothing were known about it."""
    rep = fleet_report()
    lines = report.render_table(rep).splitlines()
    other = [line for line in lines if line.strip().startswith("no chrony, another time daemon:")]
    assert other == ["  no chrony, another time daemon: ntps (ntpsec synchronised), ontp (openntpd unsynchronised), "
                     "tsd (systemd-timesyncd synchronised)"]
    assert [line for line in lines if line.strip().startswith("chrony state unknown:")] == ["  chrony state unknown: bare"]
    assert "<li>no chrony, another time daemon: ntps (ntpsec synchronised)" in report.render_html(rep)
