# -*- coding: utf-8 -*-
# Copyright (c) 2025 fleetclock maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Validate and render chrony.conf content for the fleetclock.timesync.chrony role.

Pure functions only (stdlib, Python 3.8+).  Every ``validate_*`` function
returns a list of error strings; an empty list means "valid".  Each message
names the variable, the item and what to change, so the role can show it
verbatim in a failed ``assert`` before any task touches the host.

The ``render_*`` functions assume valid input (validate first) and return one
chrony.conf line without a trailing newline.
"""

from __future__ import annotations

import ipaddress
import re

POLL_MIN = -6
POLL_MAX = 24
STRATUM_MIN = 1
STRATUM_MAX = 15

CLOUDS = ("aws", "gcp", "azure", "oci", "alibaba")
CLOUD_CHOICES = ("auto",) + CLOUDS + ("none",)
SOURCES_MODES = ("append", "replace")
LOG_OPTIONS = ("rawmeasurements", "measurements", "statistics", "tracking", "rtc", "refclocks", "tempcomp")
REFCLOCK_DRIVERS = ("PHC", "PPS", "SHM", "SOCK")

AZURE_ASSET_TAG = "7783-7084-3265-9085-8269-3286-77"

# Source options: (name, kind, low, high).  The order here is the order in the
# rendered line, so a line never depends on the order of a dict's keys.
# kind: "flag" (bool), "int", "float" (a number, rendered as given).
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
SOURCE_KEYS = ("hostname", "pool") + tuple(o[0] for o in SOURCE_OPTIONS)

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
    ("maxlockage", "int", 0, None),
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
REFCLOCK_KEYS = ("driver", "parameter") + tuple(o[0] for o in REFCLOCK_OPTIONS)

# Keys that only make sense in the other list: used to say "move it".
_REFCLOCK_ONLY = ("driver", "parameter", "refid", "lock", "poll", "dpoll", "rate", "stratum",
                  "precision", "maxdispersion", "tai", "pps", "local", "width", "delay")
_SOURCE_ONLY = ("hostname", "pool", "iburst", "burst", "nts", "xleave", "minpoll", "maxpoll",
                "maxsources", "port", "ntsport", "polltarget", "presend", "minstratum", "key",
                "version", "offline", "auto_offline", "maxdelay", "copy")

_HOST_LABEL = r"(?!-)[A-Za-z0-9_-]{1,63}(?<!-)"
_HOSTNAME_RE = re.compile(r"%s(\.%s)*\.?" % (_HOST_LABEL, _HOST_LABEL))
_INT_RE = re.compile(r"[+-]?[0-9]+")
_FLOAT_RE = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")
_REFID_RE = re.compile(r"[A-Za-z0-9]{1,4}")
# No whitespace, quotes, '#', backslash or control characters: a value can never end a line early.
_PATH_RE = re.compile(r"/[^\s\"'#\\\x00-\x1f\x7f]*")
_WORD_RE = re.compile(r"[^\s\"'#\\\x00-\x1f\x7f]+")


def _show(value):
    """Quote a value for an error message (repr shows newlines as \\n)."""
    return repr(value)


def _where(var, index, item=None):
    """Name an item of a list variable: ``chrony_sources[2] (ntp.example.com)``."""
    label = "%s[%d]" % (var, index)
    if isinstance(item, dict):
        name = item.get("hostname", item.get("parameter"))
        if isinstance(name, str):
            label += " (%s)" % _show(name)
    return label


def is_valid_host(value):
    """True for an IPv4/IPv6 address or a DNS hostname (no spaces, quotes, ``#``)."""
    if not isinstance(value, str) or not value:
        return False
    try:
        ipaddress.ip_address(value)
        return True
    except ValueError:
        pass
    return len(value) <= 253 and bool(_HOSTNAME_RE.fullmatch(value))


def as_int(value):
    """Return ``value`` as an int (ints and integer strings), or None.  Booleans are not ints."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _INT_RE.fullmatch(value.strip()):
        return int(value.strip())
    return None


def as_float(value):
    """Return ``value`` as a float (ints, floats and numeric strings), or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str) and _FLOAT_RE.fullmatch(value.strip()):
        return float(value.strip())
    return None


def format_number(value):
    """Render a number for chrony.conf: strings are kept as written, floats never use exponents."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, float):
        text = repr(value)
        if "e" in text or "E" in text:
            text = ("%.12f" % value).rstrip("0")
            if text.endswith("."):
                text += "0"
        return text
    return str(value)


def _check_option(var_label, name, kind, low, high, value):
    """Validate one option value; return an error string or None."""
    if kind == "flag":
        if not isinstance(value, bool):
            return "%s: option '%s' must be true or false, got %s" % (var_label, name, _show(value))
        return None
    if kind == "refid":
        if not isinstance(value, str) or not _REFID_RE.fullmatch(value):
            return "%s: option '%s' must be 1-4 letters or digits, got %s" % (var_label, name, _show(value))
        return None
    number = as_int(value) if kind == "int" else as_float(value)
    if number is None:
        what = "an integer" if kind == "int" else "a number"
        return "%s: option '%s' must be %s, got %s" % (var_label, name, what, _show(value))
    if (low is not None and number < low) or (high is not None and number > high):
        if high is None:
            rng = "at least %s" % low
        elif low is None:
            rng = "at most %s" % high
        else:
            rng = "between %s and %s" % (low, high)
        return "%s: option '%s' must be %s, got %s" % (var_label, name, rng, _show(value))
    return None


def _key_errors(label, item, known, misplaced, misplaced_hint):
    """Errors for keys that belong to the other kind of entry (misplaced) and for keys nobody knows."""
    errors = []
    wrong = sorted(str(k) for k in item if k in misplaced)
    if wrong:
        errors.append(misplaced_hint % (label, ", ".join(wrong)))
    unknown = sorted(str(k) for k in item if k not in known and k not in misplaced)
    if unknown:
        errors.append("%s: unknown option(s) %s; known options are: %s" % (label, ", ".join(unknown), ", ".join(known)))
    return errors


def _option_errors(label, item, options):
    """Range/type errors of the entry's options (table rows: name, kind, low, high)."""
    errors = []
    for name, kind, low, high in options:
        if name in item and item[name] is not None:
            err = _check_option(label, name, kind, low, high, item[name])
            if err:
                errors.append(err)
    return errors


def validate_source(source, index=0, var="chrony_sources"):
    """Validate one NTP source dict; return a list of error strings."""
    label = _where(var, index, source)
    if not isinstance(source, dict):
        return ["%s: each source must be a dict with at least 'hostname', got %s" % (label, _show(source))]
    errors = _key_errors(label, source, SOURCE_KEYS, _REFCLOCK_ONLY,
                         "%s: refclock keys %s do not belong in a source; put reference clocks in chrony_refclocks "
                         "(driver, parameter, poll, ...) and keep only NTP server/pool keys here")
    host = source.get("hostname")
    if host is None or host == "":
        errors.append("%s: 'hostname' is required (a DNS name or an IP address)" % label)
    elif not is_valid_host(host):
        errors.append("%s: hostname %s is not a DNS name or IP address; remove spaces, newlines, quotes, "
                      "'#' and any trailing options (write options as keys, e.g. iburst: true)" % (label, _show(host)))
    pool = source.get("pool", False)
    if not isinstance(pool, bool):
        errors.append("%s: option 'pool' must be true or false, got %s" % (label, _show(pool)))
    errors.extend(_option_errors(label, source, SOURCE_OPTIONS))
    minpoll = as_int(source.get("minpoll"))
    maxpoll = as_int(source.get("maxpoll"))
    if minpoll is not None and maxpoll is not None and minpoll > maxpoll:
        errors.append("%s: minpoll (%d) is greater than maxpoll (%d); lower minpoll or raise maxpoll"
                      % (label, minpoll, maxpoll))
    if source.get("maxsources") is not None and pool is not True:
        errors.append("%s: 'maxsources' applies only to pools; set pool: true or remove maxsources" % label)
    minsamples = as_int(source.get("minsamples"))
    maxsamples = as_int(source.get("maxsamples"))
    if minsamples is not None and maxsamples is not None and maxsamples and minsamples > maxsamples:
        errors.append("%s: minsamples (%d) is greater than maxsamples (%d)" % (label, minsamples, maxsamples))
    return errors


def validate_refclock(refclock, index=0, var="chrony_refclocks"):
    """Validate one reference clock dict; return a list of error strings."""
    label = _where(var, index, refclock)
    if not isinstance(refclock, dict):
        return ["%s: each refclock must be a dict with 'driver' and 'parameter', got %s" % (label, _show(refclock))]
    errors = _key_errors(label, refclock, REFCLOCK_KEYS, _SOURCE_ONLY,
                         "%s: NTP source keys %s do not belong in a refclock; put NTP servers and pools in "
                         "chrony_sources and keep only refclock keys here")
    driver = refclock.get("driver")
    if driver not in REFCLOCK_DRIVERS:
        errors.append("%s: 'driver' must be one of %s, got %s" % (label, ", ".join(REFCLOCK_DRIVERS), _show(driver)))
    param = refclock.get("parameter")
    if param is None or param == "":
        errors.append("%s: 'parameter' is required (a device path such as /dev/ptp0, or an SHM segment number)" % label)
    elif driver == "SHM":
        if as_int(param) is None or as_int(param) < 0:
            errors.append("%s: SHM 'parameter' must be a segment number such as 0, got %s" % (label, _show(param)))
    elif not isinstance(param, str) or not _PATH_RE.fullmatch(param):
        errors.append("%s: 'parameter' must be an absolute path without spaces, newlines, quotes or '#' "
                      "(e.g. /dev/ptp0 or /dev/ptp0:nocrossts), got %s" % (label, _show(param)))
    errors.extend(_option_errors(label, refclock, REFCLOCK_OPTIONS))
    return errors


def _validate_list(items, var, validate_one):
    if items is None:
        return []
    if not isinstance(items, list):
        return ["%s must be a list of dicts, got %s" % (var, _show(items))]
    errors = []
    for index, item in enumerate(items):
        errors.extend(validate_one(item, index, var))
    return errors


def validate_sources(sources, var="chrony_sources"):
    """Validate a list of source dicts; return all errors."""
    return _validate_list(sources, var, validate_source)


def validate_refclocks(refclocks, var="chrony_refclocks"):
    """Validate a list of refclock dicts; return all errors."""
    return _validate_list(refclocks, var, validate_refclock)


def validate_access(entries, var):
    """Validate ``allow``/``deny`` entries: ``all``, an IP address or a CIDR network."""
    if entries is None:
        return []
    if not isinstance(entries, list):
        return ["%s must be a list of addresses or CIDR networks, got %s" % (var, _show(entries))]
    errors = []
    for index, entry in enumerate(entries):
        label = "%s[%d]" % (var, index)
        if entry == "all":
            continue
        if not isinstance(entry, str) or not entry or entry != entry.strip() or not _WORD_RE.fullmatch(entry):
            errors.append("%s: %s is not an address or CIDR network; use e.g. 192.0.2.0/24, 2001:db8::/32 or all"
                          % (label, _show(entry)))
            continue
        try:
            ipaddress.ip_network(entry, strict=True)
        except ValueError as exc:
            errors.append("%s: %s is not a well-formed address or CIDR network (%s); use e.g. 192.0.2.0/24, "
                          "2001:db8::/32 or all" % (label, _show(entry), exc))
    return errors


def validate_extra_lines(lines, var="chrony_extra_lines"):
    """Each extra line must be one non-empty line: no newline or carriage return inside."""
    if lines is None:
        return []
    if not isinstance(lines, list):
        return ["%s must be a list of strings (one chrony.conf line each), got %s" % (var, _show(lines))]
    errors = []
    for index, line in enumerate(lines):
        label = "%s[%d]" % (var, index)
        if not isinstance(line, str):
            errors.append("%s: must be a string, got %s" % (label, _show(line)))
        elif "\n" in line or "\r" in line or "\0" in line:
            errors.append("%s: %s contains a line break; split it into separate list items" % (label, _show(line)))
        elif not line.strip():
            errors.append("%s: is empty; remove it" % label)
    return errors


def _validate_word(value, var, absolute=False):
    if value is None or value == "":
        return []
    pattern = _PATH_RE if absolute else _WORD_RE
    if not isinstance(value, str) or not pattern.fullmatch(value):
        what = "an absolute path" if absolute else "a single word"
        return ["%s must be %s without spaces, newlines, quotes or '#', got %s" % (var, what, _show(value))]
    return []


def validate_settings(settings):
    """Validate the role's scalar settings (keys are the role's variable names).

    Missing keys are skipped, so callers can validate a subset.
    """
    errors = []
    s = settings
    if "chrony_cloud" in s and s["chrony_cloud"] not in CLOUD_CHOICES:
        errors.append("chrony_cloud must be one of %s, got %s" % (", ".join(CLOUD_CHOICES), _show(s["chrony_cloud"])))
    if "chrony_sources_mode" in s and s["chrony_sources_mode"] not in SOURCES_MODES:
        errors.append("chrony_sources_mode must be append or replace, got %s" % _show(s["chrony_sources_mode"]))
    errors.extend(validate_sources(s.get("chrony_sources")))
    errors.extend(validate_refclocks(s.get("chrony_refclocks")))
    errors.extend(validate_access(s.get("chrony_allow"), "chrony_allow"))
    errors.extend(validate_access(s.get("chrony_deny"), "chrony_deny"))
    errors.extend(validate_extra_lines(s.get("chrony_extra_lines")))
    makestep = s.get("chrony_makestep")
    if makestep:
        if not isinstance(makestep, dict) or set(makestep) - {"threshold", "limit"}:
            errors.append("chrony_makestep must be a dict with 'threshold' (seconds) and 'limit' (updates, -1 = always), "
                          "got %s" % _show(makestep))
        else:
            threshold = as_float(makestep.get("threshold"))
            limit = as_int(makestep.get("limit"))
            if threshold is None or threshold <= 0:
                errors.append("chrony_makestep.threshold must be a number of seconds > 0, got %s"
                              % _show(makestep.get("threshold")))
            if limit is None or limit == 0 or limit < -1:
                errors.append("chrony_makestep.limit must be -1 (always) or a number of clock updates >= 1, got %s"
                              % _show(makestep.get("limit")))
    minsources = s.get("chrony_minsources")
    if minsources is not None and (as_int(minsources) is None or as_int(minsources) < 1):
        errors.append("chrony_minsources must be an integer >= 1, got %s" % _show(minsources))
    maxdistance = s.get("chrony_maxdistance")
    if maxdistance is not None and (as_float(maxdistance) is None or as_float(maxdistance) <= 0):
        errors.append("chrony_maxdistance must be a number of seconds > 0, got %s" % _show(maxdistance))
    local = s.get("chrony_local")
    if local:
        if not isinstance(local, dict) or set(local) - {"stratum", "orphan", "distance"}:
            errors.append("chrony_local must be a dict with 'stratum' (1-15) and optional 'orphan' (bool) and "
                          "'distance' (seconds), got %s" % _show(local))
        else:
            stratum = as_int(local.get("stratum", 10))
            if stratum is None or not STRATUM_MIN <= stratum <= STRATUM_MAX:
                errors.append("chrony_local.stratum must be between %d and %d, got %s"
                              % (STRATUM_MIN, STRATUM_MAX, _show(local.get("stratum"))))
            if not isinstance(local.get("orphan", False), bool):
                errors.append("chrony_local.orphan must be true or false, got %s" % _show(local.get("orphan")))
            distance = local.get("distance")
            if distance is not None and (as_float(distance) is None or as_float(distance) <= 0):
                errors.append("chrony_local.distance must be a number of seconds > 0, got %s" % _show(distance))
    log = s.get("chrony_log")
    if log:
        if not isinstance(log, list):
            errors.append("chrony_log must be a list of %s, got %s" % (", ".join(LOG_OPTIONS), _show(log)))
        else:
            bad = [x for x in log if x not in LOG_OPTIONS]
            if bad:
                errors.append("chrony_log: unknown log option(s) %s; choose from %s"
                              % (", ".join(_show(b) for b in bad), ", ".join(LOG_OPTIONS)))
    for var in ("chrony_driftfile", "chrony_logdir", "chrony_ntsdumpdir", "chrony_keyfile", "chrony_render_dest"):
        errors.extend(_validate_word(s.get(var), var, absolute=True))
    leapsectz = s.get("chrony_leapsectz")
    if leapsectz != "auto":
        errors.extend(_validate_word(leapsectz, "chrony_leapsectz"))
    for var in ("chrony_cmdport_disabled", "chrony_rtcsync", "chrony_allow_mixed_leap_smearing", "chrony_aws_ipv6"):
        if var in s and not isinstance(s[var], bool):
            errors.append("%s must be true or false, got %s" % (var, _show(s[var])))
    return errors


def _fact(facts, name):
    """Read a DMI fact, accepting both ``system_vendor`` and ``ansible_system_vendor`` keys."""
    value = facts.get(name, facts.get("ansible_" + name))
    if not isinstance(value, str):
        return ""
    value = value.strip()
    return "" if value in ("NA", "None", "Not Specified", "Default string") else value


def detect_cloud(facts):
    """Return the cloud a host runs on ("aws", "gcp", "azure", "oci", "alibaba") or "none".

    ``facts`` holds the DMI facts Ansible gathers (keys with or without the
    ``ansible_`` prefix): system_vendor, product_name, product_uuid,
    product_serial, chassis_asset_tag.  Unreadable facts are "NA".
    """
    facts = facts or {}
    vendor = _fact(facts, "system_vendor")
    product = _fact(facts, "product_name")
    uuid = _fact(facts, "product_uuid")
    serial = _fact(facts, "product_serial")
    asset = _fact(facts, "chassis_asset_tag")
    if vendor == "Amazon EC2" or uuid.lower().startswith("ec2"):
        return "aws"
    if product == "Google Compute Engine" or serial.startswith("GoogleCloud-"):
        return "gcp"
    if asset == AZURE_ASSET_TAG:
        return "azure"
    if asset == "OracleCloud.com":
        return "oci"
    if product == "Alibaba Cloud ECS":
        return "alibaba"
    return "none"


def render_source_line(source):
    """Render a source dict as ``server|pool HOST [options]`` (options in a fixed order)."""
    words = ["pool" if source.get("pool") else "server", source["hostname"]]
    for name, kind, _low, _high in SOURCE_OPTIONS:
        value = source.get(name)
        if value is None or value is False:
            continue
        if kind == "flag":
            words.append(name)
        else:
            words.extend([name, format_number(value)])
    return " ".join(words)


def render_refclock_line(refclock):
    """Render a refclock dict as ``refclock DRIVER PARAMETER [options]`` (options in a fixed order)."""
    words = ["refclock", refclock["driver"], format_number(refclock["parameter"])]
    for name, kind, _low, _high in REFCLOCK_OPTIONS:
        value = refclock.get(name)
        if value is None or value is False:
            continue
        if kind == "flag":
            words.append(name)
        else:
            words.extend([name, format_number(value)])
    return " ".join(words)


def _strip_meta(item, meta_keys):
    return dict((k, v) for k, v in item.items() if k not in meta_keys)


def resolve_sources(cloud, profiles, user_sources=None, user_refclocks=None, mode="append",
                    default_sources=None, present_devices=None, aws_ipv6=False, cloud_phc="auto",
                    local_enabled=False):
    """Work out what the rendered file will contain.

    ``cloud`` is the resolved cloud ("aws" ... or "none"), never "auto".
    ``profiles`` maps a cloud to its profile: ``sources``, ``ipv6_sources``,
    ``refclocks`` (an item with ``optional_device: true`` is used only when its
    parameter is in ``present_devices``, or always/never with
    ``cloud_phc``), ``leap_smearing`` (bool) and ``settings`` (e.g. makestep).

    Returns a dict: cloud, sources, refclocks, leap_smearing (the cloud's
    sources smear leap seconds and are in use), settings (cloud overrides),
    cloud_sources_used, origin ("cloud", "cloud+user", "user", "distribution").
    """
    user_sources = list(user_sources or [])
    user_refclocks = list(user_refclocks or [])
    present = set(present_devices or [])
    profile = profiles.get(cloud) if cloud not in (None, "", "none") else None
    result = {"cloud": cloud or "none", "sources": [], "refclocks": [], "leap_smearing": False,
              "settings": {}, "cloud_sources_used": False, "origin": "user"}
    cloud_sources = []
    cloud_refclocks = []
    if profile:
        cloud_sources = list(profile.get("sources", []))
        if aws_ipv6:
            cloud_sources += list(profile.get("ipv6_sources", []))
        for ref in profile.get("refclocks", []):
            if ref.get("optional_device"):
                wanted = cloud_phc == "always" or (cloud_phc == "auto" and ref.get("parameter") in present)
                if not wanted:
                    continue
            cloud_refclocks.append(_strip_meta(ref, ("optional_device",)))
    use_cloud = bool(profile) and not (mode == "replace" and (user_sources or user_refclocks))
    if use_cloud:
        result["sources"] = cloud_sources + user_sources
        result["refclocks"] = cloud_refclocks + user_refclocks
        result["settings"] = dict(profile.get("settings", {}))
        result["leap_smearing"] = bool(profile.get("leap_smearing")) and bool(cloud_sources)
        result["cloud_sources_used"] = True
        result["origin"] = "cloud+user" if (user_sources or user_refclocks) else "cloud"
    elif user_sources or user_refclocks:
        result["sources"] = user_sources
        result["refclocks"] = user_refclocks
    elif not local_enabled:
        result["sources"] = list(default_sources or [])
        result["origin"] = "distribution"
    return result


def validate_resolved(resolved, settings):
    """Cross-field checks on the resolved result; return a list of error strings."""
    errors = []
    mixed = bool(settings.get("chrony_sources") or settings.get("chrony_refclocks"))
    if resolved.get("leap_smearing") and mixed and not settings.get("chrony_allow_mixed_leap_smearing", False):
        errors.append(
            "chrony_sources/chrony_refclocks: the %s cloud's time servers smear leap seconds and must not be mixed "
            "with your own (non-smearing) sources; set chrony_sources_mode: replace to use only yours, remove them, "
            "or set chrony_allow_mixed_leap_smearing: true if you really want both" % resolved.get("cloud"))
    leapsectz = settings.get("chrony_leapsectz", "auto")
    if resolved.get("leap_smearing") and leapsectz not in ("auto", "", None):
        errors.append(
            "chrony_leapsectz: the %s cloud's time servers smear leap seconds, so chronyd must not use leapsectz "
            "(%s); set chrony_leapsectz: auto or an empty string" % (resolved.get("cloud"), _show(leapsectz)))
    if not resolved.get("sources") and not resolved.get("refclocks") and not settings.get("chrony_local"):
        errors.append("chrony_sources: no time source is left (no cloud profile, no chrony_sources, no chrony_refclocks, "
                      "no chrony_local); add a source or set chrony_local for an isolated master")
    return errors


def effective_leapsectz(setting, leap_smearing, default="right/UTC"):
    """The leapsectz value to write: ``auto`` means the default unless the sources smear leap seconds."""
    if setting == "auto":
        return "" if leap_smearing else (default or "")
    return setting or ""
