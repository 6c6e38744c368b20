"""Provide ansible-test's pip bootstrap script without its download host.

Run with the Python of the venv that holds ansible-core::

    .venv/bin/python scripts/ansible_test_pip_bootstrap.py

Every ``ansible-test sanity/units --venv`` run first bootstraps pip into a fresh venv
with ``get-pip-<version>.py`` downloaded from a host that only ansible-test uses. It
looks for a cached copy at ``~/.ansible/test/cache/get_pip_<version>.py`` first, with
the version from ``ansible_test/_internal/python_requirements.py`` (``pip='25.2'`` for
ansible-core 2.21, ``'24.2'`` for 2.19, ``'23.1.2'`` for 2.17).

This script puts a small stand-in there: it installs pip from the pip wheel of that
version, fetched once from PyPI with ``pip download pip==<version> --no-deps`` and kept
next to it. The stand-in accepts what ansible-test passes to the real script: pip
requirement specifiers (``pip==25.2``, ``setuptools==67.7.2``, ...) and ``--no-setuptools``
/ ``--no-wheel``; ``pip==<version>`` is served from the wheel, anything else comes from
the package index pip is configured for.
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

MARKER = "# mesos.maintenance get-pip stand-in"

STAND_IN = '''\
{marker}
"""Stand-in for ansible-test's get-pip-{version}.py: install pip from a local wheel.

Written by scripts/ansible_test_pip_bootstrap.py; safe to delete (it is recreated).
"""

import os
import shutil
import sys
import tempfile
import zipfile

WHEEL = {wheel!r}


def main():
    args = [arg for arg in sys.argv[1:] if arg not in ("--no-setuptools", "--no-wheel")]
    args = [WHEEL if arg.split("==")[0].strip().lower() == "pip" else arg for arg in args]
    if WHEEL not in args:
        args.append(WHEEL)
    # pip runs from the unpacked wheel, as the real get-pip.py does with its embedded copy.
    tmpdir = tempfile.mkdtemp(prefix="get-pip-")
    try:
        with zipfile.ZipFile(WHEEL) as wheel:
            wheel.extractall(tmpdir)
        sys.path.insert(0, tmpdir)
        from pip._internal.cli.main import main as pip_main

        return pip_main(["install", "--upgrade", "--force-reinstall", "--no-cache-dir"] + args)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
'''


def ansible_test_pip_version() -> str:
    """Return the pip version the installed ansible-test bootstraps its venvs with."""
    spec = importlib.util.find_spec("ansible_test")
    if spec is None or not spec.submodule_search_locations:
        sys.exit(f"{sys.executable}: ansible-test (ansible-core) is not installed")
    source = Path(next(iter(spec.submodule_search_locations)), "_internal", "python_requirements.py")
    match = re.search(r"""\bpip=['"]([0-9][0-9.]*)['"]""", source.read_text(encoding="utf-8"))
    if not match:
        sys.exit(f"cannot find the bootstrap pip version in {source}")
    return match.group(1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=Path("~/.ansible/test/cache").expanduser(),
        help="ansible-test's cache directory (default: %(default)s)",
    )
    args = parser.parse_args()

    version = ansible_test_pip_version()
    cache_dir: Path = args.cache_dir
    script = cache_dir / f"get_pip_{version.replace('.', '_')}.py"
    wheel = cache_dir / f"pip-{version}-py3-none-any.whl"

    if script.exists() and not script.read_text(encoding="utf-8").startswith(MARKER):
        print(f"{script}: present (not ours), kept")
        return 0
    if script.exists() and wheel.exists():
        print(f"{script}: up to date")
        return 0

    cache_dir.mkdir(parents=True, exist_ok=True)
    if not wheel.exists():
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--disable-pip-version-check",
                "--no-deps",
                "--only-binary=:all:",
                "--dest",
                str(cache_dir),
                f"pip=={version}",
            ],
            check=True,
        )
        if not wheel.exists():
            sys.exit(f"pip download did not produce {wheel}")

    tmp = script.with_suffix(".tmp")
    tmp.write_text(STAND_IN.format(marker=MARKER, version=version, wheel=str(wheel)), encoding="utf-8")
    tmp.replace(script)
    print(f"{script}: written (installs pip {version} from {wheel.name})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
