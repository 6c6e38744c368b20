# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The offer_filter_allocator role's preflight refusals: allocator_version_refusal (the library against the master's
Mesos and module API versions), allocator_manifest and allocator_configuration_refusal (what mesos-master is given
now), each message verbatim as the role fails with it."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.mesos.maintenance.plugins.filter import (
    allocator_configuration_refusal,
    allocator_manifest,
    allocator_version_refusal,
)

# --- allocator_version_refusal ------------------------------------------------------------------------------

RELEASE = "libofferfilterallocator-1.0.1-v1-RC5"
URL = "http://127.0.0.1:5050/version"
ANSWER = {"status": 200, "json": {"version": "1.0.1"}, "msg": "OK (171 bytes)"}
NO_ANSWER = {"status": -1, "msg": "Status code was -1 and not [200]: Request failed: <urlopen error refused>"}
OVERRIDE = " Nothing was changed. Set offer_filter_allocator_ignore_version_mismatch to override."


def library(mesos_version="1.0.1", api="2"):
    return {"record": {"mesos_version": mesos_version, "module_api_version": api}}


def refusal(result, src=f"{RELEASE}.tar.gz", answer=None, **extra):
    return allocator_version_refusal.allocator_version_refusal(
        result, answer or ANSWER, "master1", URL, src, f"/cache/{RELEASE}.so", **extra
    )


@pytest.mark.parametrize(
    ("result", "src", "extra"),
    [
        (library(), f"{RELEASE}.tar.gz", {}),
        (library(), "liballocator.so", {}),  # the record alone
        (library(None, None), f"{RELEASE}.so", {}),  # filled in when loaded: the name alone
        ({}, f"{RELEASE}.so", {}),  # not read
        (None, f"{RELEASE}.so", {}),
        (library(None, None), "liballocator.so", {"module_mesos_version": "1.0.1"}),
        (library(), "libofferfilterallocator-1.0.3-v1.so", {"module_mesos_version": "1.0.1"}),  # stated beats name
        (library(api=""), f"{RELEASE}.so", {}),
    ],
)
def test_a_library_mesos_master_would_load_passes(result, src, extra):
    assert refusal(result, src, **extra) == ""


def test_a_master_that_does_not_answer_may_be_stated():
    assert refusal(library(), answer=NO_ANSWER, mesos_version="1.0.1") == ""
    # The master's own answer wins over the stated version.
    assert refusal(library(), mesos_version="1.0.3") == ""


def test_no_version_in_name_or_record():
    assert refusal(library(None, None), "liballocator.so") == (
        "Cannot tell which Mesos version liballocator.so was built for: its name is not "
        "libofferfilterallocator-<version>-<build> and the library's record is not stored in the file; set "
        "offer_filter_allocator_module_mesos_version."
    )


@pytest.mark.parametrize(
    ("answer", "said"),
    [
        (NO_ANSWER, NO_ANSWER["msg"]),
        ({"status": 200, "json": {}, "msg": "OK (2 bytes)"}, "OK (2 bytes)"),
        ({"status": 200, "json": ["1.0.1"], "msg": "OK (9 bytes)"}, "OK (9 bytes)"),
        ({"skipped": True}, "no answer"),
    ],
)
def test_a_master_that_does_not_say_its_version(answer, said):
    assert refusal(library(), answer=answer) == (
        f"Cannot ask the master on master1 for its version ({URL}: {said}); set offer_filter_allocator_mesos_version "
        "if it is not running."
    )


def test_another_module_api_version():
    assert refusal(library(api="1"), f"{RELEASE}.so") == (
        f'The library {RELEASE}.so has module API version 1; mesos-master would refuse it ("Module API version '
        'mismatch. Mesos has: 2, library requires: 1").' + OVERRIDE
    )


def test_a_library_built_for_another_version():
    assert refusal(library("1.0.3"), "libofferfilterallocator-1.0.3-v1.so") == (
        "The master on master1 runs Mesos 1.0.1: mesos-master would refuse to start with "
        'libofferfilterallocator-1.0.3-v1.so ("Mesos has version 1.0.1, but module is compiled with version 1.0.3").'
        + OVERRIDE
    )


@pytest.mark.parametrize(
    ("answer", "extra"),
    [(ANSWER, {}), (NO_ANSWER, {"mesos_version": "1.0.1"})],
)
def test_name_and_record_disagree(answer, extra):
    assert refusal(library("1.0.3"), answer=answer, **extra) == (
        f"The module's name and its contents disagree: its name {RELEASE}.tar.gz says Mesos 1.0.1, but the version "
        f"record inside {RELEASE}.so says it was built against Mesos 1.0.3. The master on master1 runs Mesos 1.0.1: "
        f'mesos-master would refuse to start with {RELEASE}.tar.gz ("Mesos has version 1.0.1, but module is compiled '
        'with version 1.0.3").' + OVERRIDE
    )


def test_the_stated_version_stands_for_the_name():
    assert refusal(library("1.0.3"), "liballocator.so", module_mesos_version="1.0.1").startswith(
        "The module's name and its contents disagree: offer_filter_allocator_module_mesos_version says Mesos 1.0.1, "
        f"but the version record inside {RELEASE}.so says it was built against Mesos 1.0.3. "
    )


def test_a_misnamed_library_whose_record_is_right():
    assert refusal(library("1.0.1"), "libofferfilterallocator-1.0.3-v1.so") == (
        "The module's name and its contents disagree: its name libofferfilterallocator-1.0.3-v1.so says Mesos 1.0.3, "
        f"but the version record inside {RELEASE}.so says it was built against Mesos 1.0.1. The master on master1 "
        "runs Mesos 1.0.1, as the record says, so mesos-master would load the library, but it is not the file its "
        "name claims: check that it is the module you meant." + OVERRIDE
    )


def test_the_api_version_is_told_before_the_mesos_version():
    assert refusal(library("1.0.3", "1")).startswith(f"The library {RELEASE}.so has module API version 1;")


# --- allocator_manifest and allocator_configuration_refusal -------------------------------------------------

MANIFEST = "/etc/mesos/modules.json"
ENV_FILE = "/etc/default/mesos-master"


def setting(flag, value, style="env_file", source=ENV_FILE):
    return {"source": source, "style": style, "value": value, "flag": flag, "text": f"{source} sets {flag}={value}"}


def found(content="", chosen=True, **settings):
    return {
        "files": {"modules_json": {"path": MANIFEST, "exists": bool(content), "content": content, "chosen": chosen}},
        "settings": {"modules": [], "modules_dir": [], "allocator": [], **settings},
    }


def configuration_refusal(discovered, wiring="env_file"):
    before = copy.deepcopy(discovered)
    text = allocator_configuration_refusal.allocator_configuration_refusal(discovered, wiring, "master1")
    assert discovered == before
    return text


MODULES_DIR = (
    f"mesos-master on master1 is given --modules_dir ({ENV_FILE} sets modules_dir=/etc/mesos/modules.d, "
    "/etc/mesos-master/modules_dir sets modules_dir=/opt/modules); adding --modules would make it refuse to start "
    '("Only one of --modules or --modules_dir should be specified"). '
)
FOREIGN = (
    "--modules or --allocator is already set outside the chosen wiring (env_file) on master1: /etc/mesos-master/modules "
    "sets modules=file:///etc/mesos/other.json, /etc/mesos-master/allocator sets allocator=HierarchicalDRF. Choose that "
    "wiring with offer_filter_allocator_wiring, or remove the other setting. "
)
INLINE = f"--modules is given as inline JSON ({ENV_FILE}); the role merges into a manifest file only. "
NOT_A_MANIFEST = f'{MANIFEST} is not a modules manifest ({{"libraries": [...]}}). '
DIRS = [
    setting("modules_dir", "/etc/mesos/modules.d"),
    setting("modules_dir", "/opt/modules", "flag_files", "/etc/mesos-master/modules_dir"),
]
OTHERS = [
    setting("modules", "file:///etc/mesos/other.json", "flag_files", "/etc/mesos-master/modules"),
    setting("allocator", "HierarchicalDRF", "flag_files", "/etc/mesos-master/allocator"),
]
INLINES = [
    setting("modules", '{"libraries": []}'),
    setting("modules", "libraries { file: '/x.so' }", "flag_files", "/etc/mesos-master/modules"),
]


@pytest.mark.parametrize(
    ("entry", "doc"),
    [
        ({"content": '{"libraries": [{"file": "/a.so"}]}', "chosen": True}, {"libraries": [{"file": "/a.so"}]}),
        ({"content": '{"libraries": []}', "chosen": False}, {"libraries": []}),  # nothing names it
        ({"content": "{not json", "chosen": False}, {"libraries": []}),
        ({"content": " \n", "chosen": True}, {"libraries": []}),
        ({"content": "", "chosen": True}, {"libraries": []}),
        ({"content": "[1, 2]", "chosen": True}, [1, 2]),
        ({"content": "{not json", "chosen": True}, None),
    ],
)
def test_allocator_manifest(entry, doc):
    assert allocator_manifest.allocator_manifest(entry) == doc


@pytest.mark.parametrize(
    "discovered",
    [
        found(),
        found('{"libraries": [{"file": "/usr/lib/libauth.so"}]}\n'),
        found("{}"),  # no libraries
        found("{not json", chosen=False),  # not read: the role refuses to take it over
        found(modules=[setting("modules", f"file://{MANIFEST}"), setting("modules", MANIFEST)]),
        found(allocator=[setting("allocator", "im_getty_mesos_OfferFilteringAllocator")]),
    ],
)
def test_a_configuration_mesos_master_starts_with_passes(discovered):
    assert configuration_refusal(discovered) == ""


def test_other_wirings_own_their_settings():
    settings = [
        setting("modules", "file:///etc/mesos/other.json", "flag_files"),
        setting("allocator", "Theirs", "flag_files"),
    ]
    assert configuration_refusal(found(modules=settings[:1], allocator=settings[1:]), "flag_files") == ""


@pytest.mark.parametrize(
    ("discovered", "expected"),
    [
        (found(modules_dir=DIRS), MODULES_DIR),
        (found(modules=OTHERS[:1], allocator=OTHERS[1:]), FOREIGN),
        (found(modules=INLINES[:1]), INLINE),
        (found("[]"), NOT_A_MANIFEST),
        (found('"/usr/lib/libauth.so"'), NOT_A_MANIFEST),
        (found('{"libraries": "/usr/lib/libauth.so"}'), NOT_A_MANIFEST),
        (found('{"libraries": null}'), NOT_A_MANIFEST),
        (
            found("{not json"),
            f"{MANIFEST} is not JSON: Expecting property name enclosed in double quotes: line 1 column 2 (char 1). ",
        ),
        (
            found('{"libraries": []}\n{"libraries": []}'),
            f"{MANIFEST} is not JSON: Extra data: line 2 column 1 (char 18). ",
        ),
    ],
    ids=[
        "modules_dir",
        "another wiring",
        "inline JSON",
        "a list",
        "a string",
        "libraries a string",
        "libraries null",
        "not JSON",
        "two documents",
    ],
)
def test_each_refusal(discovered, expected):
    assert configuration_refusal(discovered) == expected + "Nothing was changed."


def test_every_refusal_at_once_in_order():
    # An inline --modules in another place is both.
    discovered = found("{not json", modules_dir=DIRS, modules=[INLINES[0], *OTHERS[:1]], allocator=OTHERS[1:])
    expected = (
        MODULES_DIR
        + FOREIGN
        + INLINE
        + f"{MANIFEST} is not JSON: Expecting property name enclosed in double quotes: line 1 column 2 (char 1). "
        + "Nothing was changed."
    )
    assert configuration_refusal(discovered) == expected
    inline_elsewhere = found(modules=INLINES[1:])
    assert configuration_refusal(inline_elsewhere) == (
        "--modules or --allocator is already set outside the chosen wiring (env_file) on master1: "
        "/etc/mesos-master/modules sets modules=libraries { file: '/x.so' }. Choose that wiring with "
        "offer_filter_allocator_wiring, or remove the other setting. "
        "--modules is given as inline JSON (/etc/mesos-master/modules); the role merges into a manifest file only. "
        "Nothing was changed."
    )


def test_the_filters_are_registered():
    assert allocator_version_refusal.FilterModule().filters() == {
        "allocator_version_refusal": allocator_version_refusal.allocator_version_refusal
    }
    assert allocator_manifest.FilterModule().filters() == {"allocator_manifest": allocator_manifest.allocator_manifest}
    assert allocator_configuration_refusal.FilterModule().filters() == {
        "allocator_configuration_refusal": allocator_configuration_refusal.allocator_configuration_refusal
    }
