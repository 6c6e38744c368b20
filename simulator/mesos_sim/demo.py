"""`mesos-sim demo`: start a simulated cluster, show it the way an operator would look at it
over HTTP, and say how to point a playbook at it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.request

from .cli import build_cluster


def _get(url: str):
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


def _leader_base(cluster) -> str:
    # Ask a standby, as a client that knows only some master would: the 307's Location
    # is scheme-less, so the client keeps its own scheme.
    request = urllib.request.Request(cluster.urls[-1] + "/master/redirect", method="GET")
    opener = urllib.request.build_opener(_NoRedirect())
    try:
        opener.open(request, timeout=5)
    except urllib.error.HTTPError as exc:
        return f"{cluster.scheme}:{exc.headers['Location']}"
    raise RuntimeError("expected a 307 from /master/redirect")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def show(cluster) -> None:
    leader = _leader_base(cluster)
    summary = _get(leader + "/master/state-summary")
    filters = _get(leader + "/allocator/filters")["filters"] if cluster.state.build else []
    filtered = {f["agentId"] for f in filters}
    print(f"masters : {', '.join(cluster.urls)}")
    print(f"leader  : {leader}   (allocator module build: {cluster.state.build or 'none'})")
    print(f"agents  : {len(summary['slaves'])}")
    print(f"  {'hostname':<24} {'agent id':<44} {'active':<7} {'filtered':<9} tasks")
    for agent in summary["slaves"]:
        running = sum(agent[s] for s in ("TASK_STAGING", "TASK_STARTING", "TASK_RUNNING", "TASK_KILLING"))
        print(
            f"  {agent['hostname']:<24} {agent['id']:<44} {str(agent['active']).lower():<7} "
            f"{str(agent['id'] in filtered).lower():<9} {running}"
        )
    print(f"filters : {json.dumps(filters)}")


def run_demo(args) -> int:
    cluster = build_cluster(args).start()
    try:
        time.sleep(0.5)  # let the simulated framework place its tasks
        show(cluster)
        agent = cluster.agents[0]["hostname"]
        print(f"\n$ ansible-playbook demo_playbook.yml   # drain {agent}, then restore it\n", flush=True)
        rc = run_playbook(cluster, agent)
        print()
        show(cluster)
        print()
        print("Point a playbook at it:")
        print(f"  export MESOS_MASTER_URL={','.join(cluster.urls)}")
        if args.serve:
            print("Serving until interrupted (Ctrl-C).")
            threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        cluster.stop()
    return rc


def run_playbook(cluster, agent: str) -> int:
    """The collection must be on ANSIBLE_COLLECTIONS_PATH (`make demo` links it)."""
    playbook = os.path.join(os.path.dirname(__file__), "demo_playbook.yml")
    extra = json.dumps({"demo_masters": cluster.urls, "demo_agent": agent})
    env = dict(
        os.environ,
        ANSIBLE_PYTHON_INTERPRETER=sys.executable,
        ANSIBLE_LOCALHOST_WARNING="false",
        ANSIBLE_INVENTORY_UNPARSED_WARNING="false",  # the implicit localhost is all the demo needs
    )
    command = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), playbook, "-e", extra]
    return subprocess.run(command, env=env, check=False).returncode
