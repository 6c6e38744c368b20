# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""mesos.maintenance.offer_filter, offer_filter_info and offer_filter_hold with backend=schedule (Mesos' maintenance
schedule, issue 15) against simulated Mesos clusters without an allocator module, through real module runs over real
HTTP. The backend's calls alone, with other writers stepping in mid-conversation: test_schedule_backend.py."""

from __future__ import annotations

import json
import time

import pytest
import requests
from conftest import assert_failed, assert_ok, four_steps, module_task, offer_filter, offer_filter_info
from schedule_helpers import GHOST, HOUR_NS, foreign_window

from mesos_sim.waiting import wait_until

SCHEDULE = "/master/maintenance/schedule"
STATUS = "/master/maintenance/status"
HOLD = "mesos.maintenance.offer_filter_hold"


@pytest.fixture
def sched(cluster_factory):
    """A Mesos 1.11.0 master without an allocator module, with agents agent-1/2/3.example.com (one machine each,
    every simulated agent's pid is on 127.0.0.1)."""
    return cluster_factory(masters=1, agents=3, build=None, version="1.11.0")


def get(cluster, path):
    response = requests.get(cluster.leader_url + path, timeout=5)
    assert response.status_code == 200, response.text
    return response.json()


def set_schedule(cluster, *windows):
    response = requests.post(cluster.leader_url + SCHEDULE, data=json.dumps({"windows": list(windows)}), timeout=5)
    assert response.status_code == 200, response.text


def machine(agent):
    return {"hostname": agent["hostname"], "ip": "127.0.0.1"}


def schedule_posts(cluster) -> int:
    return sum(1 for entry in cluster.request_log if entry[1:] == ("POST", SCHEDULE))


def down_hostnames(cluster) -> list[str]:
    return sorted(m["hostname"] for m in get(cluster, STATUS).get("down_machines", []))


def schedule_task(cluster, **args):
    args.setdefault("backend", "schedule")
    return offer_filter(cluster, **args)


def lines(agents):
    return "".join(f"{line}\n" for line in sorted(f"{a['id']} {a['hostname']}" for a in agents))


# --- present, idempotence, check mode, absent ---------------------------------------------------------------------


def test_present_keeps_someone_elses_window_and_writes_once(run_tasks, sched):
    agents = sched.agents
    theirs = foreign_window(GHOST)
    set_schedule(sched, theirs)
    sched.reset_log()

    def nothing_written():
        assert get(sched, SCHEDULE) == {"windows": [theirs]}

    def scheduled():
        windows = get(sched, SCHEDULE)["windows"]
        assert windows[0] == theirs  # verbatim
        assert [w["machine_ids"] for w in windows[1:]] == [[machine(agents[0]), machine(agents[1])]]  # ONE window
        assert windows[1]["unavailability"]["duration"] == {"nanoseconds": 600 * 1_000_000_000}

    task = schedule_task(sched, hostname=[agents[0]["hostname"], agents[1]["hostname"]], window_duration=600)
    check, real, check_again, again = four_steps(run_tasks, task, nothing_written, scheduled)
    assert schedule_posts(sched) == 1  # the real run only, for both machines

    wanted = [agents[0]["id"], agents[1]["id"]]
    for result in (check, real, again):
        assert result["backend"] == "schedule"
    assert check["added"] == real["added"] == wanted
    assert real["removed"] == [] and again["added"] == []
    assert sorted((f["agent_id"], f["hostname"], f["machine"]["ip"], f["mode"]) for f in real["filters"]) == [
        (a["id"], a["hostname"], "127.0.0.1", "DRAINING") for a in agents[:2]
    ]
    assert check["filters"] == real["filters"] == again["filters"]
    assert real["actions"] == [f"scheduled maintenance for {a['hostname']} ({a['id']})" for a in agents[:2]]
    assert check["actions"] == [f"would schedule maintenance for {a['hostname']} ({a['id']})" for a in agents[:2]]
    assert again["msg"] == "the filters are already as requested"
    # diff: the agents whose machine is in the schedule (GHOST has no agent)
    assert check["diff"]["before"] == "" and check["diff"]["after"] == lines(agents[:2])
    assert check["diff"]["after_header"].endswith(f"{SCHEDULE} (after)")
    assert check_again["diff"]["before"] == check_again["diff"]["after"] == lines(agents[:2])


def test_absent_takes_the_machines_out_and_keeps_the_foreign_window(run_tasks, sched):
    agents = sched.agents
    theirs = foreign_window(GHOST, machine(agents[2]))
    set_schedule(sched, theirs, foreign_window(machine(agents[0]), machine(agents[1]), start=2_000_000_000_000))
    sched.reset_log()
    task = schedule_task(sched, state="absent", agent_id=[agents[0]["id"]], hostname=[agents[1]["hostname"]])
    check, real, _, again = four_steps(
        run_tasks,
        task,
        verify_before=lambda: None,
        verify_after=lambda: None,
    )
    assert get(sched, SCHEDULE) == {"windows": [theirs]}
    assert schedule_posts(sched) == 1
    assert check["removed"] == real["removed"] == [agents[0]["id"], agents[1]["id"]]
    assert real["actions"] == [f"ended maintenance for {a['hostname']} ({a['id']})" for a in agents[:2]]
    assert [f["hostname"] for f in real["filters"]] == [agents[2]["hostname"]]
    assert again["removed"] == [] and again["msg"] == "the filters are already as requested"


def test_a_machine_in_someone_elses_window_is_reported_and_left_there(run_tasks, sched):
    agents = sched.agents
    theirs = foreign_window(GHOST, machine(agents[2]))
    set_schedule(sched, theirs)
    result = run_tasks(schedule_task(sched, hostname=[agents[0]["hostname"], agents[2]["hostname"]])).result
    assert_ok(result, changed=True)
    assert result["added"] == [agents[0]["id"]]
    windows = get(sched, SCHEDULE)["windows"]
    assert windows == [theirs, windows[1]] and windows[1]["machine_ids"] == [machine(agents[0])]
    assert result["left_alone"] == [
        {
            "agent_id": agents[2]["id"],
            "hostname": agents[2]["hostname"],
            "machine": machine(agents[2]),
            "window": {"start": 1000.0, "duration": 3600.0},
        }
    ]
    assert sorted(f["hostname"] for f in result["filters"]) == [agents[0]["hostname"], agents[2]["hostname"]]
    assert not result.get("warnings"), result["warnings"]  # nothing unusual: their window was there before the task


def engine_task(step, cluster, tmp_path, **args):
    """A step of the maintenance engine (what the role runs: drain, restore), with the schedule backend."""
    ledger = str(tmp_path / "ledger.json")
    module = f"mesos.maintenance.maintenance_{step}"
    return module_task(module, cluster, step, backend="schedule", run_id="r1", ledger_file=ledger, **args)


def maintenance_drain(cluster, tmp_path, **args):
    return engine_task("drain", cluster, tmp_path, **args)


@pytest.mark.parametrize("task", [schedule_task, maintenance_drain])
def test_what_another_writer_did_during_the_change_is_a_warning(run_tasks, sched, tmp_path, task):
    """Someone takes their own machine out of the schedule right after our write: not ours to undo; said, by
    offer_filter and by the maintenance engine alike."""
    agent = sched.agents[0]
    set_schedule(sched, foreign_window(GHOST))
    sched.inject(SCHEDULE, count=3)  # the read, the read right before the write, the write
    sched.inject(SCHEDULE, latency=2, count=1)  # the read that checks the write
    sched.reset_log()
    args = {"tmp_path": tmp_path, "wait": False} if task is maintenance_drain else {}
    pending = run_tasks(task(sched, hostname=[agent["hostname"]], **args), background=True)
    # (Watched in the log, not over HTTP: a GET of ours would take the faults.)
    wait_until(lambda: [t for _, _, t in sched.request_log].count(SCHEDULE) == 4, timeout=60, what="the check")
    with sched.state.lock:
        ours = sched.state.maintenance.schedule["windows"][1]
    set_schedule(sched, ours)
    result = pending.wait().result
    assert_ok(result, changed=True)
    assert result["added"] == [agent["id"]]
    assert [w["machine_ids"] for w in get(sched, SCHEDULE)["windows"]] == [[machine(agent)]]
    assert result["warnings"] == [
        "someone else took other.example (10.9.9.9) out of the maintenance schedule meanwhile."
    ], result["warnings"]


def test_the_restore_of_a_batch_is_one_schedule_write(run_tasks, sched, tmp_path):
    theirs = foreign_window(GHOST)
    set_schedule(sched, theirs)
    hostnames = [agent["hostname"] for agent in sched.agents[:2]]
    assert_ok(run_tasks(maintenance_drain(sched, tmp_path, hostname=hostnames, wait=False)).result, changed=True)
    assert len(get(sched, SCHEDULE)["windows"]) == 2
    restore = engine_task("restore", sched, tmp_path, hostname=hostnames)
    for attempt in range(2):
        sched.reset_log()
        result = run_tasks(restore).result
        assert_ok(result, changed=attempt == 0)
        assert schedule_posts(sched) == 1 - attempt
        assert [(a["hostname"], a["outcome"]) for a in result["agents"]] == [
            (host, "restored" if attempt == 0 else "not_filtered") for host in hostnames
        ]
        assert get(sched, SCHEDULE) == {"windows": [theirs]}


def test_auto_on_mesos_1_0_chooses_schedule_with_a_warning(run_tasks, cluster_factory):
    cluster = cluster_factory(masters=1, agents=2, build=None, version="1.0.1")
    agent = cluster.agents[0]
    result = run_tasks(offer_filter(cluster, hostname=[agent["hostname"]])).result
    assert_ok(result, changed=True)
    assert result["backend"] == "schedule"
    assert any("backend=auto chose schedule" in w for w in result["warnings"]), result["warnings"]
    assert [w["machine_ids"] for w in get(cluster, SCHEDULE)["windows"]] == [[machine(agent)]]


# --- wait and down ----------------------------------------------------------------------------------------------------


def test_wait_then_down_then_up(run_tasks, sched):
    agents = sched.agents
    busy, idle = agents[0], agents[1]
    sched.launch_tasks(busy["id"], count=2)
    theirs = foreign_window(GHOST)
    set_schedule(sched, theirs)
    hostnames = [busy["hostname"], idle["hostname"]]
    task = schedule_task(sched, hostname=hostnames, wait=True, down=True, wait_sleep=0.2, wait_timeout=60)
    pending = run_tasks(task, background=True)
    wait_until(lambda: len(get(sched, SCHEDULE).get("windows", [])) == 2, timeout=60, what="our window")
    time.sleep(0.5)
    assert down_hostnames(sched) == []  # not while tasks run
    sched.finish_tasks(busy["id"])
    result = pending.wait().result
    assert_ok(result, changed=True)
    assert down_hostnames(sched) == sorted(hostnames)
    assert any(
        "down=true: 2 machine(s) marked DOWN" in w and "shuts their agents down" in w for w in result["warnings"]
    )
    assert result["actions"][-1] == f"marked DOWN {busy['hostname']} (127.0.0.1), {idle['hostname']} (127.0.0.1)"
    assert result["active_tasks"] == {busy["id"]: 0, idle["id"]: 0}
    assert {a["id"] for a in sched.agents} == {agents[2]["id"]}  # the DOWN machines' agents are gone

    # Again, with the machines DOWN and their agents gone: nothing to do, and no failure.
    again = run_tasks(task).result
    assert_ok(again, changed=False)
    assert again["added"] == [] and down_hostnames(sched) == sorted(hostnames)
    assert sorted((f["hostname"], f["mode"]) for f in again["filters"]) == [(h, "DOWN") for h in hostnames]
    assert not any("no longer registered" in w or "down=true" in w for w in again.get("warnings") or []), again

    # By the old agent id: the master forgot it; the message says to use the hostname.
    by_id = run_tasks(schedule_task(sched, agent_id=[busy["id"]], wait=True, down=True)).result
    assert_failed(
        by_id, "unknown agent", busy["id"], "are DOWN", busy["hostname"], "name them by hostname", "nothing was changed"
    )

    gone = run_tasks(schedule_task(sched, state="absent", agent_id=[busy["id"]])).result
    assert_ok(gone, changed=False)
    assert any("nothing to remove" in w and "name them by hostname" in w for w in gone["warnings"]), gone["warnings"]

    # state=absent by hostname brings the machines up and takes them out of the schedule.
    up = run_tasks(schedule_task(sched, state="absent", hostname=hostnames)).result
    assert_ok(up, changed=True)
    assert down_hostnames(sched) == []
    assert get(sched, SCHEDULE) == {"windows": [theirs]}
    assert get(sched, STATUS) == {"draining_machines": [{"id": GHOST}]}
    assert_ok(run_tasks(schedule_task(sched, state="absent", hostname=hostnames)).result, changed=False)


def test_wait_times_out_without_marking_down(run_tasks, sched):
    agent = sched.agents[0]
    sched.launch_tasks(agent["id"], count=1)
    result = run_tasks(
        schedule_task(sched, agent_id=[agent["id"]], wait=True, down=True, wait_sleep=0.2, wait_timeout=1)
    ).result
    assert_failed(result, "timed out after 1s", f"({agent['id']}): 1 active")
    assert result["added"] == [agent["id"]]
    assert down_hostnames(sched) == []
    assert sched.active_tasks(agent["id"]) == 1


def test_down_in_check_mode_is_predicted_only(run_tasks, sched):
    agent = sched.agents[0]
    result = run_tasks(schedule_task(sched, agent_id=[agent["id"]], wait=True, down=True), check=True).result
    assert_ok(result, changed=True)
    assert result["actions"] == [
        f"would schedule maintenance for {agent['hostname']} ({agent['id']})",
        f"would mark DOWN {agent['hostname']} (127.0.0.1)",
    ]
    assert any("down=true: 1 machine(s) would be marked DOWN" in w for w in result["warnings"]), result["warnings"]
    assert get(sched, SCHEDULE) == {} and down_hostnames(sched) == []


# --- refused before anything changes ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, fragments",
    [
        ({"backend": "schedule", "down": True}, ["down=true needs wait=true"]),
        ({"backend": "native", "window_duration": 60}, ["window_duration: only with backend=schedule"]),
        ({"backend": "native", "down": True, "wait": True}, ["down: only with backend=schedule"]),
        ({"backend": "schedule", "window_duration": 0}, ["window_duration must be a positive, finite number"]),
        ({"backend": "schedule", "window_duration": -5}, ["window_duration must be a positive, finite number"]),
        ({"backend": "schedule", "window_duration": "nan"}, ["window_duration must be a positive, finite number"]),
        ({"backend": "schedule", "window_duration": "inf"}, ["window_duration must be a positive, finite number"]),
        (
            {"backend": "schedule", "state": "absent", "window_duration": 60},
            ["window_duration applies to state=present"],
        ),
    ],
    ids=["down-without-wait", "duration-native", "down-native", "zero", "negative", "nan", "inf", "absent"],
)
def test_refused_before_any_change(run_tasks, sched, args, fragments):
    sched.reset_log()
    result = run_tasks(offer_filter(sched, hostname=[sched.agents[0]["hostname"]], **args)).result
    assert_failed(result, *fragments)
    assert result["changed"] is False
    assert get(sched, SCHEDULE) == {}
    assert not any(method == "POST" for _, method, _ in sched.request_log)


# --- offer_filter_info ------------------------------------------------------------------------------------------------


def test_info_reports_modes_windows_and_inverse_offer_answers(run_tasks, sched):
    agents = sched.agents
    sched.launch_tasks(agents[0]["id"], count=1)
    set_schedule(sched, foreign_window(machine(agents[0]), machine(agents[1]), start=5_000_000_000, duration=HOUR_NS))
    requests.post(sched.leader_url + "/master/machine/down", data=json.dumps([machine(agents[1])]), timeout=5)
    sched.respond_inverse_offer(agents[0]["id"], "DECLINE")
    result = run_tasks(offer_filter_info(sched, backend="schedule")).result
    assert_ok(result, changed=False)
    assert result["backend"] == "schedule"
    reports = {a["hostname"]: a for a in result["agents"]}
    assert sorted(reports) == [agents[0]["hostname"], agents[2]["hostname"]]  # agent-2's machine is DOWN
    draining = reports[agents[0]["hostname"]]["maintenance"]
    assert draining["mode"] == "DRAINING" and draining["machine"] == machine(agents[0])
    assert draining["window"] == {"start": 5.0, "duration": 3600.0}
    assert [(a["framework_id"], a["status"]) for a in draining["inverse_offers"]] == [(sched.framework.id, "DECLINE")]
    assert isinstance(draining["inverse_offers"][0]["timestamp"], float)
    assert reports[agents[0]["hostname"]]["filtered"] is True
    assert reports[agents[2]["hostname"]]["maintenance"] == {
        "machine": machine(agents[2]),
        "mode": "UP",
        "window": None,
        "inverse_offers": [],
    }
    assert reports[agents[2]["hostname"]]["filtered"] is False
    assert sorted((f["hostname"], f["mode"]) for f in result["filters"]) == [
        (agents[0]["hostname"], "DRAINING"),
        (agents[1]["hostname"], "DOWN"),
    ]


# --- offer_filter_hold ------------------------------------------------------------------------------------------------


def test_hold_schedules_again_a_machine_taken_out_within_two_intervals(run_tasks, sched, tmp_path):
    agents = sched.agents
    release = tmp_path / "release"
    release.write_text("")
    interval = 2.0
    task = module_task(
        HOLD,
        sched,
        "hold",
        backend="schedule",
        hostname=[agents[0]["hostname"]],
        release_file=str(release),
        interval=interval,
        hold_timeout=120,
    )
    pending = run_tasks(task, background=True)
    try:
        wait_until(lambda: "holding" in release.read_text(), 60, what="the hold's first look")
        assert [w["machine_ids"] for w in get(sched, SCHEDULE)["windows"]] == [[machine(agents[0])]]
        set_schedule(sched, foreign_window(GHOST))  # someone takes it out
        taken_out = time.monotonic()
        wait_until(
            lambda: machine(agents[0]) in [m for w in get(sched, SCHEDULE)["windows"] for m in w["machine_ids"]],
            60,
            interval=0.05,
            what="the machine back in the schedule",
        )
        back_after = time.monotonic() - taken_out
    finally:
        release.unlink()
    result = pending.wait(timeout=120).result
    assert_ok(result, changed=True)
    assert back_after <= 2 * interval, f"scheduled again {back_after:.1f} s after it was taken out"
    assert get(sched, SCHEDULE)["windows"][0] == foreign_window(GHOST)  # theirs kept
    assert result["backend"] == "schedule"
    assert [r["reason"] for r in result["reasserted"]] == ["not filtered when the hold started", "filter lost"]
