#!/usr/bin/env bash
# Demo: a rehearsal of a rolling maintenance (playbooks/rolling_maintenance.yml with
# mesos_maintenance_rehearsal=true: every batch drained and restored, a pause on the controller instead of
# the maintenance, no agent host contacted), ending with the status table of the cluster.
#
#   scripts/demo-rolling-maintenance.sh          a simulated 3-master cluster with 20 agents running
#                                                tasks, in batches of 4 (make demo)
#   scripts/demo-rolling-maintenance.sh --real   a real Mesos 1.11.0 cluster (tests/real_mesos, local
#                                                mode: one master, 6 agents) running 12 sleep tasks, in
#                                                batches of 2, drained with Mesos' own DRAIN_AGENT (backend
#                                                native); drained tasks are launched again on the agents in
#                                                service (make demo-real; the first run installs the cluster
#                                                into a cache, about a minute)
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
VENV=$REPO/.venv/bin
case "${1:-}" in
  "") real=false ;;
  --real) real=true ;;
  *) echo "usage: $0 [--real]" >&2; exit 2 ;;
esac
work=$(mktemp -d)
cluster=""
cleanup() {
  if [ -n "$cluster" ]; then
    kill "$cluster" 2>/dev/null || true
    wait "$cluster" 2>/dev/null || true  # the real cluster stops its tasks before it exits
  fi
  rm -rf "$work"
}
trap cleanup EXIT

if $real; then
  # Local mode gives every agent the master's hostname unless told otherwise; the playbook finds
  # agents by hostname, so each gets its own (agent-1 ... agent-6).
  "$VENV/python" "$REPO/tests/real_mesos/run.py" --agents 6 --tasks 12 --replace-killed \
    --agent-hostname-prefix agent --state-file "$work/state.json" >"$work/cluster.log" 2>&1 &
  cluster=$!
  echo "Starting a real Mesos 1.11.0 cluster (the first run installs it)..."
  until [ -s "$work/state.json" ]; do
    if ! kill -0 "$cluster" 2>/dev/null; then
      cat "$work/cluster.log" >&2
      exit 1
    fi
    sleep 0.2
  done
  serial=2 max_filtered=2
else
  "$VENV/mesos-sim" run --masters 3 --agents 20 --tasks 40 --task-duration 2 --state-file "$work/state.json" \
    >"$work/cluster.log" 2>&1 &
  cluster=$!
  for _ in $(seq 100); do [ -s "$work/state.json" ] && break; sleep 0.1; done
  serial=4 max_filtered=20%
fi
mkdir -p "$work/collections/ansible_collections/mesos"
ln -s "$REPO" "$work/collections/ansible_collections/mesos/maintenance"
"$VENV/python" - "$work" "$real" <<'PY'
import json, sys, urllib.request
work, real = sys.argv[1], sys.argv[2] == "true"
state = json.load(open(f"{work}/state.json"))
if real:
    agents = sorted(state["agents"], key=lambda a: a["hostname"])  # batches in the order agent-1, agent-2, ...
else:
    req = urllib.request.Request(state["control"] + "/describe", data=b"{}", method="POST")
    agents = json.load(urllib.request.urlopen(req))["result"]["agents"]
variables = {"mesos_master_url": ",".join(state["masters"]),
             "agent_maintenance_memory_file": f"{work}/held-agents.json",
             "agent_maintenance_wait_sleep": 0.5, "agent_maintenance_registration_sleep": 0.5}
if real:
    # Mesos' own drain: it kills the tasks (SIGTERM, SIGKILL after the grace period) and the
    # drain is over once the agent is DRAINED.
    variables.update(agent_maintenance_backend="native", agent_maintenance_drain=True,
                     agent_maintenance_drain_grace_period=5)
inventory = {"all": {"vars": variables,
                     "children": {"mesos_agents": {"hosts": {a["hostname"]: None for a in agents}}}}}
json.dump(inventory, open(f"{work}/inventory.json", "w"))
PY
export PATH="$VENV:$PATH" ANSIBLE_COLLECTIONS_PATH="$work/collections" ANSIBLE_FORKS=10 \
       ANSIBLE_LOCALHOST_WARNING=false ANSIBLE_DEPRECATION_WARNINGS=false \
       ANSIBLE_CALLBACK_RESULT_FORMAT=yaml
ansible-playbook -i "$work/inventory.json" mesos.maintenance.rolling_maintenance \
  -e mesos_maintenance_agents=mesos_agents -e mesos_maintenance_serial=$serial \
  -e mesos_maintenance_rehearsal=true -e agent_maintenance_max_filtered=$max_filtered \
  -e mesos_maintenance_status=true
