# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The playbooks of the collection with agent_maintenance_backend=schedule (issue 15): Mesos' maintenance schedule on
a simulated Mesos 1.0.1 cluster without the Offer Filtering Allocator module. Someone else's window is in the
schedule before, during and after the runs, verbatim.

The simulated framework does not honour DRAINING (nor do most): it would start new tasks on a scheduled agent, so
these clusters run no framework of their own; the tests start tasks that end by themselves, which the drain's wait
sees end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests
from maintenance_helpers import SimulatedSite
from schedule_helpers import GHOST, foreign_window

HERE = Path(__file__).resolve().parent
SCHEDULE_MAINTENANCE = HERE / "files" / "sim_schedule_maintenance.yml"
SCHEDULE_PATH = "/master/maintenance/schedule"
THEIRS = foreign_window(GHOST)


@pytest.fixture
def site(cluster_factory, tmp_path, collections_path):
    cluster = cluster_factory(masters=3, agents=5, build=None, version="1.0.1", tasks=0)
    site = SimulatedSite(cluster, tmp_path, collections_path)
    yield site
    site.close()


def schedule(site):
    response = requests.get(site.cluster.leader_url + SCHEDULE_PATH, timeout=5)
    assert response.status_code == 200, response.text
    return response.json()


def set_schedule(site, *windows):
    response = requests.post(
        site.cluster.leader_url + SCHEDULE_PATH, data=json.dumps({"windows": list(windows)}), timeout=5
    )
    assert response.status_code == 200, response.text


def scheduled_hostnames(site):
    return sorted(m["hostname"] for w in schedule(site).get("windows", []) for m in w["machine_ids"])


def start_tasks(site, seconds):
    """One task on each agent that ends by itself after `seconds`."""
    state = site.cluster.state
    with state.lock:
        for agent in state.agents.values():
            state.launch_task(agent, site.cluster.framework, seconds)


def active_tasks(site):
    with site.cluster.state.lock:
        return sum(len(a.active_tasks()) for a in site.cluster.state.agents.values())


def inventory(site):
    return site.inventory(agent_maintenance_backend="schedule")


def rolling(site, **extra):
    variables = {
        "mesos_maintenance_tasks_file": str(SCHEDULE_MAINTENANCE),
        "mesos_maintenance_registration_timeout": "30",
        "mesos_maintenance_agents": "mesos_agents",
        "mesos_maintenance_serial": "2",
        **extra,
    }
    return site.run("rolling_maintenance", variables, inventory=inventory(site))


def seen_during_maintenance(run):
    """{inventory host: the hostnames of the machines in the schedule while it was maintained}; every time, the
    schedule held two windows: someone else's, and the one the drain of the batch put its machines into."""
    results = run.tasks("Machines in the schedule")
    assert [int(r["msg"]["windows"]) for r in results] == [2] * len(results), results
    return {r["msg"]["host"]: sorted(r["msg"]["machines"]) for r in results}


def test_rolling_maintenance_with_the_schedule_keeps_someone_elses_window(site):
    set_schedule(site, THEIRS)
    start_tasks(site, 1.0)
    hosts = site.hostnames()

    run = rolling(site)

    assert run.rc == 0, run.output
    # Each batch of two (the last of one) was in the schedule, with someone else's machine, during its maintenance,
    # and only then: the batch before was out of the schedule again.
    batches = [hosts[0:2], hosts[2:4], hosts[4:5]]
    seen = seen_during_maintenance(run)
    assert seen == {h: sorted(batch + [GHOST["hostname"]]) for batch in batches for h in batch}, seen
    drains = run.tasks("Drain the agents of this batch")
    assert [d["backend"] for d in drains] == ["schedule"] * 3
    assert [sorted(a["hostname"] for a in d["agents"] if a["outcome"] == "new") for d in drains] == batches
    # The drain waited for the tasks to end: none was active when the maintenance began.
    assert active_tasks(site) == 0
    assert all(set(d["active_tasks"].values()) == {0} for d in drains), drains
    # Restored: out of the schedule; someone else's window as it was, verbatim.
    assert schedule(site) == {"windows": [THEIRS]}
    assert [sorted(r["restored"]) for r in run.tasks("Restore the agents of this batch")] == batches
    lines = run.summary
    assert lines[0].startswith("done: 3 batch(es), 5 agent(s) restored, 0 failed"), lines
    assert any(line.endswith("; backend schedule") for line in lines), lines
    data = site.memory()
    assert (data["agents"], data["holds"]) == ({}, {}), json.dumps(data, indent=1)

    # A second run does the same again, and leaves the schedule as the first did.
    start_tasks(site, 0.5)
    again = rolling(site)
    assert again.rc == 0, again.output
    assert seen_during_maintenance(again) == seen
    assert schedule(site) == {"windows": [THEIRS]}


def test_drain_and_restore_playbooks_with_the_schedule_are_idempotent(site):
    set_schedule(site, THEIRS)
    names = site.hostnames()[:2]
    extra = {"mesos_maintenance_agents": ",".join(names), "agent_maintenance_window_duration": "120"}

    first = site.run("drain", extra, inventory=inventory(site))
    assert first.rc == 0, first.output
    result = first.last("Drain the agents of this batch")
    assert result["changed"] and result["backend"] == "schedule", result
    windows = schedule(site)["windows"]
    assert windows[0] == THEIRS
    [ours] = windows[1:]
    assert sorted(m["hostname"] for m in ours["machine_ids"]) == names
    assert ours["unavailability"]["duration"] == {"nanoseconds": 120 * 1_000_000_000}

    second = site.run("drain", extra, inventory=inventory(site))
    assert second.rc == 0, second.output
    assert not second.last("Drain the agents of this batch")["changed"]
    assert schedule(site)["windows"] == windows

    for attempt in range(2):
        restore = site.run("restore", extra, inventory=inventory(site))
        assert restore.rc == 0, restore.output
        assert restore.last("Restore the agents of this batch")["changed"] is (attempt == 0)
        assert schedule(site) == {"windows": [THEIRS]}
    assert site.held() == []


@pytest.mark.parametrize("backend", ["allocator", "native"])
def test_the_window_duration_is_refused_with_another_backend(site, backend):
    run = site.run(
        "drain",
        {"mesos_maintenance_agents": site.hostnames()[0], "agent_maintenance_window_duration": 60},
        inventory=site.inventory(agent_maintenance_backend=backend),
    )
    assert run.rc != 0, run.output
    assert "window_duration: only with backend=schedule" in run.output, run.output
    assert schedule(site) == {}
