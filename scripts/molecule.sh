#!/usr/bin/env bash
# Run the molecule scenarios of mesos.maintenance (top-level molecule/) on podman.
#
#   scripts/molecule.sh                 every scenario: default, uninstall, bad_module
#   scripts/molecule.sh default         one scenario (molecule test -s NAME)
#   MOLECULE_ACTION=converge scripts/molecule.sh default   another molecule action
#
# Installs what it needs when it is missing: Debian's podman, runc, debootstrap, zookeeper
# and gcc (apt-get, as root), a venv .venv-molecule (Python 3.13/3.12 from pyenv) with
# molecule/requirements.txt, the local systemd image (molecule/_shared/build-image.sh, kept
# until its recipe changes) and the collections/ link through which Ansible finds this
# collection.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
venv=.venv-molecule
requirements=molecule/requirements.txt

missing=()
for tool in podman runc debootstrap gcc; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
[ -f /usr/share/java/zookeeper.jar ] || missing+=(zookeeper)
if [ "${#missing[@]}" -gt 0 ]; then
    echo "molecule.sh: installing ${missing[*]} (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq podman runc debootstrap zookeeper gcc uidmap slirp4netns >/dev/null
fi

stamp="$venv/.requirements.sha256"
want=$(sha256sum "$requirements" | cut -c1-64)
if [ ! -x "$venv/bin/molecule" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    python=$(scripts/find-python.sh 3.13 3.12)
    rm -rf "$venv"
    "$python" -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check -r "$requirements"
    echo "$want" >"$stamp"
fi

molecule/_shared/build-image.sh

link=collections/ansible_collections/mesos/maintenance
if [ "$(readlink "$link" 2>/dev/null)" != "../../.." ]; then
    rm -rf collections
    mkdir -p "$(dirname "$link")"
    ln -s ../../.. "$link"
fi

# Scenarios stay in the top-level molecule/: with MOLECULE_GLOB set, molecule 26 neither looks
# in extensions/molecule/ nor warns that the scenarios "should migrate" there.
export MOLECULE_GLOB='molecule/*/molecule.yml'
export ANSIBLE_COLLECTIONS_PATH="$root/collections"
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
