# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Disruption budgets: services (groups of running tasks) read from the master, how many of a group's tasks may be
unavailable at once, the check of a change against that, the batches planned around it, and the recovery of the
groups a batch touched. Everything but ``read_placement`` takes plain data."""

from __future__ import annotations

import math
import re

from ansible_collections.mesos.maintenance.plugins.module_utils._errors import name_list, not_a_master
from ansible_collections.mesos.maintenance.plugins.module_utils._filters import InputError, agent_problem

STATE_PATH = '/master/state'
BUDGET_RE = re.compile(r'^\s*([0-9]+(?:\.[0-9]*)?)\s*(%?)\s*$')


def parse_group_by(value):
    """``group_by`` as ``(kind, label key)``: a service is a framework's task name, a framework, or a label value."""
    text = (value or 'task').strip()
    if text in ('task', 'framework'):
        return text, None
    if text.startswith('label:') and text[len('label:'):].strip():
        return 'label', text[len('label:'):].strip()
    raise InputError('group_by must be task (a framework and a task name: a Marathon app, an Aurora job), framework, '
                     'or label:<key> (the tasks that carry a label, by its value), not %r' % value)


def parse_budget(value):
    """``max_unavailable_per_group`` as ``(number, is_percent)``; None when not set (no budget)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    match = BUDGET_RE.match(str(value)) if not isinstance(value, bool) else None
    if match:
        number, percent = float(match.group(1)), bool(match.group(2))
        if percent and 0 < number <= 100:
            return number, True
        if not percent and number >= 1 and number.is_integer():
            return int(number), False
    raise InputError('max_unavailable_per_group must be a number of tasks (1 or more) or a percentage of each '
                     "group's running tasks (more than 0%%, at most 100%%), not %r" % (value,))


def describe_budget(parsed):
    return ('%g%%' % parsed[0]) if parsed[1] else str(parsed[0])


def task_group(task, framework_name, kind, key):
    """The group (service) a task belongs to, or None when it belongs to none (no such label)."""
    if kind == 'framework':
        return framework_name
    if kind == 'task':
        return '%s/%s' % (framework_name, task.get('name') or task.get('id'))
    labels = task.get('labels')
    for label in labels if isinstance(labels, list) else []:
        if isinstance(label, dict) and label.get('key') == key:
            return '%s=%s' % (key, label.get('value', ''))
    return None


class Placement(object):
    """Where the running tasks of each group are, from one read of ``/master/state``: ``by_agent`` maps an agent id
    to ``{group: running tasks}``, ``running`` a group to its running tasks in the whole cluster."""

    def __init__(self, state, group_by='task'):
        kind, key = parse_group_by(group_by)
        self.group_by = group_by or 'task'
        self.hostnames = {}
        self.ids_by_hostname = {}
        self.attributes = {}
        self.inactive = set()
        self.by_agent = {}
        self.running = {}
        for slave in state.get('slaves') or []:
            if not isinstance(slave, dict) or not isinstance(slave.get('id'), str):
                continue
            self.hostnames[slave['id']] = slave.get('hostname')
            self.ids_by_hostname.setdefault(slave.get('hostname'), []).append(slave['id'])
            attributes = slave.get('attributes')
            self.attributes[slave['id']] = attributes if isinstance(attributes, dict) else {}
            if not slave.get('active', True) or slave.get('deactivated'):
                self.inactive.add(slave['id'])
        for framework in state.get('frameworks') or []:
            if not isinstance(framework, dict):
                continue
            name = str(framework.get('name') or framework.get('id'))
            for task in framework.get('tasks') or []:
                # Running is what a service has: a task still staging is not serving yet, one being killed no more.
                if not isinstance(task, dict) or task.get('state') != 'TASK_RUNNING':
                    continue
                group = task_group(task, name, kind, key)
                if group is None:
                    continue
                counts = self.by_agent.setdefault(task.get('slave_id'), {})
                counts[group] = counts.get(group, 0) + 1
                self.running[group] = self.running.get(group, 0) + 1

    def ids_of(self, hostnames):
        return [agent_id for host in hostnames for agent_id in self.ids_by_hostname.get(host) or []]

    def usage(self, agent_ids):
        """Running tasks per group on ``agent_ids``."""
        total = {}
        for agent_id in set(agent_ids):
            for group, count in (self.by_agent.get(agent_id) or {}).items():
                total[group] = total.get(group, 0) + count
        return total

    def where(self, group, agent_ids):
        """``host xN`` for each of ``agent_ids`` that runs tasks of ``group``."""
        found = []
        for agent_id in agent_ids:
            count = (self.by_agent.get(agent_id) or {}).get(group)
            if count:
                found.append('%s%s' % (self.hostnames.get(agent_id) or agent_id, ' x%d' % count if count > 1 else ''))
        return found

    def attribute(self, hostname, name):
        values = set()
        for agent_id in self.ids_by_hostname.get(hostname) or []:
            value = self.attributes.get(agent_id, {}).get(name)
            if value is not None:
                values.add(str(value))
        return ','.join(sorted(values)) if values else None


def read_placement(client, group_by):
    """One ``/master/state`` read of the leader, as a Placement."""
    state = client.get_json(STATE_PATH)
    if not isinstance(state, dict):
        raise InputError('%s%s answered no JSON object' % (client.leader, STATE_PATH))
    problem = agent_problem(state.get('slaves') if isinstance(state.get('slaves'), list) else [])
    if problem:
        raise not_a_master('GET %s%s' % (client.leader, STATE_PATH), problem)
    return Placement(state, group_by)


class Budget(object):
    """``max_unavailable_per_group`` applied to a placement."""

    def __init__(self, parsed, placement):
        self.parsed = parsed
        self.placement = placement

    def allowed(self, group):
        """How many running tasks of ``group`` may be unavailable at once (a percentage is rounded down); without
        a budget, all of them."""
        if self.parsed is None:
            return self.placement.running.get(group, 0)
        number, percent = self.parsed
        if not percent:
            return number
        return int(math.floor(self.placement.running.get(group, 0) * number / 100.0 + 1e-9))

    def allowance(self, group):
        text = '%d' % self.allowed(group)
        if self.parsed[1]:
            text += ' (%s of %d, rounded down)' % (describe_budget(self.parsed), self.placement.running.get(group, 0))
        return text

    def excess(self, out_ids, new_ids):
        """The groups that taking ``new_ids`` out, with ``out_ids`` already out, would take over budget:
        ``[(group, unavailable)]``. Only the groups that ``new_ids`` run count: one already over is not this
        change's doing."""
        touched = self.placement.usage(set(new_ids) - set(out_ids))
        if not touched:
            return []
        unavailable = self.placement.usage(set(out_ids) | set(new_ids))
        return sorted((group, unavailable[group]) for group in touched if unavailable[group] > self.allowed(group))

    def refusal(self, excess, out_ids, new_ids, what):
        """Why ``what`` is refused: each group over budget, its running tasks and where they are."""

        def describe(item):
            group, unavailable = item
            text = '%s would have %d of its %d running task(s) unavailable, %s allowed: on the agents to take out %s' % (
                group, unavailable, self.placement.running.get(group, 0), self.allowance(group),
                name_list(self.placement.where(group, sorted(set(new_ids) - set(out_ids)))))
            already = self.placement.where(group, sorted(out_ids))
            if already:
                text += '; already out of service %s' % name_list(already)
            return text

        message = ('The disruption budget max_unavailable_per_group=%s (group_by=%s) refuses %s: %s. Nothing was '
                   'changed.' % (describe_budget(self.parsed), self.placement.group_by, what,
                                 name_list(excess, describe, '; ', 'group(s)')))
        hint = self.never_fits(group for group, unavailable in excess)
        return message + (' ' + hint if hint else '')

    def never_fits(self, groups):
        """A group whose budget rounds down to 0 blocks every agent that runs it, for good: say what to set."""
        zero = [group for group in groups if self.allowed(group) == 0]
        if not zero:
            return ''
        shown = name_list(zero, lambda g: '%s (%d running)' % (g, self.placement.running.get(g, 0)))
        return ('%s: %s of so few tasks rounds down to 0, so no agent that runs them can ever be taken out under '
                'this budget; set max_unavailable_per_group to a count (1 or more) to let them lose that many, or '
                'move them first.' % (shown, describe_budget(self.parsed)))


def out_of_service(placement, snapshot):
    """The agents whose tasks a service cannot count on: filtered, deactivated, draining or disconnected, by the
    backend's read (``snapshot``, a _backends.Snapshot) and by ``/master/state``."""
    return snapshot.filtered_ids | set(snapshot.agents.inactive_ids()) | placement.inactive


def plan_batches(hostnames, budget, out_ids, size, attribute=None):
    """Pack ``hostnames`` (in their order) into batches of at most ``size`` agents such that no batch, with
    ``out_ids`` out of service, takes any group over its budget; with ``attribute``, a batch holds agents of one
    value of that agent attribute (Aurora's grouping: one rack at a time). First fit: each agent goes into the first
    batch it fits in, which keeps the given order where the budget allows.
    Returns ``(batches, blocked)``: batches as lists of hostnames, and ``{hostname: [(group, unavailable)]}`` for
    agents that fit in no batch even alone."""
    placement = budget.placement
    out_ids = set(out_ids)
    base = placement.usage(out_ids)
    batches = []
    open_batches = []
    blocked = {}
    for host in hostnames:
        load = placement.usage(set(placement.ids_by_hostname.get(host) or []) - out_ids)
        over = sorted((g, base.get(g, 0) + n) for g, n in load.items() if base.get(g, 0) + n > budget.allowed(g))
        if over:
            blocked[host] = over
            continue
        value = placement.attribute(host, attribute) if attribute else None
        for batch in open_batches:
            if batch['value'] == value and all(batch['usage'].get(g, 0) + n + base.get(g, 0) <= budget.allowed(g)
                                               for g, n in load.items()):
                break
        else:
            batch = dict(hosts=[], usage={}, value=value)
            batches.append(batch)
            open_batches.append(batch)
        batch['hosts'].append(host)
        for group, count in load.items():
            batch['usage'][group] = batch['usage'].get(group, 0) + count
        if len(batch['hosts']) >= size:
            open_batches.remove(batch)
    return batches, blocked


def fit(hostnames, budget, out_ids):
    """The hostnames (in order) that can be taken out together with ``out_ids`` within the budget, and those that
    cannot (deferred): the check of a planned batch against the placement of now, when tasks may have moved."""
    taken, deferred = [], []
    out = set(out_ids)
    for host in hostnames:
        ids = budget.placement.ids_of([host])
        if budget.excess(out, ids):
            deferred.append(host)
        else:
            taken.append(host)
            out.update(ids)
    return taken, deferred


def plan_lines(batches, budget, attribute=None):
    """The plan for people: each batch, its agents, and the groups it touches with their budget use."""
    lines = []
    for number, batch in enumerate(batches, 1):
        uses = sorted(batch['usage'].items())
        text = ', '.join(('%s %d/%d' % (group, count, budget.allowed(group))) if budget.parsed else
                         ('%s %d' % (group, count)) for group, count in uses[:10])
        if len(uses) > 10:
            text += ', +%d more group(s)' % (len(uses) - 10)
        lines.append('batch %d%s: %s -- %s' % (number, (' (%s=%s)' % (attribute, batch['value'])) if attribute else '',
                                               ', '.join(batch['hosts']), text or 'no group touched'))
    return lines


def blocked_error(blocked, budget):
    """The refusal of a plan with agents no batch can take."""
    hosts = sorted(blocked)
    groups = sorted(set(group for host in hosts for group, unavailable in blocked[host]))

    def over(item):
        group, unavailable = item
        return '%s: %d of %d running unavailable, %s allowed' % (
            group, unavailable, budget.placement.running.get(group, 0), budget.allowance(group))

    def describe(host):
        return '%s (%s)' % (host, name_list(blocked[host], over))

    message = ('The disruption budget max_unavailable_per_group=%s (group_by=%s) leaves no batch for %d agent(s), '
               'even alone: %s. Nothing was changed.' % (describe_budget(budget.parsed), budget.placement.group_by,
                                                         len(hosts), name_list(hosts, describe, '; ', 'agent(s)')))
    hint = budget.never_fits(groups)
    return message + (' ' + hint if hint else '')


def shortfall(placement, before):
    """The groups with fewer running tasks than ``before`` (``{group: running}``): ``{group: (now, before)}``."""
    return dict((group, (placement.running.get(group, 0), count)) for group, count in before.items()
                if placement.running.get(group, 0) < count)


def shortfall_text(short):
    return '; '.join('%s: %d of %d running' % (group, now, before) for group, (now, before) in sorted(short.items()))
