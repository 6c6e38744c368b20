"""A simulated Apache Mesos cluster with the Offer Filtering Allocator module, for tests and demos."""

from .cluster import Cluster

__all__ = ["Cluster"]
