# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""HTTP client for a Mesos cluster running the Offer Filtering Allocator module.

What it does, and what it trusts:

* **Leader discovery.** It asks ``/master/redirect`` of the configured masters, in order, until one answers
  307 with a ``Location``. That ``Location`` is scheme-less (``//host:port``) and is resolved against the
  scheme of the master that gave it. ``503`` (no leader elected yet), refused connections and timeouts are
  retried across all masters until ``leader_timeout`` has passed; answers that cannot get better by waiting
  (TLS failure, unknown host, 404) end the search at once when every master gave one.
* **Everything else goes to the leader.** The ``0afdd8b`` build of the allocator module has no leader check:
  a standby answers ``GET /allocator/filters`` with an empty list. Asking the leader first is what keeps the
  modules right with that build.
* **Redirects are never followed blindly.** Every request is sent with ``allow_redirects=False``. A 307 from
  any endpoint other than ``/master/redirect`` means the leader moved: the client forgets the leader, asks
  the configured masters again and retries, a bounded number of times. The ``Location`` of such a 307 is not
  used (later builds of the module put the leader's IP from its pid there, which need not be a host we know).
* **Credentials** (HTTP Basic) are only sent to the origins (scheme, host, port) listed in ``master_url`` and to
  the leaders that a configured master named in its ``/master/redirect`` answer. A redirect from https to http
  is refused, so credentials and filters never travel in clear text after the user asked for TLS.
* **Retries** are bounded: connection errors and 408/429/502/503/504 are retried (``Retry-After`` honoured up
  to a cap), never more than ``MAX_ATTEMPTS`` times per call and never past ``leader_timeout`` for leader loss.
  A request that may have reached the master before its answer was lost (read timeout, connection closed, a
  proxy's 502/504) may have been applied: the answer to its retry says so (``answer_lost``), so that "nothing to
  do" is not taken for somebody else's doing.
* **Errors** are ``MesosError`` with the method, URL, status and body, and a message that says what to do.
"""

from __future__ import annotations

import json
import re
import socket
import time

from urllib.parse import urlsplit, urlunsplit

from ansible_collections.mesos.maintenance.plugins.module_utils._errors import (
    MesosError,
    TransportError,
    not_a_master,
    sentence,
    short_body,
)
from ansible_collections.mesos.maintenance.plugins.module_utils._filters import agent_problem
from ansible_collections.mesos.maintenance.plugins.module_utils._transport import (
    GATEWAY_STATUS,
    HAS_REQUESTS,
    MAX_ATTEMPTS,
    MAX_READ_TIMEOUTS,
    REQUESTS_IMPORT_ERROR,
    RETRY_STATUS,
    AnswerLostError,
    Transport,
    num_text,
    parse_retry_after,
)


FILTERS_PATH = '/allocator/filters'
REDIRECT_PATH = '/master/redirect'
STATE_PATH = '/master/state'
STATE_SUMMARY_PATH = '/master/state-summary'

BUILD_0AFDD8B = '0afdd8b'
BUILD_LATER = 'later'

REDIRECT_STATUS = (301, 302, 303, 307, 308)
MAX_LEADER_CHANGES = 3     # 307s (leader moved) followed per call
DISCOVERY_PAUSE = 0.5      # pause between two rounds over all masters


class MesosUrlError(MesosError):
    pass


# The one message for a run without a master URL, whichever module, role or playbook it comes from: every way to
# give one, for each way of using the collection.
NO_MASTER_URL = ('No master URL given: set the inventory variable mesos_master_url (or agent_maintenance_master_url) '
                 'for the playbooks and roles of mesos.maintenance, the option master_url of a module, or the '
                 'environment variable MESOS_MASTER_URL on the host that sends the API calls, to one or more masters '
                 'such as http://m1.example.com:5050 (any one is enough: the leader is found). Nothing was changed.')


def normalize_master_url(url):
    """Turn a ``master_url`` item into ``scheme://host:port[/prefix]`` without a trailing slash."""
    if not isinstance(url, str) or not url.strip():
        raise MesosUrlError('master_url contains an empty entry')
    url = url.strip()
    if '://' not in url:
        url = 'http://' + url
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # an unclosed IPv6 bracket, for one
        raise MesosUrlError('master_url %r is not a valid URL (%s)' % (url, exc))
    if parts.scheme not in ('http', 'https'):
        raise MesosUrlError('master_url %r: only http and https are supported, not %r' % (url, parts.scheme))
    if not parts.hostname:
        raise MesosUrlError('master_url %r has no host name' % url)
    try:
        parts.port
    except ValueError:
        raise MesosUrlError('master_url %r has an invalid port' % url)
    if parts.query or parts.fragment:
        raise MesosUrlError('master_url %r must be a base URL without query or fragment' % url)
    if parts.username or parts.password:
        raise MesosUrlError('master_url %r: give credentials with principal and secret, not in the URL' % url)
    return urlunsplit((parts.scheme, parts.netloc.lower(), parts.path.rstrip('/'), '', ''))


def leader_timeout_seconds(value):
    """The ``leader_timeout`` option: seconds to look for a leading master, 0 (each master asked once) when not set."""
    if value is None:
        return 0.0
    if not 0 <= value < float('inf'):  # also false for NaN
        raise MesosError('leader_timeout must be a number of seconds, 0 or more (how long to keep looking for a '
                         'leading master; 0 asks each master once; default 30), not %s' % value)
    return float(value)


def basic_auth(principal, secret):
    """``(principal, secret)`` for HTTP Basic authentication, ``None`` without credentials.

    ``requests`` encodes both as Latin-1; a character outside it would fail every request with an error that shows
    it, so it is refused here, without saying which character it was.
    """
    if principal is None and secret is None:
        return None
    if principal is None or secret is None:
        # required_together lets an explicit null through; requests would send the text "None".
        raise MesosError('principal and secret go together, but %s is null; give both or neither'
                         % ('principal' if principal is None else 'secret'))
    for option, value in (('principal', principal), ('secret', secret)):
        try:
            value.encode('latin-1')
        except UnicodeEncodeError:
            raise MesosError('%s contains a character outside Latin-1 (ISO 8859-1), which HTTP Basic authentication '
                             'cannot send; use one made of Latin-1 characters (ASCII is safest)' % option)
    return (principal, secret)


def url_origin(url):
    """(scheme, host, port) of a URL, with the default port filled in."""
    parts = urlsplit(url)
    port = parts.port
    if port is None:
        port = 443 if parts.scheme == 'https' else 80
    return (parts.scheme, (parts.hostname or '').lower(), port)


def resolve_location(base_url, location):
    """Resolve the ``Location`` of a master's redirect against the URL of the master that sent it.

    Mesos writes ``//host:port`` (no scheme); the scheme of ``base_url`` is used then. Returns the base URL of
    the master named (scheme, host and port, no path, no userinfo). Raises ``MesosUrlError`` for a redirect from
    https to http, a scheme other than http(s), or a Location without a host.
    """
    base = urlsplit(base_url)
    if not location or not location.strip():
        raise MesosUrlError('the master at %s answered a redirect without a Location' % base_url)
    loc = urlsplit(location.strip())
    scheme = loc.scheme or base.scheme
    # Never userinfo a master sent: requests would send it as Basic auth (credentials come from principal and
    # secret only; master_url has none).
    netloc = loc.netloc.rpartition('@')[2] if loc.netloc else base.netloc
    if scheme not in ('http', 'https'):
        raise MesosUrlError('the master at %s redirected to %r, which is not an http(s) URL' % (base_url, location))
    if base.scheme == 'https' and scheme != 'https':
        raise MesosUrlError(
            'the master at %s redirected to %r: refusing to go from https to http (credentials and filters '
            'would travel unencrypted)' % (base_url, location))
    if not urlsplit('%s://%s' % (scheme, netloc)).hostname:
        raise MesosUrlError('the master at %s redirected to %r, which names no host' % (base_url, location))
    return '%s://%s' % (scheme, netloc.lower())


def _addresses(host, port):
    try:
        return set(info[4][0] for info in socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM))
    except (socket.error, UnicodeError):
        return set([host])


def same_master(url_a, url_b):
    """Whether two URLs reach the same master (same port, and the host names share an address).

    ``/master/redirect`` names the leader by hostname while ``master_url`` often uses an IP address.
    """
    scheme_a, host_a, port_a = url_origin(url_a)
    scheme_b, host_b, port_b = url_origin(url_b)
    if port_a != port_b:
        return False
    if host_a == host_b:
        return True
    return bool(_addresses(host_a, port_a) & _addresses(host_b, port_b))


def parse_json(response, method, url):
    """The body of a response as JSON, or a ``MesosError`` that shows what came instead."""
    try:
        return json.loads(response.content)
    except ValueError:
        raise MesosError('expected a JSON answer from %s %s (HTTP %s), got: %r'
                         % (method, url, response.status_code, short_body(response.content, 120)),
                         method=method, url=url, status=response.status_code, body=response.content)


class FilterAnswer(object):
    """The answer of the filter endpoint to a POST or DELETE: the whole filter list, parsed only when needed.

    Each POST and DELETE answers with the whole list, so a bulk change of N agents receives N lists of up to N
    entries. Parsing them all costs as much as the requests themselves; ``has`` instead looks for the exact
    ``"agentId":"<id>"`` text when the master writes compact JSON (stout does), and parses otherwise.
    """

    SAFE_ID = re.compile(r'^[A-Za-z0-9._:-]+$')
    EMPTY = re.compile(br'^\s*\{\s*"filters"\s*:\s*\[\s*\]\s*\}\s*$')

    def __init__(self, client, response, method, url):
        self.client = client
        self.content = response.content
        self.response = response
        self.method = method
        self.url = url
        self._raw = None

    @property
    def raw(self):
        if self._raw is None:
            body = parse_json(self.response, self.method, self.url)
            self._raw = self.client._raw_filters(body, self.method, self.url)
        return self._raw

    def has(self, agent_id):
        """Whether the list holds ``agent_id``."""
        content = self.content
        if self.SAFE_ID.match(agent_id) and content[:1] == b'{':
            if b'"agentId":"' in content:
                return ('"agentId":"%s"' % agent_id).encode() in content
            if self.EMPTY.match(content):
                return False
        for entry in self.raw:
            if isinstance(entry, dict) and entry.get('agentId') == agent_id:
                return True
        return False

    def entries(self):
        """The list as ``[{'agent_id', 'hostname'}]``."""
        return self.client.filter_entries(self.raw, self.method, self.url)


class MesosClientBase(object):
    """The HTTP conversation with a Mesos cluster, independent of AnsibleModule.

    Subclasses provide ``warn``. Errors are raised as ``MesosError``.
    """

    def __init__(self, params, sleep=None, clock=None):
        if not HAS_REQUESTS:
            raise MesosError('the Python library "requests" is required on the host that runs this module',
                             exception=REQUESTS_IMPORT_ERROR)
        self.params = params
        self._sleep = sleep or time.sleep
        self._clock = clock or time.monotonic
        given = params.get('master_url') or []
        # An empty MESOS_MASTER_URL (an AWX credential left blank) arrives as [''].
        if not any(isinstance(item, str) and item.strip() for item in given):
            raise MesosUrlError(NO_MASTER_URL)
        masters = []
        for item in given:
            url = normalize_master_url(item)
            if url not in masters:
                masters.append(url)
        self.masters = masters
        self.leader_timeout = leader_timeout_seconds(params.get('leader_timeout'))
        self.principal = params.get('principal')
        self.secret = params.get('secret')
        self._auth = basic_auth(self.principal, self.secret)
        self._trusted = set(url_origin(m) for m in masters)
        self.leader = None
        self.build = None
        self.transport = Transport(params)

    # --- hooks -------------------------------------------------------------------------------------------
    def warn(self, msg):
        raise NotImplementedError()

    # --- transport ---------------------------------------------------------------------------------------
    @property
    def request_count(self):
        return self.transport.request_count

    def is_trusted(self, url):
        return url_origin(url) in self._trusted

    def send(self, method, url, params=None, json_body=None):
        """One HTTP request, no retries, no redirects (see ``Transport.send``)."""
        auth = self._auth if self._auth is not None and self.is_trusted(url) else None
        return self.transport.send(method, url, params=params, json_body=json_body, auth=auth)

    # --- leader discovery --------------------------------------------------------------------------------
    def discover_leader(self, unanswered=None):
        """Find the leading master through ``/master/redirect``; cache and return its base URL.

        ``unanswered`` is a leader that just gave no answer: it is asked last, since a master that hangs costs a
        whole request timeout and the leader has most likely moved to another.
        """
        deadline = self._clock() + self.leader_timeout
        masters = self.masters
        if unanswered is not None:
            hung = [base for base in masters if same_master(base, unanswered)]
            masters = [base for base in masters if base not in hung] + hung
        while True:
            notes = []
            only_permanent = True
            for base in masters:
                url = base + REDIRECT_PATH
                try:
                    response = self.send('GET', url)
                except TransportError as exc:
                    notes.append(exc.msg)
                    only_permanent = only_permanent and not exc.transient
                    continue
                status = response.status_code
                location = response.headers.get('Location')
                if status in REDIRECT_STATUS and location:
                    try:
                        leader = resolve_location(base, location)
                    except MesosUrlError as exc:
                        notes.append(exc.msg)
                        continue
                    # Learned from a configured master: credentials may go there.
                    self._trusted.add(url_origin(leader))
                    self.leader = leader
                    return leader
                if status == 503:
                    notes.append('GET %s: no leader elected (503)' % url)
                    only_permanent = False
                elif status == 404:
                    notes.append('GET %s: 404, this does not look like a Mesos master' % url)
                elif status in (401, 403):
                    notes.append('GET %s: %s %s' % (url, status, short_body(response.content, 100) or ''))
                elif status >= 500 or status in RETRY_STATUS:
                    notes.append('GET %s: HTTP %s %s' % (url, status, short_body(response.content, 100) or ''))
                    only_permanent = False
                else:
                    shown = short_body(response.content, 100) or ''
                    notes.append('GET %s: unexpected HTTP %s %s' % (url, status, shown))
            if only_permanent:
                raise MesosError('cannot find the leading Mesos master: ' + '; '.join(notes))
            remaining = deadline - self._clock()
            if remaining <= 0:
                raise MesosError('no leading Mesos master found within leader_timeout=%ss: %s'
                                 % (num_text(self.leader_timeout), '; '.join(notes)))
            self._sleep(min(DISCOVERY_PAUSE, remaining))

    def get_leader(self):
        return self.leader or self.discover_leader()

    # --- requests to the leader --------------------------------------------------------------------------
    def leader_request(self, method, path, params=None, json_body=None, wait_unavailable=True):
        """Send a request to the leader, following leader changes and retrying transient failures.

        Returns the response for any status that retrying cannot change (2xx, 4xx, ...). With
        ``wait_unavailable=False`` a 503 is returned at once instead of being retried until ``leader_timeout``.
        The response's ``answer_lost`` is True when an earlier attempt of this call may have reached the master
        and got no answer: the master may have applied it, so an answer such as "No filter exists" may describe
        this call's own effect.
        """
        attempts = 0
        leader_changes = 0
        read_timeouts = 0
        unavailable_since = None
        answer_lost = False
        unanswered = None
        while True:
            leader = self.leader or self.discover_leader(unanswered)
            url = leader + path
            attempts += 1
            try:
                response = self.send(method, url, params=params, json_body=json_body)
            except TransportError as exc:
                if not exc.transient or attempts >= MAX_ATTEMPTS:
                    raise
                answer_lost = answer_lost or isinstance(exc, AnswerLostError)
                if getattr(exc, 'timed_out', False):
                    read_timeouts += 1
                    if read_timeouts >= MAX_READ_TIMEOUTS:
                        raise
                # The leader may have died: ask the configured masters again (bounded by leader_timeout), this one
                # last.
                unanswered = leader
                self.leader = None
                continue
            response.answer_lost = answer_lost
            status = response.status_code
            if status in REDIRECT_STATUS:
                if path == FILTERS_PATH:
                    self.build = BUILD_LATER
                leader_changes += 1
                if leader_changes > MAX_LEADER_CHANGES:
                    raise MesosError('%s %s keeps answering %s (leader moved %d times in one call); the masters '
                                     'do not agree on a leader' % (method, url, status, leader_changes),
                                     method=method, url=url, status=status, body=response.content)
                self.leader = None
                continue
            if status == 503:
                body = short_body(response.content, 200) or ''
                if path == FILTERS_PATH and 'No leader elected' in body:
                    self.build = BUILD_LATER
                if not wait_unavailable:
                    return response
                now = self._clock()
                if unavailable_since is None:
                    unavailable_since = now
                if now - unavailable_since < self.leader_timeout:
                    self._sleep(parse_retry_after(response.headers.get('Retry-After'), DISCOVERY_PAUSE))
                    self.leader = None
                    continue
                raise self.unavailable_error(method, url, response)
            if status in RETRY_STATUS and attempts < MAX_ATTEMPTS:
                answer_lost = answer_lost or status in GATEWAY_STATUS
                self._sleep(parse_retry_after(response.headers.get('Retry-After'), min(2 ** attempts * 0.25, 4)))
                continue
            return response

    def unavailable_error(self, method, url, response):
        """A 503 that did not go away. On later module builds the cause is often the credentials."""
        body = short_body(response.content, 200) or ''
        msg = '%s %s answered 503 %s for longer than leader_timeout=%ss' % (
            method, url, body, num_text(self.leader_timeout))
        if 'No leader elected' in body and self.leader:
            # /master/redirect named a leader, so an election is not what is missing. Later builds of the
            # allocator module turn any failure of their internal /master/state request into this 503.
            try:
                probe = self.send('GET', self.leader + STATE_PATH)
                if probe.status_code in (401, 403):
                    msg += ('; the leader answers %s to GET %s with these credentials: the allocator module '
                            'forwards them to its leader check, so set principal and secret for an account that '
                            'may read /master/state' % (probe.status_code, STATE_PATH))
                else:
                    msg += '; a leader is known (%s), so the master may be failing over or unhealthy' % self.leader
            except MesosError:
                pass
        return MesosError(msg, method=method, url=url, status=503, body=response.content)

    def check_status(self, response, method, url, expected=(200,)):
        """Raise a ``MesosError`` with a useful message unless the status is expected."""
        status = response.status_code
        if status in expected:
            return
        body = short_body(response.content, 200) or ''
        where = '%s %s' % (method, url)
        if status == 401:
            if self._auth is None:
                hint = 'the master requires HTTP authentication; set principal and secret'
            else:
                hint = 'the master rejected the credentials of principal %r' % self.principal
            msg = '%s: 401 Unauthorized: %s' % (where, hint)
        elif status == 403:
            msg = '%s: 403 Forbidden: principal %r is not authorized for this request' % (where, self.principal)
        elif status == 404 and FILTERS_PATH in url:
            msg = ('%s: 404 Not Found: the offer filtering allocator module is not loaded on this master (check '
                   'the --modules and --allocator=im_getty_mesos_OfferFilteringAllocator flags; on Mesos 1.9 or later, '
                   'backend=native needs no module)' % where)
        elif status == 415:
            msg = '%s: 415 Unsupported Media Type: %s' % (where, body)
        elif status == 400:
            msg = '%s: 400 Bad Request: %s' % (where, body)
        elif status >= 500:
            msg = '%s: the master failed with HTTP %s: %s' % (where, status, body or '(empty body)')
        else:
            msg = '%s: unexpected HTTP %s: %s' % (where, status, body or '(empty body)')
        raise MesosError(msg, method=method, url=url, status=status, body=response.content)

    def get_json(self, path):
        response = self.leader_request('GET', path)
        url = self.leader + path if self.leader else path
        self.check_status(response, 'GET', url)
        return parse_json(response, 'GET', url)

    # --- the allocator's filter endpoint --------------------------------------------------------------
    def _raw_filters(self, body, method, url):
        """The ``filters`` list of an answer, unconverted (answers to POST/DELETE are checked, then dropped)."""
        if not isinstance(body, dict) or not isinstance(body.get('filters'), list):
            raise MesosError('%s %s: the answer has no "filters" list (got %s); is this the offer filtering '
                             'allocator module?' % (method, url, short_body(json.dumps(body), 120)),
                             method=method, url=url)
        return body['filters']

    def filter_entries(self, raw, method='GET', url=FILTERS_PATH):
        """Convert the endpoint's ``[{'agentId', 'hostname'}]`` to ``[{'agent_id', 'hostname'}]``."""
        result = []
        for entry in raw:
            if not isinstance(entry, dict) or not isinstance(entry.get('agentId'), str):
                raise MesosError('%s %s: unexpected filter entry %r' % (method, url, entry), method=method, url=url)
            result.append({'agent_id': entry['agentId'], 'hostname': entry.get('hostname')})
        return result

    def get_filters(self):
        """The filter list of the leader's allocator, as ``[{'agent_id', 'hostname'}]``."""
        return self.filters_from_response(self.leader_request('GET', FILTERS_PATH))

    def filters_from_response(self, response):
        """The filter list from the leader's answer to ``GET /allocator/filters`` (a ``MesosError`` unless 200)."""
        url = self.leader + FILTERS_PATH
        self.check_status(response, 'GET', url)
        body = parse_json(response, 'GET', url)
        return self.filter_entries(self._raw_filters(body, 'GET', url), 'GET', url)

    def add_filter(self, agent_id):
        """POST a filter for one agent id; return the master's answer as a ``FilterAnswer``."""
        if not isinstance(agent_id, str) or not agent_id:
            # Never send anything but a non-empty string: a non-string value can crash a real master.
            raise MesosError('refusing to send agent id %r: it must be a non-empty string' % (agent_id,))
        for attempt in (1, 2):
            response = self.leader_request('POST', FILTERS_PATH, json_body={'agentId': agent_id})
            url = self.leader + FILTERS_PATH
            if (attempt == 1 and response.status_code == 400
                    and (short_body(response.content) or '').startswith('No such agent') and self.leader_moved()):
                continue
            break
        self.check_status(response, 'POST', url)
        return FilterAnswer(self, response, 'POST', url)

    def remove_filter(self, agent_id):
        """DELETE the filter of one agent id.

        Returns ``(answer, answer_lost)``: the master's answer as a ``FilterAnswer``, or ``None`` when the master
        says there was no filter (404 ``No filter exists``). That happens when someone else removed it first, or,
        when ``answer_lost`` is True, when an earlier attempt of this call removed it and its answer was lost.
        """
        if not isinstance(agent_id, str) or not agent_id:
            raise MesosError('refusing to send agent id %r: it must be a non-empty string' % (agent_id,))
        answer_lost = False
        for attempt in (1, 2):
            response = self.leader_request('DELETE', FILTERS_PATH, params={'agentId': agent_id})
            answer_lost = answer_lost or response.answer_lost
            url = '%s%s?agentId=%s' % (self.leader, FILTERS_PATH, agent_id)
            no_filter = (response.status_code == 404
                         and (short_body(response.content) or '').startswith('No filter exists'))
            if attempt == 1 and no_filter and self.leader_moved():
                continue
            break
        if no_filter:
            return None, answer_lost
        self.check_status(response, 'DELETE', url)
        return FilterAnswer(self, response, 'DELETE', url), answer_lost

    def leader_moved(self):
        """Ask the configured masters for the leader again; True when it is no longer the one we talk to.

        Build 0afdd8b has no leader check: a master that lost leadership but still answers knows no agents,
        so it answers POST with 400 "No such agent" and DELETE with 404 "No filter exists". Before such an
        answer is believed, the leader is looked up again (one request).
        """
        old = self.leader
        self.leader = None
        new = self.discover_leader()
        return old is None or not same_master(old, new)

    def get_agents(self):
        """Every registered agent from ``/master/state-summary`` (one request, task counts included)."""
        body = self.get_json(STATE_SUMMARY_PATH)
        slaves = body.get('slaves') if isinstance(body, dict) else None
        if not isinstance(slaves, list):
            raise MesosError('GET %s%s: the answer has no "slaves" list' % (self.leader, STATE_SUMMARY_PATH))
        problem = agent_problem(slaves)
        if problem:
            raise not_a_master('GET %s%s' % (self.leader, STATE_SUMMARY_PATH), problem)
        return slaves

    def probe_build(self):
        """Tell the module build by asking a standby master (one request); ``None`` when no standby is known.

        A later build's standby redirects (307) or answers 503; a ``0afdd8b`` standby answers 200 with an empty list.
        """
        if self.build is not None:
            return self.build
        for base in self.masters:
            if self.leader is None or same_master(base, self.leader):
                continue
            try:
                response = self.send('GET', base + FILTERS_PATH)
            except TransportError:
                continue
            if response.status_code in REDIRECT_STATUS or response.status_code == 503:
                self.build = BUILD_LATER
            elif response.status_code == 200:
                self.build = BUILD_0AFDD8B
            if self.build:
                break
        return self.build

    def close(self):
        self.transport.close()


class MesosModuleClient(MesosClientBase):
    """The client bound to an AnsibleModule built from the connection spec plus the module's own spec."""

    def __init__(self, argspec, supports_check_mode=True, settle=None):
        """``settle(module)``, when given, runs before the client reads the options: a module settles there what
        its own options mean (a deprecated meaning, for one)."""
        # Imported here so that the base client stays usable without AnsibleModule.
        from ansible.module_utils.basic import missing_required_lib

        from ansible_collections.mesos.maintenance.plugins.module_utils._argspec import (
            MesosAnsibleModule,
            mesos_connection_argspec,
        )

        spec = mesos_connection_argspec().merge(argspec)
        self.module = spec.create_ansible_module(module_class=MesosAnsibleModule, supports_check_mode=supports_check_mode)
        if not HAS_REQUESTS:
            self.module.fail_json(msg=missing_required_lib('requests'), exception=REQUESTS_IMPORT_ERROR)
        if settle is not None:
            settle(self.module)
        try:
            super(MesosModuleClient, self).__init__(self.module.params)
        except MesosError as exc:
            exc.do_fail(self.module)

    @property
    def check_mode(self):
        return self.module.check_mode

    def warn(self, msg):
        self.module.warn(sentence(msg))

    def fail(self, msg, **kwargs):
        self.module.fail_json(msg=sentence(msg), **kwargs)
