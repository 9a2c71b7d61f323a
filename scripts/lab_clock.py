"""fleetclock skew lab: step guest clocks to exact offsets from this host, and measure them.

    python3 lab_clock.py --ssh-config FILE step NAME:OFFSET ...
    python3 lab_clock.py --ssh-config FILE measure NAME[:OFFSET] ...

FILE is the lab's ssh_config (scripts/lab.sh up writes it): how to reach each guest by its name.

One SSH session per guest runs a tiny loop that answers 'r' with its clock (`date +%s.%N`) and 's T' by
setting its clock to T. Each reading is bracketed and estimated exactly as the audit's probe does it
(module_utils/clock.py: wall clock read once at send, round trip from the monotonic clock; offset = reading
minus the midpoint, bound = half the round trip plus the reading error; the best of several readings is kept). `step` sets
each clock to host time + offset + the expected delay, measures, and corrects up to five times, then
reports what it measured: the truth the lab's tests compare the audit with. JSON on stdout.
"""
import argparse
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "collections"))
from ansible_collections.fleetclock.timesync.plugins.module_utils.clock import (  # noqa: E402
    Sample,
    bracket,
    estimate,
    parse_remote_time,
)

LOOP = ('while read -r c a; do case "$c" in r) date +%s.%N ;; '
        's) date -u -s "@$a" >/dev/null && echo ok ;; esac; done')


class Guest:
    def __init__(self, spec, ssh_config):
        name, _sep, target = spec.partition(":")
        self.name, self.target = name, float(target) if target else None
        self.proc = subprocess.Popen(
            ["ssh", "-F", ssh_config, "-o", "ConnectTimeout=30", self.name, LOOP],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)

    def ask(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline()
        if not answer:
            raise SystemExit("lab_clock: %s closed the session" % self.name)
        return answer.strip()

    def measure(self, samples=9):
        taken = []
        for _sample in range(samples):
            answer, t0, t1 = bracket(lambda: self.ask("r"))
            taken.append(Sample(t0, t1, *parse_remote_time(answer)))
        clock = estimate(taken)
        return clock["offset"], clock["bound"]

    def step(self, tolerance=0.002):
        offset, bound = self.measure()
        delay = bound  # a command runs about one half round trip after it is sent
        for _attempt in range(5):
            if abs(offset - self.target) <= max(tolerance, bound):
                break
            if self.ask("s %.6f" % (time.time() + self.target + delay)) != "ok":
                raise SystemExit("lab_clock: could not set the clock of %s" % self.name)
            offset, bound = self.measure()
            delay -= offset - self.target
        return offset, bound

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ssh-config", required=True)
    ap.add_argument("action", choices=["step", "measure"])
    ap.add_argument("guests", nargs="+", metavar="NAME[:OFFSET]")
    args = ap.parse_args()
    out = []
    for spec in args.guests:
        guest = Guest(spec, args.ssh_config)
        try:
            offset, bound = guest.step() if args.action == "step" else guest.measure()
        finally:
            guest.close()
        entry = {"name": guest.name, "offset": round(offset, 6), "bound": round(bound, 6), "measured_at": time.time()}
        if guest.target is not None:
            entry["target"] = guest.target
        out.append(entry)
    json.dump({"guests": out}, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
