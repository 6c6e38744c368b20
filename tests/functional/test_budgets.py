# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Disruption budgets over real HTTP against the simulator, whose "marathon" framework runs apps as Marathon does:
named tasks, relaunched on another agent in service after a delay when they end (killed by a drain).

offer_filter refuses, before any change, a filter that would take an app over its budget (and says the same in
check mode); rolling_maintenance.yml with mesos_maintenance_batching=budget plans batches around the budget, prints
the plan in check mode and changes nothing, waits between batches until the apps the last batch touched run again
(a sampler checks that no app ever goes below its budget), and defers an agent onto which an instance moved after
the plan to a second pass."""

from __future__ import annotations

import pytest
from conftest import assert_failed, offer_filter
from maintenance_helpers import SIM_MAINTENANCE, RunningSampler, SimulatedSite, cluster_args

NATIVE = "native"


@pytest.fixture
def site(cluster_factory, tmp_path, collections_path):
    # Agents 1 to 4 are maintained; 5 and 6 are spare room where drained instances start again.
    cluster = cluster_factory(**cluster_args(NATIVE, masters=1, agents=6))
    site = SimulatedSite(cluster, tmp_path, collections_path)
    yield site
    site.close()


def ids(site, *numbers):
    return [site.agent_id(f"agent-{n}.example.com") for n in numbers]


@pytest.mark.parametrize("check", [False, True])
def test_offer_filter_refuses_a_change_that_takes_all_instances_before_anything_changes(cluster, run_tasks, check):
    agents = cluster.agent_ids
    cluster.add_app("web", 3, agents=agents[:3])
    hostnames = [a["hostname"] for a in cluster.agents if a["id"] in agents[:3]]
    [result] = run_tasks([offer_filter(cluster, hostname=hostnames, max_unavailable_per_group="2")], check=check)
    assert_failed(
        result,
        "The disruption budget max_unavailable_per_group=2 (group_by=task) refuses taking out",
        "marathon/web would have 3 of its 3 running task(s) unavailable, 2 allowed",
    )
    assert result["added"] == []
    assert cluster.filters() == set()
    # within the budget, the same call goes through
    [result] = run_tasks([offer_filter(cluster, hostname=hostnames[:2], max_unavailable_per_group="2")], check=check)
    assert result["changed"] is True and not result.get("failed"), result
    assert len(cluster.filters()) == (0 if check else 2)


def test_a_single_instance_under_a_percentage_is_reported_with_what_to_set(cluster, run_tasks):
    cluster.add_app("db", 1, agents=cluster.agent_ids[:1])
    hostname = cluster.agents[0]["hostname"]
    [result] = run_tasks([offer_filter(cluster, hostname=[hostname], max_unavailable_per_group="50%")])
    assert_failed(result, "0 (50% of 1, rounded down) allowed", "set max_unavailable_per_group to a count (1 or more)")
    assert cluster.filters() == set()


def budget_run(**variables):
    return {
        "mesos_maintenance_agents": "mesos_agents",
        "mesos_maintenance_serial": "2",
        "mesos_maintenance_batching": "budget",
        "mesos_maintenance_tasks_file": str(SIM_MAINTENANCE),
        "mesos_maintenance_registration_timeout": "5",
        **variables,
    }


def budget_inventory(site, **variables):
    return site.inventory(
        hosts=site.hostnames()[:4],
        agent_maintenance_max_unavailable_per_group="1",
        agent_maintenance_drain=True,
        agent_maintenance_max_filtered="50%",
        **variables,
    )


def test_check_mode_prints_the_plan_and_changes_nothing(site):
    # web on agents 1 and 2: in order, batches of 2 would take both instances at once.
    site.cluster.add_app("web", 2, agents=ids(site, 1, 2))
    site.cluster.add_app("api", 2, agents=ids(site, 1, 3))
    run = site.run("rolling_maintenance", budget_run(), inventory=budget_inventory(site), check=True)
    assert run.rc == 0, run.output
    assert "batch 1: agent-1.example.com, agent-4.example.com -- marathon/api 1/1, marathon/web 1/1" in run.stdout
    assert "batch 2: agent-2.example.com, agent-3.example.com -- marathon/api 1/1, marathon/web 1/1" in run.stdout
    assert site.filtered_ids() == set()
    assert site.changes() == []
    assert not site.memory_file.exists() or site.ledger()["runs"] == {}


def test_one_rack_at_a_time_in_check_mode(site):
    # Agents 1 and 3 in rack r1, 2 and 4 in r2: in order, batches of 2 would mix the racks.
    for number in range(1, 5):
        site.cluster.set_attributes(ids(site, number)[0], {"rack": "r%d" % (2 - number % 2)})
    site.cluster.add_app("web", 2, agents=ids(site, 1, 2))
    variables = budget_run(mesos_maintenance_batching="serial", mesos_maintenance_group_by_attribute="rack")
    run = site.run("rolling_maintenance", variables, inventory=budget_inventory(site), check=True)
    assert run.rc == 0, run.output
    assert "batch 1 (rack=r1): agent-1.example.com, agent-3.example.com -- marathon/web 1" in run.stdout, run.stdout
    assert "batch 2 (rack=r2): agent-2.example.com, agent-4.example.com -- marathon/web 1" in run.stdout, run.stdout
    assert site.changes() == []


def test_rolling_maintenance_keeps_every_app_within_its_budget_and_waits_for_recovery(site):
    # Planned: [1, 2] then [3, 4]. Each drained instance starts again (on agent 5 or 6) only 6 s later: without the
    # wait for recovery between batches, batch 2 would take the last running instance of web and of api.
    site.cluster.add_app("web", 2, agents=ids(site, 1, 3), relaunch_delay=6.0)
    site.cluster.add_app("api", 2, agents=ids(site, 2, 4), relaunch_delay=6.0)
    with RunningSampler(site.cluster, ["web", "api"]) as sampler:
        run = site.run("rolling_maintenance", budget_run(), inventory=budget_inventory(site))
    assert run.rc == 0, run.output
    assert sampler.lowest == {"web": 1, "api": 1}, sampler.lowest
    summary = run.summary
    assert summary[0].startswith("done: 2 batch(es), 4 agent(s) restored, 0 failed, 0 not started"), summary
    assert summary[1].startswith("batch 1 (agent-1.example.com, agent-2.example.com): restored"), summary
    assert summary[2].startswith("batch 2 (agent-3.example.com, agent-4.example.com): restored"), summary
    assert site.filtered_ids() == set()
    assert site.ledger()["runs"] == {}


def test_recovery_that_does_not_come_fails_the_run_before_the_next_batch(site):
    site.cluster.add_app("web", 2, agents=ids(site, 1, 3), relaunch_delay=60.0)
    run = site.run(
        "rolling_maintenance", budget_run(), inventory=budget_inventory(site, agent_maintenance_recovery_timeout=1)
    )
    assert run.rc != 0
    assert "the services the last batch touched are not whole again after 1.0s: marathon/web: 1 of 2 running" in (
        run.stdout
    ), run.output
    # the second batch was never taken out
    assert set(site.filtered_ids()) & set(ids(site, 3, 4)) == set()


def test_an_agent_an_instance_moved_onto_after_the_plan_is_deferred_to_the_second_pass(site):
    # Planned: [1, 2] then [3, 4]. Batch 1 kills web on agent-1; it starts again on agent-4, the first agent in
    # service with the fewest web instances and tasks. Batch 2 would then take both web instances: agent-4 waits
    # for the second pass.
    site.cluster.add_app("web", 2, agents=ids(site, 1, 3))
    with RunningSampler(site.cluster, ["web"]) as sampler:
        run = site.run("rolling_maintenance", budget_run(), inventory=budget_inventory(site))
    assert run.rc == 0, run.output
    assert sampler.lowest == {"web": 1}, sampler.lowest
    assert "deferred to a later pass" in run.stdout and "agent-4.example.com" in run.stdout, run.stdout
    summary = run.summary
    assert summary[0].startswith("done: 3 batch(es), 4 agent(s) restored, 0 failed, 0 not started"), summary
    assert summary[2].startswith("batch 2 (agent-3.example.com): restored"), summary
    assert summary[3].startswith("batch 3 (agent-4.example.com): restored"), summary
    assert site.filtered_ids() == set()
    assert site.ledger()["runs"] == {}
