# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Helpers for the tests of the agent_maintenance role and the playbooks (not a conftest: imported by
test_agent_maintenance.py, test_playbooks.py, test_awx_runner.py and test_role_dependency.py).

`SimulatedSite` wraps a simulated cluster with its control port (so that a maintenance tasks file can
"reboot" an agent through HTTP), writes an inventory of its agents, and runs the collection's
playbooks against it with the `collect_results` callback of tests/functional/callback_plugins.

A test parametrized over `build` with `BACKENDS` also runs against `NATIVE`: a Mesos 1.11.0 cluster
without the allocator module, driven with `agent_maintenance_backend=native` (DEACTIVATE_AGENT and
friends); there "filtered" means deactivated.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

from mesos_sim import control

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
PLAYBOOKS = REPO / "playbooks"
SIM_MAINTENANCE = HERE / "files" / "sim_maintenance.yml"
ANSIBLE_PLAYBOOK = str(Path(sys.executable).parent / "ansible-playbook")

NATIVE = "native"
# Both builds of the Offer Filtering Allocator module, and Mesos' own deactivation.
BACKENDS = ["0afdd8b", "later", NATIVE]
OPERATOR_PATH = "/master/api/v1"
ALLOCATOR_BUILD = HERE.parent / "allocator_module" / "build.sh"
# The v1 operator calls that take an agent out of the offer cycle / put it back.
NATIVE_FILTER_CALLS = ("DEACTIVATE_AGENT", "DRAIN_AGENT")
NATIVE_UNFILTER_CALLS = ("REACTIVATE_AGENT",)
# The tasks whose result carries the summary of a rolling maintenance (`lines`): its end, or its failed batch.
SUMMARY_TASKS = ("Summary of the rolling maintenance", "Record the failed batch and stop")


def cluster_args(build, **kwargs):
    """`Cluster` keyword arguments for a `build` of `BACKENDS`."""
    if build == NATIVE:
        return dict(kwargs, build=None, version="1.11.0")
    return dict(kwargs, build=build)


def operator_call(cluster, call_type, agent_id):
    """A v1 operator call straight to the leader, as another operator would send it."""
    body = {"type": call_type, call_type.lower(): {"agent_id": {"value": agent_id}}}
    conn = http.client.HTTPConnection("127.0.0.1", int(cluster.leader_url.rsplit(":", 1)[1]), timeout=10)
    try:
        conn.request("POST", OPERATOR_PATH, json.dumps(body), {"Content-Type": "application/json"})
        response = conn.getresponse()
        assert response.status == 200, (response.status, response.read())
    finally:
        conn.close()


class Run:
    """One ansible-playbook run: exit code, output, and every task result in order."""

    def __init__(self, rc, results, stdout, stderr, elapsed):
        self.rc = rc
        self.results = results
        self.stdout = stdout
        self.stderr = stderr
        self.elapsed = elapsed

    def __getitem__(self, key):
        """The result at index `key`, or of the last task called `key`."""
        if isinstance(key, int):
            return self.results[key]
        matches = [r for r in self.results if r["_task"] == key]
        if not matches:
            raise KeyError(f"no task named {key!r}; ran: {[r['_task'] for r in self.results]}\n{self.output}")
        return matches[-1]

    @property
    def output(self):
        return f"--- stdout\n{self.stdout[-6000:]}\n--- stderr\n{self.stderr[-4000:]}"

    @property
    def result(self):
        """The result of the only (or last) task."""
        assert self.results, f"no task result recorded\n{self.output}"
        return self.results[-1]

    def tasks(self, name):
        """Results of the task called `name` (role tasks are named "<role> : <name>")."""
        return [r for r in self.results if r["_task"] == name or r["_task"].endswith(" : " + name)]

    def last(self, name):
        found = self.tasks(name)
        assert found, f"no task named {name!r}\n{self.output}"
        return found[-1]

    def messages(self, name):
        """The msg lists of every run of a debug task."""
        return [r["msg"] for r in self.tasks(name) if r.get("_status") == "ok" and "msg" in r]

    @property
    def summary(self):
        """The summary lines of a rolling maintenance: the `lines` of the last result of the task that ends the
        run, "Summary of the rolling maintenance" (run_finished) or "Record the failed batch and stop"
        (run_failed)."""
        names = SUMMARY_TASKS
        found = [
            r
            for r in self.results
            if any(r["_task"] == name or r["_task"].endswith(" : " + name) for name in names) and "lines" in r
        ]
        assert found, f"no summary\n{self.output}"
        return found[-1]["lines"]


def finish_run(proc, results_file, started, timeout):
    """Wait for the ansible-playbook `proc` started at `started` (time.monotonic) and collect its Run."""
    stdout, stderr = proc.communicate(timeout=timeout)
    results = json.loads(results_file.read_text()) if results_file.exists() else []
    return Run(proc.returncode, results, stdout, stderr, time.monotonic() - started)


def collections_dir(root):
    """Make `root` an ANSIBLE_COLLECTIONS_PATH whose mesos.maintenance is this repository (a symlink, so
    that playbooks run the working tree's collection); returns `root`."""
    link = root / "ansible_collections" / "mesos" / "maintenance"
    link.parent.mkdir(parents=True)
    link.symlink_to(REPO, target_is_directory=True)
    return root


def ansible_env(tmp_path, collections_path, results_file, extra=None):
    env = dict(os.environ)
    env.update(
        ANSIBLE_COLLECTIONS_PATH=str(collections_path),
        ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false",
        ANSIBLE_PYTHON_INTERPRETER=sys.executable,
        ANSIBLE_STDOUT_CALLBACK="collect_results",
        ANSIBLE_CALLBACK_PLUGINS=str(HERE / "callback_plugins"),
        ANSIBLE_LOCALHOST_WARNING="false",
        ANSIBLE_INVENTORY_UNPARSED_WARNING="false",
        ANSIBLE_DEPRECATION_WARNINGS="false",
        ANSIBLE_RETRY_FILES_ENABLED="false",
        ANSIBLE_HOST_KEY_CHECKING="false",
        ANSIBLE_FORKS="10",
        ANSIBLE_LOCAL_TEMP=str(tmp_path / "ansible-tmp"),
        ANSIBLE_HOME=str(tmp_path / "ansible-home"),
        ANSIBLE_NOCOLOR="1",
        COLLECT_RESULTS_FILE=str(results_file),
    )
    env.pop("MESOS_MASTER_URL", None)
    env.update(extra or {})
    return env


class SimulatedSite:
    """A simulated cluster plus what a playbook run against it needs (inventory, memory file, control URL)."""

    def __init__(self, cluster, tmp_path, collections_path):
        self.cluster = cluster
        self.tmp_path = tmp_path
        self.collections_path = collections_path
        self.control_server = control.serve(cluster)
        self.control_url = f"http://127.0.0.1:{self.control_server.port}"
        # The ledger (agent_maintenance_memory_file): which run keeps which agent out, the holds, the rolling runs.
        self.memory_file = tmp_path / "memory" / "held-agents.json"
        self.runs = 0
        self.native = cluster.state.build is None
        if self.native:
            self._log_operator_calls()

    def _log_operator_calls(self):
        """Put each v1 operator call into the request log as ("CALL", "<type> <agent id>"): the log has the
        path only, and every call, reads (GET_AGENTS) too, is a POST to the same path."""
        cluster = self.cluster
        log_request = cluster.log_request

        def log(index, request):
            log_request(index, request)
            if request.method == "POST" and request.path == OPERATOR_PATH:
                try:
                    call = json.loads(request.body or b"{}")
                except ValueError:
                    return
                call_type = str(call.get("type"))
                agent = ((call.get(call_type.lower()) or {}).get("agent_id") or {}).get("value", "")
                with cluster._log_lock:
                    cluster.request_log.append((index, "CALL", f"{call_type} {agent}".strip()))

        cluster.log_request = log

    def close(self):
        self.control_server.stop()
        # A run that ended early (a failed or timed-out test) leaves its hold running for hours: it would go on
        # filtering agent-N.example.com in whatever later simulated cluster gets its masters' ports. Marking it
        # released in the ledger ends it at its next look at the ledger (every half second).
        self.end_holds()

    def end_holds(self, timeout=10.0):
        """Mark every hold of the ledger released, as a restore of its own run would, and wait (bounded) until
        they have ended; returns the ids of those that had not ended within `timeout` seconds."""
        if not self.memory_file.exists():
            return []
        # Imported here: conftest.py imports this module before pytest-ansible makes the collection importable.
        from ansible_collections.mesos.maintenance.plugins.module_utils._ledger import FileStore

        return end_holds(FileStore(str(self.memory_file), lock_timeout=timeout), timeout)

    # --- the cluster -----------------------------------------------------------------------
    def hostnames(self):
        return sorted((a["hostname"] for a in self.cluster.agents), key=_natural)

    def agent_id(self, hostname):
        ids = [a["id"] for a in self.cluster.agents if a["hostname"] == hostname]
        assert len(ids) == 1, (hostname, ids)
        return ids[0]

    def filtered_ids(self):
        """The ids of the filtered agents: in the allocator module, or deactivated in the master (native)."""
        if not self.native:
            return self.cluster.filters()
        with self.cluster.state.lock:
            return {a.id for a in self.cluster.state.agents.values() if a.deactivated}

    def drain_states(self):
        with self.cluster.state.lock:
            return {a.id: a.drain_info["state"] for a in self.cluster.state.agents.values() if a.drain_info}

    def filtered_hostnames(self):
        by_id = {a["id"]: a["hostname"] for a in self.cluster.agents}
        return sorted((by_id.get(i, i) for i in self.filtered_ids()), key=_natural)

    def filter_as_someone_else(self, agent_id):
        if self.native:
            operator_call(self.cluster, "DEACTIVATE_AGENT", agent_id)
        else:
            self.cluster.add_filter(agent_id)

    def changes(self):
        """The requests since the last `reset_log` that filter or unfilter, in order, as ("filter" or
        "unfilter", target): the allocator endpoint's URL, or the agent id of a v1 call."""
        result = []
        for _, method, target in list(self.cluster.request_log):
            if self.native and method == "CALL":
                call_type, _, agent = target.partition(" ")
                if call_type in NATIVE_FILTER_CALLS + NATIVE_UNFILTER_CALLS:
                    result.append(("filter" if call_type in NATIVE_FILTER_CALLS else "unfilter", agent))
            elif not self.native and method in ("POST", "PUT", "DELETE"):
                result.append(("unfilter" if method == "DELETE" else "filter", target))
        return result

    def reads(self, path):
        """The GET requests to `path` (a master endpoint such as /master/state-summary, query left out) since the
        last `reset_log`, as (master index, target): a test can tell that a run is waiting, polling the master."""
        return [
            (index, target)
            for index, method, target in list(self.cluster.request_log)
            if method == "GET" and target.partition("?")[0] == path
        ]

    def memory(self):
        if not self.memory_file.exists():
            return None
        return json.loads(self.memory_file.read_text())

    def held(self):
        """The hostnames the ledger says mesos.maintenance keeps out of service (by any run)."""
        memory = self.memory()
        return sorted((memory or {}).get("agents", {}), key=_natural)

    def ledger(self):
        """The ledger (version 2) as parsed JSON, or None before anything wrote it."""
        return self.memory()

    def owners(self, hostname):
        """The run ids that keep `hostname` out of service, sorted."""
        record = ((self.ledger() or {}).get("agents") or {}).get(hostname) or {}
        return sorted(record.get("owners") or {})

    def holds(self):
        """The holds of the ledger: {hold id: record (run, hostnames, status, released, report, ...)}."""
        return dict((self.ledger() or {}).get("holds") or {})

    def holds_of(self, run_id):
        """The holds of run `run_id`: {hold id: record}."""
        return {hold_id: hold for hold_id, hold in self.holds().items() if hold.get("run") == run_id}

    # --- inventory and runs ----------------------------------------------------------------
    def inventory(self, hosts=None, host_vars=None, **all_vars):
        """An inventory with every agent (or `hosts`) in mesos_agents, reached locally."""
        hosts = self.hostnames() if hosts is None else hosts
        variables = {
            "ansible_connection": "local",
            "ansible_python_interpreter": sys.executable,
            "mesos_master_url": ",".join(self.cluster.urls),
            "agent_maintenance_memory_file": str(self.memory_file),
            "agent_maintenance_wait_sleep": 0.2,
            "agent_maintenance_registration_sleep": 0.2,
            "agent_maintenance_hold_interval": 0.2,
            "agent_maintenance_timeout": 5,
            "agent_maintenance_max_filtered": "50%",
            "sim_control": self.control_url,
        }
        if self.native:
            variables["agent_maintenance_backend"] = NATIVE
        variables.update(all_vars)
        data = {
            "all": {
                "vars": variables,
                "children": {
                    "mesos_agents": {"hosts": {h: (host_vars or {}).get(h) or None for h in hosts}},
                    "mesos_masters": {"hosts": {"localhost": None}},
                },
            }
        }
        self.runs += 1
        path = self.tmp_path / f"inventory-{self.runs}.yml"
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        return path

    def run(self, playbook, extra_vars=None, inventory=None, check=False, background=False, timeout=600, env=None):
        """Run a playbook of the collection (a name such as "drain", or a path) against this site."""
        inventory = inventory or self.inventory()
        self.runs += 1
        results_file = self.tmp_path / f"results-{self.runs}.json"
        if isinstance(playbook, str) and not playbook.endswith(".yml"):
            playbook = f"mesos.maintenance.{playbook}"
        command = [ANSIBLE_PLAYBOOK, "-i", str(inventory), str(playbook)]
        if extra_vars:
            extra_file = self.tmp_path / f"extra-{self.runs}.json"
            extra_file.write_text(json.dumps(extra_vars))
            command += ["-e", f"@{extra_file}"]
        if check:
            command.append("--check")
        started = time.monotonic()
        proc = subprocess.Popen(
            command,
            env=ansible_env(self.tmp_path, self.collections_path, results_file, env),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

        def finish():
            return finish_run(proc, results_file, started, timeout)

        finish.proc = proc  # a test may kill the run, as an operator's Ctrl-C or a lost AWX node would
        return finish if background else finish()


def end_holds(store, timeout):
    """Mark every hold of the ledger in `store` (a FileStore or a ZooKeeperStore) released, as a restore of its own
    run would, and wait (bounded) until they have ended: a test that failed half-way must not leave a hold filtering
    agents. Returns the ids of those that had not ended within `timeout` seconds."""
    with store.locked() as data:
        running = [h for h, hold in data.get("holds", {}).items() if hold.get("status") not in ("ended", "failed")]
        for hold_id in running:
            data["holds"][hold_id]["released"] = True
    deadline = time.monotonic() + timeout
    while running and time.monotonic() < deadline:
        holds = store.read().get("holds", {})
        running = [h for h in running if h in holds and holds[h].get("status") not in ("ended", "failed")]
        if running:
            time.sleep(0.1)
    return running


class Sampling:
    """A thread that calls `sample()` every `interval` seconds, from entering the `with` block to leaving it: what
    a test checks at every moment of a run (a subclass says what)."""

    def __init__(self, interval=0.01):
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(30)

    def _loop(self):
        while not self._stop.wait(self.interval):
            self.sample()

    def sample(self):
        raise NotImplementedError


class CapacityWatch(Sampling):
    """Samples the simulator every few milliseconds: the most agents ever unavailable (filtered by the
    allocator module, deactivated in the master, or disconnected) at once."""

    def __init__(self, cluster, interval=0.01):
        super().__init__(interval)
        self.cluster = cluster
        self.max_unavailable = 0
        self.worst = set()
        self.samples = 0

    def sample(self):
        state = self.cluster.state
        with state.lock:
            unavailable = set(state.allocator.deactivated) | {
                a.id for a in state.agents.values() if a.deactivated or not a.connected
            }
        self.samples += 1
        if len(unavailable) > self.max_unavailable:
            self.max_unavailable = len(unavailable)
            self.worst = unavailable


class RunningSampler(Sampling):
    """Samples the simulator every 20 ms: the fewest running instances each app ever had."""

    def __init__(self, cluster, apps):
        super().__init__(0.02)
        self.cluster = cluster
        self.lowest = dict.fromkeys(apps)

    def sample(self):
        for app in self.lowest:
            running = sum(1 for t in self.cluster.tasks(app) if t["state"] == "TASK_RUNNING")
            if self.lowest[app] is None or running < self.lowest[app]:
                self.lowest[app] = running


def _natural(hostname):
    head, _, rest = hostname.partition("-")
    number = rest.split(".", 1)[0]
    return (head, int(number) if number.isdigit() else 0, hostname)


def build_allocator_libs(out: Path) -> Path:
    """The test builds of the Offer Filtering Allocator module and another module (tests/allocator_module), into out."""
    if shutil.which("gcc") is None:
        pytest.fail("gcc is needed to build the test module libraries")
    subprocess.run(["bash", str(ALLOCATOR_BUILD), str(out)], check=True, capture_output=True)
    return out


def allocator_role_vars(src: Path, master, tmp_path: Path, **extra) -> dict:
    """Variables of the offer_filter_allocator role for a run on localhost against a simulated master (a one-master
    mesos_sim Cluster), with the module src and every file the role reads or writes under tmp_path."""
    return {
        "offer_filter_allocator_src": str(src),
        "offer_filter_allocator_checksum": "sha256:" + hashlib.sha256(src.read_bytes()).hexdigest(),
        "offer_filter_allocator_master_address": "127.0.0.1",
        "offer_filter_allocator_master_port": int(master.urls[0].rsplit(":", 1)[1]),
        "offer_filter_allocator_masters": ["localhost"],
        "offer_filter_allocator_cache_dir": str(tmp_path / "cache"),
        "offer_filter_allocator_env_file": str(tmp_path / "default-mesos-master"),
        "offer_filter_allocator_flags_dir": str(tmp_path / "mesos-master"),
        "offer_filter_allocator_dropin_path": str(tmp_path / "dropin.conf"),
        "offer_filter_allocator_modules_json_path": str(tmp_path / "modules.json"),
        **extra,
    }
