"""playbooks/rolling_maintenance.yml end to end on a real Mesos 1.11.0 cluster, while a framework runs sleep tasks
on the agents: with the native backend draining the agents (DRAIN_AGENT), and with the schedule backend putting their
machines into maintenance windows and waiting for the tasks to end.

The playbook maps inventory hosts to agents by hostname, so the agents get hostnames of their
own (`agent_hostname_prefix`; local mode would give them all the master's). The inventory is
those hostnames, reached with ansible_connection=local. The maintenance step (drained_batch.yml)
looks at the master from inside each batch and fails it unless the batch is deactivated and
DRAINED with no task of ours left on it while the other agents are in service; the framework
launches every killed task again, as a service's scheduler would, and the master must place the
new ones on agents that are in service. With the schedule backend the step is scheduled_batch.yml:
the batch's machines DRAINING with no task left, no other agent's machine in a window of ours.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from functional.maintenance_helpers import ANSIBLE_PLAYBOOK, ansible_env, collections_dir, finish_run
from functional.schedule_helpers import GHOST, Master, foreign_window

from mesos_sim.waiting import wait_until
from real_mesos.framework import SleepFramework
from real_mesos.test_real_tasks import framework_summary, v1_agent

AGENTS = 6
TASKS_PER_AGENT = 2
BATCH = 2
STEP = Path(__file__).resolve().parent / "drained_batch.yml"
SCHEDULED_STEP = Path(__file__).resolve().parent / "scheduled_batch.yml"


def write_inventory(path: Path, hostnames: list[str], **variables) -> Path:
    data = {
        "all": {
            "vars": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable, **variables},
            "children": {"mesos_agents": {"hosts": dict.fromkeys(hostnames)}},
        }
    }
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def run_rolling_maintenance(root: Path, inventory: Path, extra_vars: dict, timeout: float = 600):
    """ansible-playbook mesos.maintenance.rolling_maintenance, as the functional tests run it."""
    results = root / "results.json"
    extra = root / "extra.json"
    extra.write_text(json.dumps(extra_vars))
    command = [ANSIBLE_PLAYBOOK, "-i", str(inventory), "mesos.maintenance.rolling_maintenance", "-e", f"@{extra}"]
    started = time.monotonic()
    env = ansible_env(root, collections_dir(root / "collections"), results)
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return finish_run(proc, results, started, timeout)


def run_batches(root: Path, inventory: Path, framework: SleepFramework, step: Path):
    """The rolling maintenance of the inventory's agents, BATCH at a time, `step` being the maintenance of each batch;
    asserts that it succeeded. Returns the run and what the step saw in each batch."""
    run = run_rolling_maintenance(
        root,
        inventory,
        {
            "mesos_maintenance_agents": "mesos_agents",
            "mesos_maintenance_serial": BATCH,
            "mesos_maintenance_tasks_file": str(step),
            "mesos_maintenance_registration_timeout": 60,
            "real_framework_id": framework.framework_id,
        },
    )
    assert run.rc == 0, run.output
    return run, [r["msg"] for r in run.tasks("What the batch looks like") if r.get("_status") == "ok"]


def running_tasks(mesos, framework_id: str) -> int:
    return framework_summary(mesos, framework_id)["TASK_RUNNING"]


@pytest.fixture
def cluster(real_mesos_factory):
    # fresh: this test drains every agent of its cluster.
    return real_mesos_factory(agents=AGENTS, agent_hostname_prefix="agent", fresh=True)


def quick_inventory(cluster, tmp_path: Path, hostnames: list[str], **variables) -> Path:
    """The inventory of `hostnames` for a rolling maintenance of `cluster` that looks often, with the ledger in
    `tmp_path` and at most half the agents out."""
    return write_inventory(
        tmp_path / "inventory.yml",
        hostnames,
        mesos_master_url=cluster.url,
        agent_maintenance_max_filtered="50%",
        agent_maintenance_memory_file=str(tmp_path / "held-agents.json"),
        agent_maintenance_wait_sleep=0.2,
        agent_maintenance_wait_timeout=60,
        agent_maintenance_registration_sleep=0.2,
        agent_maintenance_hold_interval=0.5,
        **variables,
    )


def native_drain_inventory(cluster, tmp_path: Path, hostnames: list[str]) -> Path:
    """Drains with DRAIN_AGENT, grace period 2 s."""
    return quick_inventory(
        cluster,
        tmp_path,
        hostnames,
        agent_maintenance_backend="native",
        agent_maintenance_drain=True,
        agent_maintenance_drain_grace_period=2,
    )


def test_rolling_maintenance_drains_batch_by_batch_while_tasks_move(cluster, tmp_path):
    by_id = cluster.agent_hostnames
    hostnames = sorted(by_id.values())
    assert len(set(hostnames)) == AGENTS, by_id
    inventory = native_drain_inventory(cluster, tmp_path, hostnames)
    with SleepFramework(cluster.url, replace_killed=True) as framework:
        originals = [
            task_id
            for n in range(AGENTS * TASKS_PER_AGENT)
            for task_id in framework.launch(seconds=3600, agent_id=list(by_id)[n % AGENTS])
        ]
        framework.wait_for_state(originals, "TASK_RUNNING")

        run, views = run_batches(tmp_path, inventory, framework, STEP)

        # What the step saw from inside each batch (it asserted it too, or the run would have failed).
        batches = [hostnames[n : n + BATCH] for n in range(0, AGENTS, BATCH)]
        assert [[row["hostname"] for row in view if row["in_batch"]] for view in views] == batches
        for view in views:
            for row in view:
                if row["in_batch"]:
                    assert (row["deactivated"], row["drain_state"], row["tasks"]) == (True, "DRAINED", []), view
                else:
                    assert (row["active"], row["deactivated"], row["drain_state"]) == (True, False, "none"), view

        summary = run.summary
        assert summary[0].startswith(
            f"done: {len(batches)} batch(es), {AGENTS} agent(s) restored, 0 failed, 0 not started; leader "
        ), summary
        assert summary[0].endswith("; backend native"), summary
        for number, batch in enumerate(batches, 1):
            assert summary[number].startswith(f"batch {number} ({', '.join(batch)}): restored in "), summary
            assert ", drained in " in summary[number], summary
        # nothing left out of service, in the ledger either: no agent kept out, no hold, no unfinished run
        ledger = json.loads(Path(tmp_path / "held-agents.json").read_text())
        assert (ledger["agents"], ledger["holds"], ledger["runs"]) == ({}, {}, {}), ledger

        # Afterwards every agent is back in service, as the master has it.
        for agent_id in by_id:
            agent = v1_agent(cluster, agent_id)
            assert (agent["active"], agent["deactivated"], "drain_info" in agent) == (True, False, False), agent
        # Every agent was drained, so every first task was killed by its drain...
        for task_id in originals:
            last = framework.tasks[task_id].updates[-1]
            assert (last["state"], last.get("reason")) == ("TASK_KILLED", "REASON_AGENT_DRAINING"), last
        # ...and each killed task was launched again, on an agent in service at the time: never the
        # agent it was killed on, which was still deactivated.
        killed = [t for t in framework.tasks.values() if t.state == "TASK_KILLED"]
        for task in killed:
            replacement = framework.tasks[framework.replacement(task.task_id)]
            wait_until(lambda r=replacement: r.agent_id is not None, what=f"a launch of {replacement.task_id}")
            assert replacement.agent_id != task.agent_id, (task, replacement)
        # The service is whole again: as many tasks running as at the start.
        try:
            wait_until(lambda: running_tasks(cluster, framework.framework_id) == len(originals), timeout=120)
        except TimeoutError:
            states = {t.task_id: (t.agent_id, t.states, t.replaces) for t in framework.tasks.values()}
            summary = framework_summary(cluster, framework.framework_id)
            raise AssertionError(f"not {len(originals)} tasks running again: {summary}; tasks: {states}") from None


def test_rolling_maintenance_with_the_schedule_waits_for_tasks_to_end(cluster, tmp_path):
    """backend=schedule: each batch's machines go into one window of ours while someone else's window stays as it
    was; DRAINING kills nothing, so each drain waits for the tasks of its batch to end (10 s longer each batch) and no
    task is killed; the restore takes the machines out of the schedule again."""
    by_id = cluster.agent_hostnames
    hostnames = sorted(by_id.values())
    batches = [hostnames[n : n + BATCH] for n in range(0, AGENTS, BATCH)]
    master = Master(cluster.url)
    theirs = foreign_window(GHOST)
    master.set_schedule(theirs)
    inventory = quick_inventory(
        cluster, tmp_path, hostnames, agent_maintenance_backend="schedule", agent_maintenance_window_duration=600
    )
    with SleepFramework(cluster.url) as framework:
        originals = [
            task_id
            for agent_id, hostname in by_id.items()
            for task_id in framework.launch(
                count=TASKS_PER_AGENT, seconds=20 + 10 * (hostnames.index(hostname) // BATCH), agent_id=agent_id
            )
        ]
        framework.wait_for_state(originals, "TASK_RUNNING")

        run, views = run_batches(tmp_path, inventory, framework, SCHEDULED_STEP)

        # What the step saw from inside each batch (it asserted it too, or the run would have failed): the batch's
        # machines and someone else's DRAINING, nothing DOWN, the batch's agents active with no task left.
        assert [[row["hostname"] for row in view["agents"] if row["in_batch"]] for view in views] == batches
        assert [view["draining"] for view in views] == [sorted([*batch, GHOST["hostname"]]) for batch in batches]
        for view in views:
            for row in view["agents"]:
                if row["in_batch"]:
                    assert (row["active"], row["draining"], row["tasks"]) == (True, True, []), view
                else:
                    assert (row["active"], row["draining"]) == (True, False), view
        # The tasks of the later batches, 10 s longer each, still ran while the first batch was maintained.
        assert [row["tasks"] for row in views[0]["agents"][BATCH:]] == [["TASK_RUNNING"] * TASKS_PER_AGENT] * (
            AGENTS - BATCH
        ), views[0]

        drains = run.tasks("Drain the agents of this batch")
        assert [d["backend"] for d in drains] == ["schedule"] * len(batches)
        # The first batch's tasks outlive the start of the run: its drain had to wait for them.
        assert drains[0]["waited"] > 0, drains[0]
        summary = run.summary
        assert summary[0].startswith(
            f"done: {len(batches)} batch(es), {AGENTS} agent(s) restored, 0 failed, 0 not started; leader "
        ), summary
        assert summary[0].endswith("; backend schedule"), summary
        ledger = json.loads(Path(tmp_path / "held-agents.json").read_text())
        assert (ledger["agents"], ledger["holds"], ledger["runs"]) == ({}, {}, {}), ledger

        # Every task ended by itself: DRAINING announces, it kills nothing.
        for task_id in originals:
            assert framework.tasks[task_id].state == "TASK_FINISHED", framework.tasks[task_id].states
        # Out of the schedule again, someone else's window as it was; every agent registered and active.
        assert master.schedule() == {"windows": [theirs]}
        status = master.get("/master/maintenance/status")
        assert [m["id"] for m in status.get("draining_machines", [])] == [GHOST], status
        for agent_id in by_id:
            agent = v1_agent(cluster, agent_id)
            assert (agent["active"], agent["deactivated"]) == (True, False), agent
