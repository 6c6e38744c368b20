# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Pure logic of offer_filter_hold: which agents of the held hostnames lost their filter, and why.

A filter is lost when the agent re-registers under a new id (it came back without its checkpointed state),
when it disconnects and re-registers (build 0afdd8b), and on a leader failover (build 0afdd8b, or a later build
whose ZooKeeper copy is not reachable). Each look compares the master's agents and filters with what the
previous look saw, so that every re-filter can be told apart.
"""

from __future__ import annotations

import time

from ansible_collections.mesos.maintenance.plugins.module_utils._backends import BACKENDS

REASON_NEW_ID = 'new agent id'
REASON_LEADER = 'leader changed'
REASON_LOST = 'filter lost'
REASON_UNFILTERED = 'not filtered when the hold started'

# Why an agent that mesos.maintenance keeps out is not filtered, as the status and the restore say it.
CAUSE_NEW_ID = 'back under a new id (was %s)'
CAUSE_LEADER = 'leader changed: filtered at %s, the leader is now %s'
CAUSE_REREGISTERED = 'it re-registered, or someone removed the filter'
CAUSE_UNKNOWN = 'leader changed or re-registration'

# Enough to show a flapping master without letting a long hold return an unbounded list.
MAX_ERRORS_KEPT = 20


class Refilter(object):
    """One agent id of a held hostname that is registered but not filtered."""

    def __init__(self, hostname, agent_id, old_agent_id, reason):
        self.hostname = hostname
        self.agent_id = agent_id
        self.old_agent_id = old_agent_id
        self.reason = reason

    def describe(self):
        if self.old_agent_id and self.old_agent_id != self.agent_id:
            return '%s (%s, was %s): %s' % (self.hostname, self.agent_id, self.old_agent_id, self.reason)
        return '%s (%s): %s' % (self.hostname, self.agent_id, self.reason)


class HoldTracker(object):
    """What the hold has seen so far: the ids each held hostname was last registered under, and the leader."""

    def __init__(self, hostnames):
        self.hostnames = list(hostnames)
        self.last_ids = dict((host, []) for host in self.hostnames)
        self.leader = None
        self.looks = 0

    def plan(self, agents, filtered_ids, leader):
        """The ``Refilter`` list for one look, given an ``AgentIndex``, the filtered ids and the leader's URL.

        An id counts as new when its hostname was registered under other ids before; a known id that lost its
        filter lost it to a leader change when the leader differs from the previous look's, else to a
        re-registration. Nothing is recorded: call ``seen`` once the look is done.
        """
        leader_changed = self.looks > 0 and self.leader is not None and leader != self.leader
        result = []
        for host in self.hostnames:
            known = self.last_ids[host]
            for agent_id in agents.ids_by_hostname.get(host) or []:
                if agent_id in filtered_ids:
                    continue
                if self.looks == 0:
                    reason, old = REASON_UNFILTERED, None
                elif known and agent_id not in known:
                    reason, old = REASON_NEW_ID, known[-1]
                elif leader_changed:
                    reason, old = REASON_LEADER, agent_id
                else:
                    reason, old = REASON_LOST, agent_id
                result.append(Refilter(host, agent_id, old, reason))
        return result

    def seen(self, agents, leader):
        """Record a finished look. A hostname that is away keeps the ids it was last registered under."""
        for host in self.hostnames:
            ids = agents.ids_by_hostname.get(host) or []
            if ids:
                self.last_ids[host] = list(ids)
        self.leader = leader
        self.looks += 1

    def report(self, agents, filtered_ids):
        """The held hostnames as the last look saw them."""
        result = []
        for host in self.hostnames:
            ids = list(agents.ids_by_hostname.get(host) or [])
            result.append({
                'hostname': host,
                'agent_ids': ids,
                'registered': bool(ids),
                'filtered': bool(ids) and all(agent_id in filtered_ids for agent_id in ids),
            })
        return result


def lost_filter_cause(record, agent_ids, leader, backend):
    """Why a hostname the ledger keeps out (``record``, its ledger entry) is not filtered now that its agent is
    registered under ``agent_ids`` with the leader ``leader``. Mesos keeps a deactivation (``backend`` native)
    through failovers and re-registrations; the allocator module loses a filter to both (build 0afdd8b), so the
    leader that held the filter (recorded by the drain and the hold) tells the two apart."""
    was = record.get('agent_id')
    if was and agent_ids and was not in agent_ids:
        return CAUSE_NEW_ID % was
    if BACKENDS[backend].undone_cause:
        return BACKENDS[backend].undone_cause
    filtered_at = record.get('leader')
    if not filtered_at or not leader:
        return CAUSE_UNKNOWN  # recorded before the ledger kept the leader
    if filtered_at != leader:
        return CAUSE_LEADER % (filtered_at, leader)
    return CAUSE_REREGISTERED


def keep_errors(errors, message):
    """Append ``message`` to ``errors``, keeping the first one (the cause) and the latest ones."""
    errors.append(message)
    if len(errors) > MAX_ERRORS_KEPT:
        del errors[1]
    return errors


def look_once(client, backend, tracker, check_mode, reasserted, actions, hostnames=None):
    """Read the agents and the filters once and filter again what lost its filter, appending to ``reasserted``
    (dicts) and ``actions`` (text). ``hostnames`` narrows the look to those still held. Returns the filter entries
    before and after the look, and the held hostnames' report."""
    snapshot = backend.read()
    agents, filters = snapshot.agents, snapshot.filters
    before = filters
    filtered = snapshot.filtered_ids
    done, would = backend.again_verbs
    for item in tracker.plan(agents, filtered, client.leader):
        if hostnames is not None and item.hostname not in hostnames:
            continue
        if check_mode:
            actions.append('%s again %s' % (would, item.describe()))
        else:
            backend.filter(item.agent_id, item.hostname)
            filters = backend.filters_after(filters)
            filtered = set(f['agent_id'] for f in filters)
            actions.append('%s again %s' % (done, item.describe()))
        reasserted.append(dict(hostname=item.hostname, agent_id=item.agent_id, old_agent_id=item.old_agent_id,
                               reason=item.reason, at=time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()),
                               leader=client.leader))
    tracker.seen(agents, client.leader)
    return before, filters, tracker.report(agents, filtered)
