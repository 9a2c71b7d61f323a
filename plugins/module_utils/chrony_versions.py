# -*- coding: utf-8 -*-
# Copyright (c) 2025 fleetclock maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What each chrony release accepts, as data: the role renders and validates only what the target's chrony knows.

Pure functions only (stdlib, Python 3.8+).  The chrony each distribution version ships is data in the role
(``__chrony_versions`` in roles/chrony/vars/main.yml); this module holds the other half: for everything the role
can write (its directives, the options of ``server``/``pool``/``refclock`` lines, chronyd's command-line options)
and for the newer directives a user may put in ``chrony_extra_lines``, the chrony release that introduced it.
Sources: chrony's NEWS (mlichvar/chrony; 4.0-4.3 also /usr/share/doc/chrony/NEWS.gz of Debian 12's chrony 4.3).

OLDEST is the oldest chrony the role supports (Ubuntu 20.04's 3.5): a feature marked OLDEST exists in every
supported release (chrony 3.5 or earlier introduced it).
"""

from __future__ import annotations

import re

OLDEST = (3, 5)
_V4_0 = (4, 0)

# The directives the role writes itself (chrony_render.render_config), with the release that introduced each.
DIRECTIVES = {
    "server": OLDEST, "pool": OLDEST, "refclock": OLDEST, "driftfile": OLDEST, "makestep": OLDEST,
    "minsources": OLDEST, "maxdistance": OLDEST, "rtcsync": OLDEST, "keyfile": OLDEST, "leapsectz": OLDEST,
    "logdir": OLDEST, "log": OLDEST, "allow": OLDEST, "deny": OLDEST, "local": OLDEST, "cmdport": OLDEST,
    "bindcmdaddress": OLDEST,
    "ntsdumpdir": _V4_0,  # NEWS 4.0: NTS
    # the air-gap plan's NTS directives (chrony_airgap_nts); with NTS itself, assumed as for EXTRA_DIRECTIVES_SINCE
    "ntsservercert": _V4_0, "ntsserverkey": _V4_0, "ntstrustedcerts": _V4_0, "nocerttimecheck": _V4_0,
}

# Options of server/pool lines (chrony_options.SOURCE_OPTIONS) newer than OLDEST; every other one is OLDEST
# (NEWS: offset 3.0, mindelay/asymmetry 3.2, burst 3.3, filter 3.4, trust/require 2.3).
SOURCE_OPTIONS_SINCE = {
    "nts": _V4_0,       # NEWS 4.0: NTS
    "ntsport": _V4_0,   # NEWS 4.0: NTS
    "copy": (4, 1),     # NEWS 4.1: "Add copy option to server/pool directive"
}

# Options of refclock lines (chrony_options.REFCLOCK_OPTIONS) newer than OLDEST (NEWS: maxlockage 3.0,
# pps/width 3.2, stratum/tai 3.3).
REFCLOCK_OPTIONS_SINCE = {
    "local": (4, 3),    # NEWS 4.3: "Add local option to refclock directive"
}

# chronyd's command-line options (chrony_settings.DAEMON_OPTIONS) newer than OLDEST; "-F 2" stands for the
# seccomp levels 2 and -2 (NEWS 4.1: "add less restrictive level"; 3.5 knows -1, 0 and 1).
DAEMON_OPTIONS_SINCE = {
    "-p": _V4_0,        # NEWS 4.0: "Add -p option to print whole configuration" (the role's parse check)
    "-L": _V4_0,        # NEWS 4.0
    "-U": _V4_0,        # NEWS 4.0
    "-F 2": (4, 1),     # NEWS 4.1
}

# Directives a user may write in chrony_extra_lines that are newer than OLDEST (NEWS 4.0: NTS, authselectmode,
# bind*device, confdir, sourcedir, clockprecision, dscp; 4.2: NTP over PTP). Names of the NTS directives as in
# chrony 4.3's chrony.conf(5); that each came with 4.0 (with NTS itself) is assumed, not read in NEWS.
EXTRA_DIRECTIVES_SINCE = dict(
    [(name, _V4_0) for name in (
        "authselectmode", "binddevice", "bindacqdevice", "bindcmddevice", "confdir", "sourcedir", "clockprecision",
        "dscp", "ntsdumpdir", "ntsntpserver", "ntsport", "ntsprocesses", "ntsratelimit", "ntsrefresh", "ntsrotate",
        "ntsservercert", "ntsserverkey", "ntstrustedcerts", "nosystemcert", "maxntsconnections", "nocerttimecheck")]
    + [("ptpport", (4, 2))])

# The kinds of entry (chrony_options.ENTRY_KINDS) and the table of each one's options.
ENTRY_OPTIONS_SINCE = {"source": SOURCE_OPTIONS_SINCE, "refclock": REFCLOCK_OPTIONS_SINCE}

_VERSION_RE = re.compile(r"([0-9]+)\.([0-9]+)")


def parse_version(text):
    """(major, minor) from "4.3" (also a float such as 4.3 from YAML); None if it is not major.minor."""
    if isinstance(text, bool) or not isinstance(text, (str, int, float)):
        return None
    match = _VERSION_RE.fullmatch(str(text).strip())
    return (int(match.group(1)), int(match.group(2))) if match else None


def version_text(version):
    return "%d.%d" % tuple(version)


def has(version, since):
    """Whether chrony ``version`` ((major, minor)) has a feature introduced in ``since`` (None: it always has)."""
    return since is None or tuple(version) >= tuple(since)


def option_since(kind, name):
    """The release that introduced option ``name`` of an entry ``kind`` ("source"/"refclock")."""
    return ENTRY_OPTIONS_SINCE[kind].get(name, OLDEST)


def daemon_option_since(word, value=None):
    """The release that introduced chronyd option ``word`` (with ``value``: -F's level)."""
    if word == "-F" and str(value).lstrip("-") == "2":
        return DAEMON_OPTIONS_SINCE["-F 2"]
    return DAEMON_OPTIONS_SINCE.get(word, OLDEST)


def can_print_config(version):
    """Whether ``chronyd -p -f FILE`` (parse and print the file, then exit) exists in chrony ``version``."""
    return has(version, DAEMON_OPTIONS_SINCE["-p"])


def has_nts(version):
    return has(version, SOURCE_OPTIONS_SINCE["nts"])


def shipped_version(versions, distribution, family, major):
    """The chrony a distribution version ships, from the role's ``__chrony_versions`` table.

    ``versions``: {distribution or family: {major: "x.y"}}; the distribution's own entry wins over its family's
    (Rocky, AlmaLinux, CentOS use RedHat's).  A major version the table does not list gets the chrony of the
    closest older one listed (releases only add what chrony accepts, so this never renders too much for a newer
    release); None when nothing fits (an unknown distribution, or older than every version listed).
    """
    table = (versions or {}).get(distribution) or (versions or {}).get(family)
    try:
        wanted = int(str(major))
    except ValueError:
        return None
    if not isinstance(table, dict):
        return None
    listed = sorted((int(str(k)), v) for k, v in table.items() if str(k).isdigit())
    older = [v for k, v in listed if k <= wanted]
    return str(older[-1]) if older else None


def _needs(var, what, since, version, os_label, fix):
    return "%s: %s needs chrony %s or later; %s ships chrony %s, so %s" % (
        var, what, version_text(since), os_label, version_text(version), fix)


def _entry_errors(kind, items, var, version, os_label):
    errors = []
    for index, item in enumerate(items if isinstance(items, list) else []):
        if not isinstance(item, dict):
            continue
        for name in item:
            since = ENTRY_OPTIONS_SINCE[kind].get(name)
            if since and item[name] is not None and item[name] is not False and not has(version, since):
                errors.append(_needs("%s[%d]" % (var, index), "option '%s'" % name, since, version, os_label,
                                     "remove %s" % name))
    return errors


def _daemon_errors(options, version, os_label, var="chrony_daemon_options"):
    words = options.split() if isinstance(options, str) else []
    errors = []
    for index, word in enumerate(words):
        value = words[index + 1] if index + 1 < len(words) else None
        since = daemon_option_since(word, value)
        if not has(version, since):
            what = "%s %s" % (word, value) if word == "-F" else word
            errors.append(_needs(var, "chronyd option %s" % what, since, version, os_label, "remove it"))
    return errors


def _extra_line_errors(lines, version, os_label, var="chrony_extra_lines"):
    errors = []
    for index, text in enumerate(lines if isinstance(lines, list) else []):
        words = text.split() if isinstance(text, str) else []
        since = EXTRA_DIRECTIVES_SINCE.get(words[0].lower()) if words else None
        if since and not has(version, since):
            errors.append(_needs("%s[%d]" % (var, index), "directive %s" % words[0], since, version, os_label,
                                 "remove the line"))
    return errors


def version_errors(settings, version, os_label, daemon_default=None):
    """Errors for settings the target's chrony ``version`` does not accept (each names the variable, the OS and
    the version).  ``settings``: the role's chrony_* variables; ``daemon_default``: the distribution's chronyd
    options, checked when chrony_daemon_options is None (the distribution's default)."""
    s = settings
    options = s.get("chrony_daemon_options")
    errors = _entry_errors("source", s.get("chrony_sources"), "chrony_sources", version, os_label)
    errors += _entry_errors("refclock", s.get("chrony_refclocks"), "chrony_refclocks", version, os_label)
    errors += _daemon_errors(daemon_default if options is None else options, version, os_label,
                             "the distribution's chronyd options" if options is None else "chrony_daemon_options")
    errors += _extra_line_errors(s.get("chrony_extra_lines"), version, os_label)
    return errors
