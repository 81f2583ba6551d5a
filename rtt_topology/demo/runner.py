"""Simulate one service's beacons: heartbeats on a jittered schedule and lifecycle events."""

from __future__ import annotations

from typing import Any

import numpy as np

from rtt_topology.demo.catalog import ServiceSpec

__all__ = ["JITTER", "PAGES", "Process", "add_visits", "backend_structure", "page_structure"]

#: Relative jitter of every heartbeat interval (uniform, either way).
JITTER = 0.15
#: A website's pages: path, title, nav, main, form, button, DOM nodes.
PAGES = (
    ("/", "Home", 8, 1, 1, 14, 1840),
    ("/products", "Products", 8, 1, 2, 36, 3120),
    ("/cart", "Your Cart", 8, 1, 1, 9, 1290),
)


class Process:
    """One service's beacons as it runs: heartbeats on a jittered schedule, lifecycle events.

    The process is already running at ``start_ms`` (its session began earlier);
    its first heartbeat comes within one period. Each method first sends the
    heartbeats due before its instant, so calls must come in time order.
    ``rows`` collects ``(instant ms, session, event, structure)``.

    Parameters
    ----------
    spec
        The service (its ``sdk`` decides the session ids: ``srv-<start ms>`` on
        ``js``, ``srv-<pid>`` otherwise).
    period_s
        Its heartbeat period.
    start_ms
        The window start, epoch milliseconds.
    rng
        Its random stream.

    Examples
    --------
    >>> spec = ServiceSpec("api", "api", "east", [], "API", "py", "team")
    >>> proc = Process(spec, 40, 0, np.random.default_rng(0))
    >>> proc.run(600_000)
    >>> proc.crash(600_000)
    >>> proc.start(900_000)
    >>> [event for _, _, event, _ in proc.rows][-2:], len({s for _, s, _, _ in proc.rows})
    (['heartbeat', 'startup'], 2)
    """

    def __init__(
        self, spec: ServiceSpec, period_s: float, start_ms: int, rng: np.random.Generator
    ) -> None:
        self.spec = spec
        self.period_ms = period_s * 1000.0
        self.rng = rng
        self.rows: list[tuple[float, str, str, dict[str, Any]]] = []
        self.pids: set[int] = set()
        self.session: str | None = self._new_session(start_ms - int(rng.uniform(3.6e6, 6e8)))
        self.next_ms = start_ms + rng.uniform(0, self.period_ms)
        self.structure = backend_structure(spec)

    def _new_session(self, at_ms: float) -> str:
        if self.spec.sdk == "js":
            return f"srv-{int(at_ms)}"
        pid = int(self.rng.integers(1000, 65536))
        while pid in self.pids:
            pid = int(self.rng.integers(1000, 65536))
        self.pids.add(pid)
        return f"srv-{pid}"

    def interval(self) -> float:
        """Draw the next heartbeat interval, ms: the period times ``1 + u``, ``|u| <= JITTER``."""
        return float(self.period_ms * (1 + self.rng.uniform(-JITTER, JITTER)))

    def emit(self, at_ms: float, event: str) -> None:
        """Send one beacon of the current session."""
        assert self.session is not None
        self.rows.append((at_ms, self.session, event, self.structure))

    def run(self, until_ms: float) -> None:
        """Send the heartbeats due before ``until_ms``."""
        while self.session is not None and self.next_ms < until_ms:
            self.emit(self.next_ms, "heartbeat")
            self.next_ms += self.interval()

    def lose(self, from_ms: float, until_ms: float) -> None:
        """Keep beaconing from ``from_ms`` to ``until_ms``, but nobody receives it."""
        self.run(from_ms)
        while self.next_ms < until_ms:
            self.next_ms += self.interval()

    def hang(self, from_ms: float, until_ms: float) -> None:
        """Freeze from ``from_ms`` (no beacons), resume the same session at ``until_ms``."""
        self.run(from_ms)
        self.next_ms = until_ms

    def crash(self, at_ms: float) -> None:
        """Die at ``at_ms`` without a word."""
        self.run(at_ms)
        self.session = None

    def stop(self, at_ms: float) -> None:
        """Stop at ``at_ms``, saying so with a ``shutdown`` beacon."""
        self.run(at_ms)
        self.emit(at_ms, "shutdown")
        self.session = None

    def start(self, at_ms: float) -> None:
        """Start a new session at ``at_ms`` with a ``startup`` beacon."""
        self.session = self._new_session(at_ms)
        self.emit(at_ms, "startup")
        self.next_ms = at_ms + self.interval()

    def deploy(self, at_ms: float) -> None:
        """Deploy: ``deploy_start``, ``shutdown``, a new session within 40 s, ``deploy_finish``."""
        self.run(at_ms)
        self.emit(at_ms, "deploy_start")
        self.stop(at_ms + self.rng.uniform(500, 3000))
        up = at_ms + self.rng.uniform(8000, 40_000)
        self.start(up)
        self.emit(up + self.rng.uniform(1000, 5000), "deploy_finish")

    def config(self, at_ms: float) -> None:
        """Send a ``config_change`` beacon if running."""
        self.run(at_ms)
        if self.session is not None:
            self.emit(at_ms, "config_change")

    def storm(self, at_ms: float) -> float:
        """Crash-loop with growing back-off; return when the stable session starts."""
        self.crash(at_ms)
        restart = at_ms + self.rng.uniform(1000, 3000)
        for backoff_s in (10, 20, 40, 80, 160, 300):
            self.start(restart)
            life = self.rng.uniform(4000, 25_000)
            self.crash(restart + life)
            restart += life + backoff_s * 1000 + self.rng.uniform(0, 2000)
        self.start(restart)
        return restart


def backend_structure(spec: ServiceSpec) -> dict[str, Any]:
    """Return the structure a backend sends: its ``internal://`` URL, title and zeros.

    Examples
    --------
    >>> spec = ServiceSpec("api", "api", "east", [], "API", "js", "team")
    >>> backend_structure(spec)["url"], backend_structure(spec)["dom_nodes"]
    ('internal://api', 0)
    """
    counts = dict.fromkeys(
        ("nav_count", "main_count", "form_count", "button_count", "dom_nodes"), 0
    )
    return {"url": f"internal://{spec.name}", "title": spec.title, **counts}


def page_structure(
    site: str, page: tuple[Any, ...], redesigned: bool, factor: float = 1.0
) -> dict[str, Any]:
    """Return a page's structure, before or after the redesign (3 nav blocks, DOM x1.4).

    Parameters
    ----------
    site
        The website.
    page
        One of :data:`PAGES`.
    redesigned
        Whether the redesign is live.
    factor
        DOM size noise (a visitor's page differs a little from the next one's).

    Examples
    --------
    >>> page_structure("shop.example.com", PAGES[0], True)["nav_count"]
    3
    """
    path, title, nav, main, form, button, dom = page
    if redesigned:
        nav, dom = 3, dom * 1.4
        title = "Spring Collection" if path == "/" else title
    return {
        "url": f"https://{site}{path}",
        "title": f"{site} | {title}",
        "nav_count": nav,
        "main_count": main,
        "form_count": form,
        "button_count": button,
        "dom_nodes": round(dom * factor),
    }


def add_visits(service: Process, start_ms: int, end_ms: int, redesign_ms: float) -> None:
    """Add visitor sessions (page events, one upstream-style session each) to a website.

    About 20 visits an hour, each ``page_load``, ``user_action``, ``nav`` and
    ``page_hidden`` on random pages, redesigned from ``redesign_ms`` on.

    Examples
    --------
    >>> spec = ServiceSpec("shop.example.com", "web", "east", [], "Shop", "js", "web")
    >>> site = Process(spec, 45, 0, np.random.default_rng(2))
    >>> add_visits(site, 0, 3_600_000, redesign_ms=1_800_000)
    >>> sorted({event for _, _, event, _ in site.rows})
    ['nav', 'page_hidden', 'page_load', 'user_action']
    """
    rng, site = service.rng, service.spec.name
    hours = (end_ms - start_ms) / 3.6e6
    for t0 in np.sort(rng.uniform(start_ms, end_ms, int(rng.poisson(20 * hours)))):
        session = f"rtt-{int(t0) // 1000:x}-{int(rng.integers(0, 2**32)):08x}"
        t = float(t0)
        for event in ("page_load", "user_action", "nav", "page_hidden"):
            page = PAGES[int(rng.integers(0, len(PAGES)))]
            structure = page_structure(
                site, page, t >= redesign_ms, float(rng.uniform(0.985, 1.015))
            )
            if t < end_ms:
                service.rows.append((t, session, event, structure))
            t += rng.uniform(3000, 120_000)
