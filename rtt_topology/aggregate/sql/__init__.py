"""The SQL definitions of the aggregations, one per table, run by every engine.

Each definition is a query over the relation ``beacons`` (see
:mod:`rtt_topology.aggregate.engines`) written in DuckDB's dialect, restricted to
what SQLGlot transpiles to Spark SQL (the tests transpile every one). Parameters
are formatted into the text by the functions of each module: numbers as numbers,
text through :func:`~rtt_topology.aggregate.engines.sql_text`.
"""

__all__: list[str] = []
