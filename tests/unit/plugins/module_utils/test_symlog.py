"""Unit tests for module_utils/symlog.py (the HTML chart's axis) and the chart's error bars (report_text.whisker)."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.fleetclock.timesync.plugins.module_utils import symlog
from ansible_collections.fleetclock.timesync.plugins.module_utils.report_text import whisker

seconds = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)


@given(seconds, seconds)
def test_symlog_is_odd_and_increasing(a, b):
    assert symlog.symlog(-a) == -symlog.symlog(a)
    if a < b:
        assert symlog.symlog(a) <= symlog.symlog(b)


def test_linear_near_zero_one_step_per_decade_beyond():
    assert symlog.symlog(0.0) == 0.0
    assert math.isclose(symlog.symlog(1e-6), 1e-3 / math.log(10), rel_tol=1e-2)  # ~ v / (c ln 10) near 0
    assert math.isclose(symlog.symlog(100.0) - symlog.symlog(10.0), 1.0, rel_tol=1e-3)


def test_the_issues_offsets_get_distinct_places():
    span = symlog.span_for([120.02, 3.02, 0.72, 0.42], 5.0)
    x = symlog.scale(span, 0, 640)
    places = sorted(x(v) for v in (120.0, -3.0, -0.7, 0.4, 0.0))
    assert all(b - a > 30 for a, b in zip(places, places[1:])), places
    assert x(-span * 10) == 0 and x(span * 10) == 640  # clamped to the ends


# (value, label)
LABELS = [(0.0, "0"), (1e-3, "+1 ms"), (-0.01, "-10 ms"), (0.1, "+100 ms"), (1.0, "+1 s"), (-100.0, "-100 s"),
          (1e-4, "+100 us")]


def test_tick_labels():
    for value, label in LABELS:
        assert symlog.tick_label(value) == label, value


@given(st.floats(min_value=1e-3, max_value=1e5), st.integers(min_value=1, max_value=80))
def test_ticks_symmetric_ordered_and_apart(span, gap):
    x = symlog.scale(span, 100, 640)
    ticks = symlog.ticks(span, x, gap)
    values = [v for v, _px in ticks]
    assert values == sorted(values) and values == [-v for v in reversed(values)] and 0.0 in values
    assert all(b[1] - a[1] >= gap - 1e-6 for a, b in zip(ticks, ticks[1:]) if a[0] >= 0)


@given(st.floats(min_value=-500, max_value=500), st.floats(min_value=0, max_value=10))
def test_whisker_covers_the_bound_and_is_visible(offset, bound):
    span = symlog.span_for([abs(offset) + bound], 5.0)
    x = symlog.scale(span, 0, 640)
    lo, hi = whisker(x, offset, bound)
    assert lo <= x(offset - bound) and hi >= x(offset + bound)
    assert hi - x(offset) >= 3 and x(offset) - lo >= 3
