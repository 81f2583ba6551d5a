"""Account for every record a load read: accepted, rejected (with where and why), collapsed.

The invariant every loader keeps, per file and in total::

    accepted + rejected == read

where *read* counts records (a non-blank line of JSON Lines, an element of a JSON
array, a CSV data row, a Parquet row, an ``[RTT] ... sent`` log entry, a profile).
Exact duplicates are part of *accepted*; ``rows == accepted - duplicates`` is what
the resulting table holds. Files that could not be read at all are listed in
``failures`` and contribute no records.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from rtt_topology.errors import StrictLoadError

__all__ = ["FileFailure", "FileStats", "LoadReport", "Reject"]

#: Raw text kept with a rejected record, in characters.
RAW_LIMIT = 300


@dataclass(frozen=True, slots=True)
class Reject:
    """One quarantined record.

    Attributes
    ----------
    source
        The file it came from.
    line
        Its line number (1-based) in line-based formats; its 1-based position in
        JSON arrays and Parquet files; ``None`` if unknown.
    field
        The offending field (dotted for nested fields), or ``None`` when the record
        as a whole is unusable (invalid JSON, not an object).
    reason
        Why it was rejected, without the offending value (that is in ``raw``), so
        rejects group well by reason.
    raw
        The record's text, truncated to 300 characters.
    """

    source: str
    line: int | None
    field: str | None
    reason: str
    raw: str

    def __str__(self) -> str:
        where = self.source if self.line is None else f"{self.source}:{self.line}"
        what = f"{self.field}: {self.reason}" if self.field else self.reason
        return f"{where}: {what}"


@dataclass(frozen=True, slots=True)
class FileFailure:
    """A file that could not be read at all, and why."""

    source: str
    reason: str

    def __str__(self) -> str:
        return f"{self.source}: {self.reason}"


@dataclass(slots=True)
class FileStats:
    """What one file gave.

    Attributes
    ----------
    source
        The file.
    format
        The format it was read as (``jsonl``, ``json``, ``csv``, ``parquet``, ``log``,
        with ``+gzip`` when compressed; ``yaml`` and the others for profiles).
    read, accepted, rejected
        Record counts; ``accepted + rejected == read``.
    skipped_lines
        Lines that hold no record: blank lines, log lines without an RTT entry.
    slow_path
        Records parsed one by one because their block could not be parsed as a
        whole (bad records, unknown keys, type conflicts). Large numbers here
        explain a slow load.
    """

    source: str
    format: str
    read: int = 0
    accepted: int = 0
    rejected: int = 0
    skipped_lines: int = 0
    slow_path: int = 0


def truncate_raw(text: str) -> str:
    """Return ``text`` cut to :data:`RAW_LIMIT` characters, marked when cut."""
    if len(text) <= RAW_LIMIT:
        return text
    return text[: RAW_LIMIT - 1] + "…"


@dataclass
class LoadReport:
    """What a load read, kept, rejected and collapsed.

    Examples
    --------
    >>> report = LoadReport()
    >>> report.add_file(FileStats("a.jsonl", "jsonl", read=3, accepted=2, rejected=1))
    >>> report.rejects.append(Reject("a.jsonl", 2, "ts", "not an ISO 8601 timestamp", "{}"))
    >>> (report.read, report.accepted, report.rejected, report.ok)
    (3, 2, 1, False)
    >>> print(report.rejects[0])
    a.jsonl:2: ts: not an ISO 8601 timestamp
    """

    files: list[FileStats] = field(default_factory=list)
    failures: list[FileFailure] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    duplicates: int = 0
    duplicates_by_site: dict[str, int] = field(default_factory=dict)
    ignored_files: list[str] = field(default_factory=list)

    def add_file(self, stats: FileStats) -> None:
        """Record one file's counts, checking the accounting invariant."""
        if stats.accepted + stats.rejected != stats.read:
            raise AssertionError(
                f"{stats.source}: accepted {stats.accepted} + rejected {stats.rejected}"
                f" != read {stats.read}"
            )
        self.files.append(stats)

    @property
    def read(self) -> int:
        """Records read from the files that could be read."""
        return sum(f.read for f in self.files)

    @property
    def accepted(self) -> int:
        """Records that passed validation (duplicates included)."""
        return sum(f.accepted for f in self.files)

    @property
    def rejected(self) -> int:
        """Records quarantined in :attr:`rejects`."""
        return sum(f.rejected for f in self.files)

    @property
    def rows(self) -> int:
        """Records in the result: accepted minus collapsed duplicates."""
        return self.accepted - self.duplicates

    @property
    def skipped_lines(self) -> int:
        """Lines that held no record (blank lines, other log lines)."""
        return sum(f.skipped_lines for f in self.files)

    @property
    def ok(self) -> bool:
        """``True`` when nothing was rejected and every file could be read."""
        return not self.rejects and not self.failures

    def refuse_if_not_ok(self) -> None:
        """Raise :class:`~rtt_topology.errors.StrictLoadError` unless :attr:`ok`.

        Loaders call this at the end of a ``strict=True`` load; the error carries
        the report and names the first failed file or rejected record.
        """
        if self.ok:
            return
        first: Reject | FileFailure = (self.failures or self.rejects)[0]
        raise StrictLoadError(
            first.source,
            f"strict load refused: {self.rejected} record(s) rejected, "
            f"{len(self.failures)} file(s) failed; first: {first}\n{self.summary()}",
            self,
        )

    def merge(self, other: LoadReport) -> None:
        """Add another report's files, failures, rejects and duplicates to this one."""
        self.files.extend(other.files)
        self.failures.extend(other.failures)
        self.rejects.extend(other.rejects)
        self.ignored_files.extend(other.ignored_files)
        self.duplicates += other.duplicates
        for site, n in other.duplicates_by_site.items():
            self.duplicates_by_site[site] = self.duplicates_by_site.get(site, 0) + n

    def reasons(self) -> pd.DataFrame:
        """Count rejects per file, field and reason.

        Returns
        -------
        pandas.DataFrame
            Columns ``source``, ``field``, ``reason``, ``count``, most frequent first.
        """
        counts = Counter((r.source, r.field or "", r.reason) for r in self.rejects)
        rows = [(s, f, r, n) for (s, f, r), n in counts.items()]
        frame = pd.DataFrame(rows, columns=["source", "field", "reason", "count"])
        return frame.sort_values(
            ["count", "source", "field", "reason"], ascending=[False, True, True, True]
        ).reset_index(drop=True)

    def by_file(self) -> pd.DataFrame:
        """Return one row of counts per file read.

        Returns
        -------
        pandas.DataFrame
            Columns ``source``, ``format``, ``read``, ``accepted``, ``rejected``,
            ``skipped_lines``, ``slow_path``.
        """
        columns = ["source", "format", "read", "accepted", "rejected", "skipped_lines", "slow_path"]
        return pd.DataFrame([asdict(f) for f in self.files], columns=columns)

    def rejects_frame(self) -> pd.DataFrame:
        """Return the quarantined records as a table.

        Returns
        -------
        pandas.DataFrame
            Columns ``source``, ``line``, ``field``, ``reason``, ``raw``.
        """
        frame = pd.DataFrame(
            [asdict(r) for r in self.rejects], columns=["source", "line", "field", "reason", "raw"]
        )
        frame["line"] = frame["line"].astype("Int64")
        return frame

    def write_rejects(self, path: str | Path) -> int:
        """Write the quarantined records as JSON Lines, one reject per line.

        Parameters
        ----------
        path
            The file to write.

        Returns
        -------
        int
            The number of rejects written.
        """
        with Path(path).open("w", encoding="utf-8") as out:
            for r in self.rejects:
                out.write(json.dumps(asdict(r), ensure_ascii=False) + "\n")
        return len(self.rejects)

    def to_dict(self) -> dict[str, Any]:
        """Return the report as JSON-ready data: totals, files, failures, reasons."""
        return {
            "read": self.read,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "duplicates": self.duplicates,
            "rows": self.rows,
            "skipped_lines": self.skipped_lines,
            "files": [asdict(f) for f in self.files],
            "failures": [asdict(f) for f in self.failures],
            "ignored_files": list(self.ignored_files),
            "duplicates_by_site": dict(sorted(self.duplicates_by_site.items())),
            "reasons": self.reasons().to_dict(orient="records"),
        }

    def summary(self) -> str:
        """Return a few human-readable lines: totals, then failures and top reasons."""
        lines = [
            f"read {self.read} records from {len(self.files)} file(s): "
            f"{self.accepted} accepted, {self.rejected} rejected, "
            f"{self.duplicates} duplicates collapsed, {self.rows} rows"
        ]
        lines.extend(f"failed: {f}" for f in self.failures)
        for source, field_name, reason, count in self.reasons().head(10).itertuples(index=False):
            what = f"{field_name}: {reason}" if field_name else str(reason)
            lines.append(f"rejected {count} x {source}: {what}")
        return "\n".join(lines)


def merge_reports(reports: Iterable[LoadReport]) -> LoadReport:
    """Return one report holding all of ``reports``."""
    total = LoadReport()
    for r in reports:
        total.merge(r)
    return total
