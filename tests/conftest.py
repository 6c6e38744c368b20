"""Fixtures shared by every suite: simulated Mesos clusters on free loopback ports.

Each cluster binds port 0, so tests run in parallel (pytest-xdist) without clashing.
"""

from __future__ import annotations

import pytest

from mesos_sim import Cluster


@pytest.fixture
def cluster_factory():
    """Start clusters with any `Cluster` keyword arguments; all are stopped at teardown."""
    started = []

    def factory(**kwargs) -> Cluster:
        cluster = Cluster(**kwargs).start()
        started.append(cluster)
        return cluster

    yield factory
    for cluster in started:
        cluster.stop()


@pytest.fixture(params=["0afdd8b", "later"])
def build(request) -> str:
    """Both builds of the Offer Filtering Allocator module that are in the wild."""
    return request.param


@pytest.fixture
def cluster(cluster_factory, build) -> Cluster:
    return cluster_factory(masters=3, agents=5, build=build)
