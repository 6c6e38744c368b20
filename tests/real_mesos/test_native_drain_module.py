"""`mesos.maintenance.offer_filter` with backend=native drains a real Mesos 1.11.0 agent that runs
tasks, through `ansible-playbook`, and `state=absent` brings it back.

What only a real agent with real tasks shows: whether the master read the module's
`drain_grace_period` at all. DRAIN_AGENT's `max_grace_period` is a google.protobuf.Duration;
a field it does not know (the `{"nanoseconds": N}` that GET_AGENTS reports it in) is ignored
and the agent drains with 0 s, SIGKILLing every task at once. A task that ignores SIGTERM tells
the two apart: with the grace period honoured it ends by the SIGKILL at its end, after the task
that obeyed SIGTERM, and the executor logs the kill policy the agent passed it.
"""

from __future__ import annotations

from mesos_sim.waiting import wait_until
from real_mesos.framework import SleepFramework
from real_mesos.test_real_tasks import STUBBORN, agent_summary, messages, processes, v1_agent

GRACE_SECONDS = 5
# Longer than the drain's grace period: the drain's must win (the agent takes the shorter one).
TASK_GRACE_SECONDS = 30


def test_drain_honours_the_grace_period_then_absent_reactivates(real_mesos_factory, run_offer_filter):
    mesos = real_mesos_factory(agents=2, fresh=True)  # this test drains an agent
    drained, other = mesos.agent_ids
    with SleepFramework(mesos.url) as framework:
        [polite] = framework.launch(seconds=621, agent_id=drained)
        [stubborn] = framework.launch(
            command=STUBBORN.format(seconds=622), agent_id=drained, grace_period=TASK_GRACE_SECONDS
        )
        [elsewhere] = framework.launch(seconds=623, agent_id=other)
        framework.wait_for_state([polite, stubborn, elsewhere], "TASK_RUNNING")
        # Once `sleep` runs, the stubborn task's shell has set its trap.
        wait_until(lambda: all(processes(["sleep", str(s)]) for s in (621, 622, 623)), what="the tasks' processes")

        result = run_offer_filter(
            mesos,
            backend="native",
            agent_id=[drained],
            drain=True,
            drain_grace_period=GRACE_SECONDS,
            wait=True,
            wait_sleep=0.2,
            wait_timeout=120,
        )
        assert result["changed"] is True
        assert result["added"] == [drained]
        assert result["filters"] == [
            {"agent_id": drained, "hostname": result["filters"][0]["hostname"], "drain_state": "DRAINED"}
        ]
        assert result["active_tasks"] == {drained: 0}

        # The master read the grace period the module sent.
        agent = v1_agent(mesos, drained)
        assert agent["drain_info"] == {
            "state": "DRAINED",
            "config": {"max_grace_period": {"nanoseconds": GRACE_SECONDS * 1_000_000_000}, "mark_gone": False},
        }
        assert agent["deactivated"] is True
        # The polite task ended by SIGTERM; the stubborn one outlived it and ended by the SIGKILL
        # at the end of the grace period (with 0 s both would be SIGKILLed at once).
        assert messages(framework, polite)[-2:] == [
            ("TASK_KILLING", "REASON_AGENT_DRAINING", None),
            ("TASK_KILLED", "REASON_AGENT_DRAINING", "Command terminated with signal Terminated"),
        ]
        assert messages(framework, stubborn)[-2:] == [
            ("TASK_KILLING", "REASON_AGENT_DRAINING", None),
            ("TASK_KILLED", "REASON_AGENT_DRAINING", "Command terminated with signal Killed"),
        ]
        killed = {task: framework.tasks[task].updates[-1]["timestamp"] for task in (polite, stubborn)}
        assert killed[polite] < killed[stubborn]
        # The agent passed the executors the drain's grace period, not the task's own 30 s nor 0 s.
        assert f"SIGTERM to the task's process group, SIGKILL in {GRACE_SECONDS} s" in mesos.log()
        assert "SIGKILL in 0 s" not in mesos.log()
        wait_until(
            lambda: processes(["sleep", "621"]) == processes(["sleep", "622"]) == [], what="end of the processes"
        )

        # Draining is per agent: the other agent's task runs on.
        assert framework.tasks[elsewhere].state == "TASK_RUNNING"
        assert agent_summary(mesos, other)["TASK_RUNNING"] == 1
        assert v1_agent(mesos, other)["deactivated"] is False

        result = run_offer_filter(mesos, backend="native", agent_id=[drained], state="absent")
        assert result["changed"] is True
        assert result["removed"] == [drained]
        agent = v1_agent(mesos, drained)
        assert agent["deactivated"] is False
        assert "drain_info" not in agent
        # Offers from it again: a task that must run there starts.
        [returning] = framework.launch(seconds=624, agent_id=drained)
        framework.wait_for_state(returning, "TASK_RUNNING")
        assert agent_summary(mesos, drained)["TASK_RUNNING"] == 1
        assert framework.tasks[elsewhere].state == "TASK_RUNNING"
