"""Air-gapped sites rendered on localhost: a fake inventory of several hosts (all ansible_connection local)
goes through the role's `render` entry point, each host into its own file.

Checks the exact source/allow/local lines, parses every file with the host's real `chronyd -p -f`
(parse and exit: no daemon, no network), and that bad sites fail in the preflight before any file is written.
"""
import json
import os

import pytest
import yaml
from conftest import ROOT, ansible_playbook

from test_role_render import assert_parses  # chronyd -p on a rendered file

PLAYBOOK = os.path.join(ROOT, "tests", "integration", "render", "airgap.yml")

LOCAL = {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"}
# every host's fake facts: an extra variable (an inventory variable named ansible_facts would lose to the facts)
FAKE_FACTS = {"os_family": "Debian", "distribution": "Debian", "distribution_major_version": "12",
              "distribution_version": "12.5", "system_vendor": "QEMU", "product_name": "NA", "product_uuid": "NA",
              "product_serial": "NA", "chassis_asset_tag": "NA"}
NET = "10.20.0.0/24"


def site_inventory(masters=("m1", "m2"), clients=("c1", "c2", "c3"), networks=(NET,), host_vars=None,
                   group_vars=None):
    """One site: masters in time_masters, IPs 10.20.0.1x (masters) and 10.20.0.2x (clients)."""
    hosts = {}
    for index, name in enumerate(masters):
        hosts[name] = {"chrony_airgap_address": "10.20.0.1%d" % index}
    for index, name in enumerate(clients):
        hosts[name] = {"chrony_airgap_address": "10.20.0.2%d" % index}
    for name, extra in (host_vars or {}).items():
        hosts.setdefault(name, {}).update(extra)
    all_vars = dict(LOCAL, chrony_airgap=True, chrony_airgap_client_networks=list(networks))
    all_vars.update(group_vars or {})
    return {"all": {"vars": all_vars, "hosts": hosts,
                    "children": {"time_masters": {"hosts": dict((m, {}) for m in masters)}}}}


class Run:
    def __init__(self, proc, result, outdir):
        self.proc, self.result, self.outdir = proc, result, outdir

    @property
    def ok(self):
        return self.proc.returncode == 0

    def lines(self, host):
        with open(os.path.join(self.outdir, host + ".conf")) as handle:
            return [line for line in handle.read().splitlines() if line and not line.startswith("#")]

    def written(self):
        return sorted(name[:-5] for name in os.listdir(self.outdir) if name.endswith(".conf"))

    def failures(self):
        found = {}
        for play in self.result.get("plays", []):
            for task in play["tasks"]:
                for host, result in task["hosts"].items():
                    if result.get("failed"):
                        msg = result.get("msg")
                        found[host] = "\n".join(msg) if isinstance(msg, list) else str(msg)
        return found

    def messages(self):
        """Every msg of every task result, loop items included."""
        found = []
        for play in self.result.get("plays", []):
            for task in play["tasks"]:
                for result in task["hosts"].values():
                    for item in [result] + list(result.get("results") or []):
                        if isinstance(item, dict) and "msg" in item:
                            found.append(str(item["msg"]))
        return found


def render(tmp_path, inventory, extra_vars=None):
    """Render every host of ``inventory`` (a dict, or the path of an inventory file)."""
    outdir = tmp_path / "out"
    outdir.mkdir()
    if isinstance(inventory, dict):
        inv = tmp_path / "inventory.yml"
        inv.write_text(yaml.safe_dump(inventory))
    else:
        inv = inventory
    env = {"ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.json", "ANSIBLE_LOCALHOST_WARNING": "0",
           "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0"}
    args = [PLAYBOOK, "-i", inv, "-e", "fc_render_dir=%s" % outdir, "-e", json.dumps({"ansible_facts": FAKE_FACTS})]
    if extra_vars:
        args += ["-e", json.dumps(extra_vars)]
    proc = ansible_playbook(*args, env=env, timeout=600)
    try:
        result = json.loads(proc.stdout)
    except ValueError:
        pytest.fail("ansible-playbook output is not JSON:\n%s\n%s" % (proc.stdout[-3000:], proc.stderr[-3000:]))
    return Run(proc, result, str(outdir))


def time_lines(lines):
    return [line for line in lines if line.split()[0] in ("server", "pool", "peer", "refclock")]


def test_two_masters_three_clients(tmp_path):
    run = render(tmp_path, site_inventory(group_vars={"chrony_airgap_source_options": {"minpoll": -2, "maxpoll": 2}}))
    assert run.ok, run.failures() or run.proc.stderr[-2000:]
    assert run.written() == ["c1", "c2", "c3", "m1", "m2"]
    m1 = run.lines("m1")
    assert time_lines(m1) == ["server 10.20.0.11 iburst minpoll -2 maxpoll 2"]
    assert "local stratum 8 orphan" in m1
    assert "allow %s" % NET in m1
    assert not any(line.startswith("minsources") for line in m1)
    assert time_lines(run.lines("m2")) == ["server 10.20.0.10 iburst minpoll -2 maxpoll 2"]
    for client in ("c1", "c2", "c3"):
        lines = run.lines(client)
        assert time_lines(lines) == ["server 10.20.0.10 iburst minpoll -2 maxpoll 2",
                                     "server 10.20.0.11 iburst minpoll -2 maxpoll 2"]
        assert "minsources 1" in lines
        assert "makestep 1.0 3" in lines
        assert not any(line.startswith(("allow", "local")) for line in lines)
    for host in run.written():
        assert_parses(os.path.join(run.outdir, host + ".conf"))


def test_one_master_with_an_upstream_and_a_refclock(tmp_path):
    inventory = site_inventory(masters=("m1",), host_vars={"m1": {
        "chrony_sources": [{"hostname": "dmz-ntp.example.net", "iburst": True}],
        "chrony_refclocks": [{"driver": "SHM", "parameter": 0, "refid": "GPS", "delay": 0.2}]}})
    run = render(tmp_path, inventory)
    assert run.ok, run.failures() or run.proc.stderr[-2000:]
    m1 = run.lines("m1")
    assert time_lines(m1) == ["server dmz-ntp.example.net iburst", "refclock SHM 0 refid GPS delay 0.2"]
    assert "local stratum 8" in m1
    assert time_lines(run.lines("c1")) == ["server 10.20.0.10 iburst"]


def test_several_sites_by_variable(tmp_path):
    inventory = site_inventory(masters=("m1", "m2"), clients=("c1", "c2"), networks=("10.20.0.0/16",), host_vars={
        "m1": {"chrony_airgap_site": "north"}, "c1": {"chrony_airgap_site": "north"},
        "m2": {"chrony_airgap_site": "south"}, "c2": {"chrony_airgap_site": "south"}})
    run = render(tmp_path, inventory)
    assert run.ok, run.failures() or run.proc.stderr[-2000:]
    assert time_lines(run.lines("c1")) == ["server 10.20.0.10 iburst"]
    assert time_lines(run.lines("c2")) == ["server 10.20.0.11 iburst"]
    assert "local stratum 8" in run.lines("m1")   # alone in its site: no orphan
    assert time_lines(run.lines("m1")) == []


# --- bad input: every host of the site fails in the preflight, nothing is written -----------------------

def assert_fails(run, *needles, hosts=("m1", "m2", "c1", "c2", "c3")):
    assert not run.ok
    failures = run.failures()
    for host in hosts:
        assert host in failures, (host, failures)
        for needle in needles:
            assert needle in failures[host], (host, failures[host])
    assert run.written() == []


def test_no_master(tmp_path):
    run = render(tmp_path, site_inventory(masters=()))
    assert_fails(run, "has no time master", "time_masters", hosts=("c1", "c2", "c3"))


def test_master_lists_itself(tmp_path):
    run = render(tmp_path, site_inventory(host_vars={"m1": {"chrony_sources": [{"hostname": "10.20.0.10"}]}}))
    assert_fails(run, "time master m1 lists itself (10.20.0.10)")


def test_master_without_allow(tmp_path):
    run = render(tmp_path, site_inventory(host_vars={"m2": {"chrony_airgap_client_networks": []}}))
    assert_fails(run, "time master m2", "has no chrony_airgap_client_networks")


def test_client_network_does_not_cover_a_client(tmp_path):
    run = render(tmp_path, site_inventory(host_vars={"c3": {"chrony_airgap_address": "10.99.0.5"}}))
    assert_fails(run, "do not cover c3 (10.99.0.5)")


def test_site_name_matches_nothing(tmp_path):
    run = render(tmp_path, site_inventory(host_vars={"c2": {"chrony_airgap_site": "plant-typo"}}))
    assert not run.ok
    assert "matches no inventory group and no other host" in run.failures()["c2"]
    # one bad host stops the whole play (any_errors_fatal) before any file is written
    assert run.written() == []


def test_client_with_its_own_source(tmp_path):
    run = render(tmp_path, site_inventory(host_vars={"c1": {"chrony_sources": [{"hostname": "pool.ntp.org",
                                                                                "pool": True}]}}))
    assert not run.ok
    assert "c1 is a client of air-gapped site 'all' but chrony_sources lists pool.ntp.org" in run.failures()["c1"]


def test_client_with_a_foreign_extra_line(tmp_path):
    run = render(tmp_path, site_inventory(host_vars={"c1": {"chrony_extra_lines": ["pool 2.debian.pool.ntp.org"]}}))
    assert not run.ok
    assert "pool 2.debian.pool.ntp.org" in run.failures()["c1"]
    assert run.written() == []


def test_allow_all_is_a_warning(tmp_path):
    run = render(tmp_path, site_inventory(networks=("all",)))
    assert run.ok, run.failures()
    assert "allow all" in run.lines("m1")
    assert any("serves every network" in message for message in run.messages())


def test_the_documented_example_inventory(tmp_path):
    """inventory/airgap-example.yml (docs/airgap.md) plans as documented: two sites, no cross-site source."""
    run = render(tmp_path, os.path.join(ROOT, "inventory", "airgap-example.yml"), extra_vars=LOCAL)
    assert run.ok, run.failures() or run.proc.stderr[-2000:]
    assert time_lines(run.lines("plant-a-ntp1")) == ["server 10.10.0.12 iburst", "refclock SHM 0 refid GPS delay 0.2"]
    assert time_lines(run.lines("plant-a-ntp2")) == ["server 10.10.0.11 iburst"]
    for name in ("plant-a-ntp1", "plant-a-ntp2"):
        assert "local stratum 8 orphan" in run.lines(name) and "allow 10.10.0.0/16" in run.lines(name)
    assert time_lines(run.lines("plant-a-scada1")) == ["server 10.10.0.11 iburst", "server 10.10.0.12 iburst"]
    assert time_lines(run.lines("plant-b-ntp1")) == ["server ntp.dmz.example.net iburst"]
    assert "local stratum 8" in run.lines("plant-b-ntp1") and "allow 10.20.0.0/24" in run.lines("plant-b-ntp1")
    assert time_lines(run.lines("plant-b-hmi1")) == ["server 10.20.0.11 iburst"]
    for host in run.written():
        assert_parses(os.path.join(run.outdir, host + ".conf"))


def _self_signed(folder, name, san):
    import subprocess
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-days", "2", "-subj", "/CN=" + name, "-addext", "subjectAltName=" + san,
                    "-keyout", str(folder / (name + ".key")), "-out", str(folder / (name + ".crt"))],
                   check=True, capture_output=True)
    return str(folder / (name + ".crt")), str(folder / (name + ".key"))


@pytest.mark.parametrize("san, ok", [("IP:10.20.0.10,DNS:m1.example", True), ("DNS:10.20.0.10", False)])
def test_nts_lines_and_the_certificate_names(tmp_path, san, ok):
    """chrony_airgap_nts with a self-signed certificate: the NTS lines, parsed by chronyd -p; a certificate that
    names the master's IP address only as a DNS name stops the play in the preflight, nothing written."""
    cert, key = _self_signed(tmp_path, "m1", san)
    inventory = site_inventory(masters=("m1",), clients=("c1",), group_vars={"chrony_airgap_nts": True},
                               host_vars={"m1": {"chrony_airgap_nts_cert": cert, "chrony_airgap_nts_key": key}})
    run = render(tmp_path, inventory)
    if not ok:
        assert not run.ok and run.written() == []
        assert any("does not name '10.20.0.10'" in msg and "IP:10.20.0.10" in msg
                   for msg in run.failures().values()), run.failures()
        return
    assert run.ok, run.failures() or run.proc.stderr[-2000:]
    m1, c1 = run.lines("m1"), run.lines("c1")
    assert "ntsservercert /etc/chrony/nts/server.crt" in m1 and "ntsserverkey /etc/chrony/nts/server.key" in m1
    assert not any(line.startswith("ntstrustedcerts") for line in m1)  # a single master polls no master
    assert time_lines(c1) == ["server 10.20.0.10 iburst nts"]
    assert "ntstrustedcerts /etc/chrony/nts/trusted.crt" in c1
    for host in run.written():
        assert_parses(os.path.join(run.outdir, host + ".conf"))
