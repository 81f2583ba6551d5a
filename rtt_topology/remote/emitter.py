"""Send a service's RTT beacons from a background thread: startup, heartbeats, shutdown.

Upstream asks active services to beacon every 30-60 s, on startup, on shutdown
and after configuration changes. :class:`HeartbeatEmitter` does that for a Python
service without ever blocking or crashing it:

- :meth:`~HeartbeatEmitter.start` starts a daemon thread that sends ``startup``,
  then ``heartbeat`` every ``interval_s`` (30 to 60 s); :meth:`~HeartbeatEmitter.stop`
  (also run at interpreter exit, and by the ``with`` block) sends ``shutdown`` and
  joins the thread; :meth:`~HeartbeatEmitter.config_change` and
  :meth:`~HeartbeatEmitter.emit` queue one more beacon. The event names
  ``startup``, ``shutdown`` and ``config_change`` are ours: upstream names none.
- Every send happens on the thread, bounded by the client's timeouts and retries
  (the default client: 5 s timeout, 2 retries, so a dead endpoint costs at most
  about 18 s per beacon, less than one interval). Failures are logged and counted
  (``sent``, ``failed``, ``last_error``), never raised into the host.
- Each beacon sent is logged at INFO on the logger ``rtt_topology.remote.emitter`` as
  ``[RTT] <event> sent <payload as JSON>``, upstream's log convention, so
  :func:`rtt_topology.load.read_beacons` reads the service's log file back into
  beacons; a failure is logged at WARNING as ``[RTT] <event> failed: <reason>``,
  which the log reader skips. Configure logging at INFO to see the lines.

Timing: each wait is drawn in ``[interval_s * (1 - jitter), interval_s]``, so
services started together spread out, and a liveness check with period
``interval_s`` never sees a beacon late because of the jitter. Waits are counted
from the previous deadline, not from the end of a send; a send that overruns a
deadline moves the schedule instead of sending a burst.
"""

from __future__ import annotations

import atexit
import json
import logging
import math
import queue
import secrets
import threading
import time
from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Self

from rtt_topology.errors import InputError
from rtt_topology.sdk import build_beacon_payload, create_session_id, empty_structure

if TYPE_CHECKING:
    from rtt_topology.remote.client import RTTClient

__all__ = ["INTERVAL_RANGE_S", "HeartbeatEmitter", "next_deadline"]

#: The heartbeat periods upstream asks of active services, seconds.
INTERVAL_RANGE_S: Final = (30.0, 60.0)

_STOP: Final = object()
_RANDOM = secrets.SystemRandom()


def next_deadline(deadline: float, now: float, wait_s: float) -> float:
    """Return the next heartbeat deadline: one wait after the last, or after now if overrun.

    Examples
    --------
    >>> next_deadline(100.0, 101.0, 45.0)
    145.0
    >>> next_deadline(100.0, 150.0, 45.0)  # the last send overran: no burst
    195.0
    """
    following = deadline + wait_s
    return following if following > now else now + wait_s


class HeartbeatEmitter:
    """Beacon a service's life to an RTT server from a daemon thread.

    Parameters
    ----------
    site
        The service, site or cluster name.
    client
        The :class:`~rtt_topology.remote.client.RTTClient` to send with; by default one
        is created for each run (``$RTT_BASE_URL`` or upstream, 5 s timeout,
        2 retries) and closed when the run ends. A client passed in is not closed.
    interval_s
        Seconds between heartbeats, 30 to 60.
    structure
        The structure snapshot of every beacon; default zeros with the URL
        ``internal://<site>`` and the site as title, as upstream's backends send.
    session
        The session id; default a new :func:`~rtt_topology.sdk.create_session_id`.
    logger
        Where the ``[RTT]`` lines go; default the logger ``rtt_topology.remote.emitter``.
    jitter
        Fraction of the interval each wait may be shortened by, in ``[0, 0.5]``.
    allow_any_interval
        Accept any positive ``interval_s`` (tests, demos).

    Attributes
    ----------
    sent
        Beacons the server acknowledged.
    failed
        Beacons that could not be sent (after the client's retries).
    last_error
        The exception of the last failure, or ``None``.

    Examples
    --------
    >>> import httpx
    >>> from rtt_topology.remote.client import RTTClient
    >>> ok = httpx.MockTransport(lambda request: httpx.Response(200, json={"status": "ok"}))
    >>> with RTTClient("http://rtt.test", transport=ok) as client:
    ...     with HeartbeatEmitter("auth-service", client=client) as emitter:
    ...         emitter.config_change()
    True
    >>> (emitter.sent, emitter.failed)
    (3, 0)

    In a service (heartbeats every 45 s until the process exits):

    >>> emitter = HeartbeatEmitter("auth-service").start()  # doctest: +SKIP
    """

    def __init__(
        self,
        site: str,
        *,
        client: RTTClient | None = None,
        interval_s: float = 45.0,
        structure: Mapping[str, Any] | None = None,
        session: str | None = None,
        logger: logging.Logger | None = None,
        jitter: float = 0.1,
        allow_any_interval: bool = False,
    ) -> None:
        if not isinstance(site, str) or not site:
            raise InputError("site must be a non-empty string")
        low, high = INTERVAL_RANGE_S
        if isinstance(interval_s, bool) or not (math.isfinite(interval_s) and interval_s > 0):
            raise InputError(f"interval_s must be a positive number of seconds, not {interval_s!r}")
        if not allow_any_interval and not low <= interval_s <= high:
            raise InputError(
                f"interval_s must be within {low:g}-{high:g} s (upstream's cadence), "
                f"not {interval_s:g}; pass allow_any_interval=True for tests"
            )
        if isinstance(jitter, bool) or not 0.0 <= jitter <= 0.5:
            raise InputError(f"jitter must be a fraction within [0, 0.5], not {jitter!r}")
        self.site = site
        self.session = session if session is not None else create_session_id()
        self.interval_s = float(interval_s)
        self.jitter = float(jitter)
        if structure is None:
            structure = {**empty_structure(), "url": f"internal://{site}", "title": site}
        self.structure = dict(structure)
        self.logger = (
            logger if logger is not None else logging.getLogger("rtt_topology.remote.emitter")
        )
        self.sent = 0
        self.failed = 0
        self.last_error: BaseException | None = None
        self._client = client
        if client is None:
            from rtt_topology.remote.core import resolve_base_url

            # A bad $RTT_BASE_URL is a configuration error: say so now, not in the thread.
            resolve_base_url()
        self._lock = threading.Lock()
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._stopping = False

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return (
            f"HeartbeatEmitter({self.site!r}, session={self.session!r}, "
            f"interval_s={self.interval_s:g}, {state}, sent={self.sent}, failed={self.failed})"
        )

    @property
    def running(self) -> bool:
        """Whether the thread is running and no stop was asked."""
        with self._lock:
            return self._thread is not None and not self._stopping

    def start(self) -> Self:
        """Start the thread: it sends ``startup`` at once, then heartbeats.

        Does nothing if already running. Returns the emitter, so
        ``emitter = HeartbeatEmitter(...).start()`` reads well.
        """
        with self._lock:
            if self._thread is not None:
                if not self._stopping:
                    return self
                raise InputError("the emitter is still stopping: call stop() until it returns True")
            self._queue = queue.SimpleQueue()
            self._thread = threading.Thread(
                target=self._run,
                args=(self._queue,),
                name=f"rtt-heartbeat-{self.site}",
                daemon=True,
            )
            self._stopping = False
            self._thread.start()
        atexit.register(self._at_exit)
        return self

    def stop(self, timeout_s: float | None = 20.0) -> bool:
        """Send ``shutdown`` and wait for the thread to end.

        Parameters
        ----------
        timeout_s
            How long to wait for the thread (``None``: as long as it takes). The
            thread is a daemon: one still sending never keeps the process alive.

        Returns
        -------
        bool
            ``True`` when the thread has ended (or never ran); ``False`` if it is
            still sending after ``timeout_s`` (call ``stop()`` again to wait more).
        """
        with self._lock:
            thread = self._thread
            if thread is None:
                return True
            if not self._stopping:
                self._stopping = True
                self._queue.put(_STOP)
        thread.join(timeout_s)
        if thread.is_alive():
            return False
        with self._lock:
            if self._thread is thread:
                self._thread = None
        atexit.unregister(self._at_exit)
        return True

    def emit(self, event: str) -> bool:
        """Queue one beacon of ``event`` (``deploy_start``...); ``False`` if not running."""
        if not isinstance(event, str) or not event:
            raise InputError("event must be a non-empty string")
        with self._lock:
            if self._thread is None or self._stopping:
                return False
            self._queue.put(event)
        return True

    def config_change(self) -> bool:
        """Queue a ``config_change`` beacon; ``False`` if the emitter is not running."""
        return self.emit("config_change")

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _at_exit(self) -> None:
        self.stop()

    def _wait_s(self) -> float:
        return self.interval_s * (1.0 - self.jitter * _RANDOM.random())

    def _run(self, events: queue.SimpleQueue[object]) -> None:
        client = self._client
        owned = client is None
        try:
            if client is None:
                from rtt_topology.remote.client import RTTClient

                client = RTTClient(timeout_s=5.0, retries=2, backoff_s=1.0)
            self._send(client, "startup")
            deadline = time.monotonic() + self._wait_s()
            while True:
                try:
                    item = events.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    self._send(client, "heartbeat")
                    deadline = next_deadline(deadline, time.monotonic(), self._wait_s())
                    continue
                if item is _STOP:
                    self._send(client, "shutdown")
                    return
                self._send(client, str(item))
        except Exception as exc:  # the host must never see our failures
            self._fail("emitter", exc)
        finally:
            if owned and client is not None:
                client.close()

    def _send(self, client: RTTClient, event: str) -> None:
        payload = build_beacon_payload(self.site, self.session, event, structure=self.structure)
        try:
            client.beacon(payload)
        except Exception as exc:  # logged and counted, never raised into the host
            self._fail(event, exc)
            return
        self.sent += 1
        self.logger.info("[RTT] %s sent %s", event, json.dumps(payload))

    def _fail(self, event: str, exc: Exception) -> None:
        self.failed += 1
        self.last_error = exc
        # One line, and never the "[RTT] <event> sent" marker: the log reader skips it.
        reason = " ".join(str(exc).split()).replace("[RTT]", "[rtt]") or type(exc).__name__
        self.logger.warning("[RTT] %s failed: %s: %s", event, type(exc).__name__, reason)
