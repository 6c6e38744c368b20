# This file runs under Python 2.7 (the egg is a CPython 2.7 extension): keep it 2.7 syntax.
# ruff: noqa: UP010
"""Start a real Mesos 1.11.0 cluster (one master, N agents) in this process. Python 2.7 only.

PyPI's `mesos.scheduler` 1.11.0 egg carries all of libmesos; its scheduler driver, given the
master address `local`, starts an in-process cluster: one real master and MESOS_NUM_SLAVES real
agents, all on one libprocess port (agents are `slave(1)@ip:port`, `slave(2)@...`). A framework
is needed to start it; ours registers and suppresses offers, so it never holds resources.

Run by tests/real_mesos/harness.py with the harness' Python 2.7 (see setup.py). Arguments:

    launcher.py --lib-dir DIR --port PORT --work-dir DIR [--agents N] [--hostname H]
                [--credentials FILE] [--readwrite-auth] [--readonly-auth]

Every other MESOS_* variable in the environment reaches the master and agents unchanged (the
contract tests give MESOS_MODULES and friends to see mesos-master's own error texts).

The process re-executes itself once with LD_LIBRARY_PATH pointing at --lib-dir (the OpenSSL
1.0 pair and the libcurl shim), so the variable never leaks into a shell: the system's curl
breaks with it. It runs until SIGTERM or SIGINT and exits 0 then; if the driver does not reach
DRIVER_RUNNING it exits 1 at once (stop()/join() on an aborted driver hits a CHECK).
"""

from __future__ import print_function

import argparse
import os
import signal
import sys
import time

REEXEC_MARK = "MESOS_MAINTENANCE_REAL_MESOS_REEXEC"


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lib-dir", required=True, help="directory with libssl/libcrypto 1.0 and the curl shim")
    parser.add_argument("--port", type=int, required=True, help="loopback port of the master (and agents)")
    parser.add_argument("--work-dir", required=True, help="work directory of the master and agents")
    parser.add_argument("--agents", type=int, default=1)
    parser.add_argument("--hostname", default="127.0.0.1", help="the master's --hostname")
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
    env["MESOS_HOSTNAME"] = args.hostname
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


def main(argv):
    args = parse_args(argv)
    if os.environ.get(REEXEC_MARK) != "1":
        reexec(args)  # does not return
    configure(args)

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
            print("real-mesos: framework error: %s" % message, file=sys.stderr)
            sys.stderr.flush()
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
    if status != mesos_pb2.DRIVER_RUNNING:
        # The driver tells the scheduler why on another thread: give it a moment to arrive.
        deadline = time.time() + 5
        while not errors and time.time() < deadline:
            time.sleep(0.01)
        print("real-mesos: driver did not start: %s" % mesos_pb2.Status.Name(status), file=sys.stderr)
        sys.stderr.flush()
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
