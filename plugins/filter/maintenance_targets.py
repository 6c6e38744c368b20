# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: maintenance_targets
short_description: Inventory patterns to the hosts a maintenance playbook acts on
version_added: 1.0.0
description:
  - Turns O(_input) (inventory hosts, groups or patterns, as a list or one string separated by commas, spaces or
    new lines, as an AWX survey sends it) into the inventory hosts it matches, in order, without duplicates.
  - A name that matches nothing fails, unless O(unknown=api_only), which keeps it as the hostname of an agent that
    is driven through the API only.
author:
  - mesos.maintenance maintainers (@mesos-maintenance)
options:
  _input:
    description: The patterns (C(mesos_maintenance_agents)).
    type: raw
    required: true
  groups:
    description: The inventory's groups (the C(groups) variable).
    type: dict
    required: true
  unknown:
    description: V(fail) or V(api_only).
    type: str
    default: fail
"""

EXAMPLES = r"""
- name: The hosts to act on
  ansible.builtin.set_fact:
    targets: "{{ mesos_maintenance_agents | mesos.maintenance.maintenance_targets(groups) }}"
"""

RETURN = r"""
_value:
  description: The matching inventory hosts (and, with O(unknown=api_only), the names that match none).
  type: list
  elements: str
"""

from ansible.errors import AnsibleError, AnsibleFilterError
from ansible.inventory.manager import InventoryManager
from ansible.parsing.dataloader import DataLoader

from ansible_collections.mesos.maintenance.plugins.module_utils._errors import name_list
from ansible_collections.mesos.maintenance.plugins.plugin_utils._targets import EMPTY_AGENTS, match_hosts, split_names


def inventory_query(groups):
    """``pattern -> hosts`` over an inventory rebuilt from ``groups``, as ansible.builtin.inventory_hostnames does."""
    manager = InventoryManager(DataLoader(), parse=False)
    for group, hosts in groups.items():
        manager.add_group(group)
        for host in hosts:
            manager.add_host(host, group=group)

    def query(pattern):
        try:
            return [host.name for host in manager.get_hosts(pattern=pattern)]
        except AnsibleError:
            # host_pattern_mismatch=error: a pattern that matches nothing is reported below, by name.
            return []
    return query


def maintenance_targets(patterns, groups, unknown='fail'):
    if not split_names(patterns):
        raise AnsibleFilterError(EMPTY_AGENTS)
    found = match_hosts(patterns, groups, inventory_query(groups))
    if found['unknown'] and unknown != 'api_only':
        raise AnsibleFilterError('mesos_maintenance_agents names %s, which match(es) no host of the inventory. This '
                                 'playbook runs tasks on the agent hosts, so they must be in the inventory (by '
                                 'convention in the group mesos_agents).' % name_list(found['unknown']))
    return found['hosts'] + (found['unknown'] if unknown == 'api_only' else [])


class FilterModule(object):

    def filters(self):
        return {'maintenance_targets': maintenance_targets}
