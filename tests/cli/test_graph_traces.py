"""rtt-topology graph --traces on exports as real tools write them."""

from __future__ import annotations

from pathlib import Path

import pytest

from rtt_topology.graph.io.convert import read_node_link
from tests import DATA
from tests.cli.runner import run

TRACES = DATA / "traces"


def test_graph_of_one_service_export_has_one_node(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out_file = tmp_path / "g.json"
    code, out, err = run(capsys, "graph", "--traces", str(TRACES / "one_service.json"),
                         "-o", str(out_file))  # fmt: skip
    assert code == 0, err
    assert out.strip() == f"wrote {out_file} (json): 1 services, 0 edges"
    G = read_node_link(out_file)
    assert list(G.nodes(data="traced")) == [("billing", True)]


@pytest.mark.parametrize(
    "names",
    [
        ["tempo_batches.json"],
        ["tempo_batches_ils.json"],
        ["tempo_v2.json"],
        ["jaeger_ui_trace.json"],
        ["jaeger_span_twice.json"],
        ["otlp_ils.json", "jaeger_from_otlp.json"],
    ],
)
def test_graph_of_real_tool_shapes(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, names: list[str]
) -> None:
    out_file = tmp_path / "g.json"
    sources = [arg for name in names for arg in ("--traces", str(TRACES / name))]
    code, _, err = run(capsys, "graph", *sources, "-o", str(out_file))
    assert code == 0, err
    G = read_node_link(out_file)
    assert sorted(G.edges) == [("cart", "cart-cache"), ("frontend", "cart")]
    assert G.edges["frontend", "cart"]["errors"] == 1


def test_graph_of_a_database_as_a_service(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out_file = tmp_path / "g.json"
    code, _, err = run(capsys, "graph", "-t", str(TRACES / "collector_db_as_service.jsonl"),
                       "-o", str(out_file))  # fmt: skip
    assert code == 0, err
    G = read_node_link(out_file)
    assert sorted(G.edges(data="kind")) == [
        ("cart", "redis", "database"),
        ("frontend", "cart", "rpc"),
    ]


def test_an_ambiguous_export_is_one_line_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    tempo = (TRACES / "tempo_batches.json").read_text()
    path = tmp_path / "two.json"
    path.write_text('{"a": ' + tempo + ', "b": ' + tempo + "}")
    code, _, err = run(capsys, "graph", "-t", str(path), "-o", str(tmp_path / "g.json"))
    assert code != 0
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1
    assert "known data in several places (a: otlp, b: otlp): keep one" in lines[0]
