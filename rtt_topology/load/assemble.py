"""Gather validated blocks into the beacon table: encode, sort, collapse duplicates.

Blocks arrive from every parser as Arrow tables of valid rows. Text columns are
dictionary-encoded as they arrive, so a long history costs little memory; at the
end the blocks are joined, sorted by ``site``, ``ts``, ``session``, ``event``,
exact duplicates (same site, session, event and ts) are collapsed keeping the
first one read, and the pandas frame of the column contract is built with numpy
indexing (no per-row Python).
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from rtt_topology._timestamps import TS_TYPE
from rtt_topology.columns import BEACON_COLUMNS, empty_beacon_frame
from rtt_topology.load.records import RAW_SCHEMA
from rtt_topology.schemas import COUNT_FIELDS

__all__ = ["Assembled", "BlockAccumulator"]

_TEXT = ("site", "session", "event", "url", "title")
_NAT = np.iinfo(np.int64).min


@dataclass
class Assembled:
    """The beacon frame and what assembling it collapsed."""

    frame: pd.DataFrame
    duplicates: int
    duplicates_by_site: dict[str, int]


def _values(column: pa.ChunkedArray, dtype: type[np.generic]) -> np.ndarray:
    """Concatenate a fixed-width column's values without conversion (nulls hold junk)."""
    size = np.dtype(dtype).itemsize
    parts = [
        np.frombuffer(chunk.buffers()[1], dtype=dtype, count=len(chunk), offset=chunk.offset * size)
        for chunk in column.chunks
    ]
    return np.concatenate(parts) if parts else np.empty(0, dtype=dtype)


def _nulls(column: pa.ChunkedArray) -> np.ndarray | None:
    """Return a mask of null rows, or ``None`` when there are none."""
    if column.null_count == 0:
        return None
    return np.concatenate([np.asarray(chunk.is_null()) for chunk in column.chunks])


def _instants(column: pa.ChunkedArray) -> np.ndarray:
    """Return a nullable timestamp column as int64 nanoseconds, NaT's value for null."""
    parts = []
    for chunk in column.chunks:
        if chunk.null_count == len(chunk):
            parts.append(np.full(len(chunk), _NAT, dtype=np.int64))
            continue
        values = np.frombuffer(
            chunk.buffers()[1], dtype=np.int64, count=len(chunk), offset=chunk.offset * 8
        )
        if chunk.null_count:
            values = np.where(np.asarray(chunk.is_null()), _NAT, values)
        parts.append(values)
    return np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)


def _sorted_codes(column: pa.ChunkedArray) -> tuple[np.ndarray, pa.Array]:
    """Return per-row codes into the lexicographically sorted dictionary (-1 for null)."""
    dictionary = column.chunk(0).dictionary if column.num_chunks else pa.array([], pa.string())
    order = np.asarray(pc.sort_indices(dictionary))
    rank = np.empty(len(order) + 1, dtype=np.int32)
    rank[order] = np.arange(len(order), dtype=np.int32)
    # Nulls point past the end of the dictionary, where rank holds -1.
    rank[-1] = -1
    indices = pa.chunked_array([c.indices for c in column.chunks], pa.int32())
    raw = _values(indices, np.int32)
    missing = _nulls(indices)
    if missing is not None:
        raw = np.where(missing, len(order), raw)
    return rank[raw], dictionary.take(pa.array(order))


def _categorical(codes: np.ndarray, categories: pa.Array, *, pruned: bool) -> pd.Categorical:
    """Build a categorical from codes; unless ``pruned``, drop the categories not in use."""
    if len(categories) == 0:
        return pd.Categorical.from_codes(codes, categories=pd.Index([], dtype="str"))
    used = (
        np.ones(len(categories), dtype=bool)
        if pruned
        else np.bincount(codes[codes >= 0], minlength=len(categories)) > 0
    )
    if not used.all():
        remap = np.cumsum(used, dtype=np.int32) - 1
        codes = np.where(codes >= 0, remap[np.maximum(codes, 0)], -1).astype(np.int32)
        categories = categories.filter(pa.array(used))
    index = pd.Index(categories.to_pandas(), dtype="str")
    return pd.Categorical.from_codes(codes, categories=index, validate=False)


def _take(values: np.ndarray, order: np.ndarray) -> np.ndarray:
    """``values[order]``, with Arrow's faster take."""
    return np.asarray(pa.array(values).take(pa.array(order)))


def _sort_order(
    site: np.ndarray, ts: np.ndarray, session: np.ndarray, event: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Order rows by site, ts, session, event; stable, so ties keep reading order.

    Returns the order, and ``site`` and ``ts`` in that order.
    """
    site_key = site.astype(np.uint16) if site.size and site.max() < 2**16 else site
    # A stable sort on small site codes is a radix sort. Histories are written in
    # time order, so each site's rows are usually in time order already.
    order = np.argsort(site_key, kind="stable")
    site_sorted, ts_sorted = _take(site, order), _take(ts, order)
    same_site = site_sorted[1:] == site_sorted[:-1]
    if np.any(same_site & (ts_sorted[1:] < ts_sorted[:-1])):
        order = np.argsort(ts, kind="stable")
        order = order[np.argsort(site_key[order], kind="stable")]
        site_sorted, ts_sorted = _take(site, order), _take(ts, order)
        same_site = site_sorted[1:] == site_sorted[:-1]
    same = same_site & (ts_sorted[1:] == ts_sorted[:-1])
    if same.any():
        # Rows sharing site and ts (rare) are ordered by session and event.
        pairs = np.flatnonzero(same)
        members = np.unique(np.concatenate([pairs, pairs + 1]))
        run = np.concatenate([[0], np.cumsum(~same)])[members]
        rows = order[members]
        sub = np.lexsort((rows, event[rows], session[rows], run))
        order[members] = rows[sub]
    return order, site_sorted, ts_sorted


def _prepared(values: np.ndarray) -> np.ndarray | np.generic:
    """Return the column, or its single value when it is constant (nothing to gather).

    Backends send zero counts and most files hold one source: constant columns
    are common and cost nothing to reorder.
    """
    if len(values) and values[0] == values.min() == values.max():
        return values[0]  # type: ignore[no-any-return]
    return values


def _gather(values: np.ndarray | np.generic, indices: pa.Array) -> np.ndarray:
    """``values[indices]``, with Arrow's take (faster than numpy's, and it releases the GIL)."""
    if isinstance(values, np.generic):
        return np.full(len(indices), values, dtype=values.dtype)
    return np.asarray(pa.array(values).take(indices))


@dataclass
class BlockAccumulator:
    """Collect valid blocks from every file; :meth:`finish` builds the frame."""

    blocks: list[pa.Table] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)

    def add_source(self, source: str) -> int:
        """Register a file; return its id for :meth:`add`."""
        self.sources.append(source)
        return len(self.sources) - 1

    @staticmethod
    def encode(block: pa.Table) -> pa.Table:
        """Dictionary-encode a validated block's plain text columns (pure: safe in threads)."""
        columns = {}
        for name in RAW_SCHEMA.names:
            column = block.column(name)
            encode = name in _TEXT and not pa.types.is_dictionary(column.type)
            columns[name] = pc.dictionary_encode(column) if encode else column
        return pa.table(columns)

    def append(self, encoded: pa.Table, source_id: int) -> None:
        """Add a block made by :meth:`encode`, read from source ``source_id``."""
        if encoded.num_rows == 0:
            return
        source = pa.array(np.full(encoded.num_rows, source_id, dtype=np.int32))
        self.blocks.append(encoded.append_column("source", source))

    def add(self, block: pa.Table, source_id: int) -> None:
        """Add a validated block (``ts`` parsed) read from source ``source_id``."""
        self.append(self.encode(block), source_id)

    def discard_from(self, start: int) -> None:
        """Drop the blocks added after position ``start`` (a file that failed half way)."""
        del self.blocks[start:]

    def finish(self) -> Assembled:
        """Join, sort and deduplicate everything added; build the beacon frame."""
        if not self.blocks:
            return Assembled(empty_beacon_frame(), 0, {})
        table = pa.concat_tables(self.blocks).unify_dictionaries()
        self.blocks = []
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="rtt-assemble") as pool:
            # Start everything that does not depend on the order, then sort meanwhile.
            text = {name: pool.submit(_sorted_codes, table.column(name)) for name in _TEXT}
            ts_future = pool.submit(_values, table.column("ts"), np.int64)
            later: dict[str, Future[np.ndarray | np.generic]] = {}
            for name in ("url", "title"):
                later[name] = pool.submit(lambda name=name: _prepared(text[name].result()[0]))  # type: ignore[misc]
            later["received_at"] = pool.submit(
                lambda: _prepared(_instants(table.column("received_at")))
            )
            later["line"] = pool.submit(lambda: _prepared(_values(table.column("line"), np.int64)))
            later["source"] = pool.submit(
                lambda: _prepared(_values(table.column("source"), np.int32))
            )
            for name in COUNT_FIELDS:
                column = table.column(name)
                later[name] = pool.submit(lambda c=column: _prepared(_values(c, np.int64)))  # type: ignore[misc]
                if column.null_count:
                    later[f"{name}.null"] = pool.submit(lambda c=column: _prepared(_nulls(c)))  # type: ignore[misc, arg-type]

            codes = {name: future.result()[0] for name, future in text.items()}
            categories = {name: future.result()[1] for name, future in text.items()}
            order, site, ts = _sort_order(
                codes["site"], ts_future.result(), codes["session"], codes["event"]
            )
            indices = pa.array(order)
            keys = {
                name: pool.submit(_gather, _prepared(codes[name]), indices)
                for name in ("session", "event")
            }
            gathered = {"site": site, "ts": ts} | {k: f.result() for k, f in keys.items()}

            # Duplicates are adjacent once sorted; drop them from the order first.
            dup = (
                (site[1:] == site[:-1])
                & (ts[1:] == ts[:-1])
                & (gathered["session"][1:] == gathered["session"][:-1])
                & (gathered["event"][1:] == gathered["event"][:-1])
            )
            by_site: dict[str, int] = {}
            if dup.any():
                names = categories["site"].to_pylist()
                for code, count in zip(*np.unique(site[1:][dup], return_counts=True), strict=True):
                    by_site[str(names[code])] = int(count)
                keep = np.concatenate([[True], ~dup])
                order = order[keep]
                indices = pa.array(order)
                gathered = {name: values[keep] for name, values in gathered.items()}
            rest = {
                name: pool.submit(lambda f=future: _gather(f.result(), indices))  # type: ignore[misc]
                for name, future in later.items()
            }
            gathered |= {name: future.result() for name, future in rest.items()}

        data: dict[str, object] = {}
        # Dictionaries hold only values of valid rows: only a duplicate can leave
        # a category unused.
        for name in _TEXT:
            data[name] = _categorical(gathered[name], categories[name], pruned=not by_site)
        ts_values = np.ascontiguousarray(gathered["ts"])
        data["ts"] = (
            pa.Array.from_buffers(TS_TYPE, len(ts_values), [None, pa.py_buffer(ts_values)])
            .to_pandas()
            .array
        )
        received = np.ascontiguousarray(gathered["received_at"], dtype=np.int64)
        data["received_at"] = pd.DatetimeIndex(received.view("M8[ns]")).tz_localize("UTC").array
        for name in COUNT_FIELDS:
            mask = gathered.get(f"{name}.null")
            if mask is None:
                mask = np.zeros(len(order), dtype=bool)
            data[name] = pd.arrays.IntegerArray(gathered[name], mask)
        extra = table.column("extra")
        if extra.null_count == len(extra):
            extra_rows = pa.nulls(len(order), pa.large_string())
        else:
            extra_rows = extra.combine_chunks().take(pa.array(order))
        data["extra"] = pd.arrays.ArrowStringArray(pa.chunked_array([extra_rows]))
        data["source"] = pd.Categorical.from_codes(
            gathered["source"], categories=pd.Index(self.sources, dtype="str"), validate=False
        )
        data["line"] = gathered["line"]
        frame = pd.DataFrame(data, columns=list(BEACON_COLUMNS), copy=False)
        return Assembled(frame, int(dup.sum()), by_site)
