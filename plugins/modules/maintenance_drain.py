#!/usr/bin/python
# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: maintenance_drain
short_description: Take a batch of Mesos agents out of service for a maintenance, recorded in a shared ledger
version_added: 1.0.0
description:
  - The drain step of the maintenance engine, for the agents named by O(hostname), in one call.
  - Reads the leading master once, then, under the ledger's lock, checks the capacity guard O(max_filtered),
    records this run (O(run_id)) as an owner of each agent, and filters (O(backend=allocator)), deactivates
    or drains (O(backend=native)), or puts into Mesos' maintenance schedule (O(backend=schedule)) the agents that
    are not yet. An agent filtered by someone outside
    mesos.maintenance is left as it is and never owned; an agent another run keeps out gets this run as a second
    owner, so that neither restore puts it back while the other still needs it out.
  - Then waits until the agents run no active task (with O(drain=true), until Mesos reports them C(DRAINED)),
    putting back any filter that disappears. The action plugin in front of the module prints, at least every
    O(progress_interval) seconds, which agents it waits for, their active tasks and frameworks, and the seconds
    left.
  - With a disruption budget (O(max_unavailable_per_group)), the placement of the running tasks is read under the
    same lock, and a drain that would take a service over its budget changes nothing and fails. In a batch of a
    rolling maintenance (O(record_batch)), first waits until the services that the run's last batch touched are
    whole again (O(recovery_timeout)), then takes the agents of the batch that fit, in order, and defers the others
    (RV(deferred)), as tasks may have moved onto them since the batches were planned.
  - With O(hold=true), once the wait is over, starts a hold in the background on the host that runs the module;
    it keeps the agents out of service by hostname until released (M(mesos.maintenance.maintenance_restore) or
    M(mesos.maintenance.maintenance_hold) with O(mesos.maintenance.maintenance_hold#module:state=released)), and
    renews its lease in the ledger at every look.
author:
  - mesos.maintenance maintainers (@mesos-maintenance)
extends_documentation_fragment:
  - mesos.maintenance._mesos
  - mesos.maintenance._backend
  - mesos.maintenance._engine
  - mesos.maintenance._engine.hold
  - mesos.maintenance._budget
  - mesos.maintenance._attributes
  - mesos.maintenance._attributes.actiongroup_mesos
attributes:
  check_mode:
    support: full
    details:
      - Reads the master and the ledger, checks the guard, and reports what would be filtered; writes nothing and
        starts no hold.
  diff_mode:
    support: none
  idempotent:
    support: full
    details:
      - A second run finds every agent taken out by this run and changes nothing.
  action:
    description: Indicates this has a corresponding action plugin so some parts of the options can be executed on
      the controller.
    support: full
    details:
      - An action plugin runs on the controller and calls the module on the delegated host, slice by slice.
options:
  max_filtered:
    description:
      - The capacity guard, as O(mesos.maintenance.offer_filter#module:max_filtered) of
        M(mesos.maintenance.offer_filter). Refuse, before anything is changed, when more agents than this number (or percentage of the registered
        agents, V(20%), rounded down) would be unavailable (filtered, deactivated or disconnected).
      - Not set, no guard.
    type: raw
  wait:
    description:
      - Wait until the agents run no active task (with O(drain=true), until they are drained).
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds the wait may last; the step fails when they are up, and the agents stay out of service.
    type: int
    default: 600
  wait_sleep:
    description:
      - Seconds between two looks at the master while waiting (at least 0.1).
    type: float
    default: 5
  drain:
    description:
      - Only with O(backend=native). Drain with C(DRAIN_AGENT) (Mesos kills the tasks after their grace period)
        instead of deactivating and waiting for the tasks to end by themselves.
    type: bool
    default: false
  drain_grace_period:
    description:
      - With O(drain=true), the seconds each task gets between its kill and a forced kill. Not set, each task's
        own kill policy.
    type: float
  mark_gone:
    description:
      - With O(drain=true), have Mesos mark the drained agents gone. B(Permanent) - the agents can never register
        again under these ids.
    type: bool
    default: false
  window_duration:
    description:
      - Only with O(backend=schedule). How long the maintenance window that the agents' machines are put into
        lasts, in seconds from now, as O(mesos.maintenance.offer_filter#module:window_duration) of
        M(mesos.maintenance.offer_filter). Mesos tells it to the frameworks (inverse offers, and offers that carry it
        as the agents' unavailability); it does not end the maintenance by itself.
      - Not set, V(3600).
      - The drain never marks the machines DOWN (O(mesos.maintenance.offer_filter#module:down)); their agents would
        leave the master and come back under new ids.
    type: float
  unregistered:
    description:
      - What to do with a hostname the master does not know. V(fail) changes nothing and fails; V(skip) leaves it
        out and reports it.
    type: str
    choices: [fail, skip]
    default: fail
  reason:
    description:
      - Why the agents are taken out, recorded in the ledger with the ownership.
    type: str
    default: maintenance
  hold:
    description:
      - Once the wait is over, keep the agents out of service in the background until released (see above).
    type: bool
    default: false
  undo_on_failure:
    description:
      - When the drain fails after it took agents out (a timeout, a master lost), put back the agents this call
        took out for the first time before failing (with M(mesos.maintenance.maintenance_restore)). Off, a failed
        drain leaves them out of service, recorded, for a re-run.
      - Done by the action plugin.
    type: bool
    default: false
  record_batch:
    description:
      - The inventory hosts of the current batch of the rolling maintenance O(run_id)
        (M(mesos.maintenance.maintenance_run)). Record this drain as the start of
        its current batch, for the summary and for a re-run.
      - Empty, the step is no batch of a rolling maintenance.
      - Given in the order of O(hostname) (the inventory host of each agent), so that RV(deferred) can name them.
    type: list
    elements: str
    default: []
  recovery_timeout:
    description:
      - With O(max_unavailable_per_group) and O(record_batch), the seconds to wait, before this batch is taken out,
        until every service the run's last batch touched has as many running tasks as it had before that batch
        (its tasks relaunched elsewhere and C(TASK_RUNNING)), like Aurora's SLA check between batches. The action
        plugin prints the services still short at least every O(progress_interval) seconds. When the time is up
        the step fails and nothing of this batch is changed.
      - V(0) does not wait.
    type: float
    default: 600
seealso:
  - module: mesos.maintenance.maintenance_restore
  - module: mesos.maintenance.maintenance_hold
  - module: mesos.maintenance.offer_filter
  - module: mesos.maintenance.offer_filter_info
"""

EXAMPLES = r"""
- name: Take two agents out, recorded under this change's name
  mesos.maintenance.maintenance_drain:
    master_url: [http://m1:5050, http://m2:5050, http://m3:5050]
    hostname: [web-17.example.com, web-18.example.com]
    run_id: CHG-4711
    ledger_file: ~/.ansible/mesos.maintenance/held-agents.json
    max_filtered: 20%
    wait_timeout: 900
  delegate_to: localhost
  run_once: true

- name: The same, with the ledger in the cluster's ZooKeeper (several AWX nodes share it)
  mesos.maintenance.maintenance_drain:
    master_url: [http://m1:5050]
    hostname: [web-17.example.com]
    run_id: CHG-4711
    ledger_zookeeper: zk://zk1:2181,zk2:2181,zk3:2181/mesos-maintenance
    hold: true
"""

RETURN = r"""
agents:
  description: Each hostname and what the drain found and did with it.
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
      description: V(new) (taken out by this run), V(ours) (this run had taken it out before), V(shared) (another
        run keeps it out too; this run is now also an owner), V(external) (filtered by someone else, left alone),
        V(skipped) (not registered, O(unregistered=skip)).
      type: str
    others:
      description: The other runs that keep it out (C(run), C(by), C(since), C(age)).
      type: list
      elements: dict
    text:
      description: The outcome in words.
      type: str
  sample:
    - {hostname: a1.example.com, agent_ids: [S1], outcome: new, others: [], text: taken out by this run}
added:
  description: The agent ids filtered (or deactivated) by this call.
  returned: always
  type: list
  elements: str
  sample: [a2c3d9a1-...-S1]
hostnames:
  description: The hostnames this run now keeps out of service (every hostname except V(external) and V(skipped)).
  returned: success
  type: list
  elements: str
waiting:
  description: V(true) when the module returned before the wait was over, at the end of a O(progress_interval)
    slice; the action plugin then calls it again.
  returned: success
  type: bool
pending:
  description: What each agent that is still awaited has left (active tasks and their frameworks).
  returned: success
  type: dict
  sample: {a1.example.com: 2 active (marathon)}
active_tasks:
  description: Active tasks of each hostname at the last look.
  returned: when O(wait=true)
  type: dict
reasserted:
  description: How many filters that disappeared while waiting were put back.
  returned: when O(wait=true)
  type: int
waited:
  description: Seconds waited, over every slice.
  returned: when O(wait=true)
  type: float
deferred:
  description: The agents of this batch (as given in O(record_batch), else their hostnames) that the disruption
    budget left for a later pass.
  returned: success
  type: list
  elements: str
phase:
  description: V(recovery) while the step waits for the services of the last batch (with RV(waiting=true)).
  returned: while waiting for the recovery
  type: str
hold:
  description: The id of the hold started, with O(hold=true) outside check mode.
  returned: when a hold was started
  type: str
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

from ansible_collections.mesos.maintenance.plugins.module_utils._argspec import BUDGET_ARGSPEC, HOLD_ARGSPEC, engine_argspec
from ansible_collections.mesos.maintenance.plugins.module_utils._backends import check_backend_options
from ansible_collections.mesos.maintenance.plugins.module_utils._client import MesosModuleClient
from ansible_collections.mesos.maintenance.plugins.module_utils._engine import (
    Drain,
    batch_hosts,
    recovery_slice,
    run_module,
    start_hold,
)
from ansible_collections.mesos.maintenance.plugins.module_utils._filters import InputError, check_hold, check_wait


def drain(step):
    params = step.params
    check_wait(params['wait_timeout'], params['wait_sleep'])
    if params['hold']:
        check_hold(params['hold_interval'], params['hold_timeout'])
    if not params['drain']:
        for option in ('drain_grace_period', 'mark_gone'):
            if params[option] not in (None, False):
                raise InputError('%s applies to drain=true only (Mesos\' own draining, backend=native); nothing was '
                                 'changed' % option)
    check_backend_options(params)  # window_duration only with backend=schedule, drain only with native
    if recovery_due(step):
        start = time.monotonic()
        short = recovery_slice(step, start + params['recovery_timeout'], start + params['progress_interval'])
        if short:
            return dict(waiting=True, phase='recovery', pending=short, hostnames=list(params['hostname']), agents=[],
                        added=[])
    if params['resume_wait']:
        step.connect()
        result = dict(hostnames=list(params['hostname']), agents=[], added=[])
    else:
        if params['record_batch'] and not step.check_mode:
            with step.tx() as state:
                state.batch(step.run, params['record_batch'])
        result = step.run_step()
        result['deferred'] = batch_hosts(params, result['deferred'])
    # Reported now: a wait longer than a slice returns from later calls, which know nothing of the agents.
    step.lines.extend('%s: %s' % (a['hostname'], a['text']) for a in result['agents'])
    hostnames = result['hostnames']
    if params['wait'] and hostnames:
        start = time.monotonic()
        waited = step.wait_slice(hostnames, start + params['wait_timeout'], start + params['progress_interval'])
        result.update(waiting=not waited['done'], pending=waited['pending'], active_tasks=waited['active_tasks'],
                      reasserted=waited['reasserted'], waited=round(time.monotonic() - start, 3))
        if not waited['done']:
            return result
    result['waiting'] = False
    if params['record_batch'] and not step.check_mode:
        with step.tx() as state:
            record = state.batch(step.run, params['record_batch'])
            if record is not None:
                record.update(drain_wait=round(state.now - record['started_ts'], 1), backend=step.backend.name,
                              leader=step.client.leader, build=step.client.build)
                if result['agents']:
                    record['external'] = [a['hostname'] for a in result['agents'] if a['outcome'] == 'external']
    if params['hold'] and hostnames and not step.check_mode:
        result['hold'] = start_hold(step, hostnames)
    return result


def recovery_due(step):
    """Whether this call starts a batch of a rolling run under a disruption budget that waits for recovery."""
    params = step.params
    return bool(params['max_unavailable_per_group'] and params['record_batch'] and params['recovery_timeout'] > 0
                and not params['resume_wait'] and not step.check_mode)


def main():
    argspec = engine_argspec().update_argspec(
        max_filtered=dict(type='raw'),
        wait=dict(type='bool', default=True),
        wait_timeout=dict(type='int', default=600),
        wait_sleep=dict(type='float', default=5.0),
        drain=dict(type='bool', default=False),
        drain_grace_period=dict(type='float'),
        mark_gone=dict(type='bool', default=False),
        window_duration=dict(type='float'),
        unregistered=dict(type='str', default='fail', choices=['fail', 'skip']),
        reason=dict(type='str', default='maintenance'),
        hold=dict(type='bool', default=False),
        record_batch=dict(type='list', elements='str', default=[]),
        undo_on_failure=dict(type='bool', default=False),
        recovery_timeout=dict(type='float', default=600.0),
        **dict(HOLD_ARGSPEC, **BUDGET_ARGSPEC)
    )
    client = MesosModuleClient(argspec)
    run_module(client, Drain, drain)


if __name__ == '__main__':
    main()
