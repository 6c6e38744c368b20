# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_engine: what a drain decides for each hostname (new, ours, shared, external, skipped), what a restore puts
back (only what this run alone keeps out, unless forced) and the release of holds.

The steps talk to a backend through a small interface (read, filter, unfilter, ...; see _backends); here a fake
backend serves a Snapshot built from literal agent dicts and records the calls, and a fake ledger gives a
LedgerState over a dict, committed on a clean exit only (as the real stores do). No HTTP."""

from __future__ import annotations

import contextlib
import copy
import types

import pytest

from ansible_collections.mesos.maintenance.plugins.module_utils import _ledger
from ansible_collections.mesos.maintenance.plugins.module_utils._backend import (
    ALREADY_BACK,
    UNFILTERED,
    UNFILTERED_ANSWER_LOST,
    Snapshot,
)
from ansible_collections.mesos.maintenance.plugins.module_utils._backends import AllocatorBackend, NativeBackend
from ansible_collections.mesos.maintenance.plugins.module_utils._engine import (
    EXTERNAL,
    NEW,
    OURS,
    SHARED,
    SKIPPED,
    Drain,
    Restore,
    Step,
    release_holds,
)
from ansible_collections.mesos.maintenance.plugins.module_utils._errors import MesosError
from ansible_collections.mesos.maintenance.plugins.module_utils._filters import AgentIndex, InputError
from ansible_collections.mesos.maintenance.plugins.module_utils._ledger import LEGACY_OWNER, LedgerState

NOW = 1_700_000_000.0
BY = "tester@host"
RUN = "run-A"
OTHER = "run-B"
LEADER = "http://m1:5050"


# --- fakes of the backend interface, the ledger and the client -----------------------------------------------


def slave(agent_id, hostname, active=True, running=0):
    return {"id": agent_id, "hostname": hostname, "active": active, "TASK_RUNNING": running, "TASK_STAGING": 0}


def snapshot(slaves, filtered=()):
    index = AgentIndex(slaves)
    return Snapshot(index, [{"agent_id": a, "hostname": index.hostname(a)} for a in filtered])


class FakeBackend(AllocatorBackend):
    """The allocator backend over a fixed snapshot, without a master; records every change."""

    def __init__(self, snap, unfilter_outcome=UNFILTERED, fail_filter=()):
        self.snap = snap
        self.unfilter_outcome = unfilter_outcome
        self.fail_filter = set(fail_filter)
        self.calls = []

    def read(self):
        return self.snap

    poll = read

    def filter(self, agent_id, hostname=None):
        if agent_id in self.fail_filter:
            raise MesosError("POST /allocator/filters for %s: HTTP 500" % agent_id, status=500)
        self.calls.append(("filter", agent_id, hostname))

    def unfilter(self, agent_id, hostname=None):
        self.calls.append(("unfilter", agent_id, hostname))
        return self.unfilter_outcome

    @staticmethod
    def is_unknown_agent(error):
        return False

    def remaining(self, slave):
        return None


class FakeLedger:
    """Ledger.transaction over a dict: a LedgerState of a copy, committed when the block ends without an error and
    not in check mode (dry_run)."""

    description = "fake ledger"

    def __init__(self, data=None, now=NOW):
        self.data = data if data is not None else _ledger.empty()
        self.now = now
        self.transactions = 0

    @contextlib.contextmanager
    def transaction(self, dry_run=False):
        self.transactions += 1
        state = LedgerState(copy.deepcopy(self.data), self.now)
        yield state
        if not dry_run:
            self.data = state.data

    def state(self):
        return LedgerState(self.data, self.now)

    def close(self):
        pass


class FakeClient:
    leader = LEADER
    build = None
    request_count = 0

    def get_leader(self):
        return self.leader


def ledger_with(*records, holds=None):
    """A ledger where each (run, hostname, agent id, minutes ago) of ``records`` took the agent."""
    state = LedgerState(_ledger.empty(), NOW)
    for run, hostname, agent_id, minutes in records:
        state.now = NOW - 60 * minutes
        state.take(run, hostname, agent_id, by=BY)
    state.data["holds"].update(holds or {})
    return FakeLedger(state.data)


def step(cls, backend, ledger, check_mode=False, sleep=None, **params):
    values = dict(run_id=RUN, hostname=[], max_filtered=None, unregistered="fail", reason=None, force=False)
    values.update(params)
    result = cls(FakeClient(), ledger, values, check_mode=check_mode, sleep=sleep or (lambda seconds: None))
    result.backend = backend
    return result


# --- the drain ----------------------------------------------------------------------------------------------

DRAIN_SLAVES = [
    slave("S1", "new.example"),
    slave("S2", "ours.example"),
    slave("S3", "shared.example"),
    slave("S4", "external.example"),
    slave("S5", "external-down.example", active=False),
    slave("S6", "legacy.example"),
    slave("S7", "shared-filtered.example"),
]
# external-down is filtered but disconnected: whether someone filtered it cannot be told.
DRAIN_FILTERED = ["S3", "S4", "S5", "S6", "S7"]


def drain_ledger():
    return ledger_with(
        (RUN, "ours.example", "S2", 30),
        (OTHER, "shared.example", "S3", 5),
        (LEGACY_OWNER, "legacy.example", "S6", 600),
        (OTHER, "shared-filtered.example", "S7", 90),
    )


@pytest.mark.parametrize(
    ("hostname", "outcome"),
    [
        ("new.example", NEW),
        ("ours.example", OURS),  # this run took it before, its filter is gone since
        ("shared.example", SHARED),
        ("shared-filtered.example", SHARED),  # the ledger says who, whatever the filter list says
        ("external.example", EXTERNAL),
        ("external-down.example", NEW),
        ("legacy.example", OURS),  # a version 1 memory file's record: any run may take it over
    ],
)
def test_drain_classify(hostname, outcome):
    drain = step(Drain, FakeBackend(snapshot(DRAIN_SLAVES, DRAIN_FILTERED)), drain_ledger())
    with drain.ledger.transaction() as state:
        assert drain.classify(state, drain.backend.read(), [hostname]) == {hostname: outcome}


def test_drain_classify_is_per_run():
    drain = step(Drain, FakeBackend(snapshot(DRAIN_SLAVES, DRAIN_FILTERED)), drain_ledger(), run_id=OTHER)
    with drain.ledger.transaction() as state:
        outcomes = drain.classify(state, drain.backend.read(), ["ours.example", "shared.example"])
    assert outcomes == {"ours.example": SHARED, "shared.example": OURS}


def test_drain_filters_and_records_what_it_takes():
    backend = FakeBackend(snapshot(DRAIN_SLAVES, DRAIN_FILTERED))
    ledger = drain_ledger()
    drain = step(
        Drain,
        backend,
        ledger,
        hostname=["new.example", "ours.example", "shared.example", "external.example", "missing.example"],
        unregistered="skip",
        reason="kernel update",
    )
    result = drain.run_step()
    # ours.example lost its filter: it is filtered again; shared.example is filtered (by the other run) already.
    assert backend.calls == [("filter", "S1", "new.example"), ("filter", "S2", "ours.example")]
    assert result["added"] == ["S1", "S2"]
    assert result["hostnames"] == ["new.example", "ours.example", "shared.example"]
    assert drain.changed
    outcomes = {a["hostname"]: a["outcome"] for a in result["agents"]}
    assert outcomes == {
        "new.example": NEW,
        "ours.example": OURS,
        "shared.example": SHARED,
        "external.example": EXTERNAL,
        "missing.example": SKIPPED,
    }
    shared = [a for a in result["agents"] if a["hostname"] == "shared.example"][0]
    assert shared["text"] == "already taken out by another run (run-B, 5 min ago), now also by this one"
    assert [o["run"] for o in shared["others"]] == [OTHER]
    state = ledger.state()
    assert sorted(state.owners("new.example")) == [RUN]
    assert state.owners("new.example")[RUN]["reason"] == "kernel update"
    assert state.owners("ours.example")[RUN]["since_ts"] == NOW - 30 * 60  # kept, not taken again
    assert sorted(state.owners("shared.example")) == [RUN, OTHER]
    assert "external.example" not in state.agents  # never owned: the restore leaves it filtered
    assert "missing.example" not in state.agents


def test_drain_unregistered_fail_changes_nothing():
    backend = FakeBackend(snapshot(DRAIN_SLAVES, DRAIN_FILTERED))
    ledger = drain_ledger()
    before = copy.deepcopy(ledger.data)
    drain = step(Drain, backend, ledger, hostname=["new.example", "missing.example"])
    with pytest.raises(InputError, match="not registered with the master at http://m1:5050: missing.example. "):
        drain.run_step()
    assert backend.calls == []
    assert ledger.data == before


def test_drain_check_mode_calls_nothing():
    backend = FakeBackend(snapshot(DRAIN_SLAVES, DRAIN_FILTERED))
    ledger = drain_ledger()
    before = copy.deepcopy(ledger.data)
    drain = step(Drain, backend, ledger, check_mode=True, hostname=["new.example", "ours.example", "shared.example"])
    result = drain.run_step()
    assert backend.calls == []
    assert ledger.data == before
    assert result["added"] == ["S1", "S2"]  # what it would filter
    assert [a["outcome"] for a in result["agents"]] == [NEW, OURS, SHARED]
    texts = [a["text"] for a in result["agents"]]
    assert texts[0] == "check mode: would be taken out by this run", texts
    assert texts[2].startswith("already taken out by another run (") and texts[2].endswith(
        "; check mode: would be taken out by this one too"
    ), texts


def test_drain_guard_refuses_before_changing_anything():
    backend = FakeBackend(snapshot(DRAIN_SLAVES, DRAIN_FILTERED))
    ledger = drain_ledger()
    before = copy.deepcopy(ledger.data)
    drain = step(Drain, backend, ledger, hostname=["new.example"], max_filtered=5)
    with pytest.raises(InputError) as error:
        drain.run_step()
    assert str(error.value).startswith("refusing to filter new.example: ")
    assert "more than max_filtered=5 allows 5 of " in str(error.value)
    assert backend.calls == []
    assert ledger.data == before


def test_drain_failed_filter_forgets_what_it_did_not_filter():
    slaves = [slave("S1", "a.example"), slave("S2", "b.example"), slave("S3", "c.example")]
    backend = FakeBackend(snapshot(slaves, ["S3"]), fail_filter=["S2"])
    ledger = ledger_with((RUN, "c.example", "S3", 1))
    drain = step(Drain, backend, ledger, hostname=["a.example", "b.example", "c.example"])
    with pytest.raises(MesosError) as error:
        drain.run_step()
    assert error.value.msg == (
        "draining a.example, b.example, c.example failed: POST /allocator/filters for S2: HTTP 500. Filtered "
        "before the failure (they stay filtered and recorded): S1"
    )
    assert backend.calls == [("filter", "S1", "a.example")]
    state = ledger.state()
    assert sorted(state.agents) == ["a.example", "c.example"]  # b.example was not filtered: not recorded
    assert list(state.owners("c.example")) == [RUN]  # an earlier ownership is kept


# --- the restore --------------------------------------------------------------------------------------------

RESTORE_SLAVES = [
    slave("S1", "alone.example"),
    slave("S2", "shared.example"),
    slave("S3", "external.example"),
    slave("S4", "notback.example", active=False),
    slave("S5", "clean.example"),
    slave("S6", "others.example"),
    slave("S7", "legacy.example"),
]
RESTORE_FILTERED = ["S1", "S2", "S3", "S4", "S6", "S7"]
HOSTS = [s["hostname"] for s in RESTORE_SLAVES]
AWAY = {"notback.example": "disconnected"}


def restore_ledger():
    return ledger_with(
        (RUN, "alone.example", "S1", 20),
        (OTHER, "shared.example", "S2", 150),
        (RUN, "shared.example", "S2", 20),
        (RUN, "notback.example", "S4", 20),
        (OTHER, "others.example", "S6", 3),
        (LEGACY_OWNER, "legacy.example", "S7", 3000),
    )


def restore_step(check_mode=False, force=False, unfilter_outcome=UNFILTERED):
    backend = FakeBackend(snapshot(RESTORE_SLAVES, RESTORE_FILTERED), unfilter_outcome=unfilter_outcome)
    return step(Restore, backend, restore_ledger(), check_mode=check_mode, force=force, hostname=HOSTS)


def by_host(agents):
    return {a["hostname"]: a for a in agents}


def test_restore_puts_back_only_what_this_run_alone_keeps_out():
    restore = restore_step()
    agents = by_host(restore.unfilter_back(HOSTS, restore.backend.read(), AWAY))
    assert {host: a["outcome"] for host, a in agents.items()} == {
        "alone.example": "restored",
        "shared.example": "kept_shared",
        "external.example": "kept_external",
        "notback.example": "not_restored",
        "clean.example": "not_filtered",
        "others.example": "kept_shared",
        "legacy.example": "restored",
    }
    assert restore.backend.calls == [("unfilter", "S1", "alone.example"), ("unfilter", "S7", "legacy.example")]
    assert restore.changed
    assert agents["alone.example"]["text"] == "unfiltered"
    assert agents["alone.example"]["unfiltered"] == ["S1"]
    assert agents["shared.example"]["text"] == (
        "kept filtered: another run still keeps it out (run-B by tester@host, since 2023-11-14T19:43:20Z, 2.5 h ago)"
    )
    assert agents["others.example"]["text"].startswith("kept filtered: another run still keeps it out (run-B by ")
    assert agents["external.example"]["text"] == (
        "kept filtered: filtered by someone else, not by mesos.maintenance (force=true unfilters it)"
    )
    assert agents["notback.example"]["text"] == "not restored: disconnected; it stays filtered"
    assert agents["clean.example"]["text"] == "not filtered, nothing to do"
    state = restore.ledger.state()
    assert sorted(state.agents) == ["notback.example", "others.example", "shared.example"]
    assert list(state.owners("shared.example")) == [OTHER]  # only this run's ownership went
    assert list(state.owners("others.example")) == [OTHER]
    assert list(state.owners("notback.example")) == [RUN]  # not back: still this run's


def test_restore_force_unfilters_and_names_the_forced_owners():
    restore = restore_step(force=True)
    agents = by_host(restore.unfilter_back(HOSTS, restore.backend.read(), AWAY))
    assert {host: a["outcome"] for host, a in agents.items()} == {
        "alone.example": "restored",
        "shared.example": "restored",
        "external.example": "restored",
        "notback.example": "not_restored",  # force does not put back an agent that is not back
        "clean.example": "restored",
        "others.example": "restored",
        "legacy.example": "restored",
    }
    assert [call[1] for call in restore.backend.calls] == ["S1", "S2", "S3", "S6", "S7"]
    assert agents["shared.example"]["text"] == "unfiltered (forced: it was also kept out by run-B)"
    assert agents["others.example"]["text"] == "unfiltered (forced: it was also kept out by run-B)"
    assert agents["alone.example"]["text"] == "unfiltered"
    assert agents["external.example"]["text"] == "unfiltered"
    assert sorted(restore.ledger.state().agents) == ["notback.example"]


def test_restore_check_mode_calls_nothing():
    restore = restore_step(check_mode=True)
    before = copy.deepcopy(restore.ledger.data)
    agents = by_host(restore.unfilter_back(HOSTS, restore.backend.read(), AWAY))
    assert restore.backend.calls == []
    assert restore.ledger.data == before
    assert agents["alone.example"]["outcome"] == "restored"
    assert agents["alone.example"]["text"] == "check mode: would be unfiltered"
    assert agents["shared.example"]["outcome"] == "kept_shared"


def test_restore_check_mode_force_calls_nothing():
    restore = restore_step(check_mode=True, force=True)
    before = copy.deepcopy(restore.ledger.data)
    agents = by_host(restore.unfilter_back(HOSTS, restore.backend.read(), AWAY))
    assert restore.backend.calls == []
    assert restore.ledger.data == before
    assert agents["shared.example"]["text"] == "check mode: would be unfiltered (forced: it was also kept out by run-B)"


@pytest.mark.parametrize(
    ("outcome", "text", "changed"),
    [
        (
            ALREADY_BACK,
            "back in service: its filter was already gone (filter lost: leader changed or re-registration)",
            False,
        ),
        (
            UNFILTERED_ANSWER_LOST,
            "unfiltered (the first answer was lost; the retry found the filter already removed)",
            True,
        ),
    ],
)
def test_restore_unfilter_answers(outcome, text, changed):
    restore = restore_step(unfilter_outcome=outcome)
    agents = by_host(restore.unfilter_back(["alone.example"], restore.backend.read(), {}))
    assert agents["alone.example"]["outcome"] == "restored"
    assert agents["alone.example"]["text"] == text
    assert restore.changed is changed
    assert "alone.example" not in restore.ledger.state().agents  # released either way


@pytest.mark.parametrize(
    ("backend_class", "expected"),
    [
        (AllocatorBackend, {"notback.example": "disconnected", "missing.example": "not registered with the master"}),
        # Mesos shows a deactivated agent inactive: with the native backend a listed agent counts as connected.
        (NativeBackend, {"missing.example": "not registered with the master"}),
    ],
)
def test_restore_away(backend_class, expected):
    restore = restore_step()
    restore.backend.is_connected = types.MethodType(backend_class.is_connected, restore.backend)
    assert restore.away(restore.backend.read(), ["alone.example", "notback.example", "missing.example"]) == expected


# --- releasing holds ----------------------------------------------------------------------------------------


def hold(run, hostnames, lease_left, status="holding", released=False, report=None):
    return {
        "run": run,
        "hostnames": hostnames,
        "interval": 5,
        "by": BY,
        "lease_until": NOW + lease_left,
        "status": status,
        "released": released,
        "report": report,
    }


def holds_ledger():
    return ledger_with(
        holds={
            "hold-mine": hold(RUN, ["a1", "a2"], 20, report={"reasserted": [{"hostname": "a1"}], "errors": ["e1"]}),
            "hold-mine-elsewhere": hold(RUN, ["a9"], 20),
            "hold-dead": hold("run-C", ["a1"], -1, report={"ended": None, "errors": ["e2"]}),
            "hold-other": hold(OTHER, ["a2", "a3"], 20),
            "hold-other-elsewhere": hold(OTHER, ["a8"], 20),
            "hold-ended": hold("run-D", ["a1"], -100, status="ended"),
        }
    )


def test_release_holds_ends_own_and_dead_holds_only():
    ledger = holds_ledger()
    seen = []

    def sleep(seconds):
        # The hold process: it finds its release flag in the ledger and ends.
        state = ledger.state()
        seen.append({hold_id: h["released"] for hold_id, h in state.holds.items()})
        if state.holds["hold-mine"]["released"]:
            state.holds["hold-mine"]["status"] = "ended"
            state.holds["hold-mine"]["report"]["ended"] = "released"

    owner = step(Step, None, ledger, sleep=sleep)
    result = release_holds(owner, ["a1", "a2"], timeout=5)  # ends at once when right
    assert seen == [
        {
            "hold-mine": True,
            "hold-mine-elsewhere": False,
            "hold-dead": False,
            "hold-other": False,
            "hold-other-elsewhere": False,
            "hold-ended": False,
        }
    ]
    assert result["ended"] == [
        dict(hold="hold-mine", run=RUN, hostnames=["a1", "a2"], how="released", still_running=False, ended="released"),
        dict(hold="hold-dead", run="run-C", hostnames=["a1"], how="lease ran out", still_running=False, ended=None),
    ]
    assert result["others"] == [dict(hold="hold-other", run=OTHER, by=BY, hostnames=["a2", "a3"])]
    assert result["reasserted"] == [{"hostname": "a1"}]
    assert result["errors"] == ["e1", "e2"]
    assert sorted(ledger.data["holds"]) == ["hold-ended", "hold-mine-elsewhere", "hold-other", "hold-other-elsewhere"]
    assert ledger.data["holds"]["hold-other"]["released"] is False


def test_release_holds_of_all_hostnames():
    ledger = holds_ledger()
    owner = step(Step, None, ledger)
    result = release_holds(owner, [], timeout=0)
    # Nobody ends the holds here: at the timeout they are removed all the same, and said to be still running.
    assert [(e["hold"], e["how"], e["still_running"]) for e in result["ended"]] == [
        ("hold-mine", "released", True),
        ("hold-mine-elsewhere", "released", True),
        ("hold-dead", "lease ran out", False),
    ]
    assert result["others"] == []  # no hostnames named: no hold of another run is reported
    assert sorted(ledger.data["holds"]) == ["hold-ended", "hold-other", "hold-other-elsewhere"]
