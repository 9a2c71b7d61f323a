# -*- coding: utf-8 -*-
# Copyright (c) 2025 fleetclock maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parse ``chronyc -n -c tracking`` / ``sources`` output and classify chrony's state.

Pure functions only: no Ansible imports, Python 3.8+.  Field order and signs
are chrony 4.x's (see chronyc(1)): tracking's system time is positive when the
local clock is SLOW, so chrony's view of the local clock offset is
``-system_time`` (positive = local clock ahead).

chronyc output comes from the host and is untrusted (hostout.py): every parser
accepts str or bytes, parses at most MAX_OUTPUT bytes in linear time, and
returns sanitised text only.
"""

from __future__ import annotations

import os
import re
import shlex

from ansible_collections.fleetclock.timesync.plugins.module_utils.hostout import (
    MAX_OUTPUT,
    host_number,
    host_text,
    over_cap,
    quote,
    sanitise,
    too_large,
)

REF_LOCAL = "7F7F0101"
REF_NONE = "00000000"
LAST_RX_NEVER = 4294967295

# The one list of chrony states (the report schema, fleet.py and the renderers use it).
# no_access: a chronyd process runs but does not answer this user (no UDP command port, root-only socket).
STATES = ("missing", "not_running", "no_access", "unsynchronised", "local", "synchronised", "error", "unknown")
LEAP_STATUSES = ("Normal", "Insert second", "Delete second", "Not synchronised")
MODE_NAMES = {"^": "server", "=": "peer", "#": "refclock"}
STATE_NAMES = {
    "*": "selected",
    "+": "combined",
    "-": "not_combined",
    "?": "unusable",
    "x": "falseticker",
    "~": "too_variable",
}

TRACKING_FIELDS = (
    "ref_id", "ref_name", "stratum", "ref_time", "system_time", "last_offset", "rms_offset",
    "frequency_ppm", "residual_freq_ppm", "skew_ppm", "root_delay", "root_dispersion",
    "update_interval", "leap_status",
)
SOURCES_FIELDS = (
    "mode", "state", "name", "stratum", "poll", "reach", "last_rx",
    "adjusted_offset", "measured_offset", "error",
)

# chronyc -c authdata (chrony 4.0+): per source its authentication; an NTS source without cookies has not completed
# a key exchange, and chronyd neither authenticates nor uses it.  Last = 4294967295: never.
AUTHDATA_FIELDS = ("name", "mode", "key_id", "key_type", "key_length", "last", "attempts", "naks", "cookies",
                   "cookie_length")
AUTHDATA_NEVER = 4294967295
NOT_AUTHORISED_MARKER = "Not authorised"   # "501 Not authorised": authdata answers only on the Unix socket (root)
NTS_NO_ACCESS = ("NTS state not read: chronyd answers 'chronyc authdata' only on its Unix socket, i.e. to root "
                 "(audit with become to read it)")
NTS_CHECK = ("check that the server's certificate is trusted (ntstrustedcerts or the system's CAs) and names what "
             "the server line says (an IP address needs an IP SAN), that its NTS-KE port (TCP 4460, ntsport) is "
             "open, and that this clock is inside the certificate's validity (nocerttimecheck); chronyd's log "
             "says why the key exchange failed")

# chronyc tries the unix socket, then UDP 127.0.0.1:323 and [::1]:323.  With
# nothing listening it fails at once ("506 Cannot talk to daemon"); when
# packets are dropped it waits timeout * (2^(retries+1) - 1) per address.
# 300 ms with 2 retries bounds that to 2.1 s per address; `timeout` (where
# the host has a working one) bounds the whole call.
CHRONYC_ARGS = ["-n", "-c", "-m", "timeout 300", "retries 2"]
CHRONYC = " ".join(shlex.quote(arg) for arg in ["chronyc"] + CHRONYC_ARGS)
CHRONYC_OUTER_TIMEOUT = 8
NOT_RUNNING_MARKER = "Cannot talk to daemon"   # "506 Cannot talk to daemon"
MARK = "@@fleetclock-chrony@@"
NO_ACCESS_HINT = ("chronyd is running but does not answer this user: chronyc got '506 Cannot talk to daemon', as when "
                  "chronyd's UDP command port is disabled (cmdport 0, chrony_cmdport_disabled: true) and its unix "
                  "socket is root-only; audit with become: true, or keep the command port on localhost")

_HEX8_RE = re.compile(r"[0-9A-Fa-f]{8}")
_INT_RE = re.compile(r"[-+]?\d+")
_OCTAL_RE = re.compile(r"[0-7]{1,3}")
_SECTION_RE = re.compile(r"^" + re.escape(MARK) + r" (\w+)(?: (-?\d+|\w+))?$")


class ChronycParseError(ValueError):
    """chronyc output does not have the expected CSV shape."""


def _quote(text, limit=80):
    return quote(text, limit)


def _float(value, field):
    return host_number(value, field, ChronycParseError, limit=80)


def _int(value, field):
    if not _INT_RE.fullmatch(value):
        raise ChronycParseError("%s is not an integer: %s" % (field, _quote(value)))
    return int(value)


def _lines(text, what):
    text = host_text(text, what, ChronycParseError, cap_what="chronyc %s" % what)
    return [line.strip() for line in text.splitlines() if line.strip()]


def _split(line, count, what):
    fields = line.split(",")
    if len(fields) != count:
        raise ChronycParseError(
            "%s line has %d comma-separated fields, expected %d (is this 'chronyc -c' output?): %s"
            % (what, len(fields), count, _quote(line))
        )
    return fields


def parse_tracking(text):
    """Parse ``chronyc -c tracking`` (one CSV line) into a dict keyed by TRACKING_FIELDS."""
    lines = _lines(text, "tracking")
    if len(lines) != 1:
        raise ChronycParseError(
            "tracking output should be one CSV line, got %d lines: %s" % (len(lines), _quote(text))
        )
    fields = _split(lines[0], len(TRACKING_FIELDS), "tracking")
    ref_id = fields[0]
    if not _HEX8_RE.fullmatch(ref_id):
        raise ChronycParseError("tracking ref_id is not 8 hex digits: %s" % _quote(ref_id))
    leap = fields[13]
    if leap not in LEAP_STATUSES:
        raise ChronycParseError("tracking leap_status unknown: %s" % _quote(leap))
    result = {"ref_id": ref_id.upper(), "ref_name": fields[1] or None, "stratum": _int(fields[2], "stratum")}
    for name, value in zip(TRACKING_FIELDS[3:13], fields[3:13]):
        result[name] = _float(value, name)
    result["leap_status"] = leap
    return result


def parse_sources(text):
    """Parse ``chronyc -c sources`` (zero or more CSV lines) into a list of dicts."""
    sources = []
    for line in _lines(text, "sources"):
        fields = _split(line, len(SOURCES_FIELDS), "sources")
        mode, state, name = fields[0], fields[1], fields[2]
        if mode not in MODE_NAMES:
            raise ChronycParseError("sources mode is not one of ^ = #: %s" % _quote(line))
        if state not in STATE_NAMES:
            raise ChronycParseError("sources state is not one of * + - ? x ~: %s" % _quote(line))
        if not name:
            raise ChronycParseError("sources line has an empty name: %s" % _quote(line))
        if not _OCTAL_RE.fullmatch(fields[5]):
            raise ChronycParseError("sources reach is not an octal number: %s" % _quote(line))
        last_rx = _int(fields[6], "last_rx")
        source = {
            "mode": mode,
            "mode_name": MODE_NAMES[mode],
            "state": state,
            "state_name": STATE_NAMES[state],
            "name": name,
            "stratum": _int(fields[3], "stratum"),
            "poll": _int(fields[4], "poll"),
            "reach": int(fields[5], 8),
            "last_rx": None if last_rx == LAST_RX_NEVER else last_rx,
        }
        for key, value in zip(SOURCES_FIELDS[7:], fields[7:]):
            source[key] = _float(value, key)
        sources.append(source)
    return sources


def parse_authdata(text):
    """Parse ``chronyc -c authdata`` (one CSV line per source) into a list of dicts keyed by AUTHDATA_FIELDS
    (mode NTS, SK or -; numbers as int; ``last`` None when no key exchange ever succeeded)."""
    rows = []
    for line in _lines(text, "authdata"):
        fields = _split(line, len(AUTHDATA_FIELDS), "authdata")
        row = {"name": fields[0], "mode": fields[1]}
        for key, value in zip(AUTHDATA_FIELDS[2:], fields[2:]):
            row[key] = _int(value, "authdata %s" % key)
        if row["last"] == AUTHDATA_NEVER:
            row["last"] = None
        rows.append(row)
    return rows


def nts_result(section):
    """The ``nts`` part of the chrony dict from the probe's authdata section (None: not read, an older probe):
    {"access": ok | no_access | error, "sources": [authdata rows of NTS sources], "error": reason or None}."""
    if section is None:
        return None
    text, rc = section["text"], section["rc"]
    if rc != 0:
        if NOT_AUTHORISED_MARKER in text:
            return {"access": "no_access", "sources": [], "error": NTS_NO_ACCESS}
        return {"access": "error", "sources": [],
                "error": "chronyc authdata failed (rc=%s): %s" % (rc, _quote(text.strip(), 200))}
    try:
        rows = parse_authdata(text)
    except ChronycParseError as exc:
        return {"access": "error", "sources": [], "error": str(exc)}
    return {"access": "ok", "sources": [row for row in rows if row["mode"] == "NTS"], "error": None}


def nts_problems(nts):
    """One sentence per NTS source that cannot be authenticated (no cookies: no key exchange succeeded)."""
    problems = []
    for row in (nts or {}).get("sources") or []:
        if row.get("cookies"):
            continue
        naks = (", %d NAK(s) from the server: its keys changed (a restart without ntsdumpdir)" % row["naks"]
                if row.get("naks") else "")
        problems.append("NTS source %s has no cookies: no key exchange succeeded (%s attempt(s)%s, %s), so chronyd "
                        "cannot authenticate it and does not use it; %s" % (
                            row["name"], row.get("attempts"), naks,
                            "never" if row.get("last") is None else "last %s s ago" % row["last"], NTS_CHECK))
    return problems


def classify(tracking):
    """State from parsed tracking: "unsynchronised", "local" or "synchronised"."""
    if tracking["ref_id"] == REF_NONE or tracking["leap_status"] == "Not synchronised":
        return "unsynchronised"
    if tracking["ref_id"] == REF_LOCAL:
        return "local"
    return "synchronised"


def chrony_offset(tracking):
    """chrony's estimate of local clock minus true time (positive = local ahead)."""
    return 0.0 - tracking["system_time"]


def chrony_error_bound(tracking):
    """chrony's bound on the local clock error: |system_time| + root_dispersion + root_delay / 2."""
    return abs(tracking["system_time"]) + tracking["root_dispersion"] + 0.5 * tracking["root_delay"]


def is_not_running(text):
    """Whether chronyc's output says that no chronyd answered."""
    return NOT_RUNNING_MARKER in text


def _ns_depth(status_path):
    """How many PID namespaces deep the process of a /proc/PID/status file is (0: unknown)."""
    try:
        with open(status_path) as handle:
            for line in handle:
                if line.startswith("NSpid:"):
                    return len(line.split()) - 1
    except (OSError, ValueError):
        return 0
    return 0


def chronyd_visible(proc="/proc"):
    """Whether a process named chronyd runs in this PID namespace (not in a container below it)."""
    own = _ns_depth(os.path.join(proc, "self", "status"))
    try:
        pids = [name for name in os.listdir(proc) if name.isdigit()]
    except OSError:
        return False
    for pid in pids:
        try:
            with open(os.path.join(proc, pid, "comm")) as handle:
                if handle.read().strip() != "chronyd":
                    continue
        except (OSError, ValueError):
            continue
        if _ns_depth(os.path.join(proc, pid, "status")) == own:
            return True
    return False


def unanswered_state(text, no_access):
    """The chrony dict when chronyc got no answer ("Cannot talk to daemon"): no_access when a chronyd runs
    that this non-root user cannot reach (``no_access``), else not_running."""
    if no_access:
        return chrony_result("no_access", error="%s (chronyc said %s)" % (NO_ACCESS_HINT, _quote(text.strip(), 120)))
    return chrony_result("not_running", error="chronyd is not answering: %s" % _quote(text.strip(), 200))


def chrony_result(state, tracking=None, sources=None, error=None, nts=None):
    """Build the contract's ``chrony`` dict (offset and bound only when chrony has a reference; ``nts``:
    nts_result's, None when authdata was not read)."""
    usable = tracking is not None and state in ("synchronised", "local")
    return {
        "state": state,
        "tracking": tracking,
        "sources": sources or [],
        "offset": chrony_offset(tracking) if usable else None,
        "error_bound": chrony_error_bound(tracking) if usable else None,
        "error": error,
        "nts": nts,
    }


def chrony_probe_command(outer_timeout=CHRONYC_OUTER_TIMEOUT, max_output=MAX_OUTPUT):
    """One POSIX sh command printing tracking and sources between MARK lines.

    Output: ``MARK missing`` when chronyc is not installed; otherwise
    ``MARK tracking``, the output, ``MARK rc N``, and the same for sources and authdata (NTS; chronyd
    answers it only to root) - both skipped when tracking failed, so a dead daemon costs one bounded call.
    When tracking failed, ``MARK daemon seen`` (a non-root user, and a chronyd
    process in this PID namespace: pidof or pgrep, NSpid depth compared) or
    ``MARK daemon none``.  Everything after the chronyc check goes through
    ``head -c max_output+1`` where head has -c, so an accident (thousands of
    sources) cannot send more than the controller reads; the controller caps
    what it reads itself (a hostile host controls its own shell).
    The command itself always exits 0.
    """
    chronyc = "$T %s" % CHRONYC
    seen = " ".join((
        "fc_ns() { while read -r k v; do if [ \"$k\" = NSpid: ]; then set -- $v; echo $#; return; fi; done"
        " <\"$1\"; echo 0; };",
        "d=none; if [ \"$(id -u 2>/dev/null)\" != 0 ]; then s=$(fc_ns /proc/self/status 2>/dev/null);",
        "for p in $(pidof chronyd 2>/dev/null || pgrep -x chronyd 2>/dev/null); do",
        "if [ \"$(fc_ns /proc/$p/status 2>/dev/null)\" = \"$s\" ]; then d=seen; fi; done; fi;",
        "echo \"%s daemon $d\";" % MARK,
    ))
    return " ".join((
        'PATH="$PATH:/usr/sbin:/sbin:/usr/local/sbin";',
        "if ! command -v chronyc >/dev/null 2>&1; then echo '%s missing'; exit 0; fi;" % MARK,
        "T=; if timeout 1 true >/dev/null 2>&1; then T='timeout %d'; fi;" % int(outer_timeout),
        "H=cat; if head -c 1 </dev/null >/dev/null 2>&1; then H='head -c %d'; fi;" % (int(max_output) + 1),
        "{",
        "echo '%s tracking'; %s tracking 2>&1; r=$?; echo \"%s rc $r\";" % (MARK, chronyc, MARK),
        'if [ "$r" -ne 0 ]; then %s exit 0; fi;' % seen,
        "echo '%s sources'; %s sources 2>&1; echo \"%s rc $?\";" % (MARK, chronyc, MARK),
        "echo '%s authdata'; %s authdata 2>&1; echo \"%s rc $?\";" % (MARK, chronyc, MARK),
        "} | $H;",
        "exit 0",
    ))


def _sections(stdout):
    """{name: {"text", "rc"}} of the MARK-delimited sections (linear: lines are joined once at the end)."""
    sections, parts = {}, {}
    current = None
    for line in stdout.splitlines():
        match = _SECTION_RE.match(line.strip())
        if match:
            name, arg = match.group(1), match.group(2)
            if name == "rc":
                if current is None:
                    raise ChronycParseError("probe output has an rc line outside a section")
                sections[current]["rc"] = int(arg) if arg is not None and arg.lstrip("-").isdigit() else None
                current = None
            elif name == "daemon":
                sections[name] = {"text": arg or "", "rc": None}
            else:
                current = name
                sections[name] = {"text": "", "rc": None}
                parts[name] = []
        elif current is not None:
            parts[current].append(line + "\n")
    for name, lines in parts.items():
        sections[name]["text"] = "".join(lines)
    return sections


def parse_chrony_probe(stdout, rc, stderr=""):
    """Turn the output of chrony_probe_command() (and the shell's rc) into the ``chrony`` dict.

    ``stderr`` is only quoted in the error when the markers are missing.

    ``stdout`` may be str or bytes; more than MAX_OUTPUT bytes is state "error" with that reason, unparsed.
    Never raises for bad input: garbled output becomes state "error" with a reason.
    """
    if not isinstance(stdout, (str, bytes, bytearray)):
        return chrony_result("error", error="chrony probe output is not text")
    if over_cap(stdout):
        return chrony_result("error", error=too_large("chrony probe output", stdout))
    stdout = sanitise(stdout)
    stderr = sanitise(stderr) if isinstance(stderr, (str, bytes, bytearray)) and not over_cap(stderr) else ""
    try:
        sections = _sections(stdout)
    except ChronycParseError as exc:
        return chrony_result("error", error=str(exc))
    if "missing" in sections:
        return chrony_result("missing", error="chronyc is not installed (not found in PATH, /usr/sbin, /sbin)")
    if "tracking" not in sections:
        return chrony_result(
            "error",
            error="chrony probe command failed (rc=%s) without its markers: %s"
            % (rc, _quote((stdout + stderr).strip(), 200)),
        )
    tracking_out = sections["tracking"]
    text, trc = tracking_out["text"], tracking_out["rc"]
    if is_not_running(text):
        return unanswered_state(text, (sections.get("daemon") or {}).get("text") == "seen")
    if trc in (124, 137, 143):
        reason = text.strip() or "chronyc got no answer within %ss" % CHRONYC_OUTER_TIMEOUT
        return chrony_result("not_running", error="chronyd is not answering: %s" % _quote(reason, 200))
    if trc != 0:
        return chrony_result("error", error="chronyc tracking failed (rc=%s): %s" % (trc, _quote(text, 200)))
    try:
        tracking = parse_tracking(text)
    except ChronycParseError as exc:
        return chrony_result("error", error=str(exc))
    state = classify(tracking)
    sources_out = sections.get("sources")
    if sources_out is None or sources_out["rc"] != 0:
        detail = sources_out["text"] if sources_out else "no sources section"
        return chrony_result(state, tracking, error="chronyc sources failed: %s" % _quote(detail, 200))
    try:
        sources = parse_sources(sources_out["text"])
    except ChronycParseError as exc:
        return chrony_result(state, tracking, error=str(exc))
    return chrony_result(state, tracking, sources, nts=nts_result(sections.get("authdata")))
