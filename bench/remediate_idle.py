"""Where an idle remediate run's time goes (issue 15): a fleet that needs no change, remediated again.

    python3 bench/remediate_idle.py --hosts 20

Not a test (it fails on nothing but its own set-up) and not part of scripts/test.sh. It:

1. creates an internal Docker network fc-TAG-net and starts one time server fc-TAG-server and N fleet hosts
   fc-TAG-h01... as systemd containers from fleetclock-test/debian:12, with the flags molecule's
   fc_systemd_container gives (.config/molecule/config.yml: CAP_SYS_ADMIN only, no CAP_SYS_TIME, never
   --privileged); network and containers are labelled fleetclock.bench=TAG and removed at exit (also on
   SIGINT / SIGTERM / SIGHUP) unless --keep;
2. writes an inventory like molecule/remediate's (docker connection; time_servers: local stratum 8, no source,
   serving the network's subnet; fleet: the server as only source; chrony installed offline from the image's
   apt cache; the role runs chronyd with -x in a container: no host sets its clock);
3. applies the chrony role to the time server (playbooks/chrony.yml), runs fleetclock.timesync.remediate over
   the fleet once to converge it (the hosts start with no time daemon), then once more with nothing to change:
   the idle run. Both with ansible.posix.profile_tasks, the checkout's ansible.cfg and collections; each run's
   wall time is recorded;
4. prints the idle run's breakdown with bench/task_times.py: per part (preflight, the two audits, each batch,
   the comparison), per batch (snapshot before, role, gate, snapshot after, bookkeeping), per play and the top
   tasks; warns when a host's outcome in the idle run's remediate-compare.json is not "unchanged". Everything
   goes to --out as JSON, the idle run's output beside it (.log).
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import task_times
from bench import sh  # a failure stops the script (and so cleans up) unless check is false

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV_BIN = os.path.join(ROOT, ".venv", "bin")
IMAGE = "fleetclock-test/debian:12"
# molecule's fc_systemd_container (.config/molecule/config.yml), as docker run flags
SYSTEMD_FLAGS = ["--cap-add", "SYS_ADMIN", "--security-opt", "seccomp=unconfined", "--security-opt",
                 "apparmor=unconfined", "--tmpfs", "/run", "--tmpfs", "/run/lock",
                 "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw", "--cgroupns", "host", "--stop-signal", "SIGRTMIN+3"]
SYSTEMD_CMD = "/lib/systemd/systemd"
HANDLED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
# the remediate playbook's plays (playbooks/remediate.yml); the audit.yml plays between them are the audits
PREFLIGHT_PLAY = "Check the options and every host's chrony settings (nothing changes yet)"
ROLLOUT_PLAY = "Roll chrony out in batches"
COMPARE_PLAY = "Compare before and after"
ROLE_PREFIX = "fleetclock.timesync.chrony : "


def log(msg):
    """One progress line on stderr."""
    print("[remediate_idle %s] %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr, flush=True)


# ------------------------------------------------------------------ fleet

class Lab:
    """The internal network, the time server and the fleet hosts of one run, all labelled fleetclock.bench=TAG."""

    def __init__(self, tag, hosts):
        self.tag = tag
        self.label = "fleetclock.bench=%s" % tag
        self.net = "fc-%s-net" % tag
        self.server = "fc-%s-server" % tag
        self.fleet = ["fc-%s-h%02d" % (tag, i) for i in range(1, hosts + 1)]
        self.subnet = None

    def up(self):
        """Create the network, start every container, wait until systemd has booted in each."""
        leftovers = sh(["docker", "ps", "-aq", "--filter", "label=" + self.label]).stdout.split()
        if leftovers:
            raise SystemExit("%d containers labelled %s exist already (a --keep run?): remove them first, or use "
                             "another --tag" % (len(leftovers), self.label))
        sh(["docker", "network", "create", "--internal", "--label", self.label, self.net])
        self.subnet = sh(["docker", "network", "inspect", "-f", "{{range .IPAM.Config}}{{.Subnet}} {{end}}",
                          self.net]).stdout.split()[0]
        log("network %s (internal, %s); starting %s and %d fleet hosts" % (
            self.net, self.subnet, self.server, len(self.fleet)))
        for name in [self.server] + self.fleet:
            sh(["docker", "run", "-d", "--name", name, "--hostname", name, "--network", self.net,
                "--label", self.label] + SYSTEMD_FLAGS + [IMAGE, SYSTEMD_CMD])
        for name in [self.server] + self.fleet:
            state = sh(["docker", "exec", name, "systemctl", "is-system-running", "--wait"], check=False,
                       timeout=300).stdout.strip()
            if state not in ("running", "degraded"):
                raise SystemExit("%s: systemd did not finish booting (%r)" % (name, state))

    def down(self):
        """Remove every container and network labelled with this run's tag (retrying a few times)."""
        removed = {}
        for kind, listing, remove in (("containers", ["ps", "-aq"], ["rm", "-f"]),
                                      ("networks", ["network", "ls", "-q"], ["network", "rm"])):
            seen = set()
            for attempt in range(5):
                # own session: a Ctrl-C to the terminal's process group does not kill the clean-up's commands
                ids = sh(["docker"] + listing + ["--filter", "label=" + self.label], check=False,
                         start_new_session=True).stdout.split()
                if not ids:
                    break
                seen.update(ids)
                if attempt:
                    time.sleep(2)
                sh(["docker"] + remove + ids, check=False, start_new_session=True)
            else:
                log("could not remove every one of the %s labelled %s" % (kind, self.label))
            removed[kind] = len(seen)
        if any(removed.values()):
            log("removed %(containers)d containers and %(networks)d network(s)" % removed
                + " labelled %s" % self.label)

    def inventory(self, path):
        """Write the inventory (JSON, read by the yaml plugin) as molecule/remediate's group_vars have it."""
        data = {"all": {
            "vars": {"ansible_connection": "community.docker.docker",
                     "chrony_package_update_cache": False, "chrony_sync_timeout": 90},
            "children": {
                "time_servers": {
                    "hosts": {self.server: {}},
                    "vars": {"chrony_cloud": "none", "chrony_sources": [], "chrony_sources_mode": "replace",
                             "chrony_local": {"stratum": 8}, "chrony_allow": [self.subnet]}},
                "fleet": {
                    "hosts": {name: {} for name in self.fleet},
                    "vars": {"chrony_cloud": "none", "chrony_sources_mode": "replace",
                             "chrony_sources": [{"hostname": self.server, "iburst": True,
                                                 "minpoll": -2, "maxpoll": 2}]}}}}}
        with open(path, "w") as handle:
            json.dump(data, handle, indent=1)
        return path


# ------------------------------------------------------------------ runs

def ansible_env():
    """The checkout's ansible.cfg and collections, profile_tasks on, no colours."""
    env = dict(os.environ)
    for name in ("ANSIBLE_FORCE_COLOR", "ANSIBLE_STDOUT_CALLBACK"):
        env.pop(name, None)
    env.update(ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
               ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, "collections"),
               ANSIBLE_CALLBACKS_ENABLED="ansible.posix.profile_tasks",
               ANSIBLE_NOCOLOR="1", PATH=VENV_BIN + os.pathsep + env.get("PATH", ""))
    return env


def playbook(name, args, log_path, cwd):
    """Run ansible-playbook ARGS with its output in log_path; {rc, wall_s}."""
    cmd = [os.path.join(VENV_BIN, "ansible-playbook")] + args
    log("%s: %s" % (name, " ".join(cmd)))
    with open(log_path, "w") as out:
        start = time.monotonic()
        proc = subprocess.Popen(cmd, cwd=cwd, env=ansible_env(), stdout=out, stderr=subprocess.STDOUT)
        try:
            rc = proc.wait()
        except BaseException:  # interrupted: stop it before the clean-up removes its hosts
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            raise
        wall = time.monotonic() - start
    log("%s: rc %d in %.1f s (output: %s)" % (name, rc, wall, log_path))
    return {"rc": rc, "wall_s": round(wall, 1)}


# ------------------------------------------------------------------ the breakdown

def batch_phase(task, after_seen):
    """Which part of a batch a rollout task belongs to (by its banner, playbooks/remediate.yml's names)."""
    name = task.split("[", 1)[-1]
    if "Snapshot |" in name or name.startswith(("Snapshot before the change", "Snapshot after the change")):
        return "snapshot after" if after_seen else "snapshot before"
    if name.startswith(("Health gate", "Gate |")):
        return "gate"
    if name.startswith(ROLE_PREFIX):
        return "role"
    return "bookkeeping"


def breakdown(lines, fleet):
    """The idle run's time per part, per batch and per play / task (task_times' sums of profile_tasks durations,
    i.e. wall time between task banners)."""
    times = task_times.task_runs(lines)
    runs = task_times.play_runs(lines)
    parts, batches, seen_rollout = {}, [], False
    for entry in runs:
        if entry["play"] == PREFLIGHT_PLAY:
            part = "preflight"
        elif entry["play"] == ROLLOUT_PLAY:
            seen_rollout = True
            part = "batch %d" % (len(batches) + 1)
            batches.append({"batch": len(batches) + 1, "seconds": round(entry["seconds"], 1),
                            "tasks": entry["tasks"], "hosts": [h for h in entry["hosts"] if h in fleet],
                            "phases": {}, "_run": entry["run"]})
        elif entry["play"] == COMPARE_PLAY:
            part = "comparison"
        else:
            part = "audit after" if seen_rollout else "audit before"
        parts[part] = parts.get(part, 0.0) + entry["seconds"]
    by_run = {b["_run"]: b for b in batches}
    after_seen = {}
    for secs, task, dummy_play, run, dummy_hosts in times:
        if run not in by_run:
            continue
        if "[Snapshot after the change" in task:
            after_seen[run] = True
        phases = by_run[run]["phases"]
        phase = batch_phase(task, after_seen.get(run, False))
        phases[phase] = round(phases.get(phase, 0.0) + secs, 2)
    for entry in batches:
        del entry["_run"]
    total, by_play, by_task = task_times.summarise(task_times.task_times(lines))
    return {"task_runs": len(times), "task_seconds": round(total, 1),
            "parts": {k: round(v, 1) for k, v in parts.items()}, "batches": batches,
            "plays": {k: round(v, 1) for k, v in by_play.items()},
            "tasks": sorted(([k, v[0], round(v[1], 2)] for k, v in by_task.items()), key=lambda t: -t[2]),
            "play_runs": [dict(r, seconds=round(r["seconds"], 1)) for r in runs]}


def outcomes(compare_path):
    """{host: (outcome, batch)} from remediate-compare.json, or None when it cannot be read."""
    try:
        with open(compare_path) as handle:
            comparison = json.load(handle)
        return {h["host"]: (h["outcome"], h.get("batch")) for h in comparison["hosts"]}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log("cannot read %s: %s" % (compare_path, exc))
        return None


def print_breakdown(result, lines, top):
    """The breakdown on stdout."""
    runs, idle = result["runs"], result["idle"]
    print("\n== idle remediate, %d fleet hosts (+1 time server), serial %s, tag %s" % (
        result["hosts"], result["serial"], result["tag"]))
    print("wall: time server set-up %.1f s, converge %.1f s (rc %d), idle %.1f s (rc %d)" % (
        runs["server"]["wall_s"], runs["converge"]["wall_s"], runs["converge"]["rc"],
        runs["idle"]["wall_s"], runs["idle"]["rc"]))
    print("idle: %d task runs, %.1f s from the first task's start to the recap (profile_tasks); %.1f s of the wall "
          "outside it: ansible-playbook's start-up (parsing, inventory) and exit" % (
              idle["task_runs"], idle["task_seconds"], runs["idle"]["wall_s"] - idle["task_seconds"]))
    print("\nper part:")
    for part, secs in idle["parts"].items():
        share = 100 * secs / idle["task_seconds"] if idle["task_seconds"] else 0
        print("  %7.1f s  %5.1f %%  %s" % (secs, share, part))
    print("\nper batch (rollout play runs):")
    for entry in idle["batches"]:
        phases = ", ".join("%s %.1f" % kv for kv in sorted(entry["phases"].items(), key=lambda kv: -kv[1]))
        print("  batch %d  %6.1f s  %2d hosts  %3d tasks  (%s)" % (
            entry["batch"], entry["seconds"], len(entry["hosts"]), entry["tasks"], phases))
    print()
    print("\n".join(task_times.report(task_times.task_times(lines), top)))
    if result["warnings"]:
        print()
        for warning in result["warnings"]:
            print("WARNING: " + warning)


# ------------------------------------------------------------------ main

def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=20, help="fleet hosts (default 20; plus one time server)")
    parser.add_argument("--tag", default="ridle", help="names fc-TAG-*, label fleetclock.bench=TAG (default ridle)")
    parser.add_argument("--keep", action="store_true", help="leave the containers, network and work dir behind")
    parser.add_argument("--out", default=os.path.join(ROOT, "bench", "results", "remediate-idle-latest.json"),
                        help="JSON result (default bench/results/remediate-idle-latest.json; the idle run's output "
                             "goes beside it as .log)")
    parser.add_argument("--serial", help="fleetclock_remediate_serial, a YAML/JSON value such as 5 or "
                                         "'[1, \"50%%\"]' (default: the playbook's, [1, '10%%', '25%%', '100%%'])")
    parser.add_argument("--top", type=int, default=25, help="tasks listed (default 25)")
    args = parser.parse_args()
    if not 1 <= args.hosts <= 99:
        parser.error("--hosts: 1 to 99")
    return args


def serial_value(text):
    """--serial as a value: JSON when it parses (5, [1, "50%"]), else the string ("25%")."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def run(args, lab, work):
    """Set the lab up, converge, run idle; the result dict."""
    inventory = lab.inventory(os.path.join(work, "inventory.json"))
    result = {"tag": args.tag, "hosts": args.hosts, "serial": args.serial or "default",
              "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "image": IMAGE,
              "ansible_core": sh([os.path.join(VENV_BIN, "ansible"), "--version"]).stdout.splitlines()[0],
              "commit": sh(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], check=False).stdout.strip(),
              "dirty": bool(sh(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"],
                               check=False).stdout.strip()),
              "nproc": os.cpu_count(), "runs": {}, "warnings": []}
    with open("/proc/loadavg") as handle:
        result["load1_at_start"] = float(handle.read().split()[0])
    result["runs"]["server"] = playbook("time server", ["-i", inventory, os.path.join(ROOT, "playbooks", "chrony.yml"),
                                                        "-e", "chrony_hosts=time_servers"],
                                        os.path.join(work, "server.log"), work)
    if result["runs"]["server"]["rc"]:
        raise SystemExit("the time server's set-up failed: %s" % os.path.join(work, "server.log"))
    extra = {"fleetclock_remediate_hosts": "fleet", "fleetclock_remediate_order": "sorted",
             "fleetclock_remediate_sync_timeout": 90}
    if args.serial is not None:
        extra["fleetclock_remediate_serial"] = serial_value(args.serial)
    for name in ("converge", "idle"):
        variables = dict(extra, fleetclock_remediate_output_dir=os.path.join(work, name))
        result["runs"][name] = playbook(name, ["-i", inventory, "fleetclock.timesync.remediate",
                                               "-e", json.dumps(variables)], os.path.join(work, name + ".log"), work)
        if name == "converge" and result["runs"][name]["rc"]:
            raise SystemExit("the converge run failed (rc %d): %s" % (
                result["runs"][name]["rc"], os.path.join(work, "converge.log")))
    with open(os.path.join(work, "idle.log"), errors="replace") as handle:
        lines = handle.read().splitlines()
    result["idle"] = breakdown(lines, set(lab.fleet))
    found = outcomes(os.path.join(work, "idle", "remediate-compare.json"))
    result["idle_outcomes"] = found and {host: outcome for host, (outcome, dummy) in sorted(found.items())}
    if result["runs"]["idle"]["rc"]:
        result["warnings"].append("the idle run failed (rc %d)" % result["runs"]["idle"]["rc"])
    if found is None:
        result["warnings"].append("the idle run wrote no readable remediate-compare.json")
    else:
        odd = {host: outcome for host, (outcome, dummy) in found.items() if outcome != "unchanged"}
        missing = sorted(set(lab.fleet) - set(found))
        if odd or missing:
            result["warnings"].append("not every host is unchanged in the idle run: %s%s" % (
                ", ".join("%s %s" % kv for kv in sorted(odd.items())),
                "; missing from the comparison: " + ", ".join(missing) if missing else ""))
        by_batch = {}
        for host, (dummy, batch) in found.items():
            by_batch.setdefault(batch, []).append(host)
        for entry in result["idle"]["batches"]:
            if sorted(by_batch.get(entry["batch"], [])) != entry["hosts"]:
                result["warnings"].append("batch %d: the output names hosts %s, remediate-compare.json %s" % (
                    entry["batch"], entry["hosts"], sorted(by_batch.get(entry["batch"], []))))
    return result, lines


def main():
    args = parse_args()

    def interrupted(signum, dummy_frame):
        raise SystemExit("interrupted (signal %d)" % signum)
    for signum in HANDLED_SIGNALS:
        signal.signal(signum, interrupted)
    lab = Lab(args.tag, args.hosts)
    work = tempfile.mkdtemp(prefix="fc-remediate-idle-")
    done = False
    try:
        lab.up()
        result, lines = run(args, lab, work)
        done = True
    finally:
        for signum in HANDLED_SIGNALS:  # the clean-up runs to its end
            signal.signal(signum, signal.SIG_IGN)
        if args.keep:
            log("--keep: containers labelled %s and %s left" % (lab.label, work))
        else:
            lab.down()
        idle_log = os.path.join(work, "idle.log")
        if os.path.exists(idle_log):
            os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
            shutil.copyfile(idle_log, os.path.splitext(args.out)[0] + ".log")
        if done and not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        elif not done:
            log("the runs' inventory and output are kept in %s" % work)
        for signum in HANDLED_SIGNALS:
            signal.signal(signum, signal.SIG_DFL)
    with open(args.out, "w") as handle:
        json.dump(result, handle, indent=1)
        handle.write("\n")
    print_breakdown(result, lines, args.top)
    print("\n(JSON: %s; the idle run's output: %s)" % (args.out, os.path.splitext(args.out)[0] + ".log"))


if __name__ == "__main__":
    main()
