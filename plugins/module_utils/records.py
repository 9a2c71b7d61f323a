# -*- coding: utf-8 -*-
# Copyright (c) 2025 fleetclock maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Host records: one host's line of an audit report, made from its probe result or read back from a report.

A record holds FIELDS (what was measured, every value checked: the result came from an untrusted
host or file) and, once ``judge`` ran with the thresholds, ``checks`` (kind, level, message),
``severity`` and ``reasons``.  ``host_record`` makes one from a probe result (probe_result.py);
``shifted`` re-reads one from a slice report and moves it onto another reference (report_merge):
both check the values the same way.  The fleet summary (fleet.py) is computed from judged records.
Sign convention: offset = host clock minus controller clock (positive = host ahead).

Pure functions; no Ansible imports; Python 3.8+.
"""

from __future__ import annotations

import math
import statistics

from ansible_collections.fleetclock.timesync.plugins.module_utils.probe_result import (
    STATES,
    STATUSES,
    UNKNOWN_STATES,
    UNSYNCHRONISED_STATES,
    host_daemon,
    reference,
)
from ansible_collections.fleetclock.timesync.plugins.module_utils.timedaemons import CHRONY, KERNEL_STATES, warning_severity
from ansible_collections.fleetclock.timesync.plugins.module_utils.textfmt import fmt_seconds
from ansible_collections.fleetclock.timesync.plugins.module_utils.values import as_float, as_int

NO_RESULT = "no_result"
CLOCK_FIELDS = ("offset", "bound", "rtt", "samples", "execs", "resolution")  # execs: optional, older probes have none
CHRONY_FIELDS = ("chrony_state", "chrony_error", "stratum", "reference", "chrony_offset", "chrony_error_bound",
                 "leap_status")
# The host's time daemon (timedaemons.host_daemon, the kernel's verdict flattened): the record's ``daemon`` section.
DAEMON_FIELDS = ("daemon", "state", "reference", "stratum", "offset", "error_bound", "error", "active",
                 "kernel_state", "kernel_source", "container", "warnings")
FIELDS = ("host", "status", "error", "measured") + CLOCK_FIELDS + CHRONY_FIELDS + ("daemon",)
# A daemon's claim against the measurement (docs/report-schema.md, "A daemon's claim against the measurement"):
# a daemon saying "synchronised" claims |host - true time| <= its error bound E.  The audit contradicts it when
# |measured offset| > CLAIM_FACTOR * (E + measurement bound + controller's bound) + CLAIM_MARGIN.
CLAIM_FACTOR = 2.0
CLAIM_MARGIN = 1.0  # s: a daemon's estimate up to one 1024 s poll old at chrony's 500 ppm maxdrift, twice over
# Without its own synchronised chrony the controller is trusted when the median offset of at least
# FLEET_MIN_HOSTS measured hosts lies within FLEET_AGREE of it (the fleet vouches for the controller's clock).
FLEET_MIN_HOSTS = 3
FLEET_AGREE = 1.0  # s
NO_CLOCK_CONTROL = ("cannot steer this clock (no clock control: chronyd -x, no CAP_SYS_TIME, a hypervisor or another "
                    "process setting the time) or is being lied to (a wrong reference)")
_WHAT = {"unreachable": "unreachable", "timeout": "timed out", "error": "probe failed", "ok": "no clock sample"}


def _num(value):
    return as_float(value, strings=False)


def _whole(value):
    return as_int(value, strings=False)


def _text(value):
    return value if isinstance(value, str) else None


def _blank(name):
    record = dict.fromkeys(FIELDS)
    record.update(host=name, status=NO_RESULT, measured=False)
    return record


def _strings(value):
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else None


def _daemon(value):
    """A record's ``daemon`` section (DAEMON_FIELDS) with every value checked, or None (not read: an older probe
    or report)."""
    if not isinstance(value, dict):
        return None
    state, kernel = value.get("state"), value.get("kernel_state")
    container = value.get("container")
    return {"daemon": _text(value.get("daemon")), "state": state if state in STATES else "unknown",
            "reference": _text(value.get("reference")), "stratum": _whole(value.get("stratum")),
            "offset": _num(value.get("offset")), "error_bound": _num(value.get("error_bound")),
            "error": _text(value.get("error")), "active": _strings(value.get("active")),
            "kernel_state": kernel if kernel in KERNEL_STATES else None,
            "kernel_source": _text(value.get("kernel_source")),
            "container": container if isinstance(container, bool) else None,
            "warnings": _strings(value.get("warnings")) or []}


def _record(name, status, error, clock, chrony, daemon=None):
    """A record from a host's status and error, ``clock`` (CLOCK_FIELDS), ``chrony`` (CHRONY_FIELDS) and
    ``daemon`` (DAEMON_FIELDS) or None."""
    rec = _blank(name)
    rec["daemon"] = _daemon(daemon)
    rec["status"] = status if status in STATUSES else "error"
    rec["error"] = _text(error) if status in STATUSES else "malformed probe result: status %r" % (status,)
    if isinstance(chrony, dict):
        state = chrony.get("chrony_state")
        rec.update(chrony_state=state if state in STATES else "unknown", chrony_error=_text(chrony.get("chrony_error")),
                   chrony_offset=_num(chrony.get("chrony_offset")), chrony_error_bound=_num(chrony.get("chrony_error_bound")),
                   stratum=_whole(chrony.get("stratum")), reference=_text(chrony.get("reference")),
                   leap_status=_text(chrony.get("leap_status")))
    if isinstance(clock, dict):
        offset, bound = _num(clock.get("offset")), _num(clock.get("bound"))
        if offset is not None and bound is not None and bound >= 0:
            rec.update(measured=True, offset=offset, bound=bound, rtt=_num(clock.get("rtt")),
                       samples=_whole(clock.get("samples")), execs=_whole(clock.get("execs")),
                       resolution=_num(clock.get("resolution")))
        else:
            rec["error"] = rec["error"] or "malformed clock sample (offset/bound missing or not numbers)"
    return rec


def host_record(name, result):
    """The record (FIELDS, not judged) of host ``name`` from its probe result; None: the host has no result."""
    if not isinstance(result, dict):
        return _blank(name)
    chrony = result.get("chrony")
    view = None
    if isinstance(chrony, dict):
        tracking = chrony.get("tracking") if isinstance(chrony.get("tracking"), dict) else {}
        view = {"chrony_state": chrony.get("state"), "chrony_error": chrony.get("error"),
                "chrony_offset": chrony.get("offset"), "chrony_error_bound": chrony.get("error_bound"),
                "stratum": tracking.get("stratum"), "reference": reference(tracking),
                "leap_status": tracking.get("leap_status")}
    daemon = None
    if isinstance(chrony, dict) or isinstance(result.get("daemons"), dict):
        daemon = dict(host_daemon(result))
        kernel = daemon.pop("kernel", None) or {}
        daemon.update(kernel_state=kernel.get("state"), kernel_source=kernel.get("source"),
                      container=kernel.get("container"))
    return _record(name, result.get("status"), result.get("error"), result.get("clock"), view, daemon)


def shifted(record, offset=0.0, bound=0.0):
    """A record read from a report (FIELDS, not judged), checked as ``host_record`` checks a probe result, with
    its offset moved by ``offset`` and its bound widened by ``bound`` (a slice controller's chrony offset and
    error bound: the offset becomes host clock minus true time)."""
    name = str(record.get("host"))
    if record.get("status") == NO_RESULT:
        return _blank(name)
    clock = None
    if record.get("measured") and _num(record.get("offset")) is not None and _num(record.get("bound")) is not None:
        clock = {key: record.get(key) for key in CLOCK_FIELDS}
        clock.update(offset=record["offset"] + offset, bound=record["bound"] + bound)
    chrony = None
    if record.get("chrony_state") is not None:
        chrony = {key: record.get(key) for key in CHRONY_FIELDS}
        chrony["reference"] = chrony["reference"] or None
    return _record(name, record.get("status"), record.get("error"), clock, chrony, record.get("daemon"))


def check(kind, level, message):
    """One finding of a record or of the fleet."""
    return {"kind": kind, "level": level, "message": message}


def _clock_checks(rec, th):
    if not rec["measured"]:
        if rec["status"] == NO_RESULT:
            return [check("reach", "critical", "no probe result (the host failed or was unreachable before the probe ran)")]
        return [check("reach", "critical", "%s: %s" % (_WHAT[rec["status"]], rec["error"] or "no details"))]
    checks = []
    if rec["status"] != "ok":
        checks.append(check("visit", "warning", "visit incomplete (%s after the clock was sampled): %s"
                            % (_WHAT[rec["status"]], rec["error"] or "no details")))
    size = abs(rec["offset"])
    text = "offset %s (+/- %s) from the controller" % (fmt_seconds(rec["offset"], True), fmt_seconds(rec["bound"]))
    if size > th["crit_offset"]:
        checks.append(check("offset", "critical", "%s exceeds crit_offset %g s" % (text, th["crit_offset"])))
    elif size > th["warn_offset"]:
        checks.append(check("offset", "warning", "%s exceeds warn_offset %g s" % (text, th["warn_offset"])))
    if rec["bound"] > th["warn_offset"]:
        checks.append(check("bound", "warning", "error bound +/- %s exceeds warn_offset %g s: the offset "
                            "cannot be judged (slow connection or whole-second date)"
                            % (fmt_seconds(rec["bound"]), th["warn_offset"])))
    return checks


def _other_daemon(rec):
    """The name of the host's time daemon when it is not chrony (chrony not running), else None."""
    daemon = rec.get("daemon") or {}
    if daemon.get("daemon") in (None, CHRONY) or CHRONY in (daemon.get("active") or []):
        return None
    return daemon["daemon"]


def _daemon_checks(rec):
    """Findings about the host's time daemon when it is not chrony, and the daemon warnings (several daemons at
    once, the kernel disagreeing).  Another daemon's unsynchronised state is a warning: fail_on_unsynchronised
    judges chrony only (making it judge every daemon would turn today's warnings into failures: a breaking change)."""
    daemon = rec.get("daemon")
    if not daemon:
        return []
    checks = [check("daemon", warning_severity(daemon.get("container"), text), text) for text in daemon["warnings"]]
    name, state, error = _other_daemon(rec), daemon["state"], daemon["error"]
    if name is None or rec["status"] != "ok":
        return checks
    if state in UNSYNCHRONISED_STATES:
        checks.append(check("daemon", "warning", "%s is %s%s" % (
            name, "not running" if state == "not_running" else "not synchronised", ": %s" % error if error else "")))
    elif state in UNKNOWN_STATES:
        checks.append(check("daemon", "warning", "%s state %s: sync status unknown%s" % (
            name, state, " (%s)" % error if error else "")))
    elif state == "local":
        checks.append(check("daemon", "info", "%s follows its own local clock: expected only on an air-gapped "
                            "master" % name))
    return checks


def claim_limit(error_bound, bound, controller_bound=0.0):
    """How far from the controller a host whose daemon claims ``error_bound`` may be measured before the audit
    contradicts the claim: CLAIM_FACTOR * (error_bound + bound + controller_bound) + CLAIM_MARGIN seconds."""
    return CLAIM_FACTOR * (error_bound + bound + controller_bound) + CLAIM_MARGIN


def contradicts(offset, bound, error_bound, controller_bound=0.0):
    """Whether the measured ``offset`` (+/- ``bound``) contradicts a daemon's claim that its clock is within
    ``error_bound`` of true time, the controller being within ``controller_bound`` of it: |offset| >
    claim_limit(...).  Only the size of the daemon's bound is used, not its offset's sign.  False when a value is
    not a finite number or a bound is negative (nothing to judge); never raises."""
    values = [_num(value) for value in (offset, bound, error_bound, controller_bound)]
    if None in values or min(values[1:]) < 0:
        return False
    limit = claim_limit(*values[1:])
    return math.isfinite(limit) and abs(values[0]) > limit


def controller_trust(controller, records):
    """Whether the controller's clock stands for true time when a daemon's claim is judged: ``trusted``,
    ``bound`` (how far from true time it may be: its chrony error bound, or |fleet median offset|) and ``basis``
    (why, in words).  ``controller``: the report's controller section; ``records``: the host records (measured
    offsets).  The controller's own synchronised chrony first; failing that, the median offset of at least
    FLEET_MIN_HOSTS measured hosts within FLEET_AGREE of the controller."""
    controller = controller if isinstance(controller, dict) else {}
    own = _num(controller.get("chrony_error_bound"))
    if controller.get("synchronised") is True and own is not None and own >= 0:
        return {"trusted": True, "bound": own,
                "basis": "the controller's chrony is synchronised (error bound %s)" % fmt_seconds(own)}
    state = ("the controller's chrony state is %s" % (controller.get("chrony_state") or "unknown")
             if controller.get("probed") else "the controller was not probed")
    offsets = [r["offset"] for r in records or []
               if isinstance(r, dict) and r.get("measured") and _num(r.get("offset")) is not None]
    if len(offsets) < FLEET_MIN_HOSTS:
        return {"trusted": False, "bound": None,
                "basis": "%s and %d host(s) were measured: too few (%d) for the fleet to vouch for its clock"
                         % (state, len(offsets), FLEET_MIN_HOSTS)}
    median = statistics.median(offsets)
    agree = abs(median) <= FLEET_AGREE
    return {"trusted": agree, "bound": abs(median) if agree else None,
            "basis": "%s; the median offset of the %d measured hosts is %s, %s" % (
                state, len(offsets), fmt_seconds(median, True),
                "so the fleet agrees with the controller's clock (within %g s)" % FLEET_AGREE if agree else
                "so the fleet does not vouch for the controller's clock (more than %g s away)" % FLEET_AGREE)}


def _claim(rec):
    """(daemon name, state, its offset, its error bound) of the host's daemon; chrony's fields for a record
    without a daemon section (an older report)."""
    daemon = rec.get("daemon")
    if daemon:
        return daemon["daemon"], daemon["state"], daemon["offset"], daemon["error_bound"]
    return CHRONY, rec["chrony_state"], rec["chrony_offset"], rec["chrony_error_bound"]


def claim_checks(rec, trust):
    """The finding when the host's daemon says it is synchronised within its error bound but the measured offset
    is far outside it (``contradicts``): a warning naming what it means when ``trust`` (controller_trust) says the
    controller is right, else an info saying why no claim is made.  Nothing when ``trust`` is None."""
    if not trust or not rec["measured"]:
        return []
    name, state, own, error_bound = _claim(rec)
    controller_bound = trust["bound"] if trust["trusted"] else 0.0
    if state != "synchronised" or not contradicts(rec["offset"], rec["bound"], error_bound, controller_bound):
        return []
    said = ("%s says it is synchronised within +/- %s of true time (its offset %s) but this clock is measured "
            "%s (+/- %s) from the controller, beyond %g x (that bound + the measurement's%s) + %g s" % (
                name or "the daemon", fmt_seconds(error_bound), "unknown" if own is None else fmt_seconds(own, True),
                fmt_seconds(rec["offset"], True), fmt_seconds(rec["bound"]), CLAIM_FACTOR,
                " + the controller's %s" % fmt_seconds(controller_bound) if trust["trusted"] else "", CLAIM_MARGIN))
    if trust["trusted"]:
        return [check("claim", "warning", "%s, and %s: %s %s; check that it may set the clock and that nothing "
                      "else does" % (said, trust["basis"], name or "the daemon", NO_CLOCK_CONTROL))]
    return [check("claim", "info", "%s; no claim is made which of them is wrong: %s" % (said, trust["basis"]))]


def _chrony_checks(rec):
    state, error = rec["chrony_state"], rec["chrony_error"]
    checks = []
    if _other_daemon(rec) is not None and state in ("missing", "not_running"):
        return checks  # the host keeps time with another daemon: judged by _daemon_checks
    if state in UNSYNCHRONISED_STATES:
        if state == "not_running":
            detail = error or "chronyd is not running"
        else:
            detail = "chrony is not synchronised" + (": %s" % error if error else "")
        checks.append(check("chrony", "critical", detail))
    elif state in UNKNOWN_STATES and rec["status"] == "ok":
        detail = {"missing": "chronyc is not installed",
                  "no_access": "chronyd runs but does not answer the audit's user"}.get(state, "chrony state %s" % state)
        checks.append(check("chrony", "warning", "%s: sync status unknown%s" % (
            detail, " (%s)" % error if error and state != "missing" else "")))
    elif state == "local":
        checks.append(check("chrony", "info", "chrony follows its own local clock (reference LOCAL): "
                            "expected only on an air-gapped master"))
    if rec["leap_status"] in ("Insert second", "Delete second"):
        checks.append(check("leap", "info", "leap second pending: %s" % rec["leap_status"]))
    return checks


def judge(record, thresholds, trust=None):
    """The record with its checks, ``severity`` (unknown when not measured, else the worst level) and ``reasons``.

    ``thresholds``: warn_offset and crit_offset in seconds; ``trust``: controller_trust, to judge the daemon's
    claim against the measurement (None: not judged).
    """
    checks = _clock_checks(record, thresholds) + _chrony_checks(record) + _daemon_checks(record) \
        + claim_checks(record, trust)
    levels = [item["level"] for item in checks]
    if any(item["kind"] == "reach" for item in checks):
        severity = "unknown"
    elif "critical" in levels:
        severity = "critical"
    elif "warning" in levels:
        severity = "warning"
    else:
        severity = "ok"
    return dict(record, severity=severity, reasons=[item["message"] for item in checks], checks=checks)


def controller_record(result):
    """The report's ``controller`` section from the controller's own probe result (None: not probed)."""
    rec = host_record("controller", result)
    out = {key: rec[key] for key in CHRONY_FIELDS}
    out["probed"] = isinstance(result, dict)
    out["synchronised"] = rec["chrony_state"] == "synchronised" if out["probed"] else None
    if not out["probed"]:
        out["warning"] = None
        out["note"] = ("the controller was not probed: offsets are relative to the controller's clock, "
                       "whose own accuracy is unknown")
    elif out["synchronised"]:
        out["warning"] = None
        out["note"] = ("the controller's chrony is synchronised (its own error bound %s): offsets from the "
                       "controller approximate offsets from true time within that bound"
                       % fmt_seconds(rec["chrony_error_bound"]))
    else:
        out["warning"] = ("the controller's own chrony state is %s: offsets are relative to the controller's "
                          "clock, which is not known to follow true time; the fleet skew is still valid"
                          % (rec["chrony_state"] or "unknown"))
        out["note"] = None
    return out
