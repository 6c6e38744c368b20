# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this doc fragment is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

from __future__ import annotations


class ModuleDocFragment(object):

    # Documents BUDGET_ARGSPEC in plugins/module_utils/_argspec.py; change both together.
    DOCUMENTATION = r"""
options:
  max_unavailable_per_group:
    description:
      - A disruption budget, like a Kubernetes PodDisruptionBudget's C(maxUnavailable); at most this many running
        tasks of each service (see O(group_by)) may be on agents out of service at once. A number of tasks
        (V(1) or more), or a percentage of each group's running tasks (V(34%), rounded down).
      - Before anything is changed, the running tasks (C(TASK_RUNNING)) of every group are counted, from one read of
        the leader's C(/master/state), on the agents already out of service (filtered, deactivated, draining or
        disconnected) and on the agents to take out. When any group would go over its budget, nothing is changed
        and the error names each such group, its running tasks and the agents they run on. Check mode says the
        same.
      - A group whose budget rounds down to 0 (V(50%) of a single task) blocks every agent that runs it for good;
        the error says so and what to set.
      - Unset (the default), there is no budget.
    type: str
    version_added: 1.0.0
  group_by:
    description:
      - What a service is, for O(max_unavailable_per_group).
      - V(task), the tasks of one framework with one task name (Marathon names a task after its app, Aurora after
        its role, environment and job).
      - V(framework), all the tasks of a framework.
      - V(label:<key>), the tasks that carry the task label C(<key>), one group per value (across frameworks); tasks
        without that label are in no group and have no budget.
    type: str
    default: task
    version_added: 1.0.0
"""
