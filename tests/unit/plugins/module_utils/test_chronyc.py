"""Tests for plugins/module_utils/chronyc.py on real chronyc 4.3 outputs (tests/unit/fixtures/chronyc)."""
import os
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.fleetclock.timesync.plugins.module_utils.chronyc import (
    MARK,
    TRACKING_FIELDS,
    ChronycParseError,
    chrony_error_bound,
    chrony_probe_command,
    classify,
    parse_chrony_probe,
    parse_sources,
    parse_tracking,
)

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "chronyc")
CONTRACT_KEYS = {"state", "tracking", "sources", "offset", "error_bound", "error", "nts"}


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return handle.read()


@pytest.mark.parametrize("name, state", [
    ("local_server", "local"),
    ("synced_client", "synchronised"),
    ("faketime_plus120_makestep", "synchronised"),
    ("faketime_plus120_slew", "synchronised"),
    ("unsynchronised", "unsynchronised"),
])
def test_tracking_fixtures(name, state):
    tracking = parse_tracking(fixture("tracking_%s.csv" % name))
    assert set(tracking) == set(TRACKING_FIELDS)
    assert classify(tracking) == state


def test_tracking_values_local_server():
    tracking = parse_tracking(fixture("tracking_local_server.csv"))
    assert tracking["ref_id"] == "7F7F0101"
    assert tracking["ref_name"] is None
    assert tracking["stratum"] == 8
    assert tracking["leap_status"] == "Normal"
    assert chrony_error_bound(tracking) == 0.0


def test_tracking_values_synced_client():
    tracking = parse_tracking(fixture("tracking_synced_client.csv"))
    assert tracking["ref_id"] == "7F000001"
    assert tracking["ref_name"] == "127.0.0.1"
    assert tracking["stratum"] == 9
    assert tracking["system_time"] == pytest.approx(-5.29e-07)
    assert tracking["root_delay"] == pytest.approx(2.236e-06)
    assert tracking["frequency_ppm"] == pytest.approx(-0.001)
    assert tracking["update_interval"] == pytest.approx(4.1)
    assert chrony_error_bound(tracking) == pytest.approx(5.29e-07 + 2.196e-06 + 0.5 * 2.236e-06)


def test_tracking_unsynchronised():
    tracking = parse_tracking(fixture("tracking_unsynchronised.csv"))
    assert tracking["ref_id"] == "00000000"
    assert tracking["leap_status"] == "Not synchronised"
    assert tracking["root_dispersion"] == 1.0


def test_sources_fixtures():
    assert parse_sources(fixture("sources_local_server.csv")) == []
    (source,) = parse_sources(fixture("sources_synced_client.csv"))
    assert source == {
        "mode": "^", "mode_name": "server", "state": "*", "state_name": "selected",
        "name": "127.0.0.1", "stratum": 8, "poll": 0, "reach": 255, "last_rx": 1,
        "adjusted_offset": pytest.approx(1.613e-06), "measured_offset": pytest.approx(1.794e-06),
        "error": pytest.approx(7.01e-06),
    }
    (never,) = parse_sources(fixture("sources_unsynchronised.csv"))
    assert never["state_name"] == "unusable"
    assert never["reach"] == 0
    assert never["last_rx"] is None


def test_sources_faketime_makestep_shows_the_real_offset():
    (source,) = parse_sources(fixture("sources_faketime_plus120_makestep.csv"))
    assert source["measured_offset"] == pytest.approx(120.0, abs=1e-3)


@pytest.mark.parametrize("name, state, offset", [
    ("local_server", "local", 0.0),
    ("synced_client", "synchronised", pytest.approx(5.3e-07)),
    # chronyd -x with libfaketime +120 s and no makestep: system_time -120 -> host ahead by 120 s
    ("faketime_plus120_slew", "synchronised", pytest.approx(120.0, abs=1e-3)),
    # with makestep, -x only steps chrony's own notion of time: its offset reads ~0
    ("faketime_plus120_makestep", "synchronised", pytest.approx(0.0, abs=1e-6)),
    ("unsynchronised", "unsynchronised", None),
    ("not_running", "not_running", None),
    ("not_running_udp_sink", "not_running", None),
    ("missing", "missing", None),
])
def test_parse_chrony_probe_fixtures(name, state, offset):
    chrony = parse_chrony_probe(fixture("probe_%s.txt" % name), 0)
    assert set(chrony) == CONTRACT_KEYS
    assert chrony["state"] == state
    assert chrony["offset"] == offset
    if state in ("synchronised", "local"):
        assert chrony["error"] is None
        assert chrony["error_bound"] >= abs(chrony["tracking"]["system_time"])
    else:
        assert chrony["error_bound"] is None
    if state in ("not_running", "missing"):
        assert chrony["tracking"] is None and chrony["sources"] == []
        assert chrony["error"]


def test_parse_chrony_probe_garbage():
    assert parse_chrony_probe("", 0)["state"] == "error"
    assert parse_chrony_probe("sh: 1: Syntax error", 2)["error"].startswith("chrony probe command failed (rc=2)")
    bad = "%s tracking\nhello\n%s rc 0\n" % (MARK, MARK)
    chrony = parse_chrony_probe(bad, 0)
    assert chrony["state"] == "error" and "fields" in chrony["error"]
    denied = "%s tracking\n501 Not authorised\n%s rc 1\n" % (MARK, MARK)
    assert parse_chrony_probe(denied, 0)["state"] == "error"
    timed_out = "%s tracking\n%s rc 124\n" % (MARK, MARK)
    assert parse_chrony_probe(timed_out, 0)["state"] == "not_running"
    assert parse_chrony_probe(None, 0)["state"] == "error"


def test_parse_chrony_probe_bad_sources_keeps_tracking():
    text = fixture("probe_synced_client.txt").replace("^,*,127.0.0.1", "^,!,127.0.0.1")
    chrony = parse_chrony_probe(text, 0)
    assert chrony["state"] == "synchronised"
    assert chrony["tracking"]["ref_name"] == "127.0.0.1"
    assert "state" in chrony["error"]


@pytest.mark.parametrize("line", [
    "7F7F0101,,8,1.0,0,0,0,0,0,0,0,0,0",                      # 13 fields
    "7F7F010,,8,1.0,0,0,0,0,0,0,0,0,0,Normal",                # short ref id
    "7F7F0101,,x,1.0,0,0,0,0,0,0,0,0,0,Normal",
    "7F7F0101,,8,nan,0,0,0,0,0,0,0,0,0,Normal",
    "7F7F0101,,8,1e999,0,0,0,0,0,0,0,0,0,Normal",
    "7F7F0101,,8,1.0,0,0,0,0,0,0,0,0,0,Sideways",
    "Reference ID    : 7F7F0101 ()",
])
def test_parse_tracking_rejects(line):
    with pytest.raises(ChronycParseError):
        parse_tracking(line)


def test_parse_tracking_rejects_two_lines():
    line = fixture("tracking_local_server.csv")
    with pytest.raises(ChronycParseError, match="one CSV line"):
        parse_tracking(line + line)


@pytest.mark.parametrize("line", [
    "^,*,127.0.0.1,8,-2,377,0,0.1,0.1",
    "!,*,127.0.0.1,8,-2,377,0,0.1,0.1,0.1",
    "^,*,,8,-2,377,0,0.1,0.1,0.1",
    "^,*,127.0.0.1,8,-2,378,0,0.1,0.1,0.1",
    "^,*,127.0.0.1,8,-2,377,never,0.1,0.1,0.1",
])
def test_parse_sources_rejects(line):
    with pytest.raises(ChronycParseError):
        parse_sources(line)


@given(st.text())
@settings(max_examples=500)
def test_arbitrary_text_only_raises_chronycparseerror(text):
    for parse in (parse_tracking, parse_sources):
        try:
            parse(text)
        except ChronycParseError:
            pass


@given(st.lists(st.sampled_from([
    "7F7F0101", ",", "Normal", "0.5", "-1", "377", "4294967295", "^", "*", "\n", "x", "",
    "%s tracking\n" % MARK, "%s sources\n" % MARK, "%s rc 0\n" % MARK, "%s rc 1\n" % MARK,
    "%s missing\n" % MARK, "506 Cannot talk to daemon\n",
]), max_size=40).map("".join), st.integers(-5, 300))
@settings(max_examples=500)
def test_parse_chrony_probe_never_raises(text, rc):
    chrony = parse_chrony_probe(text, rc)
    assert set(chrony) == CONTRACT_KEYS
    assert chrony["state"] in ("missing", "not_running", "unsynchronised", "local", "synchronised", "error")


@given(st.text())
@settings(max_examples=300)
def test_parse_chrony_probe_never_raises_on_text(text):
    assert set(parse_chrony_probe(text, 0)) == CONTRACT_KEYS


def _run_probe(env_path):
    return subprocess.run(
        ["/bin/sh", "-c", chrony_probe_command()], env={"PATH": env_path},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, timeout=30, check=False,
    )


def test_probe_command_missing_chronyc(tmp_path):
    # a PATH without chronyc (the command appends /usr/sbin:/sbin:/usr/local/sbin itself)
    if any(os.path.exists(os.path.join(d, "chronyc")) for d in ("/usr/sbin", "/sbin", "/usr/local/sbin")):
        pytest.skip("chronyc lives in an sbin directory here")
    proc = _run_probe(str(tmp_path))
    assert proc.returncode == 0
    assert parse_chrony_probe(proc.stdout, proc.returncode)["state"] == "missing"


def test_probe_command_daemon_not_running():
    """Real chronyc on this host, no chronyd running (skip if one is)."""
    if not os.path.exists("/usr/bin/chronyc"):
        pytest.skip("chronyc not installed")
    if os.path.exists("/run/chrony/chronyd.sock"):
        pytest.skip("a chronyd is running here")
    proc = _run_probe("/usr/bin:/bin")
    chrony = parse_chrony_probe(proc.stdout, proc.returncode)
    assert chrony["state"] == "not_running", proc.stdout
    assert "506" in chrony["error"]
