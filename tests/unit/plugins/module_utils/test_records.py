"""Unit tests for module_utils/records.py: host records from probe results and from reports, and their checks."""

from __future__ import annotations

from ansible_collections.fleetclock.timesync.plugins.module_utils import fleet, report
from ansible_collections.fleetclock.timesync.plugins.module_utils.chronyc import chrony_result
from ansible_collections.fleetclock.timesync.plugins.module_utils.probe_result import ok
from ansible_collections.fleetclock.timesync.plugins.module_utils.records import (
    FIELDS,
    NO_RESULT,
    host_record,
    judge,
    shifted,
)

TH = {"warn_offset": 1.0, "crit_offset": 5.0}
TRACKING = {"ref_id": "C0A80001", "ref_name": "ntp1", "stratum": 3, "leap_status": "Normal", "system_time": -1e-5,
            "root_dispersion": 1e-4, "root_delay": 2e-4}


def measured(offset=0.25, bound=0.01):
    return ok({"offset": offset, "bound": bound, "rtt": 0.02, "samples": 3, "resolution": 1e-9},
              chrony_result("synchronised", TRACKING))


def test_a_record_read_back_from_a_report_is_the_record():
    rec = host_record("h", measured())
    assert tuple(rec) == FIELDS and rec["reference"] == "ntp1" and rec["measured"]
    assert shifted(rec) == rec
    assert shifted(host_record("gone", None)) == host_record("gone", None)
    assert host_record("gone", None)["status"] == NO_RESULT


def test_shifting_moves_the_offset_and_widens_the_bound_only():
    rec = host_record("h", measured(0.25, 0.01))
    moved = shifted(rec, offset=-0.5, bound=0.02)
    assert moved["offset"] == -0.25 and moved["bound"] == 0.01 + 0.02
    assert {k: v for k, v in moved.items() if k not in ("offset", "bound")} == \
        {k: v for k, v in rec.items() if k not in ("offset", "bound")}


def test_judging_a_shifted_record_judges_the_new_offset():
    rec = host_record("h", measured(0.25, 0.01))
    assert judge(rec, TH)["severity"] == "ok"
    moved = judge(shifted(rec, offset=6.0), TH)
    assert moved["severity"] == "critical" and "exceeds crit_offset 5 s" in moved["reasons"][0]


def test_a_reference_that_is_not_text_is_dropped_and_every_format_renders():
    """A forged result or slice with a non-string reference name: no format fails on it."""
    result = measured()
    result["chrony"]["tracking"] = dict(TRACKING, ref_name=5)
    assert host_record("h", result)["reference"] is None
    rep = fleet.aggregate({"h": result}, now=1_700_000_000.0)
    for render in report.RENDERERS.values():
        assert render(rep)
    assert shifted(dict(rep["hosts"][0], reference=7))["reference"] is None
