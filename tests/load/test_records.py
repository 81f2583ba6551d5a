from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rtt_topology.load.documents import MAX_DEPTH, nesting_depth
from rtt_topology.load.records import (
    RAW_SCHEMA,
    RecordError,
    flatten_record,
    loads_strict,
    raw_table,
)


def test_flatten_full_record() -> None:
    row = flatten_record(
        {
            "site": "shop.example.com",
            "session": "s",
            "event": "page_load",
            "ts": "2026-01-19T15:00:00Z",
            "structure": {"url": "https://shop", "title": "Shop", "nav_count": 8, "dom_nodes": 9},
        },
        line=3,
    )
    assert row == {
        "site": "shop.example.com", "session": "s", "event": "page_load",
        "ts": "2026-01-19T15:00:00Z", "received_at": None, "url": "https://shop", "title": "Shop",
        "nav_count": 8,
        "main_count": None, "form_count": None, "button_count": None, "dom_nodes": 9,
        "extra": None, "line": 3,
    }  # fmt: skip
    assert set(row) == set(RAW_SCHEMA.names)


@pytest.mark.parametrize(
    ("record", "field", "reason"),
    [
        ([1, 2], None, "expected a JSON object, got array"),
        ("x", None, "expected a JSON object, got string"),
        ({"site": 1}, "site", "expected a string, got number"),
        ({"site": True}, "site", "expected a string, got boolean"),
        ({"ts": {"a": 1}}, "ts", "expected a string, got object"),
        ({"structure": []}, "structure", "expected an object, got array"),
        ({"structure": {"url": 5}}, "structure.url", "expected a string, got number"),
        (
            {"structure": {"nav_count": 1.5}},
            "structure.nav_count",
            "expected an integer, got number",
        ),
        ({"structure": {"nav_count": 2.0}}, "structure.nav_count", "got a decimal number"),
        ({"structure": {"nav_count": "2"}}, "structure.nav_count", "got string"),
        ({"structure": {"nav_count": False}}, "structure.nav_count", "got boolean"),
        ({"structure": {"nav_count": 2**63}}, "structure.nav_count", "out of range"),
        ({"site": "\ud800"}, "site", "lone surrogate"),
        ({"note": float("inf")}, "extra", "cannot be represented"),
    ],
)
def test_type_problems(record: object, field: str | None, reason: str) -> None:
    with pytest.raises(RecordError) as info:
        flatten_record(record, line=1)
    assert info.value.field == field
    assert reason in info.value.reason


def test_extra_keeps_unknown_keys_in_order() -> None:
    row = flatten_record({"b": 1, "site": "x", "a": [1, {"c": None}], "structure": {"z": 1}}, 1)
    assert json.loads(row["extra"]) == {"b": 1, "a": [1, {"c": None}], "structure": {"z": 1}}
    assert list(json.loads(row["extra"])) == ["b", "a", "structure"]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"a": 1, "a": 2}', "duplicate key"),
        ('{"a": NaN}', "NaN is not a JSON number"),
        ('{"a": Infinity}', "Infinity is not a JSON number"),
        ('{"a": 1} {"b": 2}', "Extra data"),
        ("{", "invalid JSON"),
        (b'{"a": "\xff"}', "invalid UTF-8"),
        ("[" * 100_000 + "]" * 100_000, "nesting deeper than 64 levels"),
        ("[" * 65 + "]" * 65, "nesting deeper than 64 levels"),
    ],
)
def test_loads_strict_rejects(text: str | bytes, reason: str) -> None:
    with pytest.raises(RecordError, match=reason):
        loads_strict(text)


def test_loads_strict_accepts_whitespace_and_bytes() -> None:
    assert loads_strict(b'  {"a": 1}\r') == {"a": 1}


def test_raw_table() -> None:
    rows = [flatten_record({"site": "a", "structure": {"dom_nodes": 3}}, line=i) for i in (1, 2)]
    table = raw_table(rows)
    assert table.schema == RAW_SCHEMA
    assert table.column("dom_nodes").to_pylist() == [3, 3]


def _nested(depth: int, *, padding: int = 0) -> str:
    """A JSON text nesting ``depth`` levels (objects and arrays alternating)."""
    text = "1"
    for level in range(depth):
        text = f'{{"k": {text}}}' if level % 2 else f"[{text}]"
    # Brackets inside strings count as opening brackets for the shortcut only.
    return f'{{"pad": "{"[{" * padding}", "v": {text}}}' if padding else text


@pytest.mark.parametrize("padding", [0, 40])
@pytest.mark.parametrize("depth", [1, 2, 63, 64])
def test_loads_strict_accepts_nesting_up_to_the_limit(depth: int, padding: int) -> None:
    text = _nested(depth - 1 if padding else depth, padding=padding)
    assert loads_strict(text) == json.loads(text)


@pytest.mark.parametrize("padding", [0, 40])
def test_loads_strict_rejects_one_level_past_the_limit(padding: int) -> None:
    text = _nested(64 if padding else 65, padding=padding)
    with pytest.raises(RecordError, match="nesting deeper than 64 levels"):
        loads_strict(text)


@given(
    st.recursive(
        st.integers() | st.text(alphabet="[]{}ab", max_size=8),
        lambda children: (
            st.lists(children, max_size=3)
            | st.dictionaries(st.text(alphabet="{[k", max_size=3), children, max_size=3)
        ),
        max_leaves=90,
    )
)
def test_loads_strict_depth_rule_matches_walking_the_value(value: object) -> None:
    # The bracket count only decides whether to walk: the verdict is the walk's.
    text = json.dumps(value)
    if nesting_depth(value) > MAX_DEPTH:
        with pytest.raises(RecordError, match="nesting deeper"):
            loads_strict(text)
    else:
        assert loads_strict(text) == value
