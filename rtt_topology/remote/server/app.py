"""Build the Starlette app of the RTT server: routes, error answers, CORS and life cycle."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import anyio.to_thread
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from rtt_topology.remote.server.answers import error
from rtt_topology.remote.server.context import ServerContext
from rtt_topology.remote.server.limits import Limits
from rtt_topology.remote.server.openapi import document_bytes
from rtt_topology.remote.server.routes import (
    BEACON_PATH,
    Endpoint,
    beacon_endpoint,
    upstream_routes,
)
from rtt_topology.remote.server.routes_ours import our_routes
from rtt_topology.remote.server.store import BeaconStore

__all__ = ["create_app"]

logger = logging.getLogger("rtt_topology.remote.server")

_ERRORS = {404: "not_found", 405: "method_not_allowed"}
_SERVER_ERROR = (500, "internal_error", "the server failed on this request; it was logged")


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = _ERRORS.get(exc.status_code, "invalid_request")
    headers = dict(exc.headers or {})
    return error(exc.status_code, code, exc.detail if exc.status_code not in _ERRORS else None,
                 **headers)  # fmt: skip


async def _server_error(request: Request, exc: Exception) -> Response:
    # The one place a bug surfaces: log it whole, answer without it.
    logger.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return error(*_SERVER_ERROR)


class _BeaconFirst(Starlette):
    """The app, with ``POST /api/rtt/beacon`` answered before Starlette's middleware and router.

    Only when no middleware would act on it: the app has none when no CORS origins
    are configured (CORS adds ``Vary: Origin`` to every answer, so with origins
    every request takes the full stack). The endpoint is the route's own; an
    unexpected error answers the same JSON 500 as the full stack, and is logged.
    """

    def __init__(self, *args: Any, beacon: Endpoint | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._beacon = beacon

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        beacon = self._beacon
        if (
            beacon is None
            or scope["type"] != "http"
            or scope["path"] != BEACON_PATH
            or scope["method"] != "POST"
            or scope.get("root_path")
        ):
            await super().__call__(scope, receive, send)
            return
        scope["app"] = self
        try:
            await beacon(scope, receive, send)
        except Exception as exc:
            logger.error("unexpected error on POST %s", BEACON_PATH, exc_info=exc)
            # When the answer had started, the server refuses this one and closes.
            with contextlib.suppress(RuntimeError, OSError):
                await error(*_SERVER_ERROR)(scope, receive, send)


def create_app(
    data: str | os.PathLike[str],
    *,
    token: str | None = None,
    allow_origins: Sequence[str] = (),
    placeholder: bool = False,
    limits: Limits | None = None,
    store: BeaconStore | None = None,
) -> Starlette:
    """Build the RTT server's ASGI app over a data directory.

    Parameters
    ----------
    data
        The data directory (the store's: beacon segments, profiles).
    token
        When given, every POST needs ``Authorization: Bearer <token>`` (401
        otherwise); GETs stay open.
    allow_origins
        Origins that browsers may call the server from (CORS); none by default.
    placeholder
        Answer ``/validate``, ``/corridor`` and ``/topology`` with upstream's
        placeholder (``{"status": "not_available", ...}``) instead of diagnosing.
    limits
        Body sizes, rate limit, diagnostics pool and budget (default :class:`Limits`).
    store
        The beacon store to use instead of ``BeaconStore(data)``: a store that is
        not open is opened at startup and closed at shutdown; an open one is left
        to its caller.

    Returns
    -------
    starlette.applications.Starlette
        The app; its lifespan opens the store, the profiles and the diagnostics
        workers, and closes them at shutdown.

    Examples
    --------
    >>> import tempfile, warnings
    >>> with warnings.catch_warnings():  # this Starlette asks for httpx2 in its test client
    ...     warnings.simplefilter("ignore")
    ...     from starlette.testclient import TestClient
    >>> app = create_app(tempfile.mkdtemp(), limits=Limits(diagnostics_workers=1))
    >>> beacon = {"site": "api", "session": "s1", "event": "heartbeat",
    ...           "ts": "2026-01-19T15:00:00Z"}
    >>> with TestClient(app) as client:
    ...     client.post("/api/rtt/beacon", json=beacon).json()
    ...     client.post("/api/rtt/beacon", json={"site": "api"}).json()
    {'status': 'ok'}
    {'error': 'invalid_request', 'reason': 'session: missing'}
    """
    if store is None:
        store = BeaconStore(data)
    ctx = ServerContext(
        store,
        limits=limits or Limits(),
        token=token,
        placeholder=placeholder,
        owns_store=not store.is_open,
    )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await anyio.to_thread.run_sync(ctx.start)
        try:
            yield
        finally:
            await anyio.to_thread.run_sync(ctx.stop)

    middleware = []
    if allow_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(allow_origins),
                allow_methods=["GET", "POST"],
                allow_headers=["Authorization", "Content-Type"],
                max_age=600,
            )
        )
    app = _BeaconFirst(
        beacon=None if middleware else beacon_endpoint(ctx),
        routes=[*upstream_routes(ctx), *our_routes(ctx, document_bytes())],
        middleware=middleware,
        exception_handlers={HTTPException: _http_error, Exception: _server_error},
        lifespan=lifespan,
    )
    app.state.rtt = ctx
    return app
