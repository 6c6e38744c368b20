"""Services as Marathon runs them: apps whose instances carry the app's name and labels, are started
again elsewhere when they end, and agents with attributes. Everything is read over HTTP, as a
client of the master sees it."""

from __future__ import annotations

import re
import time

import pytest
import requests

from mesos_sim import control
from mesos_sim.waiting import wait_until

ACTIVE = ("TASK_STAGING", "TASK_STARTING", "TASK_RUNNING", "TASK_KILLING")
# Marathon's task id: the app id's path joined by "_", a dot, a time-based UUID.
UUID = "[0-9a-f]{8}-[0-9a-f]{4}-1[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}"
LABELS = {"budget": "1", "team": "search"}
LABELS_JSON = [{"key": "budget", "value": "1"}, {"key": "team", "value": "search"}]


@pytest.fixture
def http():
    with requests.Session() as session:
        yield session


def state_tasks(http, cluster) -> list[dict]:
    """Every framework's active tasks in the leader's /master/state."""
    state = http.get(cluster.leader_url + "/master/state").json()
    return [t for f in state["frameworks"] for t in f["tasks"]]


def placement(http, cluster, name: str) -> dict[str, str]:
    """Task id -> agent id of the active tasks named `name`, as /master/state shows them."""
    return {t["id"]: t["slave_id"] for t in state_tasks(http, cluster) if t["name"] == name and t["state"] in ACTIVE}


def operator_call(http, cluster, call: dict) -> requests.Response:
    return http.post(cluster.leader_url + "/master/api/v1", json=call)


# --- names and labels ------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["1.0.1", "1.11.0"])
def test_instances_carry_the_app_name_and_labels(cluster_factory, http, version):
    cluster = cluster_factory(masters=1, agents=3, version=version)
    ids = cluster.add_app("web", 2, labels=LABELS)
    nested = cluster.add_app("/prod/api", 1)
    plain = cluster.launch_tasks(cluster.agent_ids[0])[0]
    assert all(re.fullmatch(f"web\\.{UUID}", i) for i in ids)
    assert re.fullmatch(f"prod_api\\.{UUID}", nested[0])

    state = {t["id"]: t for t in state_tasks(http, cluster)}
    listed = {t["id"]: t for t in http.get(cluster.leader_url + "/master/tasks").json()["tasks"]}
    frameworks = http.get(cluster.leader_url + "/master/frameworks").json()["frameworks"]
    for doc in (state, listed, {t["id"]: t for f in frameworks for t in f["tasks"]}):
        assert {doc[i]["name"] for i in ids} == {"web"}
        assert all(doc[i]["labels"] == LABELS_JSON for i in ids)
        # Marathon names a task after its app id as a hostname: "/prod/api" -> "api.prod".
        assert doc[nested[0]]["name"] == "api.prod"
        # No labels: no "labels" key at all.
        assert "labels" not in doc[nested[0]] and "labels" not in doc[plain]
    # json(JSON::ObjectWriter*, const Task&): the writer's field order; 1.11 adds the role.
    expected = ["id", "name", "framework_id", "executor_id", "slave_id", "state", "resources"]
    expected += ["role"] if version == "1.11.0" else []
    assert list(state[ids[0]]) == [*expected, "statuses", "labels"]


def test_a_label_without_value_has_only_its_key(cluster_factory, http):
    cluster = cluster_factory(masters=1, agents=1)
    [task_id] = cluster.add_app("web", 1, labels={"flag": None, "k": "v"})
    task = next(t for t in state_tasks(http, cluster) if t["id"] == task_id)
    assert task["labels"] == [{"key": "flag"}, {"key": "k", "value": "v"}]


def test_get_tasks_1_11_writes_tasks_as_v1_protobufs(cluster_factory, http):
    cluster = cluster_factory(masters=1, agents=2, build=None, version="1.11.0")
    [task_id] = cluster.add_app("web", 1, labels=LABELS, agents=[cluster.agent_ids[0]])
    plain = cluster.launch_tasks(cluster.agent_ids[1])[0]
    reply = operator_call(http, cluster, {"type": "GET_TASKS"})
    assert reply.status_code == 200 and reply.headers["Content-Type"] == "application/json"
    body = reply.json()
    assert list(body) == ["type", "get_tasks"] and body["type"] == "GET_TASKS"
    assert list(body["get_tasks"]) == ["tasks", "unreachable_tasks", "completed_tasks"]
    tasks = {t["task_id"]["value"]: t for t in body["get_tasks"]["tasks"]}
    task = tasks[task_id]
    # mesos::v1::Task, fields in .proto order; labels is a Labels message.
    assert list(task) == [
        "name",
        "task_id",
        "framework_id",
        "agent_id",
        "state",
        "resources",
        "statuses",
        "status_update_state",
        "labels",
    ]
    assert task["name"] == "web"
    assert task["labels"] == {"labels": LABELS_JSON}
    assert task["agent_id"] == {"value": cluster.agent_ids[0]}
    assert task["framework_id"] == {"value": cluster.framework.id}
    assert task["state"] == "TASK_RUNNING"
    # As a real 1.11.0 master keeps a task's resources: allocated, without the deprecated role.
    assert task["resources"][0] == {
        "name": "cpus",
        "type": "SCALAR",
        "scalar": {"value": 0.5},
        "allocation_info": {"role": "*"},
    }
    assert task["statuses"][0]["task_id"] == {"value": task_id}
    assert "labels" not in tasks[plain]
    assert body["get_tasks"]["completed_tasks"] == []


def test_get_tasks_1_0_1_leaves_empty_lists_out_and_sorts_keys(cluster_factory, http):
    cluster = cluster_factory(masters=1, agents=2, version="1.0.1")
    assert operator_call(http, cluster, {"type": "GET_TASKS"}).json() == {"get_tasks": {}, "type": "GET_TASKS"}
    [task_id] = cluster.add_app("web", 1, labels=LABELS, agents=[cluster.agent_ids[0]])
    cluster.finish_tasks(cluster.agent_ids[0], "TASK_KILLED")
    wait_until(lambda: placement(http, cluster, "web"), timeout=5, what="the instance started again")
    body = operator_call(http, cluster, {"type": "GET_TASKS"}).json()["get_tasks"]
    assert list(body) == ["completed_tasks", "tasks"]
    [killed] = body["completed_tasks"]
    assert killed["task_id"] == {"value": task_id}
    assert killed["state"] == "TASK_KILLED"
    assert [s["state"] for s in killed["statuses"]] == ["TASK_RUNNING", "TASK_KILLED"]
    assert killed["labels"] == {"labels": LABELS_JSON}
    assert list(killed) == sorted(killed)


def test_master_tasks_newest_first_with_limit_offset_and_order(cluster_factory, http):
    cluster = cluster_factory(masters=1, agents=1, version="1.11.0")
    first = cluster.add_app("first", 1)[0]
    time.sleep(0.01)
    second = cluster.add_app("second", 1)[0]
    url = cluster.leader_url + "/master/tasks"

    def ids(query=""):
        return [t["id"] for t in http.get(url + query).json()["tasks"]]

    assert ids() == [second, first]
    assert ids("?order=asc") == [first, second]
    assert ids("?limit=1") == [second]
    assert ids("?limit=1&offset=1") == [first]
    assert ids("?limit=nope") == [second, first]
    assert ids(f"?task_id={first}") == [first]
    assert http.get(cluster.leader_url + "/master/tasks.json").status_code == 404  # 1.11 has no .json aliases


# --- relaunching -----------------------------------------------------------------------------


def test_killed_instance_starts_again_on_another_agent_after_the_delay(cluster_factory, http):
    cluster = cluster_factory(masters=1, agents=3)
    home = cluster.agent_ids[0]
    [task_id] = cluster.add_app("web", 1, relaunch_delay=1.0, agents=[home])
    killed_at = time.monotonic()
    assert cluster.finish_tasks(home, "TASK_KILLED") == 1
    time.sleep(0.3)
    assert placement(http, cluster, "web") == {}  # held back by the delay
    now = wait_until(lambda: placement(http, cluster, "web"), timeout=3.0, interval=0.02, what="a new instance")
    assert time.monotonic() - killed_at >= 1.0
    [(new_id, agent)] = now.items()
    assert new_id != task_id and agent != home
    killed = next(t for t in http.get(cluster.leader_url + "/master/tasks").json()["tasks"] if t["id"] == task_id)
    assert killed["state"] == "TASK_KILLED"


def test_cluster_default_delay_and_immediate_relaunch(cluster_factory, http):
    cluster = cluster_factory(masters=1, agents=2, relaunch_delay=1.0)
    home, other = cluster.agent_ids
    cluster.add_app("slow", 1, agents=[home])
    cluster.add_app("fast", 1, relaunch_delay=0, agents=[home])
    cluster.finish_tasks(home, "TASK_FAILED")
    wait_until(lambda: placement(http, cluster, "fast"), timeout=0.8, interval=0.02, what="fast back")
    assert placement(http, cluster, "slow") == {}  # the cluster's 1 s
    assert set(wait_until(lambda: placement(http, cluster, "slow"), timeout=3.0).values()) == {other}


def test_drained_agent_instances_start_again_elsewhere(cluster_factory, http):
    cluster = cluster_factory(masters=1, agents=3, build=None, version="1.11.0")
    drained = cluster.agent_ids[0]
    ids = cluster.add_app("web", 2, labels=LABELS, relaunch_delay=1.0, agents=[drained])
    call = {"type": "DRAIN_AGENT", "drain_agent": {"agent_id": {"value": drained}}}
    assert operator_call(http, cluster, call).status_code == 200
    wait_until(lambda: not placement(http, cluster, "web"), timeout=2.0, interval=0.02, what="instances killed")
    time.sleep(0.3)
    assert placement(http, cluster, "web") == {}
    now = wait_until(lambda: len(placement(http, cluster, "web")) == 2 and placement(http, cluster, "web"), 3.0)
    assert drained not in now.values() and not set(now) & set(ids)
    tasks = {t["id"]: t for t in http.get(cluster.leader_url + "/master/tasks").json()["tasks"]}
    assert {tasks[i]["state"] for i in ids} == {"TASK_KILLED"}
    assert all(tasks[i]["labels"] == LABELS_JSON for i in now)


def test_lost_instances_of_a_removed_agent_start_again(cluster_factory, http):
    cluster = cluster_factory(masters=1, agents=2)
    gone, other = cluster.agent_ids
    cluster.add_app("web", 2, agents=[gone])
    cluster.remove_agent(gone)
    now = wait_until(lambda: len(placement(http, cluster, "web")) == 2 and placement(http, cluster, "web"), 3.0)
    assert set(now.values()) == {other}


def test_filtered_agents_never_get_a_relaunched_instance(cluster, http):
    agents = cluster.agent_ids
    cluster.add_app("web", 1, agents=[agents[0]])
    filtered = agents[1:4]
    for agent_id in filtered:
        reply = http.post(cluster.leader_url + "/allocator/filters", json={"agentId": agent_id})
        assert reply.status_code == 200
    seen = []
    for _ in range(4):  # back and forth between the two agents left
        [(task_id, where)] = placement(http, cluster, "web").items()
        cluster.finish_tasks(where, "TASK_KILLED")
        now = wait_until(lambda: placement(http, cluster, "web"), timeout=3.0, interval=0.02)
        seen += now.values()
    assert not set(seen) & set(filtered)
    assert set(seen) == {agents[0], agents[4]}


def test_an_instance_waits_while_every_agent_is_filtered(cluster_factory, http):
    cluster = cluster_factory(masters=1, agents=2, build="0afdd8b")
    home, other = cluster.agent_ids
    cluster.add_app("web", 1, agents=[home])
    for agent_id in (home, other):
        http.post(cluster.leader_url + "/allocator/filters", json={"agentId": agent_id})
    cluster.finish_tasks(home, "TASK_KILLED")
    time.sleep(0.5)
    assert placement(http, cluster, "web") == {}
    assert http.delete(cluster.leader_url + "/allocator/filters", params={"agentId": other}).status_code == 200
    assert set(wait_until(lambda: placement(http, cluster, "web"), timeout=3.0).values()) == {other}


def test_unique_hosts_never_puts_two_instances_on_one_agent(cluster_factory, http):
    cluster = cluster_factory(masters=1, agents=3)
    ids = cluster.add_app("web", 4, unique_hosts=True)
    assert len(ids) == 3  # the fourth waits for an agent without an instance
    crowded = cluster.add_app("batch", 4)
    assert len(crowded) == 4  # without the constraint all four start
    for _ in range(3):
        where = placement(http, cluster, "web")
        assert len(set(where.values())) == len(where) == 3
        cluster.finish_tasks(next(iter(where.values())), "TASK_KILLED")
        # The killed instance can only come back where none runs: the agent it ended on.
        for _ in range(5):
            where = placement(http, cluster, "web")
            assert len(set(where.values())) == len(where)
            time.sleep(0.05)
        wait_until(lambda: len(placement(http, cluster, "web")) == 3, timeout=3.0)
    new = cluster.add_agent()
    now = wait_until(lambda: len(placement(http, cluster, "web")) == 4 and placement(http, cluster, "web"), 3.0)
    assert new in now.values() and len(set(now.values())) == 4
    with pytest.raises(ValueError, match="unique_hosts"):
        cluster.add_app("pinned", 2, unique_hosts=True, agents=[new])


def test_apps_leave_the_plain_tasks_target_alone(cluster_factory, http):
    cluster = cluster_factory(masters=1, agents=3, tasks=4)
    wait_until(lambda: sum(1 for t in state_tasks(http, cluster) if t["name"].startswith("task-")) == 4, 3.0)
    cluster.add_app("web", 3, framework="marathon")
    cluster.add_app("other", 2, framework="aurora")
    time.sleep(0.3)
    names = [t["name"] for t in state_tasks(http, cluster)]
    assert sum(1 for n in names if n.startswith("task-")) == 4
    assert (names.count("web"), names.count("other")) == (3, 2)
    frameworks = http.get(cluster.leader_url + "/master/frameworks").json()["frameworks"]
    assert sorted(f["name"] for f in frameworks) == ["aurora", "marathon"]
    aurora = next(f for f in frameworks if f["name"] == "aurora")
    assert {t["name"] for t in aurora["tasks"]} == {"other"}
    assert {t["app"] for t in cluster.tasks("other")} == {"/other"}
    assert {t["name"] for t in cluster.tasks("/web")} == {"web"}


def test_add_app_through_the_control_port(cluster_factory, http):
    cluster = cluster_factory(masters=1, agents=2)
    server = control.serve(cluster)
    try:
        base = f"http://127.0.0.1:{server.port}"
        reply = http.post(base + "/add_app", json={"name": "web", "instances": 2, "labels": {"k": "v"}})
        assert reply.status_code == 200
        ids = reply.json()["result"]
        assert len(ids) == 2 and set(placement(http, cluster, "web")) == set(ids)
        tasks = http.post(base + "/tasks", json={"app": "web"}).json()["result"]
        assert {t["id"] for t in tasks} == set(ids) and tasks[0]["labels"] == {"k": "v"}
        bad = http.post(base + "/add_app", json={"name": "Bad_Name", "instances": 1})
        assert bad.status_code == 400 and "invalid app id" in bad.text
    finally:
        server.stop()


# --- agent attributes ------------------------------------------------------------------------


def test_agent_attributes_in_every_agent_listing(cluster_factory, http):
    cluster = cluster_factory(masters=1, agents=2, version="1.11.0", agent_attributes=lambda i: {"rack": f"r{i}"})
    first, second = cluster.agent_ids
    third = cluster.add_agent(attributes={"rack": "r9", "cores": 8})
    plain = cluster.add_agent()
    expected = {first: {"rack": "r0"}, second: {"rack": "r1"}, third: {"rack": "r9", "cores": 8.0}, plain: {}}

    summary = http.get(cluster.leader_url + "/master/state-summary").json()["slaves"]
    assert {s["id"]: s["attributes"] for s in summary} == expected
    state = http.get(cluster.leader_url + "/master/state").json()["slaves"]
    assert {s["id"]: s["attributes"] for s in state} == expected
    slaves = http.get(cluster.leader_url + "/master/slaves").json()["slaves"]
    assert {s["id"]: s["attributes"] for s in slaves} == expected

    agents = operator_call(http, cluster, {"type": "GET_AGENTS"}).json()["get_agents"]["agents"]
    infos = {a["agent_info"]["id"]["value"]: a["agent_info"] for a in agents}
    assert infos[third]["attributes"] == [
        {"name": "rack", "type": "TEXT", "text": {"value": "r9"}},
        {"name": "cores", "type": "SCALAR", "scalar": {"value": 8.0}},
    ]
    assert list(infos[third]) == ["hostname", "port", "resources", "attributes", "id", "checkpoint"]
    assert "attributes" not in infos[plain]


def test_a_replaced_or_reregistered_agent_keeps_its_attributes(cluster_factory, http):
    cluster = cluster_factory(masters=1, agents=2)
    first, second = cluster.agent_ids
    cluster.set_attributes(first, {"rack": "r1"})
    cluster.set_attributes(second, {"rack": "r2"})
    cluster.disconnect_agent(second)
    cluster.reregister_agent(second)
    new = cluster.replace_agent(first)
    summary = http.get(cluster.leader_url + "/master/state-summary").json()["slaves"]
    assert {s["id"]: s["attributes"] for s in summary} == {new: {"rack": "r1"}, second: {"rack": "r2"}}
