"""Simulator-only facts about Mesos' own deactivation and draining that the real local-mode master
cannot show (it has one master, no tasks, and agents that never disconnect), taken from
src/master/http.cpp and master.cpp 1.11.0, plus the v1 API of the 1.0.1 mode."""

from __future__ import annotations

import json
import time

import pytest
from contract_peers import Peer, agent_call

from mesos_sim import Cluster, draining


def peer_of(cluster: Cluster) -> Peer:
    return Peer("simulator", int(cluster.leader_url.rsplit(":", 1)[1]), cluster.agent_ids, cluster)


def active_and_deactivated(cluster: Cluster, agent_id: str):
    with cluster.state.lock:
        agent = cluster.state.find_agent(agent_id)
        return agent.active, agent.deactivated


def test_deactivation_survives_failover_and_reregistration(cluster_factory):
    cluster = cluster_factory(masters=3, agents=3, build=None, version="1.11.0")
    agent_id = cluster.agent_ids[0]
    assert peer_of(cluster).call(agent_call("DEACTIVATE_AGENT", agent_id)).status == 200
    assert agent_id in cluster.filters()  # the master deactivates it in the allocator: no offers
    cluster.disconnect_agent(agent_id)
    cluster.reregister_agent(agent_id)
    assert active_and_deactivated(cluster, agent_id) == (False, True)
    assert agent_id in cluster.filters()
    cluster.kill_leader()
    cluster.wait_for_leader()
    peer = peer_of(cluster)
    assert peer.agents_v1()[agent_id]["deactivated"] is True
    assert agent_id in cluster.filters()
    assert peer.call(agent_call("REACTIVATE_AGENT", agent_id)).status == 200
    assert active_and_deactivated(cluster, agent_id) == (True, False)
    assert agent_id not in cluster.filters()


def test_drain_kills_tasks_then_drained(cluster_factory):
    cluster = cluster_factory(masters=1, agents=2, build=None, version="1.11.0")
    agent_id = cluster.agent_ids[0]
    cluster.launch_tasks(agent_id, count=3)
    peer = peer_of(cluster)
    with cluster.state.lock:  # no scheduler tick in between: the agent is still DRAINING
        draining.drain(cluster.state, agent_id, None, False)
        with pytest.raises(draining.OperatorError, match="^Agent is still in the DRAINING state$"):
            draining.reactivate(cluster.state, agent_id)
    # Its tasks are killed, then it is DRAINED.
    peer.wait_for(lambda: peer.agents_v1()[agent_id]["drain_info"]["state"] == "DRAINED", what="DRAINED")
    assert cluster.active_tasks(agent_id) == 0
    summary = {a["id"]: a for a in peer.get("/master/state-summary").json()["slaves"]}[agent_id]
    assert summary["TASK_KILLED"] == 3
    assert peer.call(agent_call("REACTIVATE_AGENT", agent_id)).status == 200


def test_draining_agent_gets_no_new_tasks(cluster_factory):
    cluster = cluster_factory(masters=1, agents=2, build=None, version="1.11.0", tasks=4)
    drained, other = cluster.agent_ids
    peer = peer_of(cluster)
    assert peer.call(agent_call("DRAIN_AGENT", drained)).status == 200
    time.sleep(0.5)
    assert cluster.active_tasks(drained) == 0
    assert cluster.active_tasks(other) == 4


def test_version_101_does_not_know_the_calls(cluster_factory):
    cluster = cluster_factory(masters=1, agents=1, build=None, version="1.0.1")
    peer = peer_of(cluster)
    reply = peer.call(agent_call("DEACTIVATE_AGENT", cluster.agent_ids[0]))
    assert (reply.status, reply.text) == (
        400,
        "Failed to convert JSON into Call protobuf: Failed to find enum for 'DEACTIVATE_AGENT'",
    )
    agents = peer.call({"type": "GET_AGENTS"}).json()["get_agents"]
    assert list(agents) == ["agents"]  # no recovered_agents, and no deactivated field in 1.0.1
    assert "deactivated" not in agents["agents"][0]
    assert "capabilities" not in agents["agents"][0]
    reply = peer.request("GET", "/master/api/v1")
    assert (reply.status, reply.text) == (405, "Expecting one of { 'POST' }, but received 'GET'")


def test_standby_redirects_operator_calls(cluster_factory):
    cluster = cluster_factory(masters=3, agents=1, build=None, version="1.11.0", principal="ops", secret="s3cret")
    standby = next(i for i in range(3) if i != cluster.leader_index)
    peer = Peer("simulator", int(cluster.urls[standby].rsplit(":", 1)[1]), cluster.agent_ids, cluster)
    # Authentication first, then the redirect (a standby asks for credentials too).
    assert peer.call({"type": "GET_AGENTS"}).status == 401
    reply = peer.call({"type": "GET_AGENTS"}, credentials=True)
    assert reply.status == 307
    leader = cluster.state.leader_info()
    assert reply.header("Location") == f"//{leader.hostname}:{leader.port}/master/api/v1"
    assert json.loads(peer_of(cluster).call({"type": "GET_AGENTS"}, credentials=True).body)["type"] == "GET_AGENTS"
