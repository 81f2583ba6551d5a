"""The graph contract in the code and in docs/ARCHITECTURE.md say the same."""

from __future__ import annotations

import re

import pytest

from rtt_topology.graph.contract import (
    EDGE_ATTRIBUTES,
    EDGE_KINDS,
    GRAPH_ATTRIBUTES,
    NODE_ATTRIBUTES,
    PROVENANCES,
    Attribute,
)
from tests import ROOT

DOC = (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")


def documented(title: str) -> dict[str, tuple[str, bool, str]]:
    section = DOC.split(f"\n{title}:\n\n", 1)[1].split("\n\n", 1)[0]
    rows = {}
    for line in section.splitlines()[2:]:
        name, kind, optional, meaning = (c.strip() for c in line.strip("|").split("|"))
        rows[name.strip("`")] = (kind, optional == "yes", meaning)
    return rows


@pytest.mark.parametrize(
    ("title", "contract"),
    [("Nodes", NODE_ATTRIBUTES), ("Edges", EDGE_ATTRIBUTES), ("Graph", GRAPH_ATTRIBUTES)],
)
def test_documentation_matches_code(title: str, contract: dict[str, Attribute]) -> None:
    expected = {n: (a.type.__name__, a.optional, a.description) for n, a in contract.items()}
    assert documented(title) == expected


def test_vocabularies() -> None:
    assert EDGE_KINDS == ("rpc", "messaging", "database", "virtual")
    assert PROVENANCES == ("traced", "declared", "both")
    assert re.search(r"`kind` \| str \| no \| rpc, messaging, database or virtual", DOC)
