# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The maintenance engine: drain, hold and restore of a batch of agents, by hostname, with the ledger.

Each step reads the master once, decides under the ledger's lock, changes what it decided, and records it in the
same transaction; the waits (tasks ending, agents coming back) run outside the lock, one slice at a time, so that
the action plugin in front of the module can tell the operator what it waits for between slices.

A hostname is the unit: the agent registered under it may change its id (a wiped work directory), and the ledger
records hostnames. With several ids under one hostname (a stale disconnected one and a new one), all are acted on.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import select
import socket
import time

from ansible_collections.mesos.maintenance.plugins.module_utils._backends import (
    ALREADY_BACK,
    UNFILTERED_ANSWER_LOST,
    select_backend,
)
from ansible_collections.mesos.maintenance.plugins.module_utils._budget import (
    Budget,
    fit,
    out_of_service,
    parse_budget,
    parse_group_by,
    read_placement,
    shortfall,
    shortfall_text,
)
from ansible_collections.mesos.maintenance.plugins.module_utils._client import STATE_SUMMARY_PATH, MesosClientBase
from ansible_collections.mesos.maintenance.plugins.module_utils._errors import MesosError, name_list, not_a_master
from ansible_collections.mesos.maintenance.plugins.module_utils._filters import (
    InputError,
    Plan,
    active_task_count,
    check_max_filtered,
    describe_agent,
    framework_problem,
    parse_max_filtered,
    validate_names,
)
from ansible_collections.mesos.maintenance.plugins.module_utils._hold import (
    HoldTracker,
    keep_errors,
    look_once,
    lost_filter_cause,
)
from ansible_collections.mesos.maintenance.plugins.module_utils._ledger import (
    FileStore,
    Ledger,
    LedgerError,
    ZooKeeperStore,
)

# What a drain found for each hostname.
NEW = 'new'              # nobody kept it out: this run filters it and owns it
OURS = 'ours'            # this run took it out before (a resumed run, a second drain)
SHARED = 'shared'        # another run keeps it out too: this run becomes a second owner
EXTERNAL = 'external'    # filtered by someone outside mesos.maintenance: left as it is, never owned
SKIPPED = 'skipped'      # not registered with the master, unregistered=skip
DEFERRED = 'deferred'    # a batch's agent the disruption budget leaves for a later pass (tasks moved onto it)

OUTCOME_TEXT = {
    NEW: 'taken out by this run',
    OURS: 'already taken out by this run (an earlier attempt), kept',
    SHARED: 'already taken out by another run (%s), now also by this one',
    EXTERNAL: 'already filtered by someone else: left as it is, the restore will not unfilter it',
    SKIPPED: 'not registered with the master, skipped',
    DEFERRED: 'deferred to a later pass: tasks moved onto it since the plan, and taking it out now would take a '
              'service over its disruption budget',
}
CHECK_MODE_TEXT = {
    NEW: 'check mode: would be taken out by this run',
    SHARED: 'already taken out by another run (%s); check mode: would be taken out by this one too',
}


class StepError(MesosError):
    """A step that failed after deciding: ``result`` says what was done before it failed."""


def hostnames_of(params):
    names = validate_names(params['hostname'], 'hostname')
    if not names:
        raise InputError('hostname is empty: name the agents (by the hostname they registered with)')
    return names


def backend_for(client, params):
    # Every step decides on reads made under the ledger's lock, after this: none may reuse the probe of auto.
    return select_backend(client, params['backend'], params, keep_probe=False)


def frameworks_by_agent(client):
    """{agent id: [framework names]} from one /master/state-summary read (for progress lines)."""
    try:
        body = client.get_json(STATE_SUMMARY_PATH)
    except MesosError:
        return {}
    frameworks = body.get('frameworks') if isinstance(body, dict) and isinstance(body.get('frameworks'), list) else []
    problem = framework_problem(frameworks)
    if problem:
        raise not_a_master('GET %s%s' % (client.leader, STATE_SUMMARY_PATH), problem)
    result = {}
    for framework in frameworks:
        if not isinstance(framework, dict):
            continue
        for agent_id in framework.get('slave_ids') or []:
            result.setdefault(agent_id, []).append(str(framework.get('name') or framework.get('id')))
    return result


class Step(object):
    """What every step shares: the client, the backend, the ledger, the run, the report."""

    def __init__(self, client, ledger, params, check_mode=False, clock=time.monotonic, sleep=time.sleep):
        self.client = client
        self.ledger = ledger
        self.params = params
        self.check_mode = check_mode
        self.run = params['run_id']
        self.backend = None
        self.lines = []
        self.actions = []
        self.changed = False
        # {hostname: why its filter was lost} for the filters this step put back.
        self.lost = {}
        self._clock = clock
        self._sleep = sleep

    def tx(self):
        """A ledger transaction; in check mode nothing it changes is written."""
        return self.ledger.transaction(dry_run=self.check_mode)

    def connect(self):
        self.client.get_leader()
        if self.backend is None:
            self.backend = backend_for(self.client, self.params)
        return self.backend

    def ids_by_hostname(self, snapshot, hostnames):
        return dict((host, list(snapshot.agents.ids_by_hostname.get(host) or [])) for host in hostnames)

    def common(self):
        return dict(leader=self.client.leader, build=self.client.build,
                    backend=self.backend.name if self.backend else None, requests=self.client.request_count,
                    run_id=self.run, ledger=self.ledger.description, actions=self.actions, lines=self.lines)

    def lost_cause(self, record, snapshot, host):
        """Why ``host``'s filter is gone, from its ledger record (an empty one when the ledger has none)."""
        return lost_filter_cause(record or {}, snapshot.agents.ids_by_hostname.get(host) or [], self.client.leader,
                                 self.backend.name)

    def refilter(self, snapshot, hostnames):
        """Filter again the ids of ``hostnames`` that lost their filter; returns how many."""
        count = 0
        filtered = snapshot.filtered_ids
        records = None
        for host in hostnames:
            for agent_id in snapshot.agents.ids_by_hostname.get(host) or []:
                if agent_id in filtered or not snapshot.agents.is_active(agent_id):
                    continue
                if records is None:
                    records = self.ledger.snapshot().agents  # read once, and only when a filter was lost
                cause = self.lost_cause(records.get(host), snapshot, host)
                try:
                    self.backend.filter(agent_id, host)
                except MesosError as exc:
                    if not self.backend.is_unknown_agent(exc):
                        raise
                    continue  # gone since the read: the next read finds it by hostname
                count += 1
                self.changed = True
                self.lost[host] = cause
                self.actions.append('filter for %s had disappeared (filter lost: %s) and was put back'
                                    % (describe_agent(agent_id, host), cause))
        return count


class Drain(Step):
    """Guard, ledger, filter (one transaction), then wait until the tasks have ended (in slices)."""

    def run_step(self):
        params = self.params
        hostnames = hostnames_of(params)
        max_filtered = parse_max_filtered(params.get('max_filtered'))
        budget = parse_budget(params.get('max_unavailable_per_group'))
        parse_group_by(params.get('group_by'))
        self.deferred = []
        self.connect()
        with self.tx() as state:
            # Decide on a read made under the ledger's lock: a read made before it may show the filter of a run
            # whose restore has put the agent back (and left the ledger) since, which would be taken for someone
            # else's filter and leave the agent in service.
            snapshot = self.backend.read()
            ids, missing = self.registered(snapshot, hostnames)
            present = [host for host in hostnames if ids[host]]
            outcomes = self.classify(state, snapshot, present)
            mine = [host for host in present if outcomes[host] != EXTERNAL]
            if budget:
                mine = self.within_budget(state, budget, snapshot, mine, ids)
            plan = Plan()
            plan.add = [agent_id for host in mine for agent_id in ids[host]
                        if agent_id not in snapshot.filtered_ids and snapshot.agents.is_active(agent_id)]
            error = check_max_filtered(max_filtered, params.get('max_filtered'), plan, snapshot.filters,
                                       snapshot.agents)
            if error:
                raise InputError(error)
            others = dict((host, state.others(self.run, host)) for host in mine)
            added = []
            failure = None
            if not self.check_mode:
                for host in mine:
                    state.take(self.run, host, ids[host][0], reason=params.get('reason') or 'drain')
                # On record before the master is asked: a run killed between the two leaves owned agents that its
                # re-run filters, never filters that nobody owns.
                state.save()
                try:
                    # One request for the batch where the backend can (the schedule: one window for all machines).
                    self.backend.filter_many([(agent_id, snapshot.agents.hostname(agent_id)) for agent_id in plan.add],
                                             added.append)
                except MesosError as exc:
                    failure = exc
                    self.forget_unfiltered(state, snapshot, mine, outcomes, ids, added)
                else:
                    for host in mine:
                        state.filtered_at(host, self.client.leader)
        # What was done: a filter that failed part-way leaves only those added before the failure.
        self.changed = bool(plan.add if self.check_mode else added)
        agents = []
        for host in hostnames:
            if host in self.deferred:
                agents.append(dict(hostname=host, agent_ids=ids.get(host) or [], outcome=DEFERRED, others=[],
                                   text=OUTCOME_TEXT[DEFERRED]))
                continue
            outcome = SKIPPED if host in missing else outcomes[host]
            text = (CHECK_MODE_TEXT if self.check_mode else OUTCOME_TEXT).get(outcome, OUTCOME_TEXT[outcome])
            if outcome == SHARED:
                text = text % ', '.join('%s, %s ago' % (o['run'], o['age']) for o in others[host])
            agents.append(dict(hostname=host, agent_ids=ids.get(host) or [], outcome=outcome,
                               others=others.get(host, []), text=text))
        self.agents = agents
        if failure is not None:
            failure.msg = ('draining %s failed: %s. Filtered before the failure (they stay filtered and recorded): %s'
                           % (name_list(mine), failure.msg, name_list(added) or 'none'))
            raise failure
        return dict(agents=agents, added=list(plan.add) if self.check_mode else added, hostnames=mine,
                    deferred=list(self.deferred))

    def within_budget(self, state, parsed, snapshot, mine, ids):
        """max_unavailable_per_group, on a read made now (tasks move): a single drain takes all of ``mine`` or
        nothing; a batch of a rolling run takes those that fit, in order, and defers the others to a later pass
        (at least one, or nothing). The batch record gets the running tasks of the groups it touches, for the
        recovery check before the next batch."""
        budget = Budget(parsed, read_placement(self.client, self.params['group_by']))
        out = out_of_service(budget.placement, snapshot)
        batch = state.batch(self.run, []) if self.params['record_batch'] else None
        if batch is None:
            taken, self.deferred = (mine, []) if not budget.excess(out, budget.placement.ids_of(mine)) else ([], mine)
        else:
            taken, self.deferred = fit(mine, budget, out)
        if not taken and mine:
            new = budget.placement.ids_of(mine if batch is None else mine[:1])
            raise InputError(budget.refusal(budget.excess(out, new), out, new, 'taking out %s' % name_list(
                mine if batch is None else mine[:1])))
        if batch is not None and not self.check_mode:
            touched = budget.placement.usage(set(budget.placement.ids_of(taken)) - out)
            batch['groups'] = dict((group, budget.placement.running[group]) for group in touched)
            deferred = batch_hosts(self.params, self.deferred)
            batch['hosts'] = [h for h in batch['hosts'] if h not in deferred]
            state.defer(self.run, deferred, batch['hosts'])
        return taken

    def registered(self, snapshot, hostnames):
        """The agent ids of each hostname, and the hostnames without any (a failure with unregistered=fail)."""
        ids = self.ids_by_hostname(snapshot, hostnames)
        missing = [host for host in hostnames if not ids[host]]
        if missing and self.params['unregistered'] == 'fail':
            raise InputError('not registered with the master at %s: %s. Nothing was changed. Check the names (they '
                             'are the hostnames the agents registered with), or set unregistered=skip to leave such '
                             'agents out' % (self.client.leader, name_list(missing)))
        return ids, missing

    def classify(self, state, snapshot, hostnames):
        outcomes = {}
        filtered = snapshot.filtered_ids
        for host in hostnames:
            if state.is_ours(self.run, host):
                outcomes[host] = OURS
            elif state.held_by_us(host):
                outcomes[host] = SHARED
            elif any(agent_id in filtered and snapshot.agents.is_active(agent_id)
                     for agent_id in snapshot.agents.ids_by_hostname.get(host) or []):
                outcomes[host] = EXTERNAL
            else:
                outcomes[host] = NEW
        return outcomes

    def forget_unfiltered(self, state, snapshot, mine, outcomes, ids, added):
        """A filter that failed: the hostnames this run took for the first time and did not filter are released,
        so that the ledger never claims what was not done."""
        for host in mine:
            if outcomes[host] == NEW and not any(agent_id in added for agent_id in ids[host]):
                state.release(self.run, host)

    def wait_slice(self, hostnames, deadline, slice_end):
        """Poll until the hostnames' agents are done, the deadline (fail) or the end of the slice (pending)."""
        backend = self.backend
        reasserted = 0
        while True:
            snapshot = backend.poll()
            if not self.check_mode:
                reasserted += self.refilter(snapshot, hostnames)
            busy = {}
            counts = {}
            for host in hostnames:
                for agent_id in snapshot.agents.ids_by_hostname.get(host) or []:
                    slave = snapshot.agents.by_id[agent_id]
                    counts[host] = counts.get(host, 0) + active_task_count(slave)
                    remaining = backend.remaining(slave)
                    if remaining:
                        busy[host] = remaining
            now = self._clock()
            if not busy or self.check_mode:
                return dict(done=True, active_tasks=counts, reasserted=reasserted, pending={})
            if now >= deadline:
                frameworks = frameworks_by_agent(self.client)
                raise StepError('timed out waiting for the tasks of %d agent(s) to end: %s (they stay filtered)'
                                % (len(busy), self.describe_busy(snapshot, busy, frameworks)),
                                active_tasks=counts, reasserted=reasserted)
            if now >= slice_end:
                frameworks = frameworks_by_agent(self.client)
                return dict(done=False, active_tasks=counts, reasserted=reasserted,
                            pending=self.pending(snapshot, busy, frameworks))
            self._sleep(max(0.0, min(self.params['wait_sleep'], deadline - now, slice_end - now)))

    def pending(self, snapshot, busy, frameworks):
        result = {}
        for host, remaining in busy.items():
            names = []
            for agent_id in snapshot.agents.ids_by_hostname.get(host) or []:
                for name in frameworks.get(agent_id, []):
                    if name not in names:
                        names.append(name)
            result[host] = remaining + (' (%s)' % ', '.join(names) if names else '')
        return result

    def describe_busy(self, snapshot, busy, frameworks):
        return '; '.join('%s: %s' % item for item in sorted(self.pending(snapshot, busy, frameworks).items()))


def batch_hosts(params, hostnames):
    """Agent hostnames as the inventory hosts of O(record_batch), which the role gives in the order of O(hostname)."""
    names = dict(zip(params['hostname'], params['record_batch']))
    return [names.get(host, host) for host in hostnames]


def recovery_slice(step, deadline, slice_end):
    """The check between two batches of a rolling run: until every group the last batch touched has as many running
    tasks as before it (relaunched elsewhere), the deadline (fail) or the end of the slice. Returns the groups still
    short, ``{group: 'N of M running'}``: empty when they are whole."""
    before = step.ledger.snapshot().recovery_due(step.run)
    while before:
        short = shortfall(read_placement(step.client, step.params['group_by']), before)
        now = step._clock()
        if not short:
            break
        if now >= deadline:
            raise StepError('the services the last batch touched are not whole again after %ss: %s. The next batch '
                            'was not started; see why their tasks were not relaunched (capacity, constraints), then '
                            'run the same command again, or set agent_maintenance_recovery_timeout=0 to go on '
                            'without waiting' % (step.params['recovery_timeout'], shortfall_text(short)))
        if now >= slice_end:
            return dict((group, '%d of %d running' % counts) for group, counts in short.items())
        step._sleep(max(0.0, min(step.params['wait_sleep'], deadline - now, slice_end - now)))
    return {}


class Restore(Step):
    """Wait until the agents are back (in slices), then unfilter what this run alone keeps out (one transaction)."""

    def wait_slice(self, hostnames, deadline, slice_end):
        """Poll until every hostname has an active agent; keeps the returned ones filtered meanwhile."""
        while True:
            self.connect()
            snapshot = self.backend.poll()
            state = self.ledger.snapshot()
            ours = [host for host in hostnames if state.is_ours(self.run, host)]
            if not self.check_mode and self.refilter(snapshot, ours):
                # The restore decides on this snapshot: it must show the filters just put back, or it would take
                # them for gone and leave them in place.
                snapshot = self.backend.poll()
            away = self.away(snapshot, hostnames)
            now = self._clock()
            if not away or now >= deadline:
                return dict(done=True, snapshot=snapshot, away=away)
            if now >= slice_end:
                return dict(done=False, snapshot=snapshot, away=away)
            self._sleep(max(0.0, min(self.params['registration_sleep'], deadline - now, slice_end - now)))

    def away(self, snapshot, hostnames):
        """{hostname: why} for the hostnames without an active agent."""
        result = {}
        for host in hostnames:
            ids = snapshot.agents.ids_by_hostname.get(host) or []
            if not ids:
                result[host] = 'not registered with the master'
            elif not any(self.backend.is_connected(snapshot.agents.by_id[agent_id]) for agent_id in ids):
                result[host] = 'disconnected'
        return result

    def unfilter_back(self, hostnames, snapshot, away):
        """Unfilter, under the ledger's lock, what this run alone keeps out; returns the agents' report."""
        force = self.params.get('force')
        agents = []
        mine = {}    # hostname: (its filtered agent ids, why a filter found gone was lost), for those put back
        with self.tx() as state:
            for host in hostnames:
                ids = snapshot.agents.ids_by_hostname.get(host) or []
                filtered = [a for a in ids if a in snapshot.filtered_ids]
                decision = state.restore_decision(self.run, host, force)
                others = state.others(self.run, host)
                entry = dict(hostname=host, agent_ids=ids, others=others)
                if host in away:
                    entry.update(outcome='not_restored', text='not restored: %s; it stays filtered' % away[host])
                elif decision == 'unfilter':
                    mine[host] = (filtered, self.lost_cause(state.agents.get(host), snapshot, host))
                elif decision == 'shared':
                    if not self.check_mode:
                        state.release(self.run, host)
                    entry.update(outcome='kept_shared', text='kept filtered: another run still keeps it out (%s)'
                                 % ', '.join('%s by %s, since %s, %s ago' % (o['run'], o['by'], o['since'], o['age'])
                                             for o in others))
                elif filtered:
                    entry.update(outcome='kept_external', text='kept filtered: filtered by someone else, not by '
                                 'mesos.maintenance (force=true unfilters it)')
                else:
                    entry.update(outcome='not_filtered', text='not filtered, nothing to do')
                agents.append(entry)
            outcomes = self.unfilter_all(mine)
            for entry in agents:
                if entry['hostname'] in mine:
                    filtered, cause = mine[entry['hostname']]
                    entry.update(self.released(state, entry['hostname'], filtered, outcomes,
                                               entry['others'] if force else [], cause))
        return agents

    def unfilter_all(self, mine):
        """Put back every filtered agent id of ``mine`` in one change where the backend can (the schedule: one write
        for the batch); returns ``{agent_id: outcome}`` (empty in check mode)."""
        outcomes = {}

        def done(agent_id, outcome):
            outcomes[agent_id] = outcome
            if outcome != ALREADY_BACK:
                # At once: a later agent may fail after this one was put back.
                self.changed = True

        if not self.check_mode:
            self.backend.unfilter_many([(agent_id, host) for host, (filtered, dummy) in mine.items()
                                        for agent_id in filtered], done)
        return outcomes

    def released(self, state, host, filtered, outcomes, forced_owners, lost_cause):
        """Release ``host``, whose ``filtered`` ids were put back with ``outcomes``, and report it; ``lost_cause``
        says why a filter found gone was lost."""
        gone = [agent_id for agent_id in filtered if outcomes.get(agent_id) == ALREADY_BACK]
        done = [agent_id for agent_id in filtered if agent_id not in gone]
        notes = []
        if any(outcomes.get(agent_id) == UNFILTERED_ANSWER_LOST for agent_id in done):
            notes.append(self.backend.answer_lost_note)
        if self.check_mode:
            self.changed = self.changed or bool(done)
        else:
            state.release(self.run, host, force=bool(self.params.get('force')))
        if done:
            text = 'check mode: would be unfiltered' if self.check_mode else 'unfiltered'
            if host in self.lost:
                notes.append('filter lost: %s; put back while waiting' % self.lost[host])
            if gone:
                notes.append('the filter of %s was already gone (filter lost: %s)' % (', '.join(gone), lost_cause))
        else:
            text = 'back in service: its filter was already gone (filter lost: %s)' % lost_cause
        if forced_owners:
            text += ' (forced: it was also kept out by %s)' % ', '.join(o['run'] for o in forced_owners)
        if notes:
            text += ' (%s)' % '; '.join(notes)
        return dict(outcome='restored', unfiltered=done, text=text)


def open_ledger(params):
    """The Ledger the module's options name."""
    if params.get('ledger_zookeeper'):
        store = ZooKeeperStore(params['ledger_zookeeper'], lock_timeout=params['ledger_timeout'])
    else:
        store = FileStore(params['ledger_file'], lock_timeout=params['ledger_timeout'])
    return Ledger(store)


def run_module(client, step_class, body):
    """Run ``body(step)`` for a module: its result, or one fail_json with what was done before the failure."""
    params = client.module.params
    step = None
    try:
        run_id_of(params)
        ledger = open_ledger(params)
        step = step_class(client, ledger, params, check_mode=client.check_mode)
        try:
            result = body(step)
        finally:
            ledger.close()
            # What the backend noticed (someone else's change merged, a window of theirs): said on failure too.
            for note in step.backend.notes if step.backend else ():
                client.warn(note)
    except (InputError, LedgerError) as exc:
        extra = failure_extra(step)
        client.fail(str(exc), changed=bool(step and step.changed), **extra)
    except MesosError as exc:
        extra = failure_extra(step)
        extra['changed'] = bool(step and step.changed)
        exc.do_fail(client.module, **extra)
    finally:
        client.close()
    for key, value in step.common().items():
        result.setdefault(key, value)
    result.setdefault('changed', step.changed)
    client.module.exit_json(**result)


def failure_extra(step):
    """What a failed step reports besides its message: the common keys, and what it decided for each agent (a drain
    that timed out: the undo of agent_maintenance_undo_on_failure puts back the agents it took out)."""
    if step is None:
        return {}
    extra = step.common()
    if getattr(step, 'agents', None):
        extra['agents'] = step.agents
    return extra


def look_timeout(params):
    """The longest one look at the master may take: waiting for a leader, then two requests, with room to spare
    (the wait for a hold's first look or for its end once released)."""
    return float(params.get('leader_timeout') or 30) + 2 * float(params.get('timeout') or 10) + 30


def run_id_of(params):
    run = (params.get('run_id') or '').strip()
    if not run:
        raise InputError('run_id is empty: it names who takes the agents out (the role sets it)')
    if len(run) > 200:
        raise InputError('run_id is longer than 200 characters')
    return run


# --- the hold ---------------------------------------------------------------------------------------------------
# How often a hold looks at the ledger for its release between two looks at the master.
RELEASE_CHECK = 0.5
MAX_REASSERTED_KEPT = 100


def new_hold_id(run):
    return 'hold-%s-%d-%d' % (socket.gethostname(), os.getpid(), int(time.time() * 1000))


class HoldProcess(object):
    """The body of a hold: runs detached from the module (its own session), renews its lease in the ledger at
    every look, ends when released (the ledger says so), when its run no longer owns any of its hostnames, or at
    its timeout, and leaves its report in the ledger."""

    def __init__(self, params, hold_id, hostnames, open_ledger):
        self.params = params
        self.hold_id = hold_id
        self.run = params['run_id']
        self.hostnames = list(hostnames)
        self.open_ledger = open_ledger
        self.reasserted = []
        self.actions = []
        self.errors = []
        self.looks = 0
        self.orphaned = False
        self.started = time.monotonic()
        # The leader of the last look, which left every registered held agent filtered there.
        self.leader = None

    def report(self, ended=None):
        return dict(reasserted=self.reasserted[-MAX_REASSERTED_KEPT:], errors=self.errors, looks=self.looks,
                    held_for=round(time.monotonic() - self.started, 3), ended=ended)

    def renew(self, ledger, status=None):
        """Renew the lease; the hostnames this run still owns, or None when the hold must end."""
        with ledger.transaction() as state:
            alive = state.renew_hold(self.hold_id, status=status, report=self.report())
            owned = [host for host in self.hostnames if state.is_ours(self.run, host)]
            for host in owned:
                state.filtered_at(host, self.leader)
        return owned if alive and owned else None

    def watch_controller(self, ledger):
        """When the ansible-playbook of this hold's run has ended (killed), say so in the ledger, once; the hold goes
        on: the batch stays out of service until the re-run releases it."""
        pid = self.params.get('controller_pid')
        if not pid or self.orphaned or process_alive(pid):
            return
        self.orphaned = True
        why = ('interrupted: ansible-playbook (pid %d on %s) ended during this batch; it stays out of service, kept '
               'out by hold %s until the re-run of the same agents releases it (or hold_timeout)'
               % (pid, socket.gethostname(), self.hold_id))
        with contextlib.suppress(LedgerError):
            with ledger.transaction() as state:
                state.orphan_hold(self.hold_id, why)

    def released(self, ledger):
        hold = ledger.snapshot().holds.get(self.hold_id)
        return hold is None or bool(hold.get('released'))

    def run_hold(self, status_fd, client_factory):
        ledger = self.open_ledger()
        deadline = self.started + float(self.params['hold_timeout'])
        interval = float(self.params['hold_interval'])
        client = client_factory(self.params)
        tracker = HoldTracker(self.hostnames)
        ended = 'failed'
        try:
            try:
                client.get_leader()
                # A hold only takes agents out: of the drain's options it needs only how long a window lasts.
                backend = backend_for(client, dict(backend=self.params['backend'],
                                                   window_duration=self.params.get('window_duration')))
                look_once(client, backend, tracker, False, self.reasserted, self.actions)
                self.looks += 1
                self.leader = client.leader
                self.renew(ledger, status='holding')
            except (MesosError, LedgerError, InputError) as exc:
                os.write(status_fd, ('failed %s\n' % getattr(exc, 'msg', str(exc))).encode('utf-8', 'replace'))
                return
            os.write(status_fd, b'holding\n')
            os.close(status_fd)
            status_fd = None
            ended = self.loop(ledger, client, backend, tracker, interval, deadline)
        finally:
            if status_fd is not None:
                os.close(status_fd)
            with contextlib.suppress(Exception):
                with ledger.transaction() as state:
                    state.renew_hold(self.hold_id, status='ended' if ended != 'failed' else 'failed',
                                     report=self.report(ended))
            ledger.close()
            client.close()

    def loop(self, ledger, client, backend, tracker, interval, deadline):
        while True:
            next_look = min(time.monotonic() + interval, deadline)
            while time.monotonic() < next_look:
                try:
                    if self.released(ledger):
                        return 'released'
                except LedgerError as exc:
                    keep_errors(self.errors, str(exc))
                time.sleep(min(RELEASE_CHECK, max(0.0, next_look - time.monotonic())))
            if time.monotonic() >= deadline:
                return 'timeout'
            try:
                owned = self.renew(ledger)
            except LedgerError as exc:
                keep_errors(self.errors, str(exc))
                continue
            if owned is None:
                return 'released'
            self.watch_controller(ledger)
            try:
                client.get_leader()
                look_once(client, backend, tracker, False, self.reasserted, self.actions, hostnames=owned)
                self.looks += 1
                self.leader = client.leader
            except MesosError as exc:
                client.leader = None
                self.leader = None
                keep_errors(self.errors, exc.msg)


def spawn_hold(params, hold_id, hostnames, open_ledger, client_factory, first_look_timeout):
    """Start the hold in a detached process (double fork, own session, no inherited output) and wait for its first
    look. Returns None once it holds, else the reason it could not start."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child, tested through the modules
        code = 0
        try:
            os.close(read_fd)
            os.setsid()
            if os.fork() != 0:
                os._exit(0)
            devnull = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(devnull, fd)
            HoldProcess(params, hold_id, hostnames, open_ledger).run_hold(write_fd, client_factory)
        except BaseException:  # pylint: disable=broad-except
            code = 1
        finally:
            os._exit(code)
    os.close(write_fd)
    os.waitpid(pid, 0)
    answer = b''
    deadline = time.monotonic() + first_look_timeout
    try:
        while b'\n' not in answer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return 'no answer from its first look within %d s' % first_look_timeout
            ready = select.select([read_fd], [], [], remaining)[0]
            if not ready:
                continue
            chunk = os.read(read_fd, 4096)
            if not chunk:
                break
            answer += chunk
    finally:
        os.close(read_fd)
    text = answer.decode('utf-8', 'replace').strip()
    if text == 'holding':
        return None
    return text[len('failed '):] if text.startswith('failed ') else 'it ended before its first look'


def process_alive(pid):
    """Whether process ``pid`` of this host still runs."""
    try:
        os.kill(pid, 0)
    except OSError as exc:
        return exc.errno == errno.EPERM
    return True


class HoldClient(MesosClientBase):
    """The client of a hold, which runs detached: nobody reads its warnings."""

    def warn(self, msg):
        pass


def start_hold(step, hostnames, client_factory=HoldClient):
    """Record a hold of ``hostnames`` for the step's run and start it; returns the hold's id."""
    params = step.params
    hold_id = new_hold_id(step.run)
    with step.tx() as state:
        state.start_hold(hold_id, step.run, hostnames, float(params['hold_interval']), float(params['hold_timeout']))
    first_look = look_timeout(params)
    why = spawn_hold(dict(params), hold_id, hostnames, functools.partial(open_ledger, dict(params)), client_factory,
                     first_look)
    if why is not None:
        with step.tx() as state:
            state.holds.pop(hold_id, None)
        raise StepError('the hold of %s could not start: %s' % (name_list(hostnames), why))
    return hold_id


def release_holds(step, hostnames, timeout=None):
    """End this run's live holds of any of ``hostnames`` (all of them when empty) and the holds whose lease ran out
    (their owner died), wait until they have ended (at most ``timeout`` seconds, by default the longest a look of
    theirs may take), and return their reports:
    {'ended': [...], 'reasserted': [...], 'errors': [...], 'others': [...]} where ``others`` are live holds of other
    runs on these hostnames, left running."""
    wanted = set(hostnames)
    with step.tx() as state:
        mine, dead = state.holds_to_end(step.run)
        mine = [h for h in mine if not wanted or wanted & set(state.holds[h]['hostnames'])]
        for hold_id in mine:
            state.holds[hold_id]['released'] = True
        others = [dict(hold=hold_id, run=hold['run'], by=hold.get('by'), hostnames=hold['hostnames'])
                  for hold_id, hold in state.live_holds_of_others(step.run, hostnames)]
    deadline = time.monotonic() + (look_timeout(step.params) if timeout is None else timeout)
    result = dict(ended=[], reasserted=[], errors=[], others=others)
    pending = list(mine)
    while True:
        with step.tx() as state:
            for hold_id in list(pending):
                if not state.hold_is_live(hold_id) or state.holds[hold_id].get('status') in ('ended', 'failed'):
                    pending.remove(hold_id)
            if not pending or time.monotonic() >= deadline:
                for hold_id in mine + dead:
                    hold = state.holds.pop(hold_id, None)
                    if hold is None:
                        continue
                    report = hold.get('report') or {}
                    result['ended'].append(dict(hold=hold_id, run=hold['run'], hostnames=hold['hostnames'],
                                                how='released' if hold_id in mine else 'lease ran out',
                                                still_running=hold_id in pending, ended=report.get('ended')))
                    result['reasserted'].extend(report.get('reasserted') or [])
                    result['errors'].extend(report.get('errors') or [])
                return result
        step._sleep(0.1)
