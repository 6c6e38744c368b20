# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Hostile answers and credentials in the wrong places, over real HTTP through the modules.

A tiny master in the test answers `/master/redirect` with itself as the leader and every other request the hostile
way the test asks for: a body (or the headers) dripping one byte every two seconds, a gzip bomb, a body too large,
an error page that reflects the request's headers. Each test fails without the bound or the redaction it checks.
"""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from conftest import assert_failed, assert_ok

OFFER_FILTER_INFO = "mesos.maintenance.offer_filter_info"
FILTERS = b'{"filters":[]}'
SUMMARY = b'{"slaves":[]}'
PRINCIPAL, SECRET = "ops", "s3cret-Pa55"
TOKEN = base64.b64encode(f"{PRINCIPAL}:{SECRET}".encode()).decode()


class HostileMaster:
    """`/master/redirect` names this server (as `location`, default `//127.0.0.1:<port>`); any other request is
    answered by `answer(handler)`."""

    def __init__(self, answer, location=None):
        hostile = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                if self.path.startswith("/master/redirect"):
                    self.send_response(307)
                    self.send_header("Location", hostile.location)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                try:
                    answer(self)
                except OSError:  # the client gave up (deadline, size cap): what these tests want
                    self.close_connection = True

            do_POST = do_DELETE = do_GET

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.location = location or f"//127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hostile():
    started = []

    def start(answer, **kwargs):
        master = HostileMaster(answer, **kwargs)
        started.append(master)
        return master

    yield start
    for master in started:
        master.close()


def info_task(master_url, **args):
    args.setdefault("timeout", 5)
    return {"name": "info", OFFER_FILTER_INFO: dict(args, master_url=master_url), "ignore_errors": True}


def head(handler, status=200, length=None, extra=()):
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    if status == 307:
        handler.send_header("Location", "//127.0.0.1:1")
    if length is not None:
        handler.send_header("Content-Length", str(length))
    for key, value in extra:
        handler.send_header(key, value)
    handler.end_headers()


def drip(handler, data, every=2.0):
    for byte in data:
        handler.wfile.write(bytes([byte]))
        handler.wfile.flush()
        time.sleep(every)


# --- a whole-request deadline ----------------------------------------------------------------------------------------

DRIPPED = FILTERS + b" " * 26  # 40 bytes: 80 s at one byte every two seconds


def drip_body(handler):
    head(handler, length=len(DRIPPED))
    drip(handler, DRIPPED)


def drip_body_of_a_redirect(handler):
    # requests' Session.send reads the whole body of a 307 itself, even with stream=True and allow_redirects=False.
    head(handler, status=307, length=len(DRIPPED))
    drip(handler, DRIPPED)


def drip_headers(handler):
    handler.wfile.write(b"HTTP/1.1 200 OK\r\n")
    drip(handler, b"X-Slow: " + b"z" * 40 + b"\r\n")


@pytest.mark.parametrize("answer", [drip_body, drip_body_of_a_redirect, drip_headers])
def test_a_dripping_answer_ends_at_the_deadline(run_tasks, hostile, answer):
    """timeout=5 bounds each request in all: two attempts (a timed-out request is retried once) end in about 10 s,
    not after the 80 s the drip takes."""
    master = hostile(answer)
    result = run_tasks(info_task([master.url], timeout=5, leader_timeout=0)).result
    assert_failed(result, "within the timeout", "timeout=5s", "/allocator/filters")
    assert result["_duration"] < 30, f"the task took {result['_duration']:.1f} s"


# --- size caps -------------------------------------------------------------------------------------------------------


def gzip_bomb(unpacked_mib):
    """A gzip body of `unpacked_mib` MiB of spaces (valid JSON whitespace around an object), about 1,000 times
    smaller than what it unpacks to."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [packer.compress(FILTERS)]
    block = b" " * (1024 * 1024)
    parts.extend(packer.compress(block) for _ in range(unpacked_mib))
    parts.append(packer.flush())
    return b"".join(parts)


BOMB = gzip_bomb(256)


def bomb(handler):
    head(handler, length=len(BOMB), extra=[("Content-Encoding", "gzip")])
    handler.wfile.write(BOMB)


def announced_too_large(handler):
    size = 200 * 1024 * 1024
    head(handler, length=size)
    block = b" " * (1024 * 1024)
    for _ in range(size // len(block)):
        handler.wfile.write(block)


def chunked_too_large(handler):
    """No Content-Length: the size shows only while reading."""
    head(handler, extra=[("Transfer-Encoding", "chunked")])
    block = b" " * (1024 * 1024)
    for _ in range(200):
        handler.wfile.write(b"%x\r\n%s\r\n" % (len(block), block))
    handler.wfile.write(b"0\r\n\r\n")


@pytest.mark.parametrize(
    "answer, args, fragments",
    [
        (bomb, {}, ["larger than max_body_size=128 MiB", "unpacked from gzip"]),
        (bomb, {"max_body_size": "1M"}, ["larger than max_body_size=1 MiB", "unpacked from gzip"]),
        (announced_too_large, {}, ["larger than max_body_size=128 MiB", "Content-Length: 209715200"]),
        (chunked_too_large, {"max_body_size": "2M"}, ["larger than max_body_size=2 MiB", "bytes sent"]),
    ],
)
def test_an_answer_over_the_size_cap_is_refused(run_tasks, hostile, answer, args, fragments):
    master = hostile(answer)
    run = run_tasks(info_task([master.url], leader_timeout=0, **args))
    assert_failed(run.result, *fragments, "raise max_body_size")


def test_a_gzip_answer_within_the_cap_is_read(run_tasks, hostile):
    def answer(handler):
        packed = zlib.compress(SUMMARY if handler.path.startswith("/master/state-summary") else FILTERS, wbits=31)
        head(handler, length=len(packed), extra=[("Content-Encoding", "gzip")])
        handler.wfile.write(packed)

    master = hostile(answer)
    assert_ok(run_tasks(info_task([master.url], max_body_size="1K")).result, changed=False)


def deflated(handler):
    packed = zlib.compress(FILTERS)
    head(handler, length=len(packed), extra=[("Content-Encoding", "deflate")])
    handler.wfile.write(packed)


def corrupt_gzip(handler):
    packed = b"\x1f\x8b" + b"not gzip at all"
    head(handler, length=len(packed), extra=[("Content-Encoding", "gzip")])
    handler.wfile.write(packed)


@pytest.mark.parametrize(
    "answer, fragment",
    [(deflated, "is encoded with 'deflate', which was not asked for"), (corrupt_gzip, "is not valid gzip")],
)
def test_an_encoding_that_cannot_be_read_is_named(run_tasks, hostile, answer, fragment):
    master = hostile(answer)
    assert_failed(run_tasks(info_task([master.url], leader_timeout=0)).result, fragment, "/allocator/filters")


# --- credentials never shown -----------------------------------------------------------------------------------------


def reflect_headers(handler):
    """A proxy's error page that shows the request as it came."""
    headers = sorted(handler.headers.items(), key=lambda item: item[0] != "Authorization")
    page = ("proxy error; your request: " + " | ".join(f"{k}: {v}" for k, v in headers)).encode()
    head(handler, status=502 if handler.command != "GET" else 400, length=len(page))
    handler.wfile.write(page)


def test_an_error_page_reflecting_the_authorization_header_is_redacted(run_tasks, hostile):
    master = hostile(reflect_headers)
    run = run_tasks(info_task([master.url], principal=PRINCIPAL, secret=SECRET, leader_timeout=0))
    result = run.result
    assert_failed(result, "400 Bad Request", "proxy error", "Authorization: Basic ********")
    shown = json.dumps(result)
    assert TOKEN not in shown and SECRET not in shown, shown


def closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize(
    "master_url",
    [
        "http://ops:pw-x9@127.0.0.1:port",  # the port is the problem
        "http://ops:pw-x9@127.0.0.1:99999",
        "http://ops:pw-x9@unreachable.invalid:5050",
        "http://ops:pw-x9@127.0.0.1:CLOSED",
    ],
)
def test_userinfo_of_master_url_is_never_shown(run_tasks, master_url):
    master_url = master_url.replace("CLOSED", str(closed_port()))
    run = run_tasks(info_task([master_url], leader_timeout=0))
    assert run.result["_status"] == "failed"
    shown = json.dumps(run.result) + run.stdout + run.stderr
    assert "pw-x9" not in shown, shown


def honest(handler):
    """What a master with no agents answers."""
    body = SUMMARY if handler.path.startswith("/master/state-summary") else FILTERS
    head(handler, length=len(body))
    handler.wfile.write(body)


def test_userinfo_in_the_leaders_location_is_dropped(run_tasks, hostile):
    """A master's `Location` with userinfo: the leader's URL drops it, so requests neither shows it nor sends it as
    Basic auth (which it does for userinfo in a URL when no credentials are given)."""
    sent = []

    def answer(handler):
        sent.append(handler.headers.get("Authorization"))
        honest(handler)

    master = hostile(answer)
    master.location = f"//ops:pw-x9@127.0.0.1:{master.port}"
    result = run_tasks(info_task([master.url])).result
    assert_ok(result, changed=False)
    assert result["leader"] == f"http://127.0.0.1:{master.port}"
    assert sent and sent == [None] * len(sent), sent
    assert "pw-x9" not in json.dumps(result)
