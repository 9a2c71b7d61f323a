# -*- coding: utf-8 -*-
# Copyright (c) 2025 fleetclock maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A host's time-daemon snapshot for a rollback, built from what Ansible read (pure functions, no Ansible imports).

``build_snapshot`` turns the raw results of package_facts, service_facts, stat, slurp and ``stat -c %C`` into::

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


def _by_path(results, key):
    """{path: result} from a registered loop whose items are paths, or stat results (item.item)."""
    out = {}
    for res in results or []:
        if not isinstance(res, dict) or res.get("skipped"):
            continue
        item = res.get("item")
        if isinstance(item, dict):
            item = item.get("item")
        if isinstance(item, str):
            out[item] = res.get(key)
    return out


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


def build_snapshot(role, packages, services, file_stats, file_contents, config_dir_exists, contexts=None):
    """The snapshot of one host; ``role`` holds the role's own OS data.

    ``role``: {"package", "service", "config", "files": [paths], "services": [units without .service],
    "packages": [names], "unit_file_states": [...]} (roles/chrony/vars).  ``file_stats``: the stat loop's
    results (item = path); ``file_contents``: the slurp loop's results (item = a stat result);
    ``contexts``: the ``stat -c %C`` loop's results (item = a stat result), or None without SELinux.
    """
    if not isinstance(role, dict):
        raise SnapshotError("role must be a dict of the role's OS data, got %s" % type(role).__name__)
    missing = [key for key in ("package", "service", "config", "files", "services", "packages", "unit_file_states")
               if key not in role]
    if missing:
        raise SnapshotError("role misses %s" % ", ".join(missing))
    packages = packages or {}
    stats = _by_path(file_stats, "stat")
    contents = _by_path(file_contents, "content")
    context_text = _by_path(contexts, "stdout")
    saved, checksums = {}, {}
    for path in role["files"]:
        stat = stats.get(path) or {}
        checksums[path] = stat.get("checksum") if stat.get("exists") else None
        if not stat.get("exists"):
            saved[path] = None
            continue
        if path not in contents:
            raise SnapshotError("%s exists but was not read (slurp)" % path)
        entry = {"content": contents[path] or "", "mode": stat.get("mode"), "owner": stat.get("pw_name"),
                 "group": stat.get("gr_name")}
        entry.update(_secontext(context_text.get(path)))
        saved[path] = entry
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
