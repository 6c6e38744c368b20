# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Mesos' maintenance primitives (Mesos 0.25+) as a backend: the maintenance schedule, machine/down, machine/up.

Only the HTTP endpoints are used (``/master/maintenance/schedule``, ``/master/maintenance/status``,
``/master/machine/down``, ``/master/machine/up``), not the v1 calls, so that Mesos 0.25 to 1.11 are served alike.

**Machines.** The master keeps maintenance per machine, not per agent: an agent's machine is its hostname **and**
the IP of its pid (``slave(1)@10.0.0.5:5051`` -> ``{"hostname": h, "ip": "10.0.0.5"}``), as ``/master/state-summary``
lists them. Two machine ids are the same machine when they set the same fields, with the hostnames equal ignoring case
(``machine_key``); a hostname-only window is another machine than the agent's. Every agent on a machine goes with
it: scheduling one agent schedules all agents that share its hostname and IP.

**Modes.** A machine in the schedule is DRAINING at once (its window may start later): its agents stay registered
and keep getting offers, which carry the window as ``unavailability``, and frameworks get inverse offers, which they
answer (``/master/maintenance/status``). ``machine/down`` takes DRAINING machines to DOWN: the master shuts their
agents down (their tasks are lost) and refuses them until ``machine/up``, which also drops the machine from the
schedule (an emptied window goes). A DOWN machine cannot be left out of a posted schedule (400).

**The schedule has no compare-and-set.** ``POST /master/maintenance/schedule`` replaces the whole schedule, and
every tool that writes it (this one, an operator with curl, DC/OS's maintenance commands) reads, edits and writes
it back. ``ScheduleClient`` therefore:

* copies every window it did not change verbatim (others' windows are never rewritten), adds its machines in ONE
  new window, drops machines only from the windows that hold them (a window left empty goes);
* leaves alone a machine that is already in a window (someone else's, or its own from an earlier run): reported in
  ``ScheduleChange.already``, never moved into the new window;
* reads the schedule again right before each write and merges with that (not with what the caller planned from:
  ``changed_since_read`` says whether it differed);
* reads it again right after each write. Its own write held every window it saw, so any of them missing then was
  removed by someone else after that write (reported in ``ScheduleChange.dropped_by_others``, not undone). If the
  machines it added are missing (or the machines it removed are back) another writer posted a schedule made from a
  read older than our write: our update was lost; it merges again and writes again, at most ``max_attempts``
  times, then fails with ``ScheduleConflict``;
* a 400 that only a concurrent change explains (a machine that went DOWN after our read "cannot be removed from the
  schedule") also counts as a lost update: read again (bring it up first if it is one we remove) and retry.

What cannot be detected: a write by someone else that lands between our last read and our POST (one round trip) is
overwritten by our POST without a trace we can see, even when it scheduled one of our machines (our POST then holds
it once, in our window, and Mesos accepts it); only its writer can tell, by reading after writing as we do.
Two writers that both verify converge; a writer that does not verify can lose its change to us (and we ours to it,
which we detect and repair). Also, every write of the schedule, ours included, makes the master start its
maintenance afresh for every machine in it: the frameworks' earlier answers to inverse offers are forgotten and new
inverse offers go out (Mesos' ``updateUnavailability``); that is Mesos', and any writer's, behaviour.
"""

from __future__ import annotations

import json
import time

from ansible_collections.mesos.maintenance.plugins.module_utils._backend import (
    ALREADY_BACK,
    UNFILTERED,
    UNFILTERED_ANSWER_LOST,
    Backend,
    Snapshot,
    ignore,
)
from ansible_collections.mesos.maintenance.plugins.module_utils._client import parse_json
from ansible_collections.mesos.maintenance.plugins.module_utils._errors import MesosError, name_list, short_body
from ansible_collections.mesos.maintenance.plugins.module_utils._filters import (
    AgentIndex,
    InputError,
    Plan,
    describe_agent,
)

SCHEDULE_PATH = '/master/maintenance/schedule'
STATUS_PATH = '/master/maintenance/status'
DOWN_PATH = '/master/machine/down'
UP_PATH = '/master/machine/up'

UP = 'UP'
DRAINING = 'DRAINING'
DOWN = 'DOWN'

SCHEDULE_MIN_VERSION = (0, 25)
DEFAULT_DURATION = 3600       # seconds: a window's length when none is given
MAX_WRITE_ATTEMPTS = 5        # writes of the schedule per change before a lost update is reported
NANOSECONDS = 1000000000

# The 400 text that means the schedule changed between our read and our write: a machine went DOWN meanwhile and our
# schedule leaves it out (src/master/maintenance.cpp). Mesos checks a posted schedule against the machines' modes
# only: "appears more than once" is about the posted document alone, never about what it replaces.
CONCURRENT_REFUSAL = 'is deactivated and cannot be removed from the schedule'
NOT_DOWN = 'is not in DOWN mode and cannot be brought up'
NOT_DRAINING = 'is not in DRAINING mode and cannot be brought down'
NOT_SCHEDULED = 'is not part of a maintenance schedule'


class ScheduleConflict(MesosError):
    """The schedule kept changing under our writes (a lost update every time)."""


class UnknownAgentError(MesosError):
    """The agent is not in the last read of the master's agents (gone, or back under a new id)."""


# --- machines ------------------------------------------------------------------------------------------------------
def pid_ip(pid):
    """The IP of a libprocess pid: ``slave(1)@10.0.0.5:5051`` -> ``10.0.0.5``; ``None`` for anything else."""
    if not isinstance(pid, str) or '@' not in pid:
        return None
    address = pid.rsplit('@', 1)[1]
    ip, sep, port = address.rpartition(':')
    if not sep or not ip or not port.isdigit():
        return None
    return ip


def agent_machine(slave):
    """The agent's machine id as the master builds it (hostname and the IP of its pid), ``None`` when the agent
    document lacks either."""
    hostname = slave.get('hostname')
    ip = pid_ip(slave.get('pid'))
    if not isinstance(hostname, str) or not hostname or ip is None:
        return None
    return {'hostname': hostname, 'ip': ip}


def machine_key(machine):
    """What Mesos compares two machine ids by: which fields are set, the hostname without case, the IP."""
    return ('hostname' in machine, (machine.get('hostname') or '').lower(), 'ip' in machine, machine.get('ip') or '')


def machine_text(machine):
    """A machine for messages: ``host (10.0.0.5)``, ``host`` or ``10.0.0.5``."""
    hostname, ip = machine.get('hostname'), machine.get('ip')
    if hostname and ip:
        return '%s (%s)' % (hostname, ip)
    return hostname or ip or json.dumps(machine, sort_keys=True)


def synthetic_id(machine):
    """The agent id an entry gets for a DOWN machine the master lists no agent of (``machine/down`` removed them, and
    their ids are not kept anywhere): ``machine:host/ip``. Resolvable by hostname (``resolve_targets`` looks in the
    entries), so ``state: absent`` by hostname brings the machine up."""
    return 'machine:%s/%s' % (machine.get('hostname') or '', machine.get('ip') or '')


def nanoseconds(seconds):
    return int(round(seconds * NANOSECONDS))


def seconds_of(time_info):
    """A TimeInfo / DurationInfo ``{"nanoseconds": N}`` in seconds, ``None`` when absent."""
    if not isinstance(time_info, dict) or not isinstance(time_info.get('nanoseconds'), int):
        return None
    return time_info['nanoseconds'] / float(NANOSECONDS)


# --- the schedule as data ------------------------------------------------------------------------------------------
def windows_of(schedule):
    """The windows of a schedule document (``{}`` has none)."""
    windows = schedule.get('windows') if isinstance(schedule, dict) else None
    return windows if isinstance(windows, list) else []


def canonical(schedule):
    """A schedule as a comparable value: the order of windows means nothing to the master."""
    return sorted(json.dumps(window, sort_keys=True) for window in windows_of(schedule))


def scheduled(schedule):
    """``{machine key: window}`` of every machine in the schedule."""
    result = {}
    for window in windows_of(schedule):
        for machine in window.get('machine_ids') or []:
            if isinstance(machine, dict):
                result[machine_key(machine)] = window
    return result


def window_info(window):
    """A window as reports show it: ``{'start': unix seconds, 'duration': seconds or None}``."""
    unavailability = window.get('unavailability') or {}
    return {'start': seconds_of(unavailability.get('start')), 'duration': seconds_of(unavailability.get('duration'))}


def add_window(schedule, machines, start_ns, duration_ns):
    """``schedule`` plus ONE new window ``[start, start + duration)`` holding those of ``machines`` that no window
    holds yet. Returns ``(new schedule, added machines, already)``, ``already`` being ``[(machine, window)]`` for
    machines some window holds (left where they are). Every other window is copied as it is."""
    held = scheduled(schedule)
    added, already, keys = [], [], set()
    for machine in machines:
        key = machine_key(machine)
        if key in keys:
            continue
        keys.add(key)
        if key in held:
            already.append((machine, held[key]))
        else:
            added.append(machine)
    windows = list(windows_of(schedule))
    if added:
        windows.append({'machine_ids': [dict(m) for m in added],
                        'unavailability': {'start': {'nanoseconds': start_ns}, 'duration': {'nanoseconds': duration_ns}}})
    return {'windows': windows}, added, already


def drop_machines(schedule, machines):
    """``schedule`` without ``machines``: each dropped from the window that holds it, other machines of that window
    kept, a window left empty dropped. Returns ``(new schedule, dropped machine ids as the schedule had them)``."""
    keys = set(machine_key(m) for m in machines)
    windows, dropped = [], []
    for window in windows_of(schedule):
        ids = window.get('machine_ids') or []
        kept = [m for m in ids if not (isinstance(m, dict) and machine_key(m) in keys)]
        if len(kept) == len(ids):
            windows.append(window)
            continue
        dropped.extend(m for m in ids if isinstance(m, dict) and machine_key(m) in keys)
        if kept:
            windows.append(dict(window, machine_ids=kept))
    return {'windows': windows}, dropped


def parse_status(body):
    """``/master/maintenance/status`` as ``{machine key: {'machine', 'mode', 'inverse_offers'}}`` (UP machines are
    not listed). ``inverse_offers`` is the frameworks' latest answers: ``[{'framework_id', 'status', 'timestamp'}]``,
    ``timestamp`` in unix seconds."""
    if not isinstance(body, dict):
        raise ValueError('not a JSON object')
    result = {}
    for entry in body.get('draining_machines') or []:
        machine = entry.get('id') if isinstance(entry, dict) else None
        if not isinstance(machine, dict):
            raise ValueError('unexpected draining machine %s' % short_body(json.dumps(entry), 120))
        answers = []
        for status in entry.get('statuses') or []:
            if not isinstance(status, dict):
                continue
            answers.append({'framework_id': (status.get('framework_id') or {}).get('value'),
                            'status': status.get('status'), 'timestamp': seconds_of(status.get('timestamp'))})
        result[machine_key(machine)] = {'machine': machine, 'mode': DRAINING, 'inverse_offers': answers}
    for machine in body.get('down_machines') or []:
        if not isinstance(machine, dict):
            raise ValueError('unexpected down machine %s' % short_body(json.dumps(machine), 120))
        result[machine_key(machine)] = {'machine': machine, 'mode': DOWN, 'inverse_offers': []}
    return result


def maintenance_of(machine, schedule, status):
    """An agent's (or machine's) maintenance as offer_filter_info reports it: ``{'machine', 'mode' (UP, DRAINING,
    DOWN), 'window' ({'start', 'duration'} in seconds, or None), 'inverse_offers'}``."""
    if machine is None:
        return {'machine': None, 'mode': None, 'window': None, 'inverse_offers': []}
    key = machine_key(machine)
    window = scheduled(schedule).get(key)
    listed = status.get(key)
    mode = listed['mode'] if listed else (DRAINING if window is not None else UP)
    return {'machine': machine, 'mode': mode, 'window': window_info(window) if window is not None else None,
            'inverse_offers': list(listed['inverse_offers']) if listed else []}


class ScheduleChange(object):
    """What one ``ScheduleClient.add`` / ``remove`` did and saw."""

    def __init__(self):
        self.added = []               # machines put into our new window
        self.already = []             # [(machine, window)]: in a window before us, left there
        self.removed = []             # machines dropped from their windows by our write
        self.brought_up = []          # DOWN machines brought up (Mesos drops them from the schedule)
        self.up_answer_lost = []      # ... of which the retry of a lost answer found up already
        self.absent = []              # machines to remove that no window held
        self.writes = 0               # schedule POSTs sent
        self.lost_updates = 0         # writes another writer undid (detected after the write)
        self.changed_since_read = False   # the schedule differed from the one the caller planned from
        self.dropped_by_others = []   # machines of windows we kept that were gone right after our write
        self.schedule = None          # the schedule as read after our last write (or as read, with no write)

    @property
    def changed(self):
        return bool(self.added or self.removed or self.brought_up)


class ScheduleClient(object):
    """The maintenance endpoints over a ``MesosClientBase`` (leader discovery, retries, credentials)."""

    def __init__(self, client, max_attempts=MAX_WRITE_ATTEMPTS, clock=None):
        self.client = client
        self.max_attempts = max_attempts
        self._clock = clock or time.time

    def url(self, path):
        return (self.client.leader or '') + path

    # --- requests ------------------------------------------------------------------------------------------------
    def get(self, path):
        response = self.client.leader_request('GET', path)
        url = self.url(path)
        self._check(response, 'GET', url)
        return parse_json(response, 'GET', url)

    def post(self, path, body):
        """POST ``body``; returns the response (200 or 400) or raises for anything else."""
        response = self.client.leader_request('POST', path, json_body=body)
        if response.status_code not in (200, 400):
            self._check(response, 'POST', self.url(path))
        return response

    def _check(self, response, method, url):
        try:
            self.client.check_status(response, method, url)
        except MesosError as exc:
            if response.status_code != 404:
                raise
            raise MesosError('%s; this master has no maintenance primitives: backend=schedule needs Mesos %s or later'
                             % (exc.msg, '.'.join(str(p) for p in SCHEDULE_MIN_VERSION)),
                             method=method, url=url, status=404, body=response.content)

    def refusal(self, response, method, path, what):
        text = short_body(response.content) or ''
        return MesosError('%s: %s %s answered 400: %s' % (what, method, self.url(path), text), method=method,
                          url=self.url(path), status=400, body=response.content)

    def read_schedule(self):
        body = self.get(SCHEDULE_PATH)
        if not isinstance(body, dict) or not isinstance(body.get('windows', []), list):
            raise MesosError('GET %s: not a maintenance schedule: %s'
                             % (self.url(SCHEDULE_PATH), short_body(json.dumps(body), 120)))
        return {'windows': windows_of(body)}

    def read_status(self):
        """``/master/maintenance/status`` (see ``parse_status``)."""
        body = self.get(STATUS_PATH)
        try:
            return parse_status(body)
        except ValueError as exc:
            raise MesosError('GET %s: not a maintenance status (%s)' % (self.url(STATUS_PATH), exc))

    # --- changes -------------------------------------------------------------------------------------------------
    def add(self, machines, duration, start=None, planned_from=None):
        """Put those of ``machines`` that are in no window into ONE new window from ``start`` (unix seconds; now by
        default) for ``duration`` seconds, keeping every other window. ``planned_from`` is the schedule the caller
        decided on (to tell whether it changed since). Returns a ``ScheduleChange``."""
        change = ScheduleChange()
        start_ns = nanoseconds(self._clock() if start is None else start)
        duration_ns = nanoseconds(duration)
        current = self.read_schedule()
        if planned_from is not None and canonical(current) != canonical(planned_from):
            change.changed_since_read = True
        while True:
            new, added, already = add_window(current, machines, start_ns, duration_ns)
            change.already = already
            if not added:
                # Nothing (more) to add: ours are in (from an earlier attempt) or others hold them.
                change.schedule = current
                return change
            after = self._write(change, new, 'adding %s to the maintenance schedule' % name_list(added, machine_text))
            if after is None:   # refused for a change made meanwhile: read again
                current = self.read_schedule()
                continue
            held = scheduled(after)
            missing = [m for m in added if machine_key(m) not in held]
            self._note_dropped(change, current, after, added)
            if not missing:
                change.added.extend(added)
                change.schedule = after
                return change
            self._lost(change, 'adding %s to the maintenance schedule' % name_list(missing, machine_text))
            current = after

    def remove(self, machines, status=None):
        """Take ``machines`` out of maintenance: ``machine/up`` for the DOWN ones (which also drops them from the
        schedule), then drop the others from their windows, keeping the other machines of those windows. ``status``
        is a ``read_status`` answer to start from. Returns a ``ScheduleChange``."""
        change = ScheduleChange()
        status = self.read_status() if status is None else status
        self._bring_up(change, machines, status)
        up_keys = set(machine_key(m) for m in change.brought_up)
        rest = [m for m in machines if machine_key(m) not in up_keys]
        current = self.read_schedule()
        wanted = set(machine_key(m) for m in rest)
        change.absent = [m for m in rest if machine_key(m) not in scheduled(current)]
        while True:
            new, dropped = drop_machines(current, rest)
            if not dropped:
                change.schedule = current
                return change
            after = self._write(change, new, 'removing %s from the maintenance schedule'
                                % name_list(dropped, machine_text))
            if after is None:
                # A machine went DOWN meanwhile: ours must come up first; someone else's is kept by reading again.
                self._bring_up(change, rest, self.read_status())
                up_keys = set(machine_key(m) for m in change.brought_up)
                rest = [m for m in rest if machine_key(m) not in up_keys]
                current = self.read_schedule()
                continue
            back = [m for m in dropped if machine_key(m) in scheduled(after)]
            self._note_dropped(change, current, after, dropped)
            if not back:
                change.removed.extend(m for m in dropped if machine_key(m) in wanted)
                change.schedule = after
                return change
            self._lost(change, 'removing %s from the maintenance schedule' % name_list(back, machine_text))
            current = after

    def down(self, machines, status=None):
        """``machine/down`` for those of ``machines`` that are DRAINING. Returns ``(downed, already_down)``; a machine
        that is in no window (UP) is an error (its maintenance was taken away: nothing is brought down then)."""
        for attempt in range(1, self.max_attempts + 1):
            status = self.read_status() if status is None or attempt > 1 else status
            modes = dict((machine_key(m), (status.get(machine_key(m)) or {}).get('mode', UP)) for m in machines)
            up = [m for m in machines if modes[machine_key(m)] == UP]
            if up:
                raise MesosError('cannot mark %s DOWN: not in the maintenance schedule (someone took them out since '
                                 'they were scheduled?); nothing was brought down; schedule them again first'
                                 % name_list(up, machine_text))
            draining = [m for m in machines if modes[machine_key(m)] == DRAINING]
            already = [m for m in machines if modes[machine_key(m)] == DOWN]
            if not draining:
                return [], already
            response = self.post(DOWN_PATH, draining)
            if response.status_code == 200:
                return draining, already
            text = short_body(response.content) or ''
            if NOT_DRAINING not in text and NOT_SCHEDULED not in text:
                raise self.refusal(response, 'POST', DOWN_PATH, 'marking %s DOWN' % name_list(draining, machine_text))
            # Their mode changed since the status was read: read it again.
        raise ScheduleConflict('marking %s DOWN: their maintenance mode kept changing under %d attempts (another tool '
                               'runs machine/down or machine/up at the same time); look at %s, then run again'
                               % (name_list(machines, machine_text), self.max_attempts, self.url(STATUS_PATH)))

    # --- helpers -------------------------------------------------------------------------------------------------
    def _bring_up(self, change, machines, status):
        down = [m for m in machines if (status.get(machine_key(m)) or {}).get('mode') == DOWN]
        for _attempt in range(self.max_attempts):
            if not down:
                return
            response = self.post(UP_PATH, down)
            if response.status_code == 200:
                change.brought_up.extend(down)
                if response.answer_lost:
                    change.up_answer_lost.extend(down)
                return
            text = short_body(response.content) or ''
            if NOT_DOWN not in text and NOT_SCHEDULED not in text:
                raise self.refusal(response, 'POST', UP_PATH, 'bringing %s up' % name_list(down, machine_text))
            # Someone brought one up first (or our own first attempt did, its answer lost): up the rest.
            status = self.read_status()
            still = [m for m in down if (status.get(machine_key(m)) or {}).get('mode') == DOWN]
            if response.answer_lost:
                change.up_answer_lost.extend(m for m in down if m not in still)
                change.brought_up.extend(m for m in down if m not in still)
            down = still
        raise ScheduleConflict('bringing %s up: their maintenance mode kept changing under %d attempts (another tool '
                               'runs machine/down or machine/up at the same time); look at %s, then run again'
                               % (name_list(down, machine_text), self.max_attempts, self.url(STATUS_PATH)))

    def _write(self, change, schedule, what):
        """POST the schedule and read it back; ``None`` when a 400 says the schedule changed meanwhile."""
        if change.writes >= self.max_attempts:
            self._give_up(change, what)
        change.writes += 1
        response = self.post(SCHEDULE_PATH, schedule)
        if response.status_code == 400:
            text = short_body(response.content) or ''
            if CONCURRENT_REFUSAL in text:
                change.lost_updates += 1
                return None
            raise self.refusal(response, 'POST', SCHEDULE_PATH, what)
        return self.read_schedule()

    def _lost(self, change, what):
        change.lost_updates += 1
        if change.writes >= self.max_attempts:
            self._give_up(change, what)

    def _give_up(self, change, what):
        raise ScheduleConflict(
            '%s: gave up after %d writes of the maintenance schedule, each undone by another writer that posted a '
            'schedule made from an older read (Mesos\' schedule endpoint has no compare-and-set: every writer posts '
            'the whole schedule). The schedule is now what that writer last posted: look at %s. Find it (another run '
            'of this collection at the same time, an operator\'s script, DC/OS maintenance commands), let it finish, '
            'then run again'
            % (what, change.writes, self.url(SCHEDULE_PATH)), method='POST', url=self.url(SCHEDULE_PATH))

    @staticmethod
    def _note_dropped(change, before, after, ours):
        """Machines of windows we kept (in ``before`` and in our write) that are gone from ``after``: someone else
        took them out after our write. Not ours to undo; reported."""
        ours = set(machine_key(m) for m in ours)
        held = scheduled(after)
        for window in windows_of(before):
            for machine in window.get('machine_ids') or []:
                key = machine_key(machine)
                if key not in ours and key not in held and machine not in change.dropped_by_others:
                    change.dropped_by_others.append(machine)


# --- the backend ---------------------------------------------------------------------------------------------------
class ScheduleBackend(Backend):
    """Mesos' maintenance schedule (0.25+): an agent is "filtered" while its machine is in the schedule (DRAINING or
    DOWN). Same interface as ``AllocatorBackend`` and ``NativeBackend`` (see ``_backends``), plus the batch calls
    ``filter_many`` / ``unfilter_many`` (one schedule write for many agents, one window for all) and ``mark_down``.

    Filter entries: ``{'agent_id', 'hostname', 'machine', 'mode'}``, one per registered agent on a scheduled machine,
    plus one per DOWN machine that the master lists no agent of (``synthetic_id``).
    """

    name = 'schedule'
    summary = "Mesos' maintenance schedule, Mesos 0.25 or later"
    label = SCHEDULE_PATH
    options = ('window_duration', 'down')
    again_verbs = ('scheduled maintenance for', 'would schedule maintenance for')
    undone_cause = 'someone took its machine out of the maintenance schedule'
    reads_task_counts = True   # read() includes /master/state-summary, with each agent's task counts
    verbs = ('scheduled maintenance for', 'ended maintenance for', 'would schedule maintenance for',
             'would end maintenance for')
    answer_lost_note = 'the first answer was lost; the retry found the machine already up'

    def __init__(self, client, window_duration=DEFAULT_DURATION, down=False, max_attempts=MAX_WRITE_ATTEMPTS):
        if not 0 < window_duration < float('inf'):  # also refuses NaN
            raise InputError('window_duration must be a positive, finite number of seconds, not %s' % window_duration)
        self.client = client
        self.schedule = ScheduleClient(client, max_attempts)
        self.duration = window_duration
        self.down = bool(down)
        self._agents = AgentIndex([])
        self._read = {'windows': []}     # the schedule as read by the last read()/poll()
        self._status = {}                # its status, by machine key
        self._machines = {}              # agent id (synthetic ones too) -> machine, from the last read
        self._after = None               # (schedule, status) after our changes since the last read
        self.changes = []                # every ScheduleChange since the backend was made
        self.notes = []                  # what a module should tell (others' machines left alone, merges)

    # --- reading ---------------------------------------------------------------------------------------------
    def read(self):
        slaves = self.client.get_agents()
        schedule = self.schedule.read_schedule()
        status = self.schedule.read_status()
        self._agents = AgentIndex(slaves)
        self._read, self._status, self._after = schedule, status, None
        self._machines = {}
        for agent_id, slave in self._agents.by_id.items():
            machine = agent_machine(slave)
            if machine is not None:
                self._machines[agent_id] = machine
        entries = self.entries(schedule, status)
        for entry in entries:
            self._machines.setdefault(entry['agent_id'], entry['machine'])
        return Snapshot(self._agents, entries)

    def inventory(self):
        snapshot = self.read()
        return list(snapshot.agents.by_id.values()), snapshot.filters

    def agent_report(self, slave, filtered_ids):
        report = Backend.agent_report(self, slave, filtered_ids)
        report['maintenance'] = self.report(slave['id'])
        return report

    def entries(self, schedule, status):
        """The filter entries for a schedule and status, over the agents of the last read."""
        held = scheduled(schedule)
        result, listed = [], set()
        for agent_id, slave in self._agents.by_id.items():
            machine = agent_machine(slave)
            if machine is None:
                continue
            key = machine_key(machine)
            if key in held:
                listed.add(key)
                result.append({'agent_id': agent_id, 'hostname': slave.get('hostname'), 'machine': machine,
                               'mode': (status.get(key) or {}).get('mode', DRAINING)})
        for key, item in status.items():
            if item['mode'] == DOWN and key not in listed:
                machine = item['machine']
                result.append({'agent_id': synthetic_id(machine), 'hostname': machine.get('hostname'),
                               'machine': machine, 'mode': DOWN})
        return result

    def machine(self, agent_id, hostname=None):
        machine = self._machines.get(agent_id)
        if machine is None:
            if agent_id in self._agents.by_id:
                raise MesosError('agent %s: the master lists it without a pid, so its machine (hostname and IP) is '
                                 'unknown and it cannot be scheduled for maintenance' % describe_agent(agent_id, hostname))
            raise UnknownAgentError('agent %s is not registered with the master (anymore)'
                                    % describe_agent(agent_id, hostname))
        return machine

    def unknown_hint(self, snapshot):
        """The DOWN machines whose agents the master no longer lists: their agent ids are gone with them, their
        hostnames still name them (``synthetic_id``)."""
        down = [e['machine'] for e in snapshot.filters if e['agent_id'] == synthetic_id(e['machine'])]
        if not down:
            return ''
        return ('; the machines %s are DOWN: the master no longer lists their agents, nor those agents\' ids; name '
                'them by hostname' % name_list(down, machine_text))

    def report(self, agent_id):
        """The agent's maintenance as of the last read (``maintenance_of``)."""
        schedule, status = self._after or (self._read, self._status)
        return maintenance_of(self._machines.get(agent_id), schedule, status)

    # --- planning --------------------------------------------------------------------------------------------
    def plan(self, state, exclusive, targets, snapshot):
        """``compute_plan``'s plan, except that nothing is kept for being disconnected (an agent is in the schedule
        because someone put its machine there, never because it disconnected). Adds ``plan.left_alone`` (targets
        whose machine a window already holds: reported, not moved) and ``plan.also_affected`` (agents not named that
        share a machine with an agent added or removed: they go with it)."""
        filtered = [e['agent_id'] for e in snapshot.filters]
        filtered_set = set(filtered)
        wanted = set(targets.ids)
        plan = Plan()
        if state == 'present':
            plan.add = [aid for aid in targets.ids if aid not in filtered_set]
            plan.remove = [aid for aid in filtered if aid not in wanted] if exclusive else []
        else:
            plan.remove = [aid for aid in targets.ids if aid in filtered_set]
        for aid in plan.add:
            self.machine(aid, targets.hostnames.get(aid))   # fails now, before any change, without a machine
        held = scheduled(self._read)
        if state == 'present':
            for aid in targets.ids:
                machine = self._machines.get(aid)
                if aid in filtered_set and machine is not None and machine_key(machine) in held:
                    plan.left_alone.append({'agent_id': aid, 'hostname': targets.hostnames.get(aid),
                                            'machine': machine, 'window': window_info(held[machine_key(machine)])})
        changed_keys = set(machine_key(self._machines[aid]) for aid in plan.add + plan.remove if aid in self._machines)
        named = set(plan.add + plan.remove)
        plan.also_affected = [aid for aid, machine in sorted(self._machines.items())
                              if aid not in named and aid in self._agents.by_id and machine_key(machine) in changed_keys]
        return plan

    def predict(self, entries, plan, targets, agents):
        """The entries after the plan, for check mode: a machine goes or comes with all its agents."""
        removed = set(machine_key(self._machines[aid]) for aid in plan.remove if aid in self._machines)
        added = set(machine_key(self._machines[aid]) for aid in plan.add if aid in self._machines)
        result = [dict(e) for e in entries if machine_key(e['machine']) not in removed]
        listed = set(e['agent_id'] for e in result)
        for aid, slave in agents.by_id.items():
            machine = agent_machine(slave)
            if machine is not None and machine_key(machine) in added and aid not in listed:
                result.append({'agent_id': aid, 'hostname': slave.get('hostname'), 'machine': machine, 'mode': DRAINING})
        return result

    # --- changing --------------------------------------------------------------------------------------------
    def filter(self, agent_id, hostname=None):
        self.filter_many([(agent_id, hostname)])

    def filter_many(self, items, done=ignore):
        """Schedule the machines of ``[(agent_id, hostname)]`` in ONE new window from now for ``duration`` seconds,
        with one schedule write (more only when another writer undid it), then ``done(agent_id)`` for each. Returns the
        ``ScheduleChange``."""
        machines = [self.machine(aid, host) for aid, host in items]
        schedule, status = self._after or (self._read, self._status)
        change = self.schedule.add(machines, self.duration, planned_from=schedule)
        self._record(change, status)
        if change.changed_since_read:
            self.notes.append('the maintenance schedule changed since it was read; merged with the new one')
        planned = scheduled(schedule)
        for machine, window in change.already:
            if machine_key(machine) not in planned:
                info = window_info(window)
                self.notes.append('%s was put into a maintenance window by someone else meanwhile (start %s, '
                                  'duration %s s): left there' % (machine_text(machine), info['start'], info['duration']))
        for agent_id, dummy in items:
            done(agent_id)
        return change

    def unfilter(self, agent_id, hostname=None):
        return self.unfilter_many([(agent_id, hostname)])[agent_id]

    def unfilter_many(self, items, done=ignore):
        """End the maintenance of the machines of ``[(agent_id, hostname)]`` (machine/up for DOWN ones, then one
        schedule write), then ``done(agent_id, outcome)`` for each. Returns ``{agent_id: UNFILTERED | ALREADY_BACK |
        UNFILTERED_ANSWER_LOST}``."""
        machines = dict((aid, self.machine(aid, host)) for aid, host in items)
        status = (self._after or (self._read, self._status))[1]
        unique = list(dict((machine_key(m), m) for m in machines.values()).values())
        change = self.schedule.remove(unique)
        self._record(change, status)
        lost = set(machine_key(m) for m in change.up_answer_lost)
        ended = set(machine_key(m) for m in change.removed + change.brought_up) - lost
        outcomes = {}
        for aid, machine in machines.items():
            key = machine_key(machine)
            outcomes[aid] = UNFILTERED if key in ended else UNFILTERED_ANSWER_LOST if key in lost else ALREADY_BACK
            done(aid, outcomes[aid])
        return outcomes

    def mark_down(self, agent_ids):
        """``down: true`` after the wait: mark the machines of ``agent_ids`` DOWN (their agents are shut down and
        their tasks lost). Returns ``(downed machines, already DOWN machines)``."""
        machines = self._unique_machines(agent_ids)
        downed, already = self.schedule.down(machines)
        schedule, status = self._after or (self._read, self._status)
        status = dict(status)
        for machine in downed:
            status[machine_key(machine)] = {'machine': machine, 'mode': DOWN, 'inverse_offers': []}
        self._after = (schedule, status)
        return downed, already

    def after_wait(self, agent_ids, check_mode):
        if not self.down:
            return False, []
        if check_mode:
            status = (self._after or (self._read, self._status))[1]
            downed = [m for m in self._unique_machines(agent_ids) if (status.get(machine_key(m)) or {}).get('mode') != DOWN]
        else:
            downed = self.mark_down(agent_ids)[0]
        if not downed:
            return False, []
        # Only for machines that go DOWN now: a second run over DOWN machines has nothing to warn about.
        self.notes.append('down=true: %d machine(s) %s DOWN. Mesos shuts their agents down (whatever still runs there '
                          'is lost) and refuses them until state=absent brings the machines up'
                          % (len(downed), 'would be marked' if check_mode else 'marked'))
        return True, ['%s %s' % ('would mark DOWN' if check_mode else 'marked DOWN', name_list(downed, machine_text))]

    def _unique_machines(self, agent_ids):
        return list(dict((machine_key(m), m) for m in (self.machine(aid) for aid in agent_ids)).values())

    def _record(self, change, status):
        status = dict(status)
        for machine in change.brought_up + change.removed:
            status.pop(machine_key(machine), None)
        for machine in change.added:
            status[machine_key(machine)] = {'machine': machine, 'mode': DRAINING, 'inverse_offers': []}
        self._after = (change.schedule, status)
        self.changes.append(change)
        if change.dropped_by_others:
            self.notes.append('someone else took %s out of the maintenance schedule meanwhile'
                              % name_list(change.dropped_by_others, machine_text))
        if change.lost_updates:
            self.notes.append('another writer replaced the maintenance schedule %d time(s) during this change; '
                              'merged and written again' % change.lost_updates)

    def filters_after(self, entries, gone=()):
        if self._after is None:
            return [dict(e) for e in entries if e['agent_id'] not in gone]
        return [e for e in self.entries(*self._after) if e['agent_id'] not in gone]

    # --- waiting ---------------------------------------------------------------------------------------------
    @staticmethod
    def is_unknown_agent(error):
        """Whether a failed filter() says the master no longer knows the agent."""
        return isinstance(error, UnknownAgentError)
