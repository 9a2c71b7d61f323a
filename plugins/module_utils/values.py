# -*- coding: utf-8 -*-
# Copyright (c) 2025 fleetclock maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Numbers and booleans read from values a user typed (``-e name=value`` gives strings) or a host or file sent.

The one converter of each kind in the collection: the role's options (chrony_values), the audit's
(audit_options), remediate's, host records and slice reports all read values through these.
Each returns None for what it does not accept; the caller words the error.  Booleans are never
numbers, and NaN and the infinities are not numbers either.  Pure functions; Python 3.8+.
"""

from __future__ import annotations

import math
import re

_INT_RE = re.compile(r"[+-]?[0-9]+")
_FLOAT_RE = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")
# The words Ansible's own boolean() (and Jinja's | bool) takes, lower case; 1 and 0 count too.
BOOL_TRUE = ("true", "yes", "on", "1", "y", "t")
BOOL_FALSE = ("false", "no", "off", "0", "n", "f")


def is_number(value):
    """True for an int or float (finite or not), never for a bool."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def as_int(value, strings=True):
    """Return ``value`` as an int (ints and, with ``strings``, integer strings), or None.  Booleans are not ints."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if strings and isinstance(value, str) and _INT_RE.fullmatch(value.strip()):
        return int(value.strip())
    return None


def as_float(value, strings=True):
    """Return ``value`` as a finite float (ints, floats and, with ``strings``, numeric strings), or None (NaN and
    infinities too, and an int too large for a float)."""
    if isinstance(value, bool):
        return None
    number = None
    if isinstance(value, (int, float)):
        try:
            number = float(value)
        except OverflowError:
            return None
    elif strings and isinstance(value, str) and _FLOAT_RE.fullmatch(value.strip()):
        number = float(value.strip())
    return number if number is not None and math.isfinite(number) else None


def as_bool(value):
    """Return ``value`` as a bool (bools, 1 and 0, and the words of BOOL_TRUE / BOOL_FALSE in any case), or None."""
    if isinstance(value, bool):
        return value
    if is_number(value):
        return {1: True, 0: False}.get(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in BOOL_TRUE:
            return True
        if text in BOOL_FALSE:
            return False
    return None


# ansible-core's own int check turns a text such as 'inf' into an OverflowError (a task failure that names no
# option) and '1e999999' into minutes of CPU; its float check does the same with an int of 400 digits.
_NUMBER_TYPES = ("int", "float")


def number_option_errors(spec, options):
    """Messages for the int and float options of an argument ``spec`` that ``options`` give as something other than a
    finite number (an int is always one for an int option; a boolean never is, though ansible-core would take
    false as 0); to be checked before ansible-core converts them."""
    errors = []
    for name in sorted(spec):
        value = (options or {}).get(name)
        kind = spec[name].get("type")
        if kind not in _NUMBER_TYPES or value is None or isinstance(value, (dict, list)):
            continue  # ansible-core's own check words those
        if kind == "int" and as_int(value, strings=False) is not None:
            continue
        if as_float(value) is None:
            errors.append("%s must be a finite %s, got %r" % (name, "whole number" if kind == "int" else "number",
                                                              value))
    return errors
