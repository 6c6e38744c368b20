# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the schedule backend's tests share, on the simulator (test_schedule_backend.py) and on the real master
(tests/real_mesos/test_real_schedule_backend.py): the collection's client with hooks around its requests (where
another writer steps in), and offer_filter's read-plan-change sequence."""

from __future__ import annotations

import json

import requests

from ansible_collections.mesos.maintenance.plugins.module_utils._client import MesosClientBase
from ansible_collections.mesos.maintenance.plugins.module_utils._filters import resolve_targets
from ansible_collections.mesos.maintenance.plugins.module_utils._schedule import SCHEDULE_PATH, agent_machine

HOUR_NS = 3600 * 1_000_000_000
GHOST = {"hostname": "other.example", "ip": "10.9.9.9"}  # someone else's machine, no agent of ours


def foreign_window(*machines, start=1_000_000_000_000, duration=HOUR_NS) -> dict:
    return {
        "machine_ids": list(machines),
        "unavailability": {"duration": {"nanoseconds": duration}, "start": {"nanoseconds": start}},
    }


class Client(MesosClientBase):
    """The collection's client; `hooks` run around its requests: (when, method, path, action), `when` being
    'before' or 'after', each run once (or on every match with `every`)."""

    def __init__(self, url, **params):
        self.warnings = []
        self.hooks = []
        self.sent = []
        super().__init__(dict(master_url=[url], timeout=5, leader_timeout=1, validate_certs=True, **params))

    def warn(self, msg):
        self.warnings.append(msg)

    def hook(self, when, method, path, action, every=False):
        self.hooks.append({"when": when, "method": method, "path": path, "action": action, "every": every})

    def _run(self, when, method, url):
        for hook in list(self.hooks):
            if (hook["when"], hook["method"]) == (when, method) and url.endswith(hook["path"]):
                if not hook["every"]:
                    self.hooks.remove(hook)
                hook["action"]()

    def send(self, method, url, params=None, json_body=None):
        self._run("before", method, url)
        self.sent.append((method, url.split("/", 3)[-1]))
        response = super().send(method, url, params=params, json_body=json_body)
        self._run("after", method, url)
        return response


def take_out(backend, hostnames, state="present", exclusive=False):
    """What offer_filter does: read, resolve, plan, change (in one batch); returns (plan, snapshot, result)."""
    snapshot = backend.read()
    targets = resolve_targets([], hostnames, snapshot.agents, snapshot.filters)
    assert not targets.unknown and not targets.ambiguous
    plan = backend.plan(state, exclusive, targets, snapshot)
    result = None
    if state == "present" and plan.add:
        result = backend.filter_many([(aid, targets.hostnames[aid]) for aid in plan.add])
    elif state == "absent" and plan.remove:
        result = backend.unfilter_many([(aid, targets.hostnames[aid]) for aid in plan.remove])
    return plan, snapshot, result


def schedule_posts(client):
    return [s for s in client.sent if s == ("POST", SCHEDULE_PATH.lstrip("/"))]


class Master:
    """The other writer, and the test's eyes: plain HTTP to the leader (simulated or real)."""

    def __init__(self, url):
        self.url = url

    def get(self, path):
        response = requests.get(self.url + path, timeout=5)
        assert response.status_code == 200, response.text
        return response.json()

    def post(self, path, doc):
        response = requests.post(self.url + path, data=json.dumps(doc), timeout=5)
        assert response.status_code == 200, response.text
        return response

    def schedule(self):
        return self.get(SCHEDULE_PATH)

    def set_schedule(self, *windows):
        self.post(SCHEDULE_PATH, {"windows": list(windows)})

    def machines(self):
        """{hostname: machine id} of the registered agents."""
        return {a["hostname"]: agent_machine(a) for a in self.get("/master/state-summary")["slaves"]}

    def ids(self):
        return {a["hostname"]: a["id"] for a in self.get("/master/state-summary")["slaves"]}
