# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""mesos.maintenance.offer_filter and offer_filter_info with backend=native (Mesos' own DEACTIVATE_AGENT,
DRAIN_AGENT, REACTIVATE_AGENT) against simulated Mesos 1.11.0 clusters without an allocator module, and
backend=auto against every kind of master."""

from __future__ import annotations

import http.client
import json
import time

import pytest
from conftest import assert_failed, assert_ok, four_steps, offer_filter, offer_filter_info

from mesos_sim.waiting import wait_until


@pytest.fixture
def native(cluster_factory):
    """Three Mesos 1.11.0 masters, five agents, no allocator module."""
    return cluster_factory(masters=3, agents=5, build=None, version="1.11.0")


def deactivated(cluster) -> set[str]:
    with cluster.state.lock:
        return {a.id for a in cluster.state.agents.values() if a.deactivated}


def drain_states(cluster) -> dict:
    with cluster.state.lock:
        return {a.id: a.drain_info["state"] for a in cluster.state.agents.values() if a.drain_info}


def call(cluster, call_type, agent_id, **fields):
    """A v1 call straight to the leader, as another operator would send it."""
    body = {"type": call_type, call_type.lower(): {"agent_id": {"value": agent_id}, **fields}}
    conn = http.client.HTTPConnection("127.0.0.1", int(cluster.leader_url.rsplit(":", 1)[1]), timeout=10)
    try:
        conn.request("POST", "/master/api/v1", json.dumps(body), {"Content-Type": "application/json"})
        response = conn.getresponse()
        assert response.status == 200, (response.status, response.read())
    finally:
        conn.close()


def native_task(cluster, **args):
    args.setdefault("backend", "native")
    return offer_filter(cluster, **args)


# --- states, with the four-step assert ----------------------------------------------------------------------------


def test_present_by_id_and_hostname(run_tasks, native):
    agents = native.agents
    wanted = {agents[0]["id"], agents[1]["id"]}
    native.reset_log()
    results = four_steps(
        run_tasks,
        native_task(native, agent_id=[agents[0]["id"]], hostname=[agents[1]["hostname"]]),
        verify_before=lambda: _expect(native, set()),
        verify_after=lambda: _expect(native, wanted),
    )
    check, real, _, again = results
    assert real["backend"] == "native"
    assert set(real["added"]) == wanted and real["removed"] == []
    assert check["filters"] == real["filters"]
    assert {f["agent_id"] for f in real["filters"]} == wanted
    assert all(f["drain_state"] is None for f in real["filters"])
    # /master/redirect, GET_AGENTS, one DEACTIVATE_AGENT each
    assert real["requests"] == len(wanted) + 2
    assert again["requests"] == 2
    assert again["msg"] == "the filters are already as requested"
    assert real["actions"] == [
        f"deactivated {agents[0]['hostname']} ({agents[0]['id']})",
        f"deactivated {agents[1]['hostname']} ({agents[1]['id']})",
    ]
    # Four runs: four GET_AGENTS, then one DEACTIVATE_AGENT per agent in the real run only.
    assert sum(1 for entry in native.request_log if entry[1:] == ("POST", "/master/api/v1")) == 4 + len(wanted)


def test_absent_reactivates_only_deactivated_agents(run_tasks, native):
    agents = native.agents
    for agent in agents[:3]:
        call(native, "DEACTIVATE_AGENT", agent["id"])
    results = four_steps(
        run_tasks,
        native_task(
            native, state="absent", agent_id=[agents[0]["id"], agents[3]["id"]], hostname=[agents[1]["hostname"]]
        ),
        verify_before=lambda: _expect(native, {a["id"] for a in agents[:3]}),
        verify_after=lambda: _expect(native, {agents[2]["id"]}),
    )
    assert sorted(results[1]["removed"]) == sorted([agents[0]["id"], agents[1]["id"]])
    assert results[1]["actions"][0].startswith("reactivated ")
    assert results[0]["actions"][0].startswith("would reactivate ")


def test_exclusive_reactivates_the_others_but_never_a_disconnected_agent(run_tasks, native):
    agents = native.agents
    call(native, "DEACTIVATE_AGENT", agents[0]["id"])
    call(native, "DEACTIVATE_AGENT", agents[1]["id"])
    native.disconnect_agent(agents[4]["id"])  # inactive, but nobody deactivated it
    four_steps(
        run_tasks,
        native_task(native, hostname=[agents[1]["hostname"], agents[2]["hostname"]], exclusive=True),
        verify_before=lambda: _expect(native, {agents[0]["id"], agents[1]["id"]}),
        verify_after=lambda: _expect(native, {agents[1]["id"], agents[2]["id"]}),
    )
    result = run_tasks(native_task(native, exclusive=True)).result
    assert_ok(result, changed=True)
    assert sorted(result["removed"]) == sorted([agents[1]["id"], agents[2]["id"]])
    assert deactivated(native) == set()


def test_diff_lists_deactivated_agents_and_drain_states(run_tasks, native):
    agents = native.agents
    call(native, "DEACTIVATE_AGENT", agents[0]["id"])
    result = run_tasks(native_task(native, agent_id=[agents[1]["id"]], drain=True), check=True, diff=True).result
    assert_ok(result, changed=True)
    diff = result["diff"]
    assert diff["before"] == f"{agents[0]['id']} {agents[0]['hostname']}\n"
    assert diff["after"] == "".join(
        sorted(
            [f"{agents[0]['id']} {agents[0]['hostname']}\n", f"{agents[1]['id']} {agents[1]['hostname']} DRAINING\n"]
        )
    )
    assert diff["before_header"].endswith("/master/api/v1 (deactivated agents) (before)")
    assert deactivated(native) == {agents[0]["id"]}


# --- drain ----------------------------------------------------------------------------------------------------------


def test_drain_four_steps_and_wait_for_drained(run_tasks, native):
    agents = native.agents
    native.launch_tasks(agents[0]["id"], count=2)
    call(native, "DEACTIVATE_AGENT", agents[1]["id"])  # only deactivated: drain=true still drains it
    task = native_task(native, agent_id=[agents[0]["id"], agents[1]["id"]], drain=True, drain_grace_period=1.5)
    results = four_steps(
        run_tasks,
        task,
        verify_before=lambda: _expect(native, {agents[1]["id"]}),
        verify_after=lambda: _expect(native, {agents[0]["id"], agents[1]["id"]}),
    )
    assert results[1]["added"] == [agents[0]["id"], agents[1]["id"]]
    assert results[1]["actions"][0].startswith("started draining ")
    wait_until(lambda: drain_states(native) == {agents[0]["id"]: "DRAINED", agents[1]["id"]: "DRAINED"})
    assert native.active_tasks(agents[0]["id"]) == 0
    with native.state.lock:
        config = native.state.agents[agents[0]["id"]].drain_info["config"]
    # Sent as {"seconds": 1, "nanos": 500000000}; a master that read it reports it in nanoseconds.
    assert config == {"max_grace_period": {"nanoseconds": 1_500_000_000}, "mark_gone": False}


def test_drain_wait_follows_draining_to_drained(run_tasks, native):
    agent = native.agents[0]["id"]
    native.launch_tasks(agent, count=1)
    native.disconnect_agent(agent)  # a disconnected agent cannot kill its tasks: it stays DRAINING
    pending = run_tasks(
        native_task(native, agent_id=[agent], drain=True, wait=True, wait_sleep=0.2, wait_timeout=60), background=True
    )
    wait_until(lambda: drain_states(native) == {agent: "DRAINING"}, timeout=60)
    time.sleep(1.0)
    native.reregister_agent(agent)
    result = pending.wait().result
    assert_ok(result, changed=True)
    assert result["filters"] == [
        {"agent_id": agent, "hostname": native.agents[0]["hostname"], "drain_state": "DRAINED"}
    ]
    assert result["waited"] >= 0.5
    assert result["active_tasks"] == {agent: 0}


def test_drain_wait_times_out_naming_the_drain_state(run_tasks, native):
    agent = native.agents[0]["id"]
    native.disconnect_agent(agent)
    result = run_tasks(
        native_task(native, agent_id=[agent], drain=True, wait=True, wait_sleep=0.2, wait_timeout=1)
    ).result
    assert_failed(result, "timed out after 1s", "drain DRAINING", "the filters stay in place")
    assert result["added"] == [agent]


def test_absent_refuses_a_draining_agent_before_any_change(run_tasks, native):
    agents = native.agents
    native.disconnect_agent(agents[0]["id"])
    call(native, "DRAIN_AGENT", agents[0]["id"])
    call(native, "DEACTIVATE_AGENT", agents[1]["id"])
    result = run_tasks(native_task(native, state="absent", agent_id=[agents[1]["id"], agents[0]["id"]])).result
    assert_failed(result, "cannot reactivate", agents[0]["id"], "still DRAINING", "nothing was changed")
    assert deactivated(native) == {agents[0]["id"], agents[1]["id"]}


def test_drain_mark_gone_warns_and_wait_sees_the_agent_go(run_tasks, native):
    agent = native.agents[0]
    result = run_tasks(
        native_task(
            native, agent_id=[agent["id"]], drain=True, mark_gone=True, wait=True, wait_sleep=0.2, wait_timeout=30
        )
    ).result
    assert_ok(result, changed=True)
    assert any("permanent" in w for w in result["warnings"]), result["warnings"]
    assert result["gone"] == [agent["id"]]
    assert agent["id"] not in native.agent_ids
    assert any("marked gone" in a for a in result["actions"])


def test_wait_without_drain_reasserts_a_deactivation_someone_undid(run_tasks, native):
    agent = native.agents[0]["id"]
    native.launch_tasks(agent, count=1)
    pending = run_tasks(
        native_task(native, agent_id=[agent], wait=True, wait_sleep=0.2, wait_timeout=60), background=True
    )
    wait_until(lambda: agent in deactivated(native), timeout=60)
    time.sleep(0.5)
    call(native, "REACTIVATE_AGENT", agent)
    wait_until(lambda: agent in deactivated(native), timeout=30)
    native.finish_tasks(agent)
    result = pending.wait().result
    assert_ok(result, changed=True)
    assert result["reasserted"] >= 1
    assert deactivated(native) == {agent}


# --- capacity guard, unknown agents, failover, options ---------------------------------------------------------------


def test_max_filtered_counts_deactivated_and_disconnected_agents(run_tasks, native):
    agents = native.agents  # 5 agents
    call(native, "DEACTIVATE_AGENT", agents[0]["id"])
    native.disconnect_agent(agents[1]["id"])
    native.reset_log()
    result = run_tasks(native_task(native, agent_id=[agents[2]["id"], agents[3]["id"]], max_filtered="60%")).result
    assert_failed(
        result,
        "refusing to filter",
        "4 of 5 agents would be unavailable",
        f"{agents[0]['hostname']} ({agents[0]['id']}, filtered)",
        f"{agents[1]['hostname']} ({agents[1]['id']}, disconnected)",
        "nothing was changed",
    )
    assert deactivated(native) == {agents[0]["id"]}
    assert sum(1 for entry in native.request_log if entry[1:] == ("POST", "/master/api/v1")) == 1  # GET_AGENTS
    assert result["backend"] == "native"
    assert_ok(run_tasks(native_task(native, agent_id=[agents[2]["id"]], max_filtered=3)).result, changed=True)


def test_unknown_agent_fails_before_any_change_and_absent_warns(run_tasks, native):
    agents = native.agents
    result = run_tasks(native_task(native, agent_id=[agents[0]["id"], "no-such-agent"])).result
    assert_failed(result, "unknown agent(s): agent id no-such-agent", "nothing was changed")
    assert deactivated(native) == set()
    result = run_tasks(native_task(native, state="absent", hostname=["nowhere.example.com"])).result
    assert_ok(result, changed=False)
    assert any("nowhere.example.com" in w for w in result["warnings"])


def test_agent_removed_between_read_and_call(run_tasks, native):
    agents = native.agents
    native.inject("/master/api/v1", count=1)  # GET_AGENTS passes
    native.inject("/master/api/v1", status=400, body="Unknown agent", count=1)
    result = run_tasks(native_task(native, agent_id=[agents[0]["id"], agents[1]["id"]])).result
    assert_failed(
        result,
        f"DEACTIVATE_AGENT for {agents[0]['hostname']} ({agents[0]['id']})",
        "Unknown agent",
        "removed since the agents were read",
    )
    assert result["added"] == [] and result["pending"] == [agents[0]["id"], agents[1]["id"]]


def test_failover_during_a_bulk_change(run_tasks, native):
    ids = native.agent_ids
    native.inject("/master/api/v1", latency=0.4, count=4)
    pending = run_tasks(native_task(native, agent_id=ids), background=True)
    wait_until(lambda: len(deactivated(native)) >= 1, timeout=60)
    native.kill_leader()
    native.wait_for_leader()
    result = pending.wait().result
    assert_ok(result, changed=True)
    # Deactivation is in the registry: what was done before the failover is still there, the rest was done after.
    assert deactivated(native) == set(ids)
    assert_ok(run_tasks(native_task(native, agent_id=ids)).result, changed=False)


def test_standby_only_master_url_and_authentication(run_tasks, cluster_factory):
    cluster = cluster_factory(masters=3, agents=3, build=None, version="1.11.0", principal="ops", secret="s3cret")
    standby = [u for u in cluster.urls if u != cluster.leader_url][0]
    agent = cluster.agent_ids[0]
    result = run_tasks(native_task(cluster, master_url=[standby], agent_id=[agent])).result
    assert_failed(result, "401 Unauthorized", "set principal and secret")
    result = run_tasks(
        native_task(cluster, master_url=[standby], agent_id=[agent], principal="ops", secret="s3cret")
    ).result
    assert_ok(result, changed=True)
    assert result["leader"].rsplit(":", 1)[1] == cluster.leader_url.rsplit(":", 1)[1]
    assert deactivated(cluster) == {agent}


def test_tls(run_tasks, cluster_factory):
    cluster = cluster_factory(masters=3, agents=3, build=None, version="1.11.0", tls=True)
    agent = cluster.agent_ids[0]
    result = run_tasks(native_task(cluster, agent_id=[agent])).result
    assert_failed(result, "TLS certificate verification failed", "ca_path")
    for state in ("present", "absent"):
        result = run_tasks(native_task(cluster, agent_id=[agent], state=state, ca_path=cluster.ca_path)).result
        assert_ok(result, changed=True)
        assert result["leader"].startswith("https://")
    assert deactivated(cluster) == set()


@pytest.mark.parametrize(
    "args, fragment",
    [
        (dict(backend="allocator", drain=True), "drain: only with backend=native"),
        (dict(mark_gone=True), "mark_gone applies to drain=true only"),
        (dict(drain_grace_period=5), "drain_grace_period applies to drain=true only"),
        (dict(state="absent", drain=True), "drain applies to state=present only"),
    ],
)
def test_options_of_the_other_backend_fail_before_any_request(run_tasks, native, args, fragment):
    result = run_tasks(native_task(native, agent_id=[native.agent_ids[0]], **args)).result
    assert_failed(result, fragment)
    assert result["requests"] == 0


# --- backend=auto -----------------------------------------------------------------------------------------------------


def test_auto_picks_native_on_mesos_111(run_tasks, native):
    agent = native.agent_ids[0]
    task = offer_filter(native, agent_id=[agent])
    result = run_tasks(task).result
    assert_ok(result, changed=True)
    assert result["backend"] == "native"
    # /master/redirect, GET /allocator/filters (404), /version, GET_AGENTS, DEACTIVATE_AGENT
    assert result["requests"] == 5
    assert deactivated(native) == {agent}
    assert native.filters() == {agent}  # the master deactivated it in its allocator: no offers


def test_auto_picks_the_allocator_module_where_it_answers(run_tasks, cluster):
    agent = cluster.agent_ids[0]
    result = run_tasks(offer_filter(cluster, agent_id=[agent])).result
    assert_ok(result, changed=True)
    assert result["backend"] == "allocator"
    assert result["requests"] == 4  # N + 3, as with backend=allocator
    assert cluster.filters() == {agent}
    result = run_tasks(offer_filter(cluster, agent_id=[agent], drain=True)).result
    assert_failed(result, "drain: only with backend=native", "backend=auto chose allocator", "nothing was changed")


def test_auto_without_module_on_mesos_101_says_what_to_install(run_tasks, cluster_factory):
    cluster = cluster_factory(masters=1, agents=2, build=None, version="1.0.1")
    for task in (offer_filter(cluster, agent_id=[cluster.agent_ids[0]]), offer_filter_info(cluster)):
        result = run_tasks(task).result
        assert_failed(
            result,
            "runs Mesos 1.0.1",
            "404",
            "offer_filter_allocator role",
            "backend=allocator",
            "upgrade Mesos to 1.9 or later",
            "backend=native",
        )
    result = run_tasks(native_task(cluster, agent_id=[cluster.agent_ids[0]])).result
    assert_failed(result, 'without a "deactivated" field', "older than Mesos 1.9", "backend=allocator")


# --- offer_filter_info ------------------------------------------------------------------------------------------------


def test_info_reports_deactivated_and_drain_state(run_tasks, native):
    agents = native.agents
    call(native, "DEACTIVATE_AGENT", agents[0]["id"])
    native.disconnect_agent(agents[1]["id"])
    call(native, "DRAIN_AGENT", agents[1]["id"])  # disconnected: stays DRAINING
    call(native, "DRAIN_AGENT", agents[2]["id"])
    wait_until(lambda: drain_states(native).get(agents[2]["id"]) == "DRAINED")
    native.disconnect_agent(agents[3]["id"])
    for backend in ("auto", "native"):
        result = run_tasks(offer_filter_info(native, backend=backend)).result
        assert_ok(result, changed=False)
        assert result["backend"] == "native"
        reports = {a["agent_id"]: a for a in result["agents"]}
        expected = {
            agents[0]["id"]: (False, True, True, None),
            agents[1]["id"]: (False, True, True, "DRAINING"),
            agents[2]["id"]: (False, True, True, "DRAINED"),
            agents[3]["id"]: (False, False, False, None),
            agents[4]["id"]: (True, False, False, None),
        }
        assert {
            k: (r["active"], r["deactivated"], r["filtered"], r["drain_state"]) for k, r in reports.items()
        } == expected
        assert {f["agent_id"]: f["drain_state"] for f in result["filters"]} == {
            agents[0]["id"]: None,
            agents[1]["id"]: "DRAINING",
            agents[2]["id"]: "DRAINED",
        }
        assert result["requests"] == (4 if backend == "auto" else 2)


def _expect(cluster, wanted):
    assert deactivated(cluster) == wanted
