# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.mesos.maintenance.plugins.module_utils._filters import (
    WAIT_SLEEP_MIN,
    AgentIndex,
    InputError,
    agent_problem,
    agent_report,
    check_max_filtered,
    check_wait,
    compute_plan,
    filter_lines,
    framework_problem,
    max_filtered_limit,
    parse_max_filtered,
    predict_filters,
    resolve_targets,
    validate_names,
)


def slave(n, active=True, running=0, hostname=None):
    return {
        "id": "c0ffee-S%d" % n,
        "hostname": hostname or "agent-%d.example" % n,
        "active": active,
        "TASK_RUNNING": running,
        "TASK_STAGING": 0,
        "TASK_FINISHED": 7,
        "resources": {"cpus": 4.0},
    }


def flt(n, hostname=None):
    return {"agent_id": "c0ffee-S%d" % n, "hostname": hostname or "agent-%d.example" % n}


AGENTS = AgentIndex([slave(0), slave(1), slave(2), slave(3, active=False), slave(4)])


@pytest.mark.parametrize(
    "value, expected",
    [
        (None, None),
        (3, (3, False)),
        ("3", (3, False)),
        (" 20% ", (20.0, True)),
        ("0", (0, False)),
        (2.0, (2, False)),
        ("12.5%", (12.5, True)),
        ("100%", (100.0, True)),
    ],
)
def test_parse_max_filtered(value, expected):
    assert parse_max_filtered(value) == expected


@pytest.mark.parametrize(
    "value", [True, False, -1, "-1", "101%", "many", "3.5", 1.5, [], {}, "%", "nan%", "NaN %", "inf%", float("nan")]
)
def test_parse_max_filtered_rejects(value):
    with pytest.raises(InputError):
        parse_max_filtered(value)


@pytest.mark.parametrize(
    "change, fragment",
    [
        ({"hostname": ["a", "b"]}, 'has the hostname ["a", "b"], not a string'),
        ({"hostname": {"name": "a"}}, "not a string"),
        ({"hostname": 7}, "has the hostname 7, not a string"),
        ({"TASK_RUNNING": "lots"}, 'has TASK_RUNNING: "lots", not a number of tasks'),
        ({"TASK_STAGING": 1.5}, "has TASK_STAGING: 1.5"),
        ({"TASK_KILLING": -2}, "has TASK_KILLING: -2"),
        ({"TASK_FAILED": True}, "has TASK_FAILED: true"),
    ],
)
def test_agent_problem_names_the_agent_and_the_field(change, fragment):
    slaves = [slave(0), dict(slave(1), **change)]
    problem = agent_problem(slaves)
    assert problem is not None and problem.startswith("agent c0ffee-S1 ") and fragment in problem, problem


def test_agent_problem_accepts_what_mesos_sends():
    # no hostname, counts left out, and entries without an id (skipped where the list is used) are no problem
    assert (
        agent_problem([slave(0), {"id": "c0ffee-S9"}, {"hostname": ["x"]}, "junk", dict(slave(2), hostname=None)])
        is None
    )


@pytest.mark.parametrize(
    "slave_ids, fragment",
    [
        (["c0ffee-S1", ["odd"]], 'framework fw-1 has the slave_ids entry ["odd"], not an agent id'),
        (["c0ffee-S1", 7], "framework fw-1 has the slave_ids entry 7, not an agent id"),
        ("c0ffee-S1", 'framework fw-1 has slave_ids "c0ffee-S1", not a list of agent ids'),
        ({"c0ffee-S1": 1}, 'framework fw-1 has slave_ids {"c0ffee-S1": 1}, not a list of agent ids'),
    ],
)
def test_framework_problem_names_the_framework_and_the_field(slave_ids, fragment):
    frameworks = [{"id": "fw-0", "slave_ids": ["c0ffee-S0"]}, {"id": "fw-1", "slave_ids": slave_ids}]
    assert framework_problem(frameworks) == fragment


def test_framework_problem_accepts_what_mesos_sends():
    # no slave_ids (a framework without tasks), an empty list, and entries that are no frameworks are no problem
    assert framework_problem([{"id": "fw-0"}, {"id": "fw-1", "slave_ids": []}, "junk", {"slave_ids": None}]) is None


@pytest.mark.parametrize(
    "timeout, sleep, fragment",
    [
        (-1, 5, "wait_timeout must not be negative"),
        (float("nan"), 5, "wait_timeout must not be negative"),
        (600, 0, "wait_sleep must be at least 0.1 seconds"),
        (600, 0.05, "wait_sleep must be at least 0.1 seconds"),
        (600, float("nan"), "wait_sleep must be at least 0.1 seconds"),
    ],
)
def test_check_wait_refuses(timeout, sleep, fragment):
    with pytest.raises(InputError, match=fragment):
        check_wait(timeout, sleep)


def test_check_wait_accepts_the_minimum_and_names_the_option():
    check_wait(0, WAIT_SLEEP_MIN)
    with pytest.raises(InputError, match="registration_sleep must be at least"):
        check_wait(0, 0, "registration")


@pytest.mark.parametrize(
    "parsed, total, limit",
    [
        ((3, False), 10, 3),
        ((20.0, True), 10, 2),
        ((25.0, True), 10, 2),
        ((30.0, True), 10, 3),
        ((100.0, True), 7, 7),
        ((0, False), 5, 0),
        ((33.4, True), 3, 1),
    ],
)
def test_max_filtered_limit(parsed, total, limit):
    assert max_filtered_limit(parsed, total) == limit


def test_validate_names():
    assert validate_names(None, "agent_id") == []
    assert validate_names([" a ", "b", "a"], "agent_id") == ["a", "b"]
    with pytest.raises(InputError, match="hostname contains an empty entry"):
        validate_names(["a", ""], "hostname")


def test_resolve_by_id_and_hostname_dedups():
    targets = resolve_targets(["c0ffee-S1"], ["agent-1.example", "agent-2.example"], AGENTS, [])
    assert targets.ids == ["c0ffee-S1", "c0ffee-S2"]
    assert targets.unknown == [] and targets.ambiguous == {}


def test_resolve_unknown_and_ambiguous():
    agents = AgentIndex([slave(0), slave(1, hostname="twin"), slave(2, hostname="twin")])
    targets = resolve_targets(["nope"], ["twin", "ghost"], agents, [])
    assert targets.unknown == ["agent id nope", "hostname ghost"]
    assert targets.ambiguous == {"twin": ["c0ffee-S1", "c0ffee-S2"]}


def test_resolve_falls_back_to_the_filter_list():
    targets = resolve_targets(["c0ffee-S9"], ["agent-8.example"], AGENTS, [flt(9), flt(8)])
    assert targets.ids == ["c0ffee-S9", "c0ffee-S8"]


def test_plan_present():
    targets = resolve_targets(["c0ffee-S0", "c0ffee-S1"], [], AGENTS, [])
    plan = compute_plan("present", False, targets, [flt(1), flt(2)], AGENTS)
    assert plan.add == ["c0ffee-S0"] and plan.remove == [] and plan.changed


def test_plan_present_exclusive_keeps_disconnected():
    targets = resolve_targets(["c0ffee-S0"], [], AGENTS, [])
    plan = compute_plan("present", True, targets, [flt(1), flt(3), flt(0)], AGENTS)
    assert plan.add == []
    assert plan.remove == ["c0ffee-S1"]
    assert plan.keep_disconnected == ["c0ffee-S3"]


def test_plan_exclusive_without_agents_clears():
    targets = resolve_targets([], [], AGENTS, [])
    plan = compute_plan("present", True, targets, [flt(1), flt(2)], AGENTS)
    assert plan.remove == ["c0ffee-S1", "c0ffee-S2"]


def test_plan_absent():
    targets = resolve_targets(["c0ffee-S1", "c0ffee-S2", "c0ffee-S3"], [], AGENTS, [])
    plan = compute_plan("absent", False, targets, [flt(1), flt(3)], AGENTS)
    assert plan.add == [] and plan.remove == ["c0ffee-S1"] and plan.keep_disconnected == ["c0ffee-S3"]


def test_plan_idempotent():
    targets = resolve_targets(["c0ffee-S1"], [], AGENTS, [])
    assert not compute_plan("present", False, targets, [flt(1)], AGENTS).changed
    assert not compute_plan("absent", False, resolve_targets(["c0ffee-S2"], [], AGENTS, []), [flt(1)], AGENTS).changed


def test_max_filtered_counts_filtered_and_disconnected():
    targets = resolve_targets(["c0ffee-S0", "c0ffee-S1"], [], AGENTS, [])
    filters = [flt(2), flt(3)]
    plan = compute_plan("present", False, targets, filters, AGENTS)
    msg = check_max_filtered((3, False), 3, plan, filters, AGENTS)
    assert msg == (
        "refusing to filter agent-0.example, agent-1.example: 4 of 5 agents would be unavailable (filtered or "
        "disconnected), more than max_filtered=3 allows 3 of 5 agents. Already unavailable: agent-2.example "
        "(filtered), agent-3.example (disconnected). Nothing was changed. To go on, set max_filtered to 4 or more."
    )
    assert check_max_filtered((4, False), 4, plan, filters, AGENTS) is None
    assert check_max_filtered((80.0, True), "80%", plan, filters, AGENTS) is None
    assert check_max_filtered(None, None, plan, filters, AGENTS) is None


def test_max_filtered_says_how_a_percentage_rounds_down():
    """The example inventory's 10% of 4 agents allows none: the refusal says so, and what would do."""
    agents = AgentIndex([slave(0), slave(1), slave(2), slave(3)])
    plan = compute_plan("present", False, resolve_targets(["c0ffee-S0"], [], agents, []), [], agents)
    assert check_max_filtered((10.0, True), "10%", plan, [], agents) == (
        "refusing to filter agent-0.example: 1 of 4 agents would be unavailable (filtered or disconnected), more "
        "than max_filtered=10% allows 0 of 4 agents (10% of 4 is 0.4, rounded down). Already unavailable: none. "
        "Nothing was changed. To go on, set max_filtered to 25% or more."
    )


def test_max_filtered_names_an_agent_by_id_where_its_hostname_is_shared():
    agents = AgentIndex([slave(0), slave(1), slave(5, hostname="agent-1.example", active=False)])
    plan = compute_plan("present", False, resolve_targets(["c0ffee-S0"], [], agents, []), [], agents)
    assert "Already unavailable: agent-1.example (c0ffee-S5) (disconnected)." in check_max_filtered(
        (1, False), 1, plan, [], agents
    )


def test_max_filtered_refusal_names_20_agents_of_each_list():
    agents = AgentIndex([slave(n) for n in range(1000)])
    filters = [flt(n) for n in range(500, 1000)]
    targets = resolve_targets(["c0ffee-S%d" % n for n in range(500)], [], agents, filters)
    plan = compute_plan("present", False, targets, filters, agents)
    msg = check_max_filtered((10, False), 10, plan, filters, agents)
    assert "refusing to filter agent-0.example, agent-1.example, " in msg
    assert "agent-19.example, and 480 more: 1000 of 1000 agents" in msg
    assert "Already unavailable: agent-500.example (filtered), " in msg
    assert "agent-519.example (filtered), and 480 more. Nothing was changed." in msg
    assert len(msg) < 2000, len(msg)


def test_max_filtered_allows_plans_without_additions():
    targets = resolve_targets([], [], AGENTS, [])
    filters = [flt(0), flt(1), flt(2)]
    plan = compute_plan("present", True, targets, filters, AGENTS)
    assert check_max_filtered((0, False), 0, plan, filters, AGENTS) is None


def test_max_filtered_credits_removals():
    targets = resolve_targets(["c0ffee-S0"], [], AGENTS, [])
    filters = [flt(1)]
    plan = compute_plan("present", True, targets, filters, AGENTS)
    # S3 is disconnected (1), S1 removed, S0 added: 2 unavailable after
    assert check_max_filtered((2, False), 2, plan, filters, AGENTS) is None
    assert check_max_filtered((1, False), 1, plan, filters, AGENTS) is not None


def test_predict_and_lines():
    targets = resolve_targets(["c0ffee-S0"], [], AGENTS, [])
    plan = compute_plan("present", True, targets, [flt(1)], AGENTS)
    after = predict_filters([flt(1)], plan, targets, AGENTS)
    assert after == [flt(0)]
    assert filter_lines([flt(2), flt(1)]) == "c0ffee-S1 agent-1.example\nc0ffee-S2 agent-2.example\n"
    assert filter_lines([]) == ""


def test_agent_report():
    filtered = {"c0ffee-S1", "c0ffee-S3"}
    assert agent_report(slave(1, running=2), filtered)["filtered"] is True
    assert agent_report(slave(0), filtered)["filtered"] is False
    report = agent_report(slave(3, active=False), filtered)
    assert report["filtered"] is None and report["active"] is False
    report = agent_report(slave(2, running=3), filtered)
    assert report["active_tasks"] == 3
    assert report["tasks"] == {"TASK_RUNNING": 3, "TASK_FINISHED": 7}
    assert report["resources"] == {"cpus": 4.0}
