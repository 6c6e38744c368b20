# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The Mesos version a module library was built for, read from the file: mesos.maintenance.allocator_library_info
through ansible-playbook, and the offer_filter_allocator role's preflight that uses it against a simulated Mesos
1.0.1 master. The libraries are built with gcc from tests/allocator_module (build.sh). The module must return the
record the C code compiled in and fail with a message that says why on a file that is no module library; the role
must judge the library by both its file name and that record, refuse either mismatch unless told to ignore it,
and say so when name and record disagree."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from maintenance_helpers import ALLOCATOR_BUILD, allocator_role_vars, build_allocator_libs

MODULE = "im_getty_mesos_OfferFilteringAllocator"
RELEASE = "libofferfilterallocator-1.0.1-v1-RC5"
INFO = "mesos.maintenance.allocator_library_info"
REFUSE = "Refuse a module built for another Mesos version"
READ = "Read the Mesos version recorded inside the library"


@pytest.fixture(scope="module")
def libs(tmp_path_factory) -> Path:
    out = build_allocator_libs(tmp_path_factory.mktemp("libs"))
    for name, source in {
        "misnamed/libofferfilterallocator-1.0.3-v1-RC5.so": f"{RELEASE}.so",
        "unnamed/liballocator.so": f"{RELEASE}.so",
        "unnamed-atload/liballocator.so": f"atload/{RELEASE}.so",
    }.items():
        (out / name).parent.mkdir(exist_ok=True)
        shutil.copy(out / source, out / name)
    (out / "html").mkdir()
    (out / "html" / f"{RELEASE}.so").write_text("<html>404 Not Found</html>\n")
    source = ALLOCATOR_BUILD.parent / "offerfilterallocator.c"
    (out / "api1").mkdir()
    subprocess.run(
        ["gcc", "-shared", "-fPIC", '-DMODULE_API_VERSION="1"', "-o", str(out / "api1" / f"{RELEASE}.so"), str(source)],
        check=True,
    )
    return out


def expected_record(mesos_version, kind="Allocator", build="v1-RC5", symbol=MODULE):
    return {
        "symbol": symbol,
        "static": True,
        "module_api_version": "2",
        "mesos_version": mesos_version,
        "kind": kind,
        "author_name": "Getty Images",
        "author_email": "mesos@example.com",
        "description": f"Offer Filtering Allocator (test build {build} for Mesos {mesos_version})",
        "compatible": False,
    }


@pytest.fixture(scope="module")
def results(libs, run_tasks_module):
    """One playbook reading every kind of file; task name -> its result."""
    (libs / "not-a-library.so").write_text("<html>404 Not Found</html>\n")
    (libs / "empty.so").write_bytes(b"")
    elf = (libs / f"{RELEASE}.so").read_bytes()
    (libs / "truncated.so").write_bytes(elf[:200])
    cases = {
        "right": {"path": str(libs / f"{RELEASE}.so")},
        "first build": {"path": str(libs / "libofferfilterallocator-1.0.1-0afdd8b.so")},
        "wrong": {"path": str(libs / "wrong" / f"{RELEASE}.so")},
        "honest 1.0.3": {"path": str(libs / "libofferfilterallocator-1.0.3-v1-RC5.so")},
        "packed relocations": {"path": str(libs / "relr" / f"{RELEASE}.so")},
        "absolute relocation": {"path": str(libs / "absolute" / f"{RELEASE}.so")},
        "record at load time": {"path": str(libs / "atload" / f"{RELEASE}.so")},
        "other module": {"path": str(libs / "libexamplehook-1.0.1.so"), "symbol": "org_example_TestHook"},
        "missing symbol": {"path": str(libs / "nosymbol" / f"{RELEASE}.so")},
        "other module's symbol": {"path": str(libs / f"{RELEASE}.so"), "symbol": "org_example_TestHook"},
        "system library": {"path": "/lib/x86_64-linux-gnu/libz.so.1"},
        "not ELF": {"path": str(libs / "not-a-library.so")},
        "release archive": {"path": str(libs / f"{RELEASE}.tar.gz")},
        "empty": {"path": str(libs / "empty.so")},
        "truncated": {"path": str(libs / "truncated.so")},
        "missing file": {"path": str(libs / "nonexistent.so")},
    }
    tasks = [{"name": name, INFO: args, "ignore_errors": True} for name, args in cases.items()]
    tasks.append({"name": "check mode", INFO: cases["right"], "check_mode": True})
    run = run_tasks_module(tasks)
    return {name: run[name] for name in [*cases, "check mode"]}


@pytest.mark.parametrize(
    "case, record",
    [
        ("right", expected_record("1.0.1")),
        ("first build", expected_record("1.0.1", build="0afdd8b")),
        ("wrong", expected_record("1.0.3")),
        ("honest 1.0.3", expected_record("1.0.3")),
        ("packed relocations", expected_record("1.0.1")),
        ("absolute relocation", expected_record("1.0.1")),
        ("other module", expected_record("1.0.1", kind="Hook", build="example", symbol="org_example_TestHook")),
        ("check mode", expected_record("1.0.1")),
    ],
)
def test_reads_the_compiled_record(results, libs, case, record):
    result = results[case]
    assert result["_status"] == "ok", result
    assert result["changed"] is False
    assert result["machine"] == "x86_64"
    assert result["record"] == record


def test_a_record_filled_in_at_load_time_is_not_in_the_file(results):
    result = results["record at load time"]
    assert result["_status"] == "ok", result
    assert result["record"]["static"] is False
    assert result["record"]["mesos_version"] is None
    assert result["record"]["module_api_version"] is None
    assert result["record"]["compatible"] is None
    assert any("filled in when the library is loaded" in w for w in result["warnings"])


@pytest.mark.parametrize(
    "case, symbol", [("missing symbol", MODULE), ("other module's symbol", "org_example_TestHook")]
)
def test_a_library_without_the_symbol_fails(results, case, symbol):
    result = results[case]
    assert result["_status"] == "failed"
    assert f"does not export the symbol {symbol}" in result["msg"]
    assert f'mesos-master would refuse it ("undefined symbol: {symbol}")' in result["msg"]
    assert "offerfilterallocator_version" in result["candidates"]


def test_a_system_library_lists_what_it_exports(results):
    result = results["system library"]
    assert result["_status"] == "failed"
    assert f"does not export the symbol {MODULE}" in result["msg"]
    assert MODULE not in result["candidates"]


@pytest.mark.parametrize("case", ["not ELF", "release archive", "empty"])
def test_a_file_that_is_no_elf_fails(results, case):
    result = results[case]
    assert result["_status"] == "failed"
    assert "is not an ELF file" in result["msg"]
    assert "A Mesos module is a shared library (.so)" in result["msg"]


def test_a_truncated_library_fails(results):
    result = results["truncated"]
    assert result["_status"] == "failed"
    assert "is truncated" in result["msg"]


def test_a_missing_file_fails(results, libs):
    result = results["missing file"]
    assert result["_status"] == "failed"
    assert result["msg"] == f"Cannot read the module library {libs / 'nonexistent.so'}: No such file or directory."


# --- the role's preflight ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def master():
    from mesos_sim import Cluster

    cluster = Cluster(masters=1, agents=0, build=None, version="1.0.1").start()
    yield cluster
    cluster.stop()


@pytest.fixture
def preflight(libs, master, run_tasks, tmp_path):
    def run(src, **extra):
        role_vars = allocator_role_vars(libs / src, master, tmp_path, **extra)
        task = {
            "name": "preflight",
            "ansible.builtin.include_role": {
                "name": "mesos.maintenance.offer_filter_allocator",
                "tasks_from": "preflight",
            },
            "vars": role_vars,
        }
        return run_tasks([task])

    return run


def task(run, name):
    found = [r for r in run.results if r["_task"].endswith(" : " + name) or r["_task"] == name]
    assert found, f"{name!r} did not run\n{run.output}"
    return found[-1]


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize(
    "src",
    [f"{RELEASE}.tar.gz", f"{RELEASE}.so", "libofferfilterallocator-1.0.1-0afdd8b.tar.gz", "unnamed/liballocator.so"],
)
def test_a_library_built_for_the_masters_version_passes(preflight, src):
    run = preflight(src)
    assert run.rc == 0, run.output
    assert task(run, REFUSE)["_status"] == "ok"
    assert task(run, READ)["record"]["mesos_version"] == "1.0.1"


def test_name_and_record_disagree(preflight):
    run = preflight(f"wrong/{RELEASE}.tar.gz")
    assert run.rc != 0
    msg = flat(task(run, REFUSE)["msg"])
    assert msg == (
        f"The module's name and its contents disagree: its name {RELEASE}.tar.gz says Mesos 1.0.1, but the version "
        f"record inside {RELEASE}.so says it was built against Mesos 1.0.3. The master on localhost runs Mesos 1.0.1: "
        f'mesos-master would refuse to start with {RELEASE}.tar.gz ("Mesos has version 1.0.1, but module is compiled '
        'with version 1.0.3"). Nothing was changed. Set offer_filter_allocator_ignore_version_mismatch to override.'
    )


def test_the_stated_version_stands_for_the_name(preflight):
    run = preflight(f"wrong/{RELEASE}.tar.gz", offer_filter_allocator_module_mesos_version="1.0.1")
    assert run.rc != 0
    assert "offer_filter_allocator_module_mesos_version says Mesos 1.0.1, but the version record" in flat(
        task(run, REFUSE)["msg"]
    )


def test_a_library_honestly_built_for_another_version(preflight):
    run = preflight("libofferfilterallocator-1.0.3-v1-RC5.so")
    assert run.rc != 0
    msg = flat(task(run, REFUSE)["msg"])
    assert "disagree" not in msg
    assert msg.startswith(
        "The master on localhost runs Mesos 1.0.1: mesos-master would refuse to start with "
        'libofferfilterallocator-1.0.3-v1-RC5.so ("Mesos has version 1.0.1, but module is compiled with version 1.0.3").'
    )


def test_a_misnamed_library_is_refused_though_its_record_is_right(preflight):
    run = preflight("misnamed/libofferfilterallocator-1.0.3-v1-RC5.so")
    assert run.rc != 0
    msg = flat(task(run, REFUSE)["msg"])
    assert "its name libofferfilterallocator-1.0.3-v1-RC5.so says Mesos 1.0.3, but the version record inside" in msg
    assert "runs Mesos 1.0.1, as the record says, so mesos-master would load the library, but it is not the file" in msg


def test_another_module_api_version(preflight):
    run = preflight(f"api1/{RELEASE}.so")
    assert run.rc != 0
    msg = flat(task(run, REFUSE)["msg"])
    assert f"The library {RELEASE}.so has module API version 1; mesos-master would refuse it" in msg


def test_the_override_lets_a_mismatch_through(preflight):
    run = preflight(f"wrong/{RELEASE}.tar.gz", offer_filter_allocator_ignore_version_mismatch=True)
    assert run.rc == 0, run.output
    assert task(run, REFUSE)["_status"] == "skipped"


def test_a_record_filled_in_at_load_time_leaves_the_name(preflight):
    run = preflight(f"atload/{RELEASE}.so")
    assert run.rc == 0, run.output
    assert task(run, READ)["record"]["static"] is False


@pytest.mark.parametrize(
    "src, expected",
    [
        (f"nosymbol/{RELEASE}.so", "does not export the symbol im_getty_mesos_OfferFilteringAllocator"),
        (f"html/{RELEASE}.so", "is not an ELF file"),
    ],
)
def test_a_file_that_is_no_module_is_refused_even_with_the_override(preflight, src, expected):
    run = preflight(src, offer_filter_allocator_ignore_version_mismatch=True)
    assert run.rc != 0
    result = task(run, READ)
    assert result["_status"] == "failed"
    assert expected in result["msg"]


def test_a_library_with_no_version_in_name_or_record_is_refused(preflight):
    run = preflight("unnamed-atload/liballocator.so")
    assert run.rc != 0
    assert flat(task(run, REFUSE)["msg"]) == (
        "Cannot tell which Mesos version liballocator.so was built for: its name is not "
        "libofferfilterallocator-<version>-<build> and the library's record is not stored in the file; set "
        "offer_filter_allocator_module_mesos_version."
    )


def test_a_master_that_does_not_answer_needs_its_version_stated(preflight):
    run = preflight(f"{RELEASE}.so", offer_filter_allocator_master_port=1)
    assert run.rc != 0
    msg = flat(task(run, REFUSE)["msg"])
    assert msg.startswith("Cannot ask the master on localhost for its version (http://127.0.0.1:1/version: "), msg
    assert msg.endswith("); set offer_filter_allocator_mesos_version if it is not running."), msg
    run = preflight(f"{RELEASE}.so", offer_filter_allocator_master_port=1, offer_filter_allocator_mesos_version="1.0.1")
    assert run.rc == 0, run.output
    assert task(run, REFUSE)["_status"] == "ok"


# --- the configuration mesos-master would not start with ---------------------------------------------------
CONFIG = "Refuse a configuration mesos-master would not start with"
MODULES_DIR = (
    "mesos-master on localhost is given --modules_dir ({tmp}/default-mesos-master sets modules_dir=/etc/mesos/modules.d); "
    'adding --modules would make it refuse to start ("Only one of --modules or --modules_dir should be specified"). '
)
FOREIGN = (
    "--modules or --allocator is already set outside the chosen wiring (env_file) on localhost: "
    "{tmp}/mesos-master/allocator sets allocator=HierarchicalDRF. Choose that wiring with offer_filter_allocator_wiring, "
    "or remove the other setting. "
)
INLINE = "--modules is given as inline JSON ({tmp}/default-mesos-master); the role merges into a manifest file only. "
NOT_A_MANIFEST = '{tmp}/modules.json is not a modules manifest ({{"libraries": [...]}}). '
NOT_JSON = "{tmp}/modules.json is not JSON: Expecting value: line 1 column 16 (char 15). "


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"default-mesos-master": "MESOS_MODULES_DIR=/etc/mesos/modules.d\n"}, MODULES_DIR),
        ({"mesos-master/allocator": "HierarchicalDRF\n"}, FOREIGN),
        ({"default-mesos-master": "MESOS_MODULES='{\"libraries\": []}'\n"}, INLINE),
        ({"modules.json": '["/usr/lib/libauth.so"]\n'}, NOT_A_MANIFEST),
        ({"modules.json": '{"libraries": "/usr/lib/libauth.so"}\n'}, NOT_A_MANIFEST),
        ({"modules.json": '{"libraries": [}\n'}, NOT_JSON),
        (
            {
                "default-mesos-master": "MESOS_MODULES_DIR=/etc/mesos/modules.d\nMESOS_MODULES='{\"libraries\": []}'\n",
                "mesos-master/allocator": "HierarchicalDRF\n",
                "modules.json": '{"libraries": [}\n',
            },
            MODULES_DIR + FOREIGN + INLINE + NOT_JSON,
        ),
    ],
    ids=["modules_dir", "another wiring", "inline JSON", "not a manifest", "libraries not a list", "not JSON", "all"],
)
def test_a_configuration_mesos_master_would_not_start_with_is_refused(preflight, tmp_path, files, expected):
    for name, content in files.items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(content)
    run = preflight(f"{RELEASE}.so")
    assert run.rc != 0
    assert task(run, CONFIG)["msg"] == (expected + "Nothing was changed.").format(tmp=tmp_path), run.output
    for name, content in files.items():
        assert (tmp_path / name).read_text() == content
