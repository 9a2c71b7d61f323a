# -*- coding: utf-8 -*-
# Copyright (c) 2025 fleetclock maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Render chrony.conf and chronyd's options: the last line of defence.

Pure functions only (stdlib, Python 3.8+).  The validators in ``chrony_options.py`` run first, in the role's
preflight, and give messages that name the variable.  These renderers do not rely on them: every value written
where chrony expects a word is checked again here (printable ASCII, no whitespace, ``#``, quotes or backslash),
every number is parsed, must be finite and is written from its parsed value, every host is an address or a DNS
name, and every extra line is one line of printable ASCII.  Anything else raises ``RenderError`` naming the
variable, so no file is written.
"""

from __future__ import annotations

import decimal
import functools
import re

from ansible_collections.fleetclock.timesync.plugins.module_utils.chrony_options import (
    ENTRY_KINDS,
    LOG_OPTIONS,
    REFCLOCK_DRIVERS,
)
from ansible_collections.fleetclock.timesync.plugins.module_utils.chrony_settings import validate_daemon_options
from ansible_collections.fleetclock.timesync.plugins.module_utils.chrony_versions import (
    DIRECTIVES,
    EXTRA_DIRECTIVES_SINCE,
    daemon_option_since,
    has,
    option_since,
    parse_version,
    version_text,
)
from ansible_collections.fleetclock.timesync.plugins.module_utils.chrony_values import (
    as_float,
    as_int,
    is_line,
    is_path,
    is_valid_host,
    is_word,
    show,
)

_PLAIN_DECIMAL_RE = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)")


class RenderError(ValueError):
    """A value that must not reach a file on the host."""


def _refuse(var, value, what):
    raise RenderError("refusing to write %s into chrony.conf: %s is not %s" % (var, show(value), what))


def number_text(value, integer=False):
    """The text chrony gets for a number: from its parsed value, never exponent notation; None if not a finite number.

    A plain decimal string keeps its digits (``"0.000010"`` stays as written, without surrounding whitespace).
    """
    if integer:
        number = as_int(value)
        return None if number is None else str(number)
    number = as_float(value)
    if number is None:
        return None
    if isinstance(value, str) and _PLAIN_DECIMAL_RE.fullmatch(value.strip()):
        return value.strip()
    if isinstance(value, int):
        return str(value)
    text = repr(number)
    if "e" in text or "E" in text:
        text = format(decimal.Decimal(text), "f")
    return text


# What each kind of value must be, and how the refusal says it.
_GUARDS = {
    "word": (is_word, "one word of printable ASCII without spaces, quotes or '#'"),
    "path": (is_path, "an absolute path of printable ASCII without spaces, quotes or '#'"),
    "line": (is_line, "one line of printable ASCII"),
    "host": (is_valid_host, "a DNS name or an IP address"),
    "flag": (lambda value: isinstance(value, bool), "true or false"),
}


def guard(kind, value, var):
    """``value`` when it is what a ``kind`` of _GUARDS must be (a flag: True/False only, 'no' is not one), else
    RenderError naming ``var``."""
    test, what = _GUARDS[kind]
    if not test(value):
        _refuse(var, value, what)
    return value


def number(value, var, integer=False):
    """A finite number's text, or RenderError."""
    text = number_text(value, integer)
    if text is None or not is_word(text):
        _refuse(var, value, "an integer" if integer else "a finite number")
    return text


word = functools.partial(guard, "word")
path = functools.partial(guard, "path")
line = functools.partial(guard, "line")
flag = functools.partial(guard, "flag")


def _source_head(item, var):
    return ["pool" if flag(item.get("pool", False), var + ".pool") else "server", guard("host", item.get("hostname"), var + ".hostname")]


def _refclock_head(item, var):
    driver = item.get("driver")
    if driver not in REFCLOCK_DRIVERS:
        _refuse(var + ".driver", driver, "one of " + ", ".join(REFCLOCK_DRIVERS))
    param = item.get("parameter")
    if driver == "SHM":
        return ["refclock", driver, number(param, var + ".parameter", integer=True)]
    return ["refclock", driver, path(param, var + ".parameter")]


_HEADS = {"source": _source_head, "refclock": _refclock_head}


def _version(version, var="chrony_version"):
    """(major, minor) of the target's chrony ("4.3" or already parsed), or None (no version given: nothing is
    refused for its release)."""
    if version is None or isinstance(version, tuple):
        return version
    parsed = parse_version(version)
    if parsed is None:
        _refuse(var, version, "a chrony version such as 4.3")
    return parsed


def _check_since(version, since, var, what):
    if version is not None and not has(version, since):
        raise RenderError("refusing to write %s into chrony.conf: %s needs chrony %s or later, the target has %s"
                          % (var, what, version_text(since), version_text(version)))


def render_entry(kind, item, var=None, version=None):
    """One ``server``/``pool``/``refclock`` line from an entry of ENTRY_KINDS (options in the table's order).

    ``version``: the target's chrony ("4.3"); an option that release does not have is refused (RenderError).
    """
    version = _version(version)
    spec = ENTRY_KINDS[kind]
    var = var or spec["var"]
    if not isinstance(item, dict):
        _refuse(var, item, "a dict")
    words = _HEADS[kind](item, var)
    for name, option_kind, _low, _high in spec["options"]:
        value = item.get(name)
        label = "%s.%s" % (var, name)
        if value is None:
            continue
        if value is not False:  # a flag set to false writes nothing
            _check_since(version, option_since(kind, name), label, "option '%s'" % name)
        if option_kind == "flag":
            if flag(value, label):
                words.append(name)
        elif option_kind == "refid":
            words.extend([name, word(value, label)])
        else:
            words.extend([name, number(value, label, integer=option_kind == "int")])
    return " ".join(words)


def _entries(kind, items, var, version):
    if not isinstance(items, list):
        _refuse(var, items, "a list")
    return [render_entry(kind, item, "%s[%d]" % (var, index), version) for index, item in enumerate(items)]


def _optional(directive, value, render, var):
    return [] if value is None or value == "" else ["%s %s" % (directive, render(value, var))]


def _access(directive, entries, var):
    if not isinstance(entries, list):
        _refuse(var, entries, "a list")
    lines = []
    for index, entry in enumerate(entries):
        label = "%s[%d]" % (var, index)
        if "%" in word(entry, label):
            _refuse(label, entry, "an address or CIDR network without a zone id")
        lines.append("%s %s" % (directive, entry))
    return lines


def _local(local):
    if not local:
        return []
    words = ["local", "stratum", number(local.get("stratum", 10), "chrony_local.stratum", integer=True)]
    if flag(local.get("orphan", False), "chrony_local.orphan"):
        words.append("orphan")
    if local.get("distance") is not None:
        words.extend(["distance", number(local["distance"], "chrony_local.distance")])
    return [" ".join(words)]


def _log(names):
    if not names:
        return []
    if not isinstance(names, list) or any(name not in LOG_OPTIONS for name in names):
        _refuse("chrony_log", names, "a list of " + ", ".join(LOG_OPTIONS))
    return ["log " + " ".join(names)]


def _if_known(directive, value, version):
    """``value``, or None when the target's chrony does not have ``directive`` (it is then not written)."""
    return value if version is None or has(version, DIRECTIVES[directive]) else None


def _extra_line(text, var, version):
    words = line(text, var).split()
    since = EXTRA_DIRECTIVES_SINCE.get(words[0].lower()) if words else None
    if since:
        _check_since(version, since, var, "directive " + words[0])
    return text


# The air-gap plan's NTS directives (config["nts"], from airgap.nts_plan): directive, the variable a refusal names,
# and how its value is checked again here.
_NTS_DIRECTIVES = (
    ("ntsservercert", "chrony_airgap_nts_cert (its path on the host)", path),
    ("ntsserverkey", "chrony_airgap_nts_key (its path on the host)", path),
    ("ntstrustedcerts", "chrony_airgap_nts_trusted_certs (its path on the host)", path),
    ("nocerttimecheck", "chrony_airgap_nts_nocerttimecheck", lambda value, var: number(value, var, integer=True)),
)


def _nts(nts, version):
    if not nts:
        return []
    if not isinstance(nts, dict) or set(nts) - set(d for d, _v, _r in _NTS_DIRECTIVES):
        _refuse("chrony_airgap_nts", nts, "a dict of " + ", ".join(d for d, _v, _r in _NTS_DIRECTIVES))
    lines = []
    for directive, var, render in _NTS_DIRECTIVES:
        if nts.get(directive) is not None:
            _check_since(version, DIRECTIVES[directive], var, "directive " + directive)
            lines.append("%s %s" % (directive, render(nts[directive], var)))
    if nts.get("nocerttimecheck") is not None and as_int(nts["nocerttimecheck"]) < 1:
        _refuse("chrony_airgap_nts_nocerttimecheck", nts["nocerttimecheck"], "a number of clock updates >= 1")
    return lines


def render_config(config):
    """The lines of chrony.conf (without the ``ansible_managed`` header) from the role's resolved values.

    ``config`` keys: cloud, origin, sources, refclocks (the resolved lists), driftfile, makestep
    ({threshold, limit}), minsources, maxdistance, rtcsync, keyfile, leapsectz, ntsdumpdir, logdir, log, allow,
    deny, local, cmdport_disabled, extra_lines, nts (the air-gap plan's NTS directives), and version: the target's
    chrony ("3.5"; None: no limit). A
    directive that release does not have (chrony_versions.DIRECTIVES) is left out (ntsdumpdir before 4.0); a
    source or refclock option it does not have is refused.
    """
    c = config
    version = _version(c.get("version"))
    makestep = c.get("makestep") or {}
    if not isinstance(makestep, dict):
        _refuse("chrony_makestep", makestep, "a dict")
    allow = c.get("allow") or []
    lines = ["# fleetclock.timesync.chrony: cloud %s, sources from %s."
             % (word(c.get("cloud"), "chrony_cloud"), word(c.get("origin"), "origin"))]
    lines += _entries("source", c.get("sources") or [], "chrony_sources", version)
    lines += _entries("refclock", c.get("refclocks") or [], "chrony_refclocks", version)
    lines += ["", "driftfile " + path(c.get("driftfile"), "chrony_driftfile"),
              "makestep %s %s" % (number(makestep.get("threshold"), "chrony_makestep.threshold"),
                                  number(makestep.get("limit"), "chrony_makestep.limit", integer=True))]
    lines += _optional("minsources", c.get("minsources"), lambda v, n: number(v, n, integer=True), "chrony_minsources")
    lines += _optional("maxdistance", c.get("maxdistance"), number, "chrony_maxdistance")
    lines += ["rtcsync"] if flag(c.get("rtcsync", False), "chrony_rtcsync") else []
    lines += _optional("keyfile", c.get("keyfile"), path, "chrony_keyfile")
    lines += _optional("leapsectz", c.get("leapsectz"), word, "chrony_leapsectz")
    lines += _optional("ntsdumpdir", _if_known("ntsdumpdir", c.get("ntsdumpdir"), version), path, "chrony_ntsdumpdir")
    lines += _optional("logdir", c.get("logdir"), path, "chrony_logdir")
    lines += _log(c.get("log"))
    lines += _nts(c.get("nts"), version)
    lines += ["", "# Serving time: %s." % ("allowed for the networks below" if allow else "nobody (no allow line)")]
    lines += _access("allow", allow, "chrony_allow")
    lines += _access("deny", c.get("deny") or [], "chrony_deny")
    lines += _local(c.get("local"))
    lines += ["", "# Command port: local only."]
    if flag(c.get("cmdport_disabled", False), "chrony_cmdport_disabled"):
        lines += ["cmdport 0"]
    else:
        lines += ["bindcmdaddress 127.0.0.1", "bindcmdaddress ::1"]
    extra = c.get("extra_lines") or []
    if extra:
        if not isinstance(extra, list):
            _refuse("chrony_extra_lines", extra, "a list")
        lines += ["", "# chrony_extra_lines"]
        lines += [_extra_line(text, "chrony_extra_lines[%d]" % index, version) for index, text in enumerate(extra)]
    return lines


def render_daemon_options(options, container=False, version=None):
    """chronyd's options for the service's options file: the checked words, plus ``-x`` in a container.

    ``version``: the target's chrony ("3.5"); an option (or -F level) that release does not have is refused.
    """
    errors = validate_daemon_options(options)
    if errors:
        raise RenderError("refusing to write chronyd's options: " + "; ".join(errors))
    version = _version(version)
    words = (options or "").split()
    for index, option in enumerate(words):
        value = words[index + 1] if index + 1 < len(words) else None
        _check_since(version, daemon_option_since(option, value), "chrony_daemon_options", "chronyd option " + option)
    if container and "-x" not in words:
        words.append("-x")
    return " ".join(words)
