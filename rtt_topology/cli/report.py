"""Report command: ``report`` writes the offline datacenter report (HTML, Markdown or JSON)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import click

from rtt_topology.cli.common import BadInput, engine_options, input_options, progress_wanted

__all__ = ["report_command"]

_REPORT_FORMATS = ("html", "md", "json")


@click.command("report")
@input_options
@engine_options
@click.option("--rules", "-r", "rules_path", help="Rules file (YAML or JSON).")
@click.option("--corridors", "-c", "corridors_path", help="Declared corridors file.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(_REPORT_FORMATS),
    help="Output format; by default from the suffix of --output, else html.",
)
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
    help="File to write (Markdown figures go to <name>_files beside it); default: stdout.",
)  # fmt: skip
@click.option("--top", "top_n", type=click.IntRange(min=1), default=20, show_default=True,
              help="Rows kept per table.")  # fmt: skip
@click.option("--bucket", default="5min", show_default=True, help="Time bucket (pandas frequency).")
@click.option("--title", default="RTT datacenter report", show_default=True, help="Report title.")
def report_command(
    beacons: Sequence[str],
    profiles: str | None,
    traces: Sequence[str],
    start: str | None,
    end: str | None,
    store: str | None,
    engine: str,
    memory_limit: str | None,
    threads: int | None,
    rules_path: str | None,
    corridors_path: str | None,
    fmt: str | None,
    output: Path | None,
    top_n: int,
    bucket: str,
    title: str,
) -> None:
    """Write the offline datacenter report: one self-contained HTML page (or Markdown, JSON).

    The beacons come from --beacons files or from a history store (--store DIR),
    analysed out of core by DuckDB.
    """
    from contextlib import ExitStack

    from rtt_topology.aggregate.engines import History
    from rtt_topology.report.build import FORMATS, build_report

    if store and beacons:
        raise BadInput("give --beacons or --store DIR, not both")
    if not (beacons or store or profiles or traces):
        raise click.UsageError("give at least one of --beacons, --store, --profiles, --traces")
    chosen = fmt or (FORMATS.get(output.suffix.lower()) if output is not None else None)
    if chosen is None:
        if output is not None:
            raise click.UsageError(
                f"cannot tell the format from {output.name!r}: use .html, .md or .json, "
                "or pass --format"
            )
        chosen = "html"
    with ExitStack() as stack:
        source: list[str] | History | None = list(beacons) or None
        if store:
            history = History.from_store(
                store, start=start, end=end, memory_limit=memory_limit, threads=threads
            )
            source = stack.enter_context(history)
        result = build_report(
            source,
            profiles,
            list(traces) or None,
            rules=rules_path,
            corridors=corridors_path,
            start=start,
            end=end,
            bucket=bucket,
            top_n=top_n,
            title=title,
            progress=progress_wanted(),
            engine=engine,  # type: ignore[arg-type]
        )
    if output is None:
        text = {"html": result.to_html, "md": result.to_markdown, "json": result.to_json}[chosen]()
        click.echo(text)
        return
    path = result.write(output, format=chosen)  # type: ignore[arg-type]
    found = len(result.analysis.incidents) if result.analysis is not None else 0
    click.echo(f"wrote {path} ({chosen}): {len(result.sections)} sections, {found} incidents")
