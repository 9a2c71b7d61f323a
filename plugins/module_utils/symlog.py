# -*- coding: utf-8 -*-
# Copyright (c) 2025 fleetclock maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The HTML report's offset axis: symmetric logarithmic (linear within +/- LINEAR_WITHIN, one decade per step
outside), so +120 s, -3 s, -0.7 s and +0.4 s each get their own place on one chart.

Pure functions; no Ansible imports; Python 3.8+.
"""

from __future__ import annotations

import math

# Seconds around zero where the axis is linear: below a millisecond the audit's error bounds (rtt/2) dominate.
LINEAR_WITHIN = 1e-3


def symlog(value, linear_within=LINEAR_WITHIN):
    """Axis units of ``value`` seconds: sign(v) * log10(1 + |v| / linear_within); 0 at 0, odd and increasing."""
    return math.copysign(math.log10(1.0 + abs(value) / linear_within), value)


def scale(span, left, width, linear_within=LINEAR_WITHIN):
    """The pixel position of a value on an axis from -span to +span drawn from ``left`` over ``width`` pixels
    (values beyond the span are clamped to its ends)."""
    top = symlog(span, linear_within)

    def x(value):
        value = max(-span, min(span, value))
        return left + (symlog(value, linear_within) + top) / (2 * top) * width
    return x


def vertical(span, bottom, height, signed=True, linear_within=LINEAR_WITHIN):
    """The pixel row of a value on a vertical axis, positive up, drawn over ``height`` pixels above ``bottom``: from
    -span to +span (``signed``) or from 0 to +span (values beyond are clamped)."""
    if signed:
        return scale(span, bottom, -height, linear_within)
    top = symlog(span, linear_within)

    def y(value):
        value = max(0.0, min(span, value))
        return bottom - symlog(value, linear_within) / top * height
    return y


def decades(span, linear_within=LINEAR_WITHIN):
    """0 and +/- each power of ten from linear_within up to span, ascending."""
    powers = []
    power = linear_within
    while power <= span * (1 + 1e-9):
        powers.append(power)
        power *= 10
    return [-p for p in reversed(powers)] + [0.0] + powers


def ticks(span, x, min_gap):
    """The (value, pixel) ticks of the axis ``x`` (from scale() or vertical()) at least ``min_gap`` pixels apart: 0
    and the decades, a decade too close to a kept one (near zero) left out, symmetrically."""
    kept = [(0.0, x(0.0))]
    for value in decades(span)[len(decades(span)) // 2 + 1:]:
        if abs(x(value) - kept[-1][1]) >= min_gap:
            kept.append((value, x(value)))
    return [(-v, x(-v)) for v, _px in reversed(kept[1:])] + kept


def tick_label(value):
    """``0``, ``+1 ms``, ``-10 s``, ``+100 us``: a signed power of ten in the unit that keeps it short."""
    if value == 0:
        return "0"
    size = abs(value)
    sign = "+" if value > 0 else "-"
    for unit, factor in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if size >= factor * (1 - 1e-9):
            return "%s%g %s" % (sign, round(size / factor, 6), unit)
    return "%s%g s" % (sign, size)


def span_for(extents, floor):
    """The axis' half-range: the largest of ``extents`` (|offset| + bound of each host) and ``floor`` (the crit
    threshold, so the bands show), with room for half a decade beyond it."""
    return max(list(extents) + [floor, LINEAR_WITHIN]) * 3.0
