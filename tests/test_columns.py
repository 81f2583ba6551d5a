from __future__ import annotations

import pandas as pd
import pytest

from rtt_topology.columns import (
    BEACON_COLUMNS,
    CATEGORY_COLUMNS,
    COUNT_COLUMNS,
    empty_beacon_frame,
    validate_beacon_frame,
)
from rtt_topology.errors import InputError


def test_contract_order() -> None:
    assert list(BEACON_COLUMNS) == [
        "site", "session", "event", "ts", "url", "title", *COUNT_COLUMNS, "extra", "source", "line",
        "received_at",
    ]  # fmt: skip
    assert set(CATEGORY_COLUMNS) <= set(BEACON_COLUMNS)


def test_empty_frame_follows_contract() -> None:
    frame = empty_beacon_frame()
    validate_beacon_frame(frame)
    assert len(frame) == 0
    assert str(frame["ts"].dtype) == "datetime64[ns, UTC]"
    assert frame["nav_count"].dtype == pd.Int64Dtype()


def test_validation_names_every_problem() -> None:
    frame = empty_beacon_frame().drop(columns=["line"])
    frame["ts"] = frame["ts"].astype("str")
    with pytest.raises(InputError) as info:
        validate_beacon_frame(frame)
    message = str(info.value)
    assert "column ts has dtype" in message
    assert "missing column line" in message


def test_received_at_may_be_left_out_of_a_table_built_by_hand() -> None:
    frame = empty_beacon_frame()
    assert str(frame["received_at"].dtype) == "datetime64[ns, UTC]"
    validate_beacon_frame(frame.drop(columns=["received_at"]))
    frame["received_at"] = frame["received_at"].astype("str")
    with pytest.raises(InputError, match="column received_at has dtype"):
        validate_beacon_frame(frame)
