"""Render chrony.conf through the role's `render` entry point with fake facts, on localhost.

Runs the real ansible-playbook (tests/conftest.py: from the checkout with its ansible.cfg, facts not injected as
ansible_* variables; the fake facts are an `ansible_facts` extra variable, which wins over gathered ones),
asserts the exact lines, and parses every rendered file with the host's real `chronyd -p -f`
(parse and exit: no daemon, no network). Bad input must fail in the argument spec or the preflight,
with a message naming the variable, before the file is written.
"""
import json
import os
import subprocess

import pytest
from conftest import ROOT, ansible_playbook

PLAYBOOK = os.path.join(ROOT, "tests", "integration", "render", "render.yml")
CHRONYD = "/usr/sbin/chronyd"

# fake facts, keyed as under ansible_facts (no ansible_ prefix)
NO_DMI = {"system_vendor": "NA", "product_name": "NA", "product_uuid": "NA", "product_serial": "NA",
          "chassis_asset_tag": "NA"}


def os_facts(family, distribution, version):
    return {"os_family": family, "distribution": distribution, "distribution_major_version": version.split(".")[0],
            "distribution_version": version}


OS_FACTS = {
    "debian11": os_facts("Debian", "Debian", "11.11"),
    "debian12": os_facts("Debian", "Debian", "12.5"),
    "debian13": os_facts("Debian", "Debian", "13.2"),
    "ubuntu2004": os_facts("Debian", "Ubuntu", "20.04"),
    "ubuntu2204": os_facts("Debian", "Ubuntu", "22.04"),
    "ubuntu2404": os_facts("Debian", "Ubuntu", "24.04"),
    "rhel8": os_facts("RedHat", "RedHat", "8.10"),
    "rocky8": os_facts("RedHat", "Rocky", "8.10"),
    "almalinux8": os_facts("RedHat", "AlmaLinux", "8.10"),
    "rocky9": os_facts("RedHat", "Rocky", "9.4"),
    "rhel10": os_facts("RedHat", "RedHat", "10.0"),
    "fedora40": os_facts("RedHat", "Fedora", "40"),
}
DMI = {
    "aws": {"system_vendor": "Amazon EC2", "product_name": "m6i.large",
            "product_uuid": "ec2e1916-9099-7caf-fd21-012345abcdef"},
    "gcp": {"system_vendor": "Google", "product_name": "Google Compute Engine",
            "product_serial": "GoogleCloud-6B3A5E2C0D11"},
    "azure": {"system_vendor": "Microsoft Corporation", "product_name": "Virtual Machine",
              "chassis_asset_tag": "7783-7084-3265-9085-8269-3286-77"},
    "oci": {"system_vendor": "QEMU", "chassis_asset_tag": "OracleCloud.com"},
    "alibaba": {"system_vendor": "Alibaba Cloud", "product_name": "Alibaba Cloud ECS"},
    "none": {"system_vendor": "QEMU", "product_name": "Standard PC (Q35 + ICH9, 2009)"},
}

AWS = ["server 169.254.169.123 prefer iburst minpoll 4 maxpoll 4"]
ALIBABA = ["server %s.cloud.aliyuncs.com iburst minpoll 4 maxpoll 10" % h
           for h in ("ntp", "ntp7", "ntp8", "ntp9", "ntp10", "ntp11", "ntp12")]
DEBIAN_POOL = ["pool 2.debian.pool.ntp.org iburst"]
EXPECTED_SOURCES = {
    "aws": AWS,
    "gcp": ["server metadata.google.internal prefer iburst"],
    "azure": ["refclock PHC /dev/ptp_hyperv poll 3 dpoll -2 offset 0 stratum 2"],
    "oci": ["server 169.254.169.254 iburst"],
    "alibaba": ALIBABA,
    "none": DEBIAN_POOL,
}
SMEARING = ("aws", "gcp")


class Run:
    def __init__(self, proc, result, dest):
        self.proc = proc
        self.result = result
        self.dest = dest

    @property
    def ok(self):
        return self.proc.returncode == 0

    @property
    def text(self):
        with open(self.dest) as handle:
            return handle.read()

    @property
    def lines(self):
        return [line for line in self.text.splitlines() if line and not line.startswith("#")]

    @property
    def time_lines(self):
        return [line for line in self.lines if line.split()[0] in ("server", "pool", "refclock")]

    def tasks(self):
        for play in self.result.get("plays", []):
            for task in play["tasks"]:
                yield task["task"]["name"], task["hosts"].get("localhost", {})

    def failure(self):
        for name, host in self.tasks():
            if host.get("failed"):
                msg = host.get("msg")
                return name, "\n".join(msg) if isinstance(msg, list) else str(msg)
        return None, None

    def changed(self):
        return self.result["stats"]["localhost"]["changed"]

    def debug_messages(self):
        return [str(host.get("msg")) for _name, host in self.tasks() if "msg" in host and not host.get("failed")]

    def os_settings(self):
        """The role's per-distribution/version variables as render.yml shows them after the render."""
        for name, host in self.tasks():
            if name == "Show the distribution's settings":
                return host["msg"]
        raise AssertionError("render.yml did not show the distribution's settings")


def render(tmp_path, os_name="debian12", dmi=None, check=False, dest=None, facts=None, **variables):
    """facts: fake facts on top of the OS's and the DMI ones (keys as under ansible_facts)."""
    fake = dict(NO_DMI)
    fake.update(OS_FACTS[os_name])
    fake.update(dmi or {})
    fake.update(facts or {})
    dest = dest or str(tmp_path / "chrony.conf")
    extra = {"ansible_facts": fake, "chrony_render_dest": dest}
    extra.update(variables)
    vars_file = tmp_path / "vars.json"
    vars_file.write_text(json.dumps(extra))
    env = {"ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.json", "ANSIBLE_LOCALHOST_WARNING": "0"}
    args = [PLAYBOOK, "-e", "@%s" % vars_file]
    if check:
        args += ["--check", "--diff"]
    proc = ansible_playbook(*args, env=env)
    try:
        result = json.loads(proc.stdout)
    except ValueError:
        pytest.fail("ansible-playbook output is not JSON:\n%s\n%s" % (proc.stdout[-3000:], proc.stderr[-3000:]))
    return Run(proc, result, dest)


def assert_parses(path):
    if not os.path.exists(CHRONYD):
        pytest.skip("chronyd not installed on this host")
    proc = subprocess.run([CHRONYD, "-p", "-f", path], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, "chronyd -p rejected %s: %s" % (path, proc.stderr)


def assert_ok(run):
    assert run.ok, "play failed: %s\n%s" % (run.failure(), run.proc.stderr[-2000:])


# --- cloud profiles ---------------------------------------------------------------------------------

@pytest.mark.parametrize("cloud", sorted(EXPECTED_SOURCES))
def test_cloud_profile(tmp_path, cloud):
    run = render(tmp_path, chrony_cloud=cloud)
    assert_ok(run)
    assert run.time_lines == EXPECTED_SOURCES[cloud]
    if cloud in SMEARING:
        assert not any(line.startswith("leapsectz") for line in run.lines)
    else:
        assert "leapsectz right/UTC" in run.lines
    assert ("makestep 1.0 -1" if cloud == "azure" else "makestep 1.0 3") in run.lines
    assert_parses(run.dest)


@pytest.mark.parametrize("cloud", sorted(DMI))
def test_auto_detection(tmp_path, cloud):
    run = render(tmp_path, dmi=DMI[cloud], chrony_cloud="auto")
    assert_ok(run)
    assert run.time_lines == EXPECTED_SOURCES[cloud]
    assert "chrony: cloud %s (detected from DMI facts)" % cloud in run.debug_messages()
    assert_parses(run.dest)


def test_aws_ipv6_and_phc(tmp_path):
    run = render(tmp_path, chrony_cloud="aws", chrony_aws_ipv6=True, chrony_cloud_phc="always")
    assert_ok(run)
    assert run.time_lines == AWS + ["server fd00:ec2::123 prefer iburst minpoll 4 maxpoll 4",
                                    "refclock PHC /dev/ptp_ena poll 0 delay 0.000010 prefer"]
    assert_parses(run.dest)


def test_aws_phc_only_when_the_device_exists(tmp_path):
    # auto: /dev/ptp_ena does not exist on this host, so no refclock line
    run = render(tmp_path, chrony_cloud="aws", chrony_cloud_phc="auto")
    assert_ok(run)
    assert run.time_lines == AWS


def test_user_sources_replace_the_cloud(tmp_path):
    run = render(tmp_path, chrony_cloud="aws", chrony_sources_mode="replace",
                 chrony_sources=[{"hostname": "ntp.example.com", "iburst": True, "nts": True}])
    assert_ok(run)
    assert run.time_lines == ["server ntp.example.com iburst nts"]
    assert "leapsectz right/UTC" in run.lines
    assert_parses(run.dest)


def test_mixed_smearing_when_the_user_insists(tmp_path):
    run = render(tmp_path, chrony_cloud="gcp", chrony_allow_mixed_leap_smearing=True,
                 chrony_sources=[{"hostname": "192.0.2.10", "iburst": True}])
    assert_ok(run)
    assert run.time_lines == ["server metadata.google.internal prefer iburst", "server 192.0.2.10 iburst"]


def test_user_sources_append_to_a_non_smearing_cloud(tmp_path):
    run = render(tmp_path, chrony_cloud="oci", chrony_sources=[{"hostname": "ntp.example.com", "iburst": True}],
                 chrony_refclocks=[{"driver": "SHM", "parameter": 0, "refid": "GPS", "delay": 0.2, "noselect": True}])
    assert_ok(run)
    assert run.time_lines == ["server 169.254.169.254 iburst", "server ntp.example.com iburst",
                              "refclock SHM 0 refid GPS delay 0.2 noselect"]
    assert_parses(run.dest)


# --- distributions --------------------------------------------------------------------------------

DEBIAN_FILES = {"drift": "/var/lib/chrony/chrony.drift", "keyfile": "/etc/chrony/chrony.keys"}
EL_FILES = {"drift": "/var/lib/chrony/drift", "keyfile": "/etc/chrony.keys"}
UBUNTU_POOLS = ["pool ntp.ubuntu.com iburst maxsources 4", "pool 0.ubuntu.pool.ntp.org iburst maxsources 1",
                "pool 1.ubuntu.pool.ntp.org iburst maxsources 1", "pool 2.ubuntu.pool.ntp.org iburst maxsources 2"]


def distro(sources, files, chrony_version, daemon_options):
    """What one distribution version gets: its default sources and files, the chrony it ships (the role's
    __chrony_versions), chronyd's options; `chronyd -p` (the parse check) and NTS come with chrony 4.0."""
    new = tuple(int(part) for part in chrony_version.split(".")) >= (4, 0)
    return dict(files, sources=sources, settings={"chrony_version": chrony_version, "daemon_options": daemon_options,
                                                  "parse_check": new, "supports_nts": new})


# One render per distribution version of OS_FACTS: its defaults and what differs by version (chronyd's options,
# -F: seccomp filter level; the chrony version and what follows from it).
DISTRIBUTIONS = {
    "debian11": distro(DEBIAN_POOL, DEBIAN_FILES, "4.0", "-F 1"),
    "debian12": distro(DEBIAN_POOL, DEBIAN_FILES, "4.3", "-F 1"),
    "debian13": distro(DEBIAN_POOL, DEBIAN_FILES, "4.6", "-F 1"),
    "ubuntu2004": distro(UBUNTU_POOLS, DEBIAN_FILES, "3.5", "-F -1"),
    "ubuntu2204": distro(UBUNTU_POOLS, DEBIAN_FILES, "4.2", "-F 1"),
    "ubuntu2404": distro(UBUNTU_POOLS, DEBIAN_FILES, "4.5", "-F 1"),
    "rhel8": distro(["pool 2.rhel.pool.ntp.org iburst"], EL_FILES, "4.5", ""),
    "rocky8": distro(["pool 2.rocky.pool.ntp.org iburst"], EL_FILES, "4.5", ""),
    "almalinux8": distro(["pool 2.almalinux.pool.ntp.org iburst"], EL_FILES, "4.5", ""),
    "rocky9": distro(["pool 2.rocky.pool.ntp.org iburst"], EL_FILES, "4.5", "-F 2"),
    "rhel10": distro(["pool 2.rhel.pool.ntp.org iburst"], EL_FILES, "4.6", "-F 2"),
    "fedora40": distro(["pool 2.fedora.pool.ntp.org iburst"], EL_FILES, "4.5", "-F 2"),
}


def test_every_os_is_rendered():
    assert set(DISTRIBUTIONS) == set(OS_FACTS)


@pytest.mark.parametrize("os_name", sorted(DISTRIBUTIONS))
def test_distribution(tmp_path, os_name):
    expected = DISTRIBUTIONS[os_name]
    run = render(tmp_path, os_name=os_name, chrony_cloud="none")
    assert_ok(run)
    assert run.os_settings() == expected["settings"]
    assert run.time_lines == expected["sources"]
    for line in ("driftfile " + expected["drift"], "keyfile " + expected["keyfile"], "makestep 1.0 3", "rtcsync",
                 "leapsectz right/UTC", "logdir /var/log/chrony", "bindcmdaddress 127.0.0.1", "bindcmdaddress ::1"):
        assert line in run.lines
    assert ("ntsdumpdir /var/lib/chrony" in run.lines) == expected["settings"]["supports_nts"]
    assert not any(line.split()[0] in ("allow", "local", "cmdport") for line in run.lines)
    no_parse_check = [m for m in run.debug_messages() if "has no chronyd -p" in m]
    assert bool(no_parse_check) != expected["settings"]["parse_check"], run.debug_messages()
    # this host's chronyd (Debian 12's 4.3) accepts a superset of older releases' files; what each release accepts
    # is tested against the version table in tests/unit/plugins/module_utils/test_chrony_versions.py
    assert_parses(run.dest)


def test_unsupported_family_fails_clearly(tmp_path):
    run = render(tmp_path, os_name="debian12", facts={"os_family": "Suse", "distribution": "openSUSE Leap"})
    assert not run.ok
    name, msg = run.failure()
    assert "Preflight" in name and "supports the OS families Debian, RedHat" in msg and "openSUSE Leap" in msg
    assert not os.path.exists(run.dest)


# --- every other setting --------------------------------------------------------------------------

def test_server_settings(tmp_path):
    run = render(tmp_path, chrony_cloud="none",
                 chrony_sources=[{"hostname": "10.1.0.1", "iburst": True, "minpoll": 4, "maxpoll": 6}],
                 chrony_local={"stratum": 8, "orphan": True}, chrony_allow=["10.0.0.0/8", "2001:db8::/32"],
                 chrony_deny=["10.9.0.0/16"], chrony_makestep={"threshold": 0.5, "limit": -1}, chrony_minsources=2,
                 chrony_maxdistance=1.5, chrony_log=["tracking", "statistics"], chrony_cmdport_disabled=True,
                 chrony_rtcsync=False, chrony_leapsectz="", chrony_extra_lines=["hwtimestamp *"])
    assert_ok(run)
    lines = run.lines
    assert run.time_lines == ["server 10.1.0.1 iburst minpoll 4 maxpoll 6"]
    for line in ("local stratum 8 orphan", "allow 10.0.0.0/8", "allow 2001:db8::/32", "deny 10.9.0.0/16",
                 "makestep 0.5 -1", "minsources 2", "maxdistance 1.5", "log tracking statistics", "cmdport 0",
                 "hwtimestamp *"):
        assert line in lines
    assert not any(line.split()[0] in ("rtcsync", "leapsectz", "bindcmdaddress") for line in lines)
    assert lines[-1] == "hwtimestamp *"
    assert_parses(run.dest)


def test_local_only_master_gets_no_public_pool(tmp_path):
    run = render(tmp_path, chrony_cloud="none", chrony_local={"stratum": 10}, chrony_allow=["192.0.2.0/24"])
    assert_ok(run)
    assert run.time_lines == []
    assert "local stratum 10" in run.lines
    assert_parses(run.dest)


def test_second_render_changes_nothing(tmp_path):
    assert_ok(render(tmp_path, chrony_cloud="aws"))
    again = render(tmp_path, chrony_cloud="aws")
    assert_ok(again)
    assert again.changed() == 0


def test_check_mode_without_the_directory_shows_the_file(tmp_path):
    dest = str(tmp_path / "missing-dir" / "chrony.conf")
    run = render(tmp_path, chrony_cloud="gcp", check=True, dest=dest)
    assert_ok(run)
    assert not os.path.exists(dest)
    shown = [m for m in run.debug_messages() if "server metadata.google.internal prefer iburst" in m]
    assert shown, run.debug_messages()


# --- bad input: fail before the file is written, naming the variable ----------------------------

BAD = {
    "unknown_cloud": ({"chrony_cloud": "digitalocean"}, "chrony_cloud", "must be one of"),
    "malformed_source": ({"chrony_cloud": "none", "chrony_sources": ["ntp.example.com iburst"]},
                         "chrony_sources", "unable to convert to dict"),
    "source_without_hostname": ({"chrony_cloud": "none", "chrony_sources": [{"host": "ntp.example.com"}]},
                                "chrony_sources[0]", "'hostname' is required"),
    "newline_in_hostname": ({"chrony_cloud": "none", "chrony_sources": [{"hostname": "ntp.example.com\nallow all"}]},
                            "chrony_sources[0]", "not a DNS name or IP address"),
    "minpoll_above_maxpoll": ({"chrony_cloud": "none",
                               "chrony_sources": [{"hostname": "ntp.example.com", "minpoll": 10, "maxpoll": 6}]},
                              "chrony_sources[0]", "minpoll (10) is greater than maxpoll (6)"),
    "poll_out_of_range": ({"chrony_cloud": "none", "chrony_sources": [{"hostname": "ntp.example.com", "maxpoll": 25}]},
                          "chrony_sources[0]", "between -6 and 24"),
    "refclock_stratum_0": ({"chrony_cloud": "none",
                            "chrony_refclocks": [{"driver": "PHC", "parameter": "/dev/ptp0", "stratum": 0}]},
                           "chrony_refclocks[0]", "between 1 and 15"),
    "local_stratum_16": ({"chrony_cloud": "none", "chrony_local": {"stratum": 16}},
                         "chrony_local.stratum", "between 1 and 15"),
    "bad_cidr": ({"chrony_cloud": "none", "chrony_allow": ["10.0.0.1/8"]}, "chrony_allow[0]", "not a well-formed"),
    "bad_cidr_prefix": ({"chrony_cloud": "none", "chrony_deny": ["192.0.2.0/33"]}, "chrony_deny[0]",
                        "not a well-formed"),
    "pool_with_refclock_keys": ({"chrony_cloud": "none",
                                 "chrony_sources": [{"hostname": "pool.example.com", "pool": True, "driver": "PHC",
                                                     "parameter": "/dev/ptp0"}]},
                                "chrony_sources[0]", "put reference clocks in chrony_refclocks"),
    "newline_in_extra_line": ({"chrony_cloud": "none", "chrony_extra_lines": ["hwtimestamp *\nallow all"]},
                              "chrony_extra_lines[0]", "line break"),
    "mixed_smearing": ({"chrony_cloud": "aws", "chrony_sources": [{"hostname": "ntp.example.com"}]},
                       "chrony_sources", "smear leap seconds"),
    "leapsectz_with_smearing": ({"chrony_cloud": "gcp", "chrony_leapsectz": "right/UTC"},
                                "chrony_leapsectz", "must not use leapsectz"),
    # issue 11: each of these passed the preflight and reached chrony.conf (or chronyd's options file) before
    "zone_id_injection": ({"chrony_cloud": "none", "chrony_sources": [
        {"hostname": "fe80::1%eth0\ncmdallow all\nbindcmdaddress 0.0.0.0\nallow all\nserver 192.0.2.1"}]},
        "chrony_sources[0]", "not a DNS name or IP address"),
    "zone_id_with_options": ({"chrony_cloud": "none", "chrony_sources": [{"hostname": "fe80::1%eth0 prefer trust"}]},
                             "chrony_sources[0]", "not a DNS name or IP address"),
    "makestep_nan": ({"chrony_cloud": "none", "chrony_makestep": {"threshold": float("nan"), "limit": 3}},
                     "chrony_makestep.threshold", "a number of seconds > 0"),
    "source_maxdelay_inf": ({"chrony_cloud": "none",
                             "chrony_sources": [{"hostname": "192.0.2.1", "maxdelay": float("inf")}]},
                            "chrony_sources[0]", "must be a finite number"),
    "daemon_options_env_line": ({"chrony_cloud": "none", "chrony_daemon_options": "-F 1\nLD_PRELOAD=/tmp/x.so"},
                                "chrony_daemon_options", "no quotes, $, tabs, newlines"),
    "daemon_options_other_config": ({"chrony_cloud": "none", "chrony_daemon_options": "-f /tmp/other.conf"},
                                    "chrony_daemon_options", "-f is not allowed"),
    # what the target's chrony (the role's __chrony_versions, module_utils/chrony_versions.py) does not accept
    "nts_on_ubuntu2004": ({"os_name": "ubuntu2004", "chrony_cloud": "none",
                           "chrony_sources": [{"hostname": "ntp.example.com", "nts": True}]},
                          "chrony_sources[0]", "option 'nts' needs chrony 4.0 or later; Ubuntu 20.04 ships chrony 3.5"),
    "nts_directive_line_on_ubuntu2004": ({"os_name": "ubuntu2004", "chrony_cloud": "none",
                                          "chrony_extra_lines": ["ntsserverkey /etc/chrony/server.key"]},
                                         "chrony_extra_lines[0]", "directive ntsserverkey needs chrony 4.0 or later"),
    "auto_detected_smearing_mixed": ({"chrony_cloud": "auto", "chrony_sources": [{"hostname": "192.0.2.1"}],
                                      "dmi": DMI["gcp"]}, "chrony_sources", "gcp cloud's time servers smear"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_fails_before_writing(tmp_path, case):
    variables, var, needle = BAD[case]
    run = render(tmp_path, **variables)
    assert not run.ok
    name, msg = run.failure()
    assert name is not None, run.proc.stdout[-2000:]
    assert "Validating arguments" in name or "Preflight" in name, name
    assert var in msg and needle in msg, msg
    assert not os.path.exists(run.dest)
    # nothing after the failure ran: the render tasks that touch the host never started
    assert not any(" : Render | look" in task_name or " : Render | write" in task_name
                   for task_name, _result in run.tasks())


# --- the contract: argument_specs, defaults and README agree -------------------------------------

def _role_file(*parts):
    return os.path.join(ROOT, "roles", "chrony", *parts)


def test_argument_specs_defaults_and_readme_agree():
    import yaml  # pylint: disable=import-outside-toplevel

    with open(_role_file("meta", "argument_specs.yml")) as handle:
        specs = yaml.safe_load(handle)["argument_specs"]
    with open(_role_file("defaults", "main.yml")) as handle:
        defaults = yaml.safe_load(handle)
    with open(_role_file("README.md")) as handle:
        readme = handle.read()
    main, render_opts = specs["main"]["options"], specs["render"]["options"]
    assert set(render_opts) <= set(main)
    assert set(defaults) == set(main), set(defaults) ^ set(main)
    for name, option in main.items():
        assert name.startswith("chrony_"), name
        assert option.get("description"), name
        assert defaults[name] == option.get("default"), name
        assert "| `%s` |" % name in readme, name
