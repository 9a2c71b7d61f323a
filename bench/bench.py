"""Benchmark the fleetclock audit against the naive `ansible -m command -a 'date +%s.%N'`.

    python3 bench/bench.py --sizes 20,50,100 --transports docker,ssh --repeats 3

Builds one fleet of max(sizes) containers, up to 2,000 (image bench/host.Dockerfile: python3,
chrony running with no source, sshd), spread over internal Docker networks this script creates
(fc-<tag>-net1, -net2, ...: at most --hosts-per-network hosts each, Docker picks the subnets), or
on no network at all (--network none) when no transport is ssh, with a per-host clock offset
injected by libfaketime and recorded as the truth. A fleet of N uses the first N hosts. For every N, repeat and connection it runs, alternating in this order:

  naive5   ansible all -m command -a 'date +%s.%N' -f 5
  naive10  the same with -f 10
  audit    ansible-playbook playbooks/audit.yml (forks from ansible.cfg unless --audit-forks)
  audit-batch  the same with -e fleetclock_audit_batch=true (every host visited from one process)
  floor    ansible all -m raw -a 'date +%s.%N' at the audit's forks: one raw command per host and
           nothing else (no bound), what no audit can beat on this machine and transport

and reports per connection, N and method: median wall time (also per host), ratio to naive5,
controller CPU seconds (user+sys of the ansible process and its waited-for children, from wait4;
also per host), peak RSS
(largest single process, ru_maxrss, and the peak sum over the live process tree, sampled
every 0.2 s), and accuracy against the injected offsets: max |measured - injected| and, for
the audit, how many injected offsets fell outside the reported bound. The naive "offset" is
the host's reading minus the controller's time when `ansible` exited. The JSON also holds the
machine's used memory (MemTotal - MemAvailable) before and after the fleet started and during each run.

Results: a Markdown table on stdout and every run as JSON in --out. Containers are named
fc-<tag>-hNNN, labelled fleetclock.bench=<tag> (so are the networks), and are always removed (in
batches) at exit, also on Ctrl-C, SIGTERM and SIGHUP. Run it from anywhere; it uses the checkout's
ansible.cfg (ANSIBLE_CONFIG, which resolves the collection through ./collections) and .venv.
Fleet and the run helpers are imported by bench/slices.py.
"""

import argparse
import concurrent.futures
import contextlib
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
import threading
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
HOSTS_PER_NETWORK = 250  # hosts per internal network (a Linux bridge holds at most 1,024 ports)
MAX_HOSTS = 2000
MAX_NETWORKS = 32  # Docker's default address pools hold about 30 networks
START_WORKERS = 8  # concurrent `docker run`s when starting the fleet (the daemon does the work)
HELD_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
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
    """One progress line on stderr."""
    print("[bench %s] %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr, flush=True)


def sh(cmd, check=True, **kw):
    """Run cmd, capture its output; a failure stops the bench unless check is false."""
    res = subprocess.run(cmd, check=False, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)
    if check and res.returncode:
        raise SystemExit("command failed (rc=%d): %s\n%s" % (res.returncode, " ".join(cmd), res.stderr.strip()))
    return res


# ------------------------------------------------------------------ fleet

def mem_used_mb():
    """The machine's used memory in MB: MemTotal - MemAvailable from /proc/meminfo."""
    info = {}
    with open("/proc/meminfo") as fh:
        for line in fh:
            key, dummy, rest = line.partition(":")
            info[key] = int(rest.split()[0])
    return (info["MemTotal"] - info["MemAvailable"]) / 1024.0


CGROUP_MEMORY = ("/sys/fs/cgroup/memory/docker/%s/memory.usage_in_bytes",  # v1, cgroupfs driver
                 "/sys/fs/cgroup/docker/%s/memory.current",  # v2, cgroupfs driver
                 "/sys/fs/cgroup/system.slice/docker-%s.scope/memory.current")  # v2, systemd driver


def cgroup_mem_mb(container_id):
    """Memory charged to a container's cgroup (its processes' memory and the page cache they brought in), or
    None when its cgroup file is not where Docker's drivers put it."""
    for pattern in CGROUP_MEMORY:
        try:
            with open(pattern % container_id) as fh:
                return int(fh.read()) / 2.0 ** 20
        except OSError:
            continue
    return None


@contextlib.contextmanager
def signals_held():
    """Let a clean-up finish: SIGINT/SIGTERM/SIGHUP during it are logged, and raised as SystemExit after it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    got = []

    def hold(signum, frame):
        got.append(signum)
        log("signal %d: finishing the clean-up first" % signum)
    old = {signum: signal.signal(signum, hold) for signum in HELD_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in old.items():
            signal.signal(signum, handler)
    if got:
        raise SystemExit("interrupted (signal %d)" % got[0])


class Fleet:
    """max(sizes) bench hosts with injected clock offsets (the truth), on internal networks or on none.

    Hosts are spread over internal networks of at most hosts_per_network hosts each (a Linux bridge holds
    at most 1,024 ports); with network=False (no ssh transport) they run with --network none.
    """

    def __init__(self, tag, size, seed, workdir, hosts_per_network=HOSTS_PER_NETWORK, network=True):
        self.tag, self.size = tag, size
        self.label = "fleetclock.bench=%s" % tag
        self.workdir = workdir
        rng = random.Random(seed)
        self.names = ["h%03d" % i for i in range(1, size + 1)]
        count = -(-size // hosts_per_network) if network else 0
        self.nets = ["fc-%s-net%d" % (tag, j + 1) for j in range(count)]
        self.net_of = {name: self.nets[i // hosts_per_network] if network else "none"
                       for i, name in enumerate(self.names)}
        # mostly small offsets (the interesting range for the bound), every 10th host far off
        self.truth = {}
        for i, name in enumerate(self.names):
            far = i % 10 == 9
            self.truth[name] = round(rng.uniform(-150, 150) if far else rng.uniform(-3, 3), 6)
        self.addr = {}
        self.stats = {}
        self.key = os.path.join(workdir, "id_ed25519")
        self.known_hosts = os.path.join(workdir, "known_hosts")

    def container(self, name):
        """The container name of host name."""
        return "fc-%s-%s" % (self.tag, name)

    def build_image(self):
        """Build the bench host image from the test image (offline)."""
        log("building %s (offline, from fleetclock-test/debian:12)" % IMAGE)
        sh(["docker", "build", "-q", "-t", IMAGE, "-f", os.path.join(ROOT, "bench", "host.Dockerfile"),
            os.path.join(ROOT, "bench")])

    def _start(self, name):
        offset = "%+.6f" % self.truth[name]
        sh(["docker", "run", "-d", "--name", self.container(name), "--hostname", name,
            "--network", self.net_of[name], "--label", self.label,
            "-e", "LD_PRELOAD=" + LIBFT, "-e", "FAKETIME=" + offset, "-e", "FAKETIME_DONT_FAKE_MONOTONIC=1",
            "-v", self.key + ".pub:/root/.ssh/authorized_keys:ro",
            IMAGE, "sh", "-c", HOST_CMD])

    def _start_all(self):
        """docker run every host, START_WORKERS at a time; on an error or a signal, start no more."""
        pool = concurrent.futures.ThreadPoolExecutor(START_WORKERS)
        try:
            for done, dummy in enumerate(pool.map(self._start, self.names), 1):
                if done % 100 == 0:
                    log("started %d/%d" % (done, self.size))
        except BaseException:
            with signals_held():  # the docker runs under way finish before Fleet.down lists the containers
                pool.shutdown(cancel_futures=True)
            raise
        pool.shutdown()

    def up(self):
        """Build the image, create the networks, start the hosts, collect addresses and host keys."""
        self.build_image()
        sh(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", self.key])
        mem0, t0 = mem_used_mb(), time.time()
        for net in self.nets:
            sh(["docker", "network", "create", "--internal", "--label", self.label, net])
        log("starting %d containers on %s" % (self.size, "%d internal network(s) %s" % (len(self.nets), ", ".join(
            self.nets)) if self.nets else "no network (--network none)"))
        self._start_all()
        if self.nets:
            self._read_addresses()
            self._seed_known_hosts()
        self._wait_chrony()
        mem1 = mem_used_mb()
        ids = sh(["docker", "ps", "-q", "--no-trunc", "--filter", "label=" + self.label]).stdout.split()
        charged = [cgroup_mem_mb(i) for i in ids]
        charged = sum(charged) if ids and None not in charged else None
        self.stats = {"hosts": self.size, "networks": self.nets, "start_s": round(time.time() - t0, 1),
                      "mem_used_before_mb": round(mem0), "mem_used_up_mb": round(mem1),
                      "mem_per_host_mb": round((mem1 - mem0) / self.size, 2),
                      "cgroup_mem_mb": charged and round(charged, 1),
                      "cgroup_mem_per_host_mb": charged and round(charged / self.size, 2)}
        log("fleet up in %.0f s; machine's used memory %.0f -> %.0f MB (%+.1f MB per host); charged to the "
            "containers' cgroups %s MB (%s MB per host)" % (
                self.stats["start_s"], mem0, mem1, (mem1 - mem0) / self.size,
                self.stats["cgroup_mem_mb"], self.stats["cgroup_mem_per_host_mb"]))

    def _read_addresses(self):
        out = sh(["docker", "inspect", "-f", "{{.Name}} {{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}"]
                 + [self.container(n) for n in self.names]).stdout
        by_container = dict(line.lstrip("/").split() for line in out.splitlines())
        self.addr = {n: by_container[self.container(n)] for n in self.names}

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
        """Remove every container and network with this fleet's label (retrying; signals wait for it)."""
        with signals_held():
            removed = self._remove("ps", "-aq", ["rm", "-f"])
            nets = self._remove("network", "ls", "-q", ["network", "rm"])
            if removed or nets:
                log("removed %d containers and %d network(s) labelled %s" % (removed, nets, self.label))

    def _remove(self, *spec):
        """List the objects with this fleet's label (docker *spec[:-1]) and remove them (docker *spec[-1]) in
        batches of 100 until none is left (endpoints of just-removed containers may hold a network a moment);
        how many were removed."""
        listing, remove, seen = list(spec[:-1]), spec[-1], set()
        for attempt in range(10):
            # own session: a Ctrl-C to the terminal's process group does not kill the clean-up's docker commands
            ids = sh(["docker"] + listing + ["--filter", "label=" + self.label], check=False,
                     start_new_session=True).stdout.split()
            if not ids:
                return len(seen)
            seen.update(ids)
            if attempt:
                time.sleep(2)
            for i in range(0, len(ids), 100):
                sh(["docker"] + remove + ids[i:i + 100], check=False, start_new_session=True)
        log("could not remove every object of docker %s labelled %s" % (" ".join(listing), self.label))
        return len(seen)

    def inventory(self, connection, size=None, names=None, label=None):
        """Write a JSON inventory of the first size hosts (or of names) for connection; return its path."""
        names = self.names[:size] if names is None else names
        path = os.path.join(self.workdir, "inv-%s-%s.json" % (connection, label or len(names)))
        hosts = {}
        for name in names:
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


CHILDREN_FILES = os.path.exists("/proc/%d/task/%d/children" % (os.getpid(), os.getpid()))


def _children(pid):
    """Child pids of every thread of pid (/proc/PID/task/TID/children)."""
    kids = []
    try:
        for tid in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/children" % (pid, tid)) as fh:
                kids.extend(int(c) for c in fh.read().split())
    except OSError:
        pass
    return kids


def _pid_rss(pid):
    try:
        with open("/proc/%d/statm" % pid) as fh:
            return int(fh.read().split()[1]) * PAGE
    except OSError:
        return 0


def _tree_rss(root):
    """Summed RSS of root and its descendants. Walks the tree from root when the kernel lists children (a
    sample then costs tens of reads, not one per process of a 1,000-container machine), else scans /proc."""
    if CHILDREN_FILES:
        total, todo = 0, [root]
        while todo:
            pid = todo.pop()
            total += _pid_rss(pid)
            todo.extend(_children(pid))
        return total
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


def descendants(root):
    """pids of every process below root (ansible-core's workers start sessions of their own, so a process
    group does not hold them: the parent links do)."""
    if CHILDREN_FILES:
        found, todo = [], _children(root)
        while todo:
            pid = todo.pop()
            found.append(pid)
            todo.extend(_children(pid))
        return found
    children = {}
    for pid, (ppid, _rss) in _proc_table().items():
        children.setdefault(ppid, []).append(pid)
    found, todo = [], list(children.get(root, ()))
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, ()))
    return found


def end_tree(root, include_root=True, grace=5.0):
    """SIGTERM every process below root (and root), again for any forked meanwhile, for up to grace seconds;
    then SIGKILL what is left. Only this script's own descendants are touched."""
    deadline = time.time() + grace
    for sig in (signal.SIGTERM, signal.SIGKILL):
        while True:
            pids = descendants(root) + ([root] if include_root else [])
            alive = [pid for pid in pids if _signal(pid, sig)]
            if not alive or sig == signal.SIGKILL or time.time() > deadline:
                break
            time.sleep(0.2)


def _signal(pid, sig):
    """Send sig to pid unless it is gone or a zombie; whether it was alive."""
    try:
        with open("/proc/%d/stat" % pid) as fh:
            if fh.read().rsplit(")", 1)[1].split()[0] == "Z":
                return False
        os.kill(pid, sig)
        return True
    except (OSError, IndexError):
        return False


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


def measure(cmd, env, log_path, cwd=ROOT):
    """Run cmd; return wall, cpu (children rusage), maxrss, peak tree rss, the machine's used memory (at the
    start and its peak), rc, end time; and the output."""
    with open("/proc/loadavg") as fh:
        load = float(fh.read().split()[0])
    daemon0 = _daemon_cpu()
    mem0 = mem_peak = mem_used_mb()
    out = open(log_path, "w+")
    t0 = time.time()
    # its own session: a Ctrl-C reaches this script only, which ends the whole tree (end_tree) before it goes
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    peak = 0
    try:
        while True:
            pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            peak = max(peak, _tree_rss(proc.pid))
            mem_peak = max(mem_peak, mem_used_mb())
            time.sleep(0.2)
    except BaseException:
        with signals_held():
            end_tree(proc.pid)
            proc.wait()
        raise
    t1 = time.time()
    proc.returncode = os.waitstatus_to_exitcode(status)
    out.seek(0)
    text = out.read()
    out.close()
    return {
        "wall": t1 - t0, "end": t1, "rc": proc.returncode, "load1": load,
        "cpu": ru.ru_utime + ru.ru_stime, "maxrss_mb": ru.ru_maxrss / 1024.0, "tree_rss_mb": peak / 2.0 ** 20,
        "daemon_cpu": _daemon_cpu() - daemon0, "mem_used_mb": mem0, "mem_used_peak_mb": mem_peak,
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


def run_env(run_dir, variant=None):
    """The environment of a run: the venv first on PATH, its own ssh ControlPath directory, no colour, and the
    variant's environment variables (the collection resolves through the checkout's ansible.cfg)."""
    env = dict(os.environ, ANSIBLE_SSH_CONTROL_PATH_DIR=os.path.join(run_dir, "cp"),
               ANSIBLE_NOCOLOR="1", ANSIBLE_DEPRECATION_WARNINGS="0", ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"))
    env["PATH"] = VENV_BIN + os.pathsep + env.get("PATH", "")
    env.update({k: v for k, v in (variant or {}).items() if not k.startswith("fleetclock_")})
    return env


def audit_extra_vars(run_dir, variant=None):
    """Extra vars of a bench audit: JSON report only, in run_dir, never failing on what it finds."""
    extra = {"fleetclock_audit_output_dir": run_dir, "fleetclock_audit_formats": ["json"],
             "fleetclock_audit_fail_on_skew": False, "fleetclock_audit_fail_on_unsynchronised": False}
    extra.update({k: v for k, v in (variant or {}).items() if k.startswith("fleetclock_")})
    return extra


def audit_command(inv, run_dir, variant=None, forks=0):
    """ansible-playbook playbooks/audit.yml over inv, writing run_dir/clock-audit.json."""
    cmd = [os.path.join(VENV_BIN, "ansible-playbook"), "-i", inv, os.path.join(ROOT, "playbooks", "audit.yml"),
           "-e", json.dumps(audit_extra_vars(run_dir, variant))]
    return cmd + (["-f", str(forks)] if forks else [])


def run_one(fleet, connection, size, method, args, idx):
    """One measured run of method over the first size hosts; its stats and accuracy against the truth."""
    inv = fleet.inventory(connection, size)
    run_dir = os.path.join(fleet.workdir, "run-%04d-%s-%s-%d" % (idx, connection, method, size))
    os.makedirs(run_dir)
    variant = args.variants.get(method, {})
    env = run_env(run_dir, variant)
    if method.startswith("naive"):
        forks = method[len("naive"):]
        cmd = [os.path.join(VENV_BIN, "ansible"), "all", "-i", inv, "-m", "command", "-a", "date +%s.%N",
               "-f", forks]
    elif method == "floor":
        cmd = [os.path.join(VENV_BIN, "ansible"), "all", "-i", inv, "-m", "raw", "-a", "date +%s.%N"]
        if args.audit_forks:
            cmd += ["-f", str(args.audit_forks)]
    else:
        cmd = audit_command(inv, run_dir, variant, args.audit_forks)
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
    """One row per connection, N and method: medians over the repeats, worst accuracy, paired ratios."""
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
                "wall_per_host": wall / size,
                "cpu_per_host": statistics.median(r["cpu"] for r in mine) / size,
                "daemon_cpu": statistics.median(r["daemon_cpu"] for r in mine),
                "maxrss_mb": max(r["maxrss_mb"] for r in mine),
                "tree_rss_mb": max(r["tree_rss_mb"] for r in mine),
                "mem_used_peak_mb": max((r.get("mem_used_peak_mb") or 0 for r in mine), default=0) or None,
                "measured": min(r["measured"] for r in mine),
                "max_err": max(errs) if errs else None,
                "misses": sum(r["misses"] for r in mine) if method.startswith("audit") and all(r["misses"] is not None for r in mine) else None,
                "median_bound": statistics.median(bounds) if bounds else None,
                "load1": statistics.median(r["load1"] for r in mine),
            })
    return rows


def table(rows):
    """The summary rows as a Markdown table."""
    head = ("| connection | N | method | wall (median) | runs (s) | wall / host s | naive5 / this | paired | controller CPU s"
            " | controller CPU s / host | dockerd+containerd CPU s"
            " | max RSS MB (1 proc) | peak tree RSS MB | measured | max \\|err\\| | misses / hosts×runs | median bound"
            " | this / floor | commands per host | load1 |")
    lines = [head, "|" + "---|" * head.count(" | ") + "---|"]
    for r in rows:
        lines.append("| %s | %d | %s | %.1f s | %s | %.3f | %s | %s | %.1f | %.3f | %.1f | %.0f | %.0f | %d/%d | %s | %s | %s | %s | %s | %.1f |" % (
            r["connection"], r["size"], r["method"], r["wall"], " ".join("%.1f" % w for w in r["walls"]),
            r["wall"] / r["size"], "%.1f×" % r["speedup"] if r["speedup"] else "-",
            "%.1f×" % r["paired_speedup"] if r.get("paired_speedup") else "-", r["cpu"], r["cpu"] / r["size"],
            r["daemon_cpu"], r["maxrss_mb"], r["tree_rss_mb"],
            r["measured"], r["size"], _ms(r["max_err"]),
            "%d / %d" % (r["misses"], r["size"] * r["repeats"]) if r["misses"] is not None else "n/a (no bound)",
            _ms(r["median_bound"]), "%.2f×" % r["over_floor"] if r.get("over_floor") else "-",
            "%.2f" % r["execs"] if r.get("execs") else "-", r["load1"]))
    return "\n".join(lines)


def machine():
    """What the results were measured on."""
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


def add_fleet_args(ap):
    """The fleet options bench.py and slices.py share."""
    ap.add_argument("--hosts-per-network", type=int, default=HOSTS_PER_NETWORK,
                    help="hosts per internal Docker network, 1-1000 (default: %(default)s)")
    ap.add_argument("--tag", default="bench", help="container name prefix fc-TAG- (default: %(default)s)")
    ap.add_argument("--seed", type=int, default=6)


def check_fleet(ap, size, hosts_per_network):
    """Refuse fleets this machinery cannot build: too many hosts, too many networks, or oversized bridges."""
    if not 1 <= size <= MAX_HOSTS:
        ap.error("fleet size %d: 1 to %d hosts" % (size, MAX_HOSTS))
    if not 1 <= hosts_per_network <= 1000:
        ap.error("--hosts-per-network %d: 1 to 1000 (a Linux bridge holds at most 1,024 ports)" % hosts_per_network)
    if -(-size // hosts_per_network) > MAX_NETWORKS:
        ap.error("%d hosts at %d per network need more than %d networks (Docker's default address pools hold "
                 "about 30): raise --hosts-per-network" % (size, hosts_per_network, MAX_NETWORKS))


def on_signal(signum, frame):
    """SIGTERM / SIGHUP end the run like Ctrl-C: through the finally clauses that remove the fleet."""
    raise SystemExit("interrupted (signal %d)" % signum)


def install_signal_handlers():
    """SIGTERM and SIGHUP raise SystemExit (SIGINT already raises KeyboardInterrupt)."""
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)


def parse_args():
    """The command line."""
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
    add_fleet_args(ap)
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results", "latest.json"))
    ap.add_argument("--summarise", metavar="JSON", help="only print the table of an earlier run's --out file")
    args = ap.parse_args()
    if args.summarise:
        return args
    args.sizes = sorted(int(s) for s in args.sizes.split(","))
    args.conns = [c.strip() for c in args.connections.split(",")]
    args.methods = [m.strip() for m in args.methods.split(",")]
    args.variants = dict(BUILTIN_VARIANTS)
    for spec in args.audit_variant:
        name, dummy, assignments = spec.partition(":")
        args.variants["audit-" + name] = dict(item.split("=", 1) for item in assignments.split(",") if item)
        args.methods.append("audit-" + name)
    bad = [c for c in args.conns if c not in CONNECTIONS] + [
        m for m in args.methods if m not in METHODS and m not in args.variants]
    if bad:
        ap.error("unknown connection/method %s" % bad)
    check_fleet(ap, max(args.sizes), args.hosts_per_network)
    return args


def print_summary(path):
    """--summarise: the table of an earlier run's --out file."""
    with open(path) as fh:
        done = json.load(fh)
    order = list(METHODS) + sorted({r["method"] for r in done["runs"]} - set(METHODS))
    print("machine: %s" % json.dumps(done["machine"]))
    print("command: %s" % done["command"])
    print(table(summarise(done["runs"], order)))
    if done.get("fleet"):
        print("fleet: %s" % json.dumps(done["fleet"]))


def write_result(path, result):
    """Write the JSON result (creating its directory)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as fh:
        json.dump(result, fh, indent=1)


def run_all(fleet, args, runs):
    """Every N, repeat, connection and method, in this order, each run appended to runs as it ends."""
    idx = 0
    for size in args.sizes:
        for dummy in range(args.repeats):
            for connection in args.conns:
                for method in args.methods:
                    if method.startswith("naive") and args.naive_max_size and size > args.naive_max_size:
                        continue
                    idx += 1
                    runs.append(run_one(fleet, connection, size, method, args, idx))


def main():
    """Build the fleet, run everything, remove the fleet, print and write the results."""
    args = parse_args()
    if args.summarise:
        print_summary(args.summarise)
        return
    workdir = tempfile.mkdtemp(prefix="fc-bench-")
    fleet = Fleet(args.tag, max(args.sizes), args.seed, workdir, args.hosts_per_network, network="ssh" in args.conns)
    install_signal_handlers()
    info = machine()
    runs = []
    started = time.time()
    try:
        fleet.down()
        fleet.up()
        run_all(fleet, args, runs)
    finally:
        try:
            fleet.down()
        finally:
            rows = summarise(runs, args.methods)
            result = {"command": " ".join([sys.executable] + sys.argv), "machine": info, "fleet": fleet.stats,
                      "runs": runs, "summary": rows, "truth": fleet.truth, "elapsed": time.time() - started,
                      "workdir": workdir}
            write_result(args.out, result)
            if rows:
                print("machine: %s" % json.dumps(info))
                print("command: %s" % result["command"])
                print(table(rows))
                print("fleet: %s" % json.dumps(fleet.stats))
            log("done in %.0f s; runs in %s, logs in %s" % (result["elapsed"], args.out, workdir))


if __name__ == "__main__":
    main()
