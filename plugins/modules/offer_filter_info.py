#!/usr/bin/python
# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: offer_filter_info
short_description: Read the offer filters and the agents of a Mesos cluster
version_added: 1.0.0
description:
  - Returns the filter list of the leading master's Offer Filtering Allocator and, for every agent, whether it is
    connected, whether it is filtered, and how many tasks it runs.
  - With O(backend=native) (Mesos 1.9 or later) "filtered" means deactivated by an operator, and every agent also
    reports RV(agents[].deactivated) and RV(agents[].drain_state); everything is read from one
    C(/master/state-summary) request.
  - With O(backend=schedule) (Mesos' maintenance schedule, Mesos 0.25 or later) "filtered" means that the agent's
    machine is in the maintenance schedule or DOWN, and every agent also reports RV(agents[].maintenance), with its
    machine's mode, window and the frameworks' answers to the inverse offers, read from
    C(/master/maintenance/schedule) and C(/master/maintenance/status).
  - Finds the leading master itself, like M(mesos.maintenance.offer_filter), and reads everything with three or four
    requests, so it is cheap enough to poll in an C(until) loop.
  - Never changes anything.
author:
  - mesos.maintenance maintainers (@mesos-maintenance)
extends_documentation_fragment:
  - mesos.maintenance._mesos
  - mesos.maintenance._backend
  - mesos.maintenance._attributes
  - mesos.maintenance._attributes.info_module
  - mesos.maintenance._attributes.actiongroup_mesos
options:
  agent_id:
    description:
      - Only report these agents (by id). Without O(agent_id) and O(hostname), every agent is reported.
    type: list
    elements: str
    aliases: [agent_ids]
    version_added: 1.0.0
  hostname:
    description:
      - Only report these agents (by hostname). Can be combined with O(agent_id).
    type: list
    elements: str
    aliases: [hostnames]
    version_added: 1.0.0
seealso:
  - module: mesos.maintenance.offer_filter
    description: Add or remove the filters.
"""

EXAMPLES = r"""
- name: Read the filters and the agents
  mesos.maintenance.offer_filter_info:
    master_url: [http://m1.example.com:5050, http://m2.example.com:5050]
  register: cluster

- name: List the filtered agents
  ansible.builtin.debug:
    msg: "{{ cluster.filters | map(attribute='hostname') | list }}"

- name: Wait until an agent runs no task
  mesos.maintenance.offer_filter_info:
    master_url: http://m1.example.com:5050
    hostname: agent-1.example.com
  register: agent
  until: agent.exists and agent.agents[0].active_tasks == 0
  retries: 60
  delay: 10

- name: Wait until an agent drained with Mesos' own draining (Mesos 1.9+) is DRAINED
  mesos.maintenance.offer_filter_info:
    master_url: http://m1.example.com:5050
    backend: native
    hostname: agent-1.example.com
  register: agent
  until: agent.exists and agent.agents[0].drain_state == 'DRAINED'
  retries: 60
  delay: 10

- name: Fail when an agent is not registered
  ansible.builtin.assert:
    that: agent.exists
    fail_msg: "not registered: {{ agent.missing }}"
"""

RETURN = r"""
leader:
  description: Base URL of the leading master.
  returned: success
  type: str
  sample: http://m2.example.com:5050
build:
  description:
    - Which build of the allocator module the masters run, V(0afdd8b) or V(later); V(null) when it cannot be told
      (only the leader is in O(master_url)). Told from a standby master, which redirects on later builds and answers
      with an empty list on C(0afdd8b).
  returned: success
  type: str
  sample: 0afdd8b
backend:
  description: Which backend was used, V(allocator), V(native) or V(schedule) (what O(backend=auto) chose).
  returned: success
  type: str
  sample: native
filters:
  description:
    - The filter list of the leading master (all of it, also when O(agent_id) or O(hostname) narrow RV(agents)).
    - With RV(backend=native), the deactivated agents.
    - With RV(backend=schedule), the agents whose machine is in the maintenance schedule or DOWN, plus one entry per
      DOWN machine whose agents the master no longer lists (its RV(filters[].agent_id) is V(machine:<hostname>/<ip>)).
  returned: success
  type: list
  elements: dict
  contains:
    drain_state:
      description: V(DRAINING), V(DRAINED) or V(null).
      type: str
      returned: with RV(backend=native)
      sample: DRAINED
    machine:
      description: The agent's machine as Mesos' maintenance knows it, its hostname and the IP of its pid.
      type: dict
      returned: with RV(backend=schedule)
      sample: {"hostname": "agent-1.example.com", "ip": "10.0.0.5"}
    mode:
      description: The machine's maintenance mode, V(DRAINING) or V(DOWN).
      type: str
      returned: with RV(backend=schedule)
      sample: DRAINING
    agent_id:
      description: Id of the agent.
      type: str
      returned: always
      sample: 7532e174-d91a-49c4-85e6-389ea9fd73c3-S0
    hostname:
      description: Hostname of the agent.
      type: str
      returned: always
      sample: agent-1.example.com
exists:
  description: Whether every agent asked for with O(agent_id) or O(hostname) is registered (V(true) when none was asked for).
  returned: success
  type: bool
  sample: true
missing:
  description: The ids and hostnames asked for that no registered agent has.
  returned: success
  type: list
  elements: str
  sample: []
agents:
  description: The registered agents (or the ones asked for), in the master's order.
  returned: success
  type: list
  elements: dict
  contains:
    agent_id:
      description: Id of the agent.
      type: str
      returned: always
      sample: 7532e174-d91a-49c4-85e6-389ea9fd73c3-S0
    hostname:
      description: Hostname of the agent.
      type: str
      returned: always
      sample: agent-1.example.com
    active:
      description:
        - Whether the agent is connected to the master.
        - On Mesos 1.9 or later the master also shows a deactivated agent as not active.
      type: bool
      returned: always
      sample: true
    filtered:
      description:
        - V(true) when the agent is filtered, V(false) when not.
        - V(null) for a disconnected agent in the filter list, which the master deactivates by itself, so whether it
          was also filtered cannot be told.
        - With RV(backend=native), the same as RV(agents[].deactivated).
        - With RV(backend=schedule), whether its machine is in the maintenance schedule (RV(agents[].maintenance)).
      type: bool
      returned: always
      sample: true
    deactivated:
      description: Whether an operator deactivated the agent (C(DEACTIVATE_AGENT) or C(DRAIN_AGENT)).
      type: bool
      returned: with RV(backend=native)
      sample: true
    drain_state:
      description: The agent's drain state, V(DRAINING) or V(DRAINED); V(null) when it is not drained.
      type: str
      returned: with RV(backend=native)
      sample: DRAINED
    maintenance:
      description:
        - The maintenance of the agent's machine (Mesos' maintenance primitives).
        - An agent on a DOWN machine is not listed (the master shut it down); RV(filters) has its machine.
      type: dict
      returned: with RV(backend=schedule)
      contains:
        machine:
          description: The agent's machine, its hostname and the IP of its pid; V(null) when the master lists the
            agent without a pid.
          type: dict
          returned: always
          sample: {"hostname": "agent-1.example.com", "ip": "10.0.0.5"}
        mode:
          description:
            - V(UP) (not in the schedule), V(DRAINING) (in a window; the agent still gets offers, which carry the
              window, and the frameworks get inverse offers) or V(DOWN).
            - V(null) when the machine is not known.
          type: str
          returned: always
          sample: DRAINING
        window:
          description: The window that holds the machine, or V(null) when none does.
          type: dict
          returned: always
          contains:
            start:
              description: When the window starts, in unix seconds.
              type: float
              returned: always
              sample: 1700000000.0
            duration:
              description: How long it lasts, in seconds; V(null) when the window has no duration.
              type: float
              returned: always
              sample: 3600.0
        inverse_offers:
          description: The frameworks' latest answers to the inverse offers for the machine (DRAINING only); Mesos
            forgets them on a master failover and whenever the schedule is written.
          type: list
          elements: dict
          returned: always
          contains:
            framework_id:
              description: Id of the framework.
              type: str
              returned: always
              sample: 5e1f8e4a-0c53-4f2a-9d3e-2b0d1c1e7a6b-0000
            status:
              description: V(ACCEPT) or V(DECLINE), as the master reports it.
              type: str
              returned: always
              sample: ACCEPT
            timestamp:
              description: When the framework answered, in unix seconds.
              type: float
              returned: always
              sample: 1700000123.5
          sample: []
      sample: {"machine": {"hostname": "agent-1.example.com", "ip": "10.0.0.5"}, "mode": "DRAINING",
               "window": {"start": 1700000000.0, "duration": 3600.0}, "inverse_offers": []}
    active_tasks:
      description: Tasks in the states C(TASK_STAGING), C(TASK_STARTING), C(TASK_RUNNING) and C(TASK_KILLING).
      type: int
      returned: always
      sample: 2
    tasks:
      description: Task counts by state, as the master reports them; states without a task are left out.
      type: dict
      returned: always
      sample: {"TASK_RUNNING": 2, "TASK_FINISHED": 10}
    resources:
      description: The agent's total resources.
      type: dict
      returned: always
      sample: {"cpus": 4.0, "mem": 15360.0, "disk": 100000.0, "ports": "[31000-32000]"}
requests:
  description: Number of HTTP requests the module sent.
  returned: always
  type: int
  sample: 4
"""

from ansible_collections.mesos.maintenance.plugins.module_utils._argspec import (
    BACKEND_ARGSPEC,
    agent_selection_argspec,
)
from ansible_collections.mesos.maintenance.plugins.module_utils._client import MesosModuleClient
from ansible_collections.mesos.maintenance.plugins.module_utils._errors import MesosError
from ansible_collections.mesos.maintenance.plugins.module_utils._filters import InputError
from ansible_collections.mesos.maintenance.plugins.module_utils._info import read_cluster


def main():
    client = MesosModuleClient(agent_selection_argspec().update_argspec(**BACKEND_ARGSPEC))
    try:
        result = read_cluster(client, client.module.params)
    except InputError as exc:
        client.fail(str(exc), requests=client.request_count)
    except MesosError as exc:
        exc.do_fail(client.module, leader=client.leader, requests=client.request_count)
    finally:
        client.close()
    result['requests'] = client.request_count
    client.module.exit_json(**result)


if __name__ == '__main__':
    main()
