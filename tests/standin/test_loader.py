"""The mesos-master stand-in: mesos-master's flag handling and its start-up refusals, with the
error texts of src/master/main.cpp and src/module/manager.cpp."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import MODULE

RIGHT = "libofferfilterallocator-1.0.1-v1-RC5.so"


def manifest(path, module=MODULE, parameters=None) -> str:
    entry = {"name": module}
    if parameters:
        entry["parameters"] = [{"key": k, "value": v} for k, v in parameters.items()]
    return json.dumps({"libraries": [{"file": str(path), "modules": [entry]}]})


def test_missing_library_file(standin):
    done = standin(f"--modules={manifest('/nonexistent.so')}", expect_exit=True)
    assert done.returncode == 1
    assert done.stderr.strip() == (
        "Error loading modules: Error opening library: '/nonexistent.so': Could not load library "
        "'/nonexistent.so': /nonexistent.so: cannot open shared object file: No such file or directory"
    )


def test_library_without_the_module_symbol(standin, libs):
    path = libs / "nosymbol" / RIGHT
    done = standin(f"--modules={manifest(path)}", expect_exit=True)
    assert done.returncode == 1
    assert done.stderr.strip() == (
        f"Error loading modules: Error loading module '{MODULE}': Error looking up symbol '{MODULE}' in "
        f"'{path}' : {path}: undefined symbol: {MODULE}"
    )


def test_system_library_without_symbol_matches_real_mesos_text(standin):
    """The exact text measured on a real mesos-master (REAL-MESOS.md)."""
    lib = "/lib/x86_64-linux-gnu/libz.so.1"
    done = standin(f"--modules={manifest(lib, 'org_example_Foo')}", expect_exit=True)
    assert done.stderr.strip() == (
        "Error loading modules: Error loading module 'org_example_Foo': Error looking up symbol "
        "'org_example_Foo' in '/lib/x86_64-linux-gnu/libz.so.1' : /lib/x86_64-linux-gnu/libz.so.1: "
        "undefined symbol: org_example_Foo"
    )


def test_module_built_for_another_mesos_version(standin, libs):
    path = libs / "wrong" / RIGHT
    done = standin(f"--modules={manifest(path)}", f"--allocator={MODULE}", expect_exit=True)
    assert done.returncode == 1
    assert done.stderr.strip() == (
        f"Error loading modules: Error verifying module '{MODULE}': "
        "Mesos has version 1.0.1, but module is compiled with version 1.0.3"
    )


def test_the_master_version_decides(standin, libs):
    """The same 1.0.3 library loads on a 1.0.3 master."""
    master = standin(
        f"--modules={manifest(libs / 'wrong' / RIGHT)}", f"--allocator={MODULE}", env={"MESOS_SIM_VERSION": "1.0.3"}
    )
    assert json.loads(master.get("/version")[2])["version"] == "1.0.3"
    assert master.get("/allocator/filters")[0] == 200


@pytest.mark.parametrize(
    "text, error",
    [
        ('{"libraries": [', "syntax error at line 1 near: "),
        ("[]", "Unexpected JSON type parsed"),
        ('{"libraries": {}}', "Not expecting a JSON object for field 'libraries'"),
    ],
)
def test_bad_modules_json(standin, tmp_path, text, error):
    path = tmp_path / "modules.json"
    path.write_text(text)
    done = standin(f"--modules=file://{path}", expect_exit=True)
    assert done.returncode == 1
    assert (
        done.stderr.splitlines()[0] == f"Failed to load flag 'modules': Failed to load value 'file://{path}': {error}"
    )
    assert "Usage: mesos-master [options]" in done.stderr


def test_modules_file_missing(standin):
    done = standin("--modules=file:///nonexistent/modules.json", expect_exit=True)
    assert done.stderr.splitlines()[0] == (
        "Failed to load flag 'modules': Failed to load value 'file:///nonexistent/modules.json': "
        "Error reading file '/nonexistent/modules.json': No such file or directory"
    )


def test_bad_modules_value_before_the_other_checks(standin, tmp_path):
    """stout parses --modules while loading the flags, so its error wins over main.cpp's checks."""
    done = standin("--modules={not json", env={"MESOS_MODULES_DIR": str(tmp_path)}, expect_exit=True)
    assert done.stderr.splitlines()[0] == (
        "Failed to load flag 'modules': Failed to load value '{not json': syntax error at line 1 near: not json"
    )


def test_unknown_allocator(standin):
    done = standin("--allocator=foo", expect_exit=True)
    assert done.returncode == 1
    assert done.stderr.strip() == "Failed to create 'foo' allocator: Module 'foo' unknown"


def test_allocator_module_not_loaded(standin, libs):
    done = standin(f"--allocator={MODULE}", expect_exit=True)
    assert done.stderr.strip() == f"Failed to create '{MODULE}' allocator: Module '{MODULE}' unknown"


def test_both_modules_and_modules_dir(standin, libs, tmp_path):
    done = standin(f"--modules={manifest(libs / RIGHT)}", env={"MESOS_MODULES_DIR": str(tmp_path)}, expect_exit=True)
    assert done.returncode == 1
    assert done.stderr.splitlines()[0] == "Only one of --modules or --modules_dir should be specified"


def test_modules_dir_missing(standin):
    done = standin("--modules_dir=/nonexistent", expect_exit=True)
    assert done.stderr.strip() == (
        "Error loading modules: Error loading module manifests from '/nonexistent' directory: "
        "Failed to opendir '/nonexistent': No such file or directory"
    )


def test_modules_dir_loads_every_manifest(standin, libs, tmp_path):
    (tmp_path / "mods").mkdir()
    (tmp_path / "mods" / "allocator.json").write_text(manifest(libs / RIGHT))
    master = standin(f"--modules_dir={tmp_path / 'mods'}", f"--allocator={MODULE}")
    assert master.get("/allocator/filters")[0] == 200


def test_modules_dir_bad_manifest(standin, tmp_path):
    (tmp_path / "mods").mkdir()
    (tmp_path / "mods" / "a.json").write_text("{")
    done = standin(f"--modules_dir={tmp_path / 'mods'}", expect_exit=True)
    assert done.stderr == (
        f"Error loading modules: Error parsing module manifest file '{tmp_path / 'mods' / 'a.json'}': "
        "syntax error at line 1 near: \n"
    )


@pytest.mark.parametrize(
    "flags, first_line",
    [
        (["--bogus=1"], "Failed to load unknown flag 'bogus'"),
        (["--quorum"], "Failed to load non-boolean flag 'quorum' via 'quorum'"),
        (
            ["--authenticate_http_readonly=yes"],
            "Failed to load flag 'authenticate_http_readonly': Failed to load value 'yes': "
            "Expecting a boolean (e.g., true or false)",
        ),
        (
            ["--quorum=two"],
            "Failed to load flag 'quorum': Failed to load value 'two': Failed to convert into required type",
        ),
    ],
)
def test_flag_syntax_errors(standin, flags, first_line):
    done = standin(*flags, expect_exit=True)
    assert done.returncode == 1
    assert done.stderr.splitlines()[0] == first_line


def test_bad_boolean_from_the_environment(standin):
    """MESOS_* values go through the same parsing as the command line (measured on 1.11.0)."""
    done = standin(env={"MESOS_AUTHENTICATE_HTTP_READONLY": "yes"}, expect_exit=True)
    assert done.stderr.splitlines()[0] == (
        "Failed to load flag 'authenticate_http_readonly': Failed to load value 'yes': "
        "Expecting a boolean (e.g., true or false)"
    )


def test_work_dir_required():
    args = [sys.executable, "-m", "mesos_sim.standin", "--port=0"]
    done = subprocess.run(args, capture_output=True, text=True, env={"PATH": "/usr/bin"})
    assert done.returncode == 1
    assert done.stderr.strip() == "--work_dir needed for replicated log based registry"


def test_zk_requires_quorum(standin):
    done = standin("--zk=zk://127.0.0.1:2181/mesos", expect_exit=True)
    assert done.stderr.strip() == "Need to specify --quorum for replicated log based registry when using ZooKeeper"


def test_unparsable_zk(standin):
    done = standin("--zk=127.0.0.1:2181/mesos", "--quorum=1", expect_exit=True)
    assert done.stderr.strip() == "Failed to create a master contender: Expecting 'zk://' at the beginning of the URL"


def test_version_and_help(standin):
    assert standin("--version", expect_exit=True).stdout == "mesos 1.0.1\n"
    assert "Usage: mesos-master [options]" in standin("--help", expect_exit=True).stdout


def test_environment_configures_like_flags(standin, libs):
    """MESOS_MODULES / MESOS_ALLOCATOR, as an environment file or a systemd drop-in sets them."""
    master = standin(env={"MESOS_MODULES": manifest(libs / RIGHT), "MESOS_ALLOCATOR": MODULE})
    assert master.get("/allocator/filters")[0] == 200
    assert master.get("/help/allocator/filters")[0] == 200
    flags = json.loads(master.get("/master/flags")[2])["flags"]
    assert flags["allocator"] == MODULE


def test_command_line_wins_over_environment(standin, libs):
    master = standin(
        "--allocator=HierarchicalDRF", env={"MESOS_MODULES": manifest(libs / RIGHT), "MESOS_ALLOCATOR": MODULE}
    )
    assert master.get("/allocator/filters")[0] == 404


def test_unknown_environment_variables_are_ignored(standin):
    master = standin(env={"MESOS_NOT_A_FLAG": "1"})
    assert master.get("/health")[0] == 200


def test_module_loaded_but_not_selected(standin, libs):
    """The endpoint exists only when the module is the allocator."""
    master = standin(f"--modules={manifest(libs / RIGHT)}")
    assert master.get("/allocator/filters")[0] == 404
    assert master.get("/help/allocator/filters")[0] == 404


def test_first_build_from_release_name(standin, libs):
    first = libs / "libofferfilterallocator-1.0.1-0afdd8b.so"
    master = standin(f"--modules={manifest(first)}", f"--allocator={MODULE}")
    status, _, body = master.get("/allocator/filters", "PUT", {"filters": []}, {"Content-Type": "application/json"})
    assert (status, json.loads(body)) == (200, {"result": "ok (method not implemented)"})


def test_standalone_master_leads(standin, libs):
    master = standin(f"--modules={manifest(libs / RIGHT)}", f"--allocator={MODULE}", hostname="m1.example")
    status, headers, _ = master.get("/master/redirect")
    assert (status, headers["Location"]) == (307, f"//m1.example:{master.port}")
    state = json.loads(master.get("/master/state")[2])
    assert len(state["slaves"]) == 3
    agent = state["slaves"][0]
    status, _, body = master.get(
        "/allocator/filters", "POST", {"hostname": agent["hostname"]}, {"Content-Type": "application/json"}
    )
    assert status == 200
    assert json.loads(body)["filters"] == [{"agentId": agent["id"], "hostname": agent["hostname"]}]


def test_sigterm_stops_cleanly(standin):
    master = standin()
    master.stop()
    assert master.proc.returncode == 0
