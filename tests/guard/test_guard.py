"""The guard end to end: the role audit_schedule on a systemd container, its timer auditing a small fleet, node_exporter
serving the textfiles, Prometheus evaluating a test copy of the shipped rules (extras/prometheus) and the dashboard's
queries (extras/grafana) against what it scraped.

Containers (prefix fc-guard-<id>-, removed afterwards), from fleetclock-test/debian:12 on an internal network the
test creates (no route out):
  guard    systemd as PID 1 (the molecule scenarios' container settings, no CAP_SYS_TIME); the role installs
           ansible-core into a venv from the wheelhouse of scripts/setup-guard-wheels.sh (mounted read-only), the
           collection from the tarball `ansible-galaxy collection build` makes, and the timer (every 5 s);
           node_exporter's textfile directory is a directory of this test, mounted.
  steady   sshd, no offset, chrony installed but not running (the dashboard's unsynchronised hosts)
  moving   sshd, libfaketime in every ssh session (sshd's SetEnv LD_PRELOAD: sshd's seccomp sandbox kills a
           preloaded sshd); its offset is /etc/faketimerc, rewritten by the test (+0, then +30 s, then +0 again)
On this machine, on 127.0.0.1 only: Debian's prometheus-node-exporter (textfile collector only) and Debian's
prometheus (scrape and rule evaluation every 2 s), with the shipped rules' `for:` cut to seconds and the staleness
limit to 20 s.
The timeline (states seen through /api/v1/alerts, with the time they were first seen) is written to
tests/output/guard-timeline.txt.
"""
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
import uuid

import pytest
import yaml
from conftest import ROOT, ansible_playbook

pytestmark = pytest.mark.integration
IMAGE = "fleetclock-test/debian:12"
FAKETIME_LIB = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"
RULES = os.path.join(ROOT, "extras", "prometheus", "fleetclock.rules.yml")
DASHBOARD = os.path.join(ROOT, "extras", "grafana", "fleetclock-dashboard.json")
OUTPUT = os.path.join(ROOT, "tests", "output")
PROMETHEUS = "/usr/bin/prometheus"
NODE_EXPORTER = "/usr/bin/prometheus-node-exporter"
SKEW_ALERT = "FleetclockJwtSkewBeyondLeeway"
STALE_ALERT = "FleetclockAuditStale"
FOR = "8s"          # every alert's `for:` in the test copy
STALE_AFTER = 20    # seconds, the staleness limit in the test copy
LEEWAY = 2          # the JWT leeway the audit is told is in use
SHIFT = 30          # the moving host's offset while it is "broken"
# systemd in a container: the molecule scenarios' settings (.config/molecule/config.yml, fc_systemd_container)
SYSTEMD_RUN = ["--cap-add", "SYS_ADMIN", "--security-opt", "seccomp=unconfined", "--security-opt",
               "apparmor=unconfined", "--tmpfs", "/run", "--tmpfs", "/run/lock", "-v",
               "/sys/fs/cgroup:/sys/fs/cgroup:rw", "--cgroupns", "host", "--stop-signal", "SIGRTMIN+3"]


def sh(*args, check=True, timeout=300):
    return subprocess.run([str(a) for a in args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=timeout, check=check)


def dexec(name, script, check=True):
    return sh("docker", "exec", name, "sh", "-c", script, check=check).stdout


def missing_prerequisite():
    for path in (PROMETHEUS, NODE_EXPORTER):
        if not os.access(path, os.X_OK):
            return "%s missing: bash scripts/setup.sh host-tools" % path
    if not shutil.which("docker") or sh("docker", "info", check=False).returncode != 0:
        return "no docker engine"
    if sh("docker", "image", "inspect", IMAGE, check=False).returncode != 0:
        return "image %s missing: bash scripts/setup.sh images" % IMAGE
    return None


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fast_rules(path, dest):
    """The shipped rules with every `for:` cut to FOR and the staleness limit to STALE_AFTER."""
    with open(path, encoding="utf-8") as handle:
        rules = yaml.safe_load(handle)
    stale = 0
    for group in rules["groups"]:
        for rule in group["rules"]:
            if "for" in rule:
                rule["for"] = FOR
            if rule.get("alert") == STALE_ALERT:
                rule["expr"], stale = re.subn(r">\s*\d+\s*$", "> %d" % STALE_AFTER, rule["expr"].strip())
    assert stale == 1, "%s's expression no longer ends in '> <seconds>': adapt this test" % STALE_ALERT
    with open(dest, "w", encoding="utf-8") as handle:
        yaml.safe_dump(rules, handle)


class Prometheus:
    def __init__(self, port):
        self.base = "http://127.0.0.1:%d" % port

    def get(self, path, **params):
        url = self.base + path + ("?" + urllib.parse.urlencode(params) if params else "")
        with urllib.request.urlopen(url, timeout=10) as response:
            body = json.load(response)
        assert body["status"] == "success", body
        return body["data"]

    def query(self, expr):
        return self.get("/api/v1/query", query=expr)

    def alerts(self, name):
        """{labels as a sorted tuple: state} of the alert's active instances."""
        return {tuple(sorted(a["labels"].items())): a["state"]
                for a in self.get("/api/v1/alerts")["alerts"] if a["labels"]["alertname"] == name}

    def wait(self, what, predicate, timeout=180, interval=1.0):
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                pytest.fail("not within %d s: %s" % (timeout, what))
            time.sleep(interval)


class Timeline:
    """What the test saw, when (seconds since the fleet was up), kept in tests/output/guard-timeline.txt."""

    def __init__(self):
        self.start = time.monotonic()
        self.lines = []

    def note(self, text):
        line = "%6.1f s  %s" % (time.monotonic() - self.start, text)
        self.lines.append(line)
        os.makedirs(OUTPUT, exist_ok=True)
        with open(os.path.join(OUTPUT, "guard-timeline.txt"), "w", encoding="utf-8") as handle:
            handle.write("\n".join(self.lines) + "\n")


def start_fleet(names, net, textfile_dir, wheelhouse):
    sh("docker", "network", "create", "--internal", net)
    sh("docker", "run", "-d", "--name", names["guard"], "--hostname", names["guard"], "--network", net,
       *SYSTEMD_RUN, "-v", "%s:/var/lib/prometheus/node-exporter" % textfile_dir,
       "-v", "%s:/opt/wheelhouse:ro" % wheelhouse, IMAGE, "/lib/systemd/systemd")
    # libfaketime only in the moving host's ssh sessions (sshd's own seccomp sandbox kills a preloaded sshd)
    faked = "printf 'SetEnv LD_PRELOAD=%s FAKETIME_DONT_FAKE_MONOTONIC=1\\n' > /etc/ssh/sshd_config.d/fc.conf" \
        " && echo +0 > /etc/faketimerc && " % FAKETIME_LIB
    for role, setup in (("steady", ""), ("moving", faked)):
        sh("docker", "run", "-d", "--name", names[role], "--hostname", names[role], "--network", net, IMAGE,
           "sh", "-c", setup + "mkdir -p /run/sshd && exec /usr/sbin/sshd -D -e")
    # chrony installed but not running on the steady host (from the image's apt cache): a host the dashboard's
    # "unsynchronised hosts" panel lists
    dexec(names["steady"], "printf '#!/bin/sh\\nexit 101\\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d"
          " && apt-get install -y chrony > /tmp/apt.log 2>&1")
    state = dexec(names["guard"], "systemctl is-system-running --wait", check=False).strip()
    assert state in ("running", "degraded"), state


def write_inventories(tmp, names, tarball):
    fleet = {"all": {"hosts": {names["steady"]: {}, names["moving"]: {}},
                     "vars": {"ansible_user": "root", "ansible_connection": "ssh"}}}
    dexec(names["guard"], "mkdir -p /srv/fleet && cat > /srv/fleet/inventory.yml << 'EOF'\n%s\nEOF"
          % yaml.safe_dump(fleet))
    guard = {"all": {"hosts": {"guard": {
        "ansible_connection": "community.docker.docker", "ansible_host": names["guard"],
        "ansible_python_interpreter": "/usr/bin/python3"}}, "vars": {
        "audit_schedule_collection_src": tarball,
        "audit_schedule_wheelhouse": "/opt/wheelhouse",
        "audit_schedule_inventory": "/srv/fleet/inventory.yml",
        "audit_schedule_interval": 5,
        "audit_schedule_timeout": 120,
        "audit_schedule_history_keep": 3,
        "audit_schedule_environment": {"ANSIBLE_HOST_KEY_CHECKING": "False"},
        "audit_schedule_audit_vars": {"fleetclock_audit_jwt_leeway": LEEWAY, "fleetclock_audit_probe_timeout": 15},
    }}}
    path = os.path.join(tmp, "guard-inventory.yml")
    with open(path, "w", encoding="utf-8") as handle:
        yaml.safe_dump(guard, handle)
    return path


def recap(proc):
    """{changed, failed} of the guard's PLAY RECAP line; the run must have succeeded."""
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    match = re.search(r"^guard\s+:\s+ok=\d+\s+changed=(\d+)\s+unreachable=0\s+failed=(\d+)", proc.stdout, re.M)
    assert match, proc.stdout[-3000:]
    return int(match.group(1)), int(match.group(2))


def start_monitoring(tmp, textfile_dir):
    exporter_port, prometheus_port = free_port(), free_port()
    rules = os.path.join(tmp, "rules.yml")
    fast_rules(RULES, rules)
    config = os.path.join(tmp, "prometheus.yml")
    with open(config, "w", encoding="utf-8") as handle:
        yaml.safe_dump({"global": {"scrape_interval": "2s", "evaluation_interval": "2s"},
                        "rule_files": [rules],
                        "scrape_configs": [{"job_name": "fleetclock-guard", "static_configs": [
                            {"targets": ["127.0.0.1:%d" % exporter_port]}]}]}, handle)
    logs = [open(os.path.join(tmp, n), "w", encoding="utf-8") for n in ("exporter.log", "prometheus.log")]
    procs = [
        subprocess.Popen([NODE_EXPORTER, "--web.listen-address=127.0.0.1:%d" % exporter_port,
                          "--collector.disable-defaults", "--collector.textfile",
                          "--collector.textfile.directory=" + textfile_dir], stdout=logs[0], stderr=subprocess.STDOUT),
        subprocess.Popen([PROMETHEUS, "--config.file=" + config, "--storage.tsdb.path=" + os.path.join(tmp, "tsdb"),
                          "--web.listen-address=127.0.0.1:%d" % prometheus_port],
                         stdout=logs[1], stderr=subprocess.STDOUT)]
    return Prometheus(prometheus_port), procs, logs


@pytest.fixture(scope="module")
def guard():
    reason = missing_prerequisite()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    wheelhouse = sh("bash", os.path.join(ROOT, "scripts", "setup-guard-wheels.sh")).stdout.strip().splitlines()[-1]
    prefix = "fc-guard-%s-" % uuid.uuid4().hex[:6]
    names = {role: prefix + role for role in ("guard", "steady", "moving")}
    net = prefix + "net"
    tmp = tempfile.mkdtemp(prefix="fc-guard-")
    textfile_dir = os.path.join(tmp, "textfile")
    os.mkdir(textfile_dir)
    procs, logs = [], []
    try:
        sh("ansible-galaxy", "collection", "build", "--output-path", tmp, ROOT, timeout=600)
        tarball = [os.path.join(tmp, f) for f in os.listdir(tmp) if f.endswith(".tar.gz")][0]
        start_fleet(names, net, textfile_dir, wheelhouse)
        prometheus, procs, logs = start_monitoring(tmp, textfile_dir)
        yield {"names": names, "inventory": write_inventories(tmp, names, tarball), "prometheus": prometheus,
               "timeline": Timeline(), "textfile_dir": textfile_dir}
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=30)
        for log in logs:
            log.close()
        sh("docker", "rm", "-f", *names.values(), check=False)
        sh("docker", "network", "rm", net, check=False)
        shutil.rmtree(tmp, ignore_errors=True)


def run_role(guard, *args):
    proc = ansible_playbook("-i", guard["inventory"], os.path.join(ROOT, "tests", "guard", "guard.yml"), *args,
                            timeout=900, env={"ANSIBLE_CALLBACKS_ENABLED": "ansible.posix.profile_tasks"})
    print(proc.stdout[-2500:])
    return proc


def test_role_check_mode_install_idempotence(guard):
    """--check --diff on a fresh host, the install, a second run and --check again: nothing changes twice."""
    names = guard["names"]
    changed, dummy = recap(run_role(guard, "--check", "--diff"))
    assert changed > 0
    assert dexec(names["guard"], "ls /etc/systemd/system/fleetclock-guard.timer /opt/fleetclock-guard 2>&1",
                 check=False).count("No such file") == 2, "check mode wrote files"
    recap(run_role(guard))
    # the guard's key into the fleet's authorized_keys (the first runs fail: not yet accepted)
    key = dexec(names["guard"], "cat /var/lib/fleetclock-guard/.ssh/id_ed25519.pub").strip()
    for role in ("steady", "moving"):
        dexec(names[role], "mkdir -p -m 700 /root/.ssh && echo '%s' > /root/.ssh/authorized_keys" % key)
    assert recap(run_role(guard))[0] == 0, "second run changed something"
    assert recap(run_role(guard, "--check", "--diff"))[0] == 0
    version = dexec(names["guard"], "/opt/fleetclock-guard/venv/bin/ansible --version | head -n1")
    guard["timeline"].note("role applied; guard's ansible: " + version.strip())


def guard_metrics(guard):
    path = os.path.join(guard["textfile_dir"], "fleetclock_guard.prom")
    if not os.path.exists(path):
        return {}
    with open(path, encoding="utf-8") as handle:
        return {line.split()[0]: float(line.split()[1]) for line in handle if line.strip() and line[0] != "#"}


def test_timer_runs_the_audit(guard):
    """The timer's runs write both textfiles; the guard's has exactly its three metrics; history keeps 3."""
    names, prom = guard["names"], guard["prometheus"]
    prom.wait("a successful timer run", lambda: guard_metrics(guard).get("fleetclock_guard_last_run_success") == 1)
    metrics = guard_metrics(guard)
    assert sorted(metrics) == ["fleetclock_guard_last_run_success", "fleetclock_guard_last_run_timestamp_seconds",
                               "fleetclock_guard_last_success_timestamp_seconds"]
    assert os.path.exists(os.path.join(guard["textfile_dir"], "fleetclock.prom"))
    prom.wait("the audit's metrics in Prometheus", lambda: prom.query("fleetclock_fleet_skew_seconds")["result"])
    prom.wait("4 successful runs", lambda: dexec(
        names["guard"], "grep -c 'audit ended: exit 0' /var/log/fleetclock-guard/guard.log", check=False).strip()
        not in ("", "0", "1", "2", "3"), timeout=240)
    history = dexec(names["guard"], "ls /var/lib/fleetclock-guard/history").split()
    assert len(history) == 3 and all(re.match(r"clock-audit-\d{8}T\d{6}Z\.json$", h) for h in history), history
    log = dexec(names["guard"], "cat /var/log/fleetclock-guard/guard.log")
    guard["timeline"].note("timer runs so far: %d ended with exit 0, %d with another exit"
                           % (log.count("audit ended: exit 0"), len(re.findall(r"audit ended: exit [1-9]", log))))


def skew_states(prom):
    return set(prom.alerts(SKEW_ALERT).values())


def set_offset(guard, offset):
    dexec(guard["names"]["moving"], "echo %s > /etc/faketimerc" % offset)
    guard["timeline"].note("%s's /etc/faketimerc: %s" % (guard["names"]["moving"], offset))


def test_skew_alert_pending_firing_resolved(guard):
    """The moving host +30 s: the skew alert goes pending, then firing; healed: it resolves."""
    prom, note = guard["prometheus"], guard["timeline"].note
    assert not skew_states(prom), "skew alert active before any offset"
    set_offset(guard, "+%d" % SHIFT)
    prom.wait("the skew alert pending", lambda: "pending" in skew_states(prom), interval=0.5)
    skew = prom.query("fleetclock_fleet_skew_seconds")["result"][0]["value"][1]
    note("%s pending (fleetclock_fleet_skew_seconds %s)" % (SKEW_ALERT, skew))
    prom.wait("the skew alert firing", lambda: "firing" in skew_states(prom))
    note("%s firing" % SKEW_ALERT)
    set_offset(guard, "+0")
    prom.wait("the skew alert resolved", lambda: not skew_states(prom))
    skew = prom.query("fleetclock_fleet_skew_seconds")["result"][0]["value"][1]
    note("%s resolved (no longer in /api/v1/alerts; fleetclock_fleet_skew_seconds %s)" % (SKEW_ALERT, skew))


def test_dashboard_queries_return_data(guard):
    """Every query of the dashboard (Grafana's variables substituted) returns data from this Prometheus."""
    if not os.path.exists(DASHBOARD):
        pytest.fail("%s missing" % DASHBOARD)
    with open(DASHBOARD, encoding="utf-8") as handle:
        dashboard = json.load(handle)
    queries = dashboard_queries(dashboard)
    assert queries
    empty = []
    for title, expr in queries:
        result = guard["prometheus"].query(substitute(expr, dashboard))["result"]
        guard["timeline"].note("dashboard %r: %d series" % (title, len(result)))
        if not result:
            empty.append((title, expr))
    assert not empty, empty


def dashboard_queries(dashboard):
    """(panel title, expr) of every target of every panel (rows' panels too) and every query variable."""
    found = []

    def panels(items):
        for panel in items:
            yield panel
            yield from panels(panel.get("panels", []))

    for panel in panels(dashboard.get("panels", [])):
        for target in panel.get("targets", []):
            if target.get("expr"):
                found.append((panel.get("title", ""), target["expr"]))
    for var in dashboard.get("templating", {}).get("list", []):
        query = var.get("query")
        query = query.get("query") if isinstance(query, dict) else query
        match = re.match(r"^\s*label_values\((.*),\s*(\w+)\)\s*$", query or "")
        if var.get("type") == "query" and match:
            found.append(("variable " + var["name"], match.group(1)))
    return found


GRAFANA_VARS = {"__range": "5m", "__range_s": "300", "__range_ms": "300000", "__interval": "10s",
                "__interval_ms": "10000", "__rate_interval": "30s"}


def substitute(expr, dashboard):
    """Grafana's built-in variables and the dashboard's own (every value: .*, the datasource: none)."""
    own = {var["name"]: ".*" for var in dashboard.get("templating", {}).get("list", []) if var.get("type") != "datasource"}
    values = dict(own, **GRAFANA_VARS)

    def value(match):
        name = match.group(1) or match.group(2) or match.group(3)
        return values.get(name.split(":")[0], match.group(0))

    return re.sub(r"\$\{([\w:]+)\}|\[\[(\w+)\]\]|\$(\w+)", value, expr)


def test_stopping_the_timer_makes_the_audit_stale(guard):
    """The timer stopped: no report for STALE_AFTER s, the staleness alert fires."""
    names, prom, note = guard["names"], guard["prometheus"], guard["timeline"].note
    assert not prom.alerts(STALE_ALERT)
    dexec(names["guard"], "systemctl stop fleetclock-guard.timer")
    log = dexec(names["guard"], "cat /var/log/fleetclock-guard/guard.log")
    note("timer stopped after %d runs (%d exit 0, %d other)" % (
        log.count("audit ended"), log.count("audit ended: exit 0"), len(re.findall(r"audit ended: exit [1-9]", log))))
    prom.wait("the staleness alert pending", lambda: "pending" in prom.alerts(STALE_ALERT).values(), interval=0.5)
    note("%s pending" % STALE_ALERT)
    prom.wait("the staleness alert firing", lambda: "firing" in prom.alerts(STALE_ALERT).values())
    note("%s firing" % STALE_ALERT)


def test_cron_takes_over_from_the_timer(guard):
    """Where cron runs the guard (scheduler cron): the role retires the timer, writes the guard user's cron job,
    cron's run audits again (the stale guard's metrics move on), and a second role run changes nothing."""
    names, note = guard["names"], guard["timeline"].note
    # cron-daemon-common is a pre-dependency of cron: configured first
    dexec(names["guard"], "dpkg -i /opt/wheelhouse/debs/cron-daemon-common_*.deb > /tmp/dpkg.log 2>&1"
          " && dpkg -i /opt/wheelhouse/debs/cron_*.deb >> /tmp/dpkg.log 2>&1 && systemctl start cron")
    before = guard_metrics(guard)["fleetclock_guard_last_success_timestamp_seconds"]
    cron = ("-e", "audit_schedule_scheduler=cron", "-e", "audit_schedule_interval=60")
    assert recap(run_role(guard, *cron))[0] > 0
    assert dexec(names["guard"], "systemctl is-enabled fleetclock-guard.timer 2>&1", check=False).strip() != "enabled"
    assert dexec(names["guard"], "ls /etc/systemd/system/fleetclock-guard.timer 2>&1", check=False).count(
        "No such file") == 1
    job = dexec(names["guard"], "crontab -l -u fleetclock-guard")
    assert re.search(r"^\*/1 \* \* \* \* /usr/local/sbin/fleetclock-guard /etc/fleetclock-guard/guard.env", job, re.M), job
    note("scheduler cron: timer retired, cron job written")
    guard["prometheus"].wait("a run by cron", lambda: guard_metrics(guard).get(
        "fleetclock_guard_last_success_timestamp_seconds", 0) > before, timeout=200)
    note("cron ran the audit")
    assert recap(run_role(guard, *cron))[0] == 0, "second cron run changed something"
