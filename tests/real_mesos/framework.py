"""A tiny framework over Mesos' v1 HTTP scheduler API, to run command tasks (`sleep N` and the like)
on the real cluster (harness.py) and watch what becomes of them.

    with SleepFramework(mesos.url) as framework:
        [task] = framework.launch(seconds=30, agent_id=agent)
        framework.wait_for_state(task, "TASK_RUNNING")

It SUBSCRIBEs to `/master/api/v1/scheduler` (local mode has no unprefixed `/api/v1`) with the
MULTI_ROLE and TASK_KILLING_STATE capabilities, reads the RecordIO event stream on a thread of
its own, ACCEPTs offers with one LAUNCH per task it still has to place (optionally on one agent),
DECLINEs the rest for a second, SUPPRESSes offers while it has nothing to place and REVIVEs when
it has, and ACKNOWLEDGEs every status update that carries a uuid (the master keeps a terminal
task until its update is acknowledged, and an agent cannot become DRAINED before that). It keeps
every update and every offer it saw. With `replace_killed=True` it launches a task again,
anywhere, once it is reported TASK_KILLED (drained or killed), or lost or dropped (an offer
accepted just as its agent was deactivated: Mesos drops the launch), as the scheduler of a service
would: the replacement's `replaces` names the task it stands in for, and it has the same name
and labels (a task's name, by default its id, and its labels are how a service's instances are
told apart from other services': the maintenance's budgets group tasks by them). With
`unique_hosts=True` it never puts two live tasks of one name on one agent, as Marathon's
`hostname:UNIQUE` constraint does for an app's instances. It keeps the inverse offers it gets (for
its agents on a DRAINING machine) and, with `inverse_offer_answer`, ACCEPTs or DECLINEs them. TEARDOWN on
`stop()` ends its tasks. The harness' own framework in launcher.py is a different one: it
suppresses offers for good.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import pwd
import threading
import time
from dataclasses import dataclass, field

import requests

from .mesos_v1 import TERMINAL_STATES, records

DECLINE_SECONDS = 1.0
# The ends of a task that the cluster, not the task, decided: a service's scheduler launches it again.
REPLACED_STATES = frozenset({"TASK_KILLED", "TASK_LOST", "TASK_DROPPED", "TASK_GONE"})


class FrameworkError(Exception):
    """The master refused a call, the event stream ended, or a wait ran out; says which."""


@dataclass
class Task:
    """A task this framework asked for: where it runs and every state it was reported in."""

    task_id: str
    command: str
    cpus: float
    mem: float
    agent_id: str | None = None  # the agent it must run on, then the one it was launched on
    grace_period: float | None = None  # its kill policy, in seconds
    name: str | None = None  # TaskInfo.name; None: the task id
    labels: dict[str, str] | None = None  # TaskInfo.labels, as key: value
    launched: bool = False
    replaces: str | None = None  # with replace_killed: the killed task this one stands in for
    updates: list[dict] = field(default_factory=list)  # TaskStatus objects, oldest first

    @property
    def states(self) -> list[str]:
        return [u["state"] for u in self.updates]

    @property
    def state(self) -> str | None:
        return self.updates[-1]["state"] if self.updates else None


class SleepFramework:
    def __init__(
        self,
        master_url: str,
        name: str = "mesos-maintenance-sleep",
        role: str = "*",
        auth: tuple[str, str] | None = None,
        user: str | None = None,
        replace_killed: bool = False,
        unique_hosts: bool = False,
        inverse_offer_answer: str | None = None,
    ):
        self.master_url = master_url.rstrip("/")
        self.endpoint = f"{self.master_url}/master/api/v1/scheduler"
        self.name = name
        self.role = role
        self.unique_hosts = unique_hosts
        self.user = user or pwd.getpwuid(os.geteuid()).pw_name
        self.session = requests.Session()
        self.session.auth = auth
        self.framework_id: str | None = None
        self.stream_id: str | None = None
        self.tasks: dict[str, Task] = {}
        self.offers: list[dict] = []  # every offer received, with `received` (time.monotonic()) added
        self.inverse_offers: list[dict] = []  # every inverse offer received (agents on DRAINING machines)
        # "ACCEPT" or "DECLINE" answers each inverse offer so; None leaves them unanswered.
        self.inverse_offer_answer = inverse_offer_answer
        self.errors: list[str] = []
        self.suppressed = False
        self.replace_killed = replace_killed
        self._ids = itertools.count(1)
        self._lock = threading.Condition()
        self._response: requests.Response | None = None
        self._reader: threading.Thread | None = None
        self._closed = False

    # --- life cycle -----------------------------------------------------------------------------
    def __enter__(self) -> SleepFramework:
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def start(self, timeout: float = 30.0) -> SleepFramework:
        call = {
            "type": "SUBSCRIBE",
            "subscribe": {
                "framework_info": {
                    "user": self.user,
                    "name": self.name,
                    "roles": [self.role],
                    "capabilities": [{"type": "MULTI_ROLE"}, {"type": "TASK_KILLING_STATE"}],
                }
            },
        }
        response = self.session.post(
            self.endpoint, json=call, headers={"Accept": "application/json"}, stream=True, timeout=(10, None)
        )
        if response.status_code != 200:
            raise FrameworkError(f"SUBSCRIBE answered {response.status_code}: {response.text}")
        self._response = response
        self.stream_id = response.headers["Mesos-Stream-Id"]
        self._reader = threading.Thread(target=self._read_events, name="sleep-framework-events", daemon=True)
        self._reader.start()
        self._wait(lambda: self.framework_id is not None, timeout, "the SUBSCRIBED event")
        return self

    def stop(self):
        """TEARDOWN (the master kills this framework's tasks) and close the stream."""
        if self._closed:
            return
        self._closed = True
        if self.framework_id is not None:
            with contextlib.suppress(requests.RequestException, FrameworkError):
                self._call("TEARDOWN")
        if self._response is not None:
            self._response.close()
        if self._reader is not None:
            self._reader.join(timeout=10)
        self.session.close()

    # --- what tests use -------------------------------------------------------------------------
    def launch(
        self,
        count: int = 1,
        seconds: float = 60,
        command: str | None = None,
        agent_id: str | None = None,
        cpus: float = 0.1,
        mem: float = 32,
        grace_period: float | None = None,
        name: str | None = None,
        labels: dict[str, str] | None = None,
    ) -> list[str]:
        """Queue `count` tasks running `command` (default `sleep <seconds>`), on `agent_id` if
        given; they launch on the next fitting offers. Each is called `name` (default: its id)
        and carries `labels`. Returns their ids."""
        ids = []
        with self._lock:
            for _ in range(count):
                task_id = f"{self.name}-{next(self._ids)}"
                self.tasks[task_id] = Task(
                    task_id,
                    command or f"sleep {seconds:g}",
                    cpus,
                    mem,
                    agent_id=agent_id,
                    grace_period=grace_period,
                    name=name,
                    labels=dict(labels) if labels else None,
                )
                ids.append(task_id)
        self.revive()
        return ids

    def kill(self, task_id: str):
        task = self.tasks[task_id]
        self._call("KILL", {"kill": {"task_id": {"value": task_id}, "agent_id": {"value": task.agent_id}}})

    def revive(self):
        with self._lock:
            self.suppressed = False
        self._call("REVIVE", {"revive": {"roles": [self.role]}})

    def wait_for_state(self, task_ids, states, timeout: float = 60.0):
        """Wait until every task in `task_ids` (one id or several) has reached one of `states`."""
        ids = [task_ids] if isinstance(task_ids, str) else list(task_ids)
        wanted = {states} if isinstance(states, str) else set(states)

        def reached() -> bool:
            ended = [i for i in ids if self.tasks[i].state in TERMINAL_STATES - wanted]
            if ended:  # it will never get there
                raise FrameworkError(f"waiting for {sorted(wanted)}: {ended} ended {self._last_words(ended)}")
            return all(self.tasks[i].state in wanted for i in ids)

        self._wait(reached, timeout, f"{sorted(wanted)} for {ids} (now {[self.tasks[i].state for i in ids]})")

    def _last_words(self, ids: list[str]) -> list[tuple]:
        return [(self.tasks[i].state, self.tasks[i].updates[-1].get("message")) for i in ids]

    def offers_from(self, agent_id: str, since: float = 0.0) -> list[dict]:
        with self._lock:
            return [o for o in self.offers if o["agent_id"]["value"] == agent_id and o["received"] >= since]

    def wait_for_offer(self, agent_id: str, since: float, timeout: float = 30.0) -> dict:
        """Wait for an offer from `agent_id` received after `since` (time.monotonic())."""
        self._wait(lambda: self.offers_from(agent_id, since), timeout, f"an offer from agent {agent_id}")
        return self.offers_from(agent_id, since)[0]

    # --- plumbing -------------------------------------------------------------------------------
    def _wait(self, condition, timeout: float, what: str):
        deadline = time.monotonic() + timeout
        with self._lock:
            while not condition():
                remaining = deadline - time.monotonic()
                if self.errors:
                    raise FrameworkError(f"waiting for {what}: {self.errors[-1]}")
                if remaining <= 0:
                    raise FrameworkError(f"no {what} within {timeout} s")
                self._lock.wait(min(remaining, 0.5))

    def _call(self, kind: str, body: dict | None = None):
        call = {"type": kind, "framework_id": {"value": self.framework_id}, **(body or {})}
        response = self.session.post(self.endpoint, json=call, headers={"Mesos-Stream-Id": self.stream_id}, timeout=10)
        if response.status_code != 202:
            raise FrameworkError(f"{kind} answered {response.status_code}: {response.text}")

    def _read_events(self):
        try:
            for record in records(self._response.iter_content(chunk_size=None)):
                self._on_event(json.loads(record))
            reason = "the master closed the event stream"
        except FrameworkError as exc:  # a call made for an event (ACCEPT, ACKNOWLEDGE, ...) failed
            reason = str(exc)
        except Exception as exc:
            # stop() closes the response under this thread: urllib3 then fails in ways of its own.
            reason = f"the event stream broke: {type(exc).__name__}: {exc}"
        with self._lock:
            if not self._closed:
                self.errors.append(reason)
            self._lock.notify_all()

    def _on_event(self, event: dict):
        kind = event["type"]
        if kind == "SUBSCRIBED":
            with self._lock:
                self.framework_id = event["subscribed"]["framework_id"]["value"]
                self._lock.notify_all()
        elif kind == "OFFERS":
            self._on_offers(event["offers"]["offers"])
        elif kind == "INVERSE_OFFERS":  # for agents on a DRAINING machine (maintenance schedule)
            self._on_inverse_offers(event["inverse_offers"]["inverse_offers"])
        elif kind == "UPDATE":
            self._on_update(event["update"]["status"])
        elif kind in ("ERROR", "FAILURE"):
            with self._lock:
                self.errors.append(f"{kind}: {event}")
                self._lock.notify_all()
        # HEARTBEAT, RESCIND and the rest need nothing.

    def _on_offers(self, offers: list[dict]):
        now = time.monotonic()
        for offer in offers:
            with self._lock:
                self.offers.append({**offer, "received": now})
                self._lock.notify_all()
                infos = self._place(offer)
            if infos:
                operations = [{"type": "LAUNCH", "launch": {"task_infos": infos}}]
                self._call("ACCEPT", {"accept": {"offer_ids": [offer["id"]], "operations": operations}})
            else:
                filters = {"refuse_seconds": DECLINE_SECONDS}
                self._call("DECLINE", {"decline": {"offer_ids": [offer["id"]], "filters": filters}})
        with self._lock:
            idle = all(t.launched for t in self.tasks.values()) and not self.suppressed
            self.suppressed = self.suppressed or idle
        if idle:
            self._call("SUPPRESS", {"suppress": {"roles": [self.role]}})

    def _on_inverse_offers(self, inverse_offers: list[dict]):
        with self._lock:
            self.inverse_offers += inverse_offers
            self._lock.notify_all()
        if self.inverse_offer_answer is not None:
            kind = f"{self.inverse_offer_answer}_INVERSE_OFFERS"
            ids = [offer["id"] for offer in inverse_offers]
            self._call(kind, {kind.lower(): {"inverse_offer_ids": ids}})

    def _place(self, offer: dict) -> list[dict]:
        """TaskInfos for the waiting tasks that fit in `offer` (called with the lock held)."""
        agent_id = offer["agent_id"]["value"]
        free = {r["name"]: r["scalar"]["value"] for r in offer["resources"] if r.get("type") == "SCALAR"}
        allocation = next((r["allocation_info"] for r in offer["resources"] if "allocation_info" in r), None)
        infos = []
        for task in self.tasks.values():
            if task.launched or task.agent_id not in (None, agent_id):
                continue
            if free.get("cpus", 0) < task.cpus or free.get("mem", 0) < task.mem:
                continue
            if self.unique_hosts and task.name and self._runs(agent_id, task.name):
                continue
            free["cpus"] -= task.cpus
            free["mem"] -= task.mem
            task.launched, task.agent_id = True, agent_id
            infos.append(self._task_info(task, offer["agent_id"], allocation))
        return infos

    def _runs(self, agent_id: str, name: str) -> bool:
        """Whether a task called `name` is launched on `agent_id` and not over (called with the lock held)."""
        return any(
            t.launched and t.agent_id == agent_id and t.name == name and t.state not in TERMINAL_STATES
            for t in self.tasks.values()
        )

    @staticmethod
    def _task_info(task: Task, agent_id: dict, allocation: dict | None) -> dict:
        resources = []
        for name, value in (("cpus", task.cpus), ("mem", task.mem)):
            resource = {"name": name, "type": "SCALAR", "scalar": {"value": value}}
            if allocation is not None:
                resource["allocation_info"] = allocation
            resources.append(resource)
        info = {
            "name": task.name or task.task_id,
            "task_id": {"value": task.task_id},
            "agent_id": agent_id,
            "resources": resources,
            "command": {"shell": True, "value": task.command},
        }
        if task.labels:
            info["labels"] = {"labels": [{"key": k, "value": v} for k, v in task.labels.items()]}
        if task.grace_period is not None:
            info["kill_policy"] = {"grace_period": {"nanoseconds": int(task.grace_period * 1e9)}}
        return info

    def replacement(self, task_id: str) -> str | None:
        """The id of the task launched in place of `task_id` (replace_killed), if any."""
        with self._lock:
            return next((t.task_id for t in self.tasks.values() if t.replaces == task_id), None)

    def _on_update(self, status: dict):
        task_id = status["task_id"]["value"]
        with self._lock:
            task = self.tasks.get(task_id)
            if task is not None:
                task.updates.append(status)
            replace = (
                self.replace_killed
                and task is not None
                and status["state"] in REPLACED_STATES
                and not any(t.replaces == task_id for t in self.tasks.values())  # an update may come twice
            )
            if replace:
                new_id = f"{self.name}-{next(self._ids)}"
                self.tasks[new_id] = Task(
                    new_id,
                    task.command,
                    task.cpus,
                    task.mem,
                    grace_period=task.grace_period,
                    name=task.name,
                    labels=task.labels,
                    replaces=task_id,
                )
            self._lock.notify_all()
        if replace:
            self.revive()
        if "uuid" in status:
            acknowledge = {"agent_id": status["agent_id"], "task_id": status["task_id"], "uuid": status["uuid"]}
            self._call("ACKNOWLEDGE", {"acknowledge": acknowledge})
