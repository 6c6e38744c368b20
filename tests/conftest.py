"""Fixtures shared by every suite: simulated Mesos clusters on free loopback ports.

Each cluster binds port 0, so tests run in parallel (pytest-xdist) without clashing.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mesos_sim import Cluster
from mesos_sim.zookeeper import ZooKeeper, ZooKeeperMissing

# Markers that follow from the fixtures a test uses (pytest.ini says what each means), so that no test has to remember
# them; `make check` selects by them. Fixtures asked for by name at run time (getfixturevalue) are not seen here: the
# contract suite marks its real peer itself.
MARKS_BY_FIXTURE = {
    "collections_path": "playbook",  # every ansible-playbook runner of tests/functional starts from it
    "run_module": "playbook",  # the contract suite's ansible-playbook runner
    "installed_collection": "playbook",  # playbooks of a user's role, with the collection built and installed
    "real_mesos_installation": "real_mesos",
    "zookeeper_in": "system",
    "libs": "system",  # gcc builds the test allocator module libraries
    "libraries": "system",  # the same, in the contract suite
}


def pytest_collection_modifyitems(items):
    for item in items:
        for fixture in sorted(MARKS_BY_FIXTURE.keys() & set(item.fixturenames)):
            item.add_marker(MARKS_BY_FIXTURE[fixture])


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


@pytest.fixture(scope="session")
def missing_tool():
    """`missing_tool(reason)` skips the test; in CI it fails it, as a missing tool there is a broken install step."""

    def missing(reason: str):
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)

    return missing


@pytest.fixture(scope="session")
def zookeeper_in(missing_tool):
    """`zookeeper_in(data)`: a `mesos_sim.zookeeper.ZooKeeper` (not started) whose dataDir is `data`, or the test
    skipped (failed in CI) when ZooKeeper is not installed."""

    def make(data: Path) -> ZooKeeper:
        try:
            return ZooKeeper(data)
        except ZooKeeperMissing as exc:
            missing_tool(str(exc))

    return make


@pytest.fixture(params=["0afdd8b", "later"])
def build(request) -> str:
    """Both builds of the Offer Filtering Allocator module that are in the wild."""
    return request.param


@pytest.fixture
def cluster(cluster_factory, build) -> Cluster:
    return cluster_factory(masters=3, agents=5, build=build)
