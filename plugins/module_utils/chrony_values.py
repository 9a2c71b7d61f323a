# -*- coding: utf-8 -*-
# Copyright (c) 2025 fleetclock maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One value for chrony.conf: what a word, a path, a line, a host and a number are, and how to say what is wrong.

Pure functions only (stdlib, Python 3.8+), shared by the validators (``chrony_options.py``, ``chrony_settings.py``)
and the renderer (``chrony_render.py``), so both apply the same definitions.
"""

from __future__ import annotations

import ipaddress
import re

from ansible_collections.fleetclock.timesync.plugins.module_utils.values import as_float, as_int

_HOST_LABEL = r"(?!-)[A-Za-z0-9_-]{1,63}(?<!-)"
_HOSTNAME_RE = re.compile(r"%s(\.%s)*\.?" % (_HOST_LABEL, _HOST_LABEL))
# An IPv6 zone id (fe80::1%eth0) is an interface name (at most 15 characters on Linux) or an index.
_ZONE_RE = re.compile(r"[A-Za-z0-9_.-]{1,15}")
_REFID_RE = re.compile(r"[A-Za-z0-9]{1,4}")
_USER_RE = re.compile(r"[a-z_][a-z0-9_-]{0,31}")
# Printable ASCII without space, quotes, '#' or backslash: a value can never end a word or a line early.
_WORD_RE = re.compile(r"[\x21\x24-\x26\x28-\x5b\x5d-\x7e]+")
_PATH_RE = re.compile(r"/[\x21\x24-\x26\x28-\x5b\x5d-\x7e]*")
# A whole chrony.conf line (chrony_extra_lines): printable ASCII and spaces/tabs, nothing else.
_LINE_RE = re.compile(r"[\t\x20-\x7e]+")


def show(value):
    """Quote a value for an error message (repr shows newlines as \\n, controls as escapes)."""
    return ascii(value) if isinstance(value, str) else repr(value)


def where(var, index, item=None):
    """Name an item of a list variable: ``chrony_sources[2] ('ntp.example.com')``."""
    label = "%s[%d]" % (var, index)
    if isinstance(item, dict):
        name = item.get("hostname", item.get("parameter"))
        if isinstance(name, str):
            label += " (%s)" % show(name)
    return label


def is_word(value):
    """True for one chrony.conf word: printable ASCII, no space, quote, '#' or backslash."""
    return isinstance(value, str) and bool(_WORD_RE.fullmatch(value))


def is_path(value):
    """True for an absolute path that is one chrony.conf word."""
    return isinstance(value, str) and bool(_PATH_RE.fullmatch(value))


def is_user(value):
    """True for a system user name (lower-case letters, digits, '_', '-'; at most 32)."""
    return isinstance(value, str) and bool(_USER_RE.fullmatch(value))


def is_line(value):
    """True for one chrony.conf line of printable ASCII (spaces and tabs allowed, no line break)."""
    return isinstance(value, str) and bool(_LINE_RE.fullmatch(value)) and bool(value.strip())


def is_valid_host(value):
    """True for an IPv4/IPv6 address (IPv6 with an optional interface zone id) or a DNS hostname."""
    if not isinstance(value, str) or not value or not value.isascii():
        return False
    address, _sep, zone = value.partition("%")
    if _sep and not _ZONE_RE.fullmatch(zone):
        return False
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return not _sep and len(value) <= 253 and bool(_HOSTNAME_RE.fullmatch(value))
    return not _sep or parsed.version == 6


def range_text(low, high):
    """``between 1 and 15``, ``at least 0`` or ``at most 3``."""
    if high is None:
        return "at least %s" % low
    if low is None:
        return "at most %s" % high
    return "between %s and %s" % (low, high)


def check_value(label, kind, low, high, value):
    """Validate one value of an option table's kind; return an error ending or None.

    The ending completes a sentence that starts with what the value is, e.g. "option 'poll' ".
    """
    if kind == "flag":
        return None if isinstance(value, bool) else "must be true or false, got %s" % show(value)
    if kind == "refid":
        ok = isinstance(value, str) and _REFID_RE.fullmatch(value)
        return None if ok else "must be 1-4 letters or digits, got %s" % show(value)
    if kind == "user":
        ok = is_user(value)
        return None if ok else "must be a user name (lower-case letters, digits, _ or -), got %s" % show(value)
    number = as_int(value) if kind == "int" else as_float(value)
    if number is None:
        return "must be %s, got %s" % ("an integer" if kind == "int" else "a finite number", show(value))
    if (low is not None and number < low) or (high is not None and number > high):
        return "must be %s, got %s" % (range_text(low, high), show(value))
    return None


def validate_list(items, var, what, item_errors):
    """Errors of a list variable: None means not set; anything but a list is one error; else each item's errors.

    ``item_errors(index, item)`` returns the errors of one item.
    """
    if items is None:
        return []
    if not isinstance(items, list):
        return ["%s must be a list of %s, got %s" % (var, what, show(items))]
    errors = []
    for index, item in enumerate(items):
        errors.extend(item_errors(index, item))
    return errors
