"""NTS inside the air-gapped site (chrony_airgap_nts), after test_airgap.py (file order): every host that polls a
master authenticates it with NTS (cookies from a key exchange against the master's self-signed certificate, made
by prepare.yml), clients stay synchronised to a master, and a client that trusts a different certificate (made
here) gets no cookies and does not synchronise; then its trust is restored. The time taken is printed and recorded.
"""
import os
import subprocess
import tempfile
import time

# master_refids is a fixture of test_airgap.py, used here as a test argument
from test_airgap import (  # noqa: F401  pylint: disable=unused-import
    CLIENTS,
    MASTERS,
    NETWORK,
    docker_exec,
    master_refids,
    networks_of,
    record,
    synced_master,
    tracking,
    wait_for,
)

NTS_DIR = "/etc/chrony/nts"
TRUSTED = NTS_DIR + "/trusted.crt"
REFUSER = "fc-ag-c1"
COOKIE_LIMIT = 60.0
REFUSE_WAIT = 15   # the health gate's wait (chrony_sync_timeout) on the refusing client
ONE_HOST = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "nts_one_host.yml")
STARTED = []


def master_ips():
    return dict((networks_of(name)[NETWORK]["IPAddress"], name) for name in MASTERS)


def authdata(container):
    """chronyc -c -n authdata (as root: chronyd answers it on its Unix socket only): address -> row."""
    rows = {}
    for line in docker_exec(container, "chronyc", "-c", "-n", "authdata").stdout.splitlines():
        fields = line.split(",")
        if len(fields) == 10:
            rows[fields[0]] = {"mode": fields[1], "key_id": int(fields[2]), "attempts": int(fields[6]),
                               "naks": int(fields[7]), "cookies": int(fields[8])}
    return rows


def nts_with_cookies(container, expected):
    rows = authdata(container)
    return rows if all(rows.get(ip, {}).get("mode") == "NTS" and rows[ip]["cookies"] > 0 for ip in expected) else None


def test_files_and_lines():
    """The role wrote the NTS directives and files: key 0640 root:_chrony on masters, every line to a master has nts."""
    STARTED.append(time.monotonic())
    for name in MASTERS + CLIENTS:
        conf = docker_exec(name, "cat", "/etc/chrony/chrony.conf").stdout
        servers = [line.split() for line in conf.splitlines() if line.startswith("server ")]
        assert servers and all("nts" in words for words in servers), conf
        assert "ntstrustedcerts %s" % TRUSTED in conf, conf
        if name in MASTERS:
            assert "ntsservercert %s/server.crt" % NTS_DIR in conf and "ntsserverkey %s/server.key" % NTS_DIR in conf
            stat = docker_exec(name, "stat", "-c", "%a %U %G", NTS_DIR + "/server.key").stdout.split()
            assert stat == ["640", "root", "_chrony"], (name, stat)
        else:
            assert "ntsservercert" not in conf and "ntsserverkey" not in conf, conf


def test_every_host_authenticates_its_masters_with_nts():
    ips = master_ips()
    seen = {}
    for name in MASTERS + CLIENTS:
        expected = [ip for ip, master in ips.items() if master != name]
        rows, elapsed = wait_for(lambda: nts_with_cookies(name, expected), COOKIE_LIMIT)
        assert rows, (name, authdata(name))
        seen[name] = dict((ips[ip], "%s, %d cookies" % (rows[ip]["mode"], rows[ip]["cookies"])) for ip in expected)
    record("nts_authdata", seen)


def test_clients_are_synchronised_over_nts(master_refids):
    """Each client is Leap Normal on a master and chronyc sources marks a master selected (*)."""
    ips = master_ips()
    for name in CLIENTS:
        master, _elapsed = wait_for(lambda: synced_master(tracking(name), master_refids), 30)
        assert master, (name, tracking(name))
        selected = [line.split(",") for line in docker_exec(name, "chronyc", "-c", "-n", "sources").stdout.splitlines()]
        assert any(row[1] == "*" and row[2] in ips for row in selected), (name, selected)


def _stranger_certificate():
    """A self-signed certificate with the masters' names but another key: the client must not trust the masters."""
    folder = tempfile.mkdtemp(prefix="fc-nts-stranger-")
    names = ",".join("DNS:%s" % m for m in MASTERS)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-days", "2", "-subj", "/CN=stranger", "-addext", "subjectAltName=" + names,
                    "-keyout", os.path.join(folder, "stranger.key"), "-out", os.path.join(folder, "stranger.crt")],
                   check=True, capture_output=True)
    return os.path.join(folder, "stranger.crt")


def converge_refuser(*extra, succeed=True):
    """The role on REFUSER alone (nts_one_host.yml), as an operator would re-run it there."""
    root = os.environ["MOLECULE_PROJECT_DIRECTORY"]
    env = dict(os.environ, ANSIBLE_FORCE_COLOR="false", ANSIBLE_CONFIG=os.path.join(root, "ansible.cfg"),
               ANSIBLE_COLLECTIONS_PATH=os.path.join(root, "collections"))
    proc = subprocess.run(["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], ONE_HOST,
                           "-e", "fc_nts_host=" + REFUSER] + list(extra), env=env, capture_output=True, text=True, timeout=600, check=False)
    assert (proc.returncode == 0) == succeed, proc.stdout[-5000:] + proc.stderr[-2000:]
    return proc.stdout


def test_a_client_trusting_another_certificate_refuses_the_masters():
    """fc-ag-c1 is given a different certificate to trust by the role (chrony_airgap_nts_trusted_certs): the role
    makes chronyd forget its saved cookies, so its key exchanges fail: no cookies, not synchronised, and the role's
    health gate fails the run (REFUSE_WAIT s). The role run again with the site's trust restores it (cookies)."""
    ips = master_ips()
    stranger = _stranger_certificate()
    try:
        # chronyd saves its cookies in ntsdumpdir when it stops and uses them again without a key exchange: without
        # the role's handler "Forget the NTS cookies" the new trust changed nothing (8 cookies kept)
        out = converge_refuser("-e", "chrony_airgap_nts_trusted_certs=%s" % stranger,
                               "-e", "chrony_sync_timeout=%d" % REFUSE_WAIT, succeed=False)
        assert "chrony requirement not met after waiting" in out, out[-3000:]
        lines = out.splitlines()
        at = [i for i, line in enumerate(lines) if "Forget the NTS cookies (remove the saved ones)" in line]
        assert at, out[-3000:]
        dumped = lines[at[0] + 1:at[0] + 3]
        assert any(line.startswith("changed: [%s]" % REFUSER) for line in dumped), (dumped, out[-3000:])
        rows = authdata(REFUSER)
        state = tracking(REFUSER)
        record("nts_refused", {"client": REFUSER, "after_seconds": REFUSE_WAIT, "cookie_handler": dumped,
                               "authdata": dict((ips.get(ip, ip), row) for ip, row in rows.items()),
                               "leap": state.get("leap"), "refid": state.get("refid")})
        for ip in ips:
            assert rows[ip]["mode"] == "NTS" and rows[ip]["cookies"] == 0, rows
        assert state.get("leap") != "Normal", state
        log = docker_exec(REFUSER, "journalctl", "-u", "chrony", "--no-pager", "-n", "50", check=False).stdout
        print("\n[airgap] chronyd on %s while refusing:\n%s" % (REFUSER, "\n".join(
            line for line in log.splitlines() if "NTS" in line or "certificate" in line.lower())[-2000:]))
    finally:
        converge_refuser()
    rows, elapsed = wait_for(lambda: nts_with_cookies(REFUSER, list(ips)), COOKIE_LIMIT)
    assert rows, authdata(REFUSER)
    record("nts_restored_seconds", round(elapsed, 1))


def test_time_spent_on_nts():
    if STARTED:
        record("nts_verify_seconds", round(time.monotonic() - STARTED[0], 1))
