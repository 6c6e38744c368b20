"""The master's own HTTP API as the simulator serves it (MESOS-FACTS.md section 3)."""

from __future__ import annotations

import ssl

import pytest
import requests

ACTIVE = ("TASK_STAGING", "TASK_STARTING", "TASK_RUNNING", "TASK_KILLING")


@pytest.fixture
def http():
    with requests.Session() as session:
        yield session


def standby(cluster):
    return next(u for i, u in enumerate(cluster.urls) if i != cluster.leader_index)


def leader_address(cluster):
    info = cluster.state.leader_info()
    return f"{info.hostname}:{info.port}"


@pytest.mark.parametrize("path", ["/master/redirect", "/redirect"])
def test_redirect_from_every_master_names_the_leader_without_scheme(cluster, http, path):
    for url in cluster.urls:  # the leader answers 307 about itself too
        response = http.get(url + path + "?ignored=1", allow_redirects=False)
        assert response.status_code == 307
        assert response.headers["Location"] == f"//{leader_address(cluster)}"
        assert response.content == b""


def test_redirect_with_no_leader_is_503(cluster_factory, http):
    cluster = cluster_factory(masters=3, agents=1, election_delay=60)
    cluster.kill_leader()
    for url in cluster.urls[1:]:
        response = http.get(url + "/master/redirect", allow_redirects=False)
        assert (response.status_code, response.text) == (503, "No leader elected")
        assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
        state = http.get(url + "/master/state", allow_redirects=False)
        assert (state.status_code, state.text) == (503, "No leader elected")


@pytest.mark.parametrize(
    "path",
    ["/master/state", "/master/state-summary", "/master/slaves", "/master/frameworks", "/state", "/state-summary"],
)
def test_standby_redirects_master_endpoints_to_the_leader(cluster, http, path):
    response = http.get(standby(cluster) + path + "?jsonp=x", allow_redirects=False)
    assert response.status_code == 307
    full = path if path.startswith("/master/") else "/master" + path
    assert response.headers["Location"] == f"//{leader_address(cluster)}{full}?jsonp=x"


@pytest.mark.parametrize("path", ["/health", "/master/health", "/version", "/metrics/snapshot", "/master/flags"])
def test_standby_answers_these_itself(cluster, http, path):
    response = http.get(standby(cluster) + path, allow_redirects=False)
    assert response.status_code == 200


def test_health_is_an_empty_200(cluster, http):
    response = http.get(cluster.leader_url + "/health")
    assert (response.status_code, response.content) == (200, b"")
    assert response.headers["Content-Length"] == "0"
    assert "Content-Type" not in response.headers


def test_unknown_path_is_404(cluster_factory, http):
    old = cluster_factory(masters=1, agents=1, version="1.0.1")
    new = cluster_factory(masters=1, agents=1, version="1.11.0")
    assert http.get(old.leader_url + "/master/nope").status_code == 404
    assert http.get(old.leader_url + "/master/nope").content == b""
    assert http.get(new.leader_url + "/master/nope").text == "404 Not Found."


def test_metrics_elected_only_on_the_leader(cluster, http):
    for index, url in enumerate(cluster.urls):
        metrics = http.get(url + "/metrics/snapshot").json()
        assert metrics["master/elected"] == (1.0 if index == cluster.leader_index else 0.0)


def test_version(cluster_factory, http):
    for version in ("1.0.1", "1.11.0"):
        cluster = cluster_factory(masters=1, agents=1, version=version)
        doc = http.get(cluster.leader_url + "/version").json()
        assert doc["version"] == version
        assert {"build_date", "build_time", "build_user", "git_sha", "git_tag"} <= set(doc)


def test_state_shape_1_0_1(cluster, http):
    doc = http.get(cluster.leader_url + "/master/state").json()
    assert doc["version"] == "1.0.1"
    assert doc["leader"] == doc["pid"] == f"master@127.0.0.1:{cluster.state.leader_info().port}"
    assert doc["hostname"] == "localhost"
    assert "leader_info" not in doc
    assert doc["activated_slaves"] == 5.0 and isinstance(doc["activated_slaves"], float)
    agent = doc["slaves"][0]
    assert set(agent) >= {"id", "pid", "hostname", "registered_time", "resources", "used_resources", "active"}
    assert "port" not in agent and "deactivated" not in agent
    assert agent["resources"]["ports"] == "[31000-32000]"
    assert {"cpus", "mem", "disk", "gpus"} <= set(agent["resources"])
    assert agent["id"].endswith("-S0")
    assert all(isinstance(f["tasks"], list) for f in doc["frameworks"])


def test_state_shape_1_11(cluster_factory, http):
    cluster = cluster_factory(masters=1, agents=2, version="1.11.0")
    doc = http.get(cluster.leader_url + "/master/state").json()
    assert doc["leader_info"]["port"] == cluster.state.leader_info().port
    assert doc["slaves"][0]["port"] > 0
    assert doc["slaves"][0]["deactivated"] is False
    assert http.get(cluster.leader_url + "/master/slaves").json()["recovered_slaves"] == []


def test_slaves_1_0_1_has_no_recovered_list(cluster, http):
    doc = http.get(cluster.leader_url + "/master/slaves").json()
    assert set(doc) == {"slaves"}
    assert len(doc["slaves"]) == 5


def test_frameworks(cluster, http):
    doc = http.get(cluster.leader_url + "/master/frameworks").json()
    assert [f["name"] for f in doc["frameworks"]] == ["marathon"]


def test_state_summary_counts_tasks_per_agent(cluster, http):
    agent = cluster.agent_ids[1]
    cluster.launch_tasks(agent, count=3)
    summary = http.get(cluster.leader_url + "/master/state-summary").json()
    row = next(a for a in summary["slaves"] if a["id"] == agent)
    assert row["TASK_RUNNING"] == 3
    assert all(isinstance(row[s], int) for s in ACTIVE)
    assert row["framework_ids"] == [cluster.framework.id]
    cluster.finish_tasks(agent)
    row = next(a for a in http.get(cluster.leader_url + "/master/state-summary").json()["slaves"] if a["id"] == agent)
    assert (row["TASK_RUNNING"], row["TASK_FINISHED"]) == (0, 3)
    assert summary["frameworks"][0]["TASK_RUNNING"] == 3


def test_large_bodies_are_gzipped_for_clients_that_accept_it(cluster, http):
    response = http.get(cluster.leader_url + "/master/state")
    assert response.headers["Content-Encoding"] == "gzip"
    plain = http.get(cluster.leader_url + "/master/state", headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers
    assert plain.json()["id"] == response.json()["id"]


def test_keep_alive_connection_is_reused(cluster, http):
    for _ in range(5):
        http.get(cluster.leader_url + "/allocator/filters")
    pool = http.get_adapter(cluster.leader_url).poolmanager
    assert sum(p.num_connections for p in pool.pools._container.values()) == 1


# --- authentication ---------------------------------------------------------------------


def test_readonly_endpoints_ask_for_credentials(cluster_factory, http):
    cluster = cluster_factory(masters=3, agents=1, principal="ops", secret="s3cret", readonly_auth=True)
    for url in (cluster.leader_url, standby(cluster)):  # authentication runs before the redirect
        for auth in (None, ("ops", "wrong"), ("nobody", "s3cret")):
            response = http.get(url + "/master/state", auth=auth, allow_redirects=False)
            assert response.status_code == 401
            assert response.headers["WWW-Authenticate"] == 'Basic realm="mesos-master-readonly"'
            assert response.content == b""
    assert http.get(cluster.leader_url + "/master/state", auth=("ops", "s3cret")).status_code == 200
    assert http.get(cluster.leader_url + "/metrics/snapshot").status_code == 401
    for path in ("/master/redirect", "/health", "/version", "/allocator/filters"):
        response = http.get(cluster.leader_url + path, auth=("ops", "s3cret"), allow_redirects=False)
        assert response.status_code in (200, 307)


def test_readonly_is_open_unless_asked(cluster_factory, http):
    cluster = cluster_factory(masters=1, agents=1, principal="ops", secret="s3cret")
    assert http.get(cluster.leader_url + "/master/state").status_code == 200


# --- TLS --------------------------------------------------------------------------------


def test_tls_with_the_generated_ca(cluster_factory):
    cluster = cluster_factory(masters=3, agents=2, tls=True)
    assert all(u.startswith("https://") for u in cluster.urls)
    response = requests.get(cluster.urls[1] + "/master/redirect", verify=cluster.ca_path, allow_redirects=False)
    assert response.headers["Location"].startswith("//localhost:")
    assert requests.get(cluster.leader_url + "/master/state", verify=cluster.ca_path).status_code == 200
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(cluster.leader_url + "/health", timeout=5)
    with pytest.raises(requests.ConnectionError):
        requests.get(cluster.leader_url.replace("https", "http") + "/health", timeout=5)
    ctx = ssl.create_default_context(cafile=cluster.ca_path)
    assert ctx.cert_store_stats()["x509_ca"] == 1
