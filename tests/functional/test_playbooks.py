# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The playbooks of the collection (drain, restore, status, rolling_maintenance), run by FQCN against
simulated clusters; the maintenance step drives the simulator (files/sim_maintenance.yml)."""

from __future__ import annotations

import socket
import time

import pytest
from maintenance_helpers import (
    BACKENDS,
    NATIVE,
    SIM_MAINTENANCE,
    CapacityWatch,
    SimulatedSite,
    cluster_args,
)

from mesos_sim.waiting import wait_until


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
    report = drain.messages("Report the drain per agent")[-1]
    assert all("filter added by this run" in line and "after waiting" in line for line in report), report

    restore = site.run("restore", survey)
    assert restore.rc == 0, restore.output
    assert site.filtered_hostnames() == []
    assert site.held() == []


def test_drain_playbook_takes_unknown_names_as_agent_hostnames(make_site):
    site = make_site(agents=4, build="later")
    name = site.hostnames()[3]
    run = site.run("drain", {"mesos_maintenance_agents": name}, inventory=site.inventory(hosts=[]))
    assert run.rc == 0, run.output
    assert site.filtered_hostnames() == [name]


def test_playbooks_refuse_an_empty_target(make_site):
    site = make_site(agents=2, build="later")
    for playbook in ("drain", "restore", "rolling_maintenance"):
        run = site.run(playbook)
        assert run.rc != 0
        assert "Set mesos_maintenance_agents" in run.last("Refuse an empty list of agents")["msg"]


def test_status_playbook(make_site):
    site = make_site(agents=4, build="0afdd8b", tasks=4)
    site.cluster.add_filter(site.agent_id(site.hostnames()[0]))
    site.cluster.disconnect_agent(site.agent_id(site.hostnames()[1]))
    run = site.run("status")
    assert run.rc == 0, run.output
    table = run.messages("Show the status")[-1]
    assert table[0].startswith("leader: http://") and "build: 0afdd8b" in table[0], table
    assert "4 agents, 1 filtered, 1 disconnected" in table[1], table
    rows = {line.split()[0]: line.split() for line in table[3:]}
    assert rows["agent-1.example.com"][2] == "yes"
    assert rows["agent-2.example.com"][3] == "NO"


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
    assert site.memory() is None
    assert site.changes() == []
    assert len(site.cluster.agents) == 8 and "agent-2.example.com" in site.hostnames()
    summary = run.summary
    assert summary[0].startswith("check mode, nothing changed: 3 batch(es)"), summary


@pytest.mark.parametrize("build", BACKENDS)
def test_failed_batch_stops_the_run_and_the_rerun_completes(make_site, build):
    site = make_site(agents=9, build=build, tasks=9, task_duration=0.3)
    variables = rolling_vars(
        mesos_maintenance_agents="mesos_agents", mesos_maintenance_serial="3", sim_fail_on=["agent-5.example.com"]
    )
    first = site.run("rolling_maintenance", variables)
    assert first.rc != 0
    failed_batch = ["agent-4.example.com", "agent-5.example.com", "agent-6.example.com"]
    assert site.filtered_hostnames() == failed_batch
    assert site.held() == failed_batch
    assert site.memory()["rolling"]["done"] == ["agent-1.example.com", "agent-2.example.com", "agent-3.example.com"]
    # later batches untouched
    touched = {target for _, target in site.changes()}
    for host in ("agent-7.example.com", "agent-8.example.com", "agent-9.example.com"):
        assert not any(site.agent_id(host) in t for t in touched)
    summary = first.messages("Summary of the rolling maintenance")[-1]
    assert summary[0].startswith("FAILED: 2 batch(es), 3 agent(s) restored, 3 failed, 3 not started"), summary
    assert any("simulated maintenance failure on agent-5.example.com" in line for line in summary), summary
    assert any("still drained" in line and "agent-4.example.com" in line for line in summary), summary

    site.cluster.reset_log()
    second = site.run("rolling_maintenance", {**variables, "sim_fail_on": []})
    assert second.rc == 0, second.output
    assert site.filtered_hostnames() == []
    assert site.held() == []
    assert "rolling" not in site.memory()
    summary = second.summary
    assert summary[0] == "done: 2 batch(es), 6 agent(s) restored, 0 failed, 0 not started, 3 done by an earlier run", (
        summary
    )
    # the re-run did not drain the agents the first run had finished
    posted = " ".join(target for kind, target in site.changes() if kind == "filter")
    assert site.agent_id("agent-1.example.com") not in posted


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
    seen = run.messages("The agent is filtered during its maintenance")
    assert seen and seen[-1].startswith(f"agent-2.example.com {new_id} filtered at http://"), seen
    hold = run.messages("Report the hold")[-1]
    verb = "deactivated again" if site.native else "filtered again"
    assert any(f"{verb} agent-2.example.com ({new_id}, was {old_id}): new agent id" in line for line in hold), hold
    log = site.changes()
    assert [i for i, (kind, target) in enumerate(log) if kind == "unfilter" and new_id in target], log
    assert site.filtered_hostnames() == []
    assert site.held() == []
    summary = run.summary
    assert any("came back under a new id: agent-2.example.com" in line for line in summary), summary
    assert any(
        f"filtered again during the maintenance: agent-2.example.com (new id {new_id})" in line for line in summary
    ), summary
    assert any("lost filter(s) put back" in line for line in summary), summary


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
    seen = run.messages("The agent is filtered during its maintenance")
    assert seen == [f"agent-1.example.com {site.agent_id('agent-1.example.com')} filtered at {new_leader}"], seen
    assert site.filtered_ids() == set()
    assert site.held() == []
    hold = run.messages("Report the hold")[0]
    summary = run.summary
    assert summary[0] == "done: 2 batch(es), 4 agent(s) restored, 0 failed, 0 not started", summary
    assert any(line.startswith("leader failover during batch 1") for line in summary), summary
    if site.native:
        assert len(hold) == 1 and hold[0].startswith("held agent-1.example.com, agent-2.example.com"), hold
        filters = [target for kind, target in site.changes() if kind == "filter"]
        assert sorted(filters) == sorted(site.agent_id(h) for h in site.hostnames()), filters
        assert any(line.startswith("leader: ") and line.endswith("; backend: native") for line in summary), summary
        return
    for host in ("agent-1.example.com", "agent-2.example.com"):
        assert any(f"filtered again {host} (" in line and line.endswith("leader changed") for line in hold), hold
    assert any(
        "filtered again during the maintenance: agent-1.example.com (leader changed), agent-2.example.com "
        "(leader changed)" in line
        for line in summary
    ), summary


# Maintenance steps with a run_once task that fails the batch: the task fails every host of the batch, but
# Ansible rescues, and gives ansible_failed_task/result to, the host that ran it only (ansible/ansible#87308).
FIRMWARE_STEP = """
- name: Fetch the firmware once for the batch
  ansible.builtin.fail:
    msg: the firmware server does not answer
  run_once: true
"""
# From this step on the masters answer 500: the restore's first read, a run_once task of the role, fails.
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
    batch = ["agent-1.example.com", "agent-2.example.com"]
    assert site.filtered_hostnames() == batch, first.output
    assert site.held() == batch
    summary = first.summary
    assert summary[0].startswith("FAILED: 1 batch(es), 0 agent(s) restored, 2 failed, 2 not started"), summary
    assert any(error in line for line in summary), summary
    assert any("still drained" in line and "agent-1.example.com, agent-2.example.com" in line for line in summary)

    second = site.run("rolling_maintenance", {**variables, "mesos_maintenance_tasks_file": str(SIM_MAINTENANCE)})
    assert second.rc == 0, second.output
    assert site.filtered_hostnames() == [] and site.held() == []
    assert second.summary[0].startswith("done: 2 batch(es), 4 agent(s) restored, 0 failed"), second.summary


def test_the_rerun_ends_the_hold_that_a_killed_run_left_running(make_site, tmp_path):
    """ansible-playbook killed during a maintenance step leaves its hold running in the background (for up to
    agent_maintenance_hold_timeout). The re-run must end it: else it would filter the batch again right after
    the re-run restored it, leaving agents out of service that the summary calls restored."""
    site = make_site(agents=4, build="later", tasks=4, task_duration=0.3)
    slow = tmp_path / "slow.yml"
    slow.write_text("- name: A long maintenance\n  ansible.builtin.pause:\n    seconds: 600\n")
    variables = rolling_vars(mesos_maintenance_agents="mesos_agents", mesos_maintenance_serial="2")
    pending = site.run("rolling_maintenance", {**variables, "mesos_maintenance_tasks_file": str(slow)}, background=True)

    def holding():
        return any(f.read_text().startswith("holding") for f in site.hold_dir.glob("hold-*"))

    wait_until(holding, timeout=120, what="the hold of batch 1 in force")
    pending.proc.kill()
    pending.proc.communicate()
    assert site.filtered_hostnames() == ["agent-1.example.com", "agent-2.example.com"]

    rerun = site.run("rolling_maintenance", variables)
    assert rerun.rc == 0, rerun.output
    assert rerun.summary[0].startswith("done: 2 batch(es), 4 agent(s) restored, 0 failed"), rerun.summary
    time.sleep(2)  # ten times the hold interval: a hold still running would have filtered agent-1 again
    assert site.filtered_hostnames() == []
    assert list(site.hold_dir.glob("hold-*")) == []


def test_unreachable_host_fails_its_batch_with_a_summary_and_the_rerun_completes(make_site):
    site = make_site(agents=4, build="later", tasks=4, task_duration=0.3)
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    unreachable = {"ansible_connection": "ssh", "ansible_host": "127.0.0.1", "ansible_port": closed_port}
    variables = rolling_vars(
        mesos_maintenance_agents="mesos_agents", mesos_maintenance_serial="2", mesos_maintenance_reachable_timeout="2"
    )
    first = site.run(
        "rolling_maintenance", variables, inventory=site.inventory(host_vars={"agent-3.example.com": unreachable})
    )
    assert first.rc != 0
    failed_batch = ["agent-3.example.com", "agent-4.example.com"]
    assert site.filtered_hostnames() == failed_batch, first.output
    assert site.held() == failed_batch
    summary = first.summary
    assert summary[0] == "FAILED: 2 batch(es), 2 agent(s) restored, 2 failed, 0 not started", summary
    assert any(line.startswith("batch 2 (") and "unreachable: agent-3.example.com" in line for line in summary), summary
    assert "unreachable during the maintenance (its batch stays filtered): agent-3.example.com" in summary, summary
    assert any("still drained" in line and "agent-3.example.com, agent-4.example.com" in line for line in summary)
    # the hold of the failed batch was released and has ended
    assert first.messages("Report the hold")[-1][0].startswith("held agent-3.example.com, agent-4.example.com")

    second = site.run("rolling_maintenance", variables)
    assert second.rc == 0, second.output
    assert site.filtered_hostnames() == [] and site.held() == []
    assert second.summary[0] == (
        "done: 1 batch(es), 2 agent(s) restored, 0 failed, 0 not started, 2 done by an earlier run"
    ), second.summary


@pytest.mark.parametrize("build", ["0afdd8b", NATIVE])
def test_agent_filtered_before_the_maintenance_stays_filtered(make_site, build):
    site = make_site(agents=6, build=build, tasks=6, task_duration=0.3)
    site.filter_as_someone_else(site.agent_id("agent-3.example.com"))
    agents = ",".join(f"agent-{n}.example.com" for n in range(1, 5))
    variables = rolling_vars(mesos_maintenance_agents=agents, mesos_maintenance_serial="2")
    run = site.run("rolling_maintenance", variables)
    assert run.rc == 0, run.output
    assert site.filtered_hostnames() == ["agent-3.example.com"]
    assert site.held() == []
    assert any(line.startswith("left filtered") and "agent-3.example.com" in line for line in run.summary), run.summary


def test_capacity_guard_checked_before_the_first_batch(make_site):
    site = make_site(agents=10, build="later")
    variables = rolling_vars(
        mesos_maintenance_agents="mesos_agents", mesos_maintenance_serial="30%", agent_maintenance_max_filtered="2"
    )
    run = site.run("rolling_maintenance", variables)
    assert run.rc != 0
    msg = run.last("Check the batch size against the capacity guard")["msg"]
    assert "Batches of 3 agent(s)" in msg and "Nothing was changed" in msg, msg
    assert site.filtered_hostnames() == []


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
    assert site.filtered_ids() == set()
    assert site.held() == []
    assert len(site.cluster.agents) == 100 and all(a["active"] for a in site.cluster.agents)
    assert watch.max_unavailable <= 10, (watch.max_unavailable, sorted(watch.worst))
    agent_id = site.agent_id("agent-72.example.com")
    seen = run.messages("The agent is filtered during its maintenance")
    assert len(seen) == 2 and seen[1].startswith(f"agent-72.example.com {agent_id} filtered at http://"), seen
    summary = run.summary
    assert summary[0] == "done: 10 batch(es), 100 agent(s) restored, 0 failed, 0 not started", summary
    assert any(line.startswith("leader failover during batch 4") for line in summary), summary
    batch = {line.split(" (", 1)[0]: line for line in summary if line.startswith("batch ")}
    if site.native:
        assert agent_id != old_id
        assert "filtered again" not in batch["batch 4"], batch["batch 4"]
        assert f"agent-72.example.com (new id {agent_id})" in batch["batch 8"], batch["batch 8"]
    else:
        assert "filtered again during the maintenance: " in batch["batch 4"], batch["batch 4"]
        assert "agent-35.example.com (" in batch["batch 4"], batch["batch 4"]
        assert "agent-72.example.com (filter lost)" in batch["batch 8"], batch["batch 8"]
    print(
        f"\n{build}, 100 agents in batches of 10: {run.elapsed:.1f} s, max unavailable {watch.max_unavailable}, "
        f"{watch.samples} samples"
    )
    for line in summary:
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
    assert len(run.messages("Note the patch")) == 4
    assert site.filtered_hostnames() == [] and site.held() == []
    assert run.summary[0] == "done: 2 batch(es), 4 agent(s) restored, 0 failed, 0 not started", run.summary
