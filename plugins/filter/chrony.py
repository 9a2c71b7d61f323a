# -*- coding: utf-8 -*-
# Copyright (c) 2025 fleetclock maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for the fleetclock.timesync.chrony role (docs: one YAML file per filter beside this file)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_native
from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.fleetclock.timesync.plugins.module_utils.airgap import build_plan, foreign_source_lines
from ansible_collections.fleetclock.timesync.plugins.module_utils.chrony_config import (
    detect_cloud,
    effective_leapsectz,
    render_refclock_line,
    render_source_line,
    resolve_sources,
    validate_refclock,
    validate_refclocks,
    validate_resolved,
    validate_settings,
    validate_source,
    validate_sources,
)


def _checked(errors):
    if errors:
        raise AnsibleFilterError("; ".join(errors))


def chrony_source_line(source):
    """Render one source dict as a chrony.conf line (fails on invalid input)."""
    _checked(validate_source(source, 0, "source"))
    return render_source_line(source)


def chrony_refclock_line(refclock):
    """Render one refclock dict as a chrony.conf line (fails on invalid input)."""
    _checked(validate_refclock(refclock, 0, "refclock"))
    return render_refclock_line(refclock)


def chrony_validate_sources(sources, var="chrony_sources"):
    """Return a list of error strings for a list of source dicts (empty: valid)."""
    return validate_sources(sources, to_native(var))


def chrony_validate_refclocks(refclocks, var="chrony_refclocks"):
    """Return a list of error strings for a list of refclock dicts (empty: valid)."""
    return validate_refclocks(refclocks, to_native(var))


def chrony_validate_config(settings, resolved=None):
    """Return a list of error strings for the role's settings and, if given, the resolved sources."""
    if not isinstance(settings, dict):
        raise AnsibleFilterError("chrony_validate_config expects a dict of chrony_* settings, got %r" % (settings,))
    errors = validate_settings(settings)
    if resolved is not None and not errors:
        errors.extend(validate_resolved(resolved, settings))
    return errors


def chrony_detect_cloud(facts):
    """Return aws, gcp, azure, oci, alibaba or none from a dict of DMI facts."""
    if not isinstance(facts, dict):
        raise AnsibleFilterError("chrony_detect_cloud expects a dict of DMI facts, got %r" % (facts,))
    return detect_cloud(facts)


def chrony_resolve_sources(cloud, profiles, user_sources=None, user_refclocks=None, mode="append",
                           default_sources=None, present_devices=None, aws_ipv6=False, cloud_phc="auto",
                           local_enabled=False):
    """Combine the cloud profile, the user's sources and the distribution default."""
    if not isinstance(profiles, dict):
        raise AnsibleFilterError("chrony_resolve_sources expects a dict of cloud profiles, got %r" % (profiles,))
    return resolve_sources(cloud, profiles, user_sources=user_sources, user_refclocks=user_refclocks, mode=mode,
                           default_sources=default_sources, present_devices=present_devices,
                           aws_ipv6=aws_ipv6, cloud_phc=cloud_phc, local_enabled=local_enabled)


def chrony_leapsectz(setting, leap_smearing=False, default="right/UTC"):
    """Return the leapsectz to write ('' for none)."""
    return effective_leapsectz(setting, leap_smearing, default)


_UNKNOWN = object()


def _hostvar(hostvars, name, key, default=None, unknown=None):
    """A variable of another host; ``unknown`` when its template fails (e.g. facts of a host not gathered)."""
    try:
        value = hostvars[name].get(key, default)
    except Exception:  # pylint: disable=broad-except  # an undefined or failing template: not known
        return default if unknown is None else unknown
    return default if value is None else value


def _airgap_record(hostvars, name):
    facts = _hostvar(hostvars, name, "ansible_facts", {}) or {}
    ips = facts.get("all_ipv4_addresses") or []
    networks = _hostvar(hostvars, name, "chrony_airgap_client_networks", [], unknown=_UNKNOWN)
    return {
        "site": _hostvar(hostvars, name, "chrony_airgap_site"),
        "master": boolean(_hostvar(hostvars, name, "chrony_airgap_master", False), strict=False),
        "address": _hostvar(hostvars, name, "chrony_airgap_address") or _hostvar(hostvars, name, "ansible_host") or name,
        "ips": list(ips),
        # None: set, but cannot be evaluated here (a template on facts that were not gathered)
        "client_networks": None if networks is _UNKNOWN else list(networks or []),
        # the inventory's sources: once the role planned a host, its chrony_sources are the plan's (set_fact)
        "sources": list(_hostvar(hostvars, name, "__chrony_airgap_user_sources",
                                 _hostvar(hostvars, name, "chrony_sources", [])) or []),
    }


def chrony_airgap_plan(hostvars, me, groups, own=None, play_hosts=None, masters_group="time_masters",
                       stratum=8, source_options=None, minsources=None):
    """Plan this host of an air-gapped site from the inventory (see module_utils/airgap.py)."""
    groups = dict((to_native(k), list(v)) for k, v in dict(groups).items())
    records = dict((name, _airgap_record(hostvars, name)) for name in groups.get("all", []))
    record = records.setdefault(to_native(me), {})
    record.update(dict(own or {}))
    return build_plan(to_native(me), records, groups, play_hosts=list(play_hosts) if play_hosts is not None else None,
                      masters_group=to_native(masters_group), stratum=int(stratum),
                      source_options=dict(source_options or {}), minsources=minsources)


def chrony_airgap_foreign_lines(text, allowed):
    """Lines of a rendered chrony.conf that take time from anything but the allowed hosts."""
    return foreign_source_lines(to_native(text), list(allowed or []))


class FilterModule:
    """fleetclock.timesync chrony filters."""

    def filters(self):
        return {
            "chrony_source_line": chrony_source_line,
            "chrony_refclock_line": chrony_refclock_line,
            "chrony_validate_sources": chrony_validate_sources,
            "chrony_validate_refclocks": chrony_validate_refclocks,
            "chrony_validate_config": chrony_validate_config,
            "chrony_detect_cloud": chrony_detect_cloud,
            "chrony_resolve_sources": chrony_resolve_sources,
            "chrony_leapsectz": chrony_leapsectz,
            "chrony_airgap_plan": chrony_airgap_plan,
            "chrony_airgap_foreign_lines": chrony_airgap_foreign_lines,
        }
