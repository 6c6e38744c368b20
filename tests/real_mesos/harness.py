"""A real Mesos 1.11.0 cluster (one master, N agents) on a free loopback port, from Python 3.

    with RealMesos(agents=2, principal="ops", secret="s3cret", readonly_auth=True) as mesos:
        mesos.url          # http://127.0.0.1:<port>
        mesos.agent_ids    # the registered agents' ids

    with RealMesos(agents=4, agent_hostname_prefix="agent") as mesos:
        mesos.agent_hostnames  # {agent id: hostname}, e.g. agent-1 ... agent-4, read from the master

The cluster runs launcher.py under the cached Python 2.7 from install.py, in its own process
group; `start()` returns once the master answers and every agent has registered. The attribute
names follow the simulator's `Cluster` where they mean the same (`urls`, `leader_url`,
`agents`, `agent_ids`, `credentials`), so a test can take either.

Local mode has limits a test must know: one master (no standbys, no failover), no allocator
module (`/allocator/filters` is 404), every agent has the master's port and, unless
`agent_hostname_prefix` is given, its hostname too: local mode loads every agent's flags from
the one MESOS_* environment. A rolling maintenance maps inventory hosts to agents by hostname,
so it needs `agent_hostname_prefix` (launcher.py hands each agent its own). The egg
has none of Mesos' helper programs; the agents' launcher directory (MESOS_LAUNCHER_DIR) holds
our stand-ins for the two a command task needs, `mesos-containerizer` (containerizer.py) and
`mesos-executor` (executor.py), so tasks run (framework.py launches them). A caller's
MESOS_LAUNCHER_DIR in `env` takes its place.
"""

from __future__ import annotations

import base64
import contextlib
import glob
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from .install import Installation, ensure

MESOS_VERSION = "1.11.0"
HERE = os.path.dirname(os.path.abspath(__file__))
# The names the agent and the command executor look for in --launcher_dir, and our stand-ins.
LAUNCHER_PROGRAMS = {"mesos-containerizer": "containerizer.py", "mesos-executor": "executor.py"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie nobody has reaped yet does not)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


class StartError(Exception):
    """The cluster did not come up; the message carries the end of its log."""


class RealMesos:
    version = MESOS_VERSION

    def __init__(
        self,
        agents: int = 2,
        principal: str | None = None,
        secret: str | None = None,
        readonly_auth: bool = False,
        readwrite_auth: bool | None = None,
        hostname: str = "127.0.0.1",
        agent_hostname_prefix: str | None = None,
        port: int | None = None,
        env: dict | None = None,
        startup_timeout: float = 60.0,
    ):
        if (principal is None) != (secret is None):
            raise ValueError("principal and secret go together")
        if readonly_auth and principal is None:
            raise ValueError("readonly_auth needs principal and secret")
        self.agent_count = agents
        self.principal = principal
        self.secret = secret
        self.credentials = {principal: secret} if principal is not None else {}
        # As in the simulator: credentials turn on the read-write realm, readonly_auth adds the other.
        self.readwrite_auth = bool(principal) if readwrite_auth is None else readwrite_auth
        self.readonly_auth = readonly_auth
        self.hostname = hostname
        self.agent_hostname_prefix = agent_hostname_prefix
        self.port = port
        self.extra_env = dict(env or {})
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen | None = None
        self.tmp: str | None = None
        self.installation: Installation | None = None

    # --- life cycle -------------------------------------------------------------------------
    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def start(self) -> RealMesos:
        self.installation = ensure()
        fixed_port = self.port is not None
        for attempt in range(3):
            if not fixed_port:
                self.port = free_port()
            try:
                self._launch()
                self._wait_ready()
                return self
            except StartError as exc:
                log = self.log()
                self.stop()
                # Another process took the port between free_port() and the bind: try another.
                if fixed_port or "Address already in use" not in log or attempt == 2:
                    raise StartError(f"{exc}\n--- log ---\n{log[-6000:]}") from None
        raise AssertionError("unreachable")

    def _launch(self):
        self.tmp = tempfile.mkdtemp(prefix="real-mesos-")
        args = [
            str(self.installation.python),
            str(self.installation.launcher),
            "--lib-dir",
            str(self.installation.lib_dir),
            "--port",
            str(self.port),
            "--work-dir",
            os.path.join(self.tmp, "work"),
            "--agents",
            str(self.agent_count),
            "--hostname",
            self.hostname,
        ]
        if self.agent_hostname_prefix:
            args += ["--agent-hostname-prefix", self.agent_hostname_prefix]
        if self.credentials:
            path = os.path.join(self.tmp, "credentials.json")
            with open(path, "w", encoding="utf-8") as handle:
                json.dump({"credentials": [{"principal": self.principal, "secret": self.secret}]}, handle)
            args += ["--credentials", path]
        if self.readwrite_auth:
            args.append("--readwrite-auth")
        if self.readonly_auth:
            args.append("--readonly-auth")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MESOS_", "LIBPROCESS_", "GLOG_"))}
        env.update(self.extra_env)
        env.setdefault("MESOS_LAUNCHER_DIR", self._launcher_dir())
        env.pop("LD_LIBRARY_PATH", None)
        self._log = open(os.path.join(self.tmp, "launcher.log"), "wb")  # closed in stop()
        self.process = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,  # its own process group: stop() ends it and nothing else
        )

    def _launcher_dir(self) -> str:
        """A directory with the helper programs under the names Mesos gives them."""
        path = os.path.join(self.tmp, "launcher")
        os.mkdir(path)
        for name, script in LAUNCHER_PROGRAMS.items():
            os.symlink(os.path.join(HERE, script), os.path.join(path, name))
        return path

    def _wait_ready(self):
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise StartError(f"real Mesos exited with status {self.process.returncode} while starting")
            with contextlib.suppress(OSError, http.client.HTTPException, ValueError):
                status, _, body = self.request("GET", "/master/slaves", auth=True)
                if status == 200 and len(json.loads(body)["slaves"]) >= self.agent_count:
                    return
            time.sleep(0.05)
        raise StartError(f"real Mesos did not register {self.agent_count} agent(s) within {self.startup_timeout} s")

    def stop(self):
        if self.process is not None:
            if self.process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGTERM)
                try:
                    self.process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(self.process.pid, signal.SIGKILL)
                    self.process.wait(timeout=10)
            self.process = None
            self._end_containers()
        if getattr(self, "_log", None) is not None:
            self._log.close()
            self._log = None
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None

    def _end_containers(self, timeout: float = 15.0):
        """Containers run in sessions of their own, out of reach of the process group stopped
        above. Their executors see the agent go and end their tasks (a few seconds for a task
        that ignores SIGTERM); wait for that, then SIGKILL what is left."""
        pids = []
        for path in glob.glob(os.path.join(self.tmp or "", "work", "agents", "*", "run", "containers", "*", "pid")):
            with contextlib.suppress(OSError, ValueError), open(path, encoding="utf-8") as handle:
                pids.append(int(handle.read()))
        deadline = time.monotonic() + timeout
        while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.1)
        for pid in filter(_alive, pids):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)

    def log(self) -> str:
        if not self.tmp:
            return ""
        with contextlib.suppress(OSError):
            with open(os.path.join(self.tmp, "launcher.log"), "rb") as handle:
                return handle.read().decode("utf-8", "replace")
        return ""

    # --- what tests use ---------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def urls(self) -> list[str]:
        return [self.url]

    @property
    def leader_url(self) -> str:
        return self.url

    def authorization(self) -> dict:
        if not self.credentials:
            return {}
        token = base64.b64encode(f"{self.principal}:{self.secret}".encode()).decode()
        return {"Authorization": f"Basic {token}"}

    def request(self, method: str, path: str, body=None, headers: dict | None = None, auth: bool = False):
        """One HTTP request to the master: (status, headers as a dict, body as bytes)."""
        headers = dict(headers or {})
        if auth:
            headers.update(self.authorization())
        if body is not None and not isinstance(body, bytes | str):
            body = json.dumps(body)
            headers.setdefault("Content-Type", "application/json")
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            conn.close()

    @property
    def agents(self) -> list[dict]:
        status, _, body = self.request("GET", "/master/slaves", auth=True)
        if status != 200:
            raise RuntimeError(f"/master/slaves answered {status}")
        return [{"id": a["id"], "hostname": a["hostname"], "active": a["active"]} for a in json.loads(body)["slaves"]]

    @property
    def agent_ids(self) -> list[str]:
        return [a["id"] for a in self.agents]

    @property
    def agent_hostnames(self) -> dict[str, str]:
        """{agent id: hostname} as the master has them (which agent got which name is the
        master's registration order, not ours to assume)."""
        return {a["id"]: a["hostname"] for a in self.agents}

    def describe(self) -> dict:
        return {
            "masters": self.urls,
            "leader": self.leader_url,
            "version": self.version,
            "agents": self.agents,
            "credentials": bool(self.credentials),
            "readonly_auth": self.readonly_auth,
        }


def run_failing_master(env: dict, timeout: float = 60.0) -> tuple[int, str]:
    """Start a cluster with extra MESOS_* settings that mesos-master refuses (modules and the
    like) and return its exit status and output, for its error texts."""
    inst = ensure()
    with tempfile.TemporaryDirectory(prefix="real-mesos-fail-") as tmp:
        args = [
            str(inst.python),
            str(inst.launcher),
            "--lib-dir",
            str(inst.lib_dir),
            "--port",
            str(free_port()),
            "--work-dir",
            os.path.join(tmp, "work"),
            "--agents",
            "1",
        ]
        base = {k: v for k, v in os.environ.items() if not k.startswith(("MESOS_", "LIBPROCESS_", "GLOG_"))}
        base.pop("LD_LIBRARY_PATH", None)
        process = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env={**base, **env},
            start_new_session=True,
        )
        try:
            out, _ = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            out, _ = process.communicate()
            return -1, out.decode("utf-8", "replace")
        return process.returncode, out.decode("utf-8", "replace")
