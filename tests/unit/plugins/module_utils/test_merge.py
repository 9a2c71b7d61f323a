"""Unit tests for module_utils/merge.py: merging slice reports (AWX/AAP job slicing) into one fleet report.

Slices are real reports: built by fleet.aggregate from probe results and round-tripped through
render_json, exactly what clock_report writes as clock-audit.json.
"""

from __future__ import annotations

import json
import os

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.fleetclock.timesync.plugins.module_utils import fleet
from ansible_collections.fleetclock.timesync.plugins.module_utils.merge import (
    GENERATOR,
    MergeError,
    merge_reports,
    slice_correction,
)
from ansible_collections.fleetclock.timesync.plugins.module_utils.records import shifted
from ansible_collections.fleetclock.timesync.plugins.module_utils.report import RENDERERS, render_json

ROOT = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..")
with open(os.path.join(ROOT, "schemas", "audit-report-v1.schema.json")) as _handle:
    VALIDATOR = jsonschema.Draft202012Validator(json.load(_handle))
NOW = 1_700_000_000.0


def chrony(state="synchronised", offset=2e-5, error_bound=4e-4, ref_id="C0A80001", ref_name="ntp1.example",
           stratum=3, leap="Normal"):
    tracking = {"ref_id": ref_id, "ref_name": ref_name, "stratum": stratum, "leap_status": leap}
    usable = state in ("synchronised", "local")
    return {"state": state, "tracking": tracking, "sources": [], "offset": offset if usable else None,
            "error_bound": error_bound if usable else None, "error": None}


def probe(offset, bound=0.002, **chrony_kw):
    return {"status": "ok", "error": None,
            "clock": {"offset": offset, "bound": bound, "rtt": 2 * bound, "samples": 2, "resolution": 1e-9},
            "chrony": chrony(**chrony_kw)}


def slice_report(results, controller=None, **options):
    options.setdefault("fail_on_unreachable", True)
    return json.loads(render_json(fleet.aggregate(results, controller=controller, options=options, now=NOW)))


def ctrl(offset, error_bound=0.001, state="synchronised"):
    return {"status": "ok", "error": None, "clock": None, "chrony": chrony(state, offset=offset, error_bound=error_bound)}


def host(report, name):
    return next(h for h in report["hosts"] if h["host"] == name)


def test_offsets_are_corrected_by_each_slice_controllers_chrony_offset():
    # true offsets: a +0.30, b -0.10. Controller 1 is 0.05 s ahead of true time, controller 2 0.02 s behind.
    one = slice_report({"a": probe(0.30 - 0.05, 0.004)}, ctrl(0.05, 0.001))
    two = slice_report({"b": probe(-0.10 + 0.02, 0.006)}, ctrl(-0.02, 0.003))
    merged = merge_reports([one, two], names=["s1", "s2"], now=NOW)
    VALIDATOR.validate(json.loads(render_json(merged)))
    assert merged["generator"] == GENERATOR
    assert host(merged, "a")["offset"] == pytest.approx(0.30)
    assert host(merged, "b")["offset"] == pytest.approx(-0.10)
    assert host(merged, "a")["bound"] == pytest.approx(0.005)
    assert host(merged, "b")["bound"] == pytest.approx(0.009)
    assert merged["fleet"]["skew"] == pytest.approx(0.40)
    assert merged["fleet"]["skew_bound"] == pytest.approx(0.014)
    assert merged["merge"]["corrected"] is True
    assert [s["correction"] for s in merged["merge"]["slices"]] == [0.05, -0.02]
    assert merged["controller"]["synchronised"] is True and merged["controller"]["warning"] is None
    assert merged["controller"]["chrony_error_bound"] == pytest.approx(0.003)
    assert "true time" in merged["sign_convention"]
    assert merged["evaluation"]["label"] == "OK"
    assert "2 slice(s) merged" in RENDERERS["table"](merged)


def test_require_refuses_a_slice_whose_controller_offset_is_unknown():
    one = slice_report({"a": probe(0.1)}, ctrl(0.0))
    two = slice_report({"b": probe(0.1)}, ctrl(0.0, state="unsynchronised"))
    three = slice_report({"c": probe(0.1)}, None)
    with pytest.raises(MergeError, match=r"slice s2: its controller's chrony state is unsynchronised; "
                                         r"slice s3: its controller was not probed"):
        merge_reports([one, two, three], names=["s1", "s2", "s3"])


def test_auto_falls_back_to_uncorrected_with_a_warning():
    one = slice_report({"a": probe(0.25)}, ctrl(0.05))
    two = slice_report({"b": probe(-0.08)}, None)
    merged = merge_reports([one, two], names=["s1", "s2"], mode="auto", now=NOW)
    VALIDATOR.validate(json.loads(render_json(merged)))
    assert merged["merge"]["corrected"] is False
    assert host(merged, "a")["offset"] == pytest.approx(0.25)  # not moved
    assert merged["controller"]["warning"].startswith("2 slice(s) merged without correcting")
    assert "slice s2: its controller was not probed" in merged["controller"]["warning"]
    assert merged["evaluation"]["label"] == "WARNING"
    not_probed = "its controller was not probed (fleetclock_audit_probe_controller: false)"
    assert [s["not_correctable"] for s in merged["merge"]["slices"]] == [None, not_probed]


def test_auto_corrects_when_it_can():
    one = slice_report({"a": probe(0.25)}, ctrl(0.05))
    two = slice_report({"b": probe(-0.08)}, ctrl(0.01))
    merged = merge_reports([one, two], mode="auto", now=NOW)
    assert merged["merge"]["corrected"] is True
    assert host(merged, "a")["offset"] == pytest.approx(0.30)


def test_none_never_corrects_and_only_notes_it():
    one = slice_report({"a": probe(0.25)}, ctrl(0.05))
    two = slice_report({"b": probe(-0.08)}, ctrl(0.01))
    merged = merge_reports([one, two], mode="none", now=NOW)
    assert host(merged, "a")["offset"] == pytest.approx(0.25)
    assert merged["controller"]["warning"] is None
    assert "mode none" in merged["controller"]["note"]
    assert merged["evaluation"]["label"] == "OK"
    assert [s["correction"] for s in merged["merge"]["slices"]] == [None, None]


def test_thresholds_are_reapplied_to_the_whole_fleet():
    # each slice alone is within crit_skew 0.5 s; together the skew is 0.8 s
    one = slice_report({"a": probe(0.4)}, ctrl(0.0), warn_offset=0.45, crit_offset=5.0, crit_skew=0.5)
    two = slice_report({"b": probe(-0.4)}, ctrl(0.0), warn_offset=0.45, crit_offset=5.0, crit_skew=0.5)
    assert one["evaluation"]["label"] == "OK" and two["evaluation"]["label"] == "OK"
    merged = merge_reports([one, two], now=NOW)
    assert merged["fleet"]["skew_severity"] == "critical"
    assert merged["evaluation"]["label"] == "CRITICAL"


def test_different_thresholds_are_refused():
    one = slice_report({"a": probe(0.1)}, ctrl(0.0), warn_offset=0.5)
    two = slice_report({"b": probe(0.1)}, ctrl(0.0), warn_offset=1.0)
    with pytest.raises(MergeError, match="different thresholds"):
        merge_reports([one, two], names=["s1", "s2"])


def test_a_host_in_two_slices_is_refused():
    one = slice_report({"a": probe(0.1)}, ctrl(0.0))
    two = slice_report({"a": probe(0.1), "b": probe(0.2)}, ctrl(0.0))
    with pytest.raises(MergeError, match="host a is in slice s1 and in slice s2"):
        merge_reports([one, two], names=["s1", "s2"])


@pytest.mark.parametrize("bad, message", [
    ([], "no slice reports"),
    (["text"], "slice slice-1: not a JSON object"),
    ([{"schema_version": 2}], "schema_version 2 is not supported"),
    ([{"schema_version": 1, "generator": "other"}], "is not a fleetclock audit report"),
    ([{"schema_version": 1, "generator": "fleetclock.timesync.clock_report", "thresholds": {}}], "missing or malformed 'fail_on'"),
])
def test_malformed_slices_are_refused(bad, message):
    with pytest.raises(MergeError, match=message):
        merge_reports(bad)


def test_bad_mode_and_names():
    one = slice_report({"a": probe(0.1)}, ctrl(0.0))
    with pytest.raises(MergeError, match="mode must be one of"):
        merge_reports([one], mode="maybe")
    with pytest.raises(MergeError, match="1 names for 2 slices"):
        merge_reports([one, one], names=["x"])


def test_slice_correction():
    assert slice_correction(slice_report({}, ctrl(-0.25, 0.002))) == (-0.25, 0.002, None)
    assert slice_correction(slice_report({}, None))[2].startswith("its controller was not probed")
    assert slice_correction(slice_report({}, ctrl(0.0, state="local")))[2] == "its controller's chrony state is local"


def test_unmeasured_hosts_keep_their_status():
    results = {
        "up": probe(0.1, ref_id="7F7F0101", state="local"),
        "down": {"status": "unreachable", "error": "ssh: connection refused", "clock": None, "chrony": None},
        "gone": None,
    }
    one = slice_report(results, ctrl(0.0))
    merged = merge_reports([one], mode="none", now=NOW)
    for name in results:
        assert {k: v for k, v in host(merged, name).items() if k != "checks"} == host(one, name)
    assert shifted(host(one, "gone"), 1.0, 1.0) == shifted(host(one, "gone"))  # no result: nothing to move


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(
    st.text(alphabet="abcdefgh0123456789-", min_size=1, max_size=8),
    st.one_of(
        st.none(),
        st.builds(lambda o, b, s: probe(o, b, state=s), st.floats(-100, 100), st.floats(0, 2),
                  st.sampled_from(["synchronised", "unsynchronised", "local", "not_running", "missing"])),
        st.just({"status": "timeout", "error": "no answer", "clock": None, "chrony": None}),
    ),
    max_size=12,
))
def test_one_slice_uncorrected_is_the_slice_itself(results):
    """Merging a single slice with mode none reproduces every host record, the fleet and the JWT advice."""
    one = slice_report(results, ctrl(0.0))
    merged = json.loads(render_json(merge_reports([one], mode="none", now=NOW)))
    VALIDATOR.validate(merged)
    assert merged["hosts"] == one["hosts"]
    assert merged["jwt"] == one["jwt"]
    assert {k: v for k, v in merged["fleet"].items() if k != "reasons"} == \
        {k: v for k, v in one["fleet"].items() if k != "reasons"}
    assert merged["evaluation"]["status"] == one["evaluation"]["status"]
