# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

from ansible_collections.mesos.maintenance.plugins.plugin_utils._steps import StepAction


class ActionModule(StepAction):
    step = 'maintenance_status'
    passes_controller = False
