"""Tests for plugins/module_utils/timedaemons.py on real daemon outputs (tests/unit/fixtures/timedaemons)."""
import math
import os

import pytest
from conftest import safety_timeout
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.fleetclock.timesync.plugins.module_utils import timedaemons as td
from ansible_collections.fleetclock.timesync.plugins.module_utils.chronyc import STATES

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "timedaemons")


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return handle.read()


def test_timesyncd_synchronised():
    got = td.parse_timesyncd(fixture("timesyncd_show_synced.txt"), fixture("timesyncd_status_synced.txt"), True)
    assert got["daemon"] == "systemd-timesyncd" and got["state"] == "synchronised" and got["error"] is None
    assert got["reference"] == "172.18.0.2" and got["stratum"] == 8
    assert got["offset"] == pytest.approx(15e-6)
    # |offset| + root delay / 2 (0) + root dispersion (0) + delay / 2 (136us / 2)
    assert got["error_bound"] == pytest.approx(15e-6 + 136e-6 / 2)


def test_timesyncd_without_status_has_no_error_estimate():
    got = td.parse_timesyncd(fixture("timesyncd_show_synced.txt"), None, True)
    assert got["state"] == "synchronised" and got["offset"] is None and got["error_bound"] is None


def test_timesyncd_unreachable_server():
    got = td.parse_timesyncd(fixture("timesyncd_show_unreachable.txt"), fixture("timesyncd_status_unreachable.txt"),
                             False)
    assert got["state"] == "unsynchronised" and got["reference"] == "192.0.2.1"
    assert "no answer from 192.0.2.1" in got["error"]


def test_timesyncd_answer_but_no_flag_is_unsynchronised():
    got = td.parse_timesyncd(fixture("timesyncd_show_synced.txt"), fixture("timesyncd_status_synced.txt"), False)
    assert got["state"] == "unsynchronised" and "synchronized is absent" in got["error"]


@pytest.mark.parametrize("flag, state", [(True, "synchronised"), (False, "unsynchronised"), (None, "unknown")])
def test_timesyncd_without_timedatectl_degrades_to_the_flag(flag, state):
    got = td.parse_timesyncd(None, None, flag)
    assert got["state"] == state
    assert got["reference"] is None
    if flag is not True:
        assert "dbus" in got["error"]


def test_ntpsec_synchronised():
    got = td.parse_ntpd(fixture("ntpsec_rv_synced.txt"), fixture("ntpsec_peers_synced.txt"))
    assert got["daemon"] == "ntpsec" and got["state"] == "synchronised"
    assert got["reference"] == "172.18.0.2" and got["stratum"] == 9
    assert got["offset"] == pytest.approx(-0.00871e-3)
    assert got["error_bound"] == pytest.approx(0.00871e-3 + 188.284e-3 + 0.08e-3 / 2)


def test_ntpsec_unreachable():
    got = td.parse_ntpd(fixture("ntpsec_rv_unreachable.txt"), fixture("ntpsec_peers_unreachable.txt"))
    assert got["state"] == "unsynchronised" and got["stratum"] == 16
    assert "leap=11" in got["error"] and got["reference"] is None


def test_classic_ntpd_synchronised():
    """ntp 4.2.8p15 (Debian 11's package): named ntpd, not ntpsec; its "+" signed offsets read."""
    got = td.parse_ntpd(fixture("ntpd_rv_synced.txt"), fixture("ntpd_peers_synced.txt"))
    assert (got["daemon"], got["state"], got["reference"], got["stratum"]) == ("ntpd", "synchronised", "172.23.0.2", 9)
    assert got["offset"] == pytest.approx(0.030275e-3)
    # |offset| + rootdisp + rootdelay / 2 (ms)
    assert got["error_bound"] == pytest.approx((0.030275 + 62.638 + 0.108 / 2) / 1000)


def test_classic_ntpd_peers():
    peers = td.parse_ntpq_peers(fixture("ntpd_peers_synced.txt"))
    assert [(p["tally"], p["remote"], p["refid"], p["stratum"]) for p in peers] == [
        ("", "192.0.2.1", ".INIT.", 16), ("*", "172.23.0.2", "LOCAL(1)", 8)]
    assert peers[1]["offset"] == pytest.approx(0.020e-3) and peers[1]["delay"] == pytest.approx(0.108e-3)


def test_classic_ntpd_unreachable():
    got = td.parse_ntpd(fixture("ntpd_rv_unreachable.txt"), fixture("ntpd_peers_unreachable.txt"))
    assert (got["daemon"], got["state"], got["stratum"]) == ("ntpd", "unsynchronised", 16)
    assert "leap=11" in got["error"] and "refid=INIT" in got["error"]
    # INIT is a kiss code, not a reference (the report showed "ntpd unsynchronised INIT" as if INIT were a server)
    assert got["reference"] is None
    assert "no reference yet, ntpd has not synchronised since it started" in got["error"]


def test_classic_ntpd_not_running():
    got = td.parse_ntpd(fixture("ntpd_not_running.txt"))
    assert got["state"] == "not_running" and "Connection refused" in got["error"]


def test_classic_ntpd_probe_output():
    host = td.host_daemon(CHRONY_MISSING, td.parse_daemons_probe(fixture("probe_ntpd_synced.txt")), _ref)
    assert (host["daemon"], host["state"], host["reference"], host["active"]) == (
        "ntpd", "synchronised", "172.23.0.2", ["ntpd"])
    assert host["kernel"] == {"state": "unsynchronised", "source": "ntptime", "container": True}


@pytest.mark.parametrize("name, synced", [
    ("timedatectl_status_systemd219_synced.txt", True), ("timedatectl_status_systemd229_unsynced.txt", False),
    ("timesyncd_status_synced.txt", None),  # timesync-status has no synchronized line
])
def test_timedatectl_status(name, synced):
    assert td.parse_timedatectl_status(fixture(name)) is synced


@pytest.mark.parametrize("name, flag, state", [
    ("timedatectl_status_systemd219_synced.txt", False, "synchronised"),  # < 239 writes no flag file
    ("timedatectl_status_systemd229_unsynced.txt", False, "unsynchronised"),
    ("timedatectl_status_systemd229_unsynced.txt", True, "synchronised"),
])
def test_timesyncd_before_systemd_239_falls_back_to_timedatectl_status(name, flag, state):
    got = td.parse_timesyncd(None, None, flag, fixture(name))
    assert (got["daemon"], got["state"], got["reference"], got["offset"]) == ("systemd-timesyncd", state, None, None)
    assert "older than 239" in got["error"] and "kernel" in got["error"]


def test_timesyncd_legacy_status_without_its_line_keeps_the_flag():
    got = td.parse_timesyncd(None, None, True, "garbage\n")
    assert got["state"] == "synchronised" and "dbus" not in (got["error"] or "")
    assert td.parse_timesyncd(None, None, None, "garbage\n")["state"] == "unknown"


def test_kernel_verdict_from_timedatectl_status():
    assert td.parse_kernel(None, None, fixture("timedatectl_status_systemd219_synced.txt")) == (
        "synchronised", "timedatectl status")
    assert td.parse_kernel("Unknown operation show.\n", fixture("ntptime_unsync.txt"),
                           fixture("timedatectl_status_systemd229_unsynced.txt")) == (
        "unsynchronised", "timedatectl status")


def test_ntpsec_not_running():
    got = td.parse_ntpd(fixture("ntpsec_not_running.txt"))
    assert got["state"] == "not_running" and "Socket error" in got["error"]


def test_ntpq_peers():
    (peer,) = td.parse_ntpq_peers(fixture("ntpsec_peers_synced.txt"))
    assert peer == {"tally": "*", "remote": "172.18.0.2", "refid": "127.127.1.1", "stratum": 8,
                    "delay": pytest.approx(0.0801e-3), "offset": pytest.approx(0.0225e-3),
                    "jitter": pytest.approx(0.038e-3)}


def test_ntpd_local_clock():
    rv = fixture("ntpsec_rv_synced.txt").replace("refid=172.18.0.2", "refid=LOCL")
    assert td.parse_ntpd(rv)["state"] == "local"


def test_openntpd_peer_valid_but_clock_unsynced():
    got = td.parse_openntpd(fixture("openntpd_status_peer_valid_unsynced.txt"), fixture("openntpd_peers_valid.txt"))
    assert got["daemon"] == "openntpd" and got["state"] == "unsynchronised"
    assert "clock unsynced" in got["error"]


def test_openntpd_peers():
    (peer,) = td.parse_ntpctl_peers(fixture("openntpd_peers_valid.txt"))
    assert peer["address"] == "172.18.0.2" and peer["stratum"] == 8 and not peer["selected"]
    assert peer["offset"] == pytest.approx(0.033e-3) and peer["delay"] > 0


def test_openntpd_not_running():
    got = td.parse_openntpd(fixture("openntpd_not_running.txt"))
    assert got["state"] == "not_running" and "Connection refused" in got["error"]


def test_kernel_verdicts():
    assert td.parse_kernel(fixture("timedatectl_ntpsynchronized_no.txt")) == ("unsynchronised", "timedatectl")
    assert td.parse_kernel(None, fixture("ntptime_unsync.txt")) == ("unsynchronised", "ntptime")
    assert td.parse_kernel("NTPSynchronized=yes\n") == ("synchronised", "timedatectl")
    assert td.parse_kernel("garbage", "status 0x2001 (PLL,NANO)") == ("synchronised", "ntptime")
    assert td.parse_kernel(None, None) == ("unknown", None)


@pytest.mark.parametrize("text, seconds", [
    ("0", 0.0), ("+117us", 117e-6), ("-1.5ms", -1.5e-3), ("1min 4s", 64.0), ("34min 8s", 2048.0), ("250ns", 250e-9),
])
def test_timespan(text, seconds):
    assert td.parse_timespan(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "abc", "5 parsecs", "1min x", "nan s", "1e999s"])
def test_timespan_rejects(text):
    with pytest.raises(td.DaemonParseError):
        td.parse_timespan(text)


PARSERS = (
    lambda text: td.parse_timesyncd(text, text, True),
    lambda text: td.parse_timesyncd(text, None, None),
    lambda text: td.parse_timesyncd(None, None, False, text),
    lambda text: td.parse_ntpd(text, text),
    lambda text: td.parse_openntpd(text, text),
)
PIECES = ["ServerName=", "ServerAddress=", "NTPMessage={ ", "Leap=", "Stratum=", "RootDelay=", "}", ", ", "\n",
          "Offset: ", "Delay: ", "+117us", "1min", "leap=", "stratum=", "offset=", "rootdisp=", "refid=", "00", "11",
          "16", "-0.5", "nan", "1e999", "*", "peers valid, clock ", "synced", "unsynced", ", stratum ", "ms", " ",
          "ntpctl: connect: ", "Socket error", "NTP synchronized: ", "System clock synchronized: ", "yes", "no",
          "Unknown operation", "ntpq: read: Connection refused", "version=\"ntpd 4.2.8p15\"", "+0.030275",
          "\u202e", "\x1b[31m", "\udcff", '"', "version=\"ntpsec\""]


@given(st.text())
@settings(max_examples=300)
def test_arbitrary_text_is_a_view_never_an_exception(text):
    for parse in PARSERS:
        got = parse(text)
        assert set(got) == set(td.VIEW_KEYS)
        assert got["state"] in STATES
    assert td.parse_kernel(text, text)[0] in td.KERNEL_STATES
    assert td.parse_kernel(None, None, text)[0] in td.KERNEL_STATES
    try:
        assert td.parse_timedatectl_status(text) in (True, False, None)
    except td.DaemonParseError as exc:
        assert str(exc)


@given(st.lists(st.sampled_from(PIECES), max_size=60).map("".join))
@settings(max_examples=500)
def test_garbled_daemon_output_is_a_view_with_safe_text(text):
    for parse in PARSERS:
        got = parse(text)
        assert got["state"] in STATES
        for value in got.values():
            if isinstance(value, str):
                assert "\x1b" not in value and "\u202e" not in value and "\udcff" not in value
            if isinstance(value, float):
                assert math.isfinite(value)
        if got["state"] == "error":
            assert got["error"]


@pytest.mark.parametrize("piece", ["leap=00, " * 30000, "1" * 250000, "ServerName=" + "x " * 120000,
                                   "   1  6  8 " * 20000, "1/1 peers valid, clock " * 10000])
def test_large_output_under_the_cap_is_linear(piece):
    with safety_timeout(30):
        for parse in PARSERS:
            assert parse(piece)["state"] in STATES


def test_output_over_the_cap_is_a_reason():
    flood = "leap=00, stratum=2, " * (2 ** 20 // 10)
    with safety_timeout(30):
        for parse in PARSERS:
            got = parse(flood)
            assert got["state"] == "error" and "KiB" in got["error"]


def _ref(tracking):
    return tracking.get("ref_name") or tracking.get("ref_id")


CHRONY_SYNCED = {"state": "synchronised", "tracking": {"ref_id": "0A000001", "ref_name": "ntp1", "stratum": 2},
                 "sources": [], "offset": 1e-6, "error_bound": 1e-4, "error": None}
CHRONY_MISSING = {"state": "missing", "tracking": None, "sources": [], "offset": None, "error_bound": None,
                  "error": "chronyc is not installed"}


@pytest.mark.parametrize("name, daemon, state, reference", [
    ("probe_timesyncd_synced.txt", "systemd-timesyncd", "synchronised", "172.18.0.2"),
    ("probe_timesyncd_synced_debian13.txt", "systemd-timesyncd", "synchronised", "172.18.0.2"),
    ("probe_ntpsec_synced.txt", "ntpsec", "synchronised", "172.18.0.2"),
    ("probe_openntpd_unsynced.txt", "openntpd", "unsynchronised", None),
    ("probe_openntpd_synced_adjtime_stub.txt", "openntpd", "synchronised", "172.18.0.2"),
])
def test_real_probe_output_in_a_container(name, daemon, state, reference):
    probe = td.parse_daemons_probe(fixture(name))
    host = td.host_daemon(CHRONY_MISSING, probe, _ref)
    assert (host["daemon"], host["state"], host["reference"]) == (daemon, state, reference)
    assert host["active"] == [daemon]  # ntpsec's process is named ntpd: active names it as its view does
    assert host["kernel"] == {"state": "unsynchronised", "source": "timedatectl", "container": True}
    if state == "synchronised":  # the daemon's claim against the (host's) kernel: flagged, attributed to the host
        (warning,) = host["warnings"]
        assert "kernel" in warning and "container" in warning and "host's kernel" in warning
        assert td.warning_severity(True, warning) == "info"  # the container host's kernel: nothing to fix here
        assert td.warning_severity(False, warning) == "warning"  # a host's own kernel disagreeing: a warning
    else:
        assert host["warnings"] == []


def test_chrony_server_probe_keeps_chronys_view():
    host = td.host_daemon(CHRONY_SYNCED, td.parse_daemons_probe(fixture("probe_chrony_server.txt")), _ref)
    assert (host["daemon"], host["state"], host["reference"], host["stratum"]) == ("chrony", "synchronised", "ntp1", 2)
    assert host["active"] == ["chrony"]


def test_no_daemon_is_missing_with_a_reason():
    probe = td.parse_daemons_probe("@@fleetclock-daemon@@ active\n@@fleetclock-daemon@@ container no\n")
    host = td.host_daemon(CHRONY_MISSING, probe, _ref)
    assert host["state"] == "missing" and "no time daemon runs" in host["error"]
    assert host["kernel"]["state"] == "unknown"


def test_two_daemons_are_a_warning_naming_them():
    text = fixture("probe_timesyncd_synced.txt").replace("active systemd-timesyncd", "active chrony systemd-timesyncd")
    host = td.host_daemon(CHRONY_SYNCED, td.parse_daemons_probe(text), _ref)
    assert host["daemon"] == "chrony" and host["active"] == ["chrony", "systemd-timesyncd"]
    assert any("several time daemons" in w and "chrony, systemd-timesyncd" in w for w in host["warnings"])


def test_older_probe_without_daemon_markers_is_chrony_alone():
    assert td.parse_daemons_probe("@@fleetclock-chrony@@ missing\n") is None
    host = td.host_daemon(CHRONY_SYNCED, None, _ref)
    assert host["daemon"] == "chrony" and host["active"] is None and host["warnings"] == []


def test_openntpd_synced_with_adjtime_stubbed():
    """Real openntpd output once adjtime() succeeds (an LD_PRELOAD stub in the container: see the fixtures' README)."""
    got = td.parse_openntpd(fixture("openntpd_status_synced_adjtime_stub.txt"),
                            fixture("openntpd_peers_synced_adjtime_stub.txt"))
    assert got["state"] == "synchronised" and got["stratum"] == 9 and got["reference"] == "172.18.0.2"
    assert got["offset"] == pytest.approx(0.006e-3) and got["error_bound"] == pytest.approx(0.006e-3 + 0.087e-3 / 2)


@given(st.lists(st.sampled_from(PIECES + [
    "@@fleetclock-daemon@@ active chrony ntpd openntpd systemd-timesyncd\n", "@@fleetclock-daemon@@ rc 0\n",
    "@@fleetclock-daemon@@ ntpq_rv\n", "@@fleetclock-daemon@@ timesyncd_show\n", "@@fleetclock-daemon@@ flag yes\n",
    "@@fleetclock-daemon@@ ntpctl_status\n", "@@fleetclock-daemon@@ kernel_timedatectl\n", "NTPSynchronized=yes\n",
    "@@fleetclock-daemon@@ container yes\n", "@@fleetclock-daemon@@ rc x\n", "@@fleetclock-daemon@@ timesyncd_legacy\n",
    "@@fleetclock-daemon@@ kernel_timedatectl_status\n", "@@fleetclock-daemon@@ kernel_ntptime\n"]),
    max_size=40).map("".join))
@settings(max_examples=400)
def test_garbled_probe_output_never_raises(text):
    probe = td.parse_daemons_probe(text)
    for chrony in (CHRONY_SYNCED, CHRONY_MISSING, None):
        host = td.host_daemon(chrony, probe, _ref)
        assert host["state"] in STATES


def test_probe_command_runs_here_and_parses():
    """The real command on this machine (no daemon of its own: another namespace's daemons must not count)."""
    import subprocess
    proc = subprocess.run(["/bin/sh", "-c", td.daemons_probe_command()], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, timeout=60, check=False)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    probe = td.parse_daemons_probe(proc.stdout)
    assert probe is not None and isinstance(probe["active"], list), proc.stdout
    assert set(probe["active"]) <= set(td.DAEMONS)
    assert probe["kernel"]["state"] in td.KERNEL_STATES


LEGACY_TIMEDATECTL = """#!/bin/sh
# timedatectl as systemd 219 answers: no show, show-timesync or timesync-status
case "$1" in
status) cat '%s';;
*) echo "Unknown operation $1." >&2; exit 1;;
esac
"""


def test_legacy_systemd_probe_runs_here(tmp_path):
    """The probe's systemd < 239 path for real: a process named systemd-timesyncd (a copy of sleep: its comm is
    "systemd-timesyn") and a timedatectl answering as systemd 219 does, first on PATH."""
    import shutil
    import subprocess
    sleeper = tmp_path / "systemd-timesyncd"
    shutil.copy(shutil.which("sleep"), str(sleeper))
    tool = tmp_path / "timedatectl"
    tool.write_text(LEGACY_TIMEDATECTL % os.path.join(FIXTURES, "timedatectl_status_systemd219_synced.txt"))
    tool.chmod(0o755)
    daemon = subprocess.Popen([str(sleeper), "60"])
    try:
        proc = subprocess.run(["/bin/sh", "-c", 'PATH="%s:$PATH"; %s' % (tmp_path, td.daemons_probe_command())],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=60,
                              check=False)
    finally:
        daemon.kill()
        daemon.wait()
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert "@@fleetclock-daemon@@ timesyncd_legacy" in proc.stdout and "timesyncd_status" not in proc.stdout
    probe = td.parse_daemons_probe(proc.stdout)
    assert "systemd-timesyncd" in probe["active"], proc.stdout
    got = probe["views"]["systemd-timesyncd"]
    assert got["state"] == "synchronised" and "older than 239" in got["error"], got
    if "kernel_timedatectl" in proc.stdout:  # where systemd is the init: show failed, status read once
        assert probe["kernel"]["source"] == "timedatectl status", proc.stdout
        assert "kernel_timedatectl_status" not in proc.stdout
