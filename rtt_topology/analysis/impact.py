"""Find the root causes among unhealthy services by following their dependencies.

Given the states of the services at one moment (:func:`rtt_topology.analysis.liveness.states`)
and the service graph (``u -> v``: u calls v, so v is a dependency of u), every
unhealthy service gets a verdict:

==============================  =====================================================
verdict                         when
==============================  =====================================================
root cause                      down, and no down service is reachable from it
                                through unhealthy services, except the members of
                                its own strongly connected group (a cycle of down
                                services depending on each other is one root cause
                                group)
impacted                        down, late or flapping, and some down service is
                                reachable from it through unhealthy services
late, no down dependency        late, and no down service is reachable
flapping, no down dependency    flapping, and no down service is reachable
==============================  =====================================================

*Unhealthy* means down, late or flapping. Only paths through unhealthy services
count: a healthy (up) service between two unhealthy ones breaks the chain, as do
stopped (a planned stop is not an incident), missing and unknown services, and
virtual nodes (no beacons, so no state). A down service that is not in the graph
has no known dependency: it is a root cause. The dependency groups come from
:func:`networkx.condensation` of the graph restricted to the unhealthy services.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

import networkx as nx
import pandas as pd

from rtt_topology.errors import InputError

__all__ = ["FLAPPING_ONLY", "IMPACTED", "LATE_ONLY", "ROOT_CAUSE", "VERDICTS", "root_causes"]

ROOT_CAUSE = "root cause"
IMPACTED = "impacted"
LATE_ONLY = "late, no down dependency"
FLAPPING_ONLY = "flapping, no down dependency"
#: Every verdict, in the order of the rows :func:`root_causes` returns.
VERDICTS: tuple[str, ...] = (ROOT_CAUSE, IMPACTED, LATE_ONLY, FLAPPING_ONLY)

_DOWN = "down"
_UNHEALTHY = ("down", "late", "flapping")
# An unhealthy service with no down dependency that is not down itself.
_ALONE = {"late": LATE_ONLY, "flapping": FLAPPING_ONLY}
_COLUMNS = ["site", "state", "verdict", "root_causes", "path", "impacts", "explanation"]


@dataclass
class _Verdict:
    site: str
    state: str
    verdict: str
    root_causes: list[str]
    path: list[str]
    impacts: list[str] = field(default_factory=list)
    explanation: str = ""


def _when(value: Any) -> str:
    return f"{pd.Timestamp(value):%Y-%m-%d %H:%M:%S} UTC"


def _down_since(row: pd.Series) -> str:
    """' since <time>' when the table tells when the service went down, else ''."""
    try:
        since = row["last_seen"] + pd.Timedelta(seconds=row["period_s"] + row["grace_s"])
    except (KeyError, TypeError, ValueError):
        return ""
    return "" if pd.isna(since) else f" since {_when(since)}"


def _names(items: Iterable[str]) -> str:
    return ", ".join(sorted(items))


def root_causes(state_table: pd.DataFrame, G: nx.DiGraph[Any]) -> pd.DataFrame:
    """Tell, for each unhealthy service, whether it is a root cause or impacted by one.

    Parameters
    ----------
    state_table
        The states at one moment: at least ``site`` and ``state`` columns, as
        :func:`rtt_topology.analysis.liveness.states` returns them (with ``last_seen``,
        ``period_s`` and ``grace_s`` the explanations say since when a service
        is down).
    G
        The service graph (``u -> v``: u calls v), e.g. from
        :func:`rtt_topology.graph.build_graph`.

    Returns
    -------
    pandas.DataFrame
        One row per down, late or flapping service, root causes first, then by
        verdict and site: ``site``, ``state``, ``verdict`` (one of
        :data:`VERDICTS`), ``root_causes`` (sorted list: the root causes it
        depends on, or its own root cause group), ``path`` (a shortest
        dependency path from the service to its nearest root cause; among equals
        the root cause first by name, then the path first in alphabetical order;
        ``[site]`` for a root cause, ``[]`` without one), ``impacts``
        (for a root cause, the sorted unhealthy services that depend on it) and
        ``explanation`` (one sentence).

    Raises
    ------
    InputError
        If the table lacks ``site`` or ``state``.
    networkx.NetworkXNotImplemented
        If ``G`` is undirected.

    Examples
    --------
    >>> import networkx as nx
    >>> import pandas as pd
    >>> G = nx.DiGraph([("web", "orders"), ("orders", "stock"), ("orders", "db")])
    >>> table = pd.DataFrame({"site": ["web", "orders", "stock", "db"],
    ...                       "state": ["late", "down", "down", "up"]})
    >>> result = root_causes(table, G)
    >>> result[["site", "verdict", "root_causes", "path"]]
         site     verdict root_causes                   path
    0   stock  root cause     [stock]                [stock]
    1  orders    impacted     [stock]        [orders, stock]
    2     web    impacted     [stock]  [web, orders, stock]
    >>> print(result["explanation"][1])
    orders is DOWN: it depends on stock (DOWN) via orders -> stock
    """
    if not G.is_directed():
        raise nx.NetworkXNotImplemented("not implemented for undirected type")
    missing = [c for c in ("site", "state") if c not in state_table.columns]
    if missing:
        raise InputError(f"state_table lacks column(s): {', '.join(missing)}")
    rows = state_table[state_table["state"].astype(str).isin(_UNHEALTHY)]
    rows = rows.assign(site=rows["site"].astype(str)).drop_duplicates("site")
    by_site = {str(r["site"]): r for _, r in rows.iterrows()}
    state = {site: str(r["state"]) for site, r in by_site.items()}

    H: nx.DiGraph[str] = nx.DiGraph()
    H.add_nodes_from(state)
    H.add_edges_from(G.subgraph([s for s in state if s in G]).edges())
    dag = nx.condensation(H)
    group: dict[str, int] = dag.graph["mapping"]
    down = {c: {str(n) for n in dag.nodes[c]["members"] if state[n] == _DOWN} for c in dag}
    # Root causes reachable from each group, deepest groups first.
    reach: dict[int, set[str]] = {}
    down_below: dict[int, bool] = {}
    for c in reversed(list(nx.topological_sort(dag))):
        down_below[c] = any(down_below[s] or down[s] for s in dag.successors(c))
        reach[c] = set().union(*(reach[s] for s in dag.successors(c)))
        if down[c] and not down_below[c]:
            reach[c] |= down[c]
    is_root = {s for c in dag if down[c] and not down_below[c] for s in down[c]}

    results: list[_Verdict] = []
    for site in sorted(state):
        c = group[site]
        if site in is_root:
            results.append(_Verdict(site, state[site], ROOT_CAUSE, sorted(down[c]), [site]))
            continue
        causes = sorted(reach[c])
        verdict = IMPACTED if causes else _ALONE[state[site]]
        path = _nearest(H, site, set(causes)) if causes else []
        results.append(_Verdict(site, state[site], verdict, causes, path))
    impacts: dict[str, list[str]] = {s: [] for s in is_root}
    for result in results:
        if result.verdict == IMPACTED:
            for cause in result.root_causes:
                impacts[cause].append(result.site)
    for result in results:
        if result.verdict == ROOT_CAUSE:
            result.impacts = impacts[result.site]
        result.explanation = _explain(result, by_site)
    order = {v: i for i, v in enumerate(VERDICTS)}
    results.sort(key=lambda r: (order[r.verdict], r.site))
    return pd.DataFrame([asdict(r) for r in results], columns=_COLUMNS)


def _nearest(H: nx.DiGraph[str], source: str, targets: set[str]) -> list[str]:
    """Return a shortest path from ``source`` to the nearest of ``targets``, ties by name.

    A breadth-first search expanding callees in name order reaches every node first
    along its alphabetically first shortest path.
    """
    parent: dict[str, str | None] = {source: None}
    level = [source]
    while level:
        reached = sorted(t for t in level if t in targets and t != source)
        if reached:
            path = [reached[0]]
            while (previous := parent[path[-1]]) is not None:
                path.append(previous)
            return path[::-1]
        following = []
        for node in level:
            for callee in sorted(H.successors(node)):
                if callee not in parent:
                    parent[callee] = node
                    following.append(callee)
        level = following
    return []


def _explain(result: _Verdict, by_site: dict[str, pd.Series]) -> str:
    site, state, verdict = result.site, result.state, result.verdict
    row = by_site[site]
    head = f"{site} is {state.upper()}"
    if verdict == ROOT_CAUSE:
        others = [s for s in result.root_causes if s != site]
        text = f"{head}{_down_since(row)} and "
        if others:
            text += (
                f"it and {_names(others)} depend on each other, and on no other down service: "
                "one root cause group"
            )
        else:
            text += "none of its dependencies is down: a root cause"
        if result.impacts:
            text += f", impacting {_names(result.impacts)}"
        return text
    if verdict == IMPACTED:
        cause = result.path[-1]
        text = (
            f"{head}: it depends on {cause} (DOWN{_down_since(by_site[cause])}) via "
            + " -> ".join(result.path)
        )
        more = len(result.root_causes) - 1
        if more:
            text += f" and on {more} more root cause{'s' if more > 1 else ''}"
        return text
    detail = ""
    if verdict == LATE_ONLY and "age_s" in row and pd.notna(row["age_s"]):
        detail = f" (last beacon {float(row['age_s']):.0f} s ago)"
    if verdict == FLAPPING_ONLY and "restarts_in_window" in row:
        detail = f" ({int(row['restarts_in_window'])} restarts in the window)"
    return f"{head}{detail} and none of its dependencies is down"
