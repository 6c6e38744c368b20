"""mesos-master's own texts when it refuses its modules, from a real Mesos 1.11.0 and from the
simulator's mesos-master stand-in (simulator/mesos_sim/standin.py) given the same MESOS_*
settings and reporting Mesos 1.11.0.

The real side runs in local mode: its master reads the same flags and loads modules with the same
ModuleManager, but local mode wraps a bad flag in "Failed to start a local cluster while loading
master flags from the environment: " (mesos-master adds its usage text instead), and reports a
modules directory it cannot read through the scheduler driver. The texts compared are the
messages themselves. The test libraries are built from tests/allocator_module's C record."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from real_mesos.harness import run_failing_master

MODULE = "im_getty_mesos_OfferFilteringAllocator"
SOURCE = Path(__file__).resolve().parent.parent / "allocator_module" / "offerfilterallocator.c"
# The record's fields as each test library sets them (module API version, Mesos version, kind).
LIBRARIES = {
    "right": ("2", "1.11.0", "Allocator"),
    "api1": ("1", "1.11.0", "Allocator"),
    "mesos101": ("2", "1.0.1", "Allocator"),
    "mesos112": ("2", "1.12.0", "Allocator"),
    "kind": ("2", "1.11.0", "Nope"),
}
LOCAL_FLAGS_PREFIX = "Failed to start a local cluster while loading master flags from the environment: "


def manifest(path: str, name: str = MODULE) -> str:
    return json.dumps({"libraries": [{"file": path, "modules": [{"name": name}]}]})


@pytest.fixture(scope="module")
def libraries(tmp_path_factory) -> dict:
    if shutil.which("gcc") is None:
        pytest.fail("gcc is needed to build the test module libraries")
    out = tmp_path_factory.mktemp("modules")
    built = {}
    for name, (api, version, kind) in LIBRARIES.items():
        target = out / f"lib{name}.so"
        defines = [f'-DMODULE_API_VERSION="{api}"', f'-DMESOS_VERSION="{version}"', f'-DMODULE_KIND="{kind}"']
        subprocess.run(["gcc", "-shared", "-fPIC", "-O2", *defines, "-o", str(target), str(SOURCE)], check=True)
        built[name] = str(target)
    target = out / "libnosymbol.so"
    subprocess.run(["gcc", "-shared", "-fPIC", "-O2", "-DNO_MODULE_SYMBOL", "-o", str(target), str(SOURCE)], check=True)
    built["nosymbol"] = str(target)
    return built


def real_message(env: dict) -> str:
    """The text real Mesos exits with: its `EXIT with status 1: <text>` log line, or what the
    scheduler driver was told (local mode reports some refusals through the driver)."""
    status, output = run_failing_master(env)
    assert status == 1, output[-3000:]
    for line in output.splitlines():
        found = re.search(r"\] EXIT with status 1: (.*)$", line) or re.match(
            r"real-mesos: framework error: (.*)$", line
        )
        if found:
            return found.group(1)
    raise AssertionError(f"no exit message in:\n{output[-3000:]}")


def standin_message(env: dict, tmp_path) -> str:
    """The stand-in's: the first line it writes to stderr as it exits 1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    base = {k: v for k, v in os.environ.items() if not k.startswith("MESOS_")}
    settings = {
        "MESOS_SIM_VERSION": "1.11.0",
        "MESOS_WORK_DIR": str(tmp_path / "work"),
        "MESOS_IP": "127.0.0.1",
        "MESOS_PORT": str(port),
    }
    done = subprocess.run(
        [sys.executable, "-m", "mesos_sim.standin"],
        env={**base, **settings, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1, done.stderr
    return done.stderr.splitlines()[0]


CASES = {
    "missing library": lambda libs: {"MESOS_MODULES": manifest("/nonexistent/libnothing.so")},
    "no module symbol": lambda libs: {"MESOS_MODULES": manifest(libs["nosymbol"])},
    "module API version 1": lambda libs: {"MESOS_MODULES": manifest(libs["api1"])},
    "built for Mesos 1.0.1": lambda libs: {"MESOS_MODULES": manifest(libs["mesos101"])},
    "built for a newer Mesos": lambda libs: {"MESOS_MODULES": manifest(libs["mesos112"])},
    "unknown module kind": lambda libs: {"MESOS_MODULES": manifest(libs["kind"])},
    "library without file or name": lambda libs: {
        "MESOS_MODULES": json.dumps({"libraries": [{"modules": [{"name": MODULE}]}]})
    },
    "missing modules directory": lambda libs: {"MESOS_MODULES_DIR": "/nonexistent/modules.d"},
}
# Flag values mesos-master cannot parse: its text, wrapped by local mode.
FLAG_CASES = {
    "modules not JSON": {"MESOS_MODULES": "{not json"},
    "modules file missing": {"MESOS_MODULES": "file:///nonexistent/modules.json"},
    "quorum not a number": {"MESOS_QUORUM": "two"},
    "boolean not a boolean": {"MESOS_AUTHENTICATE_HTTP_READONLY": "yes"},
}


@pytest.mark.parametrize("case", list(CASES))
def test_module_refusals(real_mesos_installation, libraries, tmp_path, case):
    env = CASES[case](libraries)
    expected = real_message(env)
    assert expected.startswith("Error loading modules: ")
    assert standin_message(env, tmp_path) == expected


@pytest.mark.parametrize("case", list(FLAG_CASES))
def test_bad_flag_values(real_mesos_installation, tmp_path, case):
    env = FLAG_CASES[case]
    real = real_message(env)
    assert re.match(re.escape(LOCAL_FLAGS_PREFIX) + r"Failed to load flag '\w+': Failed to load value '", real)
    assert standin_message(env, tmp_path) == real.removeprefix(LOCAL_FLAGS_PREFIX)


def test_a_right_module_loads(real_mesos_factory, libraries):
    """A library the 1.11.0 master accepts: it starts (local mode then ignores --allocator)."""
    mesos = real_mesos_factory(fresh=True, agents=1, env={"MESOS_MODULES": manifest(libraries["right"])})
    assert mesos.request("GET", "/version")[0] == 200
