"""Benchmark: build the service graph from a large edge table, against networkx's own builder.

Builds a synthetic edge table of ``--services`` services and ``--edges`` edges with
every column ``read_traces`` gives, then times, in the same process (best of
``--repeat``):

- ``networkx.from_pandas_edgelist`` with all columns as edge attributes (the
  baseline: no contract, numpy scalars left in the attributes);
- :func:`rtt_topology.build_graph` (contract attributes as plain Python values,
  node flags, kinds merged per pair).

Usage::

    python benchmarks/bench_build_graph.py --services 20000 --edges 60000
"""

from __future__ import annotations

import argparse
import time

import networkx as nx
import numpy as np
import pandas as pd

from rtt_topology import build_graph


def edge_table(services: int, edges: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    pairs: set[tuple[int, int]] = set()
    while len(pairs) < edges:
        callers = rng.integers(0, services, edges)
        callees = rng.integers(0, services, edges)
        pairs.update((int(a), int(b)) for a, b in zip(callers, callees, strict=True) if a != b)
    ordered = sorted(pairs)[:edges]
    names = np.array([f"svc-{i:05d}" for i in range(services)], dtype=object)
    calls = rng.integers(1, 10_000, edges)
    start = pd.Timestamp("2026-01-19T00:00:00Z")
    first = start + pd.to_timedelta(rng.integers(0, 3_600, edges), unit="s")
    return pd.DataFrame(
        {
            "caller": names[[a for a, _ in ordered]],
            "callee": names[[b for _, b in ordered]],
            "kind": rng.choice(["rpc", "rpc", "database", "messaging", "virtual"], edges),
            "calls": calls,
            "errors": rng.integers(0, 10, edges),
            "p50_ms": rng.gamma(2.0, 5.0, edges),
            "p95_ms": rng.gamma(2.0, 20.0, edges),
            "first_seen": first,
            "last_seen": first + pd.to_timedelta(rng.integers(60, 80_000, edges), unit="s"),
            "sample_trace_ids": [[f"{i:032x}"] for i in range(edges)],
            "callee_virtual": rng.random(edges) < 0.05,
        }
    )


def best(function: object, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=20_000)
    parser.add_argument("--edges", type=int, default=60_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    table = edge_table(args.services, args.edges)
    baseline = best(
        lambda: nx.from_pandas_edgelist(
            table, "caller", "callee", edge_attr=True, create_using=nx.DiGraph
        ),
        args.repeat,
    )
    ours = best(lambda: build_graph(edges=table), args.repeat)
    G = build_graph(edges=table)
    print(
        f"{args.services} services, {args.edges} edges -> {G.number_of_nodes()} nodes, "
        f"{G.number_of_edges()} edges"
    )
    print(f"networkx.from_pandas_edgelist  {baseline:7.3f} s   1.00")
    print(f"rtt_topology.build_graph       {ours:7.3f} s   {ours / baseline:4.2f}")


if __name__ == "__main__":
    main()
