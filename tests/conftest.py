"""What every test directory shares (unit, integration and lab tests).

* The checkout is importable as ansible_collections.fleetclock.timesync.
* ``ansible_playbook(...)`` runs the one ansible-playbook the tests use (import it: ``from conftest import
  ansible_playbook``): the one next to the Python running pytest (the project's venv, scripts/setup-venv.sh),
  else the one on PATH, always from the checkout with its ansible.cfg, so the collection resolves through
  ./collections and facts exist only under ``ansible_facts`` (inject_facts_as_vars = False).
* ``assert_printed(stdout, path)``: a report's text file appears in ansible-playbook's stdout line for line (fixed
  width: not wrapped, quoted or escaped by the stdout callback); ``JSON_RESULTS``: the env of Ansible's default
  result format (json) instead of the checkout's yaml.
* ``fake_bin(tmp_path, name=shell body, ...)``: a directory of tiny /bin/sh programs to put first on PATH.
* Hypothesis profiles (FLEETCLOCK_HYPOTHESIS_PROFILE): ``ci``, the default, is derandomised, keeps no example
  database and has no per-example deadline (a loaded 2-core machine must not turn a slow example into a failure);
  ``long`` searches 20x more examples with a random seed, for a run by hand.
* With CI=true a test that skips (a missing binary, interpreter or service) fails instead, so CI and the version
  matrix cannot go green by skipping; skips a test asks for on purpose (reasons in INTENDED_SKIPS) stay skips.
"""
import contextlib
import os
import shutil
import signal
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("ci", derandomize=True, database=None, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("long", max_examples=2000, database=None, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("FLEETCLOCK_HYPOTHESIS_PROFILE", "ci"))

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS = os.path.join(ROOT, "collections")
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)
ANSIBLE_CFG = os.path.join(ROOT, "ansible.cfg")
# Two inventory hosts that are this machine (local connection), for audits, merges and smoke runs.
LOCAL_PAIR_INVENTORY = """
all:
  hosts:
    local-a: {ansible_connection: local}
    local-b: {ansible_connection: local}
  vars:
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
"""


# The time the unit tests' synthetic probes are taken at.
PROBE_NOW = 1_700_000_000.0


def synced_probe(offset, state="synchronised", bound=0.002, now=PROBE_NOW, samples=1):
    """A probe result of a host whose clock is ``offset`` s off, measured within ``bound``, chrony in ``state``."""
    tracking = {"ref_id": "C0A80001", "ref_name": "ntp1", "stratum": 2, "leap_status": "Normal"}
    return {"status": "ok", "error": None,
            "clock": {"offset": offset, "bound": bound, "rtt": bound * 2, "samples": samples, "resolution": 1e-9,
                      "remote_time": now + offset, "controller_time": now},
            "chrony": {"state": state, "tracking": tracking, "sources": [], "offset": 1e-5,
                       "error_bound": 2e-4, "error": None}}


def weighted(good, bad, weight=8):
    """A hypothesis strategy drawing from ``good`` about ``weight`` times out of ``weight + 1``, else from ``bad``
    (st.one_of does not weigh repeated branches), so that a property test accepts inputs as well as refusing them."""
    from hypothesis import strategies as st  # pylint: disable=import-outside-toplevel
    return st.sampled_from([False] * weight + [True]).flatmap(lambda refused: bad if refused else good)


def find_ansible_playbook():
    """The ansible-playbook of the Python running the tests, else the one on PATH, else None."""
    beside = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    return beside if os.path.exists(beside) else shutil.which("ansible-playbook")


ANSIBLE_PLAYBOOK = find_ansible_playbook()


def ansible_playbook(*args, env=None, timeout=300, **kwargs):
    """Run ``ansible-playbook ARGS`` from the checkout and return the CompletedProcess (never raises on failure).

    env: variables on top of os.environ (ANSIBLE_CONFIG is the checkout's, colours are off);
    kwargs: subprocess.run's (default: stdout and stderr captured as text). Skips the test without ansible-playbook.
    """
    if ANSIBLE_PLAYBOOK is None:
        pytest.skip("ansible-playbook not available")
    run_env = dict(os.environ, ANSIBLE_CONFIG=ANSIBLE_CFG, ANSIBLE_NOCOLOR="1")
    run_env.update(env or {})
    kwargs.setdefault("stdout", subprocess.PIPE)
    kwargs.setdefault("stderr", subprocess.PIPE)
    return subprocess.run([ANSIBLE_PLAYBOOK] + [str(arg) for arg in args], cwd=ROOT, env=run_env, text=True,
                          check=False, timeout=timeout, **kwargs)


JSON_RESULTS = {"ANSIBLE_CALLBACK_RESULT_FORMAT": "json"}


def assert_printed(stdout, path):
    """The text file at ``path`` (a report table) is in ``stdout`` as it is in the file, and wider than the 80
    columns at which PyYAML would fold it (so the check means something)."""
    with open(str(path), encoding="utf-8") as handle:
        text = handle.read().rstrip("\n")
    assert max(len(line) for line in text.splitlines()) > 80, text
    assert text in stdout, "%s not printed verbatim in:\n%s" % (path, stdout)


@contextlib.contextmanager
def safety_timeout(seconds):
    """Fail (not hang) when the block takes more than ``seconds``: a generous guard, not a timing assertion."""
    def on_alarm(signum, frame):
        raise AssertionError("still running after %ss: not linear" % seconds)

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def fake_bin(tmp_path, **programs):
    """A ``bin`` directory under ``tmp_path`` with one executable /bin/sh script per keyword (name=body)."""
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    for name, body in programs.items():
        path = bindir / name
        path.write_text("#!/bin/sh\n%s\n" % body)
        path.chmod(0o755)
    return str(bindir)


INTENDED_SKIPS = ("run together with the property test",)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):  # pylint: disable=unused-argument
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI") != "true" or not report.skipped or hasattr(report, "wasxfail"):
        return
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    if not any(intended in reason for intended in INTENDED_SKIPS):
        report.outcome = "failed"
        report.longrepr = "skipped with CI=true (CI must not pass by skipping): %s" % reason
