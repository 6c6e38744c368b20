"""Mesos' maintenance primitives on both peers: the schedule (/master/maintenance/schedule and the v1
calls GET_MAINTENANCE_SCHEDULE, UPDATE_MAINTENANCE_SCHEDULE), the status
(/master/maintenance/status, GET_MAINTENANCE_STATUS), machine/down and machine/up (START_MAINTENANCE,
STOP_MAINTENANCE): the documents, the refusals and their texts, and what a DRAINING or DOWN machine
does to its agents.

Every agent gets a hostname of its own (agent-1, agent-2: local mode would give them all the
master's), so that each agent is a machine of its own: the master knows an agent's machine as its
hostname and the IP of its pid. The order in which the status lists machines is the master's hash
order and is not asserted. Tests that bring a machine down spoil the peer (its agent is shut down
for good) and take a fresh one; the others leave the schedule empty.
"""

from __future__ import annotations

import json

import pytest
from contract_peers import AUTH, VERSION, Peer
from real_mesos.framework import SleepFramework

from mesos_sim import Cluster

HOUR_NS = 3600 * 1_000_000_000
START_NS = 1_000_000_000_000
GHOST = {"hostname": "Ghost"}  # a machine no agent runs on
TEXT = "text/plain; charset=utf-8"


@pytest.fixture(scope="module", params=["simulator", "real"])
def machines_peer(request):
    """`machines_peer(auth=None)` -> a fresh peer with two agents, agent-1 and agent-2."""
    kind = request.param
    clusters: list[Cluster] = []

    def factory(auth=None) -> Peer:
        if kind == "real":
            real = request.getfixturevalue("real_mesos_factory")
            backend = real(fresh=True, agents=2, agent_hostname_prefix="agent", **AUTH[auth])
            return Peer(kind, backend.port, backend.agent_ids, backend)
        backend = Cluster(masters=1, agents=0, build=None, version=VERSION, **AUTH[auth])
        for hostname in ("agent-1", "agent-2"):
            backend.add_agent(hostname)
        clusters.append(backend.start())
        return Peer(kind, int(backend.leader_url.rsplit(":", 1)[1]), backend.agent_ids, backend)

    yield factory
    for cluster in clusters:
        cluster.stop()


@pytest.fixture(scope="module")
def shared_peer(machines_peer):
    return machines_peer()


@pytest.fixture
def peer(shared_peer):
    """The module's shared peer; the test must leave no machine DOWN. The schedule is emptied after."""
    yield shared_peer
    assert post(shared_peer, "/master/maintenance/schedule", {}).status == 200


def machines(peer) -> dict:
    """Each agent's MachineID by hostname: its hostname and the IP of its pid."""
    return {
        a["hostname"]: {"hostname": a["hostname"], "ip": a["pid"].split("@")[1].split(":")[0]}
        for a in peer.slaves().values()
    }


def window(*machine_ids, start=START_NS, duration=HOUR_NS) -> dict:
    unavailability = {"start": {"nanoseconds": start}}
    if duration is not None:
        unavailability["duration"] = {"nanoseconds": duration}
    return {"machine_ids": list(machine_ids), "unavailability": unavailability}


def post(peer, path, doc, credentials=None):
    body = doc if isinstance(doc, str) else json.dumps(doc)
    return peer.request("POST", path, body, {"Content-Type": "application/json"}, credentials)


def assert_ok(reply):
    assert (reply.status, reply.body, reply.header("Content-Type")) == (200, b"", None), reply


def assert_refused(reply, text, status=400):
    assert (reply.status, reply.text, reply.header("Content-Type")) == (status, text, TEXT), reply


def status(peer) -> tuple[list, list]:
    """/master/maintenance/status as (draining machine ids, down machine ids), each sorted."""
    reply = peer.get("/master/maintenance/status")
    assert reply.status == 200 and reply.header("Content-Type") == "application/json", reply
    doc = reply.json()
    assert set(doc) <= {"draining_machines", "down_machines"}
    for machine in doc.get("draining_machines", []):
        assert list(machine) == ["id"], machine  # no framework answered an inverse offer
    draining = [m["id"] for m in doc.get("draining_machines", [])]
    return sorted(draining, key=json.dumps), sorted(doc.get("down_machines", []), key=json.dumps)


def v1(peer, call: dict):
    return peer.call(call)


def test_schedule_and_status(peer):
    agent_1, agent_2 = machines(peer)["agent-1"], machines(peer)["agent-2"]
    assert peer.get("/master/maintenance/schedule").json() == {}
    assert v1(peer, {"type": "GET_MAINTENANCE_SCHEDULE"}).text == (
        '{"type":"GET_MAINTENANCE_SCHEDULE","get_maintenance_schedule":{"schedule":{}}}'
    )
    assert v1(peer, {"type": "GET_MAINTENANCE_STATUS"}).text == (
        '{"type":"GET_MAINTENANCE_STATUS","get_maintenance_status":{"status":{}}}'
    )
    before = peer.agents_v1()
    schedule = {"windows": [window(agent_1, GHOST), window({"ip": "10.0.0.1"}, start=START_NS * 2, duration=None)]}
    assert_ok(post(peer, "/master/maintenance/schedule", schedule))

    # The endpoint writes a JSON::Object (sorted keys), the v1 call its fields in declaration order.
    reply = peer.get("/master/maintenance/schedule")
    assert (reply.status, reply.header("Content-Type")) == (200, "application/json")
    assert reply.text == json.dumps(schedule, separators=(",", ":"), sort_keys=True)
    reply = v1(peer, {"type": "GET_MAINTENANCE_SCHEDULE"})
    assert reply.status == 200 and reply.header("Content-Type") == "application/json"
    expected = {"type": "GET_MAINTENANCE_SCHEDULE", "get_maintenance_schedule": {"schedule": schedule}}
    assert reply.text == json.dumps(expected, separators=(",", ":"))

    draining = sorted([agent_1, GHOST, {"ip": "10.0.0.1"}], key=json.dumps)
    assert status(peer) == (draining, [])
    reply = v1(peer, {"type": "GET_MAINTENANCE_STATUS"})
    assert list(reply.json()) == ["type", "get_maintenance_status"]
    listed = reply.json()["get_maintenance_status"]["status"]
    assert list(listed) == ["draining_machines"]
    assert sorted((m["id"] for m in listed["draining_machines"]), key=json.dumps) == draining

    # A DRAINING machine's agent stays registered and active; no agent document shows maintenance.
    after = peer.agents_v1()
    assert after.keys() == before.keys()
    for agent_id, agent in after.items():
        assert (agent["active"], agent["deactivated"]) == (True, False)
        assert sorted(agent) == sorted(before[agent_id])
    state = peer.get("/master/state").json()
    assert all(a["active"] for a in state["slaves"]) and len(state["slaves"]) == 2

    # Posting again replaces the whole schedule: the ghost and the ip-only machine are UP again.
    assert_ok(
        v1(
            peer,
            {
                "type": "UPDATE_MAINTENANCE_SCHEDULE",
                "update_maintenance_schedule": {"schedule": {"windows": [window(agent_2)]}},
            },
        )
    )
    assert status(peer) == ([agent_2], [])
    assert peer.get("/master/maintenance/schedule").json() == {"windows": [window(agent_2)]}
    assert_ok(post(peer, "/master/maintenance/schedule", {"windows": []}))
    assert status(peer) == ([], [])
    assert peer.get("/master/maintenance/status").json() == {}


def test_schedule_keeps_what_was_posted(peer):
    """Field values as stout converts them: a number in a string, a fraction cut off, an empty
    string set, null unset; the hostname's case as posted."""
    posted = {
        "windows": [
            {
                "machine_ids": [{"hostname": "Mixed-Case", "ip": None}, {"hostname": "e", "ip": ""}],
                "unavailability": {"start": {"nanoseconds": "5"}, "duration": {"nanoseconds": 7.9}},
                "unknown": 1,
            }
        ]
    }
    assert_ok(post(peer, "/master/maintenance/schedule", posted))
    assert peer.get("/master/maintenance/schedule").json() == {
        "windows": [window({"hostname": "Mixed-Case"}, {"hostname": "e", "ip": ""}, start=5, duration=7)]
    }
    assert status(peer) == (sorted([{"hostname": "Mixed-Case"}, {"hostname": "e", "ip": ""}], key=json.dumps), [])


ONE = {"start": {"nanoseconds": 1}}
SCHEDULE_REFUSALS = [
    ("[]", "Unexpected JSON type parsed"),
    ("x", "syntax error at line 1 near: x"),
    ('{"windows":"x"}', "Not expecting a JSON string for field 'windows'"),
    ({"windows": [{"machine_ids": "x", "unavailability": ONE}]}, "Not expecting a JSON string for field 'machine_ids'"),
    (
        {"windows": [{"machine_ids": [{"hostname": 5}], "unavailability": ONE}]},
        "Not expecting a JSON number for field 'hostname'",
    ),
    ({"windows": [{"unavailability": 5, "machine_ids": 5}]}, "Not expecting a JSON number for field 'machine_ids'"),
    ({"windows": [{}]}, "Missing required fields: windows[0].unavailability"),
    (
        {"windows": [{"machine_ids": [{"hostname": "a"}], "unavailability": {}}]},
        "Missing required fields: windows[0].unavailability.start",
    ),
    (
        {"windows": [{"machine_ids": [{"hostname": "a"}], "unavailability": {"start": {}, "duration": {}}}]},
        "Missing required fields: windows[0].unavailability.start.nanoseconds, windows[0].unavailability.duration.nanoseconds",
    ),
    ({"windows": [{"machine_ids": [], "unavailability": ONE}]}, "List of machines in the maintenance window is empty"),
    ({"windows": [{"machine_ids": [{}], "unavailability": ONE}]}, "Both 'hostname' and 'ip' for a machine are empty"),
    (
        {"windows": [{"machine_ids": [{"hostname": "", "ip": ""}], "unavailability": ONE}]},
        "Both 'hostname' and 'ip' for a machine are empty",
    ),
    (
        {"windows": [{"machine_ids": [{"hostname": "a", "ip": "x.y"}], "unavailability": ONE}]},
        "Failed to parse IPv4: x.y",
    ),
    ({"windows": [{"machine_ids": [{"ip": "::1"}], "unavailability": ONE}]}, "Failed to parse IPv4: ::1"),
    (
        {"windows": [window({"hostname": "a"}, duration=-1)]},
        "Unavailability 'duration' is negative",
    ),
    (
        {"windows": [window({"hostname": "a"}, {"hostname": "a"})]},
        """Machine '{"hostname":"a"}' appears more than once in the schedule""",
    ),
    (
        # Overlapping windows; hostnames compare without case.
        {"windows": [window({"hostname": "A", "ip": "10.0.0.1"}), window({"hostname": "a", "ip": "10.0.0.1"})]},
        """Machine '{"hostname":"a","ip":"10.0.0.1"}' appears more than once in the schedule""",
    ),
]


@pytest.mark.parametrize(("body", "text"), SCHEDULE_REFUSALS)
def test_schedule_refusals(peer, body, text):
    assert_ok(post(peer, "/master/maintenance/schedule", {"windows": [window(GHOST)]}))
    assert_refused(post(peer, "/master/maintenance/schedule", body), text)
    assert peer.get("/master/maintenance/schedule").json() == {"windows": [window(GHOST)]}
    if not isinstance(body, str):
        call = {"type": "UPDATE_MAINTENANCE_SCHEDULE", "update_maintenance_schedule": {"schedule": body}}
        if text.startswith(("Not expecting", "Missing required fields: ")):
            text = "Failed to convert JSON into Call protobuf: " + text.replace(
                "fields: ", "fields: update_maintenance_schedule.schedule."
            ).replace(", windows", ", update_maintenance_schedule.schedule.windows")
        assert_refused(v1(peer, call), text)
        assert peer.get("/master/maintenance/schedule").json() == {"windows": [window(GHOST)]}


V1_REFUSALS = [
    (
        {"type": "UPDATE_MAINTENANCE_SCHEDULE"},
        "Failed to validate master::Call: Expecting 'update_maintenance_schedule' to be present",
    ),
    (
        {"type": "UPDATE_MAINTENANCE_SCHEDULE", "update_maintenance_schedule": {}},
        "Failed to convert JSON into Call protobuf: Missing required fields: update_maintenance_schedule.schedule",
    ),
    (
        {"type": "UPDATE_MAINTENANCE_SCHEDULE", "update_maintenance_schedule": "x"},
        "Failed to convert JSON into Call protobuf: Not expecting a JSON string for field 'update_maintenance_schedule'",
    ),
    ({"type": "START_MAINTENANCE"}, "Failed to validate master::Call: Expecting 'start_maintenance' to be present"),
    ({"type": "START_MAINTENANCE", "start_maintenance": {}}, "List of machines is empty"),
    (
        {"type": "START_MAINTENANCE", "start_maintenance": {"machines": [5]}},
        "Failed to convert JSON into Call protobuf: Not expecting a JSON number for field 'machines'",
    ),
    (
        # A JSON object for a repeated message field is one element.
        {"type": "START_MAINTENANCE", "start_maintenance": {"machines": {"hostname": "x"}}},
        """Machine '{"hostname":"x"}' is not part of a maintenance schedule""",
    ),
    ({"type": "STOP_MAINTENANCE"}, "Failed to validate master::Call: Expecting 'stop_maintenance' to be present"),
    ({"type": "STOP_MAINTENANCE", "stop_maintenance": {"machines": []}}, "List of machines is empty"),
    ({"type": "STOP_MAINTENANCE", "stop_maintenance": {"machines": [{"ip": "1.2.3"}]}}, "Failed to parse IPv4: 1.2.3"),
    (
        {"type": "STOP_MAINTENANCE", "stop_maintenance": {"machines": [{"hostname": "x"}]}},
        """Machine '{"hostname":"x"}' is not part of a maintenance schedule""",
    ),
]


@pytest.mark.parametrize(("call", "text"), V1_REFUSALS)
def test_v1_refusals(peer, call, text):
    assert_refused(v1(peer, call), text)
    assert status(peer) == ([], [])


MACHINE_LIST_REFUSALS = [
    ("{}", "Unexpected JSON type parsed"),
    ("", "syntax error at line 1 near: "),
    ("[]", "List of machines is empty"),
    ("[5]", "Expecting a JSON object"),
    ("[null]", "Expecting a JSON object"),
    ('[[{"hostname":"agent-1"}]]', "Expecting a JSON object"),
    ("[{}]", "Both 'hostname' and 'ip' for a machine are empty"),
    ('[{"hostname":"x","ip":"1.2.3.4.5"}]', "Failed to parse IPv4: 1.2.3.4.5"),
    ('[{"hostname":"x"},{"hostname":"X"}]', """Machine '{"hostname":"X"}' appears more than once in the schedule"""),
    ('[{"hostname":"nope"}]', """Machine '{"hostname":"nope"}' is not part of a maintenance schedule"""),
]


@pytest.mark.parametrize(("body", "text"), MACHINE_LIST_REFUSALS)
@pytest.mark.parametrize("path", ["/master/machine/down", "/master/machine/up"])
def test_machine_list_refusals(peer, path, body, text):
    assert_refused(post(peer, path, body), text)


def test_machine_modes_refused(peer):
    agent_1, agent_2 = machines(peer)["agent-1"], machines(peer)["agent-2"]
    assert_ok(post(peer, "/master/maintenance/schedule", {"windows": [window(agent_1)]}))
    # An agent's machine is known to the master (UP) without a schedule; its hostname alone is not.
    not_draining = "is not in DRAINING mode and cannot be brought down"
    assert_refused(
        post(peer, "/master/machine/down", [agent_2]),
        f"Machine '{json.dumps(agent_2, separators=(',', ':'))}' {not_draining}",
    )
    assert_refused(
        post(peer, "/master/machine/down", [{"hostname": "agent-1"}]),
        """Machine '{"hostname":"agent-1"}' is not part of a maintenance schedule""",
    )
    assert_refused(
        post(peer, "/master/machine/up", [agent_1]),
        f"Machine '{json.dumps(agent_1, separators=(',', ':'))}' is not in DOWN mode and cannot be brought up",
    )
    assert_refused(
        v1(peer, {"type": "START_MAINTENANCE", "start_maintenance": {"machines": [agent_1, agent_2]}}),
        f"Machine '{json.dumps(agent_2, separators=(',', ':'))}' {not_draining}",
    )
    assert status(peer) == ([agent_1], [])
    assert len(peer.slaves()) == 2


def test_down_and_up(machines_peer):
    peer = machines_peer()
    agent_1, agent_2 = machines(peer)["agent-1"], machines(peer)["agent-2"]
    agent_ids = {a["hostname"]: agent_id for agent_id, a in peer.slaves().items()}
    assert_ok(post(peer, "/master/maintenance/schedule", {"windows": [window(agent_1, GHOST), window(agent_2)]}))
    # Machine ids compare without the hostname's case: the machine keeps the id the master first knew.
    assert_ok(post(peer, "/master/machine/down", [{**agent_1, "hostname": "AGENT-1"}]))
    assert_ok(v1(peer, {"type": "START_MAINTENANCE", "start_maintenance": {"machines": [{"hostname": "ghost"}]}}))
    assert status(peer) == ([agent_2], sorted([agent_1, GHOST], key=json.dumps))
    listed = v1(peer, {"type": "GET_MAINTENANCE_STATUS"}).json()["get_maintenance_status"]["status"]
    assert list(listed) == ["draining_machines", "down_machines"]

    # The DOWN machine's agent was shut down and removed; the other agent stays.
    peer.wait_for(lambda: set(peer.slaves()) == {agent_ids["agent-2"]}, what="agent-1 removed")
    assert set(peer.agents_v1()) == {agent_ids["agent-2"]}
    assert [a["id"] for a in peer.get("/master/state").json()["slaves"]] == [agent_ids["agent-2"]]

    assert_refused(
        post(peer, "/master/machine/down", [agent_1]),
        f"Machine '{json.dumps(agent_1, separators=(',', ':'))}' is not in DRAINING mode and cannot be brought down",
    )
    for kept, dropped in ((GHOST, agent_1), (agent_1, GHOST)):
        assert_refused(
            post(peer, "/master/maintenance/schedule", {"windows": [window(kept), window(agent_2)]}),
            f"Machine '{json.dumps(dropped, separators=(',', ':'))}' is deactivated and cannot be removed from the schedule",
        )
    # A new schedule that keeps the DOWN machines keeps them DOWN.
    assert_ok(post(peer, "/master/maintenance/schedule", {"windows": [window(agent_1, GHOST, duration=2 * HOUR_NS)]}))
    assert status(peer) == ([], sorted([agent_1, GHOST], key=json.dumps))

    # Up: UP again and out of the schedule; the window goes once it is empty.
    assert_ok(post(peer, "/master/machine/up", [agent_1]))
    assert peer.get("/master/maintenance/schedule").json() == {"windows": [window(GHOST, duration=2 * HOUR_NS)]}
    assert_refused(
        post(peer, "/master/machine/up", [agent_1]),
        f"Machine '{json.dumps(agent_1, separators=(',', ':'))}' is not in DOWN mode and cannot be brought up",
    )
    assert_ok(v1(peer, {"type": "STOP_MAINTENANCE", "stop_maintenance": {"machines": [GHOST]}}))
    assert peer.get("/master/maintenance/schedule").json() == {}
    assert status(peer) == ([], [])
    # A machine brought up once is UP to the master, not unknown.
    assert_refused(
        post(peer, "/master/machine/down", [GHOST]),
        """Machine '{"hostname":"Ghost"}' is not in DRAINING mode and cannot be brought down""",
    )
    # The agent that was shut down does not come back by itself.
    assert set(peer.slaves()) == {agent_ids["agent-2"]}


@pytest.mark.parametrize(
    ("path", "allowed", "method"),
    [
        ("/master/maintenance/schedule", "'GET', 'POST'", "PUT"),
        ("/master/maintenance/status", "'GET'", "POST"),
        ("/master/machine/down", "'POST'", "GET"),
        ("/master/machine/up", "'POST'", "GET"),
    ],
)
def test_methods(peer, path, allowed, method):
    reply = peer.request(method, path, "{}" if method != "GET" else None)
    text = f"405 Method Not Allowed. Expecting one of {{ {allowed} }}, but received '{method}'."
    assert_refused(reply, text, status=405)
    assert reply.header("Allow") == allowed.replace("'", "")


def test_machine_endpoints_are_read_write(machines_peer):
    peer = machines_peer("readwrite")
    for path in ("/master/machine/down", "/master/machine/up"):
        reply = post(peer, path, "[]")
        assert reply.status == 401 and reply.header("WWW-Authenticate") == 'Basic realm="mesos-master-readwrite"'
        assert_refused(post(peer, path, "[]", credentials=True), "List of machines is empty")
    assert post(peer, "/master/maintenance/schedule", "{}").status == 401
    assert_ok(post(peer, "/master/maintenance/schedule", "{}", credentials=True))


def test_inverse_offer_answers(machines_peer):
    """A framework with a task on an agent of a DRAINING machine gets an inverse offer and ACCEPTs it:
    the status lists its answer under that machine. On the real peer the sleep framework answers; on
    the simulator its control hook stands in for the framework."""
    peer = machines_peer()
    agent_1, agent_2 = machines(peer)["agent-1"], machines(peer)["agent-2"]
    agent_ids = {a["hostname"]: agent_id for agent_id, a in peer.slaves().items()}
    framework = None
    if peer.kind == "real":
        framework = SleepFramework(f"http://127.0.0.1:{peer.port}", inverse_offer_answer="ACCEPT").start()
        [task] = framework.launch(seconds=600, agent_id=agent_ids["agent-1"])
        framework.wait_for_state(task, "TASK_RUNNING")
        framework_id = framework.framework_id
    else:
        peer.backend.launch_tasks(agent_ids["agent-1"], 1)
        framework_id = peer.backend.framework.id
    try:
        assert_ok(post(peer, "/master/maintenance/schedule", {"windows": [window(agent_1, agent_2)]}))
        if framework is None:
            peer.backend.respond_inverse_offer(agent_ids["agent-1"], "ACCEPT")

        def answered() -> dict | None:
            listed = peer.get("/master/maintenance/status").json()["draining_machines"]
            return next((m for m in listed if m["id"] == agent_1 and "statuses" in m), None)

        peer.wait_for(answered, timeout=30, what="the framework's answer in the status")
        [answer] = answered()["statuses"]
        assert list(answer) == ["framework_id", "status", "timestamp"]  # a JSON::Object: sorted keys
        assert (answer["framework_id"], answer["status"]) == ({"value": framework_id}, "ACCEPT")
        assert isinstance(answer["timestamp"]["nanoseconds"], int)
        # The other machine runs none of the framework's tasks: no inverse offer, no answer.
        assert {"id": agent_2} in peer.get("/master/maintenance/status").json()["draining_machines"]
        listed = v1(peer, {"type": "GET_MAINTENANCE_STATUS"}).json()["get_maintenance_status"]["status"]
        [machine] = [m for m in listed["draining_machines"] if m["id"] == agent_1]
        assert list(machine) == ["id", "statuses"] and list(machine["statuses"][0]) == [
            "status",
            "framework_id",
            "timestamp",
        ]
        if framework is not None:
            assert {o["agent_id"]["value"] for o in framework.inverse_offers} == {agent_ids["agent-1"]}
            assert "unavailability" in framework.inverse_offers[0]
    finally:
        if framework is not None:
            framework.stop()
