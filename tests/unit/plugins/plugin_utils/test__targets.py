# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_targets: survey strings to names, inventory patterns to hosts, hosts to agent hostnames, and where the
maintenance a rolling run runs is found (checked before any agent is touched)."""

from __future__ import annotations

import os

import pytest

from ansible_collections.mesos.maintenance.plugins.plugin_utils._targets import (
    TargetError,
    agent_hostname,
    agent_hostnames,
    match_hosts,
    resolve_maintenance,
    split_names,
)

# --- split_names --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, []),
        ("", []),
        (" ,\n ", []),
        ("agent-1", ["agent-1"]),
        ("agent-1,agent-2", ["agent-1", "agent-2"]),
        ("agent-1, agent-2\nagent-3  agent-1", ["agent-1", "agent-2", "agent-3"]),  # an AWX survey's text area
        ("agent-1\r\nagent-2\t,,agent-3", ["agent-1", "agent-2", "agent-3"]),
        (["agent-2", " agent-1 ", "", "agent-2"], ["agent-2", "agent-1"]),
        (("mesos_agents", "mesos_agents:!agent-2"), ["mesos_agents", "mesos_agents:!agent-2"]),
        ([3, "3"], ["3"]),
    ],
)
def test_split_names(value, expected):
    assert split_names(value) == expected


# --- match_hosts --------------------------------------------------------------------------------------------

GROUPS = {
    "all": ["agent-1", "agent-2", "agent-10", "master-1"],
    "ungrouped": [],
    "mesos_agents": ["agent-1", "agent-2", "agent-10"],
    "mesos_masters": ["master-1"],
}
ANSWERS = {
    "agent-1": ["agent-1"],
    "agent-2": ["agent-2"],
    "mesos_agents": ["agent-1", "agent-2", "agent-10"],
    "mesos_masters": ["master-1"],
    "agent-1*": ["agent-1", "agent-10"],
    "mesos_agents:!agent-2": ["agent-1", "agent-10"],
    "mesos_agents:&mesos_masters": [],
}


class Query:
    """An inventory's pattern -> hosts, recording what was asked."""

    def __init__(self):
        self.asked = []

    def __call__(self, pattern):
        self.asked.append(pattern)
        return list(ANSWERS.get(pattern, []))


@pytest.mark.parametrize(
    ("patterns", "hosts", "unknown", "asked"),
    [
        ("mesos_agents", ["agent-1", "agent-2", "agent-10"], [], ["mesos_agents"]),
        ("agent-2,agent-1", ["agent-2", "agent-1"], [], ["agent-2", "agent-1"]),
        ("agent-1*", ["agent-1", "agent-10"], [], ["agent-1*"]),
        ("mesos_agents:!agent-2", ["agent-1", "agent-10"], [], ["mesos_agents:!agent-2"]),
        (
            ["agent-2", "mesos_agents", "agent-2"],  # duplicates: each host once, in the order first matched
            ["agent-2", "agent-1", "agent-10"],
            [],
            ["agent-2", "mesos_agents"],
        ),
        # Not a host, group or pattern: unknown without asking the inventory (which would warn).
        ("agent-99.example, agent-1", ["agent-1"], ["agent-99.example"], ["agent-1"]),
        # A pattern matching nothing is unknown too.
        ("mesos_agents:&mesos_masters", [], ["mesos_agents:&mesos_masters"], ["mesos_agents:&mesos_masters"]),
        ("", [], [], []),
    ],
)
def test_match_hosts(patterns, hosts, unknown, asked):
    query = Query()
    assert match_hosts(patterns, GROUPS, query) == {"hosts": hosts, "unknown": unknown}
    assert query.asked == asked


def test_match_hosts_knows_group_names_and_hosts_of_all_only():
    query = Query()
    groups = {"all": ["agent-1"], "edge": []}
    assert match_hosts("agent-2 edge agent-1", groups, query) == {"hosts": ["agent-1"], "unknown": ["agent-2", "edge"]}
    assert query.asked == ["edge", "agent-1"]


# --- agent_hostname(s) --------------------------------------------------------------------------------------

HOSTVARS = {
    "agent-1": {"ansible_host": "10.0.0.1", "mesos_agent_hostname": "agent-1.mesos.example"},
    "agent-2": {"ansible_host": "10.0.0.2", "agent_fqdn": 12},
    "agent-3": {},
}


@pytest.mark.parametrize(
    ("host", "source", "variable", "expected"),
    [
        ("agent-1", "inventory_hostname", "mesos_agent_hostname", "agent-1"),
        ("agent-1", "ansible_host", "mesos_agent_hostname", "10.0.0.1"),
        ("agent-3", "ansible_host", "mesos_agent_hostname", "agent-3"),  # no ansible_host: the inventory name
        ("agent-1", "variable", "mesos_agent_hostname", "agent-1.mesos.example"),
        ("agent-2", "variable", "agent_fqdn", "12"),
        ("agent-9", "inventory_hostname", "mesos_agent_hostname", "agent-9"),  # no host variables at all
    ],
)
def test_agent_hostname(host, source, variable, expected):
    assert agent_hostname(host, HOSTVARS, source, variable) == expected


def test_agent_hostname_missing_variable():
    with pytest.raises(TargetError) as error:
        agent_hostname("agent-2", HOSTVARS, "variable", "mesos_agent_hostname")
    assert str(error.value) == (
        "agent_maintenance_agent_source is variable, but host agent-2 has no variable mesos_agent_hostname. "
        "Nothing was changed."
    )


def test_agent_hostname_unknown_source():
    with pytest.raises(TargetError) as error:
        agent_hostname("agent-1", HOSTVARS, "fqdn", "mesos_agent_hostname")
    assert str(error.value) == (
        "agent_maintenance_agent_source must be one of inventory_hostname, ansible_host, variable, not fqdn. "
        "Nothing was changed."
    )


@pytest.mark.parametrize(
    ("hosts", "args", "expected"),
    [
        (["agent-1", "agent-3"], (), ["agent-1", "agent-3"]),
        (["agent-1", "agent-3"], ("ansible_host",), ["10.0.0.1", "agent-3"]),
        (["agent-1"], ("variable",), ["agent-1.mesos.example"]),
        (["agent-1", "agent-1"], (), ["agent-1"]),
        (None, (), []),
        # Named agents (a list, or a survey string) win over the hosts.
        (
            ["agent-1"],
            ("inventory_hostname", "mesos_agent_hostname", "x.example, y.example\nx.example"),
            ["x.example", "y.example"],
        ),
        (["agent-1"], ("inventory_hostname", "mesos_agent_hostname", ["z.example"]), ["z.example"]),
        (["agent-1"], ("inventory_hostname", "mesos_agent_hostname", ""), ["agent-1"]),
    ],
)
def test_agent_hostnames(hosts, args, expected):
    assert agent_hostnames(hosts, HOSTVARS, *args) == expected


def test_agent_hostnames_missing_variable():
    with pytest.raises(TargetError, match="host agent-3 has no variable mesos_agent_hostname"):
        agent_hostnames(["agent-1", "agent-3"], HOSTVARS, "variable")


# --- resolve_maintenance ------------------------------------------------------------------------------------


@pytest.fixture
def folders(tmp_path):
    """The directory ansible-playbook runs in and the collection's playbooks/, with tasks files in them."""
    cwd = tmp_path / "project"
    playbooks = tmp_path / "collection" / "playbooks"
    for path in (
        cwd / "maint.yml",
        cwd / "tasks" / "both.yml",
        playbooks / "tasks" / "both.yml",
        playbooks / "tasks" / "reboot.yml",
        playbooks / "tasks" / "pause.yml",
    ):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("- ansible.builtin.ping:\n")
    (cwd / "folder.yml").mkdir()
    return str(cwd), str(playbooks)


def no_role(name):
    raise AssertionError("no role was asked for, yet role_exists(%r) was called" % name)


@pytest.mark.parametrize(
    ("tasks_file", "where", "found"),
    [
        ("maint.yml", "cwd", "maint.yml"),
        ("tasks/both.yml", "cwd", "tasks/both.yml"),  # the cwd first
        ("tasks/pause.yml", "playbooks", "tasks/pause.yml"),
        (None, "playbooks", "tasks/reboot.yml"),  # the default
        ("", "playbooks", "tasks/reboot.yml"),
    ],
)
def test_resolve_maintenance_relative(folders, tasks_file, where, found):
    cwd, playbooks = folders
    base = cwd if where == "cwd" else playbooks
    assert resolve_maintenance(tasks_file, None, cwd, playbooks, no_role) == ("tasks", os.path.join(base, found))


def test_resolve_maintenance_absolute(folders):
    cwd, playbooks = folders
    path = os.path.join(playbooks, "tasks", "pause.yml")
    assert resolve_maintenance(path, None, "/nonexistent", "/nonexistent", no_role) == ("tasks", path)


def test_resolve_maintenance_result_is_absolute(folders, monkeypatch):
    cwd, playbooks = folders
    monkeypatch.chdir(os.path.dirname(cwd))
    assert resolve_maintenance("maint.yml", None, "project", playbooks, no_role) == (
        "tasks",
        os.path.join(cwd, "maint.yml"),
    )


@pytest.mark.parametrize("tasks_file", ["missing.yml", "folder.yml"])
def test_resolve_maintenance_missing_relative(folders, tasks_file):
    cwd, playbooks = folders
    with pytest.raises(TargetError) as error:
        resolve_maintenance(tasks_file, None, cwd, playbooks, no_role)
    assert str(error.value) == (
        "mesos_maintenance_tasks_file=%s: no such file (looked for %s and %s). A relative path is looked up in the "
        "directory ansible-playbook runs in, then in the collection's playbooks/. Nothing was changed."
        % (tasks_file, os.path.join(cwd, tasks_file), os.path.join(playbooks, tasks_file))
    )


def test_resolve_maintenance_missing_absolute(folders):
    cwd, playbooks = folders
    path = os.path.join(cwd, "tasks", "missing.yml")
    with pytest.raises(TargetError) as error:
        resolve_maintenance(path, None, cwd, playbooks, no_role)
    assert "mesos_maintenance_tasks_file=%s: no such file (looked for %s). " % (path, path) in str(error.value)


def test_resolve_maintenance_role():
    asked = []

    def role_exists(name):
        asked.append(name)
        return name == "my_namespace.ops.reboot"

    # The role wins over the tasks file, which is not even looked up.
    assert resolve_maintenance(
        "missing.yml", "my_namespace.ops.reboot", "/nonexistent", "/nonexistent", role_exists
    ) == (
        "role",
        "my_namespace.ops.reboot",
    )
    with pytest.raises(TargetError) as error:
        resolve_maintenance(None, "reboot_agents", "/nonexistent", "/nonexistent", role_exists)
    assert str(error.value) == (
        "mesos_maintenance_role=reboot_agents: no such role (looked for it as a collection role and in the roles "
        "paths). Nothing was changed."
    )
    assert asked == ["my_namespace.ops.reboot", "reboot_agents"]
