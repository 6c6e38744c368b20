"""The harness' own tests use its fixtures like any other suite."""

from real_mesos.fixtures import real_mesos, real_mesos_factory, real_mesos_installation  # noqa: F401
