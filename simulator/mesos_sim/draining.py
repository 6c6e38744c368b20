"""Mesos' own agent deactivation and draining (Mesos 1.9+): what DEACTIVATE_AGENT, DRAIN_AGENT and
REACTIVATE_AGENT do to the master's model. The HTTP side is operator_api.py.

Source: apache/mesos 1.11.0 src/master/http.cpp (`_deactivateAgent`, `_drainAgent`,
`_reactivateAgent`) and src/master/master.cpp (`checkAndTransitionDrainingAgent`), checked
against a real 1.11.0 master by tests/contract:

- the deactivated set and the drain info live in the master's registry: they survive failover
  and re-registration (unlike an allocator module's filters); a deactivated agent is inactive
  (`active: false`) and gets no offers (the master deactivates it in the allocator);
- DRAIN_AGENT deactivates too, sets `drain_info` = DRAINING with the given config, and the agent
  kills its tasks; once it runs none, the master records DRAINED (a registry write: a few tens
  of milliseconds on a real master, the next scheduler tick here), or with `mark_gone` marks the
  agent gone instead: it is removed for good and its drain info stays DRAINING;
- REACTIVATE_AGENT clears both, refused while DRAINING.

Callers hold `state.lock`.
"""

from __future__ import annotations

import time

DRAINING = "DRAINING"
DRAINED = "DRAINED"


class OperatorError(Exception):
    """A refused call: the master answers 400 with this text (409 for `status=409`)."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.message = message
        self.status = status


def known_agent(state, agent_id: str):
    """The agent if the master has it registered or recovered from its registry, else None
    (src/master/http.cpp: `slaves.recovered`, `slaves.registered`, `slaves.unreachable`)."""
    return state.agents.get(agent_id) or state.recovered.get(agent_id)


def deactivate(state, agent_id: str):
    agent = known_agent(state, agent_id)
    if agent is None:
        raise OperatorError("Unknown agent")
    agent.deactivated = True
    state.allocator.deactivate(agent_id)


def drain(state, agent_id: str, max_grace_period_ns: int | None, mark_gone: bool):
    agent = known_agent(state, agent_id)
    if agent is None:
        raise OperatorError("Unknown agent")
    config = {}
    if max_grace_period_ns is not None:
        # Given as a google.protobuf.Duration, kept and reported as a DurationInfo.
        config["max_grace_period"] = {"nanoseconds": max_grace_period_ns}
    config["mark_gone"] = bool(mark_gone)
    agent.drain_info = {"state": DRAINING, "config": config}
    agent.drain_start = time.time()
    agent.deactivated = True
    state.allocator.deactivate(agent_id)


def reactivate(state, agent_id: str):
    agent = known_agent(state, agent_id) or state.removed.get(agent_id)
    if agent is None or not agent.deactivated:
        raise OperatorError("Agent is not deactivated")
    if agent.drain_info is not None and agent.drain_info["state"] == DRAINING:
        raise OperatorError("Agent is still in the DRAINING state")
    if agent_id not in state.agents and agent_id not in state.recovered:
        raise OperatorError("Agent removed while processing the call", status=409)
    agent.deactivated = False
    agent.drain_info = None
    agent.drain_start = None
    if agent.connected and agent_id in state.allocator.agents:
        state.allocator.activate(agent_id)


def advance(state):
    """One step of every draining agent (run by the scheduler tick): the agent kills its active
    tasks; one that runs none is DRAINED, or gone when the drain asked for that. The grace
    period does not delay the kills: a simulated task ends on the SIGTERM that starts it (on a
    real agent only a task that ignores SIGTERM lives on, until the grace period's SIGKILL)."""
    if state.leader is None:
        return
    for agent in list(state.agents.values()):
        info = agent.drain_info
        if info is None or info["state"] != DRAINING or not agent.connected:
            continue
        for task in agent.active_tasks():
            state._set_task_state(agent, task, "TASK_KILLED")
        if agent.active_tasks():
            continue
        if info["config"].get("mark_gone"):
            state.remove_agent(agent.id)  # gone: removed for good; its drain info stays DRAINING
        else:
            info["state"] = DRAINED
