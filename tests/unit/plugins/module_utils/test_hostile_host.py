"""Issue 11 ("host output is untrusted"), items 2, 8, 9, 10 and 11: one test (or a few) per reproduction.

Each test drives the code the way a hostile or broken host does: bytes as Ansible decodes them
(undecodable bytes become lone surrogates), terminal controls, huge output, a controller clock
step, a running chronyd this user cannot reach.  Every one of them failed on main 778779a.
"""

from __future__ import annotations

import json
import os
import subprocess
import time

import pytest
from conftest import fake_bin, safety_timeout

from ansible_collections.fleetclock.timesync.plugins.action import clock_probe
from ansible_collections.fleetclock.timesync.plugins.module_utils import audit_options, fleet, report
from ansible_collections.fleetclock.timesync.plugins.module_utils.chronyc import (
    MARK,
    chrony_probe_command,
    parse_chrony_probe,
)
from ansible_collections.fleetclock.timesync.plugins.module_utils.clock import (
    ClockParseError,
    estimate,
    parse_remote_time,
)
from ansible_collections.fleetclock.timesync.plugins.module_utils.merge import MergeError, merge_reports

NOW = 1_700_000_000.0
# What must never reach a report or the terminal: C0 (but newline) and C1 controls, bidi overrides and
# isolates, the Unicode line and paragraph separators, lone surrogates.
FORBIDDEN = ([chr(c) for c in range(0x00, 0x20) if c != 0x0A] + [chr(c) for c in range(0x7F, 0xA0)]
             + [chr(c) for c in range(0x202A, 0x202F)] + [chr(c) for c in range(0x2066, 0x206A)]
             + ["\u2028", "\u2029"])


def as_ansible_reads(data):
    """Bytes from a host as ActionBase._low_level_execute_command returns them (surrogate_then_replace)."""
    return data.decode("utf-8", "surrogateescape")


def forbidden_in(text):
    return sorted({"U+%04X" % ord(ch) for ch in text if ch in FORBIDDEN or 0xD800 <= ord(ch) <= 0xDFFF})


def tracking_line(ref_name):
    return ("C0A80001,%s,2,1700000000.1,0.000012,0.00001,0.00002,-3.1,0.0,0.02,0.004,0.0003,64.2,Normal"
            % ref_name)


def probe_output(ref_name, source_name="ntp1"):
    return ("%s tracking\n%s\n%s rc 0\n%s sources\n^,*,%s,2,6,377,12,0.0001,0.0001,0.002\n%s rc 0\n"
            % (MARK, tracking_line(ref_name), MARK, MARK, source_name, MARK))


def probe_result(chrony, offset=0.001, error=None, status="ok"):
    clock = None if status != "ok" else {"offset": offset, "bound": 0.002, "rtt": 0.004, "samples": 2,
                                         "resolution": 1e-9, "remote_time": NOW, "controller_time": NOW}
    return {"status": status, "error": error, "clock": clock, "chrony": chrony}


def all_files(tmp_path, hosts):
    rep = fleet.aggregate(hosts, now=NOW)
    report.write_reports(rep, list(audit_options.FORMATS), str(tmp_path))
    return {name: (tmp_path / name).read_bytes() for name in report.FILE_NAMES.values()}


# ---------------------------------------------------------------- item 2: non-UTF-8 bytes

def test_item2_non_utf8_host_output_still_gives_every_report(tmp_path):
    """A Latin-1 reference name from chronyc and a Latin-1 shell error: every format is written, as UTF-8,
    with the undecodable bytes shown as U+FFFD."""
    raw = probe_output("REF").encode("ascii").replace(b"REF", b"horloge-\xe9t\xe9")
    latin1 = parse_chrony_probe(as_ansible_reads(raw), 0)
    assert latin1["state"] == "synchronised", latin1
    shell_error = as_ansible_reads(b"sh: 1: d\xe9marrer: introuvable\n")
    try:
        parse_remote_time(shell_error)
        error = None
    except ClockParseError as exc:
        error = "clock sample: %s" % exc
    hosts = {"latin1-ref": probe_result(latin1),
             "latin1-shell": probe_result(parse_chrony_probe(shell_error, 127), error=error, status="error")}
    files = all_files(tmp_path, hosts)
    for name, data in files.items():
        text = data.decode("utf-8")                     # strict: the file is valid UTF-8
        assert not forbidden_in(text), name
        if not name.endswith(".prom"):                  # the metrics carry no reference names
            assert "horloge-\ufffdt\ufffd" in text or "horloge-\\ufffdt\\ufffd" in text, name
    assert "horloge-\ufffdt\ufffd" == json.loads(files["clock-audit.json"])["hosts"][0]["reference"]


def test_item2_a_format_that_fails_is_reported_and_the_others_are_written(tmp_path, monkeypatch):
    rep = fleet.aggregate({"a": probe_result(parse_chrony_probe(probe_output("ntp1"), 0))}, now=NOW)
    blocked = tmp_path / "textfile" / "fleetclock.prom"
    blocked.mkdir(parents=True)                          # a directory where the .prom file should go

    def broken(_report):
        raise UnicodeEncodeError("utf-8", "\udcff", 0, 1, "surrogates not allowed")

    monkeypatch.setitem(report.RENDERERS, "junit", broken)
    with pytest.raises(OSError) as failure:
        report.write_reports(rep, list(audit_options.FORMATS), str(tmp_path / "out"), str(blocked))
    message = str(failure.value)
    assert "prometheus" in message and str(blocked) in message
    assert "junit" in message and "surrogates not allowed" in message
    assert sorted(os.listdir(str(tmp_path / "out"))) == ["clock-audit.html", "clock-audit.json", "clock-audit.txt"]


# ---------------------------------------------------------------- item 8: controller clock steps

class FakeClocks(object):
    """time.time and time.monotonic for a controller whose wall clock steps while a command runs."""

    def __init__(self, wall=NOW, step=0.0, duration=0.02):
        self.wall, self.mono, self.step, self.duration = wall, 1000.0, step, duration

    def time(self):
        return self.wall

    def monotonic(self):
        return self.mono

    def run(self, stdout):
        def execute(cmd, sudoable):
            self.mono += self.duration
            self.wall += self.duration + self.step
            return {"rc": 0, "stdout": stdout, "stderr": ""}
        return execute


def bare_action(clocks, stdout, monkeypatch):
    monkeypatch.setattr(time, "time", clocks.time)
    monkeypatch.setattr(time, "monotonic", clocks.monotonic)
    action = object.__new__(clock_probe.ActionModule)
    action._visit, action._slots = None, 0
    action._exec = clocks.run(stdout)
    return action


@pytest.mark.parametrize("first", [False, True], ids=["bare-date", "date-with-chrony"])
def test_item8_controller_clock_step_back_during_a_sample_is_no_traceback(monkeypatch, first):
    clocks = FakeClocks(step=-10.0, duration=0.02)        # the controller's clock is stepped back by 10 s
    stdout = "%.9f\n" % (NOW + 0.01) + ("%s missing\n" % MARK if first else "")
    action = bare_action(clocks, stdout, monkeypatch)
    sample = action._sample_with_chrony()[1] if first else action._sample()
    clock = estimate([sample])                           # raised "sample t1 ... is before t0" on 778779a
    assert clock["rtt"] == pytest.approx(0.02)
    assert clock["bound"] >= 0.01


def test_item8_a_small_step_does_not_shrink_the_bound(monkeypatch):
    clocks = FakeClocks(step=-0.05, duration=0.1)        # stepped back 50 ms during a 100 ms round trip
    action = bare_action(clocks, "%.9f\n" % (NOW + 0.05), monkeypatch)
    clock = estimate([action._sample()])
    assert clock["rtt"] == pytest.approx(0.1)            # 778779a: 0.05 (the bound halved)
    assert clock["bound"] >= 0.05


# ---------------------------------------------------------------- item 9: huge output

def test_item9_ten_megabytes_of_chronyc_output_is_a_clear_reason_not_a_hang():
    line = tracking_line("ntp1") + "\n"
    flood = "%s tracking\n%s%s rc 0\n" % (MARK, line * (10 * 2 ** 20 // len(line)), MARK)
    assert len(flood) > 10 * 2 ** 20 - len(line)
    with safety_timeout(30):
        chrony = parse_chrony_probe(flood, 0)
    assert chrony["state"] == "error"
    assert "bytes" in chrony["error"] and "KiB" in chrony["error"], chrony["error"]
    assert len(chrony["error"]) < 1000


def test_item9_ten_megabytes_before_the_date_is_a_clear_reason():
    with safety_timeout(30):
        with pytest.raises(ClockParseError, match="KiB"):
            parse_remote_time("banner " * (10 * 2 ** 20 // 7) + "\n1700000000.5\n")


def run_probe_command(bindir):
    return subprocess.run(["/bin/sh", "-c", chrony_probe_command()], env={"PATH": bindir + ":/usr/bin:/bin"},
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60, check=False)


def test_item9_the_probe_command_caps_what_chronyc_prints(tmp_path):
    bindir = fake_bin(tmp_path, chronyc="yes '^,*,ntp1,2,6,377,12,0.0001,0.0001,0.002' | head -c 10000000")
    proc = run_probe_command(bindir)
    assert proc.returncode == 0
    size = len(proc.stdout)
    assert size <= 1024 * 1024, size                                # 778779a: all 10 MB
    with safety_timeout(30):
        chrony = parse_chrony_probe(as_ansible_reads(proc.stdout), proc.returncode)
    assert chrony["state"] == "error" and "KiB" in chrony["error"], chrony["error"]


# ---------------------------------------------------------------- item 10: no access is not "not running"

def test_item10_a_running_chronyd_this_user_cannot_reach_is_not_reported_not_running(tmp_path):
    """cmdport 0 and no become: chronyc says 506, but a chronyd process is there."""
    bindir = fake_bin(tmp_path, chronyc="echo '506 Cannot talk to daemon'; exit 1",
                      pidof="echo %d" % os.getpid(), pgrep="echo %d" % os.getpid(), id="echo 1000")
    proc = run_probe_command(bindir)
    chrony = parse_chrony_probe(as_ansible_reads(proc.stdout), proc.returncode)
    assert chrony["state"] != "not_running", chrony
    assert chrony["state"] == "no_access"
    assert "become" in chrony["error"] and "cmdport" in chrony["error"], chrony["error"]
    record = fleet.aggregate({"h": probe_result(chrony)}, now=NOW)["hosts"][0]
    assert record["chrony_state"] == "no_access"
    assert record["severity"] == "warning", record["reasons"]    # sync status unknown, not CRITICAL


@pytest.mark.parametrize("uid, pidof", [("1000", "exit 1"), ("0", "echo 4242")], ids=["no-chronyd", "root"])
def test_item10_no_chronyd_is_still_not_running(tmp_path, uid, pidof):
    """No chronyd process (or root, who can use the unix socket, got no answer): not_running as before."""
    bindir = fake_bin(tmp_path, chronyc="echo '506 Cannot talk to daemon'; exit 1", pidof=pidof,
                      pgrep=pidof, id="echo %s" % uid)
    proc = run_probe_command(bindir)
    chrony = parse_chrony_probe(as_ansible_reads(proc.stdout), proc.returncode)
    assert chrony["state"] == "not_running", chrony


# ---------------------------------------------------------------- item 11: controls, umask, 1969, 1e308

NASTY_REF = "\x1b]0;owned\x07\x1b[2J\u202eevil\u2066x\u2069\x9b31m\x85\u2028y\u2029\r"


def test_item11_terminal_controls_from_a_host_reach_neither_terminal_nor_reports(tmp_path):
    chrony = parse_chrony_probe(probe_output(NASTY_REF, source_name="src\u202e"), 0)
    assert chrony["state"] == "synchronised", chrony
    assert not forbidden_in(json.dumps(chrony, ensure_ascii=False))
    rep = fleet.aggregate({"h": probe_result(chrony)}, now=NOW)
    assert not forbidden_in(report.render_table(rep))
    for name, data in all_files(tmp_path, {"h": probe_result(chrony)}).items():
        text = data.decode("utf-8")
        if name.endswith(".json"):
            text = json.dumps(json.loads(text), ensure_ascii=False)
        assert not forbidden_in(text), (name, forbidden_in(text))
        assert "evil" in text or name.endswith(".prom")


def test_item11_control_characters_in_a_shell_error_are_escaped():
    with pytest.raises(ClockParseError) as failure:
        parse_remote_time("\x1b[31mcommand not found\u202e\n")
    assert not forbidden_in(str(failure.value)), str(failure.value)
    assert "command not found" in str(failure.value)


@pytest.mark.parametrize("umask, mode", [(0o077, 0o600), (0o027, 0o640), (0o002, 0o664)])
def test_item11_reports_respect_the_umask(tmp_path, umask, mode):
    rep = fleet.aggregate({"a": probe_result(None)}, now=NOW)
    old = os.umask(umask)
    try:
        files = report.write_reports(rep, list(audit_options.FORMATS), str(tmp_path))
    finally:
        os.umask(old)
    assert {oct(os.stat(path).st_mode & 0o777) for path in files} == {oct(mode)}


@pytest.mark.parametrize("text, value", [
    ("-2.500000000", -1.5),                 # GNU date at 1969-12-31T23:59:58.5Z: floor seconds, then %N
    ("-203678075.472559074", -203678074.527440926),
    ("-86400", -86400.0),
])
def test_item11_a_clock_before_1970_is_a_negative_epoch_not_a_parse_error(text, value):
    parsed, resolution = parse_remote_time(text + "\n")
    assert parsed == pytest.approx(value, abs=1e-6)
    assert resolution in (1e-9, 1.0)


@pytest.mark.parametrize("huge", [1e308, 1.7976931348623157e308])
def test_item11_merging_slices_with_huge_offsets_is_a_clear_error_not_overflow(huge):
    def slice_report(name, offset):
        rep = fleet.aggregate({name: probe_result(None, offset=0.0)}, now=NOW)
        data = json.loads(report.render_json(rep))
        data["hosts"][0]["offset"] = offset
        return data

    try:
        merged = merge_reports([slice_report("a", huge), slice_report("b", -huge)], names=["s1", "s2"], mode="none")
    except MergeError as exc:
        assert "s1" in str(exc) and "offset" in str(exc), str(exc)
    else:
        report.render_table(merged)
        json.loads(report.render_json(merged))
