"""The real-Mesos harness itself: it installs, starts, authenticates, stops, and serves a person."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from real_mesos.harness import RealMesos
from real_mesos.install import ensure

RUN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "run.py")


def test_warm_install_is_fast(real_mesos_installation):
    started = time.monotonic()
    again = ensure()
    assert again == real_mesos_installation
    assert time.monotonic() - started < 1.0
    assert json.loads((again.root / "ready.json").read_text())["mesos"] == "1.11.0"


def test_cluster_has_its_agents(real_mesos):
    status, _, body = real_mesos.request("GET", "/version")
    assert status == 200
    assert json.loads(body)["version"] == "1.11.0"
    agents = real_mesos.agents
    assert len(agents) == 2
    assert len({a["id"] for a in agents}) == 2
    assert all(a["active"] for a in agents)


def test_agents_share_the_masters_hostname_by_default(real_mesos):
    assert set(real_mesos.agent_hostnames.values()) == {"127.0.0.1"}


def test_agent_hostname_prefix_gives_each_agent_its_own_hostname(real_mesos_factory):
    mesos = real_mesos_factory(agents=4, agent_hostname_prefix="agent")
    hostnames = mesos.agent_hostnames
    assert sorted(hostnames.values()) == ["agent-1", "agent-2", "agent-3", "agent-4"]
    # Each is a registered, active agent in the master's registry (v1 GET_AGENTS), and the agent
    # itself answers with that name (its own /slave(N)/state).
    status, _, body = mesos.request("POST", "/master/api/v1", body={"type": "GET_AGENTS"})
    assert status == 200
    registered = {
        a["agent_info"]["id"]["value"]: (a["agent_info"]["hostname"], a["active"])
        for a in json.loads(body)["get_agents"]["agents"]
    }
    assert registered == {agent_id: (hostname, True) for agent_id, hostname in hostnames.items()}
    for n in range(1, 5):
        status, _, body = mesos.request("GET", f"/slave({n})/state")
        assert status == 200
        state = json.loads(body)
        assert hostnames[state["id"]] == state["hostname"]
    # The master keeps its own: /master/redirect must name a host that resolves.
    status, headers, _ = mesos.request("GET", "/master/redirect")
    assert (status, headers["Location"]) == (307, f"//127.0.0.1:{mesos.port}")


def test_authentication(real_mesos_factory):
    mesos = real_mesos_factory(agents=1, principal="ops", secret="s3cret", readonly_auth=True)
    assert mesos.request("GET", "/master/state")[0] == 401
    assert mesos.request("GET", "/master/state", auth=True)[0] == 200
    assert len(mesos.agents) == 1


def test_stop_ends_the_cluster(real_mesos_installation):
    mesos = RealMesos(agents=1).start()
    process, port = mesos.process, mesos.port
    mesos.stop()
    assert process.poll() is not None
    assert mesos.tmp is None
    RealMesos(agents=1, port=port).start().stop()  # the port is free again


def test_run_script_serves_until_terminated(real_mesos_installation, tmp_path):
    state_file = tmp_path / "state.json"
    process = subprocess.Popen(
        [sys.executable, RUN, "--agents", "1", "--state-file", str(state_file)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not state_file.exists():
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.1)
        info = json.loads(state_file.read_text())
        assert info["version"] == "1.11.0"
        assert len(info["agents"]) == 1
        assert info["leader"] == info["masters"][0]
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert json.loads(out)["leader"] == info["leader"]
