"""Benchmark: the triad census and enumeration, against networkx and igraph.

Two directed graphs of ``--nodes`` nodes: a random one with ``--edges`` edges
(:func:`networkx.gnm_random_graph`) and a scale-free one (:func:`networkx.scale_free_graph`,
parallel edges merged, its few self-loops kept). For each it prints:

- the census time of :func:`rtt_topology.diagnostics.triads.triadic_census` (best of ``--repeat``),
  of :func:`networkx.triadic_census` (once, in a child process stopped after
  ``--networkx-timeout`` seconds: on the scale-free graph it can take minutes) and of
  igraph's C census (``Graph.triad_census``, best of ``--repeat``, with and without
  building the igraph graph from networkx) when igraph is importable; each as the
  ratio of its time to ours (above 1: ours is faster); every census is checked equal
  to ours;
- :func:`~rtt_topology.diagnostics.triads.node_census` time;
- enumeration throughput over the first ``--million`` million connected triads (or all
  of them if fewer), through :func:`~rtt_topology.diagnostics.triads.triads` (one tuple per triad)
  and :func:`~rtt_topology.diagnostics.triads.triad_chunks` (data frames of 100,000 rows).

Usage::

    python benchmarks/bench_triads.py
    python benchmarks/bench_triads.py --networkx-timeout 0   # without networkx: seconds
"""

from __future__ import annotations

import argparse
import importlib
import multiprocessing
import queue
import time
from collections.abc import Callable
from itertools import islice
from typing import Any

import networkx as nx

from rtt_topology.diagnostics.triads.decomposition import (
    node_census,
    triad_chunks,
    triadic_census,
    triads,
)


def _best(function: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def _networkx_census(G: nx.DiGraph[Any], results: Any) -> None:
    start = time.perf_counter()
    counts = nx.triadic_census(G)
    results.put((time.perf_counter() - start, counts))


def _networkx(G: nx.DiGraph[Any], timeout_s: float) -> tuple[float, dict[str, int]] | None:
    """Time networkx's census in a child process; None if it outlasts ``timeout_s``."""
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    child = context.Process(target=_networkx_census, args=(G, results))
    child.start()
    try:
        found: tuple[float, dict[str, int]] = results.get(timeout=timeout_s)
    except queue.Empty:
        return None
    finally:
        if child.is_alive():
            child.terminate()
        child.join()
    return found


def _igraph(G: nx.DiGraph[Any], repeat: int) -> tuple[float, float, dict[str, int]] | None:
    try:
        # Imported by name: igraph ships no type information, and is optional here.
        igraph = importlib.import_module("igraph")
    except ImportError:
        return None
    at = {node: i for i, node in enumerate(G)}

    def build() -> Any:
        edges = [(at[u], at[v]) for u, v in G.edges]
        return igraph.Graph(n=len(at), edges=edges, directed=True)

    build_s, graph = _best(build, repeat)
    census_s, counts = _best(graph.triad_census, repeat)
    return build_s, census_s, dict(zip(nx.triadic_census(nx.DiGraph()), counts, strict=True))


def _throughput(G: nx.DiGraph[Any], limit: int) -> tuple[float, float, int]:
    start = time.perf_counter()
    taken = sum(1 for _ in islice(triads(G), limit))
    one_by_one = taken / (time.perf_counter() - start)
    start = time.perf_counter()
    rows = 0
    for frame in triad_chunks(G, size=100_000):
        rows += len(frame)
        if rows >= limit:
            break
    return one_by_one, rows / (time.perf_counter() - start), taken


def _run(name: str, G: nx.DiGraph[Any], args: argparse.Namespace) -> None:
    print(f"\n{name}: {G.number_of_nodes()} nodes, {G.number_of_edges()} edges, "
          f"{nx.number_of_selfloops(G)} self-loops")  # fmt: skip
    ours_s, ours = _best(lambda: triadic_census(G), args.repeat)
    print(f"  rtt_topology census      {ours_s:9.4f} s")
    timeout_s = args.networkx_timeout
    reference = _networkx(G, timeout_s) if timeout_s > 0 else None
    if timeout_s <= 0:
        print("  networkx census          skipped")
    elif reference is None:
        print(f"  networkx census          > {timeout_s:g} s (stopped)   ratio > "
              f"{timeout_s / ours_s:.0f}")  # fmt: skip
    else:
        nx_s, counts = reference
        assert counts == ours, "networkx disagrees"
        print(f"  networkx census          {nx_s:9.4f} s   ratio {nx_s / ours_s:8.1f}")
    found = _igraph(G, args.repeat)
    if found is None:
        print("  igraph                   not installed")
    else:
        build_s, census_s, counts = found
        assert counts == ours, "igraph disagrees"
        print(f"  igraph census            {census_s:9.4f} s   ratio {census_s / ours_s:8.2f}")
        total_s = build_s + census_s
        print(f"  igraph build + census    {total_s:9.4f} s   ratio {total_s / ours_s:8.2f}")
    node_s, _ = _best(lambda: node_census(G), args.repeat)
    print(f"  rtt_topology node_census {node_s:9.4f} s")
    connected = sum(v for k, v in ours.items() if k not in ("003", "012", "102"))
    limit = int(args.million * 1_000_000)
    one_by_one, chunked, taken = _throughput(G, limit)
    print(f"  enumeration of {taken:,} of {connected:,} connected triads: triads() "
          f"{one_by_one / 1e6:.2f} M/s, triad_chunks() {chunked / 1e6:.2f} M/s")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--nodes", type=int, default=20_000)
    parser.add_argument("--edges", type=int, default=60_000, help="of the random graph")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--million", type=float, default=2.0, help="triads to enumerate")
    parser.add_argument(
        "--networkx-timeout", type=float, default=100.0, help="seconds; 0 skips networkx"
    )
    args = parser.parse_args()
    random = nx.gnm_random_graph(args.nodes, args.edges, directed=True, seed=args.seed)
    _run("random (gnm)", random, args)
    scale_free: nx.DiGraph[int] = nx.DiGraph(nx.scale_free_graph(args.nodes, seed=args.seed))
    _run("scale-free", scale_free, args)


if __name__ == "__main__":
    main()
