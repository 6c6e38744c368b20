# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: rolling_pass
short_description: The hosts and batch sizes of one pass of a rolling maintenance
version_added: 1.0.0
description:
  - Pass V(1) is the plan of M(mesos.maintenance.maintenance_run) with
    O(mesos.maintenance.maintenance_run#module:state=started), its hosts in the order of the batches (C(todo)) and the
    batch sizes (C(serial)).
  - Pass V(2) is the hosts that a drain of pass 1 deferred because tasks had moved onto them after the plan and
    taking them out would have taken a service over its disruption budget (each batch's drain result,
    C(agent_maintenance_drain_result.deferred), names them), in batches of at most the plan's largest.
author:
  - mesos.maintenance maintainers (@mesos-maintenance)
options:
  _input:
    description: The plan, C(agent_maintenance_run) as the role's entry point C(run_started) registers it.
    type: dict
    required: true
  number:
    description: The pass, V(1) or V(2).
    type: int
    required: true
  hostvars:
    description: C(hostvars).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: The deferred hosts
  hosts: "{{ (hostvars['localhost'].agent_maintenance_run | mesos.maintenance.rolling_pass(2, hostvars)).hosts }}"
  serial: "{{ (hostvars['localhost'].agent_maintenance_run | mesos.maintenance.rolling_pass(2, hostvars)).serial }}"
  tasks: []
"""

RETURN = r"""
_value:
  description: C(hosts), the inventory hosts of the pass in order, and C(serial), the batch sizes for the play.
  type: dict
"""

from ansible.errors import AnsibleFilterError


def rolling_pass(run, number, hostvars):
    if not isinstance(run, dict) or 'todo' not in run:
        return dict(hosts=[], serial=[1])
    if int(number) == 1:
        return dict(hosts=list(run['todo']), serial=list(run.get('serial') or [run.get('batch') or 1]))
    if int(number) != 2:
        raise AnsibleFilterError('rolling_pass: the pass is 1 or 2, not %r.' % (number,))
    deferred = []
    for host in run['todo']:
        drained = (hostvars[host] if host in hostvars else {}).get('agent_maintenance_drain_result') or {}
        if host in (drained.get('deferred') or []):
            deferred.append(host)
    return dict(hosts=deferred, serial=[run.get('batch') or 1])


class FilterModule(object):

    def filters(self):
        return {'rolling_pass': rolling_pass}
