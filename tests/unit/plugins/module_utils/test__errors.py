# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import base64

import pytest

from ansible_collections.mesos.maintenance.plugins.module_utils._errors import (
    NAMES_SHOWN,
    MesosError,
    hide,
    name_list,
    redact,
    redact_all,
    short_body,
)


def test_name_list_names_all_up_to_the_bound():
    assert name_list([]) == ""
    assert name_list(["a"]) == "a"
    names = ["host-%d" % n for n in range(NAMES_SHOWN)]
    assert name_list(names) == ", ".join(names)


def test_name_list_counts_the_rest():
    names = ["host-%d" % n for n in range(10_000)]
    text = name_list(names)
    assert text == ", ".join(names[:NAMES_SHOWN]) + ", and %d more" % (10_000 - NAMES_SHOWN)
    assert name_list(iter(names), sep="; ", what="agent(s)").endswith("host-19; and 9980 more agent(s)")


def test_name_list_describes_the_shown_items_only():
    described = []

    def describe(item):
        described.append(item)
        return "<%s>" % item

    assert name_list(range(30), describe).startswith("<0>, <1>, ")
    assert described == list(range(NAMES_SHOWN))


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "master_url 'http://ops:pw@m1:5050' has an invalid port",
            "master_url 'http://********@m1:5050' has an invalid port",
        ),
        ("http://ops:p@ss@m1:port/x", "http://********@m1:port/x"),
        ("redirected to '//ops:pw@m2:5050'", "redirected to '//********@m2:5050'"),
        ("zk://user:pw@z1:2181,z2:2181/mesos", "zk://********@z1:2181,z2:2181/mesos"),
        ("GET http://m1:5050/master/state?user=a@b", "GET http://m1:5050/master/state?user=a@b"),
        ("mail ops@example.com", "mail ops@example.com"),
        ("Authorization: Basic b3BzOnB3 | Host: m1", "Authorization: Basic ******** | Host: m1"),
        ('{"authorization": "Bearer abc.def-ghi"}', '{"authorization": "Bearer ********"}'),
    ],
)
def test_redact(text, expected):
    assert redact(text) == expected


def test_hidden_credentials_in_every_form():
    hide("ops7", "Zq9-secret")
    token = base64.b64encode(b"ops7:Zq9-secret").decode()
    assert redact(f"echo {token} and Zq9-secret") == "echo ******** and ********"
    # The body is redacted before it is cut: a cut token would show a prefix of the credentials.
    body = short_body(("x" * 290 + " " + token).encode(), limit=300)
    assert token[:8] not in body
    error = MesosError(f"failed: {token}", url="http://ops7:Zq9-secret@m1:5050", body=f"X-Echo: {token}")
    assert "Zq9" not in repr(error.to_result()) and token not in str(error)


def test_redact_all_walks_results():
    result = redact_all({"leader": "http://a:b@m1:5050", "batches": [{"msg": ("//c:d@m2",)}], "count": 3})
    assert result == {"leader": "http://********@m1:5050", "batches": [{"msg": ["//********@m2"]}], "count": 3}
