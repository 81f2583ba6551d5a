"""Gather validated blocks into the beacon table: encode, sort, collapse duplicates.

Blocks arrive from every parser as Arrow tables of valid rows. Text columns are
dictionary-encoded as they arrive, so a long history costs little memory; at the
end the blocks are joined, sorted by ``site``, ``ts``, ``session``, ``event``,
exact duplicates (same site, session, event and ts) are collapsed keeping the
first one read, and the pandas frame of the column contract is built with numpy
indexing (no per-row Python).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from rtt_topology.columns import BEACON_COLUMNS, empty_beacon_frame
from rtt_topology.schemas import COUNT_FIELDS

__all__ = ["Assembled", "BlockAccumulator"]

_TEXT = ("site", "session", "event", "url", "title")


@dataclass
class Assembled:
    """The beacon frame and what assembling it collapsed."""

    frame: pd.DataFrame
    duplicates: int
    duplicates_by_site: dict[str, int]


def _sorted_codes(column: pa.ChunkedArray) -> tuple[np.ndarray, pa.Array]:
    """Return per-row codes into the lexicographically sorted dictionary (-1 for null)."""
    dictionary = column.chunk(0).dictionary if column.num_chunks else pa.array([], pa.string())
    order = np.asarray(pc.sort_indices(dictionary))
    rank = np.empty(len(order), dtype=np.int32)
    rank[order] = np.arange(len(order), dtype=np.int32)
    parts = [
        np.asarray(c.indices.fill_null(-1)).astype(np.int32, copy=False) for c in column.chunks
    ]
    raw = np.concatenate(parts) if parts else np.empty(0, dtype=np.int32)
    codes = np.where(raw >= 0, rank[np.maximum(raw, 0)] if len(rank) else raw, -1)
    return codes.astype(np.int32, copy=False), dictionary.take(pa.array(order))


def _categorical(codes: np.ndarray, categories: pa.Array) -> pd.Categorical:
    """Build a categorical from codes, keeping only the categories in use."""
    if len(categories) == 0:
        return pd.Categorical.from_codes(codes, categories=pd.Index([], dtype="str"))
    used = np.bincount(codes[codes >= 0], minlength=len(categories)) > 0
    if not used.all():
        remap = np.cumsum(used, dtype=np.int32) - 1
        codes = np.where(codes >= 0, remap[np.maximum(codes, 0)], -1).astype(np.int32)
        categories = categories.filter(pa.array(used))
    index = pd.Index(categories.to_pandas(), dtype="str")
    return pd.Categorical.from_codes(codes, categories=index, validate=False)


def _sort_order(
    site: np.ndarray, ts: np.ndarray, session: np.ndarray, event: np.ndarray
) -> np.ndarray:
    """Order rows by site, ts, session, event; stable, so ties keep reading order."""
    # Histories are written in time order: a stable sort on ts is nearly linear,
    # and a stable sort on small site codes is a radix sort.
    order = np.argsort(ts, kind="stable")
    site_key = site.astype(np.uint16) if site.size and site.max() < 2**16 else site
    order = order[np.argsort(site_key[order], kind="stable")]
    same = (site[order][1:] == site[order][:-1]) & (ts[order][1:] == ts[order][:-1])
    if same.any():
        # Rows sharing site and ts (rare) are ordered by session and event.
        pairs = np.flatnonzero(same)
        members = np.unique(np.concatenate([pairs, pairs + 1]))
        run = np.concatenate([[0], np.cumsum(~same)])[members]
        rows = order[members]
        sub = np.lexsort((rows, event[rows], session[rows], run))
        order[members] = rows[sub]
    return order


@dataclass
class BlockAccumulator:
    """Collect valid blocks from every file; :meth:`finish` builds the frame."""

    blocks: list[pa.Table] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)

    def add_source(self, source: str) -> int:
        """Register a file; return its id for :meth:`add`."""
        self.sources.append(source)
        return len(self.sources) - 1

    def add(self, block: pa.Table, source_id: int) -> None:
        """Add a validated block (``ts`` parsed) read from source ``source_id``."""
        if block.num_rows == 0:
            return
        columns = {}
        for name in _TEXT:
            columns[name] = pc.dictionary_encode(block.column(name))
        columns["ts"] = block.column("ts")
        for name in COUNT_FIELDS:
            columns[name] = block.column(name)
        columns["extra"] = block.column("extra")
        columns["line"] = block.column("line")
        columns["source"] = pa.array(np.full(block.num_rows, source_id, dtype=np.int32))
        self.blocks.append(pa.table(columns))

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
        for name in _TEXT:
            codes[name], categories[name] = _sorted_codes(table.column(name))
        ts = np.concatenate([np.asarray(c.cast(pa.int64())) for c in table.column("ts").chunks])
        order = _sort_order(codes["site"], ts, codes["session"], codes["event"])

        site, ts_sorted = codes["site"][order], ts[order]
        dup = (
            (site[1:] == site[:-1])
            & (ts_sorted[1:] == ts_sorted[:-1])
            & (codes["session"][order][1:] == codes["session"][order][:-1])
            & (codes["event"][order][1:] == codes["event"][order][:-1])
        )
        by_site: dict[str, int] = {}
        if dup.any():
            dup_sites = site[1:][dup]
            names = categories["site"].to_pylist()
            for code, count in zip(*np.unique(dup_sites, return_counts=True), strict=True):
                by_site[str(names[code])] = int(count)
            order = order[np.concatenate([[True], ~dup])]

        data: dict[str, object] = {}
        for name in _TEXT:
            data[name] = _categorical(codes[name][order], categories[name])
        data["ts"] = pd.DatetimeIndex(ts[order].view("datetime64[ns]")).tz_localize("UTC")
        take = pa.array(order)
        for name in COUNT_FIELDS:
            column = table.column(name).combine_chunks().take(take)
            values = np.asarray(column.fill_null(0))
            mask = np.asarray(column.is_null())
            data[name] = pd.arrays.IntegerArray(values.astype(np.int64, copy=False), mask)
        data["extra"] = pd.array(
            table.column("extra").combine_chunks().take(take), dtype=pd.StringDtype("pyarrow")
        )
        source_codes = np.concatenate([np.asarray(c) for c in table.column("source").chunks])
        data["source"] = pd.Categorical.from_codes(
            source_codes[order],
            categories=pd.Index(self.sources, dtype="str").unique()
            if len(set(self.sources)) == len(self.sources)
            else pd.Index(self.sources, dtype="str"),
        )
        data["line"] = np.concatenate([np.asarray(c) for c in table.column("line").chunks])[order]
        frame = pd.DataFrame(data, columns=list(BEACON_COLUMNS), copy=False)
        return Assembled(frame, int(dup.sum()), by_site)
