"""A standalone ZooKeeper (Debian's `zookeeper` package) on a free loopback port, for the tests that need the
ensemble a Mesos cluster runs: the stand-in masters' leader election and the maintenance ledger. It can be stopped
and started again on the same port and dataDir, as a ZooKeeper restart in production."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path

JARS = ("/usr/share/java/zookeeper.jar", "/usr/share/java/zookeeper-jute.jar", "/usr/share/java/slf4j-simple.jar")


class ZooKeeperMissing(RuntimeError):
    """Java or Debian's `zookeeper` package is not installed."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def connected_client(address: str, timeout: float = 2.0, **kwargs):
    """A started kazoo client of `address` (host:port), or the exception of its start."""
    from kazoo.client import KazooClient

    client = KazooClient(hosts=address, timeout=timeout, **kwargs)
    try:
        client.start(timeout=timeout)
    except Exception:
        client.close()
        raise
    return client


class ZooKeeper:
    """One ZooKeeper server in `data` (its dataDir, config and log)."""

    def __init__(self, data: Path):
        java = shutil.which("java")
        if java is None or not all(os.path.exists(jar) for jar in JARS):
            raise ZooKeeperMissing(
                "ZooKeeper is not installed (java and Debian package `zookeeper`: %s)" % ", ".join(JARS)
            )
        self.java = java
        self.data = data
        self.port = free_port()
        self.address = "127.0.0.1:%d" % self.port
        self.cfg = data / "zoo.cfg"
        self.cfg.write_text(
            "tickTime=500\ndataDir=%s\nclientPort=%d\nclientPortAddress=127.0.0.1\n"
            "admin.enableServer=false\nmaxSessionTimeout=20000\nminSessionTimeout=1000\n"
            # A restart here is of the process, not of the machine: the page cache keeps what fsync would.
            "forceSync=no\n" % (data, self.port)
        )
        self.log_path = data / "zookeeper.log"
        self.proc = None
        self.starts = 0

    def start(self, timeout: float = 60.0) -> ZooKeeper:
        """Start it and return once a client connects (`ruok` answers before the server serves)."""
        assert self.proc is None, "ZooKeeper is running"
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [
                    self.java,
                    "-Xmx128m",
                    "-cp",
                    ":".join(JARS),
                    "org.apache.zookeeper.server.quorum.QuorumPeerMain",
                    str(self.cfg),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.starts += 1
        deadline = time.monotonic() + timeout
        while True:
            try:
                client = connected_client(self.address)
                client.stop()
                client.close()
                return self
            except Exception:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    self.stop(signal.SIGKILL)
                    raise RuntimeError("ZooKeeper did not start: %s" % self.log_path.read_text()[-3000:]) from None
                time.sleep(0.1)

    def stop(self, sig=signal.SIGTERM) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None

    def url(self, path: str | None = None, credentials: str = "") -> str:
        """A ledger URL on this server: zk://[credentials]host:port/<path, by default a fresh one>."""
        return "zk://%s%s/%s" % (credentials, self.address, path or "mesos-maintenance-%s" % uuid.uuid4().hex)
