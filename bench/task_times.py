"""Where an ansible-playbook run's time goes, from its profile_tasks output (molecule turns that callback on).

    python3 bench/task_times.py LOG [--from 'TEXT'] [--to 'TEXT'] [--top 25]

LOG is a captured run (e.g. the molecule-remediate step of scripts/test.sh); --from / --to cut it to the lines
between the first line holding each text (e.g. --from '[remediate > idempotence] Executing' --to
'[remediate > idempotence] Executed'). Prints seconds per play and per task name (summed over hosts' batches),
with how many times each task ran. profile_tasks prints a task's duration on the banner of the task after it, so
the last task of the cut is not counted. Not a test and not a benchmark: a reading aid for docs/performance.md.
"""
import argparse
import re
from collections import defaultdict

STAMP = re.compile(r"\((\d+):(\d+):(\d+\.\d+)\)\s+\d+:\d+:\d+\.\d+")
BANNER = ("TASK [", "RUNNING HANDLER [")


def task_times(lines):
    """[(seconds, task banner, play)] from profile_tasks lines."""
    out, prev, play = [], None, None
    current_play = None
    for i, line in enumerate(lines):
        if line.startswith("PLAY ["):
            current_play = line[6:line.index("]")] if "]" in line else line
        match = STAMP.search(line)
        if not match:
            continue
        if prev:
            out.append((int(match[1]) * 3600 + int(match[2]) * 60 + float(match[3]), prev, play))
        j = i - 1
        while j > 0 and not lines[j].startswith(BANNER):
            j -= 1
        prev, play = re.sub(r"\s*\*+$", "", lines[j]), current_play
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("log")
    parser.add_argument("--from", dest="start")
    parser.add_argument("--to", dest="end")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    with open(args.log, errors="replace") as handle:
        lines = handle.read().splitlines()
    first = next((i for i, line in enumerate(lines) if args.start and args.start in line), 0)
    last = next((i for i, line in enumerate(lines) if i > first and args.end and args.end in line), len(lines))
    times = task_times(lines[first:last])
    by_play, by_task = defaultdict(float), defaultdict(lambda: [0, 0.0])
    for secs, task, play in times:
        by_play[play] += secs
        by_task[task][0] += 1
        by_task[task][1] += secs
    total = sum(by_play.values())
    print("%d task runs, %.1f s" % (len(times), total))
    print("\nper play:")
    for play, secs in sorted(by_play.items(), key=lambda kv: -kv[1]):
        print("  %7.1f s  %5.1f %%  %s" % (secs, 100 * secs / total if total else 0, play))
    print("\nper task (top %d):" % args.top)
    for task, (count, secs) in sorted(by_task.items(), key=lambda kv: -kv[1][1])[:args.top]:
        print("  %7.1f s  %3d x  %s" % (secs, count, task))


if __name__ == "__main__":
    main()
