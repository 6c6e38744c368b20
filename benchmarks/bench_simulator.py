"""Figures of the simulator itself, so that benchmarks of the modules measure the modules.

Prints: requests per second and mean round trip of a small `/allocator/filters` call on one
keep-alive connection (both http.client and requests), the server-side time of that call,
and `/master/state-summary` at 10,000 agents (server time, round trip, body size), plus the
memory the 10,000-agent cluster holds. Asserts nothing.

    .venv/bin/python benchmarks/bench_simulator.py [--agents 10000] [--requests 2000]
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import time
import tracemalloc
from urllib.parse import urlsplit

import requests

from mesos_sim import Cluster


def keep_alive_calls(url: str, path: str, count: int) -> list[float]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port)
    times = []
    for _ in range(count):
        start = time.perf_counter()
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        times.append(time.perf_counter() - start)
    conn.close()
    return times


def server_time(cluster: Cluster, index: int, path: str, count: int) -> float:
    """Mean time the master spends building an answer, without the network and client."""
    from mesos_sim.http import Request

    app = cluster.apps[index]
    start = time.perf_counter()
    for _ in range(count):
        app.dispatch(Request("GET", path, {}, "", {}, b""))
    return (time.perf_counter() - start) / count


def bench_small_calls(count: int) -> None:
    with Cluster(masters=3, agents=100, build="later") as cluster:
        for agent in cluster.agent_ids[:5]:
            cluster.add_filter(agent)
        keep_alive_calls(cluster.leader_url, "/allocator/filters", 50)  # warm up
        times = keep_alive_calls(cluster.leader_url, "/allocator/filters", count)
        print(
            f"GET /allocator/filters, http.client keep-alive : {len(times) / sum(times):8.0f} req/s, "
            f"mean {statistics.mean(times) * 1e3:.3f} ms, p99 {sorted(times)[int(len(times) * 0.99)] * 1e3:.3f} ms"
        )
        with requests.Session() as session:
            start = time.perf_counter()
            for _ in range(count):
                session.get(cluster.leader_url + "/allocator/filters")
            elapsed = time.perf_counter() - start
        print(
            f"GET /allocator/filters, requests.Session      : {count / elapsed:8.0f} req/s, "
            f"mean {elapsed / count * 1e3:.3f} ms"
        )
        spent = server_time(cluster, cluster.leader_index, "/allocator/filters", count)
        print(f"GET /allocator/filters, server time            : {spent * 1e3:.3f} ms")


def bench_large_cluster(agents: int) -> None:
    tracemalloc.start()
    started = time.perf_counter()
    cluster = Cluster(masters=3, agents=agents, build="later", tasks=agents, task_duration=None)
    cluster.start()
    try:
        time.sleep(0.5)  # the scheduler places one task per agent
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(
            f"{agents} agents: cluster up in {time.perf_counter() - started:.2f} s, "
            f"Python heap peak {peak / 2**20:.1f} MiB"
        )
        index = cluster.leader_index
        print(
            f"GET /master/state-summary at {agents} agents, server time : "
            f"{server_time(cluster, index, '/master/state-summary', 5) * 1e3:.1f} ms"
        )
        for encoding in ("identity", "gzip"):
            with requests.Session() as session:
                session.headers["Accept-Encoding"] = encoding
                times, size = [], 0
                for _ in range(5):
                    start = time.perf_counter()
                    response = session.get(cluster.leader_url + "/master/state-summary")
                    doc = response.json()
                    times.append(time.perf_counter() - start)
                    size = len(response.content)
                mean = statistics.mean(times) * 1e3
                print(
                    f"GET /master/state-summary at {agents} agents ({encoding:8}): mean {mean:.1f} ms "
                    f"round trip incl. JSON decode, {size / 2**20:.1f} MiB, {len(doc['slaves'])} agents"
                )
    finally:
        cluster.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agents", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=2_000)
    args = parser.parse_args()
    bench_small_calls(args.requests)
    bench_large_cluster(args.agents)


if __name__ == "__main__":
    main()
