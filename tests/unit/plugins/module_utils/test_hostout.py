"""Properties of module_utils/hostout.py and of the parsers of host output (clock.py, chronyc.py).

Arbitrary bytes or text in -> a result or a clear reason, never another exception, and nothing
unsafe out (hostout.is_safe: no lone surrogate, control, bidi override or line separator).
"""

from __future__ import annotations

import math
import os
import subprocess

import pytest
from conftest import fake_bin
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.fleetclock.timesync.plugins.module_utils import hostout
from ansible_collections.fleetclock.timesync.plugins.module_utils.chronyc import (
    MARK,
    STATES,
    ChronycParseError,
    chrony_probe_command,
    chronyd_visible,
    parse_chrony_probe,
    parse_sources,
    parse_tracking,
)
from ansible_collections.fleetclock.timesync.plugins.module_utils.clock import ClockParseError, parse_remote_time

# text as hosts send it: any code point (lone surrogates included: Ansible's surrogate_then_replace)
HOSTILE_CHARS = st.sampled_from(["\x1b", "\x07", "\x00", "\r", "\t", "\x85", "\x9b", "\u202e", "\u2066", "\u2069",
                                 "\u2028", "\u2029", "\u200f", "\udce9", "\ud800", "\ufeff", "\ufffd", ",", "\n"])
TEXT = st.one_of(st.text(), st.text(st.one_of(st.characters(), HOSTILE_CHARS)))
DATA = st.one_of(TEXT, st.binary())


def all_strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from all_strings(key)
            yield from all_strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from all_strings(item)


def assert_safe(value):
    for text in all_strings(value):
        assert hostout.is_safe(text), ascii(text)


# ---------------------------------------------------------------- sanitise / clean / quote

@pytest.mark.parametrize("raw, shown", [
    (b"caf\xe9", "caf\ufffd"),
    ("caf\udce9", "caf\ufffd"),
    ("\x1b[2J", "\\x1b[2J"),
    ("a\u202eb", "a\\u202eb"),
    ("a\u2028b\u2029c", "a\\u2028b\\u2029c"),
    ("\x85\x9b", "\\x85\\x9b"),
    ("line\r\nnext\r", "line\nnext\\r"),
    ("tab\there", "tab\\there"),
    ("ünïcödé ok 時計", "ünïcödé ok 時計"),
])
def test_sanitise_examples(raw, shown):
    assert hostout.sanitise(raw) == shown


def test_sanitise_one_line_escapes_newlines():
    assert hostout.sanitise("a\nb", newlines=False) == "a\\nb"


@given(DATA)
@settings(max_examples=500)
def test_sanitise_is_safe_idempotent_and_keeps_safe_text(data):
    out = hostout.sanitise(data)
    assert hostout.is_safe(out) and hostout.sanitise(out) == out
    assert hostout.is_safe(hostout.sanitise(data, newlines=False), newlines=False)
    if isinstance(data, str) and hostout.is_safe(data) and "\r\n" not in data:
        assert out == data


@given(st.recursive(st.one_of(TEXT, st.integers(), st.floats(), st.none(), st.booleans()),
                    lambda inner: st.one_of(st.lists(inner, max_size=4),
                                            st.dictionaries(TEXT, inner, max_size=4)), max_leaves=20))
@settings(max_examples=200)
def test_clean_sanitises_every_string_and_keeps_the_rest(value):
    cleaned = hostout.clean(value)
    assert_safe(cleaned)
    assert hostout.clean(cleaned) == cleaned or any(isinstance(v, float) and math.isnan(v) for v in [cleaned])


@given(DATA)
@settings(max_examples=300)
def test_quote_is_one_safe_short_line(data):
    text = hostout.quote(data)
    assert hostout.is_safe(text, newlines=False)
    assert len(text) <= 2 + 4 * hostout.MAX_QUOTE + 3 + 6 * hostout.MAX_QUOTE


def test_over_cap_counts_bytes():
    limit = 10
    assert not hostout.over_cap("x" * 10, limit) and hostout.over_cap("x" * 11, limit)
    assert hostout.over_cap("é" * 6, limit)                      # 12 bytes in 6 characters
    assert hostout.over_cap(b"x" * 11, limit) and not hostout.over_cap(None, limit)
    assert "KiB" in hostout.too_large("what", "x" * 11)


# ---------------------------------------------------------------- parsers: arbitrary input

@given(DATA)
@settings(max_examples=500)
def test_parse_remote_time_gives_a_time_or_a_clear_safe_reason(data):
    try:
        value, resolution = parse_remote_time(data)
    except ClockParseError as exc:
        assert hostout.is_safe(str(exc), newlines=False) and "date" in str(exc)
    else:
        assert math.isfinite(value) and resolution in (1.0,) + tuple(10.0 ** -n for n in range(1, 10))


@given(DATA, st.integers(-5, 300))
@settings(max_examples=500)
def test_parse_chrony_probe_gives_a_state_and_only_safe_text(data, rc):
    chrony = parse_chrony_probe(data, rc, data)
    assert chrony["state"] in STATES
    assert_safe(chrony)


@given(st.lists(st.one_of(TEXT, st.sampled_from([
    "%s tracking\n" % MARK, "%s sources\n" % MARK, "%s rc 0\n" % MARK, "%s rc 1\n" % MARK,
    "%s daemon seen\n" % MARK, "%s daemon none\n" % MARK, "506 Cannot talk to daemon\n",
    "C0A80001,", ",2,1700000000.1,0.1,0.1,0.1,1.0,0.0,0.02,0.004,0.0003,64.2,Normal\n",
    "^,*,", ",2,6,377,12,0.0001,0.0001,0.002\n"])), max_size=12).map("".join), st.integers(-5, 300))
@settings(max_examples=500)
def test_structured_probe_output_with_hostile_fields(text, rc):
    chrony = parse_chrony_probe(text, rc)
    assert chrony["state"] in STATES
    assert_safe(chrony)


@given(st.text(st.one_of(st.characters(blacklist_characters=",\n\r"), HOSTILE_CHARS.filter(lambda c: c not in ",\n"))))
@settings(max_examples=300)
def test_any_reference_name_parses_sanitised(name):
    line = "C0A80001,%s,2,1700000000.1,0.1,0.1,0.1,1.0,0.0,0.02,0.004,0.0003,64.2,Normal" % name
    try:
        tracking = parse_tracking(line)
    except ChronycParseError as exc:            # a name that is only whitespace or a control-split line
        assert hostout.is_safe(str(exc))
    else:
        assert_safe(tracking)
        assert tracking["ref_name"] in (None, hostout.sanitise(name).strip() or None, hostout.sanitise(name))


@given(DATA)
@settings(max_examples=300)
def test_parse_tracking_and_sources_give_a_result_or_a_safe_reason(data):
    for parse in (parse_tracking, parse_sources):
        try:
            assert_safe(parse(data))
        except ChronycParseError as exc:
            assert hostout.is_safe(str(exc), newlines=False)


@pytest.mark.parametrize("field", ["nan", "NaN", "inf", "-inf", "Infinity", "1e999", "0x10"])
def test_nan_and_infinity_in_chronyc_output_are_a_reason(field):
    line = "C0A80001,ntp1,2,1700000000.1,%s,0.1,0.1,1.0,0.0,0.02,0.004,0.0003,64.2,Normal" % field
    chrony = parse_chrony_probe("%s tracking\n%s\n%s rc 0\n" % (MARK, line, MARK), 0)
    assert chrony["state"] == "error" and "system_time" in chrony["error"], chrony
    source = "^,*,ntp1,2,6,377,12,%s,0.0001,0.002" % field
    with pytest.raises(ChronycParseError, match="adjusted_offset"):
        parse_sources(source)


@pytest.mark.parametrize("text", ["nan", "inf", "-inf", "NaN.5", "1e308", "Infinity"])
def test_nan_and_infinity_from_date_are_a_reason(text):
    with pytest.raises(ClockParseError, match="not an epoch time"):
        parse_remote_time(text)


# ---------------------------------------------------------------- the probe command on a real shell

def test_a_chronyc_that_hangs_is_cut_by_the_outer_timeout(tmp_path):
    bindir = fake_bin(tmp_path, chronyc="exec sleep 60")
    proc = subprocess.run(["/bin/sh", "-c", chrony_probe_command(outer_timeout=1)], timeout=30, check=False,
                          env={"PATH": bindir + ":/usr/bin:/bin"}, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    chrony = parse_chrony_probe(proc.stdout, proc.returncode)
    assert chrony["state"] == "not_running" and "no answer" in chrony["error"], chrony


def test_control_characters_from_chronyc_are_escaped(tmp_path):
    bindir = fake_bin(tmp_path, chronyc="printf 'C0A80001,\\033]0;x\\007\\342\\200\\256evil,2,1700000000.1,0.1,0.1,"
                                        "0.1,1.0,0.0,0.02,0.004,0.0003,64.2,Normal\\n'")
    proc = subprocess.run(["/bin/sh", "-c", chrony_probe_command()], timeout=30, check=False,
                          env={"PATH": bindir + ":/usr/bin:/bin"}, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    chrony = parse_chrony_probe(proc.stdout.decode("utf-8", "surrogateescape"), proc.returncode)
    assert chrony["tracking"]["ref_name"] == "\\x1b]0;x\\x07\\u202eevil", chrony


# ---------------------------------------------------------------- which chronyd counts

def fake_proc(tmp_path, processes, own_depth=1):
    """A /proc with {pid: (comm, NSpid depth)} and self."""
    root = tmp_path / "proc"
    for pid, (comm, depth) in dict(processes, self=("python", own_depth)).items():
        (root / str(pid)).mkdir(parents=True)
        (root / str(pid) / "comm").write_text(comm + "\n")
        (root / str(pid) / "status").write_text("Name:\t%s\nNSpid:\t%s\n" % (comm, "\t".join(["7"] * depth)))
    return str(root)


def test_chronyd_visible_counts_only_this_pid_namespace(tmp_path):
    assert chronyd_visible(fake_proc(tmp_path / "a", {12: ("chronyd", 1)}))
    assert not chronyd_visible(fake_proc(tmp_path / "b", {12: ("chronyd", 2)}))     # in a container below
    assert not chronyd_visible(fake_proc(tmp_path / "c", {12: ("sshd", 1)}))
    assert not chronyd_visible(str(tmp_path / "no-proc"))


def test_chronyd_visible_on_this_machine_does_not_raise():
    assert chronyd_visible() in (True, False)
    assert os.path.isdir("/proc")


class _ToolError(ValueError):
    pass


@pytest.mark.parametrize("text, reason", [("1e999", "not a finite number"), ("nan", "not a number"),
                                          ("0x10", "not a number"), ("", "not a number")])
def test_host_number_refuses_with_the_parsers_error(text, reason):
    with pytest.raises(_ToolError, match="offset is %s" % reason):
        hostout.host_number(text, "offset", _ToolError)


def test_host_number_and_text_take_what_a_tool_prints():
    assert hostout.host_number("-1.5e-3", "offset", _ToolError) == -0.0015
    assert hostout.host_text(b"ok\xff\x1b", "tracking", _ToolError) == "ok\ufffd\\x1b"
    with pytest.raises(_ToolError, match="chronyc tracking: the host sent"):
        hostout.host_text("x" * (hostout.MAX_OUTPUT + 1), "tracking", _ToolError, cap_what="chronyc tracking")
    with pytest.raises(_ToolError, match="tracking output must be text"):
        hostout.host_text(None, "tracking", _ToolError)
