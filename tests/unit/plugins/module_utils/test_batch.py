"""Tests for plugins/module_utils/batch.py (real threads, short real deadlines)."""
import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.fleetclock.timesync.plugins.module_utils.batch import (
    BATCH_KEY,
    VisitState,
    batch_holds,
    batch_result,
    contract_result,
    current_visit,
    host_result,
    is_batch_result,
    run_visits,
    timeout_result,
    visiting,
)
from ansible_collections.fleetclock.timesync.plugins.module_utils.clock import Sample, estimate
from ansible_collections.fleetclock.timesync.plugins.module_utils.probe_result import failed
from ansible_collections.fleetclock.timesync.plugins.module_utils.probe_result import normalize as normalize_result

OK = {"status": "ok", "error": None, "clock": {"offset": 0.1, "bound": 0.01}, "chrony": {"state": "local"},
      "daemons": None}


def ok_visit(host):
    state = current_visit()
    state.started()
    state.samples.append(Sample(10.0, 10.02, 10.5, 1e-9))
    return dict(OK, changed=False, host_seen=host)


def test_every_host_once_in_order_with_contract_keys_only():
    results = run_visits(["b", "a", "c", "a"], ok_visit, workers=2, timeout=5)
    assert list(results) == ["b", "a", "c"]
    assert all(r == OK for r in results.values())


def test_workers_bound_concurrency():
    lock = threading.Lock()
    running, peak = [0], [0]

    def visit(host):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.05)
        with lock:
            running[0] -= 1
        return OK

    results = run_visits(["h%d" % i for i in range(12)], visit, workers=3, timeout=5)
    assert len(results) == 12 and peak[0] == 3


def test_hung_visit_is_abandoned_with_its_samples_and_others_finish():
    release = threading.Event()
    sample = Sample(1.0, 1.2, 101.1, 1e-9)

    def visit(host):
        state = current_visit()
        state.started()
        if host == "hang":
            state.chrony = {"state": "synchronised"}
            state.samples.append(sample)
            release.wait(30)
        return OK

    started = time.monotonic()
    results = run_visits(["hang", "x", "y"], visit, workers=1, timeout=0.3, grace=0.2)
    elapsed = time.monotonic() - started
    release.set()
    assert elapsed < 3
    assert results["x"] == OK and results["y"] == OK  # the hung visit's slot went to the next host
    hung = results["hang"]
    assert hung["status"] == "timeout" and "0.3" in hung["error"]
    assert hung["clock"] == estimate([sample])
    assert hung["chrony"] == {"state": "synchronised"}


def test_abandoned_visit_finishing_late_does_not_overwrite():
    release = threading.Event()
    done = threading.Event()

    def visit(host):
        release.wait(10)
        done.set()
        return OK

    results = run_visits(["slow"], visit, workers=1, timeout=0.1, grace=0.1)
    release.set()
    assert done.wait(5)
    assert results["slow"]["status"] == "timeout" and results["slow"]["clock"] is None
    assert results["slow"]["chrony"]["state"] == "unknown"


def test_started_restarts_the_deadline_and_releases_the_hold():
    now = [100.0]
    state = VisitState(20, clock=lambda: now[0])
    released = []
    state.hold(lambda: released.append(1))
    assert state.deadline == 120.0
    now[0] = 105.0
    state.started()
    assert state.deadline == 125.0 and released == [1]
    state.release_setup()  # only once
    assert released == [1]
    now[0] = 125.0
    assert state.expired() and state.remaining() == 0


def test_exception_in_a_visit_is_that_hosts_error():
    def visit(host):
        if host == "bad":
            raise RuntimeError("boom")
        return OK

    results = run_visits(["bad", "good"], visit, workers=2, timeout=5)
    assert results["good"] == OK
    assert results["bad"]["status"] == "error" and "RuntimeError: boom" in results["bad"]["error"]
    assert results["bad"]["clock"] is None


def test_current_visit_is_per_thread():
    assert current_visit() is None
    state = VisitState(1)
    seen = []
    with visiting(state):
        assert current_visit() is state
        thread = threading.Thread(target=lambda: seen.append(current_visit()))
        thread.start()
        thread.join()
    assert seen == [None] and current_visit() is None


def test_workers_must_be_positive():
    with pytest.raises(ValueError):
        run_visits(["a"], ok_visit, workers=0, timeout=1)


@pytest.mark.parametrize("raw, status, error", [
    ({"unreachable": True, "msg": "ssh: no route"}, "unreachable", "ssh: no route"),
    ({"unreachable": True}, "unreachable", "host unreachable"),
    ({"failed": True, "msg": "'ansible_host' is undefined"}, "error", "'ansible_host' is undefined"),
    ({"failed": True}, "error", "the visit failed without a message"),
    ({"skipped": True, "skip_reason": "Conditional result was False"}, "error", "skipped: Conditional result was False"),
    (None, "error", "no result"),
])
def test_contract_result_of_ansible_failures(raw, status, error):
    result = contract_result(raw)
    assert set(result) == {"status", "error", "clock", "chrony", "daemons"}
    assert result["status"] == status and error in result["error"] and result["clock"] is None
    assert result["chrony"]["state"] == "unknown"
    assert normalize_result(result) == result  # clock_report reads it as a per-host result


def test_timeout_and_error_results_are_contract_results():
    for result in (timeout_result(None, 20), failed("error", "x"), timeout_result(VisitState(1), 1)):
        assert normalize_result(result) == result


def test_host_result_unpacks_a_batch_and_passes_others_through():
    packed = batch_result({"a": OK})
    assert packed[BATCH_KEY] == 1
    assert host_result(packed, "a") == OK
    assert host_result(packed, "b") is None
    assert host_result(OK, "a") is OK
    assert host_result(None, "a") is None
    assert host_result({"skipped": True}, "a") == {"skipped": True}
    assert is_batch_result(packed) and not is_batch_result(OK) and not is_batch_result(None)
    assert not is_batch_result({BATCH_KEY: 1, "hosts": None})
    assert batch_holds(packed, "a") and not batch_holds(packed, "b") and not batch_holds(None, "a")


@settings(max_examples=30, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=5), max_size=20), st.integers(min_value=1, max_value=6))
def test_run_visits_covers_every_host(hosts, workers):
    results = run_visits(hosts, lambda h: OK, workers=workers, timeout=5)
    assert list(results) == list(dict.fromkeys(hosts))
    assert all(r == OK for r in results.values())


def test_sample_slots_are_one_shared_semaphore():
    lock = threading.Lock()
    inside, peak, slots = [0], [0], set()

    def visit(host):
        state = current_visit()
        slots.add(id(state.sample_slot))
        with state.sample_slot:
            with lock:
                inside[0] += 1
                peak[0] = max(peak[0], inside[0])
            time.sleep(0.03)
            with lock:
                inside[0] -= 1
        return OK

    run_visits(["h%d" % i for i in range(8)], visit, workers=8, timeout=5, sample_slots=2)
    assert peak[0] == 2 and len(slots) == 1
    run_visits(["a"], lambda h: slots.add(current_visit().sample_slot) or OK, workers=1, timeout=5)
    assert None in slots  # without sample_slots the probe uses its own file locks
