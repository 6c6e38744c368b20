# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: agent_hostnames
short_description: The hostnames the Mesos agents of inventory hosts registered with
version_added: 1.0.0
description:
  - Maps each inventory host of O(_input) to the hostname its Mesos agent registered with, as O(source) says.
  - When O(agents) is not empty (a list, or one string separated by commas, spaces or new lines), returns it instead.
author:
  - mesos.maintenance maintainers (@mesos-maintenance)
options:
  _input:
    description: Inventory hosts, such as C(ansible_play_batch).
    type: list
    elements: str
    required: true
  hostvars:
    description: The C(hostvars) variable.
    type: raw
    required: true
  source:
    description: V(inventory_hostname), V(ansible_host), or V(variable) (the host variable named by O(variable)).
    type: str
    default: inventory_hostname
  variable:
    description: The host variable that holds the agent's hostname, with O(source=variable).
    type: str
    default: mesos_agent_hostname
  agents:
    description: Explicit agent hostnames that replace the mapping.
    type: raw
"""

EXAMPLES = r"""
- name: The agents of this batch
  ansible.builtin.debug:
    msg: "{{ ansible_play_batch | mesos.maintenance.agent_hostnames(hostvars, 'variable', 'mesos_agent_hostname') }}"
"""

RETURN = r"""
_value:
  description: The agent hostnames, in order, without duplicates.
  type: list
  elements: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.mesos.maintenance.plugins.plugin_utils._targets import TargetError
from ansible_collections.mesos.maintenance.plugins.plugin_utils._targets import agent_hostnames as _agent_hostnames


def agent_hostnames(hosts, hostvars, source='inventory_hostname', variable='mesos_agent_hostname', agents=None):
    try:
        return _agent_hostnames(hosts, hostvars, source, variable, agents)
    except TargetError as exc:
        raise AnsibleFilterError(str(exc))


class FilterModule(object):

    def filters(self):
        return {'agent_hostnames': agent_hostnames}
