"""Diagnostics commands: ``payload`` builds bodies, ``check`` checks rules, ``diagnose`` answers."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import click

from rtt_topology.cli.common import EXIT_FAILURE, BadInput, input_options, load_graph, one_or_many
from rtt_topology.cli.output import echo_json, print_table, write_or_print
from rtt_topology.errors import RttTopologyError

__all__ = ["check", "diagnose", "payload"]


@click.command()
@click.argument("endpoint", type=click.Choice(["validate", "corridor", "topology"]))
@input_options
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
            observed_paths(read_traces(one_or_many(traces), start=start, end=end).spans)
            if traces
            else None
        )
        declared = (
            [c.model_dump() for c in load_corridors(corridors_path).corridors]
            if corridors_path
            else None
        )
        body = payloads.corridor_payload(observed, declared).to_body(strict=strict)
        write_or_print(body, output)
        return
    G, beacon_table, profile_map = load_graph(beacons, profiles, traces, start, end)
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
    write_or_print(body, output)


@click.command()
@click.option("--rules", "-r", "rules_path", required=True, help="Rules file (YAML or JSON).")
@input_options
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
        G, beacon_table, profile_map = load_graph(beacons, profiles, traces, start, end)
        results = evaluate(rules, G, beacons=beacon_table, profiles=profile_map, baseline=baseline)
    except RttTopologyError as exc:
        raise BadInput(str(exc)) from exc
    if write_baseline is not None:
        save_baseline(results, write_baseline)
        click.echo(f"wrote the baseline of current violations to {write_baseline}", err=True)
    if as_json:
        echo_json(results.model_dump(mode="json"))
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

        print_table("rules", pd.DataFrame(rows), ["rule", "kind", "severity", "status",
                                                  "violations", "reason"])  # fmt: skip
        for r in results.rules:
            for violation in r.violations[:20]:
                known = " (baselined)" if violation.baselined else ""
                click.echo(f"{r.id}: {violation.message}{known}")
        click.echo("broken: " + (", ".join(results.failing) or "none"))
    if results.broken:
        raise click.exceptions.Exit(EXIT_FAILURE)


@click.command()
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
        raise BadInput(f"{body}: {exc}") from exc
    if as_json:
        echo_json(result.model_dump(mode="json"))
    else:
        click.echo(f"/{result.endpoint}: {result.status}")
        for key, value in result.summary.items():
            click.echo(f"  {key}: {value}")
        for note in result.notes:
            click.echo(f"  note: {note}")
    if result.status != "ok":
        raise click.exceptions.Exit(EXIT_FAILURE)
