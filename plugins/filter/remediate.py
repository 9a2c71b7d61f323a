# -*- coding: utf-8 -*-
# Copyright (c) 2025 fleetclock maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for the fleetclock.timesync.remediate playbook and the chrony role's snapshot and rollback entry points
(docs: one YAML file per filter beside this file)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.fleetclock.timesync.plugins.module_utils.remediate import validate_options
from ansible_collections.fleetclock.timesync.plugins.module_utils.snapshot import (
    SnapshotError,
    build_snapshot,
    is_snapshot_document,
    rollout_results,
    snapshot_document,
)


def remediate_validate_options(options):
    """Return a list of error strings for a dict of fleetclock_remediate_* options (empty: valid)."""
    if not isinstance(options, dict):
        raise AnsibleFilterError("remediate_validate_options expects a dict of fleetclock_remediate_* options, got %r"
                                 % (options,))
    return validate_options(dict(options))


def chrony_snapshot(role, packages, services, files, config_dir_exists):
    """A host's time-daemon snapshot (see module_utils/snapshot.py)."""
    try:
        return build_snapshot(dict(role), dict(packages or {}), dict(services or {}), dict(files or {}),
                              config_dir_exists)
    except SnapshotError as exc:
        raise AnsibleFilterError("chrony_snapshot: %s" % exc)


def chrony_snapshot_document(snapshot, host, taken_at):
    """The snapshot as written before the first change (controller and host)."""
    return snapshot_document(to_native(host), dict(snapshot), to_native(taken_at))


def chrony_is_snapshot(doc, host=None):
    """True for a snapshot document of this host."""
    return is_snapshot_document(doc, to_native(host) if host is not None else None)


def remediate_results(hosts, hostvars, key="__fleetclock_remediate_result", attempted=None):
    """{host: result} for the hosts that recorded one; a host of ``attempted`` without one is ``failed``."""
    batches = {to_native(k): int(v) for k, v in (attempted or {}).items()}
    return rollout_results(hostvars, [to_native(h) for h in hosts or []], to_native(key), batches)


class FilterModule:
    """fleetclock.timesync remediate filters."""

    def filters(self):
        return {
            "remediate_validate_options": remediate_validate_options,
            "remediate_results": remediate_results,
            "chrony_snapshot": chrony_snapshot,
            "chrony_snapshot_document": chrony_snapshot_document,
            "chrony_is_snapshot": chrony_is_snapshot,
        }
