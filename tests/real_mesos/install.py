"""Install what a real Mesos 1.11.0 master needs on this machine, once, into a cache.

Nobody ships `mesos-master` any more, but PyPI's `mesos.scheduler` 1.11.0 egg carries all of
libmesos (a CPython 2.7 extension), and its driver starts a real master with real agents in
local mode (see launcher.py). Everything comes from the registries CI can reach:

- apt: `libapr1`, `libsvn1` (libmesos links them) and `libcurl4` (what the curl shim forwards to);
- PyPI: `virtualenv<20.22` (the last that makes a Python 2.7 venv), `protobuf<3.18` (the last for
  2.7), the egg itself through `easy_install` (pip cannot install an egg), and the
  `psycopg2-binary==2.7.7` cp27mu manylinux1 wheel, only for the OpenSSL 1.0.2 libraries it
  carries (libmesos wants `libssl.so.1.0.0`/`libcrypto.so.1.0.0`; Debian 12 has OpenSSL 3 only);
- gcc: curl_shim.c, our own small stand-in for the `libcurl.so.4` the egg was linked against.

The result lives in `$MESOS_MAINTENANCE_REAL_MESOS_CACHE`, else
`${XDG_CACHE_HOME:-~/.cache}/mesos-maintenance/real-mesos/<KEY>`; KEY changes whenever the
recipe or the shim's source does, so a stale cache is never used. Each step is idempotent and
the directory is marked ready only at the end; a lock file keeps parallel pytest workers from
installing at the same time (the others wait, then find it ready). Warm, `ensure()` is a few
stat calls.

Run it directly to warm the cache and see the timings::

    .venv/bin/python tests/real_mesos/install.py
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

MESOS_VERSION = "1.11.0"
# Bump when the recipe below changes in a way the cache key would not see.
RECIPE_REVISION = "1"

APT_PACKAGES = ("libapr1", "libsvn1", "libcurl4")
# Libraries the egg needs from apt, as the dynamic loader names them.
APT_LIBRARIES = ("libapr-1.so.0", "libsvn_delta-1.so.1", "libsvn_subr-1.so.1", "libcurl.so.4")
VIRTUALENV = "virtualenv<20.22"
PROTOBUF = "protobuf<3.18"
EGG = f"mesos.scheduler=={MESOS_VERSION}"
OPENSSL_WHEEL = "psycopg2-binary==2.7.7"

HERE = Path(__file__).resolve().parent
SHIM_SOURCES = (HERE / "curl_shim.c", HERE / "curl_shim.map")
LAUNCHER = HERE / "launcher.py"


class Unavailable(Exception):
    """This machine cannot run the egg at all (the tests that need it are skipped)."""


class SetupError(Exception):
    """Installing failed; the message says which step and shows its output."""


@dataclass(frozen=True)
class Installation:
    root: Path
    python: Path  # the Python 2.7 venv's interpreter, with the egg installed
    lib_dir: Path  # LD_LIBRARY_PATH for the launcher: OpenSSL 1.0 pair + curl shim
    launcher: Path = LAUNCHER


def unavailable_reason() -> str | None:
    """Why this machine can never run the egg, or None. The egg is a Linux x86_64 build."""
    if sys.platform != "linux" or platform.machine() not in ("x86_64", "AMD64"):
        return (
            f"real Mesos needs Linux x86_64 (the mesos.scheduler {MESOS_VERSION} egg is a linux-x86_64 build);"
            f" this machine is {sys.platform}/{platform.machine()}"
        )
    return None


def cache_key() -> str:
    digest = hashlib.sha256(RECIPE_REVISION.encode())
    for path in SHIM_SOURCES:
        digest.update(path.read_bytes())
    return f"{MESOS_VERSION}-{digest.hexdigest()[:12]}"


def cache_root() -> Path:
    explicit = os.environ.get("MESOS_MAINTENANCE_REAL_MESOS_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "mesos-maintenance" / "real-mesos"


def installation(root: Path) -> Installation:
    return Installation(root=root, python=root / "py27" / "bin" / "python", lib_dir=root / "lib")


def ensure(log=None) -> Installation:
    """Return a ready installation, installing it first when needed."""
    reason = unavailable_reason()
    if reason:
        raise Unavailable(reason)
    root = cache_root() / cache_key()
    if _is_ready(root):
        return installation(root)
    root.parent.mkdir(parents=True, exist_ok=True)
    with _locked(root.parent / f"{root.name}.lock"):
        if not _is_ready(root):  # another worker may have finished while we waited
            _install(root, log or (lambda message: None))
    return installation(root)


def _is_ready(root: Path) -> bool:
    if not (root / "ready.json").is_file():
        return False
    found = _missing_libraries()
    return not found


@contextlib.contextmanager
def _locked(path: Path):
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# --- the steps ------------------------------------------------------------------------------
def _install(root: Path, log) -> None:
    root.mkdir(parents=True, exist_ok=True)
    timings = {}
    for name, step in (
        ("apt", _apt),
        ("python27", _python27_venv),
        ("egg", _egg),
        ("openssl", _openssl),
        ("curl_shim", _curl_shim),
        ("load_check", _load_check),
    ):
        started = time.monotonic()
        log(f"real-mesos: {name}...")
        step(root)
        timings[name] = round(time.monotonic() - started, 2)
        log(f"real-mesos: {name} done in {timings[name]} s")
    record = {"mesos": MESOS_VERSION, "key": root.name, "timings_s": timings, "installed": time.time()}
    tmp = root / "ready.json.tmp"
    tmp.write_text(json.dumps(record, indent=2) + "\n")
    tmp.replace(root / "ready.json")


def _run(step: str, cmd: list, **kwargs) -> str:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, check=False, **kwargs)
    except OSError as exc:
        raise SetupError(f"{step}: cannot run {cmd[0]}: {exc}") from exc
    if done.returncode != 0:
        output = (done.stdout + done.stderr).strip()
        raise SetupError(f"{step}: `{' '.join(map(str, cmd))}` exited {done.returncode}:\n{output[-4000:]}")
    return done.stdout


def _stamp(root: Path, name: str) -> Path:
    return root / f".done-{name}"


def _missing_libraries() -> list[str]:
    dirs = ("/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64", "/usr/lib", "/lib")
    return [lib for lib in APT_LIBRARIES if not any(os.path.exists(os.path.join(d, lib)) for d in dirs)]


def _apt(root: Path) -> None:
    if not _missing_libraries():
        return
    if shutil.which("apt-get") is None:
        raise SetupError(f"apt: {', '.join(_missing_libraries())} missing and no apt-get; install {APT_PACKAGES}")
    prefix = []
    if os.geteuid() != 0:
        if shutil.which("sudo") is None:
            raise SetupError(f"apt: not root and no sudo; run `apt-get install {' '.join(APT_PACKAGES)}` as root")
        prefix = ["sudo", "-n"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    # Wait for a dpkg lock someone else holds instead of failing at once.
    install = [*prefix, "apt-get", "-o", "DPkg::Lock::Timeout=600", "install", "-y", "-q", "--no-install-recommends"]
    try:
        _run("apt", [*install, *APT_PACKAGES], env=env)
    except SetupError:
        # A fresh machine may have empty package lists.
        _run("apt", [*prefix, "apt-get", "-o", "DPkg::Lock::Timeout=600", "update", "-q"], env=env)
        _run("apt", [*install, *APT_PACKAGES], env=env)
    missing = _missing_libraries()
    if missing:
        raise SetupError(f"apt: installed {APT_PACKAGES} but still no {missing}")


def find_python27() -> str:
    """Python 2.7 from MESOS_MAINTENANCE_PYTHON27, pyenv, or PATH."""
    explicit = os.environ.get("MESOS_MAINTENANCE_PYTHON27")
    if explicit:
        return explicit
    roots = []
    if shutil.which("pyenv"):
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            roots.append(subprocess.run(["pyenv", "root"], capture_output=True, text=True).stdout.strip())
    roots += [os.environ.get("PYENV_ROOT", ""), os.path.expanduser("~/.pyenv")]
    for pyenv_root in filter(None, roots):
        found = sorted(glob.glob(os.path.join(pyenv_root, "versions", "2.7*", "bin", "python2.7")))
        if found:
            return found[-1]
    for name in ("python2.7", "python2"):
        path = shutil.which(name)
        if path and "shims" not in path:
            return path
    raise SetupError(
        "python27: no Python 2.7 (the egg is a CPython 2.7 extension); install it with `pyenv install 2.7.18`"
        " or point MESOS_MAINTENANCE_PYTHON27 at one"
    )


def _pip(root: Path, step: str, args: list) -> str:
    """pip of the Python running this script (it has to be a Python 3 with pip)."""
    return _run(step, [sys.executable, "-m", "pip", "--disable-pip-version-check", *args])


def _python27_venv(root: Path) -> None:
    venv = root / "py27"
    if _stamp(root, "python27").exists():
        return
    python27 = find_python27()
    tool = root / "virtualenv-tool"
    if not (tool / "virtualenv").is_dir():
        _pip(root, "python27", ["install", "-q", "--target", str(tool), VIRTUALENV])
    shutil.rmtree(venv, ignore_errors=True)
    env = {**os.environ, "PYTHONPATH": str(tool)}
    _run(
        "python27",
        [
            sys.executable,
            "-m",
            "virtualenv",
            "-q",
            "--no-periodic-update",
            "--app-data",
            str(root / "virtualenv-data"),
            "-p",
            python27,
            str(venv),
        ],
        env=env,
    )
    _stamp(root, "python27").touch()


def _egg(root: Path) -> None:
    if _stamp(root, "egg").exists():
        return
    python = str(installation(root).python)
    _run("egg", [python, "-m", "pip", "install", "-q", "--disable-pip-version-check", PROTOBUF])
    index = []
    if os.environ.get("PIP_INDEX_URL"):
        index = ["-i", os.environ["PIP_INDEX_URL"]]
    # easy_install: the egg has no wheel and pip cannot install an egg.
    _run("egg", [python, "-m", "easy_install", "-q", *index, EGG], env={**os.environ, "PYTHONWARNINGS": "ignore"})
    _stamp(root, "egg").touch()


def _openssl(root: Path) -> None:
    lib = root / "lib"
    if (lib / "libssl.so.1.0.0").exists() and (lib / "libcrypto.so.1.0.0").exists():
        return
    download = root / "download"
    download.mkdir(exist_ok=True)
    wheels = sorted(download.glob("psycopg2_binary-*.whl"))
    if not wheels:
        _pip(
            root,
            "openssl",
            [
                "download",
                "-q",
                "--no-deps",
                "--only-binary=:all:",
                "--platform",
                "manylinux1_x86_64",
                "--python-version",
                "27",
                "--implementation",
                "cp",
                "--abi",
                "cp27mu",
                "-d",
                str(download),
                OPENSSL_WHEEL,
            ],
        )
        wheels = sorted(download.glob("psycopg2_binary-*.whl"))
    if not wheels:
        raise SetupError(f"openssl: pip download of {OPENSSL_WHEEL} left no wheel in {download}")
    lib.mkdir(exist_ok=True)
    # The wheel's .libs are OpenSSL 1.0.2q and what it links (Kerberos, zlib...) under
    # auditwheel's hashed names; libssl finds its libcrypto and the rest by those names.
    with zipfile.ZipFile(wheels[0]) as wheel:
        for member in wheel.namelist():
            name = os.path.basename(member)
            if not member.startswith("psycopg2/.libs/") or not name or name.startswith("libpq"):
                continue
            target = lib / name
            with wheel.open(member) as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst)
            target.chmod(0o755)
    for soname, pattern in (("libssl.so.1.0.0", "libssl-*.so.1.0.*"), ("libcrypto.so.1.0.0", "libcrypto-*.so.1.0.*")):
        found = sorted(lib.glob(pattern))
        if not found:
            raise SetupError(f"openssl: {wheels[0].name} has no {pattern}")
        link = lib / soname
        with contextlib.suppress(FileNotFoundError):
            link.unlink()
        # A symlink, not a copy: the loader sees one file under both names and maps it once.
        link.symlink_to(found[0].name)


def system_libcurl() -> str:
    out = _run("curl_shim", ["/sbin/ldconfig", "-p"]) if os.path.exists("/sbin/ldconfig") else ""
    for line in out.splitlines():
        name, _, path = line.strip().partition(" => ")
        if name.startswith("libcurl.so.4 ") and "x86-64" in name:
            return path.strip()
    for directory in ("/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu"):
        candidate = os.path.join(directory, "libcurl.so.4")
        if os.path.exists(candidate):
            return candidate
    raise SetupError("curl_shim: no system libcurl.so.4 (apt-get install libcurl4)")


def _curl_shim(root: Path) -> None:
    target = root / "lib" / "libcurl.so.4"
    if target.exists():
        return
    if shutil.which("gcc") is None:
        raise SetupError("curl_shim: gcc is needed to build the libcurl shim (apt-get install gcc)")
    source, version_script = SHIM_SOURCES
    tmp = target.with_suffix(".tmp")
    _run(
        "curl_shim",
        [
            "gcc",
            "-shared",
            "-fPIC",
            "-O2",
            "-Wall",
            f'-DSYSTEM_LIBCURL="{system_libcurl()}"',
            f"-Wl,--version-script={version_script}",
            "-Wl,-soname,libcurl.so.4",
            "-o",
            str(tmp),
            str(source),
            "-ldl",
        ],
    )
    tmp.replace(target)


def _load_check(root: Path) -> None:
    """Import the egg once the way the launcher does, so a broken install fails here, clearly."""
    inst = installation(root)
    env = {**os.environ, "LD_LIBRARY_PATH": str(inst.lib_dir)}
    code = "import pkg_resources; from mesos.scheduler import MesosSchedulerDriver; print('ok')"
    out = _run("load_check", [str(inst.python), "-c", code], env=env)
    if "ok" not in out:
        raise SetupError(f"load_check: importing the egg printed {out!r}")


def main() -> int:
    started = time.monotonic()
    try:
        inst = ensure(log=lambda message: print(message, file=sys.stderr, flush=True))
    except Unavailable as exc:
        print(f"real-mesos: unavailable here: {exc}", file=sys.stderr)
        return 2
    except SetupError as exc:
        print(f"real-mesos: setup failed: {exc}", file=sys.stderr)
        return 1
    print(json.dumps({"root": str(inst.root), "seconds": round(time.monotonic() - started, 2)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
