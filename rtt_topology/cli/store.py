"""Store commands: ``ingest`` beacon files into a history store, ``store info`` to describe one."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import click

from rtt_topology.cli.common import EXIT_FAILURE, EXIT_OK, one_or_many, progress_wanted
from rtt_topology.cli.output import echo_json

__all__ = ["ingest_command", "store_group"]


@click.command("ingest")
@click.argument("sources", nargs=-1, required=True)
@click.option(
    "--store",
    "store",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The history store (a new or empty directory becomes one).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl", "json", "csv", "parquet", "log"]),
    help="Read every source in this format, whatever its suffix.",
)
@click.option("--assume-utc", is_flag=True, help="Read timestamps without offset as UTC.")
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Draw a progress bar on stderr (default: when stderr is a terminal).",
)
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def ingest_command(
    sources: Sequence[str],
    store: Path,
    fmt: str | None,
    assume_utc: bool,
    progress: bool | None,
    as_json: bool,
) -> int:
    """Add beacon files to a history store (day-partitioned Parquet), once each.

    SOURCES are files, directories or globs, as `summary` reads them (a server's
    data directory too). Files already ingested with the same content are skipped;
    exact duplicates are collapsed; rejected records are kept in the store. Exits
    with 1 when a file could not be read.
    """
    from rtt_topology.store import ingest

    result = ingest(
        one_or_many(sources),
        store,
        format=fmt,
        assume_utc=assume_utc,
        progress=progress_wanted() if progress is None else progress,
    )
    if as_json:
        echo_json(result.to_dict())
    else:
        click.echo(result.summary())
    return EXIT_FAILURE if result.report.failures else EXIT_OK


@click.group("store")
def store_group() -> None:
    """Describe a history store."""


@store_group.command("info")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def info_command(directory: Path, as_json: bool) -> None:
    """Print the days, services, beacons, rejects and size of a history store."""
    from rtt_topology.store import store_info

    info = store_info(directory)
    if as_json:
        echo_json(info.to_dict())
        return
    span = f"{info.first_day} .. {info.last_day}" if info.days else "none"
    click.echo(f"store     {info.store}")
    click.echo(f"days      {len(info.days)} ({span})")
    click.echo(f"services  {info.services}")
    click.echo(f"beacons   {info.beacons}")
    click.echo(f"rejects   {info.rejects}")
    click.echo(f"ingests   {info.ingests}")
    click.echo(f"files     {info.files}")
    click.echo(f"size      {info.size_bytes} bytes ({info.size_bytes / 1e6:.1f} MB)")
