# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The messages the roles and playbooks fail or report with (fail ``msg``, assert ``fail_msg``, debug ``msg``) are
read as one line each: no newline kept by a folded scalar (a more indented line of ``>-`` keeps its line break), no
space that an empty ``{% if %}`` block leaves behind, and a full stop at the end. Reads files only; the modules'
own messages are settled in one place (``_errors.sentence``) and checked over HTTP in
test_playbook_offer_filter_errors.py."""

from __future__ import annotations

import re
from itertools import pairwise
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
MESSAGE_KEYS = {
    "ansible.builtin.fail": ("msg",),
    "ansible.builtin.assert": ("fail_msg", "success_msg"),
    "ansible.builtin.debug": ("msg",),
}
TASK_LISTS = ("block", "rescue", "always", "tasks", "pre_tasks", "post_tasks", "handlers")
TAG = re.compile(r"({{.*?}}|{%.*?%})", re.S)


def messages_in(node):
    if isinstance(node, list):
        for item in node:
            yield from messages_in(item)
    elif isinstance(node, dict):
        for module, keys in MESSAGE_KEYS.items():
            arguments = node.get(module)
            for key in keys:
                if isinstance(arguments, dict) and isinstance(arguments.get(key), str):
                    yield node.get("name"), key, arguments[key]
        for key in TASK_LISTS:
            yield from messages_in(node.get(key))


def all_messages():
    files = sorted((REPO / "roles").glob("*/tasks/*.yml")) + sorted((REPO / "roles").glob("*/handlers/*.yml"))
    files += sorted((REPO / "playbooks").rglob("*.yml"))
    return [
        pytest.param(template, id=f"{path.relative_to(REPO)}: {name} ({key})")
        for path in files
        for name, key, template in messages_in(yaml.safe_load(path.read_text()))
    ]


def is_statement(token):
    return token.startswith("{%")


@pytest.mark.parametrize("template", all_messages())
def test_a_message_is_one_line_without_stray_spaces_and_ends_with_a_full_stop(template):
    tokens = [t for t in TAG.split(template) if t]
    literal = [t for t in tokens if not TAG.fullmatch(t)]
    assert not [t for t in literal if "\n" in t], f"a line break in the text: {template!r}"
    for index, token in enumerate(tokens):
        if TAG.fullmatch(token) or token.strip():
            continue
        before = tokens[index - 1] if index else None
        after = tokens[index + 1] if index + 1 < len(tokens) else None
        # Spaces between two statements, or between one and either end, stay when a block is empty.
        edges = [t for t in (before, after) if t is None or is_statement(t)]
        assert len(edges) < 2, f"spaces between {before!r} and {after!r}: {template!r}"
    for token, after in pairwise(tokens):
        if not TAG.fullmatch(token) and re.match(r"{%-?\s*(elif|else)\b", after):
            assert token == token.rstrip(), f"a branch ends with a space before {after!r}: {template!r}"
    whole = "".join("x" if t.startswith("{{") else "" if is_statement(t) else t for t in tokens)
    assert whole == whole.strip() and "  " not in whole, f"stray spaces: {template!r}"
    if whole != "x":
        # A message that is one expression comes whole from a filter of the collection, whose unit tests hold its
        # texts; the sentence is checked there.
        assert whole.endswith("."), f"no full stop at the end: {template!r}"
