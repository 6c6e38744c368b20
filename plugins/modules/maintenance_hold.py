#!/usr/bin/python
# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: maintenance_hold
short_description: Start or release the background hold that keeps a run's Mesos agents out of service
version_added: 1.0.0
description:
  - O(state=started) starts a hold of the agents of O(hostname) that this run (O(run_id)) keeps out of service, in
    a process of its own on the host that runs the module, and returns once its first look at the master is done.
    Every O(hold_interval) seconds the hold filters again any agent id of those hostnames that is registered but
    not filtered (an agent back under a new id, a filter lost to a re-registration or a leader failover), and
    renews its lease in the ledger. It ends when released, when its run no longer keeps any of its agents out, or
    after O(hold_timeout) seconds.
  - O(state=released) ends this run's holds of these agents (of every agent when O(hostname) is empty) and any
    hold whose lease ran out (its run died), waits until they have ended, and returns what they put back. A live
    hold of another run is never ended; it is reported.
author:
  - mesos.maintenance maintainers (@mesos-maintenance)
extends_documentation_fragment:
  - mesos.maintenance._mesos
  - mesos.maintenance._backend
  - mesos.maintenance._engine
  - mesos.maintenance._engine.hold
  - mesos.maintenance._attributes
  - mesos.maintenance._attributes.actiongroup_mesos
attributes:
  check_mode:
    support: full
    details:
      - Reports what would be held or released; starts and ends nothing.
  diff_mode:
    support: none
  idempotent:
    support: partial
    details:
      - Each O(state=started) starts a hold; O(state=released) with nothing to release changes nothing.
options:
  state:
    description:
      - V(started) or V(released).
    type: str
    choices: [started, released]
    default: started
seealso:
  - module: mesos.maintenance.maintenance_drain
  - module: mesos.maintenance.maintenance_restore
  - module: mesos.maintenance.offer_filter_hold
"""

EXAMPLES = r"""
- name: Keep the batch out of service while it reboots
  mesos.maintenance.maintenance_hold:
    master_url: [http://m1:5050]
    hostname: [web-17.example.com]
    run_id: CHG-4711
    ledger_file: ~/.ansible/mesos.maintenance/held-agents.json
    state: started

- name: Release it
  mesos.maintenance.maintenance_hold:
    master_url: [http://m1:5050]
    hostname: [web-17.example.com]
    run_id: CHG-4711
    ledger_file: ~/.ansible/mesos.maintenance/held-agents.json
    state: released
"""

RETURN = r"""
hold:
  description: The id of the hold started.
  returned: with O(state=started), when a hold was started
  type: str
held:
  description: The hostnames the hold keeps out of service (those this run keeps out).
  returned: with O(state=started)
  type: list
  elements: str
holds:
  description: With O(state=released), the holds ended (C(ended)), what they put back during the maintenance
    (C(reasserted)), their errors, and the live holds of other runs left running (C(others)).
  returned: with O(state=released)
  type: dict
run_id:
  description: The run.
  returned: always
  type: str
ledger:
  description: Which ledger was used (a ZooKeeper URL without its secret).
  returned: always
  type: str
leader:
  description: The leading master.
  returned: when it was asked
  type: str
backend:
  description: V(allocator), V(native) or V(schedule).
  returned: when the master was asked
  type: str
build:
  description: The allocator module build, when known.
  returned: always
  type: str
requests:
  description: HTTP requests sent.
  returned: always
  type: int
actions:
  description: What was done, in words.
  returned: always
  type: list
  elements: str
lines:
  description: A report for people.
  returned: always
  type: list
  elements: str
"""

from ansible_collections.mesos.maintenance.plugins.module_utils._argspec import HOLD_ARGSPEC, engine_argspec
from ansible_collections.mesos.maintenance.plugins.module_utils._client import MesosModuleClient
from ansible_collections.mesos.maintenance.plugins.module_utils._engine import (
    Step,
    release_holds,
    run_module,
    start_hold,
)
from ansible_collections.mesos.maintenance.plugins.module_utils._filters import check_hold, validate_names


def hold(step):
    params = step.params
    hostnames = validate_names(params['hostname'], 'hostname')
    if params['state'] == 'released':
        if step.check_mode:
            return dict(changed=False, holds={})
        holds = release_holds(step, hostnames)
        return dict(changed=bool(holds['ended']), holds=holds)
    check_hold(params['hold_interval'], params['hold_timeout'])
    with step.tx() as state:
        held = [host for host in hostnames if state.is_ours(step.run, host)]
    if not held or step.check_mode:
        return dict(changed=False, held=held)
    step.connect()
    return dict(changed=True, held=held, hold=start_hold(step, held))


def main():
    argspec = engine_argspec().update_argspec(
        state=dict(type='str', default='started', choices=['started', 'released']),
        **HOLD_ARGSPEC
    )
    client = MesosModuleClient(argspec)
    run_module(client, Step, hold)


if __name__ == '__main__':
    main()
