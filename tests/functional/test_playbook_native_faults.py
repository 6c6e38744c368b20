# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Faults on the v1 operator API path with backend=native: retried where retrying can help, a clear failure
(never a traceback) where it cannot, and a bulk change that fails half way says what it did.

Every v1 call, GET_AGENTS included, is a POST to the same path, and the simulator's faults match on the path:
`inject(OPERATOR_PATH, count=N)` first lets N calls through untouched, so the fault that follows hits the
(N+1)th call (the first is the module's GET_AGENTS)."""

from __future__ import annotations

import pytest
from conftest import assert_failed, assert_ok
from test_playbook_native import OPERATOR_PATH, call, deactivated, native_task, operator_calls, port_of, start_native

from mesos_sim.waiting import wait_until

CALL_TYPE = {"present": "DEACTIVATE_AGENT", "absent": "REACTIVATE_AGENT"}


@pytest.fixture
def native(cluster_factory):
    return start_native(cluster_factory)


def prepare(cluster, state, ids):
    """For state=absent the agents start deactivated (before any fault is injected: this goes through the same
    path); returns the deactivated set a run that changed nothing leaves."""
    if state == "absent":
        for aid in ids:
            call(cluster, "DEACTIVATE_AGENT", aid)
    cluster.reset_log()
    return deactivated(cluster)


def inject(cluster, faults):
    """Inject `faults` (keyword dicts for Cluster.inject) on the v1 operator path, in order."""
    for fault in faults:
        cluster.inject(fault.pop("path", OPERATOR_PATH), **fault)


# --- retried ---------------------------------------------------------------------------------------------------------

# (case id, faults, module timeout); the module's first v1 call is GET_AGENTS, its second DEACTIVATE/REACTIVATE_AGENT.
RETRIED = [
    ("503-on-get-agents", [dict(status=503, body="try again", count=1)], 5),
    ("429-on-get-agents", [dict(status=429, body="Too Many Requests", count=1)], 5),
    ("502-on-the-change", [dict(count=1), dict(status=502, body="Bad Gateway", count=1)], 5),
    ("504-on-the-change", [dict(count=1), dict(status=504, body="Gateway Timeout", count=1)], 5),
    ("read-timeout-on-the-change", [dict(count=1), dict(latency=2.5, count=1)], 1),
    ("dropped-connection-on-the-change", [dict(count=1), dict(drop=True, count=1)], 5),
]


@pytest.mark.parametrize("state", ["present", "absent"])
@pytest.mark.parametrize("faults, timeout", [c[1:] for c in RETRIED], ids=[c[0] for c in RETRIED])
def test_transient_failures_are_retried(run_tasks, native, state, faults, timeout):
    agent = native.agent_ids[0]
    unchanged = prepare(native, state, [agent])
    inject(native, [dict(f) for f in faults])
    result = run_tasks(native_task(native, state=state, agent_id=[agent], timeout=timeout)).result
    assert_ok(result, changed=True)
    assert result["added" if state == "present" else "removed"] == [agent]
    assert deactivated(native) == unchanged ^ {agent}
    # GET_AGENTS, the change, and one of the two again
    assert operator_calls(native) == 3


# --- failures --------------------------------------------------------------------------------------------------------

# (case id, faults, extra module arguments, fragments of the message, status returned)
FAILURES = [
    (
        "server-error",
        [dict(status=500, body="Internal error: registry unreachable")],
        {},
        ["GET_AGENTS: POST", OPERATOR_PATH, "the master failed with HTTP 500: Internal error: registry unreachable"],
        500,
    ),
    ("forbidden", [dict(status=403, body="Forbidden")], {}, ["GET_AGENTS", "403 Forbidden", "not authorized"], 403),
    (
        "not-json",
        [dict(status=200, body="<html>proxy says hello</html>")],
        {},
        ["expected a JSON answer from POST", OPERATOR_PATH, "proxy says hello"],
        200,
    ),
    (
        "unsupported-media-type",
        [dict(count=1), dict(status=415, body="Expecting 'Content-Type' of application/json", count=1)],
        {},
        ["DEACTIVATE_AGENT for", "415 Unsupported Media Type: Expecting 'Content-Type' of application/json"],
        415,
    ),
    ("endless-redirects", [dict(status=307)], {}, ["keeps answering 307", "do not agree on a leader"], 307),
    (
        "read-timeouts",
        [dict(latency=3.0)],
        {"timeout": 0.5},
        ["no answer within the timeout (timeout=0.5s)", OPERATOR_PATH],
        None,
    ),
    ("dropped-connections", [dict(drop=True)], {"leader_timeout": 2}, [OPERATOR_PATH, "connection"], None),
]


@pytest.mark.parametrize("faults, args, fragments, status", [c[1:] for c in FAILURES], ids=[c[0] for c in FAILURES])
def test_failures_are_clear_and_change_nothing(run_tasks, native, faults, args, fragments, status):
    inject(native, [dict(f) for f in faults])
    result = run_tasks(native_task(native, agent_id=[native.agent_ids[0]], **args)).result
    assert_failed(result, *fragments)
    assert result.get("status") == status
    assert result["backend"] == "native"
    assert result["added"] == []
    assert deactivated(native) == set()


def test_state_summary_failing_while_waiting(run_tasks, native):
    """wait polls /master/state-summary, not the v1 API: its failures end the wait with the deactivation kept."""
    agent = native.agent_ids[0]
    native.launch_tasks(agent, count=1)
    native.inject("/master/state-summary", status=200, body="<html>proxy says hello</html>")
    result = run_tasks(native_task(native, agent_id=[agent], wait=True, wait_timeout=30)).result
    assert_failed(result, "expected a JSON answer from GET", "/master/state-summary", "proxy says hello")
    assert result["added"] == [agent]
    assert deactivated(native) == {agent}


@pytest.mark.parametrize("state", ["present", "absent"])
def test_fails_halfway_and_reports_progress(run_tasks, native, state):
    agents = native.agents[:3]
    ids = [a["id"] for a in agents]
    before = prepare(native, state, ids)
    native.inject(OPERATOR_PATH, count=3)  # GET_AGENTS and the first two changes
    native.inject(OPERATOR_PATH, status=500, body="registry write failed")
    result = run_tasks(native_task(native, state=state, agent_ids=ids)).result
    assert_failed(
        result,
        f"{CALL_TYPE[state]} for {agents[2]['hostname']} ({ids[2]})",
        "the master failed with HTTP 500: registry write failed",
    )
    done, other = ("added", "removed") if state == "present" else ("removed", "added")
    assert result[done] == ids[:2] and result[other] == []
    assert result["pending"] == ids[2:]
    assert deactivated(native) == before ^ set(ids[:2])


def test_reactivated_by_someone_else_meanwhile(run_tasks, native):
    """Another operator's REACTIVATE_AGENT lands between the module's read and its own call: the master answers
    400 "Agent is not deactivated", which is the wanted state, not an error, and not the module's change."""
    agent = native.agents[0]
    prepare(native, "absent", [agent["id"]])
    native.inject(OPERATOR_PATH, count=1)  # GET_AGENTS
    native.inject(OPERATOR_PATH, latency=1.5, count=1)  # the module's REACTIVATE_AGENT, held at the door
    pending = run_tasks(native_task(native, state="absent", agent_id=[agent["id"]]), background=True)
    wait_until(lambda: operator_calls(native) == 2, timeout=60)
    call(native, "REACTIVATE_AGENT", agent["id"])
    result = pending.wait().result
    assert_ok(result, changed=False)
    assert result["removed"] == []
    assert result["actions"] == [f"filter for {agent['hostname']} ({agent['id']}) was already gone"]
    assert deactivated(native) == set()


# --- finding the leader ------------------------------------------------------------------------------------------


def _dead_leader_listed_first(cluster):
    old = cluster.kill_leader()
    cluster.wait_for_leader()
    return [cluster.urls[old]] + [u for i, u in enumerate(cluster.urls) if i != old]


def _no_leader_yet(cluster):
    cluster.kill_leader()  # the next one is elected after election_delay
    assert cluster.leader_index is None
    return cluster.urls


@pytest.mark.parametrize(
    "situation", [_dead_leader_listed_first, _no_leader_yet], ids=["dead-leader-listed-first", "no-leader-yet"]
)
def test_the_leader_is_found(run_tasks, cluster_factory, situation):
    cluster = start_native(cluster_factory, agents=3, election_delay=3.0)
    urls = situation(cluster)
    agent = cluster.agent_ids[0]
    result = run_tasks(native_task(cluster, master_url=urls, agent_id=[agent], leader_timeout=30)).result
    assert_ok(result, changed=True)
    assert port_of(result["leader"]) == port_of(cluster.leader_url)
    assert deactivated(cluster) == {agent}


def test_no_leader_within_leader_timeout(run_tasks, cluster_factory):
    cluster = start_native(cluster_factory, agents=3, election_delay=120.0)
    cluster.kill_leader()
    result = run_tasks(native_task(cluster, agent_id=[cluster.agent_ids[0]], leader_timeout=1.5)).result
    assert_failed(result, "no leading Mesos master found within leader_timeout=1.5s", "no leader elected (503)")
    assert deactivated(cluster) == set()
