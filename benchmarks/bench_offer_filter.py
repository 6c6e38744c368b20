# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark: filter then unfilter N agents three ways, on one simulated cluster, in one run.

    .venv/bin/python benchmarks/bench_offer_filter.py [--sizes 100,1000] [--build later]

(a) an `ansible.builtin.uri` loop as users write it today (one POST task item per agent, then one DELETE per agent),
(b) one `mesos.maintenance.offer_filter` task to filter and one to unfilter (ansible-playbook start-up included),
(c) a plain `requests` script (its own Python process) doing the minimum calls: one POST and one DELETE per agent
    to the leader it is given.

Prints the wall times, the ratios a/b and b/c, and the HTTP requests (b) sent per task. Asserts nothing.
Targets (issue 4): at 1,000 agents (b) is at least 50 times faster than (a), within 2 times of (c), and sends at most
N+3 requests per task.
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

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

PLAIN_SCRIPT = r"""
import json, sys, requests
leader, ids = sys.argv[1], json.load(open(sys.argv[2]))
session = requests.Session()
for agent_id in ids:
    r = session.post(leader + "/allocator/filters", data=json.dumps({"agentId": agent_id}),
                     headers={"Content-Type": "application/json"})
    r.raise_for_status()
for agent_id in ids:
    r = session.delete(leader + "/allocator/filters", params={"agentId": agent_id})
    r.raise_for_status()
"""


def ansible_env(workdir):
    collections = workdir / "collections"
    link = collections / "ansible_collections" / "mesos" / "maintenance"
    if not link.exists():
        link.parent.mkdir(parents=True)
        link.symlink_to(REPO, target_is_directory=True)
    env = dict(os.environ)
    env.update(
        ANSIBLE_COLLECTIONS_PATH=str(collections),
        ANSIBLE_PYTHON_INTERPRETER=sys.executable,
        ANSIBLE_LOCALHOST_WARNING="false",
        ANSIBLE_INVENTORY_UNPARSED_WARNING="false",
        ANSIBLE_NOCOLOR="1",
    )
    return env


def run_playbook(workdir, name, tasks):
    playbook = workdir / f"{name}.yml"
    play = [{"hosts": "localhost", "gather_facts": False, "tasks": tasks}]
    playbook.write_text(json.dumps(play))
    started = time.perf_counter()
    proc = subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", "localhost,", "-c", "local", str(playbook)],
        env=ansible_env(workdir),
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        print(proc.stdout[-3000:], proc.stderr[-3000:], file=sys.stderr)
        raise SystemExit(f"{name}: ansible-playbook failed")
    return elapsed


def uri_loop(workdir, cluster, ids):
    leader = cluster.leader_url
    vars_file = workdir / "agents.json"
    vars_file.write_text(json.dumps({"agent_ids": ids}))
    tasks = [
        {"name": "load agent ids", "ansible.builtin.include_vars": {"file": str(vars_file)}},
        {
            "name": "filter",
            "ansible.builtin.uri": {
                "url": f"{leader}/allocator/filters",
                "method": "POST",
                "body_format": "json",
                "body": {"agentId": "{{ item }}"},
            },
            "loop": "{{ agent_ids }}",
        },
        {
            "name": "unfilter",
            "ansible.builtin.uri": {"url": f"{leader}/allocator/filters?agentId={{{{ item }}}}", "method": "DELETE"},
            "loop": "{{ agent_ids }}",
        },
    ]
    return run_playbook(workdir, f"uri-{len(ids)}", tasks)


def module_tasks(workdir, cluster, ids):
    base = {"master_url": cluster.urls, "agent_id": ids}
    tasks = [
        {"name": "filter", "mesos.maintenance.offer_filter": dict(base, state="present")},
        {"name": "unfilter", "mesos.maintenance.offer_filter": dict(base, state="absent")},
    ]
    cluster.reset_log()
    elapsed = run_playbook(workdir, f"module-{len(ids)}", tasks)
    log = list(cluster.request_log)
    return elapsed, log


def plain_requests(workdir, cluster, ids):
    script = workdir / "plain.py"
    script.write_text(PLAIN_SCRIPT)
    ids_file = workdir / f"ids-{len(ids)}.json"
    ids_file.write_text(json.dumps(ids))
    started = time.perf_counter()
    subprocess.run([sys.executable, str(script), cluster.leader_url, str(ids_file)], check=True)
    return time.perf_counter() - started


def split_requests(log):
    """Requests per task: the second task starts at its own /master/redirect."""
    starts = [i for i, entry in enumerate(log) if entry[2].startswith("/master/redirect")]
    if len(starts) < 2:
        return [len(log)]
    return [starts[1] - starts[0], len(log) - starts[1]]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100,1000", help="comma separated agent counts (default 100,1000)")
    parser.add_argument("--build", default="later", choices=["0afdd8b", "later"])
    parser.add_argument("--skip-uri", action="store_true", help="skip (a), the slow uri loop")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    rows = []
    with (
        tempfile.TemporaryDirectory(prefix="bench-offer-filter-") as tmp,
        Cluster(masters=3, agents=max(sizes), build=args.build) as cluster,
    ):
        workdir = Path(tmp)
        all_ids = cluster.agent_ids
        print(
            f"cluster: 3 masters, {len(all_ids)} agents, allocator build {args.build}; Python {sys.version.split()[0]}",
            flush=True,
        )
        for n in sizes:
            ids = all_ids[:n]
            a = None if args.skip_uri else uri_loop(workdir, cluster, ids)
            assert not cluster.filters()
            b, log = module_tasks(workdir, cluster, ids)
            assert not cluster.filters()
            c = plain_requests(workdir, cluster, ids)
            assert not cluster.filters()
            rows.append((n, a, b, c, split_requests(log)))
            print(f"  N={n}: a={'-' if a is None else f'{a:.2f}s'} b={b:.2f}s c={c:.2f}s", flush=True)

    print()
    print(
        f"{'agents':>7} {'(a) uri loop':>13} {'(b) module':>11} {'(c) requests':>13} {'a/b':>7} {'b/c':>6} "
        f"{'(b) requests per task (limit N+3)':>34}"
    )
    for n, a, b, c, per_task in rows:
        a_text = "-" if a is None else f"{a:.2f}s"
        ab = "-" if a is None else f"{a / b:.1f}"
        print(
            f"{n:>7} {a_text:>13} {b:>10.2f}s {c:>12.2f}s {ab:>7} {b / c:>6.2f} "
            f"{' + '.join(str(x) for x in per_task) + f' (N+3 = {n + 3})':>34}"
        )


if __name__ == "__main__":
    main()
