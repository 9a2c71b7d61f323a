"""No option of the audit, the merge or remediate can crash a run without naming itself, or be taken as other than
asked.

In-process, the way the actions and playbooks check them: the collection's own number pre-check
(values.number_option_errors, run by every action before ansible-core converts), ansible-core's ArgumentSpecValidator
on the action's ARGUMENT_SPEC (the remediate playbook's validate_argument_spec spec), then the module_utils
validators (audit_options, remediate).  No host, no file written: output paths are checked, never created.

- OPTION_CATALOGUE: named bad inputs, each refused with a message naming the option.
- One property test per option set: arbitrary input (controls, unicode, separators, huge and non-finite numbers) is
  either refused with messages that each name an option that was given, or accepted as exactly what was asked
  (normalised: paths absolute, numbers finite and within range, formats in their fixed order); the audit's accepted
  options are then rendered into every report format, whose numbers must be finite and the thresholds the ones asked
  for (the Prometheus file parsed line by line).
"""
import decimal
import json
import math
import os
import re
import xml.etree.ElementTree as ET

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.validation import check_type_int
from ansible.utils.helpers import pct_to_int
from conftest import weighted
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.fleetclock.timesync.plugins.action.clock_probe_batch import ARGUMENT_SPEC as PROBE_SPEC
from ansible_collections.fleetclock.timesync.plugins.action.clock_report import ARGUMENT_SPEC as AUDIT_SPEC
from ansible_collections.fleetclock.timesync.plugins.action.report_merge import ARGUMENT_SPEC as MERGE_SPEC
from ansible_collections.fleetclock.timesync.plugins.module_utils import remediate
from ansible_collections.fleetclock.timesync.plugins.module_utils.audit_options import (
    FORMATS,
    MAX_HISTORY_LIMIT,
    MAX_PROBE_TIMEOUT,
    OptionError,
    check_output_dir,
    check_prometheus_path,
    probe_option_errors,
    validate_options,
)
from ansible_collections.fleetclock.timesync.plugins.module_utils.fleet import aggregate
from ansible_collections.fleetclock.timesync.plugins.module_utils.history import build_history
from ansible_collections.fleetclock.timesync.plugins.module_utils.merge import MODES
from ansible_collections.fleetclock.timesync.plugins.module_utils.report import RENDERERS
from ansible_collections.fleetclock.timesync.plugins.module_utils.values import as_float, number_option_errors

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
with open(os.path.join(ROOT, "playbooks", "vars", "remediate_argument_spec.yml")) as _handle:
    REMEDIATE_SPEC = yaml.safe_load(_handle)["__fc_rem_argument_spec"]
AUDIT_NUMBERS = ("warn_offset", "crit_offset", "warn_skew", "crit_skew", "jwt_leeway", "jwt_margin")
NAN, INF = float("nan"), float("inf")


def spec_errors(spec, options):
    """(errors, converted options): the number pre-check, then ansible-core's own argument spec check."""
    errors = number_option_errors(spec, options)
    if errors:
        return errors, None
    result = ArgumentSpecValidator(spec).validate(options)  # an exception here is a crash naming nothing: a failure
    return list(result.error_messages), result.validated_parameters


def check_audit(options):
    """What clock_report does with its options (check_only): errors, or the normalised options."""
    errors, args = spec_errors(AUDIT_SPEC, options)
    if errors:
        return errors, None
    try:
        return [], validate_options(args)
    except OptionError as exc:
        return [str(exc)], None


def check_probe(options):
    """What clock_probe (and clock_probe_batch, with workers) do with their options."""
    errors, args = spec_errors(PROBE_SPEC, options)
    if errors:
        return errors, None
    errors = probe_option_errors(args)
    return errors, None if errors else args


def check_merge(options):
    """What report_merge does with its options before it reads a slice."""
    errors, args = spec_errors(MERGE_SPEC, dict(options, slices=options.get("slices", ["s1"])))
    if errors:
        return errors, None
    try:
        check_output_dir(args["output_dir"])
        if args["prometheus_path"]:
            check_prometheus_path(args["prometheus_path"])
    except OptionError as exc:
        return [str(exc)], None
    return [], args


def check_remediate(options):
    """What the remediate playbook's first play does: the remediate_validate_options filter, then
    validate_argument_spec with playbooks/vars/remediate_argument_spec.yml."""
    errors = remediate.validate_options(options)
    if errors:
        return errors, None
    errors, args = spec_errors(REMEDIATE_SPEC, options)
    return errors, None if errors else args


CHECKS = {"audit": check_audit, "probe": check_probe, "merge": check_merge, "remediate": check_remediate}

# name -> (option set, options, the option the message must name, what the message must say)
OPTION_CATALOGUE = {
    # ansible-core's int/float checks crash (OverflowError), or spend minutes, without naming the option
    "audit_jwt_max_pairs_inf": ("audit", {"jwt_max_pairs": "inf"}, "jwt_max_pairs", "finite whole number"),
    "audit_jwt_max_pairs_huge_exponent": ("audit", {"jwt_max_pairs": "1e999999"}, "jwt_max_pairs", "finite whole"),
    "audit_warn_offset_huge_int": ("audit", {"warn_offset": 10 ** 400}, "warn_offset", "finite number"),
    "probe_min_samples_inf": ("probe", {"min_samples": "inf"}, "min_samples", "finite whole number"),
    "probe_max_samples_float_inf": ("probe", {"max_samples": INF}, "max_samples", "finite whole number"),
    "probe_workers_nan_text": ("probe", {"workers": "nan"}, "workers", "finite whole number"),
    "probe_timeout_huge_int": ("probe", {"timeout": 10 ** 400}, "timeout", "finite number"),
    # NUL in an output path passed the check and failed only when the reports were written, after the audit
    "audit_output_dir_nul": ("audit", {"output_dir": "/tmp/reports\x00x"}, "output_dir", "without NUL"),
    "audit_history_dir_nul": ("audit", {"history_dir": "/tmp/history\x00"}, "history_dir", "without NUL"),
    "audit_history_limit_inf": ("audit", {"history_limit": "inf"}, "history_limit", "finite whole number"),
    "audit_history_limit_zero": ("audit", {"history_limit": 0}, "history_limit", "from 1 to 1000"),
    "audit_prometheus_path_nul": ("audit", {"prometheus_path": "/tmp/x\x00.prom"}, "prometheus_path", ".prom"),
    "merge_prometheus_path_nul": ("merge", {"prometheus_path": "/tmp/x\x00.prom"}, "prometheus_path", ".prom"),
    "merge_output_dir_nul": ("merge", {"output_dir": "/tmp/m\x00"}, "output_dir", "without NUL"),
    "remediate_output_dir_nul": ("remediate", {"fleetclock_remediate_output_dir": "out\x00"},
                                 "fleetclock_remediate_output_dir", "without NUL"),
    # serial steps Ansible's int() fails on after the before-audit
    "remediate_serial_decimal_percent": ("remediate", {"fleetclock_remediate_serial": [1, "12.5%"]},
                                         "fleetclock_remediate_serial[1]", "whole number"),
    "remediate_serial_percent_space_after": ("remediate", {"fleetclock_remediate_serial": "25% "},
                                             "fleetclock_remediate_serial", "batch size"),
    "remediate_serial_float_text": ("remediate", {"fleetclock_remediate_serial": "2.0"},
                                    "fleetclock_remediate_serial", "batch size"),
    "remediate_serial_exponent": ("remediate", {"fleetclock_remediate_serial": ["1e3"]},
                                  "fleetclock_remediate_serial[0]", "batch size"),
    "remediate_serial_zero_percent": ("remediate", {"fleetclock_remediate_serial": "0%"},
                                      "fleetclock_remediate_serial", "above 0%"),
    "remediate_serial_bool": ("remediate", {"fleetclock_remediate_serial": True}, "fleetclock_remediate_serial",
                              "batch size"),
    "remediate_serial_double_percent": ("remediate", {"fleetclock_remediate_serial": "5%%"},
                                        "fleetclock_remediate_serial", "whole number"),
    # ranges, non-finite numbers, choices, typos
    "audit_warn_offset_nan": ("audit", {"warn_offset": "nan"}, "warn_offset", "finite number"),
    "audit_crit_offset_inf": ("audit", {"crit_offset": INF}, "crit_offset", "finite number"),
    "audit_jwt_leeway_negative": ("audit", {"jwt_leeway": -1}, "jwt_leeway", ">= 0"),
    "audit_warn_above_crit": ("audit", {"warn_offset": 6}, "crit_offset", "must not be larger"),
    "audit_jwt_max_pairs_negative": ("audit", {"jwt_max_pairs": -3}, "jwt_max_pairs", ">= 0"),
    "audit_format_injection": ("audit", {"formats": ["json\nhtml"]}, "formats", "one or more of"),
    "audit_format_unknown": ("audit", {"formats": ["yaml"]}, "formats", "one or more of"),
    "audit_prometheus_not_prom": ("audit", {"prometheus_path": "/tmp/metrics.txt"}, "prometheus_path", ".prom"),
    "audit_output_dir_empty": ("audit", {"output_dir": " "}, "output_dir", "non-empty path"),
    "audit_fail_switch_text": ("audit", {"fail_on_skew": "maybe"}, "fail_on_skew", "bool"),
    "probe_min_samples_zero": ("probe", {"min_samples": 0}, "min_samples", "at least 1"),
    "probe_max_below_min": ("probe", {"min_samples": 4, "max_samples": 2}, "max_samples", "at least min_samples"),
    "probe_timeout_nan": ("probe", {"timeout": NAN}, "timeout", "finite number"),
    "probe_timeout_above_an_hour": ("probe", {"timeout": 3601}, "timeout", "between 0 and 3600"),
    "probe_target_bound_negative": ("probe", {"target_bound": -0.5}, "target_bound", ">= 0"),
    "probe_workers_zero": ("probe", {"workers": 0}, "workers", "at least 1"),
    "probe_samples_decimal": ("probe", {"min_samples": "1.5"}, "min_samples", "int"),
    "merge_mode_unknown": ("merge", {"mode": "maybe"}, "mode", "one of"),
    "merge_prometheus_not_prom": ("merge", {"prometheus_path": "/tmp/m.prom.txt"}, "prometheus_path", ".prom"),
    "remediate_max_fail_nan": ("remediate", {"fleetclock_remediate_max_fail_percentage": "nan"},
                               "fleetclock_remediate_max_fail_percentage", "from 0 to 100"),
    "remediate_max_fail_above_100": ("remediate", {"fleetclock_remediate_max_fail_percentage": 100.5},
                                     "fleetclock_remediate_max_fail_percentage", "from 0 to 100"),
    "remediate_sync_timeout_inf": ("remediate", {"fleetclock_remediate_sync_timeout": "inf"},
                                   "fleetclock_remediate_sync_timeout", "whole number"),
    "remediate_max_offset_zero": ("remediate", {"fleetclock_remediate_max_offset": 0},
                                  "fleetclock_remediate_max_offset", "above 0"),
    "remediate_order_injection": ("remediate", {"fleetclock_remediate_order": "sorted\nshuffle"},
                                  "fleetclock_remediate_order", "must be one of"),
    "remediate_resume_unknown": ("remediate", {"fleetclock_remediate_resume": "force"}, "fleetclock_remediate_resume",
                                 "must be one of"),
    "remediate_makestep_text": ("remediate", {"fleetclock_remediate_makestep": "sometimes"},
                                "fleetclock_remediate_makestep", "true or false"),
    "remediate_hosts_blank": ("remediate", {"fleetclock_remediate_hosts": " \t"}, "fleetclock_remediate_hosts",
                              "non-empty inventory pattern"),
    "remediate_typo": ("remediate", {"fleetclock_remediate_serail": 1}, "fleetclock_remediate_serail",
                       "not a remediate option"),
}


@pytest.mark.parametrize("case", sorted(OPTION_CATALOGUE))
def test_option_catalogue_refused_naming_the_option(case):
    kind, options, name, needle = OPTION_CATALOGUE[case]
    errors, accepted = CHECKS[kind](options)
    assert errors and accepted is None, "%s was accepted" % case
    assert any(name in e and needle in e for e in errors), errors


def test_option_catalogue_is_large_enough():
    assert len(OPTION_CATALOGUE) >= 40


# --- the property tests -----------------------------------------------------------------------------------------

_CHARS = st.characters(blacklist_categories=("Cs",))
_HOSTILE = st.one_of(
    st.text(_CHARS, max_size=10),
    st.sampled_from(["\x00", "a\nb", "\u2028", "\x85", "\u202e", "../..", "x.prom\n", "nan", "inf", "-inf",
                     "Infinity", "1e999999", "1e308", "1_000", "0x10", "-0", " 5 ", "5\n", "+7", "", "25%", "12.5%",
                     "25% ", "all", "$HOME", "~"]),
)
_NUMBER = st.one_of(st.integers(-10 ** 6, 10 ** 6), st.integers(10 ** 300, 10 ** 400),
                    st.floats(allow_nan=True, allow_infinity=True), st.booleans(), st.none(), _HOSTILE)
_BOOL = st.one_of(st.booleans(), st.sampled_from(["yes", "no", "true", "False", "1", "0", "on", "off"]))


def _mostly(good, bad=_NUMBER, weight=8):
    return weighted(good, bad, weight)


def _seconds(high=100):
    return st.one_of(st.floats(0, high), st.integers(0, high), st.sampled_from(["0.5", " 2 ", "1e0", "3\n"]))


def _path(*good):
    return _mostly(st.sampled_from(good), st.one_of(st.builds(lambda a, b: a + b, st.sampled_from(good), _HOSTILE),
                                                    _HOSTILE), weight=6)


_FORMATS = _mostly(st.one_of(st.lists(st.sampled_from(FORMATS), max_size=6),
                             st.sampled_from(["json", "table,json", " html , junit "])),
                   st.one_of(_HOSTILE, st.lists(_HOSTILE, max_size=2)), weight=8)
AUDIT = st.fixed_dictionaries({}, optional=dict(
    [(name, _mostly(_seconds(5 if name.startswith("warn") else 100), weight=12)) for name in AUDIT_NUMBERS],
    jwt_max_pairs=_mostly(st.one_of(st.integers(0, 50), st.integers(10 ** 30, 10 ** 400), st.just("7")), weight=12),
    formats=_FORMATS,
    output_dir=_path("reports", "/tmp/fleetclock-props/out"),
    prometheus_path=_path("fleet.prom", "/tmp/fleetclock-props/x.prom"),
    history_dir=_path("history", "/tmp/fleetclock-props/history"),
    history_limit=_mostly(st.one_of(st.integers(1, 1000), st.just("50")), weight=12),
    fail_on_skew=_mostly(_BOOL, weight=12), fail_on_unsynchronised=_mostly(_BOOL, weight=12),
    fail_on_unreachable=_mostly(_BOOL, weight=12),
))
PROBE = st.fixed_dictionaries({}, optional=dict(
    min_samples=_mostly(st.one_of(st.integers(1, 3), st.just("2"))),
    max_samples=_mostly(st.one_of(st.integers(3, 9), st.just(" 5 "), st.just(5.0))),
    target_bound=_mostly(_seconds(1)), timeout=_mostly(st.one_of(st.floats(0.5, 3600), st.just("20"))),
    collect_chrony=_mostly(_BOOL), workers=_mostly(st.integers(1, 64)),
))
MERGE = st.fixed_dictionaries({}, optional=dict(
    slices=st.lists(_path("s1", "s2/clock-audit.json"), min_size=1, max_size=2),
    mode=_mostly(st.sampled_from(MODES), _HOSTILE), formats=_FORMATS,
    output_dir=_path("reports-merged"), prometheus_path=_path("merged.prom"), fail_task=_mostly(_BOOL),
))
_STEP = st.one_of(st.integers(1, 50), st.sampled_from(["1", " 3 ", "10%", "25%", "100%", " 5%", 2.0]))
REMEDIATE = st.fixed_dictionaries({}, optional={
    "fleetclock_remediate_hosts": _mostly(st.sampled_from(["all", "web:&prod", "db*"]), _HOSTILE),
    "fleetclock_remediate_serial": _mostly(st.one_of(_STEP, st.lists(_mostly(_STEP), max_size=4))),
    "fleetclock_remediate_max_fail_percentage": _mostly(_seconds(100)),
    "fleetclock_remediate_order": _mostly(st.sampled_from(remediate.ORDERS), _HOSTILE),
    "fleetclock_remediate_sync_timeout": _mostly(st.one_of(st.integers(1, 600), st.just("120"))),
    "fleetclock_remediate_max_offset": _mostly(st.one_of(st.floats(0.001, 10), st.just("0.5"))),
    "fleetclock_remediate_makestep": _mostly(_BOOL),
    "fleetclock_remediate_output_dir": _path("reports/remediate", "/tmp/r"),
    "fleetclock_remediate_resume": _mostly(st.sampled_from(remediate.RESUME_MODES), _HOSTILE),
})
EXAMPLES = max(1, int(os.environ.get("FLEETCLOCK_PROPERTY_EXAMPLES", "1500")) // 5)
SEEN = dict((kind, {"refused": 0, "accepted": 0}) for kind in CHECKS)
PROPERTY = settings(max_examples=EXAMPLES,  # derandomised, no database, no deadline: from the profile (tests/conftest.py)
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _refused_naming_an_option(kind, options, errors):
    SEEN[kind]["refused"] += 1
    for error in errors:
        assert any(name in error for name in options), (error, options)


def _given(options, name):
    return options.get(name) is not None


def _exact(value):
    """The number an integer option was given, exactly (a text such as '1E30' is 10**30, not the float 1e30)."""
    return decimal.Decimal(value) if isinstance(value, (int, float)) else decimal.Decimal(str(value).strip())


def _same_path(accepted, given):
    """A path option as accepted: given, with ~ and $VARS expanded (ansible-core's path type), made absolute."""
    assert "\0" not in accepted and os.path.isabs(accepted), accepted
    assert accepted == os.path.abspath(os.path.expanduser(os.path.expandvars(given))), (accepted, given)


_PROM_LINE = re.compile(r'([a-z_]+)(\{[a-z_]+="[^"\\\n]*"(,[a-z_]+="[^"\\\n]*")*\})? (\S+)')


def _check_rendered(report, opts):
    """Every report format from the accepted options: finite numbers, the thresholds as asked."""
    prom = RENDERERS["prometheus"](report)
    thresholds = {}
    for line in prom.splitlines():
        if line.startswith("#"):
            continue
        match = _PROM_LINE.fullmatch(line)
        assert match, ascii(line)
        assert math.isfinite(float(match.group(4))), line
        if match.group(1) == "fleetclock_threshold_seconds":
            thresholds[match.group(2)] = float(match.group(4))
    for name, value in report["thresholds"].items():
        assert math.isclose(thresholds['{threshold="%s"}' % name], value, rel_tol=1e-15), (name, thresholds)

    def refuse(token):
        raise AssertionError("non-finite number in the JSON report: %s" % token)

    json.loads(RENDERERS["json"](report), parse_constant=refuse)
    ET.fromstring(RENDERERS["junit"](report))
    for fmt in ("table", "html"):
        assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]", RENDERERS[fmt](report)), fmt
    assert report["jwt"]["current_leeway"] == opts["jwt_leeway"]


@PROPERTY
@given(AUDIT)
def test_audit_options_refused_naming_the_option_or_taken_as_asked(options):
    errors, out = check_audit(options)
    if errors:
        return _refused_naming_an_option("audit", options, errors)
    SEEN["audit"]["accepted"] += 1
    for name in AUDIT_NUMBERS:
        assert math.isfinite(out[name]) and out[name] >= 0, (name, out[name])
        if _given(options, name):
            assert out[name] == as_float(options[name]), (name, options[name], out[name])
    assert out["warn_offset"] <= out["crit_offset"] and out["warn_skew"] <= out["crit_skew"]
    assert isinstance(out["jwt_max_pairs"], int) and out["jwt_max_pairs"] >= 0
    if _given(options, "jwt_max_pairs"):
        assert out["jwt_max_pairs"] == _exact(options["jwt_max_pairs"])
    assert out["formats"] == [f for f in FORMATS if f in out["formats"]]
    if _given(options, "formats"):
        given_formats = options["formats"]
        if isinstance(given_formats, str):
            given_formats = [item.strip() for item in given_formats.split(",")]
        assert set(out["formats"]) == set(f for f in given_formats if f)
    if _given(options, "output_dir"):
        _same_path(out["output_dir"], options["output_dir"])
    if _given(options, "prometheus_path"):
        _same_path(out["prometheus_path"], options["prometheus_path"])
        assert out["prometheus_path"].endswith(".prom")
    assert 1 <= out["history_limit"] <= MAX_HISTORY_LIMIT
    if _given(options, "history_limit"):
        assert out["history_limit"] == _exact(options["history_limit"])
    audit = aggregate({"host-a": None}, options=out)
    if _given(options, "history_dir"):
        _same_path(out["history_dir"], options["history_dir"])
        audit["history"] = build_history([], audit, out["history_limit"], out["history_dir"])[0]
    _check_rendered(audit, out)


@PROPERTY
@given(PROBE)
def test_probe_options_refused_naming_the_option_or_taken_as_asked(options):
    errors, out = check_probe(options)
    if errors:
        return _refused_naming_an_option("probe", options, errors)
    SEEN["probe"]["accepted"] += 1
    assert 1 <= out["min_samples"] <= out["max_samples"]
    assert 0 < out["timeout"] <= MAX_PROBE_TIMEOUT and math.isfinite(out["target_bound"]) and out["target_bound"] >= 0
    for name in ("min_samples", "max_samples", "target_bound", "timeout", "workers"):
        if _given(options, name):
            integer = PROBE_SPEC[name]["type"] == "int"
            asked = _exact(options[name]) if integer else as_float(options[name])
            assert out[name] == asked and isinstance(out[name], int if integer else float), (name, options[name])
    assert out["workers"] is None or out["workers"] >= 1


@PROPERTY
@given(MERGE)
def test_merge_options_refused_naming_the_option_or_taken_as_asked(options):
    errors, out = check_merge(options)
    if errors:
        return _refused_naming_an_option("merge", dict(options, slices=None), errors)
    SEEN["merge"]["accepted"] += 1
    assert out["mode"] in MODES and set(out["formats"]) <= set(FORMATS)
    for name in ("output_dir", "prometheus_path"):
        if _given(options, name):
            _same_path(os.path.abspath(out[name]), options[name])
    if out["prometheus_path"]:
        assert out["prometheus_path"].endswith(".prom")


@PROPERTY
@given(REMEDIATE)
def test_remediate_options_refused_naming_the_option_or_taken_as_asked(options):
    errors, out = check_remediate(options)
    if errors:
        return _refused_naming_an_option("remediate", options, errors)
    SEEN["remediate"]["accepted"] += 1
    serial = options.get("fleetclock_remediate_serial")
    for step in (serial if isinstance(serial, list) else [serial] if serial is not None else []):
        for hosts in (1, 3, 1000):  # what Ansible's serial does with the step: never fails, at least one host
            assert pct_to_int(step, hosts) >= 1, (step, hosts)
    percentage = out.get("fleetclock_remediate_max_fail_percentage")
    assert percentage is None or (math.isfinite(percentage) and 0 <= percentage <= 100)
    timeout = out.get("fleetclock_remediate_sync_timeout")
    assert timeout is None or (check_type_int(timeout) >= 1)
    offset = out.get("fleetclock_remediate_max_offset")
    assert offset is None or (math.isfinite(offset) and offset > 0)
    assert out.get("fleetclock_remediate_order") in remediate.ORDERS + (None,)
    assert out.get("fleetclock_remediate_resume") in remediate.RESUME_MODES + (None,)
    directory = out.get("fleetclock_remediate_output_dir")
    assert directory is None or (directory.strip() and "\0" not in directory)


def test_option_property_tests_saw_both_outcomes():
    """The property tests are not vacuous: each accepted options as well as refusing them."""
    if not any(seen["refused"] + seen["accepted"] for seen in SEEN.values()):
        pytest.skip("run together with the property tests")
    counts = ["%s %d refused / %d accepted" % (kind, seen["refused"], seen["accepted"])
              for kind, seen in sorted(SEEN.items())]
    print("option property tests: %s" % ", ".join(counts))
    for kind, seen in SEEN.items():
        assert seen["refused"] >= EXAMPLES // 20 and seen["accepted"] >= EXAMPLES // 20, (kind, seen)
