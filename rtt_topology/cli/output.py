"""Print what the commands found: JSON, tables of frames, and frames as JSON records."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

__all__ = ["PLAIN_ROWS", "echo_json", "frame_records", "print_table", "write_or_print"]


def _json_default(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, float) and value != value:  # NaN
        return None
    return str(value)


def echo_json(data: Any) -> None:
    """Print data as indented JSON; timestamps in ISO 8601, NaN as null."""
    click.echo(json.dumps(data, indent=2, default=_json_default, ensure_ascii=False))


def write_or_print(data: Any, output: Path | None) -> None:
    """Write data as indented JSON to a file (saying so on stderr), or print it."""
    text = json.dumps(data, indent=2, ensure_ascii=False, default=_json_default)
    if output is None:
        click.echo(text)
    else:
        output.write_text(text + "\n", encoding="utf-8")
        click.echo(f"wrote {output}", err=True)


#: Above this many rows a table is printed as aligned plain text: rich lays out
#: every cell, which takes seconds for the thousands of services of a datacenter.
PLAIN_ROWS = 1_000


def print_table(title: str, frame: Any, columns: Sequence[str]) -> None:
    """Print some columns of a frame as a table; cells are data, rendered as plain text."""
    import pandas as pd

    rows = []
    for row in frame[list(columns)].itertuples(index=False):
        cells = []
        for column, value in zip(columns, row, strict=True):
            if isinstance(value, list | tuple):
                text = (" -> " if column == "path" else ", ").join(map(str, value))
            elif isinstance(value, pd.Timestamp):
                text = "" if pd.isna(value) else value.strftime("%Y-%m-%d %H:%M:%S")
            elif isinstance(value, float):
                text = "" if value != value else f"{value:.4g}"
            else:
                text = "" if value is None or value is pd.NA else str(value)
            cells.append(text)
        rows.append(cells)
    if len(rows) > PLAIN_ROWS:
        _print_plain(title, list(columns), rows)
        return
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
    view = Table(title=title, show_edge=False, header_style="bold")
    for column in columns:
        view.add_column(column)
    for cells in rows:
        view.add_row(*(Text(cell) for cell in cells))
    console.print(view)


def _print_plain(title: str, columns: list[str], rows: list[list[str]]) -> None:
    """Print a title, a header and rows as columns aligned with spaces."""
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(columns)]
    lines = [title, "  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    click.echo("\n".join(line.rstrip() for line in lines))


def frame_records(frame: Any) -> list[dict[str, Any]]:
    """Turn a frame into JSON-ready records: missing values as None, timestamps as ISO 8601."""
    import pandas as pd

    rows = frame.astype(object).where(frame.notna(), None).to_dict("records")
    return [{str(k): (v.isoformat() if isinstance(v, pd.Timestamp) else v) for k, v in r.items()}
            for r in rows]  # fmt: skip
