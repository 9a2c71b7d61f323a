"""Tests for plugins/module_utils/clock.py."""
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.fleetclock.timesync.plugins.module_utils.clock import (
    FLOAT_SLACK,
    MAX_RATE_ERROR,
    ClockParseError,
    Sample,
    cristian_bound,
    estimate,
    need_more_samples,
    parse_remote_time,
    remote_stepped,
    sample_bound,
    sample_estimate,
    split_after_last_marker,
    split_before_marker,
)


@pytest.mark.parametrize("text, expected, resolution", [
    ("1700000000.123456789\n", 1700000000.123456789, 1e-9),
    ("  1700000000.000000001  ", 1700000000.000000001, 1e-9),
    ("1700000000.5", 1700000000.5, 0.1),
    ("1700000000.N\n", 1700000000.0, 1.0),       # date without %N support
    ("1700000000.%N\n", 1700000000.0, 1.0),      # busybox without %N
    ("1700000000.\n", 1700000000.0, 1.0),
    ("1700000000\n", 1700000000.0, 1.0),
    ("Welcome to host\r\n1700000000.250000000\r\n", 1700000000.25, 1e-9),  # banner before it
])
def test_parse_remote_time(text, expected, resolution):
    value, res = parse_remote_time(text)
    assert value == pytest.approx(expected, abs=1e-6)
    assert res == pytest.approx(resolution)


@pytest.mark.parametrize("text", [
    "", "\n", "%s.%N", "sh: date: not found", "1700000000.12x", "--1700000000.1", "- 1.5", "+1.5",
    "1700000000.1234567890", "nan", "1e9", "1_700_000_000.1", "1700000000.1 extra",
    "9" * 16 + ".1",
])
def test_parse_remote_time_rejects(text):
    with pytest.raises(ClockParseError) as err:
        parse_remote_time(text)
    assert "1700000000.123456789" in str(err.value)


def test_parse_error_quotes_truncated_input():
    with pytest.raises(ClockParseError) as err:
        parse_remote_time("x" * 500)
    assert "xxxx" in str(err.value) and len(str(err.value)) < 200


def test_parse_rejects_non_text():
    with pytest.raises(ClockParseError):
        parse_remote_time(None)


@given(st.text())
@settings(max_examples=500)
def test_parse_arbitrary_text_only_raises_clockparseerror(text):
    try:
        value, res = parse_remote_time(text)
    except ClockParseError:
        return
    assert math.isfinite(value)
    assert res == 1.0 or 0.99e-9 <= res <= 0.1


def test_estimate_picks_smallest_round_trip():
    samples = [
        Sample(100.0, 100.4, 110.2, 1e-9),    # rtt 0.4
        Sample(101.0, 101.02, 111.01, 1e-9),  # rtt 0.02 -> best
        Sample(102.0, 102.1, 112.05, 1e-9),
    ]
    clock = estimate(samples)
    assert clock["samples"] == 3
    assert clock["rtt"] == pytest.approx(0.02)
    assert clock["offset"] == pytest.approx(10.0, abs=1e-6)
    assert clock["bound"] == pytest.approx(0.01 + 0.5e-9 + FLOAT_SLACK)
    assert clock["controller_time"] == pytest.approx(101.01)
    assert clock["remote_time"] == pytest.approx(111.01, abs=1e-6)
    assert clock["resolution"] == 1e-9


def test_estimate_whole_second_reading_is_centred():
    # remote clock truly reads 1000.9 at controller time 1000.0 (offset +0.9)
    # a whole-second date prints 1000: reading 1000.5, bound 0.5 + rtt/2
    clock = estimate([Sample(999.99, 1000.01, 1000.0, 1.0)])
    assert clock["offset"] == pytest.approx(0.5)
    assert clock["bound"] == pytest.approx(0.01 + 0.5 + FLOAT_SLACK)
    assert abs(0.9 - clock["offset"]) <= clock["bound"]


def test_estimate_rejects_bad_samples():
    with pytest.raises(ValueError):
        estimate([])
    with pytest.raises(ValueError):
        estimate([Sample(2.0, 1.0, 5.0, 1e-9)])
    with pytest.raises(ValueError):
        estimate([Sample(1.0, 2.0, float("nan"), 1e-9)])


@given(
    t0=st.floats(1.5e9, 2.0e9),
    rtt=st.floats(0, 5),
    read_at=st.floats(0, 1),
    true_offset=st.floats(-1000, 1000),
    whole_seconds=st.booleans(),
)
@settings(max_examples=500)
def test_bound_always_holds(t0, rtt, read_at, true_offset, whole_seconds):
    """Whenever the remote clock was read inside [t0, t1], the true offset is within the bound."""
    t1 = t0 + rtt
    true_remote = t0 + read_at * rtt + true_offset
    if whole_seconds:
        remote, res = float(math.floor(true_remote)), 1.0
    else:
        remote, res = math.floor(true_remote * 1e9) / 1e9, 1e-9
    clock = estimate([Sample(t0, t1, remote, res)])
    assert abs(clock["offset"] - true_offset) <= clock["bound"]


def test_need_more_samples():
    fast = Sample(0.0, 0.01, 0.0, 1e-9)
    slow = Sample(0.0, 0.4, 0.0, 1e-9)
    whole = Sample(0.0, 0.01, 0.0, 1.0)
    assert need_more_samples([], 0.05, 5)
    assert not need_more_samples([fast], 0.05, 5)
    assert need_more_samples([fast], 0.05, 5, min_samples=2)
    assert need_more_samples([slow], 0.05, 5)
    assert not need_more_samples([slow] * 5, 0.05, 5)
    assert not need_more_samples([slow], 0.05, 1)
    # a whole-second date can never reach 0.05 s: no point asking again
    assert not need_more_samples([whole], 0.05, 5)
    assert need_more_samples([whole], 0.05, 5, min_samples=2)
    assert not need_more_samples([], 0.05, 0)


def test_need_more_samples_stops_when_the_last_sample_did_not_halve_the_bound():
    slow = Sample(0.0, 0.4, 0.0, 1e-9)
    slower = Sample(0.0, 0.6, 0.0, 1e-9)
    better = Sample(0.0, 0.19, 0.0, 1e-9)
    a_bit_better = Sample(0.0, 0.3, 0.0, 1e-9)
    # samples taken alike (no one-off costs): the round trip is as short as the connection allows
    # unless the last one at least halved the best bound before it; noise alone rarely does
    assert not need_more_samples([slow, slower], 0.05, 5, one_off_costs=False)
    assert not need_more_samples([slow, slow], 0.05, 5, one_off_costs=False)
    assert not need_more_samples([slow, a_bit_better], 0.05, 5, one_off_costs=False)
    assert need_more_samples([slow, better], 0.05, 5, one_off_costs=False)
    assert need_more_samples([slower, slow, better], 0.05, 5, one_off_costs=False)
    # the rule compares the latest with the best before it, not with the one just before
    assert not need_more_samples([better, slower, slow], 0.05, 5, one_off_costs=False)
    # min_samples still wins over it
    assert need_more_samples([slow, slower], 0.05, 5, min_samples=3, one_off_costs=False)
    assert not need_more_samples([slow, slower, slower], 0.05, 5, min_samples=3, one_off_costs=False)


def test_need_more_samples_after_one_off_costs_takes_one_more_at_most():
    cold = Sample(0.0, 0.9, 0.0, 1e-9)  # paid the ssh handshake / become
    warm = Sample(0.0, 0.1, 0.0, 1e-9)
    warmer = Sample(0.0, 0.04, 0.0, 1e-9)
    assert need_more_samples([cold], 0.01, 5)
    # the first is not comparable with the warm ones; the second is what a third would be again
    assert not need_more_samples([cold, warm], 0.01, 5)
    # a third only when asked for; then the halving rule among the warm ones
    assert need_more_samples([cold, warm], 0.01, 5, min_samples=3)
    assert need_more_samples([cold, warm, warmer], 0.01, 5, min_samples=3)
    assert not need_more_samples([cold, warm, warm], 0.01, 5, min_samples=3)


@given(st.lists(st.floats(min_value=0.0, max_value=2.0), min_size=0, max_size=8),
       st.integers(min_value=0, max_value=8), st.integers(min_value=0, max_value=8))
@settings(max_examples=200)
def test_need_more_samples_properties(rtts, min_samples, max_samples):
    samples = [Sample(0.0, rtt, 0.0, 1e-9) for rtt in rtts]
    more = need_more_samples(samples, 0.05, max_samples, min_samples)
    if len(samples) >= max_samples:
        assert not more
    elif len(samples) < min_samples:
        assert more
    elif samples and min(rtts) / 2 + 1e-9 / 2 + FLOAT_SLACK <= 0.05:
        assert not more
    elif len(samples) >= 2:
        # one-off costs (the default): the first sample is not compared; one further sample at most
        # unless min_samples asked for more, then only while the last halved the best before it
        warm = rtts[1:]
        assert more == (len(warm) >= 2 and warm[-1] / 2 + 1e-9 / 2 <= 0.5 * (min(warm[:-1]) / 2 + 1e-9 / 2))


@pytest.mark.parametrize("text, head, tail", [
    ("1700000000.5\n@@m@@ tracking\nx\n", "1700000000.5\n", "@@m@@ tracking\nx\n"),
    ("banner\n1700000000.5\n  @@m@@ a\n@@m@@ b\n", "banner\n1700000000.5\n", "  @@m@@ a\n@@m@@ b\n"),
    ("1700000000.5\n", "1700000000.5\n", ""),
    ("", "", ""),
    ("1700000000.5 @@m@@\n", "1700000000.5 @@m@@\n", ""),  # only a line that starts with it splits
    ("@@m@@ first\r\n", "", "@@m@@ first\r\n"),
])
def test_split_before_marker(text, head, tail):
    assert split_before_marker(text, "@@m@@") == (head, tail)


@given(st.text(max_size=200))
def test_split_before_marker_keeps_every_character(text):
    head, tail = split_before_marker(text, "@@m@@")
    assert head + tail == text
    assert tail == "" or tail.lstrip().startswith("@@m@@")
    assert split_before_marker(None, "@@m@@") == (None, "")


def test_sample_bound():
    assert sample_bound(Sample(1.0, 1.2, 5.0, 1.0)) == pytest.approx(0.1 + 0.5 + FLOAT_SLACK)


# ---------------------------------------------------------------- NTP's four timestamps in one exec

def test_four_timestamps_leave_out_the_work_between_the_readings():
    # true offset +10; sent at 100.0, first read at 100.02, chronyc for 70 ms, last read at 100.09, back at 100.1
    sample = Sample(100.0, 100.1, 110.02, 1e-9, 110.09)
    offset, bound, method = sample_estimate(sample)
    assert method == "four_timestamps"
    assert offset == pytest.approx(((110.02 - 100.0) + (110.09 - 100.1)) / 2 + 0.5e-9)
    assert bound == pytest.approx((0.1 - (0.07 - 1e-9) / (1 + MAX_RATE_ERROR)) / 2 + 0.5e-9 + FLOAT_SLACK)
    assert abs(offset - 10.0) <= bound < cristian_bound(sample) == pytest.approx(0.05 + 0.5e-9 + FLOAT_SLACK)
    clock = estimate([sample], execs=1)
    assert (clock["offset"], clock["bound"], clock["method"], clock["execs"], clock["samples"]) == (offset, bound, method, 1, 1)
    assert clock["rtt"] == pytest.approx(0.1)
    assert clock["remote_time"] - clock["controller_time"] == pytest.approx(offset)


@pytest.mark.parametrize("sample, method, stepped", [
    (Sample(100.0, 100.1, 110.05, 1e-9), "cristian", False),             # one reading
    (Sample(100.0, 100.1, 110.05, 1e-9, 110.05), "four_timestamps", False),  # equal readings: Cristian's width
    (Sample(100.0, 100.1, 110.05, 1e-9, 110.04), "stepped", True),       # r2 < r1: stepped back
    (Sample(100.0, 100.1, 110.0, 1e-9, 110.108), "four_timestamps", False),  # 108 ms in 100 ms: 8 % fast
    (Sample(100.0, 100.1, 110.0, 1e-9, 110.109), "stepped", True),       # 109 ms remote in a 100 ms round trip
    (Sample(100.0, 100.1, 110.0, 1.0, 110.0), "four_timestamps", False),  # whole seconds: no gain, no loss
    (Sample(100.0, 100.1, 110.0, 1.0, 111.0), "four_timestamps", False),  # a second boundary between them
    (Sample(100.0, 100.1, 110.0, 1.0, 112.0), "stepped", True),           # at least 1 s in 0.1 s
])
def test_sample_methods_and_steps(sample, method, stepped):
    offset, bound, got = sample_estimate(sample)
    assert (got, remote_stepped(sample)) == (method, stepped)
    assert bound <= cristian_bound(sample)
    if method in ("cristian", "stepped"):
        assert offset == pytest.approx(sample.remote + sample.resolution / 2 - (sample.t0 + sample.t1) / 2)
        assert bound == cristian_bound(sample)
    if sample.resolution == 1.0 and not stepped:
        assert bound == pytest.approx(cristian_bound(sample))  # a whole-second date gains nothing from two readings


def test_two_readings_count_the_resolution_twice():
    # readings 0.3 s apart at 0.1 s resolution: the interval is only known to be more than 0.2 s
    sample = Sample(0.0, 1.0, 5.0, 0.1, 5.3)
    assert sample_bound(sample) == pytest.approx((1.0 - 0.2 / (1 + MAX_RATE_ERROR)) / 2 + 0.05 + FLOAT_SLACK)


def test_estimate_rejects_bad_second_readings():
    with pytest.raises(ValueError):
        estimate([Sample(1.0, 2.0, 5.0, 1e-9, float("inf"))])
    with pytest.raises(ValueError):
        sample_estimate(Sample(1.0, 2.0, 5.0, 1e-9, 5.1), rate_error=-0.1)


def test_best_sample_prefers_the_four_timestamp_bound():
    first = Sample(100.0, 100.1, 110.02, 1e-9, 110.09)  # 100 ms round trip, bound ~18 ms
    bare = Sample(101.0, 101.04, 111.02, 1e-9)          # 40 ms round trip, bound 20 ms
    clock = estimate([first, bare], execs=2)
    assert clock["method"] == "four_timestamps" and clock["rtt"] == pytest.approx(0.1)


def test_need_more_samples_after_one_four_timestamp_sample():
    wide = Sample(0.0, 0.2, 0.05, 1e-9, 0.1)     # bound ~0.077 s, above the 0.05 s target
    tight = Sample(0.0, 0.2, 0.01, 1e-9, 0.19)   # bound ~0.012 s
    # a connection that starts a new process per command: a bare date pays the same again
    assert not need_more_samples([wide], 0.05, 5, one_off_costs=False)
    # ssh (its first command opened the connection) or become: another sample may well be tighter
    assert need_more_samples([wide], 0.05, 5, one_off_costs=True)
    assert not need_more_samples([tight], 0.05, 5, one_off_costs=True)
    # min_samples still wins; a one-reading first sample is sampled again as before
    assert need_more_samples([wide], 0.05, 5, min_samples=2, one_off_costs=False)
    assert need_more_samples([Sample(0.0, 0.2, 0.1, 1e-9)], 0.05, 5, one_off_costs=False)
    # a stepped sample has Cristian's bound: sampling again may help
    assert need_more_samples([Sample(0.0, 0.2, 0.1, 1e-9, 0.05)], 0.05, 5, one_off_costs=False)


@pytest.mark.parametrize("text, head, tail", [
    ("a\n@@e@@\n1700000000.5\n", "a\n", "1700000000.5\n"),
    ("@@e@@ x\n@@e@@\n1\n", "@@e@@ x\n", "1\n"),   # the last one counts
    ("a\n1700000000.5\n", "a\n1700000000.5\n", None),
    ("a\n@@e@@", "a\n", ""),
])
def test_split_after_last_marker(text, head, tail):
    assert split_after_last_marker(text, "@@e@@") == (head, tail)
    assert split_after_last_marker(None, "@@e@@") == (None, None)


def _read(value, resolution):
    return math.floor(value / resolution) * resolution if resolution < 1 else float(math.floor(value))


def _exchange(t0, offset, send, work, back, rate, resolution, step=0.0):
    """One simulated exec: (Sample, offset at the first reading, offset at the last reading).

    The host's clock runs at (1 + rate) of the controller's from the first reading on and steps by
    ``step`` between the readings; the command is sent at t0, reads first after ``send`` s,
    works ``work`` s, reads last, and its output arrives ``back`` s later.
    """
    first = t0 + send
    last = first + work
    x1 = first + offset
    x2 = x1 + work * (1 + rate) + step
    t1 = t0 + (send + work + back)
    return Sample(t0, t1, _read(x1, resolution), resolution, _read(x2, resolution)), x1 - first, x2 - last


EXCHANGE = dict(
    t0=st.floats(1.5e9, 2.0e9),
    offset=st.floats(-1000, 1000),
    send=st.floats(0, 2),
    work=st.floats(0, 2),
    back=st.floats(0, 2),
    rate=st.floats(-MAX_RATE_ERROR, MAX_RATE_ERROR),
    resolution=st.sampled_from([1e-9, 1e-6, 1e-3, 1.0]),
)


@given(**EXCHANGE)
@settings(max_examples=500)
def test_four_timestamp_bound_holds_and_is_never_wider_than_cristian(t0, offset, send, work, back, rate, resolution):
    """Arbitrary offsets, asymmetric delays, remote work and rate errors within the limit: the host's mean
    offset over its two readings lies inside the bound, and the bound is never wider than Cristian's."""
    sample, first, last = _exchange(t0, offset, send, work, back, rate, resolution)
    estimate_, bound, method = sample_estimate(sample)
    assert method in ("four_timestamps", "cristian")
    assert abs(estimate_ - (first + last) / 2) <= bound
    assert bound <= cristian_bound(sample)
    if method == "four_timestamps" and resolution < 1e-3:
        # and it keeps only the transport (up to the rate allowance and float rounding of the epoch times)
        assert bound <= (send + back) / 2 + work * MAX_RATE_ERROR + resolution + 2 * FLOAT_SLACK


@given(step=st.floats(-5, 5), **EXCHANGE)
@settings(max_examples=500)
def test_a_step_between_the_readings_is_caught_or_bounded(t0, offset, send, work, back, rate, resolution, step):
    """A step of the host's clock between its readings: the sample falls back to Cristian's bound on the first
    reading when it shows (r2 < r1, or more remote time than round trip), and otherwise the reported interval
    still meets an offset the host had between its readings."""
    sample, first, last = _exchange(t0, offset, send, work, back, rate, resolution, step)
    estimate_, bound, method = sample_estimate(sample)
    if method == "stepped":
        assert abs(estimate_ - first) <= bound == cristian_bound(sample)
    else:
        assert estimate_ - bound <= max(first, last) and estimate_ + bound >= min(first, last)
