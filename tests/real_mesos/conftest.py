"""The real-Mesos suites' fixtures: the harness' (which its own tests use like any other suite), and
`run_offer_filter`."""

import json
import subprocess

import pytest
import yaml
from functional.maintenance_helpers import ANSIBLE_PLAYBOOK, ansible_env, collections_dir

from real_mesos.fixtures import real_mesos, real_mesos_factory, real_mesos_installation  # noqa: F401


@pytest.fixture(scope="module")
def run_offer_filter(tmp_path_factory):
    """`run_offer_filter(mesos, **args)` -> the result of one offer_filter task run by ansible-playbook."""
    root = tmp_path_factory.mktemp("offer-filter")
    collections = collections_dir(root / "collections")
    runs = [0]

    def run(mesos, **args) -> dict:
        runs[0] += 1
        task = {"name": "offer_filter", "mesos.maintenance.offer_filter": {"master_url": [mesos.url], **args}}
        playbook = root / f"play-{runs[0]}.yml"
        playbook.write_text(yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "tasks": [task]}]))
        results = root / f"results-{runs[0]}.json"
        env = ansible_env(root, collections, results)
        command = [ANSIBLE_PLAYBOOK, "-i", "localhost,", "-c", "local", str(playbook)]
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
        assert results.exists(), done.stdout[-3000:] + done.stderr[-3000:]
        [result] = json.loads(results.read_text())
        assert result["_status"] == "ok", json.dumps(result, indent=1)[:4000]
        return result

    return run
