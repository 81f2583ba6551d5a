"""Every SQL definition of the aggregations transpiles to Spark and runs on DuckDB."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator
from types import ModuleType

import pandas as pd
import pytest

import rtt_topology.aggregate.sql as sql_package
from rtt_topology.aggregate.engines import History

sqlglot = pytest.importorskip("sqlglot")
from sqlglot import exp  # noqa: E402


def _modules() -> list[ModuleType]:
    names = sorted(
        m.name for m in pkgutil.iter_modules(sql_package.__path__) if not m.name.startswith("_")
    )
    return [importlib.import_module(f"{sql_package.__name__}.{name}") for name in names]


MODULES = _modules()
QUERIES = [
    pytest.param(query, id=f"{module.__name__.rsplit('.', 1)[1]}.{name}")
    for module in MODULES
    for name, query in module.examples().items()
]


@pytest.fixture(scope="module")
def demo_history(demo_beacons: pd.DataFrame) -> Iterator[History]:
    with History.from_frame(demo_beacons) as history:
        yield history


def test_every_module_declares_its_queries() -> None:
    assert any(module.__name__.endswith(".history") for module in MODULES)
    for module in MODULES:
        assert isinstance(module.__all__, list | tuple), module.__name__
        assert "examples" in module.__all__, module.__name__
        examples = module.examples()
        assert examples, module.__name__
        assert all(isinstance(q, str) and q.strip() for q in examples.values()), module.__name__


def test_the_package_gathers_every_example() -> None:
    gathered = sql_package.examples()
    assert len(gathered) == len(QUERIES)
    for module in MODULES:
        short = module.__name__.rsplit(".", 1)[1]
        for name, query in module.examples().items():
            assert gathered[f"{short}.{name}"] == query


@pytest.mark.parametrize("query", QUERIES)
def test_transpiles_to_spark(query: str) -> None:
    (spark,) = sqlglot.transpile(
        query, read="duckdb", write="spark", unsupported_level=sqlglot.ErrorLevel.RAISE
    )
    assert spark.upper().startswith(("SELECT", "WITH"))
    # A function sqlglot does not know passes through unchanged, unchecked: allow only
    # those that the package maps to what they are.
    tree = sqlglot.parse_one(query, read="duckdb")
    unknown = {f.name.upper() for f in tree.find_all(exp.Anonymous)}
    assert unknown <= set(sql_package.PORTABLE_FUNCTIONS), f"unknown functions: {sorted(unknown)}"
    # The package's own transpile leaves none of them behind.
    portable = sqlglot.parse_one(sql_package.transpile(query, "spark"), read="spark")
    left = {f.name.upper() for f in portable.find_all(exp.Anonymous)}
    assert not left & set(sql_package.PORTABLE_FUNCTIONS), sorted(left)


@pytest.mark.parametrize("query", QUERIES)
def test_runs_on_duckdb(query: str, demo_history: History) -> None:
    result = demo_history.sql(query)
    assert isinstance(result, pd.DataFrame)
    assert len(result.columns) > 0
