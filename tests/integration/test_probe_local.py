"""clock_probe for real over the local connection: offsets injected with faketime, broken hosts simulated
with ansible_shell_executable wrappers (the action runs `<shell> -c <command>`)."""
import json
import os
import shutil
import socket
import stat
import time

import pytest
from conftest import ansible_playbook

pytestmark = pytest.mark.integration

PLAY = """
- name: Probe
  hosts: all
  gather_facts: false
  tasks:
    - name: Probe the clock
      fleetclock.timesync.clock_probe: %s
"""


def run_play(tmp_path, hosts, play, extra=()):
    """hosts: {name: hostvars}; play: the playbook's text; returns (the json callback's report, CompletedProcess)."""
    inventory = tmp_path / "inventory.json"
    inventory.write_text(json.dumps({"all": {"hosts": hosts}}))
    playbook = tmp_path / "play.yml"
    playbook.write_text(play)
    env = {"ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.json", "ANSIBLE_HOST_KEY_CHECKING": "False"}
    proc = ansible_playbook("-i", inventory, playbook, *extra, env=env)
    try:
        report = json.loads(proc.stdout)
    except ValueError:
        raise AssertionError("ansible-playbook output is not JSON:\n%s\n%s" % (proc.stdout, proc.stderr))
    return report, proc


def run_probe(tmp_path, hosts, args=None, extra=()):
    """hosts: {name: hostvars}; returns ({host: task result}, CompletedProcess)."""
    report, proc = run_play(tmp_path, hosts, PLAY % json.dumps(args or {}), extra)
    return report["plays"][0]["tasks"][0]["hosts"], proc


CONTRACT = {"status", "error", "clock", "chrony", "daemons", "changed"}
LOCAL = {"ansible_connection": "local", "ansible_python_interpreter": "/usr/bin/false"}


def wrapper(tmp_path, name, body):
    path = tmp_path / name
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path)


def host(**extra):
    return dict(LOCAL, **extra)


def test_local_host(tmp_path):
    results, proc = run_probe(tmp_path, {"plain": host()})
    result = results["plain"]
    assert CONTRACT <= set(result), proc.stdout
    assert result["status"] == "ok" and result["error"] is None and result["changed"] is False
    clock = result["clock"]
    assert abs(clock["offset"]) <= clock["bound"]          # same clock: true offset 0
    assert clock["resolution"] == pytest.approx(1e-9)
    # one command: the clock read before and after chronyc; the local connection starts a new shell for
    # every command, so a bare sample could not beat that bound (clock.need_more_samples)
    assert clock["samples"] == clock["execs"] == 1 and clock["method"] == "four_timestamps"
    assert clock["bound"] < 0.5
    assert result["chrony"]["state"] in ("missing", "not_running", "unsynchronised", "local", "synchronised")


@pytest.mark.skipif(not shutil.which("faketime"), reason="faketime not installed")
@pytest.mark.parametrize("shift", [120, -3600])
def test_faketime_offset_is_inside_the_bound(tmp_path, shift):
    shell = wrapper(tmp_path, "fake.sh", 'FAKETIME_DONT_FAKE_MONOTONIC=1 exec faketime -f "%+ds" /bin/sh "$@"' % shift)
    results, proc = run_probe(tmp_path, {"fake": host(ansible_shell_executable=shell)})
    clock = results["fake"]["clock"]
    assert results["fake"]["status"] == "ok", results["fake"]
    assert abs(clock["offset"] - shift) <= clock["bound"], clock
    assert clock["bound"] < 0.5


def test_whole_second_date(tmp_path):
    """A date without %N (busybox) prints 'S.N': resolution 1 s, reading centred, no pointless resampling."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    wrapper(bindir, "date", 'echo "$(/bin/date +%s).N"')
    shell = wrapper(tmp_path, "busybox.sh", 'PATH="%s:$PATH" exec /bin/sh "$@"' % bindir)
    results, proc = run_probe(tmp_path, {"busy": host(ansible_shell_executable=shell)})
    clock = results["busy"]["clock"]
    assert results["busy"]["status"] == "ok", results["busy"]
    assert clock["resolution"] == 1.0 and clock["samples"] == clock["execs"] == 1
    # half the resolution plus at most the round trip (no wall-clock limit: the round trip grows with the load)
    assert 0.5 < clock["bound"] <= 0.5 + clock["rtt"]
    assert abs(clock["offset"]) <= clock["bound"]


# What no result, report or terminal line may hold (issue 11): C0 controls but newline, C1 controls, bidi
# overrides and isolates, U+2028/U+2029, lone surrogates.
FORBIDDEN = set(chr(c) for c in list(range(0x00, 0x0A)) + list(range(0x0B, 0x20)) + list(range(0x7F, 0xA0))
                + list(range(0x202A, 0x202F)) + list(range(0x2066, 0x206A)) + [0x2028, 0x2029])
# chronyc output whose reference name carries an OSC title, a screen clear, RLO, an isolate and a Latin-1 byte, and
# a source name with U+2028.
HOSTILE_TRACKING = (r"C0A80001,\033]0;owned\007\033[2J\342\200\256evil\342\201\246x\351,2,"
                    r"1700000000.1,0.000012,0.00001,0.00002,-3.1,0.0,0.02,0.004,0.0003,64.2,Normal\n")
HOSTILE_SOURCES = r"^,*,src\342\200\250y,2,6,377,12,0.0001,0.0001,0.002\n"


def forbidden_in(text):
    return sorted("U+%04X" % ord(ch) for ch in set(text) if ch in FORBIDDEN or 0xD800 <= ord(ch) <= 0xDFFF)


def trouble_hosts(tmp_path):
    """Hosts that answer garbage, hang, refuse the connection, and hostile ones (issue 11: Latin-1 bytes and
    controls in a shell error, 10 MB of output, terminal controls in chronyc's reference name, a clock before
    1970), and a fine one."""
    garbage = wrapper(tmp_path, "garbage.sh", "echo 'Segmentation fault'")
    hang = wrapper(tmp_path, "hang.sh", "exec sleep 60")
    latin1 = wrapper(tmp_path, "latin1.sh", r"printf 'sh: 1: d\351marrer \033[31m\342\200\256: introuvable\n'")
    flood = wrapper(tmp_path, "flood.sh", 'head -c 10485760 /dev/zero | tr "\\0" x; echo; exec /bin/sh "$@"')
    bindir = tmp_path / "hostile-bin"
    bindir.mkdir(exist_ok=True)
    wrapper(bindir, "chronyc", 'case "$*" in *tracking) printf \'%s\' ;; *) printf \'%s\' ;; esac'
            % (HOSTILE_TRACKING, HOSTILE_SOURCES))
    controls = wrapper(tmp_path, "controls.sh", 'PATH="%s:$PATH" exec /bin/sh "$@"' % bindir)
    hosts = {
        "garbage": host(ansible_shell_executable=garbage),
        "hang": host(ansible_shell_executable=hang),
        "refused": {"ansible_connection": "ssh", "ansible_host": "127.0.0.1", "ansible_port": closed_port()},
        "latin1": host(ansible_shell_executable=latin1),
        "flood": host(ansible_shell_executable=flood),
        "controls": host(ansible_shell_executable=controls),
        "fine": host(),
    }
    if shutil.which("faketime"):
        hosts["pre1970"] = host(ansible_shell_executable=wrapper(
            tmp_path, "pre1970.sh", 'FAKETIME_DONT_FAKE_MONOTONIC=1 exec faketime -f "%+ds" /bin/sh "$@"' % PRE_1970))
    return hosts


PRE_1970 = -2000000000          # the host's clock is about 1906


def closed_port():
    """A loopback port with nothing listening."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def check_trouble(results, timeout):
    """What each trouble host must report, per-host task or batch alike."""
    assert results["garbage"]["status"] == "error"
    assert "Segmentation fault" in results["garbage"]["error"]
    assert results["garbage"]["clock"] is None
    assert results["garbage"]["chrony"]["state"] == "error"
    assert results["hang"]["status"] == "timeout"
    assert str(timeout) in results["hang"]["error"] and results["hang"]["clock"] is None
    assert results["hang"]["chrony"]["state"] == "unknown"
    assert results["refused"]["status"] == "unreachable", results["refused"]
    assert results["refused"]["clock"] is None
    latin1 = results["latin1"]
    assert latin1["status"] == "error" and latin1["clock"] is None, latin1
    assert "d\ufffdmarrer \\x1b[31m\\u202e: introuvable" in latin1["error"], latin1["error"]
    flood = results["flood"]
    assert flood["status"] == "error" and flood["clock"] is None, flood["status"]
    assert "KiB" in flood["error"] and len(flood["error"]) < 1000, flood["error"][:300]
    controls = results["controls"]
    assert controls["status"] == "ok" and controls["chrony"]["state"] == "synchronised", controls
    assert controls["chrony"]["tracking"]["ref_name"] == "\\x1b]0;owned\\x07\\x1b[2J\\u202eevil\\u2066x\ufffd"
    assert [source["name"] for source in controls["chrony"]["sources"]] == ["src\\u2028y"], controls["chrony"]
    if "pre1970" in results:
        pre = results["pre1970"]
        assert pre["status"] == "ok", pre
        assert abs(pre["clock"]["offset"] - PRE_1970) <= pre["clock"]["bound"] + 0.05, pre["clock"]
    assert results["fine"]["status"] == "ok"
    assert not forbidden_in(json.dumps(results, ensure_ascii=False))


def test_trouble_and_hostile_hosts(tmp_path):
    results, proc = run_probe(tmp_path, trouble_hosts(tmp_path), {"timeout": 3})
    check_trouble(results, 3)
    for result in results.values():
        assert CONTRACT <= set(result) and not result.get("failed") and not result.get("unreachable")


FIXTURES = os.path.join(os.path.dirname(__file__), "..", "unit", "fixtures", "timedaemons")


def test_time_daemons_read_in_the_same_visit(tmp_path):
    """A host running systemd-timesyncd and ntpd (ntpsec) at once, each answering with output captured from the real
    daemon (tests/unit/fixtures/timedaemons): the probe finds both processes in /proc (copies of sleep named like
    the daemons, in a PID namespace of their own: nothing outside the test sees them), reads both tools in the
    first command, and the host's view is timesyncd's with a warning naming both."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    fixtures = os.path.abspath(FIXTURES)
    for name in ("systemd-timesyncd", "ntpd"):
        shutil.copy("/bin/sleep", str(bindir / name))
    wrapper(bindir, "timedatectl", 'case "$1" in show-timesync) cat %s/timesyncd_show_synced.txt;; '
            'timesync-status) cat %s/timesyncd_status_synced.txt;; *) exit 1;; esac' % (fixtures, fixtures))
    wrapper(bindir, "ntpq", 'case "$*" in *rv*) cat %s/ntpsec_rv_synced.txt;; *) cat %s/ntpsec_peers_synced.txt;; esac'
            % (fixtures, fixtures))
    shell = wrapper(tmp_path, "daemons.sh", 'exec unshare -pf --mount-proc /bin/sh -c \'PATH="%s:$PATH"; export PATH; '
                    'systemd-timesyncd 60 & ntpd 60 & sleep 0.2; /bin/sh "$@"\' sh "$@"' % bindir)
    results, proc = run_probe(tmp_path, {"two": host(ansible_shell_executable=shell)})
    result = results["two"]
    assert result["status"] == "ok", result
    daemons = result["daemons"]
    assert daemons["active"] == ["systemd-timesyncd", "ntpd"], daemons
    timesyncd, ntpd = daemons["views"]["systemd-timesyncd"], daemons["views"]["ntpd"]
    # no /run/systemd/timesync/synchronized on this machine: timesyncd got an answer but did not say synchronised
    assert (timesyncd["state"], timesyncd["reference"], timesyncd["stratum"]) == ("unsynchronised", "172.18.0.2", 8)
    assert (ntpd["daemon"], ntpd["state"], ntpd["reference"], ntpd["stratum"]) == ("ntpsec", "synchronised",
                                                                                   "172.18.0.2", 9)
    assert result["clock"]["method"] == "four_timestamps" and result["clock"]["execs"] == 1  # still one visit


def test_check_mode_and_no_chrony(tmp_path):
    results, proc = run_probe(tmp_path, {"plain": host()}, {"collect_chrony": False, "max_samples": 3}, ["--check"])
    result = results["plain"]
    assert result["status"] == "ok" and result["clock"]["samples"] <= 3
    assert result["chrony"]["state"] == "unknown"
    assert "collect_chrony" in result["chrony"]["error"]


@pytest.mark.parametrize("args, message", [
    ({"min_samples": 0}, "min_samples must be at least 1"),
    ({"min_samples": 4, "max_samples": 3}, "max_samples (3) must be at least min_samples (4)"),
    ({"timeout": 0}, "timeout must be between 0 and 3600"),
    # checked before ansible-core's own int check, which raised OverflowError on 'inf' naming no option
    ({"target_bound": "soon", "min_samples": "inf"},
     "min_samples must be a finite whole number, got 'inf'; target_bound must be a finite number, got 'soon'"),
    ({"samples": 3}, "samples"),
])
def test_bad_options_fail(tmp_path, args, message):
    results, proc = run_probe(tmp_path, {"plain": host()}, args)
    assert results["plain"]["failed"] is True
    assert message in results["plain"]["msg"]


def test_hang_returns_promptly(tmp_path):
    """The hanging command is not waited for: the run returns within timeout + a few seconds."""
    hang = wrapper(tmp_path, "hang2.sh", "exec sleep 30")
    started = time.monotonic()
    results, proc = run_probe(tmp_path, {"hang": host(ansible_shell_executable=hang)}, {"timeout": 1.5})
    assert results["hang"]["status"] == "timeout"
    assert time.monotonic() - started < 15


def test_the_audit_writes_every_report_despite_hostile_hosts(tmp_path):
    """The whole audit (per host) over the trouble hosts: every format is written, lists every host, and holds no
    control character, bidi override, line separator or lone surrogate (778779a wrote no file at all)."""
    from test_audit_local import check_outputs, run_audit

    hosts = trouble_hosts(tmp_path)
    inventory = tmp_path / "inventory.json"
    inventory.write_text(json.dumps({"all": {"hosts": hosts}}))
    out = tmp_path / "reports"
    proc = run_audit(str(inventory), str(out), "-e", "fleetclock_audit_probe_timeout=3")
    assert proc.returncode != 0, proc.stdout             # CRITICAL / UNKNOWN hosts, but reports first
    report = check_outputs(str(out))
    assert [h["host"] for h in report["hosts"]] == sorted(hosts)
    for name in sorted(os.listdir(str(out))):
        text = (out / name).read_bytes().decode("utf-8")
        if name.endswith(".json"):
            text = json.dumps(json.loads(text), ensure_ascii=False)
        assert not forbidden_in(text), (name, forbidden_in(text))
    table = (out / "clock-audit.txt").read_text()
    assert "\\x1b]0;owned" in table and "fine" in table
    assert not forbidden_in(proc.stdout), forbidden_in(proc.stdout)
