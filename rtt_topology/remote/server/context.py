"""What every route shares: the store, the profiles, the limits, the counters, and the guards."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

from starlette.responses import Response
from starlette.types import Scope

from rtt_topology.remote.server.answers import error, header, media_type_problem
from rtt_topology.remote.server.auth import bearer_ok
from rtt_topology.remote.server.limits import Limits, RateLimiter
from rtt_topology.remote.server.live import LiveWindow
from rtt_topology.remote.server.work import DiagnosticsPool

if TYPE_CHECKING:
    from collections.abc import Callable

    from rtt_topology.remote.server.profile_store import ProfileStore
    from rtt_topology.remote.server.store import BeaconStore

__all__ = ["ServerContext"]

logger = logging.getLogger("rtt_topology.remote.server")

T = TypeVar("T")


class ServerContext:
    """The state of one running app; routes are closures over it.

    Profiles are stored by one dedicated thread: SQLite connections belong to the
    thread that made them, and one writer never waits for another.
    """

    def __init__(
        self,
        store: BeaconStore,
        *,
        limits: Limits,
        token: str | None,
        placeholder: bool,
        owns_store: bool,
    ) -> None:
        self.store = store
        self.owns_store = owns_store
        self.limits = limits
        self.token = token.encode("ascii") if token is not None else None
        self.placeholder = placeholder
        self.limiter = (
            RateLimiter(limits.rate_per_s, limits.burst) if limits.rate_per_s is not None else None
        )
        self.live = LiveWindow(
            window_s=limits.window_s, max_records=limits.window_records, cache_s=limits.cache_s
        )
        self.pool = DiagnosticsPool(limits.diagnostics_workers, limits.diagnostics_timeout_s)
        self.requests: Counter[str] = Counter()
        self.rejects: Counter[str] = Counter()
        self.accepted_beacons = 0
        self._profile_thread = ThreadPoolExecutor(1, thread_name_prefix="rtt-profiles")
        self._profiles: ProfileStore | None = None

    # --- profiles, in their own thread -------------------------------------------------

    def open_profiles(self) -> None:
        """Open the profile store in the profile thread; load the live profiles."""
        from rtt_topology.remote.server.profile_store import ProfileStore

        def open_() -> dict[str, dict[str, Any]]:
            self._profiles = ProfileStore(self.store.directory)
            return self._profiles.all()

        self.live.set_profiles(self._profile_thread.submit(open_).result())

    async def in_profile_thread(self, call: Callable[[ProfileStore], T]) -> T:
        """Run ``call(profile_store)`` in the profile thread."""

        def run() -> T:
            assert self._profiles is not None, "the profile store is not open"
            return call(self._profiles)

        return await asyncio.wrap_future(self._profile_thread.submit(run))

    def close_profiles(self) -> None:
        """Close the profile store and stop its thread."""

        def close_() -> None:
            if self._profiles is not None:
                self._profiles.close()
                self._profiles = None

        self._profile_thread.submit(close_).result()
        self._profile_thread.shutdown(wait=True)

    # --- guards ------------------------------------------------------------------------

    def refuse(self, reason: str, response: Response) -> Response:
        """Count a refused request by reason and return its answer."""
        self.rejects[reason] += 1
        return response

    def guard(self, scope: Scope, *, write: bool, body: bool = True) -> Response | None:
        """Check rate, token and content type; return the refusal, or ``None`` to go on.

        The order is: rate limit (429), then the bearer token for writes (401), then
        the content type of a body (415).
        """
        if self.limiter is not None:
            client = scope.get("client")
            wait = self.limiter.retry_after(client[0] if client else "")
            if wait:
                return self.refuse(
                    "rate_limited",
                    error(429, "rate_limited", f"more than {self.limits.rate_per_s:g} "
                          "requests/s from this address: retry later", retry_after=str(wait)),
                )  # fmt: skip
        token = self.token
        if write and token is not None and not bearer_ok(header(scope, b"authorization"), token):
            return self.refuse(
                "unauthorized",
                error(401, "unauthorized", "this server needs Authorization: Bearer <token> "
                      "for writes", www_authenticate='Bearer realm="rtt"'),
            )  # fmt: skip
        if body:
            problem = media_type_problem(header(scope, b"content-type"))
            if problem is not None:
                return self.refuse(
                    "unsupported_media_type", error(415, "unsupported_media_type", problem)
                )
        return None

    def too_large(self, limit: int) -> Response:
        """Answer 413 for a body over ``limit`` bytes."""
        return self.refuse("too_large", error(413, "too_large", f"body larger than {limit} bytes"))

    def unavailable(self, exc: BaseException) -> Response:
        """Answer 503 when the store could not make a write durable."""
        logger.error("store write failed: %s", exc)
        return self.refuse(
            "store_failed",
            error(503, "unavailable", "the beacon could not be stored: retry later",
                  retry_after="1"),
        )  # fmt: skip

    # --- life ----------------------------------------------------------------------------

    def start(self) -> None:
        """Open the store (when the app made it), the profiles, the window and the workers."""
        if self.owns_store:
            self.store.open()
        try:
            self.open_profiles()
            loaded = self.live.load(self.store.beacons_dir)
        except BaseException:
            # A start that fails leaves nothing open: no stop() follows it.
            self.close_profiles()
            if self.owns_store:
                self.store.close()
            raise
        logger.info("live window: %d beacons loaded from %s", loaded, self.store.beacons_dir)
        try:
            self.pool.start()
        except (OSError, RuntimeError) as exc:
            # Beacons and profiles do not need the workers: serve them, retry on demand.
            logger.error("diagnostics workers not started: %s", exc)

    def stop(self) -> None:
        """Stop the workers, close the profiles and (when the app made it) the store."""
        self.pool.close()
        try:
            self.close_profiles()
        finally:
            if self.owns_store:
                self.store.close()
