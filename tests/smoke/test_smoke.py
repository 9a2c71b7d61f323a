"""The version matrix's localhost smoke (tests/matrix/releases.txt, step "smoke"): the collection's main paths through
the real ansible-playbook of the release under test (the one next to this interpreter), on this machine only.

- the role renders chrony.conf (fake AWS facts) and chronyd -p accepts it;
- remediate --check --diff over local-a: the options, preflight, per-host "before" audit, rollout in check mode
  (the playbook's templating) and the comparison; nothing changes;
- the batch audit (fleetclock_audit_batch=true, the private TaskExecutor adapter) over local-b;
- merge of the two (per-host and batch) reports;
- module_defaults through the collection's action group (meta/runtime.yml action_groups).
"""
import json
import os
import socket
import subprocess
import sys

import pytest
from conftest import LOCAL_PAIR_INVENTORY, assert_printed

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
CHRONYD = "/usr/sbin/chronyd"
INVENTORY = LOCAL_PAIR_INVENTORY
# Fake facts go in as the extra variable ansible_facts (facts are never injected as ansible_* variables here).
RENDER_FACTS = {"os_family": "Debian", "distribution": "Debian", "distribution_major_version": "12",
                "distribution_version": "12.5"}
RENDER = """
- name: Render chrony.conf
  hosts: local-a
  gather_facts: false
  vars:
    chrony_cloud: aws
    chrony_render_dest: "%s"
  tasks:
    - name: Render
      ansible.builtin.include_role:
        name: fleetclock.timesync.chrony
        tasks_from: render
"""
pytestmark = pytest.mark.integration


def playbook(*args):
    proc = subprocess.run([os.path.join(BIN, "ansible-playbook")] + list(args), cwd=ROOT, capture_output=True,
                          text=True, check=False, env=dict(os.environ, ANSIBLE_NOCOLOR="1"), timeout=600)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return proc


def load(path):
    with open(path) as handle:
        return json.load(handle)


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    base = tmp_path_factory.mktemp("smoke")
    (base / "hosts.yml").write_text(INVENTORY)
    return base


def test_the_release_under_test_runs_the_playbooks():
    out = subprocess.run([os.path.join(BIN, "ansible-playbook"), "--version"], capture_output=True, text=True,
                         check=True).stdout
    from ansible.release import __version__
    assert "[core %s]" % __version__ in out


def test_role_render(work):
    dest = work / "chrony.conf"
    (work / "render.yml").write_text(RENDER % dest)
    playbook("-i", str(work / "hosts.yml"), str(work / "render.yml"), "-e", json.dumps({"ansible_facts": RENDER_FACTS}))
    assert "server 169.254.169.123 prefer iburst minpoll 4 maxpoll 4" in dest.read_text().splitlines()
    assert subprocess.run([CHRONYD, "-p", "-f", str(dest)], capture_output=True, check=False).returncode == 0


@pytest.fixture(scope="module")
def remediate_check(work):
    out = work / "remediate"
    proc = playbook("fleetclock.timesync.remediate", "-i", str(work / "hosts.yml"), "--limit", "local-a", "--check",
                    "--diff", "-e", json.dumps({"fleetclock_remediate_output_dir": str(out),
                                               "fleetclock_audit_fail_on_unsynchronised": False}))
    return out, proc


def test_check_mode_remediate_changes_nothing(remediate_check):
    out, proc = remediate_check
    compare = (out / "remediate-compare.txt").read_text()
    assert "check_mode" in compare and "local-a" in compare
    assert_printed(proc.stdout, out / "remediate-compare.txt")  # the comparison's table, as in the file
    before = load(out / "before" / "clock-audit.json")
    assert [h["host"] for h in before["hosts"]] == ["local-a"]


@pytest.fixture(scope="module")
def batch_audit(work):
    out = work / "batch"
    proc = playbook("fleetclock.timesync.audit", "-i", str(work / "hosts.yml"), "--limit", "local-b", "-e", json.dumps({
        "fleetclock_audit_batch": True, "fleetclock_audit_output_dir": str(out), "fleetclock_audit_formats": ["json"],
        "fleetclock_audit_fail_on_unsynchronised": False}))
    return out / "clock-audit.json", proc


def test_batch_audit(batch_audit):
    path, proc = batch_audit
    hosts = load(path)["hosts"]
    assert [h["host"] for h in hosts] == ["local-b"]
    assert hosts[0]["status"] == "ok" and hosts[0]["measured"] is True, hosts[0]  # visited, whatever chronyd does


def closed_loopback_port():
    """A loopback TCP port nothing listens on (bound, then closed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_batch_visit_uses_the_hosts_connection_not_the_delegated_one(work):
    """A host with no ansible_connection is reached over the play's connection (ssh), even though the batch task is
    delegated to localhost: on ansible-core 2.21 the visit ran on the controller (connection local) and reported the
    controller's clock as the host's, 'ok'. Here ssh to a closed loopback port must make it unreachable."""
    out = work / "batch-ssh"
    (work / "ssh-host.yml").write_text("all:\n  hosts:\n    ssh-closed:\n      ansible_host: 127.0.0.1\n"
                                       "      ansible_port: %d\n" % closed_loopback_port())
    proc = subprocess.run([os.path.join(BIN, "ansible-playbook"), "fleetclock.timesync.audit", "-i",
                           str(work / "ssh-host.yml"), "-e", json.dumps({
                               "fleetclock_audit_batch": True, "fleetclock_audit_output_dir": str(out),
                               "fleetclock_audit_formats": ["json"]})],
                          cwd=ROOT, capture_output=True, text=True, check=False, env=dict(os.environ, ANSIBLE_NOCOLOR="1"),
                          timeout=600)
    assert (out / "clock-audit.json").exists(), proc.stdout[-4000:] + proc.stderr[-4000:]
    (host,) = load(out / "clock-audit.json")["hosts"]
    assert host["status"] == "unreachable" and not host["measured"], host
    assert "ssh" in (host.get("error") or ""), host


def test_merge_per_host_and_batch_reports(work, remediate_check, batch_audit):
    out = work / "merged"
    playbook("fleetclock.timesync.merge", "-e", json.dumps({
        "fleetclock_merge_slices": [str(remediate_check[0] / "before" / "clock-audit.json"), str(batch_audit[0])],
        "fleetclock_merge_mode": "none", "fleetclock_merge_output_dir": str(out)}))
    assert sorted(h["host"] for h in load(out / "clock-audit.json")["hosts"]) == ["local-a", "local-b"]


MODULE_DEFAULTS = """
- name: The collection's action group
  hosts: local-a
  gather_facts: false
  module_defaults:
    group/fleetclock.timesync.timesync:
      min_samples: 3
      max_samples: 3
  tasks:
    - name: Probe with the group's defaults
      fleetclock.timesync.clock_probe:
      register: probe
    - name: The defaults reached the action
      ansible.builtin.assert:
        that: probe.clock.samples == 3
"""


def test_module_defaults_group_reaches_the_actions(work):
    """meta/runtime.yml action_groups: group/fleetclock.timesync.timesync sets the collection's actions' options."""
    (work / "defaults.yml").write_text(MODULE_DEFAULTS)
    playbook("-i", str(work / "hosts.yml"), str(work / "defaults.yml"))
