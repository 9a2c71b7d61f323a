"""The HTML report in a real headless browser (Debian's chromium, installed by scripts/setup.sh host-tools).

The page is rendered at 1280 px with a small script appended (the report itself has none) that writes layout facts
into the DOM; ``chromium --dump-dom`` returns them. Hosts at +120 s, -3 s, -0.7 s and +0.4 s (and a long name, and
failing JWT pairs) must each get their own labelled point with a visible error bar, and nothing may overflow the
page horizontally. Without chromium the test skips (so it fails with CI=true, tests/conftest.py).
"""

from __future__ import annotations

import itertools
import json
import re
import shutil
import subprocess

import pytest

from ansible_collections.fleetclock.timesync.plugins.module_utils import fleet, report

pytestmark = pytest.mark.integration
CHROMIUM = shutil.which("chromium")
NOW = 1_700_000_000.0
WIDTH = 1280
LONG = "a-very-long-host-name-in-a-deep-dns-zone.eu-west-3.compute.internal"
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
  facts.tables = Array.prototype.map.call(document.querySelectorAll("table"), function (t) {
    return [t.className, t.getBoundingClientRect().right]; });
  var out = document.createElement("pre"); out.id = "facts"; out.textContent = JSON.stringify(facts);
  document.body.appendChild(out);
})();
</script>
</body>"""


def probe(offset, bound=0.02):
    tracking = {"ref_id": "C0A80001", "ref_name": "ntp1", "stratum": 2, "leap_status": "Normal"}
    return {"status": "ok", "error": None,
            "clock": {"offset": offset, "bound": bound, "rtt": bound * 2, "samples": 1, "resolution": 1e-9,
                      "remote_time": NOW + offset, "controller_time": NOW},
            "chrony": {"state": "synchronised", "tracking": tracking, "sources": [], "offset": 1e-5,
                       "error_bound": 2e-4, "error": None}}


@pytest.fixture(scope="module")
def facts(tmp_path_factory):
    if CHROMIUM is None:
        pytest.skip("chromium not installed (scripts/setup.sh host-tools installs it)")
    base = tmp_path_factory.mktemp("html")
    audit = fleet.aggregate({host: probe(offset) for host, offset in OFFSETS.items()}, controller=probe(0.0), now=NOW)
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
