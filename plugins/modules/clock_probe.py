# -*- coding: utf-8 -*-
# Copyright (c) 2025 fleetclock maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: clock_probe
short_description: Measure a host's clock offset against the controller, with an honest error bound
version_added: 1.0.0
description:
  - One audit visit of a host. Runs on the controller and talks to the host over its own connection
    (ssh, docker, local, ...) with raw commands, so the target needs a POSIX shell and C(date), but no Python.
  - Each clock sample reads the controller clock (t0), runs C(date +%s.%N) on the host, and reads the
    controller clock again (t1). The host clock was read somewhere in [t0, t1], so
    C(offset = remote - (t0 + t1\) / 2) is wrong by at most C(bound = (t1 - t0\) / 2 + resolution / 2).
    The sample with the smallest bound is kept.
  - The first sample is one command that reads the host clock, runs C(chronyc -n -c tracking) and
    C(chronyc -n -c sources) (bounded in time even when chronyd does not answer), and reads the host clock again
    (NTP's four timestamps t0, r1, r2, t1). Its offset is C(((r1 - t0\) + (r2 - t1\)\) / 2) and its bound
    C(((t1 - t0\) - (r2 - r1 - resolution\) / (1 + 0.0834\)\) / 2 + resolution / 2), never wider than the
    one-reading bound, so chronyc's time costs no accuracy (0.0834 - the most a slewing chronyd may run fast or
    slow). A host clock stepped between the two readings (r2 < r1, or more host time than round trip) falls back to
    the one-reading bound on the first reading (RV(clock.method) V(stepped)).
  - Takes O(min_samples) samples, then more only while the bound exceeds O(target_bound), up to O(max_samples),
    and stops as soon as more cannot be expected to help. A sample no better than the best before it stops (the
    round trip is as short as the connection and the controller's load allow). After the first command, no bare
    C(date) follows on a connection that starts a new process per command (local, docker, podman...) without
    become, since its bound would keep the same transport the first one kept; over ssh (whose first command
    opens the connection) or with become one more may be taken. So a host usually gets one command.
  - At most E(FLEETCLOCK_SAMPLE_SLOTS) clock samples (default - the controller's CPU count) run at the same time
    across all forks of a run (file locks in the run's local temporary directory); the rest of the visit runs with
    all forks. On a busy controller a sample's round trip is mostly waiting for CPU, so this tightens the bounds
    (see C(docs/performance.md)).
  - Host problems never fail the task. They are reported in RV(status) and RV(error) (and RV(chrony.state)),
    so one dead host does not hide the rest of the fleet from the report. Only bad option values fail the task.
  - Host output is untrusted. The chrony part of the first command is cut after 256 KiB on the host (C(head -c),
    where head has it); the controller parses no command output over 256 KiB (such a host gets RV(status)
    V(error) with the size in RV(error)); every string of the result is sanitised (undecodable bytes as U+FFFD;
    control characters, bidi overrides and isolates, U+2028/U+2029 shown as escapes such as C(\x1b)).
  - Round trips are measured with the controller's monotonic clock and its wall clock is read once per sample, so
    a step of the controller's clock during a visit neither breaks nor narrows a bound.
  - Read-only; runs in check mode too.
author:
  - fleetclock maintainers (@fleetclock)
extends_documentation_fragment:
  - fleetclock.timesync.options.probe
  - ansible.builtin.action_common_attributes
  - fleetclock.timesync.attributes.read_only
  - ansible.builtin.action_common_attributes.flow
  - fleetclock.timesync.attributes.probe
notes:
  - Sign convention everywhere is C(offset = host clock - controller clock); positive means the host is ahead (fast).
  - The error bound assumes nothing about network symmetry; it is loose by design, never wrong.
  - Command output is parsed leniently about login banners (only the last line of C(date) output counts).
  - chronyd started with C(-x) (common in containers) steps only its own notion of time, so RV(chrony.offset) may read
    about 0 while the real clock is far off; RV(clock.offset) measures the real clock.
seealso:
  - module: fleetclock.timesync.chrony_status
"""

EXAMPLES = r"""
- name: Measure every host's clock against the controller
  fleetclock.timesync.clock_probe:
  register: probe

- name: Tighter bound, more samples, short per-host deadline, no chrony data
  fleetclock.timesync.clock_probe:
    target_bound: 0.01
    max_samples: 8
    timeout: 10
    collect_chrony: false
  register: probe

- name: Show the measured offset
  ansible.builtin.debug:
    msg: "{{ inventory_hostname }}: {{ probe.clock.offset | round(3) }} s +/- {{ probe.clock.bound | round(3) }} s"
  when: probe.clock is not none
"""

RETURN = r"""
status:
  description:
    - Whether the visit worked. V(ok); V(unreachable) (the connection failed); V(timeout) (no answer within O(timeout));
      V(error) (the host answered with something that is not a time, or Ansible could not run the command).
  returned: always
  type: str
  sample: ok
error:
  description: Human readable reason when RV(status) is not V(ok), else null.
  returned: always
  type: str
  sample: "clock sample: output of 'date +%s.%N' is not an epoch time like 1700000000.123456789: 'sh: date: not found'"
clock:
  description: The clock measurement of the best sample, or null when no sample could be taken.
  returned: always
  type: dict
  contains:
    offset:
      description: Host clock minus controller clock in seconds (positive = host ahead).
      type: float
      returned: success
      sample: 120.0021
    bound:
      description:
        - Honest bound on the error of RV(clock.offset) in seconds, plus 1e-6 for float rounding.
        - One reading (t1 - t0) / 2 + resolution / 2; two readings r1, r2 in one command
          ((t1 - t0) - (r2 - r1 - resolution) / 1.0834) / 2 + resolution / 2, whichever is smaller.
      type: float
      returned: success
      sample: 0.0123
    rtt:
      description: Round trip t1 - t0 of the best sample in seconds.
      type: float
      returned: success
      sample: 0.0246
    samples:
      description: Number of samples taken.
      type: int
      returned: success
      sample: 1
    execs:
      description: Commands run on the host during the visit (the first, with chrony, and any bare samples).
      type: int
      returned: success
      sample: 1
    method:
      description:
        - How the best sample's offset and bound were computed. V(four_timestamps) (two host readings in one
          command); V(cristian) (one reading); V(stepped) (the host clock stepped between its two readings, so
          only the first counts).
      type: str
      returned: success
      sample: four_timestamps
    resolution:
      description: Resolution of the host's C(date) in seconds; 1e-9 with C(%N), 1.0 without (busybox).
      type: float
      returned: success
      sample: 1.0e-09
    remote_time:
      description: The host reading (epoch seconds), centred in its resolution interval (two readings - the controller time plus the offset).
      type: float
      returned: success
      sample: 1700000120.012
    controller_time:
      description: (t0 + t1) / 2 of the best sample, controller clock (epoch seconds).
      type: float
      returned: success
      sample: 1700000000.01
chrony:
  description: chrony's own view, from C(chronyc -n -c tracking) and C(chronyc -n -c sources).
  returned: always
  type: dict
  contains:
    state:
      description:
        - V(missing) (no chronyc), V(not_running) (no chronyd answered), V(no_access) (chronyc got no answer, but a
          chronyd process runs in the host's PID namespace and the probe's user is not root - typically C(cmdport 0)
          without become), V(unsynchronised) (no reference or leap status Not synchronised), V(local) (reference
          7F7F0101, C(local) directive), V(synchronised), V(error) (output not understood), V(unknown) (not
          collected, or the visit failed first).
      type: str
      returned: always
      sample: synchronised
    tracking:
      description:
        - Parsed tracking, or null. Keys ref_id, ref_name, stratum, ref_time, system_time (positive = clock slow),
          last_offset, rms_offset, frequency_ppm, residual_freq_ppm, skew_ppm, root_delay, root_dispersion,
          update_interval, leap_status.
      type: dict
      returned: always
      sample: {ref_id: 7F000001, ref_name: 127.0.0.1, stratum: 9, ref_time: 1795944157.066, system_time: -5.29e-07,
               last_offset: 1.81e-07, rms_offset: 4.21e-07, frequency_ppm: -0.001, residual_freq_ppm: 0.0,
               skew_ppm: 0.025, root_delay: 2.236e-06, root_dispersion: 2.196e-06, update_interval: 4.1,
               leap_status: Normal}
    sources:
      description:
        - Parsed sources. Keys mode, mode_name, state, state_name, name, stratum, poll, reach (int), last_rx
          (null = never), adjusted_offset, measured_offset, error.
      type: list
      elements: dict
      returned: always
      sample: [{mode: "^", mode_name: server, state: "*", state_name: selected, name: 127.0.0.1, stratum: 8, poll: 0,
                reach: 255, last_rx: 1, adjusted_offset: 1.613e-06, measured_offset: 1.794e-06, error: 7.01e-06}]
    offset:
      description: chrony's estimate of local clock minus true time (= -system_time); null unless synchronised or local.
      type: float
      returned: always
      sample: 5.29e-07
    error_bound:
      description: "|system_time| + root_dispersion + root_delay / 2; null unless synchronised or local."
      type: float
      returned: always
      sample: 3.843e-06
    error:
      description: Why chrony data is missing or incomplete, else null.
      type: str
      returned: always
      sample: "chronyd is not answering: '506 Cannot talk to daemon'"
    nts:
      description:
        - "NTS authentication read from C(chronyc -c authdata) in the same command: C(access) (V(ok), V(no_access):
          chronyd answers it only to root, audit with become; V(error)), C(sources) (the NTS sources: name, mode,
          key_id, key_type, key_length, last (s since the last key exchange, null: never), attempts, naks, cookies,
          cookie_length) and C(error). An NTS source without cookies is a warning in the report."
        - Null when not read (chronyd did not answer tracking or sources).
      type: dict
      returned: always
      sample: {access: ok, sources: [{name: 127.0.0.1, mode: NTS, key_id: 1, key_type: 15, key_length: 256,
               last: 23, attempts: 0, naks: 0, cookies: 8, cookie_length: 100}], error: null}
daemons:
  description:
    - The time daemons running on the host and each one's own view, read in the same first command (no extra round
      trip) when O(collect_chrony) is true; null when not read (the visit stopped before, or an older probe).
    - A daemon counts when a process of its name runs in the host's PID namespace (C(chronyd), C(systemd-timesyncd),
      C(ntpd); C(ntpd) is openntpd when C(ntpctl) is installed).  C(timedatectl show-timesync) is only asked when
      systemd-timesyncd runs (asking it otherwise would start timesyncd through dbus activation).
  type: dict
  returned: success
  contains:
    active:
      description: The daemons running, among V(chrony), V(systemd-timesyncd), V(ntpd) and V(openntpd).
      type: list
      elements: str
    views:
      description:
        - Per running daemon other than chrony (whose view is RV(chrony)), its view - C(daemon) (V(ntpsec) when ntpq
          reports ntpsec), C(state) (synchronised, unsynchronised, not_running, local, unknown, error), C(reference),
          C(stratum), C(offset), C(error_bound), C(error).
      type: dict
    kernel:
      description:
        - The kernel's timex verdict (C(timedatectl show -p NTPSynchronized), else C(ntptime)) - C(state)
          (synchronised, unsynchronised, unknown), C(source), and C(container) (true - the verdict is the container
          host's kernel, not the container's).
      type: dict
    error:
      description: Why the daemon part could not be read (its output over the size cap), else null.
      type: str
"""
