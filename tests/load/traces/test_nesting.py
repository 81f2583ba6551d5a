"""json_nesting measures on bytes what nesting_depth measures on the parsed document."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rtt_topology.load.documents import nesting_depth
from rtt_topology.load.traces.nesting import json_nesting

# Strings full of what could fool a byte scan: quotes, backslashes, brackets.
TRICKY = st.text(alphabet='"\\[]{}a\u00e9 ', max_size=8)
JSON = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), TRICKY),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(TRICKY, inner, max_size=4)
    ),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(value=JSON, block=st.integers(1, 64), indent=st.sampled_from([None, 1]))
def test_json_nesting_agrees_with_the_parsed_depth(
    value: Any, block: int, indent: int | None
) -> None:
    data = json.dumps(value, indent=indent, ensure_ascii=False).encode()
    # Small blocks put block edges inside strings and runs of backslashes.
    assert json_nesting(data, block=block) == nesting_depth(value, limit=10_000)


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        (rb"[]", 1),
        (rb'"[[["', 0),
        (rb'["\\"]', 1),  # an escaped backslash, then the closing quote
        (rb'["\"]"]', 1),  # an escaped quote inside the string
        (rb'["\\\"]"]', 1),  # a backslash, then an escaped quote
        (rb'{"a": {"b": [[], {}]}}', 4),
        (b"", 0),
    ],
)
def test_json_nesting_cases(text: bytes, depth: int) -> None:
    for block in (1, 2, 3, 1 << 22):
        assert json_nesting(text, block=block) == depth
