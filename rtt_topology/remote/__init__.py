"""Talking to RTT servers: the client (sync and async) and the heartbeat emitter.

Two more parts are imported on their own, because they load the analysis stack that the
client and the emitter never need: :mod:`rtt_topology.remote.server` (``rtt-topology
serve``: ``create_app``, ``serve``, ``BeaconStore``, ``ProfileStore``) and
:mod:`rtt_topology.remote.replay` (``replay_history``, ``replay_beacons``).
"""

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
