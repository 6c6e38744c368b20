#!/usr/bin/env python3
"""A stand-in for Mesos 1.11's `mesos-containerizer launch`, the helper every container starts through.

The egg behind the real cluster (see launcher.py) has libmesos but none of Mesos' helper programs,
so an agent's `MesosContainerizer` finds nothing to fork and every task fails at once. The agent
looks for this program as `<launcher_dir>/mesos-containerizer` (harness.py points
MESOS_LAUNCHER_DIR at a directory with a symlink to this file) and runs

    mesos-containerizer launch

with its flags in the environment (MESOS_CONTAINERIZER_LAUNCH_INFO, _PIPE_READ, _PIPE_WRITE,
_RUNTIME_DIRECTORY); the command executor (executor.py) runs it again for its task with the flags
as `--launch_info=...` arguments. What it does follows `MesosContainerizerLaunch::execute()` in
src/slave/containerizer/mesos/launch.cpp of Mesos 1.11.0, for what the posix launcher and the
posix/cpu and posix/mem isolators hand it:

- with the control pipe: close its write end and wait for the agent's one byte (the agent sends it
  once the isolators are ready);
- switch to `launch_info.user` when that is not the current user, create and enter
  `launch_info.working_directory`;
- with `--runtime_directory`: fork, run the command in the child, forward every signal to it,
  reap all descendants until it exits and write its wait status (decimal, as `waitpid()` gives
  it) to `<runtime_directory>/status`, where the agent reads why the container ended; without
  it: exec the command in place;
- the command: `/bin/sh -c value` when `shell`, else `value` with `arguments` as argv; the
  environment is exactly `launch_info.environment` (plus the host's default PATH), or inherited
  when there is none.

What only Linux isolators and images ask for (rootfs, mounts, capabilities, seccomp, rlimits, a
TTY, pre-exec commands, mount namespaces) is refused with a message and exit status 1, never
skipped in silence: the real cluster runs without them.
"""

import json
import os
import pwd
import signal
import sys

# What Mesos' `os::host_default_path()` gives a container without a PATH of its own.
HOST_DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
FLAG_ENV_PREFIX = "MESOS_CONTAINERIZER_"
FLAGS = ("launch_info", "pipe_read", "pipe_write", "runtime_directory", "namespace_mnt_target", "unshare_namespace_mnt")
UNSUPPORTED_LAUNCH_INFO = (
    "pre_exec_commands",
    "rootfs",
    "mounts",
    "masked_paths",
    "file_operations",
    "seccomp_profile",
    "effective_capabilities",
    "bounding_capabilities",
    "rlimits",
    "tty_slave_path",
    "no_new_privileges",
)


class Launch:
    """One `launch`: the status file it reports through, and the child it forwards signals to."""

    def __init__(self):
        self.status_fd = None
        self.child = None

    def write_status(self, status):
        if self.status_fd is not None:
            os.write(self.status_fd, str(status).encode())
            os.close(self.status_fd)
            self.status_fd = None

    def fail(self, message, status=1):
        print(f"mesos-containerizer launch: {message}", file=sys.stderr, flush=True)
        self.write_status(status << 8)  # W_EXITCODE(status, 0)
        os._exit(status)

    def on_signal(self, signum, frame):
        if self.child is None:
            # A signal before the command runs ends the launch, as launch.cpp's handler does.
            self.write_status(signum)  # W_EXITCODE(0, signum)
            os._exit(1)
        try:
            os.kill(self.child, signum)
        except ProcessLookupError:
            pass  # the child is gone: waitpid() is about to say so


def parse_flags(argv, environ):
    """Stout's way: MESOS_CONTAINERIZER_<NAME> from the environment, `--name=value` over it."""
    values = {}
    for name in FLAGS:
        if FLAG_ENV_PREFIX + name.upper() in environ:
            values[name] = environ[FLAG_ENV_PREFIX + name.upper()]
    for arg in argv:
        name, sep, value = arg[2:].partition("=")
        if not arg.startswith("--") or name not in FLAGS:
            raise ValueError(f"unknown argument {arg!r}")
        values[name] = value if sep else "true"
    return values


def json_flag(text):
    if text.startswith("file://"):
        with open(text[len("file://") :], encoding="utf-8") as handle:
            text = handle.read()
    return json.loads(text)


def wait_for_agent(launch, pipe_read, pipe_write):
    os.close(pipe_write)
    while True:
        try:
            data = os.read(pipe_read, 1)
            break
        except InterruptedError:
            continue
    if len(data) != 1:
        launch.fail("Failed to synchronize with agent (it's probably exited)")
    os.close(pipe_read)


def switch_user(launch, info):
    user = info.get("user")
    if not user:
        return
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        launch.fail(f"Failed to get the uid of user '{user}': not found")
    if entry.pw_uid == os.geteuid():
        return
    groups = set(os.getgrouplist(user, entry.pw_gid)) | set(info.get("supplementary_groups", []))
    os.setgid(entry.pw_gid)
    os.setgroups(sorted(groups))
    os.setuid(entry.pw_uid)


def enter_working_directory(launch, info):
    directory = info.get("working_directory")
    if not directory:
        return
    os.makedirs(directory, exist_ok=True)
    try:
        os.chdir(directory)
    except OSError as exc:
        launch.fail(f"Failed to chdir into current working directory '{directory}': {exc.strerror}")


def command_line(info):
    """(executable, argv, environment or None) as launch.cpp builds them."""
    command = info["command"]
    if command.get("shell", True):
        return "/bin/sh", ["sh", "-c", command["value"]], container_environment(info)
    executable = command["value"]
    directory = info.get("working_directory")
    if not os.path.isabs(executable) and directory and os.path.isfile(os.path.join(directory, executable)):
        executable = os.path.join(directory, executable)
    # An empty argv is legal for execve() but not for os.execv*(): give the program its own name.
    argv = command.get("arguments") or [executable]
    return executable, argv, container_environment(info)


def container_environment(info):
    if "environment" not in info:
        return None
    environment = {v["name"]: v.get("value", "") for v in info["environment"].get("variables", [])}
    environment.setdefault("PATH", HOST_DEFAULT_PATH)
    return environment


def run_and_checkpoint(launch, executable, argv, environment):
    """Fork the command, forward signals to it, reap every descendant until it ends, and write
    its wait status: the agent reads it to say how the container ended."""
    pid = os.fork()
    if pid == 0:
        launch.status_fd = None  # the status is the parent's to write
        execute(executable, argv, environment)
    launch.child = pid
    while True:
        reaped, status = os.waitpid(-1, 0)
        if reaped == pid and not os.WIFSTOPPED(status):
            break
    launch.write_status(status)
    os._exit(0)


def execute(executable, argv, environment):
    for signum in (signal.SIGPIPE, signal.SIGXFSZ):  # Python ignores these; a command must not
        signal.signal(signum, signal.SIG_DFL)
    try:
        if environment is None:
            os.execvp(executable, argv)
        else:
            os.execvpe(executable, argv, environment)
    except OSError as exc:
        print(f"Failed to execute '{executable}': {exc.strerror}", file=sys.stderr, flush=True)
    os._exit(1)


def main(argv):
    if argv[:1] != ["launch"]:
        print("usage: mesos-containerizer launch [--launch_info=JSON ...]; only `launch` is here", file=sys.stderr)
        return 1
    launch = Launch()
    try:
        flags = parse_flags(argv[1:], os.environ)
    except ValueError as exc:
        launch.fail(str(exc))
    if "runtime_directory" in flags:
        launch.status_fd = os.open(
            os.path.join(flags["runtime_directory"], "status"), os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600
        )
    for signum in range(1, signal.NSIG):
        if signum in (signal.SIGCHLD, signal.SIGKILL, signal.SIGSTOP):
            continue
        try:
            signal.signal(signum, launch.on_signal)
        except (OSError, ValueError):
            pass  # real-time signals the C library keeps for itself
    if "launch_info" not in flags:
        launch.fail("Flag --launch_info is not specified")
    info = json_flag(flags["launch_info"])
    if not info.get("command", {}).get("value"):
        launch.fail("Launch command is not specified")
    refused = [name for name in UNSUPPORTED_LAUNCH_INFO if info.get(name)]
    if flags.get("unshare_namespace_mnt") == "true" or "namespace_mnt_target" in flags:
        refused.append("mount namespaces")
    if refused:
        launch.fail(f"this stand-in does not support {', '.join(refused)} (the real cluster runs posix isolation only)")
    if ("pipe_read" in flags) != ("pipe_write" in flags):
        launch.fail("Flag --pipe_read and --pipe_write should either be both set or both not set")
    if "pipe_read" in flags:
        wait_for_agent(launch, int(flags["pipe_read"]), int(flags["pipe_write"]))
    switch_user(launch, info)
    enter_working_directory(launch, info)
    executable, args, environment = command_line(info)
    if launch.status_fd is not None:
        run_and_checkpoint(launch, executable, args, environment)
    execute(executable, args, environment)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
