# -*- coding: utf-8 -*-
# Copyright (c) 2025 fleetclock maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for the fleetclock.timesync.remediate playbook (docs: one YAML file per filter beside this file)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.fleetclock.timesync.plugins.module_utils.remediate import validate_options


def remediate_validate_options(options):
    """Return a list of error strings for a dict of fleetclock_remediate_* options (empty: valid)."""
    if not isinstance(options, dict):
        raise AnsibleFilterError("remediate_validate_options expects a dict of fleetclock_remediate_* options, got %r"
                                 % (options,))
    return validate_options(dict(options))


class FilterModule:
    """fleetclock.timesync remediate filters."""

    def filters(self):
        return {"remediate_validate_options": remediate_validate_options}
