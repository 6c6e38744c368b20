# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: allocator_leader
short_description: Which of the Mesos masters leads, from what each says
version_added: 1.0.0
description:
  - Tells which inventory host of O(_input) is the leading Mesos master, for a rolling restart that must put the leader
    last (the role M(mesos.maintenance.offer_filter_allocator)'s C(leader) entry point).
  - A master's own C(master/elected) (from C(/metrics/snapshot)) needs no name to match. The C(Location) of
    C(/master/redirect) names the leader by the hostname it advertises; it is matched to a master by name or
    resolved address (on the controller), and port.
  - Says why in C(error) when the leader cannot be told (masters disagree, or the named leader matches no master while
    a master did not say whether it leads).
author:
  - mesos.maintenance maintainers (@mesos-maintenance)
options:
  _input:
    description:
      - One entry per master, with C(host) (inventory name), C(elected) (its own C(master/elected), null without an
        answer), C(location) (its C(/master/redirect) Location, empty without one), C(names) (the names and addresses
        it is reached or advertised by) and C(port).
    type: list
    elements: dict
    required: true
"""

EXAMPLES = r"""
- name: Decide which master leads
  ansible.builtin.set_fact:
    masters_leader: "{{ ansible_play_hosts | map('extract', hostvars, 'master_view') | mesos.maintenance.allocator_leader }}"
  run_once: true

- name: Refuse to go on when it cannot be told
  ansible.builtin.assert:
    that: masters_leader.error | length == 0
    fail_msg: "{{ masters_leader.error }}"
  run_once: true
"""

RETURN = r"""
_value:
  description:
    - C(leader) (the inventory host that leads; empty when none of them leads), C(location) (the leader the masters
      name, C(//host:port)) and C(reason) (how it was told).
  type: dict
"""

from ansible_collections.mesos.maintenance.plugins.plugin_utils._masters import MastersError
from ansible_collections.mesos.maintenance.plugins.plugin_utils._masters import leader


def allocator_leader(views):
    try:
        return dict(leader(views), error='')
    except MastersError as exc:
        return {'leader': '', 'location': '', 'reason': '', 'error': str(exc)}


class FilterModule(object):

    def filters(self):
        return {'allocator_leader': allocator_leader}
