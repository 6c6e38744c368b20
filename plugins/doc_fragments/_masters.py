# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this doc fragment is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

from __future__ import annotations


class ModuleDocFragment(object):

    # The cluster the filters allocator_quorum and allocator_serial judge (plugins/plugin_utils/_masters.py).
    DOCUMENTATION = r"""
options:
  masters:
    description: Every master of the cluster.
    type: list
    elements: str
    required: true
  quorum:
    description: How many masters must stay up (Mesos' C(--quorum)); empty for a majority.
    type: raw
"""
