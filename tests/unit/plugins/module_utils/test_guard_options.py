# -*- coding: utf-8 -*-
"""The audit_schedule role's values that reach files on the guard host (module_utils/guard_options.py)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.fleetclock.timesync.plugins.module_utils.guard_options import (
    GuardOptionError,
    checked_word,
    guard_option_errors,
)

DEFAULTS = {
    "audit_schedule_inventory": "/etc/fleetclock-guard/inventory.yml",
    "audit_schedule_home": "/var/lib/fleetclock-guard",
    "audit_schedule_log": "/var/log/fleetclock-guard/guard.log",
    "audit_schedule_textfile_dir": "/var/lib/prometheus/node-exporter",
    "audit_schedule_prefix": "/opt/fleetclock-guard",
    "audit_schedule_wheelhouse": "",
    "audit_schedule_interval": 300,
    "audit_schedule_timeout": 600,
    "audit_schedule_history_keep": 48,
    "audit_schedule_user": "fleetclock-guard",
    "audit_schedule_environment": {"HTTPS_PROXY": "http://proxy.example:3128", "ANSIBLE_FORKS": 20},
}


def test_the_defaults_are_safe():
    assert guard_option_errors(DEFAULTS) == []


@pytest.mark.parametrize("var, value, message", [
    ("audit_schedule_inventory", "/etc/inv.yml\nExecStartPre=/bin/sh -c 'id'", "audit_schedule_inventory must be an absolute path"),
    ("audit_schedule_inventory", "inventory.yml", "audit_schedule_inventory must be an absolute path"),
    ("audit_schedule_home", "/var/lib/my guard", "audit_schedule_home must be an absolute path"),
    ("audit_schedule_log", "/var/log/g\u00fcard.log", "audit_schedule_log must be an absolute path"),
    ("audit_schedule_textfile_dir", "/var/lib/x#y", "audit_schedule_textfile_dir must be an absolute path"),
    ("audit_schedule_prefix", "", "audit_schedule_prefix must be an absolute path"),
    ("audit_schedule_wheelhouse", "/srv/wheels'", "audit_schedule_wheelhouse must be an absolute path"),
    ("audit_schedule_user", "guard\nUser=root", "audit_schedule_user must be a user name"),
    ("audit_schedule_user", "Root", "audit_schedule_user must be a user name"),
    ("audit_schedule_interval", 0, "audit_schedule_interval must be a whole number above 0"),
    ("audit_schedule_timeout", "1e3", "audit_schedule_timeout must be a whole number above 0"),
    ("audit_schedule_history_keep", True, "audit_schedule_history_keep must be a whole number above 0"),
    ("audit_schedule_environment", {"X;reboot": "1"}, "audit_schedule_environment: 'X;reboot' is not a name"),
    ("audit_schedule_environment", {"ANSIBLE_COLLECTIONS_PATH": "/tmp"}, "is not a name the guard may set"),
    ("audit_schedule_environment", {"A": "1\nreboot"}, "audit_schedule_environment.A must be one line"),
    ("audit_schedule_environment", ["A=1"], "audit_schedule_environment must be a dict"),
])
def test_each_bad_value_is_refused_naming_its_variable(var, value, message):
    errors = guard_option_errors(dict(DEFAULTS, **{var: value}))
    assert len(errors) == 1 and message in errors[0], errors


def test_the_last_check_at_writing():
    assert checked_word("fleetclock-guard", "audit_schedule_user") == "fleetclock-guard"
    assert checked_word("ANSIBLE_COLLECTIONS_PATH", "audit_schedule_environment") == "ANSIBLE_COLLECTIONS_PATH"
    for value, var in (("a\nUser=root", "audit_schedule_user"), ("X Y", "audit_schedule_environment"),
                       ("/a b", "audit_schedule_home"), (None, "audit_schedule_user")):
        with pytest.raises(GuardOptionError, match=var):
            checked_word(value, var)


@given(st.text(max_size=40), st.sampled_from(["audit_schedule_home", "audit_schedule_log", "audit_schedule_user",
                                              "audit_schedule_environment"]))
def test_anything_accepted_is_one_safe_word(value, var):
    """Whatever a user gives, what reaches a unit file or the shell configuration has no separator or control."""
    try:
        written = checked_word(value, var)
    except GuardOptionError as exc:
        assert var in str(exc)
    else:
        assert written == value and value.isascii() and value.isprintable()
        assert not set(value) & set(" \t\n\r\"'#\\") and value


@given(st.dictionaries(st.text(max_size=12), st.one_of(st.text(max_size=12), st.integers()), max_size=4))
def test_environment_accepted_only_as_shell_names_and_one_line_values(env):
    errors = guard_option_errors({"audit_schedule_environment": env})
    if not errors:
        for name, value in env.items():
            assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) and "\n" not in str(value)
