# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The native backend's pure logic: agents as Mesos 1.9+ shows them (deactivated, drain_info)."""

from __future__ import annotations

import pytest

from ansible_collections.mesos.maintenance.plugins.module_utils._filters import (
    AgentIndex,
    check_max_filtered,
    compute_native_plan,
    deactivated_entries,
    drain_state,
    filter_lines,
    native_agent_report,
    native_slave,
    parse_max_filtered,
    parse_version,
    predict_native_filters,
    resolve_targets,
)


def agent(n, active=True, deactivated=False, drain=None, running=0):
    doc = {
        "id": "c0ffee-S%d" % n,
        "hostname": "agent-%d.example" % n,
        "active": active and not deactivated,  # Mesos shows a deactivated agent inactive
        "deactivated": deactivated,
        "TASK_RUNNING": running,
        "resources": {"cpus": 2.0},
    }
    if drain:
        doc["drain_info"] = {"state": drain, "config": {"mark_gone": False}}
    return doc


# S0 plain, S1 deactivated, S2 draining, S3 drained, S4 disconnected (not deactivated)
RAW = [
    agent(0),
    agent(1, deactivated=True),
    agent(2, deactivated=True, drain="DRAINING", running=1),
    agent(3, deactivated=True, drain="DRAINED"),
    agent(4, active=False),
]
SLAVES = [native_slave(s) for s in RAW]
AGENTS = AgentIndex(SLAVES)
ENTRIES = deactivated_entries(SLAVES)


def ids(*numbers):
    return ["c0ffee-S%d" % n for n in numbers]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("1.11.0", (1, 11, 0)),
        ("1.9.0", (1, 9, 0)),
        ("1.0.1", (1, 0, 1)),
        ("1.12.0-dev", (1, 12, 0)),
        ("1", None),
        ("one.two", None),
        (None, None),
        (11, None),
    ],
)
def test_parse_version(text, expected):
    assert parse_version(text) == expected


def test_native_slave_counts_deactivated_as_connected_and_disconnected_as_not():
    assert [s["active"] for s in SLAVES] == [True, True, True, True, False]
    assert AGENTS.inactive_ids() == ids(4)
    assert RAW[1]["active"] is False  # the input is left alone


def test_deactivated_entries_and_drain_state():
    assert ENTRIES == [
        {"agent_id": "c0ffee-S1", "hostname": "agent-1.example", "drain_state": None},
        {"agent_id": "c0ffee-S2", "hostname": "agent-2.example", "drain_state": "DRAINING"},
        {"agent_id": "c0ffee-S3", "hostname": "agent-3.example", "drain_state": "DRAINED"},
    ]
    assert drain_state({"drain_info": None}) is None
    assert drain_state({}) is None


@pytest.mark.parametrize(
    "state, exclusive, drain, named, add, remove",
    [
        ("present", False, False, (0, 1), (0,), ()),
        ("present", False, True, (0, 1, 2, 3), (0, 1), ()),  # only deactivated: still to drain
        ("present", True, False, (1,), (), (2, 3)),
        ("present", True, False, (), (), (1, 2, 3)),  # the disconnected S4 is never touched
        ("absent", False, False, (0, 1, 3, 4), (), (1, 3)),
        ("absent", False, True, (1,), (), (1,)),
    ],
)
def test_compute_native_plan(state, exclusive, drain, named, add, remove):
    targets = resolve_targets(ids(*named), [], AGENTS, ENTRIES)
    plan = compute_native_plan(state, exclusive, targets, ENTRIES, AGENTS, drain)
    assert (plan.add, plan.remove, plan.keep_disconnected) == (ids(*add), ids(*remove), [])


def test_predict_native_filters():
    targets = resolve_targets(ids(0, 1), [], AGENTS, ENTRIES)
    plan = compute_native_plan("present", True, targets, ENTRIES, AGENTS, True)
    after = predict_native_filters(ENTRIES, plan, targets, AGENTS, True)
    assert after == [
        {"agent_id": "c0ffee-S1", "hostname": "agent-1.example", "drain_state": "DRAINING"},
        {"agent_id": "c0ffee-S0", "hostname": "agent-0.example", "drain_state": "DRAINING"},
    ]
    assert filter_lines(after) == "c0ffee-S0 agent-0.example DRAINING\nc0ffee-S1 agent-1.example DRAINING\n"
    assert filter_lines(ENTRIES[:1]) == "c0ffee-S1 agent-1.example\n"


def test_max_filtered_counts_deactivated_as_filtered():
    targets = resolve_targets(ids(0), [], AGENTS, ENTRIES)
    plan = compute_native_plan("present", False, targets, ENTRIES, AGENTS, False)
    msg = check_max_filtered(parse_max_filtered(4), 4, plan, ENTRIES, AGENTS)
    assert "5 of 5 agents would be unavailable" in msg
    assert "agent-1.example (filtered)" in msg
    assert "agent-4.example (disconnected)" in msg
    assert check_max_filtered(parse_max_filtered("100%"), "100%", plan, ENTRIES, AGENTS) is None


def test_native_agent_report():
    report = native_agent_report(RAW[2])
    assert (report["active"], report["deactivated"], report["filtered"], report["drain_state"]) == (
        False,
        True,
        True,
        "DRAINING",
    )
    assert report["active_tasks"] == 1
    report = native_agent_report(RAW[4])
    assert (report["active"], report["deactivated"], report["filtered"], report["drain_state"]) == (
        False,
        False,
        False,
        None,
    )
