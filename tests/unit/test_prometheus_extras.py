"""The shipped Prometheus rules (extras/prometheus) and Grafana dashboard (extras/grafana), checked on the controller.

* ``promtool check rules`` accepts the rules file; ``promtool test rules`` runs its unit tests in virtual time
  (extras/prometheus/tests/), and those tests show every alert of the file firing and not firing.
* Every metric a rule or a dashboard query names is one the collection writes: a family of the audit's Prometheus
  textfile (report_data.render_prometheus) or of the guard's (GUARD_METRICS); every threshold label value is one
  the report writes; the unsynchronised rule selects exactly the audit's unsynchronised chrony states.
* Every dashboard query, with Grafana's variables substituted, is PromQL that promtool parses.
Whether the queries return data from a real Prometheus is the guard's end-to-end test's part.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import pytest
import yaml

from ansible_collections.fleetclock.timesync.plugins.module_utils import fleet, report_data
from ansible_collections.fleetclock.timesync.plugins.module_utils.probe_result import UNSYNCHRONISED_STATES

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
RULES = os.path.join(ROOT, "extras", "prometheus", "fleetclock.rules.yml")
RULE_TESTS = os.path.join(ROOT, "extras", "prometheus", "tests", "fleetclock.rules.test.yml")
DASHBOARD = os.path.join(ROOT, "extras", "grafana", "fleetclock-dashboard.json")
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
# The guard's own textfile (fleetclock_guard.prom), written by the wrapper of the role that schedules the audit.
GUARD_METRICS = ("fleetclock_guard_last_run_timestamp_seconds", "fleetclock_guard_last_run_success",
                 "fleetclock_guard_last_success_timestamp_seconds")
METRIC = re.compile(r"\bfleetclock_[A-Za-z0-9_]+")
THRESHOLD_LABEL = re.compile(r'threshold\s*=~?\s*"([^"]*)"')


def audit_metrics():
    """Every metric family the audit's textfile declares (its # TYPE lines: written even without samples)."""
    text = report_data.render_prometheus(fleet.aggregate({}, now=1_700_000_000.0))
    return {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE ")}


WRITTEN = audit_metrics() | set(GUARD_METRICS)


def rules():
    with open(RULES, encoding="utf-8") as handle:
        return [rule for group in yaml.safe_load(handle)["groups"] for rule in group["rules"]]


def promtool(*args, cwd=None):
    proc = subprocess.run([PROMTOOL] + list(args), capture_output=True, text=True, check=False, cwd=cwd)
    return proc.returncode, proc.stdout + proc.stderr


# ---------------------------------------------------------------- rules

def test_promtool_checks_the_rules():
    code, out = promtool("check", "rules", RULES)
    assert code == 0, out
    assert "SUCCESS: %d rules found" % len(rules()) in out, out


def test_promtool_unit_tests_pass():
    code, out = promtool("test", "rules", RULE_TESTS)
    assert code == 0 and "SUCCESS" in out, out


def test_every_alert_is_tested_firing_and_not_firing():
    with open(RULE_TESTS, encoding="utf-8") as handle:
        cases = [case for test in yaml.safe_load(handle)["tests"] for case in test["alert_rule_test"]]
    for rule in rules():
        name = rule["alert"]
        seen = [bool(case["exp_alerts"]) for case in cases if case["alertname"] == name]
        assert True in seen, "%s is never shown firing in %s" % (name, RULE_TESTS)
        assert False in seen, "%s is never shown not firing in %s" % (name, RULE_TESTS)


def test_every_rule_names_only_metrics_the_collection_writes():
    for rule in rules():
        names = set(METRIC.findall(rule["expr"]))
        assert names, rule["alert"]
        assert names <= WRITTEN, "%s reads %s, which no fleetclock textfile writes" % (rule["alert"], names - WRITTEN)
        assert set(THRESHOLD_LABEL.findall(rule["expr"])) <= set(fleet.thresholds(_options())), rule["alert"]
        assert rule["labels"]["severity"] in ("critical", "warning"), rule["alert"]


def _options():
    return {"warn_offset": 1.0, "crit_offset": 5.0, "warn_skew": 1.0, "crit_skew": 5.0}


def test_unsynchronised_rule_selects_the_audits_unsynchronised_states():
    rule = next(rule for rule in rules() if rule["alert"] == "FleetclockHostUnsynchronised")
    states = re.search(r'state=~"([^"]*)"', rule["expr"]).group(1)
    assert sorted(states.split("|")) == sorted(UNSYNCHRONISED_STATES)
