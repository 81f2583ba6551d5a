"""Getting started: ``demo`` writes a demo datacenter, summarises it, reports on it, replays it."""

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
@click.option(
    "--replay",
    "replay_url",
    metavar="URL",
    help="Also replay the demo's profiles and beacons into a running RTT server at this "
    "base URL (e.g. http://127.0.0.1:8080/api/rtt of rtt-topology serve).",
)
@click.option(
    "--token-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="File holding the server's bearer token, for --replay.",
)
def demo(
    out: Path,
    seed: int,
    hours: float,
    services: int,
    compress: bool,
    quiet: bool,
    with_report: bool,
    replay_url: str | None,
    token_file: Path | None,
) -> None:
    """Generate the demo datacenter (beacons, profiles, traces, ground truth) and its report.

    With --replay, the demo's profiles and beacons are then posted to a running
    server in batches, so that ``rtt-topology report --beacons DATA`` on the server's
    data directory finds the demo's incidents, except those about quarantined
    records (the loader keeps them out, so they are never sent).
    """
    from rtt_topology.demo import generate_demo

    if token_file is not None and replay_url is None:
        raise click.UsageError("--token-file is only used with --replay")
    if replay_url is not None:
        from rtt_topology.errors import InputError
        from rtt_topology.remote.core import resolve_base_url

        # Refuse a bad URL before spending time on the demo.
        try:
            replay_url = resolve_base_url(replay_url)
        except InputError as exc:
            raise click.BadParameter(str(exc), param_hint="--replay") from exc

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
    if replay_url is not None:
        _replay(out, replay_url, token_file)


def _replay(out: Path, url: str, token_file: Path | None) -> None:
    from rtt_topology.remote.replay import replay_history
    from rtt_topology.remote.server.auth import read_token

    token = read_token(token_file) if token_file is not None else None
    result = replay_history(out / "beacons", url, profiles=out / "profiles", token=token)
    click.echo(
        f"replayed into {url}: {result.profiles} profiles, {result.accepted} of {result.sent} "
        f"beacons accepted in {result.batches} batches ({result.beacons_per_s:,.0f} beacons/s); "
        f"{result.quarantined} quarantined records and {result.duplicates} duplicates not sent"
    )
    for reject in result.rejects[:10]:
        click.echo(f"rejected by the server: {reject}", err=True)
    if result.rejected:
        # Server and loader share one rule set: a refusal means they disagree.
        raise click.ClickException(f"the server refused {result.rejected} beacons")
