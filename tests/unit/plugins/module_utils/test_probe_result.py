"""Unit tests for module_utils/probe_result.py: the probe-result contract and its constructors."""

from __future__ import annotations

import pytest

from ansible_collections.fleetclock.timesync.plugins.module_utils import chronyc, probe_result
from ansible_collections.fleetclock.timesync.plugins.module_utils.probe_result import (
    KEYS,
    STATUSES,
    failed,
    from_visit,
    normalize,
    ok,
    reference,
    timed_out,
)

CONTRACT = {"status": "ok", "error": None,
            "clock": {"offset": 0.1, "bound": 0.002, "rtt": 0.004, "samples": 3, "resolution": 1e-9},
            "chrony": chronyc.chrony_result("unknown", error="not collected")}


def test_normalize_result_shapes():
    registered = dict(CONTRACT, changed=False, invocation={"module_args": {"secret": "x"}})
    # a result of an older probe (no "daemons") reads with daemons None: not read
    assert normalize(registered) == dict(CONTRACT, daemons=None)
    assert normalize(dict(registered, daemons={"active": []}))["daemons"] == {"active": []}
    assert normalize({"unreachable": True, "msg": "Failed to connect"})["status"] == "unreachable"
    failure = normalize({"failed": True, "msg": "boom"})
    assert failure["status"] == "error" and failure["error"] == "boom"
    assert normalize({"skipped": True, "changed": False}) is None
    assert normalize(None) is None


def test_the_states_and_reference_ids_are_chronycs():
    assert probe_result.STATES is chronyc.STATES
    assert set(probe_result.UNSYNCHRONISED_STATES + probe_result.UNKNOWN_STATES) < set(chronyc.STATES)
    assert reference({"ref_id": chronyc.REF_LOCAL.lower()}) == probe_result.LOCAL_REFERENCE
    assert reference({"ref_id": chronyc.REF_NONE, "ref_name": "x"}) is None
    assert reference({"ref_id": "C0A80001", "ref_name": ""}) == "C0A80001"
    assert reference({"ref_id": "C0A80001", "ref_name": "ntp1"}) == "ntp1"
    assert reference(None) is None


@pytest.mark.parametrize("built", [
    ok(), failed("error", "x"), failed("unreachable", "ssh"), timed_out(20), timed_out(5, {"offset": 0.0}),
    from_visit(None), from_visit({"failed": True}), from_visit({"skipped": True}), from_visit(dict(CONTRACT, changed=1)),
])
def test_every_constructor_builds_the_four_keys(built):
    assert tuple(built) == KEYS and built["status"] in STATUSES
    assert normalize(built) == built


def test_a_failure_says_chrony_was_not_probed_unless_it_was():
    assert failed("error", "boom")["chrony"] == chronyc.chrony_result("unknown", error="chrony not probed: boom")
    seen = chronyc.chrony_result("synchronised")
    assert timed_out(3, None, seen)["chrony"] is seen
    assert timed_out(3)["error"] == "no answer within 3s (option timeout)"
