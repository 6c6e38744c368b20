# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The playbooks as AWX runs them: through ansible-runner (AWX's job engine) with a private data directory,
an inventory, survey-shaped extra variables (every value a string) and the master URL injected as an
environment variable by a credential; and the execution environment definition for ansible-builder."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import ansible_runner
import pytest
import yaml
from maintenance_helpers import REPO, SimulatedSite

BIN = Path(sys.executable).parent


@pytest.fixture
def site(cluster_factory, tmp_path, collections_path):
    site = SimulatedSite(
        cluster_factory(masters=3, agents=6, build="0afdd8b", tasks=6, task_duration=0.5), tmp_path, collections_path
    )
    yield site
    site.close()


def run_job(site, playbook, survey, name):
    """One AWX-style job: private data dir with inventory/hosts, env/extravars and env/envvars."""
    data_dir = site.tmp_path / f"awx-{name}"
    (data_dir / "inventory").mkdir(parents=True)
    (data_dir / "env").mkdir()
    agents = "\n".join(site.hostnames())
    (data_dir / "inventory" / "hosts").write_text(
        f"[mesos_agents]\n{agents}\n\n[mesos_agents:vars]\nansible_connection=local\n"
        f"ansible_python_interpreter={sys.executable}\n"
    )
    (data_dir / "env" / "extravars").write_text(yaml.safe_dump(survey))
    envvars = {
        # what a custom credential type of AWX injects
        "MESOS_MASTER_URL": ",".join(site.cluster.urls),
        # what AWX's project sync provides: the collection installed from collections/requirements.yml
        "ANSIBLE_COLLECTIONS_PATH": str(site.collections_path),
        "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "false",
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
        "ANSIBLE_HOME": str(site.tmp_path / "ansible-home"),
        "ANSIBLE_LOCAL_TEMP": str(site.tmp_path / "ansible-tmp"),
        "ANSIBLE_DEPRECATION_WARNINGS": "false",
        "PATH": f"{BIN}:/usr/bin:/bin",
    }
    (data_dir / "env" / "envvars").write_text(yaml.safe_dump(envvars))
    runner = ansible_runner.run(
        private_data_dir=str(data_dir),
        project_dir=str(REPO),
        playbook=f"playbooks/{playbook}.yml",
        quiet=True,
        timeout=300,
    )
    return runner, list(runner.events)


def job_output(runner):
    """The job's output, as AWX shows it."""
    with runner.stdout as stdout:
        return stdout.read()


def task_events(events, task, event="runner_on_ok"):
    return [e for e in events if e["event"] == event and e["event_data"].get("task", "").endswith(task)]


def test_drain_and_restore_through_ansible_runner(site):
    names = site.hostnames()[1:3]
    survey = {
        "mesos_maintenance_agents": "\n".join(names),  # a textarea survey question
        "agent_maintenance_wait": "true",  # a multiple choice question
        "agent_maintenance_wait_timeout": "120",  # an integer question arrives as text from some clients
        "agent_maintenance_max_filtered": "50%",
        "agent_maintenance_memory_file": str(site.memory_file),
    }
    runner, events = run_job(site, "drain", survey, "drain")
    assert runner.status == "successful", job_output(runner)[-4000:]
    assert runner.rc == 0
    assert not [e for e in events if e["event"] in ("runner_on_failed", "runner_on_unreachable")]
    (drain,) = task_events(events, "Drain the agents of this batch")
    result = drain["event_data"]["res"]
    assert result["changed"] is True and len(result["added"]) == 2, result
    assert [(a["hostname"], a["outcome"]) for a in result["agents"]] == [(n, "new") for n in names], result
    # the report, as plain text in the job's output
    assert "    taken out by this run: " + ", ".join(names) in job_output(runner).splitlines()
    stats = [e for e in events if e["event"] == "playbook_on_stats"][-1]["event_data"]
    assert not stats["failures"] and not stats["dark"]
    assert site.filtered_hostnames() == names
    assert site.held() == names

    runner, events = run_job(site, "restore", {**survey, "agent_maintenance_registration_timeout": "30"}, "restore")
    assert runner.status == "successful", job_output(runner)[-4000:]
    (restore,) = task_events(events, "Restore the agents of this batch")
    assert restore["event_data"]["res"]["restored"] == names
    assert site.filtered_hostnames() == []
    assert site.held() == []


def test_status_through_ansible_runner(site):
    runner, events = run_job(site, "status", {"agent_maintenance_memory_file": str(site.memory_file)}, "status")
    assert runner.status == "successful", job_output(runner)[-4000:]
    (table,) = task_events(events, "Status of the agents")
    lines = table["event_data"]["res"]["lines"]
    assert lines[0].startswith("6 agents, 0 filtered, 0 disconnected, "), lines
    assert sorted(line.split()[0] for line in lines[2:]) == sorted(site.hostnames()), lines
    # the table, as plain text in the job's output
    output = job_output(runner).splitlines()
    assert all(f"    {line}" in output for line in lines), output


def test_survey_specs_name_the_playbooks_variables():
    """Each playbook has a survey spec in extensions/, in the shape AWX imports, whose variables the playbook reads."""
    specs = sorted((REPO / "extensions" / "surveys").glob("*.json"))
    assert {p.stem for p in specs} == {"drain", "restore", "rolling_maintenance", "status"}
    for path in specs:
        spec = yaml.safe_load(path.read_text())
        assert spec["name"] and spec["description"] and spec["spec"], path
        playbook = (REPO / "playbooks" / f"{path.stem}.yml").read_text()
        role_files = "".join(p.read_text() for p in (REPO / "roles" / "agent_maintenance").rglob("*.yml"))
        task_files = "".join(p.read_text() for p in (REPO / "playbooks" / "tasks").glob("*.yml"))
        for question in spec["spec"]:
            assert question["type"] in ("text", "textarea", "integer", "float", "multiplechoice", "password"), question
            variable = question["variable"]
            assert variable in playbook + role_files + task_files, (path.name, variable)


# What a job user must not choose: which file the run reads or writes and on which host (the ledger, TLS files), and
# what runs on the agent hosts. These belong to the job template's extra variables.
JOB_TEMPLATE_ONLY = {
    "agent_maintenance_memory_file",
    "agent_maintenance_ledger_zookeeper",
    "agent_maintenance_delegate_to",
    "agent_maintenance_ca_path",
    "agent_maintenance_client_cert",
    "agent_maintenance_client_key",
    "mesos_maintenance_tasks_file",
    "mesos_maintenance_role",
    "mesos_maintenance_role_tasks_from",
}


def test_surveys_ask_for_no_path():
    for path in sorted((REPO / "extensions" / "surveys").glob("*.json")):
        asked = {question["variable"] for question in yaml.safe_load(path.read_text())["spec"]}
        assert not asked & JOB_TEMPLATE_ONLY, (path.name, sorted(asked & JOB_TEMPLATE_ONLY))


def test_execution_environment_build_context(tmp_path):
    """ansible-builder 3 turns execution-environment.yml into a build context with the collection and requests."""
    builder = BIN / "ansible-builder"
    work = tmp_path / "ee"
    work.mkdir()
    shutil.copy(REPO / "execution-environment.yml", work)
    subprocess.run(
        [str(BIN / "ansible-galaxy"), "collection", "build", str(REPO), "--output-path", str(work)],
        check=True,
        capture_output=True,
    )
    done = subprocess.run(
        [str(builder), "create", "--file", "execution-environment.yml", "--context", "context"],
        cwd=work,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    context = work / "context"
    assert list((context / "_build" / "collections").glob("mesos-maintenance-*.tar.gz"))
    assert "requests" in (context / "_build" / "requirements.txt").read_text()
    requirements = yaml.safe_load((context / "_build" / "requirements.yml").read_text())
    assert requirements["collections"][0]["name"].endswith("mesos-maintenance.tar.gz")
    assert "ansible-galaxy collection install" in (context / "Containerfile").read_text()


def test_awx_project_requirements_install_this_collection():
    requirements = yaml.safe_load((REPO / "collections" / "requirements.yml").read_text())
    (entry,) = requirements["collections"]
    galaxy = yaml.safe_load((REPO / "galaxy.yml").read_text())
    assert entry["type"] == "git" and entry["name"].startswith(galaxy["repository"])
