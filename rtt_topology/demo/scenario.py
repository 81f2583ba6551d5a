"""Plan the demo scenario: who plays which role, and when each incident happens.

The plan is pure data derived from the seed: the services (see
:mod:`rtt_topology.demo.catalog`), their heartbeat periods, the services that
play each scripted role, and the incident, deploy and config-change times as
epoch milliseconds. Timelines, traces and files are all derived from it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property

import numpy as np

from rtt_topology.demo.catalog import DATA_KINDS, LAYERS, ServiceSpec, catalog
from rtt_topology.demo.gap import GapPlan, plan_gap

__all__ = ["DEFAULT_START", "Plan", "Roles", "iso_ms", "make_plan"]

#: Default window start of the demo.
DEFAULT_START = datetime(2026, 1, 19, tzinfo=UTC)

#: Incident times, as fractions of the window; each gets a small seeded offset.
FRACTIONS: dict[str, float] = {
    "crash": 0.30,
    "crash_recovery": 0.85,
    "undeclared_dependency": 0.35,
    "structural_drift": 0.40,
    "planned_stop": 0.45,
    "planned_restart": 0.60,
    "cadence_slowdown": 0.50,
    "restart_storm": 0.62,
    "layering_violation": 0.70,
    "malformed_burst": 0.75,
}


def iso_ms(ms: int) -> str:
    """Format epoch milliseconds as ISO 8601 UTC with milliseconds and ``Z``.

    Parameters
    ----------
    ms
        Milliseconds since the Unix epoch.

    Returns
    -------
    str
        Like ``2026-01-19T15:00:00.123Z``.

    Examples
    --------
    >>> iso_ms(1768834800123)
    '2026-01-19T15:00:00.123Z'
    """
    return str(np.datetime64(int(ms), "ms")) + "Z"


@dataclass
class Roles:
    """The services that play each scripted part."""

    drift: str
    node_log: str
    python_log: str
    silent: str
    crash: str
    storm: str
    slowdown: str
    stop: str
    deprecated: str
    experimental: str
    undeclared: list[str]
    undeclared_edge: tuple[str, str]
    layering_edge: tuple[str, str]


@dataclass
class Plan:
    """Everything the generators need, derived from the seed and parameters."""

    seed: int
    hours: float
    start_ms: int
    end_ms: int
    specs: list[ServiceSpec]
    period_s: dict[str, int]
    roles: Roles
    times: dict[str, int]
    slow_period_s: int
    deploys: dict[str, int] = field(default_factory=dict)
    config_changes: dict[str, list[int]] = field(default_factory=dict)
    gap: GapPlan | None = None

    @cached_property
    def by_name(self) -> dict[str, ServiceSpec]:
        """Services by name."""
        return {s.name: s for s in self.specs}


def _pick(
    specs: list[ServiceSpec],
    preferred: str,
    ok: Callable[[ServiceSpec], bool],
    taken: set[str],
) -> str:
    names = {s.name for s in specs}
    if preferred in names and preferred not in taken:
        choice = preferred
    else:
        free = [s.name for s in specs if s.name not in taken and ok(s)]
        if not free:
            free = [s.name for s in specs if s.name not in taken]
        choice = free[0]
    taken.add(choice)
    return choice


def _roles(specs: list[ServiceSpec]) -> Roles:
    by = {s.name: s for s in specs}
    base = [s for s in specs if s.template is None]
    called = {d for s in base if s.traced for d in s.depends_on}
    taken: set[str] = set()
    drift = _pick(base, "shop.example.com", lambda s: s.web, taken)
    node = _pick(base, "storefront-bff", lambda s: s.kind == "api" and s.sdk == "js", taken)
    python = _pick(base, "email-worker", lambda s: s.kind == "worker", taken)
    silent = _pick(base, "loyalty-api", lambda s: s.kind == "api" and s.name not in called, taken)
    crash = _pick(base, "inventory-api", lambda s: s.kind == "api" and s.name in called, taken)
    storm = _pick(base, "auth-service", lambda s: s.kind == "api", taken)
    slowdown = _pick(base, "search-api", lambda s: s.kind in DATA_KINDS, taken)
    stop = _pick(base, "report-worker", lambda s: s.kind == "worker", taken)
    # Static roles may share a service with an incident, never with the silent one.
    undeclared = [s.name for s in base if not s.profile]
    if not undeclared:
        undeclared = [next(s.name for s in base if s.kind in DATA_KINDS and s.name != silent)]
        by[undeclared[0]].profile = False
    declared = {s.name for s in base if s.profile and s.name != silent}
    has_dependant = {d for s in base if s.profile for d in s.depends_on}
    deprecated = _pick(
        base,
        "legacy-billing",
        lambda s: s.name in declared and s.name in has_dependant and s.kind == "api",
        {silent},
    )
    experimental = _pick(
        base,
        "recommendations-api",
        lambda s: s.name in declared and s.name in has_dependant and not s.web,
        {silent, deprecated},
    )
    by[deprecated].lifecycle = "deprecated"
    by[experimental].lifecycle = "experimental"
    up = {silent, crash, stop}
    layer = LAYERS.index

    def edge_ok(a: ServiceSpec, b: ServiceSpec) -> bool:
        return (
            b.name not in a.depends_on
            and a.name != b.name
            and b.name not in up
            and not b.web
            and layer(b.layer) >= layer(a.layer)
        )

    if "cart-api" in by and "users-db" in by:
        undeclared_edge = ("cart-api", "users-db")
    else:
        callers = [s for s in base if s.kind == "api" and s.profile and s.name not in up]
        targets = [b for b in base if b.kind == "api" or b.kind in DATA_KINDS]
        undeclared_edge = next((a.name, b.name) for a in callers for b in targets if edge_ok(a, b))
    if "webhook-worker" in by:
        layering_edge = ("webhook-worker", "api-gateway")
    else:
        worker = next(s.name for s in base if s.kind == "worker" and s.traced)
        upper = next(
            s.name for s in base if s.layer == "edge" and not s.web and s.name not in {crash}
        )
        layering_edge = (worker, upper)
    return Roles(
        drift=drift,
        node_log=node,
        python_log=python,
        silent=silent,
        crash=crash,
        storm=storm,
        slowdown=slowdown,
        stop=stop,
        deprecated=deprecated,
        experimental=experimental,
        undeclared=undeclared,
        undeclared_edge=undeclared_edge,
        layering_edge=layering_edge,
    )


def make_plan(*, seed: int, hours: float, start: datetime, services: int) -> Plan:
    """Derive the scenario plan from the seed and parameters.

    Parameters
    ----------
    seed
        Seed of every random stream.
    hours
        Length of the window, at least 1; incidents are placed at fixed
        fractions of it (all of them fit from about 2 hours).
    start
        Window start (timezone-aware).
    services
        How many services, at least 8.

    Returns
    -------
    Plan
        Services, periods, roles and every scheduled time.

    Examples
    --------
    >>> plan = make_plan(seed=7, hours=24, start=DEFAULT_START, services=40)
    >>> plan.roles.crash, plan.roles.undeclared_edge
    ('inventory-api', ('cart-api', 'users-db'))
    """
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    if hours < 1:
        raise ValueError(f"hours must be at least 1 (incidents need room), got {hours}")
    rng = np.random.default_rng([seed, 1])
    specs = catalog(services, rng)
    roles = _roles(specs)
    start_ms = int(start.timestamp() * 1000)
    span = int(hours * 3_600_000)
    periods = {s.name: int(p) for s, p in zip(specs, rng.integers(30, 61, len(specs)), strict=True)}
    wiggle = max(1, span // 50)
    # Whole seconds, so that beacons stamped by the Python SDK show the exact instant.
    times = {
        k: (start_ms + int(f * span) + int(rng.integers(0, wiggle))) // 1000 * 1000
        for k, f in FRACTIONS.items()
    }
    plan = Plan(
        seed=seed,
        hours=hours,
        start_ms=start_ms,
        end_ms=start_ms + span,
        specs=specs,
        period_s=periods,
        roles=roles,
        times=times,
        slow_period_s=round(periods[roles.slowdown] * 10 / 3),
    )
    busy = {roles.crash, roles.storm, roles.slowdown, roles.stop, roles.silent, roles.drift}
    eligible = [s.name for s in specs if s.name not in busy]
    n_deploys = max(2, len(eligible) // 4)
    for name in sorted(rng.choice(eligible, size=min(n_deploys, len(eligible)), replace=False)):
        plan.deploys[str(name)] = start_ms + int(rng.uniform(0.05, 0.95) * span)
    for s in specs:
        if s.name != roles.silent and rng.random() < 0.3:
            count = int(rng.integers(1, 3))
            plan.config_changes[s.name] = sorted(
                start_ms + int(x * span) for x in rng.uniform(0.02, 0.98, count)
            )
    plan.gap = plan_gap(
        specs,
        start_ms=start_ms,
        end_ms=start_ms + span,
        skip={roles.silent, roles.node_log, roles.python_log},
        changes=_changes(plan),
        roles={roles.crash, roles.storm, roles.slowdown, roles.stop, roles.drift},
    )
    return plan


def _changes(plan: Plan) -> dict[str, list[tuple[int, int]]]:
    """Per service, the scripted spans that change its beacons (the gap must avoid them)."""
    r, t = plan.roles, plan.times
    out: dict[str, list[tuple[int, int]]] = {
        name: [(ms, ms) for ms in times] for name, times in plan.config_changes.items()
    }
    for name, ms in plan.deploys.items():
        out.setdefault(name, []).append((ms, ms + 60_000))
    # A restart storm lasts up to about half an hour; the others change beacons at instants.
    scripted = (
        (r.crash, t["crash"], t["crash"]),
        (r.crash, t["crash_recovery"], t["crash_recovery"]),
        (r.stop, t["planned_stop"], t["planned_stop"]),
        (r.stop, t["planned_restart"], t["planned_restart"]),
        (r.storm, t["restart_storm"], t["restart_storm"] + 1_800_000),
        (r.slowdown, t["cadence_slowdown"], t["cadence_slowdown"]),
        (r.drift, t["structural_drift"], t["structural_drift"]),
    )
    for name, lo, hi in scripted:
        out.setdefault(name, []).append((lo, hi))
    return out
