# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

from ansible_collections.mesos.maintenance.plugins.module_utils._errors import NAMES_SHOWN, name_list


def test_name_list_names_all_up_to_the_bound():
    assert name_list([]) == ""
    assert name_list(["a"]) == "a"
    names = ["host-%d" % n for n in range(NAMES_SHOWN)]
    assert name_list(names) == ", ".join(names)


def test_name_list_counts_the_rest():
    names = ["host-%d" % n for n in range(10_000)]
    text = name_list(names)
    assert text == ", ".join(names[:NAMES_SHOWN]) + ", and %d more" % (10_000 - NAMES_SHOWN)
    assert name_list(iter(names), sep="; ", what="agent(s)").endswith("host-19; and 9980 more agent(s)")


def test_name_list_describes_the_shown_items_only():
    described = []

    def describe(item):
        described.append(item)
        return "<%s>" % item

    assert name_list(range(30), describe).startswith("<0>, <1>, ")
    assert described == list(range(NAMES_SHOWN))
