"""Tests of the clock_report action plugin, run for real through ansible-playbook.

Each test writes a small playbook that plants hand-written probe results in
hostvars (set_fact, as a registered clock_probe result would be) and calls
fleetclock.timesync.clock_report on the controller.  No mocks.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
PLAYBOOK_BIN = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
NOW = 1_700_000_000.0

INVENTORY = """
all:
  hosts:
    h-ok: {ansible_connection: local}
    h-far: {ansible_connection: local}
    h-down: {ansible_connection: local}
    h-none: {ansible_connection: local}
  vars:
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
    fleetclock_secret_token: do-not-leak-me
"""

PLAYBOOK = """
- name: Plant probe results and report
  hosts: all
  gather_facts: false
  tasks:
    - name: Plant this host's probe result
      ansible.builtin.set_fact:
        fleetclock_probe: "{{{{ planted[inventory_hostname] }}}}"
      when: inventory_hostname in planted

    - name: Report
      fleetclock.timesync.clock_report:
{args}
      run_once: true
      delegate_to: localhost
      register: out

    - name: Save the result
      ansible.builtin.copy:
        content: "{{{{ out | to_json }}}}"
        dest: "{result_file}"
        mode: "0644"
      run_once: true
      delegate_to: localhost
"""


def probe(offset, state="synchronised"):
    return {"status": "ok", "error": None,
            "clock": {"offset": offset, "bound": 0.002, "rtt": 0.004, "samples": 3, "resolution": 1e-9,
                      "remote_time": NOW + offset, "controller_time": NOW},
            "chrony": {"state": state, "tracking": {"ref_id": "C0A80001", "ref_name": "ntp1", "stratum": 2,
                                                    "leap_status": "Normal"},
                       "sources": [], "offset": 1e-5, "error_bound": 2e-4, "error": None},
            "changed": False}


def run(tmp_path, args, planted):
    (tmp_path / "inventory.yml").write_text(INVENTORY)
    (tmp_path / "planted.json").write_text(json.dumps({"planted": planted}))
    result_file = tmp_path / "result.json"
    lines = "\n".join("        %s: %s" % (key, json.dumps(value)) for key, value in args.items())
    (tmp_path / "play.yml").write_text(PLAYBOOK.format(args=lines, result_file=result_file))
    proc = subprocess.run(
        [PLAYBOOK_BIN, "-i", str(tmp_path / "inventory.yml"), "-e", "@%s" % (tmp_path / "planted.json"),
         str(tmp_path / "play.yml")],
        # json results: a message on one line on every release (older ones fold yaml results at 80 columns)
        cwd=ROOT, capture_output=True, text=True, check=False,
        env=dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_CALLBACK_RESULT_FORMAT="json"),
    )
    saved = json.loads(result_file.read_text()) if result_file.exists() else None
    return proc, saved


def test_warning_passes_and_writes_every_format(tmp_path):
    out_dir = tmp_path / "reports"
    planted = {"h-ok": probe(0.001), "h-far": probe(-2.0), "h-down": {"unreachable": True, "msg": "Failed to connect"}}
    proc, saved = run(tmp_path, {"output_dir": str(out_dir), "fail_on_unreachable": False}, planted)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert saved["status"] == 1 and saved["status_label"] == "WARNING"
    assert sorted(os.path.basename(p) for p in saved["files"]) == [
        "clock-audit.html", "clock-audit.json", "clock-audit.junit.xml", "clock-audit.prom", "clock-audit.txt"]
    assert all(os.path.dirname(p) == str(out_dir) for p in saved["files"])
    report = saved["report"]
    # hosts defaulted to ansible_play_hosts_all; h-none has no result but is listed
    assert [h["host"] for h in report["hosts"]] == ["h-down", "h-far", "h-none", "h-ok"]
    assert report["fleet"]["unreachable"] == ["h-down"] and report["fleet"]["failed"] == ["h-none"]
    assert saved["table"] in saved["msg"] and saved["msg"].startswith("WARNING: ")
    assert (out_dir / "clock-audit.txt").read_text() == saved["table"]
    for path in saved["files"]:
        assert "do-not-leak-me" not in open(path).read()


def test_critical_fails_the_task_naming_the_reasons(tmp_path):
    planted = {name: probe(0.0) for name in ("h-ok", "h-down", "h-none")}
    planted["h-far"] = probe(9.0)
    proc, saved = run(tmp_path, {"output_dir": str(tmp_path / "r"), "hosts": ["h-ok", "h-far"], "formats": ["json"]},
                      planted)
    assert proc.returncode == 2
    assert saved is None
    assert "CRITICAL: CRITICAL fleet: fleet skew" in proc.stdout
    assert "h-far: offset +9.000 s" in proc.stdout
    data = json.loads((tmp_path / "r" / "clock-audit.json").read_text())
    assert [h["host"] for h in data["hosts"]] == ["h-far", "h-ok"] and data["evaluation"]["status"] == 2


def test_explicit_prometheus_path_and_results_var(tmp_path):
    prom = tmp_path / "textfile" / "fleetclock.prom"
    planted = {name: probe(0.0) for name in ("h-ok", "h-far", "h-down", "h-none")}
    proc, saved = run(tmp_path, {"output_dir": str(tmp_path / "r"), "formats": ["prometheus"],
                                 "prometheus_path": str(prom)}, planted)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert saved["files"] == [str(prom)] and saved["status"] == 0
    assert 'fleetclock_clock_offset_seconds{host="h-ok"} 0.0' in prom.read_text()
    # a results_var nobody registered: every host is listed as "no result" -> CRITICAL
    proc, saved = run(tmp_path, {"output_dir": str(tmp_path / "r"), "formats": ["json"], "results_var": "nothing_here"},
                      planted)
    assert proc.returncode == 2 and "no probe result" in proc.stdout


@pytest.mark.parametrize("args,message", [
    ({"warn_offset": 6, "crit_offset": 5}, "warn_offset (6.0 s) must not be larger than crit_offset (5.0 s)"),
    ({"warn_offset": -1}, "warn_offset must be a finite number of seconds >= 0"),
    ({"formats": ["json", "pdf"]}, "pdf"),
    ({"output_dir": "/etc/hostname/reports"}, "is not a directory"),
    # before ansible-core's int check, which raised OverflowError naming no option
    ({"jwt_max_pairs": "inf"}, "jwt_max_pairs must be a finite whole number, got 'inf'"),
])
def test_check_only_rejects_bad_options(tmp_path, args, message):
    args = dict({"output_dir": str(tmp_path / "r")}, **args)
    proc, saved = run(tmp_path, dict(args, check_only=True), {})
    assert proc.returncode == 2
    assert message in proc.stdout
    assert not (tmp_path / "r").exists()


def test_check_only_touches_nothing(tmp_path):
    proc, saved = run(tmp_path, {"output_dir": str(tmp_path / "new" / "dir"), "check_only": True}, {})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert saved["files"] == [] and "options are valid" in saved["msg"]
    assert not (tmp_path / "new").exists()


def test_batch_results_are_read_per_host(tmp_path):
    """A clock_probe_batch result registered on every host: each host's own entry is used; a host missing from it
    has no result, and a host with its own per-host result keeps it."""
    batch = {"fleetclock_batch": 1, "changed": False,
             "hosts": {"h-ok": probe(0.001), "h-down": {"status": "unreachable", "error": "Failed to connect",
                                                        "clock": None, "chrony": None}}}
    planted = {"h-ok": batch, "h-down": batch, "h-none": batch, "h-far": probe(-2.0)}
    proc, saved = run(tmp_path, {"output_dir": str(tmp_path / "r"), "fail_on_unreachable": False}, planted)
    hosts = {h["host"]: h for h in saved["report"]["hosts"]}
    assert hosts["h-ok"]["measured"] and hosts["h-ok"]["offset"] == 0.001
    assert hosts["h-far"]["measured"] and hosts["h-far"]["offset"] == -2.0
    assert hosts["h-down"]["status"] == "unreachable" and "Failed to connect" in hosts["h-down"]["error"]
    assert not hosts["h-none"]["measured"] and hosts["h-none"]["status"] == "no_result"
