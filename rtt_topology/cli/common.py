"""Pieces the commands share: exit codes, bad-input errors, the input options, graph loading."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import click

__all__ = [
    "EXIT_FAILURE",
    "EXIT_OK",
    "EXIT_USAGE",
    "BadInput",
    "input_options",
    "load_graph",
    "one_or_many",
    "progress_wanted",
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
