# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""mesos.maintenance.offer_filter_info against simulated clusters."""

from __future__ import annotations

import pytest
from conftest import assert_failed, assert_ok, offer_filter_info


@pytest.mark.smoke
def test_reports_filters_agents_and_build(run_tasks, cluster, build):
    agents = cluster.agents
    cluster.add_filter(agents[0]["id"])
    cluster.launch_tasks(agents[1]["id"], count=2)
    cluster.disconnect_agent(agents[2]["id"])
    cluster.reset_log()
    result = run_tasks(offer_filter_info(cluster)).result
    assert_ok(result, changed=False)
    assert result["build"] == build
    assert result["leader"]
    assert {f["agent_id"] for f in result["filters"]} == {agents[0]["id"], agents[2]["id"]}
    by_id = {a["agent_id"]: a for a in result["agents"]}
    assert set(by_id) == set(cluster.agent_ids)
    assert by_id[agents[0]["id"]]["filtered"] is True
    assert by_id[agents[1]["id"]]["filtered"] is False
    assert by_id[agents[1]["id"]]["active_tasks"] == 2
    assert by_id[agents[1]["id"]]["tasks"]["TASK_RUNNING"] == 2
    assert by_id[agents[2]["id"]]["active"] is False
    assert by_id[agents[2]["id"]]["filtered"] is None
    assert by_id[agents[0]["id"]]["resources"]["cpus"] > 0
    assert result["exists"] is True and result["missing"] == []
    # never changes anything, never asks anything but GET
    assert all(method == "GET" for _, method, _ in cluster.request_log)
    assert result["requests"] <= 4


def test_narrowed_by_id_and_hostname(run_tasks, cluster):
    agents = cluster.agents
    result = run_tasks(
        offer_filter_info(
            cluster, agent_id=[agents[0]["id"], "gone-S42"], hostname=[agents[1]["hostname"], "ghost.example.com"]
        )
    ).result
    assert_ok(result, changed=False)
    assert [a["agent_id"] for a in result["agents"]] == [agents[0]["id"], agents[1]["id"]]
    assert result["exists"] is False
    assert result["missing"] == ["gone-S42", "ghost.example.com"]


def test_check_mode(run_tasks, cluster):
    result = run_tasks(offer_filter_info(cluster), check=True).result
    assert_ok(result, changed=False)
    assert len(result["agents"]) == 5


def test_leader_only_cannot_tell_the_build(run_tasks, cluster):
    result = run_tasks(offer_filter_info(cluster, master_url=[cluster.leader_url])).result
    assert_ok(result, changed=False)
    assert result["build"] is None


def test_errors_are_clear(run_tasks, cluster_factory):
    cluster = cluster_factory(masters=1, agents=1, build=None)
    result = run_tasks(offer_filter_info(cluster, backend="allocator")).result
    assert_failed(result, "offer filtering allocator module is not loaded")
    old = cluster_factory(masters=1, agents=1, build=None, version="0.24.1")
    result = run_tasks(offer_filter_info(old)).result
    assert_failed(
        result, "backend=auto", "runs Mesos 0.24.1", "backend=allocator", "backend=native", "backend=schedule"
    )


def test_ten_thousand_agents_in_one_playbook_task(run_tasks, cluster_factory):
    cluster = cluster_factory(masters=1, agents=10000, build="later")
    result = run_tasks(offer_filter_info(cluster)).result
    assert_ok(result)
    assert len(result["agents"]) == 10000
