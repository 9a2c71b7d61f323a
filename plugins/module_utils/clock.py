# -*- coding: utf-8 -*-
# Copyright (c) 2025 fleetclock maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Remote clock reading with an honest error bound (Cristian's algorithm).

A sample is one remote reading taken between two controller timestamps:
``t0`` (before the command is sent) and ``t1`` (after its output came back).
``t0`` is the controller's wall clock read once, at send; ``t1`` is ``t0`` plus the
round trip measured with the monotonic clock (``bracket``), so a step of the
controller's clock during a sample neither breaks ``t0 <= t1`` nor shrinks the bound.
The remote clock was read at some controller time in ``[t0, t1]``, so

    offset = remote - (t0 + t1) / 2      |error| <= (t1 - t0) / 2 + reading error

A reading printed with resolution ``r`` (``date +%s.%N`` truncates) means the
true time lies in ``[R, R + r)``: the reading used is ``R + r / 2`` and the
reading error is ``r / 2``.  For a whole-second ``date`` (busybox prints
``S.N`` or ``S.%N``) that is ``S + 0.5`` and ``0.5``.  Before 1970 GNU date prints
the seconds floored and a positive ``%N`` (``-2.500000000`` is -1.5 s): read as
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


Sample = collections.namedtuple("Sample", ["t0", "t1", "remote", "resolution"])
Sample.__doc__ = """One reading: controller times t0 <= t1 around remote reading `remote` (resolution in s)."""


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


def _check(sample):
    values = (sample.t0, sample.t1, sample.remote, sample.resolution)
    if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in values):
        raise ValueError("sample values must be finite numbers: %r" % (sample,))
    if sample.t1 < sample.t0:
        raise ValueError("sample t1 %.9f is before t0 %.9f" % (sample.t1, sample.t0))
    if sample.resolution < 0:
        raise ValueError("sample resolution must be >= 0: %r" % (sample.resolution,))


def _reading_error(sample):
    return sample.resolution / 2.0 + FLOAT_SLACK


def sample_bound(sample):
    """Honest bound on |true offset - estimated offset| for one sample."""
    _check(sample)
    return (sample.t1 - sample.t0) / 2.0 + _reading_error(sample)


def best_sample(samples):
    """The sample with the smallest bound (the smallest round trip for equal resolutions)."""
    if not samples:
        raise ValueError("no clock samples")
    return min(samples, key=lambda s: (sample_bound(s), s.t1 - s.t0))


def estimate(samples):
    """Return the contract's ``clock`` dict for the best of ``samples``."""
    best = best_sample(samples)
    controller_time = (best.t0 + best.t1) / 2.0
    remote_time = best.remote + best.resolution / 2.0
    return {
        "offset": remote_time - controller_time,
        "bound": sample_bound(best),
        "rtt": best.t1 - best.t0,
        "samples": len(samples),
        "resolution": best.resolution,
        "remote_time": remote_time,
        "controller_time": controller_time,
    }


def need_more_samples(samples, target_bound, max_samples, min_samples=1):
    """Whether another sample is worth taking.

    Yes while fewer than ``min_samples`` were taken; no once ``max_samples``
    were taken, the best bound is within ``target_bound``, the best
    sample's reading error alone already exceeds the target (a whole-second
    ``date`` can never get under 0.5 s, so more round trips do not help), or
    the latest sample was no better than the ones before it (the round trip
    is as short as this connection and controller load allow: another sample
    would only add load).
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
    if count >= 2 and sample_bound(samples[-1]) >= sample_bound(best_sample(samples[:-1])):
        return False
    return _reading_error(best) < target_bound
