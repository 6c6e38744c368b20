#!/usr/bin/env bash
# Run the molecule scenarios of mesos.maintenance (top-level molecule/) on podman.
#
#   scripts/molecule.sh                 every scenario: default, uninstall, bad_module
#   scripts/molecule.sh default         one scenario (molecule test -s NAME)
#   scripts/molecule.sh --prepare       only get ready (what `make test` starts in the background)
#   MOLECULE_ACTION=converge scripts/molecule.sh default   another molecule action
#
# Gets ready first, each step skipped when nothing changed: Debian's podman, runc, debootstrap
# (scripts/system-deps.sh), the venv .venv-molecule (molecule/requirements.txt), the collections
# the podman driver needs, the local systemd image (molecule/_shared/build-image.sh) and the
# collections/ link through which Ansible finds this collection.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
venv=.venv-molecule
# containers.podman (the driver's modules) and ansible.posix (profile_tasks) come from this wheel.
ansible_package=ansible==14.5.0
extra_collections=(containers/podman ansible/posix)
extra_path=$venv/collections

prepare_only=0
if [ "${1:-}" = --prepare ]; then
    prepare_only=1
    shift
fi

scripts/system-deps.sh
scripts/ensure-venv.sh "$venv" "3.13 3.12" molecule/requirements.txt

# Only the collections' directories are unpacked from the wheel; a stamp names the wheel they came from.
stamp="$extra_path/.from"
if [ "$(cat "$stamp" 2>/dev/null)" != "$ansible_package ${extra_collections[*]}" ]; then
    echo "$venv: unpacking ${extra_collections[*]} from $ansible_package"
    download=$(mktemp -d)
    "$venv/bin/python" -m pip download --quiet --disable-pip-version-check --no-deps \
        --dest "$download" "$ansible_package" 2>&1 | grep -v 'is ignored: it is neither' || true
    rm -rf "$extra_path"
    mkdir -p "$extra_path"
    "$venv/bin/python" - "$extra_path" "${extra_collections[@]}" "$download"/ansible-*.whl <<'PY'
import sys
import zipfile

target, collections, wheel = sys.argv[1], sys.argv[2:-1], sys.argv[-1]
prefixes = tuple("ansible_collections/%s/" % name for name in collections)
with zipfile.ZipFile(wheel) as archive:
    archive.extractall(target, [name for name in archive.namelist() if name.startswith(prefixes)])
PY
    rm -rf "$download"
    echo "$ansible_package ${extra_collections[*]}" >"$stamp"
fi

molecule/_shared/build-image.sh

link=collections/ansible_collections/mesos/maintenance
if [ "$(readlink "$link" 2>/dev/null)" != "../../.." ]; then
    rm -rf "$link"
    mkdir -p "$(dirname "$link")"
    ln -s ../../.. "$link"
fi
[ "$prepare_only" = 0 ] || exit 0

# Scenarios stay in the top-level molecule/: with MOLECULE_GLOB set, molecule 26 neither looks
# in extensions/molecule/ nor warns that the scenarios "should migrate" there.
export MOLECULE_GLOB='molecule/*/molecule.yml'
export ANSIBLE_COLLECTIONS_PATH="$root/collections:$root/$extra_path"
# profile_tasks: each task's time in the log, to keep the scenarios' duration in view.
export ANSIBLE_CALLBACKS_ENABLED=ansible.posix.profile_tasks
# Pipelining: one podman exec per task instead of five.
export ANSIBLE_PIPELINING=1 ANSIBLE_FORCE_COLOR=0 PY_COLORS=0 ANSIBLE_NOCOLOR=1
export PATH="$root/$venv/bin:$PATH"

action=${MOLECULE_ACTION:-test}
scenarios=("$@")
[ "${#scenarios[@]}" -gt 0 ] || scenarios=(default uninstall bad_module)
for scenario in "${scenarios[@]}"; do
    start=$(date +%s)
    echo "=== molecule $action -s $scenario"
    molecule --base-config molecule/_shared/config.yml "$action" -s "$scenario"
    echo "=== molecule $action -s $scenario: passed in $(($(date +%s) - start))s"
done
