"""Our routes: ``/api/rtt/beacons`` (batches), ``/api/rtt/status``, ``/metrics``, ``/healthz``.

Batch rule (ours): the body is a JSON array of beacons (it starts with ``[``) or JSON
Lines (one beacon per line, blank lines skipped). Each beacon meets the rules of
``POST /beacon``; the good ones are stored together (one append, so one fsync) and
the answer counts them: ``{"status": "ok", "accepted": n, "rejected": m, "rejects":
[...]}`` where each reject names its ``index`` (0-based, arrays) or ``line``
(1-based, JSON Lines), ``field`` and ``reason``; at most :data:`MAX_REJECTS_SHOWN`
rejects are listed (``rejected`` counts them all). An array body that is not one
JSON array (broken, not UTF-8) is 400 ``invalid_request``; in JSON Lines each line
stands alone (a line that is not JSON, or not UTF-8, is one reject). Nothing is
stored when the store fails (503).

JSON Lines is the fast form: the body is checked column-wise by
:func:`~rtt_topology.load.wire_batch.check_beacon_lines` (the JSON Lines reader's
block machinery) and the stored lines are built with bytes operations, in a worker
thread that also waits for the append to be durable. A JSON array is decoded once
and each beacon checked by :func:`~rtt_topology.load.check_beacon` (about five
times slower per beacon).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from rtt_topology.errors import RecordError, StoreError
from rtt_topology.load.documents import MAX_DEPTH
from rtt_topology.load.records import STRICT_JSON
from rtt_topology.load.wire_batch import BatchCheck, check_beacon_items, check_beacon_lines
from rtt_topology.remote.server.answers import error, json_answer, read_body
from rtt_topology.remote.server.context import ServerContext
from rtt_topology.remote.server.limits import BodyTooLargeError, site_problem
from rtt_topology.remote.server.live import counters_text

__all__ = [
    "MAX_REJECTS_SHOWN",
    "check_lines",
    "our_routes",
    "server_counters",
]

#: Most rejects listed in a batch answer.
MAX_REJECTS_SHOWN = 100
HEALTHY = b'{"status":"ok"}'
PROMETHEUS = "text/plain; version=0.0.4; charset=utf-8"


def _array(body: bytes) -> list[Any]:
    """Decode a JSON array of beacons with the loader's strict decoder.

    Nesting is bounded per beacon (by :func:`~rtt_topology.load.check_beacon`, as
    for a line), not over the whole array: the array's own level is not a
    beacon's, and walking a 16 MiB document once more would cost a third of the
    batch's time.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RecordError(field=None, reason=f"invalid UTF-8 (byte {exc.start})") from exc
    try:
        items = STRICT_JSON.decode(text)
    except json.JSONDecodeError as exc:
        raise RecordError(
            field=None, reason=f"invalid JSON: {exc.msg} (column {exc.colno})"
        ) from exc
    except RecursionError as exc:
        raise RecordError(
            field=None, reason=f"invalid JSON: nesting deeper than {MAX_DEPTH} levels"
        ) from exc
    if not isinstance(items, list):
        raise RecordError(field=None, reason="invalid JSON: expected an array")
    return items


def check_lines(body: bytes, received_at: datetime) -> BatchCheck:
    r"""Check a JSON Lines batch body column-wise, with the server's site rule.

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> good = b'{"site":"a","session":"s","event":"heartbeat","ts":"2026-01-19T15:00:00Z"}'
    >>> check = check_lines(good + b"\n\n{}\n", datetime(2026, 1, 19, 15, tzinfo=timezone.utc))
    >>> check.accepted, check.rejects
    (1, [(3, 'site', 'missing')])
    """
    return check_beacon_lines(body, received_at=received_at, site_rule=site_problem)


def _check_and_store(
    ctx: ServerContext, body: bytes, received_at: datetime
) -> tuple[BatchCheck, list[bytes]]:
    """Check a batch and store what it accepts; block until it is durable.

    A JSON Lines body is checked by :func:`check_lines`; a JSON array is decoded
    once and its items checked by
    :func:`~rtt_topology.load.wire_batch.check_beacon_items` with the same site
    rule. Call it from a worker thread; returns the check and the stored lines.

    Raises
    ------
    RecordError
        If an array body is not one JSON array.
    StoreError
        If the lines could not be made durable.
    """
    stripped = body.lstrip()
    if stripped.startswith(b"["):
        items = _array(stripped)
        check = check_beacon_items(items, received_at=received_at, site_rule=site_problem)
    else:
        check = check_lines(body, received_at)
    ctx.store.append_block_blocking(check.lines, check.accepted)
    return check, check.lines.splitlines(keepends=True)


def _answer(accepted: int, rejected: int, shown: list[dict[str, Any]]) -> Response:
    answer = {"status": "ok", "accepted": accepted, "rejected": rejected, "rejects": shown}
    return json_answer(json.dumps(answer, separators=(",", ":")).encode("ascii"))


def server_counters(ctx: ServerContext) -> str:
    """Return the server's own metrics (``rtt_server_`` prefix) as Prometheus text."""
    stats = ctx.store.stats()
    return counters_text(
        {
            "rtt_server_requests_total": (
                "counter", "Requests received, by route.",
                {(("route", k),): v for k, v in ctx.requests.items()},
            ),
            "rtt_server_rejects_total": (
                "counter", "Requests refused, by reason.",
                {(("reason", k),): v for k, v in ctx.rejects.items()},
            ),
            "rtt_server_beacons_stored_total": (
                "counter", "Beacons stored by this server since it started.",
                {(): stats.records},
            ),
            "rtt_server_fsyncs_total": (
                "counter", "fsyncs of segment files since the server started.",
                {(): stats.fsyncs},
            ),
            "rtt_server_write_batches_total": (
                "counter", "Group commits (one write and one fsync each).", {(): stats.batches},
            ),
            "rtt_server_store_failures_total": (
                "counter", "Writes that could not be made durable.", {(): stats.failures},
            ),
            "rtt_server_store_bytes": (
                "gauge", "Bytes of the beacon segments on disk.", {(): stats.bytes},
            ),
            "rtt_server_store_segments": (
                "gauge", "Beacon segment files on disk.", {(): stats.segments},
            ),
            "rtt_server_diagnostics_busy": (
                "gauge", "Diagnostics being computed now.", {(): ctx.pool.busy},
            ),
            "rtt_server_diagnostics_timeouts_total": (
                "counter", "Diagnostics stopped at their time budget.", {(): ctx.pool.timeouts},
            ),
        }
    )  # fmt: skip


def our_routes(ctx: ServerContext, openapi: bytes) -> list[Route]:
    """Return our routes, bound to ``ctx``; ``openapi`` is the served description."""
    limits = ctx.limits
    requests = ctx.requests

    async def beacons(request: Request) -> Response:
        requests["beacons"] += 1
        refused = ctx.guard(request.scope, write=True)
        if refused is not None:
            return refused
        try:
            body = await read_body(request, limits.batch_bytes)
        except BodyTooLargeError:
            return ctx.too_large(limits.batch_bytes)
        try:
            # Checked and stored in a worker thread: Arrow parses without the GIL,
            # and the event loop goes on serving while this batch waits for fsync.
            check, lines = await anyio.to_thread.run_sync(
                _check_and_store, ctx, body, datetime.now(UTC)
            )
        except RecordError as exc:
            return ctx.refuse("invalid_request", error(400, "invalid_request", str(exc)))
        except StoreError as exc:
            return ctx.unavailable(exc)
        key = "index" if body.lstrip().startswith(b"[") else "line"
        ctx.live.extend(lines)
        ctx.accepted_beacons += len(lines)
        shown = [
            {key: number, "field": field, "reason": reason}
            for number, field, reason in check.rejects[:MAX_REJECTS_SHOWN]
        ]
        return _answer(check.accepted, len(check.rejects), shown)

    async def status(request: Request) -> Response:
        requests["status"] += 1
        refused = ctx.guard(request.scope, write=False, body=False)
        if refused is not None:
            return refused
        return json_answer(await anyio.to_thread.run_sync(ctx.live.status))

    async def metrics(request: Request) -> Response:
        requests["metrics"] += 1
        refused = ctx.guard(request.scope, write=False, body=False)
        if refused is not None:
            return refused
        text = await anyio.to_thread.run_sync(ctx.live.metrics)
        return Response(text + server_counters(ctx), media_type=PROMETHEUS)

    async def healthz(request: Request) -> Response:
        requests["healthz"] += 1
        return json_answer(HEALTHY)

    async def openapi_json(request: Request) -> Response:
        requests["openapi"] += 1
        return json_answer(openapi)

    return [
        Route("/api/rtt/beacons", beacons, methods=["POST"], name="beacons"),
        Route("/api/rtt/status", status, methods=["GET"], name="status"),
        Route("/metrics", metrics, methods=["GET"], name="metrics"),
        Route("/healthz", healthz, methods=["GET"], name="healthz"),
        Route("/openapi.json", openapi_json, methods=["GET"], name="openapi"),
    ]
