# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Exceptions that carry the context of a failed conversation with a Mesos master, and the bounds on what a
message echoes (an answer's body, a list of names)."""

from __future__ import annotations

import base64
import json
import re

BODY_LIMIT = 300
# How many names (agents, hosts, groups) a message lists before it counts the rest: one that named all of 10,000
# unknown agents was 340 KB.
NAMES_SHOWN = 20
HIDDEN = '********'

# The user name and password of a URL (also scheme-less, as in a Location //user:pw@host:port): everything between
# // and the last @ before the path.
USERINFO = re.compile(r"//[^/?#\s'\"<>]*@")
# An Authorization value, whoever's: a proxy that reflects the request's headers shows it in its error page.
AUTHORIZATION = re.compile(r'\b(Basic|Bearer|Digest)(\s+)[A-Za-z0-9._~+/=-]+')

# The credentials of this process's connections in every form they travel in (see hide), longest first: the secret
# may be part of the base64 of the pair.
_HIDDEN_VALUES = []


def hide(principal, secret):
    """Hide these credentials from every message, body and result from now on: the secret, and the base64 of
    ``principal:secret`` that HTTP Basic sends (``no_log`` only knows the secret as it was given)."""
    secret = str(secret)
    if not secret:
        return
    pair = ('%s:%s' % (principal, secret)).encode('utf-8')
    values = set(_HIDDEN_VALUES) | set((secret, base64.b64encode(pair).decode('ascii')))
    _HIDDEN_VALUES[:] = sorted(values, key=len, reverse=True)


def redact(text):
    """``text`` without URL userinfo, Authorization values and the credentials given to ``hide``."""
    if not isinstance(text, str):
        return text
    if '//' in text and '@' in text:
        text = USERINFO.sub('//' + HIDDEN + '@', text)
    if _has_authorization(text):
        text = AUTHORIZATION.sub(r'\1\2' + HIDDEN, text)
    for value in _HIDDEN_VALUES:
        if value in text:
            text = text.replace(value, HIDDEN)
    return text


def _has_authorization(text):
    # The substring tests first: the regular expression alone takes a third of a second on 2 MB.
    return ('Basic' in text or 'Bearer' in text or 'Digest' in text) and AUTHORIZATION.search(text) is not None


def _needs_redaction(text):
    return bool(USERINFO.search(text) or _has_authorization(text) or any(value in text for value in _HIDDEN_VALUES))


def redact_all(value):
    """``redact`` applied to every string in a result (dicts, lists and tuples walked through)."""
    try:
        # One pass over the whole result in C first: nearly every result (10,000 agents' worth) is clean.
        if not _needs_redaction(json.dumps(value, default=str)):
            return value
    except (TypeError, ValueError):
        pass
    return _redact_walk(value)


def _redact_walk(value):
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return dict((key, _redact_walk(item)) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return [_redact_walk(item) for item in value]
    return value


def short_body(body, limit=BODY_LIMIT):
    """Return a printable, length-limited version of a response body, credentials hidden before it is cut."""
    if body is None:
        return None
    if isinstance(body, bytes):
        body = body.decode('utf-8', 'replace')
    body = redact(body).strip()
    if len(body) > limit:
        body = body[:limit] + '... (%d characters in all)' % len(body)
    return body


def sentence(msg):
    """``msg`` as a message ends: without trailing whitespace, with a full stop. Messages are built from pieces
    (an agent list, a master's answer) that may end either way; this is the one place that settles it."""
    text = msg.rstrip()
    return text if not text or text.endswith(('.', '!', '?')) else text + '.'


def name_list(items, describe=str, sep=', ', what=''):
    """``items`` for a message: the first NAMES_SHOWN, each as ``describe`` makes it, then how many more.

    ``describe`` runs on the shown items only, so a costly description of 10,000 items costs 20 descriptions.
    """
    items = list(items)
    text = sep.join(describe(item) for item in items[:NAMES_SHOWN])
    if len(items) > NAMES_SHOWN:
        text += '%sand %d more%s' % (sep, len(items) - NAMES_SHOWN, ' ' + what if what else '')
    return text


class MesosError(Exception):
    """A failure with a message a person can act on, plus the request that led to it.

    ``result`` holds extra keys for the module's failure result (for example which agents
    were already changed when a bulk operation stopped half way).
    """

    def __init__(self, msg, method=None, url=None, status=None, body=None, **result):
        msg = redact(msg)
        super(MesosError, self).__init__(msg)
        self.msg = msg
        self.method = method
        self.url = redact(url)
        self.status = status
        self.body = short_body(body)
        self.result = result

    def to_result(self):
        result = dict(self.result)
        result['msg'] = sentence(self.msg)
        if self.url is not None:
            result['request'] = {'method': self.method, 'url': self.url}
        if self.status is not None:
            result['status'] = self.status
        if self.body:
            result['body'] = self.body
        return result

    def do_fail(self, module, **extra):
        result = self.to_result()
        for key, value in extra.items():
            result.setdefault(key, value)
        module.fail_json(**result)


def not_a_master(what, problem, **kwargs):
    """The error for an answer that no Mesos master gives (``problem``, as ``agent_problem`` and
    ``framework_problem`` tell it), ``what`` naming the request."""
    return MesosError('%s: %s; is this a Mesos master?' % (what, problem), **kwargs)


class TransportError(MesosError):
    """No HTTP answer at all: refused, unresolvable, TLS, timeout.

    ``transient`` tells whether asking again (or asking another master) may help.
    """

    def __init__(self, msg, transient, method=None, url=None, **result):
        super(TransportError, self).__init__(msg, method=method, url=url, **result)
        self.transient = transient
