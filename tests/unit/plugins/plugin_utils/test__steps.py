# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_steps: what the action plugins print between slices of a wait, how they group the module's per-agent lines,
and how a step's result is merged from its first and last slices."""

from __future__ import annotations

import pytest

from ansible_collections.mesos.maintenance.plugins.plugin_utils._steps import grouped, merge, progress_line

# --- progress_line ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("step", "pending", "left", "expected"),
    [
        (
            "maintenance_drain",
            {"agent-2.example": "2 active (marathon, chronos)", "agent-1.example": "1 active"},
            29.6,
            "waiting for the tasks of 2 agent(s) to end, 30 s left: agent-1.example: 1 active; "
            "agent-2.example: 2 active (marathon, chronos)",
        ),
        (
            "maintenance_drain",
            {"agent-1.example": "drain DRAINING, 3 active (spark)"},
            0.4,
            "waiting for the tasks of 1 agent(s) to end, 0 s left: agent-1.example: drain DRAINING, 3 active (spark)",
        ),
        (
            "maintenance_restore",
            {"agent-3.example": "disconnected", "agent-1.example": "not registered with the master"},
            600,
            "waiting for 2 agent(s) to come back, 600 s left: agent-1.example: not registered with the master; "
            "agent-3.example: disconnected",
        ),
        # The last slice may start after the deadline: never a negative count.
        (
            "maintenance_restore",
            {"a": "disconnected"},
            -7.8,
            "waiting for 1 agent(s) to come back, 0 s left: a: disconnected",
        ),
        ("maintenance_drain", {}, 10, "waiting for the tasks of 0 agent(s) to end, 10 s left: "),
    ],
)
def test_progress_line(step, pending, left, expected):
    assert progress_line(step, pending, left) == expected


def test_progress_line_of_the_recovery_between_batches_names_the_services():
    pending = {"marathon/web": "1 of 3 running", "marathon/api": "0 of 2 running"}
    assert progress_line("maintenance_drain", pending, 541.2, "recovery") == (
        "waiting for 2 service(s) of the last batch to be whole again, 541 s left: marathon/api: 0 of 2 running; "
        "marathon/web: 1 of 3 running"
    )


def test_merge_keeps_the_agents_the_first_slice_deferred():
    first = {"changed": True, "hostnames": ["a"], "deferred": ["b"], "waiting": True}
    assert merge(first, {"changed": False, "waiting": False, "deferred": []})["deferred"] == ["b"]


# --- grouped ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        ([], []),
        (["a: unfiltered"], ["unfiltered: a"]),
        (
            [
                "a: unfiltered",
                "b: kept filtered: another run still keeps it out (run-B by x@y, since 2023-11-14T19:43:20Z, 2.5 h ago)",
                "c: unfiltered",
                "d: not restored: disconnected; it stays filtered",
            ],
            [
                "unfiltered: a, c",
                "kept filtered: another run still keeps it out (run-B by x@y, since 2023-11-14T19:43:20Z, 2.5 h ago): b",
                "not restored: disconnected; it stays filtered: d",
            ],
        ),
        (["b: taken out by this run", "a: taken out by this run"], ["taken out by this run: b, a"]),  # order kept
    ],
)
def test_grouped(lines, expected):
    assert grouped(lines) == expected


# --- merge --------------------------------------------------------------------------------------------------

FIRST = {
    "agents": [{"hostname": "a", "outcome": "new"}],
    "added": ["S1"],
    "hostnames": ["a"],
    "lines": ["a: waiting"],
    "actions": ["added filter for a (S1)"],
    "changed": True,
    "reasserted": 1,
    "waiting": True,
    "pending": {"a": "2 active"},
}


def test_merge_keeps_what_the_first_slice_decided():
    later = {
        "agents": [],
        "added": [],
        "hostnames": ["a"],
        "lines": ["a: taken out by this run"],
        "actions": [],
        "changed": False,
        "reasserted": 2,
        "waiting": False,
        "pending": {},
        "active_tasks": {"a": 0},
    }
    result = merge(FIRST, later)
    assert result == {
        "agents": [{"hostname": "a", "outcome": "new"}],
        "added": ["S1"],
        "hostnames": ["a"],
        "lines": ["a: taken out by this run"],  # the later slice's own lines win
        "actions": ["added filter for a (S1)"],
        "changed": True,
        "reasserted": 3,
        "waiting": False,
        "pending": {},
        "active_tasks": {"a": 0},
    }
    assert later["changed"] is False  # the slices' results are not changed in place


@pytest.mark.parametrize(
    ("first", "later", "changed"),
    [(False, False, False), (True, False, True), (False, True, True), (True, True, True), (None, None, False)],
)
def test_merge_changed_is_or(first, later, changed):
    assert merge({"changed": first}, {"changed": later})["changed"] is changed


def test_merge_restore_holds_and_non_count_reasserted():
    first = {"holds": {"ended": [{"hold": "hold-1"}]}, "agents": [], "changed": False}
    later = {"agents": [{"hostname": "a", "outcome": "restored"}], "restored": ["a"], "changed": True}
    result = merge(first, later)
    assert result["holds"] == {"ended": [{"hold": "hold-1"}]}
    assert result["agents"] == [{"hostname": "a", "outcome": "restored"}]
    assert merge({"reasserted": 4}, {"reasserted": [{"hostname": "a"}]})["reasserted"] == [{"hostname": "a"}]
