# -*- coding: utf-8 -*-
# Copyright (c) 2025 fleetclock maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: chrony_status
short_description: Report chrony's state on the host, optionally waiting until it is synchronised
version_added: 1.0.0
description:
  - Runs C(chronyc -n -c tracking) and C(chronyc -n -c sources) on the host and returns them parsed, with a state.
  - With O(require) and/or O(max_offset) it checks a requirement and fails with a message that says what was seen
    and what to check. With O(wait=true) it polls C(chronyc -n -c tracking) every second until the requirement holds
    or O(timeout) passes (a health gate after restarting chronyd).
  - Read-only; never changes anything.
author:
  - fleetclock maintainers (@fleetclock)
options:
  wait:
    description:
      - Poll until the requirement holds or O(timeout) passes. Needs O(require) or O(max_offset).
      - chronyd not answering yet (just restarted) counts as "not yet", not as a failure.
    type: bool
    default: false
  timeout:
    description: Seconds to wait when O(wait=true).
    type: float
    default: 60
  require:
    description:
      - V(synchronised) (a real reference is selected), V(local) (serving from the C(local) directive, reference
        7F7F0101), or V(synchronised_or_local).
      - Omitted means no state requirement (only report, or only O(max_offset)).
    type: str
    choices: [synchronised, local, synchronised_or_local]
  max_offset:
    description:
      - chrony's own estimate of the clock offset (-system_time) must be smaller than this many seconds (absolute).
        Implies that chrony has a reference (V(synchronised) or V(local)).
    type: float
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - fleetclock.timesync.attributes.read_only
notes:
  - C(chronyc waitsync) never succeeds on a server whose reference is C(local); use O(require=local) or
    O(require=synchronised_or_local) for masters.
  - chronyd started with C(-x) (containers) does not control the clock; its offset then says little about the real clock.
seealso:
  - module: fleetclock.timesync.clock_probe
"""

EXAMPLES = r"""
- name: Report chrony's state
  fleetclock.timesync.chrony_status:
  register: chrony

- name: Health gate after (re)starting chronyd
  fleetclock.timesync.chrony_status:
    wait: true
    timeout: 120
    require: synchronised

- name: Air-gapped master serves from its local clock, or from an upstream when it has one
  fleetclock.timesync.chrony_status:
    wait: true
    timeout: 30
    require: synchronised_or_local

- name: Fail unless chrony believes the clock is within 50 ms
  fleetclock.timesync.chrony_status:
    require: synchronised
    max_offset: 0.05
"""

RETURN = r"""
state:
  description:
    - V(missing) (no chronyc), V(not_running) (no chronyd answered), V(no_access) (a chronyd runs but does not
      answer this non-root user, as with a disabled command port and a root-only socket; use become), V(unsynchronised), V(local),
      V(synchronised), or V(error) (output not understood).
  returned: always
  type: str
  sample: synchronised
tracking:
  description:
    - Parsed C(chronyc -c tracking), or null. Keys ref_id, ref_name, stratum, ref_time, system_time (positive = clock
      slow), last_offset, rms_offset, frequency_ppm, residual_freq_ppm, skew_ppm, root_delay, root_dispersion,
      update_interval, leap_status.
  returned: always
  type: dict
  sample: {ref_id: 7F7F0101, ref_name: null, stratum: 8, ref_time: 1795944106.554, system_time: 0.0, last_offset: 0.0,
           rms_offset: 0.0, frequency_ppm: 0.0, residual_freq_ppm: 0.0, skew_ppm: 0.0, root_delay: 0.0,
           root_dispersion: 0.0, update_interval: 0.0, leap_status: Normal}
sources:
  description:
    - Parsed C(chronyc -c sources). Keys mode, mode_name, state, state_name, name, stratum, poll, reach (int),
      last_rx (null = never), adjusted_offset, measured_offset, error.
  returned: always
  type: list
  elements: dict
  sample: [{mode: "^", mode_name: server, state: "?", state_name: unusable, name: 192.0.2.1, stratum: 0, poll: 6,
            reach: 0, last_rx: null, adjusted_offset: 0.0, measured_offset: 0.0, error: 0.0}]
offset:
  description: chrony's estimate of local clock minus true time in seconds (= -system_time); null unless synchronised or local.
  returned: always
  type: float
  sample: -2.1e-05
error_bound:
  description: "|system_time| + root_dispersion + root_delay / 2 in seconds; null unless synchronised or local."
  returned: always
  type: float
  sample: 0.0012
error:
  description: Why chrony data is missing or incomplete, else null.
  returned: always
  type: str
  sample: null
waited:
  description: Seconds spent polling (0 without O(wait)).
  returned: always
  type: float
  sample: 3.02
"""

import os
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.fleetclock.timesync.plugins.module_utils.chronyc import (
    CHRONYC_ARGS,
    ChronycParseError,
    NO_ACCESS_HINT,
    chrony_result,
    chronyd_visible,
    classify,
    is_not_running,
    parse_sources,
    parse_tracking,
    unanswered_state,
)

POLL_INTERVAL = 1.0
ACCEPTED = {
    "synchronised": ("synchronised",),
    "local": ("local",),
    "synchronised_or_local": ("synchronised", "local"),
}
HINTS = {
    "missing": "install chrony (package chrony) or fix PATH",
    "not_running": "is chronyd running? check 'systemctl status chrony' (chronyd on RHEL) and 'journalctl -u chrony'",
    "no_access": NO_ACCESS_HINT,
    "unsynchronised": "no source selected yet: check 'chronyc sources' (reach 0 = no reply: UDP 123 blocked, DNS, "
                      "wrong server names) and wait longer if chronyd just started",
    "local": "chrony serves from its 'local' directive because no upstream source is usable: "
             "check 'chronyc sources' and the server lines in chrony.conf",
    "synchronised": "chrony has an upstream reference; set require to match the host's role (local for a master)",
    "error": "chronyc output was not understood: run 'chronyc -n -c tracking' by hand",
}


def read_chrony(module, chronyc, with_sources):
    """One look at chrony: the contract's chrony dict."""
    if chronyc is None:
        return chrony_result("missing", error="chronyc not found in PATH, /usr/sbin or /sbin")
    rc, out, err = module.run_command([chronyc] + CHRONYC_ARGS + ["tracking"])
    text = out + err
    if is_not_running(text):
        return unanswered_state(text, os.geteuid() != 0 and chronyd_visible())
    if rc != 0:
        return chrony_result("error", error="chronyc tracking failed (rc=%d): %s" % (rc, text.strip()[:200]))
    try:
        tracking = parse_tracking(out)
    except ChronycParseError as exc:
        return chrony_result("error", error=str(exc))
    state = classify(tracking)
    if not with_sources:
        return chrony_result(state, tracking)
    rc, out, err = module.run_command([chronyc] + CHRONYC_ARGS + ["sources"])
    if rc != 0:
        return chrony_result(state, tracking, error="chronyc sources failed (rc=%d): %s" % (rc, (out + err).strip()[:200]))
    try:
        return chrony_result(state, tracking, parse_sources(out))
    except ChronycParseError as exc:
        return chrony_result(state, tracking, error=str(exc))


def unmet(chrony, require, max_offset):
    """Why the requirement does not hold, or None when it does."""
    state = chrony["state"]
    if require and state not in ACCEPTED[require]:
        return "state is %s, required %s" % (state, require)
    if max_offset is not None:
        if chrony["offset"] is None:
            return "state is %s: chrony has no reference, so no offset to compare with max_offset" % state
        if abs(chrony["offset"]) >= max_offset:
            return "|offset| %.6f s is not under max_offset %s s" % (abs(chrony["offset"]), max_offset)
    return None


def describe(chrony):
    tracking = chrony["tracking"] or {}
    offset = chrony["offset"]
    return "seen: state %s, ref %s (%s), leap status %s, offset %s%s" % (
        chrony["state"],
        tracking.get("ref_id", "n/a"),
        tracking.get("ref_name") or "-",
        tracking.get("leap_status", "n/a"),
        "n/a" if offset is None else "%+.6f s" % offset,
        "; %s" % chrony["error"] if chrony["error"] else "",
    )


def main():
    module = AnsibleModule(
        argument_spec={
            "wait": {"type": "bool", "default": False},
            "timeout": {"type": "float", "default": 60.0},
            "require": {"type": "str", "choices": sorted(ACCEPTED)},
            "max_offset": {"type": "float"},
        },
        required_if=[("wait", True, ("require", "max_offset"), True)],
        supports_check_mode=True,
    )
    params = module.params
    if params["timeout"] < 0:
        module.fail_json(msg="timeout must be >= 0 seconds (got %s)" % params["timeout"])
    if params["max_offset"] is not None and params["max_offset"] <= 0:
        module.fail_json(msg="max_offset must be > 0 seconds (got %s)" % params["max_offset"])
    require, max_offset = params["require"], params["max_offset"]

    chronyc = module.get_bin_path("chronyc", opt_dirs=["/usr/sbin", "/sbin"])
    started = time.monotonic()
    chrony = read_chrony(module, chronyc, with_sources=True)
    problem = unmet(chrony, require, max_offset)
    while problem and params["wait"] and chrony["state"] != "missing":
        if time.monotonic() - started + POLL_INTERVAL > params["timeout"]:
            break
        time.sleep(POLL_INTERVAL)
        chrony = read_chrony(module, chronyc, with_sources=False)
        problem = unmet(chrony, require, max_offset)
        if not problem:
            chrony = read_chrony(module, chronyc, with_sources=True)
            problem = unmet(chrony, require, max_offset)
    waited = round(time.monotonic() - started, 3)

    result = dict(chrony, changed=False, waited=waited)
    if problem:
        hint = HINTS.get(chrony["state"], "")
        if chrony["state"] in ("synchronised", "local") and max_offset is not None and not (require and chrony["state"] not in ACCEPTED[require]):
            hint = "chrony is still correcting the clock: allow a step at start ('makestep 1 3') or wait longer"
        module.fail_json(
            msg="chrony requirement not met%s: %s. %s. What to check: %s."
            % (" after waiting %.0f s" % waited if params["wait"] else "", problem, describe(chrony), hint),
            **result
        )
    module.exit_json(**result)


if __name__ == "__main__":
    main()
