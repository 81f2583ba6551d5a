"""Analysis commands: ``status`` (liveness, root causes, readiness), ``drift`` (with cadence).

Both read SOURCES or a history store (``--store``); ``incidents`` joins every analysis
into one table of what happened.
"""

from __future__ import annotations

from collections.abc import Sequence

import click

from rtt_topology.cli.common import (
    BeaconOptions,
    engine_options,
    graph_of,
    open_beacons,
    window_options,
)
from rtt_topology.cli.output import echo_json, frame_records, print_table

__all__ = ["drift_command", "incidents_command", "status"]


@click.command()
@click.argument("sources", nargs=-1)
@engine_options
@window_options
@click.option("--profiles", "-p", help="Profiles: a file, directory or glob.")
@click.option("--traces", "-t", multiple=True, help="Trace exports, for dependencies.")
@click.option(
    "--at", "at", help="The moment to judge (ISO 8601 with offset); default: end of data."
)
@click.option(
    "--grace", "grace_s", type=click.FloatRange(min=0), help="Grace seconds (default: one period)."
)
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def status(
    sources: Sequence[str],
    store: str | None,
    engine: str,
    memory_limit: str | None,
    threads: int | None,
    start: str | None,
    end: str | None,
    profiles: str | None,
    traces: Sequence[str],
    at: str | None,
    grace_s: float | None,
    as_json: bool,
) -> None:
    """Tell which services are up, late, down, unknown, stopped or missing; causes; readiness.

    A service is unknown while its collector file was silent (a collector gap).

    SOURCES are beacon files, directories or globs; or give --store DIR.
    """
    from rtt_topology.analysis.impact import root_causes
    from rtt_topology.analysis.liveness import states
    from rtt_topology.analysis.readiness import readiness, readiness_summary

    options = BeaconOptions(sources, store, start, end, engine, memory_limit, threads)
    from rtt_topology._memo import reuse

    # reuse(): the analyses share the periods, restarts and liveness they derive.
    with reuse(), open_beacons(options) as opened:
        assert opened is not None
        beacons = opened.beacons
        G, profile_map = graph_of(beacons, profiles, traces, start, end)
        table = states(beacons, profile_map, at=at, grace_s=grace_s)
        causes = root_causes(table, G)
        ready = readiness_summary(readiness(beacons, profile_map, G, at=at)).reset_index()
    if as_json:
        echo_json(
            {
                "states": frame_records(table),
                "root_causes": frame_records(causes),
                "readiness": frame_records(ready),
            }
        )
        return
    print_table(
        "services",
        table,
        ["site", "state", "undeclared", "last_seen", "age_s", "period_s", "restarts_in_window"],
    )
    if len(causes):
        print_table("unhealthy services", causes, ["site", "state", "verdict", "explanation"])
    not_ready = ready[~ready["ready"]]
    print_table(
        f"readiness: {int(ready['ready'].sum())} of {len(ready)} services ready",
        not_ready,
        ["site", "failed"],
    )
    counts = table["state"].value_counts()
    click.echo("states: " + ", ".join(f"{k} {v}" for k, v in counts.items() if v))


@click.command("drift")
@click.argument("sources", nargs=-1)
@engine_options
@window_options
@click.option("--profiles", "-p", help="Profiles: a file, directory or glob (declared periods).")
@click.option("--bucket", default="5min", show_default=True, help="Time bucket (pandas frequency).")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def drift_command(
    sources: Sequence[str],
    store: str | None,
    engine: str,
    memory_limit: str | None,
    threads: int | None,
    start: str | None,
    end: str | None,
    profiles: str | None,
    bucket: str,
    as_json: bool,
) -> None:
    """Find structural drift and cadence changes over time, with their change points.

    SOURCES are beacon files, directories or globs; or give --store DIR.
    """
    import pandas as pd

    from rtt_topology.analysis.cadence import cadence, cadence_changes
    from rtt_topology.analysis.changepoints import detect_changes
    from rtt_topology.analysis.drift import drift, drift_event_counts, drift_events, drift_kinds
    from rtt_topology.analysis.liveness import collector_gaps, in_gaps
    from rtt_topology.load import read_profiles

    profile_map = read_profiles(profiles).profiles if profiles else None
    options = BeaconOptions(sources, store, start, end, engine, memory_limit, threads)
    from rtt_topology._memo import reuse

    # reuse(): the analyses share the periods, restarts and liveness they derive.
    with reuse(), open_beacons(options) as opened:
        assert opened is not None
        beacons = opened.beacons
        scores = drift(beacons, bucket=bucket)
        events = drift_events(beacons)
        counts = drift_event_counts(beacons)
        kinds = drift_kinds(scores)
        changes = cadence_changes(beacons, profile_map, bucket=bucket)
        pace = cadence(beacons, profile_map, bucket=bucket)
        gaps = collector_gaps(beacons, profile_map)
    # Buckets a collector gap cut short hold partial counts: no cadence change there.
    lost = in_gaps(pace, gaps, bucket)
    pace_seen = pace.assign(log2_ratio=pace["log2_ratio"].mask(lost))
    points = pd.concat(
        [
            detect_changes(scores, "drift").assign(series="drift"),
            detect_changes(pace_seen, "log2_ratio").assign(series="cadence"),
        ],
        ignore_index=True,
    )
    if as_json:
        echo_json(
            {
                "drift_events": frame_records(events),
                "drift_event_counts": frame_records(counts),
                "drift_kinds": frame_records(kinds),
                "cadence_changes": frame_records(changes),
                "change_points": frame_records(points),
            }
        )
        return
    drifting = kinds[kinds["kind"] != "none"] if "kind" in kinds.columns else kinds
    print_table(f"structural drift ({len(events)} drift events)", drifting, list(drifting.columns))
    if len(events):
        print_table("drift events", events.head(50), ["site", "url", "ts", "changed"])
    print_table("cadence changes", changes, list(changes.columns))
    print_table("change points", points, list(points.columns))


@click.command("incidents")
@click.argument("sources", nargs=-1)
@engine_options
@window_options
@click.option("--profiles", "-p", help="Profiles: a file, directory or glob.")
@click.option("--traces", "-t", multiple=True, help="Trace exports, for dependencies.")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def incidents_command(
    sources: Sequence[str],
    store: str | None,
    engine: str,
    memory_limit: str | None,
    threads: int | None,
    start: str | None,
    end: str | None,
    profiles: str | None,
    traces: Sequence[str],
    as_json: bool,
) -> None:
    """List what happened: outages, restart storms, collector gaps, drift, cadence changes.

    SOURCES are beacon files, directories or globs; or give --store DIR.
    """
    from rtt_topology.incidents.find import find_incidents

    options = BeaconOptions(sources, store, start, end, engine, memory_limit, threads)
    from rtt_topology._memo import reuse

    # reuse(): the analyses share the periods, restarts and liveness they derive.
    with reuse(), open_beacons(options) as opened:
        assert opened is not None
        G, profile_map = graph_of(opened.beacons, profiles, traces, start, end)
        table = find_incidents(
            opened.beacons, profile_map, G, load_report=opened.report, start=start, end=end
        )
    if as_json:
        echo_json({"incidents": frame_records(table)})
        return
    print_table(
        f"{len(table)} incident(s)",
        table,
        ["kind", "severity", "sites", "start", "end", "summary"],
    )
