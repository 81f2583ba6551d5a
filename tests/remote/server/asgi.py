"""Starlette's TestClient for the server tests: the app in-process, its lifespan run."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from rtt_topology.remote.server import Limits, create_app

with warnings.catch_warnings():
    # This Starlette asks for the httpx2 package in its test client; httpx works the same.
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

__all__ = ["BEACON", "TestClient", "beacon", "make_client", "quiet_limits"]

BEACON: dict[str, Any] = {
    "site": "auth-service",
    "session": "srv-12345",
    "event": "heartbeat",
    "ts": "2026-01-19T15:00:00Z",
    "structure": {"url": "internal://auth", "title": "Auth", "nav_count": 0, "main_count": 0,
                  "form_count": 0, "button_count": 0, "dom_nodes": 0},
}  # fmt: skip


def beacon(**changes: Any) -> dict[str, Any]:
    """A valid beacon with some keys changed."""
    return {**BEACON, **changes}


def quiet_limits(**changes: Any) -> Limits:
    """Limits for tests: one diagnostics worker, no rate limit, no answer cache."""
    base: dict[str, Any] = {"diagnostics_workers": 1, "rate_per_s": None, "cache_s": 0.0}
    return Limits(**(base | changes))


def make_client(data: Path, **options: Any) -> TestClient:
    """A TestClient over ``create_app(data, **options)`` (enter it to run the lifespan)."""
    options.setdefault("limits", quiet_limits())
    return TestClient(create_app(data, **options), raise_server_exceptions=True)
