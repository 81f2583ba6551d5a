"""Fixtures shared by the whole suite: the demo datacenter loaded once, and small inputs.

The demo fixtures are session-scoped and shared by every test that asks for them, so
no test may change them: a test that needs to change a table or a graph takes a copy
first (``.copy()``). Each shared object is compared at the end of the session with a
copy taken when it was loaded, and a change fails the run.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import pickle
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

import matplotlib
import networkx as nx
import pandas as pd
import pytest

from rtt_topology.analysis.coherence import Coherence, coherence
from rtt_topology.analysis.liveness import downtime, timeline
from rtt_topology.diagnostics.corridors import CorridorSet, load_corridors, observed_paths
from rtt_topology.diagnostics.rules.ruleset import RuleSet, load_rules
from rtt_topology.graph.build import build_graph
from rtt_topology.load import (
    BeaconLoad,
    ProfileLoad,
    TraceLoad,
    read_beacons,
    read_profiles,
    read_traces,
)
from rtt_topology.schemas import Profile
from tests import DATA, DEMO, DEMO_TRACE_FILES
from tests.rtt_loopback import RttServer

matplotlib.use("Agg")

T = TypeVar("T")

# --- shared objects stay as they were loaded -----------------------------------------------


def _graph_tables(G: nx.Graph[Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    nodes = pd.DataFrame([{"node": n, **data} for n, data in G.nodes(data=True)])
    edges = pd.DataFrame([{"u": u, "v": v, **data} for u, v, data in G.edges(data=True)])
    return nodes, edges


def _same(a: Any, b: Any) -> bool:
    """Equal content: tables cell by cell (NaN equals NaN), graphs as tables, the rest ``==``."""
    if isinstance(a, pd.DataFrame):
        return isinstance(b, pd.DataFrame) and a.equals(b)
    if dataclasses.is_dataclass(a) and not isinstance(a, type):
        names = [f.name for f in dataclasses.fields(a)]
        return type(a) is type(b) and all(_same(getattr(a, n), getattr(b, n)) for n in names)
    if isinstance(a, nx.Graph):
        return a.graph == b.graph and _same(_graph_tables(a), _graph_tables(b))
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    return bool(a == b)


def _unchanged(name: str, value: T) -> Iterator[T]:
    """Hand out a shared object, then check that no test changed it."""
    # Through pickle: a deep copy of a table would share the lists in its cells.
    before = pickle.loads(pickle.dumps(value))
    yield value
    assert _same(value, before), f"a test changed the shared {name}: give that test a copy"


# --- the demo datacenter (fixtures/demo), loaded once per session ---------------------------


@pytest.fixture(scope="session")
def demo_load() -> Iterator[BeaconLoad]:
    """The :class:`BeaconLoad` of the demo's beacon files."""
    yield from _unchanged("demo_load", read_beacons(DEMO / "beacons"))


@pytest.fixture(scope="session")
def demo_beacons(demo_load: BeaconLoad) -> pd.DataFrame:
    """The demo's beacon table."""
    return demo_load.beacons


@pytest.fixture(scope="session")
def demo_profile_load() -> Iterator[ProfileLoad]:
    """The :class:`ProfileLoad` of the demo's profiles."""
    yield from _unchanged("demo_profile_load", read_profiles(DEMO / "profiles"))


@pytest.fixture(scope="session")
def demo_profiles(demo_profile_load: ProfileLoad) -> dict[str, Profile]:
    """The demo's profiles, by site."""
    return demo_profile_load.profiles


@pytest.fixture(scope="session")
def demo_traces() -> Iterator[TraceLoad]:
    """The :class:`TraceLoad` of the demo's trace directory (three formats, collapsed)."""
    yield from _unchanged("demo_traces", read_traces(DEMO / "traces"))


@pytest.fixture(scope="session")
def demo_trace_files() -> Iterator[dict[str, TraceLoad]]:
    """The :class:`TraceLoad` of each demo trace file read alone, by file name."""
    loads = {name: read_traces(DEMO / "traces" / name) for name in DEMO_TRACE_FILES}
    yield from _unchanged("demo_trace_files", loads)


@pytest.fixture(scope="session")
def demo_otlp_traces(demo_trace_files: dict[str, TraceLoad]) -> TraceLoad:
    """The :class:`TraceLoad` of the demo's OTLP file alone."""
    return demo_trace_files["otlp.jsonl"]


@pytest.fixture(scope="session")
def demo_graph(
    demo_beacons: pd.DataFrame, demo_profiles: dict[str, Profile], demo_traces: TraceLoad
) -> Iterator[nx.DiGraph[str]]:
    """The demo's service graph from its beacons, profiles and spans."""
    G = build_graph(demo_beacons, demo_profiles, spans=demo_traces.spans)
    yield from _unchanged("demo_graph", G)


@pytest.fixture(scope="session")
def demo_truth() -> Iterator[dict[str, Any]]:
    """The demo's ground truth (``ground_truth.json``)."""
    yield from _unchanged("demo_truth", json.loads((DEMO / "ground_truth.json").read_text()))


@pytest.fixture(scope="session")
def demo_incidents(demo_truth: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The incidents the demo injects, by type (one of each)."""
    incidents = {i["type"]: i for i in demo_truth["incidents"]}
    assert len(incidents) == len(demo_truth["incidents"])
    return incidents


@pytest.fixture(scope="session")
def demo_timeline(
    demo_beacons: pd.DataFrame, demo_profiles: dict[str, Profile]
) -> Iterator[pd.DataFrame]:
    """The demo's liveness timeline."""
    yield from _unchanged("demo_timeline", timeline(demo_beacons, demo_profiles))


@pytest.fixture(scope="session")
def demo_downtime(
    demo_beacons: pd.DataFrame, demo_profiles: dict[str, Profile]
) -> Iterator[pd.DataFrame]:
    """The demo's downtime episodes."""
    yield from _unchanged("demo_downtime", downtime(demo_beacons, demo_profiles))


@pytest.fixture(scope="session")
def demo_coherence(
    demo_beacons: pd.DataFrame, demo_profiles: dict[str, Profile], demo_graph: nx.DiGraph[str]
) -> Iterator[Coherence]:
    """The demo's coherence scores."""
    yield from _unchanged("demo_coherence", coherence(demo_beacons, demo_profiles, demo_graph))


@pytest.fixture(scope="session")
def demo_rules() -> Iterator[RuleSet]:
    """The demo's rules (``rules.yaml``)."""
    yield from _unchanged("demo_rules", load_rules(DEMO / "rules.yaml"))


@pytest.fixture(scope="session")
def demo_corridors() -> Iterator[CorridorSet]:
    """The demo's declared corridors (``corridors.yaml``)."""
    yield from _unchanged("demo_corridors", load_corridors(DEMO / "corridors.yaml"))


@pytest.fixture(scope="session")
def demo_paths(demo_traces: TraceLoad) -> Iterator[pd.DataFrame]:
    """The paths observed in the demo's spans."""
    yield from _unchanged("demo_paths", observed_paths(demo_traces.spans))


# --- small inputs ---------------------------------------------------------------------------


@pytest.fixture
def incident_kind() -> dict[str, str]:
    """The `find_incidents` kind expected for each incident type the demo injects.

    ``malformed_burst`` is absent: it is a ``quarantined_records`` incident named by
    its file rather than by its services.
    """
    return {
        "crash": "outage",
        "planned_stop": "planned_stop",
        "restart_storm": "restart_storm",
        "cadence_slowdown": "cadence_change",
        "structural_drift": "structural_drift",
        "undeclared_dependency": "undeclared_dependency",
        "layering_violation": "rule_violation",
        "collector_gap": "collector_gap",
        "gap_crash": "outage",
    }


@pytest.fixture
def data_dir() -> Path:
    return DATA


@pytest.fixture
def rtt_server() -> Iterator[RttServer]:
    """A fake RTT-Inside server on loopback, for the client and the send command."""
    with RttServer() as server:
        yield server


@pytest.fixture
def same_rows(tmp_path: Path) -> dict[str, Path]:
    """The same six beacons in every supported format (text ones copied, others built)."""
    import pyarrow.json as pj
    import pyarrow.parquet as pq

    src = DATA / "beacons"
    out: dict[str, Path] = {}
    for name in ("same_rows.jsonl", "same_rows.json", "same_rows.csv", "same_rows.log"):
        target = tmp_path / name
        shutil.copy(src / name, target)
        out[name.split(".", 1)[1]] = target
    gz = tmp_path / "same_rows.jsonl.gz"
    gz.write_bytes(gzip.compress((src / "same_rows.jsonl").read_bytes(), mtime=0))
    out["jsonl.gz"] = gz
    csv_gz = tmp_path / "same_rows.csv.gz"
    csv_gz.write_bytes(gzip.compress((src / "same_rows.csv").read_bytes(), mtime=0))
    out["csv.gz"] = csv_gz
    # Parquet with a nested structure column, as pyarrow writes JSON it read.
    table = pj.read_json(src / "same_rows.jsonl")
    parquet = tmp_path / "same_rows.parquet"
    pq.write_table(table, parquet)
    out["parquet"] = parquet
    return out
