#!/usr/bin/python
# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: maintenance_run
short_description: Plan, record and summarise a rolling maintenance of Mesos agents in the shared ledger
version_added: 1.0.0
description:
  - The bookkeeping of a rolling maintenance (the playbook C(mesos.maintenance.rolling_maintenance)), in the same
    ledger as the drains and restores, so that a re-run picks up where a failed or killed run stopped.
  - O(state=started) plans the run. An unfinished run of exactly the same agents is resumed under its id (the
    agents it restored are not taken again); otherwise a new run id is made. The batch size (O(serial)) is checked
    against the capacity guard O(max_filtered) with the agents already unavailable, before anything changes.
  - With O(batching=budget), the agents are packed into batches of at most O(serial) agents such that no batch
    takes any service over its disruption budget (O(max_unavailable_per_group)), from the placement of the running
    tasks read now; with O(group_by_attribute), a batch holds agents of one value of that agent attribute (one
    rack at a time). RV(todo) is then in the order of the batches and RV(serial) gives their sizes. Agents that no
    batch can take, even alone, are refused before anything changes. In check mode, RV(lines) has the plan, each
    batch with its agents and the services it touches with their budget use.
  - O(state=failed) records the current batch of the run as failed (it stays out of service) and fails, with the
    summary; O(state=finished) closes the run and returns the summary. The summary is returned in RV(lines), which
    the action plugin prints as plain text.
author:
  - mesos.maintenance maintainers (@mesos-maintenance)
extends_documentation_fragment:
  - mesos.maintenance._mesos
  - mesos.maintenance._backend
  - mesos.maintenance._engine
  - mesos.maintenance._budget
  - mesos.maintenance._attributes
  - mesos.maintenance._attributes.actiongroup_mesos
attributes:
  check_mode:
    support: full
    details:
      - Plans and reports; writes nothing to the ledger.
  diff_mode:
    support: none
  idempotent:
    support: partial
    details:
      - O(state=started) resumes the same run; O(state=failed) and O(state=finished) record what happened.
options:
  state:
    description:
      - V(started) plans the run (see above); V(failed) records its current batch as failed; V(finished) closes it.
    type: str
    choices: [started, failed, finished]
    required: true
  serial:
    description:
      - With O(state=started), the batch size, as a number of agents, or a percentage of the agents still to do
        (rounded down, at least 1).
    type: str
    default: '1'
  max_filtered:
    description:
      - With O(state=started), the capacity guard the batches must fit in (see M(mesos.maintenance.maintenance_drain)).
    type: raw
  resume:
    description:
      - With O(state=started), resume an unfinished run of the same agents. V(false) starts a new run.
    type: bool
    default: true
  maintenance:
    description:
      - With O(state=started), what each batch runs (a tasks file or a role), recorded with the run and returned
        in RV(maintenance).
    type: str
    default: ''
  rehearsal:
    description:
      - With O(state=started), say in the plan's line that this run is a rehearsal (the playbook runs a pause on the
        controller instead of the maintenance, so no agent host is contacted). Nothing else changes; the batches are
        drained and restored as in the real run.
    type: bool
    default: false
    version_added: 1.0.0
  batching:
    description:
      - With O(state=started), how the agents are put into batches. V(serial), in the order given, O(serial) at a
        time. V(budget), planned around the disruption budget O(max_unavailable_per_group) (required then), see
        above.
    type: str
    choices: [serial, budget]
    default: serial
  group_by_attribute:
    description:
      - With O(state=started), the name of an agent attribute (such as V(rack)). A batch holds agents of one value
        of it, as Aurora's C(--grouping). Agents without it are batched together. Works with either O(batching).
    type: str
  status:
    description:
      - With O(state=finished), end the summary with the status table of the whole cluster, as
        M(mesos.maintenance.maintenance_status) prints it.
    type: bool
    default: false
  agents:
    description:
      - The hostnames the agents of O(hostname) registered with, in the same order, when they differ from the
        inventory names in O(hostname). Empty, the same names.
    type: list
    elements: str
    default: []
  error:
    description:
      - With O(state=failed), why the batch failed.
    type: str
    default: failed
seealso:
  - module: mesos.maintenance.maintenance_drain
  - module: mesos.maintenance.maintenance_restore
"""

EXAMPLES = r"""
- name: Plan the rolling maintenance
  mesos.maintenance.maintenance_run:
    state: started
    hostname: "{{ groups['mesos_agents'] }}"
    run_id: "rolling-{{ now(utc=true, fmt='%Y%m%dT%H%M%S') }}"
    ledger_file: ~/.ansible/mesos.maintenance/held-agents.json
    serial: 10%
    max_filtered: 20%
  register: plan
"""

RETURN = r"""
run_id:
  description: The run's id; the id of the resumed run when one was resumed.
  returned: always
  type: str
resumed:
  description: Whether an unfinished run of the same agents was resumed.
  returned: with O(state=started)
  type: bool
todo:
  description: The agents still to do, in the order given.
  returned: with O(state=started)
  type: list
  elements: str
done:
  description: The agents an earlier attempt of this run restored.
  returned: with O(state=started)
  type: list
  elements: str
batch:
  description: The largest batch, in agents.
  returned: with O(state=started)
  type: int
serial:
  description: The batch sizes, in order, for a play's C(serial) (with O(batching=serial), one size, repeated).
  returned: with O(state=started)
  type: list
  elements: int
batches:
  description: With O(batching=budget) or O(group_by_attribute), the planned batches, as lists of O(hostname)
    entries.
  returned: with O(state=started)
  type: list
  elements: list
maintenance:
  description: What each batch runs, as given in O(maintenance).
  returned: with O(state=started)
  type: str
lines:
  description: The plan (O(state=started)) or the summary, as lines of plain text.
  returned: always
  type: list
  elements: str
run:
  description: The run's record in the ledger (its batches, done and failed agents).
  returned: always
  type: dict
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
"""

import random
import socket
import time

from ansible_collections.mesos.maintenance.plugins.module_utils._argspec import BUDGET_ARGSPEC, engine_argspec
from ansible_collections.mesos.maintenance.plugins.module_utils._budget import (
    Budget,
    blocked_error,
    describe_budget,
    out_of_service,
    parse_budget,
    plan_batches,
    plan_lines,
    read_placement,
)
from ansible_collections.mesos.maintenance.plugins.module_utils._client import MesosModuleClient
from ansible_collections.mesos.maintenance.plugins.module_utils._engine import Step, process_alive, run_module
from ansible_collections.mesos.maintenance.plugins.module_utils._errors import name_list
from ansible_collections.mesos.maintenance.plugins.module_utils._filters import (
    InputError,
    parse_max_filtered,
    validate_names,
)
from ansible_collections.mesos.maintenance.plugins.module_utils._info import read_cluster
from ansible_collections.mesos.maintenance.plugins.module_utils._rolling import (
    batch_size,
    capacity_error,
    status_lines,
    summary_lines,
)


def unavailable_agents(snapshot, state):
    """The agents out of service that this plan does not account for: filtered or disconnected, and not kept out
    by mesos.maintenance (those are either in the plan or another run's business)."""
    result = []
    for agent_id, slave in snapshot.agents.by_id.items():
        host = slave.get('hostname')
        if state.held_by_us(host):
            continue
        if agent_id in snapshot.filtered_ids or not snapshot.agents.is_active(agent_id):
            result.append('%s (%s)' % (host, 'disconnected' if not snapshot.agents.is_active(agent_id) else 'filtered'))
    held = sum(1 for host in state.agents if state.held_by_us(host))
    return sorted(result), len(snapshot.agents), held


def refuse_a_live_run(run_id, run, controller_pid):
    """Two ansible-playbook processes must not share a run: the second would restore what the first maintains."""
    controller = run.get('controller') or {}
    pid = controller.get('pid')
    if pid and pid != controller_pid and controller.get('host') == socket.gethostname() and process_alive(pid):
        raise InputError('the rolling maintenance %s of these agents is running now (ansible-playbook pid %d on %s, '
                         'started %s): wait until it ends, or set mesos_maintenance_resume=false to start a separate '
                         'run. Nothing was changed.' % (run_id, pid, controller['host'], run.get('started')))


def start(step):
    params = step.params
    targets = validate_names(params['hostname'], 'hostname')
    guard = parse_max_filtered(params.get('max_filtered'))
    with step.tx() as state:
        run_id = state.find_run(targets) if params['resume'] else None
        resumed = run_id is not None
        if not resumed:
            run_id = 'rolling-%s-%04x' % (time.strftime('%Y%m%dT%H%M%SZ', time.gmtime()), random.randint(0, 0xffff))
        run = state.runs.get(run_id) or {}
        done = [h for h in run.get('done') or [] if h in targets]
        todo = [h for h in targets if h not in done]
        batch = batch_size(params['serial'], len(todo))
        snapshot = step.connect().read()
        unavailable, total, held = unavailable_agents(snapshot, state)
        error = capacity_error(batch, unavailable, guard, params.get('max_filtered'), total) if todo else None
        if error:
            raise InputError(error)
        batches, plan = plan_batches_of(step, todo, batch, snapshot)
        todo = [host for hosts in batches for host in hosts]
        earlier = None
        if resumed:
            refuse_a_live_run(run_id, run, params.get('controller_pid'))
        if not step.check_mode:
            if resumed:
                earlier = state.resume_run(run_id)
            else:
                state.start_run(run_id, targets)
            state.runs[run_id]['controller'] = {'host': socket.gethostname(), 'pid': params.get('controller_pid')}
            state.runs[run_id]['done_before'] = list(done)
            state.runs[run_id]['maintenance'] = params['maintenance']
            state.runs[run_id]['failed'] = []
            state.runs[run_id]['deferred'] = []
            run = state.runs[run_id]
    step.run = run_id
    if resumed:
        line = ('Resuming the rolling maintenance %s started %s: %d agent(s) already done, %d to do in batches of %d'
                % (run_id, run.get('started'), len(done), len(todo), batch))
    else:
        line = 'Rolling maintenance %s: %d agent(s) to do in batches of %d' % (run_id, len(todo), batch)
    if earlier:
        line += '; its batch %d (%s) %s' % (earlier['number'], name_list(earlier['hosts']),
                                            earlier.get('error') or 'failed')
    if held:
        line += '; %d agent(s) already kept out by mesos.maintenance' % held
    if plan:
        line += '; %d batch(es) planned (%s)' % (len(batches), plan[0])
    if params['rehearsal']:
        line += '; a rehearsal: each batch pauses on the controller instead of its maintenance, no agent host is contacted'
    if step.check_mode:
        line += ' (check mode: nothing will be changed)'
    serial = [len(hosts) for hosts in batches] if plan else [batch]
    return dict(changed=not step.check_mode and not resumed, run_id=run_id, resumed=resumed, todo=todo, done=done,
                batch=max(serial) if todo else batch, serial=serial, batches=batches if plan else [],
                maintenance=params['maintenance'], lines=[line + '.'] + (plan[1:] if step.check_mode else []),
                run=run)


def plan_batches_of(step, todo, size, snapshot):
    """The batches of ``todo``: in order, ``size`` at a time, or (batching=budget, group_by_attribute) planned from
    the placement of the running tasks. Returns the batches and, for a planned one, its description (a headline,
    then one line per batch)."""
    params = step.params
    budget = parse_budget(params['max_unavailable_per_group'])
    attribute = params['group_by_attribute']
    if params['batching'] == 'budget' and not budget:
        raise InputError('batching=budget plans the batches around a disruption budget: set max_unavailable_per_group '
                         '(a number of tasks, or a percentage of the running tasks of each service). Nothing was changed.')
    if params['batching'] == 'serial' and not attribute:
        return [todo[n:n + size] for n in range(0, len(todo), size)], []
    agents = params['agents'] or params['hostname']
    if len(agents) != len(params['hostname']):
        raise InputError('agents must name the agent of each entry of hostname, in the same order (%d for %d)'
                         % (len(agents), len(params['hostname'])))
    agent_of = dict(zip(params['hostname'], agents))
    inventory_of = dict(zip(agents, params['hostname']))
    placement = read_placement(step.client, params['group_by'])
    rules = Budget(budget if params['batching'] == 'budget' else None, placement)
    out = out_of_service(placement, snapshot)
    planned, blocked = plan_batches([agent_of[h] for h in todo], rules, out, size, attribute)
    if blocked:
        raise InputError(blocked_error(blocked, rules))
    batches = [[inventory_of[h] for h in b['hosts']] for b in planned]
    headline = 'batches of at most %d%s%s' % (
        size, (', max_unavailable_per_group=%s by %s' % (describe_budget(budget), placement.group_by))
        if rules.parsed else '', (', one %s at a time' % attribute) if attribute else '')
    return batches, [headline] + plan_lines(planned, rules, attribute)


def record(step):
    params = step.params
    with step.tx() as state:
        if step.run not in state.runs:
            if not step.check_mode:
                raise InputError('no rolling run %s in the %s' % (step.run, step.ledger.description))
            # The plan records nothing in check mode: summarise the planned agents (O(hostname)), never written.
            state.start_run(step.run, params['hostname'])
        failed_hosts = params['hostname']
        if params['state'] == 'failed':
            # The batch's own record names all its hosts; ansible_play_batch may have lost some to the failure.
            failed_hosts = (state.end_batch(step.run, params['hostname'], 'failed', error=params['error'])
                            or {}).get('hosts') or failed_hosts
        run = state.runs[step.run]
        left = [h for h in run.get('deferred') or [] if h not in (run.get('done') or [])]
        finished = params['state'] == 'finished' and not run.get('failed') and not left
        if finished and not step.check_mode:
            state.finish_run(step.run)
        lines = summary_lines(run, check_mode=step.check_mode, finished=finished)
        if finished:
            del state.runs[step.run]
    if params['state'] == 'failed':
        step.changed = True
        step.lines.extend(lines)
        raise InputError('The batch %s failed (%s); it stays out of service and later batches were not touched. Fix '
                         'the cause and run the same command again: it picks up at this batch.'
                         % (name_list(failed_hosts), params['error']))
    if params['status'] and params['state'] == 'finished':
        # One task for the summary and the status table at the end of a run: no separate step to print.
        lines = lines + status_lines(read_cluster(step.client, dict(params, agent_id=[], hostname=[])),
                                     step.ledger.snapshot())
    if left and params['state'] == 'finished':
        step.lines.extend(lines)
        raise InputError('%d agent(s) were deferred by the disruption budget and not done: %s. Run the same command '
                         'again: it resumes this run with them.' % (len(left), name_list(left)))
    return dict(changed=False, run_id=step.run, lines=lines, run=run)


def run_step(step):
    if step.params['state'] == 'started':
        return start(step)
    return record(step)


def main():
    argspec = engine_argspec().update_argspec(
        state=dict(type='str', required=True, choices=['started', 'failed', 'finished']),
        serial=dict(type='str', default='1'),
        max_filtered=dict(type='raw'),
        resume=dict(type='bool', default=True),
        maintenance=dict(type='str', default=''),
        rehearsal=dict(type='bool', default=False),
        error=dict(type='str', default='failed'),
        batching=dict(type='str', default='serial', choices=['serial', 'budget']),
        status=dict(type='bool', default=False),
        group_by_attribute=dict(type='str'),
        agents=dict(type='list', elements='str', default=[]),
        **BUDGET_ARGSPEC
    )
    client = MesosModuleClient(argspec)
    run_module(client, Step, run_step)


if __name__ == '__main__':
    main()
