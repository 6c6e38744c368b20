# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark: the checks of many agent names, and the size of the message that names the unknown ones.

    .venv/bin/python benchmarks/bench_name_checks.py [--sizes 10000,30000] [--agents 100]

For each size N: the time `validate_names` and `resolve_targets` take for N hostnames in-process (against a
cluster of --agents agents, so all but those are unknown), then one `mesos.maintenance.offer_filter` task with the
N hostnames against a simulated cluster (ansible-playbook start-up included) and the length of its failure message.
Asserts nothing. Targets (issue 13, item 6): linear checks (30,000 names about 3 times 10,000, not 9); a message
that lists the first 20 names and counts the rest (it was 328,982 characters for 10,000 names).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mesos_sim import Cluster

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "functional"))

from maintenance_helpers import ANSIBLE_PLAYBOOK, ansible_env, collections_dir, finish_run


def in_process(names, slaves):
    """Seconds for validate_names and for resolve_targets of `names` (imported through the collection path)."""
    from ansible_collections.mesos.maintenance.plugins.module_utils._filters import (
        AgentIndex,
        resolve_targets,
        validate_names,
    )

    started = time.perf_counter()
    valid = validate_names(names, "hostname")
    validated = time.perf_counter() - started
    agents = AgentIndex(slaves)
    started = time.perf_counter()
    resolve_targets([], valid, agents, [])
    return validated, time.perf_counter() - started


def module_message(workdir, collections, cluster, names):
    """The unknown-agents failure of offer_filter for `names`: (message length, seconds for the playbook)."""
    task = {"mesos.maintenance.offer_filter": {"master_url": list(cluster.urls), "hostname": names}}
    playbook = workdir / "names.yml"
    playbook.write_text(json.dumps([{"hosts": "localhost", "gather_facts": False, "tasks": [task]}]))
    results = workdir / "results.json"
    command = [ANSIBLE_PLAYBOOK, "-i", "localhost,", "-c", "local", str(playbook)]
    started = time.monotonic()
    proc = subprocess.Popen(
        command,
        env=ansible_env(workdir, collections, results),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    run = finish_run(proc, results, started, timeout=600)
    if run.result.get("_status") != "failed":
        raise SystemExit(f"offer_filter did not fail on unknown agents\n{run.output}")
    return len(run.result["msg"]), run.elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,30000")
    parser.add_argument("--agents", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, Cluster(masters=1, agents=args.agents) as cluster:
        workdir = Path(tmp)
        collections = collections_dir(workdir / "collections")
        sys.path.insert(0, str(collections))
        slaves = [{"id": agent_id, "hostname": f"agent-{n}"} for n, agent_id in enumerate(cluster.agent_ids)]
        print(f"{'names':>7}  {'validate_names':>14}  {'resolve_targets':>15}  {'message':>16}  {'playbook':>8}")
        for size in (int(s) for s in args.sizes.split(",")):
            names = [f"ghost-{n}.example.com" for n in range(size)]
            validated, resolved = in_process(names, slaves)
            length, elapsed = module_message(workdir, collections, cluster, names)
            print(f"{size:>7}  {validated:>12.4f} s  {resolved:>13.4f} s  {length:>6} characters  {elapsed:>6.1f} s")


if __name__ == "__main__":
    main()
