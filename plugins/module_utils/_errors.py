# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Exceptions that carry the context of a failed conversation with a Mesos master, and the bounds on what a
message echoes (an answer's body, a list of names)."""

from __future__ import annotations

BODY_LIMIT = 300
# How many names (agents, hosts, groups) a message lists before it counts the rest: one that named all of 10,000
# unknown agents was 340 KB.
NAMES_SHOWN = 20


def short_body(body, limit=BODY_LIMIT):
    """Return a printable, length-limited version of a response body."""
    if body is None:
        return None
    if isinstance(body, bytes):
        body = body.decode('utf-8', 'replace')
    body = body.strip()
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
        super(MesosError, self).__init__(msg)
        self.msg = msg
        self.method = method
        self.url = url
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


class TransportError(MesosError):
    """No HTTP answer at all: refused, unresolvable, TLS, timeout.

    ``transient`` tells whether asking again (or asking another master) may help.
    """

    def __init__(self, msg, transient, method=None, url=None, **result):
        super(TransportError, self).__init__(msg, method=method, url=url, **result)
        self.transient = transient
