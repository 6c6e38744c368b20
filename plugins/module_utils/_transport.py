# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""One HTTP request to a Mesos master, bounded in time and in size, and the policy for retrying it.

* **A deadline per request.** ``timeout`` bounds the whole request: connecting, the status line and headers, and
  the whole body. A per-read socket timeout alone does not: a master (or proxy) that sends one byte every two
  seconds never trips a five-second read timeout. A watchdog shuts the connection's socket down when the deadline
  passes, whatever the request is waiting for.
* **A size cap per answer.** ``max_body_size`` bounds the body as it comes over the wire and once unpacked from
  gzip, so that neither a huge answer nor a small gzip bomb can exhaust the memory of the host.
* **No body is read by ``requests``.** ``Session.send`` reads the whole body of a redirect (to resolve it) even with
  ``stream=True`` and ``allow_redirects=False``, without any of the bounds above. Requests go through the session's
  adapter instead, which reads the status line and headers only; the body is read here.
* **Retries.** Which failures and statuses are worth another attempt, and how long to wait before it.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import traceback
import zlib

from ansible_collections.mesos.maintenance.plugins.module_utils._errors import (
    MesosError,
    TransportError,
    hide,
)

REQUESTS_IMPORT_ERROR = None
try:
    import requests
    import requests.adapters
    import requests.exceptions
    import requests.utils
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
    from urllib3.exceptions import ReadTimeoutError
    HAS_REQUESTS = True
except ImportError:
    REQUESTS_IMPORT_ERROR = traceback.format_exc()
    HAS_REQUESTS = False
    HTTPConnectionPool = HTTPSConnectionPool = object
    ReadTimeoutError = None


RETRY_STATUS = (408, 429, 502, 503, 504)
# A proxy's "the master did not answer (properly)": the master's own handlers do not send these, so the request
# got past the proxy and the master may have applied it.
GATEWAY_STATUS = (502, 504)
MAX_ATTEMPTS = 5           # attempts per call for transient failures
DEFAULT_TIMEOUT = 10.0     # seconds for one request when timeout is not set
MAX_READ_TIMEOUTS = 2      # attempts per call when the master accepts the connection but does not answer in time
RETRY_AFTER_CAP = 10.0     # never sleep longer than this for one Retry-After

MIB = 1024 * 1024
# The default of max_body_size: the simulator's /master/state-summary of 10,000 agents is 7.1 MB (see
# benchmarks/bench_body_size.py); real masters add resources and attributes to each agent.
DEFAULT_MAX_BODY_SIZE = 128 * MIB
CHUNK = 64 * 1024


class AnswerLostError(TransportError):
    """No answer came, but the request may have reached the master, which may have acted on it.

    ``timed_out`` tells that the answer did not come (in full) within ``timeout``.
    """

    def __init__(self, msg, transient, timed_out=False, **kwargs):
        super(AnswerLostError, self).__init__(msg, transient, **kwargs)
        self.timed_out = timed_out


def parse_retry_after(value, default, cap=RETRY_AFTER_CAP):
    """Seconds to wait from a ``Retry-After`` header (only the delta-seconds form), bounded by ``cap``."""
    if value is None:
        return min(default, cap)
    try:
        seconds = float(str(value).strip())
    except ValueError:
        return min(default, cap)
    if seconds < 0:
        seconds = 0.0
    return min(seconds, cap)


DNS_MARKERS = ('name or service not known', 'nodename nor servname', 'temporary failure in name resolution',
               'failed to resolve', 'nameresolutionerror', 'no address associated with hostname', 'getaddrinfo failed')
REFUSED_MARKERS = ('connection refused', 'errno 111')


def describe_exception(exc):
    """Classify a requests exception: (short text, transient?)."""
    text = str(exc)
    lowered = text.lower()
    if isinstance(exc, requests.exceptions.SSLError):
        reason = 'TLS handshake failed'
        if 'certificate verify failed' in lowered or 'certificate_verify_failed' in lowered:
            reason = 'TLS certificate verification failed'
        elif 'hostname' in lowered and 'match' in lowered:
            reason = 'TLS certificate does not match the host name'
        return ('%s (%s); give the CA that signed the master certificate in ca_path, or set '
                'validate_certs=false to skip verification (insecure)' % (reason, _last_reason(text)), False)
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return 'connection timed out', True
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return 'no answer within the timeout', True
    if isinstance(exc, requests.exceptions.ConnectionError):
        if any(marker in lowered for marker in DNS_MARKERS):
            return 'host name cannot be resolved (DNS)', False
        if any(marker in lowered for marker in REFUSED_MARKERS):
            return 'connection refused (is mesos-master running and listening there?)', True
        if 'remotedisconnected' in lowered or 'connection aborted' in lowered or 'connection reset' in lowered:
            return 'connection closed by the master without an answer', True
        return 'connection failed (%s)' % _last_reason(text), True
    if isinstance(exc, (requests.exceptions.InvalidURL, requests.exceptions.InvalidSchema,
                        requests.exceptions.MissingSchema)):
        return 'invalid URL (%s)' % text, False
    if isinstance(exc, (IOError, OSError)):
        # e.g. a client_cert/ca_path file that cannot be read
        return 'cannot set up the connection (%s)' % text, False
    return '%s: %s' % (type(exc).__name__, text), False


def may_have_reached_master(exc):
    """Whether the request behind a requests exception may have reached the master (which may then have acted on
    it) although no answer came back: a read timeout, or a connection closed or reset after it was open.

    Only a connection that was never made is sure to have carried nothing: refused, unresolvable host, connect
    timeout, TLS handshake, or any other failure to establish it. A kept-alive connection that the master closed
    just as the request went out looks like a lost answer too; the cost of that doubt is only a change reported
    as ours that somebody else made in the same instant.
    """
    if isinstance(exc, (requests.exceptions.ConnectTimeout, requests.exceptions.SSLError)):
        return False
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return True
    if isinstance(exc, requests.exceptions.ConnectionError):
        lowered = str(exc).lower()
        never_connected = DNS_MARKERS + REFUSED_MARKERS + ('failed to establish a new connection',)
        return not any(marker in lowered for marker in never_connected)
    return False


def _last_reason(text, limit=200):
    text = text.strip()
    if len(text) > limit:
        text = '...' + text[-limit:]
    return text


def num_text(value):
    """Print 30.0 as 30."""
    if float(value).is_integer():
        return int(value)
    return value


def request_timeout(value):
    """The ``timeout`` option: seconds for one request, ``DEFAULT_TIMEOUT`` when not set."""
    if value is None:
        return DEFAULT_TIMEOUT
    if not 0 < value < float('inf'):  # also false for NaN
        raise MesosError('timeout must be a number of seconds greater than 0 (the wait for the answer to one HTTP '
                         'request; default %s), not %s' % (num_text(DEFAULT_TIMEOUT), value))
    return float(value)


def _size(limit):
    """A byte count as people read it: 128 MiB, 1.5 MiB, 300 bytes."""
    if limit >= MIB:
        return '%s MiB' % num_text(round(limit / float(MIB), 2))
    return '%d bytes' % limit


# --- the deadline ---------------------------------------------------------------------------------------------------

_CURRENT = threading.local()


class _Watch(object):
    """The deadline of one request: the connection it runs on, and whether the deadline passed."""

    def __init__(self):
        self.conn = None
        self.fired = False
        self._lock = threading.Lock()
        self._done = False

    def fire(self):
        with self._lock:
            if self._done:
                return
            self.fired = True
            sock = getattr(self.conn, 'sock', None)
        if sock is not None:
            try:
                # socket.socket's own shutdown, also for an SSLSocket: the blocked read in the other thread ends
                # at once, whatever it waits for (connect, TLS handshake, headers or body).
                socket.socket.shutdown(sock, socket.SHUT_RDWR)
            except (OSError, ValueError):
                pass

    def finish(self):
        """Disarm; whether the request was done in time."""
        with self._lock:
            self._done = True
            return not self.fired


def _watch_connection(conn):
    watch = getattr(_CURRENT, 'watch', None)
    if watch is not None:
        watch.conn = conn
    return conn


class _WatchedHTTPPool(HTTPConnectionPool):
    def _get_conn(self, timeout=None):
        return _watch_connection(super(_WatchedHTTPPool, self)._get_conn(timeout))


class _WatchedHTTPSPool(HTTPSConnectionPool):
    def _get_conn(self, timeout=None):
        return _watch_connection(super(_WatchedHTTPSPool, self)._get_conn(timeout))


WATCHED_POOLS = {'http': _WatchedHTTPPool, 'https': _WatchedHTTPSPool}


class _WatchedAdapter(requests.adapters.HTTPAdapter if HAS_REQUESTS else object):
    """An adapter whose connections the watchdog of the current request can shut down (SOCKS proxies excepted:
    their requests are bounded by the read timeout of each socket read only)."""

    def init_poolmanager(self, *args, **kwargs):
        super(_WatchedAdapter, self).init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = WATCHED_POOLS

    def proxy_manager_for(self, proxy, **proxy_kwargs):
        manager = super(_WatchedAdapter, self).proxy_manager_for(proxy, **proxy_kwargs)
        if not proxy.lower().startswith('socks'):
            manager.pool_classes_by_scheme = WATCHED_POOLS
        return manager


# --- the body -------------------------------------------------------------------------------------------------------

class BodyTooLargeError(MesosError):
    """The answer is larger than max_body_size (as sent, or unpacked)."""


class _Body(object):
    """Collects a body up to ``limit`` bytes, as sent and unpacked from gzip."""

    def __init__(self, limit, encoding, method, url, status):
        self.limit = limit
        self.method = method
        self.url = url
        self.status = status
        self.sent = 0
        self.size = 0
        self.parts = []
        self.encoding = encoding
        self._gunzip = zlib.decompressobj(16 + zlib.MAX_WBITS) if encoding in ('gzip', 'x-gzip') else None

    def too_large(self, what):
        return BodyTooLargeError(
            '%s %s: the answer (HTTP %s) is larger than max_body_size=%s (%s); raise max_body_size if the masters '
            'of this cluster really answer that much' % (self.method, self.url, self.status, _size(self.limit), what),
            method=self.method, url=self.url, status=self.status)

    def _take(self, data):
        self.size += len(data)
        if self.size > self.limit:
            raise self.too_large('more than %d bytes once unpacked from %s' % (self.limit, self.encoding))
        self.parts.append(data)

    def add(self, chunk):
        self.sent += len(chunk)
        if self.sent > self.limit:
            raise self.too_large('more than %d bytes sent' % self.limit)
        if self._gunzip is None:
            self.size += len(chunk)
            self.parts.append(chunk)
            return
        # Unpack at most one byte more than the room left: a gzip bomb stops here, not in memory.
        data = chunk
        while data:
            try:
                self._take(self._gunzip.decompress(data, self.limit - self.size + 1))
            except zlib.error as exc:
                raise MesosError('%s %s: the answer (HTTP %s) is not valid gzip (%s)'
                                 % (self.method, self.url, self.status, exc),
                                 method=self.method, url=self.url, status=self.status)
            data = self._gunzip.unconsumed_tail

    def content(self):
        if self._gunzip is not None:
            self._take(self._gunzip.flush())
        return b''.join(self.parts)


def read_body(raw, limit, encoding, method, url, status):
    """The whole body of a streamed urllib3 response, within ``limit``; raises ``BodyTooLargeError``."""
    body = _Body(limit, encoding, method, url, status)
    while True:
        chunk = raw.read(CHUNK, decode_content=False)
        if not chunk:
            return body.content()
        body.add(chunk)


# --- the transport --------------------------------------------------------------------------------------------------

class Transport(object):
    """Sends one request at a time to a URL it is given, with a deadline and a size cap; no retries, no redirects.

    ``params`` are the connection options (``timeout``, ``max_body_size``, ``validate_certs``, ``ca_path``,
    ``client_cert``, ``client_key``, ``principal``, ``secret``). The credentials are only registered to be hidden
    from anything shown (``_errors.redact``); which request carries them is the caller's choice.
    """

    def __init__(self, params):
        self.params = params
        self.timeout = request_timeout(params.get('timeout'))
        limit = params.get('max_body_size')
        self.max_body_size = DEFAULT_MAX_BODY_SIZE if limit is None else int(limit)
        if self.max_body_size <= 0:
            raise MesosError('max_body_size must be more than 0 bytes (for example 128M), not %r' % limit)
        # Given with every request, not on the session: requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE
        # override a session's verify setting, but not a per-request one.
        if not params.get('validate_certs', True):
            self.verify = False
        else:
            self.verify = (params.get('ca_path') or os.environ.get('REQUESTS_CA_BUNDLE')
                           or os.environ.get('CURL_CA_BUNDLE') or True)
        self.cert = None
        if params.get('client_cert'):
            self.cert = (params['client_cert'], params['client_key']) if params.get('client_key') \
                else params['client_cert']
        self.request_count = 0
        self._proxies = {}
        self._session = None
        if params.get('principal') is not None and params.get('secret') is not None:
            hide(params['principal'], params['secret'])

    @property
    def session(self):
        if self._session is None:
            session = requests.Session()
            # No per-request environment lookups (proxies, CA bundle and ~/.netrc for every request cost about a
            # tenth of the time of a bulk change). The proxies and the CA bundle from the environment are applied
            # explicitly instead (see _proxies_for and __init__); ~/.netrc is never read, so credentials
            # only ever come from principal and secret.
            session.trust_env = False
            if not self.params.get('validate_certs', True):
                try:
                    import urllib3
                    urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
                except Exception:  # pragma: no cover - cosmetic only
                    pass
            session.headers['User-Agent'] = 'mesos.maintenance (python-requests)'
            session.headers['Accept'] = 'application/json'
            # Only what read_body unpacks within the cap.
            session.headers['Accept-Encoding'] = 'gzip'
            adapter = _WatchedAdapter()
            session.mount('http://', adapter)
            session.mount('https://', adapter)
            self._session = session
        return self._session

    def _proxies_for(self, url):
        """The proxies the environment (``HTTPS_PROXY``, ``NO_PROXY``, ...) sets for a URL's origin, looked up once."""
        parts = requests.utils.urlparse(url)
        origin = (parts.scheme, parts.netloc)
        if origin not in self._proxies:
            try:
                self._proxies[origin] = requests.utils.get_environ_proxies(url)
            except Exception:  # a malformed proxy variable must not break the module
                self._proxies[origin] = {}
        return self._proxies[origin]

    def send(self, method, url, params=None, json_body=None, auth=None):
        """One HTTP request, no retries, no redirects; a ``requests.Response`` whose body is read in full.

        Raises ``TransportError`` (``AnswerLostError`` when the request may have reached the master) when no
        complete answer came within ``timeout``, and ``BodyTooLargeError`` for a body over ``max_body_size``.
        """
        headers = {}
        data = None
        if json_body is not None:
            # Exactly "application/json": the allocator answers 415 to anything else, charset included.
            data = json.dumps(json_body)
            headers['Content-Type'] = 'application/json'
        self.request_count += 1
        session = self.session
        prepared = session.prepare_request(requests.Request(method, url, params=params, data=data, headers=headers,
                                                            auth=auth))
        watch = _Watch()
        timer = threading.Timer(self.timeout, watch.fire)
        timer.daemon = True
        _CURRENT.watch = watch
        timer.start()
        response = None
        try:
            response = session.get_adapter(url).send(
                prepared, stream=True, timeout=self.timeout, verify=self.verify, cert=self.cert,
                proxies=self._proxies_for(url))
            response._content = self._read_body(response, method, url)
            response._content_consumed = True
            in_time = watch.finish()
        except MesosError:
            raise
        except Exception as exc:  # requests and urllib3 raise many kinds; classify them all
            raise self._failure(exc, method, url, params, not watch.finish(), response is not None)
        finally:
            watch.finish()
            timer.cancel()
            _CURRENT.watch = None
            if response is not None:
                # Gives the connection back to the pool, or closes it when the body was not read to its end.
                response.close()
        if not in_time:
            # The watchdog's shutdown reads as the end of the headers, or of a body without a length.
            raise self._failure(None, method, url, params, True, True)
        return response

    def _read_body(self, response, method, url):
        status = response.status_code
        length = response.headers.get('Content-Length', '')
        if length.isdigit() and int(length) > self.max_body_size:
            raise _Body(self.max_body_size, None, method, url, status).too_large('Content-Length: %s' % length)
        encoding = response.headers.get('Content-Encoding', '').strip().lower()
        if encoding not in ('', 'identity', 'gzip', 'x-gzip'):
            raise MesosError('%s %s: the answer (HTTP %s) is encoded with %r, which was not asked for (only gzip is)'
                             % (method, url, status, encoding), method=method, url=url, status=status)
        return read_body(response.raw, self.max_body_size, encoding, method, url, status)

    def _failure(self, exc, method, url, params, timed_out, answered):
        shown = url if not params else '%s?%s' % (url, '&'.join('%s=%s' % kv for kv in sorted(params.items())))
        if answered:
            # The status line and headers came; the body did not, in full.
            timed_out = timed_out or isinstance(exc, ReadTimeoutError)
            if timed_out:
                text = ('the answer did not arrive in full within the timeout (timeout=%ss covers connecting, the '
                        'headers and the whole body)' % num_text(self.timeout))
            else:
                text = 'connection closed by the master in the middle of the answer'
            return AnswerLostError('%s %s: %s' % (method, shown, text), True, timed_out=timed_out, method=method,
                                   url=shown)
        text, transient = describe_exception(exc)
        reached = may_have_reached_master(exc)
        timed_out = isinstance(exc, requests.exceptions.ReadTimeout) or (timed_out and reached)
        if timed_out:
            text, transient = 'no answer within the timeout', True
        if 'timed out' in text or 'no answer' in text:
            text = '%s (timeout=%ss)' % (text, num_text(self.timeout))
        msg = '%s %s: %s' % (method, shown, text)
        if reached:
            return AnswerLostError(msg, transient, timed_out=timed_out, method=method, url=shown)
        return TransportError(msg, transient, method=method, url=shown)

    def close(self):
        if self._session is not None:
            self._session.close()
            self._session = None
