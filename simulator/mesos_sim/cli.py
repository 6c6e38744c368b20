"""Command line: `mesos-sim run` (a cluster that keeps running), `mesos-sim ctl` (drive one),
`mesos-sim demo` (start one, show it, stop), `mesos-sim master` (the mesos-master stand-in, same as
the `mesos-master` command: see standin.py)."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import urllib.request

from . import allocator, control
from .cluster import Cluster


def _cluster_args(parser: argparse.ArgumentParser):
    parser.add_argument("--masters", type=int, default=3)
    parser.add_argument("--agents", type=int, default=10)
    parser.add_argument(
        "--build",
        choices=[*allocator.BUILDS, "none"],
        default="later",
        help="allocator module build on the masters; 'none' loads no module",
    )
    parser.add_argument("--persist", action="store_true", help="later build: keep filters across failover")
    parser.add_argument("--version", dest="mesos_version", default="1.0.1", help="Mesos version to report")
    parser.add_argument(
        "--port", type=int, action="append", help="port of a master (repeat per master); default: free ports"
    )
    parser.add_argument("--tasks", type=int, default=0, help="tasks the simulated framework keeps running")
    parser.add_argument("--task-duration", type=float, default=None, help="seconds each task runs")
    parser.add_argument("--election-delay", type=float, default=0.0)
    parser.add_argument(
        "--relaunch-delay", type=float, default=0.0, help="seconds before an app's ended instance starts again"
    )
    parser.add_argument("--principal")
    parser.add_argument("--secret")
    parser.add_argument("--readonly-auth", action="store_true")
    parser.add_argument("--tls", action="store_true")


def build_cluster(args) -> Cluster:
    return Cluster(
        masters=args.masters,
        agents=args.agents,
        build=None if args.build == "none" else args.build,
        persist=args.persist,
        principal=args.principal,
        secret=args.secret,
        readonly_auth=args.readonly_auth,
        tls=args.tls,
        tasks=args.tasks,
        task_duration=args.task_duration,
        election_delay=args.election_delay,
        version=args.mesos_version,
        ports=args.port,
        relaunch_delay=args.relaunch_delay,
    )


def write_state_file(path: str, text: str) -> None:
    """Write whole, then rename, so that a reader polling for the file never sees half of it."""
    with open(path + ".tmp", "w", encoding="utf-8") as handle:
        handle.write(text + "\n")
    os.replace(path + ".tmp", path)


def cmd_run(args) -> int:
    cluster = build_cluster(args).start()
    ctl = control.serve(cluster, args.control_port)
    info = {**cluster.describe(), "control": f"http://127.0.0.1:{ctl.port}"}
    info.pop("agents")
    text = json.dumps(info, indent=2)
    if args.state_file:
        write_state_file(args.state_file, text)
    print(text, flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    try:
        done.wait()
    except KeyboardInterrupt:
        pass
    ctl.stop()
    cluster.stop()
    return 0


def cmd_ctl(args) -> int:
    kwargs = {}
    for item in args.kwargs:
        key, _, value = item.partition("=")
        try:
            kwargs[key] = json.loads(value)
        except ValueError:
            kwargs[key] = value
    request = urllib.request.Request(
        f"{args.control.rstrip('/')}/{args.call}", data=json.dumps(kwargs).encode(), method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            print(response.read().decode())
    except urllib.error.HTTPError as exc:
        print(exc.read().decode(), file=sys.stderr)
        return 1
    return 0


def cmd_demo(args) -> int:
    from .demo import run_demo

    return run_demo(args)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["master"]:
        # mesos-master's own flag syntax (--name=value, MESOS_* variables): not argparse's.
        from .standin import main as standin_main

        return standin_main(argv[1:])
    parser = argparse.ArgumentParser(prog="mesos-sim", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="start a cluster and keep it running until interrupted")
    _cluster_args(run)
    run.add_argument("--control-port", type=int, default=0)
    run.add_argument("--state-file", help="also write the cluster's URLs as JSON to this file")
    run.set_defaults(func=cmd_run)
    ctl = sub.add_parser("ctl", help="drive a running cluster through its control port")
    ctl.add_argument("control", help="the control URL printed by 'run'")
    ctl.add_argument("call", choices=control.CALLS)
    ctl.add_argument("kwargs", nargs="*", help="key=value arguments (values parsed as JSON when they can be)")
    ctl.set_defaults(func=cmd_ctl)
    demo = sub.add_parser("demo", help="start a 3-master cluster, show it, and run a maintenance against it")
    _cluster_args(demo)
    demo.add_argument("--serve", action="store_true", help="keep the cluster running afterwards")
    demo.set_defaults(func=cmd_demo, tasks=24, task_duration=3.0, agents=12)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
