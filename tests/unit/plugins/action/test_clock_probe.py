"""Tests for the per-host deadline of plugins/action/clock_probe.py (real SIGALRM, no mocks).

The action itself runs for real through ansible-playbook in tests/integration/test_probe_local.py
and tests/integration/test_probe_docker.py.
"""
import contextlib
import os
import signal
import threading
import time

import pytest

from ansible_collections.fleetclock.timesync.plugins.action.clock_probe import (
    ARGUMENT_SPEC,
    ProbeTimeout,
    deadline,
    sample_slot,
    sample_slots,
)


class Outer(BaseException):
    pass


def _raise_outer(signum, frame):
    raise Outer()


@pytest.fixture(autouse=True)
def clean_alarm():
    yield
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, signal.SIG_DFL)


def test_deadline_interrupts_a_hang_and_cleans_up():
    started = time.monotonic()
    with pytest.raises(ProbeTimeout):
        with deadline(0.2):
            time.sleep(5)
    assert 0.15 < time.monotonic() - started < 2
    assert signal.getitimer(signal.ITIMER_REAL)[0] == 0
    assert signal.getsignal(signal.SIGALRM) == signal.SIG_DFL


def test_deadline_not_reached():
    with deadline(5):
        time.sleep(0.01)
    assert signal.getitimer(signal.ITIMER_REAL)[0] == 0


def test_shorter_task_timeout_wins():
    signal.signal(signal.SIGALRM, _raise_outer)
    signal.setitimer(signal.ITIMER_REAL, 0.2)
    with pytest.raises(Outer):
        with deadline(5):
            time.sleep(5)


def test_longer_task_timeout_is_rearmed():
    signal.signal(signal.SIGALRM, _raise_outer)
    signal.setitimer(signal.ITIMER_REAL, 3.0)
    with deadline(0.5):
        time.sleep(0.1)
    remaining = signal.getitimer(signal.ITIMER_REAL)[0]
    assert signal.getsignal(signal.SIGALRM) is _raise_outer
    assert 2.5 < remaining <= 2.95


def test_argument_spec_defaults():
    assert {k: v["default"] for k, v in ARGUMENT_SPEC.items()} == {
        "min_samples": 1, "max_samples": 5, "target_bound": 0.05, "timeout": 20.0, "collect_chrony": True,
    }


def test_sample_slots_from_environment(monkeypatch):
    monkeypatch.setenv("FLEETCLOCK_SAMPLE_SLOTS", "3")
    assert sample_slots() == 3
    monkeypatch.setenv("FLEETCLOCK_SAMPLE_SLOTS", "0")
    assert sample_slots() == 1
    monkeypatch.setenv("FLEETCLOCK_SAMPLE_SLOTS", "many")
    assert sample_slots() == max(1, os.cpu_count() or 1)
    monkeypatch.delenv("FLEETCLOCK_SAMPLE_SLOTS")
    assert sample_slots() == max(1, os.cpu_count() or 1)


def test_sample_slot_bounds_overlap(tmp_path):
    """Two slots: two holders get in at once, a third waits until one leaves (real flock)."""
    entered = threading.Event()
    release_first = threading.Event()

    def third():
        with sample_slot(str(tmp_path), 2):
            entered.set()

    with sample_slot(str(tmp_path), 2):
        with contextlib.ExitStack() as first:
            first.enter_context(sample_slot(str(tmp_path), 2))
            worker = threading.Thread(target=third)
            worker.start()
            assert not entered.wait(0.3)  # both slots are held
            release_first.set()
        assert entered.wait(5)  # one slot freed: the third got in
        worker.join(5)
    assert sorted(os.listdir(str(tmp_path))) == ["fleetclock-sample-gate", "fleetclock-sample-slot-0", "fleetclock-sample-slot-1"]


def test_sample_slot_without_limit_or_directory(tmp_path):
    with sample_slot(str(tmp_path), 0):
        pass
    assert os.listdir(str(tmp_path)) == []
    with sample_slot(str(tmp_path / "missing"), 2):  # unusable directory: sample anyway
        pass
