# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this doc fragment is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

from __future__ import annotations


class ModuleDocFragment(object):

    # Documents engine_argspec() in plugins/module_utils/_argspec.py; change both together.
    DOCUMENTATION = r"""
options:
  hostname:
    description:
      - The agents, by the hostname they registered with. Every agent id registered under such a hostname is acted
        on, so an agent that came back under a new id is found again.
    type: list
    elements: str
    required: true
    aliases: [hostnames]
    version_added: 1.0.0
  run_id:
    description:
      - Who acts, as the name of this run in the ledger. Every agent record names the runs that keep it out of service
        (its owners); a restore removes only its own ownership and puts an agent back only when no other owner is
        left.
      - A run that is resumed must keep its id. The role M(mesos.maintenance.agent_maintenance) and the playbooks
        set it.
    type: str
    required: true
    version_added: 1.0.0
  ledger_file:
    description:
      - The ledger as a JSON file on the host that runs the module (the one that sends the API calls). Every change
        is made under an exclusive lock (C(fcntl.flock) on V(<file>.lock)) and written atomically, mode 0600 in a
        0700 folder, so runs that share the file never lose each other's records.
      - Exactly one of O(ledger_file) and O(ledger_zookeeper) is required.
      - A memory file of an earlier collection version (version 1) is read and upgraded on the first change.
    type: path
    version_added: 1.0.0
  ledger_zookeeper:
    description:
      - The ledger in ZooKeeper, for runs on several controllers or AWX nodes, as a URL such as
        V(zk://host1:2181,host2:2181,host3:2181/mesos-maintenance), like Mesos' own C(--zk), optionally with digest
        credentials V(zk://user:secret@host1:2181/mesos-maintenance) (the nodes then get a digest ACL).
      - The data is in V(<path>/ledger), written with the version it was read at (compare-and-set), each change
        under the kazoo lock recipe at V(<path>/lock).
      - Needs the Python library C(kazoo) on the host that runs the module.
    type: str
    version_added: 1.0.0
  ledger_timeout:
    description:
      - Seconds to wait for the ledger's lock (another run changing it) before failing with nothing changed.
    type: float
    default: 60
    version_added: 1.0.0
  progress_interval:
    description:
      - The longest a wait goes on before the module returns what it is still waiting for (C(pending)) with
        C(waiting=true). The action plugin in front of the module prints that as a progress line and calls the
        module again with O(resume_wait=true), until the wait is over or its timeout is reached.
    type: float
    default: 10
    version_added: 1.0.0
  controller_pid:
    description:
      - The process id of the C(ansible-playbook) that runs this step, when the module runs on the controller itself
        (C(delegate_to=localhost)). A hold started by the step watches it, and when it has ended (the run was
        killed) records the batch in the ledger as interrupted, and keeps holding until the re-run releases it. A
        rolling maintenance refuses to join a run whose C(ansible-playbook) still runs.
      - Set by the action plugin; leave it unset.
    type: int
    version_added: 1.0.0
  resume_wait:
    description:
      - Go on with a wait that an earlier call of the same step began, without deciding or changing anything
        first. Set by the action plugin; leave it V(false).
    type: bool
    default: false
    version_added: 1.0.0
"""

    # Documents HOLD_ARGSPEC in plugins/module_utils/_argspec.py; change both together.
    HOLD = r"""
options:
  hold_interval:
    description:
      - Seconds between two looks of the hold at the master, at least V(0.1). A look filters again any agent id of a
        held hostname that is registered but not filtered (it came back under a new id, re-registered, or outlived a
        leader failover), and renews the hold's lease in the ledger.
      - The lease lasts 3 intervals, and at least 30 seconds; a hold whose lease ran out is dead, and any run may
        clear it.
    type: float
    default: 5
    version_added: 1.0.0
  hold_timeout:
    description:
      - The hold ends by itself after this many seconds even if it was not released.
    type: float
    default: 7200
    version_added: 1.0.0
"""
