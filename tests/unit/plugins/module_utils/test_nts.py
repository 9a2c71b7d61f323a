"""NTS in the audit (issue 13): ``chronyc -c authdata`` read in the same command as tracking and sources, from real
chronyc 4.3 output (tests/unit/fixtures/chronyc/README.md, "NTS"): an NTS source without cookies is a warning with
the reason, authdata refused to a non-root user is "no access", never a failure."""

from __future__ import annotations

import os

import pytest
from conftest import synced_probe
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.fleetclock.timesync.plugins.module_utils import fleet
from ansible_collections.fleetclock.timesync.plugins.module_utils.chronyc import (
    MARK,
    NTS_NO_ACCESS,
    ChronycParseError,
    nts_problems,
    nts_result,
    parse_authdata,
    parse_chrony_probe,
)

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "chronyc")
NOW = 1_700_000_000.0


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return handle.read()


def probe_output(authdata, rc=0):
    """The probe command's stdout for a synchronised client (the real tracking and sources fixtures) with an
    authdata section."""
    return "".join((
        "%s tracking\n" % MARK, fixture("tracking_synced_client.csv"), "%s rc 0\n" % MARK,
        "%s sources\n" % MARK, fixture("sources_synced_client.csv"), "%s rc 0\n" % MARK,
        "%s authdata\n" % MARK, authdata, "%s rc %d\n" % (MARK, rc)))


def test_authdata_rows():
    rows = parse_authdata(fixture("authdata_nts_one_failing.txt"))
    assert rows[0] == {"name": "127.0.0.1", "mode": "NTS", "key_id": 1, "key_type": 15, "key_length": 256, "last": 23,
                       "attempts": 0, "naks": 0, "cookies": 8, "cookie_length": 100}
    assert rows[1]["name"] == "127.0.0.2" and rows[1]["last"] is None and rows[1]["cookies"] == 0
    assert rows[1]["attempts"] == 1


def test_probe_reads_nts_and_names_the_failing_source():
    chrony = parse_chrony_probe(probe_output(fixture("authdata_nts_one_failing.txt")), 0)
    assert chrony["state"] == "synchronised" and chrony["error"] is None
    assert chrony["nts"]["access"] == "ok" and [s["name"] for s in chrony["nts"]["sources"]] == ["127.0.0.1", "127.0.0.2"]
    problems = nts_problems(chrony["nts"])
    assert len(problems) == 1
    assert problems[0].startswith("NTS source 127.0.0.2 has no cookies: no key exchange succeeded (1 attempt(s), never)")
    assert "ntstrustedcerts" in problems[0] and "TCP 4460" in problems[0]


def test_an_untrusted_certificate_fails_every_source():
    nts = parse_chrony_probe(probe_output(fixture("authdata_nts_untrusted_cert.txt")), 0)["nts"]
    assert [p.split(" has ")[0] for p in nts_problems(nts)] == ["NTS source 127.0.0.1", "NTS source 127.0.0.2"]


def test_non_root_is_no_access_never_a_failure():
    chrony = parse_chrony_probe(probe_output(fixture("authdata_not_authorised.txt"), rc=1), 0)
    assert chrony["state"] == "synchronised" and chrony["error"] is None
    assert chrony["nts"] == {"access": "no_access", "sources": [], "error": NTS_NO_ACCESS}
    assert nts_problems(chrony["nts"]) == []


def test_sources_without_nts_and_older_probes():
    plain = parse_chrony_probe(probe_output("127.0.0.1,-,0,0,0,0,0,0,0,0\n"), 0)["nts"]
    assert plain == {"access": "ok", "sources": [], "error": None}
    older = parse_chrony_probe(fixture("probe_synced_client.txt"), 0)
    assert older["state"] == "synchronised" and older["nts"] is None and nts_problems(None) == []


@pytest.mark.parametrize("text, rc, needle", [
    ("127.0.0.1,NTS,1\n", 0, "expected 10"),
    ("127.0.0.1,NTS,x,15,256,7,0,0,8,100\n", 0, "authdata key_id is not an integer"),
    ("519 Client logging is not active in the daemon\n", 1, "chronyc authdata failed (rc=1)"),
])
def test_garbled_authdata_is_a_reason_not_a_failure(text, rc, needle):
    chrony = parse_chrony_probe(probe_output(text, rc=rc), 0)
    assert chrony["state"] == "synchronised" and chrony["error"] is None
    assert chrony["nts"]["access"] == "error" and needle in chrony["nts"]["error"]


def test_a_failing_nts_source_makes_the_host_a_warning_with_the_reason():
    result = synced_probe(0.001)
    result["chrony"] = dict(result["chrony"], nts=nts_result(
        {"text": fixture("authdata_nts_one_failing.txt"), "rc": 0}))
    report = fleet.aggregate({"nts-host": result, "plain": synced_probe(0.002)}, controller=synced_probe(0.0), now=NOW)
    hosts = {h["host"]: h for h in report["hosts"]}
    assert hosts["nts-host"]["severity"] == "warning", hosts["nts-host"]
    assert any("NTS source 127.0.0.2 has no cookies" in reason for reason in hosts["nts-host"]["reasons"])
    assert hosts["plain"]["severity"] == "ok"


@given(st.text(max_size=400))
def test_any_authdata_text_is_rows_or_a_parse_error(text):
    try:
        rows = parse_authdata(text)
    except ChronycParseError:
        return
    for row in rows:
        assert isinstance(row["cookies"], int) and "\n" not in row["name"]
