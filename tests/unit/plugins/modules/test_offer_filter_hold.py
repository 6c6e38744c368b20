# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""offer_filter_hold: the pure logic (which agents lost their filter, and why) and input errors, which need no
master. The hold against a running cluster is tested through the rolling playbook (tests/functional)."""

from __future__ import annotations

import pytest

from ansible_collections.mesos.maintenance.plugins.module_utils._filters import (
    AgentIndex,
    deactivated_entries,
    native_slave,
)
from ansible_collections.mesos.maintenance.plugins.module_utils._hold import (
    MAX_ERRORS_KEPT,
    REASON_LEADER,
    REASON_LOST,
    REASON_NEW_ID,
    REASON_UNFILTERED,
    HoldTracker,
    keep_errors,
)
from ansible_collections.mesos.maintenance.plugins.modules import offer_filter_hold

# The whole-module harness of the offer_filter tests: its fixture makes exit_json/fail_json raise.
from ansible_collections.mesos.maintenance.tests.unit.plugins.modules.test_offer_filter import (
    Fail,
    raising,
    run,
)

pytestmark = pytest.mark.usefixtures(raising.__name__)

LEADER = "http://m1:5050"


def agents(*pairs, inactive=()):
    return AgentIndex([{"id": aid, "hostname": host, "active": aid not in inactive} for aid, host in pairs])


def plan(tracker, index, filtered, leader=LEADER):
    """One look: what to filter again, as (hostname, agent_id, old_agent_id, reason); then record it."""
    result = [(r.hostname, r.agent_id, r.old_agent_id, r.reason) for r in tracker.plan(index, set(filtered), leader)]
    tracker.seen(index, leader)
    return result


def test_nothing_to_do_while_every_held_agent_is_filtered():
    tracker = HoldTracker(["a1", "a2"])
    index = agents(("S1", "a1"), ("S2", "a2"), ("S3", "other"))
    assert plan(tracker, index, {"S1", "S2"}) == []
    assert plan(tracker, index, {"S1", "S2"}) == []
    assert tracker.looks == 2


def test_an_agent_back_under_a_new_id_is_found_by_hostname():
    tracker = HoldTracker(["a1"])
    plan(tracker, agents(("S1", "a1")), {"S1"})
    assert plan(tracker, agents(), set()) == []  # away: nothing to filter, its old id is kept
    assert plan(tracker, agents(("S7", "a1")), set()) == [("a1", "S7", "S1", REASON_NEW_ID)]
    assert plan(tracker, agents(("S7", "a1")), {"S7"}) == []


def test_a_lost_filter_on_the_same_id_is_a_reregistration_or_a_leader_change():
    tracker = HoldTracker(["a1"])
    plan(tracker, agents(("S1", "a1")), {"S1"})
    assert plan(tracker, agents(("S1", "a1")), set()) == [("a1", "S1", "S1", REASON_LOST)]
    assert plan(tracker, agents(("S1", "a1")), set(), leader="http://m2:5050") == [("a1", "S1", "S1", REASON_LEADER)]
    # the leader of the look before is the reference: the next loss on the same leader is a re-registration
    assert plan(tracker, agents(("S1", "a1")), set(), leader="http://m2:5050") == [("a1", "S1", "S1", REASON_LOST)]


def test_an_agent_not_filtered_at_the_first_look_is_filtered_without_an_old_id():
    tracker = HoldTracker(["a1", "a2"])
    assert plan(tracker, agents(("S1", "a1"), ("S2", "a2")), {"S2"}) == [("a1", "S1", None, REASON_UNFILTERED)]


def test_every_unfiltered_id_of_a_hostname_is_filtered():
    """An old id that is still listed next to the new one (the master has not removed it yet) is held too."""
    tracker = HoldTracker(["a1"])
    plan(tracker, agents(("S1", "a1")), {"S1"})
    assert plan(tracker, agents(("S1", "a1"), ("S9", "a1")), {"S1"}) == [("a1", "S9", "S1", REASON_NEW_ID)]


def test_other_agents_are_never_touched():
    tracker = HoldTracker(["a1"])
    assert plan(tracker, agents(("S1", "a1"), ("S2", "a2")), {"S1"}) == []


def test_report_of_the_held_hostnames():
    tracker = HoldTracker(["a1", "a2", "a3"])
    index = agents(("S1", "a1"), ("S2", "a2"), ("S3", "a2"))
    assert tracker.report(index, {"S1", "S2"}) == [
        {"hostname": "a1", "agent_ids": ["S1"], "registered": True, "filtered": True},
        {"hostname": "a2", "agent_ids": ["S2", "S3"], "registered": True, "filtered": False},
        {"hostname": "a3", "agent_ids": [], "registered": False, "filtered": False},
    ]


def test_describe_names_the_old_id_only_when_it_changed():
    tracker = HoldTracker(["a1"])
    plan(tracker, agents(("S1", "a1")), {"S1"})
    (new,) = tracker.plan(agents(("S2", "a1")), set(), LEADER)
    assert new.describe() == "a1 (S2, was S1): new agent id"
    (lost,) = tracker.plan(agents(("S1", "a1")), set(), LEADER)
    assert lost.describe() == "a1 (S1): filter lost"


def test_errors_keep_the_first_and_the_latest():
    errors = []
    for n in range(MAX_ERRORS_KEPT + 5):
        keep_errors(errors, f"e{n}")
    assert len(errors) == MAX_ERRORS_KEPT
    assert errors[0] == "e0"
    assert errors[-1] == f"e{MAX_ERRORS_KEPT + 4}"
    assert errors[1] == "e6"


@pytest.mark.parametrize(
    "args, fragment",
    [
        (dict(hostname=[]), "hostname is empty"),
        (dict(hostname=[" "]), "hostname contains an empty entry"),
        (dict(hostname=["a1"], interval=0), "interval must be at least 0.1 seconds"),
        (dict(hostname=["a1"], interval=0.01), "interval must be at least 0.1 seconds"),
        (dict(hostname=["a1"], hold_timeout=-1), "hold_timeout must not be negative"),
        (dict(hostname=["a1"], hold_timeout=float("nan")), "hold_timeout must not be negative"),
        (dict(hostname=["a1"], interval=float("nan")), "interval must be at least 0.1 seconds"),
        # until 2.0.0, timeout alone is the hold's duration
        (dict(hostname=["a1"], timeout=-1), "hold_timeout must not be negative"),
    ],
)
def test_input_errors_fail_before_any_request(args, fragment):
    # master_url points at a port nothing listens on: these must fail before any request is sent
    kind, result = run(offer_filter_hold, dict(args, master_url=["http://127.0.0.1:9"]))
    assert kind is Fail
    assert fragment in result["msg"], result
    assert result["requests"] == 0 and result["reasserted"] == [] and result["looks"] == 0


def test_an_unknown_backend_is_refused_before_any_request():
    kind, result = run(
        offer_filter_hold, dict(hostname=["a1"], backend="maintenance", master_url=["http://127.0.0.1:9"])
    )
    assert kind is Fail
    assert "value of backend must be one of: auto, allocator, native" in result["msg"], result


@pytest.mark.parametrize("exists", [True, False])
def test_a_first_look_that_fails_ends_the_hold_with_a_clear_error(tmp_path, exists):
    """The release file tells a waiting playbook that the hold failed; a file already removed is not created."""
    release = tmp_path / "release"
    if exists:
        release.write_text("")
    args = dict(
        hostname=["a1"],
        master_url=["http://127.0.0.1:9"],
        leader_timeout=0,
        timeout=1,
        hold_timeout=1,
        release_file=str(release),
    )
    kind, result = run(offer_filter_hold, args)
    assert kind is Fail
    assert result["msg"].startswith("the hold could not start (its first look failed"), result
    assert "connection refused" in result["msg"], result
    assert result["looks"] == 0
    assert result["backend"] is None  # the leader was never reached, so no backend was chosen
    assert (release.read_text() if exists else release.exists()) == ("failed\n" if exists else False)


def native_look(*slaves):
    """What the native backend plans from: the agents as GET_AGENTS lists them, and the deactivated ones."""
    slaves = [
        native_slave(dict(zip(("id", "hostname", "active", "deactivated"), slave, strict=True))) for slave in slaves
    ]
    return AgentIndex(slaves), {entry["agent_id"] for entry in deactivated_entries(slaves)}


def test_native_a_deactivated_agent_is_held_and_its_new_id_is_a_new_active_agent():
    """Mesos shows a deactivated agent as not active: it counts as held, not as away. The agent back under a
    new id is registered, active and not deactivated: it is the one to deactivate again."""
    tracker = HoldTracker(["a1", "a2"])
    index, deactivated = native_look(("S1", "a1", False, True), ("S2", "a2", False, True))
    assert plan(tracker, index, deactivated) == []
    index, deactivated = native_look(("S7", "a1", True, False), ("S2", "a2", False, True))
    assert plan(tracker, index, deactivated) == [("a1", "S7", "S1", REASON_NEW_ID)]
    assert tracker.report(index, deactivated)[1] == {
        "hostname": "a2",
        "agent_ids": ["S2"],
        "registered": True,
        "filtered": True,
    }
