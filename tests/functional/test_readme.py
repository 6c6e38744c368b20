# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""README.md is also the collection's Galaxy page: its first screen serves someone who installs the collection, and
what it names exists in what they install (what only a clone has is marked as such)."""

from __future__ import annotations

import re

from maintenance_helpers import PLAYBOOKS, REPO

README = (REPO / "README.md").read_text()
# The sections before the first one about the repository only: what a Galaxy user reads first.
FIRST_SCREEN = README.split("\n## Only in the repository", 1)[0]


def test_the_first_screen_serves_someone_who_installs_the_collection():
    headings = re.findall(r"^## (.+)$", FIRST_SCREEN, re.M)
    assert headings == ["Requirements", "Install", "A first run: look, rehearse, then maintain"], headings
    assert "ansible-galaxy collection install mesos.maintenance" in FIRST_SCREEN
    assert "-e mesos_maintenance_rehearsal=true" in FIRST_SCREEN
    assert "make " not in FIRST_SCREEN  # make targets need a clone


def test_what_the_first_screen_runs_is_in_the_collection():
    playbooks = re.findall(r"ansible-playbook -i \S+ mesos\.maintenance\.(\w+)", FIRST_SCREEN)
    assert playbooks, FIRST_SCREEN
    for playbook in playbooks:
        assert (PLAYBOOKS / f"{playbook}.yml").is_file(), playbook
    read = "".join(p.read_text() for p in PLAYBOOKS.rglob("*.yml"))
    for variable in re.findall(r"-e (\w+)=", FIRST_SCREEN):
        assert variable in read or variable.startswith("agent_maintenance_"), variable
    example = (PLAYBOOKS / "inventory.example.ini").read_text().splitlines()
    (inventory,) = re.findall(r"```ini\n(.*?)```", FIRST_SCREEN, re.S)
    assert all(line in example for line in inventory.splitlines()), inventory


def test_the_set_up_commands_stay():
    makefile = (REPO / "Makefile").read_text()
    for target in ("demo", "test", "demo-real"):
        assert f"$ make {target}" in README or f"`make {target}`" in README, target
        assert re.search(rf"^{re.escape(target)}:", makefile, re.M), target
