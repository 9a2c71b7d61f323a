"""The role on every host of the site (first in file order, before test_airgap.py stops a master): chrony
installed and conflicting daemons gone, the file valid and the package's own kept as a backup, chronyd running
under `-x` with the container drop-in, and no container holding CAP_SYS_TIME. (This was the `default`
scenario's verifier; the air-gap fleet covers it, a Debian 12 and a Debian 13 host included.)"""
CONF = "/etc/chrony/chrony.conf"
CAP_SYS_TIME = 25


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
