"""A small HTTP control port so that another process (the CLI, a demo, a shell) can drive a
running simulated cluster: `POST /<call>` with a JSON object of keyword arguments."""

from __future__ import annotations

import json

from .http import Request, Response, Server, json_response, text_response

CALLS = (
    "add_agent",
    "add_app",
    "add_filter",
    "clear_faults",
    "describe",
    "disconnect_agent",
    "elect",
    "finish_tasks",
    "inject",
    "kill_leader",
    "kill_master",
    "launch_tasks",
    "reregister_agent",
    "remove_agent",
    "replace_agent",
    "reset_log",
    "respond_inverse_offer",
    "set_attributes",
    "start_master",
    "tasks",
)


class ControlApp:
    def __init__(self, cluster):
        self.cluster = cluster

    def dispatch(self, request: Request) -> Response:
        call = request.path.strip("/")
        if call not in CALLS:
            return text_response(404, f"unknown call {call!r}; calls: {', '.join(CALLS)}")
        try:
            kwargs = json.loads(request.body or b"{}")
            result = getattr(self.cluster, call)(**kwargs)
        except (TypeError, ValueError, KeyError, RuntimeError) as exc:
            return text_response(400, f"{call}: {exc}")
        if isinstance(result, set):
            result = sorted(result)
        return json_response({"result": result})


def serve(cluster, port: int = 0) -> Server:
    server = Server(port, ControlApp(cluster), on_crash=lambda: None)
    server.start()
    return server
