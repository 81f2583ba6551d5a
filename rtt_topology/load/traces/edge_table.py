"""The edge table: its columns, and calls and dependency links aggregated into it.

:func:`aggregate_calls` turns the calls that pairing found (one entry per call)
into one row per (caller, callee, kind); :func:`edges_from_links` does the same for
dependency links, and :func:`merge_edges` joins edge tables.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

import numpy as np
import pandas as pd

from rtt_topology.load.traces.keys import BoolArray
from rtt_topology.load.traces.records import FORMAT_BITS

__all__ = [
    "EDGE_COLUMNS",
    "EDGE_KINDS",
    "aggregate_calls",
    "edges_from_links",
    "empty_edge_frame",
    "merge_edges",
    "sorted_edges",
]


#: Values of the edge table's ``kind`` column, after OpenTelemetry's servicegraph; the
#: service graph's edge attribute ``kind`` takes them over.
EDGE_KINDS: Final = ("rpc", "messaging", "database", "virtual")

#: The edge table: column name -> dtype.
EDGE_COLUMNS: dict[str, str] = {
    "caller": "str",
    "callee": "str",
    "kind": "str",
    "calls": "int64",
    "errors": "int64",
    "p50_ms": "float64",
    "p95_ms": "float64",
    "first_seen": "datetime64[ns, UTC]",
    "last_seen": "datetime64[ns, UTC]",
    "sample_trace_ids": "object",
    "callee_virtual": "bool",
    "formats": "str",
}
_SAMPLES = 5
_NAT = np.iinfo(np.int64).min


def empty_edge_frame() -> pd.DataFrame:
    """Return an edge table without rows, with the dtypes of :data:`EDGE_COLUMNS`."""
    return pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in EDGE_COLUMNS.items()})


def _mask_names(mask: int) -> str:
    return ",".join(sorted(name for name, bit in FORMAT_BITS.items() if mask & bit))


def aggregate_calls(
    calls: dict[str, Any], vocab: list[str], known: BoolArray, trace_ids: pd.Series
) -> pd.DataFrame:
    """Aggregate calls into edges: one row per (caller, callee, kind), sorted.

    ``calls`` holds one array entry per call: ``caller``, ``callee`` (codes into
    ``vocab``), ``kind`` (index into :data:`EDGE_KINDS`), ``duration``, ``error``,
    ``time`` (epoch ns, NaT as int64 min), ``trace`` (trace code), ``row`` (the
    callee-side span's row in ``trace_ids``) and ``mask`` (format bits); ``known``
    marks the vocabulary entries that are some span's service.
    """
    if not len(calls["caller"]):
        return empty_edge_frame()
    size = len(vocab)
    group = (calls["caller"] * size + calls["callee"]) * len(EDGE_KINDS) + calls["kind"]
    time = calls["time"]
    when = np.where(time == _NAT, np.iinfo(np.int64).max, time)
    order = np.lexsort((calls["trace"], when, group))
    group, time, trace = group[order], time[order], calls["trace"][order]
    row = calls["row"][order]
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    ends = np.r_[starts[1:], len(group)]
    duration = calls["duration"][order]
    error = calls["error"][order]
    mask = calls["mask"][order]
    seen = np.where(time == _NAT, np.iinfo(np.int64).max, time)
    last = np.where(time == _NAT, _NAT, time)
    first_seen = np.minimum.reduceat(seen, starts)
    last_seen = np.maximum.reduceat(last, starts)
    first_seen = np.where(first_seen == np.iinfo(np.int64).max, _NAT, first_seen)
    rows: dict[str, list[Any]] = {c: [] for c in ("p50_ms", "p95_ms", "sample_trace_ids")}
    for lo, hi in zip(starts.tolist(), ends.tolist(), strict=True):
        values = duration[lo:hi]
        values = values[~np.isnan(values)]
        if len(values):
            p50, p95 = np.percentile(values, [50, 95], method="linear").tolist()
        else:
            p50 = p95 = float("nan")
        rows["p50_ms"].append(p50)
        rows["p95_ms"].append(p95)
        # Calls are sorted by time: the first calls of distinct traces.
        picked: dict[int, int] = {}
        for t, r in zip(trace[lo:hi].tolist(), row[lo:hi].tolist(), strict=True):
            if len(picked) == _SAMPLES:
                break
            picked.setdefault(t, r)
        rows["sample_trace_ids"].append(list(picked.values()))
    # Only the sampled rows' ids become Python strings (no copy of the column).
    column = trace_ids.array
    rows["sample_trace_ids"] = [
        [str(column[r]) for r in picked] for picked in rows["sample_trace_ids"]
    ]
    head = group[starts]
    kinds = head % len(EDGE_KINDS)
    pair = head // len(EDGE_KINDS)
    caller, callee = pair // size, pair % size
    frame = pd.DataFrame(
        {
            "caller": pd.array([vocab[i] for i in caller], dtype="str"),
            "callee": pd.array([vocab[i] for i in callee], dtype="str"),
            "kind": pd.array([EDGE_KINDS[k] for k in kinds], dtype="str"),
            "calls": (ends - starts).astype(np.int64),
            "errors": np.add.reduceat(error.astype(np.int64), starts),
            "p50_ms": np.asarray(rows["p50_ms"], dtype=np.float64),
            "p95_ms": np.asarray(rows["p95_ms"], dtype=np.float64),
            "first_seen": pd.to_datetime(first_seen, utc=True).as_unit("ns"),
            "last_seen": pd.to_datetime(last_seen, utc=True).as_unit("ns"),
            "sample_trace_ids": pd.Series(rows["sample_trace_ids"], dtype=object),
            "callee_virtual": ~known[callee],
            "formats": pd.array(
                [_mask_names(int(m)) for m in np.bitwise_or.reduceat(mask, starts)], dtype="str"
            ),
        }
    )
    return sorted_edges(frame)


def sorted_edges(frame: pd.DataFrame) -> pd.DataFrame:
    """Return the edge table sorted by caller, callee and kind, with a fresh index."""
    return frame.sort_values(["caller", "callee", "kind"], kind="stable").reset_index(drop=True)


def edges_from_links(links: Iterable[tuple[str, str, int, int, str]]) -> pd.DataFrame:
    """Aggregate dependency links ``(parent, child, calls, errors, format)`` into edges.

    Links give ``rpc`` edges with calls and errors only: no latency, no times, no
    trace ids, and ``callee_virtual`` False.
    """
    frame = pd.DataFrame(list(links), columns=["caller", "callee", "calls", "errors", "formats"])
    if frame.empty:
        return empty_edge_frame()
    grouped = frame.groupby(["caller", "callee"], sort=True)
    out = grouped[["calls", "errors"]].sum().reset_index()
    formats = grouped["formats"].agg(lambda s: ",".join(sorted(set(s))))
    n = len(out)
    return _typed(
        pd.DataFrame(
            {
                "caller": out["caller"],
                "callee": out["callee"],
                "kind": ["rpc"] * n,
                "calls": out["calls"],
                "errors": out["errors"],
                "p50_ms": np.full(n, np.nan),
                "p95_ms": np.full(n, np.nan),
                "first_seen": pd.NaT,
                "last_seen": pd.NaT,
                "sample_trace_ids": pd.Series([[] for _ in range(n)], dtype=object),
                "callee_virtual": np.zeros(n, dtype=bool),
                "formats": formats.to_numpy(),
            }
        )
    )


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    dtype: Any
    for name, dtype in EDGE_COLUMNS.items():
        if dtype.startswith("datetime64"):
            out[name] = pd.to_datetime(out[name], utc=True).astype(dtype)
        elif dtype != "object":
            out[name] = out[name].astype(dtype)
    return out[list(EDGE_COLUMNS)]


def merge_edges(frames: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """Merge edge tables: one row per (caller, callee, kind), counts summed.

    Latency quantiles and sample trace ids come from the first table that has
    them (merge span edges before link edges); times are the overall first and
    last; ``callee_virtual`` holds only if every table says so; ``formats`` is
    the union.
    """
    parts = [f for f in frames if not f.empty]
    if not parts:
        return empty_edge_frame()
    if len(parts) == 1:
        return sorted_edges(_typed(parts[0]))
    both = pd.concat(parts, ignore_index=True)
    grouped = both.groupby(["caller", "callee", "kind"], sort=True)
    out = grouped.agg(
        calls=("calls", "sum"),
        errors=("errors", "sum"),
        p50_ms=("p50_ms", "first"),
        p95_ms=("p95_ms", "first"),
        first_seen=("first_seen", "min"),
        last_seen=("last_seen", "max"),
        callee_virtual=("callee_virtual", "all"),
    ).reset_index()
    samples: pd.Series = grouped["sample_trace_ids"].agg(lambda s: next((v for v in s if v), []))
    formats = grouped["formats"].agg(
        lambda s: ",".join(sorted({f for v in s for f in str(v).split(",") if f}))
    )
    out["sample_trace_ids"] = samples.to_numpy()
    out["formats"] = formats.to_numpy()
    return sorted_edges(_typed(out))
