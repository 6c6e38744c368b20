# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Whole-module tests: exit_json/fail_json raise, module args are set, main() runs; input errors need no master."""

from __future__ import annotations

import contextlib
import json

import pytest
from ansible.module_utils import basic

from ansible_collections.mesos.maintenance.plugins.modules import offer_filter, offer_filter_info


class Exit(Exception):
    pass


class Fail(Exception):
    pass


@contextlib.contextmanager
def module_args(args):
    try:
        from ansible.module_utils.testing import patch_module_args  # ansible-core 2.19+
    except ImportError:
        patch_module_args = None
    if patch_module_args is not None:
        with patch_module_args(args):
            yield
        return
    old = basic._ANSIBLE_ARGS
    basic._ANSIBLE_ARGS = json.dumps({"ANSIBLE_MODULE_ARGS": args}).encode()
    try:
        yield
    finally:
        basic._ANSIBLE_ARGS = old


@pytest.fixture(autouse=True)
def raising(monkeypatch):
    def exit_json(self, **kwargs):
        raise Exit(kwargs)

    def fail_json(self, **kwargs):
        raise Fail(kwargs)

    monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)


def run(module, args):
    with module_args(args):
        with pytest.raises((Exit, Fail)) as caught:
            module.main()
    return caught.type, caught.value.args[0]


# master_url points at a port nothing listens on: these must fail before any request is sent
MASTER = ["http://127.0.0.1:9"]


@pytest.mark.parametrize(
    "args, fragment",
    [
        (dict(), "name the agents with agent_id or hostname"),
        (dict(state="absent"), "state=absent needs agent_id or hostname"),
        (dict(agent_id=["a"], state="absent", exclusive=True), "exclusive applies to state=present only"),
        (dict(agent_id=["a"], max_filtered="lots"), "max_filtered must be a number"),
        (dict(agent_id=[""]), "agent_id contains an empty entry"),
        (dict(agent_id=["a"], wait=True, wait_sleep=-1), "wait_sleep must be at least 0.1 seconds"),
        (dict(agent_id=["a"], wait=True, wait_sleep=0), "wait_sleep must be at least 0.1 seconds"),
        (dict(agent_id=["a"], wait=True, wait_timeout=-1), "wait_timeout must not be negative"),
        (dict(agent_id=["a"], backend="allocator", drain=True), "drain: only with backend=native"),
        (dict(agent_id=["a"], mark_gone=True), "mark_gone applies to drain=true only"),
        (dict(agent_id=["a"], drain_grace_period=3), "drain_grace_period applies to drain=true only"),
        (dict(agent_id=["a"], drain=True, drain_grace_period=-1), "drain_grace_period must not be negative"),
        (dict(agent_id=["a"], state="absent", drain=True), "drain applies to state=present only"),
    ],
)
def test_input_errors_fail_before_any_request(args, fragment):
    args = dict(args, master_url=MASTER)
    kind, result = run(offer_filter, args)
    assert kind is Fail
    assert fragment in result["msg"]
    assert result["requests"] == 0


def test_master_url_validation():
    kind, result = run(offer_filter, dict(master_url=["gopher://m1"], agent_id=["a"]))
    assert kind is Fail and "only http and https" in result["msg"]


def test_unreachable_master_is_a_clear_failure():
    kind, result = run(offer_filter_info, dict(master_url=MASTER, leader_timeout=0, timeout=1))
    assert kind is Fail
    assert "connection refused" in result["msg"]
    assert result["requests"] == 1
