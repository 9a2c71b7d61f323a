# -*- coding: utf-8 -*-
# Copyright (c) 2025 fleetclock maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The audit's options (clock_report, the audit playbook): defaults, checks and normalisation.

Pure functions (check_output_dir() reads the file system, nothing else); no Ansible imports; Python 3.8+.
"""

from __future__ import annotations

import math
import os

from ansible_collections.fleetclock.timesync.plugins.module_utils.values import as_bool, as_float

FORMATS = ("table", "json", "prometheus", "junit", "html")
DEFAULTS = {
    "warn_offset": 1.0,
    "crit_offset": 5.0,
    "warn_skew": None,  # None: same as warn_offset
    "crit_skew": None,  # None: same as crit_offset
    "jwt_leeway": 0,
    "jwt_margin": 1.0,
    "jwt_max_pairs": 20,
    "fail_on_skew": True,
    "fail_on_unsynchronised": True,
    "fail_on_unreachable": True,
    "formats": list(FORMATS),
    "history_limit": 50,
}
MAX_HISTORY_LIMIT = 1000
FAIL_SWITCHES = ("fail_on_skew", "fail_on_unsynchronised", "fail_on_unreachable")


class OptionError(ValueError):
    """An audit option is invalid; the message says which one and what to change."""


def _number(options, name):
    value = options.get(name, DEFAULTS.get(name))
    number = as_float(value)
    if number is None:
        raise OptionError("%s must be a number of seconds, got %r" % (name, value))
    if number < 0:
        raise OptionError("%s must be a finite number of seconds >= 0, got %r" % (name, value))
    return number


def _bool(options, name):
    value = as_bool(options.get(name, DEFAULTS.get(name)))
    if value is None:
        raise OptionError("%s must be true or false, got %r" % (name, options.get(name)))
    return value


def check_output_dir(path, what="output_dir"):
    """Raise OptionError unless ``path`` is a writable directory or could be created as one.

    Touches nothing: for a missing directory it checks the nearest existing parent.
    """
    if not isinstance(path, str) or not path.strip() or "\0" in path:
        raise OptionError("%s must be a non-empty path without NUL characters, got %r" % (what, path))
    probe = os.path.abspath(path)
    while not os.path.exists(probe):
        parent = os.path.dirname(probe)
        if parent == probe:
            break
        probe = parent
    if not os.path.isdir(probe):
        raise OptionError("%s %s: %s exists and is not a directory; choose another path" % (what, path, probe))
    if not os.access(probe, os.W_OK | os.X_OK):
        verb = "is not writable" if probe == os.path.abspath(path) else "cannot be created (%s is not writable)" % probe
        raise OptionError("%s %s %s; choose a writable directory" % (what, path, verb))
    return os.path.abspath(path)


def validate_options(options=None, check_paths=True):
    """Check and normalise the audit options; raise OptionError with a clear message.

    Returns a new dict with every key of DEFAULTS (plus output_dir / prometheus_path / history_dir
    as given, made absolute when check_paths is true).
    """
    options = dict(options or {})
    out = {}
    for name in ("warn_offset", "crit_offset", "warn_skew", "crit_skew", "jwt_leeway", "jwt_margin"):
        if name in ("warn_skew", "crit_skew") and options.get(name) is None:
            out[name] = out[name.replace("skew", "offset")]
        else:
            out[name] = _number(options, name)
    for warn, crit in (("warn_offset", "crit_offset"), ("warn_skew", "crit_skew")):
        if out[warn] > out[crit]:
            raise OptionError("%s (%s s) must not be larger than %s (%s s)" % (warn, out[warn], crit, out[crit]))
    pairs = options.get("jwt_max_pairs", DEFAULTS["jwt_max_pairs"])
    if isinstance(pairs, bool) or not isinstance(pairs, int) or pairs < 0:
        raise OptionError("jwt_max_pairs must be a whole number >= 0, got %r" % (pairs,))
    out["jwt_max_pairs"] = pairs
    for name in FAIL_SWITCHES:
        out[name] = _bool(options, name)
    formats = options.get("formats", DEFAULTS["formats"])
    if isinstance(formats, str):
        formats = [item.strip() for item in formats.split(",") if item.strip()]
    if not isinstance(formats, (list, tuple)):
        raise OptionError("formats must be a list, got %r" % (formats,))
    unknown = [item for item in formats if item not in FORMATS]
    if unknown:
        raise OptionError("formats: unknown %s; choose from %s" % (", ".join(map(repr, unknown)), ", ".join(FORMATS)))
    out["formats"] = [item for item in FORMATS if item in formats]
    out["history_dir"], out["history_limit"] = _history(options, check_paths)
    for name in ("output_dir", "prometheus_path"):
        value = options.get(name)
        if value is None:
            out[name] = None
        elif name == "output_dir":
            out[name] = check_output_dir(value) if check_paths else value
        else:
            out[name] = check_prometheus_path(value, check_paths)
    return out


def _history(options, check_paths):
    """history_dir (None, or a path: a directory when it exists; made absolute when ``check_paths``) and
    history_limit (a whole number from 1 to MAX_HISTORY_LIMIT)."""
    limit = options.get("history_limit", DEFAULTS["history_limit"])
    if limit is None:
        limit = DEFAULTS["history_limit"]
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_HISTORY_LIMIT:
        raise OptionError("history_limit must be a whole number from 1 to %d (earlier reports read), got %r"
                          % (MAX_HISTORY_LIMIT, limit))
    path = options.get("history_dir")
    if path is None:
        return None, limit
    if not isinstance(path, str) or not path.strip() or "\0" in path:
        raise OptionError("history_dir must be a non-empty path without NUL characters, got %r" % (path,))
    if not check_paths:
        return path, limit
    if os.path.exists(path) and not os.path.isdir(path):
        raise OptionError("history_dir %s exists and is not a directory; give the directory of earlier JSON reports"
                          % path)
    return os.path.abspath(path), limit


def check_prometheus_path(value, check_paths=True):
    """``value`` (a *.prom file name), made absolute when ``check_paths`` (its directory checked as output_dir is);
    raise OptionError otherwise."""
    if not isinstance(value, str) or not value.endswith(".prom") or "\0" in value:
        raise OptionError("prometheus_path must be a file name ending in .prom "
                          "(the textfile collector reads only *.prom), got %r" % (value,))
    if not check_paths:
        return value
    check_output_dir(os.path.dirname(os.path.abspath(value)), "the directory of prometheus_path")
    return os.path.abspath(value)


MAX_PROBE_TIMEOUT = 3600


def probe_option_errors(args):
    """What is wrong with clock_probe's (and clock_probe_batch's) converted options, as messages naming each."""
    problems = []
    if args["min_samples"] < 1:
        problems.append("min_samples must be at least 1 (got %d)" % args["min_samples"])
    if args["max_samples"] < max(args["min_samples"], 1):
        problems.append("max_samples (%d) must be at least min_samples (%d)" % (args["max_samples"], args["min_samples"]))
    if not (math.isfinite(args["target_bound"]) and args["target_bound"] >= 0):
        problems.append("target_bound must be a finite number of seconds >= 0 (got %r)" % args["target_bound"])
    if not 0 < args["timeout"] <= MAX_PROBE_TIMEOUT:
        problems.append("timeout must be between 0 and %d seconds (got %r)" % (MAX_PROBE_TIMEOUT, args["timeout"]))
    if args.get("workers") is not None and args["workers"] < 1:
        problems.append("workers must be at least 1 (got %d)" % args["workers"])
    return problems
