"""Graph commands: ``graph`` writes the service graph, ``reconcile`` checks it against profiles."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import click

from rtt_topology.cli.common import input_options, load_graph
from rtt_topology.cli.output import echo_json

__all__ = ["graph", "reconcile_command"]

_GRAPH_FORMATS = {".json": "json", ".graphml": "graphml", ".dot": "dot", ".gv": "dot"}


@click.command()
@input_options
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["json", "graphml", "dot"]),
    help="Output format; by default from the file suffix (.json, .graphml, .dot).",
)
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False, path_type=Path), required=True,
    help="File to write.",
)  # fmt: skip
def graph(
    beacons: Sequence[str],
    profiles: str | None,
    traces: Sequence[str],
    start: str | None,
    end: str | None,
    fmt: str | None,
    output: Path,
) -> None:
    """Build the service graph and write it as node-link JSON, GraphML or Graphviz DOT."""
    from rtt_topology.graph import io

    chosen = fmt or _GRAPH_FORMATS.get(output.suffix.lower())
    if chosen is None:
        raise click.UsageError(f"cannot tell the format from {output.name!r}: pass --format")
    G = load_graph(beacons, profiles, traces, start, end)[0]
    writers = {"json": io.write_node_link, "graphml": io.write_graphml, "dot": io.write_dot}
    writers[chosen](G, output)
    click.echo(
        f"wrote {output} ({chosen}): {G.number_of_nodes()} services, {G.number_of_edges()} edges"
    )


@click.command("reconcile")
@input_options
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def reconcile_command(
    beacons: Sequence[str],
    profiles: str | None,
    traces: Sequence[str],
    start: str | None,
    end: str | None,
    as_json: bool,
) -> None:
    """Compare declared services and dependencies with what beacons and traces show."""
    import pandas as pd
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from rtt_topology.graph.reconciliation import reconcile

    result = reconcile(load_graph(beacons, profiles, traces, start, end)[0])
    if as_json:
        echo_json(result.to_dict())
        return
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
    for title, frame, columns in (
        ("services", result.nodes, ["name", "status", "group"]),
        ("dependencies", result.edges, ["caller", "callee", "status", "kind", "calls", "via"]),
    ):
        shown = frame[frame["status"] != "managed"]
        view = Table(title=f"{title} not managed ({len(shown)} of {len(frame)})", show_edge=False)
        for column in columns:
            view.add_column(column)
        for row in shown[columns].itertuples(index=False):
            view.add_row(*(Text("" if pd.isna(v) else str(v)) for v in row))
        console.print(view)
    counts = result.counts()
    click.echo("services: " + ", ".join(f"{k} {v}" for k, v in sorted(counts["nodes"].items())))
    click.echo("dependencies: " + ", ".join(f"{k} {v}" for k, v in sorted(counts["edges"].items())))
    click.echo(
        "coverage: "
        + ", ".join(
            f"{k.replace('_', ' ')} {'n/a' if v is None else f'{v:.1f}%'}"
            for k, v in result.coverage.items()
        )
    )
