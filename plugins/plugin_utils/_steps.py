# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this plugin util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The action plugins of the maintenance engine's modules: they run on the controller, call their module on the
(delegated) host slice by slice, and print what the module waits for between slices, so that a long wait is never
silent (on a terminal and in AWX's job output alike). What a module returns in ``lines`` is printed as plain text."""

from __future__ import annotations

import os
import time

from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.mesos.maintenance.plugins.module_utils._errors import name_list

display = Display()

# The modules' default progress_interval, and the seconds a module call spends outside its slice of the wait.
PROGRESS_INTERVAL = 10.0
CALL_MARGIN = 2.0

# Each step's wait option, its module default, and what is awaited.
WAITS = {
    'maintenance_drain': ('wait_timeout', 600, 'the tasks of %d agent(s) to end'),
    'maintenance_restore': ('registration_timeout', 0, '%d agent(s) to come back'),
}


# A drain of a rolling batch under a disruption budget first waits for the services of the last batch.
RECOVERY = ('recovery_timeout', 600, '%d service(s) of the last batch to be whole again')


def progress_line(step, pending, left, phase=None):
    """One line saying what is awaited: which agents (or services), what each still has, and the seconds left."""
    what = (RECOVERY if phase == 'recovery' else WAITS[step])[2] % len(pending)
    detail = '; '.join('%s: %s' % item for item in sorted(pending.items()))
    return 'waiting for %s, %d s left: %s' % (what, max(0, int(round(left))), detail)


def grouped(lines):
    """Per-agent lines ("host: what") as one line per outcome ("what: host, host"), for the default verbosity."""
    hosts_by_text = {}
    for line in lines:
        host, text = line.split(': ', 1) if ': ' in line else (line, '')
        hosts_by_text.setdefault(text, []).append(host)
    return ['%s: %s' % (text, ', '.join(hosts)) for text, hosts in hosts_by_text.items()]


def merge(first, later):
    """The result of a whole step from its first slice (what was decided and changed) and a later one (the end of
    the wait)."""
    result = dict(later)
    for key in ('agents', 'added', 'hostnames', 'deferred', 'holds', 'lines', 'actions'):
        if first.get(key) and not later.get(key):
            result[key] = first[key]
    result['changed'] = bool(first.get('changed') or later.get('changed'))
    result['reasserted'] = (first.get('reasserted') or 0) + (later.get('reasserted') or 0) \
        if isinstance(later.get('reasserted'), int) else later.get('reasserted')
    return result


class StepAction(ActionBase):
    """Runs the module of the same name; see the module's documentation."""

    TRANSFERS_FILES = False
    step = None
    # Whether the module takes controller_pid (every step of a run does; the status reads only).
    passes_controller = True

    def module_name(self):
        return 'mesos.maintenance.%s' % self.step

    def call(self, args, task_vars):
        return self._execute_module(module_name=self.module_name(), module_args=args, task_vars=task_vars)

    def run(self, tmp=None, task_vars=None):
        result = super(StepAction, self).run(tmp, task_vars)
        del tmp
        args = dict(self._task.args)
        if self.step in WAITS:
            # A line at least every progress_interval seconds: each slice leaves room for the module's own start,
            # reads and answer around it.
            interval = float(args.get('progress_interval') or PROGRESS_INTERVAL)
            args['progress_interval'] = max(1.0, interval - CALL_MARGIN)
        if self.passes_controller and self._connection.transport == 'local' and not args.get('controller_pid'):
            # The module runs on this host: this worker's parent is the ansible-playbook process of the run.
            args['controller_pid'] = os.getppid()
        started = time.monotonic()
        outcome = self.call(args, task_vars)
        if self.step in WAITS and not outcome.get('failed'):
            outcome = self.wait(args, outcome, started, task_vars)
        if outcome.get('failed') and self.step == 'maintenance_drain' and args.get('undo_on_failure'):
            outcome = self.undo(args, outcome, task_vars)
        for line in grouped(outcome.get('lines') or []) if self.step in WAITS else outcome.get('lines') or []:
            display.display('    %s' % line)
        if self.step in WAITS:
            for line in outcome.get('lines') or []:
                display.v('    %s' % line)
        result.update(outcome)
        return result

    def recover(self, args, outcome, started, task_vars):
        """The recovery phase of a drain: call again, deciding nothing new, until the services are whole; returns
        the first outcome of the drain itself and when it began."""
        timeout = float(args.get(RECOVERY[0], RECOVERY[1]) or 0)
        began = started
        while outcome.get('phase') == 'recovery' and outcome.get('waiting') and not outcome.get('failed'):
            left = timeout - (time.monotonic() - started)
            display.display('    %s' % progress_line(self.step, outcome.get('pending') or {}, left, 'recovery'))
            began = time.monotonic()
            # Never 0, which would turn the recovery off: what is left of it is one more look.
            outcome = self.call(dict(args, recovery_timeout=max(0.01, left)), task_vars)
        return outcome, began

    def wait(self, args, outcome, started, task_vars):
        option, default = WAITS[self.step][:2]
        timeout = float(args.get(option, default) or 0)
        outcome, started = self.recover(args, outcome, started, task_vars)
        first = outcome
        while outcome.get('waiting') and not outcome.get('failed'):
            left = timeout - (time.monotonic() - started)
            display.display('    %s' % progress_line(self.step, outcome.get('pending') or {}, left))
            again = dict(args, resume_wait=True, hostname=first.get('hostnames') or args.get('hostname'))
            again[option] = max(0, int(left) if option == 'wait_timeout' else left)
            outcome = merge(first, self.call(again, task_vars))
        if outcome is not first:
            outcome['waited'] = round(time.monotonic() - started, 3)
        return outcome

    def undo(self, args, failure, task_vars):
        """agent_maintenance_undo_on_failure: put back what this run took out for the first time in this call."""
        # 'shared': this call made the run a second owner; the restore drops that ownership and leaves it filtered.
        new = [a['hostname'] for a in failure.get('agents') or [] if a.get('outcome') in ('new', 'shared')]
        if not new:
            return failure
        undo_args = dict((k, v) for k, v in args.items() if k in UNDO_KEEP)
        undo_args.update(hostname=new, registration_timeout=0, unregistered='skip', release_holds=False)
        undone = self._execute_module(module_name='mesos.maintenance.maintenance_restore', module_args=undo_args,
                                      task_vars=task_vars)
        failure = dict(failure)
        if undone.get('failed'):
            failure['msg'] = '%s. Undoing it failed too: %s' % (failure.get('msg'), undone.get('msg'))
        else:
            failure['msg'] = '%s. The agents this drain had taken out were put back: %s' % (
                failure.get('msg'), name_list(undone.get('restored') or []) or 'none')
        failure['undone'] = undone.get('restored') or []
        return failure


# The options the undo of a drain passes on to the restore: the connection, the backend, the run and its ledger.
UNDO_KEEP = ('master_url', 'principal', 'secret', 'validate_certs', 'ca_path', 'client_cert', 'client_key', 'timeout',
             'max_body_size', 'leader_timeout', 'backend', 'run_id', 'ledger_file', 'ledger_zookeeper', 'ledger_timeout',
             'progress_interval')
