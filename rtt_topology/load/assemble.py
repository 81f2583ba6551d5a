"""Gather validated blocks into the beacon table: encode, sort, collapse duplicates.

Blocks arrive from every parser as Arrow tables of valid rows. Text columns are
dictionary-encoded as they arrive, so a long history costs little memory; at the
end the blocks are joined, sorted by ``site``, ``ts``, ``session``, ``event``,
exact duplicates (same site, session, event and ts) are collapsed keeping the
first one read, and the pandas frame of the column contract is built with numpy
indexing (no per-row Python).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

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
_T = TypeVar("_T")
_R = TypeVar("_R")


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


def _gather_all(
    jobs: dict[str, Callable[[], np.ndarray]], order: np.ndarray
) -> dict[str, np.ndarray]:
    """Apply the row order to many columns, in two threads.

    Arrow's take is faster than numpy fancy indexing and allocates from Arrow's
    pool, which reuses the memory the parsed text gave back; both release the GIL.
    """
    indices = pa.array(order)

    def gather(item: tuple[str, Callable[[], np.ndarray]]) -> tuple[str, np.ndarray]:
        name, values = item
        array = values()
        # Constant columns (backends send zero counts) need no gathering.
        if len(array) and array[0] == array.min() == array.max():
            return name, np.full(len(order), array[0], dtype=array.dtype)
        return name, np.asarray(pa.array(array).take(indices))

    return dict(_in_threads(gather, list(jobs.items())))


def _in_threads(function: Callable[[_T], _R], items: list[_T]) -> list[_R]:
    """Map over items in two threads: numpy and Arrow release the GIL on big arrays."""
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="rtt-assemble") as pool:
        return list(pool.map(function, items))


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
        """Dictionary-encode a validated block's text columns (pure: safe in threads)."""
        columns = {}
        for name in RAW_SCHEMA.names:
            column = block.column(name)
            columns[name] = pc.dictionary_encode(column) if name in _TEXT else column
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
        codes: dict[str, np.ndarray] = {}
        categories: dict[str, pa.Array] = {}
        for name, (values, dictionary) in zip(
            _TEXT, _in_threads(_sorted_codes, [table.column(name) for name in _TEXT]), strict=True
        ):
            codes[name], categories[name] = values, dictionary
        ts = _values(table.column("ts"), np.int64)
        order, site, ts_sorted = _sort_order(codes["site"], ts, codes["session"], codes["event"])

        # Duplicates are adjacent once sorted; drop them from the order first.
        keys = {"site": site, "ts": ts_sorted} | _gather_all(
            {"session": lambda: codes["session"], "event": lambda: codes["event"]}, order
        )
        dup = (
            (site[1:] == site[:-1])
            & (keys["ts"][1:] == keys["ts"][:-1])
            & (keys["session"][1:] == keys["session"][:-1])
            & (keys["event"][1:] == keys["event"][:-1])
        )
        by_site: dict[str, int] = {}
        if dup.any():
            names = categories["site"].to_pylist()
            for code, count in zip(*np.unique(site[1:][dup], return_counts=True), strict=True):
                by_site[str(names[code])] = int(count)
            keep = np.concatenate([[True], ~dup])
            order = order[keep]
            keys = {name: values[keep] for name, values in keys.items()}

        def column(name: str, dtype: type[np.generic]) -> Callable[[], np.ndarray]:
            return lambda: _values(table.column(name), dtype)

        def nulls(name: str) -> Callable[[], np.ndarray]:
            return lambda: _nulls(table.column(name))  # type: ignore[return-value]

        jobs: dict[str, Callable[[], np.ndarray]] = {
            "url": lambda: codes["url"],
            "title": lambda: codes["title"],
            "line": column("line", np.int64),
            "source": column("source", np.int32),
        }
        for name in COUNT_FIELDS:
            jobs[name] = column(name, np.int64)
            if table.column(name).null_count:
                jobs[f"{name}.null"] = nulls(name)
        gathered = keys | _gather_all(jobs, order)

        data: dict[str, object] = {}
        # Dictionaries hold only values of valid rows: only a duplicate can leave
        # a category unused.
        for name in _TEXT:
            data[name] = _categorical(gathered[name], categories[name], pruned=not by_site)
        data["ts"] = pa.array(gathered["ts"], TS_TYPE).to_pandas().array
        for name in COUNT_FIELDS:
            mask = gathered.get(f"{name}.null")
            if mask is None:
                mask = np.zeros(len(order), dtype=bool)
            data[name] = pd.arrays.IntegerArray(gathered[name], mask)
        extra = table.column("extra")
        if extra.null_count == len(extra):
            extra_rows = pa.nulls(len(order), pa.string())
        else:
            extra_rows = extra.combine_chunks().take(pa.array(order))
        data["extra"] = pd.arrays.ArrowStringArray(pa.chunked_array([extra_rows]))
        data["source"] = pd.Categorical.from_codes(
            gathered["source"], categories=pd.Index(self.sources, dtype="str"), validate=False
        )
        data["line"] = gathered["line"]
        frame = pd.DataFrame(data, columns=list(BEACON_COLUMNS), copy=False)
        return Assembled(frame, int(dup.sum()), by_site)
