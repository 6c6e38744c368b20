# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_schedule (backend=schedule, issue 15) against the simulator over real HTTP: Mesos' maintenance schedule,
status, machine/down and machine/up as the backend uses them, with someone else's windows in the schedule and
another writer changing it while the backend writes. The same calls run against a real Mesos 1.11 master in
tests/real_mesos/test_real_schedule_backend.py.

The other writer is a plain HTTP client that posts a schedule at a chosen moment of the backend's conversation: the
test client runs a hook just before or just after one of its own requests."""

from __future__ import annotations

import pytest
from schedule_helpers import GHOST, Client, Master, foreign_window, schedule_posts, take_out

from ansible_collections.mesos.maintenance.plugins.module_utils._backend import ALREADY_BACK, UNFILTERED
from ansible_collections.mesos.maintenance.plugins.module_utils._filters import resolve_targets
from ansible_collections.mesos.maintenance.plugins.module_utils._schedule import (
    DOWN,
    DRAINING,
    SCHEDULE_PATH,
    UP,
    ScheduleBackend,
    ScheduleConflict,
    machine_key,
    pid_ip,
)


@pytest.fixture
def cluster(cluster_factory):
    """A 1.11 master with agents agent-1, agent-2 and agent-3, each a machine of its own."""
    cluster = cluster_factory(masters=1, agents=0, build=None, version="1.11.0")
    for hostname in ("agent-1", "agent-2", "agent-3"):
        cluster.add_agent(hostname)
    return cluster


@pytest.fixture
def master(cluster):
    return Master(cluster.leader_url)


@pytest.fixture
def client(cluster):
    client = Client(cluster.leader_url)
    yield client
    client.close()


# --- machines ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "pid, ip",
    [
        ("slave(1)@10.0.0.5:5051", "10.0.0.5"),
        ("slave(12)@127.0.0.1:46079", "127.0.0.1"),
        ("slave(1)@10.0.0.5", None),
        ("10.0.0.5:5051", None),
        (None, None),
        (5, None),
    ],
)
def test_pid_ip(pid, ip):
    assert pid_ip(pid) == ip


def test_machines_are_hostname_and_pid_ip(master, client):
    backend = ScheduleBackend(client)
    snapshot = backend.read()
    slaves = master.get("/master/state-summary")["slaves"]
    for slave in slaves:
        assert backend.machine(slave["id"]) == {
            "hostname": slave["hostname"],
            "ip": slave["pid"].split("@")[1].rsplit(":", 1)[0],
        }
    # A window that names the agent's hostname alone is another machine to Mesos: the agent is not in maintenance.
    master.set_schedule(
        foreign_window({"hostname": "agent-1"}), foreign_window({"hostname": "AGENT-2", "ip": "127.0.0.1"})
    )
    snapshot = backend.read()
    assert [e["hostname"] for e in snapshot.filters] == ["agent-2"]  # the hostname's case does not matter
    assert machine_key({"hostname": "A", "ip": "1.2.3.4"}) == machine_key({"hostname": "a", "ip": "1.2.3.4"})


# --- drain, idempotence, remove ----------------------------------------------------------------------------------
def test_drain_two_agents_keeps_someone_elses_window(master, client, cluster):
    machines = master.machines()
    theirs = foreign_window(GHOST, machines["agent-3"])
    master.set_schedule(theirs)

    backend = ScheduleBackend(client, window_duration=600)
    client.sent.clear()
    plan, snapshot, change = take_out(backend, ["agent-1", "agent-2", "agent-3"])
    ids = master.ids()
    # agent-3's machine is in someone else's window: reported, left there, not moved into ours.
    assert plan.add == [ids["agent-1"], ids["agent-2"]]
    assert [(e["agent_id"], e["window"]) for e in plan.left_alone] == [
        (ids["agent-3"], {"start": 1000.0, "duration": 3600.0})
    ]
    assert change.added == [machines["agent-1"], machines["agent-2"]]
    # one schedule write for both agents: state-summary, schedule, status (read), schedule, POST, schedule (verify)
    assert [path.split("/")[-1] for _, path in client.sent] == [
        "redirect",
        "state-summary",
        "schedule",
        "status",
        "schedule",
        "schedule",
        "schedule",
    ]
    assert len(schedule_posts(client)) == 1

    schedule = master.schedule()
    assert schedule["windows"][0] == theirs  # verbatim
    [ours] = schedule["windows"][1:]
    assert ours["machine_ids"] == [machines["agent-1"], machines["agent-2"]]
    assert ours["unavailability"]["duration"] == {"nanoseconds": 600 * 1_000_000_000}
    status = master.get("/master/maintenance/status")
    assert sorted(m["id"]["hostname"] for m in status["draining_machines"]) == [
        "agent-1",
        "agent-2",
        "agent-3",
        "other.example",
    ]
    after = backend.filters_after(snapshot.filters)
    assert sorted((e["hostname"], e["mode"]) for e in after) == [
        ("agent-1", DRAINING),
        ("agent-2", DRAINING),
        ("agent-3", DRAINING),
    ]
    assert backend.notes == []

    # A second run changes nothing and writes nothing.
    again = ScheduleBackend(client, window_duration=600)
    client.sent.clear()
    plan, snapshot, change = take_out(again, ["agent-1", "agent-2"])
    assert (plan.add, change) == ([], None)
    assert schedule_posts(client) == []
    assert again.is_filtered(snapshot, ids["agent-1"]) and not again.is_filtered(snapshot, "nope")
    assert master.schedule() == schedule


def test_remove_keeps_the_other_machines_of_a_window(master, client):
    machines = master.machines()
    theirs = foreign_window(GHOST, machines["agent-1"])
    mine = foreign_window(machines["agent-2"], start=2_000_000_000_000)
    master.set_schedule(theirs, mine)
    ids = master.ids()

    backend = ScheduleBackend(client)
    plan, snapshot, outcomes = take_out(backend, ["agent-1", "agent-2", "agent-3"], state="absent")
    assert plan.remove == [ids["agent-1"], ids["agent-2"]]  # agent-3 was never scheduled
    assert outcomes == {ids["agent-1"]: UNFILTERED, ids["agent-2"]: UNFILTERED}
    assert master.schedule() == {"windows": [foreign_window(GHOST)]}  # emptied window gone, GHOST kept
    assert backend.filters_after(snapshot.filters) == []

    # Removing what is no longer there: ALREADY_BACK, nothing written.
    client.sent.clear()
    assert backend.unfilter(ids["agent-1"], "agent-1") == ALREADY_BACK
    assert schedule_posts(client) == []


def test_check_mode_predicts_the_machines(master, client):
    backend = ScheduleBackend(client)
    snapshot = backend.read()
    targets = resolve_targets([], ["agent-1"], snapshot.agents, snapshot.filters)
    plan = backend.plan("present", False, targets, snapshot)
    predicted = backend.predict(snapshot.filters, plan, targets, snapshot.agents)
    assert [(e["hostname"], e["mode"]) for e in predicted] == [("agent-1", DRAINING)]
    assert master.schedule() == {}


# --- concurrent writers ------------------------------------------------------------------------------------------
def test_a_change_between_our_read_and_our_write_is_merged(master, client):
    machines = master.machines()
    backend = ScheduleBackend(client)
    snapshot = backend.read()
    targets = resolve_targets([], ["agent-1"], snapshot.agents, snapshot.filters)
    plan = backend.plan("present", False, targets, snapshot)
    # Someone schedules their machine after we read, before we write.
    theirs = foreign_window(GHOST)
    master.set_schedule(theirs)
    change = backend.filter_many([(aid, "agent-1") for aid in plan.add])
    assert change.changed_since_read and change.writes == 1
    assert backend.notes == ["the maintenance schedule changed since it was read; merged with the new one"]
    windows = master.schedule()["windows"]
    assert windows[0] == theirs and windows[1]["machine_ids"] == [machines["agent-1"]]


def test_our_machine_scheduled_by_someone_else_meanwhile_is_left_alone(master, client):
    """Someone schedules agent-1's machine after our read: the read right before our write sees it, and agent-1 stays
    in their window."""
    machines = master.machines()
    theirs = foreign_window(machines["agent-1"])
    backend = ScheduleBackend(client)
    snapshot = backend.read()
    targets = resolve_targets([], ["agent-1", "agent-2"], snapshot.agents, snapshot.filters)
    master.set_schedule(theirs)
    change = backend.filter_many([(aid, targets.hostnames[aid]) for aid in targets.ids])
    assert change.added == [machines["agent-2"]]
    assert change.already == [(machines["agent-1"], theirs)]
    assert (change.writes, change.lost_updates) == (1, 0)
    windows = master.schedule()["windows"]
    assert windows[0] == theirs and windows[1]["machine_ids"] == [machines["agent-2"]]
    assert backend.notes[1] == (
        "agent-1 (127.0.0.1) was put into a maintenance window by someone else meanwhile "
        "(start 1000.0, duration 3600.0 s): left there"
    )


def test_a_machine_gone_down_meanwhile_is_brought_up_then_removed(master, client):
    """Someone marks agent-1's machine DOWN between our status read and our schedule write: Mesos refuses a schedule
    without it; we read the status again, bring it up (which drops it from the schedule) and go on."""
    machines = master.machines()
    ids = master.ids()
    master.set_schedule(foreign_window(GHOST, machines["agent-1"], machines["agent-2"]))
    client.hook("before", "POST", SCHEDULE_PATH, lambda: master.post("/master/machine/down", [machines["agent-1"]]))
    backend = ScheduleBackend(client)
    _, _, outcomes = take_out(backend, ["agent-1", "agent-2"], state="absent")
    assert outcomes == {ids["agent-1"]: UNFILTERED, ids["agent-2"]: UNFILTERED}
    change = backend.changes[-1]
    assert (change.brought_up, change.removed, change.lost_updates) == ([machines["agent-1"]], [machines["agent-2"]], 1)
    assert master.schedule() == {"windows": [foreign_window(GHOST)]}
    assert master.get("/master/maintenance/status") == {"draining_machines": [{"id": GHOST}]}


def test_a_write_of_our_machine_right_before_our_post_is_lost_without_a_trace(master, client):
    """What cannot be detected: the endpoint has no compare-and-set, so a write that lands between our last read and
    our POST is overwritten, even when it schedules one of our machines: Mesos checks a posted schedule alone, and
    ours holds the machine once."""
    machines = master.machines()
    client.hook(
        "before", "POST", SCHEDULE_PATH, lambda: master.set_schedule(foreign_window(GHOST, machines["agent-1"]))
    )
    backend = ScheduleBackend(client)
    _, _, change = take_out(backend, ["agent-1"])
    assert (change.writes, change.lost_updates, change.changed_since_read, change.already) == (1, 0, False, [])
    assert [w["machine_ids"] for w in master.schedule()["windows"]] == [[machines["agent-1"]]]


def test_a_lost_update_is_detected_and_written_again(master, client):
    """Another writer posts a schedule it read before our write, right after our write: our window is gone when we
    read back; we merge with theirs and write again."""
    machines = master.machines()
    stale = {"windows": [foreign_window(GHOST)]}
    client.hook("after", "POST", SCHEDULE_PATH, lambda: master.post(SCHEDULE_PATH, stale))
    backend = ScheduleBackend(client)
    _, _, change = take_out(backend, ["agent-1", "agent-2"])
    assert (change.writes, change.lost_updates) == (2, 1)
    windows = master.schedule()["windows"]
    assert windows[0] == foreign_window(GHOST)
    assert windows[1]["machine_ids"] == [machines["agent-1"], machines["agent-2"]]
    assert "another writer replaced the maintenance schedule 1 time(s) during this change" in backend.notes[0]


def test_a_removal_undone_by_a_stale_writer_is_done_again(master, client):
    machines = master.machines()
    both = foreign_window(GHOST, machines["agent-1"])
    master.set_schedule(both)
    client.hook("after", "POST", SCHEDULE_PATH, lambda: master.set_schedule(both))
    _, _, outcomes = take_out(ScheduleBackend(client), ["agent-1"], state="absent")
    assert list(outcomes.values()) == [UNFILTERED]
    assert master.schedule() == {"windows": [foreign_window(GHOST)]}


def test_gives_up_after_max_attempts(master, client):
    stale = {"windows": [foreign_window(GHOST)]}
    client.hook("after", "POST", SCHEDULE_PATH, lambda: master.post(SCHEDULE_PATH, stale), every=True)
    backend = ScheduleBackend(client, max_attempts=3)
    with pytest.raises(ScheduleConflict) as raised:
        take_out(backend, ["agent-1"])
    assert len(schedule_posts(client)) == 3
    assert raised.value.msg.startswith("adding agent-1 (127.0.0.1) to the maintenance schedule: gave up after 3 writes")
    assert "let it finish, then run again" in raised.value.msg
    assert master.schedule() == stale


# --- down and up, status -----------------------------------------------------------------------------------------
def test_down_then_up(master, client, cluster):
    machines = master.machines()
    ids = master.ids()
    master.set_schedule(foreign_window(GHOST))
    backend = ScheduleBackend(client, down=True)
    plan, snapshot, _ = take_out(backend, ["agent-1", "agent-2"])
    downed, already = backend.mark_down(plan.add)
    assert (downed, already) == ([machines["agent-1"], machines["agent-2"]], [])
    assert backend.mark_down(plan.add) == ([], [machines["agent-1"], machines["agent-2"]])
    status = master.get("/master/maintenance/status")
    assert sorted(m["hostname"] for m in status["down_machines"]) == ["agent-1", "agent-2"]
    assert set(master.ids()) == {"agent-3"}  # the DOWN machines' agents are gone

    # A new run knows the DOWN machines by hostname only (the master forgot their agents' ids).
    backend = ScheduleBackend(client)
    plan, snapshot, outcomes = take_out(backend, ["agent-1", "agent-2"], state="absent")
    assert [(e["agent_id"], e["mode"]) for e in snapshot.filters] == [
        ("machine:agent-1/127.0.0.1", DOWN),
        ("machine:agent-2/127.0.0.1", DOWN),
    ]
    assert set(outcomes.values()) == {UNFILTERED}
    assert master.schedule() == {"windows": [foreign_window(GHOST)]}
    assert master.get("/master/maintenance/status") == {"draining_machines": [{"id": GHOST}]}
    assert backend.filters_after(snapshot.filters) == []
    assert ids["agent-1"] not in master.ids().values()  # the agents do not come back by themselves


def test_down_refuses_a_machine_taken_out_of_the_schedule(master, client):
    backend = ScheduleBackend(client)
    plan, _, _ = take_out(backend, ["agent-1"])
    master.set_schedule()
    with pytest.raises(Exception, match=r"cannot mark agent-1 \(127.0.0.1\) DOWN: not in the maintenance schedule"):
        backend.mark_down(plan.add)


def test_status_report(master, client, cluster):
    ids = master.ids()
    cluster.launch_tasks(ids["agent-1"], 1)
    backend = ScheduleBackend(client, window_duration=60)
    take_out(backend, ["agent-1"])
    cluster.respond_inverse_offer(ids["agent-1"], "ACCEPT")
    backend.read()
    report = backend.report(ids["agent-1"])
    assert report["mode"] == DRAINING and report["window"]["duration"] == 60.0
    assert [(a["framework_id"], a["status"]) for a in report["inverse_offers"]] == [(cluster.framework.id, "ACCEPT")]
    assert backend.report(ids["agent-2"]) == {
        "machine": master.machines()["agent-2"],
        "mode": UP,
        "window": None,
        "inverse_offers": [],
    }
    slaves = {s["hostname"]: s for s in master.get("/master/state-summary")["slaves"]}
    assert (backend.remaining(slaves["agent-1"]), backend.remaining(slaves["agent-2"])) == ("1 active", None)
