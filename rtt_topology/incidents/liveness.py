"""Turn liveness, restarts and cadence into incidents: gaps, storms, outages and stops."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import networkx as nx
import numpy as np
import pandas as pd

from rtt_topology.incidents.rows import (
    callers_of,
    chains,
    duration_text,
    name_list,
    records,
    row,
    when,
)

if TYPE_CHECKING:
    from rtt_topology.aggregate.engines import Engine, History
    from rtt_topology.schemas import Profile

__all__ = ["gap_incidents", "liveness_incidents"]


def gap_incidents(gaps: pd.DataFrame) -> list[dict[str, Any]]:
    """Return one ``collector_gap`` row per gap of a collector gaps table.

    ``gaps`` is :func:`~rtt_topology.analysis.liveness.collector_gaps`'s table.

    Examples
    --------
    >>> from rtt_topology.analysis.liveness import GAP_COLUMNS
    >>> gap_incidents(pd.DataFrame(columns=list(GAP_COLUMNS)))
    []
    """
    out = []
    for gap in records(gaps):
        what = "collector file" if gap.grouping == "source" else "cluster"
        out.append(
            row(
                "collector_gap",
                list(gap.sites),
                gap.start,
                gap.end,
                f"{gap.services} of {gap.active} services of {what} {gap.group} went silent "
                f"together from {when(gap.start)} until {when(gap.end)} "
                f"({duration_text(gap.duration_s)}) and came back together: "
                f"{name_list(gap.sites)}; their collector, not the services, went quiet",
                duration_s=gap.duration_s,
            )
        )
    return out


def liveness_incidents(
    beacons: pd.DataFrame | History,
    profiles: Mapping[str, Profile] | None,
    G: nx.DiGraph[str] | None,
    *,
    start: Any,
    end: Any,
    min_outage_s: float,
    min_stop_s: float,
    flapping_restarts: int,
    flapping_window_s: float,
    engine: Engine = "auto",
) -> list[dict[str, Any]]:
    """Return the incidents of the beacons' liveness (kinds in :mod:`rtt_topology.incidents.find`).

    Collector gaps come first and take their members' silences; restart storms
    and cadence changes absorb the crash silences they explain; the crash
    silences left are outages or, chained, intermittent services; long planned
    stops follow.

    An outage or an intermittent service starts when the first missed heartbeat
    was due, at ``last_beacon + period``: the process died after its last beacon
    and before that moment, so the start is at most one period late (liveness
    itself turns ``down`` only after the grace, at ``last_beacon + period +
    grace``). Its ``duration_s`` runs from that start to the next beacon, or to
    the window end while it goes on; ``min_outage_s`` is compared with the
    ``down`` time, as before.

    ``beacons`` is a beacon table or a
    :class:`~rtt_topology.aggregate.engines.History`; ``engine`` picks where the
    liveness, restarts and cadence behind the incidents run (see
    :func:`~rtt_topology.aggregate.engines.choose_engine`): the rows are the same.
    """
    from rtt_topology.aggregate.engines import History, engine_input

    with engine_input(beacons, engine) as data:
        chosen: Engine = "duckdb" if isinstance(data, History) else "pandas"
        return _liveness_rows(
            data, profiles, G, start=start, end=end, min_outage_s=min_outage_s,
            min_stop_s=min_stop_s, flapping_restarts=flapping_restarts,
            flapping_window_s=flapping_window_s, engine=chosen,
        )  # fmt: skip


def _liveness_rows(
    beacons: pd.DataFrame | History,
    profiles: Mapping[str, Profile] | None,
    G: nx.DiGraph[str] | None,
    *,
    start: Any,
    end: Any,
    min_outage_s: float,
    min_stop_s: float,
    flapping_restarts: int,
    flapping_window_s: float,
    engine: Engine,
) -> list[dict[str, Any]]:
    """Return the rows of :func:`liveness_incidents`, every analysis run on one ``engine``."""
    from rtt_topology.aggregate.history import periods, restarts
    from rtt_topology.analysis.cadence import cadence_changes
    from rtt_topology.analysis.liveness import collector_gaps, downtime

    rows: list[dict[str, Any]] = gap_incidents(
        collector_gaps(beacons, profiles, start=start, end=end, engine=engine)
    )
    quiet = downtime(
        beacons, profiles, start=start, end=end,
        flapping_restarts=flapping_restarts, flapping_window_s=flapping_window_s,
        engine=engine,
    )  # fmt: skip
    crash = quiet[quiet["kind"] == "crash"].copy()
    crash["until"] = crash["end"].fillna(crash["start"] + pd.to_timedelta(crash["duration_s"], "s"))
    crash = crash.sort_values(["site", "start"], kind="stable")
    period = periods(beacons, profiles, engine=engine)["period_s"]
    due = crash["last_beacon"] + pd.to_timedelta(
        crash["site"].astype(str).map(period).fillna(0.0).to_numpy(), "s"
    )
    # The first missed heartbeat, never after the down segment's own start.
    crash["due"] = due.where(due < crash["start"], crash["start"])
    absorbed = np.zeros(len(crash), bool)

    # Restart storms: chains of restarts.
    again = restarts(beacons, engine=engine)
    if start is not None:
        again = again[again["ts"] >= pd.Timestamp(start)]
    if end is not None:
        again = again[again["ts"] < pd.Timestamp(end)]
    again = again.sort_values(["site", "ts"], kind="stable")
    again["chain"] = chains(again, "ts", "ts", flapping_window_s)
    crash_site = crash["site"].astype(str).to_numpy()
    crash_start = crash["start"].to_numpy("datetime64[ns]")
    for _, chain in again.groupby("chain", sort=False):
        if len(chain) < flapping_restarts:
            continue
        site = str(chain["site"].iloc[0])
        first, last = chain["ts"].iloc[0], chain["ts"].iloc[-1]
        margin = pd.Timedelta(seconds=flapping_window_s)
        inside = (
            (crash_site == site)
            & (crash_start >= (first - margin).to_datetime64())
            & (crash_start <= (last + margin).to_datetime64())
        )
        absorbed |= inside
        down_s = float(crash["duration_s"].to_numpy()[inside].sum())
        callers = callers_of(G, site)
        rows.append(
            row(
                "restart_storm",
                [site],
                first,
                last,
                f"{site} restarted {len(chain)} times between {when(first)} and "
                f"{when(last)}, silent {duration_text(down_s)} in all",
                impacted=callers,
            )
        )

    # Cadence changes absorb the silences they cause.
    changes = cadence_changes(beacons, profiles, start=start, end=end, engine=engine)
    for change in records(changes):
        site = str(change.site)
        lo = change.start.to_datetime64()
        hi = change.end if not pd.isna(change.end) else pd.Timestamp.max.tz_localize("UTC")
        inside = (crash_site == site) & (crash_start >= lo) & (crash_start <= hi.to_datetime64())
        missed = int(inside.sum())
        absorbed |= inside
        extra = f"; {missed} silences longer than the period follow from it" if missed else ""
        rows.append(
            row(
                "cadence_change",
                [site],
                change.start,
                change.end,
                f"{site} beacons every {change.observed_s:.0f} s instead of "
                f"{change.reference_s:.0f} s ({change.direction}, x{change.ratio:.2f}) "
                f"from {when(change.start)}{extra}",
            )
        )

    # What is left: outages and intermittent services.
    rest = crash[~absorbed].copy()
    rest["chain"] = chains(rest, "start", "until", flapping_window_s)
    for _, chain in rest.groupby("chain", sort=False):
        site = str(chain["site"].iloc[0])
        callers = callers_of(G, site)
        impact = f"; callers: {name_list(callers)}" if callers else ""
        if len(chain) >= 3:
            total = float((chain["until"] - chain["due"]).dt.total_seconds().sum())
            rows.append(
                row(
                    "intermittent",
                    [site],
                    chain["due"].iloc[0],
                    chain["until"].iloc[-1],
                    f"{site} went silent {len(chain)} times from {when(chain['due'].iloc[0])},"
                    f" {duration_text(total)} in all{impact}",
                    impacted=callers,
                )
            )
            continue
        for episode in records(chain):
            if episode.duration_s < min_outage_s:
                continue
            ongoing = pd.isna(episode.end)
            until = "and is still silent" if ongoing else f"until {when(episode.end)}"
            silent_s = (episode.until - episode.due).total_seconds()
            rows.append(
                row(
                    "outage",
                    [site],
                    episode.due,
                    episode.end,
                    f"{site} stopped sending beacons after {when(episode.last_beacon)} "
                    f"without a shutdown beacon; silent {duration_text(silent_s)} from "
                    f"the heartbeat due at {when(episode.due)} {until}{impact}",
                    impacted=callers,
                    duration_s=silent_s,
                )
            )

    planned = quiet[(quiet["kind"] == "planned") & (quiet["duration_s"] >= min_stop_s)]
    for stop in records(planned):
        site = str(stop.site)
        back = "not back yet" if pd.isna(stop.end) else f"back at {when(stop.end)}"
        rows.append(
            row(
                "planned_stop",
                [site],
                stop.start,
                stop.end,
                f"{site} sent a shutdown beacon at {when(stop.start)} and stayed stopped "
                f"{duration_text(stop.duration_s)}; {back}",
                impacted=callers_of(G, site),
                duration_s=stop.duration_s,
            )
        )
    return rows
