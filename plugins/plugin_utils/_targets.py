# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this plugin util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Which agents a playbook acts on: inventory patterns to hosts, hosts to the hostnames their agents registered
with, and the maintenance a rolling run will run (checked before any agent is touched). Pure functions of the
inventory's ``groups``/``hostvars`` and of paths, for the filter plugins."""

from __future__ import annotations

import os
import re

PATTERN_CHARS = re.compile(r'[*?\[\]:!&~]')
SOURCES = ('inventory_hostname', 'ansible_host', 'variable')
EMPTY_AGENTS = ('Set mesos_maintenance_agents to the agents to act on: inventory hosts, groups or patterns, as a '
                'list or a string separated by commas or new lines. For example -e mesos_maintenance_agents='
                'mesos_agents or -e mesos_maintenance_agents=agent-3.example.com,agent-4.example.com.')


class TargetError(ValueError):
    """Input that names no agent, or names one wrongly; the message says what to set."""


def split_names(value):
    """A list, or one string separated by commas, spaces or new lines (as an AWX survey sends it), as a list of
    names without duplicates, in order."""
    if value is None:
        return []
    items = value if isinstance(value, (list, tuple)) else re.split(r'[\s,]+', str(value))
    result = []
    for item in items:
        item = str(item).strip()
        if item and item not in result:
            result.append(item)
    return result


def match_hosts(patterns, groups, query):
    """{'hosts': inventory hosts in order, 'unknown': names that match nothing}. ``query(pattern)`` lists the hosts
    of an inventory pattern; a name that is neither a host, a group nor a pattern is unknown."""
    known = set(groups.get('all') or []) | set(groups)
    found = {'hosts': [], 'unknown': []}
    for pattern in split_names(patterns):
        hosts = query(pattern) if pattern in known or PATTERN_CHARS.search(pattern) else []
        if not hosts:
            found['unknown'].append(pattern)
        for host in hosts:
            if host not in found['hosts']:
                found['hosts'].append(host)
    return found


def agent_hostname(host, hostvars, source, variable):
    """The hostname the Mesos agent on inventory host ``host`` registered with."""
    if source not in SOURCES:
        raise TargetError('agent_maintenance_agent_source must be one of %s, not %s. Nothing was changed.'
                          % (', '.join(SOURCES), source))
    if source == 'inventory_hostname':
        return host
    # A name outside the inventory has no variables (hostvars would answer it with an undefined value).
    variables = hostvars[host] if hasattr(hostvars, 'get') and host in hostvars else {}
    if source == 'ansible_host':
        return str(variables.get('ansible_host') or host)
    if source == 'variable':
        if variable not in variables:
            raise TargetError('agent_maintenance_agent_source is variable, but host %s has no variable %s. Nothing '
                              'was changed.' % (host, variable))
        return str(variables[variable])


def agent_hostnames(hosts, hostvars, source='inventory_hostname', variable='mesos_agent_hostname', agents=None):
    """The agents' hostnames: ``agents`` when given (a list or a survey string), else each of ``hosts`` mapped."""
    explicit = split_names(agents)
    if explicit:
        return explicit
    result = []
    for host in hosts or []:
        name = agent_hostname(host, hostvars, source, variable)
        if name not in result:
            result.append(name)
    return result


def resolve_maintenance(tasks_file, role, cwd, playbook_dir, role_exists):
    """What a rolling maintenance runs on each host, checked before any agent is touched: ('role', name) or
    ('tasks', absolute path). A relative tasks file is looked up in the directory ansible-playbook runs in (an AWX
    project's root), then in the collection's playbooks/ (for the shipped tasks/reboot.yml and tasks/pause.yml)."""
    if role:
        if not role_exists(role):
            raise TargetError('mesos_maintenance_role=%s: no such role (looked for it as a collection role and in the '
                              'roles paths). Nothing was changed.' % role)
        return ('role', role)
    path = tasks_file or 'tasks/reboot.yml'
    candidates = [path] if os.path.isabs(path) else [os.path.join(cwd, path), os.path.join(playbook_dir, path)]
    for candidate in candidates:
        if os.path.isfile(candidate):
            return ('tasks', os.path.abspath(candidate))
    raise TargetError('mesos_maintenance_tasks_file=%s: no such file (looked for %s). A relative path is looked up in '
                      'the directory ansible-playbook runs in, then in the collection\'s playbooks/. Nothing was '
                      'changed.' % (path, ' and '.join(candidates)))
