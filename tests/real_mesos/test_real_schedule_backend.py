"""_schedule (backend=schedule, issue 15) against a real Mesos 1.11.0 master: every call the backend makes
(state-summary's agent pids, GET and POST /master/maintenance/schedule, /master/maintenance/status, machine/down,
machine/up), with someone else's window in the schedule, and a lost update repaired; and offer_filter's wait for a
task to end by itself before down=true marks the machines DOWN. The same scenarios run against
the simulator in tests/functional/test_schedule_backend.py.

Each agent gets a hostname of its own (agent-1, agent-2, agent-3) so that each is a machine of its own: local mode
gives every agent the pid IP 127.0.0.1."""

from __future__ import annotations

import pytest
from functional.schedule_helpers import GHOST, Client, Master, foreign_window, schedule_posts, take_out

from ansible_collections.mesos.maintenance.plugins.module_utils._backend import UNFILTERED
from ansible_collections.mesos.maintenance.plugins.module_utils._schedule import (
    DOWN,
    DRAINING,
    SCHEDULE_PATH,
    UP,
    ScheduleBackend,
)
from mesos_sim.waiting import wait_until
from real_mesos.framework import SleepFramework


@pytest.fixture
def mesos(real_mesos_factory):
    """A fresh cluster: machine/down shuts agents down for good."""
    return real_mesos_factory(agents=3, agent_hostname_prefix="agent", fresh=True)


def test_schedule_backend_on_a_real_master(mesos):
    master = Master(mesos.url)
    client = Client(mesos.url)
    machines, ids = master.machines(), master.ids()
    # The master's machine ids are hostname and pid IP: what the status lists once a window holds them.
    assert machines == {h: {"hostname": h, "ip": "127.0.0.1"} for h in ("agent-1", "agent-2", "agent-3")}
    theirs = foreign_window(GHOST, machines["agent-3"])
    master.set_schedule(theirs)

    # Drain two agents: one window for both, theirs kept verbatim, agent-3 left in theirs.
    backend = ScheduleBackend(client, window_duration=600)
    plan, snapshot, change = take_out(backend, ["agent-1", "agent-2", "agent-3"])
    assert plan.add == [ids["agent-1"], ids["agent-2"]]
    assert [e["agent_id"] for e in plan.left_alone] == [ids["agent-3"]]
    assert (change.added, change.writes, change.lost_updates) == ([machines["agent-1"], machines["agent-2"]], 1, 0)
    schedule = master.schedule()
    assert schedule["windows"][0] == theirs
    assert schedule["windows"][1]["machine_ids"] == [machines["agent-1"], machines["agent-2"]]
    assert schedule["windows"][1]["unavailability"]["duration"] == {"nanoseconds": 600 * 1_000_000_000}

    # Status: DRAINING with the window; agents stay registered.
    backend.read()
    report = backend.report(ids["agent-1"])
    assert (report["mode"], report["window"]["duration"], report["inverse_offers"]) == (DRAINING, 600.0, [])
    assert backend.report(ids["agent-3"])["window"] == {"start": 1000.0, "duration": 3600.0}
    status = master.get("/master/maintenance/status")
    assert sorted(m["id"]["hostname"] for m in status["draining_machines"]) == [
        "agent-1",
        "agent-2",
        "agent-3",
        "other.example",
    ]
    assert set(master.ids()) == {"agent-1", "agent-2", "agent-3"}

    # Idempotent: nothing to write the second time.
    client.sent.clear()
    plan, _, change = take_out(ScheduleBackend(client), ["agent-1", "agent-2"])
    assert (plan.add, change, schedule_posts(client)) == ([], None, [])

    # Down: the master shuts the agents down; a new run finds the DOWN machines by hostname.
    downed, already = backend.mark_down([ids["agent-1"], ids["agent-2"]])
    assert (downed, already) == ([machines["agent-1"], machines["agent-2"]], [])
    wait_until(lambda: set(master.ids()) == {"agent-3"}, what="the DOWN machines' agents removed")
    backend = ScheduleBackend(client)
    plan, snapshot, outcomes = take_out(backend, ["agent-1"], state="absent")
    assert {(e["agent_id"], e["mode"]) for e in snapshot.filters} == {
        ("machine:agent-1/127.0.0.1", DOWN),
        ("machine:agent-2/127.0.0.1", DOWN),
        (ids["agent-3"], DRAINING),
    }
    # Up: machine/up for the DOWN machine, which Mesos also drops from our window; agent-2 stays DOWN in it.
    assert outcomes == {"machine:agent-1/127.0.0.1": UNFILTERED}
    assert master.schedule()["windows"][0] == theirs
    assert master.schedule()["windows"][1]["machine_ids"] == [machines["agent-2"]]
    backend.read()
    assert backend.report("machine:agent-1/127.0.0.1")["mode"] is None  # forgotten: no agent, not scheduled
    assert backend.report("machine:agent-2/127.0.0.1")["mode"] == DOWN

    # Remove: agent-2 up; agent-3 out of their window, which keeps GHOST.
    plan, snapshot, outcomes = take_out(backend, ["agent-2", "agent-3"], state="absent")
    assert outcomes == {"machine:agent-2/127.0.0.1": UNFILTERED, ids["agent-3"]: UNFILTERED}
    assert master.schedule() == {"windows": [foreign_window(GHOST)]}
    assert master.get("/master/maintenance/status") == {"draining_machines": [{"id": GHOST}]}
    assert backend.filters_after(snapshot.filters) == []
    agent_3 = backend.read().agents.by_id[ids["agent-3"]]
    assert backend.report(agent_3["id"])["mode"] == UP
    client.close()


def test_a_lost_update_is_repaired_and_inverse_offers_reported(mesos):
    """A stale writer posts right after our write; we detect it and write again. A framework that runs a task on a
    DRAINING machine answers the inverse offer, and the status carries its answer."""
    master = Master(mesos.url)
    client = Client(mesos.url)
    ids = master.ids()
    stale = {"windows": [foreign_window(GHOST)]}
    client.hook("after", "POST", SCHEDULE_PATH, lambda: master.post(SCHEDULE_PATH, stale))
    with SleepFramework(mesos.url, inverse_offer_answer="ACCEPT") as framework:
        [task] = framework.launch(seconds=600, agent_id=ids["agent-1"])
        framework.wait_for_state(task, "TASK_RUNNING")
        backend = ScheduleBackend(client)
        _, _, change = take_out(backend, ["agent-1"])
        assert (change.writes, change.lost_updates) == (2, 1)
        windows = master.schedule()["windows"]
        assert windows[0] == foreign_window(GHOST) and windows[1]["machine_ids"] == [master.machines()["agent-1"]]

        def answered():
            backend.read()
            return backend.report(ids["agent-1"])["inverse_offers"]

        wait_until(answered, timeout=30, what="the framework's answer to the inverse offer")
        [answer] = answered()
        assert (answer["framework_id"], answer["status"]) == (framework.framework_id, "ACCEPT")
        assert backend.remaining(backend.read().agents.by_id[ids["agent-1"]]) == "1 active"
    client.close()


def test_offer_filter_waits_for_the_tasks_then_marks_down_then_brings_up(mesos, run_offer_filter):
    """offer_filter through ansible-playbook: DRAINING kills nothing, so the wait lasts until the task has ended by
    itself; only then are the machines marked DOWN. state=absent brings them up and out of the schedule."""
    master = Master(mesos.url)
    ids = master.ids()
    busy, idle = "agent-1", "agent-2"
    with SleepFramework(mesos.url) as framework:
        [task] = framework.launch(seconds=8, agent_id=ids[busy])
        framework.wait_for_state(task, "TASK_RUNNING")
        args = {"backend": "schedule", "hostname": [busy, idle], "wait": True, "down": True, "wait_sleep": 0.5}
        result = run_offer_filter(mesos, **args)
        # It ended as it was meant to (a task on a DOWN machine's agent would end LOST or KILLED).
        assert framework.tasks[task].state == "TASK_FINISHED", framework.tasks[task].states
    assert result["changed"] is True
    assert result["active_tasks"] == {ids[busy]: 0, ids[idle]: 0}
    assert result["waited"] > 0, result
    assert result["actions"][-1] == f"marked DOWN {busy} (127.0.0.1), {idle} (127.0.0.1)"
    assert [w for w in result["warnings"] if w.startswith("down=true")] == [
        "down=true: 2 machine(s) marked DOWN. Mesos shuts their agents down (whatever still runs there is lost) and "
        "refuses them until state=absent brings the machines up."
    ], result["warnings"]
    status = master.get("/master/maintenance/status")
    assert sorted(m["hostname"] for m in status["down_machines"]) == [busy, idle], status
    wait_until(lambda: set(master.ids()) == {"agent-3"}, what="the DOWN machines' agents removed")

    # Again: DOWN already, nothing to do, nothing to warn of.
    again = run_offer_filter(mesos, **args)
    assert again["changed"] is False, again
    assert not [w for w in again.get("warnings", []) if w.startswith("down=true")], again["warnings"]

    up = run_offer_filter(mesos, backend="schedule", hostname=[busy, idle], state="absent")
    assert up["changed"] is True, up
    assert master.schedule().get("windows", []) == []
    assert master.get("/master/maintenance/status") == {}
