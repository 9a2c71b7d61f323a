# -*- coding: utf-8 -*-
# Copyright (c) 2025 fleetclock maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Many host visits from one controller process: threads, per-host deadlines, the batch result.

Used by the action fleetclock.timesync.clock_probe_batch (one ``run_once`` task that visits every
host of the play in threads of one process instead of one Ansible worker process per host) and by
clock_probe, which records its progress in the visit it runs in, so a visit abandoned at its
deadline still reports the samples it took.

Threads cannot be interrupted, so the deadline is kept two ways: the probe checks it before every
command (a slow host stops between commands, like the per-host SIGALRM deadline), and
``run_visits`` stops waiting for a visit ``grace`` seconds after its deadline (a command that
hangs): that host is recorded as ``timeout`` with what it measured so far, and its thread is
left to die with the process (daemon thread).

Pure Python (threading only), no Ansible imports.
"""

from __future__ import annotations

import contextlib
import threading
import time

from ansible_collections.fleetclock.timesync.plugins.module_utils.clock import estimate
from ansible_collections.fleetclock.timesync.plugins.module_utils.hostout import clean
from ansible_collections.fleetclock.timesync.plugins.module_utils.probe_result import failed, from_visit, timed_out

# A registered batch result carries this key; clock_report then picks each host's entry from it.
BATCH_KEY = "fleetclock_batch"

_local = threading.local()


class VisitState(object):
    """One host visit in a batch: its deadline (monotonic seconds) and what it measured so far.

    ``timeout`` s from its creation; ``started()`` (called by the probe when it starts) restarts
    that clock, so, as in a per-host task, the deadline covers the probe and not the set-up before
    it, and releases whatever ``hold()`` was given (the batch's set-up lock).
    """

    def __init__(self, timeout, clock=time.monotonic, sample_slot=None):
        self.timeout = timeout
        # the batch's shared semaphore bounding how many clock samples overlap (None: the probe's own file locks)
        self.sample_slot = sample_slot
        self.clock = clock
        self.deadline = clock() + timeout
        self.samples = []
        self.chrony = None
        self._release = None

    def hold(self, release):
        """Call ``release()`` once, when the probe starts or at ``release_setup()``, whichever is first."""
        self._release = release

    def release_setup(self):
        release, self._release = self._release, None
        if release is not None:
            release()

    def started(self):
        self.deadline = self.clock() + self.timeout
        self.release_setup()

    def expired(self):
        return self.clock() >= self.deadline

    def remaining(self):
        return self.deadline - self.clock()


def current_visit():
    """The VisitState of the batch visit running in this thread, or None (a per-host task)."""
    return getattr(_local, "visit", None)


@contextlib.contextmanager
def visiting(state):
    """Make ``state`` this thread's current visit while the block runs."""
    previous = current_visit()
    _local.visit = state
    try:
        yield state
    finally:
        _local.visit = previous


def timeout_result(state, timeout):
    """The probe result of a visit abandoned at its deadline (what it measured is kept)."""
    clock = estimate(state.samples) if state and state.samples else None
    return timed_out(timeout, clock, state.chrony if state else None)


def contract_result(raw):
    """What a visit returned (a clock_probe result or an Ansible failure) as a probe result (probe_result.from_visit),
    every string sanitised (hostout.clean): such messages may quote the host."""
    return clean(from_visit(raw))


def run_visits(hosts, visit, workers, timeout, grace=1.0, clock=time.monotonic, sample_slots=None):
    """Run ``visit(host)`` for every host in at most ``workers`` threads; return {host: contract result}.

    With ``sample_slots`` (a number), the visits share one semaphore of that many slots
    (``VisitState.sample_slot``) for their clock samples: the same limit as the probe's file
    locks, but a freed slot is handed over at once.

    Each visit gets ``timeout`` seconds from its start (``current_visit()`` inside it returns its
    VisitState); one still running ``grace`` s after that is recorded with ``timeout_result`` and
    no longer waited for (its thread slot is given to the next host).  An exception from ``visit``
    becomes that host's ``error`` result.  Results are in ``hosts`` order.
    """
    if workers < 1:
        raise ValueError("workers must be at least 1 (got %r)" % (workers,))
    pending = list(dict.fromkeys(hosts))
    results = {}
    active = {}
    cond = threading.Condition()
    slot = threading.BoundedSemaphore(sample_slots) if sample_slots else None

    def runner(host, state):
        with visiting(state):
            try:
                result = contract_result(visit(host))
            except Exception as exc:  # a bug or an Ansible error outside the probe: this host only
                result = failed("error", "%s: %s" % (type(exc).__name__, exc))
        with cond:
            if active.get(host) is state:
                results[host] = result
                del active[host]
            cond.notify_all()

    with cond:
        while pending or active:
            while pending and len(active) < workers:
                host = pending.pop(0)
                state = VisitState(timeout, clock, slot)
                active[host] = state
                threading.Thread(target=runner, args=(host, state), name="fleetclock-visit-%s" % host,
                                 daemon=True).start()
            now = clock()
            for host, state in list(active.items()):
                if now >= state.deadline + grace:
                    results[host] = timeout_result(state, timeout)
                    del active[host]
            if active and not (pending and len(active) < workers):
                next_due = min(state.deadline for state in active.values()) + grace
                cond.wait(max(0.01, min(next_due - clock(), 1.0)))
    return {host: results[host] for host in dict.fromkeys(hosts)}


def batch_result(results):
    """The batch action's return value: every host's contract result under ``hosts``."""
    return {BATCH_KEY: 1, "hosts": results}


def is_batch_result(registered):
    return isinstance(registered, dict) and bool(registered.get(BATCH_KEY)) and isinstance(registered.get("hosts"), dict)


def batch_holds(registered, host):
    """Whether ``registered`` is a batch result with an entry for ``host``."""
    return is_batch_result(registered) and host in registered["hosts"]


def host_result(registered, host):
    """What ``host`` registered: its own entry when ``registered`` is a batch result, else ``registered``.

    A ``run_once`` task's registered value is set on every host of the play, so a batch result is
    found under each host's ``results_var``; a host missing from it has no result (None).
    """
    if is_batch_result(registered):
        return registered["hosts"].get(host)
    return registered
