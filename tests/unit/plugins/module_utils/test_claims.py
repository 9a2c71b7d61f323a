"""A daemon's claim against the measurement (records.contradicts, controller_trust, claim_checks): a daemon saying
it is synchronised within its error bound while the clock is measured far outside it, judged only when the
controller's own chrony or the fleet vouches for the controller; carried by every report format."""

from __future__ import annotations

import json
import math
import os
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.fleetclock.timesync.plugins.module_utils import chronyc, fleet, merge, report, timedaemons
from ansible_collections.fleetclock.timesync.plugins.module_utils.records import (
    CLAIM_MARGIN,
    FLEET_MIN_HOSTS,
    claim_checks,
    contradicts,
    controller_trust,
    host_record,
    judge,
    shifted,
)

NOW = 1_700_000_000.0
TH = {"warn_offset": 1.0, "crit_offset": 5.0}
FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "timedaemons")
MISSING = chronyc.chrony_result("missing", error="chronyc is not installed")
WORDS = "cannot steer this clock (no clock control: chronyd -x, no CAP_SYS_TIME"


def probe(offset, bound=0.01, state="synchronised", own=-1e-5, error_bound=3e-4):
    """A probe result: the clock measured at ``offset`` +/- ``bound``; chrony ``state`` saying its own offset is
    ``own`` within ``error_bound`` (chronyc.chrony_result's shape)."""
    tracking = {"ref_id": "C0A80001", "ref_name": "ntp1", "stratum": 3, "leap_status": "Normal"}
    return {"status": "ok", "error": None,
            "clock": {"offset": offset, "bound": bound, "rtt": 2 * bound, "samples": 1, "resolution": 1e-9},
            "chrony": {"state": state, "tracking": tracking, "sources": [], "offset": own,
                       "error_bound": error_bound, "error": None}}


SYNCED_CONTROLLER = probe(0.0, error_bound=2e-4)
UNSYNCED_CONTROLLER = probe(0.0, state="unsynchronised", own=None, error_bound=None)


def claims(rep, host):
    return [item for item in next(h for h in rep["hosts"] if h["host"] == host)["checks"] if item["kind"] == "claim"]


# (case, host probe, controller probe, other hosts' offsets, expected claim level or None, words in the message)
CASES = [
    ("agreeing host", probe(0.02), SYNCED_CONTROLLER, [], None, None),
    # chronyd -x in a container under libfaketime +120 s: chrony KNOWS its offset (it cannot step, -x), so its
    # claim (|offset| within 120.0003 s) holds; the threshold says the rest
    ("chrony -x knowing its +120 s", probe(120.1, 0.125, own=120.0, error_bound=120.0003), SYNCED_CONTROLLER, [],
     None, None),
    ("tiny claimed offset, measured 3600 s", probe(3600.0, own=2e-7, error_bound=1e-3), SYNCED_CONTROLLER, [],
     "warning", ["chrony says it is synchronised within +/- 1.0 ms", "(its offset +0 us)",
                 "measured +3600.000 s", WORDS, "the controller's chrony is synchronised"]),
    ("controller unsynchronised, fleet disagrees", probe(3600.0, own=2e-7, error_bound=1e-3), UNSYNCED_CONTROLLER,
     [3600.0, 3599.5, 0.0], "info",
     ["no claim is made which of them is wrong", "the controller's chrony state is unsynchronised",
      "the median offset of the 4 measured hosts is +3599.750 s", "does not vouch"]),
    ("controller unsynchronised, fleet agrees", probe(3600.0, own=2e-7, error_bound=1e-3), UNSYNCED_CONTROLLER,
     [0.01, -0.02, 0.0], "warning", [WORDS, "the fleet agrees with the controller's clock"]),
    ("controller unsynchronised, too few hosts", probe(3600.0, own=2e-7, error_bound=1e-3), UNSYNCED_CONTROLLER,
     [0.0], "info", ["too few (3)"]),
    ("unsynchronised daemon claims nothing", probe(3600.0, state="unsynchronised"), SYNCED_CONTROLLER, [], None, None),
    ("within the margin", probe(0.9, own=2e-7, error_bound=1e-3), SYNCED_CONTROLLER, [], None, None),
    ("just beyond the margin", probe(1.2, own=2e-7, error_bound=1e-3), SYNCED_CONTROLLER, [], "warning", [WORDS]),
]


@pytest.mark.parametrize("case, host, controller, others, level, words", CASES, ids=[c[0] for c in CASES])
def test_claim_cases(case, host, controller, others, level, words):
    results = {"h": host}
    results.update({"o%d" % i: probe(offset) for i, offset in enumerate(others)})
    rep = fleet.aggregate(results, controller=controller, now=NOW)
    found = claims(rep, "h")
    if level is None:
        assert not found, (case, found)
        return
    assert [item["level"] for item in found] == [level], case
    for word in words:
        assert word in found[0]["message"], (case, word, found[0]["message"])


def test_the_claim_is_a_warning_not_a_change_of_exit_status():
    """Thresholds above the offset: the contradiction alone makes the fleet WARNING, never CRITICAL."""
    rep = fleet.aggregate({"h": probe(3600.0, own=2e-7, error_bound=1e-3)}, controller=SYNCED_CONTROLLER,
                          options={"warn_offset": 10000, "crit_offset": 20000}, now=NOW)
    host = rep["hosts"][0]
    assert host["severity"] == "warning" and rep["evaluation"]["label"] == "WARNING"
    assert any(WORDS in reason for reason in rep["evaluation"]["reasons"])
    # over crit_offset it stays critical by the threshold, with the words beside it
    rep = fleet.aggregate({"h": probe(3600.0, own=2e-7, error_bound=1e-3)}, controller=SYNCED_CONTROLLER, now=NOW)
    assert rep["hosts"][0]["severity"] == "critical" and rep["evaluation"]["status"] == 2
    assert any("exceeds crit_offset" in r for r in rep["hosts"][0]["reasons"])
    assert any(WORDS in r for r in rep["hosts"][0]["reasons"])


def test_another_daemon_is_named():
    """systemd-timesyncd (real output, tests/unit/fixtures/timedaemons) claiming sync, measured an hour off."""
    result = probe(3600.0)
    result.update(chrony=MISSING, daemons=timedaemons.parse_daemons_probe(
        open(os.path.join(FIXTURES, "probe_timesyncd_synced.txt")).read()))
    rep = fleet.aggregate({"tsd": result}, controller=SYNCED_CONTROLLER, now=NOW)
    found = claims(rep, "tsd")
    assert found and found[0]["message"].startswith("systemd-timesyncd says it is synchronised within")


def test_a_record_without_a_daemon_section_uses_chronys_fields():
    """A slice report written before schema_minor 1: chrony's state and error bound are the claim."""
    rec = dict(host_record("h", probe(3600.0, own=2e-7, error_bound=1e-3)), daemon=None)
    trust = controller_trust({"synchronised": True, "chrony_error_bound": 1e-4}, [rec])
    assert claim_checks(shifted(rec), trust)[0]["level"] == "warning"
    assert claim_checks(shifted(rec), None) == []  # not judged without a trust


# The molecule audit fleet as the CI run of 2026-12-03 measured it (tests/output/molecule-audit-table.txt):
# host: (measured offset, bound, chrony state, chrony offset, chrony error bound); the controller's chrony not running.
AUDIT_FLEET = {
    "fc-audit-m300": (-299.959, 0.0586, "synchronised", -300.0, 300.0),
    "fc-audit-p120": (120.101, 0.1254, "synchronised", 120.0, 120.0),
    "fc-audit-m5": (-4.956, 0.1052, "synchronised", -5.0, 5.0),
    "fc-audit-nochrony": (2.080, 0.1048, "missing", None, None),
    "fc-audit-stopped": (-0.9251, 0.0884, "not_running", None, None),
    "fc-audit-p05": (0.6364, 0.154, "synchronised", 0.25, 0.4999),
    "fc-audit-server": (0.0997, 0.1134, "local", 0.0, 0.0),
    "fc-audit-zero": (0.0851, 0.0971, "synchronised", -9e-6, 38e-6),
}


def test_the_molecule_audit_fleet_has_no_contradiction():
    """Every chrony there knows its injected offset (chronyd -x cannot step it): no host becomes a contradiction,
    and the controller is vouched for by the fleet (median +92 ms) although its own chrony does not run."""
    results = {name: probe(offset, bound, state, own, error_bound)
               for name, (offset, bound, state, own, error_bound) in AUDIT_FLEET.items()}
    controller = probe(0.0, state="not_running", own=None, error_bound=None)
    rep = fleet.aggregate(results, controller=controller, now=NOW)
    assert all(not claims(rep, name) for name in AUDIT_FLEET)
    trust = controller_trust(rep["controller"], rep["hosts"])
    assert trust["trusted"] and "the fleet agrees" in trust["basis"]
    # the same fleet had fc-audit-m300's chrony been stepped by -x's null driver (claiming -3 us): contradicted
    results["fc-audit-m300"] = probe(-299.959, 0.0586, own=-3e-6, error_bound=4e-5)
    assert claims(fleet.aggregate(results, controller=controller, now=NOW), "fc-audit-m300")[0]["level"] == "warning"


def test_every_format_carries_the_claim():
    rep = fleet.aggregate({"liar": probe(3600.0, own=2e-7, error_bound=1e-3), "fine": probe(0.01)},
                          controller=SYNCED_CONTROLLER, now=NOW)
    data = json.loads(report.render_json(rep))
    assert any(WORDS in r for r in next(h for h in data["hosts"] if h["host"] == "liar")["reasons"])
    table = report.render_table(rep)
    assert "CONTRADICTED by the measured offset" in table and WORDS in table
    assert table.count("CONTRADICTED") == 1
    assert WORDS in report.render_html(rep) and "CONTRADICTED" in report.render_html(rep)
    suite = ET.fromstring(report.render_junit(rep))
    liar = next(c for c in suite.iter("testcase") if c.get("name") == "liar")
    assert WORDS in liar.find("failure").get("message")


def test_the_info_without_a_trusted_controller_is_carried_too():
    rep = fleet.aggregate({"liar": probe(3600.0, own=2e-7, error_bound=1e-3), "b": probe(0.0)},
                          controller=UNSYNCED_CONTROLLER, now=NOW)
    info = "no claim is made which of them is wrong"
    assert any(info in r for r in next(h for h in json.loads(report.render_json(rep))["hosts"]
                                       if h["host"] == "liar")["reasons"])
    assert info in report.render_html(rep) and info in report.render_junit(rep)
    assert "CONTRADICTED" not in report.render_table(rep)
    assert not any(info in r for r in rep["evaluation"]["reasons"])


def test_a_merged_report_judges_the_claim_again():
    rep = fleet.aggregate({"liar": probe(3600.0, own=2e-7, error_bound=1e-3)}, controller=SYNCED_CONTROLLER, now=NOW)
    merged = merge.merge_reports([json.loads(report.render_json(rep))], now=NOW)
    assert claims(merged, "liar")[0]["level"] == "warning"


FLOATS = st.floats(allow_nan=True, allow_infinity=True) | st.integers(min_value=-10 ** 400, max_value=10 ** 400) \
    | st.none() | st.booleans()
BOUNDS = st.floats(min_value=0, max_value=1e12, allow_nan=False, allow_infinity=False)


@given(FLOATS, FLOATS, FLOATS, FLOATS)
def test_contradicts_never_raises(offset, bound, error_bound, controller_bound):
    assert contradicts(offset, bound, error_bound, controller_bound) in (True, False)


@given(BOUNDS, BOUNDS, BOUNDS, st.floats(min_value=-1, max_value=1), st.booleans())
def test_no_contradiction_within_the_daemons_bound_plus_the_measurements(
        error_bound, bound, controller_bound, where, signed):
    offset = where * (error_bound + bound)
    assert not contradicts(offset, bound, error_bound, controller_bound)
    assert not contradicts(-offset if signed else offset, bound, error_bound)
    # and far beyond it, with finite numbers, always one
    far = 3 * (error_bound + bound + controller_bound) + 2 * CLAIM_MARGIN
    assert math.isinf(far) or contradicts(far, bound, error_bound, controller_bound)


@given(st.dictionaries(st.sampled_from(["synchronised", "chrony_error_bound", "chrony_state", "probed"]), FLOATS),
       st.lists(st.fixed_dictionaries({"measured": st.booleans(), "offset": FLOATS}), max_size=FLEET_MIN_HOSTS + 2),
       FLOATS, FLOATS, FLOATS, st.sampled_from(["synchronised", "unsynchronised", "local", "missing"]))
def test_judging_a_claim_never_raises(controller, records, offset, own, error_bound, state):
    trust = controller_trust(controller, records)
    assert trust["trusted"] in (True, False) and isinstance(trust["basis"], str)
    rec = host_record("h", probe(0.0, state=state, own=own, error_bound=error_bound))
    rec = shifted(dict(rec, offset=offset if isinstance(offset, (int, float)) else 0.0))
    judged = judge(rec, TH, trust)
    assert judged["severity"] in ("ok", "warning", "critical", "unknown")
