"""Talking to RTT servers: the client (sync and async) and the heartbeat emitter."""

from rtt_topology.remote.client import (
    BASE_URL_ENV,
    DEFAULT_BASE_URL,
    Ack,
    ApiError,
    AsyncRTTClient,
    BadResponseError,
    ClientError,
    ConnectionFailedError,
    DiagnosticsAnswer,
    NotAvailable,
    PreparedRequest,
    ProfileAnswer,
    RequestTimeoutError,
    RTTClient,
    prepare_request,
)
from rtt_topology.remote.emitter import (
    HeartbeatEmitter,
)

__all__ = [
    "BASE_URL_ENV",
    "DEFAULT_BASE_URL",
    "Ack",
    "ApiError",
    "AsyncRTTClient",
    "BadResponseError",
    "ClientError",
    "ConnectionFailedError",
    "DiagnosticsAnswer",
    "HeartbeatEmitter",
    "NotAvailable",
    "PreparedRequest",
    "ProfileAnswer",
    "RTTClient",
    "RequestTimeoutError",
    "prepare_request",
]
