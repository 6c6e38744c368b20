# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: allocator_version_refusal
short_description: Why mesos-master would not load an Offer Filtering Allocator library
version_added: 1.0.0
description:
  - Compares the Mesos version a module library was built for, by its name (or O(module_mesos_version)) and by the
    version record inside it, with the version the master runs, and the library's module API version with Mesos'.
  - Both the name and the record must name the master's version; a name that disagrees with the record is refused
    even when the record is right, as it is not the file its name claims.
  - The role M(mesos.maintenance.offer_filter_allocator)'s preflight refuses the library with this text.
author:
  - mesos.maintenance maintainers (@mesos-maintenance)
options:
  _input:
    description:
      - The registered result of M(mesos.maintenance.allocator_library_info) on the library (its C(record)); empty
        when the library was not read.
    type: dict
    required: true
  answer:
    description: The registered result of asking the master's C(/version) with M(ansible.builtin.uri).
    type: dict
    required: true
  host:
    description: The master (C(inventory_hostname)).
    type: str
    required: true
  url:
    description: The URL of the master's C(/version) that was asked.
    type: str
    required: true
  src:
    description: The name of the module file as given, a C(.so) or a release archive.
    type: str
    required: true
  library:
    description: The path of the library read (in a release archive, the C(.so) unpacked from it).
    type: str
    required: true
  module_mesos_version:
    description: The Mesos version the library was built for, when its name does not say it.
    type: str
    default: ''
  mesos_version:
    description: The Mesos version the master runs, when it cannot be asked.
    type: str
    default: ''
"""

EXAMPLES = r"""
- name: Refuse a module built for another Mesos version
  ansible.builtin.assert:
    that: refusal | length == 0
    fail_msg: "{{ refusal }}"
  vars:
    refusal: >-
      {{ library_info | mesos.maintenance.allocator_version_refusal(
           answer=master_version, host=inventory_hostname, url='http://127.0.0.1:5050/version',
           src='libofferfilterallocator-1.0.1-v1-RC5.tar.gz', library='/tmp/libofferfilterallocator-1.0.1-v1-RC5.so') }}
"""

RETURN = r"""
_value:
  description: Why mesos-master would not load the library; empty when it would.
  type: str
"""

from ansible_collections.mesos.maintenance.plugins.plugin_utils._preflight import version_refusal


def allocator_version_refusal(result, answer, host, url, src, library, module_mesos_version='', mesos_version=''):
    return version_refusal(
        (result or {}).get('record'), answer, host, url, src, library, module_mesos_version, mesos_version
    )


class FilterModule(object):

    def filters(self):
        return {'allocator_version_refusal': allocator_version_refusal}
