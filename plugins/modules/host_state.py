# -*- coding: utf-8 -*-
# Copyright (c) 2025 fleetclock maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: file_snapshot
short_description: Read files' content, mode, owner, group and SELinux context in one call
version_added: 1.0.0
description:
  - Reads each file of O(paths) whole, with the metadata a rollback needs to write it back as it was, and says
    whether each directory of O(dirs) exists. One module run instead of a C(stat), a C(slurp) and a C(stat -c %C)
    per file (the chrony role's C(snapshot) entry point, taken twice per host by C(fleetclock.timesync.remediate)).
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
    required: true
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
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - fleetclock.timesync.attributes.read_only
seealso:
  - module: ansible.builtin.stat
  - module: ansible.builtin.slurp
"""

EXAMPLES = r"""
- name: Keep chrony's files for a rollback
  fleetclock.timesync.file_snapshot:
    paths: [/etc/chrony/chrony.conf, /etc/default/chrony]
    dirs: [/etc/chrony]
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
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.fleetclock.timesync.plugins.module_utils.file_read import FileReadError, read_paths


def main():
    module = AnsibleModule(
        argument_spec=dict(
            paths=dict(type="list", elements="path", required=True),
            dirs=dict(type="list", elements="path", default=[]),
            selinux=dict(type="bool", default=False),
            max_bytes=dict(type="int", default=1048576),
        ),
        supports_check_mode=True,
    )
    relative = [p for p in module.params["paths"] + module.params["dirs"] if not p.startswith("/")]
    if relative:
        module.fail_json(msg="file_snapshot needs absolute paths, got %s" % ", ".join(relative))
    try:
        result = read_paths(module.params["paths"], module.params["dirs"], module.params["selinux"],
                            module.params["max_bytes"])
    except (FileReadError, OSError) as exc:
        module.fail_json(msg="file_snapshot: %s" % exc)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
