# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Bad input and faults: every failure is a clear fail_json, never a traceback, and changes nothing it should not."""

from __future__ import annotations

import json

import pytest
from conftest import assert_failed, assert_ok, offer_filter

from ansible_collections.mesos.maintenance.plugins.module_utils._client import NO_MASTER_URL
from mesos_sim import Cluster

# --- bad input: one playbook runs every case against one cluster -----------------------------------------------------

UNKNOWN_ID = "00000000-0000-0000-0000-000000000000-S99"

# (case id, module arguments (AGENT0/AGENT1 are replaced by real ids), fragments of the expected failure message)
BAD_INPUT = [
    (
        "unknown-agent-id",
        {"agent_id": [UNKNOWN_ID, "AGENT0"]},
        [f"unknown agent(s): agent id {UNKNOWN_ID}", "nothing was changed"],
    ),
    (
        "unknown-hostname",
        {"hostname": ["ghost.example.com"], "agent_id": ["AGENT1"]},
        ["unknown agent(s): hostname ghost.example.com"],
    ),
    ("integer-agent-id-is-sent-as-string", {"agent_id": [12345]}, ["unknown agent(s): agent id 12345"]),
    ("empty-agent-id", {"agent_id": [""]}, ["agent_id contains an empty entry"]),
    ("blank-hostname", {"hostname": ["  "]}, ["hostname contains an empty entry"]),
    ("no-agents", {}, ["name the agents with agent_id or hostname"]),
    ("absent-without-agents", {"state": "absent"}, ["state=absent needs agent_id or hostname"]),
    (
        "exclusive-with-absent",
        {"state": "absent", "exclusive": True, "agent_id": ["AGENT0"]},
        ["exclusive applies to state=present only"],
    ),
    (
        "max-filtered-with-absent",
        {"state": "absent", "max_filtered": 1, "agent_id": ["AGENT0"]},
        ["max_filtered applies to state=present only"],
    ),
    (
        "max-filtered-text",
        {"max_filtered": "many", "agent_id": ["AGENT0"]},
        ["max_filtered must be a number of agents or a percentage"],
    ),
    ("max-filtered-over-100-percent", {"max_filtered": "150%", "agent_id": ["AGENT0"]}, ["max_filtered out of range"]),
    ("max-filtered-negative", {"max_filtered": -1, "agent_id": ["AGENT0"]}, ["max_filtered out of range"]),
    (
        "max-filtered-bool",
        {"max_filtered": True, "agent_id": ["AGENT0"]},
        ["max_filtered must be a number of agents or a percentage"],
    ),
    ("max-filtered-fraction", {"max_filtered": 1.5, "agent_id": ["AGENT0"]}, ["whole number"]),
    ("bad-state", {"state": "drained", "agent_id": ["AGENT0"]}, ["value of state must be one of: present, absent"]),
    ("unknown-option", {"agent_id": ["AGENT0"], "cordon": True}, ["Unsupported parameters", "cordon"]),
    ("empty-master-list", {"master_url": [], "agent_id": ["AGENT0"]}, ["No master URL given", "MESOS_MASTER_URL"]),
    (
        "master-url-scheme",
        {"master_url": ["ftp://127.0.0.1:5050"], "agent_id": ["AGENT0"]},
        ["only http and https are supported"],
    ),
    (
        "master-url-credentials",
        {"master_url": ["http://ops:pw@127.0.0.1:5050"], "agent_id": ["AGENT0"]},
        ["give credentials with principal and secret"],
    ),
    ("master-url-port", {"master_url": ["http://127.0.0.1:port"], "agent_id": ["AGENT0"]}, ["invalid port"]),
    (
        "principal-without-secret",
        {"principal": "ops", "agent_id": ["AGENT0"]},
        ["parameters are required together: principal, secret"],
    ),
    (
        "client-key-without-cert",
        {"client_key": "/nonexistent/key.pem", "agent_id": ["AGENT0"]},
        ["client_key", "client_cert"],
    ),
    (
        "negative-wait-timeout",
        {"wait": True, "wait_timeout": -1, "agent_id": ["AGENT0"]},
        ["wait_timeout must not be negative"],
    ),
    ("timeout-not-a-number", {"timeout": "soon", "agent_id": ["AGENT0"]}, ["timeout", "float"]),
    (
        "ambiguous-hostname",
        {"hostname": ["twin.example.com"]},
        ["hostname twin.example.com names 2 registered agents", "use agent_id"],
    ),
]


@pytest.fixture(scope="module")
def bad_input_run(run_tasks_module):
    with Cluster(masters=3, agents=4, build="0afdd8b") as cluster:
        twins = [cluster.add_agent("twin.example.com"), cluster.add_agent("twin.example.com")]
        ids = cluster.agent_ids
        tasks = []
        for case, args, _ in BAD_INPUT:
            args = json.loads(json.dumps(args).replace("AGENT0", ids[0]).replace("AGENT1", ids[1]))
            tasks.append(offer_filter(cluster, name=case, **args))
        run = run_tasks_module(tasks)
        filters_after = cluster.filters()
        posts = [e for e in cluster.request_log if e[1] in ("POST", "DELETE", "PUT")]
    return run, ids, twins, filters_after, posts


@pytest.mark.parametrize("case, args, fragments", BAD_INPUT, ids=[c[0] for c in BAD_INPUT])
@pytest.mark.smoke
def test_bad_input(bad_input_run, case, args, fragments):
    run, ids, twins, _, _ = bad_input_run
    result = run[case]
    assert_failed(result, *fragments)
    if case == "ambiguous-hostname":
        assert all(twin in result["msg"] for twin in twins)


# Refused by Ansible's own argument checks, whose texts are not ours.
ANSIBLE_CHECKS = {
    "bad-state",
    "unknown-option",
    "principal-without-secret",
    "client-key-without-cert",
    "timeout-not-a-number",
}
OUR_CHECKS = [c[0] for c in BAD_INPUT if c[0] not in ANSIBLE_CHECKS]


@pytest.mark.parametrize("case", OUR_CHECKS, ids=OUR_CHECKS)
def test_bad_input_messages_are_sentences(bad_input_run, case):
    """One line, no trailing whitespace, a full stop at the end, whatever piece the message ends with."""
    msg = bad_input_run[0][case]["msg"]
    assert "\n" not in msg and msg == msg.strip() and msg.endswith("."), msg


@pytest.mark.smoke
def test_bad_input_changed_nothing(bad_input_run):
    _, _, _, filters_after, posts = bad_input_run
    assert filters_after == set()
    assert posts == []


def test_master_url_from_environment(run_tasks, cluster):
    task = offer_filter(cluster, agent_id=[cluster.agent_ids[0]])
    del task["mesos.maintenance.offer_filter"]["master_url"]
    result = run_tasks(task, env={"MESOS_MASTER_URL": ",".join(cluster.urls)}).result
    assert_ok(result, changed=True)
    for env in (None, {"MESOS_MASTER_URL": ""}):  # not set, or left blank by an AWX credential
        result = run_tasks(task, env=env).result
        assert_failed(result, NO_MASTER_URL)


def test_absent_of_unknown_agent_warns(run_tasks, cluster):
    result = run_tasks(offer_filter(cluster, state="absent", agent_id=[UNKNOWN_ID])).result
    assert_ok(result, changed=False)
    assert any("not registered with the master" in w for w in result["warnings"]), result["warnings"]
    assert all(w.endswith(".") for w in result["warnings"]), result["warnings"]


def test_unknown_agents_message_is_bounded(run_tasks, cluster_factory):
    """10,000 unknown hostnames: the message names the first 20 and counts the rest (it was 329,000 characters)."""
    cluster = cluster_factory(masters=1, agents=3)
    names = [f"ghost-{n}.example.com" for n in range(10_000)]
    result = run_tasks(offer_filter(cluster, hostname=names)).result
    assert_failed(
        result, "unknown agent(s): hostname ghost-0.example.com, ", "hostname ghost-19.example.com, and 9980 more;"
    )
    assert "ghost-20.example.com" not in result["msg"]
    assert len(result["msg"]) < 1000, len(result["msg"])
    assert cluster.filters() == set()


# --- transport and server faults ---------------------------------------------------------------------------------


def test_connection_refused_everywhere(run_tasks, cluster_factory):
    cluster = cluster_factory(masters=2, agents=2, build="0afdd8b")
    urls = list(cluster.urls)
    cluster.kill_master(0)
    cluster.kill_master(1)
    result = run_tasks(offer_filter(cluster, master_url=urls, agent_id=["x"], leader_timeout=1)).result
    assert_failed(result, "no leading Mesos master found within leader_timeout=1s", "connection refused")


def test_dns_failure_fails_fast(run_tasks, cluster):
    result = run_tasks(
        offer_filter(cluster, master_url=["http://no-such-master.invalid:5050"], agent_id=["x"], leader_timeout=60)
    ).result
    assert_failed(result, "host name cannot be resolved (DNS)", "no-such-master.invalid")
    assert result["_duration"] < 30


def test_module_not_loaded(run_tasks, cluster_factory):
    # backend=auto on such a master: tests/functional/test_playbook_native.py
    cluster = cluster_factory(masters=1, agents=2, build=None)
    result = run_tasks(offer_filter(cluster, agent_id=[cluster.agent_ids[0]], backend="allocator")).result
    assert_failed(
        result,
        "404 Not Found",
        "offer filtering allocator module is not loaded",
        "--allocator=im_getty_mesos_OfferFilteringAllocator",
        "backend=native needs no module",
    )


def test_server_error(run_tasks, cluster):
    cluster.inject("/allocator/filters", status=500, body="Internal error: boom")
    result = run_tasks(offer_filter(cluster, agent_id=[cluster.agent_ids[0]])).result
    assert_failed(result, "the master failed with HTTP 500", "boom")
    assert result["status"] == 500


@pytest.mark.parametrize("path", ["/allocator/filters", "/master/state-summary"])
def test_not_json(run_tasks, cluster, path):
    cluster.inject(path, status=200, body="<html>proxy says hello</html>")
    result = run_tasks(offer_filter(cluster, agent_id=[cluster.agent_ids[0]])).result
    assert_failed(result, "expected a JSON answer from GET", path, "proxy says hello")
    assert cluster.filters() == set()


def test_unsupported_media_type(run_tasks, cluster):
    cluster.inject("/allocator/filters", count=1)  # the GET passes untouched
    cluster.inject("/allocator/filters", status=415, body="expected: application/json", count=1)
    result = run_tasks(offer_filter(cluster, agent_id=[cluster.agent_ids[0]])).result
    assert_failed(result, "POST", "415 Unsupported Media Type: expected: application/json")


def test_post_answered_200_without_the_filter(run_tasks, cluster):
    """Like PUT on build 0afdd8b: a 200 that changed nothing must not pass as success."""
    cluster.inject("/allocator/filters", count=1)
    cluster.inject("/allocator/filters", status=200, body='{"filters": []}', count=1)
    result = run_tasks(offer_filter(cluster, agent_id=[cluster.agent_ids[0]])).result
    assert_failed(result, "answered 200 but the agent is not in the filter list")
    assert result["added"] == []


def test_post_races_with_agent_removal(run_tasks, cluster):
    agent = cluster.agent_ids[0]
    cluster.inject("/allocator/filters", count=1)
    cluster.inject("/allocator/filters", status=400, body=f"No such agent matching agentId=={agent}", count=1)
    result = run_tasks(offer_filter(cluster, agent_id=[agent])).result
    assert_failed(result, "400 Bad Request: No such agent matching")


def test_fails_halfway_and_reports_progress(run_tasks, cluster):
    ids = cluster.agent_ids[:3]
    cluster.inject("/allocator/filters", count=3)  # GET, first POST, second POST
    cluster.inject("/allocator/filters", status=500, body="allocator exploded", count=None)
    result = run_tasks(offer_filter(cluster, agent_id=ids)).result
    assert_failed(result, "HTTP 500", "allocator exploded")
    assert result["added"] == ids[:2]
    assert result["changed"] is True  # the two filters added before the failure stay
    assert result["pending"] == ids[2:]
    assert cluster.filters() == set(ids[:2])


def test_delete_404_race_counts_as_absent(run_tasks, cluster):
    agent = cluster.agent_ids[0]
    cluster.add_filter(agent)
    cluster.inject("/allocator/filters", count=1)
    cluster.inject("/allocator/filters", status=404, body=f"No filter exists for agent {agent}", count=1)
    result = run_tasks(offer_filter(cluster, state="absent", agent_id=[agent])).result
    assert_ok(result, changed=False)
    assert any("already gone" in a for a in result["actions"])


def test_read_timeout(run_tasks, cluster):
    cluster.inject("/allocator/filters", latency=3.0)
    result = run_tasks(offer_filter(cluster, agent_id=[cluster.agent_ids[0]], timeout=0.5)).result
    assert_failed(result, "no answer within the timeout (timeout=0.5s)", "/allocator/filters")


def test_connection_dropped(run_tasks, cluster):
    cluster.inject("/allocator/filters", drop=True)
    result = run_tasks(offer_filter(cluster, agent_id=[cluster.agent_ids[0]], leader_timeout=2)).result
    assert_failed(result, "/allocator/filters")
    assert "connection" in result["msg"]


@pytest.mark.parametrize(
    "path, status",
    [
        ("/allocator/filters", 502),
        ("/allocator/filters", 504),
        ("/master/redirect", 503),
        ("/master/state-summary", 429),
    ],
)
def test_transient_errors_are_retried(run_tasks, cluster, path, status):
    cluster.inject(path, status=status, body="try again", count=1)
    result = run_tasks(offer_filter(cluster, agent_id=[cluster.agent_ids[0]])).result
    assert_ok(result, changed=True)
    assert cluster.filters() == {cluster.agent_ids[0]}


def test_endless_redirects_are_bounded(run_tasks, cluster):
    cluster.inject("/allocator/filters", status=307)
    result = run_tasks(offer_filter(cluster, agent_id=[cluster.agent_ids[0]])).result
    assert_failed(result, "keeps answering 307", "do not agree on a leader")


def test_forbidden(run_tasks, cluster):
    cluster.inject("/master/state-summary", status=403, body="Forbidden")
    result = run_tasks(offer_filter(cluster, agent_id=[cluster.agent_ids[0]])).result
    assert_failed(result, "403 Forbidden", "not authorized")


def test_not_a_mesos_master(run_tasks, cluster):
    cluster.inject("/master/redirect", status=404, body="")
    result = run_tasks(offer_filter(cluster, agent_id=["x"], leader_timeout=30)).result
    assert_failed(result, "cannot find the leading Mesos master", "does not look like a Mesos master")
    assert result["_duration"] < 20


# --- authentication ------------------------------------------------------------------------------------------------


@pytest.fixture
def secured(cluster_factory, build):
    return cluster_factory(masters=3, agents=3, build=build, principal="ops", secret="s3cret", readonly_auth=True)


def test_auth_right_credentials(run_tasks, secured):
    agent = secured.agent_ids[0]
    result = run_tasks(offer_filter(secured, agent_id=[agent], principal="ops", secret="s3cret")).result
    assert_ok(result, changed=True)
    assert secured.filters() == {agent}
    # the url_username / url_password aliases and module_defaults through the action group
    task = {
        "name": "with module_defaults",
        "module_defaults": {
            "group/mesos.maintenance.mesos": {
                "master_url": secured.urls,
                "url_username": "ops",
                "url_password": "s3cret",
            }
        },
        "mesos.maintenance.offer_filter": {"agent_id": [agent], "state": "absent"},
    }
    result = run_tasks(task).result
    assert_ok(result, changed=True)
    assert secured.filters() == set()


def test_auth_wrong_secret(run_tasks, secured):
    result = run_tasks(offer_filter(secured, agent_id=[secured.agent_ids[0]], principal="ops", secret="nope")).result
    assert_failed(result, "401 Unauthorized", "rejected the credentials of principal 'ops'")
    assert "nope" not in json.dumps(result)
    assert secured.filters() == set()


def test_auth_missing_credentials(run_tasks, secured):
    result = run_tasks(offer_filter(secured, agent_id=[secured.agent_ids[0]])).result
    assert_failed(result, "401 Unauthorized", "requires HTTP authentication; set principal and secret")


def test_auth_missing_secret(run_tasks, secured):
    result = run_tasks(offer_filter(secured, agent_id=[secured.agent_ids[0]], principal="ops")).result
    assert_failed(result, "parameters are required together: principal, secret")


# --- TLS -------------------------------------------------------------------------------------------------------------


@pytest.fixture
def tls_cluster(cluster_factory, build):
    return cluster_factory(masters=3, agents=3, build=build, tls=True)


def test_tls_verified(run_tasks, tls_cluster):
    agent = tls_cluster.agent_ids[0]
    result = run_tasks(offer_filter(tls_cluster, agent_id=[agent], ca_path=tls_cluster.ca_path)).result
    assert_ok(result, changed=True)
    assert result["leader"].startswith("https://")
    assert tls_cluster.filters() == {agent}


def test_tls_unknown_ca(run_tasks, tls_cluster, tmp_path):
    import trustme

    other = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    for extra in ({}, {"ca_path": str(other)}):
        result = run_tasks(offer_filter(tls_cluster, agent_id=[tls_cluster.agent_ids[0]], **extra)).result
        assert_failed(result, "TLS certificate verification failed", "ca_path", "validate_certs=false")
        assert result["_duration"] < 20
    assert tls_cluster.filters() == set()


def test_tls_validate_certs_false(run_tasks, tls_cluster):
    result = run_tasks(offer_filter(tls_cluster, agent_id=[tls_cluster.agent_ids[0]], validate_certs=False)).result
    assert_ok(result, changed=True)


def test_plain_http_to_tls_master(run_tasks, tls_cluster):
    urls = [u.replace("https://", "http://") for u in tls_cluster.urls]
    result = run_tasks(offer_filter(tls_cluster, master_url=urls, agent_id=["x"], leader_timeout=1)).result
    assert_failed(result, "leader")
