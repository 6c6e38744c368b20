"""The collection's modules with backend=native on both peers: every call the native backend makes
(GET_AGENTS, DEACTIVATE_AGENT, REACTIVATE_AGENT, DRAIN_AGENT with and without mark_gone, and the
state-summary offer_filter_info and wait read) runs through `ansible-playbook` against the simulator
in its 1.11 mode and against a real Mesos 1.11.0 master, and must give the same results. Each test
leaves the module's shared peer as it found it (every agent active)."""

from __future__ import annotations

import json
import subprocess

import pytest
import yaml
from contract_peers import PRINCIPAL, SECRET
from functional.maintenance_helpers import ANSIBLE_PLAYBOOK, ansible_env, collections_dir

DRAIN_AND_WAIT = {"backend": "native", "drain": True, "wait": True, "wait_sleep": 0.1, "wait_timeout": 30}


@pytest.fixture(scope="module")
def run_module(tmp_path_factory):
    """`run_module(peer, module, check=False, **args)` -> the task's result (one ansible-playbook run)."""
    root = tmp_path_factory.mktemp("native-contract")
    collections = collections_dir(root / "collections")
    counter = [0]

    def run(peer, module, check=False, **args):
        args.setdefault("master_url", [f"http://127.0.0.1:{peer.port}"])
        args.setdefault("timeout", 10)
        task = {"name": "t", f"mesos.maintenance.{module}": args, "ignore_errors": True}
        play = [{"hosts": "localhost", "gather_facts": False, "tasks": [task]}]
        counter[0] += 1
        playbook = root / f"play-{counter[0]}.yml"
        playbook.write_text(yaml.safe_dump(play))
        command = [ANSIBLE_PLAYBOOK, "-i", "localhost,", "-c", "local", str(playbook)] + (["--check"] if check else [])
        results = root / f"results-{counter[0]}.json"
        env = ansible_env(root, collections, results)
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
        assert results.exists(), done.stdout[-3000:] + done.stderr[-3000:]
        return json.loads(results.read_text())[-1]

    return run


def states(peer, credentials=None) -> dict:
    """Each agent's (active, deactivated, drain state) from GET_AGENTS."""
    return {
        agent_id: (a["active"], a["deactivated"], (a.get("drain_info") or {}).get("state"))
        for agent_id, a in peer.agents_v1(credentials).items()
    }


def ok(result, changed):
    assert result["_status"] == "ok", result
    assert result["changed"] is changed, result
    assert result["backend"] == "native", result


def test_deactivate_and_reactivate(peer, run_module):
    first, second = peer.agent_ids[:2]
    check = run_module(peer, "offer_filter", check=True, backend="native", agent_id=[first])
    ok(check, True)
    assert states(peer)[first] == (True, False, None)
    result = run_module(peer, "offer_filter", backend="native", agent_id=[first])
    ok(result, True)
    assert result["added"] == [first]
    assert result["requests"] == 3  # /master/redirect, GET_AGENTS, DEACTIVATE_AGENT
    assert [f["agent_id"] for f in result["filters"]] == [first]
    assert states(peer) == {first: (False, True, None), second: (True, False, None)}
    ok(run_module(peer, "offer_filter", backend="native", agent_id=[first]), False)

    check = run_module(peer, "offer_filter", check=True, backend="native", agent_id=[first], state="absent")
    ok(check, True)
    assert states(peer)[first] == (False, True, None)
    result = run_module(peer, "offer_filter", backend="native", agent_id=[first, second], state="absent")
    ok(result, True)
    assert result["removed"] == [first]  # the other one was never deactivated: left alone
    assert result["filters"] == []
    assert states(peer) == {first: (True, False, None), second: (True, False, None)}
    ok(run_module(peer, "offer_filter", backend="native", agent_id=[first], state="absent"), False)


def test_exclusive(peer, run_module):
    first, second = peer.agent_ids[:2]
    ok(run_module(peer, "offer_filter", backend="native", agent_id=[first]), True)
    result = run_module(peer, "offer_filter", backend="native", agent_id=[second], exclusive=True)
    ok(result, True)
    assert (result["added"], result["removed"]) == ([second], [first])
    assert states(peer) == {first: (True, False, None), second: (False, True, None)}
    ok(run_module(peer, "offer_filter", backend="native", exclusive=True), True)
    assert states(peer) == {first: (True, False, None), second: (True, False, None)}


def test_drain_without_tasks_and_info(peer, run_module):
    first, second = peer.agent_ids[:2]
    result = run_module(peer, "offer_filter", agent_id=[first], drain_grace_period=2, **DRAIN_AND_WAIT)
    ok(result, True)
    assert result["filters"] == [
        {"agent_id": first, "hostname": result["filters"][0]["hostname"], "drain_state": "DRAINED"}
    ]
    assert result["active_tasks"] == {first: 0}
    assert states(peer)[first] == (False, True, "DRAINED")
    # The master read the grace period: sent as a google.protobuf.Duration, reported as a DurationInfo.
    expected = {"max_grace_period": {"nanoseconds": 2_000_000_000}, "mark_gone": False}
    assert peer.agents_v1()[first]["drain_info"]["config"] == expected
    ok(run_module(peer, "offer_filter", backend="native", agent_id=[first], drain=True), False)
    for backend in ("native", "auto"):
        info = run_module(peer, "offer_filter_info", backend=backend)
        ok(info, False)
        reports = {a["agent_id"]: a for a in info["agents"]}
        assert (reports[first]["deactivated"], reports[first]["drain_state"], reports[first]["filtered"]) == (
            True,
            "DRAINED",
            True,
        )
        assert (reports[second]["deactivated"], reports[second]["drain_state"]) == (False, None)
        assert [f["agent_id"] for f in info["filters"]] == [first]
    ok(run_module(peer, "offer_filter", backend="native", agent_id=[first], state="absent"), True)
    assert states(peer)[first] == (True, False, None)


def test_auto_picks_native(peer, run_module):
    first = peer.agent_ids[0]
    result = run_module(peer, "offer_filter", agent_id=[first])
    ok(result, True)
    assert result["requests"] == 5  # redirect, /allocator/filters 404, /version, GET_AGENTS, DEACTIVATE_AGENT
    ok(run_module(peer, "offer_filter", agent_id=[first], state="absent"), True)


def test_unknown_agent(peer, run_module):
    result = run_module(peer, "offer_filter", backend="native", agent_id=["no-such-agent"])
    assert result["_status"] == "failed" and "unknown agent(s): agent id no-such-agent" in result["msg"], result
    assert all(state == (True, False, None) for state in states(peer).values())


def test_drain_mark_gone(peer_factory, run_module):
    peer = peer_factory(agents=2, fresh=True)
    first, second = peer.agent_ids
    result = run_module(peer, "offer_filter", agent_id=[first], mark_gone=True, **DRAIN_AND_WAIT)
    ok(result, True)
    assert result["gone"] == [first]
    assert any("permanent" in warning for warning in result["warnings"])
    assert list(states(peer)) == [second]


def test_credentials(peer_factory, run_module):
    peer = peer_factory(auth="readwrite")
    first = peer.agent_ids[0]
    result = run_module(peer, "offer_filter", backend="native", agent_id=[first])
    assert result["_status"] == "failed" and "401 Unauthorized" in result["msg"], result
    result = run_module(peer, "offer_filter", backend="native", agent_id=[first], principal=PRINCIPAL, secret=SECRET)
    ok(result, True)
    assert states(peer, True)[first] == (False, True, None)
    ok(
        run_module(
            peer, "offer_filter", backend="native", agent_id=[first], state="absent", principal=PRINCIPAL, secret=SECRET
        ),
        True,
    )
