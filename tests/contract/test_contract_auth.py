"""HTTP authentication on both peers: which endpoints ask, in which realm, and what a refusal
looks like, with the right, a wrong and no credentials.

Not asserted: /metrics/snapshot. A real mesos-master puts it in the read-only realm, but local
mode starts libprocess without realms, so the local real master leaves it open."""

from __future__ import annotations

import json

import pytest
from contract_peers import PRINCIPAL, SECRET

READONLY_ENDPOINTS = [
    "/master/state",
    "/master/state-summary",
    "/master/slaves",
    "/master/frameworks",
    "/master/flags",
    "/master/maintenance/status",
]
READWRITE_ENDPOINTS = ["/master/maintenance/schedule"]
OPEN_ENDPOINTS = ["/version", "/master/health", "/master/redirect"]
WRONG = [
    (PRINCIPAL, "not-the-secret"),
    ("nobody", SECRET),
]
GET_AGENTS = json.dumps({"type": "GET_AGENTS"})


def assert_refused(reply, realm: str):
    assert reply.status == 401, reply
    assert reply.header("WWW-Authenticate") == f'Basic realm="mesos-master-{realm}"'
    assert reply.text == "401 Unauthorized."
    assert reply.header("Content-Type") == "text/plain; charset=utf-8"


def api(peer, credentials=None, headers=None):
    headers = {"Content-Type": "application/json", **(headers or {})}
    return peer.request("POST", "/master/api/v1", GET_AGENTS, headers, credentials)


@pytest.mark.parametrize("auth", ["readwrite", "readonly"])
def test_operator_api_is_read_write(peer_factory, auth):
    peer = peer_factory(auth)
    assert_refused(api(peer), "readwrite")
    for credentials in WRONG:
        assert_refused(api(peer, credentials), "readwrite")
    reply = api(peer, credentials=True)
    assert reply.status == 200
    assert reply.json()["type"] == "GET_AGENTS"


@pytest.mark.parametrize("auth", ["readwrite", "readonly"])
def test_read_write_endpoints(peer_factory, auth):
    peer = peer_factory(auth)
    for path in READWRITE_ENDPOINTS:
        assert_refused(peer.get(path), "readwrite")
        for credentials in WRONG:
            assert_refused(peer.get(path, credentials), "readwrite")
        assert peer.get(path, credentials=True).status == 200


def test_read_only_endpoints_stay_open_with_read_write_authentication(peer_factory):
    peer = peer_factory("readwrite")
    for path in READONLY_ENDPOINTS:
        assert peer.get(path).status == 200, path


def test_read_only_endpoints(peer_factory):
    peer = peer_factory("readonly")
    for path in READONLY_ENDPOINTS:
        assert_refused(peer.get(path), "readonly")
        for credentials in WRONG:
            assert_refused(peer.get(path, credentials), "readonly")
        assert peer.get(path, credentials=True).status == 200, path


@pytest.mark.parametrize("auth", ["readwrite", "readonly"])
def test_open_endpoints(peer_factory, auth):
    peer = peer_factory(auth)
    for path in OPEN_ENDPOINTS:
        assert peer.get(path).status in (200, 307), path


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer abc",
        "Basic",
        "Basic !!!not-base64!!!",
        "Basic b3BzOnMzY3JldA== extra",  # ops:s3cret, but three parts
        "basic b3BzOnMzY3JldA==",  # the scheme is case-sensitive
        "Basic b3BzOnMzOmNyZXQ=",  # ops:s3:cret: more than one colon
    ],
)
def test_malformed_authorization_is_refused(peer_factory, authorization):
    peer = peer_factory("readonly")
    assert_refused(peer.request("GET", "/master/state", headers={"Authorization": authorization}), "readonly")
