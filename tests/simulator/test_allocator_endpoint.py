"""`/allocator/filters` over real HTTP, for both module builds, as MESOS-FACTS.md section 1 gives it."""

from __future__ import annotations

import pytest
import requests


def filters_of(response):
    return {f["agentId"] for f in response.json()["filters"]}


@pytest.fixture
def leader(cluster):
    return cluster.leader_url


@pytest.fixture
def http():
    with requests.Session() as session:
        yield session


def test_get_lists_nothing_at_first(cluster, leader, http):
    response = http.get(leader + "/allocator/filters")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {"filters": []}


def test_post_by_agent_id_then_by_hostname(cluster, leader, http):
    first, second = cluster.agents[0], cluster.agents[1]
    response = http.post(leader + "/allocator/filters", json={"agentId": first["id"]})
    assert response.status_code == 200
    assert response.json() == {"filters": [{"agentId": first["id"], "hostname": first["hostname"]}]}
    response = http.post(leader + "/allocator/filters", json={"hostname": second["hostname"]})
    assert filters_of(response) == {first["id"], second["id"]}
    assert cluster.filters() == {first["id"], second["id"]}


def test_post_twice_is_fine(cluster, leader, http):
    agent = cluster.agents[0]
    for _ in range(2):
        response = http.post(leader + "/allocator/filters", json={"agentId": agent["id"]})
        assert response.status_code == 200
    assert filters_of(response) == {agent["id"]}


def test_post_with_both_attributes_must_match_both(cluster, leader, http):
    a, b = cluster.agents[0], cluster.agents[1]
    response = http.post(leader + "/allocator/filters", json={"agentId": a["id"], "hostname": b["hostname"]})
    assert response.status_code == 400
    assert response.text == f"No such agent matching hostname=={b['hostname']} AND  agentId=={a['id']}"
    assert cluster.filters() == set()


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ({"agentId": "nope-S9"}, "No such agent matching agentId==nope-S9"),
        ({"hostname": "ghost"}, "No such agent matching hostname==ghost"),
        ({}, "body requires 'agentId' and/or 'hostname' attributes"),
        ({"agentId": "", "hostname": ""}, "body requires 'agentId' and/or 'hostname' attributes"),
    ],
)
def test_post_errors(cluster, leader, http, body, text):
    response = http.post(leader + "/allocator/filters", json=body)
    assert response.status_code == 400
    assert response.text == text


def test_post_content_type_must_be_exactly_json(cluster, leader, http):
    agent = cluster.agents[0]
    response = http.post(
        leader + "/allocator/filters",
        data=f'{{"agentId": "{agent["id"]}"}}',
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 415
    assert response.text == "expected: application/json"
    # No Content-Type at all is accepted.
    response = http.post(leader + "/allocator/filters", data=f'{{"agentId": "{agent["id"]}"}}')
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("body", "text"),
    [
        # picojson takes the n for the start of null, then stops at the o (as the real master's v1 API shows).
        ("not json", "syntax error at line 1 near: ot json"),
        ("", "syntax error at line 1 near: "),
        ("[1, 2]", "Unexpected JSON type parsed"),
        ('"text"', "Unexpected JSON type parsed"),
        # Both builds are compiled against a stout (Mesos 0.28.2 - 1.0.3) that refuses anything after the value
        # but whitespace, and names it from where the value ended to its last visible character.
        ('{"agentId": "x"} and more', "Parsed JSON included non-whitespace trailing characters:  and more"),
        ('{"hostname": "h"}}\n', "Parsed JSON included non-whitespace trailing characters: }"),
        ('{} \t{"agentId": "x"}  \r\n', 'Parsed JSON included non-whitespace trailing characters:  \t{"agentId": "x"}'),
        # picojson reads one character past a number: "5 x" leaves "x"; "5x" leaves nothing, and is a number.
        ("5 x", "Parsed JSON included non-whitespace trailing characters: x"),
        ("5x", "Unexpected JSON type parsed"),
    ],
)
@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_body_not_a_json_object(cluster, leader, http, method, body, text):
    response = http.request(
        method, leader + "/allocator/filters", data=body, headers={"Content-Type": "application/json"}
    )
    assert (response.status_code, response.text) == (400, text)
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"


def test_delete_by_id_and_hostname(cluster, leader, http):
    a, b = cluster.agents[0], cluster.agents[1]
    cluster.add_filter(a["id"])
    cluster.add_filter(b["id"])
    response = http.delete(leader + "/allocator/filters", params={"agentId": a["id"]})
    assert response.status_code == 200
    assert filters_of(response) == {b["id"]}
    response = http.delete(leader + "/allocator/filters", params={"hostname": b["hostname"]})
    assert response.json() == {"filters": []}
    assert cluster.filters() == set()


def test_delete_errors(cluster, leader, http):
    agent = cluster.agents[0]
    url = leader + "/allocator/filters"
    both = http.delete(url, params={"agentId": agent["id"], "hostname": agent["hostname"]})
    assert (both.status_code, both.text) == (400, "Specify parameter 'agentId' or 'hostname', but not both")
    neither = http.delete(url)
    assert (neither.status_code, neither.text) == (400, "One of parameters 'agentId' or 'hostname' is required")
    unfiltered = http.delete(url, params={"hostname": agent["hostname"]})
    assert (unfiltered.status_code, unfiltered.text) == (404, f"No filter exists for agent {agent['id']}")
    unknown = http.delete(url, params={"agentId": "nope-S7"})
    assert (unknown.status_code, unknown.text) == (404, "No filter exists for agent nope-S7")
    unknown_host = http.delete(url, params={"hostname": "ghost"})
    assert (unknown_host.status_code, unknown_host.text) == (404, "No filter exists for hostname ghost")


def test_other_methods_are_405_with_allow(cluster, leader, http):
    response = http.patch(leader + "/allocator/filters")
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, POST, PUT, DELETE"


def test_help_page_on_every_master(cluster, http):
    for url in cluster.urls:
        markdown = http.get(url + "/help/allocator/filters", headers={"User-Agent": "curl/8.5.0"})
        assert markdown.status_code == 200
        assert markdown.headers["Content-Type"] == "text/x-markdown"
        assert markdown.text.startswith("### USAGE ###\n>        /allocator/filters\n")
        assert "### TL;DR; ###\nManipulate resource filters for agents" in markdown.text
        page = http.get(url + "/help/allocator/filters")
        assert page.headers["Content-Type"] == "text/html"
        assert page.text.startswith("<html><head><title>Help</title>")


def test_put_on_0afdd8b_still_checks_content_type(cluster_factory, http):
    cluster = cluster_factory(masters=1, agents=1, build="0afdd8b")
    response = http.put(cluster.leader_url + "/allocator/filters", data="{}", headers={"Content-Type": "text/plain"})
    assert (response.status_code, response.text) == (415, "expected: application/json")


def test_non_string_agent_id_takes_the_master_down(cluster, leader, http):
    index = cluster.leader_index
    with pytest.raises(requests.ConnectionError):
        http.post(leader + "/allocator/filters", json={"agentId": 42})
    cluster.wait_for_leader()
    assert cluster.leader_index != index
    with pytest.raises(requests.ConnectionError):
        requests.get(cluster.urls[index] + "/health", timeout=2)


def test_no_such_endpoint_without_the_module(cluster_factory, http):
    plain = cluster_factory(masters=1, agents=1, build=None)
    assert http.get(plain.leader_url + "/allocator/filters").status_code == 404
    assert http.get(plain.leader_url + "/help/allocator/filters").status_code == 404


# --- what differs between the builds -------------------------------------------------------


def standby_url(cluster):
    return next(u for i, u in enumerate(cluster.urls) if i != cluster.leader_index)


def test_0afdd8b_standby_answers_from_its_empty_allocator(cluster_factory, http):
    cluster = cluster_factory(masters=3, agents=3, build="0afdd8b")
    agent = cluster.agents[0]
    cluster.add_filter(agent["id"])
    standby = standby_url(cluster)
    listing = http.get(standby + "/allocator/filters", allow_redirects=False)
    assert (listing.status_code, listing.json()) == (200, {"filters": []})
    post = http.post(standby + "/allocator/filters", json={"agentId": agent["id"]}, allow_redirects=False)
    assert (post.status_code, post.text) == (400, f"No such agent matching agentId=={agent['id']}")
    delete = http.delete(standby + "/allocator/filters", params={"agentId": agent["id"]}, allow_redirects=False)
    assert (delete.status_code, delete.text) == (404, f"No filter exists for agent {agent['id']}")
    assert cluster.filters() == {agent["id"]}


def test_0afdd8b_put_is_a_200_that_does_nothing(cluster_factory, http):
    cluster = cluster_factory(masters=1, agents=2, build="0afdd8b")
    response = http.put(
        cluster.leader_url + "/allocator/filters", json={"filters": [{"agentId": cluster.agent_ids[0]}]}
    )
    assert (response.status_code, response.json()) == (200, {"result": "ok (method not implemented)"})
    assert cluster.filters() == set()


def test_later_standby_redirects_keeping_path_and_query(cluster_factory, http):
    cluster = cluster_factory(masters=3, agents=3, build="later")
    standby = standby_url(cluster)
    leader = cluster.state.leader_info()
    agent_id = cluster.agent_ids[0]
    for method in ("GET", "POST", "DELETE", "PUT"):
        response = http.request(method, standby + f"/allocator/filters?agentId={agent_id}", allow_redirects=False)
        assert response.status_code == 307
        assert response.headers["Location"] == f"//{leader.hostname}:{leader.port}/allocator/filters?agentId={agent_id}"


def test_later_no_leader_is_503(cluster_factory, http):
    cluster = cluster_factory(masters=3, agents=3, build="later", election_delay=30)
    cluster.kill_leader()
    response = http.get(cluster.urls[1] + "/allocator/filters")
    assert (response.status_code, response.text) == (503, "No leader elected")


def test_later_put_replaces_the_set_and_reactivates_disconnected_agents(cluster_factory, http):
    cluster = cluster_factory(masters=1, agents=4, build="later")
    a, b, c, gone = cluster.agent_ids
    cluster.add_filter(a)
    cluster.disconnect_agent(gone)
    assert cluster.filters() == {a, gone}
    response = http.put(cluster.leader_url + "/allocator/filters", json={"filters": [{"agentId": b}, {"agentId": c}]})
    assert response.status_code == 200
    assert filters_of(response) == {b, c}
    assert cluster.filters() == {b, c}  # the disconnected agent is "active" again


def test_later_put_with_an_unknown_agent_changes_nothing(cluster_factory, http):
    cluster = cluster_factory(masters=1, agents=2, build="later")
    a, b = cluster.agent_ids
    cluster.add_filter(a)
    response = http.put(
        cluster.leader_url + "/allocator/filters", json={"filters": [{"agentId": b}, {"hostname": "ghost"}]}
    )
    assert response.status_code == 400
    assert response.text == "One or more agents specified do not exist: [hostname == ghost]"
    assert cluster.filters() == {a}


def test_later_put_without_filters_key_changes_nothing(cluster_factory, http):
    cluster = cluster_factory(masters=1, agents=2, build="later")
    cluster.add_filter(cluster.agent_ids[0])
    response = http.put(cluster.leader_url + "/allocator/filters", json={})
    assert response.status_code == 200
    assert filters_of(response) == {cluster.agent_ids[0]}


def test_later_leader_check_forwards_credentials(cluster_factory, http):
    """With read-only authentication on, the module's own /master/state request fails
    without credentials, and the module calls that "No leader elected"."""
    cluster = cluster_factory(masters=1, agents=2, build="later", principal="ops", secret="s3cret", readonly_auth=True)
    url = cluster.leader_url + "/allocator/filters"
    response = http.get(url)
    assert (response.status_code, response.text) == (503, "No leader elected")
    assert http.get(url, auth=("ops", "wrong")).status_code == 503
    assert http.get(url, auth=("ops", "s3cret")).json() == {"filters": []}
    assert http.get(cluster.leader_url + "/master/redirect", allow_redirects=False).status_code == 307
