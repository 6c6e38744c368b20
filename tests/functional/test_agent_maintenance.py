# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The role mesos.maintenance.agent_maintenance in plays of the tests' own, against simulated clusters.

Each entry point of the role is one task (drain, restore, hold, hold_release, status), whose result the tests read
through the collect_results callback: `agents` (per hostname: outcome, others, text), `lines`, `holds`. The ledger
(agent_maintenance_memory_file) is read straight from its JSON file. The last tests run several plays with
different agent_maintenance_run_id values sharing one ledger, as two operators or two AWX jobs would (issue 12).
"""

from __future__ import annotations

import pytest
import yaml
from maintenance_helpers import BACKENDS, NATIVE, SIM_MAINTENANCE, SimulatedSite, cluster_args

from mesos_sim.waiting import wait_until

ROLE = "mesos.maintenance.agent_maintenance"
DEFAULT_RUN = "agent_maintenance"  # the run id of the role when agent_maintenance_run_id is not set
# The one task of each entry point.
DRAIN = "Drain the agents of this batch"
RESTORE = "Restore the agents of this batch"
HOLD = "Keep the agents out of service while they are maintained"
RELEASE = "Release the hold"
STATUS = "Status of the agents"
STATE_SUMMARY = "/master/state-summary"  # what a wait reads at every look


@pytest.fixture
def site(cluster_factory, build, tmp_path, collections_path):
    cluster = cluster_factory(**cluster_args(build, masters=3, agents=6, tasks=6, task_duration=0.5))
    site = SimulatedSite(cluster, tmp_path, collections_path)
    yield site
    running = site.end_holds()  # what close() does: a hold a test left running ends once released in the ledger
    site.close()
    assert running == [], f"holds still running after their release: {running}"


def play(site, tasks, hosts="mesos_agents", serial=None, name="play", **play_keys):
    data = {"name": "role test", "hosts": hosts, "gather_facts": False, **play_keys, "tasks": tasks}
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


def outcomes(result):
    """{hostname: outcome} of a drain or restore result."""
    return {agent["hostname"]: agent["outcome"] for agent in result["agents"]}


def by_host(result):
    return {agent["hostname"]: agent for agent in result["agents"]}


def as_run(run_id, hosts, *points, **variables):
    """Tasks of the entry points `points` for the agents `hosts`, as the run `run_id`, from localhost."""
    return [
        entry(point, agent_maintenance_run_id=run_id, agent_maintenance_agents=hosts, **variables) for point in points
    ]


# --- one run --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("build", BACKENDS)
@pytest.mark.smoke
def test_drain_then_restore_a_play_batch(site):
    hosts = site.hostnames()[:2]
    drain = site.run(play(site, [entry("drain")], hosts=",".join(hosts)))
    assert drain.rc == 0, drain.output
    assert site.filtered_hostnames() == hosts
    assert site.held() == hosts
    assert [site.owners(h) for h in hosts] == [[DEFAULT_RUN]] * 2
    assert all(site.cluster.active_tasks(site.agent_id(h)) == 0 for h in hosts)
    # one task for the batch (run_once on the controller): one API change per agent, no per-host calls
    (result,) = drain.tasks(DRAIN)
    assert outcomes(result) == dict.fromkeys(hosts, "new"), result
    assert sorted(result["added"]) == sorted(site.agent_id(h) for h in hosts), result
    assert result["active_tasks"] == dict.fromkeys(hosts, 0), result
    assert result["backend"] == (NATIVE if site.native else "allocator")
    assert [kind for kind, _ in site.changes()] == ["filter", "filter"], site.changes()
    assert f"taken out by this run: {', '.join(hosts)}" in drain.stdout, drain.output

    site.cluster.reset_log()
    restore = site.run(play(site, [entry("restore")], hosts=",".join(hosts), name="restore"))
    assert restore.rc == 0, restore.output
    (result,) = restore.tasks(RESTORE)
    assert outcomes(result) == dict.fromkeys(hosts, "restored"), result
    assert result["restored"] == hosts, result
    assert site.filtered_hostnames() == []
    assert site.held() == []
    assert [kind for kind, _ in site.changes()] == ["unfilter", "unfilter"], site.changes()


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
    assert outcomes(run.last(DRAIN)) == dict.fromkeys(names, "new")
    assert site.filtered_hostnames() == names
    assert site.held() == names
    tasks[0]["vars"]["agent_maintenance_state"] = "restored"
    run = site.run(play(site, tasks, hosts="localhost", name="restore"))
    assert run.rc == 0, run.output
    assert outcomes(run.last(RESTORE)) == dict.fromkeys(names, "restored")
    assert not run.tasks(DRAIN)
    assert site.filtered_hostnames() == []
    assert site.held() == []


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
        assert outcomes(run.last(DRAIN)) == {target: "new"}
        assert site.filtered_hostnames() == [target]
        assert site.owners(target) == [DEFAULT_RUN]
    finally:
        site.close()


def test_unregistered_agent_fails_by_default_and_changes_nothing(site):
    hosts = [site.hostnames()[0], "ghost.example.com"]
    run = site.run(play(site, [entry("drain")], hosts="localhost"), extra_vars={"agent_maintenance_agents": hosts})
    assert run.rc != 0
    failure = run.last(DRAIN)
    assert failure["_status"] == "failed", failure
    assert "ghost.example.com" in failure["msg"] and "Nothing was changed" in failure["msg"], failure
    assert "unregistered=skip" in failure["msg"], failure
    assert site.filtered_hostnames() == []
    assert site.held() == []
    assert site.changes() == []


def test_unregistered_agent_skipped_on_request(site):
    hosts = [site.hostnames()[0], "ghost.example.com"]
    extra = {"agent_maintenance_agents": hosts, "agent_maintenance_unregistered": "skip"}
    run = site.run(play(site, [entry("drain")], hosts="localhost"), extra_vars=extra)
    assert run.rc == 0, run.output
    result = run.last(DRAIN)
    assert outcomes(result) == {hosts[0]: "new", "ghost.example.com": "skipped"}, result
    assert "ghost.example.com: not registered with the master, skipped" in result["lines"], result
    assert site.filtered_hostnames() == [hosts[0]]
    assert site.held() == [hosts[0]]


@pytest.mark.parametrize("build", BACKENDS)
def test_agent_filtered_by_someone_else_stays_filtered(site):
    mine, theirs = site.hostnames()[:2]
    site.filter_as_someone_else(site.agent_id(theirs))
    extra = {"agent_maintenance_agents": [mine, theirs]}
    drain = site.run(play(site, [entry("drain")], hosts="localhost"), extra_vars=extra)
    assert drain.rc == 0, drain.output
    result = drain.last(DRAIN)
    assert outcomes(result) == {mine: "new", theirs: "external"}, result
    assert "someone else" in by_host(result)[theirs]["text"], result
    assert site.held() == [mine]

    restore = site.run(play(site, [entry("restore")], hosts="localhost", name="restore"), extra_vars=extra)
    assert restore.rc == 0, restore.output
    result = restore.last(RESTORE)
    assert outcomes(result) == {mine: "restored", theirs: "kept_external"}, result
    assert "force=true" in by_host(result)[theirs]["text"], result
    assert site.filtered_hostnames() == [theirs]
    assert site.held() == []

    forced = site.run(
        play(site, [entry("restore")], hosts="localhost", name="force"),
        extra_vars={**extra, "agent_maintenance_force": "true"},
    )
    assert forced.rc == 0, forced.output
    assert outcomes(forced.last(RESTORE))[theirs] == "restored"
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
    failure = run.last(RESTORE)
    assert failure["_status"] == "failed", failure
    why = "not registered with the master" if site.native else "disconnected"
    assert f"{hosts[1]}: {why}" in failure["msg"] and "Nothing was put back" in failure["msg"], failure
    assert site.held() == hosts
    assert [site.owners(h) for h in hosts] == [[DEFAULT_RUN]] * 2
    assert kept in site.filtered_ids()
    assert site.changes() == []


def test_restore_waits_for_registration_and_says_what_it_waits_for(site):
    """The restore waits for the agent to come back, and prints between slices of its wait which agents it
    waits for and why (the play shortens the slices of the restore module through module_defaults)."""
    hosts = site.hostnames()[:1]
    assert site.run(play(site, [entry("drain")], hosts=",".join(hosts))).rc == 0
    agent = site.agent_id(hosts[0])
    site.cluster.disconnect_agent(agent)
    site.cluster.reset_log()
    pending = site.run(
        play(
            site,
            [entry("restore", agent_maintenance_registration_timeout=60)],
            hosts=",".join(hosts),
            name="restore",
            module_defaults={"mesos.maintenance.maintenance_restore": {"progress_interval": 0.5}},
        ),
        background=True,
    )
    # The agent comes back once the restore has waited for it for a while (a dozen looks at the master: several
    # slices of 0.5 s with a look every 0.2 s), as after a reboot.
    wait_until(lambda: len(site.reads(STATE_SUMMARY)) >= 12, timeout=120, what="the restore waiting")
    site.cluster.reregister_agent(agent)
    run = pending()
    assert run.rc == 0, run.output
    result = run.last(RESTORE)
    assert outcomes(result) == {hosts[0]: "restored"}, result
    assert result["waited"] >= 1, result
    assert site.filtered_hostnames() == [], (result, site.changes())
    assert site.held() == []
    progress = [line.strip() for line in run.stdout.splitlines() if "waiting for 1 agent(s) to come back" in line]
    assert progress, run.output
    assert all(line.endswith(f"s left: {hosts[0]}: disconnected") for line in progress), progress


@pytest.mark.parametrize("build", ["later"])
def test_a_drain_that_waits_says_what_it_waits_for_and_reports_every_agent(site):
    """A drain whose wait lasts several slices prints what it waits for between them (active tasks, framework,
    seconds left), and still reports each agent at the end."""
    hosts = site.hostnames()[:2]
    busy = site.agent_id(hosts[0])
    site.cluster.launch_tasks(busy, count=1, duration=600)
    site.cluster.reset_log()
    pending = site.run(
        play(
            site,
            [entry("drain")],
            hosts=",".join(hosts),
            module_defaults={"mesos.maintenance.maintenance_drain": {"progress_interval": 0.5}},
        ),
        background=True,
    )
    # The task ends once the drain has waited for it for a while (a dozen looks: several slices of 0.5 s).
    wait_until(lambda: len(site.reads(STATE_SUMMARY)) >= 12, timeout=120, what="the drain waiting")
    site.cluster.finish_tasks(busy)
    run = pending()
    assert run.rc == 0, run.output
    result = run.last(DRAIN)
    assert result["waited"] >= 1 and result["active_tasks"] == dict.fromkeys(hosts, 0), result
    progress = [line.strip() for line in run.stdout.splitlines() if line.strip().startswith("waiting for the tasks")]
    assert progress, run.output
    assert all(line.startswith("waiting for the tasks of 1 agent(s) to end, ") for line in progress), progress
    assert all(f"s left: {hosts[0]}: " in line and " active" in line for line in progress), progress
    assert outcomes(result) == dict.fromkeys(hosts, "new"), result
    assert result["lines"] == [f"{h}: taken out by this run" for h in hosts], result
    assert f"taken out by this run: {', '.join(hosts)}" in run.stdout, run.output
    assert site.filtered_hostnames() == hosts


def replace_agent_tasks(site, old_id, hostname):
    """Tasks of a maintenance of the user's own, from the batch's first host: the agent comes back under a new
    id, and the play waits (bounded) until that id is filtered."""
    return [
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
            "name": "Wait until the new id is filtered during the maintenance",
            "mesos.maintenance.offer_filter_info": {"hostname": hostname, "master_url": site.cluster.urls},
            "register": "during",
            "until": f"during.agents | rejectattr('agent_id', 'equalto', '{old_id}') | map(attribute='filtered') "
            "| list == [true]",
            "retries": 100,
            "delay": 0.2,
            "run_once": True,
            "delegate_to": "localhost",
        },
    ]


@pytest.mark.parametrize(
    "build, ended_by",
    [*((build, "restore") for build in BACKENDS), ("later", "hold_release")],
)
def test_hold_keeps_an_agent_back_under_a_new_id_filtered_until_the_restore(site, ended_by):
    """The hold entry point around a maintenance of the user's own: the agent that comes back under a new id is
    filtered again by hostname before the maintenance ends; the restore ends the hold (or hold_release does, and the
    agent stays filtered until the restore) and puts the agent back. With the native backend the new id is a new,
    active agent that the hold deactivates."""
    hosts = site.hostnames()[:2]
    old_id = site.agent_id(hosts[0])
    tasks = [entry("drain"), entry("hold"), *replace_agent_tasks(site, old_id, hosts[0])]
    if ended_by == "hold_release":
        tasks += [
            entry("hold_release"),
            {
                "name": "Still filtered after the hold",
                "mesos.maintenance.offer_filter_info": {"hostname": hosts[0], "master_url": site.cluster.urls},
                "register": "after",
                "run_once": True,
                "delegate_to": "localhost",
            },
        ]
    tasks.append(entry("restore"))
    site.cluster.reset_log()
    run = site.run(play(site, tasks, hosts=",".join(hosts)))
    assert run.rc == 0, run.output
    new_id = site.agent_id(hosts[0])
    assert new_id != old_id
    job = run.last(HOLD)
    assert job["held"] == hosts and job["hold"].startswith("hold-"), job
    assert run.last("Wait until the new id is filtered during the maintenance")["_status"] == "ok", run.output

    restore = run.last(RESTORE)
    if ended_by == "hold_release":
        after = run.last("Still filtered after the hold")
        assert [a["filtered"] for a in after["agents"] if a["agent_id"] == new_id] == [True], after
        holds = run.last(RELEASE)["holds"]
        assert restore["holds"]["ended"] == [], restore["holds"]
    else:
        assert not run.tasks(RELEASE)
        holds = restore["holds"]
    (ended,) = holds["ended"]
    assert (ended["hold"], ended["how"], ended["ended"]) == (job["hold"], "released", "released"), holds
    again = [item for item in holds["reasserted"] if item["hostname"] == hosts[0]]
    assert [(item["agent_id"], item["reason"]) for item in again] == [(new_id, "new agent id")], holds

    assert outcomes(restore) == dict.fromkeys(hosts, "restored"), restore
    log = site.changes()
    # two filters of the drain, one of the hold (the new id), then the restore's unfilter of the new id
    filters = [i for i, (kind, _) in enumerate(log) if kind == "filter"]
    unfilters_of_new = [i for i, (kind, target) in enumerate(log) if kind == "unfilter" and new_id in target]
    assert len(filters) == 3 and unfilters_of_new and filters[-1] < unfilters_of_new[0], log
    if site.native:
        assert log[2] == ("filter", new_id), log
    assert site.filtered_hostnames() == []
    assert site.held() == []
    assert site.holds() == {}


def test_a_hold_that_cannot_start_fails_before_the_maintenance(site):
    hosts = site.hostnames()[:1]
    assert site.run(play(site, [entry("drain")], hosts="localhost"), {"agent_maintenance_agents": hosts}).rc == 0
    extra = {
        "agent_maintenance_agents": hosts,
        "agent_maintenance_master_url": "http://127.0.0.1:9",
        "agent_maintenance_leader_timeout": 1,
        "agent_maintenance_timeout": 1,
    }
    tasks = [entry("hold"), {"name": "Maintain", "ansible.builtin.debug": {"msg": "maintained"}}]
    run = site.run(play(site, tasks, hosts="localhost", name="hold"), extra_vars=extra)
    assert run.rc != 0
    failure = run.last(HOLD)
    assert failure["_status"] == "failed", failure
    assert "127.0.0.1:9" in failure["msg"], failure
    assert not run.tasks("Maintain")
    assert site.holds() == {}
    # the drained agent stays out of service, recorded
    assert site.filtered_hostnames() == hosts
    assert site.owners(hosts[0]) == [DEFAULT_RUN]


def test_a_hold_with_a_bad_interval_is_refused_and_starts_nothing(site):
    hosts = site.hostnames()[:1]
    tasks = [
        entry("drain"),
        entry("hold", agent_maintenance_hold_interval=0),
        {"name": "Maintain", "ansible.builtin.debug": {"msg": "maintained"}},
    ]
    run = site.run(play(site, tasks, hosts="localhost"), extra_vars={"agent_maintenance_agents": hosts})
    assert run.rc != 0
    failure = run.last(HOLD)
    assert failure["_status"] == "failed", failure
    assert "hold_interval must be at least 0.1 seconds" in failure["msg"], failure
    assert not run.tasks("Maintain")
    assert site.holds() == {}
    assert site.held() == hosts


def test_capacity_guard_refusal_changes_nothing(site):
    hosts = site.hostnames()[:3]
    run = site.run(
        play(site, [entry("drain")], hosts="localhost"),
        extra_vars={"agent_maintenance_agents": hosts, "agent_maintenance_max_filtered": "2"},
    )
    assert run.rc != 0
    failure = run.last(DRAIN)
    assert failure["_status"] == "failed", failure
    assert "max_filtered" in failure["msg"], failure
    assert site.filtered_hostnames() == []
    assert site.held() == []
    assert site.changes() == []


@pytest.mark.parametrize("build", BACKENDS)
def test_check_mode_changes_nothing(site):
    hosts = site.hostnames()[:2]
    tasks = [entry("drain"), entry("hold"), entry("hold_release"), entry("restore")]
    run = site.run(play(site, tasks, hosts=",".join(hosts)), check=True)
    assert run.rc == 0, run.output
    assert site.filtered_hostnames() == []
    assert site.memory() is None  # the ledger was not written
    assert site.changes() == []
    # ... and says what it would do
    drain = run.last(DRAIN)
    assert drain["changed"] is True and sorted(drain["added"]) == sorted(site.agent_id(h) for h in hosts), drain
    assert outcomes(drain) == dict.fromkeys(hosts, "new"), drain
    assert run.last(HOLD)["changed"] is False and "hold" not in run.last(HOLD), run.last(HOLD)


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
    assert outcomes(drain.last(DRAIN)) == dict.fromkeys(hosts, "new")
    assert [c for c in site.changes() if c[0] == "filter"] == [("filter", i) for i in ids]

    site.cluster.reset_log()
    again = site.run(play(site, [entry("drain")], hosts=",".join(hosts), name="again"), extra_vars=extra)
    assert again.rc == 0, again.output
    assert again.last(DRAIN)["changed"] is False
    assert outcomes(again.last(DRAIN)) == dict.fromkeys(hosts, "ours")
    assert site.changes() == []

    status = site.run(play(site, [entry("status")], hosts="localhost", name="status"))
    assert status.rc == 0, status.output
    table = status.last(STATUS)["lines"]
    assert table[0].startswith("6 agents, 2 filtered, 0 disconnected") and "backend native" in table[0], table
    assert "build" not in table[0], table
    rows = {line.split()[0]: line.split() for line in table[2:] if line.split()[0] in hosts}
    assert [rows[h][2:4] for h in hosts] == [["DRAINED", "?"]] * 2, table
    assert [rows[h][-1] for h in hosts] == [DEFAULT_RUN] * 2, table

    restore = site.run(play(site, [entry("restore")], hosts=",".join(hosts), name="restore"), extra_vars=extra)
    assert restore.rc == 0, restore.output
    assert site.filtered_ids() == set() and site.drain_states() == {}
    assert site.held() == []


@pytest.mark.parametrize("build", ["0afdd8b"])
def test_a_held_agent_that_lost_its_filter_is_filtered_again_by_a_second_drain(site):
    """On build 0afdd8b a re-registration loses the filter: a second drain adds it again and says so (added),
    instead of reporting the agent as still filtered."""
    host = site.hostnames()[0]
    assert site.run(play(site, [entry("drain")], hosts=host)).rc == 0
    agent = site.agent_id(host)
    site.cluster.disconnect_agent(agent)
    site.cluster.reregister_agent(agent)
    assert site.filtered_hostnames() == []
    again = site.run(play(site, [entry("drain")], hosts=host, name="again"))
    assert again.rc == 0, again.output
    result = again.last(DRAIN)
    assert result["changed"] is True and result["added"] == [agent], result
    assert outcomes(result) == {host: "ours"}, result
    assert site.filtered_hostnames() == [host]
    assert site.owners(host) == [DEFAULT_RUN]


def leader_as_the_client_names_it(cluster):
    """The leader's URL as /master/redirect gives it (the simulated masters advertise the hostname localhost)."""
    return f"http://localhost:{cluster.state.masters[cluster.leader_index].port}"


@pytest.mark.parametrize("build", ["0afdd8b"])
def test_a_filter_lost_to_a_failover_is_named_by_the_status_and_the_restore(site):
    """Build 0afdd8b keeps filters in the leader's memory: after a failover the status flags the held agent as held
    but not filtered because the leader changed, and the restore (check mode, then for real) names that cause
    rather than a re-registration."""
    host = site.hostnames()[0]
    assert site.run(play(site, [entry("drain")], hosts=host)).rc == 0
    old = leader_as_the_client_names_it(site.cluster)
    assert site.ledger()["agents"][host]["leader"] == old
    site.cluster.kill_leader()
    site.cluster.wait_for_leader()
    new = leader_as_the_client_names_it(site.cluster)
    assert site.filtered_hostnames() == [] and site.held() == [host]
    cause = f"leader changed: filtered at {old}, the leader is now {new}"

    status = site.run(play(site, [entry("status")], hosts=host, name="status"))
    assert status.rc == 0, status.output
    result = status.last(STATUS)
    assert result["lost_filters"] == {host: cause}, result
    row = next(line for line in result["lines"] if line.startswith(host))
    assert row.split()[2:4] == ["LOST", "yes"], result["lines"]
    assert result["lines"][-1] == (
        f"WARNING: {host} is held by {DEFAULT_RUN} but not filtered (filter lost: {cause}). A hold or a drain puts "
        "it back."
    )

    restore = play(site, [entry("restore")], hosts=host, name="restore")
    checked = site.run(restore, check=True)
    assert checked.rc == 0, checked.output
    (agent,) = checked.last(RESTORE)["agents"]
    assert agent["text"] == f"back in service: its filter was already gone (filter lost: {cause})", agent

    restored = site.run(restore)
    assert restored.rc == 0, restored.output
    result = restored.last(RESTORE)
    (agent,) = result["agents"]
    assert agent["text"] == f"unfiltered (filter lost: {cause}; put back while waiting)", agent
    assert f"unfiltered (filter lost: {cause}; put back while waiting): {host}" in restored.stdout, restored.output
    assert [a for a in result["actions"] if "re-register" in a] == [], result["actions"]
    assert site.filtered_hostnames() == [] and site.held() == []


@pytest.mark.parametrize("build", ["0afdd8b"])
def test_the_hold_records_the_leader_that_holds_the_filter_again(site):
    """A hold that filters again at a new leader records it, so that a later status or restore compares the leader
    of that moment with the one holding the filter, not with the drain's."""
    host = site.hostnames()[0]
    assert site.run(play(site, [entry("drain"), entry("hold")], hosts=host)).rc == 0
    assert site.ledger()["agents"][host]["leader"] == leader_as_the_client_names_it(site.cluster)
    site.cluster.kill_leader()
    site.cluster.wait_for_leader()
    new = leader_as_the_client_names_it(site.cluster)
    wait_until(lambda: site.ledger()["agents"][host].get("leader") == new, 20, what="the hold's leader recorded")
    assert site.filtered_hostnames() == [host]
    restore = site.run(play(site, [entry("restore")], hosts=host, name="restore"))
    assert restore.rc == 0, restore.output
    assert site.filtered_hostnames() == [] and site.held() == []


@pytest.mark.parametrize("build", ["later"])
def test_undo_on_failure_puts_back_what_the_failed_drain_took(site):
    """agent_maintenance_undo_on_failure: a drain that times out puts back the agents it took out, and only
    those (an agent that another run keeps out stays out)."""
    first, second, other = site.hostnames()[:3]
    assert site.run(play(site, as_run("other", [other], "drain"), hosts="localhost", name="other")).rc == 0
    for host in (first, second, other):
        site.cluster.launch_tasks(site.agent_id(host), count=1, duration=600)
    site.cluster.reset_log()
    extra = {"agent_maintenance_undo_on_failure": "true", "agent_maintenance_wait_timeout": "0"}
    run = site.run(play(site, as_run("mine", [first, second, other], "drain"), hosts="localhost"), extra_vars=extra)
    assert run.rc != 0
    failure = run.last(DRAIN)
    assert failure["_status"] == "failed", failure
    assert "timed out" in failure["msg"] and "put back" in failure["msg"], failure
    assert sorted(failure["undone"]) == [first, second], failure
    assert site.filtered_hostnames() == [other]
    assert site.owners(other) == ["other"]
    assert site.held() == [other]
    unfiltered = [target for kind, target in site.changes() if kind == "unfilter"]
    assert len(unfiltered) == 2 and not any(site.agent_id(other) in t for t in unfiltered), site.changes()


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
    """The role's steps run once per batch. Ansible fails every host of the batch for such a task but rescues only
    the host that ran it (ansible/ansible#87308): the rolling playbook's rescue still records the batch as failed
    and prints the summary."""
    hosts = site.hostnames()[:2]
    extra = rolling_one_batch(hosts)
    if step == "drain":
        site.cluster.launch_tasks(site.agent_id(hosts[1]), count=1, duration=600)
        extra["agent_maintenance_wait_timeout"] = "1"
        why = "timed out"
    else:
        extra["sim_disconnect"] = [hosts[1]]
        why = f"{hosts[1]}: disconnected"
    run = site.run("rolling_maintenance", extra)
    assert run.rc != 0
    assert run.last("Record the failed batch and stop")["_status"] == "failed", run.output
    summary = run.summary
    assert summary[0].startswith("FAILED: 1 batch(es), 0 agent(s) restored, 2 failed"), summary
    batch = next(line for line in summary if line.startswith("batch 1 "))
    assert "failed" in batch and why in batch, summary
    if step == "drain":
        assert "-- drain: " in batch, summary
    assert any(line.startswith("the failed batch stays out of service: " + ", ".join(hosts)) for line in summary)
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
    assert f"not restored: {hosts[1]}: disconnected" in summary[1], summary
    assert site.held() == [hosts[1]]


@pytest.mark.parametrize(
    "build, options, fragment",
    [
        (
            "later",
            {"agent_maintenance_backend": "allocator", "agent_maintenance_drain": True},
            "backend=native",
        ),
        (
            NATIVE,
            {"agent_maintenance_backend": NATIVE, "agent_maintenance_drain_grace_period": 2},
            "drain_grace_period applies to drain=true only",
        ),
        (
            NATIVE,
            {"agent_maintenance_backend": NATIVE, "agent_maintenance_mark_gone": True},
            "mark_gone applies to drain=true only",
        ),
    ],
    ids=["drain-with-allocator", "grace-period-without-drain", "mark-gone-without-drain"],
)
def test_drain_options_out_of_place_are_refused(site, options, fragment):
    extra = {"agent_maintenance_agents": site.hostnames()[:1], **options}
    run = site.run(play(site, [entry("drain")], hosts="localhost"), extra_vars=extra)
    assert run.rc != 0
    failure = run.last(DRAIN)
    assert failure["_status"] == "failed" and fragment in failure["msg"], failure
    assert site.filtered_hostnames() == []
    assert site.held() == []


@pytest.mark.parametrize(
    "options, fragment",
    [
        ({"agent_maintenance_max_filtered": "lots"}, "max_filtered must be a number of agents or a percentage"),
        ({"agent_maintenance_wait_timeout": "soon"}, "agent_maintenance_wait_timeout"),
        ({"agent_maintenance_unregistered": "ignore"}, "agent_maintenance_unregistered must be one of: fail, skip"),
    ],
    ids=["max_filtered", "wait_timeout", "unregistered"],
)
@pytest.mark.parametrize("build", ["later"])
def test_bad_inputs_fail_before_anything_changes(site, options, fragment):
    extra = {"agent_maintenance_agents": site.hostnames()[:1], **options}
    run = site.run(play(site, [entry("drain")], hosts="localhost"), extra_vars=extra)
    assert run.rc != 0
    failed = [r for r in run.results if r["_status"] == "failed"]
    assert failed and fragment in failed[-1]["msg"], run.output
    assert site.filtered_hostnames() == []
    assert site.memory() is None or site.held() == []
    assert site.changes() == []


def test_no_master_url_is_explained(site):
    inventory = site.inventory(mesos_master_url="")
    run = site.run(play(site, [entry("drain")], hosts=site.hostnames()[0]), inventory=inventory)
    assert run.rc != 0
    failure = run.last(DRAIN)
    assert failure["_status"] == "failed" and "master_url" in failure["msg"], failure
    assert site.filtered_hostnames() == []


# --- several runs sharing one ledger (issue 12) ----------------------------------------------------------------
@pytest.mark.parametrize("build", ["later"])
def test_two_runs_at_once_keep_both_records(site):
    """Two plays started together, with different run ids, each on its own agent, sharing the ledger file: both
    records are there afterwards, every time. Each round restores the previous round's agent and drains it again
    under a new run id, so that restores and drains of the two runs overlap too."""
    pair = site.hostnames()[1:3]  # agent-2, agent-3
    previous = {}
    for round_number in range(5):
        pending = []
        for letter, host in zip("AB", pair, strict=True):
            run_id = f"run-{letter}{round_number}"
            tasks = []
            if host in previous:
                tasks += as_run(previous[host], [host], "restore")
            tasks += as_run(run_id, [host], "drain")
            pending.append(site.run(play(site, tasks, hosts="localhost", name=run_id), background=True))
            previous[host] = run_id
        for finish in pending:
            run = finish()
            assert run.rc == 0, run.output
        assert {host: site.owners(host) for host in pair} == {host: [previous[host]] for host in pair}, site.ledger()
        assert site.filtered_hostnames() == pair

    pending = [
        site.run(
            play(site, as_run(previous[host], [host], "restore"), hosts="localhost", name=f"end-{host}"),
            background=True,
        )
        for host in pair
    ]
    for finish in pending:
        run = finish()
        assert run.rc == 0, run.output
        assert list(outcomes(run.last(RESTORE)).values()) == ["restored"], run.last(RESTORE)
    assert site.ledger()["agents"] == {}
    assert site.filtered_hostnames() == []


@pytest.mark.parametrize("build", ["later"])
def test_one_run_cannot_undo_another(site):
    """Run A drains agent-6, run B drains it too; A's restore leaves it out of service and names B; B's restore
    puts it back."""
    host = site.hostnames()[5]
    a = site.run(play(site, as_run("run-A", [host], "drain"), hosts="localhost", name="a-drain"))
    assert a.rc == 0, a.output
    b = site.run(play(site, as_run("run-B", [host], "drain"), hosts="localhost", name="b-drain"))
    assert b.rc == 0, b.output
    drained = by_host(b.last(DRAIN))[host]
    assert drained["outcome"] == "shared" and [o["run"] for o in drained["others"]] == ["run-A"], drained
    assert b.last(DRAIN)["added"] == [], b.last(DRAIN)
    assert site.owners(host) == ["run-A", "run-B"]

    site.cluster.reset_log()
    a = site.run(play(site, as_run("run-A", [host], "restore"), hosts="localhost", name="a-restore"))
    assert a.rc == 0, a.output
    kept = by_host(a.last(RESTORE))[host]
    assert kept["outcome"] == "kept_shared" and kept["others"][0]["run"] == "run-B", kept
    assert "run-B" in kept["text"], kept
    assert a.last(RESTORE)["restored"] == [], a.last(RESTORE)
    assert site.filtered_hostnames() == [host]
    assert site.owners(host) == ["run-B"]
    assert site.changes() == []

    b = site.run(play(site, as_run("run-B", [host], "restore"), hosts="localhost", name="b-restore"))
    assert b.rc == 0, b.output
    assert outcomes(b.last(RESTORE)) == {host: "restored"}
    assert site.filtered_hostnames() == []
    assert site.ledger()["agents"] == {}


@pytest.mark.parametrize("build", ["later"])
def test_a_restore_by_another_run_does_not_end_a_live_hold(site):
    """Run A drains and holds agent-1; run B drains and restores agent-2 (its restore ends holds first): A's hold
    goes on, and filters agent-1 again when it comes back under a new id. A's restore ends it."""
    held, other = site.hostnames()[:2]
    a = site.run(
        play(
            site,
            as_run("run-A", [held], "drain", "hold", agent_maintenance_hold_interval=0.2),
            hosts="localhost",
            name="a-hold",
        )
    )
    assert a.rc == 0, a.output
    hold_id = a.last(HOLD)["hold"]
    b = site.run(play(site, as_run("run-B", [other], "drain", "restore"), hosts="localhost", name="b"))
    assert b.rc == 0, b.output
    assert b.last(RESTORE)["holds"]["ended"] == [], b.last(RESTORE)["holds"]
    assert outcomes(b.last(RESTORE)) == {other: "restored"}

    old_id = site.agent_id(held)
    new_id = site.cluster.replace_agent(old_id)
    wait_until(lambda: new_id in site.filtered_ids(), timeout=15, what=f"the hold of run A filters {new_id}")
    hold = site.holds()[hold_id]
    assert hold["run"] == "run-A" and hold["status"] == "holding" and not hold["released"], hold

    a = site.run(play(site, as_run("run-A", [held], "restore"), hosts="localhost", name="a-restore"))
    assert a.rc == 0, a.output
    holds = a.last(RESTORE)["holds"]
    (ended,) = holds["ended"]
    assert (ended["hold"], ended["how"], ended["ended"]) == (hold_id, "released", "released"), holds
    assert new_id in [item["agent_id"] for item in holds["reasserted"]], holds
    assert outcomes(a.last(RESTORE)) == {held: "restored"}
    assert site.filtered_hostnames() == []
    assert site.holds() == {}
    assert site.ledger()["agents"] == {}


@pytest.mark.parametrize("build", ["later"])
def test_a_forced_restore_overrides_another_run_and_says_so(site):
    """Runs A and B drain agent-5 at once (one of them first, the other as a second owner); A's forced restore puts
    it back, overriding B, and says so."""
    host = site.hostnames()[4]
    pending = [
        site.run(play(site, as_run(run_id, [host], "drain"), hosts="localhost", name=run_id), background=True)
        for run_id in ("run-A", "run-B")
    ]
    drains = [finish() for finish in pending]
    assert all(run.rc == 0 for run in drains), [run.output for run in drains]
    assert sorted(outcomes(run.last(DRAIN))[host] for run in drains) == ["new", "shared"]
    assert site.owners(host) == ["run-A", "run-B"]
    forced = site.run(
        play(site, as_run("run-A", [host], "restore", agent_maintenance_force=True), hosts="localhost", name="force")
    )
    assert forced.rc == 0, forced.output
    agent = by_host(forced.last(RESTORE))[host]
    assert agent["outcome"] == "restored" and "forced" in agent["text"] and "run-B" in agent["text"], agent
    assert site.filtered_hostnames() == []
    assert site.ledger()["agents"] == {}
    # B's own restore later finds nothing left to do
    b = site.run(play(site, as_run("run-B", [host], "restore"), hosts="localhost", name="b-restore"))
    assert b.rc == 0, b.output
    assert outcomes(b.last(RESTORE)) == {host: "not_filtered"}
    assert site.filtered_hostnames() == []
