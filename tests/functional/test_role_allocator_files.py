# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The offer_filter_allocator role writes mesos-master's files without exposing them: a modules manifest or an
environment file may hold secrets (ZooKeeper credentials, an authenticator's password), so each existing file keeps
its owner, group and mode, also when the role puts it back, and a new file is 0640, owned by the user mesos-master
runs as (systemd's User=/Group=, read through a systemctl stand-in on PATH). Directories are treated the same way:
an existing one keeps its owner and mode, a new one is readable by mesos-master's group only (the drop-in's, by
systemd's convention, by all). A file at the default manifest path that nothing names is not taken over. The role's
preflight, install and configure run on localhost against a simulated Mesos 1.0.1 master, without restarts."""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import stat
from pathlib import Path

import pytest
from maintenance_helpers import allocator_role_vars, build_allocator_libs

RELEASE = "libofferfilterallocator-1.0.1-v1-RC5"
ROLE = "mesos.maintenance.offer_filter_allocator"


@pytest.fixture(scope="module")
def libs(tmp_path_factory) -> Path:
    return build_allocator_libs(tmp_path_factory.mktemp("libs"))


@pytest.fixture(scope="module")
def master():
    from mesos_sim import Cluster

    cluster = Cluster(masters=1, agents=0, build=None, version="1.0.1").start()
    yield cluster
    cluster.stop()


def attrs(path: Path) -> tuple[str, str, str]:
    info = path.stat()
    return pwd.getpwuid(info.st_uid).pw_name, grp.getgrgid(info.st_gid).gr_name, "%04o" % stat.S_IMODE(info.st_mode)


@pytest.fixture
def configure(libs, master, run_tasks, tmp_path):
    """Run preflight, install and configure (and then the given task files) with the site's files under tmp_path."""

    def run(*then, env=None, ok=True, **extra):
        role_vars = allocator_role_vars(
            libs / f"{RELEASE}.tar.gz",
            master,
            tmp_path,
            offer_filter_allocator_lib_dir=str(tmp_path / "lib"),
            offer_filter_allocator_backup_dir=str(tmp_path / "backups"),
            offer_filter_allocator_skip_restarts=True,
            **extra,
        )
        (tmp_path / "lib").mkdir(exist_ok=True)
        tasks = [
            {"name": entry, "ansible.builtin.include_role": {"name": ROLE, "tasks_from": entry}, "vars": role_vars}
            for entry in ("preflight", "install", "configure", *then)
        ]
        run = run_tasks(tasks, env=env)
        assert (run.rc == 0) == ok, run.output
        return run

    return run


@pytest.fixture
def service_user(tmp_path) -> dict:
    """PATH with a systemctl that answers as systemd does for a unit with User=nobody and Group=nogroup (and does
    nothing else: the drop-in's daemon-reload)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    systemctl = bin_dir / "systemctl"
    systemctl.write_text(
        '#!/bin/sh\ncase "$*" in *--property=User,Group*) printf "User=nobody\\nGroup=nogroup\\n";; esac\n'
    )
    systemctl.chmod(0o755)
    return {"PATH": f"{bin_dir}:{os.environ['PATH']}"}


def site_dir(path: Path, owner: str, group: str, mode: int) -> Path:
    path.mkdir()
    shutil.chown(path, owner, group)
    path.chmod(mode)
    return path


def site_file(path: Path, content: str, owner: str, group: str, mode: int) -> Path:
    path.write_text(content)
    shutil.chown(path, owner, group)
    path.chmod(mode)
    return path


def test_existing_files_keep_their_owner_and_mode(configure, tmp_path):
    modules = site_file(
        tmp_path / "modules.json",
        '{"libraries": [{"file": "/usr/lib/libauth.so", "modules": [{"name": "org_example_Auth", '
        '"parameters": [{"key": "password", "value": "s3cret"}]}]}]}\n',
        "nobody",
        "nogroup",
        0o600,
    )
    env = site_file(
        tmp_path / "default-mesos-master",
        f"MESOS_ZK=zk://mesos:s3cret@zk1:2181/mesos\nMESOS_MODULES=file://{modules}\n",
        "root",
        "nogroup",
        0o640,
    )
    configure()
    assert "libofferfilterallocator" in modules.read_text()
    assert "MESOS_ALLOCATOR=im_getty_mesos_OfferFilteringAllocator" in env.read_text()
    assert attrs(modules) == ("nobody", "nogroup", "0600")
    assert attrs(env) == ("root", "nogroup", "0640")


def test_files_put_back_keep_their_owner_and_mode(configure, tmp_path):
    """What rollback.yml does to the files (restore_files.yml) after a failed restart."""
    env = site_file(
        tmp_path / "default-mesos-master", "MESOS_ZK=zk://mesos:s3cret@zk1:2181/mesos\n", "root", "nogroup", 0o600
    )
    before = env.read_text()
    configure("restore_files")
    assert env.read_text() == before
    assert attrs(env) == ("root", "nogroup", "0600")
    assert not (tmp_path / "modules.json").exists()


def test_new_files_are_0640_and_owned_by_the_service_user(configure, service_user, tmp_path):
    configure(env=service_user, offer_filter_allocator_wiring="flag_files")
    for name in ("modules.json", "mesos-master/modules", "mesos-master/allocator"):
        assert attrs(tmp_path / name) == ("nobody", "nogroup", "0640"), name


# The directory each wiring writes into besides the manifest's.
WIRING_DIRS = {"flag_files": "mesos-master", "systemd_dropin": "mesos-master.service.d"}


@pytest.mark.parametrize("wiring", sorted(WIRING_DIRS))
def test_existing_directories_keep_their_owner_and_mode(configure, service_user, tmp_path, wiring):
    """An /etc/mesos-master that is 0750 stays 0750 (it was made 0755)."""
    manifest_dir = site_dir(tmp_path / "etc-mesos", "root", "nogroup", 0o750)
    wiring_dir = site_dir(tmp_path / WIRING_DIRS[wiring], "nobody", "nogroup", 0o710)
    configure(
        env=service_user,
        offer_filter_allocator_wiring=wiring,
        offer_filter_allocator_modules_json_path=str(manifest_dir / "modules.json"),
        offer_filter_allocator_dropin_path=str(tmp_path / "mesos-master.service.d" / "offer-filter-allocator.conf"),
    )
    assert (manifest_dir / "modules.json").exists()
    assert len(list(wiring_dir.iterdir())) > 0
    assert attrs(manifest_dir) == ("root", "nogroup", "0750")
    assert attrs(wiring_dir) == ("nobody", "nogroup", "0710")


@pytest.mark.parametrize(
    ("wiring", "wiring_dir_attrs"),
    [("flag_files", ("root", "nogroup", "0750")), ("systemd_dropin", ("root", "root", "0755"))],
)
def test_new_directories_are_readable_by_the_service_group_only(
    configure, service_user, tmp_path, wiring, wiring_dir_attrs
):
    """mesos-master (and mesos-init-wrapper) read the manifest's and the flag directory as the service's user: root
    owns them, its group may read them. systemd reads a drop-in directory as root; it is 0755, as `systemctl edit`
    makes it. Missing parents are made the same way."""
    manifest_dir = tmp_path / "etc" / "mesos"
    configure(
        env=service_user,
        offer_filter_allocator_wiring=wiring,
        offer_filter_allocator_modules_json_path=str(manifest_dir / "modules.json"),
        offer_filter_allocator_dropin_path=str(tmp_path / "mesos-master.service.d" / "offer-filter-allocator.conf"),
    )
    for path in (manifest_dir, manifest_dir.parent):
        assert attrs(path) == ("root", "nogroup", "0750"), path
    assert attrs(tmp_path / WIRING_DIRS[wiring]) == wiring_dir_attrs


def test_a_file_at_the_default_manifest_path_that_nothing_names_is_refused(configure, tmp_path):
    """With no offer_filter_allocator_modules_json_path and no --modules, the role would create the default manifest;
    a file already there belongs to something else (mesos-agent's modules on the same host, say): it was overwritten,
    and removed by a rollback (restore_files). The default path is the role's internal variable, pointed into tmp_path
    here."""
    default = tmp_path / "etc-mesos" / "modules.json"
    default.parent.mkdir()
    agent_modules = (
        '{"libraries": [{"file": "/usr/lib/libisolator.so", "modules": [{"name": "org_example_Isolator"}]}]}\n'
    )
    site_file(default, agent_modules, "root", "root", 0o644)
    env = site_file(tmp_path / "default-mesos-master", "MESOS_QUORUM=1\n", "root", "root", 0o644)
    run = configure(
        "restore_files",
        ok=False,
        offer_filter_allocator_modules_json_path="",
        _offer_filter_allocator_default_modules_json=str(default),
    )
    refusal = run.last("Refuse to take over a file at the default manifest path that nothing names")
    assert refusal["msg"].startswith(f"{default} exists, but mesos-master is not given it with --modules"), refusal
    assert "Nothing was changed. To merge our module into it" in refusal["msg"]
    assert "set offer_filter_allocator_modules_json_path to it" in refusal["msg"]
    assert default.read_text() == agent_modules
    assert attrs(default) == ("root", "root", "0644")
    assert env.read_text() == "MESOS_QUORUM=1\n"
