# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The ZooKeeper ledger (_ledger.ZooKeeperStore) against a real ZooKeeper (Debian's `zookeeper` package):
round trip, digest ACLs, concurrent writers in several processes, compare-and-set, a ZooKeeper restart in the
middle of a transaction loop, ZooKeeper down, kazoo missing.

The file store and the rules on the data are tested in tests/unit/plugins/module_utils/test__ledger.py."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from kazoo.exceptions import ConnectionLoss, NoAuthError
from kazoo.recipe.lock import Lock
from kazoo.security import make_digest_acl

from ansible_collections.mesos.maintenance.plugins.module_utils import _ledger
from ansible_collections.mesos.maintenance.plugins.module_utils._ledger import (
    Ledger,
    LedgerError,
    ZooKeeperStore,
    open_store,
)
from mesos_sim.waiting import wait_until
from mesos_sim.zookeeper import connected_client, free_port

SECRET = "s3cr@t/Pass:w0rd"
CREDENTIALS = "ops:%s@" % quote(SECRET, safe="")  # percent-encoded in the URL


@pytest.fixture(scope="module")
def zookeeper(tmp_path_factory, zookeeper_in):
    """One ZooKeeper for the tests that do not stop it (each uses a path of its own)."""
    server = zookeeper_in(tmp_path_factory.mktemp("zookeeper"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def restartable_zookeeper(tmp_path, zookeeper_in):
    """A ZooKeeper of this test alone, to stop() and start() again."""
    data = tmp_path / "zookeeper"
    data.mkdir()
    server = zookeeper_in(data)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def stores():
    """ZooKeeperStore(url, **kwargs), all closed at teardown."""
    opened = []

    def make(url, **kwargs):
        kwargs.setdefault("timeout", 10)
        store = ZooKeeperStore(url, **kwargs)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


@pytest.fixture
def raw_client(zookeeper):
    """A kazoo client without credentials."""
    client = connected_client(zookeeper.address, timeout=5)
    yield client
    client.stop()
    client.close()


def znode_path(url: str) -> str:
    return "/" + url.rsplit("/", 1)[1]


# --- round trip, ACLs ---------------------------------------------------------------------------------------


def test_round_trip(zookeeper, stores, raw_client):
    url = zookeeper.url()
    store = stores(url)
    assert store.description == "ZooKeeper ledger %s" % url
    assert store.read() == _ledger.empty()
    assert raw_client.exists(znode_path(url) + "/ledger") is None  # reading creates nothing
    ledger = Ledger(store, clock=lambda: 1_700_000_000.0)
    with ledger.transaction() as state:
        assert state.take("r1", "a1", "S1", by="tester") == "new"
    with ledger.transaction() as state:
        assert state.take("r2", "a1", "S1", by="tester") == "shared"
        state.start_run("roll-1", ["a1", "a2"], by="tester")
    # Another store (another run) reads what the first wrote.
    other = Ledger(stores(url), clock=lambda: 1_700_000_060.0)
    with other.transaction() as state:
        assert list(state.owners("a1")) == ["r1", "r2"]
        assert state.find_run(["a2", "a1"]) == "roll-1"
        assert state.release("r1", "a1") == [
            {"run": "r2", "by": "tester", "since": "2023-11-14T22:13:20Z", "age": "60 s"}
        ]
    raw, stat = raw_client.get(znode_path(url) + "/ledger")
    data = json.loads(raw.decode())
    assert list(data["agents"]["a1"]["owners"]) == ["r2"]
    assert stat.version == 2  # created, then set twice
    assert raw_client.get_children(znode_path(url) + "/lock") == []  # every lock released
    # A transaction that changes nothing writes nothing.
    with store.locked() as data:
        assert data["runs"]["roll-1"]["targets"] == ["a1", "a2"]
    assert raw_client.get(znode_path(url) + "/ledger")[1].version == 2
    snapshot = ledger.snapshot()
    assert snapshot.restore_decision("r2", "a1") == "unfilter"


def test_save_writes_inside_the_transaction(zookeeper, stores, raw_client):
    """A checkpoint is written with the node's version and the transaction goes on under the same lock: the final
    write (compare-and-set on the version the checkpoint left) succeeds."""
    url = zookeeper.url()
    ledger = Ledger(stores(url), clock=lambda: 1_700_000_000.0)
    with ledger.transaction() as state:
        state.take("r1", "a1", "S1", by="tester")
        state.save()
        data, stat = raw_client.get(znode_path(url) + "/ledger")
        assert list(json.loads(data)["agents"]) == ["a1"] and stat.version == 0
        state.take("r1", "a2", "S2", by="tester")
        state.save()
        state.take("r1", "a3", "S3", by="tester")
    data, stat = raw_client.get(znode_path(url) + "/ledger")
    assert sorted(json.loads(data)["agents"]) == ["a1", "a2", "a3"] and stat.version == 2


def test_open_store_round_trip(zookeeper):
    url = zookeeper.url()
    store = open_store(url, timeout=5)
    try:
        assert isinstance(store, ZooKeeperStore)
        assert store.timeout == 5
        with store.locked() as data:
            data["holds"]["h1"] = {"run": "r1"}
        assert store.read()["holds"] == {"h1": {"run": "r1"}}
    finally:
        store.close()


def test_an_exception_inside_a_transaction_writes_nothing(zookeeper, stores, raw_client):
    url = zookeeper.url()
    store = stores(url)
    with store.locked() as data:
        data["agents"]["a1"] = {"agent_id": "S1", "owners": {"r1": {}}}
    with pytest.raises(RuntimeError, match="master said no"):
        with store.locked() as data:
            data["agents"]["a2"] = {"agent_id": "S2", "owners": {"r1": {}}}
            raise RuntimeError("master said no")
    assert list(store.read()["agents"]) == ["a1"]
    assert raw_client.get_children(znode_path(url) + "/lock") == []
    with stores(url, lock_timeout=2).locked() as data:  # the lock was released
        data["agents"].clear()
    assert store.read()["agents"] == {}


@pytest.mark.parametrize("text", [b"{not json", b"\xff\xfe", b'{"version": 3, "agents": {}}', b"[1]"])
def test_a_node_that_holds_no_ledger(zookeeper, stores, raw_client, text):
    url = zookeeper.url()
    raw_client.create(znode_path(url) + "/ledger", text, makepath=True)
    with pytest.raises(LedgerError, match="ZooKeeper ledger %s" % url):
        with stores(url).locked():
            pass
    assert raw_client.get(znode_path(url) + "/ledger")[0] == text
    assert raw_client.get_children(znode_path(url) + "/lock") == []


def test_credentials_give_every_node_a_digest_acl(zookeeper, stores, raw_client):
    path = "mesos-maintenance-%s" % uuid.uuid4().hex
    url = zookeeper.url(path, credentials=CREDENTIALS)
    store = stores(url)
    assert SECRET not in store.description
    assert store.description == "ZooKeeper ledger zk://ops:********@%s/%s" % (zookeeper.address, path)
    digest = make_digest_acl("ops", SECRET, all=True)
    wrong = connected_client(zookeeper.address, auth_data=[("digest", "ops:wrong")])
    right = connected_client(zookeeper.address, auth_data=[("digest", "ops:%s" % SECRET)])
    try:
        with store.locked() as data:
            data["agents"]["a1"] = {"agent_id": "S1", "owners": {"r1": {}}}
            # The lock's node, taken with the credentials, has their ACL.
            lock_nodes = right.get_children("/%s/lock" % path)
            assert len(lock_nodes) == 1
            assert right.get_acls("/%s/lock/%s" % (path, lock_nodes[0]))[0] == [digest]
            with pytest.raises(NoAuthError):
                raw_client.get("/%s/lock/%s" % (path, lock_nodes[0]))
        assert store.read()["agents"] == {"a1": {"agent_id": "S1", "owners": {"r1": {}}}}
        for node in ("", "/lock", "/ledger"):
            assert right.get_acls("/%s%s" % (path, node))[0] == [digest], node
        assert json.loads(right.get("/%s/ledger" % path)[0])["agents"]["a1"]["agent_id"] == "S1"
        # A client without the credentials, or with other ones, can neither read the ledger nor write it.
        for client in (raw_client, wrong):
            with pytest.raises(NoAuthError):
                client.get("/%s/ledger" % path)
            with pytest.raises(NoAuthError):
                client.set("/%s/ledger" % path, b"{}")
            with pytest.raises(NoAuthError):
                client.get_children("/%s/lock" % path)
            with pytest.raises(NoAuthError):
                client.create("/%s/lock/intruder" % path, b"")
    finally:
        for client in (wrong, right):
            client.stop()
            client.close()


@pytest.mark.parametrize("credentials", ["", "ops:wrong@", "other" + CREDENTIALS[3:]])
def test_a_store_without_the_credentials_is_refused(zookeeper, stores, credentials):
    path = "mesos-maintenance-%s" % uuid.uuid4().hex
    owner = stores(zookeeper.url(path, credentials=CREDENTIALS))
    with owner.locked() as data:
        data["agents"]["a1"] = {}
    intruder = stores(zookeeper.url(path, credentials=credentials), lock_timeout=5)
    with pytest.raises(LedgerError, match="refused to read: its nodes belong to other credentials") as caught:
        intruder.read()
    assert "s3cr" not in str(caught.value)
    with pytest.raises(LedgerError, match="refused to lock: its nodes belong to other credentials"):
        with intruder.locked():
            pass
    assert owner.read()["agents"] == {"a1": {}}


# --- concurrency, compare-and-set ---------------------------------------------------------------------------

# Each writer process loads _ledger from its file and, in each transaction, adds a unique owner to one hostname's
# record and appends to a list.
WRITER = """
import importlib.util, sys
spec = importlib.util.spec_from_file_location('_ledger', sys.argv[1])
ledger = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ledger)
url, name, count = sys.argv[2], sys.argv[3], int(sys.argv[4])
store = ledger.ZooKeeperStore(url, timeout=10, lock_timeout=60)
store.read()  # connected
sys.stdin.read()  # all start together
for n in range(count):
    with store.locked() as data:
        owners = data['agents'].setdefault('shared-host', {'agent_id': 'S1', 'owners': {}})['owners']
        owners['%s-%d' % (name, n)] = {'since_ts': n}
        data['runs'].setdefault('log', {'kind': 'log', 'entries': []})['entries'].append('%s-%d' % (name, n))
store.close()
"""

WRITERS = 6
TRANSACTIONS = 30


def run_writers(url: str, tmp_path: Path, writers: int, transactions: int):
    procs = []
    for n in range(writers):
        with open(tmp_path / ("w%d.err" % n), "w") as err:
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-c", WRITER, _ledger.__file__, url, "w%d" % n, str(transactions)],
                    stdin=subprocess.PIPE,
                    stderr=err,
                )
            )
    for proc in procs:
        proc.stdin.close()
    for n, proc in enumerate(procs):
        assert proc.wait(120) == 0, (tmp_path / ("w%d.err" % n)).read_text()


def check_nothing_lost(data: dict, names, transactions: int):
    expected = {"%s-%d" % (name, n) for name in names for n in range(transactions)}
    assert set(data["agents"]["shared-host"]["owners"]) == expected
    entries = data["runs"]["log"]["entries"]
    assert len(entries) == len(expected)
    assert set(entries) == expected
    for name in names:  # each writer's transactions in its order
        assert [e for e in entries if e.rsplit("-", 1)[0] == name] == ["%s-%d" % (name, n) for n in range(transactions)]


@pytest.mark.parametrize(("credentials", "rounds"), [("", 3), (CREDENTIALS, 1)])
def test_concurrent_writers_lose_nothing(zookeeper, stores, raw_client, tmp_path, credentials, rounds):
    for _round in range(rounds):
        url = zookeeper.url(credentials=credentials)
        run_writers(url, tmp_path, WRITERS, TRANSACTIONS)
        check_nothing_lost(stores(url).read(), ["w%d" % n for n in range(WRITERS)], TRANSACTIONS)
        if not credentials:
            assert raw_client.get_children(znode_path(url) + "/lock") == []
            assert raw_client.get(znode_path(url) + "/ledger")[1].version == WRITERS * TRANSACTIONS - 1


def test_a_stale_writer_is_refused_and_the_newer_ledger_kept(zookeeper, stores, raw_client):
    url = zookeeper.url()
    store = stores(url)
    with store.locked() as data:
        data["agents"]["a1"] = {"agent_id": "S1", "owners": {"r1": {}}}
    newer = json.dumps(
        {"version": 2, "agents": {"a9": {"agent_id": "S9", "owners": {"r9": {}}}}, "holds": {}, "runs": {}}
    )
    with pytest.raises(LedgerError, match="changed while this run held its lock .* this change was not written"):
        with store.locked() as data:
            data["agents"]["a2"] = {"agent_id": "S2", "owners": {"r1": {}}}
            # Another run writes while this one thinks it holds the lock (its session expired meanwhile).
            raw_client.set(znode_path(url) + "/ledger", newer.encode())
    assert raw_client.get(znode_path(url) + "/ledger")[0] == newer.encode()
    assert list(store.read()["agents"]) == ["a9"]
    assert raw_client.get_children(znode_path(url) + "/lock") == []
    with store.locked() as data:  # the next transaction works on the newer ledger
        data["agents"]["a2"] = {}
    assert sorted(store.read()["agents"]) == ["a2", "a9"]


def test_a_stale_first_writer_is_refused(zookeeper, stores, raw_client):
    url = zookeeper.url()
    store = stores(url)
    newer = json.dumps({"version": 2, "agents": {"a9": {}}, "holds": {}, "runs": {}}).encode()
    with pytest.raises(LedgerError, match="changed while this run held its lock"):
        with store.locked() as data:
            data["agents"]["a1"] = {}
            raw_client.create(znode_path(url) + "/ledger", newer)  # the node did not exist when read
    assert raw_client.get(znode_path(url) + "/ledger")[0] == newer


@pytest.mark.parametrize("first", [False, True])
def test_a_write_whose_answer_was_lost_is_not_refused(zookeeper, stores, raw_client, monkeypatch, first):
    """The write reaches ZooKeeper but the connection drops before its answer: kazoo retries it, and the retry
    finds the node already written (BadVersionError, NodeExistsError). That is this run's own write."""
    url = zookeeper.url()
    store = stores(url)
    if not first:
        with store.locked() as data:
            data["agents"]["a0"] = {}
    client = store.client()
    calls = []
    method = "create" if first else "set"
    real = getattr(client, method)

    def answer_lost(*args, **kwargs):
        if args[0] != store.data_path:  # the lock's nodes
            return real(*args, **kwargs)
        calls.append(args[0])
        result = real(*args, **kwargs)
        if len(calls) == 1:
            raise ConnectionLoss()
        return result

    monkeypatch.setattr(client, method, answer_lost)
    with store.locked() as data:
        data["agents"]["a1"] = {}
    assert calls == [znode_path(url) + "/ledger"] * 2
    raw, stat = raw_client.get(znode_path(url) + "/ledger")
    assert sorted(json.loads(raw)["agents"]) == (["a1"] if first else ["a0", "a1"])
    assert stat.version == (0 if first else 1)


def test_a_lock_that_could_not_be_released_does_not_block_the_next_transaction(
    zookeeper, stores, raw_client, monkeypatch
):
    url = zookeeper.url()
    store = stores(url, lock_timeout=5)
    real_release = Lock.release
    failures = []

    def release_fails_once(lock):
        if not failures:
            failures.append(lock.node)
            raise ConnectionLoss()
        return real_release(lock)

    monkeypatch.setattr(Lock, "release", release_fails_once)
    with store.locked() as data:
        data["agents"]["a1"] = {}
    assert len(failures) == 1
    # The session ended with its lock node: the next transaction (in a new session) gets the lock at once.
    assert raw_client.get_children(znode_path(url) + "/lock") == []
    with store.locked() as data:
        data["agents"]["a2"] = {}
    assert sorted(store.read()["agents"]) == ["a1", "a2"]


def test_a_lock_held_by_another_run(zookeeper, stores):
    url = zookeeper.url()
    holder = stores(url, identifier="holder@elsewhere")
    waiter = stores(url, lock_timeout=1)
    with holder.locked() as data:
        data["agents"]["a1"] = {}
        with pytest.raises(LedgerError, match=r"stayed locked by another run \(holder@elsewhere\) for 1s"):
            with waiter.locked() as data2:
                data2["agents"]["a2"] = {}
    assert list(waiter.read()["agents"]) == ["a1"]
    with waiter.locked() as data:  # free again
        data["agents"]["a2"] = {}


# --- ZooKeeper restart, ZooKeeper down, kazoo missing -------------------------------------------------------


class LoopWriter(threading.Thread):
    """Transactions in a loop until told to stop: each adds a unique owner and a log entry."""

    def __init__(self, url: str, name: str):
        super().__init__(name=name, daemon=True)
        self.url = url
        self.done = []
        self.error = None
        self.stop_after = None

    def run(self):
        ledger = Ledger(ZooKeeperStore(self.url, timeout=10, lock_timeout=60))
        try:
            n = 0
            while self.stop_after is None or n < self.stop_after:
                with ledger.transaction() as state:
                    state.take("%s-%d" % (self.name, n), "shared-host", "S1", by=self.name)
                    state.runs.setdefault("log", {"kind": "log", "entries": []})["entries"].append(
                        "%s-%d" % (self.name, n)
                    )
                self.done.append(n)
                n += 1
        except BaseException as exc:  # reported by the test
            self.error = exc
        finally:
            ledger.close()


def test_a_zookeeper_restart_in_the_middle_loses_nothing(restartable_zookeeper, stores):
    zookeeper = restartable_zookeeper
    url = zookeeper.url()
    writers = [LoopWriter(url, "w%d" % n) for n in range(3)]
    for writer in writers:
        writer.start()
    try:
        wait_until(lambda: all(len(w.done) >= 5 or w.error for w in writers), 60, what="transactions before the stop")
        zookeeper.stop(signal.SIGTERM)
        before = [len(w.done) for w in writers]
        time.sleep(2)
        stalled = [len(w.done) for w in writers]
        zookeeper.start()
        # Every writer goes on after the restart.
        wait_until(
            lambda: all(len(w.done) >= count + 5 or w.error for w, count in zip(writers, stalled, strict=True)),
            60,
            what="transactions after the restart",
        )
    finally:
        for writer in writers:
            writer.stop_after = len(writer.done) + 1 if writer.is_alive() else 0
        for writer in writers:
            writer.join(60)
    for writer in writers:
        assert not writer.is_alive()
        assert writer.error is None, repr(writer.error)
    # Nothing completes while ZooKeeper is down (but a transaction whose write went through just before).
    assert all(s - b <= 1 for s, b in zip(stalled, before, strict=True)), (before, stalled)
    assert zookeeper.starts == 2
    data = stores(url).read()
    expected = {"%s-%d" % (w.name, n) for w in writers for n in w.done}
    assert set(data["agents"]["shared-host"]["owners"]) == expected
    assert sorted(data["runs"]["log"]["entries"]) == sorted(expected)


def test_zookeeper_down(stores):
    port = free_port()  # nothing listens there
    url = "zk://%s127.0.0.1:%d/mesos-maintenance" % (CREDENTIALS, port)
    store = stores(url, timeout=2)
    outcome = []

    def read():
        try:
            store.read()
        except LedgerError as exc:
            outcome.append(exc)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(30)  # bounded: about `timeout`
    assert not reader.is_alive(), "ZooKeeperStore waited for a ZooKeeper that is down"
    message = str(outcome[0])
    assert message.startswith(
        "cannot reach the ZooKeeper ledger zk://ops:********@127.0.0.1:%d/mesos-maintenance within 2s" % port
    )
    assert "s3cr" not in message
    with pytest.raises(LedgerError, match="cannot reach the ZooKeeper ledger"):  # a transaction too
        with store.locked():
            pass


def test_kazoo_missing_in_a_fresh_python():
    """Without kazoo importable at all (not only kazoo.client) the message is the same."""
    code = (
        "import importlib.util, sys\n"
        "sys.modules['kazoo'] = None\n"
        "spec = importlib.util.spec_from_file_location('_ledger', sys.argv[1])\n"
        "ledger = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(ledger)\n"
        "store = ledger.open_store('zk://127.0.0.1:1/x')\n"
        "try:\n"
        "    store.read()\n"
        "except ledger.LedgerError as exc:\n"
        "    print(exc)\n"
        "try:\n"
        "    with store.locked():\n"
        "        pass\n"
        "except ledger.LedgerError as exc:\n"
        "    print(exc)\n"
    )
    done = subprocess.run([sys.executable, "-c", code, _ledger.__file__], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 2
    assert all(line.startswith("the ZooKeeper ledger needs the Python library kazoo") for line in lines)
