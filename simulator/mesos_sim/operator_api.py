"""The v1 operator API: `POST /master/api/v1` with a JSON `Call`, as Mesos answers it.

Source: apache/mesos src/master/http.cpp (`Master::Http::api`, `getAgents`, `getTasks`,
`deactivateAgent`, `drainAgent`, `reactivateAgent`), src/master/readonly_handler.cpp (1.11's
`jsonifyGetTasks`), src/master/validation.cpp, src/common/protobuf_utils.cpp
(`createAgentResponse`), stout's JSON <-> protobuf conversion; the texts and shapes were checked
against a real 1.11.0 master (tests/contract; GET_TASKS by hand, as a contract peer runs no
tasks). MasterApp.route authenticates the request in the read-write realm and redirects a
standby's before this module sees it.

Simulated calls: GET_AGENTS, GET_TASKS and the maintenance calls (maintenance.py) in 1.0.1 and
1.11, DEACTIVATE_AGENT, REACTIVATE_AGENT and DRAIN_AGENT (1.9+, so only with version 1.11; 1.0.1
does not know these names). Other calls Mesos knows are answered 501 with a text saying the
simulator does not simulate them.

Protobuf messages are written as stout writes them: fields in their .proto declaration order,
repeated fields only when not empty. 1.0.1 builds a JSON::Object (a std::map) of the whole
response (src/common/http.cpp `serialize`), so its keys come out sorted.
"""

from __future__ import annotations

import re

from . import draining, maintenance, stout_json
from .http import JSON, Request, Response, json_response, text_response

APPLICATION_PROTOBUF = "application/x-protobuf"

# mesos::v1::master::Call::Type (include/mesos/v1/master/master.proto).
CALL_TYPES_101 = (
    "UNKNOWN GET_HEALTH GET_FLAGS GET_VERSION GET_METRICS GET_LOGGING_LEVEL SET_LOGGING_LEVEL LIST_FILES "
    "READ_FILE GET_STATE GET_AGENTS GET_FRAMEWORKS GET_EXECUTORS GET_TASKS GET_ROLES GET_WEIGHTS "
    "UPDATE_WEIGHTS GET_MASTER SUBSCRIBE RESERVE_RESOURCES UNRESERVE_RESOURCES CREATE_VOLUMES DESTROY_VOLUMES "
    "GET_MAINTENANCE_STATUS GET_MAINTENANCE_SCHEDULE UPDATE_MAINTENANCE_SCHEDULE START_MAINTENANCE "
    "STOP_MAINTENANCE GET_QUOTA SET_QUOTA REMOVE_QUOTA"
).split()
CALL_TYPES_111 = (
    CALL_TYPES_101
    + (
        "GET_OPERATIONS GROW_VOLUME SHRINK_VOLUME DRAIN_AGENT DEACTIVATE_AGENT REACTIVATE_AGENT UPDATE_QUOTA "
        "TEARDOWN MARK_AGENT_GONE"
    ).split()
)
# The call's own field for each simulated call (validation.cpp: "Expecting '<field>' to be present").
AGENT_CALLS = {
    "DEACTIVATE_AGENT": "deactivate_agent",
    "REACTIVATE_AGENT": "reactivate_agent",
    "DRAIN_AGENT": "drain_agent",
}
CAPABILITIES_111 = (
    "MULTI_ROLE",
    "HIERARCHICAL_ROLE",
    "RESERVATION_REFINEMENT",
    "RESOURCE_PROVIDER",
    "RESIZE_VOLUME",
    "AGENT_OPERATION_FEEDBACK",
    "AGENT_DRAINING",
    "TASK_RESOURCE_LIMITS",
)


class _BadCall(Exception):
    """The JSON does not convert into a Call protobuf (stout's protobuf::parse texts)."""


def handle(master, request: Request) -> Response:
    is_111 = master.is_111
    if request.method != "POST":
        text = f"Expecting one of {{ 'POST' }}, but received '{request.method}'"
        if is_111:
            text = f"405 Method Not Allowed. {text}."
        return text_response(405, text, {"Allow": "POST"})
    content_type = request.header("content-type")
    if content_type is None:
        return text_response(400, "Expecting 'Content-Type' to be present")
    if content_type == APPLICATION_PROTOBUF:
        return text_response(501, "mesos-sim: protobuf bodies are not simulated; send application/json")
    if content_type != JSON:
        # Compared whole: `application/json; charset=utf-8` is refused too.
        return text_response(415, f"Expecting 'Content-Type' of {JSON} or {APPLICATION_PROTOBUF}")
    try:
        body = stout_json.parse(request.body.decode("utf-8", "replace"))
    except ValueError as exc:
        return text_response(400, f"Failed to parse body into JSON: {exc}")
    try:
        call = _parse_call(body, CALL_TYPES_111 if is_111 else CALL_TYPES_101, is_111)
    except _BadCall as exc:
        return text_response(400, f"Failed to convert JSON into Call protobuf: {exc}")
    call_type = call.get("type")
    if call_type is None:
        return text_response(400, "Failed to validate master::Call: Expecting 'type' to be present")
    field = AGENT_CALLS.get(call_type) or maintenance.CALL_FIELDS.get(call_type, (None,))[0]
    if field is not None and field not in call:
        return text_response(400, f"Failed to validate master::Call: Expecting '{field}' to be present")
    if not _accepts_json(request.header("accept")):
        return text_response(406, f"Expecting 'Accept' to allow '{APPLICATION_PROTOBUF}' or '{JSON}'")
    if call_type == "UNKNOWN":
        return text_response(501, "501 Not Implemented." if is_111 else "")
    with master.state.lock:
        if call_type == "GET_AGENTS":
            return json_response({"type": "GET_AGENTS", "get_agents": get_agents(master)}, sort_keys=not is_111)
        if call_type == "GET_TASKS":
            return json_response({"type": "GET_TASKS", "get_tasks": get_tasks(master)}, sort_keys=not is_111)
        if call_type in maintenance.CALLS:
            return maintenance.v1_call(master, call_type, call)
        if field is None:
            return text_response(501, f"mesos-sim does not simulate the {call_type} call")
        agent_id = call[field]["agent_id"]["value"]
        try:
            if call_type == "DEACTIVATE_AGENT":
                draining.deactivate(master.state, agent_id)
            elif call_type == "REACTIVATE_AGENT":
                draining.reactivate(master.state, agent_id)
            else:
                draining.drain(
                    master.state,
                    agent_id,
                    call[field].get("max_grace_period"),
                    bool(call[field].get("mark_gone", False)),
                )
        except draining.OperatorError as exc:
            return text_response(exc.status, exc.message)
    return Response(200)


def _accepts_json(accept: str | None) -> bool:
    if accept is None:
        return True
    for item in accept.split(","):
        media, _, params = item.strip().partition(";")
        if "q=0" in params.replace(" ", "") and not re.search(r"q=0\.\d*[1-9]", params):
            continue
        if media.strip() in (JSON, "application/*", "*/*", APPLICATION_PROTOBUF):
            return True
    return False


def _json_kind(value) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if value is None:
        return "null"
    return "object"


def _expect(value, kind: str, name: str):
    if _json_kind(value) != kind:
        raise _BadCall(f"Not expecting a JSON {_json_kind(value)} for field '{name}'")


def _scalar(value, kind: str, name: str):
    """A number or boolean field: stout also takes a string holding that JSON value."""
    if isinstance(value, str):
        try:
            parsed = stout_json.parse(value)
        except ValueError as exc:
            raise _BadCall(f"Failed to parse '{value}' as a JSON {kind} for field '{name}': {exc}") from None
        if _json_kind(parsed) != kind:
            raise _BadCall(
                f"Failed to parse '{value}' as a JSON {kind} for field '{name}': Unexpected JSON type parsed"
            )
        return parsed
    _expect(value, kind, name)
    return value


def _duration_ns(value, name: str) -> int:
    """A google.protobuf.Duration (`{"seconds": S, "nanos": N}`, both optional) in nanoseconds.
    Like any message its unknown fields are ignored: `{"nanoseconds": N}`, the DurationInfo form
    GET_AGENTS reports durations in, reads as 0 (measured on a real 1.11.0 master). A fractional
    number is cut to an integer, as stout does for an int64 or int32 field."""
    _expect(value, "object", name)
    seconds = _scalar(value.get("seconds", 0), "number", "seconds")
    nanos = _scalar(value.get("nanos", 0), "number", "nanos")
    return int(seconds) * 1_000_000_000 + int(nanos)


def _parse_call(body, call_types, is_111: bool) -> dict:
    """stout protobuf::parse<v1::master::Call> for the fields the simulated calls use. Unknown
    fields are ignored; an unknown enum name is dropped by 1.11 and refused by 1.0.1."""
    if not isinstance(body, dict):
        raise _BadCall("Expecting a JSON object")
    call = {}
    if "type" in body:
        _expect(body["type"], "string", "type")
        if body["type"] in call_types:
            call["type"] = body["type"]
        elif not is_111:
            raise _BadCall(f"Failed to find enum for '{body['type']}'")
    for call_type, field in AGENT_CALLS.items():
        if field not in body or call_type not in call_types:
            continue
        message = body[field]
        _expect(message, "object", field)
        if "agent_id" not in message:
            raise _BadCall(f"Missing required fields: {field}.agent_id")
        _expect(message["agent_id"], "object", "agent_id")
        if "value" not in message["agent_id"]:
            raise _BadCall(f"Missing required fields: {field}.agent_id.value")
        _expect(message["agent_id"]["value"], "string", "value")
        if field == "drain_agent":
            if "max_grace_period" in message:
                message = {**message, "max_grace_period": _duration_ns(message["max_grace_period"], "max_grace_period")}
            if "mark_gone" in message:
                message = {**message, "mark_gone": _scalar(message["mark_gone"], "boolean", "mark_gone")}
        call[field] = message
    call.update(maintenance.parse_call_fields(body, call_types))
    return call


# --- GET_AGENTS ----------------------------------------------------------------------------
def v1_resources(resources: dict, role: str | None = None, allocated: bool = False) -> list:
    """Resource protobufs as JSON: scalars (zero ones left out), ranges from "[a-b, c-d]"."""
    out = []
    for name, value in resources.items():
        if isinstance(value, str):
            ranges = []
            for part in value.strip("[]").split(","):
                begin, _, end = part.strip().partition("-")
                ranges.append({"begin": int(begin), "end": int(end or begin)})
            item = {"name": name, "type": "RANGES", "ranges": {"range": ranges}}
        elif value:
            item = {"name": name, "type": "SCALAR", "scalar": {"value": float(value)}}
        else:
            continue
        if role is not None:
            item["role"] = role
        if allocated:
            item["allocation_info"] = {"role": "*"}
        out.append(item)
    return out


def v1_attributes(attributes: dict) -> list:
    """Attribute protobufs (name, type, then the value of that type) of a name -> value dict:
    a string is TEXT, a number SCALAR."""
    out = []
    for name, value in attributes.items():
        if isinstance(value, str):
            out.append({"name": name, "type": "TEXT", "text": {"value": value}})
        else:
            out.append({"name": name, "type": "SCALAR", "scalar": {"value": float(value)}})
    return out


def labels_json(labels: dict) -> list:
    """Label protobufs (`key`, required; `value` only when set), as both the v1 API (inside a
    Labels message) and the master's own JSON (json(JSON::ArrayWriter*, const Labels&) in
    src/common/http.cpp, the bare array) write them."""
    return [{"key": key} if value is None else {"key": key, "value": value} for key, value in labels.items()]


def _agent_info(agent) -> dict:
    """mesos::v1::AgentInfo as the master keeps it (`attributes` only when the agent has some)."""
    resources = {k: agent.resources[k] for k in ("cpus", "mem", "disk", "gpus", "ports") if k in agent.resources}
    info = {"hostname": agent.hostname, "port": agent.port, "resources": v1_resources(resources)}
    if agent.attributes:
        info["attributes"] = v1_attributes(agent.attributes)
    info["id"] = {"value": agent.id}
    info["checkpoint"] = True
    return info


def _nanoseconds(seconds: float) -> dict:
    return {"nanoseconds": int(seconds * 1_000_000_000)}


def agent_v1(master, agent) -> dict:
    """mesos::v1::master::Response::GetAgents::Agent (protobuf_utils.cpp createAgentResponse)."""
    is_111 = master.is_111
    resources = {k: agent.resources[k] for k in ("cpus", "mem", "disk", "gpus", "ports") if k in agent.resources}
    doc = {"agent_info": _agent_info(agent), "active": agent.active}
    if is_111:
        doc["deactivated"] = agent.deactivated
    doc["version"] = master.state.version
    doc["pid"] = agent.pid
    doc["registered_time"] = _nanoseconds(agent.registered_time)
    if agent.reregistered_time is not None:
        doc["reregistered_time"] = _nanoseconds(agent.reregistered_time)
    doc["total_resources"] = v1_resources(resources, role="*")
    allocated = v1_resources(agent.used(), role="*", allocated=is_111)
    if allocated:
        doc["allocated_resources"] = allocated
    if is_111:
        doc["capabilities"] = [{"type": c} for c in CAPABILITIES_111]
        if agent.drain_info is not None:
            doc["drain_info"] = agent.drain_info
            # Whole seconds here, while /master/slaves gives the fraction too (measured).
            doc["estimated_drain_start_time"] = {"nanoseconds": int(agent.drain_start) * 1_000_000_000}
    return doc


def get_agents(master) -> dict:
    state = master.state
    doc = {"agents": [agent_v1(master, a) for a in state.agents.values()]}
    if master.is_111:
        doc["recovered_agents"] = [_agent_info(a) for a in state.recovered.values()]
    return doc


# --- GET_TASKS -----------------------------------------------------------------------------
def task_v1(master, task) -> dict:
    """mesos::v1::Task as the master keeps it: what the scheduler launched, the latest state and
    every status update (of a TaskStatus only task_id, state, agent_id and timestamp: a real
    executor's also carry source, executor_id, uuid, container_status); `labels` is a Labels
    message, so `{"labels": [...]}`, only when the task has some. Checked against a real 1.11.0
    master."""
    doc = {
        "name": task.name,
        "task_id": {"value": task.id},
        "framework_id": {"value": task.framework_id},
        "agent_id": {"value": task.agent_id},
        "state": task.state,
        # 1.11 keeps a task's resources without the deprecated `role` (measured on a real 1.11.0
        # master, while GET_AGENTS' allocated_resources do carry it); 1.0.1 writes its default "*".
        "resources": v1_resources(task.resources, role=None if master.is_111 else "*", allocated=master.is_111),
        "statuses": [
            {"task_id": {"value": task.id}, "state": state, "agent_id": {"value": task.agent_id}, "timestamp": at}
            for state, at in task.statuses
        ],
        # The state of the latest update the master got (master.cpp, updateTask).
        "status_update_state": task.state,
    }
    if task.labels:
        doc["labels"] = {"labels": labels_json(task.labels)}
    return doc


def get_tasks(master) -> dict:
    """Response.GetTasks: every framework's active, then completed tasks (1.0.1 _getTasks in
    src/master/http.cpp writes the message through JSON::protobuf, so an empty list is left out;
    1.11 jsonifyGetTasks in src/master/readonly_handler.cpp writes tasks, unreachable_tasks and
    completed_tasks, empty or not)."""
    active, completed = [], []
    for framework in master.state.frameworks.values():
        running, done = master.framework_tasks(framework)
        active += [task_v1(master, t) for t in running]
        completed += [task_v1(master, t) for t in done]
    if master.is_111:
        return {"tasks": active, "unreachable_tasks": [], "completed_tasks": completed}
    doc = {}
    if active:
        doc["tasks"] = active
    if completed:
        doc["completed_tasks"] = completed
    return doc
