# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_masters: which master leads (its own master/elected, the redirect's Location matched by name, resolved address and
port) and how many masters may be down at once (never more than (n-1)/2, nor below the quorum), for the
offer_filter_allocator role's rolling restart."""

from __future__ import annotations

import socket

import pytest

from ansible_collections.mesos.maintenance.plugins.filter import allocator_leader, allocator_quorum, allocator_serial
from ansible_collections.mesos.maintenance.plugins.plugin_utils._masters import (
    MastersError,
    batch_size,
    leader,
    max_down,
    parse_location,
    quorum,
    restart_limit,
    serial_error,
)

# Names only this table resolves: the masters are listed by IP, Mesos advertises names.
DNS = {"m1.example": "10.0.0.1", "m2.example": "10.0.0.2", "m3.example": "10.0.0.3"}


def resolve(name, _port):
    if name in DNS:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (DNS[name], 0))]
    if name.count(".") == 3 and name.replace(".", "").isdigit():
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (name, 0))]
    raise socket.gaierror(-2, "Name or service not known")


def view(host, elected, location, port=5050, names=None):
    return {"host": host, "elected": elected, "location": location, "names": names or [host], "port": port}


def by_ip(elected, location="//m2.example:5050"):
    """Three masters listed by IP; each says elected as given and names the location."""
    return [view("10.0.0.%d" % (i + 1), flag, location) for i, flag in enumerate(elected)]


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        ("//m1.example:5050", ("m1.example", 5050)),
        ("http://M1.Example:5051/", ("m1.example", 5051)),
        ("//[fd00::1]:5050", ("fd00::1", 5050)),
        ("//10.0.0.1", ("10.0.0.1", 80)),
        ("", None),
        ("garbage", None),
    ],
)
def test_parse_location(location, expected):
    assert parse_location(location) == expected


def test_the_leader_listed_by_ip_is_found_by_its_own_word():
    """The defect: masters listed by IP, Mesos advertising names; the leader was taken for a standby."""
    found = leader(by_ip([0.0, 1.0, 0.0]), resolve)
    assert found["leader"] == "10.0.0.2"
    assert found["location"] == "//m2.example:5050"


def test_the_leader_is_matched_by_resolved_address_when_it_cannot_say():
    """/metrics/snapshot unanswered everywhere (for example behind HTTP authentication): the Location decides."""
    assert leader(by_ip([None, None, None]), resolve)["leader"] == "10.0.0.2"


def test_the_leader_is_matched_by_ansible_host():
    views = [
        view("master-%d" % i, None, "//10.0.0.3:5050", names=["master-%d" % i, "10.0.0.%d" % i]) for i in (1, 2, 3)
    ]
    assert leader(views, resolve)["leader"] == "master-3"


def test_the_port_must_match_too():
    views = [view("10.0.0.2", None, "//m2.example:5050", port=5051), view("10.0.0.1", False, "//m2.example:5050")]
    with pytest.raises(MastersError, match="matches none of 10.0.0.2, 10.0.0.1 by name, address and port"):
        leader(views, resolve)


def test_an_unmatched_leader_with_a_silent_master_is_refused():
    views = by_ip([0.0, None, 0.0], location="//elsewhere.example:5050")
    with pytest.raises(MastersError) as error:
        leader(views, resolve)
    assert "Cannot tell which master leads: the masters name //elsewhere.example:5050" in str(error.value)
    assert "10.0.0.2 did not say whether it leads" in str(error.value)
    assert "Set ansible_host, offer_filter_allocator_master_hostname" in str(error.value)


def test_a_leader_outside_the_list_when_every_master_says_it_does_not_lead():
    found = leader(by_ip([0.0, 0.0, 0.0], location="//elsewhere.example:5050"), resolve)
    assert found["leader"] == ""
    assert "none of these masters" in found["reason"]


def test_no_leader_anywhere():
    assert leader(by_ip([None, 0.0, None], location=""), resolve) == {
        "leader": "",
        "location": "",
        "reason": "no master names a leader",
    }


def test_two_masters_that_say_they_lead_are_refused():
    with pytest.raises(MastersError, match="10.0.0.1, 10.0.0.3 all say they lead"):
        leader(by_ip([1.0, 0.0, 1.0]), resolve)


def test_masters_naming_different_leaders_are_refused():
    views = by_ip([0.0, 0.0, 0.0])
    views[0]["location"] = "//m1.example:5050"
    with pytest.raises(MastersError, match="The masters name different leaders"):
        leader(views, resolve)


def test_a_master_that_claims_against_the_named_leader_is_refused():
    with pytest.raises(MastersError, match="10.0.0.1 says it leads .*, but the masters name //m2.example:5050"):
        leader(by_ip([1.0, 0.0, 0.0]), resolve)


def test_the_named_leader_that_says_it_does_not_lead_is_refused():
    with pytest.raises(MastersError, match="matches 10.0.0.2, but it does not say it leads"):
        leader(by_ip([0.0, 0.0, 0.0]), resolve)


def test_the_filter_reports_the_refusal():
    result = allocator_leader.allocator_leader(by_ip([1.0, 1.0, 0.0]))
    assert result["leader"] == ""
    assert "all say they lead" in result["error"]
    assert allocator_leader.FilterModule().filters() == {"allocator_leader": allocator_leader.allocator_leader}


# --- quorum -------------------------------------------------------------------------------------------------

MASTERS = ["m1", "m2", "m3"]


def health(*down):
    return [{"item": master, "status": -1 if master in down else 200} for master in MASTERS]


@pytest.mark.parametrize(
    ("count", "wanted", "expected"),
    [(1, None, 0), (2, None, 0), (3, None, 1), (4, None, 1), (5, None, 2), (5, 2, 2), (5, 4, 1), (7, "4", 3)],
)
def test_max_down(count, wanted, expected):
    assert max_down(count, wanted) == expected


@pytest.mark.parametrize(("count", "expected"), [(1, 1), (2, 1), (3, 1), (5, 2)])
def test_one_or_two_masters_may_restart_one_at_a_time(count, expected):
    assert restart_limit(count) == expected


@pytest.mark.parametrize(("count", "wanted"), [(0, None), (3, 0), (3, 4), (3, "two")])
def test_max_down_refuses_what_cannot_be(count, wanted):
    with pytest.raises(MastersError):
        max_down(count, wanted)


def test_a_restart_with_another_master_down_is_refused():
    verdict = quorum(health("m3"), MASTERS, None, ["m2"])
    assert verdict["ok"] is False
    assert verdict["down"] == ["m3"]
    assert verdict["msg"] == (
        "Not restarting m2: m3 is not healthy and restarting it too would leave 1 of 3 masters up, but at most 1 may be "
        "down at once (a majority, and offer_filter_allocator_quorum, must stay up)."
    )


def test_a_restart_with_every_master_healthy_passes():
    assert quorum(health(), MASTERS, None, ["m2"])["ok"] is True


def test_restarting_the_master_that_is_down_passes():
    assert quorum(health("m2"), MASTERS, None, ["m2"])["ok"] is True


def test_starting_masters_that_are_all_down_passes():
    """A first install: no master runs yet, so starting them all takes nothing away."""
    assert quorum(health("m1", "m2", "m3"), MASTERS, None, MASTERS)["ok"] is True


def test_restarting_a_healthy_master_with_two_down_is_refused():
    verdict = quorum(health("m1", "m2"), MASTERS, None, ["m1", "m3"])
    assert verdict["ok"] is False
    assert verdict["msg"].startswith(
        "Not restarting m3: m1, m2 are not healthy and restarting it too would leave 0 of 3"
    )


def test_two_restarts_at_once_are_refused():
    verdict = quorum(health(), MASTERS, None, ["m1", "m2"])
    assert verdict["ok"] is False
    assert verdict["msg"].startswith("Not restarting m1, m2: every master is healthy and restarting them too")


def test_after_a_restart_the_quorum_must_be_up():
    assert quorum(health("m1"), MASTERS)["ok"] is True
    verdict = quorum(health("m1", "m2"), MASTERS)
    assert verdict["ok"] is False
    assert verdict["msg"] == "Only 1 of 3 masters are healthy (m3); at most 1 may be down (not healthy: m1, m2)."


def test_a_single_master_must_answer_after_its_restart():
    assert quorum([{"item": "m1", "status": 200}], ["m1"], None, ["m1"])["ok"] is True
    assert quorum([{"item": "m1", "status": -1}], ["m1"])["ok"] is False


def test_the_quorum_filter_reports_a_bad_quorum():
    verdict = allocator_quorum.allocator_quorum(health(), MASTERS, 5)
    assert verdict["ok"] is False
    assert verdict["msg"] == (
        "offer_filter_allocator_quorum is 5, but there are 3 masters: it must be between 1 and 3 (a majority is 2)."
    )


# --- serial -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("serial", "count", "expected"),
    [(1, 3, 1), ("2", 3, 2), ("50%", 5, 2), ("10%", 3, 1), ([1, "2"], 5, 2), (0, 3, 3), (9, 3, 3)],
)
def test_batch_size(serial, count, expected):
    assert batch_size(serial, count) == expected


@pytest.mark.parametrize("serial", ["two", "-1", True, "1.5"])
def test_batch_size_refuses_what_is_no_serial(serial):
    with pytest.raises(MastersError, match="offer_filter_allocator_serial must be a number of masters"):
        batch_size(serial, 3)


def test_a_serial_within_the_quorum_passes():
    assert serial_error(1, MASTERS) == ""
    assert serial_error(2, ["m%d" % i for i in range(5)]) == ""


def test_a_serial_that_restarts_too_many_at_once_is_refused():
    assert serial_error(2, MASTERS) == (
        "offer_filter_allocator_serial=2 would restart 2 of the 3 masters at once, but at most 1 may be down at once (a "
        "majority, and offer_filter_allocator_quorum, must stay up). Set it to at most 1. Nothing was changed."
    )


def test_the_serial_filter_reports_a_bad_value():
    assert allocator_serial.allocator_serial("lots", MASTERS) == (
        "offer_filter_allocator_serial must be a number of masters, a percentage such as 30% or a list of them, got "
        "'lots'. Nothing was changed."
    )
