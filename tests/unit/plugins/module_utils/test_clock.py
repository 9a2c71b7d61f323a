"""Tests for plugins/module_utils/clock.py."""
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.fleetclock.timesync.plugins.module_utils.clock import (
    FLOAT_SLACK,
    ClockParseError,
    Sample,
    estimate,
    need_more_samples,
    parse_remote_time,
    sample_bound,
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


def test_need_more_samples_stops_when_the_last_sample_was_no_better():
    slow = Sample(0.0, 0.4, 0.0, 1e-9)
    slower = Sample(0.0, 0.6, 0.0, 1e-9)
    better = Sample(0.0, 0.2, 0.0, 1e-9)
    # the round trip is as short as the connection allows: another sample only adds load
    assert not need_more_samples([slow, slower], 0.05, 5)
    assert not need_more_samples([slow, slow], 0.05, 5)
    # still improving: keep going
    assert need_more_samples([slow, better], 0.05, 5)
    assert need_more_samples([slower, slow, better], 0.05, 5)
    # the rule compares the latest with the best before it, not with the one just before
    assert not need_more_samples([better, slower, slow], 0.05, 5)
    # min_samples still wins over it
    assert need_more_samples([slow, slower], 0.05, 5, min_samples=3)
    assert not need_more_samples([slow, slower, slower], 0.05, 5, min_samples=3)


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
    elif len(samples) >= 2 and rtts[-1] >= min(rtts[:-1]):
        assert not more


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
