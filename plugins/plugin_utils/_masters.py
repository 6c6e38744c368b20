# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this plugin util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The decisions of a rolling restart of Mesos masters (the offer_filter_allocator role): which inventory host
leads, and how many masters may be down at once. Pure functions of what the masters answered, for the filter
plugins allocator_leader, allocator_quorum and allocator_serial."""

from __future__ import annotations

import re
import socket

LOCATION = re.compile(r'^(?:[a-z][a-z0-9+.-]*:)?//(?:\[(?P<ip6>[^\]]+)\]|(?P<host>[^:/]+))(?::(?P<port>[0-9]+))?',
                      re.IGNORECASE)


class MastersError(ValueError):
    """Input the decisions cannot work with; the message says what to set."""


# --- which master leads ------------------------------------------------------------------------------------


def parse_location(location):
    """(host, port) of a /master/redirect Location such as ``//m1.example:5050`` or ``http://[::1]:5050``."""
    match = LOCATION.match(location or '')
    if not match:
        return None
    return ((match.group('ip6') or match.group('host')).lower(), int(match.group('port') or 80))


def addresses(name, resolve):
    """The name itself and every address it resolves to (nothing more when it does not resolve)."""
    found = {str(name).lower()}
    try:
        found.update(info[4][0].lower() for info in resolve(str(name), None))
    except (OSError, UnicodeError):
        pass
    return found


def _elected(value):
    """master/elected from /metrics/snapshot (1.0 or 0.0) as True/False, None when the master did not say."""
    if isinstance(value, bool) or value is None:
        return value
    try:
        return float(value) == 1.0
    except (TypeError, ValueError):
        return None


def leader(views, resolve=socket.getaddrinfo):
    """Which of the masters leads, from what each said about itself.

    ``views``: one dict per master, as leader.yml notes them: ``host`` (inventory name), ``elected`` (its own
    ``master/elected``; None without an answer), ``location`` (its /master/redirect Location; empty without a
    leader or an answer), ``names`` (the names it is reached or advertised by: inventory name, ansible_host,
    offer_filter_allocator_master_address and _hostname) and ``port``.

    A master's own word (``master/elected``) needs no name to match. The Location the cluster gives names the
    leader by the hostname it advertises; it is matched to a master by name or resolved address, and port.
    Returns ``{leader, location, reason}``: ``leader`` is the inventory host that leads, or empty when no master
    of the list leads (none elected, or the leader is another master that every listed master says it is not).
    Raises MastersError when the leader cannot be told.
    """
    views = [dict(view, elected=_elected(view.get('elected'))) for view in views]
    claimed = [view['host'] for view in views if view['elected']]
    locations = {}
    for view in views:
        parsed = parse_location(view.get('location'))
        if parsed:
            locations.setdefault(parsed, []).append(view['host'])
    if len(claimed) > 1:
        raise MastersError('%s all say they lead (master/elected is 1 on each): the election has not settled. Nothing '
                           'was changed; run again once one master leads.' % ', '.join(claimed))
    if len(locations) > 1:
        said = '; '.join('%s name //%s:%d' % (', '.join(hosts), host, port) for (host, port), hosts in locations.items())
        raise MastersError('The masters name different leaders (%s): an election is under way. Nothing was changed; '
                           'run again once they agree.' % said)
    location = next(iter(locations), None)
    shown = '//%s:%d' % location if location else ''
    named = []
    if location:
        wanted = addresses(location[0], resolve)
        named = [view['host'] for view in views
                 if int(view.get('port') or 0) == location[1]
                 and any(addresses(name, resolve) & wanted for name in view.get('names') or [] if name)]
    if claimed:
        if named and named != claimed:
            raise MastersError('%s says it leads (master/elected), but the masters name %s (%s) as the leader. Nothing '
                               'was changed; run again once they agree.' % (claimed[0], shown, ', '.join(named)))
        return {'leader': claimed[0], 'location': shown, 'reason': '%s says it leads (master/elected)' % claimed[0]}
    unanswered = [view['host'] for view in views if view['elected'] is None]
    if len(named) == 1 and named[0] in unanswered:
        return {'leader': named[0], 'location': shown,
                'reason': 'the masters name %s, which is %s' % (shown, named[0])}
    if named:
        raise MastersError('The masters name %s as the leader, which matches %s, but %s not say it leads '
                           '(master/elected is 0). Nothing was changed; run again once they agree.'
                           % (shown, ', '.join(named), 'it does' if len(named) == 1 else 'none of them does'))
    if location and unanswered:
        raise MastersError(
            'Cannot tell which master leads: the masters name %s, which matches none of %s by name, address and port, '
            'and %s did not say whether it leads (no master/elected on /metrics/snapshot). Restarting the leader among '
            'the standbys would cost a failover at the wrong time, so nothing was changed. Set ansible_host, '
            'offer_filter_allocator_master_hostname (the name mesos-master advertises) or '
            'offer_filter_allocator_master_port so that the leader can be matched, or bring %s back.'
            % (shown, ', '.join(view['host'] for view in views), ', '.join(unanswered), ', '.join(unanswered)))
    if location:
        return {'leader': '', 'location': shown,
                'reason': 'the leader %s is none of these masters: each says it does not lead' % shown}
    return {'leader': '', 'location': '', 'reason': 'no master names a leader'}


# --- how many masters may be down ----------------------------------------------------------------------------


def max_down(count, quorum=None):
    """How many of ``count`` masters may be down at once: never more than (n-1)/2 (a majority stays up), and never
    so many that fewer than ``quorum`` (Mesos' --quorum; empty: a majority) stay up."""
    if count < 1:
        raise MastersError('The list of masters (offer_filter_allocator_masters) is empty.')
    majority = count // 2 + 1
    if quorum in (None, ''):
        quorum = majority
    try:
        quorum = int(quorum)
    except (TypeError, ValueError):
        raise MastersError('offer_filter_allocator_quorum must be a whole number of masters, got %r.' % (quorum,))
    if not 1 <= quorum <= count:
        raise MastersError('offer_filter_allocator_quorum is %d, but there are %d masters: it must be between 1 and %d '
                           '(a majority is %d).' % (quorum, count, count, majority))
    return min(count - quorum, (count - 1) // 2)


def restart_limit(count, quorum=None):
    """How many masters may be down while some restart: max_down, except that one or two masters have no majority to
    spare, so one of them at a time may restart (each restart is an outage there, whatever the order)."""
    limit = max_down(count, quorum)
    return max(limit, 1) if count <= 2 else limit


def quorum(health, masters, wanted_quorum=None, restarting=()):
    """Would the masters keep their quorum with ``restarting`` down too?

    ``health``: the results of asking each master's /health (a registered loop: ``item`` and ``status``).
    Returns ``{ok, healthy, down, max_down, msg}``; ``msg`` says why not when ``ok`` is false.
    """
    masters = list(masters)
    limit = (restart_limit if restarting else max_down)(len(masters), wanted_quorum)
    healthy = [result.get('item') for result in health if result.get('status') == 200]
    down = [master for master in masters if master not in healthy]
    # Restarting a master that is down already takes nothing away (a first install starts them all at once).
    going = [host for host in restarting if host not in down]
    after = down + going
    ok = len(after) <= limit or (bool(restarting) and not going)
    result = {'ok': ok, 'healthy': healthy, 'down': down, 'max_down': limit, 'msg': ''}
    if ok:
        return result
    up = len(masters) - len(after)
    if going:
        result['msg'] = (
            'Not restarting %s: %s and restarting %s too would leave %d of %d masters up, but at most %d may be down at '
            'once (a majority, and offer_filter_allocator_quorum, must stay up).'
            % (', '.join(going), '%s %s not healthy' % (', '.join(down), 'is' if len(down) == 1 else 'are')
               if down else 'every master is healthy', 'it' if len(going) == 1 else 'them', up, len(masters), limit))
    else:
        result['msg'] = ('Only %d of %d masters are healthy (%s); at most %d may be down (not healthy: %s).'
                         % (len(healthy), len(masters), ', '.join(healthy) or 'none', limit, ', '.join(down)))
    return result


def batch_size(serial, count):
    """The largest batch ``serial`` (a play's serial: a number, ``N%`` or a list of them) makes of ``count`` hosts."""
    items = serial if isinstance(serial, (list, tuple)) else [serial]
    sizes = []
    for item in items:
        text = str(item).strip()
        match = re.fullmatch(r'([0-9]+)(%?)', text)
        if not match or isinstance(item, bool):
            raise MastersError('offer_filter_allocator_serial must be a number of masters, a percentage such as 30%% or a '
                               'list of them, got %r.' % (serial,))
        value = int(match.group(1))
        # As Ansible counts: a percentage of the hosts, rounded down but at least one; 0 means all of them.
        size = max(1, count * value // 100) if match.group(2) else value
        sizes.append(count if size == 0 else min(size, count))
    return max(sizes) if sizes else count


def serial_error(serial, masters, wanted_quorum=None):
    """Why ``serial`` would restart too many masters at once; empty when it would not."""
    masters = list(masters)
    limit = restart_limit(len(masters), wanted_quorum)
    size = batch_size(serial, len(masters))
    if size <= limit:
        return ''
    return ('offer_filter_allocator_serial=%s would restart %d of the %d masters at once, but at most %d may be down at '
            'once (a majority, and offer_filter_allocator_quorum, must stay up). %s Nothing was changed.'
            % (serial, size, len(masters), limit, 'Set it to at most %d.' % limit if limit
               else 'offer_filter_allocator_quorum leaves no master to spare.'))
