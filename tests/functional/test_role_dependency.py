# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A user's own patching role that depends on mesos.maintenance.agent_maintenance, with the collection
built into a tarball and installed by ansible-galaxy into a fresh path (not the repository checkout)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from maintenance_helpers import REPO, SimulatedSite

BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def installed_collection(tmp_path_factory):
    work = tmp_path_factory.mktemp("galaxy")
    subprocess.run(
        [str(BIN / "ansible-galaxy"), "collection", "build", str(REPO), "--output-path", str(work)],
        check=True,
        capture_output=True,
    )
    (tarball,) = work.glob("mesos-maintenance-*.tar.gz")
    path = work / "installed"
    done = subprocess.run(
        [str(BIN / "ansible-galaxy"), "collection", "install", str(tarball), "-p", str(path)],
        capture_output=True,
        text=True,
        env={"PATH": f"{BIN}:/usr/bin:/bin", "ANSIBLE_HOME": str(work / "home")},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    root = path / "ansible_collections" / "mesos" / "maintenance"
    assert (root / "roles" / "agent_maintenance" / "meta" / "argument_specs.yml").exists()
    assert not (root / "tests").exists()
    return path


def write_user_role(base):
    role = base / "roles" / "patch_agent"
    (role / "meta").mkdir(parents=True)
    (role / "tasks").mkdir()
    (role / "meta" / "main.yml").write_text(
        yaml.safe_dump(
            {
                "galaxy_info": {
                    "author": "ops",
                    "description": "patch a Mesos agent",
                    "license": "MIT",
                    "min_ansible_version": "2.17",
                },
                "dependencies": [
                    {"role": "mesos.maintenance.agent_maintenance", "vars": {"agent_maintenance_state": "drained"}}
                ],
            }
        )
    )
    (role / "tasks" / "main.yml").write_text(
        yaml.safe_dump(
            [
                {
                    "name": "Patch the agent (while it is drained)",
                    "ansible.builtin.debug": {"msg": "patching {{ inventory_hostname }}"},
                },
                {
                    "name": "Put the agent back",
                    "ansible.builtin.include_role": {
                        "name": "mesos.maintenance.agent_maintenance",
                        "tasks_from": "restore",
                    },
                },
            ],
            sort_keys=False,
        )
    )
    playbook = base / "patch.yml"
    playbook.write_text(
        yaml.safe_dump(
            [
                {
                    "name": "Patch agents",
                    "hosts": "mesos_agents",
                    "serial": 2,
                    "gather_facts": False,
                    "roles": ["patch_agent"],
                }
            ],
            sort_keys=False,
        )
    )
    return playbook


def test_user_role_depending_on_agent_maintenance(cluster_factory, tmp_path, installed_collection):
    cluster = cluster_factory(masters=3, agents=4, build="later", tasks=4, task_duration=0.3)
    site = SimulatedSite(cluster, tmp_path, installed_collection)
    try:
        playbook = write_user_role(tmp_path)

        run = site.run(str(playbook), env={"ANSIBLE_ROLES_PATH": str(tmp_path / "roles")})
        assert run.rc == 0, run.output
        drains = run.tasks("Drain the agents of this batch")
        restores = run.tasks("Restore the agents of this batch")
        assert len(drains) == 2 and len(restores) == 2, run.output
        batches = [site.hostnames()[:2], site.hostnames()[2:]]
        for drain, restore, batch in zip(drains, restores, batches, strict=True):
            assert [(a["hostname"], a["outcome"]) for a in drain["agents"]] == [(h, "new") for h in batch], drain
            assert drain["run_id"] == "agent_maintenance", drain
            assert [(a["hostname"], a["outcome"]) for a in restore["agents"]] == [(h, "restored") for h in batch]
            assert restore["restored"] == batch, restore
        assert site.filtered_hostnames() == []
        assert site.held() == []
        # the patch ran between the drain and the restore of its batch, on both hosts of the batch
        names = [r["_task"].split(" : ")[-1] for r in run.results]
        patched = "Patch the agent (while it is drained)"
        drained = [i for i, name in enumerate(names) if name == "Drain the agents of this batch"]
        restored = [i for i, name in enumerate(names) if name == "Restore the agents of this batch"]
        assert drained[0] < restored[0] < drained[1] < restored[1], names
        for start, end in zip(drained, restored, strict=True):
            assert names[start + 1 : end].count(patched) == 2, names
        assert sorted(r["msg"] for r in run.tasks(patched)) == [f"patching {h}" for h in site.hostnames()]
    finally:
        site.close()
