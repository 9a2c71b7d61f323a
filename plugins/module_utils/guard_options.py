# -*- coding: utf-8 -*-
# Copyright (c) 2025 fleetclock maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The audit_schedule role's values that reach files on the guard host: checked before any change and again
where they are written (a unit file, the wrapper's shell configuration, cron)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.fleetclock.timesync.plugins.module_utils.chrony_values import is_path, is_user, show
from ansible_collections.fleetclock.timesync.plugins.module_utils.values import as_int

# Paths written into the wrapper's configuration, the unit files or cron (empty allowed where marked).
PATH_OPTIONS = (
    ("audit_schedule_inventory", False),
    ("audit_schedule_home", False),
    ("audit_schedule_log", False),
    ("audit_schedule_textfile_dir", False),
    ("audit_schedule_prefix", False),
    ("audit_schedule_wheelhouse", True),
)
COUNT_OPTIONS = ("audit_schedule_interval", "audit_schedule_timeout", "audit_schedule_history_keep")
_ENV_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
_PRINTABLE_RE = re.compile(r"[\x20-\x7e]*")
# Environment names the role sets itself (the wrapper's collections path).
RESERVED_ENV = ("ANSIBLE_COLLECTIONS_PATH",)
PATH_RULE = "an absolute path without whitespace, quotes, '#', '\\\\' or control/non-ASCII characters"


class GuardOptionError(ValueError):
    """A value that must not be written where the guard writes it."""


def user_error(value, var="audit_schedule_user"):
    if is_user(value):
        return None
    return "%s must be a user name (lower-case letters, digits, '_', '-'; at most 32; got %s)" % (var, show(value))


def path_error(var, value, empty_ok=False):
    if empty_ok and value == "":
        return None
    if isinstance(value, str) and is_path(value) and len(value) <= 4096:
        return None
    return "%s must be %s (got %s)" % (var, PATH_RULE, show(value))


def environment_errors(env, var="audit_schedule_environment"):
    if not isinstance(env, dict):
        return ["%s must be a dict of environment variable names to values (got %s)" % (var, show(env))]
    errors = []
    for name, value in env.items():
        if not (isinstance(name, str) and _ENV_NAME_RE.fullmatch(name)) or name in RESERVED_ENV:
            errors.append("%s: %s is not a name the guard may set (letters, digits, '_', not starting with a digit;"
                          " not %s)" % (var, show(name), ", ".join(RESERVED_ENV)))
        elif isinstance(value, (dict, list)) or not _PRINTABLE_RE.fullmatch(str(value)):
            errors.append("%s.%s must be one line of printable ASCII (got %s)" % (var, name, show(value)))
    return errors


def count_error(var, value):
    number = as_int(value)
    if number is None or number <= 0:
        return "%s must be a whole number above 0 (got %s)" % (var, show(value))
    return None


def guard_option_errors(options):
    """Messages naming each audit_schedule_* value that must not be written; empty when all are safe."""
    errors = [path_error(var, options.get(var), empty_ok) for var, empty_ok in PATH_OPTIONS if var in options]
    errors += [count_error(var, options.get(var)) for var in COUNT_OPTIONS if var in options]
    if "audit_schedule_user" in options:
        errors.append(user_error(options["audit_schedule_user"]))
    errors += environment_errors(options.get("audit_schedule_environment", {}))
    return [error for error in errors if error]


def checked_word(value, var):
    """``value`` as written into a unit file, cron or the shell configuration (the last check: a user name, an
    environment variable name for ``audit_schedule_environment``, else a path; fails on anything else)."""
    if var == "audit_schedule_user":
        error = user_error(value, var)
    elif var == "audit_schedule_environment":
        error = None if isinstance(value, str) and _ENV_NAME_RE.fullmatch(value) else (
            "%s: %s is not an environment variable name" % (var, show(value)))
    else:
        error = path_error(var, value)
    if error:
        raise GuardOptionError(error)
    return value
