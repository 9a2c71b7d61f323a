"""Tests for plugins/module_utils/chrony_options.py (validation), chrony_render.py (rendering) and
chrony_clouds.py (detection, resolution), on the role's own cloud profiles."""
import os
import subprocess

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.fleetclock.timesync.plugins.module_utils import chrony_clouds
from ansible_collections.fleetclock.timesync.plugins.module_utils.chrony_clouds import (
    cloud_choices,
    effective_leapsectz,
    resolve_sources,
    validate_resolved,
)
from ansible_collections.fleetclock.timesync.plugins.module_utils import chrony_settings
from ansible_collections.fleetclock.timesync.plugins.module_utils.chrony_options import validate_entries, validate_entry
from ansible_collections.fleetclock.timesync.plugins.module_utils.chrony_settings import (
    validate_access,
    validate_extra_lines,
)
from ansible_collections.fleetclock.timesync.plugins.module_utils.chrony_values import is_valid_host
from ansible_collections.fleetclock.timesync.plugins.module_utils.chrony_render import number_text as format_number
from ansible_collections.fleetclock.timesync.plugins.module_utils.chrony_render import render_entry

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
with open(os.path.join(ROOT, "roles", "chrony", "vars", "main.yml")) as _handle:
    ROLE_PROFILES = yaml.safe_load(_handle)["__chrony_cloud_profiles"]
AZURE_ASSET_TAG = "7783-7084-3265-9085-8269-3286-77"


def validate_source(source, index=0, var="chrony_sources"):
    return validate_entry("source", source, index, var)


def validate_refclock(refclock, index=0, var="chrony_refclocks"):
    return validate_entry("refclock", refclock, index, var)


def validate_sources(sources, var="chrony_sources"):
    return validate_entries("source", sources, var)


def render_source_line(source):
    return render_entry("source", source)


def render_refclock_line(refclock):
    return render_entry("refclock", refclock)


def validate_settings(settings):
    return chrony_settings.validate_settings(settings, cloud_choices(ROLE_PROFILES))


def detect_cloud(facts):
    return chrony_clouds.detect_cloud(facts, ROLE_PROFILES)


CHRONYD = "/usr/sbin/chronyd"

PROFILES = {
    "aws": {
        "leap_smearing": True,
        "sources": [{"hostname": "169.254.169.123", "prefer": True, "iburst": True, "minpoll": 4, "maxpoll": 4}],
        "ipv6_sources": [{"hostname": "fd00:ec2::123", "prefer": True, "iburst": True, "minpoll": 4, "maxpoll": 4}],
        "refclocks": [{"driver": "PHC", "parameter": "/dev/ptp_ena", "poll": 0, "delay": "0.000010",
                       "prefer": True, "optional_device": True}],
        "settings": {},
    },
    "azure": {
        "leap_smearing": False,
        "sources": [],
        "refclocks": [{"driver": "PHC", "parameter": "/dev/ptp_hyperv", "poll": 3, "dpoll": -2, "offset": 0,
                       "stratum": 2}],
        "settings": {"makestep": {"threshold": 1.0, "limit": -1}},
    },
}
USER = [{"hostname": "ntp.example.com", "iburst": True}]
DEFAULT = [{"hostname": "2.debian.pool.ntp.org", "pool": True, "iburst": True}]


# --- hostnames -----------------------------------------------------------------------------------

@pytest.mark.parametrize("host", ["169.254.169.123", "fd00:ec2::123", "::1", "metadata.google.internal",
                                  "ntp7.cloud.aliyuncs.com", "time", "a-b.example.com.", "ntp_1.lan"])
def test_valid_hosts(host):
    assert is_valid_host(host)


@pytest.mark.parametrize("host", ["", "two words", "ntp.example.com\nallow all", "ntp.example.com iburst",
                                  "\"quoted\"", "host#comment", "-lead.example.com", "a..b", None, 5,
                                  "x" * 254, "tab\there", "ntp.example.com\n", "0\n", "192.0.2.1\n"])
def test_invalid_hosts(host):
    assert not is_valid_host(host)


@given(st.text(alphabet=st.sampled_from("ab0.-:_ \t\n\r#\"'/"), min_size=1, max_size=20))
def test_no_valid_host_can_break_a_line_small_alphabet(text):
    if is_valid_host(text):
        assert not any(c in text for c in " \t\r\n\"'#")


@given(st.text(min_size=1, max_size=40))
def test_no_valid_host_can_break_a_line(text):
    """Whatever passes as a hostname cannot carry a second directive or a comment into the file."""
    if is_valid_host(text):
        assert not any(c in text for c in " \t\r\n\"'#\0")


# --- sources -------------------------------------------------------------------------------------

def test_source_line_order_is_fixed():
    a = {"hostname": "169.254.169.123", "prefer": True, "iburst": True, "minpoll": 4, "maxpoll": 4}
    b = {"maxpoll": 4, "minpoll": 4, "iburst": True, "hostname": "169.254.169.123", "prefer": True}
    assert render_source_line(a) == render_source_line(b) == "server 169.254.169.123 prefer iburst minpoll 4 maxpoll 4"


def test_pool_line_and_false_flags():
    line = render_source_line({"hostname": "2.debian.pool.ntp.org", "pool": True, "iburst": True,
                               "prefer": False, "maxsources": 4, "nts": None})
    assert line == "pool 2.debian.pool.ntp.org iburst maxsources 4"


def test_all_known_source_options_render_and_parse(tmp_path):
    source = {"hostname": "ntp.example.com", "iburst": True, "burst": True, "prefer": True, "nts": True,
              "xleave": True, "noselect": True, "trust": True, "require": True, "offline": True,
              "minpoll": -6, "maxpoll": 24, "port": 123, "polltarget": 8, "minstratum": 2, "key": 7,
              "version": 4, "maxdelay": 0.3, "mindelay": 0.001, "asymmetry": 0.5, "offset": -0.25}
    assert validate_source(source) == []
    line = render_source_line(source)
    assert line.startswith("server ntp.example.com prefer iburst burst nts xleave noselect trust require offline")
    assert "minpoll -6 maxpoll 24" in line and "maxdelay 0.3" in line and "offset -0.25" in line
    _chronyd_parses(tmp_path, [line])


def test_valid_source_has_no_errors():
    assert validate_source({"hostname": "ntp.example.com", "iburst": True, "minpoll": 4, "maxpoll": 10}) == []


def test_newline_in_hostname_is_refused_with_the_item_named():
    errors = validate_source({"hostname": "ntp.example.com\nallow all"}, 2)
    assert len(errors) == 1
    assert errors[0].startswith("chrony_sources[2] ('ntp.example.com\\nallow all')")
    assert "not a DNS name or IP address" in errors[0]


def test_missing_hostname():
    assert "'hostname' is required" in validate_source({"iburst": True})[0]


def test_not_a_dict():
    assert "must be a dict" in validate_source("ntp.example.com iburst")[0]


@pytest.mark.parametrize("key,value", [("minpoll", -7), ("maxpoll", 25), ("minpoll", "x"), ("port", 0),
                                       ("iburst", "yes"), ("maxdelay", "fast"), ("minstratum", 16)])
def test_option_out_of_range_or_wrong_type(key, value):
    errors = validate_source({"hostname": "ntp.example.com", key: value})
    assert len(errors) == 1 and ("option '%s'" % key) in errors[0]


def test_bool_is_not_an_int():
    assert "must be an integer" in validate_source({"hostname": "h", "minpoll": True})[0]


def test_minpoll_greater_than_maxpoll():
    errors = validate_source({"hostname": "ntp.example.com", "minpoll": 10, "maxpoll": 6})
    assert errors == ["chrony_sources[0] ('ntp.example.com'): minpoll (10) is greater than maxpoll (6); "
                      "lower minpoll or raise maxpoll"]


def test_maxsources_needs_pool():
    assert "applies only to pools" in validate_source({"hostname": "h", "maxsources": 2})[0]


def test_refclock_keys_in_a_source():
    errors = validate_source({"hostname": "h", "pool": True, "driver": "PHC", "parameter": "/dev/ptp0"})
    assert len(errors) == 1
    assert "refclock keys driver, parameter do not belong in a source" in errors[0]
    assert "chrony_refclocks" in errors[0]


def test_unknown_source_option_lists_known_ones():
    errors = validate_source({"hostname": "h", "ibrust": True})
    assert "unknown option(s) ibrust" in errors[0] and "iburst" in errors[0]


def test_validate_sources_collects_all_items():
    errors = validate_sources([{"hostname": "ok"}, {"hostname": "bad host"}, {"hostname": "h", "minpoll": 99}])
    assert [e.split(":")[0] for e in errors] == ["chrony_sources[1] ('bad host')", "chrony_sources[2] ('h')"]
    assert validate_sources(None) == []
    assert "must be a list" in validate_sources({"hostname": "h"})[0]


# --- refclocks -----------------------------------------------------------------------------------

def test_refclock_lines():
    assert render_refclock_line(PROFILES["azure"]["refclocks"][0]) == \
        "refclock PHC /dev/ptp_hyperv poll 3 dpoll -2 offset 0 stratum 2"
    aws = dict(PROFILES["aws"]["refclocks"][0])
    del aws["optional_device"]
    assert validate_refclock(aws) == []
    assert render_refclock_line(aws) == "refclock PHC /dev/ptp_ena poll 0 delay 0.000010 prefer"
    assert render_refclock_line({"driver": "SHM", "parameter": 0, "refid": "GPS", "delay": 0.2}) == \
        "refclock SHM 0 refid GPS delay 0.2"


@pytest.mark.parametrize("stratum", [0, 16])
def test_refclock_stratum_range(stratum):
    errors = validate_refclock({"driver": "PHC", "parameter": "/dev/ptp0", "stratum": stratum}, 1)
    assert errors == ["chrony_refclocks[1] ('/dev/ptp0'): option 'stratum' must be between 1 and 15, got %d" % stratum]


@pytest.mark.parametrize("refclock,needle", [
    ({"driver": "GPS", "parameter": "/dev/ttyS0"}, "'driver' must be one of"),
    ({"driver": "PHC"}, "'parameter' is required"),
    ({"driver": "PHC", "parameter": "/dev/ptp0 poll 2"}, "absolute path"),
    ({"driver": "PHC", "parameter": "/dev/ptp0\nallow all"}, "absolute path"),
    ({"driver": "PHC", "parameter": "/dev/ptp0\n"}, "absolute path"),
    ({"driver": "PHC", "parameter": "/dev/ptp0", "refid": "GPS\n"}, "option 'refid'"),
    ({"driver": "SHM", "parameter": "x"}, "segment number"),
    ({"driver": "PHC", "parameter": "/dev/ptp0", "dpoll": -7}, "option 'dpoll'"),
    ({"driver": "PHC", "parameter": "/dev/ptp0", "refid": "TOOLONG"}, "option 'refid'"),
    ({"driver": "PHC", "parameter": "/dev/ptp0", "hostname": "h", "iburst": True}, "NTP source keys hostname, iburst"),
    ({"driver": "PHC", "parameter": "/dev/ptp0", "bogus": 1}, "unknown option(s) bogus"),
])
def test_bad_refclocks(refclock, needle):
    errors = validate_refclock(refclock)
    assert len(errors) == 1 and needle in errors[0], errors


@given(st.text(min_size=1, max_size=30))
def test_no_valid_refclock_path_or_word_can_break_a_line(text):
    for errors in (validate_refclock({"driver": "PHC", "parameter": "/" + text}),
                   validate_settings({"chrony_leapsectz": text}),
                   validate_access([text], "chrony_allow")):
        if not errors:
            assert not any(c in text for c in "\r\n\0#")


# --- numbers -------------------------------------------------------------------------------------

@pytest.mark.parametrize("value,text", [(1.0, "1.0"), (0.00001, "0.00001"), ("0.000010", "0.000010"),
                                        (-2, "-2"), (0, "0"), (1e-9, "0.000000001"), (2.5e10, "25000000000.0")])
def test_format_number(value, text):
    assert format_number(value) == text


# --- access lists, extra lines, settings -------------------------------------------------------

def test_access_lists():
    assert validate_access(["all", "10.0.0.0/8", "192.0.2.1", "2001:db8::/32"], "chrony_allow") == []
    errors = validate_access(["10.0.0.1/8", "10.0.0.0/33", "not a net", "", 5], "chrony_allow")
    assert [e.split(":")[0] for e in errors] == ["chrony_allow[%d]" % i for i in range(5)]
    assert "host bits set" in errors[0]
    assert "must be a list" in validate_access("10.0.0.0/8", "chrony_deny")[0]


def test_extra_lines():
    assert validate_extra_lines(["hwtimestamp *", "lock_all"]) == []
    errors = validate_extra_lines(["hwtimestamp *\nallow all", "", 3])
    assert errors[0].startswith("chrony_extra_lines[0]") and "line break" in errors[0]
    assert "is empty" in errors[1] and "must be a string" in errors[2]


def test_settings_valid_defaults():
    settings = {"chrony_cloud": "auto", "chrony_sources": [], "chrony_sources_mode": "append", "chrony_refclocks": [],
                "chrony_allow": [], "chrony_deny": [], "chrony_extra_lines": [], "chrony_makestep": {},
                "chrony_minsources": None, "chrony_maxdistance": None, "chrony_local": {}, "chrony_log": [],
                "chrony_driftfile": None, "chrony_logdir": "/var/log/chrony", "chrony_ntsdumpdir": "/var/lib/chrony",
                "chrony_leapsectz": "auto", "chrony_rtcsync": True, "chrony_cmdport_disabled": False}
    assert validate_settings(settings) == []


@pytest.mark.parametrize("settings,needle", [
    ({"chrony_cloud": "digitalocean"}, "chrony_cloud must be one of"),
    ({"chrony_sources_mode": "merge"}, "chrony_sources_mode must be"),
    ({"chrony_makestep": {"threshold": 1.0}}, "chrony_makestep.limit"),
    ({"chrony_makestep": {"threshold": 0, "limit": 3}}, "chrony_makestep.threshold"),
    ({"chrony_makestep": {"threshold": 1, "limit": 3, "x": 1}}, "chrony_makestep must be a dict"),
    ({"chrony_minsources": 0}, "chrony_minsources"),
    ({"chrony_maxdistance": -1}, "chrony_maxdistance"),
    ({"chrony_local": {"stratum": 0}}, "chrony_local.stratum must be between 1 and 15"),
    ({"chrony_local": {"stratum": 16}}, "chrony_local.stratum must be between 1 and 15"),
    ({"chrony_local": {"stratum": 8, "orphan": "yes"}}, "chrony_local.orphan"),
    ({"chrony_local": {"level": 8}}, "chrony_local must be a dict"),
    ({"chrony_log": ["tracking", "everything"]}, "unknown log option(s) 'everything'"),
    ({"chrony_driftfile": "drift file"}, "chrony_driftfile must be an absolute path"),
    ({"chrony_leapsectz": "right/UTC\nallow all"}, "chrony_leapsectz must be a single word"),
    ({"chrony_leapsectz": "right/UTC\n"}, "chrony_leapsectz must be a single word"),
    ({"chrony_logdir": "/var/log/chrony\n"}, "chrony_logdir must be an absolute path"),
    ({"chrony_allow": ["all\n"]}, "chrony_allow[0]"),
    ({"chrony_allow": ["10.0.0.0/8\n"]}, "chrony_allow[0]"),
    ({"chrony_rtcsync": "yes"}, "chrony_rtcsync must be true or false"),
    ({"chrony_deny": ["300.0.0.0/8"]}, "chrony_deny[0]"),
])
def test_bad_settings(settings, needle):
    errors = validate_settings(settings)
    assert len(errors) == 1 and needle in errors[0], errors


# --- cloud detection -----------------------------------------------------------------------------

NA = {"system_vendor": "NA", "product_name": "NA", "product_uuid": "NA", "product_serial": "NA",
      "chassis_asset_tag": "NA"}


@pytest.mark.parametrize("facts,cloud", [
    ({"system_vendor": "Amazon EC2"}, "aws"),
    ({"product_uuid": "EC2E1916-9099-7CAF-FD21-012345ABCDEF"}, "aws"),
    ({"product_uuid": "ec2e1916-9099-7caf-fd21-012345abcdef"}, "aws"),
    ({"product_name": "Google Compute Engine"}, "gcp"),
    ({"product_serial": "GoogleCloud-1234ABCD"}, "gcp"),
    ({"chassis_asset_tag": AZURE_ASSET_TAG, "system_vendor": "Microsoft Corporation"}, "azure"),
    ({"system_vendor": "Microsoft Corporation", "product_name": "Virtual Machine"}, "none"),
    ({"chassis_asset_tag": "OracleCloud.com"}, "oci"),
    ({"product_name": "Alibaba Cloud ECS"}, "alibaba"),
    ({"system_vendor": "QEMU", "product_name": "Standard PC (Q35 + ICH9, 2009)"}, "none"),
    ({}, "none"),
])
def test_detect_cloud(facts, cloud):
    merged = dict(NA)
    merged.update(facts)
    assert detect_cloud(merged) == cloud
    assert detect_cloud(dict(("ansible_" + k, v) for k, v in merged.items())) == cloud


def test_detect_cloud_tolerates_garbage():
    assert detect_cloud(None) == "none"
    assert detect_cloud({"system_vendor": None, "product_uuid": 5}) == "none"


# --- resolution and cross-field checks ---------------------------------------------------------

def test_resolve_aws_without_phc_device():
    r = resolve_sources("aws", PROFILES, default_sources=DEFAULT)
    assert [s["hostname"] for s in r["sources"]] == ["169.254.169.123"]
    assert r["refclocks"] == [] and r["leap_smearing"] and r["origin"] == "cloud"


def test_resolve_aws_with_phc_and_ipv6():
    r = resolve_sources("aws", PROFILES, present_devices=["/dev/ptp_ena"], aws_ipv6=True)
    assert [s["hostname"] for s in r["sources"]] == ["169.254.169.123", "fd00:ec2::123"]
    assert r["refclocks"] == [{"driver": "PHC", "parameter": "/dev/ptp_ena", "poll": 0, "delay": "0.000010",
                               "prefer": True}]
    assert resolve_sources("aws", PROFILES, present_devices=["/dev/ptp_ena"], cloud_phc="never")["refclocks"] == []
    assert len(resolve_sources("aws", PROFILES, cloud_phc="always")["refclocks"]) == 1


def test_resolve_modes():
    appended = resolve_sources("aws", PROFILES, user_sources=USER, mode="append")
    assert [s["hostname"] for s in appended["sources"]] == ["169.254.169.123", "ntp.example.com"]
    assert appended["origin"] == "cloud+user" and appended["leap_smearing"]
    replaced = resolve_sources("aws", PROFILES, user_sources=USER, mode="replace")
    assert replaced["sources"] == USER and not replaced["leap_smearing"] and replaced["origin"] == "user"
    # replace with nothing to replace with keeps the cloud's
    assert resolve_sources("aws", PROFILES, mode="replace")["origin"] == "cloud"


def test_resolve_no_cloud():
    assert resolve_sources("none", PROFILES, user_sources=USER, default_sources=DEFAULT)["sources"] == USER
    fallback = resolve_sources("none", PROFILES, default_sources=DEFAULT)
    assert fallback["sources"] == DEFAULT and fallback["origin"] == "distribution"
    assert resolve_sources("none", PROFILES, default_sources=DEFAULT, local_enabled=True)["sources"] == []


def test_resolve_azure_settings():
    r = resolve_sources("azure", PROFILES)
    assert r["settings"]["makestep"] == {"threshold": 1.0, "limit": -1} and not r["leap_smearing"]


def test_mixed_leap_smearing_refused_unless_allowed():
    resolved = resolve_sources("aws", PROFILES, user_sources=USER)
    errors = validate_resolved(resolved, {"chrony_sources": USER})
    assert len(errors) == 1 and errors[0].startswith("chrony_sources/chrony_refclocks: the aws cloud")
    assert "chrony_allow_mixed_leap_smearing: true" in errors[0]
    assert validate_resolved(resolved, {"chrony_sources": USER, "chrony_allow_mixed_leap_smearing": True}) == []


def test_leapsectz_with_smearing():
    resolved = resolve_sources("aws", PROFILES)
    assert validate_resolved(resolved, {"chrony_leapsectz": "auto"}) == []
    assert "chrony_leapsectz" in validate_resolved(resolved, {"chrony_leapsectz": "right/UTC"})[0]
    assert effective_leapsectz("auto", True) == ""
    assert effective_leapsectz("auto", False) == "right/UTC"
    assert effective_leapsectz("", False) == ""
    assert effective_leapsectz("right/UTC", False) == "right/UTC"


def test_no_source_left():
    resolved = resolve_sources("none", PROFILES, default_sources=[], local_enabled=False)
    assert "no time source is left" in validate_resolved(resolved, {})[0]
    assert validate_resolved(resolve_sources("none", PROFILES, local_enabled=True), {"chrony_local": {"stratum": 8}}) == []


# --- round trip through the real chronyd parser ---------------------------------------------------

def _chronyd_parses(tmp_path, lines):
    if not os.path.exists(CHRONYD):
        pytest.skip("chronyd not installed")
    conf = tmp_path / "chrony.conf"
    conf.write_text("\n".join(lines) + "\n")
    proc = subprocess.run([CHRONYD, "-p", "-f", str(conf)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr


def test_every_profile_line_parses(tmp_path):
    lines = []
    for cloud in PROFILES:
        r = resolve_sources(cloud, PROFILES, cloud_phc="always", aws_ipv6=True)
        lines += [render_source_line(s) for s in r["sources"]]
        lines += [render_refclock_line(c) for c in r["refclocks"]]
    _chronyd_parses(tmp_path, lines)


@given(st.fixed_dictionaries({"hostname": st.sampled_from(["ntp.example.com", "192.0.2.1", "2001:db8::1"])},
                             optional={"pool": st.booleans(), "iburst": st.booleans(), "prefer": st.booleans(),
                                       "minpoll": st.integers(-6, 24), "maxpoll": st.integers(-6, 24),
                                       "maxdelay": st.floats(0, 10, allow_nan=False)}))
def test_valid_sources_render_one_line(source):
    if validate_source(source) == []:
        line = render_source_line(source)
        assert "\n" not in line and line.split()[1] == source["hostname"]
        assert (line.split()[0] == "pool") == bool(source.get("pool"))
    else:
        assert source.get("minpoll", -6) > source.get("maxpoll", 24) or (
            "maxsources" in source and not source.get("pool"))


def test_cloud_choices_come_from_the_profiles():
    """Adding a cloud is adding a profile: the argument spec's choices must name exactly the profiles."""
    with open(os.path.join(ROOT, "roles", "chrony", "meta", "argument_specs.yml")) as handle:
        spec = yaml.safe_load(handle)["argument_specs"]
    for entry in ("main", "render"):
        assert tuple(spec[entry]["options"]["chrony_cloud"]["choices"]) == cloud_choices(ROLE_PROFILES)
    for name, profile in ROLE_PROFILES.items():
        assert profile["detect"], name
