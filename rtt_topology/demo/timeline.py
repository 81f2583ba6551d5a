"""Turn the scenario plan into per-service beacon timelines (times, events, sessions).

Each service runs as a small state machine over the window: heartbeats every
period with jitter (vectorised with numpy per stretch), and the scripted actions
(deploy, crash, recovery, planned stop, restart storm, slowdown, config change)
that open and close sessions. Websites also get visitor page events, clusters a
30 s heartbeat. Services on the Python SDK stamp whole seconds, the others
milliseconds; times are stored already truncated to what the beacon shows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rtt_topology.demo.catalog import ServiceSpec
from rtt_topology.demo.gap import GapPlan, drop_window
from rtt_topology.demo.scenario import Plan
from rtt_topology.schemas import COUNT_FIELDS

__all__ = [
    "EVENTS",
    "SessionInfo",
    "StructureTable",
    "Timeline",
    "backend_structure",
    "build_timelines",
    "home_structure",
]

#: Event names, indexed by the codes stored in timelines.
EVENTS: tuple[str, ...] = (
    "heartbeat",
    "startup",
    "shutdown",
    "deploy_start",
    "deploy_finish",
    "config_change",
    "cluster_heartbeat",
    "page_load",
    "page_visible",
    "page_hidden",
    "nav",
    "user_action",
)
_EV = {name: i for i, name in enumerate(EVENTS)}
CLUSTERS: tuple[str, ...] = ("dc-east", "dc-west")

# path, title, nav, main, form, button, dom
_Page = tuple[str, str, int, int, int, int, int]
_PAGES: dict[str, tuple[_Page, ...]] = {
    "shop.example.com": (
        ("/", "Example Shop | Home", 8, 1, 1, 14, 1840),
        ("/products", "Example Shop | Products", 8, 1, 2, 36, 3120),
        ("/cart", "Example Shop | Your Cart", 8, 1, 1, 9, 1290),
        ("/checkout", "Example Shop | Checkout", 8, 1, 3, 6, 1510),
    ),
    "account.example.com": (
        ("/", "Example Account | Sign in", 4, 1, 1, 3, 620),
        ("/profile", "Example Account | Profile", 4, 1, 2, 7, 980),
        ("/orders", "Example Account | Your Orders", 4, 1, 1, 12, 1430),
    ),
}
#: The drifted site's redesign: fewer nav blocks, a heavier DOM, a new home title.
DRIFT_NAV = 3
DRIFT_DOM_FACTOR = 1.4
DRIFT_TITLE = "Example Shop | Spring Collection"


class StructureTable:
    """Distinct structure snapshots, each kept once as a dict and as compact JSON."""

    def __init__(self) -> None:
        self.dicts: list[dict[str, Any]] = []
        self.json: list[str] = []
        self._index: dict[str, int] = {}

    def add(self, structure: dict[str, Any]) -> int:
        """Return the index of ``structure``, adding it if new."""
        text = json.dumps(structure, separators=(",", ":"), ensure_ascii=False)
        if text not in self._index:
            self._index[text] = len(self.json)
            self.json.append(text)
            self.dicts.append(structure)
        return self._index[text]


def _page_structure(
    site: str, page: _Page, drifted: bool, dom_factor: float = 1.0
) -> dict[str, Any]:
    path, title, nav, main, form, button, dom = page
    if drifted:
        nav = DRIFT_NAV
        dom = round(dom * DRIFT_DOM_FACTOR)
        if path == "/":
            title = DRIFT_TITLE
    return {
        "url": f"https://{site}{path}",
        "title": title,
        "nav_count": nav,
        "main_count": main,
        "form_count": form,
        "button_count": button,
        "dom_nodes": round(dom * dom_factor),
    }


def home_structure(site: str) -> dict[str, Any]:
    """Return a website's home-page structure before any drift.

    Parameters
    ----------
    site
        A website of the catalog (others get the shop's pages).

    Returns
    -------
    dict
        The seven structure keys, with an ``https://`` URL.

    Examples
    --------
    >>> home_structure("shop.example.com")["nav_count"]
    8
    """
    return _page_structure(site, _PAGES.get(site, _PAGES["shop.example.com"])[0], False)


def backend_structure(spec_name: str, title: str) -> dict[str, Any]:
    """Return the structure a backend sends: its ``internal://`` URL, title and zeros.

    Parameters
    ----------
    spec_name
        The service name.
    title
        Its human title.

    Returns
    -------
    dict
        The seven structure keys.

    Examples
    --------
    >>> backend_structure("auth-service", "Auth Service")["url"]
    'internal://auth-service'
    """
    return {"url": f"internal://{spec_name}", "title": title, **dict.fromkeys(COUNT_FIELDS, 0)}


@dataclass
class SessionInfo:
    """One process lifetime of a service (visitor sessions of websites are not listed)."""

    session: str
    start_ms: int
    end_ms: int | None = None
    end_reason: str = "running"


@dataclass
class Timeline:
    """The beacons of one site, in time order, as parallel arrays."""

    site: str
    precision: str
    ts: np.ndarray
    event: np.ndarray
    session: np.ndarray
    structure: np.ndarray
    sessions: list[str]
    lifetimes: list[SessionInfo] = field(default_factory=list)


@dataclass
class Timelines:
    """All timelines plus what the scripted actions actually did."""

    services: dict[str, Timeline]
    clusters: dict[str, Timeline]
    structures: StructureTable
    downtime: dict[str, list[tuple[int, int, str]]]
    deploys: list[dict[str, Any]]
    config_changes: list[tuple[str, int]]
    notes: dict[str, dict[str, Any]]


class _Proc:
    """The state machine of one service's process over the window."""

    def __init__(self, spec: ServiceSpec, plan: Plan, rng: np.random.Generator) -> None:
        self.spec = spec
        self.rng = rng
        self.period = plan.period_s[spec.name] * 1000.0
        self.times: list[np.ndarray] = []
        self.codes: list[np.ndarray] = []
        self.sess: list[np.ndarray] = []
        self.sessions: list[str] = []
        self.lifetimes: list[SessionInfo] = []
        self.pids: set[int] = set()
        self.running = False
        self.last_tick = 0.0
        self.next_tick = 0.0
        before = int(rng.uniform(3_600_000, 7 * 86_400_000))
        self._open(plan.start_ms - before, startup=False)
        self.next_tick = plan.start_ms + rng.uniform(0, self.period)

    def _session_id(self, start_ms: int) -> str:
        if self.spec.sdk == "js":
            return f"srv-{start_ms}"
        pid = int(self.rng.integers(1000, 65536))
        while pid in self.pids:
            pid = int(self.rng.integers(1000, 65536))
        self.pids.add(pid)
        return f"srv-{pid}"

    def _open(self, t: int, *, startup: bool) -> None:
        self.sessions.append(self._session_id(t))
        self.lifetimes.append(SessionInfo(self.sessions[-1], t))
        self.running = True
        if startup:
            self.emit(t, "startup")
            self.last_tick = t
            self.next_tick = t + self._intervals(1)[0]

    def _close(self, t: int, reason: str) -> None:
        self.lifetimes[-1].end_ms = t
        self.lifetimes[-1].end_reason = reason
        self.running = False

    def _intervals(self, n: int) -> np.ndarray:
        jitter = self.period * (1 + self.rng.uniform(-0.04, 0.04, n))
        # Rare GC pauses or slow networks make a beacon a few seconds late.
        late = (self.rng.random(n) < 0.01) * self.rng.uniform(1000, 8000, n)
        out: np.ndarray = jitter + late
        return out

    def stamp(self, t: int) -> int:
        """Return the instant as the beacon shows it (whole seconds on the Python SDK)."""
        return t // 1000 * 1000 if self.spec.sdk == "py" else t

    def emit(self, t: float, event: str) -> None:
        self.times.append(np.array([t], dtype=np.float64))
        self.codes.append(np.array([_EV[event]], dtype=np.int16))
        self.sess.append(np.array([len(self.sessions) - 1], dtype=np.int32))

    def ticks(self, until: float) -> None:
        """Emit heartbeats from the next scheduled tick up to ``until`` (excluded)."""
        if not self.running:
            return
        while self.next_tick < until:
            n = int((until - self.next_tick) / (0.96 * self.period)) + 2
            steps = self._intervals(n)
            times = self.next_tick + np.concatenate(([0.0], np.cumsum(steps[:-1])))
            keep = times[times < until]
            self.times.append(keep)
            self.codes.append(np.full(len(keep), _EV["heartbeat"], dtype=np.int16))
            self.sess.append(np.full(len(keep), len(self.sessions) - 1, dtype=np.int32))
            if len(keep):
                self.last_tick = float(keep[-1])
            self.next_tick = float(times[len(keep)]) if len(keep) < n else times[-1] + steps[-1]

    def set_period(self, t: float, period_ms: float) -> None:
        self.ticks(t)
        self.period = period_ms
        self.next_tick = max(self.last_tick + self._intervals(1)[0], t)

    def crash(self, t: int) -> None:
        self.ticks(t)
        self._close(t, "crash")

    def stop(self, t: int) -> None:
        self.ticks(t)
        self.emit(t, "shutdown")
        self._close(t, "shutdown")

    def start(self, t: int) -> None:
        self._open(t, startup=True)

    def deploy(self, t: int) -> dict[str, Any]:
        self.ticks(t)
        old = self.sessions[-1]
        self.emit(t, "deploy_start")
        down = t + int(self.rng.uniform(500, 3000))
        self.emit(down, "shutdown")
        self._close(down, "deploy")
        up = t + int(self.rng.uniform(8000, 40_000))
        self._open(up, startup=True)
        finish = up + int(self.rng.uniform(1000, 5000))
        self.emit(finish, "deploy_finish")
        return {
            "start_ms": self.stamp(t),
            "finish_ms": self.stamp(finish),
            "old": old,
            "new": self.sessions[-1],
        }

    def storm(self, t: int) -> dict[str, Any]:
        """Crash-loop: restarts with growing back-off, then a stable session."""
        self.crash(t)
        r = t + int(self.rng.uniform(1000, 3000))
        restarts = []
        for backoff_s in (10, 20, 40, 80, 160, 300, 300):
            self.start(r)
            restarts.append((self.sessions[-1], self.stamp(r)))
            life = int(self.rng.uniform(4000, 25_000))
            self.crash(r + life)
            r = r + life + backoff_s * 1000 + int(self.rng.uniform(0, 2000))
        self.start(r)
        restarts.append((self.sessions[-1], self.stamp(r)))
        return {"restarts": restarts, "end_ms": self.stamp(r)}

    def config(self, t: int) -> bool:
        self.ticks(t)
        if self.running:
            self.emit(t, "config_change")
        return self.running

    def finish(self, end_ms: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        self.ticks(end_ms)
        times = np.concatenate(self.times) if self.times else np.zeros(0)
        codes = np.concatenate(self.codes) if self.codes else np.zeros(0, np.int16)
        sess = np.concatenate(self.sess) if self.sess else np.zeros(0, np.int32)
        ts = np.floor(times).astype(np.int64)
        if self.spec.sdk == "py":
            ts = ts // 1000 * 1000
        order = np.argsort(ts, kind="stable")
        ts, codes, sess = ts[order], codes[order], sess[order]
        # Two beacons equal on (ts, session, event) would read as one duplicate: keep one.
        keep = np.ones(len(ts), dtype=bool)
        keep[1:] = (ts[1:] != ts[:-1]) | (codes[1:] != codes[:-1]) | (sess[1:] != sess[:-1])
        return ts[keep], codes[keep], sess[keep]


def _visitors(
    site: str, plan: Plan, table: StructureTable, rng: np.random.Generator, sessions: list[str]
) -> tuple[list[int], list[int], list[int], list[int]]:
    """Page events of website visitors: one upstream-style session per visit."""
    pages = _PAGES.get(site, _PAGES["shop.example.com"])
    drift_at = plan.times["structural_drift"] if site == plan.roles.drift else None
    n = int(rng.poisson(24 * plan.hours))
    starts = np.sort(rng.integers(plan.start_ms, plan.end_ms, n))
    ts: list[int] = []
    ev: list[int] = []
    ss: list[int] = []
    st: list[int] = []

    def add(t: float, event: str, page: _Page) -> None:
        t = int(t)
        if t >= plan.end_ms:
            return
        drifted = drift_at is not None and t >= drift_at
        factor = float(rng.uniform(0.985, 1.015))
        ts.append(t)
        ev.append(_EV[event])
        ss.append(len(sessions) - 1)
        st.append(table.add(_page_structure(site, page, drifted, factor)))

    for t0 in starts:
        sessions.append(f"rtt-{int(t0) // 1000:x}-{int(rng.integers(0, 2**32)):08x}")
        page = pages[int(rng.integers(0, len(pages)))]
        t = float(t0)
        add(t, "page_load", page)
        if rng.random() < 0.6:
            t += rng.uniform(3000, 40_000)
            add(t, "user_action", page)
        if rng.random() < 0.5:
            t += rng.uniform(10_000, 90_000)
            add(t, "nav", page)
            page = pages[int(rng.integers(0, len(pages)))]
            t += rng.uniform(200, 1500)
            add(t, "page_load", page)
        t += rng.uniform(5000, 300_000)
        add(t, "page_hidden", page)
        if rng.random() < 0.3:
            t += rng.uniform(30_000, 1_200_000)
            add(t, "page_visible", page)
            t += rng.uniform(5000, 120_000)
            add(t, "page_hidden", page)
    return ts, ev, ss, st


def _actions(plan: Plan, name: str) -> list[tuple[int, str]]:
    r, t = plan.roles, plan.times
    acts: list[tuple[int, str]] = [(ms, "config") for ms in plan.config_changes.get(name, [])]
    if name in plan.deploys:
        acts.append((plan.deploys[name], "deploy"))
    if name == r.crash:
        acts += [(t["crash"], "crash"), (t["crash_recovery"], "start")]
    if name == r.stop:
        acts += [(t["planned_stop"], "stop"), (t["planned_restart"], "start")]
    if name == r.storm:
        acts.append((t["restart_storm"], "storm"))
    if name == r.slowdown:
        acts.append((t["cadence_slowdown"], "slow"))
    if plan.gap is not None and name == plan.gap.lingering:
        acts += [(plan.gap.crash_ms, "crash"), (plan.gap.back_ms, "start")]
    return sorted(acts)


def _cluster(
    name: str, plan: Plan, extra: list[int], table: StructureTable, rng: np.random.Generator
) -> Timeline:
    first = plan.start_ms + int(rng.integers(0, 30_000))
    beats = np.arange(first, plan.end_ms, 30_000, dtype=np.int64)
    beats = beats + rng.integers(-150, 150, len(beats))
    ts = np.unique(np.concatenate((beats, np.asarray(extra, dtype=np.int64))))
    ts = ts[(ts >= plan.start_ms) & (ts < plan.end_ms)]
    agent_start_s = (plan.start_ms - int(rng.uniform(86_400_000, 30 * 86_400_000))) // 1000
    title = "Datacenter " + name.split("-")[1].title()
    idx = table.add(backend_structure(name, title))
    return Timeline(
        site=name,
        precision="ms",
        ts=ts,
        event=np.full(len(ts), _EV["cluster_heartbeat"], dtype=np.int16),
        session=np.zeros(len(ts), dtype=np.int32),
        structure=np.full(len(ts), idx, dtype=np.int32),
        sessions=[f"dc-{agent_start_s}"],
        lifetimes=[SessionInfo(f"dc-{agent_start_s}", agent_start_s * 1000)],
    )


def build_timelines(plan: Plan) -> Timelines:
    """Run every service's state machine and build the cluster heartbeats.

    Parameters
    ----------
    plan
        The scenario plan.

    Returns
    -------
    Timelines
        Per-service and per-cluster timelines plus what the actions did.

    Examples
    --------
    >>> from rtt_topology.demo.scenario import DEFAULT_START, make_plan
    >>> tl = build_timelines(make_plan(seed=1, hours=2, start=DEFAULT_START, services=8))
    >>> sorted(tl.clusters), EVENTS[tl.clusters["dc-east"].event[0]]
    (['dc-east', 'dc-west'], 'cluster_heartbeat')
    """
    table = StructureTable()
    out = Timelines({}, {}, table, {}, [], [], {})
    extra: dict[str, list[int]] = {c: [] for c in CLUSTERS}
    r, times = plan.roles, plan.times
    for i, spec in enumerate(plan.specs):
        if spec.name == r.silent:
            continue
        rng = np.random.default_rng([plan.seed, 2, i])
        proc = _Proc(spec, plan, rng)
        cluster = f"dc-{spec.cluster}"
        for t, act in _actions(plan, spec.name):
            if act == "deploy":
                info = proc.deploy(t)
                out.deploys.append({"service": spec.name, **info})
                extra[cluster] += [t - int(rng.uniform(200, 2000)), info["finish_ms"] + 500]
                end = proc.lifetimes[-2].end_ms
                out.downtime.setdefault(spec.name, []).append(
                    (end or t, info["finish_ms"], "stopped")
                )
            elif act == "config":
                if proc.config(t):
                    out.config_changes.append((spec.name, t))
            elif act == "crash":
                proc.crash(t)
            elif act == "stop":
                proc.stop(t)
            elif act == "start":
                proc.start(t)
            elif act == "storm":
                out.notes["restart_storm"] = proc.storm(t)
            elif act == "slow":
                proc.set_period(t, plan.slow_period_s * 1000.0)
        for role, key in ((r.crash, "crash"), (r.stop, "planned_stop"), (r.storm, "restart_storm")):
            if spec.name == role:
                # Clusters also beacon during incidents.
                extra[cluster].append(times[key] + int(rng.uniform(5000, 30_000)))
        ts, ev, ss = proc.finish(plan.end_ms)
        if spec.web:
            drift_at = times["structural_drift"] if spec.name == r.drift else plan.end_ms
            home = _PAGES.get(spec.name, _PAGES["shop.example.com"])[0]
            pre = table.add(_page_structure(spec.name, home, False))
            post = table.add(_page_structure(spec.name, home, True))
            st = np.where(ts < drift_at, pre, post).astype(np.int32)
            sessions = list(proc.sessions)
            vts, vev, vss, vst = _visitors(spec.name, plan, table, rng, sessions)
            ts = np.concatenate((ts, np.asarray(vts, np.int64)))
            ev = np.concatenate((ev, np.asarray(vev, np.int16)))
            ss = np.concatenate((ss, np.asarray(vss, np.int32)))
            st = np.concatenate((st, np.asarray(vst, np.int32)))
            order = np.argsort(ts, kind="stable")
            ts, ev, ss, st = ts[order], ev[order], ss[order], st[order]
        else:
            sessions = list(proc.sessions)
            st = np.full(len(ts), table.add(backend_structure(spec.name, spec.title)), np.int32)
        out.services[spec.name] = Timeline(
            spec.name, "s" if spec.sdk == "py" else "ms", ts, ev, ss, st, sessions, proc.lifetimes
        )
    out.downtime.setdefault(r.crash, []).append((times["crash"], times["crash_recovery"], "crash"))
    out.downtime.setdefault(r.stop, []).append(
        (times["planned_stop"], times["planned_restart"], "stopped")
    )
    out.downtime.setdefault(r.storm, []).append(
        (times["restart_storm"], int(out.notes["restart_storm"]["end_ms"]), "storm")
    )
    for k, c in enumerate(CLUSTERS):
        out.clusters[c] = _cluster(
            c, plan, extra[c], table, np.random.default_rng([plan.seed, 3, k])
        )
    if plan.gap is not None:
        _lose_gap(out, plan.gap)
    return out


def _lose_gap(out: Timelines, gap: GapPlan) -> None:
    """Drop the beacons the failed collector lost; the lingering service really crashed."""
    if gap.lingering is not None:
        out.downtime.setdefault(gap.lingering, []).append((gap.crash_ms, gap.back_ms, "crash"))
    lost = [out.services[n] for n in (*gap.members, gap.lingering) if n in out.services]
    for tl in [*lost, out.clusters[gap.cluster]]:
        keep = drop_window(tl.ts, gap.start_ms, gap.end_ms)
        tl.ts, tl.event = tl.ts[keep], tl.event[keep]
        tl.session, tl.structure = tl.session[keep], tl.structure[keep]
