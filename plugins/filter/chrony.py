# -*- coding: utf-8 -*-
# Copyright (c) 2025 fleetclock maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for the fleetclock.timesync.chrony role (docs: one YAML file per filter beside this file)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.fleetclock.timesync.plugins.module_utils.airgap import (
    apply_plan,
    build_plan,
    foreign_source_lines,
)
from ansible_collections.fleetclock.timesync.plugins.module_utils.chrony_clouds import (
    cloud_choices,
    detect_cloud,
    effective_leapsectz,
    resolve_sources,
    validate_resolved,
)
from ansible_collections.fleetclock.timesync.plugins.module_utils.chrony_options import validate_entries, validate_entry
from ansible_collections.fleetclock.timesync.plugins.module_utils.chrony_settings import validate_settings
from ansible_collections.fleetclock.timesync.plugins.plugin_utils.nts_certs import check_nts_files
from ansible_collections.fleetclock.timesync.plugins.module_utils.chrony_render import (
    RenderError,
    render_config,
    render_daemon_options,
    render_entry,
)
from ansible_collections.fleetclock.timesync.plugins.module_utils.chrony_versions import (
    can_print_config,
    has_nts,
    parse_version,
    shipped_version,
    version_errors,
)
from ansible_collections.fleetclock.timesync.plugins.module_utils.swap_check import (
    SwapCheckError,
    kept_debs,
    library_dirs,
    parse_simulation,
    unkept,
)
from ansible_collections.fleetclock.timesync.plugins.module_utils.values import as_bool


def _checked(errors):
    if errors:
        raise AnsibleFilterError("; ".join(errors))


def _rendered(render, *args):
    try:
        return render(*args)
    except RenderError as exc:
        raise AnsibleFilterError(to_native(exc))


def chrony_source_line(source):
    """Render one source dict as a chrony.conf line (fails on invalid input)."""
    _checked(validate_entry("source", source, 0, "source"))
    return _rendered(render_entry, "source", source, "source")


def chrony_refclock_line(refclock):
    """Render one refclock dict as a chrony.conf line (fails on invalid input)."""
    _checked(validate_entry("refclock", refclock, 0, "refclock"))
    return _rendered(render_entry, "refclock", refclock, "refclock")


def chrony_config_lines(config):
    """The lines of chrony.conf from the role's resolved values; fails on anything that is not safe to write."""
    if not isinstance(config, dict):
        raise AnsibleFilterError("chrony_config_lines expects a dict of resolved values, got %r" % (config,))
    return _rendered(render_config, config)


def chrony_daemon_options(options, container=False, version=None):
    """chronyd's command-line options for the service's options file (checked), plus -x in a container."""
    return _rendered(render_daemon_options, options, as_bool(container) is True, version)


def _parsed_version(version, name):
    parsed = parse_version(version)
    if parsed is None:
        raise AnsibleFilterError("%s expects a chrony version such as 4.3, got %r" % (name, version))
    return parsed


def chrony_shipped_version(facts, versions):
    """The chrony version the host's distribution version ships (from the role's table), or none."""
    if not isinstance(facts, dict) or not isinstance(versions, dict):
        raise AnsibleFilterError("chrony_shipped_version expects the host's facts and the versions table (dicts), "
                                 "got %r, %r" % (type(facts).__name__, type(versions).__name__))
    return shipped_version(versions, facts.get("distribution"), facts.get("os_family"),
                           facts.get("distribution_major_version"))


def chrony_version_features(version):
    """What the role's tasks need to know of a chrony version: parse check (chronyd -p) and NTS."""
    parsed = _parsed_version(version, "chrony_version_features")
    return {"version": "%d.%d" % parsed, "print_config": can_print_config(parsed), "nts": has_nts(parsed)}


def chrony_validate_version(settings, version, os_label, daemon_default=None):
    """Errors for settings that chrony ``version`` (on ``os_label``) does not accept (empty: none)."""
    if not isinstance(settings, dict):
        raise AnsibleFilterError("chrony_validate_version expects a dict of chrony_* settings, got %r" % (settings,))
    return version_errors(settings, _parsed_version(version, "chrony_validate_version"), to_native(os_label),
                          daemon_default)


def chrony_validate_sources(sources, var="chrony_sources"):
    """Return a list of error strings for a list of source dicts (empty: valid)."""
    return validate_entries("source", sources, to_native(var))


def chrony_validate_refclocks(refclocks, var="chrony_refclocks"):
    """Return a list of error strings for a list of refclock dicts (empty: valid)."""
    return validate_entries("refclock", refclocks, to_native(var))


def chrony_validate_config(settings, resolved=None, profiles=None):
    """Return a list of error strings for the role's settings and, if given, the resolved sources."""
    if not isinstance(settings, dict):
        raise AnsibleFilterError("chrony_validate_config expects a dict of chrony_* settings, got %r" % (settings,))
    errors = validate_settings(settings, cloud_choices(profiles) if profiles is not None else None)
    if resolved is not None and not errors:
        errors.extend(validate_resolved(resolved, settings))
    return errors


def chrony_detect_cloud(facts, profiles):
    """Return the cloud whose profile's detect rules match the DMI facts, or none."""
    if not isinstance(facts, dict) or not isinstance(profiles, dict):
        raise AnsibleFilterError("chrony_detect_cloud expects a dict of DMI facts and the cloud profiles, got %r, %r"
                                 % (facts, type(profiles).__name__))
    return detect_cloud(facts, profiles)


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
        "master": as_bool(_hostvar(hostvars, name, "chrony_airgap_master", False)) is True,
        "address": _hostvar(hostvars, name, "chrony_airgap_address") or _hostvar(hostvars, name, "ansible_host") or name,
        "ips": list(ips),
        # None: set, but cannot be evaluated here (a template on facts that were not gathered)
        "client_networks": None if networks is _UNKNOWN else list(networks or []),
        # the inventory's own sources (the role never changes chrony_sources)
        "sources": list(_hostvar(hostvars, name, "chrony_sources", []) or []),
        # NTS: whether the host serves/uses it and the master's certificate (the site's default trust)
        "nts": as_bool(_hostvar(hostvars, name, "chrony_airgap_nts", False)) is True,
        "nts_cert": _hostvar(hostvars, name, "chrony_airgap_nts_cert"),
    }


def chrony_airgap_plan(hostvars, me, groups, own=None, play_hosts=None, masters_group="time_masters",
                       stratum=8, source_options=None, minsources=None, nts=None):
    """Plan this host of an air-gapped site from the inventory (see module_utils/airgap.py)."""
    groups = dict((to_native(k), list(v)) for k, v in dict(groups).items())
    records = dict((name, _airgap_record(hostvars, name)) for name in groups.get("all", []))
    record = records.setdefault(to_native(me), {})
    record.update(dict(own or {}))
    return build_plan(to_native(me), records, groups, play_hosts=list(play_hosts) if play_hosts is not None else None,
                      masters_group=to_native(masters_group), stratum=int(stratum),
                      source_options=dict(source_options or {}), minsources=minsources,
                      nts=dict(nts) if isinstance(nts, dict) else nts)


def chrony_airgap_nts_check(contents, nts, master=None, now=None):
    """Check the NTS files an air-gap plan deploys, on the controller: ``contents`` are the texts of
    ``nts.controller_files`` (same order); see module_utils/nts_certs.py."""
    nts = dict(nts or {})
    return check_nts_files(dict(zip(nts.get("controller_files") or [], [to_native(c) for c in contents])), nts,
                           master=master, now=now)


def chrony_airgap_apply(settings, plan=None):
    """The role settings in effect: the user's, with this host's air-gap plan (if any) applied; never changes them."""
    if not isinstance(settings, dict) or not isinstance(plan, (dict, type(None))):
        raise AnsibleFilterError("chrony_airgap_apply expects a dict of chrony_* settings and a plan (dict or none), "
                                 "got %r, %r" % (type(settings).__name__, type(plan).__name__))
    return apply_plan(settings, plan)


def chrony_airgap_foreign_lines(text, allowed):
    """Lines of a rendered chrony.conf that take time from anything but the allowed hosts."""
    return foreign_source_lines(to_native(text), list(allowed or []))


def chrony_swap_plan(text, package="chrony"):
    """What ``apt-get -s install PACKAGE`` says the install adds and removes (fails when it adds no PACKAGE)."""
    try:
        return parse_simulation(to_native(text, errors="surrogate_then_replace"), to_native(package))
    except SwapCheckError as exc:
        raise AnsibleFilterError(to_native(exc))


def chrony_kept_debs(files, packages):
    """The newest kept .deb per package, from find's files."""
    return kept_debs(files, [to_native(p) for p in packages or []])


def chrony_swap_unkept(remove, files):
    """The packages of chrony_swap_plan's ``remove`` that have no file among find's files."""
    return unkept(remove, files)


def chrony_library_dirs(files):
    """LD_LIBRARY_PATH for the shared libraries find listed."""
    return library_dirs(files)


class FilterModule:
    """fleetclock.timesync chrony filters."""

    def filters(self):
        return {
            "chrony_source_line": chrony_source_line,
            "chrony_refclock_line": chrony_refclock_line,
            "chrony_config_lines": chrony_config_lines,
            "chrony_daemon_options": chrony_daemon_options,
            "chrony_shipped_version": chrony_shipped_version,
            "chrony_version_features": chrony_version_features,
            "chrony_validate_version": chrony_validate_version,
            "chrony_validate_sources": chrony_validate_sources,
            "chrony_validate_refclocks": chrony_validate_refclocks,
            "chrony_validate_config": chrony_validate_config,
            "chrony_detect_cloud": chrony_detect_cloud,
            "chrony_resolve_sources": chrony_resolve_sources,
            "chrony_leapsectz": chrony_leapsectz,
            "chrony_airgap_plan": chrony_airgap_plan,
            "chrony_airgap_apply": chrony_airgap_apply,
            "chrony_airgap_nts_check": chrony_airgap_nts_check,
            "chrony_airgap_foreign_lines": chrony_airgap_foreign_lines,
            "chrony_swap_plan": chrony_swap_plan,
            "chrony_kept_debs": chrony_kept_debs,
            "chrony_library_dirs": chrony_library_dirs,
            "chrony_swap_unkept": chrony_swap_unkept,
        }
