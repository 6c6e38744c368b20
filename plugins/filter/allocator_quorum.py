# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: allocator_quorum
short_description: Whether the Mesos masters keep their quorum, now or with some of them restarting
version_added: 1.0.0
description:
  - From the answers of every master's C(/health), tells whether no more masters are down than may be at once, that is
    never more than (n-1)/2 of n (a majority stays up), and never so many that fewer than O(quorum) stay up.
  - With O(restarting), the masters about to restart count as down. One or two masters have no majority to spare, so
    one of them at a time may then restart.
author:
  - mesos.maintenance maintainers (@mesos-maintenance)
extends_documentation_fragment:
  - mesos.maintenance._masters
options:
  _input:
    description: The registered results of asking each master's C(/health) (each with C(item), the master, and C(status)).
    type: list
    elements: dict
    required: true
  restarting:
    description: The masters about to restart.
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: Refuse a restart that would leave too few masters up
  ansible.builtin.assert:
    that: verdict.ok
    fail_msg: "{{ verdict.msg }}"
  vars:
    verdict: "{{ masters_health.results | mesos.maintenance.allocator_quorum(groups['mesos_masters'], 2, ansible_play_batch) }}"
"""

RETURN = r"""
_value:
  description:
    - C(ok), C(healthy) and C(down) (the masters that answered 200 and the others), C(max_down) (how many may be down)
      and C(msg) (why not, when C(ok) is false).
  type: dict
"""

from ansible_collections.mesos.maintenance.plugins.plugin_utils._masters import MastersError
from ansible_collections.mesos.maintenance.plugins.plugin_utils._masters import quorum as _quorum


def allocator_quorum(health, masters, quorum=None, restarting=()):
    try:
        return _quorum(health, masters, quorum, restarting or ())
    except MastersError as exc:
        return {'ok': False, 'healthy': [], 'down': [], 'max_down': 0, 'msg': str(exc)}


class FilterModule(object):

    def filters(self):
        return {'allocator_quorum': allocator_quorum}
