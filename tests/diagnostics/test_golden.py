"""Golden diagnostics payloads for the demo datacenter: built again, they must not change.

When a change to the payloads is intended, rewrite them with::

    python -m tests.diagnostics.test_golden
"""

from __future__ import annotations

import json
import sys
from typing import Any, NamedTuple

import jsonschema
import networkx as nx
import pandas as pd
import pytest

from rtt_topology.diagnostics.corridors import CorridorSet
from rtt_topology.diagnostics.rules.ruleset import RuleSet
from rtt_topology.schemas import Profile
from tests import DATA, DEMO, ROOT

GOLDEN = DATA / "golden"


class Inputs(NamedTuple):
    """What the payloads are built from."""

    beacons: pd.DataFrame
    profiles: dict[str, Profile]
    G: nx.DiGraph[str]
    paths: pd.DataFrame
    rules: RuleSet
    corridors: CorridorSet


def build(name: str, inputs: Inputs) -> dict[str, Any]:
    from rtt_topology.analysis.liveness import states
    from rtt_topology.diagnostics.payloads import (
        corridor_payload,
        topology_payload,
        validate_payload,
    )
    from rtt_topology.diagnostics.triads.decomposition import decompose

    G = inputs.G
    if name == "validate":
        constraints = [r.model_dump(mode="json", exclude_none=True) for r in inputs.rules.rules]
        payload = validate_payload(
            G, states=states(inputs.beacons, inputs.profiles), constraints=constraints
        )
        return payload.to_body()
    if name == "corridor":
        declared = [c.model_dump() for c in inputs.corridors.corridors]
        return corridor_payload(inputs.paths, declared).to_body()
    decomposition = decompose(G, max_triads=20).model_dump(mode="json")
    return topology_payload(G, decomposition=decomposition).to_body()


@pytest.fixture(scope="module")
def demo_inputs(
    demo_beacons: pd.DataFrame,
    demo_profiles: dict[str, Profile],
    demo_graph: nx.DiGraph[str],
    demo_paths: pd.DataFrame,
    demo_rules: RuleSet,
    demo_corridors: CorridorSet,
) -> Inputs:
    return Inputs(demo_beacons, demo_profiles, demo_graph, demo_paths, demo_rules, demo_corridors)


@pytest.mark.parametrize("name", ["validate", "corridor", "topology"])
def test_golden_payload_is_current(name: str, demo_inputs: Inputs) -> None:
    from rtt_topology.diagnostics.payloads import payload_schemas

    body = json.loads(json.dumps(build(name, demo_inputs)))
    jsonschema.validate(body, payload_schemas()[name])
    golden = json.loads((GOLDEN / f"{name}.json").read_text(encoding="utf-8"))
    assert body == golden, "payload changed: rewrite with `python -m tests.diagnostics.test_golden`"


def read_inputs() -> Inputs:
    """The inputs read from the demo's files, as the suite's fixtures read them."""
    from rtt_topology.diagnostics.corridors import load_corridors, observed_paths
    from rtt_topology.diagnostics.rules.ruleset import load_rules
    from rtt_topology.graph.build import build_graph
    from rtt_topology.load import read_beacons, read_profiles, read_traces

    beacons = read_beacons(DEMO / "beacons").beacons
    profiles = read_profiles(DEMO / "profiles").profiles
    spans = read_traces(DEMO / "traces").spans
    G = build_graph(beacons, profiles, spans=spans)
    rules, corridors = load_rules(DEMO / "rules.yaml"), load_corridors(DEMO / "corridors.yaml")
    return Inputs(beacons, profiles, G, observed_paths(spans), rules, corridors)


def main() -> None:
    GOLDEN.mkdir(parents=True, exist_ok=True)
    inputs = read_inputs()
    for name in ("validate", "corridor", "topology"):
        path = GOLDEN / f"{name}.json"
        path.write_text(json.dumps(build(name, inputs), indent=1, ensure_ascii=False) + "\n")
        print(f"wrote {path.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
