"""Golden diagnostics payloads for the demo datacenter: built again, they must not change.

When a change to the payloads is intended, rewrite them with::

    python -m tests.diagnostics.test_golden
"""

from __future__ import annotations

import json
import sys
from typing import Any

import jsonschema
import pytest

from tests import DATA, DEMO, ROOT

GOLDEN = DATA / "golden"


def build(name: str) -> dict[str, Any]:
    from rtt_topology.analysis.liveness import states
    from rtt_topology.diagnostics.corridors import load_corridors, observed_paths
    from rtt_topology.diagnostics.payloads import (
        corridor_payload,
        topology_payload,
        validate_payload,
    )
    from rtt_topology.diagnostics.rules.ruleset import load_rules
    from rtt_topology.diagnostics.triads.decomposition import decompose
    from rtt_topology.graph.build import build_graph
    from rtt_topology.load import read_beacons, read_profiles, read_traces

    beacons, _ = read_beacons(DEMO / "beacons")
    profiles = read_profiles(DEMO / "profiles").profiles
    spans = read_traces(DEMO / "traces").spans
    G = build_graph(beacons, profiles, spans=spans)
    if name == "validate":
        rules = load_rules(DEMO / "rules.yaml")
        constraints = [r.model_dump(mode="json", exclude_none=True) for r in rules.rules]
        payload = validate_payload(G, states=states(beacons, profiles), constraints=constraints)
        return payload.to_body()
    if name == "corridor":
        declared = [c.model_dump() for c in load_corridors(DEMO / "corridors.yaml").corridors]
        return corridor_payload(observed_paths(spans), declared).to_body()
    decomposition = decompose(G, max_triads=20).model_dump(mode="json")
    return topology_payload(G, decomposition=decomposition).to_body()


@pytest.mark.parametrize("name", ["validate", "corridor", "topology"])
def test_golden_payload_is_current(name: str) -> None:
    from rtt_topology.diagnostics.payloads import payload_schemas

    body = json.loads(json.dumps(build(name)))
    jsonschema.validate(body, payload_schemas()[name])
    golden = json.loads((GOLDEN / f"{name}.json").read_text(encoding="utf-8"))
    assert body == golden, "payload changed: rewrite with `python -m tests.diagnostics.test_golden`"


def main() -> None:
    GOLDEN.mkdir(parents=True, exist_ok=True)
    for name in ("validate", "corridor", "topology"):
        path = GOLDEN / f"{name}.json"
        path.write_text(json.dumps(build(name), indent=1, ensure_ascii=False) + "\n")
        print(f"wrote {path.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
