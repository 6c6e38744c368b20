"""One master's HTTP API: routing, the standby redirects, authentication and the JSON documents.

Shapes follow Mesos 1.0.1 (src/master/http.cpp, src/common/http.cpp `model()` / `json()`
writers); where 1.11 differs the cluster's `version` decides.
"""

from __future__ import annotations

import base64
import re
import time
from http import HTTPStatus

from . import allocator, maintenance, operator_api, writers
from .http import Drop, Request, Response, json_response, text_response
from .state import SUMMARY_TASK_STATES, Agent, Allocator, ClusterState, Framework, MasterInfo, Task

NO_LEADER = "No leader elected"

# The master's state endpoints: a standby hands them to the leader and --authenticate_http_readonly
# covers them (both lists below are spelled out in src/master/http.cpp and src/master/master.cpp).
_STATE_ENDPOINTS = {
    "/master/state",
    "/master/state.json",
    "/master/state-summary",
    "/master/slaves",
    "/master/frameworks",
    "/master/tasks",
    "/master/tasks.json",
    "/master/roles",
}
# Endpoints a standby answers with a 307 to the leader
# (src/master/http.cpp: each handler starts with `if (!master->elected()) return redirect(request);`).
REDIRECTED = _STATE_ENDPOINTS | set(maintenance.ENDPOINTS)
# --authenticate_http_readonly covers these (src/master/master.cpp, READONLY_HTTP_AUTHENTICATION_REALM).
READONLY = _STATE_ENDPOINTS | {"/master/flags", "/master/maintenance/status"}
# --authenticate_http_readwrite covers these (READWRITE_HTTP_AUTHENTICATION_REALM); every
# /master/api/v1 call too, see route().
READWRITE = {"/master/maintenance/schedule", "/master/machine/down", "/master/machine/up"}
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
    # The ASF release build, as a real 1.11.0 master (PyPI's mesos.scheduler egg) reports it;
    # git_sha is the 1.11.0 tag.
    "1.11.0": {
        "build_date": "2020-11-24 15:38:37",
        "build_time": 1606232317.0,
        "build_user": "ubuntu",
        "git_sha": "04bc7ee1984d86fbb0bd782ccc69ce44c13ae4b9",
        "git_tag": "1.11.0",
    },
}


# /master/tasks answers at most this many tasks unless `limit` says otherwise (src/master/constants.hpp).
TASK_LIMIT = 100


def resources_json(res: dict) -> dict:
    # model(Resources): scalars as numbers, ranges as "[a-b]" strings (src/common/http.cpp).
    return dict(res)


def attributes_json(attributes: dict) -> dict:
    # json(JSON::ObjectWriter*, const Attributes&) in src/common/http.cpp: name -> value, a TEXT
    # attribute as its string, a SCALAR one as its number, in the agent's order.
    return dict(attributes)


def _numify(value: str | None) -> int | None:
    """stout's numify<int> (boost::lexical_cast) of a query parameter: None when it is absent or
    not an int, and the caller then takes its default."""
    if value is None or not re.fullmatch(r"[+-]?[0-9]+", value):
        return None
    number = int(value)
    return number if -(2**31) <= number < 2**31 else None


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
        if not self.me.alive:
            # A killed master answers nothing, not even on a keep-alive connection its server has not closed yet:
            # answering there as a standby (build 0afdd8b lists an empty filter list) is what no real Mesos does.
            raise Drop()
        self.cluster.log_request(self.index, request)
        fault = self.cluster.faults.take(self.index, request.path)
        if fault is not None:
            early = fault.apply()
            if early is not None:
                return early
        first = request.path.strip("/").split("/", 1)[0]
        if first not in PROCESSES:
            request.path = "/master" + (request.path if request.path != "/" else "")
        response = self.route(request)
        return fault.after(response) if fault is not None else response

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
            return json_response(self.version_json(), sort_keys=True)
        if path == "/metrics/snapshot":
            denied = self.authenticate(request, READONLY_REALM, self.cluster.readonly_auth)
            return denied or json_response(self.metrics())
        if path in ("/allocator/filters", "/help/allocator/filters") and self.state.build:
            return allocator.handle(self, request)
        if path == "/master/api/v1":
            # Every v1 operator call is in the read-write realm (GET_AGENTS too), then a
            # standby redirects (src/master/http.cpp, Master::Http::api).
            denied = self.authenticate(request, READWRITE_REALM, bool(self.cluster.credentials))
            if denied is not None:
                return denied
            return operator_api.handle(self, request) if self.elected() else self.redirect(request)
        if path in READONLY:
            denied = self.authenticate(request, READONLY_REALM, self.cluster.readonly_auth)
            if denied is not None:
                return denied
        if path in READWRITE:
            denied = self.authenticate(request, READWRITE_REALM, bool(self.cluster.credentials))
            if denied is not None:
                return denied
        if path in ("/master/state.json", "/master/tasks.json") and self.is_111:
            return self.not_found()  # 1.11 dropped the .json aliases
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
        if path == "/master/tasks" or (path == "/master/tasks.json" and not self.is_111):
            return json_response(self.tasks_json(request.query))
        if path == "/master/flags":
            return json_response({"flags": self.flags()})
        if path in maintenance.ENDPOINTS:
            return maintenance.handle(self, request)
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
        # Exactly `Basic <base64>`, decoding to exactly `principal:secret` (a secret with a
        # colon never passes); anything else is refused (libprocess src/authenticator.cpp).
        parts = (request.header("authorization") or "").split(" ")
        if len(parts) == 2 and parts[0] == "Basic":
            try:
                credential = base64.b64decode(parts[1], validate=True).decode().split(":")
            except (ValueError, UnicodeDecodeError):
                credential = []
            if len(credential) == 2 and self.cluster.credentials.get(credential[0]) == credential[1]:
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
            "id": master.id,
            "pid": master.pid,
            "port": master.port,
            "hostname": master.hostname,
        }

    def agent_json(self, agent: Agent) -> dict:
        # json(Summary<Slave>) in 1.0.1 src/master/http.cpp; SlaveWriter in 1.11 adds
        # port, deactivated and capabilities.
        doc = {
            "id": agent.id,
            "pid": agent.pid,
            "hostname": agent.hostname,
            "registered_time": agent.registered_time,
        }
        if agent.reregistered_time is not None:
            doc["reregistered_time"] = agent.reregistered_time
        doc.update(
            resources=resources_json(agent.resources),
            used_resources=resources_json(agent.used()),
            offered_resources={"cpus": 0.0, "gpus": 0.0, "mem": 0.0, "disk": 0.0},
            reserved_resources={},
            unreserved_resources=resources_json(agent.resources),
            attributes=attributes_json(agent.attributes),
            active=agent.active,
            version=self.state.version,
        )
        if self.is_111:
            doc["port"] = agent.port
            doc["deactivated"] = agent.deactivated
            doc["capabilities"] = list(operator_api.CAPABILITIES_111)
            if agent.drain_info is not None:
                doc["drain_info"] = agent.drain_info
                doc["estimated_drain_start_time_seconds"] = agent.drain_start
            return writers.ordered(doc, writers.SLAVE_111)
        return doc

    def task_json(self, task: Task) -> dict:
        # json(JSON::ObjectWriter*, const Task&) in src/common/http.cpp, the writer /master/state,
        # /master/frameworks and /master/tasks use (model(const Task&) has the same fields).
        # `labels` only when the task has some: the Label protobufs, `value` only when set.
        # 1.11 adds the role its resources are allocated to.
        doc = {
            "id": task.id,
            "name": task.name,
            "framework_id": task.framework_id,
            "executor_id": "",
            "slave_id": task.agent_id,
            "state": task.state,
            "resources": resources_json(task.resources),
            # json(JSON::ObjectWriter*, const TaskStatus&): every update the master saw.
            "statuses": [{"state": state, "timestamp": timestamp} for state, timestamp in task.statuses],
        }
        if self.is_111:
            doc["role"] = "*"
        if task.labels:
            doc["labels"] = operator_api.labels_json(task.labels)
        return writers.ordered(doc, writers.TASK_111 if self.is_111 else writers.TASK_101)

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
            "unregistered_time": 0.0,
            "used_resources": used,
            "user": "root",
            "webui_url": "",
            **self._framework_111(),
        }

    def _framework_111(self) -> dict:
        # FullFrameworkWriter in 1.11 adds these (a framework that is not MULTI_ROLE keeps `role`).
        if not self.is_111:
            return {}
        return {"connected": True, "recovered": False, "unreachable_tasks": [], "offer_constraints": {}}

    def _ordered_framework(self, doc: dict) -> dict:
        return writers.ordered(doc, writers.FRAMEWORK_111 if self.is_111 else writers.FRAMEWORK_101)

    def state_json(self) -> dict:
        with self.state.lock:
            leader = self.state.leader_info()
            agents = list(self.state.agents.values())
            doc = {
                **self.version_json(),
                "activated_slaves": float(sum(1 for a in agents if a.active)),
                "cluster": self.state.cluster_name,
                "completed_frameworks": [],
                "deactivated_slaves": float(sum(1 for a in agents if not a.active)),
                "elected_time": self.state.elected_time,
                "flags": self.flags(),
                "frameworks": [self._ordered_framework(self.framework_json(f)) for f in self.state.frameworks.values()],
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
                doc["capabilities"] = list(writers.MASTER_CAPABILITIES_111)
                doc["unreachable_slaves"] = 0.0
                doc["recovered_slaves"] = self.recovered_json()
                if leader is not None:
                    doc["leader_info"] = self.master_info(leader)
            return writers.ordered(doc, writers.STATE_111 if self.is_111 else writers.STATE_101)

    def agent_summary(self, agent: Agent) -> dict:
        # SlaveSummaryWriter / summarizeSlave: the agent's model plus per-state task counts.
        doc = self.agent_json(agent)
        doc.update(agent.counts)
        if self.is_111:
            doc["TASK_UNREACHABLE"] = 0
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
                if self.is_111:
                    frameworks[-1].update(connected=True, recovered=False, TASK_UNREACHABLE=0)
                frameworks[-1] = writers.ordered(
                    frameworks[-1], writers.SUMMARY_FRAMEWORK_111 if self.is_111 else writers.SUMMARY_FRAMEWORK_101
                )
            doc = {
                "cluster": self.state.cluster_name,
                "frameworks": frameworks,
                "hostname": self.me.hostname,
                "slaves": [self.agent_summary(a) for a in self.state.agents.values()],
            }
            return writers.ordered(doc, writers.STATE_SUMMARY)

    def recovered_json(self) -> list:
        return [
            {"id": a.id, "hostname": a.hostname, "port": a.port, "attributes": attributes_json(a.attributes)}
            for a in self.state.recovered.values()
        ]

    def slave_full(self, agent: Agent) -> dict:
        # /master/slaves adds the resources as Resource protobufs (1.11 also the unreserved ones).
        doc = self.agent_json(agent)
        doc["reserved_resources_full"] = {}
        if self.is_111:
            doc["unreserved_resources_full"] = operator_api.v1_resources(agent.resources, role="*")
        doc["used_resources_full"] = operator_api.v1_resources(agent.used(), role="*", allocated=self.is_111)
        doc["offered_resources_full"] = []
        return doc

    def slaves_json(self) -> dict:
        # 1.0.1 lists only registered agents; 1.11 adds the ones recovered from the registry
        # that have not re-registered yet.
        with self.state.lock:
            doc = {"slaves": [self.slave_full(a) for a in self.state.agents.values()]}
            if self.is_111:
                doc["recovered_slaves"] = self.recovered_json()
            return doc

    def frameworks_json(self) -> dict:
        with self.state.lock:
            return {
                "frameworks": [self._ordered_framework(self.framework_json(f)) for f in self.state.frameworks.values()],
                "completed_frameworks": [],
                "unregistered_frameworks": [],
            }

    def tasks_json(self, query: dict) -> dict:
        """/master/tasks (Master::Http::tasks in 1.0.1 src/master/http.cpp, ReadOnlyHandler::tasks
        in 1.11 src/master/readonly_handler.cpp): every framework's active and completed tasks,
        sorted by their first status' timestamp, newest first (`order=asc`: oldest first), then
        `offset` and `limit` (default TASK_LIMIT) applied as the size_t arithmetic there does.
        1.11 also selects by `framework_id` and `task_id`."""
        with self.state.lock:
            tasks = []
            for framework in self.state.frameworks.values():
                if self.is_111 and query.get("framework_id", framework.id) != framework.id:
                    continue
                active, completed = self.framework_tasks(framework)
                tasks += [t for t in active + completed if not self.is_111 or query.get("task_id", t.id) == t.id]
            tasks.sort(key=lambda t: t.statuses[0][1], reverse=query.get("order") != "asc")
            limit, offset = _numify(query.get("limit")), _numify(query.get("offset"))
            limit = (TASK_LIMIT if limit is None else limit) % 2**64
            offset = (offset or 0) % 2**64
            end = min((offset + limit) % 2**64, len(tasks))
            return {"tasks": [self.task_json(t) for t in tasks[offset:end]]}

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
            # active: connected and not deactivated by an operator (Slave::active).
            active = sum(1 for a in agents if a.active) if elected else 0
            doc = {
                "master/elected": 1.0 if elected else 0.0,
                "master/uptime_secs": round(time.time() - self.me.start_time, 3),
                "master/slaves_active": float(active),
                "master/slaves_connected": float(connected),
                "master/slaves_disconnected": float(len(agents) - connected) if elected else 0.0,
                "master/slaves_inactive": float(len(agents) - active) if elected else 0.0,
                "master/frameworks_active": float(len(self.state.frameworks)) if elected else 0.0,
                "master/recovery_slave_removals": 0.0,
            }
            for state_name, value in counts.items():
                doc["master/" + state_name.lower().replace("task_", "tasks_")] = float(value)
            if self.is_111:
                doc["master/slaves_unreachable"] = 0.0
            return doc


def crash() -> Drop:
    """The master process dies mid-request (a CHECK failure or an uncaught exception)."""
    return Drop(crash=True)
