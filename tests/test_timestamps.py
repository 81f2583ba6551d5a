from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa
import pytest

from rtt_topology._timestamps import (
    INVALID_REASON,
    NAIVE_REASON,
    TS_TYPE,
    parse_ts_array,
    parse_ts_scalar,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-19T15:00:00Z", "2026-01-19T15:00:00+00:00"),
        ("2026-01-19T15:00:00.123Z", "2026-01-19T15:00:00.123000+00:00"),
        ("2026-01-19T15:00:00.123456789Z", "2026-01-19T15:00:00.123456+00:00"),
        ("2026-01-19T17:00:00+02:00", "2026-01-19T15:00:00+00:00"),
        ("2026-01-19T10:30:00-0430", "2026-01-19T15:00:00+00:00"),
        ("2026-01-19 15:00:00Z", "2026-01-19T15:00:00+00:00"),
        ("2026-01-19T15:00Z", "2026-01-19T15:00:00+00:00"),
    ],
)
def test_accepted_forms(text: str, expected: str) -> None:
    assert parse_ts_scalar(text).isoformat() == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("2026-01-19T15:00:00", NAIVE_REASON),
        ("2026-01-19T15:00:00.5", NAIVE_REASON),
        ("2026-01-19", INVALID_REASON),
        ("2026-13-19T15:00:00Z", INVALID_REASON),
        ("2026-02-30T15:00:00Z", INVALID_REASON),
        ("yesterday", INVALID_REASON),
        ("", INVALID_REASON),
        (" 2026-01-19T15:00:00Z", INVALID_REASON),
        ("1500-01-01T00:00:00Z", INVALID_REASON),
    ],
)
def test_rejected_forms(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match="timestamp") as info:
        parse_ts_scalar(text)
    assert str(info.value) == reason


def test_assume_utc() -> None:
    assert parse_ts_scalar("2026-01-19T15:00:00", assume_utc=True) == datetime(
        2026, 1, 19, 15, tzinfo=UTC
    )
    with pytest.raises(ValueError, match="ISO 8601"):
        parse_ts_scalar("2026-13-19T15:00:00", assume_utc=True)


def test_array_locates_every_bad_value() -> None:
    values = ["2026-01-19T15:00:00Z"] * 1000
    values[3] = "2026-01-19T15:00:00"
    values[500] = "nonsense"
    values[999] = None  # type: ignore[call-overload]
    parsed, reasons = parse_ts_array(pa.array(values, pa.string()))
    assert parsed.type == TS_TYPE
    assert reasons == {3: NAIVE_REASON, 500: INVALID_REASON}
    assert parsed.null_count == 3
    parsed, reasons = parse_ts_array(pa.chunked_array([values[:10], values[10:]]), assume_utc=True)
    assert reasons == {500: INVALID_REASON}


def test_empty_array() -> None:
    parsed, reasons = parse_ts_array(pa.array([], pa.string()))
    assert len(parsed) == 0
    assert reasons == {}
