"""The upstream routes: ``/beacon``, ``/profile/{site}`` and the three diagnostics endpoints.

Answers are upstream's (``{"status": "ok"}``, ``{"site", "profile"}``, 400
``{"error": "invalid_request" | "invalid_profile"}``), with a ``reason`` added to every
error: ``"<field>: <rule>"`` for a record, the limit or the rule otherwise.

Rules of the profile route (ours): the body is JSON nested at most
:data:`~rtt_topology.load.documents.MAX_DEPTH` levels, validated with
:class:`~rtt_topology.schemas.Profile` and stored as its
:meth:`~rtt_topology.schemas.Profile.to_dict`. When the site had a profile and the new
one differs, a ``config_change`` beacon of the site (session
:data:`SERVER_SESSION`, ``ts`` the receipt time in whole seconds) is stored *before*
the profile; if it cannot be stored the answer is 503 and the profile is unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, unquote_to_bytes

from pydantic import ValidationError
from starlette.convertors import Convertor, register_url_convertor
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from rtt_topology.errors import LoadError, RecordError, StoreError
from rtt_topology.load import beacon_line, check_beacon
from rtt_topology.load.documents import parse_json
from rtt_topology.load.records import loads_strict
from rtt_topology.remote.server.answers import (
    OK,
    PLACEHOLDER,
    error,
    json_answer,
    read_body,
    receive_body,
    send_ok,
)
from rtt_topology.remote.server.context import ServerContext
from rtt_topology.remote.server.limits import BodyTooLargeError, site_problem
from rtt_topology.schemas import Profile
from rtt_topology.sdk import build_beacon_payload

__all__ = [
    "BEACON_PATH",
    "DIAGNOSTICS",
    "SERVER_SESSION",
    "Endpoint",
    "beacon_endpoint",
    "site_in_path",
    "upstream_routes",
]

#: The session of the beacons the server writes itself (``config_change``).
SERVER_SESSION = "rtt-topology-server"
#: The diagnostics endpoints.
DIAGNOSTICS = ("validate", "corridor", "topology")
#: The path of the single-beacon route (the hot path).
BEACON_PATH = "/api/rtt/beacon"

#: An ASGI callable.
Endpoint = Callable[[Scope, Receive, Send], Awaitable[None]]


def invalid(ctx: ServerContext, kind: str, reason: str) -> Response:
    """Answer 400 ``{"error": kind, "reason": reason}``, counted."""
    return ctx.refuse(kind, error(400, kind, reason))


class _Raw:
    """An ASGI endpoint: Starlette calls an object that is not a function as an ASGI app."""

    def __init__(self, handler: Endpoint) -> None:
        self.handler = handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.handler(scope, receive, send)


def beacon_endpoint(ctx: ServerContext) -> Endpoint:
    """Return the ASGI endpoint of ``POST /api/rtt/beacon``, bound to ``ctx``.

    The order of the rules: rate limit (429), token (401), content type (415), body
    size (413), the record rules (400, ``"<field>: <rule>"``), the site name (400),
    then the durable append (503 when it fails); only then 200 ``{"status": "ok"}``.
    It reads raw ASGI messages and answers prepared bytes: no ``Request`` or
    ``Response`` objects on the way to a 200.

    Examples
    --------
    >>> import asyncio, tempfile
    >>> from rtt_topology.remote.server.limits import Limits
    >>> from rtt_topology.remote.server.store import BeaconStore
    >>> store = BeaconStore(tempfile.mkdtemp())
    >>> _ = store.open()
    >>> ctx = ServerContext(store, limits=Limits(rate_per_s=None), token=None,
    ...                     placeholder=False, owns_store=False)
    >>> body = b'{"site":"api","session":"s1","event":"heartbeat","ts":"2026-01-19T15:00:00Z"}'
    >>> sent = []
    >>> async def receive():
    ...     return {"type": "http.request", "body": body}
    >>> async def send(message):
    ...     sent.append(message)
    >>> asyncio.run(beacon_endpoint(ctx)({"headers": []}, receive, send))
    >>> sent[0]["status"], sent[1]["body"], store.stats().records
    (200, b'{"status":"ok"}', 1)
    >>> store.close()
    """
    limits = ctx.limits
    beacon_bytes = limits.beacon_bytes
    store = ctx.store
    live = ctx.live
    requests = ctx.requests
    guard = ctx.guard
    now = datetime.now

    async def beacon(scope: Scope, receive: Receive, send: Send) -> None:
        requests["beacon"] += 1
        refused = guard(scope, write=True)
        if refused is None:
            try:
                body = await receive_body(scope, receive, beacon_bytes)
            except BodyTooLargeError:
                refused = ctx.too_large(beacon_bytes)
            except ConnectionAbortedError:
                return
        if refused is None:
            try:
                record = check_beacon(loads_strict(body), received_at=now(UTC))
            except RecordError as exc:
                refused = invalid(ctx, "invalid_request", str(exc))
            else:
                problem = site_problem(record["site"])
                if problem is not None:
                    refused = invalid(ctx, "invalid_request", f"site: {problem}")
        if refused is None:
            line = beacon_line(record)
            try:
                await store.append((line,))
            except StoreError as exc:
                refused = ctx.unavailable(exc)
            else:
                live.add(line)
                ctx.accepted_beacons += 1
                await send_ok(send)
                return
        await refused(scope, receive, send)

    return beacon


def upstream_routes(ctx: ServerContext) -> list[Route]:
    """Return the upstream routes, bound to ``ctx``."""
    limits = ctx.limits
    store = ctx.store
    live = ctx.live
    requests = ctx.requests

    def site_of(request: Request) -> str | Response:
        site = site_in_path(request.scope)
        if site is None:
            return ctx.refuse("not_found", error(404, "not_found"))
        if isinstance(site, Response):
            return site
        problem = site_problem(site)
        if problem is not None:
            return invalid(ctx, "invalid_request", f"site: {problem}")
        return site

    async def get_profile(request: Request) -> Response:
        requests["get_profile"] += 1
        refused = ctx.guard(request.scope, write=False, body=False)
        if refused is not None:
            return refused
        site = site_of(request)
        if isinstance(site, Response):
            return site
        profile = await ctx.in_profile_thread(lambda profiles: profiles.get(site))
        return json_answer(json.dumps({"site": site, "profile": profile}).encode("ascii"))

    async def set_profile(request: Request) -> Response:
        requests["set_profile"] += 1
        refused = ctx.guard(request.scope, write=True)
        if refused is not None:
            return refused
        site = site_of(request)
        if isinstance(site, Response):
            return site
        try:
            body = await read_body(request, limits.profile_bytes)
        except BodyTooLargeError:
            return ctx.too_large(limits.profile_bytes)
        problem, profile = _parse_profile(body, site)
        if profile is None:
            return invalid(ctx, "invalid_profile", problem)
        now = datetime.now(UTC)
        before = await ctx.in_profile_thread(lambda profiles: profiles.get(site))
        if before is not None and before != profile:
            payload = build_beacon_payload(site, SERVER_SESSION, "config_change", ts=now)
            line = beacon_line(check_beacon(payload, received_at=now))
            try:
                await store.append((line,))
            except StoreError as exc:
                return ctx.unavailable(exc)
            live.add(line)

        def put(profiles: Any) -> dict[str, dict[str, Any]]:
            profiles.put(site, profile, received_at=now)
            result: dict[str, dict[str, Any]] = profiles.all()
            return result

        try:
            live.set_profiles(await ctx.in_profile_thread(put))
        except (StoreError, OSError) as exc:
            return ctx.unavailable(exc)
        return json_answer(OK)

    def diagnostics(endpoint: str) -> Route:
        async def answer(request: Request) -> Response:
            requests[endpoint] += 1
            refused = ctx.guard(request.scope, write=True)
            if refused is not None:
                return refused
            try:
                body = await read_body(request, limits.diagnostics_bytes)
            except BodyTooLargeError:
                return ctx.too_large(limits.diagnostics_bytes)
            if ctx.placeholder:
                try:
                    document = loads_strict(body)
                except RecordError as exc:
                    return invalid(ctx, "invalid_request", str(exc))
                if not isinstance(document, dict):
                    return invalid(ctx, "invalid_request", "body: a JSON object is expected")
                return json_answer(PLACEHOLDER)
            status, text = await ctx.pool.run(endpoint, body)
            if status == 503:
                ctx.rejects["diagnostics_unavailable"] += 1
                return json_answer(text, 503, {"retry-after": "5"})
            if status != 200:
                ctx.rejects["invalid_request"] += 1
            return json_answer(text, status)

        return Route(f"/api/rtt/{endpoint}", answer, methods=["POST"], name=endpoint)

    return [
        Route(BEACON_PATH, _Raw(beacon_endpoint(ctx)), methods=["POST"], name="beacon"),
        Route("/api/rtt/profile/{site:rtt_site}", get_profile, methods=["GET"], name="get_profile"),
        Route(
            "/api/rtt/profile/{site:rtt_site}", set_profile, methods=["POST"], name="set_profile"
        ),
        *(diagnostics(endpoint) for endpoint in DIAGNOSTICS),
    ]


_PROFILE_PREFIX = b"/api/rtt/profile/"


class _AnySite(Convertor[str]):
    """Match the whole rest of the path, newlines included (the site is read from it raw)."""

    regex = r"[\s\S]*"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("rtt_site", _AnySite())


def site_in_path(scope: Scope) -> str | Response | None:
    """Return the site named by a ``/profile/{site}`` path, as the client encoded it.

    The site is the rest of the path *as sent* (``raw_path``), percent-decoded as
    UTF-8: ``%2F`` is a slash inside the name, a literal ``/`` is a path separator,
    so ``/profile/a/b`` names no site (``None``: 404). A name whose bytes are not
    UTF-8 is a 400 answer.

    Examples
    --------
    >>> site_in_path({"raw_path": b"/api/rtt/profile/a%2Fb%20c", "path": ""})
    'a/b c'
    >>> site_in_path({"raw_path": b"/api/rtt/profile/a/b", "path": ""}) is None
    True
    """
    raw = scope.get("raw_path")
    if not raw:
        raw = quote(scope["path"]).encode("ascii")
    raw = bytes(raw).partition(b"?")[0]
    if not raw.startswith(_PROFILE_PREFIX):
        return None
    rest = raw[len(_PROFILE_PREFIX) :]
    if b"/" in rest:
        return None
    try:
        return unquote_to_bytes(rest).decode("utf-8")
    except UnicodeDecodeError as exc:
        return error(400, "invalid_request", f"site: invalid UTF-8 (byte {exc.start})")


def _parse_profile(body: bytes, site: str) -> tuple[str, dict[str, Any] | None]:
    """Return ``("", profile dict)`` for a valid profile body, else ``(reason, None)``."""
    try:
        data = parse_json(body.decode("utf-8"), "body")
    except UnicodeDecodeError as exc:
        return f"body: invalid UTF-8 (byte {exc.start})", None
    except LoadError as exc:
        return str(exc), None
    if not isinstance(data, dict):
        return "body: a profile is a JSON object", None
    try:
        profile = Profile.model_validate(data).to_dict()
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        return f"{where}: {first['msg']}", None
    try:
        json.dumps(profile, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return "body: invalid unicode (lone surrogate)", None
    return "", profile
