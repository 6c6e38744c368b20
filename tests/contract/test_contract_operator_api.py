"""The v1 operator API on both peers: GET_AGENTS, and Mesos' own agent deactivation and draining
(DEACTIVATE_AGENT, DRAIN_AGENT, REACTIVATE_AGENT): answers, the agent's fields after each call
wherever the master shows them, the refusals and their texts.

Each test leaves the module's shared peer as it found it (every agent active)."""

from __future__ import annotations

import contract_shapes as shapes
import pytest
from contract_peers import agent_call


def v1_agent(peer, agent_id) -> dict:
    return peer.agents_v1()[agent_id]


def assert_empty_ok(reply):
    assert reply.status == 200, reply
    assert reply.body == b""
    assert reply.header("Content-Type") is None


def assert_refused(reply, status: int, text: str):
    assert (reply.status, reply.text) == (status, text), reply
    assert reply.header("Content-Type") == "text/plain; charset=utf-8"


def assert_everywhere(peer, agent_id, active: bool, deactivated: bool, drain_info=None, metrics=True):
    """The agent's state as GET_AGENTS, /master/slaves, /master/state, state-summary and the
    metrics show it."""
    agent = v1_agent(peer, agent_id)
    assert (agent["active"], agent["deactivated"]) == (active, deactivated)
    assert agent.get("drain_info") == drain_info
    for path in ("/master/slaves", "/master/state", "/master/state-summary"):
        listed = {a["id"]: a for a in peer.get(path).json()["slaves"]}[agent_id]
        assert (listed["active"], listed["deactivated"]) == (active, deactivated), path
        assert listed.get("drain_info") == drain_info, path
        assert ("estimated_drain_start_time_seconds" in listed) == (drain_info is not None), path
    state = peer.get("/master/state").json()
    inactive = sum(1 for a in state["slaves"] if not a["active"])
    assert state["deactivated_slaves"] == float(inactive)
    assert state["activated_slaves"] == float(len(state["slaves"]) - inactive)
    if metrics:
        snapshot = peer.get("/metrics/snapshot").json()
        assert snapshot["master/slaves_inactive"] == float(inactive)
        assert snapshot["master/slaves_active"] == float(len(state["slaves"]) - inactive)


def drain_state(peer, agent_id):
    info = v1_agent(peer, agent_id).get("drain_info")
    return info and info["state"]


def test_get_agents(peer):
    reply = peer.call({"type": "GET_AGENTS"})
    assert reply.status == 200
    assert reply.header("Content-Type") == "application/json"
    body = reply.json()
    assert list(body) == ["type", "get_agents"]
    assert body["type"] == "GET_AGENTS"
    shapes.check(body["get_agents"], shapes.GET_AGENTS, "get_agents")
    assert body["get_agents"]["recovered_agents"] == []
    slaves = peer.slaves()
    assert sorted(peer.agents_v1()) == sorted(slaves)
    for agent in body["get_agents"]["agents"]:
        shapes.check(agent, shapes.V1_AGENT, "GET_AGENTS agent")
        shapes.check(agent["agent_info"], shapes.V1_AGENT_INFO, "GET_AGENTS agent_info")
        agent_id = agent["agent_info"]["id"]["value"]
        slave = slaves[agent_id]
        assert (agent["active"], agent["deactivated"]) == (True, False)
        assert agent["pid"] == slave["pid"]
        assert agent["version"] == "1.11.0"
        assert agent["agent_info"]["hostname"] == slave["hostname"]
        assert agent["agent_info"]["port"] == slave["port"]
        assert agent["agent_info"]["checkpoint"] is True
        assert isinstance(agent["registered_time"]["nanoseconds"], int)
        assert abs(agent["registered_time"]["nanoseconds"] / 1e9 - slave["registered_time"]) < 0.001
        assert {"type": "AGENT_DRAINING"} in agent["capabilities"]
        for resource in agent["agent_info"]["resources"]:
            assert set(resource) <= {"name", "type", "scalar", "ranges", "set"}
        for resource in agent["total_resources"]:
            assert resource["role"] == "*"
        assert [r["name"] for r in agent["agent_info"]["resources"]] == [r["name"] for r in agent["total_resources"]]
        cpus = next(r for r in agent["total_resources"] if r["name"] == "cpus")
        assert cpus["scalar"]["value"] == slave["resources"]["cpus"]
        ports = next(r for r in agent["total_resources"] if r["name"] == "ports")
        assert ports["type"] == "RANGES"
        assert slave["resources"]["ports"] == "[{}]".format(
            ", ".join(f"{r['begin']}-{r['end']}" for r in ports["ranges"]["range"])
        )


def test_deactivate_and_reactivate(peer):
    agent_id, other = peer.agent_ids[0], peer.agent_ids[1]
    assert_empty_ok(peer.call(agent_call("DEACTIVATE_AGENT", agent_id)))
    try:
        assert_everywhere(peer, agent_id, active=False, deactivated=True)
        assert_everywhere(peer, other, active=True, deactivated=False)
        # Deactivating again is fine: the same answer, nothing changes.
        assert_empty_ok(peer.call(agent_call("DEACTIVATE_AGENT", agent_id)))
        assert_everywhere(peer, agent_id, active=False, deactivated=True)
    finally:
        assert_empty_ok(peer.call(agent_call("REACTIVATE_AGENT", agent_id)))
    assert_everywhere(peer, agent_id, active=True, deactivated=False)
    # Reactivating an active agent is refused.
    assert_refused(peer.call(agent_call("REACTIVATE_AGENT", agent_id)), 400, "Agent is not deactivated")


def test_drain_and_reactivate(peer):
    agent_id = peer.agent_ids[0]
    assert_empty_ok(peer.call(agent_call("DRAIN_AGENT", agent_id)))
    try:
        # DRAINING until the master has recorded that no task runs there (tens of ms).
        assert drain_state(peer, agent_id) in ("DRAINING", "DRAINED")
        peer.wait_for(lambda: drain_state(peer, agent_id) == "DRAINED", what="DRAINED")
        assert_everywhere(
            peer,
            agent_id,
            active=False,
            deactivated=True,
            drain_info={"state": "DRAINED", "config": {"mark_gone": False}},
        )
        agent = v1_agent(peer, agent_id)
        started = agent["estimated_drain_start_time"]["nanoseconds"]
        assert isinstance(started, int)
        assert started % 1_000_000_000 == 0  # whole seconds in the v1 API
        slave = peer.slaves()[agent_id]
        assert abs(slave["estimated_drain_start_time_seconds"] - started / 1e9) < 1.0
        # Draining a drained agent again: accepted, and it ends DRAINED again.
        assert_empty_ok(peer.call(agent_call("DRAIN_AGENT", agent_id, mark_gone=False)))
        peer.wait_for(lambda: drain_state(peer, agent_id) == "DRAINED", what="DRAINED")
    finally:
        assert_empty_ok(peer.call(agent_call("REACTIVATE_AGENT", agent_id)))
    assert_everywhere(peer, agent_id, active=True, deactivated=False)


@pytest.mark.parametrize(
    ("grace", "reported"),
    [
        ({"seconds": 5}, 5_000_000_000),
        ({"seconds": 2, "nanos": 500_000_000}, 2_500_000_000),
        ({"seconds": "3"}, 3_000_000_000),  # a string holding the number is taken
        ({"seconds": 3.5}, 3_000_000_000),  # cut to whole seconds: `nanos` holds the rest
        ({"nanos": 5}, 5),
        ({}, 0),
        # DurationInfo, the form the grace period is reported in, is not what DRAIN_AGENT takes:
        # the unknown field is ignored and the agent drains with 0 s (its tasks are SIGKILLed at once).
        ({"nanoseconds": 5_000_000_000}, 0),
    ],
)
def test_drain_reports_its_grace_period_in_nanoseconds(peer, grace, reported):
    """DRAIN_AGENT's max_grace_period is a google.protobuf.Duration; drain_info reports it as a
    DurationInfo."""
    agent_id = peer.agent_ids[1]
    assert_empty_ok(peer.call(agent_call("DRAIN_AGENT", agent_id, max_grace_period=grace)))
    try:
        peer.wait_for(lambda: drain_state(peer, agent_id) == "DRAINED", what="DRAINED")
        expected = {"max_grace_period": {"nanoseconds": reported}, "mark_gone": False}
        assert v1_agent(peer, agent_id)["drain_info"]["config"] == expected
        assert peer.slaves()[agent_id]["drain_info"]["config"] == expected
    finally:
        assert_empty_ok(peer.call(agent_call("REACTIVATE_AGENT", agent_id)))


@pytest.mark.parametrize(
    ("grace", "text"),
    [
        ("5secs", "Not expecting a JSON string for field 'max_grace_period'"),
        (5, "Not expecting a JSON number for field 'max_grace_period'"),
        (
            {"seconds": "soon"},
            "Failed to parse 'soon' as a JSON number for field 'seconds': syntax error at line 1 near: soon",
        ),
        (
            {"seconds": "5 x"},
            "Failed to parse '5 x' as a JSON number for field 'seconds': Parsed JSON included non-whitespace "
            "trailing characters: x",
        ),
    ],
)
def test_drain_refuses_a_grace_period_that_is_no_duration(peer, grace, text):
    agent_id = peer.agent_ids[1]
    reply = peer.call(agent_call("DRAIN_AGENT", agent_id, max_grace_period=grace))
    assert_refused(reply, 400, f"Failed to convert JSON into Call protobuf: {text}")
    assert_everywhere(peer, agent_id, active=True, deactivated=False)


def test_deactivated_agent_can_be_drained(peer):
    agent_id = peer.agent_ids[0]
    assert_empty_ok(peer.call(agent_call("DEACTIVATE_AGENT", agent_id)))
    try:
        assert_empty_ok(peer.call(agent_call("DRAIN_AGENT", agent_id)))
        peer.wait_for(lambda: drain_state(peer, agent_id) == "DRAINED", what="DRAINED")
    finally:
        assert_empty_ok(peer.call(agent_call("REACTIVATE_AGENT", agent_id)))
    assert_everywhere(peer, agent_id, active=True, deactivated=False)


@pytest.mark.parametrize("call_type", ["DEACTIVATE_AGENT", "DRAIN_AGENT"])
def test_unknown_agent(peer, call_type):
    assert_refused(peer.call(agent_call(call_type, "no-such-agent")), 400, "Unknown agent")


def test_reactivate_unknown_agent(peer):
    assert_refused(peer.call(agent_call("REACTIVATE_AGENT", "no-such-agent")), 400, "Agent is not deactivated")


def test_drain_mark_gone_removes_the_agent_for_good(peer_factory):
    peer = peer_factory(agents=2, fresh=True)
    gone, kept = peer.agent_ids
    assert_empty_ok(peer.call(agent_call("DRAIN_AGENT", gone, mark_gone=True)))
    peer.wait_for(lambda: gone not in peer.agents_v1(), what="agent marked gone")
    assert list(peer.slaves()) == [kept]
    assert peer.get("/master/slaves").json()["recovered_slaves"] == []
    state = peer.get("/master/state").json()
    assert [a["id"] for a in state["slaves"]] == [kept]
    assert (state["activated_slaves"], state["deactivated_slaves"]) == (1.0, 0.0)
    # It is gone, not deactivated: a deactivation does not know it, and its drain never ends.
    assert_refused(peer.call(agent_call("DEACTIVATE_AGENT", gone)), 400, "Unknown agent")
    assert_refused(peer.call(agent_call("DRAIN_AGENT", gone)), 400, "Unknown agent")
    assert_refused(peer.call(agent_call("REACTIVATE_AGENT", gone)), 400, "Agent is still in the DRAINING state")
    # No metrics: in local mode the gone agent lived in the master's process, and the snapshot
    # now waits for its metrics until the request's timeout.
    assert_everywhere(peer, kept, active=True, deactivated=False, metrics=False)


AGENT = {"agent_id": {"value": "x"}}


@pytest.mark.parametrize(
    ("method", "headers", "body", "status", "text"),
    [
        ("GET", {}, None, 405, "405 Method Not Allowed. Expecting one of { 'POST' }, but received 'GET'."),
        ("POST", {}, '{"type":"GET_AGENTS"}', 400, "Expecting 'Content-Type' to be present"),
        (
            "POST",
            {"Content-Type": "application/json; charset=utf-8"},
            '{"type":"GET_AGENTS"}',
            415,
            "Expecting 'Content-Type' of application/json or application/x-protobuf",
        ),
        (
            "POST",
            {"Content-Type": "text/plain"},
            '{"type":"GET_AGENTS"}',
            415,
            "Expecting 'Content-Type' of application/json or application/x-protobuf",
        ),
        (
            "POST",
            {"Content-Type": "application/json"},
            "notjson",
            400,
            "Failed to parse body into JSON: syntax error at line 1 near: otjson",
        ),
        (
            "POST",
            {"Content-Type": "application/json"},
            "{not json",
            400,
            "Failed to parse body into JSON: syntax error at line 1 near: not json",
        ),
        (
            "POST",
            {"Content-Type": "application/json"},
            "",
            400,
            "Failed to parse body into JSON: syntax error at line 1 near: ",
        ),
        # stout refuses anything but whitespace after the value, naming it from the end of the value to the last
        # visible character (MESOS-FACTS.md section 4).
        (
            "POST",
            {"Content-Type": "application/json"},
            '{"type": "GET_AGENTS"} {"type": "GET_TASKS"}\n',
            400,
            'Failed to parse body into JSON: Parsed JSON included non-whitespace trailing characters:  {"type": '
            '"GET_TASKS"}',
        ),
        (
            "POST",
            {"Content-Type": "application/json"},
            '{"type": "GET_AGENTS"}}',
            400,
            "Failed to parse body into JSON: Parsed JSON included non-whitespace trailing characters: }",
        ),
        (
            "POST",
            {"Content-Type": "application/json"},
            "[]",
            400,
            "Failed to convert JSON into Call protobuf: Expecting a JSON object",
        ),
        (
            "POST",
            {"Content-Type": "application/json"},
            '{"type": 5}',
            400,
            "Failed to convert JSON into Call protobuf: Not expecting a JSON number for field 'type'",
        ),
        (
            "POST",
            {"Content-Type": "application/json"},
            '{"type": "NO_SUCH_CALL"}',
            400,
            "Failed to validate master::Call: Expecting 'type' to be present",
        ),
        (
            "POST",
            {"Content-Type": "application/json"},
            "{}",
            400,
            "Failed to validate master::Call: Expecting 'type' to be present",
        ),
        (
            "POST",
            {"Content-Type": "application/json"},
            '{"type": "DEACTIVATE_AGENT"}',
            400,
            "Failed to validate master::Call: Expecting 'deactivate_agent' to be present",
        ),
        (
            "POST",
            {"Content-Type": "application/json"},
            '{"type": "DRAIN_AGENT", "deactivate_agent": {"agent_id": {"value": "x"}}}',
            400,
            "Failed to validate master::Call: Expecting 'drain_agent' to be present",
        ),
        (
            "POST",
            {"Content-Type": "application/json"},
            '{"type": "REACTIVATE_AGENT", "reactivate_agent": {}}',
            400,
            "Failed to convert JSON into Call protobuf: Missing required fields: reactivate_agent.agent_id",
        ),
        (
            "POST",
            {"Content-Type": "application/json"},
            '{"type": "DEACTIVATE_AGENT", "deactivate_agent": {"agent_id": "x"}}',
            400,
            "Failed to convert JSON into Call protobuf: Not expecting a JSON string for field 'agent_id'",
        ),
        (
            "POST",
            {"Content-Type": "application/json"},
            '{"type": "DEACTIVATE_AGENT", "deactivate_agent": {"agent_id": {"value": 5}}}',
            400,
            "Failed to convert JSON into Call protobuf: Not expecting a JSON number for field 'value'",
        ),
        (
            "POST",
            {"Content-Type": "application/json"},
            '{"type": "DRAIN_AGENT", "drain_agent": {"agent_id": {"value": "x"}, "mark_gone": "yes"}}',
            400,
            "Failed to convert JSON into Call protobuf: Failed to parse 'yes' as a JSON boolean for field "
            "'mark_gone': syntax error at line 1 near: yes",
        ),
        (
            "POST",
            {"Content-Type": "application/json"},
            '{"type": "DRAIN_AGENT", "drain_agent": {"agent_id": {"value": "x"}, "mark_gone": 1}}',
            400,
            "Failed to convert JSON into Call protobuf: Not expecting a JSON number for field 'mark_gone'",
        ),
        # A string holding the JSON value is taken for a number or boolean field.
        (
            "POST",
            {"Content-Type": "application/json"},
            '{"type": "DRAIN_AGENT", "drain_agent": {"agent_id": {"value": "x"}, "mark_gone": "false",'
            ' "max_grace_period": {"seconds": "1000"}}}',
            400,
            "Unknown agent",
        ),
        (
            "POST",
            {"Content-Type": "application/json", "Accept": "text/plain"},
            '{"type":"GET_AGENTS"}',
            406,
            "Expecting 'Accept' to allow 'application/x-protobuf' or 'application/json'",
        ),
        # Fields Mesos does not know are ignored; what is left is checked.
        (
            "POST",
            {"Content-Type": "application/json"},
            '{"type": "DEACTIVATE_AGENT", "deactivate_agent": {"agent_id": {"value": "x"}}, "extra": 1}',
            400,
            "Unknown agent",
        ),
    ],
)
def test_refusals(peer, method, headers, body, status, text):
    reply = peer.request(method, "/master/api/v1", body, headers)
    assert_refused(reply, status, text)
    if status == 405:
        assert reply.header("Allow") == "POST"


@pytest.mark.parametrize("accept", ["application/json", "*/*", "application/*", "text/plain, application/json"])
def test_accept_json(peer, accept):
    assert peer.call({"type": "GET_AGENTS"}, headers={"Accept": accept}).status == 200
