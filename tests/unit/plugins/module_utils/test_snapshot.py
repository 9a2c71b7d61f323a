"""Unit tests for module_utils/snapshot.py and the role's snapshot/rollback entry points (issue 11 item 6).

Each of these failed on 778779a: remediate kept its own copy of the role's OS data (it tracked `ntp` where the
role stops `ntpd` on RedHat), restored files 0644 root:root and treated an empty file as absent.
"""
import os

import pytest
import yaml

from ansible_collections.fleetclock.timesync.plugins.filter.remediate import (
    chrony_is_snapshot,
    chrony_snapshot,
    chrony_snapshot_document,
    remediate_results,
)
from ansible_collections.fleetclock.timesync.plugins.module_utils.snapshot import SnapshotError, build_snapshot

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
ROLE = os.path.join(ROOT, "roles", "chrony")
UNIT_FILE_STATES = ["enabled", "disabled", "static"]


def load(*parts):
    with open(os.path.join(*parts)) as handle:
        return yaml.safe_load(handle)


def role_data(family):
    """__chrony_snapshot_role as vars/main.yml builds it from vars/<family>.yml."""
    osv = load(ROLE, "vars", family + ".yml")
    return {"package": osv["__chrony_package"], "service": osv["__chrony_service"],
            "config": osv["__chrony_config_path"],
            "files": [osv["__chrony_config_path"], osv["__chrony_options_file"], "/etc/dropin.conf"],
            "services": osv["__chrony_conflicting_services"], "packages": osv["__chrony_conflicting_packages"],
            "unit_file_states": UNIT_FILE_STATES}


def kept(path, **kw):
    """What host_state returns for an existing file."""
    entry = {"content": "", "checksum": "c-" + path, "mode": "0644", "owner": "root", "group": "root", "size": 0,
             "secontext": None}
    entry.update(kw)
    return entry


def absent(role):
    return dict.fromkeys(role["files"])


def test_snapshot_role_data_comes_from_the_role_vars():
    """vars/main.yml builds the snapshot's lists from the same OS variables the role stops daemons with."""
    main = load(ROLE, "vars", "main.yml")
    role = main["__chrony_snapshot_role"]
    assert role["services"] == "{{ __chrony_conflicting_services }}"
    assert role["packages"] == "{{ __chrony_conflicting_packages }}"
    assert role["service"] == "{{ __chrony_service }}"
    assert "{{ __chrony_config_path }}" in role["files"] and "{{ __chrony_options_file }}" in role["files"]
    with open(os.path.join(ROOT, "playbooks", "remediate.yml")) as handle:
        playbook = handle.read()
    assert "__fc_rem_os_paths" not in playbook and "__fc_rem_unit_file_states" not in playbook
    assert playbook.count("tasks_from: snapshot") == 2 and playbook.count("tasks_from: rollback") == 2
    specs = load(ROLE, "meta", "argument_specs.yml")["argument_specs"]
    assert {"snapshot", "rollback"} <= set(specs)


def test_redhat_snapshot_tracks_ntpd_that_the_role_stops():
    role = role_data("RedHat")
    services = {"ntpd.service": {"state": "running", "status": "enabled"},
                "chronyd.service": {"state": "stopped", "status": "disabled"}}
    snap = build_snapshot(role, {"ntp": [{}]}, services, absent(role), True)
    assert snap["state"]["services"]["ntpd"] == {"state": "running", "enabled": "enabled"}
    assert snap["state"]["packages"] == ["ntp"]
    assert snap["state"]["time_daemon_running"] is True
    assert "ntpd" in load(ROLE, "vars", "RedHat.yml")["__chrony_conflicting_services"]


def test_debian_snapshot_tracks_timesyncd_and_orphans():
    role = role_data("Debian")
    services = {"systemd-timesyncd.service": {"state": "running", "status": "not-found"},   # package gone, still runs
                "ntp.service": {"state": "inactive", "status": "not-found"}}               # leftover: absent
    snap = build_snapshot(role, {}, services, absent(role), False)
    assert snap["state"]["services"] == {"systemd-timesyncd": {"state": "running", "enabled": "not-found"}}
    assert snap["state"]["chrony_installed"] is False and snap["state"]["config_dir"] is False


def test_files_keep_mode_owner_group_context_and_empty_content():
    role = role_data("RedHat")
    conf, opts, dropin = role["files"]
    files = {conf: kept(conf, content="c2VydmVy", mode="0640", group="chrony",
                        secontext="system_u:object_r:chronyd_conf_t:s0:c1,c2"),
             opts: kept(opts, mode="0600"), dropin: None}
    snap = build_snapshot(role, {"chrony": [{}]}, {}, files, True)
    assert snap["files"][conf] == {"content": "c2VydmVy", "mode": "0640", "owner": "root", "group": "chrony",
                                   "seuser": "system_u", "serole": "object_r", "setype": "chronyd_conf_t",
                                   "selevel": "s0:c1,c2"}
    assert snap["files"][opts]["content"] == "" and snap["files"][opts]["mode"] == "0600"
    assert snap["files"][opts]["setype"] is None
    assert snap["files"][dropin] is None
    assert snap["state"]["files"] == {conf: "c-" + conf, opts: "c-" + opts, dropin: None}
    assert snap["state"]["config_checksum"] == "c-" + conf


def test_a_file_that_was_not_read_is_an_error():
    role = role_data("Debian")
    with pytest.raises(SnapshotError, match="was not read"):
        build_snapshot(role, {}, {}, {role["files"][0]: None}, True)
    with pytest.raises(SnapshotError, match="no content"):
        build_snapshot(role, {}, {}, dict(absent(role), **{role["files"][0]: {"mode": "0644"}}), True)
    with pytest.raises(SnapshotError, match="misses"):
        build_snapshot({"package": "chrony"}, {}, {}, {}, True)
    with pytest.raises(SnapshotError, match="host_state's files"):
        build_snapshot(role, {}, {}, [], True)


def test_snapshot_document_round_trip_and_host_check():
    role = role_data("Debian")
    snap = chrony_snapshot(role, {}, {}, absent(role), True)
    doc = chrony_snapshot_document(snap, "web1", "2026-12-03T18:00:00+00:00")
    assert chrony_is_snapshot(doc, "web1") and chrony_is_snapshot(doc)
    assert not chrony_is_snapshot(doc, "web2")
    assert not chrony_is_snapshot(None, "web1") and not chrony_is_snapshot({"state": {}}, "web1")
    assert doc["state"] == snap["state"] and doc["files"] == snap["files"]


def test_remediate_results_picks_the_hosts_that_recorded_one():
    hostvars = {"a": {"__fleetclock_remediate_result": {"outcome": "changed"}}, "b": {}}
    assert remediate_results(["a", "b", "c"], hostvars) == {"a": {"outcome": "changed"}}


def test_a_host_lost_mid_batch_is_failed_not_unattempted():
    """A host a batch started on that recorded no outcome (unreachable mid-batch) was `not_attempted` before."""
    hostvars = {"ok": {"__fleetclock_remediate_result": {"outcome": "unchanged", "batch": 1}}, "lost": {}, "later": {}}
    results = remediate_results(["ok", "lost", "later"], hostvars, attempted={"ok": 1, "lost": "1"})
    assert results["ok"] == {"outcome": "unchanged", "batch": 1}
    assert results["lost"]["outcome"] == "failed" and results["lost"]["batch"] == 1
    assert "state unknown" in results["lost"]["reason"] and "snapshots/lost.json" in results["lost"]["reason"]
    assert "later" not in results
    assert remediate_results(["lost"], hostvars) == {}
