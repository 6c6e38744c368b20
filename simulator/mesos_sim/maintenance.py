"""Mesos' maintenance primitives (Mesos 0.25+): the maintenance schedule, machine modes UP, DRAINING
and DOWN, `machine/down` and `machine/up`, and the inverse-offer answers `/master/maintenance/status`
reports. The v1 calls (GET_MAINTENANCE_SCHEDULE, UPDATE_MAINTENANCE_SCHEDULE, START_MAINTENANCE,
STOP_MAINTENANCE, GET_MAINTENANCE_STATUS) are answered by operator_api.py with the functions here.

Source: apache/mesos 1.11.0 src/master/maintenance.cpp (the validation and its texts),
src/master/http.cpp (`maintenanceSchedule`, `___updateMaintenanceSchedule`, `_startMaintenance`,
`_stopMaintenance`, `_getMaintenanceStatus`), src/master/master.cpp (an agent's machine, the refusal
of agents on a DOWN machine), include/mesos/type_utils.hpp (MachineID equality), stout's
protobuf::parse; checked against a real 1.11.0 master by tests/contract:

- a machine is a MachineID, `hostname` and/or `ip`; two ids are the same machine when they set the
  same fields, with equal hostnames ignoring case and equal ips. The master knows an agent's machine
  as its hostname and the IP of its pid, and keeps every machine under the id it first met it by
  (an agent's when the agent registered first): that is the id the status reports;
- posting a schedule replaces the whole schedule. Machines new to it become DRAINING, machines left
  out go back to UP, a DOWN machine cannot be left out. Agents on a DRAINING machine stay active and
  keep getting offers (carrying the window's `unavailability`); nothing in /master/state or
  GET_AGENTS shows it;
- `machine/down` takes DRAINING machines only: the master removes their agents (their tasks are
  lost) and refuses any agent of a DOWN machine that (re-)registers. `machine/up` takes DOWN
  machines only, makes them UP and drops them from the schedule;
- the schedule and the modes live in the registry and outlive a failover; the frameworks' answers
  to inverse offers live in the allocator and do not. Every (re)scheduling of a machine resets
  them, as the allocator starts a new maintenance for its agents.

Callers hold `state.lock`.
"""

from __future__ import annotations

import json
import socket
import time
from dataclasses import dataclass, field

from . import (
    operator_api,  # which imports this module: each uses the other only inside functions
    stout_json,
)
from .draining import OperatorError
from .http import Request, Response, json_response, text_response

UP = "UP"
DRAINING = "DRAINING"
DOWN = "DOWN"
# A framework's answer to an inverse offer (the master records these two; the allocator CHECKs
# that it is never told InverseOfferStatus UNKNOWN).
INVERSE_OFFER_ANSWERS = ("ACCEPT", "DECLINE")

# The messages the maintenance endpoints and calls carry, as stout's protobuf::parse sees them:
# field -> (type, label) in declaration order (include/mesos/maintenance/maintenance.proto,
# include/mesos/mesos.proto, include/mesos/v1/master/master.proto).
REQUIRED, OPTIONAL, REPEATED = "required", "optional", "repeated"
MESSAGES = {
    "Schedule": {"windows": ("Window", REPEATED)},
    "Window": {"machine_ids": ("MachineID", REPEATED), "unavailability": ("Unavailability", REQUIRED)},
    "Unavailability": {"start": ("TimeInfo", REQUIRED), "duration": ("DurationInfo", OPTIONAL)},
    "TimeInfo": {"nanoseconds": ("int64", REQUIRED)},
    "DurationInfo": {"nanoseconds": ("int64", REQUIRED)},
    "MachineID": {"hostname": ("string", OPTIONAL), "ip": ("string", OPTIONAL)},
    "UpdateMaintenanceSchedule": {"schedule": ("Schedule", REQUIRED)},
    "StartMaintenance": {"machines": ("MachineID", REPEATED)},
    "StopMaintenance": {"machines": ("MachineID", REPEATED)},
}
# The v1 calls that carry a message, and its field in the Call.
CALL_FIELDS = {
    "UPDATE_MAINTENANCE_SCHEDULE": ("update_maintenance_schedule", "UpdateMaintenanceSchedule"),
    "START_MAINTENANCE": ("start_maintenance", "StartMaintenance"),
    "STOP_MAINTENANCE": ("stop_maintenance", "StopMaintenance"),
}
CALLS = ("GET_MAINTENANCE_SCHEDULE", "GET_MAINTENANCE_STATUS", *CALL_FIELDS)
# Endpoint -> the methods it takes (src/master/http.cpp, MethodNotAllowed).
ENDPOINTS = {
    "/master/maintenance/schedule": ("GET", "POST"),
    "/master/maintenance/status": ("GET",),
    "/master/machine/down": ("POST",),
    "/master/machine/up": ("POST",),
}


@dataclass
class Machine:
    """An entry of the master's `machines`: the id it was first known by, its mode and window."""

    id: dict
    mode: str = UP
    unavailability: dict | None = None


@dataclass
class Registry:
    """What the master's registry holds of maintenance: the posted schedule, as a Schedule message,
    and the machines it ever scheduled by key (a machine brought up stays, UP, as in the master's
    memory)."""

    schedule: dict = field(default_factory=dict)
    machines: dict = field(default_factory=dict)


# --- stout's JSON -> protobuf conversion ---------------------------------------------------
def parse_message(value: dict, message: str) -> dict:
    """`value` (a JSON object) as the protobuf `message`, written back as the v1 API writes it:
    fields in declaration order, set ones only. Raises operator_api's conversion error with
    stout's texts: a wrong JSON type for a field, then the required fields left unset."""
    doc = _parse_object(value, message)
    _require(doc, message, "")
    return doc


def parse_call_fields(body: dict, call_types) -> dict:
    """The messages of the maintenance calls a v1 Call body carries, by field name."""
    fields = {}
    for call_type, (name, message) in CALL_FIELDS.items():
        if call_type in call_types and name in body:
            _parse_field(fields, name, (message, OPTIONAL), body[name])
            if name in fields:
                _require(fields[name], message, name + ".")
    return fields


def _require(doc: dict, message: str, prefix: str):
    missing = _missing(doc, message, prefix)
    if missing:
        raise _conversion_error("Missing required fields: " + ", ".join(missing))


def _conversion_error(text: str) -> Exception:
    return operator_api._BadCall(text)


def _parse_object(value: dict, message: str) -> dict:
    fields = MESSAGES[message]
    parsed = {}
    # A JSON object is a std::map: stout visits its fields in key order and stops at the first error.
    for name in sorted(value):
        if name in fields:
            _parse_field(parsed, name, fields[name], value[name])
    return {name: parsed[name] for name in fields if name in parsed}


def _parse_field(parsed: dict, name: str, spec: tuple, value):
    kind, label = spec
    if value is None:  # null leaves a field unset
        return
    if isinstance(value, list):
        if label != REPEATED:
            raise _conversion_error(f"Not expecting a JSON array for field '{name}'")
        for item in value:  # each element as if it were the field's value: nested arrays flatten
            _parse_field(parsed, name, spec, item)
        return
    if kind in MESSAGES:
        if not isinstance(value, dict):
            raise _conversion_error(f"Not expecting a JSON {operator_api._json_kind(value)} for field '{name}'")
        item = _parse_object(value, kind)
    elif kind == "int64":
        item = _int64(value, name)
    elif isinstance(value, str):
        item = value
    else:
        raise _conversion_error(f"Not expecting a JSON {operator_api._json_kind(value)} for field '{name}'")
    if label == REPEATED:
        parsed.setdefault(name, []).append(item)
    else:
        parsed[name] = item


def _int64(value, name: str) -> int:
    """A number, or a string holding one; a fraction is cut off."""
    return int(operator_api._scalar(value, "number", name))


def _missing(doc: dict, message: str, prefix: str) -> list[str]:
    """protobuf's InitializationErrorString: this message's unset required fields, then those of
    its set message fields, in declaration order."""
    fields = MESSAGES[message]
    missing = [prefix + name for name, (_, label) in fields.items() if label == REQUIRED and name not in doc]
    for name, (kind, label) in fields.items():
        if kind not in MESSAGES or name not in doc:
            continue
        items = doc[name] if label == REPEATED else [doc[name]]
        for index, item in enumerate(items):
            path = f"{prefix}{name}[{index}]." if label == REPEATED else f"{prefix}{name}."
            missing += _missing(item, kind, path)
    return missing


def parse_machine_list(body: bytes) -> list[dict]:
    """The body of machine/down and machine/up: a JSON array of MachineIDs."""
    value = _json_body(body, list)
    for item in value:
        if not isinstance(item, dict):
            raise _conversion_error("Expecting a JSON object")
    return [parse_message(item, "MachineID") for item in value]


def _json_body(body: bytes, kind: type):
    """JSON::parse<JSON::Object> / <JSON::Array> of a request body, with stout's texts."""
    try:
        value = stout_json.parse(body.decode("utf-8", "replace"))
    except ValueError as exc:
        raise _conversion_error(str(exc)) from None
    if not isinstance(value, kind):
        raise _conversion_error(stout_json.WRONG_TYPE)
    return value


# --- machines ------------------------------------------------------------------------------
def machine_key(machine_id: dict) -> tuple:
    """What MachineID's operator== compares: which fields are set, the hostname in lower case, the ip."""
    return (
        "hostname" in machine_id,
        machine_id.get("hostname", "").lower(),
        "ip" in machine_id,
        machine_id.get("ip", ""),
    )


def agent_machine(agent) -> dict:
    """The agent's MachineID as the master builds it: its hostname and the IP of its pid."""
    return {"hostname": agent.hostname, "ip": agent.pid.rsplit("@", 1)[1].rsplit(":", 1)[0]}


def machine_text(machine_id: dict) -> str:
    """stringify(JSON::protobuf(id)), as the refusals quote a machine."""
    return json.dumps(machine_id, separators=(",", ":"), sort_keys=True)


def _agents_on(state, key: tuple) -> list:
    """The registered agents on the machine (Machine.slaves in the master)."""
    return [a for a in state.agents.values() if machine_key(agent_machine(a)) == key]


def _known(state, key: tuple) -> Machine | None:
    """The master's entry for the machine: a scheduled one, or UP where an agent ever registered."""
    machine = state.maintenance.machines.get(key)
    if machine is not None:
        return machine
    for agent in list(state.agents.values()) + list(state.removed.values()):
        if machine_key(agent_machine(agent)) == key:
            return Machine(agent_machine(agent))
    return None


# --- validation (src/master/maintenance.cpp, namespace validation) ------------------------
def validate_machine(machine_id: dict):
    if not machine_id.get("hostname") and not machine_id.get("ip"):
        raise OperatorError("Both 'hostname' and 'ip' for a machine are empty")
    if machine_id.get("ip"):
        try:
            socket.inet_pton(socket.AF_INET, machine_id["ip"])  # net::IP::parse(ip, AF_INET)
        except OSError:
            raise OperatorError(f"Failed to parse IPv4: {machine_id['ip']}") from None


def validate_machines(machine_ids: list[dict]):
    if not machine_ids:
        raise OperatorError("List of machines is empty")
    seen = set()
    for machine_id in machine_ids:
        validate_machine(machine_id)
        _check_unique(machine_id, seen)


def _check_unique(machine_id: dict, seen: set):
    key = machine_key(machine_id)
    if key in seen:
        raise OperatorError(f"Machine '{machine_text(machine_id)}' appears more than once in the schedule")
    seen.add(key)


def validate_schedule(state, schedule: dict):
    seen = set()
    for window in schedule.get("windows", []):
        if not window.get("machine_ids"):
            raise OperatorError("List of machines in the maintenance window is empty")
        if window["unavailability"].get("duration", {}).get("nanoseconds", 0) < 0:
            raise OperatorError("Unavailability 'duration' is negative")
        for machine_id in window["machine_ids"]:
            validate_machine(machine_id)
            _check_unique(machine_id, seen)
    for key, machine in state.maintenance.machines.items():
        if machine.mode == DOWN and key not in seen:
            raise OperatorError(
                f"Machine '{machine_text(machine.id)}' is deactivated and cannot be removed from the schedule"
            )


# --- operations ----------------------------------------------------------------------------
def _set_unavailability(state, key: tuple, machine: Machine, unavailability: dict | None):
    """Master::updateUnavailability: the allocator starts over with the machine's agents, so the
    frameworks' answers to the earlier inverse offers are gone."""
    machine.unavailability = unavailability
    for agent in _agents_on(state, key):
        state.allocator.inverse_offers.pop(agent.id, None)


def update_schedule(state, schedule: dict):
    """Replace the schedule (___updateMaintenanceSchedule): machines that stay keep their mode and
    take their new window, machines left out go back UP, new ones become DRAINING."""
    validate_schedule(state, schedule)
    windows = {}
    for window in schedule.get("windows", []):
        for machine_id in window["machine_ids"]:
            windows[machine_key(machine_id)] = (machine_id, window["unavailability"])
    registry = state.maintenance
    for key, machine in registry.machines.items():
        if key not in windows:
            machine.mode = UP
            _set_unavailability(state, key, machine, None)
        elif machine.mode != UP:
            _set_unavailability(state, key, machine, windows[key][1])
    for key, (machine_id, unavailability) in windows.items():
        machine = registry.machines.get(key) or _known(state, key) or Machine(machine_id)
        if machine.mode != UP:
            continue
        machine.mode = DRAINING
        registry.machines[key] = machine
        _set_unavailability(state, key, machine, unavailability)
    registry.schedule = schedule


def _check_modes(state, machine_ids: list[dict], mode: str, refusal: str):
    validate_machines(machine_ids)
    for machine_id in machine_ids:
        machine = _known(state, machine_key(machine_id))
        if machine is None:
            raise OperatorError(f"Machine '{machine_text(machine_id)}' is not part of a maintenance schedule")
        if machine.mode != mode:
            raise OperatorError(f"Machine '{machine_text(machine_id)}' {refusal}")


def start_maintenance(state, machine_ids: list[dict]):
    """machine/down, START_MAINTENANCE: DRAINING machines go DOWN and their agents are shut down and
    removed (their tasks TASK_LOST)."""
    _check_modes(state, machine_ids, DRAINING, "is not in DRAINING mode and cannot be brought down")
    for machine_id in machine_ids:
        key = machine_key(machine_id)
        for agent in _agents_on(state, key):
            state.remove_agent(agent.id)
        state.maintenance.machines[key].mode = DOWN


def stop_maintenance(state, machine_ids: list[dict]):
    """machine/up, STOP_MAINTENANCE: DOWN machines go UP and leave the schedule; a window left
    empty goes, and so does an empty schedule."""
    _check_modes(state, machine_ids, DOWN, "is not in DOWN mode and cannot be brought up")
    keys = {machine_key(m) for m in machine_ids}
    for key in keys:
        machine = state.maintenance.machines[key]
        machine.mode = UP
        machine.unavailability = None
    windows = []
    for window in state.maintenance.schedule.get("windows", []):
        kept = [m for m in window["machine_ids"] if machine_key(m) not in keys]
        if kept:
            windows.append({**window, "machine_ids": kept})
    state.maintenance.schedule = {"windows": windows} if windows else {}


def refuse_registration(state, hostname: str, ip: str = "127.0.0.1"):
    """An agent on a DOWN machine may not register or re-register: the master sends it a
    ShutdownMessage ("Machine is `DOWN`") and it exits. (Every simulated agent's pid is on
    127.0.0.1, see state.Agent.pid.)"""
    machine = state.maintenance.machines.get(machine_key({"hostname": hostname, "ip": ip}))
    if machine is not None and machine.mode == DOWN:
        raise RuntimeError(f"the master refused the agent: its machine '{machine_text(machine.id)}' is DOWN")


def respond_inverse_offer(state, agent_id: str, status: str, framework_id: str):
    """A framework answers the inverse offer for an agent on a DRAINING machine
    (HierarchicalAllocatorProcess::updateInverseOffer); the latest answer per framework counts."""
    if status not in INVERSE_OFFER_ANSWERS:
        raise ValueError(f"status must be one of {INVERSE_OFFER_ANSWERS}, not {status!r}")
    agent = state.agents.get(agent_id)
    machine = agent and state.maintenance.machines.get(machine_key(agent_machine(agent)))
    if machine is None or machine.mode != DRAINING:
        raise ValueError(f"agent {agent_id!r} is not registered on a DRAINING machine: it has no inverse offer")
    if framework_id not in state.frameworks:
        raise ValueError(f"unknown framework {framework_id!r}")
    state.allocator.inverse_offers.setdefault(agent_id, {})[framework_id] = (status, time.time())


# --- documents -----------------------------------------------------------------------------
def cluster_status(state) -> dict:
    """maintenance::ClusterStatus: each DRAINING machine with the latest inverse-offer answers of
    the frameworks on its agents, then the DOWN machines (UP ones are not listed)."""
    draining, down = [], []
    for key, machine in state.maintenance.machines.items():
        if machine.mode == DRAINING:
            statuses = [
                {"status": status, "framework_id": {"value": framework_id}, "timestamp": _time_info(at)}
                for agent in _agents_on(state, key)
                for framework_id, (status, at) in state.allocator.inverse_offers.get(agent.id, {}).items()
            ]
            draining.append({"id": machine.id, "statuses": statuses} if statuses else {"id": machine.id})
        elif machine.mode == DOWN:
            down.append(machine.id)
    # Repeated fields are written only when they are not empty.
    return {name: ids for name, ids in (("draining_machines", draining), ("down_machines", down)) if ids}


def _time_info(seconds: float) -> dict:
    return {"nanoseconds": int(seconds * 1_000_000_000)}


# --- the endpoints -------------------------------------------------------------------------
def handle(master, request: Request) -> Response:
    """/master/maintenance/schedule, /master/maintenance/status, /master/machine/down and
    /master/machine/up on the leader (MasterApp.route authenticates and redirects first).
    JSON::protobuf writes a JSON::Object, so the documents come out with sorted keys."""
    allowed = ENDPOINTS[request.path]
    if request.method not in allowed:
        methods = ", ".join(f"'{m}'" for m in allowed)
        text = f"Expecting one of {{ {methods} }}, but received '{request.method}'"
        if master.is_111:
            text = f"405 Method Not Allowed. {text}."
        return text_response(405, text, {"Allow": ", ".join(allowed)})
    state = master.state
    with state.lock:
        if request.method == "GET":
            if request.path.endswith("/status"):
                return json_response(cluster_status(state), sort_keys=True)
            return json_response(state.maintenance.schedule, sort_keys=True)
        try:
            if request.path.endswith("/schedule"):
                update_schedule(state, parse_message(_json_body(request.body, dict), "Schedule"))
            elif request.path.endswith("/down"):
                start_maintenance(state, parse_machine_list(request.body))
            else:
                stop_maintenance(state, parse_machine_list(request.body))
        except (operator_api._BadCall, OperatorError) as exc:
            return text_response(400, str(exc))
    return Response(200)


def v1_call(master, call_type: str, call: dict) -> Response:
    """The v1 maintenance calls (operator_api.handle has parsed and validated the Call). 1.0.1
    answers the GETs with the bare Schedule / ClusterStatus (its `evolve()` of the message, not a
    Response), 1.11 with a Response."""
    state = master.state
    if call_type in ("GET_MAINTENANCE_SCHEDULE", "GET_MAINTENANCE_STATUS"):
        name = call_type.lower()
        if call_type == "GET_MAINTENANCE_SCHEDULE":
            doc = {"schedule": state.maintenance.schedule}
        else:
            doc = {"status": cluster_status(state)}
        if not master.is_111:
            return json_response(next(iter(doc.values())), sort_keys=True)
        return json_response({"type": call_type, name: doc})
    field_name, _ = CALL_FIELDS[call_type]
    message = call[field_name]
    try:
        if call_type == "UPDATE_MAINTENANCE_SCHEDULE":
            update_schedule(state, message["schedule"])
        elif call_type == "START_MAINTENANCE":
            start_maintenance(state, message.get("machines", []))
        else:
            stop_maintenance(state, message.get("machines", []))
    except OperatorError as exc:
        return text_response(exc.status, exc.message)
    return Response(200)
