# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A change whose answer is lost: the master applies the module's request, then the connection drops before the
answer arrives (a proxy or a network cut after the master acted; the simulator's `drop_after` fault). The module
retries, and the master answers the retry "nothing to do" (a second DELETE: 404 "No filter exists", a second
REACTIVATE_AGENT: 400 "Agent is not deactivated") or "done again" (a second POST / DEACTIVATE_AGENT: 200). Either
way the change is this run's: changed, listed in `added`/`removed`, and a second run has nothing to do."""

from __future__ import annotations

import pytest
from conftest import assert_ok, offer_filter
from test_playbook_native import OPERATOR_PATH, call, deactivated, start_native

FILTERS_PATH = "/allocator/filters"


class AllocatorSite:
    """A cluster with the allocator module, driven with backend=allocator."""

    backend = "allocator"
    path = FILTERS_PATH  # where the module reads (GET) and changes (POST, DELETE) the filters
    removed_note = "removed filter for {} (the first answer was lost; the retry found the filter already removed)"

    def __init__(self, cluster):
        self.cluster = cluster

    def take_out(self, agent_id):
        self.cluster.add_filter(agent_id)

    def out(self) -> set[str]:
        return self.cluster.filters()


class NativeSite(AllocatorSite):
    """A Mesos 1.11 cluster without the module, driven with backend=native."""

    backend = "native"
    path = OPERATOR_PATH  # GET_AGENTS and the changes alike
    removed_note = "reactivated {} (the first answer was lost; the retry found it already reactivated)"

    def take_out(self, agent_id):
        call(self.cluster, "DEACTIVATE_AGENT", agent_id)

    def out(self) -> set[str]:
        return deactivated(self.cluster)


@pytest.fixture
def allocator(cluster):
    return AllocatorSite(cluster)


@pytest.fixture
def native(cluster_factory):
    return NativeSite(start_native(cluster_factory))


def lose_the_answer_to_the_change(site):
    """The module's one read on the path passes; the master applies its first change and the answer is lost."""
    cluster = site.cluster
    cluster.inject(site.path, count=1, master=cluster.leader_index)
    cluster.inject(site.path, drop_after=True, count=1, master=cluster.leader_index)
    cluster.reset_log()


def requests_on_the_path(site) -> int:
    """How many requests the masters got on the path: both runs' read, the lost change and its retry make 4."""
    return sum(1 for entry in site.cluster.request_log if entry[2].split("?")[0] == site.path)


def run_twice(run_tasks, site, **args):
    """The task with the answer to its change lost, then the same task again; returns both results."""
    task = offer_filter(site.cluster, backend=site.backend, **args)
    run = run_tasks([dict(task, name="first"), dict(task, name="again")])
    return run["first"], run["again"]


def absent_with_the_answer_lost(run_tasks, site):
    agent = site.cluster.agents[0]
    site.take_out(agent["id"])
    lose_the_answer_to_the_change(site)
    first, again = run_twice(run_tasks, site, state="absent", agent_id=[agent["id"]])
    assert_ok(first, changed=True)
    assert first["removed"] == [agent["id"]]
    assert first["actions"] == [site.removed_note.format(f"{agent['hostname']} ({agent['id']})")]
    assert agent["id"] not in {f["agent_id"] for f in first["filters"]}
    assert site.out() == set()
    assert requests_on_the_path(site) == 4
    assert_ok(again, changed=False)
    assert again["removed"] == []


def present_with_the_answer_lost(run_tasks, site):
    agent = site.cluster.agents[0]
    lose_the_answer_to_the_change(site)
    first, again = run_twice(run_tasks, site, agent_id=[agent["id"]])
    assert_ok(first, changed=True)
    assert first["added"] == [agent["id"]]
    assert [f["agent_id"] for f in first["filters"]] == [agent["id"]]
    assert site.out() == {agent["id"]}
    assert requests_on_the_path(site) == 4
    assert_ok(again, changed=False)
    assert again["added"] == []


def test_absent_with_the_answer_lost_allocator(run_tasks, allocator):
    absent_with_the_answer_lost(run_tasks, allocator)


def test_absent_with_the_answer_lost_native(run_tasks, native):
    absent_with_the_answer_lost(run_tasks, native)


def test_present_with_the_answer_lost_allocator(run_tasks, allocator):
    present_with_the_answer_lost(run_tasks, allocator)


def test_present_with_the_answer_lost_native(run_tasks, native):
    present_with_the_answer_lost(run_tasks, native)
