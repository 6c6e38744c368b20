#!/usr/bin/python
# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: maintenance_status
short_description: The Mesos agents, which are out of service, and which run of mesos.maintenance keeps them out
version_added: 1.0.0
description:
  - Reads the cluster once (as M(mesos.maintenance.offer_filter_info)) and the ledger, and returns both, with a
    status table in RV(lines) that the action plugin prints as plain text. It shows each agent, whether it is filtered and
    connected, its active tasks, and the runs that keep it out of service; the holds and their leases; and a
    warning for an agent a run keeps out that is not filtered (its filter was lost), saying why (see RV(lost_filters)).
author:
  - mesos.maintenance maintainers (@mesos-maintenance)
extends_documentation_fragment:
  - mesos.maintenance._mesos
  - mesos.maintenance._backend
  - mesos.maintenance._attributes
  - mesos.maintenance._attributes.info_module
  - mesos.maintenance._attributes.actiongroup_mesos
options:
  hostname:
    description:
      - Only these agents (by hostname). Empty, every agent.
    type: list
    elements: str
    default: []
    aliases: [hostnames]
  ledger_file:
    description:
      - The ledger file (see M(mesos.maintenance.maintenance_drain)).
    type: path
  ledger_zookeeper:
    description:
      - The ledger in ZooKeeper (see M(mesos.maintenance.maintenance_drain)).
    type: str
  ledger_timeout:
    description:
      - Seconds to wait for the ledger's lock.
    type: float
    default: 60
seealso:
  - module: mesos.maintenance.offer_filter_info
"""

EXAMPLES = r"""
- name: What is out of service, and who keeps it out
  mesos.maintenance.maintenance_status:
    master_url: [http://m1:5050]
    ledger_file: ~/.ansible/mesos.maintenance/held-agents.json
  register: status
"""

RETURN = r"""
agents:
  description: The agents, as M(mesos.maintenance.offer_filter_info) returns them.
  returned: always
  type: list
  elements: dict
held:
  description: The hostnames mesos.maintenance keeps out of service, and their owners (run, by, since).
  returned: always
  type: dict
lost_filters:
  description:
    - >-
      The hostnames mesos.maintenance keeps out of service whose registered agent is not filtered, and why the filter
      was lost, such as C(leader changed: filtered at http://m1:5050, the leader is now http://m2:5050) (the allocator
      module keeps filters in the leader's memory on build C(0afdd8b)), C(it re-registered, or someone removed the
      filter), or C(back under a new id (was <old id>)). A hold or a drain puts them back.
  returned: always
  type: dict
  sample: {"agent-3.example.com": "leader changed: filtered at http://m1:5050, the leader is now http://m2:5050"}
holds:
  description: The holds in the ledger, with C(live) telling whether their lease still runs.
  returned: always
  type: dict
runs:
  description: The rolling runs in the ledger.
  returned: always
  type: dict
lines:
  description: The status table, as lines of plain text.
  returned: always
  type: list
  elements: str
leader:
  description: The leading master.
  returned: always
  type: str
backend:
  description: V(allocator), V(native) or V(schedule).
  returned: always
  type: str
"""

from ansible_collections.mesos.maintenance.plugins.module_utils._argspec import BACKEND_ARGSPEC, ArgumentSpec
from ansible_collections.mesos.maintenance.plugins.module_utils._client import MesosModuleClient
from ansible_collections.mesos.maintenance.plugins.module_utils._engine import open_ledger
from ansible_collections.mesos.maintenance.plugins.module_utils._errors import MesosError
from ansible_collections.mesos.maintenance.plugins.module_utils._filters import InputError
from ansible_collections.mesos.maintenance.plugins.module_utils._info import read_cluster
from ansible_collections.mesos.maintenance.plugins.module_utils._ledger import LedgerError
from ansible_collections.mesos.maintenance.plugins.module_utils._rolling import lost_filters, status_lines


def main():
    argspec = ArgumentSpec(
        argument_spec=dict(
            hostname=dict(type='list', elements='str', default=[], aliases=['hostnames']),
            ledger_file=dict(type='path'),
            ledger_zookeeper=dict(type='str', no_log=True),
            ledger_timeout=dict(type='float', default=60.0),
        ),
        mutually_exclusive=[('ledger_file', 'ledger_zookeeper')],
        required_one_of=[('ledger_file', 'ledger_zookeeper')],
    ).update_argspec(**BACKEND_ARGSPEC)
    client = MesosModuleClient(argspec)
    params = client.module.params
    try:
        cluster = read_cluster(client, dict(params, agent_id=[]))
        ledger = open_ledger(params)
        try:
            state = ledger.snapshot()
        finally:
            ledger.close()
    except (InputError, LedgerError) as exc:
        client.fail(str(exc))
    except MesosError as exc:
        exc.do_fail(client.module, leader=client.leader)
    finally:
        client.close()
    wanted = set(params['hostname'])
    held = dict((host, record.get('owners') or {}) for host, record in state.agents.items()
                if not wanted or host in wanted)
    holds = dict((hold_id, dict(hold, live=state.hold_is_live(hold_id))) for hold_id, hold in state.holds.items())
    lost = dict((host, cause) for host, cause in lost_filters(cluster, state).items() if host in held)
    cluster.update(held=held, holds=holds, runs=state.runs, lines=status_lines(cluster, state), lost_filters=lost,
                   requests=client.request_count, ledger=ledger.description)
    client.module.exit_json(**cluster)


if __name__ == '__main__':
    main()
