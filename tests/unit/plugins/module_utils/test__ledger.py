# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_ledger: the rules on the ledger's data (LedgerState), the version 1 upgrade, zk:// URLs and the file store
(permissions, atomic replacement, locking, concurrent writers). The ZooKeeper store needs a real ZooKeeper:
tests/functional/test_ledger_zookeeper.py."""

from __future__ import annotations

import fcntl
import json
import os
import re
import stat
import subprocess
import sys

import pytest

from ansible_collections.mesos.maintenance.plugins.module_utils import _ledger
from ansible_collections.mesos.maintenance.plugins.module_utils._ledger import (
    LEGACY_OWNER,
    FileStore,
    Ledger,
    LedgerError,
    LedgerState,
    ZooKeeperStore,
    open_store,
    parse_zk_url,
    redact_zk_url,
    upgrade,
)

NOW = 1_700_000_000.0
BY = "tester@host"


def state(now=NOW, data=None):
    return LedgerState(data if data is not None else _ledger.empty(), now)


def taken(*owners, hostname="a1", agent_id="S1"):
    """A state where each run in ``owners`` took ``hostname``, one minute apart (the first is the oldest)."""
    result = state()
    for n, run in enumerate(owners):
        result.now = NOW + 60 * n
        result.take(run, hostname, agent_id, by=BY)
    result.now = NOW + 60 * len(owners)
    return result


# --- ownership ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "run", "outcome", "owners_after"),
    [
        ((), "r1", "new", ["r1"]),
        (("r2",), "r1", "shared", ["r2", "r1"]),
        (("r1",), "r1", "ours", ["r1"]),
        (("r2", "r1"), "r1", "ours", ["r2", "r1"]),
    ],
)
def test_take(before, run, outcome, owners_after):
    ledger = taken(*before)
    assert ledger.take(run, "a1", "S1", reason="drain", by=BY) == outcome
    assert list(ledger.owners("a1")) == owners_after
    assert ledger.held_by_us("a1")
    assert ledger.is_ours(run, "a1")


def test_take_records_who_when_and_why():
    ledger = state()
    ledger.take("r1", "a1", "S1", reason="rolling", by=BY)
    assert ledger.agents["a1"] == {
        "agent_id": "S1",
        "owners": {"r1": {"since": "2023-11-14T22:13:20Z", "since_ts": NOW, "by": BY, "reason": "rolling"}},
    }


def test_take_without_by_records_user_at_host():
    ledger = state()
    ledger.take("r1", "a1", "S1")
    assert "@" in ledger.owners("a1")["r1"]["by"]


@pytest.mark.parametrize(("agent_id", "expected"), [("S9", "S9"), (None, "S1"), ("", "S1")])
def test_take_updates_the_agent_id_when_given(agent_id, expected):
    ledger = taken("r1")
    ledger.take("r2", "a1", agent_id, by=BY)
    assert ledger.agents["a1"]["agent_id"] == expected


@pytest.mark.parametrize(
    ("owners", "run", "force", "left", "owners_after"),
    [
        # Only its own ownership...
        (("r1",), "r1", False, [], None),
        (("r1", "r2"), "r1", False, ["r2"], ["r2"]),
        (("r2", "r1", "r3"), "r1", False, ["r2", "r3"], ["r2", "r3"]),
        # ... never another run's ...
        (("r2",), "r1", False, ["r2"], ["r2"]),
        # ... unless forced: every ownership goes.
        (("r1", "r2", "r3"), "r1", True, [], None),
        (("r2",), "r1", True, [], None),
        # The owner of the version 1 memory file is released by any run.
        ((LEGACY_OWNER,), "r1", False, [], None),
        ((LEGACY_OWNER, "r2"), "r1", False, ["r2"], ["r2"]),
        ((LEGACY_OWNER, "r1"), "r1", False, [], None),
    ],
)
def test_release(owners, run, force, left, owners_after):
    ledger = taken(*owners)
    assert [other["run"] for other in ledger.release(run, "a1", force=force)] == left
    if owners_after is None:
        assert "a1" not in ledger.agents  # the record goes with its last owner
        assert not ledger.held_by_us("a1")
    else:
        assert list(ledger.owners("a1")) == owners_after


def test_release_of_an_unknown_hostname():
    ledger = taken("r1")
    assert ledger.release("r1", "other") == []
    assert list(ledger.agents) == ["a1"]


def test_release_of_a_record_without_owners_deletes_it():
    ledger = state(data={"version": 2, "agents": {"a1": {"agent_id": "S1"}}, "holds": {}, "runs": {}})
    assert ledger.release("r1", "a1") == []
    assert ledger.agents == {}


@pytest.mark.parametrize(
    ("owners", "run", "force", "decision"),
    [
        (("r1",), "r1", False, "unfilter"),
        (("r1", "r2"), "r1", False, "shared"),
        (("r2", "r1"), "r1", False, "shared"),
        (("r2",), "r1", False, "shared"),  # not ours, but another run keeps it out
        ((), "r1", False, "not_ours"),  # filtered by someone else, or never taken
        ((LEGACY_OWNER,), "r1", False, "unfilter"),
        ((LEGACY_OWNER, "r2"), "r1", False, "shared"),
        (("r1", "r2"), "r1", True, "unfilter"),
        (("r2",), "r1", True, "unfilter"),
        ((), "r1", True, "unfilter"),
    ],
)
def test_restore_decision(owners, run, force, decision):
    ledger = taken(*owners)
    assert ledger.restore_decision(run, "a1", force=force) == decision


@pytest.mark.parametrize(
    ("seconds", "age"),
    [
        (0, "0 s"),
        (59, "59 s"),
        (119, "119 s"),
        (120, "2 min"),
        (7199, "119 min"),
        (7200, "2.0 h"),
        (5400 * 10, "15.0 h"),
        (172800, "2.0 days"),
        (-5, "0 s"),  # a clock that went back
    ],
)
def test_others_ages(seconds, age):
    ledger = taken("r2")
    ledger.now = NOW + seconds
    assert ledger.others("r1", "a1") == [{"run": "r2", "by": BY, "since": "2023-11-14T22:13:20Z", "age": age}]


def test_others_oldest_first_without_this_run_and_the_legacy_owner():
    ledger = taken("r3", LEGACY_OWNER, "r1", "r2")
    assert [other["run"] for other in ledger.others("r1", "a1")] == ["r3", "r2"]
    assert [other["age"] for other in ledger.others("r1", "a1")] == ["4 min", "60 s"]


def test_others_of_an_owner_without_since_ts():
    ledger = upgrade({"version": 1, "agents": {"a1": {"agent_id": "S1", "since": "x", "by": "old"}}})
    ledger["agents"]["a1"]["owners"]["r2"] = {"since": None, "by": "someone"}
    assert state(data=ledger).others("r1", "a1") == [{"run": "r2", "by": "someone", "since": None, "age": "unknown"}]


# --- holds --------------------------------------------------------------------------------------------------


def hold_state(*holds):
    """holds: (hold id, run, hostnames, started at NOW + this)."""
    ledger = state()
    for hold_id, run, hostnames, offset in holds:
        ledger.now = NOW + offset
        ledger.start_hold(hold_id, run, hostnames, interval=5, timeout=3600, pid=123, by=BY)
    ledger.now = NOW
    return ledger


def test_start_hold():
    ledger = state()
    ledger.start_hold("h1", "r1", ("a1", "a2"), interval=20, timeout=600, pid=42, by=BY)
    hold = ledger.holds["h1"]
    assert hold["run"] == "r1"
    assert hold["hostnames"] == ["a1", "a2"]
    assert hold["pid"] == 42
    assert hold["by"] == BY
    assert hold["started_ts"] == NOW
    assert hold["lease_until"] == NOW + 60  # three intervals
    assert hold["until"] == NOW + 600
    assert (hold["status"], hold["released"], hold["report"]) == ("starting", False, None)
    assert ledger.hold_is_live("h1")


@pytest.mark.parametrize(("interval", "lease"), [(1, 30.0), (5, 30.0), (10, 30.0), (11, 33.0), (60, 180.0)])
def test_lease_seconds(interval, lease):
    assert state().lease_seconds(interval) == lease


def test_renew_hold():
    ledger = hold_state(("h1", "r1", ["a1"], 0))
    ledger.now = NOW + 25
    assert ledger.renew_hold("h1", status="holding", report={"looks": 3}) is True
    hold = ledger.holds["h1"]
    assert (hold["lease_until"], hold["status"], hold["report"]) == (NOW + 55, "holding", {"looks": 3})
    ledger.now = NOW + 26
    assert ledger.renew_hold("h1") is True
    assert (hold["lease_until"], hold["status"], hold["report"]) == (NOW + 56, "holding", {"looks": 3})


def test_renew_hold_returns_false_once_released():
    ledger = hold_state(("h1", "r1", ["a1"], 0))
    ledger.holds["h1"]["released"] = True
    assert ledger.renew_hold("h1", status="holding") is False
    assert ledger.renew_hold("h1") is False


def test_renew_hold_returns_false_when_taken_away():
    ledger = hold_state(("h1", "r1", ["a1"], 0))
    del ledger.holds["h1"]
    assert ledger.renew_hold("h1") is False
    assert "h1" not in ledger.holds


@pytest.mark.parametrize(
    ("seconds_later", "status", "live"),
    [
        (0, "starting", True),
        (29, "holding", True),
        (30, "holding", True),  # the last second of its lease
        (30.5, "holding", False),
        (3600, "holding", False),
        (0, "ended", False),
        (0, "failed", False),
    ],
)
def test_hold_is_live(seconds_later, status, live):
    ledger = hold_state(("h1", "r1", ["a1"], 0))
    ledger.holds["h1"]["status"] = status
    ledger.now = NOW + seconds_later
    assert ledger.hold_is_live("h1") is live


def test_an_unknown_hold_is_not_live():
    assert state().hold_is_live("nope") is False


def test_a_renewed_hold_lives_on():
    ledger = hold_state(("h1", "r1", ["a1"], 0))
    for look in range(1, 20):
        ledger.now = NOW + 20 * look
        assert ledger.hold_is_live("h1")
        assert ledger.renew_hold("h1")


HOLDS = (
    ("mine-live", "r1", ["a1"], 0),
    ("mine-dead", "r1", ["a1"], -100),
    ("mine-released", "r1", ["a1"], 0),
    ("other-live", "r2", ["a1", "a2"], 0),
    ("other-dead", "r2", ["a2"], -100),
    ("other-ended", "r2", ["a2"], -100),
    ("other-failed", "r3", ["a3"], 0),
    ("third-live", "r3", ["a3"], -10),
)


def holds_ledger():
    ledger = hold_state(*HOLDS)
    ledger.holds["mine-released"]["released"] = True
    ledger.holds["other-ended"]["status"] = "ended"
    ledger.holds["other-failed"]["status"] = "failed"
    return ledger


@pytest.mark.parametrize(
    ("run", "mine", "dead"),
    [
        ("r1", ["mine-live"], ["mine-dead", "other-dead", "other-failed"]),
        ("r2", ["other-live"], ["mine-dead", "other-dead", "other-failed"]),
        ("r3", ["third-live"], ["mine-dead", "other-dead", "other-failed"]),
        ("r9", [], ["mine-dead", "other-dead", "other-failed"]),
    ],
)
def test_holds_to_end(run, mine, dead):
    ledger = holds_ledger()
    assert ledger.holds_to_end(run) == (mine, dead)


@pytest.mark.parametrize("run", ["r1", "r2", "r3", "r9"])
def test_holds_to_end_never_another_runs_live_hold(run):
    ledger = holds_ledger()
    for seconds_later in (0, 15, 25, 29, 30, 31, 1000):
        ledger.now = NOW + seconds_later
        mine, dead = ledger.holds_to_end(run)
        for hold_id in mine + dead:
            hold = ledger.holds[hold_id]
            assert hold["run"] == run or not ledger.hold_is_live(hold_id), (seconds_later, hold_id)
        for hold_id in mine:
            assert ledger.holds[hold_id]["run"] == run


def test_holds_to_end_once_the_leases_ran_out():
    ledger = holds_ledger()
    ledger.now = NOW + 31
    assert ledger.holds_to_end("r1") == (
        [],
        ["mine-dead", "mine-live", "mine-released", "other-dead", "other-failed", "other-live", "third-live"],
    )


@pytest.mark.parametrize(
    ("run", "hostnames", "expected"),
    [
        ("r1", ["a1"], ["other-live"]),
        ("r1", ["a2"], ["other-live"]),
        ("r1", ["a3"], ["third-live"]),
        ("r1", ["a1", "a3", "a9"], ["other-live", "third-live"]),
        # A released hold still holds until its next look ends it.
        ("r2", ["a1", "a2"], ["mine-live", "mine-released"]),
        ("r3", ["a3"], []),
        ("r1", [], []),
        ("r1", ["a9"], []),
    ],
)
def test_live_holds_of_others(run, hostnames, expected):
    ledger = holds_ledger()
    found = ledger.live_holds_of_others(run, hostnames)
    assert [hold_id for hold_id, _hold in found] == expected
    assert all(hold is ledger.holds[hold_id] for hold_id, hold in found)


# --- rolling runs -------------------------------------------------------------------------------------------


def test_start_run_and_find_run():
    ledger = state()
    ledger.start_run("roll-1", ["a2", "a1"], by=BY)
    assert ledger.runs["roll-1"] == {
        "kind": "rolling",
        "targets": ["a2", "a1"],
        "done": [],
        "failed": [],
        "error": "",
        "started": "2023-11-14T22:13:20Z",
        "by": BY,
        "batches": [],
        "attempt": 1,
    }
    assert ledger.find_run(["a1", "a2"]) == "roll-1"
    assert ledger.find_run(("a2", "a1")) == "roll-1"
    assert ledger.find_run(["a1"]) is None
    assert ledger.find_run(["a1", "a2", "a3"]) is None


@pytest.mark.parametrize(
    ("runs", "expected"),
    [
        ({}, None),
        ({"x": {"kind": "rolling", "targets": ["a1", "a2"], "started": "2024"}}, "x"),
        ({"x": {"kind": "rolling", "targets": ["a1", "a2"], "finished": True}}, None),
        ({"x": {"kind": "drain", "targets": ["a1", "a2"]}}, None),
        (
            {
                "new": {"kind": "rolling", "targets": ["a1", "a2"], "started": "2024-02-01T00:00:00Z"},
                "old": {"kind": "rolling", "targets": ["a2", "a1"], "started": "2024-01-01T00:00:00Z"},
            },
            "old",
        ),
        (
            {
                "old": {"kind": "rolling", "targets": ["a1", "a2"], "started": "2024-01-01T00:00:00Z", "finished": 1},
                "new": {"kind": "rolling", "targets": ["a1", "a2"], "started": "2024-02-01T00:00:00Z"},
            },
            "new",
        ),
    ],
)
def test_find_run(runs, expected):
    ledger = state()
    ledger.runs.update(runs)
    assert ledger.find_run(["a2", "a1"]) == expected


def test_rolling_batches():
    ledger = state()
    ledger.start_run("roll", ["a1", "a2", "a3"], by=BY)
    first = ledger.batch("roll", ["a1"])
    assert first == {"number": 1, "hosts": ["a1"], "started_ts": NOW, "outcome": None, "attempt": 1}
    assert ledger.batch("roll", ["a9"]) is first  # the open batch (a re-run resumes it)
    ledger.now = NOW + 90
    record = ledger.end_batch("roll", ["a9"], "restored", drained=1)
    assert record is first
    assert (record["outcome"], record["error"], record["seconds"], record["drained"]) == ("restored", "", 90.0, 1)
    run = ledger.runs["roll"]
    assert (run["done"], run["failed"], run["error"]) == (["a1"], [], "")
    second = ledger.batch("roll", ["a2", "a3"])
    assert (second["number"], second["hosts"]) == (2, ["a2", "a3"])
    ledger.end_batch("roll", ["a2", "a3"], "failed", error="a2 did not come back")
    assert (run["done"], run["failed"], run["error"]) == (["a1"], ["a2", "a3"], "a2 did not come back")
    # A re-run takes the failed hosts again.
    assert ledger.find_run(["a3", "a2", "a1"]) == "roll"
    ledger.end_batch("roll", ["a2", "a3"], "restored")
    assert [batch["number"] for batch in run["batches"]] == [1, 2, 3]
    assert (run["done"], run["failed"]) == (["a1", "a2", "a3"], [])
    assert ledger.finish_run("roll") is run
    assert run["finished"] == "2023-11-14T22:14:50Z"
    assert ledger.find_run(["a1", "a2", "a3"]) is None


def test_batches_of_an_unknown_run():
    ledger = state()
    assert ledger.batch("nope", ["a1"]) is None
    assert ledger.end_batch("nope", ["a1"], "restored") is None
    assert ledger.finish_run("nope") is None
    assert ledger.runs == {}


# --- upgrade ------------------------------------------------------------------------------------------------

V1 = {
    "version": 1,
    "agents": {
        "a1": {"agent_id": "S1", "since": "2023-01-01T00:00:00Z", "by": "ops@old"},
        "a2": {"agent_id": "S2", "since": "2023-01-02T00:00:00Z", "by": "ops@old"},
    },
    "rolling": {
        "targets": ["a1", "a2", "a3"],
        "done": ["a1"],
        "failed": [],
        "error": "",
        "started": "2023-01-01T00:00:00Z",
    },
}


def test_upgrade_from_version_1():
    data = upgrade(json.loads(json.dumps(V1)))
    assert data["version"] == 2
    assert data["holds"] == {}
    assert data["agents"] == {
        "a1": {
            "agent_id": "S1",
            "owners": {
                LEGACY_OWNER: {"since": "2023-01-01T00:00:00Z", "since_ts": None, "by": "ops@old", "reason": "drain"}
            },
        },
        "a2": {
            "agent_id": "S2",
            "owners": {
                LEGACY_OWNER: {"since": "2023-01-02T00:00:00Z", "since_ts": None, "by": "ops@old", "reason": "drain"}
            },
        },
    }
    assert data["runs"] == {
        "rolling-legacy": {
            "kind": "rolling",
            "targets": ["a1", "a2", "a3"],
            "done": ["a1"],
            "failed": [],
            "error": "",
            "started": "2023-01-01T00:00:00Z",
            "by": LEGACY_OWNER,
        }
    }
    # Any run may restore what the memory file's single owner took, and resumes its rolling run.
    ledger = state(data=data)
    assert ledger.restore_decision("r1", "a1") == "unfilter"
    assert ledger.find_run(["a3", "a2", "a1"]) == "rolling-legacy"


@pytest.mark.parametrize(
    "data",
    [
        {"agents": {"a1": {"agent_id": "S1", "since": "x", "by": "y"}}},  # no version: 1
        {"version": 1, "agents": {"a1": "garbage"}},
        {"version": 1, "agents": {}, "rolling": {"targets": []}},
        {"version": 1, "agents": {}, "rolling": None},
    ],
)
def test_upgrade_from_version_1_variants(data):
    result = upgrade(data)
    assert result["version"] == 2
    assert set(result["agents"]) == set(data["agents"])
    assert all(list(entry["owners"]) == [LEGACY_OWNER] for entry in result["agents"].values())
    assert result["runs"] == {}


@pytest.mark.parametrize("data", [None, {}])
def test_upgrade_of_nothing(data):
    assert upgrade(data) == {"version": 2, "agents": {}, "holds": {}, "runs": {}}


def test_upgrade_keeps_version_2():
    data = {"version": 2, "agents": {"a1": {"agent_id": "S1", "owners": {"r1": {}}}}, "runs": {"x": {}}, "extra": 1}
    assert upgrade(data) == {"version": 2, "agents": data["agents"], "holds": {}, "runs": {"x": {}}, "extra": 1}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"version": 3, "agents": {}}, "has version 3"),
        ({"version": "2", "agents": {}}, "has a version that is not a whole number"),
        ({"version": True, "agents": {}}, "has a version that is not a whole number"),
        ({"password": "s3cret"}, "holds no ledger"),
        ({"version": 2, "agents": {}, "runs": []}, "holds no ledger"),
        ([], "holds no ledger"),
        ([{"agents": {}}], "holds no ledger"),
        ("ledger", "holds no ledger"),
        (0, "holds no ledger"),
        (False, "holds no ledger"),
        ({"version": 2, "agents": []}, "holds no ledger"),
    ],
)
def test_upgrade_refuses(data, message):
    with pytest.raises(LedgerError, match=message):
        upgrade(data)


# --- zk:// URLs ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "hosts", "path", "auth"),
    [
        ("zk://zk1:2181/mesos-maintenance", "zk1:2181", "/mesos-maintenance", None),
        (
            "zk://zk1:2181,zk2:2181,zk3:2182/mesos/maintenance/",
            "zk1:2181,zk2:2181,zk3:2182",
            "/mesos/maintenance",
            None,
        ),
        ("zk://10.0.0.1:2181,[::1]:2181/m", "10.0.0.1:2181,[::1]:2181", "/m", None),
        ("zk://ops:s3cret@zk1:2181/m", "zk1:2181", "/m", ("ops", "s3cret")),
        ("zk://ops:s3cret@zk1:2181,zk2:2181/m", "zk1:2181,zk2:2181", "/m", ("ops", "s3cret")),
        ("zk://ops:p%40ss%2Fw%3Ard%25@zk1:2181/m", "zk1:2181", "/m", ("ops", "p@ss/w:rd%")),
        ("zk://op%20s:x@zk1:2181/m", "zk1:2181", "/m", ("op s", "x")),
        # A secret not percent-encoded: the credentials end at the last '@'.
        ("zk://ops:p@ss:w/rd@zk1:2181/m", "zk1:2181", "/m", ("ops", "p@ss:w/rd")),
        ("zk://ops:@zk1:2181/m", "zk1:2181", "/m", ("ops", "")),
    ],
)
def test_parse_zk_url(url, hosts, path, auth):
    assert parse_zk_url(url) == (hosts, path, auth)


SECRET = "Hunter2Secret"


@pytest.mark.parametrize(
    "url",
    [
        "zk://zk1:2181",
        "zk://zk1:2181/",
        "zk:///m",
        "zk://zk1/m",
        "zk://zk1:port/m",
        "zk://:2181/m",
        "zk://zk1:2181,/m",
        "zk://zk1:2181,zk2/m",
        "zk://%s@zk1:2181/m" % SECRET,
        "zk://:%s@zk1:2181/m" % SECRET,
        "zk://ops:%s@zk1/m" % SECRET,
        "zk://ops:%s@zk1:2181" % SECRET,
        "zk://ops:%s@:2181/m" % SECRET,
        "zk://ops:%s@/m" % SECRET,
        "zk://ops:%s/x@zk1/m" % SECRET,
        "zk://ops:%s@zk1:21x81/m" % SECRET,
        "ZK://ops:%s@zk1:2181/m" % SECRET,
        "zookeeper://ops:%s@zk1:2181/m" % SECRET,
        "ops:%s@zk1:2181/m" % SECRET,
        "",
        None,
        42,
    ],
)
def test_parse_zk_url_refuses_without_showing_the_secret(url):
    with pytest.raises(LedgerError) as caught:
        parse_zk_url(url)
    message = str(caught.value)
    assert SECRET not in message
    assert "Hunter" not in message
    if isinstance(url, str) and "@" in url:
        assert "********" in message


@pytest.mark.parametrize(
    ("url", "redacted"),
    [
        ("zk://zk1:2181/m", "zk://zk1:2181/m"),
        ("zk://ops:%s@zk1:2181,zk2:2181/m" % SECRET, "zk://ops:********@zk1:2181,zk2:2181/m"),
        ("zk://ops:a@b/c@zk1:2181/m", "zk://ops:********@zk1:2181/m"),
        ("zk://%s@zk1:2181/m" % SECRET, "zk://********@zk1:2181/m"),
        ("zookeeper://ops:%s@zk1:2181/m" % SECRET, "zookeeper://ops:********@zk1:2181/m"),
        ("ops:%s@zk1/m" % SECRET, "ops:********@zk1/m"),
        ("/var/lib/ledger.json", "/var/lib/ledger.json"),
        (None, "a NoneType"),
        (b"zk://ops:%s@zk1:2181/m" % SECRET.encode(), "a bytes"),
    ],
)
def test_redact_zk_url(url, redacted):
    assert redact_zk_url(url) == redacted


def test_a_zookeeper_store_names_its_ledger_without_the_secret():
    store = ZooKeeperStore("zk://ops:%s@zk1:2181/m" % SECRET, timeout=3)
    assert store.description == "ZooKeeper ledger zk://ops:********@zk1:2181/m"
    assert (store.hosts, store.path, store.data_path, store.auth) == ("zk1:2181", "/m", "/m/ledger", ("ops", SECRET))


def test_open_store(tmp_path):
    assert isinstance(open_store("zk://zk1:2181/m"), ZooKeeperStore)
    store = open_store(str(tmp_path / "ledger.json"))
    assert isinstance(store, FileStore)
    assert store.description == "ledger file %s" % (tmp_path / "ledger.json")
    for bad in ("", None, 5):
        with pytest.raises(LedgerError, match="file path or a zk:// URL"):
            open_store(bad)


# --- the file store -----------------------------------------------------------------------------------------


def mode(path):
    return stat.S_IMODE(os.stat(str(path)).st_mode)


def test_file_store_round_trip_permissions_and_no_temporary_file(tmp_path):
    path = tmp_path / "new" / "folder" / "ledger.json"
    store = FileStore(str(path))
    assert store.read() == _ledger.empty()
    assert not path.parent.exists()  # reading creates nothing
    with store.locked() as data:
        data["agents"]["a1"] = {"agent_id": "S1", "owners": {"r1": {}}}
    assert mode(path.parent) == 0o700
    assert mode(path) == 0o600
    assert sorted(os.listdir(str(path.parent))) == ["ledger.json", "ledger.json.lock"]
    assert json.loads(path.read_text())["agents"] == {"a1": {"agent_id": "S1", "owners": {"r1": {}}}}
    assert store.read()["agents"] == {"a1": {"agent_id": "S1", "owners": {"r1": {}}}}


def test_file_store_replaces_the_file_with_a_0600_one(tmp_path):
    path = tmp_path / "ledger.json"
    path.write_text(json.dumps({"version": 2, "agents": {}}))
    os.chmod(str(path), 0o644)
    inode = os.stat(str(path)).st_ino
    with FileStore(str(path)).locked() as data:
        data["runs"]["x"] = {}
    assert mode(path) == 0o600
    assert os.stat(str(path)).st_ino != inode  # a new file renamed over the old one
    assert json.loads(path.read_text())["runs"] == {"x": {}}


def test_file_store_writes_nothing_when_nothing_changed(tmp_path):
    path = tmp_path / "ledger.json"
    path.write_text(json.dumps(V1))
    before = os.stat(str(path))
    with FileStore(str(path)).locked() as data:
        assert data["agents"]["a1"]["owners"]  # upgraded in memory ...
    after = os.stat(str(path))
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)  # ... not written
    assert json.loads(path.read_text()) == V1


def test_file_store_upgrades_version_1_on_its_first_write(tmp_path):
    path = tmp_path / "ledger.json"
    path.write_text(json.dumps(V1))
    ledger = Ledger(FileStore(str(path)), clock=lambda: NOW)
    with ledger.transaction() as current:
        assert current.release("r1", "a1") == []
    data = json.loads(path.read_text())
    assert data["version"] == 2
    assert list(data["agents"]) == ["a2"]
    assert data["runs"]["rolling-legacy"]["done"] == ["a1"]


@pytest.mark.parametrize("text", ["{not json", '{"version": 2, "agents": {', "\x00\x01", '"\\ud800'])
def test_file_store_refuses_invalid_json_and_leaves_the_file_alone(tmp_path, text):
    path = tmp_path / "ledger.json"
    path.write_text(text)
    store = FileStore(str(path))
    body_ran = []
    with pytest.raises(LedgerError, match="is not valid JSON .*nothing was changed"):
        with store.locked():
            body_ran.append(True)
    assert body_ran == []
    assert path.read_text() == text
    with pytest.raises(LedgerError, match="ledger file %s is not valid JSON" % re.escape(str(path))):
        store.read()


@pytest.mark.parametrize("text", ['{"version": 3, "agents": {}}', "[1, 2]", '"text"'])
def test_file_store_refuses_what_is_no_ledger(tmp_path, text):
    path = tmp_path / "ledger.json"
    path.write_text(text)
    with pytest.raises(LedgerError, match="^ledger file %s: the ledger " % re.escape(str(path))):
        with FileStore(str(path)).locked():
            pass
    assert path.read_text() == text


@pytest.mark.parametrize(
    "content",
    [
        b'{"api_token": "SECRET-1", "hosts": ["db1"]}',  # a JSON object of something else
        b'{"version": "SECRET-2", "agents": {}}',
        b'{"version": 2, "agents": {}, "runs": ["SECRET-3"]}',
        b"root:SECRET-4:0:0:root:/root:/bin/sh\n",
        b"\xffSECRET-5\x00\x01",  # not text at all
    ],
)
def test_file_store_never_echoes_a_file_that_is_no_ledger(tmp_path, content):
    """The ledger's path can name any file: refused, left as it is, and its content never in the message."""
    path = tmp_path / "some.json"
    path.write_bytes(content)
    store = FileStore(str(path))
    for read in (store.read, lambda: store.locked().__enter__()):
        with pytest.raises(LedgerError) as caught:
            read()
        assert "SECRET" not in str(caught.value), caught.value
        assert "nothing was changed" in str(caught.value) or "move the file away" in str(caught.value), caught.value
    assert path.read_bytes() == content
    assert os.listdir(str(tmp_path)) == ["some.json"]  # no lock file next to it


@pytest.mark.parametrize("text", ["", "  \n"])
def test_file_store_reads_an_empty_file_as_an_empty_ledger(tmp_path, text):
    path = tmp_path / "ledger.json"
    path.write_text(text)
    assert FileStore(str(path)).read() == _ledger.empty()


@pytest.mark.parametrize("existing", [False, True])
def test_an_exception_inside_a_transaction_writes_nothing(tmp_path, existing):
    path = tmp_path / "ledger.json"
    if existing:
        path.write_text(json.dumps({"version": 2, "agents": {}, "holds": {}, "runs": {}}))
    store = FileStore(str(path))
    with pytest.raises(RuntimeError, match="master said no"):
        with store.locked() as data:
            data["agents"]["a1"] = {"agent_id": "S1", "owners": {"r1": {}}}
            raise RuntimeError("master said no")
    assert store.read()["agents"] == {}
    assert path.exists() is existing
    assert sorted(os.listdir(str(tmp_path))) == sorted(["ledger.json.lock"] + (["ledger.json"] if existing else []))
    # The lock was released: the next transaction runs at once.
    with FileStore(str(path), lock_timeout=0).locked() as data:
        data["agents"]["a2"] = {}
    assert list(store.read()["agents"]) == ["a2"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary_file(tmp_path, monkeypatch):
    path = tmp_path / "ledger.json"
    path.write_text(json.dumps({"version": 2, "agents": {}, "holds": {}, "runs": {}}))
    before = path.read_text()

    def no_rename(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_ledger.os, "rename", no_rename)
    with pytest.raises(
        LedgerError, match="cannot write the ledger file .*No space left on device.*nothing was changed"
    ):
        with FileStore(str(path)).locked() as data:
            data["agents"]["a1"] = {}
    assert path.read_text() == before
    assert sorted(os.listdir(str(tmp_path))) == ["ledger.json", "ledger.json.lock"]


def test_a_folder_that_cannot_be_created(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    store = FileStore(str(blocker / "sub" / "ledger.json"))
    with pytest.raises(LedgerError, match="ledger file"):
        with store.locked():
            pass


class FakeClock:
    """A monotonic clock that only moves when the store sleeps; ``on_sleep`` runs at each sleep."""

    def __init__(self, on_sleep=None):
        self.now = 100.0
        self.sleeps = 0
        self.on_sleep = on_sleep

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps += 1
        self.now += seconds
        if self.on_sleep:
            self.on_sleep(self)


def hold_flock(path):
    """Lock the ledger's lock file from a second open file (as another run would): the fd to close."""
    fd = os.open(str(path) + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return fd


def test_lock_timeout(tmp_path):
    path = tmp_path / "ledger.json"
    fake = FakeClock()
    store = FileStore(str(path), lock_timeout=2.0, sleep=fake.sleep, clock=fake.clock)
    fd = hold_flock(path)
    try:
        with pytest.raises(LedgerError, match="stayed locked by another run for 2.0s; nothing was changed"):
            with store.locked() as data:
                data["agents"]["a1"] = {}
    finally:
        os.close(fd)
    assert 39 <= fake.sleeps <= 41  # 2 s in steps of 0.05 s
    assert not path.exists()


def test_lock_timeout_in_real_time_against_another_process(tmp_path):
    path = tmp_path / "ledger.json"
    with subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, os, sys\n"
            "fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)\n"
            "fcntl.flock(fd, fcntl.LOCK_EX)\n"
            "print('locked', flush=True)\n"
            "sys.stdin.read()\n",
            str(path) + ".lock",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as holder:
        assert holder.stdout.readline() == "locked\n"
        with pytest.raises(LedgerError, match="stayed locked by another run"):
            with FileStore(str(path), lock_timeout=0.3).locked():
                pass
        holder.stdin.close()
        assert holder.wait(10) == 0
    with FileStore(str(path), lock_timeout=5).locked() as data:  # its lock ended with it
        data["runs"]["x"] = {}
    assert json.loads(path.read_text())["runs"] == {"x": {}}


def test_the_transaction_waits_for_the_lock(tmp_path):
    path = tmp_path / "ledger.json"
    fd = hold_flock(path)

    def release_at_the_third_sleep(fake):
        if fake.sleeps == 3:
            os.close(fd)

    fake = FakeClock(release_at_the_third_sleep)
    with FileStore(str(path), lock_timeout=60, sleep=fake.sleep, clock=fake.clock).locked() as data:
        data["agents"]["a1"] = {}
    assert fake.sleeps == 3
    assert list(json.loads(path.read_text())["agents"]) == ["a1"]


def test_ledger_transaction_and_snapshot(tmp_path):
    path = tmp_path / "ledger.json"
    ledger = Ledger(FileStore(str(path)), clock=lambda: NOW)
    assert ledger.description == "ledger file %s" % path
    with ledger.transaction() as current:
        assert current.now == NOW
        assert current.take("r1", "a1", "S1", by=BY) == "new"
    with ledger.transaction() as current:
        assert current.take("r2", "a1", "S1", by=BY) == "shared"
    snapshot = ledger.snapshot()
    assert list(snapshot.owners("a1")) == ["r1", "r2"]
    snapshot.release("r1", "a1", force=True)  # a copy: the ledger keeps its owners
    with ledger.transaction() as current:
        assert current.restore_decision("r1", "a1") == "shared"
    ledger.close()


def test_a_dry_run_transaction_writes_nothing(tmp_path):
    path = tmp_path / "ledger.json"
    ledger = Ledger(FileStore(str(path)), clock=lambda: NOW)
    with ledger.transaction() as current:
        current.take("r1", "a1", "S1", by=BY)
    before = path.read_text()
    with ledger.transaction(dry_run=True) as current:
        assert current.take("r2", "a1", "S1", by=BY) == "shared"
        assert current.release("r1", "a1") == [{"run": "r2", "by": BY, "since": "2023-11-14T22:13:20Z", "age": "0 s"}]
    assert path.read_text() == before
    assert list(ledger.snapshot().owners("a1")) == ["r1"]


def test_save_writes_inside_the_transaction_and_keeps_the_lock(tmp_path):
    """What a drain records before it asks the master is on disk even if the run dies before the end of the
    transaction, and nobody else can change the ledger meanwhile."""
    path = tmp_path / "ledger.json"
    ledger = Ledger(FileStore(str(path), lock_timeout=0.2), clock=lambda: NOW)
    other = Ledger(FileStore(str(path), lock_timeout=0.2), clock=lambda: NOW)
    with pytest.raises(RuntimeError):
        with ledger.transaction() as current:
            current.take("r1", "a1", "S1", by=BY)
            current.save()
            assert list(json.loads(path.read_text())["agents"]["a1"]["owners"]) == ["r1"]
            with pytest.raises(_ledger.LedgerError, match="stayed locked"):
                with other.transaction():
                    pass
            current.take("r1", "a2", "S2", by=BY)
            raise RuntimeError("the run dies")
    assert list(json.loads(path.read_text())["agents"]) == ["a1"]


def test_save_in_a_dry_run_writes_nothing(tmp_path):
    path = tmp_path / "ledger.json"
    ledger = Ledger(FileStore(str(path)), clock=lambda: NOW)
    with ledger.transaction(dry_run=True) as current:
        current.take("r1", "a1", "S1", by=BY)
        current.save()
    assert not path.exists()


# Each writer loads _ledger from its file, so that it runs the same under pytest and ansible-test (whatever the
# import path of this test module), and adds a unique owner to one hostname's record and appends to a list.
WRITER = """
import importlib.util, sys
spec = importlib.util.spec_from_file_location('_ledger', sys.argv[1])
ledger = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ledger)
path, name, count = sys.argv[2], sys.argv[3], int(sys.argv[4])
store = ledger.FileStore(path, lock_timeout=60)
sys.stdin.read()  # all start together
for n in range(count):
    with store.locked() as data:
        owners = data['agents'].setdefault('shared-host', {'agent_id': 'S1', 'owners': {}})['owners']
        owners['%s-%d' % (name, n)] = {'since_ts': n}
        data['runs'].setdefault('log', {'kind': 'log', 'entries': []})['entries'].append('%s-%d' % (name, n))
"""

WRITERS = 8
TRANSACTIONS = 50


def test_concurrent_writers_lose_nothing(tmp_path):
    path = tmp_path / "ledger.json"
    writers = []
    for n in range(WRITERS):
        with open(str(tmp_path / ("w%d.err" % n)), "w") as err:
            writers.append(
                subprocess.Popen(
                    [sys.executable, "-c", WRITER, _ledger.__file__, str(path), "w%d" % n, str(TRANSACTIONS)],
                    stdin=subprocess.PIPE,
                    stderr=err,
                )
            )
    for writer in writers:
        writer.stdin.close()
    for n, writer in enumerate(writers):
        assert writer.wait(60) == 0, (tmp_path / ("w%d.err" % n)).read_text()
        os.unlink(str(tmp_path / ("w%d.err" % n)))
    data = json.loads(path.read_text())
    expected = {"w%d-%d" % (w, n) for w in range(WRITERS) for n in range(TRANSACTIONS)}
    assert set(data["agents"]["shared-host"]["owners"]) == expected
    entries = data["runs"]["log"]["entries"]
    assert len(entries) == WRITERS * TRANSACTIONS
    assert set(entries) == expected
    for w in range(WRITERS):  # each writer's transactions in its order
        mine = [entry for entry in entries if entry.startswith("w%d-" % w)]
        assert mine == ["w%d-%d" % (w, n) for n in range(TRANSACTIONS)]
    assert sorted(os.listdir(str(tmp_path))) == ["ledger.json", "ledger.json.lock"]
    assert mode(path) == 0o600


@pytest.mark.parametrize("everything", [False, True])
def test_a_zookeeper_store_without_kazoo(monkeypatch, everything):
    """kazoo.client alone, or every kazoo module, cannot be imported."""
    hidden = {"kazoo.client"}
    if everything:
        hidden.update(module for module in list(sys.modules) if module.split(".")[0] == "kazoo")
        hidden.add("kazoo")
    for module in hidden:
        monkeypatch.setitem(sys.modules, module, None)
    store = ZooKeeperStore("zk://127.0.0.1:1/mesos-maintenance", timeout=1)
    with pytest.raises(LedgerError, match="needs the Python library kazoo .*pip install kazoo"):
        store.read()
    with pytest.raises(LedgerError, match="needs the Python library kazoo"):
        with store.locked():
            pass
