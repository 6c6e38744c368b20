# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark: one `offer_filter` with backend=native that deactivates N agents, then one that reactivates them,
against a real Mesos 1.11.0 master (tests/real_mesos, local mode, N real agents) and against the simulator in its
1.11.0 mode (one master, N agents, no allocator module).

    .venv/bin/python benchmarks/bench_offer_filter_native.py [--agents 100] [--skip-real]

For each peer it prints
(b) the wall time of one ansible-playbook run with the two tasks (start-up included), and the HTTP requests each
    task sent (N+2: /master/redirect, GET_AGENTS, one call per agent);
(c) the same calls made in-process through the module's own backend (NativeBackend: GET_AGENTS, N
    DEACTIVATE_AGENT, GET_AGENTS, N REACTIVATE_AGENT), without Ansible.
If the real master cannot start N agents, it tries half as many and says so. Asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_offer_filter import BIN, REPO, ansible_env

from mesos_sim import Cluster

sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "collections"))

from real_mesos.harness import RealMesos, StartError

from ansible_collections.mesos.maintenance.plugins.module_utils._backends import NativeBackend
from ansible_collections.mesos.maintenance.plugins.module_utils._client import MesosClientBase


class Client(MesosClientBase):
    def warn(self, msg):
        print(f"warning: {msg}", file=sys.stderr)


def playbook_run(workdir, url, ids):
    """Both tasks in one ansible-playbook run: (wall seconds, requests per task)."""
    base = {"master_url": [url], "agent_id": ids, "backend": "native"}
    tasks = [
        {"name": "deactivate", "mesos.maintenance.offer_filter": dict(base, state="present")},
        {"name": "reactivate", "mesos.maintenance.offer_filter": dict(base, state="absent")},
    ]
    playbook = workdir / "native.yml"
    playbook.write_text(json.dumps([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}]))
    results = workdir / "results.json"
    env = ansible_env(workdir)
    env.update(
        ANSIBLE_STDOUT_CALLBACK="collect_results",
        ANSIBLE_CALLBACK_PLUGINS=str(REPO / "tests" / "functional" / "callback_plugins"),
        COLLECT_RESULTS_FILE=str(results),
    )
    started = time.perf_counter()
    proc = subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", "localhost,", "-c", "local", str(playbook)],
        env=env,
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - started
    done = json.loads(results.read_text()) if results.exists() else []
    if proc.returncode != 0 or len(done) != 2 or not all(r["changed"] for r in done):
        print(proc.stdout[-3000:], proc.stderr[-3000:], file=sys.stderr)
        raise SystemExit("ansible-playbook failed")
    return elapsed, [r["requests"] for r in done]


def in_process(url, ids):
    """The module's backend alone: (seconds, requests)."""
    client = Client({"master_url": [url], "timeout": 30, "leader_timeout": 10})
    backend = NativeBackend(client)
    started = time.perf_counter()
    client.get_leader()
    snapshot = backend.read()
    assert not snapshot.filters, "agents are deactivated already"
    for agent_id in ids:
        backend.filter(agent_id)
    assert len(backend.read().filters) == len(ids)
    for agent_id in ids:
        assert backend.unfilter(agent_id)
    elapsed = time.perf_counter() - started
    client.close()
    return elapsed, client.request_count


def measure(name, url, ids, workdir):
    b, per_task = playbook_run(workdir, url, ids)
    c, requests = in_process(url, ids)
    return name, len(ids), b, per_task, c, requests


def start_real(agents):
    """A real master with `agents` agents, or with fewer when that many do not start."""
    while agents >= 1:
        try:
            started = time.perf_counter()
            mesos = RealMesos(agents=agents, startup_timeout=180).start()
            print(f"real Mesos 1.11.0: {agents} agents up in {time.perf_counter() - started:.1f}s", flush=True)
            return mesos
        except StartError as exc:
            print(f"real Mesos 1.11.0 did not start with {agents} agents: {str(exc).splitlines()[0]}", flush=True)
            agents //= 2
    raise SystemExit("real Mesos does not start")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agents", type=int, default=100)
    parser.add_argument("--skip-real", action="store_true", help="only the simulator")
    args = parser.parse_args()
    rows = []
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-native-") as tmp:
        workdir = Path(tmp)
        if not args.skip_real:
            mesos = start_real(args.agents)
            try:
                rows.append(measure("real Mesos 1.11.0", mesos.url, mesos.agent_ids, workdir))
            finally:
                mesos.stop()
        with Cluster(masters=1, agents=args.agents, build=None, version="1.11.0") as cluster:
            rows.append(measure("simulator 1.11.0", cluster.leader_url, cluster.agent_ids, workdir))
    print()
    print(f"{'peer':<18} {'agents':>6} {'(b) playbook':>13} {'requests/task':>14} {'(c) backend':>12} {'requests':>9}")
    for name, n, b, per_task, c, requests in rows:
        tasks = " + ".join(str(x) for x in per_task)
        print(f"{name:<18} {n:>6} {b:>12.2f}s {tasks:>14} {c:>11.2f}s {requests:>9}")


if __name__ == "__main__":
    main()
