# -*- coding: utf-8 -*-
# Copyright (c) 2025 fleetclock maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: clock_probe_batch
short_description: Measure many hosts' clock offsets from one controller process
version_added: 1.1.0
description:
  - Runs M(fleetclock.timesync.clock_probe) for every host of O(hosts) from this one task, in threads of one
    controller process, instead of one Ansible worker process per host. Use it with C(run_once) and C(register);
    the registered result (set on every host of the play by C(run_once)) holds each host's result under
    RV(hosts), which M(fleetclock.timesync.clock_report) reads with its usual O(fleetclock.timesync.clock_report#module:results_var).
  - Each host's visit is the per-host probe itself, run through ansible-core's task executor with that host's
    variables, so its connection (C(ansible_connection), C(ansible_host), C(ansible_port), C(ansible_user), SSH
    arguments, docker host, become...) is built exactly as for a per-host task, and its sampling, error bounds and
    chrony parsing are the same. Only the set-up of one visit at a time runs (it is CPU work); the probes overlap.
  - Unreachable hosts, hosts that answer nonsense and hosts that miss their deadline are recorded in their result
    (C(status) in its entry of RV(hosts)), never fatal. A visit still running one second after its O(timeout) is abandoned
    and recorded as V(timeout) with the samples it had taken.
  - Used by the audit playbook when C(fleetclock_audit_batch) is true (see C(docs/performance.md) for what it
    saves).
  - It calls ansible-core's task executor directly, which is not a stable interface. It is tested with
    ansible-core 2.19; on a release whose executor takes other arguments it fails with a message that says so,
    before any host is visited (the per-host audit works on every supported release).
  - Read-only; runs in check mode too.
author:
  - fleetclock maintainers (@fleetclock)
options:
  hosts:
    description:
      - Inventory host names to visit. Default - the hosts of the play's current batch (C(ansible_play_batch)); the
        task must then have C(run_once) (otherwise every host would visit every host, and the task fails).
    type: list
    elements: str
  workers:
    description:
      - Hosts visited at the same time (threads). Default - the run's forks.
    type: int
  timeout:
    description:
      - Seconds each host's visit may take (between 0 and 3600), counted from the start of its probe as in
        M(fleetclock.timesync.clock_probe). A thread cannot be interrupted, so the deadline is checked before each
        command, and a command still running one second after it is abandoned.
    type: float
    default: 20
extends_documentation_fragment:
  - fleetclock.timesync.options.probe
  - ansible.builtin.action_common_attributes
  - fleetclock.timesync.attributes.read_only
  - ansible.builtin.action_common_attributes.flow
  - fleetclock.timesync.attributes.probe
attributes:
  bypass_host_loop:
    details: Use C(run_once); the task itself runs for one host and visits all of O(hosts).
notes:
  - Do not use it in a play with the C(free) strategy (C(run_once) is not supported there).
  - Task keywords of this task (C(when), C(register), C(delegate_to), C(timeout), loops, retries) are not applied
    to the visits; play and block keywords (C(become), C(remote_user), C(connection), C(environment)) are.
seealso:
  - module: fleetclock.timesync.clock_probe
  - module: fleetclock.timesync.clock_report
"""

EXAMPLES = r"""
- name: Measure every host of the play from one process
  fleetclock.timesync.clock_probe_batch:
    timeout: 20
  run_once: true
  register: fleetclock_probe

- name: Show one host's measured offset
  ansible.builtin.debug:
    msg: "{{ fleetclock_probe.hosts[inventory_hostname].clock.offset }}"
  when: fleetclock_probe.hosts[inventory_hostname].clock is not none
"""

RETURN = r"""
fleetclock_batch:
  description: Marks a batch result (always 1), so M(fleetclock.timesync.clock_report) picks each host's entry.
  returned: always
  type: int
  sample: 1
hosts:
  description:
    - Every visited host's result, by inventory name, each with the keys C(status), C(error), C(clock) and
      C(chrony) of M(fleetclock.timesync.clock_probe) (see its return values). A failure outside the probe
      (for example an undefined variable in the host's connection settings) is C(status) V(error) with Ansible's
      message.
  returned: always
  type: dict
  sample: {web1: {status: ok, error: null, clock: {offset: 0.0021, bound: 0.011, rtt: 0.022, samples: 1,
                                                    execs: 1, method: four_timestamps, resolution: 1.0e-09, remote_time: 1700000000.012,
                                                    controller_time: 1700000000.01},
                  chrony: {state: synchronised, tracking: {}, sources: [], offset: 5.29e-07, error_bound: 3.8e-06,
                           error: null}}}
msg:
  description: How many hosts were visited, with how many threads, and how many of each status.
  returned: always
  type: str
  sample: "100 host(s) visited from one process with 20 threads: 99 ok, 1 unreachable"
"""
