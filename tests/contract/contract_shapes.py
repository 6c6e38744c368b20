"""The JSON documents of a Mesos 1.11 master as field lists: name, JSON type, and whether it
is optional (a trailing "?"), in the order the master writes them. Read off a real 1.11.0 master
and src/master/readonly_handler.cpp; the contract suite holds both peers to them.
"""

from __future__ import annotations

import re

TASK_COUNTS = [
    "TASK_STAGING",
    "TASK_STARTING",
    "TASK_RUNNING",
    "TASK_KILLING",
    "TASK_FINISHED",
    "TASK_KILLED",
    "TASK_FAILED",
    "TASK_LOST",
    "TASK_ERROR",
    "TASK_UNREACHABLE",
]

VERSION = [
    ("build_date", str),
    ("build_time", float),
    ("build_user", str),
    ("git_branch?", str),
    ("git_sha?", str),
    ("git_tag?", str),
    ("version", str),
]
STATE = [
    ("version", str),
    ("git_sha?", str),
    ("git_branch?", str),
    ("git_tag?", str),
    ("build_date", str),
    ("build_time", float),
    ("build_user", str),
    ("start_time", float),
    ("elected_time", float),
    ("id", str),
    ("pid", str),
    ("hostname", str),
    ("capabilities", list),
    ("activated_slaves", float),
    ("deactivated_slaves", float),
    ("unreachable_slaves", float),
    ("domain?", dict),
    ("leader", str),
    ("leader_info", dict),
    ("cluster?", str),
    ("log_dir?", str),
    ("external_log_file?", str),
    ("flags", dict),
    ("slaves", list),
    ("recovered_slaves", list),
    ("frameworks", list),
    ("completed_frameworks", list),
    ("orphan_tasks", list),
    ("unregistered_frameworks", list),
]
LEADER_INFO = [("id", str), ("pid", str), ("port", int), ("hostname", str), ("domain?", dict)]
SLAVE = [
    ("id", str),
    ("hostname", str),
    ("port", int),
    ("attributes", dict),
    ("domain?", dict),
    ("pid", str),
    ("registered_time", float),
    ("reregistered_time?", float),
    ("resources", dict),
    ("used_resources", dict),
    ("offered_resources", dict),
    ("reserved_resources", dict),
    ("unreserved_resources", dict),
    ("active", bool),
    ("deactivated", bool),
    ("version", str),
    ("capabilities", list),
    ("drain_info?", dict),
    ("estimated_drain_start_time_seconds?", float),
]
SUMMARY_SLAVE = SLAVE + [(state, int) for state in TASK_COUNTS] + [("framework_ids", list)]
SLAVES_SLAVE = SLAVE + [
    ("reserved_resources_full", dict),
    ("unreserved_resources_full", list),
    ("used_resources_full", list),
    ("offered_resources_full", list),
]
STATE_SUMMARY = [("hostname", str), ("cluster?", str), ("slaves", list), ("frameworks", list)]
# What a framework summary and a full framework object both start with.
_FRAMEWORK_SUMMARY = [
    ("id", str),
    ("name", str),
    ("pid?", str),
    ("used_resources", dict),
    ("offered_resources", dict),
    ("capabilities", list),
    ("hostname", str),
    ("webui_url", str),
    ("active", bool),
    ("connected", bool),
    ("recovered", bool),
]
SUMMARY_FRAMEWORK = _FRAMEWORK_SUMMARY + [(state, int) for state in TASK_COUNTS] + [("slave_ids", list)]
FRAMEWORK = _FRAMEWORK_SUMMARY + [
    ("user", str),
    ("failover_timeout", float),
    ("checkpoint", bool),
    ("registered_time", float),
    ("unregistered_time", float),
    ("principal?", str),
    ("resources", dict),
    ("role?", str),
    ("roles?", list),
    ("reregistered_time?", float),
    ("tasks", list),
    ("unreachable_tasks", list),
    ("completed_tasks", list),
    ("offers", list),
    ("executors", list),
    ("offer_constraints", dict),
    ("labels?", list),
]
SLAVES = [("slaves", list), ("recovered_slaves", list)]
FRAMEWORKS = [("frameworks", list), ("completed_frameworks", list), ("unregistered_frameworks", list)]

# GET_AGENTS (v1 operator API).
GET_AGENTS = [("agents", list), ("recovered_agents", list)]
V1_AGENT = [
    ("agent_info", dict),
    ("active", bool),
    ("deactivated", bool),
    ("version", str),
    ("pid", str),
    ("registered_time", dict),
    ("reregistered_time?", dict),
    ("total_resources", list),
    ("allocated_resources?", list),
    ("offered_resources?", list),
    ("capabilities", list),
    ("resource_providers?", list),
    ("drain_info?", dict),
    ("estimated_drain_start_time?", dict),
]
V1_AGENT_INFO = [
    ("hostname", str),
    ("port", int),
    ("resources", list),
    ("attributes?", list),
    ("id", dict),
    ("checkpoint", bool),
    ("domain?", dict),
]

RANGES = re.compile(r"^\[\d+-\d+(, \d+-\d+)*\]$")


def check(doc, spec, where: str) -> None:
    """`doc` has every required field of `spec`, no other, each of its type, in spec order."""
    assert isinstance(doc, dict), f"{where}: not an object: {doc!r}"
    fields = {name.rstrip("?"): (kind, name.endswith("?")) for name, kind in spec}
    unknown = [key for key in doc if key not in fields]
    assert not unknown, f"{where}: fields Mesos does not write: {unknown}"
    missing = [name for name, (_, optional) in fields.items() if not optional and name not in doc]
    assert not missing, f"{where}: missing fields: {missing}"
    for key, value in doc.items():
        kind = fields[key][0]
        # bool is an int in Python; JSON keeps them apart.
        ok = isinstance(value, kind) and not (kind in (int, float) and isinstance(value, bool))
        assert ok, f"{where}: {key} is {type(value).__name__} {value!r}, Mesos writes {kind.__name__}"
    order = [name.rstrip("?") for name, _ in spec]
    present = [key for key in order if key in doc]
    assert list(doc) == present, f"{where}: field order {list(doc)}, Mesos writes {present}"


def check_resources(resources: dict, where: str) -> None:
    """A Resources object: cpus, gpus, mem and disk always, as doubles; ranges as "[a-b, ...]"."""
    assert {"cpus", "gpus", "mem", "disk"} <= set(resources), f"{where}: {resources}"
    for name, value in resources.items():
        if isinstance(value, str):
            assert RANGES.match(value), f"{where}: {name} = {value!r}"
        else:
            assert isinstance(value, float), f"{where}: {name} = {value!r} is not a double"
