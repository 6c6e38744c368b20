# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""roles/offer_filter_allocator/files/discover.py, the role's read of how mesos-master is configured, run as the role
runs it (ansible.builtin.script: its arguments, its stdout read as JSON): a file it cannot read is a clear error, not a
traceback, and it leaves nothing changed (it never changes anything)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

DISCOVER = Path(__file__).resolve().parents[2] / "roles" / "offer_filter_allocator" / "files" / "discover.py"


def discover(tmp_path, env_file=None, modules_json=""):
    args = [
        str(env_file or tmp_path / "mesos-master.env"),
        str(tmp_path / "flags"),
        str(tmp_path / "dropin" / "mesos.conf"),
        "mesos-maintenance-test-no-such-service",
        str(modules_json),
        str(tmp_path / "modules" / "modules.json"),
    ]
    return subprocess.run([sys.executable, str(DISCOVER), *args], capture_output=True, text=True, timeout=60)


def test_what_it_finds(tmp_path):
    env_file = tmp_path / "mesos-master.env"
    env_file.write_text(f'MESOS_MODULES="file://{tmp_path}/in-use.json"\nexport MESOS_ALLOCATOR=Theirs\n')
    env_file.chmod(0o600)
    (tmp_path / "in-use.json").write_text('{"libraries": []}')
    done = discover(tmp_path)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert (found["files"]["env_file"]["exists"], found["files"]["env_file"]["mode"]) == (True, "0600")
    assert [e["value"] for e in found["settings"]["allocator"]] == ["Theirs"]
    assert found["files"]["modules_json"]["path"] == f"{tmp_path}/in-use.json"
    assert found["files"]["modules_json"]["chosen"] is True
    assert found["files"]["flag_modules"]["exists"] is False


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda path: path.mkdir(), "Is a directory"),
        (lambda path: path.write_bytes(b"MESOS_ALLOCATOR=\xff\xfe\n"), "'utf-8' codec can't decode byte 0xff"),
    ],
    ids=["a directory", "not UTF-8"],
)
@pytest.mark.parametrize("which", ["env_file", "modules_json"])
def test_a_file_it_cannot_read_is_a_clear_error(tmp_path, make, reason, which):
    path = tmp_path / "bad"
    make(path)
    done = discover(tmp_path, **{which: path})
    assert done.returncode == 1
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith(f"discover.py: cannot read {path}: {reason}"), done.stderr
    assert done.stderr.rstrip().endswith("and run again. Nothing was changed."), done.stderr
