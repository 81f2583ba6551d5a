"""What the routes answer: prepared JSON bodies, error answers, and bounded body reading."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from rtt_topology.remote.server.limits import BodyTooLargeError

__all__ = [
    "ACCEPTED_TYPES",
    "OK",
    "PLACEHOLDER",
    "PLACEHOLDER_MESSAGE",
    "error",
    "header",
    "json_answer",
    "media_type_problem",
    "read_body",
    "receive_body",
    "send_ok",
]

JSON = "application/json"

#: The upstream acknowledgement, serialised once.
OK = b'{"status":"ok"}'

#: The ``message`` of the placeholder answer (upstream's text differs between sources;
#: only ``status`` is stable).
PLACEHOLDER_MESSAGE = "RTT validator inactive: this endpoint is reserved"
#: The upstream placeholder answer of ``/validate``, ``/corridor`` and ``/topology``.
PLACEHOLDER = json.dumps({"status": "not_available", "message": PLACEHOLDER_MESSAGE}).encode()

#: Content types accepted for request bodies, besides any ``*/*+json``: JSON, JSON
#: Lines (``application/x-ndjson``, ``application/jsonl``) and ``text/plain`` (what
#: ``navigator.sendBeacon`` sends for a string). A body without a content type is
#: read as JSON too.
ACCEPTED_TYPES = frozenset(
    {"application/json", "text/plain", "application/x-ndjson", "application/jsonl"}
)


def header(scope: Scope, name: bytes) -> str | None:
    """Return the first value of header ``name`` (lower case) of a request, or ``None``.

    Reads the ASGI scope directly: cheaper than building a ``Headers`` object.

    Examples
    --------
    >>> header({"headers": [(b"content-type", b"text/plain")]}, b"content-type")
    'text/plain'
    """
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


_JSON_HEADERS = [(b"content-type", b"application/json")]


_OK_LENGTH = (b"content-length", str(len(OK)).encode("ascii"))
_OK_TYPE = _JSON_HEADERS[0]


async def send_ok(send: Send) -> None:
    """Send 200 ``{"status": "ok"}`` through raw ASGI messages, from prepared parts.

    The messages and the header list are new on every call (a middleware may
    change them in place); the header pairs are built once.
    """
    await send({"type": "http.response.start", "status": 200, "headers": [_OK_TYPE, _OK_LENGTH]})
    await send({"type": "http.response.body", "body": OK})


async def receive_body(scope: Scope, receive: Receive, limit: int) -> bytes:
    """Read a request body of at most ``limit`` bytes from raw ASGI messages.

    The rule is :func:`read_body`'s.

    Raises
    ------
    BodyTooLargeError
        Over the limit.
    """
    declared = header(scope, b"content-length")
    if declared is not None and declared.strip().isdigit() and int(declared) > limit:
        raise BodyTooLargeError(limit)
    chunks: list[bytes] = []
    total = 0
    while True:
        message: Message = await receive()
        if message["type"] != "http.request":
            # The client went away: nothing to answer.
            raise ConnectionAbortedError("client disconnected")
        chunk = message.get("body", b"")
        total += len(chunk)
        if total > limit:
            raise BodyTooLargeError(limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def json_answer(body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """Answer prepared JSON bytes."""
    return Response(body, status, headers, JSON)


def error(status: int, error: str, reason: str | None = None, **headers: str) -> Response:
    """Answer ``{"error": error, "reason": reason}`` with ``status``.

    Keyword arguments become headers (``retry_after="1"`` is ``Retry-After: 1``).

    Examples
    --------
    >>> r = error(429, "rate_limited", "too many requests", retry_after="2")
    >>> r.status_code, r.body, r.headers["retry-after"]
    (429, b'{"error":"rate_limited","reason":"too many requests"}', '2')
    """
    answer: dict[str, Any] = {"error": error}
    if reason is not None:
        answer["reason"] = reason
    # ASCII escapes: a reason may quote input that is not valid UTF-8 text.
    body = json.dumps(answer, separators=(",", ":")).encode("ascii")
    names = {k.replace("_", "-"): v for k, v in headers.items()}
    return Response(body, status, names, JSON)


_SEND = "application/json, application/x-ndjson or text/plain"


def media_type_problem(content_type: str | None) -> str | None:
    """Return why a body of this content type is refused (415), or ``None`` to read it.

    Examples
    --------
    >>> media_type_problem("application/json; charset=utf-8") is None
    True
    >>> media_type_problem("application/vnd.api+json") is None, media_type_problem(None) is None
    (True, True)
    >>> media_type_problem("application/x-ndjson") is None
    True
    >>> print(media_type_problem("application/x-www-form-urlencoded"))
    content type application/x-www-form-urlencoded: send JSON (application/json, ...)
    """
    if content_type is None:
        return None
    kind = content_type.partition(";")[0].strip().lower()
    if kind in ACCEPTED_TYPES or kind.endswith("+json") or not kind:
        return None
    shown = kind[:100]
    return f"content type {shown}: send JSON ({_SEND})"


async def read_body(request: Request, limit: int) -> bytes:
    """Read a request body of at most ``limit`` bytes.

    A ``Content-Length`` over the limit is refused before anything is read; a body
    without one (chunked) is read chunk by chunk and refused as soon as it passes
    the limit, so no more than ``limit`` bytes plus one chunk are ever held.

    Raises
    ------
    BodyTooLargeError
        Over the limit.
    """
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            size = -1
        if size > limit:
            raise BodyTooLargeError(limit)
        if size >= 0:
            # The server reads exactly Content-Length bytes: one read, no loop.
            body = await request.body()
            if len(body) > limit:
                raise BodyTooLargeError(limit)
            return body
    chunks = []
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise BodyTooLargeError(limit)
        chunks.append(chunk)
    return b"".join(chunks)
