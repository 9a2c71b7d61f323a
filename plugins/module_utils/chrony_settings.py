# -*- coding: utf-8 -*-
# Copyright (c) 2025 fleetclock maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The chrony role's settings other than time sources: access lists, extra lines, paths, numbers, chronyd's options.

Pure functions only (stdlib, Python 3.8+); messages name the variable and what to change.
"""

from __future__ import annotations

import ipaddress
import re

from ansible_collections.fleetclock.timesync.plugins.module_utils.chrony_options import (
    LOG_OPTIONS,
    SOURCES_MODES,
    STRATUM_MAX,
    STRATUM_MIN,
    validate_entries,
)
from ansible_collections.fleetclock.timesync.plugins.module_utils.chrony_values import (
    as_float,
    as_int,
    check_value,
    is_line,
    is_path,
    is_word,
    show,
    validate_list,
)

# chronyd's command-line options the role may write into the daemon's options file (chrony_daemon_options):
# name -> (kind, low, high).  Anything else is refused; REFUSED_DAEMON_OPTIONS says why for the known ones.
DAEMON_OPTIONS = {
    "-4": ("flag", None, None),
    "-6": ("flag", None, None),
    "-F": ("int", -1, 2),
    "-L": ("int", -1, 3),
    "-P": ("int", 0, 100),
    "-m": ("flag", None, None),
    "-r": ("flag", None, None),
    "-R": ("flag", None, None),
    "-s": ("flag", None, None),
    "-U": ("flag", None, None),
    "-u": ("user", None, None),
    "-x": ("flag", None, None),
}
REFUSED_DAEMON_OPTIONS = {
    "-f": "makes chronyd read another file than the chrony.conf the role validated and wrote",
    "-n": "keeps chronyd in the foreground, which the service unit does not expect",
    "-d": "keeps chronyd in the foreground, which the service unit does not expect",
    "-q": "makes chronyd set the clock once and exit",
    "-Q": "makes chronyd measure once and exit",
    "-p": "makes chronyd print its configuration and exit",
    "-t": "makes chronyd exit after a timeout",
    "-v": "makes chronyd print its version and exit",
    "-l": "moves chronyd's log to a file the role does not manage; use chrony_logdir",
}


def access_error(entry):
    """Why an ``allow``/``deny`` entry is not ``all``, an address or a CIDR network (None: it is)."""
    if entry == "all":
        return None
    if not is_word(entry) or "%" in entry:
        return "is not an address or CIDR network"
    try:
        ipaddress.ip_network(entry, strict=True)
    except ValueError as exc:
        return "is not a well-formed address or CIDR network (%s)" % exc
    return None


def validate_access(entries, var):
    """Validate ``allow``/``deny`` entries: ``all``, an IP address or a CIDR network."""
    def entry_errors(index, entry):
        err = access_error(entry)
        return ["%s[%d]: %s %s; use e.g. 192.0.2.0/24, 2001:db8::/32 or all" % (var, index, show(entry), err)] if err else []
    return validate_list(entries, var, "addresses or CIDR networks", entry_errors)


def _extra_line_error(line):
    """Why one chrony_extra_lines item is not one line of printable ASCII (None: it is)."""
    if not isinstance(line, str):
        return "must be a string, got %s" % show(line)
    if any(c in line for c in "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"):
        return "%s contains a line break; split it into separate list items" % show(line)
    if not line.strip():
        return "is empty; remove it"
    if not is_line(line):
        return "%s contains a control or non-ASCII character; chrony.conf takes printable ASCII" % show(line)
    return None


def validate_extra_lines(lines, var="chrony_extra_lines"):
    """Each extra line must be one non-empty line of printable ASCII: no line break or control character."""
    def line_errors(index, line):
        err = _extra_line_error(line)
        return ["%s[%d]: %s" % (var, index, err)] if err else []
    return validate_list(lines, var, "strings (one chrony.conf line each)", line_errors)


def validate_word(value, var, absolute=False):
    """A single word (or an absolute path) for chrony.conf; None or "" means not set."""
    if value is None or value == "":
        return []
    if not (is_path(value) if absolute else is_word(value)):
        what = "an absolute path" if absolute else "a single word"
        return ["%s must be %s of printable ASCII without spaces, newlines, quotes or '#', got %s"
                % (var, what, show(value))]
    return []


_DAEMON_WORD_RE = re.compile(r"[A-Za-z0-9_.:=+/-]+")


def daemon_option_words(value):
    """Split chrony_daemon_options into (words, errors); None means the distribution's default (no words)."""
    if value is None:
        return [], []
    if not isinstance(value, str):
        return [], ["chrony_daemon_options must be a string of chronyd options such as '-F 1', got %s" % show(value)]
    # split on spaces only: a tab, newline or any other character stays inside a word and fails the pattern
    words = [w for w in value.split(" ") if w != ""]
    if any(not _DAEMON_WORD_RE.fullmatch(w) for w in words):
        return [], ["chrony_daemon_options may hold only chronyd options separated by spaces (letters, digits, "
                    "- _ . : = + /): no quotes, $, tabs, newlines or other characters, got %s" % show(value)]
    return words, []


def validate_daemon_options(value, var="chrony_daemon_options"):
    """chronyd options for the service's options file: only those in DAEMON_OPTIONS, each at most once."""
    words, errors = daemon_option_words(value)
    if errors:
        return errors
    seen = set()
    index = 0
    while index < len(words):
        word = words[index]
        index += 1
        if word in REFUSED_DAEMON_OPTIONS:
            errors.append("%s: %s is not allowed: it %s" % (var, word, REFUSED_DAEMON_OPTIONS[word]))
            continue
        if word not in DAEMON_OPTIONS:
            errors.append("%s: unknown chronyd option %s; allowed: %s" % (var, show(word), " ".join(sorted(DAEMON_OPTIONS))))
            continue
        if word in seen:
            errors.append("%s: %s is given twice; keep one" % (var, word))
        seen.add(word)
        kind, low, high = DAEMON_OPTIONS[word]
        if kind == "flag":
            continue
        if index >= len(words):
            errors.append("%s: %s needs a value" % (var, word))
            break
        err = check_value(var, kind, low, high, words[index])
        index += 1
        if err:
            errors.append("%s: option %s %s" % (var, word, err))
    return errors


def _check_number_setting(errors, var, value, integer=False, minimum=None, above=None, text=None):
    """Append an error when ``value`` (not None) is not a number in range."""
    if value is None:
        return
    number = as_int(value) if integer else as_float(value)
    bad = number is None or (minimum is not None and number < minimum) or (above is not None and number <= above)
    if bad:
        errors.append("%s must be %s, got %s" % (var, text, show(value)))


def _validate_makestep(errors, makestep):
    if not makestep:
        return
    if not isinstance(makestep, dict) or set(makestep) - {"threshold", "limit"}:
        errors.append("chrony_makestep must be a dict with 'threshold' (seconds) and 'limit' (updates, -1 = always), "
                      "got %s" % show(makestep))
        return
    threshold = as_float(makestep.get("threshold"))
    if threshold is None or threshold <= 0:
        errors.append("chrony_makestep.threshold must be a number of seconds > 0, got %s"
                      % show(makestep.get("threshold")))
    limit = as_int(makestep.get("limit"))
    if limit is None or limit == 0 or limit < -1:
        errors.append("chrony_makestep.limit must be -1 (always) or a number of clock updates >= 1, got %s"
                      % show(makestep.get("limit")))


def _validate_local(errors, local):
    if not local:
        return
    if not isinstance(local, dict) or set(local) - {"stratum", "orphan", "distance"}:
        errors.append("chrony_local must be a dict with 'stratum' (1-15) and optional 'orphan' (bool) and "
                      "'distance' (seconds), got %s" % show(local))
        return
    stratum = as_int(local.get("stratum", 10))
    if stratum is None or not STRATUM_MIN <= stratum <= STRATUM_MAX:
        errors.append("chrony_local.stratum must be between %d and %d, got %s"
                      % (STRATUM_MIN, STRATUM_MAX, show(local.get("stratum"))))
    if not isinstance(local.get("orphan", False), bool):
        errors.append("chrony_local.orphan must be true or false, got %s" % show(local.get("orphan")))
    _check_number_setting(errors, "chrony_local.distance", local.get("distance"), above=0,
                          text="a number of seconds > 0")


def validate_settings(settings, cloud_choices=None):
    """Validate the role's scalar settings (keys are the role's variable names).

    Missing keys are skipped, so callers can validate a subset.  ``cloud_choices``: the allowed chrony_cloud values.
    """
    errors = []
    s = settings
    if cloud_choices is not None and "chrony_cloud" in s and s["chrony_cloud"] not in cloud_choices:
        errors.append("chrony_cloud must be one of %s, got %s" % (", ".join(cloud_choices), show(s["chrony_cloud"])))
    if "chrony_sources_mode" in s and s["chrony_sources_mode"] not in SOURCES_MODES:
        errors.append("chrony_sources_mode must be append or replace, got %s" % show(s["chrony_sources_mode"]))
    errors.extend(validate_entries("source", s.get("chrony_sources")))
    errors.extend(validate_entries("refclock", s.get("chrony_refclocks")))
    errors.extend(validate_access(s.get("chrony_allow"), "chrony_allow"))
    errors.extend(validate_access(s.get("chrony_deny"), "chrony_deny"))
    errors.extend(validate_extra_lines(s.get("chrony_extra_lines")))
    _validate_makestep(errors, s.get("chrony_makestep"))
    _check_number_setting(errors, "chrony_minsources", s.get("chrony_minsources"), integer=True, minimum=1,
                          text="an integer >= 1")
    _check_number_setting(errors, "chrony_maxdistance", s.get("chrony_maxdistance"), above=0,
                          text="a number of seconds > 0")
    _validate_local(errors, s.get("chrony_local"))
    log = s.get("chrony_log")
    if log:
        if not isinstance(log, list):
            errors.append("chrony_log must be a list of %s, got %s" % (", ".join(LOG_OPTIONS), show(log)))
        else:
            bad = [x for x in log if x not in LOG_OPTIONS]
            if bad:
                errors.append("chrony_log: unknown log option(s) %s; choose from %s"
                              % (", ".join(show(b) for b in bad), ", ".join(LOG_OPTIONS)))
    for var in ("chrony_driftfile", "chrony_logdir", "chrony_ntsdumpdir", "chrony_keyfile", "chrony_render_dest",
                "chrony_replaced_packages_dir"):
        errors.extend(validate_word(s.get(var), var, absolute=True))
    leapsectz = s.get("chrony_leapsectz")
    if leapsectz != "auto":
        errors.extend(validate_word(leapsectz, "chrony_leapsectz"))
    if "chrony_daemon_options" in s:
        errors.extend(validate_daemon_options(s["chrony_daemon_options"]))
    for var in ("chrony_cmdport_disabled", "chrony_rtcsync", "chrony_allow_mixed_leap_smearing", "chrony_aws_ipv6"):
        if var in s and not isinstance(s[var], bool):
            errors.append("%s must be true or false, got %s" % (var, show(s[var])))
    return errors
