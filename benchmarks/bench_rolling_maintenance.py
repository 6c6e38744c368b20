# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Rolling maintenance benchmark: a naive `ansible.builtin.uri` rolling maintenance against ours, batch by batch.

    .venv/bin/python benchmarks/bench_rolling_maintenance.py [--agents 200] [--serial 20] [--build later]
        [--forks 20] [--no-hold] [--only naive|ours] [--collection DIR] [--verbose]

One simulated cluster (3 masters, tasks that finish at once), one inventory, two runs one after the other:

naive  benchmarks/naive_rolling.yml, the way operators do it today: one play with `serial`; per batch a GET of
       /master/redirect for the leader, a `uri` loop POSTing {"hostname": ...} to /allocator/filters for each host
       of the batch, the 1 s maintenance step on each host, a `uri` loop DELETEing each filter.
ours   mesos.maintenance.rolling_maintenance with tasks/pause.yml (mesos_maintenance_pause=1), the same batch size,
       the hold on unless --no-hold: capacity guard, drain and wait, hold, maintenance, re-registration check,
       restore, summary.

Both run with the default stdout callback (its output is only counted) and a small aggregate callback, written
by this script, that timestamps every play start: ansible-playbook starts the play again for each serial batch,
so a batch lasts from its play start to the next play start (or the end of the run). A batch is a play start
whose results name agent hosts; this depends on no task name.

Prints, for each run: total seconds, batches, per-batch seconds (mean, min, max), the HTTP requests the cluster
saw, filters left, the lines printed; then ours/naive per batch. Target: ours <= 1.5 times naive per batch.
Asserts that the naive run really filtered and unfiltered each agent once and left no filter.
"""

from __future__ import annotations

import argparse
import collections
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mesos_sim import Cluster

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
TARGET = 1.5

CALLBACK = r'''
from __future__ import annotations

DOCUMENTATION = """
name: batch_timer
type: aggregate
short_description: Timestamps of plays, tasks and results, one JSON line each, to E(BATCH_TIMER_FILE)
description:
  - Written by benchmarks/bench_rolling_maintenance.py.
"""

import json
import os
import time

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "batch_timer"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self._out = open(os.environ["BATCH_TIMER_FILE"], "a", encoding="utf-8")

    def _write(self, **event):
        event["t"] = time.time()
        self._out.write(json.dumps(event) + "\n")
        self._out.flush()

    def v2_playbook_on_play_start(self, play):
        self._write(event="play", play=play.get_name())

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._write(event="task", task=task.get_name())

    def v2_playbook_on_handler_task_start(self, task):
        self._write(event="task", task=task.get_name())

    def _result(self, result, status):
        host = getattr(result, "host", None) or result._host
        self._write(event="result", status=status, host=host.get_name())

    def v2_runner_on_ok(self, result, **kwargs):
        self._result(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._result(result, "failed")

    def v2_runner_on_skipped(self, result):
        self._result(result, "skipped")

    def v2_runner_on_unreachable(self, result):
        self._result(result, "unreachable")

    def v2_playbook_on_stats(self, stats):
        self._write(event="stats")
        self._out.close()
'''


def batches(events: list[dict], agents: set[str]) -> list[tuple[float, set[str]]]:
    """(seconds, hosts) of each serial batch: the segments between play starts whose results name agents."""
    found = []
    starts = [i for i, e in enumerate(events) if e["event"] == "play"]
    for n, i in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else len(events) - 1
        hosts = {e["host"] for e in events[i:end] if e["event"] == "result"} & agents
        if hosts:
            found.append((events[end]["t"] - events[i]["t"], hosts))
    return found


def describe(seconds: list[float]) -> str:
    if not seconds:
        return "no batches"
    return f"mean {sum(seconds) / len(seconds):.2f} s, min {min(seconds):.2f} s, max {max(seconds):.2f} s"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--serial", type=int, default=20)
    parser.add_argument("--build", default="later", choices=["0afdd8b", "later"])
    parser.add_argument("--forks", type=int, default=20)
    parser.add_argument("--no-hold", dest="hold", action="store_false", help="ours without the background hold")
    parser.add_argument("--only", choices=["naive", "ours"], help="run only one of the two playbooks")
    parser.add_argument("--verbose", action="store_true", help="print each batch's seconds")
    parser.add_argument(
        "--collection",
        type=Path,
        default=REPO,
        help="the collection tree ours runs from (default: this repository; e.g. a `git archive` of a commit)",
    )
    args = parser.parse_args()
    collection = args.collection.resolve()
    runs = [args.only] if args.only else ["naive", "ours"]

    with (
        tempfile.TemporaryDirectory(prefix="bench-rolling-") as tmp,
        Cluster(masters=3, agents=args.agents, build=args.build, tasks=args.agents, task_duration=0.0) as cluster,
    ):
        work = Path(tmp)
        link = work / "collections" / "ansible_collections" / "mesos" / "maintenance"
        link.parent.mkdir(parents=True)
        link.symlink_to(collection, target_is_directory=True)
        (work / "callback_plugins").mkdir()
        (work / "callback_plugins" / "batch_timer.py").write_text(CALLBACK)
        agents = {a["hostname"] for a in cluster.agents}
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
                "children": {"mesos_agents": {"hosts": dict.fromkeys(sorted(agents))}},
            }
        }
        (work / "inventory.json").write_text(json.dumps(inventory))
        commands = {
            "naive": (
                str(REPO / "benchmarks" / "naive_rolling.yml"),
                {
                    "naive_agents": "mesos_agents",
                    "naive_serial": str(args.serial),
                    # any master: the play asks it for the leader
                    "naive_master_url": cluster.urls[-1],
                    "naive_pause": 1,
                },
            ),
            "ours": (
                "mesos.maintenance.rolling_maintenance",
                {
                    "mesos_maintenance_agents": "mesos_agents",
                    "mesos_maintenance_serial": str(args.serial),
                    "mesos_maintenance_tasks_file": str(collection / "playbooks" / "tasks" / "pause.yml"),
                    "mesos_maintenance_pause": 1,
                    "mesos_maintenance_hold": args.hold,
                },
            ),
        }
        print(
            f"cluster: 3 masters, {args.agents} agents, allocator build {args.build}; batches of {args.serial}, "
            f"forks {args.forks}, ours {'with' if args.hold else 'without'} the hold; Python "
            f"{sys.version.split()[0]}",
            flush=True,
        )
        per_batch: dict[str, list[float]] = {}
        failed = False
        for name in runs:
            playbook, extra = commands[name]
            timer = work / f"{name}-events.jsonl"
            env = dict(os.environ)
            env.update(
                ANSIBLE_COLLECTIONS_PATH=str(work / "collections"),
                ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false",
                ANSIBLE_FORKS=str(args.forks),
                ANSIBLE_LOCALHOST_WARNING="false",
                ANSIBLE_DEPRECATION_WARNINGS="false",
                ANSIBLE_NOCOLOR="1",
                ANSIBLE_CALLBACK_PLUGINS=str(work / "callback_plugins"),
                ANSIBLE_CALLBACKS_ENABLED="batch_timer",
                BATCH_TIMER_FILE=str(timer),
                ANSIBLE_HOME=str(work / "home"),
                PATH=f"{BIN}:{os.environ.get('PATH', '')}",
            )
            env.pop("ANSIBLE_STDOUT_CALLBACK", None)
            cluster.reset_log()
            started = time.monotonic()
            done = subprocess.run(
                [str(BIN / "ansible-playbook"), "-i", str(work / "inventory.json"), playbook, "-e", json.dumps(extra)],
                env=env,
                capture_output=True,
                text=True,
            )
            total = time.monotonic() - started
            log = list(cluster.request_log)
            left = cluster.filters()
            if done.returncode != 0:
                print(f"{name}: ansible-playbook failed (rc {done.returncode}) after {total:.1f} s")
                print(done.stdout[-5000:], done.stderr[-3000:])
                failed = True
                continue
            events = [json.loads(line) for line in timer.read_text().splitlines()]
            found = batches(events, agents)
            seconds = [s for s, _ in found]
            per_batch[name] = seconds
            covered = [h for _, hosts in found for h in hosts]
            calls = collections.Counter((m, t.split("?", 1)[0]) for _, m, t in log)
            filters_calls = {m: c for (m, path), c in sorted(calls.items()) if path == "/allocator/filters"}
            print(
                f"{name}: {total:.1f} s in all ({total - sum(seconds):.1f} s outside the batches), {len(found)} batches, "
                f"per batch {describe(seconds)}; "
                f"{len(log)} HTTP requests (/allocator/filters: "
                f"{', '.join(f'{m} {c}' for m, c in filters_calls.items()) or 'none'}), "
                f"filters left {len(left)}, {len(done.stdout.splitlines())} lines printed",
                flush=True,
            )
            if args.verbose:
                print("  " + " ".join(f"{s:.2f}" for s in seconds))
            expected = math.ceil(args.agents / args.serial)
            assert len(found) == expected, f"{name}: {len(found)} batches, expected {expected}"
            assert sorted(covered) == sorted(agents), f"{name}: the batches do not cover every agent exactly once"
            assert not left, f"{name}: filters left: {sorted(left)}"
            if name == "naive":
                assert filters_calls.get("POST") == args.agents, filters_calls
                assert filters_calls.get("DELETE") == args.agents, filters_calls

        if "naive" in per_batch and "ours" in per_batch:
            naive, ours = per_batch["naive"], per_batch["ours"]
            ratio = (sum(ours) / len(ours)) / (sum(naive) / len(naive))
            paired = [o / n for o, n in zip(ours, naive, strict=True)]
            print(
                f"ours/naive per batch: {ratio:.3f} (mean over mean; batch by batch min {min(paired):.2f}, "
                f"max {max(paired):.2f}); target <= {TARGET}: {'met' if ratio <= TARGET else 'NOT met'}"
            )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
