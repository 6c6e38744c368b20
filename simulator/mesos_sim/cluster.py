"""The control side of the simulator: start masters on loopback ports, elect, break things."""

from __future__ import annotations

import json
import os
import shutil
import socket
import ssl
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from . import allocator, maintenance
from .http import Drop, Request, Response, Server, hold_port, text_response
from .master import MasterApp
from .state import TERMINAL_TASK_STATES, ClusterState
from .waiting import wait_until


@dataclass
class Fault:
    """An injected production failure on one endpoint path (of one master, or of all).

    `status`, `latency` and `drop` act before the master sees the request. `drop_after` lets the
    master process it and then closes the connection without an answer: the answer is lost (a
    proxy or a network cut after the master acted), so the client cannot tell whether it was done.
    """

    path: str
    status: int | None = None
    body: str | None = None
    latency: float = 0.0
    drop: bool = False
    count: int | None = None
    master: int | None = None
    drop_after: bool = False

    def __post_init__(self):
        if self.drop_after and (self.drop or self.status is not None):
            raise ValueError("drop_after lets the master answer, then loses the answer: not with drop or status")

    def apply(self) -> Response | None:
        if self.latency:
            time.sleep(self.latency)
        if self.drop:
            raise Drop()
        if self.status is not None:
            return text_response(self.status, self.body or "")
        return None

    def after(self, response: Response) -> Response:
        """What the client gets of the master's own answer."""
        if self.drop_after:
            raise Drop()
        return response


class Faults:
    def __init__(self):
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, fault: Fault):
        with self._lock:
            self._faults.append(fault)

    def clear(self):
        with self._lock:
            self._faults.clear()

    def take(self, master: int, path: str) -> Fault | None:
        if not self._faults:
            return None
        with self._lock:
            for fault in self._faults:
                if fault.path == path and fault.master in (None, master):
                    if fault.count is not None:
                        fault.count -= 1
                        if fault.count <= 0:
                            self._faults.remove(fault)
                    return fault
        return None


class Cluster:
    """M simulated masters (one elected leader) and N agents, each master on its own port.

    Use as a context manager, or call start()/stop().
    """

    TICK = 0.1

    def __init__(
        self,
        masters: int = 3,
        agents: int = 10,
        build: str | None = "later",
        persist: bool = False,
        principal: str | None = None,
        secret: str | None = None,
        readonly_auth: bool = False,
        tls: bool = False,
        tasks: int = 0,
        task_duration: float | None = None,
        election_delay: float = 0.0,
        version: str = "1.0.1",
        ports: list[int] | None = None,
        hostname: str = "localhost",
        relaunch_delay: float = 0.0,
        agent_attributes: Callable[[int], dict] | None = None,
    ):
        """`relaunch_delay`: seconds before an app's ended instance starts again (apps may set
        their own); `agent_attributes(i)`: the attributes of the i-th agent the cluster starts with."""
        if build is not None and build not in allocator.BUILDS:
            raise ValueError(f"build must be one of {allocator.BUILDS} or None, not {build!r}")
        if (principal is None) != (secret is None):
            raise ValueError("principal and secret go together")
        self.state = ClusterState(
            masters, build, version, persist, task_duration, election_delay, hostname, relaunch_delay
        )
        self.credentials = {principal: secret} if principal is not None else {}
        self.readonly_auth = readonly_auth
        self.tls = tls
        self.ca_path: str | None = None
        self.bind_host = "127.0.0.1"  # the stand-in binds its --ip (0.0.0.0 by default)
        self._ports = list(ports) if ports else [0] * masters
        if len(self._ports) != masters:
            raise ValueError("give one port per master")
        self._tmp: str | None = None
        self._ssl: ssl.SSLContext | None = None
        self.apps = [MasterApp(self, i) for i in range(masters)]
        self.servers: list[Server | None] = [None] * masters
        self._dead_ports: dict[int, socket.socket] = {}  # killed masters' ports, held (http.hold_port)
        self.faults = Faults()
        self.request_log: list[tuple[int, str, str]] = []
        self._log_lock = threading.Lock()
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None
        self.framework = self.state.add_framework("marathon", target_tasks=tasks, task_duration=task_duration)
        for index in range(agents):
            self.state.add_agent(attributes=agent_attributes(index) if agent_attributes else None)

    # --- life cycle ---------------------------------------------------------------------
    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def start(self, elect: bool = True):
        """Start every master; `elect=False` leaves the election to the caller (the
        mesos-master stand-in elects through ZooKeeper)."""
        if self.tls:
            self._make_tls()
        for i in range(len(self.apps)):
            self.start_master(i, elect=False)
        if elect:
            self.state.elect(index=0)
        self._ticker = threading.Thread(target=self._tick, daemon=True)
        self._ticker.start()
        return self

    def stop(self):
        self._stop.set()
        self.state.cancel_election()
        for i, server in enumerate(self.servers):
            if server is not None:
                server.stop()
                self.servers[i] = None
        for held in self._dead_ports.values():
            held.close()
        self._dead_ports.clear()
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)

    def _make_tls(self):
        import trustme  # a test-only dependency: only clusters with TLS need it

        self._tmp = tempfile.mkdtemp(prefix="mesos-sim-tls-")
        ca = trustme.CA()
        cert = ca.issue_cert("localhost", "127.0.0.1")
        self.ca_path = os.path.join(self._tmp, "ca.pem")
        ca.cert_pem.write_to_path(self.ca_path)
        self._ssl = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        cert.configure_cert(self._ssl)

    def _tick(self):
        rounds = 0
        while not self._stop.wait(self.TICK):
            self.state.schedule(time.time())
            rounds += 1
            if rounds % 50 == 0:
                self.state.prune_terminal()

    # --- masters ------------------------------------------------------------------------
    @property
    def scheme(self) -> str:
        return "https" if self.tls else "http"

    @property
    def urls(self) -> list[str]:
        return [f"{self.scheme}://127.0.0.1:{m.port}" for m in self.state.masters]

    @property
    def leader_index(self) -> int | None:
        return self.state.leader

    @property
    def leader_url(self) -> str | None:
        return None if self.state.leader is None else self.urls[self.state.leader]

    def start_master(self, index: int, elect: bool = True):
        server = Server(
            self._ports[index], self.apps[index], lambda: self.kill_master(index), self._ssl, host=self.bind_host
        )
        self._ports[index] = server.port
        self.state.masters[index].port = server.port
        self.servers[index] = server
        held = self._dead_ports.pop(index, None)
        if held is not None:  # released once the master listens again: the port is never free in between
            held.close()
        server.start()
        self.state.master_up(index, elect)

    def kill_master(self, index: int):
        server = self.servers[index]
        if server is None:
            return
        self.servers[index] = None
        self.state.master_down(index)
        server.stop()
        held = hold_port(self.bind_host, server.port)
        if held is not None:
            self._dead_ports[index] = held

    def kill_leader(self) -> int:
        index = self.state.leader
        if index is None:
            raise RuntimeError("no leader to kill")
        self.kill_master(index)
        return index

    def elect(self, index: int | None = None) -> int | None:
        return self.state.elect(index=index)

    def wait_for_leader(self, timeout: float = 10.0) -> int:
        wait_until(lambda: self.state.leader is not None, timeout, interval=0.01, what="a leader elected")
        return self.state.leader

    # --- agents and tasks ---------------------------------------------------------------
    @property
    def agents(self) -> list[dict]:
        with self.state.lock:
            everyone = list(self.state.agents.values()) + list(self.state.recovered.values())
            return [{"id": a.id, "hostname": a.hostname, "active": a.connected} for a in everyone]

    @property
    def agent_ids(self) -> list[str]:
        return [a["id"] for a in self.agents]

    def add_agent(self, hostname: str | None = None, attributes: dict | None = None) -> str:
        """A new agent; `attributes` as its --attributes: name -> string (TEXT) or number (SCALAR)."""
        return self.state.add_agent(hostname, attributes).id

    def set_attributes(self, agent_id: str, attributes: dict | None):
        self.state.set_attributes(agent_id, attributes)

    def disconnect_agent(self, agent_id: str):
        self.state.disconnect_agent(agent_id)

    def reregister_agent(self, agent_id: str):
        self.state.reregister_agent(agent_id)

    def remove_agent(self, agent_id: str):
        self.state.remove_agent(agent_id)

    def replace_agent(self, agent_id: str) -> str:
        return self.state.replace_agent(agent_id).id

    def launch_tasks(self, agent_id: str, count: int = 1, duration: float | None = None) -> list[str]:
        with self.state.lock:
            agent = self.state.find_agent(agent_id)
            return [self.state.launch_task(agent, self.framework, duration).id for _ in range(count)]

    def finish_tasks(self, agent_id: str, state: str = "TASK_FINISHED") -> int:
        """End every active task on the agent with this terminal state; returns how many."""
        if state not in TERMINAL_TASK_STATES:
            raise ValueError(f"state must be one of {TERMINAL_TASK_STATES}, not {state!r}")
        return self.state.finish_tasks(agent_id, state)

    def active_tasks(self, agent_id: str) -> int:
        with self.state.lock:
            return len(self.state.find_agent(agent_id).active_tasks())

    # --- apps ---------------------------------------------------------------------------
    def add_app(self, name: str, instances: int, **options) -> list[str]:
        """Run `instances` tasks of a Marathon-style app (see state.App and ClusterState.add_app for
        `options`: labels, framework, relaunch_delay, unique_hosts, agents). Returns the ids of the
        tasks started."""
        return [t.id for t in self.state.add_app(name, instances, **options)]

    def tasks(self, app: str | None = None) -> list[dict]:
        """The active tasks (of one app, given its id), as dicts: id, name, state, agent_id, labels, app."""
        with self.state.lock:
            app_id = None if app is None else self.state.app_of(app).id
            agents = list(self.state.agents.values()) + list(self.state.recovered.values())
            return [
                {
                    "id": t.id,
                    "name": t.name,
                    "state": t.state,
                    "agent_id": t.agent_id,
                    "labels": dict(t.labels),
                    "app": t.app,
                }
                for agent in agents
                for t in agent.active_tasks()
                if app_id is None or t.app == app_id
            ]

    @property
    def relaunch_delay(self) -> float:
        """The cluster's default delay before an app's ended instance starts again."""
        return self.state.relaunch_delay

    @relaunch_delay.setter
    def relaunch_delay(self, seconds: float):
        self.state.relaunch_delay = seconds

    def filters(self) -> set[str]:
        with self.state.lock:
            return set(self.state.allocator.deactivated)

    def add_filter(self, agent_id: str):
        with self.state.lock:
            self.state.allocator.deactivate(agent_id)
            self.state.store_filters()

    def respond_inverse_offer(self, agent_id: str, status: str = "ACCEPT", framework_id: str | None = None):
        """A framework (by default the cluster's own) answers the inverse offer for an agent on a
        DRAINING machine, ACCEPT or DECLINE, as /master/maintenance/status then reports it.
        Frameworks answer none unless told to."""
        with self.state.lock:
            maintenance.respond_inverse_offer(self.state, agent_id, status, framework_id or self.framework.id)

    # --- faults and observation ---------------------------------------------------------
    def inject(self, path, status=None, body=None, latency=0.0, drop=False, count=None, master=None, drop_after=False):
        self.faults.add(Fault(path, status, body, latency, drop, count, master, drop_after))

    def clear_faults(self):
        self.faults.clear()

    def log_request(self, index: int, request: Request):
        target = request.path + ("?" + request.raw_query if request.raw_query else "")
        with self._log_lock:
            self.request_log.append((index, request.method, target))

    def reset_log(self):
        with self._log_lock:
            self.request_log.clear()

    def internal_state_probe(self, index: int, authorization: str | None) -> tuple[int, str | None]:
        """The later module build's own GET of its master's /master/state (answering status
        and Location), with the caller's Authorization header forwarded."""
        headers = {"authorization": authorization} if authorization else {}
        probe = Request("GET", "/master/state", {}, "", headers, b"")
        app = self.apps[index]
        if app.elected():
            denied = app.authenticate(probe, "mesos-master-readonly", self.readonly_auth)
            return (401, None) if denied is not None else (200, None)
        response = app.route(probe)
        return response.status, response.headers.get("Location")

    def modules_json(self) -> str:
        library = {
            "file": "/usr/local/lib/libofferfilterallocator-1.0.1.so",
            "modules": [{"name": allocator.MODULE_NAME}],
        }
        if self.state.build == "later":
            library["modules"][0]["parameters"] = [
                {"key": "zk_url", "value": "zk://127.0.0.1:2181/mesos-allocator-filters"}
            ]
        return json.dumps({"libraries": [library]})

    def describe(self) -> dict:
        return {
            "masters": self.urls,
            "leader": self.leader_url,
            "build": self.state.build,
            "version": self.state.version,
            "ca_path": self.ca_path,
            "agents": self.agents,
        }
