# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""One read of the cluster as offer_filter_info reports it (also the status of the maintenance engine)."""

from __future__ import annotations

from ansible_collections.mesos.maintenance.plugins.module_utils._backends import select_backend
from ansible_collections.mesos.maintenance.plugins.module_utils._filters import AgentIndex, validate_names


def read_cluster(client, params):
    """What offer_filter_info returns: the leader, the backend, the filters and the agents (all, or those named by
    ``params['agent_id']`` and ``params['hostname']``)."""
    agent_ids = validate_names(params['agent_id'], 'agent_id')
    hostnames = validate_names(params['hostname'], 'hostname')
    client.get_leader()
    backend = select_backend(client, params['backend'])
    slaves, filters = backend.inventory()
    filtered_ids = set(f['agent_id'] for f in filters)
    missing = []
    if agent_ids or hostnames:
        index = AgentIndex(slaves)
        wanted = set()
        for aid in agent_ids:
            if aid in index.by_id:
                wanted.add(aid)
            else:
                missing.append(aid)
        for host in hostnames:
            ids = index.ids_by_hostname.get(host)
            if ids:
                wanted.update(ids)
            else:
                missing.append(host)
        slaves = [s for s in slaves if s.get('id') in wanted]
    slaves = [s for s in slaves if isinstance(s, dict) and 'id' in s]
    agents = [backend.agent_report(s, filtered_ids) for s in slaves]
    return dict(
        changed=False,
        leader=client.leader,
        build=client.build,
        backend=backend.name,
        filters=filters,
        agents=agents,
        exists=not missing,
        missing=missing,
    )
