"""Build the collection artifact and check that it holds what users need and nothing else.

Run with the Python of the venv that holds ansible-core, from anywhere::

    .venv/bin/python scripts/check_build.py [--keep DIR]

It runs ``ansible-galaxy collection build`` into a temporary directory (the repository
stays clean), lists the tarball and fails when a development-only path leaked in
(tests, simulator, venvs, caches, CI and tool configuration...), when a file users need
is missing, or when MANIFEST.json does not say what galaxy.yml should.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# fnmatch patterns against member paths; a pattern for a directory also matches what is under it.
FORBIDDEN = [
    ".git",
    ".gitignore",
    ".github",
    ".ci",
    ".ansible-lint",
    ".yamllint*",
    "ruff.toml",
    "pytest.ini",
    "tox*.ini",
    "Makefile",
    "scripts",
    "requirements-dev.txt",
    ".venv*",
    ".tox",
    ".cache",
    ".ruff_cache",
    ".pytest_cache",
    ".mypy_cache",
    ".ansible",
    "collections",
    "build",
    "dist",
    "tests",
    "simulator",
    "benchmarks",
    "molecule",
    "roles/*/molecule",
    ".config",
    "changelogs/fragments",
    "changelogs/.plugin-cache.yaml",
    # anywhere in the tree
    "*/__pycache__",
    "__pycache__",
    "*.pyc",
    "*.egg-info",
    "*.tar.gz",
    "*.retry",
    "*.swp",
]

REQUIRED = [
    "MANIFEST.json",
    "FILES.json",
    "README.md",
    "LICENSE",
    "meta/runtime.yml",
    "meta/execution-environment.yml",
    "meta/ee-requirements.txt",
    "changelogs/changelog.yaml",
]

EXPECTED_INFO = {
    "namespace": "mesos",
    "name": "maintenance",
    "license": ["GPL-3.0-or-later"],
}


def forbidden_reason(member: str) -> str | None:
    """Return the pattern that forbids this member path, or None."""
    parts = member.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for pattern in FORBIDDEN:
        for prefix in prefixes:
            if fnmatch.fnmatchcase(prefix, pattern):
                return pattern
    return None


def build(output: Path) -> Path:
    """Build the artifact into output and return the tarball's path."""
    galaxy = Path(sys.executable).parent / "ansible-galaxy"
    subprocess.run(
        [str(galaxy), "collection", "build", "--output-path", str(output), str(REPO)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    tarballs = sorted(output.glob("*.tar.gz"))
    if len(tarballs) != 1:
        sys.exit(f"expected one tarball in {output}, found {tarballs}")
    return tarballs[0]


def check(tarball: Path) -> list[str]:
    """Return the problems found in the tarball."""
    problems = []
    with tarfile.open(tarball) as tar:
        members = {member.name.rstrip("/"): member for member in tar.getmembers()}
        for name in sorted(members):
            reason = forbidden_reason(name)
            if reason:
                problems.append(f"{name}: development-only path in the artifact (matches {reason!r})")
        for name in REQUIRED:
            if name not in members:
                problems.append(f"{name}: missing from the artifact")
        if "MANIFEST.json" in members:
            extracted = tar.extractfile(members["MANIFEST.json"])
            assert extracted is not None
            info = json.load(extracted)["collection_info"]
            for key, value in EXPECTED_INFO.items():
                if info.get(key) != value:
                    problems.append(f"MANIFEST.json: collection_info.{key} is {info.get(key)!r}, expected {value!r}")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", type=Path, help="build into this directory and keep the tarball")
    args = parser.parse_args()

    output = args.keep or Path(tempfile.mkdtemp(prefix="mesos.maintenance-build-"))
    output.mkdir(parents=True, exist_ok=True)
    try:
        tarball = build(output)
        problems = check(tarball)
        with tarfile.open(tarball) as tar:
            count = sum(1 for member in tar.getmembers() if member.isfile())
        size = tarball.stat().st_size
    finally:
        if not args.keep:
            shutil.rmtree(output, ignore_errors=True)

    if problems:
        print(f"collection build check: {len(problems)} problem(s) in {tarball.name}:")
        for problem in problems:
            print(f"  {problem}")
        return 1
    print(f"collection build check: {tarball.name} OK ({count} files, {size} bytes, no development-only paths)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
