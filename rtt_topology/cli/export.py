"""Export commands: ``metrics`` (Prometheus exposition) and ``grafana-dashboard`` over them."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import click

from rtt_topology.cli.common import (
    BeaconOptions,
    engine_options,
    one_or_many,
    open_beacons,
    progress_wanted,
    window_options,
)
from rtt_topology.errors import RttTopologyError

__all__ = ["grafana_dashboard", "metrics_command"]


@click.command("metrics")
@click.argument("sources", nargs=-1)
@engine_options
@window_options
@click.option("--profiles", "-p", help="Profiles: a file, directory or glob.")
@click.option(
    "--traces", "-t", multiple=True, help="Trace exports (edge metrics, corridors; repeatable)."
)
@click.option(
    "--corridors", "-c", "corridors_path", help="Declared corridors file (needs --traces)."
)
@click.option(
    "--at", "at", help="The moment described (ISO 8601 with offset); default: the last beacon."
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write a node_exporter textfile (*.prom) atomically instead of printing.",
)
def metrics_command(
    sources: Sequence[str],
    store: str | None,
    engine: str,
    memory_limit: str | None,
    threads: int | None,
    start: str | None,
    end: str | None,
    profiles: str | None,
    traces: Sequence[str],
    corridors_path: str | None,
    at: str | None,
    output: Path | None,
) -> None:
    """Print the Prometheus metrics of beacons, profiles and traces, or write a textfile.

    SOURCES are beacon files, directories or globs; or give --store DIR.
    """
    from rtt_topology._timestamps import instant_ns
    from rtt_topology.export.metrics import exposition, write_textfile
    from rtt_topology.graph.build import build_graph
    from rtt_topology.load import read_profiles
    from rtt_topology.load.traces import read_traces

    try:
        instant_ns(at, "--at")
    except RttTopologyError as exc:
        raise click.BadParameter(str(exc), param_hint="--at") from exc
    if corridors_path and not traces:
        raise click.UsageError("--corridors needs --traces: corridors are checked against them")
    progress = progress_wanted()
    profile_map = read_profiles(profiles).profiles if profiles else None
    spans = read_traces(one_or_many(traces), end=at, progress=progress).spans if traces else None
    results = None
    if corridors_path and spans is not None:
        from rtt_topology.diagnostics.corridors import (
            check_corridors,
            load_corridors,
            observed_paths,
        )

        results = check_corridors(load_corridors(corridors_path), observed_paths(spans))
    options = BeaconOptions(sources, store, start, end, engine, memory_limit, threads)
    with open_beacons(options) as opened:
        assert opened is not None
        beacons = opened.beacons
        G = build_graph(beacons, profile_map, spans=spans, end=at)
        if output is None:
            click.echo(exposition(beacons, profile_map, G, at=at, corridors=results), nl=False)
            return
        try:
            write_textfile(output, beacons, profile_map, G, at=at, corridors=results)
        except OSError as exc:
            raise click.ClickException(f"cannot write {output}: {exc.strerror or exc}") from exc
    click.echo(f"wrote {output}", err=True)


@click.command("grafana-dashboard")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File to write (atomically); default: print.",
)
@click.option("--title", default="RTT-Inside", show_default=True, help="Dashboard title.")
@click.option(
    "--datasource",
    default="${DS_PROMETHEUS}",
    show_default=True,
    help="Prometheus data source: an import input ${NAME}, or a data source uid.",
)
def grafana_dashboard(output: Path | None, title: str, datasource: str) -> None:
    """Print or write a Grafana dashboard (import JSON) over the metrics of `metrics`."""
    from rtt_topology.export.grafana import dashboard_json, write_dashboard

    if output is None:
        click.echo(dashboard_json(title=title, datasource=datasource), nl=False)
        return
    try:
        write_dashboard(output, title=title, datasource=datasource)
    except OSError as exc:
        raise click.ClickException(f"cannot write {output}: {exc.strerror or exc}") from exc
    click.echo(f"wrote {output}", err=True)
