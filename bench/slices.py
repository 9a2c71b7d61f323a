"""AWX/AAP job slicing, checked: the audit of one fleet, whole and in k slices run through ansible-runner.

    python3 bench/slices.py --size 100 --slices 4 --transport docker

Builds a bench fleet (bench.py's Fleet: containers with injected clock offsets, the truth), then

  unsliced  ansible-playbook playbooks/audit.yml over the whole inventory (JSON report), as bench.py runs it
  sliced    the same audit as k slices started together through ansible-runner (the library AWX/AAP runs
            jobs with), each with its own private_data_dir, inventory and clock-audit.json: slice i of k
            gets the hosts at positions i, i+k, ... of the sorted inventory, as AWX slices; then
            ansible-playbook fleetclock.timesync.merge (mode none: every slice ran on this controller)

and checks the merged report: every host in it exactly once; for every host |merged offset - unsliced
offset| <= merged bound + unsliced bound (else a disagreement); both offsets within their bound of the
injected truth (else a miss). Prints a Markdown table, writes the runs as JSON to --out and exits 1 when
a check fails. The slices run the venv's ansible-playbook (PATH), with the checkout's ansible.cfg
(ANSIBLE_CONFIG: the collection resolves through its ./collections) and host key checking on
(ansible-runner turns it off unless told). Run it as root with Docker, with any python3: it re-runs
itself with .venv's python, which has ansible-runner (requirements-dev.txt).
"""

import argparse
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import time

import bench

try:
    import ansible_runner
except ImportError:  # not the venv's python: main() re-runs the script with it
    ansible_runner = None

VENV_PYTHON = os.path.join(bench.VENV_BIN, "python")
STOP = threading.Event()  # set by a signal: ansible-runner cancels the slices still running


def stop_on_signal(signum, frame):
    """SIGINT / SIGTERM / SIGHUP: cancel the slices (ansible-runner's cancel_callback), then end through the
    finally clauses that remove the fleet."""
    STOP.set()
    bench.on_signal(signum, frame)


def slice_names(names, k):
    """AWX's slicing: slice i (1..k) gets the hosts at positions i, i+k, ... of the sorted inventory."""
    ordered = sorted(names)
    return [ordered[i::k] for i in range(k)]


def read_report(path):
    """host -> record of a clock-audit.json (None when the run wrote none)."""
    if not os.path.exists(path):
        return None
    with open(path) as fh:
        return {rec["host"]: rec for rec in json.load(fh)["hosts"]}


def run_unsliced(fleet, connection, workdir):
    """The audit over the whole fleet in one ansible-playbook run, measured as bench.py measures its runs."""
    run_dir = os.path.join(workdir, "unsliced")
    os.makedirs(run_dir)
    inv = fleet.inventory(connection)
    stats, dummy = bench.measure(bench.audit_command(inv, run_dir), bench.run_env(run_dir),
                                 os.path.join(run_dir, "output.log"))
    if connection == "ssh":
        bench.stop_ssh_masters(os.path.join(run_dir, "cp"))
    stats["report"] = os.path.join(run_dir, "clock-audit.json")
    stats["log"] = os.path.join(run_dir, "output.log")
    log_run("unsliced", stats)
    return stats


def runner_env(pdir):
    """What a slice's environment changes from this process's: bench.py's run environment (venv first on PATH,
    the checkout's ansible.cfg, own ssh ControlPath directory) and host key checking left on."""
    env = {k: v for k, v in bench.run_env(pdir).items() if os.environ.get(k) != v}
    env["ANSIBLE_HOST_KEY_CHECKING"] = "True"
    return env


def start_slice(fleet, connection, workdir, i, names, ends):
    """Start slice i through ansible_runner.run_async in its own private_data_dir; (thread, runner, info)."""
    pdir = os.path.join(workdir, "slice%d" % i)
    report_dir = os.path.join(pdir, "report")
    os.makedirs(report_dir)
    inv = fleet.inventory(connection, names=names, label="slice%d" % i)
    info = {"slice": i, "hosts": len(names), "private_data_dir": pdir,
            "report": os.path.join(report_dir, "clock-audit.json")}
    env = runner_env(pdir)

    def finished(runner):
        ends[i] = time.time()
    thread, runner = ansible_runner.run_async(
        private_data_dir=pdir, project_dir=bench.ROOT, playbook="playbooks/audit.yml", inventory=inv,
        extravars=bench.audit_extra_vars(report_dir), envvars=env, ident="slice%d" % i, quiet=True,
        cancel_callback=STOP.is_set, finished_callback=finished)
    return thread, runner, info


def stop_slices(started):
    """Cancel the slices and end every process below this script: ansible-runner's cancel SIGKILLs the
    process group of ansible-playbook, which does not hold ansible-core's workers (sessions of their own)."""
    with bench.signals_held():
        STOP.set()
        bench.end_tree(os.getpid(), include_root=False)
        for entry in started:
            entry[0].join(timeout=30)


def check_runner(runner, info):
    """Record how ansible-runner ran the slice; refuse a run that did not use the venv's ansible-playbook or
    the checkout's ansible.cfg."""
    cmd = list(runner.config.command)
    env = runner.config.env
    info.update(status=runner.status, rc=runner.rc, command=cmd,
                executable=shutil.which(cmd[0], path=env.get("PATH")),
                ansible_config=env.get("ANSIBLE_CONFIG"), host_key_checking=env.get("ANSIBLE_HOST_KEY_CHECKING"),
                stdout=os.path.join(runner.config.artifact_dir, "stdout"))
    if info["executable"] != os.path.join(bench.VENV_BIN, "ansible-playbook"):
        raise SystemExit("slice %d ran %s, not the venv's ansible-playbook" % (info["slice"], info["executable"]))
    if info["ansible_config"] != os.path.join(bench.ROOT, "ansible.cfg"):
        raise SystemExit("slice %d ran with ANSIBLE_CONFIG=%s" % (info["slice"], info["ansible_config"]))


def merge(reports, workdir):
    """fleetclock.timesync.merge of the slice reports (mode none: one controller); (stats, merged report path)."""
    out_dir = os.path.join(workdir, "merged")
    extra = {"fleetclock_merge_slices": reports, "fleetclock_merge_mode": "none",
             "fleetclock_merge_output_dir": out_dir, "fleetclock_merge_formats": ["json"],
             "fleetclock_merge_fail_on_status": False, "fleetclock_show_table": False}
    cmd = [os.path.join(bench.VENV_BIN, "ansible-playbook"), "fleetclock.timesync.merge", "-e", json.dumps(extra)]
    stats, dummy = bench.measure(cmd, bench.run_env(workdir), os.path.join(workdir, "merge.log"))
    stats["log"] = os.path.join(workdir, "merge.log")
    return stats, os.path.join(out_dir, "clock-audit.json")


def run_sliced(fleet, connection, k, workdir):
    """k slices started together through ansible-runner, then the merge; the wall of all of it."""
    ends = {}
    t0 = time.time()
    started = [start_slice(fleet, connection, workdir, i + 1, names, ends)
               for i, names in enumerate(slice_names(fleet.names, k))]
    try:
        for entry in started:
            entry[0].join()
    except BaseException:
        stop_slices(started)
        raise
    slices = []
    for dummy, runner, info in started:
        check_runner(runner, info)
        info["wall"] = ends.get(info["slice"], time.time()) - t0
        if connection == "ssh":
            bench.stop_ssh_masters(os.path.join(info["private_data_dir"], "cp"))
        bench.log("slice %d/%d: %d hosts, %s (rc %s) in %.1f s with %s" % (
            info["slice"], k, info["hosts"], info["status"], info["rc"], info["wall"], info["executable"]))
        slices.append(info)
    merge_stats, merged = merge([s["report"] for s in slices], workdir)
    log_run("merge", merge_stats)
    return {"wall": time.time() - t0, "slices": slices, "merge": merge_stats, "report": merged}


def log_run(what, stats):
    """One progress line for a measured ansible-playbook run."""
    bench.log("%-8s %6.1fs cpu %5.1fs tree %5.0f MB rc %d (log %s)" % (
        what, stats["wall"], stats["cpu"], stats["tree_rss_mb"], stats["rc"], stats["log"]))


def compare(names, truth, unsliced, merged_path):
    """The checks: every host in the merged report once, merged and unsliced offsets agreeing within the sum of
    their bounds, each within its bound of the truth; per-host rows and the counts."""
    merged_hosts = []
    if os.path.exists(merged_path):
        with open(merged_path) as fh:
            merged_hosts = json.load(fh)["hosts"]
    counts = {}
    for rec in merged_hosts:
        counts[rec["host"]] = counts.get(rec["host"], 0) + 1
    merged = {rec["host"]: rec for rec in merged_hosts}
    rows, result = [], {"hosts": len(names), "once": 0, "disagreements": 0, "misses": 0, "unmeasured": 0,
                        "extra_hosts": sorted(set(counts) - set(names))}
    for host in names:
        u, m = unsliced.get(host), merged.get(host)
        result["once"] += counts.get(host) == 1
        if not (u and m and u["measured"] and m["measured"]):
            result["unmeasured"] += 1
            rows.append({"host": host, "measured": False})
            continue
        row = {"host": host, "truth": truth[host], "unsliced": [u["offset"], u["bound"]],
               "merged": [m["offset"], m["bound"]],
               "disagrees": abs(m["offset"] - u["offset"]) > m["bound"] + u["bound"],
               "misses": [name for name, rec in (("unsliced", u), ("merged", m))
                          if abs(rec["offset"] - truth[host]) > rec["bound"]]}
        result["disagreements"] += row["disagrees"]
        result["misses"] += len(row["misses"])
        rows.append(row)
    result["ok"] = (result["once"] == len(names) and not result["extra_hosts"] and not result["unmeasured"]
                    and not result["disagreements"] and not result["misses"])
    return result, rows


def table(k, unsliced, sliced, result):
    """The result as a small Markdown table."""
    head = ("| k | hosts | unsliced audit wall | sliced wall (k in parallel + merge) | of it: merge | slowest slice"
            " | controller CPU s, unsliced / sliced | in merged report once | disagreements | misses vs truth |")
    row = "| %d | %d | %.1f s | %.1f s | %.1f s | %.1f s | %.1f / %.1f | %d/%d | %d | %d |" % (
        k, result["hosts"], unsliced["wall"], sliced["wall"], sliced["merge"]["wall"],
        max(s["wall"] for s in sliced["slices"]), unsliced["cpu"], sliced["cpu"],
        result["once"], result["hosts"], result["disagreements"], result["misses"])
    return "\n".join([head, "|" + "---|" * head.count(" | ") + "---|", row])


def children_cpu():
    """CPU seconds of every child this process has waited for (ansible-runner's pexpect children included)."""
    times = os.times()
    return times.children_user + times.children_system


def parse_args():
    """The command line."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    ap.add_argument("--size", type=int, default=100, help="hosts (default: %(default)s)")
    ap.add_argument("--slices", type=int, default=4, help="k, the number of slices (default: %(default)s)")
    ap.add_argument("--transport", choices=("docker", "ssh"), default="docker")
    bench.add_fleet_args(ap)
    ap.add_argument("--out", default=os.path.join(bench.ROOT, "bench", "results", "slices-latest.json"))
    args = ap.parse_args()
    bench.check_fleet(ap, args.size, args.hosts_per_network)
    if not 1 <= args.slices <= args.size:
        ap.error("--slices %d: 1 to --size" % args.slices)
    return args


def main():
    """Build the fleet, audit it whole and in slices, remove it, check and report."""
    if ansible_runner is None:
        if os.path.realpath(sys.executable) == os.path.realpath(VENV_PYTHON):
            raise SystemExit("ansible-runner is not installed in %s: bash scripts/setup.sh venv" % bench.VENV_BIN)
        os.execv(VENV_PYTHON, [VENV_PYTHON] + sys.argv)
    args = parse_args()
    for signum in bench.HELD_SIGNALS:
        signal.signal(signum, stop_on_signal)
    workdir = tempfile.mkdtemp(prefix="fc-slices-")
    fleet = bench.Fleet(args.tag, args.size, args.seed, workdir, args.hosts_per_network,
                        network=args.transport == "ssh")
    info = bench.machine()
    result = {"command": " ".join([sys.executable] + sys.argv), "machine": info, "workdir": workdir,
              "k": args.slices, "transport": args.transport}
    started = time.time()
    try:
        fleet.down()
        fleet.up()
        result["unsliced"] = run_unsliced(fleet, args.transport, workdir)
        cpu0 = children_cpu()
        result["sliced"] = run_sliced(fleet, args.transport, args.slices, workdir)
        result["sliced"]["cpu"] = children_cpu() - cpu0
    finally:
        try:
            fleet.down()
        finally:
            result.update(fleet=fleet.stats, truth=fleet.truth, elapsed=time.time() - started)
            bench.write_result(args.out, result)
    unsliced = read_report(result["unsliced"]["report"]) or {}
    result["checks"], result["hosts"] = compare(fleet.names, fleet.truth, unsliced, result["sliced"]["report"])
    bench.write_result(args.out, result)
    print("machine: %s" % json.dumps(info))
    print("command: %s" % result["command"])
    print(table(args.slices, result["unsliced"], result["sliced"], result["checks"]))
    bench.log("done in %.0f s; %s; JSON in %s, logs in %s" % (
        result["elapsed"], "all checks passed" if result["checks"]["ok"] else "CHECKS FAILED: %s" % json.dumps(
            {k: v for k, v in result["checks"].items() if k != "ok"}), args.out, workdir))
    return 0 if result["checks"]["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
