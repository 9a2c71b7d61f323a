# -*- coding: utf-8 -*-
# Copyright (c) 2025 fleetclock maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Text that came from a host is untrusted: cap it, decode it, make it safe to show.

Every parser of host output (clock.py, chronyc.py) and every report renderer (report.py) passes
what a host said through ``sanitise`` (one string) or ``clean`` (a whole result), so that:

* undecodable bytes become U+FFFD (``bytes`` are decoded as UTF-8 with errors replaced; the
  lone surrogates Ansible makes of such bytes, ``surrogate_then_replace``, are replaced too):
  every report can be written as UTF-8;
* no C0 control (but the newline), DEL, C1 control, bidi embedding/override/isolate/mark
  (U+202A-U+202E, U+2066-U+2069, U+200E, U+200F, U+061C) or line/paragraph separator
  (U+2028, U+2029) survives: each is replaced by a visible escape (``\\x1b``, ``\\u202e``), so
  host output cannot move the terminal's cursor, recolour it, reorder a table row or start a
  new line inside one.  ``\\r\\n`` becomes ``\\n`` (ssh with a tty).

The escapes are plain ASCII, so sanitising twice changes nothing.

``MAX_OUTPUT`` caps how much of one command's output the probe parses: more is a per-host
reason (``too_large``), never a slow parse.  Pure functions, no Ansible imports, Python 3.8+.
"""

from __future__ import annotations

import math
import re

# Bytes of one command's output the probe parses (chronyc tracking is ~200 bytes, a source ~100).
MAX_OUTPUT = 256 * 1024
# What a quoted piece of host output in a message may be at most (characters).
MAX_QUOTE = 200

_UNSAFE = "\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff"
_UNSAFE_RE = re.compile("[%s]" % _UNSAFE)
_UNSAFE_LINE_RE = re.compile("[\n%s]" % _UNSAFE)


_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match):
    char = match.group(0)
    code = ord(char)
    if 0xD800 <= code <= 0xDFFF:
        return "\ufffd"
    if char in _NAMED:
        return _NAMED[char]
    return "\\x%02x" % code if code < 0x100 else "\\u%04x" % code


def sanitise(text, newlines=True):
    """``text`` (str, bytes or anything else) as safe text; ``newlines=False`` escapes the newline too."""
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("utf-8", "replace")
    elif not isinstance(text, str):
        text = str(text)
    if "\r\n" in text:
        text = text.replace("\r\n", "\n")
    return (_UNSAFE_RE if newlines else _UNSAFE_LINE_RE).sub(_escape, text)


def is_safe(text, newlines=True):
    """Whether ``text`` holds nothing ``sanitise`` would replace."""
    return (_UNSAFE_RE if newlines else _UNSAFE_LINE_RE).search(text) is None


def clean(value):
    """A copy of ``value`` (dicts, lists, tuples, strings, numbers...) with every string (keys too) sanitised."""
    if isinstance(value, str):
        return value if is_safe(value) and "\r\n" not in value else sanitise(value)
    if isinstance(value, dict):
        return {clean(key): clean(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(clean(item) for item in value)
    if isinstance(value, (bytes, bytearray)):
        return sanitise(value)
    return value


def size(text):
    """How many bytes ``text`` stands for (UTF-8; a lone surrogate counts 3, never raises)."""
    if isinstance(text, (bytes, bytearray)):
        return len(text)
    if not isinstance(text, str):
        return 0
    if len(text) > MAX_OUTPUT * 4:  # enough to compare with any cap: no need to encode megabytes
        return len(text)
    return len(text.encode("utf-8", "surrogatepass"))


def over_cap(text, limit=MAX_OUTPUT):
    """Whether ``text`` is more than ``limit`` bytes."""
    if isinstance(text, (str, bytes, bytearray)) and len(text) > limit:
        return True
    return size(text) > limit


def too_large(what, text, limit=MAX_OUTPUT):
    """The reason given for output over the cap: what, how much, and what to do."""
    return ("%s: the host sent %s bytes or more, over the %d KiB the probe reads (nothing of it is used): "
            "a shell start-up file that prints, a huge chronyc output, or a hostile host; run the command "
            "on the host to see it" % (what, size(text), limit // 1024))


def quote(text, limit=MAX_QUOTE):
    """Host output for a message: sanitised, on one line (newlines escaped), in quotes, cut after ``limit``."""
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text[:limit * 4]).decode("utf-8", "replace")
    elif not isinstance(text, str):
        text = str(text)
    return "'%s%s'" % (sanitise(text[:limit], newlines=False), "..." if len(text) > limit else "")


# A decimal number as the time tools print one (chronyc, timedatectl, ntpq, ntpctl).
NUMBER = r"[-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?"
_NUMBER_RE = re.compile(NUMBER)


def host_text(text, what, error, cap_what=None):
    """A tool's output as a host sent it, checked (str or bytes, at most MAX_OUTPUT bytes: ``cap_what`` names it in
    that reason, default ``what``) and sanitised; raises ``error`` (the parser's exception class)."""
    if not isinstance(text, (str, bytes, bytearray)):
        raise error("%s output must be text, got %s" % (what, type(text).__name__))
    if over_cap(text):
        raise error(too_large(cap_what or what, text))
    return sanitise(text)


def host_number(text, what, error, limit=MAX_QUOTE):
    """A finite number a host printed (NUMBER, no nan/inf); raises ``error`` naming ``what`` and quoting the text."""
    if not _NUMBER_RE.fullmatch(text or ""):
        raise error("%s is not a number: %s" % (what, quote(text, limit)))
    number = float(text)
    if not math.isfinite(number):
        raise error("%s is not a finite number: %s" % (what, quote(text, limit)))
    return number
