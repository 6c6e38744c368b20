# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: allocator_serial
short_description: Why a play's serial would restart too many Mesos masters at once
version_added: 1.0.0
description:
  - Works out the largest batch O(_input) (a play's C(serial)) makes of O(masters), and compares it with how many masters
    may be down at once (see P(mesos.maintenance.allocator_quorum#filter)).
author:
  - mesos.maintenance maintainers (@mesos-maintenance)
options:
  _input:
    description: The serial, as a play takes it (a number, a percentage such as C(30%), or a list of them).
    type: raw
    required: true
extends_documentation_fragment:
  - mesos.maintenance._masters
"""

EXAMPLES = r"""
- name: Refuse a serial that would restart too many masters at once
  ansible.builtin.assert:
    that: serial_error | length == 0
    fail_msg: "{{ serial_error }}"
  vars:
    serial_error: "{{ offer_filter_allocator_serial | mesos.maintenance.allocator_serial(groups['mesos_masters']) }}"
"""

RETURN = r"""
_value:
  description: Why the serial is refused; empty when it is not.
  type: str
"""

from ansible_collections.mesos.maintenance.plugins.plugin_utils._masters import MastersError, serial_error


def allocator_serial(serial, masters, quorum=None):
    try:
        return serial_error(serial, masters, quorum)
    except MastersError as exc:
        return str(exc) + ' Nothing was changed.'


class FilterModule(object):

    def filters(self):
        return {'allocator_serial': allocator_serial}
