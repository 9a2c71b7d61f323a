# -*- coding: utf-8 -*-
# Copyright (c) 2025 fleetclock maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Debian's chrony swap, read before it happens (pure functions, no Ansible imports).

On Debian and Ubuntu, installing chrony removes the time daemon it conflicts with (systemd-timesyncd, ntpsec,
openntpd) in the same apt transaction: from then until chronyd starts, the host has no time daemon. The role
shortens that window (tasks/swap_check.yml): it asks apt what the install would do (``apt-get -s``), checks the
new chrony.conf with the chronyd of the downloaded package before anything is installed, and keeps the packages
the install removes so that a rollback reinstalls them without a repository (an offline site).

``parse_simulation`` reads ``apt-get -s install`` output (host output: sanitised, size-capped, linear);
``deb_pattern`` names the file apt keeps for a package version in its archive cache; ``kept_debs`` picks, per
package, the newest kept file a rollback installs.
"""

from __future__ import annotations

import fnmatch
import re

from ansible_collections.fleetclock.timesync.plugins.module_utils.hostout import MAX_OUTPUT, over_cap, sanitise

# Debian policy: package names are lower-case letters, digits, + - . (apt adds :ARCH for foreign ones);
# versions [epoch:]upstream[-revision] of letters, digits and . + ~ - :
_NAME = r"[a-z0-9][a-z0-9+.-]*(?::[a-z0-9-]+)?"
_VERSION = r"[A-Za-z0-9.+~:-]+"
# Inst NAME [OLD] (NEW ARCHIVES [ARCH])   -- an upgrade carries the installed version in brackets
_INST_RE = re.compile(r"Inst (%s)(?: \[%s\])? \((%s) [^\n\[\]]*\[([a-z0-9-]+)\]\)" % (_NAME, _VERSION, _VERSION))
_REMV_RE = re.compile(r"Remv (%s) \[(%s)\]" % (_NAME, _VERSION))


class SwapCheckError(ValueError):
    """apt's answer cannot be used to check the swap; the message says why."""


def _package(name):
    """The package name without apt's :ARCH suffix."""
    return name.split(":", 1)[0]


def parse_simulation(text, package="chrony"):
    """``apt-get -s install PACKAGE`` output -> {"install": [{name, version, arch, deb}],
    "remove": [{name, version, pattern, spec}]}: ``deb`` is the file apt downloads into its archive cache,
    ``pattern`` a glob for the file of a removed package there, ``spec`` NAME=VERSION for ``apt-get download``.

    Raises SwapCheckError when the output is too large or does not install ``package``."""
    if not isinstance(text, str):
        raise SwapCheckError("apt-get -s printed no text")
    if over_cap(text, MAX_OUTPUT):
        raise SwapCheckError("apt-get -s printed more than %d bytes" % MAX_OUTPUT)
    text = sanitise(text)
    install, remove = [], []
    for line in text.splitlines():
        match = _INST_RE.match(line)
        if match:
            item = {"name": _package(match.group(1)), "version": match.group(2), "arch": match.group(3)}
            install.append(dict(item, deb=deb_file(item)))
            continue
        match = _REMV_RE.match(line)
        if match:
            item = {"name": _package(match.group(1)), "version": match.group(2)}
            remove.append(dict(item, pattern=deb_pattern(item), spec="%s=%s" % (item["name"], item["version"])))
    if not any(item["name"] == package for item in install):
        last = [line for line in text.splitlines() if line.strip()][-3:]
        raise SwapCheckError("apt-get -s does not install %s: %s" % (package, " / ".join(last) or "no output"))
    return {"install": install, "remove": remove}


def deb_name(version):
    """A version as apt writes it into a cached file name (the epoch's ':' becomes '%3a')."""
    return version.replace(":", "%3a")


def deb_file(item):
    """The file apt keeps in /var/cache/apt/archives for an Inst entry (name, version, arch)."""
    return "%s_%s_%s.deb" % (item["name"], deb_name(item["version"]), item["arch"])


def deb_pattern(item):
    """A glob for the cached file of a Remv entry (name, version; apt does not print its architecture)."""
    return "%s_%s_*.deb" % (item["name"], deb_name(item["version"]))


def _named(files):
    """(file name, find result) of each find result (dicts with a path)."""
    return [(str(f.get("path", "")).rsplit("/", 1)[-1], f) for f in files or [] if isinstance(f, dict)]


def unkept(remove, files):
    """The ``remove`` entries whose file is not among ``files`` (find results: dicts with a path)."""
    names = [name for name, dummy in _named(files)]
    return [item for item in remove or [] if not fnmatch.filter(names, item["pattern"])]


def kept_debs(files, packages):
    """The newest kept .deb per package (find results: dicts with path and mtime), in ``packages``' order."""
    out = []
    for package in packages or []:
        prefix = "%s_" % package
        mine = [f for name, f in _named(files) if name.startswith(prefix)]
        if mine:
            out.append(max(mine, key=lambda f: (f.get("mtime") or 0, f["path"]))["path"])
    return out


def library_dirs(files):
    """The directories of the shared libraries unpacked from the packages (find results), for LD_LIBRARY_PATH."""
    dirs = []
    for f in files or []:
        path = str(f.get("path", "")) if isinstance(f, dict) else ""
        if "/" in path:
            folder = path.rsplit("/", 1)[0]
            if folder not in dirs:
                dirs.append(folder)
    return ":".join(dirs)
