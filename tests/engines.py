"""Run an analysis on both engines and compare: the helper of the engine equality tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from rtt_topology.aggregate.engines import History

__all__ = ["same_on_both"]


def same_on_both(
    function: Callable[..., pd.DataFrame],
    beacons: pd.DataFrame,
    history: History | None = None,
    **options: Any,
) -> pd.DataFrame:
    """Run ``function`` on both engines; assert the results are equal; return pandas's.

    DuckDB scans ``history`` when given (the same beacons), else a history of ``beacons``.
    """
    want = function(beacons, engine="pandas", **options)
    if history is None:
        with History.from_frame(beacons) as scanned:
            got = function(scanned, engine="duckdb", **options)
    else:
        got = function(history, engine="duckdb", **options)
    pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-9)
    return want
