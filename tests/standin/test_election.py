"""Stand-in masters electing their leader through a real ZooKeeper, as mesos-master does."""

from __future__ import annotations

import json
import uuid

from conftest import MODULE, wait_for

RIGHT = "libofferfilterallocator-1.0.1-v1-RC5.so"
JSON = {"Content-Type": "application/json"}


def elected(master) -> bool:
    status, _, body = master.get("/metrics/snapshot")
    return status == 200 and json.loads(body)["master/elected"] == 1.0


def redirect(master) -> str | None:
    status, headers, _ = master.get("/master/redirect")
    return headers.get("Location") if status == 307 else None


def start_cluster(standin, zookeeper, libs, count=3, quorum=2, zk_url=None):
    path = f"/mesos-{uuid.uuid4().hex[:8]}"
    module = {"name": MODULE}
    if zk_url:
        module["parameters"] = [{"key": "zk_url", "value": f"zk://{zookeeper}{path}-filters"}]
    modules = json.dumps({"libraries": [{"file": str(libs / RIGHT), "modules": [module]}]})
    env = {"MESOS_MODULES": modules, "MESOS_ALLOCATOR": MODULE, "MESOS_ZK": f"zk://{zookeeper}{path}"}
    return [standin(f"--quorum={quorum}", env=env, hostname=f"master{i + 1}") for i in range(count)]


def leader_of(masters):
    def find():
        leaders = [m for m in masters if m.proc.poll() is None and elected(m)]
        return leaders[0] if len(leaders) == 1 else None

    return wait_for(find)


def test_one_leader_and_redirects_to_it(standin, zookeeper, libs):
    masters = start_cluster(standin, zookeeper, libs)
    leader = leader_of(masters)
    location = f"//{leader.hostname}:{leader.port}"
    for master in masters:
        assert wait_for(lambda m=master: redirect(m) == location)
    standby = next(m for m in masters if m is not leader)
    # The later build's leader check: a standby sends the client to the leader.
    status, headers, _ = standby.get("/allocator/filters")
    assert (status, headers["Location"]) == (307, f"//{leader.hostname}:{leader.port}/allocator/filters")
    assert standby.get("/help/allocator/filters")[0] == 200


def test_stopping_the_leader_hands_leadership_over(standin, zookeeper, libs):
    masters = start_cluster(standin, zookeeper, libs)
    first = leader_of(masters)
    first.stop()
    rest = [m for m in masters if m is not first]
    second = leader_of(rest)
    assert second is not first
    location = f"//{second.hostname}:{second.port}"
    for master in rest:
        assert wait_for(lambda m=master: redirect(m) == location)


def test_no_leader_without_a_quorum(standin, zookeeper, libs):
    (alone,) = start_cluster(standin, zookeeper, libs, count=1, quorum=2)
    status, _, body = alone.get("/master/redirect")
    assert (status, body) == (503, "No leader elected")
    assert not elected(alone)


def test_filters_survive_failover_through_zookeeper(standin, zookeeper, libs):
    """The later build's zk_url: the new leader re-applies the stored filters."""
    masters = start_cluster(standin, zookeeper, libs, zk_url=True)
    leader = leader_of(masters)
    agents = json.loads(leader.get("/master/state")[2])["slaves"]
    target = agents[1]
    status, _, _ = leader.get("/allocator/filters", "POST", {"agentId": target["id"]}, JSON)
    assert status == 200
    # The module stores the list in ZooKeeper after it answers; a stopping master flushes it.
    leader.stop()
    rest = [m for m in masters if m is not leader]
    new = leader_of(rest)

    def listed():
        status, _, body = new.get("/allocator/filters")
        return status == 200 and json.loads(body)["filters"]

    try:
        found = wait_for(listed)
    except AssertionError:
        raise AssertionError("\n".join(m.stderr for m in masters)) from None
    assert found == [{"agentId": target["id"], "hostname": target["hostname"]}]
