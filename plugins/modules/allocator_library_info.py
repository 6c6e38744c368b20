#!/usr/bin/python
# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: allocator_library_info
short_description: Read the version record of a Mesos module library without loading it
version_added: 1.0.0
description:
  - Reads the record that mesos-master checks when it loads a module (C(ModuleBase) of Mesos'
    C(include/mesos/module.hpp)) out of the library file, the Offer Filtering Allocator's or any other module's
    library, and returns its module API version, the Mesos version it was built against, its kind and author.
  - Tells before a restart whether mesos-master would accept the library, where the file name can only suggest it.
    The role C(mesos.maintenance.offer_filter_allocator) uses it to refuse a library built for another Mesos version
    before it changes any master.
  - Parses the ELF file itself; the library is never loaded. A real module links C(libmesos), which the host running
    this module does not need to have.
  - Understands 64-bit little-endian shared libraries for x86_64 and aarch64, the platforms Mesos was built for.
  - Never changes anything.
author:
  - mesos.maintenance maintainers (@mesos-maintenance)
extends_documentation_fragment:
  - mesos.maintenance._attributes
  - mesos.maintenance._attributes.info_module
options:
  path:
    description:
      - The module library (C(.so)) on the host the module runs on.
    type: path
    required: true
    version_added: 1.0.0
  symbol:
    description:
      - The module's name, which is the name of the symbol that holds its record (the C(name) of the module in
        C(modules.json)).
    type: str
    default: im_getty_mesos_OfferFilteringAllocator
    version_added: 1.0.0
notes:
  - A module whose record is filled in by a C++ constructor when the library is loaded, rather than stored as data,
    has no record in the file. The module then returns RV(record.static=false) with the strings V(null) and a warning.
seealso:
  - name: Mesos modules
    description: How mesos-master loads and checks modules.
    link: https://mesos.apache.org/documentation/latest/modules/
"""

EXAMPLES = r"""
- name: Read the record of the allocator module on the controller
  mesos.maintenance.allocator_library_info:
    path: /tmp/libofferfilterallocator-1.0.1-v1-RC5.so
  delegate_to: localhost
  register: library

- name: Refuse a library built for another Mesos version
  ansible.builtin.assert:
    that: library.record.mesos_version == '1.0.1'
    fail_msg: "built for Mesos {{ library.record.mesos_version }}"

- name: Read another module of the same manifest
  mesos.maintenance.allocator_library_info:
    path: /usr/local/lib/libexamplehook-1.0.1.so
    symbol: org_example_TestHook
  register: hook
"""

RETURN = r"""
path:
  description: The library that was read.
  returned: success
  type: str
  sample: /usr/local/lib/libofferfilterallocator-1.0.1-v1-RC5.so
machine:
  description: The architecture the library is built for.
  returned: success
  type: str
  sample: x86_64
record:
  description: The module's record, as mesos-master reads it at start-up.
  returned: success
  type: dict
  contains:
    symbol:
      description: The symbol the record was read from (O(symbol)).
      type: str
      returned: always
      sample: im_getty_mesos_OfferFilteringAllocator
    static:
      description:
        - Whether the record is stored in the file. V(false) for a record filled in when the library is loaded;
          every other field is then V(null).
      type: bool
      returned: always
      sample: true
    module_api_version:
      description: The module API version (C(moduleApiVersion)); Mesos 0.21 to 1.11 accept V(2) only.
      type: str
      returned: always
      sample: "2"
    mesos_version:
      description:
        - The Mesos version the module was built against (C(mesosVersion)). mesos-master refuses a module built for
          another version unless the module declares itself compatible.
      type: str
      returned: always
      sample: 1.0.1
    kind:
      description: The kind of module (C(Allocator), C(Hook), C(Isolator), ...).
      type: str
      returned: always
      sample: Allocator
    author_name:
      description: The module's author.
      type: str
      returned: always
      sample: Getty Images
    author_email:
      description: The author's e-mail address.
      type: str
      returned: always
      sample: mesos@example.com
    description:
      description: The module's description.
      type: str
      returned: always
      sample: Offer Filtering Allocator
    compatible:
      description:
        - Whether the module has a C(compatible()) hook, with which it may accept another Mesos version than the one
          it was built against. V(null) when RV(record.static=false).
      type: bool
      returned: always
      sample: false
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.mesos.maintenance.plugins.module_utils._elf import (
    ElfError,
    MissingSymbol,
    read_module_record,
)

CANDIDATES_SHOWN = 10


def read_library(module, path, symbol):
    """Return (machine, record) or fail with what was wrong and what to do."""
    try:
        with open(path, 'rb') as handle:
            data = handle.read()
    except (IOError, OSError) as exc:
        module.fail_json(msg='Cannot read the module library %s: %s.' % (path, exc.strerror or exc), path=path)
    try:
        return read_module_record(data, path, symbol)
    except MissingSymbol as exc:
        shown = exc.candidates[:CANDIDATES_SHOWN]
        module.fail_json(
            msg='%s. mesos-master would refuse it ("undefined symbol: %s"). Check that the library is the module you '
                'meant and that the symbol option is the module name in its modules.json; the data symbols it exports are: %s%s.'
                % (exc, symbol, ', '.join(shown) or 'none', ', ...' if len(exc.candidates) > len(shown) else ''),
            path=path, candidates=exc.candidates)
    except ElfError as exc:
        module.fail_json(
            msg='%s. A Mesos module is a shared library (.so); check that the file is the library and not, for '
                'example, a release archive or a download error page.' % exc,
            path=path)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type='path', required=True),
            symbol=dict(type='str', default='im_getty_mesos_OfferFilteringAllocator'),
        ),
        supports_check_mode=True,
    )
    path = module.params['path']
    machine, record = read_library(module, path, module.params['symbol'])
    if not record['static']:
        module.warn('The record of %s in %s is filled in when the library is loaded, not stored in the file: its '
                    'versions cannot be read without loading it.' % (record['symbol'], path))
    module.exit_json(changed=False, path=path, machine=machine, record=record)


if __name__ == '__main__':
    main()
