# -*- coding: utf-8 -*-
# Copyright (c) 2025 fleetclock maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Air-gapped sites: which hosts are time masters, what each host serves and polls, and the checks.

Pure functions on plain data (no Ansible objects), used by the ``chrony_airgap_plan`` filter.

A *record* describes one inventory host::

    {"site": "plant-a" or None, "master": bool, "address": "name or IP the others use",
     "ips": ["10.1.2.3"], "client_networks": ["10.1.2.0/24"], "sources": [...]}

``site`` None means the host belongs to the default site (the whole inventory). ``client_networks`` None means
they are set but could not be evaluated (e.g. a template on facts of a host outside the play): a warning.
"""

from __future__ import annotations

import ipaddress

from ansible_collections.fleetclock.timesync.plugins.module_utils.chrony_options import (
    STRATUM_MAX,
    STRATUM_MIN,
    validate_entry,
)
from ansible_collections.fleetclock.timesync.plugins.module_utils.chrony_settings import access_error
from ansible_collections.fleetclock.timesync.plugins.module_utils.chrony_values import (
    is_path,
    is_valid_host,
    show,
    where,
)
from ansible_collections.fleetclock.timesync.plugins.module_utils.values import as_int

DEFAULT_SITE = "all"
DEFAULT_STRATUM = 8
ALLOW_ALL = ("all", "0.0.0.0/0", "::/0")
SELF_NAMES = frozenset(("localhost", "127.0.0.1", "::1"))


def _ip(value):
    try:
        return ipaddress.ip_address(str(value))
    except ValueError:
        return None


def host_ips(record):
    """The IP addresses known for a host: its address when it is an IP, plus its gathered ones."""
    found = []
    for value in [record.get("address")] + list(record.get("ips") or []):
        address = _ip(value)
        if address is not None and not address.is_loopback and address not in found:
            found.append(address)
    return found


def site_members(site, records, groups):
    """Hosts of a site: the inventory group of that name, else the hosts whose ``site`` is that name.

    ``site`` None is the default site: every host without a site of its own.
    """
    if site is None:
        return sorted(name for name, record in records.items() if record.get("site") is None)
    if site in groups:
        return sorted(name for name in groups[site] if name in records)
    return sorted(name for name, record in records.items() if record.get("site") == site)


def site_masters(members, records, masters_group_hosts):
    """The masters among a site's members: in the masters group or flagged ``master``."""
    group = set(masters_group_hosts or [])
    return [name for name in members if name in group or records[name].get("master")]


def network_covers(networks, address):
    """True when ``address`` (ipaddress object) lies in one of ``networks`` (CIDR, address or ``all``)."""
    for network in networks:
        if str(network) == "all":
            return True
        try:
            if address in ipaddress.ip_network(str(network), strict=False):
                return True
        except ValueError:
            continue
    return False


def default_minsources(master_count):
    """minsources for a client: 1 with one or two masters (failover keeps working), else 2."""
    return 1 if master_count <= 2 else 2


def _names_of(name, record):
    names = {name, str(record.get("address") or name)}
    names.update(str(ip) for ip in host_ips(record))
    return names


def _source_names(sources):
    return [str(source.get("hostname")) for source in sources or [] if isinstance(source, dict)]


def _membership_errors(me, site, members, records, groups):
    """Errors when ``me`` names a site that does not exist or that it is not in."""
    if site is not None and site not in groups and members == [me] and len(records) > 1:
        return ["chrony_airgap_site '%s' of %s matches no inventory group and no other host; fix the name "
                "or put the site's hosts in a group of that name" % (site, me)]
    if me not in members:
        return ["%s has chrony_airgap_site '%s' but is not in the inventory group '%s'; add it to the group "
                "or change chrony_airgap_site" % (me, site, site)]
    return []


def _master_errors(site_label, members, masters, records, masters_group):
    """Errors when the site has no master or a master has no address its clients can poll."""
    if not masters:
        return ["air-gapped site '%s' has no time master: put at least one of its hosts (%s) in the group "
                "'%s' (chrony_airgap_masters_group) or set chrony_airgap_master: true on it"
                % (site_label, ", ".join(members), masters_group)]
    errors = []
    for name in masters:
        address = records[name].get("address") or name
        if not is_valid_host(str(address)):
            errors.append("time master %s has the address %s (chrony_airgap_address, else ansible_host, else its "
                          "inventory name), which is not an IP address or DNS name its clients can poll; set "
                          "chrony_airgap_address to one (an IPv6 zone id is an interface name: fe80::1%%eth0)"
                          % (name, show(address)))
    return errors


def settings_errors(stratum, source_options):
    """Errors of this host's own air-gap settings, named as the user set them (the plan copies them into
    chrony_local and chrony_sources, whose checks would name those instead)."""
    errors = []
    number = as_int(stratum)
    if number is None or not STRATUM_MIN <= number <= STRATUM_MAX:
        errors.append("chrony_airgap_stratum must be between %d and %d, got %s" % (STRATUM_MIN, STRATUM_MAX, show(stratum)))
    var = "chrony_airgap_source_options"
    item = dict(source_options, hostname="192.0.2.1")  # a placeholder master: only the options are checked here
    label = where(var, 0, item)
    errors.extend(error.replace(label, var) for error in validate_entry("source", item, 0, var))
    return errors


def _network_errors(name, networks):
    """Errors of a master's chrony_airgap_client_networks entries (they become its allow lines)."""
    return ["time master %s: chrony_airgap_client_networks[%d] %s %s; use e.g. 192.0.2.0/24, 2001:db8::/32 or all"
            % (name, index, show(network), access_error(network))
            for index, network in enumerate(networks) if access_error(network)]


def check_site(site_label, masters, clients, records, me):
    """Site-wide checks on every master: it does not poll itself, and it serves its site's clients (and the
    other masters).  Returns ``(errors, warnings)``: the same on every host of the site (``me`` only names
    the host whose view lacked a master's networks), so the whole site stops before any change."""
    errors, warnings = [], []
    for name in masters:
        itself = set(_source_names(records[name].get("sources"))) & (_names_of(name, records[name]) | SELF_NAMES)
        if itself:
            errors.append("time master %s lists itself (%s) as a source in chrony_sources; remove it (the role adds "
                          "the other masters itself)" % (name, ", ".join(sorted(itself))))
        networks = records[name].get("client_networks", [])
        if networks is None:
            warnings.append("cannot check what time master %s of site '%s' serves: its chrony_airgap_client_networks "
                            "cannot be evaluated from %s (gather its facts: include it in the play)" % (name, site_label, me))
            continue
        networks = list(networks)
        bad = _network_errors(name, networks)
        if bad:
            errors.extend(bad)
            continue
        if not networks:
            errors.append("time master %s of site '%s' has no chrony_airgap_client_networks: list the networks of "
                          "the site's clients (CIDRs) it must serve (the role never writes 'allow all' by itself)"
                          % (name, site_label))
            continue
        others = clients + ([m for m in masters if m != name] if len(masters) > 1 else [])
        for other in others:
            addresses = host_ips(records[other])
            if not addresses:
                warnings.append("cannot check that %s's chrony_airgap_client_networks cover %s: no IP address known "
                                "(gather its facts or set chrony_airgap_address)" % (name, other))
            elif not any(network_covers(networks, address) for address in addresses):
                errors.append("chrony_airgap_client_networks of time master %s (%s) do not cover %s (%s) of site "
                              "'%s': add its network, or %s will refuse to serve it"
                              % (name, ", ".join(str(n) for n in networks), other,
                                 ", ".join(str(a) for a in addresses), site_label, name))
    return errors, warnings


def plan_host(me, records, masters, site_label, options, stratum=DEFAULT_STRATUM, minsources=None):
    """What ``me`` serves and polls in its site: ``role``, ``sources``, ``allow``, ``local``, ``minsources``, with
    the ``errors`` and ``warnings`` of its own settings.  ``options``: the keys of every line to a master."""
    record = records.get(me, {})
    out = {"role": "client", "sources": [], "allow": [], "local": {}, "minsources": None, "errors": [], "warnings": []}
    master_addresses = set()
    for name in masters:
        master_addresses.update(_names_of(name, records[name]))

    def source_for(name):
        line = {"hostname": str(records[name].get("address") or name)}
        line.update(options)
        return line

    if me in masters:
        own = [s for s in record.get("sources") or []
               if not (isinstance(s, dict) and str(s.get("hostname")) in master_addresses)]
        out.update(role="master", sources=own + [source_for(name) for name in masters if name != me],
                   allow=list(record.get("client_networks") or []), local={"stratum": stratum, "orphan": len(masters) > 1})
        if any(str(n) in ALLOW_ALL for n in out["allow"]):
            out["warnings"].append("time master %s serves every network (chrony_airgap_client_networks contains 'all' "
                                   "or a /0): list the site's networks instead unless that is intended" % me)
        return out
    extra = [s for s in _source_names(record.get("sources")) if s not in master_addresses]
    if extra:
        out["errors"].append("%s is a client of air-gapped site '%s' but chrony_sources lists %s: a client polls only "
                             "the site's masters (%s); remove chrony_sources or make the host a master"
                             % (me, site_label, ", ".join(extra), ", ".join(masters)))
    out["sources"] = [source_for(name) for name in masters]
    count = len(masters)
    if minsources is None:
        out["minsources"] = default_minsources(count)
    elif int(minsources) > count:
        out["errors"].append("chrony_minsources is %s but site '%s' has only %d master(s): chrony would never "
                             "synchronise; lower it to at most %d" % (minsources, site_label, count, count))
    else:
        out["minsources"] = int(minsources)
    return out


# --- NTS between the site's hosts (chrony_airgap_nts) -------------------------------------------------------------
# The role variables of NTS and what each must be: (variable, key in the ``nts`` settings, check, what it must be).
# The controller paths are read on the controller (lookup), so only a newline or another control character, which
# no file name an engineer means has, is refused; the host paths reach chrony.conf and must be chrony words.
NTS_FILE_NAMES = {"cert": "server.crt", "key": "server.key", "trusted": "trusted.crt"}
NTS_KEY_MODE, NTS_PUBLIC_MODE = "0640", "0644"


def _controller_path(value):
    return isinstance(value, str) and value.strip() != "" and all(" " <= c != "\x7f" for c in value)


def _count_ge_1(value):
    number = as_int(value)
    return number is not None and number >= 1 and not isinstance(value, bool)


NTS_SETTINGS = (
    ("chrony_airgap_nts", "enabled", lambda v: isinstance(v, bool), "true or false"),
    ("chrony_airgap_nts_cert", "cert", lambda v: v is None or _controller_path(v),
     "a path on the controller to the master's PEM certificate (without newlines or control characters)"),
    ("chrony_airgap_nts_key", "key", lambda v: v is None or _controller_path(v),
     "a path on the controller to the master's PEM private key (without newlines or control characters)"),
    ("chrony_airgap_nts_trusted_certs", "trusted_certs", lambda v: v is None or _controller_path(v),
     "a path on the controller to the PEM certificate(s) the site's hosts trust, or null for the masters' own "
     "certificates (without newlines or control characters)"),
    ("chrony_airgap_nts_nocerttimecheck", "nocerttimecheck", lambda v: v is None or _count_ge_1(v),
     "null or a number of clock updates >= 1"),
    ("__chrony_nts_dir (the role's per-OS directory for the NTS files)", "dir", is_path,
     "an absolute path without spaces, quotes or '#'"),
)


def nts_settings_errors(nts):
    """Errors of this host's own NTS settings, each naming the variable and what it must be (NTS_SETTINGS)."""
    return ["%s must be %s, got %s" % (var, what, show(nts.get(key)))
            for var, key, test, what in NTS_SETTINGS if not test(nts.get(key))]


def nts_site_errors(me, role, nts, masters, records):
    """Errors of NTS across the site: a master serving NTS needs its certificate and key; a host polling the masters
    with NTS needs every master to serve it and, without chrony_airgap_nts_trusted_certs, every master's
    certificate to trust."""
    errors = []
    if role == "master":
        for var, key in (("chrony_airgap_nts_cert", "cert"), ("chrony_airgap_nts_key", "key")):
            if nts.get(key) is None:
                errors.append("time master %s has chrony_airgap_nts true but no %s: set it to the path on the "
                              "controller of the master's PEM %s (see docs/airgap.md, NTS)"
                              % (me, var, "certificate" if key == "cert" else "private key"))
    polled = [name for name in masters if name != me]
    for name in polled:
        if records[name].get("nts") is not True:
            errors.append("%s polls time master %s with NTS (chrony_airgap_nts true) but %s does not serve NTS "
                          "(its chrony_airgap_nts is false): set chrony_airgap_nts for the whole site (group_vars)"
                          % (me, name, name))
    if nts.get("trusted_certs") is None:
        missing = [name for name in polled if not records[name].get("nts_cert")]
        if missing:
            errors.append("%s polls the masters with NTS but chrony_airgap_nts_cert is not set on %s, so there is "
                          "no certificate to trust: set chrony_airgap_nts_cert on every master or "
                          "chrony_airgap_nts_trusted_certs (a CA) on %s" % (me, ", ".join(missing), me))
    return errors


def nts_plan(me, role, nts, masters, records):
    """What a host with NTS writes: ``directives`` (chrony.conf's ntsservercert, ntsserverkey, ntstrustedcerts,
    nocerttimecheck: paths on the host), ``files`` (each ``dest`` on the host from ``sources``, paths on the
    controller concatenated; ``secret`` for the key, mode 0640 group chrony), ``controller_files`` (every source,
    once), ``address`` (the name the site's hosts poll this one by) and ``serve`` (a master: NTS-KE on TCP 4460)."""
    folder = nts["dir"].rstrip("/") or "/"
    path = dict((key, "%s/%s" % (folder.rstrip("/"), name)) for key, name in NTS_FILE_NAMES.items())
    out = {"enabled": True, "serve": role == "master", "directives": {}, "files": [], "controller_files": [],
           "address": str(records.get(me, {}).get("address") or me), "cert": nts.get("cert")}
    if role == "master":
        out["directives"].update(ntsservercert=path["cert"], ntsserverkey=path["key"])
        out["files"] += [{"dest": path["cert"], "sources": [nts["cert"]], "secret": False, "mode": NTS_PUBLIC_MODE},
                         {"dest": path["key"], "sources": [nts["key"]], "secret": True, "mode": NTS_KEY_MODE}]
    polled = [name for name in masters if name != me]
    if polled:
        trusted = [nts["trusted_certs"]] if nts.get("trusted_certs") is not None else \
            [records[name]["nts_cert"] for name in polled]
        out["directives"]["ntstrustedcerts"] = path["trusted"]
        out["files"].append({"dest": path["trusted"], "sources": list(dict.fromkeys(trusted)), "secret": False,
                             "mode": NTS_PUBLIC_MODE})
    if nts.get("nocerttimecheck") is not None:
        out["directives"]["nocerttimecheck"] = as_int(nts["nocerttimecheck"])
    for item in out["files"]:
        out["controller_files"] += [s for s in item["sources"] if s not in out["controller_files"]]
    return out


def _dns_matches(pattern, name):
    """RFC 6125 matching: case-insensitive, a trailing dot ignored, ``*`` only as the whole leftmost label."""
    pattern, name = pattern.lower().rstrip("."), name.lower().rstrip(".")
    if pattern.startswith("*."):
        head, _dot, rest = name.partition(".")
        return bool(head) and rest == pattern[2:] and "*" not in rest
    return pattern == name


def nts_cert_errors(master, address, dns_names, ip_addresses, not_before=None, not_after=None, now=None):
    """``(errors, warnings)`` of a master's NTS certificate, from its subjectAltName entries and validity (datetimes).

    Clients verify the certificate against the name on their ``server`` line (``address``: chrony_airgap_address,
    else ansible_host, else the inventory name): an IP address must be an IP SAN (a DNS SAN of the same text does
    not count), a name must match a DNS SAN (``*.example.com`` covers one label).  An expired certificate is an
    error; one not valid yet is a warning (clients whose clocks are behind notBefore refuse it until then, unless
    chrony_airgap_nts_nocerttimecheck lets them skip the time check for their first clock updates).
    """
    errors, warnings = [], []
    ip = _ip(address)
    sans = ["IP:%s" % a for a in ip_addresses] + ["DNS:%s" % n for n in dns_names]
    if ip is not None:
        covered = any(_ip(a) == ip for a in ip_addresses)
        wanted = "IP:%s" % ip
    else:
        covered = any(_dns_matches(str(n), str(address)) for n in dns_names)
        wanted = "DNS:%s" % address
    if not covered:
        errors.append("the NTS certificate of time master %s (chrony_airgap_nts_cert) does not name %s, which its "
                      "clients put on their server line (chrony_airgap_address, else ansible_host, else the inventory "
                      "name): its subjectAltName is %s; issue it with subjectAltName %s, or set chrony_airgap_address "
                      "to a name it covers (the key exchange would fail and clients get no cookies)"
                      % (master, show(str(address)), ", ".join(sans) or "missing", wanted))
    if now is not None and not_after is not None and not_after <= now:
        errors.append("the NTS certificate of time master %s (chrony_airgap_nts_cert) expired at %s; issue a new one"
                      % (master, not_after.isoformat()))
    if now is not None and not_before is not None and not_before > now:
        warnings.append("the NTS certificate of time master %s is not valid before %s (the controller's clock): "
                        "clients whose clocks are behind refuse it until then; set "
                        "chrony_airgap_nts_nocerttimecheck on them or issue it with an earlier notBefore"
                        % (master, not_before.isoformat()))
    return errors, warnings


def build_plan(me, records, groups, play_hosts=None, masters_group="time_masters", stratum=DEFAULT_STRATUM,
               source_options=None, minsources=None, nts=None):
    """Plan one host of an air-gapped site: check the site (check_site), then plan the host (plan_host).

    ``me``: this host's name; ``records``: name -> record for every inventory host; ``groups``: the
    inventory groups; ``play_hosts``: the hosts in the play (the clients checked for coverage; default
    every member); ``masters_group``: the group that holds the masters; ``stratum``: the masters'
    ``local stratum``; ``source_options``: extra source keys (e.g. minpoll, maxpoll) for every line
    that points at a master; ``minsources``: an explicit value for the clients (None: computed).

    Returns a dict: ``site``, ``role`` (master/client), ``masters`` (names), ``sources`` (dicts for
    chrony_sources), ``allow`` (masters), ``local`` (dict for chrony_local, masters), ``minsources``
    (clients), ``errors`` and ``warnings`` (lists of sentences naming what to change). Site-wide checks
    give the same errors on every host of the site, so the whole site stops before any change.

    ``nts``: this host's NTS settings (``enabled``, ``cert``, ``key``, ``trusted_certs``, ``nocerttimecheck``,
    ``dir``; chrony_airgap_nts*); with ``enabled`` every line to a master gets ``nts`` and the plan's ``nts``
    says what to write (nts_plan). Other hosts' ``nts`` and ``nts_cert`` come from their records.
    """
    site = records.get(me, {}).get("site")
    site_label = site if site is not None else DEFAULT_SITE
    members = site_members(site, records, groups)
    plan = {"site": site_label, "role": "client", "masters": [], "sources": [], "allow": [], "local": {},
            "minsources": None, "errors": _membership_errors(me, site, members, records, groups), "warnings": []}
    if plan["errors"]:
        return plan
    masters = plan["masters"] = site_masters(members, records, groups.get(masters_group, []))
    plan["errors"] = _master_errors(site_label, members, masters, records, masters_group)
    if plan["errors"]:
        return plan

    options = dict(source_options or {})
    options.setdefault("iburst", True)
    if "hostname" in options:
        plan["errors"].append("chrony_airgap_source_options must not set hostname (the masters' addresses are used)")
        options.pop("hostname")
    plan["errors"].extend(settings_errors(stratum, options))
    nts = dict(nts or {})
    nts.setdefault("enabled", False)
    nts.setdefault("dir", "/etc/chrony/nts")
    nts_errors = nts_settings_errors(nts)
    plan["errors"].extend(nts_errors)
    nts_on = nts["enabled"] is True and not nts_errors
    if nts_on:
        options["nts"] = True
    clients = [name for name in members if name not in masters and (play_hosts is None or name in play_hosts)]
    errors, warnings = check_site(site_label, masters, clients, records, me)
    host = plan_host(me, records, masters, site_label, options, stratum, minsources)
    plan.update(host, errors=plan["errors"] + errors + host["errors"], warnings=warnings + host["warnings"])
    plan["nts"] = {"enabled": False, "serve": False, "directives": {}, "files": [], "controller_files": []}
    if nts_on:
        site_errors = nts_site_errors(me, host["role"], nts, masters, records)
        plan["errors"].extend(site_errors)
        if not site_errors:
            plan["nts"] = nts_plan(me, host["role"], nts, masters, records)
    return plan


# chrony.conf directives that bring time from somewhere: the host is the second word (refclock: driver and
# parameter; initstepslew: every word after the threshold); the others are refused outright.
_SOURCE_DIRECTIVES = ("server", "pool", "peer", "refclock", "initstepslew")
_REFUSED_DIRECTIVES = ("sourcedir", "include", "confdir", "manual")
_COMMENT_STARTS = ("#", "!", ";", "%")


def foreign_source_lines(text, allowed_hostnames):
    """Lines of a rendered chrony.conf that take time from anything but the allowed hosts.

    Returns the offending lines: any ``pool``, ``peer``, ``refclock``, ``server`` or ``initstepslew`` line naming a
    host that is not in ``allowed_hostnames`` (a master's own upstream sources and refclocks are passed in by the
    caller), and any ``manual`` (time set by hand through chronyc), ``include``, ``confdir`` or ``sourcedir`` line.
    """
    allowed = set(str(name) for name in allowed_hostnames)
    bad = []
    for raw in (text or "").splitlines():
        line = raw.strip()
        if not line or line.startswith(_COMMENT_STARTS):
            continue
        words = line.split()
        directive = words[0].lower()
        if directive in _REFUSED_DIRECTIVES:
            bad.append(line)
        elif directive == "refclock":
            if " ".join(words[:3]) not in allowed:
                bad.append(line)
        elif directive == "initstepslew":
            if any(host not in allowed for host in words[2:]):
                bad.append(line)
        elif directive in _SOURCE_DIRECTIVES and (words[1] if len(words) > 1 else "") not in allowed:
            bad.append(line)
    return bad


# The role settings an air-gap plan decides; everything else stays as the user set it.
PLANNED_SETTINGS = ("chrony_cloud", "chrony_sources_mode", "chrony_sources", "chrony_allow", "chrony_local",
                    "chrony_minsources", "chrony_nts")


def apply_plan(settings, plan):
    """The settings in effect for a host: the user's ``settings`` (role variable -> value) with ``plan`` applied.

    No plan (None): the user's settings as they are.  With a plan, the host takes time only from its site: no cloud,
    the plan's sources (replacing the user's; a master keeps its own upstream through the plan), the plan's
    ``local`` and ``minsources``; a master serves the plan's networks plus the user's own ``chrony_allow``.
    The user's variables are never changed: this returns a new dict.
    """
    effective = dict(settings)
    if not plan:
        return effective
    user_allow = list(settings.get("chrony_allow") or [])
    allow = user_allow
    if plan.get("role") == "master":
        allow = list(plan.get("allow") or [])
        allow += [network for network in user_allow if network not in allow]
    effective.update({"chrony_cloud": "none", "chrony_sources_mode": "replace",
                      "chrony_sources": list(plan.get("sources") or []), "chrony_allow": allow,
                      "chrony_local": dict(plan.get("local") or {}), "chrony_minsources": plan.get("minsources"),
                      "chrony_nts": dict((plan.get("nts") or {}).get("directives") or {})})
    return effective
