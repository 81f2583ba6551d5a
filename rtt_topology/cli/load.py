"""Load commands: ``summary``, the per-service digest of beacon histories with the load report."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import click

from rtt_topology.cli.common import (
    BadInput,
    BeaconOptions,
    engine_options,
    open_beacons,
    progress_wanted,
    window,
    window_options,
)
from rtt_topology.cli.output import echo_json
from rtt_topology.errors import LoadError

if TYPE_CHECKING:
    from rtt_topology.aggregate.engines import Engine

__all__ = ["print_history_summary", "print_summary", "summary"]


@click.command()
@click.argument("sources", nargs=-1)
@engine_options
@window_options
@click.option("--profiles", "-p", "profiles", help="Profiles: a file, directory or glob.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl", "json", "csv", "parquet", "log"]),
    help="Read every source in this format, whatever its suffix.",
)
@click.option("--assume-utc", is_flag=True, help="Read timestamps without offset as UTC.")
@click.option("--strict", is_flag=True, help="Fail on any rejected record or unreadable file.")
@click.option(
    "--rejects",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write rejected records to this file as JSON Lines.",
)
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def summary(
    sources: Sequence[str],
    store: str | None,
    engine: str,
    memory_limit: str | None,
    threads: int | None,
    start: str | None,
    end: str | None,
    profiles: str | None,
    fmt: str | None,
    assume_utc: bool,
    strict: bool,
    rejects: Path | None,
    as_json: bool,
) -> None:
    """Summarise beacon histories per service, with the load report.

    SOURCES are files, directories or globs of JSON Lines, JSON, CSV, Parquet or
    service logs (text formats may be gzip-compressed); or give --store DIR.
    """
    if store:
        if sources or fmt or assume_utc or rejects:
            raise BadInput("--store reads a history store: give no SOURCES, --format, "
                           "--assume-utc or --rejects with it")  # fmt: skip
        options = BeaconOptions((), store, start, end, engine, memory_limit, threads)
        print_history_summary(options, profiles=profiles, as_json=as_json, strict=strict)
        return
    if not sources:
        raise BadInput("give beacon SOURCES or --store DIR")
    print_summary(
        list(sources),
        profiles=profiles,
        as_json=as_json,
        fmt=fmt,
        assume_utc=assume_utc,
        strict=strict,
        rejects=rejects,
        start=start,
        end=end,
        engine=engine,
    )


def print_summary(
    sources: list[str],
    *,
    profiles: str | None,
    as_json: bool,
    fmt: str | None = None,
    assume_utc: bool = False,
    strict: bool = False,
    rejects: Path | None = None,
    start: str | None = None,
    end: str | None = None,
    engine: str = "auto",
) -> None:
    """Read beacons (and profiles); print the per-service summary and the load report."""
    from rtt_topology.aggregate.history import service_summary
    from rtt_topology.load import read_beacons, read_profiles

    load = read_beacons(
        sources[0] if len(sources) == 1 else sources,
        format=fmt,
        assume_utc=assume_utc,
        strict=strict,
        progress=progress_wanted() and not as_json,
    )
    if load.report.failures and not load.report.files:
        failure = load.report.failures[0]
        raise LoadError(failure.source, f"no file could be read ({failure.reason})")
    table = service_summary(window(load.beacons, start, end), engine=cast("Engine", engine))
    declared: dict[str, Any] = {}
    profile_report = None
    if profiles is not None:
        profile_load = read_profiles(profiles, strict=strict)
        declared = dict(profile_load.profiles)
        profile_report = profile_load.report
    if rejects is not None:
        load.report.write_rejects(rejects)
    if profiles is not None:
        table["declared"] = table["site"].isin(list(declared))
    missing = sorted(set(declared) - set(table["site"]))

    if as_json:
        data: dict[str, Any] = {
            "services": table.to_dict(orient="records"),
            "load": load.report.to_dict(),
        }
        if profile_report is not None:
            data["declared_not_seen"] = missing
            data["profiles"] = profile_report.to_dict()
        echo_json(data)
        return
    _render_table(table)
    if missing:
        click.echo(f"declared in a profile but never seen: {', '.join(missing)}")
    click.echo(load.report.summary())
    if profile_report is not None:
        click.echo("profiles: " + profile_report.summary())
    if rejects is not None:
        click.echo(f"rejected records written to {rejects}")


def print_history_summary(
    options: BeaconOptions, *, profiles: str | None, as_json: bool, strict: bool = False
) -> None:
    """Print the per-service summary of a history store (its window) and its quarantine."""
    from rtt_topology.aggregate.history import service_summary
    from rtt_topology.load import read_profiles

    with open_beacons(options, progress=progress_wanted() and not as_json) as opened:
        assert opened is not None
        table = service_summary(opened.beacons)
        beacons = len(opened.beacons)
        report = opened.report
    declared: dict[str, Any] = {}
    profile_report = None
    if profiles is not None:
        profile_load = read_profiles(profiles, strict=strict)
        declared = dict(profile_load.profiles)
        profile_report = profile_load.report
        table["declared"] = table["site"].isin(list(declared))
    missing = sorted(set(declared) - set(table["site"]))
    rejected = 0 if report is None else len(report.rejects)
    if as_json:
        data: dict[str, Any] = {"services": table.to_dict(orient="records")}
        data["store"] = {"path": options.store, "beacons": beacons, "rejected": rejected}
        if profile_report is not None:
            data["declared_not_seen"] = missing
            data["profiles"] = profile_report.to_dict()
        echo_json(data)
        return
    _render_table(table)
    if missing:
        click.echo(f"declared in a profile but never seen: {', '.join(missing)}")
    click.echo(f"store {options.store}: {beacons} beacons, {rejected} quarantined record(s)")
    if profile_report is not None:
        click.echo("profiles: " + profile_report.summary())


def _render_table(table: Any) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
    view = Table(show_edge=False, header_style="bold", pad_edge=False)
    view.add_column("site", no_wrap=True)
    for name in ("beacons", "sessions"):
        view.add_column(name, justify="right")
    view.add_column("first seen (UTC)", no_wrap=True)
    view.add_column("last seen (UTC)", no_wrap=True)
    view.add_column("median s", justify="right")
    has_declared = "declared" in table.columns
    if has_declared:
        view.add_column("declared")
    view.add_column("events", overflow="fold")
    for row in table.itertuples(index=False):
        events = ", ".join(f"{k}={v}" for k, v in list(row.events.items())[:3])
        if len(row.events) > 3:
            events += f", +{len(row.events) - 3} more"
        interval = row.median_interval_s
        cells = [
            str(row.site),
            str(row.beacons),
            str(row.sessions),
            row.first_seen.strftime("%Y-%m-%d %H:%M:%S"),
            row.last_seen.strftime("%Y-%m-%d %H:%M:%S"),
            "" if interval != interval else f"{interval:.1f}",
        ]
        if has_declared:
            cells.append("yes" if row.declared else "no")
        cells.append(events)
        # Names come from data: render them as plain text, never as markup.
        view.add_row(*(Text(cell) for cell in cells))
    console.print(view)
