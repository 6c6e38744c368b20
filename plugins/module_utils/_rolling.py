# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Pure logic of a rolling maintenance: the batch size, the capacity check of the plan, the summary and the status
table. No HTTP, no ledger I/O: everything here takes plain data."""

from __future__ import annotations

import math
import re

from ansible_collections.mesos.maintenance.plugins.module_utils._backends import BACKENDS
from ansible_collections.mesos.maintenance.plugins.module_utils._errors import name_list
from ansible_collections.mesos.maintenance.plugins.module_utils._filters import (
    InputError,
    guard_advice,
    guard_text,
    max_filtered_limit,
)
from ansible_collections.mesos.maintenance.plugins.module_utils._hold import lost_filter_cause

SERIAL_RE = re.compile(r'^\s*([1-9][0-9]*)\s*(%?)\s*$')
STATUS_FORMAT = '%-32s %-44s %-9s %-10s %-6s %s'


def batch_size(serial, todo):
    """``serial`` (a count, or a percentage of the agents to do, at least 1) as a number of agents."""
    match = SERIAL_RE.match(str(serial))
    if not match:
        raise InputError('mesos_maintenance_serial must be a number of agents (10) or a percentage (10%%), not %s'
                         % serial)
    number = int(match.group(1))
    if match.group(2):
        number = max(1, int(math.floor(todo * number / 100.0 + 1e-9)))
    return max(1, min(number, todo)) if todo else number


def capacity_error(batch, unavailable, parsed_guard, raw_guard, total):
    """The refusal of a plan whose batches would leave more agents unavailable than the guard allows, or None."""
    if parsed_guard is None:
        return None
    limit = max_filtered_limit(parsed_guard, total)
    if batch + len(unavailable) <= limit:
        return None
    name = 'agent_maintenance_max_filtered'
    room = limit - len(unavailable)
    if room >= 1:
        way = 'To go on, use batches of at most %d (mesos_maintenance_serial), or ' % room
    else:
        way = 'Even one agent at a time is too many. To go on, '
    return ('Batches of %d agent(s), with %d agent(s) already unavailable (%s), would leave more agents unavailable '
            'than the capacity guard allows: %s. %s%s. Nothing was changed.'
            % (batch, len(unavailable), name_list(unavailable) or 'none', guard_text(parsed_guard, raw_guard, total, name),
               way, guard_advice(parsed_guard, len(unavailable) + batch, total, name)))


def summary_lines(run, check_mode=False, finished=False):
    """The summary of a rolling run record (see LedgerState.start_run/end_batch) as plain text lines."""
    attempt = run.get('attempt', 1)
    batches = [b for b in run.get('batches') or [] if b.get('attempt', 1) == attempt]
    targets = run.get('targets') or []
    restored = [h for b in batches if b.get('outcome') == 'restored' for h in b['hosts']
                if h not in (b.get('not_restored') or {})]
    not_restored = [h for b in batches if b.get('outcome') == 'restored' for h in (b.get('not_restored') or {})]
    failed = list(run.get('failed') or [])
    done_before = list(run.get('done_before') or [])
    deferred = [h for h in run.get('deferred') or [] if h not in run.get('done', [])]
    todo = [h for h in targets if h not in run.get('done', []) and h not in failed and h not in deferred]
    state = 'FAILED' if failed else ('check mode, nothing changed' if check_mode else
                                     ('done' if finished else 'so far'))
    leaders = []
    batch_lines = []
    for batch in batches:
        batch_lines.append(batch_line(batch))
        # The leader at the end of the drain, then at the restore: a failover during the maintenance shows between.
        for leader in (batch.get('leader'), batch.get('restore_leader')):
            if leader and (not leaders or leaders[-1] != leader):
                if leaders:
                    batch_lines.append('leader failover during batch %d: %s -> %s' % (batch['number'], leaders[-1],
                                                                                      leader))
                leaders.append(leader)
    backends = sorted(set(b['backend'] for b in batches if b.get('backend')))
    lines = ['%s: %d batch(es), %d agent(s) restored, %s%d failed, %s%d not started%s; leader %s%s' % (
        state, len(batches), len(restored),
        ('%d not restored (not back; they stay filtered), ' % len(not_restored)) if not_restored else '',
        len(failed), ('%d deferred, ' % len(deferred)) if deferred else '', len(todo),
        (', %d done by an earlier run' % len(done_before)) if done_before else '',
        ' -> '.join(leaders) or 'unknown', ('; backend ' + ', '.join(backends)) if backends else '')]
    lines.extend(batch_lines)
    external = sorted(set(h for b in batches for h in b.get('external') or []))
    if external:
        lines.append('left out of service (kept by someone else or another run; agent_maintenance_force=true on '
                     'restore.yml overrides): ' + name_list(external))
    if deferred:
        lines.append('deferred by the disruption budget (tasks moved onto them after the plan), in service and not '
                     'done: %s; run the same command again to do them' % name_list(deferred))
    if failed:
        lines.append('the failed batch stays out of service: %s -- %s; fix the cause and run the same command again '
                     'to pick up at it' % (name_list(failed), run.get('error') or 'failed'))
    return lines


def batch_line(batch):
    parts = ['batch %d (%s): %s' % (batch['number'], ', '.join(batch['hosts']), batch.get('outcome') or 'running')]
    if batch.get('seconds') is not None:
        parts[0] += ' in %s s' % batch['seconds']
    if batch.get('drain_wait'):
        parts.append('drained in %s s' % batch['drain_wait'])
    held = ['%s (%s)' % (item['hostname'], 'new id ' + item['agent_id'] if item.get('reason') == 'new agent id'
                         else item.get('reason')) for item in batch.get('held') or []]
    if held:
        parts.append('kept out again during the maintenance: ' + ', '.join(held))
    if batch.get('hold_errors'):
        parts.append('hold errors: ' + '; '.join(batch['hold_errors'][:3]))
    if batch.get('external'):
        parts.append('left out of service (not only ours): ' + ', '.join(batch['external']))
    if batch.get('not_restored'):
        parts.append('not restored: ' + '; '.join('%s: %s' % item for item in sorted(batch['not_restored'].items())))
    line = ', '.join(parts)
    if batch.get('outcome') == 'failed':
        line += ' -- ' + (batch.get('error') or 'failed')
    return line


def lost_filters(cluster, ledger_state):
    """{hostname: why} for the hostnames the ledger keeps out whose registered agent is not filtered."""
    result = {}
    for host in ledger_state.agents:
        unfiltered = [a for a in cluster['agents'] if a.get('hostname') == host and a.get('filtered') is False]
        if ledger_state.owners(host) and unfiltered:
            ids = [a['agent_id'] for a in cluster['agents'] if a.get('hostname') == host]
            result[host] = lost_filter_cause(ledger_state.agents[host], ids, cluster['leader'], cluster['backend'])
    return result


def status_lines(cluster, ledger_state):
    """The status table: the agents (filtered, connected, active tasks, who keeps them out), the leader, the
    backend, the holds. ``cluster`` is offer_filter_info's result, ``ledger_state`` a LedgerState."""
    agents = cluster['agents']
    owners = dict((host, sorted(ledger_state.owners(host))) for host in ledger_state.agents)
    filtered = sum(1 for a in agents if a.get('filtered') is True)
    disconnected = sum(1 for a in agents if not a.get('active') and a.get('filtered') is not True)
    lines = ['%d agents, %d filtered, %d disconnected, %d active tasks, %d kept out by mesos.maintenance; leader %s, '
             'backend %s%s' % (len(agents), filtered, disconnected, sum(a.get('active_tasks') or 0 for a in agents),
                               len(owners), cluster['leader'], cluster['backend'],
                               BACKENDS[cluster['backend']].status_detail(cluster)),
             STATUS_FORMAT % ('HOSTNAME', 'AGENT ID', 'FILTERED', 'CONNECTED', 'TASKS', 'KEPT OUT BY')]
    lost = lost_filters(cluster, ledger_state)
    seen = set()
    for agent in sorted(agents, key=lambda a: (a.get('hostname') or '', a['agent_id'])):
        host = agent.get('hostname')
        seen.add(host)
        if agent.get('drain_state'):
            state = agent['drain_state']
        elif host in lost and agent.get('filtered') is False:
            state = 'LOST'
        else:
            state = {True: 'yes', False: 'no'}.get(agent.get('filtered'), 'unknown')
        connected = 'yes' if agent.get('active') else ('?' if agent.get('deactivated') else 'NO')
        lines.append((STATUS_FORMAT % (host, agent['agent_id'], state, connected, agent.get('active_tasks', 0),
                                       ', '.join(owners.get(host, [])))).rstrip())
    for host in sorted(owners):
        if host not in seen:
            lines.append((STATUS_FORMAT % (host, '(not registered)', '-', '-', '-', ', '.join(owners[host]))).rstrip())
    for hold_id, hold in sorted(ledger_state.holds.items()):
        live = ledger_state.hold_is_live(hold_id)
        lines.append('hold %s of run %s (%s): %s, %s' % (hold_id, hold['run'], ', '.join(hold['hostnames']),
                                                         hold.get('status'), 'lease live' if live else 'lease ran out'))
    for host, cause in sorted(lost.items()):
        lines.append('WARNING: %s is held by %s but not filtered (filter lost: %s). A hold or a drain puts it back.'
                     % (host, ', '.join(owners[host]), cause))
    return lines
