"""End-to-end: two real audit slices on this machine, merged by `ansible-playbook fleetclock.timesync.merge`.

Slice 1 audits local-a, slice 2 local-b (both this machine over the local connection), the way
AWX/AAP job slicing runs the audit on disjoint parts of the inventory.  The merge must refuse to
correct when the controller's chrony offset is unknown (mode require), and merge uncorrected
when told the slices share one controller (mode none).
"""

from __future__ import annotations

import json
import os

import jsonschema
import pytest
from conftest import JSON_RESULTS, LOCAL_PAIR_INVENTORY, ROOT, assert_printed, ansible_playbook

SCHEMA = os.path.join(ROOT, "schemas", "audit-report-v1.schema.json")
FILES = ["clock-audit.html", "clock-audit.json", "clock-audit.junit.xml", "clock-audit.prom", "clock-audit.txt"]


def playbook(*args, env=None):
    return ansible_playbook(*args, env=env)


@pytest.fixture(scope="module")
def slices(tmp_path_factory):
    base = tmp_path_factory.mktemp("slices")
    inventory = base / "hosts.yml"
    inventory.write_text(LOCAL_PAIR_INVENTORY)
    paths = []
    for index, limit in enumerate(("local-a", "local-b"), 1):
        out = base / ("slice-%d" % index)
        proc = playbook("fleetclock.timesync.audit", "-i", str(inventory), "--limit", limit, "-e", json.dumps({
            "fleetclock_audit_output_dir": str(out), "fleetclock_audit_formats": ["json"],
            "fleetclock_audit_fail_on_unsynchronised": False}))
        assert proc.returncode == 0, proc.stdout + proc.stderr
        paths.append(out / "clock-audit.json")
    return paths


def load(path):
    with open(path) as handle:
        return json.load(handle)


def test_require_corrects_or_says_why_it_cannot(slices, tmp_path):
    out = tmp_path / "fleet"
    proc = playbook("fleetclock.timesync.merge", "-e", json.dumps({
        "fleetclock_merge_slices": [str(p) for p in slices], "fleetclock_merge_output_dir": str(out)}))
    controllers = [load(p)["controller"] for p in slices]
    if all(c["synchronised"] for c in controllers):
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert load(out / "clock-audit.json")["merge"]["corrected"] is True
    else:  # this machine's chronyd is not running/synchronised: the controller offset is unknown
        assert proc.returncode != 0
        assert "cannot correct for the controllers' own clocks" in proc.stdout
        assert "its controller's chrony state is" in proc.stdout
        assert not out.exists()  # refused before anything was written


def test_none_merges_two_real_slices(slices, tmp_path):
    out = tmp_path / "fleet"
    proc = playbook("fleetclock.timesync.merge", "-e", json.dumps({
        "fleetclock_merge_slices": [str(slices[0]), str(slices[1].parent)],  # a file and a directory
        "fleetclock_merge_mode": "none", "fleetclock_merge_output_dir": str(out)}))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert sorted(os.listdir(out)) == FILES
    merged = load(out / "clock-audit.json")
    with open(SCHEMA) as handle:
        jsonschema.Draft202012Validator(json.load(handle)).validate(merged)
    assert merged["generator"] == "fleetclock.timesync.report_merge"
    assert [h["host"] for h in merged["hosts"]] == ["local-a", "local-b"]
    one, two = load(slices[0]), load(slices[1])
    assert merged["hosts"] == one["hosts"] + two["hosts"]
    assert merged["fleet"]["hosts_measured"] == 2
    assert merged["fleet"]["skew"] == pytest.approx(abs(one["hosts"][0]["offset"] - two["hosts"][0]["offset"]))
    assert merged["merge"]["mode"] == "none" and merged["merge"]["corrected"] is False
    assert [s["hosts_total"] for s in merged["merge"]["slices"]] == [1, 1]
    assert "2 slice(s) merged" in proc.stdout
    assert_printed(proc.stdout, out / "clock-audit.txt")


def test_overlapping_slices_are_refused(slices, tmp_path):
    proc = playbook("fleetclock.timesync.merge", "-e", json.dumps({
        "fleetclock_merge_slices": [str(slices[0]), str(slices[0])], "fleetclock_merge_mode": "none",
        "fleetclock_merge_output_dir": str(tmp_path / "fleet")}))
    assert proc.returncode != 0
    assert "host local-a is in slice" in proc.stdout


def test_missing_slices_variable_fails_clearly(tmp_path):
    proc = playbook("fleetclock.timesync.merge", "-e", "fleetclock_merge_output_dir=%s" % (tmp_path / "fleet"))
    assert proc.returncode != 0
    assert "set fleetclock_merge_slices to a list" in proc.stdout


def test_unreadable_slices_are_named(slices, tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    empty_dir = tmp_path / "no-report-here"
    empty_dir.mkdir()
    # (what the slice list names, the file the message names, why)
    for bad, named, why in ((broken, broken, "not valid JSON"),
                            (empty_dir, empty_dir / "clock-audit.json", "cannot read it (No such file or directory)")):
        proc = playbook("fleetclock.timesync.merge", "-e", json.dumps({
            "fleetclock_merge_slices": [str(slices[0]), str(bad)], "fleetclock_merge_mode": "none",
            "fleetclock_merge_output_dir": str(tmp_path / "fleet")}))
        assert proc.returncode != 0
        assert "slice %s" % named in proc.stdout, proc.stdout
        assert why in proc.stdout, proc.stdout


def compare_playbook(tmp_path, before, after):
    book = tmp_path / "compare.yml"
    book.write_text("""
- name: Compare two audits
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Compare
      fleetclock.timesync.audit_compare:
        before: %s
        after: %s
        rollout: {local-a: {outcome: unchanged}}
        output_dir: %s
        fail_task: false
        show_table: true
""" % (json.dumps(str(before)), json.dumps(str(after)), json.dumps(str(tmp_path / "compare"))))
    return playbook(str(book), env=JSON_RESULTS)


def test_compare_reads_a_report_or_its_directory(slices, tmp_path):
    # the same real report as a file and as the directory that holds it: nothing changed
    proc = compare_playbook(tmp_path, slices[0], slices[0].parent)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    comparison = load(tmp_path / "compare" / "remediate-compare.json")
    assert [h["host"] for h in comparison["hosts"]] == ["local-a"]
    assert comparison["hosts"][0]["outcome"] == "unchanged"
    assert (tmp_path / "compare" / "remediate-compare.txt").read_text().startswith("host")
    assert_printed(proc.stdout, tmp_path / "compare" / "remediate-compare.txt")  # json result format


def test_compare_names_the_missing_report(slices, tmp_path):
    missing = tmp_path / "nowhere" / "clock-audit.json"
    proc = compare_playbook(tmp_path, missing, slices[0])
    assert proc.returncode != 0
    assert "the before report %s: cannot read it (No such file or directory); run the audit with formats " \
           "including json first" % missing in proc.stdout.replace("\n", " "), proc.stdout
