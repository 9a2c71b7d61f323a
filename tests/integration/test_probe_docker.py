"""clock_probe and chrony_status for real against containers of their own (connection community.docker.docker).

Containers (prefix fc-probe-it-, removed afterwards), from the test image fleetclock-test/debian:12
(chrony's .deb is cached in the image, so it installs with no network):
  server  --network none, chrony `local stratum 8`                         -> chrony local, offset 0
  fake    shares the server's network namespace (source 127.0.0.1),
          libfaketime +120 s for every process (/etc/ld.so.preload),
          chronyd -x without makestep                                       -> offset +120 s, chrony synchronised, +120 s
  plain   --network none, no chrony                                         -> chrony missing, offset 0
No container has any network but loopback.
"""
import os
import shutil
import subprocess
import time
import uuid

import pytest
from conftest import ROOT

from test_probe_batch_local import run_batch
from test_probe_local import run_probe

pytestmark = pytest.mark.integration
IMAGE = os.environ.get("FLEETCLOCK_PROBE_IMAGE", "fleetclock-test/debian:12")  # scripts/build-images.sh
FIXTURES = os.path.join(ROOT, "tests", "unit", "fixtures", "chronyc")
FAKETIME_LIB = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"
SHIFT = 120.0


def sh(*args, check=True):
    return subprocess.run(list(args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=300, check=check)


def docker_ready():
    if not shutil.which("docker"):
        return "docker not installed"
    if sh("docker", "info", check=False).returncode != 0:
        return "no docker engine"
    if sh("docker", "image", "inspect", IMAGE, check=False).returncode != 0:
        return "image %s missing" % IMAGE
    doc = os.path.join(os.path.dirname(__import__("sys").executable), "ansible-doc")
    proc = subprocess.run([doc, "-t", "connection", "community.docker.docker"], cwd=ROOT,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, check=False)
    if proc.returncode != 0 or "not found" in proc.stdout:
        return "community.docker is not installed in the collections path"
    return None


def install_chrony(name):
    sh("docker", "exec", name, "sh", "-c",
       "printf '#!/bin/sh\\nexit 101\\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d"
       " && apt-get install -y chrony >/tmp/apt.log 2>&1"
       " && mkdir -p /run/chrony && chown _chrony:_chrony /run/chrony && chmod 750 /run/chrony")
    # chronyd creates its command socket only in a 0750 directory; without it chronyc falls back to
    # UDP 127.0.0.1:323, which in a shared network namespace is ANOTHER container's chronyd.


def start_chronyd(name, conf):
    sh("docker", "cp", os.path.join(FIXTURES, conf), "%s:/etc/chrony/fc.conf" % name)
    sh("docker", "exec", name, "chronyd", "-x", "-f", "/etc/chrony/fc.conf")


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    reason = docker_ready()
    if reason:
        if os.environ.get("CI"):  # CI's set-up provides all of it: a skip there would hide a broken set-up
            pytest.fail(reason)
        pytest.skip(reason)
    prefix = "fc-probe-it-%s-" % uuid.uuid4().hex[:6]
    tmp = tmp_path_factory.mktemp("nts")
    names = {role: prefix + role for role in ("server", "fake", "plain")}
    try:
        sh("docker", "run", "-d", "--name", names["server"], "--network", "none", IMAGE, "sleep", "infinity")
        sh("docker", "run", "-d", "--name", names["fake"], "--network", "container:" + names["server"],
           "-e", "FAKETIME_DONT_FAKE_MONOTONIC=1", IMAGE, "sleep", "infinity")
        sh("docker", "run", "-d", "--name", names["plain"], "--network", "none", IMAGE, "sleep", "infinity")
        install_chrony(names["server"])
        install_chrony(names["fake"])
        sh("docker", "exec", names["fake"], "sh", "-c",
           "echo %s > /etc/ld.so.preload && echo +%ds > /etc/faketimerc" % (FAKETIME_LIB, SHIFT))
        # NTS: a self-signed certificate for IP 127.0.0.1 (made on the controller: the image has no openssl),
        # served by the server and trusted by the faked client
        sh("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
           "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
           "-keyout", str(tmp / "fc-nts.key"), "-out", str(tmp / "fc-nts.crt"))
        for name, files in ((names["server"], ("fc-nts.crt", "fc-nts.key")), (names["fake"], ("fc-nts.crt",))):
            for file in files:
                sh("docker", "cp", str(tmp / file), "%s:/etc/chrony/%s" % (name, file))
                sh("docker", "exec", name, "chmod", "0644", "/etc/chrony/" + file)
        start_chronyd(names["server"], "server_nts.conf")
        start_chronyd(names["fake"], "client_slew_nts.conf")
        for dummy in range(60):
            out = sh("docker", "exec", names["fake"], "chronyc", "-n", "-c", "tracking", check=False).stdout
            if out.startswith("7F000001,") and "Normal" in out:
                break
            time.sleep(0.5)
        else:
            pytest.fail("fake client did not synchronise: %s" % out)
        yield names
    finally:
        sh("docker", "rm", "-f", *names.values(), check=False)


def docker_hosts(fleet):
    conn = {"ansible_connection": "community.docker.docker", "ansible_python_interpreter": "/usr/bin/python3"}
    hosts = {name: dict(conn) for name in fleet.values()}
    hosts["fc-probe-it-gone"] = dict(conn)
    return hosts


def check_docker_results(fleet, results):
    server, fake, plain = (results[fleet[k]] for k in ("server", "fake", "plain"))
    for result in (server, fake, plain):
        assert result["status"] == "ok", result
        assert result["clock"]["bound"] < 1.0
        assert not result.get("failed")
    # the containers share the host's kernel clock; the faked one reads +120 s
    assert abs(server["clock"]["offset"]) <= server["clock"]["bound"]
    assert abs(plain["clock"]["offset"]) <= plain["clock"]["bound"]
    assert abs(fake["clock"]["offset"] - SHIFT) <= fake["clock"]["bound"], fake["clock"]
    assert server["chrony"]["state"] == "local" and server["chrony"]["offset"] == 0.0
    assert plain["chrony"]["state"] == "missing"
    assert fake["chrony"]["state"] == "synchronised"
    assert fake["chrony"]["offset"] == pytest.approx(SHIFT, abs=0.01)   # -system_time: host ahead
    assert fake["chrony"]["sources"][0]["name"] == "127.0.0.1"
    # NTS, read in the same command (root: the docker connection): the server's key exchange succeeded (cookies),
    # the source where nothing listens has none; the server itself has no NTS source
    nts = {row["name"]: row for row in fake["chrony"]["nts"]["sources"]}
    assert fake["chrony"]["nts"]["access"] == "ok" and set(nts) == {"127.0.0.1", "127.0.0.2"}, fake["chrony"]["nts"]
    assert nts["127.0.0.1"]["cookies"] > 0 and nts["127.0.0.1"]["mode"] == "NTS"
    assert nts["127.0.0.2"]["cookies"] == 0 and nts["127.0.0.2"]["last"] is None
    assert server["chrony"]["nts"] == {"access": "ok", "sources": [], "error": None}
    gone = results["fc-probe-it-gone"]
    assert gone["status"] in ("error", "unreachable") and "No such container" in gone["error"]
    assert gone["clock"] is None and not gone.get("failed")
    print("measured:", {k: {f: results[v]["clock"][f] for f in ("offset", "bound", "rtt", "samples")}
                        for k, v in fleet.items()})


def test_probe_over_docker(fleet, tmp_path):
    results, proc = run_probe(tmp_path, docker_hosts(fleet))
    check_docker_results(fleet, results)


def test_batch_probe_over_docker(fleet, tmp_path):
    """The same hosts visited from one process (clock_probe_batch): the same results."""
    results, batch, proc = run_batch(tmp_path, docker_hosts(fleet))
    check_docker_results(fleet, results)


def test_chrony_status_over_docker(fleet, tmp_path):
    inventory = tmp_path / "inv.ini"
    inventory.write_text("\n".join(
        "%s ansible_connection=community.docker.docker ansible_python_interpreter=/usr/bin/python3" % n
        for n in fleet.values()) + "\n")
    ansible = os.path.join(os.path.dirname(__import__("sys").executable), "ansible")

    def status(name, args):
        return subprocess.run([ansible, "-i", str(inventory), name, "-m", "fleetclock.timesync.chrony_status", "-a", args],
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                              timeout=120, check=False)

    assert status(fleet["server"], "require=local").returncode == 0
    assert status(fleet["fake"], "wait=true timeout=20 require=synchronised").returncode == 0
    failed = status(fleet["fake"], "require=synchronised max_offset=1")
    assert failed.returncode != 0 and "max_offset 1" in failed.stdout
    missing = status(fleet["plain"], "wait=true timeout=5 require=synchronised_or_local")
    assert missing.returncode != 0 and "install chrony" in missing.stdout
