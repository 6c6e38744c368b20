"""Real tasks on the real Mesos 1.11.0 cluster: our `mesos-containerizer` and command executor
stand-ins (containerizer.py, executor.py) under real agents, tasks launched by framework.py over
the v1 scheduler API, and the master's own account of them.

Each test checks the master's view (`/master/state`, `/master/state-summary`, v1 GET_AGENTS)
besides the updates the framework received, and where a process must be gone, /proc.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from mesos_sim.waiting import wait_until
from real_mesos.framework import SleepFramework
from real_mesos.harness import RealMesos

RUN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "run.py")
# Each test's `sleep` has a duration no other test uses (601, 602, ...): /proc tells its processes apart.
# A task that ignores SIGTERM: only the SIGKILL at the end of its grace period ends it.
STUBBORN = "trap '' TERM; sleep {seconds}"


def operator_call(mesos, call: dict) -> dict | None:
    status, _, body = mesos.request(
        "POST", "/master/api/v1", body=json.dumps(call), headers={"Content-Type": "application/json"}
    )
    assert status == 200, (call["type"], status, body)
    return json.loads(body) if body else None


def v1_agent(mesos, agent_id: str) -> dict:
    agents = operator_call(mesos, {"type": "GET_AGENTS"})["get_agents"]["agents"]
    return next(a for a in agents if a["agent_info"]["id"]["value"] == agent_id)


def master_json(mesos, path: str) -> dict:
    status, _, body = mesos.request("GET", path)
    assert status == 200, (path, status)
    return json.loads(body)


def framework_summary(mesos, framework_id: str) -> dict:
    frameworks = master_json(mesos, "/master/state-summary")["frameworks"]
    return next(f for f in frameworks if f["id"] == framework_id)


def agent_summary(mesos, agent_id: str) -> dict:
    return next(s for s in master_json(mesos, "/master/state-summary")["slaves"] if s["id"] == agent_id)


def master_tasks(mesos, framework_id: str) -> dict[str, dict]:
    """The master's tasks of one framework, running and completed, by id."""
    state = master_json(mesos, "/master/state")
    tasks = {}
    for framework in state["frameworks"] + state["completed_frameworks"]:
        if framework["id"] == framework_id:
            for task in framework["tasks"] + framework["completed_tasks"]:
                tasks[task["id"]] = task
    return tasks


def processes(argv: list[str]) -> list[int]:
    """Pids of the processes on this machine whose command line is exactly `argv`."""
    wanted = "\0".join(argv).encode() + b"\0"
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                if handle.read() == wanted:
                    found.append(int(pid))
        except OSError:
            continue  # it ended while we looked
    return found


def messages(framework: SleepFramework, task_id: str) -> list[tuple]:
    return [(u["state"], u.get("reason"), u.get("message")) for u in framework.tasks[task_id].updates]


def test_sleep_tasks_run_then_finish_on_their_own(real_mesos):
    with SleepFramework(real_mesos.url) as framework:
        ids = framework.launch(2, seconds=3)
        framework.wait_for_state(ids, "TASK_RUNNING")

        summary = framework_summary(real_mesos, framework.framework_id)
        assert summary["TASK_RUNNING"] == 2
        assert sum(agent_summary(real_mesos, a)["TASK_RUNNING"] for a in summary["slave_ids"]) >= 2
        assert {t["state"] for t in master_tasks(real_mesos, framework.framework_id).values()} == {"TASK_RUNNING"}

        framework.wait_for_state(ids, "TASK_FINISHED")
        for task_id in ids:
            assert framework.tasks[task_id].states == ["TASK_STARTING", "TASK_RUNNING", "TASK_FINISHED"]
            assert messages(framework, task_id)[-1] == ("TASK_FINISHED", None, "Command exited with status 0")
            assert {u["source"] for u in framework.tasks[task_id].updates} == {"SOURCE_EXECUTOR"}
        wait_until(lambda: framework_summary(real_mesos, framework.framework_id)["TASK_FINISHED"] == 2, what="FINISHED")
        summary = framework_summary(real_mesos, framework.framework_id)
        assert summary["TASK_RUNNING"] == 0
        tasks = master_tasks(real_mesos, framework.framework_id)
        assert {task_id: t["state"] for task_id, t in tasks.items()} == dict.fromkeys(ids, "TASK_FINISHED")


def test_failing_command_is_task_failed(real_mesos):
    with SleepFramework(real_mesos.url) as framework:
        [task_id] = framework.launch(command="echo failing on purpose >&2; exit 3")
        framework.wait_for_state(task_id, "TASK_FAILED")
        assert messages(framework, task_id)[-1] == ("TASK_FAILED", None, "Command exited with status 3")
        wait_until(lambda: framework_summary(real_mesos, framework.framework_id)["TASK_FAILED"] == 1, what="FAILED")


def test_kill_ends_the_task_and_its_process_within_its_kill_policy(real_mesos):
    with SleepFramework(real_mesos.url) as framework:
        [polite] = framework.launch(seconds=601)
        [stubborn] = framework.launch(command=STUBBORN.format(seconds=608), grace_period=1)
        framework.wait_for_state([polite, stubborn], "TASK_RUNNING")
        # TASK_RUNNING comes once the command is forked; it may take a moment more to exec.
        wait_until(lambda: processes(["sleep", "601"]) and processes(["sleep", "608"]), what="the tasks' processes")
        framework.kill(polite)
        framework.kill(stubborn)
        framework.wait_for_state([polite, stubborn], "TASK_KILLED")
        assert messages(framework, polite)[-2:] == [
            ("TASK_KILLING", None, None),
            ("TASK_KILLED", None, "Command terminated with signal Terminated"),
        ]
        assert messages(framework, stubborn)[-1] == ("TASK_KILLED", None, "Command terminated with signal Killed")
        # The shell that ran the stubborn `sleep` is gone; the sleep, SIGKILLed with it, a moment later.
        wait_until(
            lambda: processes(["sleep", "601"]) == processes(["sleep", "608"]) == [], what="end of the processes"
        )
    # The executor took the task's kill policy (1 s), not its default of 3 s.
    assert "SIGTERM to the task's process group, SIGKILL in 1 s" in real_mesos.log()


def test_teardown_shuts_the_executors_down(real_mesos):
    framework = SleepFramework(real_mesos.url).start()
    try:
        ids = framework.launch(2, command=STUBBORN.format(seconds=602))
        framework.wait_for_state(ids, "TASK_RUNNING")
        wait_until(lambda: len(processes(["sleep", "602"])) == 2, what="the tasks' processes")
    finally:
        framework.stop()
    # The agent sends SHUTDOWN; the executors SIGTERM, then SIGKILL what ignores it, and exit.
    wait_until(lambda: processes(["sleep", "602"]) == [], what="end of the tasks' processes")
    tasks = master_tasks(real_mesos, framework.framework_id)
    assert {t["state"] for t in tasks.values()} == {"TASK_KILLED"}


def test_stopping_the_cluster_ends_its_tasks(real_mesos_installation):
    mesos = RealMesos(agents=1).start()
    framework = SleepFramework(mesos.url).start()
    try:
        ids = framework.launch(seconds=610) + framework.launch(command=STUBBORN.format(seconds=611))
        framework.wait_for_state(ids, "TASK_RUNNING")
        wait_until(lambda: processes(["sleep", "610"]) and processes(["sleep", "611"]), what="the tasks' processes")
    finally:
        mesos.stop()  # no TEARDOWN first: the executors see their agent go and end their tasks
        framework.stop()
    wait_until(lambda: processes(["sleep", "610"]) == processes(["sleep", "611"]) == [], what="end of the processes")


def test_drain_kills_the_tasks_after_the_grace_period_then_reactivate_brings_offers_back(real_mesos_factory):
    mesos = real_mesos_factory(agents=2, fresh=True)  # this test drains an agent
    drained, other = mesos.agent_ids
    with SleepFramework(mesos.url) as framework:
        [polite] = framework.launch(seconds=603, agent_id=drained)
        [stubborn] = framework.launch(command=STUBBORN.format(seconds=604), agent_id=drained)
        [elsewhere] = framework.launch(seconds=605, agent_id=other)
        framework.wait_for_state([polite, stubborn, elsewhere], "TASK_RUNNING")
        # Once `sleep` runs, the stubborn task's shell has set its trap.
        wait_until(lambda: all(processes(["sleep", str(s)]) for s in (603, 604, 605)), what="the tasks' processes")
        assert agent_summary(mesos, drained)["TASK_RUNNING"] == 2

        # v1 DrainAgent.max_grace_period is a google.protobuf.Duration: {"seconds", "nanos"}.
        drain = {"agent_id": {"value": drained}, "max_grace_period": {"seconds": 5}}
        assert operator_call(mesos, {"type": "DRAIN_AGENT", "drain_agent": drain}) is None
        framework.wait_for_state(stubborn, "TASK_KILLING")
        agent = v1_agent(mesos, drained)
        assert agent["drain_info"] == {
            "state": "DRAINING",
            "config": {"max_grace_period": {"nanoseconds": 5_000_000_000}, "mark_gone": False},
        }
        assert agent["deactivated"] is True
        assert framework.tasks[stubborn].state == "TASK_KILLING"  # still alive: it was DRAINING meanwhile

        framework.wait_for_state([polite, stubborn], "TASK_KILLED")
        assert messages(framework, polite)[-2:] == [
            ("TASK_KILLING", "REASON_AGENT_DRAINING", None),
            ("TASK_KILLED", "REASON_AGENT_DRAINING", "Command terminated with signal Terminated"),
        ]
        # SIGTERM did not end it; the SIGKILL at the end of the grace period did.
        assert messages(framework, stubborn)[-1] == (
            "TASK_KILLED",
            "REASON_AGENT_DRAINING",
            "Command terminated with signal Killed",
        )
        wait_until(
            lambda: processes(["sleep", "603"]) == processes(["sleep", "604"]) == [], what="end of the processes"
        )
        wait_until(lambda: v1_agent(mesos, drained)["drain_info"]["state"] == "DRAINED", what="DRAINED")
        assert agent_summary(mesos, drained)["TASK_RUNNING"] == 0
        assert agent_summary(mesos, drained)["TASK_KILLED"] == 2
        assert framework.tasks[elsewhere].state == "TASK_RUNNING"  # draining is per agent
        assert agent_summary(mesos, other)["TASK_RUNNING"] == 1

        # A drained agent gets no offers: a task that must run there waits while the other
        # agent's offers keep coming (and are declined).
        since = time.monotonic()
        [returning] = framework.launch(seconds=606, agent_id=drained)
        framework.wait_for_offer(other, since)
        assert framework.offers_from(drained, since) == []
        assert framework.tasks[returning].state is None

        assert (
            operator_call(mesos, {"type": "REACTIVATE_AGENT", "reactivate_agent": {"agent_id": {"value": drained}}})
            is None
        )
        framework.wait_for_state(returning, "TASK_RUNNING")
        assert framework.offers_from(drained, since)
        agent = v1_agent(mesos, drained)
        assert agent["deactivated"] is False
        assert "drain_info" not in agent
        assert agent_summary(mesos, drained)["TASK_RUNNING"] == 1


def test_drain_grace_period_in_the_duration_info_form_is_read_as_zero(real_mesos_factory):
    """`{"nanoseconds": N}` (DurationInfo, the form GET_AGENTS reports it in) is not what
    DRAIN_AGENT takes: Mesos ignores the unknown field and drains with a grace period of 0 s."""
    mesos = real_mesos_factory(agents=1, fresh=True)  # this test drains its agent
    [agent_id] = mesos.agent_ids
    with SleepFramework(mesos.url) as framework:
        [stubborn] = framework.launch(command=STUBBORN.format(seconds=609), grace_period=30)
        framework.wait_for_state(stubborn, "TASK_RUNNING")
        wait_until(lambda: processes(["sleep", "609"]), what="the task's process")
        drain = {"agent_id": {"value": agent_id}, "max_grace_period": {"nanoseconds": 30_000_000_000}}
        assert operator_call(mesos, {"type": "DRAIN_AGENT", "drain_agent": drain}) is None
        framework.wait_for_state(stubborn, "TASK_KILLED")
        assert messages(framework, stubborn)[-1][2] == "Command terminated with signal Killed"
        assert v1_agent(mesos, agent_id)["drain_info"]["config"]["max_grace_period"] == {"nanoseconds": 0}
    # The agent passed the executor a kill policy of 0 s, overriding the task's own 30 s.
    assert "SIGTERM to the task's process group, SIGKILL in 0 s" in mesos.log()


def test_run_script_starts_sleep_tasks_for_a_person(real_mesos_installation, tmp_path):
    state_file = tmp_path / "state.json"
    process = subprocess.Popen(
        [
            sys.executable,
            RUN,
            "--agents",
            "2",
            "--tasks",
            "3",
            "--task-seconds",
            "607",
            "--state-file",
            str(state_file),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        wait_until(lambda: state_file.exists() or process.poll() is not None, what="state file", timeout=90)
        assert process.poll() is None, process.communicate()
        info = json.loads(state_file.read_text())
        assert len(info["tasks"]) == 3
        assert {t["state"] for t in info["tasks"]} == {"TASK_RUNNING"}
        assert {t["agent_id"] for t in info["tasks"]} == {a["id"] for a in info["agents"]}  # spread over both
        wait_until(lambda: len(processes(["sleep", "607"])) == 3, what="the tasks' processes")
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        _, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    wait_until(lambda: processes(["sleep", "607"]) == [], what="end of the tasks' processes")


@pytest.mark.parametrize("flag", ["--rootfs=/srv/image", "--tty_slave_path=/dev/pts/9"])
def test_executor_refuses_what_it_cannot_do(flag):
    executor = os.path.join(os.path.dirname(os.path.abspath(__file__)), "executor.py")
    result = subprocess.run([executor, flag], capture_output=True, text=True, timeout=30)
    assert result.returncode == 1
    assert "is not supported by this stand-in" in result.stderr
