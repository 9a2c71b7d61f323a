# -*- coding: utf-8 -*-
# Copyright (c) 2025 fleetclock maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Merge audit reports of inventory slices (AWX/AAP job slicing) into one fleet report.

Each slice ran the audit on its own controller (execution node) and wrote a
schema_version 1 report whose offsets are host clock minus THAT controller's
clock.  Offsets from different controllers are only comparable after each is
moved onto a common reference: true time as each controller's chrony sees it.

    host - true = (host - controller) + (controller - true)
    bound       = probe bound + controller's chrony error bound

``controller - true`` is the slice report's ``controller.chrony_offset``
(positive = controller ahead) and its bound ``controller.chrony_error_bound``;
both exist only when the slice's controller was probed and synchronised.

Modes: ``require`` (default) corrects every slice or refuses to merge;
``auto`` corrects when every slice can be corrected, otherwise merges
uncorrected with a fleet warning; ``none`` never corrects (the slices ran on
one controller, or on controllers known to agree) and says so in a note.

Merging works on host records (records.py): each slice's records are read
back, moved by their slice's correction (records.shifted), judged with the
slices' thresholds, and summarised once (fleet.build_report: severities, fleet
skew, JWT guidance and status over all hosts).  The result is a normal
schema_version 1 report with ``generator`` ``fleetclock.timesync.report_merge``
and a ``merge`` section describing the slices.  Pure functions; no Ansible imports; Python 3.8+.
"""

from __future__ import annotations

from ansible_collections.fleetclock.timesync.plugins.module_utils.clock import MAX_OFFSET
from ansible_collections.fleetclock.timesync.plugins.module_utils.audit_options import validate_options
from ansible_collections.fleetclock.timesync.plugins.module_utils.fleet import SIGN_CONVENTION, build_report
from ansible_collections.fleetclock.timesync.plugins.module_utils.fleet import thresholds as fleet_thresholds
from ansible_collections.fleetclock.timesync.plugins.module_utils.records import controller_trust, judge, shifted
from ansible_collections.fleetclock.timesync.plugins.module_utils.textfmt import fmt_seconds
from ansible_collections.fleetclock.timesync.plugins.module_utils.values import as_float, is_number

MODES = ("require", "auto", "none")
GENERATOR = "fleetclock.timesync.report_merge"
SLICE_GENERATORS = ("fleetclock.timesync.clock_report", GENERATOR)
CORRECTED_SIGN_CONVENTION = ("offset = host clock - true time (slice controller's chrony offset corrected); "
                             "positive = host ahead")


class MergeError(ValueError):
    """The slices cannot be merged; the message says which slice and why."""


def check_slice(report, name):
    """Raise MergeError unless ``report`` looks like a schema_version 1 audit report."""
    if not isinstance(report, dict):
        raise MergeError("slice %s: not a JSON object (expected a clock-audit.json report)" % name)
    if report.get("schema_version") != 1:
        raise MergeError("slice %s: schema_version %r is not supported (expected 1)" % (name, report.get("schema_version")))
    if report.get("generator") not in SLICE_GENERATORS:
        raise MergeError("slice %s: generator %r is not a fleetclock audit report" % (name, report.get("generator")))
    for key in ("thresholds", "fail_on", "controller", "hosts", "jwt"):
        if not isinstance(report.get(key), (dict, list) if key == "hosts" else dict):
            raise MergeError("slice %s: missing or malformed %r" % (name, key))


def _in_range(value):
    return as_float(value, strings=False) is not None and abs(value) <= MAX_OFFSET


def check_numbers(report, name):
    """Raise MergeError when a host's offset, bound or rtt, or the controller's chrony offset or bound, is not a
    finite number of at most MAX_OFFSET seconds (no audit writes one: the slice is damaged or forged)."""
    where = [("controller", report["controller"], ("chrony_offset", "chrony_error_bound"))]
    where += [("host %s" % record.get("host"), record, ("offset", "bound", "rtt", "chrony_offset", "chrony_error_bound"))
              for record in report["hosts"] if isinstance(record, dict)]
    for who, record, keys in where:
        for key in keys:
            value = record.get(key)
            if is_number(value) and not _in_range(value):
                raise MergeError("slice %s: %s: %s %r s is out of range (an audit never writes more than %g s): the "
                                 "slice report is damaged or was not written by clock_report; re-run that slice's "
                                 "audit" % (name, who, key, value, MAX_OFFSET))


def slice_correction(report):
    """``(offset, bound, None)`` to add to the slice's offsets/bounds, or ``(None, None, why not)``."""
    ctrl = report.get("controller") or {}
    if not ctrl.get("probed"):
        return None, None, "its controller was not probed (fleetclock_audit_probe_controller: false)"
    if not ctrl.get("synchronised"):
        return None, None, "its controller's chrony state is %s" % (ctrl.get("chrony_state") or "unknown")
    offset, bound = ctrl.get("chrony_offset"), ctrl.get("chrony_error_bound")
    if as_float(offset, strings=False) is None or as_float(bound, strings=False) is None or bound < 0:
        return None, None, "its controller's chrony offset / error bound is missing"
    return float(offset), float(bound), None


def _same(slices, key, names):
    first = slices[0][key]
    for report, name in zip(slices[1:], names[1:]):
        if report[key] != first:
            raise MergeError("slices %s and %s were audited with different %s (%r vs %r): rerun them "
                             "with the same audit variables" % (names[0], name, key, first, report[key]))
    return first


def merge_reports(slices, names=None, mode="require", now=None):
    """One fleet report dict from slice report dicts (parsed clock-audit.json files).

    ``names`` label the slices in messages and in ``merge.slices`` (default:
    slice-1, slice-2...).  Raises MergeError on malformed slices, a host in
    more than one slice, differing thresholds, or (mode require) a slice whose
    controller offset is unknown.
    """
    if mode not in MODES:
        raise MergeError("mode must be one of %s, got %r" % (", ".join(MODES), mode))
    slices = list(slices or [])
    if not slices:
        raise MergeError("no slice reports to merge")
    names = [str(n) for n in names] if names is not None else ["slice-%d" % (i + 1) for i in range(len(slices))]
    if len(names) != len(slices):
        raise MergeError("%d names for %d slices" % (len(names), len(slices)))
    for report, name in zip(slices, names):
        check_slice(report, name)
        check_numbers(report, name)
    thresholds = _same(slices, "thresholds", names)
    fail_on = _same(slices, "fail_on", names)
    jwt = slices[0]["jwt"]

    corrections = [slice_correction(report) for report in slices]
    missing = [(name, why) for name, (_o, _b, why) in zip(names, corrections) if why]
    if mode == "none":
        corrected = False
    elif not missing:
        corrected = True
    elif mode == "require":
        raise MergeError("cannot correct for the controllers' own clocks: %s. Offsets of slices from different "
                         "controllers are not comparable without it; synchronise each execution node's chrony and "
                         "probe it (the default), or merge with mode auto / none if the slices share one controller"
                         % "; ".join("slice %s: %s" % item for item in missing))
    else:
        corrected = False

    options = dict(thresholds)
    options.update({"fail_on_" + key: value for key, value in fail_on.items()})
    options.update(jwt_leeway=jwt.get("current_leeway", 0), jwt_margin=jwt.get("margin", 1.0))
    opts = validate_options(options, check_paths=False)
    th = fleet_thresholds(opts)
    records, origin = [], {}
    for report, name, (offset, bound, _why) in zip(slices, names, corrections):
        for record in report["hosts"]:
            host = str(record.get("host"))
            if host in origin:
                raise MergeError("host %s is in slice %s and in slice %s: slices must not overlap" % (host, origin[host], name))
            origin[host] = name
            records.append(shifted(record, offset, bound) if corrected else shifted(record))
    records.sort(key=lambda rec: rec["host"])

    slice_info = []
    for report, name, (offset, bound, why) in zip(slices, names, corrections):
        ctrl, fleet = report["controller"], report.get("fleet") or {}
        slice_info.append({
            "name": name, "generated_at": report.get("generated_at"),
            "hosts_total": fleet.get("hosts_total", len(report["hosts"])),
            "hosts_measured": fleet.get("hosts_measured"),
            "status": (report.get("evaluation") or {}).get("label"),
            "controller_synchronised": ctrl.get("synchronised"),
            "controller_chrony_offset": ctrl.get("chrony_offset"),
            "controller_chrony_error_bound": ctrl.get("chrony_error_bound"),
            "correction": offset if corrected else None,
            "not_correctable": why,
        })
    ctrl = {key: None for key in ("chrony_state", "chrony_error", "stratum", "reference", "chrony_offset",
                                  "chrony_error_bound", "leap_status", "warning", "note")}
    ctrl["probed"] = all(bool(r["controller"].get("probed")) for r in slices)
    ctrl["synchronised"] = all(bool(r["controller"].get("synchronised")) for r in slices)
    spans = "%d slice(s) merged" % len(slices)
    sign_convention = SIGN_CONVENTION
    if corrected:
        worst = max(bound for _o, bound, _w in corrections)
        ctrl["chrony_error_bound"] = worst
        ctrl["note"] = ("%s: each slice's offsets were corrected by its controller's chrony offset, so offsets are "
                        "host clock - true time (as the controllers' chrony sees it); each bound includes its "
                        "controller's chrony error bound (worst %s)" % (spans, fmt_seconds(worst)))
        sign_convention = CORRECTED_SIGN_CONVENTION
    elif mode == "none":
        ctrl["note"] = ("%s without correcting for the controllers' clocks (mode none): offsets are comparable only if "
                        "the slices ran on one controller or on controllers that agree" % spans)
    else:
        ctrl["warning"] = ("%s without correcting for the controllers' clocks (%s): offsets of hosts in different "
                           "slices are comparable only as far as those controllers agree"
                           % (spans, "; ".join("slice %s: %s" % item for item in missing)))
    # the daemons' claims are judged against the slices' controllers: trusted when every one is synchronised, the
    # worst of their chrony error bounds (a single slice: exactly as in its own report)
    bounds = [as_float(r["controller"].get("chrony_error_bound"), strings=False) for r in slices]
    trust = controller_trust(dict(ctrl, chrony_error_bound=None if None in bounds else max(bounds)), records)
    records = [judge(record, th, trust) for record in records]
    merged = build_report(records, ctrl, opts, now=now, generator=GENERATOR, sign_convention=sign_convention)
    merged["merge"] = {"mode": mode, "corrected": corrected, "slices": slice_info}
    return merged
