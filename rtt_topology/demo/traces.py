"""Generate the demo's distributed traces as format-neutral spans.

A trace starts at an edge service (or a worker's scheduled job) and walks the
declared dependencies: RPC calls are a CLIENT span in the caller and a SERVER
span in the callee; databases, caches and the search index are uninstrumented
and appear only as CLIENT leaf spans with ``db.system`` and ``peer.service``;
queues are a PRODUCER span in the producer whose child is the CONSUMER span of
one consuming worker (the queue itself sends no spans). The scripted incidents
show up here: errors to the crashed service (cascading to its callers), the
undeclared call and the layering-breaking call. :mod:`rtt_topology.demo.formats`
renders these spans as Jaeger, Zipkin and OTLP.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rtt_topology.demo.catalog import DATA_KINDS
from rtt_topology.demo.scenario import Plan

__all__ = ["Span", "Trace", "TraceSet", "generate_traces"]

_DB_OPS = {
    "postgresql": ("SELECT", "INSERT", "UPDATE"),
    "mysql": ("SELECT", "INSERT"),
    "mongodb": ("find", "insert"),
    "redis": ("GET", "SET", "HGETALL"),
    "elasticsearch": ("search",),
}
_EDGE_ROUTES = ("/", "/products", "/cart", "/checkout", "/account", "/orders")
MAX_SPANS = 40
MAX_DEPTH = 5


@dataclass
class Span:
    """One span, in the terms shared by the three export formats."""

    span_id: str
    parent: int | None
    service: str
    kind: str
    name: str
    start_us: int
    duration_us: int
    peer: str | None = None
    call: str | None = None
    error: str | None = None
    attrs: dict[str, str | int] = field(default_factory=dict)


@dataclass
class Trace:
    """A trace: its id and spans, parents before children."""

    trace_id: str
    spans: list[Span]


@dataclass
class TraceSet:
    """The generated traces and the trace-level quirks applied to some of them."""

    traces: list[Trace]
    clock_skew: list[str]
    zipkin_shared: list[str]


class _Gen:
    def __init__(self, plan: Plan, downtime: dict[str, list[tuple[int, int, str]]]) -> None:
        self.plan = plan
        self.by = plan.by_name
        self.downtime = downtime
        self.rng = np.random.default_rng([plan.seed, 4])
        r = plan.roles
        self.silent = r.silent
        self.extra = {
            r.undeclared_edge[0]: (r.undeclared_edge[1], plan.times["undeclared_dependency"], 0.5),
            r.layering_edge[0]: (r.layering_edge[1], plan.times["layering_violation"], 0.3),
        }
        self.consumers: dict[str, list[str]] = {}
        for s in plan.specs:
            if s.kind == "worker" and s.traced:
                for d in s.depends_on:
                    if self.by[d].kind == "queue":
                        self.consumers.setdefault(d, []).append(s.name)

    def state(self, name: str, t_ms: int) -> str:
        for start, end, mode in self.downtime.get(name, []):
            if start <= t_ms < end:
                return mode
        return "up"

    def _id(self, n: int) -> str:
        return self.rng.bytes(n).hex()

    def _span(
        self, tr: Trace, parent: int | None, service: str, kind: str, name: str, start: float
    ) -> int:
        tr.spans.append(Span(self._id(8), parent, service, kind, name, int(start), 0))
        return len(tr.spans) - 1

    def _callees(self, svc: str, t_ms: int, depth: int, force: str | None) -> list[str]:
        spec = self.by[svc]
        deps = [
            d
            for d in spec.depends_on
            if d != self.silent
            and self.state(d, t_ms) != "stopped"
            and (self.by[d].traced or self.by[d].kind in DATA_KINDS or self.by[d].kind == "queue")
            and not (spec.kind == "worker" and self.by[d].kind == "queue")
        ]
        if depth >= 3:
            deps = [d for d in deps if self.by[d].kind in DATA_KINDS]
        data = {d for d in deps if self.by[d].kind in DATA_KINDS}
        if spec.layer == "edge":
            rpc = [d for d in deps if self.by[d].traced]
            picked = [rpc[int(self.rng.integers(0, len(rpc)))]] if rpc else []
        else:
            picked = [d for d in deps if self.rng.random() < (0.6 if d in data else 0.45)]
        if svc in self.extra:
            target, since, p = self.extra[svc]
            live = self.state(target, t_ms) != "stopped"
            if t_ms >= since and depth < 3 and live and self.rng.random() < p:
                picked.append(target)
        if force is not None and force not in picked:
            picked.insert(0, force)
        return picked

    def handle(
        self, tr: Trace, svc: str, parent: int, t: float, depth: int, force: str | None = None
    ) -> tuple[float, bool]:
        """Run ``svc``'s work under span ``parent`` from ``t``; return end and failure."""
        t += self.rng.uniform(300, 3000)
        callees = self._callees(svc, int(t // 1000), depth, force)
        holder = parent
        if callees and self.rng.random() < 0.3:
            holder = self._span(tr, parent, svc, "internal", "process request", t)
            t += self.rng.uniform(50, 500)
        failed = False
        for callee in callees:
            if len(tr.spans) >= MAX_SPANS:
                break
            t, bad = self.call(tr, svc, holder, callee, t, depth)
            failed = failed or bad
            t += self.rng.uniform(50, 500)
        if holder != parent:
            tr.spans[holder].duration_us = int(t - tr.spans[holder].start_us)
            t += self.rng.uniform(50, 300)
        return t + self.rng.uniform(200, 2000), failed

    def call(
        self, tr: Trace, svc: str, holder: int, callee: str, t: float, depth: int
    ) -> tuple[float, bool]:
        spec, target = self.by[svc], self.by[callee]
        if target.kind in DATA_KINDS:
            return self._db(tr, svc, holder, callee, t), False
        if target.kind == "queue":
            self._publish(tr, svc, holder, callee, t, depth)
            return t + self.rng.uniform(500, 3000), False
        route = self._route(callee)
        c = self._span(tr, holder, svc, "client", route, t)
        span = tr.spans[c]
        span.peer, span.call = callee, "rpc"
        span.attrs = {"http.request.method": route.split(" ")[0], "peer.service": callee}
        hop = self.rng.uniform(2000, 8000) if spec.cluster != target.cluster else 0.0
        hop += self.rng.uniform(200, 1500)
        mode = self.state(callee, int(t // 1000))
        if mode == "crash" or (mode == "storm" and self.rng.random() < 0.5):
            refused = (
                "connect ECONNREFUSED" if spec.sdk == "js" else "[Errno 111] Connection refused"
            )
            span.error = f"{refused} {callee}:8080"
            end = t + hop + self.rng.uniform(500, 3000)
            span.duration_us = int(end - t)
            return end, True
        s = self._span(tr, c, callee, "server", route, t + hop)
        end, failed = self.handle(tr, callee, s, t + hop, depth + 1)
        server = tr.spans[s]
        server.duration_us = int(end - server.start_us)
        status = 200
        if failed:
            status = 502
            server.error = span.error = "502 Bad Gateway"
        elif self.rng.random() < 0.005:
            status = 500
            server.error = span.error = "500 Internal Server Error"
        server.attrs = {
            "http.request.method": route.split(" ")[0],
            "http.route": route.split(" ")[1],
            "http.response.status_code": status,
        }
        span.attrs["http.response.status_code"] = status
        end += hop
        span.duration_us = int(end - t)
        return end, failed

    def _route(self, callee: str) -> str:
        spec = self.by[callee]
        if spec.layer == "edge":
            return "GET " + _EDGE_ROUTES[int(self.rng.integers(0, len(_EDGE_ROUTES)))]
        stem = "/" + callee.split("-")[0]
        routes = (f"GET {stem}", f"GET {stem}/{{id}}", f"POST {stem}")
        return routes[int(self.rng.integers(0, 3))]

    def _db(self, tr: Trace, svc: str, holder: int, callee: str, t: float) -> float:
        target = self.by[callee]
        system = target.system or "postgresql"
        op = _DB_OPS[system][int(self.rng.integers(0, len(_DB_OPS[system])))]
        db_name = callee.rsplit("-", 1)[0]
        c = self._span(tr, holder, svc, "client", f"{op} {db_name}", t)
        fast = target.kind == "cache"
        dur = self.rng.uniform(100, 1500) if fast else self.rng.uniform(300, 15_000)
        span = tr.spans[c]
        span.peer, span.call, span.duration_us = callee, "database", int(dur)
        span.attrs = {
            "db.system": system,
            "db.name": db_name,
            "db.operation": op,
            "peer.service": callee,
        }
        return t + dur

    def _publish(self, tr: Trace, svc: str, holder: int, queue: str, t: float, depth: int) -> None:
        t_ms = int(t // 1000)
        live = [w for w in self.consumers.get(queue, []) if self.state(w, t_ms) == "up"]
        if not live or len(tr.spans) >= MAX_SPANS - 1:
            return
        system = self.by[queue].system or "kafka"
        p = self._span(tr, holder, svc, "producer", f"{queue} publish", t)
        tr.spans[p].peer, tr.spans[p].call = queue, "messaging"
        tr.spans[p].duration_us = int(self.rng.uniform(500, 3000))
        attrs: dict[str, str | int] = {
            "messaging.system": system,
            "messaging.destination.name": queue,
        }
        tr.spans[p].attrs = {**attrs, "messaging.operation": "publish"}
        worker = live[int(self.rng.integers(0, len(live)))]
        start = t + self.rng.uniform(5000, 800_000)
        c = self._span(tr, p, worker, "consumer", f"{queue} process", start)
        tr.spans[c].attrs = {**attrs, "messaging.operation": "process"}
        end, failed = self.handle(tr, worker, c, start, depth + 1)
        tr.spans[c].duration_us = int(end - start)
        if failed:
            tr.spans[c].error = "message processing failed"

    def trace(self, root: str, t_ms: int, force: str | None = None) -> Trace:
        tr = Trace(self._id(16), [])
        t = t_ms * 1000.0 + self.rng.uniform(0, 1000)
        spec = self.by[root]
        if spec.kind == "worker":
            s = self._span(tr, None, root, "internal", "scheduled job", t)
        else:
            route = self._route(root)
            s = self._span(tr, None, root, "server", route, t)
            tr.spans[s].attrs = {
                "http.request.method": route.split(" ")[0],
                "http.route": route.split(" ")[1],
            }
        end, failed = self.handle(tr, root, s, t, 0, force)
        tr.spans[s].duration_us = int(end - t)
        if spec.kind != "worker":
            tr.spans[s].attrs["http.response.status_code"] = 502 if failed else 200
        if failed:
            tr.spans[s].error = "502 Bad Gateway" if spec.kind != "worker" else "job failed"
        return tr


def generate_traces(
    plan: Plan, downtime: dict[str, list[tuple[int, int, str]]], traces_per_hour: int
) -> TraceSet:
    """Generate the scenario's traces, in start order.

    Parameters
    ----------
    plan
        The scenario plan.
    downtime
        Per service, ``(start_ms, end_ms, mode)`` windows where it is down
        (``crash``: calls fail; ``stopped``: traffic avoids it; ``storm``: half fail).
    traces_per_hour
        Background traffic; a few incident traces are always added.

    Returns
    -------
    TraceSet
        The traces and the ids of traces given a clock-skew or shared-id quirk.

    Examples
    --------
    >>> from rtt_topology.demo.scenario import DEFAULT_START, make_plan
    >>> plan = make_plan(seed=1, hours=2, start=DEFAULT_START, services=12)
    >>> ts = generate_traces(plan, {}, 10)
    >>> len(ts.traces) >= 20, ts.traces[0].spans[0].parent is None
    (True, True)
    """
    gen = _Gen(plan, downtime)
    rng, r, times = gen.rng, plan.roles, plan.times
    roots: list[str] = []
    weights: list[float] = []
    queues_consumed = {w for ws in gen.consumers.values() for w in ws}
    for s in plan.specs:
        if s.traced and s.name != r.silent:
            if s.layer == "edge":
                roots.append(s.name)
                weights.append(3.0 if s.web else 2.0)
            elif s.kind == "worker" and s.name not in queues_consumed:
                roots.append(s.name)
                weights.append(0.3)
    p = np.asarray(weights) / sum(weights)
    n = round(traces_per_hour * plan.hours)
    jobs: list[tuple[int, str, str | None]] = []
    for t in np.sort(rng.integers(plan.start_ms, plan.end_ms, n)):
        jobs.append((int(t), str(roots[int(rng.choice(len(roots), p=p))]), None))
    crash_callers = [
        s.name for s in plan.specs if r.crash in s.depends_on and s.traced and s.name != r.silent
    ]
    forced = [
        (r.undeclared_edge, times["undeclared_dependency"], plan.end_ms),
        (r.layering_edge, times["layering_violation"], plan.end_ms),
    ]
    if crash_callers:
        forced.append(((crash_callers[0], r.crash), times["crash"], times["crash_recovery"]))
    for (caller, callee), lo, hi in forced:
        for k in range(3):
            # The first one within minutes of the incident start, then spread out.
            t = lo + (hi - lo) * k // 3 + int(rng.integers(60_000, 300_000))
            while t < plan.end_ms and (
                gen.state(caller, t) != "up" or gen.state(callee, t) == "stopped"
            ):
                t += 600_000
            jobs.append((min(t, plan.end_ms - 1), caller, callee))
    jobs.sort(key=lambda j: j[0])
    traces = []
    for t, root, force in jobs:
        if gen.state(root, t) != "up":
            continue
        traces.append(gen.trace(root, t, force))
    skew = []
    for tr in traces:
        server = next((s for s in tr.spans if s.kind == "server" and s.parent is not None), None)
        if server is not None and rng.random() < 0.02:
            # A callee host whose clock runs a few ms behind: it starts before its caller.
            server.start_us -= int(rng.uniform(1000, 5000))
            skew.append(tr)
    shared = [
        tr.trace_id
        for tr in traces
        if any(s.kind == "server" and s.parent is not None for s in tr.spans)
        and rng.random() < 0.03
    ]
    return TraceSet(traces, [tr.trace_id for tr in skew], shared)
