# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_budget: groups read from a /master/state document, the budget check, the planner (property-tested over random
placements) and the recovery check. The state documents have the shape of Mesos' /master/state (model(Task) in
src/common/http.cpp: labels as a list of {key, value})."""

from __future__ import annotations

import random

import pytest

from ansible_collections.mesos.maintenance.plugins.module_utils._budget import (
    Budget,
    Placement,
    blocked_error,
    fit,
    parse_budget,
    parse_group_by,
    plan_batches,
    plan_lines,
    shortfall,
)
from ansible_collections.mesos.maintenance.plugins.module_utils._filters import InputError


def task(name, agent, state="TASK_RUNNING", labels=None):
    doc = {"id": "%s.%d" % (name, random.randint(0, 10**9)), "name": name, "slave_id": agent, "state": state}
    if labels:
        doc["labels"] = [{"key": k, "value": v} for k, v in labels.items()]
    return doc


def state(agents, tasks, framework="marathon", inactive=(), attributes=None):
    """A /master/state document: ``agents`` are ids (hostname = id + .example.com), ``tasks`` task dicts."""
    return {
        "slaves": [
            {
                "id": a,
                "hostname": a + ".example.com",
                "active": a not in inactive,
                "attributes": (attributes or {}).get(a, {}),
            }
            for a in agents
        ],
        "frameworks": [{"name": framework, "id": "F1", "tasks": tasks}],
    }


def host(agent):
    return agent + ".example.com"


@pytest.mark.parametrize(
    "value, parsed",
    [
        ("1", (1, False)),
        (2, (2, False)),
        ("34%", (34.0, True)),
        (" 100 % ", (100.0, True)),
        ("0.5%", (0.5, True)),
        (None, None),
        ("", None),
    ],
)
def test_parse_budget(value, parsed):
    assert parse_budget(value) == parsed


@pytest.mark.parametrize("value", ["0", "-1", "1.5", "0%", "101%", "nan%", "lots", True, "inf"])
def test_parse_budget_refuses_what_is_no_budget(value):
    with pytest.raises(InputError, match="max_unavailable_per_group must be a number of tasks"):
        parse_budget(value)


@pytest.mark.parametrize(
    "value, parsed",
    [
        (None, ("task", None)),
        ("task", ("task", None)),
        ("framework", ("framework", None)),
        ("label:app", ("label", "app")),
    ],
)
def test_parse_group_by(value, parsed):
    assert parse_group_by(value) == parsed


@pytest.mark.parametrize("value", ["label:", "rack", "tasks"])
def test_parse_group_by_refuses_unknown_kinds(value):
    with pytest.raises(InputError, match="group_by must be task"):
        parse_group_by(value)


def test_placement_counts_running_tasks_by_group_and_agent():
    doc = state(
        ["a1", "a2"],
        [
            task("web", "a1"),
            task("web", "a1"),
            task("web", "a2"),
            task("db", "a2", labels={"tier": "data"}),
            task("web", "a2", state="TASK_STAGING"),  # not serving yet
            task("web", "a2", state="TASK_KILLING"),  # no longer
        ],
    )
    by_task = Placement(doc, "task")
    assert by_task.running == {"marathon/web": 3, "marathon/db": 1}
    assert by_task.by_agent == {"a1": {"marathon/web": 2}, "a2": {"marathon/web": 1, "marathon/db": 1}}
    assert Placement(doc, "framework").running == {"marathon": 4}
    assert Placement(doc, "label:tier").running == {"tier=data": 1}  # tasks without the label are in no group


def test_placement_takes_inactive_agents_as_out_of_service():
    placement = Placement(state(["a1", "a2"], [], inactive=["a2"]), "task")
    assert placement.inactive == {"a2"}


def test_excess_counts_the_agents_already_out_and_only_groups_the_change_touches():
    doc = state(
        ["a1", "a2", "a3", "a4"],
        [task("web", "a1"), task("web", "a2"), task("web", "a3"), task("db", "a4"), task("db", "a4")],
    )
    budget = Budget((1, False), Placement(doc, "task"))
    assert budget.excess(set(), ["a1"]) == []
    assert budget.excess({"a2"}, ["a1"]) == [("marathon/web", 2)]
    # db is over its budget already (a4 is out), but taking a1 out does not touch it
    assert budget.excess({"a4"}, ["a1"]) == []


def test_refusal_names_the_group_its_tasks_and_where_they_run():
    doc = state(["a1", "a2", "a3"], [task("web", "a1"), task("web", "a2"), task("web", "a3")])
    budget = Budget((1, False), Placement(doc, "task"))
    excess = budget.excess({"a3"}, ["a1", "a2"])
    message = budget.refusal(excess, {"a3"}, ["a1", "a2"], "taking out a1, a2")
    assert message == (
        "The disruption budget max_unavailable_per_group=1 (group_by=task) refuses taking out a1, a2: marathon/web "
        "would have 3 of its 3 running task(s) unavailable, 1 allowed: on the agents to take out a1.example.com, "
        "a2.example.com; already out of service a3.example.com. Nothing was changed."
    )


def test_a_percentage_that_rounds_down_to_zero_says_what_to_set():
    doc = state(["a1", "a2"], [task("db", "a1"), task("web", "a2"), task("web", "a2")])
    budget = Budget((50.0, True), Placement(doc, "task"))
    excess = budget.excess(set(), ["a1"])
    assert excess == [("marathon/db", 1)]
    message = budget.refusal(excess, set(), ["a1"], "taking out a1")
    assert "1 running task(s) unavailable, 0 (50% of 1, rounded down) allowed" in message
    assert message.endswith(
        "marathon/db (1 running): 50% of so few tasks rounds down to 0, so no agent that runs them can ever be taken "
        "out under this budget; set max_unavailable_per_group to a count (1 or more) to let them lose that many, or "
        "move them first."
    )


def test_fit_takes_in_order_and_defers_what_no_longer_fits():
    doc = state(["a1", "a2", "a3", "a4"], [task("web", "a1"), task("web", "a2"), task("web", "a4"), task("db", "a3")])
    budget = Budget((1, False), Placement(doc, "task"))
    assert fit([host("a1"), host("a2"), host("a3")], budget, set()) == ([host("a1"), host("a3")], [host("a2")])
    assert fit([host("a2")], budget, {"a4"}) == ([], [host("a2")])


def test_plan_packs_around_the_budget_and_says_so():
    # web on a1..a3, api on a1 and a4: a naive batch of 2 (a1, a2) would take 2 web instances.
    doc = state(
        ["a1", "a2", "a3", "a4"],
        [task("web", "a1"), task("web", "a2"), task("web", "a3"), task("api", "a1"), task("api", "a4")],
    )
    budget = Budget((1, False), Placement(doc, "task"))
    batches, blocked = plan_batches([host(a) for a in ["a1", "a2", "a3", "a4"]], budget, set(), 2)
    assert blocked == {}
    assert [b["hosts"] for b in batches] == [[host("a1")], [host("a2"), host("a4")], [host("a3")]]
    assert plan_lines(batches, budget) == [
        "batch 1: a1.example.com -- marathon/api 1/1, marathon/web 1/1",
        "batch 2: a2.example.com, a4.example.com -- marathon/api 1/1, marathon/web 1/1",
        "batch 3: a3.example.com -- marathon/web 1/1",
    ]


def test_plan_refuses_agents_no_batch_can_take():
    doc = state(["a1", "a2"], [task("web", "a1"), task("web", "a1"), task("web", "a2")])
    budget = Budget((1, False), Placement(doc, "task"))
    batches, blocked = plan_batches([host("a1"), host("a2")], budget, set(), 5)
    assert [b["hosts"] for b in batches] == [[host("a2")]]
    assert blocked == {host("a1"): [("marathon/web", 2)]}
    assert blocked_error(blocked, budget).startswith(
        "The disruption budget max_unavailable_per_group=1 (group_by=task) leaves no batch for 1 agent(s), even "
        "alone: a1.example.com (marathon/web: 2 of 3 running unavailable, 1 allowed). Nothing was changed."
    )


def test_plan_by_attribute_never_mixes_two_racks():
    agents = ["a%d" % n for n in range(6)]
    racks = {a: {"rack": "r%d" % (n % 2)} for n, a in enumerate(agents)}
    budget = Budget(None, Placement(state(agents, [], attributes=racks), "task"))
    batches, blocked = plan_batches([host(a) for a in agents], budget, set(), 2, attribute="rack")
    assert [(b["value"], b["hosts"]) for b in batches] == [
        ("r0", [host("a0"), host("a2")]),
        ("r1", [host("a1"), host("a3")]),
        ("r0", [host("a4")]),
        ("r1", [host("a5")]),
    ]
    assert plan_lines(batches[:1], budget, "rack") == [
        "batch 1 (rack=r0): a0.example.com, a2.example.com -- no group touched"
    ]


def random_cluster(rng):
    agents = ["a%d" % n for n in range(rng.randint(10, 500))]
    groups = ["g%d" % n for n in range(rng.randint(1, 50))]
    tasks = []
    for group in groups:
        tasks.extend(task(group, rng.choice(agents)) for instance in range(rng.randint(1, 12)))
    out = set(rng.sample(agents, rng.randint(0, len(agents) // 10)))
    racks = {a: {"rack": "r%d" % rng.randint(0, 4)} for a in agents}
    return state(agents, tasks, attributes=racks), agents, out


@pytest.mark.parametrize("seed", range(300))
def test_property_no_planned_batch_takes_a_group_over_its_budget(seed):
    rng = random.Random(seed)
    doc, agents, out = random_cluster(rng)
    parsed = rng.choice([(1, False), (2, False), (25.0, True), (50.0, True), (100.0, True)])
    budget = Budget(parsed, Placement(doc, "task"))
    size = rng.randint(1, 40)
    attribute = rng.choice([None, "rack"])
    todo = [host(a) for a in rng.sample(agents, rng.randint(1, len(agents)))]
    batches, blocked = plan_batches(todo, budget, out, size, attribute)

    planned = [h for b in batches for h in b["hosts"]]
    assert sorted(planned + list(blocked)) == sorted(todo)  # every agent once: planned or refused
    placement = budget.placement
    for batch in batches:
        assert 1 <= len(batch["hosts"]) <= size
        ids = placement.ids_of(batch["hosts"])
        assert budget.excess(out, ids) == [], (seed, batch)
        if attribute:
            assert len({placement.attribute(h, attribute) for h in batch["hosts"]}) == 1
    for agent_host in blocked:  # refused only when it does not fit even alone
        assert budget.excess(out, placement.ids_of([agent_host])) != []


def test_shortfall_names_the_groups_still_short():
    doc = state(["a1", "a2"], [task("web", "a1"), task("web", "a2"), task("db", "a2")])
    placement = Placement(doc, "task")
    assert shortfall(placement, {"marathon/web": 2, "marathon/db": 2, "marathon/api": 1}) == {
        "marathon/db": (1, 2),
        "marathon/api": (0, 1),
    }
    assert shortfall(placement, {"marathon/web": 2}) == {}
