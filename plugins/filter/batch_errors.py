# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: batch_errors
short_description: The failures of a batch's maintenance, by host
version_added: 1.0.0
description:
  - Collects, for each host of O(_input), the host variable named O(variable) when it is set and not empty.
author:
  - mesos.maintenance maintainers (@mesos-maintenance)
options:
  _input:
    description: The hosts of the batch (C(ansible_play_batch)).
    type: list
    elements: str
    required: true
  hostvars:
    description: The C(hostvars) variable.
    type: raw
    required: true
  variable:
    description: The host variable that holds a host's failure.
    type: str
    default: mesos_maintenance_error
"""

EXAMPLES = r"""
- name: Restore the batch unless its maintenance failed somewhere
  ansible.builtin.include_role:
    name: mesos.maintenance.agent_maintenance
    tasks_from: restore
  vars:
    agent_maintenance_batch_errors: "{{ ansible_play_batch | mesos.maintenance.batch_errors(hostvars) }}"
"""

RETURN = r"""
_value:
  description: "{host: failure}."
  type: dict
"""


def batch_errors(hosts, hostvars, variable='mesos_maintenance_error'):
    result = {}
    for host in hosts or []:
        value = (hostvars.get(host) or {}).get(variable)
        if value:
            result[host] = ' '.join(str(value).split())
    return result


class FilterModule(object):

    def filters(self):
        return {'batch_errors': batch_errors}
