"""Unit tests for module_utils/swap_check.py: apt's simulated chrony install, read before the swap (issue 11,
"crash safety": check the new config with the downloaded chronyd, keep what an offline rollback reinstalls).

The fixtures are apt-get 2.6 output captured in a Debian 12 container (fleetclock-test/debian:12)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.fleetclock.timesync.plugins.filter.chrony import (
    chrony_kept_debs,
    chrony_library_dirs,
    chrony_swap_plan,
    chrony_swap_unkept,
)
from ansible_collections.fleetclock.timesync.plugins.module_utils.hostout import MAX_OUTPUT
from ansible_collections.fleetclock.timesync.plugins.module_utils.swap_check import (
    SwapCheckError,
    deb_file,
    kept_debs,
    parse_simulation,
    unkept,
)
from ansible.errors import AnsibleFilterError

# apt-get -s install chrony on Debian 12 with systemd-timesyncd installed
WITH_TIMESYNCD = """Reading package lists...
Building dependency tree...
Reading state information...
Suggested packages:
  dnsutils networkd-dispatcher
The following packages will be REMOVED:
  systemd-timesyncd
The following NEW packages will be installed:
  chrony
0 upgraded, 1 newly installed, 1 to remove and 0 not upgraded.
Remv systemd-timesyncd [252.39-1~deb12u2]
Inst chrony (4.3-2+deb12u3 Debian:12.15/oldstable [amd64])
Conf chrony (4.3-2+deb12u3 Debian:12.15/oldstable [amd64])
"""
# ... with libraries to add, an epoch, an upgrade, a foreign architecture and two archives on one line
WITH_DEPENDENCIES = """Remv ntpsec [1.2.2+dfsg1-1+deb12u1]
Remv openntpd:amd64 [1:6.8p1-4]
Inst libedit2 [3.1-20221030-1] (3.1-20221030-2 Debian:12.15/oldstable [amd64])
Inst libcap2:i386 (1:2.66-4+deb12u1 Debian:12.15/oldstable, Debian-Security:12/stable-security [i386])
Inst chrony (4.3-2+deb12u3 Debian:12.15/oldstable, Debian-Security:12/stable-security [amd64])
Conf chrony (4.3-2+deb12u3 Debian:12.15/oldstable [amd64])
"""


def test_reads_what_the_install_adds_and_removes():
    plan = parse_simulation(WITH_TIMESYNCD)
    assert plan["install"] == [{"name": "chrony", "version": "4.3-2+deb12u3", "arch": "amd64",
                                "deb": "chrony_4.3-2+deb12u3_amd64.deb"}]
    assert plan["remove"] == [{"name": "systemd-timesyncd", "version": "252.39-1~deb12u2",
                               "pattern": "systemd-timesyncd_252.39-1~deb12u2_*.deb",
                               "spec": "systemd-timesyncd=252.39-1~deb12u2"}]


def test_dependencies_epochs_upgrades_and_foreign_architectures():
    plan = parse_simulation(WITH_DEPENDENCIES)
    assert [i["deb"] for i in plan["install"]] == [
        "libedit2_3.1-20221030-2_amd64.deb", "libcap2_1%3a2.66-4+deb12u1_i386.deb", "chrony_4.3-2+deb12u3_amd64.deb"]
    assert [r["pattern"] for r in plan["remove"]] == ["ntpsec_1.2.2+dfsg1-1+deb12u1_*.deb", "openntpd_1%3a6.8p1-4_*.deb"]
    assert [r["spec"] for r in plan["remove"]] == ["ntpsec=1.2.2+dfsg1-1+deb12u1", "openntpd=1:6.8p1-4"]


@pytest.mark.parametrize("text, needle", [
    ("E: Unable to locate package chrony\n", "Unable to locate package chrony"),
    ("Reading package lists...\nInst chronyc (1 Debian [amd64])\n", "does not install chrony"),
    ("", "no output"),
    (None, "no text"),
    ("x" * (MAX_OUTPUT + 1), "more than"),
])
def test_refuses_an_answer_without_chrony(text, needle):
    with pytest.raises(SwapCheckError, match=needle):
        parse_simulation(text)


def test_filter_names_the_problem():
    with pytest.raises(AnsibleFilterError, match="does not install chrony"):
        chrony_swap_plan("Inst ntp (1 Debian [amd64])\n")
    assert chrony_swap_plan(WITH_TIMESYNCD)["install"][0]["name"] == "chrony"


def test_a_hostile_name_cannot_become_a_path_or_an_option():
    # names and versions outside Debian's character set are not read at all: no '/', space or '..' reaches a path
    text = ("Remv ../../etc/passwd [1]\nRemv evil [1 --force-all]\nInst chrony/../x (1 D [amd64])\n"
            "Inst chrony (4.3-2\x1b[31m D [amd64])\nInst chrony (4.3-2 Debian:12 [amd64])\n")
    plan = parse_simulation(text)
    assert plan["remove"] == []
    assert [i["deb"] for i in plan["install"]] == ["chrony_4.3-2_amd64.deb"]


def test_unkept_and_kept():
    remove = parse_simulation(WITH_DEPENDENCIES)["remove"]
    files = [{"path": "/var/lib/fleetclock/replaced-packages/ntpsec_1.2.2+dfsg1-1+deb12u1_amd64.deb", "mtime": 5}]
    assert [r["name"] for r in unkept(remove, files)] == ["openntpd"]
    assert chrony_swap_unkept(remove, []) == remove
    older = {"path": "/k/ntpsec_1.2.1_amd64.deb", "mtime": 1}
    newer = {"path": "/k/ntpsec_1.2.2_amd64.deb", "mtime": 9}
    other = {"path": "/k/ntpsec-ntpdate_1.2.2_amd64.deb", "mtime": 99}
    assert kept_debs([older, newer, other], ["ntpsec", "openntpd"]) == ["/k/ntpsec_1.2.2_amd64.deb"]
    assert chrony_kept_debs([other], ["ntpsec"]) == []


def test_library_dirs():
    files = [{"path": "/t/root/usr/lib/x86_64-linux-gnu/libedit.so.2"}, {"path": "/t/root/usr/lib/x86_64-linux-gnu/a.so"},
             {"path": "/t/root/lib/b.so"}, "junk", {}]
    assert chrony_library_dirs(files) == "/t/root/usr/lib/x86_64-linux-gnu:/t/root/lib"
    assert chrony_library_dirs([]) == ""


_VERSION = st.from_regex(r"\A[0-9]{1,2}(:[0-9])?[a-z0-9.+~-]{0,12}\Z")


@given(st.lists(st.tuples(st.from_regex(r"\A[a-z0-9][a-z0-9+.-]{0,20}\Z"), _VERSION), max_size=5), _VERSION)
def test_every_listed_package_is_read_back(removed, version):
    text = "".join("Remv %s [%s]\n" % item for item in removed) + "Inst chrony (%s Debian [amd64])\n" % version
    plan = parse_simulation(text)
    assert [(r["name"], r["version"]) for r in plan["remove"]] == removed
    assert plan["install"][0]["deb"] == deb_file({"name": "chrony", "version": version, "arch": "amd64"})
    assert ":" not in plan["install"][0]["deb"]


@given(st.text(max_size=300))
def test_any_text_is_read_or_refused_never_crashes(text):
    try:
        plan = parse_simulation(text + "\nInst chrony (1 D [amd64])\n")
    except SwapCheckError:
        return
    for item in plan["install"] + plan["remove"]:
        assert "/" not in item["name"] and " " not in item["version"]
