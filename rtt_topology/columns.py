"""The beacon table contract: the columns every loader returns, with their dtypes.

One row is one accepted beacon. The table is sorted by ``site`` then ``ts`` (ties
by ``session`` then ``event``), with exact duplicates (same site, session, event
and ts) collapsed.

=============  ======================  ===============================================
column         dtype                   meaning
=============  ======================  ===============================================
site           category                service, site or cluster name
session        category                session id (a new one usually means a restart)
event          category                event name (open vocabulary)
ts             datetime64[ns, UTC]     when the beacon was sent, in UTC
url            category                ``structure.url`` (null when absent)
title          category                ``structure.title`` (null when absent)
nav_count      Int64                   ``structure.nav_count`` (null when absent, never 0)
main_count     Int64                   ``structure.main_count``
form_count     Int64                   ``structure.form_count``
button_count   Int64                   ``structure.button_count``
dom_nodes      Int64                   ``structure.dom_nodes``
extra          string                  unknown keys as a JSON object, null when none
source         category                the file the beacon came from
line           int64                   its line (text formats) or 1-based position
received_at    datetime64[ns, UTC]     when the server that stored the beacon accepted
                                       it, in UTC (``received_at`` of a stored line,
                                       same timestamp rules as ``ts``); NaT when the
                                       source has none
=============  ======================  ===============================================

Every loader returns every column. ``received_at`` came last, and
:func:`validate_beacon_frame` lets a table built by hand leave it out (it then
reads as NaT everywhere: see :data:`OPTIONAL_COLUMNS`), so tables made for
earlier versions keep working.

String columns are categorical: a beacon history repeats a few names millions of
times, and categories keep the table small and group-bys fast.
"""

from __future__ import annotations

import pandas as pd

from rtt_topology.errors import InputError
from rtt_topology.schemas import COUNT_FIELDS

__all__ = [
    "BEACON_COLUMNS",
    "CATEGORY_COLUMNS",
    "COUNT_COLUMNS",
    "OPTIONAL_COLUMNS",
    "empty_beacon_frame",
    "validate_beacon_frame",
]

#: Categorical string columns of the beacon table.
CATEGORY_COLUMNS: tuple[str, ...] = ("site", "session", "event", "url", "title", "source")

#: Nullable integer columns of the beacon table.
COUNT_COLUMNS: tuple[str, ...] = COUNT_FIELDS


def _dtypes() -> dict[str, object]:
    dtypes: dict[str, object] = {
        "site": "category",
        "session": "category",
        "event": "category",
        "ts": pd.DatetimeTZDtype("ns", "UTC"),
        "url": "category",
        "title": "category",
    }
    dtypes.update(dict.fromkeys(COUNT_FIELDS, pd.Int64Dtype()))
    dtypes.update({"extra": pd.StringDtype("pyarrow"), "source": "category", "line": "int64"})
    dtypes["received_at"] = pd.DatetimeTZDtype("ns", "UTC")
    return dtypes


#: Column name to dtype, in table order.
BEACON_COLUMNS: dict[str, object] = _dtypes()

#: Contract columns a table built by hand may leave out; when present, their
#: dtype is checked.
OPTIONAL_COLUMNS: tuple[str, ...] = ("received_at",)


def empty_beacon_frame() -> pd.DataFrame:
    """Return a beacon table with no rows and every contract column.

    Returns
    -------
    pandas.DataFrame
        Zero rows, the columns and dtypes of :data:`BEACON_COLUMNS`.

    Examples
    --------
    >>> list(empty_beacon_frame().columns[:4])
    ['site', 'session', 'event', 'ts']
    """
    return pd.DataFrame(
        {name: pd.Series([], dtype=dtype) for name, dtype in BEACON_COLUMNS.items()}  # type: ignore[call-overload]
    )


def validate_beacon_frame(frame: pd.DataFrame) -> None:
    """Check that ``frame`` follows the beacon table contract.

    Parameters
    ----------
    frame
        A table returned by :func:`~rtt_topology.load.read_beacons`, or built by hand.

    Raises
    ------
    InputError
        Naming every missing column (except those of :data:`OPTIONAL_COLUMNS`)
        and every column of the wrong dtype.

    Examples
    --------
    >>> validate_beacon_frame(empty_beacon_frame())
    >>> validate_beacon_frame(empty_beacon_frame().drop(columns=["ts"]))
    Traceback (most recent call last):
    ...
    rtt_topology.errors.InputError: not a beacon table: missing column ts
    """
    problems = []
    for name, dtype in BEACON_COLUMNS.items():
        if name not in frame.columns:
            if name not in OPTIONAL_COLUMNS:
                problems.append(f"missing column {name}")
        elif frame[name].dtype != dtype and str(frame[name].dtype) != str(dtype):
            problems.append(f"column {name} has dtype {frame[name].dtype}, expected {dtype}")
    if problems:
        raise InputError("not a beacon table: " + "; ".join(problems))
