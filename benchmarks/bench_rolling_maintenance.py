"""Rolling maintenance benchmark: `mesos.maintenance.rolling_maintenance` over 200 simulated agents in
batches of 20, with tasks that finish at once and a maintenance step that does nothing, so that what is
measured is the playbook's own cost (Ansible and API overhead), not waiting.

    .venv/bin/python benchmarks/bench_rolling_maintenance.py [--agents 200] [--serial 20] [--build 0afdd8b] [--no-hold]

Prints the total time, and per batch its time, the drain wait, and the time that is not waiting. --no-hold runs
without the background hold of each batch (mesos_maintenance_hold=false), to tell its cost.
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
BIN = Path(sys.executable).parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--serial", type=int, default=20)
    parser.add_argument("--build", default="0afdd8b", choices=["0afdd8b", "later"])
    parser.add_argument("--forks", type=int, default=20)
    parser.add_argument("--no-hold", dest="hold", action="store_false", help="no background hold during the step")
    args = parser.parse_args()

    with (
        tempfile.TemporaryDirectory(prefix="bench-rolling-") as tmp,
        Cluster(masters=3, agents=args.agents, build=args.build, tasks=args.agents, task_duration=0.0) as cluster,
    ):
        work = Path(tmp)
        link = work / "collections" / "ansible_collections" / "mesos" / "maintenance"
        link.parent.mkdir(parents=True)
        link.symlink_to(REPO, target_is_directory=True)
        hosts = {a["hostname"]: None for a in cluster.agents}
        inventory = {
            "all": {
                "vars": {
                    "ansible_connection": "local",
                    "ansible_python_interpreter": sys.executable,
                    "mesos_master_url": ",".join(cluster.urls),
                    "agent_maintenance_memory_file": str(work / "held-agents.json"),
                    "agent_maintenance_wait_sleep": 0.2,
                    "agent_maintenance_registration_sleep": 0.2,
                    "agent_maintenance_max_filtered": str(args.serial),
                },
                "children": {"mesos_agents": {"hosts": hosts}},
            }
        }
        (work / "inventory.json").write_text(json.dumps(inventory))
        extra = {
            "mesos_maintenance_agents": "mesos_agents",
            "mesos_maintenance_serial": str(args.serial),
            "mesos_maintenance_tasks_file": "tasks/pause.yml",
            "mesos_maintenance_pause": 0,
            "mesos_maintenance_hold": args.hold,
        }
        env = dict(os.environ)
        env.update(
            ANSIBLE_COLLECTIONS_PATH=str(work / "collections"),
            ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false",
            ANSIBLE_FORKS=str(args.forks),
            ANSIBLE_LOCALHOST_WARNING="false",
            ANSIBLE_DEPRECATION_WARNINGS="false",
            # the test suite's callback writes every task result to a JSON file
            ANSIBLE_STDOUT_CALLBACK="collect_results",
            ANSIBLE_CALLBACK_PLUGINS=str(REPO / "tests" / "functional" / "callback_plugins"),
            COLLECT_RESULTS_FILE=str(work / "results.json"),
            ANSIBLE_HOME=str(work / "home"),
            PATH=f"{BIN}:{env.get('PATH', '')}",
        )
        cluster.reset_log()
        started = time.monotonic()
        done = subprocess.run(
            [
                str(BIN / "ansible-playbook"),
                "-i",
                str(work / "inventory.json"),
                "mesos.maintenance.rolling_maintenance",
                "-e",
                json.dumps(extra),
            ],
            env=env,
            capture_output=True,
            text=True,
        )
        total = time.monotonic() - started
        if done.returncode != 0:
            print(done.stdout[-5000:], done.stderr[-3000:])
            return 1
        results = json.loads((work / "results.json").read_text())
        summary = next(r["msg"] for r in results if r["_task"] == "Summary of the rolling maintenance")
        batches = [line for line in summary if line.startswith("batch ")]
        print(
            f"rolling maintenance of {args.agents} agents in batches of {args.serial} ({args.build}, "
            f"{'with' if args.hold else 'without'} the hold): "
            f"{total:.1f} s in all, {len(cluster.request_log)} HTTP requests, filters left: {len(cluster.filters())}"
        )
        overheads = []
        for line in batches:
            seconds = float(line.split(" in ", 1)[1].split(" s", 1)[0])
            wait = float(line.split("drained in ", 1)[1].split(" s", 1)[0]) if "drained in " in line else 0.0
            overheads.append(seconds - wait)
            print(
                f"  {line.split(' (', 1)[0]}: {seconds:5.1f} s, drain wait {wait:5.2f} s, not waiting {seconds - wait:5.1f} s"
            )
        if overheads:
            print(
                f"time per batch that is not waiting: mean {sum(overheads) / len(overheads):.1f} s, "
                f"max {max(overheads):.1f} s"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
