"""Serve the app with uvicorn: safe defaults, then block until SIGTERM or SIGINT."""

from __future__ import annotations

import gc
import importlib.util
import ipaddress
import logging
import os
import signal
from collections.abc import Sequence
from types import FrameType
from typing import Any

import uvicorn

from rtt_topology.errors import InputError
from rtt_topology.remote.server.auth import read_token
from rtt_topology.remote.server.limits import Limits
from rtt_topology.remote.server.protocol import http_protocol
from rtt_topology.remote.server.store import BeaconStore

__all__ = ["GracefulServer", "check_exposure", "is_loopback", "serve"]

logger = logging.getLogger("rtt_topology.remote.server")


def is_loopback(host: str) -> bool:
    """Tell whether ``host`` names a loopback address only.

    Examples
    --------
    >>> is_loopback("127.0.0.1"), is_loopback("::1"), is_loopback("localhost")
    (True, True, True)
    >>> is_loopback("0.0.0.0"), is_loopback("192.168.1.5"), is_loopback("example.org")
    (False, False, False)
    """
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_exposure(host: str, *, token_file: object, insecure_public: bool) -> None:
    """Refuse to listen beyond loopback without a token, unless told ``insecure_public``.

    Raises
    ------
    InputError
        One line saying what to do.

    Examples
    --------
    >>> check_exposure("0.0.0.0", token_file=None, insecure_public=False)
    Traceback (most recent call last):
    ...
    rtt_topology.errors.InputError: refusing to listen on 0.0.0.0 without a token: \
give --token-file FILE (or --insecure-public to accept writes from anyone)
    """
    if is_loopback(host) or token_file is not None or insecure_public:
        return
    raise InputError(
        f"refusing to listen on {host} without a token: give --token-file FILE "
        "(or --insecure-public to accept writes from anyone)"
    )


class GracefulServer(uvicorn.Server):
    """A uvicorn server that ends normally after SIGTERM or SIGINT.

    Uvicorn shuts down gracefully on either, then raises the signal again, which
    kills the process (SIGTERM) or prints a ``KeyboardInterrupt`` traceback
    (SIGINT). A signal is how this server is meant to stop: once the store is
    closed, :func:`serve` returns and the command exits 0.
    """

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        """Ask the server to stop; a second SIGINT forces the exit, as in uvicorn."""
        if self.should_exit and sig == signal.SIGINT:
            self.force_exit = True
        else:
            logger.info("signal %d: shutting down", sig)
            self.should_exit = True


def serve(
    data: str | os.PathLike[str],
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    token_file: str | os.PathLike[str] | None = None,
    allow_origins: Sequence[str] = (),
    placeholder: bool = False,
    insecure_public: bool = False,
    limits: Limits | None = None,
) -> None:
    """Run the RTT server until SIGTERM or SIGINT, then shut down gracefully.

    Uvicorn (with httptools and uvloop where installed) serves the app of
    :func:`~rtt_topology.remote.server.app.create_app`. On SIGTERM or SIGINT it stops
    accepting connections, lets requests in flight finish, and runs the app's
    shutdown; then the store is drained, fsynced and closed, and its lock released.

    Parameters
    ----------
    data
        The data directory.
    host, port
        Where to listen; loopback by default. Any other address needs
        ``token_file`` or ``insecure_public``.
    token_file
        A file holding the bearer token that writes need.
    allow_origins, placeholder, limits
        As in :func:`~rtt_topology.remote.server.app.create_app`.
    insecure_public
        Listen beyond loopback without a token.

    Raises
    ------
    InputError
        If the address is public without a token, or the token file is unusable.
    StoreError
        If the store cannot be opened (another server holds the directory).
    """
    from rtt_topology.remote.server.app import create_app

    check_exposure(host, token_file=token_file, insecure_public=insecure_public)
    token = read_token(token_file) if token_file is not None else None
    if not 0 <= port <= 65535:
        raise InputError(f"port must be between 0 and 65535, got {port}")
    # Open the store first: a directory held by another server is one clear error,
    # before anything listens.
    store = BeaconStore(data)
    store.open()
    try:
        _run(data, host, port, store, create_app(
            data, token=token, allow_origins=allow_origins, placeholder=placeholder,
            limits=limits, store=store))  # fmt: skip
    finally:
        store.close()


def _run(data: object, host: str, port: int, store: BeaconStore, app: Any) -> None:
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        # The C parser and loop where installed (uvloop has no Windows build); an
        # answer's head and body leave in one write (measured: ~10 us less CPU a beacon).
        http=http_protocol(),
        loop="uvloop" if importlib.util.find_spec("uvloop") is not None else "asyncio",
        lifespan="on",
        access_log=False,
        log_level="warning",
        server_header=False,
        timeout_graceful_shutdown=30,
    )
    server = GracefulServer(config)
    # Everything imported so far lives as long as the process: keep it out of the
    # collector's passes, and run them less often (each request allocates a few
    # hundred objects): measured, this halves the beacon path's p99.
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)
    logger.info("serving %s on http://%s:%d", data, host, port)
    server.run()
    if not server.started:
        # uvicorn logs why (port taken, store locked) and returns instead of raising.
        raise InputError(f"the server could not start on {host}:{port} (see the log above)")
