"""The RTT endpoint server: a durable beacon store, profiles, and the HTTP app over them."""

from rtt_topology.remote.server.app import create_app
from rtt_topology.remote.server.limits import MAX_SITE_CHARS, Limits, RateLimiter, site_problem
from rtt_topology.remote.server.openapi import document as openapi_document
from rtt_topology.remote.server.profile_store import ProfileStore
from rtt_topology.remote.server.run import serve
from rtt_topology.remote.server.store import BeaconStore, StoreStats
from rtt_topology.remote.server.work import DiagnosticsPool

__all__ = [
    "MAX_SITE_CHARS",
    "BeaconStore",
    "DiagnosticsPool",
    "Limits",
    "ProfileStore",
    "RateLimiter",
    "StoreStats",
    "create_app",
    "openapi_document",
    "serve",
    "site_problem",
]
