# -*- coding: utf-8 -*-
# Copyright (c) 2025 fleetclock maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The chrony role's time-source options as data (sources and refclocks), and their validation.

Pure functions only (stdlib, Python 3.8+).  Every ``validate_*`` function returns a list of error strings;
an empty list means "valid".  Each message names the variable, the item and what to change, so the role can
show it verbatim in a failed ``assert`` before any task touches the host.  The role's other settings are
validated in ``chrony_settings.py``; rendering lives in ``chrony_render.py``, which checks every value again.
"""

from __future__ import annotations

from ansible_collections.fleetclock.timesync.plugins.module_utils.chrony_values import (
    as_int,
    check_value,
    is_path,
    is_valid_host,
    is_word,
    show,
    validate_list,
    where,
)

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
    return validate_list(items, var, "dicts", lambda index, item: validate_entry(kind, item, index, var))
