# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Composable argument specs.

The connection options live in one place (``mesos_connection_argspec``) and are documented by the
``mesos.maintenance._mesos`` doc fragment; the wait options (``WAIT_ARGSPEC``) by ``mesos.maintenance._wait``;
``backend`` (``BACKEND_ARGSPEC``) by ``mesos.maintenance._backend``. Change a spec and its fragment together.
"""

from __future__ import annotations

import copy

from ansible.module_utils.basic import AnsibleModule, env_fallback

from ansible_collections.mesos.maintenance.plugins.module_utils._errors import redact, redact_all


class ArgumentSpec(object):
    """An argument spec plus its constraint lists, which can be merged and then turned into a module."""

    def __init__(self, argument_spec=None, mutually_exclusive=None, required_together=None,
                 required_one_of=None, required_if=None, required_by=None):
        self.argument_spec = copy.deepcopy(argument_spec or {})
        self.mutually_exclusive = list(mutually_exclusive or [])
        self.required_together = list(required_together or [])
        self.required_one_of = list(required_one_of or [])
        self.required_if = list(required_if or [])
        self.required_by = dict(required_by or {})

    def update_argspec(self, **kwargs):
        self.argument_spec.update(copy.deepcopy(kwargs))
        return self

    def merge(self, other):
        self.argument_spec.update(copy.deepcopy(other.argument_spec))
        self.mutually_exclusive.extend(other.mutually_exclusive)
        self.required_together.extend(other.required_together)
        self.required_one_of.extend(other.required_one_of)
        self.required_if.extend(other.required_if)
        for key, value in other.required_by.items():
            self.required_by[key] = value
        return self

    def create_ansible_module(self, module_class=AnsibleModule, **kwargs):
        return module_class(
            argument_spec=self.argument_spec,
            mutually_exclusive=self.mutually_exclusive,
            required_together=self.required_together,
            required_one_of=self.required_one_of,
            required_if=self.required_if,
            required_by=self.required_by,
            **kwargs
        )


class MesosAnsibleModule(AnsibleModule):
    """An AnsibleModule that shows no URL userinfo and no credentials (see ``_errors.redact``) in anything it
    returns or warns, its invocation included: ``no_log`` hides the secret as given, not a password in
    ``master_url`` nor the base64 form of the credentials that a proxy may echo."""

    def warn(self, warning):
        super(MesosAnsibleModule, self).warn(redact(warning))

    def exit_json(self, **kwargs):
        super(MesosAnsibleModule, self).exit_json(**self._redacted(kwargs))

    def fail_json(self, msg, **kwargs):
        kwargs['msg'] = msg
        super(MesosAnsibleModule, self).fail_json(**self._redacted(kwargs))

    def _redacted(self, result):
        result = redact_all(result)
        # Ansible adds the module's arguments (when it shows them at all) unless the result has them already.
        result.setdefault('invocation', {'module_args': redact_all(getattr(self, 'params', None) or {})})
        return result


def mesos_connection_argspec():
    """The options every module that talks to a Mesos master has (fragment ``mesos.maintenance._mesos``)."""
    return ArgumentSpec(
        argument_spec=dict(
            master_url=dict(type='list', elements='str', aliases=['masters'],
                            fallback=(env_fallback, ['MESOS_MASTER_URL'])),
            principal=dict(type='str', aliases=['url_username'], fallback=(env_fallback, ['MESOS_PRINCIPAL'])),
            secret=dict(type='str', no_log=True, aliases=['url_password'],
                        fallback=(env_fallback, ['MESOS_SECRET'])),
            validate_certs=dict(type='bool', default=True),
            ca_path=dict(type='path'),
            client_cert=dict(type='path'),
            client_key=dict(type='path', no_log=False),
            timeout=dict(type='float', default=10.0),
            leader_timeout=dict(type='float', default=30.0),
            max_body_size=dict(type='bytes', default='128M'),
        ),
        required_together=[('principal', 'secret')],
        required_by={'client_key': 'client_cert'},
    )


# Documented by the ``mesos.maintenance._wait`` fragment.
WAIT_ARGSPEC = dict(
    wait=dict(type='bool', default=False),
    wait_timeout=dict(type='int', default=600),
    wait_sleep=dict(type='float', default=5.0),
)


# Documented by the ``mesos.maintenance._backend`` fragment.
BACKEND_ARGSPEC = dict(
    backend=dict(type='str', default='auto', choices=['auto', 'allocator', 'native', 'schedule']),
)


def agent_selection_argspec():
    """The agents a module acts on or reports about."""
    return ArgumentSpec(argument_spec=dict(
        agent_id=dict(type='list', elements='str', aliases=['agent_ids']),
        hostname=dict(type='list', elements='str', aliases=['hostnames']),
    ))


def engine_argspec():
    """What every step of the maintenance engine takes (fragment ``mesos.maintenance._engine``): the agents, the
    run that acts, and its ledger."""
    return ArgumentSpec(
        argument_spec=dict(
            hostname=dict(type='list', elements='str', required=True, aliases=['hostnames']),
            run_id=dict(type='str', required=True),
            ledger_file=dict(type='path'),
            ledger_zookeeper=dict(type='str', no_log=True),
            ledger_timeout=dict(type='float', default=60.0),
            progress_interval=dict(type='float', default=10.0),
            resume_wait=dict(type='bool', default=False),
            controller_pid=dict(type='int'),
        ),
        mutually_exclusive=[('ledger_file', 'ledger_zookeeper')],
        required_one_of=[('ledger_file', 'ledger_zookeeper')],
    ).update_argspec(**BACKEND_ARGSPEC)


# Documented by the ``mesos.maintenance._budget`` fragment.
BUDGET_ARGSPEC = dict(
    max_unavailable_per_group=dict(type='str'),
    group_by=dict(type='str', default='task'),
)


# Documented in the ``mesos.maintenance._engine`` fragment, section HOLD.
HOLD_ARGSPEC = dict(
    hold_interval=dict(type='float', default=5.0),
    hold_timeout=dict(type='float', default=7200.0),
)
