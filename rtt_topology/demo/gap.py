"""Plan the demo's collector gap: one cluster file loses every beacon for a while.

The collector of one cluster file fails: every beacon of the file's services
(and of the cluster itself) sent in ``[start, end)`` is lost, while the
services keep running. One member, the *lingering* service, crashes during the
gap and comes back later than the others: its silence is an outage of its own.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rtt_topology.demo.catalog import ServiceSpec

__all__ = ["GAP_AT", "GapPlan", "drop_window", "plan_gap"]

#: Where the gap should start, as a fraction of the window (the nearest quiet spot wins).
GAP_AT = 0.2
#: Longest gap, in ms (shorter windows get a twelfth of their span).
_GAP_MS = 20 * 60_000
#: Quiet margin, in ms, around the gap free of any other scripted beacon change.
_MARGIN_MS = 2 * 60_000
_MINUTE = 60_000


@dataclass(frozen=True)
class GapPlan:
    """The collector gap: which cluster file, when, who is inside, who lingers."""

    cluster: str
    start_ms: int
    end_ms: int
    members: tuple[str, ...]
    lingering: str | None
    crash_ms: int
    back_ms: int


def _free(spans: list[tuple[int, int]], lo: int, hi: int) -> bool:
    """Tell whether no span ``[a, b]`` meets ``[lo, hi)``."""
    return not any(a < hi and b >= lo for a, b in spans)


def plan_gap(
    specs: list[ServiceSpec],
    *,
    start_ms: int,
    end_ms: int,
    skip: set[str],
    changes: dict[str, list[tuple[int, int]]],
    roles: set[str],
) -> GapPlan | None:
    """Choose the gap's cluster, window and lingering service.

    The gap starts on the whole minute nearest to :data:`GAP_AT` of the window
    where no member has a scripted beacon change within two minutes of the gap,
    nor the lingering service before it comes back.

    Parameters
    ----------
    specs
        The services.
    start_ms, end_ms
        The demo window.
    skip
        Services whose beacons do not go through a cluster file (the silent
        one, the log-only ones).
    changes
        Per service, the spans ``[a, b]`` of scripted beacon changes (deploys,
        config changes, incidents): none may meet the gap.
    roles
        Services playing a scripted incident: never the lingering one.

    Returns
    -------
    GapPlan or None
        None when no cluster has four services or no quiet window exists.

    Examples
    --------
    >>> from rtt_topology.demo.scenario import DEFAULT_START, make_plan
    >>> gap = make_plan(seed=7, hours=6, start=DEFAULT_START, services=40).gap
    >>> gap.cluster, len(gap.members) >= 3, gap.end_ms - gap.start_ms
    ('dc-west', True, 1200000)
    """
    span = end_ms - start_ms
    length = min(_GAP_MS, span // 12) // _MINUTE * _MINUTE
    by_cluster: dict[str, list[ServiceSpec]] = {}
    for spec in specs:
        if spec.name not in skip:
            by_cluster.setdefault(f"dc-{spec.cluster}", []).append(spec)
    target = start_ms + GAP_AT * span
    first = -(-start_ms // _MINUTE) * _MINUTE + _MINUTE
    starts = sorted(range(first, end_ms - 2 * length, _MINUTE), key=lambda t: abs(t - target))
    for cluster in ("dc-west", "dc-east"):
        group = by_cluster.get(cluster, [])
        if len(group) < 4:
            continue
        busy = [ab for s in group for ab in changes.get(s.name, [])]
        # The lingering service: a backend (visitors keep a website's beacons coming) that
        # others depend on least, so traces barely change.
        called = {s.name: 0 for s in group if not s.web and s.name not in roles}
        for spec in specs:
            for dep in spec.depends_on:
                if dep in called:
                    called[dep] += 1
        for lo in starts:
            hi, back = lo + length, lo + 2 * length
            if not _free(busy, lo - _MARGIN_MS, hi + _MARGIN_MS):
                continue
            quiet = [n for n in called if _free(changes.get(n, []), lo, back + _MARGIN_MS)]
            if not quiet:
                continue
            lingering = min(quiet, key=lambda n: (called[n], n))
            return GapPlan(
                cluster=cluster,
                start_ms=lo,
                end_ms=hi,
                members=tuple(sorted(s.name for s in group if s.name != lingering)),
                lingering=lingering,
                crash_ms=lo + length // 2,
                back_ms=back,
            )
    return None


def drop_window(ts: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """Return the mask of the beacons the gap keeps: those outside ``[lo, hi)``.

    Examples
    --------
    >>> drop_window(np.array([1, 5, 9]), 5, 9).tolist()
    [True, False, True]
    """
    keep: np.ndarray = (ts < lo) | (ts >= hi)
    return keep
