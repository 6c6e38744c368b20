# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this plugin util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The offer_filter_allocator role's preflight decisions: whether mesos-master would load the module library (its
Mesos and module API versions against the master's), and whether it would start with the configuration the role is
to change (the modules manifest, --modules_dir, --modules and --allocator set elsewhere). Each refusal is one text,
empty when there is nothing to refuse."""

from __future__ import annotations

import json
import os
import re

# MESOS_MODULE_API_VERSION of include/mesos/module.hpp, the same from Mesos 0.21 to 1.11.
MODULE_API_VERSION = '2'
# The Mesos version in the name of a release of the module (libofferfilterallocator-1.0.1-v1-RC5.tar.gz).
RELEASE_PATTERN = re.compile(r'libofferfilterallocator-([0-9]+\.[0-9]+\.[0-9]+)-')
NOTHING_CHANGED = 'Nothing was changed.'
OVERRIDE = 'Nothing was changed. Set offer_filter_allocator_ignore_version_mismatch to override.'


def version_refusal(record, answer, host, url, src, library, module_mesos_version='', mesos_version=''):
    """Why mesos-master would not load the library, or '' when it would.

    record: the library's version record (allocator_library_info's), answer: the master's /version (a registered
    ansible.builtin.uri result), url: the URL asked, src: the name of the module as given, library: the library's file.
    The name (or module_mesos_version) and the record must both name the master's version: a wrong name hides a
    right record and the other way round."""
    record = record or {}
    master_json = (answer or {}).get('json')
    master = (master_json.get('version') if isinstance(master_json, dict) else None) or mesos_version or ''
    match = RELEASE_PATTERN.search(src)
    name_version = module_mesos_version or (match.group(1) if match else '')
    record_version = record.get('mesos_version') or ''
    api = record.get('module_api_version') or ''
    versions = list(dict.fromkeys(v for v in (name_version, record_version) if v))
    library = os.path.basename(library)
    if not versions:
        return (
            'Cannot tell which Mesos version %s was built for: its name is not libofferfilterallocator-<version>-<build> '
            "and the library's record is not stored in the file; set offer_filter_allocator_module_mesos_version." % src
        )
    if not master:
        return (
            'Cannot ask the master on %s for its version (%s: %s); set offer_filter_allocator_mesos_version if it is not '
            'running.' % (host, url, (answer or {}).get('msg', 'no answer'))
        )
    if api not in ('', MODULE_API_VERSION):
        return (
            'The library %s has module API version %s; mesos-master would refuse it ("Module API version mismatch. '
            'Mesos has: %s, library requires: %s"). %s' % (library, api, MODULE_API_VERSION, api, OVERRIDE)
        )
    if versions == [master]:
        return ''
    # What mesos-master will compare: the record when there is one.
    built_for = record_version or name_version
    disagree = ''
    if len(versions) > 1:
        name_source = (
            'offer_filter_allocator_module_mesos_version' if module_mesos_version else 'its name %s' % src
        )
        disagree = (
            "The module's name and its contents disagree: %s says Mesos %s, but the version record inside %s says it "
            'was built against Mesos %s. ' % (name_source, name_version, library, built_for)
        )
    if built_for != master:
        verdict = (
            ': mesos-master would refuse to start with %s ("Mesos has version %s, but module is compiled with version '
            '%s").' % (src, master, built_for)
        )
    else:
        verdict = (
            ', as the record says, so mesos-master would load the library, but it is not the file its name claims: '
            'check that it is the module you meant.'
        )
    return '%sThe master on %s runs Mesos %s%s %s' % (disagree, host, master, verdict, OVERRIDE)


def manifest(entry):
    """The modules manifest to merge into and why it cannot be, from discover.py's files.modules_json: its document
    ({"libraries": []} for a file nothing names, or one that is empty) and '', or None and the parser's error."""
    content = entry.get('content') or ''
    if not entry.get('chosen') or not content.strip():
        return {'libraries': []}, ''
    try:
        return json.loads(content), ''
    except ValueError as exc:
        return None, str(exc)


def _texts(entries, key='text'):
    return ', '.join(str(entry[key]) for entry in entries)


def configuration_refusal(found, wiring, host):
    """Why mesos-master would not start with the configuration once the role has changed it (found: what discover.py
    found), or '' when it would."""
    settings = found['settings']
    path = found['files']['modules_json']['path']
    doc, error = manifest(found['files']['modules_json'])
    dirs = settings['modules_dir']
    foreign = [entry for entry in settings['modules'] + settings['allocator'] if entry['style'] != wiring]
    inline = [entry for entry in settings['modules'] if not re.match('^(file://)?/', entry['value'])]
    parts = []
    if dirs:
        parts.append(
            'mesos-master on %s is given --modules_dir (%s); adding --modules would make it refuse to start ("Only one '
            'of --modules or --modules_dir should be specified"). ' % (host, _texts(dirs))
        )
    if foreign:
        parts.append(
            '--modules or --allocator is already set outside the chosen wiring (%s) on %s: %s. Choose that wiring with '
            'offer_filter_allocator_wiring, or remove the other setting. ' % (wiring, host, _texts(foreign))
        )
    if inline:
        parts.append(
            '--modules is given as inline JSON (%s); the role merges into a manifest file only. '
            % _texts(inline, 'source')
        )
    if error:
        parts.append('%s is not JSON: %s. ' % (path, error))
    elif not isinstance(doc, dict) or not isinstance(doc.get('libraries', []), list):
        parts.append('%s is not a modules manifest ({"libraries": [...]}). ' % path)
    return ''.join(parts) + NOTHING_CHANGED if parts else ''
