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
