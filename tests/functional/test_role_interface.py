# Copyright (c) mesos.maintenance contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The interface of the role mesos.maintenance.agent_maintenance: meta/argument_specs.yml, defaults/main.yml and the
variables its tasks read stay in step (STYLE: "argument_specs and defaults stay in sync"), each option is written
once in the argument specs (YAML anchors and merge keys, resolved by yaml.safe_load as by ansible-core), and the
role's argument validation accepts what an AWX survey sends and refuses a bad value before any request.

The first tests read files only; the last ones run ansible-playbook against a simulated cluster.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

REPO = Path(__file__).resolve().parents[2]
ROLE = REPO / "roles" / "agent_maintenance"
SPEC_FILE = ROLE / "meta" / "argument_specs.yml"
ENTRY_POINTS = {
    "main",
    "drain",
    "restore",
    "hold",
    "hold_release",
    "status",
    "run_started",
    "run_failed",
    "run_finished",
}
# The playbook each survey of extensions/surveys fills in, and the entry point that validates its role variables.
SURVEY_ENTRY_POINTS = {"drain": "drain", "restore": "restore", "status": "status", "rolling_maintenance": "run_started"}

PUBLIC = re.compile(r"(?<!\w)agent_maintenance_\w+")
INTERNAL = re.compile(r"(?<!\w)_agent_maintenance_\w+")
# In the text of the argument specs: an option written out (its mapping follows, maybe under an anchor), or an
# option named by alias.
DEFINITION = re.compile(r"^ *(agent_maintenance_\w+):[ \t]*(?:&\w+)?[ \t]*$", re.MULTILINE)
REFERENCE = re.compile(r"^ *(agent_maintenance_\w+):[ \t]*\*\w+[ \t]*$", re.MULTILINE)
ANY_OPTION_KEY = re.compile(r"^ *agent_maintenance_\w+:", re.MULTILINE)


def load(path):
    return yaml.safe_load(path.read_text())


def specs():
    return load(SPEC_FILE)["argument_specs"]


def defaults():
    return load(ROLE / "defaults" / "main.yml")


def internal_vars():
    return load(ROLE / "vars" / "main.yml")


def task_file(entry_point):
    return ROLE / "tasks" / f"{entry_point}.yml"


def walk(data, key):
    """Every value under `key` in nested dicts and lists."""
    if isinstance(data, dict):
        for k, v in data.items():
            if k == key:
                yield v
            yield from walk(v, key)
    elif isinstance(data, list):
        for item in data:
            yield from walk(item, key)


def strip(data, keys):
    """`data` without the entries under `keys` (tags name no variable, register sets one)."""
    if isinstance(data, dict):
        return {k: strip(v, keys) for k, v in data.items() if k not in keys}
    if isinstance(data, list):
        return [strip(item, keys) for item in data]
    return data


def registered():
    """The results the entry points register, by entry point."""
    return {ep: set(walk(load(task_file(ep)), "register")) for ep in ENTRY_POINTS}


def all_registered():
    return set().union(*registered().values())


def reads(data):
    """The public and the internal role variables that `data` (loaded YAML, comments gone) reads."""
    text = json.dumps(strip(data, {"tags", "register"}))
    return set(PUBLIC.findall(text)) - all_registered(), set(INTERNAL.findall(text))


def used_by(entry_point):
    """The public variables an entry point reads: its task file, the files it includes, and the internal variables of
    vars/main.yml they use, followed to the end."""
    data = load(task_file(entry_point))
    files = [data] + [load(ROLE / "tasks" / name) for name in walk(data, "file")]
    public, internal = set(), set()
    for item in files:
        p, i = reads(item)
        public |= p
        internal |= i
    values = internal_vars()
    seen = set()
    while internal - seen:
        name = (internal - seen).pop()
        seen.add(name)
        assert name in values, f"{entry_point} reads {name}, which vars/main.yml does not set"
        p, i = reads(values[name])
        public |= p
        internal |= i
    return public


def all_options():
    """Every documented option and its definition; an option must be the same in every entry point."""
    found = {}
    for entry_point, spec in specs().items():
        for name, option in spec["options"].items():
            assert found.setdefault(name, option) == option, f"{name} differs in {entry_point}"
    return found


def test_the_entry_points_are_the_task_files():
    assert set(specs()) == ENTRY_POINTS
    assert {p.stem for p in (ROLE / "tasks").glob("*.yml")} == ENTRY_POINTS


def test_every_default_is_documented_and_every_option_has_a_default():
    documented = set(all_options())
    assert sorted(set(defaults()) - documented) == [], "defaults/main.yml sets variables meta/argument_specs.yml lacks"
    assert sorted(documented - set(defaults())) == [], "meta/argument_specs.yml documents variables without default"


def test_every_documented_default_is_the_default_of_defaults_main():
    values = defaults()
    for name, option in all_options().items():
        assert "default" in option, name
        if option["type"] in ("str", "raw"):
            # A string option may be written unquoted in one file (20%, 1) and quoted in the other.
            assert str(option["default"]) == str(values[name]), name
        else:
            assert option["default"] == values[name], name
            assert type(option["default"]) is type(values[name]) or option["type"] == "float", name


def test_each_option_is_written_once():
    text = SPEC_FILE.read_text()
    definitions = Counter(DEFINITION.findall(text))
    references = REFERENCE.findall(text)
    assert {name: n for name, n in definitions.items() if n != 1} == {}
    assert set(definitions) == set(all_options())
    # Every other line that names an option names it by alias; nothing else spells one out again.
    assert len(ANY_OPTION_KEY.findall(text)) == sum(definitions.values()) + len(references)
    assert set(references) <= set(definitions)
    # The groups are shared: most entry points take their options by alias only.
    assert sum(len(spec["options"]) for spec in specs().values()) > 3 * len(definitions)


def test_every_variable_the_tasks_read_is_a_default_or_internal():
    values = defaults()
    public = set()
    for path in sorted((ROLE / "tasks").glob("*.yml")):
        public |= reads(load(path))[0]
    for value in internal_vars().values():
        public |= reads(value)[0]
    assert sorted(public - set(values)) == [], "read by the tasks, but neither a default nor internal (_...)"
    assert sorted(set(values) - public) == [], "defaults that no task reads any more"
    assert all_registered() & set(values) == set(), "a registered result named like a variable"


@pytest.mark.parametrize("entry_point", sorted(ENTRY_POINTS))
def test_each_entry_point_documents_what_it_reads(entry_point):
    options = set(specs()[entry_point]["options"])
    used = used_by(entry_point)
    assert sorted(used - options) == [], f"{entry_point} reads undocumented variables"
    extra = options - used
    if entry_point == "run_started":
        # The rolling playbook validates the drain, hold and restore options of the whole run here, once.
        batch = set().union(*(specs()[ep]["options"] for ep in ("drain", "hold", "restore")))
        assert batch <= options
        assert sorted(extra - batch) == []
    else:
        assert sorted(extra) == [], f"{entry_point} documents variables it does not read"


@pytest.mark.parametrize("entry_point", sorted(ENTRY_POINTS))
def test_each_entry_point_names_the_result_it_registers(entry_point):
    description = " ".join(specs()[entry_point]["description"])
    for name in registered()[entry_point]:
        assert f"C({name})" in description, (entry_point, name)


def test_the_defaults_validate_as_an_awx_survey_sends_them():
    """Every option's default, sent as a survey's text field would send it (a string), validates; so do the
    defaults of the collection's surveys, against the entry point that validates their playbook."""
    for entry_point, spec in specs().items():
        params = {}
        for name, option in spec["options"].items():
            if option["type"] not in ("list", "dict"):
                default = option["default"]
                params[name] = str(default).lower() if isinstance(default, bool) else str(default)
        result = ArgumentSpecValidator(spec["options"]).validate(params)
        assert result.error_messages == [], (entry_point, result.error_messages)
    for path in sorted((REPO / "extensions" / "surveys").glob("*.json")):
        spec = specs()[SURVEY_ENTRY_POINTS[path.stem]]["options"]
        questions = [q for q in load(path)["spec"] if q["variable"].startswith("agent_maintenance_")]
        assert questions, path
        for question in questions:
            assert question["variable"] in spec, (path.name, question["variable"])
        params = {q["variable"]: q["default"] for q in questions}
        result = ArgumentSpecValidator(spec).validate(params)
        assert result.error_messages == [], (path.name, result.error_messages)


# --- The validation, run by ansible-playbook against a simulated cluster ----------------------------------------------


def role_task(entry_point, **variables):
    return {
        "name": "the role",
        "ansible.builtin.include_role": {"name": "mesos.maintenance.agent_maintenance", "tasks_from": entry_point},
        "vars": variables,
    }


def validation(run, entry_point):
    found = [r for r in run.results if f"Validating arguments against arg spec '{entry_point}'" in r["_task"]]
    assert len(found) == 1, run.output
    return found[0]


def survey_strings(cluster, tmp_path):
    """Connection and ledger variables as an AWX survey or `-e name=value` sends them: strings."""
    return {
        "agent_maintenance_master_url": ",".join(cluster.urls),
        "agent_maintenance_timeout": "5",
        "agent_maintenance_leader_timeout": "30",
        "agent_maintenance_validate_certs": "true",
        "agent_maintenance_memory_file": str(tmp_path / "ledger" / "ledger.json"),
    }


def test_status_validates_survey_strings(cluster_factory, run_tasks, tmp_path):
    cluster = cluster_factory(masters=1, agents=2)
    run = run_tasks(role_task("status", agent_maintenance_backend="auto", **survey_strings(cluster, tmp_path)))
    assert run.rc == 0, run.output
    assert validation(run, "status")["_status"] == "ok"
    status = run.last("Status of the agents")
    assert status["_status"] == "ok", run.output
    assert sorted(a["hostname"] for a in status["agents"]) == sorted(a["hostname"] for a in cluster.agents), status[
        "agents"
    ]


def test_a_bad_choice_fails_the_validation_before_any_request(cluster_factory, run_tasks, tmp_path):
    cluster = cluster_factory(masters=1, agents=2)
    cluster.reset_log()
    run = run_tasks(role_task("status", agent_maintenance_backend="bogus", **survey_strings(cluster, tmp_path)))
    assert run.rc != 0
    checked = validation(run, "status")
    assert checked["_status"] == "failed"
    assert checked["argument_errors"] == [
        "value of agent_maintenance_backend must be one of: auto, allocator, native, schedule, got: bogus"
    ]
    assert run.tasks("Status of the agents") == []
    assert cluster.request_log == []


@pytest.mark.parametrize("wait_timeout", ["600", "ten"])
def test_run_started_validates_the_options_of_the_whole_rolling_run(cluster_factory, run_tasks, tmp_path, wait_timeout):
    """The rolling playbook validates once, with run_started: a bad drain option stops it before the plan."""
    cluster = cluster_factory(masters=1, agents=2)
    cluster.reset_log()
    variables = survey_strings(cluster, tmp_path)
    run = run_tasks(
        role_task(
            "run_started",
            agent_maintenance_run_hosts=["agent-1.example.com"],
            agent_maintenance_run_serial="1",
            agent_maintenance_max_filtered="50%",
            agent_maintenance_wait_timeout=wait_timeout,
            **variables,
        )
    )
    ledger = Path(variables["agent_maintenance_memory_file"])
    checked = validation(run, "run_started")
    if wait_timeout == "ten":
        assert run.rc != 0
        assert checked["_status"] == "failed"
        assert any("agent_maintenance_wait_timeout" in e for e in checked["argument_errors"]), checked
        assert run.tasks("Plan the rolling maintenance") == []
        assert not ledger.exists()
        assert cluster.request_log == []
    else:
        assert run.rc == 0, run.output
        assert checked["_status"] == "ok"
        plan = run.last("Plan the rolling maintenance")
        assert plan["todo"] == ["agent-1.example.com"], plan
        assert plan["run_id"] in json.loads(ledger.read_text())["runs"]
        assert cluster.request_log != []
