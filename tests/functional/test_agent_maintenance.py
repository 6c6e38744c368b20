# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The role mesos.maintenance.agent_maintenance in plays of the tests' own, against simulated clusters."""

from __future__ import annotations

import time

import pytest
import yaml
from maintenance_helpers import BACKENDS, NATIVE, SIM_MAINTENANCE, SimulatedSite, cluster_args

ROLE = "mesos.maintenance.agent_maintenance"


@pytest.fixture
def site(cluster_factory, build, tmp_path, collections_path):
    cluster = cluster_factory(**cluster_args(build, masters=3, agents=6, tasks=6, task_duration=0.5))
    site = SimulatedSite(cluster, tmp_path, collections_path)
    yield site
    site.close()


def play(site, tasks, hosts="mesos_agents", serial=None, name="play"):
    data = {"name": "role test", "hosts": hosts, "gather_facts": False, "tasks": tasks}
    if serial is not None:
        data["serial"] = serial
    path = site.tmp_path / f"{name}.yml"
    path.write_text(yaml.safe_dump([data], sort_keys=False))
    return path


def rolling_one_batch(hosts, **variables):
    """Extra variables of rolling_maintenance.yml: `hosts` in one batch, the maintenance driving the
    simulator (files/sim_maintenance.yml), and a short wait for the agents to come back."""
    return {
        "mesos_maintenance_agents": hosts,
        "mesos_maintenance_serial": str(len(hosts)),
        "mesos_maintenance_tasks_file": str(SIM_MAINTENANCE),
        "mesos_maintenance_registration_timeout": "1",
        **variables,
    }


def entry(point, **variables):
    task = {"name": f"agent_maintenance {point}", "ansible.builtin.include_role": {"name": ROLE, "tasks_from": point}}
    if variables:
        task["vars"] = variables
    return task


@pytest.mark.parametrize("build", BACKENDS)
def test_drain_then_restore_a_play_batch(site):
    hosts = site.hostnames()[:2]
    drain = site.run(play(site, [entry("drain")], hosts=",".join(hosts)))
    assert drain.rc == 0, drain.output
    assert site.filtered_hostnames() == hosts
    assert site.held() == hosts
    assert all(site.cluster.active_tasks(site.agent_id(h)) == 0 for h in hosts)
    report = drain.messages("Report the drain per agent")[-1]
    assert len(report) == 2 and all("filter added by this run" in line for line in report), report
    assert all("0 active task(s) after waiting" in line for line in report), report
    # one offer_filter call for the batch, on the controller: one change per agent, no per-host calls
    assert len(site.changes()) == 2, site.changes()
    assert drain.last("Filter the agents and wait until their tasks have ended")["backend"] == (
        NATIVE if site.native else "allocator"
    )

    restore = site.run(play(site, [entry("restore")], hosts=",".join(hosts)))
    assert restore.rc == 0, restore.output
    assert site.filtered_hostnames() == []
    assert site.held() == []
    assert all("filter removed" in line for line in restore.messages("Report the restore per agent")[-1])


def test_main_entry_point_with_explicit_list_from_localhost(site):
    names = site.hostnames()[2:4]
    tasks = [
        {
            "name": "main",
            "ansible.builtin.include_role": {"name": ROLE},
            "vars": {"agent_maintenance_agents": ",".join(names)},
        }
    ]
    run = site.run(play(site, tasks, hosts="localhost"))
    assert run.rc == 0, run.output
    assert site.filtered_hostnames() == names
    tasks[0]["vars"]["agent_maintenance_state"] = "restored"
    run = site.run(play(site, tasks, hosts="localhost", name="restore"))
    assert run.rc == 0, run.output
    assert site.filtered_hostnames() == []


@pytest.mark.parametrize("source", ["ansible_host", "variable"])
def test_inventory_host_to_agent_mapping(cluster_factory, tmp_path, collections_path, source):
    cluster = cluster_factory(masters=1, agents=3, build="later")
    site = SimulatedSite(cluster, tmp_path, collections_path)
    try:
        target = site.hostnames()[1]
        key = "ansible_host" if source == "ansible_host" else "mesos_agent_hostname"
        inventory = site.inventory(
            hosts=["node-b"], host_vars={"node-b": {key: target}}, agent_maintenance_agent_source=source
        )
        run = site.run(play(site, [entry("drain")]), inventory=inventory)
        assert run.rc == 0, run.output
        assert site.filtered_hostnames() == [target]
    finally:
        site.close()


def test_unregistered_agent_fails_by_default_and_changes_nothing(site):
    hosts = [site.hostnames()[0], "ghost.example.com"]
    run = site.run(play(site, [entry("drain")], hosts="localhost"), extra_vars={"agent_maintenance_agents": hosts})
    assert run.rc != 0
    failure = run.last("Refuse agents the master does not know")
    assert "ghost.example.com" in failure["msg"] and "Nothing was changed" in failure["msg"], failure
    assert site.filtered_hostnames() == []
    assert site.held() == []


def test_unregistered_agent_skipped_on_request(site):
    hosts = [site.hostnames()[0], "ghost.example.com"]
    extra = {"agent_maintenance_agents": hosts, "agent_maintenance_unregistered": "skip"}
    run = site.run(play(site, [entry("drain")], hosts="localhost"), extra_vars=extra)
    assert run.rc == 0, run.output
    assert site.filtered_hostnames() == [hosts[0]]
    assert any("ghost.example.com: not registered" in line for line in run.messages("Report the drain per agent")[-1])


@pytest.mark.parametrize("build", BACKENDS)
def test_agent_filtered_by_someone_else_stays_filtered(site):
    mine, theirs = site.hostnames()[:2]
    site.filter_as_someone_else(site.agent_id(theirs))
    extra = {"agent_maintenance_agents": [mine, theirs]}
    drain = site.run(play(site, [entry("drain")], hosts="localhost"), extra_vars=extra)
    assert drain.rc == 0, drain.output
    assert site.held() == [mine]
    assert any(
        line.startswith(theirs) and "someone else" in line for line in drain.messages("Report the drain per agent")[-1]
    )

    restore = site.run(play(site, [entry("restore")], hosts="localhost", name="restore"), extra_vars=extra)
    assert restore.rc == 0, restore.output
    assert site.filtered_hostnames() == [theirs]
    report = restore.messages("Report the restore per agent")[-1]
    assert any(line.startswith(theirs) and "kept filtered" in line for line in report), report

    forced = site.run(
        play(site, [entry("restore")], hosts="localhost", name="force"),
        extra_vars={**extra, "agent_maintenance_force": "true"},
    )
    assert forced.rc == 0, forced.output
    assert site.filtered_hostnames() == []


@pytest.mark.parametrize("build", BACKENDS)
def test_restore_refuses_an_agent_that_is_not_active(site):
    """Mesos shows a deactivated agent as not active whether it is connected or not, so with the native
    backend the agent that cannot be restored is one that is gone from the master."""
    hosts = site.hostnames()[:2]
    assert site.run(play(site, [entry("drain")], hosts=",".join(hosts))).rc == 0
    kept = site.agent_id(hosts[0])
    inventory = site.inventory()  # still lists the agent host that is removed below
    if site.native:
        site.cluster.remove_agent(site.agent_id(hosts[1]))
    else:
        site.cluster.disconnect_agent(site.agent_id(hosts[1]))
    site.cluster.reset_log()
    run = site.run(play(site, [entry("restore")], hosts=",".join(hosts), name="restore"), inventory=inventory)
    assert run.rc != 0
    msg = run.last("Refuse to restore agents that are not registered and active")["msg"]
    why = "not registered with the master" if site.native else "disconnected"
    assert hosts[1] in msg and why in msg and "Nothing was unfiltered" in msg, msg
    assert site.held() == hosts
    assert kept in site.filtered_ids()
    assert site.changes() == []


def test_restore_waits_for_registration(site):
    hosts = site.hostnames()[:1]
    assert site.run(play(site, [entry("drain")], hosts=",".join(hosts))).rc == 0
    agent = site.agent_id(hosts[0])
    site.cluster.disconnect_agent(agent)
    pending = site.run(
        play(
            site, [entry("restore", agent_maintenance_registration_timeout=30)], hosts=",".join(hosts), name="restore"
        ),
        background=True,
    )
    time.sleep(3)
    site.cluster.reregister_agent(agent)
    run = pending()
    assert run.rc == 0, run.output
    assert site.filtered_hostnames() == []
    assert site.held() == []


@pytest.mark.parametrize("build", BACKENDS)
def test_hold_keeps_an_agent_back_under_a_new_id_filtered_until_the_restore(site):
    """The hold and hold_release entry points around a maintenance of the user's own: the agent that comes
    back under a new id is filtered again by hostname before the maintenance ends, and restored after. With
    the native backend the new id is a new, active agent that the hold deactivates."""
    hosts = site.hostnames()[:2]
    old_id = site.agent_id(hosts[0])
    maintenance = [
        {
            "name": "Replace the agent",
            "ansible.builtin.uri": {
                "url": "{{ sim_control }}/replace_agent",
                "method": "POST",
                "body_format": "json",
                "body": {"agent_id": old_id},
            },
            "run_once": True,
            "delegate_to": "localhost",
        },
        {
            "name": "Maintain for a while",
            "ansible.builtin.wait_for": {"timeout": 2},
            "run_once": True,
            "delegate_to": "localhost",
        },
        {
            "name": "Read the agents during the maintenance",
            "mesos.maintenance.offer_filter_info": {"hostname": hosts[0], "master_url": site.cluster.urls},
            "register": "during",
            "run_once": True,
            "delegate_to": "localhost",
        },
        {
            "name": "The new id is filtered during the maintenance",
            "ansible.builtin.assert": {"that": ["during.agents | map(attribute='filtered') | list == [true]"]},
            "run_once": True,
            "delegate_to": "localhost",
        },
    ]
    tasks = [entry("drain"), entry("hold"), *maintenance, entry("hold_release"), entry("restore")]
    site.cluster.reset_log()
    run = site.run(play(site, tasks, hosts=",".join(hosts)))
    assert run.rc == 0, run.output
    new_id = site.agent_id(hosts[0])
    assert new_id != old_id
    assert run.last("The new id is filtered during the maintenance")["_status"] == "ok", run.output
    report = run.messages("Report the hold")[-1]
    assert report[0].startswith(f"held {hosts[0]}, {hosts[1]} filtered during the maintenance"), report
    verb = "deactivated again" if site.native else "filtered again"
    assert any(f"{verb} {hosts[0]} ({new_id}, was {old_id}): new agent id" in line for line in report), report
    log = site.changes()
    # two filters of the drain, one of the hold (the new id), then the restore's unfilter of the new id
    filters = [i for i, (kind, _) in enumerate(log) if kind == "filter"]
    unfilters_of_new = [i for i, (kind, target) in enumerate(log) if kind == "unfilter" and new_id in target]
    assert len(filters) == 3 and unfilters_of_new and filters[-1] < unfilters_of_new[0], log
    if site.native:
        assert log[2] == ("filter", new_id), log
    assert site.filtered_hostnames() == []
    assert site.held() == []


def test_a_hold_that_cannot_start_fails_before_the_maintenance(site):
    hosts = site.hostnames()[:1]
    extra = {
        "agent_maintenance_master_url": "http://127.0.0.1:9",
        "agent_maintenance_leader_timeout": 1,
        "agent_maintenance_drain_result": {"added": hosts, "held": []},
    }
    tasks = [entry("hold"), {"name": "Maintain", "ansible.builtin.debug": {"msg": "maintained"}}]
    run = site.run(play(site, tasks, hosts="localhost"), extra_vars=extra)
    assert run.rc != 0
    msg = run.last("The hold did not start")["msg"]
    assert "the hold could not start" in msg and "connection refused" in msg, msg
    assert not run.tasks("Maintain")


def test_capacity_guard_refusal_changes_nothing(site):
    hosts = site.hostnames()[:3]
    run = site.run(
        play(site, [entry("drain")], hosts="localhost"),
        extra_vars={"agent_maintenance_agents": hosts, "agent_maintenance_max_filtered": "2"},
    )
    assert run.rc != 0
    msg = run.last("Drain failed")["msg"]
    assert "max_filtered" in msg, msg
    assert site.filtered_hostnames() == []
    assert site.held() == []


@pytest.mark.parametrize("build", BACKENDS)
def test_check_mode_changes_nothing(site):
    hosts = site.hostnames()[:2]
    tasks = [entry("drain"), entry("hold"), entry("hold_release"), entry("restore")]
    run = site.run(play(site, tasks, hosts=",".join(hosts)), check=True)
    assert run.rc == 0, run.output
    assert site.filtered_hostnames() == []
    assert site.memory() is None
    assert site.changes() == []
    # ... and says what it would do
    drain = run.last("Filter the agents and wait until their tasks have ended")
    assert drain["changed"] and len(drain["added"]) == 2, drain
    report = run.messages("Report the drain per agent")[-1]
    assert all("check mode: the filter would be added" in line for line in report), report


@pytest.mark.parametrize("build", [NATIVE])
def test_native_drain_with_drain_agent_is_idempotent_and_restores(site):
    """agent_maintenance_drain=true: DRAIN_AGENT, waited for until DRAINED (the simulator kills the tasks),
    shown by the status; a second drain changes nothing; the restore reactivates."""
    hosts = site.hostnames()[:2]
    ids = [site.agent_id(h) for h in hosts]
    extra = {"agent_maintenance_drain": "true", "agent_maintenance_drain_grace_period": "1.5"}
    drain = site.run(play(site, [entry("drain")], hosts=",".join(hosts)), extra_vars=extra)
    assert drain.rc == 0, drain.output
    assert site.drain_states() == dict.fromkeys(ids, "DRAINED")
    with site.cluster.state.lock:
        configs = [site.cluster.state.agents[i].drain_info["config"] for i in ids]
    assert configs == [{"max_grace_period": {"nanoseconds": 1_500_000_000}, "mark_gone": False}] * 2, configs
    assert all(site.cluster.active_tasks(i) == 0 for i in ids)
    assert all("; drain DRAINED" in line for line in drain.messages("Report the drain per agent")[-1])
    assert [c for c in site.changes() if c[0] == "filter"] == [("filter", i) for i in ids]

    site.cluster.reset_log()
    again = site.run(play(site, [entry("drain")], hosts=",".join(hosts), name="again"), extra_vars=extra)
    assert again.rc == 0, again.output
    assert again.last("Filter the agents and wait until their tasks have ended")["changed"] is False
    assert site.changes() == []
    assert all("already filtered by this role" in line for line in again.messages("Report the drain per agent")[-1])

    status = site.run(play(site, [entry("status")], hosts="localhost", name="status"))
    assert status.rc == 0, status.output
    table = status.messages("Show the status")[-1]
    assert "backend: native" in table[0] and "build" not in table[0], table
    assert "6 agents, 2 filtered, 0 disconnected" in table[1], table
    rows = {line.split()[0]: line.split() for line in table[3:]}
    assert [rows[h][2:4] for h in hosts] == [["DRAINED", "?"]] * 2, table

    restore = site.run(play(site, [entry("restore")], hosts=",".join(hosts), name="restore"), extra_vars=extra)
    assert restore.rc == 0, restore.output
    assert site.filtered_ids() == set() and site.drain_states() == {}
    assert site.held() == []


@pytest.mark.parametrize("build", ["0afdd8b"])
def test_a_held_agent_that_lost_its_filter_is_reported_as_filtered_again(site):
    """On build 0afdd8b a re-registration loses the filter: a second drain adds it again and says so,
    instead of reporting the agent as still filtered."""
    host = site.hostnames()[0]
    assert site.run(play(site, [entry("drain")], hosts=host)).rc == 0
    agent = site.agent_id(host)
    site.cluster.disconnect_agent(agent)
    site.cluster.reregister_agent(agent)
    assert site.filtered_hostnames() == []
    again = site.run(play(site, [entry("drain")], hosts=host, name="again"))
    assert again.rc == 0, again.output
    assert site.filtered_hostnames() == [host]
    assert site.held() == [host]
    (line,) = again.messages("Report the drain per agent")[-1]
    assert "filter added by this run (this role took it out earlier; it was no longer filtered)" in line, line


@pytest.mark.parametrize("build", ["later"])
def test_a_rescued_failed_drain_leaves_later_memory_writes_alone(site):
    """A failed drain that the play rescues must not leave behind a value that later writes of the memory
    file in the play would take instead of their own: the restore after it forgets what it restored."""
    first, *others = site.hostnames()[:3]
    tasks = [
        entry("drain", agent_maintenance_agents=[first]),
        {
            "name": "Drain more than the guard allows",
            "block": [entry("drain", agent_maintenance_agents=others, agent_maintenance_max_filtered="1")],
            "rescue": [{"name": "Go on", "ansible.builtin.debug": {"msg": "refused"}}],
        },
        entry("restore", agent_maintenance_agents=[first]),
    ]
    run = site.run(play(site, tasks, hosts="localhost"))
    assert run.rc == 0, run.output
    assert run.last("Drain failed")["_status"] == "failed"
    assert site.filtered_hostnames() == []
    assert site.held() == []


@pytest.mark.parametrize("build", ["later"])
def test_a_hold_with_a_bad_interval_is_refused_at_once(site):
    hosts = site.hostnames()[:1]
    extra = {"agent_maintenance_hold_interval": 0, "agent_maintenance_drain_result": {"added": hosts, "held": []}}
    tasks = [entry("hold"), {"name": "Maintain", "ansible.builtin.debug": {"msg": "maintained"}}]
    run = site.run(play(site, tasks, hosts="localhost"), extra_vars=extra)
    assert run.rc != 0
    msg = run.last("Check the options of the hold")["msg"]
    assert "agent_maintenance_hold_interval must be a number of seconds greater than 0" in msg, msg
    assert not run.tasks("Keep the agents filtered while they are maintained")
    assert not run.tasks("Maintain")


@pytest.mark.parametrize("build", ["later"])
def test_only_the_main_entry_point_reads_the_state(site):
    host = site.hostnames()[0]
    main = {"name": "main", "ansible.builtin.include_role": {"name": ROLE}}
    extra = {"agent_maintenance_agents": [host], "agent_maintenance_state": "bogus"}
    refused = site.run(play(site, [main], hosts="localhost"), extra_vars=extra)
    assert refused.rc != 0
    assert any("bogus" in str(r.get("msg")) for r in refused.results if r["_status"] == "failed"), refused.output
    assert site.filtered_hostnames() == []
    drained = site.run(play(site, [entry("drain")], hosts="localhost", name="drain"), extra_vars=extra)
    assert drained.rc == 0, drained.output
    assert site.filtered_hostnames() == [host]


@pytest.mark.parametrize("build", ["later"])
@pytest.mark.parametrize("step", ["drain", "restore"])
def test_a_failing_drain_or_restore_fails_a_batch_of_several_hosts_with_a_summary(site, step):
    """The role's failures come from tasks that run once per batch. Ansible fails every host of the batch
    for such a task but rescues only the host that ran it (ansible/ansible#87308), so the role reports its
    failures from every host: the rolling playbook's rescue then fails the batch and prints the summary."""
    hosts = site.hostnames()[:2]
    extra = rolling_one_batch(hosts)
    if step == "drain":
        site.cluster.launch_tasks(site.agent_id(hosts[1]), count=1, duration=600)
        extra["agent_maintenance_wait_timeout"] = "1"
        why = "timed out"
    else:
        extra["sim_disconnect"] = [hosts[1]]
        why = "refusing to restore 1 agent(s)"
    run = site.run("rolling_maintenance", extra)
    assert run.rc != 0
    assert run.last("Stop the rolling maintenance")["_status"] == "failed", run.output
    summary = run.summary
    assert summary[0].startswith("FAILED: 1 batch(es), 0 agent(s) restored, 2 failed"), summary
    assert "failed in" in summary[1] and f"-- {step}: agent_maintenance: " in summary[1] and why in summary[1], summary
    assert site.held() == hosts
    assert site.filtered_hostnames() == hosts


@pytest.mark.parametrize("build", ["later"])
def test_rolling_summary_counts_an_agent_left_out_of_the_restore_as_not_restored(site):
    """With agent_maintenance_unregistered=skip the restore of a batch leaves out an agent that is not
    back: the summary must not count it as restored."""
    hosts = site.hostnames()[:2]
    extra = rolling_one_batch(hosts, agent_maintenance_unregistered="skip", sim_disconnect=[hosts[1]])
    run = site.run("rolling_maintenance", extra)
    assert run.rc == 0, run.output
    summary = run.summary
    assert summary[0].startswith("done: 1 batch(es), 1 agent(s) restored, 1 not restored"), summary
    assert f"not restored: {hosts[1]}: registered as {site.agent_id(hosts[1])} but disconnected" in summary[1], summary
    assert site.held() == [hosts[1]]


@pytest.mark.parametrize(
    "build, options, fragment",
    [
        (
            "later",
            {"agent_maintenance_backend": "allocator", "agent_maintenance_drain": True},
            "need agent_maintenance_backend=native",
        ),
        (
            NATIVE,
            {"agent_maintenance_backend": NATIVE, "agent_maintenance_drain_grace_period": 2},
            "apply to a drain only",
        ),
        (NATIVE, {"agent_maintenance_backend": NATIVE, "agent_maintenance_mark_gone": True}, "apply to a drain only"),
    ],
    ids=["drain-with-allocator", "grace-period-without-drain", "mark-gone-without-drain"],
)
def test_drain_options_out_of_place_are_refused_naming_the_role_variables(site, options, fragment):
    extra = {"agent_maintenance_agents": site.hostnames()[:1], **options}
    run = site.run(play(site, [entry("drain")], hosts="localhost"), extra_vars=extra)
    assert run.rc != 0
    msg = run.last("Check the inputs of agent_maintenance")["msg"]
    assert fragment in msg, msg
    assert site.filtered_hostnames() == []


def test_bad_inputs_fail_before_anything_changes(site):
    extra = {
        "agent_maintenance_agents": site.hostnames()[:1],
        "agent_maintenance_wait_timeout": "soon",
        "agent_maintenance_max_filtered": "lots",
    }
    run = site.run(play(site, [entry("drain")], hosts="localhost"), extra_vars=extra)
    assert run.rc != 0
    failed = [r for r in run.results if r["_status"] == "failed"]
    assert failed, run.output
    assert site.filtered_hostnames() == []


def test_no_master_url_is_explained(site, tmp_path):
    inventory = site.inventory(mesos_master_url="")
    run = site.run(play(site, [entry("drain")], hosts=site.hostnames()[0]), inventory=inventory)
    assert run.rc != 0
    assert "no master URL" in run.last("Check the inputs of agent_maintenance")["msg"]
