"""Fixtures for the mesos-master stand-in: the test allocator libraries built with gcc, a real
ZooKeeper (Debian's `zookeeper` package) and stand-in master processes on free ports."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from mesos_sim.waiting import wait_until
from mesos_sim.zookeeper import free_port

ROOT = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = ROOT / "tests" / "allocator_module" / "build.sh"
MODULE = "im_getty_mesos_OfferFilteringAllocator"


@pytest.fixture(scope="session")
def libs(tmp_path_factory, missing_tool) -> Path:
    """The test module libraries and archives (tests/allocator_module/build.sh)."""
    if shutil.which("gcc") is None:
        missing_tool("gcc is not installed")
    out = tmp_path_factory.mktemp("allocator-libs")
    subprocess.run(["bash", str(BUILD_SCRIPT), str(out)], check=True, capture_output=True)
    return out


@pytest.fixture(scope="session")
def zookeeper(tmp_path_factory, zookeeper_in) -> str:
    """A standalone ZooKeeper from Debian's package on a free loopback port: `host:port`."""
    server = zookeeper_in(tmp_path_factory.mktemp("zookeeper"))
    server.start(timeout=30)
    yield server.address
    server.stop()


@dataclass
class Master:
    proc: subprocess.Popen
    port: int
    hostname: str
    stderr_path: Path
    stderr_file: object = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text()

    def get(self, path: str, method: str = "GET", body: dict | None = None, headers: dict | None = None):
        """(status, headers, body text) without following redirects."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method, headers=headers or {})
        opener = urllib.request.build_opener(_NoRedirect)
        try:
            with opener.open(request, timeout=5) as response:
                return response.status, dict(response.headers), response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), exc.read().decode()

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.stderr_file is not None:
            self.stderr_file.close()
            self.stderr_file = None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@pytest.fixture
def standin(tmp_path):
    """Start `mesos-master` stand-ins: standin(*flags, env={...}) -> Master (serving) or, with
    expect_exit=True, the finished process (returncode, stderr)."""
    started: list[Master] = []

    def start(*flags: str, env: dict | None = None, expect_exit: bool = False, hostname: str | None = None):
        port = free_port()
        name = hostname or f"master-{len(started) + 1}"
        work = tmp_path / f"work-{port}"
        args = [sys.executable, "-m", "mesos_sim.standin", f"--port={port}", f"--hostname={name}", "--ip=127.0.0.1"]
        if not any(f.startswith("--work_dir") for f in flags) and "MESOS_WORK_DIR" not in (env or {}):
            args.append(f"--work_dir={work}")
        args += list(flags)
        environ = {k: v for k, v in os.environ.items() if not k.startswith("MESOS_")}
        environ.update(env or {})
        if expect_exit:
            done = subprocess.run(args, env=environ, capture_output=True, text=True, timeout=20)
            return done
        err = tmp_path / f"stderr-{port}"
        handle = open(err, "wb")
        proc = subprocess.Popen(args, env=environ, stdout=subprocess.DEVNULL, stderr=handle)
        master = Master(proc, port, name, err, handle)
        started.append(master)
        deadline = time.time() + 15
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"mesos-master exited {proc.returncode}: {master.stderr}")
            try:
                if master.get("/health")[0] == 200:
                    return master
            except OSError:
                pass
            if time.time() > deadline:
                raise AssertionError(f"mesos-master did not answer: {master.stderr}")
            time.sleep(0.05)

    yield start
    for master in started:
        master.stop()


def wait_for(predicate, timeout: float = 20.0):
    return wait_until(predicate, timeout, interval=0.1)
