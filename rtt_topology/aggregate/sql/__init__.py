"""The SQL definitions of the aggregations, one per table, run by every engine.

Each definition is a query over the relation ``beacons`` (see
:mod:`rtt_topology.aggregate.engines`) written in DuckDB's dialect, restricted to
what SQLGlot transpiles to Spark SQL (the tests transpile every one). Parameters
are formatted into the text by the functions of each module: numbers as numbers,
text through :func:`~rtt_topology.aggregate.engines.sql_text`. Every module has an
``examples()`` function: each of its queries rendered with typical parameters;
:func:`examples` gathers them all, for an engine or a test to check them at once.

:func:`transpile` turns a definition into another dialect (``spark``) with
SQLGlot. The definitions may use the DuckDB functions of
:data:`PORTABLE_FUNCTIONS`, which SQLGlot's DuckDB reader takes for unknown
functions although they have an equal in the others (``epoch_us`` is Spark's
``unix_micros``); every other function must be one SQLGlot knows.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

__all__ = ["PORTABLE_FUNCTIONS", "examples", "modules", "transpile"]

#: DuckDB functions that SQLGlot reads as unknown, and the SQLGlot expression each is.
PORTABLE_FUNCTIONS: dict[str, str] = {"EPOCH_US": "UnixMicros"}


def modules() -> list[str]:
    """Return the names of the definition modules of this package, sorted.

    Examples
    --------
    >>> "history" in modules()
    True
    """
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def examples() -> dict[str, str]:
    """Return every query of every definition module, keyed ``module.name``.

    Examples
    --------
    >>> "history.restarts" in examples()
    True
    """
    queries: dict[str, str] = {}
    for name in modules():
        module = importlib.import_module(f"{__name__}.{name}")
        for key, query in module.examples().items():
            queries[f"{name}.{key}"] = query
    return queries


def transpile(query: str, dialect: str = "spark") -> str:
    """Return a definition (DuckDB's dialect) written in another SQLGlot ``dialect``.

    Requires SQLGlot. Raises SQLGlot's errors for what the dialect cannot express.

    Examples
    --------
    >>> transpile("SELECT t - epoch_us(received_at) AS lag_us FROM beacons")
    'SELECT t - UNIX_MICROS(received_at) AS lag_us FROM beacons'
    """
    try:
        import sqlglot
        from sqlglot import exp
    except ImportError as exc:  # an optional dependency: say how to get it
        raise ImportError("transpile needs SQLGlot: pip install 'sqlglot>=25'") from exc

    def known(node: Any) -> Any:
        if isinstance(node, exp.Anonymous) and str(node.name).upper() in PORTABLE_FUNCTIONS:
            kind = getattr(exp, PORTABLE_FUNCTIONS[str(node.name).upper()])
            return kind(this=node.expressions[0])
        return node

    tree = sqlglot.parse_one(query, read="duckdb").transform(known)
    return str(tree.sql(dialect=dialect, unsupported_level=sqlglot.ErrorLevel.RAISE))
