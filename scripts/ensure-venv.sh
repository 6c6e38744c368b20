#!/usr/bin/env bash
# Create or update a virtual environment from PyPI; do nothing when nothing changed.
#
#   scripts/ensure-venv.sh VENV "PYTHON_VERSIONS" REQUIREMENTS [EDITABLE_DIR ...]
#
#   VENV             directory of the venv (.venv, .venv-2.17)
#   PYTHON_VERSIONS  wanted X.Y versions in order of preference ("3.13 3.12")
#   REQUIREMENTS     pip requirements file
#   EDITABLE_DIR     project directories installed with `pip install -e`; one without a
#                    pyproject.toml/setup.py yet is skipped with a notice
#
# The venv keeps a stamp file holding a hash of the interpreter, the requirements file,
# each editable project's metadata and this script. When the stamp matches, the venv is
# left alone (a warm `make` costs well under a second); otherwise pip installs what is
# missing. A venv built on another Python X.Y than the one found is rebuilt from scratch.
set -euo pipefail

if [ "$#" -lt 3 ]; then
    echo "usage: $0 VENV \"X.Y [X.Y ...]\" REQUIREMENTS [EDITABLE_DIR ...]" >&2
    exit 2
fi

venv=$1
versions=$2
requirements=$3
shift 3
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
stamp="$venv/.mesos-maintenance-stamp"

# shellcheck disable=SC2086  # versions is a word list on purpose
python=$("$here/find-python.sh" $versions)
python_id=$("$python" -c 'import sys; print(sys.executable, "%d.%d.%d" % sys.version_info[:3])')
python_xy=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')

editable_meta() {
    # the files whose change means the editable project must be reinstalled
    local dir=$1 f
    for f in "$dir/pyproject.toml" "$dir/setup.py" "$dir/setup.cfg"; do
        if [ -f "$f" ]; then
            printf '%s\n' "$f"
            cat "$f"
        fi
    done
}

key=$(
    {
        printf 'python %s\n' "$python_id"
        printf 'requirements %s\n' "$requirements"
        cat "$requirements"
        for dir in "$@"; do
            printf 'editable %s\n' "$dir"
            editable_meta "$dir"
        done
        cat "${BASH_SOURCE[0]}"
    } | sha256sum | cut -d' ' -f1
)

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$key" ] && [ -x "$venv/bin/python" ]; then
    echo "$venv: up to date (Python $python_xy)"
    exit 0
fi

# An existing venv on another Python X.Y, or a broken one, is rebuilt.
if [ -e "$venv" ]; then
    have_xy=$("$venv/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null || echo none)
    if [ "$have_xy" != "$python_xy" ]; then
        echo "$venv: Python $have_xy found, $python_xy wanted: rebuilding"
        rm -rf "$venv"
    fi
fi
if [ ! -e "$venv" ]; then
    echo "$venv: creating with $python"
    "$python" -m venv "$venv"
fi

# pip prints a warning for every package missing from the machine-wide extra file:// indexes
# some machines configure; they are noise, the rest of pip's output is kept.
pip_install() {
    local log rc=0
    log=$(mktemp)
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$@" >"$log" 2>&1 || rc=$?
    grep -v -e 'is ignored: it is neither a file nor a directory' "$log" || true
    rm -f "$log"
    return "$rc"
}

echo "$venv: installing $requirements"
rm -f "$stamp"
pip_install --upgrade pip
pip_install -r "$requirements"
for dir in "$@"; do
    if [ -f "$dir/pyproject.toml" ] || [ -f "$dir/setup.py" ]; then
        echo "$venv: installing $dir (editable)"
        pip_install -e "$dir"
    else
        echo "$venv: NOTE: $dir has no pyproject.toml or setup.py yet: not installed"
    fi
done
printf '%s\n' "$key" >"$stamp"
echo "$venv: ready (Python $python_xy)"
