# -*- coding: utf-8 -*-
# Copyright (c) 2025 fleetclock maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Remote clock reading with an honest error bound (Cristian's algorithm, NTP's four timestamps).

A sample is one exec bracketed by two controller timestamps: ``t0`` (before the command is sent) and
``t1`` (after its output came back).  ``t0`` is the controller's wall clock read once, at send; ``t1``
is ``t0`` plus the round trip measured with the monotonic clock (``bracket``), so a step of the
controller's clock during a sample neither breaks ``t0 <= t1`` nor shrinks the bound.

One remote reading ``r`` (Cristian): it was taken at some controller time in ``[t0, t1]``, so

    offset = r - (t0 + t1) / 2      |error| <= (t1 - t0) / 2 + reading error

Two remote readings ``r1 <= r2`` in the same exec, first and last (``date; chronyc ...; date``:
NTP's four timestamps): the first was taken at a controller time in ``[t0, t1 - D]``, where ``D`` is
the controller time between the two readings, so the work between them (chronyc) does not widen
the bound:

    offset = ((r1 - t0) + (r2 - t1)) / 2
    |error| <= ((t1 - t0) - D) / 2 + reading error,    D >= (r2 - r1 - resolution) / (1 + eps)

``eps`` bounds the remote clock's rate error over ``r2 - r1``: MAX_RATE_ERROR, the fastest a
slewing chronyd may run fast or slow on Linux.  The offset is the remote clock's mean offset over
the two readings.  The reported bound is the smallest of this one and Cristian's on either reading
(it never is wider).  What happens before the first reading or after the last (transport, connection
set-up, become) still widens it.  If ``r2 < r1``, or the remote interval exceeds the controller's round
trip by more than the rate error allows, the remote clock was stepped between the readings: the sample
falls back to Cristian's bound on the first reading and says so (method ``stepped``).  A smaller step
is not seen, but the reported interval still meets an offset the host had between its readings.

A reading printed with resolution ``r`` (``date +%s.%N`` truncates) means the
true time lies in ``[R, R + r)``: the reading used is ``R + r / 2`` and the
reading error is ``r / 2``; two readings also lose up to ``r`` of the interval
between them (so a whole-second ``date`` gets nothing from a second reading).  For a
whole-second ``date`` (busybox prints ``S.N`` or ``S.%N``) that is ``S + 0.5`` and ``0.5``.
Before 1970 GNU date prints the seconds floored and a positive ``%N`` (``-2.500000000`` is -1.5 s): read as
``S + N``.

Host output is untrusted (hostout.py): parsed only up to ``MAX_OUTPUT``, and
every message quotes it sanitised.

Pure functions only: no Ansible imports, Python 3.8+.
"""

from __future__ import annotations

import collections
import math
import re
import time

from ansible_collections.fleetclock.timesync.plugins.module_utils.hostout import (
    over_cap,
    quote,
    sanitise,
    too_large,
)

# Epoch seconds are floats (53-bit mantissa): around 1.7e9 one step is
# 2.4e-7 s.  Every sample adds and subtracts a few such values, so the bound
# carries this slack on top of the nanosecond resolution of %N.
FLOAT_SLACK = 1e-6

# A reading has at most this many digits of seconds (year ~31 million), so no offset computed
# from readings and controller times is larger than MAX_OFFSET seconds.
EPOCH_DIGITS = 15
MAX_OFFSET = 2 * 10.0 ** EPOCH_DIGITS

_NANO_RE = re.compile(r"(-?\d{1,%d})\.(\d{1,9})" % EPOCH_DIGITS)
# %N unsupported: GNU-less dates print the literal letter or the whole token.
_WHOLE_RE = re.compile(r"(-?\d{1,%d})(?:\.(?:%%?N)?)?" % EPOCH_DIGITS)


class ClockParseError(ValueError):
    """The remote ``date +%s.%N`` output is not an epoch time."""


# chronyd slews the clock at most maxslewrate fast or slow: 83333.333 ppm, its default and hard limit.
# Rounded up.  An assumption about the host, not a measurement: a clock slewed by another program through
# adjtimex's tick (up to 10 %) could exceed it; so could a stepped clock, which remote_stepped catches when
# it shows.
MAX_RATE_ERROR = 0.0834

Sample = collections.namedtuple("Sample", ["t0", "t1", "remote", "resolution", "remote_end"], defaults=(None,))
Sample.__doc__ = """One exec: controller times t0 <= t1 around remote reading ``remote`` (resolution in s) and, when the
command read the remote clock again last, that reading ``remote_end`` (else None)."""

# How an estimate was made (the clock result's ``method``).
CRISTIAN = "cristian"
FOUR_TIMESTAMPS = "four_timestamps"
# A further sample is worth its command only while the last one at least halved the best bound
# before it: samples taken alike differ by noise, which rarely halves a bound twice.
IMPROVEMENT = 0.5
STEPPED = "stepped"


def bracket(run, wall=None, monotonic=None):
    """Run ``run()``; return ``(its result, t0, t1)`` for a Sample.

    ``t0`` is the wall clock read once, just before ``run()``; ``t1 = t0 + elapsed`` with the
    elapsed time from the monotonic clock.  The clocks default to ``time.time`` and
    ``time.monotonic`` (looked up at each call).
    """
    wall = wall or time.time
    monotonic = monotonic or time.monotonic
    t0 = wall()
    m0 = monotonic()
    result = run()
    elapsed = monotonic() - m0
    return result, t0, t0 + max(elapsed, 0.0)


def parse_remote_time(text):
    """Parse ``date +%s.%N`` output into ``(epoch_seconds, resolution)``.

    ``1700000000.123456789`` -> ``(1700000000.123456789, 1e-9)``;
    ``1700000000.N``, ``1700000000.%N`` or ``1700000000`` -> ``(1700000000.0, 1.0)``;
    ``-2.500000000`` (GNU date before 1970) -> ``(-1.5, 1e-9)``.
    Only the last non-empty line counts (shell start-up files may print
    banners before it).  ``text`` may be str or bytes; more than MAX_OUTPUT bytes,
    or anything else, raises ClockParseError with a sanitised quote.
    """
    if not isinstance(text, (str, bytes, bytearray)):
        raise ClockParseError("remote time must be text, got %s" % type(text).__name__)
    if over_cap(text):
        raise ClockParseError(too_large("output of 'date +%s.%N'", text))
    text = sanitise(text)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        raise ClockParseError("empty output from 'date +%s.%N' (expected e.g. 1700000000.123456789)")
    last = lines[-1]
    match = _NANO_RE.fullmatch(last)
    if match:
        digits = match.group(2)
        return int(match.group(1)) + int(digits) / 10.0 ** len(digits), 10.0 ** -len(digits)
    match = _WHOLE_RE.fullmatch(last)
    if match:
        return float(int(match.group(1))), 1.0
    raise ClockParseError(
        "output of 'date +%%s.%%N' is not an epoch time like 1700000000.123456789: %s" % quote(text, 60)
    )


def split_before_marker(text, marker):
    """Split command output at the first line that starts with ``marker``.

    ``"1700000000.5\n@@m@@ tracking\n..."`` -> ``("1700000000.5\n", "@@m@@ tracking\n...")``.
    Without such a line everything is the head and the tail is empty.
    """
    if not isinstance(text, str):
        return text, ""
    pos = 0
    for line in text.splitlines(True):
        if line.lstrip().startswith(marker):
            return text[:pos], text[pos:]
        pos += len(line)
    return text, ""


def split_after_last_marker(text, marker):
    """Split command output around the last line that starts with ``marker`` (that line is dropped).

    ``"a\n@@e@@\n1700000000.5\n"`` -> ``("a\n", "1700000000.5\n")``.  Without such a line
    everything is the head and the tail is None.
    """
    if not isinstance(text, str):
        return text, None
    pos, found = 0, None
    for line in text.splitlines(True):
        if line.lstrip().startswith(marker):
            found = (pos, pos + len(line))
        pos += len(line)
    if found is None:
        return text, None
    return text[:found[0]], text[found[1]:]


def _check(sample):
    values = (sample.t0, sample.t1, sample.remote, sample.resolution)
    if sample.remote_end is not None:
        values += (sample.remote_end,)
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in values):
        raise ValueError("sample values must be finite numbers: %r" % (sample,))
    if sample.t1 < sample.t0:
        raise ValueError("sample t1 %.9f is before t0 %.9f" % (sample.t1, sample.t0))
    if sample.resolution < 0:
        raise ValueError("sample resolution must be >= 0: %r" % (sample.resolution,))


def _reading_error(sample):
    return sample.resolution / 2.0 + FLOAT_SLACK


def _centred(reading, sample):
    return reading + sample.resolution / 2.0


def min_remote_interval(sample):
    """The least the remote clock can have advanced between its two readings (0 when they round together)."""
    return max(sample.remote_end - sample.remote - sample.resolution, 0.0)


def remote_stepped(sample, rate_error=MAX_RATE_ERROR):
    """Whether a two-reading sample shows a step of the remote clock.

    r2 < r1, or more remote time between the readings than the round trip allows even at the
    largest rate error (a clock running 8 % fast legitimately counts 8 % more than the controller).
    """
    if sample.remote_end is None:
        return False
    return (sample.remote_end < sample.remote
            or min_remote_interval(sample) > (sample.t1 - sample.t0) * (1.0 + rate_error) + FLOAT_SLACK)


def _cristian(sample, reading):
    """(offset, bound) of one reading of ``sample``."""
    return _centred(reading, sample) - (sample.t0 + sample.t1) / 2.0, (sample.t1 - sample.t0) / 2.0 + _reading_error(sample)


def _four_timestamps(sample, rate_error):
    """(offset, bound) from both readings of ``sample`` (NTP's on-wire formula)."""
    offset = ((_centred(sample.remote, sample) - sample.t0) + (_centred(sample.remote_end, sample) - sample.t1)) / 2.0
    between = min_remote_interval(sample) / (1.0 + rate_error)
    return offset, max((sample.t1 - sample.t0) - between, 0.0) / 2.0 + _reading_error(sample)


def sample_estimate(sample, rate_error=MAX_RATE_ERROR):
    """``(offset, bound, method)`` of one sample.

    One reading: Cristian's (method ``cristian``).  Two readings: the smallest bound of the
    four-timestamp estimate and Cristian's on either reading (method ``four_timestamps``, or
    ``cristian`` if one reading alone is tighter); a stepped remote clock: Cristian's on the first
    reading (method ``stepped``).
    """
    _check(sample)
    if not math.isfinite(rate_error) or rate_error < 0:
        raise ValueError("rate_error must be >= 0: %r" % (rate_error,))
    if sample.remote_end is None:
        return _cristian(sample, sample.remote) + (CRISTIAN,)
    if remote_stepped(sample, rate_error):
        return _cristian(sample, sample.remote) + (STEPPED,)
    candidates = [_four_timestamps(sample, rate_error) + (FOUR_TIMESTAMPS,),
                  _cristian(sample, sample.remote) + (CRISTIAN,),
                  _cristian(sample, sample.remote_end) + (CRISTIAN,)]
    return min(candidates, key=lambda c: c[1])  # the first of equal bounds: four timestamps


def sample_bound(sample):
    """Honest bound on |true offset - estimated offset| for one sample."""
    return sample_estimate(sample)[1]


def cristian_bound(sample):
    """Cristian's bound for the same exchange on one reading: (t1 - t0) / 2 + reading error."""
    _check(sample)
    return _cristian(sample, sample.remote)[1]


def best_sample(samples):
    """The sample with the smallest bound (the smallest round trip for equal bounds)."""
    if not samples:
        raise ValueError("no clock samples")
    return min(samples, key=lambda s: (sample_bound(s), s.t1 - s.t0))


def estimate(samples, execs=None):
    """Return the contract's ``clock`` dict for the best of ``samples``.

    ``execs``: the commands the visit ran on the host (default: one per sample).
    """
    best = best_sample(samples)
    offset, bound, method = sample_estimate(best)
    controller_time = (best.t0 + best.t1) / 2.0
    return {
        "offset": offset,
        "bound": bound,
        "rtt": best.t1 - best.t0,
        "samples": len(samples),
        "execs": len(samples) if execs is None else execs,
        "method": method,
        "resolution": best.resolution,
        "remote_time": controller_time + offset,
        "controller_time": controller_time,
    }


def need_more_samples(samples, target_bound, max_samples, min_samples=1, one_off_costs=True):
    """Whether another sample is worth taking.

    Yes while fewer than ``min_samples`` were taken; no once ``max_samples``
    were taken, the best bound is within ``target_bound``, the best
    sample's reading error alone already exceeds the target (a whole-second
    ``date`` can never get under 0.5 s, so more round trips do not help), or
    the latest sample did not at least halve the best bound of the comparable
    samples before it (the round trip is as short as this connection and
    controller load allow: samples taken alike differ by noise, and chasing
    noise only adds load and commands).

    ``one_off_costs``: the first command may have paid something the next will not (opening a
    persistent connection such as ssh's ControlMaster, become). Then the first sample is not
    comparable with the later ones: one further sample is taken when the first misses the target,
    and no third (samples two and on are taken alike: a third is expected no better than the
    second). Without one-off costs, after one four-timestamp sample also no: its bound leaves out all the
    work between its readings, and what it keeps (the transport before the first and after the last
    reading) is what a further bare ``date`` pays again.
    """
    count = len(samples)
    if count < min_samples:
        return count < max_samples
    if count >= max_samples:
        return False
    if not samples:
        return True
    best = best_sample(samples)
    if sample_bound(best) <= target_bound:
        return False
    if count == 1 and not one_off_costs and sample_estimate(samples[0])[2] == FOUR_TIMESTAMPS:
        return False
    comparable = samples[1:] if one_off_costs else samples
    if len(comparable) >= 2 and sample_bound(comparable[-1]) > IMPROVEMENT * sample_bound(best_sample(comparable[:-1])):
        return False
    if one_off_costs and len(comparable) == 1:
        return False
    return _reading_error(best) < target_bound
