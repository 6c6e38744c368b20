# This file runs under Python 2.7 (the egg is a CPython 2.7 extension): keep it 2.7 syntax.
# ruff: noqa: UP010
"""Start a real Mesos 1.11.0 cluster (one master, N agents) in this process. Python 2.7 only.

PyPI's `mesos.scheduler` 1.11.0 egg carries all of libmesos; its scheduler driver, given the
master address `local`, starts an in-process cluster: one real master and MESOS_NUM_SLAVES real
agents, all on one libprocess port (agents are `slave(1)@ip:port`, `slave(2)@...`). A framework
is needed to start it; ours registers and suppresses offers, so it never holds resources.

Run by tests/real_mesos/harness.py with the harness' Python 2.7 (see setup.py). Arguments:

    launcher.py --lib-dir DIR --port PORT --work-dir DIR [--agents N] [--hostname H]
                [--agent-hostname-prefix P] [--credentials FILE] [--readwrite-auth] [--readonly-auth]

Every other MESOS_* variable in the environment reaches the master and agents unchanged (the
contract tests give MESOS_MODULES and friends to see mesos-master's own error texts).

The process re-executes itself once with LD_LIBRARY_PATH pointing at --lib-dir (the OpenSSL
1.0 pair and the libcurl shim), so the variable never leaks into a shell: the system's curl
breaks with it.

Hostnames. Local mode loads the master's and every agent's flags from the same MESOS_*
environment, so by default all of them get --hostname H. A rolling maintenance maps inventory
hosts to agents by hostname and needs one per agent: with --agent-hostname-prefix P the master
keeps H and the agents get P-1 ... P-N (see HostnameServer).

It runs until SIGTERM or SIGINT and exits 0 then; if the driver does not reach
DRIVER_RUNNING it exits 1 at once (stop()/join() on an aborted driver hits a CHECK).
"""

from __future__ import print_function

import argparse
import os
import shutil
import signal
import sys
import tempfile
import time

REEXEC_MARK = "MESOS_MAINTENANCE_REAL_MESOS_REEXEC"


def complain(text):
    """One line to stderr in one write: the in-process master and agents log to the same pipe from
    other threads, and a print() writes the text and its newline apart, so a log line could land
    between them and glue itself to ours."""
    line = "real-mesos: %s\n" % text
    os.write(2, line if isinstance(line, bytes) else line.encode("utf-8", "replace"))


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lib-dir", required=True, help="directory with libssl/libcrypto 1.0 and the curl shim")
    parser.add_argument("--port", type=int, required=True, help="loopback port of the master (and agents)")
    parser.add_argument("--work-dir", required=True, help="work directory of the master and agents")
    parser.add_argument("--agents", type=int, default=1)
    parser.add_argument("--hostname", default="127.0.0.1", help="the master's --hostname (and the agents')")
    parser.add_argument(
        "--agent-hostname-prefix", help="give the agents the hostnames PREFIX-1 ... PREFIX-N instead of --hostname"
    )
    parser.add_argument("--credentials", help='JSON file: {"credentials": [{"principal": .., "secret": ..}]}')
    parser.add_argument("--readwrite-auth", action="store_true", help="--authenticate_http_readwrite")
    parser.add_argument("--readonly-auth", action="store_true", help="--authenticate_http_readonly")
    return parser.parse_args(argv)


def reexec(args):
    """Run again with the egg's libraries on LD_LIBRARY_PATH, for this process only."""
    env = dict(os.environ)
    paths = [os.path.abspath(args.lib_dir)]
    if env.get("LD_LIBRARY_PATH"):
        paths.append(env["LD_LIBRARY_PATH"])
    env["LD_LIBRARY_PATH"] = os.pathsep.join(paths)
    env[REEXEC_MARK] = "1"
    os.execve(sys.executable, [sys.executable, os.path.abspath(__file__)] + sys.argv[1:], env)


def configure(args):
    """The flags of the master and agents, as the MESOS_* environment local mode reads."""
    env = os.environ
    if not os.path.isdir(args.work_dir):
        os.makedirs(args.work_dir)
    env["LIBPROCESS_IP"] = "127.0.0.1"
    env["LIBPROCESS_PORT"] = str(args.port)
    env["MESOS_IP"] = "127.0.0.1"
    env["MESOS_PORT"] = str(args.port)
    env["MESOS_HOSTNAME"] = args.hostname  # HostnameServer replaces it when the agents get their own
    env["MESOS_WORK_DIR"] = args.work_dir
    env["MESOS_NUM_SLAVES"] = str(args.agents)
    env["MESOS_LAUNCHER"] = "posix"
    env["MESOS_ISOLATION"] = "posix/cpu,posix/mem"
    env["MESOS_SYSTEMD_ENABLE_SUPPORT"] = "false"
    env.setdefault("MESOS_LOGGING_LEVEL", "WARNING")
    # Agents wait a random 0..1 s before registering by default; 10 ms makes a cluster ready in
    # about 1.5 s instead of 3-4 s, and changes nothing the tests look at.
    env.setdefault("MESOS_REGISTRATION_BACKOFF_FACTOR", "10ms")
    env.setdefault("GLOG_minloglevel", "1")
    if args.credentials:
        # The master reads --credentials; local mode's agents refuse to start without
        # --http_credentials once HTTP authentication is on.
        env["MESOS_CREDENTIALS"] = args.credentials
        env["MESOS_HTTP_CREDENTIALS"] = args.credentials
    if args.readwrite_auth:
        env["MESOS_AUTHENTICATE_HTTP_READWRITE"] = "true"
    if args.readonly_auth:
        env["MESOS_AUTHENTICATE_HTTP_READONLY"] = "true"


class HostnameServer:
    """Hands out one --hostname per flags load: the master's first, then each agent's.

    Local mode (src/local/local.cpp) loads master::Flags and then, in a loop, each agent's
    slave::Flags from the same MESOS_* environment, one after the other on the thread that
    calls driver.start(); nothing else loads a `hostname` flag. A flag value `file://PATH` is
    read from PATH at load time (stout's flags::fetch, fopen + fread to EOF). So MESOS_HOSTNAME
    names a symlink to a FIFO: each load opens it and blocks until a writer answers. The writer,
    a child process (driver.start() holds the GIL, a thread could not run), opens the FIFO of
    load n, which returns once that load has opened it, points the symlink at the FIFO of load
    n+1, and only then writes the name and closes, so a load sees exactly one name and EOF. An
    unexpected extra load finds no symlink and fails loudly instead of taking a wrong name.
    """

    def __init__(self, work_dir, names):
        self.names = names
        self.directory = tempfile.mkdtemp(prefix="hostnames-", dir=work_dir)
        self.link = os.path.join(self.directory, "hostname")
        self.fifos = [os.path.join(self.directory, "fifo-%d" % n) for n in range(len(names))]
        for path in self.fifos:
            os.mkfifo(path, 0o600)
        self._point(self.fifos[0])
        self.pid = None

    def _point(self, target):
        tmp = self.link + ".tmp"
        os.symlink(target, tmp)
        os.rename(tmp, self.link)  # atomic: a load sees the old FIFO or the new one

    def start(self):
        os.environ["MESOS_HOSTNAME"] = "file://" + self.link
        self.pid = os.fork()
        if self.pid == 0:  # the writer: it must end here, never return into main()
            code = 1
            try:
                self._serve()
                code = 0
            except BaseException as exc:
                complain("the hostname writer failed: %r" % (exc,))
            finally:
                os._exit(code)
        return self

    def _serve(self):
        for n, name in enumerate(self.names):
            fd = os.open(self.fifos[n], os.O_WRONLY)  # returns once load n has opened the FIFO
            if n + 1 < len(self.fifos):
                self._point(self.fifos[n + 1])
            else:
                os.unlink(self.link)
            os.write(fd, name.encode("utf-8"))
            os.close(fd)

    def finish(self, timeout=5.0):
        """After driver.start(), which returns once every flags load is done: the writer must have
        handed out every name and ended. Returns what went wrong, or None."""
        deadline = time.time() + timeout
        pid, status = os.waitpid(self.pid, os.WNOHANG)
        while not pid and time.time() < deadline:
            time.sleep(0.01)
            pid, status = os.waitpid(self.pid, os.WNOHANG)
        if not pid:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
            taken = self.fifos.index(os.readlink(self.link)) if os.path.lexists(self.link) else len(self.names)
            return "only %d of the hostnames %s were loaded" % (taken, ", ".join(self.names))
        shutil.rmtree(self.directory, ignore_errors=True)
        return None if status == 0 else "the hostname writer exited with status %d" % status


def main(argv):
    args = parse_args(argv)
    if os.environ.get(REEXEC_MARK) != "1":
        reexec(args)  # does not return
    configure(args)
    hostnames = None
    if args.agent_hostname_prefix:
        names = [args.hostname] + ["%s-%d" % (args.agent_hostname_prefix, n + 1) for n in range(args.agents)]
        # Before anything of libmesos is loaded: the writer is a fork of this process.
        hostnames = HostnameServer(args.work_dir, names).start()

    # pkg_resources first: it puts the egg's `mesos` namespace ahead of any other one.
    import pkg_resources  # noqa: F401
    from mesos.interface import Scheduler, mesos_pb2
    from mesos.scheduler import MesosSchedulerDriver

    class QuietScheduler(Scheduler):
        """Registers and asks for no offers: the cluster's resources stay free."""

        def registered(self, driver, framework_id, master_info):
            driver.suppressOffers()

        def reregistered(self, driver, master_info):
            driver.suppressOffers()

        def resourceOffers(self, driver, offers):
            for offer in offers:
                driver.declineOffer(offer.id)

        def error(self, driver, message):
            complain("framework error: %s" % message)
            errors.append(message)

    errors = []
    framework = mesos_pb2.FrameworkInfo()
    framework.user = ""  # the driver fills in the current user
    framework.name = "mesos-maintenance-real-mesos"
    driver = MesosSchedulerDriver(QuietScheduler(), framework, "local")

    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))

    status = driver.start()
    if hostnames is not None:
        problem = hostnames.finish()
        # What the executors inherit: a name, not the FIFO's path, gone now.
        os.environ["MESOS_HOSTNAME"] = args.hostname
        if problem:
            complain(problem)
            os._exit(1)
    if status != mesos_pb2.DRIVER_RUNNING:
        # The driver tells the scheduler why on another thread: give it a moment to arrive.
        deadline = time.time() + 5
        while not errors and time.time() < deadline:
            time.sleep(0.01)
        complain("driver did not start: %s" % mesos_pb2.Status.Name(status))
        os._exit(1)
    print("real-mesos: running on 127.0.0.1:%d with %d agent(s)" % (args.port, args.agents))
    sys.stdout.flush()
    while not stop:
        time.sleep(0.1)
    # The in-process cluster ends with the process; a driver.stop() here would only tear the
    # framework down first and can hang on shutdown in local mode.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv[1:])
