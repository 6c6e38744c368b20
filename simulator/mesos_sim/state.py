"""The cluster's shared model: masters, the elected leader, agents, frameworks, tasks and the
leader's allocator.

Everything here is plain data guarded by one lock; the HTTP layer renders it the way Mesos
does. Names follow Mesos (agent = "slave" on the wire, as Mesos 1.x still writes it).
"""

from __future__ import annotations

import itertools
import re
import threading
import time
import uuid
from dataclasses import dataclass, field

from . import draining, maintenance

# Task states a master counts as "active" (src/master/master.hpp, Framework::isActive...):
# these occupy resources on an agent and keep it from being drained.
ACTIVE_TASK_STATES = ("TASK_STAGING", "TASK_STARTING", "TASK_RUNNING", "TASK_KILLING")
TERMINAL_TASK_STATES = ("TASK_FINISHED", "TASK_KILLED", "TASK_FAILED", "TASK_LOST", "TASK_ERROR")
# The per-agent counters of /master/state-summary, in the order Mesos 1.x writes them
# (src/master/http.cpp, SlaveSummaryWriter / summarizeSlave).
SUMMARY_TASK_STATES = (
    "TASK_STAGING",
    "TASK_STARTING",
    "TASK_RUNNING",
    "TASK_KILLING",
    "TASK_FINISHED",
    "TASK_KILLED",
    "TASK_FAILED",
    "TASK_LOST",
    "TASK_ERROR",
)

AGENT_RESOURCES = {"cpus": 8.0, "mem": 32768.0, "disk": 102400.0, "gpus": 0.0, "ports": "[31000-32000]"}
TASK_RESOURCES = {"cpus": 0.5, "mem": 256.0, "disk": 0.0, "gpus": 0.0}


@dataclass
class Task:
    id: str
    name: str
    framework_id: str
    agent_id: str
    state: str
    started: float
    duration: float | None
    resources: dict = field(default_factory=lambda: dict(TASK_RESOURCES))
    # TaskInfo.labels as key -> value (a value of None is a Label without one); empty: no labels.
    labels: dict = field(default_factory=dict)
    app: str | None = None  # the id of the App it is an instance of, if any
    # Task.statuses: every status update the master saw, oldest first, as (state, timestamp).
    statuses: list = field(default_factory=list)


@dataclass
class Agent:
    id: str
    hostname: str
    port: int
    registered_time: float
    connected: bool = True
    reregistered_time: float | None = None
    resources: dict = field(default_factory=lambda: dict(AGENT_RESOURCES))
    tasks: dict = field(default_factory=dict)  # task id -> Task, active and terminal
    counts: dict = field(default_factory=lambda: dict.fromkeys(SUMMARY_TASK_STATES, 0))
    # Mesos 1.9+ DEACTIVATE_AGENT / DRAIN_AGENT (draining.py): kept in the master's registry.
    deactivated: bool = False
    drain_info: dict | None = None
    drain_start: float | None = None
    # SlaveInfo.attributes (the agent's --attributes): name -> str (TEXT) or float (SCALAR).
    attributes: dict = field(default_factory=dict)

    @property
    def pid(self) -> str:
        return f"slave(1)@127.0.0.1:{self.port}"

    @property
    def active(self) -> bool:
        """The master's `active`: connected and not deactivated by an operator."""
        return self.connected and not self.deactivated

    def active_tasks(self) -> list[Task]:
        return [t for t in self.tasks.values() if t.state in ACTIVE_TASK_STATES]

    def used(self) -> dict:
        used = {"cpus": 0.0, "mem": 0.0, "disk": 0.0, "gpus": 0.0}
        for task in self.active_tasks():
            for key in used:
                used[key] += task.resources.get(key, 0.0)
        return used


@dataclass
class Framework:
    id: str
    name: str
    registered_time: float
    target_tasks: int = 0  # how many plain tasks (task-N) its scheduler keeps running
    task_duration: float | None = None
    running: int = 0  # its active plain tasks, what target_tasks is measured against (apps keep their own count)
    completed: int = 0


# A Marathon app id path segment (Marathon's PathId validation: lower-case DNS labels joined by dots).
_APP_SEGMENT = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$")


def app_path(name: str) -> list[str]:
    """The segments of a Marathon app id: "web", "/web" and "/web/" are all the app "/web"."""
    segments = [s for s in name.strip().split("/") if s]
    if not segments or not all(_APP_SEGMENT.match(s) for s in segments):
        raise ValueError(f"invalid app id {name!r}: path segments of lower-case letters, digits, '-' and '.'")
    return segments


def app_id(name: str) -> str:
    """The absolute app id Marathon keeps: "web" -> "/web"."""
    return "/" + "/".join(app_path(name))


@dataclass
class App:
    """A service run as Marathon runs an app: `instances` tasks that its framework keeps active.

    Naming follows Marathon 1.x (mesosphere/marathon): the Mesos task name is the app id as a
    hostname (PathId.toHostname: segments reversed, joined by "."; "/web" -> "web") and the task id
    is `<PathId.safePath>.<time-based UUID>` (segments joined by "_"; TaskIdUtil / Task.Id). The
    app's labels become every task's TaskInfo.labels (TaskBuilder: set only when there are some).
    An instance that ends is put back in the launch queue and started again once `relaunch_delay`
    has passed (Marathon's backoffSeconds) on an agent that is offered: `queue` holds, per missing
    instance, when it may start and the agent it ended on (None for a first launch).
    """

    id: str  # absolute, e.g. "/prod/web"
    framework_id: str
    instances: int
    labels: dict
    relaunch_delay: float | None  # None: the cluster's default
    unique_hosts: bool  # the constraint ["hostname", "UNIQUE"]
    queue: list = field(default_factory=list)  # (not before, agent id to avoid or None)

    @property
    def task_name(self) -> str:
        return ".".join(reversed(app_path(self.id)))

    def new_task_id(self) -> str:
        return "_".join(app_path(self.id)) + "." + str(uuid.uuid1())


@dataclass
class MasterInfo:
    index: int
    id: str
    hostname: str
    port: int
    ip: str = "127.0.0.1"
    alive: bool = False
    start_time: float = 0.0

    @property
    def pid(self) -> str:
        return f"master@{self.ip}:{self.port}"

    @property
    def address(self) -> str:
        return f"{self.hostname}:{self.port}"


class Allocator:
    """The leading master's allocator: the agents it knows and which are deactivated.

    A "filter" of the Offer Filtering Allocator is nothing but the hierarchical allocator's
    deactivated flag (offer_filter_module.cpp calls deactivateSlave/activateSlave), so the master
    deactivating a disconnected agent makes it show up as filtered (master.cpp, disconnect()).
    """

    def __init__(self):
        self.agents: dict[str, str] = {}  # id -> hostname, in registration order
        self.deactivated: dict[str, None] = {}  # ordered set of ids
        # The frameworks' latest answers to the inverse offers for agents on DRAINING machines
        # (maintenance.py): agent id -> framework id -> (status, when).
        self.inverse_offers: dict[str, dict[str, tuple[str, float]]] = {}

    def add(self, agent_id: str, hostname: str, active: bool = True):
        self.agents[agent_id] = hostname
        if active:
            self.deactivated.pop(agent_id, None)
        else:
            self.deactivated[agent_id] = None

    def remove(self, agent_id: str):
        self.agents.pop(agent_id, None)
        self.deactivated.pop(agent_id, None)

    def activate(self, agent_id: str):
        self.deactivated.pop(agent_id, None)

    def deactivate(self, agent_id: str):
        if agent_id in self.agents:
            self.deactivated[agent_id] = None

    def first_match(self, agent_id: str, hostname: str) -> str | None:
        """The first agent (in the allocator's hash order) matching every non-empty attribute."""
        for aid, host in self.agents.items():
            if (not agent_id or aid == agent_id) and (not hostname or host == hostname):
                return aid
        return None

    def apply(self, deactivated):
        """applyFilters: the given agents deactivated, every other agent activated."""
        for agent_id in self.agents:
            if agent_id in deactivated:
                self.deactivate(agent_id)
            else:
                self.activate(agent_id)

    def filters(self) -> list[dict]:
        return [{"agentId": aid, "hostname": self.agents[aid]} for aid in self.deactivated]


def agent_attributes(attributes: dict | None) -> dict:
    """SlaveInfo attributes from name -> value: a string is a TEXT attribute, a number a SCALAR
    one, kept as a double as Mesos does ("cores:8" is 8.0). Ranges and sets are not simulated."""
    out = {}
    for name, value in (attributes or {}).items():
        if not isinstance(name, str) or not name:
            raise ValueError(f"attribute names are non-empty strings, not {name!r}")
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ValueError(f"attribute {name}: a string (TEXT) or a number (SCALAR), not {value!r}")
        out[name] = value if isinstance(value, str) else float(value)
    return out


def task_labels(labels: dict | None) -> dict:
    """Labels from key -> value; a value of None is a Label with only its (required) key."""
    out = {}
    for key, value in (labels or {}).items():
        if not isinstance(key, str) or not (value is None or isinstance(value, str)):
            raise ValueError(f"labels are string keys with string values (or None), not {key!r}: {value!r}")
        out[key] = value
    return out


class ClusterState:
    """What the masters share: the replicated registry (agents, frameworks) and the election."""

    def __init__(
        self,
        masters: int,
        build: str,
        version: str,
        persist: bool,
        task_duration: float | None,
        election_delay: float,
        hostname: str = "localhost",
        relaunch_delay: float = 0.0,
    ):
        self.lock = threading.RLock()
        self.build = build
        self.version = version
        self.persist = persist
        self.task_duration = task_duration
        self.election_delay = election_delay
        self.cluster_name = "mesos-sim"
        self.masters = [MasterInfo(i, str(uuid.uuid4()), hostname, 0) for i in range(masters)]
        self.leader: int | None = None
        self.elected_time = 0.0
        self.allocator = Allocator()  # replaced on each election: it lives in the leader's memory
        self.persisted_filters: list[dict] | None = None  # the later build's ZooKeeper node
        self.agents: dict[str, Agent] = {}
        self.recovered: dict[str, Agent] = {}  # in the registry, not (yet) re-registered
        self.removed: dict[str, Agent] = {}
        self.maintenance = maintenance.Registry()  # the schedule and the machines' modes
        self.frameworks: dict[str, Framework] = {}
        self.apps: dict[str, App] = {}  # by app id
        # Seconds before an app's ended instance is started again, unless the app sets its own
        # (0: on the next scheduler tick).
        self.relaunch_delay = relaunch_delay
        self._agent_seq = itertools.count(0)
        self._task_seq = itertools.count(1)
        self._agent_port = itertools.count(5051)
        self._agent_id_prefix = str(uuid.uuid4())
        self._election_timer: threading.Timer | None = None
        self.timed_tasks: dict[str, tuple[Agent, Task]] = {}

    # --- agents -------------------------------------------------------------------------
    def _new_agent_id(self) -> str:
        # Agent ids are "<master id>-S<n>" (master.cpp, Master::newSlaveId).
        return f"{self._agent_id_prefix}-S{next(self._agent_seq)}"

    def add_agent(self, hostname: str | None = None, attributes: dict | None = None) -> Agent:
        with self.lock:
            n = len(self.agents) + len(self.removed) + len(self.recovered) + 1
            hostname = hostname or f"agent-{n}.example.com"
            maintenance.refuse_registration(self, hostname)
            agent = Agent(
                id=self._new_agent_id(),
                hostname=hostname,
                port=next(self._agent_port),
                registered_time=time.time(),
                attributes=agent_attributes(attributes),
            )
            self.agents[agent.id] = agent
            if self.leader is not None:
                self._allocator_register(agent)
            return agent

    def _allocator_register(self, agent: Agent):
        self.allocator.add(agent.id, agent.hostname, active=agent.active)
        self._reapply_persisted()

    def set_attributes(self, agent_id: str, attributes: dict | None):
        """Give an agent these attributes (a test's set-up: a real agent only gets them from its
        --attributes flag when it registers)."""
        with self.lock:
            self.find_agent(agent_id).attributes = agent_attributes(attributes)

    def find_agent(self, agent_id: str) -> Agent:
        agent = self.agents.get(agent_id) or self.recovered.get(agent_id)
        if agent is None:
            raise KeyError(f"unknown agent {agent_id!r}")
        return agent

    def disconnect_agent(self, agent_id: str):
        """The agent's connection dropped: the master marks it inactive and deactivates it in
        the allocator (master.cpp, Master::disconnect -> deactivate), so it looks filtered."""
        with self.lock:
            agent = self.agents[agent_id]
            agent.connected = False
            self.allocator.deactivate(agent_id)

    def reregister_agent(self, agent_id: str):
        """The agent re-registered. With the leader that saw it go, the master re-activates it
        in the allocator, which drops a filter set on it, and the later build does not re-apply
        its stored set (master.cpp, reregisterSlave -> activateSlave). With a leader that did
        not know it (after a failover) it is an addSlave, which does re-apply the stored set."""
        with self.lock:
            maintenance.refuse_registration(self, self.find_agent(agent_id).hostname)
            agent = self.recovered.pop(agent_id, None)
            if agent is not None:
                self.agents[agent_id] = agent
            agent = self.agents[agent_id]
            agent.connected = True
            agent.reregistered_time = time.time()
            if self.leader is None:
                return
            if agent_id in self.allocator.agents:
                if not agent.deactivated:  # an operator's deactivation outlives the connection
                    self.allocator.activate(agent_id)
            else:
                self._allocator_register(agent)

    def remove_agent(self, agent_id: str, reason: str = "TASK_LOST") -> Agent:
        with self.lock:
            agent = self.agents.pop(agent_id, None) or self.recovered.pop(agent_id)
            for task in agent.active_tasks():
                self._set_task_state(agent, task, reason)
            self.removed[agent_id] = agent
            self.allocator.remove(agent_id)
            return agent

    def replace_agent(self, agent_id: str) -> Agent:
        """The host came back without its checkpointed state (wiped work_dir, reboot on many
        sites): it registers as a new agent with a new id and the old id is removed."""
        with self.lock:
            maintenance.refuse_registration(self, self.find_agent(agent_id).hostname)
            old = self.remove_agent(agent_id)
            agent = Agent(
                id=self._new_agent_id(),
                hostname=old.hostname,
                port=old.port,
                registered_time=time.time(),
                attributes=dict(old.attributes),  # same host, same --attributes
            )
            self.agents[agent.id] = agent
            if self.leader is not None:
                self._allocator_register(agent)
            return agent

    # --- tasks --------------------------------------------------------------------------
    def _set_task_state(self, agent: Agent, task: Task, state: str):
        agent.counts[task.state] -= 1
        was_active = task.state in ACTIVE_TASK_STATES
        task.state = state
        task.statuses.append((state, time.time()))
        agent.counts[state] += 1
        if was_active and state in TERMINAL_TASK_STATES:
            self.timed_tasks.pop(task.id, None)
            app = self.apps.get(task.app) if task.app else None
            if app is not None:
                self._queue_relaunch(app, agent)
                return
            framework = self.frameworks.get(task.framework_id)
            if framework is not None:
                framework.running -= 1
                framework.completed += 1

    def launch_task(self, agent: Agent, framework: Framework, duration: float | None, app: App | None = None) -> Task:
        """Start a task on the agent: a plain one (task-N), or an instance of `app`."""
        if app is None:
            n = next(self._task_seq)
            task_id, name, labels = f"{framework.name}.task-{n}", f"task-{n}", {}
        else:
            task_id, name, labels = app.new_task_id(), app.task_name, dict(app.labels)
        now = time.time()
        task = Task(
            id=task_id,
            name=name,
            framework_id=framework.id,
            agent_id=agent.id,
            state="TASK_RUNNING",
            started=now,
            duration=duration,
            labels=labels,
            app=None if app is None else app.id,
            statuses=[("TASK_RUNNING", now)],
        )
        agent.tasks[task.id] = task
        agent.counts["TASK_RUNNING"] += 1
        if app is None:
            framework.running += 1
        if duration is not None:
            self.timed_tasks[task.id] = (agent, task)
        return task

    def framework_named(self, name: str) -> Framework:
        """The registered framework of that name; a new one if there is none."""
        with self.lock:
            for framework in self.frameworks.values():
                if framework.name == name:
                    return framework
            return self.add_framework(name)

    def add_framework(self, name: str, target_tasks: int = 0, task_duration: float | None = None) -> Framework:
        with self.lock:
            framework = Framework(
                id=f"{self._agent_id_prefix}-{len(self.frameworks):04d}",
                name=name,
                registered_time=time.time(),
                target_tasks=target_tasks,
                task_duration=task_duration,
            )
            self.frameworks[framework.id] = framework
            return framework

    # --- apps -----------------------------------------------------------------------------
    def add_app(
        self,
        name: str,
        instances: int,
        labels: dict | None = None,
        framework: str | None = None,
        relaunch_delay: float | None = None,
        unique_hosts: bool = False,
        agents: list[str] | None = None,
    ) -> list[Task]:
        """Deploy an app on framework `framework` (by name; default the "marathon" one, a new
        framework if none has that name) and start its instances: instance i on
        agents[i % len(agents)] when `agents` is given (an exact placement for a test), else each
        where _app_agent() puts it. An instance that ends starts again on another offered agent
        after `relaunch_delay` seconds (default: the cluster's); `unique_hosts`: never two
        instances on one agent (hostname:UNIQUE). Instances that find no agent wait in the launch
        queue. Returns the tasks started."""
        with self.lock:
            absolute = app_id(name)
            if absolute in self.apps:
                raise ValueError(f"app {absolute} already exists")
            if isinstance(instances, bool) or not isinstance(instances, int) or instances < 0:
                raise ValueError(f"instances must be a whole number >= 0, not {instances!r}")
            if relaunch_delay is not None and relaunch_delay < 0:
                raise ValueError(f"relaunch_delay must be >= 0, not {relaunch_delay!r}")
            placement = None
            if agents is not None:
                if not agents:
                    raise ValueError("agents: give at least one agent id, or leave it out")
                placement = [self.find_agent(agents[i % len(agents)]) for i in range(instances)]
                if unique_hosts and len({a.id for a in placement}) < instances:
                    raise ValueError("unique_hosts: the placement puts two instances on one agent")
            owner = self.framework_named(framework or "marathon")
            app = App(absolute, owner.id, instances, task_labels(labels), relaunch_delay, bool(unique_hosts))
            self.apps[absolute] = app
            started = []
            for i in range(instances):
                agent = placement[i] if placement is not None else self._app_agent(app)
                if agent is None:
                    app.queue.append((time.time(), None))
                else:
                    started.append(self.launch_task(agent, owner, None, app))
            return started

    def app_of(self, name: str) -> App:
        app = self.apps.get(app_id(name))
        if app is None:
            raise KeyError(f"unknown app {name!r}")
        return app

    def _queue_relaunch(self, app: App, ended_on: Agent):
        """An instance ended (killed, finished, failed, lost): Marathon puts a replacement in its
        launch queue, held back by the app's backoff (here `relaunch_delay`)."""
        delay = app.relaunch_delay if app.relaunch_delay is not None else self.relaunch_delay
        app.queue.append((time.time() + delay, ended_on.id))

    @staticmethod
    def _has_room(agent: Agent) -> bool:
        return agent.used()["cpus"] + TASK_RESOURCES["cpus"] <= agent.resources["cpus"]

    @staticmethod
    def _instances_on(agent: Agent, app: App) -> int:
        return sum(1 for t in agent.active_tasks() if t.app == app.id)

    def _app_agent(self, app: App, avoid: str | None = None) -> Agent | None:
        """The agent whose offer the app's next instance takes: one that is offered (offerable():
        connected, not filtered, not deactivated), has room and, with unique_hosts, runs none of the
        app's instances yet. An agent other than `avoid` (where the instance ended) is preferred;
        that one is taken again only when no other fits. Among the rest: the fewest instances of
        this app, then the fewest tasks, so that an app spreads over the cluster."""
        fits = [
            a
            for a in self.agents.values()
            if self.offerable(a) and self._has_room(a) and not (app.unique_hosts and self._instances_on(a, app))
        ]
        others = [a for a in fits if a.id != avoid]
        return min(others or fits, key=lambda a: (self._instances_on(a, app), len(a.active_tasks())), default=None)

    def _relaunch_apps(self, now: float):
        """Start the queued instances whose delay is over, each on the agent _app_agent() picks;
        the ones no agent can take yet wait for a later round."""
        for app in self.apps.values():
            waiting = []
            for not_before, avoid in app.queue:
                agent = self._app_agent(app, avoid) if not_before <= now else None
                if agent is None:
                    waiting.append((not_before, avoid))
                else:
                    self.launch_task(agent, self.frameworks[app.framework_id], None, app)
            app.queue = waiting

    def finish_tasks(self, agent_id: str, state: str = "TASK_FINISHED") -> int:
        with self.lock:
            agent = self.find_agent(agent_id)
            active = agent.active_tasks()
            for task in active:
                self._set_task_state(agent, task, state)
            return len(active)

    def offerable(self, agent: Agent) -> bool:
        """An agent gets offers only while connected and not deactivated in the allocator."""
        return agent.connected and agent.id in self.allocator.agents and agent.id not in self.allocator.deactivated

    def schedule(self, now: float):
        """One round of the allocator and the frameworks' schedulers: finish tasks whose time is
        up, then start tasks on offerable agents with room, so that draining really happens:
        the plain tasks up to each framework's target_tasks, then the apps' queued instances."""
        with self.lock:
            draining.advance(self)
            for agent, task in list(self.timed_tasks.values()):
                # a disconnected agent sends no status updates until it is back
                if agent.connected and now - task.started >= task.duration:
                    self._set_task_state(agent, task, "TASK_FINISHED")
            if self.leader is None:
                return
            for framework in self.frameworks.values():
                missing = framework.target_tasks - framework.running
                if missing <= 0:
                    continue
                candidates = [a for a in self.agents.values() if self.offerable(a)]
                candidates.sort(key=lambda a: len(a.active_tasks()))
                for agent in candidates:
                    if missing <= 0:
                        break
                    if not self._has_room(agent):
                        continue
                    self.launch_task(agent, framework, framework.task_duration)
                    missing -= 1
            self._relaunch_apps(now)

    def prune_terminal(self, keep: int = 20):
        """Forget old terminal tasks (Mesos keeps a bounded history of completed tasks)."""
        with self.lock:
            for agent in list(self.agents.values()) + list(self.recovered.values()):
                done = [t for t in agent.tasks.values() if t.state in TERMINAL_TASK_STATES]
                for task in done[:-keep] if keep else done:
                    del agent.tasks[task.id]

    # --- masters and election -----------------------------------------------------------
    def leader_info(self) -> MasterInfo | None:
        return None if self.leader is None else self.masters[self.leader]

    def master_down(self, index: int):
        with self.lock:
            self.masters[index].alive = False
            if self.leader == index:
                self.leader = None
                self.allocator = Allocator()
                self._schedule_election(after=index)

    def master_up(self, index: int, elect: bool = True):
        with self.lock:
            master = self.masters[index]
            master.alive = True
            master.start_time = time.time()
            pending = self._election_timer is not None and self._election_timer.is_alive()
            if elect and self.leader is None and not pending:
                self._schedule_election(after=index - 1)

    def _schedule_election(self, after: int):
        if self._election_timer is not None:
            self._election_timer.cancel()
        if self.election_delay <= 0:
            self.elect(after=after)
            return
        self._election_timer = threading.Timer(self.election_delay, self.elect, kwargs={"after": after})
        self._election_timer.daemon = True
        self._election_timer.start()

    def cancel_election(self):
        if self._election_timer is not None:
            self._election_timer.cancel()

    def elect(self, after: int = -1, index: int | None = None):
        """ZooKeeper's leader election: the next live master in turn takes over. The new
        leader's allocator starts empty and learns the agents as they re-register with it;
        agents that stay away are only "recovered" from the registry (master.cpp, _recover)."""
        with self.lock:
            alive = [m.index for m in self.masters if m.alive]
            if not alive:
                self.leader = None
                return None
            if index is None:
                n = len(self.masters)
                order = [(after + k) % n for k in range(1, n + 1)]
                index = next(i for i in order if i in alive)
            self.leader = index
            self.elected_time = time.time()
            self.allocator = Allocator()
            for agent_id, agent in list(self.agents.items()):
                if agent.connected:
                    self.allocator.add(agent_id, agent.hostname, active=not agent.deactivated)
                else:
                    self.recovered[agent_id] = self.agents.pop(agent_id)
            self._reapply_persisted()
            return index

    # --- the later build's ZooKeeper persistence ---------------------------------------
    def store_filters(self):
        if self.persist:
            self.persisted_filters = self.allocator.filters()

    def resolve_filters(self, entries) -> tuple[list[str], list[str]]:
        """parseFilters/findSlaveID: each entry names the first agent that matches every
        non-empty attribute it gives; the ones that match nothing are described."""
        wanted, missing = [], []
        for entry in entries:
            agent_id, hostname = entry.get("agentId") or "", entry.get("hostname") or ""
            match = self.allocator.first_match(agent_id, hostname)
            if match is not None:
                wanted.append(match)
                continue
            terms = []
            if hostname:
                terms.append(f"[hostname == {hostname}]")
            if agent_id:
                terms.append(f"[agentId: {agent_id}]")
            missing.append(" && ".join(terms))
        return wanted, missing

    def _reapply_persisted(self):
        """restoreFilteredAgents: on the leader's recover() and on every addSlave() (a new agent,
        or one re-registering with a master that did not know it), the stored set is applied to
        all agents: stored ones deactivated, every other one activated. Entries that resolve to
        no agent (an id that is gone) are skipped."""
        if not self.persist or self.persisted_filters is None:
            return
        wanted, _ = self.resolve_filters(self.persisted_filters)
        self.allocator.apply(wanted)
