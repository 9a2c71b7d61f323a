# -*- coding: utf-8 -*-
# Copyright (c) 2025 fleetclock maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A host's time-daemon snapshot for a rollback, built from what Ansible read (pure functions, no Ansible imports).

``build_snapshot`` turns what the module host_state read (module_utils/file_read.py, host_read.py; shaped like
package_facts's packages and service_facts's services) into::

    {"state": {"chrony_installed": bool, "config": path, "config_checksum": str or None, "config_dir": bool,
               "files": {path: checksum or None}, "packages": [...], "services": {name: {"state", "enabled"}},
               "time_daemon_running": bool},
     "files": {path: None (absent) or {"content": base64, "mode": "0640", "owner": str, "group": str,
                                       "seuser"/"serole"/"setype"/"selevel": str or None}}}

``state`` is what the comparison reports (module_utils/compare.snapshot_changes); ``files`` is what a rollback
writes back, with the owner, group, mode and SELinux context the file had (an empty file is ``content: ""``,
not absent). ``rollout_results`` collects the per-host results for the comparison; ``is_snapshot_document``
checks a snapshot read back from disk after an interrupted run.
"""

from __future__ import annotations

SNAPSHOT_VERSION = 1


class SnapshotError(ValueError):
    """Raised for inputs that are not what the role's snapshot tasks register."""


def _secontext(text):
    """'user:role:type:level' (level may hold colons) -> the four copy-module fields; None -> all None."""
    parts = (text or "").strip().split(":", 3)
    if len(parts) < 3 or parts[0] in ("", "?"):
        return {"seuser": None, "serole": None, "setype": None, "selevel": None}
    return {"seuser": parts[0], "serole": parts[1], "setype": parts[2], "selevel": parts[3] if len(parts) > 3 else None}


def _services(services, names, unit_file_states):
    """The tracked units that exist: a unit without a unit file counts as absent unless it runs."""
    out = {}
    for name in names:
        svc = (services or {}).get(name + ".service") or {}
        if not svc:
            continue
        status, state = svc.get("status") or "not-found", svc.get("state") or ""
        if status in unit_file_states or state == "running":
            out[name] = {"state": state or "unknown", "enabled": svc.get("status") or "unknown"}
    return out


def build_snapshot(role, packages, services, files, config_dir_exists):
    """The snapshot of one host; ``role`` holds the role's own OS data.

    ``role``: {"package", "service", "config", "files": [paths], "services": [units without .service],
    "packages": [names], "unit_file_states": [...]} (roles/chrony/vars).  ``files``: host_state's ``files``
    ({path: None or {"content", "checksum", "mode", "owner", "group", "secontext"}}).
    """
    if not isinstance(role, dict):
        raise SnapshotError("role must be a dict of the role's OS data, got %s" % type(role).__name__)
    missing = [key for key in ("package", "service", "config", "files", "services", "packages", "unit_file_states")
               if key not in role]
    if missing:
        raise SnapshotError("role misses %s" % ", ".join(missing))
    if not isinstance(files, dict):
        raise SnapshotError("files must be host_state's files {path: entry or null}, got %s" % type(files).__name__)
    packages = packages or {}
    saved, checksums = {}, {}
    for path in role["files"]:
        if path not in files:
            raise SnapshotError("%s was not read (host_state)" % path)
        entry = files[path]
        if entry is None:
            saved[path] = checksums[path] = None
            continue
        if not isinstance(entry, dict) or not isinstance(entry.get("content"), str):
            raise SnapshotError("%s: host_state returned no content" % path)
        checksums[path] = entry.get("checksum")
        kept = {"content": entry["content"], "mode": entry.get("mode"), "owner": entry.get("owner"),
                "group": entry.get("group")}
        kept.update(_secontext(entry.get("secontext")))
        saved[path] = kept
    names = [role["service"]] + [name for name in role["services"] if name != role["service"]]
    tracked = _services(services, names, list(role["unit_file_states"]))
    state = {
        "chrony_installed": role["package"] in packages,
        "config": role["config"],
        "config_checksum": checksums.get(role["config"]),
        "config_dir": bool(config_dir_exists),
        "files": checksums,
        "packages": [name for name in [role["package"]] + list(role["packages"]) if name in packages],
        "services": tracked,
        "time_daemon_running": any(svc["state"] == "running" for svc in tracked.values()),
    }
    return {"state": state, "files": saved}


def snapshot_document(host, snapshot, taken_at):
    """What is written on the controller and on the host before the first change."""
    return {"fleetclock_snapshot": SNAPSHOT_VERSION, "host": host, "taken_at": taken_at,
            "state": snapshot["state"], "files": snapshot["files"]}


def is_snapshot_document(doc, host=None):
    """True for a document snapshot_document wrote (for this host, when given)."""
    return (isinstance(doc, dict) and doc.get("fleetclock_snapshot") == SNAPSHOT_VERSION
            and isinstance(doc.get("state"), dict) and isinstance(doc.get("files"), dict)
            and (host is None or doc.get("host") == host))


# A host of a batch that recorded no outcome: it failed where no rescue runs (its connection was lost, or the
# controller could not reach it) - its state is unknown, and the snapshot written before its first change stays.
LOST_REASON = ("no outcome recorded: the host failed or became unreachable during its batch, state unknown; "
               "its snapshot stays on the controller (snapshots/%s.json beside the reports) and on the host: "
               "the next run resumes from it (fleetclock_remediate_resume)")


def rollout_results(hostvars, hosts, key, attempted=None):
    """{host: hostvars[host][key]} for the hosts that have it (the comparison's rollout input).

    ``attempted``: {host: batch number} of every host a batch started on; one of them without a result is
    ``failed`` with LOST_REASON (it was not "not attempted": it may be half changed)."""
    out = {}
    for name in hosts or []:
        value = (hostvars.get(name) or {}).get(key) if hasattr(hostvars, "get") else None
        if value is not None:
            out[name] = value
        elif isinstance(attempted, dict) and name in attempted:
            out[name] = {"outcome": "failed", "reason": LOST_REASON % name, "needs_step": False,
                         "batch": attempted[name]}
    return out
