"""Segment files of the beacon store: their names, compression, and repair after a crash.

A segment holds JSON Lines, one accepted beacon a line::

    beacons/YYYY-MM-DD/beacons-YYYY-MM-DDTHH-NNNN.jsonl      open (or left by a crash)
    beacons/YYYY-MM-DD/beacons-YYYY-MM-DDTHH-NNNN.jsonl.gz   closed and compressed

``HH`` is the UTC hour the segment was opened in; ``NNNN`` counts the segments of
that hour (size rotations, restarts, failed writes), from ``0000``, never reused.

Compression (:func:`compress_segment`) writes ``NAME.jsonl.gz.tmp``, fsyncs it,
renames it to ``NAME.jsonl.gz``, fsyncs the directory, then removes ``NAME.jsonl``
and fsyncs the directory again: at every moment one complete copy exists.

Repair (:func:`repair`), in this order, for every day directory:

1. ``*.gz.tmp`` files are removed (a compression that did not finish);
2. a ``.jsonl`` beside its ``.jsonl.gz`` is removed when the ``.gz`` inflates to
   exactly the ``.jsonl``'s bytes; otherwise the ``.jsonl`` is the truth and the
   ``.gz`` is removed (it is made again);
3. an empty ``.jsonl`` is removed (a segment created by a write that failed);
4. a ``.jsonl`` whose last byte is not a newline has its torn tail (the bytes after
   the last newline) moved to ``beacons/NAME.jsonl.torn``: they were never
   acknowledged, since a batch is acknowledged only after its whole bytes are synced;
5. every remaining ``.jsonl`` is a closed segment (the store never appends to a
   segment of an earlier run) and is listed for compression.
"""

from __future__ import annotations

import gzip
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from rtt_topology.remote.server.fileops import FileOps

__all__ = [
    "COMPRESS_LEVEL",
    "RepairReport",
    "compress_segment",
    "cut_torn_tail",
    "gz_matches",
    "next_segment_path",
    "parse_segment_name",
    "repair",
    "segment_name",
]

_NAME = re.compile(r"^beacons-(\d{4}-\d{2}-\d{2})T(\d{2})-(\d{4,})\.jsonl(\.gz)?$")
_CHUNK = 1 << 20
#: gzip level of closed segments: beacon lines still shrink about 20 times, at a
#: fraction of level 9's time.
COMPRESS_LEVEL = 6


@dataclass(frozen=True, slots=True)
class RepairReport:
    """What :meth:`BeaconStore.open` found and repaired in the store's directory.

    Attributes
    ----------
    removed_tmp
        Leftover ``.gz.tmp`` files removed.
    removed_duplicates
        ``.jsonl`` files removed because their ``.jsonl.gz`` holds the same bytes,
        or ``.jsonl.gz`` files removed because they did not.
    removed_empty
        Empty ``.jsonl`` segments removed.
    torn
        ``(segment, bytes cut)`` for each segment whose torn last line was cut off
        (the bytes are kept in ``beacons/<segment name>.torn``).
    to_compress
        ``.jsonl`` segments left by an earlier run, queued for compression (when
        the store compresses).
    segments
        Segment files in the store after the repair.
    """

    removed_tmp: tuple[Path, ...] = ()
    removed_duplicates: tuple[Path, ...] = ()
    removed_empty: tuple[Path, ...] = ()
    torn: tuple[tuple[Path, int], ...] = ()
    to_compress: tuple[Path, ...] = ()
    segments: int = 0

    @property
    def clean(self) -> bool:
        """Whether nothing needed repair (segments to compress are not damage)."""
        return not (self.removed_tmp or self.removed_duplicates or self.removed_empty or self.torn)


def segment_name(hour: datetime, seq: int) -> str:
    """Return the file name of segment ``seq`` of the UTC hour of ``hour``.

    Examples
    --------
    >>> from datetime import UTC
    >>> segment_name(datetime(2026, 1, 19, 15, 42, tzinfo=UTC), 3)
    'beacons-2026-01-19T15-0003.jsonl'
    """
    return f"beacons-{hour:%Y-%m-%dT%H}-{seq:04d}.jsonl"


def parse_segment_name(name: str) -> tuple[str, int, int, bool] | None:
    """Return ``(day, hour, seq, compressed)`` of a segment file name, else ``None``.

    Examples
    --------
    >>> parse_segment_name("beacons-2026-01-19T15-0003.jsonl.gz")
    ('2026-01-19', 15, 3, True)
    >>> parse_segment_name("beacons-2026-01-19T15-0003.jsonl.gz.tmp") is None
    True
    """
    match = _NAME.match(name)
    if match is None:
        return None
    day, hour, seq, gz = match.groups()
    return day, int(hour), int(seq), gz is not None


def next_segment_path(beacons_dir: Path, hour: datetime) -> Path:
    """Return the path of a new segment for the UTC hour of ``hour``.

    Its number is one more than the highest number of that hour in the day
    directory, counting every file whose name starts like a segment of the hour
    (open, compressed or temporary), so a name is never used twice.

    Examples
    --------
    >>> import tempfile
    >>> from datetime import UTC
    >>> root = Path(tempfile.mkdtemp())
    >>> at = datetime(2026, 1, 19, 15, tzinfo=UTC)
    >>> next_segment_path(root, at).name
    'beacons-2026-01-19T15-0000.jsonl'
    >>> (root / "2026-01-19").mkdir()
    >>> _ = (root / "2026-01-19" / "beacons-2026-01-19T15-0004.jsonl.gz").write_bytes(b"")
    >>> next_segment_path(root, at).name
    'beacons-2026-01-19T15-0005.jsonl'
    """
    day_dir = beacons_dir / f"{hour:%Y-%m-%d}"
    prefix = f"beacons-{hour:%Y-%m-%dT%H}-"
    highest = -1
    if day_dir.is_dir():
        for entry in day_dir.iterdir():
            name = entry.name
            if name.startswith(prefix):
                digits = name[len(prefix) :].split(".", 1)[0]
                if digits.isdigit():
                    highest = max(highest, int(digits))
    return day_dir / segment_name(hour, highest + 1)


def gz_matches(gz_path: Path, raw_path: Path) -> bool:
    """Whether ``gz_path`` is complete gzip data inflating to exactly ``raw_path``'s bytes."""
    try:
        with gzip.open(gz_path, "rb") as packed, raw_path.open("rb") as raw:
            while True:
                chunk = packed.read(_CHUNK)
                if chunk != raw.read(len(chunk) or 1):
                    return False
                if not chunk:
                    return True
    except (OSError, EOFError, zlib.error):
        return False


def cut_torn_tail(segment: Path, torn_dir: Path, ops: FileOps) -> int:
    """Move the bytes after the last newline of ``segment`` to ``torn_dir/<name>.torn``.

    The cut bytes are written and synced before the segment is truncated, so they
    are never lost. Returns how many bytes were cut (0 when the file ends in a newline
    or is empty).
    """
    size = segment.stat().st_size
    if size == 0:
        return 0
    with segment.open("rb") as handle:
        end = size
        while end > 0:
            start = max(0, end - _CHUNK)
            handle.seek(start)
            block = handle.read(end - start)
            if end == size and block.endswith(b"\n"):
                return 0
            newline = block.rfind(b"\n")
            if newline >= 0:
                keep = start + newline + 1
                break
            end = start
        else:
            keep = 0
        handle.seek(keep)
        tail = handle.read()
    torn = torn_dir / f"{segment.name}.torn"
    with torn.open("ab") as out:
        out.write(tail)
        out.flush()
        ops.fsync(out.fileno())
    ops.fsync_dir(torn_dir)
    fd = ops.open_append(segment)
    try:
        ops.truncate(fd, keep)
        ops.fsync(fd)
    finally:
        ops.close(fd)
    return size - keep


def compress_segment(segment: Path, ops: FileOps, *, level: int = COMPRESS_LEVEL) -> Path | None:
    """Replace a closed ``.jsonl`` segment by its ``.jsonl.gz``, crash-safely.

    A torn tail is first cut off (see :func:`cut_torn_tail`); an empty segment is
    removed instead of compressed. Returns the ``.gz`` path, or ``None`` when the
    segment was empty. Raises ``OSError`` when a step fails: the ``.jsonl`` is then
    still complete, and a leftover ``.gz.tmp`` is removed at the next repair.
    """
    folder = segment.parent
    cut_torn_tail(segment, folder.parent, ops)
    if segment.stat().st_size == 0:
        ops.unlink(segment)
        ops.fsync_dir(folder)
        return None
    target = segment.with_name(segment.name + ".gz")
    tmp = segment.with_name(segment.name + ".gz.tmp")
    with segment.open("rb") as source, ops.open_new(tmp) as raw:
        with gzip.GzipFile(
            filename=segment.name, mode="wb", fileobj=raw, compresslevel=level
        ) as gz:
            while chunk := source.read(_CHUNK):
                gz.write(chunk)
        raw.flush()
        ops.fsync(raw.fileno())
    ops.rename(tmp, target)
    ops.fsync_dir(folder)
    ops.unlink(segment)
    ops.fsync_dir(folder)
    return target


def _day_dirs(beacons_dir: Path) -> Iterator[Path]:
    if beacons_dir.is_dir():
        yield from sorted(p for p in beacons_dir.iterdir() if p.is_dir())


def repair(beacons_dir: Path, ops: FileOps) -> RepairReport:
    r"""Repair the segments under ``beacons_dir`` after a crash; see the module docstring.

    Examples
    --------
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> (root / "2026-01-19").mkdir()
    >>> seg = root / "2026-01-19" / "beacons-2026-01-19T15-0000.jsonl"
    >>> _ = seg.write_bytes(b'{"a": 1}\n{"a": ')
    >>> report = repair(root, FileOps())
    >>> report.torn[0][1], seg.read_bytes(), report.to_compress == (seg,)
    (6, b'{"a": 1}\n', True)
    """
    removed_tmp: list[Path] = []
    duplicates: list[Path] = []
    empty: list[Path] = []
    torn: list[tuple[Path, int]] = []
    to_compress: list[Path] = []
    for day in _day_dirs(beacons_dir):
        changed = False
        for tmp in sorted(day.glob("*.gz.tmp")):
            ops.unlink(tmp)
            removed_tmp.append(tmp)
            changed = True
        for raw in sorted(day.glob("beacons-*.jsonl")):
            if parse_segment_name(raw.name) is None:
                continue
            packed = raw.with_name(raw.name + ".gz")
            if packed.exists():
                gone = raw if gz_matches(packed, raw) else packed
                ops.unlink(gone)
                duplicates.append(gone)
                changed = True
                if gone is raw:
                    continue
            if raw.stat().st_size == 0:
                ops.unlink(raw)
                empty.append(raw)
                changed = True
                continue
            cut = cut_torn_tail(raw, beacons_dir, ops)
            if cut:
                torn.append((raw, cut))
            to_compress.append(raw)
        if changed:
            ops.fsync_dir(day)
    segments = sum(
        1 for day in _day_dirs(beacons_dir) for p in day.iterdir() if parse_segment_name(p.name)
    )
    return RepairReport(
        removed_tmp=tuple(removed_tmp),
        removed_duplicates=tuple(duplicates),
        removed_empty=tuple(empty),
        torn=tuple(torn),
        to_compress=tuple(to_compress),
        segments=segments,
    )
