# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The ledger: which run took which agent out of service, when and why, which hold keeps it out, and how far
each rolling maintenance got. It is the only state the maintenance engine keeps, and several runs (operators,
AWX jobs on several nodes) share it, so every change is one transaction:

- ``FileStore``: a JSON file on the host that runs the API calls; each transaction holds an exclusive
  ``fcntl.flock`` on ``<file>.lock`` and replaces the file atomically (0600, in a 0700 folder);
- ``ZooKeeperStore``: a znode in the ZooKeeper ensemble the Mesos masters already use; each transaction holds a
  kazoo ``Lock`` and writes with the version it read (compare-and-set), so a writer that lost its lock (its session
  expired) cannot overwrite a newer ledger.

A transaction may include API calls to the master (``Ledger.transaction``): a drain records its ownership and
filters, a restore decides and unfilters, with nobody else deciding in between. Waits never run inside one.

``LedgerState`` holds the rules on the data; it knows nothing of files, ZooKeeper or HTTP.
"""

from __future__ import annotations

import contextlib
import copy
import errno
import json
import os
import socket
import tempfile
import time

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows has no flock; the modules run on POSIX hosts
    fcntl = None

try:
    from urllib.parse import unquote
except ImportError:  # pragma: no cover - Python 2
    from urllib import unquote  # type: ignore

VERSION = 2
# An owner recorded by the memory file of collection versions before the ledger (one owner for everything):
# any run's restore may release it, as any run's restore could then.
LEGACY_OWNER = 'mesos.maintenance (memory file version 1)'
# A hold renews its lease at every look; a lease lasts this many intervals, and never less than LEASE_MIN seconds,
# so that a slow look (a master failing over) does not make a live hold look dead.
LEASE_INTERVALS = 3
LEASE_MIN = 30.0
ZK_SCHEME = 'zk://'


class LedgerError(Exception):
    """The ledger cannot be read or written; the message says which ledger and what to do."""


def utc_text(timestamp):
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(timestamp))


def age_text(seconds):
    seconds = int(max(0, seconds))
    if seconds < 120:
        return '%d s' % seconds
    if seconds < 7200:
        return '%d min' % (seconds // 60)
    if seconds < 172800:
        return '%.1f h' % (seconds / 3600.0)
    return '%.1f days' % (seconds / 86400.0)


def empty():
    return {'version': VERSION, 'agents': {}, 'holds': {}, 'runs': {}}


def upgrade(data):
    """The ledger as version 2, from what a file holds (nothing, version 1 or version 2)."""
    if data is None or data == {}:
        return empty()
    # The path may name any file: refuse what is not a ledger before changing it, and never echo what it holds.
    if not isinstance(data, dict) or not isinstance(data.get('agents'), dict) \
            or not all(isinstance(data.get(key, {}), dict) for key in ('holds', 'runs')):
        raise LedgerError('the ledger holds no ledger (a JSON object with "agents" was expected); nothing was changed')
    version = data.get('version', 1)
    whole = isinstance(version, int) and not isinstance(version, bool)
    if not whole or version not in (1, VERSION):
        shown = 'version %d' % version if whole else 'a version that is not a whole number'
        raise LedgerError('the ledger has %s; this collection reads versions 1 and %d: use the collection version that '
                          'wrote it, or move the file away' % (shown, VERSION))
    if version == VERSION:
        result = empty()
        result.update(data)
        return result
    result = empty()
    for hostname, entry in data.get('agents', {}).items():
        entry = entry if isinstance(entry, dict) else {}
        result['agents'][hostname] = {
            'agent_id': entry.get('agent_id'),
            'owners': {LEGACY_OWNER: {'since': entry.get('since'), 'since_ts': None, 'by': entry.get('by'),
                                      'reason': 'drain'}},
        }
    rolling = data.get('rolling')
    if isinstance(rolling, dict) and rolling.get('targets'):
        result['runs']['rolling-legacy'] = {
            'kind': 'rolling', 'targets': list(rolling['targets']), 'done': list(rolling.get('done') or []),
            'failed': list(rolling.get('failed') or []), 'error': rolling.get('error', ''),
            'started': rolling.get('started'), 'by': LEGACY_OWNER}
    return result


def who():
    """Who runs this: user@host, recorded with every ownership and hold."""
    try:
        import getpass
        user = getpass.getuser()
    except Exception:  # pylint: disable=broad-except
        user = str(os.getuid())
    return '%s@%s' % (user, socket.gethostname())


class LedgerState(object):
    """The rules on the ledger's data (a dict, changed in place). ``now`` is a Unix time."""

    def __init__(self, data, now, save=None):
        self.data = data
        self.now = now
        self._save = save

    def save(self):
        """Write the changes so far at once, keeping the lock (nothing in check mode)."""
        if self._save is not None:
            self._save()

    @property
    def agents(self):
        return self.data['agents']

    @property
    def holds(self):
        return self.data['holds']

    @property
    def runs(self):
        return self.data['runs']

    # --- ownership ------------------------------------------------------------------------------------------
    def owners(self, hostname):
        return (self.agents.get(hostname) or {}).get('owners') or {}

    def held_by_us(self, hostname):
        """The hostnames whose record names any owner: agents mesos.maintenance keeps out of service."""
        return bool(self.owners(hostname))

    def take(self, run, hostname, agent_id, reason='drain', by=None):
        """Record that ``run`` keeps ``hostname`` out of service; returns 'new' (first owner) or 'shared' (another
        run already owns it) or 'ours' (this run owned it already)."""
        record = self.agents.setdefault(hostname, {'agent_id': agent_id, 'owners': {}})
        owners = record.setdefault('owners', {})
        if agent_id:
            record['agent_id'] = agent_id
        if run in owners:
            return 'ours'
        outcome = 'shared' if owners else 'new'
        owners[run] = {'since': utc_text(self.now), 'since_ts': self.now, 'by': by or who(), 'reason': reason}
        return outcome

    def filtered_at(self, hostname, leader):
        """Record that the leader ``leader`` holds the filter of ``hostname``. The allocator module keeps filters in
        the leader's memory (build 0afdd8b), so a status or a restore that finds one gone under another leader can
        tell that the failover lost it."""
        record = self.agents.get(hostname)
        if record is not None and leader:
            record['leader'] = leader

    def others(self, run, hostname):
        """The other owners of ``hostname``, oldest first: [{'run', 'by', 'since', 'age'}]."""
        result = []
        for owner, entry in self.owners(hostname).items():
            if owner == run or owner == LEGACY_OWNER:
                continue
            since_ts = entry.get('since_ts')
            result.append({'run': owner, 'by': entry.get('by'), 'since': entry.get('since'),
                           'age': age_text(self.now - since_ts) if since_ts else 'unknown'})
        result.sort(key=lambda item: item.get('since') or '')
        return result

    def is_ours(self, run, hostname):
        owners = self.owners(hostname)
        return run in owners or LEGACY_OWNER in owners

    def release(self, run, hostname, force=False):
        """Remove ``run``'s ownership of ``hostname`` (every ownership with ``force``); returns the owners left."""
        record = self.agents.get(hostname)
        if record is None:
            return []
        owners = record.get('owners') or {}
        if force:
            owners.clear()
        else:
            owners.pop(run, None)
            owners.pop(LEGACY_OWNER, None)
        left = self.others(run, hostname)
        if not owners:
            del self.agents[hostname]
        return left

    def restore_decision(self, run, hostname, force=False):
        """What a restore by ``run`` may do with ``hostname``: 'unfilter' (ours alone, or forced), 'shared' (another
        run still keeps it out), or 'not_ours' (no record of this run: filtered by someone else, or never taken)."""
        if force:
            return 'unfilter'
        if not self.is_ours(run, hostname):
            return 'shared' if self.held_by_us(hostname) else 'not_ours'
        return 'shared' if self.others(run, hostname) else 'unfilter'

    # --- holds ----------------------------------------------------------------------------------------------
    def lease_seconds(self, interval):
        return max(LEASE_MIN, LEASE_INTERVALS * float(interval))

    def start_hold(self, hold_id, run, hostnames, interval, timeout, pid=None, by=None):
        self.holds[hold_id] = {
            'run': run, 'hostnames': list(hostnames), 'interval': interval, 'pid': pid, 'by': by or who(),
            'host': socket.gethostname(), 'started': utc_text(self.now), 'started_ts': self.now,
            'lease_until': self.now + self.lease_seconds(interval), 'until': self.now + timeout,
            'status': 'starting', 'released': False, 'report': None,
        }

    def renew_hold(self, hold_id, status=None, report=None):
        """Renew the lease of a live hold; returns False when it was released (or taken away): it must end."""
        hold = self.holds.get(hold_id)
        if hold is None:
            return False
        hold['lease_until'] = self.now + self.lease_seconds(hold.get('interval') or 5)
        if status:
            hold['status'] = status
        if report is not None:
            hold['report'] = report
        return not hold.get('released')

    def orphan_hold(self, hold_id, why):
        """The run of a live hold has ended (its ansible-playbook is gone): say so on the hold and on the batch it
        keeps out, which stays out until the run's re-run releases the hold (or the hold's timeout)."""
        hold = self.holds.get(hold_id)
        if hold is None or hold.get('orphaned'):
            return
        hold['orphaned'] = why
        run = self.runs.get(hold['run'])
        batches = (run or {}).get('batches') or []
        if batches and not batches[-1].get('outcome'):
            batches[-1]['interrupted'] = why

    def hold_is_live(self, hold_id):
        hold = self.holds.get(hold_id)
        return bool(hold) and hold.get('status') not in ('ended', 'failed') and hold['lease_until'] >= self.now

    def holds_to_end(self, run):
        """The holds ``run`` may end: its own that are still running, and any whose lease ran out (its owner died).
        Never another run's live hold."""
        mine, dead = [], []
        for hold_id, hold in sorted(self.holds.items()):
            if hold.get('run') == run and not hold.get('released') and self.hold_is_live(hold_id):
                mine.append(hold_id)
            elif not self.hold_is_live(hold_id) and hold.get('status') != 'ended':
                dead.append(hold_id)
        return mine, dead

    def live_holds_of_others(self, run, hostnames):
        """Live holds of other runs on any of ``hostnames``: [(hold id, hold)]."""
        wanted = set(hostnames)
        return [(hold_id, hold) for hold_id, hold in sorted(self.holds.items())
                if hold.get('run') != run and self.hold_is_live(hold_id) and wanted & set(hold['hostnames'])]

    # --- rolling runs ---------------------------------------------------------------------------------------
    def find_run(self, targets):
        """The unfinished rolling run of exactly ``targets`` (a re-run resumes it), or None."""
        wanted = sorted(targets)
        for run_id, run in sorted(self.runs.items(), key=lambda item: item[1].get('started') or ''):
            if run.get('kind') == 'rolling' and not run.get('finished') and sorted(run.get('targets') or []) == wanted:
                return run_id
        return None

    def start_run(self, run_id, targets, by=None):
        self.runs[run_id] = {'kind': 'rolling', 'targets': list(targets), 'done': [], 'failed': [], 'error': '',
                             'started': utc_text(self.now), 'by': by or who(), 'batches': [], 'attempt': 1}

    def resume_run(self, run_id):
        """A new attempt of ``run_id``: a batch the last attempt left open (its ansible-playbook was killed) is
        closed as interrupted. Returns that batch's record, or the last attempt's failed batch, or None."""
        run = self.runs[run_id]
        batches = run.setdefault('batches', [])
        last = batches[-1] if batches else None
        if last is not None and not last.get('outcome'):
            self.end_batch(run_id, last['hosts'], 'failed', error=last.get('interrupted') or 'interrupted: the run '
                           'ended during this batch (ansible-playbook was killed); it stayed out of service')
        run['attempt'] = run.get('attempt', 1) + 1
        return last if last is not None and last.get('outcome') == 'failed' else None

    def batch(self, run_id, hostnames):
        """The open batch of rolling run ``run_id`` (one that has no outcome yet), else a new one of ``hostnames``;
        None when ``run_id`` is no rolling run."""
        run = self.runs.get(run_id)
        if run is None:
            return None
        batches = run.setdefault('batches', [])
        if batches and not batches[-1].get('outcome'):
            return batches[-1]
        record = {'number': len(batches) + 1, 'hosts': list(hostnames), 'started_ts': self.now, 'outcome': None,
                  'attempt': run.get('attempt', 1)}
        batches.append(record)
        return record

    def end_batch(self, run_id, hostnames, outcome, error='', **details):
        """Close the batch of ``hostnames``: done hosts are not taken again by a re-run, failed ones are."""
        record = self.batch(run_id, hostnames)
        if record is None:
            return None
        run = self.runs[run_id]
        hostnames = record['hosts']
        record.update(details)
        record.update(outcome=outcome, error=error, seconds=round(self.now - record['started_ts'], 1))
        if outcome == 'restored':
            run['done'] = run['done'] + [h for h in hostnames if h not in run['done']]
            run['failed'] = [h for h in run['failed'] if h not in hostnames]
        else:
            run['failed'] = list(hostnames)
            run['error'] = error
        return record

    def defer(self, run_id, deferred, taken):
        """Agents of a batch that the disruption budget left for a later pass (tasks moved onto them after the
        plan); ``taken`` are no longer deferred."""
        run = self.runs.get(run_id)
        if run is not None:
            kept = [h for h in run.get('deferred') or [] if h not in taken and h not in deferred]
            run['deferred'] = kept + list(deferred)

    def recovery_due(self, run_id):
        """The running tasks of each group that the last closed batch of ``run_id`` touched, as they were before
        it was taken out (``{group: running}``); empty when there is nothing to wait for."""
        batches = [b for b in (self.runs.get(run_id) or {}).get('batches') or [] if b.get('outcome')]
        return dict(batches[-1].get('groups') or {}) if batches else {}

    def finish_run(self, run_id):
        run = self.runs.get(run_id)
        if run is not None:
            run['finished'] = utc_text(self.now)
        return run


class Store(object):
    """Where the ledger lives. ``locked()`` is a context manager giving the data under an exclusive lock, written
    back on a clean exit when it changed."""

    description = 'ledger'

    def locked(self):
        raise NotImplementedError

    def checkpoint(self, data):
        """Inside ``locked()``: write ``data`` now, keeping the lock (what must be on record before the master is
        asked to change anything)."""
        raise NotImplementedError

    def read(self):
        """The data without a lock (a reader that only reports)."""
        raise NotImplementedError

    def close(self):
        pass


class FileStore(Store):

    def __init__(self, path, lock_timeout=60.0, sleep=time.sleep, clock=time.monotonic):
        self.path = os.path.abspath(os.path.expanduser(path))
        self.lock_path = self.path + '.lock'
        self.lock_timeout = lock_timeout
        self.description = 'ledger file %s' % self.path
        self._sleep = sleep
        self._clock = clock
        self._written = None  # inside locked(): the data as the file holds it

    def _folder(self):
        folder = os.path.dirname(self.path)
        try:
            os.makedirs(folder, 0o700)
        except OSError as exc:
            if exc.errno != errno.EEXIST:
                raise LedgerError('cannot create the folder of the %s: %s' % (self.description, exc))

    def _load(self):
        try:
            with open(self.path, 'rb') as handle:
                raw = handle.read()
        except IOError as exc:
            if exc.errno == errno.ENOENT:
                return empty()
            raise LedgerError('cannot read the %s: %s' % (self.description, exc))
        try:
            text = raw.decode('utf-8')
            return upgrade(json.loads(text) if text.strip() else None)
        except ValueError as exc:
            # A decoding error would show the byte it stopped at; the JSON parser's errors show only positions.
            reason = 'not UTF-8 text' if isinstance(exc, UnicodeDecodeError) else str(exc)
            raise LedgerError('the %s is not valid JSON (%s): nothing was changed; move it away to start a new '
                              'ledger, after checking which agents it says are out of service'
                              % (self.description, reason))
        except LedgerError as exc:
            raise LedgerError('%s: %s' % (self.description, exc))

    def _write(self, data):
        folder = os.path.dirname(self.path)
        fd, tmp = tempfile.mkstemp(prefix='.ledger-', dir=folder)
        try:
            with os.fdopen(fd, 'w') as handle:
                json.dump(data, handle, indent=1, sort_keys=True)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, 0o600)
            os.rename(tmp, self.path)
        except Exception:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def read(self):
        return self._load()

    @contextlib.contextmanager
    def locked(self):
        self._load()  # a file that is no ledger is refused before a lock file is created next to it
        self._folder()
        try:
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise LedgerError('cannot open the lock file of the %s: %s' % (self.description, exc))
        try:
            deadline = self._clock() + self.lock_timeout
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except (IOError, OSError) as exc:
                    if exc.errno not in (errno.EAGAIN, errno.EACCES):
                        raise
                    if self._clock() >= deadline:
                        raise LedgerError('the %s stayed locked by another run for %ss; nothing was changed'
                                          % (self.description, self.lock_timeout))
                    self._sleep(0.05)
            data = self._load()
            self._written = json.dumps(data, sort_keys=True)
            yield data
            self.checkpoint(data)
        finally:
            self._written = None
            os.close(fd)  # also releases the lock

    def checkpoint(self, data):
        text = json.dumps(data, sort_keys=True)
        if text == self._written:
            return
        try:
            self._write(data)
        except (IOError, OSError) as exc:
            raise LedgerError('cannot write the %s: %s; nothing was changed' % (self.description, exc))
        self._written = text


def _split_credentials(rest):
    """(userinfo or None, hosts/path) of a URL without its scheme. The credentials end at the last '@' (ZooKeeper
    hosts and the ledger's path have none), so a secret may hold '@', '/' or ':' even when not percent-encoded."""
    userinfo, sep, tail = rest.rpartition('@')
    if not sep:
        return None, rest
    return userinfo, tail


def parse_zk_url(url):
    """zk://[user:secret@]host:port[,host:port...]/path -> (hosts, path, (user, secret) or None)."""
    if not isinstance(url, str) or not url.startswith(ZK_SCHEME):
        raise LedgerError('a ZooKeeper ledger is a URL like zk://host1:2181,host2:2181/mesos-maintenance '
                          '(optionally zk://user:secret@...), not %s' % redact_zk_url(url))
    userinfo, rest = _split_credentials(url[len(ZK_SCHEME):])
    auth = None
    if userinfo is not None:
        user, sep, secret = userinfo.partition(':')
        if not sep or not user:
            raise LedgerError('the credentials of a ZooKeeper ledger URL are user:secret (%s)' % redact_zk_url(url))
        auth = (unquote(user), unquote(secret))
    hosts, sep, path = rest.partition('/')
    if not hosts:
        raise LedgerError('the ZooKeeper ledger URL %s names no host' % redact_zk_url(url))
    path = '/' + path.strip('/')
    if path == '/':
        raise LedgerError('the ZooKeeper ledger URL %s names no path (zk://host:2181/mesos-maintenance)'
                          % redact_zk_url(url))
    for part in hosts.split(','):
        host, sep, port = part.rpartition(':')
        if not sep or not host or not port.isdigit():
            raise LedgerError('the ZooKeeper ledger URL %s: %s is not host:port' % (redact_zk_url(url), part))
    return hosts, path, auth


def redact_zk_url(url):
    """``url`` without its secret (for messages): zk://user:********@hosts/path."""
    if not isinstance(url, str):
        return 'a %s' % type(url).__name__
    scheme, sep, rest = url.partition('://')
    if not sep:
        scheme, rest = '', url
    else:
        scheme += sep
    userinfo, rest = _split_credentials(rest)
    if userinfo is None:
        return url
    user, sep, dummy = userinfo.partition(':')
    # Without a ':' the one word may be the secret itself: show none of it.
    return '%s%s********@%s' % (scheme, user + ':' if sep else '', rest)


class ZooKeeperStore(Store):
    """The ledger in ZooKeeper: data in ``<path>/ledger``, the lock recipe under ``<path>/lock``. With credentials
    in the URL, every node it creates gets a digest ACL that only that user may use."""

    def __init__(self, url, timeout=10.0, lock_timeout=60.0, identifier=None):
        self.hosts, self.path, self.auth = parse_zk_url(url)
        self.description = 'ZooKeeper ledger %s' % redact_zk_url(url)
        self.timeout = timeout
        self.lock_timeout = lock_timeout
        self.identifier = identifier or who()
        self.data_path = self.path + '/ledger'
        self._client = None
        self._acl = None
        self._retry = None
        self._txn = None  # inside locked(): the data as the node holds it, and the node's version

    def client(self):
        if self._client is not None:
            return self._client
        try:
            from kazoo.client import KazooClient
            from kazoo.retry import KazooRetry
            from kazoo.security import make_digest_acl
        except ImportError:
            raise LedgerError('the ZooKeeper ledger needs the Python library kazoo on the host that runs the API '
                              'calls (pip install kazoo; in an execution environment, add it to its Python '
                              'requirements)')
        auth_data = None
        self._acl = None
        if self.auth:
            auth_data = [('digest', '%s:%s' % self.auth)]
            self._acl = [make_digest_acl(self.auth[0], self.auth[1], all=True)]
        retry = dict(max_tries=-1, delay=0.2, max_delay=2, deadline=self.timeout * 3)
        # default_acl: the lock's nodes (and the ledger's folder) get the digest ACL too, not only the data node.
        client = KazooClient(hosts=self.hosts, timeout=self.timeout, auth_data=auth_data, default_acl=self._acl,
                             connection_retry=dict(retry), command_retry=dict(retry))
        try:
            client.start(timeout=self.timeout)
        except Exception as exc:  # pylint: disable=broad-except
            with contextlib.suppress(Exception):
                client.stop()
            with contextlib.suppress(Exception):
                client.close()
            raise LedgerError('cannot reach the %s within %ss: %s' % (self.description, self.timeout, exc.__class__.__name__))
        self._client = client
        self._retry = KazooRetry(**retry)
        return client

    def _failed(self, what, exc):
        from kazoo.exceptions import NoAuthError
        if isinstance(exc, NoAuthError):
            return LedgerError('the %s refused to %s: its nodes belong to other credentials (the user:secret in its '
                               'URL)' % (self.description, what))
        return LedgerError('cannot %s the %s: %s (ZooKeeper unreachable for too long?)'
                           % (what, self.description, exc.__class__.__name__))

    def _load(self, client):
        from kazoo.exceptions import KazooException, NoNodeError
        try:
            raw, stat = self._retry(client.get, self.data_path)
        except NoNodeError:
            return empty(), None
        except KazooException as exc:
            raise self._failed('read', exc)
        try:
            return upgrade(json.loads(raw.decode('utf-8')) if raw else None), stat.version
        except ValueError as exc:
            raise LedgerError('the %s is not valid JSON (%s): nothing was changed' % (self.description, exc))
        except LedgerError as exc:
            raise LedgerError('%s: %s' % (self.description, exc))

    def _write(self, client, text, version):
        """Write ``text`` if the data node still has ``version`` (None: if it does not exist yet)."""
        from kazoo.exceptions import BadVersionError, KazooException, NodeExistsError
        raw = text.encode('utf-8')
        try:
            if version is None:
                self._retry(client.create, self.data_path, raw, acl=self._acl, makepath=True)
                return 0
            return self._retry(client.set, self.data_path, raw, version=version).version
        except (BadVersionError, NodeExistsError):
            pass
        except KazooException as exc:
            raise self._failed('write', exc)
        # A write retried after a lost connection fails when its first attempt went through (its answer was lost):
        # the node then holds exactly this text.
        try:
            current, stat = self._retry(client.get, self.data_path)
        except KazooException:
            current = stat = None
        if current != raw:
            raise LedgerError('the %s changed while this run held its lock (its ZooKeeper session expired and '
                              'another run took the lock): this change was not written; run again' % self.description)
        return stat.version

    def _release(self, lock):
        try:
            lock.release()
        except Exception:  # pylint: disable=broad-except
            # The lock's node would stay as long as this session, and the next transaction would wait for it: end
            # the session, ZooKeeper deletes its nodes.
            self.close()

    def read(self):
        return self._load(self.client())[0]

    @contextlib.contextmanager
    def locked(self):
        client = self.client()  # first: it says so when kazoo is missing
        from kazoo.exceptions import KazooException, LockTimeout
        lock = client.Lock(self.path + '/lock', self.identifier)
        try:
            acquired = lock.acquire(timeout=self.lock_timeout)
        except LockTimeout:
            acquired = False
        except KazooException as exc:
            self._release(lock)
            raise self._failed('lock', exc)
        if not acquired:
            contenders = 'unknown'
            with contextlib.suppress(Exception):
                contenders = ', '.join(str(c) for c in lock.contenders()) or 'unknown'
            raise LedgerError('the %s stayed locked by another run (%s) for %ss; nothing was changed'
                              % (self.description, contenders, self.lock_timeout))
        try:
            data, version = self._load(client)
            self._txn = {'written': json.dumps(data, sort_keys=True), 'version': version}
            yield data
            self.checkpoint(data)
        finally:
            self._txn = None
            self._release(lock)

    def checkpoint(self, data):
        text = json.dumps(data, sort_keys=True)
        if text != self._txn['written']:
            self._txn['version'] = self._write(self.client(), text, self._txn['version'])
            self._txn['written'] = text

    def close(self):
        if self._client is not None:
            with contextlib.suppress(Exception):
                self._client.stop()
            with contextlib.suppress(Exception):
                self._client.close()
            self._client = None


def open_store(ledger, timeout=10.0):
    """A Store for ``ledger``: a ``zk://`` URL, else a file path."""
    if isinstance(ledger, str) and ledger.startswith(ZK_SCHEME):
        return ZooKeeperStore(ledger, timeout=timeout)
    if not ledger or not isinstance(ledger, str):
        raise LedgerError('ledger must be a file path or a zk:// URL')
    if fcntl is None:  # pragma: no cover
        raise LedgerError('a ledger file needs a POSIX host (fcntl)')
    return FileStore(ledger)


class Ledger(object):
    """A Store with the rules: ``transaction()`` yields a ``LedgerState`` under the store's lock."""

    def __init__(self, store, clock=time.time):
        self.store = store
        self.clock = clock

    @property
    def description(self):
        return self.store.description

    @contextlib.contextmanager
    def transaction(self, dry_run=False):
        """A LedgerState under the store's lock, written back when changed; its ``save()`` writes it at once. With
        ``dry_run`` (check mode) the changes are made to a copy and never written."""
        with self.store.locked() as data:
            if dry_run:
                yield LedgerState(copy.deepcopy(data), self.clock())
            else:
                yield LedgerState(data, self.clock(), save=lambda: self.store.checkpoint(data))

    def snapshot(self):
        """A LedgerState of the data as it is now, for a reader that changes nothing: no lock, as every write
        replaces the whole ledger at once (a file renamed into place, a znode set)."""
        return LedgerState(self.store.read(), self.clock())

    def close(self):
        self.store.close()
