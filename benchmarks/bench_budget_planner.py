"""How long planning a rolling maintenance around a disruption budget takes: the /master/state document of a
large cluster parsed, its placement grouped (Placement) and every agent packed into batches (plan_batches), as
maintenance_run does with batching=budget. Target: 10,000 agents and 2,000 groups in under 2 s. Asserts nothing.

    .venv/bin/python benchmarks/bench_budget_planner.py [--agents 10000] [--groups 2000] [--serial 100] [--runs 3]

Each group (a Marathon app) has 2 to 20 running tasks on random agents; the budget is 1 task per group (the
tightest) and 25%; --out-percent of the agents are already out of service (their groups have less budget left: with
1 per group, every agent that shares a group with one of them is refused); a second line per budget plans one rack at
a time.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "collections"))  # the collection link make venv creates (collections/ansible_collections)

from ansible_collections.mesos.maintenance.plugins.module_utils._budget import (  # noqa: E402
    Budget,
    Placement,
    plan_batches,
)


def cluster_state(agents: int, groups: int, rng: random.Random) -> str:
    slaves = [
        {"id": f"S{n}", "hostname": f"agent-{n}.example.com", "active": True, "attributes": {"rack": f"r{n % 40}"}}
        for n in range(agents)
    ]
    tasks = [
        {"id": f"app-{g}.{k}", "name": f"app-{g}", "slave_id": f"S{rng.randrange(agents)}", "state": "TASK_RUNNING"}
        for g in range(groups)
        for k in range(rng.randint(2, 20))
    ]
    return json.dumps({"slaves": slaves, "frameworks": [{"name": "marathon", "id": "F1", "tasks": tasks}]})


def plan_once(text: str, parsed, serial: int, out: set, attribute: str | None):
    started = time.perf_counter()
    placement = Placement(json.loads(text), "task")
    hostnames = sorted(placement.ids_by_hostname)
    batches, blocked = plan_batches(hostnames, Budget(parsed, placement), out, serial, attribute)
    return time.perf_counter() - started, batches, blocked, sum(placement.running.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agents", type=int, default=10_000)
    parser.add_argument("--groups", type=int, default=2_000)
    parser.add_argument("--serial", type=int, default=100)
    parser.add_argument("--out-percent", type=float, default=0.0)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    rng = random.Random(1)
    text = cluster_state(args.agents, args.groups, rng)
    out = {f"S{n}" for n in rng.sample(range(args.agents), int(args.agents * args.out_percent / 100))}
    print(
        f"{args.agents} agents, {args.groups} groups, batches of at most {args.serial}, {len(out)} agents out; "
        f"/master/state {len(text) / 1e6:.1f} MB"
    )
    for parsed in ((1, False), (25.0, True)):
        for attribute in (None, "rack"):
            runs = [plan_once(text, parsed, args.serial, out, attribute) for _ in range(args.runs)]
            best = min(r[0] for r in runs)
            _, batches, blocked, running = runs[0]
            label = f"{parsed[0]}{'%' if parsed[1] else ''}"
            print(
                f"budget {label:>4} per group{', one rack at a time' if attribute else '':22}: best of {args.runs} "
                f"{best:.2f} s; {running} running tasks, {len(batches)} batches, {len(blocked)} agents refused"
            )


if __name__ == "__main__":
    main()
