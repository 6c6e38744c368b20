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
      - V(auto) asks the leading master once. If C(/allocator/filters) answers, V(allocator) is used (the answer is
        the filter list the module needs anyway, so this costs no extra request); otherwise, if C(/version) says
        Mesos 1.9 or later, V(native); otherwise the module fails and says what to install.
      - RV(backend) tells which one ran.
    type: str
    choices: [auto, allocator, native]
    default: auto
    version_added: 1.0.0
"""
