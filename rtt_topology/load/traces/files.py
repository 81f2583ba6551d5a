"""Read one trace file: a whole JSON document, or JSON Lines streamed in blocks.

A file whose first line is a whole JSON value followed by more lines is JSON Lines,
and is streamed (gzip too) in blocks of 2 MB of lines: OTLP blocks go to Arrow's JSON
reader in two threads (:mod:`rtt_topology.load.traces.arrow`), other blocks, and OTLP
blocks the fast path declines, are parsed line by line. Any other file is one JSON
document, read and parsed whole.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import IO, Any

import pyarrow as pa

from rtt_topology.errors import FormatError, LoadError
from rtt_topology.load.documents import MAX_DEPTH
from rtt_topology.load.sources import (
    SourceFile,
    check_text,
    gzip_errors,
    open_binary,
    read_text,
    sniff,
)
from rtt_topology.load.traces.arrow import otlp_block
from rtt_topology.load.traces.formats import parse_document, resolve, wrapper_keys
from rtt_topology.load.traces.nesting import json_nesting
from rtt_topology.load.traces.records import SpanSink

__all__ = ["EXPECTED", "read_file"]

EXPECTED = (
    'not a trace export: expected Jaeger JSON ({"data": [traces]}), Zipkin JSON '
    '(an array of spans), OTLP JSON ({"resourceSpans": ...}, or JSON Lines of them; '
    'Tempo\'s {"batches": ...}) or dependency links ([{"parent", "child", "callCount"}])'
)
#: Bytes of JSON Lines parsed at once (one Arrow block on the fast path).
_BLOCK_BYTES = 1 << 21
_WORKERS = 2


def _parse_line(raw: bytes, lineno: int, forced: str | None, sink: SpanSink) -> str | None:
    """Parse one JSON Lines line into ``sink``; return the format it held."""
    sink.line = lineno
    try:
        doc = json.loads(raw)
    except UnicodeDecodeError as exc:
        sink.reject(None, f"invalid UTF-8 (byte {exc.start})", raw.decode("utf-8", "replace"))
        return None
    except (json.JSONDecodeError, RecursionError) as exc:
        reason = "nesting too deep" if isinstance(exc, RecursionError) else exc.msg
        sink.reject(None, f"invalid JSON: {reason}", raw.decode("utf-8", "replace").strip())
        return None
    found = resolve(doc, forced)
    if found is None:
        what = f"not {forced}" if forced else "not a trace export record"
        hint = wrapper_keys(doc)
        sink.reject(None, f"{what} ({hint})" if hint else what, doc)
        return None
    parse_document(found[0], found[1], sink)
    return found[0]


def _arrow_data(block: list[tuple[int, bytes]], forced: str | None) -> bytes | None:
    """Return the block as one text for the Arrow fast path (``None``: it is not OTLP)."""
    if forced not in (None, "otlp") or b"resourceSpans" not in block[0][1][:200]:
        return None
    if not all(raw.lstrip()[:1] == b"{" for _, raw in block):
        return None
    return b"".join(raw if raw.endswith(b"\n") else raw + b"\n" for _, raw in block)


def _read_lines(
    stream: IO[bytes],
    started: list[tuple[int, bytes]],
    forced: str | None,
    sink: SpanSink,
    advance: Callable[[int], None],
) -> tuple[set[str], int]:
    """Parse the lines already read (``(lineno, text)``), then stream the rest in blocks.

    OTLP blocks are parsed by Arrow in two worker threads (Arrow releases the
    GIL); results are taken in file order, and a block Arrow cannot take is
    parsed line by line in this thread.
    """
    found: set[str] = set()
    blank = 0
    pending: deque[tuple[list[tuple[int, bytes]], Future[pa.RecordBatch | None] | None, int]]
    pending = deque()

    def finish_one() -> None:
        block, future, size = pending.popleft()
        batch = None if future is None else future.result()
        if batch is not None:
            sink.add_batch(batch)
            found.add("otlp")
        else:
            for lineno, raw in block:
                fmt = _parse_line(raw, lineno, forced, sink)
                if fmt:
                    found.add(fmt)
        advance(size)

    with ThreadPoolExecutor(max_workers=_WORKERS) as pool:

        def submit(block: list[tuple[int, bytes]], size: int) -> None:
            data = _arrow_data(block, forced)
            future = None if data is None else pool.submit(otlp_block, data, len(block))
            pending.append((block, future, size))
            while len(pending) > _WORKERS:
                finish_one()

        block = list(started)
        size = sum(len(raw) for _, raw in block)
        lineno = block[-1][0] if block else 0
        for raw in stream:
            lineno += 1
            size += len(raw)
            if not raw.strip():
                blank += 1
                continue
            block.append((lineno, raw))
            if size >= _BLOCK_BYTES:
                submit(block, size)
                block, size = [], 0
        if block:
            submit(block, size)
        else:
            advance(size)
        while pending:
            finish_one()
    return found, blank


def _next_value(stream: IO[bytes], lineno: int) -> tuple[int, bytes, int]:
    """Read up to the next non-blank line: ``(its number, its text, blank lines)``."""
    blank = 0
    for raw in stream:
        lineno += 1
        if raw.strip():
            return lineno, raw, blank
        blank += 1
    return lineno, b"", blank


def _parse_whole(file: SourceFile, doc: Any, raw: bytes, forced: str | None, sink: SpanSink) -> str:
    """Parse one JSON document (``None``: read and parse the file first; ``raw``: its text).

    Its nesting is measured on the text first: deeper than
    :data:`~rtt_topology.load.documents.MAX_DEPTH` levels is refused.
    """
    text = read_text(file) if doc is None else ""
    if json_nesting(raw if doc is not None else text.encode()) > MAX_DEPTH:
        raise FormatError(file.path, f"nesting deeper than {MAX_DEPTH} levels")
    if doc is None:
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise FormatError(
                file.path, f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
            ) from exc
        except RecursionError as exc:
            raise FormatError(file.path, "not valid JSON: nesting too deep") from exc
    result = resolve(doc, forced)
    if result is None:
        found = wrapper_keys(doc)
        reason = (f"not {forced}: " if forced else "") + EXPECTED
        raise FormatError(file.path, f"{reason}; {found}" if found else reason)
    parse_document(result[0], result[1], sink)
    return result[0]


def read_file(
    file: SourceFile, forced: str | None, sink: SpanSink, advance: Callable[[int], None]
) -> tuple[str, int]:
    """Read one file into ``sink``; return its format label and its blank lines.

    A first line holding a whole JSON value followed by more lines makes the
    file JSON Lines, streamed; anything else is one document, parsed whole.
    """
    head = sniff(file)
    check_text(file, head)
    if head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] not in (b"{", b"["):
        raise FormatError(file.path, EXPECTED)
    doc: Any = None
    found: set[str] = set()
    blank = 0
    try:
        with open_binary(file) as stream:
            first_no, first, skipped = _next_value(stream, 0)
            try:
                doc = json.loads(first)
            except (ValueError, RecursionError):
                doc = None  # the first line is not a whole value: one JSON document
            else:
                second_no, second, more = _next_value(stream, first_no)
                if second:
                    started = [(first_no, first), (second_no, second)]
                    doc = None
                    found, rest = _read_lines(stream, started, forced, sink, advance)
                    blank = skipped + more + rest
                    if not found:
                        raise FormatError(
                            file.path, "no line is a trace export record: " + EXPECTED
                        )
    except gzip_errors() as exc:
        raise LoadError(file.path, f"damaged or truncated gzip data ({exc})") from exc
    if not found:
        found = {_parse_whole(file, doc, first, forced, sink)}
    sink.flush()
    label = ",".join(sorted(found))
    return (f"{label}+gzip" if file.gzip else label), blank
