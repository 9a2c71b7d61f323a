"""Tests for plugins/filter/chrony.py (the role's render tests exercise them through ansible-playbook)."""
import os

import pytest
from ansible.errors import AnsibleError

from ansible_collections.fleetclock.timesync.plugins.filter.chrony import FilterModule

FILTER_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "plugins", "filter")
F = FilterModule().filters()


def test_every_filter_has_a_doc_file():
    for name in FilterModule().filters():
        assert os.path.isfile(os.path.join(FILTER_DIR, name + ".yml")), name


def test_source_line():
    src = {"hostname": "169.254.169.123", "iburst": True, "prefer": True, "minpoll": 4, "maxpoll": 4}
    assert F["chrony_source_line"](src) == \
        "server 169.254.169.123 prefer iburst minpoll 4 maxpoll 4"


def test_source_line_refuses_bad_input():
    with pytest.raises(AnsibleError, match="not a DNS name"):
        F["chrony_source_line"]({"hostname": "a\nallow all"})


def test_refclock_line():
    ref = {"driver": "PHC", "parameter": "/dev/ptp_hyperv", "poll": 3, "dpoll": -2, "offset": 0, "stratum": 2}
    assert F["chrony_refclock_line"](ref) == \
        "refclock PHC /dev/ptp_hyperv poll 3 dpoll -2 offset 0 stratum 2"
    with pytest.raises(AnsibleError, match="stratum"):
        F["chrony_refclock_line"](dict(ref, stratum=16))


def test_validate_sources_and_refclocks():
    assert F["chrony_validate_sources"]([{"hostname": "h"}]) == []
    errors = F["chrony_validate_sources"]([{"hostname": "h h"}], "my_sources")
    assert len(errors) == 1 and errors[0].startswith("my_sources[0]")
    errors = F["chrony_validate_refclocks"]([{"driver": "PHC"}])
    assert errors[0].startswith("chrony_refclocks[0]")


def test_validate_config():
    assert F["chrony_validate_config"]({"chrony_allow": ["10.0.0.0/8"]}) == []
    errors = F["chrony_validate_config"]({"chrony_allow": ["10.0.0.1/8"]})
    assert errors[0].startswith("chrony_allow[0]")
    resolved = {"cloud": "gcp", "sources": [{"hostname": "x"}], "refclocks": [], "leap_smearing": True}
    errors = F["chrony_validate_config"]({"chrony_sources": [{"hostname": "ntp.example.com"}]}, resolved)
    assert "smear leap seconds" in errors[0]


def test_detect_and_resolve():
    aws = {"aws": {"detect": [{"fact": "system_vendor", "equals": "Amazon EC2"}]}}
    assert F["chrony_detect_cloud"]({"ansible_system_vendor": "Amazon EC2"}, aws) == "aws"
    profiles = {"oci": {"sources": [{"hostname": "169.254.169.254", "iburst": True}]}}
    resolved = F["chrony_resolve_sources"]("oci", profiles, user_sources=[], mode="append")
    assert resolved["sources"] == [{"hostname": "169.254.169.254", "iburst": True}]
    with pytest.raises(AnsibleError, match="dict of cloud profiles"):
        F["chrony_resolve_sources"]("oci", [])


def test_leapsectz():
    assert F["chrony_leapsectz"]("auto", True) == ""
    assert F["chrony_leapsectz"]("auto", False) == "right/UTC"


def test_detect_cloud_refuses_non_dict():
    with pytest.raises(AnsibleError, match="dict of DMI facts"):
        F["chrony_detect_cloud"]("aws", {})
    with pytest.raises(AnsibleError, match="dict of chrony_"):
        F["chrony_validate_config"]([])


def test_version_filters():
    table = {"Ubuntu": {"20": "3.5", "22": "4.2"}, "RedHat": {"8": "4.5"}}
    facts = {"distribution": "Rocky", "os_family": "RedHat", "distribution_major_version": "8"}
    assert F["chrony_shipped_version"](facts, table) == "4.5"
    assert F["chrony_version_features"]("3.5") == {"version": "3.5", "print_config": False, "nts": False}
    assert F["chrony_version_features"](4.0) == {"version": "4.0", "print_config": True, "nts": True}
    errors = F["chrony_validate_version"]({"chrony_sources": [{"hostname": "a.example", "nts": True}]}, "3.5",
                                          "Ubuntu 20.04")
    assert errors == ["chrony_sources[0]: option 'nts' needs chrony 4.0 or later; Ubuntu 20.04 ships chrony 3.5, "
                      "so remove nts"]
    assert F["chrony_daemon_options"]("-F 2", False, "4.5") == "-F 2"
    with pytest.raises(AnsibleError, match="-F needs chrony 4.1 or later, the target has 4.0"):
        F["chrony_daemon_options"]("-F 2", False, "4.0")
    with pytest.raises(AnsibleError, match="expects a chrony version such as 4.3"):
        F["chrony_version_features"]("latest")
    with pytest.raises(AnsibleError, match="expects the host's facts"):
        F["chrony_shipped_version"]("Ubuntu", table)


# --- chrony_airgap_nts_check: real certificates and keys made here (cryptography) ---------------------------------

def _cert(names, ips=(), days=(-1, 2), key=None):
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = key or ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test")])
    sans = [x509.DNSName(n) for n in names] + [x509.IPAddress(ipaddress.ip_address(a)) for a in ips]
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
               .serial_number(x509.random_serial_number()).not_valid_before(now + datetime.timedelta(days=days[0]))
               .not_valid_after(now + datetime.timedelta(days=days[1])))
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    cert = builder.sign(key, hashes.SHA256())
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    return cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem, key


def _master_nts(address="10.1.0.10"):
    return {"enabled": True, "serve": True, "address": address, "cert": "/c/m1.crt",
            "controller_files": ["/c/m1.crt", "/c/m1.key", "/c/m2.crt"],
            "files": [{"dest": "/x/server.crt", "sources": ["/c/m1.crt"], "secret": False},
                      {"dest": "/x/server.key", "sources": ["/c/m1.key"], "secret": True},
                      {"dest": "/x/trusted.crt", "sources": ["/c/m2.crt"], "secret": False}]}


def test_nts_check_accepts_a_matching_certificate_and_key():
    cert, key, _k = _cert(["m1"], ["10.1.0.10"])
    other, _key2, _k2 = _cert(["m2"])
    assert F["chrony_airgap_nts_check"]([cert, key, other], _master_nts(), master="m1") == {"errors": [], "warnings": []}


@pytest.mark.parametrize("case, needle", [
    ("dns_only_for_an_ip", "does not name '10.1.0.10'"),
    ("wrong_key", "does not belong to its chrony_airgap_nts_cert"),
    ("not_pem", "/c/m2.crt (for /x/trusted.crt) is not a PEM certificate"),
    ("expired", "expired"),
    ("key_not_pem", "is not an unencrypted PEM private key"),
])
def test_nts_check_refuses(case, needle):
    cert, key, _k = _cert(["m1", "10.1.0.10"] if case == "dns_only_for_an_ip" else ["m1"],
                          [] if case == "dns_only_for_an_ip" else ["10.1.0.10"],
                          days=(-3, -1) if case == "expired" else (-1, 2))
    other, other_key, _k2 = _cert(["m2"])
    contents = [cert, other_key if case == "wrong_key" else key, "garbage" if case == "not_pem" else other]
    if case == "key_not_pem":
        contents[1] = "-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n"
    result = F["chrony_airgap_nts_check"](contents, _master_nts(), master="m1")
    assert any(needle in error for error in result["errors"]), result


def test_nts_check_warns_before_not_before_and_skips_without_nts():
    cert, key, _k = _cert(["m1"], ["10.1.0.10"], days=(1, 3))
    other, _key2, _k2 = _cert(["m2"])
    result = F["chrony_airgap_nts_check"]([cert, key, other], _master_nts(), master="m1")
    assert result["errors"] == [] and "nocerttimecheck" in result["warnings"][0]
    assert F["chrony_airgap_nts_check"]([], {"enabled": False}) == {"errors": [], "warnings": []}
