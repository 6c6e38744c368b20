"""Start a real Mesos 1.11.0 master with N agents for a person, print where it is, and keep it
running until Ctrl-C (or SIGTERM). The first run installs it into the cache (about a minute).

    .venv/bin/python tests/real_mesos/run.py [--agents 3] [--port 5050]
        [--principal ops --secret s3cret [--readonly-auth]] [--state-file FILE]
        [--tasks N [--task-seconds 3600] [--replace-killed]] [--agent-hostname-prefix agent]

It prints one JSON object (masters, leader, version, agents) and then keeps running; with
--state-file it also writes that object there. Point a playbook at the printed URL, e.g.
`master_url: http://127.0.0.1:<port>`. Local mode: one master, every agent has the master's
port and, by default, its hostname (address agents by id), no allocator module
(`/allocator/filters` is 404). With --agent-hostname-prefix agent the agents are agent-1 ...
agent-N instead, for playbooks that name agents by hostname (the rolling maintenance); the
printed `agents` say which id has which.

With --tasks N a framework (framework.py) starts N `sleep` tasks, round robin over the agents,
and the JSON is printed once they run, with `framework_id` and `tasks` (id, agent_id, state):
something to drain. Tasks that end (drained, killed, or after --task-seconds) are not replaced,
unless --replace-killed: then a killed (drained) task is launched again, on any agent that has
offers, as the scheduler of a service would.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from mesos_sim.cli import write_state_file
from real_mesos.framework import FrameworkError, SleepFramework
from real_mesos.harness import RealMesos, StartError
from real_mesos.install import SetupError, Unavailable, ensure


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, default=3)
    parser.add_argument("--port", type=int, default=None, help="loopback port (default: a free one)")
    parser.add_argument("--principal")
    parser.add_argument("--secret")
    parser.add_argument("--readonly-auth", action="store_true", help="also authenticate read-only endpoints")
    parser.add_argument("--state-file", help="also write the printed JSON to this file")
    parser.add_argument(
        "--agent-hostname-prefix", help="give the agents the hostnames PREFIX-1 ... PREFIX-N (default: the master's)"
    )
    parser.add_argument("--tasks", type=int, default=0, help="start this many sleep tasks (default: none)")
    parser.add_argument("--task-seconds", type=float, default=3600, help="how long each task sleeps")
    parser.add_argument("--replace-killed", action="store_true", help="launch a killed task again, anywhere")
    args = parser.parse_args(argv)
    if (args.principal is None) != (args.secret is None):
        parser.error("--principal and --secret go together")
    if args.tasks < 0 or args.task_seconds <= 0:
        parser.error("--tasks must not be negative and --task-seconds must be positive")
    try:
        ensure(log=lambda message: print(message, file=sys.stderr, flush=True))
        mesos = RealMesos(
            agents=args.agents,
            principal=args.principal,
            secret=args.secret,
            readonly_auth=args.readonly_auth,
            port=args.port,
            agent_hostname_prefix=args.agent_hostname_prefix,
        ).start()
    except Unavailable as exc:
        print(f"real-mesos: not available on this machine: {exc}", file=sys.stderr)
        return 2
    except (SetupError, StartError) as exc:
        print(f"real-mesos: {exc}", file=sys.stderr)
        return 1
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    framework = None
    try:
        info = mesos.describe()
        if args.tasks:
            framework = SleepFramework(
                mesos.url, name="mesos-maintenance-demo", replace_killed=args.replace_killed
            ).start()
            # Round robin over the agents, so that each has tasks to drain.
            agents = mesos.agent_ids
            ids = [
                task_id
                for n in range(args.tasks)
                for task_id in framework.launch(seconds=args.task_seconds, agent_id=agents[n % len(agents)])
            ]
            framework.wait_for_state(ids, "TASK_RUNNING")
            info["framework_id"] = framework.framework_id
            info["tasks"] = [
                {"id": i, "agent_id": framework.tasks[i].agent_id, "state": framework.tasks[i].state} for i in ids
            ]
        text = json.dumps(info, indent=2)
        if args.state_file:
            write_state_file(args.state_file, text)
        print(text, flush=True)
        print(f"real-mesos: Mesos {mesos.version} at {mesos.url}; Ctrl-C stops it", file=sys.stderr, flush=True)
        while not done.wait(0.5):
            if mesos.process is None or mesos.process.poll() is not None:
                print("real-mesos: the cluster exited:\n" + mesos.log()[-4000:], file=sys.stderr)
                return 1
    except FrameworkError as exc:
        print(f"real-mesos: the sleep tasks did not start: {exc}\n{mesos.log()[-4000:]}", file=sys.stderr)
        return 1
    finally:
        if framework is not None:
            framework.stop()
        mesos.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
