# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The holds over real HTTP (offer_filter_hold, and maintenance_hold that the role agent_maintenance starts): how long
a hold lasts (hold_timeout) and how long one request may take (timeout) are two options, so a leader that stops
answering costs a request timeout, not the hold."""

from __future__ import annotations

import time

from conftest import assert_failed, assert_ok, hostnames_of, module_task

from mesos_sim.waiting import wait_until

HOLD = "mesos.maintenance.offer_filter_hold"
OFFER_FILTER_INFO = "mesos.maintenance.offer_filter_info"
RUN_HOLD = "mesos.maintenance.maintenance_hold"
DRAIN = "mesos.maintenance.maintenance_drain"
# Every path a look of the hold sends to a master (the leader discovery included).
LOOK_PATHS = ("/master/redirect", "/master/state-summary", "/allocator/filters")


def hold_task(cluster, **args):
    return module_task(HOLD, cluster, "hold", **args)


def hang_the_leader(cluster):
    """The leader stops answering (a partition: connections open, no answer) and a standby takes over, without the
    filters (build 0afdd8b keeps them in memory). Returns the new leader's port and when the leader hung."""
    old = cluster.leader_index
    for path in LOOK_PATHS:
        cluster.inject(path, latency=300, master=old)
    new = cluster.elect(index=(old + 1) % 3)
    hung_at = time.monotonic()
    assert cluster.filters() == set()
    return cluster.urls[new].rsplit(":", 1)[1], hung_at  # the leader is named by hostname, the URLs by address


def seconds_until_filtered(cluster, agent, since):
    wait_until(lambda: agent in cluster.filters(), 150, interval=0.05, what="the filter back on the new leader")
    return time.monotonic() - since


def test_a_hanging_leader_is_left_within_two_intervals(run_tasks, cluster_factory, tmp_path):
    """The hold filters again on the new leader within two intervals; when the hold's duration was also its request
    timeout, one look waited for the whole hold."""
    cluster = cluster_factory(masters=3, agents=3, build="0afdd8b")
    agent = cluster.agent_ids[0]
    cluster.add_filter(agent)
    release = tmp_path / "release"
    release.write_text("")
    interval = 4.0
    task = hold_task(
        cluster,
        hostname=hostnames_of(cluster, [agent]),
        release_file=str(release),
        interval=interval,
        hold_timeout=120,
        timeout=1,
    )
    pending = run_tasks(task, background=True)
    try:
        wait_until(lambda: "holding" in release.read_text(), 60, what="the hold's first look")
        port, hung_at = hang_the_leader(cluster)
        back_after = seconds_until_filtered(cluster, agent, hung_at)
    finally:
        release.unlink()
    result = pending.wait(timeout=200).result
    assert_ok(result, changed=True)
    assert back_after <= 2 * interval, f"filtered again {back_after:.1f} s after the leader hung"
    assert result["ended"] == "released"
    assert [(r["agent_id"], r["reason"], r["leader"].rsplit(":", 1)[1]) for r in result["reasserted"]] == [
        (agent, "leader changed", port)
    ]


def test_the_hold_of_a_run_leaves_a_hanging_leader_within_two_intervals(run_tasks, cluster_factory, tmp_path):
    """The same for the hold the role starts (agent_maintenance_timeout is its timeout, agent_maintenance_hold_timeout
    its hold_timeout)."""
    cluster = cluster_factory(masters=3, agents=3, build="0afdd8b")
    agent = cluster.agent_ids[0]
    step = dict(
        hostname=hostnames_of(cluster, [agent]), run_id="r1", ledger_file=str(tmp_path / "ledger.json"), timeout=1
    )
    interval = 4.0
    started = run_tasks(
        [
            module_task(DRAIN, cluster, "drain", wait=False, **step),
            module_task(RUN_HOLD, cluster, "hold", hold_interval=interval, hold_timeout=120, **step),
        ]
    )
    assert_ok(started["drain"], changed=True)
    assert_ok(started["hold"], changed=True)
    port, hung_at = hang_the_leader(cluster)
    back_after = seconds_until_filtered(cluster, agent, hung_at)
    released = run_tasks(module_task(RUN_HOLD, cluster, "release", state="released", **step)).result
    assert_ok(released, changed=True)
    assert back_after <= 2 * interval, f"filtered again {back_after:.1f} s after the leader hung"
    assert [(r["agent_id"], r["reason"], r["leader"].rsplit(":", 1)[1]) for r in released["holds"]["reasserted"]] == [
        (agent, "leader changed", port)
    ]


def test_timeout_alone_is_still_the_duration_with_a_deprecation_warning(run_tasks, cluster, tmp_path):
    """The meaning timeout had before hold_timeout existed keeps working until 2.0.0, and says so."""
    release = tmp_path / "release"
    release.write_text("")
    agent = cluster.agent_ids[0]
    run = run_tasks(
        hold_task(cluster, hostname=hostnames_of(cluster, [agent]), release_file=str(release), timeout=2, interval=0.5)
    )
    result = run.result
    assert_ok(result, changed=True)  # the agent was not filtered when the hold started
    assert result["ended"] == "timeout"
    assert 2 <= result["held_for"] < 10
    assert any("ended after hold_timeout=2.0s" in w for w in result["warnings"]), result["warnings"]
    shown = " ".join(run.stdout.split()) + " ".join(str(d) for d in result.get("deprecations") or [])
    assert "timeout is taken as the duration of the hold (hold_timeout=2.0)" in shown, run.output
    assert cluster.filters() == {agent}


def test_a_first_look_that_filtered_before_it_failed_is_changed(run_tasks, cluster):
    """The first look filters one held agent, then the master fails on the next: changed must say that a filter was
    added (it stays)."""
    first, second = cluster.agent_ids[:2]
    cluster.inject("/allocator/filters", count=2)  # the GET of the look and the first POST pass
    cluster.inject("/allocator/filters", status=500, body="allocator exploded")
    result = run_tasks(hold_task(cluster, hostname=hostnames_of(cluster, [first, second]), hold_timeout=0)).result
    assert_failed(result, "the hold could not start", "allocator exploded")
    assert [r["agent_id"] for r in result["reasserted"]] == [first]
    assert result["changed"] is True
    assert cluster.filters() == {first}


def test_a_leader_that_timed_out_is_asked_last(run_tasks, cluster_factory):
    """The leader stops answering in the middle of a task and a standby takes over: the leader is found again by
    asking the other masters first. Asking the one that just timed out first cost one more request timeout."""
    cluster = cluster_factory(masters=3, agents=3, build="0afdd8b")
    old = cluster.leader_index
    assert cluster.urls[old] == cluster.urls[0]  # first in master_url: the one asked first
    cluster.inject("/master/redirect", master=old, count=1)  # the first discovery passes
    for path in LOOK_PATHS:
        cluster.inject(path, latency=300, master=old)
    timeout = 3
    pending = run_tasks(module_task(OFFER_FILTER_INFO, cluster, "info", timeout=timeout), background=True)
    wait_until(
        lambda: any(i == old and t != "/master/redirect" for i, _, t in cluster.request_log),
        60,
        what="a request to the leader after it was found",
    )
    cluster.elect(index=old + 1)
    result = pending.wait(timeout=120).result
    assert_ok(result, changed=False)
    assert result["leader"].rsplit(":", 1)[1] == cluster.urls[old + 1].rsplit(":", 1)[1]
    asked_old = [t for i, _, t in cluster.request_log if i == old and t.startswith("/master/redirect")]
    assert len(asked_old) == 1, f"the hanging leader was asked for the leader {len(asked_old)} times"
