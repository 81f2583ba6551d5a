"""Integer keys of a span table (trace, span and parent ids, services, kinds) for joins.

Ids are read straight from the Arrow buffers of the ``str`` columns: canonical
lower-case hex ids become 64-bit words with numpy (no Python object per id), so
keying millions of spans takes a fraction of a second and little memory; other
ids fall back to Arrow's dictionary encoding.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from rtt_topology.load.traces.records import FORMAT_BITS

__all__ = [
    "KIND_CODES",
    "BoolArray",
    "IntArray",
    "SpanKeys",
    "category_codes",
    "format_masks",
    "kind_codes",
    "span_keys",
    "trace_codes",
]

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: Span kinds as small integers, for vectorised rules.
KIND_CODES = {
    "unspecified": 0,
    "internal": 1,
    "server": 2,
    "client": 3,
    "producer": 4,
    "consumer": 5,
}


def format_masks(formats: pd.Series) -> npt.NDArray[np.uint8]:
    """Return the bit of each span's ``format`` (see ``FORMAT_BITS``)."""
    codes, names = category_codes(formats)
    lut = np.array([FORMAT_BITS.get(name, 0) for name in names] + [0], dtype=np.uint8)
    return np.asarray(lut[codes], dtype=np.uint8)


def category_codes(values: pd.Series) -> tuple[IntArray, list[str]]:
    """Integer codes (``-1`` for missing) and the names they stand for."""
    cat = values if isinstance(values.dtype, pd.CategoricalDtype) else values.astype("category")
    codes = np.asarray(cat.cat.codes.to_numpy(), dtype=np.int64)
    return codes, [str(c) for c in cat.cat.categories]


def kind_codes(kinds: pd.Series) -> IntArray:
    """Return the :data:`KIND_CODES` of a kind column (unknown kinds are unspecified)."""
    codes, names = category_codes(kinds)
    lut = np.array([KIND_CODES.get(name, 0) for name in names] + [0], dtype=np.int64)
    return np.asarray(lut[codes], dtype=np.int64)


def _arrow_strings(values: pd.Series) -> pa.ChunkedArray:
    """Return a text column as Arrow strings (zero-copy for the ``str`` dtype)."""
    if isinstance(values.dtype, pd.StringDtype):
        array = pa.array(values.array)
        if isinstance(array, pa.Array):
            array = pa.chunked_array([array])
        if pa.types.is_large_string(array.type) or pa.types.is_string(array.type):
            return array
    return pa.chunked_array(
        [pa.array(values.astype(object), from_pandas=True, type=pa.large_string())]
    )


@dataclass(frozen=True)
class SpanKeys:
    """Integer keys of a span table, for vectorised joins.

    Attributes
    ----------
    trace
        Trace codes, in trace id order.
    key, parent_key
        ``trace * width + id code`` of each span and of its parent (``-1`` when it
        has none, or when no span of the table has the parent's id).
    has_parent
        Whether a parent id is set.
    service, names
        Service codes (``-1`` when missing) and the names they stand for.
    kind
        :data:`KIND_CODES` of each span.
    """

    trace: IntArray
    key: IntArray
    parent_key: IntArray
    has_parent: BoolArray
    service: IntArray
    names: list[str]
    kind: IntArray

    def take(self, rows: npt.NDArray[np.intp]) -> SpanKeys:
        """Return the keys of ``rows`` (the codes stay valid)."""
        return SpanKeys(
            self.trace[rows],
            self.key[rows],
            self.parent_key[rows],
            self.has_parent[rows],
            self.service[rows],
            self.names,
            self.kind[rows],
        )


_HEX_LUT = np.full(256, 255, dtype=np.uint8)
_HEX_LUT[np.frombuffer(b"0123456789abcdef", dtype=np.uint8)] = np.arange(16, dtype=np.uint8)


def _hex_chunk(array: pa.Array, digits: int) -> npt.NDArray[np.uint64] | None:
    n = len(array)
    if array.null_count:
        return None
    if n == 0:
        return np.empty((0, digits // 16), dtype=np.uint64)
    offset_type = np.dtype(np.int64 if pa.types.is_large_string(array.type) else np.int32)
    buffers = array.buffers()
    offsets = np.frombuffer(
        buffers[1], dtype=offset_type, count=n + 1, offset=array.offset * offset_type.itemsize
    )
    if offsets[-1] - offsets[0] != n * digits or (np.diff(offsets) != digits).any():
        return None
    data = np.frombuffer(buffers[2], dtype=np.uint8, count=n * digits, offset=int(offsets[0]))
    nibbles = _HEX_LUT[data]
    if nibbles.max() > 15:
        return None
    nibbles = nibbles.reshape(n, digits)
    octets = (nibbles[:, 0::2] << 4) | nibbles[:, 1::2]
    return np.ascontiguousarray(octets).view(">u8").astype(np.uint64)


def _hex_words(values: pa.ChunkedArray, digits: int) -> npt.NDArray[np.uint64] | None:
    """Read fixed-width lower-case hex strings as ``(n, digits // 16)`` 64-bit words.

    Reads the Arrow buffers chunk by chunk (no Python string per value); ``None``
    when a value is null, of another width, or not lower-case hex.
    """
    if not pa.types.is_large_string(values.type) and not pa.types.is_string(values.type):
        return None
    words = np.empty((len(values), digits // 16), dtype=np.uint64)
    done = 0
    for chunk in values.chunks:
        part = _hex_chunk(chunk, digits)
        if part is None:
            return None
        words[done : done + len(part)] = part
        done += len(part)
    return words


def trace_codes(trace_ids: pd.Series) -> IntArray:
    """Return codes numbering the trace ids in sorted order (``0`` for the smallest)."""
    array = _arrow_strings(trace_ids)
    for digits in (32, 16):
        words = _hex_words(array, digits)
        if words is not None:
            # Same-width lower-case hex: numeric order is text order.
            order = np.lexsort(words.T[::-1])
            ordered = words[order]
            new = np.ones(len(order), dtype=bool)
            new[1:] = (ordered[1:] != ordered[:-1]).any(axis=1)
            codes = np.empty(len(order), dtype=np.int64)
            codes[order] = np.cumsum(new) - 1
            return codes
    return np.asarray(pd.factorize(trace_ids, sort=True)[0], dtype=np.int64)


def _id_codes(spans: pa.ChunkedArray, parents: pa.ChunkedArray) -> tuple[IntArray, IntArray]:
    """Code span ids densely; parents get the code of the same id, or ``-1``."""
    valid = parents.is_valid().to_numpy(zero_copy_only=False)
    words = _hex_words(spans, 16)
    parent_words = _hex_words(pc.drop_null(parents), 16) if valid.any() else None
    parent = np.full(len(parents), -1, dtype=np.int64)
    if words is not None and (parent_words is not None or not valid.any()):
        unique, inverse = np.unique(words[:, 0], return_inverse=True)
        if parent_words is not None:
            pos = np.searchsorted(unique, parent_words[:, 0])
            hit = pos < len(unique)
            hit[hit] = unique[pos[hit]] == parent_words[hit, 0]
            parent[valid] = np.where(hit, pos, -1)
        return inverse.astype(np.int64).ravel(), parent
    encoded = pc.dictionary_encode(spans.combine_chunks())
    code = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    found = pc.fill_null(pc.index_in(parents, value_set=encoded.dictionary), -1)
    return code, found.to_numpy(zero_copy_only=False).astype(np.int64)


def span_keys(spans: pd.DataFrame, *, trace: IntArray | None = None) -> SpanKeys:
    """Compute the :class:`SpanKeys` of a span table (``trace``: its trace codes, if known)."""
    if trace is None:
        trace = trace_codes(spans["trace_id"])
    parents = _arrow_strings(spans["parent_id"])
    has_parent = parents.is_valid().to_numpy(zero_copy_only=False)
    code, parent = _id_codes(_arrow_strings(spans["span_id"]), parents)
    del parents
    width = int(code.max(initial=0)) + 1
    key = trace * width + code
    parent_key = np.where(parent >= 0, trace * width + parent, -1)
    service, names = category_codes(spans["service"])
    return SpanKeys(trace, key, parent_key, has_parent, service, names, kind_codes(spans["kind"]))
