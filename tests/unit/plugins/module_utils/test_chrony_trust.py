"""Nothing an inventory says can make the chrony role write a line nobody asked for.

In-process, the way the role runs it: the role's argument spec (ansible-core's ArgumentSpecValidator on
meta/argument_specs.yml), the preflight's validators (chrony_options, the air-gap planner), then the renderer
(chrony_render), whose own checks must hold even when the validators are skipped.

- CATALOGUE: named bad inputs, each refused before anything is rendered with a message naming the variable.
- The renderer alone refuses every hostile value of the catalogue that reaches a word, a number or a line.
- A property test over every string and number option: arbitrary input is either refused with a message naming
  a role variable, or rendered into a file whose directives, parsed line by line, are exactly the ones asked for
  (a sample of them parsed by the real ``chronyd -p``).
"""
import math
import os
import subprocess

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from hypothesis import HealthCheck, given, settings
from conftest import weighted as _weighted
from hypothesis import strategies as st

from ansible_collections.fleetclock.timesync.plugins.module_utils.airgap import apply_plan, build_plan, foreign_source_lines
from ansible_collections.fleetclock.timesync.plugins.module_utils.chrony_clouds import (
    cloud_choices,
    resolve_sources,
    validate_resolved,
)
from ansible_collections.fleetclock.timesync.plugins.module_utils.chrony_options import ENTRY_KINDS
from ansible_collections.fleetclock.timesync.plugins.module_utils.chrony_settings import validate_settings
from ansible_collections.fleetclock.timesync.plugins.module_utils.chrony_values import as_float
from ansible_collections.fleetclock.timesync.plugins.module_utils.chrony_render import (
    RenderError,
    render_config,
    render_daemon_options,
)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
CHRONYD = "/usr/sbin/chronyd"


def _yaml(*parts):
    with open(os.path.join(ROOT, *parts)) as handle:
        return yaml.safe_load(handle)


SPEC = _yaml("roles", "chrony", "meta", "argument_specs.yml")["argument_specs"]["main"]["options"]
DEFAULTS = _yaml("roles", "chrony", "defaults", "main.yml")
ROLE_VARS = _yaml("roles", "chrony", "vars", "main.yml")
PROFILES = ROLE_VARS["__chrony_cloud_profiles"]
DEBIAN = _yaml("roles", "chrony", "vars", "Debian.yml")
VALIDATOR = ArgumentSpecValidator(SPEC)
NAN, INF = float("nan"), float("inf")
CORE_INT_CRASH = "ansible-core's argument spec raised: "
INJECT = "\ncmdallow all\nbindcmdaddress 0.0.0.0\nallow all\nserver 192.0.2.1"


def role_vars(**overrides):
    variables = dict(DEFAULTS)
    variables["chrony_cloud"] = "none"
    variables.update(overrides)
    return variables


def preflight(variables):
    """What the role checks before it touches a host: the argument spec, then the preflight's validators."""
    try:
        result = VALIDATOR.validate(variables)
    except OverflowError as exc:
        # ansible-core's int check (Decimal) raises on 'inf' strings: the play fails before any change, but with
        # ansible-core's words ("Task failed: cannot convert Infinity to integer"), not the variable's name.
        return [CORE_INT_CRASH + str(exc)]
    errors = [str(e) for e in result.errors]
    if errors:
        return errors
    settings_ = dict((k, v) for k, v in variables.items() if k in ROLE_VARS["__chrony_settings"])
    errors = validate_settings(settings_, cloud_choices(PROFILES))
    if not errors:
        errors = validate_resolved(resolve(variables), settings_)
    return errors


def resolve(variables):
    return resolve_sources(variables["chrony_cloud"], PROFILES, user_sources=variables["chrony_sources"],
                           user_refclocks=variables["chrony_refclocks"], mode=variables["chrony_sources_mode"],
                           default_sources=DEBIAN["__chrony_default_sources"],
                           local_enabled=bool(variables["chrony_local"]))


def render_input(variables):
    """The role's __chrony_render_input for a Debian host, from the variables."""
    resolved = resolve(variables)
    v = variables
    return {"cloud": resolved["cloud"], "origin": resolved["origin"], "sources": resolved["sources"],
            "refclocks": resolved["refclocks"], "driftfile": v["chrony_driftfile"] or DEBIAN["__chrony_driftfile"],
            "makestep": v["chrony_makestep"] or ROLE_VARS["__chrony_default_makestep"],
            "minsources": v["chrony_minsources"], "maxdistance": v["chrony_maxdistance"],
            "rtcsync": v["chrony_rtcsync"], "keyfile": v["chrony_keyfile"] or DEBIAN["__chrony_keyfile"],
            "leapsectz": "right/UTC" if v["chrony_leapsectz"] == "auto" else v["chrony_leapsectz"],
            "ntsdumpdir": v["chrony_ntsdumpdir"], "logdir": v["chrony_logdir"], "log": v["chrony_log"],
            "allow": v["chrony_allow"], "deny": v["chrony_deny"], "local": v["chrony_local"],
            "cmdport_disabled": v["chrony_cmdport_disabled"], "extra_lines": v["chrony_extra_lines"],
            "nts": v.get("chrony_nts") or {}}


def test_render_input_builds_what_the_role_passes():
    """render_input above mirrors vars/main.yml's __chrony_render_input (minus the chrony version, which the
    renderer defaults): the same keys, so a key added to the role (as nts was) fails here until it is added."""
    assert set(render_input(role_vars())) | {"version"} == set(ROLE_VARS["__chrony_render_input"])


def src(**options):
    item = {"hostname": "ntp.example.com"}
    item.update(options)
    return {"chrony_sources": [item]}


def ref(**options):
    item = {"driver": "PHC", "parameter": "/dev/ptp0"}
    item.update(options)
    return {"chrony_refclocks": [item]}


# name -> (role variables, the variable the message must name, what the message must say)
CATALOGUE = {
    # 1. directive injection through an IPv6 zone id, and its relatives
    "zone_id_carries_directives": (src(hostname="fe80::1%eth0" + INJECT), "chrony_sources[0]", "not a DNS name or IP"),
    "zone_id_with_spaces": (src(hostname="fe80::1%eth0 prefer trust"), "chrony_sources[0]", "not a DNS name or IP"),
    "zone_id_on_ipv4": (src(hostname="192.0.2.1%eth0"), "chrony_sources[0]", "not a DNS name or IP"),
    "zone_id_empty": (src(hostname="fe80::1%"), "chrony_sources[0]", "not a DNS name or IP"),
    "zone_id_too_long": (src(hostname="fe80::1%" + "e" * 16), "chrony_sources[0]", "not a DNS name or IP"),
    "zone_id_with_hash": (src(hostname="fe80::1%eth0#"), "chrony_sources[0]", "not a DNS name or IP"),
    "allow_zone_id_injection": ({"chrony_allow": ["fe80::1%eth0" + INJECT]}, "chrony_allow[0]", "not an address"),
    "deny_zone_id": ({"chrony_deny": ["fe80::1%eth0"]}, "chrony_deny[0]", "not an address"),
    "allow_all_newline": ({"chrony_allow": ["all\n"]}, "chrony_allow[0]", "not an address"),
    "allow_non_ascii_digit": ({"chrony_allow": ["192.0.2.\u0661/32"]}, "chrony_allow[0]", "not an address"),
    "hostname_non_ascii": (src(hostname="ntp.ex\u00e4mple.com"), "chrony_sources[0]", "not a DNS name or IP"),
    "hostname_bidi_override": (src(hostname="ntp\u202e.example.com"), "chrony_sources[0]", "not a DNS name or IP"),
    "hostname_nul": (src(hostname="ntp.example.com\x00allow"), "chrony_sources[0]", "not a DNS name or IP"),
    "hostname_line_separator": (src(hostname="ntp\u2028allow all"), "chrony_sources[0]", "not a DNS name or IP"),
    "unknown_key_with_newline": (src(**{"iburst\nallow all": True}), "chrony_sources[0]", "unknown option"),
    "pool_flag_as_text": (src(pool="yes"), "chrony_sources[0]", "'pool' must be true or false"),
    # 3. NaN, infinities, numbers with a tail
    "makestep_threshold_nan": ({"chrony_makestep": {"threshold": NAN, "limit": 3}}, "chrony_makestep.threshold", "> 0"),
    "makestep_threshold_inf": ({"chrony_makestep": {"threshold": INF, "limit": 3}}, "chrony_makestep.threshold", "> 0"),
    "makestep_limit_injection": ({"chrony_makestep": {"threshold": 1, "limit": "3\nallow all"}},
                                 "chrony_makestep.limit", "-1 (always)"),
    "maxdistance_inf": ({"chrony_maxdistance": INF}, "chrony_maxdistance", "> 0"),
    "maxdistance_nan": ({"chrony_maxdistance": NAN}, "chrony_maxdistance", "> 0"),
    "source_offset_nan": (src(offset=NAN), "chrony_sources[0]", "option 'offset' must be a finite number"),
    "source_maxdelay_inf": (src(maxdelay=INF), "chrony_sources[0]", "option 'maxdelay' must be a finite number"),
    "source_maxdelay_text_injection": (src(maxdelay="0.5\nallow all"), "chrony_sources[0]", "'maxdelay' must be a finite"),
    "source_huge_float": (src(offset=10 ** 400), "chrony_sources[0]", "option 'offset' must be a finite number"),
    "source_port_out_of_range": (src(port=70000), "chrony_sources[0]", "between 1 and 65535"),
    "source_poll_not_integer": (src(minpoll="6.5"), "chrony_sources[0]", "must be an integer"),
    "refclock_delay_nan": (ref(delay=NAN), "chrony_refclocks[0]", "option 'delay' must be a finite number"),
    "refclock_parameter_injection": (ref(parameter="/dev/ptp0" + INJECT), "chrony_refclocks[0]", "absolute path"),
    "refclock_refid_non_ascii": (ref(refid="GP\u00c9"), "chrony_refclocks[0]", "1-4 letters or digits"),
    "local_distance_nan": ({"chrony_local": {"stratum": 8, "distance": NAN}}, "chrony_local.distance", "> 0"),
    "local_stratum_inf": ({"chrony_local": {"stratum": INF}}, "chrony_local.stratum", "between 1 and 15"),
    "minsources_injection": ({"chrony_minsources": "2\nallow all"}, "chrony_minsources", "int"),
    # 4. chronyd's options file
    "daemon_options_newline": ({"chrony_daemon_options": "-F 1\nLD_PRELOAD=/tmp/x.so"}, "chrony_daemon_options",
                               "no quotes, $, tabs, newlines"),
    "daemon_options_quote": ({"chrony_daemon_options": '-F 1" LD_PRELOAD="/tmp/x.so'}, "chrony_daemon_options",
                             "no quotes"),
    "daemon_options_dollar": ({"chrony_daemon_options": "-u $(id)"}, "chrony_daemon_options", "no quotes, $"),
    "daemon_options_other_config": ({"chrony_daemon_options": "-f /tmp/other.conf"}, "chrony_daemon_options",
                                    "-f is not allowed"),
    "daemon_options_foreground": ({"chrony_daemon_options": "-n"}, "chrony_daemon_options", "-n is not allowed"),
    "daemon_options_unknown": ({"chrony_daemon_options": "-Z"}, "chrony_daemon_options", "unknown chronyd option"),
    "daemon_options_out_of_range": ({"chrony_daemon_options": "-F 7"}, "chrony_daemon_options", "between -1 and 2"),
    "daemon_options_twice": ({"chrony_daemon_options": "-x -x"}, "chrony_daemon_options", "given twice"),
    "daemon_options_missing_value": ({"chrony_daemon_options": "-F"}, "chrony_daemon_options", "needs a value"),
    "daemon_options_bad_user": ({"chrony_daemon_options": "-u Root;id"}, "chrony_daemon_options", "-u"),
    # words and paths
    "leapsectz_nbsp": ({"chrony_leapsectz": "right/UTC\u00a0"}, "chrony_leapsectz", "a single word"),
    "driftfile_relative": ({"chrony_driftfile": "var/lib/chrony/drift"}, "chrony_driftfile", "an absolute path"),
    "driftfile_hash": ({"chrony_driftfile": "/var/lib/chrony/drift#x"}, "chrony_driftfile", "an absolute path"),
    "logdir_quote": ({"chrony_logdir": "/var/log/'chrony"}, "chrony_logdir", "an absolute path"),
    "keyfile_escape": ({"chrony_keyfile": "/etc/chrony.keys\x1b[31m"}, "chrony_keyfile", "an absolute path"),
    "ntsdumpdir_space": ({"chrony_ntsdumpdir": "/var/lib/chrony nts"}, "chrony_ntsdumpdir", "an absolute path"),
    "replaced_packages_dir_newline": ({"chrony_replaced_packages_dir": "/var/lib/fleetclock\nx"},
                                      "chrony_replaced_packages_dir", "an absolute path"),
    "log_injection": ({"chrony_log": ["tracking\nallow all"]}, "chrony_log", "must be one or more of"),
    # extra lines
    "extra_line_escape": ({"chrony_extra_lines": ["hwtimestamp *\x1b[2K"]}, "chrony_extra_lines[0]", "control"),
    "extra_line_u2028": ({"chrony_extra_lines": ["hwtimestamp *\u2028allow all"]}, "chrony_extra_lines[0]",
                         "line break"),
    "extra_line_carriage_return": ({"chrony_extra_lines": ["lock_all\rallow all"]}, "chrony_extra_lines[0]",
                                   "line break"),
    "extra_line_non_ascii": ({"chrony_extra_lines": ["hwtimestamp \u0435th0"]}, "chrony_extra_lines[0]", "non-ASCII"),
}


@pytest.mark.parametrize("case", sorted(CATALOGUE))
def test_catalogue_refused_before_rendering(case):
    overrides, var, needle = CATALOGUE[case]
    errors = preflight(role_vars(**overrides))
    assert errors, "%s passed the preflight" % case
    assert any(var in e and needle in e for e in errors), errors


def test_catalogue_is_large_enough():
    assert len(CATALOGUE) >= 40


# The renderer refuses the same values on its own (the validators skipped), except where what it would write is
# still one clean word: ranges (port 70000) are the validators' job, unknown keys are never written, and chronyd's
# options are rendered by render_daemon_options (tested below).
RENDERED_ANYWAY = ("source_port_out_of_range", "unknown_key_with_newline")
# Checked by the preflight but never written into chrony.conf (a directory the role's own tasks use: file, copy,
# find, and apt-get download's argv - no shell, no config file).
NOT_RENDERED = ("replaced_packages_dir_newline",)
RENDER_ONLY = sorted(c for c in CATALOGUE if c not in RENDERED_ANYWAY + NOT_RENDERED and not c.startswith("daemon_options"))


@pytest.mark.parametrize("case", RENDER_ONLY)
def test_renderer_refuses_without_the_validators(case):
    overrides, _var, _needle = CATALOGUE[case]
    with pytest.raises(RenderError, match="refusing to write"):
        render_config(render_input(role_vars(**overrides)))


@pytest.mark.parametrize("value", ["-F 1\nLD_PRELOAD=/tmp/x.so", '-F 1" X="', "-f /tmp/x.conf", "-u $(id)", 5])
def test_daemon_options_renderer_refuses(value):
    with pytest.raises(RenderError, match="chrony_daemon_options"):
        render_daemon_options(value)


def test_daemon_options_rendered():
    assert render_daemon_options("-F 1", container=True) == "-F 1 -x"
    assert render_daemon_options("-F  1   -x", container=True) == "-F 1 -x"
    assert render_daemon_options(None) == ""
    assert render_daemon_options("-4 -u _chrony -L 0") == "-4 -u _chrony -L 0"


def test_the_reported_zone_id_injection_renders_nothing():
    """Issue 11, 1: the exact input from the report, through every layer."""
    variables = role_vars(chrony_sources=[{"hostname": "fe80::1%eth0" + INJECT}])
    assert preflight(variables)
    with pytest.raises(RenderError):
        render_config(render_input(variables))


def test_a_valid_zone_id_renders():
    variables = role_vars(chrony_sources=[{"hostname": "fe80::1%eth0", "iburst": True}])
    assert preflight(variables) == []
    assert "server fe80::1%eth0 iburst" in render_config(render_input(variables))


def test_numbers_rendered_from_their_value():
    """Issue 11, 3: a number with trailing whitespace renders stripped; floats never in exponent notation."""
    variables = role_vars(chrony_makestep={"threshold": "1.5\n", "limit": " 3 "}, chrony_maxdistance=1e-7,
                          chrony_sources=[{"hostname": "192.0.2.1", "maxdelay": "0.25 "}])
    assert preflight(variables) == []
    lines = render_config(render_input(variables))
    assert "makestep 1.5 3" in lines and "maxdistance 0.0000001" in lines
    assert "server 192.0.2.1 maxdelay 0.25" in lines


# --- air gap ---------------------------------------------------------------------------------------

def _site(master_address):
    records = {
        "m1": {"site": None, "master": True, "address": master_address, "ips": [],
               "client_networks": ["192.0.2.0/24"], "sources": []},
        "c1": {"site": None, "master": False, "address": "192.0.2.21", "ips": [], "client_networks": [],
               "sources": []},
    }
    return build_plan("c1", records, {"all": ["m1", "c1"]})


@pytest.mark.parametrize("address", ["fe80::1%eth0" + INJECT, "fe80::1%eth0 prefer trust", "m1 iburst",
                                     "10.0.0.1\nallow all", "m\u00e4ster"])
def test_airgap_master_address_refused(address):
    """Issue 11, 1: a master's address (chrony_airgap_address or ansible_host) becomes every client's source."""
    plan = _site(address)
    assert plan["sources"] == []
    assert any("chrony_airgap_address" in e and "m1" in e for e in plan["errors"]), plan["errors"]


def test_airgap_master_address_with_zone_id():
    plan = _site("fe80::1%eth0")
    assert plan["errors"] == [] and plan["sources"][0]["hostname"] == "fe80::1%eth0"


@pytest.mark.parametrize("line", ["initstepslew 30 pool.ntp.org", "initstepslew 30 m1 time.example.com", "manual",
                                  "MANUAL", "Server time.example.com"])
def test_airgap_foreign_lines_catch_every_way_in(line):
    """Issue 11, 5: initstepslew and manual in chrony_extra_lines bring time from outside the site's masters."""
    assert foreign_source_lines("server m1 iburst\n" + line + "\n", ["m1"]) == [line]


def test_airgap_initstepslew_to_the_masters_is_fine():
    assert foreign_source_lines("initstepslew 30 m1 m2\n", ["m1", "m2"]) == []


# --- the property test --------------------------------------------------------------------------------

_CHARS = st.characters(blacklist_categories=("Cs",))
_HOSTILE = st.one_of(
    st.text(_CHARS, max_size=12),
    st.sampled_from(["fe80::1%eth0", "fe80::1%eth0\nallow all", "192.0.2.1", "2001:db8::1", "ntp.example.com",
                     "a b", "x#y", "all", "10.0.0.0/8", "/dev/ptp0", "\u2028", "\x85", "\u202e", "nan", "inf",
                     "1e308", "-0", "0.000010", " 5 ", "5\n", "/var/lib/chrony", "right/UTC", "-F 1", "-x", "-f /x"]),
)
_NUMBER = st.one_of(st.integers(-10 ** 12, 10 ** 12), st.floats(allow_nan=True, allow_infinity=True),
                    st.sampled_from(["1", "1.5", " 2 ", "1e3", "nan", "-inf", "0x10", "1\nallow all", "", "+7"]),
                    st.booleans(), st.none(), _HOSTILE)


def _mostly(good, bad=_HOSTILE, weight=4):
    """Valid values about ``weight`` times out of ``weight + 1``, so that files get rendered and compared as well as
    refused (st.one_of of repeated branches did not weigh them: 9 examples in 10 were refused)."""
    return _weighted(good, bad, weight)


_SMALL = st.one_of(st.integers(1, 15), st.floats(0.001, 1000, allow_nan=False),
                   st.sampled_from(["2", "0.5", " 3 ", "1.25\n", "0.000010"]))


def _entry(kind):
    spec = ENTRY_KINDS[kind]
    values = dict((name, _mostly(st.booleans() if okind == "flag" else
                                 st.sampled_from(["GPS", "PPS1"]) if okind == "refid" else
                                 st.integers(max(low if low is not None else -6, 0 if low is None else low),
                                             high if high is not None else 100) if okind == "int" else
                                 st.floats(low if low is not None else -10, high if high is not None else 10,
                                           allow_nan=False),
                                 _NUMBER, weight=30))
                  for name, okind, low, high in spec["options"])
    head = ({"hostname": _mostly(st.sampled_from(["ntp.example.com", "192.0.2.1", "fe80::1%eth0", "2001:db8::1"]))}
            if kind == "source" else
            {"driver": _mostly(st.just("PHC"), st.sampled_from(["SHM", "SOCK", "phc", "PHC\n"])),
             "parameter": _mostly(st.sampled_from(["/dev/ptp0", "/dev/ptp1:nocrossts"]))})
    return st.fixed_dictionaries(head, optional=dict((name, values[name]) for name in values))


VARIABLES = st.fixed_dictionaries({}, optional={
    "chrony_sources": st.lists(_entry("source"), max_size=3),
    "chrony_refclocks": st.lists(_entry("refclock"), max_size=2),
    "chrony_allow": st.lists(_mostly(st.sampled_from(["192.0.2.0/24", "2001:db8::/32", "all", "198.51.100.7"])),
                             max_size=3),
    "chrony_deny": st.lists(_mostly(st.sampled_from(["192.0.2.128/25", "2001:db8::/48"])), max_size=2),
    "chrony_makestep": st.fixed_dictionaries({"threshold": _mostly(_SMALL, _NUMBER),
                                              "limit": _mostly(st.sampled_from([-1, 1, 3, "3"]), _NUMBER)}),
    "chrony_minsources": _mostly(st.integers(1, 4), _NUMBER),
    "chrony_maxdistance": _mostly(_SMALL, _NUMBER),
    "chrony_local": st.fixed_dictionaries({"stratum": _mostly(st.integers(1, 15), _NUMBER)},
                                          optional={"orphan": _mostly(st.booleans()), "distance": _mostly(_SMALL)}),
    "chrony_driftfile": _mostly(st.sampled_from(["/var/lib/chrony/drift", "/tmp/d"])),
    "chrony_keyfile": _mostly(st.sampled_from(["/etc/chrony/chrony.keys"])),
    "chrony_logdir": _mostly(st.sampled_from(["/var/log/chrony", ""])),
    "chrony_ntsdumpdir": _mostly(st.sampled_from(["/var/lib/chrony", ""])),
    "chrony_leapsectz": _mostly(st.sampled_from(["right/UTC", "auto", ""])),
    "chrony_log": st.lists(_mostly(st.sampled_from(["tracking", "statistics", "measurements"])), max_size=2,
                           unique=True),
    "chrony_extra_lines": st.lists(_mostly(st.sampled_from(["hwtimestamp *", "lock_all", "maxslewrate 500"])),
                                   max_size=2),
    "chrony_daemon_options": _mostly(st.sampled_from(["-F 1", "-x", "-4 -u _chrony", "-L 0 -r", "-F -1 -m"])),
})
ROLE_VAR_NAMES = tuple(SPEC)
EXAMPLES = int(os.environ.get("FLEETCLOCK_PROPERTY_EXAMPLES", "1500"))
SEEN = {"refused": 0, "rendered": 0, "chronyd": 0, "core_int_crash": 0}


def _same_number(text, value, integer):
    if integer:
        return int(text) == int(str(value).strip())
    return math.isclose(float(text), as_float(value), rel_tol=1e-12, abs_tol=0)


def _entry_matches(kind, words, item):
    """The words of a rendered server/pool/refclock line say exactly what the entry asks for."""
    spec = ENTRY_KINDS[kind]
    if kind == "source":
        assert words[:2] == ["pool" if item.get("pool") else "server", item["hostname"]]
    else:
        assert words[:2] == ["refclock", item["driver"]] and words[2] == str(item["parameter"]).strip()
    rest = words[3 if kind == "refclock" else 2:]
    asked = [(name, okind) for name, okind, _l, _h in spec["options"]
             if item.get(name) is not None and item.get(name) is not False]
    position = 0
    for name, okind in asked:
        assert rest[position] == name
        position += 1
        if okind == "flag":
            continue
        if okind == "refid":
            assert rest[position] == item[name]
        else:
            assert _same_number(rest[position], item[name], okind == "int")
        position += 1
    assert position == len(rest), (words, item)


def _check_file(variables, lines):
    """Parse the rendered file line by line: exactly the directives the inputs ask for."""
    config = render_input(variables)
    extra = list(variables["chrony_extra_lines"])
    for text in lines:
        assert text == "" or all(" " <= c <= "~" or c == "\t" for c in text), ascii(text)
    body = [t for t in lines if t and not t.startswith("#")]
    body_extra, body = body[len(body) - len(extra):], body[:len(body) - len(extra)]
    assert body_extra == extra
    by = {}
    for text in body:
        words = text.split()
        by.setdefault(words[0], []).append(words)
    assert set(by) <= {"server", "pool", "refclock", "driftfile", "makestep", "minsources", "maxdistance", "rtcsync",
                       "keyfile", "leapsectz", "ntsdumpdir", "logdir", "log", "allow", "deny", "local",
                       "bindcmdaddress", "cmdport", "ntsservercert", "ntsserverkey", "ntstrustedcerts",
                       "nocerttimecheck"}, sorted(by)
    # the NTS directives of an air-gap plan (chrony_nts): exactly those asked for, one word each
    nts_lines = dict((key, rows) for key, rows in by.items() if key.startswith(("nts", "nocert")) and key != "ntsdumpdir")
    assert nts_lines == dict((k, [[k, str(v)]]) for k, v in (config.get("nts") or {}).items()), nts_lines
    sources = by.get("server", []) + by.get("pool", [])
    assert len(sources) == len(config["sources"])
    for item in config["sources"]:
        matching = [w for w in sources if w[1] == item["hostname"]]
        assert matching
        _entry_matches("source", matching[0], item)
        sources.remove(matching[0])
    assert len(by.get("refclock", [])) == len(config["refclocks"])
    for words, item in zip(by.get("refclock", []), config["refclocks"]):
        _entry_matches("refclock", words, item)
    assert [w[1:] for w in by.get("allow", [])] == [[a] for a in config["allow"]]
    assert [w[1:] for w in by.get("deny", [])] == [[d] for d in config["deny"]]
    assert ("# Serving time: nobody (no allow line)." in lines) == (not config["allow"])
    (makestep,) = by["makestep"]
    assert _same_number(makestep[1], config["makestep"]["threshold"], False)
    assert _same_number(makestep[2], config["makestep"]["limit"], True)
    if config["maxdistance"] is not None:
        assert _same_number(by["maxdistance"][0][1], config["maxdistance"], False)
    if config["minsources"] is not None:
        assert _same_number(by["minsources"][0][1], config["minsources"], True)
    for key in ("driftfile", "keyfile", "logdir", "ntsdumpdir", "leapsectz"):
        assert by.get(key, [[key]])[0][1:] == ([config[key]] if config[key] else []), key


@settings(max_examples=EXAMPLES,  # derandomised, no database, no deadline: from the profile (tests/conftest.py)
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(VARIABLES)
def test_any_input_is_refused_naming_the_variable_or_rendered_exactly(tmp_path_factory, overrides):
    variables = role_vars(**overrides)
    errors = preflight(variables)
    if errors:
        SEEN["refused"] += 1
        for error in errors:
            if error.startswith(CORE_INT_CRASH):
                int_options = [n for n, o in SPEC.items() if o.get("type") == "int" and n in overrides]
                assert any(str(overrides[n]).strip().lower().lstrip("+-") in ("inf", "infinity")
                           for n in int_options), (error, overrides)
                SEEN["core_int_crash"] += 1
                continue
            assert any(name in error for name in ROLE_VAR_NAMES), error
        return
    lines = render_config(render_input(variables))
    render_daemon_options(variables["chrony_daemon_options"], container=True)
    _check_file(variables, lines)
    SEEN["rendered"] += 1
    if SEEN["rendered"] % 8 == 1 and os.path.exists(CHRONYD) and not variables["chrony_extra_lines"]:
        path = tmp_path_factory.mktemp("conf") / "chrony.conf"
        path.write_text("\n".join(lines) + "\n")
        proc = subprocess.run([CHRONYD, "-p", "-f", str(path)], capture_output=True, text=True, check=False)
        assert proc.returncode == 0, (proc.stderr, lines)
        SEEN["chronyd"] += 1


def test_property_test_saw_both_outcomes():
    """The property test is not vacuous: it rendered files (and chronyd parsed some) as well as refusing input."""
    if SEEN["refused"] + SEEN["rendered"] == 0:
        pytest.skip("run together with the property test")
    print("property test: %(refused)d refused (%(core_int_crash)d by ansible-core's int check without the variable's "
          "name), %(rendered)d rendered, %(chronyd)d parsed by chronyd -p" % SEEN)
    assert SEEN["rendered"] >= EXAMPLES // 20 and SEEN["refused"] >= EXAMPLES // 20, SEEN
    if os.path.exists(CHRONYD):
        assert SEEN["chronyd"] >= 1, SEEN


# --- the property test over the air-gap settings ---------------------------------------------------------------
# A site of two masters (m1, m2) and a client (c1) sharing the drawn chrony_airgap_* settings (as group vars would);
# m1's address is the drawn chrony_airgap_address. Planned as m1 or as c1, then the role's settings checks and the
# renderer, as the role's preflight does.

AIRGAP_VARS = ("chrony_airgap_address", "chrony_airgap_client_networks", "chrony_airgap_stratum",
               "chrony_airgap_source_options", "chrony_minsources", "chrony_airgap_nts")   # the last: chrony_airgap_nts*


_POLL = st.integers(0, 10)
_NETWORKS = st.builds(lambda head, tail: [head] + tail,
                      _weighted(st.sampled_from(["192.0.2.0/24", "all", "0.0.0.0/0"]), _HOSTILE),
                      st.lists(_weighted(st.sampled_from(["2001:db8::/32", "192.0.2.21", "::/0"]), _HOSTILE),
                               max_size=2))
AIRGAP = st.fixed_dictionaries({
    "chrony_airgap_address": _weighted(st.sampled_from([None, "192.0.2.10", "m1.example.com", "fe80::1%eth0"]),
                                       _HOSTILE),
    "chrony_airgap_client_networks": _NETWORKS,
    "chrony_airgap_stratum": _weighted(st.integers(1, 15), _NUMBER),
    "chrony_airgap_source_options": st.fixed_dictionaries({}, optional={
        "minpoll": _weighted(_POLL, _NUMBER), "maxpoll": _weighted(st.just(10), _NUMBER),
        "iburst": _weighted(st.booleans(), _HOSTILE), "prefer": _weighted(st.booleans(), _HOSTILE),
        "offset": _weighted(st.floats(-1, 1), _NUMBER), "maxdelay": _weighted(_SMALL, _NUMBER)}),
}, optional={"chrony_minsources": _weighted(st.integers(1, 2), _NUMBER)})
# NTS inside the site (controller paths, only read there; the host paths are the role's own): none, a coherent
# site (masters' certificate and key, clients trusting them), or any mix of good and hostile values
_AIRGAP_NTS = st.one_of(
    st.just({}),
    st.builds(lambda check: dict({"chrony_airgap_nts": True, "chrony_airgap_nts_cert": "/srv/pki/m1.crt",
                                  "chrony_airgap_nts_key": "/srv/pki/m1.key"}, **check),
              st.fixed_dictionaries({}, optional={"chrony_airgap_nts_nocerttimecheck": st.integers(1, 5),
                                                  "chrony_airgap_nts_trusted_certs": st.just("/srv/pki/ca.crt")})),
    st.fixed_dictionaries({}, optional={
        "chrony_airgap_nts": _weighted(st.booleans(), _HOSTILE),
        "chrony_airgap_nts_cert": _weighted(st.sampled_from([None, "/srv/pki/m1.crt", "/srv/my pki/m.crt"]), _HOSTILE),
        "chrony_airgap_nts_key": _weighted(st.sampled_from([None, "/srv/pki/m1.key"]), _HOSTILE),
        "chrony_airgap_nts_trusted_certs": _weighted(st.sampled_from([None, "/srv/pki/ca.crt"]), _HOSTILE),
        "chrony_airgap_nts_nocerttimecheck": _weighted(st.one_of(st.none(), st.integers(1, 5)), _NUMBER)}))
AIRGAP = st.builds(lambda base, nts: dict(base, **nts), AIRGAP, _AIRGAP_NTS)
AIRGAP_SEEN = {"refused": 0, "rendered": 0, "core_int_crash": 0, "nts": 0}


def _airgap_records(settings):
    networks = list(settings["chrony_airgap_client_networks"])
    nts = {"nts": settings.get("chrony_airgap_nts") is True, "nts_cert": settings.get("chrony_airgap_nts_cert")}
    return {
        "m1": dict(nts, site=None, master=True, address=settings["chrony_airgap_address"] or "192.0.2.10",
                   ips=[], client_networks=networks, sources=[]),
        "m2": dict(nts, site=None, master=True, address="192.0.2.11", ips=[], client_networks=networks,
                   sources=[]),
        "c1": {"site": None, "master": False, "address": "192.0.2.21", "ips": [], "client_networks": [],
               "sources": []},
    }


def airgap_preflight(me, variables):
    """The role's preflight with chrony_airgap: the argument spec, the site's plan, then the settings in effect."""
    try:
        result = VALIDATOR.validate(variables)
    except OverflowError as exc:
        return [CORE_INT_CRASH + str(exc)], None
    errors = list(result.error_messages)
    if errors:
        return errors, None
    checked = result.validated_parameters
    records = _airgap_records(checked)
    nts = {"enabled": checked["chrony_airgap_nts"], "cert": checked["chrony_airgap_nts_cert"],
           "key": checked["chrony_airgap_nts_key"], "trusted_certs": checked["chrony_airgap_nts_trusted_certs"],
           "nocerttimecheck": checked["chrony_airgap_nts_nocerttimecheck"], "dir": DEBIAN["__chrony_nts_dir"]}
    plan = build_plan(me, records, {"all": sorted(records)}, stratum=checked["chrony_airgap_stratum"],
                      source_options=dict(checked["chrony_airgap_source_options"]),
                      minsources=checked["chrony_minsources"], nts=nts)
    if plan["errors"]:
        return plan["errors"], None
    effective = apply_plan(variables, plan)
    settings_ = dict((k, v) for k, v in effective.items() if k in ROLE_VARS["__chrony_settings"])
    errors = validate_settings(settings_, cloud_choices(PROFILES)) or validate_resolved(resolve(effective), settings_)
    return errors, (plan, effective)


def _airgap(**overrides):
    settings_ = {"chrony_airgap_address": None, "chrony_airgap_client_networks": ["192.0.2.0/24"],
                 "chrony_airgap_stratum": 8, "chrony_airgap_source_options": {}}
    settings_.update(overrides)
    return settings_


# name -> (air-gap settings, the host planned, the variable the message must name, what it must say). Before the
# plan checked them itself, these were refused naming chrony_local.stratum, chrony_sources[0] or chrony_allow[0]
# (variables the user never set), or, for a network on a master whose clients' addresses were unknown, not at all
# until the renderer.
AIRGAP_CATALOGUE = {
    "airgap_stratum_out_of_range": (_airgap(chrony_airgap_stratum=16), "c1", "chrony_airgap_stratum", "between 1 and 15"),
    "airgap_stratum_zero": (_airgap(chrony_airgap_stratum=0), "m1", "chrony_airgap_stratum", "between 1 and 15"),
    "airgap_stratum_bool": (_airgap(chrony_airgap_stratum=True), "m1", "chrony_airgap_stratum", "between 1 and 15"),
    "airgap_network_injection": (_airgap(chrony_airgap_client_networks=["192.0.2.0/24\nallow all"]), "c1",
                                 "chrony_airgap_client_networks[0]", "not an address"),
    "airgap_network_second_entry": (_airgap(chrony_airgap_client_networks=["192.0.2.0/24", "all\ncmdallow all"]),
                                    "m1", "chrony_airgap_client_networks[1]", "not an address"),
    "airgap_network_zone_id": (_airgap(chrony_airgap_client_networks=["192.0.2.0/24", "fe80::1%eth0"]), "m1",
                               "chrony_airgap_client_networks[1]", "not an address"),
    "airgap_network_host_bits": (_airgap(chrony_airgap_client_networks=["192.0.2.0/24", "10.0.0.1/8"]), "m1",
                                 "chrony_airgap_client_networks[1]", "well-formed"),
    "airgap_source_option_unknown": (_airgap(chrony_airgap_source_options={"iburst\nallow all": True}), "c1",
                                     "chrony_airgap_source_options", "unknown option"),
    "airgap_source_option_nan": (_airgap(chrony_airgap_source_options={"offset": NAN}), "c1",
                                 "chrony_airgap_source_options", "option 'offset' must be a finite number"),
    "airgap_source_option_text": (_airgap(chrony_airgap_source_options={"minpoll": "4 prefer"}), "m1",
                                  "chrony_airgap_source_options", "option 'minpoll' must be an integer"),
    "airgap_master_address_injection": (_airgap(chrony_airgap_address="192.0.2.10\nallow all"), "c1",
                                        "chrony_airgap_address", "not an IP address or DNS name"),
    # NTS (chrony_airgap_nts): paths on the controller may hold spaces (they are read there, never written into
    # chrony.conf, whose paths are the role's own), not newlines or control characters
    "airgap_nts_master_without_cert": (_airgap(chrony_airgap_nts=True, chrony_airgap_nts_key="/ctl/m.key"), "m1",
                                       "chrony_airgap_nts_cert", "time master m1 has chrony_airgap_nts true"),
    "airgap_nts_master_without_key": (_airgap(chrony_airgap_nts=True, chrony_airgap_nts_cert="/ctl/m.crt"), "m1",
                                      "chrony_airgap_nts_key", "time master m1 has chrony_airgap_nts true"),
    "airgap_nts_cert_newline": (_airgap(chrony_airgap_nts=True, chrony_airgap_nts_cert="/ctl/m.crt\nallow all",
                                        chrony_airgap_nts_key="/ctl/m.key"), "m1", "chrony_airgap_nts_cert",
                                "without newlines"),
    "airgap_nts_key_newline": (_airgap(chrony_airgap_nts=True, chrony_airgap_nts_cert="/ctl/m.crt",
                                       chrony_airgap_nts_key="/ctl/m.key\nntsserverkey /etc/shadow"), "m1",
                               "chrony_airgap_nts_key", "without newlines"),
    "airgap_nts_trust_newline": (_airgap(chrony_airgap_nts=True, chrony_airgap_nts_cert="/ctl/m.crt",
                                         chrony_airgap_nts_trusted_certs="/ctl/ca.pem\n"), "c1",
                                 "chrony_airgap_nts_trusted_certs", "without newlines"),
    "airgap_nts_nothing_to_trust": (_airgap(chrony_airgap_nts=True), "c1", "chrony_airgap_nts_trusted_certs",
                                    "chrony_airgap_nts_cert is not set on m1, m2"),
    "airgap_nts_nocerttimecheck_zero": (_airgap(chrony_airgap_nts=True, chrony_airgap_nts_cert="/ctl/m.crt",
                                                chrony_airgap_nts_nocerttimecheck=0), "c1",
                                        "chrony_airgap_nts_nocerttimecheck", ">= 1"),
    "airgap_nts_nocerttimecheck_text": (_airgap(chrony_airgap_nts=True, chrony_airgap_nts_cert="/ctl/m.crt",
                                                chrony_airgap_nts_nocerttimecheck="3 allow all"), "c1",
                                        "chrony_airgap_nts_nocerttimecheck", "int"),
    "airgap_nts_not_bool": (_airgap(chrony_airgap_nts="maybe"), "c1", "chrony_airgap_nts", "bool"),
}


@pytest.mark.parametrize("case", sorted(AIRGAP_CATALOGUE))
def test_airgap_catalogue_refused_naming_the_variable(case):
    settings_, me, var, needle = AIRGAP_CATALOGUE[case]
    errors, planned = airgap_preflight(me, role_vars(chrony_airgap=True, **settings_))
    assert errors and planned is None, case
    assert any(var in e and needle in e for e in errors), errors


@settings(max_examples=max(1, EXAMPLES // 3),  # the rest from the profile (tests/conftest.py)
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.sampled_from(["m1", "c1"]), AIRGAP)
def test_any_airgap_setting_is_refused_naming_the_variable_or_rendered_exactly(me, airgap):
    variables = role_vars(chrony_airgap=True, **airgap)
    errors, planned = airgap_preflight(me, variables)
    if errors:
        AIRGAP_SEEN["refused"] += 1
        for error in errors:
            if error.startswith(CORE_INT_CRASH):
                AIRGAP_SEEN["core_int_crash"] += 1
                assert any(str(airgap.get(name)).strip().lower().lstrip("+-") in ("inf", "infinity")
                           for name in ("chrony_airgap_stratum", "chrony_minsources")), (error, airgap)
                continue
            assert any(name in error for name in AIRGAP_VARS), (error, airgap)
        return
    plan, effective = planned
    lines = render_config(render_input(effective))
    _check_file(effective, lines)
    text = "\n".join(lines) + "\n"
    masters = {"m1": airgap["chrony_airgap_address"] or "192.0.2.10", "m2": "192.0.2.11"}
    polled = sorted(address for name, address in masters.items() if name != me)
    assert foreign_source_lines(text, polled) == [], text
    sources = sorted(line.split()[1] for line in lines if line.startswith("server "))
    assert sources == polled
    if plan["nts"]["enabled"]:
        AIRGAP_SEEN["nts"] += 1
        assert all("nts" in line.split() for line in lines if line.startswith("server ")), lines
        nts_lines = [line.split() for line in lines if line.startswith(("ntsserver", "ntstrusted", "nocerttime"))]
        assert nts_lines and all(len(words) == 2 for words in nts_lines), lines
    words = [line.split() for line in lines if line.startswith(("local ", "allow "))]
    if me == "m1":
        stratum = int(str(airgap["chrony_airgap_stratum"]).strip())
        assert ["local", "stratum", str(stratum), "orphan"] in words, lines
        assert [w[1] for w in words if w[0] == "allow"] == list(airgap["chrony_airgap_client_networks"])
    else:
        assert words == [], lines
    AIRGAP_SEEN["rendered"] += 1


def test_airgap_property_saw_both_outcomes():
    if AIRGAP_SEEN["refused"] + AIRGAP_SEEN["rendered"] == 0:
        pytest.skip("run together with the air-gap property test")
    print("air-gap property test: %(refused)d refused (%(core_int_crash)d by ansible-core's int check without the "
          "variable's name), %(rendered)d rendered (%(nts)d with NTS)" % AIRGAP_SEEN)
    assert AIRGAP_SEEN["refused"] >= EXAMPLES // 60 and AIRGAP_SEEN["rendered"] >= EXAMPLES // 60, AIRGAP_SEEN
