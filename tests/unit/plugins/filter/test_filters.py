# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The filter plugins of the rolling maintenance: batch_errors, maintenance_targets (over a real inventory built
from a small ``groups``) and agent_hostnames' error."""

from __future__ import annotations

import pytest
from ansible import constants as C
from ansible.errors import AnsibleFilterError

from ansible_collections.mesos.maintenance.plugins.filter import agent_hostnames, batch_errors, maintenance_targets

# --- batch_errors -------------------------------------------------------------------------------------------

HOSTVARS = {
    "agent-1": {"mesos_maintenance_error": "reboot failed:\n  timed out\twaiting  for agent-1 "},
    "agent-2": {"mesos_maintenance_error": ""},
    "agent-3": {"mesos_maintenance_error": None, "my_error": {"msg": "boom"}},
    "agent-4": {},
    "agent-5": {"mesos_maintenance_error": "disk full"},
}


@pytest.mark.parametrize(
    ("hosts", "args", "expected"),
    [
        (
            ["agent-1", "agent-2", "agent-3", "agent-4", "agent-5", "agent-6"],
            (),
            {"agent-1": "reboot failed: timed out waiting for agent-1", "agent-5": "disk full"},
        ),
        (["agent-2", "agent-4"], (), {}),
        (["agent-5"], (), {"agent-5": "disk full"}),  # only the hosts of the batch
        (["agent-3", "agent-5"], ("my_error",), {"agent-3": "{'msg': 'boom'}"}),
        (None, (), {}),
        ([], (), {}),
    ],
)
def test_batch_errors(hosts, args, expected):
    assert batch_errors.batch_errors(hosts, HOSTVARS, *args) == expected


def test_batch_errors_is_registered():
    assert batch_errors.FilterModule().filters() == {"batch_errors": batch_errors.batch_errors}


# --- maintenance_targets ------------------------------------------------------------------------------------

GROUPS = {
    "all": ["agent-1", "agent-2", "agent-3", "agent-10", "master-1", "bastion"],
    "ungrouped": ["bastion"],
    "mesos_agents": ["agent-1", "agent-2", "agent-3", "agent-10"],
    "mesos_masters": ["master-1"],
    "rack_b": ["agent-3", "agent-10"],
}


@pytest.mark.parametrize(
    ("patterns", "expected"),
    [
        ("mesos_agents", ["agent-1", "agent-2", "agent-3", "agent-10"]),
        ("agent-1*", ["agent-1", "agent-10"]),
        ("mesos_agents:!agent-2", ["agent-1", "agent-3", "agent-10"]),
        ("mesos_agents:&rack_b", ["agent-3", "agent-10"]),
        ("mesos_agents:!rack_b", ["agent-1", "agent-2"]),
        ("agent-3,agent-1", ["agent-3", "agent-1"]),
        (["agent-2", "mesos_masters"], ["agent-2", "master-1"]),
        ("agent-2\nagent-2 rack_b, agent-3", ["agent-2", "agent-3", "agent-10"]),  # an AWX survey's text area
        ("bastion", ["bastion"]),
    ],
)
def test_maintenance_targets(patterns, expected):
    assert maintenance_targets.maintenance_targets(patterns, GROUPS) == expected


@pytest.mark.parametrize(
    ("patterns", "unknown"),
    [
        ("agent-99", "agent-99"),
        ("agent-1, agent-99.example", "agent-99.example"),
        ("agent-7*", "agent-7*"),
        ("mesos_masters:&rack_b", "mesos_masters:&rack_b"),
        (["agent-98", "mesos_agents", "agent-99"], "agent-98, agent-99"),
    ],
)
@pytest.mark.parametrize("mismatch", ["ignore", "warning", "error"])
def test_maintenance_targets_unknown_names_fail(patterns, unknown, mismatch, monkeypatch):
    # ansible-test runs with host_pattern_mismatch=error: the filter's own message must win whatever the setting.
    monkeypatch.setattr(C, "HOST_PATTERN_MISMATCH", mismatch)
    with pytest.raises(AnsibleFilterError) as error:
        maintenance_targets.maintenance_targets(patterns, GROUPS)
    assert str(error.value).startswith(
        "mesos_maintenance_agents names %s, which match(es) no host of the inventory." % unknown
    )
    assert "mesos_agents" in str(error.value)


def test_maintenance_targets_unknown_names_are_bounded():
    names = ["ghost-%d" % n for n in range(10_000)]
    with pytest.raises(AnsibleFilterError) as error:
        maintenance_targets.maintenance_targets(names, GROUPS)
    assert str(error.value).startswith("mesos_maintenance_agents names ghost-0, ghost-1, ")
    assert "ghost-19, and 9980 more, which match(es) no host" in str(error.value)
    assert len(str(error.value)) < 1000


@pytest.mark.parametrize(
    ("patterns", "expected"),
    [
        ("agent-1, agent-99.example", ["agent-1", "agent-99.example"]),
        ("agent-99.example,rack_b", ["agent-3", "agent-10", "agent-99.example"]),  # inventory hosts first
        ("mesos_masters", ["master-1"]),
        ("agent-7*, agent-1", ["agent-1", "agent-7*"]),
    ],
)
@pytest.mark.parametrize("mismatch", ["warning", "error"])
def test_maintenance_targets_api_only_keeps_unknown_names(patterns, expected, mismatch, monkeypatch):
    monkeypatch.setattr(C, "HOST_PATTERN_MISMATCH", mismatch)
    assert maintenance_targets.maintenance_targets(patterns, GROUPS, unknown="api_only") == expected


@pytest.mark.parametrize("patterns", [None, "", " ,\n", [], [""]])
@pytest.mark.parametrize("unknown", ["fail", "api_only"])
def test_maintenance_targets_empty(patterns, unknown):
    with pytest.raises(AnsibleFilterError) as error:
        maintenance_targets.maintenance_targets(patterns, GROUPS, unknown=unknown)
    assert str(error.value).startswith("Set mesos_maintenance_agents to the agents to act on")


def test_maintenance_targets_is_registered():
    assert maintenance_targets.FilterModule().filters() == {
        "maintenance_targets": maintenance_targets.maintenance_targets
    }


# --- agent_hostnames ----------------------------------------------------------------------------------------


def test_agent_hostnames_filter():
    hostvars = {"agent-1": {"mesos_agent_hostname": "a1.example"}, "agent-2": {}}
    assert agent_hostnames.agent_hostnames(["agent-1"], hostvars, "variable") == ["a1.example"]
    with pytest.raises(AnsibleFilterError, match="host agent-2 has no variable mesos_agent_hostname"):
        agent_hostnames.agent_hostnames(["agent-1", "agent-2"], hostvars, "variable")
