"""Small inputs built in memory for the tests: beacon tables through the loader's rules."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from rtt_topology.load import beacons_from_records

__all__ = ["beacon_table"]


def beacon_table(records: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """A beacon table built by the loader's rules (sorted, deduplicated, none refused)."""
    return beacons_from_records(records, strict=True).beacons
