# -*- coding: utf-8 -*-
# Copyright (c) 2025 fleetclock maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The NTS files of an air-gapped site checked on the controller before any host changes (chrony_airgap_nts).
Controller only (plugin_utils, not module_utils: it needs cryptography, which managed hosts need not have).

``check_nts_files(texts, nts, master, now)``: ``texts`` maps each controller path of the plan's
``nts.controller_files`` to its text; ``nts`` is the host's plan (airgap.nts_plan). Every certificate file the
host gets must be PEM; a master's certificate must name the address its clients poll and be valid
(airgap.nts_cert_errors), and its key must belong to it. Uses ``cryptography`` (ansible-core's own dependency on
the controller); without it the result is one warning, not an error.
"""

from __future__ import annotations

import datetime

from ansible_collections.fleetclock.timesync.plugins.module_utils.airgap import nts_cert_errors

NO_CRYPTOGRAPHY = ("cannot check the NTS certificates on the controller (the Python package cryptography is missing): "
                   "clients show no NTS cookies if a name is wrong")


def certificates(text):
    """The certificates of a PEM text; ValueError when there is none."""
    from cryptography import x509  # pylint: disable=import-outside-toplevel  # controller only
    certs = x509.load_pem_x509_certificates(text.encode("ascii", "replace"))
    if not certs:
        raise ValueError("no certificate")
    return certs


def subject_alt_names(cert):
    """(DNS names, IP addresses as text) of a certificate's subjectAltName; both empty without one."""
    from cryptography import x509  # pylint: disable=import-outside-toplevel
    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return [], []
    return names.get_values_for_type(x509.DNSName), [str(a) for a in names.get_values_for_type(x509.IPAddress)]


def validity(cert, name):
    """A validity bound (``not_valid_before`` / ``not_valid_after``) as an aware UTC datetime (cryptography < 42
    has only the naive attribute)."""
    value = getattr(cert, name + "_utc", None)
    return value if value is not None else getattr(cert, name).replace(tzinfo=datetime.timezone.utc)


def _key_errors(master, key_path, key_text, cert, cert_path):
    from cryptography.hazmat.primitives import serialization  # pylint: disable=import-outside-toplevel
    try:
        key = serialization.load_pem_private_key(key_text.encode("ascii", "replace"), None)
    except (ValueError, TypeError):
        return ["chrony_airgap_nts_key of time master %s (%s) is not an unencrypted PEM private key" % (master, key_path)]
    spki = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    if key.public_key().public_bytes(*spki) != cert.public_key().public_bytes(*spki):
        return ["chrony_airgap_nts_key of time master %s (%s) does not belong to its chrony_airgap_nts_cert (%s): use "
                "the key the certificate was issued for" % (master, key_path, cert_path)]
    return []


def check_nts_files(texts, nts, master=None, now=None):
    """{"errors": [...], "warnings": [...]} for the NTS files of one host's plan (see the module docstring)."""
    errors, warnings = [], []
    nts = dict(nts or {})
    if not nts.get("enabled"):
        return {"errors": errors, "warnings": warnings}
    try:
        import cryptography  # noqa: F401  pylint: disable=import-outside-toplevel,unused-import
    except ImportError:
        return {"errors": [], "warnings": [NO_CRYPTOGRAPHY]}
    now = now or datetime.datetime.now(datetime.timezone.utc)
    for item in nts.get("files") or []:
        if item.get("secret"):
            continue
        for path in item.get("sources") or []:
            try:
                certificates(texts.get(path, ""))
            except ValueError:
                errors.append("%s (for %s) is not a PEM certificate: chrony_airgap_nts_cert or "
                              "chrony_airgap_nts_trusted_certs must name PEM files" % (path, item.get("dest")))
    if nts.get("serve") and not errors:
        cert = certificates(texts[nts["cert"]])[0]
        dns, ips = subject_alt_names(cert)
        found = nts_cert_errors(master, nts.get("address"), dns, ips, validity(cert, "not_valid_before"),
                                validity(cert, "not_valid_after"), now)
        errors += found[0]
        warnings += found[1]
        key_path = [i["sources"][0] for i in nts["files"] if i.get("secret")][0]
        errors += _key_errors(master, key_path, texts.get(key_path, ""), cert, nts["cert"])
    return {"errors": errors, "warnings": warnings}
