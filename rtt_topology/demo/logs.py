"""Render a service's beacons as application log files (Node.js and Python styles).

Upstream asks services to log ``[RTT] <event> sent`` followed by the payload.
A Node.js service prints it with ``console.log``, so the payload appears in
``util.inspect`` notation (single quotes, bare keys, objects broken over
several lines past 80 columns); a Python service logs the dict's ``repr`` on one
line through :mod:`logging`. Ordinary application lines are interleaved.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from rtt_topology.demo.timeline import EVENTS, Timeline

__all__ = ["inspect_node", "render_node_log", "render_python_log"]

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z_0-9]*$")
_BREAK_LENGTH = 80
_COMPACT = 3


def _quote(text: str) -> str:
    quote = "'"
    if "'" in text:
        if '"' not in text:
            quote = '"'
        elif "`" not in text and "${" not in text:
            quote = "`"
    body = text.replace("\\", "\\\\").replace("\n", "\\n").replace(quote, "\\" + quote)
    return f"{quote}{body}{quote}"


def _below_break_length(entries: list[str], start: int) -> bool:
    total = len(entries) + start
    if total + len(entries) > _BREAK_LENGTH:
        return False
    for entry in entries:
        total += len(entry)
        if total > _BREAK_LENGTH:
            return False
    return True


def _inspect(value: Any, indent: int, depth: int) -> tuple[str, int]:
    """Return the text and the deepest object level formatted inside ``value``."""
    if isinstance(value, dict):
        if not value:
            return "{}", depth
        entries = []
        deepest = depth
        for key, item in value.items():
            name = key if _IDENT.match(key) else _quote(key)
            text, inner = _inspect(item, indent + 2, depth + 1)
            deepest = max(deepest, inner)
            entries.append(f"{name}: {text}")
        if deepest - depth < _COMPACT:
            start = len(entries) + indent + 1 + 10
            joined = ", ".join(entries)
            if _below_break_length(entries, start) and "\n" not in joined:
                return f"{{ {joined} }}", deepest
        pad = "\n" + " " * indent
        return "{" + pad + "  " + ("," + pad + "  ").join(entries) + pad + "}", deepest
    if isinstance(value, bool):
        return ("true" if value else "false"), depth - 1
    if value is None:
        return "null", depth - 1
    if isinstance(value, int | float):
        return str(value), depth - 1
    return _quote(str(value)), depth - 1


def inspect_node(value: dict[str, Any]) -> str:
    """Format a dict as Node.js ``util.inspect`` does by default (as ``console.log`` prints).

    Parameters
    ----------
    value
        Nested dicts of strings, numbers, booleans and None.

    Returns
    -------
    str
        The text, on one line when it fits in 80 columns, else one key per line.

    Examples
    --------
    >>> inspect_node({"site": "auth-service", "dom_nodes": 0})
    "{ site: 'auth-service', dom_nodes: 0 }"
    >>> print(inspect_node({"site": "auth-service", "structure": {"url": "internal://auth",
    ...       "title": "Auth Service", "nav_count": 0, "main_count": 0, "dom_nodes": 0}}))
    {
      site: 'auth-service',
      structure: {
        url: 'internal://auth',
        title: 'Auth Service',
        nav_count: 0,
        main_count: 0,
        dom_nodes: 0
      }
    }
    """
    return _inspect(value, 0, 0)[0]


def _payloads(timeline: Timeline, structures: list[dict[str, Any]]) -> list[dict[str, Any]]:
    whole = timeline.precision == "s"
    out = []
    for ts, ev, ss, st in zip(
        timeline.ts.tolist(),
        timeline.event.tolist(),
        timeline.session.tolist(),
        timeline.structure.tolist(),
        strict=True,
    ):
        stamp = str(np.datetime64(ts // 1000 if whole else ts, "s" if whole else "ms")) + "Z"
        out.append(
            {
                "site": timeline.site,
                "session": timeline.sessions[ss],
                "event": EVENTS[ev],
                "ts": stamp,
                "structure": dict(structures[st]),
                "_ms": ts,
            }
        )
    return out


def _running(timeline: Timeline, start_ms: int, end_ms: int) -> list[tuple[int, int]]:
    spans = []
    for life in timeline.lifetimes:
        lo = max(life.start_ms, start_ms)
        hi = min(life.end_ms if life.end_ms is not None else end_ms, end_ms)
        if hi > lo:
            spans.append((lo, hi))
    return spans


def _app_times(
    timeline: Timeline, window: tuple[int, int], rng: np.random.Generator, per_min: float
) -> list[int]:
    times: list[int] = []
    for lo, hi in _running(timeline, *window):
        n = int(rng.poisson(per_min * (hi - lo) / 60_000))
        times.extend(np.sort(rng.integers(lo, hi, n)).tolist())
    return times


_NODE_APP = (
    "GET /api/products?page={n} 200 {ms}ms",
    "GET /api/cart 200 {ms}ms",
    "POST /api/checkout 201 {ms}ms",
    "GET /api/orders/{n} 200 {ms}ms",
    "cache miss session:{hex}",
    "upstream catalog-api responded in {ms}ms",
    "warn: upstream orders-api slow response {ms}ms (threshold 800ms)",
)
_PY_APP = (
    "INFO worker consumed message from orders-queue offset={n}",
    "INFO worker sent order_confirmation email to customer {n} in {ms}ms",
    "INFO worker sent shipping_update email to customer {n} in {ms}ms",
    "WARNING worker SMTP 421 from mx.example.net, retrying in 30s",
)


def _fill(template: str, rng: np.random.Generator) -> str:
    return template.format(
        n=int(rng.integers(1, 99_999)),
        ms=int(rng.integers(3, 900)),
        hex=f"{int(rng.integers(0, 2**24)):06x}",
    )


def render_node_log(
    timeline: Timeline,
    structures: list[dict[str, Any]],
    window: tuple[int, int],
    rng: np.random.Generator,
) -> str:
    r"""Render a Node.js service's stdout: app lines and ``[RTT] <event> sent {...}``.

    Parameters
    ----------
    timeline
        The service's beacons (JS SDK timestamps, milliseconds).
    structures
        The structure table (dicts).
    window
        Window start and end, epoch milliseconds.
    rng
        Random stream for log latencies and app lines.

    Returns
    -------
    str
        The log text; each line starts with an ISO 8601 timestamp.

    Examples
    --------
    >>> from rtt_topology.demo.scenario import DEFAULT_START, make_plan
    >>> from rtt_topology.demo.timeline import build_timelines
    >>> plan = make_plan(seed=1, hours=2, start=DEFAULT_START, services=8)
    >>> tl = build_timelines(plan)
    >>> text = render_node_log(tl.services["storefront-bff"], tl.structures.dicts,
    ...                        (plan.start_ms, plan.end_ms), np.random.default_rng(0))
    >>> print("\n".join(text[text.index("[RTT]") - 25 :].splitlines()[:3]))
    2026-01-19T...Z [RTT] heartbeat sent {
      site: 'storefront-bff',
      session: 'srv-...',
    """
    entries: list[tuple[int, int, str]] = []
    for k, payload in enumerate(_payloads(timeline, structures)):
        at = payload.pop("_ms") + int(rng.integers(5, 80))
        event = payload["event"]
        entries.append((at, 2 * k + 1, f"[RTT] {event} sent {inspect_node(payload)}"))
        if event == "startup":
            entries.append((at + 3, 2 * k + 2, "server listening on http://0.0.0.0:3000"))
        elif event == "shutdown":
            entries.append((at - 2, 2 * k, "received SIGTERM, closing server"))
    for t in _app_times(timeline, window, rng, 2.0):
        entries.append((t, 0, _fill(_NODE_APP[int(rng.integers(0, len(_NODE_APP)))], rng)))
    entries.sort(key=lambda e: (e[0], e[1]))
    return "".join(f"{np.datetime64(t, 'ms')}Z {text}\n" for t, _, text in entries)


def render_python_log(
    timeline: Timeline,
    structures: list[dict[str, Any]],
    window: tuple[int, int],
    rng: np.random.Generator,
) -> str:
    """Render a Python service's log: ``logging`` lines with the payload's ``repr``.

    Parameters
    ----------
    timeline
        The service's beacons (Python SDK timestamps, whole seconds).
    structures
        The structure table (dicts).
    window
        Window start and end, epoch milliseconds.
    rng
        Random stream for log latencies and app lines.

    Returns
    -------
    str
        Lines like ``2026-01-19 15:00:00,123 INFO worker [RTT] heartbeat sent {...}``.

    Examples
    --------
    >>> from rtt_topology.demo.scenario import DEFAULT_START, make_plan
    >>> from rtt_topology.demo.timeline import build_timelines
    >>> plan = make_plan(seed=1, hours=2, start=DEFAULT_START, services=8)
    >>> tl = build_timelines(plan)
    >>> text = render_python_log(tl.services["email-worker"], tl.structures.dicts,
    ...                          (plan.start_ms, plan.end_ms), np.random.default_rng(0))
    >>> line = next(x for x in text.splitlines() if "[RTT]" in x)
    >>> print(line[:10], line[24:92])
    2026-01-19 INFO worker [RTT] heartbeat sent {'site': 'email-worker', 'session':
    """
    entries: list[tuple[int, int, str]] = []
    for k, payload in enumerate(_payloads(timeline, structures)):
        at = payload.pop("_ms") + int(rng.integers(5, 300))
        entries.append((at, 2 * k + 1, f"INFO worker [RTT] {payload['event']} sent {payload!r}"))
    for t in _app_times(timeline, window, rng, 1.5):
        entries.append((t, 0, _fill(_PY_APP[int(rng.integers(0, len(_PY_APP)))], rng)))
    entries.sort(key=lambda e: (e[0], e[1]))
    lines = []
    for t, _, text in entries:
        stamp = str(np.datetime64(t, "ms")).replace("T", " ").replace(".", ",")
        lines.append(f"{stamp} {text}\n")
    return "".join(lines)
