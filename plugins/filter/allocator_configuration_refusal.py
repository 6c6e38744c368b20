# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: allocator_configuration_refusal
short_description: Why mesos-master would not start once the Offer Filtering Allocator is wired in
version_added: 1.0.0
description:
  - From how mesos-master is configured now, tells why it would refuse to start, or the role could not wire the module
    in, once C(--modules) and C(--allocator) are set as O(wiring) says.
  - 'A C(--modules_dir) (mesos-master takes only one of it and C(--modules)), C(--modules) or C(--allocator) set in
    another place than O(wiring), C(--modules) given as inline JSON, and a modules manifest that is not JSON or not
    C({"libraries": [...]}).'
  - The role M(mesos.maintenance.offer_filter_allocator)'s preflight refuses the configuration with this text.
author:
  - mesos.maintenance maintainers (@mesos-maintenance)
options:
  _input:
    description:
      - What the role's C(discover.py) found (its C(files) and C(settings)), read as JSON.
    type: dict
    required: true
  wiring:
    description: Where the role sets C(--modules) and C(--allocator) (C(env_file), C(flag_files) or C(systemd_dropin)).
    type: str
    required: true
  host:
    description: The master (C(inventory_hostname)).
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Refuse a configuration mesos-master would not start with
  ansible.builtin.assert:
    that: refusal | length == 0
    fail_msg: "{{ refusal }}"
  vars:
    refusal: "{{ discovered | mesos.maintenance.allocator_configuration_refusal('env_file', inventory_hostname) }}"
"""

RETURN = r"""
_value:
  description: Why mesos-master would not start; empty when it would.
  type: str
"""

from ansible_collections.mesos.maintenance.plugins.plugin_utils._preflight import configuration_refusal


def allocator_configuration_refusal(found, wiring, host):
    return configuration_refusal(found, wiring, host)


class FilterModule(object):

    def filters(self):
        return {'allocator_configuration_refusal': allocator_configuration_refusal}
