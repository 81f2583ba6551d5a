from __future__ import annotations

import gc

import numpy as np
import pandas as pd

from rtt_topology._memo import memoized, reuse

calls: list[str] = []


@memoized(copy=True)
def total(table: pd.DataFrame, column: str = "x") -> pd.DataFrame:
    calls.append(column)
    return table[[column]].sum().to_frame("total")


@memoized(copy=False)
def shape(values: np.ndarray, options: dict[str, int]) -> tuple[int, ...]:
    calls.append("shape")
    return values.shape


def setup_function() -> None:
    calls.clear()


def test_outside_a_block_every_call_computes() -> None:
    table = pd.DataFrame({"x": [1, 2], "y": [3, 4]})
    total(table)
    total(table)
    assert calls == ["x", "x"]


def test_inside_a_block_one_computation_per_argument_set() -> None:
    table = pd.DataFrame({"x": [1, 2], "y": [3, 4]})
    other = table.copy()
    with reuse():
        first = total(table)
        again = total(table, "x")  # the default, given: the same call
        total(table=table, column="x")
        total(table, column="y")
        total(other)
    assert calls == ["x", "y", "x"]
    assert first.equals(again)
    with reuse():
        total(table)
    assert calls == ["x", "y", "x", "x"]  # a new block starts empty


def test_copies_protect_the_shared_result() -> None:
    table = pd.DataFrame({"x": [1, 2]})
    with reuse():
        first = total(table)
        first.loc["x", "total"] = -1
        assert total(table).loc["x", "total"] == 3


def test_a_freed_table_never_answers_for_a_new_one() -> None:
    with reuse():
        for value in range(20):
            table = pd.DataFrame({"x": [value]})
            assert total(table).loc["x", "total"] == value
            del table
            gc.collect()
    assert len(calls) == 20


def test_unhashable_arguments_without_weak_references_are_held() -> None:
    values = np.zeros((2, 3))
    options = {"a": 1}
    with reuse():
        assert shape(values, options) == (2, 3)
        assert shape(values, options) == (2, 3)
        assert shape(values, {"a": 1}) == (2, 3)  # an equal dict is another object
    assert calls == ["shape", "shape"]


def test_nested_blocks_share_the_outer_cache() -> None:
    table = pd.DataFrame({"x": [1]})
    with reuse():
        total(table)
        with reuse():
            total(table)
        total(table)
    assert calls == ["x"]
