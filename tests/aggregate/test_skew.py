from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rtt_topology import clock_skew as root_clock_skew
from rtt_topology.aggregate import SKEW_COLUMNS, clock_skew, service_summary, skew_seconds
from rtt_topology.columns import empty_beacon_frame
from rtt_topology.load import beacons_from_records

T0 = pd.Timestamp("2026-01-19T15:00:00Z")


def beacon(site: str, i: int, skew_s: float | None) -> dict[str, object]:
    """A beacon sent at T0 + i minutes, received ``skew_s`` seconds before its ts."""
    ts = T0 + pd.Timedelta(minutes=i)
    record: dict[str, object] = {
        "site": site, "session": "s", "event": "heartbeat", "ts": ts.isoformat(),
    }  # fmt: skip
    if skew_s is not None:
        record["received_at"] = (ts - pd.Timedelta(seconds=skew_s)).isoformat()
    return record


def table(rows: list[dict[str, object]]) -> pd.DataFrame:
    beacons, report = beacons_from_records(rows)
    assert report.ok
    return beacons


def test_sign_positive_when_the_service_clock_runs_ahead() -> None:
    # The service stamps ts 2 s ahead of the server's clock; transit is 0.5 s.
    rows = [
        {"site": "fast", "session": "s", "event": "heartbeat",
         "ts": "2026-01-19T15:00:02Z", "received_at": "2026-01-19T15:00:00.5Z"},
        {"site": "slow", "session": "s", "event": "heartbeat",
         "ts": "2026-01-19T15:00:00Z", "received_at": "2026-01-19T15:00:03Z"},
    ]  # fmt: skip
    skew = clock_skew(table(rows)).set_index("site")["median_skew_s"]
    assert skew["fast"] == pytest.approx(1.5)
    assert skew["slow"] == pytest.approx(-3.0)


def test_quantiles_interpolate_linearly_and_count_known_receipts() -> None:
    values = [0.0, 1.0, 2.0, 3.0, 10.0]
    rows = [beacon("api", i, v) for i, v in enumerate(values)]
    rows += [beacon("api", 10 + i, None) for i in range(3)]
    rows += [beacon("db", i, -0.25) for i in range(2)]
    rows += [beacon("quiet", i, None) for i in range(2)]
    result = clock_skew(table(rows))
    assert list(result.columns) == list(SKEW_COLUMNS)
    # Sites without any receipt time have no row; sorted by site.
    assert result["site"].tolist() == ["api", "db"]
    api = result.iloc[0]
    assert api["received"] == 5
    assert api["median_skew_s"] == pytest.approx(2.0)
    # q * (n - 1) = 0.2 and 3.8: between the sorted values 0 and 1, then 3 and 10.
    assert api["p05_skew_s"] == pytest.approx(0.2)
    assert api["p95_skew_s"] == pytest.approx(3.0 + 0.8 * 7.0)
    assert api["p95_skew_s"] == pytest.approx(np.quantile(values, 0.95))
    db = result.iloc[1]
    assert (db["received"], db["median_skew_s"]) == (2, pytest.approx(-0.25))
    assert result["received"].dtype == "int64"
    assert all(result[c].dtype == "float64" for c in SKEW_COLUMNS[2:])


def test_sub_second_and_nanosecond_precision() -> None:
    rows = [
        {"site": "a", "session": "s", "event": "heartbeat",
         "ts": "2026-01-19T15:00:00.000000001Z", "received_at": "2026-01-19T15:00:00Z"},
    ]  # fmt: skip
    assert skew_seconds(table(rows)).tolist() == [pytest.approx(1e-9)]


@pytest.mark.parametrize(
    "beacons",
    [
        pytest.param(empty_beacon_frame(), id="empty"),
        pytest.param(table([beacon("a", 0, None)]), id="no-receipt-time"),
        pytest.param(table([beacon("a", 0, 1.0)]).drop(columns=["received_at"]), id="no-column"),
    ],
)
def test_empty_when_no_beacon_has_a_receipt_time(beacons: pd.DataFrame) -> None:
    result = clock_skew(beacons)
    assert result.empty
    assert list(result.columns) == list(SKEW_COLUMNS)
    assert skew_seconds(beacons).isna().all()


def test_does_not_change_its_input() -> None:
    beacons = table([beacon("a", i, 0.5) for i in range(3)])
    before = beacons.copy()
    clock_skew(beacons)
    pd.testing.assert_frame_equal(beacons, before)


def test_service_summary_median_skew() -> None:
    rows = [beacon("api", i, v) for i, v in enumerate([1.0, 2.0, 4.0])]
    rows += [beacon("db", i, None) for i in range(2)]
    summary = service_summary(table(rows)).set_index("site")
    assert summary.loc["api", "median_skew_s"] == pytest.approx(2.0)
    assert np.isnan(summary.loc["db", "median_skew_s"])
    assert summary["median_skew_s"].dtype == "float64"
    skew = clock_skew(table(rows)).set_index("site")
    assert summary.loc["api", "median_skew_s"] == skew.loc["api", "median_skew_s"]


def test_exported_from_the_root() -> None:
    assert root_clock_skew is clock_skew
