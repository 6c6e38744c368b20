# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this doc fragment is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

from __future__ import annotations


class ModuleDocFragment(object):

    # Documents WAIT_ARGSPEC in plugins/module_utils/_argspec.py; change both together.
    DOCUMENTATION = r"""
options:
  wait:
    description:
      - Wait until the agents run no active task (states C(TASK_STAGING), C(TASK_STARTING), C(TASK_RUNNING)
        and C(TASK_KILLING)).
    type: bool
    default: false
    version_added: 1.0.0
  wait_timeout:
    description:
      - How many seconds to wait when O(wait=true). The module fails when the time is up.
      - V(0) checks once and fails at once if a task is still active.
    type: int
    default: 600
    version_added: 1.0.0
  wait_sleep:
    description:
      - Seconds between two checks when O(wait=true), at least V(0.1) (each check reads every agent from the
        leading master).
    type: float
    default: 5
    version_added: 1.0.0
"""
