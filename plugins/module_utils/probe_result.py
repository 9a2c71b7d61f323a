# -*- coding: utf-8 -*-
# Copyright (c) 2025 fleetclock maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The probe-result contract: what one audit visit of a host returns, and the one place that builds it.

A probe result is a dict of exactly ``KEYS``::

    {"status": one of STATUSES,
     "error": why the visit did not complete (str) or None,
     "clock": clock.estimate(...) - offset, bound, rtt, samples, resolution - or None (no sample),
     "chrony": chronyc.chrony_result(...) - state (one of STATES), tracking, sources, offset,
               error_bound, error - or None (a failure Ansible reported before the probe ran),
     "daemons": timedaemons.parse_daemons_probe(...) - the time daemons running (active), each one's view,
                the kernel's verdict - or None (not read: an older probe, a visit that stopped first)}

clock_probe (one host), clock_probe_batch (every host, module_utils/batch.py) and clock_report
(what a host registered) build and read it only through this module; records.py turns it into a
report's host record.  A new daemon or field is added here first.  Pure functions; no Ansible imports.
"""

from __future__ import annotations

from ansible_collections.fleetclock.timesync.plugins.module_utils import chronyc
from ansible_collections.fleetclock.timesync.plugins.module_utils import timedaemons

# chrony's states and reference ids are chronyc.py's (the parser that produces them); named here as part of the contract.
STATES = chronyc.STATES
REF_LOCAL = chronyc.REF_LOCAL
REF_NONE = chronyc.REF_NONE
KEYS = ("status", "error", "clock", "chrony", "daemons")
STATUSES = ("ok", "unreachable", "timeout", "error")
# How the report judges a chrony state (every other state of STATES: synchronised, local).
UNSYNCHRONISED_STATES = ("unsynchronised", "not_running")
UNKNOWN_STATES = ("missing", "no_access", "error", "unknown")
# The reference a record shows for chrony's own local clock (tracking ref_id REF_LOCAL).
LOCAL_REFERENCE = "LOCAL"


def result(status, error=None, clock=None, chrony=None, daemons=None):
    """A probe result from its five parts."""
    return {"status": status, "error": error, "clock": clock, "chrony": chrony, "daemons": daemons}


def ok(clock=None, chrony=None, daemons=None):
    """A visit that completed (the probe fills in clock, chrony and daemons as it goes)."""
    return result("ok", None, clock, chrony, daemons)


def unknown_chrony(error):
    """The ``chrony`` part when chrony's state is not known: ``error`` says why."""
    return chronyc.chrony_result("unknown", error=error)


def not_probed(reason):
    """The ``chrony`` part of a visit that stopped before it read chrony."""
    return unknown_chrony("chrony not probed: %s" % reason)


def failed(status, message, clock=None, chrony=None):
    """A visit that did not complete (``status`` unreachable, timeout or error); chrony not probed unless given."""
    return result(status, message, clock, chrony if isinstance(chrony, dict) else not_probed(message))


def timeout_error(seconds):
    """The ``error`` of a visit stopped at its deadline (option timeout)."""
    return "no answer within %ss (option timeout)" % seconds


def timed_out(seconds, clock=None, chrony=None):
    """A visit stopped at its deadline, with what it measured before."""
    return failed("timeout", timeout_error(seconds), clock, chrony)


def _message(registered):
    return str(registered.get("msg") or "").strip() or None


def normalize(registered):
    """What Ansible registered for a host as a probe result, or None.

    Accepts the probe result itself (possibly with Ansible's own keys such as ``changed``: only KEYS
    are kept), an ``unreachable`` result (``ignore_unreachable: true``), a failed result without
    contract keys, or a skipped/absent one (-> None: the host has no result).
    """
    if not isinstance(registered, dict):
        return None
    if registered.get("status") in STATUSES:
        return {key: registered.get(key) for key in KEYS}
    if registered.get("unreachable"):
        return result("unreachable", _message(registered) or "host unreachable")
    if registered.get("failed"):
        return result("error", _message(registered) or "the probe task failed")
    return None


def from_visit(raw):
    """What a clock_probe_batch visit returned (a clock_probe result or an Ansible failure) as a probe result.

    A visit always has one: an Ansible-level failure (an undefined variable in the host's connection
    settings, a connection plugin that is not installed) becomes ``unreachable`` or ``error`` with its
    message and chrony not probed, as clock_report reads a failed per-host task.
    """
    if not isinstance(raw, dict):
        return failed("error", "no result from the visit")
    if raw.get("status") in STATUSES and "clock" in raw:
        return {key: raw.get(key) for key in KEYS}
    if raw.get("unreachable"):
        return failed("unreachable", _message(raw) or "host unreachable")
    if raw.get("skipped"):
        return failed("error", "the visit was skipped: %s" % (raw.get("skip_reason") or _message(raw) or "no reason given"))
    return failed("error", _message(raw) or "the visit failed without a message")


def reference(tracking):
    """What a record shows as chrony's reference: LOCAL_REFERENCE, the source's name or id, or None (none)."""
    if not isinstance(tracking, dict):
        return None
    ref_id = str(tracking.get("ref_id") or "").upper()
    if ref_id == REF_LOCAL:
        return LOCAL_REFERENCE
    if ref_id in ("", REF_NONE):
        return None
    return tracking.get("ref_name") or ref_id


def host_daemon(result):
    """The host's time daemon as a record shows it (timedaemons.host_daemon) from its probe result."""
    return timedaemons.host_daemon(result.get("chrony"), result.get("daemons"), reference)
