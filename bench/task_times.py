"""Where an ansible-playbook run's time goes, from its profile_tasks output (molecule turns that callback on).

    python3 bench/task_times.py LOG [--from 'TEXT'] [--to 'TEXT'] [--top 25] [--runs]

LOG is a captured run (e.g. the molecule-remediate step of scripts/test.sh); --from / --to cut it to the lines
between the first line holding each text (e.g. --from '[remediate > idempotence] Executing' --to
'[remediate > idempotence] Executed'). Prints seconds per play and per task name (summed over hosts' batches),
with how many times each task ran (under strategy free: each host's start); --runs adds each run of a play (a
play with serial runs once per batch). profile_tasks prints a task's duration on the banner of the task after it,
so the last task of the cut is not counted. Not a test and not a benchmark: a reading aid for docs/performance.md
(bench/remediate_idle.py imports its functions).
"""
import argparse
import re
from collections import defaultdict

STAMP = re.compile(r"\((\d+):(\d+):(\d+\.\d+)\)\s+\d+:\d+:\d+\.\d+")
BANNER = ("TASK [", "RUNNING HANDLER [")
# a task result line: "ok: [host]", "changed: [host -> localhost]", "fatal: [host]: FAILED! ..."
RESULT = re.compile(r"^(?:ok|changed|skipping|failed|fatal|unreachable|rescued|ignored): \[([^\]\s]+)")


def _seconds(hours, minutes, seconds):
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def _banner(lines, i):
    """The banner of the task whose profile_tasks stamp is lines[i]: the one above it, or, when a play banner comes
    first (strategy free prints a task's banner with its first result, after every host's start stamp), the
    play's next one."""
    j = i - 1
    while j > 0 and not lines[j].startswith(BANNER + ("PLAY [",)):
        j -= 1
    if not lines[j].startswith("PLAY ["):
        return lines[j]
    after = next((line for line in lines[i + 1:] if line.startswith(BANNER + ("PLAY [",))), "")
    return after if after.startswith(BANNER) else lines[j]


def task_runs(lines):
    """[(seconds, task banner, play, play run, run's hosts)] from profile_tasks lines: play run counts the PLAY
    banners (0 before the first; a play with serial has one banner, so one run, per batch) and run's hosts is
    the set of hosts named in the run's result lines (shared by the run's tasks, filled in as they are read)."""
    out, prev = [], None
    play, run, hosts = None, 0, set()
    for i, line in enumerate(lines):
        if line.startswith("PLAY ["):
            play = line[6:line.index("]")] if "]" in line else line
            run, hosts = run + 1, set()
        result = RESULT.match(line)
        if result:
            hosts.add(result[1])
        match = STAMP.search(line)
        if not match:
            continue
        if prev:
            out.append((_seconds(*match.groups()),) + prev)
        prev = (re.sub(r"\s*\*+$", "", _banner(lines, i)), play, run, hosts)
    return out


def task_times(lines):
    """[(seconds, task banner, play)] from profile_tasks lines."""
    return [(secs, task, play) for secs, task, play, dummy_run, dummy_hosts in task_runs(lines)]


def play_runs(lines):
    """[{play, run, seconds, tasks, hosts}], one per PLAY banner that ran a task, in order: seconds is the sum of
    its tasks' durations (the play run's wall time from its first task's banner to the next play's first one)."""
    runs = {}
    for secs, dummy_task, play, run, hosts in task_runs(lines):
        entry = runs.setdefault(run, {"play": play, "run": run, "seconds": 0.0, "tasks": 0, "hosts": hosts})
        entry["seconds"] += secs
        entry["tasks"] += 1
    return [dict(entry, hosts=sorted(entry["hosts"])) for dummy, entry in sorted(runs.items())]


def cut(lines, start=None, end=None):
    """The lines from the first one holding start (or the first) to the next one holding end (or the last)."""
    first = next((i for i, line in enumerate(lines) if start and start in line), 0)
    last = next((i for i, line in enumerate(lines) if i > first and end and end in line), len(lines))
    return lines[first:last]


def summarise(times):
    """(total seconds, {play: seconds}, {task: [count, seconds]}) of task_times' list."""
    by_play, by_task = defaultdict(float), defaultdict(lambda: [0, 0.0])
    for secs, task, play in times:
        by_play[play] += secs
        by_task[task][0] += 1
        by_task[task][1] += secs
    return sum(by_play.values()), dict(by_play), dict(by_task)


def report(times, top=25):
    """The per play and per task (top) breakdown as printed text lines."""
    total, by_play, by_task = summarise(times)
    out = ["%d task runs, %.1f s" % (len(times), total), "", "per play:"]
    for play, secs in sorted(by_play.items(), key=lambda kv: -kv[1]):
        out.append("  %7.1f s  %5.1f %%  %s" % (secs, 100 * secs / total if total else 0, play))
    out += ["", "per task (top %d):" % top]
    for task, (count, secs) in sorted(by_task.items(), key=lambda kv: -kv[1][1])[:top]:
        out.append("  %7.1f s  %3d x  %s" % (secs, count, task))
    return out


def report_runs(runs):
    """Each play run (play_runs' list) as printed text lines."""
    out = ["per play run (in order):"]
    for entry in runs:
        out.append("  %7.1f s  %4d tasks  %3d hosts  %s" % (entry["seconds"], entry["tasks"], len(entry["hosts"]),
                                                            entry["play"]))
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("log")
    parser.add_argument("--from", dest="start")
    parser.add_argument("--to", dest="end")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--runs", action="store_true", help="also print each play run (one per batch with serial)")
    args = parser.parse_args()
    with open(args.log, errors="replace") as handle:
        lines = cut(handle.read().splitlines(), args.start, args.end)
    print("\n".join(report(task_times(lines), args.top)))
    if args.runs:
        print("\n" + "\n".join(report_runs(play_runs(lines))))


if __name__ == "__main__":
    main()
