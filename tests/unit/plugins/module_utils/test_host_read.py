"""Unit tests for module_utils/host_read.py (the module host_state's units and packages).

The systemctl outputs are what systemd 252 (Debian 12) prints for `systemctl show
--property=Id,LoadState,ActiveState,SubState,UnitFileState -- UNITS`; dpkg-query is run for real on this machine."""
import shutil
import subprocess

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.fleetclock.timesync.plugins.module_utils.host_read import (
    MAX_OUTPUT,
    HostReadError,
    package_name,
    parse_dpkg_query,
    parse_rpm_query,
    parse_systemctl_show,
    service_entries,
    unit_name,
)

UNITS = ["chrony.service", "systemd-timesyncd.service", "ntp.service", "ntpsec.service", "openntpd.service"]
# chrony running and enabled; timesyncd running after its package was removed (no unit file); ntp absent;
# ntpsec failed but enabled; openntpd masked. systemctl prints the properties in its own order.
SHOW = """ActiveState=active
SubState=running
LoadState=loaded
UnitFileState=enabled
Id=chrony.service

ActiveState=active
SubState=running
LoadState=not-found
UnitFileState=
Id=systemd-timesyncd.service

ActiveState=inactive
SubState=dead
LoadState=not-found
UnitFileState=
Id=ntp.service

ActiveState=failed
SubState=failed
LoadState=loaded
UnitFileState=enabled
Id=ntpsec.service

ActiveState=inactive
SubState=dead
LoadState=masked
UnitFileState=masked
Id=openntpd.service
"""


def test_units_are_shaped_like_service_facts():
    services = service_entries(parse_systemctl_show(SHOW, UNITS))
    assert services == {
        "chrony.service": {"name": "chrony.service", "state": "running", "status": "enabled", "source": "systemd"},
        "systemd-timesyncd.service": {"name": "systemd-timesyncd.service", "state": "running", "status": "not-found",
                                      "source": "systemd"},
        # service_facts said status "failed" here, which hid an enabled unit from the role's stop-and-disable task
        "ntpsec.service": {"name": "ntpsec.service", "state": "stopped", "status": "enabled", "source": "systemd"},
        "openntpd.service": {"name": "openntpd.service", "state": "stopped", "status": "masked", "source": "systemd"},
    }


def test_only_the_units_asked_for_and_sane_values_are_kept():
    text = SHOW + "\nId=sshd.service\nSubState=running\nLoadState=loaded\nUnitFileState=enabled\n"
    text = text.replace("UnitFileState=masked", "UnitFileState=masked; rm -rf /")
    shown = parse_systemctl_show(text, ["openntpd.service", "chrony.service"])
    assert set(shown) == {"openntpd.service", "chrony.service"}
    assert "UnitFileState" not in shown["openntpd.service"]    # not a word: dropped, the load state stands in
    assert service_entries(shown)["openntpd.service"]["status"] == "masked"


def test_names():
    assert unit_name("chrony") == "chrony.service" and unit_name("ufw.service") == "ufw.service"
    assert package_name("systemd-timesyncd") == "systemd-timesyncd" and package_name("libstdc++6") == "libstdc++6"
    for bad in ("", "a b", "--all", "x;y", None, "a\nb"):
        with pytest.raises(HostReadError):
            package_name(bad)
    for bad in ("", "a b", "x;y", None, "a\nb"):
        with pytest.raises(HostReadError):
            unit_name(bad)


def test_dpkg_query_states():
    text = ("chrony\t4.3-2+deb12u1\tinstalled\nntp\t\tnot-installed\nntpsec\t1.2.2\tconfig-files\n"
            "systemd-timesyncd:amd64\t252.31-1~deb12u1\thalf-configured\nopenntpd\t6.8p1\tinstalled\n")
    found = parse_dpkg_query(text, ["chrony", "ntp", "ntpsec", "systemd-timesyncd"])
    assert found == {"chrony": [{"name": "chrony", "version": "4.3-2+deb12u1", "source": "apt"}],
                     "systemd-timesyncd": [{"name": "systemd-timesyncd", "version": "252.31-1~deb12u1",
                                            "source": "apt"}]}


def test_rpm_query():
    text = "chrony\t4.5-3.el9\npackage ntpsec is not installed\n"
    assert parse_rpm_query(text, ["chrony", "ntpsec"]) == {
        "chrony": [{"name": "chrony", "version": "4.5-3.el9", "source": "rpm"}]}


@pytest.mark.skipif(not shutil.which("dpkg-query"), reason="dpkg-query is a Debian tool")
def test_real_dpkg_query_of_this_machine():
    names = ["dpkg", "fc-no-such-package"]
    res = subprocess.run(["dpkg-query", "-W", "-f", "${Package}\\t${Version}\\t${db:Status-Status}\\n", "--"] + names,
                         capture_output=True, text=True, check=False)
    found = parse_dpkg_query(res.stdout, names)
    assert list(found) == ["dpkg"] and found["dpkg"][0]["version"]


text_st = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=400)
FIELDS = ["Id=chrony.service", "SubState=running", "LoadState=loaded", "UnitFileState=enabled", "", "ActiveState=active"]
line_st = st.one_of(text_st, st.sampled_from(FIELDS))


@settings(max_examples=300)
@given(st.lists(line_st, max_size=40))
def test_systemctl_parser_takes_any_text(lines):
    services = service_entries(parse_systemctl_show("\n".join(lines), ["chrony.service"]))
    assert set(services) <= {"chrony.service"}
    for entry in services.values():
        assert entry["state"] in ("running", "stopped")
        assert entry["status"].replace("-", "").isalpha() or entry["status"] == "unknown"


@settings(max_examples=300)
@given(st.lists(st.lists(text_st, min_size=1, max_size=4).map("\t".join), max_size=30))
def test_package_parsers_take_any_text(lines):
    text = "\n".join(lines)
    for found in (parse_dpkg_query(text, ["chrony", "ntp"]), parse_rpm_query(text, ["chrony", "ntp"])):
        assert set(found) <= {"chrony", "ntp"}
        for entries in found.values():
            assert all(" " not in e["version"] and "\n" not in e["version"] for e in entries)


def test_output_is_capped():
    huge = "chrony\t1.0\tinstalled\n".rjust(MAX_OUTPUT + 10, "x")
    assert parse_dpkg_query(huge, ["chrony"]) == {}
