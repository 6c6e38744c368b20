#!/usr/bin/python
# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: offer_filter_hold
short_description: Keep Mesos agents filtered, by hostname, while their maintenance runs
version_added: 1.0.0
description:
  - Keeps the agents named by O(hostname) filtered while a maintenance runs, in the C(/allocator/filters) endpoint
    of the Offer Filtering Allocator module (O(backend=allocator)), or deactivated with Mesos' own
    C(DEACTIVATE_AGENT) (O(backend=native), Mesos 1.9 or later). Meant to run in the background (C(async) with
    C(poll=0)) next to the maintenance tasks, and to be released and awaited (M(ansible.builtin.async_status))
    when they are done.
  - Every O(interval) seconds it reads the agents and the filters of the leading master once (two requests; one
    C(GET_AGENTS) with O(backend=native)) and filters again every agent id of a held hostname that is registered
    but not filtered. A filter is lost when the agent comes back under a new agent id (without its checkpointed
    state, as after many reboots), on build C(0afdd8b) also when the agent disconnects and re-registers and on a
    leader failover. The new id is found by hostname.
  - With O(backend=native) a deactivation outlives failovers and re-registrations, but an agent that comes back
    under a new id is a new, active agent; the hold deactivates it (C(DEACTIVATE_AGENT), never C(DRAIN_AGENT),
    the new agent has no tasks of the old one).
  - The hold ends when O(release_file) no longer exists (the playbook removes it), or after O(hold_timeout) seconds.
    It looks at least once, so a release that comes before the hold has started is not missed.
  - It never removes a filter. Restoring the agents is the job of M(mesos.maintenance.offer_filter) with
    O(mesos.maintenance.offer_filter#module:state=absent) once the hold has ended.
  - A held hostname that is not registered (the agent is away) is left alone until it is back.
  - The first look must succeed; a failing look after that (the masters are electing a leader, a request timed
    out) is reported in RV(errors) and the hold goes on.
author:
  - mesos.maintenance maintainers (@mesos-maintenance)
extends_documentation_fragment:
  - mesos.maintenance._mesos
  - mesos.maintenance._backend
  - mesos.maintenance._attributes
  - mesos.maintenance._attributes.actiongroup_mesos
attributes:
  check_mode:
    support: full
    details:
      - In check mode the module looks once, reports in RV(reasserted) what it would filter again, and returns.
  diff_mode:
    support: full
    details:
      - The diff shows the filter list (agent id and hostname, one per line) at the first look and at the end;
        with O(backend=native) the deactivated agents.
  idempotent:
    support: full
    details:
      - It changes something only when a held agent is registered but not filtered, and then ends C(changed).
options:
  hostname:
    description:
      - Hostnames of the agents to keep filtered, as the agents registered them.
      - Every registered agent id of such a hostname is kept filtered, so an agent that came back under a new id
        is filtered again without knowing that id.
    type: list
    elements: str
    required: true
    aliases: [hostnames]
    version_added: 1.0.0
  interval:
    description:
      - Seconds between two looks at the agents and the filters, at least V(0.1).
      - A lost filter is put back at most this long after the master lost it (plus the time of one look).
    type: float
    default: 5.0
    version_added: 1.0.0
  release_file:
    description:
      - Path of a file on the host that runs the module (the controller, or the host the task is delegated to).
        The hold goes on while this file exists and ends soon after it is removed (the module checks several times
        a second).
      - Create it before starting the hold (M(ansible.builtin.tempfile) does), and remove it with
        M(ansible.builtin.file) O(ansible.builtin.file#module:state=absent) on the same host to release the hold.
      - If it does not exist when the hold starts, the hold looks once and ends.
      - After its first look the module appends a line V(holding) to the file, or V(failed) when that look failed,
        so that a playbook can wait (M(ansible.builtin.wait_for) with O(ansible.builtin.wait_for#module:search_regex))
        until the hold is in force before the maintenance begins.
      - Not set, the hold ends only after O(hold_timeout).
    type: path
    version_added: 1.0.0
  hold_timeout:
    description:
      - Seconds after which the hold ends even if O(release_file) still exists (a warning says so); V(0) looks once.
      - Keep it below the C(async) value of the task, or Ansible stops the module first and its result is lost.
      - Not set, V(3600); or, until version 2.0.0, the value of O(timeout) when that is set (deprecated).
    type: float
    version_added: 1.0.0
  timeout:
    description:
      - Seconds to wait for the answer to one HTTP request, greater than 0; V(10) when not set.
      - A request to a leader that stopped answering fails after this time and the hold asks the masters for the new
        leader, so keep it well below O(hold_timeout).
      - B(Deprecated meaning:) when O(hold_timeout) is not set, O(timeout) is the hold's duration (as before
        O(hold_timeout) existed) and requests wait V(10) seconds; a deprecation warning says so. From version 2.0.0
        on, O(timeout) is only the request timeout, as in the other modules. Set O(hold_timeout).
    type: float
    # Overrides the default of the mesos.maintenance._mesos fragment: not set must be told from set (see above).
    default: null
    version_added: 1.0.0
notes:
  - The hold runs on one host and talks to the leading master only; it follows a change of leader like the other
    modules of the collection.
seealso:
  - module: mesos.maintenance.offer_filter
    description: Filter the agents first (and wait until they are drained), and remove the filters after the hold.
  - module: mesos.maintenance.offer_filter_info
    description: Read the filters and the agents' state and task counts.
  - module: ansible.builtin.async_status
    description: Wait for the hold to end after releasing it.
"""

EXAMPLES = r"""
- name: Drain the agent
  mesos.maintenance.offer_filter:
    master_url: "{{ mesos_masters }}"
    hostname: "{{ inventory_hostname }}"
    wait: true
  delegate_to: localhost

- name: Create the release file of the hold
  ansible.builtin.tempfile:
    prefix: mesos-hold-
  register: hold_file
  delegate_to: localhost

- name: Keep the agent filtered while it is maintained, even if it comes back under a new id
  mesos.maintenance.offer_filter_hold:
    master_url: "{{ mesos_masters }}"
    hostname: "{{ inventory_hostname }}"
    release_file: "{{ hold_file.path }}"
    interval: 5
    hold_timeout: 3600
  async: 3700
  poll: 0
  register: hold
  delegate_to: localhost

- name: Reboot the agent
  ansible.builtin.reboot:
  become: true

- name: Release the hold
  ansible.builtin.file:
    path: "{{ hold_file.path }}"
    state: absent
  delegate_to: localhost

- name: Wait for the hold to end
  ansible.builtin.async_status:
    jid: "{{ hold.ansible_job_id }}"
  register: held
  until: held.finished
  retries: 120
  delay: 1
  delegate_to: localhost

- name: Say which filters were put back
  ansible.builtin.debug:
    msg: "{{ held.reasserted | map(attribute='hostname') | join(', ') }} had lost their filter"
  when: held.reasserted | length > 0

- name: Restore the agent
  mesos.maintenance.offer_filter:
    master_url: "{{ mesos_masters }}"
    hostname: "{{ inventory_hostname }}"
    state: absent
  delegate_to: localhost
"""

RETURN = r"""
reasserted:
  description:
    - Every agent the hold filtered again (in check mode, would filter), in order.
  returned: always
  type: list
  elements: dict
  contains:
    hostname:
      description: Hostname of the agent.
      type: str
      returned: always
      sample: agent-1.example.com
    agent_id:
      description: The id that was filtered again.
      type: str
      returned: always
      sample: 0b1cb3d1-2a48-4a56-9d43-4e6e40c8a4d5-S12
    old_agent_id:
      description:
        - The id the hostname was registered under before (the same as RV(reasserted[].agent_id) when only the
          filter was lost); V(null) at the first look.
      type: str
      returned: always
      sample: 0b1cb3d1-2a48-4a56-9d43-4e6e40c8a4d5-S3
    reason:
      description:
        - V(new agent id), V(leader changed) (the filter was lost on a leader failover), V(filter lost) (lost on a
          re-registration), or V(not filtered when the hold started).
      type: str
      returned: always
      sample: new agent id
    at:
      description: When it was filtered again (UTC, ISO 8601).
      type: str
      returned: always
      sample: "2026-11-25T17:02:11Z"
    leader:
      description: Base URL of the leading master that filtered it.
      type: str
      returned: always
      sample: http://m2.example.com:5050
  sample:
    - hostname: agent-1.example.com
      agent_id: 0b1cb3d1-2a48-4a56-9d43-4e6e40c8a4d5-S12
      old_agent_id: 0b1cb3d1-2a48-4a56-9d43-4e6e40c8a4d5-S3
      reason: new agent id
      at: "2026-11-25T17:02:11Z"
      leader: http://m2.example.com:5050
agents:
  description: The held hostnames as the last look saw them.
  returned: success
  type: list
  elements: dict
  contains:
    hostname:
      description: Hostname of the agent.
      type: str
      returned: always
      sample: agent-1.example.com
    agent_ids:
      description: The ids this hostname is registered under (empty while the agent is away).
      type: list
      elements: str
      returned: always
      sample: [0b1cb3d1-2a48-4a56-9d43-4e6e40c8a4d5-S12]
    registered:
      description: Whether the hostname is registered with the master.
      type: bool
      returned: always
      sample: true
    filtered:
      description: Whether every id of this hostname is filtered (V(false) while the agent is away).
      type: bool
      returned: always
      sample: true
  sample: [{"hostname": "agent-1.example.com", "agent_ids": ["0b1cb3d1-2a48-4a56-9d43-4e6e40c8a4d5-S12"],
            "registered": true, "filtered": true}]
ended:
  description:
    - Why the hold ended, V(released) (O(release_file) was removed), V(timeout) (after O(hold_timeout)), or
      V(check_mode) (one look).
  returned: success
  type: str
  sample: released
looks:
  description: How many times the hold read the agents and the filters.
  returned: always
  type: int
  sample: 42
held_for:
  description: Seconds the hold ran.
  returned: always
  type: float
  sample: 211.4
errors:
  description: Looks that failed after the first one (the hold went on), the first failure and the latest ones.
  returned: always
  type: list
  elements: str
  sample: ["GET http://m1:5050/master/state-summary: the master failed with HTTP 500: (empty body)"]
actions:
  description:
    - What the module did (or would do in check mode), one line per agent filtered again (with
      RV(backend=native), deactivated again).
  returned: success
  type: list
  elements: str
  sample: ["filtered again agent-1.example.com (0b1cb3d1-2a48-4a56-9d43-4e6e40c8a4d5-S12, was ...-S3): new agent id"]
leader:
  description: Base URL of the leading master at the last look.
  returned: when a leader was found
  type: str
  sample: http://m2.example.com:5050
build:
  description: Which build of the allocator module the leader runs, V(0afdd8b) or V(later), when the answers showed it.
  returned: success
  type: str
  sample: 0afdd8b
backend:
  description:
    - Which backend ran, V(allocator), V(native) or V(schedule) (what O(backend=auto) chose); V(null) when the hold failed
      before it could tell.
  returned: always
  type: str
  sample: native
requests:
  description: Number of HTTP requests the module sent.
  returned: always
  type: int
  sample: 84
"""

import os
import time

from ansible_collections.mesos.maintenance.plugins.module_utils._argspec import BACKEND_ARGSPEC, ArgumentSpec
from ansible_collections.mesos.maintenance.plugins.module_utils._backends import select_backend
from ansible_collections.mesos.maintenance.plugins.module_utils._client import MesosModuleClient
from ansible_collections.mesos.maintenance.plugins.module_utils._errors import MesosError, name_list
from ansible_collections.mesos.maintenance.plugins.module_utils._filters import (
    InputError,
    check_hold,
    filter_lines,
    validate_names,
)
from ansible_collections.mesos.maintenance.plugins.module_utils._hold import HoldTracker, keep_errors, look_once
from ansible_collections.mesos.maintenance.plugins.module_utils._transport import DEFAULT_TIMEOUT

# How often the release file is looked at between two looks at the master: a release should end the hold
# at once, while a look costs two requests to the leader.
RELEASE_CHECK = 0.1
DEFAULT_HOLD_TIMEOUT = 3600.0


class HoldManager(object):

    def __init__(self, client):
        self.client = client
        self.params = client.module.params
        self.reasserted = []
        self.actions = []
        self.errors = []
        self.tracker = None
        self.backend = None
        self.first_filters = None
        self.filters = None
        self.agents = []
        self.started = time.monotonic()

    def validate(self):
        hostnames = validate_names(self.params['hostname'], 'hostname')
        if not hostnames:
            raise InputError('hostname is empty: name the agents to keep filtered')
        check_hold(self.params['interval'], self.params['hold_timeout'], 'interval')
        self.tracker = HoldTracker(hostnames)

    def mark(self, status):
        """Append the outcome of the first look to the release file, never creating it (a removed file is a release)."""
        path = self.params['release_file']
        if path is None or self.client.check_mode:
            return
        try:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND)
        except OSError:
            return
        try:
            os.write(fd, (status + '\n').encode())
        finally:
            os.close(fd)

    def released(self):
        path = self.params['release_file']
        return path is not None and not os.path.exists(path)

    def look(self):
        """Read the agents and the filters once; filter again what lost its filter."""
        client = self.client
        client.get_leader()
        if self.backend is None:
            self.backend = select_backend(client, self.params['backend'])
        before, filters, self.agents = look_once(client, self.backend, self.tracker, client.check_mode,
                                                 self.reasserted, self.actions)
        if self.first_filters is None:
            self.first_filters = before
        self.filters = filters

    def pause(self, deadline):
        """Sleep until the next look; True when the hold was released meanwhile."""
        next_look = min(time.monotonic() + self.params['interval'], deadline)
        while True:
            if self.released():
                return True
            remaining = next_look - time.monotonic()
            if remaining <= 0:
                return False
            time.sleep(min(RELEASE_CHECK, remaining))

    def run(self):
        self.validate()
        deadline = self.started + self.params['hold_timeout']
        try:
            self.look()
        except MesosError as exc:
            self.mark('failed')
            exc.msg = 'the hold could not start (its first look failed, see reasserted for what it did): %s' % exc.msg
            raise
        self.mark('holding')
        ended = 'check_mode' if self.client.check_mode else None
        while ended is None:
            if self.pause(deadline):
                ended = 'released'
            elif time.monotonic() >= deadline:
                ended = 'timeout'
            else:
                try:
                    self.look()
                except MesosError as exc:
                    keep_errors(self.errors, exc.msg)
        if ended == 'timeout':
            self.client.warn('the hold of %s ended after hold_timeout=%ss before it was released: a filter lost from '
                             'now on is not put back' % (name_list(self.tracker.hostnames), self.params['hold_timeout']))
        result = dict(
            changed=bool(self.reasserted),
            ended=ended,
            agents=self.agents,
            actions=self.actions,
        )
        if self.reasserted:
            result['msg'] = '%s %d agent(s) again during the hold' % (
                'would filter' if self.client.check_mode else 'filtered', len(self.reasserted))
        else:
            result['msg'] = 'every held agent stayed filtered'
        if self.client.module._diff:
            url = self.client.leader + self.backend.label
            result['diff'] = dict(before=filter_lines(self.first_filters), after=filter_lines(self.filters),
                                  before_header='%s (hold started)' % url, after_header='%s (hold ended)' % url)
        return result

    def common(self):
        return dict(reasserted=self.reasserted, errors=self.errors, looks=self.tracker.looks if self.tracker else 0,
                    held_for=round(time.monotonic() - self.started, 3), leader=self.client.leader,
                    requests=self.client.request_count, backend=self.backend.name if self.backend else None)


def settle_timeouts(module):
    """Set ``hold_timeout``. Until 2.0.0 a ``timeout`` without ``hold_timeout`` keeps its old meaning, the hold's
    duration; the requests then get the connection's default timeout, never the hold's (hours), so that a leader
    that stops answering is left within one request timeout."""
    params = module.params
    if params['hold_timeout'] is not None:
        return
    if params['timeout'] is None:
        params['hold_timeout'] = DEFAULT_HOLD_TIMEOUT
        return
    module.deprecate('offer_filter_hold: timeout is taken as the duration of the hold (hold_timeout=%s) because '
                     'hold_timeout is not set, and requests wait the default %g seconds; set hold_timeout for the '
                     'duration. From 2.0.0 on, timeout is only the timeout of one HTTP request'
                     % (params['timeout'], DEFAULT_TIMEOUT),
                     version='2.0.0', collection_name='mesos.maintenance')
    params['hold_timeout'], params['timeout'] = params['timeout'], None


def main():
    argspec = ArgumentSpec(argument_spec=dict(
        hostname=dict(type='list', elements='str', required=True, aliases=['hostnames']),
        interval=dict(type='float', default=5.0),
        release_file=dict(type='path'),
        hold_timeout=dict(type='float'),
        # The connection's option without its default, so that settle_timeouts can tell whether it was set.
        timeout=dict(type='float'),
    )).update_argspec(**BACKEND_ARGSPEC)
    client = MesosModuleClient(argspec, settle=settle_timeouts)
    manager = HoldManager(client)
    try:
        result = manager.run()
    except InputError as exc:
        client.fail(str(exc), **manager.common())
    except MesosError as exc:
        # The first look may have filtered agents again before it failed: changed says so.
        exc.do_fail(client.module, changed=bool(manager.reasserted), **manager.common())
    finally:
        client.close()
    result.update(manager.common())
    result['build'] = client.build
    client.module.exit_json(**result)


if __name__ == '__main__':
    main()
