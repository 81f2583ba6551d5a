"""Getting started: ``demo`` writes a demo datacenter, summarises it and reports on it."""

from __future__ import annotations

from pathlib import Path

import click

from rtt_topology.cli.common import progress_wanted
from rtt_topology.cli.load import print_summary

__all__ = ["demo"]


@click.command()
@click.option(
    "--out",
    "-o",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("demo-output"),
    show_default=True,
    help="Directory to write the demo datacenter into.",
)
@click.option("--seed", type=int, default=7, show_default=True, help="Random seed.")
@click.option("--hours", type=click.FloatRange(min=1.0), default=24.0, show_default=True)
@click.option("--services", type=click.IntRange(min=8), default=40, show_default=True)
@click.option("--compress", is_flag=True, help="Write beacon files gzip-compressed.")
@click.option("--quiet", "-q", is_flag=True, help="Only print where the files are.")
@click.option(
    "--report/--no-report",
    "with_report",
    default=True,
    show_default=True,
    help="Also write the offline report of the demo datacenter (OUT/report.html).",
)
def demo(
    out: Path,
    seed: int,
    hours: float,
    services: int,
    compress: bool,
    quiet: bool,
    with_report: bool,
) -> None:
    """Generate the demo datacenter (beacons, profiles, traces, ground truth) and its report."""
    from rtt_topology.demo import generate_demo

    manifest = generate_demo(out, seed=seed, hours=hours, services=services, compress=compress)
    if not quiet:
        beacons_dir = out / "beacons"
        profiles_dir = out / "profiles"
        print_summary([str(beacons_dir)], profiles=str(profiles_dir), as_json=False)
    beacons = sum(manifest.beacons_per_file.values())
    click.echo(
        f"demo datacenter written to {out}: {len(manifest.ground_truth.services)} services, "
        f"{beacons} beacons, {manifest.traces} traces ({manifest.spans} spans), "
        f"{len(manifest.ground_truth.incidents)} injected incidents"
    )
    click.echo(f"ground truth of the injected incidents: {out / 'ground_truth.json'}")
    if with_report:
        from rtt_topology.report.build import build_report

        report = build_report(
            out / "beacons",
            out / "profiles",
            out / "traces",
            rules=out / "rules.yaml",
            corridors=out / "corridors.yaml",
            title="RTT datacenter report: demo datacenter",
            progress=progress_wanted(),
        )
        path = report.write(out / "report.html")
        click.echo(f"report: {path} (open it in a browser; it works offline)")
