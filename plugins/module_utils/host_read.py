# -*- coding: utf-8 -*-
# Copyright (c) 2025 fleetclock maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Named systemd units and packages, read on the managed host (the module host_state; no Ansible imports).

The chrony role needs the state of four or five units and of a handful of packages, where ``service_facts`` and
``package_facts`` list every unit and every package of the host (2.2 s and 1.5 s per call over docker, three and
two calls per host in each remediate run). Here the commands are given the names:

- ``systemctl show --property=Id,LoadState,ActiveState,SubState,UnitFileState -- a.service b.service``, parsed
  by ``parse_systemctl_show`` and shaped by ``service_entries`` like ``service_facts``'s ``services``:
  ``{"a.service": {"name", "state", "status", "source": "systemd"}}`` with ``state`` ``running`` or ``stopped``
  and ``status`` the unit-file state (``enabled``, ``disabled``, ``static``, ``masked``...) or, for a unit
  without a unit file, its load state (``not-found``). A unit that does not exist and does not run is left out.
  One difference from ``service_facts``: a failed unit's ``status`` is its unit-file state (``enabled``), not
  ``failed`` (which hid an enabled, failed time daemon from the role's stop-and-disable task and its snapshot).
- ``dpkg-query -W`` or ``rpm -q`` with the names, parsed by ``parse_dpkg_query`` / ``parse_rpm_query`` into
  ``package_facts``'s shape for the installed ones: ``{name: [{"name", "version", "source"}]}``.

Host output is untrusted: every parser takes at most ``MAX_OUTPUT`` characters, keeps only the names it was
asked about and only values made of the characters such fields have.
"""

from __future__ import annotations

import re

MAX_OUTPUT = 65536
SHOW_PROPERTIES = ("Id", "LoadState", "ActiveState", "SubState", "UnitFileState")
# unit names as systemd allows them (letters, digits, ":-_.\\@"), packages as Debian and RPM allow them
_UNIT = re.compile(r"^[A-Za-z0-9:_.\\@-]{1,255}$")
_PACKAGE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9+._-]{0,127}$")
_WORD = re.compile(r"^[a-z-]{1,40}$")
_VERSION = re.compile(r"^[A-Za-z0-9.+~:_-]{1,128}$")
# dpkg states in which the package's files are not on the host
_DPKG_ABSENT = ("not-installed", "config-files")


class HostReadError(ValueError):
    """A unit or package name that is not one."""


def unit_name(name):
    """'chrony' -> 'chrony.service'; a name with a unit suffix is kept."""
    if not isinstance(name, str) or not _UNIT.match(name):
        raise HostReadError("not a systemd unit name: %r" % (name,))
    return name if "." in name else name + ".service"


def package_name(name):
    if not isinstance(name, str) or not _PACKAGE.match(name):
        raise HostReadError("not a package name: %r" % (name,))
    return name


def parse_systemctl_show(text, units):
    """{unit: {property: value}} from `systemctl show` of ``units`` (blocks in the order asked, blank-line separated)."""
    wanted = set(units)
    shown, block = {}, {}
    for line in (text or "")[:MAX_OUTPUT].splitlines() + [""]:
        if not line.strip():
            unit = block.get("Id")
            if unit in wanted:
                shown[unit] = block
            block = {}
            continue
        key, sep, value = line.partition("=")
        if sep and key in SHOW_PROPERTIES:
            value = value.strip()
            if key == "Id" and _UNIT.match(value):
                block[key] = value
            elif key != "Id" and (value == "" or _WORD.match(value)):
                block[key] = value
    return shown


def service_entries(shown):
    """service_facts-shaped entries for the shown units that exist or run (see the module docstring)."""
    services = {}
    for unit, props in shown.items():
        running = props.get("SubState") == "running"
        status = props.get("UnitFileState") or props.get("LoadState") or "unknown"
        if status == "not-found" and not running:
            continue
        services[unit] = {"name": unit, "state": "running" if running else "stopped", "status": status,
                          "source": "systemd"}
    return services


def parse_dpkg_query(text, names):
    """Installed packages of ``names`` from `dpkg-query -W -f '${Package}\\t${Version}\\t${db:Status-Status}\\n'`."""
    wanted, found = set(names), {}
    for line in (text or "")[:MAX_OUTPUT].splitlines():
        fields = line.split("\t")
        if len(fields) != 3:
            continue
        name, version, status = (field.strip() for field in fields)
        # multi-arch packages are shown as name:arch by some dpkg versions
        name = name.split(":", 1)[0]
        if name in wanted and status not in _DPKG_ABSENT and _WORD.match(status) and _VERSION.match(version):
            found.setdefault(name, []).append({"name": name, "version": version, "source": "apt"})
    return found


def parse_rpm_query(text, names):
    """Installed packages of ``names`` from `rpm -q --qf '%{NAME}\\t%{VERSION}-%{RELEASE}\\n'` ("package x is not
    installed" lines have no tab and are skipped)."""
    wanted, found = set(names), {}
    for line in (text or "")[:MAX_OUTPUT].splitlines():
        fields = line.split("\t")
        if len(fields) != 2:
            continue
        name, version = (field.strip() for field in fields)
        if name in wanted and _VERSION.match(version):
            found.setdefault(name, []).append({"name": name, "version": version, "source": "rpm"})
    return found
