"""`/allocator/filters` of the Offer Filtering Allocator module, both builds.

Source: gettyimages/mesos_offer_filtering_allocator_module, src/offer_filter_module.cpp
(`OfferFilteringHierarchicalDRFAllocatorProcess::filters` and its GET/POST/DELETE/PUT helpers).
Build "0afdd8b" is the August 2016 commit; build "later" is the Sep 2016 - May 2017 line with
the leader check, PUT and the ZooKeeper-backed persistence.
"""

from __future__ import annotations

import json
import os

from . import stout_json
from .http import HTML, Drop, Request, Response, json_response, text_response

MODULE_NAME = "im_getty_mesos_OfferFilteringAllocator"
BUILDS = ("0afdd8b", "later")
ALLOWED = "GET, POST, PUT, DELETE"

HELP_DIR = os.path.join(os.path.dirname(__file__), "help")


def handle(master, request: Request) -> Response:
    if request.path.startswith("/help/"):
        return help_page(master.state.build, request.header("user-agent") or "")
    state = master.state
    if state.build == "later":
        redirect = leader_check(master, request)
        if redirect is not None:
            return redirect
    with state.lock:
        if request.method == "GET":
            return listing(master)
        if request.method == "POST":
            return add(master, request)
        if request.method == "DELETE":
            return remove(master, request)
        if request.method == "PUT":
            return put(master, request)
    return Response(
        405,
        f"Expecting one of {{ 'GET', 'POST', 'PUT', 'DELETE' }}, but received '{request.method}'".encode(),
        "text/plain; charset=utf-8",
        {"Allow": ALLOWED},
    )


def help_page(build: str, user_agent: str) -> Response:
    """libprocess serves help as markdown to curl and HTTPie, and to everyone else as an HTML
    page that renders the same markdown (3rdparty/libprocess/src/help.cpp, Help::help)."""
    with open(os.path.join(HELP_DIR, f"{build}.md"), encoding="utf-8") as handle:
        markdown = handle.read()
    if user_agent.startswith(("curl", "HTTPie")):
        return Response(200, markdown.encode(), "text/x-markdown")
    page = (
        "<html><head><title>Help</title></head><body><script>"
        f"document.body.innerHTML = marked({json.dumps(markdown)});</script></body></html>"
    )
    return Response(200, page.encode(), HTML)


def leader_check(master, request: Request) -> Response | None:
    """Later builds ask their own master's /master/state, forwarding the request's
    Authorization header. A standby's 307 becomes our 307 to the same path and query on the
    leader; any other failure (no leader, 401, 5xx, a body that is not JSON) becomes 503."""
    status, location = master.cluster.internal_state_probe(master.index, request.header("authorization"))
    if status == 200:
        return None
    if status == 307 and location:
        host = location[2:].split("/", 1)[0]
        target = f"//{host}{request.path}"
        if request.raw_query:
            target += "?" + request.raw_query
        return Response(307, headers={"Location": target})
    return text_response(503, "No leader elected")


def listing(master) -> Response:
    return json_response({"filters": master.allocator.filters()}, sort_keys=True)


def _no_such_agent(agent_id: str, hostname: str) -> str:
    terms = []
    if hostname:
        terms.append(f"hostname=={hostname}")
    if agent_id:
        terms.append(f"agentId=={agent_id}")
    # The module joins the terms with " AND " after a term that already ends in a space.
    return "No such agent matching " + " AND  ".join(terms)


def parse_body(request: Request):
    """The checks POST and PUT share: the exact Content-Type, then JSON::parse<JSON::Object> of the stout the
    module was built with.
    Returns the object, or the error Response."""
    content_type = request.header("content-type")
    if content_type is not None and content_type != "application/json":
        return text_response(415, "expected: application/json")
    try:
        return stout_json.parse_object(request.body.decode("utf-8", errors="replace"))
    except ValueError as exc:
        return text_response(400, str(exc))


def add(master, request: Request) -> Response:
    body = parse_body(request)
    if isinstance(body, Response):
        return body
    values = {}
    for key in ("agentId", "hostname"):
        value = body.get(key)
        if value is not None and not isinstance(value, str):
            # stout's JSON::Value::as<JSON::String>() on another type throws inside the
            # master's event loop, which takes the whole master process down.
            raise Drop(crash=True)
        values[key] = value or ""
    agent_id, hostname = values["agentId"], values["hostname"]
    if not agent_id and not hostname:
        return text_response(400, "body requires 'agentId' and/or 'hostname' attributes")
    match = master.allocator.first_match(agent_id, hostname)
    if match is None:
        return text_response(400, _no_such_agent(agent_id, hostname))
    master.allocator.deactivate(match)
    master.state.store_filters()
    return listing(master)


def remove(master, request: Request) -> Response:
    agent_id = request.query.get("agentId")
    hostname = request.query.get("hostname")
    if agent_id is not None and hostname is not None:
        return text_response(400, "Specify parameter 'agentId' or 'hostname', but not both")
    if agent_id is None and hostname is None:
        return text_response(400, "One of parameters 'agentId' or 'hostname' is required")
    allocator = master.allocator
    agents = allocator.agents
    if agent_id is not None:
        match = agent_id if agent_id in agents else None
    else:
        match = next((aid for aid, host in agents.items() if host == hostname), None)
    if match is None:
        what = f"agent {agent_id}" if agent_id is not None else f"hostname {hostname}"
        return text_response(404, f"No filter exists for {what}")
    if match not in allocator.deactivated:
        return text_response(404, f"No filter exists for agent {match}")
    allocator.activate(match)
    master.state.store_filters()
    return listing(master)


def put(master, request: Request) -> Response:
    body = parse_body(request)
    if isinstance(body, Response):
        return body
    if master.state.build == "0afdd8b":
        # The first build's PUT is a stub that answers 200 and changes nothing.
        return json_response({"result": "ok (method not implemented)"}, sort_keys=True)
    return replace(master, body)


def replace(master, body: dict) -> Response:
    """Later builds' PUT: the listed agents deactivated, every other agent activated (which
    re-activates merely disconnected agents too); nothing changes if one entry is unknown."""
    if "filters" not in body:
        return listing(master)
    entries = body["filters"] if isinstance(body["filters"], list) else []
    for entry in entries:
        if not isinstance(entry, dict) or any(not isinstance(entry.get(k, ""), str) for k in ("agentId", "hostname")):
            raise Drop(crash=True)  # parseFilters' .as<JSON::Object/String>() throws
    wanted, missing = master.state.resolve_filters(entries)
    if missing:
        return text_response(400, "One or more agents specified do not exist: " + ", ".join(missing))
    master.allocator.apply(wanted)
    master.state.store_filters()
    return listing(master)
