"""How long `offer_filter_info` takes on a large cluster: the module process alone, as Ansible
runs it on the target, best of several runs. Target: 10,000 agents in under 2 s. Asserts nothing.

    .venv/bin/python benchmarks/bench_offer_filter_info.py [--agents 10000] [--runs 3]
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

from mesos_sim import Cluster

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agents", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, Cluster(masters=1, agents=args.agents, build="later") as cluster:
        # The module imports its module_utils as ansible_collections.mesos.maintenance.
        link = Path(tmp) / "ansible_collections" / "mesos" / "maintenance"
        link.parent.mkdir(parents=True)
        link.symlink_to(REPO)
        module_args = Path(tmp) / "args.json"
        module_args.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": {"master_url": cluster.urls}}))
        module = link / "plugins" / "modules" / "offer_filter_info.py"
        env = dict(os.environ, PYTHONPATH=tmp)
        times = []
        for _ in range(args.runs):
            started = time.perf_counter()
            proc = subprocess.run([sys.executable, str(module), str(module_args)], capture_output=True, env=env)
            times.append(time.perf_counter() - started)
            agents = len(json.loads(proc.stdout)["agents"])
        print(
            f"offer_filter_info, {agents} agents: best {min(times):.2f} s, all {', '.join(f'{t:.2f}' for t in times)} s "
            f"(load average {os.getloadavg()[0]:.1f})"
        )


if __name__ == "__main__":
    main()
