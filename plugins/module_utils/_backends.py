# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The backends that take agents out of the offer cycle, and ``select_backend``, which picks one.

* ``allocator``: a filter in ``/allocator/filters`` of the Offer Filtering Allocator module (Mesos 0.28 to
  1.0.3). Lives in the leader's allocator (and, on later builds, in ZooKeeper).
* ``native``: Mesos' own ``DEACTIVATE_AGENT`` / ``DRAIN_AGENT`` / ``REACTIVATE_AGENT`` calls of the v1 operator
  API (Mesos 1.9+). Kept in the master's registry, so it survives failover and re-registration.
* ``schedule`` (``_schedule``): Mesos' maintenance schedule (0.25+), also in the registry.

Each is a ``Backend`` (``_backend``); with ``auto`` the first request ``select_backend`` sends is also the allocator
backend's first read, so ``auto`` costs the allocator no extra request.
"""

from __future__ import annotations

from ansible_collections.mesos.maintenance.plugins.module_utils._backend import (
    ALREADY_BACK,
    UNFILTERED,
    UNFILTERED_ANSWER_LOST,
    Backend,
    Snapshot,
    refuse_foreign_options,
)
from ansible_collections.mesos.maintenance.plugins.module_utils._client import (
    FILTERS_PATH,
    STATE_SUMMARY_PATH,
    parse_json,
)
from ansible_collections.mesos.maintenance.plugins.module_utils._errors import (
    MesosError,
    name_list,
    not_a_master,
    short_body,
)
from ansible_collections.mesos.maintenance.plugins.module_utils._filters import (
    DRAINED,
    DRAINING,
    NATIVE_MIN_VERSION,
    AgentIndex,
    active_task_count,
    agent_problem,
    compute_native_plan,
    compute_plan,
    deactivated_entries,
    describe_agent,
    drain_state,
    native_agent_report,
    native_slave,
    parse_version,
    predict_filters,
    predict_native_filters,
)
from ansible_collections.mesos.maintenance.plugins.module_utils._schedule import SCHEDULE_MIN_VERSION, ScheduleBackend

OPERATOR_PATH = '/master/api/v1'
VERSION_PATH = '/version'


class AllocatorBackend(Backend):
    """Filters of the Offer Filtering Allocator module."""

    name = 'allocator'
    summary = 'the Offer Filtering Allocator module, Mesos 0.28 to 1.0.3, which cannot drain'
    label = FILTERS_PATH
    verbs = ('added filter for', 'removed filter for', 'would add filter for', 'would remove filter for')
    answer_lost_note = 'the first answer was lost; the retry found the filter already removed'

    def __init__(self, client, filters=None):
        self.client = client
        self._filters = filters   # already read by select_backend
        self._last = None         # the last filter list the master answered a change with

    def read(self):
        agents = AgentIndex(self.client.get_agents())
        filters = self.current_filters()
        self._last = None
        return Snapshot(agents, filters)

    def current_filters(self):
        """The filter list, read now unless ``select_backend`` has just read it."""
        filters = self._filters if self._filters is not None else self.client.get_filters()
        self._filters = None
        return filters

    def inventory(self):
        filters = self.current_filters()
        slaves = self.client.get_agents()
        self.client.probe_build()
        return slaves, filters

    @classmethod
    def status_detail(cls, cluster):
        return ' (allocator module build %s)' % (cluster.get('build') or 'unknown')

    def plan(self, state, exclusive, targets, snapshot):
        return compute_plan(state, exclusive, targets, snapshot.filters, snapshot.agents)

    def filter(self, agent_id, hostname=None):
        answer = self.client.add_filter(agent_id)
        if not answer.has(agent_id):
            raise MesosError('POST %s for %s answered 200 but the agent is not in the filter list the master '
                             'returned; the filter was not applied' % (FILTERS_PATH, describe_agent(agent_id, hostname)))
        self._last = answer

    def unfilter(self, agent_id, hostname=None):
        answer, answer_lost = self.client.remove_filter(agent_id)
        if answer is None:
            return UNFILTERED_ANSWER_LOST if answer_lost else ALREADY_BACK
        if answer.has(agent_id):
            raise MesosError('DELETE %s for %s answered 200 but the agent is still in the filter list'
                             % (FILTERS_PATH, describe_agent(agent_id, hostname)))
        self._last = answer
        return UNFILTERED

    def filters_after(self, entries, gone=()):
        current = self._last.entries() if self._last is not None else entries
        return [f for f in current if f['agent_id'] not in gone]

    def predict(self, entries, plan, targets, agents):
        return predict_filters(entries, plan, targets, agents)

    @staticmethod
    def is_unknown_agent(error):
        """Whether a failed filter() says the master no longer knows the agent."""
        return error.status == 400 and (error.body or '').startswith('No such agent')


class NativeBackend(Backend):
    """Mesos' own agent deactivation and draining (v1 operator API, Mesos 1.9+)."""

    name = 'native'
    summary = "Mesos' own deactivation and draining, Mesos 1.9 or later"
    label = OPERATOR_PATH + ' (deactivated agents)'
    reads_task_counts = False  # read() is GET_AGENTS; poll() reads the task counts from /master/state-summary
    answer_lost_note = 'the first answer was lost; the retry found it already reactivated'
    options = ('drain', 'drain_grace_period', 'mark_gone')
    again_verbs = ('deactivated', 'would deactivate')
    undone_cause = 'someone reactivated it'

    def __init__(self, client, drain=False, drain_grace_period=None, mark_gone=False):
        self.client = client
        self.drain = bool(drain)
        self.drain_grace_period = drain_grace_period
        self.mark_gone = bool(mark_gone)
        if self.drain:
            self.verbs = ('started draining', 'reactivated', 'would drain', 'would reactivate')
        else:
            self.verbs = ('deactivated', 'reactivated', 'would deactivate', 'would reactivate')
        self._changed = {}   # agent id -> entry after our call (None: reactivated)

    # --- the v1 operator API ---------------------------------------------------------------------------
    def call(self, call_type, agent_id=None, hostname=None, **fields):
        """POST one call; returns the 200 response or raises a ``MesosError`` naming the call and the agent."""
        response = self.post(call_type, agent_id, **fields)
        if response.status_code != 200:
            raise self.call_error(response, call_type, describe_agent(agent_id, hostname) if agent_id else None)
        return response

    def post(self, call_type, agent_id=None, **fields):
        """POST one call; returns the leader's answer, whatever its status."""
        body = {'type': call_type}
        if agent_id is not None:
            if not isinstance(agent_id, str) or not agent_id:
                raise MesosError('refusing to send agent id %r: it must be a non-empty string' % (agent_id,))
            message = {'agent_id': {'value': agent_id}}
            message.update(fields)
            body[call_type.lower()] = message
        return self.client.leader_request('POST', OPERATOR_PATH, json_body=body)

    def call_error(self, response, call_type, agent):
        url = self.client.leader + OPERATOR_PATH
        msg = 'HTTP %s' % response.status_code
        try:
            self.client.check_status(response, 'POST', url)
        except MesosError as exc:
            msg = exc.msg
        text = short_body(response.content) or ''
        hint = ''
        if 'Failed to find enum' in text:
            hint = ('; this master does not know %s: backend=native needs Mesos %s or later; on older masters use '
                    'backend=allocator with the Offer Filtering Allocator module' % (call_type, _dotted(NATIVE_MIN_VERSION)))
        elif response.status_code == 404:
            hint = '; this master has no v1 operator API: backend=native needs Mesos %s or later' % _dotted(
                NATIVE_MIN_VERSION)
        elif text == 'Unknown agent':
            hint = '; the master does not know the agent (removed since the agents were read?)'
        elif 'DRAINING' in text:
            hint = '; wait until the drain finished (drain_state DRAINED, offer_filter with drain=true and wait=true)'
        where = '%s for %s' % (call_type, agent) if agent else call_type
        return MesosError('%s: %s%s' % (where, msg, hint), method='POST', url=url, status=response.status_code,
                          body=response.content)

    def get_agents(self):
        """``GET_AGENTS`` as agent dicts like ``/master/state-summary``'s (id, hostname, active, deactivated,
        drain_info), without task counts."""
        response = self.call('GET_AGENTS')
        url = self.client.leader + OPERATOR_PATH
        body = parse_json(response, 'POST', url)
        agents = (body.get('get_agents') or {}).get('agents', []) if isinstance(body, dict) else None
        if not isinstance(agents, list):
            raise MesosError('GET_AGENTS at %s: the answer has no "get_agents.agents" list (got %s)'
                             % (url, short_body(response.content, 120)), method='POST', url=url)
        slaves = []
        for agent in agents:
            info = agent.get('agent_info') if isinstance(agent, dict) else None
            agent_id = ((info or {}).get('id') or {}).get('value')
            if not isinstance(agent_id, str):
                raise MesosError('GET_AGENTS at %s: unexpected agent %s' % (url, short_body(repr(agent), 120)))
            if 'deactivated' not in agent:
                raise MesosError('GET_AGENTS at %s lists agents without a "deactivated" field: this master is older '
                                 'than Mesos %s and cannot deactivate agents; use backend=allocator with the Offer '
                                 'Filtering Allocator module' % (url, _dotted(NATIVE_MIN_VERSION)),
                                 method='POST', url=url)
            slaves.append({'id': agent_id, 'hostname': info.get('hostname'), 'active': agent.get('active'),
                           'deactivated': agent['deactivated'], 'drain_info': agent.get('drain_info')})
        problem = agent_problem(slaves)
        if problem:
            raise not_a_master('GET_AGENTS at %s' % url, problem, method='POST', url=url)
        return slaves

    # --- the backend interface -------------------------------------------------------------------------
    def _snapshot(self, slaves):
        self._changed = {}
        slaves = [native_slave(s) for s in slaves if isinstance(s, dict) and isinstance(s.get('id'), str)]
        return Snapshot(AgentIndex(slaves), deactivated_entries(slaves))

    def read(self):
        return self._snapshot(self.get_agents())

    def poll(self):
        return self._snapshot(self.state_summary())

    def inventory(self):
        slaves = self.state_summary()
        return slaves, deactivated_entries(slaves)

    def agent_report(self, slave, filtered_ids):
        return native_agent_report(slave)

    def is_connected(self, slave):
        # Mesos shows a deactivated agent as not active, connected or not; a connected one is still listed.
        return True

    def state_summary(self):
        """The agents from ``/master/state-summary``: one request with task counts and (Mesos 1.9+) ``deactivated``
        and ``drain_info``."""
        slaves = self.client.get_agents()
        for slave in slaves:
            if isinstance(slave, dict) and 'deactivated' not in slave:
                raise MesosError('%s%s lists agents without a "deactivated" field: this master is older than Mesos %s '
                                 'and cannot deactivate agents; use backend=allocator with the Offer Filtering '
                                 'Allocator module' % (self.client.leader, STATE_SUMMARY_PATH,
                                                       _dotted(NATIVE_MIN_VERSION)))
        return slaves

    def plan(self, state, exclusive, targets, snapshot):
        plan = compute_native_plan(state, exclusive, targets, snapshot.filters, snapshot.agents, self.drain)
        draining = [e for e in snapshot.filters if e['agent_id'] in plan.remove and e.get('drain_state') == DRAINING]
        if draining:
            # The master refuses REACTIVATE_AGENT while an agent drains: say so before changing anything.
            raise MesosError('cannot reactivate %s: still DRAINING, and Mesos reactivates an agent only once its drain '
                             'is DRAINED; wait for it (offer_filter with drain=true and wait=true) and try again; '
                             'nothing was changed'
                             % name_list(draining, lambda e: describe_agent(e['agent_id'], e.get('hostname'))))
        return plan

    def filter(self, agent_id, hostname=None):
        if self.drain:
            fields = {}
            if self.drain_grace_period is not None:
                fields['max_grace_period'] = duration(self.drain_grace_period)
            if self.mark_gone:
                fields['mark_gone'] = True
            self.call('DRAIN_AGENT', agent_id, hostname, **fields)
        else:
            self.call('DEACTIVATE_AGENT', agent_id, hostname)
        self._changed[agent_id] = {'agent_id': agent_id, 'hostname': hostname,
                                   'drain_state': DRAINING if self.drain else None}

    def unfilter(self, agent_id, hostname=None):
        response = self.post('REACTIVATE_AGENT', agent_id)
        if response.status_code == 200:
            outcome = UNFILTERED
        elif response.status_code == 400 and short_body(response.content) == 'Agent is not deactivated':
            # The leader answers this itself (a standby redirects): somebody reactivated it first, or a retry
            # after a lost answer found our own first call done.
            outcome = UNFILTERED_ANSWER_LOST if response.answer_lost else ALREADY_BACK
        else:
            raise self.call_error(response, 'REACTIVATE_AGENT', describe_agent(agent_id, hostname))
        self._changed[agent_id] = None
        return outcome

    def filters_after(self, entries, gone=()):
        result = []
        for entry in entries:
            aid = entry['agent_id']
            if aid in gone or (aid in self._changed and self._changed[aid] is None):
                continue
            changed = self._changed.get(aid)
            if changed:
                entry = dict(entry, drain_state=changed['drain_state'] or entry.get('drain_state'))
            result.append(dict(entry))
        listed = set(e['agent_id'] for e in entries)
        result.extend(dict(e) for aid, e in self._changed.items() if e is not None and aid not in listed)
        return result

    def predict(self, entries, plan, targets, agents):
        return predict_native_filters(entries, plan, targets, agents, self.drain)

    def is_filtered(self, snapshot, agent_id):
        # Draining, an agent counts as out once its drain has started.
        for entry in snapshot.filters:
            if entry['agent_id'] == agent_id:
                return bool(entry.get('drain_state')) or not self.drain
        return False

    @staticmethod
    def is_unknown_agent(error):
        """Whether a failed filter() says the master no longer knows the agent."""
        return error.status == 400 and (error.body or '') == 'Unknown agent'

    def remaining(self, slave):
        count = active_task_count(slave)
        if self.drain:
            state = drain_state(slave)
            if state != DRAINED:
                return 'drain %s, %d active' % (state or 'not started', count)
            return None
        return '%d active' % count if count else None


def duration(seconds):
    """``seconds`` as the google.protobuf.Duration that DRAIN_AGENT's ``max_grace_period`` is. Mesos ignores
    fields it does not know: the ``{"nanoseconds": N}`` that GET_AGENTS reports it in would drain with 0 s."""
    nanoseconds = int(round(seconds * 1e9))
    return {'seconds': nanoseconds // 1000000000, 'nanos': nanoseconds % 1000000000}


def _dotted(version):
    return '.'.join(str(part) for part in version)


BACKENDS = dict((cls.name, cls) for cls in (AllocatorBackend, NativeBackend, ScheduleBackend))


def check_backend_options(params):
    """Refuse, before any request, options of another backend than the one ``params['backend']`` names."""
    if params['backend'] in BACKENDS:
        refuse_foreign_options(BACKENDS[params['backend']], params, BACKENDS.values())


def make_backend(cls, client, params, chosen_by=None, **kwargs):
    refuse_foreign_options(cls, params, BACKENDS.values(), chosen_by)
    options = dict((option, params[option]) for option in cls.options if params.get(option) is not None)
    return cls(client, **dict(options, **kwargs))


def select_backend(client, requested, params=None, keep_probe=True):
    """The backend to use, made with its options from ``params`` (options of another backend are refused). ``auto``
    asks the leader's ``/allocator/filters`` (an answer: allocator), else its ``/version`` (1.9 or later: native;
    0.25 or later: schedule, with a warning), else fails saying what to install. With ``keep_probe`` the allocator
    backend's first read reuses that answer; a caller that must read under a lock taken later passes False."""
    params = params or {}
    if requested in BACKENDS:
        return make_backend(BACKENDS[requested], client, params)
    # Not waiting out a 503: on later module builds it comes from the module's own leader check, which fails for
    # reasons (credentials) that the allocator backend's first read diagnoses better.
    response = client.leader_request('GET', FILTERS_PATH, wait_unavailable=False)
    if response.status_code == 200:
        probe = client.filters_from_response(response) if keep_probe else None
        return make_backend(AllocatorBackend, client, params, client.leader, filters=probe)
    if response.status_code != 404:
        # Only the module answers anything but 404 there; the allocator backend reads again and reports.
        return make_backend(AllocatorBackend, client, params, client.leader)
    body = client.get_json(VERSION_PATH)
    text = body.get('version') if isinstance(body, dict) else None
    version = parse_version(text)
    if version is not None and version >= NATIVE_MIN_VERSION:
        return make_backend(NativeBackend, client, params, client.leader)
    if version is not None and version >= SCHEDULE_MIN_VERSION:
        backend = make_backend(ScheduleBackend, client, params, client.leader)
        client.warn('backend=auto chose schedule: the leading master at %s runs Mesos %s, without the Offer Filtering '
                    'Allocator module and older than %s, so agents are taken out with Mesos\' maintenance schedule. A '
                    'machine in the schedule is DRAINING: that announces the maintenance (inverse offers to the '
                    'frameworks, offers carrying its unavailability) but does not stop offers; only frameworks that '
                    'honour it (Marathon 1.6+ with its maintenance_mode feature, Aurora) keep new tasks off it. '
                    'Set backend=schedule to silence this warning, or load the module and use backend=allocator to '
                    'block offers' % (client.leader, text, _dotted(NATIVE_MIN_VERSION)))
        return backend
    raise MesosError(
        'backend=auto: the leading master at %s runs Mesos %s and answers 404 to %s, so no backend can work. '
        'Mesos\' maintenance schedule (backend=schedule) needs Mesos %s or later; the Offer Filtering Allocator module '
        '(im_getty_mesos_OfferFilteringAllocator, installed by the mesos.maintenance.offer_filter_allocator role, '
        'backend=allocator) Mesos 0.28 to 1.0.3; Mesos\' own DEACTIVATE_AGENT/REACTIVATE_AGENT (backend=native) '
        'Mesos %s or later'
        % (client.leader, text or 'of an unknown version', FILTERS_PATH, _dotted(SCHEDULE_MIN_VERSION),
           _dotted(NATIVE_MIN_VERSION)),
        method='GET', url=client.leader + FILTERS_PATH, status=404)
