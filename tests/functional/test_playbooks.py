# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The playbooks of the collection (drain, restore, status, rolling_maintenance), run by FQCN against
simulated clusters; the maintenance step drives the simulator (files/sim_maintenance.yml).

What a rolling run did is read from its ledger (the memory file: agents and their owners, holds, runs), from the
simulator (filtered agents, request log) and from its summary (the `lines` of the task that ends the run)."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
from maintenance_helpers import (
    ANSIBLE_PLAYBOOK,
    BACKENDS,
    NATIVE,
    PLAYBOOKS,
    SIM_MAINTENANCE,
    CapacityWatch,
    SimulatedSite,
    ansible_env,
    cluster_args,
    finish_run,
)

from mesos_sim.waiting import wait_until

FILTERS_PATH = "/allocator/filters"
DEFAULT_CALLBACK = {"ANSIBLE_STDOUT_CALLBACK": "default"}


@pytest.fixture
def make_site(cluster_factory, tmp_path, collections_path):
    sites = []

    def make(**kwargs):
        kwargs.setdefault("masters", 3)
        site = SimulatedSite(cluster_factory(**cluster_args(kwargs.pop("build"), **kwargs)), tmp_path, collections_path)
        sites.append(site)
        return site

    yield make
    for site in sites:
        site.close()


def rolling_vars(**extra):
    variables = {"mesos_maintenance_tasks_file": str(SIM_MAINTENANCE), "mesos_maintenance_registration_timeout": "30"}
    variables.update(extra)
    return variables


def hosts(*numbers):
    return [f"agent-{n}.example.com" for n in numbers]


def ledger(site):
    """The ledger the runs share (empty when no run wrote one)."""
    return site.memory() or {"agents": {}, "holds": {}, "runs": {}}


def plan(run):
    """The result of the plan of a rolling maintenance (run_id, resumed, todo, batch, lines)."""
    return run.last("Plan the rolling maintenance")


def refusal(run):
    """The message of the task that refused the run (the last failed one)."""
    failed = [r for r in run.results if r["_status"] == "failed"]
    assert failed, run.output
    return failed[-1]["msg"]


def summary(run):
    """The summary of a rolling maintenance, which it also printed as plain text."""
    lines = run.summary
    assert lines, run.output
    printed = run.stdout.splitlines()
    for line in lines:
        assert f"    {line}" in printed, (line, run.output)
    return lines


def batch_lines(lines):
    return {line.split(" (", 1)[0]: line for line in lines if line.startswith("batch ")}


def assert_nothing_left(site):
    """No agent out of service, nothing in the ledger: no agent kept out, no hold, no unfinished run."""
    assert site.filtered_hostnames() == []
    data = ledger(site)
    assert (data["agents"], data["holds"], data["runs"]) == ({}, {}, {}), json.dumps(data, indent=1)


def port_of(url):
    return url.rsplit(":", 1)[1]


def log_filter_requests(site):
    """The agent ids that filter requests name, in order, from now on: the body of a POST to the allocator
    module's endpoint (its URL names no agent), or the v1 call of the native backend."""
    named = []
    log_request = site.cluster.log_request

    def log(index, request):
        log_request(index, request)
        if request.method == "POST" and request.path == FILTERS_PATH:
            try:
                named.append(json.loads(request.body or b"{}").get("agentId"))
            except ValueError:
                named.append(None)

    site.cluster.log_request = log

    def requested():
        if site.native:
            return [target for kind, target in site.changes() if kind == "filter"]
        return list(named)

    return requested


def fail_filter_post(site, number):
    """The `number`-th POST of a filter from now on is answered 500 by the master (allocator module). The request
    log is written before the master looks up its faults, so the fault injected there hits that very request."""
    posts = {"count": 0, "armed": True}
    log_request = site.cluster.log_request

    def log(index, request):
        log_request(index, request)
        if posts["armed"] and request.method == "POST" and request.path == FILTERS_PATH:
            posts["count"] += 1
            if posts["count"] == number:
                posts["armed"] = False
                site.cluster.inject(FILTERS_PATH, status=500, body="simulated allocator failure", count=1)

    site.cluster.log_request = log
    return posts


def unreachable_host_vars():
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    return {"ansible_connection": "ssh", "ansible_host": "127.0.0.1", "ansible_port": closed_port}


# --- drain, restore and status playbooks -------------------------------------------------------------------------
@pytest.mark.parametrize("build", BACKENDS)
def test_drain_and_restore_playbooks_with_survey_shaped_input(make_site, build):
    site = make_site(agents=6, build=build, tasks=6, task_duration=0.5)
    names = site.hostnames()[:2]
    survey = {
        "mesos_maintenance_agents": "\n".join(names),
        "agent_maintenance_wait_timeout": "60",
        "agent_maintenance_backend": NATIVE if site.native else "auto",
    }
    drain = site.run("drain", survey)
    assert drain.rc == 0, drain.output
    assert site.filtered_hostnames() == names
    result = drain.last("Drain the agents of this batch")
    assert [(a["hostname"], a["outcome"]) for a in result["agents"]] == [(n, "new") for n in names], result
    assert result["active_tasks"] == dict.fromkeys(names, 0), result
    assert "    taken out by this run: " + ", ".join(names) in drain.stdout.splitlines(), drain.output
    assert {h: list(r["owners"]) for h, r in ledger(site)["agents"].items()} == dict.fromkeys(
        names, ["agent_maintenance"]
    )

    restore = site.run("restore", survey)
    assert restore.rc == 0, restore.output
    assert restore.last("Restore the agents of this batch")["restored"] == names
    assert site.filtered_hostnames() == []
    assert site.held() == []


def test_drain_playbook_takes_unknown_names_as_agent_hostnames(make_site):
    site = make_site(agents=4, build="later")
    name = site.hostnames()[3]
    run = site.run("drain", {"mesos_maintenance_agents": name}, inventory=site.inventory(hosts=[]))
    assert run.rc == 0, run.output
    assert site.filtered_hostnames() == [name]
    assert site.held() == [name]


def test_playbooks_refuse_an_empty_target(make_site):
    site = make_site(agents=2, build="later")
    for playbook in ("drain", "restore", "rolling_maintenance"):
        run = site.run(playbook, {"mesos_maintenance_agents": " , "})
        assert run.rc != 0, run.output
        assert "Set mesos_maintenance_agents" in refusal(run), run.output
    assert site.changes() == []
    assert site.memory() is None


def test_the_capacity_guard_of_the_example_inventory_on_four_agents(make_site):
    """playbooks/inventory.example.ini sets agent_maintenance_max_filtered=10%: on a site of 4 agents that allows
    none. The drain and the rolling maintenance refuse, name the agents by hostname, say how 10% of 4 rounds down
    and what guard would do, and change nothing."""
    site = make_site(agents=4, build="later")
    inventory = site.inventory(agent_maintenance_max_filtered="10%")
    name = site.hostnames()[0]
    drain = site.run("drain", {"mesos_maintenance_agents": name}, inventory=inventory)
    assert drain.rc != 0
    assert refusal(drain) == (
        f"refusing to filter {name}: 1 of 4 agents would be unavailable (filtered or disconnected), more than "
        "max_filtered=10% allows 0 of 4 agents (10% of 4 is 0.4, rounded down). Already unavailable: none. Nothing "
        "was changed. To go on, set max_filtered to 25% or more."
    )
    rolling = site.run(
        "rolling_maintenance",
        {"mesos_maintenance_agents": "mesos_agents", "mesos_maintenance_serial": "10%"},
        inventory=site.inventory(agent_maintenance_max_filtered="10%"),
    )
    assert rolling.rc != 0
    assert refusal(rolling) == (
        "Batches of 1 agent(s), with 0 agent(s) already unavailable (none), would leave more agents unavailable than "
        "the capacity guard allows: agent_maintenance_max_filtered=10% allows 0 of 4 agents (10% of 4 is 0.4, "
        "rounded down). Even one agent at a time is too many. To go on, set agent_maintenance_max_filtered to 25% or "
        "more. Nothing was changed."
    )
    assert site.changes() == []
    assert site.held() == []


def test_every_playbook_without_a_master_url_names_the_ways_to_set_it(make_site):
    """The same message from every playbook, naming the inventory variable, the role variable and the environment
    variable, and nothing changed."""
    site = make_site(agents=2, build="later")
    inventory = site.inventory(mesos_master_url="")
    messages = set()
    for playbook in ("drain", "restore", "status", "rolling_maintenance"):
        run = site.run(playbook, rolling_vars(mesos_maintenance_agents="agent-1.example.com"), inventory=inventory)
        assert run.rc != 0, run.output
        messages.add(refusal(run))
    (message,) = messages
    assert message.startswith("No master URL given: "), message
    for way in ("mesos_master_url", "agent_maintenance_master_url", "MESOS_MASTER_URL", "Nothing was changed."):
        assert way in message, message
    assert site.changes() == []
    assert site.memory() is None


def test_a_ledger_path_naming_another_file_is_refused_without_showing_it(make_site, tmp_path):
    """agent_maintenance_memory_file naming a file that is not a ledger: every playbook that reads it fails, at -vvv
    too, without printing what the file holds, and leaves the file and the cluster as they were."""
    site = make_site(agents=2, build="later")
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    files = {
        "config.json": '{"api_token": "SECRET-1", "users": ["SECRET-2"]}',
        "versioned.json": '{"version": "SECRET-3", "agents": {}}',
        "passwd": "root:SECRET-4:0:0:root:/root:/bin/sh\n",
    }
    for name, text in files.items():
        (secrets / name).write_text(text)
    verbose = {"ANSIBLE_STDOUT_CALLBACK": "default", "ANSIBLE_VERBOSITY": "3"}
    for name in files:
        for playbook in ("drain", "status"):
            variables = {
                "mesos_maintenance_agents": "agent-1.example.com",
                "agent_maintenance_wait": "false",
                "agent_maintenance_memory_file": str(secrets / name),
            }
            run = site.run(playbook, variables, env=verbose)
            assert run.rc != 0, (name, playbook, run.output)
            assert "SECRET" not in run.stdout + run.stderr, (name, playbook, run.output)
            assert f"ledger file {secrets / name}" in run.stdout, (name, playbook, run.output)
    assert {name: (secrets / name).read_text() for name in files} == files
    assert sorted(p.name for p in secrets.iterdir()) == sorted(files)
    assert site.changes() == []


@pytest.mark.smoke
def test_status_playbook(make_site):
    site = make_site(agents=6, build="0afdd8b", tasks=6)
    drained = site.run("drain", {"mesos_maintenance_agents": "agent-3.example.com", "agent_maintenance_wait": "false"})
    assert drained.rc == 0, drained.output
    site.cluster.add_filter(site.agent_id("agent-1.example.com"))
    site.cluster.disconnect_agent(site.agent_id("agent-2.example.com"))
    run = site.run("status", env=DEFAULT_CALLBACK)
    assert run.rc == 0, run.stdout + run.stderr
    printed = [line.strip() for line in run.stdout.splitlines()]
    # the table as plain text: its title, its header, one row per agent
    (title,) = [line for line in printed if line.startswith("6 agents, ")]
    assert title.startswith("6 agents, 2 filtered, 1 disconnected, ") and "1 kept out by mesos.maintenance" in title
    assert "leader http://" in title and "(allocator module build 0afdd8b)" in title, title
    header = printed.index(next(line for line in printed if line.startswith("HOSTNAME ")))
    assert printed[header].split() == ["HOSTNAME", "AGENT", "ID", "FILTERED", "CONNECTED", "TASKS", "KEPT", "OUT", "BY"]
    rows = {line.split()[0]: line.split()[1:] for line in printed[header + 1 : header + 7]}
    assert sorted(rows) == site.hostnames(), printed
    assert rows["agent-1.example.com"][1:3] == ["yes", "yes"]  # filtered by someone else: kept out by nobody
    assert rows["agent-1.example.com"][4:] == []
    assert rows["agent-2.example.com"][2] == "NO"
    assert rows["agent-3.example.com"][1:3] == ["yes", "yes"] and rows["agent-3.example.com"][4:] == [
        "agent_maintenance"
    ]
    assert rows["agent-4.example.com"][:3] == [site.agent_id("agent-4.example.com"), "no", "yes"]
    assert rows["agent-4.example.com"][3].isdigit() and rows["agent-4.example.com"][4:] == []
    assert not any(line.startswith('- "') or '"msg":' in line for line in printed), run.stdout


# --- rolling maintenance ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("build", ["later", NATIVE])
def test_rolling_check_mode_changes_nothing(make_site, build):
    site = make_site(agents=8, build=build, tasks=8, task_duration=0.5)
    run = site.run(
        "rolling_maintenance",
        rolling_vars(
            mesos_maintenance_agents="mesos_agents", mesos_maintenance_serial="3", sim_replace=["agent-2.example.com"]
        ),
        check=True,
    )
    assert run.rc == 0, run.output
    assert site.filtered_hostnames() == []
    assert site.memory() is None  # the ledger was never written
    assert site.changes() == []
    assert len(site.cluster.agents) == 8 and "agent-2.example.com" in site.hostnames()
    planned = plan(run)
    assert (planned["batch"], planned["todo"]) == (3, site.hostnames()), planned
    assert planned["lines"][0].endswith("(check mode: nothing will be changed)."), planned["lines"]
    assert len(run.tasks("Drain the agents of this batch")) == 3
    assert summary(run)[0].startswith("check mode, nothing changed: 0 batch(es), 0 agent(s) restored, 0 failed, ")


@pytest.mark.parametrize("build", BACKENDS)
def test_failed_batch_stops_the_run_and_the_rerun_completes(make_site, build):
    site = make_site(agents=9, build=build, tasks=9, task_duration=0.3)
    requested = log_filter_requests(site)
    variables = rolling_vars(
        mesos_maintenance_agents="mesos_agents", mesos_maintenance_serial="3", sim_fail_on=["agent-5.example.com"]
    )
    first = site.run("rolling_maintenance", variables)
    assert first.rc != 0
    failed_batch = hosts(4, 5, 6)
    assert site.filtered_hostnames() == failed_batch, first.output
    assert site.held() == failed_batch
    run_id = plan(first)["run_id"]
    record = ledger(site)["runs"][run_id]
    assert (record["done"], record["failed"]) == (hosts(1, 2, 3), failed_batch)
    assert [b["outcome"] for b in record["batches"]] == ["restored", "failed"]
    # later batches untouched: never filtered, never in the ledger
    later = {site.agent_id(h) for h in hosts(7, 8, 9)}
    assert not later & set(requested()), requested()
    assert not any(target.endswith(tuple(later)) for _, target in site.changes()), site.changes()
    lines = summary(first)
    assert lines[0].startswith("FAILED: 2 batch(es), 3 agent(s) restored, 3 failed, 3 not started"), lines
    assert "simulated maintenance failure on agent-5.example.com" in batch_lines(lines)["batch 2"], lines
    assert any(line.startswith("the failed batch stays out of service: " + ", ".join(failed_batch)) for line in lines)

    site.cluster.reset_log()
    first_filters = len(requested())
    second = site.run("rolling_maintenance", {**variables, "sim_fail_on": []})
    assert second.rc == 0, second.output
    assert plan(second)["lines"][0].startswith(f"Resuming the rolling maintenance {run_id} "), plan(second)
    assert plan(second)["todo"] == hosts(4, 5, 6, 7, 8, 9)
    assert_nothing_left(site)
    lines = summary(second)
    # the summary is the re-run's own attempt: the agents of the first attempt count once, as done before
    assert lines[0].startswith("done: 2 batch(es), 6 agent(s) restored, 0 failed, 0 not started, 3 done by an "), lines
    # the re-run did not drain the agents the first run had finished
    done_ids = {site.agent_id(h) for h in hosts(1, 2, 3)}
    assert not done_ids & set(requested()[first_filters:]), requested()


@pytest.mark.parametrize("build", BACKENDS)
def test_agent_back_under_a_new_id_is_kept_filtered_and_restored(make_site, build):
    """agent-2 comes back from its maintenance under a new id while agent-1, of the same batch, is still
    away: the hold finds agent-2 again by hostname and filters its new id while its maintenance step is still
    running (seen from inside the step), and it stays filtered until the batch is restored."""
    site = make_site(agents=6, build=build, tasks=6, task_duration=0.3)
    old_id, away = site.agent_id("agent-2.example.com"), site.agent_id("agent-1.example.com")
    variables = rolling_vars(
        mesos_maintenance_agents="agent-1.example.com,agent-2.example.com",
        mesos_maintenance_serial="2",
        sim_replace=["agent-2.example.com"],
        sim_disconnect=["agent-1.example.com"],
        sim_expect_held=["agent-2.example.com"],
    )
    pending = site.run("rolling_maintenance", variables, background=True)
    wait_until(lambda: not any(a["active"] for a in site.cluster.agents if a["id"] == away), timeout=300)
    wait_until(lambda: site.agent_id("agent-2.example.com") != old_id, timeout=120)
    new_id = site.agent_id("agent-2.example.com")
    wait_until(lambda: new_id in site.filtered_ids(), timeout=60)
    time.sleep(1)
    assert new_id in site.filtered_ids()  # still filtered while agent-1 is away
    site.cluster.reregister_agent(away)
    run = pending()
    assert run.rc == 0, run.output
    # inside the maintenance step of agent-2, after its replacement: the new id is filtered at the leader
    seen = [r["msg"] for r in run.tasks("The agent is filtered during its maintenance") if r["_status"] == "ok"]
    assert seen and seen[-1].startswith(f"agent-2.example.com {new_id} filtered at http://"), seen
    holds = run.last("Restore the agents of this batch")["holds"]
    assert [h["how"] for h in holds["ended"]] == ["released"], holds
    assert any(
        (r["hostname"], r["agent_id"], r["reason"]) == ("agent-2.example.com", new_id, "new agent id")
        for r in holds["reasserted"]
    ), holds
    log = site.changes()
    assert [i for i, (kind, target) in enumerate(log) if kind == "unfilter" and new_id in target], log
    assert_nothing_left(site)
    line = batch_lines(summary(run))["batch 1"]
    assert f"kept out again during the maintenance: agent-2.example.com (new id {new_id})" in line, line


@pytest.mark.parametrize("build", ["0afdd8b", NATIVE])
def test_leader_failover_during_the_maintenance_of_a_batch(make_site, build):
    """The leader dies during the maintenance of batch 1. Build 0afdd8b keeps filters only in the leader's
    memory: the new leader knows no filter, and the hold filters the batch again before its step ends. Mesos
    keeps a deactivation in its registry (native): the batch stays deactivated, the hold has nothing to put
    back, and each agent is deactivated once."""
    site = make_site(agents=4, build=build, tasks=4, task_duration=0.3, election_delay=0.5)
    first_leader = site.cluster.leader_url
    variables = rolling_vars(
        mesos_maintenance_agents="mesos_agents",
        mesos_maintenance_serial="2",
        sim_kill_leader_on=["agent-1.example.com"],
        sim_expect_held=["agent-1.example.com"],
    )
    run = site.run("rolling_maintenance", variables)
    assert run.rc == 0, run.output
    new_leader = site.cluster.leader_url
    assert new_leader != first_leader
    seen = [r["msg"] for r in run.tasks("The agent is filtered during its maintenance") if r["_status"] == "ok"]
    assert seen == [f"agent-1.example.com {site.agent_id('agent-1.example.com')} filtered at {new_leader}"], seen
    assert_nothing_left(site)
    lines = summary(run)
    assert lines[0].startswith("done: 2 batch(es), 4 agent(s) restored, 0 failed, 0 not started; leader http://")
    leaders = re.search(r"; leader (\S+) -> (\S+);", lines[0])
    assert leaders, lines
    assert (port_of(leaders[1]), port_of(leaders[2])) == (port_of(first_leader), port_of(new_leader)), lines
    assert any(line.startswith("leader failover during batch 1: ") for line in lines), lines
    batch = batch_lines(lines)["batch 1"]
    if site.native:
        assert lines[0].endswith("; backend native"), lines
        assert "kept out again" not in batch, batch
        filters = [target for kind, target in site.changes() if kind == "filter"]
        assert sorted(filters) == sorted(site.agent_id(h) for h in site.hostnames()), filters
        return
    assert (
        "kept out again during the maintenance: agent-1.example.com (leader changed), agent-2.example.com "
        "(leader changed)" in batch
    ), batch


# Maintenance steps with a run_once task that fails the batch: the task fails every host of the batch, but
# Ansible rescues, and gives ansible_failed_task/result to, the host that ran it only (ansible/ansible#87308).
FIRMWARE_STEP = """
- name: Fetch the firmware once for the batch
  ansible.builtin.fail:
    msg: the firmware server does not answer
  run_once: true
"""
# From this step on the masters answer 500: the restore's read of the cluster, a run_once task of the role, fails.
MASTERS_FAIL_STEP = """
- name: The masters start failing
  ansible.builtin.uri:
    url: "{{ sim_control }}/inject"
    method: POST
    body_format: json
    body: {path: /master/state-summary, status: 500, body: simulated master failure}
  delegate_to: localhost
  run_once: true
"""


@pytest.mark.parametrize(
    "step, error",
    [
        (FIRMWARE_STEP, "Fetch the firmware once for the batch: the firmware server does not answer"),
        (MASTERS_FAIL_STEP, "simulated master failure"),
    ],
    ids=["in-the-maintenance", "in-the-restore"],
)
def test_a_run_once_task_failing_fails_the_batch_with_a_summary_and_the_rerun_completes(
    make_site, tmp_path, step, error
):
    """Every host of the batch must still reach the rescue: the batch is recorded as failed with both its
    hosts, stays drained, the summary is printed, and the same command completes the run afterwards."""
    site = make_site(agents=4, build="later", tasks=4, task_duration=0.3)
    tasks_file = tmp_path / "step.yml"
    tasks_file.write_text(step)
    variables = rolling_vars(
        mesos_maintenance_agents="mesos_agents",
        mesos_maintenance_serial="2",
        mesos_maintenance_tasks_file=str(tasks_file),
    )
    first = site.run("rolling_maintenance", variables)
    site.cluster.clear_faults()
    assert first.rc != 0
    batch = hosts(1, 2)
    assert site.filtered_hostnames() == batch, first.output
    assert site.held() == batch
    failed = first.last("Record the failed batch and stop")
    assert failed["msg"].startswith("The batch agent-1.example.com, agent-2.example.com failed ("), failed["msg"]
    lines = summary(first)
    assert lines[0].startswith("FAILED: 1 batch(es), 0 agent(s) restored, 2 failed, 2 not started"), lines
    assert error in batch_lines(lines)["batch 1"], lines
    assert any(line.startswith("the failed batch stays out of service: " + ", ".join(batch)) for line in lines)

    second = site.run("rolling_maintenance", {**variables, "mesos_maintenance_tasks_file": str(SIM_MAINTENANCE)})
    assert second.rc == 0, second.output
    assert plan(second)["run_id"] == plan(first)["run_id"]
    assert_nothing_left(site)
    assert summary(second)[0].startswith("done: 2 batch(es), 4 agent(s) restored, 0 failed"), summary(second)


def test_the_rerun_ends_the_hold_that_a_killed_run_left_running(make_site, tmp_path):
    """ansible-playbook killed during a maintenance step leaves its hold running in the background (for up to
    agent_maintenance_hold_timeout). The re-run resumes the same run and its restore ends that hold: else it
    would filter the batch again right after the re-run restored it, leaving agents out of service that the
    summary calls restored."""
    site = make_site(agents=4, build="later", tasks=4, task_duration=0.3)
    slow = tmp_path / "slow.yml"
    slow.write_text("- name: A long maintenance\n  ansible.builtin.pause:\n    seconds: 600\n")
    variables = rolling_vars(mesos_maintenance_agents="mesos_agents", mesos_maintenance_serial="2")
    pending = site.run("rolling_maintenance", {**variables, "mesos_maintenance_tasks_file": str(slow)}, background=True)

    def holds():
        return ledger(site)["holds"]

    wait_until(lambda: any(h["status"] == "holding" for h in holds().values()), timeout=120, what="the hold of batch 1")
    pending.proc.kill()
    pending.proc.communicate()
    assert site.filtered_hostnames() == hosts(1, 2)
    ((hold_id, hold),) = holds().items()
    assert hold["hostnames"] == hosts(1, 2)
    # the hold outlives ansible-playbook: it goes on renewing its lease
    wait_until(lambda: holds()[hold_id]["lease_until"] > hold["lease_until"] + 1, timeout=30, what="a renewal")
    run_id = hold["run"]
    # ... and tells that its ansible-playbook is gone: the batch is recorded as interrupted, for the re-run
    wait_until(lambda: holds()[hold_id].get("orphaned"), timeout=30, what="the hold to see its run killed")
    interrupted = ledger(site)["runs"][run_id]["batches"][-1]["interrupted"]
    assert interrupted.startswith(f"interrupted: ansible-playbook (pid {pending.proc.pid} "), interrupted

    rerun = site.run("rolling_maintenance", variables)
    assert rerun.rc == 0, rerun.output
    assert plan(rerun)["lines"][0].startswith(f"Resuming the rolling maintenance {run_id} "), plan(rerun)
    assert f"its batch 1 ({', '.join(hosts(1, 2))}) {interrupted}" in plan(rerun)["lines"][0], plan(rerun)
    ended = {h["hold"]: h for r in rerun.tasks("Restore the agents of this batch") for h in r["holds"]["ended"]}
    assert ended[hold_id]["run"] == run_id and not ended[hold_id]["still_running"], ended
    assert summary(rerun)[0].startswith("done: 2 batch(es), 4 agent(s) restored, 0 failed"), summary(rerun)
    assert_nothing_left(site)
    time.sleep(2)  # ten times the hold interval: a hold still running would have filtered agent-1 again
    assert site.filtered_hostnames() == []


def test_a_second_run_of_the_same_agents_does_not_join_a_live_run(make_site, tmp_path):
    """Two ansible-playbook processes must not share one run (the second would restore what the first maintains):
    while the first runs, the second is refused at its plan with nothing changed; once the first is gone, a re-run
    resumes it."""
    site = make_site(agents=4, build="later", tasks=2, task_duration=0.3)
    slow = tmp_path / "slow.yml"
    slow.write_text("- name: A long maintenance\n  ansible.builtin.pause:\n    seconds: 600\n")
    variables = rolling_vars(mesos_maintenance_agents="mesos_agents", mesos_maintenance_serial="2")
    pending = site.run("rolling_maintenance", {**variables, "mesos_maintenance_tasks_file": str(slow)}, background=True)
    wait_until(lambda: site.memory() and site.memory()["holds"], timeout=120, what="the first run's hold")
    try:
        ((run_id, _),) = site.memory()["runs"].items()
        site.cluster.reset_log()
        second = site.run("rolling_maintenance", variables)
        assert second.rc != 0
        msg = second.last("Plan the rolling maintenance")["msg"]
        assert msg.startswith(
            f"the rolling maintenance {run_id} of these agents is running now (ansible-playbook pid {pending.proc.pid} "
        ), msg
        assert "mesos_maintenance_resume=false" in msg and "Nothing was changed" in msg, msg
        assert site.changes() == [] and list(site.memory()["runs"]) == [run_id]
    finally:
        pending.proc.kill()
        pending.proc.communicate()
    rerun = site.run("rolling_maintenance", variables)
    assert rerun.rc == 0, rerun.output
    assert plan(rerun)["run_id"] == run_id
    assert_nothing_left(site)


def test_unreachable_host_fails_its_batch_with_a_summary_and_the_rerun_completes(make_site):
    """A host that does not answer is dropped from the play; the restore finds it missing from the batch
    record and fails the batch, which stays out of service (its hold too) for the re-run."""
    site = make_site(agents=4, build="later", tasks=4, task_duration=0.3)
    variables = rolling_vars(mesos_maintenance_agents="mesos_agents", mesos_maintenance_serial="2")
    inventory = site.inventory(host_vars={"agent-3.example.com": unreachable_host_vars()})
    first = site.run("rolling_maintenance", variables, inventory=inventory)
    assert first.rc != 0
    failed_batch = hosts(3, 4)
    assert site.filtered_hostnames() == failed_batch, first.output
    assert site.held() == failed_batch
    assert [h["hostnames"] for h in ledger(site)["holds"].values()] == [failed_batch]
    assert [r["_status"] for r in first.tasks("Work on the agent host")].count("unreachable") == 1
    lines = summary(first)
    assert lines[0].startswith("FAILED: 2 batch(es), 2 agent(s) restored, 2 failed, 0 not started"), lines
    batch = batch_lines(lines)["batch 2"]
    assert "agent-3.example.com: dropped from the play" in batch, batch
    assert any(line.startswith("the failed batch stays out of service: " + ", ".join(failed_batch)) for line in lines)

    second = site.run("rolling_maintenance", variables)
    assert second.rc == 0, second.output
    assert plan(second)["todo"] == failed_batch and plan(second)["resumed"] is True, plan(second)
    assert_nothing_left(site)
    assert summary(second)[0].startswith(
        "done: 1 batch(es), 2 agent(s) restored, 0 failed, 0 not started, 2 done by an earlier run"
    ), summary(second)


@pytest.mark.parametrize("build", ["0afdd8b", NATIVE])
def test_agent_filtered_before_the_maintenance_stays_filtered(make_site, build):
    site = make_site(agents=6, build=build, tasks=6, task_duration=0.3)
    site.filter_as_someone_else(site.agent_id("agent-3.example.com"))
    variables = rolling_vars(mesos_maintenance_agents=",".join(hosts(1, 2, 3, 4)), mesos_maintenance_serial="2")
    run = site.run("rolling_maintenance", variables)
    assert run.rc == 0, run.output
    assert site.filtered_hostnames() == ["agent-3.example.com"]
    assert site.held() == []
    lines = summary(run)
    assert any(line.startswith("left out of service") and line.endswith(": agent-3.example.com") for line in lines)
    drains = run.tasks("Drain the agents of this batch")
    assert [a["outcome"] for a in drains[1]["agents"]] == ["external", "new"], drains[1]


def test_capacity_guard_checked_before_the_first_batch(make_site):
    site = make_site(agents=10, build="later")
    variables = rolling_vars(
        mesos_maintenance_agents="mesos_agents", mesos_maintenance_serial="30%", agent_maintenance_max_filtered="2"
    )
    run = site.run("rolling_maintenance", variables)
    assert run.rc != 0
    msg = plan(run)["msg"]
    assert "Batches of 3 agent(s)" in msg and "Nothing was changed" in msg, msg
    assert not run.tasks("Drain the agents of this batch")
    assert site.changes() == []
    assert site.filtered_hostnames() == []
    assert ledger(site)["runs"] == {} and ledger(site)["agents"] == {}


@pytest.mark.timeout(900)
@pytest.mark.parametrize("build", ["0afdd8b", NATIVE])
def test_rolling_maintenance_of_100_agents_with_failover_and_a_returning_agent(make_site, build):
    """The issue's safety test: 100 agents, batches of 10, the leader fails over once (during the maintenance
    of batch 4) and agent-72 comes back during the maintenance of batch 8.
    Build 0afdd8b keeps filters in the leader's memory only: agent-72 re-registers, both lose their filter and
    are filtered again by the hold before their maintenance step ends.
    Native: the master's registry survives the failover (nothing to put back); agent-72 comes back under a new
    agent id, which Mesos knows as a new, active agent: the hold deactivates it before agent-72's step ends."""
    site = make_site(agents=100, build=build, tasks=150, task_duration=0.3, election_delay=0.5)
    returning = {"sim_replace" if site.native else "sim_reregister": ["agent-72.example.com"]}
    variables = rolling_vars(
        mesos_maintenance_agents="mesos_agents",
        mesos_maintenance_serial="10",
        agent_maintenance_backend=NATIVE if site.native else "auto",
        agent_maintenance_max_filtered="10%",
        sim_kill_leader_on=["agent-35.example.com"],
        sim_expect_held=["agent-35.example.com", "agent-72.example.com"],
        **returning,
    )
    first_leader = site.cluster.leader_url
    old_id = site.agent_id("agent-72.example.com")
    with CapacityWatch(site.cluster) as watch:
        run = site.run("rolling_maintenance", variables, timeout=900)
    assert run.rc == 0, run.output
    assert site.cluster.leader_url != first_leader
    assert_nothing_left(site)
    assert len(site.cluster.agents) == 100 and all(a["active"] for a in site.cluster.agents)
    assert watch.max_unavailable <= 10, (watch.max_unavailable, sorted(watch.worst))
    agent_id = site.agent_id("agent-72.example.com")
    seen = [r["msg"] for r in run.tasks("The agent is filtered during its maintenance") if r["_status"] == "ok"]
    assert len(seen) == 2 and seen[1].startswith(f"agent-72.example.com {agent_id} filtered at http://"), seen
    lines = summary(run)
    assert lines[0].startswith("done: 10 batch(es), 100 agent(s) restored, 0 failed, 0 not started; leader "), lines
    assert any(line.startswith("leader failover during batch 4: ") for line in lines), lines
    batch = batch_lines(lines)
    if site.native:
        assert agent_id != old_id
        assert "kept out again" not in batch["batch 4"], batch["batch 4"]
        assert f"agent-72.example.com (new id {agent_id})" in batch["batch 8"], batch["batch 8"]
    else:
        assert "kept out again during the maintenance: " in batch["batch 4"], batch["batch 4"]
        assert "agent-35.example.com (leader changed)" in batch["batch 4"], batch["batch 4"]
        assert "agent-72.example.com (filter lost)" in batch["batch 8"], batch["batch 8"]
    print(
        f"\n{build}, 100 agents in batches of 10: {run.elapsed:.1f} s, max unavailable {watch.max_unavailable}, "
        f"{watch.samples} samples"
    )
    for line in lines:
        print(line)


def test_maintenance_given_as_a_role(make_site, tmp_path):
    site = make_site(agents=4, build="later", tasks=4, task_duration=0.3)
    role = tmp_path / "roles" / "patch_agent" / "tasks"
    role.mkdir(parents=True)
    (role / "main.yml").write_text(
        "- name: Patch (drive the simulator)\n"
        f"  ansible.builtin.include_tasks: {SIM_MAINTENANCE}\n"
        "- name: Note the patch\n"
        "  ansible.builtin.debug:\n"
        "    msg: patched {{ inventory_hostname }}\n"
    )
    variables = rolling_vars(
        mesos_maintenance_agents="mesos_agents",
        mesos_maintenance_serial="50%",
        mesos_maintenance_role="patch_agent",
        sim_replace=["agent-3.example.com"],
    )
    run = site.run("rolling_maintenance", variables, env={"ANSIBLE_ROLES_PATH": str(tmp_path / "roles")})
    assert run.rc == 0, run.output
    assert plan(run)["maintenance"] == "patch_agent"
    assert sorted(r["msg"] for r in run.tasks("Note the patch")) == [f"patched {h}" for h in site.hostnames()]
    assert_nothing_left(site)
    assert summary(run)[0].startswith("done: 2 batch(es), 4 agent(s) restored, 0 failed, 0 not started"), run.summary


@pytest.mark.parametrize("maintenance", ["tasks file", "role"])
def test_a_rehearsal_drains_and_restores_every_batch_without_contacting_an_agent_host(make_site, tmp_path, maintenance):
    """mesos_maintenance_rehearsal=true (as a survey sends it) with agent hosts that cannot be reached (ssh to a
    closed port, no Python) and a maintenance that works on them: every batch is drained and restored, and the
    maintenance is the controller's pause instead."""
    site = make_site(agents=4, build="later", tasks=4, task_duration=0.3)
    role = tmp_path / "roles" / "patch_agent" / "tasks"
    role.mkdir(parents=True)
    (role / "main.yml").write_text(f"- name: Patch\n  ansible.builtin.include_tasks: {SIM_MAINTENANCE}\n")
    unreachable = {**unreachable_host_vars(), "ansible_python_interpreter": "/nonexistent/python3"}
    inventory = site.inventory(host_vars=dict.fromkeys(site.hostnames(), unreachable))
    variables = rolling_vars(
        mesos_maintenance_agents="mesos_agents", mesos_maintenance_serial="2", mesos_maintenance_rehearsal="true"
    )
    if maintenance == "role":
        variables["mesos_maintenance_role"] = "patch_agent"
    requested = log_filter_requests(site)
    run = site.run(
        "rolling_maintenance", variables, inventory=inventory, env={"ANSIBLE_ROLES_PATH": str(tmp_path / "roles")}
    )
    assert run.rc == 0, run.output
    planned = plan(run)
    assert planned["lines"][0].endswith(
        "; a rehearsal: each batch pauses on the controller instead of its maintenance, no agent host is contacted."
    ), planned["lines"]
    assert Path(planned["maintenance"]).resolve() == PLAYBOOKS / "tasks" / "pause.yml"
    assert len(run.tasks("Pretend to maintain the batch")) == 2
    assert not run.tasks("Work on the agent host") and not run.tasks("Patch")
    assert sorted(requested()) == sorted(site.agent_id(h) for h in site.hostnames())
    assert_nothing_left(site)
    assert summary(run)[0].startswith("done: 2 batch(es), 4 agent(s) restored, 0 failed, 0 not started"), run.summary


def test_a_rehearsal_still_checks_the_maintenance(make_site):
    site = make_site(agents=2, build="later")
    variables = {
        "mesos_maintenance_agents": "mesos_agents",
        "mesos_maintenance_rehearsal": "true",
        "mesos_maintenance_tasks_file": "/nowhere/step.yml",
    }
    run = site.run("rolling_maintenance", variables)
    assert run.rc != 0, run.output
    assert "mesos_maintenance_tasks_file=/nowhere/step.yml: no such file" in refusal(run)
    run = site.run("rolling_maintenance", {**variables, "mesos_maintenance_rehearsal": "perhaps"})
    assert run.rc != 0, run.output
    assert "mesos_maintenance_rehearsal must be true or false, not perhaps." in refusal(run)
    assert site.changes() == []


# --- refused before any agent is touched -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "variables, fragments",
    [
        (
            {"mesos_maintenance_tasks_file": "maintenance/no-such-step.yml"},
            [
                "mesos_maintenance_tasks_file=maintenance/no-such-step.yml: no such file",
                "A relative path is looked up in the directory ansible-playbook runs in, then in the collection's "
                "playbooks/",
            ],
        ),
        (
            {"mesos_maintenance_tasks_file": "/nowhere/step.yml"},
            ["mesos_maintenance_tasks_file=/nowhere/step.yml: no such file (looked for /nowhere/step.yml)"],
        ),
        (
            {"mesos_maintenance_role": "no_such_role"},
            ["mesos_maintenance_role=no_such_role: no such role", "as a collection role and in the roles paths"],
        ),
    ],
    ids=["relative-tasks-file", "absolute-tasks-file", "role"],
)
def test_a_maintenance_that_does_not_exist_is_refused_before_any_agent_is_touched(make_site, variables, fragments):
    site = make_site(agents=4, build="later", tasks=4, task_duration=0.3)
    run = site.run("rolling_maintenance", {**rolling_vars(mesos_maintenance_agents="mesos_agents"), **variables})
    assert run.rc != 0
    msg = refusal(run)
    for fragment in fragments:
        assert fragment in msg, msg
    assert "Nothing was changed." in msg, msg
    assert not run.tasks("Drain the agents of this batch")
    assert site.changes() == []
    assert site.filtered_hostnames() == []
    assert ledger(site)["agents"] == {} and ledger(site)["runs"] == {}


def test_a_relative_tasks_file_resolves_against_the_directory_of_ansible_playbook_first(make_site, tmp_path):
    """tasks/pause.yml exists in the collection's playbooks/ too: the one in the directory ansible-playbook runs
    in (an AWX project's root) wins."""
    site = make_site(agents=2, build="later")
    project = tmp_path / "project"
    (project / "tasks").mkdir(parents=True)
    (project / "tasks" / "pause.yml").write_text(
        "- name: The project's own step\n  ansible.builtin.debug:\n    msg: maintained {{ inventory_hostname }}\n"
    )
    variables = {
        "mesos_maintenance_agents": "mesos_agents",
        "mesos_maintenance_serial": "1",
        "mesos_maintenance_tasks_file": "tasks/pause.yml",
    }
    results = tmp_path / "results-cwd.json"
    extra = tmp_path / "extra-cwd.json"
    extra.write_text(json.dumps(variables))
    command = [
        ANSIBLE_PLAYBOOK,
        "-i",
        str(site.inventory()),
        "mesos.maintenance.rolling_maintenance",
        "-e",
        f"@{extra}",
    ]
    env = ansible_env(tmp_path, site.collections_path, results)
    started = time.monotonic()
    proc = subprocess.Popen(command, cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    run = finish_run(proc, results, started, 300)
    assert run.rc == 0, run.output
    assert plan(run)["maintenance"] == str(project / "tasks" / "pause.yml")
    assert [r["msg"] for r in run.tasks("The project's own step")] == [f"maintained {h}" for h in site.hostnames()]
    assert not run.tasks("Pretend to maintain the batch")  # the collection's tasks/pause.yml
    assert_nothing_left(site)


# --- every failure path prints the summary, leaves the batch recorded for the re-run, and the re-run completes ---
@pytest.mark.parametrize("where", ["drain", "maintenance", "unreachable", "restore"])
def test_every_failure_path_prints_the_summary_and_the_rerun_completes(make_site, tmp_path, where):
    site = make_site(agents=4, build="later", tasks=4, task_duration=0.3)
    variables = rolling_vars(mesos_maintenance_agents="mesos_agents", mesos_maintenance_serial="2")
    inventory = None
    failing = {}
    if where == "drain":
        fail_filter_post(site, 2)  # agent-1 is filtered, agent-2's filter is refused
        error = "simulated allocator failure"
    elif where == "maintenance":
        failing = {"sim_fail_on": ["agent-2.example.com"]}
        error = "agent-2.example.com: Fail the maintenance: simulated maintenance failure on agent-2.example.com"
    elif where == "unreachable":
        inventory = site.inventory(host_vars={"agent-2.example.com": unreachable_host_vars()})
        error = "agent-2.example.com: dropped from the play"
    else:
        step = tmp_path / "step.yml"
        step.write_text(MASTERS_FAIL_STEP)
        failing = {"mesos_maintenance_tasks_file": str(step)}
        error = "simulated master failure"
    first = site.run("rolling_maintenance", {**variables, **failing}, inventory=inventory)
    site.cluster.clear_faults()
    assert first.rc != 0
    batch = hosts(1, 2)
    lines = summary(first)
    assert lines[0].startswith("FAILED: 1 batch(es), 0 agent(s) restored, 2 failed, 2 not started; leader "), lines
    assert batch_lines(lines)["batch 1"].startswith(f"batch 1 ({', '.join(batch)}): failed in "), lines
    assert error in batch_lines(lines)["batch 1"], lines
    assert any(line.startswith(f"the failed batch stays out of service: {', '.join(batch)} -- ") for line in lines)
    data = ledger(site)
    run_id = plan(first)["run_id"]
    ((recorded_id, record),) = data["runs"].items()
    assert recorded_id == run_id and record["failed"] == batch, record
    assert [(b["hosts"], b["outcome"]) for b in record["batches"]] == [(batch, "failed")], record
    kept = hosts(1) if where == "drain" else batch  # the refused filter was never taken
    assert site.filtered_hostnames() == kept
    assert {h: list(r["owners"]) for h, r in data["agents"].items()} == dict.fromkeys(kept, [run_id])
    holds = [(h["run"], h["hostnames"], h["released"]) for h in data["holds"].values()]
    if where in ("maintenance", "unreachable"):
        assert holds == [(run_id, batch, False)], data["holds"]  # left to the re-run
    else:
        assert holds == [], data["holds"]  # never started (drain), or ended by the restore before it failed

    second = site.run("rolling_maintenance", variables)
    assert second.rc == 0, second.output
    assert plan(second)["run_id"] == run_id
    assert summary(second)[0].startswith("done: 2 batch(es), 4 agent(s) restored, 0 failed, 0 not started; "), summary(
        second
    )
    assert_nothing_left(site)


# --- what an operator sees --------------------------------------------------------------------------------------
def read_lines(proc):
    """Read `proc`'s stdout line by line in a thread: [(time.monotonic() of arrival, line)], and the thread."""
    lines = []

    def read():
        for line in proc.stdout:
            lines.append((time.monotonic(), line.rstrip("\n")))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    return lines, reader


PROGRESS = re.compile(
    r"^waiting for the tasks of 1 agent\(s\) to end, (\d+) s left: agent-1\.example\.com: (\d+) active"
)


def test_a_drain_wait_prints_progress_at_least_every_ten_seconds(make_site):
    """The tasks of agent-1 end about 45 s after the site starts (at least 20 s into the wait, on a loaded machine
    too): at default verbosity, with the default callback, a line says what is awaited (the agent, its active tasks,
    the seconds left) in every 10 s window of the wait (12 s: the interval plus a request)."""
    site = make_site(agents=4, build="later", tasks=4, task_duration=45, masters=1)
    survey = {
        "mesos_maintenance_agents": "agent-1.example.com",
        "agent_maintenance_wait_sleep": "1",
        "agent_maintenance_wait_timeout": "120",
    }
    pending = site.run("drain", survey, env=DEFAULT_CALLBACK, background=True)
    lines, reader = read_lines(pending.proc)
    pending.proc.wait(timeout=300)
    reader.join(timeout=30)
    run = pending()
    text = "\n".join(line for _, line in lines)
    assert run.rc == 0, text + run.stderr
    assert site.filtered_hostnames() == ["agent-1.example.com"]
    starts = [t for t, line in lines if line.startswith("TASK [") and "Drain the agents of this batch" in line]
    ends = [t for t, line in lines if line.strip() == "taken out by this run: agent-1.example.com"]
    assert len(starts) == 1 and len(ends) == 1, text
    start, end = starts[0], ends[0]
    progress = [(t, PROGRESS.match(line.strip())) for t, line in lines if PROGRESS.match(line.strip())]
    assert len(progress) >= 2, text  # a wait of more than 20 s
    moments = [start] + [t for t, _ in progress] + [end]
    gaps = [round(b - a, 1) for a, b in zip(moments, moments[1:], strict=False)]
    assert max(gaps) <= 12, (gaps, text)
    left = [int(match[1]) for _, match in progress]
    assert left == sorted(left, reverse=True) and left[0] <= 120, left
    assert all(int(match[2]) >= 1 for _, match in progress), text
    assert all(match.string.endswith(" active (marathon)") for _, match in progress), text


@pytest.mark.smoke
def test_a_rolling_maintenance_of_20_agents_prints_at_most_150_lines(make_site):
    site = make_site(agents=20, build="later", tasks=20, task_duration=0.3)
    variables = {
        "mesos_maintenance_agents": "mesos_agents",
        "mesos_maintenance_serial": "4",
        "mesos_maintenance_rehearsal": "true",
        "mesos_maintenance_status": "true",
    }
    run = site.run("rolling_maintenance", variables, env=DEFAULT_CALLBACK)
    printed = run.stdout.splitlines()
    assert run.rc == 0, run.stdout + run.stderr
    assert_nothing_left(site)
    assert len(printed) <= 150, f"{len(printed)} lines\n{run.stdout}"
    assert not [line for line in printed if "...ignoring" in line or "FAILED - RETRYING" in line], run.stdout
    assert not [line for line in printed if line.lstrip().startswith('- "') or '"msg":' in line], run.stdout
    stripped = [line.strip() for line in printed]
    assert any(line.startswith("done: 5 batch(es), 20 agent(s) restored, 0 failed") for line in stripped), run.stdout
    assert any(line.startswith("20 agents, 0 filtered, 0 disconnected, ") for line in stripped), run.stdout
    header = stripped.index(next(line for line in stripped if line.startswith("HOSTNAME ")))
    assert sorted(line.split()[0] for line in stripped[header + 1 : header + 21]) == sorted(site.hostnames())
