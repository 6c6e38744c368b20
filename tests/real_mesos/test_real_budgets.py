"""Disruption budgets on a real Mesos 1.11.0 cluster: a rolling maintenance that plans its batches
so that no service ever has more than `agent_maintenance_max_unavailable_per_group` of its tasks
out of service, checked from outside by watching the master's own tasks the whole time.

A service here is a group of tasks with one name (and labels saying so), run by framework.py
with `replace_killed=True`: a drained task is launched again elsewhere under the same name, as a
service's scheduler would. RunningTasks asks the master (v1 GET_TASKS) every second how many
tasks of each service are TASK_RUNNING; a task being killed (TASK_KILLING) or not yet started
again is out of service.

The tasks ignore SIGTERM, so a drain takes its whole grace period to end them (2 s here): like a
real service shutting down, and long enough that a sample a second falls into every dip. A polite
`sleep` is replaced within a quarter of a second of its kill, between two samples; the framework's
own status updates (lowest_running) catch those dips too.
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from mesos_sim.waiting import wait_until
from real_mesos.framework import SleepFramework
from real_mesos.test_real_rolling_maintenance import STEP, native_drain_inventory, run_rolling_maintenance
from real_mesos.test_real_tasks import STUBBORN, operator_call, v1_agent

AGENTS = 6
SERIAL = 3
MAX_UNAVAILABLE = 1
# Where each service's instances start, by index into the agents' sorted hostnames. Plain serial
# batching (agent-1..3, then agent-4..6) takes 3 web and 2 api tasks at once, and batches of 2
# would take 2 of each; only a plan that keeps each batch to one task of each service (at least
# four batches: web is on four agents) stays within a budget of 1. agent-6 runs nothing.
SERVICES = {"web": [0, 1, 2, 3], "api": [0, 1, 4], "db": [2, 3]}
BATCH_LINE = re.compile(r"^batch (\d+) \(([^)]*)\): ")


@dataclass(frozen=True)
class Sample:
    """What the master had running at one moment."""

    at: float  # time.monotonic()
    running: dict[str, int]  # group (task name) -> its tasks in TASK_RUNNING
    agents: dict[str, list[str]]  # group -> the agent of each of those tasks, sorted


class RunningTasks:
    """Samples the master's tasks (v1 GET_TASKS) every `interval` seconds on a thread of its own,
    from entering the `with` block to leaving it, and keeps every Sample (`samples`).

        with RunningTasks(mesos, framework_id) as sampler:
            ...
        low = [s for s in sampler.samples if s.running.get("web", 0) < 3]

    Tasks group by name; only `framework_id`'s count, if given. A call that fails is kept in
    `errors`, and leaving the block raises (unless something else already does): a sample missed
    is a moment nobody checked.
    """

    def __init__(self, mesos, framework_id: str | None = None, interval: float = 1.0):
        self.mesos = mesos
        self.framework_id = framework_id
        self.interval = interval
        self.samples: list[Sample] = []
        self.errors: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> RunningTasks:
        self.sample()  # at once: a master that does not answer fails here, not at the end
        self._thread = threading.Thread(target=self._run, name="running-tasks-sampler", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, exc_type, *exc):
        self._stop.set()
        self._thread.join(timeout=30)
        if exc_type is None and self.errors:
            raise AssertionError(f"{len(self.errors)} GET_TASKS call(s) failed, first: {self.errors[0]}")

    def _run(self):
        started = time.monotonic()
        ticks = 1
        while not self._stop.wait(max(0.0, started + ticks * self.interval - time.monotonic())):
            try:
                self.sample()
            except Exception as exc:  # kept for __exit__; the thread carries on
                with self._lock:
                    self.errors.append(f"{type(exc).__name__}: {exc}")
            # After a slow call, the next tick that is still ahead: no burst of catch-up samples.
            ticks = max(ticks + 1, int((time.monotonic() - started) / self.interval) + 1)

    def sample(self) -> Sample:
        """Take one sample now (besides the thread's), keep it and return it."""
        at = time.monotonic()
        tasks = operator_call(self.mesos, {"type": "GET_TASKS"})["get_tasks"].get("tasks", [])
        running: dict[str, int] = {}
        agents: dict[str, list[str]] = {}
        for task in tasks:
            if task["state"] != "TASK_RUNNING":
                continue
            if self.framework_id is not None and task["framework_id"]["value"] != self.framework_id:
                continue
            running[task["name"]] = running.get(task["name"], 0) + 1
            agents.setdefault(task["name"], []).append(task["agent_id"]["value"])
        sample = Sample(at, running, {name: sorted(ids) for name, ids in agents.items()})
        with self._lock:
            self.samples.append(sample)
        return sample


def get_tasks(mesos) -> list[dict]:
    """The master's tasks, running and completed (v1 GET_TASKS)."""
    answer = operator_call(mesos, {"type": "GET_TASKS"})["get_tasks"]
    return answer.get("tasks", []) + answer.get("completed_tasks", [])


def lowest_running(framework: SleepFramework, since: float) -> dict[str, tuple[int, float]]:
    """For each task name: the fewest of its tasks TASK_RUNNING at once from `since` on (time.time(),
    as the status updates' `timestamp`s are), and when; from every update the framework received,
    so no dip is too short for it. Two changes at the same instant count a start first."""
    changes: list[tuple[float, int, str]] = []
    for task in framework.tasks.values():
        running = False
        for update in task.updates:
            if (update["state"] == "TASK_RUNNING") != running:
                running = not running
                changes.append((update["timestamp"], 1 if running else -1, task.name or task.task_id))
    count: dict[str, int] = {}
    lowest: dict[str, tuple[int, float]] = {}
    for at, delta, name in sorted(changes, key=lambda c: (c[0], -c[1])):
        if at >= since:
            lowest.setdefault(name, (count.get(name, 0), since))  # what it had at `since`
        count[name] = count.get(name, 0) + delta
        if at >= since and count[name] < lowest[name][0]:
            lowest[name] = (count[name], at)
    # A name with no change after `since` ran all along at its count then.
    return {name: lowest.get(name, (count[name], since)) for name in count}


def test_named_labelled_tasks_show_in_get_tasks_and_their_replacements_keep_both(real_mesos):
    """What the budget test counts on: the master reports a task's name and labels as launched,
    the replacement of a killed task has the same, and RunningTasks counts by name."""
    labels = {"service": "web", "tier": "front"}
    with SleepFramework(real_mesos.url, replace_killed=True) as framework:
        web = framework.launch(2, seconds=612, name="web", labels=labels)
        [other] = framework.launch(seconds=613)  # unnamed: its name is its id
        framework.wait_for_state([*web, other], "TASK_RUNNING")
        with RunningTasks(real_mesos, framework.framework_id) as sampler:
            tasks = {t["task_id"]["value"]: t for t in get_tasks(real_mesos)}
            for task_id in web:
                assert tasks[task_id]["name"] == "web"
                assert tasks[task_id]["labels"] == {
                    "labels": [{"key": "service", "value": "web"}, {"key": "tier", "value": "front"}]
                }
            assert tasks[other]["name"] == other
            assert "labels" not in tasks[other]
            first = sampler.samples[0]
            assert first.running == {"web": 2, other: 1}
            assert first.agents["web"] == sorted(framework.tasks[i].agent_id for i in web)

            framework.kill(web[0])
            framework.wait_for_state(web[0], "TASK_KILLED")
            replacement = wait_until(lambda: framework.replacement(web[0]), what="a replacement")
            framework.wait_for_state(replacement, "TASK_RUNNING")
            tasks = {t["task_id"]["value"]: t for t in get_tasks(real_mesos)}
            assert (tasks[web[0]]["state"], tasks[web[0]]["name"]) == ("TASK_KILLED", "web")
            assert (tasks[replacement]["state"], tasks[replacement]["name"]) == ("TASK_RUNNING", "web")
            assert tasks[replacement]["labels"] == tasks[web[0]]["labels"]
            assert framework.tasks[replacement].labels == labels
            wait_until(lambda: sampler.sample().running == {"web": 2, other: 1}, what="web back at 2")
        assert [s.at for s in sampler.samples] == sorted(s.at for s in sampler.samples)


@pytest.fixture
def cluster(real_mesos_factory):
    # fresh: this test drains every agent of its cluster.
    return real_mesos_factory(agents=AGENTS, agent_hostname_prefix="agent", fresh=True)


def test_rolling_maintenance_with_budgets_keeps_every_service_within_its_budget(cluster, tmp_path):
    by_id = cluster.agent_hostnames
    hostnames = sorted(by_id.values())
    assert len(set(hostnames)) == AGENTS, by_id
    id_of = {hostname: agent_id for agent_id, hostname in by_id.items()}
    inventory = native_drain_inventory(cluster, tmp_path, hostnames)
    instances = {name: len(places) for name, places in SERVICES.items()}
    # hostname:UNIQUE, as a service's instances are usually placed: an agent running two instances of one service
    # could never be taken out under a budget of 1.
    with SleepFramework(cluster.url, replace_killed=True, unique_hosts=True) as framework:
        originals = [
            task_id
            for name, places in SERVICES.items()
            for n in places
            for task_id in framework.launch(
                command=STUBBORN.format(seconds=3600),
                agent_id=id_of[hostnames[n]],
                name=name,
                labels={"service": name},
            )
        ]
        framework.wait_for_state(originals, "TASK_RUNNING")
        since = time.time()

        with RunningTasks(cluster, framework.framework_id) as sampler:
            assert sampler.samples[0].running == instances
            run = run_rolling_maintenance(
                tmp_path,
                inventory,
                {
                    "mesos_maintenance_agents": "mesos_agents",
                    "mesos_maintenance_serial": SERIAL,
                    "mesos_maintenance_batching": "budget",
                    "agent_maintenance_max_unavailable_per_group": MAX_UNAVAILABLE,
                    "agent_maintenance_group_by": "task",
                    "agent_maintenance_recovery_timeout": 120,
                    "mesos_maintenance_tasks_file": str(STEP),
                    "mesos_maintenance_registration_timeout": 60,
                    "real_framework_id": framework.framework_id,
                },
            )
            assert run.rc == 0, run.output
            # The last batch's tasks come back after the run: the budget holds until they have.
            try:
                wait_until(lambda: sampler.sample().running == instances, timeout=60, what="every service whole")
            except TimeoutError:
                states = {t.task_id: (t.name, t.agent_id, t.states) for t in framework.tasks.values()}
                raise AssertionError(
                    f"not every service back at {instances}: {sampler.samples[-1]}; tasks: {states}"
                ) from None

        # At every sample, every service had at most MAX_UNAVAILABLE tasks out of service.
        start = sampler.samples[0].at
        short = [
            (round(s.at - start, 1), name, s.running.get(name, 0), [by_id[a] for a in s.agents.get(name, [])])
            for s in sampler.samples
            for name, count in instances.items()
            if s.running.get(name, 0) < count - MAX_UNAVAILABLE
        ]
        assert not short, (
            f"{len(short)} time(s) a service was below its budget of {MAX_UNAVAILABLE} unavailable "
            f"(seconds in, service, running, on): first {short[:6]}; batches {run.summary[1:]}"
        )
        # Nor between two samples, by the framework's own status updates.
        lowest = lowest_running(framework, since)
        assert all(lowest[name][0] >= count - MAX_UNAVAILABLE for name, count in instances.items()), lowest

        summary = run.summary
        assert re.match(
            rf"done: \d+ batch\(es\), {AGENTS} agent\(s\) restored, 0 failed, 0 not started; leader ", summary[0]
        ), summary
        assert summary[0].endswith("; backend native"), summary
        batches = [m.group(2).split(", ") for m in map(BATCH_LINE.match, summary[1:]) if m]
        assert sorted(h for batch in batches for h in batch) == hostnames, summary  # each agent once
        assert all(len(batch) <= SERIAL for batch in batches), summary
        for line in summary[1:]:
            if BATCH_LINE.match(line):
                assert "): restored in " in line and ", drained in " in line, summary
        # What the step saw from inside each batch (it asserted it too, or the run would have failed). An agent the
        # budget deferred (a task moved onto it after the plan) is in the play's batch but in service, and is taken
        # by a later batch.
        views = [r["msg"] for r in run.tasks("What the batch looks like") if r.get("_status") == "ok"]
        drained = [[row["hostname"] for row in view if row["in_batch"] and row["deactivated"]] for view in views]
        assert drained == [sorted(b) for b in batches], views

        # Nothing left out of service, in the ledger either: no agent kept out, no hold, no unfinished run.
        ledger = json.loads(Path(tmp_path / "held-agents.json").read_text())
        assert (ledger["agents"], ledger["holds"], ledger["runs"]) == ({}, {}, {}), ledger
        for agent_id in by_id:
            agent = v1_agent(cluster, agent_id)
            assert (agent["active"], agent["deactivated"], "drain_info" in agent) == (True, False, False), agent
