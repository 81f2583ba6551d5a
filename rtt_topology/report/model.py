"""The document a report is made of: sections of facts, tables, figures and notes.

The section layouts fill this model once (:mod:`rtt_topology.report.sections`); each
output format renders it (:mod:`rtt_topology.report.render`), so the HTML,
Markdown and JSON forms always say the same thing. Values are kept as data
(numbers, timestamps, lists) until a renderer formats them: strings that came
from the inputs are escaped by the renderer of each format, never here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd

__all__ = ["Block", "Facts", "FigureBlock", "Note", "Section", "TableBlock", "cell_text"]


def cell_text(value: Any) -> str:
    """Format one value for people: timestamps in UTC, short floats, lists joined.

    Parameters
    ----------
    value
        Any value from a table.

    Returns
    -------
    str
        The text; ``""`` for missing values.

    Examples
    --------
    >>> cell_text(pd.Timestamp("2026-01-19T03:46:00.649Z"))
    '2026-01-19 03:46:00'
    >>> cell_text(0.123456), cell_text(float("nan")), cell_text(["a", "b"]), cell_text(None)
    ('0.1235', '', 'a, b', '')
    """
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, datetime):
        return "" if pd.isna(value) else f"{pd.Timestamp(value):%Y-%m-%d %H:%M:%S}"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.4g}"
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(cell_text(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {cell_text(v)}" for k, v in value.items())
    return str(value)


def _json_value(value: Any) -> Any:
    """Turn a table value into a JSON value (timestamps as ISO 8601, NaN as null)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, datetime):
        return None if pd.isna(value) else pd.Timestamp(value).isoformat()
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, list | tuple | set | frozenset):
        return [_json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    if hasattr(value, "item"):  # numpy scalars
        return _json_value(value.item())
    return value


@dataclass(frozen=True)
class Facts:
    """Key facts, shown as a definition list: ``(label, value)`` pairs."""

    items: Sequence[tuple[str, Any]]
    title: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the block as JSON-ready data."""
        return {
            "type": "facts",
            "title": self.title,
            "items": {label: _json_value(value) for label, value in self.items},
        }


@dataclass(frozen=True)
class TableBlock:
    """A table; ``total`` counts every row, ``rows`` are the shown ones (top N).

    ``badges`` names columns whose values are states or severities, which the
    HTML renders as coloured labels.
    """

    title: str
    columns: Sequence[str]
    rows: Sequence[Sequence[Any]]
    total: int
    note: str | None = None
    badges: Sequence[str] = ()

    @classmethod
    def from_frame(
        cls,
        title: str,
        frame: pd.DataFrame,
        columns: Sequence[str] | None = None,
        *,
        top: int | None = None,
        note: str | None = None,
        badges: Sequence[str] = (),
    ) -> TableBlock:
        """Build a table from (some columns of) a frame, keeping the first ``top`` rows."""
        names = list(columns) if columns is not None else [str(c) for c in frame.columns]
        shown = frame if top is None else frame.head(top)
        values = shown[names].astype(object).to_numpy().tolist() if len(shown) else []
        return cls(title, names, values, len(frame), note, tuple(badges))

    @property
    def truncated(self) -> bool:
        """Whether rows were left out."""
        return self.total > len(self.rows)

    def to_dict(self) -> dict[str, Any]:
        """Return the block as JSON-ready data: rows as records."""
        return {
            "type": "table",
            "title": self.title,
            "total": self.total,
            "shown": len(self.rows),
            "note": self.note,
            "rows": [
                {c: _json_value(v) for c, v in zip(self.columns, row, strict=True)}
                for row in self.rows
            ],
        }


@dataclass(frozen=True)
class FigureBlock:
    """A rendered figure: PNG bytes with a title and a caption (also its alt text)."""

    title: str
    caption: str
    png: bytes = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        """Return the block as JSON-ready data (the image itself is left out)."""
        return {"type": "figure", "title": self.title, "caption": self.caption}


@dataclass(frozen=True)
class Note:
    """A paragraph of text; ``level`` is ``info``, ``ok``, ``warning`` or ``critical``."""

    text: str
    level: str = "info"

    def to_dict(self) -> dict[str, Any]:
        """Return the block as JSON-ready data."""
        return {"type": "note", "level": self.level, "text": self.text}


Block = Facts | TableBlock | FigureBlock | Note


@dataclass
class Section:
    """One section of a report: an anchor id, a title and its blocks in order."""

    id: str
    title: str
    blocks: list[Block] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Return the section as JSON-ready data."""
        return {"id": self.id, "title": self.title, "blocks": [b.to_dict() for b in self.blocks]}
