"""Tests of the incident scoring (rtt_topology.demo.accuracy): the matching rule, case by case."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import pytest

from rtt_topology.demo.accuracy import SCORE_COLUMNS, format_score, score_incidents

T0 = pd.Timestamp("2026-01-19T10:00:00Z")


def truth(*rows: tuple[str, list[str], Any, float]) -> pd.DataFrame:
    return pd.DataFrame(
        [{"kind": k, "sites": s, "start": t, "period_s": p} for k, s, t, p in rows],
        columns=["kind", "sites", "start", "period_s"],
    )


def found(*rows: tuple[str, list[str], Any]) -> pd.DataFrame:
    return pd.DataFrame(
        [{"kind": k, "sites": s, "start": t, "summary": f"{k} on {s}"} for k, s, t in rows],
        columns=["kind", "sites", "start", "summary"],
    )


def at(seconds: float) -> pd.Timestamp:
    return T0 + pd.Timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("error_s", "matched"),
    [(0.0, True), (-60.0, True), (69.0, True), (-69.0, True), (69.5, False), (-70.0, False)],
)
def test_start_within_one_jittered_period(error_s: float, matched: bool) -> None:
    # Period 60 s and a 15 % jitter: a start 69 s off still matches, 69.5 s does not.
    score = score_incidents(
        found(("outage", ["api"], at(error_s))), truth(("outage", ["api"], T0, 60.0))
    )
    assert (len(score.matches) == 1) is matched
    assert (len(score.false_alarms), len(score.misses)) == ((0, 0) if matched else (1, 1))
    if not matched:
        # A late detection is told apart from none.
        assert score.misses["nearest_s"].tolist() == [error_s]


def test_jitter_is_an_option() -> None:
    score = score_incidents(
        found(("outage", ["api"], at(65))), truth(("outage", ["api"], T0, 60.0)), jitter=0.0
    )
    assert score.matches.empty


def test_kind_and_sites_must_agree() -> None:
    want = truth(("outage", ["api"], T0, 60.0))
    assert score_incidents(found(("intermittent", ["api"], T0)), want).matches.empty
    assert score_incidents(found(("outage", ["db"], T0)), want).matches.empty
    # One site: the same set, not a superset.
    assert score_incidents(found(("outage", ["api", "db"], T0)), want).matches.empty


def test_several_sites_match_a_superset() -> None:
    want = truth(("collector_gap", ["a", "b", "c"], T0, 45.0))
    both = score_incidents(found(("collector_gap", ["c", "b", "a", "d"], at(10))), want)
    assert len(both.matches) == 1
    part = score_incidents(found(("collector_gap", ["a", "b"], at(10))), want)
    assert part.matches.empty
    assert len(part.misses) == 1


def test_no_start_matches_on_kind_and_sites() -> None:
    score = score_incidents(
        found(("quarantined_records", [], pd.NaT)), truth(("quarantined_records", [], pd.NaT, 0.0))
    )
    assert len(score.matches) == 1
    assert math.isnan(score.table["max_error_s"].iloc[0])


def test_each_row_is_used_once_closest_first() -> None:
    want = truth(("outage", ["api"], T0, 60.0), ("outage", ["api"], at(50), 60.0))
    got = found(
        ("outage", ["api"], at(45)), ("outage", ["api"], at(-20)), ("outage", ["api"], at(5))
    )
    score = score_incidents(got, want)
    # at(45) pairs with at(50) (5 s), at(5) with T0 (5 s); at(-20) is left over.
    assert sorted(score.matches["error_s"].abs().tolist()) == [5.0, 5.0]
    assert score.false_alarms["start"].tolist() == [at(-20)]
    [row] = score.table.to_dict("records")
    assert (row["tp"], row["fp"], row["fn"]) == (2, 1, 0)
    assert row["precision"] == pytest.approx(2 / 3)
    assert row["recall"] == 1.0


def test_table_per_kind_with_errors_in_periods() -> None:
    want = truth(("outage", ["api"], T0, 40.0), ("planned_stop", ["db"], T0, 50.0))
    got = found(("outage", ["api"], at(-20)), ("cadence_change", ["web"], T0))
    score = score_incidents(got, want)
    table = score.table.set_index("kind")
    assert tuple(score.table.columns) == SCORE_COLUMNS
    assert list(table.index) == ["outage", "planned_stop", "cadence_change"]
    assert table.loc["outage", "median_error_s"] == 20.0
    assert table.loc["outage", "max_error_periods"] == 0.5
    assert table.loc["planned_stop", "recall"] == 0.0
    assert math.isnan(table.loc["planned_stop", "precision"])
    assert table.loc["cadence_change", "precision"] == 0.0
    assert math.isnan(table.loc["cadence_change", "recall"])
    text = format_score(score)
    assert "false alarms (1):\n  cadence_change web" in text
    assert "misses (1):\n  planned_stop db" in text
    assert "nothing detected" in text
