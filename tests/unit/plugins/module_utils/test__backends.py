# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The parts of the backends that need no master: what the native backend tells from a snapshot, and how it
folds its own changes into the entries it read. The calls themselves run against the simulator and a real
master (tests/functional/test_playbook_native.py, tests/contract/test_contract_native_backend.py)."""

from __future__ import annotations

import inspect

import pytest

from ansible_collections.mesos.maintenance.plugins.module_utils._backend import (
    Backend,
    Snapshot,
    refuse_foreign_options,
)
from ansible_collections.mesos.maintenance.plugins.module_utils._backends import (
    BACKENDS,
    AllocatorBackend,
    NativeBackend,
    duration,
)
from ansible_collections.mesos.maintenance.plugins.module_utils._errors import MesosError
from ansible_collections.mesos.maintenance.plugins.module_utils._filters import AgentIndex, InputError

ENTRIES = [
    {"agent_id": "S1", "hostname": "h1", "drain_state": None},
    {"agent_id": "S2", "hostname": "h2", "drain_state": "DRAINED"},
]
SNAPSHOT = Snapshot(AgentIndex([{"id": "S%d" % n, "hostname": "h%d" % n} for n in range(4)]), ENTRIES)


@pytest.mark.parametrize(
    "drain, expected",
    [(False, {"S0": False, "S1": True, "S2": True}), (True, {"S0": False, "S1": False, "S2": True})],
)
def test_is_filtered(drain, expected):
    backend = NativeBackend(client=None, drain=drain)
    assert {aid: backend.is_filtered(SNAPSHOT, aid) for aid in expected} == expected


@pytest.mark.parametrize(
    "drain, slave, remaining",
    [
        (False, {"TASK_RUNNING": 2}, "2 active"),
        (False, {"TASK_RUNNING": 0, "drain_info": {"state": "DRAINING"}}, None),
        (True, {"TASK_RUNNING": 1, "drain_info": {"state": "DRAINING"}}, "drain DRAINING, 1 active"),
        (True, {}, "drain not started, 0 active"),
        (True, {"drain_info": {"state": "DRAINED"}}, None),
    ],
)
def test_remaining(drain, slave, remaining):
    assert NativeBackend(client=None, drain=drain).remaining(slave) == remaining


def test_filters_after_folds_in_the_changes_made():
    backend = NativeBackend(client=None, drain=True)
    backend._changed = {
        "S1": {"agent_id": "S1", "hostname": "h1", "drain_state": "DRAINING"},  # drained after deactivation
        "S2": None,  # reactivated
        "S3": {"agent_id": "S3", "hostname": "h3", "drain_state": "DRAINING"},  # new
    }
    assert backend.filters_after(ENTRIES) == [
        {"agent_id": "S1", "hostname": "h1", "drain_state": "DRAINING"},
        {"agent_id": "S3", "hostname": "h3", "drain_state": "DRAINING"},
    ]
    assert backend.filters_after(ENTRIES, gone={"S1"}) == [
        {"agent_id": "S3", "hostname": "h3", "drain_state": "DRAINING"}
    ]


@pytest.mark.parametrize(
    "seconds, expected",
    [
        (5, {"seconds": 5, "nanos": 0}),
        (2.5, {"seconds": 2, "nanos": 500000000}),
        (0, {"seconds": 0, "nanos": 0}),
        (1e-9, {"seconds": 0, "nanos": 1}),
        (0.1 + 0.2, {"seconds": 0, "nanos": 300000000}),  # rounded to whole nanoseconds
        (86400.000000001, {"seconds": 86400, "nanos": 1}),
    ],
)
def test_duration_is_a_protobuf_duration(seconds, expected):
    # DRAIN_AGENT's max_grace_period: Mesos drops an unknown {"nanoseconds"} field and drains with 0 s.
    assert duration(seconds) == expected


# The masters' answers when an agent is gone between offer_filter's poll and its re-assert (it came back under a
# new id): the wait loop then finds it again by hostname instead of failing.
@pytest.mark.parametrize(
    "backend, status, body, unknown",
    [
        (AllocatorBackend, 400, "No such agent matching agentId==S1", True),
        (AllocatorBackend, 400, "body requires 'agentId' and/or 'hostname' attributes", False),
        (AllocatorBackend, 503, "No leader elected", False),
        (NativeBackend, 400, "Unknown agent", True),
        (NativeBackend, 400, "Failed to convert JSON into Call protobuf", False),
        (NativeBackend, 500, "Unknown agent", False),
    ],
)
def test_is_unknown_agent(backend, status, body, unknown):
    error = MesosError("POST failed", method="POST", url="http://m1:5050", status=status, body=body)
    assert backend.is_unknown_agent(error) is unknown


# --- one interface -----------------------------------------------------------------------------------------------


def test_a_backend_without_the_whole_interface_cannot_be_made():
    class Partial(Backend):
        name = "partial"

        def read(self):
            return SNAPSHOT

    # Python refuses to make an abstract class (pylint refuses the call before a test could show it).
    assert inspect.isabstract(Partial)
    assert Partial.__abstractmethods__ == {
        "plan",
        "filter",
        "unfilter",
        "filters_after",
        "predict",
        "is_unknown_agent",
        "inventory",
    }
    for cls in BACKENDS.values():
        assert not inspect.isabstract(cls), cls.__abstractmethods__


def test_every_backend_is_one_class_with_options_of_its_own():
    assert sorted(BACKENDS) == ["allocator", "native", "schedule"]
    for name, cls in BACKENDS.items():
        assert issubclass(cls, Backend) and cls.name == name and cls.summary and cls.label
    owners = [option for cls in BACKENDS.values() for option in cls.options]
    assert len(owners) == len(set(owners)), owners


@pytest.mark.parametrize(
    "backend, params, chosen_by, fragments",
    [
        ("allocator", {"drain": True}, None, ["drain: only with backend=native", "backend=allocator was asked for"]),
        (
            "native",
            {"window_duration": 60.0, "down": True},
            None,
            ["window_duration, down: only with backend=schedule", "backend=native was asked for"],
        ),
        (
            "schedule",
            {"drain": True, "mark_gone": True},
            "http://m1:5050",
            ["drain, mark_gone: only with backend=native", "backend=auto chose schedule for the leading master at"],
        ),
    ],
)
def test_options_of_another_backend_are_refused(backend, params, chosen_by, fragments):
    with pytest.raises(InputError) as error:
        refuse_foreign_options(BACKENDS[backend], dict(params, backend=backend), BACKENDS.values(), chosen_by)
    for fragment in fragments + ["nothing was changed"]:
        assert fragment in str(error.value)


@pytest.mark.parametrize("backend", ["allocator", "native", "schedule"])
def test_own_options_and_unset_ones_pass(backend):
    params = {"drain": False, "drain_grace_period": None, "mark_gone": False, "window_duration": None, "down": False}
    params.update((option, 1.0) for option in BACKENDS[backend].options)
    refuse_foreign_options(BACKENDS[backend], params, BACKENDS.values())
