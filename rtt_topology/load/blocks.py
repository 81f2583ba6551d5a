"""Cut a byte stream into blocks of whole lines, and find the lines of a block.

The JSON Lines reader works on blocks of many lines. This module reads them
(:func:`read_blocks`: a line longer than a block and than the line limit is skipped as
it is read, never held), finds their lines without a Python step per line
(:func:`index_lines`: blank lines, lines that open an object, other lines), and sets
aside the lines a bulk parser must not see (:func:`set_aside`: too long, or too many
brackets), blanking them in the block.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO

import numpy as np

from rtt_topology.load.report import RAW_LIMIT

__all__ = ["Block", "Lines", "index_lines", "read_blocks", "set_aside"]

#: Bytes read at a time while skipping a line longer than a block.
_SKIP_BYTES = 1 << 20
_WHITESPACE = b" \t\r\f\v"
_IS_WHITESPACE = np.zeros(256, dtype=bool)
_IS_WHITESPACE[np.frombuffer(_WHITESPACE, dtype=np.uint8)] = True
#: Leading whitespace bytes skipped for all lines at once before looking line by line.
_INDENT_STEPS = 8
_NEWLINE = 10
_SPACE = 32
_OPEN_BRACE = ord("{")
# "[" is 0x5B and "{" is 0x7B: one test finds both.
_CASE_BIT = 0x20


class Lines:
    """Lines of a block: byte spans and file line numbers, found only when needed.

    A clean block needs only its line count; positions are computed on the first
    call that needs them (a reject's raw text, a split after a failed parse).
    """

    def __init__(
        self,
        data: bytes | memoryview,
        numbers: np.ndarray,
        starts: np.ndarray | None = None,
        ends: np.ndarray | None = None,
    ) -> None:
        self.data = data
        self.numbers = numbers  # 1-based line number of each line in the file
        self._starts = starts  # byte offset of each line
        self._ends = ends  # byte offset after each line (newline excluded)

    def __len__(self) -> int:
        return len(self.numbers)

    def positions(self) -> tuple[np.ndarray, np.ndarray]:
        """Return the start and end offsets of each line (newline excluded)."""
        if self._starts is None or self._ends is None:
            self._starts, self._ends = _line_spans(np.frombuffer(self.data, dtype=np.uint8))
        return self._starts, self._ends

    def text(self, i: int) -> bytes:
        """Return the bytes of line ``i``."""
        starts, ends = self.positions()
        return bytes(self.data[int(starts[i]) : int(ends[i])])

    def subset(self, keep: np.ndarray) -> Lines:
        """Return the lines picked by ``keep`` (positions or a mask)."""
        starts, ends = self.positions()
        return Lines(self.data, self.numbers[keep], starts[keep], ends[keep])

    def span(self) -> memoryview:
        """Return the bytes from the first line's start to the last line's end."""
        view = memoryview(self.data)
        if self._starts is None or self._ends is None:
            return view
        return view[int(self._starts[0]) : int(self._ends[-1])]


def _line_spans(buffer: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return _line_spans_from(np.flatnonzero(buffer == _NEWLINE), len(buffer))


def _line_spans_from(newlines: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    starts = np.concatenate([[0], newlines + 1])
    ends = np.concatenate([newlines, [size]])
    if starts[-1] == size:
        # The block ends with a newline: there is no line after it.
        starts, ends = starts[:-1], ends[:-1]
    return starts, ends


def index_lines(data: bytes | memoryview, first_line: int) -> tuple[Lines, Lines, int, int]:
    r"""Find the lines of a block.

    Returns the lines that start with ``{`` (for Arrow), the other non-blank
    lines (never valid beacons: parsed one by one to say why), the number of
    blank lines, and the number of lines in the block.

    Examples
    --------
    >>> objects, others, blank, count = index_lines(b'{"a": 1}\n\n  null\n {"b": 2}\n', 1)
    >>> objects.numbers.tolist(), others.numbers.tolist(), blank, count
    ([1, 4], [3], 1, 4)
    """
    buffer = np.frombuffer(data, dtype=np.uint8)
    newline = buffer == _NEWLINE
    count = int(np.count_nonzero(newline)) + (1 if len(buffer) and buffer[-1] != _NEWLINE else 0)
    # The usual block: every line starts with "{" (beacon lines do). Then only the
    # line count is needed.
    if len(buffer) and buffer[0] == _OPEN_BRACE:
        after = newline[:-1]
        if not np.count_nonzero(after & (buffer[1:] != _OPEN_BRACE)):
            numbers = np.arange(first_line, first_line + count, dtype=np.int64)
            return Lines(data, numbers), Lines(data, numbers[:0]), 0, count
    starts, ends = _line_spans(buffer)
    # Only lines with bytes need a look. Where each one's text starts: leading
    # whitespace is skipped a byte at a time for all of them at once; a line still
    # in its indent after that is looked at alone.
    filled = np.flatnonzero(ends > starts)
    pos, stop = starts[filled], ends[filled]
    for _ in range(_INDENT_STEPS):
        moving = (pos < stop) & _IS_WHITESPACE[buffer[np.minimum(pos, stop - 1)]]
        if not moving.any():
            break
        pos = pos + moving
    inside = pos < stop
    first = buffer[np.minimum(pos, stop - 1)]
    objects = inside & (first == _OPEN_BRACE)
    indented = inside & _IS_WHITESPACE[first]
    # Arrow reads a bare `null` line as a row of nulls (and crashes on one that
    # opens a block): lines that do not open an object never reach it.
    others = inside & ~objects & ~indented
    for i in np.flatnonzero(indented).tolist():
        text = bytes(data[int(pos[i]) : int(stop[i])]).lstrip(_WHITESPACE)
        if text.startswith(b"{"):
            objects[i] = True
        elif text:
            others[i] = True
    blank = count - int(np.count_nonzero(objects)) - int(np.count_nonzero(others))

    def pick(mask: np.ndarray) -> Lines:
        where = filled[mask]
        return Lines(data, where + first_line, starts[where], ends[where])

    return pick(objects), pick(others), blank, count


def _may_hold_long_lines(buffer: np.ndarray, max_line: int) -> bool:
    """Tell, without finding every line, whether a line may be longer than ``max_line``.

    When every aligned stretch of ``step = max_line // 2`` bytes holds a newline, no
    line is longer than ``2 * step - 2`` bytes (one inside the stretches, or one that
    runs from the last stretch into the shorter rest), which is within ``max_line``.
    """
    if len(buffer) <= max_line:
        return False
    step = max(max_line // 2, 1)
    whole = len(buffer) // step * step
    stretches = (buffer[:whole] == _NEWLINE).reshape(-1, step).any(axis=1)
    return not stretches.all()


def set_aside(
    data: memoryview, *, max_line: int, max_brackets: int
) -> tuple[list[tuple[int, int, bytes]], list[tuple[int, bytes]]]:
    r"""Blank the lines Arrow must not see; return them.

    A line is set aside when it is longer than ``max_line`` bytes, or holds more than
    ``max_brackets`` opening brackets (``{`` or ``[``, inside strings too). Returns the
    long lines as ``(line, length, first bytes)`` and the others as ``(line, text)``,
    with 1-based line numbers in the block. Their bytes are overwritten with spaces,
    so the block reads them as blank.

    Examples
    --------
    >>> block = bytearray(b'{"a": 1}\n{"b": "' + b"x" * 20 + b'"}\n')
    >>> too_long, heavy = set_aside(memoryview(block), max_line=16, max_brackets=100)
    >>> [(line, length) for line, length, _ in too_long], heavy
    ([(2, 29)], [])
    >>> bytes(block[9:]).strip()
    b''
    """
    buffer = np.frombuffer(data, dtype=np.uint8)
    # A line with more than N brackets is longer than N bytes: when no line is that
    # long (beacon lines are some 200 bytes), there is nothing to count.
    if not _may_hold_long_lines(buffer, min(max_line, max_brackets)):
        return [], []
    opens = np.flatnonzero((buffer | _CASE_BIT) == _OPEN_BRACE)
    newlines = np.flatnonzero(buffer == _NEWLINE)
    starts, ends = _line_spans_from(newlines, len(buffer))
    long = set(np.flatnonzero(ends - starts > max_line).tolist())
    crowded: set[int] = set()
    if len(opens) > max_brackets:
        # The line of each bracket; a line holds more than N brackets when the
        # bracket N places further on is still in it.
        line_of = np.searchsorted(newlines, opens)
        same = line_of[max_brackets:] == line_of[:-max_brackets]
        crowded = set(np.unique(line_of[max_brackets:][same]).tolist()) - long
    if not long and not crowded:
        return [], []
    too_long = []
    heavy = []
    for i in sorted(long | crowded):
        start, end = int(starts[i]), int(ends[i])
        if i in long:
            too_long.append((i + 1, end - start, bytes(data[start : start + 4 * RAW_LIMIT])))
        else:
            heavy.append((i + 1, bytes(data[start:end])))
        buffer[start:end] = _SPACE
    return too_long, heavy


#: A block of whole lines ``(buffer, length, b"")``, or a line skipped as too long
#: ``(None, length, first bytes)``.
Block = tuple[bytearray | None, int, bytes]


def _skip_line(stream: IO[bytes], scratch: bytearray) -> tuple[int, bytes]:
    """Read on to the end of the current line; return its remaining length and what follows.

    Only ``scratch`` is used: a line of any length costs one small buffer.
    """
    skipped = 0
    with memoryview(scratch) as view:
        while got := stream.readinto(view):  # type: ignore[attr-defined]
            end = scratch.find(b"\n", 0, got)
            if end >= 0:
                return skipped + end, bytes(scratch[end + 1 : got])
            skipped += got
    return skipped, b""


def read_blocks(
    stream: IO[bytes], spare: list[bytearray], *, block_bytes: int, max_line: int
) -> Iterator[Block]:
    r"""Yield blocks of whole lines (the last may lack its newline), and long lines skipped.

    Blocks hold ``block_bytes`` or more. Buffers are taken from ``spare`` when one
    is free: allocating and zeroing a fresh block each time costs as much as reading
    it. A line that outgrows a block and ``max_line`` is skipped as it is read and
    yielded as its length and first bytes.

    Examples
    --------
    >>> import io
    >>> stream = io.BytesIO(b'{"a": 1}\n' + b"x" * 50 + b'\n{"b": 2}')
    >>> blocks = read_blocks(stream, [], block_bytes=16, max_line=20)
    >>> [(None if b is None else bytes(b[:n]), n, head[:3]) for b, n, head in blocks]
    [(b'{"a": 1}\n', 9, b''), (None, 50, b'xxx'), (b'{"b": 2}', 8, b'')]
    """
    tail = b""
    first = True
    scratch: bytearray | None = None
    while True:
        size = max(block_bytes, 2 * len(tail))
        buffer = spare.pop() if spare and len(spare[-1]) >= size else bytearray(size)
        size = len(buffer)
        buffer[: len(tail)] = tail
        with memoryview(buffer) as view:
            got = stream.readinto(view[len(tail) : size])  # type: ignore[attr-defined]
        have = len(tail) + got
        long_tail = b""
        if got:
            cut = buffer.rfind(b"\n", 0, have) + 1
            if cut == 0 and have <= max_line:
                # One line longer than a block, within bounds: read on with a bigger buffer.
                tail = bytes(buffer[:have])
                continue
            tail = bytes(buffer[cut:have]) if have - cut <= max_line else b""
            if have - cut > max_line:
                # The last line is already too long: keep its start only.
                long_tail = bytes(buffer[cut : cut + 4 * RAW_LIMIT])
        else:
            cut = have
            tail = b""
        if first and cut:
            first = False
            if buffer.startswith(b"\xef\xbb\xbf"):
                buffer[:3] = b"   "
        if cut:
            yield buffer, cut, b""
        else:
            spare.append(buffer)
        if long_tail:
            first = False
            if scratch is None:
                scratch = bytearray(_SKIP_BYTES)
            rest, tail = _skip_line(stream, scratch)
            yield None, have - cut + rest, long_tail
            continue
        if not got:
            return
