# -*- coding: utf-8 -*-
# Copyright (c) 2025 fleetclock maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin fleetclock.timesync.clock_probe: one audit visit of a host.

Runs on the controller and talks to the host over its own connection (ssh,
docker, local...) with raw commands, so the target needs a POSIX shell but no
Python.  Takes clock samples bracketed by controller timestamps (wall clock at send, round trip from the
monotonic clock: clock.bracket); the first one reads the host's clock before and after the command for
chrony's tracking and sources (NTP's four timestamps: chronyc's time does not widen the bound), and it is
usually the only command a host gets.  Host output is untrusted: more than hostout.MAX_OUTPUT bytes of it is a reason,
not parsed, and every string of the result is sanitised (hostout.clean).  Host problems never fail the
task: they become the result's ``status``/``error``.  See the doc stub in
plugins/modules/clock_probe.py for options and return values.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import os
import random
import signal
import time

from ansible import constants as C
from ansible.errors import AnsibleActionFail, AnsibleConnectionFailure, AnsibleError
from ansible.plugins.action import ActionBase

from ansible_collections.fleetclock.timesync.plugins.module_utils.audit_options import probe_option_errors
from ansible_collections.fleetclock.timesync.plugins.module_utils.batch import current_visit
from ansible_collections.fleetclock.timesync.plugins.module_utils.chronyc import (
    MARK,
    chrony_probe_command,
    chrony_result,
    parse_chrony_probe,
)
from ansible_collections.fleetclock.timesync.plugins.module_utils import probe_result
from ansible_collections.fleetclock.timesync.plugins.module_utils import timedaemons
from ansible_collections.fleetclock.timesync.plugins.module_utils.clock import (
    ClockParseError,
    Sample,
    bracket,
    estimate,
    need_more_samples,
    parse_remote_time,
    split_after_last_marker,
    split_before_marker,
)
from ansible_collections.fleetclock.timesync.plugins.module_utils.values import number_option_errors
from ansible_collections.fleetclock.timesync.plugins.module_utils.hostout import (
    MAX_QUOTE,
    clean,
    over_cap,
    quote,
    too_large,
)

DATE_COMMAND = "date +%s.%N"
# The line before the first command's second clock reading (after chrony's output).
CLOCK_END_MARK = "@@fleetclock-clock@@ end"
# Connections that start a new process for every command (nothing is set up once and kept): on them a
# further bare sample pays what the first command paid outside its two clock readings, so it is not
# taken when the first one's bound misses the target (clock.need_more_samples, one_off_costs).
SPAWN_PER_COMMAND = frozenset(("local", "docker", "docker_api", "podman", "chroot", "lxc", "lxd", "jail",
                               "zone", "buildah", "nspawn"))
# Longest error message kept in a result (connection errors quote the host's ssh stderr).
MAX_ERROR = 2000

ARGUMENT_SPEC = {
    "min_samples": {"type": "int", "default": 1},
    "max_samples": {"type": "int", "default": 5},
    "target_bound": {"type": "float", "default": 0.05},
    "timeout": {"type": "float", "default": 20.0},
    "collect_chrony": {"type": "bool", "default": True},
}


class ProbeTimeout(BaseException):
    """The per-host deadline passed (BaseException so connection code cannot swallow it)."""


@contextlib.contextmanager
def deadline(seconds):
    """Raise ProbeTimeout in the main thread once ``seconds`` have passed.

    Cooperates with the task keyword ``timeout`` (which also uses SIGALRM):
    if that alarm comes first it is left alone, otherwise it is re-armed with
    its remaining time afterwards.  Outside the main thread there is no
    deadline (signals are unavailable there).
    """
    def on_alarm(signum, frame):
        raise ProbeTimeout()

    old_delay = signal.getitimer(signal.ITIMER_REAL)[0]
    if old_delay and old_delay <= seconds:
        yield
        return
    try:
        old_handler = signal.signal(signal.SIGALRM, on_alarm)
    except ValueError:
        yield
        return
    started = time.monotonic()
    try:
        try:
            signal.setitimer(signal.ITIMER_REAL, seconds)
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    finally:
        signal.signal(signal.SIGALRM, old_handler)
        if old_delay:
            signal.setitimer(signal.ITIMER_REAL, max(old_delay - (time.monotonic() - started), 0.001))


def sample_slots():
    """How many clock samples may be in flight at once on this controller (FLEETCLOCK_SAMPLE_SLOTS, default: CPUs)."""
    try:
        return max(1, int(os.environ.get("FLEETCLOCK_SAMPLE_SLOTS", "")))
    except ValueError:
        return max(1, os.cpu_count() or 1)


def _try_slots(directory, order):
    """An open, flock-ed slot file from ``order``, or None when every slot is held."""
    for index in order:
        handle = open(os.path.join(directory, "fleetclock-sample-slot-%d" % index), "a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return handle
        except BlockingIOError:
            handle.close()
    return None


@contextlib.contextmanager
def sample_slot(directory, slots):
    """Hold one of ``slots`` controller-wide slots (flock on files in ``directory``) while sampling.

    Every worker of a run sees the same per-run local tmp directory, so the
    slots bound how many samples of the whole run overlap.  A sample's bound
    is half its round trip, and on a busy controller the round trip is mostly
    waiting for CPU behind the other workers' commands: fewer overlapping
    samples give tighter bounds (measured: docs/performance.md).  The rest of
    a visit (worker start, connection set-up, the chrony read) still runs with
    all forks.  When every slot is held, the waiters queue on a gate file and
    only the one at the gate polls the slots, so any freed slot is taken.
    """
    if not slots:
        yield
        return
    order = random.sample(range(slots), slots)
    handle = None
    try:
        try:
            handle = _try_slots(directory, order)
            if handle is None:
                with open(os.path.join(directory, "fleetclock-sample-gate"), "a") as gate:
                    fcntl.flock(gate, fcntl.LOCK_EX)
                    delay = 0.001
                    while handle is None:
                        time.sleep(delay)
                        delay = min(delay * 2, 0.01)
                        handle = _try_slots(directory, order)
        except OSError:  # no usable directory: sample without a limit
            pass
        yield
    finally:
        if handle is not None:
            handle.close()


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(ARGUMENT_SPEC)
    _supports_check_mode = True
    _visit = None
    _execs = 0
    _daemons = None

    def _options(self):
        problems = number_option_errors(ARGUMENT_SPEC, self._task.args)
        if not problems:
            dummy, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
            problems = probe_option_errors(args)
        if problems:
            raise AnsibleActionFail("fleetclock.timesync.clock_probe: " + "; ".join(problems))
        return args

    def _exec(self, cmd, sudoable):
        return self._low_level_execute_command(cmd, sudoable=sudoable)

    def _timed_exec(self, cmd, sudoable, slot=True):
        """Run ``cmd`` (in a sample slot unless ``slot`` is false); return (t0, result, t1).

        In a batch visit (clock_probe_batch, a thread: no SIGALRM) the deadline is checked before
        every command instead.
        """
        if self._visit is not None and self._visit.expired():
            raise ProbeTimeout()
        self._execs += 1
        if slot and self._visit is not None and self._visit.sample_slot is not None:
            holder = self._visit.sample_slot  # the batch's semaphore: same limit, no polling
        else:
            holder = sample_slot(C.DEFAULT_LOCAL_TMP, self._slots if slot else 0)
        with holder:
            res, t0, t1 = bracket(functools.partial(self._exec, cmd, sudoable=sudoable))
        return t0, res, t1

    def _sample(self):
        t0, res, t1 = self._timed_exec(DATE_COMMAND, sudoable=False)
        stdout, stderr = res.get("stdout", ""), res.get("stderr", "")
        if over_cap(stdout):
            raise ClockParseError(too_large("output of '%s'" % DATE_COMMAND, stdout))
        if res.get("rc") != 0:
            raise ClockParseError("'%s' failed with rc=%s: %s" % (DATE_COMMAND, res.get("rc"), quote(
                (stderr if isinstance(stderr, str) and stderr.strip() else stdout or "")[:MAX_QUOTE * 4].strip())))
        remote, resolution = parse_remote_time(stdout)
        return Sample(t0, t1, remote, resolution)

    def _first_command(self):
        """``date; (chrony probe); (time daemon probe); MARK; date``: the host's clock read first and last (clock.py)."""
        return "%s; (%s); (%s); echo '%s'; %s" % (DATE_COMMAND, chrony_probe_command(), timedaemons.daemons_probe_command(),
                                                  CLOCK_END_MARK, DATE_COMMAND)

    def _sample_with_chrony(self):
        """First round trip: ``date``, the chrony probe, ``date`` again, in one command.

        Saves one round trip per host (on docker, one process spawn in the container), and with the
        two readings the sample's bound leaves out chronyc's time (clock.sample_estimate).  Without
        a usable second reading it is a one-reading sample (Cristian's bound, still honest).
        Returns (chrony dict, Sample or ClockParseError).
        """
        t0, res, t1 = self._timed_exec(self._first_command(), sudoable=True, slot=False)
        stdout, stderr = res.get("stdout", ""), res.get("stderr", "")
        if not isinstance(stderr, str) or over_cap(stderr):
            stderr = ""
        if over_cap(stdout):
            reason = too_large("output of the first command (date, chronyc tracking and sources, date)", stdout)
            return chrony_result("error", error=reason), ClockParseError(reason)
        clock_text, rest = split_before_marker(stdout, MARK)
        chrony_text, end_text = split_after_last_marker(rest, CLOCK_END_MARK)
        if end_text is None and not rest:  # no chrony markers: the end reading may follow the first
            clock_text, end_text = split_after_last_marker(clock_text, CLOCK_END_MARK)
        clock_text, daemon_head = split_before_marker(clock_text, timedaemons.MARK)
        chrony_text, daemon_tail = split_before_marker(chrony_text, timedaemons.MARK)
        self._daemons = timedaemons.parse_daemons_probe(daemon_head + daemon_tail)
        chrony = parse_chrony_probe(chrony_text, res.get("rc"), stderr)
        try:
            remote, resolution = parse_remote_time(clock_text)
        except ClockParseError as exc:
            return chrony, ClockParseError("%s%s" % (exc, " (stderr: %s)" % quote(stderr.strip()) if stderr.strip() else ""))
        remote_end = None
        if end_text is not None:
            try:
                remote_end, end_resolution = parse_remote_time(end_text)
            except ClockParseError:
                remote_end = None  # one reading: Cristian's bound
            else:
                if end_resolution != resolution:
                    remote_end = None  # not the same kind of reading: use the first alone
        return chrony, Sample(t0, t1, remote, resolution, remote_end)

    def _one_off_costs(self):
        """Whether the first command may have paid for something later ones do not (become, a kept connection)."""
        if getattr(self._connection, "become", None) is not None:
            return True
        name = getattr(self._connection, "_load_name", None) or getattr(self._connection, "transport", None) or ""
        return str(name).rsplit(".", 1)[-1] not in SPAWN_PER_COMMAND

    def run(self, tmp=None, task_vars=None):
        # in a batch visit: the deadline starts now, the next host's set-up may start, and the batch
        # sees the samples and chrony data as they come (kept if the visit is abandoned at its deadline)
        self._visit = current_visit()
        if self._visit is not None:
            self._visit.started()
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        opts = self._options()
        self._slots = sample_slots()
        samples = self._visit.samples if self._visit is not None else []
        probe = probe_result.ok()
        try:
            with deadline(opts["timeout"]):
                try:
                    if opts["collect_chrony"]:
                        probe["chrony"], first = self._sample_with_chrony()
                        probe["daemons"] = self._daemons
                        if self._visit is not None:
                            self._visit.chrony = probe["chrony"]
                        if isinstance(first, ClockParseError):
                            raise first
                        samples.append(first)
                    one_off = self._one_off_costs()
                    while need_more_samples(samples, opts["target_bound"], opts["max_samples"], opts["min_samples"],
                                            one_off):
                        samples.append(self._sample())
                except ClockParseError as exc:
                    probe.update(status="error", error="clock sample: %s" % exc)
        except ProbeTimeout:
            probe.update(status="timeout", error=probe_result.timeout_error(opts["timeout"]))
        except AnsibleConnectionFailure as exc:
            probe.update(status="unreachable", error="connection failed: %s" % exc)
        except AnsibleError as exc:
            probe.update(status="error", error="%s: %s" % (type(exc).__name__, exc))

        if samples:
            try:
                probe["clock"] = estimate(samples, execs=self._execs)
            except ValueError as exc:  # not expected (bracket keeps t0 <= t1): a reason, never a traceback
                probe.update(status="error", error="clock samples not usable: %s" % exc)
        if probe["chrony"] is None:
            if opts["collect_chrony"]:
                probe["chrony"] = probe_result.not_probed(probe["error"] or "no answer")
            else:
                probe["chrony"] = probe_result.unknown_chrony("not collected (collect_chrony: false)")
        if isinstance(probe["error"], str) and len(probe["error"]) > MAX_ERROR:  # e.g. ssh's stderr with a banner
            probe["error"] = probe["error"][:MAX_ERROR] + "... (cut at %d characters)" % MAX_ERROR
        result.update(clean(probe))
        result["changed"] = False
        return result
