"""Unit tests for module_utils/report.py: renderers (checked by real parsers and promtool) write_atomic and write_reports."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import jsonschema
import pytest

from ansible_collections.fleetclock.timesync.plugins.module_utils import fleet, report

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
SCHEMA = os.path.join(ROOT, "schemas", "audit-report-v1.schema.json")
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
NOW = 1_700_000_000.0
NASTY = 'we"ird\\host\nname<script>&'


def probe(offset, bound=0.002, state="synchronised", leap="Normal"):
    tracking = {"ref_id": "C0A80001", "ref_name": "ntp1", "stratum": 2, "leap_status": leap}
    return {"status": "ok", "error": None,
            "clock": {"offset": offset, "bound": bound, "rtt": bound * 2, "samples": 4, "resolution": 1e-9,
                      "remote_time": NOW + offset, "controller_time": NOW},
            "chrony": {"state": state, "tracking": tracking, "sources": [], "offset": 1e-5,
                       "error_bound": 2e-4, "error": None}}


DOWN = {"status": "unreachable", "error": "ssh: Connection refused", "clock": None, "chrony": None}


def mixed():
    return fleet.aggregate({"ok1": probe(0.0004), "warn1": probe(-1.5), "crit1": probe(6.25, 0.03),
                            "unsync": probe(0.01, state="unsynchronised"), "gone": DOWN, "none": None,
                            NASTY: probe(0.2)},
                           controller=probe(0.0, state="not_running"), now=NOW)


def all_reports():
    return {
        "mixed": mixed(),
        "empty": fleet.aggregate({}, now=NOW),
        "all_down": fleet.aggregate({"a": DOWN, "b": None}, now=NOW),
        "one": fleet.aggregate({"solo": probe(0.001)}, controller=probe(0.0), now=NOW),
    }


REPORTS = all_reports()


# ---------------------------------------------------------------- table

def test_table_sorted_by_abs_offset_with_readable_units():
    text = report.render_table(mixed())
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("----")) + 1
    assert [line.split()[0] for line in lines[start:start + 7]] == [
        "crit1", "warn1", 'we"ird\\host\\nname<script>&', "unsync", "ok1", "gone", "none"]
    assert "+6.250 s" in text and "-1.500 s" in text and "+400 us" in text and "30.0 ms" in text
    for needle in ("host", "offset", "+/-bound", "rtt", "chrony", "stratum", "reference", "chrony offset", "leap",
                   "Fleet: 7 host(s), 5 measured", "recommended leeway", "JWT_DECODE_LEEWAY", "Status: CRITICAL",
                   "unreachable: gone", "failed / no result: none", "Controller: WARNING"):
        assert needle in text, needle


def test_table_order_measured_first_then_unmeasured():
    rep = fleet.aggregate({"a": probe(0.1), "b": probe(-3.0), "c": probe(0.5), "z": None, "d": DOWN}, now=NOW)
    lines = report.render_table(rep).splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("----")) + 1
    assert [line.split()[0] for line in lines[start:start + 5]] == ["b", "c", "a", "d", "z"]


@pytest.mark.parametrize("name", sorted(REPORTS))
def test_every_renderer_handles_edge_reports(name):
    for render in report.RENDERERS.values():
        assert render(REPORTS[name])


# ---------------------------------------------------------------- JSON

@pytest.mark.parametrize("name", sorted(REPORTS))
def test_json_validates_against_the_schema(name):
    with open(SCHEMA) as handle:
        schema = json.load(handle)
    jsonschema.Draft202012Validator.check_schema(schema)
    data = json.loads(report.render_json(REPORTS[name]))
    jsonschema.Draft202012Validator(schema).validate(data)
    assert data["schema_version"] == 1
    assert "checks" not in data["fleet"] and all("checks" not in h for h in data["hosts"])


def test_json_schema_rejects_a_broken_report():
    with open(SCHEMA) as handle:
        validator = jsonschema.Draft202012Validator(json.load(handle))
    data = json.loads(report.render_json(mixed()))
    data["hosts"][0]["severity"] = "fine"
    data["inventory_secret"] = "hunter2"
    assert len(list(validator.iter_errors(data))) == 2


# ---------------------------------------------------------------- Prometheus

def parse_prom(text):
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, value = line.rsplit(" ", 1)
            samples[key] = float(value)
    return samples


@pytest.mark.parametrize("name", sorted(REPORTS))
def test_prometheus_passes_promtool(name):
    text = report.render_prometheus(REPORTS[name])
    proc = subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr + text


def test_prometheus_names_values_and_escaping():
    text = report.render_prometheus(mixed())
    samples = parse_prom(text)
    assert samples['fleetclock_clock_offset_seconds{host="crit1"}'] == 6.25
    assert samples['fleetclock_clock_offset_error_seconds{host="crit1"}'] == 0.03
    assert samples['fleetclock_clock_rtt_seconds{host="crit1"}'] == 0.06
    assert samples['fleetclock_host_up{host="gone"}'] == 0 and samples['fleetclock_host_up{host="ok1"}'] == 1
    assert samples['fleetclock_chrony_synchronized{host="unsync"}'] == 0
    assert samples['fleetclock_chrony_synchronized{host="ok1"}'] == 1
    assert samples['fleetclock_chrony_stratum{host="ok1"}'] == 2
    assert samples['fleetclock_chrony_offset_seconds{host="ok1"}'] == 1e-5
    assert samples["fleetclock_fleet_skew_seconds"] == pytest.approx(7.75)
    assert samples["fleetclock_fleet_skew_error_seconds"] == pytest.approx(0.032)
    assert samples["fleetclock_audit_timestamp_seconds"] == NOW
    assert samples["fleetclock_audit_status"] == 2
    assert samples["fleetclock_jwt_recommended_leeway_seconds"] == 9
    assert 'fleetclock_clock_offset_seconds{host="gone"}' not in samples
    assert '{host="we\\"ird\\\\host\\nname<script>&"}' in text
    for name in ("fleetclock_clock_offset_seconds", "fleetclock_fleet_skew_seconds"):
        assert "# HELP %s " % name in text and "# TYPE %s gauge" % name in text


# ---------------------------------------------------------------- JUnit

@pytest.mark.parametrize("name", sorted(REPORTS))
def test_junit_parses_and_counts_match(name):
    root = ET.fromstring(report.render_junit(REPORTS[name]).encode("utf-8"))
    suites = root.findall("testsuite")
    assert len(suites) == 1
    suite = suites[0]
    cases = suite.findall("testcase")
    assert len(cases) == len(REPORTS[name]["hosts"]) + 1
    for tag, attr in (("failure", "failures"), ("error", "errors"), ("skipped", "skipped")):
        assert int(suite.get(attr)) == sum(1 for c in cases if c.find(tag) is not None)
    assert int(suite.get("tests")) == len(cases)


def test_junit_severity_mapping():
    suite = ET.fromstring(report.render_junit(mixed()).encode("utf-8")).find("testsuite")
    by_name = {c.get("name"): c for c in suite.findall("testcase")}
    assert by_name["crit1"].find("failure") is not None
    assert by_name["unsync"].find("failure") is not None
    assert by_name["warn1"].find("skipped") is not None
    assert by_name["gone"].find("error") is not None and by_name["none"].find("error") is not None
    # a passing host carries only its time daemon (schema_minor 1)
    assert [child.tag for child in by_name["ok1"]] == ["properties"]
    assert by_name["ok1"].find("properties/property").get("value").startswith("chrony synchronised ntp1")
    assert by_name[NASTY].get("name") == NASTY
    assert by_name["fleet skew"].find("failure") is not None
    assert (suite.get("failures"), suite.get("errors"), suite.get("skipped")) == ("3", "2", "1")


def test_junit_shows_control_characters_escaped():
    rep = fleet.aggregate({"h": dict(DOWN, error="bad\x00\x1bbytes")}, now=NOW)
    root = ET.fromstring(report.render_junit(rep).encode("utf-8"))
    assert "bad\\x00\\x1bbytes" in root.find("testsuite/testcase/error").get("message")


# ---------------------------------------------------------------- HTML

class Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.attrs, self.text = [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.extend(attrs)

    def handle_data(self, data):
        self.text.append(data)


def test_html_is_self_contained_with_svg_and_escaped_names():
    page = report.render_html(mixed())
    parser = Collector()
    parser.feed(page)
    assert "svg" in parser.tags and "circle" in parser.tags and "rect" in parser.tags
    assert "script" not in parser.tags and "link" not in parser.tags and "img" not in parser.tags
    assert "http://" not in page and "https://" not in page
    assert "<script>" not in page and "we&quot;ird" in page
    assert NASTY in "".join(parser.text)  # the name round-trips as text
    assert parser.tags.count("circle") == 5  # one dot per measured host


def test_html_without_measured_hosts():
    page = report.render_html(fleet.aggregate({"a": DOWN}, now=NOW))
    assert "<svg" in page and "no host measured" in page
    assert "No host measured: no recommendation." in page


# ---------------------------------------------------------------- write_atomic

def current_umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_write_atomic_replaces_and_leaves_no_temp(tmp_path):
    target = tmp_path / "sub" / "clock-audit.prom"
    assert report.write_atomic(str(target), "one\n") == str(target)
    inode = os.stat(str(target)).st_ino
    report.write_atomic(str(target), "two\n")
    assert target.read_text() == "two\n"
    assert os.stat(str(target)).st_ino != inode  # a new file renamed over the old one
    assert os.listdir(str(target.parent)) == ["clock-audit.prom"]
    assert os.stat(str(target)).st_mode & 0o777 == 0o666 & ~current_umask()


def test_write_atomic_cleans_up_on_error(tmp_path):
    target = tmp_path / "x.json"
    with pytest.raises(TypeError):
        report.write_atomic(str(target), b"bytes are not text")
    assert os.listdir(str(tmp_path)) == []


def test_write_reports_names_files_and_redirects_prometheus(tmp_path):
    prom = tmp_path / "textfile" / "fleetclock.prom"
    files = report.write_reports(REPORTS["mixed"], ["json", "prometheus", "table"], str(tmp_path / "out"), str(prom))
    assert files == [str(tmp_path / "out" / "clock-audit.json"), str(prom), str(tmp_path / "out" / "clock-audit.txt")]
    assert json.loads((tmp_path / "out" / "clock-audit.json").read_text()) == json.loads(report.render_json(REPORTS["mixed"]))
    assert prom.read_text() == report.render_prometheus(REPORTS["mixed"])
    assert sorted(os.listdir(str(tmp_path / "out"))) == ["clock-audit.json", "clock-audit.txt"]
    # without prometheus_path the textfile goes next to the others
    assert report.write_reports(REPORTS["one"], ["prometheus"], str(tmp_path / "two")) == [
        str(tmp_path / "two" / "clock-audit.prom")]


def test_html_jwt_guidance_and_failing_pairs_are_tables():
    page = report.render_html(mixed())
    parser = Collector()
    parser.feed(page)
    assert "pre" not in parser.tags  # no preformatted block to overflow the page
    assert '<table class="jwt-settings">' in page and '<table class="jwt-pairs">' in page
    assert "<th>fresh tokens rejected for</th>" in page
    assert page.count('<g class="host"') == 5  # one labelled row per measured host
