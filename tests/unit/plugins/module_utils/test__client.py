# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import requests

from ansible_collections.mesos.maintenance.plugins.module_utils._client import (
    BUILD_LATER,
    MesosClientBase,
    MesosUrlError,
    basic_auth,
    leader_timeout_seconds,
    normalize_master_url,
    resolve_location,
    same_master,
    url_origin,
)
from ansible_collections.mesos.maintenance.plugins.module_utils._errors import MesosError
from ansible_collections.mesos.maintenance.plugins.module_utils._transport import (
    DEFAULT_TIMEOUT,
    may_have_reached_master,
    parse_retry_after,
    request_timeout,
)

# --- pure helpers ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "given, expected",
    [
        ("http://m1:5050", "http://m1:5050"),
        ("http://M1.Example.com:5050/", "http://m1.example.com:5050"),
        ("m1:5050", "http://m1:5050"),
        ("https://m1:5050/mesos/", "https://m1:5050/mesos"),
        (" https://10.0.0.1:5050 ", "https://10.0.0.1:5050"),
    ],
)
def test_normalize_master_url(given, expected):
    assert normalize_master_url(given) == expected


@pytest.mark.parametrize(
    "given, fragment",
    [
        ("", "empty entry"),
        ("ftp://m1:5050", "only http and https"),
        ("http://:5050", "no host name"),
        ("http://m1:port", "invalid port"),
        ("http://m1:5050/?x=1", "without query"),
        ("http://u:p@m1:5050", "principal and secret"),
        ("http://[::1", "is not a valid URL"),
        ("[::1:5050", "is not a valid URL"),
    ],
)
def test_normalize_master_url_rejects(given, fragment):
    with pytest.raises(MesosUrlError, match=fragment):
        normalize_master_url(given)


@pytest.mark.parametrize("given, expected", [(None, DEFAULT_TIMEOUT), (0.5, 0.5), (30, 30.0)])
def test_request_timeout(given, expected):
    assert request_timeout(given) == expected


@pytest.mark.parametrize("given", [0, 0.0, -1, float("nan"), float("inf")])
def test_request_timeout_rejects(given):
    # 0 used to become the default without a word
    with pytest.raises(MesosError, match="timeout must be a number of seconds greater than 0"):
        request_timeout(given)


@pytest.mark.parametrize("given, expected", [(None, 0.0), (0, 0.0), (1.5, 1.5), (30, 30.0)])
def test_leader_timeout_seconds(given, expected):
    assert leader_timeout_seconds(given) == expected


@pytest.mark.parametrize("given", [-1, -0.5, float("nan"), float("inf")])
def test_leader_timeout_seconds_rejects(given):
    # these used to become 0 (negative, NaN) or a wait without end (infinite) without a word
    with pytest.raises(MesosError, match="leader_timeout must be a number of seconds, 0 or more"):
        leader_timeout_seconds(given)


def test_basic_auth():
    assert basic_auth(None, None) is None
    assert basic_auth("ops", "s\xe9cret") == ("ops", "s\xe9cret")  # Latin-1 is what requests can send


@pytest.mark.parametrize(
    "principal, secret, fragment",
    [
        ("ops", None, "principal and secret go together, but secret is null"),
        (None, "pw", "principal and secret go together, but principal is null"),
        ("ops", "pw\u20ac\u4e2d", "secret contains a character outside Latin-1"),
        ("op\u0161", "pw", "principal contains a character outside Latin-1"),
    ],
)
def test_basic_auth_rejects(principal, secret, fragment):
    with pytest.raises(MesosError, match=fragment) as caught:
        basic_auth(principal, secret)
    # nothing of the secret is shown, not even the character that could not be sent
    assert not set(caught.value.msg) & set((secret or "").replace("pw", ""))


@pytest.mark.parametrize(
    "base, location, expected",
    [
        ("http://10.0.0.1:5050", "//m2.example.com:5050", "http://m2.example.com:5050"),
        ("https://10.0.0.1:5050", "//m2.example.com:5050", "https://m2.example.com:5050"),
        ("https://10.0.0.1:5050", "https://M2:5050", "https://m2:5050"),
        ("http://10.0.0.1:5050", "https://m2:5050", "https://m2:5050"),
        ("http://10.0.0.1:5050", "/master/redirect", "http://10.0.0.1:5050"),
        # a later build's 307 on /allocator/filters carries the path; the base is what we keep
        ("http://10.0.0.1:5050", "//10.0.0.2:5050/allocator/filters?agentId=x", "http://10.0.0.2:5050"),
        # userinfo a master sent is dropped: requests would send it as Basic auth to the leader
        ("http://10.0.0.1:5050", "//ops:pw@m2:5050", "http://m2:5050"),
        ("http://10.0.0.1:5050", "//a@b:pw@[::1]:5050", "http://[::1]:5050"),
        ("https://10.0.0.1:5050", "https://ops@M2:5050/x", "https://m2:5050"),
    ],
)
def test_resolve_location(base, location, expected):
    assert resolve_location(base, location) == expected


@pytest.mark.parametrize(
    "base, location, fragment",
    [
        ("https://m1:5050", "http://m2:5050", "refusing to go from https to http"),
        ("http://m1:5050", "ftp://m2:21", r"not an http\(s\) URL"),
        ("http://m1:5050", "", "without a Location"),
        ("http://m1:5050", "//:5050", "names no host"),
    ],
)
def test_resolve_location_rejects(base, location, fragment):
    with pytest.raises(MesosUrlError, match=fragment):
        resolve_location(base, location)


def test_url_origin_and_same_master():
    assert url_origin("http://m1") == ("http", "m1", 80)
    assert url_origin("https://M1/x") == ("https", "m1", 443)
    assert same_master("http://127.0.0.1:5050", "http://localhost:5050")
    assert not same_master("http://127.0.0.1:5050", "http://127.0.0.1:5051")


@pytest.mark.parametrize("value, expected", [(None, 1.0), ("3", 3.0), ("-2", 0.0), ("soon", 1.0), ("999", 10.0)])
def test_parse_retry_after(value, expected):
    assert parse_retry_after(value, 1.0) == expected


@pytest.mark.parametrize(
    "exc, reached",
    [
        (requests.exceptions.ReadTimeout("Read timed out. (read timeout=2)"), True),
        (requests.exceptions.ConnectionError("('Connection aborted.', RemoteDisconnected('Remote end closed')"), True),
        (requests.exceptions.ConnectionError("('Connection aborted.', ConnectionResetError(104, 'reset'))"), True),
        (requests.exceptions.ConnectTimeout("Connection to m1 timed out. (connect timeout=2)"), False),
        (
            requests.exceptions.ConnectionError("Failed to establish a new connection: [Errno 113] No route to host"),
            False,
        ),
        (requests.exceptions.ConnectionError("[Errno 111] Connection refused"), False),
        (requests.exceptions.ConnectionError("Failed to resolve 'm9' ([Errno -2] Name or service not known)"), False),
        (requests.exceptions.SSLError("certificate verify failed"), False),
    ],
)
def test_may_have_reached_master(exc, reached):
    """Only a connection that was never made is sure to have carried nothing."""
    assert may_have_reached_master(exc) is reached


# --- against a tiny local server -------------------------------------------------------------------------------------

# In a route's list of answers: close the connection without answering, after the request was read in full.
DROP = "drop"


class FakeMaster:
    """A local HTTP server answering from a table of (method, path) -> (status, headers, body), or -> a list of such
    answers (or DROP) given in turn, the last one for good."""

    def __init__(self):
        self.routes = {}
        self.seen = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path = self.path.split("?", 1)[0]
                fake.seen.append(
                    (self.command, self.path, self.headers.get("Authorization"), self.headers.get("Content-Type"), body)
                )
                answer = fake.routes.get((self.command, path), (404, {}, ""))
                if isinstance(answer, list):
                    answer = answer.pop(0) if len(answer) > 1 else answer[0]
                if answer == DROP:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                status, headers, payload = answer
                if callable(payload):
                    payload = payload()
                data = (
                    payload
                    if isinstance(payload, bytes)
                    else (json.dumps(payload) if not isinstance(payload, str) else payload).encode()
                )
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value.replace("SELF", "127.0.0.1:%d" % fake.port))
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_DELETE = do_PUT = _answer

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = "http://127.0.0.1:%d" % self.port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def masters():
    started = []

    def factory():
        fake = FakeMaster()
        started.append(fake)
        return fake

    yield factory
    for fake in started:
        fake.close()


class Client(MesosClientBase):
    def __init__(self, params, **kwargs):
        defaults = dict(timeout=2, leader_timeout=0.5, validate_certs=True)
        defaults.update(params)
        self.warnings = []
        super().__init__(defaults, sleep=lambda s: None, **kwargs)

    def warn(self, msg):
        self.warnings.append(msg)


def test_credentials_go_to_configured_and_learned_hosts_only(masters):
    configured, leader, elsewhere = masters(), masters(), masters()
    configured.routes[("GET", "/master/redirect")] = (307, {"Location": "//localhost:%d" % leader.port}, "")
    leader.routes[("GET", "/allocator/filters")] = (200, {}, {"filters": []})
    client = Client(dict(master_url=[configured.url], principal="ops", secret="s3cret"))
    assert client.get_filters() == []
    assert client.leader == "http://localhost:%d" % leader.port
    assert configured.seen[0][2].startswith("Basic ")
    assert leader.seen[0][2].startswith("Basic ")
    # a host nobody configured nor named in /master/redirect is not trusted
    assert not client.is_trusted(elsewhere.url.replace("127.0.0.1", "localhost"))
    assert client.is_trusted(leader.url.replace("127.0.0.1", "localhost"))


def test_a_307_from_the_filter_endpoint_is_not_followed(masters):
    """The Location of an endpoint's 307 is not used: the client asks the configured masters again."""
    configured, trap = masters(), masters()
    configured.routes[("GET", "/master/redirect")] = (307, {"Location": "//SELF"}, "")
    configured.routes[("GET", "/allocator/filters")] = (
        307,
        {"Location": "//127.0.0.1:%d/allocator/filters" % trap.port},
        "",
    )
    client = Client(dict(master_url=[configured.url], principal="ops", secret="s3cret"))
    with pytest.raises(MesosError, match="keeps answering 307"):
        client.get_filters()
    assert trap.seen == []
    assert client.build == BUILD_LATER


def test_only_strings_and_exact_content_type_are_sent(masters):
    fake = masters()
    fake.routes[("GET", "/master/redirect")] = (307, {"Location": "//SELF"}, "")
    fake.routes[("POST", "/allocator/filters")] = (200, {}, {"filters": [{"agentId": "a-S1", "hostname": "h"}]})
    client = Client(dict(master_url=[fake.url]))
    assert client.add_filter("a-S1").entries() == [{"agent_id": "a-S1", "hostname": "h"}]
    method, path, auth, content_type, body = fake.seen[-1]
    assert (method, content_type, json.loads(body)) == ("POST", "application/json", {"agentId": "a-S1"})
    assert auth is None
    for bad in (None, 5, "", ["a-S1"]):
        with pytest.raises(MesosError, match="must be a non-empty string"):
            client.add_filter(bad)


def test_delete_404_no_filter_means_absent(masters):
    fake = masters()
    fake.routes[("GET", "/master/redirect")] = (307, {"Location": "//SELF"}, "")
    fake.routes[("DELETE", "/allocator/filters")] = (404, {}, "No filter exists for agent a-S1")
    client = Client(dict(master_url=[fake.url]))
    assert client.remove_filter("a-S1") == (None, False)
    # the DELETE, then one more /master/redirect to make sure the leader did not move
    assert [seen[1] for seen in fake.seen[-2:]] == ["/allocator/filters?agentId=a-S1", "/master/redirect"]


NO_FILTER = (404, {}, "No filter exists for agent a-S1")


@pytest.mark.parametrize(
    "first, lost",
    [
        (DROP, True),  # the master may have removed it before the connection dropped
        ((504, {}, "Gateway Timeout"), True),  # a proxy gave up waiting for the master
        ((502, {}, "Bad Gateway"), True),
        ((429, {}, "Too Many Requests"), False),  # refused: nothing was done
        ((408, {}, "Request Timeout"), False),
    ],
)
def test_a_retry_after_a_lost_answer_says_so(masters, first, lost):
    """A "no filter" answer to a retried DELETE may be the first attempt's own doing."""
    fake = masters()
    fake.routes[("GET", "/master/redirect")] = (307, {"Location": "//SELF"}, "")
    fake.routes[("DELETE", "/allocator/filters")] = [first, NO_FILTER]
    client = Client(dict(master_url=[fake.url]))
    assert client.remove_filter("a-S1") == (None, lost)
    assert sum(1 for seen in fake.seen if seen[0] == "DELETE") == 2
    # the next call starts afresh
    assert client.remove_filter("a-S1") == (None, False)


def test_a_refused_connection_sent_nothing(masters):
    """The named leader refuses the connection (it died); the new one answers "no filter": somebody else's doing."""
    fake = masters()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead_port = probe.getsockname()[1]
    fake.routes[("GET", "/master/redirect")] = [
        (307, {"Location": "//127.0.0.1:%d" % dead_port}, ""),
        (307, {"Location": "//SELF"}, ""),
    ]
    fake.routes[("DELETE", "/allocator/filters")] = NO_FILTER
    client = Client(dict(master_url=[fake.url]))
    assert client.remove_filter("a-S1") == (None, False)
    assert client.leader == fake.url


def test_module_not_loaded_is_named(masters):
    fake = masters()
    fake.routes[("GET", "/master/redirect")] = (307, {"Location": "//SELF"}, "")
    client = Client(dict(master_url=[fake.url]))
    with pytest.raises(MesosError, match="allocator module is not loaded"):
        client.get_filters()


def test_no_leader_within_leader_timeout(masters):
    fake = masters()
    fake.routes[("GET", "/master/redirect")] = (503, {}, "No leader elected")
    client = Client(dict(master_url=[fake.url]))
    with pytest.raises(MesosError, match=r"no leading Mesos master found within leader_timeout=0.5s"):
        client.get_leader()


def test_a_503_with_a_known_leader_points_at_credentials(masters):
    """Later builds turn a 401 of their internal /master/state request into 503 No leader elected."""
    fake = masters()
    fake.routes[("GET", "/master/redirect")] = (307, {"Location": "//SELF"}, "")
    fake.routes[("GET", "/allocator/filters")] = (503, {}, "No leader elected")
    fake.routes[("GET", "/master/state")] = (401, {"WWW-Authenticate": 'Basic realm="mesos-master-readonly"'}, "")
    client = Client(dict(master_url=[fake.url], leader_timeout=0))
    with pytest.raises(MesosError, match="set principal and secret for an account that may read /master/state"):
        client.get_filters()
    assert client.build == BUILD_LATER


def test_https_to_http_redirect_is_refused(masters):
    with pytest.raises(MesosUrlError, match="refusing to go from https to http"):
        resolve_location("https://127.0.0.1:5050", "http://127.0.0.1:5051")


def test_build_probe_asks_a_standby(masters):
    leader, standby = masters(), masters()
    for fake in (leader, standby):
        fake.routes[("GET", "/master/redirect")] = (307, {"Location": "//127.0.0.1:%d" % leader.port}, "")
    standby.routes[("GET", "/allocator/filters")] = (200, {}, {"filters": []})
    client = Client(dict(master_url=[standby.url, leader.url]))
    client.get_leader()
    assert client.probe_build() == "0afdd8b"
    location = "//127.0.0.1:%d/allocator/filters" % leader.port
    standby.routes[("GET", "/allocator/filters")] = (307, {"Location": location}, "")
    client = Client(dict(master_url=[standby.url, leader.url]))
    client.get_leader()
    assert client.probe_build() == "later"


def test_no_such_agent_from_a_demoted_leader_is_retried_on_the_new_one(masters):
    """Build 0afdd8b: a master that lost leadership but still answers knows no agents."""
    configured, old, new = masters(), masters(), masters()
    configured.routes[("GET", "/master/redirect")] = (307, {"Location": "//127.0.0.1:%d" % old.port}, "")
    old.routes[("POST", "/allocator/filters")] = (400, {}, "No such agent matching agentId==a-S1")
    new.routes[("POST", "/allocator/filters")] = (200, {}, {"filters": [{"agentId": "a-S1", "hostname": "h"}]})
    client = Client(dict(master_url=[configured.url]))
    client.get_leader()
    configured.routes[("GET", "/master/redirect")] = (307, {"Location": "//127.0.0.1:%d" % new.port}, "")
    assert client.add_filter("a-S1").entries() == [{"agent_id": "a-S1", "hostname": "h"}]
    assert client.leader == new.url
    # the same answer from the leader itself is believed
    new.routes[("POST", "/allocator/filters")] = (400, {}, "No such agent matching agentId==a-S2")
    with pytest.raises(MesosError, match="400 Bad Request: No such agent"):
        client.add_filter("a-S2")


@pytest.mark.parametrize(
    "body, present, absent",
    [
        (b'{"filters":[{"agentId":"a-S1","hostname":"h1"},{"agentId":"a-S10","hostname":"h"}]}', "a-S1", "a-S2"),
        (b'{"filters": [{"agentId": "a-S1", "hostname": "h1"}]}', "a-S1", "a-S11"),  # not compact: parsed
        (b'{"filters":[]}', None, "a-S1"),
        (b'{ "filters" : [ ] }', None, "a-S1"),
        (b'{"filters":[{"hostname":"a-S1","agentId":"x\\"y"}]}', 'x"y', "a-S1"),  # an id that needs escaping
    ],
)
def test_filter_answer_has(masters, body, present, absent):
    fake = masters()
    fake.routes[("GET", "/master/redirect")] = (307, {"Location": "//SELF"}, "")
    fake.routes[("POST", "/allocator/filters")] = (200, {}, body)
    client = Client(dict(master_url=[fake.url]))
    answer = client.add_filter("a-S1")
    if present:
        assert answer.has(present)
    assert not answer.has(absent)
    assert len(answer.entries()) == body.count(b"agentId")


def test_filter_answer_not_json(masters):
    fake = masters()
    fake.routes[("GET", "/master/redirect")] = (307, {"Location": "//SELF"}, "")
    fake.routes[("POST", "/allocator/filters")] = (200, {}, b"<html>proxy</html>")
    client = Client(dict(master_url=[fake.url]))
    with pytest.raises(MesosError, match="expected a JSON answer"):
        client.add_filter("a-S1").has("a-S1")
