# -*- coding: utf-8 -*-
# Copyright (c) 2025 fleetclock maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The chrony role's options as data, and their validation.

Pure functions only (stdlib, Python 3.8+).  Every ``validate_*`` function returns a list of error strings;
an empty list means "valid".  Each message names the variable, the item and what to change, so the role can
show it verbatim in a failed ``assert`` before any task touches the host.

Rendering lives in ``chrony_render.py``, which checks every value again, independently of these validators.
"""

from __future__ import annotations

import ipaddress
import re

from ansible_collections.fleetclock.timesync.plugins.module_utils.values import as_float, as_int

POLL_MIN = -6
POLL_MAX = 24
STRATUM_MIN = 1
STRATUM_MAX = 15

SOURCES_MODES = ("append", "replace")
LOG_OPTIONS = ("rawmeasurements", "measurements", "statistics", "tracking", "rtc", "refclocks", "tempcomp")
REFCLOCK_DRIVERS = ("PHC", "PPS", "SHM", "SOCK")

# Source options: (name, kind, low, high).  The order here is the order in the
# rendered line, so a line never depends on the order of a dict's keys.
# kind: "flag" (bool), "int", "float" (a finite number), "refid" (1-4 letters or digits).
SOURCE_OPTIONS = (
    ("prefer", "flag", None, None),
    ("iburst", "flag", None, None),
    ("burst", "flag", None, None),
    ("nts", "flag", None, None),
    ("xleave", "flag", None, None),
    ("noselect", "flag", None, None),
    ("trust", "flag", None, None),
    ("require", "flag", None, None),
    ("offline", "flag", None, None),
    ("auto_offline", "flag", None, None),
    ("copy", "flag", None, None),
    ("minpoll", "int", POLL_MIN, POLL_MAX),
    ("maxpoll", "int", POLL_MIN, POLL_MAX),
    ("maxsources", "int", 1, 16),
    ("port", "int", 1, 65535),
    ("ntsport", "int", 1, 65535),
    ("polltarget", "int", 6, 60),
    ("presend", "int", POLL_MIN, POLL_MAX),
    ("minstratum", "int", 0, STRATUM_MAX),
    ("key", "int", 1, 4294967295),
    ("version", "int", 1, 4),
    ("minsamples", "int", 0, 64),
    ("maxsamples", "int", 0, 64),
    ("filter", "int", 1, 128),
    ("maxdelay", "float", 0, None),
    ("maxdelayratio", "float", 1, None),
    ("maxdelaydevratio", "float", 0, None),
    ("mindelay", "float", 0, None),
    ("asymmetry", "float", -1, 1),
    ("offset", "float", None, None),
)

REFCLOCK_OPTIONS = (
    ("refid", "refid", None, None),
    ("lock", "refid", None, None),
    ("poll", "int", POLL_MIN, POLL_MAX),
    ("dpoll", "int", POLL_MIN, POLL_MAX),
    ("filter", "int", 1, 1024),
    ("rate", "int", 1, 1000000),
    ("minsamples", "int", 0, 64),
    ("maxsamples", "int", 0, 64),
    ("offset", "float", None, None),
    ("delay", "float", 0, None),
    ("precision", "float", 0, None),
    ("maxdispersion", "float", 0, None),
    ("maxlockage", "int", 0, 1000000),
    ("stratum", "int", STRATUM_MIN, STRATUM_MAX),
    ("width", "float", 0, None),
    ("prefer", "flag", None, None),
    ("noselect", "flag", None, None),
    ("trust", "flag", None, None),
    ("require", "flag", None, None),
    ("tai", "flag", None, None),
    ("pps", "flag", None, None),
    ("local", "flag", None, None),
)

# Keys that only make sense in the other list: used to say "move it".
_REFCLOCK_ONLY = ("driver", "parameter", "refid", "lock", "poll", "dpoll", "rate", "stratum",
                  "precision", "maxdispersion", "tai", "pps", "local", "width", "delay")
_SOURCE_ONLY = ("hostname", "pool", "iburst", "burst", "nts", "xleave", "minpoll", "maxpoll",
                "maxsources", "port", "ntsport", "polltarget", "presend", "minstratum", "key",
                "version", "offline", "auto_offline", "maxdelay", "copy")

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
        ok = isinstance(value, str) and _USER_RE.fullmatch(value)
        return None if ok else "must be a user name (lower-case letters, digits, _ or -), got %s" % show(value)
    number = as_int(value) if kind == "int" else as_float(value)
    if number is None:
        return "must be %s, got %s" % ("an integer" if kind == "int" else "a finite number", show(value))
    if (low is not None and number < low) or (high is not None and number > high):
        return "must be %s, got %s" % (range_text(low, high), show(value))
    return None


def _key_errors(label, item, known, misplaced, misplaced_hint):
    """Errors for keys that belong to the other kind of entry (misplaced) and for keys nobody knows."""
    errors = []
    wrong = sorted(str(k) for k in item if k in misplaced)
    if wrong:
        errors.append(misplaced_hint % (label, ", ".join(wrong)))
    unknown = sorted(show(k) if not isinstance(k, str) or not is_word(k) else k
                     for k in item if k not in known and k not in misplaced)
    if unknown:
        errors.append("%s: unknown option(s) %s; known options are: %s" % (label, ", ".join(unknown), ", ".join(known)))
    return errors


def _check_source_head(label, source):
    errors = []
    host = source.get("hostname")
    if host is None or host == "":
        errors.append("%s: 'hostname' is required (a DNS name or an IP address)" % label)
    elif not is_valid_host(host):
        errors.append("%s: hostname %s is not a DNS name or IP address; remove spaces, newlines, quotes, "
                      "'#' and any trailing options (write options as keys, e.g. iburst: true); an IPv6 zone id "
                      "is an interface name (fe80::1%%eth0)" % (label, show(host)))
    pool = source.get("pool", False)
    if not isinstance(pool, bool):
        errors.append("%s: option 'pool' must be true or false, got %s" % (label, show(pool)))
    if source.get("maxsources") is not None and pool is not True:
        errors.append("%s: 'maxsources' applies only to pools; set pool: true or remove maxsources" % label)
    return errors


def _check_refclock_head(label, refclock):
    errors = []
    driver = refclock.get("driver")
    if driver not in REFCLOCK_DRIVERS:
        errors.append("%s: 'driver' must be one of %s, got %s" % (label, ", ".join(REFCLOCK_DRIVERS), show(driver)))
    param = refclock.get("parameter")
    if param is None or param == "":
        errors.append("%s: 'parameter' is required (a device path such as /dev/ptp0, or an SHM segment number)" % label)
    elif driver == "SHM":
        if as_int(param) is None or as_int(param) < 0:
            errors.append("%s: SHM 'parameter' must be a segment number such as 0, got %s" % (label, show(param)))
    elif not is_path(param):
        errors.append("%s: 'parameter' must be an absolute path without spaces, newlines, quotes or '#' "
                      "(e.g. /dev/ptp0 or /dev/ptp0:nocrossts), got %s" % (label, show(param)))
    return errors


# The two kinds of time-source entry, as data: which list they come from, their head check, their options,
# the keys that belong to the other kind, and the option pairs that must be ordered (low <= high).
ENTRY_KINDS = {
    "source": {
        "var": "chrony_sources",
        "what": "each source must be a dict with at least 'hostname'",
        "head_keys": ("hostname", "pool"),
        "check_head": _check_source_head,
        "options": SOURCE_OPTIONS,
        "misplaced": _REFCLOCK_ONLY,
        "misplaced_hint": "%s: refclock keys %s do not belong in a source; put reference clocks in chrony_refclocks "
                          "(driver, parameter, poll, ...) and keep only NTP server/pool keys here",
        "ordered": (("minpoll", "maxpoll", "; lower minpoll or raise maxpoll"), ("minsamples", "maxsamples", "")),
    },
    "refclock": {
        "var": "chrony_refclocks",
        "what": "each refclock must be a dict with 'driver' and 'parameter'",
        "head_keys": ("driver", "parameter"),
        "check_head": _check_refclock_head,
        "options": REFCLOCK_OPTIONS,
        "misplaced": _SOURCE_ONLY,
        "misplaced_hint": "%s: NTP source keys %s do not belong in a refclock; put NTP servers and pools in "
                          "chrony_sources and keep only refclock keys here",
        "ordered": (("minsamples", "maxsamples", ""),),
    },
}


def entry_keys(kind):
    """Every key an entry of this kind may have."""
    spec = ENTRY_KINDS[kind]
    return spec["head_keys"] + tuple(o[0] for o in spec["options"])


SOURCE_KEYS = entry_keys("source")
REFCLOCK_KEYS = entry_keys("refclock")


def validate_entry(kind, item, index=0, var=None):
    """Validate one time-source entry of ``kind`` ("source" or "refclock"); return a list of error strings."""
    spec = ENTRY_KINDS[kind]
    var = var or spec["var"]
    label = where(var, index, item)
    if not isinstance(item, dict):
        return ["%s: %s, got %s" % (label, spec["what"], show(item))]
    errors = _key_errors(label, item, entry_keys(kind), spec["misplaced"], spec["misplaced_hint"])
    errors.extend(spec["check_head"](label, item))
    for name, option_kind, low, high in spec["options"]:
        if item.get(name) is not None:
            err = check_value(label, option_kind, low, high, item[name])
            if err:
                errors.append("%s: option '%s' %s" % (label, name, err))
    for low_key, high_key, hint in spec["ordered"]:
        low, high = as_int(item.get(low_key)), as_int(item.get(high_key))
        if low is not None and high is not None and high and low > high:
            errors.append("%s: %s (%d) is greater than %s (%d)%s" % (label, low_key, low, high_key, high, hint))
    return errors


def validate_entries(kind, items, var=None):
    """Validate a list of entries of ``kind``; return all errors."""
    var = var or ENTRY_KINDS[kind]["var"]
    if items is None:
        return []
    if not isinstance(items, list):
        return ["%s must be a list of dicts, got %s" % (var, show(items))]
    errors = []
    for index, item in enumerate(items):
        errors.extend(validate_entry(kind, item, index, var))
    return errors


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
    if entries is None:
        return []
    if not isinstance(entries, list):
        return ["%s must be a list of addresses or CIDR networks, got %s" % (var, show(entries))]
    errors = []
    for index, entry in enumerate(entries):
        err = access_error(entry)
        if err:
            errors.append("%s[%d]: %s %s; use e.g. 192.0.2.0/24, 2001:db8::/32 or all" % (var, index, show(entry), err))
    return errors


def validate_extra_lines(lines, var="chrony_extra_lines"):
    """Each extra line must be one non-empty line of printable ASCII: no line break or control character."""
    if lines is None:
        return []
    if not isinstance(lines, list):
        return ["%s must be a list of strings (one chrony.conf line each), got %s" % (var, show(lines))]
    errors = []
    for index, line in enumerate(lines):
        label = "%s[%d]" % (var, index)
        if not isinstance(line, str):
            errors.append("%s: must be a string, got %s" % (label, show(line)))
        elif any(c in line for c in "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"):
            errors.append("%s: %s contains a line break; split it into separate list items" % (label, show(line)))
        elif not line.strip():
            errors.append("%s: is empty; remove it" % label)
        elif not is_line(line):
            errors.append("%s: %s contains a control or non-ASCII character; chrony.conf takes printable ASCII"
                          % (label, show(line)))
    return errors


def validate_word(value, var, absolute=False):
    """A single word (or an absolute path) for chrony.conf; None or "" means not set."""
    if value is None or value == "":
        return []
    if not (is_path(value) if absolute else is_word(value)):
        what = "an absolute path" if absolute else "a single word"
        return ["%s must be %s of printable ASCII without spaces, newlines, quotes or '#', got %s"
                % (var, what, show(value))]
    return []


def daemon_option_words(value):
    """Split chrony_daemon_options into (words, errors); None means the distribution's default (no words)."""
    if value is None:
        return [], []
    if not isinstance(value, str):
        return [], ["chrony_daemon_options must be a string of chronyd options such as '-F 1', got %s" % show(value)]
    words = value.split(" ")
    words = [w for w in words if w != ""]
    bad = [w for w in words if not re.fullmatch(r"[A-Za-z0-9_.:=+/-]+", w)]
    if bad or not value.isascii() or any(c in value for c in "\t\n\r\v\f"):
        return [], ["chrony_daemon_options %s may hold only chronyd options separated by spaces (letters, digits, "
                    "- _ . : = + /): no quotes, $, tabs, newlines or other characters, got %s" % (show(value), show(value))]
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
    for var in ("chrony_driftfile", "chrony_logdir", "chrony_ntsdumpdir", "chrony_keyfile", "chrony_render_dest"):
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
