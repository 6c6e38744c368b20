"""What the contract suite cannot show on a real master in local mode (one master, no framework
answering inverse offers, no agent that comes back): the frameworks' inverse-offer answers in the
maintenance status, agents of a DOWN machine refused, their tasks lost, a standby's redirect, the
schedule across a failover, and 1.0.1's answers. The shapes and texts themselves are asserted on
both peers in tests/contract/test_contract_maintenance_primitives.py."""

from __future__ import annotations

import json

import pytest
import requests

from mesos_sim.control import serve

WINDOW = {"unavailability": {"start": {"nanoseconds": 1_000_000_000_000}}}


def machine(cluster, agent_id) -> dict:
    return {"hostname": cluster.state.find_agent(agent_id).hostname, "ip": "127.0.0.1"}


def schedule(cluster, *agent_ids, url=None):
    doc = {"windows": [{"machine_ids": [machine(cluster, a) for a in agent_ids], **WINDOW}]} if agent_ids else {}
    response = requests.post((url or cluster.leader_url) + "/master/maintenance/schedule", json=doc, timeout=5)
    assert response.status_code == 200, response.text


def status(cluster) -> dict:
    return requests.get(cluster.leader_url + "/master/maintenance/status", timeout=5).json()


def v1(cluster, call_type: str):
    return requests.post(cluster.leader_url + "/master/api/v1", json={"type": call_type}, timeout=5)


def test_inverse_offer_answers(cluster_factory):
    cluster = cluster_factory(masters=2, agents=2, build=None, version="1.11.0")
    first, second = cluster.agent_ids
    assert status(cluster) == {}
    with pytest.raises(ValueError, match="not registered on a DRAINING machine"):
        cluster.respond_inverse_offer(first)
    schedule(cluster, first)
    assert status(cluster) == {"draining_machines": [{"id": machine(cluster, first)}]}  # none answered yet

    cluster.respond_inverse_offer(first, "DECLINE")
    cluster.respond_inverse_offer(first, "ACCEPT")  # the latest answer counts
    [answer] = status(cluster)["draining_machines"][0]["statuses"]
    assert list(answer) == ["framework_id", "status", "timestamp"]  # the endpoint's JSON::Object: sorted
    assert (answer["status"], answer["framework_id"]) == ("ACCEPT", {"value": cluster.framework.id})
    [listed] = v1(cluster, "GET_MAINTENANCE_STATUS").json()["get_maintenance_status"]["status"]["draining_machines"]
    assert list(listed["statuses"][0]) == ["status", "framework_id", "timestamp"]  # v1: declaration order
    for answer in ("MAYBE", "UNKNOWN"):  # UNKNOWN is only the state before an answer
        with pytest.raises(ValueError, match="status must be one of"):
            cluster.respond_inverse_offer(first, answer)
    with pytest.raises(ValueError, match="unknown framework"):
        cluster.respond_inverse_offer(first, framework_id="nope")

    # Posting the schedule again starts a new maintenance on the machine: earlier answers are gone.
    schedule(cluster, first, second)
    assert status(cluster)["draining_machines"][0] == {"id": machine(cluster, first)}
    # Through the control port, as another process would answer.
    control = serve(cluster)
    try:
        url = f"http://127.0.0.1:{control.port}/respond_inverse_offer"
        assert requests.post(url, json={"agent_id": second, "status": "DECLINE"}, timeout=5).status_code == 200
        refused = requests.post(url, json={"agent_id": "nope"}, timeout=5)
        assert refused.status_code == 400 and "not registered on a DRAINING machine" in refused.text
    finally:
        control.stop()
    assert [m.get("statuses", [{}])[0].get("status") for m in status(cluster)["draining_machines"]] == [
        None,
        "DECLINE",
    ]

    # A failover keeps the schedule (registry) and forgets the answers (allocator).
    cluster.kill_leader()
    cluster.wait_for_leader()
    for agent_id in cluster.agent_ids:
        cluster.reregister_agent(agent_id)
    assert status(cluster) == {"draining_machines": [{"id": machine(cluster, first)}, {"id": machine(cluster, second)}]}


def test_down_machine_agents_are_lost_and_refused(cluster_factory):
    cluster = cluster_factory(masters=1, agents=2, build=None, version="1.11.0")
    first, second = cluster.agent_ids
    [task] = cluster.launch_tasks(first, 1)
    first_machine = machine(cluster, first)
    schedule(cluster, first)
    down = requests.post(cluster.leader_url + "/master/machine/down", json=[first_machine], timeout=5)
    assert down.status_code == 200, down.text
    assert cluster.agent_ids == [second]
    assert cluster.state.removed[first].tasks[task].state == "TASK_LOST"
    with pytest.raises(RuntimeError, match="DOWN"):
        cluster.add_agent(first_machine["hostname"].upper())  # the same machine: hostnames compare without case
    assert cluster.agent_ids == [second]
    up = requests.post(cluster.leader_url + "/master/machine/up", json=[first_machine], timeout=5)
    assert (up.status_code, status(cluster)) == (200, {})
    assert cluster.add_agent(first_machine["hostname"]) in cluster.agent_ids  # UP again: it may register


def test_recovered_agent_of_a_down_machine_cannot_reregister(cluster_factory):
    cluster = cluster_factory(masters=2, agents=2, build=None, version="1.11.0")
    first, second = cluster.agent_ids
    cluster.disconnect_agent(first)
    cluster.kill_leader()
    cluster.wait_for_leader()
    assert first in cluster.state.recovered  # known from the registry, not registered with this leader
    schedule(cluster, first)
    down = requests.post(cluster.leader_url + "/master/machine/down", json=[machine(cluster, first)], timeout=5)
    assert down.status_code == 200, down.text
    with pytest.raises(RuntimeError, match="DOWN"):
        cluster.reregister_agent(first)
    assert first in cluster.state.recovered


@pytest.mark.parametrize(
    "path", ["/master/maintenance/schedule", "/master/maintenance/status", "/master/machine/down", "/master/machine/up"]
)
def test_standby_redirects(cluster_factory, path):
    cluster = cluster_factory(masters=2, agents=1, build=None)
    standby = next(u for i, u in enumerate(cluster.urls) if i != cluster.leader_index)
    response = requests.post(standby + path, data="[]", allow_redirects=False, timeout=5)
    info = cluster.state.leader_info()
    assert (response.status_code, response.headers["Location"]) == (307, f"//{info.hostname}:{info.port}{path}")


def test_version_101(cluster_factory):
    """1.0.1 answers the v1 GETs with the bare message (sorted keys) and its 405 has no status line."""
    cluster = cluster_factory(masters=1, agents=1, build=None, version="1.0.1")
    [agent_id] = cluster.agent_ids
    schedule(cluster, agent_id)
    expected = {"windows": [{"machine_ids": [machine(cluster, agent_id)], **WINDOW}]}
    reply = v1(cluster, "GET_MAINTENANCE_SCHEDULE")
    assert reply.text == json.dumps(expected, separators=(",", ":"), sort_keys=True)
    assert v1(cluster, "GET_MAINTENANCE_STATUS").json() == {"draining_machines": [{"id": machine(cluster, agent_id)}]}
    response = requests.put(cluster.leader_url + "/master/maintenance/schedule", timeout=5)
    assert (response.status_code, response.text) == (405, "Expecting one of { 'GET', 'POST' }, but received 'PUT'")
