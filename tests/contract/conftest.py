"""Contract tests: one suite, two peers. Every test runs against the simulator in its Mesos 1.11
mode and against a real Mesos 1.11.0 master (tests/real_mesos), and asserts the same facts on
both. Where they differ, the simulator is wrong.

The real master runs in local mode, so the simulator peer is set up to match it: one master,
no allocator module (`build=None`), Mesos 1.11.0. Facts that only hold for local mode (no
`/master/*` delegate for unprefixed paths, `/metrics/snapshot` outside the read-only realm,
every agent sharing the master's hostname) are not asserted.
"""

from __future__ import annotations

import pytest
from contract_peers import AUTH, VERSION, Peer
from real_mesos.fixtures import real_mesos_factory, real_mesos_installation  # noqa: F401

from mesos_sim import Cluster


@pytest.fixture(scope="module", params=["simulator", pytest.param("real", marks=pytest.mark.real_mesos)])
def peer_factory(request):
    """`peer_factory(auth=None|"readwrite"|"readonly", agents=2, fresh=False)` -> a running Peer.
    The same arguments give the same peer for the whole module unless `fresh`."""
    kind = request.param
    shared: dict = {}
    clusters: list[Cluster] = []
    real_factory = request.getfixturevalue("real_mesos_factory") if kind == "real" else None

    def factory(auth=None, agents: int = 2, fresh: bool = False) -> Peer:
        key = (auth, agents)
        if not fresh and key in shared:
            return shared[key]
        if kind == "real":
            backend = real_factory(fresh=fresh, agents=agents, **AUTH[auth])
            peer = Peer(kind, backend.port, backend.agent_ids, backend)
        else:
            backend = Cluster(masters=1, agents=agents, build=None, version=VERSION, **AUTH[auth]).start()
            clusters.append(backend)
            peer = Peer(kind, int(backend.leader_url.rsplit(":", 1)[1]), backend.agent_ids, backend)
        if not fresh:
            shared[key] = peer
        return peer

    yield factory
    for cluster in clusters:
        cluster.stop()


@pytest.fixture
def peer(peer_factory) -> Peer:
    """The module's shared peer without authentication."""
    return peer_factory()
