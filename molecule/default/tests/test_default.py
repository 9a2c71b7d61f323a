"""Verify the default scenario: a local-stratum server and clients that sync to it by name."""
import os
import time

import testinfra.utils.ansible_runner

HOSTS = testinfra.utils.ansible_runner.AnsibleRunner(
    os.environ["MOLECULE_INVENTORY_FILE"]).get_hosts("all")
CONF = "/etc/chrony/chrony.conf"
CAP_SYS_TIME = 25
SERVER_STRATUM = 8


def tracking(host):
    out = host.check_output("chronyc -n -c tracking")
    fields = out.strip().split(",")
    assert len(fields) == 14, out
    return {"ref_id": fields[0], "ref_name": fields[1], "stratum": int(fields[2]),
            "leap": fields[13]}


def is_server(host):
    return host.backend.get_hostname() == "fc-default-server"


def test_chrony_installed_and_conflicts_gone(host):
    assert host.package("chrony").is_installed
    assert not host.service("systemd-timesyncd").is_running


def test_config_is_valid_and_backed_up(host):
    conf = host.file(CONF)
    assert conf.exists and conf.user == "root" and conf.mode == 0o644
    assert host.run("chronyd -p -f %s", CONF).rc == 0
    # the package's own file was kept as a backup when ours replaced it
    backups = host.check_output("ls /etc/chrony/ | grep -c '^chrony.conf\\..*~$' || true")
    assert int(backups) >= 1
    text = conf.content_string
    assert "\npool " not in text and not text.startswith("pool ")
    assert "bindcmdaddress 127.0.0.1" in text


def test_server_and_client_lines(host):
    text = host.file(CONF).content_string
    if is_server(host):
        assert "local stratum 8" in text
        net = host.ansible("setup", "filter=ansible_eth0")["ansible_facts"]["ansible_eth0"]["ipv4"]
        assert "allow %s/%s" % (net["network"], net["prefix"]) in text
        assert "\nserver " not in text
    else:
        assert "server fc-default-server iburst minpoll -2 maxpoll 2" in text
        assert not [ln for ln in text.splitlines() if ln.startswith("allow")]  # serves nobody


def test_runs_without_clock_control(host):
    assert host.service("chrony").is_running
    cmdline = host.check_output("tr '\\0' ' ' < /proc/$(pidof chronyd | cut -d' ' -f1)/cmdline")
    assert " -x" in cmdline
    dropin = host.file("/etc/systemd/system/chrony.service.d/fleetclock-container.conf")
    assert dropin.exists and "ConditionCapability=" in dropin.content_string


def test_container_has_no_sys_time(host):
    for line in host.file("/proc/1/status").content_string.splitlines():
        if line.startswith(("CapEff:", "CapBnd:")):
            assert not (int(line.split()[1], 16) >> CAP_SYS_TIME) & 1, line


def test_sync_state(host):
    if is_server(host):
        t = tracking(host)
        assert t["ref_id"] == "7F7F0101" and t["stratum"] == SERVER_STRATUM
        return
    deadline = time.time() + 60
    while True:
        t = tracking(host)
        if t["leap"] == "Normal" and t["ref_id"] not in ("7F7F0101", "00000000"):
            break
        assert time.time() < deadline, "client never synced: %s" % t
        time.sleep(2)
    assert t["stratum"] == SERVER_STRATUM + 1
    server_ip = host.check_output("getent hosts fc-default-server").split()[0]
    assert t["ref_name"] == server_ip, t
