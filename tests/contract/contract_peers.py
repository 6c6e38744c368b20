"""How the contract tests talk to a peer (a simulated or a real master): requests, v1 calls,
polling. The fixtures that start peers are in conftest.py."""

from __future__ import annotations

import base64
import http.client
import json
from dataclasses import dataclass, field

from mesos_sim.waiting import wait_until

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
        return wait_until(predicate, timeout, what=f"{self.kind}: {what}")


def agent_call(call_type: str, agent_id: str, **fields) -> dict:
    key = call_type.lower()
    return {"type": call_type, key: {"agent_id": {"value": agent_id}, **fields}}
