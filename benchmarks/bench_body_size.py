"""How much of the default max_body_size the largest answer the modules read takes: /master/state-summary and
/master/state of a simulated cluster, fetched through the collection's transport (gzip, as the modules ask), with
the time each takes. Prints the sizes, the share of the cap and how many agents the cap holds at that size per
agent. Asserts nothing.

    .venv/bin/python benchmarks/bench_body_size.py [--agents 10000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from mesos_sim import Cluster

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "collections"))

from ansible_collections.mesos.maintenance.plugins.module_utils._transport import DEFAULT_MAX_BODY_SIZE, MIB, Transport


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agents", type=int, default=10_000)
    args = parser.parse_args()
    transport = Transport({"timeout": 60})
    with Cluster(masters=1, agents=args.agents, build="later") as cluster:
        for path in ("/master/state-summary", "/master/state"):
            started = time.perf_counter()
            response = transport.send("GET", cluster.urls[0] + path)
            elapsed = time.perf_counter() - started
            sent = int(response.headers.get("Content-Length") or 0)
            size = len(response.content)
            per_agent = size / args.agents
            print(
                f"{path}, {args.agents} agents: {size / MIB:.1f} MiB ({sent / MIB:.2f} MiB sent, "
                f"{response.headers.get('Content-Encoding') or 'identity'}), {size / DEFAULT_MAX_BODY_SIZE:.1%} of the "
                f"default max_body_size ({DEFAULT_MAX_BODY_SIZE // MIB} MiB), which holds "
                f"{int(DEFAULT_MAX_BODY_SIZE / per_agent):,} agents at {per_agent:.0f} bytes each; read in {elapsed:.2f} s"
            )
    transport.close()


if __name__ == "__main__":
    main()
