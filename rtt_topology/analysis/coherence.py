"""Score how coherent each service and the whole system are, per time bucket and overall.

Upstream RTT names a *coherence score* in [0, 1] without a formula; this is ours.
For a service ``s`` and a bucket ``b`` four components, each in [0, 1]:

=============  ==============================================================================
component      definition
=============  ==============================================================================
adherence      beacons received / expected at the service's period, capped at 1
               (:func:`rtt_topology.analysis.cadence.cadence`)
stability      1 - structural drift against the service's baseline
               (:func:`rtt_topology.analysis.drift.drift`)
liveness       (up + late/2 + flapping/2) / (bucket time - stopped - unknown)
               (:func:`rtt_topology.analysis.liveness.time_in_states`): a planned stop and the time
               before a service was first seen neither help nor hurt
declaration    1 with a profile, 0 without; with a service graph, the mean of that and the
               share of the service's declared dependencies seen in traces (1 when it
               declares none)
=============  ==============================================================================

``coherence`` is the weighted mean of the components that exist for the bucket
(a component is missing, not zero, when there is nothing to measure: no beacon
expected, no beacon to compare, a bucket spent stopped; but a declared service
that sends no beacon in the window scores 0 for adherence and liveness), with
weights adherence
0.3, liveness 0.3, stability 0.2, declaration 0.2 by default, renormalised over
the components present. A service's overall score is the mean over its buckets;
the system's score per bucket is the mean over the services scored in it, and
overall the mean of its buckets. Every component is returned, not only the total.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

import networkx as nx
import numpy as np
import pandas as pd

from rtt_topology.errors import InputError
from rtt_topology.schemas import Profile

if TYPE_CHECKING:
    from rtt_topology.aggregate.engines import Engine, History

__all__ = ["COMPONENTS", "DEFAULT_WEIGHTS", "Coherence", "coherence", "declaration_scores"]

#: The components of the score, in table order.
COMPONENTS: tuple[str, ...] = ("adherence", "liveness", "stability", "declaration")
#: Default weights of the components.
DEFAULT_WEIGHTS: Mapping[str, float] = {
    "adherence": 0.3,
    "liveness": 0.3,
    "stability": 0.2,
    "declaration": 0.2,
}


@dataclass
class Coherence:
    """Coherence scores and their components.

    Attributes
    ----------
    by_bucket
        Per service and bucket: ``site``, ``bucket``, the four components and
        ``coherence``.
    services
        Per service: the mean of each component and of ``coherence`` over its buckets.
    system
        Per bucket: the mean of each component and of ``coherence`` over services.
    overall
        The system's coherence over the whole window (``None`` without any score).
    weights
        The weights used.
    """

    by_bucket: pd.DataFrame
    services: pd.DataFrame
    system: pd.DataFrame
    overall: float | None
    weights: dict[str, float] = field(default_factory=dict)


def declaration_scores(
    sites: list[str],
    profiles: Mapping[str, Profile] | None,
    G: nx.DiGraph[str] | None = None,
) -> pd.Series:
    """Return the declaration component of each site.

    Parameters
    ----------
    sites
        The services to score.
    profiles
        Profiles keyed by site (``None``: nothing is declared, every score is 0).
    G
        A service graph with traced edges: adds the share of declared dependencies
        that traces show.

    Returns
    -------
    pandas.Series
        Indexed by site, values in [0, 1].

    Examples
    --------
    >>> from rtt_topology.schemas import Profile
    >>> declaration_scores(["a", "b"], {"a": Profile(rtt_version="1", supports=[])}).tolist()
    [1.0, 0.0]
    """
    declared = set(profiles or {})
    scores = {}
    for site in sites:
        has_profile = 1.0 if site in declared else 0.0
        if G is None or site not in G:
            scores[site] = has_profile
            continue
        wanted = [
            v
            for _, v, attrs in G.out_edges(site, data=True)
            if attrs["provenance"] in ("declared", "both")
        ]
        seen = sum(1 for v in wanted if G.edges[site, v]["provenance"] == "both")
        share = seen / len(wanted) if wanted else 1.0
        scores[site] = (has_profile + share) / 2
    return pd.Series(scores, dtype="float64", name="declaration")


_STATE_COLUMNS = ["up_s", "late_s", "flapping_s", "down_s", "stopped_s", "unknown_s"]


def _site_names(column: pd.Series) -> set[str]:
    if isinstance(column.dtype, pd.CategoricalDtype):
        return {str(name) for name in column.cat.categories}
    return {str(name) for name in column.unique()}


def _weighted(frame: pd.DataFrame, weights: Mapping[str, float]) -> pd.Series:
    values = frame[list(COMPONENTS)].to_numpy(dtype="float64")
    w = np.array([weights[c] for c in COMPONENTS], dtype="float64")
    present = ~np.isnan(values)
    total = (np.where(present, values, 0.0) * w).sum(axis=1)
    norm = (present * w).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        score = np.where(norm > 0, total / norm, np.nan)
    return pd.Series(np.clip(score, 0.0, 1.0), index=frame.index, name="coherence")


def coherence(
    beacons: pd.DataFrame | History,
    profiles: Mapping[str, Profile] | None = None,
    G: nx.DiGraph[str] | None = None,
    *,
    bucket: str = "5min",
    start: datetime | str | None = None,
    end: datetime | str | None = None,
    weights: Mapping[str, float] | None = None,
    cadence_table: pd.DataFrame | None = None,
    drift_table: pd.DataFrame | None = None,
    state_times: pd.DataFrame | None = None,
    engine: Engine = "auto",
) -> Coherence:
    """Score the coherence of each service and of the system, per bucket and overall.

    Parameters
    ----------
    beacons
        A beacon table, or a :class:`~rtt_topology.aggregate.engines.History`.
    profiles
        Profiles keyed by site (declared periods, and the declaration component).
    G
        A service graph with traces, for the declaration component.
    bucket
        A pandas frequency (``"5min"``, ``"1h"``).
    start, end
        The window (default: the data's range).
    weights
        Component weights (non-negative, not all zero); missing keys keep their
        default.
    cadence_table, drift_table, state_times
        Tables already computed with the same bucket and window, to reuse instead
        of computing them again: :func:`~rtt_topology.analysis.cadence.cadence`,
        :func:`~rtt_topology.analysis.drift.drift`,
        :func:`~rtt_topology.analysis.liveness.time_in_states`.
    engine
        ``"pandas"``, ``"duckdb"`` or ``"auto"``
        (:func:`~rtt_topology.aggregate.engines.choose_engine`); the three tables
        are computed by that engine, the scores from them in pandas.

    Returns
    -------
    Coherence
        The scores and every component (see the module documentation).
    """
    from rtt_topology.aggregate.engines import History, engine_input

    chosen = {**DEFAULT_WEIGHTS, **(weights or {})}
    unknown = set(chosen) - set(COMPONENTS)
    if unknown:
        raise InputError(f"unknown coherence component(s): {', '.join(sorted(unknown))}")
    if any(w < 0 for w in chosen.values()) or not any(chosen.values()):
        raise InputError("coherence weights must be non-negative and not all zero")
    given = (cadence_table, drift_table, state_times)
    with engine_input(beacons, engine) as data:
        if isinstance(data, History):
            clusters, sending, tables = _history_tables(data, profiles, bucket, start, end, given)
        else:
            clusters, sending, tables = _frame_tables(data, profiles, bucket, start, end, given)
    return _scores(tables, clusters, sending, profiles, G, chosen)


_Tables = tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]
_Given = tuple[pd.DataFrame | None, pd.DataFrame | None, pd.DataFrame | None]


def _frame_tables(
    beacons: pd.DataFrame,
    profiles: Mapping[str, Profile] | None,
    bucket: str,
    start: datetime | str | None,
    end: datetime | str | None,
    given: _Given,
) -> tuple[set[str], set[str], _Tables]:
    """Return the clusters, the sites that send, and the three tables of a beacon table."""
    from rtt_topology.aggregate.history import cluster_sites
    from rtt_topology.analysis.cadence import cadence
    from rtt_topology.analysis.drift import drift
    from rtt_topology.analysis.liveness import time_in_states

    cadence_table, drift_table, state_times = given
    clusters = set(cluster_sites(beacons))
    codes = beacons["site"].cat.codes.to_numpy()
    sending = set(beacons["site"].cat.categories[np.unique(codes[codes >= 0])])
    if clusters:
        beacons = beacons[~beacons["site"].isin(sorted(clusters))]
    if cadence_table is None:
        cadence_table = cadence(beacons, profiles, bucket=bucket, start=start, end=end)
    if drift_table is None:
        drift_table = drift(beacons, bucket=bucket, start=start, end=end)
    if state_times is None:
        state_times = time_in_states(beacons, profiles, bucket=bucket, start=start, end=end)
    return clusters, {str(s) for s in sending}, (cadence_table, drift_table, state_times)


def _history_tables(
    history: History,
    profiles: Mapping[str, Profile] | None,
    bucket: str,
    start: datetime | str | None,
    end: datetime | str | None,
    given: _Given,
) -> tuple[set[str], set[str], _Tables]:
    """Return the clusters, the sites that send, and the three tables of a history."""
    from rtt_topology.aggregate.history import cluster_sites
    from rtt_topology.analysis.cadence import cadence
    from rtt_topology.analysis.drift import drift
    from rtt_topology.analysis.liveness import time_in_states
    from rtt_topology.graph.beacons import narrowed_history

    cadence_table, drift_table, state_times = given
    clusters = set(cluster_sites(history))
    sending = {str(s) for s in history.site_counts().index}
    services = sorted(sending - clusters) if clusters else None
    with narrowed_history(history, sites=services) as kept:
        if cadence_table is None:
            cadence_table = cadence(kept, profiles, bucket=bucket, start=start, end=end)
        if drift_table is None:
            drift_table = drift(kept, bucket=bucket, start=start, end=end)
        if state_times is None:
            state_times = time_in_states(kept, profiles, bucket=bucket, start=start, end=end)
    return clusters, sending, (cadence_table, drift_table, state_times)


def _scores(
    tables: _Tables,
    clusters: set[str],
    sending: set[str],
    profiles: Mapping[str, Profile] | None,
    G: nx.DiGraph[str] | None,
    chosen: dict[str, float],
) -> Coherence:
    """Join the three tables and score every service and bucket."""
    keys = ["site", "bucket"]
    cadence_table, drift_table, state_times = tables
    # One categorical site column for the three tables: joins and lookups go by codes.
    names = sorted(set().union(*(_site_names(t["site"]) for t in tables)) - clusters, key=str)
    site_type = pd.CategoricalDtype(names)

    def services_only(table: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
        kept = table[table["site"].isin(names)][columns]
        return kept.assign(site=kept["site"].astype(site_type))

    pace = services_only(cadence_table, [*keys, "adherence"])
    structure = services_only(drift_table, [*keys, "drift"])
    states = services_only(state_times, [*keys, *_STATE_COLUMNS])
    frame = pace.merge(structure, on=keys, how="outer").merge(states, on=keys, how="outer")
    for column in _STATE_COLUMNS:
        frame[column] = frame[column].astype("float64").fillna(0.0)
    seen = frame["up_s"] + frame["late_s"] + frame["flapping_s"] + frame["down_s"]
    alive = frame["up_s"] + 0.5 * (frame["late_s"] + frame["flapping_s"])
    with np.errstate(invalid="ignore", divide="ignore"):
        frame["liveness"] = np.where(seen > 0, alive / seen, np.nan)
    frame["stability"] = 1.0 - frame["drift"].astype("float64")
    frame["adherence"] = frame["adherence"].astype("float64")
    # A declared service that sends nothing was expected to: it scores 0, not "nothing
    # to measure", for adherence and liveness.
    silent = frame["site"].isin(sorted(set(profiles or {}) - sending))
    frame.loc[silent, ["adherence", "liveness"]] = 0.0
    declared = declaration_scores([str(n) for n in names], profiles, G)
    frame["declaration"] = frame["site"].map(declared).astype("float64")
    frame["coherence"] = _weighted(frame, chosen)
    by_bucket = (
        frame[[*keys, *COMPONENTS, "coherence"]]
        .sort_values(keys, ignore_index=True)
        .astype(dict.fromkeys((*COMPONENTS, "coherence"), "float64"))
    )
    scored = by_bucket.dropna(subset=["coherence"])
    columns = [*COMPONENTS, "coherence"]
    services = scored.groupby("site", observed=True)[columns].mean().reset_index()
    system = scored.groupby("bucket")[columns].mean().reset_index()
    overall = float(system["coherence"].mean()) if len(system) else None
    return Coherence(by_bucket, services, system, overall, dict(chosen))
