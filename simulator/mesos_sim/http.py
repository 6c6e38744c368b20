"""HTTP/1.1 plumbing: a threaded keep-alive server that writes each response in one send.

libprocess answers every request with a status line, `Date`, `Content-Type` (when there is a
body type) and `Content-Length` (3rdparty/libprocess/src/http.cpp, encoder.hpp). Headers and
body go out in one write with TCP_NODELAY set: two writes on a keep-alive connection meet
Nagle's algorithm and the client's delayed ACK, which adds about 40 ms to every request.
"""

from __future__ import annotations

import email.utils
import json
import socket
import ssl
import threading
import zlib
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

TEXT = "text/plain; charset=utf-8"
GZIP_MIN = 1024
JSON = "application/json"
HTML = "text/html"


@dataclass
class Request:
    method: str
    path: str
    query: dict
    raw_query: str
    headers: dict
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str | None = None
    headers: dict = field(default_factory=dict)


class Drop(Exception):
    """Close the connection without answering (a dropped connection, a crashed master)."""

    def __init__(self, crash: bool = False):
        super().__init__("connection dropped")
        self.crash = crash


def json_response(obj, status: int = 200, headers: dict | None = None, sort_keys: bool = False) -> Response:
    # stout writes a JSON::Object (a std::map) with sorted keys and the master's jsonify
    # writers in the order fields are written; both compact, without spaces.
    body = json.dumps(obj, separators=(",", ":"), sort_keys=sort_keys).encode()
    return Response(status, body, JSON, headers or {})


def text_response(status: int, text: str = "", headers: dict | None = None) -> Response:
    return Response(status, text.encode(), TEXT if text else None, headers or {})


def zlib_gzip(body: bytes) -> bytes:
    # Level 1: the bytes need not match zlib's default, only be valid gzip; the large state
    # documents stay cheap to serve.
    compressor = zlib.compressobj(1, zlib.DEFLATED, 31)
    return compressor.compress(body) + compressor.flush()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "libprocess"
    sys_version = ""

    def setup(self):
        super().setup()
        try:
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass

    def log_message(self, format, *args):
        pass

    def _serve(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        request = Request(
            method=self.command,
            path=parts.path,
            query=dict(parse_qsl(parts.query, keep_blank_values=True)),
            raw_query=parts.query,
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        try:
            response = self.server.app.dispatch(request)
        except Drop as drop:
            self.close_connection = True
            if drop.crash:
                self.server.on_crash()  # the process is gone before the client hears anything
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        self._write(response, "gzip" in request.headers.get("accept-encoding", ""))

    def _write(self, response: Response, gzip_ok: bool):
        reason = HTTPStatus(response.status).phrase
        lines = [f"HTTP/1.1 {response.status} {reason}", f"Date: {email.utils.formatdate(usegmt=True)}"]
        if response.content_type:
            lines.append(f"Content-Type: {response.content_type}")
        for name, value in response.headers.items():
            lines.append(f"{name}: {value}")
        body = response.body
        if gzip_ok and len(body) >= GZIP_MIN:
            # libprocess compresses bodies of 1 KiB or more for clients that accept gzip.
            body = zlib_gzip(body)
            lines.append("Content-Encoding: gzip")
        lines.append(f"Content-Length: {len(body)}")
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        self.wfile.write(head + body)

    def __getattr__(self, name):
        # Every method reaches the app, which answers 405 where Mesos does.
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)


def hold_port(host: str, port: int) -> socket.socket | None:
    """Keep a dead master's port from others: a socket bound to it that never listens. A connection
    there is refused, as at a killed process's port, and the kernel gives the port to nobody who asks
    for a free one (a bind to port 0, as every simulated cluster does, in any process).

    Clients still list a killed master's URL. Had another simulated cluster (a test on another
    pytest-xdist worker) got its port, they would find that cluster's leader and change its filters
    by hostname. SO_REUSEADDR: the socket binds over the dead master's connections in TIME_WAIT, and
    the master can start again on its port. None if another process took the port in the instant
    after the master closed it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        return None
    return sock


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, port: int, app, on_crash, ssl_context: ssl.SSLContext | None = None, host: str = "127.0.0.1"):
        self.app = app
        self.on_crash = on_crash
        super().__init__((host, port), _Handler)
        if ssl_context is not None:
            self.socket = ssl_context.wrap_socket(self.socket, server_side=True)
        self._thread = None
        self._connections: set = set()
        self._conn_lock = threading.Lock()

    @property
    def port(self) -> int:
        return self.server_address[1]

    def get_request(self):
        conn, addr = super().get_request()
        with self._conn_lock:
            self._connections.add(conn)
        return conn, addr

    def shutdown_request(self, request):
        with self._conn_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request, client_address):
        pass  # a client that hangs up mid-request is not the simulator's error

    def start(self):
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def stop(self):
        """Stop as a killed process would: the listening socket closes and so does every
        open keep-alive connection."""
        self.shutdown()
        self.server_close()
        with self._conn_lock:
            conns = list(self._connections)
            self._connections.clear()
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.close()
