"""Tests of the demo datacenter generator (rtt_topology.demo)."""

from __future__ import annotations

import ast
import base64
import gzip
import json
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from pydantic import ValidationError

import rtt_topology.demo as demo_pkg
from rtt_topology.demo import build_scenario, generate_demo, write_scaled_beacons
from rtt_topology.demo.build import DemoScenario
from rtt_topology.demo.logs import inspect_node
from rtt_topology.demo.truth import GroundTruth
from rtt_topology.load.logs import parse_payload
from rtt_topology.schemas import Beacon, Profile
from tests import DEMO

#: Must match fixtures/README.md.
FIXTURE_PARAMS: dict[str, Any] = {"seed": 7, "hours": 6.0, "traces_per_hour": 20, "compress": True}
SMALL: dict[str, Any] = {"seed": 3, "hours": 4.0, "traces_per_hour": 30}


@pytest.fixture(scope="module")
def small() -> DemoScenario:
    return build_scenario(**SMALL)


@pytest.fixture(scope="module")
def day() -> DemoScenario:
    return build_scenario(seed=7, hours=24.0)


def _ts(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _jsonl_lines(scn: DemoScenario) -> dict[str, list[str]]:
    return {
        path: data.decode().splitlines()
        for path, data in scn.files.items()
        if path.startswith("beacons/dc-")
    }


def _beacons(scn: DemoScenario) -> list[Beacon]:
    """Every valid beacon of the JSONL files (duplicates included)."""
    truth = scn.ground_truth
    bad = {(m.file, m.line) for m in truth.malformed_lines}
    out = []
    for path, lines in _jsonl_lines(scn).items():
        for i, line in enumerate(lines, 1):
            if (path, i) not in bad:
                out.append(Beacon.model_validate_json(line))
    return out


def _of(beacons: list[Beacon], site: str) -> list[Beacon]:
    return sorted((b for b in beacons if b.site == site), key=lambda b: b.ts)


# --- trace edges, computed independently from each format -------------------------------


def _jaeger_edges(doc: dict[str, Any]) -> set[tuple[str, str]]:
    edges = set()
    for tr in doc["data"]:
        service = {pid: p["serviceName"] for pid, p in tr["processes"].items()}
        spans = {s["spanID"]: s for s in tr["spans"]}
        parents = set()
        for s in tr["spans"]:
            for ref in s["references"]:
                assert ref["refType"] == "CHILD_OF"
                parent = spans[ref["spanID"]]
                parents.add(ref["spanID"])
                a, b = service[parent["processID"]], service[s["processID"]]
                if a != b:
                    edges.add((a, b))
        for s in tr["spans"]:
            peer = [t["value"] for t in s["tags"] if t["key"] == "peer.service"]
            if s["spanID"] not in parents and peer:
                edges.add((service[s["processID"]], peer[0]))
    return edges


def _zipkin_edges(spans: list[dict[str, Any]]) -> set[tuple[str, str]]:
    edges = set()
    by_trace: dict[str, list[dict[str, Any]]] = {}
    for s in spans:
        by_trace.setdefault(s["traceId"], []).append(s)
    for group in by_trace.values():
        by_id: dict[str, list[dict[str, Any]]] = {}
        for s in group:
            by_id.setdefault(s["id"], []).append(s)
        parent_ids = {s.get("parentId") for s in group}
        for s in group:
            local = s["localEndpoint"]["serviceName"]
            kind = s.get("kind")
            if kind in ("SERVER", "CONSUMER"):
                if s.get("shared"):
                    caller = next(c for c in by_id[s["id"]] if c.get("kind") == "CLIENT")
                elif "parentId" in s:
                    candidates = by_id[s["parentId"]]
                    caller = next((c for c in candidates if c.get("shared")), candidates[0])
                else:
                    continue
                if caller["localEndpoint"]["serviceName"] != local:
                    edges.add((caller["localEndpoint"]["serviceName"], local))
            client_like = kind == "CLIENT" or (kind is None and "remoteEndpoint" in s)
            if client_like and "remoteEndpoint" in s:
                served = any(x.get("kind") == "SERVER" for x in by_id[s["id"]]) or (
                    s["id"] in parent_ids
                )
                if not served:
                    edges.add((local, s["remoteEndpoint"]["serviceName"]))
    return edges


def _hex_id(value: str) -> str:
    if re.fullmatch(r"[0-9a-f]{16}|[0-9a-f]{32}", value):
        return value
    return base64.b64decode(value).hex()


def _otlp_edges(text: str) -> set[tuple[str, str]]:
    spans = []
    for line in text.splitlines():
        for rs in json.loads(line)["resourceSpans"]:
            attrs = {a["key"]: a["value"] for a in rs["resource"]["attributes"]}
            service = attrs["service.name"]["stringValue"]
            for ss in rs["scopeSpans"]:
                for s in ss["spans"]:
                    sattrs = {a["key"]: a["value"] for a in s.get("attributes", [])}
                    spans.append(
                        {
                            "trace": _hex_id(s["traceId"]),
                            "id": _hex_id(s["spanId"]),
                            "parent": _hex_id(s["parentSpanId"]) if "parentSpanId" in s else None,
                            "kind": s["kind"],
                            "service": service,
                            "peer": sattrs.get("peer.service", {}).get("stringValue"),
                        }
                    )
    index = {(s["trace"], s["id"]): s for s in spans}
    paired = set()
    edges = set()
    for s in spans:
        parent = index.get((s["trace"], s["parent"]))
        if parent and (parent["kind"], s["kind"]) in ((3, 2), (4, 5)):
            paired.add((parent["trace"], parent["id"]))
            edges.add((parent["service"], s["service"]))
    for s in spans:
        if s["kind"] == 3 and (s["trace"], s["id"]) not in paired and s["peer"]:
            edges.add((s["service"], s["peer"]))
    return edges


# --- determinism and layout -------------------------------------------------------------


def test_exported_names() -> None:
    assert set(demo_pkg.__all__) == {
        "AccuracyScore",
        "DemoManifest",
        "DemoScenario",
        "GroundTruth",
        "NoisyHistory",
        "build_scenario",
        "format_score",
        "generate_demo",
        "read_truth",
        "score_incidents",
        "write_noisy_history",
        "write_scaled_beacons",
        "write_scaled_store",
    }


def test_same_seed_same_bytes_other_seed_differs(small: DemoScenario) -> None:
    again = build_scenario(**SMALL)
    assert again.files == small.files
    other = build_scenario(**{**SMALL, "seed": 4})
    assert set(other.files) == set(small.files)
    for path in ("beacons/dc-east.jsonl", "traces/jaeger.json", "ground_truth.json"):
        assert other.files[path] != small.files[path]


def test_generate_demo_layout_and_gzip_determinism(tmp_path: Path) -> None:
    params: dict[str, Any] = {"seed": 5, "hours": 2.0, "services": 12, "traces_per_hour": 10}
    a = generate_demo(tmp_path / "a", compress=True, **params)
    b = generate_demo(tmp_path / "b", compress=True, **params)
    files_a = sorted(p.relative_to(a.root).as_posix() for p in a.root.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(b.root).as_posix() for p in b.root.rglob("*") if p.is_file())
    assert files_a == files_b
    for rel in files_a:
        assert (a.root / rel).read_bytes() == (b.root / rel).read_bytes(), rel
    expected = {
        "beacons/dc-east.jsonl.gz",
        "beacons/dc-west.jsonl.gz",
        "traces/jaeger.json",
        "traces/zipkin.json",
        "traces/otlp.jsonl",
        "rules.yaml",
        "corridors.yaml",
        "ground_truth.json",
    }
    assert expected <= set(files_a)
    logs = [f for f in files_a if f.startswith("beacons/logs/")]
    assert sorted(logs) == sorted(f"beacons/logs/{n}.log" for n in a.ground_truth.log_only.values())
    profiles = [f for f in files_a if f.startswith("profiles/")]
    assert {Path(p).suffix for p in profiles} == {".json", ".yaml"}
    assert len(files_a) == len(expected) + len(logs) + len(profiles)
    # Gzip content equals the uncompressed generation; the manifest counts match the files.
    plain = build_scenario(compress=True, **params)
    for rel in ("beacons/dc-east.jsonl.gz", "beacons/dc-west.jsonl.gz"):
        text = gzip.decompress((a.root / rel).read_bytes())
        assert text == plain.files[rel]
        assert a.lines_per_file[rel] == text.count(b"\n")
    truth = GroundTruth.model_validate_json((a.root / "ground_truth.json").read_text())
    assert truth == a.ground_truth
    assert a.paths("traces")[0] == a.root / "traces/jaeger.json"


def test_no_machine_paths_or_wall_clock(small: DemoScenario) -> None:
    text = small.files["ground_truth.json"].decode()
    assert str(Path.cwd()) not in text
    assert "/tmp" not in text


# --- beacons ----------------------------------------------------------------------------


def test_beacon_lines_valid_except_listed_malformed(small: DemoScenario) -> None:
    truth = small.ground_truth
    bad = {(m.file, m.line): m.kind for m in truth.malformed_lines}
    rejected = 0
    kinds = set()
    for path, lines in _jsonl_lines(small).items():
        previous = None
        for i, line in enumerate(lines, 1):
            if (path, i) in bad:
                with pytest.raises(ValidationError):
                    Beacon.model_validate_json(line)
                rejected += 1
                kinds.add(bad[(path, i)])
                continue
            beacon = Beacon.model_validate_json(line)
            assert beacon.structure is not None
            assert set(json.loads(line)["structure"]) == {
                "url", "title", "nav_count", "main_count", "form_count", "button_count",
                "dom_nodes",
            }  # fmt: skip
            if previous is not None:
                assert beacon.ts >= previous, (path, i)
            previous = beacon.ts
    assert rejected == len(truth.malformed_lines) > 0
    assert kinds == {"invalid_json", "naive_ts", "negative_count", "string_count", "missing_site"}


def test_duplicates_are_exactly_the_listed_ones(small: DemoScenario) -> None:
    truth = small.ground_truth
    bad = {(m.file, m.line) for m in truth.malformed_lines}
    found = []
    for path, lines in _jsonl_lines(small).items():
        seen: dict[tuple[Any, ...], int] = {}
        for i, line in enumerate(lines, 1):
            if (path, i) in bad:
                continue
            b = Beacon.model_validate_json(line)
            key = (b.site, b.session, b.event, b.ts)
            if key in seen:
                found.append((path, i, seen[key], line == lines[seen[key] - 1]))
            else:
                seen[key] = i
    expected = [(d.file, d.line, d.original_line, True) for d in truth.duplicate_lines]
    assert sorted(found) == sorted(expected)
    assert len(found) == 8
    per_file = {f.file: f for f in truth.beacon_files}
    for path, lines in _jsonl_lines(small).items():
        assert per_file[path].lines == len(lines)
        assert per_file[path].beacons == len(lines) - per_file[path].malformed


def test_backends_and_websites_and_clusters(small: DemoScenario) -> None:
    truth = small.ground_truth
    beacons = _beacons(small)
    sites = {b.site for b in beacons}
    for svc in truth.services:
        in_jsonl = svc.beacon_file is not None and svc.beacon_file.endswith(".jsonl")
        assert (svc.name in sites) == in_jsonl, svc.name
    assert truth.declared_silent not in sites
    for name in truth.log_only.values():
        assert name not in sites
    web = [s for s in truth.services if s.web]
    assert len(web) >= 2
    for b in beacons:
        assert b.structure is not None
        if b.site in {s.name for s in web}:
            assert b.structure.url is not None
            assert b.structure.url.startswith("https://")
        elif b.site.startswith("dc-"):
            assert b.event == "cluster_heartbeat"
            assert b.session.startswith("dc-")
        else:
            assert b.structure.url == f"internal://{b.site}"
            assert b.structure.dom_nodes == 0
            assert b.session.startswith("srv-")
    shop = _of(beacons, web[0].name)
    assert {"page_load", "page_visible", "heartbeat"} <= {b.event for b in shop}
    assert any(b.structure is not None and (b.structure.nav_count or 0) > 0 for b in shop)
    east = _of(beacons, "dc-east")
    gaps = np.diff([b.ts.timestamp() for b in east])
    assert np.median(gaps) == pytest.approx(30, abs=1)
    # Python-SDK services stamp whole seconds, JS ones milliseconds.
    raw = small.files["beacons/dc-east.jsonl"].decode()
    assert re.search(r'"ts":"[^"]+T\d\d:\d\d:\d\dZ"', raw)
    assert re.search(r'"ts":"[^"]+T\d\d:\d\d:\d\d\.\d{3}Z"', raw)


def test_periods_match_profiles(small: DemoScenario) -> None:
    truth = small.ground_truth
    beacons = _beacons(small)
    slowed = truth.incident("cadence_slowdown").services[0]
    for svc in truth.services:
        if svc.web or svc.beacon_file is None or not svc.beacon_file.endswith(".jsonl"):
            continue
        if svc.name in (slowed, truth.incident("restart_storm").services[0]):
            continue
        beats = [b.ts.timestamp() for b in _of(beacons, svc.name) if b.event == "heartbeat"]
        assert 30 <= svc.period_s <= 60
        assert np.median(np.diff(beats)) == pytest.approx(svc.period_s, rel=0.06), svc.name


def test_logs_hold_the_log_only_beacons(small: DemoScenario) -> None:
    truth = small.ground_truth
    node, python = truth.log_only["node"], truth.log_only["python"]
    node_text = small.files[f"beacons/logs/{node}.log"].decode()
    blocks = re.findall(r"^(\S+) \[RTT\] (\w+) sent (\{\n.*?\n\})$", node_text, flags=re.M | re.S)
    assert blocks
    for stamp, event, body in blocks:
        payload, notation = parse_payload(body)
        assert notation == "node"
        beacon = Beacon.model_validate(payload)
        assert beacon.site == node
        assert beacon.event == event
        assert re.fullmatch(r"\S+T\S+\.\d{3}Z", payload["ts"])
        assert _ts(stamp) >= beacon.ts
        assert "\n  structure: {\n    url: 'internal://" in body
    assert node_text.count("[RTT] ") == len(blocks)
    assert re.search(r"^\S+Z (GET|POST) /api/", node_text, flags=re.M)
    py_text = small.files[f"beacons/logs/{python}.log"].decode()
    entries = re.findall(
        r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) INFO worker \[RTT\] (\w+) sent (\{.*\})$",
        py_text,
        flags=re.M,
    )
    assert entries
    for _, event, body in entries:
        payload = ast.literal_eval(body)
        beacon = Beacon.model_validate(payload)
        assert beacon.site == python
        assert beacon.event == event
        assert re.fullmatch(r"\S+T\d\d:\d\d:\d\dZ", payload["ts"])
    assert py_text.count("[RTT] ") == len(entries)
    counts = {f.file: f.beacons for f in truth.beacon_files}
    assert counts[f"beacons/logs/{node}.log"] == len(blocks)
    assert counts[f"beacons/logs/{python}.log"] == len(entries)


def test_inspect_node_matches_node_layout() -> None:
    assert inspect_node({"a": 1, "b": "it's"}) == """{ a: 1, b: "it's" }"""
    assert inspect_node({"s": {"t": "x"}}) == "{ s: { t: 'x' } }"
    long = inspect_node({"k": "v" * 70, "n": 1})
    assert long == "{\n  k: '" + "v" * 70 + "',\n  n: 1\n}"


# --- profiles ---------------------------------------------------------------------------


def test_profiles_validate_and_roles(small: DemoScenario) -> None:
    truth = small.ground_truth
    profiles = {}
    for path, data in small.files.items():
        if path.startswith("profiles/"):
            raw = json.loads(data) if path.endswith(".json") else yaml.safe_load(data)
            profiles[Path(path).stem] = Profile.model_validate(raw)
    declared = {s.name for s in truth.services if s.declared}
    assert set(profiles) == declared
    assert set(truth.undeclared_services) == {s.name for s in truth.services} - declared
    assert truth.undeclared_services
    silent = truth.service(truth.declared_silent)
    assert silent.declared
    assert not silent.beacons
    assert silent.beacon_count == 0
    for name, p in profiles.items():
        svc = truth.service(name)
        assert p.heartbeat_interval_s == svc.period_s
        assert p.layer == svc.layer
        assert p.depends_on == svc.depends_on
    lifecycles = {p.lifecycle for p in profiles.values()}
    assert {"production", "experimental", "deprecated"} <= lifecycles
    special = set(truth.deprecated) | set(truth.experimental)
    assert any(
        p.lifecycle == "production" and set(p.depends_on) & special for p in profiles.values()
    )
    layers = truth.layers
    for dep in truth.declared_dependencies:
        a, b = truth.service(dep.caller), truth.service(dep.callee)
        assert layers.index(a.layer) <= layers.index(b.layer), dep


# --- traces -----------------------------------------------------------------------------


def _check_trace_edges(small: DemoScenario) -> None:
    truth = small.ground_truth
    jaeger = json.loads(small.files["traces/jaeger.json"])
    zipkin = json.loads(small.files["traces/zipkin.json"])
    otlp = small.files["traces/otlp.jsonl"].decode()
    expected = {(e.caller, e.callee) for e in truth.edges}
    assert _jaeger_edges(jaeger) == expected
    assert _zipkin_edges(zipkin) == expected
    assert _otlp_edges(otlp) == expected
    assert len(jaeger["data"]) == truth.counts["traces"]
    assert sum(len(t["spans"]) for t in jaeger["data"]) == truth.counts["spans"] == len(zipkin)
    otlp_spans = sum(
        len(ss["spans"])
        for line in otlp.splitlines()
        for rs in json.loads(line)["resourceSpans"]
        for ss in rs["scopeSpans"]
    )
    assert otlp_spans == truth.counts["spans"]


def test_trace_formats_agree_on_edges(small: DemoScenario) -> None:
    _check_trace_edges(small)
    truth = small.ground_truth
    zipkin = json.loads(small.files["traces/zipkin.json"])
    kinds = {e.kind for e in truth.edges}
    assert kinds == {"rpc", "database", "messaging"}
    assert {q.type for q in truth.quirks} >= {"zipkin_shared_span_id", "otlp_base64_ids"}
    assert any(s.get("shared") for s in zipkin)
    assert any("kind" not in s and "remoteEndpoint" in s for s in zipkin)


def test_trace_shapes(small: DemoScenario) -> None:
    jaeger = json.loads(small.files["traces/jaeger.json"])
    span = jaeger["data"][0]["spans"][0]
    assert span["startTime"] > 1_700_000_000_000_000  # microseconds
    zipkin = json.loads(small.files["traces/zipkin.json"])
    errors = [s for s in zipkin if "error" in s.get("tags", {})]
    assert errors
    assert all(
        s["kind"] in {"CLIENT", "SERVER", "PRODUCER", "CONSUMER"} for s in zipkin if "kind" in s
    )
    assert all("remoteEndpoint" in s for s in zipkin if s.get("kind") == "CLIENT")
    line = json.loads(small.files["traces/otlp.jsonl"].decode().splitlines()[0])
    s = line["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    assert isinstance(s["kind"], int)
    assert isinstance(s["startTimeUnixNano"], str)
    assert int(s["startTimeUnixNano"]) > 1_700_000_000 * 10**9
    db = [
        sp
        for text in small.files["traces/otlp.jsonl"].decode().splitlines()
        for rs in json.loads(text)["resourceSpans"]
        for ss in rs["scopeSpans"]
        for sp in ss["spans"]
        if any(a["key"] == "db.system" for a in sp.get("attributes", []))
    ]
    assert db
    assert all(sp["kind"] == 3 for sp in db)
    assert all(any(a["key"] == "peer.service" for a in sp["attributes"]) for sp in db)


def test_edges_declared_except_incidents(small: DemoScenario) -> None:
    truth = small.ground_truth
    undeclared = {(e.caller, e.callee) for e in truth.edges if not e.declared}
    ua, lv = truth.undeclared_edge, truth.layering_violation
    assert undeclared == {(ua.caller, ua.callee), (lv.caller, lv.callee)}
    layers = truth.layers
    for e in truth.edges:
        a, b = truth.service(e.caller), truth.service(e.callee)
        broken = layers.index(b.layer) < layers.index(a.layer)
        assert broken == ((e.caller, e.callee) == (lv.caller, lv.callee)), e
    edge = {(e.caller, e.callee): e for e in truth.edges}
    first = _ts(edge[(ua.caller, ua.callee)].first_seen)
    assert first >= _ts(truth.incident("undeclared_dependency").start)
    first = _ts(edge[(lv.caller, lv.callee)].first_seen)
    assert first >= _ts(truth.incident("layering_violation").start)


# --- incidents --------------------------------------------------------------------------


def test_crash_is_visible(small: DemoScenario) -> None:
    truth = small.ground_truth
    crash = truth.incident("crash")
    name = crash.services[0]
    start, end = _ts(crash.start), _ts(crash.end or "")
    beacons = _of(_beacons(small), name)
    assert not [b for b in beacons if start <= b.ts < end]
    before = [b for b in beacons if b.ts < start]
    assert before[-1].event != "shutdown"
    assert before[-1].ts == _ts(crash.details["last_beacon"])
    after = [b for b in beacons if b.ts >= end]
    assert after[0].event == "startup"
    assert after[0].session != before[-1].session
    # Callers see errors to the crashed service only while it is down.
    jaeger = json.loads(small.files["traces/jaeger.json"])
    failed = 0
    for tr in jaeger["data"]:
        service = {pid: p["serviceName"] for pid, p in tr["processes"].items()}
        for s in tr["spans"]:
            tags = {t["key"]: t["value"] for t in s["tags"]}
            if tags.get("peer.service") == name and tags.get("error"):
                at = datetime.fromtimestamp(s["startTime"] / 1e6, tz=start.tzinfo)
                if "http.response.status_code" not in tags:
                    assert start <= at < end
                    assert service[s["processID"]] in crash.details["affected_callers"]
                    failed += 1
    assert failed >= 3


def test_planned_stop_and_storm_are_visible(small: DemoScenario) -> None:
    truth = small.ground_truth
    beacons = _beacons(small)
    stop = truth.incident("planned_stop")
    mine = _of(beacons, stop.services[0])
    start, end = _ts(stop.start), _ts(stop.end or "")
    shutdown = [b for b in mine if b.event == "shutdown" and b.ts <= start]
    assert shutdown
    assert start.timestamp() - shutdown[-1].ts.timestamp() < 1
    assert not [b for b in mine if start < b.ts < end]
    storm = truth.incident("restart_storm")
    mine = _of(beacons, storm.services[0])
    s0, s1 = _ts(storm.start), _ts(storm.end or "")
    startups = [b for b in mine if b.event == "startup" and s0 <= b.ts <= s1]
    assert len(startups) == storm.details["restarts"] >= 5
    assert [b.session for b in startups] == storm.details["sessions"]
    assert (s1 - s0).total_seconds() < 3600
    assert not [b for b in mine if b.event == "shutdown" and s0 <= b.ts <= s1]


def test_collector_gap_is_visible(small: DemoScenario) -> None:
    truth = small.ground_truth
    gap, lingering = truth.incident("collector_gap"), truth.incident("gap_crash")
    start, end = _ts(gap.start), _ts(gap.end or "")
    path = gap.details["file"]
    bad = {m.line for m in truth.malformed_lines if m.file == path}
    text = _jsonl_lines(small)[path]
    lines = [Beacon.model_validate_json(x) for i, x in enumerate(text, 1) if i not in bad]
    # The collector lost every beacon of its file in the window, its cluster's too.
    assert not [b for b in lines if start <= b.ts < end]
    members = set(gap.services)
    assert members | {gap.details["lingering"]} == {
        s.name for s in truth.services if s.beacon_file == path
    }
    beacons = _beacons(small)
    for name in gap.services:
        mine = _of(beacons, name)
        assert max(b.ts for b in mine if b.ts < start) == _ts(gap.details["last_beacons"][name])
        assert min(b.ts for b in mine if b.ts >= end) == _ts(
            gap.details["first_beacons_after"][name]
        )
        # The services kept running: one process session across the gap.
        around = (start - timedelta(minutes=5), end + timedelta(minutes=5))
        kept = {b.session for b in mine if b.event == "heartbeat" and around[0] < b.ts < around[1]}
        assert len(kept) == 1, name
    # The lingering service crashed inside the gap and came back later, in a new session.
    (name,) = lingering.services
    assert name == gap.details["lingering"]
    assert name not in members
    mine = _of(beacons, name)
    back = _ts(lingering.end or "")
    assert not [b for b in mine if start <= b.ts < back]
    assert [b for b in mine if b.ts < start][-1].ts == _ts(lingering.details["last_beacon"])
    first = next(b for b in mine if b.ts >= back)
    assert first.event == "startup"
    assert first.ts == back
    assert start < _ts(lingering.start) < end < back


def test_slowdown_and_drift_are_visible(small: DemoScenario) -> None:
    truth = small.ground_truth
    beacons = _beacons(small)
    slow = truth.incident("cadence_slowdown")
    mine = [b for b in _of(beacons, slow.services[0]) if b.event == "heartbeat"]
    at = _ts(slow.start)
    before = np.diff([b.ts.timestamp() for b in mine if b.ts < at])
    after = np.diff([b.ts.timestamp() for b in mine if b.ts > at])
    assert np.median(after) > 2.5 * np.median(before)
    assert np.median(after) == pytest.approx(slow.details["period_after_s"], rel=0.06)
    drift = truth.incident("structural_drift")
    home = [
        b
        for b in _of(beacons, drift.services[0])
        if b.event == "heartbeat" and b.structure is not None
    ]
    at = _ts(drift.start)
    pre = {(b.structure.nav_count, b.structure.title) for b in home if b.ts < at and b.structure}
    post = {(b.structure.nav_count, b.structure.title) for b in home if b.ts >= at and b.structure}
    assert pre == {(drift.details["before"]["nav_count"], drift.details["before"]["title"])}
    assert post == {(drift.details["after"]["nav_count"], drift.details["after"]["title"])}
    assert drift.details["after"]["dom_nodes"] > 1.3 * drift.details["before"]["dom_nodes"]


def test_ground_truth_is_complete(small: DemoScenario) -> None:
    truth = small.ground_truth
    types = {i.type for i in truth.incidents}
    assert types == {
        "crash", "planned_stop", "restart_storm", "cadence_slowdown", "structural_drift",
        "undeclared_dependency", "layering_violation", "malformed_burst", "collector_gap",
        "gap_crash",
    }  # fmt: skip
    window = (_ts(truth.params.start), _ts(truth.params.end))
    for inc in truth.incidents:
        assert window[0] <= _ts(inc.start) < window[1], inc.id
        if inc.end is not None:
            assert _ts(inc.start) <= _ts(inc.end) <= window[1], inc.id
    burst = truth.incident("malformed_burst")
    west = [m for m in truth.malformed_lines if m.file == burst.details["file"]]
    assert sum(v for k, v in burst.details["by_kind"].items() if k != "duplicate") == len(west)
    assert truth.deploys
    assert truth.config_changes
    for d in truth.deploys:
        svc = truth.service(d.service)
        assert [s.session for s in svc.sessions].count(d.new_session) == 1
    assert truth.counts["malformed_lines"] == len(truth.malformed_lines)


def test_incidents_fit_short_windows() -> None:
    scn = build_scenario(seed=11, hours=2.0, services=8, traces_per_hour=10)
    truth = scn.ground_truth
    assert len(truth.services) == 8
    types = {i.type for i in truth.incidents}
    # Eight services leave no cluster file four services to lose: no collector gap.
    assert len(types) == 8
    assert "collector_gap" not in types
    for e in (truth.undeclared_edge, truth.layering_violation):
        assert (e.caller, e.callee) in {(x.caller, x.callee) for x in truth.edges}
    test_crash_is_visible(scn)
    test_planned_stop_and_storm_are_visible(scn)
    _check_trace_edges(scn)
    test_edges_declared_except_incidents(scn)


@pytest.mark.slow
def test_scales_to_hundreds_of_services() -> None:
    scn = build_scenario(seed=2, hours=2.0, services=300, traces_per_hour=40)
    truth = scn.ground_truth
    names = [s.name for s in truth.services]
    assert len(names) == len(set(names)) == 300
    assert any(re.fullmatch(r"orders-api-\d+", n) for n in names)
    sent = {b.site for b in _beacons(scn)}
    assert len(sent) > 250
    _check_trace_edges(scn)
    test_edges_declared_except_incidents(scn)


def test_default_day_counts(day: DemoScenario) -> None:
    truth = day.ground_truth
    assert len(truth.services) == 40
    assert 60_000 < truth.counts["beacons"] < 120_000
    assert truth.counts["traces"] >= 24 * 30


def test_bad_parameters_rejected() -> None:
    with pytest.raises(ValueError, match="at least 8"):
        build_scenario(services=7, hours=2)
    with pytest.raises(ValueError, match="hours must be at least 1"):
        build_scenario(hours=0.5)
    with pytest.raises(ValueError, match="timezone-aware"):
        build_scenario(hours=2, start=datetime(2026, 1, 19))


# --- fixture ----------------------------------------------------------------------------


def test_committed_fixture_matches_generation(tmp_path: Path) -> None:
    manifest = generate_demo(tmp_path / "demo", **FIXTURE_PARAMS)
    fresh = sorted(p.relative_to(manifest.root) for p in manifest.root.rglob("*") if p.is_file())
    committed = sorted(p.relative_to(DEMO) for p in DEMO.rglob("*") if p.is_file())
    assert fresh == committed
    for rel in fresh:
        new, old = (manifest.root / rel).read_bytes(), (DEMO / rel).read_bytes()
        if rel.suffix == ".gz" and new != old:
            # Another zlib build may compress differently; the content must still match.
            new, old = gzip.decompress(new), gzip.decompress(old)
        assert new == old, rel
    size = sum((DEMO / rel).stat().st_size for rel in committed)
    assert size < 3_000_000


# --- scaled beacons ---------------------------------------------------------------------


def test_write_scaled_beacons(tmp_path: Path) -> None:
    path = tmp_path / "scaled.jsonl"
    n = write_scaled_beacons(path, beacons=5000, services=60, seed=1)
    lines = path.read_text().splitlines()
    assert n == len(lines) == 5000
    beacons = [Beacon.model_validate_json(line) for line in lines]
    assert len({b.site for b in beacons}) == 60
    stamps = [b.ts for b in beacons]
    assert stamps == sorted(stamps)
    assert all(re.search(r'"ts":"\S+T\d\d:\d\d:\d\d\.\d{3}Z"', line) for line in lines[:50])
    assert all(b.session.startswith("srv-") for b in beacons)
    assert {b.event for b in beacons} <= {"heartbeat", "startup"}
    keys = {(b.site, b.session, b.event, b.ts) for b in beacons}
    assert len(keys) == len(beacons)
    for site in ("orders-api", "payments-api"):
        ts = [b.ts.timestamp() for b in beacons if b.site == site]
        assert 30 * 0.95 <= float(np.median(np.diff(ts))) <= 60 * 1.05
    other = tmp_path / "again.jsonl"
    write_scaled_beacons(other, beacons=5000, services=60, seed=1)
    assert other.read_bytes() == path.read_bytes()


@pytest.mark.parametrize(("beacons", "services"), [(0, 3), (7, 1), (100, 2000)])
def test_write_scaled_beacons_edge_sizes(tmp_path: Path, beacons: int, services: int) -> None:
    path = tmp_path / "x.jsonl"
    assert write_scaled_beacons(path, beacons=beacons, services=services) == beacons
    lines = path.read_text().splitlines()
    assert len(lines) == beacons
    for line in lines:
        Beacon.model_validate_json(line)
