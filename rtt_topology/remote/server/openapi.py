"""The OpenAPI 3.1 description of every route, built from our pydantic models.

Request and answer bodies are described by the models that define them
(:class:`~rtt_topology.schemas.Beacon`, :class:`~rtt_topology.schemas.Profile`, the
diagnostics payloads of :mod:`rtt_topology.diagnostics.payloads`, and the answer
models below); OpenAPI 3.1 takes their JSON Schema (2020-12) as it is.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import models_json_schema

from rtt_topology._version import __version__
from rtt_topology.diagnostics.payloads import CorridorPayload, TopologyPayload, ValidatePayload
from rtt_topology.diagnostics.validator import PayloadCoherence
from rtt_topology.schemas import Beacon, Profile

__all__ = [
    "Ack",
    "BatchAnswer",
    "BatchReject",
    "DiagnosticsResult",
    "ErrorAnswer",
    "NotAvailableAnswer",
    "ProfileAnswer",
    "ServiceStatus",
    "StatusAnswer",
    "document",
    "document_bytes",
]


class Ack(BaseModel):
    """Upstream's acknowledgement."""

    status: Literal["ok"]


class ErrorAnswer(BaseModel):
    """Every error: upstream's ``error`` code, and our ``reason`` naming the field and the rule."""

    error: str = Field(description="invalid_request, invalid_profile, not_found, too_large...")
    reason: str | None = None


class ProfileAnswer(BaseModel):
    """A site's profile, ``null`` when none is registered."""

    site: str
    profile: Profile | None


class BatchReject(BaseModel):
    """One refused beacon of a batch: its ``index`` (array) or ``line`` (JSON Lines)."""

    model_config = ConfigDict(extra="forbid")

    index: int | None = None
    line: int | None = None
    field: str | None
    reason: str


class BatchAnswer(BaseModel):
    """A batch: beacons stored and refused (ours)."""

    status: Literal["ok"]
    accepted: int
    rejected: int
    rejects: list[BatchReject] = Field(description="at most 100 of the rejects")


class ServiceStatus(BaseModel):
    """One service's liveness now (see ``rtt_topology.analysis.liveness.states``)."""

    site: str
    state: str
    last_seen: str | None
    last_event: str | None
    age_s: float | None
    period_s: float | None
    period_from: str | None
    sessions: int | None
    restarts_in_window: int | None


class StatusAnswer(BaseModel):
    """Liveness of every service at the server's clock (ours)."""

    status: Literal["ok"]
    at: str
    window: dict[str, float]
    counts: dict[str, int]
    services: list[ServiceStatus]


class NotAvailableAnswer(BaseModel):
    """Upstream's placeholder (``--placeholder``)."""

    status: Literal["not_available"]
    message: str


class DiagnosticsResult(BaseModel):
    """The offline validator's answer: ``status`` ok, its verdict in ``result`` (ours)."""

    status: Literal["ok"]
    result: Literal["ok", "violations"]
    endpoint: Literal["validate", "corridor", "topology"]
    summary: dict[str, Any]
    rules: dict[str, Any] | None
    corridors: dict[str, Any] | None
    decomposition: dict[str, Any] | None
    coherence: PayloadCoherence | None
    notes: list[str]


_MODELS: list[type[BaseModel]] = [
    Beacon, Profile, ValidatePayload, CorridorPayload, TopologyPayload, Ack, ErrorAnswer,
    ProfileAnswer, BatchReject, BatchAnswer, ServiceStatus, StatusAnswer, NotAvailableAnswer,
    DiagnosticsResult,
]  # fmt: skip

_JSON_TYPES = ("application/json", "text/plain")


def _summaries(schema: Any) -> Any:
    """Cut every description to its first paragraph: docstrings go on with examples."""
    if isinstance(schema, dict):
        return {
            key: " ".join(value.split("\n\n", 1)[0].split())
            if key == "description" and isinstance(value, str)
            else _summaries(value)
            for key, value in schema.items()
        }
    if isinstance(schema, list):
        return [_summaries(item) for item in schema]
    return schema


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _content(
    schema: dict[str, Any], types: tuple[str, ...] = ("application/json",)
) -> dict[str, Any]:
    return {kind: {"schema": schema} for kind in types}


def _answers(ok: dict[str, Any], *codes: int, ok_text: str = "OK") -> dict[str, Any]:
    texts = {
        400: "Invalid body or site name (reason names the field and the rule)",
        401: "A token is set and the request has no valid Authorization: Bearer",
        404: "No such route", 405: "Method not allowed", 413: "Body too large",
        415: "Content type other than JSON or text/plain",
        429: "Rate limit of this client address (see Retry-After)",
        503: "Cannot store now, or diagnostics busy or too slow (see Retry-After)",
    }  # fmt: skip
    out: dict[str, Any] = {"200": {"description": ok_text, "content": ok}}
    for code in codes:
        out[str(code)] = {"description": texts[code], "content": _content(_ref(ErrorAnswer))}
    return out


def _post(summary: str, body: dict[str, Any], ok: dict[str, Any], *codes: int,
          tags: list[str]) -> dict[str, Any]:  # fmt: skip
    return {
        "summary": summary,
        "tags": tags,
        "requestBody": {"required": True, "content": body},
        "responses": _answers(ok, 400, 401, 413, 415, 429, *codes),
    }


def document() -> dict[str, Any]:
    """Return the OpenAPI 3.1 document of the server.

    Examples
    --------
    >>> doc = document()
    >>> doc["openapi"], sorted(doc["paths"])[:3]
    ('3.1.0', ['/api/rtt/beacon', '/api/rtt/beacons', '/api/rtt/corridor'])
    """
    _, defs = models_json_schema(
        [(m, "validation") for m in _MODELS], ref_template="#/components/schemas/{model}"
    )
    site = {"name": "site", "in": "path", "required": True,
            "schema": {"type": "string", "minLength": 1, "maxLength": 256}}  # fmt: skip
    upstream, ours = ["upstream"], ["ours"]
    batch_body = {
        "application/json": {"schema": {"type": "array", "items": _ref(Beacon)}},
        "text/plain": {"schema": {"type": "string", "description": "JSON Lines of beacons"}},
    }
    diagnostics_ok = _content({"oneOf": [_ref(DiagnosticsResult), _ref(NotAvailableAnswer)]})
    paths: dict[str, Any] = {
        "/api/rtt/beacon": {"post": _post(
            "Store one beacon", _content(_ref(Beacon), _JSON_TYPES), _content(_ref(Ack)), 503,
            tags=upstream)},
        "/api/rtt/profile/{site}": {
            "parameters": [site],
            "get": {"summary": "A site's profile", "tags": upstream,
                    "responses": _answers(_content(_ref(ProfileAnswer)), 400, 429)},
            "post": _post("Register a site's profile", _content(_ref(Profile), _JSON_TYPES),
                          _content(_ref(Ack)), 503, tags=upstream),
        },
        "/api/rtt/beacons": {"post": _post(
            "Store a batch of beacons (JSON array or JSON Lines)", batch_body,
            _content(_ref(BatchAnswer)), 503, tags=ours)},
        "/api/rtt/status": {"get": {
            "summary": "Liveness of every service now", "tags": ours,
            "responses": _answers(_content(_ref(StatusAnswer)), 429)}},
        "/metrics": {"get": {
            "summary": "Prometheus metrics (names of rtt-topology metrics, plus rtt_server_*)",
            "tags": ours,
            "responses": _answers({"text/plain": {"schema": {"type": "string"}}}, 429)}},
        "/healthz": {"get": {"summary": "The server is up", "tags": ours,
                             "responses": _answers(_content(_ref(Ack)))}},
        "/openapi.json": {"get": {"summary": "This document", "tags": ours,
                                  "responses": _answers(_content({"type": "object"}))}},
    }  # fmt: skip
    for name, model in (("validate", ValidatePayload), ("corridor", CorridorPayload),
                        ("topology", TopologyPayload)):  # fmt: skip
        paths[f"/api/rtt/{name}"] = {"post": _post(
            f"Diagnose a /{name} body offline", _content(_ref(model), _JSON_TYPES),
            diagnostics_ok, 503, tags=upstream)}  # fmt: skip
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "rtt-topology serve",
            "version": __version__,
            "description": "The RTT endpoints (upstream's answers) and ours; "
            "errors are {error, reason}.",
        },
        "tags": [
            {"name": "upstream", "description": "RTT-Inside's published endpoints"},
            {"name": "ours", "description": "rtt-topology's additions"},
        ],
        "components": {
            "schemas": _summaries(defs.get("$defs", {})),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "paths": paths,
    }


def document_bytes() -> bytes:
    """Return the document as served (JSON, ASCII)."""
    return json.dumps(document(), separators=(",", ":")).encode("ascii")
