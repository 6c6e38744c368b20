#!/usr/bin/python
# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: maintenance_restore
short_description: Put a batch of Mesos agents back into service, unless another run still keeps them out
version_added: 1.0.0
description:
  - The restore step of the maintenance engine, for the agents named by O(hostname), in one call.
  - First ends this run's holds of these agents, and any hold whose lease ran out (its run died); never a live hold
    of another run. Then waits until every agent is registered and active (O(registration_timeout)), keeping the
    ones already back out of service; the action plugin prints, at least every O(progress_interval) seconds, which
    agents it waits for and the seconds left.
  - Then, under the ledger's lock, removes this run's ownership of each agent and puts it back into service only
    when no other run still keeps it out. An agent that another run keeps out stays out, and the report names that
    run and how long it has kept it; an agent filtered by someone outside mesos.maintenance stays filtered.
    O(force=true) puts them back anyway and says whose ownership it overrode.
  - The agents it puts back go back in one change where the backend allows it (O(backend=schedule) writes the
    maintenance schedule once for the whole call); the other backends remove one filter or reactivate one agent at
    a time.
author:
  - mesos.maintenance maintainers (@mesos-maintenance)
extends_documentation_fragment:
  - mesos.maintenance._mesos
  - mesos.maintenance._backend
  - mesos.maintenance._engine
  - mesos.maintenance._attributes
  - mesos.maintenance._attributes.actiongroup_mesos
attributes:
  check_mode:
    support: full
    details:
      - Reads the master and the ledger and reports what would be put back; ends no hold and writes nothing.
  diff_mode:
    support: none
  idempotent:
    support: full
    details:
      - A second run finds nothing of this run's left and changes nothing.
  action:
    description: Indicates this has a corresponding action plugin so some parts of the options can be executed on
      the controller.
    support: full
    details:
      - An action plugin runs on the controller and calls the module on the delegated host, slice by slice.
options:
  force:
    description:
      - Put the agents back even when another run keeps them out, or when someone outside mesos.maintenance
        filtered them. The ownership of the other runs is removed, and the report names it.
    type: bool
    default: false
  registration_timeout:
    description:
      - Seconds to wait for every agent to be registered and active before restoring. V(0) looks once.
    type: float
    default: 0
  registration_sleep:
    description:
      - Seconds between two looks while waiting for the agents (at least 0.1).
    type: float
    default: 5
  unregistered:
    description:
      - What to do when an agent is still not back at the end of the wait. V(fail) puts nothing back and fails;
        V(skip) puts back the others and leaves it out of service, recorded, for a later restore.
    type: str
    choices: [fail, skip]
    default: fail
  release_holds:
    description:
      - End this run's holds of these agents (and the holds whose lease ran out) before anything else.
    type: bool
    default: true
  record_batch:
    description:
      - The inventory hosts of the current batch of the rolling maintenance O(run_id)
        (M(mesos.maintenance.maintenance_run)) that are still in the play. A host of the batch that is no longer
        there (unreachable, or failed) fails the batch, and nothing is put back. Otherwise record the hostnames as
        done in it,
        so that a re-run does not take them again.
      - Empty, the step is no batch of a rolling maintenance.
    type: list
    elements: str
    default: []
  batch_errors:
    description:
      - Failures of the batch's maintenance, by host. When there is any, nothing is put back and the step fails
        naming them; the batch stays out of service (and its hold keeps it out) for a re-run to pick up.
    type: dict
    default: {}
seealso:
  - module: mesos.maintenance.maintenance_drain
  - module: mesos.maintenance.maintenance_hold
"""

EXAMPLES = r"""
- name: Put two agents back once they have re-registered
  mesos.maintenance.maintenance_restore:
    master_url: [http://m1:5050, http://m2:5050, http://m3:5050]
    hostname: [web-17.example.com, web-18.example.com]
    run_id: CHG-4711
    ledger_file: ~/.ansible/mesos.maintenance/held-agents.json
    registration_timeout: 900
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
agents:
  description: Each hostname and what the restore did with it.
  returned: always
  type: list
  elements: dict
  contains:
    hostname:
      description: The hostname.
      type: str
    agent_ids:
      description: The agent ids registered under it.
      type: list
      elements: str
    outcome:
      description: V(restored), V(kept_shared) (another run keeps it out), V(kept_external) (filtered by someone
        else), V(not_filtered), or V(not_restored) (not back).
      type: str
    others:
      description: The other runs that keep it out (C(run), C(by), C(since), C(age)).
      type: list
      elements: dict
    text:
      description: The outcome in words.
      type: str
restored:
  description: The hostnames put back into service.
  returned: success
  type: list
  elements: str
not_restored:
  description: The hostnames still away at the end of the wait, and why.
  returned: success
  type: dict
holds:
  description: The holds ended first (C(ended)), what they put back during the maintenance (C(reasserted)), their
    errors, and the live holds of other runs on these agents, left running (C(others)).
  returned: when O(release_holds=true)
  type: dict
waiting:
  description: V(true) when the module returned before the agents were back, at the end of a O(progress_interval)
    slice; the action plugin then calls it again.
  returned: success
  type: bool
pending:
  description: The agents still awaited, and why.
  returned: success
  type: dict
run_id:
  description: The run that acted.
  returned: always
  type: str
ledger:
  description: Which ledger was used (a ZooKeeper URL without its secret).
  returned: always
  type: str
leader:
  description: The leading master.
  returned: always
  type: str
backend:
  description: V(allocator), V(native) or V(schedule).
  returned: always
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
  description: A report for people, one line per agent.
  returned: always
  type: list
  elements: str
"""

import time

from ansible_collections.mesos.maintenance.plugins.module_utils._argspec import engine_argspec
from ansible_collections.mesos.maintenance.plugins.module_utils._client import MesosModuleClient
from ansible_collections.mesos.maintenance.plugins.module_utils._engine import (
    Restore,
    batch_hosts,
    release_holds,
    run_module,
)
from ansible_collections.mesos.maintenance.plugins.module_utils._errors import name_list
from ansible_collections.mesos.maintenance.plugins.module_utils._filters import InputError, check_wait, validate_names


def restore(step):
    params = step.params
    hostnames = validate_names(params['hostname'], 'hostname')
    check_wait(params['registration_timeout'], params['registration_sleep'], 'registration')
    result = dict(agents=[], restored=[], not_restored={})
    errors = dict(params['batch_errors'])
    if params['record_batch']:
        with step.tx() as state:
            batch = state.batch(step.run, params['record_batch'])
            # The drain deferred these (a disruption budget): they were never taken out, and were not maintained.
            deferred = set((state.runs.get(step.run) or {}).get('deferred') or []) - set((batch or {}).get('hosts') or [])
            hostnames = [host for host, name in zip(hostnames, batch_hosts(params, hostnames)) if name not in deferred]
            for host in (batch or {}).get('hosts') or []:
                if host not in params['record_batch'] and host not in errors:
                    errors[host] = 'dropped from the play (it did not answer, or failed outside the maintenance)'
    if errors:
        raise InputError('the maintenance of the batch failed (%s): nothing was put back; the batch stays out of '
                         'service' % name_list(sorted(errors.items()), lambda item: '%s: %s' % item, '; '))
    if params['release_holds'] and not params['resume_wait'] and not step.check_mode:
        result['holds'] = release_holds(step, hostnames)
    start = time.monotonic()
    waited = step.wait_slice(hostnames, start + params['registration_timeout'], start + params['progress_interval'])
    if not waited['done']:
        result.update(waiting=True, pending=waited['away'])
        return result
    away = waited['away']
    result.update(waiting=False, pending={}, not_restored=away)
    if away and params['unregistered'] == 'fail':
        raise InputError('not back after %ss: %s. Nothing was put back; they all stay out of service. Run the '
                         'restore again once they are back, or set unregistered=skip to put back the others'
                         % (params['registration_timeout'], name_list(sorted(away.items()), lambda item: '%s: %s' % item, '; ')))
    agents = step.unfilter_back(hostnames, waited['snapshot'], away)
    result['agents'] = agents
    result['restored'] = [a['hostname'] for a in agents if a['outcome'] in ('restored', 'not_filtered')]
    if params['record_batch'] and not step.check_mode:
        holds = result.get('holds') or {}
        kept = [a['hostname'] for a in agents if a['outcome'] in ('kept_external', 'kept_shared')]
        with step.tx() as state:
            state.end_batch(step.run, params['record_batch'], 'restored', held=holds.get('reasserted') or [],
                            hold_errors=holds.get('errors') or [], not_restored=away,
                            restore_leader=step.client.leader, external=kept)
    step.lines.extend('%s: %s' % (a['hostname'], a['text']) for a in agents)
    return result


def main():
    argspec = engine_argspec().update_argspec(
        force=dict(type='bool', default=False),
        registration_timeout=dict(type='float', default=0.0),
        registration_sleep=dict(type='float', default=5.0),
        unregistered=dict(type='str', default='fail', choices=['fail', 'skip']),
        release_holds=dict(type='bool', default=True),
        record_batch=dict(type='list', elements='str', default=[]),
        batch_errors=dict(type='dict', default={}),
    )
    client = MesosModuleClient(argspec)
    run_module(client, Restore, restore)


if __name__ == '__main__':
    main()
