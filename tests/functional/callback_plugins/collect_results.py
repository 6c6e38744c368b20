# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Test-only stdout callback: records every task result and writes them as JSON at the end."""

from __future__ import annotations

DOCUMENTATION = r"""
name: collect_results
type: stdout
short_description: Write task results to the JSON file named by E(COLLECT_RESULTS_FILE) (tests only)
description:
  - Used by the functional tests of mesos.maintenance.
"""

import json
import os
import time

from ansible.plugins.callback import CallbackBase


def _plain(value):
    try:
        return json.loads(json.dumps(value, default=str))
    except (TypeError, ValueError):
        return str(value)


def _warning_text(warning):
    """The message of a warning: a string, a WarningSummary (its event's msg) or an older object with a msg."""
    if isinstance(warning, dict):
        warning = warning.get("event", warning).get("msg", warning)
    event = getattr(warning, "event", None)
    return str(getattr(event, "msg", None) or getattr(warning, "msg", None) or warning)


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "stdout"
    CALLBACK_NAME = "collect_results"

    def __init__(self):
        super().__init__()
        self.results = []
        self._started = {}
        self.warnings = []

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._started[task._uuid] = time.monotonic()

    def _record(self, result, status):
        task = result._task
        data = _plain(dict(result._result))
        # ansible-core 2.19+ hands warnings over as WarningSummary objects, in the result, on it, or both.
        warnings = []
        for warning in list(result._result.get("warnings") or []) + list(getattr(result, "warnings", None) or []):
            text = _warning_text(warning)
            if text not in warnings:
                warnings.append(text)
        data["warnings"] = warnings
        data["_task"] = task.get_name()
        data["_status"] = status
        data["_duration"] = time.monotonic() - self._started.get(task._uuid, time.monotonic())
        self.results.append(data)
        line = "%s: %s %s" % (status, task.get_name(), data.get("msg", ""))
        self._display.display(line)

    def v2_runner_on_ok(self, result):
        self._record(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, "failed")

    def v2_runner_on_skipped(self, result):
        self._record(result, "skipped")

    def v2_runner_on_unreachable(self, result):
        self._record(result, "unreachable")

    def v2_playbook_on_stats(self, stats):
        path = os.environ.get("COLLECT_RESULTS_FILE")
        if path:
            with open(path, "w") as handle:
                json.dump(self.results, handle)
