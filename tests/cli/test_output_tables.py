"""Tables of many rows print as aligned plain text, with the same cells as small ones."""

from __future__ import annotations

import pandas as pd
import pytest

from rtt_topology.cli import output


def test_large_tables_print_plain(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    frame = pd.DataFrame(
        {
            "site": ["api", "[bold]db[/bold]", "queue"],
            "last_seen": [
                pd.Timestamp("2026-01-19T10:00:00Z"),
                pd.NaT,
                pd.Timestamp("2026-01-19T11:00:00Z"),
            ],
            "age_s": [1.5, float("nan"), 12345.678],
            "sites": [["a", "b"], [], ["c"]],
        }
    )
    monkeypatch.setattr(output, "PLAIN_ROWS", 2)
    output.print_table("services", frame, ["site", "last_seen", "age_s", "sites"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "services"
    assert lines[1].split() == ["site", "last_seen", "age_s", "sites"]
    assert lines[2].split() == ["api", "2026-01-19", "10:00:00", "1.5", "a,", "b"]
    # Data is printed as it is, never read as markup; columns line up.
    assert lines[3].startswith("[bold]db[/bold]  ")
    assert lines[4].index("2026-01-19") == lines[2].index("2026-01-19")
    assert lines[4].split()[-2:] == ["1.235e+04", "c"]
