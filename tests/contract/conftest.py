"""Contract tests: one suite, two peers. Every test runs against the simulator in its Mesos 1.11
mode and against a real Mesos 1.11.0 master (tests/real_mesos), and asserts the same facts on
both. Where they differ, the simulator is wrong.

The real master runs in local mode, so the simulator peer is set up to match it: one master,
no allocator module (`build=None`), Mesos 1.11.0. Facts that only hold for local mode (no
`/master/*` delegate for unprefixed paths, `/metrics/snapshot` outside the read-only realm,
every agent sharing the master's hostname) are not asserted.
"""

from __future__ import annotations

import base64
import http.client
import json
import time
from dataclasses import dataclass, field

import pytest
from real_mesos.fixtures import real_mesos_factory, real_mesos_installation  # noqa: F401

from mesos_sim import Cluster

PRINCIPAL = "ops"
SECRET = "s3cret"
VERSION = "1.11.0"
# Authentication set-ups: none; read-write endpoints only (what credentials turn on); both realms.
AUTH = {
    None: {},
    "readwrite": {"principal": PRINCIPAL, "secret": SECRET},
    "readonly": {"principal": PRINCIPAL, "secret": SECRET, "readonly_auth": True},
}


@dataclass
class Reply:
    status: int
    headers: dict
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.body)

    def header(self, name: str) -> str | None:
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None


@dataclass
class Peer:
    """One master to test, simulated or real, and how to talk to it."""

    kind: str  # "simulator" or "real"
    port: int
    agent_ids: list[str]
    backend: object = field(repr=False)

    def request(self, method, path, body=None, headers=None, credentials=None) -> Reply:
        """credentials: None (send none), True (the right ones) or (principal, secret)."""
        headers = dict(headers or {})
        if credentials is not None:
            principal, secret = (PRINCIPAL, SECRET) if credentials is True else credentials
            token = base64.b64encode(f"{principal}:{secret}".encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            return Reply(response.status, dict(response.getheaders()), response.read())
        finally:
            conn.close()

    def get(self, path, credentials=None) -> Reply:
        return self.request("GET", path, credentials=credentials)

    def call(self, call: dict, credentials=None, headers=None) -> Reply:
        """One v1 operator API call, as JSON."""
        headers = {"Content-Type": "application/json", **(headers or {})}
        return self.request("POST", "/master/api/v1", json.dumps(call), headers, credentials)

    def agents_v1(self, credentials=None) -> dict:
        """GET_AGENTS' agents by id."""
        reply = self.call({"type": "GET_AGENTS"}, credentials)
        assert reply.status == 200, reply
        return {a["agent_info"]["id"]["value"]: a for a in reply.json()["get_agents"]["agents"]}

    def slaves(self, credentials=None) -> dict:
        """/master/slaves' agents by id."""
        reply = self.get("/master/slaves", credentials)
        assert reply.status == 200, reply
        return {a["id"]: a for a in reply.json()["slaves"]}

    def wait_for(self, predicate, timeout: float = 10.0, what: str = "condition"):
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.kind}: no {what} within {timeout} s")
            time.sleep(0.05)


def agent_call(call_type: str, agent_id: str, **fields) -> dict:
    key = call_type.lower()
    return {"type": call_type, key: {"agent_id": {"value": agent_id}, **fields}}


@pytest.fixture(scope="module", params=["simulator", "real"])
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
