# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""mesos.maintenance.offer_filter and offer_filter_info with backend=native (Mesos' own DEACTIVATE_AGENT,
DRAIN_AGENT, REACTIVATE_AGENT) against simulated Mesos 1.11.0 clusters without an allocator module, and
backend=auto against every kind of master. Faults on the v1 operator path: test_playbook_native_faults.py."""

from __future__ import annotations

import http.client
import json
import time

import pytest
from conftest import assert_failed, assert_ok, four_steps, offer_filter, offer_filter_info

from mesos_sim.waiting import wait_until

OPERATOR_PATH = "/master/api/v1"


def start_native(cluster_factory, **kwargs):
    """A simulated Mesos 1.11.0 cluster without an allocator module: three masters and five agents unless told."""
    settings = {"masters": 3, "agents": 5, **kwargs}
    return cluster_factory(build=None, version="1.11.0", **settings)


@pytest.fixture
def native(cluster_factory):
    return start_native(cluster_factory)


def deactivated(cluster) -> set[str]:
    with cluster.state.lock:
        return {a.id for a in cluster.state.agents.values() if a.deactivated}


def drain_states(cluster) -> dict:
    with cluster.state.lock:
        return {a.id: a.drain_info["state"] for a in cluster.state.agents.values() if a.drain_info}


def port_of(url) -> int:
    """The port of a master URL (the module names the leader by hostname, the simulator by address)."""
    return int(url.rsplit(":", 1)[1])


def operator_calls(cluster) -> int:
    """How many v1 operator calls (GET_AGENTS included) the masters have logged."""
    return sum(1 for entry in cluster.request_log if entry[1:] == ("POST", OPERATOR_PATH))


def call(cluster, call_type, agent_id, **fields):
    """A v1 call straight to the leader, as another operator would send it."""
    body = {"type": call_type, call_type.lower(): {"agent_id": {"value": agent_id}, **fields}}
    conn = http.client.HTTPConnection("127.0.0.1", port_of(cluster.leader_url), timeout=10)
    try:
        conn.request("POST", OPERATOR_PATH, json.dumps(body), {"Content-Type": "application/json"})
        response = conn.getresponse()
        assert response.status == 200, (response.status, response.read())
    finally:
        conn.close()


def native_task(cluster, **args):
    args.setdefault("backend", "native")
    return offer_filter(cluster, **args)


def start_waiting(run_tasks, cluster, agent_id, **args):
    """offer_filter with wait=true in the background; returns once the agent is deactivated."""
    task = native_task(cluster, agent_id=[agent_id], wait=True, wait_sleep=0.2, wait_timeout=60, **args)
    pending = run_tasks(task, background=True)
    wait_until(lambda: agent_id in deactivated(cluster), timeout=60)
    return pending


def diff_lines(agents, draining=()):
    """The diff text for these agents: sorted "<id> <hostname>[ DRAINING]" lines."""
    lines = (f"{a['id']} {a['hostname']}" + (" DRAINING" if a["id"] in draining else "") for a in agents)
    return "".join(f"{line}\n" for line in sorted(lines))


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
    assert operator_calls(native) == 4 + len(wanted)


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
    assert results[0]["diff"]["before"] == diff_lines(agents[:3])
    assert results[0]["diff"]["after"] == results[1]["diff"]["after"] == diff_lines(agents[2:3])
    assert results[2]["diff"]["before"] == results[2]["diff"]["after"] == diff_lines(agents[2:3])


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
    # without agents: reactivate everyone
    results = four_steps(
        run_tasks,
        native_task(native, exclusive=True),
        verify_before=lambda: _expect(native, {agents[1]["id"], agents[2]["id"]}),
        verify_after=lambda: _expect(native, set()),
    )
    assert sorted(results[1]["removed"]) == sorted([agents[1]["id"], agents[2]["id"]])
    assert results[0]["diff"]["before"] == diff_lines(agents[1:3])
    assert results[0]["diff"]["after"] == ""


def test_diff_lists_deactivated_agents_and_drain_states(run_tasks, native):
    agents = native.agents
    call(native, "DEACTIVATE_AGENT", agents[0]["id"])
    result = run_tasks(native_task(native, agent_id=[agents[1]["id"]], drain=True), check=True, diff=True).result
    assert_ok(result, changed=True)
    diff = result["diff"]
    assert diff["before"] == diff_lines(agents[:1])
    assert diff["after"] == diff_lines(agents[:2], draining={agents[1]["id"]})
    assert diff["before_header"].endswith("/master/api/v1 (deactivated agents) (before)")
    assert deactivated(native) == {agents[0]["id"]}


def test_one_agent_named_by_hostname_id_or_both(run_tasks, native):
    agent = native.agents[0]
    by_id, by_host = {"agent_id": [agent["id"]]}, {"hostname": [agent["hostname"]]}
    steps = [  # (task name, arguments, changed)
        ("deactivate by hostname", by_host, True),
        ("again by id", by_id, False),
        ("again by both", {**by_id, **by_host}, False),
        ("reactivate by hostname", {**by_host, "state": "absent"}, True),
        ("reactivate again by id", {**by_id, "state": "absent"}, False),
    ]
    run = run_tasks([native_task(native, name=name, **args) for name, args, _ in steps])
    for name, _, changed in steps:
        assert_ok(run[name], changed=changed)
    assert run["reactivate by hostname"]["removed"] == [agent["id"]]
    assert run["reactivate again by id"]["requests"] == 2  # /master/redirect, GET_AGENTS
    assert deactivated(native) == set()


def test_bulk_of_a_hundred_agents(run_tasks, cluster_factory):
    cluster = start_native(cluster_factory, masters=1, agents=100)
    ids = cluster.agent_ids
    run = run_tasks(
        [native_task(cluster, name="all out", agent_ids=ids), native_task(cluster, name="all back", exclusive=True)]
    )
    assert_ok(run["all out"], changed=True)
    assert run["all out"]["added"] == ids
    assert_ok(run["all back"], changed=True)
    assert sorted(run["all back"]["removed"]) == sorted(ids)
    for name in ("all out", "all back"):
        assert run[name]["requests"] == len(ids) + 2
    assert deactivated(cluster) == set()


# --- drain ----------------------------------------------------------------------------------------------------------


@pytest.mark.smoke
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
    pending = start_waiting(run_tasks, native, agent, drain=True)
    assert drain_states(native) == {agent: "DRAINING"}
    time.sleep(1.0)
    native.reregister_agent(agent)
    result = pending.wait().result
    assert_ok(result, changed=True)
    assert result["filters"] == [
        {"agent_id": agent, "hostname": native.agents[0]["hostname"], "drain_state": "DRAINED"}
    ]
    assert result["waited"] >= 0.5
    assert result["active_tasks"] == {agent: 0}


@pytest.mark.parametrize(
    "drain, left", [(False, "3 active"), (True, "drain DRAINING, 3 active")], ids=["tasks", "drain"]
)
def test_wait_times_out_naming_what_is_left(run_tasks, native, drain, left):
    agent = native.agents[0]["id"]
    native.launch_tasks(agent, count=3)
    if drain:
        native.disconnect_agent(agent)  # a disconnected agent cannot kill its tasks: it stays DRAINING
    result = run_tasks(
        native_task(native, agent_id=[agent], drain=drain, wait=True, wait_sleep=0.2, wait_timeout=1)
    ).result
    assert_failed(result, "timed out after 1s", f"({agent}): {left}", "the filters stay in place")
    assert result["active_tasks"] == {agent: 3}
    assert result["added"] == [agent]
    assert deactivated(native) == {agent}


def test_wait_timeout_zero_checks_once(run_tasks, native):
    idle, busy = native.agent_ids[:2]
    native.launch_tasks(busy, count=1)
    run = run_tasks([native_task(native, name=aid, agent_id=[aid], wait=True, wait_timeout=0) for aid in (idle, busy)])
    assert_ok(run[idle], changed=True)
    assert_failed(run[busy], "timed out after 0s", f"({busy}): 1 active")
    assert deactivated(native) == {idle, busy}


@pytest.mark.parametrize("drain", [False, True], ids=["deactivate", "drain"])
def test_wait_in_check_mode_reports_counts_only(run_tasks, native, drain):
    agent = native.agent_ids[0]
    native.launch_tasks(agent, count=2)
    result = run_tasks(native_task(native, agent_id=[agent], drain=drain, wait=True), check=True).result
    assert_ok(result, changed=True)
    assert result["active_tasks"] == {agent: 2}
    assert result["waited"] == 0 and result["reasserted"] == 0
    assert deactivated(native) == set() and drain_states(native) == {}
    assert native.active_tasks(agent) == 2


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
    pending = start_waiting(run_tasks, native, agent)
    time.sleep(0.5)
    call(native, "REACTIVATE_AGENT", agent)
    wait_until(lambda: agent in deactivated(native), timeout=30)
    native.finish_tasks(agent)
    result = pending.wait().result
    assert_ok(result, changed=True)
    assert result["reasserted"] >= 1
    assert deactivated(native) == {agent}


def _failover(cluster, agent_id):
    cluster.kill_leader()
    cluster.wait_for_leader()


def _reregistration(cluster, agent_id):
    cluster.disconnect_agent(agent_id)
    cluster.reregister_agent(agent_id)


@pytest.mark.parametrize(
    "disrupt", [None, _failover, _reregistration], ids=["undisturbed", "failover", "agent-reregistration"]
)
def test_wait_until_tasks_end_with_nothing_to_reassert(run_tasks, native, disrupt):
    """The master's registry keeps a deactivation through a failover and the agent's re-registration (the
    allocator module's filters do not): waiting has nothing to put back."""
    agent = native.agent_ids[0]
    native.launch_tasks(agent, count=2)
    pending = start_waiting(run_tasks, native, agent)
    if disrupt:
        disrupt(native, agent)
    time.sleep(1.0)  # several polls
    assert native.filters() == {agent}  # the leader's allocator makes it no offers
    native.finish_tasks(agent)
    result = pending.wait().result
    assert_ok(result, changed=True)
    assert (result["active_tasks"], result["reasserted"]) == ({agent: 0}, 0)
    assert result["waited"] >= 0.5  # it did wait for the tasks
    assert deactivated(native) == {agent}


def test_wait_deactivates_an_agent_back_under_a_new_id(run_tasks, native):
    """A host back without its checkpointed state is a new, active agent to Mesos: wait finds it by hostname and
    deactivates it."""
    agent = native.agents[0]
    native.launch_tasks(agent["id"], count=1)
    pending = start_waiting(run_tasks, native, agent["id"])
    new_id = native.replace_agent(agent["id"])  # the old id's tasks are lost with it
    result = pending.wait().result
    assert_ok(result, changed=True)
    assert deactivated(native) == {new_id}
    assert result["active_tasks"] == {new_id: 0}
    assert result["reasserted"] == 1
    assert any(f"re-registered as {new_id}" in w for w in result["warnings"]), result["warnings"]
    assert result["filters"] == [{"agent_id": new_id, "hostname": agent["hostname"], "drain_state": None}]


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
        f"refusing to filter {agents[2]['hostname']}, {agents[3]['hostname']}: ",
        f"{agents[0]['hostname']} (filtered)",
        f"{agents[1]['hostname']} (disconnected)",
        "Nothing was changed",
    )
    assert deactivated(native) == {agents[0]["id"]}
    assert operator_calls(native) == 1  # GET_AGENTS
    assert result["backend"] == "native"
    assert_ok(run_tasks(native_task(native, agent_id=[agents[2]["id"]], max_filtered=3)).result, changed=True)


@pytest.mark.parametrize(
    "out, keep, limit", [(5, 0, 0), (4, 4, 1)], ids=["only-reactivations", "reactivations-make-room"]
)
def test_max_filtered_never_refuses_reactivation(run_tasks, native, out, keep, limit):
    ids = native.agent_ids
    for aid in ids[:out]:
        call(native, "DEACTIVATE_AGENT", aid)
    result = run_tasks(native_task(native, exclusive=True, agent_id=[ids[keep]], max_filtered=limit)).result
    assert_ok(result, changed=True)
    assert deactivated(native) == {ids[keep]}


def test_a_disconnected_agent_stays_deactivated_when_it_comes_back(run_tasks, native):
    """The allocator module's filter on a disconnected agent may not survive its re-registration (a warning);
    Mesos keeps a deactivation in its registry, so the native backend deactivates it like any other."""
    agent = native.agent_ids[0]
    native.disconnect_agent(agent)
    result = run_tasks(native_task(native, agent_id=[agent])).result
    assert_ok(result, changed=True)
    assert result["added"] == [agent] and not result.get("warnings")
    native.reregister_agent(agent)
    assert deactivated(native) == native.filters() == {agent}


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
    native.inject(OPERATOR_PATH, count=1)  # GET_AGENTS passes
    native.inject(OPERATOR_PATH, status=400, body="Unknown agent", count=1)
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
    native.inject(OPERATOR_PATH, latency=0.4, count=4)
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
    cluster = start_native(cluster_factory, agents=3, principal="ops", secret="s3cret")
    standby = [u for u in cluster.urls if u != cluster.leader_url][0]
    agent = cluster.agent_ids[0]
    result = run_tasks(native_task(cluster, master_url=[standby], agent_id=[agent])).result
    assert_failed(result, "401 Unauthorized", "set principal and secret")
    result = run_tasks(native_task(cluster, agent_id=[agent], principal="ops", secret="nope")).result
    assert_failed(result, "GET_AGENTS", "401 Unauthorized", "rejected the credentials of principal 'ops'")
    assert "nope" not in json.dumps(result)
    result = run_tasks(
        native_task(cluster, master_url=[standby], agent_id=[agent], principal="ops", secret="s3cret")
    ).result
    assert_ok(result, changed=True)
    assert port_of(result["leader"]) == port_of(cluster.leader_url)
    assert deactivated(cluster) == {agent}


def test_tls(run_tasks, cluster_factory):
    cluster = start_native(cluster_factory, agents=3, tls=True)
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


def test_auto_without_module_on_mesos_101_takes_the_maintenance_schedule(run_tasks, cluster_factory):
    cluster = cluster_factory(masters=1, agents=2, build=None, version="1.0.1")
    agent = cluster.agent_ids[0]
    result = run_tasks(offer_filter(cluster, agent_id=[agent])).result
    assert_ok(result, changed=True)
    assert result["backend"] == "schedule"
    assert "runs Mesos 1.0.1" in result["warnings"][0] and "does not stop offers" in result["warnings"][0], result
    assert [f["agent_id"] for f in result["filters"]] == [agent]
    with cluster.state.lock:
        assert [w["machine_ids"] for w in cluster.state.maintenance.schedule["windows"]] == [
            [{"hostname": "agent-1.example.com", "ip": "127.0.0.1"}]
        ]
    # the native-only options are refused before anything changes, naming the backend auto chose
    result = run_tasks(offer_filter(cluster, agent_id=[cluster.agent_ids[1]], drain=True)).result
    assert_failed(result, "drain: only with backend=native", "backend=auto chose schedule", "nothing was changed")


def test_auto_on_mesos_024_says_what_to_install(run_tasks, cluster_factory):
    cluster = cluster_factory(masters=1, agents=2, build=None, version="0.24.1")
    for task in (offer_filter(cluster, agent_id=[cluster.agent_ids[0]]), offer_filter_info(cluster)):
        result = run_tasks(task).result
        assert_failed(
            result,
            "runs Mesos 0.24.1",
            "404",
            "offer_filter_allocator role",
            "backend=allocator",
            "backend=schedule) needs Mesos 0.25 or later",
            "backend=native",
        )


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


def test_info_narrowed_with_task_counts_reads_only(run_tasks, native):
    agents = native.agents
    native.launch_tasks(agents[1]["id"], count=2)
    call(native, "DEACTIVATE_AGENT", agents[0]["id"])
    native.reset_log()
    result = run_tasks(
        offer_filter_info(
            native,
            backend="native",
            agent_id=[agents[0]["id"], "gone-S42"],
            hostname=[agents[1]["hostname"], "ghost.example.com"],
        ),
        check=True,
    ).result
    assert_ok(result, changed=False)
    reports = result["agents"]
    assert [(r["agent_id"], r["deactivated"], r["active_tasks"]) for r in reports] == [
        (agents[0]["id"], True, 0),
        (agents[1]["id"], False, 2),
    ]
    assert reports[1]["tasks"]["TASK_RUNNING"] == 2
    assert result["exists"] is False
    assert result["missing"] == ["gone-S42", "ghost.example.com"]
    assert {method for _, method, _ in native.request_log} == {"GET"}


def test_info_ten_thousand_agents(run_tasks, cluster_factory):
    cluster = start_native(cluster_factory, masters=1, agents=10000)
    last = cluster.agents[-1]
    call(cluster, "DEACTIVATE_AGENT", last["id"])
    result = run_tasks(offer_filter_info(cluster, backend="native")).result
    assert_ok(result)
    assert len(result["agents"]) == 10000
    assert result["filters"] == [{"agent_id": last["id"], "hostname": last["hostname"], "drain_state": None}]


def _expect(cluster, wanted):
    assert deactivated(cluster) == wanted
