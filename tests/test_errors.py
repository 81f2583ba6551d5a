from __future__ import annotations

import pytest

from rtt_topology import errors
from rtt_topology.errors import (
    FormatError,
    InputError,
    LoadError,
    RecordError,
    RttTopologyError,
    SourceNotFoundError,
    StrictLoadError,
)


@pytest.mark.parametrize(
    ("error", "builtin"),
    [
        (InputError("x"), ValueError),
        (RecordError("bad", path="a.jsonl", line=3, field="ts"), ValueError),
        (LoadError("a.jsonl", "empty"), ValueError),
        (FormatError("a.jsonl", "binary"), ValueError),
        (StrictLoadError("a.jsonl", "refused"), ValueError),
        (SourceNotFoundError("a.jsonl"), FileNotFoundError),
        (errors.ConnectionFailedError("POST /x: refused"), ConnectionError),
        (errors.RequestTimeoutError("POST /x: timed out"), TimeoutError),
        (errors.BadResponseError("POST /x: not JSON"), ValueError),
    ],
)
def test_every_error_is_ours_and_builtin(error: Exception, builtin: type[Exception]) -> None:
    assert isinstance(error, RttTopologyError)
    assert isinstance(error, builtin)


def test_messages_name_file_line_and_field() -> None:
    assert str(RecordError("invalid datetime", path="b.jsonl", line=17, field="ts")) == (
        "b.jsonl:17: ts: invalid datetime"
    )
    assert str(RecordError("bad", field="site")) == "site: bad"
    assert str(RecordError("bad")) == "bad"
    error = LoadError("east.jsonl.gz", "truncated gzip")
    assert (error.path, error.reason, str(error)) == (
        "east.jsonl.gz", "truncated gzip", "east.jsonl.gz: truncated gzip"
    )  # fmt: skip
    assert str(SourceNotFoundError("logs/*.log", "glob matched no file")) == (
        "logs/*.log: glob matched no file"
    )


def test_strict_error_carries_report() -> None:
    report = object()
    assert StrictLoadError("a", "refused", report).report is report


def test_exported_names() -> None:
    assert errors.__all__ == [
        "ApiError", "BadResponseError", "ClientError", "ConnectionFailedError", "FormatError",
        "InputError", "LoadError", "RecordError", "RequestTimeoutError", "RttTopologyError",
        "SourceNotFoundError", "StoreError", "StrictLoadError",
    ]  # fmt: skip
