# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_rolling: the batch size, the capacity check of a plan, the summary of a rolling run and the status table. The
run records and ledger states are built with LedgerState (as maintenance_run/drain/restore build them), with a
fixed clock."""

from __future__ import annotations

import pytest

from ansible_collections.mesos.maintenance.plugins.module_utils import _ledger
from ansible_collections.mesos.maintenance.plugins.module_utils._filters import (
    InputError,
    agent_report,
    native_agent_report,
    parse_max_filtered,
)
from ansible_collections.mesos.maintenance.plugins.module_utils._ledger import LedgerState
from ansible_collections.mesos.maintenance.plugins.module_utils._rolling import (
    STATUS_FORMAT,
    batch_size,
    capacity_error,
    status_lines,
    summary_lines,
)

NOW = 1_700_000_000.0
BY = "tester@host"
RUN = "rolling-20231114T221320Z-beef"
M1 = "http://m1:5050"
M2 = "http://m2:5050"


def fresh_state(now=NOW):
    return LedgerState(_ledger.empty(), now)


# --- batch_size ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("serial", "todo", "expected"),
    [
        ("1", 10, 1),
        ("3", 10, 3),
        (3, 10, 3),
        (" 4 ", 10, 4),
        ("20", 5, 5),  # capped at what is left to do
        ("25%", 8, 2),
        ("33%", 10, 3),  # 3.3 rounded down
        ("50%", 5, 2),  # 2.5 rounded down
        ("7%", 100, 7),
        ("10%", 4, 1),  # 0.4 rounds down to 0: at least 1
        ("1%", 1, 1),
        (" 20 % ", 10, 2),
        ("100%", 7, 7),
        ("150%", 4, 4),  # capped at what is left to do
        ("5", 0, 5),  # nothing left: the count as given
        ("10%", 0, 1),
    ],
)
def test_batch_size(serial, todo, expected):
    assert batch_size(serial, todo) == expected


@pytest.mark.parametrize("serial", ["0", "0%", "-1", "1.5", "2.5%", "abc", "", "%", "1,2", None, True, 1.0])
def test_batch_size_refuses(serial):
    with pytest.raises(InputError) as error:
        batch_size(serial, 10)
    message = str(error.value)
    assert "mesos_maintenance_serial" in message
    assert str(serial) in message


# --- capacity_error ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("batch", "unavailable", "raw", "total"),
    [
        (5, ["agent-9 (disconnected)"], None, 10),  # no guard
        (2, [], 2, 10),
        (1, ["agent-9 (filtered)"], 2, 10),  # exactly the limit
        (2, [], "20%", 10),
        (1, ["agent-9 (filtered)"], "20%", 10),
        (0, [], "10%", 4),  # nothing to do: nothing to refuse
    ],
)
def test_capacity_error_none_when_it_fits(batch, unavailable, raw, total):
    assert capacity_error(batch, unavailable, parse_max_filtered(raw), raw, total) is None


def test_capacity_error_names_the_unavailable_agents_and_the_limit():
    message = capacity_error(2, ["agent-8 (filtered)", "agent-9 (disconnected)"], parse_max_filtered(3), 3, 10)
    assert message == (
        "Batches of 2 agent(s), with 2 agent(s) already unavailable (agent-8 (filtered), agent-9 (disconnected)), "
        "would leave more agents unavailable than the capacity guard allows: agent_maintenance_max_filtered=3 allows 3 "
        "of 10 agents. To go on, use batches of at most 1 (mesos_maintenance_serial), or set "
        "agent_maintenance_max_filtered to 4 or more. Nothing was changed."
    )


def test_capacity_error_says_how_a_percentage_rounds():
    """The example inventory's 10% on 4 agents allows none: smaller batches cannot help."""
    message = capacity_error(1, [], parse_max_filtered("10%"), "10%", 4)
    assert message == (
        "Batches of 1 agent(s), with 0 agent(s) already unavailable (none), would leave more agents unavailable than "
        "the capacity guard allows: agent_maintenance_max_filtered=10% allows 0 of 4 agents (10% of 4 is 0.4, "
        "rounded down). Even one agent at a time is too many. To go on, set agent_maintenance_max_filtered to 25% or "
        "more. Nothing was changed."
    )


def test_capacity_error_fractional_percentage():
    message = capacity_error(4, [], parse_max_filtered("12.5%"), "12.5%", 10)
    assert "agent_maintenance_max_filtered=12.5% allows 1 of 10 agents (12.5% of 10 is 1.25, rounded down)." in message
    assert (
        "use batches of at most 1 (mesos_maintenance_serial), or set agent_maintenance_max_filtered to 40% " in message
    )


# --- summary_lines -------------------------------------------------------------------------------------------


def rolling(targets=("a1", "a2", "a3", "a4", "a5")):
    state = fresh_state()
    state.start_run(RUN, list(targets), by=BY)
    return state


def drained(state, hosts, leader, drain_wait, backend="allocator", external=None):
    """What maintenance_drain records on the batch once its wait ended."""
    record = state.batch(RUN, hosts)
    record.update(drain_wait=drain_wait, backend=backend, leader=leader, build=None)
    if external is not None:
        record["external"] = external
    return record


def restored(state, hosts, leader, held=(), not_restored=None, external=(), hold_errors=()):
    """What maintenance_restore records at the end of a batch."""
    return state.end_batch(
        RUN,
        hosts,
        "restored",
        held=list(held),
        hold_errors=list(hold_errors),
        not_restored=not_restored or {},
        restore_leader=leader,
        external=list(external),
    )


def two_batches():
    """Batch 1 (a1, a2) on m1, 40 s, with two agents filtered again by the hold; batch 2 (a3, a4) on m2 after a
    failover, a4 not back; a5 not started."""
    state = rolling()
    drained(state, ["a1", "a2"], M1, 12.3)
    state.now = NOW + 40
    held = [
        {"hostname": "a2", "agent_id": "S92", "old_agent_id": "S2", "reason": "new agent id"},
        {"hostname": "a1", "agent_id": "S1", "old_agent_id": "S1", "reason": "leader changed"},
    ]
    restored(state, ["a1", "a2"], M1, held=held)
    drained(state, ["a3", "a4"], M2, 3)
    state.now = NOW + 100
    restored(state, ["a3", "a4"], M2, not_restored={"a4": "disconnected"})
    return state


def test_summary_two_batches_with_failover_refiltered_and_not_restored():
    state = two_batches()
    assert summary_lines(state.runs[RUN], finished=True) == [
        "done: 2 batch(es), 3 agent(s) restored, 1 not restored (not back; they stay filtered), 0 failed, "
        "1 not started; leader http://m1:5050 -> http://m2:5050; backend allocator",
        "batch 1 (a1, a2): restored in 40.0 s, drained in 12.3 s, kept out again during the maintenance: "
        "a2 (new id S92), a1 (leader changed)",
        "batch 2 (a3, a4): restored in 60.0 s, drained in 3 s, not restored: a4: disconnected",
        "leader failover during batch 2: http://m1:5050 -> http://m2:5050",
    ]


def test_summary_so_far_and_check_mode():
    state = two_batches()
    assert summary_lines(state.runs[RUN])[0].startswith("so far: 2 batch(es)")
    assert summary_lines(state.runs[RUN], check_mode=True)[0].startswith("check mode, nothing changed: 2 batch(es)")


def test_summary_of_a_planned_run_in_check_mode():
    state = rolling()
    assert summary_lines(state.runs[RUN], check_mode=True) == [
        "check mode, nothing changed: 0 batch(es), 0 agent(s) restored, 0 failed, 5 not started; leader unknown"
    ]


def test_summary_same_leader_means_no_failover_line():
    state = rolling(["a1", "a2"])
    drained(state, ["a1"], M1, 1)
    restored(state, ["a1"], M1)
    drained(state, ["a2"], M1, 1)
    restored(state, ["a2"], M1)
    lines = summary_lines(state.runs[RUN], finished=True)
    assert (
        lines[0]
        == "done: 2 batch(es), 2 agent(s) restored, 0 failed, 0 not started; leader http://m1:5050; backend allocator"
    )
    assert not [line for line in lines if "failover" in line]


def test_summary_failover_during_the_maintenance_of_a_batch():
    state = rolling(["a1", "a2"])
    drained(state, ["a1"], M1, 1)
    restored(state, ["a1"], M2)
    drained(state, ["a2"], M2, 1)
    restored(state, ["a2"], M2)
    assert summary_lines(state.runs[RUN], finished=True) == [
        "done: 2 batch(es), 2 agent(s) restored, 0 failed, 0 not started; leader http://m1:5050 -> http://m2:5050; "
        "backend allocator",
        "batch 1 (a1): restored in 0.0 s, drained in 1 s",
        "leader failover during batch 1: http://m1:5050 -> http://m2:5050",
        "batch 2 (a2): restored in 0.0 s, drained in 1 s",
    ]


def test_summary_failed_batch():
    state = rolling(["a1", "a2", "a3"])
    drained(state, ["a1"], M1, 2, backend="native")
    state.now = NOW + 10
    restored(state, ["a1"], M1)
    drained(state, ["a2"], M1, 2, backend="native")
    state.now = NOW + 15
    state.end_batch(RUN, ["a2"], "failed", error="the reboot of a2 timed out")
    assert summary_lines(state.runs[RUN], check_mode=True) == [
        "FAILED: 2 batch(es), 1 agent(s) restored, 1 failed, 1 not started; leader http://m1:5050; backend native",
        "batch 1 (a1): restored in 10.0 s, drained in 2 s",
        "batch 2 (a2): failed in 5.0 s, drained in 2 s -- the reboot of a2 timed out",
        "the failed batch stays out of service: a2 -- the reboot of a2 timed out; fix the cause and run the same "
        "command again to pick up at it",
    ]


def test_summary_running_batch_and_done_before_and_external():
    state = rolling(["a1", "a2", "a3", "a4"])
    state.runs[RUN]["done"] = ["a1"]
    state.runs[RUN]["done_before"] = ["a1"]
    drained(state, ["a2", "a3"], M1, 4, external=["a3"])
    state.now = NOW + 20
    restored(state, ["a2", "a3"], M1, external=["a3"], hold_errors=["e1", "e2", "e3", "e4"])
    drained(state, ["a4"], M1, 0)
    lines = summary_lines(state.runs[RUN])
    assert lines == [
        # a4's batch is still open: it counts as not started
        "so far: 2 batch(es), 2 agent(s) restored, 0 failed, 1 not started, 1 done by an earlier run; "
        "leader http://m1:5050; backend allocator",
        "batch 1 (a2, a3): restored in 20.0 s, drained in 4 s, hold errors: e1; e2; e3, "
        "left out of service (not only ours): a3",
        "batch 2 (a4): running",
        "left out of service (kept by someone else or another run; agent_maintenance_force=true on restore.yml "
        "overrides): a3",
    ]


def test_summary_of_an_upgraded_version_1_run():
    data = _ledger.upgrade({"agents": {}, "rolling": {"targets": ["a1", "a2"], "done": ["a1"], "failed": ["a2"]}})
    run = data["runs"]["rolling-legacy"]
    assert summary_lines(run) == [
        "FAILED: 0 batch(es), 0 agent(s) restored, 1 failed, 0 not started; leader unknown",
        "the failed batch stays out of service: a2 -- failed; fix the cause and run the same command again to pick "
        "up at it",
    ]


# --- status_lines --------------------------------------------------------------------------------------------


def slave(n, hostname=None, active=True, running=0, **extra):
    result = {
        "id": "S%d" % n,
        "hostname": hostname or "agent-%d.example" % n,
        "active": active,
        "TASK_RUNNING": running,
        "TASK_STAGING": 0,
        "TASK_FINISHED": 3,
    }
    result.update(extra)
    return result


def owned(state, hostname, *runs, agent_id="S0"):
    for n, run in enumerate(runs):
        state.now = NOW - 600 + 60 * n
        state.take(run, hostname, agent_id, by=BY)
    state.now = NOW


def row(hostname, agent_id, filtered, connected, tasks, owners=""):
    """A table row as status_lines formats it."""
    return (STATUS_FORMAT % (hostname, agent_id, filtered, connected, tasks, owners)).rstrip()


def allocator_cluster():
    filtered = {"S1", "S3"}
    slaves = [
        slave(2, running=2),  # kept out by two runs, but its filter is gone
        slave(1),  # kept out by run-A, filtered
        slave(3, active=False),  # filtered and disconnected: unknowable
        slave(4, running=1),  # in service
        slave(5, active=False),  # disconnected, not filtered
    ]
    return {
        "agents": [agent_report(s, filtered) for s in slaves],
        "leader": M1,
        "backend": "allocator",
        "build": "1.0.3-mm",
    }


def allocator_ledger():
    state = fresh_state()
    owned(state, "agent-1.example", "run-A", agent_id="S1")
    owned(state, "agent-2.example", "run-A", "run-B", agent_id="S2")
    owned(state, "agent-3.example", "run-C", agent_id="S3")
    owned(state, "gone.example", "run-C", agent_id="S77")
    state.start_hold("hold-1", "run-A", ["agent-1.example", "agent-2.example"], 5, 3600, by=BY)
    state.now = NOW - 1000
    state.start_hold("hold-2", "run-C", ["gone.example"], 5, 3600, by=BY)
    state.holds["hold-2"]["status"] = "holding"
    state.now = NOW
    return state


def test_status_header_and_columns():
    lines = status_lines(allocator_cluster(), allocator_ledger())
    assert lines[0] == (
        "5 agents, 1 filtered, 2 disconnected, 3 active tasks, 4 kept out by mesos.maintenance; "
        "leader http://m1:5050, backend allocator (allocator module build 1.0.3-mm)"
    )
    assert lines[1] == row("HOSTNAME", "AGENT ID", "FILTERED", "CONNECTED", "TASKS", "KEPT OUT BY")
    assert lines[2:7] == [
        row("agent-1.example", "S1", "yes", "yes", 0, "run-A"),
        row("agent-2.example", "S2", "LOST", "yes", 2, "run-A, run-B"),
        row("agent-3.example", "S3", "unknown", "NO", 0, "run-C"),
        row("agent-4.example", "S4", "no", "yes", 1),
        row("agent-5.example", "S5", "no", "NO", 0),
    ]


def test_status_lists_ledger_hosts_that_are_not_registered():
    lines = status_lines(allocator_cluster(), allocator_ledger())
    assert lines[7] == row("gone.example", "(not registered)", "-", "-", "-", "run-C")
    assert len([line for line in lines if "(not registered)" in line]) == 1


def test_status_lists_holds_live_or_ran_out():
    lines = status_lines(allocator_cluster(), allocator_ledger())
    assert [line for line in lines if line.startswith("hold ")] == [
        "hold hold-1 of run run-A (agent-1.example, agent-2.example): starting, lease live",
        "hold hold-2 of run run-C (gone.example): holding, lease ran out",
    ]


def test_status_warns_about_an_agent_kept_out_but_not_filtered():
    lines = status_lines(allocator_cluster(), allocator_ledger())
    warnings = [line for line in lines if line.startswith("WARNING")]
    # agent-3 (filtered, disconnected: unknowable) and gone.example (not registered) get no warning
    # The ledger recorded no leader for it (written by an earlier version): either cause.
    assert warnings == [
        "WARNING: agent-2.example is held by run-A, run-B but not filtered (filter lost: leader changed or "
        "re-registration). A hold or a drain puts it back."
    ]
    assert lines[-1] == warnings[0]


@pytest.mark.parametrize(
    ("filtered_at", "agent_id", "cause"),
    [
        (M2, "S2", "leader changed: filtered at http://m2:5050, the leader is now http://m1:5050"),
        (M1, "S2", "it re-registered, or someone removed the filter"),
        (M2, "S0", "back under a new id (was S0)"),
    ],
)
def test_status_names_why_a_held_agent_lost_its_filter(filtered_at, agent_id, cause):
    """The drain and the hold record the leader that holds the filter; the leader is now http://m1:5050."""
    state = fresh_state()
    owned(state, "agent-2.example", "run-A", agent_id=agent_id)
    state.filtered_at("agent-2.example", filtered_at)
    state.filtered_at("no-such-record.example", M2)  # only records are written to
    assert list(state.agents) == ["agent-2.example"]
    lines = status_lines(allocator_cluster(), state)
    assert row("agent-2.example", "S2", "LOST", "yes", 2, "run-A") in lines
    assert [line for line in lines if line.startswith("WARNING")] == [
        f"WARNING: agent-2.example is held by run-A but not filtered (filter lost: {cause}). A hold or a drain puts "
        "it back."
    ]


def test_a_native_deactivation_is_lost_only_to_someone_or_a_new_id():
    """Mesos keeps a deactivation through failovers: a different leader is no cause."""
    slaves = [slave(1), slave(2)]
    cluster = {"agents": [native_agent_report(s) for s in slaves], "leader": M2, "backend": "native", "build": None}
    state = fresh_state()
    owned(state, "agent-1.example", "run-A", agent_id="S1")
    owned(state, "agent-2.example", "run-A", agent_id="S0")
    for host in state.agents:
        state.filtered_at(host, M1)
    assert [line for line in status_lines(cluster, state) if line.startswith("WARNING")] == [
        "WARNING: agent-1.example is held by run-A but not filtered (filter lost: someone reactivated it). A hold or "
        "a drain puts it back.",
        "WARNING: agent-2.example is held by run-A but not filtered (filter lost: back under a new id (was S0)). A "
        "hold or a drain puts it back.",
    ]


def test_status_without_ledger_records():
    cluster = allocator_cluster()
    cluster["build"] = None
    lines = status_lines(cluster, fresh_state())
    assert lines[0].endswith(
        "0 kept out by mesos.maintenance; leader http://m1:5050, backend allocator (allocator module build unknown)"
    )
    assert len(lines) == 2 + 5
    assert not [line for line in lines if line.startswith(("WARNING", "hold "))]


def test_status_native_shows_drain_state_and_deactivated():
    slaves = [
        slave(1, active=False, deactivated=True, drain_info={"state": "DRAINING"}, running=1),
        slave(2, active=False, deactivated=True),
        slave(3),
    ]
    cluster = {"agents": [native_agent_report(s) for s in slaves], "leader": M2, "backend": "native", "build": None}
    state = fresh_state()
    owned(state, "agent-1.example", "run-A", agent_id="S1")
    lines = status_lines(cluster, state)
    assert lines[0] == (
        "3 agents, 2 filtered, 0 disconnected, 1 active tasks, 1 kept out by mesos.maintenance; "
        "leader http://m2:5050, backend native"
    )
    assert lines[2:] == [
        row("agent-1.example", "S1", "DRAINING", "?", 1, "run-A"),
        row("agent-2.example", "S2", "yes", "?", 0),
        row("agent-3.example", "S3", "no", "yes", 0),
    ]


def test_a_resumed_run_summarises_its_own_attempt_and_counts_the_earlier_one_once():
    """The first attempt restored a1, a2 and was killed during batch 2 (a3, a4); the re-run resumes: batch 2 is
    closed as interrupted, and the summary of the new attempt counts a1, a2 as done by the earlier run only."""
    state = rolling(("a1", "a2", "a3", "a4"))
    drained(state, ["a1", "a2"], M1, 1)
    restored(state, ["a1", "a2"], M1)
    drained(state, ["a3", "a4"], M1, 1)
    earlier = state.resume_run(RUN)
    assert earlier["outcome"] == "failed" and earlier["error"].startswith("interrupted")
    assert state.runs[RUN]["failed"] == ["a3", "a4"]
    state.runs[RUN]["done_before"] = ["a1", "a2"]
    state.runs[RUN]["failed"] = []
    drained(state, ["a3", "a4"], M1, 1)
    restored(state, ["a3", "a4"], M1)
    lines = summary_lines(state.runs[RUN], finished=True)
    assert lines[0].startswith(
        "done: 1 batch(es), 2 agent(s) restored, 0 failed, 0 not started, 2 done by an earlier run"
    )
    assert [line.split(" (")[0] for line in lines[1:]] == ["batch 3"]


def test_an_interrupted_batch_keeps_the_reason_its_orphaned_hold_gave():
    state = rolling(("a1",))
    drained(state, ["a1"], M1, 1)
    state.start_hold("h1", RUN, ["a1"], 5, 7200, by=BY)
    state.orphan_hold("h1", "interrupted: ansible-playbook (pid 42 on c1) ended during this batch")
    state.orphan_hold("h1", "a second call changes nothing")
    assert state.holds["h1"]["orphaned"].endswith("ended during this batch")
    earlier = state.resume_run(RUN)
    assert earlier["error"] == "interrupted: ansible-playbook (pid 42 on c1) ended during this batch"
    assert state.runs[RUN]["attempt"] == 2
