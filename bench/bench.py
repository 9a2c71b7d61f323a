"""Benchmark the fleetclock audit against the naive `ansible -m command -a 'date +%s.%N'`.

    python3 bench/bench.py --sizes 20,50,100 --transports docker,ssh --repeats 3

Builds one fleet of max(sizes) containers (image bench/host.Dockerfile: python3, chrony
running with no source, sshd) on an internal Docker network this script creates (Docker
picks the subnet), with a
per-host clock offset injected by libfaketime and recorded as the truth. A fleet of N uses
the first N hosts. For every N, repeat and connection it runs, alternating in this order:

  naive5   ansible all -m command -a 'date +%s.%N' -f 5
  naive10  the same with -f 10
  audit    ansible-playbook playbooks/audit.yml (forks from ansible.cfg unless --audit-forks)
  audit-batch  the same with -e fleetclock_audit_batch=true (every host visited from one process)
  floor    ansible all -m raw -a 'date +%s.%N' at the audit's forks: one raw command per host and
           nothing else (no bound), what no audit can beat on this machine and transport

and reports per connection, N and method: median wall time, ratio to naive5, controller CPU
seconds (user+sys of the ansible process and its waited-for children, from wait4), peak RSS
(largest single process, ru_maxrss, and the peak sum over the live process tree, sampled
every 0.2 s), and accuracy against the injected offsets: max |measured - injected| and, for
the audit, how many injected offsets fell outside the reported bound. The naive "offset" is
the host's reading minus the controller's time when `ansible` exited.

Results: a Markdown table on stdout and every run as JSON in --out. Containers are named
fc-<tag>-hNNN, labelled fleetclock.bench=<tag>, and are always removed (in batches) at exit.
Run it from anywhere; it uses the checkout's ansible.cfg and .venv.
"""

import argparse
import concurrent.futures
import json
import os
import platform
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV_BIN = os.path.join(ROOT, ".venv", "bin")
IMAGE = "fleetclock-bench/host:12"
LIBFT = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"
CONNECTIONS = {
    "docker": "community.docker.docker",
    "docker_api": "community.docker.docker_api",
    "ssh": "ssh",
}
METHODS = ("naive5", "naive10", "floor", "audit", "audit-batch")
# built-in audit variants (method -> extra vars, as with --audit-variant)
BUILTIN_VARIANTS = {"audit-batch": {"fleetclock_audit_batch": "true"}}
PAGE = os.sysconf("SC_PAGE_SIZE")
# Each host starts sshd (which execs into the faked environment only for sessions) and a
# chronyd with no source; the container's own env fakes docker exec'd processes.
HOST_CMD = (
    'ssh-keygen -q -t ed25519 -N "" -f /etc/ssh/ssh_host_ed25519_key'
    " && chronyd -x -f /etc/chrony/chrony.conf"
    " && exec env -u LD_PRELOAD -u FAKETIME /usr/sbin/sshd -D -e"
    " -o HostKey=/etc/ssh/ssh_host_ed25519_key -o PasswordAuthentication=no"
    ' -o "SetEnv=LD_PRELOAD=$LD_PRELOAD FAKETIME=$FAKETIME FAKETIME_DONT_FAKE_MONOTONIC=1"'
)


def log(msg):
    print("[bench %s] %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr, flush=True)


def sh(cmd, check=True, **kw):
    res = subprocess.run(cmd, check=False, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)
    if check and res.returncode:
        raise SystemExit("command failed (rc=%d): %s\n%s" % (res.returncode, " ".join(cmd), res.stderr.strip()))
    return res


# ------------------------------------------------------------------ fleet

class Fleet:
    def __init__(self, tag, size, seed, workdir):
        self.tag, self.size = tag, size
        self.net = "fc-%s-net" % tag
        self.label = "fleetclock.bench=%s" % tag
        self.workdir = workdir
        rng = random.Random(seed)
        self.names = ["h%03d" % i for i in range(1, size + 1)]
        # mostly small offsets (the interesting range for the bound), every 10th host far off
        self.truth = {}
        for i, name in enumerate(self.names):
            far = i % 10 == 9
            self.truth[name] = round(rng.uniform(-150, 150) if far else rng.uniform(-3, 3), 6)
        self.addr = {}
        self.key = os.path.join(workdir, "id_ed25519")
        self.known_hosts = os.path.join(workdir, "known_hosts")

    def container(self, name):
        return "fc-%s-%s" % (self.tag, name)

    def build_image(self):
        log("building %s (offline, from fleetclock-test/debian:12)" % IMAGE)
        sh(["docker", "build", "-q", "-t", IMAGE, "-f", os.path.join(ROOT, "bench", "host.Dockerfile"),
            os.path.join(ROOT, "bench")])

    def _start(self, name):
        offset = "%+.6f" % self.truth[name]
        sh(["docker", "run", "-d", "--name", self.container(name), "--hostname", name,
            "--network", self.net, "--label", self.label,
            "-e", "LD_PRELOAD=" + LIBFT, "-e", "FAKETIME=" + offset, "-e", "FAKETIME_DONT_FAKE_MONOTONIC=1",
            "-v", self.key + ".pub:/root/.ssh/authorized_keys:ro",
            IMAGE, "sh", "-c", HOST_CMD])

    def up(self):
        self.build_image()
        sh(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", self.key])
        sh(["docker", "network", "create", "--internal", "--label", self.label, self.net])
        log("starting %d containers on internal network %s" % (self.size, self.net))
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            list(pool.map(self._start, self.names))
        out = sh(["docker", "inspect", "-f", "{{.Name}} {{(index .NetworkSettings.Networks \"%s\").IPAddress}}" % self.net]
                 + [self.container(n) for n in self.names]).stdout
        by_container = dict(line.lstrip("/").split() for line in out.splitlines())
        self.addr = {n: by_container[self.container(n)] for n in self.names}
        self._seed_known_hosts()
        self._wait_chrony()

    def _seed_known_hosts(self):
        """ssh-keyscan every host's generated ed25519 key (host key checking stays on)."""
        want = set(self.addr.values())
        lines = {}
        for dummy in range(30):
            missing = sorted(want - set(lines))
            res = sh(["ssh-keyscan", "-T", "5", "-t", "ed25519", "-f", "-"], check=False,
                     input="\n".join(missing) + "\n")
            for line in res.stdout.splitlines():
                parts = line.split()
                if len(parts) == 3 and parts[0] in want:
                    lines[parts[0]] = line
            if len(lines) == len(want):
                break
            time.sleep(1)
        else:
            raise SystemExit("sshd did not answer on %d hosts" % (len(want) - len(lines)))
        with open(self.known_hosts, "w") as fh:
            fh.write("\n".join(lines[a] for a in sorted(lines)) + "\n")

    def _wait_chrony(self):
        last = self.container(self.names[-1])
        for dummy in range(30):
            if sh(["docker", "exec", last, "chronyc", "-n", "-c", "tracking"], check=False).returncode == 0:
                return
            time.sleep(1)
        raise SystemExit("chronyd did not start in %s" % last)

    def down(self):
        ids = sh(["docker", "ps", "-aq", "--filter", "label=" + self.label], check=False).stdout.split()
        for i in range(0, len(ids), 100):
            sh(["docker", "rm", "-f"] + ids[i:i + 100], check=False)
        for dummy in range(10):  # endpoints of just-removed containers may linger for a moment
            if sh(["docker", "network", "rm", self.net], check=False).returncode == 0 or not sh(
                    ["docker", "network", "ls", "-q", "--filter", "name=^%s$" % self.net], check=False).stdout.strip():
                break
            time.sleep(2)
        if ids:
            log("removed %d containers and network %s" % (len(ids), self.net))

    def inventory(self, connection, size):
        path = os.path.join(self.workdir, "inv-%s-%d.json" % (connection, size))
        hosts = {}
        for name in self.names[:size]:
            hosts[name] = {"ansible_host": self.addr[name] if connection == "ssh" else self.container(name)}
        group_vars = {"ansible_connection": CONNECTIONS[connection]}
        if connection == "ssh":
            group_vars.update(ansible_user="root", ansible_ssh_private_key_file=self.key,
                              ansible_ssh_common_args="-o UserKnownHostsFile=%s" % self.known_hosts)
        with open(path, "w") as fh:
            json.dump({"all": {"hosts": hosts, "vars": group_vars}}, fh)
        return path


# ------------------------------------------------------------------ measuring one run

def _proc_table():
    table = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % pid) as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        table[int(pid)] = (int(fields[1]), int(fields[21]) * PAGE)  # ppid, rss
    return table


def _tree_rss(root):
    table = _proc_table()
    children = {}
    for pid, (ppid, _rss) in table.items():
        children.setdefault(ppid, []).append(pid)
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        if pid in table:
            total += table[pid][1]
        todo.extend(children.get(pid, ()))
    return total


def _daemon_cpu():
    """CPU seconds used so far by dockerd and containerd (the docker connection's server side)."""
    total = 0.0
    for pid in _proc_table():
        try:
            with open("/proc/%d/comm" % pid) as fh:
                comm = fh.read().strip()
            if comm not in ("dockerd", "containerd"):
                continue
            with open("/proc/%d/stat" % pid) as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def measure(cmd, env, log_path):
    """Run cmd; return wall, cpu (children rusage), maxrss, peak tree rss, rc, output, end time."""
    with open("/proc/loadavg") as fh:
        load = float(fh.read().split()[0])
    daemon0 = _daemon_cpu()
    out = open(log_path, "w+")
    t0 = time.time()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    peak = 0
    while True:
        pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        peak = max(peak, _tree_rss(proc.pid))
        time.sleep(0.2)
    t1 = time.time()
    proc.returncode = os.waitstatus_to_exitcode(status)
    out.seek(0)
    text = out.read()
    out.close()
    return {
        "wall": t1 - t0, "end": t1, "rc": proc.returncode, "load1": load,
        "cpu": ru.ru_utime + ru.ru_stime, "maxrss_mb": ru.ru_maxrss / 1024.0, "tree_rss_mb": peak / 2.0 ** 20,
        "daemon_cpu": _daemon_cpu() - daemon0,
    }, text


_NAIVE_RE = re.compile(r"^(\S+) \| CHANGED \| rc=0 >>\n\s*(\d+\.\d+)\s*$", re.M)


def naive_errors(text, end, truth):
    readings = {host: float(value) for host, value in _NAIVE_RE.findall(text)}
    errs = [abs((readings[h] - end) - truth[h]) for h in truth if h in readings]
    return {"measured": len(readings), "max_err": max(errs) if errs else None, "misses": None, "median_bound": None}


def audit_errors(report_path, truth):
    with open(report_path) as fh:
        report = json.load(fh)
    errs, misses, bounds, before = [], [], [], []
    for rec in report["hosts"]:
        if not rec["measured"]:
            continue
        err = abs(rec["offset"] - truth[rec["host"]])
        if rec["rtt"]:
            # the part of the best sample's round trip before the host's first reading: a - b = 2 (offset - truth)
            # and a + b ~= 2 bound (the transport the bound keeps), so a ~= bound + offset - truth
            before.append((rec["bound"] + rec["offset"] - truth[rec["host"]]) / rec["rtt"])
        errs.append(err)
        bounds.append(rec["bound"])
        if err > rec["bound"]:
            misses.append(rec["host"])
    return {"measured": len(errs), "max_err": max(errs) if errs else None, "misses": len(misses),
            "missed_hosts": misses, "median_bound": statistics.median(bounds) if bounds else None,
            "max_bound": max(bounds) if bounds else None,
            "before_first_read": statistics.median(before) if before else None,
            "samples": statistics.mean(r["samples"] for r in report["hosts"] if r["measured"]) if bounds else None,
            # commands per host (reports of probes before execs existed: one per sample)
            "execs": statistics.mean(r.get("execs") or r["samples"] for r in report["hosts"] if r["measured"])
            if bounds else None}


def stop_ssh_masters(control_dir):
    """Close the ControlPersist masters a run left (every run starts cold)."""
    socks = [os.path.join(control_dir, s) for s in os.listdir(control_dir)] if os.path.isdir(control_dir) else []
    procs = [subprocess.Popen(["ssh", "-o", "ControlPath=" + s, "-O", "exit", "x"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for s in socks]
    for p in procs:
        p.wait()
    shutil.rmtree(control_dir, ignore_errors=True)


def run_one(fleet, connection, size, method, args, idx):
    inv = fleet.inventory(connection, size)
    run_dir = os.path.join(fleet.workdir, "run-%04d-%s-%s-%d" % (idx, connection, method, size))
    os.makedirs(run_dir)
    env = dict(os.environ, ANSIBLE_SSH_CONTROL_PATH_DIR=os.path.join(run_dir, "cp"),
               ANSIBLE_NOCOLOR="1", ANSIBLE_DEPRECATION_WARNINGS="0")
    env["PATH"] = VENV_BIN + os.pathsep + env.get("PATH", "")
    variant = args.variants.get(method, {})
    env.update({k: v for k, v in variant.items() if not k.startswith("fleetclock_")})
    if method.startswith("naive"):
        forks = method[len("naive"):]
        cmd = [os.path.join(VENV_BIN, "ansible"), "all", "-i", inv, "-m", "command", "-a", "date +%s.%N",
               "-f", forks]
    elif method == "floor":
        cmd = [os.path.join(VENV_BIN, "ansible"), "all", "-i", inv, "-m", "raw", "-a", "date +%s.%N"]
        if args.audit_forks:
            cmd += ["-f", str(args.audit_forks)]
    else:
        extra = {"fleetclock_audit_output_dir": run_dir, "fleetclock_audit_formats": ["json"],
                 "fleetclock_audit_fail_on_skew": False, "fleetclock_audit_fail_on_unsynchronised": False}
        extra.update({k: v for k, v in variant.items() if k.startswith("fleetclock_")})
        cmd = [os.path.join(VENV_BIN, "ansible-playbook"), "-i", inv, os.path.join(ROOT, "playbooks", "audit.yml"),
               "-e", json.dumps(extra)]
        if args.audit_forks:
            cmd += ["-f", str(args.audit_forks)]
    stats, text = measure(cmd, env, os.path.join(run_dir, "output.log"))
    truth = {n: fleet.truth[n] for n in fleet.names[:size]}
    if method.startswith("naive") or method == "floor":
        stats.update(naive_errors(text, stats["end"], truth))
        stats["execs"] = 1.0
    else:
        report = os.path.join(run_dir, "clock-audit.json")
        stats.update(audit_errors(report, truth) if os.path.exists(report) else
                     {"measured": 0, "max_err": None, "misses": None, "median_bound": None})
    if connection == "ssh":
        stop_ssh_masters(os.path.join(run_dir, "cp"))
    stats.update(connection=connection, size=size, method=method, log=os.path.join(run_dir, "output.log"))
    ok = stats["measured"] == size
    log("%-10s N=%-3d %-7s %6.1fs cpu %5.1fs tree %5.0f MB load %.1f measured %d/%d max_err %s misses %s bound~ %s%s" % (
        connection, size, method, stats["wall"], stats["cpu"], stats["tree_rss_mb"], stats["load1"],
        stats["measured"], size, _ms(stats["max_err"]), stats["misses"], _ms(stats["median_bound"]),
        "" if ok else "  (rc=%s, see %s)" % (stats["rc"], stats["log"])))
    return stats


# ------------------------------------------------------------------ summary

def _ms(value):
    if value is None:
        return "-"
    return "%.0f ms" % (value * 1e3) if value < 10 else "%.1f s" % value


def summarise(runs, methods=METHODS):
    rows = []
    keys = sorted({(r["connection"], r["size"]) for r in runs}, key=lambda k: (list(CONNECTIONS).index(k[0]), k[1]))
    for connection, size in keys:
        base, base_runs, floor = None, [], None
        for method in methods:
            mine = [r for r in runs if (r["connection"], r["size"], r["method"]) == (connection, size, method)]
            if not mine:
                continue
            wall = statistics.median(r["wall"] for r in mine)
            if method == "naive5":
                base, base_runs = wall, mine
            if method == "floor":
                floor = wall
            # repeat i of this method ran right after repeat i of naive5: the paired ratio cancels slow load swings
            paired = [b["wall"] / r["wall"] for b, r in zip(base_runs, mine)] if base else []
            errs = [r["max_err"] for r in mine if r["max_err"] is not None]
            bounds = [r["median_bound"] for r in mine if r["median_bound"] is not None]
            rows.append({
                "connection": connection, "size": size, "method": method, "repeats": len(mine),
                "wall": wall, "walls": [round(r["wall"], 1) for r in mine],
                "speedup": (base / wall) if base else None,
                "over_floor": (wall / floor) if floor else None,
                "execs": statistics.mean(r["execs"] for r in mine) if all(r.get("execs") for r in mine) else None,
                "paired_speedup": statistics.median(paired) if paired else None,
                "cpu": statistics.median(r["cpu"] for r in mine),
                "daemon_cpu": statistics.median(r["daemon_cpu"] for r in mine),
                "maxrss_mb": max(r["maxrss_mb"] for r in mine),
                "tree_rss_mb": max(r["tree_rss_mb"] for r in mine),
                "measured": min(r["measured"] for r in mine),
                "max_err": max(errs) if errs else None,
                "misses": sum(r["misses"] for r in mine) if method.startswith("audit") and all(r["misses"] is not None for r in mine) else None,
                "median_bound": statistics.median(bounds) if bounds else None,
                "load1": statistics.median(r["load1"] for r in mine),
            })
    return rows


def table(rows):
    head = ("| connection | N | method | wall (median) | runs (s) | naive5 / this | paired | controller CPU s | dockerd+containerd CPU s"
            " | max RSS MB (1 proc) | peak tree RSS MB | measured | max \\|err\\| | misses / hosts×runs | median bound"
            " | this / floor | commands per host | load1 |")
    lines = [head, "|" + "---|" * head.count(" | ") + "---|"]
    for r in rows:
        lines.append("| %s | %d | %s | %.1f s | %s | %s | %s | %.1f | %.1f | %.0f | %.0f | %d/%d | %s | %s | %s | %s | %s | %.1f |" % (
            r["connection"], r["size"], r["method"], r["wall"], " ".join("%.1f" % w for w in r["walls"]),
            "%.1f×" % r["speedup"] if r["speedup"] else "-",
            "%.1f×" % r["paired_speedup"] if r.get("paired_speedup") else "-", r["cpu"], r["daemon_cpu"], r["maxrss_mb"], r["tree_rss_mb"],
            r["measured"], r["size"], _ms(r["max_err"]),
            "%d / %d" % (r["misses"], r["size"] * r["repeats"]) if r["misses"] is not None else "n/a (no bound)",
            _ms(r["median_bound"]), "%.2f×" % r["over_floor"] if r.get("over_floor") else "-",
            "%.2f" % r["execs"] if r.get("execs") else "-", r["load1"]))
    return "\n".join(lines)


def machine():
    def first(cmd):
        try:
            return sh(cmd, check=False).stdout.strip()
        except OSError:
            return None
    osr = dict(line.split("=", 1) for line in open("/etc/os-release").read().splitlines() if "=" in line)
    return {"nproc": os.cpu_count(), "os": osr.get("PRETTY_NAME", "").strip('"'), "kernel": platform.release(),
            "docker": first(["docker", "version", "--format", "server {{.Server.Version}}, client {{.Client.Version}}"]),
            "ansible": first([os.path.join(VENV_BIN, "ansible"), "--version"]).splitlines()[0],
            "python": platform.python_version(), "mem_mb": os.sysconf("SC_PHYS_PAGES") * PAGE // 2 ** 20,
            "loadavg_at_start": open("/proc/loadavg").read().split()[:3]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    ap.add_argument("--sizes", default="20,50,100", help="fleet sizes (default: %(default)s)")
    ap.add_argument("--transports", "--connections", dest="connections", default="docker,ssh",
                    help="from %s (default: %%(default)s)" % ", ".join(CONNECTIONS))
    ap.add_argument("--methods", default=",".join(METHODS), help="from %s (default: all)" % ", ".join(METHODS))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--audit-forks", type=int, default=0, help="forks for the audit (default: ansible.cfg's)")
    ap.add_argument("--naive-max-size", type=int, default=0,
                    help="skip the naive methods above this N (0: never skip)")
    ap.add_argument("--audit-variant", action="append", default=[], metavar="NAME:VAR=VALUE[,VAR=VALUE]",
                    help="also run the audit as method audit-NAME with these environment variables, or extra "
                         "vars for names starting with fleetclock_ (A/B of a setting in the same run), e.g. "
                         "slots1:FLEETCLOCK_SAMPLE_SLOTS=1 or min1:fleetclock_audit_min_samples=1")
    ap.add_argument("--tag", default="bench", help="container name prefix fc-TAG- (default: %(default)s)")
    ap.add_argument("--seed", type=int, default=6)
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results", "latest.json"))
    ap.add_argument("--summarise", metavar="JSON", help="only print the table of an earlier run's --out file")
    args = ap.parse_args()
    if args.summarise:
        with open(args.summarise) as fh:
            done = json.load(fh)
        order = list(METHODS) + sorted({r["method"] for r in done["runs"]} - set(METHODS))
        print("machine: %s" % json.dumps(done["machine"]))
        print("command: %s" % done["command"])
        print(table(summarise(done["runs"], order)))
        return
    sizes = sorted(int(s) for s in args.sizes.split(","))
    conns = [c.strip() for c in args.connections.split(",")]
    methods = [m.strip() for m in args.methods.split(",")]
    args.variants = dict(BUILTIN_VARIANTS)
    for spec in args.audit_variant:
        name, dummy, assignments = spec.partition(":")
        args.variants["audit-" + name] = dict(item.split("=", 1) for item in assignments.split(",") if item)
        methods.append("audit-" + name)
    bad = [c for c in conns if c not in CONNECTIONS] + [m for m in methods if m not in METHODS and m not in args.variants]
    if bad or max(sizes) > 900:
        ap.error("unknown connection/method %s or N > 900 (one Docker network holds < 1000 containers)" % bad)

    workdir = tempfile.mkdtemp(prefix="fc-bench-")
    fleet = Fleet(args.tag, max(sizes), args.seed, workdir)

    def on_signal(signum, frame):
        raise SystemExit("interrupted (signal %d)" % signum)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    info = machine()
    runs = []
    started = time.time()
    try:
        fleet.down()
        fleet.up()
        idx = 0
        for size in sizes:
            for rep in range(args.repeats):
                for connection in conns:
                    for method in methods:
                        if method.startswith("naive") and args.naive_max_size and size > args.naive_max_size:
                            continue
                        idx += 1
                        runs.append(run_one(fleet, connection, size, method, args, idx))
    finally:
        fleet.down()
        rows = summarise(runs, methods)
        result = {"command": " ".join([sys.executable] + sys.argv), "machine": info, "runs": runs, "summary": rows,
                  "truth": fleet.truth, "elapsed": time.time() - started, "workdir": workdir}
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as fh:
            json.dump(result, fh, indent=1)
        if rows:
            print("machine: %s" % json.dumps(info))
            print("command: %s" % result["command"])
            print(table(rows))
        log("done in %.0f s; runs in %s, logs in %s" % (result["elapsed"], args.out, workdir))


if __name__ == "__main__":
    main()
