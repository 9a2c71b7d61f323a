# -*- coding: utf-8 -*-
# Copyright (c) 2025 fleetclock maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    """The attributes the collection's modules share (used after ansible.builtin.action_common_attributes)."""

    # Reads the managed host, changes nothing.
    READ_ONLY = r"""
options: {}
attributes:
  check_mode:
    support: full
    details: Read-only; it runs in check mode as well.
  diff_mode:
    support: none
  platform:
    platforms: posix
"""

    # Runs on the controller and writes report files there, in check mode too.
    CONTROLLER_REPORT = r"""
options: {}
attributes:
  check_mode:
    support: full
    details: Nothing on the hosts changes; the report files are written on the controller in check mode too.
  diff_mode:
    support: none
  platform:
    platforms: posix
    details: Runs on the controller.
"""

    # A visit made by an action plugin (after ansible.builtin.action_common_attributes.flow).
    PROBE = r"""
options: {}
attributes:
  action:
    support: full
  async:
    support: none
  bypass_host_loop:
    support: none
"""
