# Copyright: contributors to mesos.maintenance
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read how mesos-master is configured on this host, without changing anything.

Arguments: env_file flags_dir dropin_path service_name modules_json_path (may be "")
default_modules_json_path.
Prints one JSON object: every file the role may change (exists, content, and the owner, group
and mode to write it with), the directories it may create them in (exists, and the owner, group
and mode to make them with), the --modules, --modules_dir and --allocator settings found in each
of the three places sites use, the modules manifest (the one given, else the one in use, else the
default path, which nothing then names: "chosen" is false), the service's state and the user it
runs as.

A file keeps its owner, group and mode (a modules manifest or an environment file may hold
secrets: ZooKeeper credentials, an authenticator's password). A new one is 0640, owned by the
user and group mesos-master runs as (systemd's User=/Group=; root when not set), except the
systemd drop-in: systemd reads it as root, and the service's user must not be able to change it.
A directory keeps its owner, group and mode too. A new one is owned by root and readable by the
service's group only (mesos-master reads the manifest, mesos-init-wrapper the flag files, as the
service's user), 0750; the drop-in's directory is root's, 0755, as `systemctl edit` makes it.
"""

import glob
import grp
import json
import os
import pwd
import re
import shlex
import stat
import subprocess
import sys

FLAGS = ("modules", "modules_dir", "allocator")
NEW_FILE_MODE = "0640"
ROOT = {"owner": "root", "group": "root"}
NEW_DROPIN_DIR = {**ROOT, "mode": "0755"}


def _name(lookup, number):
    try:
        return lookup(number)[0]
    except KeyError:
        return str(number)


def _attributes(info):
    return {
        "owner": _name(pwd.getpwuid, info.st_uid),
        "group": _name(grp.getgrgid, info.st_gid),
        "mode": "%04o" % stat.S_IMODE(info.st_mode),
    }


class Unreadable(Exception):
    """A file the role must read before it changes anything, and cannot."""


def read(path, new_owner):
    """A file's content and the owner, group and mode to write it with: its own, or new_owner's and 0640."""
    try:
        with open(path, encoding="utf-8") as handle:
            return {"path": path, "exists": True, "content": handle.read(), **_attributes(os.fstat(handle.fileno()))}
    except FileNotFoundError:
        return {"path": path, "exists": False, "content": "", "mode": NEW_FILE_MODE, **new_owner}
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise Unreadable(
            f"cannot read {path}: {reason}. The role reads it to keep what it holds and writes it back, so it must be "
            "a readable UTF-8 text file: fix it, or name another path in the role's variables, and run again. "
            "Nothing was changed."
        ) from exc


def directory(path, new):
    """The owner, group and mode to make a directory (and its missing parents) with: its own, or new."""
    try:
        return {"path": path, "exists": True, **_attributes(os.stat(path))}
    except FileNotFoundError:
        return {"path": path, "exists": False, **new}


def service_account(service):
    """The user and group the service runs as (systemd's User= and Group=; the user's own group when Group= is not set)."""
    try:
        shown = subprocess.run(
            ["systemctl", "show", service, "--property=User,Group"], capture_output=True, text=True, check=False
        ).stdout
    except OSError:
        shown = ""
    props = dict(line.split("=", 1) for line in shown.splitlines() if "=" in line)
    user = props.get("User") or "root"
    group = props.get("Group")
    if not group:
        try:
            group = _name(grp.getgrgid, pwd.getpwnam(user).pw_gid)
        except KeyError:
            group = ""
    return {"owner": user, "group": group}


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
    try:
        discover(*sys.argv[1:7])
    except Unreadable as exc:
        sys.exit(f"discover.py: {exc}")


def discover(env_file, flags_dir, dropin, service, modules_json, default_modules_json):
    """Print what is found (the module docstring)."""
    account = service_account(service)
    files = {"env_file": read(env_file, account), "dropin": read(dropin, ROOT)}
    for flag in FLAGS:
        files["flag_" + flag] = read(os.path.join(flags_dir, flag), account)
    settings = {flag: [] for flag in FLAGS}  # [{source, value}]
    for key, value in env_assignments(files["env_file"]["content"]).items():
        flag = key[6:].lower()
        if flag in settings:
            settings[flag].append({"source": env_file, "style": "env_file", "value": value})
    for flag in FLAGS:
        entry = files["flag_" + flag]
        if entry["exists"]:
            settings[flag].append({"source": entry["path"], "style": "flag_files", "value": entry["content"].strip()})
    dropin_dirs = [f"/etc/systemd/system/{service}.service.d", f"/run/systemd/system/{service}.service.d"]
    for path in sorted(p for d in dropin_dirs for p in glob.glob(os.path.join(d, "*.conf"))):
        for key, value in unit_environment(read(path, ROOT)["content"]).items():
            flag = key[6:].lower()
            if flag in settings:
                style = "systemd_dropin" if path == dropin else "other_dropin"
                settings[flag].append({"source": path, "style": style, "value": value})
    for flag, entries in settings.items():
        for entry in entries:
            entry["flag"] = flag
            entry["text"] = f"{entry['source']} sets {flag}={entry['value']}"
    # The manifest: the given path, else the file the current --modules names, else the default.
    path = modules_json
    if not path:
        for entry in settings["modules"]:
            if entry["value"].startswith("file://"):
                path = entry["value"][7:]
                break
            if entry["value"].startswith("/"):
                path = entry["value"]
                break
    files["modules_json"] = {**read(path or default_modules_json, account), "chosen": bool(path)}
    new_dir = {"owner": "root", "group": account["group"], "mode": "0750"}
    dirs = {
        "modules_json": directory(os.path.dirname(files["modules_json"]["path"]), new_dir),
        "flag_files": directory(flags_dir, new_dir),
        "dropin": directory(os.path.dirname(dropin), NEW_DROPIN_DIR),
    }
    try:
        active = subprocess.run(
            ["systemctl", "is-active", service], capture_output=True, text=True, check=False
        ).stdout.strip()
    except OSError:
        active = "unknown"
    print(json.dumps({"files": files, "dirs": dirs, "settings": settings, "service_state": active, "service_account": account}))


if __name__ == "__main__":
    main()
