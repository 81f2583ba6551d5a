"""Mutated exports of every format end in tables or in our one-line error, never anything else."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rtt_topology.errors import RttTopologyError
from rtt_topology.load.traces import SPAN_COLUMNS, TRACE_FORMATS, read_traces
from tests import DATA

DATA = DATA / "traces"

#: One valid export per shape: (file, JSON Lines?).
SEEDS = [
    ("jaeger_from_otlp.json", False),
    ("jaeger_ui_trace.json", False),
    ("jaeger_inline_process.json", False),
    ("doc_zipkin.json", False),
    ("zipkin_traces.json", False),
    ("zipkin_v1.json", False),
    ("doc_otlp.json", False),
    ("tempo_batches.json", False),
    ("otlp_ils.json", False),
    ("collector_db_as_service.jsonl", True),
    ("jaeger_deps.json", False),
    ("zipkin_deps.json", False),
]

#: Deterministic and quick: a fixed walk through the examples, no example database.
FUZZ = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(),  # NaN and infinities too: Python's json writes and reads them
    st.text(max_size=6),
    st.sampled_from(["", "0", "0000000000000000", "SPAN_KIND_SERVER", "AAAAAAAAAAA=", "zz"]),
)
VALUES = st.one_of(
    SCALARS,
    st.lists(SCALARS, max_size=3),
    st.dictionaries(st.text(max_size=4), SCALARS, max_size=3),
)
OPERATIONS = ("retype", "drop", "duplicate", "reorder", "wrap")


def mutate(data: st.DataObject, value: Any) -> Any:
    """Return ``value`` with one change somewhere inside it (a copy; ``value`` is kept)."""
    if isinstance(value, dict) and value and data.draw(st.booleans()):
        key = data.draw(st.sampled_from(list(value)))
        return {**value, key: mutate(data, value[key])}
    if isinstance(value, list) and value and data.draw(st.booleans()):
        i = data.draw(st.integers(0, len(value) - 1))
        return [*value[:i], mutate(data, value[i]), *value[i + 1 :]]
    operation = data.draw(st.sampled_from(OPERATIONS))
    if operation == "drop" and isinstance(value, dict) and value:
        key = data.draw(st.sampled_from(list(value)))
        return {k: v for k, v in value.items() if k != key}
    if operation == "drop" and isinstance(value, list) and value:
        i = data.draw(st.integers(0, len(value) - 1))
        return value[:i] + value[i + 1 :]
    if operation == "duplicate" and isinstance(value, dict) and value:
        # The same value under a second name (a camelCase/snake_case twin, say).
        key = data.draw(st.sampled_from(list(value)))
        twin = data.draw(st.sampled_from([key.lower(), key.upper(), key + "_", "spans", "data"]))
        return {**value, twin: value[key]}
    if operation == "duplicate" and isinstance(value, list) and value:
        i = data.draw(st.integers(0, len(value) - 1))
        return [*value, value[i]]
    if operation == "reorder" and isinstance(value, dict):
        return dict(reversed(list(value.items())))
    if operation == "reorder" and isinstance(value, list):
        return data.draw(st.permutations(value))
    if operation == "wrap":
        key = data.draw(st.sampled_from(["result", "data", "traces", "batches", "trace"]))
        return data.draw(st.sampled_from([{key: value}, [value], {key: value, "n": 1}]))
    return data.draw(VALUES)


def write_mutant(data: st.DataObject, folder: Path, name: str, lines: bool) -> Path:
    text = (DATA / name).read_text()
    if lines:
        docs = [json.loads(line) for line in text.splitlines() if line.strip()]
        i = data.draw(st.integers(0, len(docs) - 1))
        for _ in range(data.draw(st.integers(1, 3))):
            docs[i] = mutate(data, docs[i])
        out = "".join(json.dumps(doc) + "\n" for doc in docs)
    else:
        doc = json.loads(text)
        for _ in range(data.draw(st.integers(1, 3))):
            doc = mutate(data, doc)
        out = json.dumps(doc)
    if data.draw(st.integers(0, 4)) == 0:
        out = out[: data.draw(st.integers(0, max(len(out) - 1, 0)))]
    path = folder / (Path(name).stem + (".jsonl" if lines else ".json"))
    path.write_text(out)
    return path


@pytest.mark.parametrize(("name", "lines"), SEEDS)
@FUZZ
@given(data=st.data())
def test_mutated_exports_give_tables_or_our_error(name: str, lines: bool, data: Any) -> None:
    forced = data.draw(st.sampled_from([None, None, None, *TRACE_FORMATS]))
    with tempfile.TemporaryDirectory() as folder:
        path = write_mutant(data, Path(folder), name, lines)
        try:
            load = read_traces(path, format=forced)
        except RttTopologyError as exc:
            message = str(exc)
        else:
            message = ""
    # Our error is one line; anything else has propagated and failed the test.
    assert "\n" not in message
    if message:
        return
    report = load.report
    assert report.accepted + report.rejected == report.read
    assert len(report.rejects) == report.rejected
    assert list(load.spans.columns) == list(SPAN_COLUMNS)
    kept = report.accepted - report.links - report.duplicate_spans - report.out_of_window
    assert len(load.spans) == kept
    names = set(load.edges["caller"]) | set(load.edges["callee"])
    assert "" not in names


@FUZZ
@given(data=st.data())
def test_several_mutants_read_together(data: Any) -> None:
    # Spans of several formats meet in one table: collapsing and pairing must hold.
    picks = data.draw(st.lists(st.sampled_from(SEEDS), min_size=2, max_size=4, unique=True))
    with tempfile.TemporaryDirectory() as folder:
        paths = []
        for n, (name, lines) in enumerate(picks):
            sub = Path(folder) / str(n)
            sub.mkdir()
            paths.append(write_mutant(data, sub, name, lines))
        try:
            load = read_traces(paths)
        except RttTopologyError:
            return
    report = load.report
    assert report.accepted + report.rejected == report.read
    kept = report.accepted - report.links - report.duplicate_spans - report.out_of_window
    assert len(load.spans) == kept
