"""Unit tests for module_utils/compare.py: before/after comparison of two audit reports."""
import json

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from ansible_collections.fleetclock.timesync.plugins.module_utils.compare import (
    OUTCOMES,
    CompareError,
    compare,
    render_json,
    render_table,
    snapshot_changes,
    time_daemon,
)
from ansible_collections.fleetclock.timesync.plugins.module_utils.fleet import aggregate
from ansible_collections.fleetclock.timesync.plugins.module_utils.report import render_json as render_report

NOW = 1795938506.0


def probe(offset, state="synchronised", bound=0.01):
    return {"status": "ok", "error": None,
            "clock": {"offset": offset, "bound": bound, "rtt": 2 * bound, "samples": 3, "resolution": 1e-9},
            "chrony": {"state": state, "error": None, "offset": 0.0 if state == "synchronised" else None,
                       "error_bound": 0.001, "tracking": {"stratum": 9, "ref_id": "AC110002",
                                                          "ref_name": "srv", "leap_status": "Normal"}}}


def report(offsets, states=None, **switches):
    """An audit report exactly as the playbook reads it: the clock-audit.json that clock_report writes."""
    states = states or {}
    return json.loads(render_report(aggregate(
        {h: probe(o, states.get(h, "synchronised")) for h, o in offsets.items()}, now=NOW, options=switches)))


SNAP_TIMESYNCD = {"chrony_installed": False, "config_checksum": None, "packages": ["systemd-timesyncd"],
                  "services": {"systemd-timesyncd": {"state": "running", "enabled": "enabled"}}}
SNAP_CHRONY = {"chrony_installed": True, "config_checksum": "abc", "packages": ["chrony"],
               "services": {"chrony": {"state": "running", "enabled": "enabled"}}}


def test_snapshot_changes_timesyncd_to_chrony():
    assert snapshot_changes(SNAP_TIMESYNCD, SNAP_CHRONY) == [
        "chrony installed", "chrony.conf written", "chrony absent -> running/enabled",
        "systemd-timesyncd running/enabled -> absent"]


def test_snapshot_changes_names_the_other_files():
    before = dict(SNAP_CHRONY, config="/etc/chrony/chrony.conf",
                  files={"/etc/chrony/chrony.conf": "abc", "/etc/default/chrony": "1", "/etc/x.d/drop.conf": None})
    after = dict(before, config_checksum="def",
                 files={"/etc/chrony/chrony.conf": "def", "/etc/default/chrony": "2", "/etc/x.d/drop.conf": "3"})
    assert snapshot_changes(before, after) == [
        "chrony.conf changed", "/etc/default/chrony changed", "/etc/x.d/drop.conf written"]
    reverse = snapshot_changes(before=after, after=before)
    assert reverse[-1] == "/etc/x.d/drop.conf removed"


def test_snapshot_changes_config_only_and_none():
    after = dict(SNAP_CHRONY, config_checksum="def")
    assert snapshot_changes(SNAP_CHRONY, after) == ["chrony.conf changed"]
    assert snapshot_changes(SNAP_CHRONY, SNAP_CHRONY) == []
    assert snapshot_changes(None, SNAP_CHRONY) == []
    assert snapshot_changes({}, SNAP_CHRONY) == []
    assert snapshot_changes(SNAP_CHRONY, SNAP_TIMESYNCD)[:2] == ["chrony removed", "chrony.conf removed"]


def test_compare_healthy_rollout():
    before = report({"a": 0.0, "b": 120.0, "c": -5.0}, {"b": "unsynchronised"})
    after = report({"a": 0.0, "b": 0.02, "c": -0.01})
    rollout = {"a": {"outcome": "unchanged", "batch": 1},
               "b": {"outcome": "changed", "batch": 2, "snapshot_before": SNAP_TIMESYNCD, "snapshot_after": SNAP_CHRONY},
               "c": {"outcome": "changed", "batch": 3}}
    result = compare(before, after, rollout, now=NOW)
    assert result["status"] == 0 and result["label"] == "OK", result["reasons"]
    hosts = {h["host"]: h for h in result["hosts"]}
    assert hosts["b"]["before"]["chrony_state"] == "unsynchronised"
    assert hosts["b"]["after"]["chrony_state"] == "synchronised"
    assert hosts["b"]["offset_change"] == pytest.approx(-119.98)
    assert "chrony installed" in hosts["b"]["changes"]
    assert result["fleet"]["before"]["skew"] == pytest.approx(125.0)
    assert result["fleet"]["after"]["skew"] == pytest.approx(0.03)
    assert result["jwt"]["before"] > result["jwt"]["after"] >= 1
    assert result["rollout"] == {"stopped": False, "stopped_at_batch": None, "changed": ["b", "c"], "unchanged": ["a"],
                                 "rolled_back": [], "rollback_failed": [], "not_attempted": [], "needs_step": []}


def test_compare_stopped_rollout_is_critical():
    before = report({"a": 0.0, "bad": 3.0, "later": 50.0})
    after = report({"a": 0.0, "bad": 3.0, "later": 50.0})
    rollout = {"a": {"outcome": "unchanged", "batch": 1},
               "bad": {"outcome": "rolled_back", "batch": 2, "reason": "not synchronised within 30 s"}}
    result = compare(before, after, rollout, now=NOW)
    assert result["status"] == 2
    assert result["rollout"]["stopped"] and result["rollout"]["stopped_at_batch"] == 2
    assert result["rollout"]["not_attempted"] == ["later"]
    assert "not synchronised within 30 s" in result["reasons"][0]
    table = render_table(result)
    assert "STOPPED at batch 2" in table and "rolled_back" in table and "not_attempted" in table


def test_status_is_the_after_audits_own_evaluation():
    before = report({"a": 0.0, "b": 0.0})
    after = report({"a": 0.0, "b": 0.0}, {"b": "unsynchronised"})
    result = compare(before, after, {}, now=NOW)
    assert result["status"] == 2 and result["fleet"]["after"]["label"] == "CRITICAL"
    assert any("not synchronised" in r for r in result["reasons"])
    # the audit's own switches decide: with fail_on_unsynchronised off it is a WARNING
    relaxed = report({"a": 0.0, "b": 0.0}, {"b": "unsynchronised"}, fail_on_unsynchronised=False)
    assert compare(before, relaxed, {}, now=NOW)["status"] == 1


def test_after_report_without_evaluation_is_unknown():
    rep = report({"a": 0.0})
    after = dict(rep)
    del after["evaluation"]
    result = compare(rep, after, {"a": {"outcome": "unchanged", "batch": 1}}, now=NOW)
    assert result["status"] == 3 and result["label"] == "UNKNOWN"


def test_needs_step_is_reported():
    rep = report({"a": 0.0})
    result = compare(rep, rep, {"a": {"outcome": "rolled_back", "needs_step": True, "batch": 1}}, now=NOW)
    assert result["rollout"]["needs_step"] == ["a"]
    assert any("fleetclock_remediate_makestep" in r for r in result["reasons"])
    assert "[needs step]" in render_table(result)


@pytest.mark.parametrize("bad, message", [
    ({"hosts": []}, "not an audit report"),
    ({"hosts": [], "fleet": {}, "schema_version": 2}, "schema_version 2"),
])
def test_bad_reports(bad, message):
    good = report({"a": 0.0})
    with pytest.raises(CompareError, match=message):
        compare(bad, good)
    with pytest.raises(CompareError, match=message.replace("before", "after")):
        compare(good, bad)


def test_bad_rollout_entries():
    good = report({"a": 0.0})
    with pytest.raises(CompareError, match="outcome 'exploded' is not one of"):
        compare(good, good, {"a": {"outcome": "exploded"}})
    with pytest.raises(CompareError, match="must be a dict"):
        compare(good, good, {"a": "changed"})
    with pytest.raises(CompareError, match="rollout must be a dict"):
        compare(good, good, ["a"])


def test_render_json_round_trips():
    rep = report({"a": 0.5, "b": -0.5})
    result = compare(rep, rep, {"a": {"outcome": "changed", "batch": 1}}, now=NOW)
    assert json.loads(render_json(result)) == result


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(["h1", "h2", "h3", "h4"]),
                       st.floats(min_value=-1000, max_value=1000, allow_nan=False), min_size=1),
       st.dictionaries(st.sampled_from(["h1", "h2", "h3", "h4", "h5"]), st.sampled_from(OUTCOMES)))
def test_every_host_is_listed_once(offsets, outcomes):
    rep = report(offsets)
    result = compare(rep, rep, {h: {"outcome": o, "batch": 1} for h, o in outcomes.items()}, now=NOW)
    names = [h["host"] for h in result["hosts"]]
    assert names == sorted(set(offsets) | set(outcomes))
    assert result["status"] in (0, 1, 2, 3)
    assert result["rollout"]["stopped"] == any(o in ("rolled_back", "rollback_failed", "failed") for o in outcomes.values())
    render_table(result)


def test_table_writes_durations_as_the_audit_report_does():
    rep = report({"a": 0.002, "b": -1.5})
    table = render_table(compare(rep, rep, now=NOW))
    assert "+2.0 ms" in table and "-1.500 s" in table
    assert "fleet skew      before 1.502 s (+/- 20.0 ms)" in table


def test_the_table_names_the_time_daemon_before_and_after():
    """A host moved from systemd-timesyncd to chrony showed "missing -> synchronised" (chrony's state only)."""
    before, after = report({"tsd": 0.1, "old": 0.2}), report({"tsd": 0.0, "old": 0.0})
    timesyncd = {"daemon": "systemd-timesyncd", "state": "unsynchronised"}
    hb, ha = ({h["host"]: h for h in rep["hosts"]} for rep in (before, after))
    hb["tsd"]["daemon"] = timesyncd
    ha["tsd"]["daemon"] = {"daemon": "chrony", "state": "synchronised"}
    hb["old"]["daemon"] = {"daemon": None, "state": "missing"}
    result = compare(before, after, {"tsd": {"outcome": "changed", "batch": 1}, "old": {"outcome": "changed", "batch": 1}},
                     now=NOW)
    rows = {line.split()[0]: line for line in render_table(result).splitlines()[2:4]}
    assert "systemd-timesyncd unsynchronised  chrony synchronised" in rows["tsd"]
    assert " none " in rows["old"]
    assert {h["host"]: h["before"]["daemon"] for h in result["hosts"]}["tsd"] == timesyncd
    # a report without the daemon section (schema_minor 0): chrony's state alone
    assert time_daemon({"chrony_state": "missing"}) == "chrony missing" and time_daemon(None) == "-"
