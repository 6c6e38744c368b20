# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Inputs and answers that used to crash a module or slip through: each is a clear error, given before anything is
changed. One playbook runs every bad input against one cluster; hostile answers come from the simulator's faults."""

from __future__ import annotations

import json

import pytest
from conftest import OFFER_FILTER, OFFER_FILTER_INFO, assert_failed, hostnames_of, module_task

from mesos_sim import Cluster

DRAIN = "mesos.maintenance.maintenance_drain"
RESTORE = "mesos.maintenance.maintenance_restore"
HOLD = "mesos.maintenance.offer_filter_hold"
SECRET = "pw\u20ac\u4e2d"  # outside Latin-1, which HTTP Basic authentication is sent in

# (case id, module, arguments (AGENT0 / HOST0 are replaced), fragments of the expected failure message)
BAD_INPUT = [
    (
        "max-filtered-nan-percent",
        OFFER_FILTER,
        {"agent_id": ["AGENT0"], "max_filtered": "nan%"},
        ["max_filtered must be a number of agents or a percentage", "'nan%'"],
    ),
    (
        "master-url-unclosed-ipv6",
        OFFER_FILTER,
        {"agent_id": ["AGENT0"], "master_url": ["http://[::1"]},
        ["master_url 'http://[::1' is not a valid URL"],
    ),
    (
        "secret-outside-latin-1",
        OFFER_FILTER,
        {"agent_id": ["AGENT0"], "principal": "ops", "secret": SECRET},
        ["secret contains a character outside Latin-1"],
    ),
    (
        "secret-null",
        OFFER_FILTER,
        {"agent_id": ["AGENT0"], "principal": "ops", "secret": None},
        ["principal and secret go together, but secret is null"],
    ),
    (
        "timeout-zero",
        OFFER_FILTER,
        {"agent_id": ["AGENT0"], "timeout": 0},
        ["timeout must be a number of seconds greater than 0", "not 0.0"],
    ),
    ("timeout-zero-info", OFFER_FILTER_INFO, {"timeout": 0}, ["timeout must be a number of seconds greater than 0"]),
    (
        "timeout-zero-hold",
        HOLD,
        {"hostname": ["HOST0"], "timeout": 0, "hold_timeout": 0},
        ["timeout must be a number of seconds greater than 0"],
    ),
    (
        "leader-timeout-nan",
        OFFER_FILTER,
        {"agent_id": ["AGENT0"], "leader_timeout": "nan"},
        ["leader_timeout must be a number of seconds, 0 or more", "not nan"],
    ),
    (
        "leader-timeout-infinite",
        OFFER_FILTER,
        {"agent_id": ["AGENT0"], "leader_timeout": "inf"},
        ["leader_timeout must be a number of seconds, 0 or more", "not inf"],
    ),
    (
        "leader-timeout-negative-drain",
        DRAIN,
        {"hostname": ["HOST0"], "leader_timeout": -1},
        ["leader_timeout must be a number of seconds, 0 or more", "not -1.0"],
    ),
    (
        "leader-timeout-nan-hold",
        HOLD,
        {"hostname": ["HOST0"], "leader_timeout": "nan", "hold_timeout": 0},
        ["leader_timeout must be a number of seconds, 0 or more"],
    ),
    (
        "wait-sleep-zero",
        OFFER_FILTER,
        {"agent_id": ["AGENT0"], "wait": True, "wait_sleep": 0},
        ["wait_sleep must be at least 0.1 seconds"],
    ),
    ("wait-sleep-zero-drain", DRAIN, {"hostname": ["HOST0"], "wait_sleep": 0}, ["wait_sleep must be at least 0.1"]),
    (
        "hold-interval-zero-drain",
        DRAIN,
        {"hostname": ["HOST0"], "wait": False, "hold": True, "hold_interval": 0, "hold_timeout": 5},
        ["hold_interval must be at least 0.1 seconds"],
    ),
    (
        "registration-sleep-nan-restore",
        RESTORE,
        {"hostname": ["HOST0"], "registration_sleep": "nan"},
        ["registration_sleep must be at least 0.1 seconds"],
    ),
    (
        "hold-interval-nan",
        HOLD,
        {"hostname": ["HOST0"], "interval": "nan", "hold_timeout": 0},
        ["interval must be at least 0.1 seconds"],
    ),
]


@pytest.fixture(scope="module")
def bad_input_run(run_tasks_module, tmp_path_factory):
    ledger = str(tmp_path_factory.mktemp("ledger") / "ledger.json")
    with Cluster(masters=3, agents=3, build="0afdd8b") as cluster:
        agent = cluster.agent_ids[0]
        [host] = hostnames_of(cluster, [agent])
        tasks = []
        for case, module, args, _ in BAD_INPUT:
            args = json.loads(json.dumps(args).replace("AGENT0", agent).replace("HOST0", host))
            if module in (DRAIN, RESTORE):
                args.update(run_id="inputs", ledger_file=ledger)
            tasks.append(module_task(module, cluster, case, **args))
        run = run_tasks_module(tasks)
        changes = [entry for entry in cluster.request_log if entry[1] in ("POST", "DELETE", "PUT")]
        return run, cluster.filters(), changes


@pytest.mark.parametrize("case, module, args, fragments", BAD_INPUT, ids=[c[0] for c in BAD_INPUT])
def test_bad_input(bad_input_run, case, module, args, fragments):
    run, _, _ = bad_input_run
    result = run[case]
    assert_failed(result, *fragments)
    if case == "secret-outside-latin-1":
        # not a character of the secret in what is shown, not even escaped
        shown = json.dumps(result) + run.stdout + run.stderr
        assert not any(c in shown for c in ("\u20ac", "\u4e2d", "u20ac", "u4e2d")), shown


def test_bad_input_changed_nothing(bad_input_run):
    _, filters, changes = bad_input_run
    assert filters == set()
    assert changes == []


# --- hostile answers ---------------------------------------------------------------------------------------------

HOSTILE = [
    # (case id, path, what the agent entry is given, the module, its arguments, fragments of the failure message)
    (
        "hostname-list-info",
        "/master/state-summary",
        {"hostname": ["a", "b"]},
        OFFER_FILTER_INFO,
        {},
        ['has the hostname ["a", "b"], not a string', "is this a Mesos master?"],
    ),
    (
        "hostname-list-filter",
        "/master/state-summary",
        {"hostname": ["a", "b"]},
        OFFER_FILTER,
        {"hostname": ["HOST1"]},
        ["has the hostname"],
    ),
    (
        "task-count-text-info",
        "/master/state-summary",
        {"TASK_RUNNING": "lots"},
        OFFER_FILTER_INFO,
        {},
        ['has TASK_RUNNING: "lots", not a number of tasks'],
    ),
    (
        "task-count-text-wait",
        "/master/state-summary",
        {"TASK_RUNNING": "lots"},
        OFFER_FILTER,
        {"agent_id": ["AGENT1"], "wait": True, "wait_timeout": 5},
        ["has TASK_RUNNING"],
    ),
    (
        "hostname-list-budget",
        "/master/state",
        {"hostname": ["a", "b"]},
        OFFER_FILTER,
        {"agent_id": ["AGENT1"], "max_unavailable_per_group": "1"},
        ["/master/state: agent", "has the hostname"],
    ),
]


@pytest.fixture(scope="module")
def hostile_run(run_tasks_module):
    """One cluster per case, its leader answering `path` with the agent list in which the first agent is changed."""
    clusters = []
    try:
        tasks = []
        for case, path, change, module, args, _ in HOSTILE:
            cluster = Cluster(masters=1, agents=2, build="0afdd8b").start()
            clusters.append(cluster)
            agents = cluster.agents
            slaves = [dict(agents[0], **change), agents[1]]
            cluster.inject(path, status=200, body=json.dumps({"slaves": slaves, "frameworks": []}))
            args = json.loads(json.dumps(args).replace("AGENT1", agents[1]["id"]))
            args = json.loads(json.dumps(args).replace("HOST1", agents[1]["hostname"]))
            tasks.append(module_task(module, cluster, case, **args))
        run = run_tasks_module(tasks)
        changes = [entry for c in clusters for entry in c.request_log if entry[1] in ("POST", "DELETE", "PUT")]
        return run, [c.filters() for c in clusters], changes
    finally:
        for cluster in clusters:
            cluster.stop()


@pytest.mark.parametrize("case, path, change, module, args, fragments", HOSTILE, ids=[c[0] for c in HOSTILE])
def test_hostile_answer(hostile_run, case, path, change, module, args, fragments):
    run, _, _ = hostile_run
    assert_failed(run[case], *fragments)


def test_hostile_answers_changed_nothing(hostile_run):
    _, filters, changes = hostile_run
    assert filters == [set()] * len(HOSTILE)
    assert changes == []


def test_a_framework_with_an_odd_agent_id_is_named(run_tasks, cluster_factory, tmp_path):
    """The frameworks of `/master/state-summary` name the agents still running their tasks when a drain's wait ends;
    an entry of `slave_ids` that is not an agent id is a clear error naming the field, not a TypeError."""
    cluster = cluster_factory(masters=1, agents=2, build="0afdd8b")
    agent = cluster.agent_ids[0]
    cluster.launch_tasks(agent, 1)
    slaves = [dict(slave, TASK_RUNNING=1) if slave["id"] == agent else slave for slave in cluster.agents]
    frameworks = [{"id": "fw-1", "name": "marathon", "slave_ids": [agent, ["odd"]]}]
    cluster.inject("/master/state-summary", status=200, body=json.dumps({"slaves": slaves, "frameworks": frameworks}))
    task = module_task(
        DRAIN,
        cluster,
        "drain",
        hostname=hostnames_of(cluster, [agent]),
        run_id="odd",
        ledger_file=str(tmp_path / "ledger.json"),
        wait_timeout=1,
        wait_sleep=0.2,
    )
    assert_failed(
        run_tasks(task).result, "/master/state-summary: framework fw-1 has", 'slave_ids entry ["odd"], not an agent id'
    )
