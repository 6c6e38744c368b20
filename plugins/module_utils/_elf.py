# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Read a Mesos module's version record out of its shared library without loading it.

A real module links libmesos, so opening it with the dynamic loader on a controller (or on a
master before the restart) would need all of Mesos and run the library's constructors. This
reads the ELF file instead: the module's symbol in ``.dynsym``, the ``ModuleBase`` record at its
address, and each ``const char*`` field through the dynamic relocation that sets it at load time.

The record is ``mesos::modules::ModuleBase`` of include/mesos/module.hpp, seven pointers in this
order; ``Module<T>`` adds its ``create`` pointer after them.
"""

from __future__ import annotations

import struct
from collections import namedtuple

RECORD_FIELDS = ('module_api_version', 'mesos_version', 'kind', 'author_name', 'author_email', 'description')
# The field after the strings: a compatible() hook, NULL when the version must match exactly.
COMPATIBLE_INDEX = len(RECORD_FIELDS)
POINTER_SIZE = 8
STRING_LIMIT = 4096

ET_DYN = 3
PT_LOAD = 1
SHT_RELA = 4
SHT_NOBITS = 8
SHT_DYNSYM = 11
SHF_ALLOC = 0x2
SHN_UNDEF = 0
SHN_LORESERVE = 0xff00  # and above: absolute values and the like, not data in a section
STT_OBJECT = 1

# Relocation types that put an absolute address into a pointer, per machine (e_machine):
# (relative: base + addend, absolute: symbol + addend).
RELOCATIONS = {
    62: ('x86_64', 8, (1, 6)),  # R_X86_64_RELATIVE; R_X86_64_64, R_X86_64_GLOB_DAT
    183: ('aarch64', 1027, (257, 1025)),  # R_AARCH64_RELATIVE; R_AARCH64_ABS64, R_AARCH64_GLOB_DAT
}

HEADER = struct.Struct('<16sHHIQQQIHHHHHH')
PROGRAM_HEADER = struct.Struct('<IIQQQQQQ')
SECTION_HEADER = struct.Struct('<IIQQQQIIQQ')
SYMBOL = struct.Struct('<IBBHQQ')
RELA = struct.Struct('<QQq')
POINTER = struct.Struct('<Q')

Segment = namedtuple('Segment', 'type flags offset vaddr paddr filesz memsz align')
Section = namedtuple('Section', 'name type flags addr offset size link info addralign entsize')
Symbol = namedtuple('Symbol', 'name value size kind section')


class ElfError(ValueError):
    """The file is not a library this reader understands, or lacks what was asked for."""


class MissingSymbol(ElfError):
    """The library does not export the symbol; ``candidates`` are the data symbols it does export."""

    def __init__(self, message, candidates):
        super(MissingSymbol, self).__init__(message)
        self.candidates = candidates


class SharedLibrary(object):
    """A 64-bit little-endian ELF shared object, read from bytes."""

    def __init__(self, data, name='library'):
        self.data = data
        self.name = name
        if data[:4] != b'\x7fELF':
            raise ElfError('%s is not an ELF file (it does not start with the ELF magic number)' % name)
        if len(data) < HEADER.size:
            raise ElfError('%s is truncated: its ELF header is incomplete' % name)
        header = HEADER.unpack_from(data, 0)
        ident, e_type, machine = header[0], header[1], header[2]
        if ident[4] != 2 or ident[5] != 1:
            raise ElfError('%s is not a 64-bit little-endian ELF file; Mesos modules are built for x86_64 or aarch64' % name)
        if e_type != ET_DYN:
            raise ElfError('%s is not a shared library (ELF type %d, a shared library is %d)' % (name, e_type, ET_DYN))
        if machine not in RELOCATIONS:
            raise ElfError('%s is built for ELF machine %d; only x86_64 (62) and aarch64 (183) are understood' % (name, machine))
        self.machine, self.relative_type, self.absolute_types = RELOCATIONS[machine]
        phoff, shoff, phentsize, phnum, shentsize, shnum = header[5], header[6], header[9], header[10], header[11], header[12]
        self.segments = self._table(Segment, PROGRAM_HEADER, phoff, phentsize, phnum)
        self.sections = self._table(Section, SECTION_HEADER, shoff, shentsize, shnum)
        self.symbol_table = self._dynamic_symbols()
        self.symbols = dict((symbol.name, symbol) for symbol in self.symbol_table if symbol.name)
        self._relocations = None

    def _table(self, kind, layout, offset, entsize, count):
        if offset + count * entsize > len(self.data):
            raise ElfError('%s is truncated: its program or section headers lie beyond the end of the file' % self.name)
        return [kind(*layout.unpack_from(self.data, offset + i * entsize)) for i in range(count)]

    def _dynamic_symbols(self):
        """Every symbol of .dynsym, in table order (relocations refer to them by index)."""
        tables = [section for section in self.sections if section.type == SHT_DYNSYM]
        if not tables:
            raise ElfError('%s has no dynamic symbol table (.dynsym): no module can be looked up in it' % self.name)
        table = tables[0]
        strings = self.sections[table.link]
        symbols = []
        for offset in range(table.offset, table.offset + table.size, table.entsize or SYMBOL.size):
            st_name, st_info, _other, st_shndx, st_value, st_size = SYMBOL.unpack_from(self.data, offset)
            name = self._string_at(strings.offset + st_name, strings.offset + strings.size)
            symbols.append(Symbol(name, st_value, st_size, st_info & 0xf, st_shndx))
        return symbols

    def _string_at(self, offset, end):
        stop = self.data.find(b'\0', offset, min(end, offset + STRING_LIMIT))
        if stop < 0:
            raise ElfError('%s is damaged: a string at file offset %d is not terminated' % (self.name, offset))
        return self.data[offset:stop].decode('utf-8', 'replace')

    def data_symbols(self):
        """The names of the defined data objects the library exports (module records are among them)."""
        return sorted(symbol.name for symbol in self.symbols.values()
                      if symbol.kind == STT_OBJECT and SHN_UNDEF < symbol.section < SHN_LORESERVE)

    def relocations(self):
        """Address -> (type, symbol index, addend) of the dynamic relocations (.rela.dyn and the like)."""
        if self._relocations is None:
            found = {}
            for section in self.sections:
                if section.type == SHT_RELA and section.flags & SHF_ALLOC:
                    for offset in range(section.offset, section.offset + section.size, section.entsize or RELA.size):
                        r_offset, r_info, r_addend = RELA.unpack_from(self.data, offset)
                        found[r_offset] = (r_info & 0xffffffff, r_info >> 32, r_addend)
            self._relocations = found
        return self._relocations

    def file_offset(self, address):
        """The file offset of a virtual address, or None when it is in memory only (.bss)."""
        for segment in self.segments:
            if segment.type == PT_LOAD and segment.vaddr <= address < segment.vaddr + segment.memsz:
                if address >= segment.vaddr + segment.filesz:
                    return None
                return segment.offset + (address - segment.vaddr)
        raise ElfError('%s is damaged: address 0x%x is in no loadable segment' % (self.name, address))

    def pointer(self, address):
        """The value a pointer at ``address`` has once the library is loaded at base 0, or None for NULL."""
        relocation = self.relocations().get(address)
        if relocation is not None:
            r_type, r_symbol, addend = relocation
            if r_type == self.relative_type:
                return addend
            if r_type in self.absolute_types:
                target = self.symbol_table[r_symbol]
                if target.section == SHN_UNDEF:
                    return None  # points into another library: not a string of this record
                return target.value + addend
            raise ElfError('%s: the pointer at 0x%x has relocation type %d, which this reader does not know'
                           % (self.name, address, r_type))
        offset = self.file_offset(address)
        if offset is None:
            return None
        # No relocation: a link-time address (prelinked or packed relative relocations), or NULL.
        return POINTER.unpack_from(self.data, offset)[0] or None

    def c_string(self, address):
        offset = self.file_offset(address)
        if offset is None:
            raise ElfError('%s is damaged: a record string points at 0x%x, outside the file\'s data' % (self.name, address))
        return self._string_at(offset, len(self.data))

    def module_record(self, symbol):
        """The ModuleBase record a module symbol points at, as a dict (see RECORD_FIELDS).

        A field is None when its pointer is NULL or only set when the library is loaded (a
        record filled in by a C++ constructor rather than by static data); ``static`` says
        whether the record itself is in the file at all."""
        entry = self.symbols.get(symbol)
        if entry is None or entry.section == SHN_UNDEF:
            raise MissingSymbol('%s does not export the symbol %s' % (self.name, symbol), self.data_symbols())
        needed = (COMPATIBLE_INDEX + 1) * POINTER_SIZE
        if entry.size and entry.size < needed:
            raise ElfError('%s: the symbol %s is %d bytes long, too short for a Mesos module record (%d bytes)'
                           % (self.name, symbol, entry.size, needed))
        # A record in .bss is all zeros in the file: a C++ constructor fills it in at load time.
        static = entry.section >= len(self.sections) or self.sections[entry.section].type != SHT_NOBITS
        record = {'symbol': symbol, 'static': static}
        for index, field in enumerate(RECORD_FIELDS):
            target = self.pointer(entry.value + index * POINTER_SIZE) if static else None
            record[field] = self.c_string(target) if target is not None else None
        hook = self.pointer(entry.value + COMPATIBLE_INDEX * POINTER_SIZE) if static else None
        record['compatible'] = hook is not None if static else None
        return record


def read_module_record(data, name, symbol):
    """Return (machine, record) of the module ``symbol`` in the library ``data`` (named ``name``
    in messages); see SharedLibrary.module_record. Raises ElfError (MissingSymbol) with the reason."""
    try:
        library = SharedLibrary(data, name)
        return library.machine, library.module_record(symbol)
    except struct.error:
        raise ElfError('%s is truncated or damaged: a table it lists lies beyond the end of the file' % name)
