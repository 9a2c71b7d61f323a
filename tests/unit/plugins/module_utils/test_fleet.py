"""Unit tests for module_utils/fleet.py: aggregation, thresholds, JWT pairs, exit status, options."""

from __future__ import annotations

import itertools
import math
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.fleetclock.timesync.plugins.module_utils import audit_options, fleet
from ansible_collections.fleetclock.timesync.plugins.module_utils.chronyc import parse_chrony_probe
from ansible_collections.fleetclock.timesync.plugins.module_utils.jwt_guidance import jwt_guidance
from ansible_collections.fleetclock.timesync.plugins.module_utils.textfmt import fmt_seconds

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "chronyc")
NOW = 1_700_000_000.0


def chrony(state="synchronised", stratum=3, ref_id="C0A80001", ref_name="ntp1.example", leap="Normal",
           offset=2e-5, error_bound=4e-4, error=None):
    tracking = None
    if state in ("synchronised", "local", "unsynchronised"):
        tracking = {"ref_id": ref_id, "ref_name": ref_name, "stratum": stratum, "leap_status": leap}
    return {"state": state, "tracking": tracking, "sources": [], "offset": offset if tracking else None,
            "error_bound": error_bound if tracking else None, "error": error}


def probe(offset, bound=0.002, rtt=None, state="synchronised", status="ok", error=None, **chrony_kw):
    return {
        "status": status, "error": error,
        "clock": {"offset": offset, "bound": bound, "rtt": 2 * bound if rtt is None else rtt, "samples": 3,
                  "resolution": 1e-9, "remote_time": NOW + offset, "controller_time": NOW},
        "chrony": chrony(state, **chrony_kw),
    }


def down(status="unreachable", error="ssh: connect to host 10.0.0.9 port 22: Connection refused"):
    return {"status": status, "error": error, "clock": None,
            "chrony": {"state": "unknown", "tracking": None, "sources": [], "offset": None,
                       "error_bound": None, "error": "chrony not probed"}}


def host(report, name):
    return next(h for h in report["hosts"] if h["host"] == name)


# ---------------------------------------------------------------- aggregate: skew and bounds

def test_skew_is_max_minus_min_with_bounds_of_the_two_hosts():
    report = fleet.aggregate({"a": probe(0.30, 0.01), "b": probe(-0.20, 0.02), "c": probe(0.05, 0.5)}, now=NOW)
    f = report["fleet"]
    assert f["skew"] == pytest.approx(0.50)
    assert f["skew_bound"] == pytest.approx(0.03)
    assert (f["skew_max_host"], f["skew_min_host"]) == ("a", "b")
    assert f["median_offset"] == pytest.approx(0.05)
    assert (f["hosts_total"], f["hosts_measured"]) == (3, 3)
    # worst case over all pairs: c's wide bound reaches further than a's interval
    assert f["skew_upper"] == pytest.approx((0.05 + 0.5) - (-0.20 - 0.02))
    assert f["skew_upper"] >= f["skew"] + f["skew_bound"]


def test_single_host_has_zero_skew_and_zero_bound():
    report = fleet.aggregate({"only": probe(2.0, 0.1)}, now=NOW)
    assert report["fleet"]["skew"] == 0.0
    assert report["fleet"]["skew_bound"] == 0.0
    assert report["fleet"]["skew_upper"] == 0.0


def test_host_fields_come_from_the_contract():
    report = fleet.aggregate({"a": probe(-0.0123, 0.004, rtt=0.0075, stratum=2, ref_name="time.example")}, now=NOW)
    a = host(report, "a")
    assert a["offset"] == -0.0123 and a["bound"] == 0.004 and a["rtt"] == 0.0075 and a["samples"] == 3
    assert (a["chrony_state"], a["stratum"], a["reference"], a["leap_status"]) == ("synchronised", 2, "time.example", "Normal")
    assert (a["chrony_offset"], a["chrony_error_bound"]) == (2e-5, 4e-4)
    assert a["severity"] == "ok" and a["reasons"] == []


def test_real_chronyc_fixture_feeds_the_report():
    with open(os.path.join(FIXTURES, "probe_synced_client.txt")) as handle:
        parsed = parse_chrony_probe(handle.read(), 0)
    result = probe(0.001)
    result["chrony"] = parsed
    a = host(fleet.aggregate({"a": result}, now=NOW), "a")
    assert a["chrony_state"] == parsed["state"] == "synchronised"
    assert a["stratum"] == parsed["tracking"]["stratum"]
    assert a["reference"] in (parsed["tracking"]["ref_name"], parsed["tracking"]["ref_id"])
    assert a["chrony_offset"] == parsed["offset"]


def test_local_reference_is_shown_as_local():
    a = host(fleet.aggregate({"m": probe(0.0, state="local", ref_id="7F7F0101", ref_name="")}, now=NOW), "m")
    assert a["reference"] == "LOCAL"
    assert a["severity"] == "ok"
    assert any("local clock" in r for r in a["reasons"])


# ---------------------------------------------------------------- severities and thresholds

@pytest.mark.parametrize("offset,severity", [
    (0.0, "ok"), (1.0, "ok"), (1.0001, "warning"), (-4.9, "warning"), (5.0, "warning"), (-5.01, "critical"), (120.0, "critical"),
])
def test_offset_thresholds_use_absolute_offset(offset, severity):
    report = fleet.aggregate({"h": probe(offset, 0.001)}, now=NOW)
    assert host(report, "h")["severity"] == severity


def test_over_warn_includes_over_crit():
    report = fleet.aggregate({"ok": probe(0.1), "w": probe(-2.0), "c": probe(7.0)}, now=NOW)
    assert report["fleet"]["over_warn"] == ["c", "w"]
    assert report["fleet"]["over_crit"] == ["c"]


def test_bound_wider_than_warn_threshold_is_a_warning():
    report = fleet.aggregate({"slow": probe(0.1, bound=1.5)}, now=NOW)
    slow = host(report, "slow")
    assert slow["severity"] == "warning"
    assert "cannot be judged" in slow["reasons"][0]


def test_skew_thresholds_apply_to_the_fleet_even_when_no_host_is_over():
    # every host within +/-0.8 s of the controller, but 1.6 s apart from each other
    report = fleet.aggregate({"a": probe(0.8), "b": probe(-0.8)}, now=NOW)
    assert [h["severity"] for h in report["hosts"]] == ["ok", "ok"]
    assert report["fleet"]["skew_severity"] == "warning"
    assert fleet.evaluate(report)[0] == 1
    report = fleet.aggregate({"a": probe(3.0), "b": probe(-3.0)}, now=NOW)
    assert report["fleet"]["skew_severity"] == "critical"
    code, reasons = fleet.evaluate(report)
    assert code == 2 and any("crit_skew" in r for r in reasons)


def test_skew_thresholds_default_to_offset_thresholds_and_can_differ():
    opts = audit_options.validate_options({"warn_offset": 0.2, "crit_offset": 0.4}, check_paths=False)
    assert (opts["warn_skew"], opts["crit_skew"]) == (0.2, 0.4)
    report = fleet.aggregate({"a": probe(0.3), "b": probe(-0.3)}, options={"warn_skew": 10, "crit_skew": 20}, now=NOW)
    assert report["fleet"]["skew_severity"] == "ok"
    assert report["thresholds"] == {"warn_offset": 1.0, "crit_offset": 5.0, "warn_skew": 10.0, "crit_skew": 20.0}


@pytest.mark.parametrize("state,severity,listed", [
    ("synchronised", "ok", None), ("unsynchronised", "critical", "unsynchronised"),
    ("not_running", "critical", "unsynchronised"), ("missing", "warning", "chrony_unknown"),
    ("error", "warning", "chrony_unknown"), ("local", "ok", None),
])
def test_chrony_states(state, severity, listed):
    report = fleet.aggregate({"h": probe(0.01, state=state, error="details" if state == "error" else None)}, now=NOW)
    assert host(report, "h")["severity"] == severity
    for key in ("unsynchronised", "chrony_unknown"):
        assert report["fleet"][key] == (["h"] if key == listed else [])


def test_leap_second_pending_is_noted_not_escalated():
    h = host(fleet.aggregate({"h": probe(0.01, leap="Insert second")}, now=NOW), "h")
    assert h["severity"] == "ok"
    assert h["reasons"] == ["leap second pending: Insert second"]


# ---------------------------------------------------------------- hosts without results

def test_hosts_without_results_are_listed_not_dropped():
    results = {"up": probe(0.01), "gone": down(), "slow": down("timeout", "no answer within 20s"),
               "broken": down("error", "clock sample: garbage"), "never": None}
    report = fleet.aggregate(results, now=NOW)
    assert [h["host"] for h in report["hosts"]] == ["broken", "gone", "never", "slow", "up"]
    f = report["fleet"]
    assert f["unreachable"] == ["gone", "slow"]
    assert f["failed"] == ["broken", "never"]
    assert (f["hosts_total"], f["hosts_measured"]) == (5, 1)
    for name in ("gone", "slow", "broken", "never"):
        h = host(report, name)
        assert h["severity"] == "unknown" and h["offset"] is None and h["reasons"]
    assert host(report, "never")["status"] == "no_result"
    assert "Connection refused" in host(report, "gone")["reasons"][0]


def test_partial_visit_keeps_the_offset_and_warns():
    result = probe(0.02)
    result.update(status="timeout", error="no answer within 20s")
    report = fleet.aggregate({"h": result}, now=NOW)
    h = host(report, "h")
    assert h["measured"] and h["offset"] == 0.02 and h["severity"] == "warning"
    assert report["fleet"]["unreachable"] == [] and report["fleet"]["failed"] == []


def test_malformed_results_do_not_crash():
    report = fleet.aggregate({"a": {"status": "weird"}, "b": {"status": "ok", "clock": {"offset": "x", "bound": 1}},
                              "c": "not a dict", "d": {"status": "ok", "clock": None, "chrony": None}}, now=NOW)
    assert all(h["severity"] == "unknown" for h in report["hosts"])
    assert report["evaluation"]["status"] == 2


def test_empty_fleet_is_unknown():
    report = fleet.aggregate({}, now=NOW)
    assert report["hosts"] == [] and report["fleet"]["skew"] is None
    assert report["jwt"]["recommended_leeway"] is None
    assert fleet.evaluate(report) == (3, ["UNKNOWN no hosts to audit"])


def test_all_unreachable():
    report = fleet.aggregate({"a": down(), "b": None}, now=NOW)
    assert report["fleet"]["skew"] is None and report["fleet"]["hosts_measured"] == 0
    code, reasons = fleet.evaluate(report)
    assert code == 2 and len(reasons) == 2
    code, reasons = fleet.evaluate(report, fail_on_unreachable=False)
    assert code == 3 and reasons[0] == "UNKNOWN no host could be measured"


# ---------------------------------------------------------------- controller

def test_controller_unsynchronised_warns_offsets_are_not_true_time():
    report = fleet.aggregate({"a": probe(0.01)}, controller=probe(0.0, state="unsynchronised"), now=NOW)
    ctrl = report["controller"]
    assert ctrl["probed"] and ctrl["synchronised"] is False
    assert "not known to follow true time" in ctrl["warning"]
    code, reasons = fleet.evaluate(report)
    assert code == 1 and reasons[0].startswith("WARNING fleet: the controller")


def test_controller_synchronised_and_not_probed():
    report = fleet.aggregate({"a": probe(0.01)}, controller=probe(0.0), now=NOW)
    assert report["controller"]["synchronised"] is True and report["controller"]["warning"] is None
    assert fleet.evaluate(report) == (0, [])
    report = fleet.aggregate({"a": probe(0.01)}, now=NOW)
    assert report["controller"]["probed"] is False and report["controller"]["synchronised"] is None
    assert "accuracy is unknown" in report["controller"]["note"]
    assert fleet.evaluate(report)[0] == 0


# ---------------------------------------------------------------- evaluate switches

def test_fail_on_switches_downgrade_to_warning():
    results = {"far": probe(9.0), "unsync": probe(0.0, state="not_running"), "gone": down()}
    report = fleet.aggregate(results, now=NOW)
    assert fleet.evaluate(report)[0] == 2
    everything_off = {"fail_on_skew": False, "fail_on_unsynchronised": False, "fail_on_unreachable": False}
    code, reasons = fleet.evaluate(report, **everything_off)
    assert code == 1 and all(r.startswith("WARNING") for r in reasons)
    for switch in everything_off:
        partly = dict(everything_off, **{switch: True})
        assert fleet.evaluate(report, **partly)[0] == 2, switch
    # the report's own evaluation follows the options
    assert fleet.aggregate(results, options=everything_off, now=NOW)["evaluation"]["status"] == 1


def test_critical_reasons_come_first():
    report = fleet.aggregate({"w": probe(2.0), "c": probe(0.0, state="unsynchronised")},
                             options={"warn_skew": 10, "crit_skew": 10}, now=NOW)
    code, reasons = fleet.evaluate(report)
    assert code == 2
    assert reasons == ["CRITICAL c: chrony is not synchronised",
                       "WARNING w: offset +2.000 s (+/- 2.0 ms) from the controller exceeds warn_offset 1 s"]


# ---------------------------------------------------------------- JWT

def test_jwt_pairs_both_directions_and_leeway():
    hosts = fleet.aggregate({"fast": probe(3.0, 0.01), "mid": probe(0.5, 0.01), "slow": probe(-1.0, 0.01)},
                            now=NOW)["hosts"]
    g = jwt_guidance(hosts, current_leeway=0, margin=1.0)
    pairs = [(p["issuer"], p["verifier"]) for p in g["nbf_rejected"]["pairs"]]
    # only issuer-ahead pairs, largest first
    assert pairs == [("fast", "slow"), ("fast", "mid"), ("mid", "slow")]
    assert g["nbf_rejected"]["total"] == 3
    first = g["nbf_rejected"]["pairs"][0]
    assert first["ahead"] == pytest.approx(4.0) and first["rejected_for"] == pytest.approx(4.0)
    assert first["bound"] == pytest.approx(0.02) and first["certain"] is True
    late = g["exp_accepted_late"]["pairs"][0]
    assert (late["issuer"], late["verifier"], late["accepted_late_by"]) == ("fast", "slow", pytest.approx(4.0))

    g = jwt_guidance(hosts, current_leeway=2)
    assert [(p["issuer"], p["verifier"]) for p in g["nbf_rejected"]["pairs"]] == [("fast", "slow"), ("fast", "mid")]
    assert g["nbf_rejected"]["pairs"][1]["excess"] == pytest.approx(0.5)
    assert g["exp_accepted_late"]["pairs"][0]["accepted_late_by"] == pytest.approx(6.0)
    assert jwt_guidance(hosts, current_leeway=4)["nbf_rejected"]["total"] == 0


def test_pair_within_bound_is_not_certain():
    hosts = fleet.aggregate({"a": probe(0.3, 0.2), "b": probe(0.0, 0.2)}, now=NOW)["hosts"]
    pair = jwt_guidance(hosts)["nbf_rejected"]["pairs"][0]
    assert (pair["issuer"], pair["verifier"], pair["certain"]) == ("a", "b", False)


@pytest.mark.parametrize("spread,margin,expected", [
    (0.0, 1.0, 1), (0.001, 1.0, 2), (1.0, 1.0, 2), (2.0000000000004, 0.0, 2), (2.3, 0.5, 3), (0.0, 0.0, 0),
])
def test_recommended_leeway_rounds_up_to_whole_seconds(spread, margin, expected):
    hosts = fleet.aggregate({"a": probe(spread, 0.0), "b": probe(0.0, 0.0)}, now=NOW)["hosts"]
    g = jwt_guidance(hosts, margin=margin)
    assert g["recommended_leeway"] == expected


def test_recommended_leeway_covers_the_bounds():
    hosts = fleet.aggregate({"a": probe(1.2, 0.3), "b": probe(-0.1, 0.25)}, now=NOW)["hosts"]
    g = jwt_guidance(hosts, margin=0.5)
    assert g["worst_pair_spread"] == pytest.approx(1.85)
    assert g["recommended_leeway"] == 3  # ceil(1.85 + 0.5)


def test_pair_list_is_capped_with_total():
    results = {"h%02d" % i: probe(float(i), 0.001) for i in range(30)}
    g = fleet.aggregate(results, now=NOW)["jwt"]
    assert g["nbf_rejected"]["total"] == 30 * 29 // 2
    assert g["nbf_rejected"]["shown"] == 20 == len(g["nbf_rejected"]["pairs"])
    assert g["nbf_rejected"]["pairs"][0]["issuer"] == "h29" and g["nbf_rejected"]["pairs"][0]["verifier"] == "h00"
    aheads = [p["ahead"] for p in g["nbf_rejected"]["pairs"]]
    assert aheads == sorted(aheads, reverse=True)
    assert fleet.aggregate(results, options={"jwt_max_pairs": 0}, now=NOW)["jwt"]["nbf_rejected"]["pairs"] == []


def test_library_settings_are_named():
    names = " ".join(s["setting"] for s in jwt_guidance([])["settings"])
    for setting in ("leeway", "JWT_DECODE_LEEWAY", "clockTolerance", "jwt.WithLeeway", "JwtTimestampValidator",
                    "setMaxClockSkew"):
        assert setting in names


offsets = st.lists(st.tuples(st.floats(-100, 100, allow_nan=False), st.floats(0, 5, allow_nan=False)),
                   min_size=0, max_size=12)


@settings(max_examples=200, deadline=None)
@given(offsets, st.floats(0, 20, allow_nan=False), st.integers(0, 8))
def test_jwt_pairs_match_brute_force(points, leeway, limit):
    results = {"h%d" % i: probe(o, b) for i, (o, b) in enumerate(points)}
    hosts = fleet.aggregate(results, now=NOW)["hosts"]
    g = jwt_guidance(hosts, current_leeway=leeway, max_pairs=limit)
    brute = sorted(((h["offset"] - v["offset"], h["host"], v["host"]) for h, v in itertools.permutations(hosts, 2)
                    if h["offset"] - v["offset"] > leeway), key=lambda t: -t[0])
    assert g["nbf_rejected"]["total"] == len(brute)
    got = [p["ahead"] for p in g["nbf_rejected"]["pairs"]]
    assert got == [t[0] for t in brute[:limit]]
    if len(hosts) >= 2:
        worst = max((a["offset"] + a["bound"]) - (b["offset"] - b["bound"]) for a, b in itertools.permutations(hosts, 2))
        assert g["worst_pair_spread"] == pytest.approx(worst)
        assert g["recommended_leeway"] >= worst
        assert g["recommended_leeway"] == math.ceil(round(worst + 1.0, 6))


# ---------------------------------------------------------------- validate_options

@pytest.mark.parametrize("options,message", [
    ({"warn_offset": -1}, "warn_offset must be a finite number of seconds >= 0"),
    ({"crit_offset": "soon"}, "crit_offset must be a number"),
    ({"warn_offset": 6, "crit_offset": 5}, "warn_offset (6.0 s) must not be larger than crit_offset (5.0 s)"),
    ({"warn_skew": 3, "crit_skew": 2}, "warn_skew"),
    ({"jwt_leeway": float("nan")}, "jwt_leeway"),
    ({"formats": ["json", "yaml"]}, "formats: unknown 'yaml'; choose from table, json, prometheus, junit, html"),
    ({"fail_on_skew": "maybe"}, "fail_on_skew must be true or false"),
    ({"jwt_max_pairs": -1}, "jwt_max_pairs"),
    ({"prometheus_path": "/tmp/metrics.txt"}, "must be a file name ending in .prom"),
])
def test_validate_options_rejects(options, message):
    with pytest.raises(audit_options.OptionError) as err:
        audit_options.validate_options(options, check_paths=False)
    assert message in str(err.value)


def test_validate_options_defaults_and_coercion():
    opts = audit_options.validate_options({"warn_offset": "0.5", "fail_on_unreachable": "no", "formats": "json, html"},
                                          check_paths=False)
    assert opts["warn_offset"] == 0.5 and opts["fail_on_unreachable"] is False
    assert opts["formats"] == ["json", "html"]
    assert audit_options.validate_options(check_paths=False)["formats"] == list(audit_options.FORMATS)


def test_output_dir_checks(tmp_path):
    target = tmp_path / "a" / "b"
    assert audit_options.validate_options({"output_dir": str(target)})["output_dir"] == str(target)
    assert not (tmp_path / "a").exists()  # nothing created
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(audit_options.OptionError, match="is not a directory"):
        audit_options.validate_options({"output_dir": str(blocker / "sub")})
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    if os.access(str(locked), os.W_OK):  # root ignores permissions: use a path under /proc instead
        locked = "/proc/1/fleetclock-reports"
    with pytest.raises(audit_options.OptionError, match="writable"):
        audit_options.validate_options({"output_dir": str(locked) + "/sub"})
    with pytest.raises(audit_options.OptionError, match="the directory of prometheus_path"):
        audit_options.validate_options({"prometheus_path": str(blocker / "x.prom")})


def test_fmt_seconds():
    assert fmt_seconds(None) == "-"
    assert fmt_seconds(1.5, True) == "+1.500 s"
    assert fmt_seconds(-0.0123, True) == "-12.3 ms"
    assert fmt_seconds(0.000045) == "45 us"
