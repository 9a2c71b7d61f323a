"""The HTML report in a real headless browser (Debian's chromium, installed by scripts/setup.sh host-tools).

The page is rendered at 1280 px with a small script appended (the report itself has none) that writes layout facts
into the DOM; ``chromium --dump-dom`` returns them. Hosts at +120 s, -3 s, -0.7 s and +0.4 s (and a long name, and
failing JWT pairs) must each get their own labelled point with a visible error bar, and nothing may overflow the
page horizontally.  The history section (12 earlier reports and this run) draws a point per run in time order for
the fleet skew and, on a labelled row, for each host in each run it was measured in. Without chromium the test
skips (so it fails with CI=true, tests/conftest.py).
"""

from __future__ import annotations

import itertools
import json
import re
import shutil
import subprocess

import pytest

from conftest import synced_probe
from ansible_collections.fleetclock.timesync.plugins.module_utils import fleet, history, report

pytestmark = pytest.mark.integration
CHROMIUM = shutil.which("chromium")
NOW = 1_700_000_000.0
WIDTH = 1280
LONG = "a-very-long-host-name-in-a-deep-dns-zone.eu-west-3.compute.internal"
HISTORY_RUNS = 12
OFFSETS = {"far-ahead": 120.0, "behind-3s": -3.0, "behind-700ms": -0.7, "ahead-400ms": 0.4, LONG: 0.002}
FACTS = """<script>
(function () {
  var root = document.documentElement, facts = {viewport: root.clientWidth, scroll: root.scrollWidth, hosts: {}};
  function box(el) { var r = el.getBoundingClientRect(); return [r.left, r.right]; }
  document.querySelectorAll("g.host").forEach(function (g) {
    facts.hosts[g.getAttribute("data-host")] = {
      name: box(g.querySelector("text.name")), label: g.querySelector("text.name").textContent,
      value: box(g.querySelector("text.value")), bar: box(g.querySelector("line.bar")),
      dot: box(g.querySelector("circle"))};
  });
  facts.history = {hosts: {}, runs: Array.prototype.map.call(
    document.querySelectorAll("svg.history-skew g.run circle"), function (c) { return box(c); })};
  document.querySelectorAll("g.history-host").forEach(function (g) {
    facts.history.hosts[g.getAttribute("data-host")] = {
      name: box(g.querySelector("text.name")), label: g.querySelector("text.name").textContent,
      value: box(g.querySelector("text.value")),
      points: Array.prototype.map.call(g.querySelectorAll("circle.point"), function (c) { return box(c); })};
  });
  facts.tables = Array.prototype.map.call(document.querySelectorAll("table"), function (t) {
    return [t.className, t.getBoundingClientRect().right]; });
  var out = document.createElement("pre"); out.id = "facts"; out.textContent = JSON.stringify(facts);
  document.body.appendChild(out);
})();
</script>
</body>"""


def probe(offset, bound=0.02, now=NOW):
    return synced_probe(offset, bound=bound, now=now)


def earlier_reports():
    """HISTORY_RUNS earlier JSON reports, one every 5 minutes: far-ahead drifting away, the others as now, LONG
    measured in every other run only."""
    files = []
    for run in range(HISTORY_RUNS):
        now = NOW - 300 * (HISTORY_RUNS - run)
        offsets = dict(OFFSETS, **{"far-ahead": 120.0 * run / HISTORY_RUNS})
        if run % 2:
            del offsets[LONG]
        audit = fleet.aggregate({host: probe(offset, now=now) for host, offset in offsets.items()}, now=now)
        files.append(("run-%d.json" % run, report.render_json(audit)))
    return files


@pytest.fixture(scope="module")
def facts(tmp_path_factory):
    if CHROMIUM is None:
        pytest.skip("chromium not installed (scripts/setup.sh host-tools installs it)")
    base = tmp_path_factory.mktemp("html")
    audit = fleet.aggregate({host: probe(offset) for host, offset in OFFSETS.items()}, controller=probe(0.0), now=NOW)
    audit["history"], warnings = history.build_history(earlier_reports(), audit, 50, "/var/lib/fleetclock/history")
    assert not warnings
    page = report.render_html(audit)
    assert "<script" not in page
    (base / "report.html").write_text(page.replace("</body>", FACTS), encoding="utf-8")
    proc = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                           "--user-data-dir=%s" % (base / "profile"), "--window-size=%d,900" % WIDTH,
                           "--dump-dom", (base / "report.html").as_uri()],
                          capture_output=True, text=True, timeout=120, check=False)
    found = re.search(r'<pre id="facts">(.*?)</pre>', proc.stdout, re.S)
    assert found, proc.stdout[-2000:] + proc.stderr[-2000:]
    return json.loads(found.group(1).replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">"))


def test_nothing_overflows_1280_px(facts):
    assert facts["viewport"] == WIDTH
    assert facts["scroll"] <= facts["viewport"], facts
    assert {name for name, _right in facts["tables"]} == {"hosts", "jwt-settings", "jwt-pairs"}
    assert all(right <= facts["viewport"] for _name, right in facts["tables"]), facts["tables"]


def test_every_host_is_labelled_inside_the_page(facts):
    assert set(facts["hosts"]) == set(OFFSETS)
    for host, drawn in facts["hosts"].items():
        left, right = drawn["name"]
        assert 0 <= left < right <= facts["viewport"], (host, drawn)
        assert drawn["label"] and (host.startswith(drawn["label"].rstrip("\u2026"))), (host, drawn)
        assert drawn["value"][1] <= facts["viewport"], (host, drawn)


def test_distinct_points_in_offset_order_with_visible_error_bars(facts):
    centre = {host: sum(drawn["dot"]) / 2 for host, drawn in facts["hosts"].items()}
    ordered = sorted(OFFSETS, key=OFFSETS.get)
    assert sorted(centre, key=centre.get) == ordered, centre
    for one, two in itertools.combinations(ordered, 2):
        assert abs(centre[one] - centre[two]) >= 8, (one, two, centre)
    for host, drawn in facts["hosts"].items():
        assert drawn["bar"][1] - drawn["bar"][0] >= 6, (host, drawn)  # at least 3 px each side of the point


def test_history_draws_each_run_in_time_order_and_each_host_on_a_labelled_row(facts):
    runs = [sum(box) / 2 for box in facts["history"]["runs"]]
    assert len(runs) == HISTORY_RUNS + 1
    assert all(b - a >= 20 for a, b in zip(runs, runs[1:])), runs  # 5 minutes apart, in time order
    assert set(facts["history"]["hosts"]) == set(OFFSETS)
    for host, drawn in facts["history"]["hosts"].items():
        left, right = drawn["name"]
        assert 0 <= left < right <= facts["viewport"] and drawn["value"][1] <= facts["viewport"], (host, drawn)
        assert host.startswith(drawn["label"].rstrip("\u2026")), (host, drawn)
        measured = HISTORY_RUNS // 2 + 1 if host == LONG else HISTORY_RUNS + 1
        points = sorted(sum(box) / 2 for box in drawn["points"])
        assert len(points) == measured, (host, drawn)
        assert all(any(abs(point - run) < 1 for run in runs) for point in points), (host, points, runs)
