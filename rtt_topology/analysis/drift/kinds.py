"""Classify each site's drift series as none, sudden, gradual or oscillating."""

from __future__ import annotations

import numpy as np
import pandas as pd

from rtt_topology.analysis.grid import UTC_NS
from rtt_topology.errors import InputError

__all__ = ["DRIFT_KINDS", "drift_kinds"]

#: The drift kinds of :func:`drift_kinds`.
DRIFT_KINDS: tuple[str, ...] = ("none", "sudden", "gradual", "oscillating")


def drift_kinds(table: pd.DataFrame, *, min_drift: float = 0.05) -> pd.DataFrame:
    """Classify each site's drift series as none, sudden, gradual or oscillating.

    Parameters
    ----------
    table
        A :func:`drift` table (``site``, ``bucket``, ``drift``).
    min_drift
        Drift from which a bucket counts as drifted.

    Returns
    -------
    pandas.DataFrame
        One row per site, sorted: ``site`` (str), ``kind`` (one of
        :data:`DRIFT_KINDS`, rules in :mod:`rtt_topology.analysis.drift`), ``max_drift``,
        ``first_drift`` (first drifted bucket, NaT if none), ``max_rise`` (largest
        rise between consecutive scored buckets) and ``transitions`` (changes
        between drifted and not drifted).

    Examples
    --------
    >>> t = pd.to_datetime(["2026-01-19T15:00Z", "2026-01-19T15:05Z", "2026-01-19T15:10Z"])
    >>> table = pd.DataFrame({"site": ["a"] * 3 + ["b"] * 3, "bucket": t.append(t),
    ...                       "drift": [0.0, 0.4, 0.4, 0.1, 0.2, 0.3]})
    >>> drift_kinds(table)[["site", "kind", "max_drift", "transitions"]]
      site     kind  max_drift  transitions
    0    a   sudden        0.4            1
    1    b  gradual        0.3            0
    """
    if not min_drift > 0:
        raise InputError(f"min_drift must be positive, not {min_drift}")
    scored = table[table["drift"].notna()].sort_values(["site", "bucket"], kind="stable")
    frame = pd.DataFrame(
        {
            "site": scored["site"].astype(str).to_numpy(),
            "bucket": scored["bucket"].to_numpy(),
            "drift": scored["drift"].to_numpy(dtype=np.float64),
        }
    )
    frame["bucket"] = pd.to_datetime(frame["bucket"], utc=True)
    site = frame["site"].to_numpy()
    value = frame["drift"].to_numpy()
    state = value >= min_drift
    same = np.concatenate(([False], site[1:] == site[:-1]))
    frame["rise"] = np.where(same, np.diff(value, prepend=np.nan), np.nan)
    frame["flip"] = same & (state != np.roll(state, 1))
    frame["first"] = frame["bucket"].where(state)
    per = frame.groupby("site", sort=True, observed=True).agg(
        max_drift=("drift", "max"),
        first_drift=("first", "min"),
        max_rise=("rise", "max"),
        transitions=("flip", "sum"),
    )
    drifted = per["max_drift"].to_numpy() >= min_drift
    rises = per["max_rise"].fillna(0.0).to_numpy()
    kind = np.where(
        ~drifted,
        "none",
        np.where(
            per["transitions"].to_numpy() >= 3,
            "oscillating",
            np.where(rises >= 0.5 * per["max_drift"].to_numpy(), "sudden", "gradual"),
        ),
    )
    result = pd.DataFrame(
        {
            "site": pd.Series(per.index.to_numpy(), dtype="str"),
            "kind": pd.Series(kind, dtype="str"),
            "max_drift": per["max_drift"].to_numpy(dtype=np.float64),
            "first_drift": per["first_drift"].to_numpy(),
            "max_rise": per["max_rise"].to_numpy(dtype=np.float64),
            "transitions": per["transitions"].to_numpy().astype(np.int64),
        }
    )
    result["first_drift"] = pd.to_datetime(result["first_drift"], utc=True).astype(UTC_NS)
    return result
