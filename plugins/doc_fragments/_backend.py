# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this doc fragment is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

from __future__ import annotations


class ModuleDocFragment(object):

    # Documents BACKEND_ARGSPEC in plugins/module_utils/_argspec.py; change both together.
    DOCUMENTATION = r"""
options:
  backend:
    description:
      - How agents are taken out of the offer cycle.
      - V(allocator) uses the C(/allocator/filters) endpoint of the Offer Filtering Allocator module
        (C(im_getty_mesos_OfferFilteringAllocator), built for Mesos 0.28 to 1.0.3). A filter lives in the leading
        master's allocator; on build C(0afdd8b) it is lost on a master failover and when the agent re-registers.
      - V(native) uses Mesos' own v1 operator API (Mesos 1.9 or later, no module needed) on C(/master/api/v1), with
        C(DEACTIVATE_AGENT) to filter, C(REACTIVATE_AGENT) to unfilter, C(DRAIN_AGENT) to drain, and C(GET_AGENTS)
        to read which agents are deactivated. A deactivated agent gets no offers and is kept in the master's
        registry, so it stays deactivated across master failovers and agent re-registrations.
      - V(schedule) uses Mesos' maintenance primitives (Mesos 0.25 or later, no module needed). The agent's machine
        (its hostname and the IP of its pid, as the master knows it) is added to the maintenance schedule
        (C(/master/maintenance/schedule)) in one new window starting now, and taken out of it to unfilter; other
        windows are copied unchanged, and a machine already in someone's window is left there. A scheduled machine
        is DRAINING, which Mesos keeps in its registry across failovers. DRAINING announces the maintenance
        (inverse offers to the frameworks, offers that carry the window) but does B(not) stop offers by itself; only
        frameworks that honour it (Marathon 1.6 or later with its C(maintenance_mode) feature, Aurora) keep new tasks
        off the agent. Every agent on the machine goes with it. The schedule has no compare-and-set, so each change
        re-reads it just before writing and again after writing, and writes again (a few times at most) when another
        writer's update replaced ours.
      - V(auto) asks the leading master once. If C(/allocator/filters) answers, V(allocator) is used (the answer is
        the filter list the module needs anyway, so this costs no extra request); otherwise, if C(/version) says
        Mesos 1.9 or later, V(native); if it says Mesos 0.25 or later, V(schedule), with a warning that DRAINING does
        not block offers; otherwise the module fails and says what to install.
      - RV(backend) tells which one ran.
    type: str
    choices: [auto, allocator, native, schedule]
    default: auto
    version_added: 1.0.0
"""
