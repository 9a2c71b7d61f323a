# -*- coding: utf-8 -*-
# Copyright (c) 2025 fleetclock maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: host_state
short_description: Read files, directories, systemd units and packages a time-service change depends on, in one call
version_added: 1.1.0
description:
  - Reads each file of O(paths) whole, with the metadata a rollback needs to write it back as it was, says whether
    each directory of O(dirs) exists, reads the state of the systemd units of O(units) (C(systemctl show)) and which
    packages of O(packages) are installed (C(dpkg-query) or C(rpm -q)). One module run where the chrony role's
    C(snapshot) entry point (taken twice per host by C(fleetclock.timesync.remediate)) used a C(package_facts), a
    C(service_facts), and a C(stat) and a C(slurp) per file; the role's service tasks use it for the units alone.
  - Symbolic links are followed. A path that exists but is not a regular file, or is larger than O(max_bytes),
    fails the task with a message naming it (a snapshot that cannot hold a file cannot restore it).
  - Read-only; never changes anything.
author:
  - fleetclock maintainers (@fleetclock)
options:
  paths:
    description: Absolute paths of the files to read; a missing one is returned as V(null).
    type: list
    elements: path
    default: []
  dirs:
    description: Absolute paths of directories whose existence is reported.
    type: list
    elements: path
    default: []
  selinux:
    description: Read each file's SELinux context (its C(security.selinux) attribute); pass whether SELinux is enabled.
    type: bool
    default: false
  max_bytes:
    description: The largest file kept.
    type: int
    default: 1048576
  units:
    description:
      - systemd units whose state is read (a name without a suffix means C(NAME.service)).
      - Read only where systemd runs the host (C(/run/systemd/system) exists); elsewhere RV(services) is empty.
    type: list
    elements: str
    default: []
  packages:
    description: Packages whose installed version is read, with C(dpkg-query) where it exists, else C(rpm).
    type: list
    elements: str
    default: []
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - fleetclock.timesync.attributes.read_only
seealso:
  - module: ansible.builtin.stat
  - module: ansible.builtin.slurp
  - module: ansible.builtin.service_facts
  - module: ansible.builtin.package_facts
"""

EXAMPLES = r"""
- name: Keep chrony's files and the time daemons' state for a rollback
  fleetclock.timesync.host_state:
    paths: [/etc/chrony/chrony.conf, /etc/default/chrony]
    dirs: [/etc/chrony]
    units: [chrony, systemd-timesyncd]
    packages: [chrony, systemd-timesyncd]
    selinux: "{{ ansible_facts['selinux']['status'] | default('disabled') == 'enabled' }}"
  register: kept
"""

RETURN = r"""
files:
  description:
    - Per path of O(paths), V(null) when it does not exist, else its C(content) (base64), C(checksum) (SHA-1, as
      M(ansible.builtin.stat) computes it), C(mode) (such as V(0640)), C(owner) and C(group) (names, or the numeric id
      when the host has no name for it), C(size) (bytes) and C(secontext) (V(user:role:type:level), or V(null)
      without SELinux or O(selinux=false)).
  returned: always
  type: dict
  sample: {"/etc/chrony/chrony.conf": {"content": "c2VydmVyIDEwLjAuMC4xIGlidXJzdAo=", "checksum":
           "2b0c1c4c3e3cb30f3f69e7bd0e4e7e1b2e0a0f1d", "mode": "0640", "owner": "root", "group": "_chrony",
           "size": 23, "secontext": null}, "/etc/default/chrony": null}
dirs:
  description: Per path of O(dirs), whether it is a directory.
  returned: always
  type: dict
  sample: {"/etc/chrony": true}
services:
  description:
    - The units of O(units) that exist or run, shaped like M(ansible.builtin.service_facts)'s C(services) -
      C(state) V(running) or V(stopped), C(status) the unit-file state (V(enabled), V(disabled), V(static),
      V(masked)...) or V(not-found) for a running unit without a unit file. Unlike M(ansible.builtin.service_facts),
      a failed unit's C(status) is its unit-file state, not V(failed).
  returned: always
  type: dict
  sample: {"chrony.service": {"name": "chrony.service", "state": "running", "status": "enabled", "source": "systemd"}}
packages:
  description: The installed packages of O(packages), shaped like M(ansible.builtin.package_facts)'s C(packages).
  returned: always
  type: dict
  sample: {"chrony": [{"name": "chrony", "version": "4.3-2+deb12u1", "source": "apt"}]}
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.fleetclock.timesync.plugins.module_utils.file_read import FileReadError, read_paths
from ansible_collections.fleetclock.timesync.plugins.module_utils.host_read import (
    SHOW_PROPERTIES,
    HostReadError,
    package_name,
    parse_dpkg_query,
    parse_rpm_query,
    parse_systemctl_show,
    service_entries,
    unit_name,
)


def read_units(module, units):
    """service_facts-shaped entries of the units; {} where systemd does not run the host."""
    systemctl = module.get_bin_path("systemctl")
    if not units or not systemctl or not os.path.isdir("/run/systemd/system"):
        return {}
    rc, out, err = module.run_command([systemctl, "show", "--property=" + ",".join(SHOW_PROPERTIES), "--"] + units)
    if rc != 0:
        module.fail_json(msg="host_state: systemctl show failed (rc %d): %s" % (rc, err.strip()[:500]))
    return service_entries(parse_systemctl_show(out, units))


def read_packages(module, names):
    """package_facts-shaped entries of the installed ones (dpkg-query where it exists, else rpm)."""
    if not names:
        return {}
    dpkg = module.get_bin_path("dpkg-query")
    if dpkg:
        # rc 1 with "no packages found matching" for the ones dpkg never knew: not an error here
        rc, out, err = module.run_command(
            [dpkg, "-W", "-f", "${Package}\\t${Version}\\t${db:Status-Status}\\n", "--"] + names)
        if rc not in (0, 1):
            module.fail_json(msg="host_state: dpkg-query failed (rc %d): %s" % (rc, err.strip()[:500]))
        return parse_dpkg_query(out, names)
    rpm = module.get_bin_path("rpm")
    if rpm:
        # rc = how many of the names are not installed
        rc, out, err = module.run_command([rpm, "-q", "--qf", "%{NAME}\\t%{VERSION}-%{RELEASE}\\n", "--"] + names)
        if not 0 <= rc <= len(names):
            module.fail_json(msg="host_state: rpm -q failed (rc %d): %s" % (rc, err.strip()[:500]))
        return parse_rpm_query(out, names)
    module.fail_json(msg="host_state: neither dpkg-query nor rpm found to read packages %s" % ", ".join(names))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            paths=dict(type="list", elements="path", default=[]),
            dirs=dict(type="list", elements="path", default=[]),
            selinux=dict(type="bool", default=False),
            max_bytes=dict(type="int", default=1048576),
            units=dict(type="list", elements="str", default=[]),
            packages=dict(type="list", elements="str", default=[]),
        ),
        supports_check_mode=True,
    )
    params = module.params
    relative = [p for p in params["paths"] + params["dirs"] if not p.startswith("/")]
    if relative:
        module.fail_json(msg="host_state needs absolute paths, got %s" % ", ".join(relative))
    try:
        units = [unit_name(name) for name in params["units"]]
        packages = [package_name(name) for name in params["packages"]]
        result = read_paths(params["paths"], params["dirs"], params["selinux"], params["max_bytes"])
    except (FileReadError, HostReadError, OSError) as exc:
        module.fail_json(msg="host_state: %s" % exc)
    result.update(services=read_units(module, units), packages=read_packages(module, packages))
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
