# -*- coding: utf-8 -*-
# Copyright (c) 2025 fleetclock maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Options of the remediate playbook, checked before any host is touched.

Pure functions, no Ansible imports: ``validate_options`` returns a list of error strings (empty: valid).
Values may arrive as strings (``-e name=value``), so numbers and booleans are accepted in their string forms.
"""

from __future__ import annotations

from ansible_collections.fleetclock.timesync.plugins.module_utils.values import as_bool, as_int
from ansible_collections.fleetclock.timesync.plugins.module_utils.values import as_float as _number

ORDERS = ("inventory", "reverse_inventory", "sorted", "reverse_sorted", "shuffle")
RESUME_MODES = ("auto", "rollback", "ignore")


def _serial_step_error(step, where):
    """None when Ansible's serial takes ``step`` as a batch of at least one host, else the message.

    Ansible reads a serial step with ``int()`` (a text ending in ``%``: ``int()`` of the rest), so '12.5%', '25% '
    and '2.0' fail there, after the before-audit; they are refused here, before anything runs."""
    if isinstance(step, str) and step.endswith("%"):
        pct = as_int(step[:-1])
        if pct is not None and 0 < pct <= 100:
            return None
        return "%s: %r must be a percentage above 0%% and at most 100%% (a whole number, such as '25%%')" % (where, step)
    if isinstance(step, float):
        num = _number(step)
        num = int(num) if num is not None and num == int(num) else None
    else:
        num = as_int(step)
    if num is not None and num >= 1:
        return None
    return "%s: %r must be a batch size (an integer >= 1) or a percentage such as '25%%'" % (where, step)


def validate_options(options):
    """Check the fleetclock_remediate_* options; missing keys (or None) mean the default and are not checked."""
    if not isinstance(options, dict):
        return ["the remediate options must be a dict, got %s" % type(options).__name__]
    errors = []

    def given(name):
        return options.get(name) is not None

    if given("fleetclock_remediate_hosts"):
        hosts = options["fleetclock_remediate_hosts"]
        if not isinstance(hosts, str) or not hosts.strip():
            errors.append("fleetclock_remediate_hosts: %r must be a non-empty inventory pattern (a string such as "
                          "'web:&prod')" % (hosts,))
    if given("fleetclock_remediate_serial"):
        serial = options["fleetclock_remediate_serial"]
        steps = serial if isinstance(serial, list) else [serial]
        if not steps:
            errors.append("fleetclock_remediate_serial: the list of batch sizes is empty")
        for index, step in enumerate(steps):
            where = "fleetclock_remediate_serial[%d]" % index if isinstance(serial, list) else "fleetclock_remediate_serial"
            err = _serial_step_error(step, where)
            if err:
                errors.append(err)
    if given("fleetclock_remediate_max_fail_percentage"):
        value = options["fleetclock_remediate_max_fail_percentage"]
        num = _number(value)
        if num is None or not 0 <= num <= 100:
            errors.append("fleetclock_remediate_max_fail_percentage: %r must be a number from 0 to 100 "
                          "(0: any failed host stops the rollout)" % (value,))
    if given("fleetclock_remediate_order"):
        order = options["fleetclock_remediate_order"]
        if order not in ORDERS:
            errors.append("fleetclock_remediate_order: %r must be one of %s" % (order, ", ".join(ORDERS)))
    if given("fleetclock_remediate_sync_timeout"):
        value = options["fleetclock_remediate_sync_timeout"]
        num = _number(value)
        if num is None or num != int(num) or num < 1:
            errors.append("fleetclock_remediate_sync_timeout: %r must be a whole number of seconds >= 1" % (value,))
    if given("fleetclock_remediate_max_offset"):
        value = options["fleetclock_remediate_max_offset"]
        num = _number(value)
        if num is None or num <= 0:
            errors.append("fleetclock_remediate_max_offset: %r must be a number of seconds above 0" % (value,))
    if given("fleetclock_remediate_makestep"):
        value = options["fleetclock_remediate_makestep"]
        if as_bool(value) is None:
            errors.append("fleetclock_remediate_makestep: %r must be true or false" % (value,))
    if given("fleetclock_remediate_output_dir"):
        value = options["fleetclock_remediate_output_dir"]
        if not isinstance(value, str) or not value.strip() or "\0" in value:
            errors.append("fleetclock_remediate_output_dir: %r must be a non-empty path without NUL characters" % (value,))
    if given("fleetclock_remediate_resume"):
        value = options["fleetclock_remediate_resume"]
        if value not in RESUME_MODES:
            errors.append("fleetclock_remediate_resume: %r must be one of %s (what to do with a host whose snapshot an "
                          "interrupted run left)" % (value, ", ".join(RESUME_MODES)))
    for name in sorted(options):
        if name not in KNOWN:
            errors.append("%s is not a remediate option (known: %s)" % (name, ", ".join(KNOWN)))
    return errors


KNOWN = ("fleetclock_remediate_hosts", "fleetclock_remediate_serial", "fleetclock_remediate_max_fail_percentage",
         "fleetclock_remediate_order", "fleetclock_remediate_sync_timeout", "fleetclock_remediate_max_offset",
         "fleetclock_remediate_makestep", "fleetclock_remediate_output_dir", "fleetclock_remediate_resume")
