"""Unit tests for module_utils/airgap.py: the air-gapped site plan and its checks."""
import ipaddress

from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.fleetclock.timesync.plugins.module_utils.airgap import (
    apply_plan,
    build_plan,
    default_minsources,
    foreign_source_lines,
    host_ips,
    network_covers,
    site_members,
)

NET = "10.1.0.0/24"


def site(masters=("m1", "m2"), clients=("c1", "c2", "c3"), networks=(NET,), **overrides):
    records = {}
    for index, name in enumerate(masters):
        records[name] = {"address": "10.1.0.1%d" % index, "client_networks": list(networks)}
    for index, name in enumerate(clients):
        records[name] = {"address": "10.1.0.2%d" % index}
    for name, extra in overrides.items():
        records.setdefault(name, {}).update(extra)
    groups = {"all": sorted(records), "time_masters": list(masters)}
    return records, groups


def plan(me, records, groups, **kwargs):
    return build_plan(me, records, groups, **kwargs)


# --- the plan --------------------------------------------------------------------------------------

def test_two_masters_peer_in_orphan_mode():
    records, groups = site()
    result = plan("m1", records, groups, source_options={"minpoll": -2, "maxpoll": 2})
    assert result["errors"] == [] and result["warnings"] == []
    assert result["role"] == "master"
    assert result["sources"] == [{"hostname": "10.1.0.11", "iburst": True, "minpoll": -2, "maxpoll": 2}]
    assert result["allow"] == [NET]
    assert result["local"] == {"stratum": 8, "orphan": True}
    assert result["minsources"] is None


def test_clients_poll_every_master_and_nothing_else():
    records, groups = site()
    result = plan("c2", records, groups)
    assert result["role"] == "client" and result["errors"] == []
    assert [s["hostname"] for s in result["sources"]] == ["10.1.0.10", "10.1.0.11"]
    assert all(s["iburst"] for s in result["sources"])
    assert result["allow"] == [] and result["local"] == {}
    assert result["minsources"] == 1


def test_one_master_is_not_orphan_and_keeps_its_upstream():
    records, groups = site(masters=("m1",), m1={"sources": [{"hostname": "dmz.example.net", "iburst": True}]})
    result = plan("m1", records, groups, stratum=6)
    assert result["errors"] == []
    assert result["local"] == {"stratum": 6, "orphan": False}
    assert result["sources"] == [{"hostname": "dmz.example.net", "iburst": True}]


def test_rerun_does_not_duplicate_the_peers():
    records, groups = site()
    first = plan("m1", records, groups)
    records["m1"]["sources"] = first["sources"]
    records["c1"]["sources"] = plan("c1", records, groups)["sources"]
    assert plan("m1", records, groups)["sources"] == first["sources"]
    again = plan("c1", records, groups)
    assert again["errors"] == [] and len(again["sources"]) == 2


def test_master_by_flag_and_iburst_can_be_turned_off():
    records, groups = site(masters=(), m9={"address": "10.1.0.99", "master": True, "client_networks": [NET]})
    result = plan("c1", records, groups, source_options={"iburst": False})
    assert result["masters"] == ["m9"]
    assert result["sources"] == [{"hostname": "10.1.0.99", "iburst": False}]


def test_address_defaults_to_the_name():
    records, groups = site()
    del records["m2"]["address"]
    assert [s["hostname"] for s in plan("c1", records, groups)["sources"]] == ["10.1.0.10", "m2"]


def test_minsources():
    assert [default_minsources(n) for n in (1, 2, 3, 5)] == [1, 1, 2, 2]
    records, groups = site(masters=("m1", "m2", "m3"))
    assert plan("c1", records, groups)["minsources"] == 2
    assert plan("c1", records, groups, minsources=3)["minsources"] == 3
    errors = plan("c1", records, groups, minsources=4)["errors"]
    assert "chrony_minsources is 4 but site 'all' has only 3 master(s)" in errors[0]


# --- sites -----------------------------------------------------------------------------------------

def test_sites_by_group_and_by_variable():
    records = {"a-m": {"address": "10.1.0.1", "client_networks": [NET], "site": "a"},
               "a-c": {"address": "10.1.0.2", "site": "a"},
               "b-m": {"address": "10.2.0.1", "client_networks": ["10.2.0.0/24"], "site": "b"},
               "b-c": {"address": "10.2.0.2", "site": "b"}}
    groups = {"all": sorted(records), "time_masters": ["a-m", "b-m"], "a": ["a-m", "a-c"]}
    assert site_members("a", records, groups) == ["a-c", "a-m"]
    assert site_members("b", records, groups) == ["b-c", "b-m"]
    assert [s["hostname"] for s in plan("b-c", records, groups)["sources"]] == ["10.2.0.1"]
    assert plan("a-m", records, groups)["local"] == {"stratum": 8, "orphan": False}


def test_site_name_that_matches_nothing():
    records, groups = site(c3={"site": "typo"})
    errors = plan("c3", records, groups)["errors"]
    assert errors == ["chrony_airgap_site 'typo' of c3 matches no inventory group and no other host; fix the name "
                      "or put the site's hosts in a group of that name"]


def test_host_not_in_its_site_group():
    records, groups = site(c3={"site": "plant"})
    groups["plant"] = ["c1"]
    assert "is not in the inventory group 'plant'" in plan("c3", records, groups)["errors"][0]


# --- bad input -------------------------------------------------------------------------------------

def test_no_master():
    records, groups = site(masters=())
    errors = plan("c1", records, groups)["errors"]
    assert len(errors) == 1
    assert "air-gapped site 'all' has no time master" in errors[0] and "'time_masters'" in errors[0]


def test_master_lists_itself_fails_the_whole_site():
    records, groups = site(m1={"sources": [{"hostname": "10.1.0.10"}]})
    for host in ("m1", "m2", "c1"):
        assert any("time master m1 lists itself (10.1.0.10)" in e for e in plan(host, records, groups)["errors"])


def test_master_lists_itself_as_localhost():
    records, groups = site(m2={"sources": [{"hostname": "127.0.0.1"}]})
    assert any("time master m2 lists itself (127.0.0.1)" in e for e in plan("c1", records, groups)["errors"])


def test_master_networks_that_cannot_be_evaluated_are_a_warning():
    records, groups = site(m2={"client_networks": None})
    result = plan("c1", records, groups)
    assert result["errors"] == []
    assert any("cannot check what time master m2 of site 'all' serves" in w for w in result["warnings"])


def test_master_without_allow():
    records, groups = site(m2={"client_networks": []})
    errors = plan("c1", records, groups)["errors"]
    assert errors == ["time master m2 of site 'all' has no chrony_airgap_client_networks: list the networks of the "
                      "site's clients (CIDRs) it must serve (the role never writes 'allow all' by itself)"]


def test_networks_that_miss_a_client_or_the_other_master():
    records, groups = site(c3={"address": "10.9.0.3"})
    errors = plan("m1", records, groups)["errors"]
    assert any("do not cover c3 (10.9.0.3)" in e and "time master m1" in e for e in errors)
    records, groups = site(m2={"address": "10.9.0.2", "client_networks": ["10.0.0.0/8"]})
    errors = plan("c1", records, groups)["errors"]
    assert any("time master m1 (10.1.0.0/24) do not cover m2 (10.9.0.2)" in e for e in errors)


def test_unknown_client_address_is_a_warning():
    records, groups = site(c3={"address": "c3.example"})
    result = plan("c1", records, groups)
    assert result["errors"] == []
    assert any("no IP address known" in w and "c3" in w for w in result["warnings"])
    records["c3"]["ips"] = ["10.1.0.23"]
    assert plan("c1", records, groups)["warnings"] == []


def test_only_play_hosts_are_checked_as_clients():
    records, groups = site(c3={"address": "10.9.0.3"})
    assert plan("c1", records, groups, play_hosts=["m1", "m2", "c1", "c2"])["errors"] == []


def test_client_with_a_foreign_source():
    records, groups = site(c1={"sources": [{"hostname": "pool.ntp.org", "pool": True}]})
    errors = plan("c1", records, groups)["errors"]
    assert "c1 is a client of air-gapped site 'all' but chrony_sources lists pool.ntp.org" in errors[0]


def test_allow_all_is_a_warning():
    records, groups = site(networks=("all",))
    result = plan("m1", records, groups)
    assert result["errors"] == [] and result["allow"] == ["all"]
    assert any("serves every network" in w for w in result["warnings"])


def test_source_options_cannot_set_the_hostname():
    records, groups = site()
    result = plan("c1", records, groups, source_options={"hostname": "x"})
    assert "must not set hostname" in result["errors"][0]
    assert [s["hostname"] for s in result["sources"]] == ["10.1.0.10", "10.1.0.11"]


# --- helpers ---------------------------------------------------------------------------------------

def test_host_ips_skip_names_loopback_and_duplicates():
    assert host_ips({"address": "m1", "ips": ["127.0.0.1", "10.0.0.1", "10.0.0.1"]}) == [
        ipaddress.ip_address("10.0.0.1")]


@given(st.integers(min_value=0, max_value=2 ** 32 - 1), st.integers(min_value=0, max_value=32))
def test_network_covers_matches_ipaddress(value, prefix):
    address = ipaddress.ip_address(value)
    network = ipaddress.ip_network((value, prefix), strict=False)
    assert network_covers([str(network)], address)
    assert network_covers(["all"], address)
    assert not network_covers(["not-a-network"], address)


def test_foreign_source_lines():
    text = "\n".join(["# server commented", "server m1 iburst", "server m2 iburst minpoll -2",
                      "pool 2.debian.pool.ntp.org iburst", "peer m3", "refclock SHM 0 refid GPS",
                      "sourcedir /run/chrony-dhcp", "allow 10.0.0.0/8", "local stratum 8"])
    assert foreign_source_lines(text, ["m1", "m2"]) == ["pool 2.debian.pool.ntp.org iburst", "peer m3",
                                                        "refclock SHM 0 refid GPS", "sourcedir /run/chrony-dhcp"]
    assert foreign_source_lines(text, ["m1", "m2", "m3", "refclock SHM 0", "2.debian.pool.ntp.org"]) == [
        "sourcedir /run/chrony-dhcp"]
    assert foreign_source_lines("", []) == []


@given(st.text())
def test_foreign_source_lines_never_crashes(text):
    for line in foreign_source_lines(text, ["m1"]):
        assert line.split()[0].lower() in ("server", "pool", "peer", "refclock", "sourcedir", "include", "confdir")


def test_apply_plan_leaves_the_user_settings_alone():
    user = {"chrony_cloud": "auto", "chrony_sources": [{"hostname": "upstream.example.com"}],
            "chrony_allow": ["198.51.100.0/24"], "chrony_local": {}, "chrony_minsources": None,
            "chrony_sources_mode": "append", "chrony_logdir": "/var/log/chrony"}
    before = repr(user)
    master = {"role": "master", "sources": [{"hostname": "upstream.example.com"}, {"hostname": "m2", "iburst": True}],
              "allow": ["192.0.2.0/24", "198.51.100.0/24"], "local": {"stratum": 8, "orphan": True},
              "minsources": None}
    effective = apply_plan(user, master)
    assert repr(user) == before
    assert effective["chrony_cloud"] == "none" and effective["chrony_sources_mode"] == "replace"
    assert effective["chrony_sources"] == master["sources"]
    assert effective["chrony_allow"] == ["192.0.2.0/24", "198.51.100.0/24"]
    assert effective["chrony_local"] == {"stratum": 8, "orphan": True}
    assert effective["chrony_logdir"] == "/var/log/chrony"
    client = {"role": "client", "sources": [{"hostname": "m1"}], "allow": [], "local": {}, "minsources": 1}
    effective = apply_plan(user, client)
    assert effective["chrony_allow"] == ["198.51.100.0/24"] and effective["chrony_minsources"] == 1
    assert apply_plan(user, None) == user
