"""One master's HTTP API: routing, the standby redirects, authentication and the JSON documents.

Shapes follow Mesos 1.0.1 (src/master/http.cpp, src/common/http.cpp `model()` / `json()`
writers); where 1.11 differs the cluster's `version` decides.
"""

from __future__ import annotations

import base64
import time
from http import HTTPStatus

from . import allocator
from .http import Drop, Request, Response, json_response, text_response
from .state import SUMMARY_TASK_STATES, Agent, Allocator, ClusterState, Framework, MasterInfo, Task

NO_LEADER = "No leader elected"

# Endpoints of the master process that a standby hands to the leader with a 307
# (src/master/http.cpp: each handler starts with `if (!master->elected()) return redirect(request);`).
REDIRECTED = {
    "/master/state",
    "/master/state.json",
    "/master/state-summary",
    "/master/slaves",
    "/master/frameworks",
    "/master/tasks",
    "/master/roles",
    "/master/maintenance/schedule",
    "/master/maintenance/status",
}
# --authenticate_http_readonly covers these (src/master/master.cpp, READONLY_HTTP_AUTHENTICATION_REALM).
READONLY = {
    "/master/state",
    "/master/state.json",
    "/master/state-summary",
    "/master/slaves",
    "/master/frameworks",
    "/master/tasks",
    "/master/roles",
    "/master/flags",
    "/master/maintenance/schedule",
    "/master/maintenance/status",
}
READONLY_REALM = "mesos-master-readonly"
READWRITE_REALM = "mesos-master-readwrite"
# libprocess processes a real mesos-master runs; any other first path segment goes to the
# delegate, the master process (3rdparty/libprocess/src/process.cpp, `delegate`).
PROCESSES = {"master", "metrics", "version", "allocator", "help", "logging", "profiler", "system", "files"}

BUILD_INFO = {
    "1.0.1": {
        "build_date": "2016-08-26 23:06:27",
        "build_time": 1472252787.0,
        "build_user": "root",
        "git_sha": "3611eb0b7eea8d144e9b2e840e0ba16f2f659ee3",
        "git_tag": "1.0.1",
    },
    "1.11.0": {
        "build_date": "2020-11-19 20:40:51",
        "build_time": 1605818451.0,
        "build_user": "root",
        "git_sha": "8d52b4c1d4a0fd5dbb6cc0e7df5fab3b4b3e4b0e",
        "git_tag": "1.11.0",
    },
}


def resources_json(res: dict) -> dict:
    # model(Resources): scalars as numbers, ranges as "[a-b]" strings (src/common/http.cpp).
    return dict(res)


class MasterApp:
    """Answers HTTP requests as master number `index` of the cluster."""

    def __init__(self, cluster, index: int):
        self.cluster = cluster
        self.index = index

    @property
    def state(self) -> ClusterState:
        return self.cluster.state

    @property
    def me(self) -> MasterInfo:
        return self.state.masters[self.index]

    def elected(self) -> bool:
        return self.state.leader == self.index

    @property
    def allocator(self) -> Allocator:
        """A standby's allocator knows no agents; only the leader's holds the cluster."""
        return self.state.allocator if self.elected() else Allocator()

    # --- entry --------------------------------------------------------------------------
    def dispatch(self, request: Request) -> Response:
        self.cluster.log_request(self.index, request)
        fault = self.cluster.faults.take(self.index, request.path)
        if fault is not None:
            early = fault.apply()
            if early is not None:
                return early
        first = request.path.strip("/").split("/", 1)[0]
        if first not in PROCESSES:
            request.path = "/master" + (request.path if request.path != "/" else "")
        return self.route(request)

    def route(self, request: Request) -> Response:
        path = request.path
        if path in ("/master/redirect", "/master/redirect/"):
            return self.redirect(request, base_only=True)
        if path.startswith("/master/redirect/"):
            # 1.0.1 redirects these to themselves on the leader (a loop); 1.11 refuses them.
            return self.not_found() if self.is_111 else self.redirect(request)
        if path == "/master/health":
            return text_response(200)
        if path == "/version":
            return json_response(self.version_json())
        if path == "/metrics/snapshot":
            denied = self.authenticate(request, READONLY_REALM, self.cluster.readonly_auth)
            return denied or json_response(self.metrics())
        if path in ("/allocator/filters", "/help/allocator/filters") and self.state.build:
            return allocator.handle(self, request)
        if path in READONLY:
            denied = self.authenticate(request, READONLY_REALM, self.cluster.readonly_auth)
            if denied is not None:
                return denied
        if path in REDIRECTED and not self.elected():
            return self.redirect(request)
        if path in ("/master/state", "/master/state.json"):
            return json_response(self.state_json())
        if path == "/master/state-summary":
            return json_response(self.state_summary())
        if path == "/master/slaves":
            return json_response(self.slaves_json())
        if path == "/master/frameworks":
            return json_response(self.frameworks_json())
        if path == "/master/flags":
            return json_response({"flags": self.flags()})
        return self.not_found()

    # --- redirects and auth -------------------------------------------------------------
    def redirect(self, request: Request, base_only: bool = False) -> Response:
        """Master::Http::redirect: a scheme-less Location on the leader's hostname and port so
        that the client keeps its own scheme; `/master/redirect` itself gets the bare base.
        Any other path keeps its path and query (`stringify(request.url)`)."""
        leader = self.state.leader_info()
        if leader is None:
            return text_response(503, NO_LEADER)
        base = f"//{leader.hostname}:{leader.port}"
        if base_only:
            return Response(307, headers={"Location": base})
        query = f"?{request.raw_query}" if request.raw_query else ""
        return Response(307, headers={"Location": base + request.path + query})

    def authenticate(self, request: Request, realm: str, enabled: bool) -> Response | None:
        """Basic authentication as libprocess' BasicAuthenticator does it: a 401 with the realm's
        challenge for missing, malformed or wrong credentials."""
        if not enabled or not self.cluster.credentials:
            return None
        header = request.header("authorization") or ""
        scheme, _, encoded = header.partition(" ")
        if scheme == "Basic":
            try:
                principal, _, secret = base64.b64decode(encoded).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                principal = secret = None
            if principal is not None and self.cluster.credentials.get(principal) == secret:
                return None
        return self.error(401, headers={"WWW-Authenticate": f'Basic realm="{realm}"'})

    @property
    def is_111(self) -> bool:
        return self.state.version.startswith("1.11")

    def error(self, status: int, headers: dict | None = None) -> Response:
        """libprocess' body-less helpers: empty in 1.0.1, "401 Unauthorized." and so on in 1.11."""
        if not self.is_111:
            return Response(status, headers=headers or {})
        return text_response(status, f"{status} {HTTPStatus(status).phrase}.", headers)

    def not_found(self) -> Response:
        return self.error(404)

    # --- documents ----------------------------------------------------------------------
    def version_json(self) -> dict:
        info = BUILD_INFO.get(self.state.version, BUILD_INFO["1.0.1"])
        return {
            "build_date": info["build_date"],
            "build_time": info["build_time"],
            "build_user": info["build_user"],
            "git_sha": info["git_sha"],
            "git_tag": info["git_tag"],
            "version": self.state.version,
        }

    def flags(self) -> dict:
        flags = {
            "allocation_interval": "1secs",
            "authenticate_http_readonly": str(self.cluster.readonly_auth).lower(),
            "authenticate_http_readwrite": str(bool(self.cluster.credentials)).lower(),
            "cluster": self.state.cluster_name,
            "hostname": self.me.hostname,
            "port": str(self.me.port),
            "quorum": str(len(self.state.masters) // 2 + 1),
            "registry": "replicated_log",
            "work_dir": f"/var/lib/mesos/master-{self.index}",
            "zk_session_timeout": "10secs",
        }
        if self.state.build:
            flags["allocator"] = allocator.MODULE_NAME
            flags["modules"] = self.cluster.modules_json()
        else:
            flags["allocator"] = "HierarchicalDRF"
        return flags

    def master_info(self, master: MasterInfo) -> dict:
        # leader_info in 1.11's ReadOnlyHandler::state.
        return {
            "hostname": master.hostname,
            "id": master.id,
            "pid": master.pid,
            "port": master.port,
        }

    def agent_json(self, agent: Agent) -> dict:
        # json(Summary<Slave>) in 1.0.1 src/master/http.cpp; SlaveWriter in 1.11 adds
        # port, deactivated and capabilities.
        doc = {
            "active": agent.connected,
            "attributes": {},
            "hostname": agent.hostname,
            "id": agent.id,
            "offered_resources": {"cpus": 0.0, "disk": 0.0, "gpus": 0.0, "mem": 0.0},
            "pid": agent.pid,
            "registered_time": agent.registered_time,
            "reserved_resources": {},
            "resources": resources_json(agent.resources),
            "unreserved_resources": resources_json(agent.resources),
            "used_resources": resources_json(agent.used()),
            "version": self.state.version,
        }
        if agent.reregistered_time is not None:
            doc["reregistered_time"] = agent.reregistered_time
        if self.is_111:
            doc["port"] = agent.port
            doc["deactivated"] = False
            doc["capabilities"] = ["MULTI_ROLE", "HIERARCHICAL_ROLE", "RESERVATION_REFINEMENT"]
        return doc

    def task_json(self, task: Task) -> dict:
        # model(const Task&) in src/common/http.cpp.
        return {
            "executor_id": "",
            "framework_id": task.framework_id,
            "id": task.id,
            "name": task.name,
            "resources": resources_json(task.resources),
            "slave_id": task.agent_id,
            "state": task.state,
            "statuses": [{"state": task.state, "timestamp": task.started}],
        }

    def framework_tasks(self, framework: Framework):
        active, completed = [], []
        for agent in self.state.agents.values():
            for task in agent.tasks.values():
                if task.framework_id == framework.id:
                    (
                        active
                        if task.state in ("TASK_STAGING", "TASK_STARTING", "TASK_RUNNING", "TASK_KILLING")
                        else completed
                    ).append(task)
        return active, completed

    def framework_json(self, framework: Framework) -> dict:
        # model(const Framework&) in src/master/http.cpp.
        active, completed = self.framework_tasks(framework)
        used = {"cpus": 0.0, "disk": 0.0, "gpus": 0.0, "mem": 0.0}
        for task in active:
            for key in used:
                used[key] += task.resources.get(key, 0.0)
        return {
            "active": True,
            "capabilities": [],
            "checkpoint": True,
            "completed_tasks": [self.task_json(t) for t in completed],
            "executors": [],
            "failover_timeout": 604800.0,
            "hostname": "scheduler.example.com",
            "id": framework.id,
            "name": framework.name,
            "offered_resources": {"cpus": 0.0, "disk": 0.0, "gpus": 0.0, "mem": 0.0},
            "offers": [],
            "pid": f"scheduler-{framework.id}@127.0.0.1:9090",
            "registered_time": framework.registered_time,
            "resources": used,
            "role": "*",
            "tasks": [self.task_json(t) for t in active],
            "unregistered_time": 0,
            "used_resources": used,
            "user": "root",
            "webui_url": "",
        }

    def state_json(self) -> dict:
        with self.state.lock:
            leader = self.state.leader_info()
            agents = list(self.state.agents.values())
            doc = {
                **self.version_json(),
                "activated_slaves": float(sum(1 for a in agents if a.connected)),
                "cluster": self.state.cluster_name,
                "completed_frameworks": [],
                "deactivated_slaves": float(sum(1 for a in agents if not a.connected)),
                "elected_time": self.state.elected_time,
                "flags": self.flags(),
                "frameworks": [self.framework_json(f) for f in self.state.frameworks.values()],
                "hostname": self.me.hostname,
                "id": self.me.id,
                "orphan_tasks": [],
                "pid": self.me.pid,
                "slaves": [self.agent_json(a) for a in agents],
                "start_time": self.me.start_time,
                "unregistered_frameworks": [],
            }
            if leader is not None:
                doc["leader"] = leader.pid
            if self.is_111:
                # ReadOnlyHandler::state in 1.11; 1.0.1 has neither key.
                doc["unreachable_slaves"] = 0.0
                doc["recovered_slaves"] = self.recovered_json()
                if leader is not None:
                    doc["leader_info"] = self.master_info(leader)
            return doc

    def agent_summary(self, agent: Agent) -> dict:
        # SlaveSummaryWriter / summarizeSlave: the agent's model plus per-state task counts.
        doc = self.agent_json(agent)
        doc.update(agent.counts)
        doc["framework_ids"] = sorted({t.framework_id for t in agent.active_tasks()})
        return doc

    def state_summary(self) -> dict:
        with self.state.lock:
            frameworks = []
            for framework in self.state.frameworks.values():
                counts = dict.fromkeys(SUMMARY_TASK_STATES, 0)
                agent_ids = set()
                for agent in self.state.agents.values():
                    for task in agent.tasks.values():
                        if task.framework_id == framework.id:
                            counts[task.state] += 1
                            agent_ids.add(agent.id)
                frameworks.append(
                    {
                        "active": True,
                        "capabilities": [],
                        "hostname": "scheduler.example.com",
                        "id": framework.id,
                        "name": framework.name,
                        "offered_resources": {"cpus": 0.0, "disk": 0.0, "gpus": 0.0, "mem": 0.0},
                        "pid": f"scheduler-{framework.id}@127.0.0.1:9090",
                        "slave_ids": sorted(agent_ids),
                        "used_resources": self.framework_json(framework)["used_resources"],
                        "webui_url": "",
                        **counts,
                    }
                )
            return {
                "cluster": self.state.cluster_name,
                "frameworks": frameworks,
                "hostname": self.me.hostname,
                "slaves": [self.agent_summary(a) for a in self.state.agents.values()],
            }

    def recovered_json(self) -> list:
        return [
            {"attributes": {}, "hostname": a.hostname, "id": a.id, "port": a.port}
            for a in self.state.recovered.values()
        ]

    def slaves_json(self) -> dict:
        # 1.0.1 lists only registered agents; 1.11 adds the ones recovered from the registry
        # that have not re-registered yet.
        with self.state.lock:
            doc = {"slaves": [self.agent_json(a) for a in self.state.agents.values()]}
            if self.is_111:
                doc["recovered_slaves"] = self.recovered_json()
            return doc

    def frameworks_json(self) -> dict:
        with self.state.lock:
            return {
                "completed_frameworks": [],
                "frameworks": [self.framework_json(f) for f in self.state.frameworks.values()],
                "unregistered_frameworks": [],
            }

    def metrics(self) -> dict:
        with self.state.lock:
            agents = list(self.state.agents.values())
            elected = self.elected()
            counts = dict.fromkeys(SUMMARY_TASK_STATES, 0)
            if elected:
                for agent in agents:
                    for key, value in agent.counts.items():
                        counts[key] += value
            connected = sum(1 for a in agents if a.connected) if elected else 0
            doc = {
                "master/elected": 1.0 if elected else 0.0,
                "master/uptime_secs": round(time.time() - self.me.start_time, 3),
                "master/slaves_active": float(connected),
                "master/slaves_connected": float(connected),
                "master/slaves_disconnected": float(len(agents) - connected) if elected else 0.0,
                "master/slaves_inactive": 0.0,
                "master/frameworks_active": float(len(self.state.frameworks)) if elected else 0.0,
                "master/recovery_slave_removals": 0.0,
            }
            for state_name, value in counts.items():
                doc["master/" + state_name.lower().replace("task_", "tasks_")] = float(value)
            return doc


def crash() -> Drop:
    """The master process dies mid-request (a CHECK failure or an uncaught exception)."""
    return Drop(crash=True)
