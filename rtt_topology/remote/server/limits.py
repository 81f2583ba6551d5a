"""The server's limits: body sizes, site names, and a token bucket per client address."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from rtt_topology.errors import InputError

__all__ = [
    "MAX_SITE_CHARS",
    "BodyTooLargeError",
    "Limits",
    "RateLimiter",
    "site_problem",
]

#: Longest site name accepted, in characters.
MAX_SITE_CHARS = 256


@dataclass(frozen=True)
class Limits:
    """What one server accepts (ours; the upstream reference server has no limits).

    Attributes
    ----------
    beacon_bytes
        Largest body of ``POST /beacon`` (64 KiB).
    batch_bytes
        Largest body of ``POST /beacons`` (16 MiB).
    profile_bytes
        Largest body of ``POST /profile/{site}`` (64 KiB).
    diagnostics_bytes
        Largest body of ``/validate``, ``/corridor`` and ``/topology`` (8 MiB).
    rate_per_s
        Requests per second each client address may make on average; ``None``
        turns the rate limit off.
    burst
        Requests a client may make at once after being idle (the bucket's size).
    diagnostics_workers
        Worker processes answering diagnostics; more requests at once get 503.
    diagnostics_timeout_s
        Time budget of one diagnostics answer; past it the worker is stopped and
        the answer is 503.
    cache_s
        Seconds a computed ``/status`` or ``/metrics`` answer is reused.
    window_s
        Age of the oldest beacon kept in memory for ``/status`` and ``/metrics``.
    window_records
        Most beacons kept in memory for ``/status`` and ``/metrics``.

    Examples
    --------
    >>> Limits().beacon_bytes, Limits(rate_per_s=None).burst
    (65536, 4000)
    >>> Limits(burst=0)
    Traceback (most recent call last):
    ...
    rtt_topology.errors.InputError: burst must be at least 1, got 0
    """

    beacon_bytes: int = 64 * 1024
    batch_bytes: int = 16 * 1024 * 1024
    profile_bytes: int = 64 * 1024
    diagnostics_bytes: int = 8 * 1024 * 1024
    rate_per_s: float | None = 2000.0
    burst: int = 4000
    diagnostics_workers: int = 2
    diagnostics_timeout_s: float = 10.0
    cache_s: float = 2.0
    window_s: float = 24 * 3600.0
    window_records: int = 200_000

    def __post_init__(self) -> None:
        for name in ("beacon_bytes", "batch_bytes", "profile_bytes", "diagnostics_bytes",
                     "burst", "diagnostics_workers", "window_records"):  # fmt: skip
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise InputError(f"{name} must be at least 1, got {value!r}")
        for name in ("diagnostics_timeout_s", "window_s"):
            value = getattr(self, name)
            if not math.isfinite(value) or value <= 0:
                raise InputError(f"{name} must be a positive number of seconds, got {value!r}")
        if not math.isfinite(self.cache_s) or self.cache_s < 0:
            raise InputError(f"cache_s must be zero or more seconds, got {self.cache_s!r}")
        if self.rate_per_s is not None and (
            not math.isfinite(self.rate_per_s) or self.rate_per_s <= 0
        ):
            raise InputError(f"rate_per_s must be positive or None, got {self.rate_per_s!r}")


class BodyTooLargeError(InputError):
    """A request body is larger than its route accepts (answered 413)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"body larger than {limit} bytes")


def site_problem(site: str) -> str | None:
    r"""Return why ``site`` is not an acceptable site name, or ``None`` if it is.

    A site name has 1 to :data:`MAX_SITE_CHARS` characters and no control
    character (U+0000-U+001F, U+007F-U+009F). Any other character is allowed,
    ``/`` included (clients send it as ``%2F``): the server never uses a site name
    as a path, profiles are keys of a database table.

    Examples
    --------
    >>> site_problem("auth-service") is None
    True
    >>> site_problem("a\nb")
    'control character U+000A in the site name'
    >>> site_problem("x" * 300)
    'site name longer than 256 characters (300)'
    """
    if not site:
        return "empty site name"
    if len(site) > MAX_SITE_CHARS:
        return f"site name longer than {MAX_SITE_CHARS} characters ({len(site)})"
    if not site.isprintable():
        for char in site:
            code = ord(char)
            if code < 0x20 or 0x7F <= code <= 0x9F:
                return f"control character U+{code:04X} in the site name"
    return None


class RateLimiter:
    """A token bucket per client address.

    Each address owns a bucket of ``burst`` tokens, refilled at ``rate_per_s``
    tokens per second up to ``burst``. A request takes one token; with less than
    one token left it is refused, and the wait until a token is back,
    ``(1 - tokens) / rate_per_s`` seconds, rounded up to whole seconds (at least
    1), is its ``Retry-After``. Buckets that would be full again are forgotten
    when more than ``max_clients`` addresses are tracked, so memory stays bounded.

    Parameters
    ----------
    rate_per_s
        Tokens added per second.
    burst
        Size of each bucket.
    clock
        Monotonic seconds (injectable for tests).
    max_clients
        Addresses tracked before idle ones are dropped.

    Examples
    --------
    >>> now = [0.0]
    >>> limiter = RateLimiter(1.0, 2, clock=lambda: now[0])
    >>> [limiter.retry_after("10.0.0.1") for _ in range(3)]
    [0, 0, 1]
    >>> now[0] = 1.0
    >>> limiter.retry_after("10.0.0.1")
    0
    """

    def __init__(
        self,
        rate_per_s: float,
        burst: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_clients: int = 10_000,
    ) -> None:
        self.rate_per_s = rate_per_s
        self.burst = float(burst)
        self._clock = clock
        self._max_clients = max_clients
        # address -> (tokens, monotonic time of the last refill)
        self._buckets: dict[str, tuple[float, float]] = {}

    def retry_after(self, client: str) -> int:
        """Take a token for ``client``: return 0 if granted, else the seconds to wait."""
        now = self._clock()
        bucket = self._buckets.get(client)
        if bucket is None:
            if len(self._buckets) >= self._max_clients:
                self._forget_idle(now)
            tokens = self.burst
        else:
            tokens = min(self.burst, bucket[0] + (now - bucket[1]) * self.rate_per_s)
        if tokens >= 1.0:
            self._buckets[client] = (tokens - 1.0, now)
            return 0
        self._buckets[client] = (tokens, now)
        return max(1, math.ceil((1.0 - tokens) / self.rate_per_s))

    def _forget_idle(self, now: float) -> None:
        full_after = self.burst / self.rate_per_s
        idle = [k for k, (_, last) in self._buckets.items() if now - last >= full_after]
        for key in idle:
            del self._buckets[key]
        if len(self._buckets) >= self._max_clients:
            # Every tracked address is busy: forget the oldest half rather than grow.
            ordered = sorted(self._buckets, key=lambda k: self._buckets[k][1])
            for key in ordered[: len(ordered) // 2]:
                del self._buckets[key]

    def __len__(self) -> int:
        return len(self._buckets)
