"""Table preparation for the time plots of rtt_topology.plots (vectorised, no matplotlib)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from rtt_topology.errors import InputError
from rtt_topology.plots.common import bucket_width_ns, require, site_codes, utc_ns

__all__ = [
    "Counts",
    "Grid",
    "Incident",
    "beacon_counts",
    "chosen",
    "declared_periods",
    "grid",
    "incidents",
    "interval_values",
    "peaks",
    "top_by",
    "unhealthy_seconds",
]

_NAT = np.iinfo(np.int64).min


def chosen(services: Iterable[str] | str | None) -> list[str] | None:
    """Return the services asked for as a list of str (a single name is one service)."""
    if services is None:
        return None
    if isinstance(services, str):
        return [services]
    return [str(s) for s in services]


def top_by(scores: pd.Series, limit: int) -> list[str]:
    """Return up to ``limit`` index labels, highest score first, ties by name."""
    if limit < 0:
        raise InputError(f"the number of services to show must be >= 0, not {limit}")
    frame = pd.DataFrame({"name": scores.index.astype(str), "score": scores.to_numpy()})
    frame = frame.sort_values(["score", "name"], ascending=[False, True], kind="stable")
    return frame["name"].head(limit).tolist()


def peaks(codes: np.ndarray, names: np.ndarray, values: np.ndarray) -> pd.Series:
    """Return the largest value of each site (NaN when it has none), indexed by name."""
    peak = pd.Series(values).groupby(codes).max()
    peak = peak[peak.index >= 0]
    return pd.Series(peak.to_numpy(), index=[str(n) for n in names[peak.index.to_numpy()]])


@dataclass(frozen=True)
class Grid:
    """A site x bucket matrix of a per-bucket table."""

    names: list[str]  # row names
    starts: np.ndarray  # bucket starts, int64 ns, regular
    width: int  # bucket length, ns
    values: np.ndarray  # float64 (rows, buckets), NaN where no value
    total: int  # sites in the table before any selection


def grid(
    table: pd.DataFrame,
    value: str,
    *,
    limit: int,
    groups: Mapping[str, str] | None = None,
    what: str = "the table",
) -> Grid:
    """Build the heatmap matrix: top ``limit`` sites by peak value, or groups' maxima."""
    require(table, ("site", "bucket", value), what)
    codes, names = site_codes(table["site"])
    ns = utc_ns(table["bucket"], f"{what}: bucket")
    values = table[value].to_numpy(dtype=np.float64, na_value=np.nan)
    keep = (codes >= 0) & (ns != _NAT)
    codes, ns, values = codes[keep], ns[keep], values[keep]
    present = np.unique(codes)
    total = len(present)
    if len(ns) == 0:
        return Grid([], np.zeros(0, np.int64), 0, np.zeros((0, 0)), 0)
    width = bucket_width_ns(ns)
    first = int(ns.min())
    count = int((int(ns.max()) - first) // width) + 1
    column = (ns - first) // width
    if groups is not None:
        group_of = np.asarray([groups.get(str(n), "(no group)") for n in names], dtype=object)
        row_codes, row_names = pd.factorize(group_of[codes], sort=True)
        rows = [str(n) for n in row_names]
        # The worst (largest) value of the group's services in each bucket.
        flat = pd.Series(values).groupby(row_codes * count + column).max()
        matrix = np.full(len(rows) * count, np.nan)
        matrix[flat.index.to_numpy()] = flat.to_numpy()
        return Grid(rows, first + np.arange(count) * width, width, matrix.reshape(-1, count), total)
    peak = pd.Series(values).groupby(codes).max()
    mean = pd.Series(values).groupby(codes).mean()
    ranked = pd.DataFrame({"peak": peak.fillna(-1.0), "mean": mean.fillna(-1.0)})
    ranked["name"] = names[ranked.index.to_numpy()]
    ranked = ranked.sort_values(
        ["peak", "mean", "name"], ascending=[False, False, True], kind="stable"
    )
    picked = np.sort(ranked.index.to_numpy()[:limit])
    slot = np.full(len(names), -1, dtype=np.int64)
    slot[picked] = np.arange(len(picked))
    row = slot[codes]
    inside = row >= 0
    matrix = np.full((len(picked), count), np.nan)
    matrix[row[inside], column[inside]] = values[inside]
    return Grid(
        [str(n) for n in names[picked]], first + np.arange(count) * width, width, matrix, total
    )


@dataclass(frozen=True)
class Counts:
    """Beacons per bucket: the system total and the chosen services."""

    starts: np.ndarray  # int64 ns
    width: int
    total: np.ndarray  # float64 per bucket
    services: list[str]
    per_service: np.ndarray  # (len(services), buckets)


def beacon_counts(frame: pd.DataFrame, bucket: str | pd.Timedelta, services: list[str]) -> Counts:
    """Count beacons per bucket from a beacon table or a cadence table, vectorised."""
    width = int(pd.Timedelta(bucket).value)
    if width <= 0:
        raise InputError(f"bucket must be a positive duration, not {bucket!r}")
    if "ts" in frame.columns:
        require(frame, ("site", "ts"), "the beacon table")
        ns = utc_ns(frame["ts"], "ts")
        weight = None
    elif {"bucket", "beacons"} <= set(frame.columns):
        require(frame, ("site", "bucket", "beacons"), "the cadence table")
        ns = utc_ns(frame["bucket"], "bucket")
        weight = frame["beacons"].to_numpy(dtype=np.float64, na_value=0.0)
    else:
        raise InputError(
            "plot_heartbeat_frequency needs a beacon table (site, ts) or a cadence table "
            "(site, bucket, beacons)"
        )
    codes, names = site_codes(frame["site"])
    valid = ns != _NAT
    if not valid.all():
        ns, codes = ns[valid], codes[valid]
        weight = None if weight is None else weight[valid]
    if len(ns) == 0:
        empty = np.zeros(0)
        return Counts(np.zeros(0, np.int64), width, empty, [], np.zeros((0, 0)))
    # Buckets aligned on the epoch, as pandas.Timestamp.floor aligns them.
    first = int(ns.min()) // width * width
    k = (ns - first) // width
    count = int(k.max()) + 1
    total = np.bincount(k, weights=weight, minlength=count).astype(np.float64)
    lookup = {name: i for i, name in enumerate(names)}
    shown = [s for s in services if s in lookup]
    slot = np.full(len(names) + 1, -1, dtype=np.int64)
    for i, name in enumerate(shown):
        slot[lookup[name]] = i
    per = np.zeros((len(shown), count))
    if shown:
        row = slot[codes]  # code -1 (null site) reads the extra slot, -1
        inside = row >= 0
        cells = row[inside] * count + k[inside]
        w = None if weight is None else weight[inside]
        per = np.bincount(cells, weights=w, minlength=len(shown) * count).astype(np.float64)
        per = per.reshape(-1, count)
    return Counts(first + np.arange(count, dtype=np.int64) * width, width, total, shown, per)


def interval_values(
    data: pd.DataFrame | pd.Series | Sequence[float] | np.ndarray,
    services: list[str] | None,
) -> tuple[dict[str, np.ndarray], str]:
    """Return intervals (seconds) per series to draw, and what they are of.

    A beacon table gives :func:`rtt_topology.aggregate.history.intervals`; an intervals table
    (``site``, ``interval_s``) is used as is; a series or array is one series.
    """
    if isinstance(data, pd.DataFrame):
        if "interval_s" in data.columns:
            frame = require(data, ("site", "interval_s"), "the intervals table")
        elif "ts" in data.columns:
            from rtt_topology.aggregate.history import intervals

            frame = intervals(data)
        else:
            raise InputError(
                "plot_cadence_histogram needs a beacon table, an intervals table "
                "(site, interval_s) or a series of intervals"
            )
        codes, names = site_codes(frame["site"])
        values = frame["interval_s"].to_numpy(dtype=np.float64, na_value=np.nan)
        if services is None:
            return {"all services": values[np.isfinite(values)]}, "all services"
        lookup = {name: i for i, name in enumerate(names)}
        out: dict[str, np.ndarray] = {}
        for name in services:
            picked = values[codes == lookup[name]] if name in lookup else np.zeros(0)
            out[name] = picked[np.isfinite(picked)]
        if len(services) > 6:
            merged = np.concatenate(list(out.values())) if out else np.zeros(0)
            return {f"{len(services)} services": merged}, f"{len(services)} services"
        return out, ", ".join(services)
    if services is not None:
        raise InputError("services can only be chosen from a beacon or intervals table")
    values = np.asarray(data, dtype=np.float64).ravel()
    return {"intervals": values[np.isfinite(values)]}, "the given intervals"


def declared_periods(
    declared: float | Iterable[float | None] | Mapping[str, float | None] | None,
    services: list[str] | None,
) -> list[float]:
    """Return the distinct declared periods to mark, in seconds."""
    if declared is None:
        return []
    if isinstance(declared, int | float):
        found: Iterable[float | None] = [float(declared)]
    elif isinstance(declared, Mapping):
        found = [v for k, v in declared.items() if services is None or str(k) in services]
    else:
        found = declared
    return sorted({float(v) for v in found if v is not None and np.isfinite(v) and v > 0})


@dataclass(frozen=True)
class Incident:
    """One span to shade: times in ns (end NaT: ongoing), its service and label."""

    start: int
    end: int
    service: str | None
    label: str


def incidents(frame: pd.DataFrame | None, shown: set[str] | None) -> list[Incident]:
    """Read incident rows (start, end, optional service/site/sites, optional label/kind)."""
    if frame is None:
        return []
    require(frame, ("start", "end"), "incidents")
    if "service" not in frame.columns and "site" not in frame.columns and "sites" in frame:
        # find_incidents lists the services of an incident: one span per service.
        frame = frame.explode("sites").rename(columns={"sites": "service"})
    start = utc_ns(frame["start"], "incidents: start")
    end = utc_ns(frame["end"], "incidents: end")
    who_column = next((c for c in ("service", "site") if c in frame.columns), None)
    what_column = next((c for c in ("label", "kind") if c in frame.columns), None)
    who = frame[who_column].tolist() if who_column else [None] * len(frame)
    what = frame[what_column].tolist() if what_column else ["incident"] * len(frame)
    out = []
    for s, e, service, label in zip(start, end, who, what, strict=True):
        name = None if service is None or pd.isna(service) else str(service)
        if s == _NAT or (shown is not None and name is not None and name not in shown):
            continue
        text = "incident" if label is None or pd.isna(label) else str(label)
        out.append(Incident(int(s), int(e), name, text))
    return out


def unhealthy_seconds(table: pd.DataFrame) -> pd.Series:
    """Seconds each site of a liveness timeline spent in a state other than ``up``."""
    codes, names = site_codes(table["site"])
    start = utc_ns(table["start"], "timeline: start")
    end = utc_ns(table["end"], "timeline: end")
    bad = (table["state"].astype(str) != "up").to_numpy()
    span = np.where((end != _NAT) & (start != _NAT), (end - start) / 1e9, 0.0)
    seconds = np.bincount(
        codes[codes >= 0], weights=np.where(bad, span, 0.0)[codes >= 0], minlength=len(names)
    )
    listed = np.unique(codes[codes >= 0])
    return pd.Series(seconds[listed], index=names[listed])
