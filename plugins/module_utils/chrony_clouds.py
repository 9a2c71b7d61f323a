# -*- coding: utf-8 -*-
# Copyright (c) 2025 fleetclock maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Clouds and source resolution for the fleetclock.timesync.chrony role.

Pure functions only (stdlib, Python 3.8+).  A cloud is data: its profile (roles/chrony/vars/main.yml,
``__chrony_cloud_profiles``) holds its sources, refclocks, settings and the DMI rule that detects it, so adding a
cloud is adding a profile.  ``cloud_choices`` derives chrony_cloud's allowed values from the same profiles.
"""

from __future__ import annotations

from ansible_collections.fleetclock.timesync.plugins.module_utils.chrony_values import show

_UNREADABLE = ("NA", "None", "Not Specified", "Default string")


def cloud_choices(profiles):
    """chrony_cloud's allowed values: auto, every profile's name (in the profiles' order), none."""
    return ("auto",) + tuple(profiles) + ("none",)


def _fact(facts, name):
    """Read a DMI fact, accepting both ``system_vendor`` and ``ansible_system_vendor`` keys."""
    value = facts.get(name, facts.get("ansible_" + name))
    if not isinstance(value, str):
        return ""
    value = value.strip()
    return "" if value in _UNREADABLE else value


def rule_matches(rule, facts):
    """One detection rule: ``{fact, equals | prefix, ignore_case}`` against the DMI facts."""
    value = _fact(facts, rule["fact"])
    expected = rule.get("equals", rule.get("prefix", ""))
    if rule.get("ignore_case"):
        value, expected = value.lower(), expected.lower()
    if "equals" in rule:
        return value == expected
    return bool(expected) and value.startswith(expected)


def detect_cloud(facts, profiles):
    """The first profile (in order) any of whose ``detect`` rules matches the DMI facts, or "none".

    ``facts`` holds the DMI facts Ansible gathers (keys with or without the ``ansible_`` prefix):
    system_vendor, product_name, product_uuid, product_serial, chassis_asset_tag.  Unreadable facts are "NA".
    """
    facts = facts or {}
    for name, profile in profiles.items():
        if any(rule_matches(rule, facts) for rule in profile.get("detect", [])):
            return name
    return "none"


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
            "(%s); set chrony_leapsectz: auto or an empty string" % (resolved.get("cloud"), show(leapsectz)))
    if not resolved.get("sources") and not resolved.get("refclocks") and not settings.get("chrony_local"):
        errors.append("chrony_sources: no time source is left (no cloud profile, no chrony_sources, no chrony_refclocks, "
                      "no chrony_local); add a source or set chrony_local for an isolated master")
    return errors


def effective_leapsectz(setting, leap_smearing, default="right/UTC"):
    """The leapsectz value to write: ``auto`` means the default unless the sources smear leap seconds."""
    if setting == "auto":
        return "" if leap_smearing else (default or "")
    return setting or ""
