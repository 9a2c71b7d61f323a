# -*- coding: utf-8 -*-
# Copyright (c) 2025 fleetclock maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which time daemon runs on a host and what it says: systemd-timesyncd, ntpd/ntpsec, openntpd (chrony: chronyc.py).

Parsers of each daemon's own status tools, and of the kernel's timex verdict, for the audit's one visit:

* systemd-timesyncd: ``timedatectl show-timesync`` (systemd >= 239, needs dbus), ``timedatectl
  timesync-status`` (its offset and delay) and whether ``/run/systemd/timesync/synchronized`` exists;
* ntpd / ntpsec: ``ntpq -c rv`` (system variables) and ``ntpq -pn`` (peers);
* openntpd: ``ntpctl -s status`` and ``ntpctl -s peers``;
* the kernel: ``timedatectl show -p NTPSynchronized`` or ``ntptime`` (the timex STA_UNSYNC bit).  In a
  container that is the host's kernel, the same for every container on it.

Each daemon parser returns the contract's daemon view (``view``): the daemon's name, a state in the
report's one vocabulary (chronyc.STATES: synchronised / unsynchronised / not_running / local / missing,
error when the output cannot be read), its reference, stratum, offset and an error estimate where the
daemon gives one, and ``error`` (why not synchronised, or what could not be read).  Host output is
untrusted (hostout.py): parsed only up to MAX_OUTPUT bytes, in linear time, sanitised; garbled output is
state ``error`` with a reason, never an exception.  Pure functions, no Ansible imports, Python 3.8+.
"""

from __future__ import annotations

import re

from ansible_collections.fleetclock.timesync.plugins.module_utils.chronyc import nts_problems
from ansible_collections.fleetclock.timesync.plugins.module_utils.hostout import (
    MAX_OUTPUT,
    NUMBER,
    host_number,
    host_text,
    over_cap,
    quote,
    sanitise,
    too_large,
)

# The daemons the probe looks for, in the order the report prefers one as the host's daemon (chrony first:
# it is what the collection installs).  Process name (pidof), and what pgrep -x sees (comm: 15 characters).
CHRONY = "chrony"
TIMESYNCD = "systemd-timesyncd"
NTPD = "ntpd"
NTPSEC = "ntpsec"
OPENNTPD = "openntpd"
DAEMONS = (CHRONY, TIMESYNCD, NTPD, OPENNTPD)
VIEW_KEYS = ("daemon", "state", "reference", "stratum", "offset", "error_bound", "error")
KERNEL_STATES = ("synchronised", "unsynchronised", "unknown")

_NUM = NUMBER
_KV_RE = re.compile(r'([A-Za-z_][\w.]*)=("[^"\n]*"|[^,\s]*)')
_SPAN_UNITS = {"ns": 1e-9, "nsec": 1e-9, "us": 1e-6, "\u00b5s": 1e-6, "usec": 1e-6, "ms": 1e-3, "msec": 1e-3,
               "s": 1.0, "sec": 1.0, "min": 60.0, "m": 60.0, "h": 3600.0, "hr": 3600.0, "d": 86400.0}
_SPAN_PART_RE = re.compile(r"(%s)\s*([a-z\u00b5]*)" % _NUM)
_NTPMESSAGE_RE = re.compile(r"\{(.*)\}")
# ntpq's "no daemon" answers (ntpsec 1.2: "***Socket error; probably ntpd is not running", classic ntpq:
# "localhost: timed out, nothing received", "Connection refused").
_NTPQ_DOWN = ("Socket error", "timed out", "Connection refused", "nothing received")
# ntpctl's: "ntpctl: connect: /var/lib/openntpd/run/ntpd.sock: Connection refused" (or No such file...).
_NTPCTL_DOWN_RE = re.compile(r"ntpctl: connect: ")
_NTPCTL_STATUS_RE = re.compile(r"\s*(\d{1,6})/(\d{1,6}) peers valid")
_NTPCTL_STRATUM_RE = re.compile(r", stratum (\d{1,3})\b")
_NTPCTL_PEER_RE = re.compile(r"^\s*(\*?)\s*(\d+)\s+(\d+)\s+(\d+)\s+\S+\s+\S+\s+(%s)ms\s+(%s)ms\s+(%s)ms\s*$"
                             % (_NUM, _NUM, _NUM))
_NTPQ_PEER_RE = re.compile(r"^([*#o+x.\- ])(\S+)\s+(\S+)\s+(\d+)\s+\S+\s+\S+\s+\S+\s+\S+\s+(%s)\s+(%s)\s+(%s)\s*$"
                           % (_NUM, _NUM, _NUM))
_NTPTIME_STATUS_RE = re.compile(r"status (0x[0-9a-fA-F]+)")
STA_UNSYNC = 0x40


class DaemonParseError(ValueError):
    """A daemon's status output does not have the expected shape."""


def view(daemon, state, reference=None, stratum=None, offset=None, error_bound=None, error=None):
    """The contract's daemon view (VIEW_KEYS)."""
    return {"daemon": daemon, "state": state, "reference": reference, "stratum": stratum, "offset": offset,
            "error_bound": error_bound, "error": error}


def _text(text, what):
    """``text`` checked (str or bytes, at most MAX_OUTPUT bytes) and sanitised; raises DaemonParseError."""
    return host_text(text, what, DaemonParseError)


def _finite(text, what):
    return host_number(text, what, DaemonParseError, limit=60)


def parse_timespan(text):
    """systemd's timespan ("1min 4s", "+117us", "-1.5ms", "0") in seconds; raises DaemonParseError."""
    text = (text or "").strip()
    sign = -1.0 if text.startswith("-") else 1.0
    body = text.lstrip("+-").strip()
    if body in ("0", "0s"):
        return 0.0
    total, pos = 0.0, 0
    for match in _SPAN_PART_RE.finditer(body):
        if body[pos:match.start()].strip() or match.group(2) not in _SPAN_UNITS:
            raise DaemonParseError("not a systemd time span: %s" % quote(text, 60))
        total += _finite(match.group(1), "time span") * _SPAN_UNITS[match.group(2)]
        pos = match.end()
    if pos == 0 or body[pos:].strip():
        raise DaemonParseError("not a systemd time span: %s" % quote(text, 60))
    return sign * total


def _properties(text):
    """``Key=value`` lines (timedatectl show) as a dict."""
    props = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip().isidentifier():
            props[key.strip()] = value.strip()
    return props


def _ntp_message(value):
    """timedatectl's ``NTPMessage={ Leap=0, ..., Stratum=8, ... }`` as a dict of strings."""
    match = _NTPMESSAGE_RE.search(value or "")
    if not match:
        return {}
    pairs = (part.strip().partition("=") for part in match.group(1).split(","))
    return {pair[0]: pair[2].strip() for pair in pairs}


def _status_fields(text):
    """``timedatectl timesync-status`` (``Name: value`` lines) as a dict."""
    fields = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip():
            fields[key.strip()] = value.strip()
    return fields


# ``timedatectl status``'s line for the kernel's timex verdict: "System clock synchronized" (systemd 239+),
# "NTP synchronized" (systemd 219-238: the releases without ``timedatectl show`` / ``show-timesync``)
STATUS_SYNC_KEYS = ("System clock synchronized", "NTP synchronized")
LEGACY_TIMESYNCD = ("systemd older than 239 (no timedatectl show-timesync): the state is timedatectl status's "
                    "'NTP synchronized', the kernel's verdict (in a container: its host's kernel); server, stratum "
                    "and offset unknown")


def parse_timedatectl_status(text):
    """``timedatectl status`` (any systemd release): the kernel's verdict as True/False, or None when its
    synchronized line is absent; raises DaemonParseError for output that is not text within the cap."""
    fields = _status_fields(_text(text, "timedatectl status"))
    value = next((fields[key] for key in STATUS_SYNC_KEYS if key in fields), None)
    return {"yes": True, "no": False}.get(value)


def _bound(offset, *parts):
    """|offset| + the sum of ``parts`` (None when any is unknown)."""
    if offset is None or any(part is None for part in parts):
        return None
    return abs(offset) + sum(parts)


def _span_or_none(text):
    try:
        return parse_timespan(text) if text is not None else None
    except DaemonParseError:
        return None


def parse_timesyncd(show, status=None, flag=None, legacy=None):
    """systemd-timesyncd's view from ``timedatectl show-timesync`` (``show``: its text, or None when timedatectl
    could not be used), ``timesync-status`` (``status``, optional) and ``flag``: whether
    /run/systemd/timesync/synchronized exists (timesyncd touches it once synchronised; None: not checked).
    ``legacy``: ``timedatectl status``, read when show-timesync failed (systemd < 239 has neither show-timesync
    nor the flag file): its "NTP synchronized" line decides, said so in ``error`` (it is the kernel's verdict).

    State: synchronised when the flag exists and the last answer was usable (leap not 3, stratum 1-15);
    local never (timesyncd has no local mode).  Error estimate: |offset| + server root delay / 2 + server
    root dispersion + delay / 2, when timesync-status gave the offset and delay.
    """
    try:
        props = _properties(_text(show, "timedatectl show-timesync")) if show is not None else {}
        fields = _status_fields(_text(status, "timedatectl timesync-status")) if status is not None else {}
    except DaemonParseError as exc:
        return view(TIMESYNCD, "error", error=str(exc))
    if show is not None and "ServerName" not in props and "SystemNTPServers" not in props:
        return view(TIMESYNCD, "error", error="timedatectl show-timesync output has no ServerName: %s"
                    % quote(show.strip() if isinstance(show, str) else show, 200))
    name, address = props.get("ServerName") or None, props.get("ServerAddress") or None
    reference = "%s (%s)" % (name, address) if name and address and name != address else (name or address)
    message = _ntp_message(props.get("NTPMessage"))
    stratum = int(message["Stratum"]) if message.get("Stratum", "").isdigit() else None
    offset = _span_or_none(fields.get("Offset"))
    delay = _span_or_none(fields.get("Delay"))
    root_delay = _span_or_none(message.get("RootDelay"))
    root_disp = _span_or_none(message.get("RootDispersion"))
    bound = _bound(offset, (root_delay or 0.0) / 2 if root_delay is not None else None, root_disp,
                   delay / 2 if delay is not None else None)
    if show is None and legacy is not None:
        try:
            synced = parse_timedatectl_status(legacy)
        except DaemonParseError as exc:
            return view(TIMESYNCD, "error", error=str(exc))
        if synced is not None:
            return view(TIMESYNCD, "synchronised" if synced or flag else "unsynchronised", error=LEGACY_TIMESYNCD)
    if show is None:
        if flag is None:
            return view(TIMESYNCD, "unknown", error="timedatectl is not usable (it needs dbus; show-timesync needs "
                        "systemd 239 or later) and /run/systemd/timesync/synchronized was not checked")
        return view(TIMESYNCD, "synchronised" if flag else "unsynchronised",
                    error=None if flag else "/run/systemd/timesync/synchronized is absent (timedatectl is not "
                    "usable: it needs dbus, show-timesync systemd 239 or later; server, stratum and offset unknown)")
    if not message:
        return view(TIMESYNCD, "unsynchronised", reference, error="no answer from %s yet (no NTP message received)"
                    % (reference or "any server (none configured or resolved)"))
    if message.get("Leap") == "3" or stratum is None or not 0 < stratum < 16:
        return view(TIMESYNCD, "unsynchronised", reference, stratum, error="the last answer from %s is not "
                    "usable (leap %s, stratum %s)" % (reference, message.get("Leap"), message.get("Stratum")))
    if flag is False:
        return view(TIMESYNCD, "unsynchronised", reference, stratum, offset, bound,
                    error="/run/systemd/timesync/synchronized is absent: timesyncd has not synchronised the clock")
    return view(TIMESYNCD, "synchronised", reference, stratum, offset, bound)


def _ntpq_down(text):
    return any(marker in text for marker in _NTPQ_DOWN)


def parse_ntpq_rv(text):
    """``ntpq -c rv`` system variables as a dict of strings (quotes stripped); raises DaemonParseError."""
    text = _text(text, "ntpq -c rv")
    pairs = {key: value.strip('"') for key, value in _KV_RE.findall(text)}
    if "leap" not in pairs or "stratum" not in pairs:
        raise DaemonParseError("ntpq -c rv output has no leap and stratum: %s" % quote(text.strip(), 200))
    return pairs


def parse_ntpq_peers(text):
    """``ntpq -pn`` peers as a list of dicts (tally, remote, refid, stratum, delay/offset/jitter in s)."""
    peers = []
    for line in _text(text, "ntpq -pn").splitlines():
        match = _NTPQ_PEER_RE.match(line)
        if match:
            peers.append({"tally": match.group(1).strip(), "remote": match.group(2), "refid": match.group(3),
                          "stratum": int(match.group(4)), "delay": float(match.group(5)) / 1000,
                          "offset": float(match.group(6)) / 1000, "jitter": float(match.group(7)) / 1000})
    return peers


# RFC 5905 7.4 kiss codes ntpd shows as its refid while it has no reference (those an operator meets).
KISS_CODES = {
    "INIT": "no reference yet, ntpd has not synchronised since it started",
    "STEP": "no reference: ntpd is stepping the clock",
    "RATE": "no reference: a server asked ntpd to poll less often",
    "DENY": "no reference: a server denied access",
    "RSTR": "no reference: a server restricted access",
    "NKEY": "no reference: no key for the server",
    "AUTH": "no reference: authentication failed",
    "CRYP": "no reference: cryptographic authentication failed",
}


def parse_ntpd(rv, peers=None):
    """ntpd's or ntpsec's view from ``ntpq -c rv`` and (optional) ``ntpq -pn``.

    leap 11 or stratum 16: unsynchronised; refid LOCL / LOCAL(n) / 127.127.1.x: local; else synchronised.
    The reference is the system peer (``*`` in the peers) or the refid.  Error estimate: |offset| + rootdisp +
    rootdelay / 2 (ntpq prints milliseconds).
    """
    try:
        text = _text(rv, "ntpq -c rv")
        if _ntpq_down(text) and "leap=" not in text:
            return view(NTPD, "not_running", error="ntpd is not answering ntpq: %s" % quote(text.strip(), 200))
        pairs = parse_ntpq_rv(text)
        peer_list = parse_ntpq_peers(peers) if peers is not None else []
        stratum = int(pairs["stratum"]) if pairs["stratum"].isdigit() else None
        offset = _finite(pairs["offset"], "ntpq offset") / 1000 if "offset" in pairs else None
        root_delay = _finite(pairs["rootdelay"], "ntpq rootdelay") / 1000 if "rootdelay" in pairs else None
        root_disp = _finite(pairs["rootdisp"], "ntpq rootdisp") / 1000 if "rootdisp" in pairs else None
    except DaemonParseError as exc:
        return view(NTPD, "error", error=str(exc))
    daemon = NTPSEC if "ntpsec" in pairs.get("version", "").lower() else NTPD
    refid = pairs.get("refid") or None
    chosen = [peer for peer in peer_list if peer["tally"] == "*"]
    # a kiss code (INIT, STEP, RATE, DENY, ...) in place of a refid is a state, not a reference
    kiss = refid if refid and refid.strip(".").upper() in KISS_CODES else None
    reference = chosen[0]["remote"] if chosen else (None if kiss else refid)
    if pairs["leap"] in ("11", "3") or stratum is None or not 0 < stratum < 16:
        return view(daemon, "unsynchronised", reference, stratum, error="ntpd is not synchronised (leap=%s, "
                    "stratum=%s, refid=%s%s)" % (pairs["leap"], pairs["stratum"], refid, (
                        ": %s" % KISS_CODES[kiss.strip(".").upper()]) if kiss else ""))
    bound = _bound(offset, root_disp, root_delay / 2 if root_delay is not None else None)
    if refid and (refid.upper().startswith(("LOCL", "LOCAL")) or refid.startswith("127.127.1.")):
        return view(daemon, "local", "LOCAL", stratum, offset, bound)
    return view(daemon, "synchronised", reference, stratum, offset, bound)


def parse_ntpctl_peers(text):
    """``ntpctl -s peers`` as a list of dicts (address, selected, stratum, offset/delay/jitter in s)."""
    peers, address = [], None
    for line in _text(text, "ntpctl -s peers").splitlines():
        match = _NTPCTL_PEER_RE.match(line)
        if match and address is not None:
            peers.append({"address": address, "selected": match.group(1) == "*", "stratum": int(match.group(4)),
                          "offset": float(match.group(5)) / 1000, "delay": float(match.group(6)) / 1000,
                          "jitter": float(match.group(7)) / 1000})
            address = None
        elif line.strip() and not line.startswith(" ") and line.strip() != "peer":
            address = line.strip()
    return peers


def parse_openntpd(status, peers=None):
    """openntpd's view from ``ntpctl -s status`` and (optional) ``ntpctl -s peers``.

    "clock synced, stratum N": synchronised (reference: the selected peer, ``*``); "clock unsynced":
    unsynchronised.  Error estimate: |offset| + delay / 2 of the selected peer (ntpctl shows no root
    dispersion: a lower estimate than chrony's).
    """
    try:
        text = _text(status, "ntpctl -s status")
        if _NTPCTL_DOWN_RE.search(text):
            return view(OPENNTPD, "not_running", error="openntpd is not answering ntpctl: %s" % quote(text.strip(), 200))
        line = next((line for line in text.splitlines() if "clock synced" in line or "clock unsynced" in line), "")
        if not line:
            raise DaemonParseError("ntpctl -s status output says neither 'clock synced' nor 'clock unsynced': %s"
                                   % quote(text.strip(), 200))
        synced = "clock synced" in line
        counts = _NTPCTL_STATUS_RE.match(line)
        peer_list = parse_ntpctl_peers(peers) if peers is not None else []
    except DaemonParseError as exc:
        return view(OPENNTPD, "error", error=str(exc))
    chosen = [peer for peer in peer_list if peer["selected"]]
    peer = chosen[0] if chosen else None
    if not synced:
        return view(OPENNTPD, "unsynchronised", error="openntpd says 'clock unsynced' (%s)"
                    % ("%s/%s peers valid" % counts.groups() if counts else "no valid peer count"))
    stratum_match = _NTPCTL_STRATUM_RE.search(line)
    stratum = int(stratum_match.group(1)) if stratum_match else None
    if peer is None:
        return view(OPENNTPD, "synchronised", None, stratum)
    return view(OPENNTPD, "synchronised", peer["address"], stratum, peer["offset"],
                _bound(peer["offset"], peer["delay"] / 2))


def parse_kernel(timedatectl=None, ntptime=None, status=None):
    """The kernel's timex verdict: (state in KERNEL_STATES, source or None).

    ``timedatectl show -p NTPSynchronized`` (``NTPSynchronized=yes|no``) first, else ``timedatectl status``
    (``status``: systemd < 239 has no ``show``), else ``ntptime``'s status word (STA_UNSYNC, 0x40, set:
    unsynchronised).
    """
    for source, text in (("timedatectl", timedatectl), ("timedatectl status", status), ("ntptime", ntptime)):
        if not isinstance(text, (str, bytes, bytearray)) or over_cap(text):
            continue
        text = sanitise(text)
        if source == "timedatectl":
            value = _properties(text).get("NTPSynchronized")
            if value in ("yes", "no"):
                return ("synchronised" if value == "yes" else "unsynchronised"), source
            continue
        if source == "timedatectl status":
            synced = parse_timedatectl_status(text)
            if synced is not None:
                return ("synchronised" if synced else "unsynchronised"), source
            continue
        match = _NTPTIME_STATUS_RE.search(text)
        if match:
            return ("unsynchronised" if int(match.group(1), 16) & STA_UNSYNC else "synchronised"), source
    return "unknown", None


# ---------------------------------------------------------------- the probe's daemon part (same exec as chrony's)

MARK = "@@fleetclock-daemon@@"
DAEMON_OUTER_TIMEOUT = 5
_SECTION_RE = re.compile(r"^" + re.escape(MARK) + r" (\w+)(?: (.*))?$")
NO_DAEMON = ("no time daemon runs in this PID namespace (looked for chronyd, systemd-timesyncd, ntpd/ntpsec "
             "and openntpd)")
CONTAINER_KERNEL = ("this host is a container: the kernel's verdict is its host's kernel, the same for every "
                    "container there, not this container's")


def daemons_probe_command(outer_timeout=DAEMON_OUTER_TIMEOUT, max_output=MAX_OUTPUT):
    """One POSIX sh command: which daemons run (``MARK active NAME...``), whether this is a container
    (``MARK container yes|no``), then each running daemon's own status tools and the kernel's verdict, each
    between ``MARK <section>`` and ``MARK rc N``; capped by ``head -c`` where head has -c, every tool call
    bounded by ``timeout`` where there is one.  A daemon counts when a process of its name (/proc/PID/comm, read
    by the shell itself: one pass, no process per daemon) runs in this PID namespace (NSpid depth compared, so a
    daemon in a container below is not this host's); ntpd is openntpd
    when ntpctl is installed.  timedatectl show-timesync is only asked when timesyncd runs: asking it
    otherwise would start timesyncd through dbus activation.  The kernel's verdict: ``timedatectl show -p
    NTPSynchronized`` where systemd is the init (/run/systemd/system), else ``ntptime`` where installed.  A
    container: /.dockerenv, /run/.containerenv (podman) or /run/systemd/container (systemd's own record); files
    only, no process.  Always exits 0.
    """
    tool = "$T"
    # one pass over /proc/*/comm in the shell itself (no process per daemon, no pgrep/pidof needed), then the
    # NSpid depth of each match compared with the shell's own
    running = " ".join((
        "fc_ns() { d=0; while read -r k v; do if [ \"$k\" = NSpid: ]; then set -- $v; d=$#; break; fi; done"
        " <\"$1\"; } 2>/dev/null;",
        "fc_ns /proc/self/status; s=$d; f=' ';",
        "for c in /proc/[0-9]*/comm; do read -r n 2>/dev/null <\"$c\" || continue; case $n in",
        "chronyd|systemd-timesyn|ntpd) fc_ns \"${c%/comm}/status\"; if [ \"$d\" = \"$s\" ]; then f=\"$f$n \"; fi;;",
        "esac; done;",
    ))

    def section(name, command):  # leaves the command's exit status in $r
        return "fc_t; echo '%s %s'; %s %s 2>&1; r=$?; echo \"%s rc $r\";" % (MARK, name, tool, command, MARK)

    return " ".join((
        'PATH="$PATH:/usr/sbin:/sbin:/usr/local/sbin";',
        # whether timeout works is tried (one process) only before the first tool call; head: looked up only
        "T=; t=; L=; r=0; fc_t() { if [ -z \"$t\" ]; then t=1; if timeout 1 true >/dev/null 2>&1; then T='timeout %d'; fi; fi; };"
        % int(outer_timeout),
        "H=cat; if command -v head >/dev/null 2>&1; then H='head -c %d'; fi;" % (int(max_output) + 1),
        running,
        "{",
        "a=;",
        "case $f in *' chronyd '*) a=\"$a %s\";; esac;" % CHRONY,
        "case $f in *' systemd-timesyn'*) a=\"$a %s\";; esac;" % TIMESYNCD,
        "case $f in *' ntpd '*) if command -v ntpctl >/dev/null 2>&1; then a=\"$a %s\"; else a=\"$a %s\"; fi;; esac;"
        % (OPENNTPD, NTPD),
        "echo \"%s active$a\";" % MARK,
        "c=no; if [ -e /.dockerenv ] || [ -e /run/.containerenv ] || [ -s /run/systemd/container ]; then c=yes; fi;",
        "echo \"%s container $c\";" % MARK,
        "case \" $a \" in *' %s '*)" % TIMESYNCD,
        "if [ -e /run/systemd/timesync/synchronized ]; then echo '%s flag yes'; else echo '%s flag no'; fi;" % (MARK, MARK),
        "if command -v timedatectl >/dev/null 2>&1; then",
        section("timesyncd_show", "timedatectl show-timesync"),
        # systemd < 239: no show-timesync (nor timesync-status, nor the flag file): timedatectl status instead
        "if [ \"$r\" = 0 ]; then", section("timesyncd_status", "timedatectl timesync-status"),
        "else", section("timesyncd_legacy", "timedatectl status"), "if [ \"$r\" = 0 ]; then L=1; fi; fi;",
        "fi;; esac;",
        "case \" $a \" in *' %s '*) if command -v ntpq >/dev/null 2>&1; then" % NTPD,
        section("ntpq_rv", "ntpq -c rv"), section("ntpq_peers", "ntpq -pn"),
        "else echo '%s ntpq_missing'; fi;; esac;" % MARK,
        "case \" $a \" in *' %s '*)" % OPENNTPD,
        section("ntpctl_status", "ntpctl -s status"), section("ntpctl_peers", "ntpctl -s peers"),
        ";; esac;",
        "k=1; if [ -d /run/systemd/system ] && command -v timedatectl >/dev/null 2>&1; then",
        "fc_t; echo '%s kernel_timedatectl'; %s timedatectl show -p NTPSynchronized 2>&1; k=$?; echo \"%s rc $k\";"
        % (MARK, tool, MARK),
        # systemd < 239 has no show: timedatectl status (already read above when timesyncd runs there)
        "if [ \"$k\" != 0 ]; then if [ -n \"$L\" ]; then k=0; else",
        section("kernel_timedatectl_status", "timedatectl status"), "k=$r; fi; fi; fi;",
        "if [ \"$k\" != 0 ] && command -v ntptime >/dev/null 2>&1; then",
        section("kernel_ntptime", "ntptime"),
        "fi;",
        "} | $H;",
        "exit 0",
    ))


def _probe_sections(text):
    """{name: (text, rc)} of the MARK-delimited sections and {name: arg} of the one-line ones (linear)."""
    sections, lines, current = {}, {}, None
    parts = {}
    for line in text.splitlines():
        match = _SECTION_RE.match(line.strip())
        if not match:
            if current is not None:
                parts[current].append(line + "\n")
            continue
        name, arg = match.group(1), (match.group(2) or "").strip()
        if name == "rc" and current is not None:
            sections[current] = ("".join(parts.pop(current)), int(arg) if arg.lstrip("-").isdigit() else None)
            current = None
        elif name in ("active", "container", "flag", "ntpq_missing"):
            lines[name] = arg
        elif name != "rc":
            current = name
            parts[name] = []
    for name, collected in parts.items():  # cut short (head -c, a timeout): what came
        sections[name] = ("".join(collected), None)
    return sections, lines


def _ok(sections, name):
    """The text of section ``name`` when its command exited 0, else None."""
    text, rc = sections.get(name, (None, None))
    return text if rc == 0 else None


def _daemon_view(name, sections, lines):
    if name == TIMESYNCD:
        flag = {"yes": True, "no": False}.get(lines.get("flag"))
        show = _ok(sections, "timesyncd_show")
        got = parse_timesyncd(show, _ok(sections, "timesyncd_status"), flag, _ok(sections, "timesyncd_legacy"))
        failed = sections.get("timesyncd_show")
        if show is None and failed is not None and got["error"]:
            got["error"] = "%s; timedatectl show-timesync said %s" % (got["error"], quote(failed[0].strip(), 120))
        return got
    if name == NTPD:
        if "ntpq_missing" in lines:
            return view(NTPD, "unknown", error="ntpd runs but ntpq is not installed: its state cannot be read")
        rv = sections.get("ntpq_rv", ("", None))[0]
        return parse_ntpd(rv, _ok(sections, "ntpq_peers"))
    if name == OPENNTPD:
        return parse_openntpd(sections.get("ntpctl_status", ("", None))[0], _ok(sections, "ntpctl_peers"))
    return None


def parse_daemons_probe(stdout):
    """The output of daemons_probe_command() as ``{"active": [names], "views": {name: view}, "kernel": {...}}``,
    or None when it holds no daemon markers (an older probe, or the command did not run).  Never raises."""
    if not isinstance(stdout, (str, bytes, bytearray)):
        return None
    if over_cap(stdout):
        return {"active": [], "views": {}, "kernel": kernel_view("unknown", None, None),
                "error": too_large("time daemon probe output", stdout)}
    sections, lines = _probe_sections(sanitise(stdout))
    if "active" not in lines:
        return None
    active = [name for name in lines["active"].split() if name in DAEMONS]
    views = {}
    for name in active:
        got = _daemon_view(name, sections, lines)
        if got is not None:
            views[name] = got
    state, source = parse_kernel(_ok(sections, "kernel_timedatectl"), _ok(sections, "kernel_ntptime"),
                                 _ok(sections, "kernel_timedatectl_status") or _ok(sections, "timesyncd_legacy"))
    container = {"yes": True, "no": False}.get(lines.get("container"))
    return {"active": active, "views": views, "kernel": kernel_view(state, source, container), "error": None}


def kernel_view(state, source, container):
    """The kernel's verdict: state (KERNEL_STATES), the tool that read it, whether the host is a container."""
    return {"state": state, "source": source, "container": container}


def _chrony_view(chrony, reference):
    tracking = chrony.get("tracking") if isinstance(chrony.get("tracking"), dict) else {}
    return view(CHRONY, chrony.get("state"), reference(tracking), tracking.get("stratum"), chrony.get("offset"),
                chrony.get("error_bound"), chrony.get("error"))


KERNEL_DISAGREES = "the kernel's timex status says"


def warning_severity(container, text):
    """The severity of one of host_daemon's warnings on a host (``container``: whether it is a container):
    "info" for the kernel disagreeing in a container (that kernel is the container host's, the same for every
    container there: nothing this host can fix), else "warning"."""
    return "info" if container and text.startswith(KERNEL_DISAGREES) else "warning"


def host_daemon(chrony, daemons, reference):
    """The host's time daemon as the report shows it: the view of the first running daemon of DAEMONS (chrony's
    from ``chrony``, chronyc.py's dict), plus ``active`` (every running daemon), ``kernel`` and ``warnings``
    (several daemons at once; the kernel disagreeing with the daemon).  ``daemons``: parse_daemons_probe's
    result or None (an older probe: chrony's view alone).  ``reference``: probe_result.reference."""
    chrony = chrony if isinstance(chrony, dict) else {"state": "unknown"}
    if not isinstance(daemons, dict):  # not read: chrony's view, named chrony only when chrony answered
        out = _chrony_view(chrony, reference)
        if out["state"] in ("missing", "unknown", "error", None):
            out["daemon"] = None
        out.update(active=None, kernel=None, warnings=nts_problems(chrony.get("nts")))
        return out
    active, views = daemons.get("active") or [], dict(daemons.get("views") or {})
    if CHRONY in active or chrony.get("state") not in ("missing", "not_running"):
        views[CHRONY] = _chrony_view(chrony, reference)
    chosen = next((views[name] for name in DAEMONS if name in active and name in views), None)
    if chosen is None:
        if chrony.get("state") not in ("missing", None):
            chosen = _chrony_view(chrony, reference)
        else:
            chosen = view(None, "missing", error=daemons.get("error") or NO_DAEMON)
    out = dict(chosen)
    # chrony's NTS sources that cannot be authenticated (chronyc authdata: no cookies), whichever daemon is shown
    warnings = nts_problems(chrony.get("nts"))
    if len(active) > 1:
        warnings.append("several time daemons run at once and fight over the clock: %s; keep one"
                        % ", ".join(views.get(name, {}).get("daemon") or name for name in active))
    kernel = daemons.get("kernel") or kernel_view("unknown", None, None)
    if kernel["state"] != "unknown" and out["state"] in ("synchronised", "unsynchronised") \
            and kernel["state"] != out["state"]:
        warnings.append(KERNEL_DISAGREES + " %s (%s) but %s says %s%s" % (
            kernel["state"], kernel["source"], out["daemon"], out["state"],
            " (%s)" % CONTAINER_KERNEL if kernel.get("container") else
            ": the daemon may not be steering this clock (no clock control)"))
    # the running daemons by the name their own view gives (ntpd's process is ntpsec's too: ntpq's version says)
    out.update(active=[views.get(name, {}).get("daemon") or name for name in active], kernel=kernel,
               warnings=warnings)
    return out
