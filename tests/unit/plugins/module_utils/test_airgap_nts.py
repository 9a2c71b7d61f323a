"""Unit tests for NTS in module_utils/airgap.py (chrony_airgap_nts): the plan, its checks, the certificate names."""
import datetime

import pytest

from ansible_collections.fleetclock.timesync.plugins.module_utils.airgap import (
    apply_plan,
    build_plan,
    nts_cert_errors,
)
from ansible_collections.fleetclock.timesync.plugins.module_utils.chrony_render import RenderError, render_config

NET = "10.1.0.0/24"
DIR = "/etc/chrony/nts"


def site(nts_masters=True, certs=True):
    records = {}
    for index, name in enumerate(("m1", "m2")):
        records[name] = {"address": "10.1.0.1%d" % index, "client_networks": [NET], "nts": nts_masters,
                         "nts_cert": "/ctl/%s.crt" % name if certs else None}
    records["c1"] = {"address": "10.1.0.20", "nts": True}
    return records, {"all": sorted(records), "time_masters": ["m1", "m2"]}


def nts(**overrides):
    value = {"enabled": True, "cert": None, "key": None, "trusted_certs": None, "nocerttimecheck": None, "dir": DIR}
    value.update(overrides)
    return value


def master_nts(**overrides):
    value = {"cert": "/ctl/m1.crt", "key": "/ctl/m1.key"}
    value.update(overrides)
    return nts(**value)


def test_a_master_serves_nts_and_polls_the_other_master_with_nts():
    records, groups = site()
    plan = build_plan("m1", records, groups, nts=master_nts())
    assert plan["errors"] == []
    assert plan["sources"] == [{"hostname": "10.1.0.11", "iburst": True, "nts": True}]
    assert plan["nts"]["serve"] is True
    assert plan["nts"]["directives"] == {"ntsservercert": DIR + "/server.crt", "ntsserverkey": DIR + "/server.key",
                                         "ntstrustedcerts": DIR + "/trusted.crt"}
    key = [f for f in plan["nts"]["files"] if f["secret"]]
    assert key == [{"dest": DIR + "/server.key", "sources": ["/ctl/m1.key"], "secret": True, "mode": "0640"}]
    trusted = [f for f in plan["nts"]["files"] if f["dest"].endswith("trusted.crt")][0]
    assert trusted["sources"] == ["/ctl/m2.crt"] and trusted["mode"] == "0644"
    assert plan["nts"]["controller_files"] == ["/ctl/m1.crt", "/ctl/m1.key", "/ctl/m2.crt"]


def test_a_client_trusts_every_master_and_renders_the_lines():
    records, groups = site()
    plan = build_plan("c1", records, groups, nts=nts(nocerttimecheck=2))
    assert plan["errors"] == [] and plan["nts"]["serve"] is False
    assert plan["nts"]["files"] == [{"dest": DIR + "/trusted.crt", "sources": ["/ctl/m1.crt", "/ctl/m2.crt"],
                                     "secret": False, "mode": "0644"}]
    effective = apply_plan({}, plan)
    lines = render_config({"cloud": "none", "origin": "airgap", "driftfile": "/var/lib/chrony/drift",
                           "makestep": {"threshold": 1, "limit": 3}, "sources": effective["chrony_sources"],
                           "nts": effective["chrony_nts"], "version": "4.3"})
    assert "server 10.1.0.10 iburst nts" in lines and "server 10.1.0.11 iburst nts" in lines
    assert "ntstrustedcerts /etc/chrony/nts/trusted.crt" in lines and "nocerttimecheck 2" in lines
    assert not any(line.startswith(("ntsservercert", "ntsserverkey")) for line in lines)


def test_an_explicit_trust_replaces_the_masters_certificates():
    records, groups = site(certs=False)
    plan = build_plan("c1", records, groups, nts=nts(trusted_certs="/ctl/site-ca.pem"))
    assert plan["errors"] == []
    assert plan["nts"]["files"][0]["sources"] == ["/ctl/site-ca.pem"]


def test_without_nts_nothing_changes():
    records, groups = site()
    plan = build_plan("c1", records, groups)
    assert plan["nts"]["enabled"] is False and plan["nts"]["files"] == []
    assert all("nts" not in source for source in plan["sources"])
    assert apply_plan({}, plan)["chrony_nts"] == {}


# name -> (host, its nts settings, site overrides, the words the error must hold)
REFUSED = {
    "master_without_cert": ("m1", nts(key="/ctl/m1.key"), {}, ["time master m1", "chrony_airgap_nts_cert"]),
    "master_without_key": ("m1", nts(cert="/ctl/m1.crt"), {}, ["time master m1", "chrony_airgap_nts_key"]),
    "key_with_newline": ("m1", master_nts(key="/ctl/m1.key\nntsserverkey /etc/shadow"), {},
                         ["chrony_airgap_nts_key must be", "newlines"]),
    "cert_empty": ("m1", master_nts(cert=" "), {}, ["chrony_airgap_nts_cert must be"]),
    "trust_with_control": ("c1", nts(trusted_certs="/ctl/ca\x1b.pem"), {}, ["chrony_airgap_nts_trusted_certs must be"]),
    "nts_not_bool": ("c1", nts(enabled="yes"), {}, ["chrony_airgap_nts must be true or false"]),
    "nocerttimecheck_zero": ("c1", nts(nocerttimecheck=0), {}, ["chrony_airgap_nts_nocerttimecheck", ">= 1"]),
    "nocerttimecheck_text": ("c1", nts(nocerttimecheck="3 allow all"), {}, ["chrony_airgap_nts_nocerttimecheck"]),
    "nocerttimecheck_bool": ("c1", nts(nocerttimecheck=True), {}, ["chrony_airgap_nts_nocerttimecheck"]),
    "host_dir_with_space": ("c1", nts(dir="/etc/chrony/my nts"), {}, ["__chrony_nts_dir", "without spaces"]),
    "master_without_nts": ("c1", nts(), {"nts_masters": False}, ["polls time master m1 with NTS", "does not serve"]),
    "no_certificate_to_trust": ("c1", nts(), {"certs": False},
                                ["chrony_airgap_nts_cert is not set on m1, m2", "chrony_airgap_nts_trusted_certs"]),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_refused_naming_the_variable_and_the_fix(case):
    me, settings, overrides, needles = REFUSED[case]
    records, groups = site(**overrides)
    plan = build_plan(me, records, groups, nts=settings)
    assert plan["errors"], case
    assert any(all(needle in error for needle in needles) for error in plan["errors"]), plan["errors"]
    assert plan["nts"]["files"] == [] and plan["nts"]["directives"] == {}


@pytest.mark.parametrize("nts_value, var", [
    ({"ntsservercert": "/etc/chrony/nts/server crt"}, "chrony_airgap_nts_cert"),
    ({"ntsserverkey": "/etc/chrony/nts/k\nallow all"}, "chrony_airgap_nts_key"),
    ({"ntstrustedcerts": "relative.crt"}, "chrony_airgap_nts_trusted_certs"),
    ({"nocerttimecheck": 0}, "chrony_airgap_nts_nocerttimecheck"),
    ({"nocerttimecheck": "1e9"}, "chrony_airgap_nts_nocerttimecheck"),
    ({"ntsdumpdir": "/tmp"}, "chrony_airgap_nts"),
    ("ntsservercert /x", "chrony_airgap_nts"),
])
def test_the_renderer_refuses_on_its_own(nts_value, var):
    with pytest.raises(RenderError, match=var):
        render_config({"cloud": "none", "origin": "x", "driftfile": "/d", "makestep": {"threshold": 1, "limit": 3},
                       "nts": nts_value})


def test_the_renderer_refuses_nts_for_chrony_3_5():
    with pytest.raises(RenderError, match="needs chrony 4.0"):
        render_config({"cloud": "none", "origin": "x", "driftfile": "/d", "makestep": {"threshold": 1, "limit": 3},
                       "nts": {"ntstrustedcerts": "/etc/chrony/nts/trusted.crt"}, "version": "3.5"})


NOW = datetime.datetime(2026, 12, 4, tzinfo=datetime.timezone.utc)
DAY = datetime.timedelta(days=1)


@pytest.mark.parametrize("address, dns, ips, covered", [
    ("10.1.0.10", [], ["10.1.0.10"], True),
    ("10.1.0.10", ["10.1.0.10"], [], False),          # an IP address needs an IP SAN
    ("10.1.0.10", ["m1"], ["10.1.0.11"], False),
    ("m1.example.com", ["M1.Example.com."], [], True),
    ("m1.example.com", ["*.example.com"], [], True),
    ("a.m1.example.com", ["*.example.com"], [], False),  # a wildcard covers one label
    ("example.com", ["*.example.com"], [], False),
    ("m1", ["m1.example.com"], ["10.1.0.10"], False),
    ("2001:db8::10", [], ["2001:db8:0::10"], True),
    ("fc-ag-m1", ["fc-ag-m1"], ["172.18.0.2"], True),
])
def test_certificate_names(address, dns, ips, covered):
    errors, warnings = nts_cert_errors("m1", address, dns, ips, NOW - DAY, NOW + DAY, NOW)
    assert warnings == []
    if covered:
        assert errors == []
    else:
        assert len(errors) == 1 and "does not name" in errors[0] and "chrony_airgap_nts_cert" in errors[0]
        assert ("IP:" if address[0].isdigit() else "DNS:") + address in errors[0]


def test_certificate_validity():
    errors, warnings = nts_cert_errors("m1", "m1", ["m1"], [], NOW - 2 * DAY, NOW - DAY, NOW)
    assert len(errors) == 1 and "expired" in errors[0]
    errors, warnings = nts_cert_errors("m1", "m1", ["m1"], [], NOW + DAY, NOW + 2 * DAY, NOW)
    assert errors == [] and len(warnings) == 1 and "chrony_airgap_nts_nocerttimecheck" in warnings[0]
    errors, _warnings = nts_cert_errors("m1", "m1", [], [], None, None, None)
    assert "subjectAltName is missing" in errors[0]
