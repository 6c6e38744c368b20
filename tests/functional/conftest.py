# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Playbook-level tests: run `ansible-playbook` as a subprocess against simulated clusters over real HTTP.

`run_tasks(tasks)` writes a one-play playbook for localhost into tmp_path, runs it with the
`collect_results` callback (tests/functional/callback_plugins) and returns every task's result.
The collection is found through a session-wide ANSIBLE_COLLECTIONS_PATH whose
`ansible_collections/mesos/maintenance` is a symlink to the repository root.
"""

from __future__ import annotations

import json
import subprocess
import time

import pytest
import yaml
from maintenance_helpers import ANSIBLE_PLAYBOOK, ansible_env, collections_dir, finish_run

OFFER_FILTER = "mesos.maintenance.offer_filter"
OFFER_FILTER_INFO = "mesos.maintenance.offer_filter_info"


@pytest.fixture(scope="session")
def collections_path(tmp_path_factory):
    return collections_dir(tmp_path_factory.mktemp("collections"))


class PendingRun:
    """A playbook started in the background (to break the cluster while it runs)."""

    def __init__(self, proc, results_file, started):
        self.proc = proc
        self.results_file = results_file
        self.started = started

    def wait(self, timeout=300):
        return finish_run(self.proc, self.results_file, self.started, timeout)


@pytest.fixture
def run_tasks(tmp_path, collections_path):
    """Run tasks (dicts) in one play on localhost; returns a Run (or PendingRun with background=True)."""
    return make_runner(tmp_path, collections_path)


@pytest.fixture(scope="module")
def run_tasks_module(tmp_path_factory, collections_path):
    """`run_tasks` for module-scoped fixtures (one playbook of many tasks for a whole table of cases)."""
    return make_runner(tmp_path_factory.mktemp("playbooks"), collections_path)


def make_runner(tmp_path, collections_path):
    counter = {"n": 0}

    def run(tasks, check=False, diff=False, env=None, background=False, timeout=300):
        if isinstance(tasks, dict):
            tasks = [tasks]
        counter["n"] += 1
        n = counter["n"]
        playbook = tmp_path / f"playbook-{n}.yml"
        results_file = tmp_path / f"results-{n}.json"
        play = [{"name": "functional test", "hosts": "localhost", "gather_facts": False, "tasks": tasks}]
        playbook.write_text(yaml.safe_dump(play, sort_keys=False))
        environment = ansible_env(tmp_path, collections_path, results_file, env)
        command = [ANSIBLE_PLAYBOOK, "-i", "localhost,", "-c", "local", str(playbook)]
        if check:
            command.append("--check")
        if diff:
            command.append("--diff")
        started = time.monotonic()
        proc = subprocess.Popen(command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        pending = PendingRun(proc, results_file, started)
        if background:
            return pending
        return pending.wait(timeout=timeout)

    return run


def module_task(module, cluster, name, ignore_errors=True, **args):
    """A task dict for `module` against `cluster` (master_url may be overridden)."""
    args.setdefault("master_url", list(cluster.urls))
    args.setdefault("timeout", 5)
    task = {"name": name, module: args}
    if ignore_errors:
        task["ignore_errors"] = True
    return task


def hostnames_of(cluster, agent_ids):
    """The hostnames the agents `agent_ids` registered with, in that order."""
    hosts = {agent["id"]: agent["hostname"] for agent in cluster.agents}
    return [hosts[agent_id] for agent_id in agent_ids]


def offer_filter(cluster, name="offer_filter", **args):
    return module_task(OFFER_FILTER, cluster, name, **args)


def offer_filter_info(cluster, name="offer_filter_info", **args):
    return module_task(OFFER_FILTER_INFO, cluster, name, **args)


def assert_ok(result, changed=None):
    assert result["_status"] == "ok", json.dumps(result, indent=1)[:4000]
    if changed is not None:
        assert result["changed"] is changed, json.dumps(result, indent=1)[:4000]


def assert_failed(result, *fragments):
    """The task failed with a message that contains every fragment, and without a traceback."""
    assert result["_status"] == "failed", json.dumps(result, indent=1)[:4000]
    msg = result.get("msg", "")
    crashed = "Traceback" in msg or "MODULE FAILURE" in msg or "module_stderr" in result
    assert not crashed, json.dumps(result, indent=1)[:4000]
    for fragment in fragments:
        assert fragment in msg, f"{fragment!r} not in {msg!r}"


def four_steps(run_tasks, task, verify_before, verify_after):
    """STYLE 7's four-step assert: check mode, real run, check mode again, real run again.

    `verify_before()` / `verify_after()` assert on the simulator's real state after each step.
    Returns the four results.
    """
    results = []
    first = run_tasks(task, check=True, diff=True).result
    assert_ok(first, changed=True)
    verify_before()
    results.append(first)

    second = run_tasks(task, diff=True).result
    assert_ok(second, changed=True)
    verify_after()
    results.append(second)

    third = run_tasks(task, check=True, diff=True).result
    assert_ok(third, changed=False)
    verify_after()
    results.append(third)

    fourth = run_tasks(task).result
    assert_ok(fourth, changed=False)
    verify_after()
    results.append(fourth)
    return results
