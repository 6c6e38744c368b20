"""What both peers answer on the read endpoints our modules use: the redirect to the leader,
/version, the state documents' fields and JSON types, /metrics/snapshot."""

from __future__ import annotations

import re

import contract_shapes as shapes
import pytest

# The ASF 1.11.0 release build (its git_sha is the 1.11.0 tag).
VERSION_1_11_0 = {
    "build_date": "2020-11-24 15:38:37",
    "build_time": 1606232317.0,
    "build_user": "ubuntu",
    "git_sha": "04bc7ee1984d86fbb0bd782ccc69ce44c13ae4b9",
    "git_tag": "1.11.0",
    "version": "1.11.0",
}
# Metrics a tool may read to judge a master; all doubles.
METRICS = [
    "master/elected",
    "master/uptime_secs",
    "master/slaves_active",
    "master/slaves_inactive",
    "master/slaves_connected",
    "master/slaves_disconnected",
    "master/slaves_unreachable",
    "master/tasks_running",
    "master/tasks_staging",
]


def test_redirect_names_the_leader_without_scheme_or_path(peer):
    state = peer.get("/master/state").json()
    expected = f"//{state['hostname']}:{peer.port}"
    for path in ("/master/redirect", "/master/redirect?from=contract"):
        reply = peer.get(path)
        assert reply.status == 307, (path, reply)
        assert reply.header("Location") == expected
        assert reply.body == b""
        assert reply.header("Content-Type") is None


def test_redirect_with_a_path_is_not_found(peer):
    reply = peer.get("/master/redirect/master/state")
    assert (reply.status, reply.text) == (404, "404 Not Found.")
    assert reply.header("Content-Type") == "text/plain; charset=utf-8"


def test_version(peer):
    reply = peer.get("/version")
    assert reply.status == 200
    assert reply.header("Content-Type") == "application/json"
    body = reply.json()
    shapes.check(body, shapes.VERSION, "/version")
    assert body == VERSION_1_11_0


def test_health(peer):
    reply = peer.get("/master/health")
    assert (reply.status, reply.body) == (200, b"")
    assert reply.header("Content-Type") is None


def test_json_aliases_are_gone(peer):
    assert peer.get("/master/state.json").status == 404


def test_state(peer):
    reply = peer.get("/master/state")
    assert reply.status == 200
    assert reply.header("Content-Type") == "application/json"
    state = reply.json()
    shapes.check(state, shapes.STATE, "/master/state")
    assert state["version"] == "1.11.0"
    assert state["pid"] == f"master@127.0.0.1:{peer.port}"
    assert state["leader"] == state["pid"]
    shapes.check(state["leader_info"], shapes.LEADER_INFO, "leader_info")
    assert state["leader_info"]["port"] == peer.port
    assert state["leader_info"]["hostname"] == state["hostname"]
    assert state["leader_info"]["id"] == state["id"]
    assert state["activated_slaves"] == float(len(peer.agent_ids))
    assert state["deactivated_slaves"] == 0.0
    assert all(isinstance(v, str) for v in state["flags"].values())
    assert sorted(a["id"] for a in state["slaves"]) == sorted(peer.agent_ids)
    for agent in state["slaves"]:
        check_agent(agent, shapes.SLAVE, "/master/state slave")
    for framework in state["frameworks"]:
        shapes.check(framework, shapes.FRAMEWORK, "/master/state framework")


def check_agent(agent, spec, where):
    shapes.check(agent, spec, where)
    for key in ("resources", "used_resources", "offered_resources", "unreserved_resources"):
        shapes.check_resources(agent[key], f"{where} {key}")
    match = re.fullmatch(r"slave\(\d+\)@127\.0\.0\.1:(\d+)", agent["pid"])
    assert match, agent["pid"]
    assert int(match.group(1)) == agent["port"]
    assert agent["version"] == "1.11.0"
    assert agent["active"] is True
    assert agent["deactivated"] is False
    assert "AGENT_DRAINING" in agent["capabilities"]


def test_state_summary(peer):
    reply = peer.get("/master/state-summary")
    assert reply.status == 200
    summary = reply.json()
    shapes.check(summary, shapes.STATE_SUMMARY, "/master/state-summary")
    assert summary["hostname"] == peer.get("/master/state").json()["hostname"]
    assert sorted(a["id"] for a in summary["slaves"]) == sorted(peer.agent_ids)
    for agent in summary["slaves"]:
        check_agent(agent, shapes.SUMMARY_SLAVE, "/master/state-summary slave")
        assert agent["TASK_RUNNING"] == 0
    for framework in summary["frameworks"]:
        shapes.check(framework, shapes.SUMMARY_FRAMEWORK, "/master/state-summary framework")


def test_slaves(peer):
    reply = peer.get("/master/slaves")
    assert reply.status == 200
    slaves = reply.json()
    shapes.check(slaves, shapes.SLAVES, "/master/slaves")
    assert slaves["recovered_slaves"] == []
    assert sorted(a["id"] for a in slaves["slaves"]) == sorted(peer.agent_ids)
    for agent in slaves["slaves"]:
        check_agent(agent, shapes.SLAVES_SLAVE, "/master/slaves slave")
        assert agent["reserved_resources_full"] == {}
        for resource in agent["unreserved_resources_full"]:
            assert resource["role"] == "*"
            assert resource["type"] in ("SCALAR", "RANGES", "SET")


def test_frameworks(peer):
    reply = peer.get("/master/frameworks")
    assert reply.status == 200
    shapes.check(reply.json(), shapes.FRAMEWORKS, "/master/frameworks")


def test_flags(peer):
    reply = peer.get("/master/flags")
    assert reply.status == 200
    flags = reply.json()
    assert list(flags) == ["flags"]
    assert all(isinstance(v, str) for v in flags["flags"].values())


def test_maintenance_endpoints_start_empty(peer):
    for path in ("/master/maintenance/schedule", "/master/maintenance/status"):
        reply = peer.get(path)
        assert (reply.status, reply.json()) == (200, {}), path
        assert reply.header("Content-Type") == "application/json"


def test_metrics(peer):
    reply = peer.get("/metrics/snapshot")
    assert reply.status == 200
    metrics = reply.json()
    assert metrics["master/elected"] == 1.0
    for key in METRICS:
        assert isinstance(metrics[key], float), key
    agents = float(len(peer.agent_ids))
    assert metrics["master/slaves_active"] == agents
    assert metrics["master/slaves_connected"] == agents
    assert metrics["master/slaves_inactive"] == 0.0
    assert metrics["master/slaves_disconnected"] == 0.0


@pytest.mark.parametrize("path", ["/master/state", "/master/slaves", "/master/state-summary"])
def test_same_agents_as_get_agents(peer, path):
    listed = peer.get(path).json()["slaves"]
    assert sorted(a["id"] for a in listed) == sorted(peer.agents_v1())
