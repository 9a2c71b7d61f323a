# -*- coding: utf-8 -*-
"""The audit_schedule role refuses values that would inject into the files it writes, before any change
(a real ansible-playbook run of the role against localhost in check mode: it fails at its first checks)."""

from __future__ import annotations

import json

import pytest
from conftest import ansible_playbook

pytestmark = pytest.mark.integration

PLAY = [{"hosts": "localhost", "gather_facts": False, "connection": "local",
         "roles": [{"role": "fleetclock.timesync.audit_schedule"}]}]


@pytest.mark.parametrize("var, value, message", [
    ("audit_schedule_user", "guard\nUser=root", "audit_schedule_user must be a user name"),
    ("audit_schedule_inventory", "/etc/inv.yml\nExecStartPre=/bin/id", "audit_schedule_inventory must be an absolute path"),
    ("audit_schedule_environment", {"X;reboot": "1"}, "audit_schedule_environment: 'X;reboot' is not a name"),
    # a count given as text (as `-e name=value` gives it) is read as a number, and refused as one
    ("audit_schedule_interval", "0", "audit_schedule_interval must be a whole number above 0"),
])
def test_injection_is_refused_naming_the_variable(tmp_path, var, value, message):
    playbook = tmp_path / "guard.yml"
    playbook.write_text(json.dumps(PLAY))
    extra = {"audit_schedule_collection_src": str(tmp_path / "fleetclock-timesync.tar.gz"), var: value}
    proc = ansible_playbook("-i", "localhost,", "--check", str(playbook), "-e", json.dumps(extra))
    assert proc.returncode != 0, proc.stdout
    assert message in proc.stdout, proc.stdout
    # refused at the role's checks, before the first task that could change anything
    assert "Create the guard user" not in proc.stdout and "Install" not in proc.stdout.split(message)[0], proc.stdout
