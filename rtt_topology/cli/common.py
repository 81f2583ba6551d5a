"""Pieces the commands share: exit codes, bad-input errors, the input options, graph loading.

The commands that analyse beacons read them from SOURCES (files, directories, globs)
or from a history store (``--store DIR``), with the same options everywhere
(:func:`engine_options`, :func:`window_options`) and one way to open them
(:func:`open_beacons`).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import click

__all__ = [
    "EXIT_FAILURE",
    "EXIT_OK",
    "EXIT_USAGE",
    "BadInput",
    "BeaconInput",
    "BeaconOptions",
    "engine_options",
    "graph_of",
    "input_options",
    "load_graph",
    "one_or_many",
    "open_beacons",
    "progress_wanted",
    "window",
    "window_options",
]

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2


def progress_wanted() -> bool:
    """Tell whether to draw progress bars: only when stderr is a terminal."""
    return sys.stderr.isatty()


class BadInput(click.ClickException):
    """Bad input for a command whose exit codes are 0 ok, 1 findings, 2 bad input."""

    exit_code = EXIT_USAGE

    def show(self, file: Any = None) -> None:
        """Print the message as one ``error:`` line on stderr."""
        click.echo(f"error: {self.message}", err=True)


def input_options(function: Any) -> Any:
    """Add the options that select a graph's inputs and window."""
    options = [
        click.option(
            "--beacons",
            "-b",
            multiple=True,
            help="Beacon files, directories or globs (repeatable).",
        ),
        click.option("--profiles", "-p", help="Profiles: a file, directory or glob."),
        click.option(
            "--traces", "-t", multiple=True, help="Trace exports: files, directories or globs."
        ),
        click.option("--from", "start", help="Window start, ISO 8601 with offset (inclusive)."),
        click.option("--to", "end", help="Window end, ISO 8601 with offset (exclusive)."),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def one_or_many(sources: Sequence[str]) -> str | list[str]:
    """Pass one source as itself and several as a list, as the readers take them."""
    return sources[0] if len(sources) == 1 else list(sources)


def load_graph(
    beacons: Sequence[str],
    profiles: str | None,
    traces: Sequence[str],
    start: str | None,
    end: str | None,
) -> tuple[Any, Any, Any]:
    """Read the inputs; return the service graph, the beacon table and the profiles."""
    from rtt_topology.graph.build import build_graph
    from rtt_topology.load import read_beacons, read_profiles
    from rtt_topology.load.traces import read_traces

    if not (beacons or profiles or traces):
        raise click.UsageError("give at least one of --beacons, --profiles, --traces")
    progress = progress_wanted()
    beacon_table = (
        read_beacons(one_or_many(beacons), progress=progress).beacons if beacons else None
    )
    profile_map = read_profiles(profiles).profiles if profiles else None
    spans = (
        read_traces(one_or_many(traces), start=start, end=end, progress=progress).spans
        if traces
        else None
    )
    graph = build_graph(beacon_table, profile_map, spans=spans, start=start, end=end)
    return graph, beacon_table, profile_map


def window_options(function: Any) -> Any:
    """Add ``--from`` and ``--to``: the window of the beacons, ``start <= ts < end``."""
    options = [
        click.option("--from", "start", help="Window start, ISO 8601 with offset (inclusive)."),
        click.option("--to", "end", help="Window end, ISO 8601 with offset (exclusive)."),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def engine_options(function: Any) -> Any:
    """Add ``--store``, ``--engine``, ``--memory-limit`` and ``--threads``."""
    options = [
        click.option(
            "--store",
            metavar="DIR",
            help="Read the beacons from this history store (see `ingest`) instead of SOURCES.",
        ),
        click.option(
            "--engine",
            type=click.Choice(["auto", "pandas", "duckdb"]),
            default="auto",
            show_default=True,
            help="Analysis engine: auto runs DuckDB for a store or a large history.",
        ),
        click.option(
            "--memory-limit",
            "memory_limit",
            metavar="SIZE",
            help="DuckDB's memory limit, e.g. 4GB (default: 80% of the RAM).",
        ),
        click.option(
            "--threads",
            type=click.IntRange(min=1),
            help="DuckDB's threads (default: the machine's cores).",
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function


@dataclass(frozen=True)
class BeaconOptions:
    """Where a command reads its beacons, and how it analyses them."""

    sources: Sequence[str] = ()
    store: str | None = None
    start: str | None = None
    end: str | None = None
    engine: str = "auto"
    memory_limit: str | None = None
    threads: int | None = None


@dataclass
class BeaconInput:
    """The beacons a command analyses: a table or a history, with the load's report."""

    beacons: Any  # pandas.DataFrame | History
    report: Any  # LoadReport | None (a store's: its quarantined records only)


@contextmanager
def open_beacons(
    options: BeaconOptions, *, required: bool = True, progress: bool | None = None
) -> Iterator[BeaconInput | None]:
    """Open the beacons of a command: SOURCES read in memory, or a history store.

    With ``--store`` the beacons stay in the store and DuckDB scans them (unless
    ``--engine pandas``, which loads the window). SOURCES with ``--engine duckdb``
    (or ``auto`` above the size limit) are scanned from memory by DuckDB with the
    given memory limit and threads. The history is closed on exit.

    Raises
    ------
    BadInput
        If both or (when ``required``) neither of SOURCES and ``--store`` are given.
    """
    from rtt_topology.aggregate.engines import History, choose_engine

    if options.store and options.sources:
        raise BadInput("give SOURCES or --store DIR, not both")
    if not options.store and not options.sources:
        if required:
            raise BadInput("give beacon SOURCES or --store DIR")
        yield None
        return
    memory_limit, threads = options.memory_limit, options.threads
    if options.store:
        from rtt_topology.report.inputs import store_load_report

        with History.from_store(
            options.store,
            start=options.start,
            end=options.end,
            memory_limit=memory_limit,
            threads=threads,
        ) as history:
            quarantined = store_load_report(options.store)
            if options.engine == "pandas":
                yield BeaconInput(history.frame(), quarantined)
            else:
                yield BeaconInput(history, quarantined)
        return
    from rtt_topology.load import read_beacons

    show = progress_wanted() if progress is None else progress
    load = read_beacons(one_or_many(options.sources), progress=show)
    table = window(load.beacons, options.start, options.end)
    if choose_engine(table, options.engine) == "pandas":
        yield BeaconInput(table, load.report)
        return
    with History.from_frame(table, memory_limit=memory_limit, threads=threads) as history:
        yield BeaconInput(history, load.report)


def window(table: Any, start: str | None, end: str | None) -> Any:
    """Keep the beacons with ``start <= ts < end``."""
    from rtt_topology._timestamps import aware_utc

    first, last = aware_utc(start, "--from"), aware_utc(end, "--to")
    if first is None and last is None:
        return table
    keep = table["ts"].notna()
    if first is not None:
        keep &= table["ts"] >= first
    if last is not None:
        keep &= table["ts"] < last
    return table[keep.to_numpy()].reset_index(drop=True)


def graph_of(
    beacons: Any,
    profiles: str | None,
    traces: Sequence[str],
    start: str | None,
    end: str | None,
) -> tuple[Any, Any]:
    """Read profiles and traces; return the service graph over the beacons, and the profiles."""
    from rtt_topology.graph.build import build_graph
    from rtt_topology.load import read_profiles
    from rtt_topology.load.traces import read_traces

    profile_map = read_profiles(profiles).profiles if profiles else None
    spans = (
        read_traces(one_or_many(traces), start=start, end=end, progress=progress_wanted()).spans
        if traces
        else None
    )
    return build_graph(beacons, profile_map, spans=spans, start=start, end=end), profile_map
