# -*- coding: utf-8 -*-
# Copyright (c) 2025 fleetclock maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fleet aggregation of per-host clock probe results: skew, thresholds, JWT guidance, exit status.

Input: ``{host name: probe result (the shared contract dict) or None}``.
Output: one report dict (see docs/report-schema.md); the renderers in
report.py only read that dict.  Sign convention: offset = host clock minus
controller clock (positive = host ahead).

Pure functions (the only side effect is check_output_dir() reading the file
system); no Ansible imports; Python 3.8+.
"""

from __future__ import annotations

import heapq
import math
import os
import statistics
import time

from ansible_collections.fleetclock.timesync.plugins.module_utils.probe_result import UNKNOWN_STATES, UNSYNCHRONISED_STATES
from ansible_collections.fleetclock.timesync.plugins.module_utils.records import check, controller_record, host_record, judge
from ansible_collections.fleetclock.timesync.plugins.module_utils.textfmt import fmt_seconds

SCHEMA_VERSION = 1
GENERATOR = "fleetclock.timesync.clock_report"
SIGN_CONVENTION = "offset = host clock - controller clock; positive = host ahead"
FORMATS = ("table", "json", "prometheus", "junit", "html")
SEVERITIES = ("ok", "warning", "critical", "unknown")
STATUS_LABELS = ("OK", "WARNING", "CRITICAL", "UNKNOWN")

DEFAULTS = {
    "warn_offset": 1.0,
    "crit_offset": 5.0,
    "warn_skew": None,  # None: same as warn_offset
    "crit_skew": None,  # None: same as crit_offset
    "jwt_leeway": 0,
    "jwt_margin": 1.0,
    "jwt_max_pairs": 20,
    "fail_on_skew": True,
    "fail_on_unsynchronised": True,
    "fail_on_unreachable": True,
    "formats": list(FORMATS),
}
FAIL_SWITCHES = ("fail_on_skew", "fail_on_unsynchronised", "fail_on_unreachable")
# Which fail_on_* switch turns a "critical" check of this kind into CRITICAL (else WARNING).
SWITCH_OF_KIND = {"offset": "fail_on_skew", "skew": "fail_on_skew",
                  "chrony": "fail_on_unsynchronised", "reach": "fail_on_unreachable"}

JWT_SETTINGS = (
    {"library": "PyJWT", "setting": "jwt.decode(..., leeway=N)", "default": 0},
    {"library": "flask-jwt-extended", "setting": "JWT_DECODE_LEEWAY", "default": 0},
    {"library": "jsonwebtoken (Node.js)", "setting": "jwt.verify(..., {clockTolerance: N})", "default": 0},
    {"library": "golang-jwt v5", "setting": "jwt.WithLeeway(N * time.Second)", "default": 0},
    {"library": "Spring Security", "setting": "new JwtTimestampValidator(Duration.ofSeconds(N))", "default": 60},
    {"library": "Nimbus JOSE+JWT", "setting": "DefaultJWTClaimsVerifier.setMaxClockSkew(N)", "default": 60},
)


class OptionError(ValueError):
    """An audit option is invalid; the message says which one and what to change."""


# ---------------------------------------------------------------- options

def _number(options, name):
    value = options.get(name, DEFAULTS.get(name))
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        try:
            value = float(str(value).strip())
        except ValueError:
            raise OptionError("%s must be a number of seconds, got %r" % (name, value))
    if not math.isfinite(value) or value < 0:
        raise OptionError("%s must be a finite number of seconds >= 0, got %r" % (name, value))
    return float(value)


def _bool(options, name):
    value = options.get(name, DEFAULTS.get(name))
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise OptionError("%s must be true or false, got %r" % (name, value))


def check_output_dir(path, what="output_dir"):
    """Raise OptionError unless ``path`` is a writable directory or could be created as one.

    Touches nothing: for a missing directory it checks the nearest existing parent.
    """
    if not isinstance(path, str) or not path.strip():
        raise OptionError("%s must be a non-empty path, got %r" % (what, path))
    probe = os.path.abspath(path)
    while not os.path.exists(probe):
        parent = os.path.dirname(probe)
        if parent == probe:
            break
        probe = parent
    if not os.path.isdir(probe):
        raise OptionError("%s %s: %s exists and is not a directory; choose another path" % (what, path, probe))
    if not os.access(probe, os.W_OK | os.X_OK):
        verb = "is not writable" if probe == os.path.abspath(path) else "cannot be created (%s is not writable)" % probe
        raise OptionError("%s %s %s; choose a writable directory" % (what, path, verb))
    return os.path.abspath(path)


def validate_options(options=None, check_paths=True):
    """Check and normalise the audit options; raise OptionError with a clear message.

    Returns a new dict with every key of DEFAULTS (plus output_dir / prometheus_path
    as given, made absolute when check_paths is true).
    """
    options = dict(options or {})
    out = {}
    for name in ("warn_offset", "crit_offset", "warn_skew", "crit_skew", "jwt_leeway", "jwt_margin"):
        if name in ("warn_skew", "crit_skew") and options.get(name) is None:
            out[name] = out[name.replace("skew", "offset")]
        else:
            out[name] = _number(options, name)
    for warn, crit in (("warn_offset", "crit_offset"), ("warn_skew", "crit_skew")):
        if out[warn] > out[crit]:
            raise OptionError("%s (%s s) must not be larger than %s (%s s)" % (warn, out[warn], crit, out[crit]))
    pairs = options.get("jwt_max_pairs", DEFAULTS["jwt_max_pairs"])
    if isinstance(pairs, bool) or not isinstance(pairs, int) or pairs < 0:
        raise OptionError("jwt_max_pairs must be a whole number >= 0, got %r" % (pairs,))
    out["jwt_max_pairs"] = pairs
    for name in FAIL_SWITCHES:
        out[name] = _bool(options, name)
    formats = options.get("formats", DEFAULTS["formats"])
    if isinstance(formats, str):
        formats = [item.strip() for item in formats.split(",") if item.strip()]
    if not isinstance(formats, (list, tuple)):
        raise OptionError("formats must be a list, got %r" % (formats,))
    unknown = [item for item in formats if item not in FORMATS]
    if unknown:
        raise OptionError("formats: unknown %s; choose from %s" % (", ".join(map(repr, unknown)), ", ".join(FORMATS)))
    out["formats"] = [item for item in FORMATS if item in formats]
    for name in ("output_dir", "prometheus_path"):
        value = options.get(name)
        if value is None:
            out[name] = None
        elif name == "output_dir":
            out[name] = check_output_dir(value) if check_paths else value
        else:
            if not isinstance(value, str) or not value.endswith(".prom"):
                raise OptionError("prometheus_path must be a file name ending in .prom "
                                  "(the textfile collector reads only *.prom), got %r" % (value,))
            if check_paths:
                check_output_dir(os.path.dirname(os.path.abspath(value)), "the directory of prometheus_path")
                value = os.path.abspath(value)
            out[name] = value
    return out


# ---------------------------------------------------------------- JWT

def _worst_spread(points):
    """max over ordered pairs i != j of (offset_i + bound_i) - (offset_j - bound_j); 0 for one host."""
    if len(points) < 2:
        return 0.0
    high = sorted(points, key=lambda p: p[1] + p[2], reverse=True)[:2]
    low = sorted(points, key=lambda p: p[1] - p[2])[:2]
    best = None
    for a in high:
        for b in low:
            if a[0] != b[0]:
                value = (a[1] + a[2]) - (b[1] - b[2])
                best = value if best is None or value > best else best
    return best


def _count_ahead(offsets_asc, offset, leeway):
    """How many offsets o satisfy offset - o > leeway (offsets_asc sorted ascending)."""
    lo, hi = 0, len(offsets_asc)
    while lo < hi:
        mid = (lo + hi) // 2
        if offset - offsets_asc[mid] > leeway:
            lo = mid + 1
        else:
            hi = mid
    return lo


def jwt_guidance(report_hosts, current_leeway=0, margin=DEFAULTS["jwt_margin"], max_pairs=DEFAULTS["jwt_max_pairs"]):
    """JWT leeway advice for the measured hosts of a report (``report["hosts"]``).

    d(I, V) = offset(I) - offset(V): how far issuer I's clock is ahead of verifier V's.
    A pair (I, V) is listed when d > current_leeway (point estimate): a token minted on I
    with nbf = iat = now is rejected by V for d - leeway seconds ("The token is not yet
    valid (nbf)"), and a token from I is still accepted by V up to d + leeway seconds after
    its exp.  The recommended leeway covers every pair in the worst case of the bounds:
    ceil(max over pairs of d + bound(I) + bound(V), + margin) whole seconds.
    """
    points = sorted(((h["host"], h["offset"], h["bound"]) for h in report_hosts if h.get("measured")),
                    key=lambda p: (p[1], p[0]))
    leeway = float(current_leeway)
    result = {
        "current_leeway": current_leeway,
        "margin": margin,
        "measured_hosts": len(points),
        "worst_pair_spread": None,
        "recommended_leeway": None,
        "nbf_rejected": {"total": 0, "shown": 0, "pairs": []},
        "exp_accepted_late": {"total": 0, "shown": 0, "pairs": []},
        "settings": [dict(item) for item in JWT_SETTINGS],
    }
    if not points:
        return result
    spread = _worst_spread(points)
    result["worst_pair_spread"] = spread
    # round first so float noise (2.0000000000004) does not add a whole second
    result["recommended_leeway"] = int(math.ceil(round(spread + margin, 6)))

    offsets = [p[1] for p in points]
    total = sum(_count_ahead(offsets, p[1], leeway) for p in points)
    heap = []
    descending = sorted(points, key=lambda p: (-p[1], p[0]))
    for issuer in descending:
        if len(heap) >= max_pairs and (max_pairs == 0 or issuer[1] - points[0][1] <= heap[0][0]):
            break
        for verifier in points:
            ahead = issuer[1] - verifier[1]
            if ahead <= leeway:
                break
            entry = (ahead, verifier[0], issuer[0], issuer, verifier)
            if len(heap) < max_pairs:
                heapq.heappush(heap, entry)
            elif ahead > heap[0][0]:
                heapq.heapreplace(heap, entry)
            else:
                break
    nbf, late = [], []
    for ahead, _v, _i, issuer, verifier in sorted(heap, key=lambda e: (-e[0], e[2], e[1])):
        bound = issuer[2] + verifier[2]
        common = {"issuer": issuer[0], "verifier": verifier[0], "ahead": ahead, "bound": bound,
                  "excess": ahead - leeway, "certain": ahead - bound > leeway}
        nbf.append(dict(common, rejected_for=ahead - leeway))
        late.append(dict(common, accepted_late_by=ahead + leeway))
    result["nbf_rejected"] = {"total": total, "shown": len(nbf), "pairs": nbf}
    result["exp_accepted_late"] = {"total": total, "shown": len(late), "pairs": late}
    return result


# ---------------------------------------------------------------- summary / report / evaluate

def thresholds(opts):
    """The thresholds of validated options."""
    return {key: opts[key] for key in ("warn_offset", "crit_offset", "warn_skew", "crit_skew")}


def fleet_summary(records, th):
    """The report's ``fleet`` section from judged host records: counts, skew and its check, host lists."""
    measured = [h for h in records if h["measured"]]
    fleet = {
        "hosts_total": len(records), "hosts_measured": len(measured),
        "skew": None, "skew_bound": None, "skew_upper": None, "skew_max_host": None, "skew_min_host": None,
        "max_offset": None, "min_offset": None, "median_offset": None, "skew_severity": "unknown",
        "over_warn": sorted(h["host"] for h in measured if abs(h["offset"]) > th["warn_offset"]),
        "over_crit": sorted(h["host"] for h in measured if abs(h["offset"]) > th["crit_offset"]),
        "unreachable": [h["host"] for h in records if not h["measured"] and h["status"] in ("unreachable", "timeout")],
        "failed": [h["host"] for h in records if not h["measured"] and h["status"] not in ("unreachable", "timeout")],
        "unsynchronised": [h["host"] for h in records if h["chrony_state"] in UNSYNCHRONISED_STATES],
        "chrony_unknown": [h["host"] for h in records if h["status"] == "ok" and h["chrony_state"] in UNKNOWN_STATES],
        "checks": [],
    }
    if not measured:
        return fleet
    high = max(measured, key=lambda h: (h["offset"], h["host"]))
    low = min(measured, key=lambda h: (h["offset"], h["host"]))
    skew = high["offset"] - low["offset"]
    fleet.update(
        skew=skew,
        skew_bound=0.0 if high is low else high["bound"] + low["bound"],
        skew_upper=_worst_spread([(h["host"], h["offset"], h["bound"]) for h in measured]),
        skew_max_host=high["host"], skew_min_host=low["host"],
        max_offset=high["offset"], min_offset=low["offset"],
        median_offset=statistics.median(h["offset"] for h in measured),
    )
    text = "fleet skew %s (+/- %s) between %s and %s" % (
        fmt_seconds(skew), fmt_seconds(fleet["skew_bound"]), high["host"], low["host"])
    if skew > th["crit_skew"]:
        fleet["checks"].append(check("skew", "critical", "%s exceeds crit_skew %g s" % (text, th["crit_skew"])))
        fleet["skew_severity"] = "critical"
    elif skew > th["warn_skew"]:
        fleet["checks"].append(check("skew", "warning", "%s exceeds warn_skew %g s" % (text, th["warn_skew"])))
        fleet["skew_severity"] = "warning"
    else:
        fleet["skew_severity"] = "ok"
    return fleet


def build_report(records, controller, opts, now=None, generator=GENERATOR, sign_convention=SIGN_CONVENTION):
    """The report dict from judged host records (sorted by host), the ``controller`` section (records.controller_record;
    its warning becomes a fleet check) and validated options: summary, JWT guidance and one evaluation."""
    th = thresholds(opts)
    now = time.time() if now is None else now
    fleet = fleet_summary(records, th)
    if controller["warning"]:
        fleet["checks"].append(check("controller", "warning", controller["warning"]))
    report = {
        "schema_version": SCHEMA_VERSION,
        "generator": generator,
        "generated_at": now,
        "generated_at_iso": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
        "sign_convention": sign_convention,
        "thresholds": th,
        "fail_on": {name[len("fail_on_"):]: opts[name] for name in FAIL_SWITCHES},
        "controller": controller,
        "hosts": records,
        "fleet": fleet,
        "jwt": jwt_guidance(records, opts["jwt_leeway"], opts["jwt_margin"], opts["jwt_max_pairs"]),
    }
    code, reasons = evaluate(report, **{name: opts[name] for name in FAIL_SWITCHES})
    report["evaluation"] = {"status": code, "label": STATUS_LABELS[code], "reasons": reasons}
    return report


def aggregate(results, controller=None, options=None, now=None):
    """The audit report from ``{host: probe result or None}`` (None = no result, still listed): probe results ->
    judged host records -> fleet summary -> report."""
    opts = validate_options(options, check_paths=False)
    th = thresholds(opts)
    records = [judge(host_record(str(name), (results or {})[name]), th) for name in sorted(results or {}, key=str)]
    return build_report(records, controller_record(controller), opts, now)
def evaluate(report, fail_on_skew=True, fail_on_unsynchronised=True, fail_on_unreachable=True):
    """Monitoring-plugin status of a report: (0 OK | 1 WARNING | 2 CRITICAL | 3 UNKNOWN, reasons).

    A "critical" check counts as CRITICAL only when its fail_on_* switch is on (offset and
    skew: fail_on_skew; chrony not synchronised / not running: fail_on_unsynchronised; host
    not measured: fail_on_unreachable), otherwise as WARNING.  With no hosts, or no host
    measured and nothing critical, the status is UNKNOWN.
    """
    switches = {"fail_on_skew": fail_on_skew, "fail_on_unsynchronised": fail_on_unsynchronised,
                "fail_on_unreachable": fail_on_unreachable}
    critical, warning = [], []
    labelled = [("fleet", item) for item in report["fleet"]["checks"]]
    labelled += [(h["host"], item) for h in report["hosts"] for item in h["checks"]]
    for who, item in labelled:
        level = item["level"]
        if level == "critical" and not switches.get(SWITCH_OF_KIND.get(item["kind"]), True):
            level = "warning"
        if level in ("critical", "warning"):
            (critical if level == "critical" else warning).append("%s: %s" % (who, item["message"]))
    reasons = ["CRITICAL " + text for text in critical] + ["WARNING " + text for text in warning]
    if critical:
        return 2, reasons
    if not report["hosts"]:
        return 3, ["UNKNOWN no hosts to audit"]
    if not report["fleet"]["hosts_measured"]:
        return 3, ["UNKNOWN no host could be measured"] + reasons
    return (1 if warning else 0), reasons
