# Copyright: contributors to mesos.maintenance
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Wait until the mesos-master just (re)started on this host answers, or stop as soon as it died.

Arguments: service_name url timeout delay http_timeout validate_certs(true|false).
Polls the URL (200 = healthy) and the service's systemd state together: a master that exits
and is restarted by systemd (Restart=always: SubState auto-restart, NRestarts growing) or has
failed will not come back by waiting, so this returns at once instead of after the timeout.
Prints one JSON object: healthy, reason, waited (seconds) and the systemd properties last seen
(mesos-master's own error is in its journal, which restart.yml reads).
"""

import json
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request

PROPERTIES = ("ActiveState", "SubState", "NRestarts", "ExecMainStatus")


def service_state(name):
    done = subprocess.run(
        ["systemctl", "show", name, "--property=" + ",".join(PROPERTIES)],
        capture_output=True,
        text=True,
        check=False,
    )
    state = dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
    state["NRestarts"] = int(state.get("NRestarts") or 0)
    return state


def answers(url, http_timeout, context):
    try:
        with urllib.request.urlopen(url, timeout=http_timeout, context=context) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def died(first, now):
    """Why the service has stopped running on its own since `first`, or None while it has not."""
    if now.get("ActiveState") == "failed":
        return "systemd marked it failed (exit status %s)" % now.get("ExecMainStatus")
    if now["NRestarts"] > first["NRestarts"]:
        return "it exited and systemd restarted it %d time(s) (exit status %s)" % (
            now["NRestarts"] - first["NRestarts"],
            now.get("ExecMainStatus"),
        )
    if now.get("SubState") == "auto-restart":
        return "it exited and systemd is about to restart it (exit status %s)" % now.get("ExecMainStatus")
    if now.get("ActiveState") in ("inactive", "deactivating"):
        return "it is not running (%s/%s)" % (now.get("ActiveState"), now.get("SubState"))
    return None


def main(argv):
    name, url, timeout, delay, http_timeout, validate = argv
    timeout, delay, http_timeout = float(timeout), float(delay), float(http_timeout)
    context = ssl.create_default_context()
    if validate != "true":
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    start = time.monotonic()
    first = service_state(name)
    result = {"healthy": False, "reason": "", "state": first}
    while True:
        now = service_state(name)
        result["state"] = now
        reason = died(first, now)
        if reason:
            result["reason"] = reason
            break
        if answers(url, http_timeout, context):
            result["healthy"] = True
            break
        if time.monotonic() - start >= timeout:
            result["reason"] = "it did not answer on %s within %d seconds" % (url, timeout)
            break
        time.sleep(delay)
    result["waited"] = round(time.monotonic() - start, 1)
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
