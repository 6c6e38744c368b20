#!/usr/bin/env bash
# Run `ansible-test sanity` or `ansible-test units` on the collection as it is built.
#
#   scripts/ansible-test.sh VENV sanity|units [ansible-test options ...]
#
#   scripts/ansible-test.sh .venv-2.17 sanity      # oldest: ansible-core 2.17, Python 3.11
#   scripts/ansible-test.sh .venv units            # newest: ansible-core 2.21, Python 3.13
#   scripts/ansible-test.sh .venv sanity --test validate-modules -v
#
# ansible-test wants the collection at .../ansible_collections/mesos/maintenance with a
# git repository at that root. So this builds the artifact with `ansible-galaxy
# collection build`, unpacks it into a temporary tree, copies in what ansible-test tests
# but the artifact leaves out (tests/unit, tests/sanity, tests/integration,
# tests/config.yml), commits it in a throwaway git repository and runs
#
#   ansible-test COMMAND --venv --python X.Y
#
# with the X.Y of VENV's Python (or $TEST_PYTHON, for target-side tests such as compile and
# import on an older Python; skipped with a notice when that Python is not installed).
# Sanity therefore sees exactly what users install.
# ansible-test's own requirements come from PyPI; its pip bootstrap script is provided
# by scripts/ansible_test_pip_bootstrap.py (its download host is not reachable).
#
# The tree lives in $ANSIBLE_TEST_TREES (default ${TMPDIR:-/tmp}/mesos.maintenance-ansible-test-UID)
# and its path is printed; it stays after the run for inspection and is rebuilt by the next.
#
# Environment:
#   TEST_PYTHON=X.Y      run on this Python instead of VENV's (target-side tests only)
#   FRESH=1              also drop ansible-test's cached delegation venv (a cold run)
#   ANSIBLE_TEST_TREES   where the trees live
set -euo pipefail

if [ "$#" -lt 2 ]; then
    echo "usage: $0 VENV sanity|units [ansible-test options ...]" >&2
    exit 2
fi
venv=$1
command=$2
shift 2
case "$command" in
    sanity | units) ;;
    *)
        echo "$0: command must be sanity or units, not '$command'" >&2
        exit 2
        ;;
esac

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
venv=$(cd "$venv" && pwd)
python_xy=$("$venv/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
core_version=$("$venv/bin/python" -c 'from ansible.release import __version__; print(__version__)')
test_python=${TEST_PYTHON:-$python_xy}
if [ "$test_python" != "$python_xy" ]; then
    # Target-side tests (compile, import) on another Python: ansible-test looks for
    # pythonX.Y on PATH, so put the real interpreter (not a pyenv shim) first.
    if ! target_python=$("$here/find-python.sh" "$test_python" 2>/dev/null); then
        echo "ansible-test $command: NOTE: Python $test_python not found on this machine: SKIPPED"
        exit 0
    fi
    PATH="$(dirname "$target_python"):$PATH"
    export PATH
fi
label="ansible-core $core_version, Python $test_python"

"$venv/bin/python" "$here/ansible_test_pip_bootstrap.py"

# The tree is rebuilt from scratch on every run, at a fixed place per (checkout, venv,
# command): only ansible-test's delegation venv (tests/output/.tmp/delegation) is carried
# over, so that a warm run does not re-create it and re-install its requirements.
python_real=$("$venv/bin/python" -c 'import os, sys; print(os.path.realpath(sys.executable))')
key=$(printf '%s\n' "$repo" "$venv" "$python_real" "$core_version" "$command" "$test_python" | sha256sum | cut -c1-16)
trees=${ANSIBLE_TEST_TREES:-${TMPDIR:-/tmp}/mesos.maintenance-ansible-test-$(id -u)}
work="$trees/$key"
tree="$work/ansible_collections/mesos/maintenance"
delegation="$tree/tests/output/.tmp/delegation"
kept="$work/delegation"
mkdir -p "$work"
printf '%s\n' "$repo" "$venv" "$command" "$test_python" >"$work/owner"
exec 9>"$work/lock"
flock 9 # one run at a time per tree

rm -rf "$kept"
if [ "${FRESH:-0}" != 1 ] && [ -d "$delegation" ]; then
    mv "$delegation" "$kept"
fi
rm -rf "$tree" "$work/dist"
mkdir -p "$tree" "$work/dist"

# 1. The artifact, as users get it.
"$venv/bin/ansible-galaxy" collection build --output-path "$work/dist" "$repo" >/dev/null
tar -xzf "$work"/dist/*.tar.gz -C "$tree"

# 2. The tests ansible-test runs or checks, which the artifact leaves out.
mkdir -p "$tree/tests"
for item in tests/unit tests/sanity tests/integration tests/config.yml; do
    if [ -e "$repo/$item" ]; then
        (cd "$repo" && tar -cf - --exclude=__pycache__ --exclude='*.pyc' --exclude=.pytest_cache "$item") |
            tar -xf - -C "$tree"
    fi
done

# 3. A git repository at the collection root: ansible-test lists the files to test with git;
#    .gitignore keeps its own output and any venvs out of that list.
printf '%s\n' 'tests/output/' '.tox/' 'collections/' '__pycache__/' '*.pyc' >"$tree/.gitignore"
git -C "$tree" init --quiet
git -C "$tree" add --all
git -C "$tree" -c user.name=ansible-test -c user.email=ansible-test@localhost.invalid \
    -c commit.gpgsign=false commit --quiet --no-verify --message "mesos.maintenance snapshot for ansible-test"

# 4. Run.
if [ -d "$kept" ]; then
    mkdir -p "$(dirname "$delegation")"
    mv "$kept" "$delegation"
fi
cd "$tree"
echo "ansible-test $command --venv --python $test_python $* ($label)"
echo "tree: $tree"
log="$work/ansible-test.log"
rc=0
"$venv/bin/ansible-test" "$command" --venv --python "$test_python" "$@" 2>&1 | tee "$log" || rc=$?
if [ "$rc" -ne 0 ]; then
    echo "ansible-test $command ($label): FAILED (exit $rc)" >&2
    exit "$rc"
fi
if grep -q 'All targets skipped' "$log"; then
    # ansible-test exits 0 when it finds nothing to run (e.g. no tests/unit/**/test_*.py):
    # say so plainly instead of letting that pass for a green run.
    echo "ansible-test $command ($label): NOTHING RAN (no targets; for units: no test_*.py under tests/unit)"
else
    echo "ansible-test $command ($label): passed"
fi
