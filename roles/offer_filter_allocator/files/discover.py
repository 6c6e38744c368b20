# Copyright: contributors to mesos.maintenance
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read how mesos-master is configured on this host, without changing anything.

Arguments: env_file flags_dir dropin_path service_name modules_json_path (may be "").
Prints one JSON object: every file the role may change (exists, content), the --modules,
--modules_dir and --allocator settings found in each of the three places sites use, the
modules manifest in use, and the service's state.
"""

import glob
import json
import os
import re
import shlex
import subprocess
import sys

FLAGS = ("modules", "modules_dir", "allocator")


def read(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return {"path": path, "exists": True, "content": handle.read()}
    except FileNotFoundError:
        return {"path": path, "exists": False, "content": ""}


def env_assignments(text):
    """KEY=VALUE lines of a shell environment file (optionally `export`ed, quoted)."""
    found = {}
    for line in text.splitlines():
        match = re.match(r"^\s*(?:export\s+)?(MESOS_[A-Z_]+)=(.*)$", line)
        if match:
            try:
                words = shlex.split(match.group(2), comments=True)
            except ValueError:
                words = [match.group(2)]
            found[match.group(1)] = words[0] if words else ""
    return found


def unit_environment(text):
    """Environment= assignments of a systemd unit or drop-in."""
    found = {}
    for line in text.splitlines():
        match = re.match(r"^\s*Environment\s*=\s*(.*)$", line)
        if not match:
            continue
        try:
            words = shlex.split(match.group(1))
        except ValueError:
            continue
        for word in words:
            key, sep, value = word.partition("=")
            if sep and key.startswith("MESOS_"):
                found[key] = value
    return found


def main():
    env_file, flags_dir, dropin, service, modules_json = sys.argv[1:6]
    files = {"env_file": read(env_file), "dropin": read(dropin)}
    for flag in FLAGS:
        files["flag_" + flag] = read(os.path.join(flags_dir, flag))
    settings = {flag: [] for flag in FLAGS}  # [{source, value}]
    for key, value in env_assignments(files["env_file"]["content"]).items():
        flag = key[6:].lower()
        if flag in settings:
            settings[flag].append({"source": env_file, "style": "env_file", "value": value})
    for flag in FLAGS:
        entry = files["flag_" + flag]
        if entry["exists"]:
            settings[flag].append(
                {"source": entry["path"], "style": "flag_files", "value": entry["content"].strip()}
            )
    dropin_dirs = [f"/etc/systemd/system/{service}.service.d", f"/run/systemd/system/{service}.service.d"]
    for path in sorted(p for d in dropin_dirs for p in glob.glob(os.path.join(d, "*.conf"))):
        for key, value in unit_environment(read(path)["content"]).items():
            flag = key[6:].lower()
            if flag in settings:
                style = "systemd_dropin" if path == dropin else "other_dropin"
                settings[flag].append({"source": path, "style": style, "value": value})
    for flag, entries in settings.items():
        for entry in entries:
            entry["flag"] = flag
            entry["text"] = f"{entry['source']} sets {flag}={entry['value']}"
    # The manifest in use: the given path, else the file the current --modules names.
    path = modules_json
    if not path:
        for entry in settings["modules"]:
            if entry["value"].startswith("file://"):
                path = entry["value"][7:]
                break
            if entry["value"].startswith("/"):
                path = entry["value"]
                break
    files["modules_json"] = read(path) if path else {"path": "", "exists": False, "content": ""}
    try:
        active = subprocess.run(
            ["systemctl", "is-active", service], capture_output=True, text=True, check=False
        ).stdout.strip()
    except OSError:
        active = "unknown"
    print(json.dumps({"files": files, "settings": settings, "service_state": active}))


if __name__ == "__main__":
    main()
