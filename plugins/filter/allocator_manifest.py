# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: allocator_manifest
short_description: The Mesos modules manifest the Offer Filtering Allocator is merged into
version_added: 1.0.0
description:
  - The document of the modules manifest mesos-master is given (or is to be given), read as JSON.
  - 'C({"libraries": []}) for a file that is empty or missing, or that nothing names (a file at the default path that
    is not mesos-master''s); null for a file that is not JSON
    (P(mesos.maintenance.allocator_configuration_refusal#filter) says why).'
author:
  - mesos.maintenance maintainers (@mesos-maintenance)
options:
  _input:
    description:
      - The manifest as the role's C(discover.py) found it (C(files.modules_json)), with C(content) and C(chosen)
        (whether mesos-master is given it, or the role is told to use it).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Read the modules manifest
  ansible.builtin.set_fact:
    modules_doc: "{{ discovered.files.modules_json | mesos.maintenance.allocator_manifest }}"
"""

RETURN = r"""
_value:
  description: The manifest's document; null when it is not JSON.
  type: raw
"""

from ansible_collections.mesos.maintenance.plugins.plugin_utils._preflight import manifest


def allocator_manifest(entry):
    return manifest(entry)[0]


class FilterModule(object):

    def filters(self):
        return {'allocator_manifest': allocator_manifest}
