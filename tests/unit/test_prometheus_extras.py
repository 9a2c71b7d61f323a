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

import yaml

from conftest import synced_probe
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


# ---------------------------------------------------------------- dashboard

NOW = 1_700_000_000.0
# Grafana's built-in interval variables, as Grafana would substitute them for a 1 h range at 1 m resolution.
GRAFANA_BUILTINS = {"__range": "1h", "__interval": "1m", "__rate_interval": "4m"}
GRAFANA_VARIABLE = re.compile(r"\$\{?(\w+)\}?")


def dashboard():
    with open(DASHBOARD, encoding="utf-8") as handle:
        return json.load(handle)


def queries(dash):
    """(where, expr) of every panel target and every query variable of the dashboard."""
    found = [("panel %r" % panel["title"], target["expr"])
             for panel in dash["panels"] if panel["type"] != "row" for target in panel["targets"]]
    found += [("variable $%s" % var["name"], var["query"]["query"])
              for var in dash["templating"]["list"] if var["type"] == "query"]
    return found


def substituted(expr, dash):
    """``expr`` with Grafana's variables replaced: built-ins by GRAFANA_BUILTINS, the dashboard's by their
    "All" value; label_values(metric, label) by its metric selector."""
    values = dict(GRAFANA_BUILTINS, **{var["name"]: var.get("allValue", ".*")
                                       for var in dash["templating"]["list"] if var["type"] == "query"})
    expr = re.sub(r"^label_values\((.*), *\w+\)$", r"\1", expr)
    out = GRAFANA_VARIABLE.sub(lambda match: values[match.group(1)], expr)
    assert "$" not in out, out
    return out


def test_dashboard_loads_with_a_query_on_every_panel():
    dash = dashboard()
    ids = [panel["id"] for panel in dash["panels"]]
    assert len(ids) == len(set(ids)) and dash["uid"] == "fleetclock-timesync"
    for panel in dash["panels"]:
        if panel["type"] == "row":
            continue
        assert panel["targets"] and panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
        assert all(target["expr"].strip() for target in panel["targets"]), panel["title"]
        assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24, panel["title"]
    titles = " / ".join(panel["title"] for panel in dash["panels"])
    for needed in ("Fleet skew with its bound", "Host offsets with bounds", "Unsynchronised", "Audit age"):
        assert needed in titles


def test_every_dashboard_query_names_only_metrics_the_collection_writes():
    for where, expr in queries(dashboard()):
        names = set(METRIC.findall(expr))
        assert names, where
        assert names <= WRITTEN, "%s reads %s, which no fleetclock textfile writes" % (where, names - WRITTEN)
        assert set(THRESHOLD_LABEL.findall(expr)) <= set(fleet.thresholds(_options())), where


def _probe(offset, state="synchronised"):
    return synced_probe(offset, state, samples=4)


def textfile_series(text, labels='instance="guard:9100",job="node"'):
    """promtool input series for the samples of a textfile, as node_exporter's scrape labels them."""
    series = []
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            name = name[:-1] + "," + labels + "}" if name.endswith("}") else name + "{" + labels + "}"
            series.append({"series": name, "values": "%sx15" % value})
    return series


def test_every_dashboard_query_parses_and_returns_data_from_the_audits_textfile(tmp_path):
    """Each query, variables substituted, as a promtool unit test over the textfile of a report with an
    unsynchronised, a stopped and an unreachable host plus the guard's textfile: promtool parses it and it
    returns at least one sample in virtual time."""
    rep = fleet.aggregate({"ok1": _probe(0.0004), "ahead": _probe(6.25), "unsync": _probe(0.01, "unsynchronised"),
                           "stopped": _probe(-0.3, "not_running"),
                           "gone": {"status": "unreachable", "error": "ssh: refused", "clock": None, "chrony": None}},
                          controller=_probe(0.0), now=NOW)
    guard = "\n".join("%s %s" % (name, value) for name, value in zip(GUARD_METRICS, (NOW, 1, NOW)))
    dash = dashboard()
    exprs = [substituted(expr, dash) for _where, expr in queries(dash)]
    rules_file = tmp_path / "queries.rules.yml"
    rules_file.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": [
        {"record": "dashboard_query_%d" % index, "expr": expr} for index, expr in enumerate(exprs)]}]}))
    code, out = promtool("check", "rules", str(rules_file))
    assert code == 0, out
    tests = {"rule_files": [], "evaluation_interval": "1m", "tests": [{
        "interval": "1m",
        "input_series": textfile_series(report_data.render_prometheus(rep)) + textfile_series(guard),
        "promql_expr_test": [{"expr": "count(%s) > bool 0" % expr, "eval_time": "10m",
                              "exp_samples": [{"labels": "{}", "value": 1}]} for expr in exprs],
    }]}
    test_file = tmp_path / "queries.test.yml"
    test_file.write_text(yaml.safe_dump(tests))
    code, out = promtool("test", "rules", str(test_file))
    assert code == 0 and "SUCCESS" in out, out
