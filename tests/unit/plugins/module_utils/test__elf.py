# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The ELF reader on small libraries gcc builds here (ansible-test copies only the unit tests, so the
record is declared below as tests/allocator_module/offerfilterallocator.c and Mesos' module.hpp lay it
out), and on copies of them with one field changed (a damaged file, another platform's library)."""

from __future__ import annotations

import shutil
import struct
import subprocess

import pytest

from ansible_collections.mesos.maintenance.plugins.module_utils._elf import (
    ElfError,
    MissingSymbol,
    SharedLibrary,
    read_module_record,
)

MODULE = "im_getty_mesos_OfferFilteringAllocator"
SOURCE = r"""
#include <stdbool.h>
#include <stddef.h>
struct ModuleBase {
    const char *moduleApiVersion, *mesosVersion, *kind, *authorName, *authorEmail, *description;
    bool (*compatible)(void);
};
struct Module { struct ModuleBase base; void *(*create)(void); };
#ifndef NO_MODULE_SYMBOL
struct Module im_getty_mesos_OfferFilteringAllocator = {
    {MODULE_API_VERSION, MESOS_VERSION, MODULE_KIND, "Getty Images", "mesos@example.com", "test", NULL}, NULL};
#endif
const char short_symbol[] = "too short for a record";
"""
DEFAULTS = {"MODULE_API_VERSION": '"2"', "MESOS_VERSION": '"1.0.1"', "MODULE_KIND": '"Allocator"'}


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    if shutil.which("gcc") is None:
        pytest.fail("gcc is needed to build the test module libraries")
    out = tmp_path_factory.mktemp("elf")
    source = out / "module.c"
    source.write_text(SOURCE)

    def compile_library(name, *flags, **defines):
        target = str(out / name)
        macros = ["-D%s=%s" % item for item in dict(DEFAULTS, **defines).items()]
        subprocess.run(
            ["gcc", "-shared", "-fPIC", "-O2", "-o", target] + macros + list(flags) + [str(source)], check=True
        )
        with open(target, "rb") as handle:
            return handle.read()

    return compile_library


@pytest.fixture(scope="module")
def right(build):
    return build("right.so")


def record_of(data, symbol=MODULE):
    return read_module_record(data, "lib.so", symbol)[1]


def relocation_offset(data, address):
    """File offset of the .rela.dyn entry that relocates `address`."""
    library = SharedLibrary(data, "lib.so")
    for section in library.sections:
        if section.type == 4:
            for offset in range(section.offset, section.offset + section.size, 24):
                if struct.unpack_from("<Q", data, offset)[0] == address:
                    return offset
    raise AssertionError("no relocation at 0x%x" % address)


def test_reads_both_versions_of_the_record(build):
    record = record_of(build("api3.so", MESOS_VERSION='"1.11.0"', MODULE_API_VERSION='"3"'))
    assert (record["module_api_version"], record["mesos_version"]) == ("3", "1.11.0")


def test_a_null_field_is_none(build):
    record = record_of(build("nokind.so", MODULE_KIND="0"))
    assert record["kind"] is None
    assert record["mesos_version"] == "1.0.1"


def test_an_imported_symbol_is_not_the_module(tmp_path):
    """A library that only refers to the module's symbol has it in .dynsym, undefined."""
    source = tmp_path / "user.c"
    source.write_text("extern char %s[]; char *use(void) { return %s; }\n" % (MODULE, MODULE))
    target = tmp_path / "user.so"
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(target), str(source)], check=True)
    with pytest.raises(MissingSymbol) as caught:
        record_of(target.read_bytes())
    assert MODULE not in caught.value.candidates


def test_an_object_file_is_not_a_shared_library(build):
    with pytest.raises(ElfError, match=r"is not a shared library \(ELF type 1, a shared library is 3\)"):
        record_of(build("module.o", "-c"))


@pytest.mark.parametrize(
    "offset, value, message",
    [
        (4, b"\x01", "is not a 64-bit little-endian ELF file"),
        (5, b"\x02", "is not a 64-bit little-endian ELF file"),
        (18, b"\x28", r"is built for ELF machine 40; only x86_64 \(62\) and aarch64 \(183\) are understood"),
    ],
)
def test_other_platforms_are_refused(right, offset, value, message):
    data = right[:offset] + value + right[offset + 1 :]
    with pytest.raises(ElfError, match=message):
        record_of(data)


def test_an_unknown_relocation_type_is_refused(right):
    library = SharedLibrary(right, "lib.so")
    field = library.symbols[MODULE].value + 8
    offset = relocation_offset(right, field) + 8
    data = right[:offset] + struct.pack("<Q", 37) + right[offset + 8 :]
    with pytest.raises(ElfError, match="has relocation type 37, which this reader does not know"):
        record_of(data)


def test_a_symbol_too_small_for_a_record(build):
    data = build("small.so", "-DNO_MODULE_SYMBOL")
    library = SharedLibrary(data, "lib.so")
    size = len("too short for a record") + 1
    with pytest.raises(ElfError, match=r"is %d bytes long, too short for a Mesos module record \(56 bytes\)" % size):
        library.module_record("short_symbol")


def test_no_section_headers(right):
    header_count = 60  # e_shnum: without section headers there is no .dynsym to look in
    data = right[:header_count] + b"\0\0" + right[header_count + 2 :]
    with pytest.raises(ElfError, match=r"has no dynamic symbol table \(\.dynsym\)"):
        record_of(data)


def test_headers_beyond_the_end(right):
    with pytest.raises(ElfError, match="is truncated"):
        record_of(right[:1000])
