#!/usr/bin/env bash
# Demo: a simulated 3-master cluster with 20 agents running tasks, and a rolling maintenance of all
# of them in batches of 4 with a harmless maintenance step (playbooks/tasks/pause.yml).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
VENV=$REPO/.venv/bin
work=$(mktemp -d)
sim=""
trap '[ -n "$sim" ] && kill "$sim" 2>/dev/null; rm -rf "$work"' EXIT
"$VENV/mesos-sim" run --masters 3 --agents 20 --tasks 40 --task-duration 2 --state-file "$work/state.json" >"$work/sim.log" 2>&1 &
sim=$!
for _ in $(seq 100); do [ -s "$work/state.json" ] && break; sleep 0.1; done
mkdir -p "$work/collections/ansible_collections/mesos"
ln -s "$REPO" "$work/collections/ansible_collections/mesos/maintenance"
"$VENV/python" - "$work" <<'PY'
import json, sys, urllib.request
work = sys.argv[1]
state = json.load(open(f"{work}/state.json"))
req = urllib.request.Request(state["control"] + "/describe", data=b"{}", method="POST")
agents = json.load(urllib.request.urlopen(req))["result"]["agents"]
inventory = {"all": {"vars": {"mesos_master_url": ",".join(state["masters"]), "ansible_connection": "local",
                              "ansible_python_interpreter": sys.executable,
                              "agent_maintenance_memory_file": f"{work}/held-agents.json",
                              "agent_maintenance_wait_sleep": 0.5, "agent_maintenance_registration_sleep": 0.5},
                     "children": {"mesos_agents": {"hosts": {a["hostname"]: None for a in agents}}}}}
json.dump(inventory, open(f"{work}/inventory.json", "w"))
PY
export PATH="$VENV:$PATH" ANSIBLE_COLLECTIONS_PATH="$work/collections" ANSIBLE_FORKS=10 \
       ANSIBLE_LOCALHOST_WARNING=false ANSIBLE_DEPRECATION_WARNINGS=false ANSIBLE_DISPLAY_SKIPPED_HOSTS=false \
       ANSIBLE_DISPLAY_OK_HOSTS="${DEMO_VERBOSE:-true}" ANSIBLE_CALLBACK_RESULT_FORMAT=yaml
ansible-playbook -i "$work/inventory.json" mesos.maintenance.status
ansible-playbook -i "$work/inventory.json" mesos.maintenance.rolling_maintenance \
  -e mesos_maintenance_agents=mesos_agents -e mesos_maintenance_serial=4 \
  -e mesos_maintenance_tasks_file=tasks/pause.yml -e agent_maintenance_max_filtered=20%
ansible-playbook -i "$work/inventory.json" mesos.maintenance.status
