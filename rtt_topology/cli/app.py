"""The ``rtt-topology`` command line: a thin shell over the library.

Each command parses its options, calls one or two library functions, and prints
or writes the result. Library errors are caught once (:func:`main`), printed as
one line on stderr, and turned into exit code 1; usage errors exit with 2.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from rtt_topology._version import __version__
from rtt_topology.errors import LoadError, RttTopologyError

__all__ = ["cli", "main"]

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2


def _progress_wanted() -> bool:
    return sys.stderr.isatty()


def _json_default(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, float) and value != value:  # NaN
        return None
    return str(value)


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=_json_default, ensure_ascii=False))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="rtt-topology")
def cli() -> None:
    """Analyse RTT-Inside heartbeats, profiles and traces offline."""


@cli.command()
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
        _print_summary([str(beacons_dir)], profiles=str(profiles_dir), as_json=False)
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
            progress=_progress_wanted(),
        )
        path = report.write(out / "report.html")
        click.echo(f"report: {path} (open it in a browser; it works offline)")


@cli.command()
@click.argument("sources", nargs=-1, required=True)
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
    profiles: str | None,
    fmt: str | None,
    assume_utc: bool,
    strict: bool,
    rejects: Path | None,
    as_json: bool,
) -> None:
    """Summarise beacon histories per service, with the load report.

    SOURCES are files, directories or globs of JSON Lines, JSON, CSV, Parquet or
    service logs (text formats may be gzip-compressed).
    """
    _print_summary(
        list(sources),
        profiles=profiles,
        as_json=as_json,
        fmt=fmt,
        assume_utc=assume_utc,
        strict=strict,
        rejects=rejects,
    )


def _inputs(function: Any) -> Any:
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


def _one_or_many(sources: Sequence[str]) -> str | list[str]:
    return sources[0] if len(sources) == 1 else list(sources)


def _load_graph(
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
    progress = _progress_wanted()
    beacon_table = (
        read_beacons(_one_or_many(beacons), progress=progress).beacons if beacons else None
    )
    profile_map = read_profiles(profiles).profiles if profiles else None
    spans = (
        read_traces(_one_or_many(traces), start=start, end=end, progress=progress).spans
        if traces
        else None
    )
    graph = build_graph(beacon_table, profile_map, spans=spans, start=start, end=end)
    return graph, beacon_table, profile_map


_GRAPH_FORMATS = {".json": "json", ".graphml": "graphml", ".dot": "dot", ".gv": "dot"}


@cli.command()
@_inputs
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
    G = _load_graph(beacons, profiles, traces, start, end)[0]
    writers = {"json": io.write_node_link, "graphml": io.write_graphml, "dot": io.write_dot}
    writers[chosen](G, output)
    click.echo(
        f"wrote {output} ({chosen}): {G.number_of_nodes()} services, {G.number_of_edges()} edges"
    )


@cli.command("reconcile")
@_inputs
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

    result = reconcile(_load_graph(beacons, profiles, traces, start, end)[0])
    if as_json:
        _echo_json(result.to_dict())
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


def _table(title: str, frame: Any, columns: Sequence[str]) -> None:
    """Print some columns of a frame as a table; cells are data, rendered as plain text."""
    import pandas as pd
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
    view = Table(title=title, show_edge=False, header_style="bold")
    for column in columns:
        view.add_column(column)
    for row in frame[list(columns)].itertuples(index=False):
        cells = []
        for column, value in zip(columns, row, strict=True):
            if isinstance(value, list | tuple):
                text = (" -> " if column == "path" else ", ").join(map(str, value))
            elif isinstance(value, pd.Timestamp):
                text = "" if pd.isna(value) else value.strftime("%Y-%m-%d %H:%M:%S")
            elif isinstance(value, float):
                text = "" if value != value else f"{value:.4g}"
            else:
                text = "" if value is None or value is pd.NA else str(value)
            cells.append(Text(text))
        view.add_row(*cells)
    console.print(view)


def _records(frame: Any) -> list[dict[str, Any]]:
    import pandas as pd

    rows = frame.astype(object).where(frame.notna(), None).to_dict("records")
    return [{str(k): (v.isoformat() if isinstance(v, pd.Timestamp) else v) for k, v in r.items()}
            for r in rows]  # fmt: skip


@cli.command()
@click.argument("sources", nargs=-1, required=True)
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
    profiles: str | None,
    traces: Sequence[str],
    at: str | None,
    grace_s: float | None,
    as_json: bool,
) -> None:
    """Tell which services are up, late, down, stopped or missing; root causes; readiness.

    SOURCES are beacon files, directories or globs.
    """
    from rtt_topology.analysis.impact import root_causes
    from rtt_topology.analysis.liveness import states
    from rtt_topology.analysis.readiness import readiness, readiness_summary

    G, beacons, profile_map = _load_graph(sources, profiles, traces, None, None)
    table = states(beacons, profile_map, at=at, grace_s=grace_s)
    causes = root_causes(table, G)
    ready = readiness_summary(readiness(beacons, profile_map, G, at=at)).reset_index()
    if as_json:
        _echo_json(
            {
                "states": _records(table),
                "root_causes": _records(causes),
                "readiness": _records(ready),
            }
        )
        return
    _table(
        "services",
        table,
        ["site", "state", "undeclared", "last_seen", "age_s", "period_s", "restarts_in_window"],
    )
    if len(causes):
        _table("unhealthy services", causes, ["site", "state", "verdict", "explanation"])
    not_ready = ready[~ready["ready"]]
    _table(
        f"readiness: {int(ready['ready'].sum())} of {len(ready)} services ready",
        not_ready,
        ["site", "failed"],
    )
    counts = table["state"].value_counts()
    click.echo("states: " + ", ".join(f"{k} {v}" for k, v in counts.items() if v))


@cli.command("drift")
@click.argument("sources", nargs=-1, required=True)
@click.option("--profiles", "-p", help="Profiles: a file, directory or glob (declared periods).")
@click.option("--bucket", default="5min", show_default=True, help="Time bucket (pandas frequency).")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def drift_command(sources: Sequence[str], profiles: str | None, bucket: str, as_json: bool) -> None:
    """Find structural drift and cadence changes over time, with their change points.

    SOURCES are beacon files, directories or globs.
    """
    import pandas as pd

    from rtt_topology.analysis.cadence import cadence, cadence_changes
    from rtt_topology.analysis.changepoints import detect_changes
    from rtt_topology.analysis.drift import drift, drift_event_counts, drift_events, drift_kinds
    from rtt_topology.load import read_beacons, read_profiles

    beacons = read_beacons(_one_or_many(sources), progress=_progress_wanted()).beacons
    profile_map = read_profiles(profiles).profiles if profiles else None
    scores = drift(beacons, bucket=bucket)
    events = drift_events(beacons)
    counts = drift_event_counts(beacons)
    kinds = drift_kinds(scores)
    changes = cadence_changes(beacons, profile_map, bucket=bucket)
    pace = cadence(beacons, profile_map, bucket=bucket)
    points = pd.concat(
        [
            detect_changes(scores, "drift").assign(series="drift"),
            detect_changes(pace, "log2_ratio").assign(series="cadence"),
        ],
        ignore_index=True,
    )
    if as_json:
        _echo_json(
            {
                "drift_events": _records(events),
                "drift_event_counts": _records(counts),
                "drift_kinds": _records(kinds),
                "cadence_changes": _records(changes),
                "change_points": _records(points),
            }
        )
        return
    drifting = kinds[kinds["kind"] != "none"] if "kind" in kinds.columns else kinds
    _table(f"structural drift ({len(events)} drift events)", drifting, list(drifting.columns))
    if len(events):
        _table("drift events", events.head(50), ["site", "url", "ts", "changed"])
    _table("cadence changes", changes, list(changes.columns))
    _table("change points", points, list(points.columns))


class _BadInput(click.ClickException):
    """Bad input for a command whose exit codes are 0 ok, 1 findings, 2 bad input."""

    exit_code = EXIT_USAGE

    def show(self, file: Any = None) -> None:
        click.echo(f"error: {self.message}", err=True)


def _write_or_print(data: Any, output: Path | None) -> None:
    text = json.dumps(data, indent=2, ensure_ascii=False, default=_json_default)
    if output is None:
        click.echo(text)
    else:
        output.write_text(text + "\n", encoding="utf-8")
        click.echo(f"wrote {output}", err=True)


@cli.command()
@click.argument("endpoint", type=click.Choice(["validate", "corridor", "topology"]))
@_inputs
@click.option("--rules", "-r", "rules_path", help="Rules file: its rules become constraints.")
@click.option("--corridors", "-c", "corridors_path", help="Declared corridors file.")
@click.option("--strict", is_flag=True, help="Emit only the published keys.")
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="File to write."
)
def payload(
    endpoint: str,
    beacons: Sequence[str],
    profiles: str | None,
    traces: Sequence[str],
    start: str | None,
    end: str | None,
    rules_path: str | None,
    corridors_path: str | None,
    strict: bool,
    output: Path | None,
) -> None:
    """Build a /validate, /corridor or /topology body from beacons, profiles and traces."""
    from rtt_topology.diagnostics import payloads

    if endpoint == "corridor":
        from rtt_topology.diagnostics.corridors import load_corridors, observed_paths
        from rtt_topology.load.traces import read_traces

        if not (traces or corridors_path):
            raise click.UsageError("a corridor body needs --traces or --corridors")
        observed = (
            observed_paths(read_traces(_one_or_many(traces), start=start, end=end).spans)
            if traces
            else None
        )
        declared = (
            [c.model_dump() for c in load_corridors(corridors_path).corridors]
            if corridors_path
            else None
        )
        body = payloads.corridor_payload(observed, declared).to_body(strict=strict)
        _write_or_print(body, output)
        return
    G, beacon_table, profile_map = _load_graph(beacons, profiles, traces, start, end)
    if endpoint == "topology":
        from rtt_topology.diagnostics.triads.decomposition import decompose

        decomposition = None if strict else decompose(G).model_dump(mode="json")
        body = payloads.topology_payload(G, decomposition=decomposition).to_body(strict=strict)
    else:
        from rtt_topology.diagnostics.rules.ruleset import load_rules

        states = None
        if beacon_table is not None:
            from rtt_topology.analysis.liveness import states as state_table

            states = state_table(beacon_table, profile_map)
        constraints = (
            [r.model_dump(mode="json", exclude_none=True) for r in load_rules(rules_path).rules]
            if rules_path
            else None
        )
        body = payloads.validate_payload(G, states=states, constraints=constraints).to_body(
            strict=strict
        )
    _write_or_print(body, output)


@cli.command()
@click.option("--rules", "-r", "rules_path", required=True, help="Rules file (YAML or JSON).")
@_inputs
@click.option("--baseline", help="Baseline file of known violations.")
@click.option(
    "--write-baseline",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the current violations as a baseline file.",
)
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def check(
    rules_path: str,
    beacons: Sequence[str],
    profiles: str | None,
    traces: Sequence[str],
    start: str | None,
    end: str | None,
    baseline: str | None,
    write_baseline: Path | None,
    as_json: bool,
) -> None:
    """Check rules against the service graph: exit 0 kept, 1 broken, 2 bad usage or input."""
    from rtt_topology.diagnostics.rules.ruleset import evaluate, load_rules
    from rtt_topology.diagnostics.rules.ruleset import write_baseline as save_baseline

    try:
        rules = load_rules(rules_path)
        G, beacon_table, profile_map = _load_graph(beacons, profiles, traces, start, end)
        results = evaluate(rules, G, beacons=beacon_table, profiles=profile_map, baseline=baseline)
    except RttTopologyError as exc:
        raise _BadInput(str(exc)) from exc
    if write_baseline is not None:
        save_baseline(results, write_baseline)
        click.echo(f"wrote the baseline of current violations to {write_baseline}", err=True)
    if as_json:
        _echo_json(results.model_dump(mode="json"))
    else:
        rows = [
            {
                "rule": r.id,
                "kind": r.kind,
                "severity": r.severity,
                "status": r.status,
                "violations": len(r.violations),
                "reason": r.reason or "",
            }
            for r in results.rules
        ]
        import pandas as pd

        _table("rules", pd.DataFrame(rows), ["rule", "kind", "severity", "status", "violations",
                                              "reason"])  # fmt: skip
        for r in results.rules:
            for violation in r.violations[:20]:
                known = " (baselined)" if violation.baselined else ""
                click.echo(f"{r.id}: {violation.message}{known}")
        click.echo("broken: " + (", ".join(results.failing) or "none"))
    if results.broken:
        raise click.exceptions.Exit(EXIT_FAILURE)


@cli.command()
@click.argument("body", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the whole answer as JSON.")
def diagnose(body: Path, as_json: bool) -> None:
    """Answer a /validate, /corridor or /topology body offline (exit 1 on violations)."""
    from rtt_topology.diagnostics.validator import diagnose as answer
    from rtt_topology.load.records import loads_strict

    try:
        data = loads_strict(body.read_bytes())
        result = answer(data)
    except RttTopologyError as exc:
        raise _BadInput(f"{body}: {exc}") from exc
    if as_json:
        _echo_json(result.model_dump(mode="json"))
    else:
        click.echo(f"/{result.endpoint}: {result.status}")
        for key, value in result.summary.items():
            click.echo(f"  {key}: {value}")
        for note in result.notes:
            click.echo(f"  note: {note}")
    if result.status != "ok":
        raise click.exceptions.Exit(EXIT_FAILURE)


_SEND_METHODS = {"beacon", "validate", "corridor", "topology"}


@cli.command()
@click.argument(
    "endpoint", type=click.Choice(["validate", "corridor", "topology", "beacon", "profile"])
)
@click.argument(
    "file", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--site", "-s", help="The site, for profile (required there).")
@click.option("--base-url", help="Server base URL [default: $RTT_BASE_URL, else upstream's].")
@click.option(
    "--timeout",
    "timeout_s",
    type=click.FloatRange(min=0, min_open=True),
    default=10.0,
    show_default=True,
    help="Seconds to connect and for each read.",
)
@click.option("--retries", type=click.IntRange(min=0), default=3, show_default=True)
@click.option("--dry-run", is_flag=True, help="Print the method, URL and JSON body; send nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON.")
def send(
    endpoint: str,
    file: Path | None,
    site: str | None,
    base_url: str | None,
    timeout_s: float,
    retries: int,
    dry_run: bool,
    as_json: bool,
) -> None:
    """Send a JSON body to an RTT server and print the answer.

    FILE holds the body: a beacon, a profile (with --site; without FILE, the site's
    profile is fetched), or a /validate, /corridor or /topology body (see the
    payload command). Exit 0 on ok and not_available, 1 on an error answer or no
    answer, 2 on bad usage or input.
    """
    from rtt_topology.errors import InputError
    from rtt_topology.load.records import loads_strict
    from rtt_topology.remote.client import ProfileAnswer, RTTClient, prepare_request

    if (endpoint == "profile") != (site is not None):
        raise click.UsageError("--site is required for profile, and only for profile")
    if file is None and endpoint != "profile":
        raise click.UsageError(f"{endpoint} needs a FILE with the JSON body")
    method = endpoint if endpoint in _SEND_METHODS else "get_profile"
    body = None
    if file is not None:
        method = "set_profile" if endpoint == "profile" else endpoint
        try:
            body = loads_strict(file.read_bytes())
        except RttTopologyError as exc:
            raise _BadInput(f"{file}: {exc}") from exc
    try:
        prepared = prepare_request(method, body, site=site, base_url=base_url)  # type: ignore[arg-type]
    except InputError as exc:
        raise _BadInput(str(exc)) from exc
    if dry_run:
        click.echo(prepared.describe())
        return
    with RTTClient(base_url, timeout_s=timeout_s, retries=retries) as client:
        if method == "get_profile":
            answer: Any = client.get_profile(site or "")
        elif method == "set_profile":
            answer = client.set_profile(site or "", body)
        else:
            answer = getattr(client, method)(body)
    if as_json:
        _echo_json(answer.model_dump(mode="json", exclude_none=True))
    elif isinstance(answer, ProfileAnswer):
        if answer.profile is None:
            click.echo(f"{answer.site}: no profile registered")
        else:
            _echo_json(answer.profile.to_dict())
    elif answer.status in ("ok", "not_available"):
        message = getattr(answer, "message", None)
        click.echo(f"{prepared.method} {prepared.url}: {answer.status}"
                   + (f" ({message})" if message else ""))  # fmt: skip
    else:
        _echo_json(answer.model_dump(mode="json", exclude_none=True))


# ---- code to paste into rtt_topology/cli.py (before _print_summary) ----
@cli.command("metrics")
@click.argument("sources", nargs=-1, required=True)
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
    profiles: str | None,
    traces: Sequence[str],
    corridors_path: str | None,
    at: str | None,
    output: Path | None,
) -> None:
    """Print the Prometheus metrics of beacons, profiles and traces, or write a textfile.

    SOURCES are beacon files, directories or globs.
    """
    from rtt_topology._timestamps import instant_ns
    from rtt_topology.export.metrics import exposition, write_textfile
    from rtt_topology.graph.build import build_graph
    from rtt_topology.load import read_beacons, read_profiles
    from rtt_topology.load.traces import read_traces

    try:
        instant_ns(at, "--at")
    except RttTopologyError as exc:
        raise click.BadParameter(str(exc), param_hint="--at") from exc
    if corridors_path and not traces:
        raise click.UsageError("--corridors needs --traces: corridors are checked against them")
    progress = _progress_wanted()
    beacons = read_beacons(_one_or_many(sources), progress=progress).beacons
    profile_map = read_profiles(profiles).profiles if profiles else None
    spans = read_traces(_one_or_many(traces), end=at, progress=progress).spans if traces else None
    G = build_graph(beacons, profile_map, spans=spans, end=at)
    results = None
    if corridors_path and spans is not None:
        from rtt_topology.diagnostics.corridors import (
            check_corridors,
            load_corridors,
            observed_paths,
        )

        results = check_corridors(load_corridors(corridors_path), observed_paths(spans))
    if output is None:
        click.echo(exposition(beacons, profile_map, G, at=at, corridors=results), nl=False)
        return
    try:
        write_textfile(output, beacons, profile_map, G, at=at, corridors=results)
    except OSError as exc:
        raise click.ClickException(f"cannot write {output}: {exc.strerror or exc}") from exc
    click.echo(f"wrote {output}", err=True)


@cli.command("grafana-dashboard")
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


_REPORT_FORMATS = ("html", "md", "json")


@cli.command("report")
@_inputs
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
    rules_path: str | None,
    corridors_path: str | None,
    fmt: str | None,
    output: Path | None,
    top_n: int,
    bucket: str,
    title: str,
) -> None:
    """Write the offline datacenter report: one self-contained HTML page (or Markdown, JSON)."""
    from rtt_topology.report.build import FORMATS, build_report

    if not (beacons or profiles or traces):
        raise click.UsageError("give at least one of --beacons, --profiles, --traces")
    chosen = fmt or (FORMATS.get(output.suffix.lower()) if output is not None else None)
    if chosen is None:
        if output is not None:
            raise click.UsageError(
                f"cannot tell the format from {output.name!r}: use .html, .md or .json, "
                "or pass --format"
            )
        chosen = "html"
    result = build_report(
        list(beacons) or None,
        profiles,
        list(traces) or None,
        rules=rules_path,
        corridors=corridors_path,
        start=start,
        end=end,
        bucket=bucket,
        top_n=top_n,
        title=title,
        progress=_progress_wanted(),
    )
    if output is None:
        text = {"html": result.to_html, "md": result.to_markdown, "json": result.to_json}[chosen]()
        click.echo(text)
        return
    path = result.write(output, format=chosen)  # type: ignore[arg-type]
    found = len(result.analysis.incidents) if result.analysis is not None else 0
    click.echo(f"wrote {path} ({chosen}): {len(result.sections)} sections, {found} incidents")


def _print_summary(
    sources: list[str],
    *,
    profiles: str | None,
    as_json: bool,
    fmt: str | None = None,
    assume_utc: bool = False,
    strict: bool = False,
    rejects: Path | None = None,
) -> None:
    from rtt_topology.aggregate.history import service_summary
    from rtt_topology.load import read_beacons, read_profiles

    load = read_beacons(
        sources[0] if len(sources) == 1 else sources,
        format=fmt,
        assume_utc=assume_utc,
        strict=strict,
        progress=_progress_wanted() and not as_json,
    )
    if load.report.failures and not load.report.files:
        failure = load.report.failures[0]
        raise LoadError(failure.source, f"no file could be read ({failure.reason})")
    table = service_summary(load.beacons)
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
        _echo_json(data)
        return
    _render_table(table)
    if missing:
        click.echo(f"declared in a profile but never seen: {', '.join(missing)}")
    click.echo(load.report.summary())
    if profile_report is not None:
        click.echo("profiles: " + profile_report.summary())
    if rejects is not None:
        click.echo(f"rejected records written to {rejects}")


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


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code instead of raising.

    Parameters
    ----------
    argv
        The arguments (without the program name); ``None`` reads ``sys.argv``.

    Returns
    -------
    int
        0 on success, 1 on a library error (printed as one line), 2 on bad usage.
    """
    try:
        result = cli.main(
            args=list(argv) if argv is not None else None,
            prog_name="rtt-topology",
            standalone_mode=False,
        )
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return EXIT_FAILURE
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except RttTopologyError as exc:
        click.echo(f"error: {exc}", err=True)
        return EXIT_FAILURE
    except BrokenPipeError:
        return EXIT_OK
    return result if isinstance(result, int) else EXIT_OK
