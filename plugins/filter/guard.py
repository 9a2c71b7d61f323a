# -*- coding: utf-8 -*-
# Copyright (c) 2025 fleetclock maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for the fleetclock.timesync.audit_schedule role (docs: one YAML file per filter beside this file)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.fleetclock.timesync.plugins.module_utils.guard_options import (
    GuardOptionError,
    checked_word,
    guard_option_errors,
)


def audit_schedule_errors(options):
    """Messages naming each audit_schedule_* value that must not be written (empty: all safe)."""
    if not isinstance(options, dict):
        raise AnsibleFilterError("audit_schedule_errors expects a dict of the role's variables, got %r" % (options,))
    return guard_option_errors(options)


def audit_schedule_word(value, var):
    """``value`` unchanged when it is safe to write where ``var`` goes; fails naming ``var`` otherwise."""
    try:
        return checked_word(value, var)
    except GuardOptionError as exc:
        raise AnsibleFilterError(str(exc))


class FilterModule:
    """fleetclock.timesync audit_schedule filters."""

    def filters(self):
        return {
            "audit_schedule_errors": audit_schedule_errors,
            "audit_schedule_word": audit_schedule_word,
        }
