# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""What every backend is: the one interface the modules, the engine and the hold use, so that none of them ever asks
which backend it has. The backends themselves are in ``_backends`` (allocator, native) and ``_schedule``."""

from __future__ import annotations

from abc import ABCMeta, abstractmethod

from ansible_collections.mesos.maintenance.plugins.module_utils._filters import (
    InputError,
    active_task_count,
    agent_report,
)

# What unfilter() found. The master answers "nothing to do" both when somebody else put the agent back first and
# when the retry of a request whose answer was lost finds its own first attempt applied; only the client's record of
# the lost answer tells them apart, and then the change is this run's.
UNFILTERED = 'unfiltered'
ALREADY_BACK = 'already back'
UNFILTERED_ANSWER_LOST = 'unfiltered, answer lost'


def ignore(*args):
    """The ``done`` of a caller that needs no word of each change."""


class Snapshot(object):
    def __init__(self, agents, filters):
        self.agents = agents      # AgentIndex
        self.filters = filters    # [{'agent_id', 'hostname', ...}]: the agents out of the offer cycle

    @property
    def filtered_ids(self):
        return set(f['agent_id'] for f in self.filters)


class Backend(metaclass=ABCMeta):
    """One way to take Mesos agents out of service. "Filtered" means out of service the backend's way (a filter, a
    deactivation, a machine in the maintenance schedule); the entries of a ``Snapshot`` are the filtered agents."""

    #: The value of the ``backend`` option.
    name = None
    #: What the backend is, for messages: "the Offer Filtering Allocator module, Mesos 0.28 to 1.0.3".
    summary = None
    #: Where the filters are, for diff headers.
    label = None
    #: What actions say: (done add, done remove, check-mode add, check-mode remove).
    verbs = ('filtered', 'unfiltered', 'would filter', 'would unfilter')
    #: What the hold says of an agent it takes out again: (done, check mode).
    again_verbs = ('filtered', 'would filter')
    #: What an action adds for ``UNFILTERED_ANSWER_LOST``.
    answer_lost_note = None
    #: Whether ``read()`` includes each agent's task counts (else ``poll()`` is needed to wait).
    reads_task_counts = True
    #: The module options only this backend takes; ``select_backend`` passes them to the constructor.
    options = ()
    #: Why a filter is gone when the master keeps filters through failovers and re-registrations (someone
    #: undid it); None when the backend can lose a filter on its own (the ledger's leader tells why).
    undone_cause = None
    #: What a module should warn about once its changes are made (another writer's change merged, say); a backend
    #: that has such things to say keeps a list of its own.
    notes = ()

    @abstractmethod
    def read(self):
        """A ``Snapshot`` to plan from."""

    def poll(self):
        """A ``Snapshot`` with task counts, for waiting."""
        return self.read()

    @abstractmethod
    def plan(self, state, exclusive, targets, snapshot):
        """What to filter and unfilter (a ``Plan``); raises ``MesosError`` for a plan the master would refuse."""

    @abstractmethod
    def filter(self, agent_id, hostname=None):
        """Take one agent out; raises ``MesosError`` with a message that says what to do. Taking an agent out twice
        is accepted, so a retried ``filter`` needs no outcome."""

    @abstractmethod
    def unfilter(self, agent_id, hostname=None):
        """Put one agent back; returns ``UNFILTERED``, ``ALREADY_BACK`` (someone else was faster) or
        ``UNFILTERED_ANSWER_LOST``."""

    def filter_many(self, items, done=ignore):
        """Take out ``[(agent_id, hostname)]``, calling ``done(agent_id)`` once each is out, so that a failure part
        way leaves the caller knowing which were. A backend that changes many agents in one request overrides it."""
        for agent_id, hostname in items:
            self.filter(agent_id, hostname)
            done(agent_id)

    def unfilter_many(self, items, done=ignore):
        """Put back ``[(agent_id, hostname)]``, calling ``done(agent_id, outcome)`` once each is back."""
        for agent_id, hostname in items:
            done(agent_id, self.unfilter(agent_id, hostname))

    def after_wait(self, agent_ids, check_mode):
        """What to do once the agents are done waiting (their tasks ended): returns ``(changed, actions)``."""
        return False, []

    @abstractmethod
    def filters_after(self, entries, gone=()):
        """The entries after the changes made since the last ``read``/``poll``, less the agent ids in ``gone``."""

    @abstractmethod
    def predict(self, entries, plan, targets, agents):
        """The entries after ``plan``, for check mode."""

    def is_filtered(self, snapshot, agent_id):
        """Whether the agent is out of the offer cycle in ``snapshot``."""
        return agent_id in snapshot.filtered_ids

    @staticmethod
    @abstractmethod
    def is_unknown_agent(error):
        """Whether a ``MesosError`` of ``filter()`` says the master no longer knows the agent."""

    def unknown_hint(self, snapshot):
        """What a module adds to its word on agents the master does not list, when ``snapshot`` tells where they may
        be; nothing by default."""
        return ''

    def is_connected(self, slave):
        """Whether the agent ``slave`` (a state-summary agent) is connected to the master."""
        return bool(slave.get('active', True))

    def remaining(self, slave):
        """What the agent still has to do before it is out of service (``None`` once done)."""
        count = active_task_count(slave)
        return '%d active' % count if count else None

    @abstractmethod
    def inventory(self):
        """``(slaves, filters)`` for offer_filter_info: every agent with its task counts, and the filter entries."""

    def agent_report(self, slave, filtered_ids):
        """One agent as offer_filter_info returns it."""
        return agent_report(slave, filtered_ids)

    @classmethod
    def status_detail(cls, cluster):
        """What the status line adds after the backend's name, from offer_filter_info's result ``cluster``."""
        return ''


def foreign_options(backend_class, params, classes):
    """The options set in ``params`` that belong to another backend of ``classes`` than ``backend_class``, as
    ``[(option, owner class)]``."""
    return [(option, owner) for owner in classes if owner is not backend_class for option in owner.options
            if params.get(option) not in (None, False)]


def refuse_foreign_options(backend_class, params, classes, chosen_by=None):
    """Refuse, before anything changes, options of another backend than ``backend_class`` (asked for by name, or
    chosen by ``auto``: ``chosen_by`` then names the leading master)."""
    foreign = foreign_options(backend_class, params, classes)
    if not foreign:
        return
    owners = []
    for dummy, owner in foreign:
        if owner not in owners:
            owners.append(owner)
    if chosen_by:
        chosen = 'backend=auto chose %s for the leading master at %s' % (backend_class.name, chosen_by)
    else:
        chosen = 'backend=%s was asked for' % backend_class.name
    raise InputError('%s: only with %s, but %s (%s); leave them out%s; nothing was changed'
                     % (', '.join(option for option, dummy in foreign),
                        ' or '.join('backend=%s (%s)' % (owner.name, owner.summary) for owner in owners),
                        chosen, backend_class.summary,
                        ' (wait=true waits for the tasks to end on every backend)' if 'drain' in dict(foreign) else ''))
