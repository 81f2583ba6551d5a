"""Upstream-compatible helpers: the RTT SDK's functions, with their names and results.

Code written against the upstream Python SDK (``rtt_sdk``) keeps working when it
imports these instead. They return plain dicts, exactly as upstream does; use
:class:`~rtt_topology.schemas.Beacon` and :class:`~rtt_topology.schemas.Profile`
to validate them.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from rtt_topology.errors import InputError
from rtt_topology.schemas import COUNT_FIELDS

__all__ = [
    "build_beacon_payload",
    "build_corridor_payload",
    "build_topology_payload",
    "build_validate_payload",
    "create_profile",
    "create_session_id",
    "empty_structure",
    "validate_profile",
]


def create_profile(
    version: str = "1.0", supports: list[str] | None = None, contact: str = ""
) -> dict[str, Any]:
    """Return a profile dict, as the upstream SDK builds it.

    Parameters
    ----------
    version
        The RTT version, emitted under the key ``rtt_version``.
    supports
        Capabilities (``coherence``, ``drift``, ``corridor``); ``None`` gives ``[]``.
    contact
        A contact address; upstream emits it even when empty.

    Returns
    -------
    dict
        ``{"rtt_version": ..., "supports": [...], "contact": ...}``.

    Examples
    --------
    >>> create_profile(supports=["coherence", "drift"], contact="infra@example.com")
    {'rtt_version': '1.0', 'supports': ['coherence', 'drift'], 'contact': 'infra@example.com'}
    """
    return {
        "rtt_version": version,
        "supports": [] if supports is None else supports,
        "contact": contact,
    }


def validate_profile(profile: object) -> bool:
    """Tell whether ``profile`` has the minimal upstream profile shape.

    Upstream requires a dict with the key ``rtt_version`` and a list ``supports``.
    For the full rules (types, our extensions), use
    :class:`~rtt_topology.schemas.Profile`.

    Parameters
    ----------
    profile
        Anything.

    Returns
    -------
    bool
        ``True`` when the shape is valid.

    Examples
    --------
    >>> validate_profile({"rtt_version": "1.0", "supports": []})
    True
    >>> validate_profile({"version": "1.0", "supports": "drift"})
    False
    """
    if not isinstance(profile, dict):
        return False
    return "rtt_version" in profile and isinstance(profile.get("supports"), list)


def create_session_id() -> str:
    """Return a new session id in the upstream format ``rtt-<hex time>-<hex random>``.

    Returns
    -------
    str
        For example ``"rtt-69a1c2f0-3b9ac9ff"``.

    Examples
    --------
    >>> create_session_id().startswith("rtt-")
    True
    """
    return f"rtt-{int(time.time()):x}-{secrets.randbits(32):x}"


def empty_structure() -> dict[str, Any]:
    """Return the structure snapshot a backend sends: empty url and title, zero counts.

    Returns
    -------
    dict
        The seven structure keys.

    Examples
    --------
    >>> empty_structure()["dom_nodes"]
    0
    """
    return {"url": "", "title": "", **dict.fromkeys(COUNT_FIELDS, 0)}


def build_beacon_payload(
    site: str,
    session: str,
    event: str,
    *,
    ts: datetime | None = None,
    structure: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Return a beacon dict, as the upstream SDK builds it.

    With only the three positional arguments the result matches upstream: the
    current time in whole seconds (``2026-01-19T15:00:00Z``) and an empty
    structure snapshot.

    Parameters
    ----------
    site
        The service, site or cluster name.
    session
        The session id (see :func:`create_session_id`).
    event
        The event name (``heartbeat``, ``startup``...).
    ts
        The instant to stamp instead of now; converted to UTC, whole seconds.
    structure
        The structure snapshot instead of :func:`empty_structure`.

    Returns
    -------
    dict
        ``{site, session, event, ts, structure}``.

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> build_beacon_payload(
    ...     "auth-service", "srv-1", "heartbeat", ts=datetime(2026, 1, 19, 15, tzinfo=timezone.utc)
    ... )["ts"]
    '2026-01-19T15:00:00Z'
    """
    if ts is None:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    else:
        if ts.tzinfo is None:
            raise InputError("ts must be timezone-aware")
        stamp = ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "site": site,
        "session": session,
        "event": event,
        "ts": stamp,
        "structure": dict(structure) if structure is not None else empty_structure(),
    }


def build_validate_payload(
    system_map: dict[str, Any] | None = None,
    flows: list[dict[str, Any]] | None = None,
    constraints: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Return a ``/validate`` body, as the upstream SDK builds it.

    Missing (or empty) parts become ``{}``, ``[]`` and ``[]``. To build the body
    from a service graph, use :func:`rtt_topology.diagnostics.payloads.validate_payload`.

    Parameters
    ----------
    system_map
        The system map (``services``, ``nodes``...).
    flows
        Edges ``{"from": ..., "to": ...}``.
    constraints
        Constraint objects.

    Returns
    -------
    dict
        ``{"system_map": ..., "flows": ..., "constraints": ...}``.

    Examples
    --------
    >>> build_validate_payload(system_map={"services": ["auth", "api", "db"]})
    {'system_map': {'services': ['auth', 'api', 'db']}, 'flows': [], 'constraints': []}
    """
    return {
        "system_map": system_map or {},
        "flows": flows or [],
        "constraints": constraints or [],
    }


def build_corridor_payload(data: dict[str, Any] | None = None) -> dict[str, Any]:
    """Return a ``/corridor`` body, as the upstream SDK does: ``data``, or ``{}``.

    Examples
    --------
    >>> build_corridor_payload({"flows": [{"path": ["ingress", "api"], "latency_ms": 12}]})
    {'flows': [{'path': ['ingress', 'api'], 'latency_ms': 12}]}
    >>> build_corridor_payload()
    {}
    """
    return data or {}


def build_topology_payload(data: dict[str, Any] | None = None) -> dict[str, Any]:
    """Return a ``/topology`` body, as the upstream SDK does: ``data``, or ``{}``.

    Examples
    --------
    >>> build_topology_payload({"graph": {"auth": ["api"], "api": []}})
    {'graph': {'auth': ['api'], 'api': []}}
    """
    return data or {}
