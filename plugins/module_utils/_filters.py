# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Pure logic of the offer filter modules: no HTTP, no AnsibleModule.

Agents come from ``/master/state-summary`` (``slaves``), filters from ``/allocator/filters``; both are
plain data here, so everything in this file can be tested with literals. With the ``native`` backend a
"filter" is Mesos' own agent deactivation (1.9+), read from the agents' ``deactivated`` and ``drain_info``.
"""

from __future__ import annotations

import json
import math

from ansible_collections.mesos.maintenance.plugins.module_utils._errors import name_list

# The shortest pause between two looks of a wait: each look reads every agent, and a wait may last hours.
WAIT_SLEEP_MIN = 0.1

# Task states that keep an agent busy (the ones a drain waits for).
ACTIVE_TASK_STATES = ('TASK_STAGING', 'TASK_STARTING', 'TASK_RUNNING', 'TASK_KILLING')
TASK_STATES = ACTIVE_TASK_STATES + (
    'TASK_FINISHED', 'TASK_KILLED', 'TASK_FAILED', 'TASK_LOST', 'TASK_ERROR',
    'TASK_DROPPED', 'TASK_UNREACHABLE', 'TASK_GONE', 'TASK_GONE_BY_OPERATOR', 'TASK_UNKNOWN')


class InputError(ValueError):
    """Bad module input, found before anything was asked of or changed on the cluster."""


class AgentIndex(object):
    """Registered agents, by id and by hostname, in the master's order."""

    def __init__(self, slaves):
        self.by_id = {}
        self.ids_by_hostname = {}
        for slave in slaves:
            if not isinstance(slave, dict) or not isinstance(slave.get('id'), str):
                continue
            self.by_id[slave['id']] = slave
            self.ids_by_hostname.setdefault(slave.get('hostname'), []).append(slave['id'])

    def __len__(self):
        return len(self.by_id)

    def hostname(self, agent_id):
        slave = self.by_id.get(agent_id)
        return slave.get('hostname') if slave else None

    def is_active(self, agent_id):
        """False for an agent whose connection to the master dropped (shown ``active: false``)."""
        slave = self.by_id.get(agent_id)
        return bool(slave.get('active', True)) if slave else True

    def inactive_ids(self):
        return [agent_id for agent_id, slave in self.by_id.items() if not slave.get('active', True)]


def agent_problem(slaves):
    """What makes a master's agent list unusable, or ``None``: a hostname that is not a string, a task count that is
    not a whole number. Checked where the list is read, so that nothing is decided on it (entries without a string
    ``id`` are no agents and are skipped where the list is used)."""
    for slave in slaves:
        if not isinstance(slave, dict) or not isinstance(slave.get('id'), str):
            continue
        hostname = slave.get('hostname')
        if hostname is not None and not isinstance(hostname, str):
            return 'agent %s has the hostname %s, not a string' % (slave['id'], _shown(hostname))
        for state in TASK_STATES:
            count = slave.get(state)
            if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 0):
                return 'agent %s has %s: %s, not a number of tasks' % (slave['id'], state, _shown(count))
    return None


def framework_problem(frameworks):
    """What makes a master's framework list unusable to tell which frameworks run on which agents, or ``None``:
    ``slave_ids`` that is not a list of agent ids."""
    for framework in frameworks:
        if not isinstance(framework, dict):
            continue
        agent_ids = framework.get('slave_ids')
        if agent_ids is None:
            continue
        name = framework.get('id') if isinstance(framework.get('id'), str) else _shown(framework.get('id'))
        if not isinstance(agent_ids, list):
            return 'framework %s has slave_ids %s, not a list of agent ids' % (name, _shown(agent_ids))
        for agent_id in agent_ids:
            if not isinstance(agent_id, str):
                return 'framework %s has the slave_ids entry %s, not an agent id' % (name, _shown(agent_id))
    return None


def _shown(value, limit=60):
    text = json.dumps(value)
    return text if len(text) <= limit else text[:limit] + '...'


def active_task_count(slave):
    return sum(int(slave.get(state) or 0) for state in ACTIVE_TASK_STATES)


def task_counts(slave):
    """Task counts by state, states without a task left out (a cluster's worth of zeros is slow to return)."""
    counts = {}
    for state in TASK_STATES:
        count = slave.get(state)
        if count:
            counts[state] = int(count)
    return counts


def check_wait(timeout, sleep, option='wait'):
    """``<option>_timeout`` and ``<option>_sleep`` of a module that waits."""
    _check_duration('%s_timeout' % option, timeout, 'checks once')
    _check_pause('%s_sleep' % option, sleep)


def check_hold(interval, timeout, interval_option='hold_interval'):
    """The interval and ``hold_timeout`` of a hold: it looks at the master every interval, for hours."""
    _check_pause(interval_option, interval)
    _check_duration('hold_timeout', timeout, 'looks once')


def _check_duration(option, value, at_zero):
    if not value >= 0:  # also refuses NaN
        raise InputError('%s must not be negative (0 %s), not %s' % (option, at_zero, value))


def _check_pause(option, value):
    if not value >= WAIT_SLEEP_MIN:  # also refuses NaN
        raise InputError('%s must be at least %s seconds (a shorter pause only loads the master), not %s'
                         % (option, WAIT_SLEEP_MIN, value))


def validate_names(values, option):
    """The agent ids / hostnames the user gave: stripped, non-empty, duplicates dropped, order kept."""
    result = []
    seen = set()  # a list's `in` made 30,000 names take half a minute
    for value in values or []:
        if not isinstance(value, str) or not value.strip():
            raise InputError('%s contains an empty entry' % option)
        value = value.strip()
        if value not in seen:
            seen.add(value)
            result.append(value)
    return result


class Targets(object):
    """The agents a task names, resolved against the master's agent list (and the filter list)."""

    def __init__(self):
        self.ids = []            # resolved agent ids, in the order asked
        self.hostnames = {}      # agent id -> hostname
        self.unknown = []        # human-readable names that match no agent
        self.ambiguous = {}      # hostname -> [agent ids]

    def add(self, agent_id, hostname):
        if agent_id not in self.hostnames:
            self.ids.append(agent_id)
            self.hostnames[agent_id] = hostname


def resolve_targets(agent_ids, hostnames, agents, filters):
    """Resolve ids and hostnames to agent ids.

    An id or hostname the master does not list, but the filter list does, still resolves (the
    allocator is the authority on filters). A hostname that names two registered agents is ambiguous.
    """
    filter_hosts = dict((f['agent_id'], f.get('hostname')) for f in filters)
    targets = Targets()
    for agent_id in agent_ids:
        if agent_id in agents.by_id:
            targets.add(agent_id, agents.hostname(agent_id))
        elif agent_id in filter_hosts:
            targets.add(agent_id, filter_hosts[agent_id])
        else:
            targets.unknown.append('agent id %s' % agent_id)
    for hostname in hostnames:
        ids = agents.ids_by_hostname.get(hostname) or []
        if not ids:
            ids = [aid for aid, host in filter_hosts.items() if host == hostname]
        if len(ids) == 1:
            targets.add(ids[0], hostname)
        elif len(ids) > 1:
            targets.ambiguous[hostname] = sorted(ids)
        else:
            targets.unknown.append('hostname %s' % hostname)
    return targets


class Plan(object):
    def __init__(self):
        self.add = []                 # agent ids to POST
        self.remove = []              # agent ids to DELETE
        self.keep_disconnected = []   # filter entries left alone because the agent is disconnected
        self.left_alone = []          # named agents already out by someone else's means, left as they are (dicts)

    @property
    def changed(self):
        return bool(self.add or self.remove)


def compute_plan(state, exclusive, targets, filters, agents):
    """What to add and remove to get from ``filters`` to the wanted state.

    A disconnected agent shows up in the filter list although nobody filtered it; removing that entry
    would re-activate an agent that is gone, so such entries are never removed (``keep_disconnected``).
    """
    filtered = [f['agent_id'] for f in filters]
    filtered_set = set(filtered)
    wanted = set(targets.ids)
    plan = Plan()
    if state == 'present':
        plan.add = [aid for aid in targets.ids if aid not in filtered_set]
        candidates = [aid for aid in filtered if aid not in wanted] if exclusive else []
    else:
        candidates = [aid for aid in targets.ids if aid in filtered_set]
    for aid in candidates:
        if agents.is_active(aid):
            plan.remove.append(aid)
        else:
            plan.keep_disconnected.append(aid)
    return plan


def parse_max_filtered(value):
    """``max_filtered`` as ``(number, is_percent)``; ``None`` when not set."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise InputError('max_filtered must be a number of agents or a percentage such as "20%%", not %r' % value)
    if isinstance(value, int):
        number, percent = value, False
    elif isinstance(value, float):
        if not value.is_integer():
            raise InputError('max_filtered must be a whole number of agents, not %r' % value)
        number, percent = int(value), False
    elif isinstance(value, str):
        text = value.strip()
        percent = text.endswith('%')
        if percent:
            text = text[:-1].strip()
        try:
            number = float(text) if percent else int(text)
        except ValueError:
            number = None
        if number is None or math.isnan(number):
            raise InputError('max_filtered must be a number of agents or a percentage such as "20%%", not %r'
                             % value)
    else:
        raise InputError('max_filtered must be a number of agents or a percentage such as "20%%", not %r' % value)
    if number < 0 or (percent and number > 100):
        raise InputError('max_filtered out of range: %r' % value)
    return number, percent


def max_filtered_limit(parsed, total_agents):
    """The number of agents that may be unavailable, from ``parse_max_filtered``'s result."""
    number, percent = parsed
    if percent:
        return int(math.floor(total_agents * number / 100.0 + 1e-9))
    return int(number)


def guard_text(parsed, raw, total, name='max_filtered'):
    """What the guard ``name`` allows of ``total`` agents, a percentage's rounding spelled out: 10% of 4 agents
    allows none, which is not what its user expects."""
    limit = max_filtered_limit(parsed, total)
    text = '%s=%s allows %d of %d agents' % (name, raw, limit, total)
    number, percent = parsed
    exact = total * number / 100.0
    if percent and abs(exact - limit) > 1e-9:
        text += ' (%g%% of %d is %g, rounded down)' % (number, total, exact)
    return text


def guard_advice(parsed, needed, total, name='max_filtered'):
    """How to set the guard ``name``, in the unit it was given in, to let ``needed`` agents be unavailable."""
    if needed > total:
        return 'take fewer agents at once'
    if parsed[1]:
        return 'set %s to %d%% or more' % (name, int(math.ceil(needed * 100.0 / total - 1e-9)))
    return 'set %s to %d or more' % (name, needed)


def agent_name(agent_id, agents):
    """An agent by hostname, with the id only where its hostname is unknown or registered under several ids."""
    host = agents.hostname(agent_id)
    shared = len(agents.ids_by_hostname.get(host) or []) > 1
    return describe_agent(agent_id, host) if not host or shared else host


def check_max_filtered(parsed, raw, plan, filters, agents):
    """An error message if the plan would leave more than ``max_filtered`` agents unavailable, else None.

    Unavailable means filtered or disconnected. Removals count in the plan's favour; nothing is refused
    when the plan adds no filter.
    """
    if parsed is None or not plan.add:
        return None
    filtered = [f['agent_id'] for f in filters]
    unavailable_now = list(dict.fromkeys(filtered + agents.inactive_ids()))  # a list's `in` was quadratic
    after = set(unavailable_now) | set(plan.add)
    after -= set(plan.remove)
    total = len(set(agents.by_id) | set(filtered))
    if len(after) <= max_filtered_limit(parsed, total):
        return None

    def unavailable(aid):
        return '%s (%s)' % (agent_name(aid, agents), 'disconnected' if not agents.is_active(aid) else 'filtered')

    return ('refusing to filter %s: %d of %d agents would be unavailable (filtered or disconnected), more than %s. '
            'Already unavailable: %s. Nothing was changed. To go on, %s.'
            % (name_list(plan.add, lambda aid: agent_name(aid, agents)), len(after), total,
               guard_text(parsed, raw, total), name_list(unavailable_now, unavailable) or 'none',
               guard_advice(parsed, len(after), total)))


def filter_lines(filters):
    """The filter list as sorted text lines, for diff mode (with the drain state when the entry has one)."""
    lines = sorted('%s %s %s' % (f['agent_id'], f.get('hostname') or '', f.get('drain_state') or '') for f in filters)
    return ''.join(line.rstrip() + '\n' for line in lines)


def predict_filters(filters, plan, targets, agents):
    """The filter list after the plan, for check mode."""
    removed = set(plan.remove)
    result = [dict(f) for f in filters if f['agent_id'] not in removed]
    for aid in plan.add:
        result.append({'agent_id': aid, 'hostname': targets.hostnames.get(aid) or agents.hostname(aid)})
    return result


def describe_agent(agent_id, hostname):
    return '%s (%s)' % (hostname, agent_id) if hostname else agent_id


def agent_report(slave, filtered_ids):
    """One agent as offer_filter_info returns it."""
    agent_id = slave['id']
    active = bool(slave.get('active', True))
    if agent_id in filtered_ids:
        # A disconnected agent is deactivated by the master too: whether someone also filtered it is unknowable.
        filtered = True if active else None
    else:
        filtered = False
    return {
        'agent_id': agent_id,
        'hostname': slave.get('hostname'),
        'active': active,
        'filtered': filtered,
        'active_tasks': active_task_count(slave),
        'tasks': task_counts(slave),
        'resources': slave.get('resources') or {},
    }


# --- Mesos' own deactivation and draining (backend native) -----------------------------------------------
NATIVE_MIN_VERSION = (1, 9)
DRAINING = 'DRAINING'
DRAINED = 'DRAINED'


def parse_version(text):
    """``'1.11.0'`` -> ``(1, 11, 0)``; ``None`` for anything else."""
    if not isinstance(text, str):
        return None
    parts = []
    for part in text.strip().split('-')[0].split('.'):
        if not part.isdigit():
            return None
        parts.append(int(part))
    return tuple(parts) if len(parts) >= 2 else None


def drain_state(slave):
    """``DRAINING``, ``DRAINED`` or ``None`` from an agent's ``drain_info``."""
    info = slave.get('drain_info')
    return info.get('state') if isinstance(info, dict) else None


def native_slave(slave):
    """An agent for planning with the native backend.

    Mesos 1.9+ shows a deactivated agent ``active: false``, like a disconnected one. Here ``active`` means
    "not disconnected as far as the master tells", so that a deactivated agent counts as filtered, not gone.
    """
    result = dict(slave)
    result['deactivated'] = bool(slave.get('deactivated'))
    result['active'] = bool(slave.get('active', True)) or result['deactivated']
    return result


def deactivated_entries(slaves):
    """The deactivated agents as filter entries ``{'agent_id', 'hostname', 'drain_state'}``."""
    return [{'agent_id': s['id'], 'hostname': s.get('hostname'), 'drain_state': drain_state(s)}
            for s in slaves if s.get('deactivated')]


def compute_native_plan(state, exclusive, targets, entries, agents, drain):
    """``compute_plan`` for the native backend: with ``drain``, a listed agent that is deactivated but not
    draining or drained still needs ``DRAIN_AGENT``."""
    plan = compute_plan(state, exclusive, targets, entries, agents)
    if state == 'present' and drain:
        drained = set(e['agent_id'] for e in entries if e.get('drain_state'))
        plan.add = [aid for aid in targets.ids if aid not in drained]
    return plan


def predict_native_filters(entries, plan, targets, agents, drain):
    """The deactivated agents after the plan (a 200 to the call means the master's registry holds it)."""
    removed = set(plan.remove)
    added = set(plan.add)
    result = []
    for entry in entries:
        if entry['agent_id'] in removed:
            continue
        entry = dict(entry)
        if entry['agent_id'] in added and drain:
            entry['drain_state'] = DRAINING
        result.append(entry)
    listed = set(e['agent_id'] for e in entries)
    for aid in plan.add:
        if aid not in listed:
            result.append({'agent_id': aid, 'hostname': targets.hostnames.get(aid) or agents.hostname(aid),
                           'drain_state': DRAINING if drain else None})
    return result


def native_agent_report(slave):
    """One agent as offer_filter_info returns it with the native backend."""
    report = agent_report(slave, set())
    report['deactivated'] = bool(slave.get('deactivated'))
    report['filtered'] = report['deactivated']
    report['drain_state'] = drain_state(slave)
    return report
