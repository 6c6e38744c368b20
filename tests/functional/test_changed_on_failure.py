# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A step that fails part-way says in `changed` what it did before the failure: the filters it added or removed stay.
(offer_filter: test_playbook_offer_filter_errors.py::test_fails_halfway_and_reports_progress; offer_filter_hold:
test_offer_filter_hold.py.)"""

from __future__ import annotations

from conftest import assert_failed, assert_ok, hostnames_of, module_task

DRAIN = "mesos.maintenance.maintenance_drain"
RESTORE = "mesos.maintenance.maintenance_restore"
# Requests to /allocator/filters before the first change of a drain or a restore: the probe of backend=auto and the
# read the step decides on.
READS_BEFORE_CHANGES = 2


def step(module, cluster, tmp_path, hostnames, **args):
    return module_task(
        module,
        cluster,
        module.rsplit(".", 1)[1],
        hostname=hostnames,
        run_id="r1",
        ledger_file=str(tmp_path / "ledger.json"),
        **args,
    )


def fail_filter_requests_after(cluster, passed):
    cluster.inject("/allocator/filters", count=passed)
    cluster.inject("/allocator/filters", status=500, body="allocator exploded")


def test_a_drain_whose_first_filter_fails_changed_nothing(run_tasks, cluster, tmp_path):
    ids = cluster.agent_ids[:2]
    fail_filter_requests_after(cluster, READS_BEFORE_CHANGES)
    result = run_tasks(step(DRAIN, cluster, tmp_path, hostnames_of(cluster, ids), wait=False)).result
    assert_failed(result, "allocator exploded", "Filtered before the failure (they stay filtered and recorded): none")
    assert result["changed"] is False
    assert cluster.filters() == set()


def test_a_drain_that_filtered_one_agent_before_failing_changed(run_tasks, cluster, tmp_path):
    ids = cluster.agent_ids[:2]
    fail_filter_requests_after(cluster, READS_BEFORE_CHANGES + 1)
    result = run_tasks(step(DRAIN, cluster, tmp_path, hostnames_of(cluster, ids), wait=False)).result
    assert_failed(
        result, "allocator exploded", "Filtered before the failure (they stay filtered and recorded): %s" % ids[0]
    )
    assert result["changed"] is True
    assert cluster.filters() == {ids[0]}


def test_a_restore_that_unfiltered_one_id_of_a_hostname_before_failing_changed(run_tasks, cluster, tmp_path):
    """A hostname registered under two agent ids: the first is put back, the second fails."""
    twins = [cluster.add_agent("twin.example.com"), cluster.add_agent("twin.example.com")]
    drained = run_tasks(step(DRAIN, cluster, tmp_path, ["twin.example.com"], wait=False)).result
    assert_ok(drained, changed=True)
    assert cluster.filters() == set(twins)
    cluster.reset_log()
    fail_filter_requests_after(cluster, READS_BEFORE_CHANGES + 1)  # the first DELETE passes
    result = run_tasks(step(RESTORE, cluster, tmp_path, ["twin.example.com"])).result
    assert_failed(result, "allocator exploded")
    deletes = [entry for entry in cluster.request_log if entry[1] == "DELETE"]
    assert len(deletes) == 2, cluster.request_log
    assert len(cluster.filters()) == 1
    assert result["changed"] is True
