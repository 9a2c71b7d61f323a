"""What each chrony release accepts (module_utils/chrony_versions.py) against the role's table of the chrony each
distribution version ships (__chrony_versions in roles/chrony/vars/main.yml): every supported distribution version's
rendering holds only directives and options its chrony has, and what it lacks is refused naming the variable, the
OS and the version."""
import os

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.fleetclock.timesync.plugins.module_utils import chrony_versions as cv
from ansible_collections.fleetclock.timesync.plugins.module_utils.chrony_options import ENTRY_KINDS
from ansible_collections.fleetclock.timesync.plugins.module_utils.chrony_render import (
    RenderError,
    render_config,
    render_daemon_options,
    render_entry,
)
from ansible_collections.fleetclock.timesync.plugins.module_utils.chrony_settings import DAEMON_OPTIONS

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
VARS = os.path.join(ROOT, "roles", "chrony", "vars")


def _load(name):
    path = os.path.join(VARS, name)
    if not os.path.exists(path):
        return {}
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle) or {}


VERSIONS = _load("main.yml")["__chrony_versions"]
# the family of each distribution in the table (the preflight loads the family's vars file first)
FAMILY = {"Debian": "Debian", "Ubuntu": "Debian", "RedHat": "RedHat", "Fedora": "RedHat"}
TARGETS = sorted((dist, major, version) for dist, majors in VERSIONS.items() for major, version in majors.items())


def os_vars(distribution, major):
    """The OS variables as the preflight loads them: family, distribution, family-major, distribution-major."""
    family = FAMILY[distribution]
    merged = {}
    for name in dict.fromkeys([family, distribution, "%s-%s" % (family, major), "%s-%s" % (distribution, major)]):
        merged.update(_load(name + ".yml"))
    return merged


def sample_value(kind, low):
    if kind == "flag":
        return True
    if kind == "refid":
        return "GPS"
    if kind == "int":
        return 1 if low is None else max(low, 1) if low <= 1 else low
    return 0.5 if low is None else low + 0.5


def every_option(kind, version):
    """An entry of ``kind`` with every option the role can write that chrony ``version`` has."""
    spec = ENTRY_KINDS[kind]
    head = {"source": {"hostname": "ntp.example.com", "pool": True},
            "refclock": {"driver": "PHC", "parameter": "/dev/ptp0"}}[kind]
    item = dict(head)
    for name, option_kind, low, _high in spec["options"]:
        if cv.has(version, cv.option_since(kind, name)):
            item[name] = sample_value(option_kind, low)
    return item


def representative_config(version):
    return {
        "cloud": "none", "origin": "chrony_sources", "version": cv.version_text(version),
        "sources": [every_option("source", version)], "refclocks": [every_option("refclock", version)],
        "driftfile": "/var/lib/chrony/drift", "makestep": {"threshold": 1.0, "limit": 3}, "minsources": 1,
        "maxdistance": 1.5, "rtcsync": True, "keyfile": "/etc/chrony.keys", "leapsectz": "right/UTC",
        "ntsdumpdir": "/var/lib/chrony", "logdir": "/var/log/chrony", "log": ["tracking"], "allow": ["192.0.2.0/24"],
        "deny": ["192.0.2.1"], "local": {"stratum": 8, "orphan": True}, "cmdport_disabled": False, "extra_lines": [],
    }


def test_the_table_covers_every_supported_distribution():
    assert set(VERSIONS) <= set(FAMILY)
    assert {dist for dist, _major, _version in TARGETS} == {"Debian", "Ubuntu", "RedHat", "Fedora"}
    assert ("Ubuntu", "20", "3.5") in TARGETS
    for _dist, major, version in TARGETS:
        assert str(major).isdigit() and cv.parse_version(version) >= cv.OLDEST, (major, version)


def test_the_since_tables_name_only_what_the_role_can_write():
    for kind, table in cv.ENTRY_OPTIONS_SINCE.items():
        assert set(table) <= {name for name, *_rest in ENTRY_KINDS[kind]["options"]}, kind
    assert {word.split()[0] for word in cv.DAEMON_OPTIONS_SINCE} - {"-p"} <= set(DAEMON_OPTIONS)
    assert all(since >= cv.OLDEST for table in (cv.SOURCE_OPTIONS_SINCE, cv.REFCLOCK_OPTIONS_SINCE,
                                                cv.DAEMON_OPTIONS_SINCE, cv.EXTRA_DIRECTIVES_SINCE, cv.DIRECTIVES)
               for since in table.values())


@pytest.mark.parametrize("dist,major,version", TARGETS)
def test_each_distribution_version_renders_only_what_its_chrony_has(dist, major, version):
    parsed = cv.parse_version(version)
    directives = {name for name, since in cv.DIRECTIVES.items() if cv.has(parsed, since)}
    options = {kind: {name for name, *_rest in ENTRY_KINDS[kind]["options"] if cv.has(parsed, cv.option_since(kind, name))}
               for kind in ENTRY_KINDS}
    lines = [line for line in render_config(representative_config(parsed)) if line and not line.startswith("#")]
    for line in lines:
        words = line.split()
        assert words[0] in directives, "%s %s (chrony %s): %s" % (dist, major, version, line)
        if words[0] in ("server", "pool"):
            used = {w for w in words[2:] if w in {name for name, *_r in ENTRY_KINDS["source"]["options"]}}
            assert used <= options["source"] and used == options["source"], line
        if words[0] == "refclock":
            used = {w for w in words[3:] if w in {name for name, *_r in ENTRY_KINDS["refclock"]["options"]}}
            assert used <= options["refclock"], line
    assert ("ntsdumpdir /var/lib/chrony" in lines) == (parsed >= (4, 0))
    # the distribution's own chronyd options are ones its chrony has
    daemon = os_vars(dist, major)["__chrony_daemon_options"]
    assert cv.version_errors({"chrony_daemon_options": None}, parsed, dist, daemon) == []
    assert render_daemon_options(daemon, True, version).endswith("-x")


@pytest.mark.parametrize("dist,major,version", TARGETS)
def test_each_distribution_version_refuses_what_its_chrony_lacks(dist, major, version):
    parsed = cv.parse_version(version)
    newer = [(kind, name, since) for kind, table in cv.ENTRY_OPTIONS_SINCE.items()
             for name, since in table.items() if not cv.has(parsed, since)]
    for kind, name, since in newer:
        item = dict(every_option(kind, cv.OLDEST), **{name: sample_value(
            {n: k for n, k, *_r in ENTRY_KINDS[kind]["options"]}[name], None)})
        with pytest.raises(RenderError, match=r"option '%s' needs chrony %s or later, the target has %s"
                           % (name, cv.version_text(since), version)):
            render_entry(kind, item, version=version)
        var = ENTRY_KINDS[kind]["var"]
        errors = cv.version_errors({var: [item]}, parsed, "%s %s" % (dist, major))
        assert errors == ["%s[0]: option '%s' needs chrony %s or later; %s %s ships chrony %s, so remove %s"
                          % (var, name, cv.version_text(since), dist, major, version, name)]


NTS_ON_3_5 = "chrony_sources[0]: option 'nts' needs chrony 4.0 or later; Ubuntu 20.04 ships chrony 3.5, so remove nts"
CASES = {
    # name: (settings, version, expected errors)
    "nts_on_ubuntu_20.04": ({"chrony_sources": [{"hostname": "ntp.example.com", "nts": True}]}, "3.5", [NTS_ON_3_5]),
    "nts_false_is_nothing": ({"chrony_sources": [{"hostname": "ntp.example.com", "nts": False}]}, "3.5", []),
    "ntsport_on_3.5": ({"chrony_sources": [{"hostname": "a.example", "ntsport": 4460}]}, "3.5",
                       ["chrony_sources[0]: option 'ntsport' needs chrony 4.0 or later; Ubuntu 20.04 ships chrony 3.5, "
                        "so remove ntsport"]),
    "copy_on_4.0": ({"chrony_sources": [{"hostname": "a.example", "copy": True}]}, "4.0",
                    ["chrony_sources[0]: option 'copy' needs chrony 4.1 or later; Debian 11 ships chrony 4.0, "
                     "so remove copy"]),
    "refclock_local_on_4.2": ({"chrony_refclocks": [{"driver": "PHC", "parameter": "/dev/ptp0", "local": True}]},
                              "4.2", ["chrony_refclocks[0]: option 'local' needs chrony 4.3 or later; Ubuntu 22.04 "
                                      "ships chrony 4.2, so remove local"]),
    "refclock_local_on_4.3": ({"chrony_refclocks": [{"driver": "PHC", "parameter": "/dev/ptp0", "local": True}]},
                              "4.3", []),
    "daemon_L_on_3.5": ({"chrony_daemon_options": "-F 1 -L 2"}, "3.5",
                        ["chrony_daemon_options: chronyd option -L needs chrony 4.0 or later; Ubuntu 20.04 ships "
                         "chrony 3.5, so remove it"]),
    "seccomp_2_on_4.0": ({"chrony_daemon_options": "-F -2"}, "4.0",
                         ["chrony_daemon_options: chronyd option -F -2 needs chrony 4.1 or later; Debian 11 ships "
                          "chrony 4.0, so remove it"]),
    "seccomp_minus_1_on_3.5": ({"chrony_daemon_options": "-F -1"}, "3.5", []),
    "nts_directive_on_3.5": ({"chrony_extra_lines": ["ntsserverkey /etc/chrony/server.key"]}, "3.5",
                             ["chrony_extra_lines[0]: directive ntsserverkey needs chrony 4.0 or later; Ubuntu 20.04 "
                              "ships chrony 3.5, so remove the line"]),
    "ptpport_on_4.1": ({"chrony_extra_lines": ["hwtimestamp *", "ptpport 319"]}, "4.1",
                       ["chrony_extra_lines[1]: directive ptpport needs chrony 4.2 or later; this OS ships "
                        "chrony 4.1, so remove the line"]),
    "everything_on_4.6": ({"chrony_sources": [{"hostname": "a.example", "nts": True, "copy": True}],
                           "chrony_daemon_options": "-F 2 -L 0 -U", "chrony_extra_lines": ["ptpport 319"]}, "4.6", []),
}


LABELS = {"3.5": "Ubuntu 20.04", "4.0": "Debian 11", "4.2": "Ubuntu 22.04"}


@pytest.mark.parametrize("case", sorted(CASES))
def test_version_errors(case):
    settings, version, expected = CASES[case]
    assert cv.version_errors(settings, cv.parse_version(version), LABELS.get(version, "this OS")) == expected


def test_the_distribution_default_options_are_checked_when_the_user_sets_none():
    errors = cv.version_errors({"chrony_daemon_options": None}, (3, 5), "Ubuntu 20.04", daemon_default="-F 2")
    assert errors == ["the distribution's chronyd options: chronyd option -F 2 needs chrony 4.1 or later; "
                      "Ubuntu 20.04 ships chrony 3.5, so remove it"]


def test_the_renderer_refuses_newer_daemon_options_and_directive_lines():
    with pytest.raises(RenderError, match="chronyd option -U needs chrony 4.0"):
        render_daemon_options("-U", version="3.5")
    with pytest.raises(RenderError, match=r"chrony_extra_lines\[0\].*directive authselectmode needs chrony 4.0"):
        render_config(dict(representative_config((3, 5)), extra_lines=["authselectmode require"]))
    with pytest.raises(RenderError, match="is not a chrony version"):
        render_config(dict(representative_config((4, 3)), version="four"))


@pytest.mark.parametrize("distribution,family,major,expected", [
    ("Ubuntu", "Debian", "20", "3.5"),
    ("Debian", "Debian", "12", "4.3"),
    ("Rocky", "RedHat", "8", "4.5"),        # the family's entry
    ("AlmaLinux", "RedHat", "10", "4.6"),
    ("Debian", "Debian", "14", "4.6"),      # not listed: the closest older one's chrony
    ("Ubuntu", "Debian", "23", "4.2"),
    ("Debian", "Debian", "10", None),       # older than every version listed
    ("Ubuntu", "Debian", "18", None),
    ("Fedora", "RedHat", "39", None),
    ("Gentoo", "Gentoo", "2", None),        # not in the table
    ("Debian", "Debian", "n/a", None),
])
def test_shipped_version(distribution, family, major, expected):
    assert cv.shipped_version(VERSIONS, distribution, family, major) == expected


SOURCE_FLAGS = [name for name, kind, *_rest in ENTRY_KINDS["source"]["options"] if kind == "flag"]


@given(st.sampled_from(TARGETS), st.lists(st.sampled_from(SOURCE_FLAGS), unique=True))
def test_a_source_renders_on_a_version_exactly_when_no_error_says_otherwise(target, flags):
    _dist, _major, version = target
    source = dict({"hostname": "ntp.example.com"}, **{name: True for name in flags})
    errors = cv.version_errors({"chrony_sources": [source]}, cv.parse_version(version), "OS")
    try:
        render_entry("source", source, version=version)
        rendered = True
    except RenderError:
        rendered = False
    assert rendered == (errors == [])


@pytest.mark.parametrize("text,expected", [("4.3", (4, 3)), (4.3, (4, 3)), ("3.5", (3, 5)), (" 4.10 ", (4, 10)),
                                           ("4", None), ("4.3.1", None), (True, None), (None, None), ("", None)])
def test_parse_version(text, expected):
    assert cv.parse_version(text) == expected
