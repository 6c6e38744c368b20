#!/usr/bin/python
# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: offer_filter
short_description: Stop or resume resource offers for Mesos agents (allocator module filters or agent deactivation)
version_added: 1.0.0
description:
  - Adds or removes filters in the C(/allocator/filters) endpoint of the Offer Filtering Allocator module
    (C(im_getty_mesos_OfferFilteringAllocator)) of a Mesos master (O(backend=allocator)), or deactivates and
    reactivates agents with Mesos' own v1 operator API on Mesos 1.9 or later (O(backend=native)). A filtered
    (deactivated) agent gets no new offers, so no new task lands on it (the Mesos counterpart of cordoning a
    Kubernetes node). O(backend=auto) picks the one the leading master supports.
  - With O(backend=native) and O(drain=true), the agents are drained with C(DRAIN_AGENT) (the counterpart of
    draining a Kubernetes node). Mesos deactivates them and kills their tasks.
  - With O(wait=true) the module also waits until the agents run no active task, the counterpart of draining.
  - With O(backend=schedule) (Mesos' maintenance schedule, Mesos 0.25 or later) the agents' machines (hostname and
    IP) are put into ONE new maintenance window of O(window_duration) seconds from now, and are DRAINING. Mesos
    announces the maintenance to the frameworks but does not stop offers. The whole schedule is read, merged and
    written back, so others' windows are kept as they are; a machine already in a window is left there and
    reported in RV(left_alone). O(state=absent) brings DOWN machines up and takes the machines out of the schedule.
  - Finds the leading master itself and talks only to it. This is what keeps it right with build C(0afdd8b) of the
    allocator module, whose standby masters answer with an empty filter list instead of redirecting.
  - Idempotent. It reads the filters and the agents once, then sends only the C(POST) and C(DELETE) requests that
    are needed, over one keep-alive connection, and checks each change in the filter list the master answers with.
    It never uses C(PUT), which does nothing on build C(0afdd8b) and re-activates disconnected agents on later
    builds.
  - Agents can be named by id or by hostname; a filter added by hostname is recognised when asked for by id, and the
    other way round. Every name is resolved against the master's agent list before anything changes.
  - An agent whose connection to the master dropped shows up in the filter list although nobody filtered it. The
    module never removes such an entry (the agent would get offers the moment it comes back) and warns about it.
  - When a request fails in the middle of a bulk change, the module stops there and fails. It does not undo the
    filters it already added (a filtered agent is the safe side); RV(added), RV(removed) and RV(pending) say which
    agents were changed and which were not.
  - With O(backend=native) the same holds, with "filter" meaning "deactivated agent". The module reads the agents once
    with C(GET_AGENTS), then sends one C(DEACTIVATE_AGENT) (or C(DRAIN_AGENT)) or C(REACTIVATE_AGENT) call per agent
    that needs it. Only deactivated agents are reactivated, so a merely disconnected agent is never touched.
    Deactivation is kept in the master's registry, so it survives master failovers and agent re-registrations.
  - Filters live in the leader's memory on build C(0afdd8b) and are lost on a master failover or when the agent
    re-registers. With O(wait=true) the module puts such lost filters back while it waits and counts them in
    RV(reasserted).
author:
  - mesos.maintenance maintainers (@mesos-maintenance)
extends_documentation_fragment:
  - mesos.maintenance._mesos
  - mesos.maintenance._backend
  - mesos.maintenance._wait
  - mesos.maintenance._budget
  - mesos.maintenance._attributes
  - mesos.maintenance._attributes.actiongroup_mesos
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - The diff shows the filter list (agent id and hostname, one per line) before and after. With
        O(backend=native) it lists the deactivated agents, with their drain state when they have one.
  idempotent:
    support: full
options:
  agent_id:
    description:
      - Ids of the agents, as shown in C(/master/state), for example V(7532e174-d91a-49c4-85e6-389ea9fd73c3-S0).
      - With O(state=present) an id the master does not know is an error, and nothing is changed for the other agents.
      - With O(state=absent) an id the master does not know has nothing to remove (a warning says so).
    type: list
    elements: str
    aliases: [agent_ids]
    version_added: 1.0.0
  hostname:
    description:
      - Hostnames of the agents, as the agents registered them.
      - A hostname that names two registered agents (an agent that came back with a new id while the old one is still
        listed) is an error that lists both ids; use O(agent_id) then.
      - Can be combined with O(agent_id); an agent named both ways is handled once.
    type: list
    elements: str
    aliases: [hostnames]
    version_added: 1.0.0
  state:
    description:
      - V(present) filters the agents (they get no new offers); V(absent) removes their filters.
    type: str
    choices: [present, absent]
    default: present
    version_added: 1.0.0
  exclusive:
    description:
      - Only with O(state=present). Also remove every filter of an agent that is not listed, so that the
        listed agents are exactly the filtered ones.
      - With no O(agent_id) and no O(hostname) this removes all filters.
      - Entries of disconnected agents are kept, see the description.
      - With O(backend=native), every deactivated agent that is not listed is reactivated.
    type: bool
    default: false
    version_added: 1.0.0
  drain:
    description:
      - Only with O(state=present) and O(backend=native) (Mesos 1.9 or later). Drain the agents with
        C(DRAIN_AGENT) instead of only deactivating them. Mesos deactivates each agent and kills its tasks (after
        O(drain_grace_period)), then records the drain as C(DRAINED).
      - An agent that is already draining or drained is left alone; one that is only deactivated is drained.
      - With O(wait=true) the module waits until every listed agent is C(DRAINED).
      - Mesos refuses to reactivate an agent while it is still C(DRAINING); O(state=absent) then fails before
        changing anything.
    type: bool
    default: false
    version_added: 1.0.0
  drain_grace_period:
    description:
      - Only with O(drain=true). Seconds each task gets to end after its kill request before it is killed for good
        (C(max_grace_period) of C(DRAIN_AGENT)). Not set, Mesos uses each task's own kill policy.
    type: float
    version_added: 1.0.0
  mark_gone:
    description:
      - Only with O(drain=true). Once drained, mark the agents gone. B(This is permanent.) Mesos removes them for
        good and their ids can never register again; the agent must be started afresh with an empty work
        directory to come back. The module warns when it does this.
    type: bool
    default: false
    version_added: 1.0.0
  window_duration:
    description:
      - Only with O(backend=schedule) and O(state=present). How long the maintenance window that the agents'
        machines are put into lasts, in seconds from now. Mesos tells it to the frameworks (inverse offers, and
        offers that carry it as the agents' unavailability); it does not end the maintenance by itself.
      - Defaults to V(3600).
    type: float
    version_added: 1.0.0
  down:
    description:
      - Only with O(backend=schedule), O(state=present) and O(wait=true). Once the agents' tasks have ended, mark
        their machines DOWN (C(/master/machine/down)). B(Mesos then shuts their agents down), so whatever still
        runs there is lost, and it refuses them until O(state=absent) brings the machines up (C(/master/machine/up))
        and takes them out of the schedule. An agent comes back under a new agent id. The module warns when it
        does this.
    type: bool
    default: false
    version_added: 1.0.0
  max_filtered:
    description:
      - Only with O(state=present). Refuse, before changing anything, to add filters that would leave more than
        this many agents unavailable (filtered or disconnected) in the cluster.
      - A whole number of agents such as V(3), or a percentage of the registered agents such as V("20%")
        (rounded down).
      - The error names the agents that are already unavailable.
      - Removing filters is never refused.
    type: raw
    version_added: 1.0.0
  wait:
    description:
      - Only with O(state=present). Wait until the listed agents run no active task (states C(TASK_STAGING),
        C(TASK_STARTING), C(TASK_RUNNING) and C(TASK_KILLING)), checking once every O(wait_sleep) seconds with one
        C(/master/state-summary) and (O(backend=allocator)) one C(/allocator/filters) request for all agents.
      - With O(drain=true), wait until every listed agent's drain state (C(drain_info.state)) is C(DRAINED), or,
        with O(mark_gone=true), until the agent was marked gone.
      - While waiting, a filter that disappears (master failover, agent re-registration) is added again and counted in
        RV(reasserted), a change of leader is followed, and an agent that came back with a new id is found again by
        its hostname.
      - Not done in check mode; RV(active_tasks) then shows the current counts.
seealso:
  - module: mesos.maintenance.offer_filter_info
    description: Read the filters and the agents' state and task counts.
  - name: Offer Filtering Allocator module
    description: The Mesos allocator module whose endpoint this module uses.
    link: https://github.com/gettyimages/mesos_offer_filtering_allocator_module
  - name: Mesos agent draining and deactivation
    description: Mesos' own DEACTIVATE_AGENT, DRAIN_AGENT and REACTIVATE_AGENT calls (O(backend=native)).
    link: https://mesos.apache.org/documentation/latest/maintenance/
"""

EXAMPLES = r"""
- name: Stop offers to two agents (cordon)
  mesos.maintenance.offer_filter:
    master_url:
      - http://m1.example.com:5050
      - http://m2.example.com:5050
      - http://m3.example.com:5050
    hostname:
      - agent-1.example.com
      - agent-2.example.com

- name: Drain a rack, refusing to take out more than a fifth of the cluster
  mesos.maintenance.offer_filter:
    master_url: "{{ mesos_masters }}"
    hostname: "{{ groups['rack_a'] }}"
    max_filtered: "20%"
    wait: true
    wait_timeout: 1800
    wait_sleep: 10
  register: drain

- name: Take out two agents only if no Marathon app loses more than one instance
  mesos.maintenance.offer_filter:
    master_url: "{{ mesos_masters }}"
    hostname: [agent-7.example.com, agent-8.example.com]
    max_unavailable_per_group: 1
    group_by: task

- name: Show what is still running if the drain timed out
  ansible.builtin.debug:
    var: drain.active_tasks
  when: drain is failed

- name: Resume offers (uncordon) by agent id
  mesos.maintenance.offer_filter:
    master_url: https://m1.example.com:5050
    ca_path: /etc/pki/mesos-ca.pem
    principal: ops
    secret: "{{ vault_mesos_secret }}"
    agent_id: 7532e174-d91a-49c4-85e6-389ea9fd73c3-S0
    state: absent

- name: Drain an agent with Mesos' own draining (Mesos 1.9+), waiting until it is DRAINED
  mesos.maintenance.offer_filter:
    master_url: "{{ mesos_masters }}"
    backend: native
    hostname: agent-3.example.com
    drain: true
    drain_grace_period: 60
    wait: true
    wait_timeout: 1800

- name: Reactivate it
  mesos.maintenance.offer_filter:
    master_url: "{{ mesos_masters }}"
    backend: native
    hostname: agent-3.example.com
    state: absent

- name: Make the filter list exactly these agents, removing all others
  mesos.maintenance.offer_filter:
    master_url: http://m1.example.com:5050
    hostname: [agent-7.example.com]
    exclusive: true

- name: Clear every filter
  mesos.maintenance.offer_filter:
    master_url: http://m1.example.com:5050
    exclusive: true

- name: Set the connection once for all modules of the collection
  module_defaults:
    group/mesos.maintenance.mesos:
      master_url: "{{ mesos_masters }}"
      principal: ops
      secret: "{{ vault_mesos_secret }}"
  block:
    - name: Drain
      mesos.maintenance.offer_filter:
        hostname: "{{ inventory_hostname }}"
        wait: true
      delegate_to: localhost
"""

RETURN = r"""
filters:
  description:
    - The filter list of the leading master after the task (in check mode, as it would be).
    - With RV(backend=native), the deactivated agents.
    - With RV(backend=schedule), the agents whose machine is in the maintenance schedule (DRAINING) or DOWN, plus
      one entry per DOWN machine whose agents the master no longer lists (its RV(filters[].agent_id) is then
      V(machine:<hostname>/<ip>), and O(hostname) still names it).
  returned: success
  type: list
  elements: dict
  contains:
    drain_state:
      description: V(DRAINING), V(DRAINED) or V(null) (not drained, only deactivated).
      type: str
      returned: with RV(backend=native)
      sample: DRAINED
    machine:
      description: The agent's machine as Mesos' maintenance knows it, its hostname and the IP of its pid.
      type: dict
      returned: with RV(backend=schedule)
      sample: {"hostname": "agent-1.example.com", "ip": "10.0.0.5"}
    mode:
      description: The machine's maintenance mode, V(DRAINING) (in the schedule) or V(DOWN).
      type: str
      returned: with RV(backend=schedule)
      sample: DRAINING
    agent_id:
      description: Id of the filtered agent.
      type: str
      returned: always
      sample: 7532e174-d91a-49c4-85e6-389ea9fd73c3-S0
    hostname:
      description: Hostname of the filtered agent.
      type: str
      returned: always
      sample: agent-1.example.com
  sample: [{"agent_id": "7532e174-d91a-49c4-85e6-389ea9fd73c3-S0", "hostname": "agent-1.example.com"}]
added:
  description:
    - Ids of the agents whose filter was added (in check mode, would be added).
    - Also returned on failure, with the agents done before the failure.
  returned: always
  type: list
  elements: str
  sample: [7532e174-d91a-49c4-85e6-389ea9fd73c3-S0]
removed:
  description:
    - Ids of the agents whose filter was removed (in check mode, would be removed).
    - Also returned on failure, with the agents done before the failure.
  returned: always
  type: list
  elements: str
  sample: []
pending:
  description: On failure in the middle of the changes, the ids of the agents not yet changed.
  returned: failure
  type: list
  elements: str
  sample: [0b1cb3d1-2a48-4a56-9d43-4e6e40c8a4d5-S3]
kept_disconnected:
  description: Filter entries of disconnected agents that the module left in place instead of removing them.
  returned: success
  type: list
  elements: str
  sample: []
left_alone:
  description:
    - With RV(backend=schedule) and O(state=present), the named agents whose machine was already in a maintenance
      window (someone else's, or this task's from an earlier run). They are left in that window, never moved into
      the new one. Empty with the other backends.
  returned: success
  type: list
  elements: dict
  contains:
    agent_id:
      description: Id of the agent.
      type: str
      returned: always
      sample: 7532e174-d91a-49c4-85e6-389ea9fd73c3-S0
    hostname:
      description: Hostname of the agent.
      type: str
      returned: always
      sample: agent-1.example.com
    machine:
      description: Its machine, hostname and IP.
      type: dict
      returned: always
      sample: {"hostname": "agent-1.example.com", "ip": "10.0.0.5"}
    window:
      description: The window that holds it, C(start) in unix seconds and C(duration) in seconds (V(null) when the
        window has none).
      type: dict
      returned: always
      sample: {"start": 1700000000.0, "duration": 3600.0}
  sample: []
reasserted:
  description: How many times a filter that disappeared while waiting was added again.
  returned: when O(wait=true)
  type: int
  sample: 1
active_tasks:
  description: Active tasks (staging, starting, running, killing) per listed agent id at the end of the task.
  returned: when O(wait=true)
  type: dict
  sample: {"7532e174-d91a-49c4-85e6-389ea9fd73c3-S0": 0}
waited:
  description: Seconds spent waiting for the tasks to end.
  returned: when O(wait=true)
  type: float
  sample: 12.5
gone:
  description: Ids of the agents that were drained and marked gone while waiting (O(mark_gone=true)).
  returned: when O(mark_gone=true) and O(wait=true) and an agent was marked gone
  type: list
  elements: str
  sample: [7532e174-d91a-49c4-85e6-389ea9fd73c3-S0]
backend:
  description: Which backend ran, V(allocator), V(native) or V(schedule) (what O(backend=auto) chose).
  returned: success, and on failure once it was chosen
  type: str
  sample: native
leader:
  description: Base URL of the leading master the module talked to.
  returned: when a leader was found
  type: str
  sample: http://m2.example.com:5050
build:
  description:
    - Which build of the allocator module the leader runs, V(0afdd8b) or V(later), when the answers showed it;
      otherwise V(null). M(mesos.maintenance.offer_filter_info) asks a standby to tell.
  returned: success
  type: str
  sample: later
actions:
  description: What the module did (or would do in check mode), one line per change.
  returned: success
  type: list
  elements: str
  sample: ["added filter for agent-1.example.com (7532e174-d91a-49c4-85e6-389ea9fd73c3-S0)"]
requests:
  description: Number of HTTP requests the module sent.
  returned: always
  type: int
  sample: 4
"""

import time

from ansible_collections.mesos.maintenance.plugins.module_utils._argspec import (
    BACKEND_ARGSPEC,
    BUDGET_ARGSPEC,
    WAIT_ARGSPEC,
    agent_selection_argspec,
)
from ansible_collections.mesos.maintenance.plugins.module_utils._backends import (
    ALREADY_BACK,
    UNFILTERED_ANSWER_LOST,
    check_backend_options,
    select_backend,
)
from ansible_collections.mesos.maintenance.plugins.module_utils._budget import (
    Budget,
    out_of_service,
    parse_budget,
    parse_group_by,
    read_placement,
)
from ansible_collections.mesos.maintenance.plugins.module_utils._client import MesosModuleClient
from ansible_collections.mesos.maintenance.plugins.module_utils._errors import MesosError, name_list
from ansible_collections.mesos.maintenance.plugins.module_utils._filters import (
    InputError,
    active_task_count,
    check_max_filtered,
    check_wait,
    describe_agent,
    filter_lines,
    parse_max_filtered,
    resolve_targets,
    validate_names,
)


def ambiguous_text(item):
    hostname, agent_ids = item
    return 'hostname %s names %d registered agents (%s): use agent_id to say which' % (
        hostname, len(agent_ids), name_list(agent_ids))


class OfferFilterManager(object):

    def __init__(self, client):
        self.client = client
        self.params = client.module.params
        self.state = self.params['state']
        self.backend = None
        self.added = []
        self.removed = []
        self.pending = []
        self.gone = []
        self.actions = []
        self.reasserted = 0

    def fail(self, msg, **kwargs):
        raise MesosError(msg, **kwargs)

    def validate(self):
        self.agent_ids = validate_names(self.params['agent_id'], 'agent_id')
        self.hostnames = validate_names(self.params['hostname'], 'hostname')
        self.max_filtered = parse_max_filtered(self.params['max_filtered'])
        self.budget = parse_budget(self.params['max_unavailable_per_group'])
        parse_group_by(self.params['group_by'])
        named = self.agent_ids or self.hostnames
        if self.state == 'absent':
            for option in ('exclusive', 'max_filtered', 'drain', 'max_unavailable_per_group', 'down', 'window_duration'):
                if self.params[option] not in (None, False):
                    raise InputError('%s applies to state=present only' % option)
            if not named:
                raise InputError('state=absent needs agent_id or hostname (to remove every filter, use '
                                 'state=present with exclusive=true and no agents)')
            if self.params['wait']:
                self.client.warn('wait applies to state=present only; it was ignored')
        elif not named and not self.params['exclusive']:
            raise InputError('name the agents with agent_id or hostname (or set exclusive=true to remove every '
                             'filter)')
        check_wait(self.params['wait_timeout'], self.params['wait_sleep'])
        if not self.params['drain']:
            for option in ('drain_grace_period', 'mark_gone'):
                if self.params[option] not in (None, False):
                    raise InputError('%s applies to drain=true only' % option)
        if (self.params['drain_grace_period'] or 0) < 0:
            raise InputError('drain_grace_period must not be negative')
        if self.params['down'] and not self.params['wait']:
            raise InputError('down=true needs wait=true: the machines go DOWN once the tasks on them have ended')
        check_backend_options(self.params)

    def run(self):
        self.validate()
        client = self.client
        client.get_leader()
        self.backend = backend = select_backend(client, self.params['backend'], self.params)
        snapshot = backend.read()
        agents, before = snapshot.agents, snapshot.filters
        targets = resolve_targets(self.agent_ids, self.hostnames, agents, before)
        if targets.ambiguous:
            self.fail('%s; nothing was changed'
                      % name_list(targets.ambiguous.items(), ambiguous_text, '; ', 'ambiguous hostname(s)'))
        if targets.unknown:
            if self.state == 'present':
                self.fail('unknown agent(s): %s; the master at %s lists %d agents%s; nothing was changed'
                          % (name_list(targets.unknown), client.leader, len(agents), backend.unknown_hint(snapshot)))
            client.warn('not registered with the master, nothing to remove: %s%s'
                        % (name_list(targets.unknown), backend.unknown_hint(snapshot)))

        plan = backend.plan(self.state, self.params['exclusive'], targets, snapshot)
        for aid in plan.keep_disconnected:
            client.warn('agent %s is disconnected: it shows in the filter list because the master deactivated it, '
                        'and its entry was left in place (removing it would hand out offers for an agent that '
                        'is gone)' % describe_agent(aid, agents.hostname(aid)))
        if self.state == 'present':
            for aid in targets.ids:
                if aid not in plan.add and not agents.is_active(aid):
                    client.warn('agent %s is disconnected: it shows as filtered only because it is disconnected; '
                                'the filter may not survive its re-registration (wait=true puts it back)'
                                % describe_agent(aid, targets.hostnames.get(aid)))
        error = check_max_filtered(self.max_filtered, self.params['max_filtered'], plan, before, agents)
        if error:
            self.fail(error)
        if self.budget and plan.add:
            self.check_budget(plan, snapshot)
        if plan.add and self.params['mark_gone']:
            client.warn('mark_gone=true: once drained, Mesos marks %d agent(s) gone. That is permanent: the master '
                        'removes them for good, and their ids can never register again (the agent must be started '
                        'afresh, with an empty work directory, to come back)' % len(plan.add))

        self.pending = list(plan.add) + list(plan.remove)
        would_add, would_remove = backend.verbs[2:]
        if client.check_mode:
            after = backend.predict(before, plan, targets, agents)
            self.added = list(plan.add)
            self.removed = list(plan.remove)
            self.pending = []
            for aid in plan.add:
                self.actions.append('%s %s' % (would_add, describe_agent(aid, targets.hostnames.get(aid))))
            for aid in plan.remove:
                self.actions.append('%s %s' % (would_remove, describe_agent(aid, agents.hostname(aid))))
        else:
            after = self.apply(plan, targets, agents, before)

        changed = plan.changed if client.check_mode else bool(self.added or self.removed)
        result = dict(
            changed=changed,
            filters=after,
            added=self.added,
            removed=self.removed,
            kept_disconnected=plan.keep_disconnected,
            left_alone=plan.left_alone,
            actions=self.actions,
        )
        if not changed:
            result['msg'] = 'the filters are already as requested'
        elif client.check_mode:
            result['msg'] = 'check mode: %d filter(s) would be added and %d removed' % (len(plan.add),
                                                                                        len(plan.remove))
        else:
            result['msg'] = '%d filter(s) added and %d removed' % (len(self.added), len(self.removed))
        if client.module._diff:
            result['diff'] = dict(before=filter_lines(before), after=filter_lines(after),
                                  before_header='%s%s (before)' % (client.leader, backend.label),
                                  after_header='%s%s (after)' % (client.leader, backend.label))
        if self.state == 'present' and self.params['wait']:
            waited, filters = self.wait(targets, agents)
            result.update(waited)
            if filters is not None:
                result['filters'] = filters
            if self.reasserted:
                result['changed'] = True
            changed_after, actions = backend.after_wait(list(targets.ids), client.check_mode)
            self.actions.extend(actions)
            result['changed'] = result['changed'] or changed_after
        for note in backend.notes:
            client.warn(note)
        return result

    def check_budget(self, plan, snapshot):
        """max_unavailable_per_group: refuse, before any change, a plan that takes a service over its budget."""
        budget = Budget(self.budget, read_placement(self.client, self.params['group_by']))
        out = out_of_service(budget.placement, snapshot)
        excess = budget.excess(out, plan.add)
        if excess:
            self.fail(budget.refusal(excess, out, plan.add, 'taking out %s' % name_list(
                plan.add, lambda aid: describe_agent(aid, snapshot.agents.hostname(aid)))))

    def apply(self, plan, targets, agents, before):
        """Change one agent at a time, so that a failure says exactly which agents were done."""
        backend = self.backend
        done_add, done_remove = backend.verbs[:2]
        gone = set()

        def added(aid):
            self.added.append(aid)
            self.pending.remove(aid)
            self.actions.append('%s %s' % (done_add, describe_agent(aid, targets.hostnames.get(aid))))

        def removed(aid, outcome):
            host = agents.hostname(aid)
            self.pending.remove(aid)
            if outcome == ALREADY_BACK:
                # Somebody put it back between our read and this request.
                self.actions.append('filter for %s was already gone' % describe_agent(aid, host))
                gone.add(aid)
                return
            self.removed.append(aid)
            action = '%s %s' % (done_remove, describe_agent(aid, host))
            if outcome == UNFILTERED_ANSWER_LOST:
                # Our own first attempt did it; no answer lists it as removed, so leave it out of the filters returned.
                action += ' (%s)' % backend.answer_lost_note
                gone.add(aid)
            self.actions.append(action)

        backend.filter_many([(aid, targets.hostnames.get(aid)) for aid in plan.add], added)
        backend.unfilter_many([(aid, agents.hostname(aid)) for aid in plan.remove], removed)
        return backend.filters_after(before, gone)

    def wait(self, targets, agents):
        """Poll until the listed agents are done (no active task; with drain=true, DRAINED), putting back filters
        that disappear."""
        client = self.client
        backend = self.backend
        # Only registered agents run tasks: a target known from the filter list alone (an agent of a DOWN machine,
        # which the master no longer lists) has nothing to wait for.
        tracked = dict((aid, targets.hostnames.get(aid)) for aid in targets.ids if aid in agents.by_id)
        if client.check_mode:
            if not backend.reads_task_counts:
                agents = backend.poll().agents
            counts = dict((aid, active_task_count(agents.by_id.get(aid, {}))) for aid in tracked)
            return dict(active_tasks=counts, reasserted=0, waited=0.0), None
        start = time.monotonic()
        timeout = self.params['wait_timeout']
        sleep = self.params['wait_sleep']
        filters = None
        while True:
            snapshot = backend.poll()
            agents = snapshot.agents
            self.follow_new_ids(tracked, agents)
            for aid in list(tracked):
                if aid in agents.by_id and not backend.is_filtered(snapshot, aid):
                    try:
                        backend.filter(aid, tracked[aid])
                    except MesosError as exc:
                        if not backend.is_unknown_agent(exc):
                            raise
                        # It left after the poll (back under a new id, say): the next poll finds it by hostname.
                        continue
                    self.reasserted += 1
                    self.actions.append('filter for %s had disappeared and was added again'
                                        % describe_agent(aid, tracked[aid]))
            filters = backend.filters_after(snapshot.filters)
            counts = dict((aid, active_task_count(agents.by_id[aid])) for aid in tracked if aid in agents.by_id)
            elapsed = time.monotonic() - start
            busy = dict((aid, backend.remaining(agents.by_id[aid])) for aid in counts)
            busy = dict((aid, text) for aid, text in busy.items() if text)
            if not busy:
                waited = dict(active_tasks=counts, reasserted=self.reasserted, waited=round(elapsed, 3))
                if self.gone:
                    waited['gone'] = self.gone
                return waited, filters
            if elapsed >= timeout:
                self.fail('timed out after %ss waiting for %d agent(s): %s (the filters stay in place)'
                          % (timeout, len(busy), name_list(
                              busy.items(), lambda item: '%s: %s' % (describe_agent(item[0], tracked[item[0]]), item[1]))),
                          active_tasks=counts, reasserted=self.reasserted, waited=round(elapsed, 3),
                          filters=filters)
            time.sleep(max(0.0, min(sleep, timeout - elapsed)))

    def follow_new_ids(self, tracked, agents):
        """An agent that came back without its state has a new id: find it again by hostname."""
        for aid, host in list(tracked.items()):
            if aid in agents.by_id:
                continue
            del tracked[aid]
            if self.params['mark_gone']:
                # What was asked for: the drained agent was marked gone and removed.
                self.gone.append(aid)
                self.actions.append('%s was drained and marked gone' % describe_agent(aid, host))
                continue
            ids = [i for i in agents.ids_by_hostname.get(host) or [] if i not in tracked]
            if len(ids) == 1:
                tracked[ids[0]] = host
                self.client.warn('agent %s re-registered as %s; following the new id'
                                 % (describe_agent(aid, host), ids[0]))
            else:
                self.client.warn('agent %s is no longer registered; it is no longer waited for'
                                 % describe_agent(aid, host))


def main():
    argspec = agent_selection_argspec()
    argspec.update_argspec(
        state=dict(type='str', default='present', choices=['present', 'absent']),
        exclusive=dict(type='bool', default=False),
        max_filtered=dict(type='raw'),
        drain=dict(type='bool', default=False),
        drain_grace_period=dict(type='float'),
        mark_gone=dict(type='bool', default=False),
        window_duration=dict(type='float'),
        down=dict(type='bool', default=False),
        **dict(WAIT_ARGSPEC, **dict(BACKEND_ARGSPEC, **BUDGET_ARGSPEC))
    )
    client = MesosModuleClient(argspec)
    manager = OfferFilterManager(client)
    try:
        result = manager.run()
    except InputError as exc:
        client.fail(str(exc), added=[], removed=[], requests=client.request_count)
    except MesosError as exc:
        # A failure part-way leaves the changes made before it: changed says so.
        exc.do_fail(client.module, changed=bool(manager.added or manager.removed or manager.reasserted),
                    added=manager.added, removed=manager.removed, pending=manager.pending,
                    reasserted=manager.reasserted, leader=client.leader, requests=client.request_count,
                    backend=manager.backend.name if manager.backend else None)
    finally:
        client.close()
    result['leader'] = client.leader
    result['build'] = client.build
    result['backend'] = manager.backend.name
    result['requests'] = client.request_count
    client.module.exit_json(**result)


if __name__ == '__main__':
    main()
