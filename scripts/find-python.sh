#!/usr/bin/env bash
# Print the path of a working Python interpreter for the first version given that is found.
#
#   scripts/find-python.sh 3.13 3.12   -> /root/.pyenv/versions/3.13.0/bin/python3.13
#
# Looks in pyenv's versions (`pyenv root`, $PYENV_ROOT or ~/.pyenv), then /usr/local/bin,
# /usr/bin and PATH. pyenv shims are never returned as such: a candidate must run, report
# the wanted version and be able to create a venv (venv + ensurepip importable).
set -euo pipefail

if [ "$#" -eq 0 ]; then
    echo "usage: $0 X.Y [X.Y ...]" >&2
    exit 2
fi

# pyenv installs: `pyenv root`, $PYENV_ROOT, ~/.pyenv (CI runs as root: /root/.pyenv)
pyenv_roots=()
if command -v pyenv >/dev/null 2>&1; then
    pyenv_roots+=("$(pyenv root 2>/dev/null || true)")
fi
pyenv_roots+=("${PYENV_ROOT:-}" "$HOME/.pyenv" /root/.pyenv)

works() {
    # $1: candidate interpreter, $2: wanted X.Y
    [ -x "$1" ] || return 1
    "$1" - "$2" >/dev/null 2>&1 <<'PY'
import sys
import ensurepip  # noqa: F401  (venv needs it to bootstrap pip)
import venv  # noqa: F401
sys.exit(0 if "%d.%d" % sys.version_info[:2] == sys.argv[1] else 1)
PY
}

for want in "$@"; do
    candidates=()
    for root in "${pyenv_roots[@]}"; do
        if [ -n "$root" ] && [ -d "$root/versions" ]; then
            # newest patch release first
            while IFS= read -r dir; do
                candidates+=("$dir/bin/python$want")
            done < <(find "$root/versions" -mindepth 1 -maxdepth 1 -name "$want.*" | sort -rV)
        fi
    done
    candidates+=("/usr/local/bin/python$want" "/usr/bin/python$want")
    if path_python=$(command -v "python$want" 2>/dev/null); then
        candidates+=("$path_python")
    fi
    for candidate in "${candidates[@]}"; do
        if works "$candidate" "$want"; then
            # resolve a shim or symlink to the interpreter it really runs
            "$candidate" -c 'import sys; print(sys.executable)'
            exit 0
        fi
    done
done

echo "$0: no usable Python found for version(s): $*" >&2
exit 1
