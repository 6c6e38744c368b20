# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""mesos.maintenance.offer_filter against simulated clusters of both allocator builds (`cluster` is parametrized)."""

from __future__ import annotations

import time

import pytest
from conftest import assert_failed, assert_ok, four_steps, offer_filter

from mesos_sim.waiting import wait_until

# --- states, with the four-step assert ---------------------------------------------------------------------------


@pytest.mark.smoke
def test_present_by_id(run_tasks, cluster):
    agent = cluster.agents[0]["id"]
    results = four_steps(
        run_tasks,
        offer_filter(cluster, agent_id=[agent]),
        verify_before=lambda: _expect(cluster, set()),
        verify_after=lambda: _expect(cluster, {agent}),
    )
    check, real = results[0], results[1]
    assert real["added"] == [agent] and real["removed"] == []
    assert [f["agent_id"] for f in real["filters"]] == [agent]
    assert check["added"] == real["added"] and check["filters"] == real["filters"]
    assert real["leader"]
    assert results[3]["msg"] == "the filters are already as requested"


def test_present_by_hostname(run_tasks, cluster):
    agent = cluster.agents[1]
    results = four_steps(
        run_tasks,
        offer_filter(cluster, hostname=[agent["hostname"]]),
        verify_before=lambda: _expect(cluster, set()),
        verify_after=lambda: _expect(cluster, {agent["id"]}),
    )
    assert results[1]["filters"] == [{"agent_id": agent["id"], "hostname": agent["hostname"]}]


def test_bulk_by_ids_and_hostnames(run_tasks, cluster):
    agents = cluster.agents
    ids = [agents[0]["id"], agents[1]["id"]]
    hosts = [agents[2]["hostname"], agents[3]["hostname"]]
    wanted = set(ids) | {agents[2]["id"], agents[3]["id"]}
    cluster.reset_log()
    results = four_steps(
        run_tasks,
        offer_filter(cluster, agent_ids=ids, hostnames=hosts),
        verify_before=lambda: _expect(cluster, set()),
        verify_after=lambda: _expect(cluster, wanted),
    )
    assert set(results[1]["added"]) == wanted
    # N + 3 requests for N agents: /master/redirect, state-summary, GET filters, one POST each
    assert results[1]["requests"] == len(wanted) + 3
    assert results[3]["requests"] == 3


def test_absent(run_tasks, cluster):
    agents = cluster.agents
    for agent in agents[:3]:
        cluster.add_filter(agent["id"])
    results = four_steps(
        run_tasks,
        offer_filter(cluster, state="absent", agent_id=[agents[0]["id"]], hostname=[agents[1]["hostname"]]),
        verify_before=lambda: _expect(cluster, {a["id"] for a in agents[:3]}),
        verify_after=lambda: _expect(cluster, {agents[2]["id"]}),
    )
    assert sorted(results[1]["removed"]) == sorted([agents[0]["id"], agents[1]["id"]])
    assert results[1]["added"] == []


def test_exclusive(run_tasks, cluster):
    agents = cluster.agents
    cluster.add_filter(agents[0]["id"])
    cluster.add_filter(agents[1]["id"])
    results = four_steps(
        run_tasks,
        offer_filter(cluster, hostname=[agents[1]["hostname"], agents[2]["hostname"]], exclusive=True),
        verify_before=lambda: _expect(cluster, {agents[0]["id"], agents[1]["id"]}),
        verify_after=lambda: _expect(cluster, {agents[1]["id"], agents[2]["id"]}),
    )
    assert results[1]["added"] == [agents[2]["id"]]
    assert results[1]["removed"] == [agents[0]["id"]]


def test_exclusive_without_agents_clears_all(run_tasks, cluster):
    for agent in cluster.agents:
        cluster.add_filter(agent["id"])
    everyone = set(cluster.agent_ids)
    four_steps(
        run_tasks,
        offer_filter(cluster, exclusive=True),
        verify_before=lambda: _expect(cluster, everyone),
        verify_after=lambda: _expect(cluster, set()),
    )


def test_filter_by_hostname_is_found_by_id_and_back(run_tasks, cluster):
    agent = cluster.agents[0]
    assert_ok(run_tasks(offer_filter(cluster, hostname=[agent["hostname"]])).result, changed=True)
    assert_ok(run_tasks(offer_filter(cluster, agent_id=[agent["id"]])).result, changed=False)
    # the same agent named twice is handled once
    assert_ok(
        run_tasks(offer_filter(cluster, agent_id=[agent["id"]], hostname=[agent["hostname"]])).result, changed=False
    )
    result = run_tasks(offer_filter(cluster, state="absent", hostname=[agent["hostname"]])).result
    assert_ok(result, changed=True)
    assert result["removed"] == [agent["id"]]
    assert cluster.filters() == set()


def test_diff_shows_the_filter_list(run_tasks, cluster):
    agents = cluster.agents
    cluster.add_filter(agents[0]["id"])
    result = run_tasks(offer_filter(cluster, agent_id=[agents[1]["id"]]), check=True, diff=True).result
    assert_ok(result, changed=True)
    diff = result["diff"]
    assert diff["before"] == f"{agents[0]['id']} {agents[0]['hostname']}\n"
    assert diff["after"] == "".join(sorted(f"{a['id']} {a['hostname']}\n" for a in agents[:2]))
    assert cluster.filters() == {agents[0]["id"]}
    assert result["actions"] == [f"would add filter for {agents[1]['hostname']} ({agents[1]['id']})"]


def test_absent_of_unfiltered_agent_is_a_noop(run_tasks, cluster):
    agent = cluster.agents[0]
    result = run_tasks(offer_filter(cluster, state="absent", agent_id=[agent["id"]])).result
    assert_ok(result, changed=False)
    assert result["requests"] == 3


# --- finding the leader ------------------------------------------------------------------------------------------


def test_standby_only_master_url(run_tasks, cluster):
    """Build 0afdd8b's standbys answer GET with an empty list; the module must ask the leader."""
    leader = cluster.leader_index
    standby = next(i for i in range(3) if i != leader)
    cluster.add_filter(cluster.agents[0]["id"])
    task = offer_filter(cluster, master_url=[cluster.urls[standby]], agent_id=[cluster.agents[0]["id"]])
    result = run_tasks(task).result
    assert_ok(result, changed=False)
    assert cluster.filters() == {cluster.agents[0]["id"]}
    assert result["leader"].endswith(":" + cluster.urls[leader].rsplit(":", 1)[1])
    cluster.reset_log()
    result = run_tasks(
        offer_filter(cluster, master_url=[cluster.urls[standby]], agent_id=[cluster.agents[1]["id"]])
    ).result
    assert_ok(result, changed=True)
    assert cluster.filters() == {cluster.agents[0]["id"], cluster.agents[1]["id"]}
    served = [(i, method) for i, method, path in cluster.request_log if path.startswith("/allocator/filters")]
    assert served and all(i == leader for i, _ in served)


def test_dead_first_master(run_tasks, cluster_factory, build):
    cluster = cluster_factory(masters=3, agents=3, build=build)
    cluster.kill_master(1)
    urls = [cluster.urls[1], cluster.urls[2], cluster.urls[0]]
    result = run_tasks(offer_filter(cluster, master_url=urls, agent_id=[cluster.agents[0]["id"]])).result
    assert_ok(result, changed=True)
    assert cluster.filters() == {cluster.agents[0]["id"]}


def test_dead_leader_first_in_list(run_tasks, cluster_factory, build):
    cluster = cluster_factory(masters=3, agents=3, build=build)
    old = cluster.kill_leader()
    cluster.wait_for_leader()
    urls = [cluster.urls[old]] + [u for i, u in enumerate(cluster.urls) if i != old]
    result = run_tasks(offer_filter(cluster, master_url=urls, hostname=[cluster.agents[2]["hostname"]])).result
    assert_ok(result, changed=True)
    assert cluster.filters() == {cluster.agents[2]["id"]}


def test_no_leader_yet_then_a_leader_appears(run_tasks, cluster_factory, build):
    cluster = cluster_factory(masters=3, agents=3, build=build, election_delay=3.0)
    cluster.kill_leader()
    assert cluster.leader_index is None
    result = run_tasks(offer_filter(cluster, agent_id=[cluster.agents[0]["id"]], leader_timeout=30)).result
    assert_ok(result, changed=True)
    assert cluster.leader_index is not None
    assert cluster.filters() == {cluster.agents[0]["id"]}


def test_no_leader_within_leader_timeout(run_tasks, cluster_factory, build):
    cluster = cluster_factory(masters=3, agents=3, build=build, election_delay=120.0)
    cluster.kill_leader()
    result = run_tasks(offer_filter(cluster, agent_id=[cluster.agents[0]["id"]], leader_timeout=1.5)).result
    assert_failed(
        result,
        "no leading Mesos master found within leader_timeout=1.5s",
        "no leader elected (503)",
        "connection refused",
    )
    assert result["added"] == []


# --- disconnected agents -----------------------------------------------------------------------------------------


def test_disconnected_agent_is_never_unfiltered(run_tasks, cluster):
    agents = cluster.agents
    cluster.disconnect_agent(agents[0]["id"])
    assert agents[0]["id"] in cluster.filters()
    result = run_tasks(offer_filter(cluster, state="absent", agent_id=[agents[0]["id"]])).result
    assert_ok(result, changed=False)
    assert result["kept_disconnected"] == [agents[0]["id"]]
    assert any("disconnected" in w for w in result["warnings"]), result["warnings"]
    assert cluster.filters() == {agents[0]["id"]}
    # exclusive keeps it as well, and removes the rest
    cluster.add_filter(agents[1]["id"])
    result = run_tasks(offer_filter(cluster, exclusive=True, agent_id=[agents[2]["id"]])).result
    assert_ok(result, changed=True)
    assert result["removed"] == [agents[1]["id"]]
    assert cluster.filters() == {agents[0]["id"], agents[2]["id"]}


def test_present_on_disconnected_agent_warns(run_tasks, cluster):
    agent = cluster.agents[0]
    cluster.disconnect_agent(agent["id"])
    result = run_tasks(offer_filter(cluster, agent_id=[agent["id"]])).result
    assert_ok(result, changed=False)
    assert any("disconnected" in w for w in result["warnings"]), result["warnings"]


# --- max_filtered ---------------------------------------------------------------------------------------------------


def test_max_filtered_refuses_and_changes_nothing(run_tasks, cluster):
    agents = cluster.agents  # 5 agents
    cluster.add_filter(agents[0]["id"])
    cluster.disconnect_agent(agents[1]["id"])
    before = cluster.filters()
    cluster.reset_log()
    result = run_tasks(offer_filter(cluster, agent_id=[agents[2]["id"], agents[3]["id"]], max_filtered=3)).result
    assert_failed(
        result,
        "refusing to filter",
        "4 of 5 agents would be unavailable",
        "max_filtered=3",
        f"refusing to filter {agents[2]['hostname']}, {agents[3]['hostname']}: ",
        f"{agents[0]['hostname']} (filtered)",
        f"{agents[1]['hostname']} (disconnected)",
        "Nothing was changed",
    )
    assert cluster.filters() == before
    assert not [entry for entry in cluster.request_log if entry[1] in ("POST", "DELETE", "PUT")]


@pytest.mark.parametrize("limit, ok", [("60%", True), ("59%", False), (3, True), ("2", False)])
def test_max_filtered_limits(run_tasks, cluster, limit, ok):
    agents = cluster.agents  # 5 agents; 60% of 5 = 3
    cluster.add_filter(agents[0]["id"])
    result = run_tasks(offer_filter(cluster, agent_id=[agents[1]["id"], agents[2]["id"]], max_filtered=limit)).result
    if ok:
        assert_ok(result, changed=True)
        assert len(cluster.filters()) == 3
    else:
        assert_failed(result, "refusing to filter")
        assert cluster.filters() == {agents[0]["id"]}


def test_max_filtered_never_refuses_removal(run_tasks, cluster):
    agents = cluster.agents
    for agent in agents:
        cluster.add_filter(agent["id"])
    result = run_tasks(offer_filter(cluster, exclusive=True, agent_id=[agents[0]["id"]], max_filtered=0)).result
    assert_ok(result, changed=True)
    assert cluster.filters() == {agents[0]["id"]}


# --- wait ------------------------------------------------------------------------------------------------------------


def test_wait_until_tasks_end(run_tasks, cluster):
    agent = cluster.agents[0]["id"]
    cluster.launch_tasks(agent, count=2)
    pending = start_waiting(run_tasks, cluster, agent)
    time.sleep(1.0)
    cluster.finish_tasks(agent)
    result = pending.wait().result
    assert_ok(result, changed=True)
    assert result["active_tasks"] == {agent: 0}
    assert result["reasserted"] == 0
    assert result["waited"] >= 0.5
    assert cluster.filters() == {agent}


def test_wait_times_out_with_counts(run_tasks, cluster):
    agent = cluster.agents[0]["id"]
    cluster.launch_tasks(agent, count=3)
    result = run_tasks(offer_filter(cluster, agent_id=[agent], wait=True, wait_sleep=0.2, wait_timeout=1)).result
    assert_failed(result, "timed out after 1s", "3 active", "the filters stay in place")
    assert result["active_tasks"] == {agent: 3}
    assert result["added"] == [agent]
    assert cluster.filters() == {agent}


def test_wait_timeout_zero_checks_once(run_tasks, cluster):
    agents = cluster.agents
    cluster.launch_tasks(agents[0]["id"], count=1)
    result = run_tasks(offer_filter(cluster, agent_id=[agents[1]["id"]], wait=True, wait_timeout=0)).result
    assert_ok(result, changed=True)
    result = run_tasks(offer_filter(cluster, agent_id=[agents[0]["id"]], wait=True, wait_timeout=0)).result
    assert_failed(result, "timed out after 0s")


def test_wait_in_check_mode_reports_counts_only(run_tasks, cluster):
    agent = cluster.agents[0]["id"]
    cluster.launch_tasks(agent, count=2)
    result = run_tasks(offer_filter(cluster, agent_id=[agent], wait=True), check=True).result
    assert_ok(result, changed=True)
    assert result["active_tasks"] == {agent: 2}
    assert cluster.filters() == set()


def test_wait_failover_reasserts_lost_filter(run_tasks, cluster_factory, build):
    cluster = cluster_factory(masters=3, agents=3, build=build, persist=False)
    agent = cluster.agents[0]["id"]
    cluster.launch_tasks(agent, count=1)
    pending = start_waiting(run_tasks, cluster, agent)
    old = cluster.kill_leader()
    cluster.wait_for_leader()
    # the new leader's allocator starts without the filter; the module must put it back while it waits
    wait_until(lambda: agent in cluster.filters(), timeout=60)
    cluster.finish_tasks(agent)
    result = pending.wait().result
    assert_ok(result, changed=True)
    assert result["reasserted"] >= 1
    assert cluster.leader_index not in (None, old)
    assert agent in cluster.filters()
    assert any("added again" in a for a in result["actions"])


def test_wait_failover_with_persisted_filters_needs_no_reassert(run_tasks, cluster_factory):
    cluster = cluster_factory(masters=3, agents=3, build="later", persist=True)
    agent = cluster.agents[0]["id"]
    cluster.launch_tasks(agent, count=1)
    pending = start_waiting(run_tasks, cluster, agent)
    cluster.kill_leader()
    cluster.wait_for_leader()
    time.sleep(1.5)  # several polls against the new leader
    assert agent in cluster.filters()
    cluster.finish_tasks(agent)
    result = pending.wait().result
    assert_ok(result, changed=True)
    assert result["reasserted"] == 0
    assert agent in cluster.filters()


def test_wait_agent_reregistration_reasserts(run_tasks, cluster_factory, build):
    cluster = cluster_factory(masters=1, agents=3, build=build, persist=False)
    agent = cluster.agents[0]["id"]
    cluster.launch_tasks(agent, count=1)
    pending = start_waiting(run_tasks, cluster, agent)
    cluster.disconnect_agent(agent)
    cluster.reregister_agent(agent)
    assert agent not in cluster.filters()  # re-registration dropped the filter
    wait_until(lambda: agent in cluster.filters(), timeout=60)
    cluster.finish_tasks(agent)
    result = pending.wait().result
    assert_ok(result, changed=True)
    assert result["reasserted"] >= 1
    assert agent in cluster.filters()


def test_wait_follows_agent_that_came_back_with_a_new_id(run_tasks, cluster_factory, build):
    cluster = cluster_factory(masters=1, agents=3, build=build)
    agent = cluster.agents[0]
    cluster.launch_tasks(agent["id"], count=1)
    pending = run_tasks(
        offer_filter(cluster, agent_id=[agent["id"]], wait=True, wait_sleep=0.2, wait_timeout=60), background=True
    )
    wait_until(lambda: agent["id"] in cluster.filters(), timeout=60)
    new_id = cluster.replace_agent(agent["id"])  # the old id's tasks are lost with it
    result = pending.wait().result
    assert_ok(result, changed=True)
    assert new_id in cluster.filters()
    assert result["active_tasks"] == {new_id: 0}
    assert result["reasserted"] == 1
    assert any("re-registered as" in w for w in result["warnings"]), result["warnings"]


# --- helpers ---------------------------------------------------------------------------------------------------------


def start_waiting(run_tasks, cluster, agent_id):
    """Start `offer_filter` with wait=true in the background; return once its filter is in place."""
    task = offer_filter(cluster, agent_id=[agent_id], wait=True, wait_sleep=0.2, wait_timeout=60)
    pending = run_tasks(task, background=True)
    wait_until(lambda: agent_id in cluster.filters(), timeout=60)
    return pending


def _expect(cluster, wanted):
    # Every change request the masters saw: one the test did not send came from another process.
    changes = [entry for entry in list(cluster.request_log) if entry[1] != "GET"]
    assert cluster.filters() == wanted, changes
