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

import math
import re

from ansible_collections.fleetclock.timesync.plugins.module_utils.hostout import (
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

_NUM = r"[-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?"
_NUM_RE = re.compile(_NUM)
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
    if not isinstance(text, (str, bytes, bytearray)):
        raise DaemonParseError("%s output must be text, got %s" % (what, type(text).__name__))
    if over_cap(text):
        raise DaemonParseError(too_large(what, text))
    return sanitise(text)


def _finite(text, what):
    if not _NUM_RE.fullmatch(text or ""):
        raise DaemonParseError("%s is not a number: %s" % (what, quote(text, 60)))
    number = float(text)
    if not math.isfinite(number):
        raise DaemonParseError("%s is not a finite number: %s" % (what, quote(text, 60)))
    return number


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
    return {key: val.strip() for key, _, val in (part.strip().partition("=") for part in match.group(1).split(","))}


def _status_fields(text):
    """``timedatectl timesync-status`` (``Name: value`` lines) as a dict."""
    fields = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip():
            fields[key.strip()] = value.strip()
    return fields


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


def parse_timesyncd(show, status=None, flag=None):
    """systemd-timesyncd's view from ``timedatectl show-timesync`` (``show``: its text, or None when timedatectl
    could not be used), ``timesync-status`` (``status``, optional) and ``flag``: whether
    /run/systemd/timesync/synchronized exists (timesyncd touches it once synchronised; None: not checked).

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
    reference = chosen[0]["remote"] if chosen else refid
    if pairs["leap"] in ("11", "3") or stratum is None or not 0 < stratum < 16:
        return view(daemon, "unsynchronised", reference, stratum, error="ntpd is not synchronised (leap=%s, "
                    "stratum=%s, refid=%s)" % (pairs["leap"], pairs["stratum"], refid))
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


def parse_kernel(timedatectl=None, ntptime=None):
    """The kernel's timex verdict: (state in KERNEL_STATES, source or None).

    ``timedatectl show -p NTPSynchronized`` (``NTPSynchronized=yes|no``) first, else ``ntptime``'s status
    word (STA_UNSYNC, 0x40, set: unsynchronised).
    """
    for source, text in (("timedatectl", timedatectl), ("ntptime", ntptime)):
        if not isinstance(text, (str, bytes, bytearray)) or over_cap(text):
            continue
        text = sanitise(text)
        if source == "timedatectl":
            value = _properties(text).get("NTPSynchronized")
            if value in ("yes", "no"):
                return ("synchronised" if value == "yes" else "unsynchronised"), source
            continue
        match = _NTPTIME_STATUS_RE.search(text)
        if match:
            return ("unsynchronised" if int(match.group(1), 16) & STA_UNSYNC else "synchronised"), source
    return "unknown", None
