#!/usr/bin/env python3
"""A stand-in for Mesos 1.11's command executor (`mesos-executor`), speaking the v1 HTTP executor API.

The agent starts a command task's executor as `<launcher_dir>/mesos-executor
--launcher_dir=<dir>` through `mesos-containerizer launch` (containerizer.py), with its
environment: MESOS_FRAMEWORK_ID, MESOS_EXECUTOR_ID, MESOS_SLAVE_PID (`slave(1)@ip:port`, whose
id names the agent's endpoint `/slave(1)/api/v1/executor`), MESOS_AGENT_ENDPOINT, MESOS_CHECKPOINT,
MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD, MESOS_RECOVERY_TIMEOUT. What it does follows
`CommandExecutor` in src/launcher/executor.cpp of Mesos 1.11.0:

- SUBSCRIBE (a RecordIO stream of events, JSON), with any unacknowledged updates and task;
- LAUNCH: TASK_STARTING, run the task's command through `mesos-containerizer launch` in a session
  of its own, TASK_RUNNING; when it ends TASK_FINISHED (status 0), TASK_FAILED, or TASK_KILLED if
  it was killed;
- KILL (its `kill_policy` first, else the task's, else 3 s: the grace period DRAIN_AGENT's
  `max_grace_period` arrives in): TASK_KILLING if the framework has TASK_KILLING_STATE, SIGTERM to
  the task's process group, SIGKILL when the grace period ends; a later KILL can only shorten it;
- SHUTDOWN: the same kill with the shutdown grace period less 2 s;
- ACKNOWLEDGED: forget the update; the terminal one's ends the executor (status 0). Without it
  within 60 s the executor exits 1, as the real one does.

Losing the agent ends the executor, killing its task first, unless the framework checkpoints;
then it resubscribes every second until MESOS_RECOVERY_TIMEOUT. (Local mode's agents live in the
harness' process: when it stops, this is how the tasks, in sessions of their own, end too.) Flags for images, capabilities and TTYs
are refused with exit status 1: the real cluster runs without them. Standard library only: the
agent runs it with the host's default PATH, outside any venv.
"""

import base64
import http.client
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid

from mesos_v1 import TERMINAL_STATES, records  # run as a script: its directory is on sys.path

DEFAULT_KILL_GRACE_PERIOD = 3.0  # seconds; executor.cpp keeps it "for backwards compatibility"
MAX_REAP_INTERVAL = 1.0  # libprocess' reaper, which shutdown() leaves room for
TERMINAL_ACK_TIMEOUT = 60.0
SUBSCRIBE_RETRY_INTERVAL = 1.0
DURATION_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "ms": 1e-3,
    "secs": 1,
    "mins": 60,
    "hrs": 3600,
    "days": 86400,
    "weeks": 604800,
}
FLAGS = ("launcher_dir", "task_command", "task_environment", "task_supplementary_groups", "user")
# Set by the agent only for tasks with a container image, capabilities or a TTY.
REFUSED_FLAGS = (
    "rootfs",
    "sandbox_directory",
    "working_directory",
    "effective_capabilities",
    "bounding_capabilities",
    "task_launch_info",
    "tty_slave_path",
)


def log(message):
    print(f"mesos-executor {time.strftime('%H:%M:%S')}: {message}", file=sys.stderr, flush=True)


def parse_duration(text):
    """Seconds in a stout Duration such as `5secs` or `100ms`."""
    for unit in sorted(DURATION_UNITS, key=len, reverse=True):
        if text.endswith(unit):
            return float(text[: -len(unit)]) * DURATION_UNITS[unit]
    raise ValueError(f"not a duration: {text!r}")


def parse_flags(argv):
    flags = {"launcher_dir": os.path.dirname(os.path.abspath(sys.argv[0]))}
    for arg in argv:
        name, _, value = arg[2:].partition("=")
        if not arg.startswith("--") or name not in FLAGS + REFUSED_FLAGS:
            raise ValueError(f"unknown argument {arg!r}")
        if name in REFUSED_FLAGS:
            raise ValueError(f"--{name} is not supported by this stand-in (the real cluster runs no images)")
        flags[name] = value
    return flags


def wait_status_text(returncode):
    """Mesos' WSTRINGIFY, from a subprocess return code."""
    if returncode < 0:
        return f"terminated with signal {signal.strsignal(-returncode)}"
    return f"exited with status {returncode}"


class Agent:
    """The agent's executor endpoint, found the way the v1 executor library finds it."""

    def __init__(self, environ):
        process_id, _, address = environ["MESOS_SLAVE_PID"].partition("@")
        host, _, port = address.rpartition(":")
        self.host, self.port = host, int(port)
        self.path = f"/{process_id}/api/v1/executor"
        self.headers = {"Content-Type": "application/json", "Accept": "application/json"}
        token = environ.get("MESOS_EXECUTOR_AUTHENTICATION_TOKEN")
        if token:
            self.headers["Authorization"] = f"Bearer {token}"

    def open(self, call, timeout=None):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        conn.request("POST", self.path, body=json.dumps(call), headers=self.headers)
        return conn, conn.getresponse()

    def send(self, call):
        """A non-SUBSCRIBE call: the agent answers 202 Accepted."""
        conn, response = self.open(call, timeout=10)
        try:
            body = response.read()
        finally:
            conn.close()
        if response.status != 202:
            raise OSError(f"{call['type']} answered {response.status}: {body.decode('utf-8', 'replace')}")


class CommandExecutor:
    def __init__(self, environ, flags):
        self.framework_id = {"value": environ["MESOS_FRAMEWORK_ID"]}
        self.executor_id = {"value": environ["MESOS_EXECUTOR_ID"]}
        self.agent = Agent(environ)
        self.flags = flags
        self.checkpoint = environ.get("MESOS_CHECKPOINT") == "1"
        self.shutdown_grace_period = parse_duration(environ.get("MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD", "5secs"))
        self.recovery_timeout = parse_duration(environ.get("MESOS_RECOVERY_TIMEOUT", "15mins"))
        self.inbox = queue.Queue()  # everything happens on the main thread, in arrival order
        self.exit_status = None
        self.subscribed = False
        self.ever_subscribed = False
        self.reconnect_deadline = None
        self.agent_gone = False
        self.framework_info = {}
        self.unacknowledged = {}  # uuid (base64, as the agent echoes it) -> Call.Update
        self.task = None
        self.task_acknowledged = False
        self.process = None
        self.killed = False
        self.killed_by_max_completion_time = False
        self.terminated = False
        self.kill_started = None
        self.escalation = None  # (timer, the time it fires)
        self.completion_timer = None

    # --- plumbing -----------------------------------------------------------------------------
    def post(self, kind, value=None):
        self.inbox.put((kind, value))

    def later(self, seconds, kind, value=None):
        timer = threading.Timer(seconds, self.post, (kind, value))
        timer.daemon = True
        timer.start()
        return timer

    def run(self):
        self.subscribe()
        while self.exit_status is None:
            kind, value = self.inbox.get()
            getattr(self, f"on_{kind}")(value)
        return self.exit_status

    def subscribe(self):
        call = {
            "type": "SUBSCRIBE",
            "framework_id": self.framework_id,
            "executor_id": self.executor_id,
            "subscribe": {"unacknowledged_updates": list(self.unacknowledged.values())},
        }
        if self.task is not None and not self.task_acknowledged:
            call["subscribe"]["unacknowledged_tasks"] = [self.task]
        threading.Thread(target=self.stream, args=(call,), daemon=True).start()

    def stream(self, call):
        """The SUBSCRIBE connection, on its own thread: each event goes to the inbox."""
        try:
            conn, response = self.agent.open(call)
            if response.status != 200:
                body = response.read().decode("utf-8", "replace")
                self.post("disconnected", f"SUBSCRIBE answered {response.status}: {body}")
                return
            for record in records(iter(lambda: response.read1(65536), b"")):
                self.post("event", json.loads(record))
            self.post("disconnected", "the agent closed the event stream")
        except (OSError, http.client.HTTPException) as exc:
            self.post("disconnected", f"{type(exc).__name__}: {exc}")

    def forward(self, state, reason=None, message=None, task_id=None):
        status = {
            "task_id": task_id or self.task["task_id"],
            "state": state,
            "source": "SOURCE_EXECUTOR",
            "executor_id": self.executor_id,
            "uuid": base64.b64encode(uuid.uuid4().bytes).decode(),
            "timestamp": time.time(),
        }
        if reason:
            status["reason"] = reason
        if message:
            status["message"] = message
        update = {"status": status}
        self.unacknowledged[status["uuid"]] = update
        log(f"{state}{': ' + message if message else ''}")
        try:
            self.agent.send(
                {"type": "UPDATE", "framework_id": self.framework_id, "executor_id": self.executor_id, "update": update}
            )
        except (OSError, http.client.HTTPException) as exc:
            # It stays unacknowledged and goes again with the next SUBSCRIBE.
            log(f"sending {state} failed: {exc}")

    # --- what arrives in the inbox ------------------------------------------------------------
    def on_disconnected(self, reason):
        self.subscribed = False
        log(f"disconnected from the agent: {reason}")
        if self.ever_subscribed and not self.checkpoint:
            log("the framework does not checkpoint: shutting down")
            self.agent_gone = True
            self.shutdown()
            return
        if self.reconnect_deadline is None:
            self.reconnect_deadline = time.monotonic() + self.recovery_timeout
        if time.monotonic() >= self.reconnect_deadline:
            log("recovery timeout exceeded: shutting down")
            self.shutdown()
            return
        self.later(SUBSCRIBE_RETRY_INTERVAL, "resubscribe")

    def on_resubscribe(self, _):
        if not self.subscribed and self.exit_status is None:
            self.subscribe()

    def on_event(self, event):
        kind = event.get("type")
        if kind == "SUBSCRIBED":
            self.subscribed = self.ever_subscribed = True
            self.reconnect_deadline = None
            self.framework_info = event["subscribed"].get("framework_info", {})
            log(f"subscribed on agent {event['subscribed'].get('agent_info', {}).get('id', {}).get('value')}")
        elif kind == "LAUNCH":
            self.launch(event["launch"]["task"])
        elif kind == "LAUNCH_GROUP":
            log("LAUNCH_GROUP is for the default executor, not the command executor: shutting down")
            self.shutdown()
        elif kind == "KILL":
            grace = event["kill"].get("kill_policy", {}).get("grace_period")
            if grace is None:
                grace = self.task.get("kill_policy", {}).get("grace_period") if self.task else None
            self.kill(DEFAULT_KILL_GRACE_PERIOD if grace is None else grace["nanoseconds"] / 1e9)
        elif kind == "ACKNOWLEDGED":
            self.acknowledged(event["acknowledged"]["uuid"])
        elif kind == "SHUTDOWN":
            self.shutdown()
        elif kind == "ERROR":
            log(f"error from the agent: {event['error'].get('message')}")
        # MESSAGE and HEARTBEAT need nothing.

    def on_reaped(self, returncode):
        self.terminated = True
        for timer in (self.escalation and self.escalation[0], self.completion_timer):
            if timer is not None:
                timer.cancel()
        reason = None
        if self.killed_by_max_completion_time:
            state, reason = "TASK_FAILED", "REASON_MAX_COMPLETION_TIME_REACHED"
        elif self.killed:
            state = "TASK_KILLED"
        else:
            state = "TASK_FINISHED" if returncode == 0 else "TASK_FAILED"
        self.forward(state, reason=reason, message=f"Command {wait_status_text(returncode)}")
        if self.agent_gone:
            self.exit_status = 0  # nobody is left to acknowledge it
        else:
            self.later(TERMINAL_ACK_TIMEOUT, "ack_timeout")

    def on_escalate(self, grace_period):
        if self.terminated:
            return
        log(f"the task did not end within {grace_period:g} s: SIGKILL to its process group")
        self.signal_task(signal.SIGKILL)

    def on_max_completion_time(self, seconds):
        if self.terminated or self.killed:
            return
        log(f"the task exceeded its maximum completion time of {seconds:g} s")
        self.killed_by_max_completion_time = True
        self.kill(0.0)

    def on_ack_timeout(self, _):
        log("Did not receive ACK for the terminal status update from the agent")
        self.exit_status = 1

    # --- the task -----------------------------------------------------------------------------
    def launch(self, task):
        if self.task is not None:
            self.forward(
                "TASK_FAILED",
                message='Attempted to run multiple tasks using a "command" executor',
                task_id=task["task_id"],
            )
            return
        self.task = task
        self.forward("TASK_STARTING")
        command = json.loads(self.flags["task_command"]) if "task_command" in self.flags else task["command"]
        launch_info = {"command": command, "environment": {"variables": self.task_environment(task, command)}}
        if "user" in self.flags:
            launch_info["user"] = self.flags["user"]
        groups = self.flags.get("task_supplementary_groups")
        if groups:
            launch_info["supplementary_groups"] = [int(gid) for gid in groups.split(",")]
        containerizer = os.path.join(self.flags["launcher_dir"], "mesos-containerizer")
        try:
            # A session of its own (executor.cpp's SETSID hook): a kill reaches the whole group.
            self.process = subprocess.Popen(
                ["mesos-containerizer", "launch", f"--launch_info={json.dumps(launch_info)}"],
                executable=containerizer,
                start_new_session=True,
            )
        except OSError as exc:
            self.terminated = True
            self.forward("TASK_FAILED", message=f"Failed to launch task subprocess: {exc}")
            self.later(TERMINAL_ACK_TIMEOUT, "ack_timeout")
            return
        threading.Thread(target=lambda: self.post("reaped", self.process.wait()), daemon=True).start()
        max_completion = int(task.get("max_completion_time", {}).get("nanoseconds", 0)) / 1e9
        if max_completion > 0:
            self.completion_timer = self.later(max_completion, "max_completion_time", max_completion)
        log(f"forked command at {self.process.pid}")
        self.forward("TASK_RUNNING")

    def task_environment(self, task, command):
        """The executor's environment, then --task_environment, then the command's own; secrets
        are skipped (no isolator resolves them here), MESOS_ALLOCATION_ROLE added last."""
        environment = dict(os.environ)
        extra = json.loads(self.flags["task_environment"]) if "task_environment" in self.flags else {}
        for source in (extra, command.get("environment", {})):
            for variable in source.get("variables", []):
                if variable.get("type", "VALUE") == "VALUE":
                    environment[variable["name"]] = variable.get("value", "")
        resources = task.get("resources") or [{}]
        environment["MESOS_ALLOCATION_ROLE"] = resources[0].get("allocation_info", {}).get("role", "*")
        return [{"name": name, "type": "VALUE", "value": value} for name, value in environment.items()]

    def signal_task(self, signum):
        try:
            os.killpg(self.process.pid, signum)
        except ProcessLookupError:
            pass  # already gone: the reaper thread reports it

    def kill(self, grace_period):
        if self.terminated:
            return
        if self.process is None:
            log("kill before any task was launched: shutting down")
            self.exit_status = 0
            return
        if self.killed:
            # A later kill may only shorten the grace period, as in executor.cpp.
            fires_at = self.kill_started + grace_period
            if fires_at >= self.escalation[1]:
                return
            self.escalation[0].cancel()
            remaining = max(0.0, fires_at - time.monotonic())
            log(f"rescheduling SIGKILL in {remaining:g} s")
            self.escalation = (self.later(remaining, "escalate", grace_period), fires_at)
            return
        capabilities = {c.get("type") for c in self.framework_info.get("capabilities", [])}
        if not self.killed_by_max_completion_time and "TASK_KILLING_STATE" in capabilities:
            self.forward("TASK_KILLING")
        log(f"SIGTERM to the task's process group, SIGKILL in {grace_period:g} s")
        self.signal_task(signal.SIGTERM)
        self.killed = True
        self.kill_started = time.monotonic()
        self.escalation = (self.later(grace_period, "escalate", grace_period), self.kill_started + grace_period)

    def shutdown(self):
        if self.process is None or self.terminated:
            self.exit_status = 0
            return
        # Room for the forced kill and TASK_KILLED before the agent destroys the container.
        self.kill(max(0.0, self.shutdown_grace_period - MAX_REAP_INTERVAL - 1.0))

    def acknowledged(self, update_uuid):
        update = self.unacknowledged.pop(update_uuid, None)
        if update is None:
            log(f"acknowledgement {update_uuid} for an unknown status update")
            return
        self.task_acknowledged = True
        if update["status"]["state"] in TERMINAL_STATES:
            self.exit_status = 0


def main(argv):
    try:
        flags = parse_flags(argv)
    except ValueError as exc:
        log(str(exc))
        return 1
    for name in ("MESOS_FRAMEWORK_ID", "MESOS_EXECUTOR_ID", "MESOS_SLAVE_PID"):
        if name not in os.environ:
            log(f"Expecting '{name}' to be set in the environment")
            return 1
    executor = CommandExecutor(os.environ, flags)
    status = executor.run()
    log(f"exiting with status {status}")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
