"""Build the span table: join the files' span batches, restrict to a window, collapse duplicates.

Duplicates are collapsed in two steps, both vectorised:

1. Spans with the same ``(trace_id, span_id, service, kind)`` are one span (an
   overlapping export, or one trace in several files). A span of kind
   ``unspecified`` matches any kind of the same ``(trace_id, span_id, service)``
   (Zipkin leaves ``kind`` out where Jaeger and OTLP say ``internal``). The first
   one in table order is kept (the earliest start, then the first read), completed
   with the others: ``error`` if any says so, the
   first non-null ``parent_id``, ``peer``, ``db_system``, ``messaging_system``,
   ``cluster``, ``start`` and ``duration_ms``.
2. A Zipkin server span sharing its id with the client span that called it is
   the same call as a server span of the same service whose parent is that client
   span (the form Jaeger and OTLP export): when both are present the shared-id
   one is dropped, and its children are re-attached to the other one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

from rtt_topology.load.traces.keys import (
    KIND_CODES,
    SpanKeys,
    format_masks,
    span_keys,
    trace_codes,
)
from rtt_topology.load.traces.records import SPAN_FORMATS

__all__ = ["SPAN_COLUMNS", "SpanTable", "build_span_table", "empty_span_frame"]

#: The span table: column name -> dtype.
SPAN_COLUMNS: dict[str, str] = {
    "trace_id": "str",
    "span_id": "str",
    "parent_id": "str",
    "service": "category",
    "name": "category",
    "kind": "category",
    "start": "datetime64[ns, UTC]",
    "duration_ms": "float64",
    "error": "bool",
    "peer": "str",
    "db_system": "str",
    "messaging_system": "str",
    "cluster": "str",
    "format": "category",
    "source": "category",
}
_CATEGORIES = [name for name, dtype in SPAN_COLUMNS.items() if dtype == "category"]
_STRINGS = [name for name, dtype in SPAN_COLUMNS.items() if dtype == "str"]
# Categories of a closed vocabulary are all there, sorted, whatever the data holds.
_FIXED_CATEGORIES = {"kind": sorted(KIND_CODES), "format": sorted(SPAN_FORMATS)}
_KIND_NAMES = {code: name for name, code in KIND_CODES.items()}
_FILL_FIRST = [
    "parent_id",
    "peer",
    "db_system",
    "messaging_system",
    "cluster",
    "start",
    "duration_ms",
]


@dataclass
class SpanTable:
    """The span table with what building it counted.

    Attributes
    ----------
    spans
        The table (:data:`SPAN_COLUMNS`), sorted by ``trace_id``, ``start``.
    masks
        Per row, the bits (``FORMAT_BITS``) of every format the span was seen in.
    keys
        The integer keys of the rows, for pairing.
    duplicates
        Spans collapsed into another one.
    duplicates_by_service
        The same, per service.
    out_of_window
        Spans dropped because they started outside ``[start, end)`` (or have no
        start while a window is given).
    """

    spans: pd.DataFrame
    masks: npt.NDArray[np.uint8]
    keys: SpanKeys
    duplicates: int = 0
    duplicates_by_service: dict[str, int] | None = None
    out_of_window: int = 0


def empty_span_frame() -> pd.DataFrame:
    """Return a span table without rows, with the dtypes of :data:`SPAN_COLUMNS`."""
    frame = pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in SPAN_COLUMNS.items()})
    for name, categories in _FIXED_CATEGORIES.items():
        frame[name] = frame[name].cat.set_categories(categories)
    return frame


def _frame(parts: list[tuple[str, list[pa.RecordBatch]]]) -> pd.DataFrame:
    """Join the batches into a frame, releasing them column by column (``parts`` is emptied)."""
    tables = []
    for source, batches in parts:
        if batches:
            table = pa.Table.from_batches(batches)
            batches.clear()
            indices = pa.array(np.zeros(len(table), dtype=np.int8))
            column = pa.DictionaryArray.from_arrays(indices, pa.array([source], pa.string()))
            tables.append(table.append_column("source", column))
    parts.clear()
    if not tables:
        return empty_span_frame()
    joined = pa.concat_tables(tables)
    del tables
    arrow = {name: joined.column(name) for name in SPAN_COLUMNS}
    del joined
    columns: dict[str, Any] = {}
    for name, dtype in SPAN_COLUMNS.items():
        column = arrow.pop(name)
        if dtype == "str":
            if pa.types.is_dictionary(column.type):
                column = column.cast(pa.large_string())
            columns[name] = column.to_pandas().astype("str")
        elif dtype == "category":
            values = column.to_pandas()
            fixed = _FIXED_CATEGORIES.get(name, sorted(values.cat.categories))
            columns[name] = values.cat.set_categories(fixed)
        else:
            columns[name] = column.to_pandas().astype(dtype)
        del column
    return pd.DataFrame(columns, copy=False)


def _take(frame: pd.DataFrame, rows: npt.NDArray[np.intp]) -> pd.DataFrame:
    """Return ``frame.iloc[rows]`` with a fresh index, building one column at a time."""
    columns = {}
    for name in list(frame.columns):
        columns[name] = frame.pop(name).array.take(rows)
        # Give the old column's memory back now, not after the whole table is copied.
        pa.default_memory_pool().release_unused()
    return pd.DataFrame(columns, copy=False)


def _in_window(
    frame: pd.DataFrame, start: datetime | None, end: datetime | None
) -> npt.NDArray[np.bool_]:
    keep = np.ones(len(frame), dtype=bool)
    times = frame["start"]
    if start is not None:
        keep &= (times >= pd.Timestamp(start)).to_numpy(dtype=bool, na_value=False)
    if end is not None:
        keep &= (times < pd.Timestamp(end)).to_numpy(dtype=bool, na_value=False)
    return keep


def _set_rows(frame: pd.DataFrame, name: str, rows: npt.NDArray[np.intp], values: Any) -> None:
    """Set ``frame[name]`` at the positions ``rows``, on a copy of the column.

    The columns come from Arrow buffers, which numpy sees as read-only, and pandas
    writes into an unshared column in place: so the column is copied, then replaced.
    """
    column = frame[name].copy(deep=True)
    column.iloc[rows] = values
    frame[name] = column


def _collapse_same(
    frame: pd.DataFrame, masks: npt.NDArray[np.uint8], keys: SpanKeys
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.bool_]]:
    """Step 1: one row per (trace_id, span_id, service, kind), unspecified matching any kind.

    Completes the kept rows of ``frame`` in place; returns the masks and the rows to drop.
    """
    drop = np.zeros(len(frame), dtype=bool)
    pairs = pd.DataFrame({"key": keys.key, "service": keys.service}, copy=False)
    dup = pairs.duplicated(keep=False).to_numpy()
    if not dup.any():
        return masks, drop
    rows = np.flatnonzero(dup)
    group = pairs.iloc[rows].groupby(["key", "service"], sort=False).ngroup().to_numpy()
    kind = keys.kind[rows]
    del pairs
    # An unspecified kind takes the first specified kind of its group.
    specified = pd.Series(np.where(kind > 0, kind, np.nan))
    fill = specified.groupby(group).transform("first").fillna(0).to_numpy(dtype=np.int64)
    kind = np.where(kind > 0, kind, fill)
    composite = group * 8 + kind
    order = np.lexsort((rows, composite))
    rows, composite, kind = rows[order], composite[order], kind[order]
    starts = np.flatnonzero(np.r_[True, composite[1:] != composite[:-1]])
    keep = rows[starts]
    first = frame[_FILL_FIRST].iloc[rows].groupby(composite, sort=True).first()
    _set_rows(frame, "kind", keep, [_KIND_NAMES[k] for k in kind[starts]])
    for name in _FILL_FIRST:
        _set_rows(frame, name, keep, first[name].array)
    errors = np.logical_or.reduceat(frame["error"].to_numpy(dtype=bool)[rows], starts)
    _set_rows(frame, "error", keep, errors)
    masks = masks.copy()
    masks[keep] = np.bitwise_or.reduceat(masks[rows], starts)
    drop[rows] = True
    drop[keep] = False
    return masks, drop


def _reattach_shared(
    frame: pd.DataFrame, masks: npt.NDArray[np.uint8], keys: SpanKeys
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.bool_]]:
    """Step 2: drop Zipkin shared-id server spans that another export shows with their own id.

    Re-attaches their children in place; returns the masks and the rows to drop.
    """
    n = len(frame)
    drop = np.zeros(n, dtype=bool)
    # Only spans sharing a (trace, span id) can be shared-id spans.
    shared_key = pd.Series(keys.key).duplicated(keep=False).to_numpy()
    if not shared_key.any():
        return masks, drop
    kind, svc = keys.kind, keys.service
    is_srv = (kind == KIND_CODES["server"]) | (kind == KIND_CODES["consumer"])
    is_cli = (kind == KIND_CODES["client"]) | (kind == KIND_CODES["producer"])
    rows = np.arange(n)
    cand = shared_key & is_srv
    servers = pd.DataFrame({"row": rows[cand], "key": keys.key[cand], "v": svc[cand]})
    cand = shared_key & is_cli
    clients = pd.DataFrame({"key": keys.key[cand], "cv": svc[cand]})
    shared = servers.merge(clients, on="key")
    shared = shared[shared["v"] != shared["cv"]].drop_duplicates("row")
    if shared.empty:
        return masks, drop
    own = pd.DataFrame(
        {
            "own": rows[is_srv],
            "key": keys.parent_key[is_srv],
            "v": svc[is_srv],
            "t": frame["start"].array.asi8[is_srv],
        }
    )
    match = shared.merge(own, on=["key", "v"])
    match = match[match["own"] != match["row"]]
    match = match.sort_values(["row", "t", "own"]).drop_duplicates("row").drop_duplicates("own")
    if match.empty:
        return masks, drop
    shared_rows = match["row"].to_numpy()
    own_rows = match["own"].to_numpy()
    errors = frame["error"].to_numpy(dtype=bool).copy()
    errors[own_rows] |= errors[shared_rows]
    frame["error"] = errors
    masks = masks.copy()
    masks[own_rows] |= masks[shared_rows]
    # Children of the shared id in the server's service belong to the server span.
    cand = ~is_srv & (keys.parent_key >= 0)
    children = pd.DataFrame({"child": rows[cand], "key": keys.parent_key[cand], "v": svc[cand]})
    moved = children.merge(match[["key", "v", "own"]], on=["key", "v"])
    if not moved.empty:
        span_ids = frame["span_id"].to_numpy()
        _set_rows(frame, "parent_id", moved["child"].to_numpy(), span_ids[moved["own"].to_numpy()])
    drop[shared_rows] = True
    return masks, drop


def build_span_table(
    parts: list[tuple[str, list[pa.RecordBatch]]],
    *,
    start: datetime | None = None,
    end: datetime | None = None,
) -> SpanTable:
    """Join the span batches of each file into the sorted, de-duplicated span table.

    Parameters
    ----------
    parts
        ``(source, batches)`` per file, in reading order.
    start, end
        Keep spans that started in ``[start, end)``.

    Returns
    -------
    SpanTable
        The table, the format bits of each span, and the counts.
    """
    pa.default_memory_pool().release_unused()
    frame = _frame(parts)
    masks = format_masks(frame["format"])
    if frame.empty:
        return SpanTable(frame, masks, span_keys(frame))
    out_of_window = 0
    if start is not None or end is not None:
        keep = _in_window(frame, start, end)
        out_of_window = int((~keep).sum())
        frame, masks = _take(frame, np.flatnonzero(keep)), masks[keep]
    # Sort first, by trace id, then start (spans without a start last), then reading
    # order: duplicates keep the first row in this order, and dropping rows keeps it.
    trace = trace_codes(frame["trace_id"])
    times = frame["start"].array.asi8
    times = np.where(times == np.iinfo(np.int64).min, np.iinfo(np.int64).max, times)
    order = np.lexsort((np.arange(len(frame)), times, trace))
    del times
    if (order != np.arange(len(order))).any():
        frame, masks, trace = _take(frame, order), masks[order], trace[order]
    del order
    keys = span_keys(frame, trace=trace)
    del trace
    dropped: list[pd.Series] = []
    for step in (_collapse_same, _reattach_shared):
        masks, drop = step(frame, masks, keys)
        if drop.any():
            dropped.append(frame.loc[drop, "service"].astype(str))
            frame, masks = _take(frame, np.flatnonzero(~drop)), masks[~drop]
            keys = span_keys(frame, trace=keys.trace[~drop])
    counts = pd.concat(dropped).value_counts() if dropped else pd.Series(dtype="int64")
    by_service = {str(k): int(v) for k, v in sorted(counts.items())}
    return SpanTable(
        frame, masks.astype(np.uint8), keys, sum(by_service.values()), by_service, out_of_window
    )
