"""Talk to an RTT server: beacons, profiles and the diagnostics endpoints, over httpx.

One method per upstream endpoint, with upstream's names::

    beacon(payload)             POST /beacon            -> Ack
    get_profile(site)           GET  /profile/{site}    -> ProfileAnswer
    set_profile(site, profile)  POST /profile/{site}    -> Ack
    validate(payload)           POST /validate          -> NotAvailable | DiagnosticsAnswer
    corridor(payload)           POST /corridor          -> NotAvailable | DiagnosticsAnswer
    topology(payload)           POST /topology          -> NotAvailable | DiagnosticsAnswer

Bodies are mappings or our pydantic models (:class:`~rtt_topology.schemas.Beacon`,
:class:`~rtt_topology.schemas.Profile`, the payload models of
:mod:`rtt_topology.diagnostics.payloads`), sent as JSON. The site is percent-encoded as one path
segment (``a/b`` becomes ``a%2Fb``).

Base URL
    The ``base_url`` argument, else the environment variable ``RTT_BASE_URL``
    (ours: upstream has no environment variable), else upstream's
    ``https://www.triadicframeworks.org/api/rtt``.

Timeouts and retries (ours: the upstream SDK has neither)
    Every request has a timeout (``timeout_s`` for connecting, writing and each
    read). A request is sent at most ``1 + retries`` times: again after a
    connection error, a dropped connection or a timeout, and after an answer with
    status 429 or 5xx (but 501 and 505); never after another 4xx. The wait after
    attempt *k* is ``backoff_s * 2**(k-1)`` stretched by up to 10% of random
    jitter, or the answer's ``Retry-After`` (seconds or HTTP date) when present,
    capped at 30 s. Every RTT endpoint can be repeated safely: a beacon sent twice
    is one record (loaders collapse exact duplicates), a profile set twice is the
    same profile, diagnostics change nothing.

Answers and errors
    ``{"status": "not_available", ...}`` is a normal answer (:class:`NotAvailable`),
    never an error. An HTTP error status or an ``{"error": ...}`` body raises
    :class:`ApiError` (``status_code``, ``error``); no answer raises
    :class:`ConnectionFailedError` (:class:`RequestTimeoutError` for timeouts); a
    successful status with a body that is not the expected JSON, or a redirect
    (never followed), raises :class:`BadResponseError`.
    All are :class:`ClientError`, an :class:`~rtt_topology.errors.RttTopologyError`,
    and carry ``request``, ``response`` (``None`` if none came) and ``attempts``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import Any, Self, TypeVar

import httpx

from rtt_topology._version import __version__
from rtt_topology.remote.core import (
    BASE_URL_ENV,
    DEFAULT_BASE_URL,
    Ack,
    ApiError,
    Attempts,
    BadResponseError,
    ClientError,
    ConnectionFailedError,
    DiagnosticsAnswer,
    Endpoint,
    Exchange,
    NotAvailable,
    PreparedRequest,
    ProfileAnswer,
    RequestTimeoutError,
    check_settings,
    prepare_request,
    read_ack,
    read_diagnostics,
    read_profile,
    resolve_base_url,
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
    "NotAvailable",
    "PreparedRequest",
    "ProfileAnswer",
    "RTTClient",
    "RequestTimeoutError",
    "prepare_request",
]

T = TypeVar("T")
Diagnostics = NotAvailable | DiagnosticsAnswer


class _Base:
    """Settings and request building shared by the two clients."""

    def __init__(
        self,
        base_url: str | None,
        timeout_s: float,
        retries: int,
        backoff_s: float,
        headers: Mapping[str, str] | None,
    ) -> None:
        check_settings(timeout_s, retries, backoff_s)
        self.base_url = resolve_base_url(base_url)
        self.timeout_s = float(timeout_s)
        self.retries = retries
        self.backoff_s = float(backoff_s)
        self._headers = {
            "accept": "application/json",
            "user-agent": f"rtt-topology/{__version__}",
            **(headers or {}),
        }

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.base_url!r}, timeout_s={self.timeout_s:g}, "
            f"retries={self.retries}, backoff_s={self.backoff_s:g})"
        )

    def prepare(
        self, endpoint: Endpoint, payload: object = None, *, site: str | None = None
    ) -> PreparedRequest:
        """Build the request a method would send, without sending it (for dry runs).

        Examples
        --------
        >>> with RTTClient("http://rtt.test") as client:
        ...     client.prepare("get_profile", site="auth").url
        'http://rtt.test/profile/auth'
        """
        return prepare_request(endpoint, payload, site=site, base_url=self.base_url)

    def _start(self, http: httpx.Client | httpx.AsyncClient, prepared: PreparedRequest) -> Attempts:
        headers = {"content-type": "application/json"} if prepared.content is not None else None
        request = http.build_request(
            prepared.method, prepared.url, content=prepared.content, headers=headers
        )
        return Attempts(
            prepared,
            request,
            retries=self.retries,
            backoff_s=self.backoff_s,
            timeout_s=self.timeout_s,
        )


class RTTClient(_Base):
    """A synchronous RTT client (see the module docstring for the policies).

    Parameters
    ----------
    base_url
        The server's base URL; default ``$RTT_BASE_URL``, else upstream's.
    timeout_s
        Timeout for connecting, writing and each read, seconds.
    retries
        Extra attempts after a retryable failure (0 sends once).
    backoff_s
        The first wait between attempts, doubled after each.
    transport
        An httpx transport (``httpx.MockTransport`` in tests).
    headers
        Extra request headers.
    sleep
        What waits between attempts (default :func:`time.sleep`; tests pass a recorder).

    Examples
    --------
    >>> import httpx
    >>> from rtt_topology.sdk import build_beacon_payload
    >>> def server(request):
    ...     return httpx.Response(200, json={"status": "ok"})
    >>> with RTTClient("http://rtt.test", transport=httpx.MockTransport(server)) as client:
    ...     client.beacon(build_beacon_payload("auth-service", "srv-1", "heartbeat"))
    Ack(status='ok')

    Against a real server (here the upstream reference server on port 3000):

    >>> with RTTClient("http://127.0.0.1:3000/api/rtt") as client:  # doctest: +SKIP
    ...     client.get_profile("auth-service").profile
    """

    def __init__(
        self,
        base_url: str | None = None,
        *,
        timeout_s: float = 10.0,
        retries: int = 3,
        backoff_s: float = 0.5,
        transport: httpx.BaseTransport | None = None,
        headers: Mapping[str, str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(base_url, timeout_s, retries, backoff_s, headers)
        self._sleep = sleep
        self._http = httpx.Client(
            timeout=httpx.Timeout(self.timeout_s),
            transport=transport,
            headers=self._headers,
            follow_redirects=False,
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connections (and the transport)."""
        self._http.close()

    @property
    def is_closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._http.is_closed

    def _send(self, prepared: PreparedRequest, read: Callable[[Exchange], T]) -> T:
        # The retry loop; ``read`` types the final answer.
        attempts = self._start(self._http, prepared)
        while True:
            attempts.begin()
            try:
                response = self._http.send(attempts.request)
            except httpx.HTTPError as exc:
                self._sleep(attempts.after_error(exc))
                continue
            delay = attempts.after_response(response)
            if delay is None:
                return read(attempts.exchange(response))
            self._sleep(delay)

    def beacon(self, payload: object) -> Ack:
        """Send one beacon: ``POST /beacon``.

        Parameters
        ----------
        payload
            A beacon dict (:func:`~rtt_topology.sdk.build_beacon_payload`) or a
            :class:`~rtt_topology.schemas.Beacon`.

        Returns
        -------
        Ack

        Raises
        ------
        ApiError
            ``error == "invalid_request"`` for a body the server refuses.
        """
        return self._send(self.prepare("beacon", payload), read_ack)

    def get_profile(self, site: str) -> ProfileAnswer:
        """Fetch a site's profile: ``GET /profile/{site}``; ``profile`` is ``None`` if unset.

        Examples
        --------
        >>> import httpx
        >>> def server(request):
        ...     return httpx.Response(200, json={"site": "a/b", "profile": None})
        >>> with RTTClient("http://rtt.test", transport=httpx.MockTransport(server)) as c:
        ...     c.get_profile("a/b")
        ProfileAnswer(site='a/b', profile=None)
        """
        return self._send(self.prepare("get_profile", site=site), read_profile)

    def set_profile(self, site: str, profile: object) -> Ack:
        """Register a site's profile: ``POST /profile/{site}``.

        ``profile`` is a dict (:func:`~rtt_topology.sdk.create_profile`) or a
        :class:`~rtt_topology.schemas.Profile`; the server answers 400
        ``invalid_profile`` (an :class:`ApiError`) for one without ``rtt_version``
        or a list ``supports``.
        """
        return self._send(self.prepare("set_profile", profile, site=site), read_ack)

    def validate(self, payload: object) -> Diagnostics:
        """Send a ``/validate`` body; today's servers answer :class:`NotAvailable`.

        Examples
        --------
        >>> import httpx
        >>> def server(request):
        ...     return httpx.Response(200, json={"status": "not_available", "message": "soon"})
        >>> with RTTClient("http://rtt.test", transport=httpx.MockTransport(server)) as c:
        ...     c.validate({"system_map": {}, "flows": [], "constraints": []})
        NotAvailable(status='not_available', message='soon')
        """
        return self._send(self.prepare("validate", payload), read_diagnostics)

    def corridor(self, payload: object) -> Diagnostics:
        """Send a ``/corridor`` body; today's servers answer :class:`NotAvailable`."""
        return self._send(self.prepare("corridor", payload), read_diagnostics)

    def topology(self, payload: object) -> Diagnostics:
        """Send a ``/topology`` body; today's servers answer :class:`NotAvailable`."""
        return self._send(self.prepare("topology", payload), read_diagnostics)


class AsyncRTTClient(_Base):
    """The asynchronous twin of :class:`RTTClient`: same arguments, same methods, awaited.

    ``transport`` is an ``httpx.AsyncBaseTransport`` and ``sleep`` a coroutine
    function (default :func:`asyncio.sleep`).

    Examples
    --------
    >>> import asyncio, httpx
    >>> async def main():
    ...     transport = httpx.MockTransport(lambda r: httpx.Response(200, json={"status": "ok"}))
    ...     async with AsyncRTTClient("http://rtt.test", transport=transport) as client:
    ...         return await client.set_profile("auth", {"rtt_version": "1.0", "supports": []})
    >>> asyncio.run(main())
    Ack(status='ok')
    """

    def __init__(
        self,
        base_url: str | None = None,
        *,
        timeout_s: float = 10.0,
        retries: int = 3,
        backoff_s: float = 0.5,
        transport: httpx.AsyncBaseTransport | None = None,
        headers: Mapping[str, str] | None = None,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        super().__init__(base_url, timeout_s, retries, backoff_s, headers)
        self._sleep = sleep
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(self.timeout_s),
            transport=transport,
            headers=self._headers,
            follow_redirects=False,
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the connections (and the transport)."""
        await self._http.aclose()

    @property
    def is_closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._http.is_closed

    async def _send(self, prepared: PreparedRequest, read: Callable[[Exchange], T]) -> T:
        # The retry loop; ``read`` types the final answer.
        attempts = self._start(self._http, prepared)
        while True:
            attempts.begin()
            try:
                response = await self._http.send(attempts.request)
            except httpx.HTTPError as exc:
                await self._sleep(attempts.after_error(exc))
                continue
            delay = attempts.after_response(response)
            if delay is None:
                return read(attempts.exchange(response))
            await self._sleep(delay)

    async def beacon(self, payload: object) -> Ack:
        """Send one beacon: ``POST /beacon`` (see :meth:`RTTClient.beacon`)."""
        return await self._send(self.prepare("beacon", payload), read_ack)

    async def get_profile(self, site: str) -> ProfileAnswer:
        """Fetch a site's profile: ``GET /profile/{site}``."""
        return await self._send(self.prepare("get_profile", site=site), read_profile)

    async def set_profile(self, site: str, profile: object) -> Ack:
        """Register a site's profile: ``POST /profile/{site}``."""
        return await self._send(self.prepare("set_profile", profile, site=site), read_ack)

    async def validate(self, payload: object) -> Diagnostics:
        """Send a ``/validate`` body."""
        return await self._send(self.prepare("validate", payload), read_diagnostics)

    async def corridor(self, payload: object) -> Diagnostics:
        """Send a ``/corridor`` body."""
        return await self._send(self.prepare("corridor", payload), read_diagnostics)

    async def topology(self, payload: object) -> Diagnostics:
        """Send a ``/topology`` body."""
        return await self._send(self.prepare("topology", payload), read_diagnostics)
