"""pytest fixtures around the real Mesos 1.11.0 harness. A conftest takes them in with

    from real_mesos.fixtures import real_mesos, real_mesos_factory, real_mesos_installation  # noqa: F401

(tests/ is on sys.path: pytest puts the directory of the root conftest there.)

- `real_mesos_installation` (session): installs into the cache once (install.py); skips the
  test, saying why, only where the machine cannot run the egg at all (not Linux x86_64). A
  failing install is an error, never a skip.
- `real_mesos_factory` (module): `factory(agents=2, principal=..., secret=..., readonly_auth=...)`
  returns a running cluster. The same arguments give the same cluster for the whole module
  (starting one takes about two seconds), unless `fresh=True`, for a test that spoils it (say,
  marks an agent gone). All are stopped when the module is done.
- `real_mesos` (module): `real_mesos_factory(agents=2)`: no authentication.
"""

from __future__ import annotations

import pytest

from .harness import RealMesos
from .install import Installation, ensure, unavailable_reason


@pytest.fixture(scope="session")
def real_mesos_installation() -> Installation:
    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)
    return ensure()


@pytest.fixture(scope="module")
def real_mesos_factory(real_mesos_installation):
    shared: dict = {}
    started: list[RealMesos] = []

    def factory(fresh: bool = False, **kwargs) -> RealMesos:
        key = repr(sorted(kwargs.items()))
        if not fresh and key in shared:
            return shared[key]
        cluster = RealMesos(**kwargs).start()
        started.append(cluster)
        if not fresh:
            shared[key] = cluster
        return cluster

    yield factory
    for cluster in started:
        cluster.stop()


@pytest.fixture(scope="module")
def real_mesos(real_mesos_factory) -> RealMesos:
    return real_mesos_factory(agents=2)
