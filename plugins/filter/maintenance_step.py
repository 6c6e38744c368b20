# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: maintenance_step
short_description: Check, before any agent is touched, the maintenance a rolling maintenance will run
version_added: 1.0.0
description:
  - Returns the absolute path of the maintenance tasks file O(_input), or the role O(role) when it is set, and fails
    when it does not exist, so that a rolling maintenance never drains a batch it then cannot maintain.
  - A relative tasks file is looked up in the directory ansible-playbook runs in (on AWX, the project's root), then
    in O(playbook_dir) (the collection's C(playbooks/), which ships C(tasks/reboot.yml) and C(tasks/pause.yml)).
  - A role is looked up as a collection role (C(namespace.collection.role)), else in C(roles/) of the current
    directory and in the roles path (C(ANSIBLE_ROLES_PATH)), else as a path.
author:
  - mesos.maintenance maintainers (@mesos-maintenance)
options:
  _input:
    description: The tasks file (C(mesos_maintenance_tasks_file)); empty means C(tasks/reboot.yml).
    type: str
    required: true
  role:
    description: The role (C(mesos_maintenance_role)); when set, the tasks file is not used.
    type: str
  playbook_dir:
    description: The playbook's directory.
    type: str
    required: true
  rehearsal:
    description:
      - The rehearsal (C(mesos_maintenance_rehearsal)). When true, the maintenance is still checked, but the result
        is the collection's C(tasks/pause.yml) in O(playbook_dir), which waits on the controller and contacts no agent
        host.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: What each batch runs
  ansible.builtin.set_fact:
    maintenance: "{{ mesos_maintenance_tasks_file | mesos.maintenance.maintenance_step(mesos_maintenance_role, playbook_dir) }}"
"""

RETURN = r"""
_value:
  description: The tasks file's absolute path, or the role's name.
  type: str
"""

import os

from ansible import constants as C
from ansible.errors import AnsibleFilterError
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.utils.collection_loader._collection_finder import _get_collection_role_path

from ansible_collections.mesos.maintenance.plugins.plugin_utils._targets import TargetError, resolve_maintenance

# What a rehearsal runs instead of the maintenance, relative to the collection's playbooks/.
REHEARSAL = os.path.join('tasks', 'pause.yml')


def role_exists(name):
    if name.count('.') == 2 and _get_collection_role_path(name) is not None:
        return True
    folders = [os.path.join(os.getcwd(), 'roles')] + list(C.DEFAULT_ROLES_PATH or [])
    return any(os.path.isdir(os.path.join(folder, name)) for folder in folders) or os.path.isdir(name)


def maintenance_step(tasks_file, role=None, playbook_dir='.', rehearsal=False):
    try:
        rehearsal = boolean(rehearsal, strict=True)
    except TypeError:
        raise AnsibleFilterError('mesos_maintenance_rehearsal must be true or false, not %s. Nothing was changed.'
                                 % rehearsal)
    try:
        step = resolve_maintenance(tasks_file, role, os.getcwd(), playbook_dir, role_exists)[1]
    except TargetError as exc:
        raise AnsibleFilterError(str(exc))
    # The collection's own pause, never a tasks/pause.yml of the directory ansible-playbook runs in.
    return os.path.join(os.path.abspath(playbook_dir), REHEARSAL) if rehearsal else step


class FilterModule(object):

    def filters(self):
        return {'maintenance_step': maintenance_step}
